//! Just enough SVG for a horizontal bar chart, with the standard library only: the quick
//! table's `--svg` picture. The book's line charts (drawn by `tools/bench-plot`) use the same
//! page, palette and figures, so every chart of the chapter looks alike.

use std::fmt::Write;

/// Colours for bars and lines, in order.
pub const PALETTE: [&str; 8] = [
    "#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#9c755f",
];

/// One bar: its label and its length in the chart's unit.
#[derive(Debug, Clone, PartialEq)]
pub struct Bar {
    /// Printed to the left of the bar.
    pub label: String,
    /// The bar's length; also printed after it.
    pub value: f64,
}

/// Escapes the five characters XML cares about.
pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;")
}

/// A number with three significant figures at most: `0.0123`, `4.56`, `78.9`, `1234`; a whole
/// number as it is: `25`, not `25.0`.
pub fn short(v: f64) -> String {
    if v >= 100.0 || v.fract() == 0.0 {
        format!("{v:.0}")
    } else if v >= 10.0 {
        format!("{v:.1}")
    } else if v >= 1.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.3}")
    }
}

/// Jobs per second as `11.0 M` or `950 k`.
pub fn per_second(ns_per_job: f64) -> String {
    let rate = 1e9 / ns_per_job;
    if rate >= 1e6 {
        format!("{} M", short(rate / 1e6))
    } else if rate >= 1e3 {
        format!("{} k", short(rate / 1e3))
    } else {
        short(rate)
    }
}

/// The start of a chart: an SVG page `width` by `height` on white, with `title` centred at the
/// top. The caller draws the rest and closes it with `</svg>`.
pub fn open(width: u32, height: u32, title: &str) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="13">"#
    );
    let _ = writeln!(
        s,
        r##"<rect width="{width}" height="{height}" fill="#ffffff"/>"##
    );
    let _ = writeln!(
        s,
        r##"<text x="{}" y="22" text-anchor="middle" font-size="15" font-weight="bold" fill="#222">{}</text>"##,
        width / 2,
        escape(title)
    );
    s
}

// ANCHOR: bar_chart
/// A horizontal bar chart: one row per bar, longest value spanning the plot, each bar's value
/// and `unit` printed at its end.
pub fn bar_chart(title: &str, unit: &str, bars: &[Bar]) -> String {
    let (left, right, top, row) = (270.0, 110.0, 40.0, 30.0);
    let width = 760.0;
    let height = top + row * bars.len() as f64 + 16.0;
    let span = width - left - right;
    let max = bars.iter().map(|b| b.value).fold(0.0_f64, f64::max);
    let mut s = open(width as u32, height as u32, title);
    for (i, bar) in bars.iter().enumerate() {
        let y = top + row * i as f64;
        let len = if max > 0.0 {
            bar.value / max * span
        } else {
            0.0
        };
        let _ = writeln!(
            s,
            r##"<text x="{}" y="{}" text-anchor="end" fill="#222">{}</text>"##,
            left - 8.0,
            y + 16.0,
            escape(&bar.label)
        );
        let _ = writeln!(
            s,
            r#"<rect x="{left}" y="{}" width="{len:.1}" height="{}" fill="{}"/>"#,
            y + 3.0,
            row - 8.0,
            PALETTE[i % PALETTE.len()]
        );
        let _ = writeln!(
            s,
            r##"<text x="{:.1}" y="{}" fill="#222">{} {}</text>"##,
            left + len + 6.0,
            y + 16.0,
            short(bar.value),
            escape(unit)
        );
    }
    s.push_str("</svg>\n");
    s
}
// ANCHOR_END: bar_chart

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_scale_to_the_longest_and_labels_are_escaped() {
        let svg = bar_chart(
            "t",
            "ns",
            &[
                Bar {
                    label: "Mutex<Receiver>".into(),
                    value: 50.0,
                },
                Bar {
                    label: "b".into(),
                    value: 100.0,
                },
            ],
        );
        assert!(svg.contains("Mutex&lt;Receiver&gt;"), "{svg}");
        assert!(svg.contains(r#"width="190.0""#), "half of 380: {svg}");
        assert!(svg.contains(r#"width="380.0""#), "the whole span: {svg}");
        assert_eq!(svg.matches("<rect").count(), 3, "background and two bars");
    }

    #[test]
    fn numbers_are_short() {
        assert_eq!(short(25.0), "25");
        assert_eq!(short(0.0), "0");
        assert_eq!(short(53.24), "53.2");
        assert_eq!(short(4.567), "4.57");
        assert_eq!(short(1234.5), "1234");
    }
}
