//! Flag parsing shared by the lesson binaries.
//!
//! clap does the parsing; this module decides what a person sees when a flag is wrong: one line
//! on stderr and exit code 2, never a panic and never a screenful of usage.

use std::time::Duration;

/// The most workers a lesson will start: each is an OS thread, and a typo such as
/// `--workers 100000` should get an error rather than exhaust the machine.
pub const MAX_WORKERS: usize = 1024;

/// The most jobs a lesson will accept in one run.
pub const MAX_JOBS: usize = 1_000_000;

/// Parses the process arguments into `T`, or prints a one-line error and exits with code 2.
///
/// `--help` and `--version` still print in full and exit 0.
pub fn parse<T: clap::Parser>() -> T {
    match T::try_parse() {
        Ok(args) => args,
        Err(err) => exit_with(err),
    }
}

/// Makes `cargo run -p lesson-N | head` end the lesson quietly once `head` has what it wants.
/// Every lesson's `main` calls it first, before it prints anything.
///
/// Rust programs ignore the signal (SIGPIPE) that ends a C program writing to a closed pipe, so
/// the write fails instead, and `println!` turns that failure into a panic and a backtrace
/// banner. This hook turns exactly that panic into a silent exit with code 141, what a shell
/// reports for a program ended by SIGPIPE, and hands every other panic to the hook before it.
pub fn quiet_on_closed_stdout() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let payload = info.payload();
        let message = payload
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| payload.downcast_ref::<&str>().copied())
            .unwrap_or("");
        if message.starts_with("failed printing to stdout") && message.contains("Broken pipe") {
            std::process::exit(141);
        }
        previous(info);
    }));
}

fn exit_with(err: clap::Error) -> ! {
    use clap::error::ErrorKind;
    match err.kind() {
        ErrorKind::DisplayHelp
        | ErrorKind::DisplayVersion
        | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => err.exit(),
        _ => {
            eprintln!("{}", one_line(&err));
            std::process::exit(2)
        }
    }
}

/// The first line of clap's message (which names the flag, the value and what is wrong),
/// followed by a pointer to `--help` in place of clap's usage block.
pub fn one_line(err: &clap::Error) -> String {
    let text = err.render().to_string();
    let mut lines = text.lines();
    let mut first = lines
        .next()
        .unwrap_or("error: bad arguments")
        .trim_end()
        .to_string();
    // "…were not provided:" is followed by the flags it means, one per line: keep them.
    if first.ends_with(':') {
        for more in lines.take_while(|l| !l.trim().is_empty()) {
            first.push(' ');
            first.push_str(more.trim());
        }
    }
    format!("{first} (see --help)")
}

fn whole_number(s: &str) -> Result<usize, String> {
    s.trim()
        .parse::<usize>()
        .map_err(|_| "expected a whole number such as 3".to_string())
}

/// A worker count: 1 to [`MAX_WORKERS`].
pub fn workers(s: &str) -> Result<usize, String> {
    match whole_number(s)? {
        0 => Err("a pool needs at least 1 worker".into()),
        n if n > MAX_WORKERS => Err(format!("at most {MAX_WORKERS} workers")),
        n => Ok(n),
    }
}

/// A queue capacity: at least 1 (a zero-capacity queue is a rendezvous, which lesson 3's
/// drain-on-Ctrl-C report would find confusing) and at most [`MAX_JOBS`].
pub fn capacity(s: &str) -> Result<usize, String> {
    match whole_number(s)? {
        0 => Err("the queue needs room for at least 1 job".into()),
        n if n > MAX_JOBS => Err(format!("at most {MAX_JOBS}")),
        n => Ok(n),
    }
}

/// A job count: 0 to [`MAX_JOBS`].
pub fn jobs(s: &str) -> Result<usize, String> {
    match whole_number(s)? {
        n if n > MAX_JOBS => Err(format!("at most {MAX_JOBS} jobs")),
        n => Ok(n),
    }
}

/// A duration in whole milliseconds, at most one minute (these are demos).
pub fn millis(s: &str) -> Result<Duration, String> {
    match whole_number(s)? {
        n if n > 60_000 => Err("at most 60000 ms".into()),
        n => Ok(Duration::from_millis(n as u64)),
    }
}

/// A time limit in whole milliseconds, 1 to 60000: a limit of 0 would expire before anything
/// could happen.
pub fn positive_millis(s: &str) -> Result<Duration, String> {
    match millis(s)? {
        Duration::ZERO => Err("a limit of 0 ms leaves no time at all; at least 1".into()),
        limit => Ok(limit),
    }
}

/// A percentage from 0 to 100.
pub fn percent(s: &str) -> Result<u32, String> {
    match whole_number(s)? {
        n if n > 100 => Err("a percentage is at most 100".into()),
        n => Ok(n as u32),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser, Debug)]
    struct Flags {
        #[arg(long, default_value = "3", value_parser = workers, allow_negative_numbers = true)]
        workers: usize,
        #[arg(long, default_value = "5", value_parser = jobs, allow_negative_numbers = true)]
        jobs: usize,
    }

    fn error_for(args: &[&str]) -> String {
        let err = Flags::try_parse_from(std::iter::once("lesson").chain(args.iter().copied()))
            .expect_err("these flags should be rejected");
        one_line(&err)
    }

    #[test]
    fn a_bad_flag_is_described_on_one_line() {
        for args in [
            &["--workers", "0"][..],
            &["--workers", "abc"],
            &["--jobs", "-1"],
            &["--workers", "5000"],
            &["--nonsense"],
        ] {
            let message = error_for(args);
            assert!(
                !message.contains('\n'),
                "{args:?} gave several lines: {message}"
            );
            assert!(message.starts_with("error:"), "{args:?} gave {message}");
        }
    }

    #[test]
    fn the_message_names_the_flag_and_the_rule() {
        let message = error_for(&["--workers", "0"]);
        assert!(message.contains("--workers"), "{message}");
        assert!(message.contains("at least 1 worker"), "{message}");
        let message = error_for(&["--jobs", "-1"]);
        assert!(
            message.contains("'-1'") && message.contains("whole number"),
            "{message}"
        );
    }

    #[test]
    fn a_missing_required_flag_is_named() {
        #[derive(Parser, Debug)]
        struct Needs {
            #[arg(long)]
            db: String,
        }
        let err = Needs::try_parse_from(["lesson"]).expect_err("--db is required");
        let message = one_line(&err);
        assert!(message.contains("--db"), "{message}");
        assert!(!message.contains('\n'), "{message}");
    }

    #[test]
    fn a_time_limit_is_at_least_1_ms() {
        assert!(positive_millis("0").unwrap_err().contains("at least 1"));
        assert_eq!(positive_millis("1"), Ok(Duration::from_millis(1)));
        assert!(positive_millis("60001").is_err());
    }

    #[test]
    fn good_flags_parse() {
        let flags = Flags::try_parse_from(["lesson", "--workers", "8", "--jobs", "0"]).unwrap();
        assert_eq!((flags.workers, flags.jobs), (8, 0));
    }
}
