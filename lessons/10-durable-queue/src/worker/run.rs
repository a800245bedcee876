//! The loop: claim what the pool has room for, renew the leases held, record what finished,
//! and on a stop claim no more, finish what is held, and hand back what the grace period did not
//! let finish.

use super::log::log;
use super::{Config, Event, Summary, job_span};
use crate::fault;
use crate::job::Claim;
use crate::store::{Finished, Recorded, Store, StoreError, Turn};
use crossbeam_channel::{Receiver, RecvTimeoutError};
use lesson_7::{Ctx, Pool, Stop};
use std::collections::BTreeMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;
use tracing::{Span, info_span};

/// An attempt the pool has finished, on its way back to the loop.
#[derive(Debug)]
pub struct Done {
    /// The job.
    pub id: i64,
    /// The claim's token, which recording the attempt needs.
    pub token: i64,
    /// Which attempt.
    pub attempt: u32,
    /// What the job returned.
    pub result: Result<String, String>,
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
    // Lesson 7's pool runs the jobs (`job_pool`, below); finished attempts come back here.
    let (pool, finished_rx) = job_pool(config.threads, work);
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
            let (finished, renew) = finished_and_renewed(&ended, &held, renew_due);
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

/// Lesson 7's pool with `threads` threads, running each claimed job with `work` inside the job's
/// span; every attempt it finishes comes back on the receiver. Lesson 11's worker runs its jobs
/// with it too.
pub fn job_pool<F>(threads: usize, work: F) -> (Pool<(Claim, Span)>, Receiver<Done>)
where
    F: Fn(&Claim, &Ctx) -> Result<String, String> + Send + Sync + 'static,
{
    let (done, finished_rx) = crossbeam_channel::unbounded::<Done>();
    // The queue has a place for every thread, and the loop never holds more jobs than threads,
    // so `submit` never waits.
    let pool = Pool::builder()
        .workers(threads)
        .queue(threads)
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
    (pool, finished_rx)
}

/// What a turn sends: the attempts that ended, to record, and when renewing is due the leases
/// of the jobs still running. Lesson 11's loop builds its turns with it too.
pub fn finished_and_renewed(
    ended: &[Done],
    held: &BTreeMap<i64, i64>,
    renew_due: bool,
) -> (Vec<Finished>, Vec<(i64, i64)>) {
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
    (finished, renew)
}
// ANCHOR_END: worker
