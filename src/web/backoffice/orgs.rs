//! The orgs of the appliance, for app admins: the list with states and the form that adds an org
//! (it starts INSERITO in the adhesion mode chosen, then its adhesion page's checklist leads the
//! onboarding; its state changes on its settings page, one step at a time).

use maud::html;

use super::{BoCtx, BoError, user_message};
use crate::domain::adhesion::Mode;
use crate::services::ServiceError;
use crate::services::admin::access;
use crate::services::admin::orgs::{self, OrgChanges};
use crate::web::Response;

const FIELDS: [(&str, &str); 5] = [
    ("ipa", "Codice IPA"),
    ("fiscal-code", "Codice fiscale (11 cifre)"),
    ("name", "Denominazione"),
    ("segregation-code", "Codice di segregazione (2 cifre)"),
    ("iban-bank", "IBAN bancario"),
];

/// The app admin's username, or the response for anyone else.
fn app_admin(ctx: &mut BoCtx<'_>) -> Result<String, BoError> {
    let Some(username) = ctx.session.operator().map(str::to_owned) else {
        return Err(BoError::LoginNeeded);
    };
    match access::operator_orgs(&ctx.state.db, &username) {
        Ok((op, _)) if op.app_admin => Ok(username),
        Ok(_) => {
            tracing::warn!(target: "security", username, "app admin page refused");
            Err(BoError::Forbidden("Questa pagina è riservata all'amministratore dell'applicazione."))
        }
        Err(_) => Err(BoError::LoginNeeded),
    }
}

fn render(ctx: &mut BoCtx<'_>, error: Option<&str>) -> Result<Response, BoError> {
    let list = match access::operator_orgs(&ctx.state.db, ctx.session.operator().unwrap_or_default()) {
        Ok((_, list)) => list,
        Err(_) => return Err(BoError::Internal),
    };
    let csrf = ctx.csrf();
    let form = ctx.form.clone();
    let main = html! {
        h1 { "Enti" }
        @if let Some(message) = error { div class="alert alert-danger" role="alert" { (message) } }
        table class="table tabella-compatta" {
            caption class="visually-hidden" { "Enti dell'installazione" }
            thead { tr { th scope="col" { "Ente" } th scope="col" { "Codice IPA" } th scope="col" { "Stato" } } }
            tbody {
                @for o in &list {
                    tr {
                        td { a href={ "/operatore/" (o.ipa_code) "/impostazioni" } { (o.name) } }
                        td { code { (o.ipa_code) } }
                        td { (o.state.code()) " · " a href={ "/operatore/" (o.ipa_code) "/adesione" } { "adesione e avvio" } }
                    }
                }
            }
        }
        h2 class="h4" { "Nuovo ente" }
        form method="post" action="/operatore/enti" class="row g-3" {
            (csrf)
            @for (name, label) in FIELDS {
                div class="col-12 col-md-6" {
                    label for=(name) { (label) }
                    input type="text" class="form-control" id=(name) name=(name) value=(form.text(name)) required[name != "iban-bank"];
                }
            }
            div class="col-12 col-md-6" {
                label for="mode" { "Modalità di adesione" }
                select class="form-select" id="mode" name="mode" {
                    @for m in Mode::ALL {
                        option value=(m.code()) selected[form.text("mode") == m.code()] { (m.label_it()) }
                    }
                }
            }
            div class="col-12" { button type="submit" class="btn btn-primary" { "Aggiungi l'ente" } }
        }
    };
    Ok(ctx.page_with(if error.is_some() { 422 } else { 200 }, "Enti", main))
}

/// `GET /operatore/enti`.
pub fn list(ctx: &mut BoCtx<'_>) -> Result<Response, BoError> {
    app_admin(ctx)?;
    ctx.form = Default::default();
    render(ctx, None)
}

/// `POST /operatore/enti`.
pub fn add(ctx: &mut BoCtx<'_>) -> Result<Response, BoError> {
    let username = app_admin(ctx)?;
    let f = |name: &str| Some(ctx.form.text(name).trim().to_owned());
    let changes = OrgChanges {
        fiscal_code: f("fiscal-code"),
        name: f("name"),
        segregation_code: f("segregation-code"),
        iban_bank: f("iban-bank"),
        mode: f("mode"),
        ..OrgChanges::default()
    };
    let ipa = ctx.form.text("ipa");
    match orgs::add_org(&ctx.state.db, &format!("operator:{username}"), &ipa, &changes, ctx.now) {
        Ok(org) => {
            // Onboarding goes on from the new org's checklist.
            ctx.session.flash(
                "success",
                format!("Ente {} aggiunto (stato INSERITO): completa i passi dell'avvio.", org.ipa_code),
            );
            Ok(ctx.redirect(&format!("/operatore/{}/adesione#avvio", org.ipa_code)))
        }
        Err(ServiceError::Conflict(_)) => {
            render(ctx, Some("Esiste già un ente con questo codice IPA o codice fiscale."))
        }
        Err(err) if err.is_user_error() => {
            let message = user_message(&err);
            render(ctx, Some(&message))
        }
        Err(err) => {
            tracing::error!(error = %err, "cannot add an org");
            Err(BoError::Internal)
        }
    }
}
