//! What the advanced pool's features cost per job, next to the basic pools.
//!
//! `cargo bench -p lesson-7 --bench per_job` runs it. Each iteration starts a pool, pushes
//! 10 000 trivial jobs through it, and shuts it down, so the figure per element is the cost of
//! one job's trip through the pool (start-up and shutdown spread over the 10 000).

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use lesson_7::{BreakerConfig, Pool, Stop};
use std::hint::black_box;
use std::time::Duration;

const JOBS: u64 = 10_000;
const WORKERS: usize = 4;

fn per_job(c: &mut Criterion) {
    let mut group = c.benchmark_group("per_job");
    group.throughput(Throughput::Elements(JOBS));
    group.sample_size(20);
    group.measurement_time(Duration::from_secs(4));

    group.bench_function("lesson-3 pool (basic)", |b| {
        b.iter(|| {
            let pool = lesson_3::Pool::new(WORKERS, 64, |_, n: &u64| {
                black_box(n);
                Ok(())
            });
            for n in 0..JOBS {
                pool.submit(n).expect("workers are alive");
            }
            pool.shutdown()
        })
    });

    group.bench_function("lesson-1 std-only pool (Arc<Mutex<Receiver>>)", |b| {
        b.iter(|| lesson_1::std_only::run(WORKERS, (0..JOBS).collect(), black_box))
    });

    group.bench_function("lesson-7 pool (rate limit, breaker, metrics)", |b| {
        b.iter(|| {
            let pool = advanced();
            for n in 0..JOBS {
                pool.submit(n).expect("nothing refuses here");
            }
            pool.shutdown(Stop::Drain, None)
        })
    });

    group.bench_function("lesson-7 pool, every job in one submit_all", |b| {
        b.iter(|| {
            let pool = advanced();
            pool.submit_all(0..JOBS).expect("nothing refuses here");
            pool.shutdown(Stop::Drain, None)
        })
    });
    group.finish();
}

criterion_group!(benches, per_job);
criterion_main!(benches);

/// Lesson 7's pool with every feature on: a rate limit so high that it never makes anyone wait
/// (though every job still goes through the limiter), a breaker, and the metrics.
fn advanced() -> Pool<u64> {
    Pool::builder()
        .workers(WORKERS)
        .queue(64)
        .rate(lesson_7::MAX_RATE, u32::MAX)
        .breaker(BreakerConfig {
            failures: 5,
            cooldown: Duration::from_secs(1),
            probes: 1,
        })
        .build(|n: &u64, _| {
            black_box(n);
            Ok(())
        })
        .expect("a valid configuration")
}
