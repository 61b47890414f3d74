//! Storing reporting flows (FdR): each flow is checked (receiver, row count, total) and stored
//! with its rows, or recorded as rejected with the reason. Fetching the same flow twice changes
//! nothing. The network side is `pagopa::fdr` (from the Node) or, for a box in upstream mode, the
//! Region's `paaSILChiediFlussoSPC` ([`store_region_flow`]); what a SIL may list and download of
//! the stored flows is `services::sil::reporting`.
//!
//! Versions: a PSP corrects a flow by sending it again with the same identificativoFlusso and a
//! later dataOraFlusso (pagoPA's "sovrascrittura"; over FdR REST, a later revision). Each version
//! is stored; the current one is the accepted version with the latest (dataOraFlusso, revision),
//! whatever the order they arrived in, and every other accepted version points at it
//! (`superseded_by`). A refused version replaces nothing. Versions read from a FlussoRiversamento
//! document (nodeForPa, the Region), which has no revision of its own, are numbered in the order
//! they arrive.

use jiff::civil::DateTime;
use serde_json::json;

use crate::clock::Now;
use crate::domain::Cents;
use crate::store::reporting::{self, ReportingFlowRecord, ReportingFlowState};
use crate::store::{Db, StoreError, audit, orgs};

/// Where a flow came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlowSource {
    /// pagoPA's FdR REST API: the flow's JSON, with its revision.
    Rest,
    /// pagoPA's nodeForPa: the FlussoRiversamento document.
    Soap,
    /// The regional MyPay of a box in upstream mode (`paaSILChiediFlussoSPC`): the
    /// FlussoRiversamento document the Region downloaded from pagoPA.
    Region,
}

impl FlowSource {
    /// The stored code (`reporting_flow.source`).
    pub fn code(self) -> &'static str {
        match self {
            FlowSource::Rest => "REST",
            FlowSource::Soap => "SOAP",
            FlowSource::Region => "REGION",
        }
    }
}

pub use crate::flows::fdr::FlowInput;

/// What storing a flow did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stored {
    /// Checked and stored with its rows; `replaced` earlier versions now point at the current one.
    Accepted { replaced: usize },
    /// Kept without rows, with the reason.
    Refused,
    /// This version was stored already: nothing changed.
    Known,
}

/// A dataOraFlusso as Italian civil time to the second, whatever its stored form: local (as in a
/// FlussoRiversamento), UTC with `Z` (as over FdR REST), with or without a fraction. Two forms of
/// the same instant are the same version.
pub fn local_flow_date(text: &str) -> Option<DateTime> {
    crate::clock::rome_local(text).and_then(|dt| dt.with().subsec_nanosecond(0).build().ok())
}

/// Whether two dataOraFlusso name the same second (two absent ones do).
fn same_date(a: Option<&str>, b: Option<&str>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => a == b || (local_flow_date(a).is_some() && local_flow_date(a) == local_flow_date(b)),
        (a, b) => a == b,
    }
}

/// Whether a list's flow `iuf` dated `flow_date` is stored already for the org, in any form of the
/// date and from any interface (without a date, whether any version of it is).
pub fn is_version_stored(db: &Db, fiscal_code: &str, iuf: &str, flow_date: Option<&str>) -> Result<bool, StoreError> {
    db.read(|conn| match (orgs::find_org_by_fiscal_code(conn, fiscal_code)?, flow_date) {
        (Some(org), Some(date)) => Ok(reporting::list_iuf_versions(conn, org.id, iuf)?
            .iter()
            .any(|v| same_date(v.flow_date.as_deref(), Some(date)))),
        (Some(org), None) => reporting::flow_exists(conn, org.id, iuf, 1, None),
        (None, _) => Ok(false),
    })
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

/// Checks and stores a flow for the org with `fiscal_code` (a rejected flow is stored too,
/// without rows); a version already stored is left alone. Storing an accepted version decides
/// again which version of the flow is current.
pub fn store_flow(
    db: &Db,
    fiscal_code: &str,
    input: &FlowInput,
    source: FlowSource,
    document: &str,
    now: Now,
) -> Result<Stored, StoreError> {
    let reason = check(input, fiscal_code);
    db.write(|tx| {
        let Some(org) = orgs::find_org_by_fiscal_code(tx, fiscal_code)? else {
            return Ok(Stored::Refused);
        };
        let version = Version { iuf: &input.iuf, psp_id: &input.psp_id, revision: input.revision, flow_date: input.flow_date.as_deref() };
        let Some(revision) = place(tx, org.id, &version, source)? else {
            return Ok(Stored::Known);
        };
        let record = ReportingFlowRecord {
            org_id: org.id,
            iuf: input.iuf.clone(),
            revision,
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
        if reason.is_some() {
            return Ok(Stored::Refused);
        }
        let replaced = elect_current(tx, org.id, &input.iuf, &input.psp_id)?;
        if replaced > 0 {
            tracing::info!(iuf = %input.iuf, psp = %input.psp_id, replaced, "reporting flow corrected: earlier versions superseded");
        }
        Ok(Stored::Accepted { replaced })
    })
}

/// The identity of one version of a flow as it arrives.
struct Version<'a> {
    iuf: &'a str,
    psp_id: &'a str,
    revision: i64,
    flow_date: Option<&'a str>,
}

/// The revision a new version is stored under, or `None` when this version is stored already.
/// REST versions carry their revision; a FlussoRiversamento document (from the Node or the Region)
/// has none: it is the same version as a stored one when their dates are, and otherwise takes the
/// next number.
fn place(tx: &crate::store::Conn, org_id: i64, v: &Version<'_>, source: FlowSource) -> Result<Option<i64>, StoreError> {
    let versions = reporting::list_versions(tx, org_id, v.iuf, v.psp_id)?;
    match source {
        FlowSource::Rest => Ok((!versions.iter().any(|s| s.revision == v.revision)).then_some(v.revision)),
        FlowSource::Soap | FlowSource::Region => {
            if versions.iter().any(|s| same_date(s.flow_date.as_deref(), v.flow_date)) {
                return Ok(None);
            }
            Ok(Some(versions.iter().map(|s| s.revision).max().map_or(1, |max| max + 1)))
        }
    }
}

/// Makes the accepted version with the latest (dataOraFlusso, revision) current and points every
/// other accepted version at it; returns how many versions became superseded by this call.
fn elect_current(tx: &crate::store::Conn, org_id: i64, iuf: &str, psp_id: &str) -> Result<usize, StoreError> {
    let versions = reporting::list_versions(tx, org_id, iuf, psp_id)?;
    let accepted: Vec<_> = versions.iter().filter(|v| v.state == ReportingFlowState::Acquired).collect();
    let when = |v: &&&reporting::FlowVersion| v.flow_date.as_deref().and_then(local_flow_date);
    let Some(current) = accepted.iter().max_by(|a, b| (when(a), a.revision).cmp(&(when(b), b.revision))) else {
        return Ok(0);
    };
    let mut newly = 0;
    for v in &accepted {
        let by = (v.id != current.id).then_some(current.id);
        if v.superseded_by != by {
            if v.superseded_by.is_none() {
                newly += 1;
            }
            reporting::update_superseded_by(tx, v.id, by)?;
        }
    }
    Ok(newly)
}

/// A flow as a list names it, before it is read.
#[derive(Debug, Clone, Copy)]
pub struct ListedFlow<'a> {
    pub iuf: &'a str,
    pub revision: i64,
    pub psp_id: &'a str,
    /// dataOraFlusso, when the list gives it (the SOAP list does).
    pub flow_date: Option<&'a str>,
}

/// Records a flow that could not even be read, with the reason.
pub fn reject_flow(
    db: &Db,
    fiscal_code: &str,
    listed: &ListedFlow<'_>,
    source: FlowSource,
    reason: &str,
    document: Option<&str>,
    now: Now,
) -> Result<(), StoreError> {
    db.write(|tx| {
        let Some(org) = orgs::find_org_by_fiscal_code(tx, fiscal_code)? else {
            return Ok(());
        };
        let version =
            Version { iuf: listed.iuf, psp_id: listed.psp_id, revision: listed.revision, flow_date: listed.flow_date };
        let Some(revision) = place(tx, org.id, &version, source)? else {
            return Ok(());
        };
        let record = ReportingFlowRecord {
            org_id: org.id,
            iuf: listed.iuf.to_owned(),
            revision,
            flow_date: listed.flow_date.map(str::to_owned),
            psp_id: listed.psp_id.to_owned(),
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

/// Stores a FlussoRiversamento document downloaded from the Region (`paaSILChiediFlussoSPC`) for
/// the org with `fiscal_code`, through the same checks and versions as a flow fetched from the
/// Node: a later dataOraFlusso of the same flow supersedes the earlier one, the same version again
/// changes nothing, and a document that cannot be read is kept as refused with the reason.
/// `listed` is the flow as the Region's list named it (`identificativoFlusso`, `dataOraFlusso`).
pub fn store_region_flow(
    db: &Db,
    fiscal_code: &str,
    listed: &ListedFlow<'_>,
    xml: &[u8],
    now: Now,
) -> Result<Stored, StoreError> {
    let document = String::from_utf8_lossy(xml);
    match crate::flows::fdr::parse_flusso(xml) {
        Ok(mut input) => {
            // As over nodeForPa: a flow's PSP is the one its IUF names, the id the Node files it under.
            input.psp_id = crate::flows::fdr::psp_of_iuf(&input.iuf).unwrap_or(input.psp_id);
            store_flow(db, fiscal_code, &input, FlowSource::Region, &document, now)
        }
        Err(reason) => {
            reject_flow(db, fiscal_code, listed, FlowSource::Region, &reason, Some(&document), now)?;
            Ok(Stored::Refused)
        }
    }
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
    use crate::store::reporting::ReportingPaymentRecord;

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
        assert_eq!(
            store_flow(&db, "01234567897", &flow(), FlowSource::Rest, "{}", now()).unwrap(),
            Stored::Accepted { replaced: 0 }
        );
        assert_eq!(store_flow(&db, "01234567897", &flow(), FlowSource::Rest, "{}", now()).unwrap(), Stored::Known);
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
        assert_eq!(
            store_flow(&db, "01234567897", &wrong_total, FlowSource::Soap, "<x/>", now()).unwrap(),
            Stored::Refused
        );
        let mut wrong_count = flow();
        wrong_count.iuf = "2026-11-30BCITITMM-0002".to_owned();
        wrong_count.declared_count = 3;
        assert_eq!(
            store_flow(&db, "01234567897", &wrong_count, FlowSource::Soap, "<x/>", now()).unwrap(),
            Stored::Refused
        );
        let flows = db.read(|c| reporting::list_flows(c, 1)).unwrap();
        assert_eq!(flows.len(), 2);
        assert_eq!(flows[1].reject_reason.as_deref(), Some("declares a total of 30.51 but its payments sum to 30.50"));
        assert_eq!(flows[0].reject_reason.as_deref(), Some("declares 3 payments but has 2"));
        assert_eq!(db.read(|c| reporting::count_flow_payments(c, flows[0].id)).unwrap(), 0);
    }

    /// The flow corrected by its PSP: same IUF, a later dataOraFlusso, another amount.
    fn versions() -> (FlowInput, FlowInput) {
        let mut first = flow();
        first.flow_date = Some("2026-11-30T18:00:00".to_owned());
        let mut corrected = flow();
        corrected.flow_date = Some("2026-11-30T21:00:00".to_owned());
        corrected.payments[1].amount_cents = Cents::new(1990);
        corrected.declared_total = Cents::new(3040);
        (first, corrected)
    }

    /// (revision, flow date, superseded) of each stored version, in the order they were stored.
    fn stored_versions(db: &Db) -> Vec<(i64, Option<String>, bool)> {
        let mut flows = db.read(|c| reporting::list_flows(c, 1)).unwrap();
        flows.reverse();
        flows.into_iter().map(|f| (f.revision, f.flow_date, f.superseded_by.is_some())).collect()
    }

    #[test]
    fn a_corrected_flow_supersedes_the_earlier_version_over_soap() {
        let (_dir, db) = db_with_org();
        let (first, corrected) = versions();
        let fc = "01234567897";
        assert_eq!(
            store_flow(&db, fc, &first, FlowSource::Soap, "<a/>", now()).unwrap(),
            Stored::Accepted { replaced: 0 }
        );
        assert!(is_version_stored(&db, fc, &first.iuf, first.flow_date.as_deref()).unwrap());
        assert!(!is_version_stored(&db, fc, &corrected.iuf, corrected.flow_date.as_deref()).unwrap());
        assert_eq!(
            store_flow(&db, fc, &corrected, FlowSource::Soap, "<b/>", now()).unwrap(),
            Stored::Accepted { replaced: 1 }
        );
        assert_eq!(stored_versions(&db), [(1, first.flow_date.clone(), true), (2, corrected.flow_date.clone(), false)]);
        // Fetched again, either version is known.
        assert_eq!(store_flow(&db, fc, &first, FlowSource::Soap, "<a/>", now()).unwrap(), Stored::Known);
        assert_eq!(store_flow(&db, fc, &corrected, FlowSource::Soap, "<b/>", now()).unwrap(), Stored::Known);
    }

    #[test]
    fn an_earlier_version_arriving_late_is_stored_as_superseded() {
        let (_dir, db) = db_with_org();
        let (first, corrected) = versions();
        let fc = "01234567897";
        assert_eq!(
            store_flow(&db, fc, &corrected, FlowSource::Soap, "<b/>", now()).unwrap(),
            Stored::Accepted { replaced: 0 }
        );
        assert_eq!(
            store_flow(&db, fc, &first, FlowSource::Soap, "<a/>", now()).unwrap(),
            Stored::Accepted { replaced: 1 }
        );
        assert_eq!(stored_versions(&db), [(1, corrected.flow_date.clone(), false), (2, first.flow_date.clone(), true)]);
    }

    #[test]
    fn a_later_rest_revision_supersedes_and_a_refused_one_replaces_nothing() {
        let (_dir, db) = db_with_org();
        let fc = "01234567897";
        let mut second = flow();
        second.revision = 2;
        assert_eq!(
            store_flow(&db, fc, &second, FlowSource::Rest, "{}", now()).unwrap(),
            Stored::Accepted { replaced: 0 }
        );
        assert_eq!(
            store_flow(&db, fc, &flow(), FlowSource::Rest, "{}", now()).unwrap(),
            Stored::Accepted { replaced: 1 }
        );
        let mut third = flow();
        third.revision = 3;
        third.declared_total = Cents::new(1);
        assert_eq!(store_flow(&db, fc, &third, FlowSource::Rest, "{}", now()).unwrap(), Stored::Refused);
        assert_eq!(stored_versions(&db), [(2, None, false), (1, None, true), (3, None, false)]);
    }

    /// The same flow fetched over FdR REST (dataOraFlusso in UTC) and later over nodeForPa (in
    /// Italian time, as the document says it) is one version, not a correction of itself.
    #[test]
    fn the_same_flow_over_rest_then_soap_is_one_version() {
        let (_dir, db) = db_with_org();
        let fc = "01234567897";
        let mut rest = flow();
        rest.flow_date = Some("2026-11-30T17:00:00.250Z".to_owned());
        let mut soap = flow();
        soap.flow_date = Some("2026-11-30T18:00:00".to_owned());
        assert_eq!(
            store_flow(&db, fc, &rest, FlowSource::Rest, "{}", now()).unwrap(),
            Stored::Accepted { replaced: 0 }
        );
        assert!(is_version_stored(&db, fc, &soap.iuf, soap.flow_date.as_deref()).unwrap());
        assert!(!is_version_stored(&db, fc, &soap.iuf, Some("2026-11-30T18:00:01")).unwrap());
        assert_eq!(store_flow(&db, fc, &soap, FlowSource::Soap, "<a/>", now()).unwrap(), Stored::Known);
        // A correction in local time still supersedes a version stored in UTC: 18:30 Rome is later.
        let mut corrected = flow();
        corrected.flow_date = Some("2026-11-30T18:30:00".to_owned());
        assert_eq!(
            store_flow(&db, fc, &corrected, FlowSource::Soap, "<b/>", now()).unwrap(),
            Stored::Accepted { replaced: 1 }
        );
        assert_eq!(stored_versions(&db), [(1, rest.flow_date.clone(), true), (2, corrected.flow_date.clone(), false)]);
    }

    /// A box stores what it downloads from the Region as it stores what it fetches from the Node:
    /// once, with its source; a later dataOraFlusso of the same flow supersedes it; a document
    /// that cannot be read is kept as refused with the reason.
    #[test]
    fn a_flow_from_the_region_is_stored_and_a_later_version_supersedes_it() {
        let (_dir, db) = db_with_org();
        let fc = "01234567897";
        let first = crate::flows::fdr::tests::FLUSSO;
        let corrected = first
            .replace("<dataOraFlusso>2026-11-30T18:00:00<", "<dataOraFlusso>2026-11-30T21:00:00<")
            .replace("<importoTotalePagamenti>30.50<", "<importoTotalePagamenti>30.40<")
            .replace("<singoloImportoPagato>20.00<", "<singoloImportoPagato>19.90<");
        let listed = |date: &'static str| ListedFlow {
            iuf: "2026-11-30BCITITMM-0001",
            revision: 1,
            psp_id: "BCITITMM",
            flow_date: Some(date),
        };
        let store =
            |date: &'static str, xml: &str| store_region_flow(&db, fc, &listed(date), xml.as_bytes(), now()).unwrap();
        assert_eq!(store("2026-11-30T18:00:00", first), Stored::Accepted { replaced: 0 });
        assert_eq!(store("2026-11-30T18:00:00", first), Stored::Known);
        assert_eq!(store("2026-11-30T21:00:00", &corrected), Stored::Accepted { replaced: 1 });
        assert_eq!(
            stored_versions(&db),
            [(1, Some("2026-11-30T18:00:00".to_owned()), true), (2, Some("2026-11-30T21:00:00".to_owned()), false)]
        );
        let flows = db.read(|c| reporting::list_flows(c, 1)).unwrap();
        assert!(flows.iter().all(|f| f.source == "REGION" && f.psp_id == "BCITITMM"));
        let current = db.read(|c| reporting::find_flow(c, 1, flows[0].id)).unwrap().unwrap();
        assert_eq!(current.document.as_deref(), Some(corrected.as_str()), "the document as received");
        assert_eq!(current.total_amount_cents, Some(Cents::new(3040)));

        // Not a FlussoRiversamento: refused, kept with the reason and the bytes.
        assert_eq!(store("2026-12-01T08:00:00", "<html>errore</html>"), Stored::Refused);
        let refused = db.read(|c| reporting::list_flows(c, 1)).unwrap().remove(0);
        assert_eq!(refused.state, ReportingFlowState::Refused);
        assert_eq!(refused.reject_reason.as_deref(), Some("root element is {}html, not FlussoRiversamento"));
        assert_eq!(refused.flow_date.as_deref(), Some("2026-12-01T08:00:00"));
    }
}
