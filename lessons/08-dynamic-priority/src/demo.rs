//! The demo's pieces (the binary, not the library): `main.rs` is the script that plays them.

pub mod args;
pub mod jobs;
pub mod picks;
pub mod scenes;
pub mod show;
pub mod stage;
