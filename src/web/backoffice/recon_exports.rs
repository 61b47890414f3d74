//! Reconciliation exports on the exports page (section `#riconciliazione`): the booking form
//! (period, layout, labels, header names), the list of bookings with their MyPivot state, and the
//! download, beside receipt exports and with the same grant: an operator books and sees only the
//! debt types enabled for them.

use maud::{Markup, html};

use super::{BoCtx, BoError, download, purged_note};
use crate::domain::reconciliation::Label;
use crate::domain::{Day, ReconExportState};
use crate::flows::recon_export::Headers;
use crate::services::ServiceError;
use crate::services::admin::access::OrgAccess;
use crate::services::reconciliation::exports::{self, Booking, Filters, Range};
use crate::web::Response;
use crate::web::ui::format::{date_it, datetime_it};

/// The section of `GET /operatore/{ipa}/esportazioni`.
pub fn section(ctx: &mut BoCtx<'_>, grant: &OrgAccess) -> Result<Markup, BoError> {
    let list = exports::list_visible(&ctx.state.db, grant, 50).map_err(|err| {
        tracing::error!(error = %err, "cannot list reconciliation exports");
        BoError::Internal
    })?;
    let today = ctx.now.today();
    let month_start = today.first_of_month();
    let csrf = ctx.csrf();
    let base = format!("/operatore/{}/esportazioni/riconciliazione", grant.org.ipa_code);
    Ok(html! {
        h2 class="h4" id="riconciliazione" { "Riconciliazione" }
        p { "Il flusso di riconciliazione nei tracciati MyPivot (CSV in ZIP): una riga per pagamento e classificazione, nel periodo scelto." }
        form method="post" action=(base) class="row g-3 mb-5" {
            (csrf)
            div class="col-6 col-md-3" {
                label for="recon_from" { "Dal" }
                input type="date" class="form-control" id="recon_from" name="from" value=(month_start.to_string()) required;
            }
            div class="col-6 col-md-3" {
                label for="recon_to" { "al" }
                input type="date" class="form-control" id="recon_to" name="to" value=(today.to_string()) required;
            }
            div class="col-6 col-md-2" {
                label for="recon_version" { "Tracciato" }
                select class="form-select" id="recon_version" name="version" {
                    @for v in ["1.0", "1.1", "1.2", "1.3", "1.4"] { option value=(v) selected[v == "1.4"] { (v) } }
                }
            }
            div class="col-6 col-md-4" {
                label for="recon_headers" { "Nomi delle colonne" }
                select class="form-select" id="recon_headers" name="headers" {
                    option value="mypivot" selected { "MyPivot" }
                    option value="p4pa" { "P4PA (solo 1.3 e 1.4)" }
                }
            }
            fieldset class="col-12" {
                legend { "Classificazioni (nessuna scelta: tutte)" }
                @for label in Label::ALL {
                    div class="form-check" {
                        input type="checkbox" class="form-check-input" id={ "recon_" (label.code()) } name="label" value=(label.code());
                        label class="form-check-label" for={ "recon_" (label.code()) } { (label.caption_it()) " (" (label.code()) ")" }
                    }
                }
            }
            div class="col-12" { button type="submit" class="btn btn-primary" { "Prenota l'esportazione" } }
        }
        h3 class="h4" { "Esportazioni della riconciliazione" }
        @if list.is_empty() {
            p { "Nessuna esportazione della riconciliazione prenotata." }
        } @else {
            table class="table tabella-compatta" {
                caption class="visually-hidden" { "Esportazioni della riconciliazione" }
                thead { tr {
                    th scope="col" { "N." } th scope="col" { "Periodo" } th scope="col" { "Tracciato" }
                    th scope="col" { "Stato" } th scope="col" { "Righe" } th scope="col" { "Richiesta da" } th scope="col" { "File" }
                } }
                tbody {
                    @for e in &list {
                        @let period = exports::Filters::of(e).map(|f| f.period).unwrap_or_default();
                        tr {
                            td { (e.id) }
                            td {
                                (period.from.map(|d| date_it(&d.text())).unwrap_or_default()) " – "
                                (period.to.map(|d| date_it(&d.text())).unwrap_or_default())
                            }
                            td { (e.version) @if exports::headers_of(e) == Headers::P4pa { " (P4PA)" } }
                            td {
                                (e.state.label_it())
                                @if e.state == ReconExportState::TooManyRows { br; small { "Più di " (e.max_rows) " righe: restringi il periodo o le classificazioni." } }
                                @if e.state == ReconExportState::BadVersion && exports::headers_of(e) == Headers::P4pa { br; small { "I nomi P4PA esistono solo per i tracciati 1.3 e 1.4." } }
                            }
                            td class="importo" { (e.rows.map(|n| n.to_string()).unwrap_or_default()) }
                            td { (super::words::actor(&e.requested_by)) br; small { (datetime_it(&e.requested_at)) } }
                            td {
                                @if let Some(at) = &e.file_purged_at { (purged_note(at)) }
                                @else if e.state == ReconExportState::Done && e.file_name.is_some() {
                                    a href={ (base) "/" (e.id) "/file" } { "Scarica" }
                                }
                            }
                        }
                    }
                }
            }
        }
    })
}

/// `POST /operatore/{ipa}/esportazioni/riconciliazione`: books it, run by a job.
pub fn request(ctx: &mut BoCtx<'_>, ipa: &str) -> Result<Response, BoError> {
    let grant = ctx.grant(ipa)?;
    let back = format!("/operatore/{}/esportazioni#riconciliazione", grant.org.ipa_code);
    let day = |text: String| Day::parse(&text).ok();
    let (from, to) = (day(ctx.form.text("from")), day(ctx.form.text("to")));
    if from.is_none() || to.is_none() {
        ctx.session.flash("danger", "Indica due giorni validi in «Dal» e «al».");
        return Ok(ctx.redirect(&back));
    }
    let labels: Vec<Label> = ctx
        .form
        .pairs()
        .iter()
        .filter(|(name, _)| name == "label")
        .filter_map(|(_, code)| Label::from_code(code))
        .collect();
    let headers = if ctx.form.text("headers") == "p4pa" { Headers::P4pa } else { Headers::MyPivot };
    let version = ctx.form.text("version");
    let requested_by = format!("operator:{}", grant.username);
    let booking = Booking {
        ipa: &grant.org.ipa_code,
        version: &version,
        headers,
        filters: Filters { labels, period: Range { from, to }, ..Filters::default() },
        max_rows: None,
        requested_by: &requested_by,
        operator: Some(&grant.username),
    };
    match exports::book(&ctx.state.db, &booking, true, ctx.now) {
        Ok(export) if export.state.is_final() => ctx
            .session
            .flash("danger", format!("Esportazione n. {}: {}.", export.id, export.state.label_it().to_lowercase())),
        Ok(export) => ctx.session.flash(
            "success",
            format!("Esportazione della riconciliazione n. {} prenotata: sarà pronta a breve.", export.id),
        ),
        Err(ServiceError::ExportRefused { code, .. }) => ctx.session.flash("danger", super::export_refusal(code)),
        Err(ServiceError::Invalid { .. }) => {
            ctx.session.flash("danger", "Richiesta non valida: controlla il periodo e le classificazioni.")
        }
        Err(err) => {
            tracing::error!(error = %err, "cannot book a reconciliation export");
            return Err(BoError::Internal);
        }
    }
    Ok(ctx.redirect(&back))
}

/// `GET /operatore/{ipa}/esportazioni/riconciliazione/{id}/file`.
pub fn file(ctx: &mut BoCtx<'_>, ipa: &str, id: &str) -> Result<Response, BoError> {
    let grant = ctx.grant(ipa)?;
    let Ok(id) = id.parse::<i64>() else {
        return Err(BoError::NotFound);
    };
    match exports::find_visible(&ctx.state.db, &grant, id) {
        Ok(Some(export)) => {
            if let Some(purged_at) = export.file_purged_at {
                return Err(BoError::FileGone(purged_at));
            }
            match exports::file_path(&ctx.state.config.data_dir, &grant.org.ipa_code, &export) {
                Some(path) if export.file_name.as_deref().is_some_and(|n| !n.contains('/')) => {
                    Ok(download(&path, "application/zip"))
                }
                _ => Err(BoError::NotFound),
            }
        }
        _ => Err(BoError::NotFound),
    }
}
