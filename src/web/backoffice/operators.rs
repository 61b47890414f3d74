//! The org's operators, for its administrators: the list with roles and enabled debt types, adding
//! one (generated password shown once), changing role and enablement, resetting a password. Who may
//! be managed is `services::admin::org_operators::may_manage`; anyone else is "not found". Also the page
//! where every operator changes their own password.

use maud::html;

use super::problems::{Problems, feedback, summary};
use super::{BoCtx, BoError, user_message};
use crate::services::ServiceError;
use crate::services::admin::operators::{self, Role};
use crate::services::admin::{debt_types, org_operators};
use crate::web::Response;
use crate::web::authz::OperatorGrant;

fn role_label(role: &str) -> &'static str {
    if role == "admin" { "Amministratore dell'ente" } else { "Operatore" }
}

/// What the new-operator form shows: empty, or what was typed when it was refused.
#[derive(Debug, Clone, Default)]
struct Typed {
    username: String,
    full_name: String,
    email: String,
    admin: bool,
}

/// The labels of the new-operator form's fields (the summary of errors links to them).
fn label_of(field: &str) -> &'static str {
    match field {
        "username" => "Nome utente",
        "full_name" => "Nome e cognome",
        "email" => "E-mail",
        "role" => "Ruolo",
        _ => "",
    }
}

/// A text field of the new-operator form, with what is wrong with it below.
fn text_field(name: &str, kind: &str, value: &str, required: bool, problems: &Problems) -> maud::Markup {
    html! {
        div class="col-12 col-md-4" {
            label for=(name) { (label_of(name)) }
            input type=(kind) class=(problems.class(name, "form-control")) id=(name) name=(name) value=(value) required[required]
                aria-describedby={ (name) "-errore" } aria-invalid=[problems.invalid(name)];
            (feedback(name, problems))
        }
    }
}

/// The page, with the problems of a refused change or a one-time password to show.
fn render(
    ctx: &mut BoCtx<'_>,
    grant: &OperatorGrant,
    problems: &Problems,
    typed: &Typed,
    secret: Option<(&str, &str)>,
) -> Result<Response, BoError> {
    let listed = operators::list_operators(&ctx.state.db, Some(&grant.org.ipa_code));
    let types = debt_types::list_debt_types(&ctx.state.db, &grant.org.ipa_code);
    let (list, types) = match (listed, types) {
        (Ok(list), Ok(types)) => (list, types),
        (Err(err), _) | (_, Err(err)) => {
            tracing::error!(error = %err, "cannot list operators");
            return Err(BoError::Internal);
        }
    };
    let csrf = ctx.csrf();
    let base = format!("/operatore/{}/operatori", grant.org.ipa_code);
    let ipa = &grant.org.ipa_code;
    let main = html! {
        h1 { "Operatori" }
        p class="lead" { (grant.org.name) }
        (summary("La modifica non è stata salvata.", problems, label_of))
        @if let Some((who, password)) = secret {
            div class="alert alert-warning" role="alert" {
                "Password di " (who) ": " strong { code { (password) } } br;
                "Comunicala all'operatore: non sarà più mostrata."
            }
        }
        @for op in &list {
            @let role = op.roles.iter().find(|(o, _)| o.eq_ignore_ascii_case(ipa)).map_or("operator", |(_, r)| r.as_str());
            @let manageable = org_operators::may_manage(grant, op);
            section class="border rounded p-3 mb-3" aria-labelledby={ "op-" (op.id) } {
                h2 class="h5" id={ "op-" (op.id) } { (op.username) @if let Some(n) = &op.full_name { " — " (n) } }
                p class="mb-2" {
                    (role_label(role))
                    @if op.app_admin { " · amministratore dell'applicazione" }
                    @if !op.active { " · disattivato" }
                }
                @if manageable {
                    form method="post" action={ (base) "/" (op.username) "/abilitazioni" } class="mb-2" {
                        (csrf.clone())
                        fieldset {
                            legend class="h6" { "Ruolo e tipi dovuto abilitati" }
                            div class="form-check form-check-inline" {
                                input class="form-check-input" type="radio" id={ "r-op-" (op.id) } name="role" value="operator" checked[role != "admin"];
                                label class="form-check-label" for={ "r-op-" (op.id) } { "Operatore" }
                            }
                            div class="form-check form-check-inline" {
                                input class="form-check-input" type="radio" id={ "r-ad-" (op.id) } name="role" value="admin" checked[role == "admin"];
                                label class="form-check-label" for={ "r-ad-" (op.id) } { "Amministratore dell'ente" }
                            }
                            div {
                                @for t in &types {
                                    @let on = op.debt_types.iter().any(|(o, c)| o.eq_ignore_ascii_case(ipa) && *c == t.code);
                                    div class="form-check form-check-inline" {
                                        input class="form-check-input" type="checkbox" id={ "t-" (op.id) "-" (t.id) } name="tipo" value=(t.code) checked[on];
                                        label class="form-check-label" for={ "t-" (op.id) "-" (t.id) } { (t.code) }
                                    }
                                }
                            }
                        }
                        button type="submit" class="btn btn-primary btn-sm" { "Salva ruolo e abilitazioni" }
                    }
                    form method="post" action={ (base) "/" (op.username) "/password" } {
                        (csrf.clone())
                        button type="submit" class="btn btn-outline-danger btn-sm" { "Genera una nuova password" }
                    }
                } @else {
                    p { small { "Opera anche su altri enti: lo gestisce l'amministratore dell'applicazione." } }
                }
            }
        }
        h2 class="h4 mt-4" { "Nuovo operatore" }
        form method="post" action=(base) class="row g-3" {
            (csrf)
            (text_field("username", "text", &typed.username, true, problems))
            (text_field("full_name", "text", &typed.full_name, false, problems))
            (text_field("email", "email", &typed.email, false, problems))
            div class="col-12 col-md-4" {
                label for="role" { (label_of("role")) }
                select class=(problems.class("role", "form-select")) id="role" name="role" aria-describedby="role-errore" aria-invalid=[problems.invalid("role")] {
                    option value="operator" { "Operatore" }
                    option value="admin" selected[typed.admin] { "Amministratore dell'ente" }
                }
                (feedback("role", problems))
            }
            div class="col-12" { button type="submit" class="btn btn-primary" { "Aggiungi" } }
        }
    };
    Ok(ctx.page_with(if problems.any() { 422 } else { 200 }, "Operatori", main))
}

/// `GET /operatore/{ipa}/operatori`.
pub fn list(ctx: &mut BoCtx<'_>, ipa: &str) -> Result<Response, BoError> {
    let grant = ctx.admin_grant(ipa)?;
    render(ctx, &grant, &Problems::default(), &Typed::default(), None)
}

/// A refused change, field by field for the new-operator form (the service's field names are the
/// form's), in one sentence for the rest.
fn problems_of(err: &ServiceError) -> Problems {
    match err {
        ServiceError::Conflict(text) if text.contains("already exists") => {
            Problems::field("username", "Esiste già un operatore con questo nome utente.")
        }
        ServiceError::Invalid { field, .. } if field == "username" => Problems::field(
            "username",
            "Indica un nome utente da 3 a 64 caratteri tra lettere, cifre, «.», «_», «-» e «@».",
        ),
        ServiceError::Invalid { field, .. } if field == "email" => {
            Problems::field("email", "L'indirizzo e-mail non è valido (es. nome@esempio.it).")
        }
        other => Problems::general(&user_message(other)),
    }
}

fn refused(ctx: &mut BoCtx<'_>, grant: &OperatorGrant, err: &ServiceError, typed: &Typed) -> Result<Response, BoError> {
    if !err.is_user_error() {
        tracing::error!(error = %err, "cannot change operators");
        return Err(BoError::Internal);
    }
    if let ServiceError::NotFound(_) = err {
        return Err(BoError::NotFound);
    }
    tracing::info!(error = %err, "operator change refused");
    render(ctx, grant, &problems_of(err), typed, None)
}

/// `POST /operatore/{ipa}/operatori`: adds an operator with a generated password.
pub fn add(ctx: &mut BoCtx<'_>, ipa: &str) -> Result<Response, BoError> {
    let grant = ctx.admin_grant(ipa)?;
    let role = if ctx.form.text("role") == "admin" { Role::OrgAdmin } else { Role::Operator };
    let (username, full_name, email) = (ctx.form.text("username"), ctx.form.text("full_name"), ctx.form.text("email"));
    let opt = |s: &str| (!s.trim().is_empty()).then(|| s.trim().to_owned());
    let typed = Typed {
        username: username.clone(),
        full_name: full_name.clone(),
        email: email.clone(),
        admin: role == Role::OrgAdmin,
    };
    let (full_name, email) = (opt(&full_name), opt(&email));
    match org_operators::add(&ctx.state.db, &grant, &username, full_name.as_deref(), email.as_deref(), role, ctx.now) {
        Ok((op, password)) => {
            render(ctx, &grant, &Problems::default(), &Typed::default(), Some((&op.username, &password)))
        }
        Err(err) => refused(ctx, &grant, &err, &typed),
    }
}

/// `POST /operatore/{ipa}/operatori/{username}/abilitazioni`: role and debt types.
pub fn grants(ctx: &mut BoCtx<'_>, ipa: &str, username: &str) -> Result<Response, BoError> {
    let grant = ctx.admin_grant(ipa)?;
    let role = if ctx.form.text("role") == "admin" { Role::OrgAdmin } else { Role::Operator };
    let codes: Vec<String> = ctx.form.pairs().iter().filter(|(n, _)| n == "tipo").map(|(_, v)| v.clone()).collect();
    match org_operators::set_grants(&ctx.state.db, &grant, username, role, &codes, ctx.now) {
        Ok(op) => {
            ctx.session.flash("success", format!("Abilitazioni di {} salvate.", op.username));
            Ok(ctx.redirect(&format!("/operatore/{}/operatori", grant.org.ipa_code)))
        }
        Err(err) => refused(ctx, &grant, &err, &Typed::default()),
    }
}

/// `POST /operatore/{ipa}/operatori/{username}/password`: a new generated password.
pub fn reset_password(ctx: &mut BoCtx<'_>, ipa: &str, username: &str) -> Result<Response, BoError> {
    let grant = ctx.admin_grant(ipa)?;
    match org_operators::reset_password(&ctx.state.db, &grant, username, ctx.now) {
        Ok(password) => render(ctx, &grant, &Problems::default(), &Typed::default(), Some((username, &password))),
        Err(err) => refused(ctx, &grant, &err, &Typed::default()),
    }
}

/// `GET /operatore/password`: the form to change one's own password.
pub fn own_password_form(ctx: &mut BoCtx<'_>, error: Option<&str>) -> Result<Response, BoError> {
    if ctx.session.operator().is_none() {
        return Err(BoError::LoginNeeded);
    }
    let csrf = ctx.csrf();
    let main = html! {
        h1 { "Cambia la tua password" }
        @if let Some(message) = error { div class="alert alert-danger" role="alert" { (message) } }
        form method="post" action="/operatore/password" class="col-12 col-md-6" {
            (csrf)
            div class="form-group mb-3" {
                label for="current" { "Password attuale" }
                input type="password" class="form-control" id="current" name="current" autocomplete="current-password" required;
            }
            div class="form-group mb-3" {
                label for="new" { "Nuova password (almeno 10 caratteri, con almeno due tipi tra minuscole, maiuscole, cifre e simboli)" }
                input type="password" class="form-control" id="new" name="new" autocomplete="new-password" required;
            }
            div class="form-group mb-3" {
                label for="again" { "Ripeti la nuova password" }
                input type="password" class="form-control" id="again" name="again" autocomplete="new-password" required;
            }
            button type="submit" class="btn btn-primary" { "Cambia la password" }
        }
    };
    Ok(ctx.page_with(if error.is_some() { 422 } else { 200 }, "Cambia la tua password", main))
}

/// `POST /operatore/password`.
pub fn own_password(ctx: &mut BoCtx<'_>) -> Result<Response, BoError> {
    let Some(username) = ctx.session.operator().map(str::to_owned) else {
        return Err(BoError::LoginNeeded);
    };
    let (current, new, again) = (ctx.form.text("current"), ctx.form.text("new"), ctx.form.text("again"));
    if new != again {
        return own_password_form(ctx, Some("Le due nuove password non coincidono."));
    }
    match org_operators::change_own_password(&ctx.state.db, &username, &current, &new, ctx.now) {
        Ok(()) => {
            // This session stays; every other one of this operator ends.
            if let Err(err) = ctx.session.renew_operator(ctx.state) {
                tracing::error!(error = %err, "cannot keep the session after a password change");
            }
            ctx.session.flash("success", "Password cambiata.");
            Ok(ctx.redirect("/operatore"))
        }
        Err(ServiceError::Invalid { field, .. }) if field == "current_password" => {
            own_password_form(ctx, Some("La password attuale non è corretta."))
        }
        Err(err) if err.is_user_error() => {
            tracing::info!(error = %err, "own password refused");
            own_password_form(
                ctx,
                Some(
                    "La nuova password non è abbastanza robusta: almeno 10 caratteri, con almeno due tipi tra minuscole, maiuscole, cifre e simboli.",
                ),
            )
        }
        Err(err) => {
            tracing::error!(error = %err, "cannot change a password");
            Err(BoError::Internal)
        }
    }
}
