//! A circuit breaker: when jobs keep failing, stop sending more for a while, then try a few.
//!
//! ```text
//!            N failures in a row               cool-down over: admit a probe
//!  Closed ─────────────────────────▶ Open ──────────────────────────────▶ HalfOpen
//!    ▲                                ▲                                      │
//!    │                                └────────── a probe fails ─────────────┤
//!    └──────────────────────── every probe succeeds ────────────────────────┘
//! ```
//!
//! It trips on *consecutive* failures rather than a failure ratio over a window: with the few
//! jobs a small pool runs, a ratio needs a window long enough to be meaningful, and a streak is
//! the clearer sign that the thing behind the jobs is down. A busy service would use a ratio.

use crate::sync::{AtomicBool, Mutex, MutexGuard};
use std::fmt;
use std::sync::atomic::Ordering;
use std::time::Duration;

/// The breaker's three states.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Jobs go through; failures in a row are counted.
    Closed,
    /// Jobs are refused at once until the cool-down is over.
    Open,
    /// A few probe jobs are let through to see whether things have recovered.
    HalfOpen,
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            State::Closed => "closed",
            State::Open => "open",
            State::HalfOpen => "half-open",
        })
    }
}

/// How the breaker is tuned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BreakerConfig {
    /// Failures in a row that open the breaker (at least 1).
    pub failures: u32,
    /// How long it stays open before letting probes through.
    pub cooldown: Duration,
    /// Probes let through when half-open; all must succeed to close it (at least 1).
    pub probes: u32,
}

/// How a job got past the breaker; the job carries it, so its result is credited correctly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pass {
    /// Admitted while closed.
    Normal,
    /// Admitted as one of the probes of the given half-open spell. The spell number makes sure
    /// a late result from an earlier spell, which already ended, is not counted in this one.
    Probe(u64),
}

/// A change of state, for whoever narrates the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transition {
    /// The state before.
    pub from: State,
    /// The state after.
    pub to: State,
    /// When, on the pool's clock.
    pub at: Duration,
}

// ANCHOR: breaker
/// The breaker itself. A mutex keeps each transition whole, but the common case, closed with no
/// failures counted, is read from one atomic flag without taking it: a healthy pool pays almost
/// nothing for its breaker.
#[derive(Debug)]
pub struct Breaker {
    config: BreakerConfig,
    /// True while closed with a streak of 0; written only under the lock.
    healthy: AtomicBool,
    inner: Mutex<Inner>,
}

#[derive(Debug)]
struct Inner {
    state: State,
    /// Failures in a row while closed; any success resets it.
    streak: u32,
    /// When it last opened: the cool-down counts from here.
    opened_at: Duration,
    /// Probes let through since it went half-open.
    probes_out: u32,
    /// Probes that have come back successful.
    probes_ok: u32,
    /// Counts half-open spells, so each probe's result is credited to its own spell only.
    spell: u64,
}

impl Breaker {
    /// A closed breaker.
    pub fn new(config: BreakerConfig) -> Breaker {
        Breaker {
            config,
            healthy: AtomicBool::new(true),
            inner: Mutex::new(Inner {
                state: State::Closed,
                streak: 0,
                opened_at: Duration::ZERO,
                probes_out: 0,
                probes_ok: 0,
                spell: 0,
            }),
        }
    }

    /// The current state.
    pub fn state(&self) -> State {
        self.lock().state
    }

    /// Asks to let a job through at `now`. `Err` means refuse it; the transition, if any, is
    /// returned so the caller can report it.
    pub fn admit(&self, now: Duration) -> (Result<Pass, ()>, Option<Transition>) {
        if self.healthy.load(Ordering::Acquire) {
            return (Ok(Pass::Normal), None);
        }
        let mut inner = self.lock();
        match inner.state {
            State::Closed => (Ok(Pass::Normal), None),
            State::Open if now.saturating_sub(inner.opened_at) < self.config.cooldown => {
                (Err(()), None)
            }
            State::Open => {
                // The cool-down is over: this job is the first probe.
                inner.state = State::HalfOpen;
                inner.spell += 1;
                inner.probes_out = 1;
                inner.probes_ok = 0;
                let change = Transition {
                    from: State::Open,
                    to: State::HalfOpen,
                    at: now,
                };
                (Ok(Pass::Probe(inner.spell)), Some(change))
            }
            State::HalfOpen if inner.probes_out < self.config.probes => {
                inner.probes_out += 1;
                (Ok(Pass::Probe(inner.spell)), None)
            }
            // Enough probes are out; wait for their verdict.
            State::HalfOpen => (Err(()), None),
        }
    }

    /// Gives back a probe's place when its job was admitted but then not run (the queue was
    /// full, or the pool aborted before it started).
    pub fn release(&self, pass: Pass) {
        let mut inner = self.lock();
        if pass == Pass::Probe(inner.spell)
            && inner.state == State::HalfOpen
            && inner.probes_out > 0
        {
            inner.probes_out -= 1;
        }
    }

    /// Whether recording this result could change anything: a success while the breaker is
    /// closed with no failures counted cannot, so the pool skips reading the clock for it.
    pub fn would_notice(&self, ok: bool) -> bool {
        !(ok && self.healthy.load(Ordering::Acquire))
    }

    /// Records how a job that got through with `pass` ended.
    pub fn record(&self, pass: Pass, ok: bool, now: Duration) -> Option<Transition> {
        if ok && self.healthy.load(Ordering::Acquire) {
            // Closed with no failures counted: a success changes nothing.
            return None;
        }
        let mut inner = self.lock();
        let from = inner.state;
        match (inner.state, pass, ok) {
            (State::Closed, _, true) => inner.streak = 0,
            (State::Closed, _, false) => {
                inner.streak += 1;
                if inner.streak >= self.config.failures {
                    inner.open(now);
                }
            }
            (State::HalfOpen, Pass::Probe(spell), true) if spell == inner.spell => {
                inner.probes_ok += 1;
                if inner.probes_ok >= self.config.probes {
                    inner.state = State::Closed;
                    inner.streak = 0;
                }
            }
            // One failed probe is enough: open again, and the cool-down starts over.
            (State::HalfOpen, Pass::Probe(spell), false) if spell == inner.spell => inner.open(now),
            // Results of jobs admitted before the breaker opened say nothing about recovery.
            // So do probes of an earlier spell that come back late.
            (State::Open, _, _) | (State::HalfOpen, _, _) => {}
        }
        // Only here, under the lock, does the fast-path flag change.
        self.healthy.store(
            inner.state == State::Closed && inner.streak == 0,
            Ordering::Release,
        );
        (inner.state != from).then_some(Transition {
            from,
            to: inner.state,
            at: now,
        })
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // No code panics while holding this lock, so it cannot be poisoned.
        self.inner
            .lock()
            .expect("the breaker's lock is never poisoned")
    }
}

impl Inner {
    fn open(&mut self, now: Duration) {
        self.state = State::Open;
        self.opened_at = now;
        self.streak = 0;
        self.probes_out = 0;
        self.probes_ok = 0;
    }
}
// ANCHOR_END: breaker

#[cfg(test)]
mod tests;
