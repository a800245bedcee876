//! The tests for exercise 22. They run against your code in `exercises/22-rescuer` and
//! against the finished version in `solutions/22-rescuer`.
//!
//! They need a PostgreSQL server: the one in `DATABASE_URL`, or a throwaway one that
//! `course_support::postgres` starts from the PostgreSQL programs installed on this machine (one
//! for the whole test run, stopped and deleted when it ends). Without either, every test prints a
//! `NOT RUN` line and passes without running. Each test has an empty database of its own.
//!
//! Every connection here is set up with `lock_timeout = '2s'` and `statement_timeout = '5s'`, so
//! a call that waits for a lock fails with an error the test explains, instead of hanging; and
//! every test runs under a 10 s limit. Time is whatever the test passes as `now_ms`. The race
//! tests give each thread its own connection and start every round at a `Barrier`, so that the
//! calls meet, round after round.

use course_support::postgres::{Server, for_exercise};
use course_support::testing::within;
use postgres::error::SqlState;
use postgres::{Client, NoTls};
use rescuer::{LEASE_LOST, Rescued, claim, complete, enqueue, renew, rescue, setup};
use std::collections::{BTreeMap, BTreeSet};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier, Mutex, OnceLock};
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(10);
const STUCK: &str = "is a thread waiting for another that failed, or a transaction left open? \
                     Every connection has lock_timeout = 2 s and statement_timeout = 5 s, so a \
                     call waiting for a lock fails on its own; commit on every path (a postgres \
                     Transaction rolls back when dropped, a BEGIN run by hand never ends by \
                     itself)";
const EXACTLY_ONCE: &str = "Let the statement that changes a job be the one that decides it is \
                            expired: UPDATE jobs SET ... WHERE state = 'running' AND \
                            lease_until <= $1 RETURNING ..., which re-checks each row once it \
                            holds its lock, or lock the rows you pick (WITH expired AS (SELECT \
                            id ... FOR UPDATE SKIP LOCKED) UPDATE ... FROM expired), and report \
                            only the rows the UPDATE returned. A SELECT and then an UPDATE by \
                            id alone acts on what the SELECT saw, which another transaction may \
                            already have changed";

/// The server, started once for the whole test run (or `None`, after a `NOT RUN` line).
fn server() -> Option<&'static Server> {
    static SERVER: OnceLock<Option<Server>> = OnceLock::new();
    SERVER
        .get_or_init(|| for_exercise("exercise 22's tests (ex22-rescuer)", env!("CARGO_PKG_NAME")))
        .as_ref()
}

/// A new connection to the test's database, with the settings every test relies on: lock and
/// statement time-outs, so that a wait fails instead of hanging; READ COMMITTED, PostgreSQL's
/// default, whatever the server says; and commits that do not wait for the disk (a test has no
/// crash to survive, and it is faster).
fn connect(url: &str) -> Client {
    let mut client = Client::connect(url, NoTls)
        .unwrap_or_else(|e| panic!("could not connect to the test database {url}: {e}"));
    client
        .batch_execute(
            "SET lock_timeout = '2s';
             SET statement_timeout = '5s';
             SET default_transaction_isolation = 'read committed';
             SET synchronous_commit = off;",
        )
        .expect("session settings");
    client
}

/// Runs one test's body under the time limit, on a fresh database (`name`) with the tables set
/// up. The body gets the database's URL, for more connections, and a first connection.
fn bounded(name: &str, what: &str, body: impl FnOnce(&str, &mut Client) + Send + 'static) {
    let Some(server) = server() else { return };
    let url = server
        .fresh_database(name)
        .unwrap_or_else(|e| panic!("a fresh database for {what}: {e}"));
    within(LIMIT, what, STUCK, move || {
        let mut client = connect(&url);
        setup(&mut client).expect("setup (the schema, as given)");
        body(&url, &mut client);
    });
}

/// What went wrong in a call, with the server's own message and what it most likely means.
fn explain(e: &postgres::Error) -> String {
    let server_says = e
        .as_db_error()
        .map_or_else(|| e.to_string(), |db| db.to_string());
    let why = match e.code() {
        Some(c) if *c == SqlState::LOCK_NOT_AVAILABLE => " That is the connection's \
             lock_timeout (2 s): the call waited 2 s for a lock that another transaction held, \
             or one it left open itself."
            .to_string(),
        Some(c) if *c == SqlState::QUERY_CANCELED => " That is the connection's \
             statement_timeout (5 s): a statement ran, or waited, for 5 s."
            .to_string(),
        Some(c) if *c == SqlState::T_R_SERIALIZATION_FAILURE => " A serialization failure: \
             keep the default isolation, READ COMMITTED, and let the UPDATE's WHERE (or FOR \
             UPDATE SKIP LOCKED) keep two rescuers apart."
            .to_string(),
        Some(c) if *c == SqlState::IN_FAILED_SQL_TRANSACTION => " A statement ran in a \
             transaction that had already failed: was a transaction left open by an earlier \
             call?"
            .to_string(),
        _ => String::new(),
    };
    format!("\"{server_says}\".{why}")
}

/// Fails the test if `client` is still inside a transaction that wrote something.
#[track_caller]
fn no_open_transaction(client: &mut Client, call: &str) {
    match client.query_one("SELECT txid_current_if_assigned()", &[]) {
        Ok(row) => {
            let open: Option<i64> = row.get(0);
            assert!(
                open.is_none(),
                "{call} returned with its transaction still open: the rescue is not committed, \
                 so no other connection sees it, and its row locks stay held. Call \
                 tx.commit()? before returning"
            );
        }
        Err(e) => panic!(
            "{call} left its connection unusable: {}. Was a transaction left open?",
            explain(&e)
        ),
    }
}

/// `rescue`, which must not fail here and must commit; the report sorted by id.
#[track_caller]
fn rescue_at(client: &mut Client, now_ms: i64) -> Vec<Rescued> {
    let call = format!("rescue(now_ms = {now_ms})");
    let mut got =
        rescue(client, now_ms).unwrap_or_else(|e| panic!("{call} failed: {}", explain(&e)));
    no_open_transaction(client, &call);
    got.sort_by_key(|r| r.id);
    got
}

/// A job's row, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Row {
    state: String,
    attempts: i32,
    max_attempts: i32,
    lease_token: Option<i64>,
    lease_until: Option<i64>,
    last_error: Option<String>,
}

/// Every job, by id.
fn rows(client: &mut Client) -> BTreeMap<i64, Row> {
    client
        .query(
            "SELECT id, state, attempts, max_attempts, lease_token, lease_until, last_error
             FROM jobs",
            &[],
        )
        .expect("read the jobs")
        .iter()
        .map(|r| {
            (
                r.get(0),
                Row {
                    state: r.get(1),
                    attempts: r.get(2),
                    max_attempts: r.get(3),
                    lease_token: r.get(4),
                    lease_until: r.get(5),
                    last_error: r.get(6),
                },
            )
        })
        .collect()
}

/// A job written directly in `state`, as if it had been claimed `attempts` times; its lease
/// token comes from the sequence, like a claim's. Returns its id.
fn job(
    client: &mut Client,
    state: &str,
    attempts: i32,
    max_attempts: i32,
    lease_until: i64,
) -> i64 {
    client
        .query_one(
            "INSERT INTO jobs (state, attempts, max_attempts, lease_token, lease_until)
             VALUES ($1, $2, $3, nextval('lease_tokens'), $4) RETURNING id",
            &[&state, &attempts, &max_attempts, &lease_until],
        )
        .expect("write a job")
        .get(0)
}

/// Checks what a rescued job looks like, as stored.
#[track_caller]
fn expect_rescued(stored: &Row, id: i64, attempts: i32, discarded: bool, when: &str) {
    let state = if discarded { "discarded" } else { "retryable" };
    assert_eq!(
        stored.state, state,
        "{when}: job {id}, with {attempts} of {} attempts used, is {} after the rescue; it \
         should be {state}: discarded when attempts >= max_attempts (that was its last \
         attempt), retryable otherwise",
        stored.max_attempts, stored.state
    );
    assert_eq!(
        stored.attempts, attempts,
        "{when}: job {id}'s attempts changed in the rescue, from {attempts} to {}: the lost \
         attempt was already counted by its claim; leave attempts as it is",
        stored.attempts
    );
    assert_eq!(
        (stored.lease_token, stored.lease_until),
        (None, None),
        "{when}: job {id}'s lease is still there after the rescue (lease_token, lease_until): \
         set both to NULL, so that no worker holds the job any longer"
    );
    assert_eq!(
        stored.last_error.as_deref(),
        Some(LEASE_LOST),
        "{when}: job {id}'s last_error should say why its attempt was lost: set it to \
         LEASE_LOST (pass it as a parameter)"
    );
}

#[test]
fn an_expired_lease_goes_back_to_retryable_with_its_attempt_kept() {
    bounded(
        "ex21_expired",
        "rescues around the end of a lease",
        |url, client| {
            assert_eq!(
                rescue_at(client, 1_000),
                vec![],
                "rescue on an empty queue must do nothing"
            );
            let id = enqueue(client, 3).expect("enqueue");
            let first = claim(client, 1_000, 500)
                .expect("claim")
                .expect("a job to claim");
            let before = rows(client);
            let early = rescue_at(client, 1_499);
            assert_eq!(
                early,
                vec![],
                "at 1_499 the lease (until 1_500) still holds for 1 ms, yet rescue took job {id}: \
             a lease has run out when lease_until <= now_ms, not before"
            );
            assert_eq!(
                rows(client),
                before,
                "a rescue at 1_499, with no lease run out, must change nothing"
            );
            let got = rescue_at(client, 1_500);
            assert_eq!(
                got,
                vec![Rescued {
                    id,
                    attempts: 1,
                    discarded: false
                }],
                "at 1_500 job {id}'s lease (until 1_500) has run out: rescue should put it back, \
             and report it with its attempts (1, unchanged) and discarded: false (it has 3 \
             attempts). Is the comparison `<` instead of `<=`?"
            );
            // Another connection must see it: the rescue has to be committed when rescue returns.
            let mut other = connect(url);
            let seen = rows(&mut other);
            assert_ne!(
                seen[&id].state, "running",
                "job {id} as ANOTHER connection sees it after rescue returned is still running: \
             the rescue was never committed (tx.commit()?: a postgres Transaction that is \
             dropped rolls back)"
            );
            expect_rescued(&seen[&id], id, 1, false, "the rescue at 1_500");
            assert_eq!(
                rescue_at(client, 1_500),
                vec![],
                "job {id} was rescued already, and is retryable: a second rescue must not report \
             it again (only running jobs are rescued)"
            );
            assert_eq!(
                rescue_at(client, 1_000_000),
                vec![],
                "nothing is running: a rescue, however late, must do nothing"
            );
            // Worker 1, who lost the lease, can no longer renew it; the job is claimed again.
            assert!(
                !renew(client, id, first.token, 5_000).expect("renew"),
                "the lost lease could still be renewed after the rescue: was lease_token cleared, \
             and the state changed?"
            );
            let second = claim(client, 2_000, 500)
                .expect("claim")
                .expect("the rescued job, claimed again");
            assert_eq!(
                (second.id, second.attempts),
                (id, 2),
                "the rescued job, claimed again: its second attempt"
            );
        },
    );
}

#[test]
fn only_the_last_attempt_is_discarded() {
    bounded(
        "ex21_discard",
        "rescues of jobs near their last attempt",
        |_, client| {
            // (attempts so far, max_attempts): every job is running with a lease until 1_000.
            let cases = [(1, 3), (2, 3), (3, 3), (4, 3), (1, 1), (0, 1)];
            let ids: Vec<i64> = cases
                .iter()
                .map(|&(attempts, max)| job(client, "running", attempts, max, 1_000))
                .collect();
            let got = rescue_at(client, 1_000);
            let want: Vec<Rescued> = ids
                .iter()
                .zip(cases)
                .map(|(&id, (attempts, max))| Rescued {
                    id,
                    attempts,
                    discarded: attempts >= max,
                })
                .collect();
            for (w, (attempts, max)) in want.iter().zip(cases) {
                let g = got.iter().find(|g| g.id == w.id);
                assert_eq!(
                    g,
                    Some(w),
                    "job {} ({attempts} of {max} attempts used, its lease run out) should be \
                 reported as {w:?}: discarded exactly when attempts >= max_attempts (`>` lets \
                 a job that used its last attempt run once more), with attempts unchanged",
                    w.id
                );
            }
            assert_eq!(got.len(), want.len(), "one report per job rescued: {got:?}");
            let stored = rows(client);
            for (w, (attempts, _)) in want.iter().zip(cases) {
                expect_rescued(
                    &stored[&w.id],
                    w.id,
                    attempts,
                    w.discarded,
                    "jobs near their last attempt",
                );
            }
        },
    );
}

#[test]
fn only_running_jobs_whose_lease_has_run_out_are_touched() {
    bounded(
        "ex21_states",
        "a rescue among jobs in every state",
        |_, client| {
            // Every state, each with a lease long run out (a completed job keeps its last lease, as
            // a record; the others as a careless queue might leave them), and running jobs whose
            // leases hold.
            for state in ["available", "completed", "retryable", "discarded"] {
                job(client, state, 1, 3, 100);
            }
            let held = job(client, "running", 1, 3, 1_001);
            let far = job(client, "running", 2, 3, 1_000_000);
            let expired = job(client, "running", 1, 3, 999);
            let before = rows(client);
            let got = rescue_at(client, 1_000);
            let after = rows(client);
            for (id, was) in &before {
                if *id == expired {
                    continue;
                }
                let now = &after[id];
                assert_eq!(
                    now, was,
                    "job {id}, {} with lease_until = {:?}, was changed by a rescue at 1_000: only \
                 jobs that are running AND whose lease has run out may be touched. Name the \
                 state (WHERE state = 'running' AND lease_until <= $1): a completed or \
                 discarded job is finished, whatever its lease_until says",
                    was.state, was.lease_until
                );
            }
            assert_eq!(
                got.iter().map(|r| r.id).collect::<Vec<_>>(),
                vec![expired],
                "at 1_000, only job {expired} (running, lease until 999) has a lease that ran out; \
             jobs {held} (until 1_001) and {far} are held, and the rest are not running"
            );
            expect_rescued(&after[&expired], expired, 1, false, "the one expired job");
        },
    );
}

#[test]
fn a_renewed_or_completed_job_is_not_rescued() {
    bounded(
        "ex21_renewed",
        "rescues after renewals and completions",
        |_, client| {
            let renewed = enqueue(client, 3).expect("enqueue");
            let done = enqueue(client, 3).expect("enqueue");
            let a = claim(client, 1_000, 500).expect("claim").expect("job 1");
            let b = claim(client, 1_000, 500).expect("claim").expect("job 2");
            assert_eq!((a.id, b.id), (renewed, done));
            // Worker A is alive: at 1_400 it moves its lease on to 2_500. Worker B finishes.
            assert!(renew(client, a.id, a.token, 2_500).expect("renew"));
            assert!(complete(client, b.id, b.token).expect("complete"));
            let got = rescue_at(client, 1_500);
            assert_eq!(
                got,
                vec![],
                "at 1_500, job {renewed}'s lease had been renewed until 2_500 and job {done} was \
             completed, yet rescue took {got:?}: compare with the lease_until stored now, and \
             rescue only running jobs"
            );
            assert_eq!(
                rescue_at(client, 2_499),
                vec![],
                "at 2_499 the renewed lease (until 2_500) still holds"
            );
            let got = rescue_at(client, 2_500);
            assert_eq!(
                got.iter().map(|r| r.id).collect::<Vec<_>>(),
                vec![renewed],
                "at 2_500 the renewed lease has run out (and job {done} is still completed)"
            );
            let stored = rows(client);
            assert_eq!(
                stored[&done].state, "completed",
                "a completed job must never be touched"
            );
        },
    );
}

#[test]
fn one_call_rescues_every_expired_job_and_reports_each() {
    bounded("ex21_many", "a rescue of many jobs at once", |_, client| {
        // 60 running jobs with leases until 1_000, 1_010, ... 1_590, of 1 to 3 attempts used.
        let jobs: Vec<(i64, i32, i64)> = (0..60)
            .map(|i: i64| {
                let attempts = 1 + (i % 3) as i32;
                let until = 1_000 + 10 * i;
                (job(client, "running", attempts, 3, until), attempts, until)
            })
            .collect();
        let got = rescue_at(client, 1_195);
        let want: Vec<Rescued> = jobs
            .iter()
            .filter(|(_, _, until)| *until <= 1_195)
            .map(|&(id, attempts, _)| Rescued {
                id,
                attempts,
                discarded: attempts >= 3,
            })
            .collect();
        assert_eq!(
            got.len(),
            want.len(),
            "at 1_195, the 20 jobs with leases until 1_000 to 1_190 have run out, and rescue \
             reported {} jobs: one report per job it changed, every job whose lease has run \
             out, and no other",
            got.len()
        );
        assert_eq!(got, want, "the reports, sorted by id");
        let stored = rows(client);
        for &(id, attempts, until) in &jobs {
            if until <= 1_195 {
                expect_rescued(&stored[&id], id, attempts, attempts >= 3, "many at once");
            } else {
                assert_eq!(
                    (stored[&id].state.as_str(), stored[&id].lease_until),
                    ("running", Some(until)),
                    "job {id}, leased until {until}, must be left alone at 1_195"
                );
            }
        }
    });
}

#[test]
fn a_rescue_that_fails_half_way_changes_nothing() {
    bounded(
        "ex21_atomic",
        "a rescue that fails on its third job",
        |_, client| {
            let ids: Vec<i64> = (0..5)
                .map(|_| job(client, "running", 1, 3, 1_000))
                .collect();
            // A trigger makes putting back the third job fail, as a full disk or a lost connection
            // would, after the first two.
            client
                .batch_execute(&format!(
                    "CREATE FUNCTION refuse_third() RETURNS trigger LANGUAGE plpgsql AS $$
                 BEGIN
                     IF NEW.id = {third} AND NEW.state <> 'running' THEN
                         RAISE EXCEPTION 'job {third} could not be written';
                     END IF;
                     RETURN NEW;
                 END $$;
                 CREATE TRIGGER refuse_third BEFORE UPDATE ON jobs
                     FOR EACH ROW EXECUTE FUNCTION refuse_third();",
                    third = ids[2]
                ))
                .expect("add the trigger");
            let before = rows(client);
            let result = rescue(client, 2_000);
            no_open_transaction(client, "rescue, when putting back job 3 failed,");
            let after = rows(client);
            let changed: Vec<&i64> = ids.iter().filter(|id| after[id] != before[id]).collect();
            assert!(
                changed.is_empty(),
                "putting back job {} failed, yet jobs {changed:?} were put back: a rescue is ONE \
             transaction (client.transaction()?, then tx.commit()?), so that it happens \
             entirely or not at all; a statement per job, each committed on its own, leaves \
             half a rescue behind",
                ids[2]
            );
            match result {
                Err(_) => {}
                Ok(reported) => panic!(
                    "putting back job {} failed and nothing changed, yet rescue returned \
                 Ok({reported:?}): pass the error on with `?`, on every statement and on the \
                 commit (a COMMIT of a transaction that has failed rolls it back)",
                    ids[2]
                ),
            }
            client
                .batch_execute("DROP TRIGGER refuse_third ON jobs")
                .expect("drop the trigger");
            let got = rescue_at(client, 2_000);
            assert_eq!(
                got.len(),
                5,
                "with nothing failing, the same rescue should now put back all five"
            );
        },
    );
}

/// Runs `rescue(now_ms)` on a connection of its own while another transaction, on `holder`,
/// has run `change` on job `id` and not yet committed; commits that transaction once the rescue
/// has either returned or started waiting for it, and returns what the rescue returned.
fn rescue_while_another_holds(
    url: &str,
    holder: &mut Client,
    change: &str,
    id: i64,
    now_ms: i64,
) -> Result<Vec<Rescued>, String> {
    let mut held = holder.transaction().expect("begin");
    let changed = held.execute(change, &[&id]).expect("change the job");
    assert_eq!(changed, 1, "the other transaction changes job {id}");
    let mut conn = connect(url);
    conn.batch_execute("SET application_name = 'rescue under test'")
        .expect("name the connection");
    let rescuing = std::thread::spawn(move || {
        let got = rescue(&mut conn, now_ms).map_err(|e| explain(&e));
        if got.is_ok() {
            no_open_transaction(&mut conn, "rescue");
        }
        got
    });
    // Wait until the rescue has returned, or waits for the other transaction's lock.
    let mut monitor = connect(url);
    let deadline = std::time::Instant::now() + Duration::from_secs(3);
    while !rescuing.is_finished() {
        let waiting: i64 = monitor
            .query_one(
                "SELECT count(*) FROM pg_stat_activity
                 WHERE application_name = 'rescue under test' AND wait_event_type = 'Lock'
                   AND datname = current_database()",
                &[],
            )
            .expect("look at the server's sessions")
            .get(0);
        if waiting > 0 || std::time::Instant::now() > deadline {
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    held.commit().expect("commit the other transaction");
    rescuing
        .join()
        .unwrap_or_else(|p| panic!("rescue panicked: {}", panic_message(&*p)))
}

#[test]
fn a_change_committed_while_the_rescue_waits_is_respected() {
    bounded(
        "ex21_waits",
        "rescues beside transactions in progress",
        |url, client| {
            let mut holder = connect(url);
            // A worker renews its lease, and commits only while the rescue is under way.
            let renewed = job(client, "running", 1, 3, 1_000);
            let got = rescue_while_another_holds(
                url,
                &mut holder,
                "UPDATE jobs SET lease_until = 1000000 WHERE id = $1",
                renewed,
                1_000,
            )
            .unwrap_or_else(|why| panic!("rescue beside a renewal in progress failed: {why}"));
            let row = rows(client)[&renewed].clone();
            if row.state != "running" {
                panic!(
                    "job {renewed}'s lease (until 1_000) was being renewed (until 1_000_000) when \
                     the rescue at 1_000 began, and the renewal committed while the rescue was \
                     under way; the rescue put the job back all the same (it is now {}), taking \
                     it from a live worker. {EXACTLY_ONCE}",
                    row.state
                );
            }
            assert_eq!(
                got,
                vec![],
                "the renewal of job {renewed} committed while the rescue was under way, and the \
                 job is still running under it, yet the rescue reported it: report only the rows \
                 the UPDATE changed (RETURNING). {EXACTLY_ONCE}"
            );

            // Another rescuer puts a job back, and commits only while this rescue is under way.
            let other = job(client, "running", 1, 3, 1_000);
            let got = rescue_while_another_holds(
                url,
                &mut holder,
                "UPDATE jobs SET state = 'retryable', lease_token = NULL, lease_until = NULL,
                     last_error = 'rescued by the other rescuer' WHERE id = $1",
                other,
                1_000,
            )
            .unwrap_or_else(|why| panic!("rescue beside another rescue in progress failed: {why}"));
            let row = rows(client)[&other].clone();
            assert_eq!(
                (got, row.last_error.as_deref()),
                (vec![], Some("rescued by the other rescuer")),
                "job {other} was being put back by another rescuer, which committed while this \
                 rescue was under way: this rescue must neither report it nor change it again \
                 (each job is rescued exactly once). {EXACTLY_ONCE}"
            );
        },
    );
}

/// What one thread got in one round of a race.
#[derive(Debug)]
enum Outcome<T> {
    Got(T),
    Failed(String),
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_default()
}

/// Runs `call` on its own connection and turns an error or a panic into `Failed`.
fn attempt<T>(f: impl FnOnce() -> Result<T, postgres::Error>) -> Outcome<T> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(v)) => Outcome::Got(v),
        Ok(Err(e)) => Outcome::Failed(format!("failed: {}", explain(&e))),
        Err(p) => Outcome::Failed(format!("panicked: {}", panic_message(&*p))),
    }
}

/// Threads, each with its own connection, that meet at a barrier before every round and run
/// `call(thread, round, &state, connection)`; the test's own connection sets each round up first
/// (`setup(round, connection)` returns the round's `state`), and checks it afterwards with
/// `check(round, &state, outcomes, connection)`, the outcomes in thread order.
fn race<S, T>(
    url: &str,
    client: &mut Client,
    threads: usize,
    rounds: usize,
    setup: impl Fn(usize, &mut Client) -> S,
    call: impl Fn(usize, usize, &S, &mut Client) -> Outcome<T> + Send + Sync + 'static,
    check: impl Fn(usize, &S, Vec<Outcome<T>>, &mut Client),
) where
    S: Clone + Send + 'static,
    T: Send + 'static,
{
    let start = Arc::new(Barrier::new(threads + 1));
    let stop = Arc::new(AtomicBool::new(false));
    let shared: Arc<Mutex<Option<S>>> = Arc::new(Mutex::new(None));
    let call = Arc::new(call);
    let (tx, rx) = std::sync::mpsc::channel();
    let handles: Vec<_> = (0..threads)
        .map(|me| {
            let (start, stop, shared, call, tx) = (
                Arc::clone(&start),
                Arc::clone(&stop),
                Arc::clone(&shared),
                Arc::clone(&call),
                tx.clone(),
            );
            let mut conn = connect(url);
            std::thread::spawn(move || {
                for round in 0..rounds {
                    start.wait();
                    let state = shared.lock().expect("never poisoned").clone();
                    let state = state.expect("the round is set up before the barrier");
                    let outcome = call(me, round, &state, &mut conn);
                    tx.send((me, outcome)).expect("the test listens");
                    start.wait();
                    if stop.load(Ordering::SeqCst) {
                        return;
                    }
                }
            })
        })
        .collect();
    drop(tx);
    for round in 0..rounds {
        let state = setup(round, client);
        *shared.lock().expect("never poisoned") = Some(state.clone());
        start.wait();
        start.wait();
        let mut outcomes: Vec<(usize, Outcome<T>)> = rx.try_iter().collect();
        outcomes.sort_by_key(|(me, _)| *me);
        let outcomes: Vec<Outcome<T>> = outcomes.into_iter().map(|(_, o)| o).collect();
        if outcomes.iter().any(|o| matches!(o, Outcome::Failed(_))) {
            stop.store(true, Ordering::SeqCst);
        }
        check(round, &state, outcomes, client);
    }
    for handle in handles {
        handle.join().expect("a racing thread panicked");
    }
}

const RESCUERS: usize = 4;
const RESCUE_ROUNDS: usize = 60;
const JOBS_PER_ROUND: usize = 6;

#[test]
fn rescuers_running_at_the_same_moment_never_report_the_same_job() {
    bounded(
        "ex21_race",
        "four rescuers, round after round",
        |url, client| {
            // Every round: six running jobs whose leases run out at round × 1_000 (every second one
            // on its last attempt); four rescuers, each on its own connection, rescue at that
            // moment together.
            race(
                url,
                client,
                RESCUERS,
                RESCUE_ROUNDS,
                |round, client| {
                    let until = round as i64 * 1_000;
                    (0..JOBS_PER_ROUND)
                        .map(|i| {
                            let attempts = 1 + (i % 2) as i32;
                            (job(client, "running", attempts, 2, until), attempts)
                        })
                        .collect::<Vec<(i64, i32)>>()
                },
                |_, round, _, conn| attempt(|| rescue(conn, round as i64 * 1_000)),
                |round, jobs, outcomes, client| {
                    let mut reported: BTreeMap<i64, Vec<usize>> = BTreeMap::new();
                    for (me, outcome) in outcomes.into_iter().enumerate() {
                        match outcome {
                            Outcome::Failed(why) => panic!(
                                "round {round}: rescuer {me}'s rescue {why} (with {RESCUERS} \
                                 rescuers at the same moment)"
                            ),
                            Outcome::Got(list) => {
                                for r in list {
                                    reported.entry(r.id).or_default().push(me);
                                    let want = jobs.iter().find(|(id, _)| *id == r.id);
                                    let Some(&(_, attempts)) = want else {
                                        panic!(
                                            "round {round}: rescuer {me} reported job {}, \
                                             which was not running with a run-out lease",
                                            r.id
                                        );
                                    };
                                    assert_eq!(
                                        (r.attempts, r.discarded),
                                        (attempts, attempts >= 2),
                                        "round {round}: rescuer {me}'s report on job {} \
                                         (attempts, discarded), with {attempts} of 2 attempts \
                                         used",
                                        r.id
                                    );
                                }
                            }
                        }
                    }
                    if let Some((id, who)) = reported.iter().find(|(_, who)| who.len() > 1) {
                        panic!(
                            "round {round}: job {id} was reported by {} rescuers at once \
                             (rescuers {who:?}): each job must be rescued exactly once. \
                             {EXACTLY_ONCE}",
                            who.len()
                        );
                    }
                    let missed: Vec<i64> = jobs
                        .iter()
                        .map(|(id, _)| *id)
                        .filter(|id| !reported.contains_key(id))
                        .collect();
                    assert!(
                        missed.is_empty(),
                        "round {round}: jobs {missed:?}, whose leases had run out, were \
                         reported by no rescuer"
                    );
                    let stored = rows(client);
                    for &(id, attempts) in jobs {
                        expect_rescued(
                            &stored[&id],
                            id,
                            attempts,
                            attempts >= 2,
                            &format!("round {round}"),
                        );
                    }
                },
            );
        },
    );
}

const RENEW_ROUNDS: usize = 80;
/// Where a renewal moves a lease: past every round.
const RENEWED_UNTIL: i64 = 1_000_000_000;

#[test]
fn a_renewal_and_a_rescue_at_the_same_moment_never_both_win() {
    bounded(
        "ex21_renew_race",
        "renewals racing rescues, round after round",
        |url, client| {
            // Every round: one job, running under a lease that runs out at round × 1_000. At that
            // moment its worker, alive but late, renews the lease (far into the future), while a
            // rescuer rescues. Either may win, never both: a renewal that committed first
            // has moved the lease, so the job is no longer expired; a rescue that committed first
            // has changed the job's state and token, so the renewal finds nothing to renew.
            race(
                url,
                client,
                2,
                RENEW_ROUNDS,
                |round, client| {
                    let until = round as i64 * 1_000;
                    let id = job(client, "running", 1, 3, until);
                    let token: i64 = client
                        .query_one("SELECT lease_token FROM jobs WHERE id = $1", &[&id])
                        .expect("read the token")
                        .get(0);
                    (id, token)
                },
                |me, round, &(id, token), conn| {
                    // Thread 0 is the worker, thread 1 the rescuer. Either wins with `true`.
                    let now = round as i64 * 1_000;
                    if me == 0 {
                        attempt(|| renew(conn, id, token, RENEWED_UNTIL))
                    } else {
                        attempt(|| {
                            let got = rescue(conn, now)?;
                            Ok(match got.as_slice() {
                                [] => false,
                                [one] if one.id == id => true,
                                _ => panic!(
                                    "rescue at {now} reported {got:?}; the only job whose \
                                     lease could have run out is job {id}"
                                ),
                            })
                        })
                    }
                },
                |round, &(id, _), outcomes, client| {
                    let mut won = [false; 2];
                    for (me, outcome) in outcomes.into_iter().enumerate() {
                        match outcome {
                            Outcome::Failed(why) => panic!(
                                "round {round}: the {} {why}",
                                if me == 0 { "renewal" } else { "rescue" }
                            ),
                            Outcome::Got(w) => won[me] = w,
                        }
                    }
                    let stored = rows(client);
                    let row = &stored[&id];
                    match won {
                        [true, true] if row.state == "running" => panic!(
                            "round {round}: job {id}'s lease was renewed, and the job is still \
                             running under it, yet the rescue reported it as rescued: report \
                             only the rows the UPDATE changed (RETURNING), not the ones a \
                             SELECT found before. {EXACTLY_ONCE}"
                        ),
                        [true, true] => panic!(
                            "round {round}: job {id}'s lease was renewed AND the job was \
                             rescued: the rescue decided the job was expired from what it read \
                             before the renewal committed, then put it back anyway, taking it \
                             from a live worker (the job is now {}). {EXACTLY_ONCE}",
                            row.state
                        ),
                        [false, false] => panic!(
                            "round {round}: neither the renewal nor the rescue took job {id} \
                             (it is {} with lease_until {:?}): the rescue should have put it \
                             back, or reported it",
                            row.state, row.lease_until
                        ),
                        [true, false] => assert_eq!(
                            (row.state.as_str(), row.lease_until),
                            ("running", Some(RENEWED_UNTIL)),
                            "round {round}: the renewal won, so job {id} should still be running \
                             under the renewed lease"
                        ),
                        [false, true] => {
                            expect_rescued(row, id, 1, false, &format!("round {round}"))
                        }
                    }
                },
            );
        },
    );
}

#[test]
fn the_jobs_reported_are_exactly_the_jobs_changed() {
    bounded(
        "ex21_reports",
        "reports compared with the table",
        |_, client| {
            let ids: BTreeSet<i64> = (0..8)
                .map(|i| job(client, "running", 1, 3, 1_000 + i))
                .collect();
            let got = rescue_at(client, 1_003);
            let reported: BTreeSet<i64> = got.iter().map(|r| r.id).collect();
            let stored = rows(client);
            let changed: BTreeSet<i64> = ids
                .iter()
                .copied()
                .filter(|id| stored[id].state != "running")
                .collect();
            assert_eq!(
                reported, changed,
                "rescue reported {reported:?}, and the jobs it changed are {changed:?}: report \
                 each job it changed, once, from the rows the UPDATE returned (RETURNING id, \
                 attempts, ...)"
            );
            assert_eq!(
                changed.len(),
                4,
                "leases until 1_000 to 1_003 have run out at 1_003"
            );
        },
    );
}
