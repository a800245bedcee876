//! The Go original beside the Rust pools: `go/pool.go`, the seed article's pool shape, built
//! with the `go` on the PATH and measured in the same table, in the same run.
//!
//! The Go program answers in the same one-line form as this lesson's own measuring processes
//! (`ok NANOSECONDS PEAK_KIB`), so its row is read and printed like every other row. Without
//! `go`, the row says so instead of a figure.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The Go program, compiled into this binary so it can be built from anywhere.
pub const SOURCE: &str = include_str!("../go/pool.go");

/// The row's label in the table.
pub const LABEL: &str = "Go: the article's pool (goroutines)";

/// The `go` command: `$GO` if set, else `go` (found on the PATH).
fn go_command() -> PathBuf {
    std::env::var_os("GO").map_or_else(|| PathBuf::from("go"), PathBuf::from)
}

/// The Go program's binary once built, or why there is none.
static BUILT: OnceLock<Result<PathBuf, String>> = OnceLock::new();

/// Builds the Go program once per process, into a temporary folder; the binary's path, or why
/// there is none.
fn binary() -> &'static Result<PathBuf, String> {
    BUILT.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("course-lesson-9-go-{}", std::process::id()));
        std::fs::create_dir_all(&dir).map_err(|e| format!("cannot make {}: {e}", dir.display()))?;
        let source = dir.join("pool.go");
        std::fs::write(&source, SOURCE)
            .map_err(|e| format!("cannot write {}: {e}", source.display()))?;
        let exe = dir.join("pool");
        let built = Command::new(go_command())
            .arg("build")
            .arg("-o")
            .arg(&exe)
            .arg(&source)
            .current_dir(&dir)
            .output();
        match built {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(
                "not measured: `go` is not installed (Debian: apt install golang-go)".to_string(),
            ),
            Err(e) => Err(format!("not measured: cannot run `go build`: {e}")),
            Ok(out) if !out.status.success() => Err(format!(
                "not measured: `go build` failed: {}",
                String::from_utf8_lossy(&out.stderr)
                    .lines()
                    .next()
                    .unwrap_or("no message")
            )),
            Ok(_) => Ok(exe),
        }
    })
}

/// Runs the Go pool as the Rust rows run theirs; its answer line (`ok …` or `error …`), or why
/// it could not run (then the row says so).
pub fn measure(workers: usize, jobs: u64, rounds: usize) -> Result<String, String> {
    let exe = binary().as_ref().map_err(Clone::clone)?;
    run(exe, workers, jobs, rounds)
}

fn run(exe: &Path, workers: usize, jobs: u64, rounds: usize) -> Result<String, String> {
    let out = Command::new(exe)
        .args(["-workers", &workers.to_string()])
        .args(["-jobs", &jobs.to_string()])
        .args(["-rounds", &rounds.to_string()])
        .output()
        .map_err(|e| format!("not measured: cannot start the Go program: {e}"))?;
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Removes the temporary folder the Go program was built in, if it was.
pub fn clean_up() {
    if let Some(Ok(exe)) = BUILT.get() {
        if let Some(dir) = exe.parent() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}
