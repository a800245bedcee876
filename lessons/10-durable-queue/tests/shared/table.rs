//! Reading `measure`'s table and its verdicts, in lesson 10's and lesson 11's `tests/measure.rs`
//! (lesson 11 reuses this file).
#![allow(dead_code)]

/// The table's cells on the row whose label is `label`.
pub fn row<'a>(output: &'a str, label: &str) -> Vec<&'a str> {
    let line = output
        .lines()
        .find(|l| l.starts_with("  | ") && l[4..].starts_with(&format!("{label} ")))
        .unwrap_or_else(|| panic!("no table row {label:?} in:\n{output}"));
    line.split('|')
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .collect()
}

/// The line that judges the target `target` (its text up to the verdict), which must say `met`
/// or `MISSED` and then why.
pub fn verdict<'a>(output: &'a str, target: &str) -> &'a str {
    let line = output
        .lines()
        .find(|l| l.trim_start().starts_with(target))
        .unwrap_or_else(|| panic!("no verdict for {target:?} in:\n{output}"));
    let verdict = &line.trim_start()[target.len()..];
    assert!(
        verdict.starts_with("met (") || verdict.starts_with("MISSED ("),
        "{line}"
    );
    line
}
