//! A debt position's payment options beside its single one (`debt_option`): instalments and the
//! reduced amount of a fine, each with its own IUV and notice number (domain::payment_options).
//!
//! **Invariant:** a live IUV names one thing in the org, a debt or an option: the unique index
//! `debt_option_org_iuv` among options and the triggers of version 29 across both tables.
//! Annulling the position releases its options' IUVs with its own ([`release_options`]).

use rusqlite::{OptionalExtension, Row, params};

use super::{Conn, StoreError};
use crate::domain::payment_options::{OptionFacts, OptionKind, OptionState};
use crate::domain::{Cents, Day, NoticeNumber};

/// One stored option.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OptionRecord {
    pub id: i64,
    pub debt_id: i64,
    pub org_id: i64,
    pub kind: OptionKind,
    /// 1..n within its kind.
    pub seq: i64,
    pub iuv: crate::domain::Iuv,
    pub notice_number: NoticeNumber,
    pub amount_cents: Cents,
    pub due_date: Day,
    pub state: OptionState,
    pub paid_at: Option<String>,
}

impl OptionRecord {
    /// What the BR-12 rules read of it.
    pub fn facts(&self) -> OptionFacts {
        OptionFacts { kind: self.kind, state: self.state, due_date: self.due_date }
    }
}

/// A new option of debt `debt_id`.
#[derive(Debug, Clone)]
pub struct NewOption<'a> {
    pub debt_id: i64,
    pub org_id: i64,
    pub kind: OptionKind,
    pub seq: i64,
    pub iuv: &'a str,
    pub notice_number: &'a str,
    pub amount_cents: Cents,
    pub due_date: Day,
}

const COLUMNS: &str = "id, debt_id, org_id, kind, seq, iuv, notice_number, amount_cents, due_date, state, paid_at";

fn from_row(row: &Row<'_>) -> rusqlite::Result<OptionRecord> {
    Ok(OptionRecord {
        id: row.get(0)?,
        debt_id: row.get(1)?,
        org_id: row.get(2)?,
        kind: row.get(3)?,
        seq: row.get(4)?,
        iuv: row.get(5)?,
        notice_number: row.get(6)?,
        amount_cents: row.get(7)?,
        due_date: row.get(8)?,
        state: row.get(9)?,
        paid_at: row.get(10)?,
    })
}

/// Inserts an option; an IUV live in the org (a debt's or another option's) fails with
/// [`StoreError::Duplicate`].
pub fn insert_option(conn: &Conn, o: &NewOption<'_>, now: &str) -> Result<i64, StoreError> {
    conn.sqlite()
        .prepare_cached(
            "INSERT INTO debt_option (debt_id, org_id, kind, seq, iuv, notice_number, amount_cents, due_date, created_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        )?
        .execute(params![o.debt_id, o.org_id, o.kind, o.seq, o.iuv, o.notice_number, o.amount_cents, o.due_date, now])
        .map_err(StoreError::from_sqlite)?;
    Ok(conn.sqlite().last_insert_rowid())
}

/// The options of a debt: instalments in order, then the reduced one.
pub fn list_options(conn: &Conn, debt_id: i64) -> Result<Vec<OptionRecord>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM debt_option WHERE debt_id = ?1 ORDER BY kind, seq");
    let mut stmt = conn.sqlite().prepare_cached(&sql)?;
    let rows = stmt.query_map([debt_id], from_row)?.collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// The most recent option that ever had this IUV in the org, released ones included (a receipt
/// may arrive after the position was annulled), as [`super::debts::find_any_debt_by_iuv`].
pub fn find_any_option_by_iuv(conn: &Conn, org_id: i64, iuv: &str) -> Result<Option<OptionRecord>, StoreError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM debt_option WHERE id = (SELECT max(id) FROM debt_option WHERE org_id = ?1 AND iuv = ?2)"
    );
    Ok(conn.sqlite().prepare_cached(&sql)?.query_row(params![org_id, iuv], from_row).optional()?)
}

/// Marks an option paid.
pub fn mark_paid(conn: &Conn, option_id: i64, now: &str) -> Result<(), StoreError> {
    conn.sqlite()
        .prepare_cached("UPDATE debt_option SET state = 'PAGATA', paid_at = ?2 WHERE id = ?1")?
        .execute(params![option_id, now])?;
    Ok(())
}

/// Releases the IUVs of a debt's options (the position was annulled), so they can be used again.
pub fn release_options(conn: &Conn, debt_id: i64) -> Result<(), StoreError> {
    conn.sqlite()
        .prepare_cached("UPDATE debt_option SET released_id = id WHERE debt_id = ?1 AND released_id = 0")?
        .execute([debt_id])?;
    Ok(())
}
