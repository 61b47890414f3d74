//! Upstream mode's outbox (`upstream_change`): the changes of a mirrored org's debts, and its debt
//! flows, waiting to be sent to the regional MyPay, in id order per org; and the org's mirror flag
//! (`org.upstream_mirror`). When and how to send is `crate::services::upstream::outbox`'s.
//!
//! [`ChangeState`] and [`ChangeAction`] live here, beside the record, and not in `domain`: they are
//! delivery bookkeeping (send in order until the Region answers), with no business rule of their own.
//! Texts stored from the Region's answers are cut to their column's bound here, so a long answer
//! never fails the write that records it.

use rusqlite::{OptionalExtension, Row, params};

use super::codes::stored_as_code;
use super::{Conn, StoreError};

/// What a change asks of the Region.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum ChangeAction {
    /// `I`: a new debt.
    #[default]
    Insert,
    /// `M`: the debt's fields replaced.
    Modify,
    /// `A`: the debt annulled.
    Annul,
    /// `F`: a debt flow, uploaded whole.
    Flow,
}

impl ChangeAction {
    /// Every action.
    pub const ALL: [ChangeAction; 4] =
        [ChangeAction::Insert, ChangeAction::Modify, ChangeAction::Annul, ChangeAction::Flow];

    /// The stored code, MyPay's `azione` for a debt.
    pub const fn code(self) -> &'static str {
        match self {
            ChangeAction::Insert => "I",
            ChangeAction::Modify => "M",
            ChangeAction::Annul => "A",
            ChangeAction::Flow => "F",
        }
    }

    /// The action with this code, if any.
    pub fn from_code(code: &str) -> Option<ChangeAction> {
        ChangeAction::ALL.into_iter().find(|action| action.code() == code)
    }
}

stored_as_code!(ChangeAction, "upstream_change.action");

/// Where a change stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum ChangeState {
    /// `PENDING`: not answered yet (never tried, waiting for a retry, or a flow being processed).
    #[default]
    Pending,
    /// `SENT`: the Region took it. Final.
    Sent,
    /// `REFUSED`: the Region refused it with its code. Final.
    Refused,
}

impl ChangeState {
    /// Every state.
    pub const ALL: [ChangeState; 3] = [ChangeState::Pending, ChangeState::Sent, ChangeState::Refused];

    /// The stored code.
    pub const fn code(self) -> &'static str {
        match self {
            ChangeState::Pending => "PENDING",
            ChangeState::Sent => "SENT",
            ChangeState::Refused => "REFUSED",
        }
    }

    /// The state with this code, if any.
    pub fn from_code(code: &str) -> Option<ChangeState> {
        ChangeState::ALL.into_iter().find(|state| state.code() == code)
    }
}

stored_as_code!(ChangeState, "upstream_change.state");

/// One queued change.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ChangeRecord {
    pub id: i64,
    pub org_id: i64,
    /// The debt of an `I`, `M` or `A`; `None` for a flow.
    pub debt_id: Option<i64>,
    /// The import of an `F`.
    pub import_id: Option<i64>,
    pub action: ChangeAction,
    pub state: ChangeState,
    /// Attempts that failed and will be retried (a flow's status polls are not counted).
    pub attempts: i64,
    pub next_attempt_at: String,
    /// MyPay's code of the last refusal or failure (a note on a `SENT` change: why it went as it did).
    pub last_error_code: Option<String>,
    pub last_error_text: Option<String>,
    /// The IUV the Region answered.
    pub region_iuv: Option<String>,
    /// A flow's request token at the Region, once uploaded.
    pub request_token: Option<String>,
    /// The earlier change whose send carried this `M` (the debt was sent as it then was).
    pub merged_into: Option<i64>,
    pub created_at: String,
    /// When the Region's answer finished it.
    pub sent_at: Option<String>,
}

const COLUMNS: &str = "id, org_id, debt_id, import_id, action, state, attempts, next_attempt_at, last_error_code, \
     last_error_text, region_iuv, request_token, merged_into, created_at, sent_at";

fn from_row(row: &Row<'_>) -> rusqlite::Result<ChangeRecord> {
    Ok(ChangeRecord {
        id: row.get(0)?,
        org_id: row.get(1)?,
        debt_id: row.get(2)?,
        import_id: row.get(3)?,
        action: row.get(4)?,
        state: row.get(5)?,
        attempts: row.get(6)?,
        next_attempt_at: row.get(7)?,
        last_error_code: row.get(8)?,
        last_error_text: row.get(9)?,
        region_iuv: row.get(10)?,
        request_token: row.get(11)?,
        merged_into: row.get(12)?,
        created_at: row.get(13)?,
        sent_at: row.get(14)?,
    })
}

/// The changes queued for one debt, oldest first, at most `limit`.
pub fn list_changes_of_debt(conn: &Conn, debt_id: i64, limit: u32) -> Result<Vec<ChangeRecord>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM upstream_change WHERE debt_id = ?1 ORDER BY id LIMIT ?2");
    let rows =
        conn.sqlite().prepare_cached(&sql)?.query_map(params![debt_id, limit], from_row)?.collect::<Result<_, _>>()?;
    Ok(rows)
}

/// Bounds of the texts kept from the Region's answers, as the schema checks them.
const CODE_MAX: usize = 64;
const TEXT_MAX: usize = 1024;

/// `text` cut to `max` characters.
fn bounded(text: &str, max: usize) -> &str {
    match text.char_indices().nth(max) {
        Some((at, _)) => text.get(..at).unwrap_or(text),
        None => text,
    }
}

/// What a finished or failed attempt records.
#[derive(Debug, Clone, Copy, Default)]
pub struct Outcome<'a> {
    pub code: Option<&'a str>,
    pub text: Option<&'a str>,
    pub region_iuv: Option<&'a str>,
}

/// Queues a change, due at once; returns its id. `debt_id` for `I`/`M`/`A`, `import_id` for `F`.
pub fn insert_change(
    conn: &Conn,
    org_id: i64,
    action: ChangeAction,
    debt_id: Option<i64>,
    import_id: Option<i64>,
    now: &str,
) -> Result<i64, StoreError> {
    conn.sqlite()
        .prepare_cached(
            "INSERT INTO upstream_change (org_id, debt_id, import_id, action, next_attempt_at, created_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
        )?
        .execute(params![org_id, debt_id, import_id, action, now])?;
    Ok(conn.sqlite().last_insert_rowid())
}

/// The first change of the org not finished yet, due or not: the head of its queue.
pub fn find_head(conn: &Conn, org_id: i64) -> Result<Option<ChangeRecord>, StoreError> {
    let sql =
        format!("SELECT {COLUMNS} FROM upstream_change WHERE org_id = ?1 AND state = 'PENDING' ORDER BY id LIMIT 1");
    Ok(conn.sqlite().prepare_cached(&sql)?.query_row([org_id], from_row).optional()?)
}

/// The ids of the debt's pending `M` changes after change `after`.
pub fn list_pending_modifies(conn: &Conn, debt_id: i64, after: i64) -> Result<Vec<i64>, StoreError> {
    Ok(conn
        .sqlite()
        .prepare_cached(
            "SELECT id FROM upstream_change WHERE debt_id = ?1 AND id > ?2 AND action = 'M' AND state = 'PENDING' \
             ORDER BY id",
        )?
        .query_map(params![debt_id, after], |row| row.get(0))?
        .collect::<Result<_, _>>()?)
}

/// Whether the Region has, or will have, this debt from us: a change of it was queued, or the flow
/// that wrote it (`import_id`) was.
pub fn debt_is_mirrored(conn: &Conn, debt_id: i64, import_id: Option<i64>) -> Result<bool, StoreError> {
    Ok(conn
        .sqlite()
        .prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM upstream_change WHERE debt_id = ?1) \
             OR (?2 IS NOT NULL AND EXISTS (SELECT 1 FROM upstream_change WHERE import_id = ?2 AND action = 'F'))",
        )?
        .query_row(params![debt_id, import_id], |row| row.get(0))?)
}

/// Whether the flow of import `import_id` was queued (its `F`).
pub fn flow_is_queued(conn: &Conn, import_id: i64) -> Result<bool, StoreError> {
    Ok(conn
        .sqlite()
        .prepare_cached("SELECT 1 FROM upstream_change WHERE import_id = ?1 AND action = 'F'")?
        .exists([import_id])?)
}

/// Finishes a pending change as `state` (`SENT` or `REFUSED`) with what the Region answered, if
/// it is still the attempt the caller read (`attempts`); returns whether it did.
pub fn update_change_finished(
    conn: &Conn,
    id: i64,
    attempts: i64,
    state: ChangeState,
    outcome: Outcome<'_>,
    now: &str,
) -> Result<bool, StoreError> {
    let changed = conn
        .sqlite()
        .prepare_cached(
            "UPDATE upstream_change SET state = ?3, last_error_code = ?4, last_error_text = ?5, \
             region_iuv = coalesce(?6, region_iuv), sent_at = ?7 WHERE id = ?1 AND attempts = ?2 AND state = 'PENDING'",
        )?
        .execute(params![
            id,
            attempts,
            state,
            outcome.code.map(|c| bounded(c, CODE_MAX)),
            outcome.text.map(|t| bounded(t, TEXT_MAX)),
            outcome.region_iuv.map(|i| bounded(i, 35)),
            now
        ])?;
    Ok(changed == 1)
}

/// Records a failed attempt of a pending change (one more attempt, due again at `next_at`), if it
/// is still the attempt the caller read; returns whether it did.
pub fn update_change_retry(
    conn: &Conn,
    id: i64,
    attempts: i64,
    next_at: &str,
    outcome: Outcome<'_>,
) -> Result<bool, StoreError> {
    let changed = conn
        .sqlite()
        .prepare_cached(
            "UPDATE upstream_change SET attempts = attempts + 1, next_attempt_at = ?3, last_error_code = ?4, \
             last_error_text = ?5 WHERE id = ?1 AND attempts = ?2 AND state = 'PENDING'",
        )?
        .execute(params![
            id,
            attempts,
            next_at,
            outcome.code.map(|c| bounded(c, CODE_MAX)),
            outcome.text.map(|t| bounded(t, TEXT_MAX))
        ])?;
    Ok(changed == 1)
}

/// Puts off a pending change to `next_at` without counting an attempt (a flow the Region is still
/// processing, or one whose local import has not ended); `token`, when given, is the flow's
/// request token at the Region, kept from now on.
pub fn update_change_later(conn: &Conn, id: i64, next_at: &str, token: Option<&str>) -> Result<(), StoreError> {
    conn.sqlite()
        .prepare_cached(
            "UPDATE upstream_change SET next_attempt_at = ?2, request_token = coalesce(?3, request_token), \
             last_error_code = NULL, last_error_text = NULL WHERE id = ?1 AND state = 'PENDING'",
        )?
        .execute(params![id, next_at, token.map(|t| bounded(t, 256))])?;
    Ok(())
}

/// Marks pending `M` changes as carried by change `into` (sent, at `now`).
pub fn update_changes_merged(conn: &Conn, ids: &[i64], into: i64, now: &str) -> Result<usize, StoreError> {
    let mut stmt = conn.sqlite().prepare_cached(
        "UPDATE upstream_change SET state = 'SENT', merged_into = ?2, sent_at = ?3 \
         WHERE id = ?1 AND state = 'PENDING' AND action = 'M'",
    )?;
    let mut merged = 0;
    for id in ids {
        merged += stmt.execute(params![id, into, now])?;
    }
    Ok(merged)
}

/// Removes a pending change that turned out to have nothing to send (a flow whose local import
/// was aborted or loaded no row).
pub fn delete_pending_change(conn: &Conn, id: i64) -> Result<(), StoreError> {
    conn.sqlite().prepare_cached("DELETE FROM upstream_change WHERE id = ?1 AND state = 'PENDING'")?.execute([id])?;
    Ok(())
}

/// How many changes of the org are not finished.
pub fn count_pending(conn: &Conn, org_id: i64) -> Result<i64, StoreError> {
    Ok(conn
        .sqlite()
        .prepare_cached("SELECT count(*) FROM upstream_change WHERE org_id = ?1 AND state = 'PENDING'")?
        .query_row([org_id], |row| row.get(0))?)
}

/// The org's changes, newest first.
#[cfg(test)]
pub fn list_changes(conn: &Conn, org_id: i64, limit: u32) -> Result<Vec<ChangeRecord>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM upstream_change WHERE org_id = ?1 ORDER BY id DESC LIMIT ?2");
    Ok(conn.sqlite().prepare_cached(&sql)?.query_map(params![org_id, limit], from_row)?.collect::<Result<_, _>>()?)
}

/// When the Region last answered one of the org's changes.
pub fn find_last_answer(conn: &Conn, org_id: i64) -> Result<Option<String>, StoreError> {
    Ok(conn
        .sqlite()
        .prepare_cached("SELECT max(sent_at) FROM upstream_change WHERE org_id = ?1")?
        .query_row([org_id], |row| row.get(0))?)
}

/// A change with what it is about: its debt's IUD, or its flow's file name as uploaded.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ChangeSubject {
    pub change: ChangeRecord,
    pub subject: Option<String>,
}

/// [`COLUMNS`] of `upstream_change c`, and the subject, for the joins below.
const SUBJECT_COLUMNS: &str = "c.id, c.org_id, c.debt_id, c.import_id, c.action, c.state, c.attempts, \
     c.next_attempt_at, c.last_error_code, c.last_error_text, c.region_iuv, c.request_token, c.merged_into, \
     c.created_at, c.sent_at, coalesce(d.iud, i.file_name) \
     FROM upstream_change c LEFT JOIN debt d ON d.id = c.debt_id LEFT JOIN debt_import i ON i.id = c.import_id";

fn subject_from_row(row: &Row<'_>) -> rusqlite::Result<ChangeSubject> {
    Ok(ChangeSubject { change: from_row(row)?, subject: row.get(15)? })
}

/// The head of the org's queue ([`find_head`]) with its subject.
pub fn find_head_subject(conn: &Conn, org_id: i64) -> Result<Option<ChangeSubject>, StoreError> {
    let sql = format!("SELECT {SUBJECT_COLUMNS} WHERE c.org_id = ?1 AND c.state = 'PENDING' ORDER BY c.id LIMIT 1");
    Ok(conn.sqlite().prepare_cached(&sql)?.query_row([org_id], subject_from_row).optional()?)
}

/// The org's changes the Region refused, newest first, at most `limit`.
pub fn list_refused(conn: &Conn, org_id: i64, limit: u32) -> Result<Vec<ChangeSubject>, StoreError> {
    let sql =
        format!("SELECT {SUBJECT_COLUMNS} WHERE c.org_id = ?1 AND c.state = 'REFUSED' ORDER BY c.id DESC LIMIT ?2");
    Ok(conn
        .sqlite()
        .prepare_cached(&sql)?
        .query_map(params![org_id, limit], subject_from_row)?
        .collect::<Result<_, _>>()?)
}

/// How many of the org's changes the Region refused.
pub fn count_refused(conn: &Conn, org_id: i64) -> Result<i64, StoreError> {
    Ok(conn
        .sqlite()
        .prepare_cached("SELECT count(*) FROM upstream_change WHERE org_id = ?1 AND state = 'REFUSED'")?
        .query_row([org_id], |row| row.get(0))?)
}

/// The orgs with a change not finished, by id.
#[cfg(test)]
pub fn list_orgs_with_pending(conn: &Conn) -> Result<Vec<i64>, StoreError> {
    Ok(conn
        .sqlite()
        .prepare_cached("SELECT DISTINCT org_id FROM upstream_change WHERE state = 'PENDING' ORDER BY org_id")?
        .query_map([], |row| row.get(0))?
        .collect::<Result<_, _>>()?)
}

/// Whether the org's debts are mirrored to the Region.
pub fn org_is_mirrored(conn: &Conn, org_id: i64) -> Result<bool, StoreError> {
    Ok(conn
        .sqlite()
        .prepare_cached("SELECT upstream_mirror FROM org WHERE id = ?1")?
        .query_row([org_id], |row| row.get::<_, bool>(0))
        .optional()?
        .unwrap_or(false))
}

/// Turns the org's mirroring on or off; returns whether the org exists.
pub fn update_org_mirrored(conn: &Conn, org_id: i64, on: bool, now: &str) -> Result<bool, StoreError> {
    let changed = conn
        .sqlite()
        .prepare_cached("UPDATE org SET upstream_mirror = ?2, updated_at = ?3 WHERE id = ?1")?
        .execute(params![org_id, on, now])?;
    Ok(changed == 1)
}

/// Where the org's backfill stands: the last debt id queued, `None` when nothing is left to queue.
pub fn find_org_backfill(conn: &Conn, org_id: i64) -> Result<Option<i64>, StoreError> {
    Ok(conn
        .sqlite()
        .prepare_cached("SELECT upstream_backfill_after FROM org WHERE id = ?1")?
        .query_row([org_id], |row| row.get::<_, Option<i64>>(0))
        .optional()?
        .flatten())
}

/// Sets where the org's backfill stands (`None`: nothing left to queue).
pub fn update_org_backfill(conn: &Conn, org_id: i64, after: Option<i64>) -> Result<(), StoreError> {
    conn.sqlite()
        .prepare_cached("UPDATE org SET upstream_backfill_after = ?2 WHERE id = ?1")?
        .execute(params![org_id, after])?;
    Ok(())
}

/// The ids, in order, of at most `limit` of the org's open debts after id `after` that the Region
/// has not had from us: no change of theirs was queued, their flow was not, and they are not a
/// payment session's (which the Region makes itself).
pub fn list_unmirrored_open_debts(conn: &Conn, org_id: i64, after: i64, limit: u32) -> Result<Vec<i64>, StoreError> {
    Ok(conn
        .sqlite()
        .prepare_cached(
            "SELECT d.id FROM debt d WHERE d.org_id = ?1 AND d.id > ?2 \
             AND d.state IN ('INSERIMENTO_DOVUTO', 'PREDISPOSTO') \
             AND NOT EXISTS (SELECT 1 FROM upstream_change c WHERE c.debt_id = d.id) \
             AND NOT (d.import_id IS NOT NULL AND EXISTS \
                 (SELECT 1 FROM upstream_change c WHERE c.import_id = d.import_id AND c.action = 'F')) \
             AND NOT EXISTS (SELECT 1 FROM region_session_debt r WHERE r.debt_id = d.id) \
             ORDER BY d.id LIMIT ?3",
        )?
        .query_map(params![org_id, after, limit], |row| row.get(0))?
        .collect::<Result<_, _>>()?)
}

/// Makes the org's pending changes that wait for a retry due at `now` (the Region answered
/// another call meanwhile: it is back); returns how many.
pub fn update_retries_due(conn: &Conn, org_id: i64, now: &str) -> Result<usize, StoreError> {
    Ok(conn
        .sqlite()
        .prepare_cached(
            "UPDATE upstream_change SET next_attempt_at = ?2 \
             WHERE org_id = ?1 AND state = 'PENDING' AND attempts > 0 AND next_attempt_at > ?2",
        )?
        .execute(params![org_id, now])?)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn texts_are_cut_on_characters() {
        assert_eq!(bounded("abc", 2), "ab");
        assert_eq!(bounded("àèì", 2), "àè");
        assert_eq!(bounded("ab", 5), "ab");
    }

    #[test]
    fn codes_read_back() {
        for action in ChangeAction::ALL {
            assert_eq!(ChangeAction::from_code(action.code()), Some(action));
        }
        for state in ChangeState::ALL {
            assert_eq!(ChangeState::from_code(state.code()), Some(state));
        }
        assert_eq!(ChangeAction::from_code("S"), None);
    }
}
