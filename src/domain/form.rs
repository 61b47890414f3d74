//! The form of a spontaneous payment: a debt type's field definitions, the causale template built
//! from them and the amount rule, and the check of what a citizen submitted.
//!
//! The JSON layout of `debt_type.form_definition` is read by `services::portal::spontaneous` (serde stays
//! out of the domain) into [`FieldSpec`]s and handed to [`FormDefinition::new`], which checks it.
//! See ARCHITECTURE.md ("Spontaneous payment forms") for the JSON schema.
//! **Invariant:** pure: no I/O, no clock; every value a citizen typed is checked here before a debt
//! is built from it.

use std::fmt;

use jiff::civil::Date;

use super::{Cents, Email};

/// The longest causale a template may produce (the import's limit; pagoPA shows the first 140).
pub const CAUSALE_MAX: usize = 1024;
/// The field a citizen types the amount in when the rule is [`AmountRule::Typed`].
pub const AMOUNT_FIELD: &str = "importo";

/// What a field holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldKind {
    Text,
    /// A whole number (min/max bound the value).
    Number,
    /// `YYYY-MM-DD` (what an HTML date input sends).
    Date,
    /// One of the options, as (value, label).
    Select(Vec<(String, String)>),
    /// Ticked or not.
    Checkbox,
    Email,
}

/// One field as defined.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldSpec {
    /// `[a-z][a-z0-9_]*`, at most 40 characters; the form's parameter name.
    pub name: String,
    pub kind: FieldKind,
    pub label: String,
    pub required: bool,
    /// A pattern the whole value must match (text and e-mail fields).
    pub regex: Option<String>,
    pub help: Option<String>,
    /// Text: length in characters; number: value.
    pub min: Option<i64>,
    pub max: Option<i64>,
}

/// How the amount is decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AmountRule {
    /// The debt type's fixed amount.
    Fixed,
    /// Typed by the citizen in the `importo` field.
    Typed,
    /// `base + unit × value of field` (a number field).
    Computed { field: String, unit: Cents, base: Cents },
}

/// A field with its compiled pattern.
#[derive(Debug, Clone)]
pub struct Field {
    pub spec: FieldSpec,
    pattern: Option<regex_lite::Regex>,
}

/// A checked form definition.
#[derive(Debug, Clone)]
pub struct FormDefinition {
    fields: Vec<Field>,
    causale: String,
    amount: AmountRule,
}

/// Why a definition is refused (an operator's mistake, reported in English).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("form definition: {0}")]
pub struct DefinitionError(pub String);

/// What is wrong with one submitted value. Views turn these into Italian sentences.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldProblem {
    Missing,
    TooShort(i64),
    TooLong(i64),
    BelowMin(i64),
    AboveMax(i64),
    NotANumber,
    NotADate,
    NotAnOption,
    NotAnEmail,
    Pattern,
    /// The amount is not a positive amount of at most 999.999.999,99 euros.
    BadAmount,
    /// The causale built from the values is longer than [`CAUSALE_MAX`].
    CausaleTooLong,
}

/// A submission that passed every check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filled {
    pub causale: String,
    pub amount: Cents,
    /// (label, value as shown) for the summary.
    pub summary: Vec<(String, String)>,
}

impl fmt::Display for FieldProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self:?}")
    }
}

fn valid_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    name.len() <= 40
        && bytes.next().is_some_and(|b| b.is_ascii_lowercase())
        && bytes.all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// The `{name}` placeholders of a template, or an error for an unclosed brace.
fn placeholders(template: &str) -> Result<Vec<&str>, DefinitionError> {
    let mut out = Vec::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        let after = rest.get(open + 1..).unwrap_or_default();
        let close = after.find('}').ok_or_else(|| DefinitionError("causale has an unclosed '{'".to_owned()))?;
        out.push(after.get(..close).unwrap_or_default());
        rest = after.get(close + 1..).unwrap_or_default();
    }
    Ok(out)
}

impl FormDefinition {
    /// Checks a definition: names valid and unique, patterns compile, options present for selects,
    /// min ≤ max, the template names only known fields, and the amount rule's field exists.
    pub fn new(specs: Vec<FieldSpec>, causale: &str, amount: AmountRule) -> Result<FormDefinition, DefinitionError> {
        if specs.len() > 30 {
            return Err(DefinitionError("at most 30 fields".to_owned()));
        }
        let mut fields: Vec<Field> = Vec::with_capacity(specs.len());
        for spec in specs {
            if !valid_name(&spec.name) || spec.name == AMOUNT_FIELD {
                return Err(DefinitionError(format!(
                    "field name {:?} must be [a-z][a-z0-9_]* (at most 40) and not {AMOUNT_FIELD:?}",
                    spec.name
                )));
            }
            if fields.iter().any(|f| f.spec.name == spec.name) {
                return Err(DefinitionError(format!("field {:?} is defined twice", spec.name)));
            }
            if spec.label.trim().is_empty() {
                return Err(DefinitionError(format!("field {:?} has no label", spec.name)));
            }
            if let (Some(min), Some(max)) = (spec.min, spec.max)
                && min > max
            {
                return Err(DefinitionError(format!("field {:?}: min {min} is above max {max}", spec.name)));
            }
            if let FieldKind::Select(options) = &spec.kind
                && options.is_empty()
            {
                return Err(DefinitionError(format!("select field {:?} has no options", spec.name)));
            }
            let pattern = match &spec.regex {
                Some(text) => Some(
                    regex_lite::Regex::new(&format!("^(?:{text})$"))
                        .map_err(|err| DefinitionError(format!("field {:?}: bad regex: {err}", spec.name)))?,
                ),
                None => None,
            };
            fields.push(Field { spec, pattern });
        }
        for name in placeholders(causale)? {
            if !fields.iter().any(|f| f.spec.name == name) {
                return Err(DefinitionError(format!("causale names unknown field {name:?}")));
            }
        }
        if causale.trim().is_empty() {
            return Err(DefinitionError("causale template is empty".to_owned()));
        }
        if let AmountRule::Computed { field, unit, base } = &amount {
            if !fields.iter().any(|f| &f.spec.name == field && f.spec.kind == FieldKind::Number) {
                return Err(DefinitionError(format!("amount is computed from {field:?}, which is not a number field")));
            }
            if unit.get() < 0 || base.get() < 0 {
                return Err(DefinitionError("computed amount: unit and base must not be negative".to_owned()));
            }
        }
        Ok(FormDefinition { fields, causale: causale.to_owned(), amount })
    }

    /// The default form of a debt type without a definition: a free causale (and an amount unless
    /// the type fixes it).
    pub fn default_form(fixed: bool) -> FormDefinition {
        let spec = FieldSpec {
            name: "causale".to_owned(),
            kind: FieldKind::Text,
            label: "Causale".to_owned(),
            required: true,
            regex: None,
            help: None,
            min: Some(3),
            max: Some(140),
        };
        let pattern = None;
        FormDefinition {
            fields: vec![Field { spec, pattern }],
            causale: "{causale}".to_owned(),
            amount: if fixed { AmountRule::Fixed } else { AmountRule::Typed },
        }
    }

    pub fn fields(&self) -> &[Field] {
        &self.fields
    }

    pub fn amount_rule(&self) -> &AmountRule {
        &self.amount
    }

    /// Checks the submitted values (`value(name)`; absent = empty). `fixed` is the debt type's
    /// fixed amount, required by [`AmountRule::Fixed`]. Every problem is reported, by field name
    /// (`importo` for the amount).
    pub fn fill<'a>(
        &self,
        value: impl Fn(&str) -> Option<&'a str>,
        fixed: Option<Cents>,
    ) -> Result<Filled, Vec<(String, FieldProblem)>> {
        let mut problems = Vec::new();
        let mut shown: Vec<(String, String)> = Vec::new();
        let mut numbers: Vec<(String, i64)> = Vec::new();
        for field in &self.fields {
            let spec = &field.spec;
            let raw = value(&spec.name).map(str::trim).unwrap_or_default();
            match check_field(field, raw) {
                Ok((text, number)) => {
                    if let Some(n) = number {
                        numbers.push((spec.name.clone(), n));
                    }
                    shown.push((spec.name.clone(), text));
                }
                Err(problem) => problems.push((spec.name.clone(), problem)),
            }
        }
        let amount = match &self.amount {
            AmountRule::Fixed => fixed.filter(|c| c.is_positive()),
            AmountRule::Typed => {
                let raw = value(AMOUNT_FIELD).map(str::trim).unwrap_or_default();
                Cents::parse_italian(raw).ok().or_else(|| Cents::parse_decimal(raw).ok())
            }
            AmountRule::Computed { field, unit, base } => numbers
                .iter()
                .find(|(name, _)| name == field)
                .and_then(|(_, n)| unit.get().checked_mul(*n))
                .and_then(|v| v.checked_add(base.get()))
                .map(Cents::new),
        };
        let amount = amount.filter(|a| a.is_positive() && *a <= Cents::MAX_AMOUNT);
        if amount.is_none()
            && !problems
                .iter()
                .any(|(name, _)| matches!(&self.amount, AmountRule::Computed { field, .. } if field == name))
        {
            problems.push((AMOUNT_FIELD.to_owned(), FieldProblem::BadAmount));
        }
        let causale = fill_template(&self.causale, &shown);
        if causale.chars().count() > CAUSALE_MAX {
            problems.push(("causale".to_owned(), FieldProblem::CausaleTooLong));
        }
        match (problems.is_empty(), amount) {
            (true, Some(amount)) => {
                let summary = self
                    .fields
                    .iter()
                    .filter_map(|f| {
                        shown.iter().find(|(n, _)| n == &f.spec.name).map(|(_, v)| (f.spec.label.clone(), v.clone()))
                    })
                    .filter(|(_, v)| !v.is_empty())
                    .collect();
                Ok(Filled { causale: causale.trim().to_owned(), amount, summary })
            }
            _ => Err(problems),
        }
    }
}

/// Checks one value; returns its shown form and, for numbers, the value.
fn check_field(field: &Field, raw: &str) -> Result<(String, Option<i64>), FieldProblem> {
    let spec = &field.spec;
    if raw.is_empty() {
        return if spec.required {
            Err(FieldProblem::Missing)
        } else {
            Ok((if spec.kind == FieldKind::Checkbox { "no".to_owned() } else { String::new() }, None))
        };
    }
    if raw.chars().count() > 1000 {
        return Err(FieldProblem::TooLong(1000));
    }
    match &spec.kind {
        FieldKind::Text | FieldKind::Email => {
            let n = i64::try_from(raw.chars().count()).unwrap_or(i64::MAX);
            if let Some(min) = spec.min.filter(|m| n < *m) {
                return Err(FieldProblem::TooShort(min));
            }
            if let Some(max) = spec.max.filter(|m| n > *m) {
                return Err(FieldProblem::TooLong(max));
            }
            if spec.kind == FieldKind::Email && Email::parse(raw).is_err() {
                return Err(FieldProblem::NotAnEmail);
            }
            if field.pattern.as_ref().is_some_and(|p| !p.is_match(raw)) {
                return Err(FieldProblem::Pattern);
            }
            Ok((raw.to_owned(), None))
        }
        FieldKind::Number => {
            let n: i64 = raw.parse().map_err(|_| FieldProblem::NotANumber)?;
            if let Some(min) = spec.min.filter(|m| n < *m) {
                return Err(FieldProblem::BelowMin(min));
            }
            if let Some(max) = spec.max.filter(|m| n > *m) {
                return Err(FieldProblem::AboveMax(max));
            }
            Ok((n.to_string(), Some(n)))
        }
        FieldKind::Date => {
            let date: Date = raw.parse().map_err(|_| FieldProblem::NotADate)?;
            if raw.len() != 10 {
                return Err(FieldProblem::NotADate);
            }
            Ok((date.strftime("%d/%m/%Y").to_string(), None))
        }
        FieldKind::Select(options) => options
            .iter()
            .find(|(value, _)| value == raw)
            .map(|(_, label)| (label.clone(), None))
            .ok_or(FieldProblem::NotAnOption),
        FieldKind::Checkbox => Ok(("sì".to_owned(), None)),
    }
}

/// Replaces each `{name}` with its shown value.
fn fill_template(template: &str, values: &[(String, String)]) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(rest.get(..open).unwrap_or_default());
        let after = rest.get(open + 1..).unwrap_or_default();
        let Some(close) = after.find('}') else {
            out.push_str(rest.get(open..).unwrap_or_default());
            return out;
        };
        let name = after.get(..close).unwrap_or_default();
        if let Some((_, v)) = values.iter().find(|(n, _)| n == name) {
            out.push_str(v);
        }
        rest = after.get(close + 1..).unwrap_or_default();
    }
    out.push_str(rest);
    // Empty optional fields leave double spaces behind.
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]
    use super::*;

    fn text(name: &str, required: bool) -> FieldSpec {
        FieldSpec {
            name: name.to_owned(),
            kind: FieldKind::Text,
            label: name.to_uppercase(),
            required,
            regex: None,
            help: None,
            min: None,
            max: Some(20),
        }
    }

    fn values<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<&'a str> {
        move |name| pairs.iter().find(|(n, _)| *n == name).map(|(_, v)| *v)
    }

    #[test]
    fn a_typed_form_builds_the_causale_and_reads_the_italian_amount() {
        let def = FormDefinition::new(
            vec![text("evento", true), FieldSpec { kind: FieldKind::Date, ..text("data", false) }],
            "Contributo {evento} {data}",
            AmountRule::Typed,
        )
        .unwrap();
        let filled =
            def.fill(values(&[("evento", "Sagra"), ("data", "2026-05-01"), ("importo", "1.020,50")]), None).unwrap();
        assert_eq!(filled.causale, "Contributo Sagra 01/05/2026");
        assert_eq!(filled.amount, Cents::new(102_050));
        let filled = def.fill(values(&[("evento", "Sagra"), ("importo", "10")]), None).unwrap();
        assert_eq!(filled.causale, "Contributo Sagra");
    }

    #[test]
    fn every_problem_is_reported() {
        let def = FormDefinition::new(
            vec![
                FieldSpec { regex: Some("[A-Z]{2}[0-9]{3}".to_owned()), ..text("targa", true) },
                FieldSpec { kind: FieldKind::Number, min: Some(1), max: Some(10), ..text("n", true) },
                FieldSpec { kind: FieldKind::Select(vec![("a".into(), "A".into())]), ..text("s", true) },
                FieldSpec { kind: FieldKind::Email, ..text("mail", false) },
            ],
            "{targa}",
            AmountRule::Typed,
        )
        .unwrap();
        let err = def
            .fill(values(&[("targa", "ab123"), ("n", "11"), ("s", "b"), ("mail", "x@"), ("importo", "0")]), None)
            .unwrap_err();
        let kinds: Vec<_> = err.iter().map(|(n, p)| format!("{n}:{p}")).collect();
        assert_eq!(kinds, ["targa:Pattern", "n:AboveMax(10)", "s:NotAnOption", "mail:NotAnEmail", "importo:BadAmount"]);
        for bad in ["-5", "1000000000,00", "abc", ""] {
            let err =
                def.fill(values(&[("targa", "AB123"), ("n", "1"), ("s", "a"), ("importo", bad)]), None).unwrap_err();
            assert_eq!(err, [("importo".to_owned(), FieldProblem::BadAmount)], "{bad}");
        }
        assert!(
            def.fill(values(&[("targa", "AB123"), ("n", "1"), ("s", "a"), ("importo", "999.999.999,99")]), None)
                .is_ok()
        );
    }

    #[test]
    fn fixed_and_computed_amounts() {
        let def = FormDefinition::new(
            vec![FieldSpec { kind: FieldKind::Number, min: Some(1), max: Some(5), ..text("copie", true) }],
            "Copie {copie}",
            AmountRule::Computed { field: "copie".to_owned(), unit: Cents::new(250), base: Cents::new(100) },
        )
        .unwrap();
        assert_eq!(def.fill(values(&[("copie", "3")]), None).unwrap().amount, Cents::new(850));
        let fixed = FormDefinition::default_form(true);
        assert_eq!(
            fixed.fill(values(&[("causale", "Certificato")]), Some(Cents::new(1600))).unwrap().amount,
            Cents::new(1600)
        );
        assert!(fixed.fill(values(&[("causale", "Certificato")]), None).is_err());
    }

    #[test]
    fn bad_definitions_are_refused() {
        let bad = |specs, causale: &str, amount| FormDefinition::new(specs, causale, amount).unwrap_err().0;
        assert!(bad(vec![text("a", true), text("a", true)], "{a}", AmountRule::Typed).contains("twice"));
        assert!(bad(vec![text("A", true)], "x", AmountRule::Typed).contains("must be"));
        assert!(bad(vec![text("a", true)], "{b}", AmountRule::Typed).contains("unknown field"));
        assert!(bad(vec![text("a", true)], "{a", AmountRule::Typed).contains("unclosed"));
        let regex = vec![FieldSpec { regex: Some("(".to_owned()), ..text("a", true) }];
        assert!(bad(regex, "{a}", AmountRule::Typed).contains("bad regex"));
        let computed = AmountRule::Computed { field: "a".to_owned(), unit: Cents::new(1), base: Cents::ZERO };
        assert!(bad(vec![text("a", true)], "{a}", computed).contains("not a number field"));
    }
}
