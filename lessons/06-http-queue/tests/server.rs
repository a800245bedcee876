//! The real server, as a client sees it: the `lesson-6` binary on a free loopback port, plain
//! HTTP/1.1 written by hand over `std::net::TcpStream`, and real signals sent with `kill`.
//!
//! Every wait is bounded and names the likely cause when it runs out.
#![cfg(unix)]

use course_support::testing::report_counts;
use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

mod common;

use common::Server;

/// Polls `GET /metrics.json` until nothing is queued or running, for at most `limit`.
fn until_idle(server: &Server, limit: Duration) -> serde_json::Value {
    let deadline = Instant::now() + limit;
    loop {
        let metrics = http(server.addr, "GET", "/metrics.json", None).json();
        if metrics["queued"] == 0 && metrics["running"] == 0 {
            return metrics;
        }
        assert!(
            Instant::now() < deadline,
            "the workers did not empty the queue within {limit:?}: {metrics}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// An HTTP answer.
#[derive(Debug)]
struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", self.body))
    }

    fn error(&self) -> String {
        self.json()["error"]
            .as_str()
            .unwrap_or_else(|| panic!("expected {{\"error\": …}}, got {}", self.body))
            .to_string()
    }
}

/// Connects with a 10 s bound on every read and write.
fn connect(addr: SocketAddr) -> TcpStream {
    let stream = TcpStream::connect_timeout(&addr, Duration::from_secs(10))
        .unwrap_or_else(|e| panic!("cannot connect to {addr}: {e}"));
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream
        .set_write_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream
}

/// The head of a request with `Connection: close`, so the answer ends when the server closes.
fn head(method: &str, path: &str, content_type: Option<&str>, length: usize) -> String {
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n");
    if let Some(content_type) = content_type {
        head.push_str(&format!("Content-Type: {content_type}\r\n"));
    }
    head.push_str(&format!("Content-Length: {length}\r\n\r\n"));
    head
}

/// Reads a whole answer: until the server closes the connection.
fn read_reply(mut stream: TcpStream, what: &str) -> Reply {
    let mut raw = Vec::new();
    if let Err(err) = stream.read_to_end(&mut raw) {
        // A server that answers before reading the whole body (413) may reset the connection
        // right after its answer; what arrived before the reset is still the answer.
        let complete = raw.windows(4).any(|w| w == b"\r\n\r\n");
        assert!(
            complete && err.kind() != ErrorKind::WouldBlock && err.kind() != ErrorKind::TimedOut,
            "{what}: no complete answer within 10 s ({err}); a handler that waits instead of \
             answering?"
        );
    }
    let text = String::from_utf8(raw).expect("answers are UTF-8");
    let (head, body) = text
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("{what}: not an HTTP answer: {text:?}"));
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("{what}: bad status line in {head:?}"));
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_string(), v.trim().to_string()))
        .collect();
    Reply {
        status,
        headers,
        body: body.to_string(),
    }
}

/// One request on a new connection; a JSON body if `json` is given.
fn http(addr: SocketAddr, method: &str, path: &str, json: Option<&str>) -> Reply {
    send(
        addr,
        method,
        path,
        json.map(|_| "application/json"),
        json.unwrap_or(""),
    )
}

fn send(
    addr: SocketAddr,
    method: &str,
    path: &str,
    content_type: Option<&str>,
    body: &str,
) -> Reply {
    let mut stream = connect(addr);
    let request = head(method, path, content_type, body.len()) + body;
    // A 413 may come back, and the connection close, before the whole body is written.
    let _ = stream.write_all(request.as_bytes());
    read_reply(stream, &format!("{method} {path}"))
}

/// How often `verb job N` was printed, for each N.
fn events(output: &str, verb: &str) -> std::collections::BTreeMap<u64, usize> {
    let mut counts = std::collections::BTreeMap::new();
    let needle = format!(" {verb} job ");
    for line in output.lines().filter(|l| l.starts_with("  [")) {
        if let Some((_, id)) = line.split_once(&needle) {
            *counts.entry(id.trim().parse().unwrap()).or_default() += 1;
        }
    }
    counts
}

#[test]
fn a_task_is_accepted_with_202_and_then_done() {
    let mut server = Server::start(&["--workers", "2", "--queue", "4"]);
    let accepted = http(
        server.addr,
        "POST",
        "/tasks",
        Some(r#"{"duration_ms": 50}"#),
    );
    assert_eq!(accepted.status, 202, "{}", accepted.body);
    assert_eq!(accepted.json(), serde_json::json!({ "id": 1 }));
    assert_eq!(accepted.header("Location"), Some("/tasks/1"));
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let task = http(server.addr, "GET", "/tasks/1", None).json();
        if task["state"] == "completed" {
            assert!(task["worker"] == 1 || task["worker"] == 2, "{task}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "task 1 was not done within 10 s of being accepted: {task}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    let metrics = http(server.addr, "GET", "/metrics.json", None).json();
    assert_eq!(
        (&metrics["accepted"], &metrics["completed"]),
        (&1.into(), &1.into())
    );
    server.signal("TERM");
    let (code, output) = server.finish(Duration::from_secs(20));
    assert_eq!(code, Some(0), "a graceful stop exits 0:\n{output}");
    assert_eq!(report_counts(&output), [1, 1, 0, 0, 0], "{output}");
    assert!(
        output.contains("took job 1") && output.contains("finished job 1"),
        "{output}"
    );
}

#[test]
fn a_full_queue_answers_503_at_once_and_a_second_signal_cancels_the_rest() {
    let mut server = Server::start(&["--workers", "1", "--queue", "2"]);
    let addr = server.addr;
    // Task 1 holds the only worker for 5 s. The three requests below take milliseconds, so the
    // queue is certain to be full (tasks 2 and 3) when the fourth arrives, unless this machine
    // stalls for seconds.
    http(addr, "POST", "/tasks", Some(r#"{"duration_ms": 5000}"#));
    server.wait_for("took job 1");
    for id in [2, 3] {
        let reply = http(addr, "POST", "/tasks", Some("{}"));
        assert_eq!((reply.status, reply.json()["id"].as_u64()), (202, Some(id)));
    }
    let asked = Instant::now();
    let full = http(addr, "POST", "/tasks", Some("{}"));
    let waited = asked.elapsed();
    assert_eq!(full.status, 503, "{}", full.body);
    assert_eq!(full.header("Retry-After"), Some("1"));
    assert!(full.error().contains("queue is full"), "{}", full.error());
    assert!(
        waited < Duration::from_secs(2),
        "a full queue must answer at once, not wait for room; it took {waited:?}"
    );

    server.signal("TERM");
    server.wait_for("Finishing what was accepted: 2 queued and 1 running");
    server.signal("INT");
    let (code, output) = server.finish(Duration::from_secs(10));
    assert_eq!(
        code,
        Some(130),
        "stop-now left work undone, so 130:\n{output}"
    );
    assert_eq!(
        report_counts(&output),
        [3, 0, 0, 3, 1],
        "task 1 interrupted, 2 and 3 never started, one 503:\n{output}"
    );
    assert!(
        output.contains("Cancelled while running (interrupted): task 1\n")
            && output.contains("Cancelled before they started: tasks 2, 3\n"),
        "{output}"
    );
}

#[test]
fn sigterm_refuses_new_connections_answers_the_open_request_and_finishes_every_task() {
    let mut server = Server::start(&["--workers", "2", "--queue", "8"]);
    let addr = server.addr;
    for _ in 0..6 {
        let reply = http(addr, "POST", "/tasks", Some(r#"{"duration_ms": 300}"#));
        assert_eq!(
            reply.status, 202,
            "a queue of 8 has room for 6: {}",
            reply.body
        );
    }
    // A request caught in the middle. Its head asks `Expect: 100-continue`, so the server says
    // "100 Continue" when the handler starts reading the body: from then on this request is
    // certainly in flight (not merely a connection waiting to be accepted), and the body has
    // not been sent yet.
    let body = r#"{"duration_ms": 500}"#;
    let mut open = connect(addr);
    let request = head("POST", "/tasks", Some("application/json"), body.len()).replace(
        "Connection: close\r\n",
        "Connection: close\r\nExpect: 100-continue\r\n",
    );
    open.write_all(request.as_bytes()).unwrap();
    let mut interim = Vec::new();
    let mut byte = [0u8];
    while !interim.ends_with(b"\r\n\r\n") {
        open.read_exact(&mut byte)
            .expect("the server should say 100 Continue within 10 s once the handler reads");
        interim.push(byte[0]);
    }
    let interim = String::from_utf8_lossy(&interim);
    assert!(interim.starts_with("HTTP/1.1 100"), "{interim}");
    // Once this line is printed the server has been told to stop; it then closes its
    // listener, so new connections are refused.
    server.signal("TERM");
    server.wait_for("SIGTERM: no new connections");
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match TcpStream::connect_timeout(&addr, Duration::from_secs(1)) {
            Err(e) if e.kind() == ErrorKind::ConnectionRefused => break,
            // Accepted before the listener closed (the server closes it idle), or refused late.
            _ => assert!(
                Instant::now() < deadline,
                "new connections were still accepted 5 s after SIGTERM: is the server's \
                 shutdown signal wired to with_graceful_shutdown?"
            ),
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    // The open request is still answered, and its task accepted: the queue closes only after
    // the server has answered every request it had started.
    open.write_all(body.as_bytes()).unwrap();
    let reply = read_reply(open, "the request in flight during SIGTERM");
    assert_eq!(reply.status, 202, "{}", reply.body);
    assert_eq!(reply.json()["id"], 7);

    let (code, output) = server.finish(Duration::from_secs(20));
    assert_eq!(code, Some(0), "a graceful stop exits 0:\n{output}");
    assert_eq!(report_counts(&output), [7, 7, 0, 0, 0], "{output}");
    let finished = events(&output, "finished");
    assert!(
        (1..=7).all(|id| finished.get(&id) == Some(&1)),
        "every task finished exactly once: {finished:?}\n{output}"
    );
    // Task 7 takes 500 ms and was accepted during the shutdown: it can only have finished
    // during the drain, after the server stopped accepting.
    let stopped = output.find("Stopped accepting").expect("the drain line");
    let seven = output.find("finished job 7").expect("task 7 finished");
    assert!(
        stopped < seven,
        "task 7 should finish in the drain:\n{output}"
    );
}

#[cfg(target_os = "linux")]
#[test]
fn a_burst_of_2000_requests_loses_no_accepted_task_and_memory_stays_bounded() {
    const CLIENTS: usize = 50;
    const EACH: usize = 40;
    let mut server = Server::start(&["--workers", "4", "--queue", "16"]);
    let addr = server.addr;
    let started = Instant::now();
    let clients: Vec<_> = (0..CLIENTS)
        .map(|_| {
            std::thread::spawn(move || {
                let mut ids = Vec::new();
                let mut turned_away = 0;
                for _ in 0..EACH {
                    let reply = http(addr, "POST", "/tasks", Some(r#"{"duration_ms": 20}"#));
                    match reply.status {
                        202 => ids.push(reply.json()["id"].as_u64().unwrap()),
                        503 => {
                            assert_eq!(reply.header("Retry-After"), Some("1"));
                            turned_away += 1;
                        }
                        other => panic!("unexpected {other}: {}", reply.body),
                    }
                }
                (ids, turned_away)
            })
        })
        .collect();
    let mut ids = Vec::new();
    let mut turned_away = 0;
    for client in clients {
        let (mine, away) = client.join().expect("a client thread panicked");
        ids.extend(mine);
        turned_away += away;
    }
    let burst = started.elapsed();
    ids.sort_unstable();
    let accepted = ids.len() as u64;
    assert_eq!(
        ids,
        (1..=accepted).collect::<Vec<_>>(),
        "each 202 carries its own id, 1 to n"
    );
    // Four workers finish at most 200 tasks of 20 ms a second: the burst outruns them.
    assert!(turned_away > 0, "2000 requests never filled a queue of 16?");
    let metrics = until_idle(&server, Duration::from_secs(60));
    let peak_kib = server.peak_memory_kib();

    server.signal("TERM");
    let (code, output) = server.finish(Duration::from_secs(30));
    assert_eq!(code, Some(0), "{output}");
    let [report_accepted, completed, failed, cancelled, rejected] = report_counts(&output);
    assert_eq!(
        report_accepted, accepted,
        "the server accepted what the clients saw accepted"
    );
    assert_eq!((completed, failed, cancelled), (accepted, 0, 0));
    assert_eq!(
        rejected, turned_away,
        "and turned away what they saw turned away"
    );
    assert_eq!(metrics["rejected"], turned_away);
    let finished = events(&output, "finished");
    assert!(
        (1..=accepted).all(|id| finished.get(&id) == Some(&1)) && finished.len() as u64 == accepted,
        "every accepted task finished exactly once"
    );
    println!(
        "burst: {} requests from {CLIENTS} clients in {burst:.2?}: {accepted} × 202, \
         {turned_away} × 503; server peak memory (VmHWM) {:.1} MiB",
        CLIENTS * EACH,
        peak_kib as f64 / 1024.0
    );
    assert!(
        peak_kib < 200 * 1024,
        "the server's peak memory was {peak_kib} KiB; a bounded queue should keep it far below 200 MiB"
    );
}

#[test]
fn bad_requests_over_a_real_socket_get_json_errors_and_never_hang() {
    let mut server = Server::start(&["--workers", "1", "--queue", "2"]);
    let addr = server.addr;
    let json = Some("application/json");
    let big = format!(r#"{{"duration_ms": 1{}}}"#, " ".repeat(20_000));
    let cases = [
        (
            "POST",
            "/tasks",
            json,
            r#"{"duration_ms": "#,
            400,
            "not valid JSON",
        ),
        (
            "POST",
            "/tasks",
            json,
            r#"{"duration_ms": 999999}"#,
            400,
            "at most 60000 ms",
        ),
        (
            "POST",
            "/tasks",
            json,
            r#"{"duraton_ms": 5}"#,
            400,
            "unknown field",
        ),
        (
            "POST",
            "/tasks",
            None,
            r#"{"duration_ms": 5}"#,
            415,
            "Content-Type",
        ),
        (
            "POST",
            "/tasks",
            json,
            big.as_str(),
            413,
            "larger than 16384 bytes",
        ),
        ("GET", "/tasks/abc", None, "", 400, "is not a task id"),
        (
            "GET",
            "/tasks/1",
            None,
            "",
            404,
            "no task has been accepted yet",
        ),
        ("GET", "/task/1", None, "", 404, "the routes are"),
        ("DELETE", "/metrics", None, "", 405, "does not take DELETE"),
    ];
    for (method, path, content_type, body, status, says) in cases {
        let reply = send(addr, method, path, content_type, body);
        assert_eq!(reply.status, status, "{method} {path}: {}", reply.body);
        assert!(
            reply.error().contains(says),
            "{method} {path}: {}",
            reply.error()
        );
    }
    let metrics = http(addr, "GET", "/metrics.json", None).json();
    assert_eq!(
        (&metrics["accepted"], &metrics["rejected"]),
        (&0.into(), &0.into())
    );
    server.signal("TERM");
    let (code, output) = server.finish(Duration::from_secs(20));
    assert_eq!(code, Some(0), "{output}");
    assert_eq!(report_counts(&output), [0, 0, 0, 0, 0], "{output}");
}

// ANCHOR: crash_loses_tasks
/// What lesson 6 does not promise, pinned so the book's claim stays true: its queue lives in
/// the server's memory, so a crash (`kill -9`, a power cut) loses every task it had accepted
/// with 202 and not yet finished. A server started again knows nothing of them. Lesson 10
/// keeps the queue in a file instead.
#[test]
fn a_crash_loses_every_accepted_task_that_had_not_finished() {
    let mut server = Server::start(&["--workers", "1", "--queue", "8"]);
    for id in 1..=5 {
        let reply = http(
            server.addr,
            "POST",
            "/tasks",
            Some(r#"{"duration_ms": 5000}"#),
        );
        assert_eq!(reply.status, 202, "task {id}: {}", reply.body);
    }
    let metrics = http(server.addr, "GET", "/metrics.json", None).json();
    assert_eq!(metrics["accepted"], 5, "{metrics}");
    server.child.kill().expect("SIGKILL the server");
    let (code, _) = server.finish(Duration::from_secs(10));
    assert_eq!(code, None, "killed by a signal, so no exit code");

    let again = Server::start(&["--workers", "1", "--queue", "8"]);
    for id in 1..=5 {
        let reply = http(again.addr, "GET", &format!("/tasks/{id}"), None);
        assert_eq!(
            reply.status, 404,
            "task {id} survived the crash?: {}",
            reply.body
        );
    }
    let metrics = http(again.addr, "GET", "/metrics.json", None).json();
    assert_eq!(
        metrics["accepted"], 0,
        "a new server starts from nothing: {metrics}"
    );
}
// ANCHOR_END: crash_loses_tasks

/// Every line of `output` parsed as JSON; fails on the first line that is not.
fn json_lines(output: &str) -> Vec<serde_json::Value> {
    output
        .lines()
        .map(|line| {
            serde_json::from_str(line).unwrap_or_else(|e| {
                panic!("every line of the structured form should be JSON ({e}): {line}\n{output}")
            })
        })
        .collect()
}

#[test]
fn the_json_form_carries_each_tasks_id_and_worker_on_its_lines() {
    // `COURSE_LOG=json`, as a service's environment would set it.
    let mut server = Server::start_with_env(
        &["--workers", "2", "--queue", "4"],
        &[("COURSE_LOG", "json")],
    );
    for body in [
        r#"{"duration_ms": 20}"#,
        r#"{"duration_ms": 20, "fail": true}"#,
    ] {
        let reply = http(server.addr, "POST", "/tasks", Some(body));
        assert_eq!(reply.status, 202, "{}", reply.body);
    }
    // A graceful stop finishes both tasks before the server exits: nothing to poll for.
    server.signal("TERM");
    let (code, output) = server.finish(Duration::from_secs(20));
    assert_eq!(code, Some(0), "a graceful stop exits 0:\n{output}");
    let lines = json_lines(&output);
    for (id, end) in [(1, "finished"), (2, "failed")] {
        let mut workers = Vec::new();
        for verb in ["took", end] {
            let message = format!("{verb} job {id}");
            let line = lines
                .iter()
                .find(|l| l["message"] == message.as_str())
                .unwrap_or_else(|| panic!("no {message:?} line in:\n{output}"));
            let span = &line["span"];
            assert_eq!(
                (&span["name"], &span["task"]),
                (&"task".into(), &id.into()),
                "{message:?} should be in task {id}'s span: {line}"
            );
            workers.push(span["worker"].as_u64().expect("a worker number"));
        }
        assert!(
            workers[0] == workers[1] && (1..=2).contains(&workers[0]),
            "task {id} was taken and ended by one worker, 1 or 2: {workers:?}\n{output}"
        );
    }
    // The report is one line too, its counts in fields.
    let report = lines
        .iter()
        .find(|l| l["message"].as_str().unwrap_or("").starts_with("Report: "))
        .unwrap_or_else(|| panic!("no report line in:\n{output}"));
    assert_eq!(
        (&report["accepted"], &report["completed"], &report["failed"]),
        (&2.into(), &1.into(), &1.into()),
        "{report}"
    );
}

#[test]
fn the_flag_wins_over_course_log_and_the_readable_form_stays_the_default() {
    // One worker, so that it is worker 1 that takes task 1.
    for (args, env) in [
        (
            &["--workers", "1", "--log-format", "readable"][..],
            &[("COURSE_LOG", "json")][..],
        ),
        (&["--workers", "1"][..], &[][..]),
    ] {
        let mut server = Server::start_with_env(args, env);
        let reply = http(server.addr, "POST", "/tasks", Some(r#"{"duration_ms": 1}"#));
        assert_eq!(reply.status, 202, "{}", reply.body);
        server.signal("TERM");
        let (code, output) = server.finish(Duration::from_secs(20));
        assert_eq!(code, Some(0), "{output}");
        assert!(
            output.starts_with("Lesson 6: an HTTP job queue\n")
                && output.contains(" ms] worker 1 took job 1\n")
                && output.contains("\nReport: 1 accepted"),
            "{args:?} {env:?} should print the readable form:\n{output}"
        );
    }
}

#[test]
fn a_rust_log_it_cannot_read_is_a_one_line_error() {
    // `--demo` ends by itself, so even a server that started anyway would not hang the test.
    let out = course_support::testing::within(
        Duration::from_secs(60),
        "lesson-6 with RUST_LOG=lesson_6=loud",
        "it should refuse the variable before it starts serving",
        || {
            std::process::Command::new(common::BIN)
                .arg("--demo")
                .env("RUST_LOG", "lesson_6=loud")
                .output()
                .expect("start lesson-6")
        },
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "one line: {stderr}");
    assert!(
        stderr.starts_with("error: RUST_LOG") && stderr.contains("lesson_6=loud"),
        "{stderr}"
    );
    assert!(out.stdout.is_empty(), "nothing started");
}
