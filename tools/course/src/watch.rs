//! `cargo run -p course -- watch`: re-tests the exercise you are on whenever you save it, and
//! answers a few keys typed with Enter, as rustlings does: `n` next, `h` hint, `l` list,
//! `r` run again, `q` quit.

use std::io::BufRead;
use std::path::Path;
use std::process::ExitCode;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::Duration;

use crate::exercises::{self, Exercise, State};
use crate::progress;
use crate::track::{Found, Track};

/// How often the exercise's files are looked at for a change.
const POLL: Duration = Duration::from_millis(400);

/// The keys, as the watch prints them after each run.
const KEYS: &str = "keys (then Enter): n next · h hint · l list · r run again · q quit";

/// One exercise's line in the list; `None` for one not tested yet.
pub fn list_line(ex: &Exercise, state: Option<&State>) -> String {
    let (mark, label) = match state {
        Some(State::Passing) => ("✓", "passing"),
        Some(state) => ("·", state.label()),
        None => ("?", "not tested yet"),
    };
    format!(
        "  {mark} {:<26} {:<17} {}",
        ex.package, label, ex.description
    )
}

/// What a student typed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Key {
    Next,
    Hint,
    List,
    Run,
    Quit,
    Unknown,
}

/// Reads a line of input as a key: its first letter, whatever the case.
fn key(line: &str) -> Option<Key> {
    let word = line.trim().to_ascii_lowercase();
    Some(match word.chars().next()? {
        'n' => Key::Next,
        'h' => Key::Hint,
        'l' => Key::List,
        'r' => Key::Run,
        'q' => Key::Quit,
        _ => Key::Unknown,
    })
}

/// Reads lines from stdin on a thread of its own; the channel closes when stdin does.
fn keys() -> Receiver<Key> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines() {
            let Ok(line) = line else { break };
            if let Some(k) = key(&line) {
                if tx.send(k).is_err() {
                    break;
                }
            }
        }
    });
    rx
}

/// Runs the watch until `q`, the end of input with every exercise passing, or an error.
pub fn run(root: &Path) -> Result<ExitCode, Box<dyn std::error::Error>> {
    let mut track = Track::open(root)?;
    println!("Finding the exercise you are on (only what changed is tested)...");
    let Some(mut ex) = track.current()? else {
        println!("Every exercise passes. Well done.");
        return Ok(ExitCode::SUCCESS);
    };
    let keys = keys();
    let mut input_open = true;
    loop {
        show(&mut track, &ex)?;
        // Wait for a save that changes the exercise, or a key.
        let print = progress::fingerprint(root, &ex);
        loop {
            let key = if input_open {
                match keys.recv_timeout(POLL) {
                    Ok(key) => Some(key),
                    Err(RecvTimeoutError::Timeout) => None,
                    Err(RecvTimeoutError::Disconnected) => {
                        input_open = false;
                        None
                    }
                }
            } else {
                std::thread::sleep(POLL);
                None
            };
            match key {
                None => {
                    let now = progress::fingerprint(root, &ex);
                    if now != print {
                        println!("\nChange seen; testing again...\n");
                        break;
                    }
                }
                Some(Key::Run) => break,
                Some(Key::Quit) => return Ok(ExitCode::SUCCESS),
                Some(Key::Hint) => println!("\n{}\n\n{KEYS}", ex.hints()?),
                Some(Key::List) => {
                    println!();
                    for other in &track.list {
                        let mark = if other.package == ex.package {
                            "▶"
                        } else {
                            " "
                        };
                        println!(
                            "{mark}{}",
                            list_line(other, track.last_saved(other).as_ref())
                        );
                    }
                    println!("\n{KEYS}");
                }
                Some(Key::Next) => match next(&mut track, &ex)? {
                    Some(following) => {
                        println!("\nOn to {}.\n", following.package);
                        ex = following;
                        break;
                    }
                    None => {
                        println!("Every exercise passes. Well done.");
                        return Ok(ExitCode::SUCCESS);
                    }
                },
                Some(Key::Unknown) => println!("{KEYS}"),
            }
        }
    }
}

/// Shows where `ex` stands, testing it unless a saved pass says nothing changed.
fn show(track: &mut Track, ex: &Exercise) -> Result<(), Box<dyn std::error::Error>> {
    let found = match track.state(ex)? {
        Found::Saved(state) if state != State::Passing => track.test(ex)?,
        found => found,
    };
    println!("── {} ({}) ──", ex.package, found.state().label());
    if let Found::Tested(_, run) = &found {
        println!("{}", exercises::tail(&run.output, 40));
    }
    if *found.state() == State::Passing {
        println!(
            "\n✓ {} passes. Type n and Enter for the next exercise.",
            ex.package
        );
    } else {
        println!(
            "\nEdit exercises/{}/src/lib.rs and save to test again.",
            ex.dir
        );
    }
    println!("{KEYS}");
    Ok(())
}

/// The next exercise after `ex` that does not pass (wrapping round to the start), or `None`
/// when every one passes.
fn next(track: &mut Track, ex: &Exercise) -> std::io::Result<Option<Exercise>> {
    let at = track.list.iter().position(|e| e == ex).unwrap_or(0);
    let order: Vec<Exercise> = track.list[at + 1..]
        .iter()
        .chain(&track.list[..=at])
        .cloned()
        .collect();
    for candidate in order {
        if *track.state(&candidate)?.state() != State::Passing {
            return Ok(Some(candidate));
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_read_by_their_first_letter() {
        assert_eq!(key("n"), Some(Key::Next));
        assert_eq!(key(" Hint \n"), Some(Key::Hint));
        assert_eq!(key("l"), Some(Key::List));
        assert_eq!(key("r"), Some(Key::Run));
        assert_eq!(key("quit"), Some(Key::Quit));
        assert_eq!(key("x"), Some(Key::Unknown));
        assert_eq!(key("   "), None);
    }
}
