//! The station's answers as the Node reads them: the payloads of paVerifyPaymentNotice,
//! paGetPayment(V2) and paDemandPaymentNotice turned into typed values, with the checks the Node
//! applies before it lets a payment go on (pagopa.md §1.4, §1.5, §1.7, §7.4 item 2).
//!
//! The checks are written in Rust, not delegated to an XSD validator, so the simulator needs
//! nothing installed at run time. A failure is a reason in English; the caller turns it into
//! `PPT_STAZIONE_INT_PA_ERRORE_RESPONSE` (or `PPT_IBAN_NON_CENSITO`).

use super::config::PrimitiveVersion;
use crate::domain::{Cents, Iban};
use crate::soap::{Element, XmlWriter};

/// A debtor or payer (ctSubject).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subject {
    /// `F` (natural person) or `G` (legal person).
    pub kind: String,
    /// Fiscal code, VAT number or `ANONIMO`.
    pub value: String,
    pub full_name: String,
    pub street_name: Option<String>,
    pub civic_number: Option<String>,
    pub postal_code: Option<String>,
    pub city: Option<String>,
    pub state_province_region: Option<String>,
    pub country: Option<String>,
    pub email: Option<String>,
}

impl Subject {
    fn parse(el: &Element) -> Result<Subject, String> {
        let id = el.child("uniqueIdentifier").ok_or_else(|| format!("{}: uniqueIdentifier is missing", el.name))?;
        let kind = text(id, "entityUniqueIdentifierType", 1)?;
        if kind != "F" && kind != "G" {
            return Err(format!("{}: entityUniqueIdentifierType {kind:?} is neither F nor G", el.name));
        }
        let value = text(id, "entityUniqueIdentifierValue", 16)?;
        if value.chars().count() < 2 {
            return Err(format!("{}: entityUniqueIdentifierValue {value:?} is shorter than 2", el.name));
        }
        let country = opt_text(el, "country", 2)?;
        if country.as_deref().is_some_and(|c| c.len() != 2 || !c.bytes().all(|b| b.is_ascii_uppercase())) {
            return Err(format!("{}: country must be 2 capital letters", el.name));
        }
        Ok(Subject {
            kind,
            value,
            full_name: text(el, "fullName", 70)?,
            street_name: opt_text(el, "streetName", 70)?,
            civic_number: opt_text(el, "civicNumber", 16)?,
            postal_code: opt_text(el, "postalCode", 16)?,
            city: opt_text(el, "city", 35)?,
            state_province_region: opt_text(el, "stateProvinceRegion", 35)?,
            country,
            email: opt_text(el, "e-mail", 256)?,
        })
    }

    /// Writes `<tag>` in ctSubject's element order.
    pub fn write(&self, w: &mut XmlWriter, tag: &str) {
        w.open(tag)
            .open("uniqueIdentifier")
            .leaf("entityUniqueIdentifierType", &self.kind)
            .leaf("entityUniqueIdentifierValue", &self.value)
            .close("uniqueIdentifier")
            .leaf("fullName", &self.full_name)
            .leaf_opt("streetName", self.street_name.as_deref())
            .leaf_opt("civicNumber", self.civic_number.as_deref())
            .leaf_opt("postalCode", self.postal_code.as_deref())
            .leaf_opt("city", self.city.as_deref())
            .leaf_opt("stateProvinceRegion", self.state_province_region.as_deref())
            .leaf_opt("country", self.country.as_deref())
            .leaf_opt("e-mail", self.email.as_deref())
            .close(tag);
    }
}

/// ctMetadata: 1 to 15 (key, value) pairs; empty means "no metadata element".
pub type Metadata = Vec<(String, String)>;

/// Writes `<metadata>` when there is any.
pub fn write_metadata(w: &mut XmlWriter, metadata: &Metadata) {
    if metadata.is_empty() {
        return;
    }
    w.open("metadata");
    for (key, value) in metadata {
        w.open("mapEntry").leaf("key", key).leaf("value", value).close("mapEntry");
    }
    w.close("metadata");
}

/// The payment option a verify (or demand) answer describes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyInfo {
    pub amount: Cents,
    pub all_ccp: bool,
    pub description: String,
    pub fiscal_code_pa: String,
    pub company_name: String,
    pub office_name: Option<String>,
}

/// Reads the OK payload of paVerifyPaymentNoticeRes (or the same fields of a demand answer):
/// paymentList with one option, paymentDescription, fiscalCodePA and companyName are required.
pub fn parse_verify(res: &Element) -> Result<VerifyInfo, String> {
    let option = res
        .path(&["paymentList", "paymentOptionDescription"])
        .ok_or_else(|| "paymentList/paymentOptionDescription is missing".to_owned())?;
    if res.child("paymentList").is_some_and(|list| list.children.len() != 1) {
        return Err("paymentList must hold exactly one paymentOptionDescription".to_owned());
    }
    let options = text(option, "options", 3)?;
    if !matches!(options.as_str(), "EQ" | "LS" | "GT" | "ANY") {
        return Err(format!("options {options:?} is not EQ, LS, GT or ANY"));
    }
    if let Some(due) = opt_text(option, "dueDate", 10)? {
        date(&due, "dueDate")?;
    }
    opt_text(option, "detailDescription", 140)?;
    Ok(VerifyInfo {
        amount: amount_not_zero(option, "amount")?,
        all_ccp: boolean(option, "allCCP")?,
        description: text(res, "paymentDescription", 140)?,
        fiscal_code_pa: fiscal_code_pa(res, "fiscalCodePA")?,
        company_name: text(res, "companyName", 140)?,
        office_name: opt_text(res, "officeName", 140)?,
    })
}

/// The notice a paDemandPaymentNotice answer created, with its option.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemandInfo {
    pub fiscal_code: String,
    pub notice_number: String,
    pub option: VerifyInfo,
}

/// Reads the OK payload of paDemandPaymentNoticeResponse: qrCode plus the verify fields.
pub fn parse_demand(res: &Element) -> Result<DemandInfo, String> {
    let qr = res.child("qrCode").ok_or_else(|| "qrCode is missing".to_owned())?;
    let notice_number = text(qr, "noticeNumber", 18)?;
    if notice_number.len() != 18 || !notice_number.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("qrCode/noticeNumber {notice_number:?} is not 18 digits"));
    }
    Ok(DemandInfo { fiscal_code: fiscal_code_pa(qr, "fiscalCode")?, notice_number, option: parse_verify(res)? })
}

/// Where a transfer's money goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransferTarget {
    Iban(String),
    /// A digital revenue stamp (V2 only): the PSP sells a marca da bollo instead of crediting.
    Stamp {
        hash: String,
        kind: String,
        province: String,
    },
}

/// One transfer of a payment (ctTransferPA / ctTransferPAV2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transfer {
    pub id: u8,
    pub amount: Cents,
    pub fiscal_code_pa: String,
    pub company_name: Option<String>,
    pub target: TransferTarget,
    pub remittance: String,
    pub category: String,
    pub metadata: Metadata,
}

/// The `data` of a paGetPayment(V2) answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentData {
    pub creditor_reference_id: String,
    pub amount: Cents,
    pub due_date: String,
    pub description: String,
    /// Mandatory in V2, optional in V1 (the receipt then takes the verify one).
    pub company_name: Option<String>,
    pub office_name: Option<String>,
    pub debtor: Subject,
    pub transfers: Vec<Transfer>,
    pub metadata: Metadata,
}

/// Reads the OK payload of paGetPaymentRes / paGetPaymentV2Response.
pub fn parse_payment(res: &Element, version: PrimitiveVersion) -> Result<PaymentData, String> {
    let data = res.child("data").ok_or_else(|| "data is missing".to_owned())?;
    let due_date = text(data, "dueDate", 10)?;
    date(&due_date, "dueDate")?;
    if let Some(last) = data.child("lastPayment") {
        parse_bool(&last.text, "lastPayment")?;
    }
    let company_name = match version {
        PrimitiveVersion::V1 => opt_text(data, "companyName", 140)?,
        PrimitiveVersion::V2 => Some(text(data, "companyName", 140)?),
    };
    let debtor = Subject::parse(data.child("debtor").ok_or_else(|| "debtor is missing".to_owned())?)?;
    let list = data.child("transferList").ok_or_else(|| "transferList is missing".to_owned())?;
    let transfers =
        list.children_named("transfer").map(|t| parse_transfer(t, version)).collect::<Result<Vec<_>, _>>()?;
    Ok(PaymentData {
        creditor_reference_id: text(data, "creditorReferenceId", 35)?,
        amount: amount_not_zero(data, "paymentAmount")?,
        due_date,
        description: text(data, "description", 140)?,
        company_name,
        office_name: opt_text(data, "officeName", 140)?,
        debtor,
        transfers,
        metadata: metadata(data)?,
    })
}

fn parse_transfer(el: &Element, version: PrimitiveVersion) -> Result<Transfer, String> {
    let id_text = text(el, "idTransfer", 1)?;
    let id = match id_text.as_str() {
        "1" => 1,
        "2" => 2,
        "3" => 3,
        "4" => 4,
        "5" => 5,
        other => return Err(format!("idTransfer {other:?} is not 1 to 5")),
    };
    let stamp = el.child("richiestaMarcaDaBollo");
    let target = match (el.child("IBAN"), stamp, version) {
        (Some(_), None, _) => TransferTarget::Iban(text(el, "IBAN", 35)?),
        (None, Some(stamp), PrimitiveVersion::V2) => {
            let hash = text(stamp, "hashDocumento", 72)?;
            if hash.len() < 4 {
                return Err("richiestaMarcaDaBollo/hashDocumento is shorter than 4".to_owned());
            }
            let kind = text(stamp, "tipoBollo", 2)?;
            if kind != "01" {
                return Err(format!("richiestaMarcaDaBollo/tipoBollo {kind:?} is not 01"));
            }
            let province = text(stamp, "provinciaResidenza", 2)?;
            if province.len() != 2 || !province.bytes().all(|b| b.is_ascii_uppercase()) {
                return Err(format!("richiestaMarcaDaBollo/provinciaResidenza {province:?} is not 2 capital letters"));
            }
            TransferTarget::Stamp { hash, kind, province }
        }
        (None, Some(_), PrimitiveVersion::V1) => {
            return Err(format!("transfer {id}: richiestaMarcaDaBollo is not allowed in paGetPayment V1"));
        }
        _ => return Err(format!("transfer {id}: exactly one of IBAN and richiestaMarcaDaBollo is required")),
    };
    let company_name = match version {
        PrimitiveVersion::V1 if el.child("companyName").is_some() => {
            return Err(format!("transfer {id}: companyName is not allowed in paGetPayment V1"));
        }
        PrimitiveVersion::V1 => None,
        PrimitiveVersion::V2 => opt_text(el, "companyName", 140)?,
    };
    Ok(Transfer {
        id,
        amount: amount_not_zero(el, "transferAmount")?,
        fiscal_code_pa: fiscal_code_pa(el, "fiscalCodePA")?,
        company_name,
        target,
        remittance: text(el, "remittanceInformation", 140)?,
        category: text(el, "transferCategory", 140)?,
        metadata: metadata(el)?,
    })
}

/// Why the Node refuses a getPayment answer that parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckError {
    /// PPT_STAZIONE_INT_PA_ERRORE_RESPONSE.
    Invalid(String),
    /// PPT_IBAN_NON_CENSITO.
    IbanNotRegistered(String),
}

/// The Node's semantic checks on an activation (pagopa.md §1.5 "Node semantic checks"):
/// Σ transferAmount == paymentAmount, 1..5 transfers numbered 1..n, valid IBANs registered for
/// their org (when a registry is configured), the IUV consistent with the notice number and the
/// amount the payer was shown.
pub fn check_payment(
    data: &PaymentData,
    notice_number: &str,
    expected: Cents,
    iban_registry: &[(String, String)],
) -> Result<(), CheckError> {
    let invalid = |reason: String| Err(CheckError::Invalid(reason));
    if data.transfers.is_empty() || data.transfers.len() > 5 {
        return invalid(format!("{} transfers; 1 to 5 are allowed", data.transfers.len()));
    }
    for (idx, transfer) in data.transfers.iter().enumerate() {
        if usize::from(transfer.id) != idx + 1 {
            return invalid(format!("transfer number {} has idTransfer {}", idx + 1, transfer.id));
        }
    }
    let sum = data.transfers.iter().try_fold(Cents::ZERO, |acc, t| acc.checked_add(t.amount));
    if sum != Some(data.amount) {
        let shown = sum.map_or_else(|| "overflow".to_owned(), Cents::to_decimal_string);
        return invalid(format!(
            "paymentAmount {} differs from the sum of the transfers {shown}",
            data.amount.to_decimal_string()
        ));
    }
    for transfer in &data.transfers {
        let TransferTarget::Iban(iban) = &transfer.target else { continue };
        let parsed = match Iban::parse(iban) {
            Ok(parsed) => parsed,
            Err(err) => return invalid(format!("transfer {}: {err}", transfer.id)),
        };
        let registered = iban_registry
            .iter()
            .any(|(org, known)| *org == transfer.fiscal_code_pa && known.eq_ignore_ascii_case(parsed.as_str()));
        if !iban_registry.is_empty() && !registered {
            return Err(CheckError::IbanNotRegistered(format!(
                "transfer {}: IBAN {} is not registered for org {}",
                transfer.id, parsed, transfer.fiscal_code_pa
            )));
        }
    }
    let expected_iuv = iuv_of(notice_number);
    if data.creditor_reference_id != expected_iuv {
        return invalid(format!(
            "creditorReferenceId {} is not consistent with notice number {notice_number} (expected {expected_iuv})",
            data.creditor_reference_id
        ));
    }
    if data.amount != expected {
        return invalid(format!(
            "paymentAmount {} differs from the amount shown to the payer {}",
            data.amount.to_decimal_string(),
            expected.to_decimal_string()
        ));
    }
    Ok(())
}

/// The IUV a notice number carries: digits 4..18 for aux digit 0, digits 2..18 otherwise.
/// Works on any 18 characters, check digits right or wrong, because the Node compares, it does
/// not validate.
pub fn iuv_of(notice_number: &str) -> &str {
    let start = if notice_number.starts_with('0') { 3 } else { 1 };
    notice_number.get(start..).unwrap_or_default()
}

fn metadata(el: &Element) -> Result<Metadata, String> {
    let Some(md) = el.child("metadata") else { return Ok(Vec::new()) };
    let entries = md
        .children_named("mapEntry")
        .map(|entry| Ok((text(entry, "key", 140)?, text(entry, "value", 140)?)))
        .collect::<Result<Metadata, String>>()?;
    if entries.is_empty() || entries.len() > 15 {
        return Err(format!("{}/metadata has {} entries; 1 to 15 are allowed", el.name, entries.len()));
    }
    Ok(entries)
}

/// A required text of 1..=max characters.
fn text(el: &Element, name: &str, max: usize) -> Result<String, String> {
    opt_text(el, name, max)?.ok_or_else(|| format!("{}/{name} is missing", el.name))
}

/// An optional text of 1..=max characters.
fn opt_text(el: &Element, name: &str, max: usize) -> Result<Option<String>, String> {
    let Some(child) = el.child(name) else { return Ok(None) };
    let len = child.text.chars().count();
    if len == 0 || len > max {
        return Err(format!("{}/{name} has {len} characters; 1 to {max} are allowed", el.name));
    }
    Ok(Some(child.text.clone()))
}

fn amount_not_zero(el: &Element, name: &str) -> Result<Cents, String> {
    let raw = text(el, name, 64)?;
    let amount = Cents::parse_xsd_amount(&raw).map_err(|err| format!("{}/{name}: {err}", el.name))?;
    if !amount.is_positive() {
        return Err(format!("{}/{name} must be at least 0.01", el.name));
    }
    Ok(amount)
}

fn fiscal_code_pa(el: &Element, name: &str) -> Result<String, String> {
    let raw = text(el, name, 11)?;
    if raw.len() != 11 || !raw.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("{}/{name} {raw:?} is not 11 digits", el.name));
    }
    Ok(raw)
}

fn boolean(el: &Element, name: &str) -> Result<bool, String> {
    parse_bool(&text(el, name, 5)?, name)
}

fn parse_bool(raw: &str, name: &str) -> Result<bool, String> {
    match raw.trim() {
        "true" | "1" => Ok(true),
        "false" | "0" => Ok(false),
        other => Err(format!("{name} {other:?} is not a boolean")),
    }
}

fn date(raw: &str, name: &str) -> Result<(), String> {
    raw.parse::<jiff::civil::Date>().map(|_| ()).map_err(|_| format!("{name} {raw:?} is not a date (YYYY-MM-DD)"))
}

#[cfg(test)]
mod tests;
