//! # Exercise 14: a circuit breaker
//!
//! Lesson 7's pool stops sending jobs to a service that keeps failing, and tries again later with
//! a few probes. Write that circuit breaker. A caller asks [`Breaker::allow`] before each call;
//! it gets a [`Permit`], or is refused with [`Open`]. When the call is over, the caller hands the
//! permit back to [`Breaker::record`] with the result. The breaker has three states:
//!
//! - **Closed**: every call is allowed. `failures` failures *in a row* open it; any success
//!   resets the count to 0.
//! - **Open**: every call is refused, until `cooldown` has passed since it opened (on its clock:
//!   `now - opened_at >= cooldown`). Then the next call to `allow` makes it half-open and goes
//!   through as the first probe.
//! - **HalfOpen**: at most `probes` calls go through, as probes; the rest are refused. When
//!   `probes` probes have succeeded, it closes (with a failure count of 0). If any probe fails,
//!   it opens again, and the cool-down starts over from that moment.
//!
//! Which results count: a permit issued *before* the breaker last opened says nothing about
//! whether the service has recovered, so its result must not count while the breaker is open or
//! half-open. That covers a call let through while closed that comes back late, and a probe from
//! an earlier half-open round. A [`Permit`] must carry what `record` needs to tell them apart.
//!
//! The breaker reads the time from the [`Clock`] it was given; the tests give it a
//! [`ManualClock`]. It is shared between threads (every method takes `&self`), and several threads
//! asking at the same moment while half-open must still get no more than `probes` permits
//! between them. The fields of [`Breaker`] and [`Permit`] are yours to choose: replace the
//! placeholders. Whether [`Breaker::state`] says `Open` or `HalfOpen` between the end of the
//! cool-down and the next `allow` is up to you; the tests don't ask.
//!
//! Replace each `todo!()` and run `cargo test -p ex14-circuit-breaker` until it passes. Stuck?
//! Run `cargo run -p course -- hint ex14-circuit-breaker`.

use std::fmt::Debug;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
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
    // Replace this with your fields: what does `record` need to know about when, and how, this
    // permit was issued?
    _your_fields_here: (),
}

/// A circuit breaker: closed, open, half-open.
#[derive(Debug)]
pub struct Breaker {
    // Replace this with your fields: the settings, the clock, and the state that changes (behind
    // a `Mutex`: a transition changes several numbers at once).
    _your_fields_here: (),
}

impl Breaker {
    /// A closed breaker that opens after `failures` failures in a row, stays open for `cooldown`,
    /// then lets `probes` probes through.
    ///
    /// # Panics
    ///
    /// If `failures` or `probes` is 0.
    pub fn new(failures: u32, cooldown: Duration, probes: u32, clock: Arc<dyn Clock>) -> Breaker {
        let _ = (failures, cooldown, probes, clock);
        todo!("store the settings and the clock; start closed, with no failures counted")
    }

    /// Asks to make a call now: a permit, or `Err(Open)`.
    pub fn allow(&self) -> Result<Permit, Open> {
        let _ = self;
        todo!(
            "closed: a permit; open: refuse until the cool-down has passed, then turn half-open and give out a probe; half-open: a probe while fewer than `probes` are out, else refuse"
        )
    }

    /// Records how the call made with `permit` ended.
    pub fn record(&self, permit: Permit, ok: bool) {
        let _ = (self, permit, ok);
        todo!(
            "ignore results of permits from before the breaker last opened; closed: a success resets the count, `failures` in a row open it; half-open: `probes` successes close it, one failure re-opens it and restarts the cool-down"
        )
    }

    /// The state now.
    pub fn state(&self) -> State {
        let _ = self;
        todo!("report the state")
    }
}
