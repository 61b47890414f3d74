//! MyPay's `Pagati` and `PagatiConRicevuta` documents (reference/mypay.md §4.4;
//! PagInf_Dovuti_Pagati_6_2_0.xsd, in its element order) written from stored debts and receipts:
//! what an org's system reads to reconcile payments with its dovuti (the IUDs). The one writer of
//! both the SIL answers (a cart of up to five debts) and the outcome push's `esito` (one receipt).
//! Must never: emit a value the schema refuses (texts are cut to their `stText` lengths).

use crate::domain::{Cents, Party};
use crate::soap::XmlWriter;
use crate::store::debts::DebtRecord;
use crate::store::receipts::ReceiptRecord;

/// The namespace of MyPay's Dovuti/Pagati documents.
pub const NAMESPACE: &str = "http://www.regione.veneto.it/schemas/2012/Pagamenti/Ente/";

/// Which document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Pagati,
    PagatiConRicevuta,
}

/// What the document says besides its lines.
#[derive(Debug, Clone)]
pub struct Header<'a> {
    pub org_fiscal_code: &'a str,
    pub org_name: &'a str,
    /// `identificativoStazioneRichiedente`, when known.
    pub station_id: Option<&'a str>,
    /// `riferimentoMessaggioRichiesta`: what identified the request (the cart, the receipt).
    pub request_ref: &'a str,
    /// `riferimentoDataRichiesta`, `YYYY-MM-DD`.
    pub request_date: &'a str,
    /// `codiceEsitoPagamento`: 0 paid, 1 not paid, 2 partial, 3/4 expired.
    pub outcome_code: &'a str,
}

/// One debt of the request and its receipt, if any; a receipt of a position no debt matches has
/// no debt (and then no `datiSingoloPagamento`).
#[derive(Debug, Clone, Copy)]
pub struct Line<'a> {
    pub debt: Option<&'a DebtRecord>,
    pub receipt: Option<&'a ReceiptRecord>,
}

fn cut(text: &str, max: usize) -> String {
    text.chars().take(max).collect()
}

fn amount(cents: Cents) -> String {
    cents.to_decimal_string()
}

/// What a receipt paid: nothing when the payment failed.
fn paid(receipt: &ReceiptRecord) -> Cents {
    if receipt.outcome == "OK" { receipt.amount_cents } else { Cents::ZERO }
}

/// `YYYY-MM-DDThh:mm:ss` of a stored ISO timestamp (xsd:dateTime without a zone).
fn date_time(iso: &str) -> &str {
    iso.get(..19).unwrap_or(iso)
}

/// The `Pagati` the outcome push sends for `receipt` of the org, `debt` the dovuto it paid.
pub fn pagati_xml(receipt: &ReceiptRecord, org_fiscal_code: &str, org_name: &str, debt: Option<&DebtRecord>) -> String {
    let date = receipt.payment_date.to_string();
    let header = Header {
        org_fiscal_code,
        org_name,
        station_id: None,
        request_ref: &receipt.receipt_id,
        request_date: &date,
        outcome_code: if receipt.outcome == "OK" { "0" } else { "1" },
    };
    write(Kind::Pagati, &header, &[Line { debt, receipt: Some(receipt) }])
}

/// The document, as UTF-8 XML with its declaration.
pub fn write(kind: Kind, header: &Header<'_>, lines: &[Line<'_>]) -> String {
    let root = match kind {
        Kind::Pagati => "Pagati",
        Kind::PagatiConRicevuta => "PagatiConRicevuta",
    };
    let debt = lines.iter().find_map(|l| l.debt);
    let receipt = lines.iter().find_map(|l| l.receipt);
    let mut w = XmlWriter::new();
    w.raw("<?xml version=\"1.0\" encoding=\"UTF-8\"?>");
    w.open_with(root, &[("xmlns", NAMESPACE)]);
    w.leaf("versioneOggetto", "6.2.0");
    w.open("dominio");
    w.leaf("identificativoDominio", header.org_fiscal_code);
    w.leaf_opt("identificativoStazioneRichiedente", header.station_id);
    w.close("dominio");
    let message_id = cut(receipt.map_or(header.request_ref, |r| r.receipt_id.as_str()), 35);
    w.leaf("identificativoMessaggioRicevuta", &message_id);
    let at = receipt.map(|r| r.payment_date_time.clone().unwrap_or_else(|| r.received_at.clone()));
    let at = at.unwrap_or_else(|| format!("{}T00:00:00", header.request_date));
    w.leaf("dataOraMessaggioRicevuta", date_time(&at));
    w.leaf("riferimentoMessaggioRichiesta", &cut(header.request_ref, 35));
    w.leaf("riferimentoDataRichiesta", header.request_date);
    w.open("istitutoAttestante").open("identificativoUnivocoAttestante");
    // A PSP known by its fiscal code is a legal person; else its pagoPA id, as a BIC-kind code.
    match receipt.and_then(|r| r.psp_fiscal_code.as_deref()).filter(|c| !c.is_empty()) {
        Some(code) => w.leaf("tipoIdentificativoUnivoco", "G").leaf("codiceIdentificativoUnivoco", &cut(code, 35)),
        None => w
            .leaf("tipoIdentificativoUnivoco", "B")
            .leaf("codiceIdentificativoUnivoco", &cut(receipt.map_or("n/a", |r| r.psp_id.as_str()), 35)),
    };
    w.close("identificativoUnivocoAttestante");
    w.leaf("denominazioneAttestante", &cut(receipt.map_or("n/a", |r| r.psp_company_name.as_str()), 70));
    w.close("istitutoAttestante");
    w.open("enteBeneficiario").open("identificativoUnivocoBeneficiario");
    w.leaf("tipoIdentificativoUnivoco", "G").leaf("codiceIdentificativoUnivoco", header.org_fiscal_code);
    w.close("identificativoUnivocoBeneficiario");
    w.leaf("denominazioneBeneficiario", &cut(header.org_name, 70));
    w.close("enteBeneficiario");
    match (debt, receipt) {
        (Some(debt), _) => write_payer(&mut w, debt),
        (None, Some(receipt)) => {
            let party = &receipt.debtor;
            w.open("soggettoPagatore").open("identificativoUnivocoPagatore");
            w.leaf("tipoIdentificativoUnivoco", if party.kind == "G" { "G" } else { "F" });
            w.leaf("codiceIdentificativoUnivoco", &cut(&party.id, 35)).close("identificativoUnivocoPagatore");
            w.leaf("anagraficaPagatore", &cut(&party.name, 70));
            w.leaf_opt("e-mailPagatore", party.email.as_deref().filter(|e| e.len() <= 256 && e.contains('@')));
            w.close("soggettoPagatore");
        }
        (None, None) => {
            w.open("soggettoPagatore").close("soggettoPagatore");
        }
    }
    w.open("datiPagamento");
    w.leaf("codiceEsitoPagamento", header.outcome_code);
    let total: i64 = lines.iter().filter_map(|l| l.receipt).map(|r| paid(r).get()).sum();
    w.leaf("importoTotalePagato", &amount(Cents::new(total)));
    let iuv = debt
        .and_then(|d| d.iuv.as_ref().map(crate::domain::Iuv::as_str))
        .or(receipt.map(|r| r.iuv.as_str()))
        .unwrap_or_default();
    w.leaf("identificativoUnivocoVersamento", &cut(iuv, 35));
    w.leaf("codiceContestoPagamento", &message_id);
    for line in lines {
        let (Some(debt), Some(r)) = (line.debt, line.receipt) else { continue };
        w.open("datiSingoloPagamento");
        w.leaf("identificativoUnivocoDovuto", &cut(&debt.iud, 35));
        w.leaf("singoloImportoPagato", &amount(paid(r)));
        w.leaf("esitoSingoloPagamento", if r.outcome == "OK" { "ESEGUITO" } else { "NON ESEGUITO" });
        w.leaf("dataEsitoSingoloPagamento", &r.payment_date.to_string());
        w.leaf("identificativoUnivocoRiscossione", &cut(&r.receipt_id, 35));
        w.leaf("causaleVersamento", &cut(&debt.causale, 140));
        w.leaf("datiSpecificiRiscossione", &debt.collection_data);
        if kind == Kind::PagatiConRicevuta {
            w.leaf("indiceDatiSingoloPagamento", "1");
            w.leaf_opt("commissioniApplicatePSP", r.fee_cents.map(amount).as_deref());
        }
        w.close("datiSingoloPagamento");
    }
    w.close("datiPagamento");
    w.close(root);
    w.finish()
}

/// The `soggettoPagatore` of a debt, in schema order; optional values only when the schema takes
/// them as they are.
pub fn write_payer(w: &mut XmlWriter, debt: &DebtRecord) {
    write_party(w, &debt.debtor);
}

/// The `soggettoPagatore` of `party` (the debtor of a debt, the payer of a `Dovuti` or
/// `Versamento`), in schema order; optional values only when the schema takes them as they are
/// (an empty one is left out: the schema's texts have at least one character).
pub fn write_party(w: &mut XmlWriter, party: &Party) {
    let two_upper = |v: &&str| v.len() == 2 && v.bytes().all(|b| b.is_ascii_uppercase());
    let text = |v: &Option<String>, max: usize| v.as_deref().filter(|v| !v.trim().is_empty()).map(|v| cut(v, max));
    w.open("soggettoPagatore");
    w.open("identificativoUnivocoPagatore");
    w.leaf("tipoIdentificativoUnivoco", if party.kind == "G" { "G" } else { "F" });
    w.leaf("codiceIdentificativoUnivoco", &cut(&party.id, 35));
    w.close("identificativoUnivocoPagatore");
    w.leaf("anagraficaPagatore", &cut(&party.name, 70));
    w.leaf_opt("indirizzoPagatore", text(&party.address, 70).as_deref());
    w.leaf_opt("civicoPagatore", text(&party.civic_number, 16).as_deref());
    w.leaf_opt("capPagatore", text(&party.postal_code, 16).as_deref());
    w.leaf_opt("localitaPagatore", text(&party.city, 35).as_deref());
    w.leaf_opt("provinciaPagatore", party.province.as_deref().filter(two_upper));
    w.leaf_opt("nazionePagatore", party.country.as_deref().filter(two_upper));
    w.leaf_opt("e-mailPagatore", party.email.as_deref().filter(|e| e.len() <= 256 && e.contains('@')));
    w.close("soggettoPagatore");
}
