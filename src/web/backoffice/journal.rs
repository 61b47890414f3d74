//! The audit journal of an org, for its administrators: every pagoPA and SIL exchange and every
//! change, filtered by who, what, object, outcome and Europe/Rome days, newest first, times shown
//! in Italian local time, each entry in words (`words`) with its data behind a toggle, and one
//! entry with its before/after and the exchanged payloads.

use maud::html;

use super::{BoCtx, BoError, user_message, words};
use crate::services::admin::audit_log::{self, JournalCriteria, PAGE_SIZE};
use crate::web::Response;
use crate::web::forms::encode;
use crate::web::ui::format::datetime_seconds_it;

/// The filters: (name, label, input type; `select` for the fixed lists).
const FIELDS: [(&str, &str, &str); 6] = [
    ("chi", "Chi (inizia con, es. operator: per gli operatori)", "text"),
    ("azione", "Operazione", "select"),
    ("oggetto", "Oggetto (inizia con, es. debt: per i dovuti)", "text"),
    ("esito", "Esito", "select"),
    ("dal", "Dal", "date"),
    ("al", "Al", "date"),
];

/// The options of a select filter: (code, words), with the value typed if it is none of them
/// (an older link), so that no filter is dropped silently.
fn options(name: &str, current: &str) -> Vec<(String, String)> {
    let fixed: Vec<(String, String)> = match name {
        "azione" => words::ACTIONS.iter().map(|(c, w)| ((*c).to_owned(), format!("{w} ({c})"))).collect(),
        _ => words::OUTCOMES.iter().map(|(c, w)| ((*c).to_owned(), (*w).to_owned())).collect(),
    };
    let mut all = vec![(String::new(), "Tutte".to_owned())];
    if !current.is_empty() && !fixed.iter().any(|(c, _)| c == current) {
        all.push((current.to_owned(), current.to_owned()));
    }
    all.extend(fixed);
    all
}

/// `GET /operatore/{ipa}/giornale`.
pub fn list(ctx: &mut BoCtx<'_>, ipa: &str) -> Result<Response, BoError> {
    let grant = ctx.admin_grant(ipa)?;
    let f = |name: &str| ctx.form.text(name);
    let criteria = JournalCriteria {
        actor: f("chi"),
        action: f("azione"),
        object: f("oggetto"),
        outcome: f("esito"),
        from: f("dal"),
        to: f("al"),
    };
    let page: u64 = ctx.form.get("pagina").and_then(|p| p.parse().ok()).unwrap_or(1).max(1);
    let (entries, error) = match audit_log::search(&ctx.state.db, grant.org.id, &criteria, page) {
        Ok(entries) => (entries, None),
        Err(err) if err.is_user_error() => (Vec::new(), Some(user_message(&err))),
        Err(err) => {
            tracing::error!(error = %err, "cannot read the journal");
            return Err(BoError::Internal);
        }
    };
    let base = format!("/operatore/{}/giornale", grant.org.ipa_code);
    let query: String = FIELDS
        .iter()
        .filter_map(|(name, _, _)| {
            ctx.form.get(name).filter(|v| !v.is_empty()).map(|v| format!("{name}={}&", encode(v)))
        })
        .collect();
    let form = &ctx.form;
    let filtered = !query.is_empty();
    let main = html! {
        h1 { "Giornale delle operazioni" }
        p class="lead" { (grant.org.name) }
        details class="mb-4" open[filtered] {
        summary { "Filtra il giornale" }
        form method="get" action=(base) class="row g-3 mt-1" {
            @for (name, label, kind) in FIELDS {
                div class="col-12 col-md-4" {
                    label for=(name) { (label) }
                    @if kind == "select" {
                        select class="form-select" id=(name) name=(name) {
                            @for (code, text) in options(name, &form.text(name)) {
                                option value=(code) selected[form.text(name) == code] { (text) }
                            }
                        }
                    } @else {
                        input type=(kind) class="form-control" id=(name) name=(name) value=(form.text(name));
                    }
                }
            }
            div class="col-12" { button type="submit" class="btn btn-primary" { "Filtra" } }
        }
        }
        @if let Some(message) = &error { div class="alert alert-danger" role="alert" { (message) } }
        @if entries.is_empty() {
            p { "Nessuna operazione." }
        } @else {
            div class="table-responsive" {
                table class="table tabella-compatta" {
                    caption class="visually-hidden" { "Operazioni registrate" }
                    thead { tr { th scope="col" { "Quando" } th scope="col" { "Chi" } th scope="col" { "Operazione" } th scope="col" { "Oggetto" } th scope="col" { "Esito" } } }
                    tbody {
                        @for e in &entries {
                            tr {
                                td { a href={ (base) "/" (e.id) } { (datetime_seconds_it(&e.at)) } }
                                td { (words::actor(&e.actor)) }
                                td {
                                    (words::action(&e.action))
                                    details class="small" {
                                        summary { "Dati" }
                                        "Codice: " code { (e.action) } br; "Chi: " code { (e.actor) }
                                        @if let Some(b) = &e.before_json { br; "Prima: " code class="text-break" { (b) } }
                                        @if let Some(a) = &e.after_json { br; "Dopo: " code class="text-break" { (a) } }
                                    }
                                }
                                td { (e.object.clone().unwrap_or_default()) }
                                td { (words::outcome(&e.outcome)) }
                            }
                        }
                    }
                }
            }
        }
        nav aria-label="Pagine del giornale" {
            ul class="pagination" {
                @if page > 1 { li class="page-item" { a class="page-link" href={ (base) "?" (query) "pagina=" (page - 1) } { "Più recenti" } } }
                li class="page-item active" aria-current="page" { span class="page-link" { "Pagina " (page) } }
                @if entries.len() == PAGE_SIZE as usize { li class="page-item" { a class="page-link" href={ (base) "?" (query) "pagina=" (page + 1) } { "Meno recenti" } } }
            }
        }
    };
    Ok(ctx.page("Giornale delle operazioni", main))
}

/// `GET /operatore/{ipa}/giornale/{entry}`.
pub fn entry(ctx: &mut BoCtx<'_>, ipa: &str, id: &str) -> Result<Response, BoError> {
    let grant = ctx.admin_grant(ipa)?;
    let Ok(id) = id.parse::<i64>() else {
        return Err(BoError::NotFound);
    };
    let detail = match audit_log::entry(&ctx.state.db, grant.org.id, id) {
        Ok(detail) => detail,
        Err(err) if err.is_user_error() => return Err(BoError::NotFound),
        Err(err) => {
            tracing::error!(error = %err, "cannot read a journal entry");
            return Err(BoError::Internal);
        }
    };
    let e = &detail.entry;
    let blocks = [
        ("Prima", e.before_json.clone()),
        ("Dopo", e.after_json.clone()),
        ("Richiesta", detail.request.clone()),
        ("Risposta", detail.response.clone()),
    ];
    let main = html! {
        h1 { "Operazione n. " (e.id) }
        dl class="row" {
            dt class="col-sm-3" { "Quando" } dd class="col-sm-9" { (datetime_seconds_it(&e.at)) " (" (e.at) " UTC)" }
            dt class="col-sm-3" { "Chi" } dd class="col-sm-9" { (words::actor(&e.actor)) " " small { code { (e.actor) } } }
            dt class="col-sm-3" { "Operazione" } dd class="col-sm-9" { (words::action(&e.action)) " " small { code { (e.action) } } }
            dt class="col-sm-3" { "Oggetto" } dd class="col-sm-9" { (e.object.clone().unwrap_or_default()) }
            dt class="col-sm-3" { "Esito" } dd class="col-sm-9" { (words::outcome(&e.outcome)) }
            @if let Some(ms) = detail.duration_ms { dt class="col-sm-3" { "Durata" } dd class="col-sm-9" { (ms) " ms" } }
        }
        @for (label, text) in &blocks {
            @if let Some(text) = text {
                details class="mb-3" {
                    summary class="h5" { (label) }
                    pre class="border p-2 text-break" { (text) }
                }
            }
        }
        p { a href={ "/operatore/" (grant.org.ipa_code) "/giornale" } { "Torna al giornale" } }
    };
    Ok(ctx.page(&format!("Operazione n. {}", e.id), main))
}
