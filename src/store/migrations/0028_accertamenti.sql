-- Migration 0028: reconciliation's accertamenti
-- (the registry of offices, chapters and assessments; headers and their details, each detail one
-- receipt transfer assigned to an assessment) and the operators' notes on reconciled elements
-- (MyPivot's segnalazioni), with their history.
CREATE TABLE accertamento_registry (
    id                 INTEGER PRIMARY KEY,
    org_id             INTEGER NOT NULL REFERENCES org(id) ON DELETE CASCADE,
    debt_type_code     TEXT CHECK (debt_type_code IS NULL OR length(debt_type_code) BETWEEN 1 AND 64),
    office_code        TEXT NOT NULL CHECK (length(office_code) BETWEEN 1 AND 64),
    office_name        TEXT NOT NULL CHECK (length(office_name) BETWEEN 1 AND 512),
    active             INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    chapter_code       TEXT NOT NULL CHECK (length(chapter_code) BETWEEN 1 AND 64),
    chapter_name       TEXT NOT NULL CHECK (length(chapter_name) BETWEEN 1 AND 512),
    year               TEXT NOT NULL CHECK (length(year) BETWEEN 1 AND 4),   -- de_anno_esercizio
    accertamento_code  TEXT NOT NULL CHECK (length(accertamento_code) BETWEEN 1 AND 64),  -- 'n/a': none
    accertamento_name  TEXT CHECK (accertamento_name IS NULL OR length(accertamento_name) <= 512),
    created_at         TEXT NOT NULL,
    updated_at         TEXT NOT NULL
);
-- One entry per (debt type, office, chapter, year, assessment): an import's I of an existing one
-- and D of a missing one are refused by this key.
CREATE UNIQUE INDEX accertamento_registry_key ON accertamento_registry
    (org_id, ifnull(debt_type_code, ''), office_code, chapter_code, year, accertamento_code);

CREATE TABLE accertamento (
    id              INTEGER PRIMARY KEY,
    org_id          INTEGER NOT NULL REFERENCES org(id) ON DELETE CASCADE,
    debt_type_code  TEXT NOT NULL CHECK (length(debt_type_code) BETWEEN 1 AND 64),
    name            TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 255),
    state           TEXT NOT NULL DEFAULT 'INSERITO' CHECK (state IN ('INSERITO', 'CHIUSO', 'ANNULLATO')),
    created_by      TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    printed         INTEGER NOT NULL DEFAULT 0 CHECK (printed IN (0, 1))
);
CREATE INDEX accertamento_org ON accertamento (org_id, id);

-- One receipt transfer (IUV, IUR, transfer index) booked to an office/chapter/assessment.
CREATE TABLE accertamento_detail (
    id                 INTEGER PRIMARY KEY,
    accertamento_id    INTEGER NOT NULL REFERENCES accertamento(id) ON DELETE CASCADE,
    org_id             INTEGER NOT NULL REFERENCES org(id) ON DELETE CASCADE,
    debt_type_code     TEXT NOT NULL,
    iud                TEXT,
    iuv                TEXT NOT NULL,
    iur                TEXT NOT NULL,
    transfer_index     INTEGER NOT NULL CHECK (transfer_index BETWEEN 1 AND 5),
    office_code        TEXT NOT NULL,
    chapter_code       TEXT NOT NULL,
    accertamento_code  TEXT NOT NULL,
    amount_cents       INTEGER NOT NULL CHECK (amount_cents > 0),
    amount_entered     INTEGER NOT NULL DEFAULT 0 CHECK (amount_entered IN (0, 1)),  -- flg_importo_inserito
    inserted_by        TEXT NOT NULL,
    inserted_at        TEXT NOT NULL,
    updated_at         TEXT NOT NULL
);
CREATE INDEX accertamento_detail_header ON accertamento_detail (accertamento_id, id);
-- Whether a transfer is already booked (in an accertamento not ANNULLATO).
CREATE INDEX accertamento_detail_payment ON accertamento_detail (org_id, iuv, iur, transfer_index);

-- An operator's note on a reconciled element (org, label, IUD, IUV, IUF): adding one makes the
-- element's previous active note inactive, so the history stays. A DOPPI note keeps the IUR in
-- iuf and the transfer index in iud, as MyPivot does.
CREATE TABLE recon_note (
    id          INTEGER PRIMARY KEY,
    org_id      INTEGER NOT NULL REFERENCES org(id) ON DELETE CASCADE,
    author      TEXT NOT NULL,
    label       TEXT NOT NULL CHECK (length(label) BETWEEN 1 AND 20),
    iud         TEXT CHECK (iud IS NULL OR length(iud) BETWEEN 1 AND 35),
    iuv         TEXT CHECK (iuv IS NULL OR length(iuv) BETWEEN 1 AND 35),
    iuf         TEXT CHECK (iuf IS NULL OR length(iuf) BETWEEN 1 AND 35),
    note        TEXT NOT NULL CHECK (length(note) BETWEEN 1 AND 4000),
    hidden      INTEGER NOT NULL DEFAULT 0 CHECK (hidden IN (0, 1)),
    active      INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    version     INTEGER NOT NULL DEFAULT 0,
    CHECK (iud IS NOT NULL OR iuv IS NOT NULL OR iuf IS NOT NULL)
);
-- At most one active note per element (NULL keys compared as equal).
CREATE UNIQUE INDEX recon_note_active ON recon_note (org_id, label, ifnull(iud, ''), ifnull(iuv, ''), ifnull(iuf, ''))
    WHERE active = 1;
CREATE INDEX recon_note_element ON recon_note (org_id, iuv, id);
