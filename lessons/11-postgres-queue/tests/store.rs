//! The queue's promises on a real PostgreSQL server. Leases run out when a test moves the
//! queue's clock (`Store::skew`), not by waiting.

mod common;

use common::shared::jobs::{backoff, failed, job, ok};
use common::store;
use course_support::testing::within;
use lesson_11::job::{NewJob, State};
use lesson_11::store::{self, Enqueued, ErrorKind, Recorded, Store};
use lesson_11::worker;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

const LEASE: Duration = Duration::from_millis(1000);

fn state(store: &mut Store, id: i64) -> State {
    store.job(id).unwrap().expect("the job exists").state
}

#[test]
fn claims_take_waiting_jobs_oldest_first_and_never_the_same_job_twice() {
    let Some((_, mut store)) = store("claims_oldest_first") else {
        return;
    };
    store
        .enqueue(&[job("a", 3), job("b", 3), job("c", 3)])
        .unwrap();
    let first = store.claim("w1", 2, LEASE).unwrap();
    let second = store.claim("w2", 2, LEASE).unwrap();
    let ids: Vec<i64> = first.iter().chain(&second).map(|c| c.id).collect();
    assert_eq!(ids, [1, 2, 3], "each job claimed once, oldest first");
    assert!(store.claim("w3", 1, LEASE).unwrap().is_empty());
    let tokens: std::collections::BTreeSet<i64> =
        first.iter().chain(&second).map(|c| c.token).collect();
    assert_eq!(tokens.len(), 3, "a token per claim");
}

#[test]
fn a_claim_passes_over_rows_another_transaction_has_locked() {
    let Some((url, mut store)) = store("skip_locked") else {
        return;
    };
    store.enqueue(&[job("a", 3), job("b", 3)]).unwrap();
    // Another worker's claim, caught in the middle: it has locked job 1 and not committed.
    let mut other = store::client(&url, Duration::from_secs(5)).unwrap();
    let mut tx = other.transaction().unwrap();
    let locked: i64 = tx
        .query_one("SELECT id FROM jobs ORDER BY id LIMIT 1 FOR UPDATE", &[])
        .unwrap()
        .get(0);
    assert_eq!(locked, 1);
    let started = Instant::now();
    let claimed = within(
        Duration::from_secs(10),
        "a claim while another transaction holds job 1",
        "a claim without SKIP LOCKED waits for the lock (and fails after lock_timeout, 5 s)",
        move || {
            let got = store.claim("w1", 2, LEASE).unwrap();
            (got, store)
        },
    );
    let (claimed, _store) = claimed;
    let ids: Vec<i64> = claimed.iter().map(|c| c.id).collect();
    assert_eq!(
        ids,
        [2],
        "job 1 is locked, so the claim takes job 2 and goes on"
    );
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "the claim waited {:?} for a lock it should have skipped",
        started.elapsed()
    );
    tx.rollback().unwrap();
}

#[test]
fn many_workers_claiming_at_once_take_every_job_exactly_once() {
    let Some((url, mut store)) = store("many_claimers") else {
        return;
    };
    let jobs: Vec<NewJob> = (0..400).map(|i| job(&format!("j{i}"), 3)).collect();
    store.enqueue(&jobs).unwrap();
    let barrier = Arc::new(Barrier::new(4));
    let claimers: Vec<_> = (0..4)
        .map(|w| {
            let (url, barrier) = (url.clone(), Arc::clone(&barrier));
            std::thread::spawn(move || {
                let mut store = Store::connect(&url, backoff()).unwrap();
                barrier.wait();
                let mut mine = Vec::new();
                loop {
                    let got = store.claim(&format!("w{w}"), 7, LEASE).unwrap();
                    if got.is_empty() {
                        return mine;
                    }
                    mine.extend(got.into_iter().map(|c| c.id));
                }
            })
        })
        .collect();
    let mut all: Vec<i64> = within(
        Duration::from_secs(30),
        "four claimers emptying 400 jobs",
        "claims waiting on each other's locks: is SKIP LOCKED in the claim?",
        move || {
            claimers
                .into_iter()
                .flat_map(|c| c.join().unwrap())
                .collect()
        },
    );
    all.sort_unstable();
    let mut twice = all.clone();
    twice.dedup();
    let doubled = all.len() - twice.len();
    assert_eq!(
        doubled,
        0,
        "{doubled} claims took a job another claimer had taken too (jobs {:?}…): the claim must \
         lock the rows it picks (FOR UPDATE) in the same statement as it takes them",
        all.windows(2)
            .filter(|w| w[0] == w[1])
            .map(|w| w[0])
            .take(10)
            .collect::<Vec<_>>()
    );
    assert_eq!(
        twice,
        (1..=400).collect::<Vec<i64>>(),
        "every job claimed once"
    );
}

#[test]
fn an_idempotency_key_gives_back_the_existing_job() {
    let Some((_, mut store)) = store("idempotency_key") else {
        return;
    };
    let mut a = job("charge order 7", 3);
    a.key = Some("order-7".into());
    let out = store.enqueue(&[a.clone(), job("other", 3)]).unwrap();
    assert_eq!(out, [Enqueued::New(1), Enqueued::New(2)]);
    let mut again = a.clone();
    again.payload = "charge order 7, sent twice".into();
    let out = store.enqueue(&[job("third", 3), again, a.clone()]).unwrap();
    assert_eq!(
        out,
        [
            Enqueued::New(3),
            Enqueued::Existing(1),
            Enqueued::Existing(1)
        ]
    );
    assert_eq!(store.counts().unwrap().total(), 3);
    assert_eq!(store.job(1).unwrap().unwrap().payload, "charge order 7");
}

#[test]
fn a_job_enqueued_in_a_transaction_that_rolls_back_never_existed() {
    let Some((_, mut store)) = store("transactional_enqueue") else {
        return;
    };
    store
        .client()
        .batch_execute("CREATE TABLE orders (id BIGINT PRIMARY KEY)")
        .unwrap();
    let mut tx = store.client().transaction().unwrap();
    tx.execute("INSERT INTO orders VALUES (1)", &[]).unwrap();
    store::enqueue_in(&mut tx, &[job("ship order 1", 3)], 0).unwrap();
    tx.commit().unwrap();
    let mut tx = store.client().transaction().unwrap();
    tx.execute("INSERT INTO orders VALUES (2)", &[]).unwrap();
    store::enqueue_in(&mut tx, &[job("ship order 2", 3)], 0).unwrap();
    tx.rollback().unwrap();
    let orders: i64 = store
        .client()
        .query_one("SELECT count(*) FROM orders", &[])
        .unwrap()
        .get(0);
    let payloads: Vec<String> = store
        .jobs()
        .unwrap()
        .into_iter()
        .map(|j| j.payload)
        .collect();
    assert_eq!((orders, payloads), (1, vec!["ship order 1".to_string()]));
}

#[test]
fn completion_writes_the_effect_once_and_a_repeated_completion_is_answered_the_same() {
    let Some((_, mut store)) = store("completion_once") else {
        return;
    };
    store.enqueue(&[job("double 21", 3)]).unwrap();
    let c = store.claim("w1", 1, LEASE).unwrap().remove(0);
    assert_eq!(
        store.finish(ok(1, c.token, "42")).unwrap(),
        Recorded::Completed
    );
    // The worker never got the answer to that commit, and sends the result again.
    assert_eq!(
        store.finish(ok(1, c.token, "42")).unwrap(),
        Recorded::Completed,
        "the same attempt's result again: already written, so reported as written"
    );
    assert_eq!(store.effects().unwrap(), [(1, "42".to_string())]);
    assert_eq!(state(&mut store, 1), State::Completed);
    assert!(store.claim("w2", 1, LEASE).unwrap().is_empty());
}

#[test]
fn the_rescuer_puts_back_a_job_whose_lease_ran_out_and_the_late_completion_is_refused() {
    let Some((_, mut store)) = store("rescuer") else {
        return;
    };
    store.enqueue(&[job("slow", 3)]).unwrap();
    let old = store.claim("w1", 1, LEASE).unwrap().remove(0);
    store.skew(LEASE - Duration::from_millis(50));
    assert!(store.rescue().unwrap().is_empty(), "the lease still holds");
    assert!(store.claim("w2", 1, LEASE).unwrap().is_empty());
    store.skew(Duration::from_millis(100));
    let rescued = store.rescue().unwrap();
    assert_eq!(
        (rescued.len(), rescued[0].id, rescued[0].discarded),
        (1, 1, false)
    );
    assert_eq!(state(&mut store, 1), State::Retryable);
    let new = store.claim("w2", 1, LEASE).unwrap().remove(0);
    assert_eq!((new.id, new.attempt), (1, 2), "the lost attempt counts");
    assert_ne!(new.token, old.token);
    assert!(new.previous_error.unwrap().contains("lease ran out"));
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
fn two_rescuers_at_once_put_each_job_back_once() {
    let Some((url, mut store)) = store("two_rescuers") else {
        return;
    };
    let jobs: Vec<NewJob> = (0..60).map(|i| job(&format!("j{i}"), 3)).collect();
    store.enqueue(&jobs).unwrap();
    store.claim("dead", 60, LEASE).unwrap();
    let barrier = Arc::new(Barrier::new(2));
    let rescuers: Vec<_> = (0..2)
        .map(|_| {
            let (url, barrier) = (url.clone(), Arc::clone(&barrier));
            std::thread::spawn(move || {
                let mut store = Store::connect(&url, backoff()).unwrap();
                store.skew(LEASE * 2);
                barrier.wait();
                let mut ids = Vec::new();
                for _ in 0..5 {
                    ids.extend(store.rescue().unwrap().into_iter().map(|r| r.id));
                }
                ids
            })
        })
        .collect();
    let mut all: Vec<i64> = within(
        Duration::from_secs(20),
        "two rescuers",
        "a rescuer waiting on the other's locks: SKIP LOCKED in the rescue?",
        move || {
            rescuers
                .into_iter()
                .flat_map(|r| r.join().unwrap())
                .collect()
        },
    );
    all.sort_unstable();
    assert_eq!(
        all,
        (1..=60).collect::<Vec<i64>>(),
        "each job put back once"
    );
}

#[test]
fn renewing_keeps_the_lease_and_a_lost_lease_cannot_be_renewed() {
    let Some((_, mut store)) = store("renew") else {
        return;
    };
    store.enqueue(&[job("long", 3)]).unwrap();
    let c = store.claim("w1", 1, LEASE).unwrap().remove(0);
    for _ in 0..4 {
        store.skew(LEASE / 2);
        assert!(store.renew(1, c.token, LEASE).unwrap());
        assert!(store.rescue().unwrap().is_empty(), "renewed: still held");
    }
    store.skew(LEASE);
    assert_eq!(store.rescue().unwrap().len(), 1);
    assert!(!store.renew(1, c.token, LEASE).unwrap());
}

#[test]
fn a_failure_waits_out_its_backoff_and_the_last_one_is_discarded_with_its_error() {
    let Some((_, mut store)) = store("backoff_discard") else {
        return;
    };
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
            // Well before the backoff is over (the server's clock moves on meanwhile, so not
            // to the millisecond).
            if delay > Duration::from_millis(100) {
                assert!(
                    store.claim("w1", 1, LEASE).unwrap().is_empty(),
                    "claimed before its backoff of {delay:?} was over"
                );
            }
            store.skew(delay + Duration::from_millis(1));
        } else {
            assert_eq!(recorded, Recorded::Discarded);
        }
    }
    let dead = store.job(1).unwrap().unwrap();
    assert_eq!(
        (dead.state, dead.last_error.as_deref()),
        (State::Discarded, Some("boom 3"))
    );
    let again = store.retry(1).unwrap();
    assert_eq!(
        (again.state, again.attempts, again.max_attempts),
        (State::Available, 3, 4)
    );
    let refused = store.cancel(99).unwrap_err();
    assert!(
        matches!(refused.kind, ErrorKind::NoSuchJob(99)),
        "{refused}"
    );
}

#[test]
fn a_notification_wakes_an_idle_worker_long_before_its_poll() {
    let Some((url, mut store)) = store("notify_wakes") else {
        return;
    };
    let stop = Arc::new(AtomicBool::new(false));
    let config = worker::Config {
        url: url.clone(),
        name: "w1".into(),
        threads: 1,
        lease: Duration::from_secs(5),
        claim_batch: 1,
        // Without a notification, this worker would look again in a minute.
        poll: Duration::from_secs(60),
        rescue_every: Duration::from_secs(60),
        exit_when_idle: false,
        grace: Duration::from_secs(5),
        give_up_after: Duration::from_secs(5),
        backoff: backoff(),
    };
    let run = {
        let (stop, store) = (Arc::clone(&stop), Store::connect(&url, backoff()).unwrap());
        std::thread::spawn(move || {
            worker::run(store, &config, |_, _| Ok("done".into()), &stop, |_| {}).unwrap()
        })
    };
    // Wait until its listener is listening, as the server sees it.
    let mut listening = || -> bool {
        let n: i64 = store
            .client()
            .query_one(
                "SELECT count(*) FROM pg_stat_activity
                 WHERE application_name = 'lesson-11 listener' AND datname = current_database()",
                &[],
            )
            .unwrap()
            .get(0);
        n == 1
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    while !listening() {
        assert!(
            Instant::now() < deadline,
            "the worker's listener did not connect within 10 s"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    // The worker has looked once and found nothing; now only a notification can wake it.
    std::thread::sleep(Duration::from_millis(100));
    let enqueued = Instant::now();
    store.enqueue(&[job("wake up", 3)]).unwrap();
    while store.counts().unwrap().of(State::Completed) == 0 {
        assert!(
            enqueued.elapsed() < Duration::from_secs(10),
            "the job waited 10 s: the NOTIFY did not wake the worker (its poll is 60 s)"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    stop.store(true, std::sync::atomic::Ordering::Release);
    let summary = within(
        Duration::from_secs(10),
        "the worker after stop",
        "it should see the stop flag within 100 ms and leave",
        move || run.join().unwrap(),
    );
    assert!(summary.woken >= 1, "{summary:?}");
}

#[test]
fn every_statement_has_a_time_limit() {
    let Some((_, mut store)) = store("statement_timeout") else {
        return;
    };
    let started = Instant::now();
    let err = within(
        Duration::from_secs(15),
        "a statement that sleeps 8 s",
        "statement_timeout should end it after 5 s",
        move || {
            let e = store
                .client()
                .batch_execute("SELECT pg_sleep(8)")
                .unwrap_err();
            e.as_db_error()
                .map_or(e.to_string(), |d| d.message().to_string())
        },
    );
    assert!(err.contains("statement timeout"), "{err}");
    assert!(
        started.elapsed() < Duration::from_secs(7),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn a_database_with_another_jobs_table_or_another_version_is_refused_untouched() {
    let Some(url) = common::database("foreign") else {
        return;
    };
    let mut client = store::client(&url, Duration::from_secs(5)).unwrap();
    client
        .batch_execute("CREATE TABLE jobs (name TEXT); INSERT INTO jobs VALUES ('mine')")
        .unwrap();
    let err = Store::connect(&url, backoff()).unwrap_err();
    assert!(matches!(err.kind, ErrorKind::Foreign), "{err}");
    assert!(err.to_string().contains("not a lesson-11 queue"), "{err}");
    let rows: i64 = client
        .query_one("SELECT count(*) FROM jobs", &[])
        .unwrap()
        .get(0);
    assert_eq!(rows, 1, "their table is left as it was");

    let Some(url) = common::database("version") else {
        return;
    };
    drop(Store::connect(&url, backoff()).unwrap());
    let mut client = store::client(&url, Duration::from_secs(5)).unwrap();
    client
        .batch_execute("UPDATE queue_meta SET version = 2")
        .unwrap();
    let err = Store::connect(&url, backoff()).unwrap_err();
    assert!(matches!(err.kind, ErrorKind::Version(2)), "{err}");
    assert!(!err.to_string().contains('\n'));
}

#[test]
fn a_cut_connection_is_reported_as_lost() {
    let Some((url, mut store)) = store("cut") else {
        return;
    };
    let pid: i32 = store
        .client()
        .query_one("SELECT pg_backend_pid()", &[])
        .unwrap()
        .get(0);
    let mut other = store::client(&url, Duration::from_secs(5)).unwrap();
    other
        .execute("SELECT pg_terminate_backend($1)", &[&pid])
        .unwrap();
    let err = store.counts().unwrap_err();
    assert!(err.is_connection_lost(), "{err}");
    let err = Store::connect("postgresql://postgres@127.0.0.1:1/x", backoff()).unwrap_err();
    assert!(err.is_connection_lost(), "refused at connect: {err}");
    assert!(err.to_string().starts_with("127.0.0.1:1/x: "), "{err}");
}
