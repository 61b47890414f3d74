//! An org's debt types, for its administrators: the list, a new type, and the edit form (taxonomy
//! code checked by `services::admin::debt_types`, active or not, the spontaneous payment's form definition
//! with a preview of the citizen's form rendered from the same reader the portal uses).

use maud::{Markup, html};

use super::problems::{Problems, feedback, summary};
use super::{BoCtx, BoError, user_message};
use crate::domain::form::{AmountRule, FieldKind, FormDefinition};
use crate::services::ServiceError;
use crate::services::admin::debt_types::{self, DebtTypeChanges};
use crate::services::portal::spontaneous;
use crate::store::debt_types::DebtTypeRecord;
use crate::web::Response;
use crate::web::authz::OperatorGrant;

/// `GET /operatore/{ipa}/tipi`.
pub fn list(ctx: &mut BoCtx<'_>, ipa: &str) -> Result<Response, BoError> {
    let grant = ctx.admin_grant(ipa)?;
    let types = match debt_types::list_debt_types(&ctx.state.db, &grant.org.ipa_code) {
        Ok(types) => types,
        Err(err) => {
            tracing::error!(error = %err, "cannot list debt types");
            return Err(BoError::Internal);
        }
    };
    let base = format!("/operatore/{}/tipi", grant.org.ipa_code);
    let main = html! {
        h1 { "Tipi dovuto" }
        p class="lead" { (grant.org.name) }
        p { a class="btn btn-outline-primary btn-sm" href={ (base) "/nuovo" } { "Nuovo tipo dovuto" } }
        table class="table tabella-compatta" {
            caption class="visually-hidden" { "Tipi dovuto dell'ente" }
            thead { tr { th scope="col" { "Codice" } th scope="col" { "Descrizione" } th scope="col" { "Tassonomia" } th scope="col" { "Spontaneo" } th scope="col" { "Stato" } } }
            tbody {
                @for t in &types {
                    tr {
                        td { a href={ (base) "/" (t.code) } { (t.code) } }
                        td { (t.description) }
                        td { code { (t.taxonomy_code) } }
                        td { @if t.spontaneous { "sì" } @else { "no" } }
                        td { @if t.active { "Attivo" } @else { "Disattivato" } }
                    }
                }
            }
        }
    };
    Ok(ctx.page("Tipi dovuto", main))
}

/// What the form shows: the stored type, or what was typed.
#[derive(Debug, Clone, Default)]
struct Values {
    code: String,
    description: String,
    taxonomy: String,
    fixed_amount: String,
    spontaneous: bool,
    due_date_mandatory: bool,
    print_due_date: bool,
    active: bool,
    form_definition: String,
}

impl Values {
    fn of(t: &DebtTypeRecord) -> Values {
        Values {
            code: t.code.clone(),
            description: t.description.clone(),
            taxonomy: t.taxonomy_code.clone(),
            fixed_amount: t.fixed_amount_cents.map(crate::domain::Cents::to_decimal_string).unwrap_or_default(),
            spontaneous: t.spontaneous,
            due_date_mandatory: t.due_date_mandatory,
            print_due_date: t.print_due_date,
            active: t.active,
            form_definition: t.form_definition.clone().unwrap_or_default(),
        }
    }

    fn typed(ctx: &BoCtx<'_>, code: &str) -> Values {
        let on = |name: &str| ctx.form.get(name).is_some();
        Values {
            code: code.to_owned(),
            description: ctx.form.text("description"),
            taxonomy: ctx.form.text("taxonomy"),
            fixed_amount: ctx.form.text("fixed_amount"),
            spontaneous: on("spontaneous"),
            due_date_mandatory: on("due_date_mandatory"),
            print_due_date: on("print_due_date"),
            active: on("active"),
            form_definition: ctx.form.text("form_definition"),
        }
    }

    fn changes(&self) -> DebtTypeChanges {
        DebtTypeChanges {
            description: Some(self.description.trim().to_owned()),
            taxonomy_code: Some(self.taxonomy.trim().to_owned()),
            fixed_amount: Some(self.fixed_amount.trim().to_owned()),
            spontaneous: Some(self.spontaneous),
            due_date_mandatory: Some(self.due_date_mandatory),
            print_due_date: Some(self.print_due_date),
            active: Some(self.active),
            form_definition: Some(self.form_definition.trim().to_owned()),
            ..DebtTypeChanges::default()
        }
    }
}

/// The citizen's form as the definition describes it, inert (a preview, not a form to send).
fn preview(def: &FormDefinition, fixed: Option<crate::domain::Cents>) -> Markup {
    html! {
        div class="border rounded p-3 mb-4" aria-label="Anteprima del modulo del cittadino" role="region" {
            h2 class="h5" { "Anteprima del modulo del cittadino" }
            @for field in def.fields() {
                @let spec = &field.spec;
                @let id = format!("anteprima-{}", spec.name);
                div class="form-group mb-2" {
                    label for=(id) { (spec.label) @if spec.required { " *" } }
                    @match &spec.kind {
                        FieldKind::Select(options) => {
                            select id=(id) class="form-select" disabled { @for (_, l) in options { option { (l) } } }
                        }
                        FieldKind::Checkbox => { input type="checkbox" id=(id) disabled; }
                        FieldKind::Number => { input type="number" class="form-control" id=(id) disabled; }
                        FieldKind::Date => { input type="date" class="form-control" id=(id) disabled; }
                        FieldKind::Email => { input type="email" class="form-control" id=(id) disabled; }
                        _ => { input type="text" class="form-control" id=(id) disabled; }
                    }
                    @if let Some(h) = &spec.help { small class="form-text" { (h) } }
                }
            }
            @match def.amount_rule() {
                AmountRule::Fixed => p { "Importo fisso: " strong { (fixed.unwrap_or_default().format_eur()) } },
                AmountRule::Typed => p { "Il cittadino scrive l'importo." },
                AmountRule::Computed { field, unit, base } => p {
                    "Importo calcolato: " (base.format_eur()) " + " (unit.format_eur()) " × " code { (field) }
                },
            }
        }
    }
}

/// The labels of the form's fields, in its order (the summary of errors links to them).
const LABELS: [(&str, &str); 6] = [
    ("code", "Codice (identificativoTipoDovuto)"),
    ("description", "Descrizione"),
    ("taxonomy", "Codice di tassonomia pagoPA (es. 0101002IM)"),
    ("fixed_amount", "Importo fisso (es. 16.00; vuoto: nessuno)"),
    ("print_due_date", "Scadenza stampata sull'avviso"),
    ("form_definition", "Definizione del modulo del pagamento spontaneo (JSON; vuoto: causale e importo)"),
];

fn label_of(field: &str) -> &'static str {
    LABELS.iter().find(|(f, _)| *f == field).map_or("", |(_, l)| l)
}

/// A text field with its label and, below, what is wrong with it.
fn text_field(name: &str, value: &str, required: bool, problems: &Problems) -> Markup {
    html! {
        div class="col-12 col-md-6" {
            label for=(name) { (label_of(name)) }
            input type="text" class=(problems.class(name, "form-control")) id=(name) name=(name) value=(value) required[required]
                aria-describedby={ (name) "-errore" } aria-invalid=[problems.invalid(name)];
            (feedback(name, problems))
        }
    }
}

/// A refused save, field by field: the service's field names mapped to the form's, in Italian.
fn problems_of(err: &ServiceError) -> Problems {
    match err {
        ServiceError::Conflict(_) => Problems::field("code", "Esiste già un tipo dovuto con questo codice."),
        ServiceError::Invalid { field, .. } => match field.as_str() {
            "code" => Problems::field(
                "code",
                "Indica un codice da 1 a 64 caratteri tra lettere, cifre, «_», «-» e «.» (EXPORT_RT è riservato).",
            ),
            "description" => Problems::field("description", "Indica la descrizione."),
            "taxonomy" => Problems::field("taxonomy", "Indica un codice di tassonomia pagoPA valido, es. 0101002IM."),
            "amount" => {
                Problems::field("fixed_amount", "Scrivi un importo maggiore di zero, es. 16.00, o lascia vuoto.")
            }
            "print-due-date" => Problems::field(
                "print_due_date",
                "Un tipo non pagabile spontaneamente deve avere la scadenza obbligatoria o stampata sull'avviso.",
            ),
            "form" => Problems::field("form_definition", BAD_DEFINITION),
            _ => Problems::general(&user_message(err)),
        },
        other => Problems::general(&user_message(other)),
    }
}

fn render(
    ctx: &mut BoCtx<'_>,
    grant: &OperatorGrant,
    v: &Values,
    editing: bool,
    problems: &Problems,
    shown: Option<Markup>,
) -> Result<Response, BoError> {
    let csrf = ctx.csrf();
    let base = format!("/operatore/{}/tipi", grant.org.ipa_code);
    let action = if editing { format!("{base}/{}", v.code) } else { format!("{base}/nuovo") };
    let title = if editing { format!("Tipo dovuto {}", v.code) } else { "Nuovo tipo dovuto".to_owned() };
    let check = |id: &str, label: &str, on: bool| {
        html! {
            div class="form-check" {
                input class=(problems.class(id, "form-check-input")) type="checkbox" id=(id) name=(id) value="1" checked[on]
                    aria-describedby={ (id) "-errore" } aria-invalid=[problems.invalid(id)];
                label class="form-check-label" for=(id) { (label) }
                (feedback(id, problems))
            }
        }
    };
    let main = html! {
        h1 { (title) }
        p class="lead" { (grant.org.name) }
        (summary("Il tipo dovuto non è stato salvato.", problems, label_of))
        // The live preview (web/mypay-backoffice.js) swaps what the server renders into this box.
        div id="anteprima-modulo" aria-live="polite" data-url={ "/operatore/" (grant.org.ipa_code) "/anteprima-modulo" } {
            @if let Some(p) = shown { (p) }
        }
        form method="post" action=(action) class="row g-3" id="modulo-tipo-dovuto" {
            (csrf)
            @if !editing { (text_field("code", &v.code, true, problems)) }
            (text_field("description", &v.description, true, problems))
            (text_field("taxonomy", &v.taxonomy, true, problems))
            (text_field("fixed_amount", &v.fixed_amount, false, problems))
            div class="col-12" {
                (check("spontaneous", "Pagabile spontaneamente dal portale", v.spontaneous))
                (check("due_date_mandatory", "Scadenza obbligatoria", v.due_date_mandatory))
                (check("print_due_date", "Scadenza stampata sull'avviso", v.print_due_date))
                (check("active", "Attivo", v.active))
            }
            div class="col-12" {
                label for="form_definition" { (label_of("form_definition")) }
                textarea class=(problems.class("form_definition", "form-control font-monospace")) id="form_definition" name="form_definition" rows="10"
                    aria-describedby="form_definition-errore" aria-invalid=[problems.invalid("form_definition")] { (v.form_definition) }
                (feedback("form_definition", problems))
            }
            div class="col-12 d-flex gap-2" {
                button type="submit" name="azione" value="salva" class="btn btn-primary" { "Salva" }
                button type="submit" name="azione" value="anteprima" class="btn btn-outline-primary" { "Anteprima del modulo" }
            }
        }
    };
    Ok(ctx.page_with_scripts(if problems.any() { 422 } else { 200 }, &title, main, vec!["mypay-backoffice.js"]))
}

/// `GET /operatore/{ipa}/tipi/nuovo`.
pub fn new_form(ctx: &mut BoCtx<'_>, ipa: &str) -> Result<Response, BoError> {
    let grant = ctx.admin_grant(ipa)?;
    let v = Values { active: true, print_due_date: true, ..Values::default() };
    render(ctx, &grant, &v, false, &Problems::default(), None)
}

/// `GET /operatore/{ipa}/tipi/{code}`.
pub fn edit_form(ctx: &mut BoCtx<'_>, ipa: &str, code: &str) -> Result<Response, BoError> {
    let grant = ctx.admin_grant(ipa)?;
    match debt_types::get_debt_type(&ctx.state.db, &grant.org.ipa_code, code) {
        Ok(t) => render(ctx, &grant, &Values::of(&t), true, &Problems::default(), None),
        Err(err) if err.is_user_error() => Err(BoError::NotFound),
        Err(err) => {
            tracing::error!(error = %err, "cannot read a debt type");
            Err(BoError::Internal)
        }
    }
}

/// The preview of the typed definition, or why it cannot be read.
fn preview_of(v: &Values) -> Result<Markup, ServiceError> {
    let fixed = crate::domain::Cents::parse_decimal(v.fixed_amount.trim()).ok();
    if v.form_definition.trim().is_empty() {
        return Ok(
            html! { p class="border rounded p-3" { "Senza definizione il modulo chiede la causale e l'importo." } },
        );
    }
    let def = spontaneous::parse_definition(v.form_definition.trim(), fixed.is_some())?;
    Ok(preview(&def, fixed))
}

/// Why a typed definition has no preview.
const BAD_DEFINITION: &str = "La definizione del modulo non è valida: controlla il JSON, i nomi e i tipi dei campi.";

/// `POST /operatore/{ipa}/anteprima-modulo`: only the preview of the typed definition (and fixed
/// amount), or the alert saying it cannot be read (422), for the editor's live preview.
pub fn preview_fragment(ctx: &mut BoCtx<'_>, ipa: &str) -> Result<Response, BoError> {
    ctx.admin_grant(ipa)?;
    let v = Values::typed(ctx, "");
    match preview_of(&v) {
        Ok(p) => Ok(Response::html(200, p).with_header("Cache-Control", "no-store")),
        Err(err) => {
            tracing::info!(error = %err, "form definition refused");
            let alert = html! { div class="alert alert-danger" role="alert" { (BAD_DEFINITION) } };
            Ok(Response::html(422, alert).with_header("Cache-Control", "no-store"))
        }
    }
}

/// `POST /operatore/{ipa}/tipi/nuovo` and `/tipi/{code}`: saves, or (`azione=anteprima`) shows the
/// preview of the typed definition without saving.
pub fn save(ctx: &mut BoCtx<'_>, ipa: &str, code: Option<&str>) -> Result<Response, BoError> {
    let grant = ctx.admin_grant(ipa)?;
    let editing = code.is_some();
    let code = code.map_or_else(|| ctx.form.text("code").trim().to_owned(), str::to_owned);
    let v = Values::typed(ctx, &code);
    if ctx.form.text("azione") == "anteprima" {
        return match preview_of(&v) {
            Ok(p) => render(ctx, &grant, &v, editing, &Problems::default(), Some(p)),
            Err(err) => {
                tracing::info!(error = %err, "form definition refused");
                render(ctx, &grant, &v, editing, &Problems::field("form_definition", BAD_DEFINITION), None)
            }
        };
    }
    let actor = format!("operator:{}", grant.username);
    let saved = if editing {
        debt_types::set_debt_type(&ctx.state.db, &actor, &grant.org.ipa_code, &code, &v.changes(), ctx.now)
    } else {
        debt_types::add_debt_type(&ctx.state.db, &actor, &grant.org.ipa_code, &code, &v.changes(), ctx.now)
    };
    match saved {
        Ok(t) => {
            ctx.session.flash("success", format!("Tipo dovuto {} salvato.", t.code));
            Ok(ctx.redirect(&format!("/operatore/{}/tipi/{}", grant.org.ipa_code, t.code)))
        }
        Err(ServiceError::NotFound(_)) if editing => Err(BoError::NotFound),
        Err(err) if err.is_user_error() => {
            tracing::info!(error = %err, "debt type refused");
            render(ctx, &grant, &v, editing, &problems_of(&err), None)
        }
        Err(err) => {
            tracing::error!(error = %err, "cannot save a debt type");
            Err(BoError::Internal)
        }
    }
}
