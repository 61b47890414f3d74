//! Accertamenti (budget assessments): the registry of offices, chapters and assessments an org
//! books its revenue to, the life of an accertamento, and the checks of one registry line.
//!
//! Owns: [`AccertamentoState`] (INSERITO → CHIUSO | ANNULLATO, nothing else), [`RegistryEntry`]
//! and [`RegistryAction`] (one line of the registry's bulk import, checked by
//! [`registry_line`]), [`LineProblem`] (why a line is refused, in MyPivot's Italian words), and
//! [`NO_ACCERTAMENTO`] (`n/a`, what an entry without an assessment code stores).
//! Must never: read a file (the ZIP and the ISO-8859-1 text are `flows::accertamenti_registry`'s),
//! read the store, or panic.
//! Implements: `shared/reference/mypivot.md` §5.1 and §7.9.

/// The stored `cod_accertamento` of a registry entry that names no assessment.
pub const NO_ACCERTAMENTO: &str = "n/a";

/// Where an accertamento is (MyPivot's states of type ACCERTAMENTO).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AccertamentoState {
    /// Being filled: details may be added; the only state that changes.
    Inserito,
    /// Closed ("documento firmato"): its details count for `pivotSILChiediAccertamento`.
    Chiuso,
    /// Cancelled: its payments may be assigned again.
    Annullato,
}

impl AccertamentoState {
    pub const ALL: [AccertamentoState; 3] =
        [AccertamentoState::Inserito, AccertamentoState::Chiuso, AccertamentoState::Annullato];

    /// MyPivot's code, as stored.
    pub fn code(self) -> &'static str {
        match self {
            AccertamentoState::Inserito => "INSERITO",
            AccertamentoState::Chiuso => "CHIUSO",
            AccertamentoState::Annullato => "ANNULLATO",
        }
    }

    pub fn from_code(code: &str) -> Option<AccertamentoState> {
        AccertamentoState::ALL.into_iter().find(|state| state.code() == code)
    }

    /// Whether `self` may become `next`: only an INSERITO one changes, and only to CHIUSO or
    /// ANNULLATO (closing also needs a detail, which the service checks).
    pub fn may_become(self, next: AccertamentoState) -> bool {
        self == AccertamentoState::Inserito && next != AccertamentoState::Inserito
    }
}

/// What a registry line asks for (`azione`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegistryAction {
    /// `I`: a new entry; refused if it exists.
    Insert,
    /// `D`: remove an entry; refused if it does not exist.
    Delete,
}

/// One entry of the registry: an office, a chapter of a financial year and an assessment,
/// for a debt type.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RegistryEntry {
    pub office_code: String,
    pub office_name: String,
    pub active: bool,
    pub chapter_code: String,
    pub chapter_name: String,
    /// `de_anno_esercizio`: up to 4 digits.
    pub year: String,
    /// [`NO_ACCERTAMENTO`] when the line left it blank.
    pub accertamento_code: String,
    pub accertamento_name: Option<String>,
    pub debt_type_code: String,
}

/// Why a registry line is refused; `Display` is the Italian text after MyPivot's "Errore di
/// conversione alla linea N: ".
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LineProblem {
    #[error("la riga deve avere 10 campi tra virgolette separati da \";\"")]
    Shape,
    #[error("il campo {0} è obbligatorio")]
    Required(&'static str),
    #[error("il campo {field} supera {max} caratteri")]
    TooLong { field: &'static str, max: usize },
    #[error("flg_attivo deve essere true o false")]
    Flag,
    #[error("de_anno_esercizio deve avere al più 4 cifre")]
    Year,
    #[error("azione deve essere I o D")]
    Action,
    #[error("il tipo dovuto {0} non esiste o non è abilitato per l'operatore")]
    DebtType(String),
    #[error("la voce esiste già")]
    Exists,
    #[error("la voce da cancellare non esiste")]
    Missing,
    #[error("la descrizione di {field} {code} differisce da quella registrata")]
    Description { field: &'static str, code: String },
}

/// Checks the 10 fields of a line (already unquoted): cod_ufficio, de_ufficio, flg_attivo,
/// cod_capitolo, de_capitolo, de_anno_esercizio, cod_accertamento, de_accertamento,
/// cod_tipo_dovuto, azione.
pub fn registry_line(fields: &[&str]) -> Result<(RegistryEntry, RegistryAction), LineProblem> {
    let [office_code, office_name, active, chapter_code, chapter_name, year, acc_code, acc_name, debt_type, action] =
        fields
    else {
        return Err(LineProblem::Shape);
    };
    let required = |field: &'static str, value: &str, max: usize| -> Result<String, LineProblem> {
        let value = value.trim();
        if value.is_empty() {
            return Err(LineProblem::Required(field));
        }
        limited(field, value, max)
    };
    let entry = RegistryEntry {
        office_code: required("cod_ufficio", office_code, 64)?,
        office_name: required("de_ufficio", office_name, 512)?,
        active: match active.trim() {
            "true" => true,
            "false" => false,
            "" => return Err(LineProblem::Required("flg_attivo")),
            _ => return Err(LineProblem::Flag),
        },
        chapter_code: required("cod_capitolo", chapter_code, 64)?,
        chapter_name: required("de_capitolo", chapter_name, 512)?,
        year: {
            let year = required("de_anno_esercizio", year, 4)?;
            if !year.bytes().all(|b| b.is_ascii_digit()) {
                return Err(LineProblem::Year);
            }
            year
        },
        accertamento_code: match acc_code.trim() {
            "" => NO_ACCERTAMENTO.to_owned(),
            code => limited("cod_accertamento", code, 64)?,
        },
        accertamento_name: match acc_name.trim() {
            "" => None,
            name => Some(limited("de_accertamento", name, 512)?),
        },
        debt_type_code: required("cod_tipo_dovuto", debt_type, 64)?,
    };
    let action = match action.trim() {
        "I" => RegistryAction::Insert,
        "D" => RegistryAction::Delete,
        "" => return Err(LineProblem::Required("azione")),
        _ => return Err(LineProblem::Action),
    };
    Ok((entry, action))
}

fn limited(field: &'static str, value: &str, max: usize) -> Result<String, LineProblem> {
    if value.chars().count() > max {
        return Err(LineProblem::TooLong { field, max });
    }
    Ok(value.to_owned())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

    use super::*;

    #[test]
    fn only_an_inserted_accertamento_changes_and_never_back() {
        use AccertamentoState::*;
        assert!(Inserito.may_become(Chiuso));
        assert!(Inserito.may_become(Annullato));
        assert!(!Inserito.may_become(Inserito));
        for from in [Chiuso, Annullato] {
            for to in AccertamentoState::ALL {
                assert!(!from.may_become(to), "{from:?} -> {to:?}");
            }
        }
        for state in AccertamentoState::ALL {
            assert_eq!(AccertamentoState::from_code(state.code()), Some(state));
        }
    }

    #[test]
    fn a_line_of_7_9_reads_and_a_blank_accertamento_is_n_a() {
        let (entry, action) =
            registry_line(&["PM", "Polizia Locale", "true", "3020", "Sanzioni CdS", "2024", "", "", "CDS", "I"])
                .unwrap();
        assert_eq!(action, RegistryAction::Insert);
        assert_eq!(entry.accertamento_code, "n/a");
        assert_eq!(entry.accertamento_name, None);
        assert!(entry.active);
        let bad = |fields: [&str; 10]| registry_line(&fields).unwrap_err().to_string();
        let line = ["TRIB", "Ufficio Tributi", "true", "1010", "TARI", "2024", "2024/101", "Acc", "TARI", "I"];
        let with = |idx: usize, value: &'static str| {
            let mut fields = line;
            fields[idx] = value;
            fields
        };
        assert_eq!(bad(with(0, " ")), "il campo cod_ufficio è obbligatorio");
        assert_eq!(bad(with(2, "si")), "flg_attivo deve essere true o false");
        assert_eq!(bad(with(5, "24a")), "de_anno_esercizio deve avere al più 4 cifre");
        assert_eq!(bad(with(5, "20245")), "il campo de_anno_esercizio supera 4 caratteri");
        assert_eq!(bad(with(9, "U")), "azione deve essere I o D");
        assert_eq!(registry_line(&line[..9]).unwrap_err(), LineProblem::Shape);
        let long = "x".repeat(65);
        assert_eq!(
            registry_line(&[&long, "a", "true", "b", "c", "2024", "", "", "TARI", "D"]).unwrap_err(),
            LineProblem::TooLong { field: "cod_ufficio", max: 64 }
        );
    }
}
