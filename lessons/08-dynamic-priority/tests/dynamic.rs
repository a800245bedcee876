//! The dynamic pool's promises. Jobs that must be running at a given moment wait at a gate (a
//! channel whose sender the test drops to open it); every wait is bounded and says what probably
//! went wrong; every shutdown runs inside `within`.

use course_support::testing::{Gauge, Inside, RunCounts, within};
use crossbeam_channel::{Receiver, Sender};
use lesson_8::ConfigError;
use lesson_8::dynamic::{DynamicPool, Event, Limits, Report, Why};
use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(10);

fn limits(min: usize, max: usize, idle_ms: u64) -> Limits {
    Limits {
        min,
        max,
        idle: Duration::from_millis(idle_ms),
    }
}

/// Keeps its own count of live workers from the pool's events: a `Gauge` entered when a
/// worker starts and left when it retires, so `workers.max()` is the most ever alive at once.
struct Census {
    workers: &'static Gauge,
    inside: Mutex<HashMap<usize, Inside<'static>>>,
    log: Mutex<Vec<(usize, Why, bool)>>,
}

impl Census {
    fn new() -> Arc<Census> {
        Arc::new(Census {
            // Leaked so the guards can live in the map; one small gauge per test.
            workers: Box::leak(Box::new(Gauge::new())),
            inside: Mutex::new(HashMap::new()),
            log: Mutex::new(Vec::new()),
        })
    }

    fn see(&self, event: &Event) {
        match event {
            Event::Started { worker, alive, why } => {
                let guard = self.workers.enter();
                self.inside.lock().unwrap().insert(*worker, guard);
                assert_eq!(*alive, self.workers.now(), "the pool's count drifted");
                self.log.lock().unwrap().push((*worker, *why, true));
            }
            Event::Retired { worker, alive, why } => {
                let guard = self.inside.lock().unwrap().remove(worker);
                assert!(guard.is_some(), "worker {worker} retired but never started");
                drop(guard);
                assert_eq!(*alive, self.workers.now(), "the pool's count drifted");
                self.log.lock().unwrap().push((*worker, *why, false));
            }
            Event::Finished { .. } => {}
        }
    }

    fn count(&self, why: Why) -> usize {
        self.log
            .lock()
            .unwrap()
            .iter()
            .filter(|(_, w, _)| *w == why)
            .count()
    }

    /// The fewest workers alive after any retirement other than shutdown's.
    fn lowest_before_shutdown(&self) -> usize {
        let mut alive = 0usize;
        let mut lowest = usize::MAX;
        for (_, why, started) in self.log.lock().unwrap().iter() {
            if *started {
                alive += 1;
            } else {
                alive -= 1;
                if *why != Why::Shutdown {
                    lowest = lowest.min(alive);
                }
            }
        }
        lowest
    }
}

/// A job for these tests: its id, a gate to wait at, and whom to tell that it started.
#[derive(Debug)]
struct Job {
    id: u64,
    gate: Option<Receiver<()>>,
    started: Option<Sender<()>>,
}

fn pool_with(
    limits: Limits,
    census: &Arc<Census>,
    running: &Arc<Gauge>,
    counts: &Arc<RunCounts>,
) -> DynamicPool<Job> {
    let (census, running, counts) = (Arc::clone(census), Arc::clone(running), Arc::clone(counts));
    DynamicPool::observed(
        limits,
        move |event| census.see(event),
        move |job: &Job| {
            let _inside = running.enter();
            if let Some(started) = &job.started {
                let _ = started.send(());
            }
            if let Some(gate) = &job.gate {
                // Opened by the test dropping the sender; 10 s is only a safety net.
                let _ = gate.recv_timeout(LIMIT);
            }
            counts.ran(job.id);
        },
    )
    .expect("valid limits")
}

fn gated(
    ids: std::ops::RangeInclusive<u64>,
    gate: &Receiver<()>,
    started: &Sender<()>,
) -> Vec<Job> {
    ids.map(|id| Job {
        id,
        gate: Some(gate.clone()),
        started: Some(started.clone()),
    })
    .collect()
}

fn shut(pool: DynamicPool<Job>) -> Report {
    within(
        LIMIT,
        "shutdown",
        "a worker never saw the close: is every waiting worker notified?",
        move || pool.shutdown(),
    )
}

#[test]
fn nonsense_limits_are_refused_with_a_typed_error() {
    let refuse = |l: Limits| DynamicPool::new(l, |_: &u64| {}).err();
    assert_eq!(refuse(limits(0, 0, 10)), Some(ConfigError::NoWorkers));
    assert_eq!(
        refuse(limits(0, 5000, 10)),
        Some(ConfigError::TooManyWorkers(5000))
    );
    assert_eq!(
        refuse(limits(3, 2, 10)),
        Some(ConfigError::MinAboveMax { min: 3, max: 2 })
    );
    assert_eq!(refuse(limits(1, 2, 0)), Some(ConfigError::NoIdleTimeout));
    for error in [
        ConfigError::NoWorkers,
        ConfigError::MinAboveMax { min: 3, max: 2 },
    ] {
        assert!(!error.to_string().is_empty());
    }

    let pool = DynamicPool::new(limits(1, 2, 10), |_: &u64| {}).unwrap();
    assert_eq!(
        pool.resize(5, 4),
        Err(ConfigError::MinAboveMax { min: 5, max: 4 })
    );
    assert_eq!(pool.resize(0, 0), Err(ConfigError::NoWorkers));
    assert_eq!(
        pool.limits(),
        limits(1, 2, 10),
        "a refused resize changes nothing"
    );
    assert_eq!(pool.alive(), 1);
}

#[test]
fn it_grows_to_max_under_a_backlog_and_never_past_it() {
    let (census, running, counts) = (
        Census::new(),
        Arc::new(Gauge::new()),
        Arc::new(RunCounts::new()),
    );
    let pool = pool_with(limits(1, 4, 5_000), &census, &running, &counts);
    let (open, gate) = crossbeam_channel::bounded(0);
    let (started, _each) = crossbeam_channel::unbounded();
    for job in gated(1..=20, &gate, &started) {
        pool.submit(job).unwrap();
    }
    assert!(
        running.wait_for_peak(4, LIMIT),
        "4 jobs never ran at once: does a job that finds no free worker start one?"
    );
    assert_eq!(
        pool.alive(),
        4,
        "the backlog of 16 should hold the pool at max"
    );
    drop(open);
    let report = shut(pool);
    counts.assert_each_ran_once(1..=20);
    assert_eq!(running.max(), 4, "more jobs ran at once than max workers");
    assert_eq!(census.workers.max(), 4, "more than max workers were alive");
    assert_eq!(census.count(Why::Backlog), 3);
    assert_eq!(report.started, 4);
}

#[test]
fn idle_workers_retire_back_to_min() {
    let (census, running, counts) = (
        Census::new(),
        Arc::new(Gauge::new()),
        Arc::new(RunCounts::new()),
    );
    let pool = pool_with(limits(1, 4, 20), &census, &running, &counts);
    let (open, gate) = crossbeam_channel::bounded(0);
    let (started, _each) = crossbeam_channel::unbounded();
    for job in gated(1..=8, &gate, &started) {
        pool.submit(job).unwrap();
    }
    assert_eq!(pool.alive(), 4);
    drop(open);
    assert!(
        pool.wait_alive(1, LIMIT),
        "the pool did not shrink back to 1 worker within 10 s (it has {}): do idle workers time \
         out and retire?",
        pool.alive()
    );
    assert_eq!(
        census.count(Why::Idle),
        3,
        "three workers should retire idle"
    );
    let report = shut(pool);
    counts.assert_each_ran_once(1..=8);
    assert_eq!(report.retired_idle, 3);
}

#[test]
fn it_never_goes_below_min() {
    let (census, running, counts) = (
        Census::new(),
        Arc::new(Gauge::new()),
        Arc::new(RunCounts::new()),
    );
    let pool = pool_with(limits(2, 5, 5), &census, &running, &counts);
    let mut next = 1;
    for burst in [3u64, 7, 1, 5] {
        let (open, gate) = crossbeam_channel::bounded(0);
        let (started, _each) = crossbeam_channel::unbounded();
        for job in gated(next..=next + burst - 1, &gate, &started) {
            pool.submit(job).unwrap();
        }
        next += burst;
        drop(open);
        assert!(
            pool.wait_alive(2, LIMIT),
            "the pool did not settle at its minimum of 2 within 10 s (it has {})",
            pool.alive()
        );
    }
    // Many idle timeouts long: a worker that retired at the floor would show here.
    assert!(
        !pool.wait_alive(1, Duration::from_millis(100)),
        "a worker retired although only min were alive"
    );
    let report = shut(pool);
    counts.assert_each_ran_once(1..next);
    assert_eq!(
        census.lowest_before_shutdown(),
        2,
        "the pool went below min before shutdown"
    );
    assert!(census.workers.max() <= 5);
    assert_eq!(report.started, report.joined);
}

#[test]
fn resize_up_starts_workers_for_the_backlog_and_resize_down_retires_only_between_jobs() {
    let (census, running, counts) = (
        Census::new(),
        Arc::new(Gauge::new()),
        Arc::new(RunCounts::new()),
    );
    // A long idle timeout, so that every retirement here is the resize's doing.
    let pool = pool_with(limits(1, 2, 10_000), &census, &running, &counts);
    let (open, gate) = crossbeam_channel::bounded(0);
    let (started, each_started) = crossbeam_channel::unbounded();
    for job in gated(1..=6, &gate, &started) {
        pool.submit(job).unwrap();
    }
    assert_eq!(pool.alive(), 2, "max 2 holds the pool at 2");

    pool.resize(1, 6).unwrap();
    assert_eq!(
        pool.alive(),
        6,
        "resize up should start a worker for each waiting job at once"
    );
    for _ in 0..6 {
        each_started
            .recv_timeout(LIMIT)
            .expect("all 6 jobs should start once there are 6 workers");
    }

    pool.resize(1, 2).unwrap();
    assert_eq!(running.now(), 6, "every job is still running");
    assert!(
        !pool.wait_alive(5, Duration::from_millis(100)),
        "a worker retired while it was in the middle of a job"
    );
    drop(open);
    assert!(
        pool.wait_alive(2, LIMIT),
        "the surplus workers did not retire within 10 s of their jobs ending (alive: {})",
        pool.alive()
    );
    assert_eq!(census.count(Why::Surplus), 4);
    assert_eq!(census.count(Why::Idle), 0);

    // Raising the floor starts workers at once, with no job to ask for them.
    pool.resize(3, 4).unwrap();
    assert_eq!(pool.alive(), 3);
    assert_eq!(
        census.count(Why::Floor),
        2,
        "one at the start, one for the new floor"
    );
    let report = shut(pool);
    counts.assert_each_ran_once(1..=6);
    assert_eq!(census.workers.max(), 6);
    assert_eq!((report.started, report.retired_surplus), (7, 4));
}

#[test]
fn every_job_runs_exactly_once_while_workers_come_and_go() {
    let (census, running, counts) = (
        Census::new(),
        Arc::new(Gauge::new()),
        Arc::new(RunCounts::new()),
    );
    // A floor of 0 and a 1 ms idle timeout: workers retire and start all the time.
    let pool = Arc::new(pool_with(limits(0, 4, 1), &census, &running, &counts));
    let submitters: Vec<_> = (0..4u64)
        .map(|t| {
            let pool = Arc::clone(&pool);
            std::thread::spawn(move || {
                for i in 0..500u64 {
                    let job = Job {
                        id: t * 1_000 + i,
                        gate: None,
                        started: None,
                    };
                    pool.submit(job).expect("the pool is open");
                    if i % 50 == 0 {
                        // A pause long enough for some workers to time out.
                        std::thread::sleep(Duration::from_millis(3));
                    }
                }
            })
        })
        .collect();
    for s in submitters {
        s.join().unwrap();
    }
    let pool = Arc::into_inner(pool).expect("the submitters are done");
    let report = shut(pool);
    counts.assert_each_ran_once((0..4u64).flat_map(|t| (0..500).map(move |i| t * 1_000 + i)));
    assert_eq!(report.ran, 2_000);
    assert!(census.workers.max() <= 4, "more than max workers alive");
    assert!(running.max() <= 4);
    assert_eq!(report.started, report.joined);
}

#[test]
fn shutdown_drains_the_queue_and_joins_every_worker_ever_started() {
    let (census, counts) = (Census::new(), Arc::new(RunCounts::new()));
    // Dropped only when the pool's shared state is, which needs every worker to have let go.
    let sentinel = Arc::new(());
    let held = Arc::clone(&sentinel);
    let census_seen = Arc::clone(&census);
    let counted = Arc::clone(&counts);
    let pool = DynamicPool::observed(
        limits(1, 3, 5),
        move |event| census_seen.see(event),
        move |job: &Job| {
            let _keep = &held;
            if let Some(gate) = &job.gate {
                let _ = gate.recv_timeout(LIMIT);
            }
            counted.ran(job.id);
        },
    )
    .unwrap();
    // A burst, time to retire, then a queue that shutdown must drain.
    let (open, gate) = crossbeam_channel::bounded(0);
    let (started, _each) = crossbeam_channel::unbounded();
    for job in gated(1..=6, &gate, &started) {
        pool.submit(job).unwrap();
    }
    drop(open);
    assert!(pool.wait_alive(1, LIMIT), "idle workers did not retire");
    for id in 7..=60 {
        pool.submit(Job {
            id,
            gate: None,
            started: None,
        })
        .unwrap();
    }
    let report = shut(pool);
    counts.assert_each_ran_once(1..=60);
    assert_eq!(report.ran, 60);
    assert_eq!(report.started, report.joined, "a worker was never joined");
    let log = census.log.lock().unwrap();
    let started: BTreeSet<usize> = log.iter().filter(|e| e.2).map(|e| e.0).collect();
    let retired: BTreeSet<usize> = log.iter().filter(|e| !e.2).map(|e| e.0).collect();
    assert_eq!(
        started, retired,
        "every worker started should have left its loop"
    );
    assert_eq!(started.len(), report.started);
    assert_eq!(
        Arc::strong_count(&sentinel),
        1,
        "the handler is still alive after shutdown: a worker thread kept the pool"
    );
}

#[test]
fn a_panicking_job_does_not_take_its_worker_with_it() {
    let pool = DynamicPool::new(limits(1, 1, 1_000), |n: &u64| {
        assert!(*n != 2, "job 2 panics on purpose");
    })
    .unwrap();
    for n in 1..=3 {
        pool.submit(n).unwrap();
    }
    let report = within(
        LIMIT,
        "shutdown",
        "did the panic kill the only worker?",
        move || pool.shutdown(),
    );
    assert_eq!((report.ran, report.panicked), (3, 1));
    assert_eq!(
        report.started, 1,
        "the worker survived: no replacement was needed"
    );
}
