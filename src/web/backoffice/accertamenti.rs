//! Accertamenti (MyPivot's budget assessments) in the back office: the org's registry of offices,
//! chapters and assessments with its bulk import (an upload whose CSRF token rides in the form's
//! action, checked before the file is read; MyPivot's "Errore di conversione alla linea N: …" shown
//! as it is), the list of accertamenti with their state and totals, a new one, and one
//! accertamento's page: its payments, the payments it may still take (filtered, by pages) with the
//! registry entry to book them to, its state changes and, once closed, a printable view.
//!
//! Rules are `services::reconciliation::accertamenti`'s; this module checks state first only to
//! say, in Italian, why a request cannot be met (the service checks again in its transaction).

use maud::{Markup, html};

use super::{BoCtx, BoError, user_message};
use crate::domain::Cents;
use crate::domain::reconciliation::accertamento::{AccertamentoState, NO_ACCERTAMENTO};
use crate::flows::accertamenti_registry::RegistryFileError;
use crate::services::ServiceError;
use crate::services::admin::access::OrgAccess;
use crate::services::admin::debt_types;
use crate::services::reconciliation::accertamenti::payments::{
    self, FilterInput, MAX_PAGE, REGISTRY_UPLOAD_MAX_BYTES, UploadError,
};
use crate::services::reconciliation::accertamenti::{self as service, RegistryImportError};
use crate::store::accertamenti::{AccertamentoRecord, BookingTarget, DetailRecord, RegistryRecord, TransferKey};
use crate::web::Response;
use crate::web::ui::format::{count_it, datetime_it};

/// The sum of `amounts` (a page's totals: far below overflow, which saturates).
fn sum_of(amounts: impl IntoIterator<Item = Cents>) -> Cents {
    Cents::new(amounts.into_iter().fold(0i64, |sum, a| sum.saturating_add(a.get())))
}

/// The state as the page names it.
fn state_it(state: AccertamentoState) -> &'static str {
    match state {
        AccertamentoState::Inserito => "Inserito",
        AccertamentoState::Chiuso => "Chiuso",
        AccertamentoState::Annullato => "Annullato",
    }
}

fn base_of(grant: &OrgAccess) -> String {
    format!("/operatore/{}/accertamenti", grant.org.ipa_code)
}

fn internal(what: &str, err: &ServiceError) -> BoError {
    tracing::error!(error = %err, "{what}");
    BoError::Internal
}

/// `GET /operatore/{ipa}/accertamenti`.
pub fn list(ctx: &mut BoCtx<'_>, ipa: &str) -> Result<Response, BoError> {
    let grant = ctx.grant(ipa)?;
    let db = &ctx.state.db;
    let headers = service::list(db, &grant).map_err(|e| internal("cannot list accertamenti", &e))?;
    let totals = payments::totals(db, &grant).map_err(|e| internal("cannot total accertamenti", &e))?;
    let registry = service::registry(db, &grant).map_err(|e| internal("cannot read the registry", &e))?;
    let types = debt_types::list_debt_types(db, &grant.org.ipa_code)
        .map_err(|e| internal("cannot list debt types", &e))?
        .into_iter()
        .filter(|t| grant.sees_type(t.id))
        .collect::<Vec<_>>();
    let base = base_of(&grant);
    let csrf = ctx.csrf();
    let limit_mb = REGISTRY_UPLOAD_MAX_BYTES / (1024 * 1024);
    let main = html! {
        h1 { "Accertamenti" }
        p class="lead" { (grant.org.name) }
        p { "Un accertamento raccoglie i pagamenti di un tipo dovuto e li attribuisce a ufficio, capitolo e accertamento di bilancio. Si chiude quando è completo; i pagamenti con il bilancio nel dovuto sono attribuiti automaticamente." }
        h2 class="h4" id="nuovo" { "Nuovo accertamento" }
        @if types.is_empty() {
            p { "Non sei abilitato ad alcun tipo dovuto." }
        } @else {
            form method="post" action=(base) class="row g-3 mb-5" {
                (csrf)
                div class="col-12 col-md-4" {
                    label for="debt_type" { "Tipo dovuto" }
                    select class="form-select" id="debt_type" name="debt_type" required {
                        @for t in &types { option value=(t.code) { (t.description) " (" (t.code) ")" } }
                    }
                }
                div class="col-12 col-md-6" {
                    label for="name" { "Nome dell'accertamento" }
                    input type="text" class="form-control" id="name" name="name" maxlength="255" required;
                }
                div class="col-12" { button type="submit" class="btn btn-primary" { "Crea l'accertamento" } }
            }
        }
        h2 class="h4" id="elenco" { "Elenco" }
        @if headers.is_empty() {
            p { "Nessun accertamento." }
        } @else {
            table class="table tabella-compatta" {
                caption class="visually-hidden" { "Accertamenti dell'ente" }
                thead { tr {
                    th scope="col" { "N." } th scope="col" { "Nome" } th scope="col" { "Tipo dovuto" }
                    th scope="col" { "Stato" } th scope="col" { "Pagamenti" } th scope="col" { "Totale" }
                    th scope="col" { "Creato da" } th scope="col" { "Aggiornato il" }
                } }
                tbody {
                    @for a in &headers {
                        @let total = totals.get(&a.id).copied().unwrap_or_default();
                        tr {
                            td { (a.id) }
                            td { a href={ (base) "/" (a.id) } { (a.name) } }
                            td { (a.debt_type_code) }
                            td { (state_it(a.state)) }
                            td class="importo" { (count_it(total.count)) }
                            td class="importo" { (total.amount.format_eur()) }
                            td { (creator(&a.created_by)) }
                            td { (datetime_it(&a.updated_at)) }
                        }
                    }
                }
            }
        }
        h2 class="h4" id="anagrafica" { "Anagrafica uffici, capitoli e accertamenti" }
        // Not a `form-group`: Bootstrap Italia floats its label over a file input.
        form method="post" action=(ctx.upload_action(&format!("{base}/anagrafica"))) enctype="multipart/form-data" class="row g-3 mb-4" {
            div class="col-12 col-md-8" {
                label for="file" { "File di importazione massiva (" code { (grant.org.ipa_code) "-<NOME>-1_0.zip" } " con un CSV dello stesso nome, al massimo " (limit_mb) " MB)" }
                input type="file" class="form-control" id="file" name="file" accept=".zip,application/zip" required;
            }
            div class="col-12" { button type="submit" class="btn btn-primary" { "Importa l'anagrafica" } }
        }
        (registry_table(&registry))
    };
    Ok(ctx.page("Accertamenti", main))
}

/// Who made an accertamento, in words.
fn creator(actor: &str) -> String {
    match actor.strip_prefix("operator:") {
        Some(name) => name.to_owned(),
        None if actor == "cli" => "riga di comando".to_owned(),
        None if actor == "system" => "automatico".to_owned(),
        None => actor.to_owned(),
    }
}

fn registry_table(registry: &[RegistryRecord]) -> Markup {
    html! {
        @if registry.is_empty() {
            p { "L'anagrafica è vuota: importala con un file per poter attribuire i pagamenti." }
        } @else {
            table class="table tabella-compatta" {
                caption class="visually-hidden" { "Anagrafica uffici, capitoli e accertamenti" }
                thead { tr {
                    th scope="col" { "Tipo dovuto" } th scope="col" { "Ufficio" } th scope="col" { "Capitolo" }
                    th scope="col" { "Anno" } th scope="col" { "Accertamento" } th scope="col" { "Attivo" }
                } }
                tbody {
                    @for r in registry {
                        tr {
                            td { (r.entry.debt_type_code) }
                            td { code { (r.entry.office_code) } " " (r.entry.office_name) }
                            td { code { (r.entry.chapter_code) } " " (r.entry.chapter_name) }
                            td { (r.entry.year) }
                            td {
                                @if r.entry.accertamento_code == NO_ACCERTAMENTO { "—" } @else {
                                    code { (r.entry.accertamento_code) } " " (r.entry.accertamento_name.clone().unwrap_or_default())
                                }
                            }
                            td { @if r.entry.active { "Sì" } @else { "No" } }
                        }
                    }
                }
            }
        }
    }
}

/// `POST /operatore/{ipa}/accertamenti/anagrafica` (multipart): the registry's bulk import.
pub fn import(ctx: &mut BoCtx<'_>, ipa: &str) -> Result<Response, BoError> {
    let grant = ctx.grant(ipa)?;
    let Some(part) = ctx.parts.iter().find(|p| p.name == "file" && p.file_name.is_some()) else {
        return Err(BoError::BadRequest("Scegli il file dell'anagrafica da importare.".to_owned()));
    };
    // Only the last path component: browsers of some systems send a full path.
    let file_name = part.file_name.clone().unwrap_or_default();
    let file_name = file_name.rsplit(['/', '\\']).next().unwrap_or_default().to_owned();
    let mut data = part.reader();
    let tmp = ctx.state.config.data_dir.join("tmp");
    match payments::import_upload(&ctx.state.db, &grant, &tmp, &file_name, &mut data, ctx.now) {
        Ok(done) => ctx.session.flash(
            "success",
            format!(
                "Anagrafica importata da {file_name}: voci aggiunte {}, voci eliminate {}.",
                done.inserted, done.deleted
            ),
        ),
        Err(err) => {
            let Some(why) = import_refusal(&err) else {
                tracing::error!(error = %err, "cannot import a registry");
                return Err(BoError::Internal);
            };
            tracing::info!(error = %err, "registry import refused");
            ctx.session.flash("danger", format!("Anagrafica non importata, nessuna voce è cambiata. {why}"));
        }
    }
    Ok(ctx.redirect(&format!("{}#anagrafica", base_of(&grant))))
}

/// Why a registry file was refused, in Italian; `None` for a failure of ours.
fn import_refusal(err: &UploadError) -> Option<String> {
    let limit = count_it(i64::try_from(REGISTRY_UPLOAD_MAX_BYTES).unwrap_or(i64::MAX));
    Some(match err {
        UploadError::TooLarge => format!("Il file supera la dimensione massima consentita ({limit} byte)."),
        UploadError::Import(RegistryImportError::Line(line)) => line.to_string(),
        UploadError::Import(RegistryImportError::File(file)) => match file {
            RegistryFileError::Name { ipa, .. } => {
                format!("Il nome del file deve essere {ipa}-<NOME>-1_0.zip (NOME di lettere, cifre, «_» o «-»).")
            }
            RegistryFileError::Zip(_) => {
                "Il file non è uno ZIP leggibile con un solo CSV dello stesso nome (entro 16 MB una volta estratto)."
                    .to_owned()
            }
            RegistryFileError::Empty => "Il CSV è vuoto: manca anche la riga di intestazione.".to_owned(),
            RegistryFileError::TooManyLines => "Il CSV ha troppe righe (al massimo 100.000).".to_owned(),
            RegistryFileError::Line(line) => line.to_string(),
            RegistryFileError::Io(_) => return None,
        },
        UploadError::Import(RegistryImportError::Service(err)) if err.is_user_error() => user_message(err),
        UploadError::Import(RegistryImportError::Service(_)) => return None,
    })
}

/// `POST /operatore/{ipa}/accertamenti`: a new accertamento, then its page.
pub fn create(ctx: &mut BoCtx<'_>, ipa: &str) -> Result<Response, BoError> {
    let grant = ctx.grant(ipa)?;
    let base = base_of(&grant);
    let debt_type = ctx.form.text("debt_type");
    let name = ctx.form.text("name");
    match service::create(&ctx.state.db, &grant, debt_type.trim(), &name, ctx.now) {
        Ok(made) => {
            ctx.session.flash("success", format!("Accertamento «{}» creato.", made.name));
            Ok(ctx.redirect(&format!("{base}/{}", made.id)))
        }
        Err(err) if err.is_user_error() => {
            tracing::info!(error = %err, "accertamento not created");
            let why = match &err {
                ServiceError::Invalid { field, .. } if field == "nome" => {
                    "Il nome è obbligatorio e può avere al massimo 255 caratteri.".to_owned()
                }
                ServiceError::NotFound(_) => "Il tipo dovuto scelto non esiste o non sei abilitato.".to_owned(),
                other => user_message(other),
            };
            ctx.session.flash("danger", format!("Accertamento non creato: {why}"));
            Ok(ctx.redirect(&format!("{base}#nuovo")))
        }
        Err(err) => Err(internal("cannot create an accertamento", &err)),
    }
}

/// The accertamento `id` of the path with its details, or 404.
fn load(ctx: &BoCtx<'_>, grant: &OrgAccess, id: &str) -> Result<(AccertamentoRecord, Vec<DetailRecord>), BoError> {
    let id = id.parse::<i64>().map_err(|_| BoError::NotFound)?;
    match service::get(&ctx.state.db, grant, id) {
        Ok(found) => Ok(found),
        Err(ServiceError::NotFound(_)) => Err(BoError::NotFound),
        Err(err) => Err(internal("cannot read an accertamento", &err)),
    }
}

/// `GET /operatore/{ipa}/accertamenti/{id}`: details, and while INSERITO the payments it may take.
pub fn show(ctx: &mut BoCtx<'_>, ipa: &str, id: &str) -> Result<Response, BoError> {
    let grant = ctx.grant(ipa)?;
    let (header, details) = load(ctx, &grant, id)?;
    let base = format!("{}/{}", base_of(&grant), header.id);
    let input = FilterInput {
        iud: ctx.form.get("iud").unwrap_or_default(),
        iuv: ctx.form.get("iuv").unwrap_or_default(),
        fiscal_code: ctx.form.get("cf").unwrap_or_default(),
        from: ctx.form.get("dal").unwrap_or_default(),
        to: ctx.form.get("al").unwrap_or_default(),
    };
    let page: u32 = ctx.form.get("pagina").and_then(|p| p.parse().ok()).unwrap_or(1).clamp(1, MAX_PAGE);
    let open = payments::takes_payments(header.state);
    let (insertable, filter_error) = if open {
        match payments::filter_of(&input) {
            Ok(filter) => (
                Some(
                    payments::insertable(&ctx.state.db, &grant, header.id, &filter, page)
                        .map_err(|e| internal("cannot list insertable payments", &e))?,
                ),
                None,
            ),
            Err(err) => (None, Some(filter_refusal(&err))),
        }
    } else {
        (None, None)
    };
    let targets = if open {
        service::registry(&ctx.state.db, &grant)
            .map_err(|e| internal("cannot read the registry", &e))?
            .into_iter()
            .filter(|r| r.entry.active && r.entry.debt_type_code == header.debt_type_code)
            .collect()
    } else {
        Vec::new()
    };
    let total = sum_of(details.iter().map(|d| d.amount));
    let query = |page: u32| {
        let mut q = vec![format!("pagina={page}")];
        for (name, value) in
            [("iud", input.iud), ("iuv", input.iuv), ("cf", input.fiscal_code), ("dal", input.from), ("al", input.to)]
        {
            if !value.is_empty() {
                q.push(format!("{name}={}", crate::web::forms::encode(value)));
            }
        }
        format!("{base}?{}#inseribili", q.join("&"))
    };
    let csrf = ctx.csrf();
    let main = html! {
        p { a href=(base_of(&grant)) { "← Tutti gli accertamenti" } }
        h1 { "Accertamento n. " (header.id) ": " (header.name) }
        p class="lead" { (grant.org.name) }
        dl class="row" {
            dt class="col-sm-4" { "Tipo dovuto" } dd class="col-sm-8" { (header.debt_type_code) }
            dt class="col-sm-4" { "Stato" } dd class="col-sm-8" { (state_it(header.state)) }
            dt class="col-sm-4" { "Creato da" } dd class="col-sm-8" { (creator(&header.created_by)) " il " (datetime_it(&header.created_at)) }
            dt class="col-sm-4" { "Aggiornato il" } dd class="col-sm-8" { (datetime_it(&header.updated_at)) }
            dt class="col-sm-4" { "Pagamenti" } dd class="col-sm-8" { (count_it(i64::try_from(details.len()).unwrap_or(i64::MAX))) ", totale " (total.format_eur()) }
        }
        @if open {
            form method="post" action={ (base) "/stato" } class="mb-4" {
                (csrf)
                p { "Chiudi l'accertamento quando è completo (serve almeno un pagamento), o annullalo: dopo non cambia più." }
                button type="submit" name="to" value="CHIUSO" class="btn btn-primary" { "Chiudi l'accertamento" }
                " "
                button type="submit" name="to" value="ANNULLATO" class="btn btn-outline-primary" { "Annulla l'accertamento" }
            }
        } @else if header.state == AccertamentoState::Chiuso {
            p { a class="btn btn-outline-primary btn-sm" href={ (base) "/stampa" } { "Versione stampabile" } }
        }
        h2 class="h4" id="pagamenti" { "Pagamenti attribuiti" }
        (details_table(&details, total))
        @if open {
            h2 class="h4" id="inseribili" { "Pagamenti da attribuire" }
            p { "Pagamenti del tipo dovuto " (header.debt_type_code) " senza bilancio e non ancora in un accertamento (se non annullato)." }
            form method="get" action=(base) class="row g-3 mb-4" {
                div class="col-6 col-md-3" { label for="iud" { "IUD" } input type="text" class="form-control" id="iud" name="iud" maxlength="35" value=(input.iud); }
                div class="col-6 col-md-3" { label for="iuv" { "IUV" } input type="text" class="form-control" id="iuv" name="iuv" maxlength="35" value=(input.iuv); }
                div class="col-12 col-md-6" { label for="cf" { "Codice fiscale del debitore o del pagatore" } input type="text" class="form-control" id="cf" name="cf" maxlength="35" value=(input.fiscal_code); }
                div class="col-6 col-md-3" { label for="dal" { "Esito dal" } input type="date" class="form-control" id="dal" name="dal" value=(input.from); }
                div class="col-6 col-md-3" { label for="al" { "al" } input type="date" class="form-control" id="al" name="al" value=(input.to); }
                div class="col-12" { button type="submit" class="btn btn-outline-primary" { "Cerca" } }
            }
            @if let Some(why) = &filter_error {
                div class="alert alert-warning" role="alert" { (why) }
            }
            @if let Some(found) = &insertable {
                @if found.payments.is_empty() {
                    p { "Nessun pagamento da attribuire" @if page > 1 { " in questa pagina" } "." }
                } @else if targets.is_empty() {
                    div class="alert alert-info" role="status" {
                        "Nessuna voce attiva dell'anagrafica per il tipo dovuto " (header.debt_type_code) ": "
                        a href={ (base_of(&grant)) "#anagrafica" } { "importala" } " per poter attribuire i pagamenti."
                    }
                }
                @if !found.payments.is_empty() {
                    form method="post" action={ (base) "/assegna" } {
                        (ctx.csrf())
                        table class="table tabella-compatta" {
                            caption class="visually-hidden" { "Pagamenti da attribuire" }
                            thead { tr {
                                th scope="col" { span class="visually-hidden" { "Scegli" } } th scope="col" { "Esito" } th scope="col" { "IUD" }
                                th scope="col" { "IUV" } th scope="col" { "Ricevuta" } th scope="col" { "Debitore" } th scope="col" { "Importo" }
                            } }
                            tbody {
                                @for (n, p) in found.payments.iter().enumerate() {
                                    @let id = format!("p{n}");
                                    tr {
                                        td { input type="checkbox" class="form-check-input" id=(id) name="pagamento" value=(key_value(&p.key)) aria-label={ "Scegli il pagamento IUV " (p.key.iuv) }; }
                                        td { (crate::web::ui::format::date_it(&p.payment_date)) }
                                        td { (p.iud.clone().unwrap_or_default()) }
                                        td { label for=(id) { (p.key.iuv) } }
                                        td { (p.key.iur) @if p.key.transfer_index > 1 { " (versamento " (p.key.transfer_index) ")" } }
                                        td { (p.debtor_name) " " small { (p.debtor_id) } }
                                        td class="importo" { (p.amount.format_eur()) }
                                    }
                                }
                            }
                        }
                        @if !targets.is_empty() {
                            div class="row g-3 mb-3" {
                                div class="col-12 col-md-8" {
                                    label for="voce" { "Ufficio, capitolo e accertamento" }
                                    select class="form-select" id="voce" name="voce" required {
                                        @for r in &targets { option value=(r.id) { (target_label(r)) } }
                                    }
                                }
                            }
                            button type="submit" class="btn btn-primary" { "Attribuisci i pagamenti scelti" }
                        }
                    }
                    nav aria-label="Pagine dei pagamenti da attribuire" class="mb-4" {
                        @if page > 1 { a href=(query(page - 1)) { "← Pagina precedente" } " " }
                        "Pagina " (page)
                        @if found.more && page < MAX_PAGE { " " a href=(query(page + 1)) { "Pagina successiva →" } }
                    }
                }
            }
        }
    };
    Ok(ctx.page(&format!("Accertamento {}", header.name), main))
}

fn target_label(r: &RegistryRecord) -> String {
    let e = &r.entry;
    let accertamento = if e.accertamento_code == NO_ACCERTAMENTO {
        "nessun accertamento".to_owned()
    } else {
        format!("accertamento {} {}", e.accertamento_code, e.accertamento_name.clone().unwrap_or_default())
    };
    format!(
        "Ufficio {} {} · capitolo {} {} ({}) · {}",
        e.office_code,
        e.office_name,
        e.chapter_code,
        e.chapter_name,
        e.year,
        accertamento.trim_end()
    )
}

fn details_table(details: &[DetailRecord], total: Cents) -> Markup {
    html! {
        @if details.is_empty() {
            p { "Nessun pagamento attribuito." }
        } @else {
            table class="table tabella-compatta" {
                caption class="visually-hidden" { "Pagamenti attribuiti" }
                thead { tr {
                    th scope="col" { "IUD" } th scope="col" { "IUV" } th scope="col" { "Ricevuta" } th scope="col" { "Ufficio" }
                    th scope="col" { "Capitolo" } th scope="col" { "Accertamento" } th scope="col" { "Importo" }
                } }
                tbody {
                    @for d in details {
                        tr {
                            td { (d.iud.clone().unwrap_or_default()) }
                            td { (d.key.iuv) }
                            td { (d.key.iur) @if d.key.transfer_index > 1 { " (versamento " (d.key.transfer_index) ")" } }
                            td { (d.target.office_code) }
                            td { (d.target.chapter_code) }
                            td { @if d.target.accertamento_code == NO_ACCERTAMENTO { "—" } @else { (d.target.accertamento_code) } }
                            td class="importo" { (d.amount.format_eur()) }
                        }
                    }
                }
                tfoot { tr { th scope="row" colspan="6" { "Totale" } td class="importo" { (total.format_eur()) } } }
            }
        }
    }
}

/// A payment's key as a checkbox's value: IUV, IUR and transfer index joined by `|` (an IUV has
/// none; the IUR is read up to the last one).
fn key_value(key: &TransferKey) -> String {
    format!("{}|{}|{}", key.iuv, key.iur, key.transfer_index)
}

fn parse_key(value: &str) -> Option<TransferKey> {
    let (iuv, rest) = value.split_once('|')?;
    let (iur, index) = rest.rsplit_once('|')?;
    let transfer_index = index.parse().ok()?;
    (!iuv.is_empty() && !iur.is_empty()).then(|| TransferKey {
        iuv: iuv.to_owned(),
        iur: iur.to_owned(),
        transfer_index,
    })
}

fn filter_refusal(err: &ServiceError) -> String {
    match err {
        ServiceError::Invalid { field, .. } if field == "from" || field == "to" => {
            "Le date dell'esito devono essere giorni validi, e «dal» non può venire dopo «al».".to_owned()
        }
        _ => "IUD, IUV e codice fiscale possono avere al massimo 35 caratteri.".to_owned(),
    }
}

/// `POST /operatore/{ipa}/accertamenti/{id}/assegna`: books the chosen payments to the chosen
/// registry entry, all or none.
pub fn assign(ctx: &mut BoCtx<'_>, ipa: &str, id: &str) -> Result<Response, BoError> {
    let grant = ctx.grant(ipa)?;
    let (header, _) = load(ctx, &grant, id)?;
    let back = format!("{}/{}", base_of(&grant), header.id);
    let keys: Option<Vec<TransferKey>> =
        ctx.form.pairs().iter().filter(|(name, _)| name == "pagamento").map(|(_, value)| parse_key(value)).collect();
    let Some(keys) = keys else {
        return Err(BoError::BadRequest("I pagamenti scelti non sono leggibili.".to_owned()));
    };
    let refuse = |ctx: &mut BoCtx<'_>, why: String| {
        ctx.session.flash("danger", format!("Nessun pagamento attribuito: {why}"));
        Ok(ctx.redirect(&format!("{back}#inseribili")))
    };
    if !payments::takes_payments(header.state) {
        let why = format!(
            "l'accertamento è {}: solo un accertamento inserito riceve pagamenti.",
            state_it(header.state).to_lowercase()
        );
        return refuse(ctx, why);
    }
    if keys.is_empty() {
        return refuse(ctx, "scegli almeno un pagamento.".to_owned());
    }
    if keys.len() > payments::MAX_BOOKINGS {
        return refuse(ctx, format!("al massimo {} pagamenti per volta.", payments::MAX_BOOKINGS));
    }
    let chosen: Option<i64> = ctx.form.get("voce").and_then(|v| v.parse().ok());
    let registry = service::registry(&ctx.state.db, &grant).map_err(|e| internal("cannot read the registry", &e))?;
    let entry = registry
        .iter()
        .find(|r| Some(r.id) == chosen && r.entry.active && r.entry.debt_type_code == header.debt_type_code);
    let Some(entry) = entry else {
        return refuse(ctx, "scegli una voce attiva dell'anagrafica per questo tipo dovuto.".to_owned());
    };
    let target = BookingTarget {
        office_code: entry.entry.office_code.clone(),
        chapter_code: entry.entry.chapter_code.clone(),
        accertamento_code: entry.entry.accertamento_code.clone(),
    };
    match payments::assign_all(&ctx.state.db, &grant, header.id, &keys, &target, ctx.now) {
        Ok(n) => {
            ctx.session.flash("success", format!("Pagamenti attribuiti: {n}."));
            Ok(ctx.redirect(&format!("{back}#pagamenti")))
        }
        Err(err) if err.is_user_error() => {
            tracing::info!(error = %err, "payments not booked");
            refuse(
                ctx,
                "almeno uno dei pagamenti scelti non può essere attribuito (è già in un altro accertamento, non è più un pagamento di questo tipo dovuto o ha il bilancio).".to_owned(),
            )
        }
        Err(err) => Err(internal("cannot book payments", &err)),
    }
}

/// `POST /operatore/{ipa}/accertamenti/{id}/stato`: closes or cancels an INSERITO accertamento.
pub fn change_state(ctx: &mut BoCtx<'_>, ipa: &str, id: &str) -> Result<Response, BoError> {
    let grant = ctx.grant(ipa)?;
    let (header, details) = load(ctx, &grant, id)?;
    let back = format!("{}/{}", base_of(&grant), header.id);
    let to = match ctx.form.get("to") {
        Some("CHIUSO") => AccertamentoState::Chiuso,
        Some("ANNULLATO") => AccertamentoState::Annullato,
        _ => return Err(BoError::BadRequest("Lo stato richiesto non è valido.".to_owned())),
    };
    let refusal = if !header.state.may_become(to) {
        Some(format!(
            "l'accertamento è già {}: cambia stato solo un accertamento inserito.",
            state_it(header.state).to_lowercase()
        ))
    } else if to == AccertamentoState::Chiuso && details.is_empty() {
        Some("un accertamento si chiude solo con almeno un pagamento attribuito.".to_owned())
    } else {
        None
    };
    let refusal = match refusal {
        Some(why) => Some(why),
        None => match service::change_state(&ctx.state.db, &grant, header.id, to, ctx.now) {
            Ok(_) => None,
            Err(err) if err.is_user_error() => {
                tracing::info!(error = %err, "accertamento state not changed");
                Some("l'accertamento è cambiato nel frattempo: ricarica la pagina.".to_owned())
            }
            Err(err) => return Err(internal("cannot change an accertamento's state", &err)),
        },
    };
    match refusal {
        Some(why) => ctx.session.flash("danger", format!("Stato non cambiato: {why}")),
        None => ctx.session.flash("success", format!("Accertamento {}.", state_it(to).to_lowercase())),
    }
    Ok(ctx.redirect(&back))
}

/// `GET /operatore/{ipa}/accertamenti/{id}/stampa`: a closed accertamento to print, its payments
/// summed by office, chapter and assessment.
pub fn print(ctx: &mut BoCtx<'_>, ipa: &str, id: &str) -> Result<Response, BoError> {
    let grant = ctx.grant(ipa)?;
    let (header, details) = load(ctx, &grant, id)?;
    if header.state != AccertamentoState::Chiuso {
        return Err(BoError::NotFound);
    }
    let mut sums: std::collections::BTreeMap<(&str, &str, &str), (i64, Cents)> = std::collections::BTreeMap::new();
    for d in &details {
        let key = (d.target.office_code.as_str(), d.target.chapter_code.as_str(), d.target.accertamento_code.as_str());
        let slot = sums.entry(key).or_insert((0, Cents::ZERO));
        *slot = (slot.0 + 1, sum_of([slot.1, d.amount]));
    }
    let total = sum_of(details.iter().map(|d| d.amount));
    let main = html! {
        h1 { "Accertamento n. " (header.id) ": " (header.name) }
        p class="lead" { (grant.org.name) " (" (grant.org.fiscal_code) ")" }
        p { "Tipo dovuto " strong { (header.debt_type_code) } ", chiuso il " (datetime_it(&header.updated_at)) ", creato da " (creator(&header.created_by)) "." }
        h2 class="h4" { "Riepilogo per ufficio, capitolo e accertamento" }
        table class="table tabella-compatta" {
            caption class="visually-hidden" { "Riepilogo" }
            thead { tr { th scope="col" { "Ufficio" } th scope="col" { "Capitolo" } th scope="col" { "Accertamento" } th scope="col" { "Pagamenti" } th scope="col" { "Importo" } } }
            tbody {
                @for ((office, chapter, accertamento), (count, amount)) in &sums {
                    tr {
                        td { (office) } td { (chapter) }
                        td { @if *accertamento == NO_ACCERTAMENTO { "—" } @else { (accertamento) } }
                        td class="importo" { (count_it(*count)) } td class="importo" { (amount.format_eur()) }
                    }
                }
            }
        }
        h2 class="h4" { "Pagamenti" }
        (details_table(&details, total))
        p class="small text-muted" { "Stampa questa pagina con la funzione di stampa del browser." }
    };
    Ok(ctx.page(&format!("Accertamento {} – stampa", header.name), main))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_payment_key_survives_its_checkbox_value() {
        let key = TransferKey { iuv: "01000000000012302".to_owned(), iur: "a|b".to_owned(), transfer_index: 2 };
        assert_eq!(key_value(&key), "01000000000012302|a|b|2");
        assert_eq!(parse_key(&key_value(&key)), Some(key));
        for bad in ["", "x", "iuv|iur", "iuv|iur|x", "|iur|1", "iuv||1"] {
            assert_eq!(parse_key(bad), None, "{bad}");
        }
    }

    #[test]
    fn registry_refusals_are_italian() {
        let name = UploadError::Import(RegistryImportError::File(RegistryFileError::Name {
            ipa: "c_x999".to_owned(),
            name: "x.zip".to_owned(),
        }));
        assert_eq!(
            import_refusal(&name).unwrap(),
            "Il nome del file deve essere c_x999-<NOME>-1_0.zip (NOME di lettere, cifre, «_» o «-»)."
        );
        assert_eq!(
            import_refusal(&UploadError::TooLarge).unwrap(),
            "Il file supera la dimensione massima consentita (4.194.304 byte)."
        );
    }
}
