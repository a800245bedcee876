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

/// A binary that runs while the test reads its lines, signals it, and waits for it to exit.
///
/// Every wait is bounded: past its limit the binary is killed and the test fails, showing
/// everything it printed.
#[derive(Debug)]
pub struct Running {
    /// The process, to signal and to wait for.
    child: Child,
    /// Its stdout, a line at a time (see [`spawn_lines`]).
    lines: Receiver<String>,
    /// The lines read so far.
    seen: Vec<String>,
}

impl Running {
    /// Starts `cmd` as [`spawn_lines`] does.
    pub fn start(cmd: &mut Command) -> Running {
        let (child, lines) = spawn_lines(cmd);
        Running {
            child,
            lines,
            seen: Vec::new(),
        }
    }

    /// Reads lines until one contains `text`, for at most `limit`.
    #[track_caller]
    pub fn wait_for(&mut self, text: &str, limit: Duration) {
        self.wait_until(&format!("printed {text:?}"), limit, |seen| {
            seen.last().is_some_and(|line| line.contains(text))
        });
    }

    /// Reads lines until `done` holds for the lines read so far, for at most `limit`; `what`
    /// says what the test waits for, in the failure.
    #[track_caller]
    pub fn wait_until(&mut self, what: &str, limit: Duration, done: impl Fn(&[String]) -> bool) {
        let deadline = Instant::now() + limit;
        while !done(&self.seen) {
            match self
                .lines
                .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            {
                Ok(line) => self.seen.push(line),
                Err(_) => {
                    let _ = self.child.kill();
                    panic!(
                        "it never {what} within {limit:?}; it printed:\n{}",
                        self.seen.join("\n")
                    );
                }
            }
        }
    }

    /// Sends it the signal `name` (`INT` for Ctrl-C, `TERM`) with `kill`.
    pub fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .args([&format!("-{name}"), &self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -{name} failed");
    }

    /// Waits at most `limit` for it to exit; its exit code and everything it printed. Past the
    /// limit the test fails with `hint`, the likely cause.
    #[track_caller]
    pub fn finish(mut self, limit: Duration, hint: &str) -> (Option<i32>, String) {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().expect("waiting on the binary") {
                // The reader thread ends at EOF, which closes the channel.
                self.seen.extend(self.lines.iter());
                return (status.code(), self.seen.join("\n"));
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!(
                    "it did not exit within {limit:?} ({hint}); it printed:\n{}",
                    self.seen.join("\n")
                );
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}
