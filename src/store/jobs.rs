//! The durable job queue (`job`): background work that must survive a restart. The kinds and
//! what they do are `crate::jobs`'; this file only stores, claims and leases.
//!
//! [`JobState`] lives here, beside the record, and not in `domain`: it is the queue's own
//! bookkeeping, no business rule reads it, and its every move is one of this file's statements.

use rusqlite::{OptionalExtension, Row, params};

use super::codes::stored_as_code;
use super::{Conn, StoreError};

/// Where a job stands in the queue.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum JobState {
    /// `queued`: waiting for `next_run_at`; the state every job starts in.
    #[default]
    Queued,
    /// `running`: claimed by an owner whose lease holds it.
    Running,
    /// `done`: finished. Final.
    Done,
    /// `failed`: given up. Final.
    Failed,
}

impl JobState {
    /// Every state.
    pub const ALL: [JobState; 4] = [JobState::Queued, JobState::Running, JobState::Done, JobState::Failed];

    /// The stored code.
    pub const fn code(self) -> &'static str {
        match self {
            JobState::Queued => "queued",
            JobState::Running => "running",
            JobState::Done => "done",
            JobState::Failed => "failed",
        }
    }

    /// The state with this code, if any.
    pub fn from_code(code: &str) -> Option<JobState> {
        JobState::ALL.into_iter().find(|state| state.code() == code)
    }
}

stored_as_code!(JobState, "job.state");

/// A job as stored.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct JobRecord {
    pub id: i64,
    pub kind: String,
    pub payload: String,
    pub state: JobState,
    pub attempts: i64,
    pub next_run_at: String,
    pub owner: Option<String>,
    /// Until when the owner's claim holds without a heartbeat.
    pub lease_until: Option<String>,
    /// How far the job got, as its handler wrote it.
    pub cursor: Option<String>,
    /// Units of work done, as its runner last wrote it.
    pub units_done: i64,
    /// Of how many, when known.
    pub units_total: Option<i64>,
    pub last_error: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

const COLUMNS: &str = "id, kind, payload, state, attempts, next_run_at, owner, last_error, created_at, updated_at, \
     lease_until, cursor, units_done, units_total";

fn from_row(row: &Row<'_>) -> rusqlite::Result<JobRecord> {
    Ok(JobRecord {
        id: row.get(0)?,
        kind: row.get(1)?,
        payload: row.get(2)?,
        state: row.get(3)?,
        attempts: row.get(4)?,
        next_run_at: row.get(5)?,
        owner: row.get(6)?,
        last_error: row.get(7)?,
        created_at: row.get(8)?,
        updated_at: row.get(9)?,
        lease_until: row.get(10)?,
        cursor: row.get(11)?,
        units_done: row.get(12)?,
        units_total: row.get(13)?,
    })
}

/// Queues a job to run from now on; returns its id.
pub fn insert_job(conn: &Conn, kind: &str, payload: &str, now: &str) -> Result<i64, StoreError> {
    conn.sqlite().execute(
        "INSERT INTO job (kind, payload, state, next_run_at, created_at, updated_at) \
         VALUES (?1, ?2, 'queued', ?3, ?3, ?3)",
        params![kind, payload, now],
    )?;
    Ok(conn.sqlite().last_insert_rowid())
}

/// The job with this id.
#[cfg(test)]
pub fn find_job(conn: &Conn, id: i64) -> Result<Option<JobRecord>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM job WHERE id = ?1");
    Ok(conn.sqlite().prepare_cached(&sql)?.query_row([id], from_row).optional()?)
}

/// Claims the oldest queued job that is due: it becomes running, owned by `owner` until `lease_until`;
/// the claim counts as an attempt.
pub fn claim_next_job(conn: &Conn, owner: &str, lease_until: &str, now: &str) -> Result<Option<JobRecord>, StoreError> {
    let sql = format!(
        "UPDATE job SET state = 'running', owner = ?1, lease_until = ?3, attempts = attempts + 1, updated_at = ?2 \
         WHERE id = (SELECT id FROM job WHERE state = 'queued' AND next_run_at <= ?2 ORDER BY id LIMIT 1) \
         RETURNING {COLUMNS}"
    );
    Ok(conn.sqlite().query_row(&sql, params![owner, now, lease_until], from_row).optional()?)
}

/// Claims this job if it is queued (whatever its next run time): the CLI runs its own upload at once.
pub fn claim_job(
    conn: &Conn,
    id: i64,
    owner: &str,
    lease_until: &str,
    now: &str,
) -> Result<Option<JobRecord>, StoreError> {
    let sql = format!(
        "UPDATE job SET state = 'running', owner = ?2, lease_until = ?4, attempts = attempts + 1, updated_at = ?3 \
         WHERE id = ?1 AND state = 'queued' RETURNING {COLUMNS}"
    );
    Ok(conn.sqlite().query_row(&sql, params![id, owner, now, lease_until], from_row).optional()?)
}

/// Extends `owner`'s lease on a running job (the heartbeat of a long run).
pub fn update_job_lease(conn: &Conn, id: i64, owner: &str, lease_until: &str) -> Result<(), StoreError> {
    conn.sqlite().execute(
        "UPDATE job SET lease_until = ?3 WHERE id = ?1 AND owner = ?2 AND state = 'running'",
        params![id, owner, lease_until],
    )?;
    Ok(())
}

/// Saves a job's cursor.
pub fn update_job_cursor(conn: &Conn, id: i64, cursor: &str) -> Result<(), StoreError> {
    conn.sqlite().execute("UPDATE job SET cursor = ?2 WHERE id = ?1", params![id, cursor])?;
    Ok(())
}

/// Saves a running job's progress: `done` units of `total` (`None`: not known).
pub fn update_job_progress(conn: &Conn, id: i64, done: i64, total: Option<i64>) -> Result<(), StoreError> {
    conn.sqlite().execute(
        "UPDATE job SET units_done = max(?2, 0), units_total = ?3 WHERE id = ?1",
        params![id, done, total.map(|t| t.max(0))],
    )?;
    Ok(())
}

/// The newest job of `kind` with exactly this payload, whatever its state: how the work asked for
/// one object (the notices of an import) went.
pub fn find_latest_job(conn: &Conn, kind: &str, payload: &str) -> Result<Option<JobRecord>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM job WHERE kind = ?1 AND payload = ?2 ORDER BY id DESC LIMIT 1");
    Ok(conn.sqlite().prepare_cached(&sql)?.query_row(params![kind, payload], from_row).optional()?)
}

/// Every running job, to find those whose owner died.
pub fn list_running_jobs(conn: &Conn) -> Result<Vec<JobRecord>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM job WHERE state = 'running' ORDER BY id");
    let rows = conn.sqlite().prepare_cached(&sql)?.query_map([], from_row)?.collect::<Result<_, _>>()?;
    Ok(rows)
}

/// Marks a job done.
pub fn update_job_done(conn: &Conn, id: i64, now: &str) -> Result<(), StoreError> {
    conn.sqlite().execute(
        "UPDATE job SET state = 'done', owner = NULL, lease_until = NULL, updated_at = ?2 WHERE id = ?1",
        params![id, now],
    )?;
    Ok(())
}

/// Puts a job back in the queue, to run not before `next_run_at`; `error` says why it stopped.
pub fn update_job_requeued(
    conn: &Conn,
    id: i64,
    next_run_at: &str,
    error: Option<&str>,
    now: &str,
) -> Result<(), StoreError> {
    conn.sqlite().execute(
        "UPDATE job SET state = 'queued', owner = NULL, lease_until = NULL, next_run_at = ?2, \
         last_error = coalesce(?3, last_error), updated_at = ?4 WHERE id = ?1",
        params![id, next_run_at, error, now],
    )?;
    Ok(())
}

/// Puts a running job stopped by a shutdown back in the queue, due at once; the stop does not
/// count as an attempt (a server restarted during a long import must not use up its attempts).
/// Returns whether the job was still running (a job that ended meanwhile is left as it ended).
pub fn update_job_interrupted(conn: &Conn, id: i64, now: &str) -> Result<bool, StoreError> {
    let n = conn.sqlite().execute(
        "UPDATE job SET state = 'queued', owner = NULL, lease_until = NULL, next_run_at = ?2, \
         attempts = max(attempts - 1, 0), last_error = 'interrupted by shutdown', updated_at = ?2 \
         WHERE id = ?1 AND state = 'running'",
        params![id, now],
    )?;
    Ok(n > 0)
}

/// Gives a job up for good.
pub fn update_job_failed(conn: &Conn, id: i64, error: &str, now: &str) -> Result<(), StoreError> {
    conn.sqlite().execute(
        "UPDATE job SET state = 'failed', owner = NULL, lease_until = NULL, last_error = ?2, updated_at = ?3 \
         WHERE id = ?1",
        params![id, error, now],
    )?;
    Ok(())
}

/// The queued job of `kind` with exactly this payload, if any.
pub fn find_queued_job(conn: &Conn, kind: &str, payload: &str) -> Result<Option<i64>, StoreError> {
    Ok(conn
        .sqlite()
        .query_row(
            "SELECT id FROM job WHERE kind = ?1 AND payload = ?2 AND state = 'queued' ORDER BY id LIMIT 1",
            params![kind, payload],
            |row| row.get(0),
        )
        .optional()?)
}
