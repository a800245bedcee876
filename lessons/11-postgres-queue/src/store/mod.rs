//! Lesson 10's queue on a PostgreSQL server: the same tables, states and promises, for workers on
//! many machines.
//!
//! What changed since lesson 10's `store.rs` is marked `// New:`. In short: a connection to a
//! server instead of a file; time from the server's clock, the one clock every machine agrees on;
//! claims that skip rows other workers have locked (`FOR UPDATE SKIP LOCKED`) instead of taking a
//! lock on the whole file; each step one set-based statement, since every statement is now a
//! trip over the network; a `NOTIFY` when jobs arrive; a time limit on every statement; and
//! writes that can be retried when the server's answer was lost.
//!
//! The files: this one (the schema, connecting, the transactions); `steps.rs`, the statements a
//! transaction is made of (enqueue, rescue, claim, renew, record); `read.rs`, the queries;
//! `error.rs`, errors that name the server.

mod error;
mod read;
mod steps;

pub use error::{ErrorKind, StoreError, connection_lost};
pub use lesson_10::store::{Counts, Enqueued, Finished, Recorded, Rescued, Run};
pub use steps::enqueue_in;

use error::{err, fail};
use lesson_10::backoff::Backoff;
use lesson_10::job::{Claim, Job, NewJob, State};
use postgres::{Client, NoTls};
use read::{JOB_COLUMNS, job_from_row};
use std::fmt;
use std::time::Duration;
use steps::{Prepared, claim, cut, now_ms, record, renew, rescue};

/// The schema version this lesson reads and writes.
pub const SCHEMA_VERSION: i32 = 1;

/// The channel `NOTIFY` uses when jobs become available.
pub const CHANNEL: &str = "lesson11_jobs";

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

/// The queue's one trip to the server for a worker (lesson 10's `Turn`, plus the rescue's turn).
#[derive(Debug, Clone, Default)]
pub struct Turn<'a> {
    /// Attempts that have ended since the last turn.
    pub finished: &'a [Finished],
    /// Leases to extend: (job, token).
    pub renew: &'a [(i64, i64)],
    /// New: whether to run the rescuer this turn (every worker runs it now and then).
    pub rescue: bool,
    /// How many jobs to claim.
    pub claim: usize,
}

/// What a turn did.
#[derive(Debug, Default)]
pub struct TurnResult {
    /// For each finished attempt, in order.
    pub recorded: Vec<Recorded>,
    /// Leases that could not be renewed: (job, token).
    pub lost: Vec<(i64, i64)>,
    /// Jobs the rescuer put back.
    pub rescued: Vec<Rescued>,
    /// Jobs claimed.
    pub claimed: Vec<Claim>,
}

// ANCHOR: store
/// One connection to the queue's server. Each worker process opens its own, plus one that
/// listens for notifications.
pub struct Store {
    /// New: a client of the server instead of a file's connection.
    client: Client,
    /// `host:port/database`, for messages.
    server: String,
    /// When failed jobs come back.
    backoff: Backoff,
    /// New: added to the server's clock, so tests can run out a lease without waiting.
    skew_ms: i64,
    /// New: the turn's statements, prepared on this connection the first time they run.
    cache: Prepared,
}
// ANCHOR_END: store

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Store")
            .field("server", &self.server)
            .finish()
    }
}

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

    fn err(&self, e: postgres::Error) -> StoreError {
        StoreError {
            server: self.server.clone(),
            kind: ErrorKind::Postgres(e),
        }
    }

    fn fail(&self, kind: ErrorKind) -> StoreError {
        StoreError {
            server: self.server.clone(),
            kind,
        }
    }

    /// `host:port/database`.
    pub fn server(&self) -> &str {
        &self.server
    }

    /// Moves the queue's clock forward by `d`, for tests: leases run out without waiting.
    pub fn skew(&mut self, d: Duration) {
        self.skew_ms += d.as_millis() as i64;
    }

    /// The client, for the application's own tables in the same transaction as an enqueue
    /// ([`enqueue_in`]).
    pub fn client(&mut self) -> &mut Client {
        &mut self.client
    }

    /// Adds jobs in one transaction; a job whose key exists gives back the existing job.
    pub fn enqueue(&mut self, jobs: &[NewJob]) -> Result<Vec<Enqueued>, StoreError> {
        let skew = self.skew_ms;
        let mut tx = self
            .client
            .transaction()
            .map_err(|e| err(&self.server, e))?;
        let out = enqueue_in(&mut tx, jobs, skew).map_err(|e| err(&self.server, e))?;
        lesson_10::fault::point("mid-enqueue");
        tx.commit().map_err(|e| err(&self.server, e))?;
        Ok(out)
    }

    // ANCHOR: turn
    /// One trip to the server for a worker, in one transaction: record what finished, renew
    /// leases, run the rescuer if asked, claim up to `turn.claim` jobs.
    pub fn turn(
        &mut self,
        worker: &str,
        lease: Duration,
        turn: &Turn<'_>,
    ) -> Result<TurnResult, StoreError> {
        let (skew, backoff) = (self.skew_ms, self.backoff);
        let cache = &mut self.cache;
        let mut tx = self
            .client
            .transaction()
            .map_err(|e| err(&self.server, e))?;
        let result = (|| -> Result<TurnResult, postgres::Error> {
            // New: the server's clock, the one every machine agrees on.
            let now = now_ms(&mut tx)? + skew;
            let lease_until = now + lease.as_millis() as i64;
            let mut out = TurnResult {
                recorded: record(&mut tx, turn.finished, now, &backoff, cache)?,
                lost: renew(&mut tx, turn.renew, lease_until)?,
                ..TurnResult::default()
            };
            if !turn.finished.is_empty() && crate::cut::now("mid-completion") {
                cut(&mut tx)?;
            }
            if turn.rescue {
                out.rescued = rescue(&mut tx, now)?;
            }
            if turn.claim > 0 {
                out.claimed = claim(&mut tx, worker, turn.claim, now, lease_until, cache)?;
                if !out.claimed.is_empty() && crate::cut::now("mid-claim") {
                    cut(&mut tx)?;
                }
            }
            Ok(out)
        })();
        let out = result.map_err(|e| err(&self.server, e))?;
        lesson_10::fault::point("mid-commit");
        tx.commit().map_err(|e| err(&self.server, e))?;
        if (!out.claimed.is_empty() || !turn.finished.is_empty()) && crate::cut::now("lost-answer")
        {
            // Committed, but the worker is told the connection failed: as if the answer to the
            // commit was lost on the way.
            let lost = self
                .client
                .batch_execute("SELECT pg_terminate_backend(pg_backend_pid())");
            if let Err(e) = lost {
                return Err(err(&self.server, e));
            }
        }
        Ok(out)
    }
    // ANCHOR_END: turn

    /// Claims up to `n` jobs (one transaction).
    pub fn claim(
        &mut self,
        worker: &str,
        n: usize,
        lease: Duration,
    ) -> Result<Vec<Claim>, StoreError> {
        let turn = Turn {
            claim: n,
            ..Turn::default()
        };
        Ok(self.turn(worker, lease, &turn)?.claimed)
    }

    /// Records one finished attempt (one transaction).
    pub fn finish(&mut self, finished: Finished) -> Result<Recorded, StoreError> {
        let list = [finished];
        let turn = Turn {
            finished: &list,
            ..Turn::default()
        };
        let mut out = self.turn("", Duration::ZERO, &turn)?;
        Ok(out.recorded.pop().expect("one finished, one recorded"))
    }

    /// Extends a lease; `false` if the job is no longer held with this token.
    pub fn renew(&mut self, id: i64, token: i64, lease: Duration) -> Result<bool, StoreError> {
        let list = [(id, token)];
        let turn = Turn {
            renew: &list,
            ..Turn::default()
        };
        Ok(self.turn("", lease, &turn)?.lost.is_empty())
    }

    /// Runs the rescuer alone: jobs whose lease ran out go back (one transaction).
    pub fn rescue(&mut self) -> Result<Vec<Rescued>, StoreError> {
        let turn = Turn {
            rescue: true,
            ..Turn::default()
        };
        Ok(self.turn("", Duration::ZERO, &turn)?.rescued)
    }

    // ANCHOR: adopt
    /// New: the attempts `worker` holds according to the server: (job, token). After a lost
    /// connection, a worker compares them with what it knows: a claim whose answer never arrived
    /// is here, but not in the worker's pool.
    pub fn held_by(&mut self, worker: &str) -> Result<Vec<(i64, i64)>, StoreError> {
        let rows = self
            .client
            .query(
                "SELECT j.id, j.lease_token FROM jobs j JOIN runs r ON r.id = j.lease_token
                 WHERE j.state = 'running' AND r.worker = $1 AND r.ended_at IS NULL",
                &[&worker],
            )
            .map_err(|e| self.err(e))?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
    }
    // ANCHOR_END: adopt

    /// Hands claimed jobs back unstarted: available again, the attempt not counted.
    pub fn hand_back(&mut self, held: &[(i64, i64)]) -> Result<usize, StoreError> {
        let (ids, tokens): (Vec<i64>, Vec<i64>) = held.iter().copied().unzip();
        let skew = self.skew_ms;
        let mut tx = self
            .client
            .transaction()
            .map_err(|e| err(&self.server, e))?;
        let result = (|| -> Result<usize, postgres::Error> {
            let now = now_ms(&mut tx)? + skew;
            let rows = tx.query(
                "WITH back AS (
                     UPDATE jobs j SET state = 'available', attempts = attempts - 1, run_at = $3,
                         lease_token = NULL, lease_until = NULL
                     FROM unnest($1::bigint[], $2::bigint[]) AS h (id, token)
                     WHERE j.id = h.id AND j.lease_token = h.token AND j.state = 'running'
                     RETURNING h.token),
                 ended AS (
                     UPDATE runs r SET ended_at = $3, outcome = 'handed back'
                     FROM back b WHERE r.id = b.token)
                 SELECT count(*) FROM back",
                &[&ids, &tokens, &now],
            )?;
            if !held.is_empty() {
                tx.execute("SELECT pg_notify($1, '')", &[&CHANNEL])?;
            }
            Ok(rows[0].get::<_, i64>(0) as usize)
        })();
        let n = result.map_err(|e| err(&self.server, e))?;
        tx.commit().map_err(|e| err(&self.server, e))?;
        Ok(n)
    }

    /// Puts a discarded, cancelled or retryable job back to run now, with one more attempt if
    /// it had used them all.
    pub fn retry(&mut self, id: i64) -> Result<Job, StoreError> {
        self.change(
            id,
            &[State::Discarded, State::Cancelled, State::Retryable],
            "only discarded, cancelled or retryable jobs can be retried",
            "UPDATE jobs SET state = 'available', run_at = $2,
                 max_attempts = greatest(max_attempts, attempts + 1)
             WHERE id = $1",
        )
    }

    /// Cancels a job that is waiting.
    pub fn cancel(&mut self, id: i64) -> Result<Job, StoreError> {
        self.change(
            id,
            &[State::Available, State::Scheduled, State::Retryable],
            "only waiting jobs (available, scheduled, retryable) can be cancelled",
            "UPDATE jobs SET state = 'cancelled' WHERE id = $1 AND $2::bigint IS NOT NULL",
        )
    }

    fn change(
        &mut self,
        id: i64,
        from: &[State],
        only: &'static str,
        sql: &str,
    ) -> Result<Job, StoreError> {
        let skew = self.skew_ms;
        let server = self.server.clone();
        let mut tx = self.client.transaction().map_err(|e| err(&server, e))?;
        let now = now_ms(&mut tx).map_err(|e| err(&server, e))? + skew;
        let row = tx
            .query_opt(
                &format!("SELECT {JOB_COLUMNS} FROM jobs WHERE id = $1 FOR UPDATE"),
                &[&id],
            )
            .map_err(|e| err(&server, e))?;
        let job = row
            .map(|r| job_from_row(&r))
            .ok_or_else(|| fail(&server, ErrorKind::NoSuchJob(id)))?;
        if !from.contains(&job.state) {
            return Err(fail(&server, ErrorKind::WrongState(id, job.state, only)));
        }
        tx.execute(sql, &[&id, &now]).map_err(|e| err(&server, e))?;
        tx.execute("SELECT pg_notify($1, '')", &[&CHANNEL])
            .map_err(|e| err(&server, e))?;
        let job = job_from_row(
            &tx.query_one(
                &format!("SELECT {JOB_COLUMNS} FROM jobs WHERE id = $1"),
                &[&id],
            )
            .map_err(|e| err(&server, e))?,
        );
        tx.commit().map_err(|e| err(&server, e))?;
        Ok(job)
    }
}
