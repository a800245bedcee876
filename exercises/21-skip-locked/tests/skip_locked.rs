//! The tests for exercise 21. They run against your code in `exercises/21-skip-locked` and
//! against the finished version in `solutions/21-skip-locked`.
//!
//! They need a PostgreSQL server: the one in `DATABASE_URL`, or a throwaway one that
//! `course_support::postgres` starts from the PostgreSQL programs installed on this machine (one
//! for the whole test run, stopped and deleted when it ends). Without either, every test prints a
//! `NOT RUN` line and passes without running. Each test has an empty database of its own.
//!
//! Every connection here is set up with `lock_timeout = '2s'` and `statement_timeout = '5s'`, so
//! a claim that waits for a lock fails with an error the test explains, instead of hanging (only
//! the claim that a test holds inside its transaction on purpose gets 8 s); and every test runs
//! under a 10 s limit. Time is whatever the test passes as `now_ms`.

use course_support::postgres::{Server, for_exercise};
use course_support::testing::within;
use postgres::error::SqlState;
use postgres::{Client, NoTls};
use skip_locked::{Claim, claim_batch, enqueue, setup};
use std::collections::{BTreeMap, BTreeSet};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier, OnceLock};
use std::time::{Duration, Instant};

const LIMIT: Duration = Duration::from_secs(10);
const STUCK: &str = "is a thread waiting for another that failed, or a transaction left open? \
                     Every connection has lock_timeout = 2 s and statement_timeout = 5 s, so a \
                     claim waiting for a lock fails on its own; commit on every path (a postgres \
                     Transaction rolls back when dropped, a BEGIN run by hand never ends by \
                     itself)";
const SKIP_LOCKED: &str = "A claim must never wait for another one: pick the rows with \
                           SELECT id FROM jobs WHERE state = 'available' ORDER BY id LIMIT $1 \
                           FOR UPDATE SKIP LOCKED, which passes by the rows another transaction \
                           has locked. A plain FOR UPDATE waits for them, and so does an UPDATE \
                           of rows that were picked without a lock";

/// The server, started once for the whole test run (or `None`, after a `NOT RUN` line).
fn server() -> Option<&'static Server> {
    static SERVER: OnceLock<Option<Server>> = OnceLock::new();
    SERVER
        .get_or_init(|| {
            for_exercise(
                "exercise 21's tests (ex21-skip-locked)",
                env!("CARGO_PKG_NAME"),
            )
        })
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
        Some(c) if *c == SqlState::LOCK_NOT_AVAILABLE => format!(
            " That is the connection's lock_timeout (2 s): the claim waited for a lock that \
             another transaction held (a row's, most likely). {SKIP_LOCKED}."
        ),
        Some(c) if *c == SqlState::QUERY_CANCELED => format!(
            " That is the connection's statement_timeout (5 s): a statement ran, or waited, for \
             5 s. {SKIP_LOCKED}."
        ),
        Some(c) if *c == SqlState::T_R_SERIALIZATION_FAILURE => " A serialization failure: \
             keep the default isolation, READ COMMITTED, and let FOR UPDATE SKIP LOCKED keep \
             the claims apart."
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
                "{call} returned with its transaction still open: the claim is not committed, \
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

/// `claim_batch`, which must not fail here and must commit; the claims sorted by id.
#[track_caller]
fn claim(client: &mut Client, worker: &str, n: i64, now_ms: i64, lease_ms: i64) -> Vec<Claim> {
    let call = format!(
        "claim_batch(worker = {worker:?}, n = {n}, now_ms = {now_ms}, lease_ms = {lease_ms})"
    );
    let mut got = claim_batch(client, worker, n, now_ms, lease_ms)
        .unwrap_or_else(|e| panic!("{call} failed: {}", explain(&e)));
    no_open_transaction(client, &call);
    got.sort_by_key(|c| c.id);
    got
}

fn ids(claims: &[Claim]) -> Vec<i64> {
    claims.iter().map(|c| c.id).collect()
}

/// A job's row, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Row {
    state: String,
    attempts: i32,
    lease_token: Option<i64>,
    lease_until: Option<i64>,
    worker: Option<String>,
}

/// Every job, by id.
fn rows(client: &mut Client) -> BTreeMap<i64, Row> {
    client
        .query(
            "SELECT id, state, attempts, lease_token, lease_until, worker FROM jobs",
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
                    lease_token: r.get(3),
                    lease_until: r.get(4),
                    worker: r.get(5),
                },
            )
        })
        .collect()
}

/// `n` available jobs in one statement; their ids, in order.
fn enqueue_many(client: &mut Client, n: i64) -> Vec<i64> {
    let mut ids: Vec<i64> = client
        .query(
            "INSERT INTO jobs (state, attempts)
             SELECT 'available', 0 FROM generate_series(1, $1::bigint) RETURNING id",
            &[&n],
        )
        .expect("enqueue")
        .iter()
        .map(|r| r.get(0))
        .collect();
    ids.sort_unstable();
    ids
}

#[track_caller]
fn expect_claims(got: &[Claim], want: &[i64], attempts: i32, lease_until: i64, when: &str) {
    assert_eq!(
        ids(got),
        want,
        "{when}: claimed jobs {:?}, expected {want:?}, the oldest available ones (lowest ids \
         first, ORDER BY id) and as many as were asked for (LIMIT $n), or all that were left",
        ids(got)
    );
    for c in got {
        assert_eq!(
            c.attempts, attempts,
            "{when}: job {} came back with attempts = {}, expected {attempts}: every claim adds \
             one (attempts = attempts + 1), and returns the new value",
            c.id, c.attempts
        );
        assert_eq!(
            c.lease_until, lease_until,
            "{when}: job {} came back with lease_until = {}, expected {lease_until} (now_ms + \
             lease_ms)",
            c.id, c.lease_until
        );
    }
    let tokens: BTreeSet<i64> = got.iter().map(|c| c.token).collect();
    assert_eq!(
        tokens.len(),
        got.len(),
        "{when}: jobs in one batch share a lease token ({got:?}): every job needs a token of \
         its own. nextval('lease_tokens') inside the UPDATE (SET lease_token = \
         nextval('lease_tokens')) is called once per row; a token read once beforehand and \
         given to every job is not"
    );
}

#[test]
fn claims_the_oldest_jobs_commits_them_and_leases_them() {
    bounded("ex20_oldest", "claims on a fresh queue", |url, client| {
        assert_eq!(
            claim(client, "w1", 3, 10_000, 500),
            vec![],
            "claim_batch on an empty queue must return no claims"
        );
        let e: Vec<i64> = (0..5).map(|_| enqueue(client).expect("enqueue")).collect();
        let first = claim(client, "w1", 2, 10_000, 500);
        expect_claims(&first, &e[..2], 1, 10_500, "the first claim of 2");

        // Another connection must see the claim: it has to be committed when claim_batch returns.
        let mut other = connect(url);
        let seen = rows(&mut other);
        for c in &first {
            assert_eq!(
                seen[&c.id],
                Row {
                    state: "running".into(),
                    attempts: 1,
                    lease_token: Some(c.token),
                    lease_until: Some(10_500),
                    worker: Some("w1".into()),
                },
                "job {} as ANOTHER connection sees it after claim_batch returned: it should be \
                 running, with the claim's attempts, token, lease_until and worker. If it is \
                 still available, the claim was never committed (tx.commit()?: a postgres \
                 Transaction that is dropped rolls back)",
                c.id
            );
        }
        for id in &e[2..] {
            assert_eq!(
                (
                    seen[id].state.as_str(),
                    seen[id].attempts,
                    seen[id].lease_token
                ),
                ("available", 0, None),
                "job {id} was not claimed, so it must be as it was enqueued"
            );
        }

        let second = claim(client, "w2", 2, 10_100, 800);
        expect_claims(&second, &e[2..4], 1, 10_900, "the second claim of 2");
        let third = claim(client, "w3", 5, 10_200, 500);
        expect_claims(
            &third,
            &e[4..],
            1,
            10_700,
            "a claim of 5 with only 1 job left",
        );
        let rest = claim(client, "w1", 3, 10_300, 500);
        assert_eq!(
            ids(&rest),
            Vec::<i64>::new(),
            "every job is running: a claim must find nothing (only `available` jobs are \
             claimed)"
        );
    });
}

#[test]
fn takes_exactly_n_jobs_and_none_for_n_zero() {
    bounded(
        "ex20_limit",
        "claims of 0, 1, 3, 4 and 5 jobs",
        |_, client| {
            let e = enqueue_many(client, 10);
            let none = claim(client, "w", 0, 1_000, 100);
            assert_eq!(
                ids(&none),
                Vec::<i64>::new(),
                "claim_batch with n = 0 must claim nothing (LIMIT 0)"
            );
            let untouched = rows(client)
                .values()
                .filter(|r| r.state == "available")
                .count();
            assert_eq!(
                untouched, 10,
                "claim_batch with n = 0 returned nothing, yet changed jobs: the UPDATE must take \
             only the rows the SELECT picked"
            );
            let mut next = 0;
            for n in [1, 3, 4] {
                let got = claim(client, "w", n, 1_000, 100);
                let want = &e[next..next + n as usize];
                expect_claims(
                    &got,
                    want,
                    1,
                    1_100,
                    &format!("a claim of {n} out of 10 jobs"),
                );
                next += n as usize;
            }
            let last = claim(client, "w", 5, 1_000, 100);
            expect_claims(
                &last,
                &e[8..],
                1,
                1_100,
                "a claim of 5 with only 2 jobs left",
            );
            let running = rows(client)
                .values()
                .filter(|r| r.state == "running")
                .count();
            assert_eq!(running, 10, "after claims of 0 + 1 + 3 + 4 + 2 jobs");
        },
    );
}

#[test]
fn the_oldest_come_first_wherever_they_lie_in_the_table() {
    bounded(
        "ex20_order",
        "claims from a table written out of order",
        |_, client| {
            // Jobs 1 to 30, written newest first: a scan of the table meets job 30 first, so only
            // ORDER BY id gives the oldest.
            let written: Vec<i64> = (1..=30).rev().collect();
            client
                .execute(
                    "INSERT INTO jobs (id, state, attempts)
                 SELECT id, 'available', 0 FROM unnest($1::bigint[]) AS id",
                    &[&written],
                )
                .expect("write the jobs");
            client
                .execute("SELECT setval('jobs_id_seq', 30)", &[])
                .expect("move the id sequence on");
            // Job 1 is done and job 2 is running (leased to another worker): neither may be claimed.
            client
                .batch_execute(
                    "UPDATE jobs SET state = 'completed', attempts = 1 WHERE id = 1;
                 UPDATE jobs SET state = 'running', attempts = 1, lease_token = 999,
                     lease_until = 1, worker = 'other' WHERE id = 2;",
                )
                .expect("finish job 1, lease job 2");
            let got = claim(client, "w", 3, 5_000, 1_000);
            assert_eq!(
                ids(&got),
                vec![3, 4, 5],
                "with jobs 3 to 30 available, a claim of 3 took {:?}: take the oldest, ORDER BY id \
             (without it, PostgreSQL returns rows in whatever order it meets them: here, the \
             order they were written, newest first), and only `available` ones (job 1 is \
             completed, job 2 running: neither may be claimed, whatever its lease says)",
                ids(&got)
            );
            expect_claims(&got, &[3, 4, 5], 1, 6_000, "the claim of 3");
            let again = claim(client, "w", 2, 5_000, 1_000);
            expect_claims(&again, &[6, 7], 1, 6_000, "the next claim of 2");
            let stored = rows(client);
            assert_eq!(
                (stored[&1].state.as_str(), stored[&2].state.as_str()),
                ("completed", "running"),
                "jobs 1 and 2 must be left alone"
            );
            assert_eq!(
                (stored[&2].lease_token, stored[&2].worker.as_deref()),
                (Some(999), Some("other")),
                "job 2 is running under another worker's lease: a claim must not touch it"
            );
        },
    );
}

#[test]
fn every_claim_counts_an_attempt_and_gets_a_token_of_its_own() {
    bounded(
        "ex20_tokens",
        "claims of jobs put back and claimed again",
        |_, client| {
            let e = enqueue_many(client, 4);
            let mut tokens_seen: Vec<i64> = Vec::new();
            for attempt in 1..=3 {
                let now = attempt as i64 * 10_000;
                let got = claim(client, "w", 4, now, 1_000);
                expect_claims(
                    &got,
                    &e,
                    attempt,
                    now + 1_000,
                    &format!("claim {attempt} of the same 4 jobs"),
                );
                for c in &got {
                    assert!(
                        !tokens_seen.contains(&c.token),
                        "claim {attempt} gave job {} the lease token {}, which an earlier claim \
                     already had (tokens so far: {tokens_seen:?}): a worker that lost its lease \
                     could act on the job again. Draw every token from the sequence: \
                     nextval('lease_tokens')",
                        c.id,
                        c.token
                    );
                    tokens_seen.push(c.token);
                }
                let stored = rows(client);
                for c in &got {
                    let row = &stored[&c.id];
                    assert_eq!(
                        (row.attempts, row.lease_token, row.lease_until),
                        (attempt, Some(c.token), Some(now + 1_000)),
                        "job {} as stored after claim {attempt}: (attempts, lease_token, \
                     lease_until) should be what claim_batch returned",
                        c.id
                    );
                }
                // Put them back, as a rescuer does when a lease runs out: the attempts stay counted.
                client
                .execute(
                    "UPDATE jobs SET state = 'available', lease_token = NULL, lease_until = NULL",
                    &[],
                )
                .expect("put the jobs back");
            }
            let row = client
                .query_one("SELECT last_value, is_called FROM lease_tokens", &[])
                .expect("read the sequence");
            let (last, called): (i64, bool) = (row.get(0), row.get(1));
            let highest = tokens_seen.iter().copied().max().unwrap_or(0);
            assert!(
                called && highest <= last,
                "the tokens ({tokens_seen:?}) did not come from the sequence lease_tokens (its last \
             value is {last}, called: {called}): use nextval('lease_tokens'), which never gives \
             the same number twice, even to claims on different connections at the same moment"
            );
        },
    );
}

#[test]
fn a_locked_job_is_passed_by_not_waited_for() {
    bounded(
        "ex20_passby",
        "a claim beside locked jobs",
        |url, client| {
            let e = enqueue_many(client, 6);
            // Another transaction holds jobs 1 and 3 (as a claim still in progress would) and does
            // not commit yet.
            let mut holder = connect(url);
            let mut held = holder.transaction().expect("begin");
            let locked = held
                .query(
                    "SELECT id FROM jobs WHERE id = ANY($1) FOR UPDATE",
                    &[&vec![e[0], e[2]]],
                )
                .expect("lock jobs 1 and 3");
            assert_eq!(locked.len(), 2);

            let mut claimer = connect(url);
            let started = Instant::now();
            let got = claim_batch(&mut claimer, "w", 2, 1_000, 100).map_err(|e| explain(&e));
            let took = started.elapsed();
            let got = match got {
                Ok(mut got) => {
                    got.sort_by_key(|c| c.id);
                    got
                }
                Err(why) => panic!(
                    "jobs {} and {} were locked by another transaction still in progress, and \
                 claim_batch failed after {took:?}, instead of taking the unlocked jobs {} and \
                 {}: {why}",
                    e[0], e[2], e[1], e[3]
                ),
            };
            no_open_transaction(&mut claimer, "claim_batch beside locked jobs");
            assert_eq!(
                ids(&got),
                vec![e[1], e[3]],
                "jobs {} and {} were locked by another transaction still in progress: a claim of 2 \
             should take the oldest unlocked ones, {} and {}, at once. {SKIP_LOCKED}",
                e[0],
                e[2],
                e[1],
                e[3]
            );
            assert!(
                took < Duration::from_secs(1),
                "the claim beside locked jobs took {took:?}. {SKIP_LOCKED}"
            );
            held.rollback().expect("let go of jobs 1 and 3");
            let rest = claim(client, "w", 10, 2_000, 100);
            assert_eq!(
                ids(&rest),
                vec![e[0], e[2], e[4], e[5]],
                "once the other transaction let go of jobs {} and {}, a claim should take them and \
             every other job left (was the claim before committed?)",
                e[0],
                e[2]
            );
        },
    );
}

/// The advisory lock that holds the slow claim inside its transaction.
const GATE: i64 = 2011;

#[test]
fn a_claim_in_progress_does_not_hold_up_another() {
    bounded(
        "ex20_inprogress",
        "two claims, one held open",
        |url, client| {
            let e = enqueue_many(client, 9);
            // A trigger holds any claim made on the connection called 'slow claimer' inside its
            // transaction, after its UPDATE, until the test opens the gate: a worker paused
            // between claiming and committing (a slow network, a long garbage collection).
            client
                .batch_execute(&format!(
                    "CREATE FUNCTION hold_slow_claims() RETURNS trigger LANGUAGE plpgsql AS $$
                     BEGIN
                         IF current_setting('application_name') = 'slow claimer' THEN
                             PERFORM pg_advisory_xact_lock_shared({GATE});
                         END IF;
                         RETURN NULL;
                     END $$;
                     CREATE TRIGGER hold_slow_claims AFTER UPDATE ON jobs
                         FOR EACH ROW EXECUTE FUNCTION hold_slow_claims();"
                ))
                .expect("add the trigger");
            let mut gate = connect(url);
            gate.execute("SELECT pg_advisory_lock($1)", &[&GATE])
                .expect("close the gate");

            let mut slow = connect(url);
            slow.batch_execute(
                "SET application_name = 'slow claimer';
                 SET lock_timeout = '8s';
                 SET statement_timeout = '8s';",
            )
            .expect("name the slow connection");
            let slow_claim = std::thread::spawn(move || {
                claim_batch(&mut slow, "slow", 3, 1_000, 100).map_err(|e| explain(&e))
            });
            // Wait until the slow claim is held at the gate.
            let deadline = Instant::now() + Duration::from_secs(3);
            loop {
                let waiting: i64 = client
                    .query_one(
                        "SELECT count(*) FROM pg_locks
                         WHERE locktype = 'advisory' AND objid = $1 AND NOT granted
                           AND database = (SELECT oid FROM pg_database
                                           WHERE datname = current_database())",
                        &[&(GATE as u32)],
                    )
                    .expect("look at the locks")
                    .get(0);
                if waiting > 0 {
                    break;
                }
                if slow_claim.is_finished() {
                    let got = slow_claim.join().expect("the slow claim's thread");
                    panic!(
                        "the slow claim returned ({got:?}) without ever updating a job: it \
                         should have claimed jobs {:?}",
                        &e[..3]
                    );
                }
                assert!(
                    Instant::now() < deadline,
                    "the slow claim never reached its UPDATE within 3 s"
                );
                std::thread::sleep(Duration::from_millis(10));
            }

            // The slow claim has taken its jobs and not committed. Another claim goes on.
            let mut quick = connect(url);
            let started = Instant::now();
            let got = claim_batch(&mut quick, "quick", 3, 1_000, 100).map_err(|e| explain(&e));
            let took = started.elapsed();
            let mut got = got.unwrap_or_else(|why| {
                panic!(
                    "while one claim was in progress (its jobs updated, not yet committed), a \
                     second claim failed after {took:?} instead of taking the next jobs: {why}"
                )
            });
            got.sort_by_key(|c| c.id);
            no_open_transaction(&mut quick, "the quick claim");
            let why = if got.is_empty() {
                format!(
                    "It found nothing, though jobs {:?} were available, and the first claim \
                     had no business locking them: does a claim lock more rows than it \
                     takes? Put the LIMIT in the SELECT ... FOR UPDATE SKIP LOCKED, so that \
                     it locks only the rows it takes",
                    &e[3..]
                )
            } else {
                SKIP_LOCKED.to_string()
            };
            assert_eq!(
                ids(&got),
                e[3..6],
                "while one claim held jobs {:?} (not yet committed), a second claim of 3 \
                 should take the next three, {:?}. {why}",
                &e[..3],
                &e[3..6]
            );
            assert!(
                took < Duration::from_secs(1),
                "the second claim took {took:?} while the first was in progress. {SKIP_LOCKED}"
            );

            gate.execute("SELECT pg_advisory_unlock($1)", &[&GATE])
                .expect("open the gate");
            let mut slow_got = slow_claim
                .join()
                .expect("the slow claim's thread")
                .unwrap_or_else(|why| panic!("the slow claim failed: {why}"));
            slow_got.sort_by_key(|c| c.id);
            assert_eq!(
                ids(&slow_got),
                e[..3],
                "the slow claim, let through, should have the three oldest jobs"
            );
            let stored = rows(client);
            for (claims, worker) in [(&slow_got, "slow"), (&got, "quick")] {
                for c in claims.iter() {
                    let row = &stored[&c.id];
                    assert_eq!(
                        (row.state.as_str(), row.lease_token, row.worker.as_deref()),
                        ("running", Some(c.token), Some(worker)),
                        "job {} after both claims committed (state, lease_token, worker)",
                        c.id
                    );
                }
            }
        },
    );
}

/// Workers racing in each round, each on its own connection.
const WORKERS: usize = 8;
const ROUNDS: usize = 20;
const JOBS_PER_ROUND: i64 = 30;

/// What one worker got from one call, in one round.
#[derive(Debug)]
enum Outcome {
    Claimed(Vec<Claim>),
    Failed(String),
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_default()
}

#[test]
fn many_workers_claiming_at_once_take_every_job_exactly_once() {
    bounded(
        "ex20_race",
        "eight workers claiming, round after round",
        |url, client| {
            // Every round: the test enqueues 30 jobs; the workers meet at a barrier, and each claims
            // batches (of 1 to 4, by worker and round) until a claim comes back empty; they meet
            // again, and the test checks the round.
            let start = Arc::new(Barrier::new(WORKERS + 1));
            let stop = Arc::new(AtomicBool::new(false));
            let (tx, rx) = std::sync::mpsc::channel();
            let workers: Vec<_> = (0..WORKERS)
                .map(|me| {
                    let (start, stop, tx) = (Arc::clone(&start), Arc::clone(&stop), tx.clone());
                    let mut conn = connect(url);
                    std::thread::spawn(move || {
                        let name = format!("worker {me}");
                        for round in 0..ROUNDS {
                            start.wait();
                            let n = 1 + ((me + round) % 4) as i64;
                            loop {
                                let got = catch_unwind(AssertUnwindSafe(|| {
                                    claim_batch(&mut conn, &name, n, 1_000, 1_000_000)
                                }));
                                let outcome = match got {
                                    Ok(Ok(claims)) => Outcome::Claimed(claims),
                                    Ok(Err(e)) => {
                                        Outcome::Failed(format!("failed: {}", explain(&e)))
                                    }
                                    Err(p) => {
                                        Outcome::Failed(format!("panicked: {}", panic_message(&*p)))
                                    }
                                };
                                let done = match &outcome {
                                    Outcome::Claimed(c) => c.is_empty(),
                                    Outcome::Failed(_) => true,
                                };
                                if matches!(outcome, Outcome::Failed(_)) {
                                    stop.store(true, Ordering::SeqCst);
                                }
                                tx.send((round, me, n, outcome)).expect("the test listens");
                                if done {
                                    break;
                                }
                            }
                            start.wait();
                            if stop.load(Ordering::SeqCst) {
                                return;
                            }
                        }
                    })
                })
                .collect();
            drop(tx);
            let mut tokens: BTreeMap<i64, (usize, i64)> = BTreeMap::new();
            for round in 0..ROUNDS {
                let jobs = enqueue_many(client, JOBS_PER_ROUND);
                start.wait();
                start.wait();
                // Who claimed each job this round, and with which token.
                let mut claimed: BTreeMap<i64, Vec<(usize, i64)>> = BTreeMap::new();
                for (r, me, n, outcome) in rx.try_iter() {
                    assert_eq!(r, round, "a message from another round");
                    let claims = match outcome {
                        Outcome::Claimed(claims) => claims,
                        Outcome::Failed(why) => panic!(
                            "round {round}: worker {me}'s claim_batch(n = {n}) {why} (with \
                             {WORKERS} workers claiming at the same moment)"
                        ),
                    };
                    assert!(
                        claims.len() <= n as usize,
                        "round {round}: worker {me} asked for {n} jobs and got {}: LIMIT $n",
                        claims.len()
                    );
                    for c in claims {
                        claimed.entry(c.id).or_default().push((me, c.token));
                        if let Some((other, job)) = tokens.insert(c.token, (me, c.id)) {
                            panic!(
                                "round {round}: lease token {} was given twice, to worker \
                                 {other} for job {job} and to worker {me} for job {}: draw \
                                 every token from nextval('lease_tokens')",
                                c.token, c.id
                            );
                        }
                    }
                }
                if let Some((id, who)) = claimed.iter().find(|(_, who)| who.len() > 1) {
                    let who: Vec<String> = who
                        .iter()
                        .map(|(me, token)| format!("worker {me} (token {token})"))
                        .collect();
                    panic!(
                        "round {round}: job {id} was claimed {} times, by {}: the workers read \
                         it as available at the same moment, before any of them took it. Lock \
                         the rows you pick in the same statement that picks them: SELECT ... \
                         FOR UPDATE SKIP LOCKED, in the transaction that then updates them \
                         (READ COMMITTED lets two plain SELECTs see the same available job)",
                        who.len(),
                        who.join(" and ")
                    );
                }
                let missed: Vec<&i64> =
                    jobs.iter().filter(|id| !claimed.contains_key(id)).collect();
                assert!(
                    missed.is_empty(),
                    "round {round}: every worker's last claim came back empty, yet jobs \
                     {missed:?} were never claimed"
                );
                let stored = rows(client);
                for (id, who) in &claimed {
                    let (me, token) = who[0];
                    let row = &stored[id];
                    assert_eq!(
                        (
                            row.state.as_str(),
                            row.attempts,
                            row.lease_token,
                            row.worker.clone()
                        ),
                        ("running", 1, Some(token), Some(format!("worker {me}"))),
                        "round {round}: job {id}, claimed once by worker {me}, as stored \
                         (state, attempts, lease_token, worker)"
                    );
                }
            }
            for worker in workers {
                worker.join().expect("a worker thread panicked");
            }
        },
    );
}
