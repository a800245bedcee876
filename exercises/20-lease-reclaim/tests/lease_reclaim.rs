//! The tests for exercise 20. They run against your code in `exercises/20-lease-reclaim` and
//! against the finished version in `solutions/20-lease-reclaim`.
//!
//! Each test has its own database file in a fresh temporary folder. Time is whatever the test
//! passes as `now_ms`, so a lease boundary is checked to the millisecond, on both sides. The
//! race tests give each of two threads its own connection to the same file, and start every
//! round at a `Barrier`, so that both claim at the same moment, hundreds of times over. After
//! every call the tests also check that no transaction was left open. Every test runs under a
//! 10 s limit, so a connection stuck waiting for a lock fails with a message instead of hanging.

use course_support::testing::within;
use lease_reclaim::{Claim, claim, complete, enqueue, open};
use rusqlite::{Connection, OptionalExtension as _};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier};
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(10);
const STUCK: &str = "is a connection waiting for a write lock that another one never gives \
                     back? Commit or roll back on every path (a rusqlite Transaction rolls back \
                     when dropped; a `BEGIN` run by hand does not end by itself)";
/// Rounds in each race: a claim that reads and writes in two separate steps loses a race only
/// now and then, so there are many.
const ROUNDS: usize = 1_000;
const IMMEDIATE: &str = "select and update in ONE transaction begun with BEGIN IMMEDIATE \
                         (conn.transaction_with_behavior(TransactionBehavior::Immediate)), \
                         which takes the write lock before it reads, so the job cannot be taken \
                         by another connection in between";

/// A fresh database in its own temporary folder (kept as long as the returned guard lives).
fn fresh() -> (tempfile::TempDir, PathBuf, Connection) {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let path = dir.path().join("queue.db");
    let conn = open(&path).expect("open the queue");
    (dir, path, conn)
}

/// Runs one test's body under the time limit, with a fresh database.
#[track_caller]
fn bounded(what: &str, body: impl FnOnce(&Path, &mut Connection) + Send + 'static) {
    within(LIMIT, what, STUCK, move || {
        let (_dir, path, mut conn) = fresh();
        body(&path, &mut conn);
    });
}

#[track_caller]
fn no_open_transaction(conn: &Connection, call: &str) {
    assert!(
        conn.is_autocommit(),
        "{call} returned with a transaction still open on its connection: commit, or let the \
         Transaction drop (which rolls back), on every path, the early returns included"
    );
}

/// `claim`, which must not fail here, and must leave no transaction open.
#[track_caller]
fn claim_at(conn: &mut Connection, now_ms: i64, lease_ms: i64) -> Option<Claim> {
    let call = format!("claim(now_ms = {now_ms}, lease_ms = {lease_ms})");
    let got = claim(conn, now_ms, lease_ms).unwrap_or_else(|e| panic!("{call} failed: {e}"));
    no_open_transaction(conn, &call);
    got
}

/// `complete`, which must not fail here, and must leave no transaction open.
#[track_caller]
fn complete_at(conn: &mut Connection, id: i64, token: i64, now_ms: i64) -> bool {
    let call = format!("complete(id = {id}, token = {token}, now_ms = {now_ms})");
    let got = complete(conn, id, token, now_ms).unwrap_or_else(|e| panic!("{call} failed: {e}"));
    no_open_transaction(conn, &call);
    got
}

/// A job's row, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Row {
    state: String,
    attempts: i64,
    lease_token: i64,
    lease_until: Option<i64>,
}

fn row(conn: &Connection, id: i64) -> Row {
    conn.query_row(
        "SELECT state, attempts, lease_token, lease_until FROM jobs WHERE id = ?1",
        [id],
        |r| {
            Ok(Row {
                state: r.get(0)?,
                attempts: r.get(1)?,
                lease_token: r.get(2)?,
                lease_until: r.get(3)?,
            })
        },
    )
    .optional()
    .expect("read a job")
    .unwrap_or_else(|| panic!("job {id} is gone from the jobs table"))
}

fn effects(conn: &Connection, id: i64) -> i64 {
    conn.query_row(
        "SELECT count(*) FROM effects WHERE job_id = ?1",
        [id],
        |r| r.get(0),
    )
    .expect("count effects")
}

fn all_effects(conn: &Connection) -> i64 {
    conn.query_row("SELECT count(*) FROM effects", [], |r| r.get(0))
        .expect("count effects")
}

#[track_caller]
fn expect_claim(got: Option<Claim>, id: i64, attempts: i64, lease_until: i64, when: &str) -> Claim {
    let claim =
        got.unwrap_or_else(|| panic!("{when}: claim returned None, but job {id} could be claimed"));
    assert_eq!(
        claim.id, id,
        "{when}: claimed job {}, expected job {id}: take the lowest id among the jobs that are \
         available or running with lease_until <= now_ms (ORDER BY id LIMIT 1)",
        claim.id
    );
    assert_eq!(
        claim.attempts, attempts,
        "{when}: attempts is {}, expected {attempts}: every claim adds one, reclaims included",
        claim.attempts
    );
    assert_eq!(
        claim.lease_until, lease_until,
        "{when}: lease_until is {}, expected {lease_until} (now_ms + lease_ms)",
        claim.lease_until
    );
    claim
}

#[test]
fn claim_takes_the_lowest_id_and_leases_it() {
    bounded("claim on a fresh queue", |path, conn| {
        assert_eq!(
            claim_at(conn, 10_000, 500),
            None,
            "claim on an empty queue must say None"
        );
        let ids: Vec<i64> = (0..3).map(|_| enqueue(conn).expect("enqueue")).collect();
        let first = expect_claim(
            claim_at(conn, 10_000, 500),
            ids[0],
            1,
            10_500,
            "first claim",
        );
        // Read it back through another connection: the claim must be committed.
        let other = open(path).expect("a second connection");
        let stored = row(&other, ids[0]);
        assert_eq!(
            stored,
            Row {
                state: "running".into(),
                attempts: 1,
                lease_token: first.token,
                lease_until: Some(10_500),
            },
            "job {} as another connection sees it after the claim: it should be running, with \
             the claim's attempts, token and lease_until. Did the transaction commit?",
            ids[0]
        );
        expect_claim(
            claim_at(conn, 10_000, 500),
            ids[1],
            1,
            10_500,
            "second claim",
        );
        expect_claim(
            claim_at(conn, 10_100, 800),
            ids[2],
            1,
            10_900,
            "third claim",
        );
        let none = claim_at(conn, 10_200, 500);
        assert_eq!(
            none, None,
            "every job is running under a lease that has not run out, yet claim took one: \
             a running job may be claimed only once lease_until <= now_ms"
        );
    });
}

#[test]
fn a_lease_runs_out_exactly_at_lease_until() {
    bounded("claims around the end of a lease", |_, conn| {
        let id = enqueue(conn).expect("enqueue");
        let first = expect_claim(
            claim_at(conn, 10_000, 500),
            id,
            1,
            10_500,
            "the first claim",
        );
        let early = claim_at(conn, 10_499, 500);
        assert_eq!(
            early, None,
            "at 10_499 the lease (until 10_500) still holds for 1 ms, yet claim took the job \
             back: compare lease_until <= now_ms, and with now_ms, not with now_ms + lease_ms"
        );
        let second = claim_at(conn, 10_500, 500);
        assert!(
            second.is_some(),
            "at 10_500 the lease (until 10_500) has run out, yet claim found nothing: a lease \
             runs out when lease_until <= now_ms (is it `<` instead of `<=`?)"
        );
        let second = expect_claim(second, id, 2, 11_000, "the reclaim at 10_500");
        assert_ne!(
            second.token, first.token,
            "the reclaim gave the same lease token as the first claim, so the first worker \
             could still complete the job: every claim needs a new token (lease_token + 1)"
        );
        assert!(
            complete_at(conn, id, second.token, 10_600),
            "completing job {id} under the new lease"
        );
        // A lease of 1 ms, on both sides of its end.
        let id = enqueue(conn).expect("enqueue");
        expect_claim(claim_at(conn, 20_000, 1), id, 1, 20_001, "a 1 ms lease");
        assert_eq!(
            claim_at(conn, 20_000, 1),
            None,
            "a 1 ms lease, at its start"
        );
        expect_claim(
            claim_at(conn, 20_001, 1),
            id,
            2,
            20_002,
            "a 1 ms lease, run out",
        );
    });
}

#[test]
fn every_reclaim_adds_an_attempt_and_a_new_token() {
    bounded("five claims of one job", |_, conn| {
        let other = enqueue(conn).expect("enqueue");
        let id = enqueue(conn).expect("enqueue");
        // Job `other` is claimed once and kept, so the claims below all find job `id`.
        expect_claim(claim_at(conn, 0, 1_000_000), other, 1, 1_000_000, "job 1");
        let mut tokens = vec![row(conn, id).lease_token];
        for attempt in 1..=5 {
            let now = attempt * 1_000;
            let got = expect_claim(
                claim_at(conn, now, 1_000),
                id,
                attempt,
                now + 1_000,
                &format!("claim {attempt} of job {id}, each as the last lease runs out"),
            );
            assert!(
                !tokens.contains(&got.token),
                "claim {attempt} of job {id} gave lease token {}, which this job had already \
                 had (tokens so far, from enqueue on: {tokens:?}): a worker that lost the job \
                 could complete it. Count up: lease_token + 1",
                got.token
            );
            let stored = row(conn, id);
            assert_eq!(
                (stored.attempts, stored.lease_token),
                (attempt, got.token),
                "job {id} as stored after claim {attempt}: (attempts, lease_token) should be \
                 what the claim returned"
            );
            tokens.push(got.token);
        }
    });
}

#[test]
fn claim_prefers_the_lowest_id_whether_available_or_run_out() {
    bounded("claims across several jobs", |_, conn| {
        let ids: Vec<i64> = (0..3).map(|_| enqueue(conn).expect("enqueue")).collect();
        expect_claim(claim_at(conn, 1_000, 1_000), ids[0], 1, 2_000, "job 1");
        expect_claim(claim_at(conn, 1_000, 5_000), ids[1], 1, 6_000, "job 2");
        // At 2_500 job 1's lease has run out, job 2's has not, job 3 is available.
        let got = claim_at(conn, 2_500, 1_000);
        expect_claim(
            got,
            ids[0],
            2,
            3_500,
            "at 2_500, with job 1's lease run out and job 3 available",
        );
        expect_claim(
            claim_at(conn, 2_600, 1_000),
            ids[2],
            1,
            3_600,
            "at 2_600, with only job 3 to take",
        );
        assert_eq!(
            claim_at(conn, 2_700, 1_000),
            None,
            "at 2_700 every lease holds: nothing to claim"
        );
    });
}

#[test]
fn a_late_completion_from_a_lost_lease_is_refused() {
    bounded("completions from two leases", |_, conn| {
        let id = enqueue(conn).expect("enqueue");
        let old = expect_claim(claim_at(conn, 1_000, 500), id, 1, 1_500, "worker A's claim");
        // Worker A stalls; its lease runs out and worker B takes the job.
        let new = expect_claim(
            claim_at(conn, 1_500, 500),
            id,
            2,
            2_000,
            "worker B's reclaim",
        );
        assert!(
            !complete_at(conn, id, old.token, 1_600),
            "worker A, whose lease went to worker B, completed the job: complete must check \
             that the job is still running under the token it is given"
        );
        assert_eq!(
            effects(conn, id),
            0,
            "complete returned false for worker A's old token, but left an effect behind: \
             write the effect only after the check has passed, in the same transaction"
        );
        let stored = row(conn, id);
        assert_eq!(
            (stored.state.as_str(), stored.lease_token),
            ("running", new.token),
            "a refused completion must change nothing: job {id} should still be running under \
             worker B's token"
        );
        assert!(
            complete_at(conn, id, new.token, 1_600),
            "worker B, holding the current lease (until 2_000), could not complete the job at \
             1_600"
        );
        assert_eq!(effects(conn, id), 1, "one completion, one effect");
        assert_eq!(
            row(conn, id).state,
            "completed",
            "job {id} after worker B completed it"
        );
        assert!(
            !complete_at(conn, id, old.token, 1_700),
            "worker A, late, completed a job worker B had already completed"
        );
        assert!(
            !complete_at(conn, id, new.token, 1_700),
            "worker B completed the same job twice: once completed, a job is no longer \
             running, so a second completion must be refused"
        );
        assert_eq!(
            effects(conn, id),
            1,
            "job {id} has more than one effect: a refused completion must write none"
        );
    });
}

#[test]
fn completion_is_refused_once_the_lease_has_run_out() {
    bounded("completions around the end of a lease", |_, conn| {
        let one = enqueue(conn).expect("enqueue");
        let two = enqueue(conn).expect("enqueue");
        let a = expect_claim(claim_at(conn, 1_000, 500), one, 1, 1_500, "job 1");
        let b = expect_claim(claim_at(conn, 1_000, 500), two, 1, 1_500, "job 2");
        assert!(
            complete_at(conn, one, a.token, 1_499),
            "complete at 1_499, 1 ms before the lease runs out (1_500), was refused"
        );
        assert!(
            !complete_at(conn, two, b.token, 1_500),
            "complete at 1_500, when the lease (until 1_500) has just run out, was accepted: \
             from that millisecond another worker may claim the job, so the old worker's \
             completion no longer counts (now_ms < lease_until, not <=)"
        );
        assert_eq!(
            (effects(conn, one), effects(conn, two)),
            (1, 0),
            "effects of (job 1, completed in time; job 2, refused)"
        );
        assert_eq!(
            row(conn, two).state,
            "running",
            "a completion refused for a run-out lease must leave the job as it was"
        );
        expect_claim(
            claim_at(conn, 1_500, 500),
            two,
            2,
            2_000,
            "the reclaim of job 2, whose completion was refused",
        );
    });
}

#[test]
fn finished_jobs_are_never_claimed_again() {
    bounded("claims after completion", |_, conn| {
        let done = enqueue(conn).expect("enqueue");
        let dead = enqueue(conn).expect("enqueue");
        let waiting = enqueue(conn).expect("enqueue");
        let a = expect_claim(claim_at(conn, 1_000, 500), done, 1, 1_500, "job 1");
        assert!(complete_at(conn, done, a.token, 1_200), "completing job 1");
        // Job 2 was given up on: the dead-letter state, with a lease long run out.
        expect_claim(claim_at(conn, 1_000, 500), dead, 1, 1_500, "job 2");
        conn.execute("UPDATE jobs SET state = 'discarded' WHERE id = ?1", [dead])
            .expect("discard job 2");
        let got = claim_at(conn, 1_000_000, 500);
        assert_eq!(
            got.map(|c| c.id),
            Some(waiting),
            "long after every lease ran out, claim should take job {waiting}, the only one \
             available; completed and discarded jobs are finished, whatever their lease_until \
             says: only `available` jobs, and `running` ones whose lease has run out, may be \
             claimed"
        );
        if let Some(again) = claim_at(conn, 1_000_000, 500) {
            let why = if again.id == waiting {
                format!(
                    "job {waiting} was claimed at 1_000_000 with a lease until 1_000_500, and \
                     claim took it again at once: a running job may be claimed only once its \
                     lease has run out (lease_until <= now_ms)"
                )
            } else {
                format!(
                    "claim took job {}, which is finished (completed or discarded): only \
                     `available` jobs, and `running` ones whose lease has run out, may be \
                     claimed",
                    again.id
                )
            };
            panic!(
                "with nothing left to claim, claim returned job {}: {why}",
                again.id
            );
        }
        assert_eq!(row(conn, done).state, "completed");
        assert_eq!(row(conn, dead).state, "discarded");
    });
}

#[test]
fn unknown_ids_and_tokens_never_given_change_nothing() {
    bounded("completions that must be refused", |_, conn| {
        let id = enqueue(conn).expect("enqueue");
        assert!(
            !complete_at(conn, id, 0, 1_000),
            "job {id} was never claimed (it is available, with lease_token 0), yet complete \
             with token 0 accepted it: check that the job is running, not only the token"
        );
        assert!(
            !complete_at(conn, 999, 1, 1_000),
            "complete accepted job 999, which does not exist"
        );
        let got = expect_claim(claim_at(conn, 1_000, 500), id, 1, 1_500, "the claim");
        assert!(
            !complete_at(conn, id, got.token + 1, 1_100),
            "complete accepted a token the job was never given"
        );
        assert_eq!(
            all_effects(conn),
            0,
            "refused completions left effects behind: write the effect only after the check \
             has passed"
        );
        assert_eq!(
            row(conn, id).state,
            "running",
            "refusals must change nothing"
        );
        assert!(
            complete_at(conn, id, got.token, 1_100),
            "the right token, in time"
        );
        assert_eq!(all_effects(conn), 1, "one completion, one effect");
    });
}

#[test]
fn the_effect_and_the_completion_commit_together() {
    bounded("completions that fail half way", |_, conn| {
        let id = enqueue(conn).expect("enqueue");
        let got = expect_claim(claim_at(conn, 1_000, 500), id, 1, 1_500, "the claim");
        // Make writing the effect fail, as a full disk or a crash would.
        conn.execute_batch(
            "CREATE TRIGGER no_effect BEFORE INSERT ON effects
             BEGIN SELECT RAISE(ABORT, 'the effect could not be written'); END;",
        )
        .expect("add a trigger");
        let result = complete(conn, id, got.token, 1_100);
        no_open_transaction(conn, "complete, when writing the effect failed,");
        assert!(
            !matches!(result, Ok(true)),
            "complete said true, though writing the effect failed: return the error (a `?` \
             on the INSERT)"
        );
        assert_eq!(
            row(conn, id).state,
            "running",
            "writing the effect failed, yet the job is marked completed: its work is lost. \
             Mark it completed and write the effect in ONE transaction, so that both commit or \
             neither does"
        );
        conn.execute_batch("DROP TRIGGER no_effect")
            .expect("drop the trigger");

        // Now make marking it completed fail, after the effect.
        conn.execute_batch(
            "CREATE TRIGGER no_completion BEFORE UPDATE OF state ON jobs
             WHEN NEW.state = 'completed'
             BEGIN SELECT RAISE(ABORT, 'the completion could not be written'); END;",
        )
        .expect("add a trigger");
        let result = complete(conn, id, got.token, 1_100);
        no_open_transaction(conn, "complete, when marking the job completed failed,");
        assert!(
            !matches!(result, Ok(true)),
            "complete said true, though marking the job completed failed: return the error"
        );
        assert_eq!(
            effects(conn, id),
            0,
            "marking the job completed failed, yet its effect was written, so the job will run \
             again and take effect twice: write the effect in the same transaction as the \
             completion, after checking the token"
        );
        conn.execute_batch("DROP TRIGGER no_completion")
            .expect("drop the trigger");
        assert!(
            complete_at(conn, id, got.token, 1_100),
            "with nothing failing, the same completion should now go through"
        );
        assert_eq!(effects(conn, id), 1, "one completion, one effect");
    });
}

/// What one thread saw in one round of a race.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Outcome {
    Got(Claim),
    Nothing,
    Failed(String),
    SetupFailed(String),
}

/// The message of a caught panic.
fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_default()
}

/// Two threads, each with its own connection to the file at `path`, claim at the same moment
/// (`now(round)`, with a lease that outlasts the test), `rounds` times; before each round
/// `setup` runs on thread 0's connection, the other thread waiting, and returns the id the
/// round is for. Returns, per round, that id and what each thread got. Stops after the first
/// round in which a claim fails.
fn race(
    path: &Path,
    rounds: usize,
    setup: impl Fn(&mut Connection, usize) -> i64 + Send + Sync + 'static,
    now: impl Fn(usize) -> i64 + Send + Sync + 'static,
) -> Vec<(i64, [Outcome; 2])> {
    let start = Arc::new(Barrier::new(2));
    let stop = Arc::new(AtomicBool::new(false));
    let setup = Arc::new(setup);
    let now = Arc::new(now);
    let (tx, rx) = std::sync::mpsc::channel();
    let threads: Vec<_> = (0..2)
        .map(|me| {
            let (start, stop, setup, now, tx) = (
                Arc::clone(&start),
                Arc::clone(&stop),
                Arc::clone(&setup),
                Arc::clone(&now),
                tx.clone(),
            );
            let mut conn = open(path).expect("a connection of its own");
            std::thread::spawn(move || {
                for round in 0..rounds {
                    let mut id = Ok(0);
                    if me == 0 {
                        id = catch_unwind(AssertUnwindSafe(|| setup(&mut conn, round)))
                            .map_err(|panic| panic_message(&*panic));
                    }
                    start.wait();
                    let got = catch_unwind(AssertUnwindSafe(|| {
                        claim(&mut conn, now(round), 1_000_000_000)
                    }));
                    let mut outcome = match got {
                        Ok(Ok(Some(c))) => Outcome::Got(c),
                        Ok(Ok(None)) => Outcome::Nothing,
                        Ok(Err(e)) => Outcome::Failed(format!("returned the error \"{e}\"")),
                        Err(panic) => {
                            Outcome::Failed(format!("panicked: {}", panic_message(&*panic)))
                        }
                    };
                    if !conn.is_autocommit() {
                        // Leave the connection usable for the next round.
                        let _ = conn.execute_batch("ROLLBACK");
                        outcome = Outcome::Failed("returned with a transaction still open".into());
                    }
                    let id = id.unwrap_or_else(|why| {
                        outcome = Outcome::SetupFailed(why);
                        0
                    });
                    if matches!(outcome, Outcome::Failed(_) | Outcome::SetupFailed(_)) {
                        stop.store(true, Ordering::SeqCst);
                    }
                    tx.send((round, me, id, outcome))
                        .expect("the test is listening");
                    // Both have claimed before the next round's setup.
                    start.wait();
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                }
            })
        })
        .collect();
    drop(tx);
    let mut results: Vec<(i64, [Outcome; 2])> =
        vec![(0, [Outcome::Nothing, Outcome::Nothing]); rounds];
    for (round, me, id, outcome) in rx {
        if me == 0 {
            results[round].0 = id;
        }
        results[round].1[me] = outcome;
    }
    for thread in threads {
        thread.join().expect("a racing thread panicked");
    }
    results
}

/// Fails the test unless, in every round, exactly one thread got the round's job.
fn exactly_one_each_round(results: &[(i64, [Outcome; 2])], attempts: i64, what: &str) {
    for (round, (id, outcomes)) in results.iter().enumerate() {
        for outcome in outcomes {
            if let Outcome::SetupFailed(why) = outcome {
                panic!("{what}, round {round}: setting the round up failed: {why}");
            }
        }
        let failed: Vec<&String> = outcomes
            .iter()
            .filter_map(|o| match o {
                Outcome::Failed(why) => Some(why),
                _ => None,
            })
            .collect();
        if let Some(why) = failed.first() {
            let busy = why.contains("locked") || why.contains("busy");
            panic!(
                "{what}, round {round}: a claim {why}.{} {IMMEDIATE}",
                if busy {
                    " That is SQLITE_BUSY: a transaction that reads first and writes later \
                     (the default, DEFERRED) cannot turn into a writer once the other \
                     connection has written since it read, and SQLite says so at once, without \
                     waiting for busy_timeout."
                } else {
                    ""
                }
            );
        }
        let got: Vec<&Claim> = outcomes
            .iter()
            .filter_map(|o| match o {
                Outcome::Got(c) => Some(c),
                _ => None,
            })
            .collect();
        match got.as_slice() {
            [one] => {
                assert_eq!(
                    (one.id, one.attempts),
                    (*id, attempts),
                    "{what}, round {round}: the winner claimed the wrong job (id, attempts)"
                );
            }
            [] => panic!(
                "{what}, round {round}: job {id} could be claimed, but neither connection got \
                 it"
            ),
            [a, b] if a.token == b.token => panic!(
                "{what}, round {round}: BOTH connections claimed job {} with the same token, {}: \
                 did the claims commit? If neither did, neither changed the job. {IMMEDIATE}",
                a.id, a.token
            ),
            [a, b] => panic!(
                "{what}, round {round}: BOTH connections claimed job {} (tokens {} and {}): \
                 one read the job, the other took it, and then the first took it too. {IMMEDIATE}",
                a.id, a.token, b.token
            ),
            _ => unreachable!("two threads"),
        }
    }
}

#[test]
fn two_connections_racing_for_the_last_job_never_both_get_it() {
    within(
        LIMIT,
        "two connections claiming, round after round",
        STUCK,
        || {
            let (_dir, path, _conn) = fresh();
            // Each round adds one job; the earlier ones are all leased far into the future.
            let results = race(
                &path,
                ROUNDS,
                |conn, _| enqueue(conn).expect("enqueue"),
                |_| 1_000,
            );
            exactly_one_each_round(&results, 1, "racing for a new job");
        },
    );
}

#[test]
fn two_connections_racing_for_a_run_out_lease_never_both_get_it() {
    within(
        LIMIT,
        "two connections reclaiming, round after round",
        STUCK,
        || {
            let (_dir, path, _conn) = fresh();
            // Each round adds a job and claims it with a 1 ms lease at round × 10_000 ms, so at the
            // race, a millisecond later, its lease has run out; the earlier rounds' jobs are leased
            // far into the future.
            let results = race(
                &path,
                ROUNDS,
                |conn, round| {
                    let id = enqueue(conn).expect("enqueue");
                    let at = round as i64 * 10_000;
                    let got = claim(conn, at, 1).expect("the first claim of the round's job");
                    assert_eq!(
                        got.map(|c| c.id),
                        Some(id),
                        "round {round}: the first claim should take the new job"
                    );
                    id
                },
                |round| round as i64 * 10_000 + 1,
            );
            exactly_one_each_round(&results, 2, "racing to reclaim a job whose lease ran out");
        },
    );
}
