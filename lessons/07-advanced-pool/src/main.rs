//! `cargo run -p lesson-7`: the advanced pool through a scripted day: a burst against the rate
//! limit, an outage that trips the breaker, its recovery, steady load with a panic, a full
//! queue, and a graceful close. The pool's clock is a `ManualClock` the script moves by hand,
//! so the story is the same on every run; the jobs themselves take real time.

use clap::Parser;
use course_support::{cli, human, svg, timeline, workload};
use crossbeam_channel::{Receiver, Sender};
use lesson_7::rate::{ConcurrencyCap, RateLimiter};
use lesson_7::{
    BreakerConfig, Clock, Event, MAX_RATE, MIN_RATE, ManualClock, Pool, Reason, Rejected, Status,
    Stop,
};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Lesson 7: the advanced pool.
#[derive(Parser)]
#[command(version, about)]
struct Args {
    /// Worker threads (1 to 1024).
    #[arg(long, default_value = "4", value_parser = cli::workers, allow_negative_numbers = true)]
    workers: usize,
    /// Jobs the queue holds (1 to 1000000).
    #[arg(long, default_value = "8", value_parser = cli::capacity, allow_negative_numbers = true)]
    queue: usize,
    /// Rate limit: jobs per second on average (0.001 to 1000000000).
    #[arg(long, default_value = "50", value_parser = rate, allow_negative_numbers = true)]
    rate: f64,
    /// Rate limit: jobs allowed at once (1 to 1000).
    #[arg(long, default_value = "8", value_parser = count, allow_negative_numbers = true)]
    burst: u32,
    /// Failures in a row that open the breaker (1 to 1000; the outage scene needs room for this
    /// many + 2 jobs at once, so --workers + --queue must be at least that).
    #[arg(long, default_value = "3", value_parser = count, allow_negative_numbers = true)]
    breaker_failures: u32,
    /// How long the breaker stays open, in milliseconds (1 to 60000).
    #[arg(long, default_value = "500", value_parser = cli::positive_millis, allow_negative_numbers = true)]
    cooldown_ms: Duration,
    /// Probe jobs the half-open breaker lets through (1 to 1000).
    #[arg(long, default_value = "2", value_parser = count, allow_negative_numbers = true)]
    probes: u32,
    /// Seed for job lengths.
    #[arg(long, default_value = "7")]
    seed: u64,
    /// Print only the final metrics, as one JSON object.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    picture: svg::SvgFlag,
}

/// Jobs per second, from `MIN_RATE` to `MAX_RATE`: checked here too, so that the error names the
/// flag (`nan` and `inf` parse as numbers, so they are checked as well).
fn rate(s: &str) -> Result<f64, String> {
    let too = || format!("expected jobs per second from {MIN_RATE} to {MAX_RATE}");
    match s.trim().parse::<f64>() {
        Ok(r) if (MIN_RATE..=MAX_RATE).contains(&r) => Ok(r),
        _ => Err(too()),
    }
}

/// A count for the script, 1 to 1000: the script submits about this many jobs in one scene, so
/// a typo such as 4294967295 must be an error, not an attempt to allocate for four billion.
fn count(s: &str) -> Result<u32, String> {
    match s.trim().parse::<u32>() {
        Ok(0) => Err("at least 1".into()),
        Ok(n) if n > 1000 => Err("at most 1000".into()),
        Ok(n) => Ok(n),
        Err(_) => Err("expected a whole number such as 3".into()),
    }
}

/// What the script asks a job to do.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Plan {
    Succeed,
    Fail,
    Panic,
}

/// A demo job: how long to work, how to end, whom to tell that it started, and a gate to wait
/// at first. The gates keep each scene's outcome independent of timing: the script opens a gate
/// (by dropping its sender) only once all of the scene's jobs have been submitted.
struct Job {
    work: Duration,
    plan: Plan,
    started: Option<Sender<()>>,
    gate: Option<Receiver<()>>,
}

fn job(work: Duration, plan: Plan) -> Job {
    Job {
        work,
        plan,
        started: None,
        gate: None,
    }
}

fn gated(work: Duration, plan: Plan, gate: &Receiver<()>) -> Job {
    Job {
        gate: Some(gate.clone()),
        ..job(work, plan)
    }
}

fn run_job(job: &Job) -> Result<(), String> {
    if let Some(started) = &job.started {
        let _ = started.send(());
    }
    if let Some(gate) = &job.gate {
        // Returns when the script drops the gate's sender (or after 10 s, as a safety net).
        let _ = gate.recv_timeout(Duration::from_secs(10));
    }
    std::thread::sleep(job.work);
    match job.plan {
        Plan::Succeed => Ok(()),
        Plan::Fail => Err("the downstream service is unavailable".into()),
        Plan::Panic => panic!("index out of bounds in the job's own code"),
    }
}

/// Prints a line unless `--json` asked for silence.
macro_rules! say {
    ($quiet:expr, $($arg:tt)*) => {
        if !$quiet { println!($($arg)*); }
    };
}

fn main() {
    let args: Args = cli::parse();
    // The outage scene holds all its failing jobs at a gate until the last is submitted, and
    // `submit` waits for room: with fewer places than jobs, each gate would be held until its
    // 10 s safety net, and the story told would be about those stalls, not the breaker.
    let failing = args.breaker_failures as usize + 2;
    if args.workers + args.queue < failing {
        eprintln!(
            "error: --breaker-failures {} needs room for {failing} jobs at once, but --workers {} \
             + --queue {} hold {} (see --help)",
            args.breaker_failures,
            args.workers,
            args.queue,
            args.workers + args.queue
        );
        std::process::exit(2);
    }
    let quiet = args.json;
    // A job's panic is caught and reported by the pool; the default hook would also print a
    // backtrace banner for each, so stay quiet for the pool's workers only.
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let in_worker = std::thread::current()
            .name()
            .is_some_and(|name| name.starts_with("pool-worker-"));
        if !in_worker {
            default_hook(info);
        }
    }));

    let clock = Arc::new(ManualClock::default());
    let spans = Arc::new(Mutex::new(Vec::new()));
    let recorded = Arc::clone(&spans);
    let pool_clock = Arc::clone(&clock);
    let built = Pool::builder()
        .workers(args.workers)
        .queue(args.queue)
        .rate(args.rate, args.burst)
        .breaker(BreakerConfig {
            failures: args.breaker_failures,
            cooldown: args.cooldown_ms,
            probes: args.probes,
        })
        .clock(Arc::clone(&clock) as Arc<dyn Clock>)
        .observe(move |event| narrate(event, quiet, &recorded, &pool_clock))
        .build(|job: &Job, _ctx| run_job(job));
    let pool = match built {
        Ok(pool) => pool,
        Err(err) => {
            // A typed configuration error, shown the same way as a bad flag.
            eprintln!("error: {err} (see --help)");
            std::process::exit(2);
        }
    };

    say!(quiet, "Lesson 7: the advanced pool");
    say!(
        quiet,
        "{} workers, a queue of {}, a rate limit of {}/s in bursts of {}, a breaker that opens \
         after {} failures in a row for {} and then lets {} through.",
        args.workers,
        args.queue,
        args.rate,
        args.burst,
        args.breaker_failures,
        human(args.cooldown_ms),
        plural(args.probes, "probe")
    );
    say!(
        quiet,
        "The pool's clock is moved by hand, so this story is the same on every run.\n"
    );

    let mut sizes = workload::jobs(1000, args.seed, Duration::from_millis(40), 0)
        .into_iter()
        .map(|spec| spec.work);
    let mut next_work = move || sizes.next().unwrap_or(Duration::from_millis(40));
    let wait = || {
        // Every scene ends with the pool idle, so the next one starts from a known state.
        assert!(
            pool.wait_idle(Duration::from_secs(30)),
            "the pool did not go idle within 30 s"
        );
    };
    let refused = |results: Vec<Result<u64, Rejected<Job>>>| -> Vec<Reason> {
        results
            .into_iter()
            .filter_map(|r| r.err().map(|e| e.reason))
            .collect()
    };

    // Scene 1: a burst against the rate limit, and against the Go article's "limiter".
    let burst = args.burst as usize + 4;
    say!(quiet, "1. {burst} jobs arrive at the same instant.");
    let results: Vec<_> = (0..burst)
        .map(|_| pool.try_submit(job(next_work(), Plan::Succeed)))
        .collect();
    let refusals = refused(results);
    wait();
    say!(
        quiet,
        "   The token bucket let {} through and refused {} (reason: rate), each told when a token \
         frees up.",
        burst - refusals.len(),
        refusals.len()
    );
    let cap = ConcurrencyCap::new(10);
    let through_cap = (0..burst).filter(|_| cap.with_slot(|| true)).count();
    let bucket = RateLimiter::new(args.rate, args.burst);
    let through_bucket = (0..burst)
        .filter(|_| bucket.try_acquire(Duration::ZERO).is_ok())
        .count();
    say!(
        quiet,
        "   The Go article's limiter, a channel of 10 slots, would have let {through_cap} of \
         {burst} through: it caps submitters at once, not jobs per second. (Token bucket alone: \
         {through_bucket}.)\n"
    );

    // Scene 2: an outage. Every job fails; the breaker opens.
    clock.advance(Duration::from_secs(1));
    say!(
        quiet,
        "2. The service behind the jobs goes down: {failing} jobs fail."
    );
    let (open, gate) = crossbeam_channel::bounded::<()>(0);
    for _ in 0..failing {
        let _ = pool.submit(gated(next_work(), Plan::Fail, &gate));
    }
    drop(open);
    wait();
    say!(quiet, "   Breaker: {}.", state(&pool));
    let results: Vec<_> = (0..3)
        .map(|_| pool.try_submit(job(next_work(), Plan::Succeed)))
        .collect();
    let refusals = refused(results);
    say!(
        quiet,
        "   3 more jobs arrive: {} refused at once (reason: {}), none queued behind a dead \
         service.\n",
        refusals.len(),
        names(&refusals)
    );

    // Scene 3: the cool-down passes; probes test the water.
    clock.advance(args.cooldown_ms);
    let arriving = args.probes as usize + 2;
    say!(
        quiet,
        "3. {} later, {arriving} jobs arrive and the service is back.",
        human(args.cooldown_ms)
    );
    let (open, gate) = crossbeam_channel::bounded::<()>(0);
    let results: Vec<_> = (0..arriving)
        .map(|_| pool.try_submit(gated(next_work(), Plan::Succeed, &gate)))
        .collect();
    drop(open);
    let refusals = refused(results);
    wait();
    say!(
        quiet,
        "   {} went through as probes, {} were refused while the probes were out; breaker: {}.\n",
        arriving - refusals.len(),
        refusals.len(),
        state(&pool)
    );

    // Scene 4: steady load through `submit`, which waits for rate tokens; one job fails and
    // one panics, which the breaker tolerates (fewer than its threshold, in any order).
    clock.advance(Duration::from_secs(1));
    let steady = 24;
    say!(
        quiet,
        "4. Steady load: {steady} jobs through submit(), which waits for rate tokens. One job \
         fails, one panics."
    );
    let before = clock.now();
    for i in 0..steady {
        let plan = match i {
            9 => Plan::Fail,
            17 => Plan::Panic,
            _ => Plan::Succeed,
        };
        let _ = pool.submit(job(next_work(), plan));
    }
    wait();
    say!(
        quiet,
        "   submit() waited {} of pool clock for tokens in all; the panic was caught, and the \
         pool still has {} workers; breaker: {}.\n",
        human(clock.now() - before),
        args.workers,
        state(&pool)
    );

    // Scene 5: a full queue. Long jobs hold every worker; quick ones fill the queue.
    clock.advance(Duration::from_secs(1));
    say!(
        quiet,
        "5. {} long jobs hold every worker; then {} quick ones arrive.",
        args.workers,
        args.queue + 2
    );
    let (started, each_started) = crossbeam_channel::unbounded();
    let (open, gate) = crossbeam_channel::bounded::<()>(0);
    let mut holding = 0;
    for _ in 0..args.workers {
        let long = Job {
            started: Some(started.clone()),
            ..gated(Duration::from_millis(100), Plan::Succeed, &gate)
        };
        // With an unusual --breaker-failures the breaker may be open here; count what got in.
        if pool.submit(long).is_ok() {
            holding += 1;
        }
        clock.advance(rate_interval(args.rate));
    }
    for _ in 0..holding {
        each_started
            .recv_timeout(Duration::from_secs(10))
            .expect("every accepted long job starts within 10 s");
    }
    let mut results = Vec::new();
    for _ in 0..args.queue + 2 {
        // Keep the rate limit out of this scene: one interval of pool clock per job.
        clock.advance(rate_interval(args.rate));
        results.push(pool.try_submit(job(next_work(), Plan::Succeed)));
    }
    clock.advance(rate_interval(args.rate));
    let waited = pool.submit_timeout(job(next_work(), Plan::Succeed), Duration::from_millis(50));
    let refusals = refused(results);
    say!(
        quiet,
        "   try_submit(): {} queued, {} handed back at once (reason: {}); submit_timeout() \
         waited 50 ms, then handed its job back (reason: {}).",
        args.queue + 2 - refusals.len(),
        refusals.len(),
        names(&refusals),
        waited
            .err()
            .map_or("none".into(), |e| e.reason.name().to_string())
    );
    // Only now may the long jobs finish, so the scene's lines come out in this order.
    drop(open);
    wait();

    // Scene 6: closing time.
    pool.close();
    let late = pool.try_submit(job(next_work(), Plan::Succeed));
    say!(
        quiet,
        "\n6. The pool closes. A late job is handed back (reason: {}); everything accepted has \
         run.\n",
        late.err()
            .map_or("none".into(), |e| e.reason.name().to_string())
    );
    let report = pool.shutdown(Stop::Drain, Some(Duration::from_secs(10)));
    let m = &report.metrics;

    if args.json {
        println!("{}", m.to_json());
        return;
    }
    println!("Metrics:");
    print!("{}", m.table());
    println!(
        "Check: submitted {} = completed {} + failed {} + panicked {} + cancelled {}: {}.",
        m.submitted,
        m.completed,
        m.failed,
        m.panicked,
        m.cancelled,
        if m.submitted == m.finished() {
            "adds up"
        } else {
            "DOES NOT ADD UP"
        }
    );
    println!(
        "\nThe run, one row per worker (each box is a job; failed and panicked jobs are filled with !):"
    );
    let spans = spans.lock().expect("no observer panics").clone();
    print!(
        "{}",
        timeline::render(&spans, args.workers, timeline::Style::for_stdout())
    );
    let title = format!(
        "Lesson 7: {} workers with a rate limit, a circuit breaker and metrics; red jobs did not complete",
        args.workers
    );
    args.picture.draw_workers(&spans, args.workers, &title);
}

/// Prints each event as it happens and keeps a span per finished job for the picture.
fn narrate(event: &Event, quiet: bool, spans: &Mutex<Vec<timeline::Span>>, clock: &ManualClock) {
    match event {
        Event::Finished {
            id,
            worker,
            status,
            started,
            took,
        } => {
            let at = (*started + *took).as_millis();
            match status {
                Status::Completed => {
                    say!(quiet, "  [{at:>5} ms] worker {worker} finished job {id}")
                }
                Status::Failed(reason) => {
                    say!(
                        quiet,
                        "  [{at:>5} ms] worker {worker} failed job {id}: {reason}"
                    )
                }
                Status::Panicked(message) => say!(
                    quiet,
                    "  [{at:>5} ms] worker {worker} caught a panic in job {id}: {message}"
                ),
            }
            spans
                .lock()
                .expect("no observer panics")
                .push(timeline::Span {
                    worker: *worker,
                    job: *id,
                    start: *started,
                    end: *started + *took,
                    failed: *status != Status::Completed,
                });
        }
        Event::Cancelled { id } => {
            say!(quiet, "  [pool clock] job {id} cancelled before it started")
        }
        Event::Breaker(change) => say!(
            quiet,
            "  [pool clock {:>5} ms] breaker: {} → {}",
            clock.now().as_millis().max(change.at.as_millis()),
            change.from,
            change.to
        ),
    }
}

fn state(pool: &Pool<Job>) -> String {
    pool.breaker_state()
        .map_or("none".into(), |s| s.to_string())
}

fn names(reasons: &[Reason]) -> String {
    let mut names: Vec<&str> = reasons.iter().map(|r| r.name()).collect();
    names.dedup();
    if names.is_empty() {
        "none".into()
    } else {
        names.join(", ")
    }
}

fn rate_interval(rate: f64) -> Duration {
    Duration::from_secs_f64(1.0 / rate.max(f64::MIN_POSITIVE))
}

/// `1 probe`, `2 probes`.
fn plural(n: u32, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}
