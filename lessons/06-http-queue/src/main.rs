//! `cargo run -p lesson-6`: an HTTP job queue that says "503, come back later" when it is full
//! and finishes every task it accepted when told to stop. `--demo` sends itself a burst of tasks.

mod client;
mod demo;
mod signals;
mod summary;

use clap::Parser;
use course_support::log::{self, Format};
use course_support::{cli, svg};
use lesson_6::{Config, DeadlineListener, TaskQueue, TaskState, router_with_timeout};
use signals::Signals;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::{Duration, SystemTime};
use summary::{log_report, print_report};
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
    cli::quiet_on_closed_stdout();
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
    // second signal cancels `stop_now` meanwhile, cancel it.
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
    if report.count(TaskState::Cancelled) > 0 || report.lost() > 0 {
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
