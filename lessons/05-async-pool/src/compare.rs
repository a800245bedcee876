//! `--compare`: threads against tasks, for many jobs that each sleep 10 ms.
//!
//! Every shape runs in a child process of its own (this same binary, started again with the
//! hidden `--compare-one` flag), so the peak memory the kernel reports for it, `VmHWM` in
//! `/proc/self/status`, belongs to that shape alone.

use course_support::human;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// How long each job sleeps.
const SLEEP: Duration = Duration::from_millis(10);

/// Stack size for the thread shape: far below the default, since these threads only sleep.
const STACK: usize = 64 * 1024;

/// One way to run the jobs, `width` at a time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Shape {
    /// `width` OS threads with small stacks, taking job numbers from a shared counter.
    Threads,
    /// `width` tokio worker tasks, taking job numbers from a shared counter.
    Tasks,
    /// A tokio task per job, at most `width` at once, each holding a semaphore permit.
    Permits,
}

impl Shape {
    fn label(self, width: usize) -> String {
        match self {
            Shape::Threads => format!("{width} threads ({} KiB stacks)", STACK / 1024),
            Shape::Tasks => format!("{width} worker tasks"),
            Shape::Permits => format!("task per job, {width} permits"),
        }
    }

    fn flag(self) -> &'static str {
        match self {
            Shape::Threads => "threads",
            Shape::Tasks => "tasks",
            Shape::Permits => "permits",
        }
    }
}

/// The comparison's width: 1 to 100 000.
pub fn width(s: &str) -> Result<usize, String> {
    match s.trim().parse::<usize>() {
        Ok(0) => Err("at least 1 job must run at a time".into()),
        Ok(n) if n > 100_000 => Err("at most 100000".into()),
        Ok(n) => Ok(n),
        Err(_) => Err("expected a whole number such as 10000".into()),
    }
}

/// Runs every shape in its own process and prints a table.
pub fn run(jobs: usize, width: usize) {
    let rounds = jobs.div_ceil(width);
    let ideal = SLEEP * rounds as u32;
    println!("Lesson 5: threads against tasks");
    println!(
        "{jobs} jobs that each sleep {}, {width} at a time: {rounds} rounds, so ideally {}.",
        human(SLEEP),
        human(ideal)
    );
    println!("Each shape runs in a process of its own, so its peak memory is its own.\n");
    println!(
        "  {:<30} {:>10} {:>10} {:>12} {:>14}",
        "shape", "wall time", "peak RSS", "per worker", "overhead/job"
    );
    let exe = match std::env::current_exe() {
        Ok(exe) => exe,
        Err(err) => {
            println!("  cannot find this program to start it again: {err}");
            return;
        }
    };
    for shape in [Shape::Threads, Shape::Tasks, Shape::Permits] {
        let label = shape.label(width);
        let output = Command::new(&exe)
            .args(["--compare-one", shape.flag()])
            .args(["--compare-jobs", &jobs.to_string()])
            .args(["--compare-width", &width.to_string()])
            .output();
        let text = match output {
            Ok(out) => String::from_utf8_lossy(&out.stdout).into_owned(),
            Err(err) => format!("error could not start the measuring process: {err}"),
        };
        match parse(&text) {
            Ok(m) => {
                let overhead =
                    m.wall.saturating_sub(ideal).as_secs_f64() * 1e6 / jobs.max(1) as f64;
                let per_worker = m.peak_kib.saturating_sub(m.start_kib) as f64 / width as f64;
                println!(
                    "  {label:<30} {:>10} {:>10} {:>12} {:>14}",
                    human(m.wall),
                    m.peak(),
                    format!("{per_worker:.1} KiB"),
                    format!("{overhead:.1} µs")
                );
            }
            Err(why) => println!("  {label:<30} {why}"),
        }
    }
    println!(
        "\nper worker = (peak RSS - RSS before starting) / {width}; overhead/job = (wall time - \
         ideal) / {jobs}."
    );
}

/// What one measuring process reports.
struct Measured {
    wall: Duration,
    start_kib: u64,
    peak_kib: u64,
}

impl Measured {
    fn peak(&self) -> String {
        if self.peak_kib == 0 {
            "n/a".into()
        } else {
            format!("{:.1} MiB", self.peak_kib as f64 / 1024.0)
        }
    }
}

/// Reads `ok WALL_US START_KIB PEAK_KIB` or `error MESSAGE`.
fn parse(text: &str) -> Result<Measured, String> {
    let line = text.lines().last().unwrap_or("");
    if let Some(message) = line.strip_prefix("error ") {
        return Err(message.to_string());
    }
    let numbers: Vec<u64> = line
        .strip_prefix("ok ")
        .map(|rest| rest.split(' ').filter_map(|n| n.parse().ok()).collect())
        .unwrap_or_default();
    match numbers[..] {
        [wall_us, start_kib, peak_kib] => Ok(Measured {
            wall: Duration::from_micros(wall_us),
            start_kib,
            peak_kib,
        }),
        _ => Err(format!("the measuring process failed: {text:?}")),
    }
}

/// Runs one shape in this process and prints one line for [`run`] to read.
pub fn measure_one(shape: Shape, jobs: usize, width: usize) {
    let start_kib = status_kib("VmRSS");
    let clock = Instant::now();
    let result = match shape {
        Shape::Threads => threads(jobs, width),
        Shape::Tasks => tasks(jobs, width),
        Shape::Permits => permits(jobs, width),
    };
    let wall = clock.elapsed();
    match result {
        Ok(()) => println!(
            "ok {} {start_kib} {}",
            wall.as_micros(),
            status_kib("VmHWM")
        ),
        Err(message) => println!("error {message}"),
    }
}

/// `width` threads, each taking job numbers from a shared counter until they run out.
fn threads(jobs: usize, width: usize) -> Result<(), String> {
    let next = Arc::new(AtomicUsize::new(0));
    let mut handles = Vec::with_capacity(width);
    let mut refused = None;
    for started in 0..width {
        let next = Arc::clone(&next);
        let spawned = std::thread::Builder::new()
            .stack_size(STACK)
            .spawn(move || {
                while next.fetch_add(1, Ordering::Relaxed) < jobs {
                    std::thread::sleep(SLEEP);
                }
            });
        match spawned {
            Ok(handle) => handles.push(handle),
            Err(err) => {
                refused = Some(format!(
                    "this machine refused thread {} of {width} ({err}); see `ulimit -u`",
                    started + 1
                ));
                break;
            }
        }
    }
    // The threads that did start still run every job before they end.
    for handle in handles {
        let _ = handle.join();
    }
    refused.map_or(Ok(()), Err)
}

/// `width` worker tasks, each taking job numbers from a shared counter until they run out.
fn tasks(jobs: usize, width: usize) -> Result<(), String> {
    let runtime = runtime()?;
    runtime.block_on(async {
        let next = Arc::new(AtomicUsize::new(0));
        let mut workers = tokio::task::JoinSet::new();
        for _ in 0..width {
            let next = Arc::clone(&next);
            workers.spawn(async move {
                while next.fetch_add(1, Ordering::Relaxed) < jobs {
                    tokio::time::sleep(SLEEP).await;
                }
            });
        }
        while workers.join_next().await.is_some() {}
    });
    Ok(())
}

/// A task per job, at most `width` at once: the permit is acquired before the task is spawned.
fn permits(jobs: usize, width: usize) -> Result<(), String> {
    let runtime = runtime()?;
    runtime.block_on(async {
        let permits = Arc::new(tokio::sync::Semaphore::new(width));
        let mut running = tokio::task::JoinSet::new();
        for _ in 0..jobs {
            let permit = Arc::clone(&permits)
                .acquire_owned()
                .await
                .expect("the semaphore is never closed");
            running.spawn(async move {
                tokio::time::sleep(SLEEP).await;
                drop(permit);
            });
            while running.try_join_next().is_some() {}
        }
        while running.join_next().await.is_some() {}
    });
    Ok(())
}

fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_time()
        .build()
        .map_err(|err| format!("could not start the tokio runtime: {err}"))
}

/// A `kB` line of `/proc/self/status` (Linux only; 0 elsewhere).
fn status_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
                .and_then(|rest| rest.split_whitespace().next()?.parse().ok())
        })
        .unwrap_or(0)
}
