//! `--plot DIR`: reads criterion's results and writes the book's plots (SVG) and a markdown
//! table of every figure, so nothing in the chapter is typed by hand.
//!
//! The benchmark names are defined here ([`TRIVIAL`], [`QUEUES`], …) and used by
//! `benches/pools.rs`, so the two cannot disagree.

use crate::shapes::Shape;
use crate::sharing::Layout;
use crate::svg::{self, Bar, Series};
use crate::{
    CPU_JOBS, CPU_WORKERS, INCREMENTS, JOBS, SHARING_THREADS, SLEEP, SLEEP_JOBS, SLEEP_WORKERS,
    SPAWN_JOBS, WORKERS,
};
use std::fmt::Write;
use std::path::{Path, PathBuf};

/// Group: trivial jobs through each pool.
pub const TRIVIAL: &str = "trivial_jobs";
/// Group: the same pools at [`MILLION`] jobs per iteration.
pub const TRIVIAL_MILLION: &str = "trivial_jobs_million";
/// The jobs per iteration of the [`TRIVIAL_MILLION`] group.
pub const MILLION: u64 = 1_000_000;
/// Group: the queue's hand-off against its bound.
pub const QUEUES: &str = "queues";
/// Group: a thread per job against pools.
pub const SPAWN: &str = "thread_per_job";
/// Group: CPU-bound jobs against the worker count.
pub const CPU: &str = "cpu_sweep";
/// Group: sleep-bound jobs against the worker count.
pub const SLEEPY: &str = "sleep_sweep";
/// Group: the same sleep-bound jobs through a pool that is already running.
pub const SLEEPY_RUNNING: &str = "sleep_running";
/// Group: counters shared, side by side, and padded.
pub const SHARING: &str = "false_sharing";
/// Group: one reading of the clock, which lesson 1's pool does twice per job.
pub const CLOCK: &str = "clock";
/// The one benchmark of the [`CLOCK`] group.
pub const CLOCK_NOW: &str = "instant-now";

/// The pools of the [`TRIVIAL`] group: all but a thread per job, which has its own group.
pub const TRIVIAL_SHAPES: [Shape; 9] = [
    Shape::Lesson1,
    Shape::GoShape,
    Shape::StdMutex,
    Shape::Advanced,
    Shape::AdvancedRoomy,
    Shape::Batched,
    Shape::Stealing,
    Shape::Threadpool,
    Shape::Rayon,
];

/// The shapes of the [`SPAWN`] group.
pub const SPAWN_SHAPES: [Shape; 3] = [Shape::ThreadPerJob, Shape::Lesson1, Shape::Batched];

/// The cases of the [`SHARING`] group: layout, benchmark id, and what it measures.
pub const SHARING_CASES: [(Layout, &str, &str); 3] = [
    (Layout::Shared, "shared", "one shared counter"),
    (Layout::Adjacent, "adjacent", "a counter each, side by side"),
    (Layout::Padded, "padded", "a counter each, CachePadded"),
];

/// Where criterion keeps its results: `$CRITERION_HOME`, else `$CARGO_TARGET_DIR/criterion`,
/// else the workspace's `target/criterion`.
pub fn default_criterion_dir() -> PathBuf {
    if let Some(home) = std::env::var_os("CRITERION_HOME") {
        return home.into();
    }
    if let Some(target) = std::env::var_os("CARGO_TARGET_DIR") {
        return Path::new(&target).join("criterion");
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/criterion")
}

/// The median time of one iteration, in nanoseconds, from
/// `<root>/<group>/<bench>/new/estimates.json`.
pub fn median_ns(root: &Path, group: &str, bench: &str) -> Result<f64, String> {
    let path = root.join(group).join(bench).join("new/estimates.json");
    let text = std::fs::read_to_string(&path).map_err(|err| {
        format!(
            "cannot read {} ({err}); run `cargo bench -p lesson-9` first",
            path.display()
        )
    })?;
    let json: serde_json::Value = serde_json::from_str(&text)
        .map_err(|err| format!("{} is not criterion's JSON: {err}", path.display()))?;
    json["median"]["point_estimate"]
        .as_f64()
        .ok_or_else(|| format!("{} has no median.point_estimate", path.display()))
}

/// Nanoseconds as a person reads them: `91 ns`, `2.30 µs`, `1.69 ms`, `1.20 s`.
pub fn human_ns(ns: f64) -> String {
    let (value, unit) = if ns < 1e3 {
        (ns, "ns")
    } else if ns < 1e6 {
        (ns / 1e3, "µs")
    } else if ns < 1e9 {
        (ns / 1e6, "ms")
    } else {
        (ns / 1e9, "s")
    };
    format!("{} {unit}", svg::short(value))
}

/// A label made safe for a markdown table: `<` and `>` would otherwise start an HTML tag.
pub fn markdown(label: &str) -> String {
    label.replace('<', "&lt;").replace('>', "&gt;")
}

/// A whole number with its thousands apart: `10 000`.
pub fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(' ');
        }
        out.push(c);
    }
    out
}

/// Jobs per second as `11.0 M` or `950 k`.
pub fn per_second(ns_per_job: f64) -> String {
    let rate = 1e9 / ns_per_job;
    if rate >= 1e6 {
        format!("{} M", svg::short(rate / 1e6))
    } else if rate >= 1e3 {
        format!("{} k", svg::short(rate / 1e3))
    } else {
        svg::short(rate)
    }
}

/// What this machine is, for the top of the results: processor model and thread count.
fn machine() -> String {
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find_map(|l| l.strip_prefix("model name")?.split_once(':'))
                .map(|(_, name)| name.trim().to_string())
        })
        .unwrap_or_else(|| "an unknown processor".into());
    format!(
        "{model}, {} threads at once (`available_parallelism`)",
        crate::cores()
    )
}

// ANCHOR: write_all
/// Reads every benchmark's median, writes one SVG per group and `results.md` into `out`, and
/// returns the files written. Fails, naming the file, if a result is missing.
pub fn write_all(criterion: &Path, out: &Path) -> Result<Vec<PathBuf>, String> {
    let get = |group: &str, bench: &str| median_ns(criterion, group, bench);
    let mut md = String::new();
    let mut files = Vec::new();
    let mut svgs: Vec<(&str, String)> = Vec::new();
    let _ = writeln!(
        md,
        "<!-- Written by `cargo run --release -p lesson-9 -- --plot DIR` from criterion's \
         results. Do not edit: rerun the command. -->\n"
    );
    let _ = writeln!(md, "Measured on {}.\n", machine());

    // Trivial jobs.
    let lesson1 = get(TRIVIAL, Shape::Lesson1.id())? / JOBS as f64;
    let _ = writeln!(
        md,
        "**Trivial jobs** ({} jobs that each double a number, {WORKERS} workers; the pool \
         is started and shut down in every iteration), and the same pools at {} jobs per \
         iteration:\n",
        grouped(JOBS),
        grouped(MILLION)
    );
    let _ = writeln!(
        md,
        "| pool | per job | jobs per second | against lesson 1 | per job at {0} | jobs per \
         second at {0} |",
        grouped(MILLION)
    );
    let _ = writeln!(md, "|---|---:|---:|---:|---:|---:|");
    let mut bars = Vec::new();
    let per_job =
        |shape: Shape| -> Result<f64, String> { Ok(get(TRIVIAL, shape.id())? / JOBS as f64) };
    let mut trivial = Vec::new();
    for shape in TRIVIAL_SHAPES {
        let ns = per_job(shape)?;
        let at_scale = get(TRIVIAL_MILLION, shape.id())? / MILLION as f64;
        trivial.push((shape, ns));
        let _ = writeln!(
            md,
            "| {} | {} | {} | {:.2}× | {} | {} |",
            markdown(shape.label()),
            human_ns(ns),
            per_second(ns),
            ns / lesson1,
            human_ns(at_scale),
            per_second(at_scale)
        );
        bars.push(Bar {
            label: shape.label().into(),
            value: ns,
        });
    }
    let clock = get(CLOCK, CLOCK_NOW)?;
    let _ = writeln!(
        md,
        "\nReading the clock (`Instant::now`) takes {} here. Lesson 1's pool reads it twice per \
         job and sends back a `Done` of {} bytes; the Go article's shape sends back a bare \
         `u64`.",
        human_ns(clock),
        std::mem::size_of::<lesson_1::Done>()
    );
    svgs.push((
        "trivial-jobs.svg",
        svg::bar_chart(
            &format!("Time per trivial job, {WORKERS} workers (shorter is better)"),
            "ns",
            &bars,
        ),
    ));

    // Queues.
    let _ = writeln!(
        md,
        "\n**The queue: hand-off against bound** (the same {} jobs and {WORKERS} workers, no \
         results channel):\n",
        grouped(JOBS)
    );
    let _ = writeln!(
        md,
        "| workers share the queue through | unbounded | bounded to 64 |"
    );
    let _ = writeln!(md, "|---|---:|---:|");
    let mut bars = Vec::new();
    let mut matrix = Vec::new();
    for (name, unbounded, bounded) in [
        (
            "cloned crossbeam receivers",
            Shape::CrossbeamUnbounded,
            Shape::CrossbeamBounded,
        ),
        (
            "`Arc<Mutex<mpsc::Receiver>>`",
            Shape::MutexUnbounded,
            Shape::MutexBounded,
        ),
    ] {
        let u = get(QUEUES, unbounded.id())? / JOBS as f64;
        let b = get(QUEUES, bounded.id())? / JOBS as f64;
        let _ = writeln!(md, "| {name} | {} | {} |", human_ns(u), human_ns(b));
        matrix.push((u, b));
        for (shape, ns) in [(unbounded, u), (bounded, b)] {
            bars.push(Bar {
                label: shape.label().into(),
                value: ns,
            });
        }
    }
    let bound_cost = matrix[0].1 - matrix[0].0;
    let _ = writeln!(
        md,
        "\nWith crossbeam, the bound alone adds {} per job; with the queue unbounded, the mutex \
         alone adds {} per job; with both, the mutex pool pays {} more than crossbeam's \
         unbounded queue.",
        human_ns(bound_cost),
        human_ns(matrix[1].0 - matrix[0].0),
        human_ns(matrix[1].1 - matrix[0].0)
    );
    svgs.push((
        "queues.svg",
        svg::bar_chart("Time per job: hand-off and bound", "ns", &bars),
    ));

    // A thread per job.
    let _ = writeln!(
        md,
        "\n**A thread per job against a pool** ({} trivial jobs):\n",
        grouped(SPAWN_JOBS)
    );
    let _ = writeln!(md, "| shape | per job | jobs per second |");
    let _ = writeln!(md, "|---|---:|---:|");
    let mut bars = Vec::new();
    for shape in SPAWN_SHAPES {
        let ns = get(SPAWN, shape.id())? / SPAWN_JOBS as f64;
        let _ = writeln!(
            md,
            "| {} | {} | {} |",
            markdown(shape.label()),
            human_ns(ns),
            per_second(ns)
        );
        bars.push(Bar {
            label: shape.label().into(),
            value: ns,
        });
    }
    svgs.push((
        "thread-per-job.svg",
        svg::bar_chart(&format!("Time per job, {SPAWN_JOBS} jobs"), "ns", &bars),
    ));

    // CPU-bound sweep.
    let _ = writeln!(
        md,
        "\n**CPU-bound jobs against workers** ({CPU_JOBS} jobs of {} xorshift steps each, \
         lesson 1's pool):\n",
        grouped(crate::CPU_ROUNDS)
    );
    let _ = writeln!(md, "| workers | whole run | faster than 1 worker |");
    let _ = writeln!(md, "|---:|---:|---:|");
    let one = get(CPU, "1")?;
    let mut points = Vec::new();
    for w in CPU_WORKERS {
        let ns = get(CPU, &w.to_string())?;
        let _ = writeln!(md, "| {w} | {} | {:.2}× |", human_ns(ns), one / ns);
        points.push((w as f64, ns / 1e6));
    }
    svgs.push((
        "cpu-sweep.svg",
        svg::line_chart(
            &format!("{CPU_JOBS} CPU-bound jobs: time against workers"),
            "workers",
            "ms for the whole run",
            &[Series {
                name: "measured".into(),
                points,
                dashed: false,
            }],
        ),
    ));

    // Sleep-bound sweep.
    let _ = writeln!(
        md,
        "\n**Sleep-bound jobs against workers** ({} jobs that each sleep {} ms). *Started in the \
         run*: lesson 1's `run`, which starts its workers, runs the jobs and joins the workers, \
         all inside the measurement. *Already running*: the same shape of pool with every worker \
         started and waiting before the clock starts, as a long-lived pool is:\n",
        grouped(SLEEP_JOBS),
        SLEEP.as_millis()
    );
    let _ = writeln!(
        md,
        "| workers | ideal | started in the run | over the ideal | already running | over the \
         ideal |"
    );
    let _ = writeln!(md, "|---:|---:|---:|---:|---:|---:|");
    let (mut measured, mut running_line, mut ideal_line) = (Vec::new(), Vec::new(), Vec::new());
    let mut sleep_100 = None;
    for w in SLEEP_WORKERS {
        let ns = get(SLEEPY, &w.to_string())?;
        let running = get(SLEEPY_RUNNING, &w.to_string())?;
        let ideal = crate::ideal(w, SLEEP_JOBS, SLEEP).as_nanos() as f64;
        let over = (ns / ideal - 1.0) * 100.0;
        let over_running = (running / ideal - 1.0) * 100.0;
        if w == 100 {
            sleep_100 = Some((ns, ideal, over, running, over_running));
        }
        let _ = writeln!(
            md,
            "| {w} | {} | {} | {over:+.1} % | {} | {over_running:+.1} % |",
            human_ns(ideal),
            human_ns(ns),
            human_ns(running),
        );
        measured.push((w as f64, ns / 1e6));
        running_line.push((w as f64, running / 1e6));
        ideal_line.push((w as f64, ideal / 1e6));
    }
    svgs.push((
        "sleep-sweep.svg",
        svg::line_chart(
            &format!(
                "{SLEEP_JOBS} jobs that sleep {} ms: time against workers",
                SLEEP.as_millis()
            ),
            "workers",
            "ms for the whole run",
            &[
                Series {
                    name: "started in the run".into(),
                    points: measured,
                    dashed: false,
                },
                Series {
                    name: "already running".into(),
                    points: running_line,
                    dashed: false,
                },
                Series {
                    name: "ideal".into(),
                    points: ideal_line,
                    dashed: true,
                },
            ],
        ),
    ));

    // False sharing.
    let _ = writeln!(
        md,
        "\n**Counters** ({SHARING_THREADS} threads, each adding 1 to a counter {} times):\n",
        grouped(INCREMENTS)
    );
    let _ = writeln!(md, "| counters | whole run | per increment |");
    let _ = writeln!(md, "|---|---:|---:|");
    let mut bars = Vec::new();
    for (_, id, label) in SHARING_CASES {
        let ns = get(SHARING, id)?;
        let each = ns / (SHARING_THREADS as u64 * INCREMENTS) as f64;
        let _ = writeln!(md, "| {label} | {} | {} |", human_ns(ns), human_ns(each));
        bars.push(Bar {
            label: label.into(),
            value: each,
        });
    }
    svgs.push((
        "false-sharing.svg",
        svg::bar_chart("Time per increment (shorter is better)", "ns", &bars),
    ));

    // Targets.
    let fastest = trivial
        .iter()
        .filter(|(s, _)| matches!(s, Shape::Batched | Shape::Stealing))
        .min_by(|a, b| a.1.total_cmp(&b.1))
        .copied()
        .expect("both are in the list");
    let advanced = trivial
        .iter()
        .find(|(s, _)| *s == Shape::Advanced)
        .map(|(_, ns)| *ns)
        .expect("in the list");
    let advanced_roomy = trivial
        .iter()
        .find(|(s, _)| *s == Shape::AdvancedRoomy)
        .map(|(_, ns)| *ns)
        .expect("in the list");
    let (sleep_ns, sleep_ideal, sleep_over, sleep_running, sleep_over_running) =
        sleep_100.expect("100 workers is one of the sleep sweep's points");
    let verdict = |ok: bool| if ok { "met" } else { "**missed**" };
    let _ = writeln!(
        md,
        "\n**Targets** (the Go program itself is measured beside the pools by the quick table, \
         `cargo run --release -p lesson-9`, not by criterion):\n"
    );
    let _ = writeln!(md, "| target | measured | verdict |");
    let _ = writeln!(md, "|---|---|---|");
    let _ = writeln!(
        md,
        "| batched or work-stealing pool at least 7× faster per job than lesson 1's | {}: {} \
         per job, {:.1}× faster | {} |",
        fastest.0.label(),
        human_ns(fastest.1),
        lesson1 / fastest.1,
        verdict(lesson1 / fastest.1 >= 7.0)
    );
    let _ = writeln!(
        md,
        "| lesson 7's advanced pool at most 1.5× lesson 1's per job | with room for every job, \
         as lesson 1 has: {} per job, {:.2}×; with its default queue of 64: {} per job, {:.2}× \
         (the bound of 64 alone costs {} per job, above) | {} |",
        human_ns(advanced_roomy),
        advanced_roomy / lesson1,
        human_ns(advanced),
        advanced / lesson1,
        human_ns(bound_cost),
        verdict(advanced_roomy / lesson1 <= 1.5)
    );
    let _ = writeln!(
        md,
        "| {} jobs of {} ms on 100 workers within 3 % of the ideal {} | pool already running: {} \
         ({sleep_over_running:+.1} %); started in the run: {} ({sleep_over:+.1} %) | {} |",
        grouped(SLEEP_JOBS),
        SLEEP.as_millis(),
        human_ns(sleep_ideal),
        human_ns(sleep_running),
        human_ns(sleep_ns),
        verdict(sleep_over_running.abs() <= 3.0)
    );

    std::fs::create_dir_all(out)
        .map_err(|err| format!("cannot create {}: {err}", out.display()))?;
    for (name, text) in svgs.into_iter().chain([("results.md", md)]) {
        let path = out.join(name);
        std::fs::write(&path, text)
            .map_err(|err| format!("cannot write {}: {err}", path.display()))?;
        files.push(path);
    }
    Ok(files)
}
// ANCHOR_END: write_all
