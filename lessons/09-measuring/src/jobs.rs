//! The jobs every measurement runs: one so small that only the pool's own cost is left, and one
//! that keeps a core busy.

/// The trivial job: doubles a number. `black_box` stops the compiler from doing it for us at
/// compile time, so every pool really calls it once per job.
pub fn trivial(n: u64) -> u64 {
    std::hint::black_box(n) * 2
}

/// A CPU-bound job: `rounds` steps of a xorshift generator seeded with `n`; each step depends
/// on the one before, so nothing can skip or overlap them.
pub fn spin(n: u64, rounds: u64) -> u64 {
    let mut x = n | 1;
    for _ in 0..rounds {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
    }
    std::hint::black_box(x)
}
