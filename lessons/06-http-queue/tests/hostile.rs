//! The real server under hostile clients: bursts far larger than the queue, clients that send a
//! byte at a time or never finish, bodies that are huge, truncated or not JSON, and ids that are
//! not ids. Everything runs on loopback, with a bounded number of requests, and every wait is
//! bounded and names the likely cause when it runs out.
//!
//! Run with `-- --nocapture` to see the figures (answers by status, peak memory, time).
#![cfg(target_os = "linux")]

use course_support::testing::{report_counts, within};
use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

mod common;

use common::Server;

/// A server that uses more than this has let a hostile client make it hold something unbounded.
const MEMORY_LIMIT_KIB: u64 = 100 * 1024;

/// Samples the server's resident memory every 10 ms until dropped: the figures a person would
/// watch in `top` during the attack.
struct MemoryWatch {
    stop: Arc<AtomicBool>,
    sampler: Option<std::thread::JoinHandle<(u64, u64)>>,
}

impl MemoryWatch {
    fn start(pid: u32) -> MemoryWatch {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let sampler = std::thread::spawn(move || {
            let (mut max_rss, mut hwm) = (0, 0);
            while !flag.load(Ordering::Relaxed) {
                match (
                    Server::memory_kib(pid, "VmRSS"),
                    Server::memory_kib(pid, "VmHWM"),
                ) {
                    (Some(rss), Some(high)) => {
                        max_rss = max_rss.max(rss);
                        hwm = hwm.max(high);
                    }
                    _ => break,
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            (max_rss, hwm)
        });
        MemoryWatch {
            stop,
            sampler: Some(sampler),
        }
    }

    /// The largest VmRSS sampled and the last VmHWM read, in KiB.
    fn finish(mut self) -> (u64, u64) {
        self.stop.store(true, Ordering::Relaxed);
        self.sampler.take().unwrap().join().unwrap()
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
fn connect(addr: SocketAddr) -> std::io::Result<TcpStream> {
    let stream = TcpStream::connect_timeout(&addr, Duration::from_secs(10))?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    stream.set_write_timeout(Some(Duration::from_secs(10)))?;
    Ok(stream)
}

/// A request head with `Connection: close` and these extra header lines.
fn head(method: &str, path: &str, headers: &[String]) -> String {
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n");
    for line in headers {
        head.push_str(line);
        head.push_str("\r\n");
    }
    head.push_str("\r\n");
    head
}

fn json_head(path: &str, length: usize) -> String {
    head(
        "POST",
        path,
        &[
            "Content-Type: application/json".into(),
            format!("Content-Length: {length}"),
        ],
    )
}

/// Reads a whole answer: until the server closes the connection. `None` if the connection
/// ended (closed or reset) before a complete head arrived.
fn read_reply(stream: &mut TcpStream) -> Option<Reply> {
    let mut raw = Vec::new();
    if let Err(err) = stream.read_to_end(&mut raw) {
        assert!(
            err.kind() != ErrorKind::WouldBlock && err.kind() != ErrorKind::TimedOut,
            "no complete answer within 10 s ({err}): a handler or a body read that waits \
             instead of answering? Got so far: {:?}",
            String::from_utf8_lossy(&raw)
        );
    }
    let text = String::from_utf8(raw).expect("answers are UTF-8");
    let (head, body) = text.split_once("\r\n\r\n")?;
    let mut lines = head.lines();
    let status = lines.next()?.split(' ').nth(1)?.parse().ok()?;
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_string(), v.trim().to_string()))
        .collect();
    Some(Reply {
        status,
        headers,
        body: body.to_string(),
    })
}

/// Sends `request` on a new connection and reads the answer; the write may fail if the server
/// answers and closes first (413), in which case the answer is still read.
fn exchange(addr: SocketAddr, request: &[u8]) -> std::io::Result<Option<Reply>> {
    let mut stream = connect(addr)?;
    let _ = stream.write_all(request);
    Ok(read_reply(&mut stream))
}

/// One request that must be answered.
fn send(addr: SocketAddr, request: &[u8], what: &str) -> Reply {
    exchange(addr, request)
        .unwrap_or_else(|e| panic!("{what}: cannot connect: {e}"))
        .unwrap_or_else(|| panic!("{what}: the connection closed without an answer"))
}

fn get(addr: SocketAddr, path: &str) -> Reply {
    send(
        addr,
        head("GET", path, &[]).as_bytes(),
        &format!("GET {path}"),
    )
}

fn post_json(addr: SocketAddr, body: &str) -> Reply {
    let request = json_head("/tasks", body.len()) + body;
    send(addr, request.as_bytes(), &format!("POST /tasks {body}"))
}

/// A client that sends a request head a byte at a time, never finishing it, until `stop` is
/// set or the server closes the connection. Returns how long after connecting the server
/// closed it, if it did.
fn dribble_head(
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
) -> std::thread::JoinHandle<Option<Duration>> {
    std::thread::spawn(move || {
        let mut stream = connect(addr).expect("the slow client connects");
        let connected = Instant::now();
        let endless = b"POST /tasks HTTP/1.1\r\nHost: test\r\nX-Padding: ";
        let mut i = 0;
        while !stop.load(Ordering::Relaxed) {
            let byte = endless.get(i).copied().unwrap_or(b'a');
            if stream.write_all(&[byte]).is_err() {
                return Some(connected.elapsed());
            }
            i += 1;
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    })
}

/// Waits up to 10 s for the server to close a connection on which nothing was sent; returns
/// how long after `since` that was.
fn closed_by_server(mut stream: TcpStream, since: Instant) -> Duration {
    let mut rest = Vec::new();
    match stream.read_to_end(&mut rest) {
        Ok(_) => {}
        Err(e) if e.kind() == ErrorKind::ConnectionReset => {}
        Err(e) => panic!(
            "a connection that never sent anything was still open after 10 s ({e}): nothing \
             closes connections that send no request"
        ),
    }
    since.elapsed()
}

/// A client that sends a whole head, then its body a byte every `pause`, and reads whatever
/// answer comes. Returns the answer's status (if any) and how long after the head it came.
fn dribble_body(
    addr: SocketAddr,
    pause: Duration,
) -> std::thread::JoinHandle<(Option<u16>, Duration)> {
    std::thread::spawn(move || {
        let body = format!(r#"{{"duration_ms": 10{}}}"#, " ".repeat(400));
        let mut stream = connect(addr).expect("the slow client connects");
        stream
            .write_all(json_head("/tasks", body.len()).as_bytes())
            .unwrap();
        let sent = Instant::now();
        let mut reader = stream.try_clone().unwrap();
        // The answer may come while the body is still trickling: read it on the side.
        let answer = std::thread::spawn(move || read_reply(&mut reader).map(|r| r.status));
        for byte in body.bytes() {
            if answer.is_finished() || stream.write_all(&[byte]).is_err() {
                break;
            }
            std::thread::sleep(pause);
        }
        let status = answer.join().unwrap();
        (status, sent.elapsed())
    })
}

#[test]
fn slow_clients_get_408_or_are_cut_off_and_never_stall_the_others_or_the_shutdown() {
    let started = Instant::now();
    // A queue of 64 holds all 20 ordinary tasks, so every one of them is accepted. A 2 s
    // request timeout: a connection gets 4 s to send a whole request.
    let mut server = Server::start(&[
        "--workers",
        "2",
        "--queue",
        "64",
        "--request-timeout-ms",
        "2000",
    ]);
    let addr = server.addr;
    let stop = Arc::new(AtomicBool::new(false));
    // Eight clients that never finish a head, eight that send a 420-byte body at a byte per
    // 50 ms (21 s), and eight that connect and say nothing.
    let heads: Vec<_> = (0..8)
        .map(|_| dribble_head(addr, Arc::clone(&stop)))
        .collect();
    let bodies: Vec<_> = (0..8)
        .map(|_| dribble_body(addr, Duration::from_millis(50)))
        .collect();
    let opened = Instant::now();
    let silent: Vec<TcpStream> = (0..8).map(|_| connect(addr).unwrap()).collect();

    // Meanwhile, everyone else is answered at once.
    let mut slowest = Duration::ZERO;
    for i in 0..40 {
        let asked = Instant::now();
        let reply = if i % 2 == 0 {
            get(addr, "/metrics")
        } else {
            post_json(addr, r#"{"duration_ms": 5}"#)
        };
        slowest = slowest.max(asked.elapsed());
        assert!(
            reply.status == 200 || reply.status == 202,
            "an ordinary request during the attack got {}: {}",
            reply.status,
            reply.body
        );
    }
    assert!(
        slowest < Duration::from_secs(2),
        "an ordinary request waited {slowest:?} while slow clients were connected: does one \
         slow client hold up the others?"
    );

    // The byte-by-byte bodies hit the 2 s limit and are answered 408, long before they end.
    for body in bodies {
        // A panic in the client (no answer at all) is the failure to report.
        let (status, after) = body.join().unwrap_or_else(|p| std::panic::resume_unwind(p));
        assert_eq!(
            status,
            Some(408),
            "a body trickling in for 21 s should be cut off with 408 after the 2 s request \
             timeout (got an answer after {after:?})"
        );
        assert!(
            after >= Duration::from_millis(1900) && after < Duration::from_secs(8),
            "the 408 came {after:?} after the head; the limit is 2 s"
        );
    }
    let metrics = get(addr, "/metrics.json").json();
    assert_eq!(
        metrics["accepted"], 20,
        "only the ordinary POSTs: {metrics}"
    );

    // The stalled heads and the silent connections are closed by the server, while it runs,
    // twice the request timeout (4 s) after they connected, and not before.
    let mut held = Vec::new();
    for h in heads {
        held.push(within(
            Duration::from_secs(10),
            "a client sending its head a byte at a time",
            "nothing closes a connection whose request head never ends",
            move || h.join().unwrap(),
        ));
    }
    assert!(
        held.iter().all(Option::is_some),
        "every stalled head should be closed by the server: {held:?}"
    );
    let silence: Vec<Duration> = silent
        .into_iter()
        .map(|stream| closed_by_server(stream, opened))
        .collect();
    let closings: Vec<Duration> = held.iter().flatten().chain(&silence).copied().collect();
    let earliest = closings.iter().min().copied().unwrap_or_default();
    let longest = closings.iter().max().copied().unwrap_or_default();
    assert!(
        earliest >= Duration::from_millis(3900),
        "a connection was closed after {earliest:?}, before its 4 s allowance"
    );

    let signalled = Instant::now();
    server.signal("TERM");
    let (code, output) = server.finish(Duration::from_secs(10));
    let shutdown = signalled.elapsed();
    stop.store(true, Ordering::Relaxed);
    assert_eq!(code, Some(0), "{output}");
    assert_eq!(report_counts(&output), [20, 20, 0, 0, 0], "{output}");
    println!(
        "slow clients: 8 stalled heads and 8 silent connections, closed by the server after \
         {earliest:.2?} to {longest:.2?}; 8 byte-by-byte bodies (all 408); 40 ordinary requests answered, the \
         slowest in {slowest:.2?}; SIGTERM to exit {shutdown:.2?}; test {:.2?}",
        started.elapsed()
    );
}

#[test]
fn huge_truncated_and_malformed_requests_get_4xx_and_memory_stays_bounded() {
    let started = Instant::now();
    let mut server = Server::start(&["--workers", "1", "--queue", "2"]);
    let addr = server.addr;
    let before_kib = server.peak_memory_kib();
    let mut statuses: Vec<(String, u16)> = Vec::new();
    let mut check = |what: &str, reply: Option<Reply>, status: u16, says: &str| {
        let reply = reply.unwrap_or_else(|| panic!("{what}: no answer"));
        assert_eq!(reply.status, status, "{what}: {}", reply.body);
        if !says.is_empty() {
            assert!(reply.error().contains(says), "{what}: {}", reply.error());
        }
        statuses.push((what.to_string(), reply.status));
    };

    // A gigabyte announced honestly: refused from the header, before a byte of it is read.
    let mut request = json_head("/tasks", 1 << 30).into_bytes();
    request.extend(std::iter::repeat_n(b' ', 1 << 20));
    check(
        "1 GiB with Content-Length",
        exchange(addr, &request).unwrap(),
        413,
        "larger than 16384 bytes",
    );

    // 64 MiB streamed with no length (chunked): the server stops reading at 16 KiB.
    let mut stream = connect(addr).unwrap();
    let chunked = head(
        "POST",
        "/tasks",
        &[
            "Content-Type: application/json".into(),
            "Transfer-Encoding: chunked".into(),
        ],
    );
    stream.write_all(chunked.as_bytes()).unwrap();
    let chunk = format!("10000\r\n{}\r\n", " ".repeat(0x10000));
    let mut streamed = 0usize;
    while streamed < 64 << 20 {
        if stream.write_all(chunk.as_bytes()).is_err() {
            break;
        }
        streamed += 0x10000;
    }
    assert!(
        streamed < 64 << 20,
        "the server read all of a 64 MiB body without a length: it should stop at 16 KiB"
    );
    check(
        "64 MiB chunked, no length",
        read_reply(&mut stream),
        413,
        "larger than 16384 bytes",
    );

    // A body shorter than its Content-Length, then the client stops sending (half-close).
    let mut stream = connect(addr).unwrap();
    stream
        .write_all((json_head("/tasks", 1000) + r#"{"duration_ms": 1"#).as_bytes())
        .unwrap();
    stream.shutdown(Shutdown::Write).unwrap();
    check("truncated body", read_reply(&mut stream), 400, "");
    // The same, but the client goes away entirely: nothing to answer, nothing must hang.
    let mut stream = connect(addr).unwrap();
    stream
        .write_all((json_head("/tasks", 1000) + r#"{"dur"#).as_bytes())
        .unwrap();
    drop(stream);

    // Bodies that are not tasks.
    let nested = "[".repeat(10_000);
    let bodies: [(&str, &[u8], &str); 9] = [
        ("binary", &[0xff, 0xfe, 0x00, 0x01, 0x80], "not valid JSON"),
        ("an array", b"[1, 2, 3]", "not a task"),
        ("null", b"null", "not a task"),
        ("10000 nested arrays", nested.as_bytes(), "not a task"),
        (
            "a negative duration",
            br#"{"duration_ms": -1}"#,
            "not a task",
        ),
        (
            "a duration past u64",
            br#"{"duration_ms": 18446744073709551616}"#,
            "not a task",
        ),
        ("a float duration", br#"{"duration_ms": 1e400}"#, "not"),
        (
            "a field twice",
            br#"{"duration_ms": 1, "duration_ms": 2}"#,
            "duplicate field",
        ),
        ("two objects", br#"{} {}"#, "not valid JSON"),
    ];
    for (what, body, says) in bodies {
        let mut request = json_head("/tasks", body.len()).into_bytes();
        request.extend_from_slice(body);
        check(what, exchange(addr, &request).unwrap(), 400, says);
    }
    let request = head(
        "POST",
        "/tasks",
        &[
            "Content-Type: text/plain".into(),
            "Content-Length: 2".into(),
        ],
    ) + "{}";
    check(
        "text/plain",
        exchange(addr, request.as_bytes()).unwrap(),
        415,
        "Content-Type",
    );

    // Ids that are not ids, or are ids that were never given out.
    let long_id = "9".repeat(10_000);
    let ids: [(&str, u16, &str); 11] = [
        ("0", 404, "no task 0"),
        ("18446744073709551615", 404, "no task 18446744073709551615"),
        ("18446744073709551616", 400, "is not a task id"),
        (&long_id, 400, "is not a task id"),
        ("-1", 400, "is not a task id"),
        ("1.5", 400, "is not a task id"),
        ("0x10", 400, "is not a task id"),
        ("%00", 400, "is not a task id"),
        ("%FF", 400, ""),
        ("%2F..%2Fmetrics", 400, "is not a task id"),
        ("1%20", 400, "is not a task id"),
    ];
    for (id, status, says) in ids {
        let shown: String = id.chars().take(24).collect();
        check(
            &format!("GET /tasks/{shown}"),
            Some(get(addr, &format!("/tasks/{id}"))),
            status,
            says,
        );
    }
    // Past hyper's limits the answer comes from hyper itself, without a JSON body.
    let huge_path = format!("/tasks/{}", "7".repeat(100_000));
    let reply = exchange(addr, head("GET", &huge_path, &[]).as_bytes()).unwrap();
    let huge_path_status = reply.map(|r| r.status);
    assert!(
        matches!(huge_path_status, Some(400..=499)),
        "a 100 kB path should get a 4xx: {huge_path_status:?}"
    );
    let many_headers: Vec<String> = (0..200).map(|i| format!("X-Junk-{i}: {i}")).collect();
    let reply = exchange(addr, head("GET", "/metrics", &many_headers).as_bytes()).unwrap();
    let many_headers_status = reply.map(|r| r.status);
    assert!(
        matches!(many_headers_status, Some(400..=499)),
        "200 header lines should get a 4xx: {many_headers_status:?}"
    );
    let huge_header = vec![format!("X-Junk: {}", "j".repeat(1 << 20))];
    let huge_header_status = exchange(addr, head("GET", "/metrics", &huge_header).as_bytes())
        .unwrap()
        .map(|r| r.status);
    assert!(
        matches!(huge_header_status, Some(400..=499)),
        "a 1 MiB header should get a 4xx: {huge_header_status:?}"
    );

    // None of it was a task, and the server still answers as before.
    let metrics = get(addr, "/metrics.json").json();
    assert_eq!(
        (&metrics["accepted"], &metrics["rejected"]),
        (&0.into(), &0.into()),
        "{metrics}"
    );
    assert_eq!(post_json(addr, r#"{"duration_ms": 1}"#).status, 202);
    let peak_kib = server.peak_memory_kib();
    assert!(
        peak_kib < MEMORY_LIMIT_KIB,
        "the server's peak memory (VmHWM) was {peak_kib} KiB after the hostile bodies; it reads \
         at most 16 KiB of a body, so it should stay far below {MEMORY_LIMIT_KIB} KiB"
    );
    server.signal("TERM");
    let (code, output) = server.finish(Duration::from_secs(20));
    assert_eq!(code, Some(0), "{output}");
    assert_eq!(report_counts(&output), [1, 1, 0, 0, 0], "{output}");
    println!(
        "hostile requests: {} answered as expected, 100 kB path → {huge_path_status:?}, 200 \
         headers → {many_headers_status:?}, 1 MiB header → {huge_header_status:?}; \
         {} MiB streamed before the server stopped reading; VmHWM {before_kib} KiB at start, \
         {peak_kib} KiB at the end; test {:.2?}",
        statuses.len(),
        streamed >> 20,
        started.elapsed()
    );
    for (what, status) in &statuses {
        println!("  {status}  {what}");
    }
}

/// How the burst's requests ended, as the clients saw them.
#[derive(Debug, Default)]
struct Tally {
    accepted: Vec<u64>,
    turned_away: usize,
    /// 503 because the server was shutting down (the rest were a full queue).
    closing: usize,
    /// Connections refused: the listener had closed.
    refused: usize,
    /// Connections that ended without an answer: accepted by the kernel but still waiting in
    /// the listen backlog when the server closed its listener.
    cut: usize,
    /// Of those, how many were cut before SIGTERM was sent (there should be none).
    cut_before_signal: usize,
}

#[test]
fn sigterm_during_a_hostile_burst_finishes_every_accepted_task() {
    const CLIENTS: usize = 64;
    const EACH: usize = 10;
    const QUEUE: usize = 16;
    let started = Instant::now();
    let mut server = Server::start(&[
        "--workers",
        "4",
        "--queue",
        &QUEUE.to_string(),
        "--request-timeout-ms",
        "2000",
    ]);
    let addr = server.addr;
    let memory = MemoryWatch::start(server.child.id());
    let stop = Arc::new(AtomicBool::new(false));
    let heads: Vec<_> = (0..6)
        .map(|_| dribble_head(addr, Arc::clone(&stop)))
        .collect();
    let bodies: Vec<_> = (0..4)
        .map(|_| dribble_body(addr, Duration::from_millis(100)))
        .collect();
    let silent: Vec<TcpStream> = (0..6).map(|_| connect(addr).unwrap()).collect();

    let answered = Arc::new(AtomicUsize::new(0));
    let signalled = Arc::new(AtomicBool::new(false));
    let tally = Arc::new(Mutex::new(Tally::default()));
    let clients: Vec<_> = (0..CLIENTS)
        .map(|_| {
            let answered = Arc::clone(&answered);
            let signalled = Arc::clone(&signalled);
            let tally = Arc::clone(&tally);
            std::thread::spawn(move || {
                let body = r#"{"duration_ms": 20}"#;
                let request = json_head("/tasks", body.len()) + body;
                for _ in 0..EACH {
                    let reply = match exchange(addr, request.as_bytes()) {
                        Err(e) if e.kind() == ErrorKind::ConnectionRefused => {
                            tally.lock().unwrap().refused += 1;
                            continue;
                        }
                        Err(e) if e.kind() != ErrorKind::ConnectionReset => {
                            panic!("connecting failed in an unexpected way: {e}")
                        }
                        // Reset while connecting, or closed before an answer: the connection
                        // was still in the listen backlog when the listener closed.
                        Err(_) | Ok(None) => {
                            let before = !signalled.load(Ordering::SeqCst);
                            let mut tally = tally.lock().unwrap();
                            tally.cut += 1;
                            tally.cut_before_signal += usize::from(before);
                            continue;
                        }
                        Ok(Some(reply)) => reply,
                    };
                    answered.fetch_add(1, Ordering::Relaxed);
                    let mut tally = tally.lock().unwrap();
                    match reply.status {
                        202 => tally.accepted.push(reply.json()["id"].as_u64().unwrap()),
                        503 => {
                            assert_eq!(reply.header("Retry-After"), Some("1"));
                            tally.turned_away += 1;
                            if reply.error().contains("shutting down") {
                                tally.closing += 1;
                            }
                        }
                        other => panic!("a burst request got {other}: {}", reply.body),
                    }
                }
            })
        })
        .collect();

    // SIGTERM once a tenth of the burst has been answered: the rest arrives during the stop.
    let tenth = CLIENTS * EACH / 10;
    let deadline = Instant::now() + Duration::from_secs(30);
    while answered.load(Ordering::Relaxed) < tenth {
        assert!(
            Instant::now() < deadline,
            "only {} of the burst's requests were answered within 30 s: is the server stuck \
             behind the slow clients?",
            answered.load(Ordering::Relaxed)
        );
        std::thread::sleep(Duration::from_millis(1));
    }
    let signal_sent = Instant::now();
    signalled.store(true, Ordering::SeqCst);
    server.signal("TERM");
    for client in clients {
        client
            .join()
            .unwrap_or_else(|p| std::panic::resume_unwind(p));
    }
    let (code, output) = server.finish(Duration::from_secs(30));
    let shutdown = signal_sent.elapsed();
    let (max_rss_kib, peak_kib) = memory.finish();
    // The server has exited, so each stalled head finds its connection closed.
    let heads_closed = heads
        .into_iter()
        .map(|h| {
            within(
                Duration::from_secs(10),
                "a client sending its head a byte at a time",
                "its connection outlived the server?",
                move || h.join().unwrap(),
            )
        })
        .filter(Option::is_some)
        .count();
    stop.store(true, Ordering::Relaxed);
    let slow_bodies: Vec<Option<u16>> = bodies
        .into_iter()
        .map(|b| b.join().unwrap_or_else(|p| std::panic::resume_unwind(p)).0)
        .collect();
    drop(silent);

    let tally = Arc::try_unwrap(tally).unwrap().into_inner().unwrap();
    let mut ids = tally.accepted.clone();
    ids.sort_unstable();
    let accepted = ids.len() as u64;
    assert_eq!(code, Some(0), "a graceful stop exits 0:\n{output}");
    assert_eq!(
        ids,
        (1..=accepted).collect::<Vec<_>>(),
        "every 202 the clients saw carries its own id, and no accepted task went unreported"
    );
    let [report_accepted, completed, failed, cancelled, rejected] = report_counts(&output);
    assert_eq!(
        (report_accepted, completed, failed, cancelled),
        (accepted, accepted, 0, 0),
        "every accepted task, and only those, completed:\n{output}"
    );
    assert_eq!(rejected as usize, tally.turned_away, "{output}");
    let finished = output.matches(" finished job ").count() as u64;
    assert_eq!(finished, accepted, "one 'finished' line per accepted task");
    assert_eq!(
        heads_closed, 6,
        "every stalled head ends with its connection closed"
    );
    assert_eq!(
        tally.cut_before_signal, 0,
        "connections closed without an answer while the server was running normally"
    );
    assert!(
        tally.turned_away > 0,
        "a burst of {} requests never filled a queue of {QUEUE}?",
        CLIENTS * EACH
    );
    assert!(
        slow_bodies.iter().all(|s| *s == Some(408) || s.is_none()),
        "a slow body gets 408, or is cut off when the server exits: {slow_bodies:?}"
    );
    assert!(
        peak_kib < MEMORY_LIMIT_KIB,
        "peak memory (VmHWM) {peak_kib} KiB during the burst"
    );
    println!(
        "burst: {} requests from {CLIENTS} connections against a queue of {QUEUE}, with 6 \
         stalled heads, 4 byte-by-byte bodies \
         ({slow_bodies:?}) and 6 silent connections; \
         SIGTERM after {tenth} answers. Answers: {accepted} × 202, {} × 503 ({} of them \
         'shutting down'), {} refused connections, {} cut without answer. Report: {report_accepted} \
         accepted = {completed} completed. Peak VmRSS sampled {max_rss_kib} KiB, VmHWM \
         {peak_kib} KiB. SIGTERM to exit {shutdown:.2?}; test {:.2?}",
        CLIENTS * EACH,
        tally.turned_away,
        tally.closing,
        tally.refused,
        tally.cut,
        started.elapsed()
    );
}

/// Starts `clients` connections that each send `size` bytes of a request head that never ends,
/// and returns them, still open. A client whose connection the server has not accepted yet (it
/// waits in the kernel's backlog) cannot send it all: its write gives up after 1 s.
fn stalled_heads(addr: SocketAddr, clients: usize, size: usize) -> Vec<TcpStream> {
    let threads: Vec<_> = (0..clients)
        .map(|_| {
            std::thread::spawn(move || {
                let mut stream = connect(addr).expect("the stalled client connects");
                stream
                    .set_write_timeout(Some(Duration::from_secs(1)))
                    .unwrap();
                let mut head = b"POST /tasks HTTP/1.1\r\nHost: test\r\nX-Padding: ".to_vec();
                head.resize(size, b'a');
                // Refused or cut short once the kernel's buffers for an unaccepted connection
                // are full: either way the client holds on.
                let _ = stream.write_all(&head);
                stream
            })
        })
        .collect();
    threads
        .into_iter()
        .map(|t| t.join().expect("a stalled client does not panic"))
        .collect()
}

#[test]
fn beyond_max_connections_clients_wait_in_the_backlog_and_memory_stays_bounded() {
    const CAP: usize = 8;
    const CLIENTS: usize = 64;
    const HEAD: usize = 256 * 1024;
    // A server without the cap keeps every stalled head: 64 × 256 KiB, 16 MiB and more. With a
    // cap of 8 it holds at most 8 of them, about 2 MiB; the limit sits well between the two.
    const GROWTH_LIMIT_KIB: u64 = 8 * 1024;
    let cap = CAP.to_string();
    let mut server = Server::start(&["--max-connections", &cap, "--request-timeout-ms", "2000"]);
    let addr = server.addr;
    let before = server.peak_memory_kib();
    let watch = MemoryWatch::start(server.child.id());
    let started = Instant::now();
    let stalled = stalled_heads(addr, CLIENTS, HEAD);
    // Every accepted client has handed its head over by now (its write completed). Not a
    // synchronisation: VmHWM only grows, so a server slower to read can only make the figure
    // smaller; this pause gives a server without the cap time to show what it holds.
    std::thread::sleep(Duration::from_millis(300));
    let (max_rss, hwm) = watch.finish();
    let grew = hwm.saturating_sub(before);
    // The stalled clients give up; their places free up, and the server answers again.
    drop(stalled);
    let reply = within(
        Duration::from_secs(20),
        "GET /metrics after the stalled clients left",
        "does a closed connection give its place back?",
        move || get(addr, "/metrics"),
    );
    assert_eq!(reply.status, 200, "{reply:?}");
    server.signal("TERM");
    let (code, printed) = server.finish(Duration::from_secs(20));
    assert_eq!(code, Some(0), "{printed}");
    println!(
        "connection cap: {CLIENTS} clients each sending {} KiB of a head that never ends, \
         --max-connections {CAP}: VmHWM {before} KiB before, {hwm} KiB after (+{grew} KiB), peak \
         VmRSS {max_rss} KiB; answered again once they left; test {:.2?}",
        HEAD / 1024,
        started.elapsed()
    );
    assert!(
        grew < GROWTH_LIMIT_KIB,
        "{CLIENTS} stalled heads of {} KiB grew the server by {grew} KiB with at most {CAP} \
         connections open: are connections beyond --max-connections still accepted?",
        HEAD / 1024
    );
}
