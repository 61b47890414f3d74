//! The MyPay-compatible SIL web services at `/ws/pa/` (reference/mypay.md §4): the municipality's
//! own systems call them exactly as they call MyPay, changing only the endpoint URL.
//!
//! One entry point, [`handle`]: read the envelope, find the operation from the payload element
//! (namespace `ppt`, or `pa` for the reporting flows), authenticate the org (its SIL password, argon2id), run the operation through
//! the services, and answer `<op>Risposta`. Business errors are in-body fault beans with MyPay's
//! codes (HTTP 200); only a request naming no operation gets an HTTP 400 SOAP Fault. Every call is
//! journaled, passwords masked. MyPivot's SIL services at `/ws/pivot/` are `pivot`'s, on the same
//! authentication.

pub mod dovuti;
pub mod downloads;
mod exports;
mod operations;
pub mod pagati;
pub mod pivot;
mod reporting;
pub mod wsdl;

use std::time::Instant;

use crate::clock::Now;
use crate::services::journal::{Journal, JournalEntry};
use crate::services::links::Links;
use crate::services::sil::SilError;
use crate::services::sil::access;
use crate::soap::{self, Element, XmlWriter};
use crate::store::orgs::OrgRecord;
use crate::store::{Db, StoreError};

/// The namespace of the operations' elements (`ppt`).
pub const PPT_NS: &str = "http://www.regione.veneto.it/pagamenti/ente/";
/// The namespace of the reporting-flow operations' elements (`mypivot-pa-per-ente.wsdl`).
pub const PA_NS: &str = "http://www.regione.veneto.it/pagamenti/pa/";

/// An in-body fault bean: MyPay's code and a description.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    pub code: &'static str,
    pub description: String,
}

impl Fault {
    pub fn new(code: &'static str, description: impl Into<String>) -> Fault {
        Fault { code, description: description.into() }
    }

    /// MyPay's faultString: the code in words (`PAA SYSTEM ERROR`).
    pub fn string(&self) -> String {
        self.code.replace('_', " ")
    }
}

impl From<SilError> for Fault {
    fn from(err: SilError) -> Fault {
        match err {
            SilError::Fault { code, description } => Fault { code, description },
            SilError::UnknownOrg(ipa) => Fault::new("PAA_ENTE_NON_VALIDO", format!("ente {ipa} non valido")),
            SilError::NotInProduction { ipa, state } => {
                Fault::new("PAA_STATO_ENTE_NON_VALIDO", format!("ente {ipa} nello stato {}", state.code()))
            }
            SilError::BadPassword(ipa) => {
                Fault::new("PAA_ENTE_NON_VALIDO", format!("password non valida per l'ente {ipa}"))
            }
            SilError::Throttled(ipa) => Fault::new(
                "PAA_ENTE_NON_VALIDO",
                format!("troppe password errate per l'ente {ipa}: riprovare tra 15 minuti"),
            ),
            SilError::Service(crate::services::ServiceError::NotAdmitted(refusal)) => {
                Fault::new(crate::services::admin::adhesion::NotAdmitted::CODE, refusal.message_it())
            }
            SilError::Service(inner) => {
                tracing::error!(error = %inner, "SIL request failed");
                Fault::new("PAA_SYSTEM_ERROR", "errore di sistema")
            }
        }
    }
}

impl From<StoreError> for Fault {
    fn from(err: StoreError) -> Fault {
        tracing::error!(error = %err, "SIL request failed");
        Fault::new("PAA_SYSTEM_ERROR", "errore di sistema")
    }
}

pub use crate::services::sil::access::PasswordCache;

/// What the SIL endpoint needs for one request.
pub struct Sil<'a> {
    pub db: &'a Db,
    pub journal: &'a Journal,
    pub passwords: &'a PasswordCache,
    /// `server.public_url`, for the URLs given to the SIL.
    pub public_url: &'a str,
    /// The station id written in `Pagati` documents.
    pub station_id: &'a str,
    /// The installation's signed links: request tokens, download URLs, upload authorizations,
    /// notice PDF links.
    pub links: &'a Links,
    /// Where exports and import results live.
    pub data_dir: &'a std::path::Path,
    /// `sil.intermediary_password`: the secret of `paaSILInviaCarrelloDovuti`'s per-org hash.
    pub intermediary_password: &'a str,
    /// `sil.intermediary_org`: the org whose password authorizes the cross-org queries.
    pub intermediary_org: &'a str,
    /// The caller's address, which bounds password guesses.
    pub peer: Option<std::net::IpAddr>,
}

/// The HTTP answer: status and SOAP body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub status: u16,
    pub body: String,
}

/// One request as the operations see it.
pub(crate) struct Call<'a> {
    pub payload: &'a Element,
    /// `codIpaEnte` of the `intestazionePPT` header, when sent.
    pub header_ipa: Option<String>,
    pub now: Now,
}

impl Call<'_> {
    /// A child's trimmed text, `None` when absent or empty.
    pub fn text(&self, name: &str) -> Option<String> {
        self.payload.child_text(name).map(str::trim).filter(|t| !t.is_empty()).map(str::to_owned)
    }

    /// The org of the header (operations that carry `intestazionePPT`).
    pub fn header_org(&self) -> Result<String, Fault> {
        self.header_ipa.clone().ok_or_else(|| Fault::new("PAA_ENTE_NON_VALIDO", "intestazionePPT/codIpaEnte mancante"))
    }

    /// The org of the body's `codIpaEnte` (operations without the header).
    pub fn body_org(&self) -> Result<String, Fault> {
        self.text("codIpaEnte").ok_or_else(|| Fault::new("PAA_ENTE_NON_VALIDO", "codIpaEnte mancante"))
    }
}

/// What an operation answers: its response fields (already written) or a fault, and the org.
pub(crate) struct Outcome {
    pub org_id: Option<i64>,
    pub result: Result<String, Fault>,
}

impl Sil<'_> {
    /// `path` (a signed link of [`Links`]) as the absolute URL the SIL is given.
    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.public_url)
    }

    /// Checks, in MyPay's order, that `ipa` is an org, in production, and that `password` is its SIL
    /// password (trimmed). Every refusal is `PAA_ENTE_NON_VALIDO` but the state's.
    pub(crate) fn authenticate(&self, ipa: &str, password: Option<&str>) -> Result<OrgRecord, Fault> {
        access::authenticate(self.db, self.passwords, ipa, password, self.peer).map_err(Fault::from)
    }
}

/// Handles one SIL request.
pub fn handle(sil: &Sil<'_>, soap_action: Option<&str>, body: &[u8], now: Now) -> Reply {
    let started = Instant::now();
    let raw = String::from_utf8_lossy(body);
    let action = soap::soap_action(soap_action).and_then(operations::Operation::from_name);
    let (op, outcome) = match soap::parse_envelope_with_header(body) {
        Err(err) => match action {
            Some(op) => (op, Outcome { org_id: None, result: Err(Fault::new("PAA_XML_NON_VALIDO", err.to_string())) }),
            None => return refuse(sil, &raw, &format!("unreadable request: {err}"), now),
        },
        Ok((header, payload)) => {
            let by_element = operations::Operation::from_name(&payload.name)
                .filter(|op| payload.ns.as_deref() == Some(op.namespace()));
            let Some(op) = by_element else {
                return refuse(sil, &raw, &format!("unknown operation {}", payload.name), now);
            };
            let header_ipa = header
                .as_ref()
                .and_then(|h| h.children.iter().find(|c| c.name == "intestazionePPT"))
                .and_then(|h| h.child_text("codIpaEnte"))
                .map(|t| t.trim().to_owned());
            let call = Call { payload: &payload, header_ipa, now };
            (op, operations::run(sil, op, &call))
        }
    };
    let id = ipa_of(&raw);
    let inner = match &outcome.result {
        Ok(fields) => fields.clone(),
        Err(fault) => fault_bean(fault, &id, op.after_fault()),
    };
    let response = format!("<ppt:{}Risposta>{inner}</ppt:{}Risposta>", op.name(), op.name());
    let body = soap::envelope("ppt", op.namespace(), &response);
    sil.journal.record(
        sil.db,
        JournalEntry {
            at: now.iso(),
            actor: format!("sil:{id}"),
            org_id: outcome.org_id,
            action: op.name().to_owned(),
            object: None,
            outcome: outcome.result.as_ref().map_or_else(|f| f.code.to_owned(), |_| "OK".to_owned()),
            request: Some(redact_passwords(&raw)),
            response: Some(body.clone()),
            duration_ms: Some(i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX)),
        },
    );
    Reply { status: 200, body }
}

/// The `codIpaEnte` of a request (header or body), for the fault bean's `id` and the journal.
pub(super) fn ipa_of(raw: &str) -> String {
    let Ok((header, payload)) = soap::parse_envelope_with_header(raw.as_bytes()) else {
        return String::new();
    };
    header
        .as_ref()
        .and_then(|h| h.children.iter().find(|c| c.name == "intestazionePPT"))
        .and_then(|h| h.child_text("codIpaEnte"))
        .or_else(|| payload.child_text("codIpaEnte"))
        .map(|t| t.trim().to_owned())
        .unwrap_or_default()
}

/// `<fault>…</fault>`, then what the operation says after one (`after`: `<esito>KO</esito>`, ...).
fn fault_bean(fault: &Fault, id: &str, after: &str) -> String {
    fault_bean_of(fault.code, &fault.string(), id, &fault.description, after)
}

/// The fault bean MyPay's and MyPivot's SIL answers share, then `after`.
pub(super) fn fault_bean_of(code: &str, string: &str, id: &str, description: &str, after: &str) -> String {
    let mut w = XmlWriter::new();
    w.open("fault")
        .leaf("faultCode", code)
        .leaf("faultString", string)
        .leaf("id", id)
        .leaf("description", description)
        .close("fault");
    w.raw(after);
    w.finish()
}

/// A request below the contract (not SOAP, or no known operation): HTTP 400 and a SOAP Fault.
fn refuse(sil: &Sil<'_>, raw: &str, reason: &str, now: Now) -> Reply {
    refuse_as(sil, "sil", raw, reason, now)
}

/// [`refuse`], journaled under `action` (`sil`, `pivot`).
pub(super) fn refuse_as(sil: &Sil<'_>, action: &str, raw: &str, reason: &str, now: Now) -> Reply {
    sil.journal.record(
        sil.db,
        JournalEntry {
            at: now.iso(),
            actor: "sil".to_owned(),
            action: action.to_owned(),
            outcome: "SOAP_FAULT".to_owned(),
            request: Some(redact_passwords(raw)),
            response: Some(reason.to_owned()),
            ..JournalEntry::default()
        },
    );
    Reply { status: 400, body: soap::fault_envelope("Client", reason) }
}

/// The request as the journal keeps it: the whole content of every `password` and
/// `passwordMypivot` element replaced by `***`, whatever its lexical form (CDATA, comments, entity
/// references, child elements). The span masked runs from the end of the start tag to its matching
/// end tag, counting nested elements of the same name; without one, to the end of the text.
pub fn redact_passwords(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(start) = rest.find('<') {
        let (before, tag_and_more) = rest.split_at(start);
        out.push_str(before);
        let Some(end) = tag_and_more.find('>') else {
            out.push_str(tag_and_more);
            return out;
        };
        let (tag, after) = tag_and_more.split_at(end + 1);
        out.push_str(tag);
        rest = after;
        let Some(name) = password_start_tag(tag) else { continue };
        let content_end = matching_end(after, name).unwrap_or(after.len());
        out.push_str("***");
        rest = after.get(content_end..).unwrap_or_default();
    }
    out.push_str(rest);
    out
}

/// The qualified name of `tag` when it opens a password element (not an empty one).
fn password_start_tag(tag: &str) -> Option<&str> {
    let inner = tag.strip_prefix('<')?.strip_suffix('>')?;
    if inner.starts_with(['/', '!', '?']) || inner.ends_with('/') {
        return None;
    }
    let name = inner.split(|c: char| c.is_whitespace()).next()?;
    let local = name.rsplit(':').next()?;
    (local == "password" || local == "passwordMypivot").then_some(name)
}

/// Where the end tag matching an open `name` element starts in `text`, counting nested elements of
/// the same name; comments and CDATA sections are skipped whole, so a `</password>` inside one does
/// not end the element.
fn matching_end(text: &str, name: &str) -> Option<usize> {
    let mut depth = 0usize;
    let mut at = 0usize;
    while let Some(found) = text.get(at..)?.find('<') {
        let pos = at + found;
        let here = text.get(pos..)?;
        if here.starts_with("<!--") {
            at = pos + here.find("-->").map_or(here.len(), |e| e + 3);
            continue;
        }
        if here.starts_with("<![CDATA[") {
            at = pos + here.find("]]>").map_or(here.len(), |e| e + 3);
            continue;
        }
        let close = here.find('>').map_or(here.len(), |e| e + 1);
        let tag = here.get(..close).unwrap_or_default();
        let tag_name = |t: &str| {
            t.trim_start_matches(['<', '/'])
                .split(|c: char| c.is_whitespace() || c == '>' || c == '/')
                .next()
                .unwrap_or_default()
                .to_owned()
        };
        if tag.starts_with("</") && tag_name(tag) == name {
            if depth == 0 {
                return Some(pos);
            }
            depth -= 1;
        } else if !tag.starts_with("</") && !tag.ends_with("/>") && tag_name(tag) == name {
            depth += 1;
        }
        at = pos + close.max(1);
    }
    None
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]
    use super::*;

    /// The hardening issue's finding: a password in CDATA or split by a comment authenticated and
    /// reached the journal, since only its first text node was masked.
    #[test]
    fn passwords_are_masked_whatever_their_lexical_form() {
        for raw in [
            "<a><password><![CDATA[segreta1]]></password></a>",
            "<a><password>seg<!-- x -->reta1</password></a>",
            "<a><password>seg&#114;eta1</password></a>",
            "<a><password><!-- </password> -->segreta1</password></a>",
            "<a><password>s<b>x</b>egreta1</password></a>",
            "<a><ppt:password xmlns:ppt=\"urn:x\"><![CDATA[segreta1]]></ppt:password></a>",
        ] {
            let masked = redact_passwords(raw);
            assert!(!masked.contains("segreta1") && !masked.contains("seg") && !masked.contains("eta1"), "{masked}");
            assert!(masked.contains("password") && masked.contains("***"), "{masked}");
        }
        assert_eq!(redact_passwords("<a><password>open"), "<a><password>***");
    }

    #[test]
    fn passwords_never_reach_the_journal() {
        let raw = "<a><password>segreta1</password><ppt:x><password/><passwordMypivot>x</passwordMypivot></ppt:x></a>";
        assert_eq!(
            redact_passwords(raw),
            "<a><password>***</password><ppt:x><password/><passwordMypivot>***</passwordMypivot></ppt:x></a>"
        );
    }

    #[test]
    fn fault_strings_are_the_code_in_words() {
        assert_eq!(Fault::new("PAA_SYSTEM_ERROR", "").string(), "PAA SYSTEM ERROR");
    }
}
