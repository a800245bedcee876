//! The schema, and connecting: the session's settings, and a check that the database is this
//! queue's.

use super::steps::Prepared;
use super::{ErrorKind, Store, StoreError};
use lesson_10::backoff::Backoff;
use postgres::{Client, NoTls};
use std::time::Duration;

/// The schema version this lesson reads and writes.
pub const SCHEMA_VERSION: i32 = 1;

// ANCHOR: schema
// New: the same three tables as lesson 10, in PostgreSQL's types, plus a table for the version
// (SQLite kept it in the file's header).
const SCHEMA: &str = "
CREATE TABLE queue_meta (version INT NOT NULL);
CREATE TABLE jobs (
    id           BIGSERIAL PRIMARY KEY,
    payload      TEXT    NOT NULL,
    state        TEXT    NOT NULL,
    attempts     INT     NOT NULL DEFAULT 0,
    max_attempts INT     NOT NULL,
    run_at       BIGINT  NOT NULL,      -- ms on the server's clock
    lease_token  BIGINT,                -- the id in runs of the attempt that holds the job
    lease_until  BIGINT,
    last_error   TEXT,
    key          TEXT UNIQUE,           -- the idempotency key, if any
    CHECK (state IN ('available', 'scheduled', 'running', 'completed',
                     'retryable', 'discarded', 'cancelled'))
);
CREATE INDEX jobs_waiting ON jobs (run_at, id)
    WHERE state IN ('available', 'scheduled', 'retryable');
CREATE INDEX jobs_leased ON jobs (lease_until) WHERE state = 'running';
CREATE TABLE runs (
    id         BIGSERIAL PRIMARY KEY,
    job_id     BIGINT  NOT NULL REFERENCES jobs (id),
    attempt    INT     NOT NULL,
    worker     TEXT    NOT NULL,
    started_at BIGINT  NOT NULL,
    ended_at   BIGINT,
    outcome    TEXT
);
-- New: a worker that lost the server's answer to a claim finds its own open attempts here.
CREATE INDEX runs_open ON runs (worker) WHERE ended_at IS NULL;
CREATE TABLE effects (
    id     BIGSERIAL PRIMARY KEY,
    job_id BIGINT  NOT NULL,
    output TEXT    NOT NULL
);
";
// ANCHOR_END: schema

// ANCHOR: connect
/// Settings every connection gets: no statement runs longer than 5 s, no lock is waited for
/// longer than 5 s, and a transaction left open and idle for 15 s is ended by the server. A
/// query that hangs (a lock held by a stuck worker, a disk that stopped) becomes an error the
/// worker can act on instead of a worker that waits for ever.
const SESSION: &str =
    "-c statement_timeout=5000 -c lock_timeout=5000 -c idle_in_transaction_session_timeout=15000";

/// Opens a connection to `url` with the queue's session settings, waiting at most `timeout`.
pub fn client(url: &str, timeout: Duration) -> Result<Client, StoreError> {
    let server = describe(url);
    let mut config: postgres::Config = url.parse().map_err(|e: postgres::Error| StoreError {
        server: server.clone(),
        kind: ErrorKind::BadUrl(e.to_string()),
    })?;
    config
        .options(SESSION)
        .connect_timeout(timeout)
        .application_name("lesson-11");
    config.connect(NoTls).map_err(|e| StoreError {
        server,
        kind: ErrorKind::Postgres(e),
    })
}
// ANCHOR_END: connect

/// `host:port/database` from a URL, without user or password.
pub fn describe(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let rest = rest.rsplit_once('@').map_or(rest, |(_, r)| r);
    rest.split('?').next().unwrap_or(rest).to_string()
}

impl Store {
    /// Connects to the queue at `url`, creating its tables if the database has none. A database
    /// with someone else's `jobs` table, or a queue of another version, is refused with one line
    /// and left as it was.
    pub fn connect(url: &str, backoff: Backoff) -> Result<Store, StoreError> {
        let client = client(url, Duration::from_secs(5))?;
        let mut store = Store {
            client,
            server: describe(url),
            backoff,
            skew_ms: 0,
            cache: Prepared::new(),
        };
        store.ensure_schema()?;
        Ok(store)
    }

    fn ensure_schema(&mut self) -> Result<(), StoreError> {
        let server = self.server.clone();
        let err = |e| StoreError {
            server: server.clone(),
            kind: ErrorKind::Postgres(e),
        };
        let mut tx = self.client.transaction().map_err(err)?;
        // New: several processes may start at once on an empty database; one creates the
        // tables while the others wait on this lock.
        tx.execute("SELECT pg_advisory_xact_lock(1101)", &[])
            .map_err(err)?;
        let (meta, jobs): (bool, bool) = {
            let row = tx
                .query_one(
                    "SELECT to_regclass('queue_meta') IS NOT NULL,
                            to_regclass('jobs') IS NOT NULL",
                    &[],
                )
                .map_err(err)?;
            (row.get(0), row.get(1))
        };
        match (meta, jobs) {
            (false, false) => {
                tx.batch_execute(SCHEMA).map_err(err)?;
                tx.execute("INSERT INTO queue_meta VALUES ($1)", &[&SCHEMA_VERSION])
                    .map_err(err)?;
            }
            (true, _) => {
                let version: i32 = tx
                    .query_one("SELECT version FROM queue_meta", &[])
                    .map_err(err)?
                    .get(0);
                if version != SCHEMA_VERSION {
                    return Err(StoreError {
                        server,
                        kind: ErrorKind::Version(version),
                    });
                }
            }
            (false, true) => {
                return Err(StoreError {
                    server,
                    kind: ErrorKind::Foreign,
                });
            }
        }
        tx.commit().map_err(err)
    }
}
