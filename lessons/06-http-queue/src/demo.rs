//! `--demo`: the server sends itself requests over a real socket, with a tiny HTTP client
//! (`client.rs`).

use crate::Args;
use crate::client::{Reply, send};
use course_support::{human, workload};
use lesson_6::TaskQueue;
use std::net::SocketAddr;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

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
        count("completed"),
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
async fn wait_until_idle(addr: SocketAddr, specs: &[workload::JobSpec]) -> Result<Reply, String> {
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
