//! What lesson 10's crash rounds and lesson 11's fault rounds share: reading their seed and
//! round count from the environment, and the worker and enqueuer processes they start, kill and
//! read. Lesson 11's `tests/faults.rs` reuses this file.
#![allow(dead_code, unused_macros, unused_imports)]

use course_support::testing::spawn_lines;
use rand::{RngExt as _, rngs::StdRng};
use std::collections::BTreeMap;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, TryRecvError};
use std::time::{Duration, Instant};

/// Added to the seed from one round to the next, so round r of seed s is round 0 of its own.
const STEP: u64 = 0x9E37_79B9_7F4A_7C15;

/// Runs the rounds `{var}_ROUNDS` asks for (default `rounds`) from the seed `{var}_SEED` (default
/// `seed`), each round with its own seed and number, under a progress bar named `what`; returns
/// how long they took.
pub fn run_rounds(
    var: &str,
    (seed, rounds): (u64, u64),
    what: &str,
    mut round: impl FnMut(u64, u64),
) -> Duration {
    let base = env_u64(&format!("{var}_SEED"), seed);
    let rounds = env_u64(&format!("{var}_ROUNDS"), rounds);
    let started = Instant::now();
    let bar = course_support::progress::bar(rounds, what);
    for r in 0..rounds {
        let seed = base.wrapping_add(r.wrapping_mul(STEP));
        bar.set_message(format!("seed {seed:#x}"));
        round(seed, r);
        bar.inc(1);
    }
    bar.finish_and_clear();
    started.elapsed()
}

/// A tally's counts by kind for the final line, each as `each` words it, or `none`.
pub fn listed(counts: &BTreeMap<&str, u64>, each: impl Fn(u64, &str) -> String) -> String {
    let items: Vec<String> = counts.iter().map(|(kind, n)| each(*n, kind)).collect();
    if items.is_empty() {
        "none".into()
    } else {
        items.join(", ")
    }
}

/// Where a worker process can abort itself (lesson 10's `fault` points).
pub const CRASH_POINTS: [&str; 4] = ["after-claim", "mid-job", "before-commit", "mid-commit"];

/// With chance `chance`, a crash point drawn from `rng`, where the worker `cmd` will abort on
/// its 1st to 4th pass (`LESSON10_CRASH`); which point, if any.
pub fn plan_crash(cmd: &mut Command, rng: &mut StdRng, chance: f64) -> Option<&'static str> {
    let point = rng
        .random_bool(chance)
        .then(|| CRASH_POINTS[rng.random_range(0..CRASH_POINTS.len())]);
    if let Some(p) = point {
        cmd.env(
            "LESSON10_CRASH",
            format!("{p}:{}", rng.random_range(1..=4u32)),
        );
    }
    point
}

/// The number in the variable `name` (decimal or `0x` hex), or `default` when it is not set.
pub fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name).map_or(default, |v| {
        let v = v.trim();
        match v.strip_prefix("0x") {
            Some(hex) => u64::from_str_radix(hex, 16),
            None => v.parse(),
        }
        .unwrap_or_else(|_| panic!("{name}={v} is not a number"))
    })
}

/// The line that replays the round of `seed` alone: `VAR_SEED=… VAR_ROUNDS=1 cargo test
/// --release -p LESSON --test TEST -- --nocapture`.
pub fn replay_line(var: &str, lesson: &str, test: &str, seed: u64) -> String {
    format!(
        "replay this round alone: {var}_SEED={seed:#x} {var}_ROUNDS=1 cargo test --release -p \
         {lesson} --test {test} -- --nocapture"
    )
}

/// Fails the test, unless the condition holds, with the message and the line that replays the
/// round of the seed (from the calling file's `replay(seed)`).
macro_rules! check {
    ($seed:expr, $cond:expr, $($msg:tt)+) => {
        if !$cond {
            panic!("{}\n  {}", format!($($msg)+), replay($seed));
        }
    };
}
pub(crate) use check;

/// A child process whose output lines arrive on a channel. When it is stuck, the test fails with
/// `replay(seed)`: the command that replays the round alone.
pub struct Proc {
    /// The process, for signals.
    pub child: Child,
    lines: Receiver<String>,
    name: String,
    closed: bool,
    replay: fn(u64) -> String,
}

impl Proc {
    /// Starts `cmd` (without a `DATABASE_URL` from the environment), its stderr thrown away.
    pub fn start(mut cmd: Command, name: &str, replay: fn(u64) -> String) -> Proc {
        let (child, lines) = spawn_lines(cmd.env_remove("DATABASE_URL").stderr(Stdio::null()));
        Proc {
            child,
            lines,
            name: name.to_string(),
            closed: false,
            replay,
        }
    }

    /// The next line, or `None` once the output has ended.
    pub fn line(&mut self, limit: Duration, seed: u64) -> Option<String> {
        match self.lines.recv_timeout(limit) {
            Ok(line) => Some(line),
            Err(RecvTimeoutError::Disconnected) => None,
            Err(RecvTimeoutError::Timeout) => {
                let _ = self.child.kill();
                panic!(
                    "{} printed nothing for {limit:?}: is it stuck?\n  {}",
                    self.name,
                    (self.replay)(seed)
                );
            }
        }
    }

    /// `Some(Some(line))`, `Some(None)` the first time the output is seen closed, else `None`.
    pub fn try_line(&mut self) -> Option<Option<String>> {
        if self.closed {
            return None;
        }
        match self.lines.try_recv() {
            Ok(line) => Some(Some(line)),
            Err(TryRecvError::Empty) => None,
            Err(TryRecvError::Disconnected) => {
                self.closed = true;
                Some(None)
            }
        }
    }

    /// SIGKILL, as the child's `kill` sends it: the process gets no chance to tidy up.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
    }

    /// Its exit status, waiting at most `limit`.
    pub fn wait(&mut self, limit: Duration, seed: u64) -> ExitStatus {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!(
                    "{} did not exit within {limit:?}\n  {}",
                    self.name,
                    (self.replay)(seed)
                );
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}
