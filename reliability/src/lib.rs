//! # Stress with seeded faults
//!
//! The plumbing behind the stress tests in `tests/`: each test pushes millions of jobs through
//! one lesson's pool in rounds, with failures, panics, time-outs, cancellations and a stop at a
//! random moment, all drawn from a seeded generator, and then checks that every job is accounted
//! for exactly once. A failure names its round's seed, and the command it prints
//! (`STRESS_SEED=<seed> STRESS_ROUNDS=1 STRESS_JOBS=<jobs> cargo test --release -p reliability`)
//! runs that round's plan again. `STRESS_JOBS` scales the jobs per pool: by default 2 000 000
//! in 100 rounds, so that well over a million are accepted and run even though each round
//! refuses some after its random stop.
//!
//! ```
//! use reliability::Stress;
//!
//! let stress = Stress::with(7, 4, 100);
//! let rounds: Vec<_> = stress.rounds().collect();
//! assert_eq!(rounds.len(), 4);
//! assert_eq!(rounds[0].seed, 7, "round 0 runs the base seed itself, so a round can be replayed");
//! let replay = Stress::with(rounds[1].seed, 1, 25).rounds().next().unwrap();
//! assert_eq!(replay.seed, rounds[1].seed, "round 2 replayed alone gets its own seed back");
//! assert!(rounds.iter().all(|r| r.jobs == 25));
//! ```

use rand::SeedableRng as _;
use rand::rngs::StdRng;
use std::collections::BTreeMap;
use std::fmt;
use std::time::{Duration, Instant};

/// The base seed when `STRESS_SEED` is not set: fixed, so CI runs the same plans every time.
pub const DEFAULT_SEED: u64 = 0x5EED_2026;

/// Rounds per pool when `STRESS_ROUNDS` is not set.
pub const DEFAULT_ROUNDS: usize = 100;

/// Jobs per pool, over all rounds, when `STRESS_JOBS` is not set.
pub const DEFAULT_JOBS: usize = 2_000_000;

/// Added to the seed from one round to the next (the golden ratio in 64 bits), so round `r`'s
/// seed is `base + r * STEP` and a round replayed as round 0 gets exactly its old plan.
const STEP: u64 = 0x9E37_79B9_7F4A_7C15;

// ANCHOR: seeds
/// How much stress to apply, and from which seed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stress {
    /// The first round's seed; the others are derived from it.
    pub seed: u64,
    /// How many rounds, each with its own seed, pool size and stop moment.
    pub rounds: usize,
    /// Jobs over all rounds.
    pub jobs: usize,
}

impl Stress {
    /// Reads `STRESS_SEED` (decimal or `0x` hex), `STRESS_ROUNDS` and `STRESS_JOBS`, with the
    /// defaults above for any that is unset.
    ///
    /// # Panics
    ///
    /// If one of them is set but is not a number (or is 0, for rounds and jobs).
    pub fn from_env() -> Stress {
        Stress {
            seed: env_number("STRESS_SEED").unwrap_or(DEFAULT_SEED),
            rounds: env_count("STRESS_ROUNDS").unwrap_or(DEFAULT_ROUNDS),
            jobs: env_count("STRESS_JOBS").unwrap_or(DEFAULT_JOBS),
        }
    }

    /// A fixed setting, for tests of this crate.
    pub fn with(seed: u64, rounds: usize, jobs: usize) -> Stress {
        Stress { seed, rounds, jobs }
    }

    /// The rounds, each with its own seed; the jobs are shared out evenly (at least 1 each).
    pub fn rounds(&self) -> impl Iterator<Item = Round> + use<> {
        let (seed, count) = (self.seed, self.rounds);
        let jobs = (self.jobs / count).max(1);
        (0..count).map(move |index| Round {
            index,
            count,
            seed: seed.wrapping_add(STEP.wrapping_mul(index as u64)),
            jobs,
        })
    }
}

/// One round: its own seed, and so its own plan of faults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Round {
    /// From 0.
    pub index: usize,
    /// How many rounds there are in all.
    pub count: usize,
    /// The seed every random choice of this round comes from.
    pub seed: u64,
    /// Jobs in this round.
    pub jobs: usize,
}

impl Round {
    /// The round's generator: the same seed gives the same plan.
    pub fn rng(&self) -> StdRng {
        StdRng::seed_from_u64(self.seed)
    }
}

impl fmt::Display for Round {
    /// What every assertion message ends with: which round failed, and how to run it again.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "round {} of {}, seed {:#x}; replay with \
             STRESS_SEED={:#x} STRESS_ROUNDS=1 STRESS_JOBS={}",
            self.index + 1,
            self.count,
            self.seed,
            self.seed,
            self.jobs
        )
    }
}
// ANCHOR_END: seeds

fn env_number(name: &str) -> Option<u64> {
    let text = std::env::var(name).ok()?;
    let text = text.trim().replace('_', "");
    let parsed = match text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => text.parse(),
    };
    Some(parsed.unwrap_or_else(|_| panic!("{name}={text:?} is not a number (decimal or 0x hex)")))
}

fn env_count(name: &str) -> Option<usize> {
    let n = env_number(name)?;
    assert!(n > 0, "{name} must be at least 1");
    Some(usize::try_from(n).unwrap_or_else(|_| panic!("{name}={n} is too large")))
}

/// Threads in this process, and a bounded wait for them to exit: the course's one helper for
/// checking that a pool leaves no thread behind.
pub use course_support::testing::{threads_now, threads_settle};

/// The message every planted panic carries, so the panic hook can keep them quiet.
pub const PLANTED_PANIC: &str = "planted panic";

/// Silences panics whose message is [`PLANTED_PANIC`] (thousands of them would bury the output);
/// any other panic, such as a failed assertion, is printed as usual.
pub fn quiet_planted_panics() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let payload = info.payload();
        let message = payload
            .downcast_ref::<&str>()
            .copied()
            .or_else(|| payload.downcast_ref::<String>().map(String::as_str));
        if message != Some(PLANTED_PANIC) {
            default(info);
        }
    }));
}

/// A round must finish within this, or the test fails naming the likely hang.
pub const ROUND_LIMIT: Duration = Duration::from_secs(60);

/// Runs every round of `stress` through `run_round`, each bounded by [`ROUND_LIMIT`] (a round
/// that hangs fails with `hang`, the likely cause, and the round's replay command), prints one
/// summary line for `pool`, and returns what the rounds counted.
pub fn run_rounds(
    pool: &str,
    hang: &str,
    stress: &Stress,
    run_round: fn(Round, &mut Tally),
) -> Tally {
    let started = Instant::now();
    let mut tally = Tally::default();
    let bar = course_support::progress::bar(stress.rounds as u64, &format!("{pool} rounds"));
    for round in stress.rounds() {
        bar.set_message(format!("seed {:#x}", round.seed));
        tally = course_support::testing::within(
            ROUND_LIMIT,
            &format!("{pool}, {round}"),
            hang,
            move || {
                run_round(round, &mut tally);
                tally
            },
        );
        bar.inc(1);
    }
    bar.finish_and_clear();
    println!(
        "{pool}: {} rounds from seed {:#x} in {:.1?}: {tally}",
        stress.rounds,
        stress.seed,
        started.elapsed()
    );
    tally
}

/// Counts by name: faults injected and endings seen, summed over the rounds and printed at the
/// end, so a run shows that it exercised what it claims to.
#[derive(Debug, Default, Clone)]
pub struct Tally(BTreeMap<&'static str, u64>);

impl Tally {
    /// Adds `n` to `name`.
    pub fn add(&mut self, name: &'static str, n: u64) {
        *self.0.entry(name).or_default() += n;
    }

    /// The count for `name` (0 if never added).
    pub fn get(&self, name: &str) -> u64 {
        self.0.get(name).copied().unwrap_or(0)
    }
}

impl fmt::Display for Tally {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self.0.iter().map(|(k, v)| format!("{k} {v}")).collect();
        write!(f, "{}", parts.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_round_replayed_alone_gets_its_old_seed() {
        let all: Vec<Round> = Stress::with(42, 20, 1000).rounds().collect();
        let again = Stress::with(all[13].seed, 1, 50).rounds().next().unwrap();
        assert_eq!(again.seed, all[13].seed);
        assert_eq!(again.jobs, all[13].jobs);
        let distinct: std::collections::BTreeSet<u64> = all.iter().map(|r| r.seed).collect();
        assert_eq!(distinct.len(), 20, "every round has its own seed");
        assert!(
            all[13]
                .to_string()
                .contains(&format!("STRESS_SEED={:#x}", all[13].seed))
        );
    }
}
