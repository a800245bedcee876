//! The quick table's pieces (the binary, not the library): `main.rs` is the script that plays
//! them.

pub mod args;
pub mod child;
pub mod counters;
pub mod go_row;
pub mod picture;
pub mod sweep;
pub mod table;
pub mod targets;
