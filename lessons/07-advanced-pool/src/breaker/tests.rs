//! The breaker's state machine, step by step, on times given by hand.

use super::*;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn breaker() -> Breaker {
    Breaker::new(BreakerConfig {
        failures: 3,
        cooldown: ms(100),
        probes: 2,
    })
}

/// Admits a job that must be a probe, and returns its pass.
fn probe(b: &Breaker, at: Duration) -> Pass {
    let pass = b.admit(at).0.expect("a probe should be let through");
    assert!(
        matches!(pass, Pass::Probe(_)),
        "expected a probe, got {pass:?}"
    );
    pass
}

fn trip(b: &Breaker, at: Duration) {
    for _ in 0..3 {
        let (pass, _) = b.admit(at);
        b.record(pass.unwrap(), false, at);
    }
    assert_eq!(b.state(), State::Open);
}

#[test]
fn closed_opens_after_n_failures_in_a_row() {
    let b = breaker();
    b.record(Pass::Normal, false, ms(0));
    b.record(Pass::Normal, false, ms(0));
    assert_eq!(b.state(), State::Closed);
    let change = b.record(Pass::Normal, false, ms(5));
    assert_eq!(
        change,
        Some(Transition {
            from: State::Closed,
            to: State::Open,
            at: ms(5)
        })
    );
}

#[test]
fn a_success_resets_the_streak_while_closed() {
    let b = breaker();
    for _ in 0..10 {
        b.record(Pass::Normal, false, ms(0));
        b.record(Pass::Normal, false, ms(0));
        b.record(Pass::Normal, true, ms(0));
    }
    assert_eq!(
        b.state(),
        State::Closed,
        "two failures then a success, ten times, never trips"
    );
}

#[test]
fn open_refuses_at_once_until_the_cooldown_is_over() {
    let b = breaker();
    trip(&b, ms(0));
    assert_eq!(b.admit(ms(99)).0, Err(()));
    let (pass, change) = b.admit(ms(100));
    assert!(matches!(pass, Ok(Pass::Probe(_))));
    assert_eq!(
        change,
        Some(Transition {
            from: State::Open,
            to: State::HalfOpen,
            at: ms(100)
        })
    );
}

#[test]
fn half_open_admits_only_the_configured_probes() {
    let b = breaker();
    trip(&b, ms(0));
    probe(&b, ms(100));
    probe(&b, ms(100));
    assert_eq!(
        b.admit(ms(100)).0,
        Err(()),
        "a third job while two probes are out"
    );
    assert_eq!(b.state(), State::HalfOpen);
}

#[test]
fn all_probes_succeeding_close_it() {
    let b = breaker();
    trip(&b, ms(0));
    let (first, second) = (probe(&b, ms(100)), probe(&b, ms(100)));
    assert_eq!(b.record(first, true, ms(110)), None);
    let change = b.record(second, true, ms(120));
    assert_eq!(
        change,
        Some(Transition {
            from: State::HalfOpen,
            to: State::Closed,
            at: ms(120)
        })
    );
    assert_eq!(b.admit(ms(120)).0, Ok(Pass::Normal));
}

#[test]
fn a_failed_probe_reopens_it_and_restarts_the_cooldown() {
    let b = breaker();
    trip(&b, ms(0));
    let first = probe(&b, ms(100));
    let change = b.record(first, false, ms(150));
    assert_eq!(
        change,
        Some(Transition {
            from: State::HalfOpen,
            to: State::Open,
            at: ms(150)
        })
    );
    assert_eq!(
        b.admit(ms(200)).0,
        Err(()),
        "the cool-down counts from the re-opening"
    );
    probe(&b, ms(250));
}

#[test]
fn late_results_from_before_the_trip_are_ignored() {
    let b = breaker();
    trip(&b, ms(0));
    b.record(Pass::Normal, true, ms(10));
    assert_eq!(
        b.state(),
        State::Open,
        "a success admitted before the trip does not close it"
    );
    probe(&b, ms(100));
    b.record(Pass::Normal, false, ms(110));
    assert_eq!(
        b.state(),
        State::HalfOpen,
        "an old failure does not count against the probes"
    );
}

#[test]
fn a_released_probe_frees_its_place() {
    let b = breaker();
    trip(&b, ms(0));
    probe(&b, ms(100));
    let second = probe(&b, ms(100));
    b.release(second);
    probe(&b, ms(100));
}

#[test]
fn a_late_probe_from_an_earlier_spell_does_not_count() {
    let b = breaker();
    trip(&b, ms(0));
    let (old, failing) = (probe(&b, ms(100)), probe(&b, ms(100)));
    b.record(failing, false, ms(110)); // spell 1 fails: open again
    let new = probe(&b, ms(210)); // spell 2 begins
    assert_eq!(
        b.record(old, true, ms(220)),
        None,
        "spell 1's late success counts for nothing"
    );
    assert_eq!(b.state(), State::HalfOpen);
    let last = probe(&b, ms(220));
    b.record(new, true, ms(230));
    let change = b.record(last, true, ms(240));
    assert_eq!(
        change.map(|c| c.to),
        Some(State::Closed),
        "both of spell 2's probes close it"
    );
}
