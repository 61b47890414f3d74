//! C, the treasurer's giornale di cassa as CSV (mypivot.md §1.2): UTF-8, `;`, `"` quotes with `\`
//! escapes, the first line always skipped, empty lines skipped, fields trimmed; the 7 fields at
//! the positions chosen at upload ([`CashColumns`]). Amounts `1234.56` (Java's `BigDecimal`:
//! no comma, no thousands separator), days `yyyy-MM-dd`. A row with neither IUF nor IUV is kept
//! (it becomes TES_NO_MATCH); a row failing a field check is refused with every failure, each
//! after a `|`, as MyPivot's SCARTI log writes them.
//! Must never: read a bolletta's number longer than 7 characters (MyPivot's column), or guess a
//! date's or amount's other spelling.

use super::archive::Zip;
use super::csv_lines;
use super::{CashColumns, Item, Out, ReadError};
use crate::domain::reconciliation::causale;
use crate::domain::reconciliation::{Bolletta, Source, TreasuryEvent, TreasuryMovement};
use crate::domain::{Cents, Day};

pub(super) fn read<E>(
    zip: &mut Zip,
    base: &str,
    columns: CashColumns,
    out: &mut Out<'_, E>,
) -> Result<(), ReadError<E>> {
    csv_lines::read(zip, base, out, csv_lines::split_quoted, |fields| {
        row(fields, columns).map(|movement| Item::Treasury(TreasuryEvent::Movement(Box::new(movement))))
    })
}

/// One row's movement, or every field's failure, each after a `|`.
fn row(fields: &[String], columns: CashColumns) -> Result<TreasuryMovement, String> {
    let [year, number, booking, payer, causale_text, amount, value] =
        columns.positions.map(|at| at.checked_sub(1).and_then(|i| fields.get(i)).map(String::as_str).unwrap_or(""));
    let mut errors = String::new();
    let mut fail = |message: String| {
        errors.push('|');
        errors.push_str(&message);
    };
    let year_ok =
        (year.len() == 4 && year.bytes().all(|b| b.is_ascii_digit())).then(|| year.parse::<i32>().ok()).flatten();
    if year_ok.is_none() {
        fail(format!("de_anno_bolletta [{year}] non valido"));
    }
    if number.is_empty() || number.chars().count() > 7 {
        fail(format!("cod_bolletta [{number}] non valido"));
    }
    let booking_day = Day::parse(booking).ok();
    if booking_day.is_none() {
        fail(format!("data contabile [{booking}] non valida: formato atteso yyyy-MM-dd"));
    }
    let cents = amount_of(amount);
    if cents.is_none() {
        fail(format!("importo [{amount}] non valido: formato atteso 1234.56"));
    }
    let value_day = if value.is_empty() { Ok(None) } else { Day::parse(value).map(Some) };
    if value_day.is_err() {
        fail(format!("data valuta [{value}] non valida: formato atteso yyyy-MM-dd"));
    }
    let keys = causale::keys(causale_text);
    if keys.iuf.as_ref().is_some_and(|iuf| iuf.chars().count() > 35) {
        fail("cod_id_univoco_flusso max length".to_owned());
    }
    if keys.iuv.as_ref().is_some_and(|iuv| iuv.chars().count() > 35) {
        fail("cod_id_univoco_versamento:exceed max length".to_owned());
    }
    match (year_ok, booking_day, cents, value_day) {
        (Some(year), Some(booking_day), Some(amount), Ok(value_day)) if errors.is_empty() => Ok(TreasuryMovement {
            source: Source::CashJournal,
            bolletta: Some(Bolletta { year, number: number.to_owned() }),
            account: None,
            booking_day,
            value_day,
            amount,
            causale: causale_text.to_owned(),
            payer_name: (!payer.is_empty()).then(|| payer.to_owned()),
            iuf: keys.iuf,
            iuv: keys.iuv,
            end_to_end_id: None,
            document: None,
            provisional: None,
            bank: None,
        }),
        _ => Err(errors),
    }
}

/// C's amount: `BigDecimal`'s plain form, dot decimals (`292.00`, `292`), a credit above zero.
fn amount_of(text: &str) -> Option<Cents> {
    Cents::parse_decimal(text).ok().filter(|c| c.is_positive())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]
    use super::*;

    fn fields(line: &str) -> Vec<String> {
        line.split(';').map(str::to_owned).collect()
    }

    #[test]
    fn positions_chosen_at_upload() {
        let columns = CashColumns { positions: [7, 6, 5, 4, 3, 2, 1] };
        let movement =
            row(&fields("2024-05-18;12.50;/RFB/01000000000012303;ROSSI;2024-05-17;99;2024"), columns).unwrap();
        assert_eq!(movement.bolletta, Some(Bolletta { year: 2024, number: "99".to_owned() }));
        assert_eq!(movement.amount, Cents::new(1250));
        assert_eq!(movement.value_day.map(|d| d.text()).as_deref(), Some("2024-05-18"));
        assert_eq!(movement.iuv.as_deref(), Some("01000000000012303"));
        // A position past the row's end reads as empty, and fails its check.
        let short = row(&fields("2024;1"), CashColumns::default()).unwrap_err();
        assert_eq!(
            short,
            "|data contabile [] non valida: formato atteso yyyy-MM-dd|importo [] non valido: formato atteso 1234.56"
        );
        assert!(row(&fields("2024;1;2024-05-17;;;0.00;"), CashColumns::default()).is_err(), "zero is no credit");
        let long_iuf = format!("2024;1;2024-05-17;;/PUR/LGPE-RIVERSAMENTO/URI/2024-05-17{};1.00;", "X".repeat(30));
        assert_eq!(row(&fields(&long_iuf), CashColumns::default()).unwrap_err(), "|cod_id_univoco_flusso max length");
    }
}
