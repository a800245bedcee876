//! The per-job table: every shape measured in a child process of its own, a row each, then the
//! Go row, the targets and the picture.

use crate::quick::child::parse;
use crate::quick::go_row::go_row;
use crate::quick::picture::{draw, picture};
use crate::quick::targets::targets;
use lesson_9::shapes::Shape;
use lesson_9::svg::per_second;
use std::path::Path;
use std::process::Command;

// ANCHOR: table
/// Runs every shape in a child process of its own and prints one row each.
pub fn table(workers: usize, jobs: u64, rounds: usize, svg_file: Option<&Path>) {
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
                        per_second(ns),
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

/// A spinner on stderr naming the pool being measured, so a person watching knows the table is
/// not stuck; nothing is drawn when stderr is not a terminal.
pub fn measuring(label: &str) -> course_support::progress::ProgressBar {
    course_support::progress::spinner(format!("measuring {label}..."))
}

/// The most jobs the quick table gives a thread each: above it, that row alone would take minutes.
const THREAD_PER_JOB_MAX: u64 = 100_000;
