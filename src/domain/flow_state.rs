//! The states of the municipality's flows: a debt-flow import and a receipt export.
//!
//! Owns: the states each request goes through with MyPay's codes, which of them are final, and the
//! Italian labels the back office shows.
//! Must never: decide when a request moves (the services run imports and exports), or store
//! anything; the codes are a contract (SIL `stato`, `mypay import --json`, the REST API) and are
//! kept exactly as MyPay spells them.
//! Implements: `shared/reference/mypay.md` §2.2 (import tracking), §3.5 (export status) and the
//! import and export states listed at the end of §5.1.

use std::fmt;

/// Where a debt-flow import stands (`mygov_import_dovuti`): `LOAD_IMPORT` → `IMPORT_IN_ELAB` →
/// `IMPORT_ESEGUITO` or `IMPORT_ABORTITO`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum ImportState {
    /// `LOAD_IMPORT`: uploaded, waiting for its run; the state every import starts in.
    #[default]
    Queued,
    /// `IMPORT_IN_ELAB`: running (or interrupted while running, and to be run again).
    InProgress,
    /// `IMPORT_ESEGUITO`: applied; its rows were loaded or rejected one by one. Final.
    Done,
    /// `IMPORT_ABORTITO`: refused as a whole with a file-level code; nothing applied. Final.
    Aborted,
}

impl ImportState {
    /// Every state, in the order an import goes through them.
    pub const ALL: [ImportState; 4] =
        [ImportState::Queued, ImportState::InProgress, ImportState::Done, ImportState::Aborted];

    /// MyPay's code.
    pub const fn code(self) -> &'static str {
        match self {
            ImportState::Queued => "LOAD_IMPORT",
            ImportState::InProgress => "IMPORT_IN_ELAB",
            ImportState::Done => "IMPORT_ESEGUITO",
            ImportState::Aborted => "IMPORT_ABORTITO",
        }
    }

    /// The state with this MyPay code (exact, uppercase), if any.
    pub fn from_code(code: &str) -> Option<ImportState> {
        ImportState::ALL.into_iter().find(|state| state.code() == code)
    }

    /// True once the import ended, applied or aborted: running it again changes nothing.
    pub const fn is_final(self) -> bool {
        matches!(self, ImportState::Done | ImportState::Aborted)
    }

    /// The Italian label of the back office.
    pub const fn label_it(self) -> &'static str {
        match self {
            ImportState::Queued => "In coda",
            ImportState::InProgress => "In elaborazione",
            ImportState::Done => "Eseguito",
            ImportState::Aborted => "Rifiutato",
        }
    }
}

impl fmt::Display for ImportState {
    /// MyPay's code, as in [`ImportState::code`].
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // `pad`, not `write_str`: `{:<13}` lines a state up as it did the stored text.
        f.pad(self.code())
    }
}

/// Where an export request stands: `LOAD_EXPORT` → `EXPORT_IN_ELAB` → `EXPORT_ESEGUITO` or
/// `ERROR_EXPORT`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum ExportState {
    /// `LOAD_EXPORT`: requested, waiting for its run; the state every export starts in.
    #[default]
    Queued,
    /// `EXPORT_IN_ELAB`: being written (or interrupted while written, and to be run again).
    InProgress,
    /// `EXPORT_ESEGUITO`: written; without a file when nothing matched. Final.
    Done,
    /// `ERROR_EXPORT`: refused or failed. Final.
    Failed,
}

impl ExportState {
    /// Every state, in the order an export goes through them.
    pub const ALL: [ExportState; 4] =
        [ExportState::Queued, ExportState::InProgress, ExportState::Done, ExportState::Failed];

    /// MyPay's code.
    pub const fn code(self) -> &'static str {
        match self {
            ExportState::Queued => "LOAD_EXPORT",
            ExportState::InProgress => "EXPORT_IN_ELAB",
            ExportState::Done => "EXPORT_ESEGUITO",
            ExportState::Failed => "ERROR_EXPORT",
        }
    }

    /// The state with this MyPay code (exact, uppercase), if any.
    pub fn from_code(code: &str) -> Option<ExportState> {
        ExportState::ALL.into_iter().find(|state| state.code() == code)
    }

    /// True once the export ended, written or failed: its job has nothing left to do.
    pub const fn is_final(self) -> bool {
        matches!(self, ExportState::Done | ExportState::Failed)
    }

    /// The Italian label of the back office.
    pub const fn label_it(self) -> &'static str {
        match self {
            ExportState::Queued => "In coda",
            ExportState::InProgress => "In elaborazione",
            ExportState::Done => "Eseguita",
            ExportState::Failed => "Errore",
        }
    }
}

impl fmt::Display for ExportState {
    /// MyPay's code, as in [`ExportState::code`].
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // `pad`, not `write_str`: `{:<13}` lines a state up as it did the stored text.
        f.pad(self.code())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

    use super::*;

    #[test]
    fn import_codes_round_trip_and_unknown_ones_are_refused() {
        let expected = [
            (ImportState::Queued, "LOAD_IMPORT", false),
            (ImportState::InProgress, "IMPORT_IN_ELAB", false),
            (ImportState::Done, "IMPORT_ESEGUITO", true),
            (ImportState::Aborted, "IMPORT_ABORTITO", true),
        ];
        assert_eq!(expected.len(), ImportState::ALL.len());
        for (state, code, is_final) in expected {
            assert_eq!(state.code(), code);
            assert_eq!(state.to_string(), code);
            assert_eq!(ImportState::from_code(code), Some(state));
            assert_eq!(state.is_final(), is_final, "{state}");
        }
        assert_eq!(ImportState::default(), ImportState::Queued);
        for unknown in ["load_import", "IMPORT_ESEGUITO ", "LOAD_EXPORT", ""] {
            assert_eq!(ImportState::from_code(unknown), None, "{unknown:?}");
        }
    }

    #[test]
    fn export_codes_round_trip_and_unknown_ones_are_refused() {
        let expected = [
            (ExportState::Queued, "LOAD_EXPORT", false),
            (ExportState::InProgress, "EXPORT_IN_ELAB", false),
            (ExportState::Done, "EXPORT_ESEGUITO", true),
            (ExportState::Failed, "ERROR_EXPORT", true),
        ];
        assert_eq!(expected.len(), ExportState::ALL.len());
        for (state, code, is_final) in expected {
            assert_eq!(state.code(), code);
            assert_eq!(state.to_string(), code);
            assert_eq!(ExportState::from_code(code), Some(state));
            assert_eq!(state.is_final(), is_final, "{state}");
        }
        assert_eq!(ExportState::default(), ExportState::Queued);
        // The SIL's `EXPORT_ESEGUITO_NESSUN_DOVUTO_TROVATO` is an answer, never a stored state.
        for unknown in ["export_eseguito", "EXPORT_ESEGUITO_NESSUN_DOVUTO_TROVATO", "LOAD_IMPORT", ""] {
            assert_eq!(ExportState::from_code(unknown), None, "{unknown:?}");
        }
    }
}

/// Where a reconciliation export booking stands (MyPivot's `EXPORT_FLUSSO_RICONCILIAZIONE`
/// states, mypivot.md §4): `PRENOTATO` until its job ends it in one of the others, all final.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum ReconExportState {
    /// `PRENOTATO`: booked, waiting for (or in) its run.
    #[default]
    Booked,
    /// `EXPORT_ESEGUITO`: the file is written.
    Done,
    /// `EXPORT_ESEGUITO_NESSUN_RECORD_TROVATO`: nothing matched; no file.
    NothingFound,
    /// `ERRORE_EXPORT_FLUSSO_RICONCILIAZIONE`: the run failed.
    Failed,
    /// `NUMERO_MASSIMO_EXPORT_RIGHE_CONSENTITO_SUPERATO`: more lines than the booking allows; no file.
    TooManyRows,
    /// `VERSIONE_TRACCIATO_ERRATA`: not a layout of 1.0..1.4 (or P4PA names outside 1.3/1.4).
    BadVersion,
    /// `CLASSIFICAZIONE_COMPLETEZZA_NON_VALIDA`: 1.2 asked for a notification label of an org
    /// without notifications.
    BadLabel,
}

impl ReconExportState {
    pub const ALL: [ReconExportState; 7] = [
        ReconExportState::Booked,
        ReconExportState::Done,
        ReconExportState::NothingFound,
        ReconExportState::Failed,
        ReconExportState::TooManyRows,
        ReconExportState::BadVersion,
        ReconExportState::BadLabel,
    ];

    /// MyPivot's code.
    pub const fn code(self) -> &'static str {
        match self {
            ReconExportState::Booked => "PRENOTATO",
            ReconExportState::Done => "EXPORT_ESEGUITO",
            ReconExportState::NothingFound => "EXPORT_ESEGUITO_NESSUN_RECORD_TROVATO",
            ReconExportState::Failed => "ERRORE_EXPORT_FLUSSO_RICONCILIAZIONE",
            ReconExportState::TooManyRows => "NUMERO_MASSIMO_EXPORT_RIGHE_CONSENTITO_SUPERATO",
            ReconExportState::BadVersion => "VERSIONE_TRACCIATO_ERRATA",
            ReconExportState::BadLabel => "CLASSIFICAZIONE_COMPLETEZZA_NON_VALIDA",
        }
    }

    /// The state with this code (exact), if any.
    pub fn from_code(code: &str) -> Option<ReconExportState> {
        ReconExportState::ALL.into_iter().find(|state| state.code() == code)
    }

    /// The Italian label of the back office.
    pub const fn label_it(self) -> &'static str {
        match self {
            ReconExportState::Booked => "Prenotata",
            ReconExportState::Done => "Eseguita",
            ReconExportState::NothingFound => "Eseguita: nessuna riga trovata",
            ReconExportState::Failed => "Errore",
            ReconExportState::TooManyRows => "Troppe righe",
            ReconExportState::BadVersion => "Versione del tracciato errata",
            ReconExportState::BadLabel => "Classificazione non valida per il tracciato",
        }
    }

    /// Every state but `PRENOTATO` ends the booking.
    pub const fn is_final(self) -> bool {
        !matches!(self, ReconExportState::Booked)
    }
}
