//! The demo's worker processes, as in lesson 10: each is this same program's `worker` command,
//! its lines read by a thread and passed to the script (lesson 10's `watch`).

use super::{Fail, Flags};
use lesson_10::watch::{self, Line};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::Sender;
use std::time::Duration;

pub(super) fn spawn(
    url: &str,
    name: &str,
    threads: usize,
    f: &Flags,
    t0: Duration,
    lines: &Sender<Line>,
) -> Result<Child, Fail> {
    let exe = std::env::current_exe()?;
    let mut cmd = Command::new(exe);
    cmd.args(["worker", "--database-url", url])
        .args(["--name", name])
        .args(["--threads", &threads.to_string()])
        .args(["--lease-ms", &f.lease_ms.to_string()])
        .args(["--rescue-ms", "250"])
        .args(["--seed", &f.seed.to_string()])
        .args(["--since-ms", &t0.as_millis().to_string()])
        .arg("--exit-when-idle")
        // The demo reads its workers' lines, so they print the readable form whatever
        // COURSE_LOG or RUST_LOG say.
        .args(["--log-format", "readable"])
        .env_remove("RUST_LOG")
        .env_remove("DATABASE_URL")
        .stderr(Stdio::null());
    Ok(watch::spawn(cmd, name, lines)?)
}
