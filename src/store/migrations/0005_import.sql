-- Version 5: debt-flow imports (CSV in ZIP, reference/mypay.md §2) and the durable job queue.

-- An uploaded debt flow (MyPay `mygov_import_dovuti` + `mygov_flusso`): one row per upload, from
-- LOAD_IMPORT (stored, queued) through IMPORT_IN_ELAB to IMPORT_ESEGUITO (rows applied, result
-- files written, in the same transaction as the rows) or IMPORT_ABORTITO (a file-level error,
-- nothing applied). An org's IUF is loaded at most once: checked when the flow is applied.
CREATE TABLE debt_import (
    id                   INTEGER PRIMARY KEY,
    org_id               INTEGER NOT NULL REFERENCES org(id),
    file_name            TEXT NOT NULL,    -- as uploaded, <IPA>-<IUF>-<version>.zip; never used as a path
    iuf                  TEXT,             -- from the name once it checks out; NULL before or when refused
    layout_version       TEXT CHECK (layout_version IS NULL OR layout_version IN ('1_0', '1_1', '1_2', '1_3', '1_4')),
    state                TEXT NOT NULL CHECK (state IN ('LOAD_IMPORT', 'IMPORT_IN_ELAB', 'IMPORT_ESEGUITO',
                                                        'IMPORT_ABORTITO')),
    error_code           TEXT,             -- file-level PAA_IMPORT_* code of an IMPORT_ABORTITO
    error_description    TEXT,             -- what the operator reads about it
    uploader             TEXT NOT NULL,    -- audit actor: `cli`, `operator:<username>`, `sil:<ipa>`
    operator             TEXT,             -- whose debt-type enablement applies; NULL: an administrator
    stored_file          TEXT NOT NULL,    -- the upload, relative to data_dir
    size_bytes           INTEGER NOT NULL CHECK (size_bytes >= 0),
    sha256               TEXT NOT NULL,    -- hex digest of the upload (MyPay keeps an MD5 sidecar)
    rows_total           INTEGER,          -- data rows read (header and blank lines excluded)
    rows_loaded          INTEGER,          -- rows applied (I, M or A)
    rows_rejected        INTEGER,          -- rows listed in the _SCARTI file
    rejects_file         TEXT,             -- <name>_SCARTI.zip relative to data_dir; NULL: no rejected row
    iuv_file             TEXT,             -- <name>_IUV.zip relative to data_dir; NULL: no loaded row
    created_at           TEXT NOT NULL,
    started_at           TEXT,             -- last time a run began (a crash makes it run again)
    finished_at          TEXT,
    -- <name>_AVVISI_PDF.zip relative to data_dir, written by a job after the import commits;
    -- NULL: not (yet) made, or no row asked for a notice
    notices_file         TEXT
);
CREATE INDEX debt_import_org ON debt_import (org_id, id);
CREATE INDEX debt_import_org_iuf ON debt_import (org_id, iuf);

-- Durable background work (DESIGN: no in-memory queues for anything that matters). A job is
-- claimed by setting it running with its owner's process id; a running job whose owner died is
-- queued again, and the work itself is idempotent (an import checks its own state in the
-- transaction that applies it).
CREATE TABLE job (
    id                   INTEGER PRIMARY KEY,
    kind                 TEXT NOT NULL,    -- a jobs::JobKind code, e.g. `import`
    payload              TEXT NOT NULL,    -- JSON arguments of the kind
    state                TEXT NOT NULL CHECK (state IN ('queued', 'running', 'done', 'failed')),
    attempts             INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_run_at          TEXT NOT NULL,    -- not before this time (retries back off)
    owner                TEXT,             -- `pid:<n>` of the process running it
    last_error           TEXT,
    created_at           TEXT NOT NULL,
    updated_at           TEXT NOT NULL
);
CREATE INDEX job_ready ON job (state, next_run_at);

-- The debt flow that last wrote a debt (insert, modify or annul); NULL for other channels.
ALTER TABLE debt ADD COLUMN import_id INTEGER REFERENCES debt_import(id);
