//! Just enough SVG for the book's plots: a horizontal bar chart and a line chart, with the
//! standard library only.

use std::fmt::Write;

/// Colours for bars and lines, in order.
const PALETTE: [&str; 8] = [
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

/// One line of a line chart.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// Shown in the legend.
    pub name: String,
    /// `(x, y)` points, drawn left to right.
    pub points: Vec<(f64, f64)>,
    /// Drawn dashed: for a reference such as "ideal".
    pub dashed: bool,
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

fn open(width: u32, height: u32, title: &str) -> String {
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

/// A round step for about five ticks up to `max`: 1, 2 or 5 times a power of ten.
fn tick_step(max: f64) -> f64 {
    if max <= 0.0 {
        return 1.0;
    }
    let rough = max / 5.0;
    let power = 10f64.powf(rough.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * power)
        .find(|step| *step >= rough)
        .unwrap_or(10.0 * power)
}

/// A line chart: `x` and `y` axes from zero, a tick at every `x` any series has, round ticks on
/// `y`, one polyline with dots per series, and a legend.
pub fn line_chart(title: &str, x_label: &str, y_label: &str, series: &[Series]) -> String {
    let (width, height) = (760.0, 420.0);
    let (left, right, top, bottom) = (80.0, 190.0, 40.0, 60.0);
    let (plot_w, plot_h) = (width - left - right, height - top - bottom);
    let points = series.iter().flat_map(|s| s.points.iter().copied());
    let (max_x, max_y) = points.fold((0.0_f64, 0.0_f64), |(mx, my), (x, y)| {
        (mx.max(x), my.max(y))
    });
    let step = tick_step(max_y * 1.05);
    let top_y = (max_y * 1.05 / step).ceil().max(1.0) * step;
    let max_x = if max_x > 0.0 { max_x } else { 1.0 };
    let px = |x: f64| left + x / max_x * plot_w;
    let py = |y: f64| top + plot_h - y / top_y * plot_h;
    let mut s = open(width as u32, height as u32, title);

    // Axes, grid and ticks.
    let mut y = 0.0;
    while y <= top_y + step / 2.0 {
        let _ = writeln!(
            s,
            r##"<line x1="{left}" y1="{0:.1}" x2="{1}" y2="{0:.1}" stroke="#dddddd"/>"##,
            py(y),
            left + plot_w
        );
        let _ = writeln!(
            s,
            r##"<text x="{}" y="{:.1}" text-anchor="end" fill="#444">{}</text>"##,
            left - 6.0,
            py(y) + 4.0,
            short(y)
        );
        y += step;
    }
    let mut xs: Vec<f64> = series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.0))
        .collect();
    xs.sort_by(f64::total_cmp);
    xs.dedup();
    for x in xs {
        let _ = writeln!(
            s,
            r##"<text x="{:.1}" y="{}" text-anchor="middle" fill="#444">{}</text>"##,
            px(x),
            top + plot_h + 18.0,
            short(x)
        );
    }
    let _ = writeln!(
        s,
        r##"<path d="M{left} {top} V{0} H{1}" fill="none" stroke="#444"/>"##,
        top + plot_h,
        left + plot_w
    );
    let _ = writeln!(
        s,
        r##"<text x="{:.1}" y="{}" text-anchor="middle" fill="#222">{}</text>"##,
        left + plot_w / 2.0,
        height - 16.0,
        escape(x_label)
    );
    let _ = writeln!(
        s,
        r##"<text transform="translate(18 {:.1}) rotate(-90)" text-anchor="middle" fill="#222">{}</text>"##,
        top + plot_h / 2.0,
        escape(y_label)
    );

    // The lines and the legend.
    for (i, line) in series.iter().enumerate() {
        let colour = PALETTE[i % PALETTE.len()];
        let dash = if line.dashed {
            r#" stroke-dasharray="6 4""#
        } else {
            ""
        };
        let path: Vec<String> = line
            .points
            .iter()
            .map(|&(x, y)| format!("{:.1},{:.1}", px(x), py(y)))
            .collect();
        let _ = writeln!(
            s,
            r#"<polyline points="{}" fill="none" stroke="{colour}" stroke-width="2"{dash}/>"#,
            path.join(" ")
        );
        for &(x, y) in &line.points {
            let _ = writeln!(
                s,
                r#"<circle cx="{:.1}" cy="{:.1}" r="3.5" fill="{colour}"/>"#,
                px(x),
                py(y)
            );
        }
        let ly = top + 10.0 + 22.0 * i as f64;
        let lx = left + plot_w + 16.0;
        let _ = writeln!(
            s,
            r#"<line x1="{lx}" y1="{ly}" x2="{}" y2="{ly}" stroke="{colour}" stroke-width="2"{dash}/>"#,
            lx + 24.0
        );
        let _ = writeln!(
            s,
            r##"<text x="{}" y="{}" fill="#222">{}</text>"##,
            lx + 30.0,
            ly + 4.0,
            escape(&line.name)
        );
    }
    s.push_str("</svg>\n");
    s
}

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

    #[test]
    fn ticks_are_round() {
        assert_eq!(tick_step(100.0), 20.0);
        assert_eq!(tick_step(7.0), 2.0);
        assert_eq!(tick_step(0.3), 0.1);
    }

    #[test]
    fn a_line_chart_has_a_line_and_a_dot_per_point() {
        let svg = line_chart(
            "t",
            "x",
            "y",
            &[Series {
                name: "s".into(),
                points: vec![(1.0, 1.0), (2.0, 4.0), (4.0, 2.0)],
                dashed: true,
            }],
        );
        assert_eq!(svg.matches("<polyline").count(), 1);
        assert_eq!(svg.matches("<circle").count(), 3);
        assert!(svg.contains("stroke-dasharray"));
    }
}
