//! `paaSILChiediElencoFlussiSPC` and `paaSILChiediFlussoSPC` (`mypivot-pa-per-ente.wsdl`, mypay.md
//! §4.2): the org's reporting flows as MyPay's companion service lists them, and a flow's file
//! behind an expiring signed URL, so a SIL, MyPivot, or a box using this mypay as its Region
//! reads them as it reads a regional MyPay's. The rules are `services::sil::reporting`'s.
//!
//! MyPay's answers are followed where a client could tell: `codIpaEnte` and `password` in the body
//! checked as every body-password operation; a missing or reversed date is `PAA_ENTE_NON_VALIDO`
//! with the reason (MyPay's date check answers that code); `tipoFlusso` is `R` (rendicontazione) or
//! `Q` (quadratura: mypay receives none, so the list is empty), anything else `PAA_SYSTEM_ERROR`; a
//! flow not found is `stato` `KO` with an empty `downloadUrl` and no fault, as MyPay answers it.

use jiff::civil::Date;

use super::{Call, Fault, Sil};
use crate::services::sil::reporting;
use crate::soap::XmlWriter;
use crate::store::orgs::OrgRecord;

/// `tipoFlusso`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// `R`: rendicontazione, the FdR.
    Reporting,
    /// `Q`: quadratura, which pagoPA sends to no one but MyPay's own regional node.
    Squaring,
}

fn kind(call: &Call<'_>) -> Result<Kind, Fault> {
    match call.text("tipoFlusso").as_deref() {
        Some("R") => Ok(Kind::Reporting),
        Some("Q") => Ok(Kind::Squaring),
        other => {
            Err(Fault::new("PAA_SYSTEM_ERROR", format!("tipo flusso non supportato: {}", other.unwrap_or_default())))
        }
    }
}

fn body_auth(sil: &Sil<'_>, call: &Call<'_>, org_id: &mut Option<i64>) -> Result<OrgRecord, Fault> {
    let ipa = call.body_org()?;
    let org = sil.authenticate(&ipa, call.text("password").as_deref())?;
    *org_id = Some(org.id);
    Ok(org)
}

/// An xsd:date as sent (an offset, if any, ignored).
fn date(call: &Call<'_>, name: &str, what: &str) -> Result<Date, Fault> {
    call.text(name)
        .and_then(|t| t.get(..10).and_then(|d| d.parse::<Date>().ok()))
        .ok_or_else(|| Fault::new("PAA_ENTE_NON_VALIDO", format!("Data {what} non valida")))
}

/// `paaSILChiediElencoFlussiSPC`: the org's current flows stored in the period, of a PSP if
/// named; `totRestituiti` is how many the answer names.
pub(crate) fn list(sil: &Sil<'_>, call: &Call<'_>, org_id: &mut Option<i64>) -> Result<String, Fault> {
    let org = body_auth(sil, call, org_id)?;
    let (from, to) = (date(call, "dateFrom", "inizio")?, date(call, "dateTo", "fine")?);
    if to < from {
        return Err(Fault::new("PAA_ENTE_NON_VALIDO", "Intervallo date non valido: dateTo precede dateFrom"));
    }
    let flows = match kind(call)? {
        Kind::Reporting => {
            let psp = call.text("identificativoPsp");
            reporting::list_flows(sil.db, org.id, psp.as_deref(), from, to)?.flows
        }
        Kind::Squaring => Vec::new(),
    };
    let mut w = XmlWriter::new();
    w.open("elencoFlussiSPC").leaf("totRestituiti", &flows.len().to_string());
    for flow in &flows {
        w.open("idSPC").leaf("identificativoFlusso", &flow.iuf).leaf("dataOraFlusso", &flow.flow_date).close("idSPC");
    }
    w.close("elencoFlussiSPC");
    Ok(w.finish())
}

/// `paaSILChiediFlussoSPC`: `OK` and the flow's signed download URL, or `KO` and none.
pub(crate) fn flow(sil: &Sil<'_>, call: &Call<'_>, org_id: &mut Option<i64>) -> Result<String, Fault> {
    let org = body_auth(sil, call, org_id)?;
    let found = match kind(call)? {
        Kind::Reporting => {
            let iuf = call.text("identificativoFlusso").unwrap_or_default();
            let psp = call.text("identificativoPsp");
            match call.text("dataOraFlusso").as_deref().and_then(reporting::local_flow_date) {
                Some(date) => reporting::find_flow(sil.db, org.id, &iuf, date, psp.as_deref())?,
                None => None,
            }
        }
        Kind::Squaring => None,
    };
    let mut w = XmlWriter::new();
    match found {
        Some(id) => w
            .leaf("stato", "OK")
            .leaf("downloadUrl", &sil.url(&sil.links.sil_download_url(&org.ipa_code, "fdr", id, call.now))),
        None => w.leaf("stato", "KO").leaf("downloadUrl", ""),
    };
    Ok(w.finish())
}
