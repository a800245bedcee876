//! The queue's promises, one by one, on an injected clock: leases run out when the test says so.

mod shared;

use lesson_10::clock::ManualClock;
use lesson_10::job::State;
use lesson_10::store::{Durability, Enqueued, ErrorKind, Recorded, Store, StoreError, Turn};
use shared::jobs::{backoff, failed, job, ok};
use std::path::Path;
use std::sync::{Arc, Barrier};
use std::time::Duration;

const LEASE: Duration = Duration::from_millis(1000);

fn open(path: &Path, clock: &Arc<ManualClock>) -> Store {
    Store::open(path, Durability::Full, clock.clone(), backoff()).expect("open the queue")
}

fn fresh() -> (tempfile::TempDir, Arc<ManualClock>, Store) {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::default());
    // Start the clock well after zero, as a wall clock would be.
    clock.advance(Duration::from_secs(1_000));
    let store = open(&dir.path().join("q.db"), &clock);
    (dir, clock, store)
}

fn state(store: &Store, id: i64) -> State {
    store.job(id).unwrap().expect("the job exists").state
}

#[test]
fn claims_take_waiting_jobs_oldest_first_and_never_the_same_job_twice() {
    let (_dir, _clock, mut store) = fresh();
    store
        .enqueue(&[job("a", 3), job("b", 3), job("c", 3)])
        .unwrap();
    let first = store.claim("w1", 2, LEASE).unwrap();
    let second = store.claim("w2", 2, LEASE).unwrap();
    let ids: Vec<i64> = first.iter().chain(&second).map(|c| c.id).collect();
    assert_eq!(ids, [1, 2, 3], "each job claimed once, oldest first");
    assert!(store.claim("w3", 1, LEASE).unwrap().is_empty());
    assert!(first.iter().chain(&second).all(|c| c.attempt == 1));
}

#[test]
fn an_idempotency_key_gives_back_the_existing_job() {
    let (_dir, _clock, mut store) = fresh();
    let mut a = job("charge order 7", 3);
    a.key = Some("order-7".into());
    let b = job("other", 3);
    assert_eq!(
        store.enqueue(&[a.clone(), b]).unwrap(),
        [Enqueued::New(1), Enqueued::New(2)]
    );
    let mut again = a.clone();
    again.payload = "charge order 7, sent twice".into();
    assert_eq!(store.enqueue(&[again]).unwrap(), [Enqueued::Existing(1)]);
    assert_eq!(store.counts().unwrap().total(), 2);
    assert_eq!(store.job(1).unwrap().unwrap().payload, "charge order 7");
}

#[test]
fn completion_writes_the_effect_and_the_state_together() {
    let (_dir, _clock, mut store) = fresh();
    store.enqueue(&[job("double 21", 3)]).unwrap();
    let c = store.claim("w1", 1, LEASE).unwrap().remove(0);
    assert_eq!(state(&store, 1), State::Running);
    assert_eq!(
        store.finish(ok(1, c.token, "42")).unwrap(),
        Recorded::Completed
    );
    assert_eq!(state(&store, 1), State::Completed);
    assert_eq!(store.effects().unwrap(), [(1, "42".to_string())]);
    // Finishing again with the same token changes nothing: the job is no longer running.
    assert_eq!(
        store.finish(ok(1, c.token, "42")).unwrap(),
        Recorded::LeaseLost
    );
    assert_eq!(store.effects().unwrap().len(), 1);
    assert!(
        store.claim("w2", 1, LEASE).unwrap().is_empty(),
        "completed jobs stay done"
    );
}

#[test]
fn a_job_whose_lease_ran_out_is_claimed_again_and_the_late_completion_is_refused() {
    let (_dir, clock, mut store) = fresh();
    store.enqueue(&[job("slow", 3)]).unwrap();
    let old = store.claim("w1", 1, LEASE).unwrap().remove(0);
    // One millisecond before the lease ends: still held.
    clock.advance(LEASE - Duration::from_millis(1));
    assert!(
        store.claim("w2", 1, LEASE).unwrap().is_empty(),
        "the lease still holds"
    );
    clock.advance(Duration::from_millis(1));
    let new = store.claim("w2", 1, LEASE).unwrap().remove(0);
    assert_eq!((new.id, new.attempt), (1, 2), "the lost attempt counts");
    assert_ne!(new.token, old.token, "a new claim, a new token");
    assert!(new.previous_error.unwrap().contains("lease ran out"));
    // The first worker was only slow; its completion arrives now and must change nothing.
    assert_eq!(
        store.finish(ok(1, old.token, "from w1")).unwrap(),
        Recorded::LeaseLost
    );
    assert!(store.effects().unwrap().is_empty());
    assert_eq!(
        store.finish(ok(1, new.token, "from w2")).unwrap(),
        Recorded::Completed
    );
    assert_eq!(store.effects().unwrap(), [(1, "from w2".to_string())]);
}

#[test]
fn renewing_keeps_the_lease_and_a_lost_lease_cannot_be_renewed() {
    let (_dir, clock, mut store) = fresh();
    store.enqueue(&[job("long", 3)]).unwrap();
    let c = store.claim("w1", 1, LEASE).unwrap().remove(0);
    for _ in 0..5 {
        clock.advance(LEASE / 2);
        assert!(store.renew(1, c.token, LEASE).unwrap());
        assert!(
            store.claim("w2", 1, LEASE).unwrap().is_empty(),
            "renewed: still held"
        );
    }
    clock.advance(LEASE);
    let taken = store.claim("w2", 1, LEASE).unwrap().remove(0);
    assert!(
        !store.renew(1, c.token, LEASE).unwrap(),
        "the old token lost the job"
    );
    assert!(store.renew(1, taken.token, LEASE).unwrap());
}

#[test]
fn a_failure_waits_out_its_backoff_and_the_last_one_is_discarded_with_its_error() {
    let (_dir, clock, mut store) = fresh();
    store.enqueue(&[job("flaky", 3)]).unwrap();
    for attempt in 1..=3u32 {
        let c = store.claim("w1", 1, LEASE).unwrap().remove(0);
        assert_eq!(c.attempt, attempt);
        let recorded = store
            .finish(failed(1, c.token, &format!("boom {attempt}")))
            .unwrap();
        if attempt < 3 {
            let Recorded::Retry { delay, .. } = recorded else {
                panic!("attempt {attempt} of 3 failed: expected a retry, got {recorded:?}");
            };
            assert_eq!(delay, backoff().delay(1, attempt), "the seeded backoff");
            assert_eq!(state(&store, 1), State::Retryable);
            if delay > Duration::ZERO {
                clock.advance(delay - Duration::from_millis(1));
                assert!(
                    store.claim("w1", 1, LEASE).unwrap().is_empty(),
                    "claimed before its backoff of {delay:?} was over"
                );
                clock.advance(Duration::from_millis(1));
            }
        } else {
            assert_eq!(recorded, Recorded::Discarded);
        }
    }
    let dead = store.job(1).unwrap().unwrap();
    assert_eq!(dead.state, State::Discarded);
    assert_eq!(dead.last_error.as_deref(), Some("boom 3"));
    clock.advance(Duration::from_secs(3600));
    assert!(
        store.claim("w1", 1, LEASE).unwrap().is_empty(),
        "discarded jobs stay put"
    );
}

#[test]
fn a_lost_lease_on_the_last_attempt_discards_the_job() {
    let (_dir, clock, mut store) = fresh();
    store.enqueue(&[job("one try", 1)]).unwrap();
    store.claim("w1", 1, LEASE).unwrap();
    clock.advance(LEASE);
    let turn = Turn {
        claim: 1,
        ..Turn::default()
    };
    let out = store.turn("w2", LEASE, &turn).unwrap();
    assert!(out.claimed.is_empty());
    assert_eq!(out.rescued.len(), 1);
    assert!(out.rescued[0].discarded);
    let job = store.job(1).unwrap().unwrap();
    assert_eq!(job.state, State::Discarded);
    assert!(job.last_error.unwrap().contains("lease ran out"));
}

#[test]
fn retry_by_hand_brings_a_discarded_job_back_with_one_more_attempt() {
    let (_dir, _clock, mut store) = fresh();
    store.enqueue(&[job("x", 1), job("y", 1)]).unwrap();
    let c = store.claim("w1", 1, LEASE).unwrap().remove(0);
    store.finish(failed(c.id, c.token, "no")).unwrap();
    let back = store.retry(1).unwrap();
    assert_eq!(
        (back.state, back.attempts, back.max_attempts),
        (State::Available, 1, 2)
    );
    let again = store.claim("w1", 1, LEASE).unwrap().remove(0);
    assert_eq!((again.id, again.attempt), (1, 2));
    // Only jobs that are stuck or waiting can be retried.
    let refused = store.retry(1).unwrap_err();
    assert!(
        matches!(refused.kind, ErrorKind::WrongState(1, State::Running, _)),
        "{refused}"
    );
    let missing = store.retry(99).unwrap_err();
    assert!(
        matches!(missing.kind, ErrorKind::NoSuchJob(99)),
        "{missing}"
    );
}

#[test]
fn scheduled_jobs_wait_for_their_time_and_cancelled_ones_never_run() {
    let (_dir, clock, mut store) = fresh();
    let mut later = job("later", 3);
    later.delay_ms = 500;
    store.enqueue(&[later, job("never", 3)]).unwrap();
    assert_eq!(state(&store, 1), State::Scheduled);
    assert_eq!(store.cancel(2).unwrap().state, State::Cancelled);
    assert!(store.claim("w1", 5, LEASE).unwrap().is_empty());
    clock.advance(Duration::from_millis(500));
    let ids: Vec<i64> = store
        .claim("w1", 5, LEASE)
        .unwrap()
        .iter()
        .map(|c| c.id)
        .collect();
    assert_eq!(ids, [1]);
    assert!(
        store.cancel(1).is_err(),
        "a running job cannot be cancelled here"
    );
}

#[test]
fn handing_back_makes_a_job_available_without_using_an_attempt() {
    let (_dir, _clock, mut store) = fresh();
    store.enqueue(&[job("x", 1)]).unwrap();
    let c = store.claim("w1", 1, LEASE).unwrap().remove(0);
    assert_eq!(store.hand_back(&[(c.id, c.token)]).unwrap(), 1);
    let again = store.claim("w2", 1, LEASE).unwrap().remove(0);
    assert_eq!(again.attempt, 1, "handed back: the attempt did not count");
    assert_eq!(
        store.finish(ok(1, c.token, "late")).unwrap(),
        Recorded::LeaseLost
    );
}

#[test]
fn two_processes_racing_for_the_last_job_never_both_get_it() {
    // Two connections to one file stand for two processes; a barrier starts their claims
    // together. Rounds vary which one SQLite lets in first.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("race.db");
    let clock = Arc::new(ManualClock::default());
    let mut setup = open(&path, &clock);
    for round in 0..50 {
        setup.enqueue(&[job(&format!("last {round}"), 3)]).unwrap();
        let barrier = Arc::new(Barrier::new(2));
        let racers: Vec<_> = (0..2)
            .map(|w| {
                let (path, clock, barrier) = (path.clone(), clock.clone(), barrier.clone());
                std::thread::spawn(move || {
                    let mut store = open(&path, &clock);
                    barrier.wait();
                    store.claim(&format!("w{w}"), 1, LEASE).unwrap().len()
                })
            })
            .collect();
        let got: usize = course_support::testing::within(
            Duration::from_secs(10),
            "two claims racing",
            "a claim waiting on the other's lock for ever: is busy_timeout set?",
            move || racers.into_iter().map(|r| r.join().unwrap()).sum(),
        );
        assert_eq!(got, 1, "round {round}: {got} workers claimed the one job");
    }
}

#[test]
fn a_file_that_is_not_this_queue_is_refused_and_left_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let clock: Arc<ManualClock> = Arc::new(ManualClock::default());
    let check = |path: &Path, expect: fn(&ErrorKind) -> bool, says: &str| {
        let before = std::fs::read(path).unwrap();
        let err: StoreError =
            Store::open(path, Durability::Full, clock.clone(), backoff()).unwrap_err();
        let line = err.to_string();
        assert!(expect(&err.kind), "{}: {line}", path.display());
        assert!(line.contains(says) && !line.contains('\n'), "{line}");
        assert!(
            line.starts_with(&path.display().to_string()),
            "names the file: {line}"
        );
        assert_eq!(
            std::fs::read(path).unwrap(),
            before,
            "{line}: the file changed"
        );
    };

    let text = dir.path().join("notes.txt");
    std::fs::write(&text, "these are my notes, not a database ".repeat(200)).unwrap();
    check(
        &text,
        |k| matches!(k, ErrorKind::NotADatabase),
        "not a SQLite database",
    );

    let other = dir.path().join("other.db");
    rusqlite_create(&other, "CREATE TABLE accounts (id INTEGER PRIMARY KEY)");
    check(
        &other,
        |k| matches!(k, ErrorKind::Foreign),
        "not a lesson-10 queue",
    );

    let newer = dir.path().join("newer.db");
    drop(open(&newer, &clock));
    rusqlite_create(&newer, "PRAGMA user_version = 2");
    check(
        &newer,
        |k| matches!(k, ErrorKind::Version(2)),
        "schema version 2",
    );

    let nowhere = dir.path().join("no/such/folder/q.db");
    let err = Store::open(&nowhere, Durability::Full, clock.clone(), backoff()).unwrap_err();
    assert!(matches!(err.kind, ErrorKind::ReadOnly), "{err}");
    assert!(!nowhere.parent().unwrap().exists());
}

fn rusqlite_create(path: &Path, sql: &str) {
    rusqlite::Connection::open(path)
        .unwrap()
        .execute_batch(sql)
        .unwrap();
}
