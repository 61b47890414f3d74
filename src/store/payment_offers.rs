//! Payment offers: the creditor, amount and transfers the station answered to paGetPayment(V2)
//! for a debt, against which its receipt is checked.
//!
//! Stored as canonical JSON (`serde_json` writes object keys sorted), so that the same answer given
//! twice is one row and "was this offered?" is one index look-up.

use rusqlite::params;
use serde_json::{Value, json};

use super::{Conn, StoreError};
use crate::domain::Cents;
use crate::domain::payment_terms::{PaymentTerms, TermsTransfer};

fn encode(terms: &PaymentTerms) -> String {
    let transfers: Vec<Value> = terms
        .transfers
        .iter()
        .map(|t| json!({ "index": t.index, "amount": t.amount.get(), "fiscal_code": t.fiscal_code, "iban": t.iban }))
        .collect();
    json!({ "creditor": terms.creditor, "amount": terms.amount.get(), "transfers": transfers }).to_string()
}

fn decode(text: &str) -> Result<PaymentTerms, StoreError> {
    let corrupt = |reason: &str| StoreError::Corrupt { column: "payment_offer.terms", reason: reason.to_owned() };
    let value: Value = serde_json::from_str(text).map_err(|err| corrupt(&err.to_string()))?;
    let text_of = |v: &Value, key: &str| v.get(key).and_then(Value::as_str).map(str::to_owned);
    let int_of = |v: &Value, key: &str| v.get(key).and_then(Value::as_i64);
    let transfers = value
        .get("transfers")
        .and_then(Value::as_array)
        .ok_or_else(|| corrupt("no transfers"))?
        .iter()
        .map(|t| {
            Ok(TermsTransfer {
                index: int_of(t, "index").ok_or_else(|| corrupt("transfer without index"))?,
                amount: Cents::new(int_of(t, "amount").ok_or_else(|| corrupt("transfer without amount"))?),
                fiscal_code: text_of(t, "fiscal_code").ok_or_else(|| corrupt("transfer without fiscal code"))?,
                iban: text_of(t, "iban"),
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    Ok(PaymentTerms {
        creditor: text_of(&value, "creditor").ok_or_else(|| corrupt("no creditor"))?,
        amount: Cents::new(int_of(&value, "amount").ok_or_else(|| corrupt("no amount"))?),
        transfers,
    })
}

/// Records that the station offered `terms` for the debt; the same terms again change nothing.
pub fn insert_offer(conn: &Conn, debt_id: i64, terms: &PaymentTerms, now: &str) -> Result<(), StoreError> {
    conn.sqlite()
        .prepare_cached(
            "INSERT INTO payment_offer (debt_id, terms, offered_at) VALUES (?1, ?2, ?3) \
         ON CONFLICT (debt_id, terms) DO NOTHING",
        )?
        .execute(params![debt_id, encode(terms), now])?;
    Ok(())
}

/// Whether the station already offered exactly `terms` for the debt.
pub fn offer_exists(conn: &Conn, debt_id: i64, terms: &PaymentTerms) -> Result<bool, StoreError> {
    Ok(conn
        .sqlite()
        .prepare_cached("SELECT EXISTS (SELECT 1 FROM payment_offer WHERE debt_id = ?1 AND terms = ?2)")?
        .query_row(params![debt_id, encode(terms)], |row| row.get(0))?)
}

/// Every offer made for the debt, oldest first.
pub fn list_offers(conn: &Conn, debt_id: i64) -> Result<Vec<PaymentTerms>, StoreError> {
    let texts: Vec<String> = conn
        .sqlite()
        .prepare_cached("SELECT terms FROM payment_offer WHERE debt_id = ?1 ORDER BY id")?
        .query_map([debt_id], |row| row.get(0))?
        .collect::<Result<_, _>>()?;
    texts.iter().map(|t| decode(t)).collect()
}

/// When the station made each offer for the debt (stored instants), oldest first.
pub fn list_offer_times(conn: &Conn, debt_id: i64) -> Result<Vec<String>, StoreError> {
    Ok(conn
        .sqlite()
        .prepare_cached("SELECT offered_at FROM payment_offer WHERE debt_id = ?1 ORDER BY id LIMIT 100")?
        .query_map([debt_id], |row| row.get(0))?
        .collect::<Result<_, _>>()?)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn terms_round_trip_and_encode_canonically() {
        let mut terms = PaymentTerms::of_debt("80012345678", Cents::new(1500), Some((Cents::new(500), "01199250158")));
        terms.transfers[0].iban = Some("IT60X0542811101000000123456".to_owned());
        let text = encode(&terms);
        assert_eq!(decode(&text).unwrap(), terms);
        assert_eq!(encode(&decode(&text).unwrap()), text);
        assert!(text.starts_with("{\"amount\":2000,\"creditor\":\"80012345678\""), "{text}");
    }
}
