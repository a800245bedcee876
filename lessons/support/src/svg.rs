//! The run picture as an SVG file, for the book: the same [`Span`]s as the terminal picture in
//! [`crate::timeline`], one row per worker, one box per job along a time axis, failed jobs red.
//!
//! Every lesson takes `--svg FILE` (the [`SvgFlag`] flattened into its flags) and writes its
//! picture there as well as printing it. The drawing has its own light card as background, so it
//! reads the same in the book's light and dark themes.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Duration;

use crate::timeline::Span;

/// The `--svg FILE` flag every lesson shares.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct SvgFlag {
    /// Also draw the run's picture as an SVG image in FILE
    #[arg(long, value_name = "FILE")]
    pub svg: Option<PathBuf>,
}

impl SvgFlag {
    /// Writes the picture of `spans` (rows `labels`) to the file, if one was asked for.
    /// The error names the file.
    pub fn write(&self, spans: &[Span], labels: &[String], title: &str) -> Result<(), String> {
        let Some(path) = &self.svg else {
            return Ok(());
        };
        std::fs::write(path, render(spans, labels, title))
            .map_err(|e| format!("cannot write the picture to {}: {e}", path.display()))
    }

    /// [`SvgFlag::write`], or one line on stderr and exit code 1 when the file cannot be
    /// written: what a lesson calls after printing its picture.
    pub fn draw(&self, spans: &[Span], labels: &[String], title: &str) {
        if let Err(e) = self.write(spans, labels, title) {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    }

    /// [`SvgFlag::draw`] for rows `worker 1` to `worker N`.
    pub fn draw_workers(&self, spans: &[Span], workers: usize, title: &str) {
        self.draw(spans, &worker_labels(workers), title);
    }
}

/// `worker 1` to `worker N`.
pub fn worker_labels(workers: usize) -> Vec<String> {
    (1..=workers).map(|w| format!("worker {w}")).collect()
}

const WIDTH: f64 = 900.0;
const LABEL: f64 = 120.0;
const RIGHT: f64 = 24.0;
const TOP: f64 = 48.0;
const ROW: f64 = 30.0;
const BOX: f64 = 22.0;
const FILLS: [&str; 6] = [
    "#8ecae6", "#ffd166", "#95d5b2", "#cdb4db", "#a8dadc", "#f4a261",
];
const FAILED: &str = "#d62828";
const INK: &str = "#1f2328";

/// The picture of `spans` as an SVG document: a span with `worker: n` goes in the row of
/// `labels[n-1]`.
///
/// ```
/// use std::time::Duration;
/// use course_support::{svg, timeline::Span};
///
/// let ms = Duration::from_millis;
/// let spans = [
///     Span { worker: 1, job: 1, start: ms(0), end: ms(100), failed: false },
///     Span { worker: 2, job: 2, start: ms(0), end: ms(50), failed: true },
/// ];
/// let picture = svg::render(&spans, &svg::worker_labels(2), "Two jobs");
/// assert!(picture.starts_with("<svg"));
/// assert_eq!(picture.matches("class=\"job").count(), 2);
/// assert_eq!(picture.matches("class=\"job failed\"").count(), 1);
/// ```
pub fn render(spans: &[Span], labels: &[String], title: &str) -> String {
    let total = spans.iter().map(|s| s.end).max().unwrap_or_default();
    let plot = WIDTH - LABEL - RIGHT;
    let x = |t: Duration| -> f64 {
        if total.is_zero() {
            LABEL
        } else {
            LABEL + t.as_secs_f64() / total.as_secs_f64() * plot
        }
    };
    let axis_y = TOP + ROW * labels.len() as f64 + 6.0;
    let height = axis_y + 62.0;
    let mut out = String::new();
    let _ = writeln!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" height="{height}" role="img" aria-labelledby="title">"#
    );
    let _ = writeln!(out, r#"  <title id="title">{}</title>"#, escape(title));
    let _ = writeln!(
        out,
        r##"  <rect x="0.5" y="0.5" width="{}" height="{}" rx="10" fill="#ffffff" stroke="#d0d7de"/>"##,
        WIDTH - 1.0,
        height - 1.0
    );
    let _ = writeln!(
        out,
        r#"  <g font-family="ui-monospace, SFMono-Regular, Menlo, Consolas, monospace" font-size="13" fill="{INK}">"#
    );
    let _ = writeln!(
        out,
        r#"    <text x="16" y="28" font-size="15" font-weight="bold">{}</text>"#,
        escape(title)
    );
    for (row, label) in labels.iter().enumerate() {
        let top = TOP + ROW * row as f64;
        let shade = if row % 2 == 0 { "#f6f8fa" } else { "#ffffff" };
        let _ = writeln!(
            out,
            r#"    <rect x="{LABEL}" y="{top}" width="{plot}" height="{ROW}" fill="{shade}"/>"#
        );
        let _ = writeln!(
            out,
            r#"    <text x="{}" y="{}" text-anchor="end">{}</text>"#,
            LABEL - 10.0,
            top + ROW / 2.0 + 4.5,
            escape(label)
        );
    }
    for span in spans {
        let Some(row) = span.worker.checked_sub(1).filter(|r| *r < labels.len()) else {
            continue;
        };
        let top = TOP + ROW * row as f64 + (ROW - BOX) / 2.0;
        let left = x(span.start);
        let width = (x(span.end) - left).max(1.5);
        let (fill, class, mark) = if span.failed {
            (FAILED, "job failed", "✗")
        } else {
            (FILLS[span.job as usize % FILLS.len()], "job", "")
        };
        let text_fill = if span.failed { "#ffffff" } else { INK };
        let tip = format!(
            "job {}{}: {} to {}, {}",
            span.job,
            if span.failed { " (failed)" } else { "" },
            crate::human(span.start),
            crate::human(span.end),
            labels[row]
        );
        let _ = writeln!(
            out,
            r#"    <g class="{class}"><title>{}</title><rect x="{left:.1}" y="{top}" width="{width:.1}" height="{BOX}" rx="3" fill="{fill}" stroke="{INK}" stroke-width="0.6"/>"#,
            escape(&tip)
        );
        let label = format!("{mark}{}", span.job);
        if width >= label.chars().count() as f64 * 8.0 + 6.0 {
            let _ = writeln!(
                out,
                r#"      <text x="{:.1}" y="{}" fill="{text_fill}">{label}</text>"#,
                left + 4.0,
                top + BOX / 2.0 + 4.5
            );
        }
        out.push_str("    </g>\n");
    }
    axis(&mut out, total, axis_y, plot, &x);
    let _ = writeln!(
        out,
        r#"    <text x="16" y="{}" font-size="12">One row per worker, one box per job (its id inside when it fits), time to the right. Red ✗: the job did not finish with an answer.</text>"#,
        axis_y + 48.0
    );
    out.push_str("  </g>\n</svg>\n");
    out
}

/// The time axis under the rows, with ticks at round numbers.
fn axis(out: &mut String, total: Duration, y: f64, plot: f64, x: &dyn Fn(Duration) -> f64) {
    let _ = writeln!(
        out,
        r#"    <line x1="{LABEL}" y1="{y}" x2="{}" y2="{y}" stroke="{INK}"/>"#,
        LABEL + plot
    );
    let step = tick_step(total);
    let mut t = Duration::ZERO;
    while t <= total && !step.is_zero() {
        let at = x(t);
        let _ = writeln!(
            out,
            r#"    <line x1="{at:.1}" y1="{y}" x2="{at:.1}" y2="{}" stroke="{INK}"/><text x="{at:.1}" y="{}" text-anchor="middle" font-size="12">{}</text>"#,
            y + 5.0,
            y + 20.0,
            if t.is_zero() {
                "0".to_string()
            } else {
                crate::human(t)
            }
        );
        t += step;
    }
}

/// A round step (1, 2 or 5 times a power of ten, in microseconds) giving at most eight ticks.
fn tick_step(total: Duration) -> Duration {
    let micros = total.as_micros().max(1);
    let mut base: u128 = 1;
    loop {
        for factor in [1, 2, 5] {
            let step = base * factor;
            if micros.div_ceil(step) <= 8 {
                return Duration::from_micros(u64::try_from(step).unwrap_or(u64::MAX));
            }
        }
        base *= 10;
    }
}

/// Escapes text for XML.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn each_span_is_one_box_in_its_row_and_far_apart_times_are_far_apart() {
        let spans = [
            Span {
                worker: 1,
                job: 1,
                start: ms(0),
                end: ms(100),
                failed: false,
            },
            Span {
                worker: 2,
                job: 2,
                start: ms(100),
                end: ms(200),
                failed: false,
            },
            Span {
                worker: 9,
                job: 3,
                start: ms(0),
                end: ms(10),
                failed: false,
            },
        ];
        let picture = render(&spans, &worker_labels(2), "t");
        assert_eq!(
            picture.matches("class=\"job\"").count(),
            2,
            "the span of a row that does not exist is left out"
        );
        // Job 1 starts at the left edge, job 2 half way along.
        assert!(
            picture.contains(&format!(
                "x=\"{LABEL:.1}\" y=\"{}\"",
                TOP + (ROW - BOX) / 2.0
            )),
            "{picture}"
        );
        let half = LABEL + (WIDTH - LABEL - RIGHT) / 2.0;
        assert!(
            picture.contains(&format!(
                "x=\"{half:.1}\" y=\"{}\"",
                TOP + ROW + (ROW - BOX) / 2.0
            )),
            "{picture}"
        );
        assert!(picture.contains(">worker 2</text>"));
    }

    #[test]
    fn ticks_are_round_and_few() {
        assert_eq!(tick_step(ms(412)), ms(100));
        assert_eq!(tick_step(ms(1000)), ms(200));
        assert_eq!(
            tick_step(Duration::from_micros(30)),
            Duration::from_micros(5)
        );
        assert_eq!(tick_step(Duration::ZERO), Duration::from_micros(1));
    }

    #[test]
    fn text_is_escaped() {
        let picture = render(&[], &["a<b".to_string()], "x & y");
        assert!(picture.contains("x &amp; y") && picture.contains("a&lt;b"));
    }
}
