//! API reconciliation exports (MyPivot's flusso riconciliazione): book one, poll it, download its
//! ZIP, in the style of receipt exports (`files`); `services::reconciliation::exports` does the work.

use serde_json::{Value, json};

use super::{ApiCtx, ApiError};
use crate::domain::reconciliation::Label;
use crate::domain::{Day, ReconExportState};
use crate::flows::recon_export::Headers;
use crate::services::reconciliation::exports::{self, Booking, Filters, Range};
use crate::store::recon_exports::ReconExportRecord;
use crate::web::Response;

fn export_json(ipa: &str, e: &ReconExportRecord) -> Value {
    let file = (e.state == ReconExportState::Done && e.file_name.is_some() && e.file_purged_at.is_none())
        .then(|| format!("/api/v1/orgs/{ipa}/reconciliation-exports/{}/file", e.id));
    let headers = match exports::headers_of(e) {
        Headers::MyPivot => "mypivot",
        Headers::P4pa => "p4pa",
    };
    json!({
        "id": e.id, "version": e.version, "headers": headers, "max_rows": e.max_rows, "state": e.state.code(),
        "file_name": e.file_name, "rows": e.rows, "error": e.error, "file": file,
        "file_purged_at": e.file_purged_at, "requested_at": e.requested_at, "finished_at": e.finished_at,
    })
}

fn strings(body: &Value, name: &str) -> Result<Vec<String>, ApiError> {
    match body.get(name) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(list)) => list
            .iter()
            .map(|v| v.as_str().map(str::to_owned).ok_or_else(|| ApiError::invalid(format!("{name} must be strings"))))
            .collect(),
        Some(_) => Err(ApiError::invalid(format!("{name} must be a list"))),
    }
}

fn day(body: &Value, name: &str) -> Result<Option<Day>, ApiError> {
    match body.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => {
            Day::parse(s).map(Some).map_err(|_| ApiError::invalid(format!("{name} must be a day YYYY-MM-DD")))
        }
        Some(_) => Err(ApiError::invalid(format!("{name} must be a day YYYY-MM-DD"))),
    }
}

fn range(body: &Value, prefix: &str) -> Result<Range, ApiError> {
    Ok(Range { from: day(body, &format!("{prefix}_from"))?, to: day(body, &format!("{prefix}_to"))? })
}

/// `POST /api/v1/orgs/{ipa}/reconciliation-exports`: `{"version", "from"?, "to"?, "labels"?,
/// "debt_types"?, "iuvs"?, "iufs"?, "headers"?, "max_rows"?, "<range>_from"?, "<range>_to"?}`
/// (ranges: last_update, outcome, settlement, accounting, value), run in the background.
pub fn book(ctx: &ApiCtx<'_>) -> Result<Response, ApiError> {
    let body = ctx.json_body()?;
    let version = match body.get("version") {
        Some(Value::String(v)) => v.clone(),
        _ => return Err(ApiError::invalid("version is required: 1.0, 1.1, 1.2, 1.3 or 1.4")),
    };
    let headers = match body.get("headers").and_then(Value::as_str) {
        None | Some("mypivot") => Headers::MyPivot,
        Some("p4pa") => Headers::P4pa,
        Some(other) => return Err(ApiError::invalid(format!("headers {other:?}: one of mypivot, p4pa"))),
    };
    let labels = strings(&body, "labels")?
        .iter()
        .map(|code| Label::from_code(code).ok_or_else(|| ApiError::invalid(format!("unknown label {code}"))))
        .collect::<Result<Vec<_>, _>>()?;
    let max_rows = match body.get("max_rows") {
        None | Some(Value::Null) => None,
        Some(v) => Some(v.as_u64().ok_or_else(|| ApiError::invalid("max_rows must be a positive integer"))?),
    };
    let filters = Filters {
        labels,
        debt_types: strings(&body, "debt_types")?,
        iuvs: strings(&body, "iuvs")?,
        iufs: strings(&body, "iufs")?,
        period: Range { from: day(&body, "from")?, to: day(&body, "to")? },
        last_update: range(&body, "last_update")?,
        outcome: range(&body, "outcome")?,
        settlement: range(&body, "settlement")?,
        accounting: range(&body, "accounting")?,
        value: range(&body, "value")?,
    };
    let actor = ctx.actor();
    let booking =
        Booking { ipa: ctx.ipa(), version: &version, headers, filters, max_rows, requested_by: &actor, operator: None };
    let export = exports::book(&ctx.state.db, &booking, true, ctx.now)?;
    Ok(Response::json(202, &export_json(ctx.ipa(), &export))
        .with_header("Location", format!("/api/v1/orgs/{}/reconciliation-exports/{}", ctx.ipa(), export.id)))
}

fn find(ctx: &ApiCtx<'_>) -> Result<ReconExportRecord, ApiError> {
    let not_found = || ApiError::not_found(format!("reconciliation export {} not found", ctx.param("id")));
    let id: i64 = ctx.param("id").parse().map_err(|_| not_found())?;
    exports::status(&ctx.state.db, ctx.ipa(), id)?.ok_or_else(not_found)
}

/// `GET /api/v1/orgs/{ipa}/reconciliation-exports/{id}`.
pub fn get(ctx: &ApiCtx<'_>) -> Result<Response, ApiError> {
    Ok(Response::json(200, &export_json(ctx.ipa(), &find(ctx)?)))
}

/// `GET /api/v1/orgs/{ipa}/reconciliation-exports/{id}/file`.
pub fn file(ctx: &ApiCtx<'_>) -> Result<Response, ApiError> {
    let export = find(ctx)?;
    if let Some(at) = &export.file_purged_at {
        return Err(ApiError::new(
            410,
            "GONE",
            format!("the file of reconciliation export {} was deleted by the retention purge at {at}", export.id),
            "File eliminato dalla pulizia periodica dei dati: richiedere una nuova esportazione.",
        ));
    }
    match exports::file_path(&ctx.state.config.data_dir, ctx.ipa(), &export) {
        Some(path) if export.file_name.as_deref().is_some_and(|n| !n.contains(['/', '\\'])) => {
            super::files::download(&path)
        }
        _ => Err(ApiError::not_found(format!(
            "reconciliation export {} has no file (state {})",
            export.id,
            export.state.code()
        ))),
    }
}
