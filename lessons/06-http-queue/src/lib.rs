//! Lesson 6: an HTTP job queue (being written).
