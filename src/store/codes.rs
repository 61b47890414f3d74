//! How domain values are stored: state enums as the text of their `code()`, read back through
//! `from_code()`; money as its integer cents; notice numbers, IUVs and days as their text.
//!
//! Owns: rusqlite's `ToSql`/`FromSql` for `Cents`, `NoticeNumber`, `Iuv`, `Day` and the domain's
//! states (debt, org, import, export, cart) and the macro the store's own state enums (jobs, mail,
//! pushes, anomalies, reporting flows) use for theirs, so the columns keep exactly the text they
//! always held and no SQL changes. A stored text
//! no enum knows (a file edited by hand) is a [`StoreError::Corrupt`](super::StoreError::Corrupt)
//! naming the column, never a panic and never a silent default.

use crate::domain::{CartState, Cents, Day, DebtState, ExportState, ImportState, Iuv, NoticeNumber, OrgState};

/// A stored state code that its enum does not know.
#[derive(Debug, thiserror::Error)]
#[error("unknown code {code:?}")]
pub(super) struct UnknownCode {
    /// The column, as `table.column`.
    pub(super) column: &'static str,
    /// The text found there.
    pub(super) code: String,
}

/// Implements `ToSql` (the `code()` text) and `FromSql` (`from_code()`, an [`UnknownCode`] naming
/// `$column` for anything else) for the state enum `$ty`.
macro_rules! stored_as_code {
    ($ty:ty, $column:literal) => {
        impl rusqlite::types::ToSql for $ty {
            fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
                Ok(rusqlite::types::ToSqlOutput::from(self.code()))
            }
        }

        impl rusqlite::types::FromSql for $ty {
            fn column_result(value: rusqlite::types::ValueRef<'_>) -> rusqlite::types::FromSqlResult<Self> {
                let text = value.as_str()?;
                <$ty>::from_code(text).ok_or_else(|| {
                    rusqlite::types::FromSqlError::Other(Box::new($crate::store::codes::UnknownCode {
                        column: $column,
                        code: text.to_owned(),
                    }))
                })
            }
        }
    };
}
pub(super) use stored_as_code;

stored_as_code!(DebtState, "debt.state");
stored_as_code!(OrgState, "org.state");
stored_as_code!(ImportState, "debt_import.state");
stored_as_code!(ExportState, "export.state");
stored_as_code!(crate::domain::ReconExportState, "recon_export.state");
stored_as_code!(CartState, "cart.state");
stored_as_code!(crate::domain::adhesion::Mode, "org_adhesion.mode");
stored_as_code!(crate::domain::adhesion::ActType, "org_adhesion.act_type");

/// Money is stored as the integer number of cents it always was (`amount_cents` columns); every
/// integer is a [`Cents`], and a column of another type fails as reading it as `i64` did.
impl rusqlite::types::ToSql for Cents {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        Ok(rusqlite::types::ToSqlOutput::from(self.get()))
    }
}

impl rusqlite::types::FromSql for Cents {
    fn column_result(value: rusqlite::types::ValueRef<'_>) -> rusqlite::types::FromSqlResult<Self> {
        value.as_i64().map(Cents::new)
    }
}

/// A stored text that no longer parses as the domain value its column holds.
#[derive(Debug, thiserror::Error)]
#[error("{reason}")]
pub(super) struct InvalidValue {
    /// The column, or the kind of value when several columns hold it.
    pub(super) column: &'static str,
    /// Why the text does not parse, naming it.
    pub(super) reason: String,
}

/// Notice numbers are stored as their 18 digits; a stored text that is not a valid notice number
/// is an [`InvalidValue`].
impl rusqlite::types::ToSql for NoticeNumber {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        Ok(rusqlite::types::ToSqlOutput::from(self.as_str()))
    }
}

impl rusqlite::types::FromSql for NoticeNumber {
    fn column_result(value: rusqlite::types::ValueRef<'_>) -> rusqlite::types::FromSqlResult<Self> {
        NoticeNumber::parse(value.as_str()?).map_err(|err| {
            rusqlite::types::FromSqlError::Other(Box::new(InvalidValue {
                column: "notice_number",
                reason: err.to_string(),
            }))
        })
    }
}

/// IUVs are stored as their text; a stored text that is not 1 to 35 letters or digits is an
/// [`InvalidValue`].
impl rusqlite::types::ToSql for Iuv {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        Ok(rusqlite::types::ToSqlOutput::from(self.as_str()))
    }
}

impl rusqlite::types::FromSql for Iuv {
    fn column_result(value: rusqlite::types::ValueRef<'_>) -> rusqlite::types::FromSqlResult<Self> {
        Iuv::parse(value.as_str()?).map_err(|err| {
            rusqlite::types::FromSqlError::Other(Box::new(InvalidValue { column: "iuv", reason: err.to_string() }))
        })
    }
}

/// Days are stored as `YYYY-MM-DD`, the text SQL compares (`due_date < ?`, `BETWEEN`); a stored
/// text in any other form is an [`InvalidValue`].
impl rusqlite::types::ToSql for Day {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        Ok(rusqlite::types::ToSqlOutput::from(self.text()))
    }
}

impl rusqlite::types::FromSql for Day {
    fn column_result(value: rusqlite::types::ValueRef<'_>) -> rusqlite::types::FromSqlResult<Self> {
        Day::parse(value.as_str()?).map_err(|err| {
            rusqlite::types::FromSqlError::Other(Box::new(InvalidValue { column: "day", reason: err.to_string() }))
        })
    }
}

stored_as_code!(crate::domain::payment_options::OptionKind, "debt_option.kind");
stored_as_code!(crate::domain::payment_options::OptionState, "debt_option.state");
