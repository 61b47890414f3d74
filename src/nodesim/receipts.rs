//! The receipt the Node builds once a PSP has collected the money (ctReceipt / ctReceiptV2,
//! pagopa.md §1.6): what the station said at activation, plus the PSP, the payment instant and the
//! token as receiptId. Written in the XSD's element order.

use base64::Engine as _;
use jiff::Timestamp;
use jiff::civil::Date;

use super::config::{PrimitiveVersion, Psp};
use super::payment_data::{Metadata, PaymentData, Subject, Transfer, TransferTarget, VerifyInfo, write_metadata};
use crate::clock;
use crate::domain::Cents;
use crate::soap::XmlWriter;

/// An executed payment of one notice, as the Node reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    /// The payment token (32 hex digits).
    pub receipt_id: String,
    pub notice_number: String,
    pub fiscal_code: String,
    pub creditor_reference_id: String,
    pub payment_amount: Cents,
    pub description: String,
    pub company_name: String,
    pub office_name: Option<String>,
    pub debtor: Subject,
    pub transfers: Vec<Transfer>,
    pub psp: Psp,
    pub payer: Subject,
    /// The cart's idCart (V2 only).
    pub payment_note: Option<String>,
    pub paid_at: Timestamp,
    /// The PSP's operating day (Europe/Rome).
    pub application_date: Date,
    /// The day the PSP credits the org (the next day), also the FdR settlement date.
    pub transfer_date: Date,
    pub metadata: Metadata,
}

impl Receipt {
    /// Builds the receipt of an activation paid through `psp` at `paid_at`.
    pub fn build(
        token: &str,
        notice: (&str, &str),
        verify: &VerifyInfo,
        data: &PaymentData,
        psp: &Psp,
        payment_note: Option<&str>,
        paid_at: Timestamp,
    ) -> Receipt {
        let application_date = clock::today_rome(paid_at);
        let (fiscal_code, notice_number) = notice;
        Receipt {
            receipt_id: token.to_owned(),
            notice_number: notice_number.to_owned(),
            fiscal_code: fiscal_code.to_owned(),
            creditor_reference_id: data.creditor_reference_id.clone(),
            payment_amount: data.amount,
            description: data.description.clone(),
            company_name: data.company_name.clone().unwrap_or_else(|| verify.company_name.clone()),
            office_name: data.office_name.clone().or_else(|| verify.office_name.clone()),
            debtor: data.debtor.clone(),
            transfers: data.transfers.clone(),
            psp: psp.clone(),
            // The payer at the PSP is, in this simulation, the debtor who got the notice.
            payer: data.debtor.clone(),
            payment_note: payment_note.map(str::to_owned),
            paid_at,
            application_date,
            transfer_date: application_date.tomorrow().unwrap_or(application_date),
            metadata: data.metadata.clone(),
        }
    }

    /// The payment instant in Europe/Rome civil time without offset, as the Node writes it.
    pub fn payment_date_time(&self) -> String {
        self.paid_at.to_zoned(clock::rome()).strftime("%Y-%m-%dT%H:%M:%S").to_string()
    }

    /// The `<receipt>` element for paSendRT (V1) or paSendRTV2 (V2).
    pub fn to_xml(&self, version: PrimitiveVersion) -> String {
        let mut w = XmlWriter::new();
        w.open("receipt")
            .leaf("receiptId", &self.receipt_id)
            .leaf("noticeNumber", &self.notice_number)
            .leaf("fiscalCode", &self.fiscal_code)
            .leaf("outcome", "OK")
            .leaf("creditorReferenceId", &self.creditor_reference_id)
            .leaf("paymentAmount", &self.payment_amount.to_decimal_string())
            .leaf("description", &self.description)
            .leaf("companyName", &self.company_name)
            .leaf_opt("officeName", self.office_name.as_deref());
        self.debtor.write(&mut w, "debtor");
        w.open("transferList");
        for transfer in &self.transfers {
            self.write_transfer(&mut w, transfer, version);
        }
        w.close("transferList")
            .leaf("idPSP", &self.psp.id)
            .leaf("pspFiscalCode", &self.psp.fiscal_code)
            .leaf("PSPCompanyName", &self.psp.name)
            .leaf("idChannel", &self.psp.channel_id)
            .leaf("channelDescription", &self.psp.channel_description);
        self.payer.write(&mut w, "payer");
        w.leaf("paymentMethod", "creditCard");
        if version == PrimitiveVersion::V2 {
            w.leaf_opt("paymentNote", self.payment_note.as_deref());
        }
        w.leaf("fee", &self.psp.fee.to_decimal_string())
            .leaf("paymentDateTime", &self.payment_date_time())
            .leaf("applicationDate", &self.application_date.to_string())
            .leaf("transferDate", &self.transfer_date.to_string());
        write_metadata(&mut w, &self.metadata);
        w.leaf("standIn", "false").close("receipt");
        w.finish()
    }

    fn write_transfer(&self, w: &mut XmlWriter, transfer: &Transfer, version: PrimitiveVersion) {
        w.open("transfer")
            .leaf("idTransfer", &transfer.id.to_string())
            .leaf("transferAmount", &transfer.amount.to_decimal_string())
            .leaf("fiscalCodePA", &transfer.fiscal_code_pa);
        if version == PrimitiveVersion::V2 {
            w.leaf_opt("companyName", transfer.company_name.as_deref());
        }
        match &transfer.target {
            TransferTarget::Iban(iban) => {
                w.leaf("IBAN", iban);
            }
            TransferTarget::Stamp { hash, .. } => {
                w.leaf("MBDAttachment", &self.stamp_attachment(transfer, hash));
            }
        }
        w.leaf("remittanceInformation", &transfer.remittance).leaf("transferCategory", &transfer.category);
        write_metadata(w, &transfer.metadata);
        w.close("transfer");
    }

    /// A placeholder of the marca da bollo document the PSP would buy (MarcaDaBollo.xsd shape,
    /// unsigned: the simulator has no Agenzia delle Entrate key), base64-encoded.
    fn stamp_attachment(&self, transfer: &Transfer, hash: &str) -> String {
        let mut w = XmlWriter::new();
        w.raw("<?xml version=\"1.0\" encoding=\"UTF-8\"?>")
            .open_with("marcaDaBollo", &[("xmlns", "http://www.agenziaentrate.gov.it/2014/MarcaDaBollo")])
            .open("PSP")
            .leaf("CodiceFiscale", &self.psp.fiscal_code)
            .leaf("Denominazione", &self.psp.name)
            .close("PSP")
            .leaf("IUBD", &format!("SIM{}{}", self.receipt_id.get(..20).unwrap_or(&self.receipt_id), transfer.id))
            .leaf("OraAcquisto", &self.payment_date_time())
            .leaf("Importo", &transfer.amount.to_decimal_string())
            .leaf("TipoBollo", "01")
            .open("ImprontaDocumento")
            .open_with("DigestMethod", &[("Algorithm", "http://www.w3.org/2001/04/xmlenc#sha256")])
            .close("DigestMethod")
            .leaf("DigestValue", hash)
            .close("ImprontaDocumento")
            .close("marcaDaBollo");
        base64::engine::general_purpose::STANDARD.encode(w.finish())
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::nodesim::config::default_psps;
    use crate::soap;

    fn subject() -> Subject {
        Subject {
            kind: "F".to_owned(),
            value: "RSSMRA80A01H501U".to_owned(),
            full_name: "Mario Rossi".to_owned(),
            street_name: None,
            civic_number: None,
            postal_code: None,
            city: Some("Roma".to_owned()),
            state_province_region: None,
            country: Some("IT".to_owned()),
            email: None,
        }
    }

    pub fn sample(version_stamp: bool) -> Receipt {
        let transfer = |id: u8, target: TransferTarget| Transfer {
            id,
            amount: Cents::new(1500),
            fiscal_code_pa: "01234567897".to_owned(),
            company_name: None,
            target,
            remittance: "TARI".to_owned(),
            category: "0101002IM".to_owned(),
            metadata: vec![("k".to_owned(), "v".to_owned())],
        };
        let second = if version_stamp {
            TransferTarget::Stamp { hash: "aGFzaA==".to_owned(), kind: "01".to_owned(), province: "RM".to_owned() }
        } else {
            TransferTarget::Iban("IT60X0542811101000000123456".to_owned())
        };
        let data = PaymentData {
            creditor_reference_id: "01000000000000144".to_owned(),
            amount: Cents::new(3000),
            due_date: "2026-12-31".to_owned(),
            description: "TARI 2026".to_owned(),
            company_name: None,
            office_name: None,
            debtor: subject(),
            transfers: vec![
                transfer(1, TransferTarget::Iban("IT60X0542811101000000123456".to_owned())),
                transfer(2, second),
            ],
            metadata: Vec::new(),
        };
        let verify = VerifyInfo {
            amount: Cents::new(3000),
            all_ccp: false,
            description: "TARI".to_owned(),
            fiscal_code_pa: "01234567897".to_owned(),
            company_name: "Comune di Prova".to_owned(),
            office_name: None,
        };
        let psp = default_psps().remove(0);
        let paid_at: Timestamp = "2026-11-30T09:15:00Z".parse().unwrap();
        Receipt::build(
            "0123456789abcdef0123456789abcdef",
            ("01234567897", "301000000000000144"),
            &verify,
            &data,
            &psp,
            Some("cart-1"),
            paid_at,
        )
    }

    #[test]
    fn dates_are_rome_local_without_offset() {
        let receipt = sample(false);
        assert_eq!(receipt.payment_date_time(), "2026-11-30T10:15:00");
        assert_eq!(receipt.application_date.to_string(), "2026-11-30");
        assert_eq!(receipt.transfer_date.to_string(), "2026-12-01");
        assert_eq!(receipt.company_name, "Comune di Prova");
    }

    #[test]
    fn v1_and_v2_differ_only_where_the_xsd_does() {
        let receipt = sample(false);
        let v1 = receipt.to_xml(PrimitiveVersion::V1);
        assert!(!v1.contains("paymentNote"), "{v1}");
        let v2 = receipt.to_xml(PrimitiveVersion::V2);
        assert!(
            v2.contains("<paymentMethod>creditCard</paymentMethod><paymentNote>cart-1</paymentNote><fee>1.00</fee>"),
            "{v2}"
        );
        let parsed = soap::parse_document(v2.as_bytes()).unwrap();
        let names: Vec<&str> = parsed.children.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "receiptId",
                "noticeNumber",
                "fiscalCode",
                "outcome",
                "creditorReferenceId",
                "paymentAmount",
                "description",
                "companyName",
                "debtor",
                "transferList",
                "idPSP",
                "pspFiscalCode",
                "PSPCompanyName",
                "idChannel",
                "channelDescription",
                "payer",
                "paymentMethod",
                "paymentNote",
                "fee",
                "paymentDateTime",
                "applicationDate",
                "transferDate",
                "standIn"
            ]
        );
    }

    #[test]
    fn a_stamp_becomes_an_attachment() {
        let xml = sample(true).to_xml(PrimitiveVersion::V2);
        let parsed = soap::parse_document(xml.as_bytes()).unwrap();
        let second = parsed.path(&["transferList"]).unwrap().children.get(1).unwrap();
        let attachment = second.child_text("MBDAttachment").unwrap();
        let decoded = base64::engine::general_purpose::STANDARD.decode(attachment).unwrap();
        let doc = soap::parse_document(&decoded).unwrap();
        assert_eq!(doc.name, "marcaDaBollo");
        assert_eq!(doc.path_text(&["ImprontaDocumento", "DigestValue"]), Some("aGFzaA=="));
        assert!(second.child("IBAN").is_none());
    }
}
