//! Running a lesson's real binary: to its end (its output whole), or while a test reads its lines.

use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

/// Runs a lesson binary with `args`, waiting at most `limit`, with colour turned off.
///
/// On time-out the process is killed and the test fails saying so.
pub fn run_bin(bin: &str, args: &[&str], limit: Duration) -> Output {
    let mut child = Command::new(bin)
        .args(args)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("could not start {bin}: {e}"));
    let deadline = Instant::now() + limit;
    loop {
        match child.try_wait().expect("waiting on the lesson binary") {
            Some(_) => return child.wait_with_output().expect("reading its output"),
            None if Instant::now() > deadline => {
                let _ = child.kill();
                let out = child.wait_with_output().expect("reading its output");
                panic!(
                    "{bin} {args:?} did not exit within {limit:?}; it printed:\n{}",
                    String::from_utf8_lossy(&out.stdout)
                );
            }
            None => std::thread::sleep(Duration::from_millis(10)),
        }
    }
}

/// Runs a lesson binary that must succeed, waiting at most a minute, and returns its stdout.
///
/// Fails the test if it exits non-zero or writes anything to stderr.
pub fn stdout_of(bin: &str, args: &[&str]) -> String {
    let out = run_bin(bin, args, Duration::from_secs(60));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "{bin} {args:?} failed ({}): {stderr}",
        out.status
    );
    assert!(
        stderr.is_empty(),
        "{bin} {args:?} wrote to stderr: {stderr}"
    );
    String::from_utf8(out.stdout).expect("the output is UTF-8")
}

/// Starts `cmd` with colour off, no input and its stdout piped, and reads that stdout on a thread
/// of its own, a line at a time, into the returned channel, which disconnects once the output
/// has ended. For tests that act on a running binary as it prints (a signal after a given line).
pub fn spawn_lines(cmd: &mut Command) -> (Child, Receiver<String>) {
    let mut child = cmd
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("could not start {:?}: {e}", cmd.get_program()));
    let stdout = child.stdout.take().expect("piped");
    let (tx, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    (child, lines)
}
