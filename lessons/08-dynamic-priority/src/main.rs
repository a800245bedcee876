//! `cargo run -p lesson-8`: a dynamic pool follows a bursty load (it grows, shrinks, and is
//! resized while it runs), then a priority pool runs one workload twice, without and with
//! aging. Growth is driven by submissions and the jobs wait at gates, so the worker counts are
//! the same on every run; the priority pool has one worker, so its order of picks is exact.

use clap::Parser;
use course_support::{cli, plural, svg, timeline, workload};
use crossbeam_channel::{Receiver, Sender};
use lesson_8::dynamic::{self, DynamicPool, Limits, Why};
use lesson_8::priority::{Config, Priority, PriorityPool, max_overtakers};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Lesson 8: dynamic and priority pools.
#[derive(Parser)]
#[command(version, about)]
struct Args {
    /// Dynamic pool: workers kept alive when idle (0 to 1024, at most --max-workers).
    #[arg(long, default_value = "1", value_parser = at_most_max_workers, allow_negative_numbers = true)]
    min_workers: usize,
    /// Dynamic pool: the most workers it may grow to (1 to 1024).
    #[arg(long, default_value = "4", value_parser = cli::workers, allow_negative_numbers = true)]
    max_workers: usize,
    /// Dynamic pool: jobs in the first burst (the second has half as many) (0 to 1000000).
    #[arg(long, default_value = "12", value_parser = cli::jobs, allow_negative_numbers = true)]
    jobs: usize,
    /// Dynamic pool: mean job length in milliseconds (0 to 60000).
    #[arg(long, default_value = "40", value_parser = cli::millis, allow_negative_numbers = true)]
    work_ms: Duration,
    /// Dynamic pool: how long a worker waits for work before retiring, in milliseconds (1 to 60000).
    #[arg(long, default_value = "50", value_parser = cli::positive_millis, allow_negative_numbers = true)]
    idle_ms: Duration,
    /// Priority pool: high-priority jobs that keep arriving, one per pick (0 to 1000000).
    #[arg(long, default_value = "40", value_parser = cli::jobs, allow_negative_numbers = true)]
    high_jobs: usize,
    /// Priority pool: arrivals after which a waiting job gains one level (1 to 1000000).
    #[arg(long, default_value = "3", value_parser = aging_step, allow_negative_numbers = true)]
    aging: u32,
    /// Seed for job lengths and for which waiting jobs are low priority.
    #[arg(long, default_value = "4")]
    seed: u64,
    #[command(flatten)]
    picture: svg::SvgFlag,
}

/// A worker count that may be 0: the floor of a pool that sleeps when idle.
fn at_most_max_workers(s: &str) -> Result<usize, String> {
    let n = s
        .trim()
        .parse::<usize>()
        .map_err(|_| "expected a whole number such as 1".to_string())?;
    if n > cli::MAX_WORKERS {
        return Err(format!("at most {} workers", cli::MAX_WORKERS));
    }
    Ok(n)
}

/// An aging step: 1 to 1000000 arrivals.
fn aging_step(s: &str) -> Result<u32, String> {
    match s.trim().parse::<u32>() {
        Ok(n @ 1..=1_000_000) => Ok(n),
        _ => Err("expected a whole number of arrivals from 1 to 1000000".into()),
    }
}

const HIGH: Priority = 5;
const LOW: Priority = 1;
/// Jobs waiting when the priority scenes begin.
const WAITING: usize = 6;

fn main() {
    let args: Args = cli::parse();
    // Both pools check their own configuration; a refusal is shown like a bad flag.
    let checked = Limits {
        min: args.min_workers,
        max: args.max_workers,
        idle: args.idle_ms,
    }
    .check()
    .and_then(|()| {
        Config {
            workers: 1,
            aging: Some(args.aging),
        }
        .check()
    });
    if let Err(err) = checked {
        eprintln!("error: {err} (see --help)");
        std::process::exit(2);
    }
    println!("Lesson 8: dynamic and priority pools\n");
    dynamic_scenes(&args);
    priority_scenes(&args);
}

/// A dynamic-pool job: how long to work, whom to tell that it started, and a gate to wait at
/// first, which keeps every job of a burst running (or queued) until the script opens it.
struct Job {
    work: Duration,
    started: Sender<()>,
    gate: Receiver<()>,
}

/// What the observer keeps: the worker count after every change, and a span per job.
#[derive(Default)]
struct Seen {
    alive: Vec<(usize, Why)>,
    spans: Vec<timeline::Span>,
}

fn dynamic_scenes(args: &Args) {
    let limits = Limits {
        min: args.min_workers,
        max: args.max_workers,
        idle: args.idle_ms,
    };
    println!(
        "A dynamic pool: at least {}, at most {} workers; a worker above the minimum retires \
         after {} with nothing to do.",
        limits.min,
        limits.max,
        course_support::human(limits.idle)
    );
    let seen = Arc::new(Mutex::new(Seen::default()));
    let (finished, each_finished) = crossbeam_channel::unbounded();
    let record = Arc::clone(&seen);
    let pool = DynamicPool::observed(
        limits,
        move |event| narrate(event, &record, &finished),
        |job: &Job| {
            // The script holds the receiver until the end.
            let _ = job.started.send(());
            // Returns when the script drops the gate's sender (or after 10 s, as a safety net).
            let _ = job.gate.recv_timeout(Duration::from_secs(10));
            std::thread::sleep(job.work);
        },
    )
    .expect("the limits were checked in main");
    let mut sizes = workload::jobs(10_000, args.seed, args.work_ms, 0)
        .into_iter()
        .map(|spec| spec.work);
    // Returns the gate's sender, which opens the gate when dropped, and a receiver that hears
    // from each job of the burst as it starts.
    let mut submit_burst = |count: usize| -> (Sender<()>, Receiver<()>) {
        let (open, gate) = crossbeam_channel::bounded::<()>(0);
        let (started, each_started) = crossbeam_channel::unbounded();
        for _ in 0..count {
            let job = Job {
                work: sizes.next().unwrap_or(args.work_ms),
                started: started.clone(),
                gate: gate.clone(),
            };
            // The pool is open until shutdown, which comes last.
            let _ = pool.submit(job);
        }
        (open, each_started)
    };
    let settle = |jobs: usize| {
        for _ in 0..jobs {
            each_finished
                .recv_timeout(Duration::from_secs(30))
                .expect("every job finishes within 30 s");
        }
        let min = pool.limits().min;
        assert!(
            pool.wait_alive(min, Duration::from_secs(30)),
            "the pool did not shrink back to {min} workers within 30 s"
        );
    };

    // Scene 1: a burst, all of whose jobs wait at a gate until the last one is in.
    let burst = args.jobs;
    println!("\n1. A burst: {burst} jobs arrive at once.");
    let (open, _) = submit_burst(burst);
    println!(
        "   Each job that found no free worker started one: {} alive (the maximum is {}).",
        pool.alive(),
        limits.max
    );
    drop(open);
    settle(burst);
    println!(
        "   All {burst} ran. With nothing left to do, workers above the minimum retired: {} alive.",
        pool.alive()
    );

    // Scene 2: resizing while the pool runs.
    let second = burst / 2;
    let small = limits.max.div_ceil(2);
    println!(
        "\n2. resize({}, {small}), then {second} jobs arrive.",
        limits.min.min(small)
    );
    pool.resize(limits.min.min(small), small)
        .expect("at least 1, at most max");
    let (open, each_started) = submit_burst(second);
    println!("   The pool grew only to {} alive.", pool.alive());
    let large = (limits.max + 2).min(lesson_8::MAX_WORKERS);
    pool.resize(limits.min, large).expect("within the limits");
    println!(
        "   resize({}, {large}) while jobs still wait: a worker starts at once for each, {} alive.",
        limits.min,
        pool.alive()
    );
    // Wait until every worker holds a job, so the next resize finds them all mid-run.
    for _ in 0..second.min(pool.alive()) {
        each_started
            .recv_timeout(Duration::from_secs(30))
            .expect("every worker takes a job within 30 s");
    }
    let medium = (limits.max - 1).max(limits.min).max(1);
    pool.resize(limits.min, medium).expect("within the limits");
    println!(
        "   resize({}, {medium}) while every worker is in the middle of a job: none is \
         interrupted; the surplus retire as their jobs end.",
        limits.min
    );
    drop(open);
    settle(second);
    println!("   All {second} ran: {} alive.", pool.alive());

    let report = pool.shutdown();
    println!(
        "\nReport: {} jobs ran; {} started = {} retired idle + {} retired as surplus + {} \
         stopped at shutdown; {} joined.",
        report.ran,
        plural(report.started, "worker"),
        report.retired_idle,
        report.retired_surplus,
        report.started - report.retired_idle - report.retired_surplus,
        report.joined
    );
    let seen = seen.lock().expect("the observer does not panic");
    println!("\nWorkers alive after each change (▲ a worker started, ▼ one retired):");
    print!("{}", alive_chart(&seen.alive));
    println!(
        "\nThe run, one row per worker thread (numbers are never reused, so a row is one thread's \
         life):"
    );
    print!(
        "{}",
        timeline::render(&seen.spans, report.started, timeline::Style::for_stdout())
    );
    let title = format!(
        "Lesson 8: a dynamic pool; {} worker threads over the run, each row one thread's life",
        report.started
    );
    args.picture
        .draw_workers(&seen.spans, report.started, &title);
}

fn narrate(event: &dynamic::Event, seen: &Mutex<Seen>, finished: &Sender<()>) {
    let mut seen = seen.lock().expect("the observer does not panic");
    match event {
        dynamic::Event::Started { worker, alive, why } => {
            let because = match why {
                Why::Floor => "to keep the minimum",
                _ => "a job found no free worker",
            };
            println!("  [pool] worker {worker} started: {because} ({alive} alive)");
            seen.alive.push((*alive, *why));
        }
        dynamic::Event::Retired { worker, alive, why } => {
            let because = match why {
                Why::Idle => "idle for the whole timeout",
                Why::Surplus => "surplus after the resize, between jobs",
                _ => "the pool shut down",
            };
            println!("  [pool] worker {worker} retired: {because} ({alive} alive)");
            seen.alive.push((*alive, *why));
        }
        dynamic::Event::Finished {
            job,
            worker,
            started,
            took,
            panicked,
        } => {
            let end = *started + *took;
            course_support::event_line!(end, "worker {worker} finished job {job}");
            seen.spans.push(timeline::Span {
                worker: *worker,
                job: *job,
                start: *started,
                end,
                failed: *panicked,
            });
            // The script counts finished jobs; it holds the receiver until the end.
            let _ = finished.send(());
        }
    }
}

/// One column per change in the worker count, as high as the count after it.
fn alive_chart(changes: &[(usize, Why)]) -> String {
    let top = changes.iter().map(|(n, _)| *n).max().unwrap_or(0);
    let mut out = String::new();
    for level in (1..=top).rev() {
        out.push_str(&format!("  {level:>2} ┤"));
        for (n, _) in changes {
            out.push(if *n >= level { '█' } else { ' ' });
        }
        out.truncate(out.trim_end().len());
        out.push('\n');
    }
    out.push_str("      ");
    for (_, why) in changes {
        out.push(match why {
            Why::Floor | Why::Backlog => '▲',
            _ => '▼',
        });
    }
    out.push('\n');
    out
}

/// A priority-pool job: the first holds the worker at a gate; every job, when it runs, lets
/// the producer add one more high job and waits until it has.
struct Pick {
    gate: Option<Receiver<()>>,
    arrive: Sender<()>,
    arrived: Receiver<()>,
}

/// One run of the priority workload; returns (pick, job id, priority) for each job, by pick.
fn run_priority(args: &Args, aging: Option<u32>) -> Vec<(u64, u64, Priority)> {
    let order = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&order);
    let pool = PriorityPool::new(Config { workers: 1, aging }, move |job: &Pick, ctx| {
        if let Some(gate) = &job.gate {
            let _ = gate.recv_timeout(Duration::from_secs(10));
        }
        log.lock()
            .expect("no job panics")
            .push((ctx.pick, ctx.seq, ctx.priority));
        // The next arrival is in the heap before this job ends, so before the next pick.
        let _ = job.arrive.send(());
        let _ = job.arrived.recv_timeout(Duration::from_secs(10));
    })
    .expect("checked in main");
    let pool = Arc::new(pool);
    let (arrive, arrival_asked) = crossbeam_channel::bounded::<()>(0);
    let (arrived_tx, arrived) = crossbeam_channel::bounded::<()>(0);
    let pick = |gate: Option<Receiver<()>>| Pick {
        gate,
        arrive: arrive.clone(),
        arrived: arrived.clone(),
    };
    let lows = workload::pick(WAITING, args.seed, 50);
    let (open, gate) = crossbeam_channel::bounded::<()>(0);
    // Job 1 holds the single worker until the waiting jobs are all in.
    let _ = pool.submit(Priority::MAX, pick(Some(gate)));
    for low in &lows {
        let _ = pool.submit(if *low { LOW } else { HIGH }, pick(None));
    }
    let total = 1 + WAITING + args.high_jobs;
    let producer = {
        let pool = Arc::clone(&pool);
        let high = args.high_jobs;
        let pick = pick(None);
        std::thread::spawn(move || {
            let mut left = high;
            for _ in 0..total {
                if arrival_asked.recv_timeout(Duration::from_secs(10)).is_err() {
                    return;
                }
                if left > 0 {
                    let next = Pick {
                        gate: None,
                        arrive: pick.arrive.clone(),
                        arrived: pick.arrived.clone(),
                    };
                    let _ = pool.submit(HIGH, next);
                    left -= 1;
                }
                let _ = arrived_tx.send(());
            }
        })
    };
    drop(open);
    producer.join().expect("the producer does not panic");
    let pool = Arc::into_inner(pool).expect("the producer has let go of the pool");
    let report = pool.shutdown();
    assert_eq!(report.ran as usize, total, "every job ran once");
    order.lock().expect("no job panics").clone()
}

fn priority_scenes(args: &Args) {
    let lows = workload::pick(WAITING, args.seed, 50);
    let low_ids: Vec<String> = lows
        .iter()
        .enumerate()
        .filter(|(_, low)| **low)
        .map(|(i, _)| (i + 2).to_string())
        .collect();
    println!(
        "\nA priority pool with 1 worker, so the order of picks is exact. Job 1 holds the worker \
         while jobs 2 to {} arrive: {} low (priority {LOW}), the rest high (priority {HIGH}). \
         Then every time a job is picked, one more high job arrives, {} in all.",
        WAITING + 1,
        if low_ids.is_empty() {
            "none of them".to_string()
        } else {
            format!(
                "job{} {} {}",
                if low_ids.len() == 1 { "" } else { "s" },
                low_ids.join(", "),
                if low_ids.len() == 1 { "is" } else { "are" }
            )
        },
        args.high_jobs
    );

    println!("\n3. Strict priority: the heap always gives the highest first.");
    let order = run_priority(args, None);
    describe(&order, None);

    let step = args.aging;
    println!(
        "\n4. The same workload with aging: a waiting job gains a level every {step} arrivals."
    );
    let order = run_priority(args, Some(step));
    describe(&order, Some(step));
}

/// Prints the order of picks and where the low jobs ran.
fn describe(order: &[(u64, u64, Priority)], aging: Option<u32>) {
    let strip: String = order
        .iter()
        .map(|(_, _, p)| match *p {
            LOW => 'l',
            HIGH => 'H',
            _ => 'G',
        })
        .collect();
    println!("   Picks in order (G the gate job, H high, l low): {strip}");
    let lows: Vec<&(u64, u64, Priority)> = order.iter().filter(|(_, _, p)| *p == LOW).collect();
    if lows.is_empty() {
        println!("   No job was low priority with this seed.");
        return;
    }
    let picks: Vec<String> = lows.iter().map(|(pick, _, _)| pick.to_string()).collect();
    let last_high = order
        .iter()
        .filter(|(_, _, p)| *p == HIGH)
        .map(|(pick, _, _)| *pick)
        .max()
        .unwrap_or(0);
    // For each low job: how many high jobs submitted after it were picked before it.
    let passed = lows
        .iter()
        .map(|(pick, seq, _)| {
            order
                .iter()
                .filter(|(p, s, pr)| *pr == HIGH && s > seq && p < pick)
                .count()
        })
        .max()
        .unwrap_or(0);
    println!(
        "   The low jobs ran at picks {} of {}; the last high job ran at pick {last_high}.",
        picks.join(", "),
        order.len()
    );
    match aging {
        None => println!(
            "   A low job was passed by {passed} later high jobs, every one that arrived after it: \
             the low jobs ran only because the load stopped. Had it gone on, they would have \
             waited for ever."
        ),
        Some(step) => println!(
            "   No low job was passed by more than {passed} later high jobs; the bound is {}.",
            max_overtakers(HIGH, LOW, step)
        ),
    }
}
