//! The stage every scene plays on: the pool, the clock the script moves by hand, and the jobs'
//! lengths.

use crate::demo::args::Args;
use crate::demo::jobs::{Job, Work, run_job};
use crate::demo::show;
use course_support::timeline;
use lesson_7::{BreakerConfig, Clock, ManualClock, Pool};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What every scene plays with.
pub struct Stage {
    /// The pool, with a rate limit and a breaker.
    pub pool: Pool<Job>,
    /// The pool's clock, moved by hand by the script, so the story is the same on every run.
    pub clock: Arc<ManualClock>,
    /// `--json`: say nothing until the final metrics.
    pub quiet: bool,
    /// How long each job works.
    pub work: Work,
    /// Every finished job, kept by the observer for the picture.
    pub spans: Arc<Mutex<Vec<timeline::Span>>>,
}

impl Stage {
    /// Builds the pool the flags ask for, or exits with a one-line error.
    pub fn new(args: &Args) -> Stage {
        let quiet = args.json;
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
            .observe(move |event| show::narrate(event, quiet, &recorded, &pool_clock))
            .build(|job: &Job, _ctx| run_job(job));
        let pool = match built {
            Ok(pool) => pool,
            Err(err) => {
                // A typed configuration error, shown the same way as a bad flag.
                eprintln!("error: {err} (see --help)");
                std::process::exit(2);
            }
        };
        Stage {
            pool,
            clock,
            quiet,
            work: Work::new(args.seed),
            spans,
        }
    }

    /// Every scene ends with the pool idle, so the next one starts from a known state.
    pub fn wait(&self) {
        assert!(
            self.pool.wait_idle(Duration::from_secs(30)),
            "the pool did not go idle within 30 s"
        );
    }
}
