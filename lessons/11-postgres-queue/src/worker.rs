//! A worker process, as in lesson 10: a loop that decides which jobs run and remembers them
//! (through the queue, one transaction a turn) and lesson 7's pool that runs them.
//!
//! New since lesson 10 (marked `// New:`): idle workers sleep until a `NOTIFY` says jobs arrived,
//! with a slow poll as a fallback; every few turns a worker runs the rescuer; and when the
//! connection is lost (the server restarted, the network failed) the worker reconnects with
//! backoff, hands back claims whose answer it never received, and sends its results again.
//!
//! It logs as lesson 10's does: a `tracing` event for each thing it does, inside a span per
//! claimed job (lesson 10's [`job_span`]) with the worker's name, the job's id and the attempt.

use crate::store::{self, CHANNEL, Finished, Recorded, Rescued, Store, StoreError, Turn};
use crossbeam_channel::{Receiver, select};
use lesson_7::{Ctx, Pool, Stop};
use lesson_10::backoff::Backoff;
use lesson_10::fault;
use lesson_10::job::Claim;
pub use lesson_10::worker::job_span;
use postgres::fallible_iterator::FallibleIterator as _;
use std::collections::BTreeMap;
use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use tracing::{Level, Span, info_span};

/// How a worker process runs.
#[derive(Debug, Clone)]
pub struct Config {
    /// New: the server, to connect again after losing it.
    pub url: String,
    /// Its name in the `runs` table and in its output; unique among the workers.
    pub name: String,
    /// Threads in its pool: the most jobs it holds at once.
    pub threads: usize,
    /// How long a claim lasts unless renewed.
    pub lease: Duration,
    /// The most jobs one turn claims (1: unbatched).
    pub claim_batch: usize,
    /// New: how long an idle worker sleeps if no notification wakes it (the fallback poll).
    pub poll: Duration,
    /// New: how often this worker runs the rescuer.
    pub rescue_every: Duration,
    /// Leave once no job is waiting or running anywhere.
    pub exit_when_idle: bool,
    /// After a stop, how long running jobs may take before they are handed back.
    pub grace: Duration,
    /// New: give up after the server has been unreachable this long.
    pub give_up_after: Duration,
    /// Backoff for jobs and for reconnecting.
    pub backoff: Backoff,
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
    /// Its rescuer found a job whose worker was lost and put it back.
    Rescued(Rescued),
    /// A lease could not be renewed: another worker has the job now.
    LeaseLost(i64),
    /// A stop was asked for; this many jobs were still running.
    Stopping(usize),
    /// Jobs handed back unfinished when the grace period ran out.
    HandedBack(usize),
    /// New: the connection was lost, and this is why.
    Disconnected(String),
    /// New: connected again after this long; `handed_back` claims whose answer was lost went
    /// back to the queue.
    Reconnected {
        /// How long the server was out of reach.
        after: Duration,
        /// How many tries it took.
        tries: u32,
        /// Claims found on the server that the worker never heard about.
        handed_back: usize,
    },
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
    /// Jobs its rescuer put back.
    pub rescued: u64,
    /// Trips to the server (write transactions).
    pub turns: u64,
    /// New: times it reconnected.
    pub reconnects: u64,
    /// New: notifications that woke it.
    pub woken: u64,
}

// ANCHOR: log
impl Event {
    /// How much an operator should care, as in lesson 10: `ERROR` for a job discarded, `WARN` for
    /// a failed attempt, a lost lease or worker, a job handed back or a reconnection, `DEBUG` for
    /// the lost connection itself (the reconnection says how long it took), `INFO` for the rest.
    pub fn level(&self) -> Level {
        match self {
            Event::Took(_) | Event::Stopping(_) => Level::INFO,
            Event::Finished { recorded, .. } => match recorded {
                Recorded::Completed => Level::INFO,
                Recorded::Retry { .. } | Recorded::LeaseLost => Level::WARN,
                Recorded::Discarded => Level::ERROR,
            },
            Event::Rescued(r) if r.discarded => Level::ERROR,
            Event::Rescued(_)
            | Event::LeaseLost(_)
            | Event::HandedBack(_)
            | Event::Reconnected { .. } => Level::WARN,
            Event::Disconnected(_) => Level::DEBUG,
        }
    }
}

/// Logs `event` as a `tracing` event, in whichever span is entered.
fn log(event: &Event) {
    match event.level() {
        Level::ERROR => tracing::error!("{event}"),
        Level::WARN => tracing::warn!("{event}"),
        Level::INFO => tracing::info!("{event}"),
        _ => tracing::debug!("{event}"),
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
            // Phrased with "abandoned", so the snapshot's sort puts these lines by job.
            Event::Rescued(r) => write!(
                f,
                "put back job {}, abandoned by its worker: attempt {}'s lease ran out{}",
                r.id,
                r.attempt,
                if r.discarded {
                    "; no attempts left, discarded"
                } else {
                    ""
                }
            ),
            Event::LeaseLost(id) => write!(f, "lost its lease on job {id}: another worker has it"),
            Event::Stopping(n) => write!(f, "stopping: claims nothing more, finishes {n} running"),
            Event::HandedBack(n) => write!(f, "handed back {n} unfinished jobs"),
            Event::Disconnected(why) => write!(f, "lost the server: {why}"),
            Event::Reconnected { after, .. } => write!(
                f,
                "stopped for {}: lost the server, reconnected with backoff",
                course_support::human(*after)
            ),
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

/// How often the listener looks whether its worker is leaving.
const STOP_CHECK: Duration = Duration::from_millis(25);

// ANCHOR: listen
/// New: a thread with a connection of its own that waits for `NOTIFY` and wakes the loop. A
/// notification says only "look now"; the loop's claim decides what there is. If the connection
/// breaks, it connects again; notifications sent meanwhile are lost, which is why the loop also
/// polls.
fn listen(url: String, wake: crossbeam_channel::Sender<()>, stop: Arc<AtomicBool>) {
    let mut backoff_try = 0;
    while !stop.load(Ordering::Acquire) {
        let Ok(mut client) = store::client(&url, Duration::from_secs(2)) else {
            backoff_try += 1;
            std::thread::sleep(Duration::from_millis(50 * backoff_try.min(20)));
            continue;
        };
        if client.batch_execute(&format!("LISTEN {CHANNEL}")).is_err() {
            continue;
        }
        backoff_try = 0;
        // Named, so a person (or a test) can see in pg_stat_activity that it is listening.
        let _ = client.batch_execute("SET application_name = 'lesson-11 listener'");
        // A notification may have come before LISTEN took effect: look once now.
        let _ = wake.try_send(());
        let mut quiet = Duration::ZERO;
        loop {
            if stop.load(Ordering::Acquire) {
                return;
            }
            // Short waits, so a worker that is leaving is not kept waiting for its listener.
            let next = client.notifications().timeout_iter(STOP_CHECK).next();
            match next {
                Ok(Some(_)) => {
                    quiet = Duration::ZERO;
                    // Many notifications, one wake-up: the channel holds one at most.
                    let _ = wake.try_send(());
                }
                Ok(None) => {
                    quiet += STOP_CHECK;
                    // Quiet for 250 ms: ask the server something, so a dead connection shows.
                    if quiet >= Duration::from_millis(250) {
                        quiet = Duration::ZERO;
                        if client.simple_query("").is_err() {
                            break;
                        }
                    }
                }
                Err(_) => break,
            }
        }
    }
}
// ANCHOR_END: listen

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
    let (done, finished_rx) = crossbeam_channel::unbounded::<Done>();
    let pool = Pool::builder()
        .workers(config.threads)
        .queue(config.threads)
        .build(move |(claim, span): &(Claim, Span), ctx: &Ctx| {
            let result = span
                .in_scope(|| catch_unwind(AssertUnwindSafe(|| work(claim, ctx))))
                .unwrap_or_else(|_| Err("the job panicked".to_string()));
            let _ = done.send(Done {
                id: claim.id,
                token: claim.token,
                attempt: claim.attempt,
                result,
            });
            Ok(())
        })
        .expect("the caller checked the thread count");
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
            report(Event::Stopping(held.len() - ended.len()));
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
                let span = job_span(&config.name, rescued.id, rescued.attempt);
                span.in_scope(|| report(Event::Rescued(rescued)));
            }
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
                    Ok(n) => report(Event::HandedBack(n)),
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

// ANCHOR: reconnect
/// New: connects again with backoff (full jitter, doubling up to 1 s) until the server answers
/// or `give_up_after` has passed. Then compares the claims the server says this worker holds
/// with the ones it knows of, and hands back the rest: they were claimed in a commit whose
/// answer was lost, so no thread of this worker is running them.
fn reconnect(
    config: &Config,
    held: &BTreeMap<i64, i64>,
    on_event: &mut impl FnMut(Event),
) -> Result<Store, StoreError> {
    let started = Instant::now();
    let retry = Backoff {
        base: Duration::from_millis(50),
        cap: Duration::from_secs(1),
        seed: config.backoff.seed,
    };
    let mut tries = 0;
    loop {
        tries += 1;
        let attempt = Store::connect(&config.url, config.backoff).and_then(|mut store| {
            let unknown: Vec<(i64, i64)> = store
                .held_by(&config.name)?
                .into_iter()
                .filter(|(id, token)| held.get(id) != Some(token))
                .collect();
            let handed_back = store.hand_back(&unknown)?;
            Ok((store, handed_back))
        });
        match attempt {
            Ok((store, handed_back)) => {
                on_event(Event::Reconnected {
                    after: started.elapsed(),
                    tries,
                    handed_back,
                });
                return Ok(store);
            }
            Err(e) if started.elapsed() >= config.give_up_after => return Err(e),
            Err(_) => std::thread::sleep(retry.delay(tries as i64, tries)),
        }
    }
}
// ANCHOR_END: reconnect
