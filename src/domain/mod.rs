//! Pure domain rules of mypay: money, notice numbers and IUVs, tax identifiers, IBANs,
//! taxonomy codes, e-mail addresses, calendar days, the parties records name, and the states of
//! the business objects: the debt-position state machine, an org's onboarding, a flow import or
//! export, a cart at Checkout.
//!
//! Owns: the validated value types every other layer builds from untrusted text, the shapes
//! records share (`Party`, `Day`), the transitions a debt position may take, and every business
//! state with its stored code (`code()`, `from_code()`); the store converts records to and from
//! these enums. The states of mypay's own machinery (jobs, the mail outbox, outcome pushes,
//! anomalies, reporting flows) are enums beside their store records instead: no business rule
//! reads them.
//! Must never: do I/O, read the clock, draw random numbers, touch SQL, (de)serialize, or panic on
//! any input; wire spellings (SOAP, CSV) are converted to these types by the adapters.
//! Implements: `shared/reference/pagopa.md` §1.3, §1.11, §2 and `shared/reference/mypay.md` §1.7,
//! §2.3-2.4, §5.1, §6 (each submodule names its own sections).

pub mod adhesion;
pub mod cart_state;
pub mod day;
pub mod debt_row;
pub mod debt_state;
pub mod email;
pub mod flow_state;
pub mod form;
pub mod iban;
pub mod image_scale;
pub mod money;
pub mod notice;
pub mod notice_codes;
pub mod org;
pub mod party;
pub mod payment_options;
pub mod payment_terms;
pub mod places;
pub mod reasons_it;
pub mod receipt_shape;
pub mod reconciliation;
pub mod tax_id;
pub mod taxonomy;

pub use cart_state::CartState;
pub use day::Day;
pub use debt_state::{DebtEvent, DebtState};
pub use email::Email;
pub use flow_state::{ExportState, ImportState, ReconExportState};
pub use iban::Iban;
pub use money::Cents;
pub use notice::{ApplicationCode, GeneratorId, Iuv, NoticeNumber, SegregationCode, generate_iuv17};
pub use org::OrgState;
pub use party::Party;
pub use tax_id::{FiscalCode, OrgFiscalCode, PartyId, PartyKind};
pub use taxonomy::{CollectionData, TaxonomyCode};

/// Longest part of an offending input that an error message repeats.
///
/// Errors name the value they reject, but an upload may carry megabytes in one field, and the
/// message ends up in logs and HTML pages.
const SHOWN_MAX_CHARS: usize = 64;

/// The offending value as an error message shows it: at most [`SHOWN_MAX_CHARS`] characters,
/// with `…` marking a cut.
fn shown(value: &str) -> String {
    match value.char_indices().nth(SHOWN_MAX_CHARS) {
        Some((cut, _)) => {
            let head = value.get(..cut).unwrap_or_default();
            format!("{head}…")
        }
        None => value.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

    use super::shown;

    #[test]
    fn shown_keeps_short_values_and_cuts_long_ones() {
        assert_eq!(shown("abc"), "abc");
        let long = "é".repeat(100);
        let cut = shown(&long);
        assert_eq!(cut.chars().count(), 65);
        assert!(cut.ends_with('…'));
    }
}
