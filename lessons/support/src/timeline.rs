//! The picture every lesson ends with: one row per worker, one box per job, time flowing right.
//!
//! ```text
//! worker 1 │[1─────────][4─────────]      │
//! worker 2 │[2─────────][5─────────]      │
//! worker 3 │[3─────────]                  │
//!          └──────────────────────────────┘
//!           0                        412 ms
//! ```
//!
//! A lesson records a [`Span`] for every job that ran and calls [`render`].

use std::fmt::Write as _;
use std::io::IsTerminal as _;
use std::time::Duration;

/// One job as it ran: which worker ran it, and when, measured from the start of the run.
#[derive(Debug, Clone, PartialEq)]
pub struct Span {
    /// The worker that ran the job, counted from 1 (row `worker 1` is the first row).
    pub worker: usize,
    /// The job's id, printed inside its box.
    pub job: u64,
    /// When the worker started the job, measured from the start of the run.
    pub start: Duration,
    /// When the worker finished the job, measured from the start of the run.
    pub end: Duration,
    /// A failed job is drawn with `!` so failures stand out without colour.
    pub failed: bool,
}

/// How to draw the picture.
#[derive(Debug, Clone, Copy)]
pub struct Style {
    /// Columns for the time axis.
    pub width: usize,
    /// ANSI colours: each job gets a colour, failures are red.
    pub color: bool,
}

impl Style {
    /// 60 columns, coloured only when stdout is a terminal and `NO_COLOR` is not set.
    pub fn for_stdout() -> Style {
        Style {
            width: 60,
            color: std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
        }
    }

    /// 60 columns and no colour: what tests and snapshots use.
    pub fn plain() -> Style {
        Style {
            width: 60,
            color: false,
        }
    }
}

const PALETTE: [&str; 6] = ["36", "33", "32", "35", "34", "96"];

/// Draws `spans` as one row per worker (`1..=workers`), with a time axis underneath.
///
/// Boxes never overlap within a row, even when rounding to columns would make them touch.
///
/// ```
/// use std::time::Duration;
/// use course_support::timeline::{render, Span, Style};
///
/// let ms = Duration::from_millis;
/// let spans = [
///     Span { worker: 1, job: 1, start: ms(0), end: ms(100), failed: false },
///     Span { worker: 2, job: 2, start: ms(0), end: ms(50), failed: true },
/// ];
/// let picture = render(&spans, 2, Style { width: 20, color: false });
/// assert!(picture.contains("worker 1 │[1─────────────────]│"));
/// assert!(picture.contains("worker 2 │[2!!!!!!!]          │"));
/// ```
pub fn render(spans: &[Span], workers: usize, style: Style) -> String {
    let labels: Vec<String> = (1..=workers).map(|w| format!("worker {w}")).collect();
    render_rows(spans, &labels, style)
}

/// Draws `spans` as one row per label: a span with `worker: n` goes in the row of `labels[n-1]`.
/// For pictures whose rows are not simply workers 1 to N (lesson 10 draws a row per thread of
/// each worker process).
///
/// ```
/// use std::time::Duration;
/// use course_support::timeline::{render_rows, Span, Style};
///
/// let ms = Duration::from_millis;
/// let spans = [Span { worker: 2, job: 7, start: ms(0), end: ms(10), failed: false }];
/// let labels = ["worker 1.1".to_string(), "worker 1.2".to_string()];
/// let picture = render_rows(&spans, &labels, Style { width: 12, color: false });
/// assert!(picture.contains("worker 1.2 │[7─────────]│"), "{picture}");
/// ```
pub fn render_rows(spans: &[Span], labels: &[String], style: Style) -> String {
    let width = style.width.max(10);
    let total = spans.iter().map(|s| s.end).max().unwrap_or_default();
    let column = |t: Duration| -> usize {
        if total.is_zero() {
            0
        } else {
            (t.as_secs_f64() / total.as_secs_f64() * width as f64).round() as usize
        }
    };
    let label_width = labels.iter().map(|l| l.chars().count()).max().unwrap_or(0);
    let mut out = String::new();
    let mut any_dense = false;
    for (row_no, label) in labels.iter().enumerate() {
        let worker = row_no + 1;
        let mut row: Vec<cell::Cell> = vec![cell::Cell::blank(); width];
        let mut mine: Vec<&Span> = spans.iter().filter(|s| s.worker == worker).collect();
        mine.sort_by_key(|s| (s.start, s.job));
        // A row with more jobs than half its columns cannot label them all: draw where the
        // worker was busy instead, so the picture keeps its width.
        let dense = mine.len() * 2 > width;
        any_dense |= dense;
        let mut cursor = 0;
        for span in mine {
            if dense {
                let start = column(span.start).min(width - 1);
                let end = column(span.end).clamp(start + 1, width);
                for cell in &mut row[start..end] {
                    *cell = cell::Cell {
                        ch: '█',
                        colour: if span.failed { "31" } else { "36" },
                    };
                }
                continue;
            }
            let start = column(span.start).max(cursor);
            let end = column(span.end).max(start + 1);
            if end > row.len() {
                row.resize(end, cell::Cell::blank());
            }
            let text = box_text(span, end - start);
            let colour = if span.failed {
                "41;97"
            } else {
                PALETTE[(span.job as usize) % PALETTE.len()]
            };
            for (i, ch) in text.chars().enumerate() {
                row[start + i] = cell::Cell { ch, colour };
            }
            cursor = end;
        }
        let _ = write!(out, "{label:<label_width$} │");
        for cell in &row {
            if style.color && cell.ch != ' ' {
                let _ = write!(out, "\x1b[{}m{}\x1b[0m", cell.colour, cell.ch);
            } else {
                out.push(cell.ch);
            }
        }
        out.push_str("│\n");
    }
    let axis_width = cell::widest(&out, label_width).max(width);
    let _ = writeln!(out, "{:label_width$} └{}┘", "", "─".repeat(axis_width));
    let end_label = crate::human(total);
    let gap = (axis_width + 1).saturating_sub(end_label.len());
    let _ = writeln!(out, "{:label_width$}  0{:>gap$}", "", end_label);
    if any_dense {
        let _ = writeln!(
            out,
            "(rows with too many jobs to label show █ where the worker was busy)"
        );
    }
    out
}

/// The text of one box `len` columns wide: `[7────]`, or `[7!!!!]` when the job failed.
fn box_text(span: &Span, len: usize) -> String {
    let label = span.job.to_string();
    let fill = if span.failed { '!' } else { '─' };
    if len >= label.len() + 2 {
        let mut text = format!("[{label}");
        text.extend(std::iter::repeat_n(fill, len - label.len() - 2));
        text.push(']');
        text
    } else if len >= label.len() {
        format!("{label:<len$}")
    } else {
        // Too short to label: a solid block still shows that something ran here.
        "▮".repeat(len)
    }
}

mod cell {
    /// One column of a row: the character and the colour it is drawn in.
    #[derive(Clone, Copy)]
    pub struct Cell {
        pub ch: char,
        pub colour: &'static str,
    }

    impl Cell {
        pub fn blank() -> Cell {
            Cell {
                ch: ' ',
                colour: "",
            }
        }
    }

    /// The widest row's track, so the axis is as long as the longest row.
    pub fn widest(rows: &str, label_width: usize) -> usize {
        rows.lines()
            .map(|line| {
                let visible: String = strip_ansi(line);
                visible.chars().count().saturating_sub(label_width + 3)
            })
            .max()
            .unwrap_or(0)
    }

    fn strip_ansi(line: &str) -> String {
        let mut out = String::new();
        let mut chars = line.chars();
        while let Some(c) = chars.next() {
            if c == '\x1b' {
                for c in chars.by_ref() {
                    if c == 'm' {
                        break;
                    }
                }
            } else {
                out.push(c);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn span(worker: usize, job: u64, start: u64, end: u64) -> Span {
        Span {
            worker,
            job,
            start: ms(start),
            end: ms(end),
            failed: false,
        }
    }

    /// Three workers doubling five numbers, 100 ms a job, as lesson 1 runs by default.
    fn lesson_one_run() -> Vec<Span> {
        vec![
            span(1, 1, 0, 100),
            span(2, 2, 0, 101),
            span(3, 3, 1, 101),
            span(1, 4, 100, 201),
            span(3, 5, 101, 202),
        ]
    }

    #[test]
    fn a_run_of_three_workers_draws_three_rows() {
        let picture = render(&lesson_one_run(), 3, Style::plain());
        insta::assert_snapshot!("three_workers_five_jobs", picture);
    }

    #[test]
    fn failures_are_marked_without_colour() {
        let mut spans = lesson_one_run();
        spans[1].failed = true;
        let picture = render(&spans, 3, Style::plain());
        insta::assert_snapshot!("a_failed_job", picture);
    }

    #[test]
    fn every_job_gets_a_box_in_its_workers_row() {
        let spans = lesson_one_run();
        let picture = render(&spans, 3, Style::plain());
        for s in &spans {
            let row = picture
                .lines()
                .find(|l| l.starts_with(&format!("worker {}", s.worker)))
                .expect("a row per worker");
            assert!(
                row.contains(&format!("[{}", s.job)),
                "job {} missing from {row}",
                s.job
            );
        }
    }

    #[test]
    fn boxes_in_one_row_never_overlap_even_when_jobs_are_tiny() {
        // 25 jobs of 1 µs each on one worker, inside a 1 s run: every box is narrower than a
        // column, so each takes one column right of the one before instead of being drawn on
        // top of it: 25 marks in all.
        let mut spans: Vec<Span> = (0..25)
            .map(|i| Span {
                worker: 1,
                job: i,
                start: Duration::from_micros(i),
                end: Duration::from_micros(i + 1),
                failed: false,
            })
            .collect();
        spans.push(span(2, 99, 0, 1000));
        let picture = render(&spans, 2, Style::plain());
        let row = picture.lines().next().unwrap();
        let track = row.split('│').nth(1).unwrap();
        assert_eq!(track.chars().filter(|c| *c != ' ').count(), 25, "{row}");
    }

    #[test]
    fn an_idle_worker_gets_an_empty_row_and_no_jobs_draws_an_empty_picture() {
        let picture = render(&[span(1, 1, 0, 10)], 2, Style::plain());
        assert!(picture.lines().nth(1).unwrap().trim_end().ends_with('│'));
        let empty = render(&[], 2, Style::plain());
        assert_eq!(empty.lines().count(), 4, "{empty}");
    }

    #[test]
    fn a_row_with_many_jobs_keeps_the_pictures_width() {
        // 200 jobs of 5 ms back to back on one worker: far too many boxes for 60 columns.
        let spans: Vec<Span> = (0..200).map(|i| span(1, i + 1, i * 5, i * 5 + 5)).collect();
        let picture = render(&spans, 1, Style::plain());
        let row = picture.lines().next().unwrap();
        assert_eq!(
            row.chars().count(),
            "worker 1 │".chars().count() + 60 + 1,
            "{row}"
        );
        assert!(row.contains("████"), "{row}");
        assert!(
            picture.contains("show █ where the worker was busy"),
            "{picture}"
        );
    }

    #[test]
    fn colour_wraps_boxes_in_ansi_codes() {
        let picture = render(
            &lesson_one_run(),
            3,
            Style {
                width: 60,
                color: true,
            },
        );
        assert!(picture.contains("\x1b["), "{picture}");
    }
}
