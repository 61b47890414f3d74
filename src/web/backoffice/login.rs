//! Operator login and logout. One message for every refused login, so usernames cannot be probed.

use maud::html;

use super::{BoCtx, BoError};
use crate::services::ServiceError;
use crate::services::admin::operators;
use crate::web::Response;

/// The message of every refused login.
const REFUSED: &str =
    "Nome utente o password non corretti. Dopo 5 tentativi non riusciti l'accesso resta bloccato per 15 minuti.";

/// `GET /operatore/accedi`.
pub fn form(ctx: &mut BoCtx<'_>, error: Option<&str>) -> Result<Response, BoError> {
    if error.is_none() && ctx.session.operator().is_some() {
        return Ok(ctx.redirect("/operatore"));
    }
    let csrf = ctx.csrf();
    let main = html! {
        h1 { "Accesso operatori" }
        @if let Some(message) = error {
            div class="alert alert-danger" role="alert" { (message) }
        }
        form method="post" action="/operatore/accedi" class="col-12 col-md-6" {
            (csrf)
            div class="form-group mb-3" {
                label for="username" { "Nome utente" }
                input type="text" class="form-control" id="username" name="username" autocomplete="username" required;
            }
            div class="form-group mb-3" {
                label for="password" { "Password" }
                input type="password" class="form-control" id="password" name="password" autocomplete="current-password" required;
            }
            button type="submit" class="btn btn-primary" { "Accedi" }
        }
    };
    Ok(ctx.page_with(if error.is_some() { 401 } else { 200 }, "Accesso operatori", main))
}

/// `POST /operatore/accedi`.
pub fn post(ctx: &mut BoCtx<'_>) -> Result<Response, BoError> {
    let username = ctx.form.text("username");
    let password = ctx.form.text("password");
    match operators::authenticate(&ctx.state.db, &username, &password, ctx.now) {
        Ok(op) => {
            if let Err(err) = ctx.session.login_operator(ctx.state, &op.username, ctx.now) {
                tracing::error!(error = %err, "cannot store the operator session");
                return Err(BoError::Internal);
            }
            tracing::info!(target: "security", username = %op.username, "operator logged in");
            Ok(ctx.redirect("/operatore"))
        }
        // One answer for an unknown user, a wrong password, a disabled or a locked account: which
        // one it was is for the log, not for whoever is trying usernames.
        Err(ServiceError::Access(_)) => form(ctx, Some(REFUSED)),
        Err(err) => {
            tracing::error!(error = %err, "operator login failed");
            Err(BoError::Internal)
        }
    }
}

/// `POST /operatore/esci`.
pub fn logout(ctx: &mut BoCtx<'_>) -> Result<Response, BoError> {
    if let Err(err) = ctx.session.logout(ctx.state, ctx.now) {
        tracing::error!(error = %err, "cannot end the session");
    }
    Ok(ctx.redirect("/operatore/accedi"))
}
