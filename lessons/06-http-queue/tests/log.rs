//! What the queue logs through `tracing`, caught in the test itself: each task's lines are events
//! in a span that carries the task's id and its worker, and each request is a span with its
//! method and path. Printed by `course_support::log`'s layer into a buffer, in either form.
//!
//! Every wait is bounded and names the likely cause when it runs out.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use course_support::log::{self, Format};
use lesson_6::{Config, Report, TaskQueue, TaskSpec, TaskState, router};
use serde_json::Value;
use std::io;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};
use tower::ServiceExt as _;
use tracing_subscriber::Layer as _;
use tracing_subscriber::layer::SubscriberExt as _;

const LIMIT: Duration = Duration::from_secs(10);

async fn bounded<T>(what: &str, hint: &str, work: impl Future<Output = T>) -> T {
    tokio::time::timeout(LIMIT, work)
        .await
        .unwrap_or_else(|_| panic!("{what} did not finish within {LIMIT:?}: {hint}"))
}

/// Collects what the layer writes.
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
    fn lines(&self) -> Vec<String> {
        let bytes = self.0.lock().unwrap().clone();
        let text = String::from_utf8(bytes).expect("log lines are UTF-8");
        text.lines().map(String::from).collect()
    }
}

/// Logs in `format` into a buffer, for this thread only, filtered by `RUST_LOG`-style
/// `directives`; the guard keeps it in place. `#[tokio::test]` runs on one thread, so the
/// workers log here too.
fn capture(format: Format, directives: &str) -> (Capture, tracing::subscriber::DefaultGuard) {
    let out = Capture::default();
    let writer = out.clone();
    let layer = log::layer(format, SystemTime::now(), move || writer.clone())
        .with_filter(log::filter(directives).expect("valid directives"));
    let guard = tracing::subscriber::set_default(tracing_subscriber::registry().with(layer));
    (out, guard)
}

/// Runs three tasks of 10 ms on two workers, the third failing on purpose, and shuts down.
async fn three_tasks() -> Report {
    let queue = TaskQueue::start(Config {
        workers: 2,
        capacity: 4,
        paused: false,
    });
    let handle = queue.handle();
    for fail in [false, false, true] {
        let spec = TaskSpec {
            duration_ms: 10,
            fail,
        };
        assert!(handle.try_submit(spec).is_ok(), "a queue of 4 has room");
    }
    bounded(
        "shutting down after three 10 ms tasks",
        "a worker is stuck, or the queue never closed",
        queue.shutdown(),
    )
    .await
}

fn parse(line: &str) -> Value {
    serde_json::from_str(line).unwrap_or_else(|e| panic!("not a JSON line ({e}): {line}"))
}

#[tokio::test]
async fn the_json_form_carries_each_tasks_id_and_worker_on_its_lines() {
    let (out, _guard) = capture(Format::Json, "");
    let report = three_tasks().await;
    let lines: Vec<Value> = out.lines().iter().map(|l| parse(l)).collect();
    assert_eq!(
        lines.len(),
        6,
        "two lines per task, nothing else: {lines:#?}"
    );
    for task in &report.tasks {
        let (id, worker) = (task.id, task.worker.expect("every task ran"));
        let end = match task.fail {
            false => ("finished", "INFO", "completed"),
            true => ("failed", "WARN", "failed"),
        };
        for (verb, level, state) in [("took", "INFO", "running"), end] {
            let message = format!("{verb} job {id}");
            let line = lines
                .iter()
                .find(|l| l["message"] == message.as_str())
                .unwrap_or_else(|| panic!("no {message:?} line in {lines:#?}"));
            // The task's span, with its id and the worker the report says ran it.
            let span = &line["span"];
            assert_eq!(
                (&span["name"], &span["task"], &span["worker"]),
                (&"task".into(), &id.into(), &worker.into()),
                "{message:?} should be in task {id}'s span, on worker {worker}: {line}"
            );
            // Only that span: a task's span stands alone.
            assert_eq!(line["spans"], serde_json::json!([span]), "{line}");
            assert_eq!(
                (&line["level"], &line["state"]),
                (&level.into(), &state.into()),
                "{line}"
            );
        }
    }
}

#[tokio::test]
async fn the_readable_form_is_the_lines_the_lesson_always_printed() {
    let (out, _guard) = capture(Format::Readable, "");
    let report = three_tasks().await;
    let lines = out.lines();
    assert_eq!(lines.len(), 6, "{lines:#?}");
    for task in &report.tasks {
        let worker = task.worker.expect("every task ran");
        let end = if task.fail { "failed" } else { "finished" };
        for verb in ["took", end] {
            let tail = format!(" ms] worker {worker} {verb} job {}", task.id);
            assert!(
                lines
                    .iter()
                    .any(|l| l.starts_with("  [") && l.ends_with(&tail)),
                "no line ending {tail:?} in {lines:#?}"
            );
        }
    }
    assert_eq!(report.count(TaskState::Failed), 1);
}

#[tokio::test]
async fn rust_log_warn_keeps_only_the_failed_task() {
    let (out, _guard) = capture(Format::Json, "warn");
    three_tasks().await;
    let lines = out.lines();
    assert_eq!(lines.len(), 1, "{lines:#?}");
    let line = parse(&lines[0]);
    assert_eq!(line["message"], "failed job 3", "{line}");
    assert_eq!(line["span"]["task"], 3, "{line}");
}

#[tokio::test]
async fn each_request_is_a_span_with_its_method_and_path_at_debug() {
    let (out, _guard) = capture(Format::Json, "lesson_6=debug");
    let queue = TaskQueue::start(Config {
        workers: 1,
        capacity: 1,
        paused: true,
    });
    let app = router(queue.handle());
    for expected in [StatusCode::ACCEPTED, StatusCode::SERVICE_UNAVAILABLE] {
        let request = Request::post("/tasks")
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(r#"{"duration_ms": 1}"#))
            .unwrap();
        let answer = bounded(
            "POST /tasks",
            "the handler waits for room in the queue instead of answering 503",
            app.clone().oneshot(request),
        )
        .await
        .unwrap();
        assert_eq!(answer.status(), expected);
    }
    bounded(
        "shutting down",
        "the paused worker never resumed",
        queue.shutdown(),
    )
    .await;
    let lines: Vec<Value> = out.lines().iter().map(|l| parse(l)).collect();
    let find = |message: &str| {
        lines
            .iter()
            .find(|l| l["message"] == message)
            .unwrap_or_else(|| panic!("no {message:?} line in {lines:#?}"))
    };
    for message in [
        "accepted task 1",
        "POST /tasks → 202 Accepted",
        "POST /tasks → 503 Service Unavailable",
    ] {
        let line = find(message);
        assert_eq!(line["level"], "DEBUG", "{line}");
        let span = &line["span"];
        assert_eq!(
            (&span["name"], &span["method"], &span["path"]),
            (&"request".into(), &"POST".into(), &"/tasks".into()),
            "{message:?} should be in its request's span: {line}"
        );
    }
    assert_eq!(find("accepted task 1")["task"], 1);
    assert_eq!(find("POST /tasks → 503 Service Unavailable")["status"], 503);
    // The task's own lines are in its span, not the request's.
    assert_eq!(find("took job 1")["spans"].as_array().unwrap().len(), 1);
}

/// `"timestamp":"2026-…Z"` becomes `"timestamp":"‹t›"`, after checking it is one.
fn hide_timestamp(line: &str) -> String {
    let json = parse(line);
    let stamp = json["timestamp"]
        .as_str()
        .unwrap_or_else(|| panic!("no timestamp: {line}"));
    assert!(
        stamp.len() > 20 && stamp.ends_with('Z') && stamp.as_bytes()[10] == b'T',
        "an RFC 3339 time in UTC: {line}"
    );
    line.replacen(stamp, "‹t›", 1)
}

/// The structured form as the book shows it: two requests, one worker, at `RUST_LOG=debug`.
/// The queue is paused until the requests are answered, so the lines come in this order.
#[tokio::test]
async fn the_structured_form_the_book_shows() {
    let (out, _guard) = capture(Format::Json, "lesson_6=debug");
    let queue = TaskQueue::start(Config {
        workers: 1,
        capacity: 4,
        paused: true,
    });
    let app = router(queue.handle());
    for body in [
        r#"{"duration_ms": 5}"#,
        r#"{"duration_ms": 5, "fail": true}"#,
    ] {
        let request = Request::post("/tasks")
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body))
            .unwrap();
        let answer = bounded(
            "POST /tasks",
            "the handler waits instead of answering",
            app.clone().oneshot(request),
        );
        assert_eq!(answer.await.unwrap().status(), StatusCode::ACCEPTED);
    }
    bounded("shutting down", "a worker is stuck", queue.shutdown()).await;
    let lines: Vec<String> = out.lines().iter().map(|l| hide_timestamp(l)).collect();
    insta::with_settings!({ omit_expression => true, prepend_module_to_snapshot => false }, {
        insta::assert_snapshot!("log-json", lines.join("\n"));
    });
}
