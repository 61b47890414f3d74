//! Debt-flow uploads: the upload form, the list of past imports with their state, totals and
//! progress, the downloads of their result files (`_SCARTI`, `_IUV`, `_AVVISI_PDF`; once the retention
//! purge deleted them, the day it did and a 410), and the request
//! for a flow's notices (`import.notices = "on-demand"`, or again after a failure). The upload goes
//! through the same service as `mypay import`; the server's job runner applies it.

use maud::{Markup, html};

use super::{BoCtx, BoError, download, purged_note};
use crate::config::NoticesMode;
use crate::domain::ImportState;
use crate::domain::adhesion::Channel;
use crate::services::ServiceError;
use crate::services::debts::imports::notices::{self, NoticesStatus, bytes_text};
use crate::services::debts::imports::{self, Limits, Upload, UploadProblem};
use crate::web::Response;
use crate::web::ui::format::count_it;

/// `GET /operatore/{ipa}/flussi`.
pub fn list(ctx: &mut BoCtx<'_>, ipa: &str) -> Result<Response, BoError> {
    let grant = ctx.grant(ipa)?;
    let list = match imports::list_visible_imports(&ctx.state.db, &grant, 50, 0) {
        Ok(list) => list,
        Err(err) => {
            tracing::error!(error = %err, "cannot list imports");
            return Err(BoError::Internal);
        }
    };
    let notices_states = match notices::statuses(&ctx.state.db, &list, ctx.state.config.import.notices) {
        Ok(states) => states,
        Err(err) => {
            tracing::error!(error = %err, "cannot read the notices of imports");
            return Err(BoError::Internal);
        }
    };
    let csrf = ctx.csrf();
    let mode = ctx.state.config.import.notices;
    let limit_mb = ctx.state.config.import.max_upload_bytes / (1024 * 1024);
    let base = format!("/operatore/{}/flussi", grant.org.ipa_code);
    let not_admitted = super::adhesion::not_admitted(ctx, &grant, Channel::DebtFlows);
    let main = html! {
        h1 { "Flussi dei dovuti" }
        p class="lead" { (grant.org.name) }
        @if let Some(notice) = &not_admitted { (notice) } @else {
            form method="post" action=(ctx.upload_action(&base)) enctype="multipart/form-data" class="mb-5" {
                div class="form-group mb-3" {
                    label for="file" { "File del flusso (" code { (grant.org.ipa_code) "-<IUF>-<versione>.zip" } ", al massimo " (limit_mb) " MB)" }
                    input type="file" class="form-control" id="file" name="file" accept=".zip,application/zip" required;
                }
                button type="submit" class="btn btn-primary" { "Carica il flusso" }
            }
        }
        h2 class="h4" { "Caricamenti" }
        @if list.is_empty() {
            p { "Nessun flusso caricato." }
        } @else {
            table class="table tabella-compatta" {
                caption class="visually-hidden" { "Flussi caricati" }
                thead { tr {
                    th scope="col" { "File" } th scope="col" { "Stato" } th scope="col" { "Righe" }
                    th scope="col" { "Caricate" } th scope="col" { "Scartate" } th scope="col" { "Caricato da" }
                    th scope="col" { "Esiti" } th scope="col" { "Avvisi" }
                } }
                tbody {
                    @for (i, notices_status) in list.iter().zip(&notices_states) {
                        tr {
                            td { (i.file_name) }
                            td {
                                (i.state.label_it())
                                @if let (ImportState::InProgress, Some(total)) = (i.state, i.rows_total) {
                                    // Rows of an import in progress are visible as each chunk commits.
                                    br; small { "in corso: " (count_it(i.rows_loaded.unwrap_or(0) + i.rows_rejected.unwrap_or(0))) " di " (count_it(total)) }
                                }
                                @if let Some(code) = &i.error_code { br; small { code { (code) } " " (i.error_description.clone().unwrap_or_default()) } }
                            }
                            td class="importo" { (i.rows_total.map(|n| n.to_string()).unwrap_or_default()) }
                            td class="importo" { (i.rows_loaded.map(|n| n.to_string()).unwrap_or_default()) }
                            td class="importo" { (i.rows_rejected.map(|n| n.to_string()).unwrap_or_default()) }
                            td { (i.uploader) }
                            td {
                                @if let Some(at) = &i.files_purged_at { (purged_note(at)) } @else {
                                @if i.rejects_file.is_some() { a href={ (base) "/" (i.id) "/scarti" } { "Scarti" } " " }
                                @if i.iuv_file.is_some() { a href={ (base) "/" (i.id) "/iuv" } { "IUV" } " " }
                                @if i.notices_file.is_some() { a href={ (base) "/" (i.id) "/avvisi" } { "Avvisi PDF" } }
                                }
                                @if i.state == ImportState::Done && ctx.state.region.is_none() {
                                    // Rows without an IUV get one when paid; this gives them all one now.
                                    form method="post" action={ (base) "/" (i.id) "/assegna-iuv" } class="d-inline" {
                                        (csrf)
                                        button type="submit" class="btn btn-outline-primary btn-sm" { "Assegna gli IUV mancanti" }
                                    }
                                }
                            }
                            td { (notices_cell(notices_status, mode, &format!("{base}/{}/avvisi", i.id), &csrf)) }
                        }
                    }
                }
            }
        }
    };
    Ok(ctx.page("Flussi dei dovuti", main))
}

/// What the notices column says of one import, with the request button when it applies.
fn notices_cell(status: &NoticesStatus, mode: NoticesMode, action: &str, csrf: &Markup) -> Markup {
    let button = |label: &str| {
        html! {
            form method="post" action=(action) class="d-inline" {
                (csrf)
                button type="submit" class="btn btn-outline-primary btn-sm" { (label) }
            }
        }
    };
    html! {
        @match status {
            NoticesStatus::None | NoticesStatus::Ready => {}
            NoticesStatus::Queued { done: 0, .. } => { "In coda" }
            NoticesStatus::Queued { done, total } => { "In pausa: " (progress_it(*done, *total)) }
            NoticesStatus::Running { done, total } => {
                "In preparazione: " (progress_it(*done, *total))
                @if let Some(total) = total.filter(|t| *t > 0) {
                    br; progress max=(total) value=(done) aria-label="Avvisi preparati" {}
                }
            }
            NoticesStatus::NotRequested => {}
            NoticesStatus::Disabled => { "Non previsti" }
            NoticesStatus::DiskShort { needed: 0, available } => {
                small class="text-danger" {
                    "Il disco dei dati si è riempito durante la preparazione (liberi " (bytes_text(*available))
                    "). Liberare spazio e richiederli di nuovo."
                }
            }
            NoticesStatus::DiskShort { needed, available } => {
                small class="text-danger" {
                    "Spazio su disco insufficiente: servono circa " (bytes_text(*needed)) ", liberi " (bytes_text(*available))
                    ". Liberare spazio e richiederli di nuovo."
                }
            }
            NoticesStatus::Failed { .. } => { small class="text-danger" { "Preparazione non riuscita." } }
        }
        @if status.can_request(mode) {
            @if matches!(status, NoticesStatus::NotRequested) { (button("Genera gli avvisi")) } @else { " " (button("Riprova")) }
        }
    }
}

fn progress_it(done: u64, total: Option<u64>) -> String {
    let count = |n: u64| count_it(i64::try_from(n).unwrap_or(i64::MAX));
    match total {
        Some(total) => format!("{} di {}", count(done), count(total)),
        None => count(done),
    }
}

/// `POST /operatore/{ipa}/flussi/{import}/avvisi`: asks for the notices ZIP of an applied import.
pub fn request_notices(ctx: &mut BoCtx<'_>, ipa: &str, id: &str) -> Result<Response, BoError> {
    let grant = ctx.grant(ipa)?;
    let Ok(id) = id.parse::<i64>() else {
        return Err(BoError::NotFound);
    };
    let Ok(import) = imports::get_visible_import(&ctx.state.db, &grant, id) else {
        return Err(BoError::NotFound);
    };
    let actor = format!("operator:{}", grant.username);
    let mode = ctx.state.config.import.notices;
    match notices::request(&ctx.state.db, &grant.org.ipa_code, import.id, &actor, mode, ctx.now) {
        Ok(_) => ctx
            .session
            .flash("success", format!("Avvisi del flusso {} richiesti: la preparazione è in corso.", import.file_name)),
        Err(err) if err.is_user_error() => {
            tracing::info!(import = import.id, error = %err, "notices not requested");
            ctx.session.flash("danger", "Gli avvisi di questo flusso non possono essere richiesti ora.")
        }
        Err(err) => {
            tracing::error!(error = %err, "cannot request the notices of an import");
            return Err(BoError::Internal);
        }
    }
    Ok(ctx.redirect(&format!("/operatore/{}/flussi", grant.org.ipa_code)))
}

/// `POST /operatore/{ipa}/flussi/{import}/assegna-iuv`: gives the flow's payable debts without an
/// IUV one now (`services::debts::iuv::assign_bulk`, chunked), instead of when each is paid.
pub fn assign_iuvs(ctx: &mut BoCtx<'_>, ipa: &str, id: &str) -> Result<Response, BoError> {
    let grant = ctx.grant(ipa)?;
    let Ok(id) = id.parse::<i64>() else {
        return Err(BoError::NotFound);
    };
    let Ok(import) = imports::get_visible_import(&ctx.state.db, &grant, id) else {
        return Err(BoError::NotFound);
    };
    let actor = format!("operator:{}", grant.username);
    match crate::services::debts::iuv::assign_bulk(
        &ctx.state.db,
        &actor,
        &grant.org.ipa_code,
        Some(import.id),
        &|| false,
        ctx.now,
    ) {
        Ok(done) => ctx.session.flash(
            "success",
            format!(
                "IUV assegnati a {} dovuti del flusso {}.",
                count_it(i64::try_from(done.debts).unwrap_or(i64::MAX)),
                import.file_name
            ),
        ),
        Err(err) if err.is_user_error() => {
            tracing::info!(import = import.id, error = %err, "IUVs not assigned");
            ctx.session.flash("danger", "Gli IUV di questo flusso non possono essere assegnati qui.")
        }
        Err(err) => {
            tracing::error!(error = %err, "cannot assign the IUVs of an import");
            return Err(BoError::Internal);
        }
    }
    Ok(ctx.redirect(&format!("/operatore/{}/flussi", grant.org.ipa_code)))
}

/// `POST /operatore/{ipa}/flussi` (multipart): stores the upload and queues its import.
pub fn upload(ctx: &mut BoCtx<'_>, ipa: &str) -> Result<Response, BoError> {
    let grant = ctx.grant(ipa)?;
    let Some(part) = ctx.parts.iter().find(|p| p.name == "file" && p.file_name.is_some()) else {
        return Err(BoError::BadRequest("Scegli il file del flusso da caricare.".to_owned()));
    };
    // Only the last path component: browsers of some systems send a full path.
    let file_name = part.file_name.clone().unwrap_or_default();
    let file_name = file_name.rsplit(['/', '\\']).next().unwrap_or_default().to_owned();
    let actor = format!("operator:{}", grant.username);
    let upload = Upload {
        org_ipa: &grant.org.ipa_code,
        file_name: &file_name,
        actor: &actor,
        operator: grant.enablement_operator(),
    };
    let mut data = part.reader();
    let limits = Limits::from_config(&ctx.state.config);
    match imports::submit(&ctx.state.db, &ctx.state.config.data_dir, limits, &upload, &mut data, ctx.now) {
        Ok(submitted) => {
            ctx.session.flash(
                "success",
                format!("Flusso {file_name} caricato: l'elaborazione è in corso (n. {}).", submitted.import.id),
            );
        }
        Err(err) if err.is_user_error() => {
            tracing::info!(error = %err, "upload refused");
            ctx.session.flash("danger", upload_refusal(&err, limits.max_upload_bytes));
        }
        Err(err) => {
            tracing::error!(error = %err, "cannot store an upload");
            return Err(BoError::Internal);
        }
    }
    Ok(ctx.redirect(&format!("/operatore/{}/flussi", grant.org.ipa_code)))
}

/// Why an upload was refused, in Italian (the service's English detail goes to the log).
fn upload_refusal(err: &ServiceError, max_bytes: u64) -> String {
    let why = match (imports::upload_problem(err), err) {
        (Some(UploadProblem::TooLarge), _) => {
            let max = count_it(i64::try_from(max_bytes).unwrap_or(i64::MAX));
            format!("il file supera la dimensione massima consentita ({max} byte).")
        }
        (Some(UploadProblem::CutOff), _) => "il caricamento del file si è interrotto: riprova.".to_owned(),
        (Some(UploadProblem::BadName), _) => "il nome del file non è valido.".to_owned(),
        (None, ServiceError::NotAdmitted(refusal)) => refusal.message_it(),
        (None, ServiceError::Invalid { field, .. }) if field == "operator" => {
            "non sei abilitato a caricare flussi per questo ente.".to_owned()
        }
        (None, ServiceError::NotFound(_) | ServiceError::Access(_)) => {
            "non sei abilitato a caricare flussi per questo ente.".to_owned()
        }
        _ => "il file non può essere ricevuto ora: riprova più tardi.".to_owned(),
    };
    format!("Flusso non accettato: {why}")
}

/// `GET /operatore/{ipa}/flussi/{id}/{scarti|iuv|avvisi}`.
pub fn file(ctx: &mut BoCtx<'_>, ipa: &str, id: &str, kind: &str) -> Result<Response, BoError> {
    let grant = ctx.grant(ipa)?;
    let Ok(id) = id.parse::<i64>() else {
        return Err(BoError::NotFound);
    };
    let Ok(import) = imports::get_visible_import(&ctx.state.db, &grant, id) else {
        return Err(BoError::NotFound);
    };
    if let Some(at) = import.files_purged_at {
        return Err(BoError::FileGone(at));
    }
    let relative = match kind {
        "scarti" => import.rejects_file,
        "iuv" => import.iuv_file,
        "avvisi" => import.notices_file,
        _ => None,
    };
    match relative {
        Some(rel) => Ok(download(&ctx.state.config.data_dir.join(rel), "application/zip")),
        None => Err(BoError::NotFound),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upload_refusals_are_italian() {
        let too_big = ServiceError::invalid("file", "larger than import.max_upload_bytes (1024 bytes)");
        assert_eq!(
            upload_refusal(&too_big, 1_048_576),
            "Flusso non accettato: il file supera la dimensione massima consentita (1.048.576 byte)."
        );
        let name = ServiceError::invalid("file", "\"\" is not a file name");
        assert_eq!(upload_refusal(&name, 1), "Flusso non accettato: il nome del file non è valido.");
        let cut = ServiceError::invalid("file", "cannot read the upload: reset");
        assert_eq!(upload_refusal(&cut, 1), "Flusso non accettato: il caricamento del file si è interrotto: riprova.");
        let role = ServiceError::invalid("operator", "mario has no role in org c_x");
        assert_eq!(
            upload_refusal(&role, 1),
            "Flusso non accettato: non sei abilitato a caricare flussi per questo ente."
        );
        let gone = ServiceError::NotFound("operator mario".to_owned());
        assert_eq!(
            upload_refusal(&gone, 1),
            "Flusso non accettato: non sei abilitato a caricare flussi per questo ente."
        );
        let other = ServiceError::Conflict("duplicate".to_owned());
        assert_eq!(
            upload_refusal(&other, 1),
            "Flusso non accettato: il file non può essere ricevuto ora: riprova più tardi."
        );
    }
}
