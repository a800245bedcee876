//! The course's own tooling, as opposed to the lessons the students work through.
//!
//! - [`exercises`] finds the exercises, tests one, and holds the proof CI runs that every
//!   solution passes and every exercise starts out failing.
//! - [`markup`] makes each exercise from its solution: one source for both.
//! - [`progress`] and [`track`] remember what each exercise's tests said, so only what changed
//!   is tested again; [`watch`] re-tests on every save.
//! - [`record`] runs each lesson as its chapter shows it and keeps the output and picture.
//! - [`diff`] shows what changed in the pool from one lesson to another, from the files.
//! - [`book`] is the book include check: mdBook only logs a broken `{{#include}}` and still
//!   builds the book, so something else has to fail loudly.

pub mod book;
pub mod diff;
pub mod exercises;
pub mod markup;
pub mod progress;
pub mod record;
pub mod track;
pub mod watch;
