//! Making a lesson's output stable enough to snapshot.

/// Makes a lesson's output stable enough to snapshot.
///
/// - Measured durations become `‹t›`: every duration in an event line or on the picture's time
///   axis, and elsewhere any duration right after the word `took` (or `mean`, `p50`, `p99`). Planned durations (`each job
///   takes 100 ms`) stay, so the snapshot still pins them.
/// - `worker N` becomes `worker ?` everywhere except in the run picture's row labels: which
///   worker takes which job is up to the scheduler.
/// - Within each block of lines that start with `  [` (the events printed while the pool runs),
///   lines are sorted by their phase word and job number, since concurrent workers print them in
///   whatever order they happen to run. A line saying so heads the sorted block.
/// - The run picture's rows (`worker N │…│`) keep their label but their track becomes `‹varies›`:
///   its boxes depend on timing. The picture's shape is tested separately.
pub fn normalize(output: &str) -> String {
    let mut lines: Vec<String> = Vec::new();
    let mut events: Vec<String> = Vec::new();
    // The line after the axis holds the run's measured length.
    let mut axis = false;
    for line in output.lines() {
        if line.starts_with("  [") {
            events.push(redact_workers(&redact_durations(line, true)));
            continue;
        }
        flush_events(&mut events, &mut lines);
        if let Some((label, _track)) = line.split_once(" │") {
            if label.starts_with("worker ") {
                lines.push(format!("{label} │‹varies›│"));
                continue;
            }
        }
        if line.trim_start().starts_with('└') {
            lines.push(line.trim_end_matches('┘').trim_end_matches('─').to_string() + "─…┘");
            axis = true;
            continue;
        }
        lines.push(redact_workers(&redact_durations(line, axis)));
        axis = false;
    }
    flush_events(&mut events, &mut lines);
    let mut text = lines.join("\n");
    text.push('\n');
    text
}

fn flush_events(events: &mut Vec<String>, lines: &mut Vec<String>) {
    if events.is_empty() {
        return;
    }
    events.sort_by_key(|line| event_key(line));
    lines.push("  (sorted for this snapshot; in a real run these lines interleave)".into());
    lines.append(events);
}

/// Sort key for an event line: its phase (the first of the verbs below it contains) then its
/// job id. Lines with neither (such as a breaker's state change) keep their printed order, which
/// the sort preserves because it is stable.
fn event_key(line: &str) -> (usize, u64) {
    const PHASES: [&str; 6] = [
        "took",
        "finished",
        "failed",
        "abandoned",
        "skipped",
        "stopped",
    ];
    let phase = PHASES
        .iter()
        .position(|p| line.contains(&format!(" {p} ")))
        .unwrap_or(PHASES.len());
    let job = line
        .split("job ")
        .nth(1)
        .and_then(|rest| {
            rest.split(|c: char| !c.is_ascii_digit())
                .next()
                .and_then(|d| d.parse().ok())
        })
        .unwrap_or(u64::MAX);
    (phase, job)
}

fn redact_workers(line: &str) -> String {
    let mut out = String::new();
    let mut rest = line;
    while let Some(i) = rest.find("worker ") {
        out.push_str(&rest[..i + "worker ".len()]);
        rest = &rest[i + "worker ".len()..];
        let digits = rest.chars().take_while(char::is_ascii_digit).count();
        if digits > 0 {
            out.push('?');
            rest = &rest[digits..];
        }
    }
    out.push_str(rest);
    out
}

/// Replaces durations with `‹t›`: all of them if `all`, else only those right after `took`.
fn redact_durations(line: &str, all: bool) -> String {
    let chars: Vec<char> = line.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        let at_word_start = i == 0 || !chars[i - 1].is_alphanumeric();
        if at_word_start && chars[i].is_ascii_digit() {
            let mut j = i;
            while j < chars.len() && (chars[j].is_ascii_digit() || chars[j] == '.') {
                j += 1;
            }
            let unit = ["ms", "µs", "s"].into_iter().find(|unit| {
                let unit: Vec<char> = unit.chars().collect();
                let end = j + 1 + unit.len();
                chars.get(j) == Some(&' ')
                    && chars.get(j + 1..end) == Some(&unit[..])
                    && chars.get(end).is_none_or(|c| !c.is_alphanumeric())
            });
            let measured = all
                || ["took", "mean", "p50", "p99"]
                    .iter()
                    .any(|word| out.trim_end().ends_with(word));
            if let (Some(unit), true) = (unit, measured) {
                // Padding that right-aligned the number varies with its width: drop it.
                while out.ends_with("  ") || out.ends_with("[ ") {
                    out.pop();
                }
                out.push_str("‹t›");
                i = j + 1 + unit.chars().count();
                continue;
            }
            out.extend(&chars[i..j]);
            i = j;
            continue;
        }
        out.push(chars[i]);
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_workers_are_redacted_and_events_sorted() {
        let raw = "start\n  [ 101 ms] worker 2 finished job 2\n  [   0 ms] worker 3 took job 2\n  [   1 ms] worker 1 took job 1\nthe run took  1.20 s (ideal 300 ms)\n";
        let expected = "start\n  (sorted for this snapshot; in a real run these lines interleave)\n  [‹t›] worker ? took job 1\n  [‹t›] worker ? took job 2\n  [‹t›] worker ? finished job 2\nthe run took ‹t› (ideal 300 ms)\n";
        assert_eq!(normalize(raw), expected);
    }

    #[test]
    fn picture_rows_keep_their_label() {
        let raw = "worker 1 │[1──]  │\nworker 2 │  [2─]│\n         └───────┘\n          0  4 ms\n";
        let got = normalize(raw);
        assert!(
            got.starts_with("worker 1 │‹varies›│\nworker 2 │‹varies›│\n"),
            "{got}"
        );
        assert!(got.contains("0 ‹t›"), "{got}");
    }
}
