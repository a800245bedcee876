//! The builder: every setting in one place, and nothing started until all of them are checked.

use crate::event::{Event, Observer};
use crate::{BreakerConfig, Clock, Ctx, Pool, SystemClock};
use std::fmt;
use std::sync::Arc;

/// The most workers a pool will start.
pub const MAX_WORKERS: usize = 1024;

/// The slowest rate the builder accepts: one job every 1000 s.
pub const MIN_RATE: f64 = 0.001;

/// The fastest rate the builder accepts: one job per nanosecond.
pub const MAX_RATE: f64 = 1e9;

// ANCHOR: config_error
/// A configuration the builder refuses, with a message a person can act on.
#[derive(Debug, Clone, PartialEq)]
pub enum ConfigError {
    /// `workers(0)`.
    NoWorkers,
    /// More than [`MAX_WORKERS`].
    TooManyWorkers(usize),
    /// `queue(0)`.
    NoQueue,
    /// A rate that is not between [`MIN_RATE`] and [`MAX_RATE`] jobs per second.
    BadRate(f64),
    /// A burst of 0.
    NoBurst,
    /// A breaker that would open after 0 failures.
    NoBreakerThreshold,
    /// A breaker with no probes could never close again.
    NoProbes,
    /// A breaker with no cool-down would never really open.
    NoCooldown,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::NoWorkers => write!(f, "a pool needs at least 1 worker"),
            ConfigError::TooManyWorkers(n) => {
                write!(f, "{n} workers is more than the limit of {MAX_WORKERS}")
            }
            ConfigError::NoQueue => write!(f, "the queue needs room for at least 1 job"),
            ConfigError::BadRate(r) => write!(
                f,
                "a rate must be between {MIN_RATE} and {MAX_RATE} jobs per second, not {r}"
            ),
            ConfigError::NoBurst => write!(f, "a burst must allow at least 1 job"),
            ConfigError::NoBreakerThreshold => {
                write!(
                    f,
                    "the breaker must allow at least 1 failure before opening"
                )
            }
            ConfigError::NoProbes => write!(f, "a half-open breaker needs at least 1 probe"),
            ConfigError::NoCooldown => write!(f, "the breaker's cool-down must be longer than 0"),
        }
    }
}

impl std::error::Error for ConfigError {}
// ANCHOR_END: config_error

// ANCHOR: builder
/// Sets up a [`Pool`]; nothing is checked until [`Builder::build`], which checks everything.
#[derive(Clone)]
pub struct Builder {
    pub(crate) workers: usize,
    pub(crate) queue: usize,
    pub(crate) rate: Option<(f64, u32)>,
    pub(crate) breaker: Option<BreakerConfig>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) observer: Option<Arc<Observer>>,
}

impl Builder {
    /// Worker threads (default 4).
    pub fn workers(mut self, n: usize) -> Self {
        self.workers = n;
        self
    }

    /// Jobs the queue holds before submitters wait or are refused (default 64).
    pub fn queue(mut self, n: usize) -> Self {
        self.queue = n;
        self
    }

    /// At most `per_second` jobs per second on average, in bursts of up to `burst`.
    pub fn rate(mut self, per_second: f64, burst: u32) -> Self {
        self.rate = Some((per_second, burst));
        self
    }

    /// A circuit breaker in front of the queue.
    pub fn breaker(mut self, config: BreakerConfig) -> Self {
        self.breaker = Some(config);
        self
    }

    /// The clock for the rate limiter and the breaker (default: the real one).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Called for every [`Event`], on whichever thread it happens.
    pub fn observe(mut self, f: impl Fn(&Event) + Send + Sync + 'static) -> Self {
        self.observer = Some(Arc::new(f));
        self
    }

    /// Checks the configuration and starts the workers.
    pub fn build<J, F>(self, handler: F) -> Result<Pool<J>, ConfigError>
    where
        J: Send + 'static,
        F: Fn(&J, &Ctx) -> Result<(), String> + Send + Sync + 'static,
    {
        match self.workers {
            0 => return Err(ConfigError::NoWorkers),
            n if n > MAX_WORKERS => return Err(ConfigError::TooManyWorkers(n)),
            _ => {}
        }
        if self.queue == 0 {
            return Err(ConfigError::NoQueue);
        }
        if let Some((per_second, burst)) = self.rate {
            if !(MIN_RATE..=MAX_RATE).contains(&per_second) {
                return Err(ConfigError::BadRate(per_second));
            }
            if burst == 0 {
                return Err(ConfigError::NoBurst);
            }
        }
        if let Some(b) = self.breaker {
            if b.failures == 0 {
                return Err(ConfigError::NoBreakerThreshold);
            }
            if b.probes == 0 {
                return Err(ConfigError::NoProbes);
            }
            if b.cooldown.is_zero() {
                return Err(ConfigError::NoCooldown);
            }
        }
        Ok(Pool::start(self, Box::new(handler)))
    }
}
// ANCHOR_END: builder

impl Pool<()> {
    /// A builder with 4 workers, a queue of 64, no rate limit, no breaker, the real clock.
    pub fn builder() -> Builder {
        Builder {
            workers: 4,
            queue: 64,
            rate: None,
            breaker: None,
            clock: Arc::new(SystemClock::default()),
            observer: None,
        }
    }
}
