//! The tests for exercise 8. They run against your code in `exercises/08-job-timeout` and
//! against the finished version in `solutions/08-job-timeout`.
//!
//! Timing is only ever compared across wide gaps (1 ms of work against a 2 s limit, 10 s
//! against 20 ms), so a busy machine cannot change a result.

use course_support::testing::within;
use crossbeam_channel::never;
use job_timeout::{Job, Outcome, run_with_timeout, wait_or_time_out};
use std::time::{Duration, Instant};

const LIMIT: Duration = Duration::from_secs(5);
const RUN_HANG: &str = "a job must end at its limit (no thread::sleep: select! on after(work) and \
                        after(limit)), and the run ends only once the queue is closed (its \
                        sender dropped) and your own results sender is dropped";
const SLEEPS: &str = "thread::sleep cannot be interrupted: select! on after(work), after(limit) \
                      and the cancel channel, so whichever comes first ends the wait";

/// Runs `f` on its own thread for at most [`LIMIT`], and says how long it took.
fn timed<T, F>(what: &str, hint: &str, f: F) -> (T, Duration)
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    within(LIMIT, what, hint, move || {
        let start = Instant::now();
        let value = f();
        (value, start.elapsed())
    })
}

/// The id of the `n`th job (from 1). Ids are not positions: a run must report `job.id`, not a
/// count of the jobs it has seen.
fn id(n: u64) -> u64 {
    100 + 7 * n
}

fn jobs(works: &[Duration]) -> Vec<Job> {
    works
        .iter()
        .zip(1..)
        .map(|(&work, n)| Job { id: id(n), work })
        .collect()
}

fn sorted(mut results: Vec<(u64, Outcome)>) -> Vec<(u64, Outcome)> {
    results.sort_unstable_by_key(|(id, _)| *id);
    results
}

#[test]
fn work_that_ends_before_the_limit_is_done() {
    let ((alone, beside_an_open_cancel), took) = timed(
        "1 ms of work with a 2 s limit",
        "once the work is done there is nothing more to wait for",
        || {
            // The sender stays alive: the cancel channel is open, and never ready.
            let (_sender, open) = crossbeam_channel::bounded::<()>(1);
            (
                wait_or_time_out(Duration::from_millis(1), Duration::from_secs(2), &never()),
                wait_or_time_out(Duration::from_millis(1), Duration::from_secs(2), &open),
            )
        },
    );
    assert_eq!(
        (alone, beside_an_open_cancel),
        (Outcome::Completed, Outcome::Completed),
        "1 ms of work ends long before a 2 s limit: is after(work) the arm that returns Completed, and \
         after(limit) the one that returns TimedOut?"
    );
    assert!(
        took < Duration::from_secs(1),
        "two 1 ms waits took {took:?}: return as soon as the work is done, without waiting out \
         the limit"
    );
}

#[test]
fn work_past_the_limit_times_out_at_the_limit() {
    let (outcome, took) = timed("10 s of work with a 20 ms limit", SLEEPS, || {
        wait_or_time_out(Duration::from_secs(10), Duration::from_millis(20), &never())
    });
    assert_eq!(
        outcome,
        Outcome::TimedOut,
        "10 s of work cannot end within a 20 ms limit: is after(limit) the arm that returns \
         TimedOut?"
    );
    assert!(
        took >= Duration::from_millis(20),
        "it gave up after {took:?}, before its 20 ms limit"
    );
    assert!(
        took < Duration::from_secs(1),
        "a 20 ms limit took {took:?} to notice: {SLEEPS}"
    );
}

#[test]
fn a_cancel_that_was_already_sent_wins_at_once() {
    let (outcome, took) = timed("a wait whose cancel was already sent", SLEEPS, || {
        let (cancel, cancelled) = crossbeam_channel::bounded(1);
        cancel.send(()).unwrap();
        wait_or_time_out(Duration::from_secs(10), Duration::from_secs(20), &cancelled)
    });
    assert_eq!(
        outcome,
        Outcome::Cancelled,
        "a cancel was waiting in the channel: is the cancel channel one of the select!'s arms?"
    );
    assert!(
        took < Duration::from_secs(1),
        "a cancel sent before the wait took {took:?} to notice"
    );
}

#[test]
fn a_cancel_channel_whose_senders_are_gone_counts_as_cancelled() {
    // Lesson 4's token cancels by dropping its only Sender: the receiver is then ready, with Err.
    let (outcome, _) = timed(
        "a wait on a disconnected cancel channel",
        "a channel whose senders are all gone is ready at once (recv returns Err): that is a \
         cancel too, not something to wait past. And a thread::sleep cannot be cut short by it: \
         select! on the cancel channel together with after(work) and after(limit)",
        || {
            let (cancel, cancelled) = crossbeam_channel::bounded::<()>(1);
            drop(cancel);
            wait_or_time_out(Duration::from_secs(10), Duration::from_secs(20), &cancelled)
        },
    );
    assert_eq!(
        outcome,
        Outcome::Cancelled,
        "recv on a channel whose senders are all gone returns Err at once: treat `recv(cancel) \
         -> _` as cancelled whatever it received"
    );
}

#[test]
fn a_cancel_sent_during_the_wait_ends_it() {
    let (outcome, took) = timed("a wait cancelled 200 ms in", SLEEPS, || {
        let (cancel, cancelled) = crossbeam_channel::bounded(1);
        // The scenario, not a synchronisation: the cancel arrives while the wait is under way
        // (or, on a very slow machine, before it; the answer is the same).
        let canceller = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(200));
            let _ = cancel.send(());
        });
        let outcome =
            wait_or_time_out(Duration::from_secs(10), Duration::from_secs(20), &cancelled);
        canceller.join().unwrap();
        outcome
    });
    assert_eq!(
        outcome,
        Outcome::Cancelled,
        "a cancel sent during the wait must end it: is the cancel channel one of the select!'s \
         arms (checking it once before waiting is not enough)?"
    );
    assert!(
        took < Duration::from_secs(1),
        "a cancel sent 200 ms in took {took:?} to be noticed"
    );
}

/// What the calling thread has cost so far, read from `/proc` (Linux only): its CPU time, and
/// how many times it went to sleep and was woken. `None` elsewhere: the test is then skipped.
fn thread_usage() -> Option<(Duration, u64)> {
    let stat = std::fs::read_to_string("/proc/thread-self/stat").ok()?;
    // Fields 14 and 15 (utime, stime), counted after the `(command)` field, in ticks of 10 ms.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    let status = std::fs::read_to_string("/proc/thread-self/status").ok()?;
    let sleeps = status
        .lines()
        .find_map(|l| l.strip_prefix("voluntary_ctxt_switches:"))?
        .trim()
        .parse()
        .ok()?;
    Some((Duration::from_millis(ticks * 10), sleeps))
}

#[test]
fn waiting_sleeps_until_something_happens() {
    let (usage, took) = timed("a 1 s time-out", SLEEPS, || {
        let (cpu, sleeps) = thread_usage()?;
        let outcome = wait_or_time_out(Duration::from_secs(10), Duration::from_secs(1), &never());
        assert_eq!(outcome, Outcome::TimedOut);
        let (cpu_after, sleeps_after) = thread_usage()?;
        Some((cpu_after - cpu, sleeps_after - sleeps))
    });
    let Some((cpu, wake_ups)) = usage else {
        eprintln!("skipped: this system does not report a thread's CPU time");
        return;
    };
    assert!(
        cpu < Duration::from_millis(150),
        "waiting {took:?} kept a CPU busy for {cpu:?}: a loop that checks the clock (or \
         try_recv) over and over spins; select! blocks the thread until one of its channels is \
         ready"
    );
    // select! sleeps once and wakes once; a loop that sleeps even 200 ms between checks wakes
    // the thread five times in a second.
    assert!(
        wake_ups < 5,
        "waiting {took:?} woke the thread {wake_ups} times: a loop that sleeps a little and \
         checks again is polling, and answers a cancel late; select! sleeps once, until one of \
         its channels is ready"
    );
}

#[test]
fn a_stuck_job_times_out_and_the_others_finish() {
    let mut works = vec![Duration::from_secs(10)];
    works.extend([Duration::from_millis(1); 7]);
    let (results, _) = timed(
        "run_with_timeout with a 10 s job and a 300 ms limit",
        RUN_HANG,
        move || run_with_timeout(2, jobs(&works), Duration::from_millis(300)),
    );
    let mut expected = vec![(id(1), Outcome::TimedOut)];
    expected.extend((2..=8).map(|n| (id(n), Outcome::Completed)));
    assert_eq!(
        sorted(results),
        expected,
        "job {} (10 s) times out at 300 ms; the other 7 (1 ms each) are done. Each result \
         carries its job's own id (job.id), not a count of jobs taken",
        id(1)
    );
}

#[test]
fn each_job_gets_its_own_limit_from_when_it_starts() {
    // One worker, ten 100 ms jobs, a 500 ms limit: the batch takes 1 s, but no single job comes
    // near its limit. A limit counted from the start of the run would time out the last five.
    let (results, _) = timed("ten 100 ms jobs on one worker", RUN_HANG, || {
        run_with_timeout(
            1,
            jobs(&[Duration::from_millis(100); 10]),
            Duration::from_millis(500),
        )
    });
    let expected: Vec<(u64, Outcome)> = (1..=10).map(|n| (id(n), Outcome::Completed)).collect();
    assert_eq!(
        sorted(results),
        expected,
        "every 100 ms job fits in its 500 ms limit: start each job's limit when the job starts \
         (make after(limit) inside the loop, per job, not once for the whole run)"
    );
}

#[test]
fn the_workers_run_side_by_side() {
    // Four workers and eight jobs that all time out at 250 ms: two rounds, so about 500 ms.
    // One worker at a time would take 2 s; a thread per job, 250 ms.
    let (results, took) = timed("eight stuck jobs on four workers", RUN_HANG, || {
        run_with_timeout(
            4,
            jobs(&[Duration::from_secs(10); 8]),
            Duration::from_millis(250),
        )
    });
    let expected: Vec<(u64, Outcome)> = (1..=8).map(|n| (id(n), Outcome::TimedOut)).collect();
    assert_eq!(sorted(results), expected);
    assert!(
        took >= Duration::from_millis(500),
        "eight 250 ms time-outs on 4 workers ended after {took:?}: more than 4 jobs ran at once. \
         Start `workers` threads that share one queue, not a thread per job"
    );
    assert!(
        took < Duration::from_millis(1600),
        "eight 250 ms time-outs on 4 workers took {took:?} (about 500 ms expected): do the \
         workers really run at the same time?"
    );
}

#[test]
fn every_job_is_reported_exactly_once() {
    let works: Vec<Duration> = (0..50).map(|i| Duration::from_millis(i % 3)).collect();
    let (results, _) = timed(
        "run_with_timeout with 50 short jobs",
        "is the queue closed (its sender dropped) once every job is in it, and your own results \
         sender dropped before you collect?",
        move || run_with_timeout(3, jobs(&works), Duration::from_secs(2)),
    );
    let expected: Vec<(u64, Outcome)> = (1..=50).map(|n| (id(n), Outcome::Completed)).collect();
    assert_eq!(
        sorted(results),
        expected,
        "one (job.id, Completed) per job, none missing, none twice"
    );
}

#[test]
fn no_jobs_means_no_results() {
    let (results, _) = timed(
        "run_with_timeout with no jobs",
        "with nothing to send, the queue must still be closed so the workers can stop",
        || run_with_timeout(2, Vec::new(), Duration::from_millis(10)),
    );
    assert!(results.is_empty());
}

#[test]
fn zero_workers_is_refused() {
    let outcome = within(
        LIMIT,
        "run_with_timeout with 0 workers",
        "with 0 workers nobody takes a job: refuse it with assert!(workers > 0, ...) first",
        || {
            std::panic::catch_unwind(|| {
                run_with_timeout(0, jobs(&[Duration::ZERO]), Duration::from_secs(1))
            })
        },
    );
    assert!(
        outcome.is_err(),
        "run_with_timeout(0, ..) returned {:?}: a pool of 0 workers should panic \
         (assert!(workers > 0, ...)), as its documentation says",
        outcome.ok()
    );
}
