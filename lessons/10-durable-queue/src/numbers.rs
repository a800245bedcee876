//! How the measurement prints its numbers: thousands apart, rates as bars on a doubling scale,
//! processes counted, targets met or MISSED. Lesson 11's measurement reuses these as they are.

/// A whole number with its thousands apart: `23 456`; `-` for a rate that could not be measured.
///
/// ```
/// assert_eq!(lesson_10::numbers::grouped(23_456.4), "23 456");
/// assert_eq!(lesson_10::numbers::grouped(f64::NAN), "-");
/// ```
pub fn grouped(x: f64) -> String {
    if !x.is_finite() {
        return "-".into();
    }
    let digits = format!("{:.0}", x.max(0.0));
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(' ');
        }
        out.push(c);
    }
    out
}

/// A rate as a bar on a doubling scale: it starts at 1 a second and each `█` doubles it (in
/// eighths), so a few hundred and a few hundred thousand fit on one screen.
///
/// ```
/// assert_eq!(lesson_10::numbers::bar(4.0), "██");
/// ```
pub fn bar(rate: f64) -> String {
    let eighths = (rate.max(1.0).log2() * 8.0).round() as usize;
    let partial = ["", "▏", "▎", "▍", "▌", "▋", "▊", "▉"][eighths % 8];
    format!("{}{partial}", "█".repeat(eighths / 8))
}

/// Rates as bars under `heading`: a row per `(label, rate)`, the labels padded to `width`.
pub fn print_bars(heading: &str, width: usize, rows: impl IntoIterator<Item = (String, f64)>) {
    println!("{heading}");
    for (label, rate) in rows {
        println!("  {label:<width$} │{} {}", bar(rate), grouped(rate));
    }
    println!();
}

/// `met` or `MISSED`, for a target.
pub fn verdict(met: bool) -> &'static str {
    if met { "met" } else { "MISSED" }
}

/// `process` or `processes`, after a count.
pub fn noun(processes: usize) -> &'static str {
    if processes == 1 {
        "process"
    } else {
        "processes"
    }
}
