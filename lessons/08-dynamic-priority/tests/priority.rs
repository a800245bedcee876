//! The priority pool's promises. The order of jobs is read from `Ctx::pick`, the order in which
//! workers took them from the heap (decided under the pool's lock), so the checks hold however
//! the threads are scheduled. Every wait is bounded; every shutdown runs inside `within`.

use course_support::testing::{RunCounts, within};
use crossbeam_channel::{Receiver, Sender};
use lesson_8::ConfigError;
use lesson_8::priority::{Config, Priority, PriorityPool, Report, max_overtakers};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(10);
const GATE: Priority = Priority::MAX;
const HIGH: Priority = 9;
const LOW: Priority = 1;

/// A job for these tests: an optional gate to wait at, and an optional way to ask the producer
/// for one more arrival and wait until it is in the heap.
#[derive(Debug, Default)]
struct Job {
    gate: Option<Receiver<()>>,
    arrive: Option<(Sender<()>, Receiver<()>)>,
}

/// (pick, seq, priority) for every job, in the order they were picked.
type Order = Arc<Mutex<Vec<(u64, u64, Priority)>>>;

fn pool(workers: usize, aging: Option<u32>, order: &Order) -> PriorityPool<Job> {
    let order = Arc::clone(order);
    PriorityPool::new(Config { workers, aging }, move |job: &Job, ctx| {
        if let Some(gate) = &job.gate {
            // Opened when the test drops the sender; 10 s is only a safety net.
            let _ = gate.recv_timeout(LIMIT);
        }
        order
            .lock()
            .unwrap()
            .push((ctx.pick, ctx.seq, ctx.priority));
        if let Some((ask, arrived)) = &job.arrive {
            if ask.send(()).is_ok() {
                let _ = arrived.recv_timeout(LIMIT);
            }
        }
    })
    .expect("a valid configuration")
}

fn shut(pool: PriorityPool<Job>) -> Report {
    within(
        LIMIT,
        "shutdown",
        "a worker never saw the close, or a job is stuck at its gate",
        move || pool.shutdown(),
    )
}

fn sorted(order: &Order) -> Vec<(u64, u64, Priority)> {
    let mut order = order.lock().unwrap().clone();
    order.sort_unstable();
    order
}

/// Holds every worker with a gate job (picked first: nothing outranks `GATE`) and returns the
/// gate's sender; dropping it lets the workers go.
fn hold_workers(pool: &PriorityPool<Job>, workers: usize) -> Sender<()> {
    let (open, gate) = crossbeam_channel::bounded(0);
    for _ in 0..workers {
        pool.submit(
            GATE,
            Job {
                gate: Some(gate.clone()),
                ..Job::default()
            },
        )
        .unwrap();
    }
    open
}

#[test]
fn nonsense_configurations_are_refused_with_a_typed_error() {
    let refuse = |workers, aging| {
        PriorityPool::new(Config { workers, aging }, |_: &u64, _| {})
            .err()
            .expect("refused")
    };
    assert_eq!(refuse(0, None), ConfigError::NoWorkers);
    assert_eq!(refuse(5000, None), ConfigError::TooManyWorkers(5000));
    assert_eq!(refuse(2, Some(0)), ConfigError::BadAgingStep(0));
    assert_eq!(
        refuse(2, Some(2_000_000)),
        ConfigError::BadAgingStep(2_000_000)
    );
    assert!(refuse(2, Some(0)).to_string().contains("aging step"));
}

#[test]
fn higher_priority_runs_first_and_equal_priorities_in_submission_order() {
    for workers in [1, 3] {
        let order = Order::default();
        let pool = pool(workers, None, &order);
        let open = hold_workers(&pool, workers);
        // Priorities in a scrambled order, with repeats.
        let priorities: Vec<Priority> = (0..60u64).map(|i| ((i * 37) % 7) as Priority).collect();
        let first_seq = workers as u64 + 1;
        for p in &priorities {
            pool.submit(*p, Job::default()).unwrap();
        }
        drop(open);
        let report = shut(pool);
        assert_eq!(report.ran as usize, workers + 60);
        let ran: Vec<(u64, Priority)> = sorted(&order)
            .into_iter()
            .skip(workers)
            .map(|(_, seq, p)| (seq, p))
            .collect();
        let mut expected: Vec<(u64, Priority)> = priorities
            .iter()
            .enumerate()
            .map(|(i, p)| (first_seq + i as u64, *p))
            .collect();
        // Highest first; among equals, the one submitted first.
        expected.sort_by_key(|(seq, p)| (std::cmp::Reverse(*p), *seq));
        assert_eq!(
            ran, expected,
            "with {workers} workers, jobs were not picked by priority, then first-in, first-out"
        );
    }
}

/// Every worker held; then one low job, 10 high jobs, and a producer that adds one high job
/// each time a job runs, `high` in all. Returns the order of picks and the low job's id.
///
/// The heap always holds at least `10 - workers` high jobs until the producer stops: every pick
/// takes one out, and every running job puts one back before it ends.
fn constant_high_load(
    workers: usize,
    aging: Option<u32>,
    high: usize,
) -> (Vec<(u64, u64, Priority)>, u64) {
    let order = Order::default();
    let pool = Arc::new(pool(workers, aging, &order));
    let open = hold_workers(&pool, workers);
    let (ask, asked) = crossbeam_channel::unbounded::<()>();
    let (arrived_tx, arrived) = crossbeam_channel::unbounded::<()>();
    let job = || Job {
        gate: None,
        arrive: Some((ask.clone(), arrived.clone())),
    };
    let low = pool.submit(LOW, job()).unwrap();
    for _ in 0..10 {
        pool.submit(HIGH, job()).unwrap();
    }
    let producer = {
        let pool = Arc::clone(&pool);
        let template = job();
        std::thread::spawn(move || {
            for _ in 0..high {
                if asked.recv_timeout(LIMIT).is_err() {
                    panic!("no job asked for an arrival within 10 s: is a worker stuck?");
                }
                let (ask, arrived) = template.arrive.as_ref().unwrap();
                let next = Job {
                    gate: None,
                    arrive: Some((ask.clone(), arrived.clone())),
                };
                pool.submit(HIGH, next).unwrap();
                arrived_tx.send(()).unwrap();
            }
            // The load stops: from now on, jobs that ask get no arrival and need not wait.
            drop(arrived_tx);
        })
    };
    drop(open);
    within(
        LIMIT,
        "the producer",
        "a job never asked for its arrival",
        move || producer.join().unwrap(),
    );
    let pool = Arc::into_inner(pool).expect("the producer let go of the pool");
    let report = shut(pool);
    assert_eq!(report.ran as usize, workers + 11 + high);
    (sorted(&order), low)
}

/// How many high jobs submitted after `low` were picked before it.
fn passed_by_later_high(order: &[(u64, u64, Priority)], low: u64) -> usize {
    let low_pick = order
        .iter()
        .find(|(_, seq, _)| *seq == low)
        .expect("the low job ran")
        .0;
    order
        .iter()
        .filter(|(pick, seq, p)| *p == HIGH && *seq > low && *pick < low_pick)
        .count()
}

#[test]
fn without_aging_a_low_job_is_passed_over_while_high_jobs_keep_coming() {
    for workers in [1, 2, 3] {
        let high = 200;
        let (order, low) = constant_high_load(workers, None, high);
        let passed = passed_by_later_high(&order, low);
        assert_eq!(
            passed,
            10 + high,
            "with {workers} workers and strict priority, every later high job should pass the \
             low one: it starves for as long as the load lasts"
        );
        assert_eq!(
            order.last().unwrap().1,
            low,
            "the low job should run last, once the producer stops"
        );
    }
}

#[test]
fn with_aging_a_low_job_runs_after_at_most_k_later_high_jobs() {
    for (workers, step) in [(1, 4), (2, 4), (3, 2), (2, 10)] {
        let high = 200;
        let bound = max_overtakers(HIGH, LOW, step) as usize;
        let (order, low) = constant_high_load(workers, Some(step), high);
        let passed = passed_by_later_high(&order, low);
        assert!(
            passed <= bound,
            "with {workers} workers and aging every {step} arrivals, the low job was passed by \
             {passed} later high jobs; the bound is {bound}"
        );
        // Under load that never lets up, the bound is also reached: every high job submitted
        // within (HIGH - LOW) * step arrivals of the low one outranks it, and no other does.
        assert_eq!(
            passed, bound,
            "with {workers} workers and aging every {step} arrivals, the load should push the \
             low job exactly to its bound: was the heap ever empty of high jobs?"
        );
        let last_high = order.iter().filter(|o| o.2 == HIGH).map(|o| o.0).max();
        let low_pick = order.iter().find(|o| o.1 == low).unwrap().0;
        assert!(
            Some(low_pick) < last_high,
            "the low job should run while the high load is still going"
        );
    }
}

#[test]
fn every_job_runs_exactly_once() {
    let counts = Arc::new(RunCounts::new());
    let counted = Arc::clone(&counts);
    let pool = Arc::new(
        PriorityPool::new(
            Config {
                workers: 4,
                aging: Some(8),
            },
            move |id: &u64, _| counted.ran(*id),
        )
        .unwrap(),
    );
    let submitters: Vec<_> = (0..3u64)
        .map(|t| {
            let pool = Arc::clone(&pool);
            std::thread::spawn(move || {
                for i in 0..1_000u64 {
                    let id = t * 10_000 + i;
                    pool.submit((id % 11) as Priority, id).unwrap();
                }
            })
        })
        .collect();
    for s in submitters {
        s.join().unwrap();
    }
    let pool = Arc::into_inner(pool).expect("the submitters are done");
    let report = within(LIMIT, "shutdown", "a worker missed the close", move || {
        pool.shutdown()
    });
    counts.assert_each_ran_once((0..3u64).flat_map(|t| (0..1_000).map(move |i| t * 10_000 + i)));
    assert_eq!((report.ran, report.panicked), (3_000, 0));
}

#[test]
fn shutdown_runs_every_waiting_job_in_priority_order() {
    let order = Order::default();
    let pool = pool(1, None, &order);
    let open = hold_workers(&pool, 1);
    for p in [1, 5, 3] {
        pool.submit(p, Job::default()).unwrap();
    }
    // The gate job may or may not have been taken yet; the other three surely wait.
    assert!(pool.waiting() >= 3, "three jobs should be waiting");
    // Open the gate a moment after shutdown has begun: shutdown must still run all three.
    let opener = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(20));
        drop(open);
    });
    let report = shut(pool);
    opener.join().unwrap();
    assert_eq!(report.ran, 4);
    let priorities: Vec<Priority> = sorted(&order).iter().map(|o| o.2).collect();
    assert_eq!(priorities, [GATE, 5, 3, 1]);
}
