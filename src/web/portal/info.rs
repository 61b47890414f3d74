//! Org pages (active spontaneous debt types with their deep links), the org's privacy notice (its
//! own current version when it wrote one, beside the generic template), the cookie and
//! accessibility pages, and the demo's mail outbox.

use maud::html;

use super::super::Response;
use super::super::ui::format::{date_it, datetime_it};
use super::{Ctx, PageError};
use crate::services::portal::catalog::{self, OrgOffer};
use crate::services::portal::privacy_notices::{self, PRIVACY_VERSION};
use crate::store::privacy_notices::PrivacyNoticeRecord;

/// An org in production with this IPA code, and its active spontaneous debt types.
fn org_offer(ctx: &Ctx<'_>, ipa: &str) -> Option<OrgOffer> {
    catalog::org_offer(&ctx.state.db, ipa).unwrap_or_else(|err| {
        tracing::error!(error = %err, "cannot read org");
        None
    })
}

/// The org's current privacy notice, if it wrote one.
fn own_notice(ctx: &Ctx<'_>, org_id: i64) -> Option<PrivacyNoticeRecord> {
    privacy_notices::current(&ctx.state.db, org_id).unwrap_or_else(|err| {
        tracing::error!(error = %err, "cannot read the privacy notice");
        None
    })
}

/// The org's own notice, a paragraph per blank-line-separated block.
fn own_notice_html(notice: &PrivacyNoticeRecord) -> maud::Markup {
    html! {
        section class="privacy-notice mb-4" {
            h2 class="h4" { "Informativa privacy dell'ente" }
            p class="text-muted" { "Versione " (notice.version) " del " (date_it(&notice.created_at)) }
            @for block in notice.body.split("\n\n").filter(|b| !b.trim().is_empty()) { p { (block.trim()) } }
        }
    }
}

/// `GET /enti/{ipa}`.
pub fn org(ctx: &mut Ctx<'_>, ipa: &str) -> Result<Response, PageError> {
    let Some(OrgOffer { org, spontaneous_types: types }) = org_offer(ctx, ipa) else {
        return Err(PageError::NotFound);
    };
    let base = ctx.public_url();
    let spontaneous = org.functionalities.iter().any(|f| f == "PAGAMENTO_SPONTANEO");
    let notice = own_notice(ctx, org.id);
    let body = html! {
        nav aria-label="Percorso" class="breadcrumb-container" {
            ol class="breadcrumb" { li class="breadcrumb-item" { a href="/" { "Enti" } } li class="breadcrumb-item active" aria-current="page" { (org.name) } }
        }
        h1 { (org.name) }
        @if let Some(info) = &org.info_text { p class="lead" { (info) } }
        @if let Some(notice) = &notice { (own_notice_html(notice)) }
        div class="row" {
            div class="col-12 col-lg-8" {
                h2 class="h4" { "Pagamenti spontanei" }
                @if !spontaneous || types.is_empty() {
                    p { "Questo ente non offre pagamenti spontanei online." }
                } @else {
                    ul class="list-group mb-4" {
                        @for t in &types {
                            @let link = super::pay::deep_link(&org.ipa_code, &t.code);
                            li class="list-group-item" {
                                a href=(link) class="fw-semibold" { (t.description) }
                                @if let Some(cents) = t.fixed_amount_cents { " — " (cents.format_eur()) }
                                @if let Some(sector) = &t.sector { br; small class="text-muted" { (sector) } }
                                // For the municipality's webmaster, not the citizen: folded away.
                                details class="collegamento-ente" {
                                    summary { small { "Collegamento diretto per il sito dell'ente" } }
                                    code { (base) (link) }
                                }
                            }
                        }
                    }
                }
                h2 class="h4" { "Hai ricevuto un avviso di pagamento?" }
                p { a href="/avviso" { "Paga un avviso pagoPA" } " con il codice avviso a 18 cifre." }
            }
            div class="col-12 col-lg-4" {
                div class="card card-bg" { div class="card-body" {
                    h2 class="h5" { "Contatti" }
                    p { "Codice fiscale " (org.fiscal_code) }
                    @if let Some(addr) = &org.address { p { (addr) " " (org.civic_number.clone().unwrap_or_default()) br; (org.postal_code.clone().unwrap_or_default()) " " (org.city.clone().unwrap_or_default()) } }
                    @if let Some(email) = &org.email { p { "E-mail: " (email) } }
                    p { a href={ "/enti/" (org.ipa_code) "/privacy" } { "Informativa sul trattamento dei dati personali" } }
                } }
            }
        }
    };
    Ok(ctx.page(&org.name, body))
}

/// `GET /enti/{ipa}/privacy`: the privacy notice, a template filled with the org's data.
pub fn privacy(ctx: &mut Ctx<'_>, ipa: &str) -> Result<Response, PageError> {
    let Some(OrgOffer { org, .. }) = org_offer(ctx, ipa) else {
        return Err(PageError::NotFound);
    };
    let contact = org.email.clone().unwrap_or_else(|| "l'indirizzo indicato sul sito istituzionale".to_owned());
    let notice = own_notice(ctx, org.id);
    let body = html! {
        h1 { "Informativa sul trattamento dei dati personali" }
        @if let Some(notice) = &notice { (own_notice_html(notice)) }
        p class="text-muted" { "Versione " (PRIVACY_VERSION) " — ai sensi degli articoli 13 e 14 del Regolamento (UE) 2016/679 (GDPR)" }
        h2 class="h4" { "Titolare del trattamento" }
        p { (org.name) ", codice fiscale " (org.fiscal_code)
            @if let Some(addr) = &org.address { ", " (addr) " " (org.civic_number.clone().unwrap_or_default()) ", " (org.city.clone().unwrap_or_default()) }
            ". Contatto: " (contact) "." }
        h2 class="h4" { "Finalità e base giuridica" }
        p { "I dati sono trattati per riscuotere i pagamenti dovuti all'ente tramite la piattaforma pagoPA e per rilasciare la ricevuta, in esecuzione di compiti di interesse pubblico (art. 6, par. 1, lett. e, GDPR) e di obblighi di legge (art. 5 del D.Lgs. 82/2005)." }
        h2 class="h4" { "Dati trattati" }
        p { "Dati anagrafici e codice fiscale del debitore, indirizzo e-mail per la verifica e l'invio della ricevuta, dati del pagamento (importo, causale, esito, prestatore di servizi di pagamento)." }
        h2 class="h4" { "Destinatari" }
        p { "PagoPA S.p.A. e i prestatori di servizi di pagamento scelti dal pagatore, il tesoriere dell'ente, l'intermediario tecnologico che gestisce questo portale in qualità di responsabile del trattamento." }
        h2 class="h4" { "Conservazione" }
        p { "I dati dei pagamenti sono conservati per il tempo previsto dalle norme contabili e fiscali (di norma dieci anni)." }
        h2 class="h4" { "Diritti" }
        p { "Puoi chiedere l'accesso, la rettifica, la limitazione o opporti al trattamento scrivendo al titolare, e proporre reclamo al Garante per la protezione dei dati personali." }
    };
    Ok(ctx.page("Informativa privacy", body))
}

/// `GET /privacy/cookie`.
pub fn cookies(ctx: &mut Ctx<'_>) -> Result<Response, PageError> {
    let body = html! {
        h1 { "Informativa sui cookie" }
        p { "Questo portale usa un solo cookie tecnico, " code { "mypay_sid" } ", necessario a mantenere la sessione (il carrello, la verifica dell'indirizzo e-mail, l'accesso all'area personale) e a proteggere i moduli da invii fraudolenti." }
        p { "Il cookie scade alla chiusura del browser e dopo un'ora di inattività. Non usiamo cookie di profilazione né di terze parti e non raccogliamo statistiche: per questo non ti chiediamo il consenso." }
    };
    Ok(ctx.page("Cookie", body))
}

/// `GET /accessibilita`.
pub fn accessibility(ctx: &mut Ctx<'_>) -> Result<Response, PageError> {
    let body = html! {
        h1 { "Dichiarazione di accessibilità" }
        p { "Gli enti che usano questo portale si impegnano a renderlo accessibile in conformità alla Legge 4/2004 e alle Linee guida AgID sull'accessibilità degli strumenti informatici (WCAG 2.1 livello AA)." }
        p { "Le pagine sono costruite con Bootstrap Italia, funzionano senza JavaScript (tranne l'aggiornamento automatico dell'esito, che ha un'alternativa manuale) e sono verificate con controlli automatici di accessibilità." }
        p { "Per segnalare un problema di accessibilità scrivi all'ente a cui devi il pagamento; se la risposta non è soddisfacente puoi rivolgerti al Difensore civico per il digitale presso AgID." }
    };
    Ok(ctx.page("Accessibilità", body))
}

/// `GET /dev/outbox`: the mails queued, only in the demo.
pub fn outbox(ctx: &mut Ctx<'_>) -> Result<Response, PageError> {
    if !ctx.state.demo {
        return Err(PageError::NotFound);
    }
    let mails = match crate::services::portal::mail::recent(&ctx.state.db, 50) {
        Ok(list) => list,
        Err(err) => {
            tracing::error!(error = %err, "cannot read the outbox");
            return Err(PageError::Internal);
        }
    };
    let body = html! {
        h1 { "Posta in uscita (dimostrazione)" }
        p { "Nella dimostrazione le e-mail non vengono spedite: eccole come le riceverebbe il destinatario." }
        @for m in &mails {
            article class="card card-bg mb-3 mail" {
                div class="card-body" {
                    h2 class="h5" { (m.subject) }
                    p class="text-muted" { "A: " span class="mail-to" { (m.recipient) } " — " (datetime_it(&m.created_at)) " — " (m.state.code()) }
                    pre class="mail-body" { (m.body) }
                }
            }
        }
        @if mails.is_empty() { p { "Nessuna e-mail." } }
    };
    Ok(ctx.page("Posta in uscita", body))
}
