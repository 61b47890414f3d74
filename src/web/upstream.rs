//! The regional node's outcome pushes (`POST /upstream/esito`, reference/regional.md §3): MyPay's
//! JSON `{"rt": base64, "esito": base64}` with `Authorization: Bearer <JWS>` HS512 signed with an
//! org's push key. Its row in `super::routes` has the `UpstreamPush` guard: [`call`] checks the
//! token on the head (`services::upstream::pushes::authenticate`) before the body is read, within
//! [`super::router::Limit::Push`]; a refused token is 401 and nothing is read or stored.
//!
//! Answers as MyPay expects them: `200 {}` for every well-signed push (a replay, an unknown IUV,
//! an unreadable body: stored and flagged, since MyPay retries any fault for 14 days), and
//! `200 {"faultCode": "PAA_SYSTEM_ERROR", "faultDescription": …}` only when it cannot be stored, so
//! that the region tries again. Only in upstream mode; otherwise the path does not exist (404).
//! **Boundary:** MyPay's outcome push, as its receiver.

use serde_json::json;

use super::router::{BodySource, Request, UpstreamFn};
use super::{AppState, Response, ui};
use crate::clock::Now;
use crate::services::journal::JournalEntry;
use crate::services::upstream::pushes::{self, AuthError, PushSender};

/// What the handler of a push gets: the request with its body, the org its token proved, and when
/// it arrived.
pub struct PushCtx<'a> {
    pub state: &'a AppState,
    pub request: &'a Request<'a>,
    pub sender: PushSender,
    pub now: Now,
}

/// MyPay's fault answer: HTTP 200 with a `faultCode`, which makes the sender try again.
fn fault(description: &str) -> Response {
    Response::json(200, &json!({ "faultCode": "PAA_SYSTEM_ERROR", "faultDescription": description }))
}

/// Runs a push route: the token on the head, then the body, then `handler`.
pub(super) fn call(state: &AppState, head: &Request<'_>, body: &mut dyn BodySource, handler: UpstreamFn) -> Response {
    if state.config.upstream.is_none() {
        return ui::errors::not_found();
    }
    let now = Now::read();
    let sender = match pushes::authenticate(&state.db, head.header("authorization"), now.instant().as_second()) {
        Ok(sender) => sender,
        Err(AuthError::Refused(refused)) => {
            tracing::warn!(target: "security", peer = ?head.peer, reason = %refused.reason, "upstream push refused before its body");
            state.journal.record(
                &state.db,
                JournalEntry {
                    at: now.iso(),
                    actor: "upstream:anonymous".to_owned(),
                    org_id: refused.org_id,
                    action: "upstream.esito".to_owned(),
                    outcome: "REFUSED".to_owned(),
                    response: Some(format!("401: {}", refused.reason)),
                    ..JournalEntry::default()
                },
            );
            return Response::json(
                401,
                &json!({ "faultCode": "UNAUTHORIZED", "faultDescription": "bearer token refused" }),
            )
            .with_header("WWW-Authenticate", "Bearer realm=\"mypay\"");
        }
        Err(AuthError::Store(err)) => {
            tracing::error!(error = %err, "upstream push: the push keys cannot be read");
            return fault("the push could not be checked; try again later");
        }
    };
    let body = match body.read() {
        Ok(body) => body,
        Err(refusal) => return refusal,
    };
    let request = head.with_body(&body);
    handler(&PushCtx { state, request: &request, sender, now })
}

/// `POST /upstream/esito`: stores the push as a hint (`services::upstream::pushes::receive`).
pub fn esito(ctx: &PushCtx<'_>) -> Response {
    match pushes::receive(&ctx.state.db, &ctx.sender, ctx.request.body.bytes(), ctx.now) {
        Ok(received) => {
            tracing::info!(
                org = %ctx.sender.ipa_code,
                push = received.id,
                state = received.state.code(),
                iuv = received.iuv.as_deref().unwrap_or(""),
                unknown_iuv = received.unknown_iuv,
                "upstream push stored"
            );
            Response::json(200, &json!({}))
        }
        Err(err) => {
            tracing::error!(org = %ctx.sender.ipa_code, error = %err, "upstream push not stored");
            fault("the push could not be stored; try again later")
        }
    }
}
