//! The SIL's side of the `Pagati` and `PagatiConRicevuta` documents: a session's (or a payment
//! history's) lines handed to the one writer, `flows::pagati`.

use crate::flows::pagati::{self, Line};
use crate::services::sil::sessions::{OutcomeLine, PaymentOutcome};

pub use crate::flows::pagati::Kind;

/// What the document says besides its lines.
#[derive(Debug, Clone)]
pub struct Header<'a> {
    pub station_id: &'a str,
    /// `riferimentoMessaggioRichiesta`: what identified the request (the cart).
    pub request_ref: &'a str,
    /// `riferimentoDataRichiesta`, `YYYY-MM-DD`.
    pub request_date: &'a str,
    pub outcome: PaymentOutcome,
}

/// The document, as UTF-8 XML with its declaration.
pub fn write(kind: Kind, header: &Header<'_>, lines: &[OutcomeLine]) -> String {
    let org = lines.first().map(|l| &l.org);
    let header = pagati::Header {
        org_fiscal_code: org.map(|o| o.fiscal_code.as_str()).unwrap_or_default(),
        org_name: org.map(|o| o.name.as_str()).unwrap_or_default(),
        station_id: Some(header.station_id),
        request_ref: header.request_ref,
        request_date: header.request_date,
        outcome_code: header.outcome.code(),
    };
    let lines: Vec<Line<'_>> =
        lines.iter().map(|l| Line { debt: Some(&l.debt), receipt: l.receipt.as_ref() }).collect();
    pagati::write(kind, &header, &lines)
}
