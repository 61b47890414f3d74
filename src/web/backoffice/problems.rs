//! Why a back-office form was refused, field by field: each sentence (Italian, MyPay's code in
//! small text when there is one) under its field, tied to it by `aria-describedby` and
//! `aria-invalid`, and a summary above the form linking to the fields. Shared by the debt, debt
//! type and operator forms.

use maud::{Markup, html};

/// The problems of one refused form; empty when the form is shown for the first time.
#[derive(Debug, Default)]
pub struct Problems {
    /// (field name, Italian message, MyPay's code or "").
    pub fields: Vec<(&'static str, String, String)>,
    /// What concerns no field.
    pub general: Option<String>,
}

impl Problems {
    pub fn general(message: &str) -> Problems {
        Problems { general: Some(message.to_owned()), ..Problems::default() }
    }

    /// One problem of field `name`, with no code.
    pub fn field(name: &'static str, message: impl Into<String>) -> Problems {
        Problems { fields: vec![(name, message.into(), String::new())], ..Problems::default() }
    }

    pub fn of(&self, field: &str) -> Vec<&(&'static str, String, String)> {
        self.fields.iter().filter(|(f, _, _)| *f == field).collect()
    }

    pub fn has(&self, field: &str) -> bool {
        self.fields.iter().any(|(f, _, _)| *f == field)
    }

    pub fn any(&self) -> bool {
        self.general.is_some() || !self.fields.is_empty()
    }

    /// The control's classes: `base`, and `is-invalid` when the field has a problem.
    pub fn class(&self, field: &str, base: &str) -> String {
        if self.has(field) { format!("{base} is-invalid") } else { base.to_owned() }
    }

    /// `aria-invalid`'s value, present only when the field has a problem.
    pub fn invalid(&self, field: &str) -> Option<&'static str> {
        self.has(field).then_some("true")
    }
}

/// What is wrong with field `name`, below its control (`{name}-errore`, the control's
/// `aria-describedby`).
pub fn feedback(name: &str, problems: &Problems) -> Markup {
    html! {
        div id={ (name) "-errore" } class="invalid-feedback d-block" {
            @for (_, message, code) in problems.of(name) {
                (message) @if !code.is_empty() { " " small class="text-muted" { "(codice " (code) ")" } }
            }
        }
    }
}

/// The summary above the form: `heading` (what was not saved), then each problem linking to its
/// field, labelled by `label_of`, then what concerns no field. Nothing when there is no problem.
pub fn summary(heading: &str, problems: &Problems, label_of: impl Fn(&str) -> &'static str) -> Markup {
    html! {
        @if problems.any() {
            div class="alert alert-danger" role="alert" id="errori" {
                p class="mb-1" { strong { (heading) } @if !problems.fields.is_empty() { " Correggi:" } }
                @if !problems.fields.is_empty() {
                    ul class="mb-1" {
                        @for (name, message, _) in &problems.fields {
                            li { a href={ "#" (name) } { (label_of(name)) } ": " (message) }
                        }
                    }
                }
                @if let Some(general) = &problems.general { p class="mb-0" { (general) } }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_problem_sits_under_its_field_and_in_the_summary() {
        let p = Problems { fields: vec![("code", "Indica il codice.".to_owned(), "PAA_X".to_owned())], general: None };
        assert_eq!(
            feedback("code", &p).into_string(),
            "<div id=\"code-errore\" class=\"invalid-feedback d-block\">Indica il codice. \
             <small class=\"text-muted\">(codice PAA_X)</small></div>"
        );
        assert_eq!(
            feedback("other", &p).into_string(),
            "<div id=\"other-errore\" class=\"invalid-feedback d-block\"></div>"
        );
        assert_eq!(
            summary("Non salvato.", &p, |_| "Codice").into_string(),
            "<div class=\"alert alert-danger\" role=\"alert\" id=\"errori\"><p class=\"mb-1\"><strong>Non salvato.</strong> \
             Correggi:</p><ul class=\"mb-1\"><li><a href=\"#code\">Codice</a>: Indica il codice.</li></ul></div>"
        );
        assert_eq!(summary("Non salvato.", &Problems::default(), |_| "").into_string(), "");
        assert_eq!(
            (p.class("code", "form-control"), p.invalid("code")),
            ("form-control is-invalid".to_owned(), Some("true"))
        );
        assert_eq!((p.class("x", "form-control"), p.invalid("x")), ("form-control".to_owned(), None));
    }
}
