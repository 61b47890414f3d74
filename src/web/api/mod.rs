//! The REST JSON API for the org's own systems (`/api/v1/orgs/{ipa}/...`), documented by
//! `openapi.json` (written by us, served at `/api/openapi.json`). Its endpoints are rows of the
//! server's one route table (`web::routes`); a test checks that they and the document list the same
//! operations.
//!
//! Every call needs `Authorization: Bearer <token>` of the org in the path (`mypay api-token`):
//! missing, unknown or revoked → 401, another org's → 403; objects of another org are 404.
//! Errors are `{"error": {"code", "message", "messaggio", "details"?}}` with a stable `code`
//! (MyPay's `PAA_*` where a rule of MyPay refused the input). Every call is journaled
//! (`api <METHOD> <route>`), besides the audit entries of the changes themselves.
//! **Boundary:** HTTP JSON for integrators; the same services as every other channel underneath.

pub(super) mod debts;
pub(super) mod files;
pub(super) mod recon_exports;
pub(super) mod reconciliation;

use serde_json::{Value, json};

use super::router::{ApiFn, BodySource, Params, Request, Route};
use super::{AppState, Response};
use crate::clock::Now;
use crate::services::ServiceError;
use crate::services::admin::adhesion::NotAdmitted;
use crate::services::journal::JournalEntry;
use crate::store::api_tokens::ApiTokenRecord;

/// The OpenAPI 3 document of this API.
pub const OPENAPI: &str = include_str!("openapi.json");

/// `GET /api/openapi.json`: the document, to anyone.
pub fn openapi() -> Response {
    Response::text(200, "application/json", OPENAPI.to_owned())
}

/// A refusal as the API writes it.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: u16,
    pub code: String,
    pub message: String,
    pub messaggio: String,
    pub details: Vec<Value>,
}

impl ApiError {
    pub fn new(status: u16, code: &str, message: impl Into<String>, messaggio: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code: code.to_owned(),
            message: message.into(),
            messaggio: messaggio.into(),
            details: Vec::new(),
        }
    }

    pub fn invalid(message: impl Into<String>) -> ApiError {
        ApiError::new(400, "INVALID_INPUT", message, "Dati non validi: controllare la richiesta.")
    }

    pub fn not_found(what: impl Into<String>) -> ApiError {
        ApiError::new(404, "NOT_FOUND", what, "Non trovato.")
    }

    /// The one mapping of the API's errors to a response: `{"error": {code, message, messaggio,
    /// details?}}` with the error's status, and the bearer challenge with a 401.
    pub fn response(&self) -> Response {
        let mut error = serde_json::Map::new();
        error.insert("code".to_owned(), json!(self.code));
        error.insert("message".to_owned(), json!(self.message));
        error.insert("messaggio".to_owned(), json!(self.messaggio));
        if !self.details.is_empty() {
            error.insert("details".to_owned(), Value::Array(self.details.clone()));
        }
        let response = Response::json(self.status, &json!({ "error": error }));
        if self.status == 401 {
            return response.with_header("WWW-Authenticate", "Bearer realm=\"mypay\"");
        }
        response
    }
}

impl From<ServiceError> for ApiError {
    fn from(err: ServiceError) -> ApiError {
        match err {
            ServiceError::Invalid { .. } => ApiError::invalid(err.to_string()),
            ServiceError::Rejected(rows) => {
                let code = rows.first().map_or("PAA_IMPORT_ERROR", |r| r.code);
                let mut e =
                    ApiError::new(422, code, err_text(&rows), "Il dovuto non rispetta le regole dell'importazione.");
                e.details = rows.iter().map(|r| json!({ "code": r.code, "description": r.description })).collect();
                e
            }
            ServiceError::NotFound(what) => ApiError::not_found(format!("{what} not found")),
            ServiceError::Conflict(what) => {
                ApiError::new(409, "CONFLICT", what, "L'operazione non è possibile nello stato attuale.")
            }
            ServiceError::ExportRefused { code, message } => {
                ApiError::new(400, code, message, "Richiesta di esportazione non valida.")
            }
            // No API call reaches an operator's access: a token is the API's.
            ServiceError::Access(_) => ApiError::new(403, "FORBIDDEN", err.to_string(), "Accesso non consentito."),
            ServiceError::NotAdmitted(refusal) => {
                ApiError::new(403, NotAdmitted::CODE, refusal.to_string(), refusal.message_it())
            }
            ServiceError::NoteElementUnknown(refusal) => {
                ApiError::new(409, "CONFLICT", refusal.to_string(), refusal.message_it())
            }
            ServiceError::Store(_)
            | ServiceError::ExportFile(_)
            | ServiceError::Interrupted
            | ServiceError::Internal(_) => {
                tracing::error!(error = %err, "API call failed");
                internal()
            }
        }
    }
}

fn err_text(rows: &[crate::domain::debt_row::RowError]) -> String {
    rows.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")
}

pub fn internal() -> ApiError {
    ApiError::new(500, "INTERNAL_ERROR", "internal error; see the server log", "Errore interno: riprovare più tardi.")
}

/// What a handler gets: the state, the request, the authenticated token and the path's values.
pub struct ApiCtx<'a> {
    pub state: &'a AppState,
    pub request: &'a Request<'a>,
    pub token: ApiTokenRecord,
    pub params: &'a Params,
    /// When the request arrived, read once: its stored times and its Europe/Rome day.
    pub now: Now,
}

impl ApiCtx<'_> {
    /// The org's IPA code (the token's, which the path must name).
    pub fn ipa(&self) -> &str {
        &self.token.org_ipa
    }

    /// The path's value of `{name}`.
    pub fn param(&self, name: &str) -> &str {
        self.params.get(name)
    }

    /// The audit actor of this call.
    pub fn actor(&self) -> String {
        format!("api:{}#{}", self.token.org_ipa, self.token.id)
    }

    /// The body as a JSON object.
    pub fn json_body(&self) -> Result<Value, ApiError> {
        let value: Value = serde_json::from_slice(self.request.body.bytes()).map_err(|err| {
            ApiError::new(
                400,
                "INVALID_JSON",
                format!("the body is not JSON: {err}"),
                "Il corpo della richiesta non è JSON valido.",
            )
        })?;
        if !value.is_object() {
            return Err(ApiError::new(
                400,
                "INVALID_JSON",
                "the body must be a JSON object",
                "Il corpo deve essere un oggetto JSON.",
            ));
        }
        Ok(value)
    }
}

/// Runs an endpoint of the table: authenticates the token of the org in the path, then the
/// handler; writes its error as JSON and journals the call either way.
pub(super) fn call(
    state: &AppState,
    route: &Route,
    params: &Params,
    head: &Request<'_>,
    body: &mut dyn BodySource,
    endpoint: ApiFn,
) -> Response {
    let started = std::time::Instant::now();
    let now = Now::read();
    // The token is checked on the head: an unknown caller's body is never read.
    let token = match authenticate(state, head, params, now) {
        Ok(token) => token,
        Err(refusal) => {
            let response = refusal.response();
            journal(state, head, route.pattern, None, &refusal.code, &response, started);
            return response;
        }
    };
    let body = match body.read() {
        Ok(body) => body,
        Err(response) => {
            journal(state, head, route.pattern, Some(&token), &response.status.to_string(), &response, started);
            return response;
        }
    };
    let request = &head.with_body(&body);
    let ctx = ApiCtx { state, request, token, params, now };
    let (response, outcome) = match endpoint(&ctx) {
        Ok(response) => {
            let outcome = response.status.to_string();
            (response, outcome)
        }
        Err(err) => (err.response(), err.code.clone()),
    };
    journal(state, request, route.pattern, Some(&ctx.token), &outcome, &response, started);
    response
}

/// A path under `/api/` that the table has with other methods (`allow`).
pub(super) fn not_allowed(state: &AppState, request: &Request<'_>, allow: &str) -> Response {
    let refusal = ApiError::new(405, "METHOD_NOT_ALLOWED", format!("allowed: {allow}"), "Metodo non consentito.");
    refuse(state, request, &refusal, refusal.response().with_header("Allow", allow.to_owned()))
}

/// A path under `/api/` that the table does not have.
pub(super) fn not_found(state: &AppState, request: &Request<'_>) -> Response {
    let refusal = ApiError::not_found("no such API path");
    refuse(state, request, &refusal, refusal.response())
}

fn refuse(state: &AppState, request: &Request<'_>, refusal: &ApiError, response: Response) -> Response {
    journal(state, request, "-", None, &refusal.code, &response, std::time::Instant::now());
    response
}

/// The valid token of the org named in the path.
fn authenticate(
    state: &AppState,
    request: &Request<'_>,
    params: &Params,
    now: Now,
) -> Result<ApiTokenRecord, ApiError> {
    let unauthorized = || {
        ApiError::new(
            401,
            "UNAUTHORIZED",
            "missing, unknown or revoked bearer token",
            "Token di accesso mancante, sconosciuto o revocato.",
        )
    };
    let bearer = request
        .header("authorization")
        .and_then(|h| h.strip_prefix("Bearer ").or_else(|| h.strip_prefix("bearer ")))
        .map(str::trim)
        .ok_or_else(unauthorized)?;
    let token = crate::services::admin::api_tokens::authenticate(&state.db, bearer, now)
        .map_err(ApiError::from)?
        .ok_or_else(|| {
            tracing::warn!(target: "security", "API call with an unknown or revoked token");
            unauthorized()
        })?;
    let ipa = params.get("ipa");
    if !ipa.eq_ignore_ascii_case(&token.org_ipa) {
        tracing::warn!(target: "security", token = token.id, org = %token.org_ipa, path_org = %ipa, "API token used for another org");
        return Err(ApiError::new(
            403,
            "FORBIDDEN",
            "this token belongs to another org",
            "Il token non è abilitato per questo ente.",
        ));
    }
    crate::services::admin::adhesion::require_ipa(&state.db, &token.org_ipa, crate::domain::adhesion::Channel::RestApi)
        .map_err(ApiError::from)?;
    Ok(token)
}

/// Journals one call (group commit: reads cost no fsync of their own). JSON bodies are kept, up
/// to 16 KiB; uploads and downloads only by size.
fn journal(
    state: &AppState,
    request: &Request<'_>,
    template: &str,
    token: Option<&ApiTokenRecord>,
    outcome: &str,
    response: &Response,
    started: std::time::Instant,
) {
    const KEEP: u64 = 16 * 1024;
    let is_json = |ct: Option<&str>| ct.is_some_and(|c| c.starts_with("application/json"));
    // `body` is empty for an upload spooled to disk: such a body is journaled by size whatever its type.
    let keep = |json: bool, body: &[u8], len: u64| {
        let whole = u64::try_from(body.len()).is_ok_and(|n| n == len);
        if json && whole && len <= KEEP { String::from_utf8_lossy(body).into_owned() } else { format!("({len} bytes)") }
    };
    let content_type = response.headers.iter().find(|(n, _)| *n == "Content-Type").map(|(_, v)| v.as_str());
    let entry = JournalEntry {
        at: Now::read().iso(),
        actor: token.map_or_else(|| "api:anonymous".to_owned(), |t| format!("api:{}#{}", t.org_ipa, t.id)),
        org_id: token.map(|t| t.org_id),
        action: format!("api {} {template}", request.method),
        object: Some(request.path.to_owned()),
        outcome: outcome.to_owned(),
        request: (!request.body.is_empty())
            .then(|| keep(is_json(request.header("content-type")), request.body.bytes(), request.body.len())),
        response: Some(keep(
            is_json(content_type),
            &response.body,
            u64::try_from(response.body.len()).unwrap_or(u64::MAX),
        )),
        duration_ms: Some(i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX)),
    };
    state.journal.record(&state.db, entry);
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    /// The document and the table list the same (method, path) pairs.
    #[test]
    fn openapi_lists_exactly_the_routes() {
        let doc: Value = serde_json::from_str(OPENAPI).unwrap();
        assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
        let mut documented: Vec<(String, String)> = Vec::new();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for method in item.as_object().unwrap().keys() {
                if ["get", "put", "post", "delete", "patch"].contains(&method.as_str()) {
                    documented.push((method.to_ascii_uppercase(), path.clone()));
                }
            }
        }
        let mut routed: Vec<(String, String)> = crate::web::routes()
            .into_iter()
            .filter(|(_, p)| p.starts_with("/api/"))
            .map(|(m, p)| (m.to_owned(), p.to_owned()))
            .collect();
        documented.sort();
        routed.sort();
        assert_eq!(documented, routed);
    }
}
