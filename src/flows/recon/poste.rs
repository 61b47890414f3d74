//! Y, a Poste Italiane account statement (mypivot.md §1.4): ISO-8859-15, `;`, `"` quotes. Line 1
//! `<label>;<IBAN>` gives the account (the IBAN from its 21st character: the last 7 of an Italian
//! IBAN), line 2 is the header, the last line a footer; in between, by position: data contabile,
//! data valuta (`dd/MM/yyyy`), codice causale, causale, divisa, addebito, accredito (`292,00`),
//! accessoria, causale movimento (where the keys are). Only credits are movements, numbered
//! `P000001`… within the file in the year of their data contabile; a credit with neither key is
//! refused with MyPivot's message.
//! Must never: read a debit as a movement, or guess the account from another line.

use super::archive::{Zip, io_error};
use super::csv_lines::UNREADABLE_LINE;
use super::{FileRejection, Item, MAX_ROWS, Out, ReadError};
use crate::domain::reconciliation::causale;
use crate::domain::reconciliation::{Bolletta, Source, TreasuryEvent, TreasuryMovement};
use crate::flows::csv_row;

/// MyPivot's message for a credit without keys.
pub const NO_KEYS: &str = "Non è stato possibile decodificare, dal campo delegato del file csv, un valore per 'codice iuf - bi2' oppure un valore 'codice IUV'";

/// Who sent the money, as MyPivot records every Poste movement.
pub const PAYER: &str = "POSTE ITALIANE SPA";

pub(super) fn read<E>(zip: &mut Zip, base: &str, out: &mut Out<'_, E>) -> Result<(), ReadError<E>> {
    let index = zip.named_entry(base, &["csv"])?;
    let mut lines = zip.lines(index)?;
    let first = lines.next_line().map_err(io_error)?.map(latin9).ok_or(FileRejection::Empty)?;
    let account = account_of(&first).ok_or(FileRejection::NoIban)?;
    // The header; and the footer is the last line, known only at the end: a row waits one line.
    lines.next_line().map_err(io_error)?;
    let mut state = State { account, sequence: 0 };
    let mut waiting: Option<(u64, String)> = None;
    let mut rows = 0_u64;
    while let Some(bytes) = lines.next_line().map_err(io_error)? {
        let text = latin9(bytes);
        let line = lines.line_no;
        if text.trim().is_empty() {
            continue;
        }
        rows += 1;
        if rows > MAX_ROWS {
            return Err(FileRejection::TooManyRows(MAX_ROWS).into());
        }
        if let Some((line, text)) = waiting.replace((line, text)) {
            state.row(line, &text, out)?;
        }
    }
    if waiting.is_some() {
        out.ignore();
    }
    Ok(())
}

struct State {
    account: String,
    sequence: u32,
}

impl State {
    fn row<E>(&mut self, line: u64, text: &str, out: &mut Out<'_, E>) -> Result<(), ReadError<E>> {
        let mut split = Vec::new();
        if csv_row::split(text, &mut split).is_err() || split.len() < 9 {
            return out.reject(line, vec![super::shown(text)], UNREADABLE_LINE.to_owned());
        }
        let fields: Vec<String> = split.iter().map(|f| f.trim().to_owned()).collect();
        let field = |at: usize| fields.get(at).map(String::as_str).unwrap_or("");
        if field(6).is_empty() {
            out.ignore();
            return Ok(());
        }
        let shown = || fields.iter().map(|f| super::shown(f)).collect::<Vec<_>>();
        let mut errors = Vec::new();
        let booking_day = super::day_dmy(field(0));
        if booking_day.is_none() {
            errors.push(format!("data contabile [{}] non valida: formato atteso dd/MM/yyyy", field(0)));
        }
        let value_day = if field(1).is_empty() { Ok(None) } else { super::day_dmy(field(1)).map(Some).ok_or(()) };
        if value_day.is_err() {
            errors.push(format!("data valuta [{}] non valida: formato atteso dd/MM/yyyy", field(1)));
        }
        let amount = super::amount_comma(field(6));
        if amount.is_none() {
            errors.push(format!("importo accredito [{}] non valido: formato atteso 1234,56", field(6)));
        }
        let keys = causale::keys(field(8));
        if keys.iuf.is_none() && keys.iuv.is_none() {
            errors.push(NO_KEYS.to_owned());
        }
        let (Some(booking_day), Ok(value_day), Some(amount), true) =
            (booking_day, value_day, amount, errors.is_empty())
        else {
            return out.reject(line, shown(), errors.join("|"));
        };
        self.sequence = self.sequence.saturating_add(1);
        let movement = TreasuryMovement {
            source: Source::PosteStatement,
            bolletta: Some(Bolletta {
                year: i32::from(booking_day.date().year()),
                number: format!("P{:06}", self.sequence),
            }),
            account: Some(self.account.clone()),
            booking_day,
            value_day,
            amount,
            causale: field(8).to_owned(),
            payer_name: Some(PAYER.to_owned()),
            iuf: keys.iuf,
            iuv: keys.iuv,
            end_to_end_id: None,
            document: None,
            provisional: None,
            bank: None,
        };
        out.give(Item::Treasury(TreasuryEvent::Movement(Box::new(movement))))
    }
}

/// The account of line 1 `<label>;<IBAN>`: the IBAN (spaces removed) from its 21st character.
fn account_of(first: &str) -> Option<String> {
    let mut split = Vec::new();
    csv_row::split(first, &mut split).ok()?;
    let iban: String = split.get(1)?.chars().filter(|c| !c.is_whitespace()).collect();
    if iban.len() < 21 || !iban.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return None;
    }
    iban.get(20..).map(str::to_owned)
}

/// ISO-8859-15 to text: Latin-1 but for eight code points (`€` at 0xA4 …).
fn latin9(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|&b| match b {
            0xA4 => '€',
            0xA6 => 'Š',
            0xA8 => 'š',
            0xB4 => 'Ž',
            0xB8 => 'ž',
            0xBC => 'Œ',
            0xBD => 'œ',
            0xBE => 'Ÿ',
            b => char::from(b),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]
    use super::*;

    #[test]
    fn the_account_is_the_ibans_tail() {
        assert_eq!(account_of("IBAN;IT60X0760103200001012345678").as_deref(), Some("2345678"));
        assert_eq!(account_of("IBAN;IT60 X076 0103 2000 0101 2345 678").as_deref(), Some("2345678"));
        assert_eq!(account_of("IBAN;"), None);
        assert_eq!(account_of("Data contabile;Data valuta;Causale"), None);
    }

    #[test]
    fn latin9_differs_from_latin1() {
        assert_eq!(latin9(b"caff\xe8 \xa4 5"), "caffè € 5");
    }
}
