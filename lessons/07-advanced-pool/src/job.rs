//! What a job sees while it runs, and how it can end.

use crate::sync::AtomicBool;
use std::sync::atomic::Ordering;

/// The function the builder was given, which runs each job and says how it went.
pub(crate) type Handler<J> = dyn Fn(&J, &Ctx) -> Result<(), String> + Send + Sync;

/// What a job is told while it runs.
#[derive(Debug)]
pub struct Ctx<'a> {
    /// The worker running it.
    pub worker: usize,
    pub(crate) aborting: &'a AtomicBool,
}

impl Ctx<'_> {
    /// Whether the pool is aborting: a long job should check this and stop early.
    pub fn is_cancelled(&self) -> bool {
        self.aborting.load(Ordering::Acquire)
    }
}

/// How a job that ran ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    /// It returned `Ok`.
    Completed,
    /// It returned this error.
    Failed(String),
    /// It panicked with this message; the worker caught it and carried on.
    Panicked(String),
}
