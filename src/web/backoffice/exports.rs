//! Receipt exports: the request form (layout, dates, receipt columns, debt type), the list of
//! exports with their state, and the download (a 410 once the retention purge deleted the file). A request is queued as a job; an operator's exports
//! see only the debt types enabled for them. The page also holds the reconciliation exports'
//! section (`recon_exports`).

use maud::html;

use super::{BoCtx, BoError, download, purged_note};
use crate::domain::ExportState;
use crate::services::ServiceError;
use crate::services::admin::debt_types;
use crate::services::debts::exports::{self, ExportRequest};
use crate::web::Response;
use crate::web::ui::format::{date_it, datetime_it};

/// One end of an export's period: a payment day, or for an incremental export (the SIL's) an
/// instant stored in UTC, shown as the Italian time the municipality asked for.
fn period(end: &str, incremental: bool) -> String {
    if incremental { datetime_it(end) } else { date_it(end) }
}

/// `GET /operatore/{ipa}/esportazioni`.
pub fn list(ctx: &mut BoCtx<'_>, ipa: &str) -> Result<Response, BoError> {
    let grant = ctx.grant(ipa)?;
    let listed = exports::list_visible_exports(&ctx.state.db, &grant, 50);
    let (list, types) = match (listed, debt_types::list_debt_types(&ctx.state.db, &grant.org.ipa_code)) {
        (Ok(list), Ok(types)) => (list, types),
        (Err(err), _) => {
            tracing::error!(error = %err, "cannot list exports");
            return Err(BoError::Internal);
        }
        (_, Err(err)) => {
            tracing::error!(error = %err, "cannot list debt types");
            return Err(BoError::Internal);
        }
    };
    let today = ctx.now.today();
    let month_start = today.first_of_month();
    let csrf = ctx.csrf();
    let ctx_csrf_expired = ctx.csrf();
    let base = format!("/operatore/{}/esportazioni", grant.org.ipa_code);
    let reconciliation = super::recon_exports::section(ctx, &grant)?;
    let main = html! {
        h1 { "Esportazione ricevute" }
        p class="lead" { (grant.org.name) }
        form method="post" action=(base) class="row g-3 mb-5" {
            (csrf)
            div class="col-6 col-md-3" {
                label for="from" { "Pagamenti dal" }
                input type="date" class="form-control" id="from" name="from" value=(month_start.to_string()) required;
            }
            div class="col-6 col-md-3" {
                label for="to" { "al" }
                input type="date" class="form-control" id="to" name="to" value=(today.to_string()) required;
            }
            div class="col-6 col-md-2" {
                label for="version" { "Tracciato" }
                select class="form-select" id="version" name="version" {
                    @for v in ["1.0", "1.1", "1.2", "1.3"] { option value=(v) selected[v == "1.3"] { (v) } }
                }
            }
            div class="col-6 col-md-4" {
                label for="debt_type" { "Tipo dovuto" }
                select class="form-select" id="debt_type" name="debt_type" {
                    option value="" { "Tutti quelli abilitati" }
                    @for t in &types { option value=(t.code) { (t.description) " (" (t.code) ")" } }
                }
            }
            div class="col-12 form-check" {
                input type="checkbox" class="form-check-input" id="with_receipt" name="with_receipt" value="1" checked;
                label class="form-check-label" for="with_receipt" { "Includi la ricevuta (XML)" }
            }
            div class="col-12" { button type="submit" class="btn btn-primary" { "Richiedi l'esportazione" } }
        }
        h2 class="h4" id="scaduti" { "Dovuti scaduti" }
        p { "Un file (CSV in ZIP) con i dovuti ancora da pagare dei tipi con scadenza obbligatoria, scaduti prima del giorno scelto." }
        form method="post" action={ (base) "/scaduti" } class="row g-3 mb-5" {
            (ctx_csrf_expired)
            div class="col-6 col-md-3" {
                label for="due_before" { "Scaduti prima del" }
                input type="date" class="form-control" id="due_before" name="due_before" value=(today.to_string()) required;
            }
            div class="col-6 col-md-4" {
                label for="expired_type" { "Tipo dovuto" }
                select class="form-select" id="expired_type" name="debt_type" {
                    option value="" { "Tutti quelli con scadenza obbligatoria" }
                    @for t in types.iter().filter(|t| t.due_date_mandatory && grant.sees_type(t.id)) { option value=(t.code) { (t.description) " (" (t.code) ")" } }
                }
            }
            div class="col-12" { button type="submit" class="btn btn-primary" { "Esporta i dovuti scaduti" } }
        }
        h2 class="h4" { "Esportazioni richieste" }
        @if list.is_empty() {
            p { "Nessuna esportazione richiesta." }
        } @else {
            table class="table tabella-compatta" {
                caption class="visually-hidden" { "Esportazioni richieste" }
                thead { tr {
                    th scope="col" { "N." } th scope="col" { "Periodo" } th scope="col" { "Tracciato" }
                    th scope="col" { "Stato" } th scope="col" { "Righe" } th scope="col" { "Richiesta da" } th scope="col" { "File" }
                } }
                tbody {
                    @for e in &list {
                        tr {
                            td { (e.id) }
                            td { (period(&e.date_from, e.incremental)) " – " (period(&e.date_to, e.incremental)) }
                            td { @if e.kind == "SCADUTI" { "Dovuti scaduti" } @else { "Ricevute " (e.version) } }
                            td {
                                (e.state.label_it())
                                @if let Some(error) = &e.error { br; small { (error) } }
                                @if e.state == ExportState::Done && e.file_name.is_none() { br; small { "Nessuna ricevuta nel periodo." } }
                            }
                            td class="importo" { (e.rows.map(|n| n.to_string()).unwrap_or_default()) }
                            td { (super::words::actor(&e.requested_by)) }
                            td {
                                @if let Some(at) = &e.file_purged_at { (purged_note(at)) }
                                @else if e.file_name.is_some() { a href={ (base) "/" (e.id) "/file" } { "Scarica" } }
                            }
                        }
                    }
                }
            }
        }
        (reconciliation)
    };
    Ok(ctx.page("Esportazione ricevute", main))
}

/// `POST /operatore/{ipa}/esportazioni`.
pub fn request(ctx: &mut BoCtx<'_>, ipa: &str) -> Result<Response, BoError> {
    let grant = ctx.grant(ipa)?;
    let (from, to, version) = (ctx.form.text("from"), ctx.form.text("to"), ctx.form.text("version"));
    let debt_type = ctx.form.text("debt_type");
    let requested_by = format!("operator:{}", grant.username);
    let req = ExportRequest {
        ipa: &grant.org.ipa_code,
        version: &version,
        from: &from,
        to: &to,
        incremental: false,
        with_receipt: ctx.form.get("with_receipt").is_some(),
        debt_types: if debt_type.is_empty() { Vec::new() } else { vec![debt_type] },
        requested_by: &requested_by,
        operator: Some(&grant.username),
    };
    match exports::request_export(&ctx.state.db, &req, true, ctx.now) {
        Ok(export) => {
            ctx.session.flash("success", format!("Esportazione n. {} richiesta: sarà pronta a breve.", export.id))
        }
        Err(ServiceError::ExportRefused { code, .. }) => ctx.session.flash("danger", super::export_refusal(code)),
        Err(err) => {
            tracing::error!(error = %err, "cannot request an export");
            return Err(BoError::Internal);
        }
    }
    Ok(ctx.redirect(&format!("/operatore/{}/esportazioni", grant.org.ipa_code)))
}

/// `POST /operatore/{ipa}/esportazioni/scaduti`: the expired-debts export, made at once (as
/// `mypay export-expired`); an operator's covers the types enabled for them.
pub fn expired(ctx: &mut BoCtx<'_>, ipa: &str) -> Result<Response, BoError> {
    let grant = ctx.grant(ipa)?;
    let base = format!("/operatore/{}/esportazioni", grant.org.ipa_code);
    let chosen = ctx.form.text("debt_type").trim().to_owned();
    let due_before = ctx.form.text("due_before").trim().to_owned();
    let types = match debt_types::list_debt_types(&ctx.state.db, &grant.org.ipa_code) {
        Ok(types) => types,
        Err(err) => {
            tracing::error!(error = %err, "cannot list debt types");
            return Err(BoError::Internal);
        }
    };
    let visible: Vec<String> =
        types.iter().filter(|t| t.due_date_mandatory && grant.sees_type(t.id)).map(|t| t.code.clone()).collect();
    let selected = match (chosen.is_empty(), grant.allowed_types.is_some()) {
        (false, _) if visible.contains(&chosen) => vec![chosen],
        (false, _) => {
            ctx.session.flash("danger", "Scegli un tipo dovuto con scadenza obbligatoria tra quelli abilitati.");
            return Ok(ctx.redirect(&base));
        }
        (true, true) if visible.is_empty() => {
            ctx.session.flash("warning", "Nessun tipo dovuto abilitato per te ha la scadenza obbligatoria.");
            return Ok(ctx.redirect(&base));
        }
        (true, true) => visible,
        (true, false) => Vec::new(),
    };
    let requested_by = format!("operator:{}", grant.username);
    let done = exports::export_expired(
        &ctx.state.db,
        &ctx.state.config.data_dir,
        &grant.org.ipa_code,
        &due_before,
        &selected,
        &requested_by,
        ctx.now,
    );
    match done {
        Ok(outcome) if outcome.file.is_some() => ctx.session.flash(
            "success",
            format!("Esportazione n. {} dei dovuti scaduti pronta: la trovi nell'elenco qui sotto.", outcome.export.id),
        ),
        Ok(outcome) => ctx.session.flash(
            "info",
            format!("Esportazione n. {}: nessun dovuto scaduto prima di quel giorno.", outcome.export.id),
        ),
        Err(ServiceError::ExportRefused { code: "PAA_IDENTIFICATIVO_TIPO_DOVUTO_NON_VALIDO", .. }) => {
            ctx.session.flash("danger", "Scegli un tipo dovuto con scadenza obbligatoria tra quelli abilitati.")
        }
        Err(ServiceError::ExportRefused { .. } | ServiceError::Invalid { .. }) => {
            ctx.session.flash("danger", "Indica un giorno valido in «Scaduti prima del».")
        }
        Err(err) => {
            tracing::error!(error = %err, "cannot export expired debts");
            return Err(BoError::Internal);
        }
    }
    Ok(ctx.redirect(&format!("{base}#scaduti")))
}

/// `GET /operatore/{ipa}/esportazioni/{id}/file`.
pub fn file(ctx: &mut BoCtx<'_>, ipa: &str, id: &str) -> Result<Response, BoError> {
    let grant = ctx.grant(ipa)?;
    let Ok(id) = id.parse::<i64>() else {
        return Err(BoError::NotFound);
    };
    let found = exports::find_visible_export(&ctx.state.db, &grant, id);
    match found {
        Ok(Some(export)) => match (export.file_purged_at, export.file_name) {
            (Some(purged_at), _) => Err(BoError::FileGone(purged_at)),
            (None, Some(name)) if !name.contains('/') => Ok(download(
                &ctx.state.config.data_dir.join("export").join(&grant.org.ipa_code).join(name),
                "application/zip",
            )),
            _ => Err(BoError::NotFound),
        },
        _ => Err(BoError::NotFound),
    }
}
