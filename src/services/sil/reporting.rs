//! The reporting flows a SIL, or a box using this mypay as its Region, lists and downloads
//! (`paaSILChiediElencoFlussiSPC`, `paaSILChiediFlussoSPC`: mypay.md §4.2, regional.md §4.1).
//!
//! The list names the org's current flows: a version a correction superseded is left out, since
//! its rows no longer count and a box storing it would only store something already replaced;
//! the correction itself is listed on the day it was stored, so a caller that lists every day
//! gets it. Refused flows are not listed (MyPay lists what it downloaded without error). The
//! dates are those of storing, as MyPay's list filters on when it downloaded a flow, not on the
//! flow's own date: a flow the PSP dated three days ago and we fetched today is in today's list,
//! so a caller asking "what is new since yesterday" misses nothing.
//!
//! A flow's file is the FlussoRiversamento document as received from the Node; a flow fetched over
//! FdR REST has none, so the document is written from the stored flow and its rows
//! (`flows::fdr::write_flusso`).

use jiff::civil::{Date, DateTime};

use super::SilError;
use crate::clock;
use crate::domain::Cents;
use crate::flows::fdr::{self, FlussoHeader};
use crate::store::reporting::{self, ReportingFlowRecord, ReportingFlowState, StoredVersion};
use crate::store::{Db, StoreError};

/// The most flows one list names; a caller with more asks for fewer days. (MyPay sets no bound.)
pub const MAX_LISTED: usize = 1000;

/// One flow of the list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedFlow {
    pub iuf: String,
    /// dataOraFlusso as Italian civil time `YYYY-MM-DDTHH:MM:SS`, as MyPay gives it.
    pub flow_date: String,
}

/// The list, and whether [`MAX_LISTED`] cut it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FlowList {
    pub flows: Vec<ListedFlow>,
    pub truncated: bool,
}

/// A flow's downloadable file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowFile {
    /// `<PSP>_<IUF>_<yyyyMMddHHmmss>.xml`, MyPay's name for a downloaded flow.
    pub name: String,
    pub xml: Vec<u8>,
}

/// A dataOraFlusso as Italian civil time to the second (MyPay drops fractions and zone).
pub use crate::services::payments::reporting::local_flow_date;

fn format_local(dt: DateTime) -> String {
    dt.strftime("%Y-%m-%dT%H:%M:%S").to_string()
}

/// The current flows of org `org_id` stored from day `from` to day `to` (Europe/Rome, both
/// included), of PSP `psp` when given, in the order they were stored.
pub fn list_flows(db: &Db, org_id: i64, psp: Option<&str>, from: Date, to: Date) -> Result<FlowList, SilError> {
    let bound = |day: Result<jiff::Timestamp, jiff::Error>| {
        day.map(clock::iso).map_err(|err| super::fault("PAA_SYSTEM_ERROR", format!("data non valida: {err}")))
    };
    let (start, end) = (bound(clock::rome_day_start(from))?, bound(clock::rome_day_end(to))?);
    let mut found = db.read(|conn| reporting::list_current_flows(conn, org_id, psp, (&start, &end), MAX_LISTED + 1))?;
    let truncated = found.len() > MAX_LISTED;
    found.truncate(MAX_LISTED);
    if truncated {
        tracing::warn!(org_id, %from, %to, "reporting flow list cut at {MAX_LISTED}");
    }
    // A flow without a readable dataOraFlusso cannot be asked for by it: it is not listed.
    let flows = found
        .into_iter()
        .filter_map(|v| {
            let date = v.flow_date.as_deref().and_then(local_flow_date)?;
            Some(ListedFlow { iuf: v.iuf, flow_date: format_local(date) })
        })
        .collect();
    Ok(FlowList { flows, truncated })
}

/// The id of org `org_id`'s accepted flow `iuf` dated `flow_date` (to the second), of PSP `psp`
/// when given. A superseded version is found too: it is what MyPay downloaded and still serves.
/// When two versions match, the current one wins, then the latest stored.
pub fn find_flow(
    db: &Db,
    org_id: i64,
    iuf: &str,
    flow_date: DateTime,
    psp: Option<&str>,
) -> Result<Option<i64>, SilError> {
    let versions = db.read(|conn| reporting::list_iuf_versions(conn, org_id, iuf))?;
    let matching = |v: &&StoredVersion| {
        v.state == ReportingFlowState::Acquired
            && psp.is_none_or(|p| p == v.psp_id)
            && v.flow_date.as_deref().and_then(local_flow_date) == Some(flow_date)
    };
    let best = versions.iter().filter(matching).max_by_key(|v| (v.superseded_by.is_none(), v.id));
    Ok(best.map(|v| v.id))
}

/// The file of org `org_id`'s accepted flow `id`, `None` when there is none.
pub fn flow_file(db: &Db, org_id: i64, id: i64) -> Result<Option<FlowFile>, SilError> {
    let Some(flow) = db.read(|conn| reporting::find_flow(conn, org_id, id))? else {
        return Ok(None);
    };
    if flow.state != ReportingFlowState::Acquired {
        return Ok(None);
    }
    let date = flow.flow_date.as_deref().and_then(local_flow_date);
    let stamp = date.map(|d| d.strftime("%Y%m%d%H%M%S").to_string()).unwrap_or_default();
    let name = safe_name(&format!("{}_{}_{stamp}.xml", flow.psp_id, flow.iuf));
    let xml = match (flow.source.as_str(), &flow.document) {
        ("REST", Some(json)) => rest_document(&flow, json, date)?,
        (_, Some(document)) => document.clone().into_bytes(),
        (_, None) => return Ok(None),
    };
    Ok(Some(FlowFile { name, xml }))
}

/// A file name without characters a header or a file system would mind.
fn safe_name(name: &str) -> String {
    name.chars().map(|c| if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') { c } else { '_' }).collect()
}

/// The FlussoRiversamento document of a flow fetched over FdR REST: its header from the flow's
/// JSON as received (sender, receiver, pouring bank), its rows as stored.
fn rest_document(flow: &ReportingFlowRecord, json: &str, date: Option<DateTime>) -> Result<Vec<u8>, SilError> {
    let value: serde_json::Value = serde_json::from_str(json).map_err(|err| {
        SilError::from(StoreError::Corrupt { column: "reporting_flow.document", reason: err.to_string() })
    })?;
    let text = |pointer: &str| value.pointer(pointer).and_then(serde_json::Value::as_str).map(str::to_owned);
    let sender_kind = match text("/sender/type").as_deref() {
        Some("LEGAL_PERSON") => "G",
        Some("ABI_CODE") => "A",
        _ => "B",
    };
    let settlement_date =
        flow.settlement_date.as_deref().and_then(clock::rome_local).map(|d| d.date().to_string()).unwrap_or_default();
    let header = FlussoHeader {
        iuf: flow.iuf.clone(),
        flow_date: date.map(format_local).unwrap_or_default(),
        settlement_id: flow.settlement_id.clone().unwrap_or_default(),
        settlement_date,
        sender_kind,
        sender_code: text("/sender/id").unwrap_or_else(|| flow.psp_id.clone()),
        sender_name: flow.psp_name.clone(),
        pouring_bank_bic: text("/bicCodePouringBank"),
        receiver_fiscal_code: text("/receiver/organizationId").unwrap_or_default(),
        receiver_name: text("/receiver/organizationName"),
        total_payments: flow.total_payments.unwrap_or_default(),
        total_amount: flow.total_amount_cents.unwrap_or(Cents::ZERO),
    };
    Ok(fdr::write_flusso(&header, &flow.payments).into_bytes())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]
    use super::*;
    use crate::clock::Now;
    use crate::services::admin::orgs::{OrgChanges, add_org, get_org};
    use crate::services::payments::reporting::{FlowInput, FlowSource, store_flow};
    use crate::store::reporting::ReportingPaymentRecord;

    const FC: &str = "01234567897";

    fn db_with_org() -> (tempfile::TempDir, Db, i64) {
        let dir = tempfile::tempdir().unwrap();
        let (db, _) = Db::open(&dir.path().join("mypay.db")).unwrap();
        let changes = OrgChanges {
            fiscal_code: Some(FC.to_owned()),
            name: Some("Comune di Esempio".to_owned()),
            segregation_code: Some("01".to_owned()),
            state: Some("ESERCIZIO".to_owned()),
            mode: Some("ente".to_owned()),
            ..OrgChanges::default()
        };
        add_org(&db, "test", "c_esempio", &changes, at("2026-11-01T09:00:00Z")).unwrap();
        let id = get_org(&db, "c_esempio").unwrap().id;
        (dir, db, id)
    }

    fn at(iso: &str) -> Now {
        Now::at(iso.parse().unwrap())
    }

    fn day(text: &str) -> Date {
        text.parse().unwrap()
    }

    fn flow(iuf: &str, psp: &str, flow_date: &str, cents: i64) -> FlowInput {
        FlowInput {
            iuf: iuf.to_owned(),
            revision: 1,
            psp_id: psp.to_owned(),
            psp_name: Some("Banca di Prova".to_owned()),
            flow_date: Some(flow_date.to_owned()),
            settlement_id: Some("TRN-1".to_owned()),
            settlement_date: Some("2026-12-01".to_owned()),
            receiver_fiscal_code: FC.to_owned(),
            declared_count: 1,
            declared_total: Cents::new(cents),
            payments: vec![ReportingPaymentRecord {
                iuv: "01000000000000144".to_owned(),
                iur: "IUR-1".to_owned(),
                transfer_index: Some(1),
                amount_cents: Cents::new(cents),
                outcome_code: "0".to_owned(),
                outcome_date: "2026-11-30".to_owned(),
            }],
        }
    }

    #[test]
    fn the_list_names_current_flows_by_the_day_they_were_stored() {
        let (_dir, db, org) = db_with_org();
        let store = |input: &FlowInput, when: &str| {
            store_flow(&db, FC, input, FlowSource::Soap, "<x/>", at(when)).unwrap();
        };
        // Stored at 23:30 UTC on 1 December: 2 December in Rome.
        store(&flow("2026-11-30AAAAAAAA-1", "AAAAAAAA", "2026-11-30T18:00:00.250", 100), "2026-12-01T23:30:00Z");
        store(&flow("2026-11-30BBBBBBBB-1", "BBBBBBBB", "2026-11-30T17:00:00Z", 200), "2026-12-02T10:00:00Z");
        // Corrected on the 3rd: the first version leaves the list, the correction is listed that day.
        store(&flow("2026-11-30BBBBBBBB-1", "BBBBBBBB", "2026-11-30T21:00:00", 250), "2026-12-03T10:00:00Z");
        let list = |psp: Option<&str>, from: &str, to: &str| {
            list_flows(&db, org, psp, day(from), day(to))
                .unwrap()
                .flows
                .into_iter()
                .map(|f| (f.iuf, f.flow_date))
                .collect::<Vec<_>>()
        };
        let a = ("2026-11-30AAAAAAAA-1".to_owned(), "2026-11-30T18:00:00".to_owned());
        let b2 = ("2026-11-30BBBBBBBB-1".to_owned(), "2026-11-30T21:00:00".to_owned());
        assert_eq!(list(None, "2026-12-01", "2026-12-01"), []);
        assert_eq!(list(None, "2026-12-02", "2026-12-02"), std::slice::from_ref(&a));
        assert_eq!(list(None, "2026-12-01", "2026-12-03"), [a.clone(), b2.clone()]);
        assert_eq!(list(Some("BBBBBBBB"), "2026-12-01", "2026-12-31"), [b2]);
        assert_eq!(list(Some("CCCCCCCC"), "2026-12-01", "2026-12-31"), []);

        // Found by flow id and date to the second, whatever the stored form; the superseded
        // version too.
        let when = |t: &str| t.parse::<DateTime>().unwrap();
        let id = find_flow(&db, org, "2026-11-30AAAAAAAA-1", when("2026-11-30T18:00:00"), None).unwrap().unwrap();
        assert_eq!(find_flow(&db, org, "2026-11-30AAAAAAAA-1", when("2026-11-30T18:00:01"), None).unwrap(), None);
        assert_eq!(
            find_flow(&db, org, "2026-11-30AAAAAAAA-1", when("2026-11-30T18:00:00"), Some("BBBBBBBB")).unwrap(),
            None
        );
        let old = find_flow(&db, org, "2026-11-30BBBBBBBB-1", when("2026-11-30T18:00:00"), Some("BBBBBBBB")).unwrap();
        assert!(old.is_some(), "17:00 UTC is 18:00 in Rome");
        let file = flow_file(&db, org, id).unwrap().unwrap();
        assert_eq!(
            (file.name.as_str(), file.xml.as_slice()),
            ("AAAAAAAA_2026-11-30AAAAAAAA-1_20261130180000.xml", &b"<x/>"[..])
        );
        assert_eq!(flow_file(&db, org + 1, id).unwrap(), None, "another org's flow");
    }

    #[test]
    fn a_rest_flow_is_written_as_a_flusso_riversamento() {
        let (_dir, db, org) = db_with_org();
        let json = r#"{"fdr":"2026-11-30BBBBBBBB-1","sender":{"type":"BIC_CODE","id":"BCITITMM","pspId":"BBBBBBBB",
            "pspName":"Banca di Prova"},"receiver":{"organizationId":"01234567897","organizationName":"Comune di Esempio"}}"#;
        let input = flow("2026-11-30BBBBBBBB-1", "BBBBBBBB", "2026-11-30T17:00:00.123Z", 300);
        store_flow(&db, FC, &input, FlowSource::Rest, json, at("2026-12-02T10:00:00Z")).unwrap();
        let listed = list_flows(&db, org, None, day("2026-12-02"), day("2026-12-02")).unwrap();
        let date = listed.flows[0].flow_date.parse::<DateTime>().unwrap();
        let id = find_flow(&db, org, "2026-11-30BBBBBBBB-1", date, None).unwrap().unwrap();
        let file = flow_file(&db, org, id).unwrap().unwrap();
        let xml = String::from_utf8(file.xml).unwrap();
        for needle in [
            "<dataOraFlusso>2026-11-30T18:00:00</dataOraFlusso>",
            "<tipoIdentificativoUnivoco>B</tipoIdentificativoUnivoco><codiceIdentificativoUnivoco>BCITITMM<",
            "<denominazioneRicevente>Comune di Esempio</denominazioneRicevente>",
            "<importoTotalePagamenti>3.00</importoTotalePagamenti>",
        ] {
            assert!(xml.contains(needle), "{needle}: {xml}");
        }
        let read = fdr::parse_flusso(xml.as_bytes()).unwrap();
        assert_eq!((read.receiver_fiscal_code.as_str(), read.payments), (FC, input.payments));
    }

    #[test]
    fn the_list_is_bounded() {
        let (_dir, db, org) = db_with_org();
        for n in 0..=MAX_LISTED {
            let input = flow(&format!("2026-11-30AAAAAAAA-{n}"), "AAAAAAAA", "2026-11-30T18:00:00", 100);
            store_flow(&db, FC, &input, FlowSource::Soap, "<x/>", at("2026-12-02T10:00:00Z")).unwrap();
        }
        let list = list_flows(&db, org, None, day("2026-12-02"), day("2026-12-02")).unwrap();
        assert_eq!((list.flows.len(), list.truncated), (MAX_LISTED, true));
    }
}
