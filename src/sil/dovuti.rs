//! Reading the SIL's base64 payload documents (reference/mypay.md §4.4): `Dovuti` into the debts
//! a session will create. Structural problems (a missing element, a sixth item, a wrong
//! namespace) are `PAA_XML_NON_VALIDO` with the detail, as MyPay's XSD validation answers them;
//! the business rules are the services'.

use base64::Engine as _;

use super::Fault;
use crate::domain::Cents;
use crate::domain::debt_row::{BilancioField, DebtFields, SecondaryFields};
use crate::flows::pagati::write_payer;
use crate::services::payments::truncate;
use crate::soap::{self, Element, XmlWriter};
use crate::store::debts::DebtRecord;

/// The namespace of the payload documents (`pay_i`).
pub use crate::flows::pagati::NAMESPACE as PAY_NS;
/// Largest decoded payload accepted.
const MAX_DOCUMENT_BYTES: usize = 1024 * 1024;

fn xml_fault(detail: impl Into<String>) -> Fault {
    Fault::new("PAA_XML_NON_VALIDO", detail)
}

/// Decodes a base64 element (whitespace allowed, as line-wrapping clients send it).
pub fn decode_base64(text: &str) -> Result<Vec<u8>, Fault> {
    let compact: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(compact.as_bytes())
        .map_err(|err| xml_fault(format!("contenuto base64 non valido: {err}")))?;
    if bytes.len() > MAX_DOCUMENT_BYTES {
        return Err(xml_fault("documento troppo grande"));
    }
    Ok(bytes)
}

/// Parses a decoded payload document whose root must be `{pay_i}root`.
pub fn parse_payload(bytes: &[u8], root: &str) -> Result<Element, Fault> {
    let doc = soap::parse_document(bytes).map_err(|err| xml_fault(format!("XML non valido: {err}")))?;
    if doc.name != root || doc.ns.as_deref() != Some(PAY_NS) {
        return Err(xml_fault(format!(
            "elemento radice {{{}}}{} invece di {{{PAY_NS}}}{root}",
            doc.ns.as_deref().unwrap_or(""),
            doc.name
        )));
    }
    Ok(doc)
}

fn required<'a>(el: &'a Element, name: &str) -> Result<&'a Element, Fault> {
    el.child(name).ok_or_else(|| xml_fault(format!("elemento {name} mancante in {}", el.name)))
}

fn text(el: &Element, name: &str) -> String {
    el.child_text(name).map(str::trim).unwrap_or_default().to_owned()
}

/// A `Dovuti` document: the payer once, then one [`DebtFields`] per `datiSingoloVersamento`.
#[derive(Debug, Clone)]
pub struct Dovuti {
    pub items: Vec<DebtFields>,
}

/// Reads a decoded `Dovuti` document.
pub fn read_dovuti(bytes: &[u8]) -> Result<Dovuti, Fault> {
    let doc = parse_payload(bytes, "Dovuti")?;
    required(&doc, "versioneOggetto")?;
    let payer = required(&doc, "soggettoPagatore")?;
    let id = required(payer, "identificativoUnivocoPagatore")?;
    required(id, "tipoIdentificativoUnivoco")?;
    required(id, "codiceIdentificativoUnivoco")?;
    required(payer, "anagraficaPagatore")?;
    let data = required(&doc, "datiVersamento")?;
    required(data, "tipoVersamento")?;
    let singles: Vec<&Element> = data.children_named("datiSingoloVersamento").collect();
    if singles.is_empty() {
        return Err(xml_fault("almeno un datiSingoloVersamento è richiesto"));
    }
    if singles.len() > 5 {
        return Err(xml_fault(format!("{} datiSingoloVersamento: al massimo 5", singles.len())));
    }
    let mut items = Vec::with_capacity(singles.len());
    for single in singles {
        for name in ["identificativoUnivocoDovuto", "importoSingoloVersamento", "identificativoTipoDovuto"] {
            required(single, name)?;
        }
        required(single, "causaleVersamento")?;
        required(single, "datiSpecificiRiscossione")?;
        let stamp = single.child("datiMarcaBolloDigitale");
        items.push(DebtFields {
            iud: text(single, "identificativoUnivocoDovuto"),
            iuv: text(data, "identificativoUnivocoVersamento"),
            amount: text(single, "importoSingoloVersamento"),
            fee: text(single, "commissioneCaricoPA"),
            debt_type: text(single, "identificativoTipoDovuto"),
            payment_kinds: text(data, "tipoVersamento"),
            causale: single.child_text("causaleVersamento").unwrap_or_default().to_owned(),
            collection_data: text(single, "datiSpecificiRiscossione"),
            generate_iuv: true,
            stamp_document_hash: stamp.map(|s| text(s, "hashDocumento")).unwrap_or_default(),
            stamp_province: stamp.map(|s| text(s, "provinciaResidenza")).unwrap_or_default(),
            bilancio: single.child("bilancio").map(bilancio_field).unwrap_or_default(),
            ..payer_fields(payer)
        });
    }
    Ok(Dovuti { items })
}

/// The secondary beneficiary of `listaDovutiEntiSecondari` (mypay.md §4.4): absent, or exactly
/// one `DovutiEntiSecondari` document, read into the import's 1_4 columns so that the same checks
/// apply.
pub fn read_enti_secondari(list: Option<&Element>) -> Result<Option<SecondaryFields>, Fault> {
    let Some(list) = list else { return Ok(None) };
    let elements: Vec<&Element> = list.children_named("elementoListaDovutiEntiSecondari").collect();
    let [element] = elements.as_slice() else {
        return Err(Fault::new(
            "PAA_LIMITE_MASSIMO_DOVUTI_ENTI_SECONDARI",
            format!("{} dovutiEntiSecondari: al massimo 1", elements.len()),
        ));
    };
    let bytes = decode_base64(element.child_text("dovutiEntiSecondari").unwrap_or_default())?;
    let doc = parse_payload(&bytes, "DovutiEntiSecondari")?;
    required(&doc, "versioneOggetto")?;
    let data = required(&doc, "datiVersamentoEntiSecondari")?;
    Ok(Some(SecondaryFields {
        fiscal_code: text(data, "codiceFiscaleBeneficiario"),
        name: text(data, "denominazioneBeneficiario"),
        iban: text(data, "ibanAccreditoBeneficiario"),
        address: text(data, "indirizzoBeneficiario"),
        civic_number: text(data, "civicoBeneficiario"),
        postal_code: text(data, "capBeneficiario"),
        city: text(data, "localitaBeneficiario"),
        province: text(data, "provinciaBeneficiario"),
        country: text(data, "nazioneBeneficiario"),
        collection_data: text(data, "datiSpecificiRiscossione"),
        causale: data.child_text("causaleVersamento").unwrap_or_default().to_owned(),
        amount: text(data, "importoSingoloVersamento"),
    }))
}

/// The debtor's fields of a `soggettoPagatore` (the rest left empty).
fn payer_fields(payer: &Element) -> DebtFields {
    let empty = Element::default();
    let id = payer.child("identificativoUnivocoPagatore").unwrap_or(&empty);
    DebtFields {
        debtor_kind: text(id, "tipoIdentificativoUnivoco"),
        debtor_id: text(id, "codiceIdentificativoUnivoco"),
        debtor_name: text(payer, "anagraficaPagatore"),
        debtor_address: text(payer, "indirizzoPagatore"),
        debtor_civic_number: text(payer, "civicoPagatore"),
        debtor_postal_code: text(payer, "capPagatore"),
        debtor_city: text(payer, "localitaPagatore"),
        // MyPay upper-cases the province before its checks (§4.6).
        debtor_province: text(payer, "provinciaPagatore").to_uppercase(),
        debtor_country: text(payer, "nazionePagatore"),
        debtor_email: text(payer, "e-mailPagatore"),
        generate_iuv: false,
        ..DebtFields::default()
    }
}

/// A `Versamento` document (paaSILImportaDovuto): the `azione` and the debt.
#[derive(Debug, Clone)]
pub struct Versamento {
    pub action: String,
    pub fields: DebtFields,
}

/// Reads a decoded `Versamento` document.
pub fn read_versamento(bytes: &[u8]) -> Result<Versamento, Fault> {
    let doc = parse_payload(bytes, "Versamento")?;
    required(&doc, "versioneOggetto")?;
    let data = required(&doc, "datiVersamento")?;
    for name in
        ["importoSingoloVersamento", "identificativoTipoDovuto", "causaleVersamento", "datiSpecificiRiscossione"]
    {
        required(data, name)?;
    }
    let action = required(&doc, "azione")?.text.trim().to_owned();
    let empty = Element::default();
    let payer = doc.child("soggettoPagatore").unwrap_or(&empty);
    let fields = DebtFields {
        iud: text(data, "identificativoUnivocoDovuto"),
        iuv: text(data, "identificativoUnivocoVersamento"),
        due_date: text(data, "dataEsecuzionePagamento"),
        amount: text(data, "importoSingoloVersamento"),
        fee: text(data, "commissioneCaricoPA"),
        debt_type: text(data, "identificativoTipoDovuto"),
        payment_kinds: text(data, "tipoVersamento"),
        causale: data.child_text("causaleVersamento").unwrap_or_default().to_owned(),
        collection_data: text(data, "datiSpecificiRiscossione"),
        bilancio: data.child("bilancio").map(bilancio_field).unwrap_or_default(),
        ..payer_fields(payer)
    };
    Ok(Versamento { action, fields })
}

/// A `Dovuti` document of one debt, with its IUV (what the queries about open debts answer).
pub fn write_dovuti(debt: &DebtRecord) -> String {
    let mut w = XmlWriter::new();
    w.raw("<?xml version=\"1.0\" encoding=\"UTF-8\"?>");
    w.open_with("Dovuti", &[("xmlns", PAY_NS)]);
    w.leaf("versioneOggetto", "6.2.0");
    write_payer(&mut w, debt);
    w.open("datiVersamento");
    w.leaf("tipoVersamento", if debt.payment_kinds.is_empty() { "ALL" } else { &debt.payment_kinds });
    w.leaf_opt("identificativoUnivocoVersamento", debt.iuv.as_ref().map(crate::domain::Iuv::as_str));
    w.open("datiSingoloVersamento");
    w.leaf("identificativoUnivocoDovuto", &debt.iud);
    w.leaf("importoSingoloVersamento", &debt.amount_cents.to_decimal_string());
    w.leaf_opt("commissioneCaricoPA", debt.fee_cents.map(Cents::to_decimal_string).as_deref());
    w.leaf("identificativoTipoDovuto", &debt.debt_type_code);
    w.leaf("causaleVersamento", &truncate(&debt.causale, 1024));
    w.leaf("datiSpecificiRiscossione", &debt.collection_data);
    w.close("datiSingoloVersamento");
    w.close("datiVersamento");
    w.close("Dovuti");
    w.finish()
}

/// A `bilancio` element as the import reads its column: the XML (unqualified, as files carry it)
/// and the `importo` of every `accertamento`.
pub fn bilancio_field(el: &Element) -> BilancioField {
    let mut out = String::new();
    write_unqualified(el, &mut out);
    let amounts = el
        .children_named("capitolo")
        .flat_map(|c| c.children_named("accertamento"))
        .map(|a| a.child_text("importo").unwrap_or_default().trim().to_owned())
        .collect();
    BilancioField::Read { xml: out, amounts }
}

fn write_unqualified(el: &Element, out: &mut String) {
    out.push('<');
    out.push_str(&el.name);
    out.push('>');
    if el.children.is_empty() {
        out.push_str(&soap::escape(el.text.trim()));
    }
    for child in &el.children {
        write_unqualified(child, out);
    }
    out.push_str("</");
    out.push_str(&el.name);
    out.push('>');
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]
    use super::*;

    const DOVUTI: &str = r#"<Dovuti xmlns="http://www.regione.veneto.it/schemas/2012/Pagamenti/Ente/">
        <versioneOggetto>6.2.0</versioneOggetto>
        <soggettoPagatore><identificativoUnivocoPagatore><tipoIdentificativoUnivoco>F</tipoIdentificativoUnivoco>
        <codiceIdentificativoUnivoco>RSSMRA80A01F205X</codiceIdentificativoUnivoco></identificativoUnivocoPagatore>
        <anagraficaPagatore>Mario Rossi</anagraficaPagatore><provinciaPagatore>mi</provinciaPagatore></soggettoPagatore>
        <datiVersamento><tipoVersamento>ALL</tipoVersamento><datiSingoloVersamento>
        <identificativoUnivocoDovuto>IUD-1</identificativoUnivocoDovuto><importoSingoloVersamento>10.50</importoSingoloVersamento>
        <identificativoTipoDovuto>TARI</identificativoTipoDovuto><causaleVersamento>Tassa</causaleVersamento>
        <datiSpecificiRiscossione>9/0101100IM/</datiSpecificiRiscossione>
        <bilancio><capitolo><codCapitolo>C1</codCapitolo><accertamento><importo>10.50</importo></accertamento></capitolo></bilancio>
        </datiSingoloVersamento></datiVersamento></Dovuti>"#;

    #[test]
    fn reads_the_payer_once_and_each_item() {
        let d = read_dovuti(DOVUTI.as_bytes()).unwrap();
        assert_eq!(d.items.len(), 1);
        let f = &d.items[0];
        assert_eq!((f.iud.as_str(), f.amount.as_str(), f.debtor_province.as_str()), ("IUD-1", "10.50", "MI"));
        match &f.bilancio {
            BilancioField::Read { xml, amounts } => {
                assert_eq!(amounts, &["10.50"]);
                assert!(xml.starts_with("<bilancio><capitolo><codCapitolo>C1</codCapitolo>"), "{xml}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn structure_errors_are_xml_faults() {
        let six = DOVUTI.replace(
            "</datiSingoloVersamento></datiVersamento>",
            &format!("</datiSingoloVersamento>{}</datiVersamento>", "<datiSingoloVersamento/>".repeat(5)),
        );
        assert_eq!(read_dovuti(six.as_bytes()).unwrap_err().code, "PAA_XML_NON_VALIDO");
        assert_eq!(read_dovuti(b"<Dovuti/>").unwrap_err().code, "PAA_XML_NON_VALIDO");
        assert_eq!(decode_base64("@@@").unwrap_err().code, "PAA_XML_NON_VALIDO");
    }
}
