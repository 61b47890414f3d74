//! Citizens' login (trusted headers from an authenticating proxy, OpenID Connect with
//! `crate::oidc`, or the demo login), their own area ("I miei debiti", "I miei pagamenti", profile e-mail), and the receipt page.

use maud::html;

use super::super::authz::{self, Deny};
use super::super::session::Citizen;
use super::super::{Response, forms::encode};
use super::{Ctx, PageError, grouped};
use crate::config::CitizenAuthMode;
use crate::domain::{Email, FiscalCode};
use crate::services::portal::account;
use crate::web::ui::format::{datetime_it, day_it};

/// Demo citizens (the demo's debtors).
const DEMO_CITIZENS: &[(&str, &str)] = &[("RSSMRA85T10A562S", "Mario Rossi"), ("BNCGLI90A41F205H", "Giulia Bianchi")];

/// The identity a trusted proxy passed, if the peer is trusted and the headers are there.
fn header_identity(ctx: &Ctx<'_>) -> Option<Citizen> {
    let auth = &ctx.state.config.citizen_auth;
    if auth.mode != CitizenAuthMode::Headers {
        return None;
    }
    let peer = ctx.request.tcp_peer?;
    if !auth.trusted_proxies.contains(&peer) {
        tracing::warn!(target: "security", %peer, "identity headers from an untrusted peer ignored");
        return None;
    }
    let raw = ctx.request.header(&auth.header_fiscal_code)?.trim();
    let code = raw.strip_prefix("TINIT-").unwrap_or(raw).to_uppercase();
    let fiscal_code = FiscalCode::parse(&code).ok()?;
    Some(Citizen {
        fiscal_code: fiscal_code.as_str().to_owned(),
        name: ctx.request.header(&auth.header_name).unwrap_or_default().trim().chars().take(140).collect(),
        email: ctx
            .request
            .header(&auth.header_email)
            .and_then(|e| Email::parse(e.trim()).ok())
            .map(|e| e.as_str().to_owned()),
        method: "headers".to_owned(),
    })
}

/// The portal path in `torna` (`/carrello`, `/area-personale/pagamenti`), if it is one: a path of
/// this site only, never another origin (`//host`, `/\\host`) or a scheme.
fn return_path(text: &str) -> Option<String> {
    let safe = text.starts_with('/')
        && !text.starts_with("//")
        && !text.starts_with("/\\")
        && text.len() <= 200
        && text.bytes().all(|b| b.is_ascii_graphic() && b != b'\\');
    safe.then(|| text.to_owned())
}

/// Where a login ends: the page the citizen came from (kept by `GET /accedi?torna=`), or their area.
fn after_login(ctx: &mut Ctx<'_>) -> String {
    let back = ctx.session.data.after_login.take();
    ctx.session.touch();
    back.unwrap_or_else(|| String::from("/area-personale"))
}

/// `GET /accedi` (`?torna=` a portal path to go back to once logged in).
pub fn login(ctx: &mut Ctx<'_>) -> Result<Response, PageError> {
    if let Some(back) = return_path(&ctx.query.text("torna")) {
        ctx.session.data.after_login = Some(back);
        ctx.session.touch();
    }
    if let Some(citizen) = header_identity(ctx) {
        if ctx.session.citizen().as_ref().map(|c| &c.fiscal_code) != Some(&citizen.fiscal_code) {
            let now = ctx.now;
            if let Err(err) = ctx.session.login(ctx.state, &citizen, now) {
                return Err(err.into());
            }
            tracing::info!(target: "security", method = "headers", "citizen logged in");
        }
        let back = after_login(ctx);
        return Ok(ctx.redirect(&back));
    }
    let demo = ctx.state.demo;
    let csrf = ctx.csrf();
    let body = html! {
        h1 { "Accedi" }
        @if ctx.state.oidc.is_some() {
            p { "Accedi con la tua identità digitale per vedere i tuoi debiti e i tuoi pagamenti." }
            p { a class="btn btn-primary" href="/accedi/oidc" { "Entra con SPID o CIE" } }
        } @else if ctx.state.config.citizen_auth.mode == CitizenAuthMode::Headers {
            p { "L'accesso con SPID o CIE non è disponibile da questo indirizzo. Riprova dalla pagina dell'ente." }
        } @else if !demo {
            p { "L'accesso con identità digitale non è attivo su questo portale: puoi comunque pagare senza accedere." }
        }
        @if demo {
            div class="alert alert-info" role="alert" { "Dimostrazione: scegli un cittadino di prova al posto di SPID o CIE." }
            form method="post" action="/accedi/demo" {
                (csrf)
                div class="select-wrapper form-group" {
                    label for="cittadino" { "Cittadino di prova" }
                    select id="cittadino" name="cittadino" {
                        @for (code, name) in DEMO_CITIZENS { option value=(code) { (name) " (" (code) ")" } }
                    }
                }
                button type="submit" class="btn btn-primary" { "Accedi" }
            }
        }
    };
    Ok(ctx.page("Accedi", body))
}

/// `GET /accedi/oidc`: keeps state, nonce and PKCE verifier in the session and sends the browser
/// to the provider.
pub fn oidc_start(ctx: &mut Ctx<'_>) -> Result<Response, PageError> {
    let Some(client) = &ctx.state.oidc else {
        return Err(PageError::NotFound);
    };
    match client.start() {
        Ok((pending, url)) => {
            ctx.session.data.oidc = Some(pending);
            ctx.session.touch();
            Ok(Response::empty(303).with_header("Location", url).with_header("Cache-Control", "no-store"))
        }
        Err(err) => Err(err.into()),
    }
}

/// The redirect URI: checks `state` against the session, exchanges the code, verifies the ID
/// token and logs the citizen in. The pending login is used once, whatever the outcome.
pub fn oidc_callback(ctx: &mut Ctx<'_>) -> Result<Response, PageError> {
    let Some(client) = &ctx.state.oidc else {
        return Err(PageError::NotFound);
    };
    let pending = ctx.session.data.oidc.take();
    ctx.session.touch();
    let result = match pending {
        Some(p) if crate::oidc::Client::state_matches(&p, &ctx.query.text("state")) => {
            if let Some(error) = ctx.query.get("error") {
                Err(crate::oidc::OidcError::Provider(error.chars().take(64).collect()))
            } else {
                match ctx.query.get("code").filter(|c| !c.is_empty()) {
                    Some(code) => client.finish(&p, code, ctx.now.instant().as_second()),
                    None => Err(crate::oidc::OidcError::Malformed("no code in the callback")),
                }
            }
        }
        _ => Err(crate::oidc::OidcError::StateMismatch),
    };
    let identity = result?;
    let citizen = Citizen {
        fiscal_code: identity.fiscal_code,
        name: identity.name,
        email: identity.email,
        method: "oidc".to_owned(),
    };
    let now = ctx.now;
    if let Err(err) = ctx.session.login(ctx.state, &citizen, now) {
        return Err(err.into());
    }
    tracing::info!(target: "security", method = "oidc", "citizen logged in");
    if !citizen.name.is_empty() {
        ctx.session.flash("success", format!("Benvenuto, {}.", citizen.name));
    }
    let back = after_login(ctx);
    Ok(ctx.redirect(&back))
}

/// `POST /accedi/demo`: only with `--demo`.
pub fn demo_login(ctx: &mut Ctx<'_>) -> Result<Response, PageError> {
    if !ctx.state.demo {
        return Err(PageError::NotFound);
    }
    let code = ctx.form.text("cittadino");
    let Some((code, name)) = DEMO_CITIZENS.iter().find(|(c, _)| *c == code) else {
        return Err(PageError::BadRequest("Cittadino di prova sconosciuto."));
    };
    let citizen = Citizen {
        fiscal_code: (*code).to_owned(),
        name: (*name).to_owned(),
        email: Some(format!("{}@demo.invalid", name.to_lowercase().replace(' ', "."))),
        method: "demo".to_owned(),
    };
    let now = ctx.now;
    if let Err(err) = ctx.session.login(ctx.state, &citizen, now) {
        return Err(err.into());
    }
    ctx.session.flash("success", format!("Benvenuto, {name}."));
    let back = after_login(ctx);
    Ok(ctx.redirect(&back))
}

/// `POST /esci`.
pub fn logout(ctx: &mut Ctx<'_>) -> Result<Response, PageError> {
    let now = ctx.now;
    if let Err(err) = ctx.session.logout(ctx.state, now) {
        return Err(err.into());
    }
    Ok(ctx.redirect("/"))
}

/// Component: the tabs of the personal area.
fn tabs(active: &str) -> maud::Markup {
    let tab = |href: &str, label: &str| {
        html! { li class="nav-item" { a class={ "nav-link" @if label == active { " active" } } href=(href) aria-current=[(label == active).then_some("page")] { (label) } } }
    };
    html! {
        ul class="nav nav-tabs wrap-tabs mb-4" {
            (tab("/area-personale", "I miei debiti"))
            (tab("/area-personale/pagamenti", "I miei pagamenti"))
            (tab("/area-personale/profilo", "Profilo"))
        }
    }
}

/// `GET /area-personale`: open positions of the citizen across orgs.
pub fn my_debts(ctx: &mut Ctx<'_>) -> Result<Response, PageError> {
    let citizen = match authz::citizen(ctx.session) {
        Ok(c) => c,
        Err(Deny::NotLoggedIn | Deny::NotYours) => return Err(PageError::LoginNeeded),
    };
    let debts = account::debts_of(&ctx.state.db, &citizen.fiscal_code, ctx.now.today())?;
    let csrf = ctx.csrf();
    let body = html! {
        h1 { "Area personale" }
        (tabs("I miei debiti"))
        @if debts.is_empty() { p { "Non hai posizioni da pagare." } } @else {
            // A list of cards rather than a table: at 360 px each shows its amount and its button.
            ul class="list-group carrello-righe" aria-label="Posizioni da pagare" {
                @for my in &debts {
                    @let d = &my.debt;
                    @let notice = d.notice_number.as_ref().map(|n| n.as_str().to_owned()).unwrap_or_default();
                    @if my.options.is_empty() {
                        li class="list-group-item my-debt" {
                            div class="riga-testo" {
                                strong { (d.causale) } br;
                                (my.org_name) br;
                                @if let Some(due) = d.due_date { "Scadenza " (day_it(due)) br; }
                                @if !notice.is_empty() { "Codice avviso " span class="notice-number" { (grouped(&notice)) } }
                            }
                            span class="riga-importo" { (d.amount_cents.format_eur()) }
                            @if !notice.is_empty() {
                                form method="post" action="/carrello/aggiungi" {
                                    (csrf)
                                    input type="hidden" name="ente" value=(my.org_fiscal_code);
                                    input type="hidden" name="avviso" value=(notice);
                                    button type="submit" class="btn btn-outline-primary" { "Aggiungi al carrello" }
                                }
                            } @else if ctx.state.region.is_none() && d.state.is_payable() {
                                // Imported without an IUV: it gets one (and its notice code) when paid.
                                form method="post" action="/area-personale/paga" {
                                    (csrf)
                                    input type="hidden" name="dovuto" value=(d.id);
                                    button type="submit" class="btn btn-outline-primary" { "Aggiungi al carrello" }
                                }
                            }
                        }
                    } @else {
                        // A position with payment options: each payable option is its own card.
                        li class="list-group-item my-debt-plan" {
                            div class="riga-testo mb-2" {
                                strong { (d.causale) } br;
                                (my.org_name)
                            }
                            (super::pay::options_list(&csrf, &my.org_fiscal_code, &my.options))
                        }
                    }
                }
            }
        }
    };
    Ok(ctx.page("I miei debiti", body))
}

/// `POST /area-personale/paga` (dovuto): one of the citizen's debts into the cart; a debt imported
/// without an IUV gets it now, as MyPay assigns it when the payment starts.
pub fn pay_debt(ctx: &mut Ctx<'_>) -> Result<Response, PageError> {
    let citizen = match authz::citizen(ctx.session) {
        Ok(c) => c,
        Err(_) => return Err(PageError::LoginNeeded),
    };
    let Ok(debt_id) = ctx.form.text("dovuto").trim().parse::<i64>() else {
        return Err(PageError::BadRequest("Posizione sconosciuta."));
    };
    let (org_cf, notice) = account::make_payable(&ctx.state.db, &citizen.fiscal_code, debt_id, ctx.now)?;
    super::pay::add_to_cart(ctx, &org_cf, &notice)?;
    ctx.session.flash("success", "Avviso aggiunto al carrello.");
    Ok(ctx.redirect("/carrello"))
}

/// `GET /area-personale/pagamenti`: the citizen's receipts.
pub fn my_payments(ctx: &mut Ctx<'_>) -> Result<Response, PageError> {
    let citizen = match authz::citizen(ctx.session) {
        Ok(c) => c,
        Err(_) => return Err(PageError::LoginNeeded),
    };
    let list = account::receipts_of(&ctx.state.db, &citizen.fiscal_code)?;
    let body = html! {
        h1 { "Area personale" }
        (tabs("I miei pagamenti"))
        @if list.is_empty() { p { "Non risultano pagamenti." } } @else {
            ul class="list-group" {
                @for r in &list {
                    li class="list-group-item my-receipt" {
                        a href={ "/ricevute/" (r.id) } { (r.company_name) " — " (r.description) }
                        " — " (r.amount_cents.format_eur()) " — " (r.payment_date_time.as_deref().map(datetime_it).unwrap_or_default())
                    }
                }
            }
        }
    };
    Ok(ctx.page("I miei pagamenti", body))
}

/// `GET /area-personale/profilo`.
pub fn profile(ctx: &mut Ctx<'_>) -> Result<Response, PageError> {
    let citizen = match authz::citizen(ctx.session) {
        Ok(c) => c,
        Err(_) => return Err(PageError::LoginNeeded),
    };
    let csrf = ctx.csrf();
    let body = html! {
        h1 { "Area personale" }
        (tabs("Profilo"))
        dl class="row" {
            dt class="col-sm-3" { "Nome" } dd class="col-sm-9" { (citizen.name) }
            dt class="col-sm-3" { "Codice fiscale" } dd class="col-sm-9" { (citizen.fiscal_code) }
        }
        form method="post" action="/area-personale/profilo" {
            (csrf)
            div class="form-group" {
                label for="email" class="active" { "E-mail per le ricevute" }
                input type="email" id="email" name="email" class="form-control" value=(citizen.email.clone().unwrap_or_default()) autocomplete="email";
            }
            button type="submit" class="btn btn-primary" { "Salva" }
        }
    };
    Ok(ctx.page("Profilo", body))
}

/// `POST /area-personale/profilo`.
pub fn profile_post(ctx: &mut Ctx<'_>) -> Result<Response, PageError> {
    if authz::citizen(ctx.session).is_err() {
        return Err(PageError::LoginNeeded);
    }
    let text = ctx.form.text("email");
    if text.is_empty() {
        ctx.session.set_citizen_email(None);
    } else if let Ok(email) = Email::parse(&text) {
        ctx.session.set_citizen_email(Some(email.as_str().to_owned()));
    } else {
        ctx.session.flash("danger", "Inserisci un indirizzo e-mail valido.");
        return Ok(ctx.redirect("/area-personale/profilo"));
    }
    ctx.session.flash("success", "Profilo aggiornato.");
    Ok(ctx.redirect("/area-personale/profilo"))
}

/// `GET /ricevute/{id}` and `/ricevute/{id}/xml`: the receipt, to its payer only.
pub fn receipt(ctx: &mut Ctx<'_>, id: &str, xml: bool) -> Result<Response, PageError> {
    receipt_as(ctx, id, if xml { ReceiptFormat::Xml } else { ReceiptFormat::Page })
}

/// `GET /ricevute/{id}/pdf`: the receipt (quietanza) as PDF, with the page's access rules.
pub fn receipt_pdf(ctx: &mut Ctx<'_>, id: &str) -> Result<Response, PageError> {
    receipt_as(ctx, id, ReceiptFormat::Pdf)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum ReceiptFormat {
    Page,
    Xml,
    Pdf,
}

fn receipt_as(ctx: &mut Ctx<'_>, id: &str, format: ReceiptFormat) -> Result<Response, PageError> {
    let xml = format == ReceiptFormat::Xml;
    let Ok(id) = id.parse::<i64>() else {
        return Err(PageError::NotFound);
    };
    let found = match account::receipt(&ctx.state.db, id) {
        Ok(Some(r)) if r.pays() => r,
        Ok(_) => return Err(PageError::NotFound),
        Err(err) => return Err(err.into()),
    };
    let signature = ctx.query.get("firma").map(str::to_owned);
    if authz::receipt(&ctx.state.db, &ctx.state.links, ctx.session, &found, signature.as_deref(), ctx.now).is_err() {
        return Err(PageError::Forbidden(
            "Questa ricevuta è visibile solo a chi ha effettuato il pagamento, all'intestatario dopo l'accesso, o tramite il collegamento ricevuto per e-mail.",
        ));
    }
    if format == ReceiptFormat::Pdf {
        let view = crate::services::debts::documents::stored_receipt_view(&ctx.state.db, found.clone())?;
        return match crate::pdf::receipt_pdf(&view) {
            Ok(bytes) => Ok(Response { status: 200, headers: Vec::new(), body: bytes }
                .with_header("Content-Type", "application/pdf")
                .with_header("Content-Disposition", format!("inline; filename=\"ricevuta-{}.pdf\"", found.iuv))
                .with_header("Cache-Control", "private, no-store")),
            Err(err) => {
                tracing::error!(error = %err, "cannot render a receipt");
                Err(PageError::Internal)
            }
        };
    }
    if xml {
        // The receipt document alone, not the paSendRT envelope it came in (a bare receipt, as a
        // regional MyPay's `rt` may be, is its own first `receipt` element).
        let document = match crate::soap::standalone_element(found.request_xml.as_bytes(), "receipt") {
            Ok(Some(document)) => document,
            Ok(None) | Err(_) => {
                tracing::warn!(receipt = found.id, "stored receipt has no readable receipt element: sent as stored");
                found.request_xml.clone()
            }
        };
        return Ok(Response::text(200, "application/xml; charset=utf-8", document).with_header(
            "Content-Disposition",
            format!(
                "attachment; filename=\"ricevuta-{}-{}.xml\"",
                found.iuv,
                found.receipt_id.chars().filter(char::is_ascii_alphanumeric).collect::<String>()
            ),
        ));
    }
    let query = signature.map(|s| format!("?firma={}", encode(&s))).unwrap_or_default();
    let r = &found;
    let body = html! {
        h1 { "Ricevuta di pagamento" }
        div class="alert alert-success" role="alert" { "Pagamento eseguito il " (r.payment_date_time.as_deref().map(datetime_it).unwrap_or_default()) }
        dl class="row receipt" {
            dt class="col-sm-4" { "Ente creditore" } dd class="col-sm-8" { (r.company_name) }
            dt class="col-sm-4" { "Importo" } dd class="col-sm-8" { strong { (r.amount_cents.format_eur()) } }
            @if let Some(fee) = r.fee_cents { dt class="col-sm-4" { "Commissione" } dd class="col-sm-8" { (fee.format_eur()) } }
            dt class="col-sm-4" { "Causale" } dd class="col-sm-8" { (r.description) }
            dt class="col-sm-4" { "Debitore" } dd class="col-sm-8" { (r.debtor.name) " (" (r.debtor.id) ")" }
            @if let Some(payer) = &r.payer { dt class="col-sm-4" { "Pagatore" } dd class="col-sm-8" { (payer.name) " (" (payer.id) ")" } }
            dt class="col-sm-4" { "Data e ora" } dd class="col-sm-8" { (r.payment_date_time.as_deref().map(datetime_it).unwrap_or_default()) }
            dt class="col-sm-4" { "Prestatore (PSP)" } dd class="col-sm-8" { (r.psp_company_name) " (" (r.psp_id) ")" }
            @if let Some(method) = &r.payment_method { dt class="col-sm-4" { "Metodo di pagamento" } dd class="col-sm-8" { (crate::pdf::receipt::payment_method_it(method)) } }
            dt class="col-sm-4" { "Identificativo riscossione (IUR)" } dd class="col-sm-8" { (r.receipt_id) }
            dt class="col-sm-4" { "IUV" } dd class="col-sm-8" { (r.iuv) }
            dt class="col-sm-4" { "Codice avviso" } dd class="col-sm-8" { (grouped(&r.notice_number)) }
        }
        p class="d-flex flex-wrap gap-2" {
            a class="btn btn-primary" href={ "/ricevute/" (r.id) "/pdf" (query) } { "Scarica la ricevuta (PDF)" }
            a class="btn btn-outline-primary" href={ "/ricevute/" (r.id) "/xml" (query) } { "Scarica la ricevuta (XML)" }
        }
    };
    Ok(ctx.page("Ricevuta", body))
}
