//! `cargo run --release -p lesson-9`: a quick version of the benchmarks, with peak memory.
//! `-- --sweep` adds workers and watches the time; `-- --plot DIR` turns criterion's results
//! into the book's plots and tables.

use clap::Parser;
use course_support::{cli, human, svg};
use lesson_9::shapes::Shape;
use lesson_9::sharing::{self, Layout};
use std::path::Path;
use std::path::PathBuf;
use std::process::{Command, ExitCode};
use std::time::{Duration, Instant};

/// Lesson 9: measuring and tuning.
#[derive(Parser)]
#[command(version, about)]
struct Args {
    /// Worker threads in the per-job table (1 to 1024).
    #[arg(long, default_value = "4", value_parser = cli::workers, allow_negative_numbers = true)]
    workers: usize,
    /// Trivial jobs per round in the per-job table, one table per count, such as
    /// `--jobs 20000,1000000` (1 to 1000000 each; default 20000 and 1000000, or 500 in a debug
    /// build).
    #[arg(long, value_parser = some_jobs, value_delimiter = ',', action = clap::ArgAction::Set, allow_negative_numbers = true)]
    jobs: Vec<u64>,
    /// Rounds per pool; the table shows the middle one (1 to 100; default 5, or 1 in a debug
    /// build).
    #[arg(long, value_parser = rounds, allow_negative_numbers = true)]
    rounds: Option<usize>,
    /// Add workers and watch: time against worker count, CPU-bound and sleep-bound jobs.
    #[arg(long, conflicts_with = "plot")]
    sweep: bool,
    /// Write the book's plots and results table into DIR from criterion's results (run
    /// `cargo bench -p lesson-9` first).
    #[arg(long, value_name = "DIR")]
    plot: Option<PathBuf>,
    /// Where criterion's results are (default: $CRITERION_HOME, else
    /// $CARGO_TARGET_DIR/criterion, else target/criterion).
    #[arg(long, value_name = "DIR", requires = "plot")]
    criterion: Option<PathBuf>,
    /// Internal: run one shape in this process and print one line for the parent to read.
    #[arg(long, hide = true, value_parser = shape)]
    measure_one: Option<Shape>,
    /// The per-job table's bars (each pool's time per job) also drawn as an SVG image in FILE.
    #[command(flatten)]
    picture: svg::SvgFlag,
}

/// A job count from 1 to `cli::MAX_JOBS`: a table of "per job" figures needs at least one job.
fn some_jobs(s: &str) -> Result<u64, String> {
    match cli::jobs(s)? {
        0 => Err("at least 1 job, so there is something to divide by".into()),
        n => Ok(n as u64),
    }
}

/// A shape by its id, as `Shape::id` spells it.
fn shape(s: &str) -> Result<Shape, String> {
    Shape::POOLS
        .into_iter()
        .chain(Shape::QUEUES)
        .find(|shape| shape.id() == s)
        .ok_or_else(|| format!("no shape called {s}"))
}

/// A round count from 1 to 100.
fn rounds(s: &str) -> Result<usize, String> {
    match s.trim().parse::<usize>() {
        Ok(0) => Err("at least 1 round".into()),
        Ok(n) if n > 100 => Err("at most 100 rounds".into()),
        Ok(n) => Ok(n),
        Err(_) => Err("expected a whole number such as 5".into()),
    }
}

/// Sizes: seconds in a release build, a blink in a debug build (the tests run that one).
const DEBUG: bool = cfg!(debug_assertions);

fn main() -> ExitCode {
    let args: Args = cli::parse();
    let scales = if !args.jobs.is_empty() {
        args.jobs.clone()
    } else if DEBUG {
        vec![500]
    } else {
        vec![20_000, 1_000_000]
    };
    let jobs = scales[0];
    let rounds = args.rounds.unwrap_or(if DEBUG { 1 } else { 5 });
    if let Some(shape) = args.measure_one {
        measure_one(shape, args.workers, jobs, rounds);
        return ExitCode::SUCCESS;
    }
    if let Some(dir) = args.plot {
        let criterion = args
            .criterion
            .unwrap_or_else(lesson_9::plot::default_criterion_dir);
        return match lesson_9::plot::write_all(&criterion, &dir) {
            Ok(files) => {
                for file in files {
                    println!("wrote {}", file.display());
                }
                ExitCode::SUCCESS
            }
            Err(message) => {
                eprintln!("error: {message}");
                ExitCode::FAILURE
            }
        };
    }
    let clock = Instant::now();
    if args.sweep {
        sweep();
    } else {
        println!("Lesson 9: what a job costs");
        for (i, &jobs) in scales.iter().enumerate() {
            // The picture is of the first table.
            let svg = args.picture.svg.as_deref().filter(|_| i == 0);
            table(args.workers, jobs, rounds, svg);
        }
        lesson_9::go::clean_up();
        false_sharing();
    }
    println!("\nThe whole comparison took {}.", human(clock.elapsed()));
    ExitCode::SUCCESS
}

// ANCHOR: table
/// Runs every shape in a child process of its own and prints one row each.
fn table(workers: usize, jobs: u64, rounds: usize, svg_file: Option<&Path>) {
    println!(
        "{jobs} trivial jobs (each doubles a number), {workers} workers, the middle of {rounds} \
         round(s).\nEach pool runs in a process of its own, so its peak memory is its own.\n"
    );
    let exe = match std::env::current_exe() {
        Ok(exe) => exe,
        Err(err) => {
            println!("cannot find this program to start it again: {err}");
            return;
        }
    };
    let mut lesson1 = None;
    let mut bars = Vec::new();
    for (title, shapes) in [
        ("pool", &Shape::POOLS[..]),
        ("queue (hand-off, bound)", &Shape::QUEUES[..]),
    ] {
        println!(
            "  | {title:<35} | {:>9} | {:>9} | {:>11} | {:>10} |",
            "ns/job", "jobs/s", "vs lesson 1", "peak RSS"
        );
        println!(
            "  |{:-<37}|{:-<11}|{:-<11}|{:-<13}|{:-<12}|",
            "", "", "", "", ""
        );
        for &shape in shapes {
            if shape == Shape::ThreadPerJob && jobs > THREAD_PER_JOB_MAX {
                println!(
                    "  | {:<35} | not run above {THREAD_PER_JOB_MAX} jobs: a thread each would take minutes",
                    shape.label()
                );
                continue;
            }
            let spinner = measuring(shape.label());
            let output = Command::new(&exe)
                .args(["--measure-one", shape.id()])
                .args(["--workers", &workers.to_string()])
                .args(["--jobs", &jobs.to_string()])
                .args(["--rounds", &rounds.to_string()])
                .output();
            spinner.finish_and_clear();
            let line = match output {
                Ok(out) if out.status.success() => {
                    String::from_utf8_lossy(&out.stdout).into_owned()
                }
                // A child that died (a thread the machine refused to start, say) is reported
                // in its row, with the first line it wrote, and the table carries on.
                Ok(out) => format!(
                    "error the measuring process failed: {}",
                    String::from_utf8_lossy(&out.stderr)
                        .lines()
                        .find(|l| !l.trim().is_empty())
                        .unwrap_or("no message")
                ),
                Err(err) => format!("error could not start the measuring process: {err}"),
            };
            match parse(&line) {
                Ok((ns, peak_kib)) => {
                    let ns = ns as f64 / jobs as f64;
                    let base = *lesson1.get_or_insert(ns);
                    let peak =
                        peak_kib.map_or("n/a".into(), |k| format!("{:.1} MiB", k as f64 / 1024.0));
                    println!(
                        "  | {:<35} | {:>9.0} | {:>9} | {:>10.2}× | {:>10} |",
                        shape.label(),
                        ns,
                        lesson_9::plot::per_second(ns),
                        ns / base,
                        peak
                    );
                    if title == "pool" {
                        bars.push((shape.label(), ns));
                    }
                }
                Err(why) => println!("  | {:<35} | {why}", shape.label()),
            }
        }
        if title == "pool" {
            go_row(workers, jobs, rounds, lesson1, &mut bars);
            println!();
            targets(&bars);
        }
        println!();
        if title == "pool" {
            picture(&bars);
            if let Some(file) = svg_file {
                draw(file, &bars, workers, jobs);
            }
        }
    }
}
// ANCHOR_END: table

/// How this run's figures compare with the course's targets: lesson 7's pool should cost no more
/// per job than the Go pool, and the batched and work-stealing pools should reach half of
/// rayon's throughput and ten times the Go pool's. Computed, not asserted: the chapter explains
/// the gaps.
fn targets(bars: &[(&str, f64)]) {
    let ns = |label: &str| bars.iter().find(|(l, _)| *l == label).map(|(_, ns)| *ns);
    let verdict = |met: bool| if met { "met" } else { "missed" };
    let (Some(go), Some(rayon)) = (ns(lesson_9::go::LABEL), ns(Shape::Rayon.label())) else {
        println!("  Targets: not checked, the Go row has no figures.");
        return;
    };
    println!("  Against the targets, in this run:");
    if let Some(advanced) = ns(Shape::Advanced.label()) {
        let ratio = advanced / go;
        println!(
            "    {:<31} costs {ratio:.2}× the Go pool per job (target at most 1×): {}",
            Shape::Advanced.label(),
            verdict(ratio <= 1.0)
        );
    }
    for shape in [Shape::Batched, Shape::Stealing] {
        if let Some(mine) = ns(shape.label()) {
            // Throughput is jobs per second, the inverse of the time per job.
            let (of_rayon, of_go) = (rayon / mine, go / mine);
            println!(
                "    {:<31} runs {of_rayon:.2}× rayon's jobs/s (target 0.5×) and {of_go:.1}× the Go pool's (target 10×): {}",
                shape.label(),
                verdict(of_rayon >= 0.5 && of_go >= 10.0)
            );
        }
    }
}

/// A spinner on stderr naming the pool being measured, so a person watching knows the table is
/// not stuck; nothing is drawn when stderr is not a terminal.
fn measuring(label: &str) -> course_support::progress::ProgressBar {
    course_support::progress::spinner(format!("measuring {label}..."))
}

/// The most jobs the quick table gives a thread each: above it, that row alone would take minutes.
const THREAD_PER_JOB_MAX: u64 = 100_000;

/// The Go original's row, measured in the same run: the same jobs, workers and rounds.
fn go_row(
    workers: usize,
    jobs: u64,
    rounds: usize,
    lesson1: Option<f64>,
    bars: &mut Vec<(&'static str, f64)>,
) {
    let label = lesson_9::go::LABEL;
    let spinner = measuring(label);
    let measured = lesson_9::go::measure(workers, jobs, rounds);
    spinner.finish_and_clear();
    let line = match measured {
        Ok(line) => line,
        Err(why) => {
            println!("  | {label:<35} | {why}");
            return;
        }
    };
    match parse(&line) {
        Ok((ns, peak_kib)) => {
            let ns = ns as f64 / jobs as f64;
            let base = lesson1.unwrap_or(ns);
            let peak = peak_kib.map_or("n/a".into(), |k| format!("{:.1} MiB", k as f64 / 1024.0));
            println!(
                "  | {label:<35} | {:>9.0} | {:>9} | {:>10.2}× | {:>10} |",
                ns,
                lesson_9::plot::per_second(ns),
                ns / base,
                peak
            );
            bars.push((label, ns));
        }
        Err(why) => println!("  | {label:<35} | {why}"),
    }
}

/// The pools' cost per job as an SVG bar chart, for the book; one line and exit code 1 when the
/// file cannot be written.
fn draw(file: &Path, bars: &[(&str, f64)], workers: usize, jobs: u64) {
    let bars: Vec<lesson_9::svg::Bar> = bars
        .iter()
        .map(|(label, ns)| lesson_9::svg::Bar {
            label: label.to_string(),
            value: *ns,
        })
        .collect();
    let title = format!(
        "Lesson 9: time per job, {jobs} trivial jobs on {workers} workers (shorter is faster)"
    );
    let chart = lesson_9::svg::bar_chart(&title, "ns", &bars);
    if let Err(e) = std::fs::write(file, chart) {
        eprintln!("error: cannot write the picture to {}: {e}", file.display());
        std::process::exit(1);
    }
}

/// The pools' cost per job as bars on a doubling scale: each block is twice the time of the
/// block before, so 7 ns and 50 µs fit on one screen and equal ratios look equally long.
fn picture(bars: &[(&str, f64)]) {
    println!("  Time per job, shorter is faster; a bar starts at 1 ns and each █ doubles it:");
    for (label, ns) in bars {
        // log2 of the nanoseconds, in eighths of a block.
        let eighths = (ns.max(1.0).log2() * 8.0).round() as usize;
        let partial = ["", "▏", "▎", "▍", "▌", "▋", "▊", "▉"][eighths % 8];
        let figure = if *ns < 1_000.0 {
            format!("{ns:.0} ns")
        } else {
            format!("{:.1} µs", ns / 1_000.0)
        };
        println!(
            "  {label:<35} │{}{partial} {figure}",
            "█".repeat(eighths / 8)
        );
    }
    println!();
}

/// Reads `ok NANOS PEAK_KIB` (peak `-` when unknown) or `error MESSAGE`.
fn parse(text: &str) -> Result<(u128, Option<u64>), String> {
    let line = text.lines().last().unwrap_or("");
    if let Some(message) = line.strip_prefix("error ") {
        return Err(message.to_string());
    }
    let mut words = line.strip_prefix("ok ").unwrap_or("").split(' ');
    match (words.next().and_then(|w| w.parse().ok()), words.next()) {
        (Some(ns), Some(peak)) => Ok((ns, peak.parse().ok())),
        _ => Err(format!("the measuring process failed: {text:?}")),
    }
}

/// Runs `shape` once to warm up, then `rounds` times, and prints the middle round's time and
/// this process's peak memory.
fn measure_one(shape: Shape, workers: usize, jobs: u64, rounds: usize) {
    let mut times = Vec::with_capacity(rounds);
    for round in 0..=rounds {
        let clock = Instant::now();
        // A thread the machine refuses to start panics inside the shape; the row says why.
        let ran = match std::panic::catch_unwind(|| shape.run(workers, jobs)) {
            Ok(ran) => ran,
            Err(panic) => {
                let why = panic
                    .downcast_ref::<String>()
                    .map(String::as_str)
                    .or_else(|| panic.downcast_ref::<&str>().copied())
                    .unwrap_or("it panicked");
                println!("error {}", why.lines().next().unwrap_or(why));
                return;
            }
        };
        let took = clock.elapsed();
        if ran != jobs {
            println!("error only {ran} of {jobs} jobs ran (did the machine refuse a thread?)");
            return;
        }
        if round > 0 {
            times.push(took.as_nanos());
        }
    }
    times.sort_unstable();
    let peak = lesson_9::status_kib("VmHWM").map_or("-".into(), |k| k.to_string());
    println!("ok {} {peak}", times[times.len() / 2]);
}

/// Two threads bumping counters: one shared, side by side, and padded.
fn false_sharing() {
    let (threads, increments) = if DEBUG {
        (2, 10_000)
    } else {
        (2, lesson_9::INCREMENTS)
    };
    println!("Counters: {threads} threads, each adding 1 {increments} times");
    for (layout, name) in [
        (Layout::Shared, "one shared counter"),
        (Layout::Adjacent, "a counter each, side by side"),
        (Layout::Padded, "a counter each, CachePadded"),
    ] {
        let clock = Instant::now();
        let total = sharing::hammer(layout, threads, increments);
        assert_eq!(total, threads as u64 * increments, "every increment counts");
        println!("  {name:<30} took {}", human(clock.elapsed()));
    }
}

// ANCHOR: sweep
/// Add workers and watch: the same jobs through lesson 1's pool with more and more workers.
fn sweep() {
    let (cpu_jobs, rounds) = if DEBUG {
        (8, 1_000)
    } else {
        (lesson_9::CPU_JOBS, lesson_9::CPU_ROUNDS)
    };
    let (sleep_jobs, sleep) = if DEBUG {
        (40, Duration::from_millis(1))
    } else {
        (lesson_9::SLEEP_JOBS, lesson_9::SLEEP)
    };
    println!("Lesson 9: add workers and watch");
    println!(
        "This machine runs {} threads at once (available_parallelism).\n",
        lesson_9::cores()
    );
    println!("CPU-bound: {cpu_jobs} jobs of {rounds} xorshift steps each, lesson 1's pool.");
    let mut first = None;
    for workers in lesson_9::CPU_WORKERS {
        let clock = Instant::now();
        let ran = lesson_9::cpu_bound(workers, cpu_jobs, rounds);
        let took = clock.elapsed();
        assert_eq!(ran, cpu_jobs, "every job runs once");
        let base = *first.get_or_insert(took);
        let noun = if workers == 1 { "worker " } else { "workers" };
        println!(
            "  {workers:>3} {noun} took {:<8} {}",
            human(took),
            bar(took, base)
        );
    }
    println!(
        "\nSleep-bound: {sleep_jobs} jobs that each sleep {}, lesson 1's pool.",
        human(sleep)
    );
    for workers in lesson_9::SLEEP_WORKERS {
        let clock = Instant::now();
        let ran = lesson_9::sleep_bound(workers, sleep_jobs, sleep);
        let took = clock.elapsed();
        assert_eq!(ran, sleep_jobs, "every job runs once");
        let ideal = lesson_9::ideal(workers, sleep_jobs, sleep);
        println!(
            "  {workers:>3} workers took {:<8} (ideal {})",
            human(took),
            human(ideal)
        );
    }
}
// ANCHOR_END: sweep

/// A bar 40 characters long for `base`, and in proportion for `took`.
fn bar(took: Duration, base: Duration) -> String {
    let len = (took.as_secs_f64() / base.as_secs_f64().max(1e-9) * 40.0).round() as usize;
    "█".repeat(len.clamp(1, 80))
}
