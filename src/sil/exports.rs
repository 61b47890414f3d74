//! Receipt exports booked by the SIL (mypay.md §3, §4.2): `paaSILPrenotaExportFlusso`,
//! `…IncrementaleConRicevuta`, `…Scaduti` through `services::debts::exports`, and their status with an
//! expiring download URL.

use super::{Call, Fault, Sil};
use crate::domain::ExportState;
use crate::services::ServiceError;
use crate::services::debts::exports::{self, ExportRequest};
use crate::soap::XmlWriter;
use crate::store::orgs::OrgRecord;

/// An export's refusal as the SIL hears it: MyPay's code of a refused request, the org for what
/// is missing, a system error for the rest.
fn export_fault(err: ServiceError) -> Fault {
    match err {
        ServiceError::ExportRefused { code, message } => Fault::new(code, message),
        ServiceError::NotFound(what) => Fault::new("PAA_ENTE_NON_VALIDO", format!("{what} non trovato")),
        other => {
            tracing::error!(error = %other, "SIL export failed");
            Fault::new("PAA_SYSTEM_ERROR", "errore di sistema")
        }
    }
}

/// Which booking.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Booking {
    /// Dates, no receipt.
    Plain,
    /// Date-times, `ricevuta` and `incrementale` flags; answers the `dateTo` used.
    Incremental,
    /// Open debts past their due date.
    Expired,
}

/// `YYYY-MM-DDTHH:MM:SS` of an xsd:dateTime as sent (zone dropped: mypay reads it as Rome time).
fn local_date_time(text: &str) -> String {
    text.trim().get(..19).unwrap_or(text.trim()).to_owned()
}

fn flag(call: &Call<'_>, name: &str) -> bool {
    call.text(name).is_some_and(|v| v == "true" || v == "1")
}

/// The booking operations: the export is queued (a job runs it) and a `requestToken` answered.
pub(crate) fn book(sil: &Sil<'_>, call: &Call<'_>, org: &OrgRecord, booking: Booking) -> Result<String, Fault> {
    let actor = format!("sil:{}", org.ipa_code);
    let mut w = XmlWriter::new();
    let id = match booking {
        Booking::Expired => {
            let due = call.text("dataScadenza").unwrap_or_default();
            let types: Vec<String> = call
                .text("tipiDovuto")
                .unwrap_or_default()
                .split(';')
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(str::to_owned)
                .collect();
            if types.is_empty() {
                return Err(Fault::new("PAA_IDENTIFICATIVO_TIPO_DOVUTO_NON_VALIDO", "tipiDovuto obbligatorio"));
            }
            exports::export_expired(sil.db, sil.data_dir, &org.ipa_code, &due, &types, &actor, call.now)
                .map_err(export_fault)?
                .export
                .id
        }
        Booking::Plain | Booking::Incremental => {
            let incremental = booking == Booking::Incremental && flag(call, "incrementale");
            let with_receipt = booking == Booking::Incremental && flag(call, "ricevuta");
            let now_local = call.now.rome().strftime("%Y-%m-%dT%H:%M:%S").to_string();
            let raw_from = call.text("dateFrom").unwrap_or_default();
            let raw_to = call.text("dateTo").unwrap_or_else(|| now_local.clone());
            let (from, to) = if incremental {
                (local_date_time(&raw_from), local_date_time(&raw_to))
            } else {
                (raw_from.get(..10).unwrap_or(&raw_from).to_owned(), raw_to.get(..10).unwrap_or(&raw_to).to_owned())
            };
            let version = call.text("versioneTracciato").unwrap_or_else(|| "1.0".to_owned());
            let request = ExportRequest {
                ipa: &org.ipa_code,
                version: &version,
                from: &from,
                to: &to,
                incremental,
                with_receipt,
                debt_types: call.text("identificativoTipoDovuto").into_iter().collect(),
                requested_by: &actor,
                operator: None,
            };
            let record = if incremental {
                exports::request_cursor_export(sil.db, &request, true, call.now)
            } else {
                exports::request_export(sil.db, &request, true, call.now)
            }
            .map_err(export_fault)?;
            if booking == Booking::Incremental {
                w.leaf("requestToken", &sil.links.sil_request_token("export", org.id, record.id));
                // The end used, which may be earlier than asked (`exports::INCREMENTAL_SETTLE`).
                w.leaf("dateTo", &exports::local_date_to(&record));
                return Ok(w.finish());
            }
            record.id
        }
    };
    w.leaf("requestToken", &sil.links.sil_request_token("export", org.id, id));
    Ok(w.finish())
}

/// `paaSILChiediStatoExportFlusso` / `…Scaduti`: the state, and the download URL once there is a
/// file.
pub(crate) fn status(sil: &Sil<'_>, call: &Call<'_>, org: &OrgRecord, expired: bool) -> Result<String, Fault> {
    let token = call.text("requestToken").unwrap_or_default();
    let invalid = || Fault::new("PAA_REQUEST_TOKEN_NON_VALIDO", "requestToken non valido");
    let id = sil.links.read_sil_request_token("export", org.id, &token).ok_or_else(invalid)?;
    let export = exports::find_export(sil.db, org.id, id).map_err(export_fault)?.ok_or_else(invalid)?;
    if (export.kind == "SCADUTI") != expired {
        return Err(invalid());
    }
    let stato = match (export.state, export.rows) {
        (ExportState::Done, Some(0) | None) if export.file_name.is_none() => "EXPORT_ESEGUITO_NESSUN_DOVUTO_TROVATO",
        (state, _) => state.code(),
    };
    let url = export
        .file_name
        .as_ref()
        .map(|_| sil.url(&sil.links.sil_download_url(&org.ipa_code, "export", export.id, call.now)))
        .unwrap_or_default();
    let mut w = XmlWriter::new();
    w.leaf("stato", stato);
    if expired {
        w.leaf("nomeFile", export.file_name.as_deref().unwrap_or_default());
    }
    w.leaf("downloadUrl", &url);
    if expired {
        w.leaf("pathFile", export.file_name.as_deref().unwrap_or_default());
    }
    Ok(w.finish())
}
