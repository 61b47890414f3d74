//! MyPay's `Pagati` document (reference/mypay.md §4.4; PagInf_Dovuti_Pagati_6_2_0.xsd) written from
//! a stored receipt: what an org's system reads to reconcile a payment with its dovuto (the IUD).
//! The outcome push sends it base64-encoded as `esito`.
//! Must never: emit a value the schema refuses (texts are cut to their `stText` lengths).

use crate::domain::Cents;
use crate::soap::XmlWriter;
use crate::store::debts::DebtRecord;
use crate::store::receipts::ReceiptRecord;

/// The namespace of MyPay's Dovuti/Pagati documents.
pub const NAMESPACE: &str = "http://www.regione.veneto.it/schemas/2012/Pagamenti/Ente/";

/// `Pagati` for `receipt` of the org with `org_fiscal_code`; `debt` is the dovuto it paid (none
/// for a receipt of an unknown position: no `datiSingoloPagamento` then).
pub fn pagati_xml(receipt: &ReceiptRecord, org_fiscal_code: &str, debt: Option<&DebtRecord>) -> String {
    let cut = |text: &str, max: usize| -> String { text.chars().take(max).collect() };
    let ok = receipt.outcome == "OK";
    let paid = if ok { Cents::new(receipt.amount_cents) } else { Cents::ZERO };
    let mut w = XmlWriter::new();
    w.raw(r#"<?xml version="1.0" encoding="UTF-8"?>"#);
    w.open_with("Pagati", &[("xmlns", NAMESPACE)]);
    w.leaf("versioneOggetto", "6.2.0");
    w.open("dominio").leaf("identificativoDominio", org_fiscal_code).close("dominio");
    w.leaf("identificativoMessaggioRicevuta", &cut(&receipt.receipt_id, 35));
    w.leaf("dataOraMessaggioRicevuta", receipt.payment_date_time.as_deref().unwrap_or(&receipt.received_at));
    w.leaf("riferimentoMessaggioRichiesta", &cut(&receipt.receipt_id, 35));
    w.leaf("riferimentoDataRichiesta", &receipt.payment_date);
    w.open("istitutoAttestante").open("identificativoUnivocoAttestante");
    match receipt.psp_fiscal_code.as_deref().filter(|c| !c.is_empty()) {
        Some(code) => w.leaf("tipoIdentificativoUnivoco", "G").leaf("codiceIdentificativoUnivoco", &cut(code, 35)),
        None => w.leaf("tipoIdentificativoUnivoco", "B").leaf("codiceIdentificativoUnivoco", &cut(&receipt.psp_id, 35)),
    };
    w.close("identificativoUnivocoAttestante");
    w.leaf("denominazioneAttestante", &cut(&receipt.psp_company_name, 70)).close("istitutoAttestante");
    w.open("enteBeneficiario").open("identificativoUnivocoBeneficiario");
    w.leaf("tipoIdentificativoUnivoco", "G").leaf("codiceIdentificativoUnivoco", org_fiscal_code);
    w.close("identificativoUnivocoBeneficiario");
    w.leaf("denominazioneBeneficiario", &cut(&receipt.company_name, 70));
    w.close("enteBeneficiario");
    let party = receipt.payer.as_ref().unwrap_or(&receipt.debtor);
    w.open("soggettoPagatore").open("identificativoUnivocoPagatore");
    w.leaf("tipoIdentificativoUnivoco", if party.kind == "G" { "G" } else { "F" });
    w.leaf("codiceIdentificativoUnivoco", &cut(&party.id, 35)).close("identificativoUnivocoPagatore");
    w.leaf("anagraficaPagatore", &cut(&party.name, 70));
    w.leaf_opt("e-mailPagatore", party.email.as_deref().filter(|e| e.len() <= 256 && e.contains('@')));
    w.close("soggettoPagatore");
    w.open("datiPagamento");
    w.leaf("codiceEsitoPagamento", if ok { "0" } else { "1" });
    w.leaf("importoTotalePagato", &paid.to_decimal_string());
    w.leaf("identificativoUnivocoVersamento", &cut(&receipt.iuv, 35));
    w.leaf("codiceContestoPagamento", &cut(&receipt.receipt_id, 35));
    if let Some(debt) = debt {
        w.open("datiSingoloPagamento");
        w.leaf("identificativoUnivocoDovuto", &cut(&debt.iud, 35));
        w.leaf("singoloImportoPagato", &paid.to_decimal_string());
        w.leaf("dataEsitoSingoloPagamento", &receipt.payment_date);
        w.leaf("identificativoUnivocoRiscossione", &cut(&receipt.receipt_id, 35));
        w.leaf("causaleVersamento", &cut(&debt.causale, 140));
        w.leaf("datiSpecificiRiscossione", &debt.collection_data);
        w.close("datiSingoloPagamento");
    }
    w.close("datiPagamento").close("Pagati");
    w.finish()
}
