//! The rules one debt position must meet, whatever channel brings it (CLI, import row, SIL,
//! back office): reference/mypay.md §2.3-2.5, with MyPay's `PAA_IMPORT_*` codes of §2.8.
//!
//! Input is the raw text of the fields, as a CSV row carries them; output is either a
//! [`ValidDebt`] of validated types or every [`RowError`] found (a row gets all its errors at once,
//! as MyPay's `_SCARTI` files list them joined by `|`). Checks that need the store (IUD/IUV already
//! live, operator enablement) are the caller's; the debt type's flags arrive in [`RowContext`].
//! The `bilancio` XML (§2.6) is read by the caller (the domain parses no XML) and arrives as
//! [`BilancioField`]; its amounts are checked here. The 1_4 multi-beneficiary block arrives as
//! [`SecondaryFields`].
//! Never panics, never reads the clock: `today` is a parameter.

use std::fmt;

use jiff::civil::Date;

use super::places::{is_country, is_province};
use super::reasons_it;
use super::{Cents, CollectionData, Iban, Iuv, OrgFiscalCode, PartyId, PartyKind, SegregationCode};

/// One broken rule: MyPay's code and its description.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    pub code: &'static str,
    pub description: String,
}

impl fmt::Display for RowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.description)
    }
}

/// The raw fields of one debt, as text (empty = absent).
#[derive(Debug, Clone, Default)]
pub struct DebtFields {
    pub iud: String,
    pub iuv: String,
    pub debtor_kind: String,
    pub debtor_id: String,
    pub debtor_name: String,
    pub debtor_address: String,
    pub debtor_civic_number: String,
    pub debtor_postal_code: String,
    pub debtor_city: String,
    pub debtor_province: String,
    pub debtor_country: String,
    pub debtor_email: String,
    pub due_date: String,
    pub amount: String,
    pub fee: String,
    pub debt_type: String,
    pub payment_kinds: String,
    pub causale: String,
    pub collection_data: String,
    pub generate_iuv: bool,
    /// Digital stamp only (never in a file row): base64 SHA-256 of the stamped document.
    pub stamp_document_hash: String,
    /// Digital stamp only: the payer's province.
    pub stamp_province: String,
    /// The accounting split (layouts 1_2+), as the XML reader found it.
    pub bilancio: BilancioField,
    /// The secondary beneficiary of a 1_4 row whose `flagMultiBeneficiario` is true.
    pub secondary: Option<SecondaryFields>,
}

/// The `bilancio` column (reference/mypay.md §2.6) after the caller's XML reader.
#[derive(Debug, Clone, Default)]
pub enum BilancioField {
    /// The column is empty or absent.
    #[default]
    Absent,
    /// Well-formed: the XML text, and the `importo` text of every `accertamento`, in order.
    Read { xml: String, amounts: Vec<String> },
    /// Not a `bilancio` document: the XML text and why.
    Unreadable { xml: String, reason: String },
}

/// The raw secondary-beneficiary columns 22-33 of layout 1_4 (empty = absent).
#[derive(Debug, Clone, Default)]
pub struct SecondaryFields {
    pub fiscal_code: String,
    pub name: String,
    pub iban: String,
    pub address: String,
    pub civic_number: String,
    pub postal_code: String,
    pub city: String,
    pub province: String,
    pub country: String,
    pub collection_data: String,
    pub causale: String,
    pub amount: String,
}

/// A validated secondary beneficiary.
#[derive(Debug, Clone)]
pub struct ValidSecondary {
    pub fiscal_code: OrgFiscalCode,
    pub name: String,
    pub iban: Iban,
    pub address: Option<String>,
    pub civic_number: Option<String>,
    pub postal_code: Option<String>,
    pub city: Option<String>,
    pub province: Option<String>,
    pub country: Option<String>,
    pub collection_data: Option<CollectionData>,
    pub causale: Option<String>,
    pub amount: Cents,
}

/// What the debt type says about its debts; `None` when the code names no debt type of the org.
#[derive(Debug, Clone)]
pub struct DebtTypeRules {
    pub active: bool,
    pub allow_anonymous: bool,
    pub due_date_mandatory: bool,
}

/// Everything the checks need besides the fields.
#[derive(Debug, Clone)]
pub struct RowContext {
    pub debt_type: Option<DebtTypeRules>,
    pub segregation_code: SegregationCode,
    /// Today in Europe/Rome: a mandatory due date may not be in the past on insert.
    pub today: Date,
    /// Longest causale: 140 in layout 1_0, 1024 afterwards.
    pub causale_max: usize,
    /// Layouts 1_0 and 1_1 require a due date on every row.
    pub due_date_always_required: bool,
    /// Insert (`I`) checks that a mandatory due date is not past; modify and annul do not.
    pub is_insert: bool,
    /// The IUV the debt already has (actions `M` and `A`): a row repeating it is accepted as is,
    /// since mypay may have generated it in a shape the org could not supply.
    pub current_iuv: Option<String>,
}

/// A debt that passed every check.
#[derive(Debug, Clone)]
pub struct ValidDebt {
    pub iud: String,
    pub iuv: Option<Iuv>,
    /// The kind as declared: an `F` row may carry a VAT number, so it cannot be derived from `debtor`.
    pub debtor_kind: PartyKind,
    pub debtor: PartyId,
    pub debtor_name: String,
    pub debtor_address: Option<String>,
    pub debtor_civic_number: Option<String>,
    pub debtor_postal_code: Option<String>,
    pub debtor_city: Option<String>,
    pub debtor_province: Option<String>,
    pub debtor_country: Option<String>,
    pub debtor_email: Option<String>,
    pub due_date: Option<Date>,
    pub amount: Cents,
    pub fee: Option<Cents>,
    pub debt_type: String,
    pub payment_kinds: String,
    pub causale: String,
    pub collection_data: CollectionData,
    pub generate_iuv: bool,
    /// (document hash, province) of a digital stamp.
    pub stamp: Option<(String, String)>,
    /// The `bilancio` XML, its amounts summing to `amount`.
    pub bilancio: Option<String>,
    pub secondary: Option<ValidSecondary>,
}

/// A boolean column (`flagGeneraIuv`, `flagMultiBeneficiario`): `true`/`false` in any case, empty
/// meaning false (mypay.md §2.3); `None` for anything else.
pub fn parse_flag(text: &str) -> Option<bool> {
    let text = text.trim();
    if text.is_empty() {
        Some(false)
    } else if text.eq_ignore_ascii_case("true") {
        Some(true)
    } else if text.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}

/// Longest `bilancio` column (mypay.md §2.4).
const BILANCIO_MAX_CHARS: usize = 4096;

/// The debt type MyPay never accepts in a file.
const DIGITAL_STAMP: &str = "MARCA_BOLLO_DIGITALE";
/// The payment kinds (tipoVersamento) a debt may restrict itself to.
const PAYMENT_KINDS: &[&str] = &["BBT", "BP", "AD", "CP", "PO", "OBEP"];

/// The text fields of a row and of its secondary beneficiary, by their MyPay column names.
fn control_checked_fields(f: &DebtFields) -> Vec<(&'static str, &str)> {
    let mut all = vec![
        ("IUD", f.iud.as_str()),
        ("codIuv", &f.iuv),
        ("codiceIdentificativoUnivoco", &f.debtor_id),
        ("anagraficaPagatore", &f.debtor_name),
        ("indirizzoPagatore", &f.debtor_address),
        ("civicoPagatore", &f.debtor_civic_number),
        ("capPagatore", &f.debtor_postal_code),
        ("localitaPagatore", &f.debtor_city),
        ("provinciaPagatore", &f.debtor_province),
        ("nazionePagatore", &f.debtor_country),
        ("emailPagatore", &f.debtor_email),
        ("importoDovuto", &f.amount),
        ("tipoDovuto", &f.debt_type),
        ("causaleVersamento", &f.causale),
        ("datiSpecificiRiscossione", &f.collection_data),
    ];
    if let Some(mb) = &f.secondary {
        all.extend([
            ("codiceFiscaleEnteSecondario", mb.fiscal_code.as_str()),
            ("denominazioneEnteSecondario", &mb.name),
            ("ibanAccreditoEnteSecondario", &mb.iban),
            ("indirizzoEnteSecondario", &mb.address),
            ("localitaEnteSecondario", &mb.city),
            ("causaleVersamentoEnteSecondario", &mb.causale),
            ("datiSpecificiRiscossioneEnteSecondario", &mb.collection_data),
        ]);
    }
    all
}

/// Checks one debt; returns it validated or every rule it breaks.
pub fn validate(fields: &DebtFields, ctx: &RowContext) -> Result<ValidDebt, Vec<RowError>> {
    let mut errors = Vec::new();
    let mut err = |code: &'static str, description: String| errors.push(RowError { code, description });
    const SYNTAX: &str = "PAA_IMPORT_SINTASSI_CSV";

    // A control character (NUL, ESC, BEL, ...) is no part of a name, an address or a causale, and
    // would make the Node's XML ill-formed (NUL): refused in every field. Line breaks and tabs, legal
    // in XML and quoted by the exports, stay what they were.
    for (name, value) in control_checked_fields(fields) {
        if value.contains(|c: char| c.is_control() && !matches!(c, '\n' | '\r' | '\t')) {
            err(SYNTAX, format!("CARATTERE NON AMMESSO NEL CAMPO {name}"));
        }
    }

    let iud = fields.iud.as_str();
    if iud.is_empty() {
        err(SYNTAX, "IUD NON PRESENTE".to_owned());
    } else if iud.chars().count() > 35 {
        err(SYNTAX, "COD_IUD TROPPO GRANDE".to_owned());
    } else if iud.starts_with("000") {
        err("PAA_IMPORT_SINTASSI_CSV_IUD", format!("IUD {iud} non valido: non deve iniziare con 000"));
    }

    let iuv = match fields.iuv.as_str() {
        "" => None,
        text if fields.generate_iuv || ctx.current_iuv.as_deref() == Some(text) => match Iuv::parse(text) {
            Ok(iuv) if text.len() == 17 && text.bytes().all(|b| b.is_ascii_digit()) => Some(iuv),
            _ => {
                err("PAA_IMPORT_SINTASSI_CSV_IUV", format!("IUV {text} non valido"));
                None
            }
        },
        text => match Iuv::parse_supplied(text, ctx.segregation_code) {
            Ok(iuv) => Some(iuv),
            Err(reason) => {
                err("PAA_IMPORT_SINTASSI_CSV_IUV", format!("IUV {text} non valido: {}", reasons_it::iuv(&reason)));
                None
            }
        },
    };

    let kind = match fields.debtor_kind.trim() {
        "" => {
            err(SYNTAX, "TIPO_IDENTIFICATIVO_UNIVOCO NON PRESENTE".to_owned());
            None
        }
        text => match PartyKind::parse(text) {
            Ok(kind) => Some(kind),
            Err(_) => {
                err("PAA_IMPORT_SINTASSI_CSV_ID_UNIV_FG", format!("tipo identificativo {text} non valido: F o G"));
                None
            }
        },
    };
    let allow_anonymous = ctx.debt_type.as_ref().is_some_and(|t| t.allow_anonymous);
    let debtor_id = fields.debtor_id.trim().to_uppercase();
    let debtor = if debtor_id.is_empty() {
        err(SYNTAX, "CODICE_IDENTIFICATIVO_UNIVOCO NON PRESENTE".to_owned());
        None
    } else if debtor_id.chars().count() > 35 {
        err(SYNTAX, "CODICE_IDENTIFICATIVO_UNIVOCO TROPPO GRANDE".to_owned());
        None
    } else if let Some(kind) = kind {
        match PartyId::parse(kind, &debtor_id, allow_anonymous) {
            Ok(id) => Some(id),
            Err(reason) => {
                let code = match kind {
                    PartyKind::Natural => "PAA_IMPORT_SINTASSI_CSV_COD_FISC_P_IVA",
                    PartyKind::Legal => "PAA_IMPORT_SINTASSI_CSV_P_IVA",
                };
                err(code, format!("identificativo {debtor_id} non valido: {}", reasons_it::tax_id(&reason)));
                None
            }
        }
    } else {
        None
    };

    let name = fields.debtor_name.trim();
    if name.is_empty() {
        err(SYNTAX, "ANAGRAFICA_PAGATORE NON PRESENTE".to_owned());
    } else if name.chars().count() > 70 {
        err(SYNTAX, "ANAGRAFICA_PAGATORE TROPPO GRANDE".to_owned());
    }

    let address = optional(&fields.debtor_address);
    if let Some(a) = &address
        && (a.chars().count() > 70 || !a.chars().all(address_char))
    {
        err("PAA_IMPORT_SINTASSI_CSV_INDIRIZZO", format!("indirizzo {a} non valido"));
    }
    let civic = optional(&fields.debtor_civic_number);
    if let Some(c) = &civic
        && (c.chars().count() > 16 || !c.chars().all(address_char))
    {
        err("PAA_IMPORT_SINTASSI_CSV_CIVICO", format!("civico {c} non valido"));
    }
    let country = optional(&fields.debtor_country).map(|c| c.to_uppercase());
    if let Some(c) = &country
        && !is_country(c)
    {
        err("PAA_IMPORT_SINTASSI_CSV_NAZ", format!("nazione {c} non valida"));
    }
    let postal_code = optional(&fields.debtor_postal_code);
    if let Some(cap) = &postal_code {
        if cap.is_empty() || cap.len() > 16 || !cap.bytes().all(|b| b.is_ascii_alphanumeric()) {
            err("PAA_IMPORT_SINTASSI_CSV_CAP", format!("CAP {cap} non valido"));
        } else if country.is_none() {
            err("PAA_IMPORT_SINTASSI_CSV_NAZ_PROV_CAP", format!("CAP {cap} senza una nazione valida"));
        } else if country.as_deref() == Some("IT") && !(cap.len() == 5 && cap.bytes().all(|b| b.is_ascii_digit())) {
            err("PAA_IMPORT_SINTASSI_CSV_CAP", format!("CAP {cap} non valido per l'Italia"));
        }
    }
    let city = optional(&fields.debtor_city);
    if city.as_ref().is_some_and(|c| c.chars().count() > 35) {
        err(SYNTAX, "LOCALITA_PAGATORE TROPPO GRANDE".to_owned());
    }
    let province = optional(&fields.debtor_province).map(|p| p.to_uppercase());
    if let Some(p) = &province
        && (p.chars().count() > 2 || (country.as_deref().is_none_or(|c| c == "IT") && !is_province(p)))
    {
        err("PAA_IMPORT_SINTASSI_CSV_PROV", format!("provincia {p} non valida"));
    }
    let email = optional(&fields.debtor_email);
    if let Some(e) = &email
        && !is_import_email(e)
    {
        err("PAA_IMPORT_SINTASSI_CSV_EMAIL", format!("email {e} non valida"));
    }

    let due_date = match fields.due_date.trim() {
        "" => None,
        text => match parse_date(text) {
            Some(date) => Some(date),
            None => {
                err(
                    "PAA_IMPORT_SINTASSI_CSV_DATA_SCADENZA_PAGAMENTO",
                    "dataScadenzaPagamento: formato o data non validi, attesa una data aaaa-mm-gg".to_owned(),
                );
                None
            }
        },
    };
    let mandatory = ctx.debt_type.as_ref().is_some_and(|t| t.due_date_mandatory);
    if fields.due_date.trim().is_empty() {
        if ctx.due_date_always_required {
            err(
                "PAA_IMPORT_SINTASSI_CSV_DATA_SCADENZA_PAGAMENTO_NON_PRESENTE",
                "DATA_SCADENZA_PAGAMENTO NON PRESENTE".to_owned(),
            );
        } else if mandatory {
            err(
                "PAA_IMPORT_DATA_SCADENZA_PAGAMENTO_OBBLIGATORIA",
                "data di scadenza obbligatoria per il tipo dovuto".to_owned(),
            );
        }
    } else if let Some(date) = due_date
        && mandatory
        && ctx.is_insert
        && date < ctx.today
    {
        err(
            "PAA_IMPORT_SINTASSI_CSV_DATA_SCADENZA_PAGAMENTO",
            format!("data di scadenza {date} già passata: deve essere uguale o successiva a {}", ctx.today),
        );
    }

    let amount = match parse_amount(&fields.amount) {
        Ok(cents) => Some(cents),
        Err(AmountError::Syntax) => {
            err(SYNTAX, format!("IMPORTO_DOVUTO NON CONFROME: {}", fields.amount));
            None
        }
        Err(AmountError::Range) => {
            err(
                "PAA_IMPORT_SINTASSI_CSV_IMPORTO",
                format!("importo {} fuori intervallo (0,01 - 999.999.999,99)", fields.amount),
            );
            None
        }
    };
    let fee = match fields.fee.trim() {
        "" => None,
        text => match Cents::parse_decimal(text) {
            Ok(cents) => Some(cents),
            Err(_) => {
                err("PAA_IMPORT_SINTASSI_CSV_COMMISSIONI_PA", format!("commissione {text} non valida"));
                None
            }
        },
    };

    let debt_type = fields.debt_type.trim();
    if debt_type.is_empty() {
        err("PAA_IMPORT_SINTASSI_CSV_TIPO_DOVUTO", "TIPO_DOVUTO NON PRESENTE".to_owned());
    } else if debt_type.chars().count() > 64 {
        err("PAA_IMPORT_SINTASSI_CSV_TIPO_DOVUTO", "TIPO_DOVUTO TROPPO GRANDE".to_owned());
    } else if debt_type == DIGITAL_STAMP && fields.stamp_document_hash.is_empty() {
        // A stamp needs the hash of its document, which no file row carries.
        err(
            "PAA_IMPORT_SINTASSI_CSV_TIPO_DOVUTO_NON_VALIDO_MARCA_DA_BOLLO",
            format!("tipo dovuto {debt_type} non ammesso"),
        );
    } else {
        match &ctx.debt_type {
            None => {
                err("PAA_IMPORT_SINTASSI_CSV_TIPO_DOVUTO_INESISTENTE", format!("tipo dovuto {debt_type} inesistente"))
            }
            Some(t) if !t.active => err(
                "PAA_IMPORT_SINTASSI_CSV_TIPO_DOVUTO_NON_ATTIVO_PER_ENTE",
                format!("tipo dovuto {debt_type} non attivo"),
            ),
            Some(_) => {}
        }
    }

    let payment_kinds = match fields.payment_kinds.trim() {
        "" | "ALL" => "ALL".to_owned(),
        text if text.split('|').all(|k| PAYMENT_KINDS.contains(&k)) && text.len() <= 32 => text.to_owned(),
        text => {
            err("PAA_IMPORT_SINTASSI_CSV_TIPO_VERS", format!("tipo versamento {text} non valido"));
            String::new()
        }
    };

    let causale = fields.causale.as_str();
    if causale.trim().is_empty() {
        err(SYNTAX, "CAUSALE_VERSAMENTO NON PRESENTE".to_owned());
    } else if causale.chars().count() > ctx.causale_max {
        err(SYNTAX, "CAUSALE_VERSAMENTO TROPPO GRANDE".to_owned());
    }

    let collection_data = match CollectionData::parse(fields.collection_data.trim()) {
        Ok(data) => Some(data),
        Err(reason) => {
            err(
                "PAA_IMPORT_SINTASSI_CSV_DATI_RISCOSS",
                format!("datiSpecificiRiscossione non validi: {}", reasons_it::collection_data(&reason)),
            );
            None
        }
    };

    let stamp = match (fields.stamp_document_hash.trim(), fields.stamp_province.trim()) {
        ("", "") => None,
        (hash, province) => {
            let base64 = hash.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'='));
            if debt_type != DIGITAL_STAMP {
                err(
                    "PAA_IMPORT_SINTASSI_CSV_TIPO_DOVUTO",
                    format!("dati della marca da bollo per il tipo dovuto {debt_type}"),
                );
            } else if !(4..=72).contains(&hash.len()) || !base64 {
                err("PAA_IMPORT_SINTASSI_CSV", "HASH_DOCUMENTO NON CONFORME".to_owned());
            } else if !is_province(&province.to_uppercase()) {
                err("PAA_IMPORT_SINTASSI_CSV_PROV", format!("provincia di residenza {province} non valida"));
            }
            Some((hash.to_owned(), province.to_uppercase()))
        }
    };

    let bilancio = match &fields.bilancio {
        BilancioField::Absent => None,
        BilancioField::Unreadable { reason, .. } => {
            err("PAA_IMPORT_SINTASSI_CSV_BILANCIO", format!("bilancio non valido: {reason}"));
            None
        }
        BilancioField::Read { xml, .. } if xml.chars().count() > BILANCIO_MAX_CHARS => {
            err("PAA_IMPORT_SINTASSI_CSV_BILANCIO", "BILANCIO TROPPO GRANDE".to_owned());
            None
        }
        BilancioField::Read { xml, amounts } => match bilancio_total(amounts) {
            Err(text) => {
                err("PAA_IMPORT_SINTASSI_CSV_BILANCIO", format!("bilancio non valido: importo {text} non conforme"));
                None
            }
            Ok(total) => match amount {
                Some(amount) if amount != total => {
                    err(
                        "PAA_IMPORT_SINTASSI_CSV_BILANCIO",
                        format!(
                            "la somma degli importi del bilancio ({}) differisce dall'importo del dovuto ({})",
                            total.to_decimal_string(),
                            amount.to_decimal_string()
                        ),
                    );
                    None
                }
                _ => Some(xml.clone()),
            },
        },
    };

    let secondary = match &fields.secondary {
        None => None,
        Some(mb) => validate_secondary(mb, &mut err),
    };

    match (kind, debtor, amount, collection_data) {
        (Some(debtor_kind), Some(debtor), Some(amount), Some(collection_data)) if errors.is_empty() => Ok(ValidDebt {
            iud: iud.to_owned(),
            iuv,
            debtor_kind,
            debtor,
            debtor_name: name.to_owned(),
            debtor_address: address,
            debtor_civic_number: civic,
            debtor_postal_code: postal_code,
            debtor_city: city,
            debtor_province: province,
            debtor_country: country,
            debtor_email: email,
            due_date,
            amount,
            fee,
            debt_type: debt_type.to_owned(),
            payment_kinds,
            causale: causale.to_owned(),
            collection_data,
            generate_iuv: fields.generate_iuv,
            stamp,
            bilancio,
            secondary,
        }),
        _ => Err(errors),
    }
}

/// The sum of the `accertamento/importo` texts, each exact and greater than zero; the offending
/// text otherwise.
fn bilancio_total(amounts: &[String]) -> Result<Cents, String> {
    let mut total = Cents::ZERO;
    for text in amounts {
        let cents = Cents::parse_decimal(text.trim()).ok().filter(|c| c.is_positive()).ok_or_else(|| text.clone())?;
        total = total.checked_add(cents).ok_or_else(|| text.clone())?;
    }
    Ok(total)
}

/// The checks of the 1_4 secondary-beneficiary block (mypay.md §2.4, columns 22-33).
fn validate_secondary(mb: &SecondaryFields, err: &mut impl FnMut(&'static str, String)) -> Option<ValidSecondary> {
    let fiscal_code = match OrgFiscalCode::parse(mb.fiscal_code.trim()) {
        Ok(code) => Some(code),
        Err(reason) => {
            err(
                "PAA_IMPORT_SINTASSI_CSV_COD_FISC_ENTE_SECONDARIO",
                format!(
                    "codice fiscale ente secondario {} non valido: {}",
                    mb.fiscal_code.trim(),
                    reasons_it::tax_id(&reason)
                ),
            );
            None
        }
    };
    let name = mb.name.trim();
    if name.is_empty() {
        err("PAA_IMPORT_SINTASSI_CSV", "DENOMINAZIONE_ENTE_SECONDARIO NON PRESENTE".to_owned());
    } else if name.chars().count() > 70 {
        err("PAA_IMPORT_SINTASSI_CSV", "DENOMINAZIONE_ENTE_SECONDARIO TROPPO GRANDE".to_owned());
    }
    let iban = match Iban::parse(mb.iban.trim()) {
        Ok(iban) if mb.iban.trim().len() <= 35 => Some(iban),
        _ => {
            err(
                "PAA_IMPORT_SINTASSI_CSV_IBAN_ACCREDITO_ENTE_SECONDARIO",
                format!("IBAN ente secondario {} non valido", mb.iban.trim()),
            );
            None
        }
    };
    let address = optional(&mb.address);
    if let Some(a) = &address
        && (a.chars().count() > 70 || !a.chars().all(address_char))
    {
        err("PAA_IMPORT_SINTASSI_CSV_INDIRIZZO_ENTE_SECONDARIO", format!("indirizzo ente secondario {a} non valido"));
    }
    let civic = optional(&mb.civic_number);
    if let Some(c) = &civic
        && (c.chars().count() > 16 || !c.chars().all(address_char))
    {
        err("PAA_IMPORT_SINTASSI_CSV_CIVICO_ENTE_SECONDARIO", format!("civico ente secondario {c} non valido"));
    }
    let country = optional(&mb.country).map(|c| c.to_uppercase());
    if let Some(c) = &country
        && !is_country(c)
    {
        err("PAA_IMPORT_SINTASSI_CSV_NAZ_ENTE_SECONDARIO", format!("nazione ente secondario {c} non valida"));
    }
    let postal_code = optional(&mb.postal_code);
    if let Some(cap) = &postal_code
        && (cap.len() > 16 || !cap.bytes().all(|b| b.is_ascii_alphanumeric()))
    {
        err("PAA_IMPORT_SINTASSI_CSV_CAP_ENTE_SECONDARIO", format!("CAP ente secondario {cap} non valido"));
    }
    let city = optional(&mb.city);
    if city.as_ref().is_some_and(|c| c.chars().count() > 35) {
        err("PAA_IMPORT_SINTASSI_CSV", "LOCALITA_ENTE_SECONDARIO TROPPO GRANDE".to_owned());
    }
    let province = optional(&mb.province).map(|p| p.to_uppercase());
    if let Some(p) = &province
        && (p.chars().count() > 35 || (country.as_deref().is_none_or(|c| c == "IT") && !is_province(p)))
    {
        err("PAA_IMPORT_SINTASSI_CSV_PROV_ENTE_SECONDARIO", format!("provincia ente secondario {p} non valida"));
    }
    let collection_data = match optional(&mb.collection_data) {
        None => None,
        Some(text) => match CollectionData::parse(&text) {
            Ok(data) if data.taxonomy_code().is_some() => Some(data),
            _ => {
                err(
                    "PAA_IMPORT_SINTASSI_CSV_DATI_RISCOSS_ENTE_SECONDARIO",
                    format!("datiSpecificiRiscossione ente secondario {text} non validi: 9/<codice tassonomico>/"),
                );
                None
            }
        },
    };
    let causale = optional(&mb.causale);
    if causale.as_ref().is_some_and(|c| c.chars().count() > 1024) {
        err("PAA_IMPORT_SINTASSI_CSV", "CAUSALE_VERSAMENTO_ENTE_SECONDARIO TROPPO GRANDE".to_owned());
    }
    let amount = match parse_amount(&mb.amount) {
        Ok(cents) => Some(cents),
        Err(_) => {
            err(
                "PAA_IMPORT_SINTASSI_CSV_IMPORTO_VERS_ENTE_SECONDARIO",
                format!("importo ente secondario {} non valido", mb.amount.trim()),
            );
            None
        }
    };
    match (fiscal_code, iban, amount) {
        (Some(fiscal_code), Some(iban), Some(amount)) if !name.is_empty() && name.chars().count() <= 70 => {
            Some(ValidSecondary {
                fiscal_code,
                name: name.to_owned(),
                iban,
                address,
                civic_number: civic,
                postal_code,
                city,
                province,
                country,
                collection_data,
                causale,
                amount,
            })
        }
        _ => None,
    }
}

fn optional(text: &str) -> Option<String> {
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_owned())
}

/// MyPay's address charset: `[a-z A-Z0-9.,()/'&]`.
fn address_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, ' ' | '.' | ',' | '(' | ')' | '/' | '\'' | '&')
}

/// MyPay's import e-mail rule: `^[a-zA-Z0-9_!#$%&'*+/=?`{|}~^.-]+@[a-zA-Z0-9.-]+$`, at most 256.
fn is_import_email(text: &str) -> bool {
    let Some((local, domain)) = text.split_once('@') else {
        return false;
    };
    text.len() <= 256
        && !local.is_empty()
        && !domain.is_empty()
        && local.chars().all(|c| c.is_ascii_alphanumeric() || "_!#$%&'*+/=?`{|}~^.-".contains(c))
        && domain.chars().all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
}

/// A `yyyy-MM-dd` date of exactly 10 characters that exists in the calendar.
pub fn parse_date(text: &str) -> Option<Date> {
    let bytes = text.as_bytes();
    if bytes.len() != 10 || bytes.get(4) != Some(&b'-') || bytes.get(7) != Some(&b'-') {
        return None;
    }
    let year: i16 = text.get(0..4)?.parse().ok()?;
    let month: i8 = text.get(5..7)?.parse().ok()?;
    let day: i8 = text.get(8..10)?.parse().ok()?;
    if !text.bytes().enumerate().all(|(i, b)| i == 4 || i == 7 || b.is_ascii_digit()) {
        return None;
    }
    Date::new(year, month, day).ok()
}

enum AmountError {
    Syntax,
    Range,
}

/// `importoDovuto`: at most 15 characters, dot decimals, greater than zero and at most
/// 999,999,999.99. MyPay parses it as a float; we parse it exactly, with the same acceptance.
fn parse_amount(text: &str) -> Result<Cents, AmountError> {
    let text = text.trim();
    if text.is_empty() || text.len() > 15 {
        return Err(AmountError::Syntax);
    }
    match Cents::parse_decimal(text) {
        Ok(cents) if cents.get() > 0 => Ok(cents),
        Ok(_) => Err(AmountError::Range),
        Err(_)
            if text.bytes().all(|b| b.is_ascii_digit() || b == b'.')
                && text.bytes().filter(|b| *b == b'.').count() <= 1 =>
        {
            // Well-formed but too large or with too many decimals for cents.
            Err(AmountError::Range)
        }
        Err(_) => Err(AmountError::Syntax),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]
    use super::*;

    fn ctx() -> RowContext {
        RowContext {
            debt_type: Some(DebtTypeRules { active: true, allow_anonymous: false, due_date_mandatory: true }),
            segregation_code: SegregationCode::parse("01").unwrap(),
            today: Date::new(2026, 11, 30).unwrap(),
            causale_max: 1024,
            due_date_always_required: false,
            is_insert: true,
            current_iuv: None,
        }
    }

    fn good() -> DebtFields {
        DebtFields {
            iud: "TARI-2026-0001".to_owned(),
            debtor_kind: "F".to_owned(),
            debtor_id: "RSSMRA85T10A562S".to_owned(),
            debtor_name: "Mario Rossi".to_owned(),
            debtor_address: "Via Roma".to_owned(),
            debtor_civic_number: "1".to_owned(),
            debtor_postal_code: "20100".to_owned(),
            debtor_city: "Milano".to_owned(),
            debtor_province: "MI".to_owned(),
            debtor_country: "IT".to_owned(),
            debtor_email: "mario.rossi@example.it".to_owned(),
            due_date: "2026-12-31".to_owned(),
            amount: "120.50".to_owned(),
            debt_type: "TARI".to_owned(),
            causale: "TARI 2026 rata unica".to_owned(),
            collection_data: "9/0101002IM/".to_owned(),
            ..Default::default()
        }
    }

    fn codes(fields: &DebtFields, ctx: &RowContext) -> Vec<&'static str> {
        match validate(fields, ctx) {
            Ok(_) => vec![],
            Err(errors) => errors.into_iter().map(|e| e.code).collect(),
        }
    }

    /// MyPay's code, then Italian words: what an operator reads in the `_SCARTI` file.
    #[test]
    fn descriptions_are_italian_beside_mypays_codes() {
        let mut row = good();
        row.debtor_id = "RSSMRA85T10A562X".to_owned();
        row.collection_data = "9/ab".to_owned();
        let errors = validate(&row, &ctx()).unwrap_err();
        let shown: Vec<String> = errors.iter().map(ToString::to_string).collect();
        assert_eq!(
            shown,
            [
                "PAA_IMPORT_SINTASSI_CSV_COD_FISC_P_IVA: identificativo RSSMRA85T10A562X non valido: carattere di controllo errato, atteso S",
                "PAA_IMPORT_SINTASSI_CSV_DATI_RISCOSS: datiSpecificiRiscossione non validi: servono almeno 3 caratteri dopo la barra",
            ]
        );
    }

    /// The hardening issue's finding: a NUL in a debt field reached the Node's XML (ill-formed).
    #[test]
    fn control_characters_are_refused_in_every_text_field() {
        for (field, value) in [("causale", "TARI\u{0}2026"), ("name", "Mario\u{1b}[31m"), ("city", "Mi\u{7}lano")] {
            let mut row = good();
            match field {
                "causale" => row.causale = value.to_owned(),
                "name" => row.debtor_name = value.to_owned(),
                _ => row.debtor_city = value.to_owned(),
            }
            let errors = validate(&row, &ctx()).unwrap_err();
            assert!(errors.iter().any(|e| e.description.starts_with("CARATTERE NON AMMESSO NEL CAMPO")), "{errors:?}");
        }
    }

    #[test]
    fn a_good_row_passes() {
        let valid = validate(&good(), &ctx()).unwrap();
        assert_eq!(valid.amount, Cents::new(12050));
        assert_eq!(valid.payment_kinds, "ALL");
        assert_eq!(valid.due_date, Some(Date::new(2026, 12, 31).unwrap()));
        assert_eq!(valid.debtor.as_str(), "RSSMRA85T10A562S");
    }

    #[test]
    fn each_rule_has_its_code() {
        type Case = (fn(&mut DebtFields), &'static str);
        let cases: Vec<Case> = vec![
            (|f| f.iud.clear(), "PAA_IMPORT_SINTASSI_CSV"),
            (|f| f.iud = "000123".to_owned(), "PAA_IMPORT_SINTASSI_CSV_IUD"),
            (|f| f.iud = "x".repeat(36), "PAA_IMPORT_SINTASSI_CSV"),
            (|f| f.iuv = "123".to_owned(), "PAA_IMPORT_SINTASSI_CSV_IUV"),
            (|f| f.debtor_kind = "X".to_owned(), "PAA_IMPORT_SINTASSI_CSV_ID_UNIV_FG"),
            (|f| f.debtor_id = "RSSMRA85T10A562X".to_owned(), "PAA_IMPORT_SINTASSI_CSV_COD_FISC_P_IVA"),
            (|f| f.debtor_id = "ANONIMO".to_owned(), "PAA_IMPORT_SINTASSI_CSV_COD_FISC_P_IVA"),
            (|f| f.debtor_address = "Via Roma; 1".to_owned(), "PAA_IMPORT_SINTASSI_CSV_INDIRIZZO"),
            (|f| f.debtor_civic_number = "1-3".to_owned(), "PAA_IMPORT_SINTASSI_CSV_CIVICO"),
            (|f| f.debtor_postal_code = "201 00".to_owned(), "PAA_IMPORT_SINTASSI_CSV_CAP"),
            (|f| f.debtor_province = "XX".to_owned(), "PAA_IMPORT_SINTASSI_CSV_PROV"),
            (|f| f.debtor_country = "UK".to_owned(), "PAA_IMPORT_SINTASSI_CSV_NAZ"),
            (|f| f.debtor_email = "mario@".to_owned(), "PAA_IMPORT_SINTASSI_CSV_EMAIL"),
            (|f| f.due_date = "31/12/2026".to_owned(), "PAA_IMPORT_SINTASSI_CSV_DATA_SCADENZA_PAGAMENTO"),
            (|f| f.due_date = "2026-02-30".to_owned(), "PAA_IMPORT_SINTASSI_CSV_DATA_SCADENZA_PAGAMENTO"),
            (|f| f.due_date = "2026-11-29".to_owned(), "PAA_IMPORT_SINTASSI_CSV_DATA_SCADENZA_PAGAMENTO"),
            (|f| f.due_date.clear(), "PAA_IMPORT_DATA_SCADENZA_PAGAMENTO_OBBLIGATORIA"),
            (|f| f.amount = "120,50".to_owned(), "PAA_IMPORT_SINTASSI_CSV"),
            (|f| f.amount = "0.00".to_owned(), "PAA_IMPORT_SINTASSI_CSV_IMPORTO"),
            (|f| f.amount = "1000000000.00".to_owned(), "PAA_IMPORT_SINTASSI_CSV_IMPORTO"),
            (|f| f.fee = "x".to_owned(), "PAA_IMPORT_SINTASSI_CSV_COMMISSIONI_PA"),
            (
                |f| f.debt_type = "MARCA_BOLLO_DIGITALE".to_owned(),
                "PAA_IMPORT_SINTASSI_CSV_TIPO_DOVUTO_NON_VALIDO_MARCA_DA_BOLLO",
            ),
            (|f| f.payment_kinds = "ALL|PO".to_owned(), "PAA_IMPORT_SINTASSI_CSV_TIPO_VERS"),
            (|f| f.causale.clear(), "PAA_IMPORT_SINTASSI_CSV"),
            (|f| f.collection_data = "9/".to_owned(), "PAA_IMPORT_SINTASSI_CSV_DATI_RISCOSS"),
        ];
        for (change, code) in cases {
            let mut fields = good();
            change(&mut fields);
            assert_eq!(codes(&fields, &ctx()), vec![code], "{fields:?}");
        }
    }

    #[test]
    fn debt_type_lookup_results() {
        let mut context = ctx();
        context.debt_type = None;
        let mut fields = good();
        fields.due_date.clear();
        assert_eq!(codes(&fields, &context), ["PAA_IMPORT_SINTASSI_CSV_TIPO_DOVUTO_INESISTENTE"]);
        context.debt_type = Some(DebtTypeRules { active: false, allow_anonymous: true, due_date_mandatory: false });
        assert_eq!(codes(&fields, &context), ["PAA_IMPORT_SINTASSI_CSV_TIPO_DOVUTO_NON_ATTIVO_PER_ENTE"]);
    }

    #[test]
    fn anonymous_only_where_the_type_allows_it() {
        let mut context = ctx();
        if let Some(t) = context.debt_type.as_mut() {
            t.allow_anonymous = true;
        }
        let mut fields = good();
        fields.debtor_id = "anonimo".to_owned();
        assert!(validate(&fields, &context).is_ok());
    }

    #[test]
    fn all_errors_of_a_row_are_reported_together() {
        let mut fields = good();
        fields.iud.clear();
        fields.amount = "abc".to_owned();
        fields.causale.clear();
        assert_eq!(codes(&fields, &ctx()).len(), 3);
    }

    #[test]
    fn supplied_and_generated_iuvs() {
        let mut fields = good();
        fields.iuv = "01000000000000144".to_owned();
        // Positions 3-4 "00" are reserved to mypay's own generator.
        assert_eq!(codes(&fields, &ctx()), ["PAA_IMPORT_SINTASSI_CSV_IUV"]);
        fields.generate_iuv = true;
        assert!(validate(&fields, &ctx()).is_ok());
    }

    #[test]
    fn bilancio_amounts_must_sum_to_the_debt() {
        let mut fields = good();
        let read = |amounts: &[&str]| BilancioField::Read {
            xml: "<bilancio/>".to_owned(),
            amounts: amounts.iter().map(|a| (*a).to_owned()).collect(),
        };
        fields.bilancio = read(&["100.00", "20.50"]);
        assert_eq!(validate(&fields, &ctx()).unwrap().bilancio.as_deref(), Some("<bilancio/>"));
        for bad in [read(&["100.00", "20.00"]), read(&["120.50", "0"]), read(&["1,5"])] {
            fields.bilancio = bad;
            assert_eq!(codes(&fields, &ctx()), ["PAA_IMPORT_SINTASSI_CSV_BILANCIO"]);
        }
        fields.bilancio = BilancioField::Unreadable { xml: "<x>".to_owned(), reason: "malformed".to_owned() };
        assert_eq!(codes(&fields, &ctx()), ["PAA_IMPORT_SINTASSI_CSV_BILANCIO"]);
    }

    #[test]
    fn secondary_beneficiary_block() {
        let mut fields = good();
        let mb = SecondaryFields {
            fiscal_code: "01199250158".to_owned(),
            name: "Comune di Milano".to_owned(),
            iban: "IT60X0542811101000000123456".to_owned(),
            collection_data: "9/0101002IM/".to_owned(),
            amount: "15.00".to_owned(),
            ..Default::default()
        };
        fields.secondary = Some(mb.clone());
        let valid = validate(&fields, &ctx()).unwrap();
        assert_eq!(valid.secondary.unwrap().amount, Cents::new(1500));
        type Case = (fn(&mut SecondaryFields), &'static str);
        let cases: Vec<Case> = vec![
            (|m| m.fiscal_code = "01199250159".to_owned(), "PAA_IMPORT_SINTASSI_CSV_COD_FISC_ENTE_SECONDARIO"),
            (
                |m| m.iban = "IT00X0000000000000000000000".to_owned(),
                "PAA_IMPORT_SINTASSI_CSV_IBAN_ACCREDITO_ENTE_SECONDARIO",
            ),
            (|m| m.address = "Via #1".to_owned(), "PAA_IMPORT_SINTASSI_CSV_INDIRIZZO_ENTE_SECONDARIO"),
            (|m| m.civic_number = "1-2".to_owned(), "PAA_IMPORT_SINTASSI_CSV_CIVICO_ENTE_SECONDARIO"),
            (|m| m.country = "UK".to_owned(), "PAA_IMPORT_SINTASSI_CSV_NAZ_ENTE_SECONDARIO"),
            (|m| m.province = "XX".to_owned(), "PAA_IMPORT_SINTASSI_CSV_PROV_ENTE_SECONDARIO"),
            (|m| m.postal_code = "20 1".to_owned(), "PAA_IMPORT_SINTASSI_CSV_CAP_ENTE_SECONDARIO"),
            (|m| m.collection_data = "9/ABC".to_owned(), "PAA_IMPORT_SINTASSI_CSV_DATI_RISCOSS_ENTE_SECONDARIO"),
            (|m| m.amount = "0".to_owned(), "PAA_IMPORT_SINTASSI_CSV_IMPORTO_VERS_ENTE_SECONDARIO"),
            (|m| m.name.clear(), "PAA_IMPORT_SINTASSI_CSV"),
        ];
        for (change, code) in cases {
            let mut broken = mb.clone();
            change(&mut broken);
            fields.secondary = Some(broken);
            assert_eq!(codes(&fields, &ctx()), vec![code]);
        }
    }

    #[test]
    fn flags_and_a_repeated_iuv() {
        assert_eq!(parse_flag(""), Some(false));
        assert_eq!(parse_flag("TRUE"), Some(true));
        assert_eq!(parse_flag("False"), Some(false));
        assert_eq!(parse_flag("yes"), None);
        let mut fields = good();
        fields.iuv = "02000000000000184".to_owned();
        let mut context = ctx();
        context.segregation_code = SegregationCode::parse("02").unwrap();
        assert_eq!(codes(&fields, &context), ["PAA_IMPORT_SINTASSI_CSV_IUV"]);
        context.current_iuv = Some("02000000000000184".to_owned());
        assert!(validate(&fields, &context).is_ok());
    }

    #[test]
    fn dates() {
        assert_eq!(parse_date("2024-02-29"), Some(Date::new(2024, 2, 29).unwrap()));
        assert_eq!(parse_date("2023-02-29"), None);
        assert_eq!(parse_date("2024-2-29"), None);
        assert_eq!(parse_date("+024-02-29"), None);
    }
}
