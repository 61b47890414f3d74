//! Inserting, modifying and annulling one debt from the back office, through the same services and
//! row rules as an import (`I`, `M`, `A`): a refused form shows the import's codes and descriptions,
//! and nothing changes: each broken rule is told in Italian beside its field (`aria-describedby`),
//! MyPay's code kept in small text. Only debt types enabled for the operator can be used. An org
//! whose mode does not include single debts' upkeep sees why instead of the form.

use maud::{Markup, html};

use super::problems::{Problems, feedback, summary};
use super::{BoCtx, BoError, user_message};
use crate::domain::adhesion::Channel;
use crate::domain::debt_row::{DebtFields, RowError};
use crate::domain::payment_options::{self, Plan, PlanError};
use crate::domain::{Cents, Day};
use crate::services::ServiceError;
use crate::services::admin::debt_types;
use crate::services::debts::search as debt_search;
use crate::services::debts::{self, Source, options};
use crate::store::debts::DebtRecord;
use crate::web::Response;
use crate::web::authz::OperatorGrant;

/// The form's values, as typed (or as stored, when editing).
#[derive(Debug, Clone, Default)]
struct Values {
    debt_type: String,
    iud: String,
    debtor_kind: String,
    debtor_id: String,
    debtor_name: String,
    debtor_email: String,
    due_date: String,
    amount: String,
    causale: String,
    generate_iuv: bool,
    /// Instalments, one a line: amount and due date (insert only).
    instalments: String,
    /// A reduced amount and its last day (insert only).
    reduced_amount: String,
    reduced_until: String,
}

impl Values {
    fn from_form(ctx: &BoCtx<'_>) -> Values {
        let f = |name: &str| ctx.form.text(name).trim().to_owned();
        Values {
            debt_type: f("tipo"),
            iud: f("iud"),
            debtor_kind: f("tipo_soggetto"),
            debtor_id: f("cf").to_ascii_uppercase(),
            debtor_name: f("nome"),
            debtor_email: f("email"),
            due_date: f("scadenza"),
            amount: f("importo"),
            causale: f("causale"),
            generate_iuv: ctx.form.get("genera_iuv").is_some(),
            instalments: ctx.form.text("rate").trim().to_owned(),
            reduced_amount: f("ridotto_importo"),
            reduced_until: f("ridotto_fino_al"),
        }
    }

    fn from_debt(d: &DebtRecord) -> Values {
        Values {
            debt_type: d.debt_type_code.clone(),
            iud: d.iud.clone(),
            debtor_kind: d.debtor.kind.clone(),
            debtor_id: d.debtor.id.clone(),
            debtor_name: d.debtor.name.clone(),
            debtor_email: d.debtor.email.clone().unwrap_or_default(),
            due_date: d.due_date.map(|day| day.to_string()).unwrap_or_default(),
            amount: d.amount_cents.to_italian(),
            causale: d.causale.clone(),
            generate_iuv: d.generate_iuv,
            ..Values::default()
        }
    }

    /// The payment options typed in the form, or the field and what is wrong with it (Italian).
    fn plan(&self, today: jiff::civil::Date) -> Result<Plan, (&'static str, String)> {
        let money = |field: &'static str, text: &str| {
            Cents::parse_italian(text.trim())
                .map_err(|_| (field, format!("«{text}» non è un importo in euro: scrivilo ad esempio 1.020,50.")))
        };
        let day = |field: &'static str, text: &str| {
            let text = text.trim();
            let iso = match text.split('/').collect::<Vec<_>>()[..] {
                [d, m, y] => format!("{y}-{m:0>2}-{d:0>2}"),
                _ => text.to_owned(),
            };
            Day::parse(&iso).map_err(|_| (field, format!("«{text}» non è una data: scrivila ad esempio 31/01/2027.")))
        };
        let mut instalments = Vec::new();
        for line in self.instalments.lines().map(str::trim).filter(|l| !l.is_empty()) {
            let Some((amount, due)) = line.rsplit_once(char::is_whitespace) else {
                return Err((
                    "rate",
                    format!("Nella riga «{line}» scrivi l'importo e la scadenza, ad esempio 100,00 31/01/2027."),
                ));
            };
            instalments.push((money("rate", amount)?, day("rate", due)?));
        }
        let reduced = match (self.reduced_amount.is_empty(), self.reduced_until.is_empty()) {
            (true, true) => None,
            (false, false) => {
                Some((money("ridotto_importo", &self.reduced_amount)?, day("ridotto_fino_al", &self.reduced_until)?))
            }
            (true, false) => return Err(("ridotto_importo", "Scrivi l'importo ridotto.".to_owned())),
            (false, true) => {
                return Err(("ridotto_fino_al", "Scrivi fino a quando vale l'importo ridotto.".to_owned()));
            }
        };
        if instalments.is_empty() && reduced.is_none() {
            // One option: the row's own rules check the amount, with the import's codes.
            return Ok(Plan::default());
        }
        let single = match self.amount.is_empty() {
            true if !instalments.is_empty() => None,
            _ => Some(money("importo", &self.amount)?),
        };
        let plan = Plan { single, instalments, reduced };
        payment_options::check_plan(&plan, today).map_err(|err| match err {
            PlanError::TooManyInstalments => ("rate", format!("Al massimo {} rate.", payment_options::MAX_INSTALMENTS)),
            PlanError::ZeroInstalment(n) => ("rate", format!("La rata {n} deve avere un importo maggiore di zero.")),
            PlanError::InstalmentOrder(n) => {
                ("rate", format!("La scadenza della rata {n} deve seguire quella della rata precedente."))
            }
            PlanError::ReducedWithoutSingle => {
                ("importo", "L'importo ridotto è un'alternativa all'importo intero: scrivi anche quello.".to_owned())
            }
            PlanError::ReducedWithInstalments => (
                "ridotto_importo",
                "L'importo ridotto non si può combinare con le rate: l'avviso di pagamento non prevede entrambi."
                    .to_owned(),
            ),
            PlanError::ReducedAmount => (
                "ridotto_importo",
                "L'importo ridotto deve essere maggiore di zero e minore dell'importo intero.".to_owned(),
            ),
            PlanError::ReducedPast(_) => ("ridotto_fino_al", "La data dell'importo ridotto è già passata.".to_owned()),
            PlanError::Empty => ("importo", "Scrivi l'importo o almeno una rata.".to_owned()),
        })?;
        Ok(plan)
    }

    /// The row the services check; the amount typed the Italian way is given in the flows' form.
    fn fields(&self, collection_data: String, iuv: Option<String>) -> DebtFields {
        let amount =
            Cents::parse_italian(&self.amount).map(Cents::to_decimal_string).unwrap_or_else(|_| self.amount.clone());
        DebtFields {
            iud: self.iud.clone(),
            iuv: iuv.unwrap_or_default(),
            debtor_kind: self.debtor_kind.clone(),
            debtor_id: self.debtor_id.clone(),
            debtor_name: self.debtor_name.clone(),
            debtor_email: self.debtor_email.clone(),
            due_date: self.due_date.clone(),
            amount,
            debt_type: self.debt_type.clone(),
            causale: self.causale.clone(),
            collection_data,
            generate_iuv: self.generate_iuv,
            ..DebtFields::default()
        }
    }
}

/// The labels of the form's fields, in its order (the summary of errors links to them).
const LABELS: [(&str, &str); 12] = [
    ("tipo", "Tipo dovuto"),
    ("iud", "IUD (identificativo del dovuto per l'ente)"),
    ("tipo_soggetto", "Tipo di debitore"),
    ("cf", "Codice fiscale o partita IVA"),
    ("nome", "Nome e cognome o ragione sociale"),
    ("email", "E-mail del debitore"),
    ("scadenza", "Scadenza"),
    ("importo", "Importo in euro (es. 1.020,50)"),
    ("causale", "Causale"),
    ("rate", "Rate (facoltative): una per riga, importo e scadenza, es. 100,00 31/01/2027"),
    ("ridotto_importo", "Importo ridotto (facoltativo, es. sanzione pagata entro 5 giorni)"),
    ("ridotto_fino_al", "Importo ridotto valido fino al"),
];

fn label_of(field: &str) -> &'static str {
    LABELS.iter().find(|(f, _)| *f == field).map_or("", |(_, l)| l)
}

/// The field a broken import rule concerns and the sentence for it, in Italian; `None` for a rule
/// about no field of this form. MyPay's codes are shared by several fields (`PAA_IMPORT_SINTASSI_CSV`),
/// so the column named in the description decides between them.
fn field_problem(e: &RowError) -> Option<(&'static str, String)> {
    let (code, text) = (e.code, e.description.to_uppercase());
    let about = |words: &[&str]| words.iter().any(|w| code.contains(w) || text.contains(w));
    let field = if code == "PAA_IMPORT_IUD_DUPLICATO" {
        ("iud", "Esiste già un dovuto con questo IUD: scegline un altro.".to_owned())
    } else if about(&["TIPO_DOVUTO"]) {
        ("tipo", "Scegli un tipo dovuto attivo tra quelli abilitati.".to_owned())
    } else if about(&["_IUD", "IUD "]) {
        ("iud", "Indica lo IUD: al massimo 35 caratteri, senza iniziare con 000.".to_owned())
    } else if about(&["ID_UNIV_FG", "TIPO_IDENTIFICATIVO"]) {
        ("tipo_soggetto", "Scegli persona fisica o persona giuridica.".to_owned())
    } else if about(&["COD_FISC", "P_IVA", "CODICE_IDENTIFICATIVO", "IDENTIFICATIVO "]) {
        (
            "cf",
            "Il codice fiscale o la partita IVA non è valido: controlla i caratteri, compreso l'ultimo (di controllo)."
                .to_owned(),
        )
    } else if about(&["ANAGRAFICA"]) {
        ("nome", "Indica nome e cognome o ragione sociale (al massimo 70 caratteri).".to_owned())
    } else if about(&["EMAIL", "E-MAIL"]) {
        ("email", "L'indirizzo e-mail non è valido (es. nome@esempio.it).".to_owned())
    } else if about(&["SCADENZA"]) {
        let why = if text.contains("OBBLIGATORIA") || text.contains("NON PRESENTE") {
            "La scadenza è obbligatoria per questo tipo dovuto."
        } else if text.contains("PASSATA") {
            "La scadenza non può essere un giorno già passato."
        } else {
            "La scadenza non è una data valida."
        };
        ("scadenza", why.to_owned())
    } else if about(&["IMPORTO"]) {
        ("importo", "Scrivi l'importo in euro, ad esempio 1.020,50: da 0,01 a 999.999.999,99.".to_owned())
    } else if about(&["CAUSALE"]) {
        let why = if text.contains("TROPPO") {
            "La causale è troppo lunga per questo tipo dovuto: accorciala."
        } else {
            "Indica la causale del pagamento."
        };
        ("causale", why.to_owned())
    } else {
        return None;
    };
    Some(field)
}

/// The problems of a refused debt: each rule beside its field, the others together.
fn problems_of(err: &ServiceError) -> Problems {
    match err {
        ServiceError::Rejected(rows) => {
            let mut problems = Problems::default();
            let mut others = Vec::new();
            for row in rows {
                match field_problem(row) {
                    Some((field, message)) if problems.of(field).is_empty() => {
                        problems.fields.push((field, message, row.code.to_owned()));
                    }
                    Some(_) => {}
                    None => others.push(format!("{} ({})", row.description, row.code)),
                }
            }
            if !others.is_empty() {
                problems.general = Some(format!("Il dovuto non rispetta queste regole: {}.", others.join("; ")));
            }
            problems
        }
        other => Problems::general(&user_message(other)),
    }
}

fn text_input(name: &str, value: &str, kind: &str, required: bool, problems: &Problems) -> Markup {
    html! {
        div class="col-12 col-md-6" {
            (field(name, problems, html! {
                input type=(kind) class={ "form-control" @if !problems.of(name).is_empty() { " is-invalid" } } id=(name) name=(name) value=(value) required[required]
                    aria-describedby={ (name) "-errore" } aria-invalid=[(!problems.of(name).is_empty()).then_some("true")];
            }))
        }
    }
}

/// A field's label, its control and, below, what is wrong with it.
fn field(name: &str, problems: &Problems, control: Markup) -> Markup {
    html! {
        label for=(name) { (label_of(name)) }
        (control)
        (feedback(name, problems))
    }
}

/// The insert or edit form; `editing` fixes the debt type and the IUD.
fn form(
    ctx: &mut BoCtx<'_>,
    grant: &OperatorGrant,
    action: &str,
    v: &Values,
    editing: bool,
    problems: &Problems,
) -> Result<Response, BoError> {
    let types = match debt_types::list_debt_types(&ctx.state.db, &grant.org.ipa_code) {
        Ok(types) => types.into_iter().filter(|t| t.active && grant.sees_type(t.id)).collect::<Vec<_>>(),
        Err(err) => {
            tracing::error!(error = %err, "cannot list debt types");
            return Err(BoError::Internal);
        }
    };
    let csrf = ctx.csrf();
    let title = if editing { format!("Modifica del dovuto {}", v.iud) } else { "Nuovo dovuto".to_owned() };
    let main = html! {
        h1 { (title) }
        p class="lead" { (grant.org.name) }
        (summary("Il dovuto non è stato salvato.", problems, label_of))
        form method="post" action=(action) class="row g-3" novalidate {
            (csrf)
            div class="col-12 col-md-6" {
                @if editing {
                    (field("tipo", problems, html! { input type="text" class="form-control" id="tipo" name="tipo" value=(v.debt_type) readonly aria-describedby="tipo-errore"; }))
                } @else {
                    (field("tipo", problems, html! {
                        select class={ "form-select" @if !problems.of("tipo").is_empty() { " is-invalid" } } id="tipo" name="tipo" required aria-describedby="tipo-errore" {
                            @for t in &types {
                                option value=(t.code) selected[v.debt_type == t.code] { (t.description) " (" (t.code) ")" }
                            }
                        }
                    }))
                }
            }
            div class="col-12 col-md-6" {
                (field("iud", problems, html! {
                    input type="text" class={ "form-control" @if !problems.of("iud").is_empty() { " is-invalid" } } id="iud" name="iud" value=(v.iud) required readonly[editing]
                        aria-describedby="iud-errore" aria-invalid=[(!problems.of("iud").is_empty()).then_some("true")];
                }))
            }
            div class="col-12 col-md-6" {
                (field("tipo_soggetto", problems, html! {
                    select class="form-select" id="tipo_soggetto" name="tipo_soggetto" aria-describedby="tipo_soggetto-errore" {
                        option value="F" selected[v.debtor_kind != "G"] { "Persona fisica" }
                        option value="G" selected[v.debtor_kind == "G"] { "Persona giuridica" }
                    }
                }))
            }
            (text_input("cf", &v.debtor_id, "text", true, problems))
            (text_input("nome", &v.debtor_name, "text", true, problems))
            (text_input("email", &v.debtor_email, "email", false, problems))
            (text_input("scadenza", &v.due_date, "date", false, problems))
            (text_input("importo", &v.amount, "text", true, problems))
            div class="col-12" {
                (field("causale", problems, html! {
                    input type="text" class={ "form-control" @if !problems.of("causale").is_empty() { " is-invalid" } } id="causale" name="causale" value=(v.causale) maxlength="1024" required
                        aria-describedby="causale-errore" aria-invalid=[(!problems.of("causale").is_empty()).then_some("true")];
                }))
            }
            @if !editing {
                div class="col-12" {
                    (field("rate", problems, html! {
                        textarea class={ "form-control" @if !problems.of("rate").is_empty() { " is-invalid" } } id="rate" name="rate" rows="3" maxlength="4000"
                            aria-describedby="rate-errore" aria-invalid=[(!problems.of("rate").is_empty()).then_some("true")] { (v.instalments) }
                    }))
                }
                (text_input("ridotto_importo", &v.reduced_amount, "text", false, problems))
                (text_input("ridotto_fino_al", &v.reduced_until, "date", false, problems))
                div class="col-12 form-check" {
                    input type="checkbox" class="form-check-input" id="genera_iuv" name="genera_iuv" value="1" checked[v.generate_iuv];
                    label class="form-check-label" for="genera_iuv" { "Genera lo IUV e il numero avviso" }
                }
            }
            div class="col-12" {
                button type="submit" class="btn btn-primary" { @if editing { "Salva le modifiche" } @else { "Inserisci il dovuto" } }
            }
        }
    };
    Ok(ctx.page_with(if problems.any() { 422 } else { 200 }, &title, main))
}

/// In place of the form, when the org's mode does not include the upkeep of single debts: the
/// notice saying why.
fn not_admitted(ctx: &mut BoCtx<'_>, grant: &OperatorGrant, title: &str) -> Option<Response> {
    let notice = super::adhesion::not_admitted(ctx, grant, Channel::DebtUpkeep)?;
    let main = html! {
        h1 { (title) }
        p class="lead" { (grant.org.name) }
        (notice)
        p { a href={ "/operatore/" (grant.org.ipa_code) "/dovuti" } { "Torna ai dovuti" } }
    };
    Some(ctx.page(title, main))
}

/// `GET /operatore/{ipa}/dovuti/nuovo`.
pub fn new_form(ctx: &mut BoCtx<'_>, ipa: &str) -> Result<Response, BoError> {
    let grant = ctx.grant(ipa)?;
    if let Some(notice) = not_admitted(ctx, &grant, "Nuovo dovuto") {
        return Ok(notice);
    }
    let action = format!("/operatore/{}/dovuti/nuovo", grant.org.ipa_code);
    let values = Values { generate_iuv: true, debtor_kind: "F".to_owned(), ..Values::default() };
    form(ctx, &grant, &action, &values, false, &Problems::default())
}

/// `POST /operatore/{ipa}/dovuti/nuovo`: action `I`.
pub fn create(ctx: &mut BoCtx<'_>, ipa: &str) -> Result<Response, BoError> {
    let grant = ctx.grant(ipa)?;
    let action = format!("/operatore/{}/dovuti/nuovo", grant.org.ipa_code);
    let v = Values::from_form(ctx);
    let debt_type = match debt_types::get_debt_type(&ctx.state.db, &grant.org.ipa_code, &v.debt_type) {
        Ok(t) if grant.sees_type(t.id) => t,
        _ => {
            let problems = Problems {
                fields: vec![("tipo", "Scegli un tipo dovuto attivo tra quelli abilitati.".to_owned(), String::new())],
                general: None,
            };
            return form(ctx, &grant, &action, &v, false, &problems);
        }
    };
    let fields = v.fields(format!("9/{}/", debt_type.taxonomy_code), None);
    let actor = format!("operator:{}", grant.username);
    let plan = match v.plan(ctx.now.today()) {
        Ok(plan) => plan,
        Err((field, message)) => {
            let problems = Problems { fields: vec![(field, message, String::new())], general: None };
            return form(ctx, &grant, &action, &v, false, &problems);
        }
    };
    let added = options::add_debt_with_options(
        &ctx.state.db,
        &actor,
        &grant.org.ipa_code,
        &fields,
        &plan,
        Source::Backoffice,
        ctx.now,
    );
    match added {
        Ok(debt) => {
            ctx.session.flash("success", format!("Dovuto {} inserito.", debt.iud));
            Ok(ctx.redirect(&format!("/operatore/{}/dovuti/{}", grant.org.ipa_code, debt.id)))
        }
        // Upstream mode: the Region's debts have one option (services::debts::options).
        Err(ServiceError::Invalid { field, .. }) if field == options::UPSTREAM_FIELD => {
            let problems = Problems::general(
                "L'ente invia i dovuti alla Regione, dove ogni dovuto ha un solo importo: \
                 inseriscilo in un'unica soluzione, senza rate né importo ridotto.",
            );
            form(ctx, &grant, &action, &v, false, &problems)
        }
        Err(err) => refused(ctx, &grant, &action, &v, false, &err),
    }
}

fn refused(
    ctx: &mut BoCtx<'_>,
    grant: &OperatorGrant,
    action: &str,
    v: &Values,
    editing: bool,
    err: &ServiceError,
) -> Result<Response, BoError> {
    if err.is_user_error() {
        form(ctx, grant, action, v, editing, &problems_of(err))
    } else {
        tracing::error!(error = %err, "cannot save a debt");
        Err(BoError::Internal)
    }
}

/// The debt to edit, if it is visible to the operator.
fn editable(ctx: &mut BoCtx<'_>, ipa: &str, id: &str) -> Result<(OperatorGrant, DebtRecord), BoError> {
    let grant = ctx.grant(ipa)?;
    let Ok(id) = id.parse::<i64>() else {
        return Err(BoError::NotFound);
    };
    let debt = match debt_search::detail(&ctx.state.db, &grant, id) {
        Ok(detail) => detail.debt,
        Err(err) if err.is_user_error() => return Err(BoError::NotFound),
        Err(err) => {
            tracing::error!(error = %err, "cannot load a debt");
            return Err(BoError::Internal);
        }
    };
    Ok((grant, debt))
}

/// Back to the debt's page when it may not be edited here: fields the form does not show
/// (accounting split, second beneficiary, digital stamp) are changed with a debt flow, never
/// dropped by a form.
fn flow_only(ctx: &mut BoCtx<'_>, grant: &OperatorGrant, debt: &DebtRecord) -> Option<Response> {
    if debt.bilancio.is_some() || debt.beneficiary.is_some() || debt.stamp_document_hash.is_some() {
        ctx.session.flash(
            "warning",
            "Questo dovuto ha un bilancio, un secondo beneficiario o una marca da bollo: modificalo con un flusso.",
        );
        return Some(ctx.redirect(&format!("/operatore/{}/dovuti/{}", grant.org.ipa_code, debt.id)));
    }
    None
}

/// `GET /operatore/{ipa}/dovuti/{id}/modifica`.
pub fn edit_form(ctx: &mut BoCtx<'_>, ipa: &str, id: &str) -> Result<Response, BoError> {
    let (grant, debt) = editable(ctx, ipa, id)?;
    if let Some(notice) = not_admitted(ctx, &grant, "Modifica del dovuto") {
        return Ok(notice);
    }
    if let Some(back) = flow_only(ctx, &grant, &debt) {
        return Ok(back);
    }
    let action = format!("/operatore/{}/dovuti/{}/modifica", grant.org.ipa_code, debt.id);
    form(ctx, &grant, &action, &Values::from_debt(&debt), true, &Problems::default())
}

/// `POST /operatore/{ipa}/dovuti/{id}/modifica`: action `M`; the debt type and IUD stay.
pub fn modify(ctx: &mut BoCtx<'_>, ipa: &str, id: &str) -> Result<Response, BoError> {
    let (grant, debt) = editable(ctx, ipa, id)?;
    if let Some(back) = flow_only(ctx, &grant, &debt) {
        return Ok(back);
    }
    let action = format!("/operatore/{}/dovuti/{}/modifica", grant.org.ipa_code, debt.id);
    let v = Values {
        debt_type: debt.debt_type_code.clone(),
        iud: debt.iud.clone(),
        generate_iuv: debt.generate_iuv,
        ..Values::from_form(ctx)
    };
    let fields = v.fields(debt.collection_data.clone(), debt.iuv.as_ref().map(|i| i.as_str().to_owned()));
    let actor = format!("operator:{}", grant.username);
    match debts::modify_debt(&ctx.state.db, &actor, &grant.org.ipa_code, &fields, ctx.now) {
        Ok(after) => {
            ctx.session.flash("success", format!("Dovuto {} modificato.", after.iud));
            Ok(ctx.redirect(&format!("/operatore/{}/dovuti/{}", grant.org.ipa_code, after.id)))
        }
        Err(err) => refused(ctx, &grant, &action, &v, true, &err),
    }
}

/// `POST /operatore/{ipa}/dovuti/{id}/annulla`: action `A`.
pub fn annul(ctx: &mut BoCtx<'_>, ipa: &str, id: &str) -> Result<Response, BoError> {
    let grant = ctx.grant(ipa)?;
    let Ok(id) = id.parse::<i64>() else {
        return Err(BoError::NotFound);
    };
    let debt = match debt_search::detail(&ctx.state.db, &grant, id) {
        Ok(detail) => detail.debt,
        Err(err) if err.is_user_error() => return Err(BoError::NotFound),
        Err(err) => {
            tracing::error!(error = %err, "cannot load a debt");
            return Err(BoError::Internal);
        }
    };
    let actor = format!("operator:{}", grant.username);
    match debts::annul_debt(&ctx.state.db, &actor, &grant.org.ipa_code, &debt.iud, ctx.now) {
        Ok(_) => ctx.session.flash("success", format!("Dovuto {} annullato.", debt.iud)),
        Err(err) if err.is_user_error() => {
            ctx.session.flash("danger", format!("Il dovuto non è stato annullato: {}", user_message(&err)))
        }
        Err(err) => {
            tracing::error!(error = %err, "cannot annul a debt");
            return Err(BoError::Internal);
        }
    }
    Ok(ctx.redirect(&format!("/operatore/{}/dovuti/{}", grant.org.ipa_code, debt.id)))
}
