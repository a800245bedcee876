//! The figures of time against workers: CPU-bound jobs, and sleep-bound jobs in a pool started
//! in the run and in one already running.

use crate::format::{grouped, human_ns};
use crate::line_chart::{Series, line_chart};
use crate::results::{Get, Svgs};
use lesson_9::groups::{CPU, SLEEPY, SLEEPY_RUNNING};
use lesson_9::{CPU_JOBS, CPU_ROUNDS, CPU_WORKERS, SLEEP, SLEEP_JOBS, SLEEP_WORKERS};
use std::fmt::Write;

/// The sleep sweep at 100 workers, which the targets quote, all in nanoseconds or per cent.
pub struct Sleep100 {
    /// The whole run, pool started in the run.
    pub started: f64,
    /// The least the run can take.
    pub ideal: f64,
    /// How far over the ideal, started in the run, in per cent.
    pub over: f64,
    /// The whole run, pool already running.
    pub running: f64,
    /// How far over the ideal, already running, in per cent.
    pub over_running: f64,
}

/// CPU-bound jobs against workers, and `cpu-sweep.svg`.
pub fn cpu(get: Get, md: &mut String, svgs: &mut Svgs) -> Result<(), String> {
    let _ = writeln!(
        md,
        "\n**CPU-bound jobs against workers** ({CPU_JOBS} jobs of {} xorshift steps each, \
         lesson 1's pool):\n",
        grouped(CPU_ROUNDS)
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
        line_chart(
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

    Ok(())
}

/// Sleep-bound jobs against workers, started in the run and already running, against the
/// ideal, and `sleep-sweep.svg`.
pub fn sleep(get: Get, md: &mut String, svgs: &mut Svgs) -> Result<Sleep100, String> {
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
        let ideal = lesson_9::ideal(w, SLEEP_JOBS, SLEEP).as_nanos() as f64;
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
        line_chart(
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

    let (started, ideal, over, running, over_running) =
        sleep_100.expect("100 workers is one of the sleep sweep's points");
    Ok(Sleep100 {
        started,
        ideal,
        over,
        running,
        over_running,
    })
}
