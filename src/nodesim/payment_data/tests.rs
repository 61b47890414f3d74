//! The Node's reading of station answers: valid payloads, missing fields, and the semantic checks.

use super::*;
use crate::soap;

const NS: &str = "http://pagopa-api.pagopa.gov.it/pa/paForNode.xsd";

fn payload(xml: &str) -> Element {
    soap::parse_envelope(soap::envelope("paf", NS, xml).as_bytes()).unwrap()
}

fn verify_xml(extra: &str) -> String {
    format!(
        "<paf:paVerifyPaymentNoticeRes><outcome>OK</outcome><paymentList><paymentOptionDescription>\
         <amount>30.00</amount><options>EQ</options><dueDate>2026-12-31</dueDate><allCCP>false</allCCP>\
         </paymentOptionDescription></paymentList><paymentDescription>TARI</paymentDescription>\
         <fiscalCodePA>01234567897</fiscalCodePA>{extra}</paf:paVerifyPaymentNoticeRes>"
    )
}

#[test]
fn verify_needs_company_name() {
    let ok = parse_verify(&payload(&verify_xml("<companyName>Comune</companyName>"))).unwrap();
    assert_eq!(ok.amount, Cents::new(3000));
    assert!(!ok.all_ccp);
    let err = parse_verify(&payload(&verify_xml(""))).unwrap_err();
    assert!(err.contains("companyName"), "{err}");
}

fn transfer(id: u8, amount: &str, target: &str) -> String {
    format!(
        "<transfer><idTransfer>{id}</idTransfer><transferAmount>{amount}</transferAmount>\
         <fiscalCodePA>01234567897</fiscalCodePA>{target}<remittanceInformation>TARI</remittanceInformation>\
         <transferCategory>0101002IM</transferCategory></transfer>"
    )
}

const IBAN: &str = "<IBAN>IT60X0542811101000000123456</IBAN>";

fn payment_xml(amount: &str, transfers: &str) -> String {
    format!(
        "<paf:paGetPaymentV2Response><outcome>OK</outcome><data>\
         <creditorReferenceId>01000000000000144</creditorReferenceId><paymentAmount>{amount}</paymentAmount>\
         <dueDate>2026-12-31</dueDate><description>TARI 2026</description><companyName>Comune</companyName>\
         <debtor><uniqueIdentifier><entityUniqueIdentifierType>F</entityUniqueIdentifierType>\
         <entityUniqueIdentifierValue>RSSMRA80A01H501U</entityUniqueIdentifierValue></uniqueIdentifier>\
         <fullName>Mario Rossi</fullName><e-mail>mario@example.it</e-mail></debtor>\
         <transferList>{transfers}</transferList>\
         <metadata><mapEntry><key>a</key><value>b</value></mapEntry></metadata></data></paf:paGetPaymentV2Response>"
    )
}

fn parsed(amount: &str, transfers: &str) -> PaymentData {
    parse_payment(&payload(&payment_xml(amount, transfers)), PrimitiveVersion::V2).unwrap()
}

#[test]
fn a_valid_payment_passes_the_checks() {
    let data = parsed("30.00", &(transfer(1, "20.00", IBAN) + &transfer(2, "10.00", IBAN)));
    assert_eq!(data.transfers.len(), 2);
    assert_eq!(data.debtor.email.as_deref(), Some("mario@example.it"));
    assert_eq!(data.metadata, vec![("a".to_owned(), "b".to_owned())]);
    assert_eq!(check_payment(&data, "301000000000000144", Cents::new(3000), &[]), Ok(()));
}

#[test]
fn the_sum_of_transfers_must_match() {
    let data = parsed("30.00", &transfer(1, "29.99", IBAN));
    let err = check_payment(&data, "301000000000000144", Cents::new(3000), &[]).unwrap_err();
    assert!(matches!(&err, CheckError::Invalid(r) if r.contains("sum of the transfers 29.99")), "{err:?}");
}

#[test]
fn transfers_are_numbered_from_one() {
    let data = parsed("30.00", &transfer(2, "30.00", IBAN));
    assert!(matches!(check_payment(&data, "301000000000000144", Cents::new(3000), &[]), Err(CheckError::Invalid(_))));
    let six = (1..=6).map(|i| transfer(i.min(5), "5.00", IBAN)).collect::<String>();
    assert!(parse_payment(&payload(&payment_xml("30.00", &six)), PrimitiveVersion::V2).is_ok());
    let data = parsed("30.00", &six);
    assert!(
        matches!(check_payment(&data, "301000000000000144", Cents::new(3000), &[]), Err(CheckError::Invalid(r)) if r.contains("6 transfers"))
    );
}

#[test]
fn ibans_are_checked_and_looked_up() {
    let data = parsed("30.00", &transfer(1, "30.00", "<IBAN>IT60X0542811101000000123457</IBAN>"));
    assert!(matches!(check_payment(&data, "301000000000000144", Cents::new(3000), &[]), Err(CheckError::Invalid(_))));
    let data = parsed("30.00", &transfer(1, "30.00", IBAN));
    let registry = vec![("01234567897".to_owned(), "IT02A0301503200000003517230".to_owned())];
    assert!(matches!(
        check_payment(&data, "301000000000000144", Cents::new(3000), &registry),
        Err(CheckError::IbanNotRegistered(_))
    ));
    let registry = vec![("01234567897".to_owned(), "IT60X0542811101000000123456".to_owned())];
    assert_eq!(check_payment(&data, "301000000000000144", Cents::new(3000), &registry), Ok(()));
}

#[test]
fn the_iuv_and_the_amount_must_match_the_notice() {
    let data = parsed("30.00", &transfer(1, "30.00", IBAN));
    assert!(
        matches!(check_payment(&data, "302000000000000144", Cents::new(3000), &[]), Err(CheckError::Invalid(r)) if r.contains("creditorReferenceId"))
    );
    assert!(
        matches!(check_payment(&data, "301000000000000144", Cents::new(3001), &[]), Err(CheckError::Invalid(r)) if r.contains("amount shown"))
    );
    assert_eq!(iuv_of("301000000000000144"), "01000000000000144");
    assert_eq!(iuv_of("001000000000000144"), "000000000000144");
}

#[test]
fn stamps_only_in_v2() {
    let stamp = "<richiestaMarcaDaBollo><hashDocumento>aGFzaA==</hashDocumento><tipoBollo>01</tipoBollo>\
                 <provinciaResidenza>RM</provinciaResidenza></richiestaMarcaDaBollo>";
    let data = parsed("16.00", &transfer(1, "16.00", stamp));
    assert!(matches!(&data.transfers[0].target, TransferTarget::Stamp { province, .. } if province == "RM"));
    let v1 = payment_xml("16.00", &transfer(1, "16.00", stamp)).replace("paGetPaymentV2Response", "paGetPaymentRes");
    assert!(parse_payment(&payload(&v1), PrimitiveVersion::V1).unwrap_err().contains("V1"));
}

#[test]
fn missing_and_malformed_fields_are_named() {
    let no_debtor = payment_xml("30.00", &transfer(1, "30.00", IBAN)).replace("<fullName>Mario Rossi</fullName>", "");
    assert!(parse_payment(&payload(&no_debtor), PrimitiveVersion::V2).unwrap_err().contains("fullName"));
    let bad_amount = payment_xml("30", &transfer(1, "30.00", IBAN));
    assert!(parse_payment(&payload(&bad_amount), PrimitiveVersion::V2).unwrap_err().contains("paymentAmount"));
    let bad_id = payment_xml("30.00", &transfer(1, "30.00", IBAN)).replace("<idTransfer>1<", "<idTransfer>7<");
    assert!(parse_payment(&payload(&bad_id), PrimitiveVersion::V2).unwrap_err().contains("idTransfer"));
    let no_company = payment_xml("30.00", &transfer(1, "30.00", IBAN)).replace("<companyName>Comune</companyName>", "");
    assert!(parse_payment(&payload(&no_company), PrimitiveVersion::V2).is_err());
    assert!(parse_payment(&payload(&no_company), PrimitiveVersion::V1).is_ok());
}

#[test]
fn demand_answers_carry_the_new_notice() {
    let xml = verify_xml("<companyName>Comune</companyName>")
        .replace("<outcome>OK</outcome>", "<outcome>OK</outcome><qrCode><fiscalCode>01234567897</fiscalCode><noticeNumber>301000000000000144</noticeNumber></qrCode>");
    let demand = parse_demand(&payload(&xml)).unwrap();
    assert_eq!(demand.notice_number, "301000000000000144");
    assert!(parse_demand(&payload(&verify_xml("<companyName>C</companyName>"))).unwrap_err().contains("qrCode"));
}
