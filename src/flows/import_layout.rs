//! The import layouts 1_0..1_4 (reference/mypay.md §2.4): which columns a version has, in which
//! order, and the header names that let a file bind its columns by name.
//!
//! MyPay reads columns by position and ignores the header. mypay does the same, except that when
//! every header name is one of a column's known names (MyPay/Talend's, MyPay's own exports',
//! pagoPA PU's), the columns are bound by name, so a file with reordered columns still loads.
//! Must never: guess: a header that names some columns and not others binds by position.
//!
//! mypay's one extension (issue 20): a 1_4 header may end with one more column named
//! [`OPTIONS_HEADER`], after `azione`, carrying a row's payment options (`flows::import_options`).
//! Appended last so the 35 MyPay columns keep their positions and a file without it is plain 1_4.

/// A layout version, from the file name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Version {
    V1_0,
    V1_1,
    V1_2,
    V1_3,
    V1_4,
}

/// A logical column of the import row (the 1_4 superset).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Column {
    Iud,
    Iuv,
    DebtorKind,
    DebtorId,
    DebtorName,
    Address,
    CivicNumber,
    PostalCode,
    City,
    Province,
    Country,
    Email,
    DueDate,
    Amount,
    Fee,
    DebtType,
    PaymentKinds,
    Causale,
    CollectionData,
    Bilancio,
    GenerateIuv,
    MultiBeneficiary,
    MbFiscalCode,
    MbName,
    MbIban,
    MbAddress,
    MbCivicNumber,
    MbPostalCode,
    MbCity,
    MbProvince,
    MbCountry,
    MbCollectionData,
    MbCausale,
    MbAmount,
    Action,
    /// mypay's `opzioniPagamento` (1_4 extension, never in MyPay's layouts).
    Options,
}

/// Number of logical columns.
pub const N_COLUMNS: usize = 36;

/// The header name of the extension column.
pub const OPTIONS_HEADER: &str = "opzioniPagamento";

use Column as C;

/// The 1_4 order; older layouts are prefixes of it, with `azione` last.
const ALL: [Column; N_COLUMNS] = [
    C::Iud,
    C::Iuv,
    C::DebtorKind,
    C::DebtorId,
    C::DebtorName,
    C::Address,
    C::CivicNumber,
    C::PostalCode,
    C::City,
    C::Province,
    C::Country,
    C::Email,
    C::DueDate,
    C::Amount,
    C::Fee,
    C::DebtType,
    C::PaymentKinds,
    C::Causale,
    C::CollectionData,
    C::Bilancio,
    C::GenerateIuv,
    C::MultiBeneficiary,
    C::MbFiscalCode,
    C::MbName,
    C::MbIban,
    C::MbAddress,
    C::MbCivicNumber,
    C::MbPostalCode,
    C::MbCity,
    C::MbProvince,
    C::MbCountry,
    C::MbCollectionData,
    C::MbCausale,
    C::MbAmount,
    C::Action,
    C::Options,
];

impl Version {
    /// The version of a file-name suffix: `1_0` .. `1_4`.
    pub fn parse(text: &str) -> Option<Version> {
        match text {
            "1_0" => Some(Version::V1_0),
            "1_1" => Some(Version::V1_1),
            "1_2" => Some(Version::V1_2),
            "1_3" => Some(Version::V1_3),
            "1_4" => Some(Version::V1_4),
            _ => None,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Version::V1_0 => "1_0",
            Version::V1_1 => "1_1",
            Version::V1_2 => "1_2",
            Version::V1_3 => "1_3",
            Version::V1_4 => "1_4",
        }
    }

    /// Columns before `azione`: 19, 19, 20, 21, 34.
    fn data_columns(self) -> usize {
        match self {
            Version::V1_0 | Version::V1_1 => 19,
            Version::V1_2 => 20,
            Version::V1_3 => 21,
            Version::V1_4 => 34,
        }
    }

    /// Columns of a row: 20, 20, 21, 22 or 35.
    pub fn n_columns(self) -> usize {
        self.data_columns() + 1
    }

    /// The columns in positional order, `azione` last.
    pub fn columns(self) -> impl Iterator<Item = Column> {
        ALL.iter().copied().take(self.data_columns()).chain(std::iter::once(C::Action))
    }

    /// Whether the layout has this column.
    #[cfg(test)]
    pub fn has(self, column: Column) -> bool {
        self.columns().any(|c| c == column)
    }
}

impl Column {
    /// Position in the 1_4 superset, used as an index.
    pub fn index(self) -> usize {
        ALL.iter().position(|c| *c == self).unwrap_or(N_COLUMNS - 1)
    }

    /// The header names a file may use for this column (compared ignoring case).
    pub fn names(self) -> &'static [&'static str] {
        match self {
            C::Iud => &["IUD"],
            C::Iuv => &["codIuv"],
            C::DebtorKind => &["tipoIdentificativoUnivoco"],
            C::DebtorId => &["codiceIdentificativoUnivoco"],
            C::DebtorName => &["anagraficaPagatore"],
            C::Address => &["indirizzoPagatore"],
            C::CivicNumber => &["civicoPagatore"],
            C::PostalCode => &["capPagatore"],
            C::City => &["localitaPagatore"],
            C::Province => &["provinciaPagatore"],
            C::Country => &["nazionePagatore"],
            C::Email => &["emailPagatore", "mailPagatore"],
            C::DueDate => &["dataScadenzaPagamento", "dataEsecuzionePagamento"],
            C::Amount => &["importoDovuto"],
            C::Fee => &["commissioneCaricoPa"],
            C::DebtType => &["tipoDovuto"],
            C::PaymentKinds => &["tipoVersamento"],
            C::Causale => &["causaleVersamento"],
            C::CollectionData => &["datiSpecificiRiscossione"],
            C::Bilancio => &["bilancio"],
            C::GenerateIuv => &["flagGeneraIuv"],
            C::MultiBeneficiary => &["flagMultiBeneficiario"],
            C::MbFiscalCode => &["codiceFiscaleEnteSecondario"],
            C::MbName => &["denominazioneEnteSecondario"],
            C::MbIban => &["ibanAccreditoEnteSecondario"],
            C::MbAddress => &["indirizzoEnteSecondario"],
            C::MbCivicNumber => &["civicoEnteSecondario"],
            C::MbPostalCode => &["capEnteSecondario"],
            C::MbCity => &["localitaEnteSecondario"],
            C::MbProvince => &["provinciaEnteSecondario"],
            C::MbCountry => &["nazioneEnteSecondario"],
            C::MbCollectionData => &["datiSpecificiRiscossioneEnteSecondario"],
            C::MbCausale => &["causaleVersamentoEnteSecondario"],
            C::MbAmount => &["importoVersamentoEnteSecondario"],
            C::Action => &["azione"],
            C::Options => &[OPTIONS_HEADER],
        }
    }

    fn named(self, header: &str) -> bool {
        let header = header.trim();
        self.names().iter().any(|n| n.eq_ignore_ascii_case(header))
    }
}

/// How a file's columns map to the layout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    pub version: Version,
    /// For each physical column, the logical column it holds.
    pub physical: Vec<Column>,
    /// For each logical column (by [`Column::index`]), its physical position.
    positions: [Option<usize>; N_COLUMNS],
    /// Whether the header named every column.
    pub by_name: bool,
}

/// A header whose column count does not match the version.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the header has {found} columns, layout {version} has {expected}")]
pub struct LayoutError {
    pub version: &'static str,
    pub found: usize,
    pub expected: usize,
}

impl Layout {
    /// Binds the header of a file of `version`: by name when every header field names a distinct
    /// column of the version, by position otherwise. The column count must match either way.
    pub fn bind(version: Version, header: &[&str]) -> Result<Layout, LayoutError> {
        let expected = version.n_columns();
        if version == Version::V1_4
            && header.len() == expected + 1
            && let Some((last, rest)) = header.split_last()
            && C::Options.named(last)
        {
            let mut layout = Layout::bind(version, rest)?;
            if let Some(slot) = layout.positions.get_mut(C::Options.index()) {
                *slot = Some(layout.physical.len());
            }
            layout.physical.push(C::Options);
            return Ok(layout);
        }
        if header.len() != expected {
            return Err(LayoutError { version: version.code(), found: header.len(), expected });
        }
        let by_name: Option<Vec<Column>> = header
            .iter()
            .map(|h| version.columns().find(|c| c.named(h)))
            .collect::<Option<Vec<_>>>()
            .filter(|cols| version.columns().all(|c| cols.contains(&c)));
        let (physical, by_name) = match by_name {
            Some(cols) => (cols, true),
            None => (version.columns().collect(), false),
        };
        let mut positions = [None; N_COLUMNS];
        for (pos, column) in physical.iter().enumerate() {
            if let Some(slot) = positions.get_mut(column.index()) {
                *slot = Some(pos);
            }
        }
        Ok(Layout { version, physical, positions, by_name })
    }

    /// The physical position of a column, `None` when the version lacks it.
    pub fn position(&self, column: Column) -> Option<usize> {
        self.positions.get(column.index()).copied().flatten()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]
    use super::*;

    #[test]
    fn column_counts_per_version() {
        let counts: Vec<usize> = [Version::V1_0, Version::V1_1, Version::V1_2, Version::V1_3, Version::V1_4]
            .map(Version::n_columns)
            .to_vec();
        assert_eq!(counts, [20, 20, 21, 22, 35]);
        assert!(!Version::V1_1.has(Column::Bilancio));
        assert!(Version::V1_3.has(Column::GenerateIuv));
    }

    #[test]
    fn binds_by_name_when_every_name_is_known_else_by_position() {
        let names: Vec<&str> = Version::V1_2.columns().map(|c| c.names()[c.names().len() - 1]).collect();
        let mut swapped = names.clone();
        swapped.swap(0, 1);
        let layout = Layout::bind(Version::V1_2, &swapped).unwrap();
        assert!(layout.by_name);
        assert_eq!(layout.position(Column::Iud), Some(1));
        assert_eq!(layout.position(Column::Action), Some(20));
        let mut unknown = names.clone();
        unknown[3] = "whatever";
        let layout = Layout::bind(Version::V1_2, &unknown).unwrap();
        assert!(!layout.by_name);
        assert_eq!(layout.position(Column::Iud), Some(0));
        assert_eq!(layout.position(Column::GenerateIuv), None);
        let err = Layout::bind(Version::V1_4, &names).unwrap_err();
        assert_eq!((err.found, err.expected), (21, 35));
    }

    #[test]
    fn options_column_only_after_a_1_4_header() {
        let mut names: Vec<&str> = Version::V1_4.columns().map(|c| c.names()[0]).collect();
        names.push("OpzioniPagamento");
        let layout = Layout::bind(Version::V1_4, &names).unwrap();
        assert_eq!((layout.physical.len(), layout.position(Column::Options)), (36, Some(35)));
        assert!(layout.by_name);
        names[35] = "altro";
        assert_eq!(Layout::bind(Version::V1_4, &names).unwrap_err().found, 36);
        let mut v13: Vec<&str> = Version::V1_3.columns().map(|c| c.names()[0]).collect();
        v13.push(OPTIONS_HEADER);
        assert!(Layout::bind(Version::V1_3, &v13).is_err());
        assert_eq!(Layout::bind(Version::V1_3, &v13[..22]).unwrap().position(Column::Options), None);
    }
}
