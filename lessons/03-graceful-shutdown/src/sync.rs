//! Where the pool gets its threads, atomics and channels: std and crossbeam in a normal build,
//! loom in a model-test build (`RUSTFLAGS="--cfg loom"`, the switch tokio uses), so that loom
//! sees every lock, atomic and thread the pool touches and can try every interleaving of them
//! (`tests/loom.rs`). The pool's code reads the same either way.

// ANCHOR: swap
#[cfg(not(loom))]
pub(crate) use std::sync::Arc;
#[cfg(not(loom))]
pub(crate) use std::sync::atomic::{AtomicBool, AtomicUsize};
#[cfg(not(loom))]
pub(crate) use std::thread::{self, JoinHandle};

#[cfg(loom)]
pub(crate) use loom::sync::Arc;
#[cfg(loom)]
pub(crate) use loom::sync::atomic::{AtomicBool, AtomicUsize};
#[cfg(loom)]
pub(crate) use loom::thread::{self, JoinHandle};
// ANCHOR_END: swap

/// The pool's queue: crossbeam's channel. Model tests (`--cfg loom`) need a queue loom can see
/// into: there, `channel` stands for the loom-built channel below, which has the same API, so
/// the pool's code reads the same in both builds.
#[cfg(not(loom))]
pub(crate) use crossbeam_channel as channel;

/// Loom cannot see inside crossbeam's channel (its own atomics and parking), so a model-test
/// build uses the support crate's stand-in: a queue behind a loom `Mutex` and `Condvar`, with
/// the part of crossbeam-channel's API the pools use and the same rules.
#[cfg(loom)]
pub use course_support::loom_channel as channel;
