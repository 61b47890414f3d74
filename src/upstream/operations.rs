//! One method of [`SilClient`] per operation the box calls: the request written
//! ([`super::requests`]), posted and checked ([`super::client`]), the answer read
//! ([`super::answers`]). What each operation means is in the request writers' docs.

use jiff::civil::DateTime;

use super::Creds;
use super::answers::{
    self, CartOutcome, ExportBooked, FileStatus, ImportAuthorization, ImportStatus, Imported, Paid, Session, SpcFlow,
};
use super::client::SilClient;
use super::documents::{DovutiDoc, VersamentoDoc};
use super::error::UpstreamError;
use super::requests::{self, CartElement, PagatiKey, SpcKind};
use crate::domain::Day;

impl SilClient {
    /// `paaSILImportaDovuto`.
    pub fn importa_dovuto(
        &self,
        creds: &Creds,
        doc: &VersamentoDoc,
        generate_iuv: bool,
    ) -> Result<Imported, UpstreamError> {
        answers::imported(&self.call(&requests::importa_dovuto(creds, doc, generate_iuv)?)?)
    }

    /// `paaSILInviaDovuti`.
    pub fn invia_dovuti(
        &self,
        creds: &Creds,
        doc: &DovutiDoc,
        back_url: Option<&str>,
    ) -> Result<Session, UpstreamError> {
        answers::session(&self.call(&requests::invia_dovuti(creds, doc, back_url)?)?, "idSession")
    }

    /// `paaSILInviaCarrelloDovuti`.
    pub fn invia_carrello(
        &self,
        creds: &Creds,
        elements: &[CartElement],
        back_url: Option<&str>,
    ) -> Result<Session, UpstreamError> {
        answers::session(&self.call(&requests::invia_carrello(creds, elements, back_url)?)?, "idSessionCarrello")
    }

    /// `paaSILVerificaAvviso`.
    pub fn verifica_avviso(&self, creds: &Creds, iuv: &str, back_url: Option<&str>) -> Result<Session, UpstreamError> {
        answers::session(&self.call(&requests::verifica_avviso(creds, iuv, back_url))?, "idSession")
    }

    /// `paaSILChiediPagatiConRicevuta`. A session not paid yet is a [`UpstreamError::Fault`] with
    /// MyPay's code (`PAA_PAGAMENTO_NON_INIZIATO`, `PAA_PAGAMENTO_IN_CORSO`, ...).
    pub fn chiedi_pagati_con_ricevuta(&self, creds: &Creds, key: &PagatiKey) -> Result<Paid, UpstreamError> {
        answers::paid(&self.call(&requests::chiedi_pagati_con_ricevuta(creds, key))?)
    }

    /// `paaSILChiediEsitoCarrelloDovuti`: one outcome per org of the cart.
    pub fn chiedi_esito_carrello(
        &self,
        creds: &Creds,
        id_session_carrello: &str,
    ) -> Result<Vec<CartOutcome>, UpstreamError> {
        answers::cart_outcomes(&self.call(&requests::chiedi_esito_carrello(creds, id_session_carrello))?)
    }

    /// `paaSILAutorizzaImportFlusso`; the flow then goes up with [`SilClient::upload_flow`].
    pub fn autorizza_import_flusso(&self, creds: &Creds) -> Result<ImportAuthorization, UpstreamError> {
        answers::import_authorization(&self.call(&requests::autorizza_import_flusso(creds))?)
    }

    /// `paaSILChiediStatoImportFlusso`.
    pub fn chiedi_stato_import_flusso(
        &self,
        creds: &Creds,
        request_token: &str,
    ) -> Result<ImportStatus, UpstreamError> {
        answers::import_status(&self.call(&requests::chiedi_stato_import_flusso(creds, request_token))?)
    }

    /// `paaSILPrenotaExportFlussoIncrementaleConRicevuta`.
    pub fn prenota_export_incrementale(
        &self,
        creds: &Creds,
        from: DateTime,
        to: Option<DateTime>,
        version: &str,
    ) -> Result<ExportBooked, UpstreamError> {
        answers::export_booked(&self.call(&requests::prenota_export_incrementale(creds, from, to, version))?)
    }

    /// `paaSILChiediStatoExportFlusso`.
    pub fn chiedi_stato_export_flusso(&self, creds: &Creds, request_token: &str) -> Result<FileStatus, UpstreamError> {
        answers::file_status(&self.call(&requests::chiedi_stato_export_flusso(creds, request_token))?)
    }

    /// `paaSILChiediElencoFlussiSPC`.
    pub fn elenco_flussi_spc(
        &self,
        creds: &Creds,
        psp: Option<&str>,
        kind: SpcKind,
        from: Day,
        to: Day,
    ) -> Result<Vec<SpcFlow>, UpstreamError> {
        answers::spc_flows(&self.call(&requests::elenco_flussi_spc(creds, psp, kind, from, to))?)
    }

    /// `paaSILChiediFlussoSPC`.
    pub fn flusso_spc(
        &self,
        creds: &Creds,
        psp: Option<&str>,
        kind: SpcKind,
        flow: &SpcFlow,
    ) -> Result<FileStatus, UpstreamError> {
        answers::file_status(&self.call(&requests::flusso_spc(creds, psp, kind, &flow.id, &flow.date_time))?)
    }
}
