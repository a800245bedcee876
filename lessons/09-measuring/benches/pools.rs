//! Every measurement of lesson 9. `cargo bench -p lesson-9` runs them all in a few minutes;
//! `cargo run --release -p bench-plot -- book/src/img/lesson-9` turns the results into the
//! book's plots and tables. `cargo test --benches -p lesson-9` runs each once, as a check.
//!
//! Every iteration starts a pool, runs its jobs and shuts it down, so a figure per job includes
//! a share of starting and stopping the threads.

use criterion::{
    BenchmarkId, Criterion, SamplingMode, Throughput, criterion_group, criterion_main,
};
use lesson_9::groups::{
    CLOCK, CLOCK_NOW, CPU, QUEUES, SHARING, SHARING_CASES, SLEEPY, SLEEPY_RUNNING, SPAWN,
    SPAWN_SHAPES, TRIVIAL,
};
use lesson_9::shapes::Shape;
use lesson_9::sharing;
use lesson_9::{
    CPU_JOBS, CPU_ROUNDS, CPU_WORKERS, INCREMENTS, JOBS, SHARING_THREADS, SLEEP, SLEEP_JOBS,
    SLEEP_WORKERS, SPAWN_JOBS, WORKERS,
};
use std::time::Duration;

/// Small samples: the whole run must stay within a few minutes on a 2-core machine.
fn quick<'a>(
    c: &'a mut Criterion,
    name: &str,
) -> criterion::BenchmarkGroup<'a, criterion::measurement::WallTime> {
    let mut group = c.benchmark_group(name);
    group.sample_size(20);
    group.warm_up_time(Duration::from_millis(500));
    group.measurement_time(Duration::from_secs(3));
    group
}

// ANCHOR: trivial
fn trivial_jobs(c: &mut Criterion) {
    let mut group = quick(c, TRIVIAL);
    group.throughput(Throughput::Elements(JOBS));
    for shape in lesson_9::groups::TRIVIAL_SHAPES {
        group.bench_function(shape.id(), |b| {
            b.iter(|| assert_eq!(shape.run(WORKERS, JOBS), JOBS))
        });
    }
    group.finish();
}
// ANCHOR_END: trivial

/// The same pools at a million jobs per iteration, where starting and joining the threads no
/// longer weighs on the figure: each iteration takes a fraction of a second, so few samples.
fn trivial_jobs_at_scale(c: &mut Criterion) {
    use lesson_9::groups::{MILLION, TRIVIAL_MILLION};
    let mut group = c.benchmark_group(TRIVIAL_MILLION);
    group.sample_size(10);
    group.sampling_mode(SamplingMode::Flat);
    group.warm_up_time(Duration::from_millis(500));
    group.measurement_time(Duration::from_secs(4));
    group.throughput(Throughput::Elements(MILLION));
    for shape in lesson_9::groups::TRIVIAL_SHAPES {
        group.bench_function(shape.id(), |b| {
            b.iter(|| assert_eq!(shape.run(WORKERS, MILLION), MILLION))
        });
    }
    group.finish();
}

fn queues(c: &mut Criterion) {
    let mut group = quick(c, QUEUES);
    group.throughput(Throughput::Elements(JOBS));
    for shape in Shape::QUEUES {
        group.bench_function(shape.id(), |b| {
            b.iter(|| assert_eq!(shape.run(WORKERS, JOBS), JOBS))
        });
    }
    group.finish();
}

fn thread_per_job(c: &mut Criterion) {
    let mut group = quick(c, SPAWN);
    group.throughput(Throughput::Elements(SPAWN_JOBS));
    for shape in SPAWN_SHAPES {
        group.bench_function(shape.id(), |b| {
            b.iter(|| assert_eq!(shape.run(WORKERS, SPAWN_JOBS), SPAWN_JOBS))
        });
    }
    group.finish();
}

// ANCHOR: sweeps
fn cpu_sweep(c: &mut Criterion) {
    let mut group = quick(c, CPU);
    for workers in CPU_WORKERS {
        group.bench_with_input(BenchmarkId::from_parameter(workers), &workers, |b, &w| {
            b.iter(|| assert_eq!(lesson_9::cpu_bound(w, CPU_JOBS, CPU_ROUNDS), CPU_JOBS))
        });
    }
    group.finish();
}

fn sleep_sweep(c: &mut Criterion) {
    let mut group = quick(c, SLEEPY);
    // An iteration takes 50 to 400 ms: one per sample, not criterion's growing counts.
    group.sampling_mode(SamplingMode::Flat);
    for workers in SLEEP_WORKERS {
        group.bench_with_input(BenchmarkId::from_parameter(workers), &workers, |b, &w| {
            b.iter(|| assert_eq!(lesson_9::sleep_bound(w, SLEEP_JOBS, SLEEP), SLEEP_JOBS))
        });
    }
    group.finish();
}

fn sleep_running(c: &mut Criterion) {
    let mut group = quick(c, SLEEPY_RUNNING);
    group.sampling_mode(SamplingMode::Flat);
    for workers in SLEEP_WORKERS {
        group.bench_with_input(BenchmarkId::from_parameter(workers), &workers, |b, &w| {
            // The pool starts outside the timed part: only the jobs' time is summed.
            b.iter_custom(|iters| {
                (0..iters)
                    .map(|_| lesson_9::sleep_bound_running(w, SLEEP_JOBS, SLEEP))
                    .sum()
            })
        });
    }
    group.finish();
}
// ANCHOR_END: sweeps

fn false_sharing(c: &mut Criterion) {
    let mut group = quick(c, SHARING);
    group.throughput(Throughput::Elements(SHARING_THREADS as u64 * INCREMENTS));
    for (layout, id, _) in SHARING_CASES {
        group.bench_function(id, |b| {
            b.iter(|| {
                let total = sharing::hammer(layout, SHARING_THREADS, INCREMENTS);
                assert_eq!(total, SHARING_THREADS as u64 * INCREMENTS);
            })
        });
    }
    group.finish();
}

fn clock(c: &mut Criterion) {
    let mut group = quick(c, CLOCK);
    group.bench_function(CLOCK_NOW, |b| b.iter(std::time::Instant::now));
    group.finish();
}

criterion_group!(
    benches,
    clock,
    trivial_jobs,
    trivial_jobs_at_scale,
    queues,
    thread_per_job,
    cpu_sweep,
    sleep_sweep,
    sleep_running,
    false_sharing
);
criterion_main!(benches);
