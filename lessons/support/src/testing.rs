//! Helpers for the lessons' tests: every wait is bounded and says what probably went wrong.

use std::collections::BTreeMap;
use std::process::{Command, Output, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

mod book;
pub use book::{Recording, recorded_output, recording};

/// Runs `f` on its own thread and waits at most `limit` for it.
///
/// On time-out the test fails with `what` and `hint` (the likely cause), instead of hanging the
/// test run. A panic inside `f` fails the test with that panic.
///
/// ```
/// use std::time::Duration;
/// let sum = course_support::testing::within(Duration::from_secs(5), "adding", "never", || 2 + 2);
/// assert_eq!(sum, 4);
/// ```
#[track_caller]
pub fn within<T, F>(limit: Duration, what: &str, hint: &str, f: F) -> T
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    let (tx, rx) = std::sync::mpsc::channel();
    let handle = std::thread::spawn(move || {
        let value = f();
        // The receiver is gone only if the wait below already timed out.
        let _ = tx.send(());
        value
    });
    match rx.recv_timeout(limit) {
        Ok(()) | Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => match handle.join() {
            Ok(value) => value,
            Err(panic) => std::panic::resume_unwind(panic),
        },
        Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
            panic!("{what} did not finish within {limit:?}: {hint}")
        }
    }
}

/// A gate that jobs wait at until the test opens it: how a test holds jobs inside a pool for
/// exactly as long as it needs, without sleeping. Clones share one gate; once open, it stays
/// open. Every wait is bounded ([`Gate::LIMIT`]), so a test that never opens its gate fails on
/// its own assertions instead of hanging.
///
/// ```
/// use course_support::testing::Gate;
/// let gate = Gate::new();
/// let job = { let gate = gate.clone(); std::thread::spawn(move || gate.wait()) };
/// gate.open();
/// assert!(job.join().unwrap(), "the job went through once the gate opened");
/// ```
#[derive(Debug, Clone, Default)]
pub struct Gate(Arc<(Mutex<bool>, Condvar)>);

impl Gate {
    /// The longest a job waits at a gate that stays shut.
    pub const LIMIT: Duration = Duration::from_secs(5);

    /// A shut gate.
    pub fn new() -> Gate {
        Gate::default()
    }

    /// Opens the gate: every job waiting at it goes on, and so does every job that comes later.
    pub fn open(&self) {
        let (open, changed) = &*self.0;
        *open.lock().expect("never poisoned") = true;
        changed.notify_all();
    }

    /// Whether the gate has been opened.
    pub fn is_open(&self) -> bool {
        *self.0.0.lock().expect("never poisoned")
    }

    /// Waits until the gate is open, for at most [`Gate::LIMIT`]. Returns whether it opened.
    pub fn wait(&self) -> bool {
        let (open, changed) = &*self.0;
        let guard = open.lock().expect("never poisoned");
        let (guard, _) = changed
            .wait_timeout_while(guard, Gate::LIMIT, |open| !*open)
            .expect("never poisoned");
        *guard
    }
}

// ANCHOR: threads
/// Threads in this process right now: the entries of `/proc/self/task` (Linux).
///
/// # Panics
///
/// If `/proc/self/task` cannot be read (not Linux).
pub fn threads_now() -> usize {
    std::fs::read_dir("/proc/self/task")
        .expect("/proc/self/task lists this process's threads (Linux only)")
        .count()
}

/// Waits at most `limit` until no more than `at_most` threads are left in this process.
///
/// A thread that has been joined is gone, but one that was only told to stop (a runtime's
/// blocking thread, say) may take a moment to exit. Returns the count it saw last on time-out.
pub fn threads_settle(at_most: usize, limit: Duration) -> Result<(), usize> {
    let give_up = Instant::now() + limit;
    loop {
        let now = threads_now();
        if now <= at_most {
            return Ok(());
        }
        if Instant::now() >= give_up {
            return Err(now);
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}
// ANCHOR_END: threads

/// Counts how many jobs are running at once, and the most there ever were.
///
/// A job calls [`Gauge::enter`] when it starts; the returned guard leaves when dropped.
#[derive(Debug, Default)]
pub struct Gauge {
    state: Mutex<(usize, usize)>,
    changed: Condvar,
}

/// Held by a running job; dropping it marks the job as no longer running.
pub struct Inside<'a>(&'a Gauge);

impl Gauge {
    /// A gauge with nothing running.
    pub fn new() -> Gauge {
        Gauge::default()
    }

    /// Marks one more job as running.
    pub fn enter(&self) -> Inside<'_> {
        let mut state = self.state.lock().unwrap();
        state.0 += 1;
        state.1 = state.1.max(state.0);
        self.changed.notify_all();
        Inside(self)
    }

    /// The most jobs that were ever running at once.
    pub fn max(&self) -> usize {
        self.state.lock().unwrap().1
    }

    /// Jobs running now.
    pub fn now(&self) -> usize {
        self.state.lock().unwrap().0
    }

    /// Waits until `n` jobs have been running at once, for at most `limit`.
    ///
    /// Jobs that call this hold their worker until the pool has started `n` of them together,
    /// which proves the pool really runs `n` at a time, without guessing with sleeps. Returns
    /// whether the peak was reached.
    pub fn wait_for_peak(&self, n: usize, limit: Duration) -> bool {
        let state = self.state.lock().unwrap();
        let (state, _) = self
            .changed
            .wait_timeout_while(state, limit, |s| s.1 < n)
            .unwrap();
        state.1 >= n
    }
}

impl Drop for Inside<'_> {
    fn drop(&mut self) {
        let mut state = self.0.state.lock().unwrap();
        state.0 -= 1;
        self.0.changed.notify_all();
    }
}

/// Counts how often each job ran.
#[derive(Debug, Default)]
pub struct RunCounts(Mutex<BTreeMap<u64, usize>>);

impl RunCounts {
    /// No job has run yet.
    pub fn new() -> RunCounts {
        RunCounts::default()
    }

    /// Records one run of `job`.
    pub fn ran(&self, job: u64) {
        *self.0.lock().unwrap().entry(job).or_default() += 1;
    }

    /// Fails the test unless each of `jobs` ran exactly once and nothing else ran.
    pub fn assert_each_ran_once(&self, jobs: impl IntoIterator<Item = u64>) {
        let counts = self.0.lock().unwrap();
        let mut expected: Vec<u64> = jobs.into_iter().collect();
        expected.sort_unstable();
        let missing: Vec<u64> = expected
            .iter()
            .copied()
            .filter(|j| !counts.contains_key(j))
            .collect();
        let twice: Vec<(u64, usize)> = counts
            .iter()
            .filter(|(_, n)| **n > 1)
            .map(|(j, n)| (*j, *n))
            .collect();
        let stray: Vec<u64> = counts
            .keys()
            .copied()
            .filter(|j| expected.binary_search(j).is_err())
            .collect();
        assert!(
            missing.is_empty() && twice.is_empty() && stray.is_empty(),
            "every job should run exactly once: never ran {missing:?}; ran more than once \
             (job, runs) {twice:?}; ran but never submitted {stray:?}"
        );
    }
}

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

/// The numbers on a lesson's report line (the first line that starts with `Report: `), such as
/// `[12, 11, 1, 0]` from `Report: 12 submitted = 11 done + 1 failed + 0 abandoned.`
///
/// Fails the test, showing the output, if there is no report line or it has fewer than `N`
/// numbers; numbers past the first `N` are ignored.
pub fn report_counts<const N: usize>(output: &str) -> [u64; N] {
    let line = output
        .lines()
        .find(|l| l.starts_with("Report: "))
        .unwrap_or_else(|| panic!("no report line in:\n{output}"));
    let numbers: Vec<u64> = line
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|w| w.parse().ok())
        .collect();
    numbers
        .get(..N)
        .and_then(|first| first.try_into().ok())
        .unwrap_or_else(|| panic!("expected {N} numbers on the report line: {line}"))
}

/// Checks that `args` are refused the way every lesson refuses bad flags: exit code 2, one line
/// on stderr naming the problem, nothing on stdout, no panic.
pub fn assert_rejected(bin: &str, args: &[&str]) {
    refusal(bin, args, Duration::from_secs(10));
}

/// Runs `args`, checks the refusal as [`assert_rejected`] describes it, and returns the error
/// line.
fn refusal(bin: &str, args: &[&str], limit: Duration) -> String {
    let out = run_bin(bin, args, limit);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(
        out.status.code(),
        Some(2),
        "{args:?} should exit with code 2; stderr was: {stderr}"
    );
    assert_eq!(
        stderr.trim_end().lines().count(),
        1,
        "{args:?} should give a one-line error, got:\n{stderr}"
    );
    assert!(stderr.starts_with("error:"), "{args:?}: {stderr}");
    assert!(!stderr.contains("panicked"), "{args:?} panicked: {stderr}");
    assert!(
        out.stdout.is_empty(),
        "{args:?} should print nothing on stdout"
    );
    stderr
}

/// Values no numeric flag takes, whatever its limits: negative, non-numeric, empty, blank,
/// hexadecimal, not-a-number, infinite, larger than any integer type holds.
const HOSTILE_VALUES: [&str; 12] = [
    "-1",
    "abc",
    "",
    " ",
    "12abc",
    "1,000",
    "0x10",
    "NaN",
    "inf",
    "1e999",
    "99999999999999999999999",
    "-99999999999999999999999",
];

/// Throws hostile values at each of a lesson's numeric flags and checks that every one is
/// refused the way [`assert_rejected`] describes (exit code 2, one line starting with `error:`,
/// no panic, nothing on stdout), quickly, with a message that names the flag.
///
/// Each flag's limits are read from `--help`, which must state them as `(MIN to MAX)` in the
/// flag's description: `MIN` and `MAX` must be accepted, and `MAX` + 1, `MIN` − 1 (when
/// `MIN` > 0), ten million (when above `MAX`), a fraction (for whole-number flags) and values
/// no flag takes (negative, non-numeric, empty, blank, hexadecimal, `NaN`, infinite, past
/// `u64`) refused, as must a missing value and the flag given twice. Unknown flags and a stray
/// word are refused too. A value is accepted if `FLAG VALUE --help` prints the help
/// and exits 0: clap checks the value before it meets `--help`, so nothing is started.
pub fn assert_hostile_flags(bin: &str, numeric_flags: &[&str]) {
    let limit = Duration::from_secs(5);
    let help = run_bin(bin, &["--help"], limit);
    assert!(help.status.success(), "{bin} --help failed");
    let help = String::from_utf8_lossy(&help.stdout).into_owned();
    for &flag in numeric_flags {
        let (min, max) = documented_range(&help, flag).unwrap_or_else(|| {
            panic!(
                "`--help` should state the limits of {flag} as `(MIN to MAX)` in its \
                 description; it says:\n{help}"
            )
        });
        for value in [&min, &max] {
            let out = run_bin(bin, &[flag, value, "--help"], limit);
            assert!(
                out.status.success() && out.stderr.is_empty(),
                "{flag} {value} is within the limits `--help` states, but was refused: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let mut values: Vec<String> = HOSTILE_VALUES.iter().map(|v| v.to_string()).collect();
        match (min.parse::<u64>(), max.parse::<u64>()) {
            (Ok(low), Ok(high)) => {
                values.push((high + 1).to_string());
                if low > 0 {
                    values.push((low - 1).to_string());
                }
                if high < 10_000_000 {
                    values.push("10000000".into());
                }
                values.push(format!("{low}.5"));
            }
            _ => {
                let low: f64 = min.parse().expect("MIN is a number");
                let high: f64 = max.parse().expect("MAX is a number");
                values.push((high * 2.0).to_string());
                values.push(if low > 0.0 { low / 2.0 } else { low - 1.0 }.to_string());
            }
        }
        let refused = |args: &[&str]| {
            let line = refusal(bin, args, limit);
            assert!(
                line.contains(flag),
                "{args:?}: the error should name {flag}: {line}"
            );
        };
        for value in &values {
            refused(&[flag, value]);
        }
        for value in ["", "-1"] {
            refused(&[&format!("{flag}={value}")]);
        }
        // clap reads a value that starts with `-` and is not a number as a flag (`-inf` is
        // `-i`, `-n`, `-f`), so the error names that instead: still one line and code 2.
        refusal(bin, &[flag, "-inf"], limit);
        refused(&[flag]);
        refused(&[flag, "--help"]);
        refused(&[flag, &min, flag, &min]);
    }
    for args in [
        &["--no-such-flag"][..],
        &["--no-such-flag=1"],
        &["-Z"],
        &["stray"],
    ] {
        let line = refusal(bin, args, limit);
        let shown = args[0].split('=').next().unwrap_or_default();
        assert!(
            line.contains(shown),
            "{args:?}: the error should name it: {line}"
        );
    }
}

/// The last `MIN to MAX` in the description of `flag` in `help`, such as `("1", "1024")` from
/// `How many workers (1 to 1024) [default: 3]`.
fn documented_range(help: &str, flag: &str) -> Option<(String, String)> {
    // The flag's own line starts with `-` (`  -w, --workers <WORKERS>`); a mention of the flag
    // in another flag's description does not.
    let mut lines = help.lines().skip_while(|line| {
        let line = line.trim_start();
        !(line.starts_with('-') && line.split([' ', ',', '=']).any(|word| word == flag))
    });
    let first = lines.next()?;
    let mut text = first.split_once(flag)?.1.to_string();
    for line in lines.take_while(|line| !line.trim_start().starts_with('-')) {
        text.push(' ');
        text.push_str(line);
    }
    let words: Vec<&str> = text
        .split(|c: char| c.is_whitespace() || "();,[]".contains(c))
        .filter(|w| !w.is_empty())
        .collect();
    words.windows(3).rev().find_map(|w| {
        let number = |s: &str| s.parse::<f64>().is_ok_and(f64::is_finite);
        (w[1] == "to" && number(w[0]) && number(w[2])).then(|| (w[0].to_string(), w[2].to_string()))
    })
}

/// Makes a lesson's output stable enough to snapshot.
///
/// - Measured durations become `‹t›`: every duration in an event line or on the picture's time
///   axis, and elsewhere any duration right after the word `took` (or `mean`, `p50`, `p99`). Planned durations (`each job
///   takes 100 ms`) stay, so the snapshot still pins them.
/// - `worker N` becomes `worker ?` everywhere except in the run picture's row labels: which
///   worker takes which job is up to the scheduler.
/// - Within each block of lines that start with `  [` (the events printed while the pool runs),
///   lines are sorted by their phase word and job number, since concurrent workers print them in
///   whatever order they happen to run. A line saying so heads the sorted block.
/// - The run picture's rows (`worker N │…│`) keep their label but their track becomes `‹varies›`:
///   its boxes depend on timing. The picture's shape is tested separately.
pub fn normalize(output: &str) -> String {
    let mut lines: Vec<String> = Vec::new();
    let mut events: Vec<String> = Vec::new();
    // The line after the axis holds the run's measured length.
    let mut axis = false;
    for line in output.lines() {
        if line.starts_with("  [") {
            events.push(redact_workers(&redact_durations(line, true)));
            continue;
        }
        flush_events(&mut events, &mut lines);
        if let Some((label, _track)) = line.split_once(" │") {
            if label.starts_with("worker ") {
                lines.push(format!("{label} │‹varies›│"));
                continue;
            }
        }
        if line.trim_start().starts_with('└') {
            lines.push(line.trim_end_matches('┘').trim_end_matches('─').to_string() + "─…┘");
            axis = true;
            continue;
        }
        lines.push(redact_workers(&redact_durations(line, axis)));
        axis = false;
    }
    flush_events(&mut events, &mut lines);
    let mut text = lines.join("\n");
    text.push('\n');
    text
}

fn flush_events(events: &mut Vec<String>, lines: &mut Vec<String>) {
    if events.is_empty() {
        return;
    }
    events.sort_by_key(|line| event_key(line));
    lines.push("  (sorted for this snapshot; in a real run these lines interleave)".into());
    lines.append(events);
}

/// Sort key for an event line: its phase (the first of the verbs below it contains) then its
/// job id. Lines with neither (such as a breaker's state change) keep their printed order, which
/// the sort preserves because it is stable.
fn event_key(line: &str) -> (usize, u64) {
    const PHASES: [&str; 6] = [
        "took",
        "finished",
        "failed",
        "abandoned",
        "skipped",
        "stopped",
    ];
    let phase = PHASES
        .iter()
        .position(|p| line.contains(&format!(" {p} ")))
        .unwrap_or(PHASES.len());
    let job = line
        .split("job ")
        .nth(1)
        .and_then(|rest| {
            rest.split(|c: char| !c.is_ascii_digit())
                .next()
                .and_then(|d| d.parse().ok())
        })
        .unwrap_or(u64::MAX);
    (phase, job)
}

fn redact_workers(line: &str) -> String {
    let mut out = String::new();
    let mut rest = line;
    while let Some(i) = rest.find("worker ") {
        out.push_str(&rest[..i + "worker ".len()]);
        rest = &rest[i + "worker ".len()..];
        let digits = rest.chars().take_while(char::is_ascii_digit).count();
        if digits > 0 {
            out.push('?');
            rest = &rest[digits..];
        }
    }
    out.push_str(rest);
    out
}

/// Replaces durations with `‹t›`: all of them if `all`, else only those right after `took`.
fn redact_durations(line: &str, all: bool) -> String {
    let chars: Vec<char> = line.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        let at_word_start = i == 0 || !chars[i - 1].is_alphanumeric();
        if at_word_start && chars[i].is_ascii_digit() {
            let mut j = i;
            while j < chars.len() && (chars[j].is_ascii_digit() || chars[j] == '.') {
                j += 1;
            }
            let unit = ["ms", "µs", "s"].into_iter().find(|unit| {
                let unit: Vec<char> = unit.chars().collect();
                let end = j + 1 + unit.len();
                chars.get(j) == Some(&' ')
                    && chars.get(j + 1..end) == Some(&unit[..])
                    && chars.get(end).is_none_or(|c| !c.is_alphanumeric())
            });
            let measured = all
                || ["took", "mean", "p50", "p99"]
                    .iter()
                    .any(|word| out.trim_end().ends_with(word));
            if let (Some(unit), true) = (unit, measured) {
                // Padding that right-aligned the number varies with its width: drop it.
                while out.ends_with("  ") || out.ends_with("[ ") {
                    out.pop();
                }
                out.push_str("‹t›");
                i = j + 1 + unit.chars().count();
                continue;
            }
            out.extend(&chars[i..j]);
            i = j;
            continue;
        }
        out.push(chars[i]);
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_workers_are_redacted_and_events_sorted() {
        let raw = "start\n  [ 101 ms] worker 2 finished job 2\n  [   0 ms] worker 3 took job 2\n  [   1 ms] worker 1 took job 1\nthe run took  1.20 s (ideal 300 ms)\n";
        let expected = "start\n  (sorted for this snapshot; in a real run these lines interleave)\n  [‹t›] worker ? took job 1\n  [‹t›] worker ? took job 2\n  [‹t›] worker ? finished job 2\nthe run took ‹t› (ideal 300 ms)\n";
        assert_eq!(normalize(raw), expected);
    }

    #[test]
    fn picture_rows_keep_their_label() {
        let raw = "worker 1 │[1──]  │\nworker 2 │  [2─]│\n         └───────┘\n          0  4 ms\n";
        let got = normalize(raw);
        assert!(
            got.starts_with("worker 1 │‹varies›│\nworker 2 │‹varies›│\n"),
            "{got}"
        );
        assert!(got.contains("0 ‹t›"), "{got}");
    }

    #[test]
    fn the_documented_range_is_read_from_the_flags_description() {
        let help = "Options:\n      --workers <WORKERS>\n          How many workers (1 to 1024) \
                    [default: 3]\n      --rate <RATE>\n          Jobs a second, in bursts of 2 to 3\n          \
                    (0.001 to 1000000000)\n      --seed <SEED>\n          Seed\n";
        assert_eq!(
            documented_range(help, "--workers"),
            Some(("1".into(), "1024".into()))
        );
        assert_eq!(
            documented_range(help, "--rate"),
            Some(("0.001".into(), "1000000000".into()))
        );
        assert_eq!(documented_range(help, "--seed"), None);
        assert_eq!(documented_range(help, "--jobs"), None);
    }

    #[test]
    fn report_counts_reads_the_report_line() {
        let output = "intro 7\nReport: 12 submitted = 11 done + 1 failed + 0 abandoned; 3 late\n";
        assert_eq!(report_counts::<4>(output), [12, 11, 1, 0]);
    }

    #[test]
    #[should_panic(expected = "no report line")]
    fn report_counts_fails_without_a_report() {
        report_counts::<1>("nothing here");
    }

    #[test]
    fn a_gauge_tracks_the_peak() {
        let gauge = Gauge::new();
        let a = gauge.enter();
        let b = gauge.enter();
        drop(a);
        assert_eq!((gauge.now(), gauge.max()), (1, 2));
        drop(b);
        assert!(gauge.wait_for_peak(2, Duration::from_millis(1)));
        assert!(!gauge.wait_for_peak(3, Duration::from_millis(1)));
    }

    #[test]
    #[should_panic(expected = "never ran [3]")]
    fn run_counts_name_the_job_that_never_ran() {
        let counts = RunCounts::new();
        counts.ran(1);
        counts.ran(2);
        counts.assert_each_ran_once([1, 2, 3]);
    }

    #[test]
    #[should_panic(expected = "did not finish within")]
    fn within_fails_instead_of_hanging() {
        within(
            Duration::from_millis(20),
            "a stuck job",
            "it sleeps",
            || std::thread::sleep(Duration::from_secs(2)),
        );
    }
}
