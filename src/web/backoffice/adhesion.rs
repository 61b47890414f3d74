//! An org's adhesion page (`/operatore/<ipa>/adesione`): the mode it joined with and what that mode
//! lets it use, the act and contact persons, the history of changes; the form that changes them,
//! for app admins only (`services::admin::adhesion::set`, journaled); and the onboarding checklist
//! of what is still missing before `PRE-ESERCIZIO` and `ESERCIZIO`, each step linking to the page
//! where it is done. Org admins see it all but the form.
//!
//! Also [`not_admitted`]: what a page of a channel the org's mode does not include shows instead
//! of a form the services would refuse on submit.

use maud::{Markup, html};

use super::{BoCtx, BoError, user_message};
use crate::domain::OrgState;
use crate::domain::adhesion::{ActType, Channel, Mode};
use crate::services::admin::adhesion::{self, Adhesion, AdhesionChanges, Checklist, Step};
use crate::web::Response;
use crate::web::authz::OperatorGrant;
use crate::web::ui::format::{datetime_it, day_it};

/// The notice a page shows in place of the form of `channel` when the org's mode does not include
/// it: what the mode is, what it lacks, and who can change it. `None` when the mode admits it (or
/// the mode cannot be read: the form shows, and the service still checks on submit).
pub(super) fn not_admitted(ctx: &BoCtx<'_>, grant: &OperatorGrant, channel: Channel) -> Option<Markup> {
    let refusal = match adhesion::require(&ctx.state.db, &grant.org, channel) {
        Ok(()) => return None,
        Err(crate::services::ServiceError::NotAdmitted(refusal)) => refusal,
        Err(err) => {
            tracing::error!(error = %err, "cannot read the adhesion mode");
            return None;
        }
    };
    Some(html! {
        div class="alert alert-warning" role="status" {
            p { (refusal.message_it()) }
            p {
                "La modalità è quella dell'atto con cui l'ente ha aderito al servizio: per cambiarla l'ente adotta un nuovo atto "
                "e l'amministratore dell'applicazione (la Regione) aggiorna l'adesione. "
                a href={ "/operatore/" (grant.org.ipa_code) "/adesione" } { "Vedi l'adesione dell'ente" } "."
            }
        }
    })
}

/// A step's Italian text and the page (after `/operatore/<ipa>`) where it is done.
fn step_text(step: Step) -> (&'static str, &'static str) {
    match step {
        Step::RegistryData => ("Dati dell'ente: indirizzo, località ed e-mail", "/impostazioni"),
        Step::Iban => ("Conto di accredito: IBAN bancario o postale", "/impostazioni"),
        Step::DebtTypes => ("Almeno un tipo dovuto attivo (spontaneo, in modalità base)", "/tipi"),
        Step::AdhesionAct => ("Atto di adesione: tipo, numero e data", "/adesione#modifica-adesione"),
        Step::FirstOperator => ("Un primo operatore amministratore dell'ente", "/operatori"),
        Step::PrivacyNotice => ("Informativa privacy dell'ente pubblicata", "/privacy"),
        Step::WebServiceCredentials => ("Accesso del gestionale: password SIL o token API", "/impostazioni"),
        Step::PreProduction => ("Registrazione presso pagoPA: stato «Pre-esercizio»", "/impostazioni"),
    }
}

fn act_text(a: &crate::store::adhesion::AdhesionRecord) -> String {
    match (a.act_type, &a.act_number, a.act_date) {
        (None, None, None) => "non registrato".to_owned(),
        (kind, number, date) => {
            let mut text = kind.map_or("Atto", ActType::label_it).to_owned();
            if let Some(number) = number {
                text.push_str(&format!(" n. {number}"));
            }
            if let Some(date) = date {
                text.push_str(&format!(" del {}", day_it(date)));
            }
            text
        }
    }
}

fn checklist_view(ipa: &str, list: &Checklist) -> Markup {
    let next = match list.org.state {
        OrgState::Inserted => Some(OrgState::PreProduction),
        OrgState::PreProduction => Some(OrgState::Production),
        OrgState::Production => None,
    };
    html! {
        h2 class="h4" id="avvio" { "Avvio dell'ente" }
        @match next {
            Some(state) => {
                @let missing = list.missing_before(state);
                @if missing.is_empty() {
                    div class="alert alert-success" role="status" { "Nulla manca per passare allo stato «" (state.label_it()) "»." }
                } @else {
                    p { "Per passare allo stato «" (state.label_it()) "» mancano " (missing.len()) " passi." }
                }
            }
            None => { p { "L'ente è in esercizio." } }
        }
        ol class="list-group list-group-numbered mb-5 onboarding" {
            @for (step, done) in &list.steps {
                @let (text, path) = step_text(*step);
                li class="list-group-item d-flex justify-content-between align-items-start" {
                    div class="ms-2 me-auto" {
                        a href={ "/operatore/" (ipa) (path) } { (text) }
                        div class="small" { "Necessario per lo stato «" (step.needed_before().label_it()) "»" }
                    }
                    @if *done {
                        span class="badge bg-success" { "Fatto" }
                    } @else {
                        span class="badge bg-warning text-dark" { "Da fare" }
                    }
                }
            }
        }
    }
}

fn form_view(ctx: &BoCtx<'_>, ipa: &str, current: &crate::store::adhesion::AdhesionRecord) -> Markup {
    let typed = |name: &str, stored: String| -> String {
        let value = ctx.form.text(name);
        if ctx.form.get(name).is_some() { value } else { stored }
    };
    let mode = typed("mode", current.mode.code().to_owned());
    let act_type = typed("act-type", current.act_type.map(ActType::code).unwrap_or_default().to_owned());
    html! {
        h2 class="h4" id="modifica-adesione" { "Modifica dell'adesione" }
        form method="post" action={ "/operatore/" (ipa) "/adesione" } class="row g-3 mb-5" {
            (ctx.csrf())
            div class="col-12 col-md-6" {
                label for="mode" { "Modalità" }
                select class="form-select" id="mode" name="mode" {
                    @for m in Mode::ALL {
                        option value=(m.code()) selected[mode == m.code()] { (m.label_it()) }
                    }
                }
            }
            div class="col-12 col-md-6" {
                label for="mode-since" { "Attiva dal (AAAA-MM-GG; vuoto: oggi, se la modalità cambia)" }
                input type="text" class="form-control" id="mode-since" name="mode-since" value=(ctx.form.text("mode-since")) inputmode="numeric";
            }
            div class="col-12 col-md-4" {
                label for="act-type" { "Tipo di atto" }
                select class="form-select" id="act-type" name="act-type" {
                    option value="" selected[act_type.is_empty()] { "—" }
                    @for a in ActType::ALL {
                        option value=(a.code()) selected[act_type == a.code()] { (a.label_it()) }
                    }
                }
            }
            div class="col-12 col-md-4" {
                label for="act-number" { "Numero dell'atto" }
                input type="text" class="form-control" id="act-number" name="act-number" maxlength="50"
                    value=(typed("act-number", current.act_number.clone().unwrap_or_default()));
            }
            div class="col-12 col-md-4" {
                label for="act-date" { "Data dell'atto (AAAA-MM-GG)" }
                input type="text" class="form-control" id="act-date" name="act-date" inputmode="numeric"
                    value=(typed("act-date", current.act_date.map(|d| d.to_string()).unwrap_or_default()));
            }
            div class="col-12" {
                label for="contacts" { "Referenti dell'ente per il servizio" }
                textarea class="form-control" id="contacts" name="contacts" rows="3" maxlength="1000" {
                    (typed("contacts", current.contacts.clone().unwrap_or_default()))
                }
            }
            div class="col-12" { button type="submit" class="btn btn-primary" { "Salva l'adesione" } }
        }
    }
}

fn render(ctx: &mut BoCtx<'_>, grant: &OperatorGrant, error: Option<&str>) -> Result<Response, BoError> {
    let ipa = grant.org.ipa_code.clone();
    let load = |err: crate::services::ServiceError| {
        tracing::error!(error = %err, "cannot read the adhesion");
        BoError::Internal
    };
    let Adhesion { current, history } = adhesion::get(&ctx.state.db, &ipa).map_err(load)?;
    let list = adhesion::checklist(&ctx.state.db, &ipa).map_err(load)?;
    let form = grant.app_admin.then(|| form_view(ctx, &ipa, &current));
    let main = html! {
        h1 { "Adesione al servizio" }
        p class="lead" { (grant.org.name) " — " code { (ipa) } }
        @if let Some(message) = error { div class="alert alert-danger" role="alert" { (message) } }
        dl class="row adhesion" {
            dt class="col-sm-4" { "Modalità" }
            dd class="col-sm-8" id="adhesion-mode" { strong { (current.mode.label_it()) } " (" code { (current.mode.code()) } ")" }
            dt class="col-sm-4" { "Attiva dal" }
            dd class="col-sm-8" { (day_it(current.mode_since)) }
            dt class="col-sm-4" { "Atto di adesione" }
            dd class="col-sm-8" { (act_text(&current)) }
            dt class="col-sm-4" { "Referenti" }
            dd class="col-sm-8" { (current.contacts.as_deref().unwrap_or("non indicati")) }
        }
        table class="table table-sm mb-5" {
            caption { "Cosa comprende la modalità" }
            thead { tr { th scope="col" { "Canale" } th scope="col" { "Disponibile" } } }
            tbody {
                @for channel in Channel::ALL {
                    tr {
                        td { (capitalized(channel.label_it())) }
                        td { @if current.mode.admits(channel) { "Sì" } @else { "No (modalità «" (channel.least_mode().code()) "»)" } }
                    }
                }
            }
        }
        @if let Some(form) = form { (form) }
        (checklist_view(&ipa, &list))
        @if !history.is_empty() {
            table class="table table-sm mb-5" {
                caption { "Storico dell'adesione" }
                thead { tr { th scope="col" { "Modalità" } th scope="col" { "Attiva dal" } th scope="col" { "Atto" } th scope="col" { "Modificata da" } th scope="col" { "Il" } } }
                tbody {
                    @for a in &history {
                        tr { td { (a.mode.code()) } td { (day_it(a.mode_since)) } td { (act_text(a)) } td { (a.changed_by) } td { (datetime_it(&a.changed_at)) } }
                    }
                }
            }
        }
    };
    Ok(ctx.page_with(if error.is_some() { 422 } else { 200 }, "Adesione al servizio", main))
}

/// The text with its first letter upper-cased (the channel labels are written mid-sentence).
fn capitalized(text: &str) -> String {
    let text = text.trim_start_matches("i ").trim_start_matches("il ").trim_start_matches("la ");
    let text = text.strip_prefix("l'").unwrap_or(text);
    let mut chars = text.chars();
    chars.next().map(|c| c.to_uppercase().chain(chars).collect()).unwrap_or_default()
}

/// `GET /operatore/<ipa>/adesione`: org admins and app admins.
pub fn show(ctx: &mut BoCtx<'_>, ipa: &str) -> Result<Response, BoError> {
    let grant = ctx.admin_grant(ipa)?;
    ctx.form = Default::default();
    render(ctx, &grant, None)
}

/// `POST /operatore/<ipa>/adesione`: app admins only.
pub fn save(ctx: &mut BoCtx<'_>, ipa: &str) -> Result<Response, BoError> {
    let grant = ctx.admin_grant(ipa)?;
    if !grant.app_admin {
        tracing::warn!(target: "security", username = %grant.username, ipa, "adhesion change refused to an org admin");
        return Err(BoError::Forbidden("L'adesione è modificata dall'amministratore dell'applicazione."));
    }
    let f = |name: &str| Some(ctx.form.text(name).trim().to_owned());
    let changes = AdhesionChanges {
        mode: f("mode"),
        mode_since: f("mode-since").filter(|v| !v.is_empty()),
        act_type: f("act-type"),
        act_number: f("act-number"),
        act_date: f("act-date"),
        contacts: f("contacts"),
    };
    match adhesion::set(&ctx.state.db, &format!("operator:{}", grant.username), ipa, &changes, ctx.now) {
        Ok(done) => {
            ctx.session.flash("success", format!("Adesione salvata: {}.", done.current.mode.label_it().to_lowercase()));
            Ok(ctx.redirect(&format!("/operatore/{}/adesione", grant.org.ipa_code)))
        }
        Err(err) if err.is_user_error() => {
            let message = user_message(&err);
            render(ctx, &grant, Some(&message))
        }
        Err(err) => {
            tracing::error!(error = %err, "cannot save the adhesion");
            Err(BoError::Internal)
        }
    }
}
