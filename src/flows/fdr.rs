//! The FlussoRiversamento document (reference/pagopa.md §4.2, FlussoRiversamento_1_0_4.xsd): read as
//! the Node's nodeForPa or a regional MyPay's `paaSILChiediFlussoSPC` sends it, and written for a
//! flow that arrived over FdR REST, which has no document of its own, so that a SIL or a box
//! downloading a flow from us gets the same document whichever interface brought it.

use crate::domain::Cents;
use crate::soap::{self, Element, XmlWriter};
use crate::store::reporting::ReportingPaymentRecord;

/// The FlussoRiversamento namespace (elementFormDefault qualified).
pub const FLUSSO_NS: &str = "http://www.digitpa.gov.it/schemas/2011/Pagamenti/";

/// A flow as read from any interface, before checks.
#[derive(Debug, Clone, Default)]
pub struct FlowInput {
    pub iuf: String,
    pub revision: i64,
    pub psp_id: String,
    pub psp_name: Option<String>,
    pub flow_date: Option<String>,
    pub settlement_id: Option<String>,
    pub settlement_date: Option<String>,
    pub receiver_fiscal_code: String,
    pub declared_count: i64,
    pub declared_total: Cents,
    pub payments: Vec<ReportingPaymentRecord>,
}

/// The PSP id inside an IUF `<YYYY-MM-DD><idPSP>-<seq>`, for list items that do not carry it.
pub fn psp_of_iuf(iuf: &str) -> Option<String> {
    let rest = iuf.get(10..)?;
    let (psp, _) = rest.rsplit_once('-')?;
    (!psp.is_empty()).then(|| psp.to_owned())
}

/// Parses a FlussoRiversamento document (FlussoRiversamento_1_0_4.xsd).
pub fn parse_flusso(xml: &[u8]) -> Result<FlowInput, String> {
    let root = soap::parse_document_with(xml, soap::Limits::REPORTING_FLOW).map_err(|err| err.to_string())?;
    if root.name != "FlussoRiversamento" || root.ns.as_deref() != Some(FLUSSO_NS) {
        return Err(format!(
            "root element is {{{}}}{}, not FlussoRiversamento",
            root.ns.unwrap_or_default(),
            root.name
        ));
    }
    let need = |el: &Element, path: &[&str]| -> Result<String, String> {
        el.path_text(path).map(str::to_owned).ok_or_else(|| format!("{} is missing", path.join("/")))
    };
    let amount = |text: &str, what: &str| Cents::parse_xsd_amount(text).map_err(|err| format!("{what}: {err}"));
    let mut payments = Vec::new();
    for p in root.children_named("datiSingoliPagamenti") {
        payments.push(ReportingPaymentRecord {
            iuv: need(p, &["identificativoUnivocoVersamento"])?,
            iur: need(p, &["identificativoUnivocoRiscossione"])?,
            transfer_index: p.child_text("indiceDatiSingoloPagamento").and_then(|v| v.parse().ok()),
            amount_cents: amount(&need(p, &["singoloImportoPagato"])?, "singoloImportoPagato")?,
            outcome_code: need(p, &["codiceEsitoSingoloPagamento"])?,
            outcome_date: need(p, &["dataEsitoSingoloPagamento"])?,
        });
    }
    let declared_count = need(&root, &["numeroTotalePagamenti"])?
        .trim()
        .parse::<i64>()
        .map_err(|_| "numeroTotalePagamenti is not a number".to_owned())?;
    Ok(FlowInput {
        iuf: need(&root, &["identificativoFlusso"])?,
        revision: 1,
        psp_id: need(&root, &["istitutoMittente", "identificativoUnivocoMittente", "codiceIdentificativoUnivoco"])?,
        psp_name: root.path_text(&["istitutoMittente", "denominazioneMittente"]).map(str::to_owned),
        flow_date: root.child_text("dataOraFlusso").map(str::to_owned),
        settlement_id: root.child_text("identificativoUnivocoRegolamento").map(str::to_owned),
        settlement_date: root.child_text("dataRegolamento").map(str::to_owned),
        receiver_fiscal_code: need(
            &root,
            &["istitutoRicevente", "identificativoUnivocoRicevente", "codiceIdentificativoUnivoco"],
        )?,
        declared_count,
        declared_total: amount(&need(&root, &["importoTotalePagamenti"])?, "importoTotalePagamenti")?,
        payments,
    })
}

/// What a written document says besides its rows.
#[derive(Debug, Clone, Default)]
pub struct FlussoHeader {
    pub iuf: String,
    /// dataOraFlusso, Italian civil time `YYYY-MM-DDTHH:MM:SS`.
    pub flow_date: String,
    /// identificativoUnivocoRegolamento: the TRN of the credit transfer.
    pub settlement_id: String,
    /// dataRegolamento, `YYYY-MM-DD`.
    pub settlement_date: String,
    /// `G` (legal person), `A` (ABI code) or `B` (BIC).
    pub sender_kind: &'static str,
    pub sender_code: String,
    pub sender_name: Option<String>,
    /// codiceBicBancaDiRiversamento.
    pub pouring_bank_bic: Option<String>,
    pub receiver_fiscal_code: String,
    pub receiver_name: Option<String>,
    pub total_payments: i64,
    pub total_amount: Cents,
}

/// The FlussoRiversamento 1.0 document of `header` and `rows`, elements in the XSD's order and
/// qualified in its namespace. An optional name outside the XSD's lengths (denominazioneMittente
/// 3..70, denominazioneRicevente 1..140) is left out rather than cut.
pub fn write_flusso(header: &FlussoHeader, rows: &[ReportingPaymentRecord]) -> String {
    fn fits(text: &Option<String>, min: usize, max: usize) -> Option<&str> {
        text.as_deref().filter(|t| (min..=max).contains(&t.chars().count()))
    }
    let mut w = XmlWriter::new();
    w.raw("<?xml version=\"1.0\" encoding=\"UTF-8\"?>")
        .open_with("FlussoRiversamento", &[("xmlns", FLUSSO_NS)])
        .leaf("versioneOggetto", "1.0")
        .leaf("identificativoFlusso", &header.iuf)
        .leaf("dataOraFlusso", &header.flow_date)
        .leaf("identificativoUnivocoRegolamento", &header.settlement_id)
        .leaf("dataRegolamento", &header.settlement_date)
        .open("istitutoMittente")
        .open("identificativoUnivocoMittente")
        .leaf("tipoIdentificativoUnivoco", header.sender_kind)
        .leaf("codiceIdentificativoUnivoco", &header.sender_code)
        .close("identificativoUnivocoMittente")
        .leaf_opt("denominazioneMittente", fits(&header.sender_name, 3, 70))
        .close("istitutoMittente")
        .leaf_opt("codiceBicBancaDiRiversamento", header.pouring_bank_bic.as_deref().filter(|b| !b.is_empty()))
        .open("istitutoRicevente")
        .open("identificativoUnivocoRicevente")
        .leaf("tipoIdentificativoUnivoco", "G")
        .leaf("codiceIdentificativoUnivoco", &header.receiver_fiscal_code)
        .close("identificativoUnivocoRicevente")
        .leaf_opt("denominazioneRicevente", fits(&header.receiver_name, 1, 140))
        .close("istitutoRicevente")
        .leaf("numeroTotalePagamenti", &header.total_payments.to_string())
        .leaf("importoTotalePagamenti", &header.total_amount.to_decimal_string());
    for row in rows {
        w.open("datiSingoliPagamenti")
            .leaf("identificativoUnivocoVersamento", &row.iuv)
            .leaf("identificativoUnivocoRiscossione", &row.iur)
            .leaf_opt("indiceDatiSingoloPagamento", row.transfer_index.map(|i| i.to_string()).as_deref())
            .leaf("singoloImportoPagato", &row.amount_cents.to_decimal_string())
            .leaf("codiceEsitoSingoloPagamento", &row.outcome_code)
            .leaf("dataEsitoSingoloPagamento", &row.outcome_date)
            .close("datiSingoliPagamenti");
    }
    w.close("FlussoRiversamento");
    w.finish()
}

#[cfg(test)]
pub(crate) mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]
    use super::*;

    pub(crate) const FLUSSO: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<FlussoRiversamento xmlns="http://www.digitpa.gov.it/schemas/2011/Pagamenti/">
  <versioneOggetto>1.0</versioneOggetto>
  <identificativoFlusso>2026-11-30BCITITMM-0001</identificativoFlusso>
  <dataOraFlusso>2026-11-30T18:00:00</dataOraFlusso>
  <identificativoUnivocoRegolamento>TRN-1</identificativoUnivocoRegolamento>
  <dataRegolamento>2026-12-01</dataRegolamento>
  <istitutoMittente>
    <identificativoUnivocoMittente><tipoIdentificativoUnivoco>B</tipoIdentificativoUnivoco><codiceIdentificativoUnivoco>BCITITMM</codiceIdentificativoUnivoco></identificativoUnivocoMittente>
    <denominazioneMittente>Banca di Prova</denominazioneMittente>
  </istitutoMittente>
  <istitutoRicevente>
    <identificativoUnivocoRicevente><tipoIdentificativoUnivoco>G</tipoIdentificativoUnivoco><codiceIdentificativoUnivoco>01234567897</codiceIdentificativoUnivoco></identificativoUnivocoRicevente>
  </istitutoRicevente>
  <numeroTotalePagamenti>2</numeroTotalePagamenti>
  <importoTotalePagamenti>30.50</importoTotalePagamenti>
  <datiSingoliPagamenti><identificativoUnivocoVersamento>01000000000000144</identificativoUnivocoVersamento><identificativoUnivocoRiscossione>abc</identificativoUnivocoRiscossione><indiceDatiSingoloPagamento>1</indiceDatiSingoloPagamento><singoloImportoPagato>10.50</singoloImportoPagato><codiceEsitoSingoloPagamento>0</codiceEsitoSingoloPagamento><dataEsitoSingoloPagamento>2026-11-30</dataEsitoSingoloPagamento></datiSingoliPagamenti>
  <datiSingoliPagamenti><identificativoUnivocoVersamento>01000000000000241</identificativoUnivocoVersamento><identificativoUnivocoRiscossione>def</identificativoUnivocoRiscossione><singoloImportoPagato>20.00</singoloImportoPagato><codiceEsitoSingoloPagamento>4</codiceEsitoSingoloPagamento><dataEsitoSingoloPagamento>2026-11-30</dataEsitoSingoloPagamento></datiSingoliPagamenti>
</FlussoRiversamento>"#;

    #[test]
    fn parses_a_flusso() {
        let flow = parse_flusso(FLUSSO.as_bytes()).unwrap();
        assert_eq!(flow.iuf, "2026-11-30BCITITMM-0001");
        assert_eq!(flow.receiver_fiscal_code, "01234567897");
        assert_eq!(flow.declared_total, Cents::new(3050));
        assert_eq!(flow.payments.len(), 2);
        assert_eq!(flow.payments[0].transfer_index, Some(1));
        assert_eq!(flow.payments[1].amount_cents, Cents::new(2000));
        assert_eq!(flow.payments[1].outcome_code, "4");
        assert_eq!(psp_of_iuf(&flow.iuf).as_deref(), Some("BCITITMM"));
    }

    /// A large PSP's flow holds far more payments than a request from a stranger may hold
    /// elements: it gets the budgets of a reporting flow.
    #[test]
    fn a_flow_of_thirty_thousand_payments_is_read() {
        let row = "<datiSingoliPagamenti><identificativoUnivocoVersamento>01000000000000144</identificativoUnivocoVersamento>\
            <identificativoUnivocoRiscossione>abc</identificativoUnivocoRiscossione><singoloImportoPagato>1.00</singoloImportoPagato>\
            <codiceEsitoSingoloPagamento>0</codiceEsitoSingoloPagamento><dataEsitoSingoloPagamento>2026-11-30</dataEsitoSingoloPagamento>\
            </datiSingoliPagamenti>";
        let start = FLUSSO.find("  <datiSingoliPagamenti>").unwrap();
        let mut big = FLUSSO[..start]
            .replace("<numeroTotalePagamenti>2<", "<numeroTotalePagamenti>30000<")
            .replace("<importoTotalePagamenti>30.50<", "<importoTotalePagamenti>30000.00<");
        big.push_str(&row.repeat(30_000));
        big.push_str("</FlussoRiversamento>");
        let flow = parse_flusso(big.as_bytes()).unwrap();
        assert_eq!(flow.payments.len(), 30_000);
        assert!(crate::soap::parse_document(big.as_bytes()).is_err(), "a request may not be this large");
    }

    #[test]
    fn refuses_other_documents() {
        assert!(parse_flusso(b"<a/>").unwrap_err().contains("not FlussoRiversamento"));
        let no_total = FLUSSO.replace("<importoTotalePagamenti>30.50</importoTotalePagamenti>", "");
        assert_eq!(parse_flusso(no_total.as_bytes()).unwrap_err(), "importoTotalePagamenti is missing");
        let float = FLUSSO.replace("<singoloImportoPagato>20.00<", "<singoloImportoPagato>20<");
        assert!(parse_flusso(float.as_bytes()).unwrap_err().starts_with("singoloImportoPagato"));
    }

    /// A written document reads back as the flow it was written from.
    #[test]
    fn a_written_flusso_reads_back() {
        let read = parse_flusso(FLUSSO.as_bytes()).unwrap();
        let header = FlussoHeader {
            iuf: read.iuf.clone(),
            flow_date: "2026-11-30T18:00:00".to_owned(),
            settlement_id: "TRN-1".to_owned(),
            settlement_date: "2026-12-01".to_owned(),
            sender_kind: "B",
            sender_code: "BCITITMM".to_owned(),
            sender_name: Some("Banca di Prova".to_owned()),
            pouring_bank_bic: None,
            receiver_fiscal_code: "01234567897".to_owned(),
            receiver_name: Some("X".repeat(141)),
            total_payments: 2,
            total_amount: Cents::new(3050),
        };
        let xml = write_flusso(&header, &read.payments);
        assert!(!xml.contains("denominazioneRicevente"), "too long for the XSD: left out");
        let again = parse_flusso(xml.as_bytes()).unwrap();
        assert_eq!(
            (again.iuf, again.flow_date, again.settlement_id, again.psp_name, again.declared_total),
            (read.iuf, read.flow_date, read.settlement_id, read.psp_name, read.declared_total)
        );
        assert_eq!(again.payments, read.payments);
        assert!(!xml.contains("<codiceBicBancaDiRiversamento>") && xml.contains("<indiceDatiSingoloPagamento>1<"));
    }
}
