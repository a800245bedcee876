//! What the demo prints besides the scenes' own lines: the observer's narration, the chart of
//! workers alive, and the account of a priority run.

use crate::demo::jobs::{HIGH, LOW};
use course_support::timeline;
use crossbeam_channel::Sender;
use lesson_8::dynamic::{self, Why};
use lesson_8::priority::{Priority, max_overtakers};
use std::sync::Mutex;

/// What the observer keeps: the worker count after every change, and a span per job.
#[derive(Default)]
pub struct Seen {
    /// The workers alive after each start or retirement, and why it happened.
    pub alive: Vec<(usize, Why)>,
    /// One span per finished job, for the run picture.
    pub spans: Vec<timeline::Span>,
}

/// The dynamic pool's observer: prints each start and retirement, keeps what the charts need,
/// and tells the script each time a job finishes.
pub fn narrate(event: &dynamic::Event, seen: &Mutex<Seen>, finished: &Sender<()>) {
    let mut seen = seen.lock().expect("the observer does not panic");
    match event {
        dynamic::Event::Started { worker, alive, why } => {
            let because = match why {
                Why::Floor => "to keep the minimum",
                _ => "a job found no free worker",
            };
            println!("  [pool] worker {worker} started: {because} ({alive} alive)");
            seen.alive.push((*alive, *why));
        }
        dynamic::Event::Retired { worker, alive, why } => {
            let because = match why {
                Why::Idle => "idle for the whole timeout",
                Why::Surplus => "surplus after the resize, between jobs",
                _ => "the pool shut down",
            };
            println!("  [pool] worker {worker} retired: {because} ({alive} alive)");
            seen.alive.push((*alive, *why));
        }
        dynamic::Event::Finished {
            job,
            worker,
            started,
            took,
            panicked,
        } => {
            let end = *started + *took;
            course_support::event_line!(end, "worker {worker} finished job {job}");
            seen.spans.push(timeline::Span {
                worker: *worker,
                job: *job,
                start: *started,
                end,
                failed: *panicked,
            });
            // The script counts finished jobs; it holds the receiver until the end.
            let _ = finished.send(());
        }
    }
}

/// One column per change in the worker count, as high as the count after it.
pub fn alive_chart(changes: &[(usize, Why)]) -> String {
    let top = changes.iter().map(|(n, _)| *n).max().unwrap_or(0);
    let mut out = String::new();
    for level in (1..=top).rev() {
        out.push_str(&format!("  {level:>2} ┤"));
        for (n, _) in changes {
            out.push(if *n >= level { '█' } else { ' ' });
        }
        out.truncate(out.trim_end().len());
        out.push('\n');
    }
    out.push_str("      ");
    for (_, why) in changes {
        out.push(match why {
            Why::Floor | Why::Backlog => '▲',
            _ => '▼',
        });
    }
    out.push('\n');
    out
}

/// Prints the order of picks and where the low jobs ran.
pub fn describe(order: &[(u64, u64, Priority)], aging: Option<u32>) {
    let strip: String = order
        .iter()
        .map(|(_, _, p)| match *p {
            LOW => 'l',
            HIGH => 'H',
            _ => 'G',
        })
        .collect();
    println!("   Picks in order (G the gate job, H high, l low): {strip}");
    let lows: Vec<&(u64, u64, Priority)> = order.iter().filter(|(_, _, p)| *p == LOW).collect();
    if lows.is_empty() {
        println!("   No job was low priority with this seed.");
        return;
    }
    let picks: Vec<String> = lows.iter().map(|(pick, _, _)| pick.to_string()).collect();
    let last_high = order
        .iter()
        .filter(|(_, _, p)| *p == HIGH)
        .map(|(pick, _, _)| *pick)
        .max()
        .unwrap_or(0);
    // For each low job: how many high jobs submitted after it were picked before it.
    let passed = lows
        .iter()
        .map(|(pick, seq, _)| {
            order
                .iter()
                .filter(|(p, s, pr)| *pr == HIGH && s > seq && p < pick)
                .count()
        })
        .max()
        .unwrap_or(0);
    println!(
        "   The low jobs ran at picks {} of {}; the last high job ran at pick {last_high}.",
        picks.join(", "),
        order.len()
    );
    match aging {
        None => println!(
            "   A low job was passed by {passed} later high jobs, every one that arrived after it: \
             the low jobs ran only because the load stopped. Had it gone on, they would have \
             waited for ever."
        ),
        Some(step) => println!(
            "   No low job was passed by more than {passed} later high jobs; the bound is {}.",
            max_overtakers(HIGH, LOW, step)
        ),
    }
}
