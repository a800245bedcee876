//! Where a student stands: each exercise's state, from saved progress when nothing changed and
//! from a fresh test run when something did.

use std::io;
use std::path::{Path, PathBuf};

use crate::exercises::{self, Exercise, Run, State};
use crate::progress::{self, Saved};

/// The exercises and what is known about them.
pub struct Track {
    /// The workspace the exercises live in.
    pub root: PathBuf,
    /// Every exercise, in course order.
    pub list: Vec<Exercise>,
    saved: Saved,
}

/// How a state was found out.
pub enum Found {
    /// From saved progress: nothing it depends on changed since it was tested.
    Saved(State),
    /// From a test run just now, whose output is kept.
    Tested(State, Run),
}

impl Found {
    /// The state, however it was found.
    pub fn state(&self) -> &State {
        match self {
            Found::Saved(state) | Found::Tested(state, _) => state,
        }
    }
}

impl Track {
    /// Reads the exercises and the saved progress under `root`.
    pub fn open(root: &Path) -> io::Result<Track> {
        Ok(Track {
            root: root.to_path_buf(),
            list: exercises::find(root)?,
            saved: Saved::load(root),
        })
    }

    /// The exercise a student names: its package (`ex01-squares`), folder (`01-squares`),
    /// number (`1`) or short name (`squares`).
    pub fn named(&self, name: &str) -> Option<&Exercise> {
        let name = name.trim_end_matches('/');
        let name = name.rsplit('/').next().unwrap_or(name);
        self.list.iter().find(|ex| {
            let number = ex.dir.split('-').next().unwrap_or_default();
            let short = ex.dir.split_once('-').map_or("", |(_, s)| s);
            ex.package == name
                || ex.dir == name
                || short == name
                || number.trim_start_matches('0') == name.trim_start_matches('0')
        })
    }

    /// The state saved for `exercise` if nothing it depends on changed since.
    pub fn saved(&self, exercise: &Exercise) -> Option<State> {
        self.saved
            .get(exercise, progress::fingerprint(&self.root, exercise))
    }

    /// The last state saved for `exercise`, even if it changed since.
    pub fn last_saved(&self, exercise: &Exercise) -> Option<State> {
        self.saved.last(exercise)
    }

    /// The state of `exercise`: the saved one if nothing changed, else tested now (and saved).
    pub fn state(&mut self, exercise: &Exercise) -> io::Result<Found> {
        match self.saved(exercise) {
            Some(state) => Ok(Found::Saved(state)),
            None => self.test(exercise),
        }
    }

    /// Tests `exercise` now, whatever was saved, and saves the result.
    pub fn test(&mut self, exercise: &Exercise) -> io::Result<Found> {
        // The fingerprint is taken before the run: an edit during the run is seen next time.
        let print = progress::fingerprint(&self.root, exercise);
        let (state, run) = exercises::check(&self.root, exercise)?;
        if let Err(e) = self.saved.set(exercise, print, state.clone()) {
            eprintln!(
                "course: cannot save progress in {}: {e}",
                Saved::location(&self.root).display()
            );
        }
        Ok(Found::Tested(state, run))
    }

    /// The first exercise that does not pass, going by what is saved and testing only what
    /// changed; `None` when every exercise passes.
    pub fn current(&mut self) -> io::Result<Option<Exercise>> {
        for ex in self.list.clone() {
            if *self.state(&ex)?.state() != State::Passing {
                return Ok(Some(ex));
            }
        }
        Ok(None)
    }
}
