//! The tests for exercise 13. They run against your code in `exercises/13-token-bucket` and
//! against the finished version in `solutions/13-token-bucket`.
//!
//! Time is a `ManualClock` that moves only when a test moves it, so every count is exact and the
//! tests take no real time. Wait times are checked to the microsecond, which leaves room for a
//! bucket that counts its tokens in `f64`.

use course_support::testing::within;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::time::Duration;
use token_bucket::{ManualClock, TokenBucket};

const LIMIT: Duration = Duration::from_secs(10);

/// Runs one test's body, failing it with a message if it has not finished within `LIMIT`.
fn answers_at_once(name: &'static str, body: fn()) {
    within(
        LIMIT,
        name,
        "try_take never returned: does it wait (sleep, or loop until a token is back) instead of \
         answering at once with the wait, or lock the bucket twice (a second `lock()` on the same \
         Mutex while the first guard is alive deadlocks)?",
        body,
    );
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// A bucket on a manual clock that starts at `start`, and the clock.
fn bucket_at(start: Duration, rate: u32, burst: u32) -> (TokenBucket, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::default());
    clock.advance(start);
    let bucket = TokenBucket::new(rate, burst, clock.clone());
    (bucket, clock)
}

/// Takes tokens until refused (at most `cap`), and returns how many it got and the refusal.
fn take_all(bucket: &TokenBucket, cap: usize) -> (usize, Option<Duration>) {
    for taken in 0..cap {
        if let Err(wait) = bucket.try_take() {
            return (taken, Some(wait));
        }
    }
    (cap, None)
}

/// Fails the test unless `got` is a refusal with a wait within a microsecond of `expected`.
fn assert_wait(got: Result<(), Duration>, expected: Duration, when: &str) {
    let wait = match got {
        Err(wait) => wait,
        Ok(()) => panic!(
            "{when}: a call was allowed, but the bucket should be empty for another {expected:?}: \
             do tokens come back too fast (rate per call, or per millisecond, instead of \
             rate × seconds elapsed)?"
        ),
    };
    assert!(
        wait.abs_diff(expected) <= Duration::from_micros(1),
        "{when}: refused with a wait of {wait:?}, expected {expected:?}: the wait is how long \
         until the next whole token, (1 − the fraction in the bucket) ÷ rate"
    );
}

#[test]
fn a_full_bucket_allows_the_burst_at_once_then_says_how_long_to_wait() {
    answers_at_once(
        "a_full_bucket_allows_the_burst_at_once_then_says_how_long_to_wait",
        a_full_bucket_allows_the_burst_at_once_then_says_how_long_to_wait_body,
    );
}

fn a_full_bucket_allows_the_burst_at_once_then_says_how_long_to_wait_body() {
    let (bucket, _clock) = bucket_at(Duration::ZERO, 10, 3);
    let (taken, refused) = take_all(&bucket, 100);
    assert_eq!(
        taken, 3,
        "a new bucket with a burst of 3 should allow exactly 3 calls at once (it starts full, \
         and holds no more than the burst)"
    );
    assert_wait(
        Err(refused.expect("refused after the burst")),
        ms(100),
        "at 10 per second, just after the burst",
    );
    assert_wait(
        bucket.try_take(),
        ms(100),
        "asking again at once (a refused call takes nothing)",
    );
}

#[test]
fn tokens_come_back_at_the_rate_and_the_wait_counts_down() {
    answers_at_once(
        "tokens_come_back_at_the_rate_and_the_wait_counts_down",
        tokens_come_back_at_the_rate_and_the_wait_counts_down_body,
    );
}

fn tokens_come_back_at_the_rate_and_the_wait_counts_down_body() {
    // At 10 per second: one token every 100 ms.
    let (bucket, clock) = bucket_at(ms(5_000), 10, 3);
    assert_eq!(take_all(&bucket, 100).0, 3, "the burst, at once");
    clock.advance(ms(40));
    assert_wait(
        bucket.try_take(),
        ms(60),
        "40 ms after emptying the bucket (0.4 of a token is back)",
    );
    clock.advance(ms(59));
    assert_wait(bucket.try_take(), ms(1), "99 ms after emptying the bucket");
    clock.advance(ms(2));
    assert_eq!(
        bucket.try_take(),
        Ok(()),
        "101 ms after emptying the bucket, at 10 per second, a whole token is back: is the \
         refill computed from the time elapsed on the clock you were given?"
    );
    assert_wait(
        bucket.try_take(),
        ms(99),
        "right after taking the token that came back at 100 ms",
    );
    clock.advance(ms(100));
    assert_eq!(bucket.try_take(), Ok(()), "one more 100 ms later");
    assert_wait(bucket.try_take(), ms(99), "and only one");
}

#[test]
fn a_long_quiet_spell_banks_no_more_than_the_burst() {
    answers_at_once(
        "a_long_quiet_spell_banks_no_more_than_the_burst",
        a_long_quiet_spell_banks_no_more_than_the_burst_body,
    );
}

fn a_long_quiet_spell_banks_no_more_than_the_burst_body() {
    let (bucket, clock) = bucket_at(Duration::ZERO, 10, 2);
    assert_eq!(take_all(&bucket, 100).0, 2, "the burst, at once");
    clock.advance(Duration::from_secs(60));
    let (taken, refused) = take_all(&bucket, 1_000);
    assert_eq!(
        taken, 2,
        "after a minute of quiet at 10 per second, {taken} calls were allowed at once; a bucket \
         holds at most the burst (2): cap the tokens at the burst when you add them"
    );
    assert_wait(
        Err(refused.expect("refused after the burst")),
        ms(100),
        "after the burst that followed a minute of quiet",
    );
}

#[test]
fn a_new_bucket_starts_full_whatever_the_clock_says() {
    answers_at_once(
        "a_new_bucket_starts_full_whatever_the_clock_says",
        a_new_bucket_starts_full_whatever_the_clock_says_body,
    );
}

fn a_new_bucket_starts_full_whatever_the_clock_says_body() {
    let (bucket, _clock) = bucket_at(Duration::from_secs(3_600), 10, 4);
    let (taken, _) = take_all(&bucket, 1_000);
    assert_eq!(
        taken, 4,
        "a new bucket, on a clock that already reads 1 hour, allowed {taken} calls at once: it \
         should start full, with exactly its burst of 4"
    );
}

#[test]
fn the_long_run_rate_is_the_rate() {
    answers_at_once(
        "the_long_run_rate_is_the_rate",
        the_long_run_rate_is_the_rate_body,
    );
}

fn the_long_run_rate_is_the_rate_body() {
    // At 50 per second with bursts of 5, asking as often as possible every millisecond for 10 s:
    // the 5 of the burst, then one every 20 ms.
    let (bucket, clock) = bucket_at(Duration::ZERO, 50, 5);
    let mut allowed = 0;
    for t in 0..=10_000 {
        if t > 0 {
            clock.advance(ms(1));
        }
        allowed += take_all(&bucket, 100).0;
    }
    assert!(
        allowed <= 505,
        "{allowed} calls allowed in 10 s at 50 per second with a burst of 5, at most 505: \
         tokens come back too fast (are you adding `rate` tokens per call, or per millisecond, \
         instead of rate × seconds elapsed?)"
    );
    assert!(
        allowed >= 500,
        "only {allowed} calls allowed in 10 s at 50 per second, at least 500: tokens come back \
         too slowly (are fractions of a token lost between calls?)"
    );
}

#[test]
fn fractions_of_a_token_are_kept() {
    answers_at_once(
        "fractions_of_a_token_are_kept",
        fractions_of_a_token_are_kept_body,
    );
}

fn fractions_of_a_token_are_kept_body() {
    // At 3 per second, a token every 333.3 ms. Calls come every 10 ms, each bringing back 0.03 of
    // a token: rounded down to whole tokens, every one of them is lost.
    let (bucket, clock) = bucket_at(Duration::ZERO, 3, 3);
    assert_eq!(take_all(&bucket, 100).0, 3, "the burst, at once");
    clock.advance(ms(5));
    let mut came_back = 0;
    for step in 1..=1_000 {
        // The clock reads 5 ms + 10 ms × (step − 1): never within 1 ms of a token's return.
        came_back += take_all(&bucket, 100).0;
        if step % 100 == 1 && step > 1 {
            let seconds = step / 100;
            assert_eq!(
                came_back,
                3 * seconds,
                "{seconds} s after emptying a bucket that refills at 3 per second, {came_back} \
                 tokens came back, expected exactly {}: with a call every 10 ms, each brings back \
                 0.03 of a token; keep the fraction (count in f64, or in thousandths or \
                 billionths of a token) instead of rounding it away",
                3 * seconds
            );
        }
        clock.advance(ms(10));
    }
    // The last reading above was at 9.995 s; one more at 10.005 s.
    came_back += take_all(&bucket, 100).0;
    assert_eq!(came_back, 30, "exactly 30 tokens in 10 s at 3 per second");
}

#[test]
fn many_threads_at_one_instant_get_no_more_than_the_burst() {
    fn shared<T: Send + Sync>(_: &T) {}
    let (bucket, _clock) = bucket_at(Duration::ZERO, 1, 8);
    shared(&bucket);
    for round in 0..20 {
        let (bucket, _clock) = bucket_at(Duration::from_secs(round), 1, 8);
        let bucket = Arc::new(bucket);
        let allowed = Arc::new(AtomicUsize::new(0));
        let (b, a) = (Arc::clone(&bucket), Arc::clone(&allowed));
        within(
            LIMIT,
            "4 threads × 100 calls",
            "does try_take wait for something? It should answer at once",
            move || {
                let start = Arc::new(Barrier::new(4));
                std::thread::scope(|s| {
                    for _ in 0..4 {
                        let (b, a, start) = (&b, &a, Arc::clone(&start));
                        s.spawn(move || {
                            start.wait();
                            for _ in 0..100 {
                                if b.try_take().is_ok() {
                                    a.fetch_add(1, Ordering::SeqCst);
                                }
                            }
                        });
                    }
                });
            },
        );
        let allowed = allowed.load(Ordering::SeqCst);
        assert!(
            allowed <= 8,
            "4 threads asking 100 times each at one instant got {allowed} tokens from a bucket of \
             8: checking for a token and taking it must be one step (under one lock, or a \
             compare_exchange loop), or two threads take the same token"
        );
        assert_eq!(
            allowed, 8,
            "4 threads asking 100 times each at one instant got only {allowed} tokens from a full \
             bucket of 8"
        );
    }
}

#[test]
fn time_is_counted_below_the_millisecond() {
    answers_at_once(
        "time_is_counted_below_the_millisecond",
        time_is_counted_below_the_millisecond_body,
    );
}

fn time_is_counted_below_the_millisecond_body() {
    // At 1000 per second, a token every millisecond; the clock moves 400 µs at a time.
    let (bucket, clock) = bucket_at(Duration::ZERO, 1_000, 1);
    assert_eq!(bucket.try_take(), Ok(()), "the burst of 1, at once");
    clock.advance(Duration::from_micros(400));
    assert_wait(
        bucket.try_take(),
        Duration::from_micros(600),
        "400 µs after emptying a bucket that refills at 1000 per second",
    );
    clock.advance(Duration::from_micros(400));
    assert_wait(
        bucket.try_take(),
        Duration::from_micros(200),
        "800 µs after emptying the bucket, in two steps of 400 µs (if the wait is still 1 ms, \
         the elapsed time is measured in whole milliseconds: use `as_nanos()` or \
         `as_secs_f64()`, not `as_millis()`, and round the wait up to the nanosecond, not the \
         millisecond)",
    );
    clock.advance(Duration::from_micros(200));
    assert_eq!(
        bucket.try_take(),
        Ok(()),
        "exactly 1 ms after emptying a bucket that refills at 1000 per second, in steps of \
         400 µs, 400 µs and 200 µs, the token is back: is each step's time counted to the \
         nanosecond (not `as_millis()`, which rounds 400 µs down to 0 and then moves the time \
         on), and is a bucket holding exactly one token allowed (`>=`, not `>`)?"
    );
}

#[test]
fn a_wait_that_is_not_whole_milliseconds_is_not_rounded_to_them() {
    answers_at_once(
        "a_wait_that_is_not_whole_milliseconds_is_not_rounded_to_them",
        a_wait_that_is_not_whole_milliseconds_is_not_rounded_to_them_body,
    );
}

fn a_wait_that_is_not_whole_milliseconds_is_not_rounded_to_them_body() {
    // At 3 per second, a token every 333.333… ms.
    let (bucket, clock) = bucket_at(Duration::ZERO, 3, 1);
    assert_eq!(bucket.try_take(), Ok(()), "the burst of 1, at once");
    assert_wait(
        bucket.try_take(),
        Duration::from_nanos(333_333_334),
        "at 3 per second, just after the burst (the wait is 1/3 s, not rounded to whole \
         milliseconds)",
    );
    clock.advance(Duration::from_nanos(333_333_334));
    assert_eq!(
        bucket.try_take(),
        Ok(()),
        "after waiting exactly the wait the bucket gave (333.333334 ms at 3 per second), a \
         token should be back: round the wait up, not down"
    );
}

#[test]
fn a_rate_or_burst_of_zero_is_refused() {
    answers_at_once(
        "a_rate_or_burst_of_zero_is_refused",
        a_rate_or_burst_of_zero_is_refused_body,
    );
}

fn a_rate_or_burst_of_zero_is_refused_body() {
    for (rate, burst, why) in [
        (0, 5, "a rate of 0 would never refill"),
        (5, 0, "a burst of 0 could never hold a token"),
    ] {
        let clock: Arc<ManualClock> = Arc::new(ManualClock::default());
        let made = std::panic::catch_unwind(move || {
            let _ = TokenBucket::new(rate, burst, clock);
        });
        assert!(
            made.is_err(),
            "TokenBucket::new({rate}, {burst}, ..) returned a bucket, but it should panic: {why} \
             (start `new` with `assert!(rate_per_sec > 0, ..)` and `assert!(burst > 0, ..)`)"
        );
    }
}

#[test]
fn the_last_token_goes_to_exactly_one_of_the_threads_asking_for_it() {
    // Round after round, the bucket holds exactly one token and 4 threads ask for it at the
    // same moment. A check under one lock and a take under another lets two of them see the
    // token and both take it; it takes luck for that to happen in any one round, hence the
    // many rounds.
    const ROUNDS: usize = 3_000;
    let (bucket, clock) = bucket_at(Duration::ZERO, 1_000, 1);
    let bucket = Arc::new(bucket);
    let doubles = within(
        LIMIT,
        "4 threads asking for the one token, 3000 times",
        "does try_take wait for something (it should answer at once), or lock the bucket twice \
         while holding it (a deadlock)?",
        move || {
            let step = Arc::new(Barrier::new(4));
            let got = Arc::new(AtomicUsize::new(0));
            let mut doubles = Vec::new();
            for round in 0..ROUNDS {
                // One millisecond at 1000 per second: one whole token, in an empty bucket.
                if round > 0 {
                    clock.advance(ms(1));
                }
                got.store(0, Ordering::SeqCst);
                std::thread::scope(|s| {
                    for _ in 0..4 {
                        let (bucket, step, got) = (&bucket, &step, &got);
                        s.spawn(move || {
                            step.wait();
                            if bucket.try_take().is_ok() {
                                got.fetch_add(1, Ordering::SeqCst);
                            }
                        });
                    }
                });
                let winners = got.load(Ordering::SeqCst);
                if winners != 1 {
                    doubles.push((round, winners));
                }
            }
            doubles
        },
    );
    assert!(
        doubles.is_empty(),
        "in {} of {ROUNDS} rounds, the one token in the bucket did not go to exactly one of 4 \
         threads asking at once (round, tokens handed out): {:?}. If more than one got it, the \
         check for a token and the take are two steps: lock once at the top of try_take and \
         keep the guard to the end (or use one compare_exchange loop)",
        doubles.len(),
        &doubles[..doubles.len().min(10)]
    );
}
