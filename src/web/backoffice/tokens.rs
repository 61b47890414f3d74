//! The REST API's tokens of an org, for its administrators: the list (never a token itself), a
//! new token shown once in the answer to its creation, and revocation.

use maud::html;

use super::{BoCtx, BoError, user_message};
use crate::services::admin::api_tokens;
use crate::web::Response;
use crate::web::ui::format::datetime_it;

/// The page, with the error of a refused creation or the token just created (shown this once).
fn render(
    ctx: &mut BoCtx<'_>,
    ipa: &str,
    error: Option<&str>,
    created: Option<(&str, &str)>,
) -> Result<Response, BoError> {
    let grant = ctx.admin_grant(ipa)?;
    let tokens = match api_tokens::list_tokens(&ctx.state.db, &grant.org.ipa_code) {
        Ok(tokens) => tokens,
        Err(err) => {
            tracing::error!(error = %err, "cannot list API tokens");
            return Err(BoError::Internal);
        }
    };
    let base = format!("/operatore/{}/token", grant.org.ipa_code);
    let csrf = ctx.csrf();
    let main = html! {
        h1 { "Token per le API" }
        p class="lead" { (grant.org.name) }
        p { "Un token permette al gestionale dell'ente di usare le API REST (" a href="/api/openapi.json" { "descrizione OpenAPI" } ") per questo ente. Si vede una volta sola, quando viene creato." }
        @if let Some((label, token)) = created {
            div class="alert alert-warning" role="alert" {
                p { "Token «" (label) "» creato. Copialo ora e conservalo in un luogo sicuro: " strong { "non sarà più mostrato." } }
                label for="nuovo-token" class="form-label" { "Token" }
                input type="text" class="form-control font-monospace" id="nuovo-token" value=(token) readonly;
            }
        }
        form method="post" action=(base) class="row g-3 mb-5" novalidate {
            (csrf.clone())
            div class="col-12 col-md-8" {
                label for="etichetta" { "A cosa serve (es. gestionale tributi)" }
                input type="text" class={ "form-control" @if error.is_some() { " is-invalid" } } id="etichetta" name="etichetta" maxlength="100" required
                    aria-describedby="etichetta-errore" aria-invalid=[error.map(|_| "true")];
                @if let Some(e) = error { div id="etichetta-errore" class="invalid-feedback d-block" role="alert" { (e) } }
            }
            div class="col-12" { button type="submit" class="btn btn-primary" { "Crea un token" } }
        }
        h2 class="h4" { "Token dell'ente" }
        @if tokens.is_empty() {
            p { "Nessun token." }
        } @else {
            div class="table-responsive" {
                table class="table tabella-compatta" {
                    caption class="visually-hidden" { "Token dell'ente" }
                    thead { tr {
                        th scope="col" { "N." } th scope="col" { "A cosa serve" } th scope="col" { "Creato il" }
                        th scope="col" { "Ultimo uso" } th scope="col" { "Stato" } th scope="col" { "Azioni" }
                    } }
                    tbody {
                        @for t in &tokens {
                            tr {
                                td { (t.id) }
                                td { (t.label) }
                                td { (datetime_it(&t.created_at)) }
                                td { (t.last_used_at.as_deref().map_or_else(|| "mai".to_owned(), datetime_it)) }
                                td { @match &t.revoked_at { Some(at) => { "Revocato il " (datetime_it(at)) } None => { "Valido" } } }
                                td {
                                    @if t.revoked_at.is_none() {
                                        form method="post" action={ (base) "/" (t.id) "/revoca" } {
                                            (csrf.clone())
                                            button type="submit" class="btn btn-outline-danger btn-sm" { "Revoca il token n. " (t.id) }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(ctx.page_with(if error.is_some() { 422 } else { 200 }, "Token per le API", main))
}

/// `GET /operatore/{ipa}/token`.
pub fn list(ctx: &mut BoCtx<'_>, ipa: &str) -> Result<Response, BoError> {
    render(ctx, ipa, None, None)
}

/// `POST /operatore/{ipa}/token`: the page with the new token, shown this once (never in a
/// redirect or the session).
pub fn create(ctx: &mut BoCtx<'_>, ipa: &str) -> Result<Response, BoError> {
    let grant = ctx.admin_grant(ipa)?;
    let label = ctx.form.text("etichetta").trim().to_owned();
    if label.is_empty() {
        return render(ctx, ipa, Some("Scrivi a cosa serve il token, per riconoscerlo nell'elenco."), None);
    }
    let actor = format!("operator:{}", grant.username);
    match api_tokens::create_token(&ctx.state.db, &actor, &grant.org.ipa_code, &label, ctx.now) {
        Ok((record, token)) => render(ctx, ipa, None, Some((&record.label, &token))),
        Err(err) if err.is_user_error() => {
            let message = match &err {
                crate::services::ServiceError::Invalid { .. } => {
                    "La descrizione è troppo lunga: al massimo 100 caratteri.".to_owned()
                }
                other => user_message(other),
            };
            render(ctx, ipa, Some(&message), None)
        }
        Err(err) => {
            tracing::error!(error = %err, "cannot create an API token");
            Err(BoError::Internal)
        }
    }
}

/// `POST /operatore/{ipa}/token/{token}/revoca`.
pub fn revoke(ctx: &mut BoCtx<'_>, ipa: &str, id: &str) -> Result<Response, BoError> {
    let grant = ctx.admin_grant(ipa)?;
    let Ok(id) = id.parse::<i64>() else { return Err(BoError::NotFound) };
    let actor = format!("operator:{}", grant.username);
    match api_tokens::revoke_token(&ctx.state.db, &actor, &grant.org.ipa_code, id, ctx.now) {
        Ok(()) => ctx
            .session
            .flash("success", format!("Token n. {id} revocato: le chiamate con questo token sono rifiutate.")),
        // Another org's token, or one revoked already: nothing to revoke here.
        Err(err) if err.is_user_error() => return Err(BoError::NotFound),
        Err(err) => {
            tracing::error!(error = %err, "cannot revoke an API token");
            return Err(BoError::Internal);
        }
    }
    Ok(ctx.redirect(&format!("/operatore/{}/token", grant.org.ipa_code)))
}
