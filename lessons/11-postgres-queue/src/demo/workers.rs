//! The demo's worker processes, as in lesson 10: each is this same program's `worker` command,
//! its lines read by a thread and passed to the script.

use super::{Fail, Flags};
use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::time::Duration;

/// A line from a worker process, or the news that its output ended.
pub(super) enum Line {
    Text(String),
    Closed,
}

/// Waits for worker lines for at most this long before the demo gives up.
const PATIENCE: Duration = Duration::from_secs(60);

pub(super) fn spawn(
    url: &str,
    name: &str,
    threads: usize,
    f: &Flags,
    t0: Duration,
    lines: &Sender<Line>,
) -> Result<Child, Fail> {
    let exe = std::env::current_exe()?;
    let mut child = Command::new(exe)
        .args(["worker", "--database-url", url])
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
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("could not start worker {name}: {e}"))?;
    let out = child.stdout.take().expect("piped");
    let lines = lines.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines() {
            let Ok(line) = line else { break };
            if lines.send(Line::Text(line)).is_err() {
                return;
            }
        }
        let _ = lines.send(Line::Closed);
    });
    Ok(child)
}

pub(super) fn next_line(lines: &Receiver<Line>) -> Result<Line, Fail> {
    match lines.recv_timeout(PATIENCE) {
        Ok(line) => Ok(line),
        Err(RecvTimeoutError::Timeout) => {
            Err("no word from any worker for 60 s: is one stuck waiting for the server?".into())
        }
        Err(RecvTimeoutError::Disconnected) => Ok(Line::Closed),
    }
}
