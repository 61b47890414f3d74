//! Storing reporting flows (FdR): each flow is checked (receiver, row count, total) and stored
//! with its rows, or recorded as rejected with the reason. Fetching the same flow twice changes
//! nothing. The network side is `pagopa::fdr`.

use serde_json::json;

use crate::clock::Now;
use crate::domain::Cents;
use crate::store::reporting::{self, ReportingFlowRecord, ReportingFlowState, ReportingPaymentRecord};
use crate::store::{Db, StoreError, audit, orgs};

/// Where a flow came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlowSource {
    Rest,
    Soap,
}

impl FlowSource {
    fn code(self) -> &'static str {
        match self {
            FlowSource::Rest => "REST",
            FlowSource::Soap => "SOAP",
        }
    }
}

/// A flow as read from either interface, before checks.
#[derive(Debug, Clone, Default)]
pub struct FlowInput {
    pub iuf: String,
    pub revision: i64,
    pub psp_id: String,
    pub psp_name: Option<String>,
    pub flow_date: Option<String>,
    pub settlement_id: Option<String>,
    pub settlement_date: Option<String>,
    pub receiver_fiscal_code: String,
    pub declared_count: i64,
    pub declared_total: Cents,
    pub payments: Vec<ReportingPaymentRecord>,
}

/// Whether the flow is stored already for the org with `fiscal_code`.
pub fn is_stored(
    db: &Db,
    fiscal_code: &str,
    iuf: &str,
    revision: i64,
    psp_id: Option<&str>,
) -> Result<bool, StoreError> {
    db.read(|conn| match orgs::find_org_by_fiscal_code(conn, fiscal_code)? {
        Some(org) => reporting::flow_exists(conn, org.id, iuf, revision, psp_id),
        None => Ok(false),
    })
}

/// The reason a flow is refused, if any.
fn check(input: &FlowInput, fiscal_code: &str) -> Option<String> {
    if input.iuf.is_empty()
        || input.iuf.len() > 70
        || !input.iuf.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Some(format!("IUF {:?} is not valid", input.iuf));
    }
    if input.receiver_fiscal_code != fiscal_code {
        return Some(format!("flow is for {}, not for {fiscal_code}", input.receiver_fiscal_code));
    }
    let n_rows = i64::try_from(input.payments.len()).unwrap_or(i64::MAX);
    if n_rows != input.declared_count {
        return Some(format!("declares {} payments but has {n_rows}", input.declared_count));
    }
    if input.payments.iter().any(|p| p.amount_cents == Cents::ZERO) {
        return Some("a payment has amount 0".to_owned());
    }
    let sum: i64 = input.payments.iter().map(|p| p.amount_cents.get()).sum();
    if sum != input.declared_total.get() {
        return Some(format!(
            "declares a total of {} but its payments sum to {}",
            input.declared_total.to_decimal_string(),
            Cents::new(sum).to_decimal_string()
        ));
    }
    None
}

/// The orgs whose reporting flows are fetched: every one past `INSERITO` (registered with pagoPA).
pub fn orgs_to_fetch(db: &Db) -> Result<Vec<crate::store::orgs::OrgRecord>, StoreError> {
    Ok(db.read(orgs::list_orgs)?.into_iter().filter(|o| o.state.is_registered_with_pagopa()).collect())
}

/// Checks and stores a flow for the org with `fiscal_code`; returns whether it was accepted (a
/// rejected flow is stored too, without rows). A flow already stored is left alone.
pub fn store_flow(
    db: &Db,
    fiscal_code: &str,
    input: &FlowInput,
    source: FlowSource,
    document: &str,
    now: Now,
) -> Result<bool, StoreError> {
    let reason = check(input, fiscal_code);
    db.write(|tx| {
        let Some(org) = orgs::find_org_by_fiscal_code(tx, fiscal_code)? else {
            return Ok(false);
        };
        if reporting::flow_exists(tx, org.id, &input.iuf, input.revision, Some(&input.psp_id))? {
            return Ok(reason.is_none());
        }
        let record = ReportingFlowRecord {
            org_id: org.id,
            iuf: input.iuf.clone(),
            revision: input.revision,
            psp_id: input.psp_id.clone(),
            psp_name: input.psp_name.clone(),
            flow_date: input.flow_date.clone(),
            settlement_id: input.settlement_id.clone(),
            settlement_date: input.settlement_date.clone(),
            total_payments: Some(input.declared_count),
            total_amount_cents: Some(input.declared_total),
            state: if reason.is_none() { ReportingFlowState::Acquired } else { ReportingFlowState::Refused },
            reject_reason: reason.clone(),
            source: source.code().to_owned(),
            document: Some(document.to_owned()),
            payments: if reason.is_none() { input.payments.clone() } else { Vec::new() },
            ..Default::default()
        };
        reporting::insert_flow(tx, &record, &now.iso())?;
        journal(tx, org.id, &record, now)?;
        Ok(reason.is_none())
    })
}

/// Records a flow that could not even be read, with the reason.
#[expect(clippy::too_many_arguments, reason = "every field of a rejected flow's record")]
pub fn reject_flow(
    db: &Db,
    fiscal_code: &str,
    iuf: &str,
    revision: i64,
    psp_id: &str,
    source: FlowSource,
    reason: &str,
    document: Option<&str>,
    now: Now,
) -> Result<(), StoreError> {
    db.write(|tx| {
        let Some(org) = orgs::find_org_by_fiscal_code(tx, fiscal_code)? else {
            return Ok(());
        };
        if reporting::flow_exists(tx, org.id, iuf, revision, Some(psp_id))? {
            return Ok(());
        }
        let record = ReportingFlowRecord {
            org_id: org.id,
            iuf: iuf.to_owned(),
            revision,
            psp_id: psp_id.to_owned(),
            state: ReportingFlowState::Refused,
            reject_reason: Some(reason.to_owned()),
            source: source.code().to_owned(),
            document: document.map(str::to_owned),
            ..Default::default()
        };
        reporting::insert_flow(tx, &record, &now.iso())?;
        journal(tx, org.id, &record, now)
    })
}

fn journal(tx: &crate::store::Conn, org_id: i64, record: &ReportingFlowRecord, now: Now) -> Result<(), StoreError> {
    let object = format!("reporting_flow:{}/{}/{}", record.iuf, record.revision, record.psp_id);
    let after =
        json!({ "state": record.state.code(), "reason": record.reject_reason, "payments": record.payments.len(),
        "total_amount_cents": record.total_amount_cents.map(Cents::get) })
        .to_string();
    let entry = audit::AuditEntry {
        actor: "system",
        org_id: Some(org_id),
        action: "reporting.fetch",
        object: Some(&object),
        outcome: record.state.code(),
        after_json: Some(&after),
        ..Default::default()
    };
    audit::insert_audit(tx, &entry, &now.iso())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]
    use super::*;
    use crate::services::admin::orgs::{OrgChanges, add_org};

    fn db_with_org() -> (tempfile::TempDir, Db) {
        let dir = tempfile::tempdir().unwrap();
        let (db, _) = Db::open(&dir.path().join("mypay.db")).unwrap();
        let changes = OrgChanges {
            fiscal_code: Some("01234567897".to_owned()),
            name: Some("Comune di Esempio".to_owned()),
            segregation_code: Some("01".to_owned()),
            state: Some("ESERCIZIO".to_owned()),
            ..OrgChanges::default()
        };
        add_org(&db, "test", "c_esempio", &changes, now()).unwrap();
        (dir, db)
    }

    fn now() -> Now {
        Now::at("2026-12-01T09:00:00Z".parse().unwrap())
    }

    fn flow() -> FlowInput {
        let row = |iuv: &str, cents: i64| ReportingPaymentRecord {
            iuv: iuv.to_owned(),
            iur: format!("iur-{iuv}"),
            transfer_index: Some(1),
            amount_cents: Cents::new(cents),
            outcome_code: "0".to_owned(),
            outcome_date: "2026-11-30".to_owned(),
        };
        FlowInput {
            iuf: "2026-11-30BCITITMM-0001".to_owned(),
            revision: 1,
            psp_id: "BCITITMM".to_owned(),
            receiver_fiscal_code: "01234567897".to_owned(),
            declared_count: 2,
            declared_total: Cents::new(3050),
            payments: vec![row("01000000000000144", 1050), row("01000000000000241", 2000)],
            ..FlowInput::default()
        }
    }

    #[test]
    fn a_flow_is_stored_once() {
        let (_dir, db) = db_with_org();
        assert!(store_flow(&db, "01234567897", &flow(), FlowSource::Rest, "{}", now()).unwrap());
        assert!(store_flow(&db, "01234567897", &flow(), FlowSource::Rest, "{}", now()).unwrap());
        let flows = db.read(|c| reporting::list_flows(c, 1)).unwrap();
        assert_eq!(flows.len(), 1);
        assert_eq!(flows[0].state, ReportingFlowState::Acquired);
        assert_eq!(db.read(|c| reporting::count_flow_payments(c, flows[0].id)).unwrap(), 2);
        assert!(is_stored(&db, "01234567897", "2026-11-30BCITITMM-0001", 1, Some("BCITITMM")).unwrap());
    }

    #[test]
    fn inconsistent_flows_are_kept_as_rejected_with_the_reason() {
        let (_dir, db) = db_with_org();
        let mut wrong_total = flow();
        wrong_total.declared_total = Cents::new(3051);
        assert!(!store_flow(&db, "01234567897", &wrong_total, FlowSource::Soap, "<x/>", now()).unwrap());
        let mut wrong_count = flow();
        wrong_count.iuf = "2026-11-30BCITITMM-0002".to_owned();
        wrong_count.declared_count = 3;
        assert!(!store_flow(&db, "01234567897", &wrong_count, FlowSource::Soap, "<x/>", now()).unwrap());
        let flows = db.read(|c| reporting::list_flows(c, 1)).unwrap();
        assert_eq!(flows.len(), 2);
        assert_eq!(flows[1].reject_reason.as_deref(), Some("declares a total of 30.51 but its payments sum to 30.50"));
        assert_eq!(flows[0].reject_reason.as_deref(), Some("declares 3 payments but has 2"));
        assert_eq!(db.read(|c| reporting::count_flow_payments(c, flows[0].id)).unwrap(), 0);
    }
}
