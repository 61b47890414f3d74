//! The reporting flows (FdR) of an org: the list with their state, one flow with its rows and the
//! receipt each row reports ("nessuna ricevuta" when none is stored), and the button that queues
//! an acquisition from pagoPA, as `mypay reporting fetch` does.

use maud::html;

use super::{BoCtx, BoError};
use crate::services::payments::flows_view::{self, PAGE_SIZE};
use crate::store::jobs::JobState;
use crate::store::reporting::ReportingFlowState;
use crate::web::Response;
use crate::web::ui::format::{date_it, datetime_it};

/// Why this installation does not fetch flows itself, if it does not.
fn no_fetch_reason(ctx: &BoCtx<'_>) -> Option<&'static str> {
    if ctx.state.config.upstream.is_some() {
        Some("I flussi di rendicontazione arrivano dalla Regione, che li acquisisce da pagoPA.")
    } else if ctx.state.config.node.base_url.is_none() {
        Some("L'indirizzo del nodo pagoPA non è configurato (node.base_url): l'acquisizione non è possibile.")
    } else {
        None
    }
}

/// The state of a flow in words.
fn state_it(state: ReportingFlowState) -> &'static str {
    match state {
        ReportingFlowState::Acquired => "Acquisito",
        ReportingFlowState::Refused => "Rifiutato",
    }
}

/// `GET /operatore/{ipa}/rendicontazione`.
pub fn list(ctx: &mut BoCtx<'_>, ipa: &str) -> Result<Response, BoError> {
    let grant = ctx.grant(ipa)?;
    let page: u64 = ctx.form.get("pagina").and_then(|p| p.parse().ok()).unwrap_or(1).max(1);
    let (flows, last) = match (
        flows_view::list(&ctx.state.db, grant.org.id, page),
        flows_view::last_fetch(&ctx.state.db, grant.org.id),
    ) {
        (Ok(flows), Ok(last)) => (flows, last),
        (Err(err), _) | (_, Err(err)) => {
            tracing::error!(error = %err, "cannot list reporting flows");
            return Err(BoError::Internal);
        }
    };
    let base = format!("/operatore/{}/rendicontazione", grant.org.ipa_code);
    let csrf = ctx.csrf();
    let refused = no_fetch_reason(ctx);
    let main = html! {
        h1 { "Flussi di rendicontazione" }
        p class="lead" { (grant.org.name) }
        p { "I flussi con cui i PSP comunicano gli accrediti all'ente. Vengono acquisiti da pagoPA periodicamente; puoi chiedere un'acquisizione subito." }
        @if let Some(reason) = refused {
            div class="alert alert-info" role="status" { (reason) }
        } @else {
            form method="post" action={ (base) "/acquisisci" } class="mb-3" {
                (csrf)
                button type="submit" class="btn btn-primary" { "Acquisisci ora i flussi da pagoPA" }
            }
        }
        @if let Some(job) = &last {
            div role="status" class="mb-3" {
                "Ultima acquisizione richiesta il " (datetime_it(&job.created_at)) ": "
                @match job.state {
                    JobState::Queued => { "in coda." }
                    JobState::Running => { "in corso." }
                    JobState::Done => { "completata il " (datetime_it(&job.updated_at)) ", flussi nuovi: " (job.units_done) "." }
                    JobState::Failed => {
                        "non riuscita: pagoPA non ha risposto come previsto; riprova più tardi."
                        @if let Some(reason) = &job.last_error {
                            details class="small" { summary { "Dettaglio tecnico" } code class="text-break" { (reason) } }
                        }
                    }
                }
            }
        }
        @if flows.is_empty() {
            p { "Nessun flusso di rendicontazione acquisito." }
        } @else {
            div class="table-responsive" {
                table class="table tabella-compatta" {
                    caption class="visually-hidden" { "Flussi di rendicontazione" }
                    thead { tr {
                        th scope="col" { "Flusso" } th scope="col" { "PSP" } th scope="col" { "Data del flusso" }
                        th scope="col" { "Regolamento" } th scope="col" { "Pagamenti" } th scope="col" { "Totale" }
                        th scope="col" { "Stato" } th scope="col" { "Acquisito il" }
                    } }
                    tbody {
                        @for f in &flows {
                            tr {
                                td { a href={ (base) "/" (f.id) } { (f.iuf) } }
                                td { (f.psp_name.clone().unwrap_or_else(|| f.psp_id.clone())) }
                                td { (f.flow_date.as_deref().map(datetime_it).unwrap_or_default()) }
                                td { (f.settlement_date.as_deref().map(date_it).unwrap_or_default()) }
                                td class="importo" { (f.total_payments.map(|n| n.to_string()).unwrap_or_default()) }
                                td class="importo" { (f.total_amount_cents.map(|c| c.format_eur()).unwrap_or_default()) }
                                td {
                                    (state_it(f.state))
                                    @if f.superseded_by.is_some() { br; small { "sostituito da una versione successiva" } }
                                    @if let Some(reason) = &f.reject_reason { br; small { (reason) } }
                                }
                                td { (datetime_it(&f.fetched_at)) }
                            }
                        }
                    }
                }
            }
        }
        nav aria-label="Pagine dei flussi" {
            ul class="pagination" {
                @if page > 1 { li class="page-item" { a class="page-link" href={ (base) "?pagina=" (page - 1) } { "Più recenti" } } }
                li class="page-item active" aria-current="page" { span class="page-link" { "Pagina " (page) } }
                @if flows.len() == PAGE_SIZE as usize { li class="page-item" { a class="page-link" href={ (base) "?pagina=" (page + 1) } { "Meno recenti" } } }
            }
        }
    };
    Ok(ctx.page("Flussi di rendicontazione", main))
}

/// `POST /operatore/{ipa}/rendicontazione/acquisisci`: queues the acquisition.
pub fn fetch(ctx: &mut BoCtx<'_>, ipa: &str) -> Result<Response, BoError> {
    let grant = ctx.grant(ipa)?;
    let base = format!("/operatore/{}/rendicontazione", grant.org.ipa_code);
    if let Some(reason) = no_fetch_reason(ctx) {
        ctx.session.flash("warning", reason);
        return Ok(ctx.redirect(&base));
    }
    match flows_view::request_fetch(&ctx.state.db, grant.org.id, ctx.now) {
        Ok(_) => ctx.session.flash(
            "success",
            "Acquisizione richiesta: i flussi nuovi compariranno in questo elenco tra poco (ricarica la pagina).",
        ),
        Err(err) => {
            tracing::error!(error = %err, "cannot queue a reporting fetch");
            return Err(BoError::Internal);
        }
    }
    Ok(ctx.redirect(&base))
}

/// `GET /operatore/{ipa}/rendicontazione/{flow}`.
pub fn detail(ctx: &mut BoCtx<'_>, ipa: &str, id: &str) -> Result<Response, BoError> {
    let grant = ctx.grant(ipa)?;
    let Ok(id) = id.parse::<i64>() else { return Err(BoError::NotFound) };
    let d = match flows_view::detail(&ctx.state.db, grant.org.id, id) {
        Ok(d) => d,
        Err(err) if err.is_user_error() => return Err(BoError::NotFound),
        Err(err) => {
            tracing::error!(error = %err, "cannot read a reporting flow");
            return Err(BoError::Internal);
        }
    };
    let f = &d.flow;
    let debts = format!("/operatore/{}/dovuti", grant.org.ipa_code);
    let rows: Vec<(&str, String)> = vec![
        ("Identificativo del flusso", f.iuf.clone()),
        ("Versione", f.revision.to_string()),
        ("PSP", format!("{} ({})", f.psp_name.clone().unwrap_or_default(), f.psp_id).trim_start().to_owned()),
        ("Data del flusso", f.flow_date.as_deref().map(datetime_it).unwrap_or_default()),
        ("Identificativo del regolamento", f.settlement_id.clone().unwrap_or_default()),
        ("Data del regolamento", f.settlement_date.as_deref().map(date_it).unwrap_or_default()),
        ("Numero di pagamenti", f.total_payments.map(|n| n.to_string()).unwrap_or_default()),
        ("Importo totale", f.total_amount_cents.map(|c| c.format_eur()).unwrap_or_default()),
        ("Stato", state_it(f.state).to_owned()),
        ("Acquisito il", datetime_it(&f.fetched_at)),
    ];
    let matched = d.rows.iter().filter(|(_, r)| r.is_some()).count();
    let main = html! {
        h1 { "Flusso " (f.iuf) }
        p class="lead" { (grant.org.name) }
        dl class="row" {
            @for (label, value) in &rows {
                dt class="col-sm-4" { (label) }
                dd class="col-sm-8" { (value) }
            }
            @if let Some(reason) = &f.reject_reason {
                dt class="col-sm-4" { "Motivo del rifiuto" }
                dd class="col-sm-8" { (reason) }
            }
        }
        h2 class="h4" { "Pagamenti del flusso" }
        @if d.rows.is_empty() {
            p { "Nessun pagamento registrato per questo flusso." }
        } @else {
            p role="status" { "Pagamenti con la ricevuta corrispondente: " (matched) " su " (d.rows.len()) "." }
            div class="table-responsive" {
                table class="table tabella-compatta" {
                    caption class="visually-hidden" { "Pagamenti del flusso e ricevute corrispondenti" }
                    thead { tr {
                        th scope="col" { "IUV" } th scope="col" { "Identificativo riscossione (IUR)" } th scope="col" { "Importo" }
                        th scope="col" { "Esito" } th scope="col" { "Data" } th scope="col" { "Ricevuta" }
                    } }
                    tbody {
                        @for (row, receipt) in &d.rows {
                            tr {
                                td { code { (row.iuv) } }
                                td { code { (row.iur) } }
                                td class="importo" { (row.amount_cents.format_eur()) }
                                td { (outcome_it(&row.outcome_code)) }
                                td { (date_it(&row.outcome_date)) }
                                td {
                                    @match receipt {
                                        Some(r) => {
                                            @match r.debt_id {
                                                Some(debt) => { a href={ (debts) "/" (debt) } { "Ricevuta " (r.receipt_id) } }
                                                None => { "Ricevuta " (r.receipt_id) " (nessun dovuto)" }
                                            }
                                            @if r.amount_cents != row.amount_cents { br; small class="text-danger" { "importo della ricevuta: " (r.amount_cents.format_eur()) } }
                                        }
                                        None => { "nessuna ricevuta" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            @if d.rows_not_shown > 0 { p { "Altri " (d.rows_not_shown) " pagamenti non sono mostrati." } }
        }
        p { a href={ "/operatore/" (grant.org.ipa_code) "/rendicontazione" } { "Torna ai flussi" } }
    };
    Ok(ctx.page(&format!("Flusso {}", f.iuf), main))
}

/// A reported outcome (codiceEsitoSingoloPagamento) in words.
fn outcome_it(code: &str) -> String {
    match code {
        "0" => "Eseguito".to_owned(),
        "3" => "Revocato".to_owned(),
        "4" | "8" => "Eseguito in stand-in".to_owned(),
        "9" => "Eseguito senza RPT".to_owned(),
        other => format!("Codice {other}"),
    }
}
