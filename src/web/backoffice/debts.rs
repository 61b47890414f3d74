//! Debt search and detail: the search form (identifiers, debtor, state, debt type, due and paid
//! date ranges) with paged results and a CSV download of the whole result, and one debt with its
//! history, receipts and notice. Everything is limited to the org of the grant and to the debt
//! types enabled for the operator; a debt outside them is "not found".

use maud::{Markup, html};

use super::{BoCtx, BoError, timeline, user_message};
use crate::domain::DebtState;
use crate::services::admin::debt_types;
use crate::services::debts::documents;
use crate::services::debts::options::{OptionView, ViewKind, ViewState};
use crate::services::debts::search::{self as debt_search, COUNT_CAP, Criteria, PAGE_SIZE};
use crate::web::Response;
use crate::web::forms::encode;
use crate::web::ui::format::{datetime_it, day_it};

/// The criteria fields: (name, label), in the form's order.
const TEXT_FIELDS: [(&str, &str); 3] = [
    ("avviso", "Numero avviso"),
    ("cf", "Codice fiscale o partita IVA del debitore"),
    ("nome", "Debitore (inizia con)"),
];
/// The identifiers an operator types less often, folded with the other rarer criteria.
const ID_FIELDS: [(&str, &str); 2] = [("iud", "IUD"), ("iuv", "IUV")];
const DATE_FIELDS: [(&str, &str); 4] = [
    ("scadenza_dal", "Scadenza dal"),
    ("scadenza_al", "Scadenza al"),
    ("pagato_dal", "Pagato dal"),
    ("pagato_al", "Pagato al"),
];
const ALL_FIELDS: [&str; 11] =
    ["iud", "iuv", "avviso", "cf", "nome", "stato", "tipo", "scadenza_dal", "scadenza_al", "pagato_dal", "pagato_al"];

fn criteria(ctx: &BoCtx<'_>) -> Criteria {
    let f = |name: &str| ctx.form.text(name);
    Criteria {
        iud: f("iud"),
        iuv: f("iuv"),
        notice: f("avviso"),
        debtor_id: f("cf"),
        debtor_name: f("nome"),
        state: f("stato"),
        debt_type: f("tipo"),
        due_from: f("scadenza_dal"),
        due_to: f("scadenza_al"),
        paid_from: f("pagato_dal"),
        paid_to: f("pagato_al"),
    }
}

/// The query string of the current criteria (without the page).
fn query_of(ctx: &BoCtx<'_>) -> String {
    ALL_FIELDS
        .iter()
        .filter_map(|name| ctx.form.get(name).filter(|v| !v.trim().is_empty()).map(|v| format!("{name}={}", encode(v))))
        .collect::<Vec<_>>()
        .join("&")
}

/// `GET /operatore/{ipa}/dovuti`.
pub fn search(ctx: &mut BoCtx<'_>, ipa: &str) -> Result<Response, BoError> {
    let grant = ctx.grant(ipa)?;
    let types = match debt_types::list_debt_types(&ctx.state.db, &grant.org.ipa_code) {
        Ok(types) => types.into_iter().filter(|t| grant.sees_type(t.id)).collect::<Vec<_>>(),
        Err(err) => {
            tracing::error!(error = %err, "cannot list debt types");
            return Err(BoError::Internal);
        }
    };
    let c = criteria(ctx);
    let asked = ALL_FIELDS.iter().any(|f| ctx.form.get(f).is_some_and(|v| !v.trim().is_empty()));
    let page: u64 = ctx.form.get("pagina").and_then(|p| p.parse().ok()).unwrap_or(1);
    let (mut error, mut result) = (None, None);
    // Without criteria the page opens on the latest debts (the search's order is newest first).
    match debt_search::build_query(&ctx.state.db, &grant, &c)
        .and_then(|q| debt_search::search(&ctx.state.db, grant.org.id, &q, page))
    {
        Ok(found) => result = Some(found),
        Err(err) if err.is_user_error() => error = Some(user_message(&err)),
        Err(err) => {
            tracing::error!(error = %err, "debt search failed");
            return Err(BoError::Internal);
        }
    }
    let base = format!("/operatore/{}/dovuti", grant.org.ipa_code);
    let query = query_of(ctx);
    let form = &ctx.form;
    let more_criteria = ["iud", "iuv", "stato", "tipo", "scadenza_dal", "scadenza_al", "pagato_dal", "pagato_al"]
        .iter()
        .any(|name| !form.text(name).trim().is_empty());
    let main = html! {
        h1 { "Dovuti" }
        p class="lead" { (grant.org.name) }
        p { a class="btn btn-outline-primary btn-sm" href={ (base) "/nuovo" } { "Nuovo dovuto" } }
        form method="get" action=(base) class="row g-3 mb-4" {
            @for (name, label) in TEXT_FIELDS {
                div class="col-12 col-md-4" {
                    label for=(name) { (label) }
                    input type="text" class="form-control" id=(name) name=(name) value=(form.text(name));
                }
            }
            // On a phone the whole form would hide the results: the rarer criteria fold away.
            details class="col-12" open[more_criteria] {
                summary { "Altri criteri: IUD, IUV, stato, tipo dovuto, scadenza, pagamento" }
                div class="row g-3 mt-1" {
            @for (name, label) in ID_FIELDS {
                div class="col-12 col-md-4" {
                    label for=(name) { (label) }
                    input type="text" class="form-control" id=(name) name=(name) value=(form.text(name));
                }
            }
            div class="col-12 col-md-4" {
                label for="stato" { "Stato" }
                select class="form-select" id="stato" name="stato" {
                    option value="" { "Tutti" }
                    @for s in DebtState::ALL {
                        option value=(s.code()) selected[form.text("stato") == s.code()] { (s.label_it()) }
                    }
                }
            }
            div class="col-12 col-md-4" {
                label for="tipo" { "Tipo dovuto" }
                select class="form-select" id="tipo" name="tipo" {
                    option value="" { "Tutti quelli abilitati" }
                    @for t in &types {
                        option value=(t.code) selected[form.text("tipo") == t.code] { (t.description) " (" (t.code) ")" }
                    }
                }
            }
            @for (name, label) in DATE_FIELDS {
                div class="col-6 col-md-3" {
                    label for=(name) { (label) }
                    input type="date" class="form-control" id=(name) name=(name) value=(form.text(name));
                }
            }
                }
            }
            div class="col-12" {
                button type="submit" class="btn btn-primary" name="cerca" value="1" { "Cerca" }
            }
        }
        @if let Some(message) = &error {
            div class="alert alert-danger" role="alert" { (message) }
        }
        @if let Some(found) = &result {
            @if !asked { h2 class="h4" { "Ultimi dovuti inseriti" } }
            (results(&base, &query, found))
        }
    };
    Ok(ctx.page("Dovuti", main))
}

fn results(base: &str, query: &str, found: &debt_search::ResultPage) -> Markup {
    let pages = found.total.div_ceil(u64::from(PAGE_SIZE)).max(1);
    let sep = if query.is_empty() { "" } else { "&" };
    html! {
        div class="d-flex flex-wrap justify-content-between align-items-center mb-2" {
            p class="mb-0" role="status" {
                "Dovuti trovati: " @if found.more { "più di " (COUNT_CAP) } @else { (found.total) }
            }
            @if found.total > 0 {
                a class="btn btn-outline-primary btn-sm" href={ (base) "/csv?" (query) } { "Scarica CSV (Excel)" }
            }
        }
        @if !found.hits.is_empty() {
            div class="table-responsive" {
                table class="table tabella-compatta" {
                    caption class="visually-hidden" { "Dovuti trovati" }
                    thead { tr {
                        th scope="col" { "IUD" } th scope="col" { "Numero avviso" } th scope="col" { "Tipo" }
                        th scope="col" { "Debitore" } th scope="col" { "Importo" } th scope="col" { "Scadenza" }
                        th scope="col" { "Stato" } th scope="col" { "Pagato il" }
                    } }
                    tbody {
                        @for hit in &found.hits {
                            @let d = &hit.debt;
                            tr {
                                td { a href={ (base) "/" (d.id) } { (d.iud) } }
                                td { (d.notice_number.as_ref().map_or("—", crate::domain::NoticeNumber::as_str)) }
                                td { (d.debt_type_code) }
                                td { (d.debtor.name) br; small { (d.debtor.id) } }
                                td class="importo" { (d.amount_cents.format_eur()) }
                                td { (d.due_date.map_or_else(|| "—".to_owned(), day_it)) }
                                td { (d.state.label_it()) }
                                td { (hit.paid_date.map_or_else(|| "—".to_owned(), day_it)) }
                            }
                        }
                    }
                }
            }
            nav aria-label="Pagine dei risultati" {
                ul class="pagination" {
                    @if found.page > 1 {
                        li class="page-item" { a class="page-link" href={ (base) "?" (query) (sep) "pagina=" (found.page - 1) } { "Precedente" } }
                    }
                    li class="page-item active" aria-current="page" { span class="page-link" { "Pagina " (found.page) " di " (pages) } }
                    @if found.page < pages {
                        li class="page-item" { a class="page-link" href={ (base) "?" (query) (sep) "pagina=" (found.page + 1) } { "Successiva" } }
                    }
                }
            }
        }
    }
}

/// Where a debt came from, in words (`debt.source`).
fn source_it(source: &str) -> &str {
    match source {
        "cli" => "riga di comando",
        "import" => "flusso dei dovuti",
        "sil" => "gestionale dell'ente (SIL)",
        "portal" => "portale dei pagamenti",
        "backoffice" => "area operatori",
        "node" => "pagamento avviato presso un PSP",
        "demo" => "dati dimostrativi",
        other => other,
    }
}

/// `GET /operatore/{ipa}/dovuti/csv`: every match of the criteria.
pub fn csv(ctx: &mut BoCtx<'_>, ipa: &str) -> Result<Response, BoError> {
    let grant = ctx.grant(ipa)?;
    let c = criteria(ctx);
    let bytes = debt_search::build_query(&ctx.state.db, &grant, &c)
        .and_then(|q| debt_search::csv(&ctx.state.db, grant.org.id, &q));
    match bytes {
        Ok(bytes) => Ok(Response { status: 200, headers: Vec::new(), body: bytes }
            .with_header("Content-Type", "text/csv; charset=utf-8; header=present")
            .with_header("Content-Disposition", format!("attachment; filename=\"dovuti-{}.csv\"", grant.org.ipa_code))
            .with_header("Cache-Control", "no-store")),
        Err(err) if err.is_user_error() => Err(BoError::BadRequest(user_message(&err))),
        Err(err) => {
            tracing::error!(error = %err, "debt CSV failed");
            Err(BoError::Internal)
        }
    }
}

/// The debt `id` of the grant's org, or the response to give instead (404 for anything not visible).
fn load(
    ctx: &mut BoCtx<'_>,
    ipa: &str,
    id: &str,
) -> Result<(crate::web::authz::OperatorGrant, debt_search::DebtDetail), BoError> {
    let grant = ctx.grant(ipa)?;
    let Ok(id) = id.parse::<i64>() else {
        return Err(BoError::NotFound);
    };
    match debt_search::detail(&ctx.state.db, &grant, id) {
        Ok(detail) => Ok((grant, detail)),
        Err(err) if err.is_user_error() => Err(BoError::NotFound),
        Err(err) => {
            tracing::error!(error = %err, "cannot load a debt");
            Err(BoError::Internal)
        }
    }
}

/// `GET /operatore/{ipa}/dovuti/{id}`.
pub fn detail(ctx: &mut BoCtx<'_>, ipa: &str, id: &str) -> Result<Response, BoError> {
    let (grant, detail) = load(ctx, ipa, id)?;
    let d = &detail.debt;
    let base = format!("/operatore/{}/dovuti/{}", grant.org.ipa_code, d.id);
    let changeable = d.state.apply(crate::domain::DebtEvent::Modify).is_ok();
    let annullable = d.state.apply(crate::domain::DebtEvent::Annul).is_ok();
    let csrf = ctx.csrf();
    let events = match crate::services::debts::timeline::timeline(&ctx.state.db, &grant, d.id) {
        Ok(events) => events,
        Err(err) => {
            tracing::error!(error = %err, "cannot gather a debt's timeline");
            return Err(BoError::Internal);
        }
    };
    // The journal's pages are an org admin's.
    let journal_base = grant.admin.then(|| format!("/operatore/{}/giornale", grant.org.ipa_code));
    let options = match crate::services::debts::options::options_of(&ctx.state.db, d, ctx.now.today()) {
        Ok(options) => options,
        Err(err) => {
            tracing::error!(error = %err, "cannot read a debt's payment options");
            return Err(BoError::Internal);
        }
    };
    // A debt with one option shows it in its own rows; a plan lists its options.
    let plan = options.len() > 1 || options.iter().any(|o| o.kind != ViewKind::Single);
    let rows: Vec<(&str, String)> = vec![
        ("IUD", d.iud.clone()),
        ("IUV", d.iuv.as_ref().map_or_else(|| "—".to_owned(), |i| i.as_str().to_owned())),
        ("Numero avviso", d.notice_number.as_ref().map_or_else(|| "—".to_owned(), |n| n.as_str().to_owned())),
        ("Tipo dovuto", d.debt_type_code.clone()),
        ("Stato", d.state.label_it().to_owned()),
        ("Debitore", format!("{} ({})", d.debtor.name, d.debtor.id)),
        ("E-mail del debitore", d.debtor.email.clone().unwrap_or_else(|| "—".to_owned())),
        ("Causale", d.causale.clone()),
        ("Importo", d.amount_cents.format_eur()),
        ("Scadenza", d.due_date.map_or_else(|| "—".to_owned(), day_it)),
        ("Dati specifici di riscossione", d.collection_data.clone()),
        ("Origine", source_it(&d.source).to_owned()),
        ("Creato", datetime_it(&d.created_at)),
        ("Ultima modifica", datetime_it(&d.updated_at)),
    ];
    let main = html! {
        h1 { "Dovuto " (d.iud) }
        p class="lead" { (grant.org.name) }
        dl class="row" {
            @for (label, value) in &rows {
                dt class="col-sm-4" { (label) }
                dd class="col-sm-8" { (value) }
            }
        }
        div class="d-flex flex-wrap gap-2 mb-4" {
            @if d.notice_number.is_some() && d.state.is_open() {
                a class="btn btn-outline-primary" href={ (base) "/avviso" } { "Scarica l'avviso (PDF)" }
            }
            @if changeable {
                a class="btn btn-outline-primary" href={ (base) "/modifica" } { "Modifica" }
            }
            @if annullable {
                form method="post" action={ (base) "/annulla" } {
                    (csrf)
                    button type="submit" class="btn btn-outline-danger" { "Annulla il dovuto" }
                }
            }
        }
        @if plan {
            h2 class="h4" { "Opzioni di pagamento" }
            table class="table tabella-compatta" {
                caption class="visually-hidden" { "Opzioni di pagamento del dovuto" }
                thead { tr {
                    th scope="col" { "Opzione" } th scope="col" { "Numero avviso" } th scope="col" { "Importo" }
                    th scope="col" { "Scadenza" } th scope="col" { "Stato" }
                } }
                tbody {
                    @for o in &options {
                        tr {
                            td { (option_kind_it(o)) }
                            td { @if let Some(n) = &o.notice_number { code { (n.grouped()) } } @else { "—" } }
                            td class="importo" { (o.amount.format_eur()) }
                            td { (o.due_date.map_or_else(|| "—".to_owned(), day_it)) }
                            td { (option_state_it(o.state)) }
                        }
                    }
                }
            }
        }
        h2 class="h4" { "Ricevute" }
        @if detail.receipts.is_empty() {
            p { "Nessuna ricevuta." }
        } @else {
            table class="table tabella-compatta" {
                caption class="visually-hidden" { "Ricevute del dovuto" }
                thead { tr {
                    th scope="col" { "Esito" } th scope="col" { "Data pagamento" } th scope="col" { "Importo" }
                    th scope="col" { "PSP" } th scope="col" { "Identificativo" } th scope="col" { "Ricevuta" }
                } }
                tbody {
                    @for r in &detail.receipts {
                        tr {
                            td {
                                @if r.outcome == "OK" { "Riuscito" } @else { "Non riuscito" }
                                @if let Some(flag) = &r.flag { " " span class="badge bg-warning text-dark" { (flag) } }
                                @if r.held { " " span class="badge bg-danger" { "DIFFORME: sospesa" } }
                            }
                            td { (day_it(r.payment_date)) }
                            td class="importo" { (r.amount_cents.format_eur()) }
                            td { (r.psp_company_name) }
                            td { code { (r.receipt_id) } }
                            td { @if r.outcome == "OK" { a href={ (base) "/ricevute/" (r.id) } { "PDF" } } }
                        }
                    }
                }
            }
        }
        (timeline::render(&events, journal_base.as_deref()))
        p { a href={ "/operatore/" (grant.org.ipa_code) "/dovuti" } { "Torna alla ricerca" } }
    };
    Ok(ctx.page(&format!("Dovuto {}", d.iud), main))
}

/// A payment option's name on the page.
fn option_kind_it(o: &OptionView) -> String {
    match o.kind {
        ViewKind::Single => "Unica soluzione".to_owned(),
        ViewKind::Instalment => format!("Rata {}", o.seq),
        ViewKind::Reduced => "Importo ridotto (entro la data indicata)".to_owned(),
    }
}

fn option_state_it(state: ViewState) -> &'static str {
    match state {
        ViewState::Open => "Da pagare",
        ViewState::Paid => "Pagata",
        ViewState::Closed => "Chiusa: pagata un'alternativa o dovuto annullato",
        ViewState::Expired => "Scaduta",
    }
}

fn pdf(bytes: Vec<u8>, name: &str) -> Response {
    Response { status: 200, headers: Vec::new(), body: bytes }
        .with_header("Content-Type", "application/pdf")
        .with_header("Content-Disposition", format!("attachment; filename=\"{name}\""))
        .with_header("Cache-Control", "private, no-store")
}

/// `GET /operatore/{ipa}/dovuti/{id}/avviso`: the payment notice PDF.
pub fn notice(ctx: &mut BoCtx<'_>, ipa: &str, id: &str) -> Result<Response, BoError> {
    let (grant, detail) = load(ctx, ipa, id)?;
    let Some(notice) = detail.debt.notice_number.clone() else {
        return Err(BoError::NotFound);
    };
    let view = documents::notice_view(
        &ctx.state.db,
        &grant.org.ipa_code,
        &documents::NoticeKey::Iud(detail.debt.iud.clone()),
        ctx.now,
    );
    match view.map(|v| crate::pdf::notice_pdf(&v)) {
        Ok(Ok(bytes)) => {
            // Printed notices are part of the debt's timeline.
            ctx.state.journal.record(
                &ctx.state.db,
                crate::services::journal::JournalEntry {
                    at: ctx.now.iso(),
                    actor: format!("operator:{}", grant.username),
                    org_id: Some(grant.org.id),
                    action: "debt.notice".to_owned(),
                    object: Some(debt_search::debt_object(&grant.org.ipa_code, &detail.debt.iud)),
                    outcome: "OK".to_owned(),
                    ..Default::default()
                },
            );
            Ok(pdf(bytes, &format!("avviso-{notice}.pdf")))
        }
        Ok(Err(err)) => {
            tracing::error!(error = %err, "cannot render a notice");
            Err(BoError::Internal)
        }
        Err(err) if err.is_user_error() => Err(BoError::NotFound),
        Err(err) => {
            tracing::error!(error = %err, "cannot load a notice");
            Err(BoError::Internal)
        }
    }
}

/// `GET /operatore/{ipa}/dovuti/{id}/ricevute/{receipt}`: a receipt of the debt as PDF.
pub fn receipt(ctx: &mut BoCtx<'_>, ipa: &str, id: &str, receipt: &str) -> Result<Response, BoError> {
    let (grant, detail) = load(ctx, ipa, id)?;
    let Some(found) = detail.receipts.into_iter().find(|r| r.id.to_string() == receipt && r.outcome == "OK") else {
        return Err(BoError::NotFound);
    };
    let name = format!("ricevuta-{}.pdf", found.iuv);
    let view = documents::build_receipt(&grant.org, found);
    match crate::pdf::receipt_pdf(&view) {
        Ok(bytes) => Ok(pdf(bytes, &name)),
        Err(err) => {
            tracing::error!(error = %err, "cannot render a receipt");
            Err(BoError::Internal)
        }
    }
}
