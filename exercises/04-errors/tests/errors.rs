//! The tests for exercise 4. They run against your code in `exercises/04-errors` and against
//! the finished version in `solutions/04-errors`.

use course_support::testing::{RunCounts, within};
use errors::{Report, run_all};
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(5);
const HANG: &str = "is a results Sender still alive, so the results loop never ends? Drop your \
                    own once every worker has a clone. Or does the results loop stop early (at \
                    the first failure?) while workers still have results to send?";

/// The work in most tests: doubles its input, and fails on multiples of 4.
fn double_unless_multiple_of_4(input: u64) -> Result<u64, String> {
    if input % 4 == 0 {
        Err(format!("{input} is a multiple of 4"))
    } else {
        Ok(input * 2)
    }
}

/// Jobs `1..=n`, with the id as input.
fn jobs(n: u64) -> Vec<(u64, u64)> {
    (1..=n).map(|id| (id, id)).collect()
}

/// Runs `run_all` within the time limit.
fn run_checked<F>(workers: usize, jobs: Vec<(u64, u64)>, f: F) -> Report
where
    F: Fn(u64) -> Result<u64, String> + Sync + Send + 'static,
{
    within(LIMIT, "run_all", HANG, move || run_all(workers, jobs, f))
}

/// Like [`run_checked`], but a panic inside `run_all` fails the test saying what it most likely
/// means when a job has failed.
fn run_after_a_failure<F>(workers: usize, jobs: Vec<(u64, u64)>, f: F) -> Report
where
    F: Fn(u64) -> Result<u64, String> + Sync + Send + 'static,
{
    let outcome = within(LIMIT, "run_all", HANG, move || {
        std::panic::catch_unwind(AssertUnwindSafe(|| run_all(workers, jobs, f)))
    });
    outcome.unwrap_or_else(|panic| {
        let why = panic
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| panic.downcast_ref::<&str>().copied())
            .unwrap_or("no message");
        panic!(
            "run_all panicked ({why}) with {workers} worker(s) after job 1 failed: did a worker \
             stop at the failed job? A failure is a result to send back like any other; if a \
             worker quits early, the jobs behind it have nobody to take them"
        )
    })
}

#[test]
fn every_job_lands_in_exactly_one_list() {
    let counts = Arc::new(RunCounts::new());
    let seen = Arc::clone(&counts);
    let report = run_checked(3, jobs(60), move |input| {
        seen.ran(input);
        double_unless_multiple_of_4(input)
    });
    counts.assert_each_ran_once(1..=60);

    let mut ids: Vec<u64> = report.answers.iter().map(|&(id, _)| id).collect();
    ids.extend(report.failures.iter().map(|&(id, _)| id));
    let in_both: Vec<u64> = report
        .answers
        .iter()
        .map(|&(id, _)| id)
        .filter(|id| report.failures.iter().any(|&(f, _)| f == *id))
        .collect();
    assert!(
        in_both.is_empty(),
        "jobs {in_both:?} are in both answers and failures: a job either succeeded or failed, \
         so each result goes into exactly one list"
    );
    ids.sort_unstable();
    let repeated: Vec<u64> = ids
        .windows(2)
        .filter(|w| w[0] == w[1])
        .map(|w| w[0])
        .collect();
    assert!(
        repeated.is_empty(),
        "jobs {repeated:?} appear more than once: record each result once"
    );
    let missing: Vec<u64> = (1..=60)
        .filter(|id| ids.binary_search(id).is_err())
        .collect();
    assert!(
        missing.is_empty(),
        "jobs {missing:?} are in neither list: every job's result, answer or error, must come \
         back and be recorded"
    );
    let answers: Vec<(u64, u64)> = (1..=60)
        .filter(|n| n % 4 != 0)
        .map(|n| (n, n * 2))
        .collect();
    assert_eq!(report.answers, answers, "the answers, sorted by job id");
}

#[test]
fn a_failing_job_does_not_stop_the_others() {
    for workers in [1, 3] {
        let counts = Arc::new(RunCounts::new());
        let seen = Arc::clone(&counts);
        let report = run_after_a_failure(workers, jobs(20), move |input| {
            seen.ran(input);
            if input == 1 {
                Err("job 1 fails first".to_string())
            } else {
                Ok(input)
            }
        });
        let answered = report.answers.len();
        assert!(
            answered <= 19,
            "with {workers} worker(s), {answered} answers for 19 jobs that succeeded: is a \
             failure recorded as an answer too? Each result goes into exactly one list"
        );
        assert_eq!(
            answered, 19,
            "with {workers} worker(s), job 1 failed and only {answered} of the other 19 jobs \
             have an answer: a failure is a result to send back, not a reason to stop (no `?`, \
             `break` or `return` on an `Err` in the worker's loop or in the results loop)"
        );
        assert_eq!(
            report.failures,
            [(1, "job 1 fails first".to_string())],
            "job 1's failure belongs in `failures`"
        );
        counts.assert_each_ran_once(1..=20);
    }
}

#[test]
fn failures_keep_their_exact_error_text() {
    let report = run_checked(2, jobs(12), double_unless_multiple_of_4);
    assert_eq!(
        report.failures,
        [
            (4, "4 is a multiple of 4".to_string()),
            (8, "8 is a multiple of 4".to_string()),
            (12, "12 is a multiple of 4".to_string()),
        ],
        "each failure holds the `String` its job returned, unchanged: not replaced, not \
         wrapped in more words, not formatted with `{{:?}}`"
    );
}

#[test]
fn both_lists_are_sorted_by_job_id() {
    let ids = [40, 9, 12, 3, 28, 1, 16, 21, 8, 33, 4, 14];
    let scrambled: Vec<(u64, u64)> = ids.iter().map(|&id| (id, id)).collect();
    let report = run_checked(3, scrambled, double_unless_multiple_of_4);
    let answer_ids: Vec<u64> = report.answers.iter().map(|&(id, _)| id).collect();
    let failure_ids: Vec<u64> = report.failures.iter().map(|&(id, _)| id).collect();
    assert_eq!(
        answer_ids,
        [1, 3, 9, 14, 21, 33],
        "answers must be sorted by job id (the jobs came in as {ids:?})"
    );
    assert_eq!(
        failure_ids,
        [4, 8, 12, 16, 28, 40],
        "failures must be sorted by job id too (the jobs came in as {ids:?})"
    );
}

#[test]
fn when_every_job_fails_every_job_still_runs() {
    let counts = Arc::new(RunCounts::new());
    let seen = Arc::clone(&counts);
    let report = run_checked(2, jobs(10), move |input| {
        seen.ran(input);
        Err(format!("no luck for {input}"))
    });
    counts.assert_each_ran_once(1..=10);
    assert!(
        report.answers.is_empty(),
        "no job succeeded, yet `answers` holds {:?}: a failure belongs in `failures` only",
        report.answers
    );
    let expected: Vec<(u64, String)> = (1..=10).map(|n| (n, format!("no luck for {n}"))).collect();
    assert_eq!(
        report.failures, expected,
        "all ten failures, in job order, each once"
    );
}

#[test]
fn no_jobs_means_an_empty_report_and_no_hang() {
    let report = run_checked(3, Vec::new(), double_unless_multiple_of_4);
    assert_eq!(report, Report::default(), "no jobs, nothing to report");
}

#[test]
fn each_result_stays_with_its_job_id_not_its_input() {
    // Ids and inputs differ, and the work makes bigger inputs smaller answers: a report keyed by
    // the input, or sorted by the answer, comes out wrong.
    let ids = [7, 2, 11, 5, 1, 9, 3, 12, 6, 10, 4, 8];
    let scrambled: Vec<(u64, u64)> = ids.iter().map(|&id| (id, 100 + 3 * id)).collect();
    let work = |input: u64| {
        if input % 4 == 0 {
            Err(format!("input {input} is a multiple of 4"))
        } else {
            Ok(1000 - input)
        }
    };
    let report = run_checked(3, scrambled, work);
    let mut sorted = ids.to_vec();
    sorted.sort_unstable();
    let answers: Vec<(u64, u64)> = sorted
        .iter()
        .filter_map(|&id| work(100 + 3 * id).ok().map(|a| (id, a)))
        .collect();
    let failures: Vec<(u64, String)> = sorted
        .iter()
        .filter_map(|&id| work(100 + 3 * id).err().map(|e| (id, e)))
        .collect();
    assert_eq!(
        report.answers, answers,
        "job id 1 has input 103, id 2 input 106, and so on: each answer is paired with its job's \
         id (not its input), and the list is sorted by id (not by answer)"
    );
    assert_eq!(
        report.failures, failures,
        "each failure is paired with its job's id (not its input), sorted by id"
    );
}

#[test]
fn a_job_that_panics_is_reported_not_hidden() {
    let outcome = std::panic::catch_unwind(|| {
        within(
            LIMIT,
            "run_all(2 workers, jobs 1..=10) where job 7 panics",
            "a worker that panics drops its senders as it unwinds, and the others carry on; \
             does your results loop wait on a sender you still hold?",
            || {
                run_all(2, jobs(10), |n| {
                    assert_ne!(n, 7, "job 7 panics on purpose");
                    Ok(n)
                })
            },
        )
    });
    if let Ok(report) = outcome {
        panic!(
            "job 7 panicked, yet run_all returned {report:?} as if all was well: a panic is not \
             an `Err` to record; let the scope report it (it panics when a thread it started \
             panicked and nobody joined it), or `.expect()` what `join()` returns"
        );
    }
}

#[test]
#[should_panic(expected = "at least one worker")]
fn zero_workers_panics_with_a_clear_message() {
    let report = within(
        LIMIT,
        "run_all(0 workers, 3 jobs)",
        "with no workers nobody ever takes a job: check `workers` first, with `assert!`",
        || run_all(0, jobs(3), double_unless_multiple_of_4),
    );
    panic!(
        "run_all(0, …) returned {report:?} instead of panicking: with no workers nothing can \
         run, so refuse 0 up front with `assert!(workers > 0, \"…\")` and the message from the \
         doc comment"
    );
}
