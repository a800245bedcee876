//! The whole set of files: every figure's section of `results.md` and its SVG, in the order
//! the chapter reads them, written into one directory.

use crate::criterion::median_ns;
use crate::format::machine;
use crate::{counters, pools, sweeps, targets};
use std::fmt::Write;
use std::path::{Path, PathBuf};

/// One benchmark's median per iteration, in nanoseconds, by group and benchmark name.
pub type Get<'a> = &'a dyn Fn(&str, &str) -> Result<f64, String>;

/// The SVG files to write: each file's name and its text.
pub type Svgs = Vec<(&'static str, String)>;

// ANCHOR: write_all
/// Reads every benchmark's median, writes one SVG per group and `results.md` into `out`, and
/// returns the files written. Fails, naming the file, if a result is missing.
pub fn write_all(criterion: &Path, out: &Path) -> Result<Vec<PathBuf>, String> {
    let get = |group: &str, bench: &str| median_ns(criterion, group, bench);
    let mut md = String::new();
    let mut files = Vec::new();
    let mut svgs: Svgs = Vec::new();
    let _ = writeln!(
        md,
        "<!-- Written by `cargo run --release -p bench-plot -- DIR` from criterion's \
         results. Do not edit: rerun the command. -->\n"
    );
    let _ = writeln!(md, "Measured on {}.\n", machine());

    let trivial = pools::trivial(&get, &mut md, &mut svgs)?;
    let bound_cost = pools::queues(&get, &mut md, &mut svgs)?;
    pools::thread_per_job(&get, &mut md, &mut svgs)?;
    sweeps::cpu(&get, &mut md, &mut svgs)?;
    let sleep = sweeps::sleep(&get, &mut md, &mut svgs)?;
    counters::false_sharing(&get, &mut md, &mut svgs)?;
    targets::table(&mut md, &trivial, bound_cost, &sleep);

    std::fs::create_dir_all(out)
        .map_err(|err| format!("cannot create {}: {err}", out.display()))?;
    for (name, text) in svgs.into_iter().chain([("results.md", md)]) {
        let path = out.join(name);
        std::fs::write(&path, text)
            .map_err(|err| format!("cannot write {}: {err}", path.display()))?;
        files.push(path);
    }
    Ok(files)
}
// ANCHOR_END: write_all
