//! The course's own tooling, as opposed to the lessons the students work through.
//!
//! - [`exercises`] is the students' progress command (`cargo run -p course`): where they stand,
//!   hints, a watch mode, and the proof CI runs that every solution passes and every exercise
//!   starts out failing.
//! - [`book`] is the book include check: mdBook only logs a broken `{{#include}}` and still
//!   builds the book, so something else has to fail loudly.

pub mod book;
pub mod exercises;
