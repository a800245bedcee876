//! How the demo watches its worker processes: each is this same program's `worker` command, its
//! lines read by a thread of its own and passed to the demo's script, which prints the event
//! lines once every worker has left. Lesson 11's demo watches its workers with these functions.

use std::error::Error;
use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::time::Duration;

/// A line from a worker process, or the news that its output ended.
#[derive(Debug)]
pub enum Line {
    /// A line it printed.
    Text(String),
    /// Its output ended: it left, or was killed.
    Closed,
}

/// How long the demo waits for a line from any worker before it gives up.
pub const PATIENCE: Duration = Duration::from_secs(60);

/// Starts the worker `cmd`, named `name` in errors, with its stdout read line by line into
/// `lines` by a thread that sends [`Line::Closed`] when the output ends.
pub fn spawn(mut cmd: Command, name: &str, lines: &Sender<Line>) -> Result<Child, String> {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| format!("could not start worker {name}: {e}"))?;
    let out = child.stdout.take().expect("piped");
    let lines = lines.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines() {
            let Ok(line) = line else { break };
            if lines.send(Line::Text(line)).is_err() {
                return;
            }
        }
        let _ = lines.send(Line::Closed);
    });
    Ok(child)
}

/// The next line from any worker; an error saying `stuck` (what is probably wrong) when none
/// came within [`PATIENCE`].
pub fn next_line(lines: &Receiver<Line>, stuck: &str) -> Result<Line, String> {
    match lines.recv_timeout(PATIENCE) {
        Ok(line) => Ok(line),
        Err(RecvTimeoutError::Timeout) => Err(format!("no word from any worker for 60 s: {stuck}")),
        Err(RecvTimeoutError::Disconnected) => Ok(Line::Closed),
    }
}

/// Prints the first worker's lines as they come until it took `jobs` jobs.
pub fn until_it_took(lines: &Receiver<Line>, jobs: usize, stuck: &str) -> Result<(), String> {
    let mut took = 0;
    while took < jobs {
        match next_line(lines, stuck)? {
            Line::Text(line) => {
                took += usize::from(line.contains(" took job "));
                println!("{line}");
            }
            Line::Closed => return Err("worker 1 exited before it took its jobs".into()),
        }
    }
    Ok(())
}

/// Reads worker lines until `outputs` outputs have ended, keeping the event lines (those that
/// start with `  [`), and calling `on_line` with each line and the lines kept so far (lesson 11
/// restarts its server from there); then prints the kept lines and waits for `children`. When no
/// line comes within [`PATIENCE`], or `on_line` fails, it kills `children` and fails.
pub fn until_all_left(
    lines: &Receiver<Line>,
    outputs: usize,
    children: &mut [Child],
    stuck: &str,
    mut on_line: impl FnMut(&str, &mut Vec<String>) -> Result<(), Box<dyn Error>>,
) -> Result<(), Box<dyn Error>> {
    let mut printed = Vec::new();
    let mut closed = 0;
    while closed < outputs {
        let line = next_line(lines, stuck).map_err(Box::from);
        let step = line.and_then(|line| match line {
            Line::Text(line) => {
                if line.starts_with("  [") {
                    printed.push(line.clone());
                }
                on_line(&line, &mut printed)
            }
            Line::Closed => {
                closed += 1;
                Ok(())
            }
        });
        if let Err(e) = step {
            for child in children.iter_mut() {
                let _ = child.kill();
            }
            return Err(e);
        }
    }
    for line in &printed {
        println!("{line}");
    }
    for child in children.iter_mut() {
        let _ = child.wait();
    }
    Ok(())
}
