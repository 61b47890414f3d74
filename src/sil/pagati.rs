//! Writing the `Pagati` and `PagatiConRicevuta` documents (reference/mypay.md §4.4) from the
//! stored receipts, in the order of PagInf_Dovuti_Pagati_6_2_0.xsd. Texts are cut to the
//! schema's lengths; amounts come from cents.

use super::dovuti::{PAY_NS, write_payer};
use crate::domain::Cents;
use crate::services::payments::truncate;
use crate::services::sil_sessions::{OutcomeLine, PaymentOutcome};
use crate::soap::XmlWriter;

/// Which document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Pagati,
    PagatiConRicevuta,
}

/// What the document says besides its lines.
#[derive(Debug, Clone)]
pub struct Header<'a> {
    pub station_id: &'a str,
    /// `riferimentoMessaggioRichiesta`: what identified the request (the cart).
    pub request_ref: &'a str,
    /// `riferimentoDataRichiesta`, `YYYY-MM-DD`.
    pub request_date: &'a str,
    pub outcome: PaymentOutcome,
}

/// `YYYY-MM-DDThh:mm:ss` of a stored ISO timestamp (xsd:dateTime without a zone).
fn date_time(iso: &str) -> &str {
    iso.get(..19).unwrap_or(iso)
}

fn amount(cents: i64) -> String {
    Cents::new(cents).to_decimal_string()
}

/// The document, as UTF-8 XML with its declaration.
pub fn write(kind: Kind, header: &Header<'_>, lines: &[OutcomeLine]) -> String {
    let root = match kind {
        Kind::Pagati => "Pagati",
        Kind::PagatiConRicevuta => "PagatiConRicevuta",
    };
    let first = lines.first();
    let receipt = lines.iter().find_map(|l| l.receipt.as_ref());
    let mut w = XmlWriter::new();
    w.raw("<?xml version=\"1.0\" encoding=\"UTF-8\"?>");
    w.open_with(root, &[("xmlns", PAY_NS)]);
    w.leaf("versioneOggetto", "6.2.0");
    w.open("dominio");
    w.leaf("identificativoDominio", first.map(|l| l.org.fiscal_code.as_str()).unwrap_or_default());
    w.leaf("identificativoStazioneRichiedente", header.station_id);
    w.close("dominio");
    let message_id = receipt.map(|r| truncate(&r.receipt_id, 35)).unwrap_or_else(|| truncate(header.request_ref, 35));
    w.leaf("identificativoMessaggioRicevuta", &message_id);
    let at = receipt.map(|r| r.payment_date_time.clone().unwrap_or_else(|| r.received_at.clone()));
    let at = at.unwrap_or_else(|| format!("{}T00:00:00", header.request_date));
    w.leaf("dataOraMessaggioRicevuta", date_time(&at));
    w.leaf("riferimentoMessaggioRichiesta", &truncate(header.request_ref, 35));
    w.leaf("riferimentoDataRichiesta", header.request_date);
    w.open("istitutoAttestante");
    w.open("identificativoUnivocoAttestante");
    // The PSP is known by its pagoPA id; MyPay writes it as a BIC-kind identifier.
    w.leaf("tipoIdentificativoUnivoco", "B");
    w.leaf("codiceIdentificativoUnivoco", &truncate(receipt.map(|r| r.psp_id.as_str()).unwrap_or("n/a"), 35));
    w.close("identificativoUnivocoAttestante");
    w.leaf("denominazioneAttestante", &truncate(receipt.map(|r| r.psp_company_name.as_str()).unwrap_or("n/a"), 70));
    w.close("istitutoAttestante");
    w.open("enteBeneficiario");
    w.open("identificativoUnivocoBeneficiario");
    w.leaf("tipoIdentificativoUnivoco", "G");
    w.leaf("codiceIdentificativoUnivoco", first.map(|l| l.org.fiscal_code.as_str()).unwrap_or_default());
    w.close("identificativoUnivocoBeneficiario");
    w.leaf("denominazioneBeneficiario", &truncate(first.map(|l| l.org.name.as_str()).unwrap_or_default(), 70));
    w.close("enteBeneficiario");
    match first.map(|l| &l.debt) {
        Some(debt) => write_payer(&mut w, debt),
        None => {
            w.open("soggettoPagatore").close("soggettoPagatore");
        }
    }
    w.open("datiPagamento");
    w.leaf("codiceEsitoPagamento", header.outcome.code());
    let total: i64 = lines.iter().filter_map(|l| l.receipt.as_ref()).map(|r| r.amount_cents).sum();
    w.leaf("importoTotalePagato", &amount(total));
    w.leaf("identificativoUnivocoVersamento", first.and_then(|l| l.debt.iuv.as_deref()).unwrap_or_default());
    w.leaf("codiceContestoPagamento", &message_id);
    for line in lines {
        let Some(r) = &line.receipt else { continue };
        w.open("datiSingoloPagamento");
        w.leaf("identificativoUnivocoDovuto", &line.debt.iud);
        w.leaf("singoloImportoPagato", &amount(r.amount_cents));
        w.leaf("esitoSingoloPagamento", "ESEGUITO");
        w.leaf("dataEsitoSingoloPagamento", &r.payment_date);
        w.leaf("identificativoUnivocoRiscossione", &truncate(&r.receipt_id, 35));
        w.leaf("causaleVersamento", &truncate(&line.debt.causale, 140));
        w.leaf("datiSpecificiRiscossione", &line.debt.collection_data);
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
