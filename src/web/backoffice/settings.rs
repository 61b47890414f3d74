//! An org's settings, for its administrators: registry data, IBANs (checked with
//! `domain::iban`), postal account, citizen information text, notice language; the SIL password
//! reset (generated, shown once; in its place, for a mode without web services, why not); the logo (PNG or JPEG, checked, decoded and scaled by
//! `services::admin::orgs`); the outcome-push URL and secret; the version of the org's privacy
//! notice in force, with a link to the Privacy tab where the template editor is (`privacy`); and,
//! for app admins, the org's state. A refused form says why in Italian and changes nothing.

use maud::html;

use super::problems::{Problems, feedback, summary};
use super::{BoCtx, BoError, user_message};
use crate::domain::adhesion::Channel;
use crate::domain::org::OrgState;
use crate::services::ServiceError;
use crate::services::admin::orgs::{self, OrgChanges};
use crate::services::admin::passwords;
use crate::services::payments::outcome_push::{self, PushSettings};
use crate::services::portal::privacy_notices;
use crate::store::orgs::OrgRecord;
use crate::web::Response;
use crate::web::authz::OperatorGrant;
use crate::web::ui::format::datetime_it;

/// The registry fields: (form and service field name, Italian label, input type).
const FIELDS: [(&str, &str, &str); 16] = [
    ("name", "Denominazione", "text"),
    ("iban-bank", "IBAN bancario", "text"),
    ("iban-postal", "IBAN postale", "text"),
    ("postal-account", "Conto corrente postale", "text"),
    ("postal-account-holder", "Intestatario del conto postale", "text"),
    ("poste-authorization", "Autorizzazione Poste al bollettino", "text"),
    ("admin-email", "E-mail dell'amministratore", "email"),
    ("email", "E-mail dell'ente", "email"),
    ("address", "Indirizzo", "text"),
    ("civic-number", "Civico", "text"),
    ("postal-code", "CAP", "text"),
    ("city", "Località", "text"),
    ("province", "Provincia (sigla)", "text"),
    ("phone", "Telefono", "text"),
    ("website", "Sito web", "url"),
    ("notice-language", "Seconda lingua degli avvisi", "select"),
];

/// The languages a notice may carry beside Italian (`services::admin::orgs` accepts these).
const NOTICE_LANGUAGES: [(&str, &str); 3] =
    [("", "Nessuna: solo italiano"), ("de", "Tedesco (Deutsch)"), ("en", "Inglese (English)")];

/// The label of a registry field (the summary of errors links to it).
fn label_of(field: &str) -> &'static str {
    match field {
        "info-text" => return "Informazioni per i cittadini",
        "state" => return "Nuovo stato",
        _ => {}
    }
    FIELDS.iter().find(|(f, _, _)| *f == field).map_or("", |(_, l, _)| l)
}

/// What a refused registry field needs, in Italian (the service's rule for it).
fn why(field: &str) -> &'static str {
    match field {
        "name" => "Indica la denominazione dell'ente.",
        "iban-bank" | "iban-postal" => "L'IBAN non è valido: controlla i caratteri e le due cifre di controllo.",
        "postal-account" => "Il numero di conto corrente postale non è valido.",
        "postal-account-holder" | "poste-authorization" => "Scrivi al massimo 50 caratteri.",
        "admin-email" | "email" => "L'indirizzo e-mail non è valido (es. nome@esempio.it).",
        "address" => "Scrivi al massimo 70 caratteri.",
        "civic-number" | "postal-code" => "Scrivi al massimo 16 caratteri.",
        "city" | "phone" => "Scrivi al massimo 35 caratteri.",
        "province" => "Indica la sigla di due lettere (es. MI).",
        "website" => "Indica un indirizzo completo, es. https://www.comune.esempio.it.",
        "notice-language" => "Scegli una lingua dall'elenco.",
        "info-text" => "Scrivi al massimo 4.000 caratteri.",
        _ => "Il valore non è valido.",
    }
}

/// A refused registry form: the field's sentence under it, or one sentence for the rest.
fn problems_of(err: &ServiceError) -> Problems {
    if let ServiceError::Invalid { field, .. } = err {
        let known = FIELDS.iter().map(|(f, _, _)| *f).chain(["info-text"]).find(|f| f == field);
        if let Some(name) = known {
            return Problems::field(name, why(name));
        }
    }
    Problems::general(&user_message(err))
}

fn current(org: &OrgRecord, field: &str) -> String {
    let v = match field {
        "name" => Some(&org.name),
        "iban-bank" => org.iban_bank.as_ref(),
        "iban-postal" => org.iban_postal.as_ref(),
        "postal-account" => org.postal_account.as_ref(),
        "postal-account-holder" => org.postal_account_holder.as_ref(),
        "poste-authorization" => org.poste_authorization.as_ref(),
        "admin-email" => org.admin_email.as_ref(),
        "email" => org.email.as_ref(),
        "address" => org.address.as_ref(),
        "civic-number" => org.civic_number.as_ref(),
        "postal-code" => org.postal_code.as_ref(),
        "city" => org.city.as_ref(),
        "province" => org.province.as_ref(),
        "phone" => org.phone.as_ref(),
        "website" => org.website.as_ref(),
        "notice-language" => org.notice_language.as_ref(),
        "info-text" => org.info_text.as_ref(),
        _ => None,
    };
    v.cloned().unwrap_or_default()
}

fn changes_from(ctx: &BoCtx<'_>) -> OrgChanges {
    let f = |name: &str| Some(ctx.form.text(name).trim().to_owned());
    OrgChanges {
        name: f("name"),
        iban_bank: f("iban-bank"),
        iban_postal: f("iban-postal"),
        postal_account: f("postal-account"),
        postal_account_holder: f("postal-account-holder"),
        poste_authorization: f("poste-authorization"),
        admin_email: f("admin-email"),
        email: f("email"),
        address: f("address"),
        civic_number: f("civic-number"),
        postal_code: f("postal-code"),
        city: f("city"),
        province: f("province"),
        phone: f("phone"),
        website: f("website"),
        notice_language: f("notice-language"),
        info_text: f("info-text"),
        ..OrgChanges::default()
    }
}

/// The page, with `values` in the registry form (the stored ones, or what was typed when refused),
/// the problems of a refused change and a one-time secret to show.
fn render(
    ctx: &mut BoCtx<'_>,
    grant: &OperatorGrant,
    values: &dyn Fn(&str) -> String,
    problems: &Problems,
    secret: Option<(&str, &str)>,
) -> Result<Response, BoError> {
    let push = outcome_push::get_push_target(&ctx.state.db, &grant.org.ipa_code).unwrap_or_default();
    let notices = privacy_notices::versions(&ctx.state.db, grant.org.id).unwrap_or_else(|err| {
        tracing::error!(error = %err, "cannot read the privacy notices");
        Vec::new()
    });
    let sil_refused = super::adhesion::not_admitted(ctx, grant, Channel::Sil);
    let push_refused = super::adhesion::not_admitted(ctx, grant, Channel::OutcomePush);
    let csrf = ctx.csrf();
    let base = format!("/operatore/{}/impostazioni", grant.org.ipa_code);
    let logo_action = ctx.upload_action(&format!("{base}/logo"));
    let org = &grant.org;
    let state = org.state;
    let main = html! {
        h1 { "Impostazioni dell'ente" }
        p class="lead" { (org.name) " — " code { (org.ipa_code) } ", codice fiscale " (org.fiscal_code) }
        (summary("La modifica non è stata salvata.", problems, label_of))
        @if let Some((what, value)) = secret {
            div class="alert alert-warning" role="alert" {
                (what) ": " strong { code { (value) } } br;
                "Copiala ora: non sarà più mostrata."
            }
        }
        h2 class="h4" { "Anagrafica e accrediti" }
        form method="post" action=(base) class="row g-3 mb-5" {
            (csrf.clone())
            @for (name, label, kind) in FIELDS {
                div class="col-12 col-md-6" {
                    label for=(name) { (label) }
                    @if kind == "select" {
                        select class=(problems.class(name, "form-select")) id=(name) name=(name)
                            aria-describedby={ (name) "-errore" } aria-invalid=[problems.invalid(name)] {
                            @for (code, language) in NOTICE_LANGUAGES {
                                option value=(code) selected[values(name) == code] { (language) }
                            }
                        }
                    } @else {
                        input type=(kind) class=(problems.class(name, "form-control")) id=(name) name=(name) value=(values(name)) required[name == "name"]
                            aria-describedby={ (name) "-errore" } aria-invalid=[problems.invalid(name)];
                    }
                    (feedback(name, problems))
                }
            }
            div class="col-12" {
                label for="info-text" { (label_of("info-text")) }
                textarea class=(problems.class("info-text", "form-control")) id="info-text" name="info-text" rows="4" maxlength="4000"
                    aria-describedby="info-text-errore" aria-invalid=[problems.invalid("info-text")] { (values("info-text")) }
                (feedback("info-text", problems))
            }
            div class="col-12" { button type="submit" class="btn btn-primary" { "Salva" } }
        }
        h2 class="h4" { "Logo" }
        form method="post" action=(logo_action) enctype="multipart/form-data" class="row g-3 mb-5" {
            div class="col-12 col-md-8" {
                label for="logo" { "Immagine PNG o JPEG, al massimo " (orgs::LOGO_MAX_BYTES / 1024) " KB; viene ridotta a " (crate::services::admin::logo::LOGO_MAX_SIDE) " pixel di lato al massimo e salvata in PNG (stampata nell'avviso in un riquadro di 30 mm)" }
                input type="file" class="form-control" id="logo" name="logo" accept="image/png,image/jpeg" required;
            }
            div class="col-12" { button type="submit" class="btn btn-primary" { "Carica il logo" } }
        }
        h2 class="h4" { "Password del gestionale (SIL)" }
        @if let Some(notice) = &sil_refused { (notice) } @else {
            form method="post" action={ (base) "/sil" } class="mb-5" {
                (csrf.clone())
                p { @if org.has_sil_password { "La password è impostata." } @else { "Nessuna password impostata: il gestionale non può chiamare i servizi." } }
                button type="submit" class="btn btn-outline-danger" { "Genera una nuova password" }
            }
        }
        h2 class="h4" { "Inoltro degli esiti al gestionale" }
        @if let Some(notice) = &push_refused { (notice) } @else {
            form method="post" action={ (base) "/inoltro" } class="row g-3 mb-5" {
                (csrf.clone())
                div class="col-12 col-md-8" {
                    label for="push-url" { "Indirizzo (URL) a cui inviare gli esiti; vuoto: nessun inoltro" }
                    input type="url" class="form-control" id="push-url" name="push-url" value=(push.as_ref().map(|p| p.url.clone()).unwrap_or_default());
                }
                div class="col-12 col-md-8" {
                    label for="push-secret" { "Chiave HS512 in base64 (lasciare vuoto per non cambiarla)" }
                    input type="password" class="form-control" id="push-secret" name="push-secret" autocomplete="off";
                    @if push.as_ref().is_some_and(|p| p.signed) { small { "Una chiave è impostata." } }
                }
                div class="col-12" { button type="submit" class="btn btn-primary" { "Salva l'inoltro" } }
            }
        }
        h2 class="h4" { "Informativa privacy dell'ente" }
        p class="mb-5" {
            @if let Some(current) = notices.first() {
                "Versione in vigore: " strong { (current.version) } ", pubblicata il " (datetime_it(&current.created_at)) " da " (current.created_by) ". "
            } @else {
                "Nessuna informativa dell'ente: il portale mostra quella generica. "
            }
            "L'informativa si scrive e si pubblica dal modello completo nella scheda "
            a href={ "/operatore/" (org.ipa_code) "/privacy" } { "Privacy" } "."
        }
        h2 class="h4" { "Stato dell'ente" }
        p { "Stato attuale: " strong { (state.label_it()) } }
        @if grant.app_admin {
            form method="post" action={ (base) "/stato" } class="row g-3 mb-5" {
                (csrf)
                div class="col-12 col-md-6" {
                    label for="state" { "Nuovo stato" }
                    select class=(problems.class("state", "form-select")) id="state" name="state"
                        aria-describedby="state-errore" aria-invalid=[problems.invalid("state")] {
                        @for s in OrgState::ALL { option value=(s.code()) selected[s == state] { (s.label_it()) } }
                    }
                    (feedback("state", problems))
                }
                div class="col-12" { button type="submit" class="btn btn-primary" { "Cambia stato" } }
            }
        } @else {
            p { small { "Lo stato è cambiato dall'amministratore dell'applicazione." } }
        }
    };
    Ok(ctx.page_with(if problems.any() { 422 } else { 200 }, "Impostazioni dell'ente", main))
}

fn stored(grant: &OperatorGrant) -> impl Fn(&str) -> String + '_ {
    move |name| current(&grant.org, name)
}

/// `GET /operatore/{ipa}/impostazioni`.
pub fn show(ctx: &mut BoCtx<'_>, ipa: &str) -> Result<Response, BoError> {
    let grant = ctx.admin_grant(ipa)?;
    render(ctx, &grant, &stored(&grant), &Problems::default(), None)
}

fn actor(grant: &OperatorGrant) -> String {
    format!("operator:{}", grant.username)
}

/// The page again after a refused change: what was typed, and why in Italian.
fn refused(ctx: &mut BoCtx<'_>, grant: &OperatorGrant, typed: bool, err: &ServiceError) -> Result<Response, BoError> {
    if !err.is_user_error() {
        tracing::error!(error = %err, "cannot change org settings");
        return Err(BoError::Internal);
    }
    tracing::info!(error = %err, "org settings refused");
    if typed {
        let form = ctx.form.clone();
        render(ctx, grant, &|name: &str| form.text(name), &problems_of(err), None)
    } else {
        render(ctx, grant, &stored(grant), &Problems::general(&user_message(err)), None)
    }
}

/// `POST /operatore/{ipa}/impostazioni`: the registry form.
pub fn save(ctx: &mut BoCtx<'_>, ipa: &str) -> Result<Response, BoError> {
    let grant = ctx.admin_grant(ipa)?;
    let changes = changes_from(ctx);
    match orgs::set_org(&ctx.state.db, &actor(&grant), &grant.org.ipa_code, &changes, ctx.now) {
        Ok(_) => {
            ctx.session.flash("success", "Impostazioni salvate.");
            Ok(ctx.redirect(&format!("/operatore/{}/impostazioni", grant.org.ipa_code)))
        }
        Err(err) => refused(ctx, &grant, true, &err),
    }
}

/// `POST /operatore/{ipa}/impostazioni/logo` (multipart).
pub fn logo(ctx: &mut BoCtx<'_>, ipa: &str) -> Result<Response, BoError> {
    let grant = ctx.admin_grant(ipa)?;
    let Some(part) = ctx.parts.iter().find(|p| p.name == "logo" && p.file_name.is_some()) else {
        return refused(ctx, &grant, false, &ServiceError::invalid("logo", "no file"));
    };
    // The route's body limit keeps the part small.
    let Ok(data) = part.bytes() else {
        return refused(ctx, &grant, false, &ServiceError::invalid("logo", "unreadable file"));
    };
    match orgs::set_logo(&ctx.state.db, &actor(&grant), &grant.org.ipa_code, Some(&data), ctx.now) {
        Ok(()) => {
            ctx.session.flash("success", "Logo aggiornato.");
            Ok(ctx.redirect(&format!("/operatore/{}/impostazioni", grant.org.ipa_code)))
        }
        Err(err) => refused(ctx, &grant, false, &err),
    }
}

/// `POST /operatore/{ipa}/impostazioni/sil`: a new generated SIL password, shown once.
pub fn sil_password(ctx: &mut BoCtx<'_>, ipa: &str) -> Result<Response, BoError> {
    let grant = ctx.admin_grant(ipa)?;
    let set = passwords::random_password(15).and_then(|password| {
        orgs::set_sil_password(&ctx.state.db, &actor(&grant), &grant.org.ipa_code, &password, ctx.now)
            .map(|()| password)
    });
    match set {
        Ok(password) => match orgs::get_org(&ctx.state.db, &grant.org.ipa_code) {
            Ok(org) => {
                let grant = OperatorGrant { org, ..grant };
                render(
                    ctx,
                    &grant,
                    &stored(&grant),
                    &Problems::default(),
                    Some(("Nuova password del gestionale", &password)),
                )
            }
            Err(err) => refused(ctx, &grant, false, &err),
        },
        Err(err) => refused(ctx, &grant, false, &err),
    }
}

/// `POST /operatore/{ipa}/impostazioni/inoltro`: the outcome-push target.
pub fn push(ctx: &mut BoCtx<'_>, ipa: &str) -> Result<Response, BoError> {
    let grant = ctx.admin_grant(ipa)?;
    let secret = ctx.form.text("push-secret");
    let settings = PushSettings {
        url: Some(ctx.form.text("push-url").trim().to_owned()),
        secret: (!secret.trim().is_empty()).then_some(secret),
        // The JWT's identity stays as the CLI set it (`mypay org set --push-kid`).
        ..PushSettings::default()
    };
    match outcome_push::set_push_target(&ctx.state.db, &actor(&grant), &grant.org.ipa_code, &settings, ctx.now) {
        Ok(_) => {
            ctx.session.flash("success", "Inoltro degli esiti salvato.");
            Ok(ctx.redirect(&format!("/operatore/{}/impostazioni", grant.org.ipa_code)))
        }
        Err(err) => refused(ctx, &grant, false, &err),
    }
}

/// `POST /operatore/{ipa}/impostazioni/stato`: app admins only; one step at a time
/// (`domain::org::OrgState::change_to`).
pub fn state(ctx: &mut BoCtx<'_>, ipa: &str) -> Result<Response, BoError> {
    let grant = ctx.admin_grant(ipa)?;
    if !grant.app_admin {
        return Err(BoError::Forbidden("Lo stato dell'ente è cambiato dall'amministratore dell'applicazione."));
    }
    let changes = OrgChanges { state: Some(ctx.form.text("state")), ..OrgChanges::default() };
    match orgs::set_org(&ctx.state.db, &actor(&grant), &grant.org.ipa_code, &changes, ctx.now) {
        Ok(org) => {
            ctx.session.flash("success", format!("Stato dell'ente: {}.", org.state.code()));
            Ok(ctx.redirect(&format!("/operatore/{}/impostazioni", grant.org.ipa_code)))
        }
        Err(ServiceError::Invalid { field, .. }) if field == "state" => {
            let message = "Passaggio di stato non consentito: un ente passa da INSERITO a PRE-ESERCIZIO a ESERCIZIO, un passo alla volta.";
            render(ctx, &grant, &stored(&grant), &Problems::field("state", message), None)
        }
        Err(err) => refused(ctx, &grant, false, &err),
    }
}
