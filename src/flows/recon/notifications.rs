//! D, the municipality's payment notifications ("import pagati", mypivot.md §1.6): UTF-8, `;`,
//! `"` quotes with `\` escapes, the header line skipped (columns are positional), exactly 20
//! fields. Amounts `###.##` with a decimal dot only: `60,00` is refused (MyPivot's
//! `DecimalFormat` read it as 60, §8 a); days `yyyy-MM-dd`; `bilancio` in MyPay's own format
//! (`bilancio/capitolo/accertamento`, §8 k), read by `flows::import::read_bilancio`. A row's
//! failures are joined by `|` (MyPivot's `de_rifiuto`).
//! Must never: truncate a required field (only the optional address fields are cut, as MyPivot
//! does), or read an amount in any other spelling.

use super::archive::Zip;
use super::csv_lines;
use super::{Item, Out, ReadError};
use crate::domain::debt_row::BilancioField;
use crate::domain::reconciliation::PaymentNotification;
use crate::domain::{Cents, Day, Party};
use crate::flows::import::read_bilancio;

/// The fields of a notification row.
pub const FIELDS: usize = 20;

/// MyPivot's messages.
pub const BAD_DATE: &str = "Data Esecuzione Pagamento: formato errato. Formato corretto 'yyyy-MM-dd'";
pub const BAD_AMOUNT: &str = "importo singolo versamento: errato campo numerico. Formato corretto '###.##'";
pub const BAD_FEE: &str = "commissione carico pa: errato campo numerico. Formato corretto '###.##'";

pub(super) fn read<E>(zip: &mut Zip, base: &str, out: &mut Out<'_, E>) -> Result<(), ReadError<E>> {
    csv_lines::read(zip, base, out, csv_lines::split_quoted, |fields| {
        row(fields).map(|notification| Item::Notification(Box::new(notification)))
    })
}

/// The columns: name, whether required, longest length.
const COLUMNS: [(&str, bool, usize); FIELDS] = [
    ("IUD", true, 35),
    ("codIuv", true, 35),
    ("tipoIdentificativoUnivoco", true, 1),
    ("codiceIdentificativoUnivoco", true, 35),
    ("anagraficaPagatore", true, 70),
    ("indirizzoPagatore", false, 70),
    ("civicoPagatore", false, 16),
    ("capPagatore", false, 16),
    ("localitaPagatore", false, 35),
    ("provinciaPagatore", false, 2),
    ("nazionePagatore", false, 2),
    ("mailPagatore", false, 256),
    ("dataEsecuzionePagamento", true, 10),
    ("importoDovutoPagato", true, 15),
    ("commissioneCaricoPa", false, 15),
    ("tipoDovuto", true, 64),
    // Required at MyPivot, but GovPay's connector leaves it empty: mypay accepts it empty.
    ("tipoVersamento", false, 32),
    ("causaleVersamento", true, 140),
    ("datiSpecificiRiscossione", true, 140),
    ("bilancio", false, 4096),
];

/// Optional address fields MyPivot cuts to their length instead of refusing (columns 6-11).
const CUT: std::ops::RangeInclusive<usize> = 5..=10;

fn row(fields: &[String]) -> Result<PaymentNotification, String> {
    if fields.len() != FIELDS {
        return Err(format!("numero di campi errato: attesi {FIELDS}, trovati {}", fields.len()));
    }
    let mut errors: Vec<String> = Vec::new();
    let mut values: Vec<String> = Vec::with_capacity(FIELDS);
    for (at, ((name, required, max), value)) in COLUMNS.iter().zip(fields).enumerate() {
        if *required && value.is_empty() {
            errors.push(format!("{name}: campo obbligatorio"));
        }
        if CUT.contains(&at) {
            values.push(value.chars().take(*max).collect());
        } else {
            if value.chars().count() > *max {
                errors.push(format!("{name}: lunghezza massima {max} caratteri"));
            }
            values.push(value.clone());
        }
    }
    let field = |at: usize| values.get(at).map(String::as_str).unwrap_or("");
    let optional = |at: usize| Some(field(at)).filter(|v| !v.is_empty()).map(str::to_owned);
    if !field(2).is_empty() && !matches!(field(2), "F" | "G") {
        errors.push("tipoIdentificativoUnivoco: valori ammessi F, G".to_owned());
    }
    let paid_on = Day::parse(field(12)).ok();
    if paid_on.is_none() && !field(12).is_empty() {
        errors.push(BAD_DATE.to_owned());
    }
    let amount = amount_of(field(13));
    if amount.is_none() && !field(13).is_empty() {
        errors.push(BAD_AMOUNT.to_owned());
    }
    let fee = if field(14).is_empty() { Ok(None) } else { amount_of(field(14)).map(Some).ok_or(()) };
    if fee.is_err() {
        errors.push(BAD_FEE.to_owned());
    }
    let bilancio = match read_bilancio(field(19)) {
        BilancioField::Absent => None,
        BilancioField::Read { xml, .. } => Some(xml),
        BilancioField::Unreadable { reason, .. } => {
            errors.push(format!("bilancio non valido: {reason}"));
            None
        }
    };
    match (paid_on, amount, fee) {
        (Some(paid_on), Some(amount), Ok(fee)) if errors.is_empty() => Ok(PaymentNotification {
            iud: field(0).to_owned(),
            iuv: field(1).to_owned(),
            payer: Party {
                kind: field(2).to_owned(),
                id: field(3).to_owned(),
                name: field(4).to_owned(),
                address: optional(5),
                civic_number: optional(6),
                postal_code: optional(7),
                city: optional(8),
                province: optional(9),
                country: optional(10),
                email: optional(11),
            },
            paid_on,
            amount,
            fee,
            debt_type: field(15).to_owned(),
            payment_kind: field(16).to_owned(),
            causale: field(17).to_owned(),
            collection_data: field(18).to_owned(),
            bilancio,
        }),
        _ => Err(errors.join("|")),
    }
}

/// D's amount, `###.##`: digits, a dot and at most two decimals, nothing else (`60,00` and
/// `1.234,56` are refused, not read as 60 and 1.234).
fn amount_of(text: &str) -> Option<Cents> {
    Cents::parse_decimal(text).ok()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]
    use super::*;

    fn fields(line: &str) -> Vec<String> {
        line.split(';').map(str::to_owned).collect()
    }

    const ROW: &str = "IUD1;01000000000012301;F;RSSMRA80A01H501U;ROSSI MARIO;;;;;;;;2024-05-16;150.00;;TARI;PO;TARI 2024;9/0101100IM/;";

    #[test]
    fn amounts_are_read_with_a_dot_only() {
        assert_eq!(row(&fields(ROW)).unwrap().amount, Cents::new(15000));
        // MyPivot read `60,00` as 60 and `1.234,56` as 1.234: mypay refuses both (§8 a).
        let comma = ROW.replace("150.00", "60,00");
        assert_eq!(row(&fields(&comma)).unwrap_err(), BAD_AMOUNT);
        let grouped = ROW.replace("150.00", "1.234,56");
        assert_eq!(row(&fields(&grouped)).unwrap_err(), BAD_AMOUNT);
        let fee = ROW.replace("150.00;;", "150.00;1,00;");
        assert_eq!(row(&fields(&fee)).unwrap_err(), BAD_FEE);
    }

    #[test]
    fn field_count_and_required_fields() {
        assert_eq!(row(&fields("a;b")).unwrap_err(), "numero di campi errato: attesi 20, trovati 2");
        let no_iud = ROW.replacen("IUD1", "", 1);
        assert_eq!(row(&fields(&no_iud)).unwrap_err(), "IUD: campo obbligatorio");
        let long_iud = ROW.replacen("IUD1", &"X".repeat(36), 1);
        assert_eq!(row(&fields(&long_iud)).unwrap_err(), "IUD: lunghezza massima 35 caratteri");
        let long_province = ROW.replacen(";;;;;;;;2024", ";;;;;XXX;;;2024", 1);
        assert_eq!(row(&fields(&long_province)).unwrap().payer.province.as_deref(), Some("XX"), "cut, as MyPivot");
    }

    #[test]
    fn bilancio_in_mypays_format() {
        let xml = "<bilancio><capitolo><codCapitolo>3010</codCapitolo><codUfficio>SCUOLA</codUfficio><accertamento>\
                   <codAccertamento>2024/15</codAccertamento><importo>150.00</importo></accertamento></capitolo></bilancio>";
        let with = format!("{}{xml}", ROW);
        assert_eq!(row(&fields(&with)).unwrap().bilancio.as_deref(), Some(xml));
        let broken = format!("{}<bilancio/>", ROW);
        assert_eq!(row(&fields(&broken)).unwrap_err(), "bilancio non valido: bilancio senza capitolo");
    }
}
