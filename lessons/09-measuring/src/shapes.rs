//! Every pool the lesson compares, behind one function, so the benchmarks and the quick table
//! run exactly the same code.

use crate::queues::{self, Handoff};
use crate::{batched, stealing, trivial};
use lesson_1::Log;
use std::sync::mpsc;
use std::time::Duration;

/// How many jobs the batched pool puts in one chunk.
pub const BATCH: usize = 256;

// ANCHOR: batch_for
/// How many chunks each worker gets, at least, when the job count is large: enough that a
/// worker that finishes early finds more, few enough that the hand-offs cost nothing.
pub const CHUNKS_PER_WORKER: usize = 32;

/// The chunk size for `jobs` jobs on `workers` workers: [`BATCH`] at least, and larger when
/// there are so many jobs that each worker would get more than [`CHUNKS_PER_WORKER`] chunks.
pub fn batch_for(workers: usize, jobs: u64) -> usize {
    let share = usize::try_from(jobs).unwrap_or(usize::MAX) / (workers.max(1) * CHUNKS_PER_WORKER);
    share.max(BATCH)
}
// ANCHOR_END: batch_for

/// The most job threads [`Shape::ThreadPerJob`] keeps alive at once.
pub const WAVE: u64 = course_support::cli::MAX_WORKERS as u64;

/// The queue bound of the bounded shapes: lesson 3's and lesson 7's default.
pub const BOUND: usize = 64;

/// One way to run `jobs` trivial jobs with `workers` threads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// Lesson 1's pool: crossbeam channels with room for every job, an answer per job.
    Lesson1,
    /// The Go article's shape: two channels with room for every job, bare numbers back.
    GoShape,
    /// Lesson 1's `std_only` pool: one `mpsc::Receiver` behind `Arc<Mutex<…>>`, unbounded.
    StdMutex,
    /// Lesson 7's pool, every feature on, rate limit far above what it can reach.
    Advanced,
    /// Lesson 7's pool as above, but with room for every job in its queue, as lesson 1 has:
    /// the features' cost without the bound's.
    AdvancedRoomy,
    /// Lesson 7's pool as [`Shape::Advanced`] has it, given every job in one `submit_all`,
    /// which hands them over in batches: the same features, a fraction of the hand-offs.
    AdvancedAll,
    /// Jobs sent in chunks of [`BATCH`] or more ([`batch_for`]).
    Batched,
    /// Work stealing on `crossbeam-deque`.
    Stealing,
    /// The `threadpool` crate: a boxed closure per job, answers through a channel.
    Threadpool,
    /// rayon's parallel iterator on a pool of `workers` threads.
    Rayon,
    /// No pool: a new thread for every job (at most [`WAVE`] alive at once).
    ThreadPerJob,
    /// Cloned crossbeam receivers, unbounded queue.
    CrossbeamUnbounded,
    /// Cloned crossbeam receivers, queue bounded to [`BOUND`].
    CrossbeamBounded,
    /// `Arc<Mutex<mpsc::Receiver>>`, unbounded queue.
    MutexUnbounded,
    /// `Arc<Mutex<mpsc::Receiver>>`, queue bounded to [`BOUND`] (`sync_channel`).
    MutexBounded,
}

impl Shape {
    /// The pools of the main comparison, lesson 1's first (the others are compared with it).
    pub const POOLS: [Shape; 11] = [
        Shape::Lesson1,
        Shape::GoShape,
        Shape::StdMutex,
        Shape::Advanced,
        Shape::AdvancedRoomy,
        Shape::AdvancedAll,
        Shape::Batched,
        Shape::Stealing,
        Shape::Threadpool,
        Shape::Rayon,
        Shape::ThreadPerJob,
    ];

    /// The two-by-two that separates the hand-off from the bound.
    pub const QUEUES: [Shape; 4] = [
        Shape::CrossbeamUnbounded,
        Shape::CrossbeamBounded,
        Shape::MutexUnbounded,
        Shape::MutexBounded,
    ];

    /// A short name: the benchmark id, and the value of the hidden `--measure-one` flag.
    pub fn id(self) -> &'static str {
        match self {
            Shape::Lesson1 => "lesson-1",
            Shape::GoShape => "go-shape",
            Shape::StdMutex => "std-mutex",
            Shape::Advanced => "advanced",
            Shape::AdvancedRoomy => "advanced-room",
            Shape::AdvancedAll => "advanced-all",
            Shape::Batched => "batched",
            Shape::Stealing => "stealing",
            Shape::Threadpool => "threadpool",
            Shape::Rayon => "rayon",
            Shape::ThreadPerJob => "thread-per-job",
            Shape::CrossbeamUnbounded => "crossbeam-unbounded",
            Shape::CrossbeamBounded => "crossbeam-bounded",
            Shape::MutexUnbounded => "mutex-unbounded",
            Shape::MutexBounded => "mutex-bounded",
        }
    }

    /// What a reader sees in a table or on a plot.
    pub fn label(self) -> &'static str {
        match self {
            Shape::Lesson1 => "lesson 1 pool (crossbeam)",
            Shape::GoShape => "the Go article's shape",
            Shape::StdMutex => "lesson 1 std-only (Mutex<Receiver>)",
            Shape::Advanced => "lesson 7 advanced (queue of 64)",
            Shape::AdvancedRoomy => "lesson 7 advanced (room for all)",
            Shape::AdvancedAll => "lesson 7 advanced (submit_all)",
            Shape::Batched => "batched pool (chunks of 256+)",
            Shape::Stealing => "work-stealing pool",
            Shape::Threadpool => "threadpool crate",
            Shape::Rayon => "rayon par_iter",
            Shape::ThreadPerJob => "a thread per job",
            Shape::CrossbeamUnbounded => "crossbeam, unbounded",
            Shape::CrossbeamBounded => "crossbeam, bounded 64",
            Shape::MutexUnbounded => "Mutex<Receiver>, unbounded",
            Shape::MutexBounded => "Mutex<Receiver>, bounded 64",
        }
    }

    // ANCHOR: run
    /// Starts the pool, runs the jobs `0..jobs` (each doubles its number), shuts the pool
    /// down, and returns how many jobs ran: always `jobs`, which the callers check.
    pub fn run(self, workers: usize, jobs: u64) -> u64 {
        let numbers = || (0..jobs).collect::<Vec<u64>>();
        match self {
            Shape::Lesson1 => lesson_1::run(workers, numbers(), trivial, Log::Quiet).len() as u64,
            Shape::GoShape => queues::two_channels(workers, jobs),
            Shape::StdMutex => lesson_1::std_only::run(workers, numbers(), trivial).len() as u64,
            Shape::Advanced => advanced(workers, BOUND, jobs),
            Shape::AdvancedRoomy => advanced(workers, jobs.max(1) as usize, jobs),
            Shape::AdvancedAll => advanced_all(workers, jobs),
            Shape::Batched => {
                batched::run(workers, batch_for(workers, jobs), numbers(), trivial).len() as u64
            }
            Shape::Stealing => stealing::run(workers, numbers(), trivial).len() as u64,
            Shape::Threadpool => {
                let pool = threadpool::ThreadPool::new(workers);
                let (tx, rx) = mpsc::channel();
                for n in 0..jobs {
                    let tx = tx.clone();
                    pool.execute(move || {
                        // The receiver below reads until every sender is gone.
                        let _ = tx.send(trivial(n));
                    });
                }
                drop(tx);
                rx.iter().count() as u64
            }
            Shape::Rayon => {
                use rayon::prelude::*;
                let pool = rayon::ThreadPoolBuilder::new()
                    .num_threads(workers)
                    .build()
                    .expect("rayon starts its threads");
                pool.install(|| (0..jobs).into_par_iter().map(trivial).collect::<Vec<_>>())
                    .len() as u64
            }
            Shape::ThreadPerJob => {
                // A new thread for every job, joined in waves of at most `WAVE` alive at
                // once: without the waves, `--jobs 200000` can exhaust the machine's threads
                // and memory, for this program and everything else running.
                let mut ran = 0;
                let mut next = 0;
                while next < jobs {
                    let wave = (jobs - next).min(WAVE);
                    let mut handles = Vec::with_capacity(wave as usize);
                    for n in next..next + wave {
                        match std::thread::Builder::new().spawn(move || trivial(n)) {
                            Ok(handle) => handles.push(handle),
                            // Refused: the count falls short, and the caller reports it.
                            Err(_) => break,
                        }
                    }
                    let started = handles.len() as u64;
                    for handle in handles {
                        std::hint::black_box(handle.join().expect("a job thread panicked"));
                        ran += 1;
                    }
                    if started < wave {
                        break;
                    }
                    next += wave;
                }
                ran
            }
            Shape::CrossbeamUnbounded => queues::run(Handoff::Crossbeam, None, workers, jobs),
            Shape::CrossbeamBounded => queues::run(Handoff::Crossbeam, Some(BOUND), workers, jobs),
            Shape::MutexUnbounded => queues::run(Handoff::Mutex, None, workers, jobs),
            Shape::MutexBounded => queues::run(Handoff::Mutex, Some(BOUND), workers, jobs),
        }
    }
    // ANCHOR_END: run
}

/// Lesson 7's pool as its own benchmark sets it up: a queue of `queue` jobs, a rate limit so
/// high that it never makes anyone wait (though every job still passes through it), a breaker,
/// and the metrics, which are always on.
fn advanced_pool(workers: usize, queue: usize) -> lesson_7::Pool<u64> {
    lesson_7::Pool::builder()
        .workers(workers)
        .queue(queue)
        .rate(lesson_7::MAX_RATE, u32::MAX)
        .breaker(lesson_7::BreakerConfig {
            failures: 5,
            cooldown: Duration::from_secs(1),
            probes: 1,
        })
        .build(|n: &u64, _| {
            std::hint::black_box(trivial(*n));
            Ok(())
        })
        .expect("a valid configuration")
}

/// Lesson 7's pool, one `submit` per job.
fn advanced(workers: usize, queue: usize, jobs: u64) -> u64 {
    let pool = advanced_pool(workers, queue);
    for n in 0..jobs {
        pool.submit(n).expect("nothing refuses a job here");
    }
    pool.shutdown(lesson_7::Stop::Drain, None).metrics.completed
}

/// Lesson 7's pool, every job in one `submit_all`.
fn advanced_all(workers: usize, jobs: u64) -> u64 {
    let pool = advanced_pool(workers, BOUND);
    pool.submit_all(0..jobs)
        .expect("nothing refuses a job here");
    pool.shutdown(lesson_7::Stop::Drain, None).metrics.completed
}
