//! What lesson 10's and lesson 11's command-line tests share. Lesson 11's command line is lesson
//! 10's with `--database-url URL` in place of `--db PATH`, so the same helpers drive both, and
//! the same SIGTERM test holds for both: lesson 11's `tests/cli.rs` reuses this file
//! (`#[path = "../../10-durable-queue/tests/shared/mod.rs"]`). `rounds.rs` holds what the crash
//! and fault rounds share, `jobs.rs` what the store tests are written with, `table.rs` how the
//! measurement tests read the table; `cases.rs` the tests both lessons run.
#![allow(dead_code, unused_imports)]

mod cases;
pub mod jobs;
pub mod rounds;
pub mod table;

pub use cases::{
    hostile_flags_are_refused_with_one_line,
    sigterm_stops_claiming_finishes_running_jobs_and_exits_cleanly,
    the_json_form_carries_each_jobs_span_fields_on_its_lines,
};

use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// A queue, as the lesson's binary reaches it.
pub struct Queue {
    /// The lesson's binary.
    pub bin: &'static str,
    /// The flag and value that say where the queue is: `--db PATH` or `--database-url URL`.
    pub address: [String; 2],
}

impl Queue {
    /// The queue at `address` (`["--db", PATH]` or `["--database-url", URL]`), through `bin`.
    pub fn new(bin: &'static str, flag: &str, value: impl ToString) -> Queue {
        Queue {
            bin,
            address: [flag.to_string(), value.to_string()],
        }
    }

    /// The binary's command `cmd` on this queue, with `more` flags and `env` set (see [`run`]).
    pub fn run(&self, cmd: &str, more: &[&str], env: &[(&str, &str)], limit: Duration) -> Output {
        let mut args = vec![cmd];
        args.extend(self.address.iter().map(String::as_str));
        args.extend(more);
        run(self.bin, &args, env, limit)
    }

    /// A command that must succeed, and print nothing on stderr; its stdout.
    pub fn ok(&self, cmd: &str, more: &[&str]) -> String {
        let out = self.run(cmd, more, &[], Duration::from_secs(60));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{cmd} {more:?} failed: {stderr}");
        assert!(
            stderr.is_empty(),
            "{cmd} {more:?} wrote to stderr: {stderr}"
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// A command that must fail with one line and exit code 1; the line.
    pub fn refused(&self, cmd: &str, more: &[&str]) -> String {
        self.refused_with(cmd, more, &[])
    }

    /// As [`Queue::refused`], with `env` set.
    pub fn refused_with(&self, cmd: &str, more: &[&str], env: &[(&str, &str)]) -> String {
        let out = self.run(cmd, more, env, Duration::from_secs(30));
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(out.status.code(), Some(1), "{cmd} {more:?}: {stderr}");
        assert_eq!(stderr.trim_end().lines().count(), 1, "one line: {stderr}");
        assert!(
            stderr.starts_with("error: ") && !stderr.contains("panicked"),
            "{stderr}"
        );
        stderr
    }

    /// Enqueues `jobs` instant jobs whose every attempt fails, each allowed `max_attempts`.
    pub fn enqueue_failing(&self, jobs: usize, max_attempts: u32) {
        let (jobs, max_attempts) = (jobs.to_string(), max_attempts.to_string());
        self.ok(
            "enqueue",
            &[
                "--jobs",
                &jobs,
                "--work-ms",
                "0",
                "--fail-percent",
                "100",
                "--max-attempts",
                &max_attempts,
            ],
        );
    }

    /// `status --json`, parsed; it must hold a key per state, and `effects_applied`.
    pub fn status_json(&self) -> serde_json::Value {
        let status: serde_json::Value =
            serde_json::from_str(&self.ok("status", &["--json"])).expect("status --json is JSON");
        for key in [
            "available",
            "scheduled",
            "running",
            "completed",
            "retryable",
            "discarded",
            "cancelled",
            "effects_applied",
        ] {
            assert!(status.get(key).is_some(), "no {key:?} in {status}");
        }
        status
    }

    pub(crate) fn command(&self, cmd: &str, more: &[&str]) -> Command {
        let mut command = Command::new(self.bin);
        command
            .arg(cmd)
            .args(&self.address)
            .args(more)
            .env("NO_COLOR", "1")
            .env_remove("DATABASE_URL")
            .stdin(Stdio::null());
        command
    }
}

/// Runs `bin` with `args` and `env` set, colour off and no `DATABASE_URL` from the environment;
/// kills it, and fails the test, after `limit`.
pub fn run(bin: &str, args: &[&str], env: &[(&str, &str)], limit: Duration) -> Output {
    let mut child = Command::new(bin);
    child
        .args(args)
        .env("NO_COLOR", "1")
        .env_remove("DATABASE_URL")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        child.env(k, v);
    }
    let mut child = child
        .spawn()
        .unwrap_or_else(|e| panic!("could not start {bin}: {e}"));
    let deadline = Instant::now() + limit;
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!(
                "{bin} {args:?} did not exit within {limit:?}; it printed:\n{}",
                String::from_utf8_lossy(&out.stdout)
            );
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    child.wait_with_output().unwrap()
}

/// The JSON lines a worker printed, each parsed.
pub fn json_lines(stdout: &str) -> Vec<serde_json::Value> {
    stdout
        .lines()
        .map(|line| {
            serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("every line should be JSON ({e}): {line}\n{stdout}"))
        })
        .collect()
}
