//! The tests for exercise 12. They run against your code in `exercises/12-graceful-stop` and
//! against the finished version in `solutions/12-graceful-stop`.
//!
//! No socket: each request goes straight into the router with `tower::ServiceExt::oneshot`.
//! Most tests run on tokio's paused clock (`start_paused = true`). Time then moves only when
//! every task is waiting on a timer, which has two uses here: a task's 1000 ms of work takes no
//! real time, and a `stop` that waits for ever makes the test's own time limit fire at once,
//! instead of after a minute. The tests wait for the server's counters (a `watch` channel),
//! never for a sleep.
//!
//! Each test runs on a runtime of its own, on a thread of its own, under a real-time bound: a
//! `stop` that keeps its runtime busy (a loop that checks the counters and yields) would stop
//! the paused clock for ever, and fails with a message instead of hanging the test run.

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use graceful_stop::{Progress, Server, Summary};
use http_body_util::BodyExt as _;
use serde_json::Value;
use std::future::Future;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio::time::{Instant, timeout};
use tower::ServiceExt as _;

/// How long `stop` may take on the paused clock. The longest test has an hour of work in it, so
/// only a `stop` that waits for ever gets here, and on the paused clock it gets here at once.
const LIMIT: Duration = Duration::from_secs(4 * 3600);

/// How long one request may take. The handler never waits, so this is generous.
const ANSWER_WITHIN: Duration = Duration::from_secs(5);

/// How long a whole test may take in real time.
const REAL: Duration = Duration::from_secs(8);
const BUSY: &str = "the runtime never got control back: a stop that loops, checking the \
                    counters or the workers and yielding, keeps it busy, so tokio's paused clock \
                    never moves (and the workers' sleeps never end). Close the queue with \
                    drop, then await the workers with join_next: that sleeps until they end";

/// Which runtime a test runs on.
enum Clock {
    /// One thread, and tokio's paused clock (`start_paused`).
    Paused,
    /// Two threads, the real clock.
    TwoThreads,
}

/// Runs `f` on a thread of its own, and fails the test, naming `what` and [`BUSY`], if it has
/// not finished after `limit` of real time.
fn within(limit: Duration, what: &str, f: impl FnOnce() + Send + 'static) {
    let (done, finished) = std::sync::mpsc::channel();
    let handle = std::thread::spawn(move || {
        f();
        let _ = done.send(());
    });
    match finished.recv_timeout(limit) {
        Ok(()) | Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
            if let Err(panic) = handle.join() {
                std::panic::resume_unwind(panic);
            }
        }
        Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
            panic!("{what} did not finish within {limit:?}: {BUSY}")
        }
    }
}

/// Runs the future `test` makes on a runtime of its own, on a thread of its own, and fails the
/// test if that takes more than [`REAL`] of real time.
fn run<Fut>(clock: Clock, what: &str, test: impl FnOnce() -> Fut + Send + 'static)
where
    Fut: Future<Output = ()>,
{
    within(REAL, what, move || {
        let mut builder = match clock {
            Clock::TwoThreads => {
                let mut builder = tokio::runtime::Builder::new_multi_thread();
                builder.worker_threads(2);
                builder
            }
            Clock::Paused => tokio::runtime::Builder::new_current_thread(),
        };
        builder
            .enable_all()
            .start_paused(matches!(clock, Clock::Paused));
        builder.build().expect("a runtime").block_on(test());
    });
}

/// What a `stop` that never returns is most likely doing.
const HANG: &str = "the workers never see the queue close: drop every Sender. The server holds \
                    the only one (its `queue` field; the handlers hold WeakSenders, which do \
                    not keep the queue open), and while it lives a worker waiting on the empty \
                    queue waits for ever, and so does a stop that awaits that worker";

/// Fails the test with `what` and `hint` if `work` does not finish within `limit`.
async fn bounded<T>(limit: Duration, what: &str, hint: &str, work: impl Future<Output = T>) -> T {
    timeout(limit, work)
        .await
        .unwrap_or_else(|_| panic!("{what} did not finish within {limit:?}: {hint}"))
}

/// `server.stop()`, failing the test with the likely cause if it does not return within `limit`.
async fn stop(server: Server, limit: Duration) -> Summary {
    bounded(limit, "stop", HANG, server.stop()).await
}

/// Waits until the server's counters satisfy `until`, failing the test after [`LIMIT`].
async fn wait_for(
    progress: &mut watch::Receiver<Progress>,
    what: &str,
    until: impl FnMut(&Progress) -> bool,
) {
    bounded(
        LIMIT,
        what,
        "the workers should take tasks as soon as they are queued; this part of the server is \
         written, so look at what your code changed",
        progress.wait_for(until),
    )
    .await
    .expect("the router holds the counters' sender, so they stay readable");
}

/// The body of a task of `duration_ms`.
fn task(duration_ms: u64) -> String {
    format!(r#"{{"duration_ms": {duration_ms}}}"#)
}

/// An answer: its status and its body, parsed as JSON.
#[derive(Debug)]
struct Answer {
    status: StatusCode,
    json: Value,
}

impl Answer {
    /// The id of a `202`, failing the test if this is not one.
    fn id(&self) -> u64 {
        assert_eq!(
            self.status,
            StatusCode::ACCEPTED,
            "expected 202 Accepted: the server is running and its queue has room ({})",
            self.json
        );
        self.json["id"]
            .as_u64()
            .expect("a 202 answer's body is {\"id\": N}")
    }

    /// Whether this is the `503` of a server that has stopped accepting (not of a full queue).
    fn is_stopping(&self) -> bool {
        self.status == StatusCode::SERVICE_UNAVAILABLE
            && self.json["error"]
                .as_str()
                .is_some_and(|e| e.contains("stopping"))
    }
}

/// `POST /tasks` with `body`. Fails the test if the router takes longer than [`ANSWER_WITHIN`].
async fn post(router: &Router, body: &str) -> Answer {
    let request = Request::builder()
        .method(Method::POST)
        .uri("/tasks")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_string()))
        .unwrap();
    let response = timeout(ANSWER_WITHIN, router.clone().oneshot(request))
        .await
        .unwrap_or_else(|_| {
            panic!("POST /tasks {body} did not answer within {ANSWER_WITHIN:?}: the handler never waits, so look at what your code changed")
        })
        .expect("the router never fails: every error is an answer");
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let json = serde_json::from_slice(&bytes).expect("every answer's body is JSON");
    Answer { status, json }
}

/// Fails the test unless `answer` is the `503` of a server that has stopped accepting, where
/// `when` says when it was sent.
fn assert_refused(answer: &Answer, when: &str) {
    if answer.status == StatusCode::ACCEPTED {
        panic!(
            "a POST {when} was accepted (202, {}): a stopping server takes no new tasks. Close \
             the queue first, before waiting for anything: once the server's Sender is gone, \
             the handler cannot queue a task and answers 503",
            answer.json
        );
    }
    assert!(
        answer.is_stopping(),
        "a POST {when} should get the 503 of a stopping server, got {} {}",
        answer.status,
        answer.json
    );
}

/// Checks that nothing accepted was lost: `summary` is what `stop` returned, `at_return` the
/// server's counters read just after it returned, and `accepted` the ids the clients were given
/// with `202`. `progress` and `limit` are for waiting to see whether unfinished tasks ever finish.
async fn assert_nothing_lost(
    summary: Summary,
    at_return: Progress,
    accepted: &[u64],
    progress: &mut watch::Receiver<Progress>,
    limit: Duration,
) {
    let n = accepted.len() as u64;
    assert_eq!(
        at_return.accepted, n,
        "the server counted {} accepted tasks, but the clients got {n} × 202: the handler and \
         the counters are written for you, so look at what your code changed",
        at_return.accepted
    );
    if at_return.completed < n {
        let done = at_return.completed;
        // Did stop only return too early, or were the tasks dropped? Wait and see.
        match timeout(limit, progress.wait_for(|p| p.completed >= n)).await {
            Ok(Ok(_)) => panic!(
                "stop returned when {done} of the {n} accepted tasks were done; the rest finished \
                 later: stop must await every worker (join_next until it says None) before it \
                 returns, however long their tasks take (no time limit of its own)"
            ),
            _ => panic!(
                "stop returned when {done} of the {n} accepted tasks were done, and the rest \
                 never finished: the workers were aborted, and the tasks they held or had yet to \
                 take were dropped. JoinSet's abort_all and shutdown, and dropping the JoinSet, \
                 all abort; close the queue and let the workers empty it instead. (A time limit on \
                 stop's wait does the same: when it gives up, stop returns, and the JoinSet it \
                 drops aborts the workers)"
            ),
        }
    }
    assert_eq!(
        summary,
        Summary {
            accepted: n,
            completed: n
        },
        "the server accepted {n} tasks and its workers completed {}, but stop's Summary says \
         otherwise: read the counters after the last worker has ended, not before",
        at_return.completed
    );
    let mut finished = at_return.finished;
    finished.sort_unstable();
    let mut expected = accepted.to_vec();
    expected.sort_unstable();
    assert_eq!(
        finished, expected,
        "every accepted id should have completed exactly once (left: the ids that completed)"
    );
}

#[test]
fn every_accepted_task_completes_before_stop_returns() {
    run(
        Clock::Paused,
        "every_accepted_task_completes_before_stop_returns",
        || async {
            let server = Server::start(2, 4);
            let router = server.router();
            let mut progress = server.progress();
            let mut accepted = Vec::new();
            // Two bursts of six at a queue of four: some tasks are turned away as the queue fills, and
            // when stop is called, tasks are both running and queued.
            for burst in 0..2u64 {
                for n in 0..6 {
                    let answer = post(&router, &task(100 + 70 * ((burst * 6 + n) % 5))).await;
                    if answer.status == StatusCode::ACCEPTED {
                        accepted.push(answer.id());
                    }
                }
                let done = 2 * (burst + 1);
                wait_for(&mut progress, "the first tasks", |p| p.completed >= done).await;
            }
            assert!(
                progress.borrow().completed < accepted.len() as u64,
                "when stop is called, some accepted tasks should be unfinished"
            );
            let summary = stop(server, LIMIT).await;
            let at_return = progress.borrow().clone();
            assert_nothing_lost(summary, at_return, &accepted, &mut progress, LIMIT).await;
        },
    )
}

#[test]
fn stop_finishes_the_running_task_and_the_queued_ones() {
    run(
        Clock::Paused,
        "stop_finishes_the_running_task_and_the_queued_ones",
        || async {
            // One worker: task 1 is running when stop is called, tasks 2 and 3 wait in the queue.
            let server = Server::start(1, 4);
            let router = server.router();
            let mut progress = server.progress();
            let mut accepted = Vec::new();
            for _ in 0..3 {
                accepted.push(post(&router, &task(1000)).await.id());
            }
            wait_for(&mut progress, "task 1", |p| p.started >= 1).await;
            let called = Instant::now();
            let summary = stop(server, LIMIT).await;
            let took = called.elapsed();
            let at_return = progress.borrow().clone();
            assert_nothing_lost(summary, at_return, &accepted, &mut progress, LIMIT).await;
            assert_eq!(
                progress.borrow().finished,
                [1, 2, 3],
                "one worker takes the tasks in the order they were queued"
            );
            assert!(
                took >= Duration::from_millis(3000),
                "stop returned after {took:?}, but the running task had 1000 ms of work left, and two \
                 tasks of 1000 ms waited behind it for the one worker: stop must return only after they \
                 are done"
            );
        },
    )
}

#[test]
fn a_post_during_or_after_stop_gets_503_at_once() {
    run(
        Clock::Paused,
        "a_post_during_or_after_stop_gets_503_at_once",
        || async {
            let server = Server::start(1, 8);
            let router = server.router();
            let mut progress = server.progress();
            let id = post(&router, &task(1000)).await.id();
            wait_for(&mut progress, "task 1", |p| p.started >= 1).await;

            let stopping = server.stop();
            tokio::pin!(stopping);
            // Run stop as far as its first wait, and no further: the task has 1000 ms of work left, so
            // stop is still waiting when the next request arrives.
            let returned_at_once = tokio::select! {
                biased;
                summary = &mut stopping => Some(summary),
                () = std::future::ready(()) => None,
            };
            if returned_at_once.is_none() {
                let answer = post(&router, &task(10)).await;
                assert_refused(&answer, "while stop was waiting for the workers");
            }
            let summary = match returned_at_once {
                Some(summary) => summary,
                None => bounded(LIMIT, "stop", HANG, stopping).await,
            };
            assert_refused(&post(&router, &task(10)).await, "after stop returned");
            let at_return = progress.borrow().clone();
            assert_nothing_lost(summary, at_return, &[id], &mut progress, LIMIT).await;
        },
    )
}

#[test]
fn stop_on_an_idle_server_returns_at_once() {
    run(
        Clock::Paused,
        "stop_on_an_idle_server_returns_at_once",
        || async {
            let server = Server::start(3, 4);
            let router = server.router();
            let called = Instant::now();
            let summary = stop(server, LIMIT).await;
            let took = called.elapsed();
            assert_eq!(
                summary,
                Summary {
                    accepted: 0,
                    completed: 0
                },
                "no task was ever posted"
            );
            assert_eq!(
                took,
                Duration::ZERO,
                "stop took {took:?} of the paused clock on a server with nothing to do: it should \
                 return at once. Is it waiting on a timer rather than on the workers?"
            );
            assert_refused(&post(&router, &task(10)).await, "after stop returned");
        },
    )
}

#[test]
fn stop_returns_at_once_when_the_workers_wait_on_an_empty_queue() {
    run(
        Clock::Paused,
        "stop_returns_at_once_when_the_workers_wait_on_an_empty_queue",
        || async {
            let server = Server::start(2, 4);
            let router = server.router();
            let mut progress = server.progress();
            let mut accepted = Vec::new();
            for _ in 0..3 {
                accepted.push(post(&router, &task(50)).await.id());
            }
            // Every task done: both workers now wait on an empty queue that is still open.
            wait_for(&mut progress, "all three tasks", |p| p.completed >= 3).await;
            let called = Instant::now();
            let summary = stop(server, LIMIT).await;
            let took = called.elapsed();
            let at_return = progress.borrow().clone();
            assert_nothing_lost(summary, at_return, &accepted, &mut progress, LIMIT).await;
            assert_eq!(
                took,
                Duration::ZERO,
                "stop took {took:?} of the paused clock with every task already done: closing the queue \
                 wakes the waiting workers at once. Is stop waiting on a timer?"
            );
        },
    )
}

#[test]
fn every_202_is_completed_when_stop_lands_in_a_burst() {
    run(
        Clock::TwoThreads,
        "every_202_is_completed_when_stop_lands_in_a_burst",
        || async {
            // Real time on two threads: four clients post as fast as they can, and keep posting until
            // they are told the server is stopping, so stop closes the queue in the middle of a burst.
            const REAL_LIMIT: Duration = Duration::from_secs(10);
            let server = Server::start(3, 8);
            let router = server.router();
            let mut progress = server.progress();
            let mut clients = JoinSet::new();
            for client in 0..4u64 {
                let router = router.clone();
                clients.spawn(async move {
                    let mut ids = Vec::new();
                    for n in 0u64.. {
                        let answer = post(&router, &task((client + n) % 3)).await;
                        if answer.status == StatusCode::ACCEPTED {
                            ids.push(answer.id());
                        } else if answer.is_stopping() {
                            break;
                        }
                        // Let the workers (and stop) have the threads now and then.
                        tokio::task::yield_now().await;
                    }
                    ids
                });
            }
            bounded(
                REAL_LIMIT,
                "the first 30 tasks",
                "the server is written; look at what your code changed",
                progress.wait_for(|p| p.accepted >= 30),
            )
            .await
            .expect("the router holds the counters' sender");
            let summary = stop(server, REAL_LIMIT).await;
            let at_return = progress.borrow().clone();
            let mut accepted = Vec::new();
            let all_told = bounded(
                REAL_LIMIT,
                "the clients",
                "once stop has returned, every POST gets 503 and each client stops",
                clients.join_all(),
            )
            .await;
            for ids in all_told {
                accepted.extend(ids);
            }
            assert_nothing_lost(
                summary,
                at_return,
                &accepted,
                &mut progress,
                Duration::from_secs(2),
            )
            .await;
        },
    )
}

#[test]
fn stop_waits_for_a_task_however_long_it_takes() {
    // An hour of work on the paused clock: no real time, but longer than any time limit a stop
    // might set itself. Stop has no deadline of its own: it waits for every accepted task.
    run(
        Clock::Paused,
        "stop_waits_for_a_task_however_long_it_takes",
        || async {
            let server = Server::start(1, 2);
            let router = server.router();
            let mut progress = server.progress();
            let accepted = vec![post(&router, &task(3_600_000)).await.id()];
            wait_for(&mut progress, "the hour-long task", |p| p.started >= 1).await;
            let called = Instant::now();
            let summary = stop(server, LIMIT).await;
            let took = called.elapsed();
            let at_return = progress.borrow().clone();
            assert_nothing_lost(summary, at_return, &accepted, &mut progress, LIMIT).await;
            assert!(
                took >= Duration::from_secs(3600),
                "stop returned after {took:?}, before the hour-long task was done"
            );
        },
    )
}
