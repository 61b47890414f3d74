//! API reconciliation files (mypivot.md §1.0): upload the org's treasury, Poste or notification
//! file (the ZIP as the body, its MyPivot name in `?file_name=`, the kind and a giornale di
//! cassa's column positions optional), poll it (state and counts), download its rejected rows.
//! `services::reconciliation::uploads` does the work, as for the CLI and the back office.

use serde_json::{Value, json};

use super::files::{download_as, id_param};
use super::{ApiCtx, ApiError};
use crate::domain::reconciliation::Source;
use crate::services::debts::imports::Limits;
use crate::services::reconciliation::uploads::{self, Upload};
use crate::store::reconciliation::UploadRecord;
use crate::web::Response;
use crate::web::forms::Form;

fn upload_json(ipa: &str, u: &UploadRecord) -> Value {
    let rejects = u.rejects_file.as_ref().map(|_| format!("/api/v1/orgs/{ipa}/reconciliation-files/{}/rejects", u.id));
    json!({
        "id": u.id, "file_name": u.file_name, "kind": u.kind, "state": u.state.code(), "error": u.error,
        "rows_loaded": u.rows_accepted, "rows_rejected": u.rows_rejected, "rows_ignored": u.rows_ignored,
        "warnings": u.warnings, "rejects": rejects, "submitted_at": u.submitted_at, "finished_at": u.finished_at,
    })
}

/// `POST /api/v1/orgs/{ipa}/reconciliation-files?file_name=<IPA>-<id>-1_0.zip[&kind=C|O|T|Y|P|D]
/// [&columns=1,2,3,4,5,6,7]` with the ZIP as the body.
pub fn submit(ctx: &ApiCtx<'_>) -> Result<Response, ApiError> {
    let query = Form::parse(ctx.request.query.as_bytes()).unwrap_or_default();
    let file_name = query.get("file_name").unwrap_or_default();
    if file_name.is_empty() {
        return Err(ApiError::invalid("file_name is required in the query: <IPA>-<id>-1_0.zip"));
    }
    let kind = match query.get("kind").unwrap_or_default() {
        "" => None,
        code => {
            let mut chars = code.chars();
            let source = match (chars.next(), chars.next()) {
                (Some(c), None) => Source::from_code(c.to_ascii_uppercase()).filter(|s| s.uploaded()),
                _ => None,
            };
            Some(source.ok_or_else(|| ApiError::invalid(format!("kind {code}: one of C, O, T, Y, P, D")))?)
        }
    };
    let columns = match query.get("columns").unwrap_or_default() {
        "" => None,
        text => Some(uploads::parse_columns(Some(text)).ok_or_else(|| {
            ApiError::invalid(format!("columns {text}: seven column numbers from 1 to 100, comma-separated"))
        })?),
    };
    if ctx.request.body.is_empty() {
        return Err(ApiError::invalid("the body must be the ZIP of the reconciliation file"));
    }
    let actor = ctx.actor();
    let upload = Upload { org_ipa: ctx.ipa(), file_name, kind, columns, actor: &actor };
    let config = &ctx.state.config;
    let max_bytes = Limits::from_config(config).max_upload_bytes;
    let mut body = ctx.request.body.reader();
    let submitted = uploads::submit(&ctx.state.db, &config.data_dir, max_bytes, &upload, &mut body, ctx.now)?;
    let record = submitted.upload;
    Ok(Response::json(202, &upload_json(ctx.ipa(), &record))
        .with_header("Location", format!("/api/v1/orgs/{}/reconciliation-files/{}", ctx.ipa(), record.id)))
}

/// `GET /api/v1/orgs/{ipa}/reconciliation-files/{id}`.
pub fn get(ctx: &ApiCtx<'_>) -> Result<Response, ApiError> {
    let record = uploads::get_upload(&ctx.state.db, ctx.ipa(), id_param(ctx, "reconciliation file")?)?;
    Ok(Response::json(200, &upload_json(ctx.ipa(), &record)))
}

/// `GET /api/v1/orgs/{ipa}/reconciliation-files/{id}/rejects`: the ZIP of the rejected rows.
pub fn rejects(ctx: &ApiCtx<'_>) -> Result<Response, ApiError> {
    let id = id_param(ctx, "reconciliation file")?;
    let file = uploads::rejects_download(&ctx.state.db, &ctx.state.config.data_dir, ctx.ipa(), id)?
        .ok_or_else(|| ApiError::not_found(format!("reconciliation file {id} has no rejected rows")))?;
    download_as(&file.path, &file.file_name)
}
