//! Lesson 10's queue on a PostgreSQL server: the same tables, states and promises, for workers on
//! many machines.
//!
//! What changed since lesson 10's `store.rs` is marked `// New:`. In short: a connection to a
//! server instead of a file; time from the server's clock, the one clock every machine agrees on;
//! claims that skip rows other workers have locked (`FOR UPDATE SKIP LOCKED`) instead of taking a
//! lock on the whole file; each step one set-based statement, since every statement is now a
//! trip over the network; a `NOTIFY` when jobs arrive; a time limit on every statement; and
//! writes that can be retried when the server's answer was lost.

use lesson_10::backoff::Backoff;
use lesson_10::job::{Claim, Job, NewJob, State};
use postgres::error::SqlState;
use postgres::{Client, NoTls, Row, Statement, Transaction};
use std::collections::HashMap;
use std::fmt;
use std::time::Duration;

pub use lesson_10::store::{Counts, Enqueued, Finished, Recorded, Rescued, Run};

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

/// Why the queue could not be used; its message names the server (never a password).
#[derive(Debug)]
pub struct StoreError {
    /// `host:port/database`.
    pub server: String,
    /// What went wrong.
    pub kind: ErrorKind,
}

/// What went wrong.
#[derive(Debug)]
pub enum ErrorKind {
    /// The URL is not one PostgreSQL understands.
    BadUrl(String),
    /// A database with a `jobs` table that is not this queue's.
    Foreign,
    /// A queue of another schema version.
    Version(i32),
    /// No job has this id.
    NoSuchJob(i64),
    /// The job is in a state the request does not apply to; the text says which it applies to.
    WrongState(i64, State, &'static str),
    /// What the server or the connection reported.
    Postgres(postgres::Error),
}

impl StoreError {
    /// Whether the connection is gone (the server restarted, the network failed, the
    /// connection was cut): then reconnecting, and doing the same again, is the cure.
    pub fn is_connection_lost(&self) -> bool {
        match &self.kind {
            ErrorKind::Postgres(e) => connection_lost(e),
            _ => false,
        }
    }
}

/// Whether an error means the connection is gone rather than the request was wrong.
pub fn connection_lost(e: &postgres::Error) -> bool {
    if e.is_closed() {
        return true;
    }
    match e.code() {
        // Class 08: connection exceptions. 57P01-57P03: the server is shutting down, crashed,
        // or is still starting. 40001/40P01: retry the transaction.
        Some(code) => {
            code.code().starts_with("08")
                || [
                    SqlState::ADMIN_SHUTDOWN,
                    SqlState::CRASH_SHUTDOWN,
                    SqlState::CANNOT_CONNECT_NOW,
                    SqlState::T_R_SERIALIZATION_FAILURE,
                    SqlState::T_R_DEADLOCK_DETECTED,
                ]
                .contains(code)
        }
        // No SQL state: the error came from the connection itself (I/O, a closed socket).
        None => true,
    }
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let server = &self.server;
        match &self.kind {
            ErrorKind::BadUrl(why) => write!(f, "{server}: not a PostgreSQL URL ({why})"),
            ErrorKind::Foreign => write!(
                f,
                "{server}: has a `jobs` table that is not a lesson-11 queue (left untouched)"
            ),
            ErrorKind::Version(v) => write!(
                f,
                "{server}: a queue of schema version {v}; this lesson reads version \
                 {SCHEMA_VERSION} (left untouched)"
            ),
            ErrorKind::NoSuchJob(id) => write!(f, "{server}: no job {id}"),
            ErrorKind::WrongState(id, state, only) => {
                write!(f, "{server}: job {id} is {state}; {only}")
            }
            ErrorKind::Postgres(e) => {
                let text = match e.as_db_error() {
                    Some(db) => db.message().to_string(),
                    None => {
                        let mut text = e.to_string();
                        let mut source = std::error::Error::source(e);
                        while let Some(s) = source {
                            text = format!("{text}: {s}");
                            source = s.source();
                        }
                        text
                    }
                };
                write!(
                    f,
                    "{server}: {}",
                    text.lines().next().unwrap_or("database error")
                )
            }
        }
    }
}

impl std::error::Error for StoreError {}

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

/// Statements prepared on one connection, by their text.
type Prepared = HashMap<&'static str, Statement>;

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

    /// One job.
    pub fn job(&mut self, id: i64) -> Result<Option<Job>, StoreError> {
        let row = self
            .client
            .query_opt(
                &format!("SELECT {JOB_COLUMNS} FROM jobs WHERE id = $1"),
                &[&id],
            )
            .map_err(|e| self.err(e))?;
        Ok(row.map(|r| job_from_row(&r)))
    }

    /// Every job, by id.
    pub fn jobs(&mut self) -> Result<Vec<Job>, StoreError> {
        let rows = self
            .client
            .query(&format!("SELECT {JOB_COLUMNS} FROM jobs ORDER BY id"), &[])
            .map_err(|e| self.err(e))?;
        Ok(rows.iter().map(job_from_row).collect())
    }

    /// Every attempt, by start.
    pub fn runs(&mut self) -> Result<Vec<Run>, StoreError> {
        let rows = self
            .client
            .query(
                "SELECT job_id, attempt, worker, started_at, ended_at, outcome
                 FROM runs ORDER BY started_at, id",
                &[],
            )
            .map_err(|e| self.err(e))?;
        Ok(rows
            .iter()
            .map(|r| Run {
                job: r.get(0),
                attempt: r.get::<_, i32>(1) as u32,
                worker: r.get(2),
                started_at: r.get(3),
                ended_at: r.get(4),
                outcome: r.get(5),
            })
            .collect())
    }

    /// The effect rows: (job, output), by job.
    pub fn effects(&mut self) -> Result<Vec<(i64, String)>, StoreError> {
        let rows = self
            .client
            .query(
                "SELECT job_id, output FROM effects ORDER BY job_id, id",
                &[],
            )
            .map_err(|e| self.err(e))?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
    }

    /// Counts per state, and of effects.
    pub fn counts(&mut self) -> Result<Counts, StoreError> {
        let mut counts = Counts::default();
        let rows = self
            .client
            .query("SELECT state, count(*) FROM jobs GROUP BY state", &[])
            .map_err(|e| self.err(e))?;
        for row in rows {
            let state: String = row.get(0);
            let state: State = state.parse().map_err(|_| self.fail(ErrorKind::Foreign))?;
            let at = State::ALL.iter().position(|s| *s == state).expect("in ALL");
            counts.by_state[at] = row.get::<_, i64>(1) as u64;
        }
        let row = self
            .client
            .query_one(
                "SELECT (SELECT count(*) FROM effects),
                        (SELECT count(*) FROM (SELECT job_id FROM effects
                                               GROUP BY job_id HAVING count(*) > 1) d),
                        (SELECT count(*) FROM jobs WHERE attempts > 1)",
                &[],
            )
            .map_err(|e| self.err(e))?;
        counts.effects = row.get::<_, i64>(0) as u64;
        counts.doubled = row.get::<_, i64>(1) as u64;
        counts.ran_more_than_once = row.get::<_, i64>(2) as u64;
        Ok(counts)
    }
}

fn err(server: &str, e: postgres::Error) -> StoreError {
    StoreError {
        server: server.to_string(),
        kind: ErrorKind::Postgres(e),
    }
}

fn fail(server: &str, kind: ErrorKind) -> StoreError {
    StoreError {
        server: server.to_string(),
        kind,
    }
}

/// Has the server end this connection now (the fault tests' cuts).
fn cut(tx: &mut Transaction<'_>) -> Result<(), postgres::Error> {
    tx.batch_execute("SELECT pg_terminate_backend(pg_backend_pid())")
}

/// New: `sql` prepared on this connection, once: the server parses and plans it the first
/// times it runs, then keeps its plan, and every turn after sends only the values. A turn's two
/// big statements cost more to plan than to run, and a worker runs them many times a second.
fn prepared(
    tx: &mut Transaction<'_>,
    cache: &mut Prepared,
    sql: &'static str,
) -> Result<Statement, postgres::Error> {
    if let Some(statement) = cache.get(sql) {
        return Ok(statement.clone());
    }
    let statement = tx.prepare(sql)?;
    cache.insert(sql, statement.clone());
    Ok(statement)
}

/// The server's clock in milliseconds since the Unix epoch.
fn now_ms(tx: &mut Transaction<'_>) -> Result<i64, postgres::Error> {
    // clock_timestamp, not now(): now() is the start of the transaction. `_typed`: the
    // statement travels with its values, one round trip instead of two (prepare, then run).
    Ok(tx
        .query_typed_one(
            "SELECT (extract(epoch FROM clock_timestamp()) * 1000)::bigint",
            &[],
        )?
        .get(0))
}

const JOB_COLUMNS: &str = "id, payload, state, attempts, max_attempts, run_at, last_error, key";

fn job_from_row(r: &Row) -> Job {
    let state: String = r.get(2);
    Job {
        id: r.get(0),
        payload: r.get(1),
        state: state
            .parse()
            .expect("the CHECK constraint allows only states"),
        attempts: r.get::<_, i32>(3) as u32,
        max_attempts: r.get::<_, i32>(4) as u32,
        run_at: r.get(5),
        last_error: r.get(6),
        key: r.get(7),
    }
}

// ANCHOR: enqueue
/// Adds jobs inside the caller's transaction, so a job can be enqueued together with the
/// application's own rows: both are there after the commit, or neither. Returns each job's id,
/// or the existing job's id where its key was taken already.
pub fn enqueue_in(
    tx: &mut Transaction<'_>,
    jobs: &[NewJob],
    skew_ms: i64,
) -> Result<Vec<Enqueued>, postgres::Error> {
    let now = now_ms(tx)? + skew_ms;
    let payloads: Vec<&str> = jobs.iter().map(|j| j.payload.as_str()).collect();
    let states: Vec<&str> = jobs
        .iter()
        .map(|j| {
            if j.delay_ms > 0 {
                State::Scheduled.as_str()
            } else {
                State::Available.as_str()
            }
        })
        .collect();
    let max: Vec<i32> = jobs.iter().map(|j| j.max_attempts.max(1) as i32).collect();
    let run_at: Vec<i64> = jobs.iter().map(|j| now + j.delay_ms as i64).collect();
    let keys: Vec<Option<&str>> = jobs.iter().map(|j| j.key.as_deref()).collect();
    // New: one statement for the whole batch (a round trip each would cost more than the
    // insert). Rows go in the order given, so new ids rise in that order.
    let rows = tx.query(
        "INSERT INTO jobs (payload, state, max_attempts, run_at, key)
         SELECT p, s, m, r, k
         FROM unnest($1::text[], $2::text[], $3::int[], $4::bigint[], $5::text[])
              WITH ORDINALITY AS t (p, s, m, r, k, n)
         ORDER BY n
         ON CONFLICT (key) DO NOTHING
         RETURNING id, key",
        &[&payloads, &states, &max, &run_at, &keys],
    )?;
    let mut new_ids: Vec<i64> = rows.iter().map(|r| r.get(0)).collect();
    new_ids.sort_unstable();
    let new_keys: Vec<Option<String>> = {
        let mut by_id: Vec<(i64, Option<String>)> =
            rows.iter().map(|r| (r.get(0), r.get(1))).collect();
        by_id.sort_unstable_by_key(|(id, _)| *id);
        by_id.into_iter().map(|(_, k)| k).collect()
    };
    // A job is new if its key came back (or it has none); the rest met an existing key.
    let taken: Vec<&str> = keys
        .iter()
        .flatten()
        .copied()
        .filter(|k| !new_keys.iter().any(|n| n.as_deref() == Some(*k)))
        .collect();
    let existing: Vec<(String, i64)> = if taken.is_empty() {
        Vec::new()
    } else {
        tx.query("SELECT key, id FROM jobs WHERE key = ANY($1)", &[&taken])?
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect()
    };
    let mut next_new = new_ids.into_iter();
    let mut seen_keys: Vec<&str> = Vec::new();
    let mut out = Vec::with_capacity(jobs.len());
    for key in &keys {
        let is_new = match key {
            None => true,
            Some(k) => {
                let fresh =
                    new_keys.iter().any(|n| n.as_deref() == Some(*k)) && !seen_keys.contains(k);
                seen_keys.push(k);
                fresh
            }
        };
        if is_new {
            out.push(Enqueued::New(next_new.next().expect("one id per new job")));
        } else {
            let k = key.expect("only keyed jobs meet an existing key");
            let id = existing
                .iter()
                .find(|(e, _)| e == k)
                .map(|(_, id)| *id)
                .or_else(|| {
                    // The same key twice in one batch: the second is the first's job.
                    out.iter()
                        .zip(&keys)
                        .find(|(_, kk)| **kk == Some(k))
                        .map(|(e, _)| e.id())
                })
                .expect("the key is in the table");
            out.push(Enqueued::Existing(id));
        }
    }
    // New: wake idle workers. Delivered when this transaction commits, and only then.
    if out.iter().any(|e| matches!(e, Enqueued::New(_))) {
        tx.execute("SELECT pg_notify($1, '')", &[&CHANNEL])?;
    }
    Ok(out)
}
// ANCHOR_END: enqueue

// ANCHOR: rescue
/// New: the rescuer. Jobs still `running` after their lease ran out go back to `retryable` (or
/// to `discarded` on their last attempt). `SKIP LOCKED`: a row another transaction holds is
/// being completed or renewed right now, so it is not abandoned; two rescuers never take the
/// same row.
fn rescue(tx: &mut Transaction<'_>, now: i64) -> Result<Vec<Rescued>, postgres::Error> {
    let rows = tx.query(
        "WITH expired AS (
             SELECT id, lease_token FROM jobs
             WHERE state = 'running' AND lease_until <= $1
             ORDER BY lease_until
             FOR UPDATE SKIP LOCKED
             LIMIT 1000),
         put_back AS (
             UPDATE jobs j
             SET state = CASE WHEN j.attempts >= j.max_attempts
                              THEN 'discarded' ELSE 'retryable' END,
                 run_at = $1,
                 last_error = 'attempt ' || j.attempts
                              || ': the lease ran out (its worker was lost)',
                 lease_token = NULL, lease_until = NULL
             FROM expired e WHERE j.id = e.id
             RETURNING j.id, j.attempts, j.state, e.lease_token),
         ended AS (
             UPDATE runs r SET outcome = 'lease expired'
             FROM put_back p WHERE r.id = p.lease_token)
         SELECT id, attempts, state FROM put_back ORDER BY id",
        &[&now],
    )?;
    if rows.iter().any(|r| r.get::<_, &str>(2) == "retryable") {
        tx.execute("SELECT pg_notify($1, '')", &[&CHANNEL])?;
    }
    Ok(rows
        .iter()
        .map(|r| Rescued {
            id: r.get(0),
            attempt: r.get::<_, i32>(1) as u32,
            discarded: r.get::<_, &str>(2) == "discarded",
        })
        .collect())
}
// ANCHOR_END: rescue

// ANCHOR: claim
/// Claims up to `n` waiting jobs, oldest first, in one statement. `FOR UPDATE` locks the rows
/// it picks until the commit; `SKIP LOCKED` makes every other claimer pass over them instead of
/// waiting, so many workers claim at once, each different jobs.
fn claim(
    tx: &mut Transaction<'_>,
    worker: &str,
    n: usize,
    now: i64,
    lease_until: i64,
    cache: &mut Prepared,
) -> Result<Vec<Claim>, postgres::Error> {
    let statement = prepared(
        tx,
        cache,
        "WITH picked AS (
             SELECT id FROM jobs
             WHERE state IN ('available', 'scheduled', 'retryable') AND run_at <= $1
             ORDER BY run_at, id
             FOR UPDATE SKIP LOCKED
             LIMIT $2),
         started AS (
             INSERT INTO runs (job_id, attempt, worker, started_at)
             SELECT j.id, j.attempts + 1, $3, $1 FROM jobs j JOIN picked USING (id)
             RETURNING id AS token, job_id)
         UPDATE jobs j
         SET state = 'running', attempts = j.attempts + 1,
             lease_token = s.token, lease_until = $4
         FROM started s WHERE j.id = s.job_id
         RETURNING j.id, j.payload, j.attempts, j.max_attempts, j.lease_token, j.last_error",
    )?;
    let rows = tx.query(&statement, &[&now, &(n as i64), &worker, &lease_until])?;
    let mut claims: Vec<Claim> = rows
        .iter()
        .map(|r| Claim {
            id: r.get(0),
            payload: r.get(1),
            attempt: r.get::<_, i32>(2) as u32,
            max_attempts: r.get::<_, i32>(3) as u32,
            token: r.get(4),
            lease_until,
            previous_error: r.get(5),
        })
        .collect();
    claims.sort_by_key(|c| c.id);
    Ok(claims)
}
// ANCHOR_END: claim

fn renew(
    tx: &mut Transaction<'_>,
    held: &[(i64, i64)],
    lease_until: i64,
) -> Result<Vec<(i64, i64)>, postgres::Error> {
    if held.is_empty() {
        return Ok(Vec::new());
    }
    let (ids, tokens): (Vec<i64>, Vec<i64>) = held.iter().copied().unzip();
    let rows = tx.query(
        "UPDATE jobs j SET lease_until = $1
         FROM unnest($2::bigint[], $3::bigint[]) AS h (id, token)
         WHERE j.id = h.id AND j.lease_token = h.token AND j.state = 'running'
         RETURNING j.id",
        &[&lease_until, &ids, &tokens],
    )?;
    let kept: Vec<i64> = rows.iter().map(|r| r.get(0)).collect();
    Ok(held
        .iter()
        .copied()
        .filter(|(id, _)| !kept.contains(id))
        .collect())
}

// ANCHOR: record
/// Writes how attempts ended, only where the worker still holds the job (the token is the
/// job's current one): effects and completions of the whole batch in one statement, failures one
/// by one. New: a result already written by this same attempt is reported as written, so a
/// worker that lost the server's answer to its commit can send the same results again.
fn record(
    tx: &mut Transaction<'_>,
    finished: &[Finished],
    now: i64,
    backoff: &Backoff,
    cache: &mut Prepared,
) -> Result<Vec<Recorded>, postgres::Error> {
    if finished.is_empty() {
        return Ok(Vec::new());
    }
    let ok: Vec<&Finished> = finished.iter().filter(|f| f.result.is_ok()).collect();
    let ids: Vec<i64> = ok.iter().map(|f| f.id).collect();
    let tokens: Vec<i64> = ok.iter().map(|f| f.token).collect();
    let outputs: Vec<&str> = ok
        .iter()
        .map(|f| f.result.as_deref().unwrap_or_default())
        .collect();
    let statement = prepared(
        tx,
        cache,
        "WITH done AS (
             SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::text[])
                 AS d (id, token, output)),
         held AS (
             UPDATE jobs j SET state = 'completed', lease_token = NULL, lease_until = NULL
             FROM done d
             WHERE j.id = d.id AND j.lease_token = d.token AND j.state = 'running'
             RETURNING j.id, d.token, d.output),
         effect AS (
             INSERT INTO effects (job_id, output) SELECT id, output FROM held),
         ended AS (
             UPDATE runs r SET ended_at = $4, outcome = 'completed'
             FROM held h WHERE r.id = h.token)
         SELECT token FROM held",
    )?;
    let completed: Vec<i64> = tx
        .query(&statement, &[&ids, &tokens, &outputs, &now])?
        .iter()
        .map(|r| r.get(0))
        .collect();
    let mut out = Vec::with_capacity(finished.len());
    for f in finished {
        let recorded = match &f.result {
            Ok(_) if completed.contains(&f.token) => Recorded::Completed,
            Ok(_) => already(tx, f, backoff)?,
            Err(error) => fail_one(tx, f, error, now, backoff)?,
        };
        out.push(recorded);
    }
    Ok(out)
}

/// An attempt whose result was not written now: written before (by the same attempt, whose
/// commit's answer was lost), or refused because the lease is gone.
fn already(
    tx: &mut Transaction<'_>,
    f: &Finished,
    backoff: &Backoff,
) -> Result<Recorded, postgres::Error> {
    let row = tx.query_opt(
        "SELECT r.outcome, j.state, j.run_at, j.attempts FROM runs r JOIN jobs j ON j.id = r.job_id
         WHERE r.id = $1 AND r.job_id = $2 AND r.ended_at IS NOT NULL",
        &[&f.token, &f.id],
    )?;
    Ok(match row {
        Some(r) => match (r.get::<_, Option<&str>>(0), r.get::<_, &str>(1)) {
            (Some("completed"), _) => Recorded::Completed,
            (Some(o), "discarded") if o.starts_with("failed") => Recorded::Discarded,
            (Some(o), _) if o.starts_with("failed") => Recorded::Retry {
                run_at: r.get(2),
                delay: backoff.delay(f.id, r.get::<_, i32>(3) as u32),
            },
            _ => Recorded::LeaseLost,
        },
        None => Recorded::LeaseLost,
    })
}

fn fail_one(
    tx: &mut Transaction<'_>,
    f: &Finished,
    error: &str,
    now: i64,
    backoff: &Backoff,
) -> Result<Recorded, postgres::Error> {
    let held = tx.query_opt(
        "SELECT attempts, max_attempts FROM jobs
         WHERE id = $1 AND lease_token = $2 AND state = 'running' FOR UPDATE",
        &[&f.id, &f.token],
    )?;
    let Some(row) = held else {
        return already(tx, f, backoff);
    };
    let (attempts, max_attempts) = (row.get::<_, i32>(0) as u32, row.get::<_, i32>(1) as u32);
    let recorded = if attempts >= max_attempts {
        tx.execute(
            "UPDATE jobs SET state = 'discarded', last_error = $2,
                 lease_token = NULL, lease_until = NULL
             WHERE id = $1",
            &[&f.id, &error],
        )?;
        Recorded::Discarded
    } else {
        let delay = backoff.delay(f.id, attempts);
        let run_at = now + delay.as_millis() as i64;
        tx.execute(
            "UPDATE jobs SET state = 'retryable', last_error = $2, run_at = $3,
                 lease_token = NULL, lease_until = NULL
             WHERE id = $1",
            &[&f.id, &error, &run_at],
        )?;
        Recorded::Retry { run_at, delay }
    };
    tx.execute(
        "UPDATE runs SET ended_at = $2, outcome = $3 WHERE id = $1",
        &[&f.token, &now, &format!("failed: {error}")],
    )?;
    Ok(recorded)
}
// ANCHOR_END: record
