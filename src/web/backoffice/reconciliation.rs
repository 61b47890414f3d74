//! The reconciliation page of an org (issue 19): counts and amounts per label per month with the
//! open anomalies first (each label's caption and meaning), the org's flags, and the upload of the
//! municipality's reconciliation files (treasury, notifications) with their outcome. A label's
//! drill-down and one transfer with its documents and notes are `recon_item`'s.
//!
//! Every page needs the operator's grant on the org; the flags are an org admin's, and an
//! operator (not an admin) sees only their own uploads, as on the debt-flow page. Uploads go
//! through `services::reconciliation::uploads::submit` as `mypay reconcile import` does (CSRF token
//! in the form's query, checked with the login before the body is read); the server's job runner
//! loads them.

use maud::{Markup, html};

use super::{BoCtx, BoError, download_as, user_message};
use crate::domain::reconciliation::{Label, Source};
use crate::domain::{Cents, Day};
use crate::flows::recon::CashColumns;
use crate::services::ServiceError;
use crate::services::debts::imports::Limits;
use crate::services::reconciliation;
use crate::services::reconciliation::uploads::{self, Upload};
use crate::store::reconciliation::{LabelMonth, UploadRecord, UploadState};
use crate::web::Response;
use crate::web::ui::format::{count_it, datetime_it};

/// Uploads the overview lists.
const UPLOADS_SHOWN: u32 = 20;
/// The kinds an operator uploads, as the form offers them.
const KINDS: [(Source, &str); 6] = [
    (Source::BankMovements, "T – movimenti bancari (Excel)"),
    (Source::CashJournal, "C – giornale di cassa (CSV)"),
    (Source::Opi, "O – giornale di cassa OPI (XML)"),
    (Source::PosteStatement, "Y – estratto conto Poste (CSV)"),
    (Source::PosteReporting, "P – rendicontazione Poste (CSV)"),
    (Source::Notification, "D – notifiche di pagamento (CSV)"),
];
/// The giornale di cassa's fields, in the order of `CashColumns::positions`.
const CASH_FIELDS: [&str; 7] =
    ["Anno bolletta", "Numero bolletta", "Data contabile", "Ordinante", "Causale", "Importo", "Data valuta"];

/// What a label means, in one sentence an operator reads next to its caption.
pub(super) fn meaning_it(label: Label) -> &'static str {
    match label {
        Label::IudRtIufTes => "Notificato dall'ente, pagato, rendicontato dal PSP e accreditato in tesoreria.",
        Label::IudRtIuf => "Notificato dall'ente, pagato e rendicontato dal PSP con lo stesso importo.",
        Label::RtIufTes => "Pagato, rendicontato e accreditato in tesoreria con un riversamento cumulativo.",
        Label::RtIuf => "Pagato e rendicontato dal PSP con lo stesso importo.",
        Label::RtTes => "Pagato e accreditato in tesoreria da solo, senza flusso di rendicontazione.",
        Label::RtNoIuf => "Pagato, ma il PSP non l'ha rendicontato o l'ha rendicontato con un altro importo.",
        Label::RtNoIud => "Pagato, ma l'ente non l'ha notificato.",
        Label::IudNoRt => "Notificato dall'ente, ma non c'è una ricevuta con lo stesso importo.",
        Label::IuvNoRt => "Rendicontato dal PSP, ma non c'è la ricevuta del pagamento.",
        Label::IufNoTes => "Rendicontato dal PSP, ma il riversamento non è arrivato in tesoreria.",
        Label::IufTesDivImp => "Rendicontato e riversato, ma la tesoreria ha ricevuto un altro importo.",
        Label::TesNoIufOrIuv => "Accreditato in tesoreria, ma non rendicontato né pagato.",
        Label::TesNoMatch => "Accreditato in tesoreria senza alcun riferimento pagoPA riconoscibile.",
        Label::Doppi => "Lo stesso pagamento rendicontato due volte (pagato e pagato senza RPT).",
    }
}

/// An upload's state in words.
fn state_it(state: UploadState) -> &'static str {
    match state {
        UploadState::Received => "In attesa di caricamento",
        UploadState::Loading => "In caricamento",
        UploadState::Loaded => "Caricato",
        UploadState::Refused => "Rifiutato",
        UploadState::Duplicate => "Duplicato",
    }
}

pub(super) fn eur(cents: Option<i64>) -> String {
    cents.map(|c| Cents::new(c).format_eur()).unwrap_or_default()
}

pub(super) fn base_of(ipa: &str) -> String {
    format!("/operatore/{ipa}/riconciliazione")
}

/// A month `YYYY-MM` as its first and last day.
pub(super) fn month_days(month: &str) -> Option<(Day, Day)> {
    let first = Day::parse(&format!("{month}-01")).ok()?;
    Some((first, Day::from(first.date().last_of_month())))
}

/// The overview's month filter: `da` and `a` (`YYYY-MM`), each optional; a malformed one is
/// ignored and left out of the form.
/// A month as typed (`YYYY-MM`) and the day it stands for.
type MonthBound = Option<(String, Day)>;

fn month_filter(ctx: &BoCtx<'_>) -> (MonthBound, MonthBound) {
    let read = |name: &str, last: bool| {
        let text = ctx.form.get(name)?.trim().to_owned();
        let (first, end) = month_days(&text)?;
        Some((text, if last { end } else { first }))
    };
    (read("da", false), read("a", true))
}

/// `GET /operatore/{ipa}/riconciliazione`.
pub fn overview(ctx: &mut BoCtx<'_>, ipa: &str) -> Result<Response, BoError> {
    let grant = ctx.grant(ipa)?;
    let ipa = grant.org.ipa_code.clone();
    let (from, to) = month_filter(ctx);
    let db = &ctx.state.db;
    let found = (|| {
        Ok::<_, ServiceError>((
            reconciliation::label_months_visible(db, &grant, from.as_ref().map(|f| f.1), to.as_ref().map(|t| t.1))?,
            reconciliation::settings(db, &ipa)?,
            uploads::list_visible_uploads(db, &grant, UPLOADS_SHOWN)?,
        ))
    })();
    let (months, flags, uploaded) = match found {
        Ok(found) => found,
        Err(err) => {
            tracing::error!(error = %err, "cannot read the reconciliation of an org");
            return Err(BoError::Internal);
        }
    };
    let base = base_of(&ipa);
    let csrf = ctx.csrf();
    let limit_mb = ctx.state.config.import.max_upload_bytes / (1024 * 1024);
    let anomalies: Vec<&LabelMonth> = months.iter().filter(|m| m.label.is_anomaly()).collect();
    let matched: Vec<&LabelMonth> = months.iter().filter(|m| !m.label.is_anomaly()).collect();
    let yes_no = |b: bool| if b { "sì" } else { "no" };
    let main = html! {
        h1 { "Riconciliazione" }
        p class="lead" { (grant.org.name) }
        p {
            "Ogni trasferimento confrontato tra la notifica dell'ente, la ricevuta pagoPA, il flusso di rendicontazione del PSP e la tesoreria, con le etichette di MyPivot. "
            a href={ "/operatore/" (ipa) "/esportazioni#riconciliazione" } { "Esporta il flusso di riconciliazione" }
        }
        form method="get" action=(base) class="d-flex flex-wrap align-items-end gap-2 mb-4" {
            div {
                label for="da" { "Dal mese" }
                input type="month" class="form-control" id="da" name="da" value=(from.as_ref().map(|f| f.0.as_str()).unwrap_or_default());
            }
            div {
                label for="a" { "Al mese" }
                input type="month" class="form-control" id="a" name="a" value=(to.as_ref().map(|t| t.0.as_str()).unwrap_or_default());
            }
            button type="submit" class="btn btn-outline-primary" { "Filtra" }
        }
        h2 class="h4" { "Anomalie aperte" }
        @if anomalies.is_empty() {
            p { "Nessuna anomalia nel periodo." }
        } @else {
            (label_table("Anomalie aperte per etichetta e mese", &anomalies, &base))
        }
        h2 class="h4" { "Pagamenti riconciliati" }
        @if matched.is_empty() {
            p { "Nessun pagamento riconciliato nel periodo." }
        } @else {
            (label_table("Pagamenti riconciliati per etichetta e mese", &matched, &base))
        }
        h2 class="h4" id="impostazioni" { "Impostazioni della riconciliazione" }
        p {
            "Le etichette dipendono da ciò che l'ente invia: le notifiche di pagamento (pagati: " strong { (yes_no(flags.pagati)) }
            ") e i movimenti di tesoreria (tesoreria: " strong { (yes_no(flags.tesoreria)) } ")."
        }
        @if grant.admin {
            form method="post" action={ (base) "/impostazioni" } class="mb-4" {
                (csrf)
                div class="form-check" {
                    input class="form-check-input" type="checkbox" id="pagati" name="pagati" value="1" checked[flags.pagati];
                    label class="form-check-label" for="pagati" { "L'ente invia le notifiche di pagamento (pagati)" }
                }
                div class="form-check" {
                    input class="form-check-input" type="checkbox" id="tesoreria" name="tesoreria" value="1" checked[flags.tesoreria];
                    label class="form-check-label" for="tesoreria" { "L'ente carica i movimenti di tesoreria (tesoreria)" }
                }
                button type="submit" class="btn btn-outline-primary btn-sm mt-2" { "Salva le impostazioni" }
            }
        }
        h2 class="h4" id="caricamenti" { "Caricamento dei file" }
        form method="post" action=(ctx.upload_action(&format!("{base}/caricamenti"))) enctype="multipart/form-data" class="mb-4" {
            div class="mb-3" {
                label for="file" { "File (" code { (ipa) "-<id>-1_0.zip" } ", al massimo " (limit_mb) " MB)" }
                input type="file" class="form-control" id="file" name="file" accept=".zip,application/zip" required;
            }
            div class="mb-3" {
                label for="tipo" { "Tipo di file" }
                select class="form-select" id="tipo" name="tipo" {
                    option value="" { "Dal nome del file" }
                    @for (source, caption) in KINDS {
                        option value=(source.code()) { (caption) }
                    }
                }
            }
            fieldset class="mb-3" {
                legend class="h6" { "Solo giornale di cassa (C): colonna di ciascun campo (facoltativo; predefinito 1–7)" }
                div class="d-flex flex-wrap gap-2" {
                    @for (i, field) in CASH_FIELDS.iter().enumerate() {
                        div {
                            label for={ "colonna" (i + 1) } { (field) }
                            input type="number" class="form-control" id={ "colonna" (i + 1) } name={ "colonna" (i + 1) } min="1" max="100";
                        }
                    }
                }
            }
            button type="submit" class="btn btn-primary" { "Carica il file" }
        }
        h3 class="h5" { "Ultimi caricamenti" }
        @if uploaded.is_empty() {
            p { "Nessun file caricato." }
        } @else {
            div class="table-responsive" {
                table class="table tabella-compatta" {
                    caption class="visually-hidden" { "Ultimi file di riconciliazione caricati" }
                    thead { tr {
                        th scope="col" { "File" } th scope="col" { "Tipo" } th scope="col" { "Stato" }
                        th scope="col" { "Caricate" } th scope="col" { "Scartate" } th scope="col" { "Ignorate" }
                        th scope="col" { "Avvisi" } th scope="col" { "Caricato da" } th scope="col" { "Il" } th scope="col" { "Scarti" }
                    } }
                    tbody {
                        @for u in &uploaded { (upload_row(u, &base)) }
                    }
                }
            }
        }
    };
    Ok(ctx.page("Riconciliazione", main))
}

/// The rows of the labels in `months` (label, then month), each linking to its drill-down.
fn label_table(caption: &str, months: &[&LabelMonth], base: &str) -> Markup {
    let mut rows: Vec<&&LabelMonth> = months.iter().collect();
    rows.sort_by(|a, b| a.label.cmp(&b.label).then(a.month.cmp(&b.month)));
    html! {
        div class="table-responsive" {
            table class="table tabella-compatta" {
                caption class="visually-hidden" { (caption) }
                thead { tr {
                    th scope="col" { "Etichetta" } th scope="col" { "Mese" } th scope="col" { "Elementi" } th scope="col" { "Importo" }
                } }
                tbody {
                    @for (i, m) in rows.iter().enumerate() {
                        @let first = i == 0 || rows.get(i - 1).is_some_and(|p| p.label != m.label);
                        tr data-label=(m.label.code()) data-month=(m.month) {
                            td {
                                @if first {
                                    strong { (m.label.caption_it()) } " " code { (m.label.code()) }
                                    br; small { (meaning_it(m.label)) }
                                }
                            }
                            td { (m.month) }
                            td class="importo" {
                                a href={ (base) "/elenco?etichetta=" (m.label.code()) "&mese=" (m.month) }
                                  aria-label={ (m.label.caption_it()) ", " (m.month) ": " (count_it(m.count)) " elementi" } { (count_it(m.count)) }
                            }
                            td class="importo" { (m.amount.format_eur()) }
                        }
                    }
                }
            }
        }
    }
}

fn upload_row(u: &UploadRecord, base: &str) -> Markup {
    let n = |v: Option<i64>| v.map(count_it).unwrap_or_default();
    html! {
        tr {
            td { (u.file_name) }
            td { (u.kind) }
            td {
                (state_it(u.state))
                @if matches!(u.state, UploadState::Refused | UploadState::Duplicate) {
                    br; small class="text-danger" {
                        (u.error_it.clone().unwrap_or_else(|| "Il file non è stato caricato.".to_owned()))
                    }
                }
            }
            td class="importo" { (n(u.rows_accepted)) }
            td class="importo" { (n(u.rows_rejected)) }
            td class="importo" { (n(u.rows_ignored)) }
            td class="importo" { (n(u.warnings)) }
            td { (u.uploader.strip_prefix("operator:").unwrap_or(&u.uploader)) }
            td { (datetime_it(&u.submitted_at)) }
            td {
                @if u.rejects_file.is_some() {
                    a href={ (base) "/caricamenti/" (u.id) "/scarti" } { "Righe scartate" }
                }
            }
        }
    }
}

/// `POST /operatore/{ipa}/riconciliazione/impostazioni`: the org's flags (org admins).
pub fn save_settings(ctx: &mut BoCtx<'_>, ipa: &str) -> Result<Response, BoError> {
    let grant = ctx.admin_grant(ipa)?;
    let pagati = ctx.form.get("pagati") == Some("1");
    let tesoreria = ctx.form.get("tesoreria") == Some("1");
    let actor = format!("operator:{}", grant.username);
    match reconciliation::set_settings(
        &ctx.state.db,
        &grant.org.ipa_code,
        Some(pagati),
        Some(tesoreria),
        &actor,
        ctx.now,
    ) {
        Ok(_) => ctx
            .session
            .flash("success", "Impostazioni della riconciliazione salvate: le etichette sono state ricalcolate."),
        Err(err) if err.is_user_error() => ctx.session.flash("danger", user_message(&err)),
        Err(err) => {
            tracing::error!(error = %err, "cannot save the reconciliation flags");
            return Err(BoError::Internal);
        }
    }
    Ok(ctx.redirect(&format!("{}#impostazioni", base_of(&grant.org.ipa_code))))
}

/// The kind and C columns of the upload form.
fn upload_options(ctx: &BoCtx<'_>) -> Result<(Option<Source>, Option<CashColumns>), String> {
    let text = |name: &str| {
        ctx.parts
            .iter()
            .find(|p| p.name == name && p.file_name.is_none())
            .and_then(|p| p.bytes().ok())
            .map(|b| String::from_utf8_lossy(&b).trim().to_owned())
            .unwrap_or_default()
    };
    let kind = text("tipo");
    let mut chars = kind.chars();
    let kind = match (chars.next(), chars.next()) {
        (None, _) => None,
        (Some(c), None) => Some(
            Source::from_code(c).filter(|s| s.uploaded()).ok_or_else(|| "il tipo di file non è valido.".to_owned())?,
        ),
        _ => return Err("il tipo di file non è valido.".to_owned()),
    };
    let columns: Vec<String> = (1..=7).map(|i| text(&format!("colonna{i}"))).collect();
    let columns = if columns.iter().all(String::is_empty) {
        None
    } else {
        let joined = columns.join(",");
        let parsed = uploads::parse_columns(Some(&joined)).ok_or_else(|| {
            "indicare la colonna (da 1 a 100) di tutti e sette i campi del giornale di cassa.".to_owned()
        })?;
        Some(parsed)
    };
    Ok((kind, columns))
}

/// `POST /operatore/{ipa}/riconciliazione/caricamenti` (multipart): stores the file and queues its load.
pub fn upload(ctx: &mut BoCtx<'_>, ipa: &str) -> Result<Response, BoError> {
    let grant = ctx.grant(ipa)?;
    let back = format!("{}#caricamenti", base_of(&grant.org.ipa_code));
    let Some(part) = ctx.parts.iter().find(|p| p.name == "file" && p.file_name.is_some()) else {
        return Err(BoError::BadRequest("Scegli il file da caricare.".to_owned()));
    };
    let (kind, columns) = match upload_options(ctx) {
        Ok(options) => options,
        Err(why) => {
            ctx.session.flash("danger", format!("File non accettato: {why}"));
            return Ok(ctx.redirect(&back));
        }
    };
    // Only the last path component: browsers of some systems send a full path.
    let file_name = part.file_name.clone().unwrap_or_default();
    let file_name = file_name.rsplit(['/', '\\']).next().unwrap_or_default().to_owned();
    let actor = format!("operator:{}", grant.username);
    let upload = Upload { org_ipa: &grant.org.ipa_code, file_name: &file_name, kind, columns, actor: &actor };
    let mut data = part.reader();
    let max = Limits::from_config(&ctx.state.config).max_upload_bytes;
    match uploads::submit(&ctx.state.db, &ctx.state.config.data_dir, max, &upload, &mut data, ctx.now) {
        Ok(submitted) => ctx.session.flash(
            "success",
            format!("File {file_name} ricevuto: il caricamento è in corso (n. {}).", submitted.upload.id),
        ),
        Err(err) if err.is_user_error() => {
            tracing::info!(error = %err, "reconciliation upload refused");
            ctx.session.flash("danger", upload_refusal(&err, &file_name, max));
        }
        Err(err) => {
            tracing::error!(error = %err, "cannot store a reconciliation upload");
            return Err(BoError::Internal);
        }
    }
    Ok(ctx.redirect(&back))
}

/// Why `submit` refused a file, in Italian (the English detail goes to the log).
fn upload_refusal(err: &ServiceError, file_name: &str, max_bytes: u64) -> String {
    let why = match err {
        ServiceError::Invalid { field, reason } if field == "file" && reason.contains("larger than") => {
            let max = count_it(i64::try_from(max_bytes).unwrap_or(i64::MAX));
            format!("il file supera la dimensione massima consentita ({max} byte).")
        }
        ServiceError::Invalid { field, reason } if field == "file" && reason.contains("ZIP") => {
            "il formato del file deve essere lo zip.".to_owned()
        }
        ServiceError::Invalid { field, .. } if field == "file" => "il nome del file non è valido.".to_owned(),
        ServiceError::Invalid { field, .. } if field == "kind" => {
            format!("dal nome {file_name} non si capisce il tipo di file: sceglilo nell'elenco.")
        }
        ServiceError::Invalid { field, .. } if field == "columns" => {
            "le colonne si indicano solo per il giornale di cassa (C).".to_owned()
        }
        _ => "il file non può essere ricevuto ora: riprova più tardi.".to_owned(),
    };
    format!("File non accettato: {why}")
}

/// `GET /operatore/{ipa}/riconciliazione/caricamenti/{upload}/scarti`: the rows a load refused.
pub fn rejects(ctx: &mut BoCtx<'_>, ipa: &str, id: &str) -> Result<Response, BoError> {
    let grant = ctx.grant(ipa)?;
    let id = id.parse::<i64>().map_err(|_| BoError::NotFound)?;
    uploads::get_visible_upload(&ctx.state.db, &grant, id).map_err(|_| BoError::NotFound)?;
    let data_dir = &ctx.state.config.data_dir;
    let file = uploads::rejects_download(&ctx.state.db, data_dir, &grant.org.ipa_code, id)
        .map_err(|_| BoError::NotFound)?
        .ok_or(BoError::NotFound)?;
    Ok(download_as(&file.path, "application/zip", &file.file_name))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn every_label_says_what_it_means() {
        let meanings: std::collections::HashSet<_> = Label::ALL.iter().map(|l| meaning_it(*l)).collect();
        assert_eq!(meanings.len(), Label::ALL.len());
        assert!(meanings.iter().all(|m| m.ends_with('.') && m.len() < 100));
    }

    #[test]
    fn months_are_their_first_and_last_day() {
        let (first, last) = month_days("2024-02").unwrap();
        assert_eq!((first.to_string(), last.to_string()), ("2024-02-01".to_owned(), "2024-02-29".to_owned()));
        assert!(month_days("2024-13").is_none());
        assert!(month_days("2024-1").is_none());
    }

    #[test]
    fn upload_refusals_are_italian() {
        let big = ServiceError::invalid("file", "larger than import.max_upload_bytes (1024 bytes)");
        assert_eq!(
            upload_refusal(&big, "x.zip", 1_048_576),
            "File non accettato: il file supera la dimensione massima consentita (1.048.576 byte)."
        );
        let kind = ServiceError::invalid("kind", "cannot tell the kind");
        assert_eq!(
            upload_refusal(&kind, "c_x-ABC-1_0.zip", 1),
            "File non accettato: dal nome c_x-ABC-1_0.zip non si capisce il tipo di file: sceglilo nell'elenco."
        );
        let zip =
            ServiceError::invalid("file", "x.csv: the file must be a ZIP (Il formato del file deve essere lo zip.)");
        assert_eq!(upload_refusal(&zip, "x.csv", 1), "File non accettato: il formato del file deve essere lo zip.");
    }
}
