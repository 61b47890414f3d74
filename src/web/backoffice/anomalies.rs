//! The anomalies of an org (`/operatore/{ipa}/anomalie`), for its administrators: what is open,
//! what was resolved and by whom, and the form that resolves one with a note. A held receipt shows
//! how it differs from what the station asked for, in Italian.

use maud::{Markup, html};

use super::{BoCtx, BoError, user_message};
use crate::domain::payment_terms::Discrepancy;
use crate::domain::receipt_shape::{ShapeIssue, ShapeProblem};
use crate::services::payments::anomalies::{self, AnomalyView, Resolution};
use crate::store::anomalies::AnomalyState;
use crate::web::Response;
use crate::web::ui::format::datetime_it;

/// `GET /operatore/{ipa}/anomalie` (`?risolte=1` for the resolved ones).
pub fn list(ctx: &mut BoCtx<'_>, ipa: &str) -> Result<Response, BoError> {
    let grant = ctx.admin_grant(ipa)?;
    let open = ctx.form.get("risolte").is_none_or(|v| v != "1");
    let found = match anomalies::list(&ctx.state.db, &grant, open) {
        Ok(found) => found,
        Err(err) => {
            tracing::error!(error = %err, "cannot list anomalies");
            return Err(BoError::Internal);
        }
    };
    let base = format!("/operatore/{}", grant.org.ipa_code);
    let csrf = ctx.csrf();
    let main = html! {
        h1 { "Anomalie" }
        p class="lead" { (grant.org.name) }
        p {
            "Ricevute che non corrispondono a quanto richiesto, doppi pagamenti e pagamenti di dovuti sconosciuti, annullati o scaduti. "
            "Una ricevuta difforme è conservata ma non chiude il dovuto finché non viene accettata."
        }
        ul class="nav nav-pills mb-3" {
            li class="nav-item" { a class={ "nav-link" @if open { " active" } } href={ (base) "/anomalie" } { "Aperte" } }
            li class="nav-item" { a class={ "nav-link" @if !open { " active" } } href={ (base) "/anomalie?risolte=1" } { "Risolte" } }
        }
        @if found.is_empty() {
            div class="alert alert-info" role="alert" {
                @if open { "Nessuna anomalia aperta." } @else { "Nessuna anomalia risolta." }
            }
        }
        @for a in &found {
            (card(&base, a, &csrf))
        }
    };
    Ok(ctx.page("Anomalie", main))
}

/// `POST /operatore/{ipa}/anomalie/{id}`: `esito` = `accetta` | `archivia`, with a `nota`.
pub fn resolve(ctx: &mut BoCtx<'_>, ipa: &str, id: &str) -> Result<Response, BoError> {
    let grant = ctx.admin_grant(ipa)?;
    let Ok(id) = id.parse::<i64>() else {
        return Err(BoError::NotFound);
    };
    match anomalies::exists(&ctx.state.db, &grant, id) {
        Ok(true) => {}
        Ok(false) => return Err(BoError::NotFound),
        Err(err) => {
            tracing::error!(error = %err, "cannot read an anomaly");
            return Err(BoError::Internal);
        }
    }
    let resolution = match ctx.form.text("esito").as_str() {
        "accetta" => Resolution::Accept,
        "archivia" => Resolution::Dismiss,
        _ => return Err(BoError::BadRequest("Scegli se accettare la ricevuta o archiviare l'anomalia.".to_owned())),
    };
    let note = ctx.form.text("nota");
    let target = format!("/operatore/{}/anomalie", grant.org.ipa_code);
    match anomalies::resolve(&ctx.state.db, &grant, id, resolution, &note, ctx.now) {
        Ok(()) => {
            let message = match resolution {
                Resolution::Accept => "Ricevuta accettata: ora chiude il dovuto.",
                Resolution::Dismiss => "Anomalia archiviata.",
            };
            ctx.session.flash("success", message.to_owned());
        }
        Err(crate::services::ServiceError::Invalid { .. }) => {
            ctx.session
                .flash("danger", "Scrivi una nota che spieghi la decisione (al più 1.000 caratteri).".to_owned());
        }
        Err(err) if err.is_user_error() => ctx.session.flash("danger", user_message(&err)),
        Err(err) => {
            tracing::error!(error = %err, "cannot resolve an anomaly");
            return Err(BoError::Internal);
        }
    }
    Ok(ctx.redirect(&target))
}

fn card(base: &str, a: &AnomalyView, csrf: &Markup) -> Markup {
    let r = &a.record;
    html! {
        section class="card border p-3 mb-3" aria-labelledby={ "anomalia-" (r.id) } {
            h2 class="h5" id={ "anomalia-" (r.id) } { (kind_label(&r.kind)) " " span class="badge bg-secondary" { (r.kind) } }
            dl class="row mb-2" {
                dt class="col-sm-3" { "Rilevata il" } dd class="col-sm-9" { (datetime_it(&r.found_at)) }
                // A missing receipt has no receipt to show: its facts are in the details.
                @for (label, value) in missing_receipt_facts(&r.details) {
                    dt class="col-sm-3" { (label) } dd class="col-sm-9" { code { (value) } }
                }
                @if let Some(receipt) = &a.receipt {
                    dt class="col-sm-3" { "Ricevuta" } dd class="col-sm-9" { code { (receipt.receipt_id) } }
                    dt class="col-sm-3" { "IUV" } dd class="col-sm-9" { code { (receipt.iuv) } }
                    dt class="col-sm-3" { "Importo pagato" } dd class="col-sm-9" { (receipt.amount_cents.format_eur()) }
                    dt class="col-sm-3" { "PSP" } dd class="col-sm-9" { (receipt.psp_company_name) " (" (receipt.psp_id) ")" }
                    @if let (Some(debt_id), Some(iud)) = (receipt.debt_id, &a.debt_iud) {
                        dt class="col-sm-3" { "Dovuto" } dd class="col-sm-9" { a href={ (base) "/dovuti/" (debt_id) } { (iud) } }
                    }
                    dt class="col-sm-3" { "Stato della ricevuta" }
                    dd class="col-sm-9" { @if receipt.held { "sospesa: non chiude il dovuto" } @else { "valida" } }
                }
            }
            @if !a.discrepancies.is_empty() {
                p class="mb-1" { "Differenze rispetto a quanto richiesto:" }
                ul { @for d in &a.discrepancies { li { (discrepancy_it(d)) } } }
            }
            @if !a.shape.is_empty() {
                p class="mb-1" { "Scostamenti dallo schema del Nodo (la ricevuta è conservata così come è arrivata):" }
                ul { @for issue in &a.shape { li { (shape_it(issue)) } } }
            }
            @if r.state == AnomalyState::Open {
                form method="post" action={ (base) "/anomalie/" (r.id) } class="row g-2 align-items-end" {
                    (csrf)
                    div class="col-12 col-md-8" {
                        label for={ "nota-" (r.id) } { "Nota (obbligatoria: perché, chi ha verificato)" }
                        input type="text" class="form-control" id={ "nota-" (r.id) } name="nota" maxlength="1000" required;
                    }
                    div class="col-12 col-md-4 d-flex gap-2" {
                        @if a.can_accept() {
                            button type="submit" name="esito" value="accetta" class="btn btn-primary btn-sm" { "Accetta la ricevuta" }
                        }
                        button type="submit" name="esito" value="archivia" class="btn btn-outline-primary btn-sm" { "Archivia" }
                    }
                }
            } @else {
                p class="mb-0" {
                    (resolution_label(r.resolution.as_deref())) " da " (r.resolved_by.clone().unwrap_or_default())
                    " il " (datetime_it(r.resolved_at.as_deref().unwrap_or_default())) ": " (r.resolution_note.clone().unwrap_or_default())
                }
            }
        }
    }
}

/// The flow, IUV, IUR and IUD an anomaly about a missing receipt names in its details, labelled.
fn missing_receipt_facts(details: &str) -> Vec<(&'static str, String)> {
    let Ok(value) = serde_json::from_str::<serde_json::Value>(details) else { return Vec::new() };
    [("iuf", "Flusso di rendicontazione"), ("iud", "IUD"), ("iuv", "IUV"), ("iur", "Identificativo riscossione (IUR)")]
        .into_iter()
        .filter_map(|(key, label)| value.get(key).and_then(serde_json::Value::as_str).map(|v| (label, v.to_owned())))
        .collect()
}

fn kind_label(kind: &str) -> &'static str {
    match kind {
        "RICEVUTA_DIFFORME" => "Ricevuta difforme da quanto richiesto",
        "RICEVUTA_NON_CONFORME" => "Ricevuta non conforme allo schema",
        "DOPPIO_PAGAMENTO" => "Doppio pagamento",
        "DOVUTO_SCONOSCIUTO" => "Ricevuta di un dovuto sconosciuto",
        "DOVUTO_ANNULLATO" => "Ricevuta di un dovuto annullato",
        "DOVUTO_SCADUTO" => "Ricevuta di un dovuto scaduto",
        "RICEVUTA_NON_RECUPERATA" => "Pagamento rendicontato senza ricevuta, assente anche presso pagoPA",
        "PAGAMENTO_SENZA_RICEVUTA" => "Pagamento avviato da oltre 48 ore senza ricevuta",
        _ => "Anomalia",
    }
}

fn resolution_label(resolution: Option<&str>) -> &'static str {
    match resolution {
        Some("accepted") => "Ricevuta accettata",
        _ => "Archiviata",
    }
}

/// A deviation from the schema as an operator reads it; the field keeps the contract's name.
pub fn shape_it(issue: &ShapeIssue) -> String {
    let field = &issue.field;
    match &issue.problem {
        ShapeProblem::Missing => format!("{field}: campo mancante"),
        ShapeProblem::Invalid(value) => format!("{field}: valore non valido «{value}»"),
        ShapeProblem::TooLong { max } => format!("{field}: più lungo di {max} caratteri, conservato troncato"),
        ShapeProblem::Ignored => format!("{field}: in eccesso, non registrato (resta nel messaggio ricevuto)"),
        ShapeProblem::SumDiffers => format!("{field}: diverso dalla somma dei versamenti"),
    }
}

/// A discrepancy as an operator reads it.
pub fn discrepancy_it(d: &Discrepancy) -> String {
    match d {
        Discrepancy::Creditor { expected, received } => {
            format!("ente creditore {received} invece di {expected}")
        }
        Discrepancy::Amount { expected, received } => {
            format!("importo {} invece di {}", received.format_eur(), expected.format_eur())
        }
        Discrepancy::TransferCount { expected, received } => {
            format!("{received} versamenti invece di {expected}")
        }
        Discrepancy::TransferMissing { index } => format!("manca il versamento {index}"),
        Discrepancy::TransferAmount { index, expected, received } => {
            format!("versamento {index}: importo {} invece di {}", received.format_eur(), expected.format_eur())
        }
        Discrepancy::TransferBeneficiary { index, expected, received } => {
            format!("versamento {index}: beneficiario {received} invece di {expected}")
        }
        Discrepancy::TransferIban { index, expected, received } => format!(
            "versamento {index}: accreditato su {} invece di {expected}",
            received.as_deref().unwrap_or("nessun IBAN")
        ),
    }
}
