//! The expired-debts export ("dovuti scaduti", reference/mypay.md §3.5): open debts of types with a
//! mandatory due date whose due date has passed, in the import row layout, so the org can re-issue
//! or annul them.

use crate::domain::Cents;
use crate::store::debts::DebtRecord;

/// The columns, in order.
pub const HEADER: [&str; 22] = [
    "IUD",
    "codIuv",
    "dataCreazione",
    "tipoIdentificativoUnivoco",
    "codiceIdentificativoUnivoco",
    "anagraficaPagatore",
    "indirizzoPagatore",
    "civicoPagatore",
    "capPagatore",
    "localitaPagatore",
    "provinciaPagatore",
    "nazionePagatore",
    "mailPagatore",
    "dataEsecuzionePagamento",
    "importoDovuto",
    "commissioneCaricoPa",
    "tipoDovuto",
    "tipoVersamento",
    "causaleVersamento",
    "datiSpecificiRiscossione",
    "bilancio",
    "flgGeneraIuv",
];

/// The flow name of expired-debts export `id`.
pub fn file_stem(id: i64) -> String {
    format!("EXP_SCADUTI_{id}")
}

/// `dataCreazione`: the municipality's calendar day (`yyyy-MM-dd`, mypay.md §3.3) of the stored UTC
/// creation time, so a debt created at 23:30 UTC belongs to the next Italian day.
fn creation_day(created_at: &str) -> String {
    crate::clock::rome_local(created_at).map_or_else(|| created_at.to_owned(), |t| t.date().to_string())
}

/// The fields of one debt, in header order.
pub fn row_fields(d: &DebtRecord) -> Vec<String> {
    let s = |v: &Option<String>| v.clone().unwrap_or_default();
    vec![
        d.iud.clone(),
        d.iuv.as_ref().map(|i| i.as_str().to_owned()).unwrap_or_default(),
        creation_day(&d.created_at),
        d.debtor.kind.clone(),
        d.debtor.id.clone(),
        d.debtor.name.clone(),
        s(&d.debtor.address),
        s(&d.debtor.civic_number),
        s(&d.debtor.postal_code),
        s(&d.debtor.city),
        s(&d.debtor.province),
        s(&d.debtor.country),
        s(&d.debtor.email),
        d.due_date.map(|day| day.to_string()).unwrap_or_default(),
        d.amount_cents.to_decimal_string(),
        d.fee_cents.map(Cents::to_decimal_string).unwrap_or_default(),
        d.debt_type_code.clone(),
        d.payment_kinds.clone(),
        d.causale.clone(),
        d.collection_data.clone(),
        s(&d.bilancio),
        if d.generate_iuv { "true" } else { "false" }.to_owned(),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_creation_day_is_the_rome_day() {
        assert_eq!(creation_day("2026-01-15T23:30:00Z"), "2026-01-16");
        assert_eq!(creation_day("2026-03-28T23:30:00Z"), "2026-03-29");
        assert_eq!(creation_day("2026-10-25T23:30:00Z"), "2026-10-26");
        assert_eq!(creation_day("2026-10-25T22:59:00Z"), "2026-10-25");
    }
}
