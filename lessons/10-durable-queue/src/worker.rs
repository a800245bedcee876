//! A worker process: one part decides which jobs run and remembers them (the queue, through
//! [`Store::turn`]); the other runs them (lesson 7's pool, unchanged).
//!
//! The loop claims only as many jobs as the pool has free threads, so no claimed job waits in
//! memory while its lease runs down; it renews the leases of the jobs it holds every third of a
//! lease; it records every finished attempt (effect and completion in one transaction); and on
//! a stop it claims no more, finishes what it holds, and hands back what a grace period did not
//! let it finish.
//!
//! It logs what it does through `tracing`: each event is a `tracing` event, inside a span per
//! claimed job ([`job_span`]) that carries the worker's name, the job's id and the attempt. How
//! the events are printed is the program's choice (`course_support::log`).

use crate::fault;
use crate::job::Claim;
use crate::store::{Finished, Recorded, Rescued, Store, StoreError, Turn};
use crossbeam_channel::RecvTimeoutError;
use lesson_7::{Ctx, Pool, Stop};
use std::collections::BTreeMap;
use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use tracing::{Level, Span, info_span};

/// How a worker process runs.
#[derive(Debug, Clone)]
pub struct Config {
    /// Its name in the `runs` table and in its output.
    pub name: String,
    /// Threads in its pool: the most jobs it holds at once.
    pub threads: usize,
    /// How long a claim lasts unless renewed.
    pub lease: Duration,
    /// The most jobs one turn claims (1: unbatched).
    pub claim_batch: usize,
    /// How long to wait before looking again when there was nothing to claim.
    pub poll: Duration,
    /// Leave once no job is waiting or running anywhere.
    pub exit_when_idle: bool,
    /// After a stop, how long running jobs may take before they are handed back.
    pub grace: Duration,
}

/// Something the worker did, for whoever prints it.
#[derive(Debug, Clone)]
pub enum Event {
    /// It claimed a job and gave it to the pool.
    Took(Claim),
    /// An attempt ended and was recorded (or refused: [`Recorded::LeaseLost`]).
    Finished {
        /// The job.
        id: i64,
        /// Which attempt.
        attempt: u32,
        /// What the job returned.
        result: Result<String, String>,
        /// What the queue made of it.
        recorded: Recorded,
    },
    /// It found a job whose worker was lost and put it back.
    Rescued(Rescued),
    /// A lease could not be renewed: another worker has the job now.
    LeaseLost(i64),
    /// A stop was asked for; this many jobs were still running.
    Stopping(usize),
    /// Jobs handed back unfinished when the grace period ran out.
    HandedBack(usize),
}

/// What the worker did in all.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Summary {
    /// Jobs claimed.
    pub claimed: u64,
    /// Attempts recorded as completed.
    pub completed: u64,
    /// Attempts recorded as failed (retry or discard).
    pub failed: u64,
    /// Jobs it rescued from lost workers.
    pub rescued: u64,
    /// Trips to the disk (write transactions).
    pub turns: u64,
}

// ANCHOR: log
/// The span of one attempt at one job, which every event about it is logged in, and the job's
/// own work runs in. It stands alone (`parent: None`) and names the worker itself: a log tool
/// then sees each attempt as a whole, rather than as a piece of one span as long as the process.
pub fn job_span(worker: &str, job: i64, attempt: u32) -> Span {
    info_span!(parent: None, "job", worker, job, attempt)
}

impl Event {
    /// How much an operator should care: `ERROR` for a job discarded (a person must look at
    /// it), `WARN` for a failed attempt, a lost lease or worker, or a job handed back, `INFO`
    /// for the rest. `RUST_LOG=warn` keeps just what went wrong.
    pub fn level(&self) -> Level {
        match self {
            Event::Took(_) | Event::Stopping(_) => Level::INFO,
            Event::Finished { recorded, .. } => match recorded {
                Recorded::Completed => Level::INFO,
                Recorded::Retry { .. } | Recorded::LeaseLost => Level::WARN,
                Recorded::Discarded => Level::ERROR,
            },
            Event::Rescued(r) if r.discarded => Level::ERROR,
            Event::Rescued(_) | Event::LeaseLost(_) | Event::HandedBack(_) => Level::WARN,
        }
    }
}

/// Logs `event` as a `tracing` event, in whichever span is entered: its message is the line the
/// lesson prints after `worker NAME`.
fn log(event: &Event) {
    match event.level() {
        Level::ERROR => tracing::error!("{event}"),
        Level::WARN => tracing::warn!("{event}"),
        _ => tracing::info!("{event}"),
    }
}
// ANCHOR_END: log

/// One event as a worker prints it, after `worker NAME `.
impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Event::Took(c) => {
                write!(
                    f,
                    "took job {} (attempt {} of {}",
                    c.id, c.attempt, c.max_attempts
                )?;
                if c.previous_error
                    .as_deref()
                    .is_some_and(|e| e.contains("lease ran out"))
                {
                    write!(f, "; attempt {}'s lease ran out", c.attempt - 1)?;
                }
                f.write_str(")")
            }
            Event::Finished {
                id,
                attempt,
                result,
                recorded,
            } => match (recorded, result) {
                (Recorded::Completed, Ok(out)) => write!(f, "finished job {id}: result {out}"),
                (Recorded::Retry { delay, .. }, Err(e)) => write!(
                    f,
                    "failed job {id} (attempt {attempt}): {e}; retry in {}",
                    course_support::human(*delay)
                ),
                (Recorded::Discarded, Err(e)) => write!(
                    f,
                    "failed job {id} (attempt {attempt}): {e}; no attempts left: discarded"
                ),
                (Recorded::LeaseLost, _) => write!(
                    f,
                    "finished job {id} too late: its lease was lost, nothing written"
                ),
                (recorded, result) => write!(f, "finished job {id}: {result:?} → {recorded:?}"),
            },
            Event::Rescued(r) => write!(
                f,
                "put back job {} (attempt {}'s lease ran out){}",
                r.id,
                r.attempt,
                if r.discarded {
                    ": no attempts left, discarded"
                } else {
                    ""
                }
            ),
            Event::LeaseLost(id) => write!(f, "lost its lease on job {id}: another worker has it"),
            Event::Stopping(n) => write!(f, "stopping: claims nothing more, finishes {n} running"),
            Event::HandedBack(n) => write!(f, "handed back {n} unfinished jobs"),
        }
    }
}

/// An attempt the pool has finished, on its way back to the loop.
struct Done {
    id: i64,
    token: i64,
    attempt: u32,
    result: Result<String, String>,
}

// ANCHOR: worker
/// Runs jobs from `store` with `work` until `stop` is set (or, with `exit_when_idle`, until the
/// queue is empty), logging everything it does and calling `on_event` for it.
pub fn run<F>(
    mut store: Store,
    config: &Config,
    work: F,
    stop: &AtomicBool,
    mut on_event: impl FnMut(Event),
) -> Result<Summary, StoreError>
where
    F: Fn(&Claim, &Ctx) -> Result<String, String> + Send + Sync + 'static,
{
    let (done, finished_rx) = crossbeam_channel::unbounded::<Done>();
    // The queue has a place for every thread, and the loop never holds more jobs than threads,
    // so `submit` never waits.
    let pool = Pool::builder()
        .workers(config.threads)
        .queue(config.threads)
        .build(move |(claim, span): &(Claim, Span), ctx: &Ctx| {
            // A panicking job is a failed attempt like any other, retried with backoff. It runs
            // in its span: whatever the work logs is about this attempt.
            let result = span
                .in_scope(|| catch_unwind(AssertUnwindSafe(|| work(claim, ctx))))
                .unwrap_or_else(|_| Err("the job panicked".to_string()));
            // The loop outlives the pool, so the receiver is there.
            let _ = done.send(Done {
                id: claim.id,
                token: claim.token,
                attempt: claim.attempt,
                result,
            });
            Ok(())
        })
        .expect("the caller checked the thread count");
    let mut held: BTreeMap<i64, i64> = BTreeMap::new();
    // The span of each job held, from its claim until its attempt is recorded.
    let mut spans: BTreeMap<i64, Span> = BTreeMap::new();
    let mut ended: Vec<Done> = Vec::new();
    let mut summary = Summary::default();
    let mut renewed = Instant::now();
    let mut stopping_since: Option<Instant> = None;
    // What is not about one job is logged in the worker's span.
    let _worker = info_span!("worker", worker = config.name.as_str()).entered();
    let mut report = |event: Event| {
        log(&event);
        on_event(event);
    };
    loop {
        ended.extend(finished_rx.try_iter());
        if stop.load(Ordering::Acquire) && stopping_since.is_none() {
            stopping_since = Some(Instant::now());
            report(Event::Stopping(held.len() - ended.len()));
        }
        let running = held.len() - ended.len();
        let room = match stopping_since {
            Some(_) => 0,
            None => (config.threads - running).min(config.claim_batch),
        };
        let renew_due = running > 0 && renewed.elapsed() >= config.lease / 3;
        if !ended.is_empty() || room > 0 || renew_due {
            let finished: Vec<Finished> = ended
                .iter()
                .map(|d| Finished {
                    id: d.id,
                    token: d.token,
                    result: d.result.clone(),
                })
                .collect();
            let renew: Vec<(i64, i64)> = if renew_due {
                let over: Vec<i64> = ended.iter().map(|d| d.id).collect();
                held.iter()
                    .filter(|(id, _)| !over.contains(id))
                    .map(|(id, token)| (*id, *token))
                    .collect()
            } else {
                Vec::new()
            };
            if !finished.is_empty() {
                fault::point("before-commit");
            }
            let turn = Turn {
                finished: &finished,
                renew: &renew,
                claim: room,
            };
            let out = store.turn(&config.name, config.lease, &turn)?;
            summary.turns += 1;
            if renew_due {
                renewed = Instant::now();
            }
            for (d, recorded) in ended.drain(..).zip(out.recorded) {
                held.remove(&d.id);
                match recorded {
                    Recorded::Completed => summary.completed += 1,
                    Recorded::Retry { .. } | Recorded::Discarded => summary.failed += 1,
                    Recorded::LeaseLost => {}
                }
                // The attempt is over: its span closes once this event is logged in it.
                let span = spans.remove(&d.id).unwrap_or_else(Span::none);
                span.in_scope(|| {
                    report(Event::Finished {
                        id: d.id,
                        attempt: d.attempt,
                        result: d.result,
                        recorded,
                    })
                });
            }
            for (id, _) in out.lost {
                let span = spans.get(&id).cloned().unwrap_or_else(Span::none);
                span.in_scope(|| report(Event::LeaseLost(id)));
            }
            for rescued in out.rescued {
                summary.rescued += 1;
                // Another worker's attempt, logged in a span of its own for that job.
                let span = job_span(&config.name, rescued.id, rescued.attempt);
                span.in_scope(|| report(Event::Rescued(rescued)));
            }
            let claimed_any = !out.claimed.is_empty();
            for claim in out.claimed {
                summary.claimed += 1;
                held.insert(claim.id, claim.token);
                let span = job_span(&config.name, claim.id, claim.attempt);
                spans.insert(claim.id, span.clone());
                span.in_scope(|| report(Event::Took(claim.clone())));
                fault::point("after-claim");
                if let Err(refused) = pool.submit((claim, span)) {
                    unreachable!("the pool has room for job {}", refused.job.0.id);
                }
            }
            if claimed_any || !finished.is_empty() {
                // Something moved: there may be more to do at once.
                continue;
            }
        }
        if held.is_empty() {
            if stopping_since.is_some() {
                break;
            }
            if config.exit_when_idle && store.counts()?.unfinished() == 0 {
                break;
            }
        }
        if let Some(since) = stopping_since {
            if since.elapsed() >= config.grace {
                let unfinished: Vec<(i64, i64)> = held.iter().map(|(i, t)| (*i, *t)).collect();
                let n = store.hand_back(&unfinished)?;
                report(Event::HandedBack(n));
                // Running jobs see `is_cancelled` and stop; what they return is not recorded.
                pool.shutdown(Stop::Abort, None);
                return Ok(summary);
            }
        }
        // Nothing to do now: wait for a job to end, the next poll, or the next renewal.
        let next_renewal = (config.lease / 3).saturating_sub(renewed.elapsed());
        let wait = if running > 0 {
            config.poll.min(next_renewal)
        } else {
            config.poll
        };
        match finished_rx.recv_timeout(wait) {
            Ok(d) => ended.push(d),
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => unreachable!("the pool holds the sender"),
        }
    }
    pool.shutdown(Stop::Drain, None);
    Ok(summary)
}
// ANCHOR_END: worker
