//! The HTTP promises, checked without a socket: each request goes straight into the router with
//! `tower::ServiceExt::oneshot`, and the answer's status, headers and JSON body are checked.

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use http_body_util::BodyExt as _;
use lesson_6::{
    BODY_LIMIT, Config, Handle, MAX_DURATION_MS, Reason, TaskQueue, TaskSpec, TaskState, router,
};
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
        print_events: false,
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
        until_state(&router, id, "done"),
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
    let metrics = get(&router, "/metrics").await.json;
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
    assert_eq!(report.count(TaskState::Done), 3, "every accepted task ran");
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
    let metrics = get(&router, "/metrics").await.json;
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
            n("queued") + n("running") + n("completed") + n("failed") + n("abandoned"),
            "{m}"
        );
        assert!(n("running") <= 3 && n("queued") <= 8, "{m}");
    };
    bounded(
        "40 POSTs and the wait for them",
        "is a worker stuck?",
        async {
            for i in 0..40 {
                let fail = i % 4 == 0;
                post(&router, &format!(r#"{{"duration_ms": 3, "fail": {fail}}}"#)).await;
                check(&get(&router, "/metrics").await.json);
            }
            loop {
                let m = get(&router, "/metrics").await.json;
                check(&m);
                if m["queued"] == 0 && m["running"] == 0 {
                    assert_eq!((&m["workers"], &m["capacity"]), (&json!(3), &json!(8)));
                    break;
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
    // get in, and it must run like the others; after, every task is refused.
    let mut before_close = 0;
    let refused = bounded(
        "waiting for the queue to close",
        "does shutdown drop the sender?",
        async {
            loop {
                tokio::task::yield_now().await;
                match handle.try_submit(TaskSpec::default()) {
                    Err(refused) => break refused,
                    Ok(_) => before_close += 1,
                }
            }
        },
    )
    .await;
    assert_eq!(refused.reason, Reason::Closed);
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
        (report.accepted(), report.count(TaskState::Done)),
        (6 + before_close, 6 + before_close),
        "every task accepted before the close ran"
    );
}

#[tokio::test]
async fn stop_now_abandons_queued_tasks_and_interrupts_the_running_one() {
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
    assert_eq!(report.ids(TaskState::Abandoned), [1, 2, 3, 4]);
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
        report.count(TaskState::Done) as u64,
        accepted,
        "every accepted task ran"
    );
    assert_eq!(report.metrics.rejected + accepted, 400);
}
