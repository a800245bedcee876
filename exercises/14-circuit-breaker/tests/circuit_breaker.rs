//! The tests for exercise 14. They run against your code in `exercises/14-circuit-breaker` and
//! against the finished version in `solutions/14-circuit-breaker`.
//!
//! Time is a `ManualClock` that moves only when a test moves it, so every transition happens at
//! a known moment and the tests take no real time. Most tests use a breaker that opens after 3
//! failures in a row, stays open 100 ms, and then lets 2 probes through.

use circuit_breaker::{Breaker, ManualClock, Open, Permit, State};
use course_support::testing::within;
use std::sync::{Arc, Barrier};
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(10);
const COOLDOWN: Duration = Duration::from_millis(100);

/// Runs one test's body, failing it with a message if it has not finished within `LIMIT`.
fn answers_at_once(name: &'static str, body: fn()) {
    within(
        LIMIT,
        name,
        "a call to the breaker never returned: does allow() wait (sleep, or loop until the \
         cool-down is over) instead of refusing at once, or does a method lock the breaker's \
         Mutex a second time while its first guard is still alive (a helper that locks, called \
         with the guard held, deadlocks)?",
        body,
    );
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// A breaker (3 failures, 100 ms, `probes` probes) on a clock that starts at 1 s, so a breaker
/// that counts from 0 instead of from the clock's now shows up.
fn breaker(probes: u32) -> (Breaker, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::default());
    clock.advance(Duration::from_secs(1));
    (Breaker::new(3, COOLDOWN, probes, clock.clone()), clock)
}

/// A permit, failing the test with `why` if refused.
#[track_caller]
fn allowed(b: &Breaker, why: &str) -> Permit {
    b.allow()
        .unwrap_or_else(|Open| panic!("allow() refused, but {why}"))
}

/// Fails the test with `why` unless `allow()` refuses.
#[track_caller]
fn refused(b: &Breaker, why: &str) {
    if let Ok(permit) = b.allow() {
        panic!("allow() gave a permit ({permit:?}), but {why}");
    }
}

#[track_caller]
fn assert_state(b: &Breaker, expected: State, why: &str) {
    let state = b.state();
    assert_eq!(
        state, expected,
        "state() is {state:?}, expected {expected:?}: {why}"
    );
}

/// Three failed calls in a row: opens a closed breaker.
#[track_caller]
fn trip(b: &Breaker) {
    for n in 1..=3 {
        let permit = allowed(
            b,
            &format!("the breaker was closed before failure {n} of 3"),
        );
        b.record(permit, false);
    }
    assert_state(b, State::Open, "3 failures in a row open the breaker");
}

#[test]
fn it_opens_after_n_failures_in_a_row_and_then_refuses() {
    answers_at_once(
        "it_opens_after_n_failures_in_a_row_and_then_refuses",
        it_opens_after_n_failures_in_a_row_and_then_refuses_body,
    );
}

fn it_opens_after_n_failures_in_a_row_and_then_refuses_body() {
    let (b, _clock) = breaker(2);
    assert_state(&b, State::Closed, "a new breaker is closed");
    for _ in 0..2 {
        let permit = allowed(&b, "a closed breaker lets every call through");
        b.record(permit, false);
    }
    assert_state(
        &b,
        State::Closed,
        "2 failures are fewer than the 3 that open it",
    );
    allowed(&b, "2 failures of 3 leave it closed");
    let permit = allowed(&b, "2 failures of 3 leave it closed");
    b.record(permit, false);
    assert_state(
        &b,
        State::Open,
        "the 3rd failure in a row should open the breaker (a permit that was never recorded \
         counts neither way)",
    );
    for _ in 0..5 {
        refused(
            &b,
            "an open breaker refuses every call until its cool-down is over",
        );
    }
}

#[test]
fn a_success_resets_the_failure_count() {
    answers_at_once(
        "a_success_resets_the_failure_count",
        a_success_resets_the_failure_count_body,
    );
}

fn a_success_resets_the_failure_count_body() {
    let (b, _clock) = breaker(2);
    for round in 1..=10 {
        for ok in [false, false, true] {
            let permit = allowed(&b, "two failures then a success never open the breaker");
            b.record(permit, ok);
        }
        assert_state(
            &b,
            State::Closed,
            &format!(
                "after {round} rounds of 2 failures and 1 success: only failures *in a row* \
                 open it, so a success must reset the count to 0 (the Go article's breaker \
                 never resets it, and a million successes between failures don't help)"
            ),
        );
    }
}

#[test]
fn open_refuses_until_the_cooldown_has_passed_then_lets_a_probe_through() {
    answers_at_once(
        "open_refuses_until_the_cooldown_has_passed_then_lets_a_probe_through",
        open_refuses_until_the_cooldown_has_passed_then_lets_a_probe_through_body,
    );
}

fn open_refuses_until_the_cooldown_has_passed_then_lets_a_probe_through_body() {
    let (b, clock) = breaker(2);
    trip(&b);
    clock.advance(ms(99));
    refused(&b, "99 ms after opening, the 100 ms cool-down is not over");
    assert_state(&b, State::Open, "still in the cool-down");
    clock.advance(ms(2));
    allowed(
        &b,
        "101 ms after opening, the 100 ms cool-down is over: the next call should go through \
         as a probe, turning the breaker half-open (is the time the breaker opened taken from \
         the clock you were given?)",
    );
    assert_state(
        &b,
        State::HalfOpen,
        "the first call after the cool-down is a probe",
    );
}

#[test]
fn half_open_lets_at_most_probes_through() {
    answers_at_once(
        "half_open_lets_at_most_probes_through",
        half_open_lets_at_most_probes_through_body,
    );
}

fn half_open_lets_at_most_probes_through_body() {
    let (b, clock) = breaker(2);
    trip(&b);
    clock.advance(ms(101));
    let _first = allowed(&b, "the cool-down is over: the first probe");
    let _second = allowed(&b, "the breaker lets 2 probes through");
    for _ in 0..10 {
        refused(
            &b,
            "2 probes are out and the breaker allows 2: everything else is refused until they \
             come back (the Go article's half-open breaker lets everyone in, and a service that \
             is barely up gets the full load at once)",
        );
    }
    assert_state(&b, State::HalfOpen, "the probes are still out");
}

#[test]
fn when_every_probe_succeeds_it_closes_with_a_fresh_count() {
    answers_at_once(
        "when_every_probe_succeeds_it_closes_with_a_fresh_count",
        when_every_probe_succeeds_it_closes_with_a_fresh_count_body,
    );
}

fn when_every_probe_succeeds_it_closes_with_a_fresh_count_body() {
    let (b, clock) = breaker(2);
    trip(&b);
    clock.advance(ms(101));
    let first = allowed(&b, "the cool-down is over: the first probe");
    b.record(first, true);
    assert_state(
        &b,
        State::HalfOpen,
        "1 probe of 2 succeeded: it closes only when all 2 have",
    );
    let second = allowed(&b, "only 1 of the 2 probes has been let through so far");
    refused(&b, "both probes have been let through");
    b.record(second, true);
    assert_state(&b, State::Closed, "both probes succeeded");
    for _ in 0..2 {
        let permit = allowed(
            &b,
            "the breaker has just closed, so fewer than 3 failures since cannot have opened it \
             (is the failure count reset when the breaker opens, or closes?)",
        );
        b.record(permit, false);
    }
    assert_state(
        &b,
        State::Closed,
        "right after closing, 2 failures are not 3 in a row: reset the failure count when the \
         breaker opens (or closes)",
    );
    for _ in 0..10 {
        let permit = allowed(&b, "a closed breaker lets every call through");
        b.record(permit, true);
    }
}

#[test]
fn a_failed_probe_reopens_it_and_restarts_the_cooldown() {
    answers_at_once(
        "a_failed_probe_reopens_it_and_restarts_the_cooldown",
        a_failed_probe_reopens_it_and_restarts_the_cooldown_body,
    );
}

fn a_failed_probe_reopens_it_and_restarts_the_cooldown_body() {
    let (b, clock) = breaker(2);
    trip(&b);
    clock.advance(ms(101));
    let probe = allowed(&b, "the cool-down is over: a probe");
    clock.advance(ms(49));
    b.record(probe, false);
    assert_state(&b, State::Open, "a failed probe opens the breaker again");
    refused(
        &b,
        "a probe failed and the breaker has just opened again: the cool-down starts over from \
         this moment (is the time it opened updated when a probe fails?)",
    );
    clock.advance(ms(99));
    refused(
        &b,
        "the breaker opened again 99 ms ago: the cool-down starts over when a probe fails \
         (it is 249 ms since it first opened, so a cool-down still counted from then would be \
         over)",
    );
    clock.advance(ms(2));
    allowed(&b, "101 ms after opening again, the cool-down is over");
    assert_state(
        &b,
        State::HalfOpen,
        "the first call after the cool-down is a probe",
    );
}

#[test]
fn results_of_calls_let_through_before_it_opened_do_not_count() {
    answers_at_once(
        "results_of_calls_let_through_before_it_opened_do_not_count",
        results_of_calls_let_through_before_it_opened_do_not_count_body,
    );
}

fn results_of_calls_let_through_before_it_opened_do_not_count_body() {
    let (b, clock) = breaker(2);
    // Six calls are let through while the breaker is closed; the first three fail and open it.
    let mut early: Vec<Permit> = (0..6)
        .map(|_| allowed(&b, "a closed breaker lets every call through"))
        .collect();
    let late = early.split_off(3);
    for permit in early {
        b.record(permit, false);
    }
    assert_state(&b, State::Open, "3 failures in a row");
    let mut late = late.into_iter();
    b.record(late.next().unwrap(), true);
    assert_state(
        &b,
        State::Open,
        "a success from a call let through before the breaker opened says nothing about \
         recovery: it must not close an open breaker",
    );
    clock.advance(ms(101));
    let probe = allowed(&b, "the cool-down is over: the first probe");
    b.record(late.next().unwrap(), false);
    assert_state(
        &b,
        State::HalfOpen,
        "a failure from a call let through before the breaker opened re-opened the half-open \
         breaker: while half-open only probes count, so a Permit must remember how (or when) \
         it was issued",
    );
    b.record(late.next().unwrap(), true);
    let second = allowed(
        &b,
        "one probe is out of 2, and a late result from before the trip must not use up a \
         probe's place",
    );
    b.record(probe, true);
    assert_state(
        &b,
        State::HalfOpen,
        "one probe and one success from before the trip have come back: that success is not a \
         probe's, so only 1 of 2 probes has succeeded",
    );
    b.record(second, true);
    assert_state(&b, State::Closed, "both probes succeeded");
}

#[test]
fn a_late_probe_from_an_earlier_half_open_spell_does_not_count() {
    answers_at_once(
        "a_late_probe_from_an_earlier_half_open_spell_does_not_count",
        a_late_probe_from_an_earlier_half_open_spell_does_not_count_body,
    );
}

fn a_late_probe_from_an_earlier_half_open_spell_does_not_count_body() {
    let (b, clock) = breaker(3);
    trip(&b);
    clock.advance(ms(101));
    let failing = allowed(&b, "the cool-down is over: probe 1 of 3");
    let slow_fail = allowed(&b, "probe 2 of 3");
    let slow_ok = allowed(&b, "probe 3 of 3");
    b.record(failing, false);
    assert_state(&b, State::Open, "a probe failed");
    clock.advance(ms(101));
    let first = allowed(
        &b,
        "the new cool-down is over: the first probe of a new spell",
    );
    b.record(slow_fail, false);
    assert_state(
        &b,
        State::HalfOpen,
        "a probe from the *previous* half-open spell came back failed and re-opened the \
         breaker: it was issued before the breaker last opened, so it must not count (a \
         probe/not-probe flag is not enough: note the spell, or a round number)",
    );
    b.record(slow_ok, true);
    let second = allowed(&b, "1 probe of this spell is out, of 3");
    let third = allowed(&b, "2 probes of this spell are out, of 3");
    b.record(first, true);
    b.record(second, true);
    assert_state(
        &b,
        State::HalfOpen,
        "2 probes of this spell have succeeded, of 3; the other success was a probe of the \
         previous spell and must not count",
    );
    b.record(third, true);
    assert_state(&b, State::Closed, "all 3 probes of this spell succeeded");
}

#[test]
fn threads_asking_at_once_while_half_open_get_no_more_than_the_probes() {
    fn shared<T: Send + Sync>(_: &T) {}
    fn sent<T: Send>(_: &T) {}
    for round in 0..20 {
        let probes = 1 + round % 3;
        let (b, clock) = breaker(probes);
        shared(&b);
        trip(&b);
        clock.advance(ms(101));
        let b = Arc::new(b);
        let shared_b = Arc::clone(&b);
        let permits: Vec<Permit> = within(
            LIMIT,
            "8 threads × 50 calls to allow()",
            "does allow() wait for something (it should answer at once), or lock the breaker's Mutex a second time while holding it (a deadlock)?",
            move || {
                let start = Arc::new(Barrier::new(8));
                let handles: Vec<_> = (0..8)
                    .map(|_| {
                        let (b, start) = (Arc::clone(&shared_b), Arc::clone(&start));
                        std::thread::spawn(move || {
                            start.wait();
                            // Kept, not dropped, so every permit given out is still out at the end.
                            (0..50).filter_map(|_| b.allow().ok()).collect::<Vec<_>>()
                        })
                    })
                    .collect();
                handles
                    .into_iter()
                    .flat_map(|h| h.join().expect("allow() panicked"))
                    .collect()
            },
        );
        if let Some(p) = permits.first() {
            sent(p);
        }
        assert!(
            permits.len() <= probes as usize,
            "8 threads asking at once got {} permits from a half-open breaker that allows {probes} \
             probe(s): checking the number of probes out and counting one more must be one step, \
             under the breaker's lock",
            permits.len()
        );
        assert_eq!(
            permits.len(),
            probes as usize,
            "8 threads asking at once after the cool-down got only {} of the {probes} probes",
            permits.len()
        );
        assert_state(&b, State::HalfOpen, "the probes are out");
    }
}

#[test]
fn the_state_follows_the_whole_cycle() {
    answers_at_once(
        "the_state_follows_the_whole_cycle",
        the_state_follows_the_whole_cycle_body,
    );
}

fn the_state_follows_the_whole_cycle_body() {
    let (b, clock) = breaker(1);
    let mut seen = vec![b.state()];
    trip(&b);
    seen.push(b.state());
    clock.advance(ms(101));
    let probe = allowed(&b, "the cool-down is over");
    seen.push(b.state());
    b.record(probe, false);
    seen.push(b.state());
    clock.advance(ms(101));
    let probe = allowed(&b, "the cool-down is over again");
    seen.push(b.state());
    b.record(probe, true);
    seen.push(b.state());
    use State::*;
    assert_eq!(
        seen,
        [Closed, Open, HalfOpen, Open, HalfOpen, Closed],
        "closed, 3 failures, cool-down and a probe, the probe fails, cool-down and a probe, the \
         probe succeeds"
    );
}

#[test]
fn the_cooldown_is_over_at_exactly_cooldown() {
    answers_at_once(
        "the_cooldown_is_over_at_exactly_cooldown",
        the_cooldown_is_over_at_exactly_cooldown_body,
    );
}

fn the_cooldown_is_over_at_exactly_cooldown_body() {
    let (b, clock) = breaker(1);
    trip(&b);
    clock.advance(COOLDOWN - Duration::from_nanos(1));
    refused(
        &b,
        "1 ns before the 100 ms cool-down is over, the breaker is still open",
    );
    clock.advance(Duration::from_nanos(1));
    allowed(
        &b,
        "exactly 100 ms after opening, the 100 ms cool-down is over (`now - opened_at >= \
         cooldown`): refuse only while `now - opened_at < cooldown`, not `<=`",
    );
    assert_state(
        &b,
        State::HalfOpen,
        "the call after the cool-down is a probe",
    );
}

#[test]
fn zero_failures_or_zero_probes_are_refused() {
    for (failures, probes, why) in [
        (
            0,
            1,
            "a breaker that opens after 0 failures would open with none",
        ),
        (1, 0, "a half-open breaker with 0 probes could never close"),
    ] {
        let clock: Arc<ManualClock> = Arc::new(ManualClock::default());
        let made = std::panic::catch_unwind(move || {
            let _ = Breaker::new(failures, COOLDOWN, probes, clock);
        });
        assert!(
            made.is_err(),
            "Breaker::new({failures}, 100 ms, {probes}, ..) returned a breaker, but it should \
             panic: {why} (start `new` with `assert!(failures > 0, ..)` and \
             `assert!(probes > 0, ..)`)"
        );
    }
}

#[test]
fn the_one_probe_goes_to_exactly_one_of_the_threads_asking_for_it() {
    // Round after round, the breaker has just finished its cool-down with 1 probe to give, and
    // 4 threads ask at the same moment. A check of the probes out under one lock and the count
    // under another lets two of them through; it takes luck for that to happen in any one
    // round, hence the many rounds.
    const ROUNDS: usize = 4_000;
    let (b, clock) = breaker(1);
    let b = Arc::new(b);
    let doubles = within(
        LIMIT,
        "4 threads asking for the one probe, 4000 times",
        "does allow() wait for something (it should answer at once), or lock the breaker's \
         Mutex a second time while holding it (a deadlock)?",
        move || {
            let step = Arc::new(Barrier::new(4));
            let mut doubles = Vec::new();
            for round in 0..ROUNDS {
                if b.state() != State::Open {
                    trip(&b);
                }
                clock.advance(COOLDOWN);
                let permits: Vec<Permit> = std::thread::scope(|s| {
                    let askers: Vec<_> = (0..4)
                        .map(|_| {
                            let (b, step) = (&b, &step);
                            s.spawn(move || {
                                step.wait();
                                b.allow().ok()
                            })
                        })
                        .collect();
                    askers
                        .into_iter()
                        .filter_map(|h| h.join().expect("allow() panicked"))
                        .collect()
                });
                if permits.len() != 1 {
                    doubles.push((round, permits.len()));
                }
                // The probe fails: the breaker opens again, for the next round.
                for permit in permits {
                    b.record(permit, false);
                }
            }
            doubles
        },
    );
    assert!(
        doubles.is_empty(),
        "in {} of {ROUNDS} rounds, the one probe of a half-open breaker did not go to exactly \
         one of 4 threads asking at once (round, permits given): {:?}. If more than one got \
         it, checking the probes out and counting one more are two steps: lock once at the top \
         of allow() and keep the guard to the end. If none got it, is the cool-down over at \
         exactly its length (`now - opened_at >= cooldown`)?",
        doubles.len(),
        &doubles[..doubles.len().min(10)]
    );
}
