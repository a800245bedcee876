//! Promises about the pool's threads, checked by counting this process's threads. They live in
//! a test file of their own, with one `#[test]` that checks them in turn, so that no other
//! test's thread comes or goes while they count.

use course_support::testing::{threads_now, threads_settle, within};
use lesson_4::{Cause, Config, Pool};
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(10);

#[test]
fn the_pools_threads_end_with_it() {
    cancellation_wakes_workers_blocked_on_an_empty_queue();
    the_deadline_thread_ends_when_the_pool_shuts_down_before_it_fires();
}

fn cancellation_wakes_workers_blocked_on_an_empty_queue() {
    let before = threads_now();
    // The pool stays alive, so its queue never closes: only the token can end the workers.
    let pool = Pool::new(Config::default(), |_, _: &u64, _| Ok(()));
    assert!(threads_now() >= before + 4, "the pool starts 4 workers");
    pool.token().cancel(Cause::Requested);
    assert_eq!(
        threads_settle(before, LIMIT),
        Ok(()),
        "idle workers did not leave when the pool was cancelled: an idle worker must select! \
         on token.done() as well as on the queue"
    );
    let report = pool.shutdown();
    assert_eq!(
        (report.submitted, report.cause),
        (0, Some(Cause::Requested))
    );
}

fn the_deadline_thread_ends_when_the_pool_shuts_down_before_it_fires() {
    let before = threads_now();
    let report = within(
        LIMIT,
        "shutting down a pool with a one-minute deadline",
        "does shutdown wait for the deadline thread without first telling it the pool is over?",
        || {
            let config = Config {
                deadline: Some(Duration::from_secs(60)),
                ..Config::default()
            };
            let pool = Pool::new(config, |_, _: &u64, _| Ok(()));
            for job in 1..=10 {
                pool.submit(job).expect("nothing cancels this pool");
            }
            pool.shutdown()
        },
    );
    assert_eq!((report.completed(), report.cause), (10, None));
    assert_eq!(
        threads_settle(before, LIMIT),
        Ok(()),
        "a thread outlived the pool: is the deadline thread left waiting for its minute?"
    );
}
