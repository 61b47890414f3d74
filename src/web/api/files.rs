//! API debt flows and receipt exports: upload a flow (the ZIP as the body, its MyPay name in
//! `?file_name=`) and poll it, download its result files; book an export, poll it, download it.
//! The import pipeline and the export service do the work, as for the back office and the CLI.

use serde_json::{Value, json};

use super::{ApiCtx, ApiError};
use crate::domain::ExportState;
use crate::services::debts::exports::{self, ExportRequest};
use crate::services::debts::imports::{self, Limits, Upload};
use crate::store::exports::ExportRecord;
use crate::store::imports::ImportRecord;
use crate::web::Response;
use crate::web::forms::Form;

/// The result files of an import, by the name the API gives them.
const IMPORT_FILES: &[&str] = &["scarti", "iuv", "avvisi"];

fn import_file_path<'a>(import: &'a ImportRecord, kind: &str) -> Option<&'a str> {
    match kind {
        "scarti" => import.rejects_file.as_deref(),
        "iuv" => import.iuv_file.as_deref(),
        "avvisi" => import.notices_file.as_deref(),
        _ => None,
    }
}

fn import_json(ipa: &str, i: &ImportRecord) -> Value {
    let files: serde_json::Map<String, Value> = IMPORT_FILES
        .iter()
        .filter(|k| import_file_path(i, k).is_some())
        .map(|k| ((*k).to_owned(), json!(format!("/api/v1/orgs/{ipa}/imports/{}/files/{k}", i.id))))
        .collect();
    json!({
        "id": i.id, "file_name": i.file_name, "iuf": i.iuf, "layout_version": i.layout_version, "state": i.state.code(),
        "error_code": i.error_code, "error_description": i.error_description, "rows_total": i.rows_total,
        "rows_loaded": i.rows_loaded, "rows_rejected": i.rows_rejected, "files": files,
        "created_at": i.created_at, "finished_at": i.finished_at,
    })
}

pub(super) fn id_param(ctx: &ApiCtx<'_>, what: &str) -> Result<i64, ApiError> {
    ctx.param("id").parse().map_err(|_| ApiError::not_found(format!("{what} {} not found", ctx.param("id"))))
}

/// A file of the data directory as a download; 404 when it is gone.
pub(super) fn download(path: &std::path::Path) -> Result<Response, ApiError> {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    download_as(path, &name)
}

/// [`download`] under the name `name` (a ZIP).
pub(super) fn download_as(path: &std::path::Path, name: &str) -> Result<Response, ApiError> {
    let name = name.replace(['"', '\\', '\r', '\n'], "");
    let bytes = std::fs::read(path).map_err(|err| {
        tracing::warn!(error = %err, path = %path.display(), "API download: file missing");
        ApiError::not_found(format!("file {name} not found"))
    })?;
    Ok(Response { status: 200, headers: Vec::new(), body: bytes }
        .with_header("Content-Type", "application/zip")
        .with_header("Content-Disposition", format!("attachment; filename=\"{name}\""))
        .with_header("Cache-Control", "no-store"))
}

/// `POST /api/v1/orgs/{ipa}/imports?file_name=<IPA>-<IUF>-<version>.zip` with the ZIP as the body.
pub fn submit_import(ctx: &ApiCtx<'_>) -> Result<Response, ApiError> {
    let query = Form::parse(ctx.request.query.as_bytes()).unwrap_or_default();
    let file_name = query.get("file_name").unwrap_or_default();
    if file_name.is_empty() {
        return Err(ApiError::invalid("file_name is required in the query: <IPA>-<IUF>-<version>.zip"));
    }
    if ctx.request.body.is_empty() {
        return Err(ApiError::invalid("the body must be the ZIP of the debt flow"));
    }
    let actor = ctx.actor();
    let upload = Upload { org_ipa: ctx.ipa(), file_name, actor: &actor, operator: None };
    let config = &ctx.state.config;
    let mut body = ctx.request.body.reader();
    let submitted =
        imports::submit(&ctx.state.db, &config.data_dir, Limits::from_config(config), &upload, &mut body, ctx.now)?;
    let import = submitted.import;
    Ok(Response::json(202, &import_json(ctx.ipa(), &import))
        .with_header("Location", format!("/api/v1/orgs/{}/imports/{}", ctx.ipa(), import.id)))
}

/// `GET /api/v1/orgs/{ipa}/imports/{id}`.
pub fn get_import(ctx: &ApiCtx<'_>) -> Result<Response, ApiError> {
    let import = imports::get_import(&ctx.state.db, ctx.ipa(), id_param(ctx, "import")?)?;
    Ok(Response::json(200, &import_json(ctx.ipa(), &import)))
}

/// `GET /api/v1/orgs/{ipa}/imports/{id}/files/{kind}`: `scarti`, `iuv` or `avvisi`.
pub fn import_file(ctx: &ApiCtx<'_>) -> Result<Response, ApiError> {
    let import = imports::get_import(&ctx.state.db, ctx.ipa(), id_param(ctx, "import")?)?;
    let kind = ctx.param("kind");
    let file = import_file_path(&import, kind)
        .ok_or_else(|| ApiError::not_found(format!("import {} has no {kind} file", import.id)))?;
    download(&ctx.state.config.data_dir.join(file))
}

fn export_json(ipa: &str, e: &ExportRecord) -> Value {
    let file = (e.state == ExportState::Done && e.file_name.is_some() && e.file_purged_at.is_none())
        .then(|| format!("/api/v1/orgs/{ipa}/exports/{}/file", e.id));
    json!({
        "id": e.id, "version": e.version, "from": e.date_from, "to": e.date_to, "incremental": e.incremental,
        "with_receipt": e.with_receipt, "state": e.state.code(), "file_name": e.file_name, "rows": e.rows,
        "error": e.error, "file": file, "file_purged_at": e.file_purged_at, "requested_at": e.requested_at, "finished_at": e.finished_at,
    })
}

/// `POST /api/v1/orgs/{ipa}/exports`: `{"version", "from", "to", "incremental"?, "with_receipt"?,
/// "debt_types"?}`, run in the background.
pub fn book_export(ctx: &ApiCtx<'_>) -> Result<Response, ApiError> {
    let body = ctx.json_body()?;
    let text = |name: &str| -> Result<String, ApiError> {
        match body.get(name) {
            None | Some(Value::Null) => Ok(String::new()),
            Some(Value::String(s)) => Ok(s.clone()),
            Some(_) => Err(ApiError::invalid(format!("{name} must be a string"))),
        }
    };
    let flag = |name: &str| -> Result<bool, ApiError> {
        match body.get(name) {
            None | Some(Value::Null) => Ok(false),
            Some(Value::Bool(b)) => Ok(*b),
            Some(_) => Err(ApiError::invalid(format!("{name} must be true or false"))),
        }
    };
    let debt_types = match body.get("debt_types") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(list)) => list
            .iter()
            .map(|v| v.as_str().map(str::to_owned).ok_or_else(|| ApiError::invalid("debt_types must be strings")))
            .collect::<Result<_, _>>()?,
        Some(_) => return Err(ApiError::invalid("debt_types must be a list")),
    };
    let version = match text("version")?.as_str() {
        "" => "1.0".to_owned(),
        v => v.to_owned(),
    };
    let (from, to, actor) = (text("from")?, text("to")?, ctx.actor());
    let req = ExportRequest {
        ipa: ctx.ipa(),
        version: &version,
        from: &from,
        to: &to,
        incremental: flag("incremental")?,
        with_receipt: flag("with_receipt")?,
        debt_types,
        requested_by: &actor,
        operator: None,
    };
    let export = exports::request_export(&ctx.state.db, &req, true, ctx.now)?;
    Ok(Response::json(202, &export_json(ctx.ipa(), &export))
        .with_header("Location", format!("/api/v1/orgs/{}/exports/{}", ctx.ipa(), export.id)))
}

fn find_export(ctx: &ApiCtx<'_>) -> Result<ExportRecord, ApiError> {
    let id = id_param(ctx, "export")?;
    exports::find_export(&ctx.state.db, ctx.token.org_id, id)?
        .ok_or_else(|| ApiError::not_found(format!("export {id} not found")))
}

/// `GET /api/v1/orgs/{ipa}/exports/{id}`.
pub fn get_export(ctx: &ApiCtx<'_>) -> Result<Response, ApiError> {
    Ok(Response::json(200, &export_json(ctx.ipa(), &find_export(ctx)?)))
}

/// `GET /api/v1/orgs/{ipa}/exports/{id}/file`.
pub fn export_file(ctx: &ApiCtx<'_>) -> Result<Response, ApiError> {
    let export = find_export(ctx)?;
    if let Some(at) = &export.file_purged_at {
        return Err(ApiError::new(
            410,
            "GONE",
            format!("the file of export {} was deleted by the retention purge at {at}", export.id),
            "File eliminato dalla pulizia periodica dei dati: richiedere una nuova esportazione.",
        ));
    }
    match export.file_name.as_deref().filter(|n| !n.contains(['/', '\\'])) {
        Some(name) if export.state == ExportState::Done => {
            download(&ctx.state.config.data_dir.join("export").join(ctx.ipa()).join(name))
        }
        _ => Err(ApiError::not_found(format!("export {} has no file (state {})", export.id, export.state.code()))),
    }
}
