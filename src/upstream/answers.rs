//! The Region's answers, read into typed values once the transport has checked that the payload is
//! the operation's `…Risposta` without a fault (`client::answer_payload`).
//!
//! Owns: one reader per operation and the types they return. An element the WSDL requires that is
//! missing or empty, bad base64, an unreadable `Pagati` or date-time: [`UpstreamError::Garbage`],
//! naming what.

use base64::Engine as _;
use jiff::civil::DateTime;

use super::error::{UpstreamError, garbage};
use crate::domain::{ExportState, ImportState, Iuv};
use crate::flows::pagati_read::{self, PagatiDoc};
use crate::soap::Element;

/// What `paaSILImportaDovuto` answers (its `esito` was `OK`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Imported {
    /// The debt's IUV at the Region (assigned by it with `flagGeneraIuv`).
    pub iuv: Option<Iuv>,
    /// `urlFileAvviso`: the Region's link to the notice PDF.
    pub notice_url: Option<String>,
}

/// A payment session opened at the Region (`paaSILInviaDovuti`, `paaSILVerificaAvviso`,
/// `paaSILInviaCarrelloDovuti`): where to send the citizen's browser.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// `idSession` (`idSessionCarrello` for a cart).
    pub id: String,
    pub url: String,
}

/// `paaSILChiediPagatiConRicevuta`'s answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paid {
    pub pagati: PagatiDoc,
    /// The `PagatiConRicevuta` document as received, decoded.
    pub pagati_xml: String,
    pub signature_kind: Option<String>,
    /// `rt`: the receipt as the Region holds it (pagoPA's receipt XML), decoded.
    pub receipt: Option<Vec<u8>>,
}

/// One org's part of `paaSILChiediEsitoCarrelloDovuti`'s answer (`rispostaCarrello`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CartOutcome {
    /// MyPay's description of the cart's state (`PREDISPOSTO`, `PAGAMENTO IN CORSO`, `PAGATO`,
    /// `NON PAGATO`, `SCADUTO`, `DECORRENZA TERMINI`, ...), not a code.
    pub esito: String,
    /// The org at the Region (`codIpaEnte`).
    pub ipa: String,
    /// The org's `Pagati`, once the cart is final.
    pub paid: Option<Paid>,
}

/// At most this many `rispostaCarrello` are read: a cart has at most five debts, so five orgs.
const MAX_CART_OUTCOMES: usize = 5;

/// `paaSILAutorizzaImportFlusso`'s answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportAuthorization {
    pub upload_url: String,
    pub authorization_token: String,
    pub request_token: String,
    pub import_path: String,
}

/// `paaSILChiediStatoImportFlusso`'s answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportStatus {
    /// `LOAD_IMPORT` … `IMPORT_ABORTITO`, or the code of the error that aborted it.
    pub stato: String,
    /// The `_SCARTI` file's URL, once done (when there is one).
    pub rejects_url: Option<String>,
    /// The `_IUV` file's URL, once done.
    pub iuv_url: Option<String>,
}

impl ImportStatus {
    /// The state, `None` when `stato` is an error code (the import was refused).
    pub fn state(&self) -> Option<ImportState> {
        ImportState::from_code(&self.stato)
    }
}

/// `paaSILPrenotaExportFlussoIncrementaleConRicevuta`'s answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportBooked {
    pub request_token: String,
    /// The end of the period exported: the next booking's `dateFrom`.
    pub date_to: DateTime,
}

/// The state of a file being prepared (`paaSILChiediStatoExportFlusso`, `paaSILChiediFlussoSPC`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileStatus {
    pub stato: String,
    /// `downloadUrl`, when not empty.
    pub download_url: Option<String>,
}

impl FileStatus {
    /// The export's state (`EXPORT_ESEGUITO_NESSUN_DOVUTO_TROVATO` is done, with no file).
    pub fn export_state(&self) -> Option<ExportState> {
        match self.stato.as_str() {
            "EXPORT_ESEGUITO_NESSUN_DOVUTO_TROVATO" => Some(ExportState::Done),
            other => ExportState::from_code(other),
        }
    }
}

/// One pagoPA file of `paaSILChiediElencoFlussiSPC`'s list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpcFlow {
    pub id: String,
    /// `dataOraFlusso` as written: `paaSILChiediFlussoSPC` wants it back.
    pub date_time: String,
}

fn text(payload: &Element, name: &str) -> Option<String> {
    payload.child_text(name).map(str::trim).filter(|t| !t.is_empty()).map(str::to_owned)
}

fn required(payload: &Element, name: &str) -> Result<String, UpstreamError> {
    text(payload, name).ok_or_else(|| garbage(format!("{} without {name}", payload.name)))
}

fn decode(payload: &Element, name: &str) -> Result<Option<Vec<u8>>, UpstreamError> {
    let Some(encoded) = text(payload, name) else { return Ok(None) };
    let compact: String = encoded.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    base64::engine::general_purpose::STANDARD
        .decode(compact.as_bytes())
        .map(Some)
        .map_err(|err| garbage(format!("{name} is not base64: {err}")))
}

pub fn imported(payload: &Element) -> Result<Imported, UpstreamError> {
    let iuv = match text(payload, "identificativoUnivocoVersamento") {
        Some(iuv) => Some(Iuv::parse(&iuv).map_err(|err| garbage(format!("identificativoUnivocoVersamento: {err}")))?),
        None => None,
    };
    Ok(Imported { iuv, notice_url: text(payload, "urlFileAvviso") })
}

pub fn session(payload: &Element, id_name: &str) -> Result<Session, UpstreamError> {
    Ok(Session { id: required(payload, id_name)?, url: required(payload, "url")? })
}

pub fn paid(payload: &Element) -> Result<Paid, UpstreamError> {
    let bytes = decode(payload, "pagati")?.ok_or_else(|| garbage(format!("{} without pagati", payload.name)))?;
    let pagati = pagati_read::read(&bytes).map_err(|err| garbage(err.to_string()))?;
    let pagati_xml = String::from_utf8(bytes).map_err(|_| garbage("pagati is not UTF-8"))?;
    Ok(Paid { pagati, pagati_xml, signature_kind: text(payload, "tipoFirma"), receipt: decode(payload, "rt")? })
}

pub fn cart_outcomes(payload: &Element) -> Result<Vec<CartOutcome>, UpstreamError> {
    let list =
        payload.child("listaCarrelli").ok_or_else(|| garbage(format!("{} without listaCarrelli", payload.name)))?;
    let mut outcomes = Vec::new();
    for answer in list.children_named("rispostaCarrello") {
        if outcomes.len() == MAX_CART_OUTCOMES {
            return Err(garbage(format!("more than {MAX_CART_OUTCOMES} rispostaCarrello")));
        }
        let paid = match text(answer, "pagati") {
            Some(_) => Some(paid(answer)?),
            None => None,
        };
        outcomes.push(CartOutcome { esito: required(answer, "esito")?, ipa: required(answer, "codIpaEnte")?, paid });
    }
    if outcomes.is_empty() {
        return Err(garbage("listaCarrelli without rispostaCarrello"));
    }
    Ok(outcomes)
}

pub fn import_authorization(payload: &Element) -> Result<ImportAuthorization, UpstreamError> {
    Ok(ImportAuthorization {
        upload_url: required(payload, "uploadUrl")?,
        authorization_token: required(payload, "authorizationToken")?,
        request_token: required(payload, "requestToken")?,
        import_path: text(payload, "importPath").unwrap_or_default(),
    })
}

pub fn import_status(payload: &Element) -> Result<ImportStatus, UpstreamError> {
    Ok(ImportStatus {
        stato: required(payload, "stato")?,
        rejects_url: text(payload, "urlFileScarti"),
        iuv_url: text(payload, "urlFileIUV"),
    })
}

/// An xsd:dateTime as MyPay writes it (`2026-03-01T10:00:00`, with fractions or a zone), as the
/// local date-time it names.
fn local_date_time(text: &str) -> Option<DateTime> {
    text.get(..19)?.parse::<DateTime>().ok()
}

pub fn export_booked(payload: &Element) -> Result<ExportBooked, UpstreamError> {
    let date_to = required(payload, "dateTo")?;
    Ok(ExportBooked {
        request_token: required(payload, "requestToken")?,
        date_to: local_date_time(&date_to).ok_or_else(|| garbage(format!("dateTo {date_to:?} is not a date-time")))?,
    })
}

pub fn file_status(payload: &Element) -> Result<FileStatus, UpstreamError> {
    Ok(FileStatus { stato: required(payload, "stato")?, download_url: text(payload, "downloadUrl") })
}

pub fn spc_flows(payload: &Element) -> Result<Vec<SpcFlow>, UpstreamError> {
    let Some(list) = payload.child("elencoFlussiSPC") else { return Ok(Vec::new()) };
    list.children_named("idSPC")
        .filter(|id| !id.children.is_empty())
        .map(|id| Ok(SpcFlow { id: required(id, "identificativoFlusso")?, date_time: required(id, "dataOraFlusso")? }))
        .collect()
}
