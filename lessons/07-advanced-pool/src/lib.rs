//! # Lesson 7: the advanced pool
//!
//! The pool the Go article promised, built so that it keeps its promises: a validated
//! [`Builder`], a bounded queue with [`Pool::submit`], [`Pool::try_submit`] and
//! [`Pool::submit_timeout`] that hand a refused job back with the reason, a real rate limiter
//! ([`rate`]), a circuit breaker with a correct state machine ([`breaker`]), panics caught so the
//! pool keeps its size, [`metrics`] that add up, and a shutdown that drains or aborts, with an
//! optional deadline. New since lessons 3 and 4: all of that, on an injectable [`clock`].
//! Run it with `cargo run -p lesson-7` (add `-- --json` for the final metrics as JSON).
//!
//! ```
//! use lesson_7::{Pool, Stop};
//!
//! let pool = Pool::builder().workers(2).queue(8).build(|n: &u64, _ctx| {
//!     if n % 3 == 0 { Err(format!("{n} is a multiple of 3")) } else { Ok(()) }
//! })?;
//! for n in 1..=9 {
//!     pool.submit(n).expect("nothing refuses jobs here");
//! }
//! let report = pool.shutdown(Stop::Drain, None);
//! assert_eq!((report.metrics.completed, report.metrics.failed), (6, 3));
//! # Ok::<(), lesson_7::ConfigError>(())
//! ```
//!
//! ## How the pieces fit
//!
//! A job's way through the pool, one file each:
//!
//! - `builder.rs`: [`Builder`] checks a configuration and starts the pool, or says what is
//!   wrong with it ([`ConfigError`]).
//! - `pool.rs`: the [`Pool`] itself, and what its workers and submitters share.
//! - `pool/submit.rs`: the way in. Closed? The [`breaker`], the [`rate`] limiter, then the
//!   bounded queue; any of them can hand the job back inside a [`Rejected`].
//!   [`Pool::submit_all`] takes many jobs and hands them over in batches of up to [`BATCH`].
//! - `pool/worker.rs`: the loop each worker runs, which catches a job's panic; `pool/tally.rs`:
//!   what a worker counts on its own before adding it to the shared [`metrics`].
//! - `pool/shutdown.rs`: [`Pool::shutdown`], drain or abort, and `Drop`.
//! - `job.rs` and `event.rs`: what a running job is told ([`Ctx`]), how it ended ([`Status`]),
//!   and what an observer hears ([`Event`]).
//! - `rejected.rs`: a refused job, handed back with its [`Reason`].
//! - [`rate`], [`breaker`], [`metrics`] and [`clock`]: one feature each. `sync.rs` swaps std's
//!   primitives for loom's in the model tests.

pub mod breaker;
mod builder;
pub mod clock;
mod event;
mod job;
pub mod metrics;
mod pool;
pub mod rate;
mod rejected;
mod sync;

pub use breaker::{BreakerConfig, State as BreakerState, Transition};
pub use builder::{Builder, ConfigError, MAX_RATE, MAX_WORKERS, MIN_RATE};
pub use clock::{Clock, ManualClock, SystemClock};
pub use event::Event;
pub use job::{Ctx, Status};
pub use metrics::{Reason, Snapshot};
pub use pool::{BATCH, Pool, Report, Stop};
pub use rejected::Rejected;
