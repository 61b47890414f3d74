//! An org's privacy pages, for its administrators: the notice editor (the template's sections,
//! each save a new version), a data subject's export (HTML or JSON download), rectification of an
//! open debt's debtor contact data (journaled; a paid or closed debt refused with the law's
//! reason) and erasure request (what the law lets go, and why the rest stays), and the register of processing activities
//! (art. 30), printable. Only the org's own data: every page takes the admin grant on `ipa`.

use maud::{Markup, html};

use super::{BoCtx, BoError, user_message};
use crate::services::ServiceError;
use crate::services::gdpr::{register, subject};
use crate::services::portal::privacy_notices::{self, SECTIONS};
use crate::store::privacy_notices::NoticeSections;
use crate::web::Response;
use crate::web::ui::format::datetime_it;
use crate::web::ui::subject_export;

fn actor(username: &str) -> String {
    format!("operator:{username}")
}

/// The rectification form's fields: (name, Italian label, input type, max length, required).
const RECTIFY_FIELDS: [(&str, &str, &str, u32, bool); 8] = [
    ("iud", "Codice del dovuto (IUD)", "text", 35, true),
    ("email", "E-mail", "email", 256, false),
    ("address", "Indirizzo", "text", 70, false),
    ("civic-number", "Numero civico", "text", 16, false),
    ("postal-code", "CAP", "text", 16, false),
    ("city", "Località", "text", 35, false),
    ("province", "Provincia (sigla)", "text", 2, false),
    ("country", "Nazione (sigla)", "text", 2, false),
];

/// `GET /operatore/{ipa}/privacy`.
pub fn show(ctx: &mut BoCtx<'_>, ipa: &str) -> Result<Response, BoError> {
    render(ctx, ipa, 200, None, None, None)
}

/// The page; `typed` keeps what the administrator wrote when it was refused, `message` says why,
/// `erasure` shows the outcome of an erasure request.
fn render(
    ctx: &mut BoCtx<'_>,
    ipa: &str,
    status: u16,
    typed: Option<NoticeSections>,
    message: Option<String>,
    erasure: Option<(String, subject::Erasure)>,
) -> Result<Response, BoError> {
    let grant = ctx.admin_grant(ipa)?;
    let notices = privacy_notices::versions(&ctx.state.db, grant.org.id).map_err(|err| {
        tracing::error!(error = %err, "cannot read the privacy notices");
        BoError::Internal
    })?;
    let config = &ctx.state.config;
    let filled = typed.unwrap_or_else(|| match notices.first() {
        Some(n) if n.sections.controller.is_some() => n.sections.clone(),
        _ => privacy_notices::template(&grant.org, &config.retention, &config.privacy_dpo_contact),
    });
    let base = format!("/operatore/{}/privacy", grant.org.ipa_code);
    let csrf = ctx.csrf();
    let body = html! {
        h1 { "Privacy — " (grant.org.name) }
        @if let Some(m) = &message { div class="alert alert-danger" role="alert" { (m) } }
        p {
            a href={ (base) "/registro" } { "Registro delle attività di trattamento (art. 30)" }
            " · "
            a href={ "/enti/" (grant.org.ipa_code) "/privacy" } { "Informativa come la vedono i cittadini" }
        }
        h2 class="h4" { "Informativa privacy" }
        p {
            @if let Some(current) = notices.first() {
                "Versione in vigore: " strong { (current.version) } ", pubblicata il " (datetime_it(&current.created_at)) " da " (current.created_by) "."
            } @else {
                "Nessuna informativa dell'ente: i cittadini vedono quella generica (versione " (privacy_notices::GENERIC_VERSION) "), qui sotto come modello da completare."
            }
        }
        form method="post" action=(base) class="mb-5" {
            (csrf.clone())
            @for (name, heading) in SECTIONS {
                div class="mb-3" {
                    label for=(name) class="form-label fw-semibold" { (heading) }
                    textarea class="form-control" id=(name) name=(name) rows="4"
                        maxlength=(privacy_notices::MAX_SECTION_CHARS) required {
                        (privacy_notices::section(&filled, name).unwrap_or_default())
                    }
                }
            }
            button type="submit" class="btn btn-primary" { "Pubblica una nuova versione" }
        }
        @if !notices.is_empty() {
            table class="table table-sm mb-5" {
                caption { "Versioni pubblicate (le precedenti restano come i cittadini le hanno lette)" }
                thead { tr { th scope="col" { "Versione" } th scope="col" { "Pubblicata il" } th scope="col" { "Da" } } }
                tbody { @for n in &notices { tr class="privacy-version" { td { (n.version) } td { (datetime_it(&n.created_at)) } td { (n.created_by) } } } }
            }
        }
        h2 class="h4" { "Diritti dell'interessato" }
        p { "Accesso ai dati (art. 15) e copia in formato leggibile da macchina (art. 20): i dovuti, le ricevute, le informative accettate e le e-mail inviate di un codice fiscale presso questo ente." }
        form method="get" action={ (base) "/interessato" } class="row g-3 mb-4" {
            div class="col-12 col-md-5" {
                label for="export-cf" class="form-label" { "Codice fiscale" }
                input type="text" class="form-control" id="export-cf" name="cf" required maxlength="16" autocomplete="off";
            }
            div class="col-12 col-md-3" {
                label for="export-format" class="form-label" { "Formato" }
                select class="form-select" id="export-format" name="formato" {
                    option value="html" selected { "Pagina leggibile (HTML)" }
                    option value="json" { "Dati (JSON)" }
                }
            }
            div class="col-12 col-md-4 align-self-end" { button type="submit" class="btn btn-outline-primary" { "Scarica i dati" } }
        }
        p { "Cancellazione (art. 17): si cancellano i dati dei dovuti annullati o scaduti; dovuti aperti, dovuti pagati e ricevute restano, per il motivo indicato." }
        form method="post" action={ (base) "/cancellazione" } class="row g-3 mb-4" {
            (csrf.clone())
            div class="col-12 col-md-5" {
                label for="erase-cf" class="form-label" { "Codice fiscale" }
                input type="text" class="form-control" id="erase-cf" name="cf" required maxlength="16" autocomplete="off";
            }
            div class="col-12 col-md-4 align-self-end" { button type="submit" class="btn btn-outline-danger" { "Cancella dove consentito" } }
        }
        @if let Some((cf, e)) = &erasure { (erasure_outcome(cf, e)) }
        p { "Rettifica (art. 16): i recapiti del debitore di un dovuto ancora da pagare. I recapiti indicati sostituiscono quelli registrati (un campo lasciato vuoto viene cancellato); il codice fiscale e il nome si correggono con un flusso o dalla pagina del dovuto." }
        form method="post" action={ (base) "/rettifica" } class="row g-3 mb-5" {
            (csrf)
            @for (name, label, kind, max, required) in RECTIFY_FIELDS {
                div class="col-12 col-md-4" {
                    label for={ "rect-" (name) } class="form-label" { (label) }
                    input type=(kind) class="form-control" id={ "rect-" (name) } name=(name) maxlength=(max) required[required] autocomplete="off";
                }
            }
            div class="col-12" { button type="submit" class="btn btn-outline-primary" { "Rettifica i recapiti" } }
        }
    };
    Ok(ctx.page_with(status, "Privacy", body))
}

fn erasure_outcome(cf: &str, e: &subject::Erasure) -> Markup {
    html! {
        section class="erasure-outcome mb-5" aria-live="polite" {
            h3 class="h5" { "Esito della richiesta per " (cf) }
            @if e.erased.is_empty() && e.refused.is_empty() { p { "Nessun dato di questo codice fiscale presso l'ente." } }
            @if !e.erased.is_empty() {
                p { "Cancellati i dati del debitore di " (e.erased.len()) " dovuti:" }
                ul { @for o in &e.erased { li { code { (o) } } } }
            }
            @if !e.refused.is_empty() {
                p { "Non cancellati:" }
                ul { @for r in &e.refused { li class="erasure-refused" { code { (r.object) } ": " (r.reason_it) } } }
            }
        }
    }
}

/// `POST /operatore/{ipa}/privacy`: publishes the sections as the next version.
pub fn publish(ctx: &mut BoCtx<'_>, ipa: &str) -> Result<Response, BoError> {
    let grant = ctx.admin_grant(ipa)?;
    let values: Vec<(&str, String)> = SECTIONS.iter().map(|(name, _)| (*name, ctx.form.text(name))).collect();
    let sections = privacy_notices::sections_from(&values);
    match privacy_notices::publish_sections(
        &ctx.state.db,
        &actor(&grant.username),
        &grant.org.ipa_code,
        &sections,
        ctx.now,
    ) {
        Ok(version) => {
            ctx.session.flash("success", format!("Informativa privacy pubblicata: versione {version}."));
            Ok(ctx.redirect(&format!("/operatore/{}/privacy", grant.org.ipa_code)))
        }
        Err(ServiceError::Invalid { field, .. }) => {
            let heading = SECTIONS.iter().find(|(n, _)| *n == field).map_or(field.as_str(), |(_, h)| h);
            let message = format!("La sezione «{heading}» è vuota o troppo lunga: completala prima di pubblicare.");
            render(ctx, ipa, 422, Some(sections), Some(message), None)
        }
        Err(err) => render(ctx, ipa, 422, Some(sections), Some(user_message(&err)), None),
    }
}

/// `GET /operatore/{ipa}/privacy/interessato?cf=…&formato=html|json`: the data subject's export,
/// limited to this org, as a download.
pub fn subject_data(ctx: &mut BoCtx<'_>, ipa: &str) -> Result<Response, BoError> {
    let grant = ctx.admin_grant(ipa)?;
    let cf = ctx.form.text("cf");
    let data = match subject::export(&ctx.state.db, &actor(&grant.username), &cf, Some(&grant.org.ipa_code), ctx.now) {
        Ok(data) => data,
        Err(err) if err.is_user_error() => return render(ctx, ipa, 422, None, Some(user_message(&err)), None),
        Err(err) => {
            tracing::error!(error = %err, "cannot export a data subject's data");
            return Err(BoError::Internal);
        }
    };
    tracing::info!(target: "security", username = %grant.username, ipa, "data subject export");
    let (body, content_type, ext) = if ctx.form.get("formato") == Some("json") {
        let text = serde_json::to_string_pretty(&subject_export::to_json(&data)).map_err(|_| BoError::Internal)?;
        (text, "application/json", "json")
    } else {
        (subject_export::to_html(&data), "text/html; charset=utf-8", "html")
    };
    Ok(Response { status: 200, headers: Vec::new(), body: body.into_bytes() }
        .with_header("Content-Type", content_type)
        .with_header(
            "Content-Disposition",
            format!("attachment; filename=\"dati-{}-{}.{ext}\"", data.fiscal_code, grant.org.ipa_code),
        )
        .with_header("Cache-Control", "no-store"))
}

/// `POST /operatore/{ipa}/privacy/cancellazione`: erases what the law lets go, says why the rest
/// stays.
pub fn erase(ctx: &mut BoCtx<'_>, ipa: &str) -> Result<Response, BoError> {
    let grant = ctx.admin_grant(ipa)?;
    let cf = ctx.form.text("cf").trim().to_uppercase();
    match subject::erase(&ctx.state.db, &actor(&grant.username), &grant.org.ipa_code, &cf, ctx.now) {
        Ok(outcome) => render(ctx, ipa, 200, None, None, Some((cf, outcome))),
        Err(err) if err.is_user_error() => render(ctx, ipa, 422, None, Some(user_message(&err)), None),
        Err(err) => {
            tracing::error!(error = %err, "cannot erase a data subject's data");
            Err(BoError::Internal)
        }
    }
}

/// `POST /operatore/{ipa}/privacy/rettifica`: corrects the debtor contact data of an open debt of
/// the org (`subject::rectify_contact`, journaled as `gdpr.rectify`); a refusal says why.
pub fn rectify(ctx: &mut BoCtx<'_>, ipa: &str) -> Result<Response, BoError> {
    let grant = ctx.admin_grant(ipa)?;
    let iud = ctx.form.text("iud").trim().to_owned();
    let field = |name: &str| Some(ctx.form.text(name));
    let contact = subject::Contact {
        email: field("email"),
        address: field("address"),
        civic_number: field("civic-number"),
        postal_code: field("postal-code"),
        city: field("city"),
        province: field("province"),
        country: field("country"),
    };
    match subject::rectify_contact(&ctx.state.db, &actor(&grant.username), &grant.org.ipa_code, &iud, &contact, ctx.now)
    {
        Ok(_) => {
            ctx.session.flash("success", format!("Recapiti del debitore del dovuto {iud} rettificati."));
            Ok(ctx.redirect(&format!("/operatore/{}/privacy", grant.org.ipa_code)))
        }
        Err(err) if err.is_user_error() => {
            let reason = match (&err, subject::rectify_refusal_it(&err)) {
                (_, Some(law)) => law.to_owned(),
                (ServiceError::NotFound(_), _) => "nessun dovuto dell'ente con questo codice".to_owned(),
                _ => user_message(&err),
            };
            let message = format!("Rettifica del dovuto {iud} non eseguita: {reason}");
            render(ctx, ipa, 422, None, Some(message), None)
        }
        Err(err) => {
            tracing::error!(error = %err, "cannot rectify a debtor's contact data");
            Err(BoError::Internal)
        }
    }
}

/// `GET /operatore/{ipa}/privacy/registro`: the register of processing activities, printable.
pub fn register_page(ctx: &mut BoCtx<'_>, ipa: &str) -> Result<Response, BoError> {
    let grant = ctx.admin_grant(ipa)?;
    let reg = register::register(&ctx.state.db, &ctx.state.config, &grant.org.ipa_code).map_err(|err| {
        tracing::error!(error = %err, "cannot make the register of processing");
        BoError::Internal
    })?;
    let body = html! {
        article class="registro-trattamenti" {
            h1 { "Registro delle attività di trattamento" }
            p class="lead" { (reg.org.name) " — art. 30 del Regolamento (UE) 2016/679. Generato dalla configurazione il " (datetime_it(&ctx.now.iso())) "." }
            p class="no-print" { "Per stamparlo o salvarlo in PDF usa la stampa del browser." }
            dl {
                dt { "Titolare del trattamento" } dd { (reg.controller) }
                dt { "Responsabile della protezione dei dati" } dd { (reg.dpo) }
                dt { "Responsabile del trattamento" } dd { (reg.processor) }
                dt { "Informativa in vigore" } dd { "Versione " (reg.notice_version) }
                dt { "Trasferimenti verso paesi terzi" } dd { (reg.transfers) }
            }
            // Focusable, so keyboard users can scroll it (axe-core scrollable-region-focusable).
            div class="tabella-scroll" tabindex="0" role="region" aria-label="Attività di trattamento" {
                table class="table table-sm" {
                    caption { "Attività di trattamento" }
                    thead { tr {
                        th scope="col" { "Attività" } th scope="col" { "Finalità" } th scope="col" { "Base giuridica" }
                        th scope="col" { "Interessati" } th scope="col" { "Dati personali" } th scope="col" { "Destinatari" }
                        th scope="col" { "Conservazione" }
                    } }
                    tbody { @for a in &reg.activities { tr class="register-activity" {
                        th scope="row" { (a.name) } td { (a.purposes) } td { (a.legal_basis) } td { (a.subjects) }
                        td { (a.data) } td { (a.recipients) } td { (a.retention) }
                    } } }
                }
            }
            h2 class="h4" { "Misure di sicurezza (art. 32)" }
            ul { @for m in &reg.security { li { (m) } } }
        }
    };
    Ok(ctx.page("Registro dei trattamenti", body))
}
