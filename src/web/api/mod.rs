//! The REST JSON API for the org's own systems (`/api/v1/orgs/{ipa}/...`), documented by
//! `openapi.json` (written by us, served at `/api/openapi.json`). [`ROUTES`] is the one table of
//! endpoints; a test checks that it and the document list the same operations.
//!
//! Every call needs `Authorization: Bearer <token>` of the org in the path (`mypay api-token`):
//! missing, unknown or revoked → 401, another org's → 403; objects of another org are 404.
//! Errors are `{"error": {"code", "message", "messaggio", "details"?}}` with a stable `code`
//! (MyPay's `PAA_*` where a rule of MyPay refused the input). Every call is journaled
//! (`api <METHOD> <route>`), besides the audit entries of the changes themselves.
//! **Boundary:** HTTP JSON for integrators; the same services as every other channel underneath.

mod debts;
mod files;

use serde_json::{Value, json};

use super::router::Request;
use super::{AppState, Response};
use crate::services::ServiceError;
use crate::services::journal::JournalEntry;
use crate::store::api_tokens::ApiTokenRecord;

/// The OpenAPI 3 document of this API.
pub const OPENAPI: &str = include_str!("openapi.json");

/// Every operation of the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    OpenApi,
    CreateDebt,
    GetDebt,
    ModifyDebt,
    AnnulDebt,
    GetDebtByIuv,
    StartPayment,
    GetPayment,
    ListPushes,
    SubmitImport,
    GetImport,
    GetImportFile,
    BookExport,
    GetExport,
    GetExportFile,
}

/// (method, path template, endpoint): `{name}` matches one non-empty segment.
pub const ROUTES: &[(&str, &str, Endpoint)] = &[
    ("GET", "/api/openapi.json", Endpoint::OpenApi),
    ("POST", "/api/v1/orgs/{ipa}/debts", Endpoint::CreateDebt),
    ("GET", "/api/v1/orgs/{ipa}/debts/{iud}", Endpoint::GetDebt),
    ("PUT", "/api/v1/orgs/{ipa}/debts/{iud}", Endpoint::ModifyDebt),
    ("DELETE", "/api/v1/orgs/{ipa}/debts/{iud}", Endpoint::AnnulDebt),
    ("GET", "/api/v1/orgs/{ipa}/debts-by-iuv/{iuv}", Endpoint::GetDebtByIuv),
    ("POST", "/api/v1/orgs/{ipa}/payments", Endpoint::StartPayment),
    ("GET", "/api/v1/orgs/{ipa}/payments/{session}", Endpoint::GetPayment),
    ("GET", "/api/v1/orgs/{ipa}/pushes", Endpoint::ListPushes),
    ("POST", "/api/v1/orgs/{ipa}/imports", Endpoint::SubmitImport),
    ("GET", "/api/v1/orgs/{ipa}/imports/{id}", Endpoint::GetImport),
    ("GET", "/api/v1/orgs/{ipa}/imports/{id}/files/{kind}", Endpoint::GetImportFile),
    ("POST", "/api/v1/orgs/{ipa}/exports", Endpoint::BookExport),
    ("GET", "/api/v1/orgs/{ipa}/exports/{id}", Endpoint::GetExport),
    ("GET", "/api/v1/orgs/{ipa}/exports/{id}/file", Endpoint::GetExportFile),
];

/// Where a request under `/api/` goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiRoute {
    /// An endpoint with the template it matched and the path's values of its `{names}`, in order.
    Call {
        endpoint: Endpoint,
        template: &'static str,
        params: Vec<String>,
    },
    /// The path exists with other methods (the `Allow` value).
    MethodNotAllowed(String),
    NotFound,
}

impl ApiRoute {
    /// Whether the body may be a debt flow (as large as `import.max_upload_bytes`).
    pub fn is_upload(&self) -> bool {
        matches!(self, ApiRoute::Call { endpoint: Endpoint::SubmitImport, .. })
    }
}

fn matches(template: &str, path: &str) -> Option<Vec<String>> {
    let mut params = Vec::new();
    let mut parts = path.split('/');
    for want in template.split('/') {
        let got = parts.next()?;
        if want.starts_with('{') {
            if got.is_empty() {
                return None;
            }
            params.push(got.to_owned());
        } else if want != got {
            return None;
        }
    }
    parts.next().is_none().then_some(params)
}

/// Picks the endpoint of a request under `/api/` (HEAD as GET).
pub fn resolve(method: &str, path: &str) -> ApiRoute {
    let method = if method == "HEAD" { "GET" } else { method };
    let mut allowed: Vec<&str> = Vec::new();
    for (m, template, endpoint) in ROUTES {
        if let Some(params) = matches(template, path) {
            if *m == method {
                return ApiRoute::Call { endpoint: *endpoint, template, params };
            }
            allowed.push(m);
        }
    }
    if allowed.is_empty() { ApiRoute::NotFound } else { ApiRoute::MethodNotAllowed(allowed.join(", ")) }
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

    fn response(&self) -> Response {
        let mut error = serde_json::Map::new();
        error.insert("code".to_owned(), json!(self.code));
        error.insert("message".to_owned(), json!(self.message));
        error.insert("messaggio".to_owned(), json!(self.messaggio));
        if !self.details.is_empty() {
            error.insert("details".to_owned(), Value::Array(self.details.clone()));
        }
        Response::json(self.status, &json!({ "error": error }))
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
            ServiceError::Store(_) | ServiceError::Internal(_) => {
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
    pub params: &'a [String],
    pub now: jiff::Timestamp,
}

impl ApiCtx<'_> {
    /// The org's IPA code (the token's, which the path must name).
    pub fn ipa(&self) -> &str {
        &self.token.org_ipa
    }

    /// The path value after `{ipa}` (index 0 is the IPA code).
    pub fn param(&self, index: usize) -> &str {
        self.params.get(index).map_or("", String::as_str)
    }

    /// The audit actor of this call.
    pub fn actor(&self) -> String {
        format!("api:{}#{}", self.token.org_ipa, self.token.id)
    }

    pub fn iso_now(&self) -> String {
        crate::clock::iso(self.now)
    }

    /// The body as a JSON object.
    pub fn json_body(&self) -> Result<Value, ApiError> {
        let value: Value = serde_json::from_slice(self.request.body).map_err(|err| {
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

/// Answers a request under `/api/`.
pub fn handle(state: &AppState, route: &ApiRoute, request: &Request<'_>) -> Response {
    let started = std::time::Instant::now();
    let (endpoint, template, params) = match route {
        ApiRoute::Call { endpoint, template, params } => (*endpoint, *template, params),
        ApiRoute::MethodNotAllowed(allow) => {
            let refusal =
                ApiError::new(405, "METHOD_NOT_ALLOWED", format!("allowed: {allow}"), "Metodo non consentito.");
            let response = refusal.response().with_header("Allow", allow.clone());
            journal(state, request, "-", None, &refusal.code, &response, started);
            return response;
        }
        ApiRoute::NotFound => {
            let refusal = ApiError::not_found("no such API path");
            let response = refusal.response();
            journal(state, request, "-", None, &refusal.code, &response, started);
            return response;
        }
    };
    if endpoint == Endpoint::OpenApi {
        return Response::text(200, "application/json", OPENAPI.to_owned());
    }
    let now = crate::clock::now();
    let token = match authenticate(state, request, params, now) {
        Ok(token) => token,
        Err(refusal) => {
            let mut response = refusal.response();
            if refusal.status == 401 {
                response = response.with_header("WWW-Authenticate", "Bearer realm=\"mypay\"");
            }
            journal(state, request, template, None, &refusal.code, &response, started);
            return response;
        }
    };
    let ctx = ApiCtx { state, request, token, params, now };
    let result = match endpoint {
        Endpoint::OpenApi => Ok(Response::text(200, "application/json", OPENAPI.to_owned())),
        Endpoint::CreateDebt => debts::create(&ctx),
        Endpoint::GetDebt => debts::get_by_iud(&ctx),
        Endpoint::ModifyDebt => debts::modify(&ctx),
        Endpoint::AnnulDebt => debts::annul(&ctx),
        Endpoint::GetDebtByIuv => debts::get_by_iuv(&ctx),
        Endpoint::StartPayment => debts::start_payment(&ctx),
        Endpoint::GetPayment => debts::payment_status(&ctx),
        Endpoint::ListPushes => debts::pushes(&ctx),
        Endpoint::SubmitImport => files::submit_import(&ctx),
        Endpoint::GetImport => files::get_import(&ctx),
        Endpoint::GetImportFile => files::import_file(&ctx),
        Endpoint::BookExport => files::book_export(&ctx),
        Endpoint::GetExport => files::get_export(&ctx),
        Endpoint::GetExportFile => files::export_file(&ctx),
    };
    let (response, outcome) = match result {
        Ok(response) => {
            let outcome = response.status.to_string();
            (response, outcome)
        }
        Err(err) => (err.response(), err.code.clone()),
    };
    journal(state, request, template, Some(&ctx.token), &outcome, &response, started);
    response
}

/// The valid token of the org named in the path.
fn authenticate(
    state: &AppState,
    request: &Request<'_>,
    params: &[String],
    now: jiff::Timestamp,
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
    let token = crate::services::api_tokens::authenticate(&state.db, bearer, now).map_err(ApiError::from)?.ok_or_else(
        || {
            tracing::warn!(target: "security", "API call with an unknown or revoked token");
            unauthorized()
        },
    )?;
    let ipa = params.first().map_or("", String::as_str);
    if !ipa.eq_ignore_ascii_case(&token.org_ipa) {
        tracing::warn!(target: "security", token = token.id, org = %token.org_ipa, path_org = %ipa, "API token used for another org");
        return Err(ApiError::new(
            403,
            "FORBIDDEN",
            "this token belongs to another org",
            "Il token non è abilitato per questo ente.",
        ));
    }
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
    const KEEP: usize = 16 * 1024;
    let is_json = |ct: Option<&str>| ct.is_some_and(|c| c.starts_with("application/json"));
    let keep = |json: bool, body: &[u8]| {
        if json && body.len() <= KEEP {
            String::from_utf8_lossy(body).into_owned()
        } else {
            format!("({} bytes)", body.len())
        }
    };
    let content_type = response.headers.iter().find(|(n, _)| *n == "Content-Type").map(|(_, v)| v.as_str());
    let entry = JournalEntry {
        at: crate::clock::iso(crate::clock::now()),
        actor: token.map_or_else(|| "api:anonymous".to_owned(), |t| format!("api:{}#{}", t.org_ipa, t.id)),
        org_id: token.map(|t| t.org_id),
        action: format!("api {} {template}", request.method),
        object: Some(request.path.to_owned()),
        outcome: outcome.to_owned(),
        request: (!request.body.is_empty()).then(|| keep(is_json(request.header("content-type")), request.body)),
        response: Some(keep(is_json(content_type), &response.body)),
        duration_ms: Some(i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX)),
    };
    state.journal.record(&state.db, entry);
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn resolves_templates() {
        assert_eq!(
            resolve("GET", "/api/v1/orgs/c_f205/imports/7/files/scarti"),
            ApiRoute::Call {
                endpoint: Endpoint::GetImportFile,
                template: "/api/v1/orgs/{ipa}/imports/{id}/files/{kind}",
                params: vec!["c_f205".to_owned(), "7".to_owned(), "scarti".to_owned()]
            }
        );
        assert_eq!(
            resolve("PATCH", "/api/v1/orgs/x/debts/1"),
            ApiRoute::MethodNotAllowed("GET, PUT, DELETE".to_owned())
        );
        assert_eq!(resolve("GET", "/api/v1/orgs/x/debts/"), ApiRoute::NotFound);
        assert_eq!(resolve("GET", "/api/v1/orgs/x/debts/1/more"), ApiRoute::NotFound);
    }

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
        let mut routed: Vec<(String, String)> =
            ROUTES.iter().map(|(m, p, _)| ((*m).to_owned(), (*p).to_owned())).collect();
        documented.sort();
        routed.sort();
        assert_eq!(documented, routed);
    }
}
