//! The tests for exercise 19. They run against your code in `exercises/19-backoff-jitter` and
//! against the finished version in `solutions/19-backoff-jitter`.
//!
//! The numbers are chosen so that a near miss cannot pass: a base that is not a power of two
//! (300 ms), caps that are not a multiple of it, caps hit exactly and missed by a millisecond,
//! attempts on both sides of 32 and 64. Randomness comes from a seeded `StdRng`, so every run
//! draws the same numbers: a test that fails, fails every time, and the checks on the spread of
//! the waits have wide margins. Every test runs under a 10 s limit, so a loop that goes round
//! once per attempt, four billion times for `u32::MAX`, fails with a message instead of hanging.

use backoff_jitter::{Next, after_failure, ceiling, full_jitter};
use course_support::testing::within;
use rand::{Rng as _, SeedableRng as _, rngs::StdRng};
use std::collections::BTreeMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(10);
const SLOW: &str = "does it go round a loop once per attempt? For u32::MAX that is four billion \
                    times: stop doubling as soon as the ceiling reaches the cap";

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// Runs one test's body under the time limit.
#[track_caller]
fn bounded(what: &str, body: impl FnOnce() + Send + 'static) {
    within(LIMIT, what, SLOW, body);
}

/// Runs `f`; if it panics, fails the test with the likely cause.
fn no_panic<T>(call: &str, f: impl FnOnce() -> T) -> T {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(value) => value,
        Err(panic) => {
            let why = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            if why.contains("not yet implemented") {
                panic!("{call}: {why}");
            }
            panic!(
                "{call} panicked ({why}). An overflow? `attempt - 1` underflows at attempt 0; \
                 `1 << attempt` and `2u64.pow(attempt)` overflow past 63, `2u32.pow` past 31; \
                 `base * n` overflows for a large n; `random_range(0..ceiling)` panics on an \
                 empty range when the ceiling is 0. Double with saturating_mul and stop at the \
                 cap, and draw from 0..=ceiling"
            );
        }
    }
}

fn ceil(attempt: u32, base: Duration, cap: Duration) -> Duration {
    no_panic(&format!("ceiling({attempt}, {base:?}, {cap:?})"), || {
        ceiling(attempt, base, cap)
    })
}

fn jitter(attempt: u32, base: Duration, cap: Duration, rng: &mut StdRng) -> Duration {
    no_panic(
        &format!("full_jitter({attempt}, {base:?}, {cap:?}, ..)"),
        || full_jitter(attempt, base, cap, rng),
    )
}

fn retry(attempts: u32, max: u32, base: Duration, cap: Duration, rng: &mut StdRng) -> Next {
    no_panic(
        &format!("after_failure({attempts}, {max}, {base:?}, {cap:?}, ..)"),
        || after_failure(attempts, max, base, cap, rng),
    )
}

fn from_nanos(nanos: u128) -> Duration {
    let secs = u64::try_from(nanos / 1_000_000_000).expect("the tests stay far below u64 seconds");
    Duration::new(secs, (nanos % 1_000_000_000) as u32)
}

/// `from × 2^doublings` in nanoseconds, saturating.
fn grown(from: Duration, doublings: u32) -> u128 {
    match 1u128.checked_shl(doublings) {
        Some(factor) if doublings < 127 => from.as_nanos().saturating_mul(factor),
        _ if from.is_zero() => 0,
        _ => u128::MAX,
    }
}

/// What `ceiling` should say, worked out on its own: `base × 2^(attempt − 1)`, at most `cap`.
fn expected(attempt: u32, base: Duration, cap: Duration) -> Duration {
    from_nanos(grown(base, attempt.max(1) - 1).min(cap.as_nanos()))
}

/// Why `got` is not the ceiling for `attempt`: the likely wrong formula.
fn why_wrong(got: Duration, attempt: u32, base: Duration, cap: Duration) -> &'static str {
    let (g, c, n) = (got.as_nanos(), cap.as_nanos(), attempt.max(1));
    if g > c {
        "it is above the cap: clamp the ceiling with .min(cap)"
    } else if g == grown(base, n).min(c) {
        "that is one doubling too many: attempt 1 waits up to base itself, so the exponent is \
         attempt − 1, not attempt"
    } else if n >= 2 && g == grown(base, n - 2).min(c) {
        "that is one doubling too few: the exponent is attempt − 1, with attempt counted from 1"
    } else if base != ms(1) && g == grown(ms(1), n - 1).min(c) {
        "that is 2^(attempt − 1) milliseconds: multiply by base, whatever base is"
    } else if n >= 2 && g == base.as_nanos().saturating_mul(u128::from(n)).min(c) {
        "that grows by base each attempt (base × attempt): it must double each attempt"
    } else if n >= 2 && g == base.min(cap).as_nanos() {
        "that is base again: the ceiling must double with each attempt"
    } else if g < c && g < grown(base, n - 1) && n > 32 {
        "it stopped growing below the cap: a factor kept in a u32 runs out past 2^31, a shift \
         wraps, an `as i32` turns a huge attempt negative; double the Duration itself \
         (saturating_mul) until it reaches the cap"
    } else if g % 1_000_000 == 0 && g + 1_000_000 > expected(attempt, base, cap).as_nanos() {
        "the fraction of a millisecond is lost: keep the ceiling a Duration (the wait is rounded \
         to whole milliseconds in full_jitter, not here)"
    } else {
        "it should be base × 2^(attempt − 1), or cap if that is smaller"
    }
}

#[track_caller]
fn assert_ceiling(attempt: u32, base: Duration, cap: Duration) {
    let want = expected(attempt, base, cap);
    let got = ceil(attempt, base, cap);
    assert!(
        got == want,
        "ceiling({attempt}, {base:?}, {cap:?}) is {got:?}, expected {want:?}: {}",
        why_wrong(got, attempt, base, cap)
    );
}

#[test]
fn each_failure_doubles_the_ceiling_from_base_up_to_the_cap() {
    bounded("ceiling for attempts 1 to 20", || {
        // base 300 ms, cap 60 s, written out: the cap is not a multiple of 300 × 2^n.
        let table = [
            (1, 300),
            (2, 600),
            (3, 1_200),
            (4, 2_400),
            (5, 4_800),
            (6, 9_600),
            (7, 19_200),
            (8, 38_400),
            (9, 60_000),
            (10, 60_000),
        ];
        for (attempt, want) in table {
            assert_eq!(expected(attempt, ms(300), ms(60_000)), ms(want));
            assert_ceiling(attempt, ms(300), ms(60_000));
        }
        // The same with other bases, so that neither 300 ms nor a 1 ms base is wired in.
        for base in [ms(1), ms(7), ms(250), Duration::from_micros(2_500)] {
            for attempt in 1..=20 {
                assert_ceiling(attempt, base, ms(60_000));
            }
        }
    });
}

#[test]
fn the_cap_is_hit_exactly_and_missed_by_one_millisecond() {
    bounded("ceiling near the cap", || {
        // 300 × 2^5 = 9600: a cap of exactly 9600, one below, one above.
        for cap in [9_599, 9_600, 9_601] {
            for attempt in 1..=8 {
                assert_ceiling(attempt, ms(300), ms(cap));
            }
        }
        assert_eq!(
            ceil(6, ms(300), ms(9_599)),
            ms(9_599),
            "a cap 1 ms below the doubling"
        );
        assert_eq!(
            ceil(7, ms(300), ms(9_601)),
            ms(9_601),
            "a cap 1 ms above the doubling"
        );
        // A cap that is no multiple of the base, and caps below the base: the cap still wins.
        for cap in [1_000, 299, 200, 1] {
            for attempt in 1..=5 {
                assert_ceiling(attempt, ms(300), ms(cap));
            }
        }
    });
}

#[test]
fn attempt_zero_is_treated_like_attempt_one() {
    bounded("ceiling for attempt 0", || {
        let got = ceil(0, ms(300), ms(60_000));
        assert_eq!(
            got,
            ms(300),
            "ceiling(0, 300ms, 60s): attempt 0 is outside the contract, and is documented to \
             give attempt 1's ceiling, base (attempt.saturating_sub(1) doublings); it gave \
             {got:?}"
        );
        let mut rng = StdRng::seed_from_u64(0);
        for _ in 0..100 {
            let wait = jitter(0, ms(300), ms(60_000), &mut rng);
            assert!(
                wait <= ms(300),
                "full_jitter(0, 300ms, ..) gave {wait:?}: attempt 0 has attempt 1's ceiling, \
                 300ms"
            );
        }
    });
}

#[test]
fn a_tiny_base_doubles_exactly_past_two_to_the_32() {
    bounded("ceiling from 1 µs", || {
        // 1 µs × 2^33 = 8590 s, still under a 3 h cap: a factor kept in a u32 runs out first.
        let (base, cap) = (Duration::from_micros(1), Duration::from_secs(3 * 3_600));
        for attempt in 1..=40 {
            assert_ceiling(attempt, base, cap);
        }
        let (base, cap) = (
            Duration::from_nanos(1),
            Duration::from_secs(30 * 24 * 3_600),
        );
        for attempt in 1..=70 {
            assert_ceiling(attempt, base, cap);
        }
    });
}

#[test]
fn huge_attempts_give_the_cap_without_overflow_or_panic() {
    bounded("ceiling and full_jitter for huge attempts", || {
        let attempts = [
            31,
            32,
            33,
            34,
            63,
            64,
            65,
            66,
            127,
            128,
            129,
            1_000,
            1 << 20,
            u32::MAX - 1,
            u32::MAX,
        ];
        let mut rng = StdRng::seed_from_u64(64);
        for (base, cap) in [
            (ms(300), ms(60_000)),
            (ms(1), Duration::from_secs(30 * 24 * 3_600)),
            (Duration::from_secs(3_600), Duration::from_secs(86_400)),
        ] {
            for attempt in attempts {
                assert_ceiling(attempt, base, cap);
                let wait = jitter(attempt, base, cap, &mut rng);
                assert!(
                    wait <= cap,
                    "full_jitter({attempt}, {base:?}, {cap:?}, ..) gave {wait:?}, above the cap"
                );
            }
        }
    });
}

#[test]
fn a_zero_base_means_no_wait_at_all() {
    within(
        LIMIT,
        "ceiling with base 0",
        "a zero ceiling doubles to zero forever, so it never reaches the cap: stop doubling at \
         zero too, or work the ceiling out without a loop",
        || {
            let mut rng = StdRng::seed_from_u64(0);
            for attempt in [1, 2, 64, u32::MAX] {
                assert_ceiling(attempt, Duration::ZERO, ms(60_000));
                let wait = jitter(attempt, Duration::ZERO, ms(60_000), &mut rng);
                assert_eq!(
                    wait,
                    Duration::ZERO,
                    "full_jitter({attempt}, 0, 60s, ..): with a ceiling of 0, the only wait is 0"
                );
            }
            assert_ceiling(5, ms(300), Duration::ZERO);
        },
    );
}

/// `n` waits from `full_jitter`, in whole milliseconds; fails the test on any fraction.
fn draws(n: usize, attempt: u32, base: Duration, cap: Duration, seed: u64) -> Vec<u64> {
    let mut rng = StdRng::seed_from_u64(seed);
    (0..n)
        .map(|_| {
            let wait = jitter(attempt, base, cap, &mut rng);
            assert!(
                wait.subsec_nanos() % 1_000_000 == 0,
                "full_jitter({attempt}, {base:?}, {cap:?}, ..) gave {wait:?}, which is not a \
                 whole number of milliseconds: draw a whole number of ms from 0 to the ceiling \
                 in ms (ceiling.as_millis()), then Duration::from_millis"
            );
            u64::try_from(wait.as_millis()).expect("the waits here are short")
        })
        .collect()
}

#[test]
fn full_jitter_draws_evenly_from_zero_to_the_ceiling() {
    bounded("4000 full_jitter draws", || {
        let cases = [
            (1, ms(300), ms(60_000)),
            (4, ms(300), ms(60_000)),
            (3, ms(7), ms(1_000)),
            // Capped: 300 × 2^6 = 19.2 s, cap 10 s.
            (7, ms(300), ms(10_000)),
            // Far past the cap: 250 × 2^9 = 128 s, cap 30 s.
            (10, ms(250), ms(30_000)),
        ];
        for (seed, (attempt, base, cap)) in (1000..).zip(cases) {
            let call = format!("full_jitter({attempt}, {base:?}, {cap:?}, ..)");
            let top = expected(attempt, base, cap);
            let top_ms = u64::try_from(top.as_millis()).expect("short");
            let n = 4_000;
            let waits = draws(n, attempt, base, cap, seed);
            let (lowest, highest) = (waits.iter().min().copied(), waits.iter().max().copied());
            let (lowest, highest) = (lowest.expect("4000 draws"), highest.expect("4000 draws"));
            let mean = waits.iter().sum::<u64>() as f64 / n as f64;
            let uncapped = grown(base, attempt - 1);
            if highest > top_ms {
                let why = if ms(highest) > cap {
                    "above the cap itself: cap the ceiling before drawing (ceiling(..), not \
                     base × 2^(attempt − 1))"
                } else {
                    "above this attempt's ceiling, though below the cap: is the exponent attempt \
                     instead of attempt − 1?"
                };
                panic!("{call} gave {highest} ms, but the ceiling is {top:?}: {why}");
            }
            let at_top = waits.iter().filter(|&&w| w == top_ms).count();
            if top_ms >= 1_000 && at_top * 100 > n {
                let why = if uncapped > cap.as_nanos() {
                    "you draw up to the uncapped ceiling and then clamp the wait to the cap, \
                     which piles the draws up at the cap; clamp the ceiling first, then draw \
                     from 0 to it"
                } else {
                    "each of the 1000+ values should turn up about once in 4000"
                };
                panic!("{call}: {at_top} of {n} waits were exactly the ceiling, {top:?}: {why}");
            }
            if lowest * 50 > top_ms {
                let why = if lowest * 100 >= top_ms * 45 {
                    "that looks like \"equal jitter\" (ceiling/2 + a random half): full jitter \
                     draws from the whole range, random_range(0..=ceiling)"
                } else {
                    "the range starts at 0, not at 1 or at base"
                };
                panic!(
                    "{call}: the shortest of {n} waits was {lowest} ms, with a ceiling of \
                     {top:?}; some should be near 0: {why}"
                );
            }
            if highest * 50 < top_ms * 49 {
                panic!(
                    "{call}: the longest of {n} waits was {highest} ms, with a ceiling of \
                     {top:?}; some should be near the ceiling: draw up to this attempt's \
                     ceiling (not attempt − 1's), and include it (0..=ceiling)"
                );
            }
            let half = top_ms as f64 / 2.0;
            assert!(
                (mean - half).abs() <= top_ms as f64 * 0.05,
                "{call}: the mean of {n} waits was {mean:.1} ms, but an even spread over 0 to \
                 {top:?} averages {half:.1} ms: draw once, uniformly (random_range(0..=ceiling)), \
                 not the min or the product of two draws"
            );
        }
    });
}

#[test]
fn a_small_ceiling_gives_every_millisecond_both_ends_included() {
    bounded("full_jitter on small ceilings", || {
        // (attempt, base, the whole milliseconds it may give)
        let cases = [
            (1, ms(3), 3),
            (2, ms(3), 6),
            // A ceiling of 2.5 ms: rounded down, 0, 1 or 2 ms.
            (1, Duration::from_micros(2_500), 2),
        ];
        for (seed, (attempt, base, top)) in (7..).zip(cases) {
            let call = format!("full_jitter({attempt}, {base:?}, 1s, ..)");
            let mut seen = BTreeMap::new();
            for wait in draws(700, attempt, base, ms(1_000), seed) {
                *seen.entry(wait).or_insert(0) += 1;
            }
            if let Some((&over, _)) = seen.range(top + 1..).next_back() {
                let why = if over > top * 3 / 2 {
                    "is the exponent attempt instead of attempt − 1?"
                } else {
                    "round the ceiling down to whole milliseconds (as_millis), and draw up to it"
                };
                panic!(
                    "{call} gave {over} ms, past the ceiling of {base:?} × 2^{} rounded down to \
                     whole ms, {top} ms: {why}",
                    attempt - 1
                );
            }
            if seen.len() == 1 {
                panic!(
                    "{call} gave the same wait, {} ms, all 700 times: is there a new generator, \
                     seeded the same way, on every call? Draw from the rng you are given",
                    seen.keys().next().expect("one value")
                );
            }
            for value in 0..=top {
                if !seen.contains_key(&value) {
                    let why = if value == top {
                        "the ceiling itself never came: 0..ceiling leaves it out, use 0..=ceiling"
                    } else if value == 0 {
                        "0 never came: full jitter starts at 0 (0..=ceiling, not 1..=ceiling)"
                    } else {
                        "every whole millisecond from 0 to the ceiling should be as likely"
                    };
                    panic!(
                        "{call}: in 700 draws it never gave {value} ms (it gave {seen:?}): {why}"
                    );
                }
            }
        }
    });
}

#[test]
fn the_same_seed_gives_the_same_waits() {
    bounded("full_jitter with seeded generators", || {
        let (base, cap) = (ms(300), ms(60_000));
        let fresh = "draw from the rng you are given, never from rand::rng(), a generator of \
                     your own, or one seeded from the clock: the caller's seed decides the waits";
        let mut given = StdRng::seed_from_u64(42);
        let mut untouched = StdRng::seed_from_u64(42);
        let _ = jitter(8, base, cap, &mut given);
        assert_ne!(
            given.next_u64(),
            untouched.next_u64(),
            "full_jitter did not draw anything from the rng it was given: {fresh}"
        );
        let mut one = StdRng::seed_from_u64(42);
        let mut two = StdRng::seed_from_u64(42);
        let first: Vec<Duration> = (0..200).map(|_| jitter(8, base, cap, &mut one)).collect();
        let again: Vec<Duration> = (0..200).map(|_| jitter(8, base, cap, &mut two)).collect();
        assert!(
            first == again,
            "two generators with the same seed gave different waits: {fresh}"
        );
        let mut distinct = first.clone();
        distinct.sort();
        distinct.dedup();
        assert!(
            distinct.len() >= 150,
            "200 draws from one generator, ceiling 38.4 s, gave only {} different waits: is \
             there a new generator, seeded the same way, on every call? {fresh}",
            distinct.len()
        );
        let mut other = StdRng::seed_from_u64(43);
        let other: Vec<Duration> = (0..200).map(|_| jitter(8, base, cap, &mut other)).collect();
        assert!(
            first != other,
            "two different seeds gave the very same 200 waits: {fresh}"
        );
    });
}

#[test]
fn a_job_with_max_attempts_n_runs_exactly_n_times() {
    bounded("after_failure over a job's life", || {
        let mut rng = StdRng::seed_from_u64(3);
        for max in [1, 2, 3, 5, 10] {
            // The job fails every time; count its runs until the queue discards it.
            let mut runs = 0;
            loop {
                runs += 1;
                if runs > 100 {
                    break;
                }
                match retry(runs, max, ms(300), ms(60_000), &mut rng) {
                    Next::RetryIn(_) => continue,
                    Next::Discard => break,
                }
            }
            let why = if runs > 100 {
                "it was never discarded: once attempts_so_far reaches max_attempts, answer \
                 Discard"
                    .to_string()
            } else if runs == max + 1 {
                format!(
                    "one run too many: after run {max} fails, attempts_so_far is {max}, and every \
                     attempt is used; discard when attempts_so_far >= max_attempts, not >"
                )
            } else if runs == 1 {
                "it was discarded on the first failure: retry while attempts_so_far < \
                 max_attempts"
                    .to_string()
            } else if runs + 1 == max {
                "one run too few: attempts_so_far counts the run that just failed, so discard \
                 only when it has reached max_attempts"
                    .to_string()
            } else {
                "retry while attempts_so_far < max_attempts, discard after that".to_string()
            };
            assert_eq!(
                runs, max,
                "a job that always fails, with max_attempts = {max}, ran {runs} times: {why}"
            );
        }
        assert_eq!(
            retry(1, 0, ms(300), ms(60_000), &mut rng),
            Next::Discard,
            "after_failure(1, 0, ..): a max_attempts of 0 is treated like 1, so the first \
             failure discards"
        );
    });
}

#[test]
fn the_wait_grows_with_the_attempts_so_far_and_scales_with_base() {
    bounded("after_failure's waits", || {
        for base in [ms(1), ms(250)] {
            for attempts in 1..=4 {
                let top = expected(attempts, base, ms(60_000));
                let mut rng = StdRng::seed_from_u64(u64::from(attempts));
                let waits: Vec<Duration> = (0..2_000)
                    .map(|_| match retry(attempts, 10, base, ms(60_000), &mut rng) {
                        Next::RetryIn(wait) => wait,
                        Next::Discard => panic!(
                            "after_failure({attempts}, 10, ..) discarded the job: it has used \
                             only {attempts} of its 10 attempts, so it should be retried"
                        ),
                    })
                    .collect();
                let highest = waits.iter().max().copied().expect("2000 draws");
                let call = format!("after_failure({attempts}, 10, {base:?}, 60s, ..)");
                assert!(
                    highest <= top,
                    "{call} waited {highest:?}, but the ceiling after {attempts} failed \
                     attempt(s) is {top:?}: pass attempts_so_far itself as the attempt (not + 1), \
                     and the base you were given"
                );
                assert!(
                    highest * 50 >= top * 49,
                    "{call}: the longest of 2000 waits was {highest:?}, but the ceiling is \
                     {top:?}: pass attempts_so_far itself as the attempt (not − 1), the base you \
                     were given, and draw with full_jitter"
                );
            }
        }
        let mut one = StdRng::seed_from_u64(9);
        let mut two = StdRng::seed_from_u64(9);
        for attempts in 1..=50 {
            assert_eq!(
                retry(attempts, 60, ms(300), ms(60_000), &mut one),
                retry(attempts, 60, ms(300), ms(60_000), &mut two),
                "after_failure with two generators seeded alike gave different waits: draw from \
                 the rng you are given (pass it on to full_jitter)"
            );
        }
    });
}
