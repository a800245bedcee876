//! The tests for exercise 11. They run against your code in `exercises/11-busy-503` and against
//! the finished version in `solutions/11-busy-503`.
//!
//! No socket: each request goes straight into the router with `tower::ServiceExt::oneshot`, and
//! the answer's status, headers and JSON body are checked. Nobody takes tasks off the queue
//! unless the test does, so a queue of 3 is full after exactly 3 tasks.

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use busy_503::{AppState, Queued, TaskSpec, router};
use http_body_util::BodyExt as _;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;
use tokio::sync::mpsc;
use tower::ServiceExt as _;

/// How long one request may take. The handler has nothing to wait for, so this is generous.
const ANSWER_WITHIN: Duration = Duration::from_secs(1);

/// A queue of `capacity` and the router in front of it. Keep the receiver: dropping it would
/// close the queue.
fn app(capacity: usize) -> (Router, mpsc::Receiver<Queued>) {
    let (state, tasks) = AppState::new(capacity);
    (router(state), tasks)
}

/// An answer: status, headers, and the body parsed as JSON.
#[derive(Debug)]
struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    json: Value,
}

impl Answer {
    /// The id of a `202`, failing the test if this is not one.
    fn id(&self) -> u64 {
        assert_eq!(
            self.status,
            StatusCode::ACCEPTED,
            "expected 202 Accepted for a task the queue has room for, got {} with {}",
            self.status,
            self.json
        );
        self.json["id"].as_u64().unwrap_or_else(|| {
            panic!(
                "a 202 answer's body should be {{\"id\": N}}, got {}",
                self.json
            )
        })
    }

    /// Fails the test unless the body is `{"error": "<some words>"}`.
    fn assert_error_body(&self) {
        let message = self.json["error"].as_str().unwrap_or_else(|| {
            panic!(
                "a {} answer's body should be JSON such as {{\"error\": \"what went wrong\"}}, \
                 got {}",
                self.status, self.json
            )
        });
        assert!(
            !message.trim().is_empty(),
            "the error message of a {} is empty: say what went wrong",
            self.status
        );
    }
}

/// `POST /tasks` with `body` as JSON. Fails the test if the router takes longer than
/// [`ANSWER_WITHIN`] to answer.
async fn post(router: &Router, body: &str) -> Answer {
    let request = Request::builder()
        .method(Method::POST)
        .uri("/tasks")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_string()))
        .unwrap();
    let response = tokio::time::timeout(ANSWER_WITHIN, router.clone().oneshot(request))
        .await
        .unwrap_or_else(|_| {
            panic!(
                "POST /tasks {body} did not answer within {ANSWER_WITHIN:?}: the handler waited \
                 on a full queue: use try_send, which answers at once, instead of send().await. \
                 (A check first, such as capacity() > 0, then send().await, is not enough: two \
                 requests can both pass the check for the last place, and one then waits; \
                 try_send checks and sends in one step)"
            )
        })
        .expect("the router never fails: every error is an answer");
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let json = serde_json::from_slice(&bytes).unwrap_or_else(|_| {
        let hint = if status.is_client_error() && status != StatusCode::BAD_REQUEST {
            ": this looks like axum's own answer to a body it could not read; answer every \
             Err(JsonRejection) yourself, with 400 and {\"error\": \"...\"}"
        } else {
            ": every answer's body should be JSON, such as {\"id\": 1} or {\"error\": \"...\"}"
        };
        panic!(
            "POST /tasks {body} answered {status} with a body that is not JSON ({:?}){hint}",
            String::from_utf8_lossy(&bytes)
        )
    });
    Answer {
        status,
        headers,
        json,
    }
}

/// Fails the test unless `answer` is a full queue's `503` with `Retry-After: 1` and a JSON error.
fn assert_busy(answer: &Answer) {
    assert_ne!(
        answer.status,
        StatusCode::ACCEPTED,
        "the queue is full, yet the task was accepted ({}): is the queue bounded, and is the \
         answer 202 only when try_send returned Ok?",
        answer.json
    );
    assert_eq!(
        answer.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "a full queue should answer 503 Service Unavailable: the server is busy, which is not \
         a server error (500) or the client's fault (4xx)"
    );
    let retry = answer.headers.get(header::RETRY_AFTER).unwrap_or_else(|| {
        panic!(
            "the 503 has no Retry-After header: add (header::RETRY_AFTER, \"1\") to the answer, \
             so a client knows when to come back"
        )
    });
    assert_eq!(
        retry, "1",
        "Retry-After should be RETRY_AFTER_SECS, in whole seconds"
    );
    answer.assert_error_body();
}

#[tokio::test]
async fn a_task_is_accepted_with_202_and_its_id_and_lands_on_the_queue() {
    let (router, mut tasks) = app(4);
    let answer = post(&router, r#"{"duration_ms": 200}"#).await;
    assert_eq!(answer.id(), 1, "ids start at 1");
    assert_eq!(answer.json, json!({ "id": 1 }), "the body is just the id");
    let queued = tasks
        .try_recv()
        .expect("the 202 said the task was queued, but the queue is empty");
    assert_eq!(
        queued,
        Queued {
            id: 1,
            spec: TaskSpec { duration_ms: 200 }
        },
        "the queued task should carry the id the client was given, and its spec"
    );
}

#[tokio::test]
async fn a_full_queue_answers_503_with_retry_after_at_once() {
    let (router, tasks) = app(3);
    for expected in 1..=3 {
        let answer = post(&router, r#"{"duration_ms": 10}"#).await;
        assert_eq!(
            answer.id(),
            expected,
            "the first three tasks fit in a queue of 3"
        );
    }
    for _ in 0..5 {
        assert_busy(&post(&router, r#"{"duration_ms": 10}"#).await);
    }
    assert_eq!(
        tasks.len(),
        3,
        "a refused request must not put anything on the queue"
    );
}

#[tokio::test]
async fn once_a_task_is_taken_the_queue_accepts_again() {
    let (router, mut tasks) = app(2);
    let first = post(&router, r#"{"duration_ms": 1}"#).await.id();
    let second = post(&router, r#"{"duration_ms": 2}"#).await.id();
    assert_busy(&post(&router, r#"{"duration_ms": 3}"#).await);
    let taken = tasks.try_recv().expect("two tasks were queued");
    assert_eq!(taken.id, first, "the queue is first in, first out");
    let third = post(&router, r#"{"duration_ms": 4}"#).await.id();
    assert!(
        third > second,
        "the new task got id {third}, but ids {first} and {second} were handed out before: ids \
         must never repeat (is the id worked out from the queue's length?)"
    );
    assert_busy(&post(&router, r#"{"duration_ms": 5}"#).await);
}

#[tokio::test]
async fn ids_are_unique_increasing_and_the_ones_on_the_queue() {
    // Fill the queue, empty it, fill it again, ten times: an id worked out from the queue's
    // length (or its free room) comes round again.
    let (router, mut tasks) = app(2);
    let mut answered = Vec::new();
    for round in 0..10u64 {
        // Each task asks for a different duration, so the test knows which answer it got.
        let mut told = BTreeMap::new();
        for n in 0..2 {
            let duration_ms = 10 * round + n;
            let id = post(&router, &format!(r#"{{"duration_ms": {duration_ms}}}"#))
                .await
                .id();
            told.insert(duration_ms, id);
            answered.push(id);
        }
        assert_busy(&post(&router, r#"{"duration_ms": 999}"#).await);
        for _ in 0..2 {
            let queued = tasks.try_recv().expect("two tasks were queued this round");
            let expected = told[&queued.spec.duration_ms];
            assert_eq!(
                queued.id, expected,
                "the task on the queue carries id {}, but its client was told {expected}",
                queued.id
            );
        }
    }
    assert!(
        answered.windows(2).all(|w| w[0] < w[1]),
        "ids must be unique and increasing, got {answered:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_at_the_same_time_get_different_ids() {
    let (router, mut tasks) = app(64);
    let mut requests = tokio::task::JoinSet::new();
    for n in 0..64 {
        let router = router.clone();
        requests.spawn(async move {
            post(&router, &format!(r#"{{"duration_ms": {n}}}"#))
                .await
                .id()
        });
    }
    let mut answered = BTreeSet::new();
    while let Some(id) = requests.join_next().await {
        let id = id.expect("a request's task panicked: see the message above");
        assert!(
            answered.insert(id),
            "id {id} was handed out twice to requests running at the same time: take the next \
             id in one step, with fetch_add, not a load and a store"
        );
    }
    let mut queued = BTreeSet::new();
    while let Ok(task) = tasks.try_recv() {
        queued.insert(task.id);
    }
    assert_eq!(
        queued, answered,
        "the ids on the queue should be exactly the ids in the 202 answers"
    );
}

#[tokio::test]
async fn a_body_that_is_not_a_task_gets_400_and_queues_nothing() {
    let (router, mut tasks) = app(4);
    for (body, what) in [
        (r#"{"duration_ms": "#, "JSON cut short"),
        ("duration_ms=200", "not JSON at all"),
        (
            r#"{"duration_ms": "soon"}"#,
            "a number field holding a string",
        ),
        (r#"{"duration_ms": -5}"#, "a negative duration"),
        ("{}", "the field left out"),
        (r#"{"duraton_ms": 200}"#, "a misspelt field"),
        ("200", "a bare number instead of an object"),
    ] {
        let answer = post(&router, body).await;
        assert_eq!(
            answer.status,
            StatusCode::BAD_REQUEST,
            "{what} ({body}) should get 400 Bad Request: turn every Err(JsonRejection) into a \
             400 (axum's own answer would be 400 for some and 422 for others)"
        );
        answer.assert_error_body();
        assert!(
            tasks.try_recv().is_err(),
            "{what} ({body}) was answered 400, yet something was queued"
        );
    }
    let answer = post(&router, r#"{"duration_ms": 7}"#).await;
    assert!(answer.id() >= 1);
    assert_eq!(
        tasks.try_recv().map(|t| t.spec),
        Ok(TaskSpec { duration_ms: 7 }),
        "after the bad bodies, a good one is queued as usual"
    );
}

/// Two requests let go at the same moment on two threads (each with a runtime of its own),
/// against a queue of `capacity`. Returns both answers and the queue.
fn race(capacity: usize) -> (Vec<Answer>, mpsc::Receiver<Queued>) {
    let (router, tasks) = app(capacity);
    let start = std::sync::Barrier::new(2);
    let answers = std::thread::scope(|scope| {
        let requests: Vec<_> = (0..2)
            .map(|n| {
                let (router, start) = (router.clone(), &start);
                scope.spawn(move || {
                    let runtime = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .unwrap();
                    start.wait();
                    runtime.block_on(post(&router, &format!(r#"{{"duration_ms": {n}}}"#)))
                })
            })
            .collect();
        requests
            .into_iter()
            .map(|request| match request.join() {
                Ok(answer) => answer,
                Err(panic) => std::panic::resume_unwind(panic),
            })
            .collect()
    });
    (answers, tasks)
}

/// Runs `test` for at most 10 s.
fn bounded(what: &str, test: impl FnOnce() + Send + 'static) {
    course_support::testing::within(
        Duration::from_secs(10),
        what,
        "a request waited: answer every request at once, with try_send",
        test,
    );
}

#[test]
fn two_requests_racing_for_the_last_place_get_one_202_and_one_503() {
    // A queue with one place, and two requests at the same moment, many times over: exactly one
    // gets the place, the other is told 503 at once. A check followed by a send (capacity() >
    // 0, then send().await) lets both through the check now and then, and one of them waits.
    bounded("1000 rounds of two racing requests", || {
        for round in 0..1000 {
            let (answers, tasks) = race(1);
            let accepted = answers
                .iter()
                .filter(|a| a.status == StatusCode::ACCEPTED)
                .count();
            assert_eq!(
                accepted, 1,
                "round {round}: two requests for the one free place; {accepted} were accepted \
                 ({answers:?}). try_send takes the place or says Full in one step"
            );
            for answer in answers.iter().filter(|a| a.status != StatusCode::ACCEPTED) {
                assert_busy(answer);
            }
            assert_eq!(tasks.len(), 1, "round {round}: one task on the queue");
        }
    });
}

#[test]
fn two_requests_at_the_same_moment_never_share_an_id() {
    // Room for both, two requests at the same moment, many times over: a load of the last id
    // followed by a store lets both read the same one now and then.
    bounded("1000 rounds of two requests at once", || {
        for round in 0..1000 {
            let (answers, mut tasks) = race(2);
            let ids: BTreeSet<u64> = answers.iter().map(Answer::id).collect();
            assert_eq!(
                ids.len(),
                2,
                "round {round}: two requests at the same moment both got id {ids:?}: take the \
                 next id in one step, with fetch_add, not a load and a store"
            );
            let mut queued = BTreeSet::new();
            while let Ok(task) = tasks.try_recv() {
                queued.insert(task.id);
            }
            assert_eq!(
                queued, ids,
                "round {round}: the queue holds the ids the clients got"
            );
        }
    });
}

#[tokio::test]
async fn a_closed_queue_answers_503_without_panicking() {
    // Every receiver gone: the server is shutting down, and no worker will take a task.
    let (router, tasks) = app(4);
    drop(tasks);
    let answer = tokio::spawn(async move { post(&router, r#"{"duration_ms": 5}"#).await })
        .await
        .unwrap_or_else(|_| {
            panic!(
                "POST /tasks panicked with the queue closed (see the message above): once every \
                 receiver is gone, try_send returns Err(TrySendError::Closed(_)); answer 503 \
                 with an error body, don't unwrap"
            )
        });
    assert_eq!(
        answer.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "with the queue closed (every receiver gone) the server takes no new tasks: 503, not \
         {} ({})",
        answer.status,
        answer.json
    );
    answer.assert_error_body();
}
