//! Reading the audit journal in the back office: the org's entries filtered by who, what, which
//! object, outcome and range of Europe/Rome days, one page at a time, and one entry with its
//! payloads. The journal itself is append-only (`store::audit`); this module only reads it.

use jiff::Timestamp;
use jiff::civil::Date;

use crate::services::ServiceError;
use crate::store::Db;
use crate::store::audit::{self, AuditDetail, AuditFilter, AuditRecord};

/// Entries per page.
pub const PAGE_SIZE: u32 = 50;

/// The journal filters as typed; empty means any.
#[derive(Debug, Clone, Default)]
pub struct JournalCriteria {
    pub actor: String,
    pub action: String,
    pub object: String,
    pub outcome: String,
    /// `YYYY-MM-DD`, inclusive.
    pub from: String,
    pub to: String,
}

fn opt(text: &str) -> Option<String> {
    let t = text.trim();
    (!t.is_empty()).then(|| t.to_owned())
}

/// A typed day as the stored UTC instant `edge` makes of it (a Rome day's start or end).
fn day_edge(
    field: &str,
    text: &str,
    edge: fn(Date) -> Result<Timestamp, jiff::Error>,
) -> Result<Option<String>, ServiceError> {
    let Some(t) = opt(text) else { return Ok(None) };
    let day = t.parse::<Date>().map_err(|_| ServiceError::invalid(field, format!("{t:?} is not a date")))?;
    let instant = edge(day).map_err(|err| ServiceError::invalid(field, err.to_string()))?;
    Ok(Some(crate::clock::iso(instant)))
}

/// Page `page` (from 1) of the org's journal matching `c`, newest first. The days are Europe/Rome
/// calendar days, both inclusive: `from` starts at local midnight, `to` ends at the next one.
pub fn search(db: &Db, org_id: i64, c: &JournalCriteria, page: u64) -> Result<Vec<AuditRecord>, ServiceError> {
    let filter = AuditFilter {
        actor_prefix: opt(&c.actor),
        action: opt(&c.action),
        object_prefix: opt(&c.object),
        outcome: opt(&c.outcome),
        from: day_edge("from", &c.from, crate::clock::rome_day_start)?,
        until: day_edge("to", &c.to, crate::clock::rome_day_end)?,
    };
    let offset = (page.max(1) - 1).saturating_mul(u64::from(PAGE_SIZE));
    Ok(db.read(|conn| audit::search_audit(conn, org_id, &filter, PAGE_SIZE, offset))?)
}

/// The org's entry with this id, with its payloads.
pub fn entry(db: &Db, org_id: i64, id: i64) -> Result<AuditDetail, ServiceError> {
    db.read(|conn| audit::find_audit_entry(conn, org_id, id))?
        .ok_or_else(|| ServiceError::NotFound(format!("journal entry {id}")))
}
