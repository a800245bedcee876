//! A PostgreSQL server for lesson 11: the one given in `DATABASE_URL`, or a throwaway one started
//! in a temporary folder from the PostgreSQL programs installed on this machine.
//!
//! The tests, the demo and `.ci/run` all come here, so there is one way to find or start a
//! server. A throwaway server runs under a small shell that owns it: the shell reads commands on
//! its standard input (`restart` stops the server the way a crash would and starts it again), and
//! when that input closes, because the program that started it ended in any way at all, even
//! killed, the shell stops the server and deletes its folder. Nothing is left behind.
//!
//! Without PostgreSQL's programs, [`find_or_start`] says what to install; tests then skip, and say
//! so on the terminal, unless `COURSE_REQUIRE_POSTGRES=1` is set (as `.ci/run` does), when a
//! missing server fails them.

use std::io::{BufRead as _, BufReader, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The one line that tells a person how to get a server.
pub const HOW_TO_INSTALL: &str = "PostgreSQL's programs (initdb, postgres) are not installed: \
     install them (Debian/Ubuntu: `apt install postgresql`, macOS: `brew install postgresql`) or \
     pass a server with --database-url / DATABASE_URL";

/// A server to use: given by the environment, or started here and stopped when dropped.
pub struct Server {
    url: String,
    throwaway: Option<Throwaway>,
}

struct Throwaway {
    /// The shell that owns the server; its standard input is our line to it.
    shell: Child,
    commands: Mutex<ChildStdin>,
    /// Lines the shell prints: `ready` after each start.
    ready: Mutex<std::sync::mpsc::Receiver<String>>,
    bin: PathBuf,
    port: u16,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server").field("url", &self.url).finish()
    }
}

impl Server {
    /// The URL of the server's `postgres` database.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Whether this server was started here (and so can be restarted here).
    pub fn is_throwaway(&self) -> bool {
        self.throwaway.is_some()
    }

    /// A new, empty database on the server, and its URL. Every test takes one, so tests never see
    /// each other's rows.
    pub fn fresh_database(&self, name: &str) -> Result<String, String> {
        let psql = self.program("psql");
        let out = Command::new(&psql)
            .arg(&self.url)
            .args(["-X", "-q", "-v", "ON_ERROR_STOP=1"])
            // Two commands, since DROP DATABASE refuses to run inside a transaction block.
            .arg("-c")
            .arg(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .arg("-c")
            .arg(format!("CREATE DATABASE {name}"))
            .output()
            .map_err(|e| format!("could not run {}: {e}", psql.display()))?;
        if !out.status.success() {
            return Err(format!(
                "could not create database {name}: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        Ok(with_database(&self.url, name))
    }

    /// Stops the server as a crash would (`pg_ctl stop -m immediate`: no checkpoint, so the next
    /// start runs crash recovery) and starts it again on the same port; returns once it accepts
    /// connections. Only for a throwaway server.
    pub fn restart_immediate(&self) -> Result<(), String> {
        let t = self
            .throwaway
            .as_ref()
            .ok_or("only a server started here can be restarted here")?;
        writeln!(t.commands.lock().expect("never poisoned"), "restart")
            .map_err(|e| format!("the server's shell is gone: {e}"))?;
        t.wait_ready(Duration::from_secs(30))
    }

    fn program(&self, name: &str) -> PathBuf {
        match &self.throwaway {
            Some(t) => t.bin.join(name),
            None => bin_dir().map_or_else(|| PathBuf::from(name), |d| d.join(name)),
        }
    }

    /// The port a throwaway server listens on, on 127.0.0.1.
    pub fn port(&self) -> Option<u16> {
        self.throwaway.as_ref().map(|t| t.port)
    }
}

impl Throwaway {
    fn wait_ready(&self, limit: Duration) -> Result<(), String> {
        let lines = self.ready.lock().expect("never poisoned");
        let deadline = Instant::now() + limit;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match lines.recv_timeout(left) {
                Ok(line) if line == "ready" => return Ok(()),
                Ok(line) if line.starts_with("failed") => {
                    return Err(format!("the throwaway server did not start: {line}"));
                }
                Ok(_) => {}
                Err(_) => {
                    return Err(format!(
                        "the throwaway server was not ready within {limit:?}: is the machine \
                         out of memory or disk?"
                    ));
                }
            }
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut t) = self.throwaway.take() {
            // Closing its input tells the shell to stop the server and delete the folder.
            drop(t.commands);
            let deadline = Instant::now() + Duration::from_secs(20);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = t.shell.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = t.shell.kill();
        }
    }
}

/// Where PostgreSQL's server programs are: `pg_config --bindir`, the newest
/// `/usr/lib/postgresql/*/bin` (Debian), or a folder on `PATH` with `initdb` in it.
///
/// `COURSE_POSTGRES_BIN=DIR` overrides the search (tests use a folder without the programs to see
/// what a machine without PostgreSQL does).
pub fn bin_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("COURSE_POSTGRES_BIN") {
        let dir = PathBuf::from(dir);
        return dir.join("initdb").is_file().then_some(dir);
    }
    if let Ok(out) = Command::new("pg_config").arg("--bindir").output() {
        let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        if out.status.success() && dir.join("initdb").is_file() {
            return Some(dir);
        }
    }
    let mut debian: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let version = e.file_name().to_string_lossy().parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").is_file().then_some((version, bin))
        })
        .collect();
    debian.sort();
    if let Some((_, bin)) = debian.pop() {
        return Some(bin);
    }
    std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .find(|d| d.join("initdb").is_file() && d.join("postgres").is_file())
    })
}

/// The server in `DATABASE_URL` if it is set, else a throwaway one started now. `Err` says what
/// is missing and how to get it (one line).
pub fn find_or_start() -> Result<Server, String> {
    if let Ok(url) = std::env::var("DATABASE_URL") {
        if !url.trim().is_empty() {
            return Ok(Server {
                url,
                throwaway: None,
            });
        }
    }
    start()
}

/// For tests: the server, or `None` after saying on the terminal what did not run and how to run
/// it. With `COURSE_REQUIRE_POSTGRES=1` (set by `.ci/run`) a missing server fails the test
/// instead: in CI nothing is skipped.
pub fn for_tests(what: &str) -> Option<Server> {
    match find_or_start() {
        Ok(server) => Some(server),
        Err(why) if std::env::var("COURSE_REQUIRE_POSTGRES").is_ok_and(|v| v == "1") => {
            panic!(
                "{what} need PostgreSQL, and COURSE_REQUIRE_POSTGRES=1 says it must be here: {why}"
            )
        }
        Err(why) => {
            // Written to the terminal directly: cargo test hides what a passing test prints.
            let _ = writeln!(
                std::io::stderr(),
                "\nNOT RUN: {what} ({why}). They pass without running; `bash .ci/run` installs \
                 PostgreSQL and runs them."
            );
            None
        }
    }
}

/// For an exercise's tests, which the exercise and its solution share: the server, or, without
/// one, a NOT RUN line and `None` for the solution (a plain `cargo test` must pass on a machine
/// without PostgreSQL) but a failure for the student's exercise, since a test that did not run
/// cannot say the student's code is right. `package` is the crate under test
/// (`env!("CARGO_PKG_NAME")` in the test file).
pub fn for_exercise(what: &str, package: &str) -> Option<Server> {
    if package.ends_with("-solution") {
        return for_tests(what);
    }
    match find_or_start() {
        Ok(server) => Some(server),
        Err(why) => panic!("{package} needs a PostgreSQL server to test your code: {why}"),
    }
}

/// Starts a throwaway server: `initdb` in a new temporary folder, then `postgres` on a free port of
/// 127.0.0.1 (and a Unix socket in the folder), trusting local connections, under a shell that
/// stops it and deletes the folder when this process lets go of it. As root, the server runs as
/// the `postgres` user, since PostgreSQL refuses to run as root.
pub fn start() -> Result<Server, String> {
    let bin = bin_dir().ok_or_else(|| HOW_TO_INSTALL.to_string())?;
    let port = free_port()?;
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let dir = std::env::temp_dir().join(format!("course-pg-{}-{port}-{nanos}", std::process::id()));
    std::fs::create_dir(&dir).map_err(|e| format!("cannot make {}: {e}", dir.display()))?;
    let as_root = is_root();
    if as_root {
        let ok = Command::new("chown")
            .args(["postgres:postgres"])
            .arg(&dir)
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            let _ = std::fs::remove_dir(&dir);
            return Err(
                "running as root, and there is no `postgres` user to run the server as".into(),
            );
        }
    }
    let script = shell_script(&bin, &dir, port);
    let mut cmd = if as_root {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--", "sh", "-c", &script]);
        c
    } else {
        let mut c = Command::new("sh");
        c.args(["-c", &script]);
        c
    };
    let mut shell = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("could not start the server's shell: {e}"))?;
    let commands = shell.stdin.take().expect("piped");
    let out = shell.stdout.take().expect("piped");
    let (tx, ready) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    let throwaway = Throwaway {
        shell,
        commands: Mutex::new(commands),
        ready: Mutex::new(ready),
        bin,
        port,
    };
    throwaway.wait_ready(Duration::from_secs(60))?;
    Ok(Server {
        url: format!("postgresql://postgres@127.0.0.1:{port}/postgres"),
        throwaway: Some(throwaway),
    })
}

/// The shell that owns a throwaway server. It prints `ready` each time the server accepts
/// connections, restarts it on `restart`, and on end of input stops it and deletes the folder.
fn shell_script(bin: &Path, dir: &Path, port: u16) -> String {
    let (bin, data) = (bin.display(), dir.join("data"));
    let data = data.display();
    let dir = dir.display();
    format!(
        r#"
set -u
"{bin}/initdb" -D "{data}" -U postgres --auth=trust -E UTF8 --no-instructions >"{dir}/initdb.log" 2>&1 \
  || {{ echo "failed: initdb: $(tail -n 1 "{dir}/initdb.log")"; rm -rf "{dir}"; exit 1; }}
start() {{
  "{bin}/postgres" -D "{data}" -p {port} -k "{dir}" -c listen_addresses=127.0.0.1 \
    -c fsync=on -c max_connections=200 >>"{dir}/server.log" 2>&1 &
  pid=$!
  i=0
  until "{bin}/pg_isready" -q -h 127.0.0.1 -p {port}; do
    i=$((i+1)); [ $i -gt 600 ] && {{ echo "failed: not ready: $(tail -n 1 "{dir}/server.log")"; return 1; }}
    sleep 0.05
  done
  echo ready
}}
start
while read -r cmd; do
  case "$cmd" in
    restart) "{bin}/pg_ctl" -D "{data}" -m immediate -w stop >/dev/null 2>&1; wait $pid; start ;;
  esac
done
kill -INT $pid 2>/dev/null; wait $pid
rm -rf "{dir}"
"#
    )
}

fn free_port() -> Result<u16, String> {
    let listener = std::net::TcpListener::bind(("127.0.0.1", 0))
        .map_err(|e| format!("no free port on 127.0.0.1: {e}"))?;
    listener
        .local_addr()
        .map(|a| a.port())
        .map_err(|e| e.to_string())
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// `url` with its database name replaced by `name`.
pub fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let base = match base[scheme_end..].find('/') {
        Some(i) => &base[..scheme_end + i],
        None => base,
    };
    match query {
        Some(q) => format!("{base}/{name}?{q}"),
        None => format!("{base}/{name}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_throwaway_server_starts_restarts_and_leaves_nothing_behind() {
        if std::env::var_os("DATABASE_URL").is_some() {
            return; // this test is about the throwaway server
        }
        let Some(server) = for_tests("the throwaway server's own test") else {
            return;
        };
        let port = server.port().expect("started here");
        let folders = || -> Vec<PathBuf> {
            std::fs::read_dir(std::env::temp_dir())
                .unwrap()
                .flatten()
                .map(|e| e.path())
                .filter(|p| {
                    p.to_string_lossy()
                        .contains(&format!("course-pg-{}-{port}-", std::process::id()))
                })
                .collect()
        };
        assert_eq!(folders().len(), 1, "one folder while it runs");
        let url = server.fresh_database("support_test").unwrap();
        assert!(url.ends_with("/support_test"), "{url}");
        server.restart_immediate().unwrap();
        server.fresh_database("support_test_2").unwrap();
        drop(server);
        assert!(
            folders().is_empty(),
            "the folder is deleted once the server is dropped"
        );
    }

    #[test]
    fn a_database_name_replaces_the_one_in_the_url() {
        assert_eq!(
            with_database("postgresql://u@h:5/postgres", "t1"),
            "postgresql://u@h:5/t1"
        );
        assert_eq!(
            with_database("postgres://u@h:5", "t1"),
            "postgres://u@h:5/t1"
        );
        assert_eq!(
            with_database("postgresql://u@h/db?sslmode=disable", "t2"),
            "postgresql://u@h/t2?sslmode=disable"
        );
    }
}
