//! Progress for long runs a person watches: a bar over a known count, or a spinner naming the
//! step under way. Both draw on stderr, and nothing at all when stderr is not a terminal, so a
//! log file or CI output stays clean.

pub use indicatif::ProgressBar;
use indicatif::ProgressStyle;
use std::time::Duration;

/// A bar over `len` steps of `what` (for example "rounds"), with a message for the current one.
///
/// ```
/// let bar = course_support::progress::bar(3, "rounds");
/// bar.set_message("round 1");
/// bar.inc(1);
/// bar.finish_and_clear();
/// ```
pub fn bar(len: u64, what: &str) -> ProgressBar {
    let bar = ProgressBar::new(len);
    let template = format!("{{bar:30.green}} {{pos}}/{{len}} {what} {{elapsed}} {{msg}}");
    bar.set_style(ProgressStyle::with_template(&template).expect("a valid template"));
    bar.enable_steady_tick(Duration::from_millis(250));
    bar
}

/// A spinner that says what is being done, ticking on its own until it is finished.
pub fn spinner(message: String) -> ProgressBar {
    let spinner = ProgressBar::new_spinner();
    spinner.set_message(message);
    spinner.enable_steady_tick(Duration::from_millis(120));
    spinner
}
