//! Fault tests on a real server: worker processes killed, aborted at crash points and cut off
//! from the server at the worst moments, and the server itself restarted as a crash would,
//! over seeded rounds; afterwards nothing is lost, no effect is doubled, and nothing is left
//! behind.
//!
//! Each round draws from its seed: the jobs (work, planned failures, attempts allowed), two to
//! four worker processes with their threads, claim batches and leases, which of them have their
//! connection cut (`LESSON11_CUT`: in the middle of a claim, in the middle of a completion, or
//! right after a commit whose answer is then lost) or abort at one of lesson 10's crash points
//! (`LESSON10_CRASH`), which one the test kills with SIGKILL after how many lines, and whether
//! and when the server is restarted (`pg_ctl stop -m immediate`, then started again). A last,
//! clean worker drains the queue.
//!
//! `FAULT_ROUNDS` (default 2; CI runs 20 in release) and `FAULT_SEED` choose the rounds; a failure
//! prints the command that replays its round alone. The rounds run on a throwaway server of
//! their own (they restart it), so they need PostgreSQL's programs even when `DATABASE_URL` is
//! set.

#[path = "../../10-durable-queue/tests/shared/rounds.rs"]
mod rounds;

use course_support::postgres;
use lesson_11::backoff::Backoff;
use lesson_11::job::{NewJob, State};
use lesson_11::store::{self, Store};
use lesson_11::work::{self, Double};
use rand::{RngExt as _, SeedableRng as _, rngs::StdRng};
use rounds::{Proc, check};
use std::collections::BTreeMap;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_lesson-11");
const CUTS: [&str; 3] = ["mid-claim", "mid-completion", "lost-answer"];

#[derive(Default, Debug)]
struct Tally {
    rounds: u64,
    jobs: u64,
    attempts: u64,
    killed: u64,
    aborted: u64,
    cuts_planned: BTreeMap<&'static str, u64>,
    reconnects: u64,
    restarts: u64,
    completed: u64,
    discarded: u64,
}

/// The command that replays the round of `seed` alone.
fn replay(seed: u64) -> String {
    rounds::replay_line("FAULT", "lesson-11", "faults", seed)
}

#[test]
fn killed_cut_off_and_restarted_nothing_is_lost_or_doubled_or_left_behind() {
    // A server of the rounds' own: they restart it.
    let server = if postgres::bin_dir().is_some() {
        postgres::start().expect("start a throwaway server for the fault rounds")
    } else {
        match postgres::for_tests("lesson 11's fault rounds (they need PostgreSQL's programs)") {
            // Only reached with DATABASE_URL set and no programs: the rounds cannot restart it.
            Some(_) => {
                panic!("the fault rounds restart their server: install PostgreSQL's programs")
            }
            None => return,
        }
    };
    let mut tally = Tally::default();
    let took = rounds::run_rounds("FAULT", (0xFA17, 2), "fault rounds", |seed, r| {
        round(seed, r, &server, &mut tally)
    });
    println!(
        "{} rounds in {:.1?}: {} jobs, {} attempts; {} workers killed with SIGKILL, {} aborted at \
         crash points; connection cuts planned: {}; {} reconnections; {} server restarts; ended \
         {} completed + {} discarded, every effect once, no worker or connection left behind",
        tally.rounds,
        took,
        tally.jobs,
        tally.attempts,
        tally.killed,
        tally.aborted,
        rounds::listed(&tally.cuts_planned, |n, cut| format!("{n} {cut}")),
        tally.reconnects,
        tally.restarts,
        tally.completed,
        tally.discarded,
    );
}

fn round(seed: u64, r: u64, server: &postgres::Server, tally: &mut Tally) {
    let mut rng = StdRng::seed_from_u64(seed);
    let url = server
        .fresh_database(&format!("faults_{}_{r}", std::process::id()))
        .unwrap_or_else(|e| panic!("round {r}: {e}"));
    let jobs: usize = rng.random_range(8..=30);
    let work_ms: u64 = rng.random_range(0..=20);
    let fail_percent: u32 = rng.random_range(0..=30);
    let max_attempts: u32 = rng.random_range(2..=5);
    let plan: Vec<Double> = work::plan(1, jobs, work_ms, fail_percent, rng.random());
    let mut store = Store::connect(&url, Backoff::default()).unwrap();
    let new: Vec<NewJob> = plan
        .iter()
        .map(|d| NewJob {
            payload: d.to_payload(),
            max_attempts,
            delay_ms: 0,
            key: None,
        })
        .collect();
    store.enqueue(&new).unwrap();
    drop(store);

    let workers: usize = rng.random_range(2..=4);
    let victim = rng.random_range(0..workers);
    let victim_after: usize = rng.random_range(1..=8);
    let restart_after: Option<usize> = rng.random_bool(0.5).then(|| rng.random_range(2..=15));
    let mut procs = Vec::new();
    let mut planned_crash = Vec::new();
    for w in 0..workers {
        let mut cmd = Command::new(BIN);
        cmd.args(["worker", "--database-url", &url])
            .args(["--name", &format!("w{w}")])
            .args(["--threads", &rng.random_range(1..=3u32).to_string()])
            .args(["--claim-batch", &rng.random_range(1..=3u32).to_string()])
            .args(["--lease-ms", &rng.random_range(1500..=2500u32).to_string()])
            .args([
                "--rescue-ms",
                "100",
                "--poll-ms",
                "200",
                "--backoff-ms",
                "10",
            ])
            .args(["--give-up-ms", "30000", "--exit-when-idle"]);
        if rng.random_bool(0.5) {
            let cut = CUTS[rng.random_range(0..CUTS.len())];
            cmd.env(
                "LESSON11_CUT",
                format!("{cut}:{}", rng.random_range(1..=3u32)),
            );
            *tally.cuts_planned.entry(cut).or_default() += 1;
        }
        let crash = rounds::plan_crash(&mut cmd, &mut rng, 0.3);
        planned_crash.push(crash);
        procs.push(Proc::start(cmd, "a worker", replay));
    }
    let mut kills = 0u64;
    let mut restarts = 0u64;
    let mut lines_seen = 0usize;
    let mut victim_lines = 0usize;
    let mut victim_alive = true;
    let mut open = workers;
    let deadline = Instant::now() + Duration::from_secs(60);
    while open > 0 {
        check!(
            seed,
            Instant::now() < deadline,
            "round {r}: workers still running after 60 s: is one stuck?"
        );
        for (w, p) in procs.iter_mut().enumerate() {
            match p.try_line() {
                Some(Some(line)) => {
                    lines_seen += 1;
                    if line.contains("reconnected") {
                        tally.reconnects += 1;
                    }
                    if w == victim && victim_alive {
                        victim_lines += 1;
                        if victim_lines == victim_after {
                            let _ = p.child.kill();
                            victim_alive = false;
                            kills += 1;
                        }
                    }
                }
                Some(None) => open -= 1,
                None => {}
            }
        }
        if restart_after == Some(lines_seen) && restarts == 0 {
            server
                .restart_immediate()
                .unwrap_or_else(|e| panic!("round {r}: {e}"));
            restarts += 1;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    for (w, p) in procs.iter_mut().enumerate() {
        let status = p.wait(Duration::from_secs(10), seed);
        let killed_by_the_test = w == victim && !victim_alive;
        if status.code().is_none() && !killed_by_the_test {
            kills += 1;
            tally.aborted += 1;
            check!(
                seed,
                planned_crash[w].is_some(),
                "worker w{w} died of a signal nobody planned: {status}"
            );
        }
    }
    tally.killed += u64::from(!victim_alive);

    // A clean worker drains the rest.
    let mut last = Command::new(BIN)
        .args([
            "worker",
            "--database-url",
            &url,
            "--name",
            "cleanup",
            "--threads",
            "2",
        ])
        .args([
            "--rescue-ms",
            "100",
            "--poll-ms",
            "100",
            "--backoff-ms",
            "10",
        ])
        .args(["--exit-when-idle", "--quiet"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let drained = Instant::now() + Duration::from_secs(30);
    while last.try_wait().unwrap().is_none() {
        if Instant::now() > drained {
            let _ = last.kill();
            let counts = Store::connect(&url, Backoff::default()).and_then(|mut s| s.counts());
            check!(
                seed,
                false,
                "round {r}: the clean worker did not drain the queue within 30 s ({counts:?}): are expired leases rescued?"
            );
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    check!(
        seed,
        last.wait().unwrap().success(),
        "round {r}: the clean worker failed"
    );

    let mut store = Store::connect(&url, Backoff::default()).unwrap();
    let all = store.jobs().unwrap();
    let counts = store.counts().unwrap();
    let effects = store.effects().unwrap();
    check!(
        seed,
        all.len() == jobs,
        "round {r}: {} jobs at the end, {jobs} enqueued",
        all.len()
    );
    check!(
        seed,
        counts.unfinished() == 0,
        "round {r}: jobs not in a terminal state: {counts:?}"
    );
    check!(
        seed,
        counts.of(State::Running) == 0,
        "round {r}: jobs left running: {counts:?}"
    );
    check!(
        seed,
        counts.doubled == 0,
        "round {r}: {} jobs have their effect applied twice",
        counts.doubled
    );
    for job in &all {
        let spec = plan[(job.id - 1) as usize];
        let mine: Vec<&String> = effects
            .iter()
            .filter(|(id, _)| *id == job.id)
            .map(|(_, o)| o)
            .collect();
        match job.state {
            State::Completed => check!(
                seed,
                mine == [&(spec.n * 2).to_string()],
                "round {r}: job {} completed with effects {mine:?}",
                job.id
            ),
            State::Discarded => {
                check!(
                    seed,
                    mine.is_empty(),
                    "round {r}: discarded job {} has effects {mine:?}",
                    job.id
                );
                check!(
                    seed,
                    job.attempts == job.max_attempts,
                    "round {r}: job {} discarded after {} of {}",
                    job.id,
                    job.attempts,
                    job.max_attempts
                );
            }
            other => check!(seed, false, "round {r}: job {} ended {other}", job.id),
        }
        let bound = u64::from(spec.fail_first) + kills + restarts + 1;
        check!(
            seed,
            u64::from(job.attempts) <= bound,
            "round {r}: job {} ran {} times, more than {} planned failures + {kills} kills + {restarts} restarts + 1",
            job.id,
            job.attempts,
            spec.fail_first
        );
        tally.attempts += u64::from(job.attempts);
    }
    // No worker process left behind: none of their connections is still open.
    let mut admin = store::client(server.url(), Duration::from_secs(5)).unwrap();
    let db = url.rsplit('/').next().unwrap().to_string();
    let gone = Instant::now() + Duration::from_secs(10);
    loop {
        let left: i64 = admin
            .query_one(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
                &[&db],
            )
            .unwrap()
            .get(0);
        // The check's own store is the one connection allowed.
        if left <= 1 {
            break;
        }
        check!(
            seed,
            Instant::now() < gone,
            "round {r}: {left} connections to the round's database still open 10 s after every worker exited"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    tally.rounds += 1;
    tally.jobs += jobs as u64;
    tally.restarts += restarts;
    tally.completed += counts.of(State::Completed);
    tally.discarded += counts.of(State::Discarded);
}
