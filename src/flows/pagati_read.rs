//! Reading MyPay's `Pagati` and `PagatiConRicevuta` documents (mypay.md §4.4;
//! PagInf_Dovuti_Pagati_6_2_0.xsd), the other half of [`super::pagati`]: what an upstream MyPay
//! answers `paaSILChiediPagatiConRicevuta` with, and pushes as a receipt's `esito`.
//!
//! Owns: [`PagatiDoc`] and [`read`]. Values are checked as the schema types them (an outcome code
//! 0-4, amounts `\d+\.\d{2}`, ISO days, at most five payments) and come out typed; a document
//! that breaks one of these is refused whole, with what was wrong, never half read.
//! Must never: trust the document for more than it says (whether a payment settles a debt is the
//! services' rule), or panic on any input.

use super::pagati::NAMESPACE;
use crate::domain::{Cents, Day, Party};
use crate::soap::{self, Element};

/// A document that is not a `Pagati` this reader can vouch for.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Pagati document: {0}")]
pub struct PagatiError(pub String);

/// `codiceEsitoPagamento`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaymentOutcome {
    /// 0: paid.
    Paid,
    /// 1: not paid.
    NotPaid,
    /// 2: partly paid (a cart of which some debts were paid).
    Partial,
    /// 3: the payment's terms ran out (decorrenza termini).
    Expired,
    /// 4: the terms ran out for part of it.
    PartlyExpired,
}

impl PaymentOutcome {
    pub fn from_code(code: &str) -> Option<PaymentOutcome> {
        match code {
            "0" => Some(PaymentOutcome::Paid),
            "1" => Some(PaymentOutcome::NotPaid),
            "2" => Some(PaymentOutcome::Partial),
            "3" => Some(PaymentOutcome::Expired),
            "4" => Some(PaymentOutcome::PartlyExpired),
            _ => None,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            PaymentOutcome::Paid => "0",
            PaymentOutcome::NotPaid => "1",
            PaymentOutcome::Partial => "2",
            PaymentOutcome::Expired => "3",
            PaymentOutcome::PartlyExpired => "4",
        }
    }
}

/// An identified party of the document that is not the payer: the PSP that attests the payment
/// (`istitutoAttestante`) or the beneficiary org (`enteBeneficiario`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Institution {
    /// `tipoIdentificativoUnivoco`: `G` (fiscal code), `A` (ABI), `B` (BIC).
    pub kind: String,
    pub code: String,
    pub name: String,
}

/// One `datiSingoloPagamento`: what was paid of one debt (its IUD).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SinglePayment {
    pub iud: String,
    pub amount: Cents,
    /// `esitoSingoloPagamento` as written (`ESEGUITO`, `NON ESEGUITO`, ...), when given.
    pub outcome: Option<String>,
    pub date: Day,
    /// `identificativoUnivocoRiscossione` (IUR).
    pub collection_id: String,
    pub causale: String,
    pub collection_data: String,
    /// `indiceDatiSingoloPagamento` (`PagatiConRicevuta` only).
    pub index: Option<u8>,
    /// `commissioniApplicatePSP` (`PagatiConRicevuta` only).
    pub psp_fee: Option<Cents>,
}

/// A `Pagati` or `PagatiConRicevuta` document, read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PagatiDoc {
    /// The root was `PagatiConRicevuta`.
    pub with_receipt: bool,
    /// `dominio/identificativoDominio`: the beneficiary's fiscal code.
    pub domain: String,
    pub station: Option<String>,
    /// `identificativoMessaggioRicevuta`.
    pub receipt_id: String,
    /// `dataOraMessaggioRicevuta`, as written (an xsd:dateTime).
    pub receipt_at: String,
    /// `riferimentoMessaggioRichiesta`.
    pub request_ref: String,
    pub request_date: Day,
    pub attestor: Institution,
    pub beneficiary: Institution,
    pub payer: Party,
    pub outcome: PaymentOutcome,
    /// `importoTotalePagato`.
    pub total_paid: Cents,
    pub iuv: String,
    /// `codiceContestoPagamento` (CCP).
    pub context_code: String,
    pub payments: Vec<SinglePayment>,
}

fn bad(what: impl Into<String>) -> PagatiError {
    PagatiError(what.into())
}

/// The trimmed text of a required child, not empty.
fn required(el: &Element, name: &str) -> Result<String, PagatiError> {
    el.child_text(name)
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .ok_or_else(|| bad(format!("{} without {name}", el.name)))
}

fn optional(el: &Element, name: &str) -> Option<String> {
    el.child_text(name).map(str::trim).filter(|t| !t.is_empty()).map(str::to_owned)
}

fn child<'a>(el: &'a Element, name: &str) -> Result<&'a Element, PagatiError> {
    el.child(name).ok_or_else(|| bad(format!("{} without {name}", el.name)))
}

fn amount(el: &Element, name: &str) -> Result<Cents, PagatiError> {
    let text = required(el, name)?;
    Cents::parse_xsd_amount(&text).map_err(|err| bad(format!("{name}: {err}")))
}

fn day(el: &Element, name: &str) -> Result<Day, PagatiError> {
    let text = required(el, name)?;
    Day::parse(&text).map_err(|err| bad(format!("{name}: {err}")))
}

/// `identificativoUnivoco…` (kind and code) and the name beside it.
fn institution(el: &Element, id: &str, name: &str) -> Result<Institution, PagatiError> {
    let ident = child(el, id)?;
    Ok(Institution {
        kind: required(ident, "tipoIdentificativoUnivoco")?,
        code: required(ident, "codiceIdentificativoUnivoco")?,
        name: required(el, name)?,
    })
}

fn payer(el: &Element) -> Result<Party, PagatiError> {
    let ident = child(el, "identificativoUnivocoPagatore")?;
    Ok(Party {
        kind: required(ident, "tipoIdentificativoUnivoco")?,
        id: required(ident, "codiceIdentificativoUnivoco")?,
        name: required(el, "anagraficaPagatore")?,
        address: optional(el, "indirizzoPagatore"),
        civic_number: optional(el, "civicoPagatore"),
        postal_code: optional(el, "capPagatore"),
        city: optional(el, "localitaPagatore"),
        province: optional(el, "provinciaPagatore"),
        country: optional(el, "nazionePagatore"),
        email: optional(el, "e-mailPagatore"),
    })
}

fn single(el: &Element) -> Result<SinglePayment, PagatiError> {
    let index = match optional(el, "indiceDatiSingoloPagamento") {
        None => None,
        Some(text) => Some(
            text.parse::<u8>()
                .ok()
                .filter(|i| (1..=5).contains(i))
                .ok_or_else(|| bad(format!("indiceDatiSingoloPagamento {text:?} is not 1-5")))?,
        ),
    };
    let psp_fee = match optional(el, "commissioniApplicatePSP") {
        None => None,
        Some(_) => Some(amount(el, "commissioniApplicatePSP")?),
    };
    Ok(SinglePayment {
        iud: required(el, "identificativoUnivocoDovuto")?,
        amount: amount(el, "singoloImportoPagato")?,
        outcome: optional(el, "esitoSingoloPagamento"),
        date: day(el, "dataEsitoSingoloPagamento")?,
        collection_id: required(el, "identificativoUnivocoRiscossione")?,
        causale: el.child_text("causaleVersamento").unwrap_or_default().to_owned(),
        collection_data: required(el, "datiSpecificiRiscossione")?,
        index,
        psp_fee,
    })
}

/// Reads a `Pagati` or `PagatiConRicevuta` document (UTF-8 XML in MyPay's payload namespace).
pub fn read(bytes: &[u8]) -> Result<PagatiDoc, PagatiError> {
    let root = soap::parse_document(bytes).map_err(|err| bad(err.to_string()))?;
    let with_receipt = match root.name.as_str() {
        "Pagati" => false,
        "PagatiConRicevuta" => true,
        other => return Err(bad(format!("root element {other}, not Pagati"))),
    };
    if root.ns.as_deref() != Some(NAMESPACE) {
        return Err(bad(format!("root in namespace {:?}, not {NAMESPACE}", root.ns.as_deref().unwrap_or(""))));
    }
    let dominio = child(&root, "dominio")?;
    let data = child(&root, "datiPagamento")?;
    let code = required(data, "codiceEsitoPagamento")?;
    let outcome =
        PaymentOutcome::from_code(&code).ok_or_else(|| bad(format!("codiceEsitoPagamento {code:?} is not 0-4")))?;
    let singles: Vec<&Element> = data.children_named("datiSingoloPagamento").collect();
    if singles.len() > 5 {
        return Err(bad(format!("{} datiSingoloPagamento: at most 5", singles.len())));
    }
    Ok(PagatiDoc {
        with_receipt,
        domain: required(dominio, "identificativoDominio")?,
        station: optional(dominio, "identificativoStazioneRichiedente"),
        receipt_id: required(&root, "identificativoMessaggioRicevuta")?,
        receipt_at: required(&root, "dataOraMessaggioRicevuta")?,
        request_ref: required(&root, "riferimentoMessaggioRichiesta")?,
        request_date: day(&root, "riferimentoDataRichiesta")?,
        attestor: institution(
            child(&root, "istitutoAttestante")?,
            "identificativoUnivocoAttestante",
            "denominazioneAttestante",
        )?,
        beneficiary: institution(
            child(&root, "enteBeneficiario")?,
            "identificativoUnivocoBeneficiario",
            "denominazioneBeneficiario",
        )?,
        payer: payer(child(&root, "soggettoPagatore")?)?,
        outcome,
        total_paid: amount(data, "importoTotalePagato")?,
        iuv: required(data, "identificativoUnivocoVersamento")?,
        context_code: required(data, "codiceContestoPagamento")?,
        payments: singles.into_iter().map(single).collect::<Result<_, _>>()?,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]
    use super::*;
    use crate::flows::pagati::{Header, Kind, Line, write};
    use crate::store::debts::DebtRecord;
    use crate::store::receipts::ReceiptRecord;

    fn written(kind: Kind) -> String {
        let debt = DebtRecord {
            iud: "IUD-1".into(),
            iuv: Some(crate::domain::Iuv::parse("01000000000000012").unwrap()),
            debtor: Party {
                kind: "F".into(),
                id: "RSSMRA80A01F205X".into(),
                name: "Mario Rossi".into(),
                ..Party::default()
            },
            causale: "Tassa".into(),
            collection_data: "9/0101100IM/".into(),
            ..DebtRecord::default()
        };
        let receipt = ReceiptRecord {
            receipt_id: "R-1".into(),
            outcome: "OK".into(),
            amount_cents: Cents::new(1050),
            fee_cents: Some(Cents::new(100)),
            payment_date: Day::parse("2026-03-02").unwrap(),
            payment_date_time: Some("2026-03-02T10:11:12".into()),
            psp_id: "PSP1".into(),
            psp_company_name: "Banca".into(),
            ..ReceiptRecord::default()
        };
        let header = Header {
            org_fiscal_code: "01234567897",
            org_name: "Comune",
            station_id: Some("01234567897_01"),
            request_ref: "REQ",
            request_date: "2026-03-01",
            outcome_code: "0",
        };
        write(kind, &header, &[Line { debt: Some(&debt), receipt: Some(&receipt) }])
    }

    /// What the one writer writes, the reader reads back (both roots).
    #[test]
    fn reads_what_the_writer_writes() {
        for kind in [Kind::Pagati, Kind::PagatiConRicevuta] {
            let doc = read(written(kind).as_bytes()).unwrap();
            assert_eq!(doc.with_receipt, kind == Kind::PagatiConRicevuta);
            assert_eq!((doc.domain.as_str(), doc.station.as_deref()), ("01234567897", Some("01234567897_01")));
            assert_eq!(
                (doc.outcome, doc.total_paid, doc.iuv.as_str()),
                (PaymentOutcome::Paid, Cents::new(1050), "01000000000000012")
            );
            assert_eq!(doc.payer.id, "RSSMRA80A01F205X");
            assert_eq!(doc.attestor, Institution { kind: "B".into(), code: "PSP1".into(), name: "Banca".into() });
            let [single] = doc.payments.as_slice() else { panic!("{doc:?}") };
            assert_eq!(
                (single.iud.as_str(), single.amount, single.collection_id.as_str()),
                ("IUD-1", Cents::new(1050), "R-1")
            );
            assert_eq!(single.date.to_string(), "2026-03-02");
            let expected_fee = (kind == Kind::PagatiConRicevuta).then_some(Cents::new(100));
            assert_eq!(single.psp_fee, expected_fee);
        }
    }

    #[test]
    fn refuses_what_the_schema_refuses() {
        let good = written(Kind::Pagati);
        for (from, to, detail) in [
            ("<codiceEsitoPagamento>0<", "<codiceEsitoPagamento>7<", "codiceEsitoPagamento"),
            ("<importoTotalePagato>10.50<", "<importoTotalePagato>10,50<", "importoTotalePagato"),
            (
                "<dataEsitoSingoloPagamento>2026-03-02<",
                "<dataEsitoSingoloPagamento>02/03/2026<",
                "dataEsitoSingoloPagamento",
            ),
            ("<Pagati xmlns=\"http://www.regione.veneto.it/schemas/2012/Pagamenti/Ente/\">", "<Pagati>", "namespace"),
            (
                "<identificativoUnivocoVersamento>01000000000000012</identificativoUnivocoVersamento>",
                "",
                "identificativoUnivocoVersamento",
            ),
        ] {
            let broken = good.replace(from, to);
            assert_ne!(broken, good, "{from}");
            let err = read(broken.as_bytes()).unwrap_err();
            assert!(err.0.contains(detail), "{err} for {from}");
        }
        assert!(read(b"not xml").is_err());
        assert!(read(b"<Dovuti xmlns=\"http://www.regione.veneto.it/schemas/2012/Pagamenti/Ente/\"/>").is_err());
    }
}
