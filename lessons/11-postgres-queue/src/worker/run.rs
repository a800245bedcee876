//! The loop, as in lesson 10: claim what the pool has room for, renew the leases held, record
//! what finished, and on a stop claim no more, finish what is held, and hand back what the grace
//! period did not let finish. New: it sleeps until a notification or the fallback poll, runs
//! the rescuer, and reconnects when the connection is lost.

use super::listen::listen;
use super::log::log;
use super::reconnect::reconnect;
use super::{Config, Event, QueueEvent, Summary, job_span};
use crate::store::{Recorded, Store, StoreError, Turn};
use crossbeam_channel::{Receiver, select};
use lesson_7::{Ctx, Stop};
use lesson_10::fault;
use lesson_10::job::Claim;
use lesson_10::worker::{Done, finished_and_renewed, job_pool};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use tracing::{Span, info_span};

// ANCHOR: worker
/// Runs jobs from the queue with `work` until `stop` is set (or, with `exit_when_idle`, until the
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
    // Lesson 7's pool, built as lesson 10 builds it; finished attempts come back on finished_rx.
    let (pool, finished_rx) = job_pool(config.threads, work);
    // New: the listener, and the channel by which it wakes the loop.
    let (wake_tx, wake) = crossbeam_channel::bounded::<()>(1);
    let listening = Arc::new(AtomicBool::new(false));
    let listener = {
        let (url, stop) = (config.url.clone(), Arc::clone(&listening));
        std::thread::spawn(move || listen(url, wake_tx, stop))
    };
    let mut held: BTreeMap<i64, i64> = BTreeMap::new();
    let mut spans: BTreeMap<i64, Span> = BTreeMap::new();
    let mut ended: Vec<Done> = Vec::new();
    let mut summary = Summary::default();
    let mut renewed = Instant::now();
    let mut rescued_at = Instant::now() - config.rescue_every;
    let mut stopping_since: Option<Instant> = None;
    let _worker = info_span!("worker", worker = config.name.as_str()).entered();
    let mut report = |event: Event| {
        log(&event);
        on_event(event);
    };
    let result = loop {
        ended.extend(finished_rx.try_iter());
        if stop.load(Ordering::Acquire) && stopping_since.is_none() {
            stopping_since = Some(Instant::now());
            report(QueueEvent::Stopping(held.len() - ended.len()).into());
        }
        let running = held.len() - ended.len();
        let room = match stopping_since {
            Some(_) => 0,
            None => (config.threads - running).min(config.claim_batch),
        };
        let renew_due = running > 0 && renewed.elapsed() >= config.lease / 3;
        // New: the rescuer runs every `rescue_every`, in whichever worker's turn comes first.
        let rescue_due = rescued_at.elapsed() >= config.rescue_every;
        let mut moved = false;
        if !ended.is_empty() || room > 0 || renew_due || rescue_due {
            let (finished, renew) = finished_and_renewed(&ended, &held, renew_due);
            if !finished.is_empty() {
                fault::point("before-commit");
            }
            let turn = Turn {
                finished: &finished,
                renew: &renew,
                rescue: rescue_due,
                claim: room,
            };
            let out = match store.turn(&config.name, config.lease, &turn) {
                Ok(out) => out,
                // New: a lost connection is not the end. Connect again, then go round once
                // more: the results in `ended` are sent again, and a claim whose answer was
                // lost is handed back.
                Err(e) if e.is_connection_lost() => {
                    report(Event::Disconnected(e.to_string()));
                    match reconnect(config, &held, &mut report) {
                        Ok(s) => {
                            store = s;
                            summary.reconnects += 1;
                            continue;
                        }
                        Err(e) => break Err(e),
                    }
                }
                Err(e) => break Err(e),
            };
            summary.turns += 1;
            if renew_due {
                renewed = Instant::now();
            }
            if rescue_due {
                rescued_at = Instant::now();
            }
            moved = !finished.is_empty() || !out.claimed.is_empty();
            for (d, recorded) in ended.drain(..).zip(out.recorded) {
                held.remove(&d.id);
                match recorded {
                    Recorded::Completed => summary.completed += 1,
                    Recorded::Retry { .. } | Recorded::Discarded => summary.failed += 1,
                    Recorded::LeaseLost => {}
                }
                let span = spans.remove(&d.id).unwrap_or_else(Span::none);
                span.in_scope(|| {
                    report(
                        QueueEvent::Finished {
                            id: d.id,
                            attempt: d.attempt,
                            result: d.result,
                            recorded,
                        }
                        .into(),
                    )
                });
            }
            for (id, _) in out.lost {
                let span = spans.get(&id).cloned().unwrap_or_else(Span::none);
                span.in_scope(|| report(QueueEvent::LeaseLost(id).into()));
            }
            for rescued in out.rescued {
                summary.rescued += 1;
                let span = job_span(&config.name, rescued.id, rescued.attempt);
                span.in_scope(|| report(QueueEvent::Rescued(rescued).into()));
            }
            for claim in out.claimed {
                summary.claimed += 1;
                held.insert(claim.id, claim.token);
                let span = job_span(&config.name, claim.id, claim.attempt);
                spans.insert(claim.id, span.clone());
                span.in_scope(|| report(QueueEvent::Took(claim.clone()).into()));
                fault::point("after-claim");
                if let Err(refused) = pool.submit((claim, span)) {
                    unreachable!("the pool has room for job {}", refused.job.0.id);
                }
            }
        }
        if moved {
            continue;
        }
        if held.is_empty() {
            if stopping_since.is_some() {
                break Ok(());
            }
            if config.exit_when_idle {
                match store.counts() {
                    Ok(c) if c.unfinished() == 0 => break Ok(()),
                    Ok(_) => {}
                    Err(e) if e.is_connection_lost() => {
                        report(Event::Disconnected(e.to_string()));
                        match reconnect(config, &held, &mut report) {
                            Ok(s) => {
                                store = s;
                                summary.reconnects += 1;
                                continue;
                            }
                            Err(e) => break Err(e),
                        }
                    }
                    Err(e) => break Err(e),
                }
            }
        }
        if let Some(since) = stopping_since {
            if since.elapsed() >= config.grace {
                let unfinished: Vec<(i64, i64)> = held.iter().map(|(i, t)| (*i, *t)).collect();
                match store.hand_back(&unfinished) {
                    Ok(n) => report(QueueEvent::HandedBack(n).into()),
                    Err(e) => break Err(e),
                }
                pool.shutdown(Stop::Abort, None);
                listening.store(true, Ordering::Release);
                let _ = listener.join();
                return Ok(summary);
            }
        }
        // Nothing to do now: wait for a job to end, a notification, the next renewal or
        // rescue, or the fallback poll.
        let mut wait = config
            .poll
            .min(config.rescue_every.saturating_sub(rescued_at.elapsed()));
        if running > 0 {
            wait = wait.min((config.lease / 3).saturating_sub(renewed.elapsed()));
        }
        // The stop flag is read between waits: wake at least ten times a second to see it
        // (a wake-up that asks the server nothing).
        wait = wait.min(Duration::from_millis(100));
        wait_for(&finished_rx, &wake, wait, &mut ended, &mut summary);
    };
    pool.shutdown(Stop::Drain, None);
    listening.store(true, Ordering::Release);
    let _ = listener.join();
    result.map(|()| summary)
}
// ANCHOR_END: worker

/// Waits for a finished job or a notification, at most `wait`.
fn wait_for(
    finished: &Receiver<Done>,
    wake: &Receiver<()>,
    wait: Duration,
    ended: &mut Vec<Done>,
    summary: &mut Summary,
) {
    select! {
        recv(finished) -> d => {
            if let Ok(d) = d {
                ended.push(d);
            }
        }
        recv(wake) -> _ => summary.woken += 1,
        default(wait) => {}
    }
}
