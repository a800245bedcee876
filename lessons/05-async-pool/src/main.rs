//! Lesson 5: the pool on tokio (being written).

fn main() {}
