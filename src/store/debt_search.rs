//! The back office's debt search: any combination of identifiers, debtor, state, debt type, due-date
//! and paid-date ranges, within the debt types the operator may see, newest first, one page at a
//! time. Kept apart from `debts` (the import's hot write path).
//!
//! Every filter maps to an index of migration 6 or an older one: `(org_id, debtor_name COLLATE
//! NOCASE)` for the name prefix, `(org_id, due_date)`, `(org_id, debt_type_id)`, `(org_id, state)`,
//! `(org_id, iud)`, `(org_id, iuv)` (a notice number is searched by its IUV), `debtor_id`, and the
//! receipts' `(org_id, payment_date)` for the paid-date range. Results come in the order of the
//! index that selects them (name, due date, or newest first), so a page stops after 50 index
//! entries instead of sorting every match; the planner's choice relies on the statistics that
//! `Db::optimize` keeps.

use rusqlite::params_from_iter;
use rusqlite::types::Value;

use super::debts::DebtRecord;
use super::{Conn, StoreError};
use crate::domain::{Day, DebtState};

/// What to look for. Empty fields do not filter; text fields are already normalized by the caller
/// (trimmed, identifiers upper case).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DebtSearch {
    pub iud: Option<String>,
    pub iuv: Option<String>,
    pub notice_number: Option<String>,
    pub debtor_id: Option<String>,
    /// The IUV of the notice number, which is also compared in full.
    pub notice_iuv: Option<String>,
    /// Matches names that start with it, ignoring ASCII case.
    pub debtor_name_prefix: Option<String>,
    pub state: Option<DebtState>,
    pub debt_type_id: Option<i64>,
    /// Inclusive `YYYY-MM-DD` bounds.
    pub due_from: Option<String>,
    pub due_to: Option<String>,
    /// Inclusive bounds on the payment date of a successful receipt.
    pub paid_from: Option<String>,
    pub paid_to: Option<String>,
    /// The debt types the searcher may see; `None`: all of the org's.
    pub allowed_types: Option<Vec<i64>>,
}

/// One result row: the debt and the date of its last successful payment, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DebtHit {
    pub debt: DebtRecord,
    pub paid_date: Option<Day>,
}

/// The WHERE clause of `search` and its parameters, in order.
fn where_clause(org_id: i64, s: &DebtSearch) -> (String, Vec<Value>) {
    let mut sql = String::from("d.org_id = ?");
    let mut values: Vec<Value> = vec![Value::Integer(org_id)];
    // An identifier selects the ids from its own index: as `d.iud = ?` beside the other criteria
    // and the id order, the planner may take another index of the org's debts and scan them all.
    for (column, value) in [("iud", &s.iud), ("iuv", &s.iuv), ("iuv", &s.notice_iuv)] {
        if let Some(value) = value {
            sql.push_str(&format!(" AND d.id IN (SELECT id FROM debt WHERE org_id = ? AND {column} = ?)"));
            values.push(Value::Integer(org_id));
            values.push(Value::Text(value.clone()));
        }
    }
    let mut add = |clause: &str, value: Value| {
        sql.push_str(" AND ");
        sql.push_str(clause);
        values.push(value);
    };
    let text = |v: &Option<String>| v.clone().map(Value::Text);
    if let Some(v) = text(&s.notice_number) {
        add("d.notice_number = ?", v);
    }
    if let Some(v) = text(&s.debtor_id) {
        add("d.debtor_id = ?", v);
    }
    if let Some(prefix) = &s.debtor_name_prefix {
        // A range on the NOCASE index instead of LIKE: no wildcard escaping, and always indexable.
        add("d.debtor_name >= ? COLLATE NOCASE", Value::Text(prefix.clone()));
        add("d.debtor_name < ? COLLATE NOCASE", Value::Text(format!("{prefix}\u{10FFFF}")));
    }
    if let Some(state) = s.state {
        add("d.state = ?", Value::Text(state.code().to_owned()));
    }
    if let Some(id) = s.debt_type_id {
        add("d.debt_type_id = ?", Value::Integer(id));
    }
    if let Some(v) = text(&s.due_from) {
        add("d.due_date >= ?", v);
    }
    if let Some(v) = text(&s.due_to) {
        add("d.due_date <= ?", v);
    }
    if s.paid_from.is_some() || s.paid_to.is_some() {
        sql.push_str(
            " AND d.id IN (SELECT r.debt_id FROM receipt r WHERE r.org_id = ? AND r.outcome = 'OK' AND r.held = 0 \
             AND r.payment_date >= ? AND r.payment_date <= ?)",
        );
        values.push(Value::Integer(org_id));
        values.push(Value::Text(s.paid_from.clone().unwrap_or_default()));
        values.push(Value::Text(s.paid_to.clone().unwrap_or_else(|| "9999-12-31".to_owned())));
    }
    if let Some(types) = &s.allowed_types {
        // At most a few dozen types per org: a literal list the planner can use with the index.
        let list = types.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
        sql.push_str(&format!(" AND d.debt_type_id IN ({list})"));
    }
    (sql, values)
}

/// The order of the results: the one the selecting index already has, so no sort is needed.
fn order_by(s: &DebtSearch) -> &'static str {
    if s.debtor_name_prefix.is_some() {
        "d.debtor_name COLLATE NOCASE, d.id"
    } else if s.due_from.is_some() || s.due_to.is_some() {
        "d.due_date, d.id"
    } else {
        "d.id DESC"
    }
}

const PAID_DATE: &str = "(SELECT max(r.payment_date) FROM receipt r WHERE r.debt_id = d.id AND r.outcome = 'OK' AND r.held = 0) AS paid_date";

/// One page of the debts matching `s`, in the order of [`order_by`].
pub fn search_debts(
    conn: &Conn,
    org_id: i64,
    s: &DebtSearch,
    limit: u32,
    offset: u64,
) -> Result<Vec<DebtHit>, StoreError> {
    let (clause, mut values) = where_clause(org_id, s);
    let sql = format!(
        "SELECT {}, {PAID_DATE} {} WHERE {clause} ORDER BY {} LIMIT ? OFFSET ?",
        super::debts::COLUMNS,
        super::debts::FROM,
        order_by(s)
    );
    values.push(Value::Integer(i64::from(limit)));
    values.push(Value::Integer(i64::try_from(offset).unwrap_or(i64::MAX)));
    let mut stmt = conn.sqlite().prepare_cached(&sql)?;
    let rows = stmt
        .query_map(params_from_iter(values), |row| {
            Ok(DebtHit { debt: super::debts::from_row(row)?, paid_date: row.get(super::debts::COLUMN_COUNT)? })
        })?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

/// How many debts match `s`, counting at most `cap` (a count of a million rows is not worth its
/// time: the page says "more than").
pub fn count_debts_matching(conn: &Conn, org_id: i64, s: &DebtSearch, cap: u64) -> Result<u64, StoreError> {
    let (clause, mut values) = where_clause(org_id, s);
    let sql = format!("SELECT count(*) FROM (SELECT 1 FROM debt d WHERE {clause} LIMIT ?)");
    values.push(Value::Integer(i64::try_from(cap).unwrap_or(i64::MAX)));
    let n: i64 = conn.sqlite().prepare_cached(&sql)?.query_row(params_from_iter(values), |row| row.get(0))?;
    Ok(u64::try_from(n).unwrap_or(0))
}

/// Calls `each` for every debt matching `s` (at most `cap`), in page order, one row in memory at a
/// time: the CSV download.
pub fn for_each_debt_matching(
    conn: &Conn,
    org_id: i64,
    s: &DebtSearch,
    cap: u64,
    mut each: impl FnMut(&DebtHit) -> Result<(), StoreError>,
) -> Result<(), StoreError> {
    let (clause, mut values) = where_clause(org_id, s);
    let sql = format!(
        "SELECT {}, {PAID_DATE} {} WHERE {clause} ORDER BY {} LIMIT ?",
        super::debts::COLUMNS,
        super::debts::FROM,
        order_by(s)
    );
    values.push(Value::Integer(i64::try_from(cap).unwrap_or(i64::MAX)));
    let mut stmt = conn.sqlite().prepare(&sql)?;
    let mut rows = stmt.query(params_from_iter(values))?;
    while let Some(row) = rows.next()? {
        let hit = DebtHit { debt: super::debts::from_row(row)?, paid_date: row.get(super::debts::COLUMN_COUNT)? };
        each(&hit)?;
    }
    Ok(())
}
