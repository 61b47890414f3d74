//! Paying: the spontaneous payment form generated from the debt type's definition (pay now into the
//! cart, or get a notice to pay later), and looking up a notice by its code.

use maud::{Markup, html};

use super::super::Response;
use super::super::forms::encode;
use super::{Ctx, PageError, grouped};
use crate::domain::form::{AMOUNT_FIELD, AmountRule, FieldKind, FieldProblem, FormDefinition};
use crate::domain::tax_id::TaxIdError;
use crate::domain::{NoticeNumber, PartyId, PartyKind};
use crate::services::debts::options::{OptionView, ViewKind, ViewState};
use crate::services::payments::PaymentView;
use crate::services::portal::PortalError;
use crate::services::portal::carts::{self, CartLine, NewCart};
use crate::services::portal::catalog;
use crate::services::portal::spontaneous::{self, Debtor};
use crate::services::upstream::payments as upstream_payments;
use crate::store::debt_types::DebtTypeRecord;
use crate::store::orgs::OrgRecord;

/// The org (in production, offering spontaneous payments) and its active spontaneous debt type.
fn spontaneous_type(ctx: &Ctx<'_>, ipa: &str, code: &str) -> Option<(OrgRecord, DebtTypeRecord)> {
    catalog::spontaneous_type(&ctx.state.db, ipa, code).unwrap_or_else(|err| {
        tracing::error!(error = %err, "cannot read debt type");
        None
    })
}

/// The Italian sentence for a field problem.
fn problem_text(problem: &FieldProblem) -> String {
    match problem {
        FieldProblem::Missing => "Campo obbligatorio.".to_owned(),
        FieldProblem::TooShort(n) => format!("Inserisci almeno {n} caratteri."),
        FieldProblem::TooLong(n) => format!("Inserisci al massimo {n} caratteri."),
        FieldProblem::BelowMin(n) => format!("Il valore minimo è {n}."),
        FieldProblem::AboveMax(n) => format!("Il valore massimo è {n}."),
        FieldProblem::NotANumber => "Inserisci un numero intero.".to_owned(),
        FieldProblem::NotADate => "Inserisci una data valida.".to_owned(),
        FieldProblem::NotAnOption => "Scegli una delle opzioni proposte.".to_owned(),
        FieldProblem::NotAnEmail => "Inserisci un indirizzo e-mail valido.".to_owned(),
        FieldProblem::Pattern => "Il formato non è corretto.".to_owned(),
        FieldProblem::BadAmount => {
            "Inserisci un importo maggiore di zero e non superiore a 999.999.999,99 euro (ad esempio 25,50).".to_owned()
        }
        FieldProblem::CausaleTooLong => "I dati inseriti producono una causale troppo lunga.".to_owned(),
    }
}

/// The Italian sentence for a debtor's identifier that does not read: a wrong check character is
/// told apart from a wrong length or a wrong kind of person.
fn debtor_id_problem(kind: &str, id: &str) -> String {
    let copied = "Controlla di averlo scritto senza errori.";
    let id = id.trim();
    let err = match PartyKind::parse(kind.trim()).map(|kind| PartyId::parse(kind, id, false)) {
        Ok(Err(err)) => err,
        _ => {
            return "Il codice fiscale o la partita IVA non è valido (controlla anche il tipo di soggetto).".to_owned();
        }
    };
    let typed = id.chars().count();
    match err {
        TaxIdError::FiscalCodeCheck { .. } => {
            format!(
                "Il codice fiscale non è corretto: l'ultima lettera (carattere di controllo) non corrisponde agli altri caratteri. {copied}"
            )
        }
        TaxIdError::FiscalCodeShape { .. } => format!(
            "Il codice fiscale non è valido: 6 lettere, 2 cifre, 1 lettera, 2 cifre, 1 lettera, 3 cifre e 1 lettera, come sulla tessera sanitaria. {copied}"
        ),
        TaxIdError::NumericCheck { .. } => {
            format!("La partita IVA non è corretta: l'ultima cifra (di controllo) non corrisponde alle altre. {copied}")
        }
        TaxIdError::NumericShape { .. } => "La partita IVA è fatta di 11 cifre, senza lettere.".to_owned(),
        TaxIdError::NaturalPersonId { .. } => format!(
            "Per una persona fisica indica il codice fiscale (16 caratteri) o la partita IVA (11 cifre): ne hai inseriti {typed}."
        ),
        TaxIdError::LegalPersonId { .. } => format!(
            "Per una persona giuridica indica la partita IVA (11 cifre): ne hai inseriti {typed}. Se è una persona fisica, sceglilo sopra."
        ),
        TaxIdError::PartyKind { .. } | TaxIdError::AnonymousNotAllowed { .. } => {
            "Il codice fiscale o la partita IVA non è valido (controlla anche il tipo di soggetto).".to_owned()
        }
    }
}

/// Component: one input with its label, help and error.
fn input(
    id: &str,
    label: &str,
    kind: &str,
    value: &str,
    required: bool,
    help: Option<&str>,
    error: Option<&str>,
) -> Markup {
    let described = format!("{id}-help {id}-error");
    html! {
        div class="form-group" {
            label for=(id) class="active" { (label) @if required { " *" } }
            input type=(kind) class={ "form-control" @if error.is_some() { " is-invalid" } } id=(id) name=(id) value=(value)
                required[required] aria-describedby=(described) aria-invalid=[error.map(|_| "true")];
            @if let Some(h) = help { small id={ (id) "-help" } class="form-text" { (h) } }
            @if let Some(e) = error { div id={ (id) "-error" } class="invalid-feedback d-block" role="alert" { (e) } }
        }
    }
}

/// The spontaneous payment form.
fn form_view(
    ctx: &Ctx<'_>,
    org: &OrgRecord,
    t: &DebtTypeRecord,
    def: &FormDefinition,
    errors: &[(String, String)],
) -> Markup {
    let value = |name: &str| ctx.form.get(name).unwrap_or_default().to_owned();
    let error = |name: &str| errors.iter().find(|(n, _)| n == name).map(|(_, e)| e.as_str());
    let citizen = ctx.session.citizen();
    let default_id = citizen.as_ref().map(|c| c.fiscal_code.clone()).unwrap_or_default();
    let default_name = citizen.as_ref().map(|c| c.name.clone()).unwrap_or_default();
    let kind = if value("tipo_soggetto") == "G" { "G" } else { "F" };
    html! {
        nav aria-label="Percorso" class="breadcrumb-container" {
            ol class="breadcrumb" {
                li class="breadcrumb-item" { a href="/" { "Enti" } }
                li class="breadcrumb-item" { a href={ "/enti/" (org.ipa_code) } { (org.name) } }
                li class="breadcrumb-item active" aria-current="page" { (t.description) }
            }
        }
        h1 { (t.description) }
        p class="lead" { (org.name) }
        @if !errors.is_empty() {
            div class="alert alert-danger" role="alert" id="errori" {
                "Controlla i campi segnalati: " (errors.len()) @if errors.len() == 1 { " errore." } @else { " errori." }
            }
        }
        form method="post" action="/spontaneo" novalidate {
            (ctx.csrf())
            input type="hidden" name="codIpaEnte" value=(org.ipa_code);
            input type="hidden" name="codTipo" value=(t.code);
            fieldset class="mb-4" {
                legend class="h4" { "Dati del pagamento" }
                @for field in def.fields() {
                    @let spec = &field.spec;
                    @let err = error(&spec.name);
                    @match &spec.kind {
                        FieldKind::Select(options) => {
                            div class="select-wrapper form-group" {
                                label for=(spec.name) { (spec.label) @if spec.required { " *" } }
                                select id=(spec.name) name=(spec.name) required[spec.required] class={ @if err.is_some() { "is-invalid" } } {
                                    option value="" { "Scegli un'opzione" }
                                    @for (v, l) in options { option value=(v) selected[value(&spec.name) == *v] { (l) } }
                                }
                                @if let Some(h) = &spec.help { small class="form-text" { (h) } }
                                @if let Some(e) = err { div class="invalid-feedback d-block" role="alert" { (e) } }
                            }
                        }
                        FieldKind::Checkbox => {
                            div class="form-check mb-3" {
                                input type="checkbox" id=(spec.name) name=(spec.name) value="1" checked[!value(&spec.name).is_empty()];
                                label for=(spec.name) { (spec.label) @if spec.required { " *" } }
                                @if let Some(e) = err { div class="invalid-feedback d-block" role="alert" { (e) } }
                            }
                        }
                        other => {
                            @let kind = match other { FieldKind::Number => "number", FieldKind::Date => "date", FieldKind::Email => "email", _ => "text" };
                            (input(&spec.name, &spec.label, kind, &value(&spec.name), spec.required, spec.help.as_deref(), err))
                        }
                    }
                }
                @match def.amount_rule() {
                    AmountRule::Fixed => { p { "Importo: " strong { (t.fixed_amount_cents.unwrap_or_default().format_eur()) } } }
                    AmountRule::Typed => { (input(AMOUNT_FIELD, "Importo in euro", "text", &value(AMOUNT_FIELD), true, Some("Ad esempio 25,50"), error(AMOUNT_FIELD))) }
                    AmountRule::Computed { .. } => {
                        p { "L'importo è calcolato dai dati inseriti." }
                        @if let Some(e) = error(AMOUNT_FIELD) { div class="invalid-feedback d-block" role="alert" { (e) } }
                    }
                }
            }
            fieldset class="mb-4" {
                legend class="h4" { "Chi deve pagare (intestatario)" }
                div class="form-check form-check-inline" {
                    input type="radio" id="tipo_f" name="tipo_soggetto" value="F" checked[kind == "F"];
                    label for="tipo_f" { "Persona fisica" }
                }
                div class="form-check form-check-inline mb-3" {
                    input type="radio" id="tipo_g" name="tipo_soggetto" value="G" checked[kind == "G"];
                    label for="tipo_g" { "Persona giuridica" }
                }
                @let id_value = if ctx.form.get("codice_fiscale").is_some() { value("codice_fiscale") } else { default_id };
                @let name_value = if ctx.form.get("anagrafica").is_some() { value("anagrafica") } else { default_name };
                (input("codice_fiscale", "Codice fiscale o partita IVA", "text", &id_value, true, None, error("codice_fiscale")))
                (input("anagrafica", "Nome e cognome o ragione sociale", "text", &name_value, true, None, error("anagrafica")))
                (input("indirizzo", "Indirizzo (facoltativo)", "text", &value("indirizzo"), false, None, None))
                // Side by side from 576 px; one under the other on a phone.
                div class="row" {
                    div class="col-12 col-sm-4" { (input("cap", "CAP", "text", &value("cap"), false, None, None)) }
                    div class="col-12 col-sm-5" { (input("localita", "Comune", "text", &value("localita"), false, None, None)) }
                    div class="col-12 col-sm-3" { (input("provincia", "Provincia", "text", &value("provincia"), false, None, None)) }
                }
                (input("email", "E-mail (facoltativa)", "email", &value("email"), false, Some("Per ricevere l'avviso o la ricevuta."), error("email")))
            }
            div class="d-flex flex-wrap gap-2" {
                button type="submit" name="azione" value="paga" class="btn btn-primary" {
                    // Upstream mode: straight to the Region, which pays new debts without a cart here.
                    @if ctx.state.region.is_some() { "Paga ora" } @else { "Aggiungi al carrello e paga" }
                }
                button type="submit" name="azione" value="avviso" class="btn btn-outline-primary" { "Crea un avviso da pagare dopo" }
            }
        }
    }
}

/// `GET /spontaneo?codIpaEnte=&codTipo=`: the form of a spontaneous payment (MyPay's deep link).
pub fn spontaneous_form(ctx: &mut Ctx<'_>) -> Result<Response, PageError> {
    let (ipa, code) = (ctx.query.text("codIpaEnte"), ctx.query.text("codTipo"));
    let Some((org, t)) = spontaneous_type(ctx, &ipa, &code) else {
        return Err(PageError::NotOffered);
    };
    let def = spontaneous::form_for(&t)?;
    // The query carries codIpaEnte/codTipo only: start with what the citizen typed last time.
    ctx.form = super::super::forms::Form::of(ctx.session.data.typed_debtor.clone());
    let body = form_view(ctx, &org, &t, &def, &[]);
    Ok(ctx.page(&t.description, body))
}

/// `POST /spontaneo`.
pub fn spontaneous_post(ctx: &mut Ctx<'_>) -> Result<Response, PageError> {
    let (ipa, code) = (ctx.form.text("codIpaEnte"), ctx.form.text("codTipo"));
    let Some((org, t)) = spontaneous_type(ctx, &ipa, &code) else {
        return Err(PageError::NotOffered);
    };
    let def = spontaneous::form_for(&t)?;
    let mut problems: Vec<(String, String)> = Vec::new();
    let fixed = t.fixed_amount_cents;
    let form = ctx.form.clone();
    let filled = match def.fill(|name| form.get(name), fixed) {
        Ok(filled) => Some(filled),
        Err(list) => {
            problems.extend(list.iter().map(|(n, p)| (n.clone(), problem_text(p))));
            None
        }
    };
    let debtor = Debtor {
        kind: form.text("tipo_soggetto"),
        id: form.text("codice_fiscale").to_uppercase(),
        name: form.text("anagrafica"),
        address: form.text("indirizzo"),
        postal_code: form.text("cap"),
        city: form.text("localita"),
        province: form.text("provincia"),
        email: form.text("email"),
    };
    match spontaneous::check_debtor(&debtor) {
        Ok(_) => {}
        Err(crate::services::ServiceError::Invalid { field, .. }) if field == "debtor_name" => {
            problems.push(("anagrafica".to_owned(), "Inserisci il nome e cognome o la ragione sociale.".to_owned()));
        }
        Err(_) => problems.push(("codice_fiscale".to_owned(), debtor_id_problem(&debtor.kind, &debtor.id))),
    }
    if !debtor.email.is_empty() && crate::domain::Email::parse(&debtor.email).is_err() {
        problems.push(("email".to_owned(), "Inserisci un indirizzo e-mail valido.".to_owned()));
    }
    let Some(filled) = filled.filter(|_| problems.is_empty()) else {
        let body = form_view(ctx, &org, &t, &def, &problems);
        return Ok(ctx.page_with(422, &t.description, body, Vec::new()));
    };
    // What was typed about the debtor is offered again in the next forms and the cart.
    ctx.session.data.typed_debtor = crate::web::session::DEBTOR_FIELDS
        .iter()
        .map(|name| ((*name).to_owned(), if *name == "codice_fiscale" { debtor.id.clone() } else { form.text(name) }))
        .filter(|(_, value)| !value.is_empty())
        .collect();
    ctx.session.touch();
    let pay_now = form.get("azione") != Some("avviso");
    let region = super::upstream::region(ctx);
    if pay_now && region.is_none() {
        // Room in the cart is checked before anything is stored.
        let lines = ctx.session.cart_lines();
        if let Err(err) = carts::check_room_for_new(&ctx.state.db, &lines, ctx.now.today()) {
            return Err(err.into());
        }
    }
    let debtor_id = debtor.id.clone();
    match spontaneous::recently_paid(&ctx.state.db, &org.ipa_code, &t, &debtor_id, &filled.causale, ctx.now.today()) {
        Ok(true) if form.get("conferma") != Some("1") => {
            let body = html! {
                h1 { "Hai già effettuato questo pagamento?" }
                div class="alert alert-warning" role="alert" {
                    "Negli ultimi 30 giorni risulta un pagamento di " strong { (t.description) } " per " (debtor.name)
                    " con la stessa causale: " em { (filled.causale) } ". Vuoi davvero pagarlo di nuovo?"
                }
                form method="post" action="/spontaneo" {
                    @for (name, value) in form.pairs() {
                        @if name != "conferma" { input type="hidden" name=(name) value=(value); }
                    }
                    input type="hidden" name="conferma" value="1";
                    button type="submit" class="btn btn-primary me-2" { "Sì, procedi comunque" }
                    a class="btn btn-outline-primary" href="/" { "No, annulla" }
                }
            };
            return Ok(ctx.page("Pagamento già effettuato?", body));
        }
        Ok(_) => {}
        Err(err) => return Err(err.into()),
    }
    let actor =
        ctx.session.citizen().map_or_else(|| "portal:anonymous".to_owned(), |c| format!("portal:{}", c.fiscal_code));
    if pay_now && let Some(region) = region {
        // Upstream mode: the debt is the Region's to create (paaSILInviaDovuti), not mirrored.
        let fields = spontaneous::debt_fields(&t, &filled, &debtor, ctx.now)?;
        let back = super::upstream::back_url(ctx);
        let citizen = ctx.session.citizen();
        let new = NewCart {
            session_hash: ctx.session.id_hash(),
            payer_email: Some(debtor.email.as_str()).filter(|e| !e.is_empty()),
            citizen_id: citizen.as_ref().map(|c| c.fiscal_code.as_str()),
            shown_notices: None,
        };
        let url = upstream_payments::pay_spontaneous(
            &ctx.state.db,
            region,
            &org.ipa_code,
            &fields,
            &actor,
            &new,
            &back,
            ctx.now,
        )?;
        return Ok(ctx.redirect(&url));
    }
    let debt = spontaneous::create_debt(&ctx.state.db, &org.ipa_code, &t, &filled, &debtor, &actor, ctx.now)?;
    let notice = debt.notice_number.as_ref().map(|n| n.as_str().to_owned()).unwrap_or_default();
    if notice.is_empty() {
        // Upstream mode: the notice number is the Region's, stored once the outbox has sent the debt.
        let body = html! {
            h1 { "Avviso creato" }
            div class="alert alert-info" role="alert" {
                "Il dovuto è in corso di registrazione presso la Regione: il codice avviso sarà disponibile tra qualche minuto. Lo troverai nell'area personale o potrai chiederlo all'ente."
            }
        };
        return Ok(ctx.page("Avviso creato", body));
    }
    if pay_now {
        ctx.session.data.cart.push((org.fiscal_code.clone(), notice));
        ctx.session.touch();
        super::cart::carry_typed_email(ctx);
        ctx.session.flash("success", format!("{} aggiunto al carrello.", t.description));
        return Ok(ctx.redirect("/carrello"));
    }
    // The notice carries the debtor's data: its link is signed, like the receipts' links.
    let pdf_link = ctx.state.links.notice_pdf_url(&org.ipa_code, &notice, ctx.now);
    let body = html! {
        h1 { "Avviso creato" }
        div class="alert alert-success" role="alert" { "Il pagamento è stato registrato: puoi pagarlo ora o in seguito presso qualsiasi canale pagoPA." }
        dl class="row" {
            dt class="col-sm-4" { "Ente creditore" } dd class="col-sm-8" { (org.name) }
            dt class="col-sm-4" { "Codice fiscale ente" } dd class="col-sm-8" { (org.fiscal_code) }
            dt class="col-sm-4" { "Codice avviso" } dd class="col-sm-8" { strong class="notice-number" { (grouped(&notice)) } }
            dt class="col-sm-4" { "Importo" } dd class="col-sm-8" { (debt.amount_cents.format_eur()) }
            dt class="col-sm-4" { "Causale" } dd class="col-sm-8" { (debt.causale) }
            dt class="col-sm-4" { "Intestatario" } dd class="col-sm-8" { (debt.debtor.name) " (" (debt.debtor.id) ")" }
        }
        p { "Per pagare presso banche, uffici postali, tabaccherie, sportelli ATM o app di pagamento indica il " strong { "codice avviso" } " e il " strong { "codice fiscale dell'ente" } " riportati sopra." }
        p { a class="btn btn-outline-primary" href=(pdf_link) { "Scarica l'avviso di pagamento (PDF)" } }
        form method="post" action="/carrello/aggiungi" {
            (ctx.csrf())
            input type="hidden" name="ente" value=(org.fiscal_code);
            input type="hidden" name="avviso" value=(notice);
            button type="submit" class="btn btn-primary" { "Aggiungi al carrello e paga ora" }
        }
    };
    Ok(ctx.page("Avviso creato", body))
}

/// Component: a notice found, with its PDF and the button that adds it to the cart; for a position
/// with payment options (`options`, as `carts::position_options` reads them), its payable options
/// instead, each with its own "Paga".
fn notice_view(ctx: &Ctx<'_>, view: &PaymentView, options: &[OptionView]) -> Markup {
    let notice = view.debt.notice_number.as_ref().map(|n| n.as_str().to_owned()).unwrap_or_default();
    // Whoever has the notice's two codes may print it again: the link is signed, like the one shown
    // when a spontaneous notice is created.
    let pdf_link = ctx.state.links.notice_pdf_url(&view.org.ipa_code, &notice, ctx.now);
    html! {
        h1 { "Avviso di pagamento" }
        dl class="row" {
            dt class="col-sm-4" { "Ente creditore" } dd class="col-sm-8" { (view.org.name) }
            dt class="col-sm-4" { "Codice avviso" } dd class="col-sm-8" { span class="notice-number" { (grouped(&notice)) } }
            @if options.is_empty() {
                dt class="col-sm-4" { "Importo" } dd class="col-sm-8" { strong { (view.amount().format_eur()) } }
                @if let Some(due) = &view.debt.due_date { dt class="col-sm-4" { "Scadenza" } dd class="col-sm-8" { (crate::web::ui::format::day_it(*due)) } }
            }
            dt class="col-sm-4" { "Causale" } dd class="col-sm-8" { (view.debt.causale) }
            @if view.transfers.len() > 1 { dt class="col-sm-4" { "Beneficiari" } dd class="col-sm-8" { "Più enti: l'avviso va pagato da solo." } }
        }
        @if !options.is_empty() {
            (options_list(&ctx.csrf(), &view.org.fiscal_code, options))
        }
        div class="d-flex flex-wrap gap-2" {
            @if options.is_empty() {
                form method="post" action="/carrello/aggiungi" {
                    (ctx.csrf())
                    input type="hidden" name="ente" value=(view.org.fiscal_code);
                    input type="hidden" name="avviso" value=(notice);
                    button type="submit" class="btn btn-primary" { "Aggiungi al carrello" }
                }
            }
            a class="btn btn-outline-primary" href=(pdf_link) id="avviso-pdf" { "Scarica l'avviso (PDF)" }
        }
    }
}

/// What an option is called on the portal: "Unica soluzione", "Rata 2 di 4", "Importo ridotto"
/// and, beside a reduced one, "Importo intero".
fn option_title(option: &OptionView, all: &[OptionView]) -> String {
    let instalments = all.iter().filter(|o| o.kind == ViewKind::Instalment).count();
    let fine = all.iter().any(|o| o.kind == ViewKind::Reduced);
    match option.kind {
        ViewKind::Single if fine => "Importo intero".to_owned(),
        ViewKind::Single => "Unica soluzione".to_owned(),
        ViewKind::Instalment => format!("Rata {} di {instalments}", option.seq),
        ViewKind::Reduced => "Importo ridotto".to_owned(),
    }
}

/// Component: a position's payment options (`all`, every state) as cards, 360 px wide at least:
/// the payable ones with their notice code, amount, due date and a "Paga" button that puts that
/// option's notice in the cart; paid instalments marked so; the alternatives closed by a payment
/// (BR-12) and the expired ones left out, since nothing can pay them.
pub(super) fn options_list(csrf: &Markup, org_fiscal_code: &str, all: &[OptionView]) -> Markup {
    let shown = all.iter().filter(|o| match o.state {
        ViewState::Open => true,
        ViewState::Paid => o.kind == ViewKind::Instalment,
        ViewState::Closed | ViewState::Expired => false,
    });
    html! {
        p class="mb-2" { "Puoi pagare in uno di questi modi:" }
        ul class="list-group carrello-righe opzioni mb-3" aria-label="Modi di pagamento" {
            @for o in shown {
                @let notice = o.notice_number.as_ref().map(|n| n.as_str().to_owned()).unwrap_or_default();
                li class="list-group-item" data-avviso=(notice) {
                    div class="riga-testo" {
                        strong { (option_title(o, all)) } br;
                        @if let Some(due) = o.due_date {
                            @if o.kind == ViewKind::Reduced { "Entro il " } @else { "Scadenza " }
                            (crate::web::ui::format::day_it(due)) br;
                        }
                        "Codice avviso " span class="notice-number" { (grouped(&notice)) }
                    }
                    span class="riga-importo" { (o.amount.format_eur()) }
                    @if o.state == ViewState::Paid {
                        span class="riga-stato" { "Pagata" }
                    } @else {
                        form method="post" action="/carrello/aggiungi" {
                            (csrf)
                            input type="hidden" name="ente" value=(org_fiscal_code);
                            input type="hidden" name="avviso" value=(notice);
                            button type="submit" class="btn btn-primary" { "Paga" }
                        }
                    }
                }
            }
        }
    }
}

/// Component: the notice search form, with `alert` under its heading and the problem of each
/// field beside it.
fn search_form(
    ctx: &Ctx<'_>,
    (org, code): (&str, &str),
    alert: Option<Markup>,
    org_error: Option<&str>,
    code_error: Option<&str>,
) -> Markup {
    html! {
        h1 { "Paga un avviso" }
        p { "Trovi i dati sull'avviso di pagamento pagoPA che hai ricevuto." }
        @if let Some(alert) = alert { (alert) }
        form method="post" action="/avviso" class="mt-5" novalidate {
            (ctx.csrf())
            (input("ente", "Codice fiscale dell'ente creditore", "text", org, true, Some("11 cifre, ad esempio 01234567897"), org_error))
            (input("avviso", "Codice avviso", "text", code, true, Some("18 cifre, anche separate da spazi; oppure lo IUV"), code_error))
            button type="submit" class="btn btn-primary" { "Cerca l'avviso" }
        }
    }
}

/// `GET /avviso`: the org's code defaults to the one the citizen typed last.
pub fn notice_search(ctx: &mut Ctx<'_>) -> Result<Response, PageError> {
    let (mut org, code) = (ctx.query.text("ente"), ctx.query.text("avviso"));
    if org.is_empty() {
        org = ctx.session.data.typed_org.clone().unwrap_or_default();
    }
    let body = search_form(ctx, (&org, &code), None, None, None);
    Ok(ctx.page("Paga un avviso", body))
}

/// `POST /avviso`: looks the notice up as verify would. A code typed wrong is told beside its
/// field; a notice that cannot be paid above the form.
pub fn notice_post(ctx: &mut Ctx<'_>) -> Result<Response, PageError> {
    let (org, code) = (ctx.form.text("ente"), ctx.form.text("avviso"));
    let org_code = carts::parse_org_code(&org);
    let notice = carts::parse_notice_code(&ctx.state.db, &org, &code);
    if let Ok(valid) = &org_code {
        ctx.session.data.typed_org = Some(valid.as_str().to_owned());
        ctx.session.touch();
    }
    let problem_of = |err: &PortalError| match err {
        PortalError::BadCode(problem) => Some(super::errors::code_problem(*problem)),
        _ => None,
    };
    let org_error = org_code.as_ref().err().and_then(problem_of);
    let code_error = notice.as_ref().err().and_then(problem_of);
    if org_error.is_some() || code_error.is_some() {
        let count = usize::from(org_error.is_some()) + usize::from(code_error.is_some());
        let alert = html! {
            div class="alert alert-danger" role="alert" id="errori" {
                "Controlla i campi segnalati: " (count) @if count == 1 { " errore." } @else { " errori." }
            }
        };
        let body = search_form(ctx, (&org, &code), Some(alert), org_error.as_deref(), code_error.as_deref());
        return Ok(ctx.page_with(400, "Paga un avviso", body, Vec::new()));
    }
    let found = notice.and_then(|notice| carts::find_payable(&ctx.state.db, &org, &notice, ctx.now.today()));
    match found {
        Ok(view) => {
            let options = carts::position_options(&ctx.state.db, &view, ctx.now.today())?;
            let body = notice_view(ctx, &view, &options);
            Ok(ctx.page("Avviso di pagamento", body))
        }
        Err(err) => {
            let (status, text) = super::describe(&err);
            let alert = html! { div class="alert alert-danger" role="alert" { (text) } };
            let body = search_form(ctx, (&org, &code), Some(alert), None, None);
            Ok(ctx.page_with(status, "Paga un avviso", body, Vec::new()))
        }
    }
}

/// Adds a notice to the session's cart after checking it again.
pub fn add_to_cart(ctx: &mut Ctx<'_>, org_fiscal_code: &str, notice: &NoticeNumber) -> Result<(), PortalError> {
    let lines = ctx.session.cart_lines();
    let views = carts::load_cart(&ctx.state.db, &lines, ctx.now.today())?;
    let view = carts::find_payable(&ctx.state.db, org_fiscal_code, notice, ctx.now.today())?;
    carts::check_add(&views, &view)?;
    let line = CartLine { org_fiscal_code: view.org.fiscal_code.clone(), notice_number: notice.as_str().to_owned() };
    ctx.session.data.cart.push((line.org_fiscal_code, line.notice_number));
    ctx.session.touch();
    Ok(())
}

/// The deep link of a debt type (for the org's own site).
pub fn deep_link(ipa: &str, code: &str) -> String {
    format!("/spontaneo?codIpaEnte={}&codTipo={}", encode(ipa), encode(code))
}

/// `GET /avvisi/{ipa}/{notice}.pdf?firma=...`: the payment notice of a debt, behind the signed link
/// shown when the debt was created.
pub fn notice_pdf(ctx: &mut Ctx<'_>, ipa: &str, file: &str) -> Result<Response, PageError> {
    let Some(notice) = file.strip_suffix(".pdf") else {
        return Err(PageError::NotFound);
    };
    let signature = ctx.query.get("firma").unwrap_or_default();
    if !ctx.state.links.verify_notice(ipa, notice, signature, ctx.now) {
        return Err(PageError::Forbidden("Il collegamento all'avviso non è valido."));
    }
    let view = match crate::services::debts::documents::notice_view(
        &ctx.state.db,
        ipa,
        &crate::services::debts::documents::NoticeKey::NoticeNumber(notice.to_owned()),
        ctx.now,
    ) {
        Ok(view) => view,
        Err(err) if err.is_user_error() => return Err(PageError::NotFound),
        Err(err) => return Err(err.into()),
    };
    match crate::pdf::notice_pdf(&view) {
        Ok(bytes) => Ok(Response { status: 200, headers: Vec::new(), body: bytes }
            .with_header("Content-Type", "application/pdf")
            .with_header("Content-Disposition", format!("inline; filename=\"avviso-{notice}.pdf\""))
            .with_header("Cache-Control", "private, no-store")),
        Err(err) => {
            tracing::error!(error = %err, "cannot render a notice");
            Err(PageError::Internal)
        }
    }
}
