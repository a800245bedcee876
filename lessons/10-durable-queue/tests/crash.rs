//! Crash tests: worker processes and the enqueuer killed at random moments, over many seeded
//! rounds, and afterwards nothing lost and no effect applied twice.
//!
//! Each round draws everything from its seed: the jobs (work time, planned failures, attempts
//! allowed), whether the enqueuer dies mid-batch, how many worker processes run with how many
//! threads and how long a lease, which of them abort at a crash point inside their work
//! (between claim and start, mid-job, between the job's end and its commit, mid-transaction),
//! and which one the test kills from outside with SIGKILL after how many lines of output. A
//! last, clean worker then drains the queue, taking back the jobs whose leases ran out.
//!
//! `CRASH_ROUNDS` (default 3; CI runs 40 in release) and `CRASH_SEED` (decimal or `0x` hex)
//! choose the rounds; a failure prints the command that replays its round alone.

mod shared;

use lesson_10::backoff::Backoff;
use lesson_10::clock::WallClock;
use lesson_10::job::State;
use lesson_10::store::{Durability, Store};
use lesson_10::work::Double;
use rand::{RngExt as _, SeedableRng as _, rngs::StdRng};
use shared::rounds::{self, Proc, check};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::{Child, Command};
use std::sync::Arc;
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_lesson-10");

/// What a round did, for the totals printed at the end.
#[derive(Default, Debug)]
struct Tally {
    rounds: u64,
    jobs: u64,
    reported: u64,
    attempts: u64,
    killed_outside: u64,
    aborted_at_point: BTreeMap<&'static str, u64>,
    enqueuer_killed: u64,
    frozen: u64,
    refused_late: u64,
    completed: u64,
    discarded: u64,
}

#[test]
fn killed_workers_and_enqueuers_lose_nothing_and_apply_every_effect_once() {
    let mut tally = Tally::default();
    let took = rounds::run_rounds("CRASH", (0xC0FFEE, 3), "crash rounds", |seed, _| {
        round(seed, &mut tally)
    });
    println!(
        "{} rounds in {:.1?}: {} jobs ({} reported by killed enqueuers, checked present), \
         {} attempts; {} workers killed with SIGKILL from outside, workers aborted at crash \
         points: {}; {} enqueuers killed mid-batch; {} workers frozen past their leases and thawed ({} late completions or renewals refused); ended {} completed + {} discarded, every \
         effect once",
        tally.rounds,
        took,
        tally.jobs,
        tally.reported,
        tally.attempts,
        tally.killed_outside,
        rounds::listed(&tally.aborted_at_point, |n, point| format!(
            "{n} at {point}"
        )),
        tally.enqueuer_killed,
        tally.frozen,
        tally.refused_late,
        tally.completed,
        tally.discarded,
    );
}

/// The command that replays the round of `seed` alone.
fn replay(seed: u64) -> String {
    rounds::replay_line("CRASH", "lesson-10", "crash", seed)
}

fn round(seed: u64, tally: &mut Tally) {
    let mut rng = StdRng::seed_from_u64(seed);
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("q.db");
    let jobs: usize = rng.random_range(8..=30);
    let work_ms: u64 = rng.random_range(0..=20);
    let fail_percent: u32 = rng.random_range(0..=30);
    let max_attempts: u32 = rng.random_range(2..=5);
    let job_seed: u64 = rng.random();
    let enqueue_args = |n: usize| -> Vec<String> {
        [
            "enqueue",
            "--db",
            &db.display().to_string(),
            "--jobs",
            &n.to_string(),
            "--work-ms",
            &work_ms.to_string(),
            "--fail-percent",
            &fail_percent.to_string(),
            "--max-attempts",
            &max_attempts.to_string(),
            "--seed",
            &job_seed.to_string(),
            "--key-prefix",
            "crash",
            "--batch",
            "3",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    };

    // 1. The enqueuer, killed mid-batch in half the rounds: every batch it reported is stored.
    let mut reported: BTreeSet<i64> = BTreeSet::new();
    if rng.random_bool(0.5) {
        let batches = jobs.div_ceil(3) as u64;
        let (crash, outside_after) = if rng.random_bool(0.5) {
            (
                Some(format!("mid-enqueue:{}", rng.random_range(1..=batches))),
                None,
            )
        } else {
            (None, Some(rng.random_range(1..=batches) as usize))
        };
        let mut cmd = Command::new(BIN);
        cmd.args(enqueue_args(jobs));
        if let Some(c) = &crash {
            cmd.env("LESSON10_CRASH", c);
        }
        let mut child = Proc::start(cmd, "enqueuer", replay);
        let mut lines = 0;
        while let Some(line) = child.line(Duration::from_secs(20), seed) {
            if let Some(ids) = committed_ids(&line) {
                reported.extend(ids);
                lines += 1;
                if outside_after == Some(lines) {
                    child.kill();
                }
            }
        }
        let status = child.wait(Duration::from_secs(20), seed);
        if status.code().is_none() {
            tally.enqueuer_killed += 1;
        }
        tally.reported += reported.len() as u64;
        let stored: BTreeSet<i64> = open(&db).jobs().unwrap().iter().map(|j| j.id).collect();
        let missing: Vec<&i64> = reported.difference(&stored).collect();
        check!(
            seed,
            missing.is_empty(),
            "the enqueuer reported jobs {missing:?} committed, but they are not in the file"
        );
    }
    // Enqueueing again with the same keys finishes the batch and doubles nothing.
    let out = Command::new(BIN).args(enqueue_args(jobs)).output().unwrap();
    check!(
        seed,
        out.status.success(),
        "enqueue failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let plan: Vec<Double> = lesson_10::work::plan(1, jobs, work_ms, fail_percent, job_seed);
    let store = open(&db);
    let stored = store.jobs().unwrap();
    check!(
        seed,
        stored.len() == jobs,
        "{} jobs stored for {jobs} enqueued with keys",
        stored.len()
    );

    // 2. Worker processes, some planned to abort at a crash point, one killed from outside.
    let workers: usize = rng.random_range(2..=3);
    let victim = rng.random_range(0..workers);
    let victim_after: usize = rng.random_range(1..=8);
    let mut procs = Vec::new();
    let mut planned = Vec::new();
    for w in 0..workers {
        let mut cmd = Command::new(BIN);
        cmd.args(["worker", "--db"]).arg(&db).args([
            "--name",
            &format!("w{w}"),
            "--threads",
            &rng.random_range(1..=3u32).to_string(),
            "--claim-batch",
            &rng.random_range(1..=3u32).to_string(),
            "--lease-ms",
            &rng.random_range(150..=300u32).to_string(),
            "--poll-ms",
            "5",
            "--backoff-ms",
            "10",
            "--exit-when-idle",
        ]);
        let point = rounds::plan_crash(&mut cmd, &mut rng, 0.6);
        planned.push(point);
        procs.push(Proc::start(cmd, &format!("worker w{w}"), replay));
    }
    // Another worker may freeze (SIGSTOP, as a machine under memory pressure or a long GC
    // pause would) for longer than its lease, then wake up (SIGCONT) and try to finish jobs
    // that others have taken since: those completions must be refused.
    let frozen = rng
        .random_bool(0.6)
        .then(|| (rng.random_range(0..workers), rng.random_range(1..=4usize)));
    let mut frozen_lines = 0;
    let mut thaw_at: Option<Instant> = None;
    let mut kills = 0u64;
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut open_outputs = workers;
    let mut victim_lines = 0;
    let mut victim_alive = true;
    while open_outputs > 0 {
        check!(
            seed,
            Instant::now() < deadline,
            "worker processes still running after 60 s: is one stuck?"
        );
        if thaw_at.is_some_and(|t| Instant::now() >= t) {
            let (w, _) = frozen.expect("only a frozen worker thaws");
            signal(&procs[w].child, "CONT");
            thaw_at = None;
        }
        for (w, p) in procs.iter_mut().enumerate() {
            let line = p.try_line();
            if let Some(Some(text)) = &line {
                if text.contains("too late") || text.contains("lost its lease") {
                    tally.refused_late += 1;
                }
            }
            if let (Some(Some(_)), Some((f, after))) = (&line, frozen) {
                if f == w && w != victim {
                    frozen_lines += 1;
                    if frozen_lines == after {
                        signal(&p.child, "STOP");
                        // Two of the longest leases: every lease it holds runs out.
                        thaw_at = Some(Instant::now() + Duration::from_millis(600));
                        tally.frozen += 1;
                        kills += 1;
                    }
                }
            }
            match line {
                Some(Some(_)) if w == victim && victim_alive => {
                    victim_lines += 1;
                    if victim_lines == victim_after {
                        p.kill();
                        victim_alive = false;
                        kills += 1;
                        tally.killed_outside += 1;
                    }
                }
                Some(None) => open_outputs -= 1,
                _ => {}
            }
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    for (w, p) in procs.iter_mut().enumerate() {
        let status = p.wait(Duration::from_secs(10), seed);
        let killed_by_the_test = w == victim && !victim_alive;
        if status.code().is_none() && !killed_by_the_test {
            // Killed by a signal it sent itself: the planned abort.
            kills += 1;
            *tally
                .aborted_at_point
                .entry(planned[w].unwrap_or("?"))
                .or_default() += 1;
        }
    }

    // 3. A clean worker drains the rest, waiting out the leases of the dead.
    let mut cmd = Command::new(BIN);
    cmd.args(["worker", "--db"]).arg(&db).args([
        "--name",
        "cleanup",
        "--threads",
        "2",
        "--poll-ms",
        "5",
        "--backoff-ms",
        "10",
        "--exit-when-idle",
        "--quiet",
    ]);
    let mut last = Proc::start(cmd, "the clean worker", replay);
    let drained = Instant::now() + Duration::from_secs(20);
    while last.child.try_wait().unwrap().is_none() {
        if Instant::now() > drained {
            last.kill();
            let counts = open(&db).counts().unwrap();
            check!(
                seed,
                false,
                "the clean worker did not drain the queue within 20 s ({counts:?}): are jobs whose lease ran out ever taken back?"
            );
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let status = last.wait(Duration::from_secs(1), seed);
    check!(seed, status.success(), "the clean worker failed: {status}");

    // 4. Everything adds up.
    let store = open(&db);
    let jobs_now = store.jobs().unwrap();
    let counts = store.counts().unwrap();
    check!(
        seed,
        jobs_now.len() == jobs,
        "{} jobs at the end, {jobs} enqueued",
        jobs_now.len()
    );
    for id in &reported {
        check!(
            seed,
            jobs_now.iter().any(|j| j.id == *id),
            "reported job {id} vanished"
        );
    }
    check!(
        seed,
        counts.unfinished() == 0,
        "jobs not in a terminal state at the end: {counts:?}"
    );
    check!(
        seed,
        counts.of(State::Running) == 0,
        "jobs left running past their lease: {counts:?}"
    );
    check!(
        seed,
        counts.doubled == 0,
        "{} jobs have their effect applied twice",
        counts.doubled
    );
    let effects = store.effects().unwrap();
    for job in &jobs_now {
        let spec = plan[(job.id - 1) as usize];
        let mine: Vec<&String> = effects
            .iter()
            .filter(|(id, _)| *id == job.id)
            .map(|(_, o)| o)
            .collect();
        match job.state {
            State::Completed => {
                check!(
                    seed,
                    mine == [&(spec.n * 2).to_string()],
                    "job {} completed with effects {mine:?}, expected exactly [{}]",
                    job.id,
                    spec.n * 2
                );
                check!(
                    seed,
                    job.attempts > spec.fail_first,
                    "job {} completed after {} attempts, but its first {} were planned to fail",
                    job.id,
                    job.attempts,
                    spec.fail_first
                );
            }
            State::Discarded => {
                check!(
                    seed,
                    mine.is_empty(),
                    "discarded job {} has effects {mine:?}",
                    job.id
                );
                check!(
                    seed,
                    job.attempts == job.max_attempts,
                    "job {} discarded after {} of {} attempts",
                    job.id,
                    job.attempts,
                    job.max_attempts
                );
                check!(
                    seed,
                    job.last_error.is_some(),
                    "discarded job {} kept no error",
                    job.id
                );
            }
            other => check!(seed, false, "job {} ended {other}", job.id),
        }
        let bound = u64::from(spec.fail_first) + kills + 1;
        check!(
            seed,
            u64::from(job.attempts) <= bound,
            "job {} ran {} times: more than its {} planned failures + {kills} kills or freezes + 1",
            job.id,
            job.attempts,
            spec.fail_first
        );
        tally.attempts += u64::from(job.attempts);
    }
    tally.rounds += 1;
    tally.jobs += jobs as u64;
    tally.completed += counts.of(State::Completed);
    tally.discarded += counts.of(State::Discarded);
}

fn signal(child: &Child, name: &str) {
    // The process may have exited already; then there is nothing to stop or wake.
    let _ = Command::new("kill")
        .args([&format!("-{name}"), &child.id().to_string()])
        .status();
}

fn open(db: &Path) -> Store {
    Store::open(
        db,
        Durability::Full,
        Arc::new(WallClock),
        Backoff::default(),
    )
    .unwrap()
}

/// The ids of a `committed N jobs (ids A..=B)` line.
fn committed_ids(line: &str) -> Option<std::ops::RangeInclusive<i64>> {
    let ids = line.strip_prefix("committed ")?.split("(ids ").nth(1)?;
    let (a, b) = ids.trim_end_matches(')').split_once("..=")?;
    Some(a.parse().ok()?..=b.parse().ok()?)
}
