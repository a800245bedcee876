//! Bad flags, refused the way every lesson refuses them: exit code 2 and one line that names the
//! problem.

use super::run_bin;
use std::time::Duration;

/// Checks that `args` are refused the way every lesson refuses bad flags: exit code 2, one line
/// on stderr naming the problem, nothing on stdout, no panic.
pub fn assert_rejected(bin: &str, args: &[&str]) {
    refusal(bin, args, Duration::from_secs(10));
}

/// Runs `args`, checks the refusal as [`assert_rejected`] describes it, and returns the error
/// line.
fn refusal(bin: &str, args: &[&str], limit: Duration) -> String {
    let out = run_bin(bin, args, limit);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(
        out.status.code(),
        Some(2),
        "{args:?} should exit with code 2; stderr was: {stderr}"
    );
    assert_eq!(
        stderr.trim_end().lines().count(),
        1,
        "{args:?} should give a one-line error, got:\n{stderr}"
    );
    assert!(stderr.starts_with("error:"), "{args:?}: {stderr}");
    assert!(!stderr.contains("panicked"), "{args:?} panicked: {stderr}");
    assert!(
        out.stdout.is_empty(),
        "{args:?} should print nothing on stdout"
    );
    stderr
}

/// Values no numeric flag takes, whatever its limits: negative, non-numeric, empty, blank,
/// hexadecimal, not-a-number, infinite, larger than any integer type holds.
const HOSTILE_VALUES: [&str; 12] = [
    "-1",
    "abc",
    "",
    " ",
    "12abc",
    "1,000",
    "0x10",
    "NaN",
    "inf",
    "1e999",
    "99999999999999999999999",
    "-99999999999999999999999",
];

/// Throws hostile values at each of a lesson's numeric flags and checks that every one is
/// refused the way [`assert_rejected`] describes (exit code 2, one line starting with `error:`,
/// no panic, nothing on stdout), quickly, with a message that names the flag.
///
/// Each flag's limits are read from `--help`, which must state them as `(MIN to MAX)` in the
/// flag's description: `MIN` and `MAX` must be accepted, and `MAX` + 1, `MIN` − 1 (when
/// `MIN` > 0), ten million (when above `MAX`), a fraction (for whole-number flags) and values
/// no flag takes (negative, non-numeric, empty, blank, hexadecimal, `NaN`, infinite, past
/// `u64`) refused, as must a missing value and the flag given twice. Unknown flags and a stray
/// word are refused too. A value is accepted if `FLAG VALUE --help` prints the help
/// and exits 0: clap checks the value before it meets `--help`, so nothing is started.
pub fn assert_hostile_flags(bin: &str, numeric_flags: &[&str]) {
    let limit = Duration::from_secs(5);
    let help = run_bin(bin, &["--help"], limit);
    assert!(help.status.success(), "{bin} --help failed");
    let help = String::from_utf8_lossy(&help.stdout).into_owned();
    for &flag in numeric_flags {
        let (min, max) = documented_range(&help, flag).unwrap_or_else(|| {
            panic!(
                "`--help` should state the limits of {flag} as `(MIN to MAX)` in its \
                 description; it says:\n{help}"
            )
        });
        for value in [&min, &max] {
            let out = run_bin(bin, &[flag, value, "--help"], limit);
            assert!(
                out.status.success() && out.stderr.is_empty(),
                "{flag} {value} is within the limits `--help` states, but was refused: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let mut values: Vec<String> = HOSTILE_VALUES.iter().map(|v| v.to_string()).collect();
        match (min.parse::<u64>(), max.parse::<u64>()) {
            (Ok(low), Ok(high)) => {
                values.push((high + 1).to_string());
                if low > 0 {
                    values.push((low - 1).to_string());
                }
                if high < 10_000_000 {
                    values.push("10000000".into());
                }
                values.push(format!("{low}.5"));
            }
            _ => {
                let low: f64 = min.parse().expect("MIN is a number");
                let high: f64 = max.parse().expect("MAX is a number");
                values.push((high * 2.0).to_string());
                values.push(if low > 0.0 { low / 2.0 } else { low - 1.0 }.to_string());
            }
        }
        let refused = |args: &[&str]| {
            let line = refusal(bin, args, limit);
            assert!(
                line.contains(flag),
                "{args:?}: the error should name {flag}: {line}"
            );
        };
        for value in &values {
            refused(&[flag, value]);
        }
        for value in ["", "-1"] {
            refused(&[&format!("{flag}={value}")]);
        }
        // clap reads a value that starts with `-` and is not a number as a flag (`-inf` is
        // `-i`, `-n`, `-f`), so the error names that instead: still one line and code 2.
        refusal(bin, &[flag, "-inf"], limit);
        refused(&[flag]);
        refused(&[flag, "--help"]);
        refused(&[flag, &min, flag, &min]);
    }
    for args in [
        &["--no-such-flag"][..],
        &["--no-such-flag=1"],
        &["-Z"],
        &["stray"],
    ] {
        let line = refusal(bin, args, limit);
        let shown = args[0].split('=').next().unwrap_or_default();
        assert!(
            line.contains(shown),
            "{args:?}: the error should name it: {line}"
        );
    }
}

/// The last `MIN to MAX` in the description of `flag` in `help`, such as `("1", "1024")` from
/// `How many workers (1 to 1024) [default: 3]`.
fn documented_range(help: &str, flag: &str) -> Option<(String, String)> {
    // The flag's own line starts with `-` (`  -w, --workers <WORKERS>`); a mention of the flag
    // in another flag's description does not.
    let mut lines = help.lines().skip_while(|line| {
        let line = line.trim_start();
        !(line.starts_with('-') && line.split([' ', ',', '=']).any(|word| word == flag))
    });
    let first = lines.next()?;
    let mut text = first.split_once(flag)?.1.to_string();
    for line in lines.take_while(|line| !line.trim_start().starts_with('-')) {
        text.push(' ');
        text.push_str(line);
    }
    let words: Vec<&str> = text
        .split(|c: char| c.is_whitespace() || "();,[]".contains(c))
        .filter(|w| !w.is_empty())
        .collect();
    words.windows(3).rev().find_map(|w| {
        let number = |s: &str| s.parse::<f64>().is_ok_and(f64::is_finite);
        (w[1] == "to" && number(w[0]) && number(w[2])).then(|| (w[0].to_string(), w[2].to_string()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_range_is_read_from_the_flags_description() {
        let help = "Options:\n      --workers <WORKERS>\n          How many workers (1 to 1024) \
                    [default: 3]\n      --rate <RATE>\n          Jobs a second, in bursts of 2 to 3\n          \
                    (0.001 to 1000000000)\n      --seed <SEED>\n          Seed\n";
        assert_eq!(
            documented_range(help, "--workers"),
            Some(("1".into(), "1024".into()))
        );
        assert_eq!(
            documented_range(help, "--rate"),
            Some(("0.001".into(), "1000000000".into()))
        );
        assert_eq!(documented_range(help, "--seed"), None);
        assert_eq!(documented_range(help, "--jobs"), None);
    }
}
