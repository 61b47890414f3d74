//! A regional MyPay for the outcome tests: [`FakeRegion`] answers [`RegionOutcomes`] from what a
//! test put in it and records what it was asked. Tests only.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, reason = "test helpers fail loudly")]

use std::cell::RefCell;
use std::collections::VecDeque;
use std::io::Write as _;
use std::path::Path;

use base64::Engine as _;

use super::outcomes::{ExportState, PaidKey, RegionFailure, RegionOutcomes, RegionPayment, Reserved};
use crate::flows::quoted_csv::QuotedCsv;
use crate::flows::rt_export::{Version, header};
use crate::services::testkit::FISCAL_CODE;
use crate::store::debts::DebtRecord;

/// What the fake Region knows and was asked.
#[derive(Default)]
pub struct FakeRegion {
    /// The answers of `paid`, by key.
    pub payments: RefCell<Vec<(PaidKey, RegionPayment)>>,
    /// When set, `paid` fails with it.
    pub paid_failure: RefCell<Option<RegionFailure>>,
    pub asked: RefCell<Vec<PaidKey>>,
    /// The answers of `reserve_export`, in order; the `from` of each call is recorded.
    pub reservations: RefCell<VecDeque<Result<Reserved, RegionFailure>>>,
    pub reserved_from: RefCell<Vec<String>>,
    /// The answers of `export_status`, in order.
    pub statuses: RefCell<VecDeque<Result<ExportState, RegionFailure>>>,
    /// What `download` writes.
    pub zip: RefCell<Vec<u8>>,
    pub downloads: RefCell<u32>,
}

impl RegionOutcomes for FakeRegion {
    fn paid(&self, key: PaidKey) -> Result<Option<RegionPayment>, RegionFailure> {
        self.asked.borrow_mut().push(key.clone());
        if let Some(failure) = self.paid_failure.borrow().clone() {
            return Err(failure);
        }
        Ok(self.payments.borrow().iter().find(|(k, _)| *k == key).map(|(_, p)| p.clone()))
    }

    fn reserve_export(&self, from: &str, _to: Option<&str>) -> Result<Reserved, RegionFailure> {
        self.reserved_from.borrow_mut().push(from.to_owned());
        self.reservations.borrow_mut().pop_front().expect("an unexpected reservation")
    }

    fn export_status(&self, _token: &str) -> Result<ExportState, RegionFailure> {
        self.statuses.borrow_mut().pop_front().expect("an unexpected status request")
    }

    fn download(&self, _url: &str, into: &Path, max_bytes: u64) -> Result<(), RegionFailure> {
        *self.downloads.borrow_mut() += 1;
        let zip = self.zip.borrow();
        if zip.len() as u64 > max_bytes {
            return Err(RegionFailure { retryable: false, code: None, text: "too large".to_owned() });
        }
        std::fs::write(into, &*zip).unwrap();
        Ok(())
    }
}

/// A paSendRTV2 request as a regional mypay keeps it (the whole SOAP envelope): `cents` paid to the
/// kit's org for `debt`'s IUV (or `iuv`), with receipt id `id`.
pub fn rt_envelope(iuv: &str, id: &str, cents: i64) -> String {
    let amount = format!("{}.{:02}", cents / 100, cents % 100);
    let notice = crate::domain::Iuv::parse(iuv).ok().and_then(|i| i.notice_number(None)).map(|n| n.to_string());
    format!(
        "<soapenv:Envelope xmlns:soapenv=\"http://schemas.xmlsoap.org/soap/envelope/\" \
         xmlns:paf=\"http://pagopa-api.pagopa.gov.it/pa/paForNode.xsd\"><soapenv:Body><paf:paSendRTV2Request>\
         <idPA>{FISCAL_CODE}</idPA><idBrokerPA>80050050154</idBrokerPA><idStation>80050050154_01</idStation>\
         <receipt><receiptId>{id}</receiptId><noticeNumber>{}</noticeNumber><fiscalCode>{FISCAL_CODE}</fiscalCode>\
         <outcome>OK</outcome><creditorReferenceId>{iuv}</creditorReferenceId><paymentAmount>{amount}</paymentAmount>\
         <description>TARI 2026</description><companyName>Comune di Prova</companyName>\
         <debtor><uniqueIdentifier><entityUniqueIdentifierType>F</entityUniqueIdentifierType>\
         <entityUniqueIdentifierValue>RSSMRA85T10A562S</entityUniqueIdentifierValue></uniqueIdentifier>\
         <fullName>Mario Rossi</fullName></debtor><transferList><transfer><idTransfer>1</idTransfer>\
         <transferAmount>{amount}</transferAmount><fiscalCodePA>{FISCAL_CODE}</fiscalCodePA>\
         <IBAN>IT60X0542811101000000123456</IBAN><remittanceInformation>TARI 2026</remittanceInformation>\
         <transferCategory>0101002IM</transferCategory></transfer></transferList><idPSP>BCITITMM</idPSP>\
         <PSPCompanyName>Intesa</PSPCompanyName><idChannel>00799960158_01</idChannel>\
         <channelDescription>app</channelDescription><paymentDateTime>2026-12-06T18:30:00</paymentDateTime>\
         </receipt></paf:paSendRTV2Request></soapenv:Body></soapenv:Envelope>",
        notice.unwrap_or_default()
    )
}

/// The `receipt` element of an envelope alone, as MyPay keeps a receipt.
pub fn bare_receipt(envelope: &str) -> String {
    let start = envelope.find("<receipt>").unwrap();
    let end = envelope.find("</receipt>").unwrap() + "</receipt>".len();
    envelope[start..end].to_owned()
}

/// The Region's account of a payment of `cents` for `debt`, with `rt` as its receipt.
pub fn payment(debt: &DebtRecord, iuv: &str, id: &str, cents: i64, rt: &[u8]) -> RegionPayment {
    RegionPayment {
        iuv: iuv.to_owned(),
        lines: vec![super::outcomes::PaidLine {
            iud: debt.iud.clone(),
            amount: crate::domain::Cents::new(cents),
            index: Some(1),
            causale: debt.causale.clone(),
            collection_data: debt.collection_data.clone(),
        }],
        outcome_code: "0".to_owned(),
        total_paid: crate::domain::Cents::new(cents),
        receipt_id: id.to_owned(),
        paid_at: Some("2026-12-06T18:30:00".to_owned()),
        debtor: Some(debt.debtor.clone()),
        payer: None,
        psp_id: "BCITITMM".to_owned(),
        psp_name: "Intesa".to_owned(),
        rt: rt.to_vec(),
        document: "<Pagati/>".to_owned(),
    }
}

/// An export ZIP (layout 1.1 with the receipt) of rows given as (column, value) pairs; `tail` is
/// appended to the CSV as is (a broken row).
pub fn export_zip(rows: &[Vec<(&str, String)>], tail: &str) -> Vec<u8> {
    let columns = header(Version::V1_1, true);
    let mut csv = QuotedCsv::new(Vec::new());
    csv.row(columns.iter().copied()).unwrap();
    for values in rows {
        let fields: Vec<&str> =
            columns.iter().map(|c| values.iter().find(|(n, _)| n == c).map_or("", |(_, v)| v.as_str())).collect();
        csv.row(fields).unwrap();
    }
    let mut bytes = csv.into_inner();
    bytes.extend_from_slice(tail.as_bytes());
    let mut out = std::io::Cursor::new(Vec::new());
    let mut zip = zip::ZipWriter::new(&mut out);
    zip.start_file("c_prova-9_ESTRAZIONE_DOVUTI_20261207100000-1_1.csv", zip::write::SimpleFileOptions::default())
        .unwrap();
    zip.write_all(&bytes).unwrap();
    zip.finish().unwrap();
    out.into_inner()
}

/// One export row of a receipt of `cents` for `debt` (IUV `iuv`), with `rt` in base64.
pub fn export_row(debt: &DebtRecord, iuv: &str, id: &str, cents: i64, rt: &[u8]) -> Vec<(&'static str, String)> {
    let amount = format!("{}.{:02}", cents / 100, cents % 100);
    vec![
        ("codIud", debt.iud.clone()),
        ("codIuv", iuv.to_owned()),
        ("identificativoDominio", FISCAL_CODE.to_owned()),
        ("identificativoMessaggioRicevuta", id.to_owned()),
        ("dataOraMessaggioRicevuta", "2026-12-06T18:30:00".to_owned()),
        ("soggPagCodiceIdentificativoUnivoco", debt.debtor.id.clone()),
        ("codiceEsitoPagamento", "0".to_owned()),
        ("importoTotalePagato", amount.clone()),
        ("singoloImportoPagato", amount),
        ("esitoSingoloPagamento", "ESEGUITO".to_owned()),
        ("dataEsitoSingoloPagamento", "2026-12-06".to_owned()),
        ("identificativoUnivocoRiscoss", id.to_owned()),
        ("causaleVersamento", debt.causale.clone()),
        ("datiSpecificiRiscossione", debt.collection_data.clone()),
        ("tipoDovuto", "TARI".to_owned()),
        ("rt", base64::engine::general_purpose::STANDARD.encode(rt)),
        ("indiceDatiSingoloPagamento", "1".to_owned()),
    ]
}
