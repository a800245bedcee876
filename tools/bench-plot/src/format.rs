//! How the results write a figure: a duration, a count, a label safe for markdown, and the
//! machine they were measured on.

use lesson_9::svg::short;

/// Nanoseconds as a person reads them: `91 ns`, `2.30 µs`, `1.69 ms`, `1.20 s`.
pub fn human_ns(ns: f64) -> String {
    let (value, unit) = if ns < 1e3 {
        (ns, "ns")
    } else if ns < 1e6 {
        (ns / 1e3, "µs")
    } else if ns < 1e9 {
        (ns / 1e6, "ms")
    } else {
        (ns / 1e9, "s")
    };
    format!("{} {unit}", short(value))
}

/// A label made safe for a markdown table: `<` and `>` would otherwise start an HTML tag.
pub fn markdown(label: &str) -> String {
    label.replace('<', "&lt;").replace('>', "&gt;")
}

/// A whole number with its thousands apart: `10 000`.
pub fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(' ');
        }
        out.push(c);
    }
    out
}

/// What this machine is, for the top of the results: processor model and thread count.
pub fn machine() -> String {
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find_map(|l| l.strip_prefix("model name")?.split_once(':'))
                .map(|(_, name)| name.trim().to_string())
        })
        .unwrap_or_else(|| "an unknown processor".into());
    format!(
        "{model}, {} threads at once (`available_parallelism`)",
        lesson_9::cores()
    )
}
