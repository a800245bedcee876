//! The real `lesson-6` binary, driven the way a client and an operator would: started on a free
//! loopback port, read line by line, sent signals with `kill`. Shared by `server.rs` and
//! `hostile.rs`; each uses only part of it.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_lesson-6");

/// The running binary, with its stdout arriving line by line.
pub struct Server {
    pub child: Child,
    pub addr: SocketAddr,
    lines: Receiver<String>,
    seen: Vec<String>,
}

impl Server {
    /// Starts `lesson-6 --addr 127.0.0.1:0 ARGS` and reads the address it really bound from its
    /// `listening on http://…` line.
    pub fn start(args: &[&str]) -> Server {
        Server::start_with_env(args, &[])
    }

    /// [`Server::start`] with environment variables set, such as `COURSE_LOG=json`, and
    /// `COURSE_LOG` and `RUST_LOG` removed unless given. In the structured form the `listening
    /// on` line is JSON, and the address is its field `addr`.
    pub fn start_with_env(args: &[&str], env: &[(&str, &str)]) -> Server {
        let mut command = Command::new(BIN);
        command.env_remove("COURSE_LOG").env_remove("RUST_LOG");
        command.envs(env.iter().copied());
        let mut child = command
            .args(["--addr", "127.0.0.1:0"])
            .args(args)
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start lesson-6");
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = std::sync::mpsc::channel();
        // Reads all the time, so the server never blocks on a full pipe.
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let mut server = Server {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            lines,
            seen: Vec::new(),
        };
        let line = server.wait_for("listening on http://");
        let addr = match serde_json::from_str::<serde_json::Value>(&line) {
            Ok(json) => json["addr"].as_str().unwrap_or_default().to_string(),
            Err(_) => line["listening on http://".len()..].trim().to_string(),
        };
        server.addr = addr
            .parse()
            .unwrap_or_else(|_| panic!("no address in: {line}"));
        server
    }

    /// Reads output until a line contains `text`, for at most 10 s; returns that line.
    pub fn wait_for(&mut self, text: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if line.contains(text) {
                        return line;
                    }
                }
                Err(RecvTimeoutError::Timeout) | Err(RecvTimeoutError::Disconnected) => {
                    let _ = self.child.kill();
                    panic!(
                        "lesson-6 never printed {text:?} within 10 s (did it exit, or is it \
                         stuck?); it printed:\n{}",
                        self.seen.join("\n")
                    );
                }
            }
        }
    }

    pub fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .args([&format!("-{name}"), &self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -{name} failed");
    }

    /// Waits at most `limit` for the process to exit; returns its code and everything it printed.
    pub fn finish(&mut self, limit: Duration) -> (Option<i32>, String) {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                // The reader thread ends at EOF, which closes the channel.
                self.seen.extend(self.lines.iter());
                return (status.code(), self.seen.join("\n"));
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                while let Ok(line) = self.lines.recv_timeout(Duration::from_millis(100)) {
                    self.seen.push(line);
                }
                panic!(
                    "lesson-6 did not exit within {limit:?} of being told to stop: is the drain \
                     waiting for a queue that never closes, or is a stalled client holding the \
                     graceful shutdown? It printed:\n{}",
                    self.seen.join("\n")
                );
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// A field of `/proc/PID/status` in KiB, such as `VmRSS` (resident now) or `VmHWM` (the
    /// most it has ever been resident), or `None` once the process is gone.
    pub fn memory_kib(pid: u32, field: &str) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
        status
            .lines()
            .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
    }

    /// The most memory the server has held at once (`VmHWM`, the resident set's high-water
    /// mark), in KiB.
    pub fn peak_memory_kib(&self) -> u64 {
        Server::memory_kib(self.child.id(), "VmHWM").expect("the server is running on Linux")
    }
}

impl Drop for Server {
    /// A failed test must not leave a server running.
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
