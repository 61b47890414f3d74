//! The people and organisations a record names: the debtor of a debt or of a receipt, the payer
//! of a receipt, a debt's secondary beneficiary.
//!
//! Owns: [`Party`], the one shape of their fields (entity type, identifier, name, address,
//! e-mail) wherever a record holds them, so that every layer reads the same names.
//! Must never: validate or normalize: a `Party` holds what was stored. The checks are made where a
//! value enters (`debt_row::validate` for a debt's debtor and beneficiary, the station's schema
//! checks for a receipt's parties), and what a receipt carries is kept as the Node sent it.
//! Implements: the `soggetto` fields of `shared/reference/mypay.md` §2.4 (columns 2-10 and the
//! 1_4 beneficiary block) and `shared/reference/pagopa.md` §1.3 (`ctSubject`).

/// A debtor, payer or beneficiary as a record holds it. Text rather than `PartyKind`/`PartyId`:
/// a receipt's parties come from the Node and are stored as received, and a debt's were checked
/// when it was written.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Party {
    /// Entity type: `F` (natural person) or `G` (legal person).
    pub kind: String,
    /// Tax id, or codice identificativo univoco (`ANONIMO` for an anonymous debtor).
    pub id: String,
    /// Full name (anagrafica).
    pub name: String,
    /// Street (indirizzo).
    pub address: Option<String>,
    /// Street number (civico).
    pub civic_number: Option<String>,
    /// Postal code (CAP).
    pub postal_code: Option<String>,
    /// Locality (località).
    pub city: Option<String>,
    /// Province (two letters in Italy).
    pub province: Option<String>,
    /// Nation (ISO 3166-1 alpha-2).
    pub country: Option<String>,
    pub email: Option<String>,
}
