//! A line chart in SVG, with the standard library only: the sweeps' time against workers. It
//! draws on the lesson's page, in the lesson's palette, so it looks like the bar charts.

use lesson_9::svg::{PALETTE, escape, open, short};
use std::fmt::Write;

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
