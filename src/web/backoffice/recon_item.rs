//! The reconciliation page's drill-down and transfer (issue 19): a label's rows (in a month),
//! paged, with a marker where a row has an active note; one row with the documents behind it
//! (receipt, reporting-flow rows, treasury movements, notification) and its notes per label,
//! with the forms that add a note and hide or show one. The overview, flags and uploads are
//! `reconciliation`'s. Item ids change when a row is classified again: every link to a row also
//! carries its key ([`ItemKey`]), and a link whose id is gone, or names another row now, leads
//! to the row that has the key now (or back to the overview, saying so).

use maud::html;

use super::reconciliation::{base_of, eur, meaning_it, month_days};
use super::{BoCtx, BoError, user_message};
use crate::domain::Cents;
use crate::domain::reconciliation::Label;
use crate::services::ServiceError;
use crate::services::reconciliation::detail::{self, ItemDetail};
use crate::services::reconciliation::notes::{self, Element};
use crate::services::reconciliation::{self, Filter};
use crate::store::reconciliation::{ItemKey, ItemRecord};
use crate::web::Response;
use crate::web::forms::encode;
use crate::web::ui::format::{date_it, datetime_it, day_it};

/// Rows of a drill-down page.
const PAGE_SIZE: u32 = 50;

/// `GET /operatore/{ipa}/riconciliazione/elenco?etichetta=&mese=&pagina=`: a label's transfers.
pub fn drill_down(ctx: &mut BoCtx<'_>, ipa: &str) -> Result<Response, BoError> {
    let grant = ctx.grant(ipa)?;
    let ipa = grant.org.ipa_code.clone();
    let label = ctx.form.get("etichetta").and_then(Label::from_code);
    let Some(label) = label else {
        return Err(BoError::BadRequest("Scegli un'etichetta della riconciliazione.".to_owned()));
    };
    let month = ctx.form.get("mese").map(str::trim).filter(|m| !m.is_empty()).map(str::to_owned);
    let days = match &month {
        Some(m) => Some(month_days(m).ok_or_else(|| BoError::BadRequest("Il mese non è valido.".to_owned()))?),
        None => None,
    };
    let page: u32 = ctx.form.get("pagina").and_then(|p| p.parse().ok()).unwrap_or(1).clamp(1, 100_000);
    let filter = Filter {
        label: Some(label),
        from: days.map(|d| d.0),
        to: days.map(|d| d.1),
        limit: PAGE_SIZE + 1,
        offset: (page - 1) * PAGE_SIZE,
    };
    let db = &ctx.state.db;
    let found = reconciliation::list_visible(db, &grant, filter)
        .and_then(|items| Ok((items, notes::active(db, &grant, Some(label), false)?)));
    let (mut items, noted) = match found {
        Ok(found) => found,
        Err(err) => {
            tracing::error!(error = %err, "cannot list a reconciliation label");
            return Err(BoError::Internal);
        }
    };
    let more = items.len() > PAGE_SIZE as usize;
    items.truncate(PAGE_SIZE as usize);
    let has_note = |item: &ItemRecord| {
        let index = item.transfer_index.map(|i| i.to_string());
        let e = Element::of_item(item, label, &index);
        noted.iter().any(|n| {
            n.element.iud.as_deref() == e.iud && n.element.iuv.as_deref() == e.iuv && n.element.iuf.as_deref() == e.iuf
        })
    };
    let base = base_of(&ipa);
    let query = format!(
        "{base}/elenco?etichetta={}{}",
        label.code(),
        month.as_ref().map(|m| format!("&mese={m}")).unwrap_or_default()
    );
    let title = format!("{} ({})", label.caption_it(), label.code());
    let main = html! {
        h1 { (label.caption_it()) }
        p class="lead" { (grant.org.name) " · " code { (label.code()) } @if let Some(m) = &month { " · " (m) } }
        p { (meaning_it(label)) }
        p {
            a href=(base) { "Torna alla riconciliazione" } " · "
            a href={ "/operatore/" (ipa) "/esportazioni#riconciliazione" } { "Esporta il flusso di riconciliazione" }
        }
        @if items.is_empty() {
            p { "Nessun elemento." }
        } @else {
            div class="table-responsive" {
                table class="table tabella-compatta" {
                    caption class="visually-hidden" { "Elementi con l'etichetta " (label.caption_it()) }
                    thead { tr {
                        th scope="col" { "Giorno" } th scope="col" { "IUV" } th scope="col" { "IUR" } th scope="col" { "Indice" }
                        th scope="col" { "Notifica" } th scope="col" { "Ricevuta" } th scope="col" { "Rendicontato" }
                        th scope="col" { "Tesoreria (IUF)" } th scope="col" { "Tesoreria (IUV)" } th scope="col" { "Etichette" }
                        th scope="col" { "Segnalazione" }
                    } }
                    tbody {
                        @for item in &items {
                            tr data-item=(item.id) {
                                td { (date_it(&item.day)) }
                                td {
                                    a href=(link_of(&base, item)) {
                                        @if let Some(iuv) = &item.iuv { (iuv) } @else { "Movimento senza IUV" }
                                    }
                                }
                                td { (item.iur.clone().unwrap_or_default()) }
                                td class="importo" { (item.transfer_index.map(|i| i.to_string()).unwrap_or_default()) }
                                td class="importo" { (eur(item.n_cents)) }
                                td class="importo" { (eur(item.e_cents)) }
                                td class="importo" { (eur(item.r_cents)) }
                                td class="importo" { (eur(item.t_iuf_cents)) }
                                td class="importo" { (eur(item.t_iuv_cents)) }
                                td { small { (item.labels.iter().map(|l| l.code()).collect::<Vec<_>>().join(" ")) } }
                                td { @if has_note(item) { "Sì" } }
                            }
                        }
                    }
                }
            }
        }
        nav aria-label="Pagine degli elementi" {
            ul class="pagination" {
                @if page > 1 { li class="page-item" { a class="page-link" href={ (query) "&pagina=" (page - 1) } { "Precedenti" } } }
                li class="page-item active" aria-current="page" { span class="page-link" { "Pagina " (page) } }
                @if more { li class="page-item" { a class="page-link" href={ (query) "&pagina=" (page + 1) } { "Successivi" } } }
            }
        }
    };
    Ok(ctx.page(&title, main))
}

/// A row's key as a link's fields (names and values), for a query or a form's hidden inputs.
fn key_fields(key: Option<&ItemKey>) -> Vec<(&'static str, String)> {
    match key {
        None => Vec::new(),
        Some(ItemKey::Movement(movement)) => vec![("mov", movement.to_string())],
        Some(ItemKey::Poste(poste)) => vec![("poste", poste.clone())],
        Some(ItemKey::Transfer { iuv, iur, index, iud }) => {
            let mut fields = vec![("iuv", iuv.clone())];
            fields.extend(iur.clone().map(|iur| ("iur", iur)));
            fields.extend(index.map(|i| ("indice", i.to_string())));
            fields.extend(iud.clone().map(|iud| ("iud", iud)));
            fields
        }
    }
}

/// The link to row `id`, with its key for when the id is gone.
fn item_href(base: &str, id: i64, key: Option<&ItemKey>) -> String {
    let query: Vec<String> = key_fields(key).iter().map(|(name, value)| format!("{name}={}", encode(value))).collect();
    match query.is_empty() {
        true => format!("{base}/voce/{id}"),
        false => format!("{base}/voce/{id}?{}", query.join("&")),
    }
}

/// The link to a row.
fn link_of(base: &str, item: &ItemRecord) -> String {
    item_href(base, item.id, ItemKey::of(item).as_ref())
}

/// The key a link carries (`None`: an old link, or one typed by hand, with the id alone).
fn key_of_link(ctx: &BoCtx<'_>) -> Option<ItemKey> {
    let field = |name: &str| ctx.form.get(name).map(str::trim).filter(|v| !v.is_empty()).map(str::to_owned);
    if let Some(movement) = field("mov") {
        return movement.parse().ok().map(ItemKey::Movement);
    }
    if let Some(poste) = field("poste") {
        return Some(ItemKey::Poste(poste));
    }
    let iuv = field("iuv")?;
    let index = match field("indice") {
        Some(i) => Some(i.parse().ok()?),
        None => None,
    };
    Some(ItemKey::Transfer { iuv, iur: field("iur"), index, iud: field("iud") })
}

/// What a link to a row finds.
enum Found {
    Row(Box<(crate::web::authz::OperatorGrant, ItemDetail)>),
    /// The row was classified again: this is its link now.
    Moved(String),
    /// The row was classified again and no row has its key now: the overview's link.
    Gone(String),
}

/// The row a link names: by its id when that row still has the link's key, else by the key. A
/// row classified again and no longer there sends the operator back to the overview, saying so.
fn load_detail(ctx: &mut BoCtx<'_>, ipa: &str, id: &str) -> Result<Found, BoError> {
    let grant = ctx.grant(ipa)?;
    let id = id.parse::<i64>().map_err(|_| BoError::NotFound)?;
    let key = key_of_link(ctx);
    let internal = |err: ServiceError| {
        tracing::error!(error = %err, "cannot read a reconciled row");
        BoError::Internal
    };
    match detail::detail(&ctx.state.db, &grant, id) {
        Ok(found) if key.is_none() || ItemKey::of(&found.item) == key => {
            return Ok(Found::Row(Box::new((grant, found))));
        }
        Ok(_) | Err(ServiceError::NotFound(_)) => {}
        Err(err) => return Err(internal(err)),
    }
    let Some(key) = key else { return Err(BoError::NotFound) };
    let base = base_of(&grant.org.ipa_code);
    Ok(match detail::current_id(&ctx.state.db, &grant, &key).map_err(internal)? {
        Some(now) => Found::Moved(item_href(&base, now, Some(&key))),
        None => Found::Gone(base),
    })
}

/// Back to the overview, saying why: the row of the link is no longer there.
fn gone(ctx: &mut BoCtx<'_>, overview: &str) -> Response {
    ctx.session.flash(
        "warning",
        "L'elemento è stato classificato di nuovo e non c'è più: cercalo tra le etichette della riconciliazione.",
    );
    ctx.redirect(overview)
}

/// `GET /operatore/{ipa}/riconciliazione/voce/{item}`: one row, its documents and its notes.
pub fn item(ctx: &mut BoCtx<'_>, ipa: &str, id: &str) -> Result<Response, BoError> {
    let (grant, found) = match load_detail(ctx, ipa, id)? {
        Found::Row(found) => *found,
        Found::Moved(to) => return Ok(ctx.redirect(&to)),
        Found::Gone(overview) => return Ok(gone(ctx, &overview)),
    };
    let ItemDetail { item, receipt, reported, movements, notifications } = &found;
    let ipa = grant.org.ipa_code.clone();
    let base = base_of(&ipa);
    let index = item.transfer_index.map(|i| i.to_string());
    let mut notes_of = Vec::new();
    for label in &item.labels {
        let e = Element::of_item(item, *label, &index);
        let keyed = e.iud.is_some() || e.iuv.is_some() || e.iuf.is_some();
        let history = if keyed {
            match notes::history(&ctx.state.db, &grant, &e) {
                Ok(history) => history,
                Err(err) => {
                    tracing::error!(error = %err, "cannot read the notes of a reconciled row");
                    return Err(BoError::Internal);
                }
            }
        } else {
            Vec::new()
        };
        notes_of.push((*label, keyed, history));
    }
    let csrf = ctx.csrf();
    // The forms post to the row's path, its key in hidden fields.
    let here = format!("{base}/voce/{}", item.id);
    let key = html! { @for (name, value) in key_fields(ItemKey::of(item).as_ref()) { input type="hidden" name=(name) value=(value); } };
    let text = |v: &Option<String>| v.clone().unwrap_or_else(|| "—".to_owned());
    let main = html! {
        h1 { "Elemento della riconciliazione" }
        p class="lead" { (grant.org.name) }
        p { a href=(base) { "Torna alla riconciliazione" } }
        dl class="row" {
            dt class="col-sm-3" { "IUV" } dd class="col-sm-9" { (text(&item.iuv)) }
            dt class="col-sm-3" { "IUR" } dd class="col-sm-9" { (text(&item.iur)) }
            dt class="col-sm-3" { "Indice del trasferimento" } dd class="col-sm-9" { (item.transfer_index.map(|i| i.to_string()).unwrap_or_else(|| "—".to_owned())) }
            dt class="col-sm-3" { "IUD" } dd class="col-sm-9" { (text(&item.iud)) }
            dt class="col-sm-3" { "IUF" } dd class="col-sm-9" { (text(&item.iuf)) }
            dt class="col-sm-3" { "Giorno" } dd class="col-sm-9" { (date_it(&item.day)) }
            dt class="col-sm-3" { "Importo" } dd class="col-sm-9" { (Cents::new(item.amount).format_eur()) }
        }
        h2 class="h4" { "Etichette" }
        ul {
            @for label in &item.labels {
                li { strong { (label.caption_it()) } " " code { (label.code()) } ": " (meaning_it(*label)) }
            }
        }
        h2 class="h4" { "Importi per fonte" }
        div class="table-responsive" {
            table class="table tabella-compatta" {
                caption class="visually-hidden" { "Importi per fonte" }
                thead { tr {
                    th scope="col" { "Notifica" } th scope="col" { "Ricevuta (trasferimento)" } th scope="col" { "Ricevuta (totale)" }
                    th scope="col" { "Rendicontato" } th scope="col" { "Totale del flusso" } th scope="col" { "Tesoreria per IUF" }
                    th scope="col" { "Tesoreria per IUV" } th scope="col" { "Movimenti" }
                } }
                tbody { tr {
                    td class="importo" { (eur(item.n_cents)) } td class="importo" { (eur(item.e_cents)) }
                    td class="importo" { (eur(item.e_total_cents)) } td class="importo" { (eur(item.r_cents)) }
                    td class="importo" { (eur(item.r_total_cents)) } td class="importo" { (eur(item.t_iuf_cents)) }
                    td class="importo" { (eur(item.t_iuv_cents)) } td class="importo" { (item.t_count) }
                } }
            }
        }
        h2 class="h4" { "Documenti" }
        h3 class="h5" { "Ricevuta" }
        @if let Some(r) = receipt {
            p {
                "Ricevuta " code { (r.receipt_id) } " del " (day_it(r.payment_date)) ", " (r.amount_cents.format_eur())
                ", PSP " (r.psp_company_name) " (esito " (r.outcome) "). "
                @if let Some(debt) = r.debt_id {
                    a href={ "/operatore/" (ipa) "/dovuti/" (debt) } { "Dovuto" } " · "
                    a href={ "/operatore/" (ipa) "/dovuti/" (debt) "/ricevute/" (r.id) } { "Ricevuta PDF" }
                } @else {
                    "Il dovuto pagato non è tra quelli dell'ente."
                }
            }
        } @else {
            p { "Nessuna ricevuta." }
        }
        h3 class="h5" { "Flusso di rendicontazione" }
        @if reported.is_empty() {
            p { "Nessuna rendicontazione." }
        } @else {
            div class="table-responsive" {
                table class="table tabella-compatta" {
                    caption class="visually-hidden" { "Righe dei flussi di rendicontazione" }
                    thead { tr {
                        th scope="col" { "Flusso (IUF)" } th scope="col" { "IUR" } th scope="col" { "Indice" } th scope="col" { "Importo" }
                        th scope="col" { "Esito" } th scope="col" { "Data esito" } th scope="col" { "Totale del flusso" }
                    } }
                    tbody {
                        @for r in reported {
                            tr {
                                td { a href={ "/operatore/" (ipa) "/rendicontazione/" (r.flow_id) } { (r.iuf) } }
                                td { (r.iur) }
                                td class="importo" { (r.transfer_index.map(|i| i.to_string()).unwrap_or_default()) }
                                td class="importo" { (r.amount.format_eur()) }
                                td { (r.outcome_code) }
                                td { (date_it(&r.outcome_date)) }
                                td class="importo" { (r.flow_total.map(|c| c.format_eur()).unwrap_or_default()) }
                            }
                        }
                    }
                }
            }
        }
        h3 class="h5" { "Movimenti di tesoreria" }
        @if movements.is_empty() {
            p { "Nessun movimento." }
        } @else {
            div class="table-responsive" {
                table class="table tabella-compatta" {
                    caption class="visually-hidden" { "Movimenti di tesoreria" }
                    thead { tr {
                        th scope="col" { "Fonte" } th scope="col" { "Bolletta" } th scope="col" { "Data contabile" } th scope="col" { "Importo" }
                        th scope="col" { "IUF" } th scope="col" { "IUV" } th scope="col" { "Causale" }
                    } }
                    tbody {
                        @for m in movements {
                            tr {
                                td { (m.source) }
                                td { @if let (Some(y), Some(n)) = (m.bolletta_year, &m.bolletta_number) { (y) "/" (n) } }
                                td { (day_it(m.booking_day)) }
                                td class="importo" { (m.amount.format_eur()) }
                                td { (m.iuf.clone().unwrap_or_default()) }
                                td { (m.iuv.clone().unwrap_or_default()) }
                                td { small class="text-break" { (m.causale) } }
                            }
                        }
                    }
                }
            }
        }
        h3 class="h5" { "Notifica dell'ente" }
        @if notifications.is_empty() {
            p { "Nessuna notifica." }
        } @else {
            ul {
                @for n in notifications {
                    li { "IUD " code { (n.iud) } ", IUV " (n.iuv) ", pagato il " (day_it(n.paid_on)) ", " (n.amount.format_eur()) }
                }
            }
        }
        h2 class="h4" id="segnalazioni" { "Segnalazioni" }
        @for (label, keyed, history) in &notes_of {
            h3 class="h5" { (label.caption_it()) " " code { (label.code()) } }
            @if !keyed {
                p { "Questo elemento non ha identificativi (IUD, IUV o IUF): non può ricevere segnalazioni." }
            } @else {
                @if history.is_empty() {
                    p { "Nessuna segnalazione." }
                } @else {
                    ul class="list-unstyled" {
                        @for n in history {
                            li class="mb-2" data-note=(n.id) {
                                @if n.active && !n.hidden { strong { "Attiva" } } @else if n.active { strong { "Nascosta" } } @else { "Precedente" }
                                " · " (n.author.strip_prefix("operator:").unwrap_or(&n.author)) " · " (datetime_it(&n.created_at))
                                br; span class="text-break" { (n.note) }
                                @if n.active {
                                    form method="post" action={ (here) "/segnalazioni/" (n.id) } class="d-inline ms-2" {
                                        (csrf)
                                        (key)
                                        input type="hidden" name="nascosta" value=(if n.hidden { "0" } else { "1" });
                                        button type="submit" class="btn btn-outline-primary btn-sm" {
                                            @if n.hidden { "Mostra" } @else { "Nascondi" }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
                form method="post" action={ (here) "/segnalazioni" } class="mb-4" {
                    (csrf)
                    (key)
                    input type="hidden" name="etichetta" value=(label.code());
                    div class="mb-2" {
                        label for={ "nota-" (label.code()) } { "Nuova segnalazione (" (label.caption_it()) ")" }
                        textarea class="form-control" id={ "nota-" (label.code()) } name="nota" rows="2" maxlength=(notes::NOTE_MAX_CHARS) required {}
                    }
                    button type="submit" class="btn btn-outline-primary btn-sm" { "Aggiungi la segnalazione" }
                }
            }
        }
    };
    Ok(ctx.page("Elemento della riconciliazione", main))
}

/// `POST /operatore/{ipa}/riconciliazione/voce/{item}/segnalazioni`: a note on the row under one
/// of its labels.
pub fn add_note(ctx: &mut BoCtx<'_>, ipa: &str, id: &str) -> Result<Response, BoError> {
    let (grant, found) = match load_detail(ctx, ipa, id)? {
        Found::Row(found) => *found,
        // The operator saw the row before it was classified again: the note is not added blind.
        Found::Moved(to) => return Ok(moved_before_the_form(ctx, &to)),
        Found::Gone(overview) => return Ok(gone(ctx, &overview)),
    };
    let item = &found.item;
    let here = format!("{}#segnalazioni", link_of(&base_of(&grant.org.ipa_code), item));
    let Some(label) = ctx.form.get("etichetta").and_then(Label::from_code) else {
        return Err(BoError::BadRequest("Scegli l'etichetta della segnalazione.".to_owned()));
    };
    let index = item.transfer_index.map(|i| i.to_string());
    let element = Element::of_item(item, label, &index);
    let text = ctx.form.text("nota");
    match notes::add(&ctx.state.db, &grant, &element, &text, ctx.now) {
        Ok(_) => ctx.session.flash("success", "Segnalazione aggiunta."),
        Err(ServiceError::Invalid { field, .. }) if field == "nota" => {
            ctx.session.flash("danger", "Scrivi il testo della segnalazione (al massimo 4.000 caratteri).")
        }
        Err(err) if err.is_user_error() => ctx.session.flash("danger", user_message(&err)),
        Err(err) => {
            tracing::error!(error = %err, "cannot add a reconciliation note");
            return Err(BoError::Internal);
        }
    }
    Ok(ctx.redirect(&here))
}

/// `POST /operatore/{ipa}/riconciliazione/voce/{item}/segnalazioni/{note}`: hides a note
/// (`nascosta=1`) or shows it again (`nascosta=0`).
pub fn hide_note(ctx: &mut BoCtx<'_>, ipa: &str, id: &str, note: &str) -> Result<Response, BoError> {
    let (grant, found) = match load_detail(ctx, ipa, id)? {
        Found::Row(found) => *found,
        Found::Moved(to) => return Ok(moved_before_the_form(ctx, &to)),
        Found::Gone(overview) => return Ok(gone(ctx, &overview)),
    };
    let here = format!("{}#segnalazioni", link_of(&base_of(&grant.org.ipa_code), &found.item));
    let note = note.parse::<i64>().map_err(|_| BoError::NotFound)?;
    // The note must be one of this row's: seeing a row does not open the notes of rows one may not see.
    let index = found.item.transfer_index.map(|i| i.to_string());
    let mut of_row = false;
    for label in &found.item.labels {
        let e = Element::of_item(&found.item, *label, &index);
        if e.iud.is_some() || e.iuv.is_some() || e.iuf.is_some() {
            let history = notes::history(&ctx.state.db, &grant, &e).map_err(|err| {
                tracing::error!(error = %err, "cannot read the notes of a reconciled row");
                BoError::Internal
            })?;
            of_row |= history.iter().any(|n| n.id == note);
        }
    }
    if !of_row {
        return Err(BoError::NotFound);
    }
    let hidden = ctx.form.get("nascosta") != Some("0");
    match notes::set_hidden(&ctx.state.db, &grant, note, hidden, ctx.now) {
        Ok(_) => ctx
            .session
            .flash("success", if hidden { "Segnalazione nascosta." } else { "Segnalazione di nuovo visibile." }),
        Err(ServiceError::NotFound(_)) => return Err(BoError::NotFound),
        Err(err) => {
            tracing::error!(error = %err, "cannot hide a reconciliation note");
            return Err(BoError::Internal);
        }
    }
    Ok(ctx.redirect(&here))
}

/// A form sent from a row's page after the row was classified again: nothing is changed, and
/// the operator sees the row as it is now (or the overview) before sending it again.
fn moved_before_the_form(ctx: &mut BoCtx<'_>, to: &str) -> Response {
    ctx.session.flash(
        "warning",
        "L'elemento è stato classificato di nuovo mentre lo guardavi: controllalo e invia di nuovo la segnalazione.",
    );
    ctx.redirect(to)
}
