//! Logging for the server lessons through [`tracing`] (feature `log`).
//!
//! A lesson describes what happens with spans and events: a span per job carries the job's id,
//! its attempt and the worker's name, and each event line is a `tracing` event inside it. This
//! module decides how that is printed, in one of two forms ([`Format`]):
//!
//! - **readable**, the default: the one line the course has always printed,
//!   `  [  44 ms] worker 1 took job 1 (attempt 1 of 3)`. The time is counted from a start the
//!   lesson gives, `worker NAME` comes from the `worker` field of the event or of the nearest
//!   span that has one, and the rest is the event's message. Other fields are left out: they
//!   are for the structured form.
//! - **json**, for production: one JSON object a line, with a timestamp, the level, the message,
//!   every field of the event, and the fields of its spans (`span` for the innermost, `spans` for
//!   all of them), ready for a log collector or `jq`.
//!
//! Choose with `--log-format json` ([`LogFlags`]) or `COURSE_LOG=json`. `RUST_LOG` chooses which
//! events are printed, with the usual directives (`warn`, `lesson_10=debug,info`): only events
//! are filtered, never spans, since a span is the context that every event inside it needs.
//!
//! ```
//! use course_support::log::{self, Format};
//! use std::time::SystemTime;
//! use tracing_subscriber::layer::SubscriberExt as _;
//!
//! // What `log::init` installs, writing to stderr instead of stdout.
//! let subscriber = tracing_subscriber::registry()
//!     .with(log::layer(Format::Readable, SystemTime::now(), std::io::stderr));
//! tracing::subscriber::with_default(subscriber, || {
//!     let job = tracing::info_span!("job", worker = "1", job = 1, attempt = 1);
//!     // Prints `  [    0 ms] worker 1 took job 1 (attempt 1 of 3)`.
//!     job.in_scope(|| tracing::info!("took job 1 (attempt 1 of 3)"));
//! });
//! ```

use std::fmt;
use std::time::{Duration, SystemTime};
use tracing::field::{Field, Visit};
use tracing::{Event, Metadata, Subscriber};
use tracing_subscriber::Layer;
use tracing_subscriber::field::RecordFields;
use tracing_subscriber::filter::{FilterFn, Targets};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::time::FormatTime;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields, FormattedFields, MakeWriter};
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::registry::LookupSpan;

/// How log lines look.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// The course's one-line form: `  [  44 ms] worker 1 took job 1 (attempt 1 of 3)`.
    Readable,
    /// One JSON object a line, with the fields of the event and of its spans.
    Json,
}

/// The `--log-format` flag, for a lesson's command that logs. It also reads `COURSE_LOG`; the
/// flag wins over the variable.
#[derive(Debug, Clone, clap::Args)]
pub struct LogFlags {
    /// How to print what happens: readable (one line per event, as in the book) or json (one
    /// object a line, with each job's id and attempt, for log tools). RUST_LOG chooses which
    /// events, such as warn or lesson_10=debug (default: info)
    #[arg(
        long = "log-format",
        value_name = "FORMAT",
        value_enum,
        env = "COURSE_LOG",
        default_value = "readable"
    )]
    pub format: Format,
}

impl LogFlags {
    /// Starts logging to stdout in the chosen form, filtered by `RUST_LOG`; the readable form
    /// counts time from `start`. See [`init`].
    pub fn init(&self, start: SystemTime) -> Result<(), String> {
        init(self.format, start)
    }
}

/// Starts logging for the whole process: events go to stdout in `format`, those that `RUST_LOG`
/// enables (every `info` event and above when it is unset), and the readable form counts time
/// from `start`.
///
/// A write that fails (stdout closed) loses the line and nothing else: a worker does not die
/// over a log line.
///
/// Only `tracing` events are printed. Records of the older `log` crate, which libraries such as
/// the PostgreSQL driver use for the server's notices, are not forwarded: whether they would be
/// must not depend on which other crates share the build (a build of the whole workspace turns
/// on tracing-subscriber's `tracing-log` feature, and its `try_init` would then forward them).
///
/// # Errors
///
/// If `RUST_LOG` is not a list of directives ([`filter`]), or logging was already started.
pub fn init(format: Format, start: SystemTime) -> Result<(), String> {
    let directives = std::env::var("RUST_LOG").unwrap_or_default();
    let filter = filter(&directives).map_err(|e| format!("RUST_LOG: {e}"))?;
    let subscriber = tracing_subscriber::registry()
        .with(layer(format, start, std::io::stdout).with_filter(filter));
    tracing::subscriber::set_global_default(subscriber)
        .map_err(|e| format!("cannot start logging: {e}"))
}

/// The layer that prints events in `format` to `writer`, for a subscriber put together by hand
/// (tests, or a lesson that adds layers of its own). [`init`] uses it with stdout.
pub fn layer<S, W>(format: Format, start: SystemTime, writer: W) -> Box<dyn Layer<S> + Send + Sync>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    match format {
        Format::Readable => readable_layer(Elapsed::since(start), writer),
        Format::Json => tracing_subscriber::fmt::layer()
            .json()
            // `"message"` and the event's own fields at the top level, beside `span` and `spans`.
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(true)
            .with_writer(writer)
            .log_internal_errors(false)
            .boxed(),
    }
}

/// The readable form with any clock: [`layer`] passes [`Elapsed`], the tests a fixed time.
fn readable_layer<S, T, W>(timer: T, writer: W) -> Box<dyn Layer<S> + Send + Sync>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    T: FormatTime + Send + Sync + 'static,
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    tracing_subscriber::fmt::layer()
        .fmt_fields(WorkerName)
        .event_format(Readable { timer })
        .with_writer(writer)
        .log_internal_errors(false)
        .boxed()
}

/// Which events to print, from `RUST_LOG`-style directives: `LEVEL`, `TARGET=LEVEL` or both,
/// separated by commas (`warn,lesson_10=debug`). Empty means `info`. Spans always pass: only
/// events are filtered.
///
/// This is tracing-subscriber's [`Targets`], which reads the common directives without pulling
/// in a regex engine; what it does not read, such as span-field filters (`[job{job=3}]`), is an
/// error rather than silently ignored.
///
/// ```
/// assert!(course_support::log::filter::<tracing_subscriber::Registry>("warn,lesson_10=debug").is_ok());
/// assert!(course_support::log::filter::<tracing_subscriber::Registry>("lesson_10=loud").is_err());
/// ```
pub fn filter<S>(
    directives: &str,
) -> Result<impl tracing_subscriber::layer::Filter<S> + Send + Sync + 'static, String> {
    let events: Targets = if directives.trim().is_empty() {
        Targets::new().with_default(tracing::Level::INFO)
    } else {
        directives.parse().map_err(|e| {
            format!(
                "{directives:?} is not a list of LEVEL or TARGET=LEVEL, such as \
                 warn,lesson_10=debug ({e})"
            )
        })?
    };
    Ok(FilterFn::new(move |meta: &Metadata<'_>| {
        meta.is_span() || events.would_enable(meta.target(), meta.level())
    }))
}

/// The readable form's clock: milliseconds since a start, right-aligned in five places
/// (`   44 ms`), as the lessons have always printed them.
#[derive(Debug, Clone, Copy)]
pub struct Elapsed {
    start: SystemTime,
}

impl Elapsed {
    /// Counts from `start`: a wall-clock instant, so processes started at different times (the
    /// demo's workers) count from the same one. A start in the future counts as 0.
    pub fn since(start: SystemTime) -> Elapsed {
        Elapsed { start }
    }
}

impl FormatTime for Elapsed {
    fn format_time(&self, w: &mut Writer<'_>) -> fmt::Result {
        let elapsed = SystemTime::now()
            .duration_since(self.start)
            .unwrap_or_default();
        write_millis(w, elapsed)
    }
}

fn write_millis(w: &mut Writer<'_>, elapsed: Duration) -> fmt::Result {
    write!(w, "{:>5} ms", elapsed.as_millis())
}

// ANCHOR: readable
/// The readable form's event formatter: `  [TIME] worker NAME MESSAGE`.
struct Readable<T> {
    timer: T,
}

impl<S, T> FormatEvent<S, WorkerName> for Readable<T>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    T: FormatTime,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, WorkerName>,
        mut w: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let mut fields = EventFields::default();
        event.record(&mut fields);
        // The event's own `worker` field, else the nearest span's (the spans' fields were kept
        // by `WorkerName` when they were made).
        let worker = fields.worker.or_else(|| {
            ctx.event_scope()?.find_map(|span| {
                let extensions = span.extensions();
                let name = &extensions.get::<FormattedFields<WorkerName>>()?.fields;
                (!name.is_empty()).then(|| name.clone())
            })
        });
        w.write_str("  [")?;
        self.timer.format_time(&mut w)?;
        w.write_str("] ")?;
        if let Some(worker) = worker {
            write!(w, "worker {worker} ")?;
        }
        writeln!(w, "{}", fields.message)
    }
}
// ANCHOR_END: readable

/// What the readable form keeps of a span's fields: the value of `worker`, if it has one.
struct WorkerName;

impl<'w> FormatFields<'w> for WorkerName {
    fn format_fields<R: RecordFields>(&self, mut w: Writer<'w>, fields: R) -> fmt::Result {
        let mut found = EventFields::default();
        fields.record(&mut found);
        match found.worker {
            Some(worker) => w.write_str(&worker),
            None => Ok(()),
        }
    }

    /// A `worker` recorded later replaces the one before; other fields change nothing.
    fn add_fields(
        &self,
        current: &'w mut FormattedFields<Self>,
        fields: &tracing::span::Record<'_>,
    ) -> fmt::Result {
        let mut found = EventFields::default();
        fields.record(&mut found);
        if let Some(worker) = found.worker {
            current.fields = worker;
        }
        Ok(())
    }
}

/// The two fields the readable form prints.
#[derive(Default)]
struct EventFields {
    message: String,
    worker: Option<String>,
}

impl Visit for EventFields {
    fn record_str(&mut self, field: &Field, value: &str) {
        match field.name() {
            "message" => self.message = value.to_string(),
            "worker" => self.worker = Some(value.to_string()),
            _ => {}
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        match field.name() {
            "message" => self.message = format!("{value:?}"),
            "worker" => self.worker = Some(format!("{value:?}")),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io;
    use std::sync::{Arc, Mutex};
    use tracing::{info, info_span, warn};

    /// Collects what a layer writes.
    #[derive(Clone, Default)]
    struct Capture(Arc<Mutex<Vec<u8>>>);

    impl io::Write for Capture {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl Capture {
        fn text(&self) -> String {
            String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
        }
    }

    /// A clock that always says `ms` milliseconds.
    struct At(u64);

    impl FormatTime for At {
        fn format_time(&self, w: &mut Writer<'_>) -> fmt::Result {
            write_millis(w, Duration::from_millis(self.0))
        }
    }

    /// Runs `f` with the readable form at a fixed time, filtered by `directives`; what it printed.
    fn readable(ms: u64, directives: &str, f: impl FnOnce()) -> String {
        let out = Capture::default();
        let writer = out.clone();
        let layer =
            readable_layer(At(ms), move || writer.clone()).with_filter(filter(directives).unwrap());
        tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), f);
        out.text()
    }

    /// Runs `f` with `format`, everything enabled; the lines it printed.
    fn printed(format: Format, f: impl FnOnce()) -> Vec<String> {
        let out = Capture::default();
        let writer = out.clone();
        let layer = layer(format, SystemTime::now(), move || writer.clone());
        tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), f);
        out.text().lines().map(String::from).collect()
    }

    #[test]
    fn the_readable_form_is_the_courses_line() {
        let text = readable(44, "", || {
            let span = info_span!("job", worker = "1", job = 1, attempt = 1);
            span.in_scope(|| info!("took job 1 (attempt 1 of 3)"));
        });
        assert_eq!(text, "  [   44 ms] worker 1 took job 1 (attempt 1 of 3)\n");
    }

    #[test]
    fn times_keep_five_places_and_grow_past_them() {
        let line = |ms| readable(ms, "", || info!(worker = 2, "finished job 3: result 6"));
        assert_eq!(line(0), "  [    0 ms] worker 2 finished job 3: result 6\n");
        assert_eq!(
            line(12_345),
            "  [12345 ms] worker 2 finished job 3: result 6\n"
        );
        assert_eq!(
            line(123_456),
            "  [123456 ms] worker 2 finished job 3: result 6\n"
        );
    }

    #[test]
    fn the_worker_comes_from_the_event_or_the_nearest_span_that_names_one() {
        let text = readable(5, "", || {
            let outer = info_span!("worker", worker = %"w-outer");
            let _outer = outer.enter();
            info!("stopping: claims nothing more");
            // A span without a worker of its own: the outer one still names it.
            info_span!("turn", n = 3).in_scope(|| info!("a turn"));
            info_span!("job", worker = "w-inner", job = 7).in_scope(|| {
                info!("took job 7");
                info!(worker = "w-event", "the event's own wins");
            });
        });
        assert_eq!(
            text,
            "  [    5 ms] worker w-outer stopping: claims nothing more\n\
             \x20 [    5 ms] worker w-outer a turn\n\
             \x20 [    5 ms] worker w-inner took job 7\n\
             \x20 [    5 ms] worker w-event the event's own wins\n"
        );
    }

    #[test]
    fn a_worker_recorded_later_counts_and_no_worker_prints_none() {
        let text = readable(0, "", || {
            let span = info_span!("job", worker = tracing::field::Empty, job = 1);
            span.in_scope(|| info!("before"));
            span.record("worker", "late");
            span.in_scope(|| info!("after"));
            info!(extra = 42, "no worker, and other fields are left out");
        });
        assert_eq!(
            text,
            "  [    0 ms] before\n  [    0 ms] worker late after\n\
             \x20 [    0 ms] no worker, and other fields are left out\n"
        );
    }

    #[test]
    fn rust_log_filters_events_but_keeps_the_spans_they_need() {
        let text = readable(1, "warn", || {
            let span = info_span!("job", worker = "3", job = 8, attempt = 3);
            span.in_scope(|| {
                info!("took job 8 (attempt 3 of 3)");
                warn!("failed job 8 (attempt 3): no attempts left: discarded");
            });
        });
        assert_eq!(
            text,
            "  [    1 ms] worker 3 failed job 8 (attempt 3): no attempts left: discarded\n"
        );
        let by_target = readable(1, "course_support=debug,warn", || {
            tracing::debug!("shown: this crate at debug");
            tracing::debug!(target: "elsewhere", "hidden");
        });
        assert_eq!(by_target, "  [    1 ms] shown: this crate at debug\n");
        assert!(filter::<tracing_subscriber::Registry>("[job{job=3}]=debug").is_err());
        assert!(filter::<tracing_subscriber::Registry>("lesson_10=loud").is_err());
    }

    #[test]
    fn the_json_form_carries_the_spans_fields_on_each_event() {
        let lines = printed(Format::Json, || {
            let span = info_span!("job", worker = "2", job = 5, attempt = 2);
            span.in_scope(|| info!(outcome = "completed", "finished job 5: result 10"));
        });
        assert_eq!(lines.len(), 1, "{lines:?}");
        let line: serde_json::Value = serde_json::from_str(&lines[0]).unwrap();
        assert_eq!(line["message"], "finished job 5: result 10", "{line}");
        assert_eq!(line["outcome"], "completed", "{line}");
        assert_eq!(line["level"], "INFO", "{line}");
        assert_eq!(line["span"]["name"], "job", "{line}");
        assert_eq!(line["span"]["worker"], "2", "{line}");
        assert_eq!(line["span"]["job"], 5, "{line}");
        assert_eq!(line["span"]["attempt"], 2, "{line}");
        assert_eq!(line["spans"][0]["job"], 5, "{line}");
        assert!(line["timestamp"].as_str().is_some(), "{line}");
    }

    #[test]
    fn the_readable_form_from_layer_counts_from_the_start() {
        let start = SystemTime::now() - Duration::from_secs(3);
        let out = Capture::default();
        let writer = out.clone();
        let layer = layer(Format::Readable, start, move || writer.clone());
        tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), || {
            info!(worker = 1, "late")
        });
        let text = out.text();
        let ms: u64 = text["  [".len()..text.find(" ms]").unwrap()]
            .trim()
            .parse()
            .unwrap();
        assert!((3000..60_000).contains(&ms), "{text}");
        assert!(text.ends_with(" ms] worker 1 late\n"), "{text}");
    }

    #[test]
    fn the_flag_takes_readable_or_json() {
        use clap::Parser;
        #[derive(Parser)]
        struct Args {
            #[command(flatten)]
            log: LogFlags,
        }
        let parse = |args: &[&str]| Args::try_parse_from(args).map(|a| a.log.format);
        assert_eq!(parse(&["w"]).unwrap(), Format::Readable);
        assert_eq!(parse(&["w", "--log-format", "json"]).unwrap(), Format::Json);
        assert!(parse(&["w", "--log-format", "xml"]).is_err());
    }
}
