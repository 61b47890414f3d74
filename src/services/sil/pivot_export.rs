//! The rules behind MyPivot's two export operations (mypivot.md §4, §6):
//! `pivotSILPrenotaExportFlussoRiconciliazione` books a reconciliation export through
//! `reconciliation::exports::book` (the job, states and file of every other channel) after
//! MyPivot's SIL checks: the layout version, each label known and enabled by the org's flags
//! (§3.2, "SIL needs"), debt types of the org, date ranges with both ends and in order;
//! `pivotSILChiediStatoExportFlussoRiconciliazione` reads the booking back.
//! The request token is the booking's id: a booking is only ever read back for its own org.
//! Must never: ignore a filter it cannot apply (it refuses it, naming it), since an export wider
//! than asked would be silently wrong in the municipality's books.

use jiff::civil::Date;

use super::pivot::MAX_KEYS;
use super::{SilError, fault};
use crate::clock::Now;
use crate::domain::Day;
use crate::domain::reconciliation::Label;
use crate::domain::reconciliation::classify::Flags;
use crate::flows::recon_export::{Headers, Version};
use crate::services::reconciliation::exports::{self, Booking, Filters, Range};
use crate::store::Db;
use crate::store::debt_types;
use crate::store::orgs::OrgRecord;
use crate::store::recon_exports::ReconExportRecord;
use crate::store::reconciliation as rs;

/// A range of the request as sent: `Da` and `A` texts (dates or date-times).
pub type SentRange = (Option<String>, Option<String>);

/// A `pivotSILPrenotaExportFlussoRiconciliazione` request as read from its body.
#[derive(Debug, Default, Clone)]
pub struct ExportRequest {
    /// `codiceClassificazione/classificazione`: label codes.
    pub labels: Vec<String>,
    /// `tipoDovuto/tipo`.
    pub debt_types: Vec<String>,
    /// `idUnivocoVersamento/iuv`.
    pub iuvs: Vec<String>,
    /// `idUnivocoRendicontazione/iur`, which holds IUFs.
    pub iufs: Vec<String>,
    pub last_update: SentRange,
    /// `dataEsecuzione`: the payment's day.
    pub execution: SentRange,
    pub outcome: SentRange,
    pub settlement: SentRange,
    pub accounting: SentRange,
    pub value: SentRange,
    pub version: Option<String>,
    /// The names of the other filters sent (payer, IUD, amount, …), which mypay's export does
    /// not apply.
    pub unsupported: Vec<&'static str>,
}

/// A booking made: its request token and the `dataA` answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Booked {
    pub request_token: String,
    pub date_to: Date,
}

/// The flags a label needs when asked through the SIL (§3.2's last column): `(pagati,
/// tesoreria)`; `None` for DOPPI, which the SIL does not accept.
fn sil_needs(label: Label) -> Option<(bool, bool)> {
    Some(match label {
        Label::IudRtIufTes => (true, true),
        Label::IudRtIuf | Label::RtNoIud | Label::IudNoRt => (true, false),
        Label::RtIufTes
        | Label::RtTes
        | Label::IufNoTes
        | Label::IufTesDivImp
        | Label::TesNoIufOrIuv
        | Label::TesNoMatch => (false, true),
        Label::RtIuf | Label::RtNoIuf | Label::IuvNoRt => (false, false),
        Label::Doppi => return None,
    })
}

fn labels(sent: &[String], flags: Flags) -> Result<Vec<Label>, SilError> {
    let mut out = Vec::new();
    for code in sent {
        let label = Label::from_code(code.trim()).filter(|l| *l != Label::Doppi);
        let Some((label, (pagati, tesoreria))) = label.and_then(|l| sil_needs(l).map(|n| (l, n))) else {
            return Err(fault("PIVOT_CLASSIFICAZIONE_NON_VALIDA", format!("classificazione [{code}] non valida")));
        };
        if (pagati && !flags.pagati) || (tesoreria && !flags.tesoreria) {
            return Err(fault(
                "PIVOT_CLASSIFICAZIONE_NON_ABILITATA",
                format!("classificazione [{code}] non abilitata per l'ente"),
            ));
        }
        if !out.contains(&label) {
            out.push(label);
        }
    }
    Ok(out)
}

/// The day of a sent date or date-time (`2024-05-20` or `2024-05-20T10:00:00…`).
fn day_of(text: &str) -> Option<Day> {
    let day = text.trim().get(..10)?;
    let rest = text.trim().get(10..).unwrap_or("");
    (rest.is_empty() || rest.starts_with('T')).then_some(())?;
    Day::parse(day).ok()
}

/// A range of days; `both`: one end without the other is refused.
fn range(name: &str, sent: &SentRange, both: bool) -> Result<Range, SilError> {
    let end = |text: &Option<String>, code: &'static str| match text {
        None => Ok(None),
        Some(t) => day_of(t).map(Some).ok_or_else(|| fault(code, format!("{name}: data [{t}] non valida"))),
    };
    let from = end(&sent.0, "PIVOT_DATE_FROM_NON_VALIDO")?;
    let to = end(&sent.1, "PIVOT_DATE_TO_NON_VALIDO")?;
    let one_sided = if both { from.is_some() != to.is_some() } else { from.is_none() && to.is_some() };
    let reversed = matches!((from, to), (Some(f), Some(t)) if f > t);
    if one_sided || reversed {
        return Err(fault("PIVOT_INTERVALLO_DATE_NON_VALIDO", format!("{name}: intervallo di date non valido")));
    }
    Ok(Range { from, to })
}

/// Books the export a SIL asks for org `org` (authenticated).
pub fn book(db: &Db, org: &OrgRecord, req: &ExportRequest, now: Now) -> Result<Booked, SilError> {
    let version = req.version.as_deref().map(str::trim).unwrap_or_default();
    if Version::parse(version).is_none() {
        return Err(fault(
            "PIVOT_VERSIONE_TRACCIATO_EXPORT_NON_VALIDA",
            format!("versioneTracciato [{version}] non valida: 1.0, 1.1, 1.2, 1.3 o 1.4"),
        ));
    }
    if let Some(name) = req.unsupported.first() {
        return Err(fault(
            "PIVOT_FILTRO_NON_SUPPORTATO",
            format!("filtro {name} non supportato: usare classificazione, tipo dovuto, IUV, IUF o le date"),
        ));
    }
    let lists = [&req.labels, &req.debt_types, &req.iuvs, &req.iufs];
    if lists.iter().any(|list| list.len() > MAX_KEYS) {
        return Err(fault("PIVOT_SYSTEM_ERROR", format!("al più {MAX_KEYS} valori per elenco")));
    }
    let flags = db.read(|conn| rs::get_flags(conn, org.id))?;
    let labels = labels(&req.labels, flags)?;
    for code in &req.debt_types {
        let known = db.read(|conn| debt_types::find_debt_type(conn, org.id, code.trim()))?;
        if known.is_none() {
            return Err(fault("CODE_PIVOT_ENTE_NON_VALIDO", format!("Tipo dovuto [ {code} ] non valido per ente")));
        }
    }
    let last_update = range("dataUltimoAggiornamento", &req.last_update, false)?;
    let filters = Filters {
        labels,
        debt_types: req.debt_types.iter().map(|t| t.trim().to_owned()).collect(),
        iuvs: req.iuvs.iter().map(|t| t.trim().to_owned()).collect(),
        iufs: req.iufs.iter().map(|t| t.trim().to_owned()).collect(),
        period: range("dataEsecuzione", &req.execution, true)?,
        last_update,
        outcome: range("dataEsito", &req.outcome, true)?,
        settlement: range("dataRegolamento", &req.settlement, true)?,
        accounting: range("dataContabile", &req.accounting, true)?,
        value: range("dataValuta", &req.value, true)?,
    };
    let requested_by = format!("sil:{}", org.ipa_code);
    let booking = Booking {
        ipa: &org.ipa_code,
        version,
        headers: Headers::MyPivot,
        filters,
        max_rows: None,
        requested_by: &requested_by,
        operator: None,
    };
    let record = exports::book(db, &booking, true, now)?;
    let date_to = last_update.to.map_or_else(|| now.today(), |d| d.date());
    Ok(Booked { request_token: record.id.to_string(), date_to })
}

/// The booking a request token names, for org `org`; `PIVOT_REQUEST_TOKEN_NON_VALIDO` when it
/// names none of the org's.
pub fn status(db: &Db, org: &OrgRecord, request_token: &str) -> Result<ReconExportRecord, SilError> {
    let unknown = || fault("PIVOT_REQUEST_TOKEN_NON_VALIDO", format!("requestToken [{request_token}] non valido"));
    let id: i64 = request_token.trim().parse().map_err(|_| unknown())?;
    exports::status(db, &org.ipa_code, id)?.ok_or_else(unknown)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]
    use super::*;
    use crate::services::testkit::{IPA, Kit};
    use crate::store::orgs;

    fn code(err: SilError) -> &'static str {
        match err {
            SilError::Fault { code, .. } => code,
            other => panic!("not a fault: {other:?}"),
        }
    }

    fn request(version: &str) -> ExportRequest {
        ExportRequest { version: Some(version.to_owned()), ..ExportRequest::default() }
    }

    #[test]
    fn the_sils_checks_come_before_a_booking() {
        let kit = Kit::new();
        let org = kit.db.read(|c| orgs::find_org_by_ipa(c, IPA)).unwrap().unwrap();
        let some = |s: &str| Some(s.to_owned());
        let cases: Vec<(ExportRequest, &str)> = vec![
            (request("2.0"), "PIVOT_VERSIONE_TRACCIATO_EXPORT_NON_VALIDA"),
            (ExportRequest { labels: vec!["NIENTE".into()], ..request("1.4") }, "PIVOT_CLASSIFICAZIONE_NON_VALIDA"),
            (ExportRequest { labels: vec!["DOPPI".into()], ..request("1.4") }, "PIVOT_CLASSIFICAZIONE_NON_VALIDA"),
            (ExportRequest { labels: vec!["RT_TES".into()], ..request("1.4") }, "PIVOT_CLASSIFICAZIONE_NON_ABILITATA"),
            (ExportRequest { debt_types: vec!["NESSUNO".into()], ..request("1.4") }, "CODE_PIVOT_ENTE_NON_VALIDO"),
            (
                ExportRequest { outcome: (some("2024-05-01"), None), ..request("1.4") },
                "PIVOT_INTERVALLO_DATE_NON_VALIDO",
            ),
            (
                ExportRequest { last_update: (None, some("2024-05-01")), ..request("1.4") },
                "PIVOT_INTERVALLO_DATE_NON_VALIDO",
            ),
            (
                ExportRequest { value: (some("2024-05-02"), some("2024-05-01")), ..request("1.4") },
                "PIVOT_INTERVALLO_DATE_NON_VALIDO",
            ),
            (
                ExportRequest { accounting: (some("maggio"), some("2024-05-01")), ..request("1.4") },
                "PIVOT_DATE_FROM_NON_VALIDO",
            ),
            (
                ExportRequest { settlement: (some("2024-05-01"), some("2024-05-40")), ..request("1.4") },
                "PIVOT_DATE_TO_NON_VALIDO",
            ),
            (
                ExportRequest { unsupported: vec!["anagraficaPagatore"], ..request("1.4") },
                "PIVOT_FILTRO_NON_SUPPORTATO",
            ),
            (ExportRequest { iuvs: vec!["0".repeat(17); MAX_KEYS + 1], ..request("1.4") }, "PIVOT_SYSTEM_ERROR"),
        ];
        for (req, expected) in cases {
            assert_eq!(code(book(&kit.db, &org, &req, kit.now).unwrap_err()), expected, "{req:?}");
        }
        let asked = ExportRequest {
            labels: vec!["RT_IUF".into(), "IUV_NO_RT".into()],
            last_update: (some("2024-05-01T00:00:00"), some("2024-05-31T23:59:59")),
            execution: (some("2024-05-01"), some("2024-05-31")),
            ..request("1.3")
        };
        let booked = book(&kit.db, &org, &asked, kit.now).unwrap();
        assert_eq!(booked.date_to.to_string(), "2024-05-31");
        let record = status(&kit.db, &org, &booked.request_token).unwrap();
        assert_eq!((record.version.as_str(), record.requested_by.clone()), ("1.3", format!("sil:{}", org.ipa_code)));
        assert_eq!(code(status(&kit.db, &org, "x").unwrap_err()), "PIVOT_REQUEST_TOKEN_NON_VALIDO");
        assert_eq!(code(status(&kit.db, &org, "999999").unwrap_err()), "PIVOT_REQUEST_TOKEN_NON_VALIDO");
    }
}
