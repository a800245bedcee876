//! The demo's worker processes: each is this same program's `worker` command, its lines read
//! by a thread and passed to the script (`lesson_10::watch`, which lesson 11's demo uses too).

use super::{Fail, Flags, demo_error};
use lesson_10::watch::{self, Line};
use std::process::{Child, Command};
use std::sync::mpsc::Sender;
use std::time::Duration;

pub(super) fn spawn(
    db: &std::path::Path,
    name: &str,
    threads: usize,
    f: &Flags,
    t0: Duration,
    lines: &Sender<Line>,
) -> Result<Child, Fail> {
    let exe = std::env::current_exe().map_err(|e| demo_error(&format!("no executable: {e}")))?;
    let mut cmd = Command::new(exe);
    cmd.arg("worker")
        .arg("--db")
        .arg(db)
        .args(["--name", name])
        .args(["--threads", &threads.to_string()])
        .args(["--lease-ms", &f.lease_ms.to_string()])
        .args(["--seed", &f.seed.to_string()])
        .args(["--since-ms", &t0.as_millis().to_string()])
        .arg("--exit-when-idle")
        // The demo reads its workers' lines, so they print the readable form whatever
        // COURSE_LOG or RUST_LOG say.
        .args(["--log-format", "readable"])
        .env_remove("RUST_LOG");
    Ok(watch::spawn(cmd, name, lines)?)
}
