//! The SOAP requests of the operations the box calls, written from plain values exactly as a
//! client generated from MyPay's WSDLs writes them (pa-per-ente.wsdl, mypivot-pa-per-ente.wsdl):
//! the operation element qualified in its namespace, its children unqualified in the WSDL's
//! sequence order, the `intestazionePPT{codIpaEnte}` header for the operations whose binding has
//! it (the others name the org in the body's `codIpaEnte`), payload documents in base64.
//!
//! Owns: one pure function per operation, returning the [`Request`] the transport posts; no I/O,
//! so the exact bytes are testable and every request is validated against the WSDLs' types.

use base64::Engine as _;
use jiff::civil::DateTime;

use super::Creds;
use super::client::Request;
use super::documents::{DovutiDoc, VersamentoDoc};
use super::error::{UpstreamError, local};
use crate::domain::Day;
use crate::soap::{self, XmlWriter};

/// The namespace of pa-per-ente.wsdl's operation elements (`ppt`).
pub const ENTE_NS: &str = "http://www.regione.veneto.it/pagamenti/ente/";
/// The namespace of its header (`ppthead`).
pub const PPTHEAD_NS: &str = "http://www.regione.veneto.it/pagamenti/ente/ppthead";
/// The namespace of mypivot-pa-per-ente.wsdl's operation elements (the reporting flows).
pub const PIVOT_NS: &str = "http://www.regione.veneto.it/pagamenti/pa/";

/// Which payment `paaSILChiediPagatiConRicevuta` asks about: exactly one key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PagatiKey {
    /// The session of `paaSILInviaDovuti` or `paaSILVerificaAvviso`.
    IdSession(String),
    Iuv(String),
    Iud(String),
}

/// One org's part of a multi-org cart (`elementoListaDovuti`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CartElement {
    pub ipa: String,
    /// The org's cart hash, as the Region gives it (`paaSILInviaCarrelloDovutiHash`: the lowercase
    /// hex SHA-256 of `paaSILInviaCarrelloDovuti-<intermediary password>-<org fiscal code>`).
    pub hash: String,
    pub dovuti: DovutiDoc,
}

/// The kind of a pagoPA file `paaSILChiediElencoFlussiSPC` lists (`tipoFlusso`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpcKind {
    /// `R`: reporting flows (flussi di rendicontazione).
    Reporting,
    /// `Q`: reconciliation flows (flussi di quadratura).
    Reconciliation,
}

impl SpcKind {
    fn code(self) -> &'static str {
        match self {
            SpcKind::Reporting => "R",
            SpcKind::Reconciliation => "Q",
        }
    }
}

fn base64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// `YYYY-MM-DDTHH:MM:SS`: an xsd:dateTime without a zone, read by MyPay as the Region's local time.
fn date_time(at: DateTime) -> String {
    at.strftime("%Y-%m-%dT%H:%M:%S").to_string()
}

/// A pa-per-ente.wsdl request: `<ppt:op>` around `body`, with the header when `header_ipa` is given.
fn ente(operation: &'static str, header_ipa: Option<&str>, body: &str) -> Request {
    let payload = format!("<ppt:{operation}>{body}</ppt:{operation}>");
    let envelope = match header_ipa {
        Some(ipa) => {
            let mut header = XmlWriter::new();
            header.open("ppthead:intestazionePPT").leaf("codIpaEnte", ipa).close("ppthead:intestazionePPT");
            soap::envelope_with_header(&[("ppt", ENTE_NS), ("ppthead", PPTHEAD_NS)], &header.finish(), &payload)
        }
        None => soap::envelope_with_header(&[("ppt", ENTE_NS)], "", &payload),
    };
    Request { operation, ns: ENTE_NS, envelope }
}

/// `paaSILImportaDovuto`: one debt inserted, modified or annulled; with `generate_iuv` the Region
/// assigns its IUV and notice number. A secondary beneficiary travels in
/// `listaDovutiEntiSecondari`.
pub fn importa_dovuto(creds: &Creds, doc: &VersamentoDoc, generate_iuv: bool) -> Result<Request, UpstreamError> {
    let mut w = XmlWriter::new();
    w.leaf("password", &creds.password);
    w.leaf("dovuto", &base64(doc.to_xml()?.as_bytes()));
    w.leaf("flagGeneraIuv", if generate_iuv { "true" } else { "false" });
    if let Some(secondary) = &doc.secondary {
        w.open("listaDovutiEntiSecondari").open("elementoListaDovutiEntiSecondari");
        w.leaf("dovutiEntiSecondari", &base64(secondary.to_xml().as_bytes()));
        w.close("elementoListaDovutiEntiSecondari").close("listaDovutiEntiSecondari");
    }
    Ok(ente("paaSILImportaDovuto", Some(&creds.ipa), &w.finish()))
}

/// `paaSILInviaDovuti`: a payment of up to five debts started at the box, the citizen sent to the
/// Region's page and back to `back_url`.
pub fn invia_dovuti(creds: &Creds, doc: &DovutiDoc, back_url: Option<&str>) -> Result<Request, UpstreamError> {
    let mut w = XmlWriter::new();
    w.leaf("password", &creds.password);
    w.leaf("dovuti", &base64(doc.to_xml()?.as_bytes()));
    w.leaf_opt("enteSILInviaRispostaPagamentoUrl", back_url);
    Ok(ente("paaSILInviaDovuti", Some(&creds.ipa), &w.finish()))
}

/// `paaSILInviaCarrelloDovuti`: a cart of one or more orgs' debts, each element with its org's
/// hash.
pub fn invia_carrello(
    creds: &Creds,
    elements: &[CartElement],
    back_url: Option<&str>,
) -> Result<Request, UpstreamError> {
    if elements.is_empty() {
        return Err(local("a cart needs at least one element"));
    }
    let mut w = XmlWriter::new();
    w.leaf("password", &creds.password);
    w.open("listaDovuti");
    for element in elements {
        w.open("elementoListaDovuti");
        w.leaf("codIpaEnte", &element.ipa);
        w.leaf("password", &element.hash);
        w.leaf("dovuti", &base64(element.dovuti.to_xml()?.as_bytes()));
        w.close("elementoListaDovuti");
    }
    w.close("listaDovuti");
    w.leaf_opt("enteSILInviaRispostaPagamentoUrl", back_url);
    Ok(ente("paaSILInviaCarrelloDovuti", Some(&creds.ipa), &w.finish()))
}

/// `paaSILVerificaAvviso`: a payment of the Region's open debt with this IUV.
pub fn verifica_avviso(creds: &Creds, iuv: &str, back_url: Option<&str>) -> Request {
    let mut w = XmlWriter::new();
    w.leaf("password", &creds.password);
    w.leaf("identificativoUnivocoVersamento", iuv);
    w.leaf_opt("enteSILInviaRispostaPagamentoUrl", back_url);
    ente("paaSILVerificaAvviso", Some(&creds.ipa), &w.finish())
}

/// `paaSILChiediPagatiConRicevuta`: the outcome of a session, or the payment of a debt by IUV or
/// IUD, with its receipt.
pub fn chiedi_pagati_con_ricevuta(creds: &Creds, key: &PagatiKey) -> Request {
    let mut w = XmlWriter::new();
    w.leaf("codIpaEnte", &creds.ipa);
    w.leaf("password", &creds.password);
    match key {
        PagatiKey::IdSession(id) => w.leaf("idSession", id),
        PagatiKey::Iuv(iuv) => w.leaf("identificativoUnivocoVersamento", iuv),
        PagatiKey::Iud(iud) => w.leaf("identificativoUnivocoDovuto", iud),
    };
    ente("paaSILChiediPagatiConRicevuta", None, &w.finish())
}

/// `paaSILChiediEsitoCarrelloDovuti`: the outcome, per org, of the cart `id_session_carrello`
/// that org `creds` sent (the body's `codIpaEnte`, no header).
pub fn chiedi_esito_carrello(creds: &Creds, id_session_carrello: &str) -> Request {
    let mut w = XmlWriter::new();
    w.leaf("codIpaEnte", &creds.ipa);
    w.leaf("password", &creds.password);
    w.leaf("idSessionCarrello", id_session_carrello);
    ente("paaSILChiediEsitoCarrelloDovuti", None, &w.finish())
}

/// `paaSILAutorizzaImportFlusso`: an upload authorization for one debt flow.
pub fn autorizza_import_flusso(creds: &Creds) -> Request {
    let mut w = XmlWriter::new();
    w.leaf("password", &creds.password);
    ente("paaSILAutorizzaImportFlusso", Some(&creds.ipa), &w.finish())
}

/// `paaSILChiediStatoImportFlusso`: the state of the flow uploaded with `request_token`, asking for
/// the URLs of its `_SCARTI` and `_IUV` files.
pub fn chiedi_stato_import_flusso(creds: &Creds, request_token: &str) -> Request {
    let mut w = XmlWriter::new();
    w.leaf("requestToken", request_token);
    w.leaf("password", &creds.password);
    w.leaf("fileScarti", "true");
    w.leaf("fileIUV", "true");
    ente("paaSILChiediStatoImportFlusso", Some(&creds.ipa), &w.finish())
}

/// `paaSILPrenotaExportFlussoIncrementaleConRicevuta`: an export of the receipts since `from`
/// (to `to`, or now), incremental and with the receipts, in receipt layout `version`.
pub fn prenota_export_incrementale(creds: &Creds, from: DateTime, to: Option<DateTime>, version: &str) -> Request {
    let mut w = XmlWriter::new();
    w.leaf("password", &creds.password);
    w.leaf("dateFrom", &date_time(from));
    w.leaf_opt("dateTo", to.map(date_time).as_deref());
    w.leaf("ricevuta", "true");
    w.leaf("incrementale", "true");
    w.leaf("versioneTracciato", version);
    ente("paaSILPrenotaExportFlussoIncrementaleConRicevuta", Some(&creds.ipa), &w.finish())
}

/// `paaSILChiediStatoExportFlusso`: the state of a booked export and its download URL.
pub fn chiedi_stato_export_flusso(creds: &Creds, request_token: &str) -> Request {
    let mut w = XmlWriter::new();
    w.leaf("password", &creds.password);
    w.leaf("requestToken", request_token);
    ente("paaSILChiediStatoExportFlusso", Some(&creds.ipa), &w.finish())
}

/// A mypivot-pa-per-ente.wsdl request: the org and the pagoPA file's kind and PSP (empty for any),
/// then `rest`.
fn pivot(operation: &'static str, creds: &Creds, psp: Option<&str>, kind: SpcKind, rest: &str) -> Request {
    let mut w = XmlWriter::new();
    w.leaf("password", &creds.password);
    w.leaf("codIpaEnte", &creds.ipa);
    w.leaf("identificativoPsp", psp.unwrap_or_default());
    w.leaf("tipoFlusso", kind.code());
    w.raw(rest);
    let payload = format!("<ppt:{operation}>{}</ppt:{operation}>", w.finish());
    Request { operation, ns: PIVOT_NS, envelope: soap::envelope_with_header(&[("ppt", PIVOT_NS)], "", &payload) }
}

/// `paaSILChiediElencoFlussiSPC`: the org's pagoPA files of `kind` between two days.
pub fn elenco_flussi_spc(creds: &Creds, psp: Option<&str>, kind: SpcKind, from: Day, to: Day) -> Request {
    let mut w = XmlWriter::new();
    w.leaf("dateFrom", &from.to_string());
    w.leaf("dateTo", &to.to_string());
    pivot("paaSILChiediElencoFlussiSPC", creds, psp, kind, &w.finish())
}

/// `paaSILChiediFlussoSPC`: one pagoPA file, by its id and date-time as the list gave them.
pub fn flusso_spc(creds: &Creds, psp: Option<&str>, kind: SpcKind, id: &str, date_time: &str) -> Request {
    let mut w = XmlWriter::new();
    w.leaf("identificativoFlusso", id);
    w.leaf("dataOraFlusso", date_time);
    pivot("paaSILChiediFlussoSPC", creds, psp, kind, &w.finish())
}
