-- Version 32. Reconciliation exports (mypivot.md §4): a booking with its filters, run by a job into
-- `<data_dir>/export/<ipa>/` like receipt exports, in MyPivot's states.
CREATE TABLE recon_export (
    id              INTEGER PRIMARY KEY,
    org_id          INTEGER NOT NULL REFERENCES org(id),
    version         TEXT NOT NULL,    -- as asked: 1.0..1.4 (anything else ends VERSIONE_TRACCIATO_ERRATA)
    headers         TEXT NOT NULL CHECK (headers IN ('MYPIVOT', 'P4PA')),
    filters         TEXT NOT NULL,    -- JSON: labels, debt types, IUVs, IUFs, day ranges
    max_rows        INTEGER NOT NULL, -- lines allowed (export.max-records), fixed at booking
    requested_by    TEXT NOT NULL,    -- `cli`, `operator:<username>`, `api:<token>`, `sil:<ipa>`
    state           TEXT NOT NULL CHECK (state IN ('PRENOTATO', 'EXPORT_ESEGUITO', 'EXPORT_ESEGUITO_NESSUN_RECORD_TROVATO',
                                                   'ERRORE_EXPORT_FLUSSO_RICONCILIAZIONE',
                                                   'NUMERO_MASSIMO_EXPORT_RIGHE_CONSENTITO_SUPERATO',
                                                   'VERSIONE_TRACCIATO_ERRATA', 'CLASSIFICAZIONE_COMPLETEZZA_NON_VALIDA')),
    file_name       TEXT,             -- the ZIP, under <data_dir>/export/<ipa>/; NULL without one
    rows            INTEGER,          -- lines written (or counted, past the maximum)
    error           TEXT,
    requested_at    TEXT NOT NULL,
    finished_at     TEXT,
    file_purged_at  TEXT              -- when the retention purge deleted its file
);
CREATE INDEX recon_export_org ON recon_export (org_id, id);
