//! P, the legacy Poste rendicontazione (mypivot.md §1.5): a header line, then comma-separated
//! `Data_Operazione` (`dd/MM/yyyy`), `Ufficio_Postale`, `Valuta`, `Importo` (`150.00`),
//! `Data_Accredito`, `Quarto_campo`, whose `*`-less first 16 characters are the IUR. Historical:
//! MyPivot 4 no longer offers it, and its rows carry no IUV, so they never join a receipt.
//! Must never: read a row with another number of fields.

use super::archive::Zip;
use super::csv_lines::{self, UNREADABLE_LINE};
use super::{Item, Out, ReadError};
use crate::domain::Cents;
use crate::domain::reconciliation::PosteReportingRow;

pub(super) fn read<E>(zip: &mut Zip, base: &str, out: &mut Out<'_, E>) -> Result<(), ReadError<E>> {
    let split = |text: &str| Some(text.split(',').map(|f| f.trim().trim_matches('"').trim().to_owned()).collect());
    csv_lines::read(zip, base, out, split, |fields| row(fields).map(Item::PosteReporting))
}

fn row(fields: &[String]) -> Result<PosteReportingRow, String> {
    let [operation, office, _currency, amount, credit, fourth] = fields else {
        return Err(UNREADABLE_LINE.to_owned());
    };
    let mut errors = Vec::new();
    let operation_day = super::day_dmy(operation);
    if operation_day.is_none() {
        errors.push(format!("Data_Operazione [{operation}] non valida: formato atteso dd/MM/yyyy"));
    }
    let cents = Cents::parse_decimal(amount).ok().filter(|c| c.is_positive());
    if cents.is_none() {
        errors.push(format!("Importo [{amount}] non valido: formato atteso 1234.56"));
    }
    let credit_day = super::day_dmy(credit);
    if credit_day.is_none() {
        errors.push(format!("Data_Accredito [{credit}] non valida: formato atteso dd/MM/yyyy"));
    }
    let iur: String = fourth.chars().filter(|c| *c != '*').take(16).collect();
    if iur.is_empty() {
        errors.push("Quarto_campo: campo obbligatorio".to_owned());
    }
    match (operation_day, cents, credit_day) {
        (Some(operation_day), Some(amount), Some(credit_day)) if errors.is_empty() => {
            Ok(PosteReportingRow { operation_day, office: office.clone(), amount, credit_day, iur })
        }
        _ => Err(errors.join("|")),
    }
}
