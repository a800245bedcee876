//! `cargo run -p lesson-6`: an HTTP job queue that says "503, come back later" when it is full
//! and finishes every task it accepted when told to stop. `--demo` sends itself a burst of tasks.

use clap::Parser;
use course_support::log::{self, Format};
use course_support::{cli, human, svg, timeline, workload};
use lesson_6::{Config, DeadlineListener, Report, TaskQueue, TaskState, router_with_timeout};
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::{Duration, SystemTime};
use tokio_util::sync::CancellationToken;

/// Lesson 6: an HTTP job queue. POST /tasks queues a task, GET /tasks/{id} follows it, GET
/// /metrics counts them for Prometheus (GET /metrics.json in JSON). Ctrl-C or SIGTERM once: stop
/// accepting and finish every accepted task; twice: stop now.
#[derive(Parser)]
#[command(version, about)]
struct Args {
    /// Address to listen on [default: 127.0.0.1:8081, or a free port with --demo]. Loopback
    /// addresses are reachable from this machine only; 0.0.0.0 opens it to your network.
    #[arg(long, value_parser = address)]
    addr: Option<SocketAddr>,
    /// How many workers (tokio tasks) take tasks from the queue (1 to 1024).
    #[arg(long, default_value = "4", value_parser = cli::workers, allow_negative_numbers = true)]
    workers: usize,
    /// How many tasks may wait in the queue; when it is full, POST /tasks answers 503 (1 to 1000000).
    #[arg(long, default_value = "16", value_parser = cli::capacity, allow_negative_numbers = true)]
    queue: usize,
    /// How long a client may take to send a request's body, in milliseconds; a slower one gets
    /// 408. A connection that sends no whole request in twice this time is closed (100 to 60000).
    #[arg(long, default_value = "10000", value_parser = request_timeout, allow_negative_numbers = true)]
    request_timeout_ms: Duration,
    /// How many client connections may be open at once; more wait until one closes (1 to 100000).
    #[arg(long, default_value = "1024", value_parser = max_connections, allow_negative_numbers = true)]
    max_connections: usize,
    /// Send the server a burst of tasks and some bad requests, then shut down as SIGTERM would.
    #[arg(long)]
    demo: bool,
    /// Seed for the demo's task lengths and failures: the same seed replays the same burst.
    #[arg(long, default_value = "1")]
    seed: u64,
    #[command(flatten)]
    picture: svg::SvgFlag,
    /// How to print what happens: readable (the lines the book shows) or json (one object a
    /// line, each task's id and worker in fields of their own, for log tools). Also read from
    /// COURSE_LOG. RUST_LOG chooses which events, such as warn or lesson_6=debug (default: info)
    // `course_support::log::LogFlags` is the same flag, worded for lessons 10 and 11, whose jobs
    // have attempts; its help would also switch this whole `--help` to its long layout.
    #[arg(
        long,
        value_name = "FORMAT",
        env = "COURSE_LOG",
        hide_env = true,
        default_value = "readable",
        value_parser = log_format
    )]
    log_format: Format,
}

/// A socket address such as `127.0.0.1:8081`; `localhost:PORT` is taken to mean 127.0.0.1.
fn address(s: &str) -> Result<SocketAddr, String> {
    let s = s.trim();
    let s = match s.strip_prefix("localhost:") {
        Some(port) => format!("127.0.0.1:{port}"),
        None => s.to_string(),
    };
    s.parse()
        .map_err(|_| "expected an address and a port, such as 127.0.0.1:8081".to_string())
}

/// A request timeout, 100 to 60000 ms: below 100 ms, ordinary requests on a busy machine would be
/// cut off.
fn request_timeout(s: &str) -> Result<Duration, String> {
    match cli::millis(s)? {
        limit if limit < Duration::from_millis(100) => {
            Err("at least 100 ms, or ordinary requests would be cut off".into())
        }
        limit => Ok(limit),
    }
}

/// `readable` or `json`.
fn log_format(s: &str) -> Result<Format, String> {
    match s.trim() {
        "readable" => Ok(Format::Readable),
        "json" => Ok(Format::Json),
        _ => Err("expected readable or json".into()),
    }
}

/// A connection cap, 1 to 100000.
fn max_connections(s: &str) -> Result<usize, String> {
    match s.trim().parse::<usize>() {
        Ok(n @ 1..=100_000) => Ok(n),
        _ => Err("expected a whole number of connections from 1 to 100000".into()),
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let args: Args = cli::parse();
    // Listening for signals replaces their default action (ending the process), so it starts
    // before anything else: no SIGTERM can arrive in between and kill a half-started server.
    let signals = match Signals::listen() {
        Ok(signals) => signals,
        Err(err) => {
            eprintln!("error: cannot listen for signals: {err}");
            return ExitCode::FAILURE;
        }
    };
    // ANCHOR: log_init
    // The workers and handlers log through `tracing`; this prints their events, in the form
    // asked for, with times counted from now.
    let format = args.log_format;
    if let Err(err) = log::init(format, SystemTime::now()) {
        eprintln!("error: {err}");
        return ExitCode::FAILURE;
    }
    // ANCHOR_END: log_init
    let addr = match (args.addr, args.demo) {
        (Some(addr), _) => addr,
        (None, false) => SocketAddr::from(([127, 0, 0, 1], 8081)),
        (None, true) => SocketAddr::from(([127, 0, 0, 1], 0)),
    };
    let listener = match tokio::net::TcpListener::bind(addr).await {
        Ok(listener) => listener,
        Err(err) => {
            eprintln!("error: cannot listen on {addr}: {err} (is another server using it?)");
            return ExitCode::FAILURE;
        }
    };
    let local = listener
        .local_addr()
        .expect("a bound listener has an address");

    if args.demo {
        say(format, "Lesson 6: an HTTP job queue (demo)");
        say(
            format,
            &format!(
                "{} workers and a queue of {}. The workers start paused, so the burst below meets \
                 a queue that nobody is emptying yet.",
                args.workers, args.queue
            ),
        );
    } else {
        say(format, "Lesson 6: an HTTP job queue");
        say(
            format,
            &format!("{} workers and a queue of {}.", args.workers, args.queue),
        );
    }
    let queue = TaskQueue::start(Config {
        workers: args.workers,
        capacity: args.queue,
        paused: args.demo,
    });
    // ANCHOR: serve
    let graceful = CancellationToken::new();
    let stop_now = queue.stop_now_token();
    tokio::spawn(signals.watch(format, graceful.clone(), stop_now.clone()));

    match format {
        Format::Readable => println!("listening on http://{local}"),
        Format::Json => tracing::info!(addr = %local, "listening on http://{local}"),
    }
    if !local.ip().is_loopback() {
        let warning = "not a loopback address: anyone who can reach this machine can send tasks";
        match format {
            Format::Readable => println!("({warning})"),
            Format::Json => tracing::warn!(addr = %local, "{warning}"),
        }
    }
    // `with_graceful_shutdown`: once `graceful` is cancelled, the server closes its listener
    // (new connections are refused), answers the requests it is in the middle of, closes idle
    // connections, and only then does this future complete.
    // New: connections that never send a whole request are closed (see `DeadlineListener`),
    // and a body that trickles in is answered 408 (see `router_with_timeout`).
    let listener = DeadlineListener::new(listener, args.request_timeout_ms, args.max_connections);
    let app = router_with_timeout(queue.handle(), args.request_timeout_ms);
    let server =
        axum::serve(listener, app).with_graceful_shutdown(graceful.clone().cancelled_owned());
    let serving = async {
        tokio::select! {
            served = server => served,
            // A second signal while connections are still open: stop waiting for them.
            () = stop_now.cancelled() => Ok(()),
        }
    };
    // ANCHOR_END: serve
    let served = if args.demo {
        let (served, demo) = tokio::join!(serving, demo::run(local, &args, &queue, &graceful));
        if let Err(err) = demo {
            eprintln!("error: the demo failed: {err}");
            return ExitCode::FAILURE;
        }
        served
    } else {
        // Hints for a person at a terminal; a log tool has no use for them.
        if format == Format::Readable {
            print_hints(local);
        }
        serving.await
    };
    if let Err(err) = served {
        eprintln!("error: the server stopped: {err}");
    }

    // ANCHOR: drain
    let now = queue.handle().metrics();
    say(
        format,
        "\nStopped accepting: the listener is closed and every open request has been answered.",
    );
    say(
        format,
        &format!(
            "Finishing what was accepted: {} queued and {} running tasks.",
            now.queued, now.running
        ),
    );
    // Closes the queue and waits for the workers: they run everything still queued, or, if a
    // second signal cancels `stop_now` meanwhile, abandon it.
    let report = queue.shutdown().await;
    match format {
        Format::Readable => print_report(&report, args.workers),
        Format::Json => log_report(&report),
    }
    let title = format!(
        "Lesson 6: {} workers behind an HTTP queue; red tasks failed or were interrupted",
        args.workers
    );
    args.picture
        .draw_workers(&report.spans(), args.workers, &title);
    if report.count(TaskState::Abandoned) > 0 || report.lost() > 0 {
        // The conventional code for "stopped by Ctrl-C" (128 + SIGINT): work was left undone.
        ExitCode::from(130)
    } else {
        ExitCode::SUCCESS
    }
    // ANCHOR_END: drain
}

fn print_hints(local: SocketAddr) {
    println!("Try, from another terminal:");
    println!("  curl -i --json '{{\"duration_ms\": 2000}}' http://{local}/tasks");
    println!("  curl -i http://{local}/tasks/1");
    println!("  curl -i http://{local}/metrics");
    println!("  curl -i http://{local}/metrics.json");
    println!("Ctrl-C once: stop accepting and finish every accepted task. Twice: stop now.\n");
}

// ANCHOR: say
/// A line the server says about itself: printed as it is in the readable form; in the structured
/// form an `info` event (without the blank line before it), so that every line is JSON.
fn say(format: Format, line: &str) {
    match format {
        Format::Readable => println!("{line}"),
        Format::Json => tracing::info!("{}", line.trim_start_matches('\n')),
    }
}
// ANCHOR_END: say

/// `task 8` or `tasks 3, 8, 11`.
fn tasks(ids: Vec<u64>) -> String {
    let ids: Vec<String> = ids.iter().map(u64::to_string).collect();
    match ids.len() {
        1 => format!("task {}", ids[0]),
        _ => format!("tasks {}", ids.join(", ")),
    }
}

/// `Report: 16 accepted = 15 completed + 1 failed + 0 abandoned; 8 turned away with 503.`
fn report_line(report: &Report) -> String {
    format!(
        "Report: {} accepted = {} completed + {} failed + {} abandoned; {} turned away with 503.",
        report.accepted(),
        report.count(TaskState::Done),
        report.count(TaskState::Failed),
        report.count(TaskState::Abandoned),
        report.metrics.rejected
    )
}

/// The report in the structured form: one event, its counts and ids in fields of their own,
/// and no picture in the terminal (`--svg` still draws one). An `ERROR` if a task was lost (a
/// worker panicked), a `WARN` if some were abandoned (exit code 130), else `INFO`.
fn log_report(report: &Report) {
    let message = report_line(report);
    let failed = report.ids(TaskState::Failed);
    let abandoned = report.ids(TaskState::Abandoned);
    // A level must be a constant in `tracing`'s macros, so the one event is written once here.
    macro_rules! report {
        ($level:expr) => {
            tracing::event!(
                $level,
                accepted = report.accepted(),
                completed = report.count(TaskState::Done),
                failed = failed.len(),
                abandoned = abandoned.len(),
                rejected = report.metrics.rejected,
                lost = report.lost(),
                failed_ids = ?failed,
                abandoned_ids = ?abandoned,
                "{message}"
            )
        };
    }
    if report.lost() > 0 {
        report!(tracing::Level::ERROR);
    } else if !abandoned.is_empty() {
        report!(tracing::Level::WARN);
    } else {
        report!(tracing::Level::INFO);
    }
}

fn print_report(report: &Report, workers: usize) {
    println!("\n{}", report_line(report));
    if report.count(TaskState::Failed) > 0 {
        println!("Failed: {}", tasks(report.ids(TaskState::Failed)));
    }
    let (interrupted, never_started): (Vec<_>, Vec<_>) = report
        .tasks
        .iter()
        .filter(|t| t.state == TaskState::Abandoned)
        .partition(|t| t.started.is_some());
    if !interrupted.is_empty() {
        let ids = interrupted.iter().map(|t| t.id).collect();
        println!("Abandoned while running (interrupted): {}", tasks(ids));
    }
    if !never_started.is_empty() {
        let ids = never_started.iter().map(|t| t.id).collect();
        println!("Abandoned before they started: {}", tasks(ids));
    }
    if report.lost() > 0 {
        println!(
            "Lost: {} tasks never ended, because a worker panicked.",
            report.lost()
        );
    }
    println!(
        "\nThe run, one row per worker (each box is a task; failed or interrupted ones are \
         filled with !):"
    );
    print!(
        "{}",
        timeline::render(&report.spans(), workers, timeline::Style::for_stdout())
    );
}

// ANCHOR: signals
/// SIGINT (Ctrl-C) and SIGTERM (what `kill`, systemd, Docker and Kubernetes send) mean the same
/// here: the first asks for a graceful shutdown, the second for stop-now.
struct Signals {
    /// SIGINT, what Ctrl-C sends.
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
    /// SIGTERM, what service managers send.
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
}

impl Signals {
    fn listen() -> std::io::Result<Signals> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Ok(Signals {
                interrupt: signal(SignalKind::interrupt())?,
                terminate: signal(SignalKind::terminate())?,
            })
        }
        #[cfg(not(unix))]
        Ok(Signals {})
    }

    async fn next(&mut self) -> &'static str {
        #[cfg(unix)]
        {
            tokio::select! {
                _ = self.interrupt.recv() => "Ctrl-C (SIGINT)",
                _ = self.terminate.recv() => "SIGTERM",
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
            "Ctrl-C"
        }
    }

    async fn watch(
        mut self,
        format: Format,
        graceful: CancellationToken,
        stop_now: CancellationToken,
    ) {
        let first = self.next().await;
        say(
            format,
            &format!(
                "\n{first}: no new connections; open requests get their answer and every \
                 accepted task is finished. Send it again to stop now."
            ),
        );
        graceful.cancel();
        let second = self.next().await;
        say(
            format,
            &format!(
                "\n{second}: stopping now; queued tasks will not start, running ones are \
                 interrupted."
            ),
        );
        stop_now.cancel();
    }
}
// ANCHOR_END: signals

/// `--demo`: the server sends itself requests over a real socket, with a tiny HTTP client.
mod demo {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// One answer: the status line's code and text, the headers, the body.
    pub struct Reply {
        pub status: u16,
        pub reason: String,
        pub headers: Vec<(String, String)>,
        pub body: String,
    }

    impl Reply {
        fn header(&self, name: &str) -> Option<&str> {
            self.headers
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.as_str())
        }

        fn line(&self) -> String {
            format!("{} {}", self.status, self.reason)
        }
    }

    /// Sends one HTTP/1.1 request on a new connection and reads the whole answer, for at most
    /// 5 s. `Connection: close` means the answer ends when the server closes the connection.
    pub async fn send(
        addr: SocketAddr,
        method: &str,
        path: &str,
        content_type: Option<&str>,
        body: &str,
    ) -> Result<Reply, String> {
        let exchange = async {
            let mut stream = tokio::net::TcpStream::connect(addr).await?;
            let mut request =
                format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
            if let Some(content_type) = content_type {
                request.push_str(&format!("Content-Type: {content_type}\r\n"));
            }
            request.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
            // A server may answer (413) and close before reading all of a large body, so a
            // failed write is not yet a failure: the answer may be waiting to be read.
            let _ = stream.write_all(request.as_bytes()).await;
            let mut raw = Vec::new();
            // A server that answers before reading the whole body (413) may reset the
            // connection after its answer; what arrived before the reset is still the answer.
            if let Err(err) = stream.read_to_end(&mut raw).await {
                if !raw.windows(4).any(|w| w == b"\r\n\r\n") {
                    return Err(err);
                }
            }
            Ok::<_, std::io::Error>(raw)
        };
        let raw = tokio::time::timeout(Duration::from_secs(5), exchange)
            .await
            .map_err(|_| format!("{method} {path} got no answer within 5 s"))?
            .map_err(|e| format!("{method} {path}: {e}"))?;
        let text = String::from_utf8_lossy(&raw);
        let (head, body) = text
            .split_once("\r\n\r\n")
            .ok_or_else(|| format!("{method} {path}: not an HTTP answer: {text:?}"))?;
        let mut lines = head.lines();
        let status_line = lines.next().unwrap_or_default();
        let mut parts = status_line.splitn(3, ' ');
        let _version = parts.next();
        let status = parts
            .next()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| format!("{method} {path}: bad status line {status_line:?}"))?;
        let reason = parts.next().unwrap_or_default().to_string();
        let headers = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(n, v)| (n.trim().to_string(), v.trim().to_string()))
            .collect();
        Ok(Reply {
            status,
            reason,
            headers,
            body: body.to_string(),
        })
    }

    const JSON: Option<&str> = Some("application/json");

    /// The demo's script. The workers are paused until the burst is in, so exactly `queue`
    /// tasks are accepted and the rest get 503, on every machine and every run: with the workers
    /// running, how many tasks they had taken out of the queue by the time the last request
    /// arrived would depend on the scheduler.
    pub async fn run(
        addr: SocketAddr,
        args: &Args,
        queue: &TaskQueue,
        graceful: &CancellationToken,
    ) -> Result<(), String> {
        // Whatever happens below, the server is told to stop, so the demo never hangs.
        let _stop = graceful.clone().drop_guard();
        let burst = args.queue + 8;
        let specs = workload::jobs(burst, args.seed, Duration::from_millis(100), 10);
        println!(
            "\nPOST /tasks, {burst} times in a row (seed {}: each takes 50 ms to 150 ms, about \
             1 in 10 fails):",
            args.seed
        );
        let mut replies = Vec::new();
        for spec in &specs {
            let body = format!(
                "{{\"duration_ms\": {}, \"fail\": {}}}",
                spec.work.as_millis(),
                spec.fails
            );
            replies.push(send(addr, "POST", "/tasks", JSON, &body).await?);
        }
        print_runs(&replies);
        let first = send(addr, "GET", "/tasks/1", None, "").await?;
        println!("GET /tasks/1 → {} {}", first.line(), first.body);

        println!("\nBad requests get an error that says what is wrong:");
        let big = format!(
            "{{\"duration_ms\": 200, \"padding\": \"{}\"}}",
            "x".repeat(20_000)
        );
        let bad: [(&str, &str, Option<&str>, &str, &str); 9] = [
            ("POST", "/tasks", JSON, "{\"duration_ms\": 90000}", ""),
            (
                "POST",
                "/tasks",
                JSON,
                "{\"duration_ms\": 200",
                " (no closing brace)",
            ),
            (
                "POST",
                "/tasks",
                JSON,
                "{\"duraton_ms\": 200}",
                " (misspelt)",
            ),
            (
                "POST",
                "/tasks",
                None,
                "{\"duration_ms\": 200}",
                " (no Content-Type)",
            ),
            ("POST", "/tasks", JSON, &big, " (20 KiB)"),
            ("GET", "/tasks/abc", None, "", ""),
            ("GET", "/tasks/99", None, "", ""),
            ("DELETE", "/tasks/1", None, "", ""),
            ("GET", "/task/1", None, "", " (the Go article's route)"),
        ];
        for (method, path, content_type, body, note) in bad {
            let reply = send(addr, method, path, content_type, body).await?;
            let shown = if body.is_empty() || body.len() > 40 {
                String::new()
            } else {
                format!(" {body}")
            };
            let allow = reply
                .header("Allow")
                .map(|a| format!(", Allow: {a}"))
                .unwrap_or_default();
            println!(
                "{method} {path}{shown}{note} → {}{allow}\n    {}",
                reply.line(),
                reply.body
            );
        }

        println!("\nThe workers start:");
        queue.resume();
        let metrics = wait_until_idle(addr, &specs).await?;
        println!("All done: nothing queued, nothing running.");
        println!("GET /metrics.json → {} {}", metrics.line(), metrics.body);
        print_scrape(&send(addr, "GET", "/metrics", None, "").await?);
        let mut states: Vec<(u64, String)> = Vec::new();
        for id in 1..=args.queue as u64 {
            let reply = send(addr, "GET", &format!("/tasks/{id}"), None, "").await?;
            let task: serde_json::Value =
                serde_json::from_str(&reply.body).map_err(|e| e.to_string())?;
            states.push((id, task["state"].as_str().unwrap_or("?").to_string()));
        }
        let count = |state: &str| states.iter().filter(|(_, s)| s == state).count();
        let failed: Vec<String> = states
            .iter()
            .filter(|(_, s)| s == "failed")
            .map(|(id, _)| id.to_string())
            .collect();
        println!(
            "GET /tasks/1 to /tasks/{}: {} done, {} failed ({}).",
            args.queue,
            count("done"),
            count("failed"),
            failed.join(", ")
        );
        println!("\nShutting down as SIGTERM would.");
        Ok(())
    }

    /// Prints the burst's answers, one line per run of equal statuses, with the first answer
    /// of each run in full.
    fn print_runs(replies: &[Reply]) {
        let mut start = 0;
        while start < replies.len() {
            let first = &replies[start];
            let len = replies[start..]
                .iter()
                .take_while(|r| r.status == first.status)
                .count();
            let mut headers = String::new();
            for name in ["Location", "Retry-After"] {
                if let Some(value) = first.header(name) {
                    headers.push_str(&format!("{name}: {value}, "));
                }
            }
            println!(
                "  requests {} to {} → {}\n    the first: {headers}{}",
                start + 1,
                start + len,
                first.line(),
                first.body
            );
            start += len;
        }
    }

    /// `GET /metrics` as Prometheus reads it, without its `# HELP` and `# TYPE` lines and the
    /// histograms' buckets: one line per number, each the same count as in the JSON.
    fn print_scrape(reply: &Reply) {
        let lines: Vec<&str> = reply.body.lines().collect();
        println!(
            "GET /metrics → {}, Content-Type: {}; {} lines, here without the # HELP and # TYPE \
             lines and the histograms' buckets:",
            reply.line(),
            reply.header("Content-Type").unwrap_or("none"),
            lines.len()
        );
        for line in lines {
            if !line.starts_with('#') && !line.contains("_bucket{") {
                println!("    {line}");
            }
        }
    }

    /// Polls `GET /metrics.json` until no task is queued or running, for at most all the burst's
    /// work done one task at a time, plus 10 s.
    async fn wait_until_idle(
        addr: SocketAddr,
        specs: &[workload::JobSpec],
    ) -> Result<Reply, String> {
        let limit = specs.iter().map(|s| s.work).sum::<Duration>() + Duration::from_secs(10);
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let reply = send(addr, "GET", "/metrics.json", None, "").await?;
            let metrics: serde_json::Value =
                serde_json::from_str(&reply.body).map_err(|e| e.to_string())?;
            if metrics["queued"] == 0 && metrics["running"] == 0 {
                return Ok(reply);
            }
            if tokio::time::Instant::now() > deadline {
                return Err(format!(
                    "the workers did not empty the queue within {}: {}",
                    human(limit),
                    reply.body
                ));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}
