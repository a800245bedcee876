//! Lesson 4: cancellation and deadlines (being written).
