// course: exercise
// //! # Exercise 14: a circuit breaker
// course: solution
//! # Exercise 14, solved: a circuit breaker
// course: end
//!
// course: exercise
// //! Lesson 7's pool stops sending jobs to a service that keeps failing, and tries again later with
// //! a few probes. Write that circuit breaker. A caller asks [`Breaker::allow`] before each call;
// //! it gets a [`Permit`], or is refused with [`Open`]. When the call is over, the caller hands the
// //! permit back to [`Breaker::record`] with the result. The breaker has three states:
// //!
// //! - **Closed**: every call is allowed. `failures` failures *in a row* open it; any success
// //!   resets the count to 0.
// //! - **Open**: every call is refused, until `cooldown` has passed since it opened (on its clock:
// //!   `now - opened_at >= cooldown`). Then the next call to `allow` makes it half-open and goes
// //!   through as the first probe.
// //! - **HalfOpen**: at most `probes` calls go through, as probes; the rest are refused. When
// //!   `probes` probes have succeeded, it closes (with a failure count of 0). If any probe fails,
// //!   it opens again, and the cool-down starts over from that moment.
// //!
// //! Which results count: a permit issued *before* the breaker last opened says nothing about
// //! whether the service has recovered, so its result must not count while the breaker is open or
// //! half-open. That covers a call let through while closed that comes back late, and a probe from
// //! an earlier half-open round. A [`Permit`] must carry what `record` needs to tell them apart.
// //!
// //! The breaker reads the time from the [`Clock`] it was given; the tests give it a
// //! [`ManualClock`]. It is shared between threads (every method takes `&self`), and several threads
// //! asking at the same moment while half-open must still get no more than `probes` permits
// //! between them. The fields of [`Breaker`] and [`Permit`] are yours to choose: replace the
// //! placeholders. Whether [`Breaker::state`] says `Open` or `HalfOpen` between the end of the
// //! cool-down and the next `allow` is up to you; the tests don't ask.
// //!
// //! Replace each `@todo()` and run `cargo test -p ex14-circuit-breaker` until it passes. Stuck?
// //! Run `cargo run -p course -- hint ex14-circuit-breaker`.
// course: solution
//! One `Mutex` around the state, so that every transition is whole. The state carries a round
//! number that moves on at every change of state, and every permit carries the round it was
//! issued in: `record` ignores a permit from an earlier round, which is exactly a call let
//! through before the breaker last opened (or a probe from an earlier half-open spell).
// course: end

use std::fmt::Debug;
// course: exercise
// use std::sync::Arc;
// course: end
use std::sync::atomic::{AtomicU64, Ordering};
// course: solution
use std::sync::{Arc, Mutex, MutexGuard};
// course: end
use std::time::Duration;

/// Where the breaker gets the time from.
pub trait Clock: Send + Sync + Debug {
    /// Time since this clock's start.
    fn now(&self) -> Duration;
}

/// A clock that moves only when told to, by [`ManualClock::advance`].
///
/// ```
/// use std::time::Duration;
/// use circuit_breaker::{Clock, ManualClock};
///
/// let clock = ManualClock::default();
/// clock.advance(Duration::from_millis(250));
/// assert_eq!(clock.now(), Duration::from_millis(250));
/// ```
#[derive(Debug, Default)]
pub struct ManualClock {
    /// Nanoseconds since the start.
    nanos: AtomicU64,
}

impl ManualClock {
    /// Moves the clock forward by `d`.
    pub fn advance(&self, d: Duration) {
        let nanos = u64::try_from(d.as_nanos()).expect("less than 584 years at a time");
        self.nanos.fetch_add(nanos, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Duration {
        Duration::from_nanos(self.nanos.load(Ordering::SeqCst))
    }
}

/// The breaker's three states.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Calls go through; failures in a row are counted.
    Closed,
    /// Calls are refused until the cool-down is over.
    Open,
    /// A few probe calls go through, to see whether the service has recovered.
    HalfOpen,
}

/// The answer to a refused [`Breaker::allow`]: the breaker is open, or half-open with every probe
/// already out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Open;

/// The right to make one call. Hand it back to [`Breaker::record`] with the call's result.
///
/// It is not `Clone`: one permit, one result.
#[derive(Debug)]
pub struct Permit {
    // course: exercise
    // // Replace this with your fields: what does `record` need to know about when, and how, this
    // // permit was issued?
    // _your_fields_here: (),
    // course: solution
    /// The breaker's round when it was issued. While half-open, only the probes of the current
    /// round have it; a call let through while closed, or a probe of an earlier half-open
    /// spell, has an older one.
    round: u64,
    // course: end
}

/// A circuit breaker: closed, open, half-open.
#[derive(Debug)]
pub struct Breaker {
    // course: exercise
    // // Replace this with your fields: the settings, the clock, and the state that changes (behind
    // // a `Mutex`: a transition changes several numbers at once).
    // _your_fields_here: (),
    // course: solution
    /// Failures in a row that open it.
    failures: u32,
    /// How long it stays open before letting probes through.
    cooldown: Duration,
    /// Probes let through while half-open; all must succeed to close it.
    probes: u32,
    /// Where the time comes from.
    clock: Arc<dyn Clock>,
    /// Everything that changes, behind one lock: a transition changes several fields at once,
    /// and no thread may see it half done.
    inner: Mutex<Inner>,
}

#[derive(Debug)]
struct Inner {
    state: State,
    /// Moves on at every change of state: a permit from an earlier round is stale.
    round: u64,
    /// Failures in a row while closed.
    failures_in_a_row: u32,
    /// When it last opened: the cool-down counts from here.
    opened_at: Duration,
    /// Probes let through in this half-open spell.
    probes_out: u32,
    /// Probes of this spell that came back successful.
    probes_ok: u32,
}

impl Inner {
    /// Moves to `state`, starting a new round: permits issued until now stop counting.
    fn enter(&mut self, state: State) {
        self.state = state;
        self.round += 1;
        self.failures_in_a_row = 0;
        self.probes_out = 0;
        self.probes_ok = 0;
    }
    // course: end
}

impl Breaker {
    /// A closed breaker that opens after `failures` failures in a row, stays open for `cooldown`,
    /// then lets `probes` probes through.
    ///
    /// # Panics
    ///
    /// If `failures` or `probes` is 0.
    pub fn new(failures: u32, cooldown: Duration, probes: u32, clock: Arc<dyn Clock>) -> Breaker {
        // course: exercise
        // let _ = (failures, cooldown, probes, clock);
        // @todo("store the settings and the clock; start closed, with no failures counted")
        // course: solution
        assert!(failures > 0, "the breaker must allow at least 1 failure");
        assert!(probes > 0, "a half-open breaker needs at least 1 probe");
        Breaker {
            failures,
            cooldown,
            probes,
            clock,
            inner: Mutex::new(Inner {
                state: State::Closed,
                round: 0,
                failures_in_a_row: 0,
                opened_at: Duration::ZERO,
                probes_out: 0,
                probes_ok: 0,
            }),
        }
        // course: end
    }

    /// Asks to make a call now: a permit, or `Err(Open)`.
    pub fn allow(&self) -> Result<Permit, Open> {
        // course: exercise
        // let _ = self;
        // @todo(
        //     "closed: a permit; open: refuse until the cool-down has passed, then turn half-open and give out a probe; half-open: a probe while fewer than `probes` are out, else refuse"
        // )
        // course: solution
        let now = self.clock.now();
        let mut inner = self.lock();
        match inner.state {
            State::Closed => {}
            State::Open if now.saturating_sub(inner.opened_at) < self.cooldown => return Err(Open),
            // The cool-down is over: this call is the first probe.
            State::Open => inner.enter(State::HalfOpen),
            // Every probe is out: wait for their verdict. Counted under the lock, so threads
            // asking together cannot all slip past the check.
            State::HalfOpen if inner.probes_out >= self.probes => return Err(Open),
            State::HalfOpen => {}
        }
        if inner.state == State::HalfOpen {
            inner.probes_out += 1;
        }
        Ok(Permit { round: inner.round })
        // course: end
    }

    /// Records how the call made with `permit` ended.
    pub fn record(&self, permit: Permit, ok: bool) {
        // course: exercise
        // let _ = (self, permit, ok);
        // @todo(
        //     "ignore results of permits from before the breaker last opened; closed: a success resets the count, `failures` in a row open it; half-open: `probes` successes close it, one failure re-opens it and restarts the cool-down"
        // )
        // course: solution
        let now = self.clock.now();
        let mut inner = self.lock();
        if permit.round != inner.round {
            // Issued before the last change of state: it says nothing about the service now.
            return;
        }
        match (inner.state, ok) {
            // Any success resets the count: only failures in a row open the breaker.
            (State::Closed, true) => inner.failures_in_a_row = 0,
            (State::Closed, false) => {
                inner.failures_in_a_row += 1;
                if inner.failures_in_a_row >= self.failures {
                    inner.enter(State::Open);
                    inner.opened_at = now;
                }
            }
            (State::HalfOpen, true) => {
                inner.probes_ok += 1;
                if inner.probes_ok >= self.probes {
                    inner.enter(State::Closed);
                }
            }
            // One failed probe is enough: open again, and the cool-down starts over.
            (State::HalfOpen, false) => {
                inner.enter(State::Open);
                inner.opened_at = now;
            }
            // No permit of the current round exists while open: opening starts a new round.
            (State::Open, _) => {}
        }
        // course: end
    }

    /// The state now.
    pub fn state(&self) -> State {
        // course: exercise
        // let _ = self;
        // @todo("report the state")
        // course: solution
        self.lock().state
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // Nothing panics while this lock is held, so it is never poisoned.
        self.inner
            .lock()
            .expect("the breaker's lock is never poisoned")
        // course: end
    }
}
