//! What a received receipt lacked or carried in a form the schema does not allow.
//!
//! A receipt is the one message that must never be lost (reference/pagopa.md §1.6): a paSendRT or
//! paSendRTV2 whose shape breaks paForNode.xsd is stored all the same, with the received bytes, and
//! each deviation is named here so that an operator sees what was missing or unexpected. The
//! station reads every field it can, puts a neutral value where it cannot, and lists the
//! deviations as [`ShapeIssue`]s.

use std::fmt;

/// How one field of a receipt deviates from the schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ShapeProblem {
    /// Required and absent (or empty).
    Missing,
    /// Present with a value the schema does not allow; the value as received, cut for display.
    Invalid(String),
    /// Longer than the schema's maximum; stored cut to it.
    TooLong { max: usize },
    /// Present once too often (a sixth transfer, a repeated idTransfer): kept only in the received
    /// bytes.
    Ignored,
    /// The receipt's total is not the sum of its transfers.
    SumDiffers,
}

/// One deviation: the field's path in the receipt (`receipt/transferList/transfer[2]/IBAN`) and
/// what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShapeIssue {
    pub field: String,
    pub problem: ShapeProblem,
}

impl ShapeIssue {
    pub fn new(field: impl Into<String>, problem: ShapeProblem) -> ShapeIssue {
        ShapeIssue { field: field.into(), problem }
    }

    /// The received value as an issue shows it: at most a few dozen characters.
    pub fn invalid(field: impl Into<String>, value: &str) -> ShapeIssue {
        ShapeIssue::new(field, ShapeProblem::Invalid(super::shown(value)))
    }
}

impl fmt::Display for ShapeIssue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.problem {
            ShapeProblem::Missing => write!(f, "{} is missing", self.field),
            ShapeProblem::Invalid(value) => write!(f, "{} has an invalid value {value:?}", self.field),
            ShapeProblem::TooLong { max } => write!(f, "{} is longer than {max} characters", self.field),
            ShapeProblem::Ignored => write!(f, "{} is one too many and was ignored", self.field),
            ShapeProblem::SumDiffers => write!(f, "{} differs from the sum of the transfers", self.field),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issues_read_as_english_sentences_for_the_log() {
        let missing = ShapeIssue::new("receipt/transferList/transfer[1]/transferCategory", ShapeProblem::Missing);
        assert_eq!(missing.to_string(), "receipt/transferList/transfer[1]/transferCategory is missing");
        let invalid = ShapeIssue::invalid("receipt/outcome", &"X".repeat(100));
        assert!(invalid.to_string().ends_with("…\""), "a long value is cut: {invalid}");
    }
}
