//! The scenes of the scripted day, in the order `main` plays them. Each ends with the pool idle,
//! so the next one starts from a known state.

use crate::demo::args::Args;
use crate::demo::jobs::{Job, Plan, gated, job};
use crate::demo::show::{names, say, state};
use crate::demo::stage::Stage;
use course_support::{human, timeline};
use lesson_7::rate::{ConcurrencyCap, RateLimiter};
use lesson_7::{Clock, Reason, Rejected, Snapshot, Stop};
use std::time::Duration;

/// The cast: the pool's settings.
pub fn introduction(stage: &Stage, args: &Args) {
    let quiet = stage.quiet;
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
        course_support::plural(args.probes as usize, "probe")
    );
    say!(
        quiet,
        "The pool's clock is moved by hand, so this story is the same on every run.\n"
    );
}

/// Scene 1: a burst against the rate limit, and against the Go article's "limiter".
pub fn burst(stage: &mut Stage, args: &Args) {
    let quiet = stage.quiet;
    let burst = args.burst as usize + 4;
    say!(quiet, "1. {burst} jobs arrive at the same instant.");
    let results: Vec<_> = (0..burst)
        .map(|_| {
            stage
                .pool
                .try_submit(job(stage.work.next_length(), Plan::Succeed))
        })
        .collect();
    let refusals = refused(results);
    stage.wait();
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
}

/// Scene 2: an outage. Every job fails; the breaker opens.
pub fn outage(stage: &mut Stage, args: &Args) {
    let quiet = stage.quiet;
    let failing = args.failing();
    stage.clock.advance(Duration::from_secs(1));
    say!(
        quiet,
        "2. The service behind the jobs goes down: {failing} jobs fail."
    );
    let (open, gate) = crossbeam_channel::bounded::<()>(0);
    for _ in 0..failing {
        let _ = stage
            .pool
            .submit(gated(stage.work.next_length(), Plan::Fail, &gate));
    }
    drop(open);
    stage.wait();
    say!(quiet, "   Breaker: {}.", state(&stage.pool));
    let results: Vec<_> = (0..3)
        .map(|_| {
            stage
                .pool
                .try_submit(job(stage.work.next_length(), Plan::Succeed))
        })
        .collect();
    let refusals = refused(results);
    say!(
        quiet,
        "   3 more jobs arrive: {} refused at once (reason: {}), none queued behind a dead \
         service.\n",
        refusals.len(),
        names(&refusals)
    );
}

/// Scene 3: the cool-down passes; probes test the water.
pub fn recovery(stage: &mut Stage, args: &Args) {
    let quiet = stage.quiet;
    stage.clock.advance(args.cooldown_ms);
    let arriving = args.probes as usize + 2;
    say!(
        quiet,
        "3. {} later, {arriving} jobs arrive and the service is back.",
        human(args.cooldown_ms)
    );
    let (open, gate) = crossbeam_channel::bounded::<()>(0);
    let results: Vec<_> = (0..arriving)
        .map(|_| {
            stage
                .pool
                .try_submit(gated(stage.work.next_length(), Plan::Succeed, &gate))
        })
        .collect();
    drop(open);
    let refusals = refused(results);
    stage.wait();
    say!(
        quiet,
        "   {} went through as probes, {} were refused while the probes were out; breaker: {}.\n",
        arriving - refusals.len(),
        refusals.len(),
        state(&stage.pool)
    );
}

/// Scene 4: steady load through `submit`, which waits for rate tokens; one job fails and one
/// panics, which the breaker tolerates (fewer than its threshold, in any order).
pub fn steady_load(stage: &mut Stage, args: &Args) {
    let quiet = stage.quiet;
    stage.clock.advance(Duration::from_secs(1));
    let steady = 24;
    say!(
        quiet,
        "4. Steady load: {steady} jobs through submit(), which waits for rate tokens. One job \
         fails, one panics."
    );
    let before = stage.clock.now();
    for i in 0..steady {
        let plan = match i {
            9 => Plan::Fail,
            17 => Plan::Panic,
            _ => Plan::Succeed,
        };
        let _ = stage.pool.submit(job(stage.work.next_length(), plan));
    }
    stage.wait();
    say!(
        quiet,
        "   submit() waited {} of pool clock for tokens in all; the panic was caught, and the \
         pool still has {} workers; breaker: {}.\n",
        human(stage.clock.now() - before),
        args.workers,
        state(&stage.pool)
    );
}

/// Scene 5: a full queue. Long jobs hold every worker; quick ones fill the queue.
pub fn full_queue(stage: &mut Stage, args: &Args) {
    let quiet = stage.quiet;
    stage.clock.advance(Duration::from_secs(1));
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
        if stage.pool.submit(long).is_ok() {
            holding += 1;
        }
        stage.clock.advance(rate_interval(args.rate));
    }
    for _ in 0..holding {
        each_started
            .recv_timeout(Duration::from_secs(10))
            .expect("every accepted long job starts within 10 s");
    }
    let mut results = Vec::new();
    for _ in 0..args.queue + 2 {
        // Keep the rate limit out of this scene: one interval of pool clock per job.
        stage.clock.advance(rate_interval(args.rate));
        results.push(
            stage
                .pool
                .try_submit(job(stage.work.next_length(), Plan::Succeed)),
        );
    }
    stage.clock.advance(rate_interval(args.rate));
    let waited = stage.pool.submit_timeout(
        job(stage.work.next_length(), Plan::Succeed),
        Duration::from_millis(50),
    );
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
    stage.wait();
}

/// Scene 6: closing time. Returns the final metrics and every finished job, for the picture.
pub fn closing_time(mut stage: Stage) -> (Snapshot, Vec<timeline::Span>) {
    let quiet = stage.quiet;
    stage.pool.close();
    let late = stage
        .pool
        .try_submit(job(stage.work.next_length(), Plan::Succeed));
    say!(
        quiet,
        "\n6. The pool closes. A late job is handed back (reason: {}); everything accepted has \
         run.\n",
        late.err()
            .map_or("none".into(), |e| e.reason.name().to_string())
    );
    let report = stage
        .pool
        .shutdown(Stop::Drain, Some(Duration::from_secs(10)));
    let spans = stage.spans.lock().expect("no observer panics").clone();
    (report.metrics, spans)
}

/// The reasons of the jobs that were refused.
fn refused(results: Vec<Result<u64, Rejected<Job>>>) -> Vec<Reason> {
    results
        .into_iter()
        .filter_map(|r| r.err().map(|e| e.reason))
        .collect()
}

/// The time between two rate tokens.
fn rate_interval(rate: f64) -> Duration {
    Duration::from_secs_f64(1.0 / rate.max(f64::MIN_POSITIVE))
}
