//! The course's own tooling, as opposed to the lessons the students work through.
//!
//! For now it holds the book include check ([`book`]): mdBook only logs a broken
//! `{{#include}}` and still builds the book, so something else has to fail loudly. The
//! students' progress command will join it here later.

pub mod book;
