//! The outcome push (reference/mypay.md §4.8): after each receipt, the org's own system gets
//! `POST <url>` with `{"rt": base64(receipt XML), "esito": base64(Pagati XML)}`, optionally with an
//! `Authorization: Bearer` JWT signed HS512 with the org's secret (`iss` mypay and `sub` the org's
//! IPA code, or the `kid`, `iss` and `sub` an org's system expects from a regional MyPay, so that a
//! box behind this one as its region accepts the push). A push is queued with its job in
//! the receipt's transaction ([`queue_in`]) when the org has a push URL and the debt type asks for
//! it (`push_outcome`, as MyPay's `flg_notifica_esito_push`); the job runner calls [`deliver`],
//! which retries with exponential backoff (the org's first delay, doubling, at most a day) up to
//! the debt type's `max_push_attempts`.
//! Operators read the state with [`list_pushes`].
//! The secret is stored sealed with the installation's key file (`store::pushes`); only a delivery
//! reads it, and one that no longer opens fails that attempt with the reason, so that the operator
//! sets it again.
//! Must never: print or log the secret; mark a push sent before its system answered 2xx without a
//! `faultCode`.

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use hmac::{Hmac, Mac};
use serde_json::json;
use sha2::Sha512;

use crate::clock::Now;
use crate::services::{Change, ServiceError, journal_change, parse_url};
use crate::store::debts::DebtRecord;
use crate::store::pushes::{self, PushRecord, PushState, PushTargetRecord};
use crate::store::{Conn, Db, StoreError, debt_types, debts, orgs, receipts};

/// Default delay before the first retry, in seconds.
pub const DEFAULT_RETRY_SECONDS: i64 = 60;
/// No retry waits longer than this.
const MAX_RETRY_SECONDS: i64 = 86_400;
/// How long one attempt may take.
/// Short, because the job runner waits for it: a dead endpoint must not hold up imports.
const TIMEOUT: Duration = Duration::from_secs(15);
/// HS512 keys shorter than the hash are refused (RFC 7518 §3.2).
const MIN_KEY_BYTES: usize = 64;
/// Lifetime of the bearer JWT of one attempt.
const JWT_SECONDS: i64 = 300;

/// Changes to an org's push target; `None` leaves a value as it is.
#[derive(Debug, Clone, Default)]
pub struct PushSettings {
    /// The URL; `""` removes the target (later receipts are not pushed).
    pub url: Option<String>,
    /// The base64 HS512 key; `""` removes it (no Authorization header).
    pub secret: Option<String>,
    pub retry_seconds: Option<i64>,
    /// The JWT's header `kid`; `""` removes it.
    pub jwt_kid: Option<String>,
    /// The JWT's `iss`; `""` goes back to `mypay`.
    pub jwt_iss: Option<String>,
    /// The JWT's `sub`; `""` goes back to the org's IPA code.
    pub jwt_sub: Option<String>,
}

/// An org's push target as shown to people: never the secret, only whether there is one.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PushTargetView {
    pub url: String,
    pub signed: bool,
    pub retry_seconds: i64,
    /// The JWT's header `kid`, `iss` and `sub` when set (`None`: no `kid`, `iss` mypay, `sub` the
    /// org's IPA code).
    pub jwt_kid: Option<String>,
    pub jwt_iss: Option<String>,
    pub jwt_sub: Option<String>,
}

impl From<&PushTargetRecord> for PushTargetView {
    fn from(t: &PushTargetRecord) -> PushTargetView {
        PushTargetView {
            url: t.url.clone(),
            signed: t.signed,
            retry_seconds: t.retry_seconds,
            jwt_kid: t.jwt_kid.clone(),
            jwt_iss: t.jwt_iss.clone(),
            jwt_sub: t.jwt_sub.clone(),
        }
    }
}

/// What the bearer JWT of a push says who it is from: header `kid` when set, claims `iss` and `sub`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct JwtIdentity<'a> {
    pub kid: Option<&'a str>,
    /// `None`: `mypay`.
    pub iss: Option<&'a str>,
    /// `None`: the org's IPA code.
    pub sub: Option<&'a str>,
}

/// Checks a JWT identity value (`kid`, `iss`, `sub`) given by a person: trimmed, at most 256
/// visible characters; `""` is `None` (not set).
pub fn check_jwt_claim(field: &str, value: &str) -> Result<Option<String>, ServiceError> {
    let value = value.trim();
    if value.is_empty() {
        return Ok(None);
    }
    if value.chars().count() > 256 || value.chars().any(char::is_control) {
        return Err(ServiceError::invalid(field, "must be at most 256 characters, without control characters"));
    }
    Ok(Some(value.to_owned()))
}

/// Checks a push secret: standard base64 of at least 64 bytes (the HS512 key).
pub fn check_secret(secret: &str) -> Result<(), ServiceError> {
    let key = STANDARD
        .decode(secret.trim())
        .map_err(|_| ServiceError::invalid("push-secret", "must be base64 (the HS512 key)"))?;
    if key.len() < MIN_KEY_BYTES {
        return Err(ServiceError::invalid(
            "push-secret",
            format!("the key has {} bytes; HS512 needs at least {MIN_KEY_BYTES}", key.len()),
        ));
    }
    Ok(())
}

/// Sets, changes or removes an org's push target; returns it as it now is.
pub fn set_push_target(
    db: &Db,
    actor: &str,
    ipa: &str,
    settings: &PushSettings,
    now: Now,
) -> Result<Option<PushTargetView>, ServiceError> {
    let url = match settings.url.as_deref() {
        Some(value) => Some(parse_url("push-url", value)?),
        None => None,
    };
    let secret = match settings.secret.as_deref().map(str::trim) {
        Some("") => Some(None),
        Some(value) => {
            check_secret(value)?;
            Some(Some(value.to_owned()))
        }
        None => None,
    };
    if let Some(n) = settings.retry_seconds.filter(|n| !(1..=MAX_RETRY_SECONDS).contains(n)) {
        return Err(ServiceError::invalid("push-retry-seconds", format!("{n} must be 1 to {MAX_RETRY_SECONDS}")));
    }
    let claim = |field: &str, value: &Option<String>| value.as_deref().map(|v| check_jwt_claim(field, v)).transpose();
    let jwt_kid = claim("push-kid", &settings.jwt_kid)?;
    let jwt_iss = claim("push-iss", &settings.jwt_iss)?;
    let jwt_sub = claim("push-sub", &settings.jwt_sub)?;
    db.write(|tx| {
        let org = orgs::find_org_by_ipa(tx, ipa)?.ok_or_else(|| ServiceError::NotFound(format!("org {ipa}")))?;
        let current = pushes::find_push_target(tx, org.id)?;
        let next = match (url, current) {
            (Some(None), _) => None,
            (Some(Some(url)), current) => Some(PushTargetRecord { url, ..current.unwrap_or_else(|| defaults(org.id)) }),
            (None, Some(current)) => Some(current),
            (None, None) => return Err(ServiceError::invalid("push-url", "is required to push outcomes")),
        };
        let next = next.map(|mut t| {
            if let Some(secret) = &secret {
                t.signed = secret.is_some();
            }
            t.retry_seconds = settings.retry_seconds.unwrap_or(t.retry_seconds);
            t.jwt_kid = jwt_kid.clone().unwrap_or(t.jwt_kid);
            t.jwt_iss = jwt_iss.clone().unwrap_or(t.jwt_iss);
            t.jwt_sub = jwt_sub.clone().unwrap_or(t.jwt_sub);
            t
        });
        match &next {
            Some(target) => {
                pushes::update_push_target(tx, target, &now.iso())?;
                // Written without reading the one stored, which may no longer open.
                if let Some(secret) = &secret {
                    pushes::update_push_secret(tx, org.id, secret.as_deref(), &now.iso())?;
                }
            }
            None => pushes::delete_push_target(tx, org.id)?,
        }
        let view = next.as_ref().map(PushTargetView::from);
        let after = view.as_ref().map(|v| {
            json!({"url": v.url, "signed": v.signed, "retry_seconds": v.retry_seconds, "jwt_kid": v.jwt_kid,
                "jwt_iss": v.jwt_iss, "jwt_sub": v.jwt_sub})
            .to_string()
        });
        let object = format!("org:{}", org.ipa_code);
        let change = Change {
            actor,
            org_id: Some(org.id),
            action: "org.push",
            object: &object,
            before: None,
            after: after.as_deref(),
        };
        journal_change(tx, &change, now)?;
        Ok(view)
    })
}

fn defaults(org_id: i64) -> PushTargetRecord {
    PushTargetRecord { org_id, url: String::new(), retry_seconds: DEFAULT_RETRY_SECONDS, ..Default::default() }
}

/// An org's push target, if any.
pub fn get_push_target(db: &Db, ipa: &str) -> Result<Option<PushTargetView>, ServiceError> {
    db.read(|c| {
        let org = orgs::find_org_by_ipa(c, ipa)?.ok_or_else(|| ServiceError::NotFound(format!("org {ipa}")))?;
        Ok(pushes::find_push_target(c, org.id)?.as_ref().map(PushTargetView::from))
    })
}

/// One push as operators and the org's systems see it (the CLI's and the API's JSON).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PushView {
    pub id: i64,
    pub iuv: String,
    pub receipt_id: String,
    /// Serialized as its stored code (`pending`, `sent`, `failed`).
    #[serde(serialize_with = "serialize_code")]
    pub state: PushState,
    pub attempts: i64,
    pub max_attempts: i64,
    pub last_error: Option<String>,
    pub last_attempt_at: Option<String>,
    pub sent_at: Option<String>,
    pub created_at: String,
}

fn serialize_code<S: serde::Serializer>(state: &PushState, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(state.code())
}

/// An org's push target and its latest pushes.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PushOverview {
    pub target: Option<PushTargetView>,
    pub pushes: Vec<PushView>,
}

/// The push target of org `ipa` and its latest `limit` pushes, newest first.
pub fn overview(db: &Db, ipa: &str, limit: u32) -> Result<PushOverview, ServiceError> {
    let target = get_push_target(db, ipa)?;
    let pushes = list_pushes(db, ipa, limit)?
        .into_iter()
        .map(|p| PushView {
            id: p.id,
            iuv: p.iuv,
            receipt_id: p.receipt_code,
            state: p.state,
            attempts: p.attempts,
            max_attempts: p.max_attempts,
            last_error: p.last_error,
            last_attempt_at: p.last_attempt_at,
            sent_at: p.sent_at,
            created_at: p.created_at,
        })
        .collect();
    Ok(PushOverview { target, pushes })
}

/// An org's pushes, newest first: pending, sent or failed, with attempts and the last error.
pub fn list_pushes(db: &Db, ipa: &str, limit: u32) -> Result<Vec<PushRecord>, ServiceError> {
    db.read(|c| {
        let org = orgs::find_org_by_ipa(c, ipa)?.ok_or_else(|| ServiceError::NotFound(format!("org {ipa}")))?;
        Ok(pushes::list_pushes(c, org.id, limit)?)
    })
}

/// Inside the transaction that stores receipt `receipt_id` of `debt`: queues its push and the job
/// that delivers it, when the org has a push target, its adhesion mode admits the push and the
/// debt type pushes outcomes.
pub(crate) fn queue_in(tx: &Conn, debt: &DebtRecord, receipt_id: i64, now: Now) -> Result<(), StoreError> {
    if pushes::find_push_target(tx, debt.org_id)?.is_none() {
        return Ok(());
    }
    // Only an org that joined with its web services (`ente`) has its outcomes pushed.
    let mode = crate::services::admin::adhesion::mode_in(tx, debt.org_id)?;
    if !mode.admits(crate::domain::adhesion::Channel::OutcomePush) {
        tracing::info!(org = debt.org_id, mode = mode.code(), "outcome push skipped: the adhesion mode has none");
        return Ok(());
    }
    let Some(debt_type) = debt_types::find_debt_type_by_id(tx, debt.org_id, debt.debt_type_id)?
        .filter(|t| t.push_outcome && t.max_push_attempts > 0)
    else {
        return Ok(());
    };
    let id = pushes::insert_push(tx, debt.org_id, receipt_id, debt_type.max_push_attempts, &now.iso())?;
    crate::jobs::enqueue(tx, &crate::jobs::Job::OutcomePush { push_id: id }, now)?;
    Ok(())
}

/// How one delivery attempt ended, for the job runner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    /// Sent, or nothing (left) to send.
    Done,
    /// Failed; try again not before `at` (UTC ISO 8601).
    Retry { at: String, error: String },
    /// Failed for the last time.
    Failed(String),
    /// The process is stopping: the attempt was abandoned before the answer, and neither counted
    /// nor recorded. The push stays pending and is sent again after the restart (a receiver may
    /// then see it twice, as after any lost answer).
    Stopped,
}

/// One attempt of push `push_id`, recorded with its outcome. `now` is the attempt's time.
/// `cancelled` is looked at while waiting for the receiver's answer.
pub fn deliver(db: &Db, push_id: i64, now: Now, cancelled: &dyn Fn() -> bool) -> Result<Delivery, ServiceError> {
    let now_text = now.iso();
    let loaded = db.read(|c| {
        let Some(push) = pushes::find_push(c, push_id)?.filter(|p| p.state == PushState::Pending) else {
            return Ok::<_, ServiceError>(None);
        };
        let receipt = receipts::find_receipt_by_id(c, push.receipt_id)?
            .ok_or_else(|| ServiceError::NotFound(format!("receipt {}", push.receipt_id)))?;
        let org = orgs::find_org_by_id(c, push.org_id)?
            .ok_or_else(|| ServiceError::NotFound(format!("org {}", push.org_id)))?;
        let debt = match receipt.debt_id {
            Some(id) => debts::find_debt_by_id(c, id)?,
            None => None,
        };
        let target = pushes::find_push_target(c, push.org_id)?;
        let secret = match pushes::find_push_secret(c, push.org_id) {
            Ok(secret) => Ok(secret),
            Err(StoreError::Corrupt { reason, .. }) => {
                Err(format!("the push secret cannot be read ({reason}): set it again"))
            }
            Err(err) => return Err(err.into()),
        };
        Ok(Some((push, receipt, org, debt, target, secret)))
    })?;
    let Some((push, receipt, org, debt, target, secret)) = loaded else {
        return Ok(Delivery::Done);
    };
    let attempt = push.attempts + 1;
    let result = match &target {
        None => Err("the org no longer has a push URL".to_owned()),
        Some(target) => {
            let esito = crate::flows::pagati::pagati_xml(&receipt, &org.fiscal_code, &org.name, debt.as_ref());
            let body = push_body(&receipt.request_xml, &esito);
            let identity = JwtIdentity {
                kid: target.jwt_kid.as_deref(),
                iss: target.jwt_iss.as_deref(),
                sub: target.jwt_sub.as_deref(),
            };
            let token = secret.and_then(|secret| {
                secret
                    .as_deref()
                    .map(|secret| {
                        bearer_jwt(secret, identity, &org.ipa_code, push.id, attempt, now.instant().as_second())
                    })
                    .transpose()
            });
            match token {
                Ok(token) => match post_until(target.url.clone(), body, token, cancelled) {
                    Some(result) => result,
                    None => return Ok(Delivery::Stopped),
                },
                Err(err) => Err(err),
            }
        }
    };
    let delivery = match result {
        Ok(()) => Delivery::Done,
        Err(error) => match &target {
            Some(t) if attempt < push.max_attempts => {
                let delay = t.retry_seconds.saturating_mul(1 << (attempt - 1).clamp(0, 20)).min(MAX_RETRY_SECONDS);
                let now = now.instant();
                let at = now.checked_add(jiff::SignedDuration::from_secs(delay)).unwrap_or(now);
                Delivery::Retry { at: crate::clock::iso(at), error }
            }
            _ => Delivery::Failed(error),
        },
    };
    let (state, error) = match &delivery {
        Delivery::Done => (PushState::Sent, None),
        Delivery::Retry { error, .. } => (PushState::Pending, Some(error.as_str())),
        Delivery::Failed(error) => (PushState::Failed, Some(error.as_str())),
        Delivery::Stopped => return Ok(Delivery::Stopped),
    };
    db.write(|tx| pushes::update_push_attempt(tx, push.id, state, error, &now_text))?;
    match &delivery {
        Delivery::Done => tracing::info!(push = push.id, iuv = %push.iuv, attempt, "outcome pushed"),
        Delivery::Retry { at, error } => {
            tracing::warn!(push = push.id, attempt, %error, %at, "outcome push failed; will retry")
        }
        Delivery::Failed(error) => tracing::error!(push = push.id, attempt, %error, "outcome push given up"),
        Delivery::Stopped => {}
    }
    Ok(delivery)
}

/// MyPay's body, `rt` first.
fn push_body(receipt_xml: &str, pagati_xml: &str) -> String {
    format!(
        "{{\"rt\":\"{}\",\"esito\":\"{}\"}}",
        STANDARD.encode(receipt_xml.as_bytes()),
        STANDARD.encode(pagati_xml.as_bytes())
    )
}

/// The compact HS512 JWT of one attempt: header `kid` when `identity` has one, `iss` (mypay unless
/// set), `sub` (the org's IPA code unless set), `iat`, `exp` five minutes later, `jti` naming the
/// push and the attempt. A regional MyPay's token has only `kid`, `iss` and `sub`; a receiver that
/// checks those (`services::upstream::token`) accepts the others.
pub fn bearer_jwt(
    secret: &str,
    identity: JwtIdentity<'_>,
    ipa: &str,
    push_id: i64,
    attempt: i64,
    now: i64,
) -> Result<String, String> {
    let key = STANDARD.decode(secret.trim()).map_err(|_| "the push secret is not base64".to_owned())?;
    let mut header = json!({"alg": "HS512", "typ": "JWT"});
    if let (Some(kid), Some(fields)) = (identity.kid, header.as_object_mut()) {
        fields.insert("kid".to_owned(), json!(kid));
    }
    let header = header.to_string();
    let claims = json!({
        "iss": identity.iss.unwrap_or("mypay"), "sub": identity.sub.unwrap_or(ipa), "iat": now,
        "exp": now.saturating_add(JWT_SECONDS), "jti": format!("{push_id}-{attempt}"),
    })
    .to_string();
    let signing_input = format!("{}.{}", URL_SAFE_NO_PAD.encode(header), URL_SAFE_NO_PAD.encode(claims));
    let mut mac = Hmac::<Sha512>::new_from_slice(&key).map_err(|err| format!("bad push key: {err}"))?;
    mac.update(signing_input.as_bytes());
    Ok(format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())))
}

/// Whether mypay may send a push to `ip`: never to an address that is no host of anyone's
/// network (unspecified, multicast, broadcast) nor to a link-local one, where a cloud's metadata
/// service answers (169.254.169.254) and a push URL set by an org admin must not reach. Loopback
/// and private networks stay allowed: a municipality's SIL often lives beside mypay.
fn may_push_to(ip: std::net::IpAddr) -> bool {
    use std::net::IpAddr;
    let ip = match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    };
    match ip {
        IpAddr::V4(v4) => !(v4.is_unspecified() || v4.is_multicast() || v4.is_broadcast() || v4.is_link_local()),
        IpAddr::V6(v6) => {
            let link_local = (v6.segments().first().copied().unwrap_or_default() & 0xffc0) == 0xfe80;
            !(v6.is_unspecified() || v6.is_multicast() || link_local)
        }
    }
}

/// Resolves the push URL's host and refuses it when any of its addresses may not be reached.
fn check_target(url: &str) -> Result<(), String> {
    use std::net::ToSocketAddrs;
    let uri: ureq::http::Uri = url.parse().map_err(|_| format!("{url} is not a URL"))?;
    let host = uri.host().ok_or_else(|| format!("{url} has no host"))?.trim_start_matches('[').trim_end_matches(']');
    let port = uri.port_u16().unwrap_or(if uri.scheme_str() == Some("https") { 443 } else { 80 });
    let addrs: Vec<std::net::SocketAddr> =
        (host, port).to_socket_addrs().map_err(|err| format!("cannot resolve {host}: {err}"))?.collect();
    match addrs.iter().find(|a| !may_push_to(a.ip())) {
        Some(bad) => Err(format!("{host} resolves to {}, an address pushes may not reach", bad.ip())),
        None => Ok(()),
    }
}

/// [`post`] on a thread of its own, waited for while `cancelled` says no: `None` when the wait was
/// abandoned (the thread ends with its request, within [`TIMEOUT`]).
fn post_until(
    url: String,
    body: String,
    token: Option<String>,
    cancelled: &dyn Fn() -> bool,
) -> Option<Result<(), String>> {
    let (tx, rx) = std::sync::mpsc::channel();
    let spawned = std::thread::Builder::new().name("push".to_owned()).spawn(move || {
        let _ = tx.send(post(&url, &body, token.as_deref()));
    });
    if let Err(err) = spawned {
        return Some(Err(format!("cannot start the push: {err}")));
    }
    loop {
        match rx.recv_timeout(Duration::from_millis(50)) {
            Ok(result) => return Some(result),
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                return Some(Err("the push stopped without an answer".to_owned()));
            }
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) if cancelled() => return None,
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
        }
    }
}

/// POSTs the body; Ok on a 2xx whose JSON (if any) carries no `faultCode`.
fn post(url: &str, body: &str, token: Option<&str>) -> Result<(), String> {
    check_target(url)?;
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .timeout_global(Some(TIMEOUT))
        .build()
        .into();
    let mut request = agent.post(url).header("Content-Type", "application/json");
    if let Some(token) = token {
        request = request.header("Authorization", &format!("Bearer {token}"));
    }
    let mut response = request.send(body).map_err(|err| format!("cannot reach {url}: {err}"))?;
    let status = response.status().as_u16();
    let text = response.body_mut().with_config().limit(64 * 1024).read_to_string().unwrap_or_default();
    if !(200..300).contains(&status) {
        return Err(format!("HTTP {status}"));
    }
    let answer: serde_json::Value = serde_json::from_str(&text).unwrap_or(serde_json::Value::Null);
    match answer.get("faultCode").and_then(|c| c.as_str()).filter(|c| !c.is_empty()) {
        Some(code) => {
            let description = answer.get("faultDescription").and_then(|d| d.as_str()).unwrap_or_default();
            Err(format!("{code}: {description}"))
        }
        None => Ok(()),
    }
}

/// One attempt of a queued push (`Job::OutcomePush`); the push decides when to retry and when to
/// give up, by the debt type's settings.
pub struct PushJob;

impl crate::jobs::Handler for PushJob {
    fn run(
        &self,
        ctx: &mut crate::jobs::JobCtx<'_>,
        job: &crate::jobs::Job,
    ) -> Result<crate::jobs::Step, crate::jobs::JobError> {
        use crate::jobs::{Job, JobError, Step};
        let Job::OutcomePush { push_id } = job else {
            return Err(JobError::Failed(format!("not a push job: {job:?}")));
        };
        let now = Now::read();
        let instant = now.instant();
        // A failure of mypay itself (the database) is tried again in a minute, not counted.
        if (ctx.cancelled)() {
            return Err(JobError::Interrupted);
        }
        let delivery = deliver(ctx.db, *push_id, now, ctx.cancelled).unwrap_or_else(|err| Delivery::Retry {
            at: crate::clock::iso(instant.checked_add(jiff::SignedDuration::from_secs(60)).unwrap_or(instant)),
            error: err.to_string(),
        });
        Ok(match delivery {
            Delivery::Done => Step::Done,
            Delivery::Retry { at, error } => Step::RunAgainAt { at, reason: error },
            Delivery::Failed(error) => Step::GaveUp(error),
            Delivery::Stopped => return Err(JobError::Interrupted),
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn jwt_is_hs512_over_its_first_two_parts() {
        let secret = STANDARD.encode([7u8; 64]);
        let token = bearer_jwt(&secret, JwtIdentity::default(), "c_f205", 3, 2, 1_700_000_000).unwrap();
        let parts: Vec<&str> = token.split('.').collect();
        assert_eq!(parts.len(), 3);
        let header: serde_json::Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).unwrap()).unwrap();
        assert_eq!(header, json!({"alg": "HS512", "typ": "JWT"}));
        let claims: serde_json::Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
        assert_eq!(
            claims,
            json!({"iss": "mypay", "sub": "c_f205", "iat": 1_700_000_000, "exp": 1_700_000_300, "jti": "3-2"})
        );
        let mut mac = Hmac::<Sha512>::new_from_slice(&[7u8; 64]).unwrap();
        mac.update(format!("{}.{}", parts[0], parts[1]).as_bytes());
        mac.verify_slice(&URL_SAFE_NO_PAD.decode(parts[2]).unwrap()).unwrap();

        // With the identity a regional MyPay's receiver expects: `kid` in the header, its iss/sub.
        let identity = JwtIdentity { kid: Some("k-7"), iss: Some("regione"), sub: Some("sil@comune.example.it") };
        let token = bearer_jwt(&secret, identity, "c_f205", 3, 2, 1_700_000_000).unwrap();
        let parts: Vec<&str> = token.split('.').collect();
        let header: serde_json::Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).unwrap()).unwrap();
        assert_eq!(header, json!({"alg": "HS512", "typ": "JWT", "kid": "k-7"}));
        let claims: serde_json::Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
        assert_eq!((claims["iss"].as_str(), claims["sub"].as_str()), (Some("regione"), Some("sil@comune.example.it")));
        assert_eq!(claims["jti"], "3-2");
    }

    #[test]
    fn body_has_rt_then_esito_in_base64() {
        assert_eq!(push_body("<a/>", "<b/>"), r#"{"rt":"PGEvPg==","esito":"PGIvPg=="}"#);
    }

    #[test]
    fn secrets_must_be_long_base64() {
        assert!(check_secret(&STANDARD.encode([1u8; 64])).is_ok());
        assert!(check_secret(&STANDARD.encode([1u8; 32])).is_err());
        assert!(check_secret("not base64!").is_err());
    }

    /// The hardening issue's finding: the push URL could target internal addresses; the cloud
    /// metadata service and other non-host addresses are refused, the SIL beside mypay is not.
    #[test]
    fn pushes_never_reach_link_local_or_non_host_addresses() {
        for bad in
            ["169.254.169.254", "0.0.0.0", "224.0.0.1", "255.255.255.255", "fe80::1", "::", "::ffff:169.254.169.254"]
        {
            assert!(!may_push_to(bad.parse().unwrap()), "{bad}");
        }
        for good in ["127.0.0.1", "10.1.2.3", "192.168.1.20", "93.184.216.34", "::1", "2001:db8::1"] {
            assert!(may_push_to(good.parse().unwrap()), "{good}");
        }
        assert!(check_target("http://169.254.169.254/latest/meta-data").is_err());
        assert!(check_target("http://127.0.0.1:9/esito").is_ok());
    }
}
