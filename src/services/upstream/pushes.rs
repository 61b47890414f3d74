//! The region's outcome pushes (reference/regional.md §3): who sent one ([`authenticate`], on the
//! request's head, before its body is read) and what is kept of it ([`receive`]).
//!
//! A stock MyPay signs with a static token that does not cover the body, so a push is a *hint*: it
//! is stored (`RECEIVED`), never applied. The next step asks the region with
//! `paaSILChiediPagatiConRicevuta` ([`pending`] lists what to ask about, [`mark`] records the
//! answer) and only a confirmed receipt reaches the debts. MyPay retries any fault for 14 days, so
//! every well-signed push is taken: the same body again is a `REPLAY` row (nothing applied twice),
//! a body that is not `{rt, esito}` in base64 or names no IUV is `UNREADABLE` (kept whole), a push
//! naming an IUV the org does not know is stored and flagged. Only a database failure is an error,
//! which the adapter answers with MyPay's fault so that the region tries again.
//! Must never: mark anything paid; log or store a token or a key.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::settings::push_key;
use super::token::{self, Expected, Refusal};
use crate::clock::Now;
use crate::services::ServiceError;
use crate::store::upstream::{self, HintRecord, HintState, NewHint};
use crate::store::{Db, StoreError, audit, debts};

/// The most orgs whose key is tried for one token: a box serves a few orgs; a token with a `kid`
/// is tried with its org's only.
const MAX_KEYS_TRIED: u32 = 32;
/// Identifiers read from a push longer than this are not MyPay's (`stText35`) and are left out.
const MAX_ID_CHARS: usize = 64;

/// The org a push is from, as its token proved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushSender {
    pub org_id: i64,
    pub ipa_code: String,
}

/// Why a push's token was refused: the reason (for the log and the journal; the caller answers 401
/// whatever it is) and the org, when the token was signed with its key but carries another
/// identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushRefused {
    pub reason: Refusal,
    pub org_id: Option<i64>,
}

/// Who sent a push, from its `Authorization` header: the org whose push key signed the token (the
/// org the header `kid` names, or with no `kid` each org expecting none, at most
/// [`MAX_KEYS_TRIED`]), then the org's identity and the token's times. `now` is Unix seconds.
pub fn authenticate(db: &Db, authorization: Option<&str>, now: i64) -> Result<PushSender, AuthError> {
    let refused = |reason: Refusal, org_id: Option<i64>| AuthError::Refused(PushRefused { reason, org_id });
    let parsed = token::bearer(authorization).and_then(token::parse).map_err(|reason| refused(reason, None))?;
    let keys = db.read(|c| upstream::list_push_keys(c, parsed.kid(), MAX_KEYS_TRIED)).map_err(AuthError::Store)?;
    for key in keys {
        let secret = match &key.secret {
            Ok(secret) => secret,
            Err(err) => {
                tracing::warn!(target: "security", org = %key.ipa_code, error = %err, "an upstream push key cannot be read: set it again");
                continue;
            }
        };
        let Some(bytes) = push_key(secret) else { continue };
        if !token::signed_with(&parsed, &bytes) {
            continue;
        }
        let expected =
            Expected { kid: key.push_kid.as_deref(), iss: key.push_iss.as_deref(), sub: key.push_sub.as_deref() };
        token::verify(&parsed, expected, now).map_err(|reason| refused(reason, Some(key.org_id)))?;
        return Ok(PushSender { org_id: key.org_id, ipa_code: key.ipa_code });
    }
    Err(refused(Refusal::Signature, None))
}

/// Why [`authenticate`] did not name a sender.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// The token is not one of an org's: 401.
    #[error("push refused: {}", .0.reason)]
    Refused(PushRefused),
    /// The keys could not be read: the region should try again.
    #[error(transparent)]
    Store(StoreError),
}

/// What became of a stored push.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    pub id: i64,
    pub state: HintState,
    /// It names an IUV no debt of the org has (or had).
    pub unknown_iuv: bool,
    pub iuv: Option<String>,
}

/// What a push's body says, as far as it can be read.
#[derive(Debug, Default)]
struct Reading {
    rt: Option<Vec<u8>>,
    esito: Option<Vec<u8>>,
    iuv: Option<String>,
    iud: Option<String>,
    receipt_code: Option<String>,
    /// Why it is unreadable; `None`: readable.
    problem: Option<String>,
}

/// Reads MyPay's `{"rt": base64, "esito": base64}`: the receipt XML and the `Pagati` document, and
/// from them the IUV, the IUD and the receipt's id (the `Pagati` first, then the receipt).
fn read(body: &[u8]) -> Reading {
    let mut reading = Reading::default();
    let Ok(Value::Object(fields)) = serde_json::from_slice::<Value>(body) else {
        reading.problem = Some("the body is not a JSON object".to_owned());
        return reading;
    };
    let decode = |name: &str| -> Result<Vec<u8>, String> {
        let text = fields.get(name).and_then(Value::as_str).ok_or_else(|| format!("no {name} string"))?;
        // Java's encoders may wrap lines (MIME): whitespace is not data.
        let compact: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
        STANDARD.decode(compact).map_err(|_| format!("{name} is not base64"))
    };
    let (rt, esito) = match (decode("rt"), decode("esito")) {
        (Ok(rt), Ok(esito)) => (rt, esito),
        (Err(problem), _) | (_, Err(problem)) => {
            reading.problem = Some(problem);
            return reading;
        }
    };
    let pagati = crate::soap::parse_document(&esito).ok();
    let receipt = crate::soap::parse_document(&rt).ok();
    let find = |names: &[&str]| -> Option<String> {
        [&pagati, &receipt].into_iter().flatten().find_map(|root| names.iter().find_map(|name| first_text(root, name)))
    };
    reading.iuv = find(&["identificativoUnivocoVersamento", "creditorReferenceId"]);
    reading.iud = pagati.as_ref().and_then(|root| first_text(root, "identificativoUnivocoDovuto"));
    reading.receipt_code = find(&["identificativoUnivocoRiscossione", "receiptId"]);
    if reading.iuv.is_none() {
        reading.problem = Some(match (&pagati, &receipt) {
            (None, None) => "neither rt nor esito is XML".to_owned(),
            _ => "no IUV in rt or esito".to_owned(),
        });
    }
    reading.rt = Some(rt);
    reading.esito = Some(esito);
    reading
}

/// The text of the first element named `name` under `root` (depth first), when it is a plausible
/// identifier. The reader bounds the depth (`soap::parse_document`).
fn first_text(root: &crate::soap::Element, name: &str) -> Option<String> {
    if root.name == name {
        let text = root.text.trim();
        return (!text.is_empty() && text.chars().count() <= MAX_ID_CHARS).then(|| text.to_owned());
    }
    root.children.iter().find_map(|child| first_text(child, name))
}

/// Stores the push `body` of `sender`, received at `now`, as a hint (see the module
/// documentation), with its audit entry in the same transaction: what was read of it, never the
/// body. An error only when it could not be stored.
pub fn receive(db: &Db, sender: &PushSender, body: &[u8], now: Now) -> Result<Received, ServiceError> {
    let sha = hex(&Sha256::digest(body));
    let reading = read(body);
    let iso = now.iso();
    db.write(|tx| {
        let first = upstream::find_hint_by_body(tx, sender.org_id, &sha)?;
        let unknown_iuv = match (&first, &reading.iuv) {
            (None, Some(iuv)) => debts::find_any_debt_by_iuv(tx, sender.org_id, iuv)?.is_none(),
            _ => false,
        };
        let mut hint = NewHint {
            org_id: sender.org_id,
            body_sha256: &sha,
            iuv: reading.iuv.as_deref(),
            iud: reading.iud.as_deref(),
            receipt_code: reading.receipt_code.as_deref(),
            unknown_iuv,
            ..NewHint::default()
        };
        let replay_detail = first.map(|id| format!("the same body as push {id}"));
        let unknown_detail = format!("no debt of {} has IUV {}", sender.ipa_code, reading.iuv.as_deref().unwrap_or(""));
        match (first, &reading.problem) {
            (Some(first), _) => {
                hint.state = HintState::Replay;
                hint.replay_of = Some(first);
                hint.detail = replay_detail.as_deref();
            }
            (None, Some(problem)) => {
                hint.state = HintState::Unreadable;
                hint.body = Some(body);
                hint.detail = Some(problem);
            }
            (None, None) => {
                hint.state = HintState::Received;
                hint.rt = reading.rt.as_deref();
                hint.esito = reading.esito.as_deref();
                hint.detail = unknown_iuv.then_some(unknown_detail.as_str());
            }
        }
        let id = upstream::insert_hint(tx, &hint, &iso)?;
        let request = serde_json::json!({
            "bytes": body.len(), "sha256": sha, "iuv": hint.iuv, "iud": hint.iud, "receipt": hint.receipt_code,
            "unknown_iuv": unknown_iuv, "detail": hint.detail,
        })
        .to_string();
        let actor = format!("upstream:{}", sender.ipa_code);
        let object = format!("upstream_push:{id}");
        let entry = audit::AuditEntry {
            actor: &actor,
            org_id: Some(sender.org_id),
            action: "upstream.esito",
            object: Some(&object),
            outcome: hint.state.code(),
            request: Some(&request),
            response: Some("{}"),
            ..Default::default()
        };
        audit::insert_audit(tx, &entry, &iso)?;
        Ok(Received { id, state: hint.state, unknown_iuv, iuv: reading.iuv.clone() })
    })
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The pushes waiting for the region's confirmation, oldest first, at most `limit`: what the
/// confirmation step asks `paaSILChiediPagatiConRicevuta` about.
pub fn pending(db: &Db, limit: u32) -> Result<Vec<HintRecord>, ServiceError> {
    Ok(db.read(|c| upstream::list_hints_in_state(c, HintState::Received, limit))?)
}

/// How many pushes wait for the region's confirmation (`/metrics`).
pub fn pending_count(db: &Db) -> Result<i64, ServiceError> {
    Ok(db.read(|c| upstream::count_hints_in_state(c, HintState::Received))?)
}

/// What the region said of a pending push.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Confirmation {
    /// `paaSILChiediPagatiConRicevuta` returned the payment: the receipt it returned (not the
    /// push's) is what the confirmation step stores.
    Confirmed { detail: Option<String> },
    /// The region does not know the payment: nothing is marked paid.
    NotConfirmed { detail: String },
}

/// Records the region's answer about pending push `id` at `now`, with an audit entry; `false` when
/// it was not pending (already marked, or a replay).
pub fn mark(db: &Db, id: i64, confirmation: &Confirmation, now: Now) -> Result<bool, ServiceError> {
    let (state, detail) = match confirmation {
        Confirmation::Confirmed { detail } => (HintState::Confirmed, detail.as_deref()),
        Confirmation::NotConfirmed { detail } => (HintState::NotConfirmed, Some(detail.as_str())),
    };
    let iso = now.iso();
    db.write(|tx| {
        let Some(hint) = upstream::find_hint(tx, id)? else { return Ok(false) };
        if !upstream::update_hint_state(tx, id, HintState::Received, state, detail, &iso)? {
            return Ok(false);
        }
        let object = format!("upstream_push:{id}");
        let entry = audit::AuditEntry {
            actor: "upstream",
            org_id: Some(hint.org_id),
            action: "upstream.esito.confirm",
            object: Some(&object),
            outcome: state.code(),
            response: detail,
            ..Default::default()
        };
        audit::insert_audit(tx, &entry, &iso)?;
        Ok(true)
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;
    use crate::services::testkit::{IPA, Kit};
    use crate::services::upstream::settings::{UpstreamChanges, set};

    fn body(rt: &str, esito: &str) -> Vec<u8> {
        format!(r#"{{"rt":"{}","esito":"{}"}}"#, STANDARD.encode(rt), STANDARD.encode(esito)).into_bytes()
    }

    fn pagati(iuv: &str) -> String {
        format!(
            "<Pagati xmlns=\"http://www.regione.veneto.it/schemas/2012/Pagamenti/Ente/\"><datiPagamento>\
             <identificativoUnivocoVersamento>{iuv}</identificativoUnivocoVersamento><datiSingoloPagamento>\
             <identificativoUnivocoDovuto>IUD-1</identificativoUnivocoDovuto>\
             <identificativoUnivocoRiscossione>R-1</identificativoUnivocoRiscossione>\
             </datiSingoloPagamento></datiPagamento></Pagati>"
        )
    }

    fn sender(kit: &Kit) -> PushSender {
        let org = crate::services::admin::orgs::get_org(&kit.db, IPA).unwrap();
        PushSender { org_id: org.id, ipa_code: org.ipa_code }
    }

    #[test]
    fn pushes_are_hints_replays_and_unreadables_are_flagged() {
        let kit = Kit::new();
        let debt = kit.debt("IUD-1", 1000);
        let iuv = debt.iuv.as_ref().unwrap().as_str().to_owned();
        let from = sender(&kit);
        let good = body("<receipt><receiptId>R-1</receiptId></receipt>", &pagati(&iuv));
        let first = receive(&kit.db, &from, &good, kit.now).unwrap();
        assert_eq!((first.state, first.unknown_iuv, first.iuv.as_deref()), (HintState::Received, false, Some(&*iuv)));
        let again = receive(&kit.db, &from, &good, kit.now).unwrap();
        assert_eq!((again.state, again.unknown_iuv), (HintState::Replay, false));
        let listed = pending(&kit.db, 10).unwrap();
        assert_eq!(listed.len(), 1, "one hint to confirm, whatever the replays");
        let hint = &listed[0];
        assert_eq!(
            (hint.iud.as_deref(), hint.receipt_code.as_deref(), hint.esito.as_deref()),
            (Some("IUD-1"), Some("R-1"), Some(pagati(&iuv).as_bytes()))
        );

        let unknown = receive(&kit.db, &from, &body("<r/>", &pagati("01000000000000999")), kit.now).unwrap();
        assert_eq!((unknown.state, unknown.unknown_iuv), (HintState::Received, true));
        // The receipt's creditorReferenceId stands in for a Pagati without IUV.
        let nm3 = body("<receipt><creditorReferenceId>01000000000000777</creditorReferenceId></receipt>", "<x/>");
        assert_eq!(receive(&kit.db, &from, &nm3, kit.now).unwrap().iuv.as_deref(), Some("01000000000000777"));
        for (bad, why) in [
            (b"not json".to_vec(), "the body is not a JSON object"),
            (br#"{"rt":"PGEvPg=="}"#.to_vec(), "no esito string"),
            (br#"{"rt":"***","esito":"PGEvPg=="}"#.to_vec(), "rt is not base64"),
            (body("<a/>", "<b/>"), "no IUV in rt or esito"),
        ] {
            let got = receive(&kit.db, &from, &bad, kit.now).unwrap();
            assert_eq!(got.state, HintState::Unreadable, "{why}");
            let stored = kit.db.read(|c| upstream::find_hint(c, got.id)).unwrap().unwrap();
            assert_eq!(stored.detail.as_deref(), Some(why));
        }
        assert_eq!(pending_count(&kit.db).unwrap(), 3);

        assert!(
            mark(&kit.db, first.id, &Confirmation::NotConfirmed { detail: "unknown".to_owned() }, kit.now).unwrap()
        );
        assert!(!mark(&kit.db, first.id, &Confirmation::Confirmed { detail: None }, kit.now).unwrap(), "marked once");
        assert!(!mark(&kit.db, again.id, &Confirmation::Confirmed { detail: None }, kit.now).unwrap(), "a replay");
        assert_eq!(pending_count(&kit.db).unwrap(), 2);
        let paid = kit.db.read(|c| debts::find_debt_by_iud(c, from.org_id, "IUD-1")).unwrap().unwrap();
        assert_eq!(paid.state, debt.state, "a push marks nothing paid");

        let shown = crate::services::upstream::status::view(&kit.db, IPA).unwrap();
        let p = &shown.pushes;
        assert_eq!((p.received, p.replayed, p.unreadable, p.not_confirmed, p.unknown_iuv), (2, 1, 4, 1, 2));
    }

    #[test]
    fn the_token_names_the_org_by_its_key_and_identity() {
        use crate::services::payments::outcome_push::{JwtIdentity, bearer_jwt};
        let kit = Kit::new();
        let key = STANDARD.encode([5u8; 64]);
        let changes = UpstreamChanges {
            push_secret: Some(key.clone()),
            push_kid: Some("k1".to_owned()),
            push_iss: Some("regione".to_owned()),
            push_sub: Some("sil".to_owned()),
            ..Default::default()
        };
        set(&kit.db, "test", IPA, &changes, kit.now).unwrap();
        let now = 1_800_000_000;
        let identity = JwtIdentity { kid: Some("k1"), iss: Some("regione"), sub: Some("sil") };
        let token = bearer_jwt(&key, identity, IPA, 1, 1, now).unwrap();
        let bearer = format!("Bearer {token}");
        assert_eq!(authenticate(&kit.db, Some(&bearer), now).unwrap(), sender(&kit));
        let refusal = |header: Option<&str>| match authenticate(&kit.db, header, now) {
            Err(AuthError::Refused(refused)) => refused,
            other => panic!("{other:?}"),
        };
        assert_eq!(refusal(None).reason, Refusal::Missing);
        let other_key = bearer_jwt(&STANDARD.encode([6u8; 64]), identity, IPA, 1, 1, now).unwrap();
        assert_eq!(refusal(Some(&format!("Bearer {other_key}"))).reason, Refusal::Signature);
        let wrong_sub = JwtIdentity { sub: Some("other"), ..identity };
        let signed = bearer_jwt(&key, wrong_sub, IPA, 1, 1, now).unwrap();
        let refused = refusal(Some(&format!("Bearer {signed}")));
        assert_eq!((refused.reason, refused.org_id), (Refusal::Identity("sub"), Some(sender(&kit).org_id)));
        // No kid: only the orgs that expect none are tried; this one expects k1.
        let no_kid = bearer_jwt(&key, JwtIdentity { kid: None, ..identity }, IPA, 1, 1, now).unwrap();
        assert_eq!(refusal(Some(&format!("Bearer {no_kid}"))).reason, Refusal::Signature);
    }
}
