//! The HTTP promises, checked without a socket: each request goes straight into the router with
//! `tower::ServiceExt::oneshot`, and the answer's status, headers and JSON body are checked.
//! `GET /metrics` is scraped as a Prometheus server would, and read back with a parser of the
//! text format.

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use http_body_util::BodyExt as _;
use lesson_6::{
    BODY_LIMIT, Config, Handle, LATENCY_BUCKETS, MAX_DURATION_MS, PROMETHEUS_CONTENT_TYPE, Reason,
    TaskQueue, TaskSpec, TaskState, router,
};
use prometheus_parse::{HistogramCount, LineInfo, Value as Prom};
use serde_json::{Value, json};
use std::time::Duration;
use tower::ServiceExt as _;

/// Every test body runs under this bound, so a request that waits (a handler blocked on a full
/// queue, a drain that never ends) fails the test instead of hanging it.
const LIMIT: Duration = Duration::from_secs(10);

async fn bounded<T>(what: &str, hint: &str, work: impl Future<Output = T>) -> T {
    tokio::time::timeout(LIMIT, work)
        .await
        .unwrap_or_else(|_| panic!("{what} did not finish within {LIMIT:?}: {hint}"))
}

/// A queue and the router in front of it.
fn app(workers: usize, capacity: usize, paused: bool) -> (TaskQueue, Router) {
    let queue = TaskQueue::start(Config {
        workers,
        capacity,
        paused,
    });
    let router = router(queue.handle());
    (queue, router)
}

/// An answer: status, headers, and the body parsed as JSON.
struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    json: Value,
}

impl Answer {
    /// The `error` message of an error answer.
    fn error(&self) -> &str {
        self.json["error"]
            .as_str()
            .unwrap_or_else(|| panic!("expected {{\"error\": \"...\"}}, got {}", self.json))
    }
}

async fn call(router: &Router, method: Method, uri: &str, body: Option<(&str, Body)>) -> Answer {
    let mut request = Request::builder().method(method).uri(uri);
    let body = match body {
        Some((content_type, body)) => {
            request = request.header(header::CONTENT_TYPE, content_type);
            body
        }
        None => Body::empty(),
    };
    let response = router
        .clone()
        .oneshot(request.body(body).unwrap())
        .await
        .expect("the router never fails: every error is an answer");
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let json = serde_json::from_slice(&bytes).unwrap_or_else(|_| {
        panic!(
            "{uri} answered {status} with a body that is not JSON: {:?}",
            String::from_utf8_lossy(&bytes)
        )
    });
    Answer {
        status,
        headers,
        json,
    }
}

async fn post(router: &Router, body: &str) -> Answer {
    let body = Body::from(body.to_string());
    call(
        router,
        Method::POST,
        "/tasks",
        Some(("application/json", body)),
    )
    .await
}

async fn get(router: &Router, uri: &str) -> Answer {
    call(router, Method::GET, uri, None).await
}

/// Asks `GET /tasks/{id}` until the task is in `state`, every 5 ms.
async fn until_state(router: &Router, id: u64, state: &str) {
    loop {
        let answer = get(router, &format!("/tasks/{id}")).await;
        if answer.json["state"] == state {
            return;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test]
async fn a_posted_task_is_accepted_with_202_its_id_and_a_location() {
    let (queue, router) = app(2, 4, false);
    bounded("two POSTs", "is a handler waiting?", async {
        let first = post(&router, r#"{"duration_ms": 5}"#).await;
        assert_eq!(first.status, StatusCode::ACCEPTED, "{}", first.json);
        assert_eq!(first.json, json!({ "id": 1 }));
        assert_eq!(first.headers[header::LOCATION], "/tasks/1");
        // Every field may be left out: `{}` is a task of the default length.
        let second = post(&router, "{}").await;
        assert_eq!(
            (second.status, second.json["id"].as_u64()),
            (StatusCode::ACCEPTED, Some(2))
        );
    })
    .await;
    let report = bounded(
        "shutdown",
        "do the workers see the queue close?",
        queue.shutdown(),
    )
    .await;
    assert_eq!(report.tasks[1].duration_ms, lesson_6::DEFAULT_DURATION_MS);
}

#[tokio::test]
async fn a_task_is_queued_until_a_worker_takes_it_then_done() {
    let (queue, router) = app(1, 4, true);
    let id = post(&router, r#"{"duration_ms": 10}"#).await.json["id"]
        .as_u64()
        .unwrap();
    let queued = get(&router, &format!("/tasks/{id}")).await;
    assert_eq!(queued.status, StatusCode::OK);
    assert_eq!(
        queued.json,
        json!({ "id": 1, "state": "queued", "duration_ms": 10, "fail": false }),
        "a queued task has no worker yet"
    );
    queue.resume();
    bounded(
        "waiting for task 1 to be done",
        "did resume() let the worker start?",
        until_state(&router, id, "completed"),
    )
    .await;
    let done = get(&router, "/tasks/1").await.json;
    assert_eq!(done["worker"], 1, "{done}");
    bounded(
        "shutdown",
        "do the workers see the queue close?",
        queue.shutdown(),
    )
    .await;
}

#[tokio::test]
async fn a_full_queue_answers_503_with_retry_after_and_never_waits() {
    // Paused workers take nothing, so the queue of 3 is full after exactly 3 tasks. A handler
    // that waited for room would wait for ever, and `bounded` would fail the test.
    let (queue, router) = app(2, 3, true);
    bounded(
        "eight POSTs to a queue of three",
        "does the handler wait for room (send) instead of answering at once (try_send)?",
        async {
            for id in 1..=3 {
                let answer = post(&router, "{}").await;
                assert_eq!(answer.json["id"], id, "{}", answer.json);
            }
            for _ in 0..5 {
                let full = post(&router, "{}").await;
                assert_eq!(full.status, StatusCode::SERVICE_UNAVAILABLE);
                assert_eq!(full.headers[header::RETRY_AFTER], "1");
                assert!(full.error().contains("queue is full"), "{}", full.error());
            }
        },
    )
    .await;
    let metrics = get(&router, "/metrics.json").await.json;
    assert_eq!(
        (
            &metrics["accepted"],
            &metrics["rejected"],
            &metrics["queued"]
        ),
        (&json!(3), &json!(5), &json!(3)),
        "{metrics}"
    );
    let report = bounded(
        "shutdown",
        "a paused queue must still drain",
        queue.shutdown(),
    )
    .await;
    assert_eq!(
        report.count(TaskState::Completed),
        3,
        "every accepted task ran"
    );
}

#[tokio::test]
async fn unknown_task_ids_are_404_and_ids_that_are_not_numbers_are_400() {
    let (queue, router) = app(1, 4, true);
    let none_yet = get(&router, "/tasks/1").await;
    assert_eq!(none_yet.status, StatusCode::NOT_FOUND);
    assert!(none_yet.error().contains("no task has been accepted yet"));
    post(&router, "{}").await;
    for uri in ["/tasks/0", "/tasks/2", "/tasks/18446744073709551615"] {
        let answer = get(&router, uri).await;
        assert_eq!(
            answer.status,
            StatusCode::NOT_FOUND,
            "{uri}: {}",
            answer.json
        );
        assert!(
            answer.error().contains("from 1 to 1"),
            "{uri}: {}",
            answer.error()
        );
    }
    for uri in [
        "/tasks/abc",
        "/tasks/-1",
        "/tasks/1.5",
        "/tasks/99999999999999999999999",
    ] {
        let answer = get(&router, uri).await;
        assert_eq!(
            answer.status,
            StatusCode::BAD_REQUEST,
            "{uri}: {}",
            answer.json
        );
        assert!(
            answer.error().contains("is not a task id"),
            "{uri}: {}",
            answer.error()
        );
    }
    bounded(
        "shutdown",
        "a paused queue must still drain",
        queue.shutdown(),
    )
    .await;
}

#[tokio::test]
async fn bad_bodies_are_400_with_a_message_that_names_the_problem() {
    let (queue, router) = app(1, 4, true);
    let cases = [
        (r#"{"duration_ms": 200"#, "not valid JSON"),
        ("", "not valid JSON"),
        ("duration_ms=200", "not valid JSON"),
        (r#"{"duration_ms": "fast"}"#, "invalid type"),
        (r#"{"duration_ms": -5}"#, "invalid value"),
        (r#"{"duration_ms": 2.5}"#, "invalid type"),
        (r#"{"duraton_ms": 200}"#, "unknown field `duraton_ms`"),
        (r#"{"fail": "yes"}"#, "invalid type"),
        ("200", "invalid type"),
        (r#"{"duration_ms": 60001}"#, "at most 60000 ms"),
        (
            r#"{"duration_ms": 18446744073709551615}"#,
            "at most 60000 ms",
        ),
    ];
    for (body, says) in cases {
        let answer = post(&router, body).await;
        assert_eq!(
            answer.status,
            StatusCode::BAD_REQUEST,
            "{body}: {}",
            answer.json
        );
        assert!(answer.error().contains(says), "{body}: {}", answer.error());
    }
    let longest = post(&router, &format!(r#"{{"duration_ms": {MAX_DURATION_MS}}}"#)).await;
    assert_eq!(
        longest.status,
        StatusCode::ACCEPTED,
        "one minute is allowed"
    );
    let metrics = get(&router, "/metrics.json").await.json;
    assert_eq!(
        (&metrics["accepted"], &metrics["rejected"]),
        (&json!(1), &json!(0)),
        "a bad request is neither accepted nor counted as turned away: {metrics}"
    );
    // The one accepted task takes a minute: stop now rather than wait for it.
    queue.stop_now_token().cancel();
    bounded(
        "stop-now",
        "does stop-now interrupt the work?",
        queue.shutdown(),
    )
    .await;
}

#[tokio::test]
async fn a_body_not_declared_as_json_is_415_with_a_hint() {
    let (queue, router) = app(1, 4, true);
    for content_type in [
        None,
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
    ] {
        let body = Body::from(r#"{"duration_ms": 5}"#);
        let answer = match content_type {
            Some(ct) => call(&router, Method::POST, "/tasks", Some((ct, body))).await,
            None => {
                let request = Request::post("/tasks").body(body).unwrap();
                let response = router.clone().oneshot(request).await.unwrap();
                let status = response.status();
                let bytes = response.into_body().collect().await.unwrap().to_bytes();
                Answer {
                    status,
                    headers: HeaderMap::new(),
                    json: serde_json::from_slice(&bytes).unwrap(),
                }
            }
        };
        assert_eq!(
            answer.status,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "{content_type:?}"
        );
        assert!(
            answer.error().contains("Content-Type: application/json"),
            "{}",
            answer.error()
        );
    }
    bounded("shutdown", "nothing was queued", queue.shutdown()).await;
}

#[tokio::test]
async fn an_oversized_body_is_413_and_one_just_within_the_limit_is_read() {
    let (queue, router) = app(1, 4, true);
    // JSON allows any amount of white space, so padding makes a valid task of any size.
    let task = r#"{"duration_ms": 1}"#;
    let exactly = format!("{task}{}", " ".repeat(BODY_LIMIT - task.len()));
    assert_eq!(post(&router, &exactly).await.status, StatusCode::ACCEPTED);
    let one_more = format!("{exactly} ");
    let answer = post(&router, &one_more).await;
    assert_eq!(
        answer.status,
        StatusCode::PAYLOAD_TOO_LARGE,
        "{}",
        answer.json
    );
    assert!(
        answer.error().contains("larger than 16384 bytes"),
        "{}",
        answer.error()
    );
    let huge = Body::from(vec![b' '; 10 * 1024 * 1024]);
    let answer = call(
        &router,
        Method::POST,
        "/tasks",
        Some(("application/json", huge)),
    )
    .await;
    assert_eq!(answer.status, StatusCode::PAYLOAD_TOO_LARGE);
    bounded(
        "shutdown",
        "a paused queue must still drain",
        queue.shutdown(),
    )
    .await;
}

#[tokio::test]
async fn unknown_routes_are_404_and_wrong_methods_405_with_json_errors() {
    let (queue, router) = app(1, 4, true);
    for uri in ["/", "/task/1", "/tasks/1/cancel", "/metrics/x"] {
        let answer = get(&router, uri).await;
        assert_eq!(answer.status, StatusCode::NOT_FOUND, "{uri}");
        assert!(
            answer.error().contains("the routes are"),
            "{uri}: {}",
            answer.error()
        );
    }
    for (method, uri, allow) in [
        (Method::DELETE, "/tasks/1", "GET,HEAD"),
        (Method::POST, "/tasks/1", "GET,HEAD"),
        (Method::GET, "/tasks", "POST"),
        (Method::PUT, "/metrics", "GET,HEAD"),
        (Method::DELETE, "/metrics.json", "GET,HEAD"),
    ] {
        let answer = call(&router, method.clone(), uri, None).await;
        assert_eq!(
            answer.status,
            StatusCode::METHOD_NOT_ALLOWED,
            "{method} {uri}"
        );
        assert_eq!(answer.headers[header::ALLOW], allow, "{method} {uri}");
        assert!(
            answer.error().contains("does not take"),
            "{}",
            answer.error()
        );
    }
    bounded("shutdown", "nothing was queued", queue.shutdown()).await;
}

#[tokio::test]
async fn metrics_add_up_while_tasks_run_and_after() {
    let (queue, router) = app(3, 8, false);
    let check = |m: &Value| {
        let n = |k: &str| m[k].as_u64().unwrap();
        assert_eq!(
            n("accepted"),
            n("queued") + n("running") + n("completed") + n("failed") + n("cancelled"),
            "{m}"
        );
        assert!(n("running") <= 3 && n("queued") <= 8, "{m}");
    };
    // Tasks asked to fail, and accepted: each must end failed, not completed.
    let failing = bounded(
        "40 POSTs and the wait for them",
        "is a worker stuck?",
        async {
            let mut failing = 0;
            for i in 0..40 {
                let fail = i % 4 == 0;
                let answer =
                    post(&router, &format!(r#"{{"duration_ms": 3, "fail": {fail}}}"#)).await;
                if fail && answer.status == StatusCode::ACCEPTED {
                    failing += 1;
                }
                check(&get(&router, "/metrics.json").await.json);
                // Each scrape is one moment too: its counts add up the same way.
                scrape(&router).await.adds_up();
            }
            loop {
                let m = get(&router, "/metrics.json").await.json;
                check(&m);
                scrape(&router).await.adds_up();
                if m["queued"] == 0 && m["running"] == 0 {
                    assert_eq!((&m["workers"], &m["capacity"]), (&json!(3), &json!(8)));
                    break failing;
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        },
    )
    .await;
    let report = bounded(
        "shutdown",
        "do the workers see the queue close?",
        queue.shutdown(),
    )
    .await;
    let m = report.metrics;
    assert_eq!(
        m.accepted + m.rejected,
        40,
        "every POST was either accepted or turned away"
    );
    assert_eq!(m.completed + m.failed, m.accepted, "{m:?}");
    assert!(
        failing > 0,
        "some failing tasks should have been accepted: {m:?}"
    );
    assert_eq!(
        m.failed, failing,
        "every accepted task that fails should be counted failed, and no other: {m:?}"
    );
}

#[tokio::test]
async fn once_shutdown_begins_new_tasks_get_503_and_every_accepted_task_still_runs() {
    let (queue, router) = app(2, 8, true);
    let handle: Handle = queue.handle();
    for _ in 0..6 {
        post(&router, r#"{"duration_ms": 20}"#).await;
    }
    let draining = tokio::spawn(queue.shutdown());
    // The spawned shutdown closes the queue the first time it runs. Until then, a task may still
    // get in, and it must run like the others; after, every task is rejected.
    let mut before_close = 0;
    let rejected = bounded(
        "waiting for the queue to close",
        "does shutdown drop the sender?",
        async {
            loop {
                tokio::task::yield_now().await;
                match handle.try_submit(TaskSpec::default()) {
                    Err(rejected) => break rejected,
                    Ok(_) => before_close += 1,
                }
            }
        },
    )
    .await;
    assert_eq!(rejected.reason, Reason::Closed);
    assert_eq!(rejected.to_string(), "task refused: the queue is closed");
    assert_eq!(
        rejected.into_inner(),
        TaskSpec::default(),
        "a rejected task comes back untouched"
    );
    let answer = post(&router, "{}").await;
    assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        answer.error().contains("shutting down"),
        "{}",
        answer.error()
    );
    let report = bounded(
        "the drain",
        "do paused workers start on shutdown?",
        draining,
    )
    .await
    .unwrap();
    assert_eq!(
        (report.accepted(), report.count(TaskState::Completed)),
        (6 + before_close, 6 + before_close),
        "every task accepted before the close ran"
    );
}

#[tokio::test]
async fn stop_now_cancels_queued_tasks_and_interrupts_the_running_one() {
    let (queue, router) = app(1, 4, false);
    post(&router, r#"{"duration_ms": 60000}"#).await;
    bounded(
        "waiting for task 1 to start",
        "is the worker taking tasks?",
        until_state(&router, 1, "running"),
    )
    .await;
    for _ in 0..3 {
        post(&router, "{}").await;
    }
    queue.stop_now_token().cancel();
    // Without the interruption, this would wait a minute for task 1.
    let report = bounded(
        "stop-now",
        "does the work select! on the stop-now token?",
        queue.shutdown(),
    )
    .await;
    assert_eq!(report.ids(TaskState::Cancelled), [1, 2, 3, 4]);
    assert!(
        report.tasks[0].started.is_some(),
        "task 1 was interrupted while running"
    );
    assert!(
        report.tasks[1..].iter().all(|t| t.started.is_none()),
        "tasks 2 to 4 never started"
    );
    assert_eq!(report.lost(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_accepted_task_runs_exactly_once_with_many_submitters() {
    let (queue, router) = app(2, 4, false);
    let mut clients = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let router = router.clone();
        clients.spawn(async move {
            let mut ids = Vec::new();
            for _ in 0..50 {
                let answer = post(&router, r#"{"duration_ms": 1}"#).await;
                if answer.status == StatusCode::ACCEPTED {
                    ids.push(answer.json["id"].as_u64().unwrap());
                }
            }
            ids
        });
    }
    let mut ids: Vec<u64> = bounded("400 POSTs from 8 clients", "is a handler waiting?", async {
        let mut all = Vec::new();
        while let Some(ids) = clients.join_next().await {
            all.extend(ids.unwrap());
        }
        all
    })
    .await;
    ids.sort_unstable();
    let accepted = ids.len() as u64;
    assert_eq!(
        ids,
        (1..=accepted).collect::<Vec<_>>(),
        "ids are 1..=n, each given once"
    );
    let report = bounded(
        "shutdown",
        "do the workers see the queue close?",
        queue.shutdown(),
    )
    .await;
    assert_eq!(
        report.count(TaskState::Completed) as u64,
        accepted,
        "every accepted task ran"
    );
    assert_eq!(report.metrics.rejected + accepted, 400);
}

// ANCHOR: scrape
/// The `Accept` header a Prometheus server sends when it scrapes: OpenMetrics first, then the
/// text format, then anything.
const PROMETHEUS_ACCEPT: &str = "application/openmetrics-text;version=1.0.0,\
     application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";

/// One `GET /metrics` as Prometheus sends it, its body read by prometheus-parse.
struct Scrape {
    text: String,
    parsed: prometheus_parse::Scrape,
}

async fn scrape(router: &Router) -> Scrape {
    let request = Request::get("/metrics")
        .header(header::ACCEPT, PROMETHEUS_ACCEPT)
        .body(Body::empty())
        .unwrap();
    let response = router
        .clone()
        .oneshot(request)
        .await
        .expect("the router never fails: every error is an answer");
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()[header::CONTENT_TYPE],
        "text/plain; version=0.0.4; charset=utf-8",
        "Prometheus picks its parser by the content type"
    );
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let text = String::from_utf8(bytes.to_vec()).expect("the text format is UTF-8");
    // prometheus-parse passes over a line it cannot read; here every line must be one it reads.
    for line in text.lines() {
        assert!(
            !matches!(LineInfo::parse(line), LineInfo::Ignored | LineInfo::Empty),
            "a line the parser cannot read: {line:?} in\n{text}"
        );
    }
    let parsed = prometheus_parse::Scrape::parse(text.lines().map(|l| Ok(l.to_string())))
        .unwrap_or_else(|e| panic!("not the Prometheus text format ({e}):\n{text}"));
    Scrape { text, parsed }
}
// ANCHOR_END: scrape

/// The JSON field and the Prometheus counter or gauge that must say the same.
const SAME_COUNTS: [(&str, &str); 9] = [
    ("accepted", "taskqueue_tasks_accepted_total"),
    ("rejected", "taskqueue_tasks_rejected_total"),
    ("completed", "taskqueue_tasks_completed_total"),
    ("failed", "taskqueue_tasks_failed_total"),
    ("cancelled", "taskqueue_tasks_cancelled_total"),
    ("queued", "taskqueue_tasks_queued"),
    ("running", "taskqueue_tasks_running"),
    ("workers", "taskqueue_workers"),
    ("capacity", "taskqueue_capacity"),
];

/// The two latency histograms, in seconds.
const HISTOGRAMS: [&str; 2] = ["taskqueue_task_wait_seconds", "taskqueue_task_run_seconds"];

impl Scrape {
    fn sample(&self, name: &str) -> &prometheus_parse::Sample {
        let mut found = self.parsed.samples.iter().filter(|s| s.metric == name);
        let sample = found
            .next()
            .unwrap_or_else(|| panic!("no {name} in the scrape:\n{}", self.text));
        assert!(found.next().is_none(), "{name} twice in\n{}", self.text);
        assert!(
            self.parsed.docs.contains_key(name),
            "{name} has no # HELP line:\n{}",
            self.text
        );
        sample
    }

    /// The value of a counter or a gauge, which must be declared as the kind its name says
    /// (`_total` for a counter) by its `# TYPE` line.
    fn count(&self, name: &str) -> u64 {
        let value = match (&self.sample(name).value, name.ends_with("_total")) {
            (Prom::Counter(v), true) | (Prom::Gauge(v), false) => *v,
            (other, _) => panic!(
                "{name} is {other:?}: its # TYPE line is missing or says the wrong kind:\n{}",
                self.text
            ),
        };
        assert!(value >= 0.0 && value.fract() == 0.0, "{name} is {value}");
        value as u64
    }

    /// A histogram's buckets (cumulative, as the format has them) and its `_count`.
    fn histogram(&self, name: &str) -> (Vec<HistogramCount>, u64) {
        let Prom::Histogram(buckets) = &self.sample(name).value else {
            panic!("{name} is not declared a histogram:\n{}", self.text);
        };
        let count = match self.sample_without_help(&format!("{name}_count")) {
            Prom::Untyped(v) => *v as u64,
            other => panic!("{name}_count is {other:?}"),
        };
        let bounds: Vec<f64> = buckets.iter().map(|b| b.less_than).collect();
        let mut expected = LATENCY_BUCKETS.to_vec();
        expected.push(f64::INFINITY);
        assert_eq!(bounds, expected, "{name}'s buckets");
        assert!(
            buckets.windows(2).all(|w| w[0].count <= w[1].count),
            "{name}'s buckets must not decrease (each counts everything up to its bound):\n{}",
            self.text
        );
        assert_eq!(
            buckets.last().unwrap().count as u64,
            count,
            "{name}: the +Inf bucket holds every observation"
        );
        (buckets.clone(), count)
    }

    /// `_count` and `_sum` belong to their histogram's `# HELP`, and have none of their own.
    fn sample_without_help(&self, name: &str) -> &Prom {
        let sample = self.parsed.samples.iter().find(|s| s.metric == name);
        &sample
            .unwrap_or_else(|| panic!("no {name} in\n{}", self.text))
            .value
    }

    /// Every counter and gauge equals the JSON's field of the same meaning.
    fn agrees_with(&self, json: &Value) {
        for (field, name) in SAME_COUNTS {
            assert_eq!(
                Some(self.count(name)),
                json[field].as_u64(),
                "{name} against the JSON's {field}: {json}\n{}",
                self.text
            );
        }
    }

    /// The counts add up as the JSON's do, and the run histogram counts every task whose work
    /// ended (done or failed).
    fn adds_up(&self) {
        let n = |name: &str| self.count(&format!("taskqueue_tasks_{name}"));
        assert_eq!(
            n("accepted_total"),
            n("queued")
                + n("running")
                + n("completed_total")
                + n("failed_total")
                + n("cancelled_total"),
            "{}",
            self.text
        );
        let (_, ran) = self.histogram("taskqueue_task_run_seconds");
        assert_eq!(
            ran,
            n("completed_total") + n("failed_total"),
            "{}",
            self.text
        );
        let (_, waited) = self.histogram("taskqueue_task_wait_seconds");
        assert!(
            waited >= ran,
            "every task that ran waited first:\n{}",
            self.text
        );
    }
}

/// The run the book shows. The workers start paused and the clock is tokio's paused clock, so
/// every count and every duration is exact: two workers, four tasks of 40, 90, 120 and 200 ms
/// (the 90 ms one fails), three more turned away because the queue is full and one because it is
/// shutting down.
#[tokio::test(start_paused = true)]
async fn metrics_is_a_prometheus_scrape_that_agrees_with_the_json() {
    let (queue, router) = app(2, 4, true);
    bounded("seven POSTs", "is a handler waiting for room?", async {
        for (ms, fail) in [(40, false), (90, true), (120, false), (200, false)] {
            let body = format!(r#"{{"duration_ms": {ms}, "fail": {fail}}}"#);
            assert_eq!(post(&router, &body).await.status, StatusCode::ACCEPTED);
        }
        for _ in 0..3 {
            let full = post(&router, "{}").await;
            assert_eq!(full.status, StatusCode::SERVICE_UNAVAILABLE);
        }
    })
    .await;
    // Nothing has started: all four wait in the queue, and no histogram has an observation.
    let waiting = scrape(&router).await;
    waiting.agrees_with(&get(&router, "/metrics.json").await.json);
    waiting.adds_up();
    assert_eq!(waiting.count("taskqueue_tasks_queued"), 4);
    for name in HISTOGRAMS {
        assert_eq!(waiting.histogram(name).1, 0, "{name}");
    }

    queue.resume();
    // The gate: shutdown returns once every accepted task has ended. The router still answers.
    let report = bounded(
        "shutdown",
        "do the resumed workers take the four tasks, and end them?",
        queue.shutdown(),
    )
    .await;
    let closed = post(&router, "{}").await;
    assert_eq!(
        closed.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        closed.json
    );

    let json = get(&router, "/metrics.json").await.json;
    assert_eq!(
        json,
        json!({
            "accepted": 4, "rejected": 4, "queued": 0, "running": 0,
            "completed": 3, "failed": 1, "cancelled": 0, "workers": 2, "capacity": 4
        })
    );
    let after = scrape(&router).await;
    after.agrees_with(&json);
    after.adds_up();
    let finished = (report.count(TaskState::Completed) + report.count(TaskState::Failed)) as u64;
    for name in HISTOGRAMS {
        assert_eq!(
            after.histogram(name).1,
            finished,
            "{name}_count: one observation per finished task"
        );
    }
    // On the paused clock the durations are exact. Task 1 ran 40 ms, task 2 90 ms; tasks 3 and
    // 4 waited for them (40 and 90 ms) and then ran 120 and 200 ms.
    let (ran, _) = after.histogram("taskqueue_task_run_seconds");
    let le = |bound: f64| ran.iter().find(|b| b.less_than == bound).unwrap().count;
    assert_eq!(
        (le(0.025), le(0.05), le(0.1), le(0.15), le(0.25)),
        (0.0, 1.0, 2.0, 3.0, 4.0),
        "{}",
        after.text
    );
    insta::with_settings!({ omit_expression => true, prepend_module_to_snapshot => false }, {
        insta::assert_snapshot!("scrape", after.text);
    });
}

#[tokio::test]
async fn stop_now_counts_cancelled_tasks_and_leaves_interrupted_ones_out_of_the_run_histogram() {
    let (queue, router) = app(1, 4, false);
    post(&router, r#"{"duration_ms": 60000}"#).await;
    bounded(
        "waiting for task 1 to start",
        "is the worker taking tasks?",
        until_state(&router, 1, "running"),
    )
    .await;
    for _ in 0..2 {
        post(&router, "{}").await;
    }
    let running = scrape(&router).await;
    running.agrees_with(&get(&router, "/metrics.json").await.json);
    assert_eq!(
        (
            running.count("taskqueue_tasks_running"),
            running.count("taskqueue_tasks_queued")
        ),
        (1, 2)
    );
    queue.stop_now_token().cancel();
    bounded(
        "stop-now",
        "does the work select! on the stop-now token?",
        queue.shutdown(),
    )
    .await;
    let after = scrape(&router).await;
    after.agrees_with(&get(&router, "/metrics.json").await.json);
    after.adds_up();
    assert_eq!(after.count("taskqueue_tasks_cancelled_total"), 3);
    assert_eq!(
        after.histogram("taskqueue_task_wait_seconds").1,
        1,
        "only task 1 left the queue for a worker"
    );
    assert_eq!(
        after.histogram("taskqueue_task_run_seconds").1,
        0,
        "task 1 was interrupted: its work never ended, so it has no run time"
    );
}

#[tokio::test]
async fn metrics_answers_json_to_a_client_that_asks_for_it() {
    let (queue, router) = app(1, 4, true);
    post(&router, "{}").await;
    let expected = get(&router, "/metrics.json").await;
    assert_eq!(expected.headers[header::CONTENT_TYPE], "application/json");
    for (accept, json) in [
        (None, false),
        (Some("application/json"), true),
        (Some("Application/JSON"), true),
        (Some("application/json, text/plain, */*"), true),
        (Some("text/plain;q=0.5, application/json"), true),
        (Some("application/json;q=0.9, text/plain"), false),
        (Some("application/json;q=0"), false),
        (Some("*/*"), false),
        (Some("text/plain"), false),
        (Some(PROMETHEUS_ACCEPT), false),
        (
            Some("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"),
            false,
        ),
    ] {
        let mut request = Request::get("/metrics");
        if let Some(accept) = accept {
            request = request.header(header::ACCEPT, accept);
        }
        let response = router
            .clone()
            .oneshot(request.body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{accept:?}");
        assert_eq!(
            response.headers()[header::VARY],
            "accept",
            "{accept:?}: a cache must know the answer depends on Accept"
        );
        let content_type = response.headers()[header::CONTENT_TYPE].clone();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        if json {
            assert_eq!(content_type, "application/json", "{accept:?}");
            let body: Value = serde_json::from_slice(&bytes).unwrap();
            assert_eq!(
                body, expected.json,
                "{accept:?}: the same JSON as /metrics.json"
            );
        } else {
            assert_eq!(content_type, PROMETHEUS_CONTENT_TYPE, "{accept:?}");
            let text = String::from_utf8_lossy(&bytes);
            assert!(
                text.contains("\ntaskqueue_tasks_accepted_total 1\n"),
                "{accept:?}: {text}"
            );
        }
    }
    bounded(
        "shutdown",
        "a paused queue must still drain",
        queue.shutdown(),
    )
    .await;
}
