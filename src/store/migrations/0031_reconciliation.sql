-- Version 31: reconciliation (mypivot.md §1, §3).
-- The municipality's own files (treasury movements, payment notifications, the legacy Poste rows)
-- are stored per org; receipts and reporting flows are read where they already are. The
-- classification keeps one row per transfer key (org, IUV, IUR, transfer index), per notification
-- without a receipt and per treasury movement that joins nothing, with its labels.

-- An org's reconciliation flags (MyPivot's flg_pagati, flg_tesoreria); no row: both off.
CREATE TABLE recon_org (
    org_id       INTEGER PRIMARY KEY REFERENCES org(id),
    pagati       INTEGER NOT NULL DEFAULT 0 CHECK (pagati IN (0, 1)),     -- it sends notifications (D)
    tesoreria    INTEGER NOT NULL DEFAULT 0 CHECK (tesoreria IN (0, 1)),  -- it loads its treasury
    updated_at   TEXT NOT NULL
);

-- An uploaded reconciliation file, from submission to its outcome (MyPivot's manage states).
CREATE TABLE recon_upload (
    id             INTEGER PRIMARY KEY,
    org_id         INTEGER NOT NULL REFERENCES org(id),
    kind           TEXT NOT NULL CHECK (kind IN ('T', 'C', 'O', 'Y', 'P', 'D')),
    file_name      TEXT NOT NULL,    -- as uploaded; never a path
    stored_file    TEXT NOT NULL,    -- relative to the data directory
    size_bytes     INTEGER NOT NULL,
    sha256         TEXT NOT NULL,
    columns        TEXT,             -- C: the 7 column positions, comma-separated
    uploader       TEXT NOT NULL,    -- audit actor
    state          TEXT NOT NULL CHECK (state IN ('FILE_SCARICATO', 'FILE_IN_CARICAMENTO', 'FILE_CARICATO',
                                                  'ERROR_LOAD', 'FILE_DUPLICATO')),
    error          TEXT,
    rows_accepted  INTEGER,
    rows_rejected  INTEGER,
    rows_ignored   INTEGER,
    -- Movements another treasury source already holds with the same key and amount (§8 j).
    warnings       INTEGER,
    rejects_file   TEXT,             -- <name>_SCARTI.csv, relative to the data directory
    submitted_at   TEXT NOT NULL,
    finished_at    TEXT
);
CREATE INDEX recon_upload_org ON recon_upload (org_id, id);
CREATE INDEX recon_upload_name ON recon_upload (org_id, file_name, state);

-- One credit on the org's treasury account (T, C, O, Y). `natural_key` makes a reload change
-- nothing: `B:<year>/<number>` for a bolletta (C and O share it: a later file replaces, a
-- reversal deletes), otherwise the movement's content with its occurrence in the file.
CREATE TABLE recon_movement (
    id              INTEGER PRIMARY KEY,
    org_id          INTEGER NOT NULL REFERENCES org(id),
    source          TEXT NOT NULL CHECK (source IN ('T', 'C', 'O', 'Y')),
    key_group       TEXT NOT NULL,    -- 'CO' for C and O (one giornale di cassa), else the source
    natural_key     TEXT NOT NULL,
    bolletta_year   INTEGER,
    bolletta_number TEXT,
    account         TEXT,
    booking_day     TEXT NOT NULL,
    value_day       TEXT,
    amount_cents    INTEGER NOT NULL CHECK (amount_cents > 0),
    causale         TEXT NOT NULL,
    payer_name      TEXT,
    iuf             TEXT,             -- upper case, as joins compare it
    iuv             TEXT,
    end_to_end_id   TEXT,
    document        TEXT,
    upload_id       INTEGER REFERENCES recon_upload(id),
    loaded_at       TEXT NOT NULL,
    UNIQUE (org_id, key_group, natural_key)
);
CREATE INDEX recon_movement_iuf ON recon_movement (org_id, iuf) WHERE iuf IS NOT NULL;
CREATE INDEX recon_movement_iuv ON recon_movement (org_id, iuv) WHERE iuv IS NOT NULL;

-- The org's record that a debt was paid (D); a later file with the same IUD replaces it.
CREATE TABLE recon_notification (
    org_id          INTEGER NOT NULL REFERENCES org(id),
    iud             TEXT NOT NULL,
    iuv             TEXT NOT NULL,
    payer_kind      TEXT NOT NULL,
    payer_id        TEXT NOT NULL,
    payer_name      TEXT NOT NULL,
    payer_email     TEXT,
    paid_on         TEXT NOT NULL,
    amount_cents    INTEGER NOT NULL,
    fee_cents       INTEGER,
    debt_type       TEXT NOT NULL,
    payment_kind    TEXT NOT NULL,
    causale         TEXT NOT NULL,
    collection_data TEXT NOT NULL,
    bilancio        TEXT,
    upload_id       INTEGER REFERENCES recon_upload(id),
    loaded_at       TEXT NOT NULL,
    PRIMARY KEY (org_id, iud)
);
CREATE INDEX recon_notification_iuv ON recon_notification (org_id, iuv, iud);  -- also the order the joins read

-- The legacy Poste rendicontazione (P): kept as read; it has no IUV, so it joins nothing.
CREATE TABLE recon_poste_row (
    org_id          INTEGER NOT NULL REFERENCES org(id),
    iur             TEXT NOT NULL,
    operation_day   TEXT NOT NULL,
    office          TEXT NOT NULL,
    amount_cents    INTEGER NOT NULL,
    credit_day      TEXT NOT NULL,
    upload_id       INTEGER REFERENCES recon_upload(id),
    PRIMARY KEY (org_id, iur, operation_day, amount_cents)
);

-- The classification: one row per transfer key, per notification without a receipt and per
-- treasury movement that joins nothing; the amounts each source gives it, NULL where absent.
CREATE TABLE recon_item (
    id               INTEGER PRIMARY KEY,
    org_id           INTEGER NOT NULL REFERENCES org(id),
    iuv              TEXT,             -- NULL: a movement without IUV
    iur              TEXT,             -- NULL: no receipt nor report (a notification, a movement)
    transfer_index   INTEGER,
    iud              TEXT,
    movement_id      INTEGER,          -- set on a movement's own row only
    iuf              TEXT,             -- the reporting flow (or the movement's IUF)
    receipt_id       INTEGER,          -- receipt.id, when a stored receipt pays it
    day              TEXT NOT NULL,    -- what months group by: payment, outcome, notification or booking day
    amount_cents     INTEGER NOT NULL, -- what sums add: E, else R, else N, else the movement
    n_cents          INTEGER,
    e_cents          INTEGER,
    e_total_cents    INTEGER,
    r_cents          INTEGER,
    r_total_cents    INTEGER,
    r_outcome        TEXT,
    t_iuf_cents      INTEGER,          -- the first treasury movement joined by IUF
    t_iuv_cents      INTEGER,          -- the first joined by IUV
    t_count          INTEGER NOT NULL DEFAULT 0,
    labels           TEXT NOT NULL     -- space-separated codes, MyPivot's order
);
CREATE INDEX recon_item_iuv ON recon_item (org_id, iuv);
CREATE INDEX recon_item_movement ON recon_item (movement_id) WHERE movement_id IS NOT NULL;
CREATE INDEX recon_item_day ON recon_item (org_id, day);

-- A row per (item, label), for "counts and amounts per label per month" and a label's drill-down.
CREATE TABLE recon_label (
    org_id        INTEGER NOT NULL,
    label         TEXT NOT NULL,
    day           TEXT NOT NULL,
    item_id       INTEGER NOT NULL REFERENCES recon_item(id) ON DELETE CASCADE,
    amount_cents  INTEGER NOT NULL,
    PRIMARY KEY (org_id, label, day, item_id)
) WITHOUT ROWID;
CREATE INDEX recon_label_item ON recon_label (item_id);

-- What changed since it was classified: an IUV (`V`), a flow's IUF (`F`) or a movement (`M`).
-- Receipts and reporting flows are written by other services: the triggers below note what they
-- touched, so the classification follows without those services knowing of it, and without a
-- window of dates (§8 c); a job or the next reconciliation run classifies it again.
CREATE TABLE recon_dirty (
    org_id  INTEGER NOT NULL,
    kind    TEXT NOT NULL CHECK (kind IN ('V', 'F', 'M')),
    value   TEXT NOT NULL,
    PRIMARY KEY (org_id, kind, value)
) WITHOUT ROWID;
CREATE TRIGGER recon_receipt_in AFTER INSERT ON receipt BEGIN
    INSERT OR IGNORE INTO recon_dirty (org_id, kind, value) VALUES (NEW.org_id, 'V', NEW.iuv);
END;
CREATE TRIGGER recon_receipt_change AFTER UPDATE OF outcome, held, iuv, debt_id ON receipt BEGIN
    INSERT OR IGNORE INTO recon_dirty (org_id, kind, value) VALUES (NEW.org_id, 'V', NEW.iuv), (OLD.org_id, 'V', OLD.iuv);
END;
CREATE TRIGGER recon_receipt_out AFTER DELETE ON receipt BEGIN
    INSERT OR IGNORE INTO recon_dirty (org_id, kind, value) VALUES (OLD.org_id, 'V', OLD.iuv);
END;
CREATE TRIGGER recon_reporting_in AFTER INSERT ON reporting_payment BEGIN
    INSERT OR IGNORE INTO recon_dirty (org_id, kind, value) SELECT org_id, 'V', NEW.iuv FROM reporting_flow WHERE id = NEW.flow_id;
END;
CREATE TRIGGER recon_reporting_out AFTER DELETE ON reporting_payment BEGIN
    INSERT OR IGNORE INTO recon_dirty (org_id, kind, value) SELECT org_id, 'V', OLD.iuv FROM reporting_flow WHERE id = OLD.flow_id;
END;
CREATE TRIGGER recon_flow_change AFTER UPDATE OF superseded_by, state ON reporting_flow BEGIN
    INSERT OR IGNORE INTO recon_dirty (org_id, kind, value) SELECT NEW.org_id, 'V', iuv FROM reporting_payment WHERE flow_id = NEW.id;
END;

-- What was stored before this version is classified by the first reconciliation run.
INSERT OR IGNORE INTO recon_dirty (org_id, kind, value) SELECT org_id, 'V', iuv FROM receipt;
INSERT OR IGNORE INTO recon_dirty (org_id, kind, value)
    SELECT f.org_id, 'V', p.iuv FROM reporting_payment p JOIN reporting_flow f ON f.id = p.flow_id;
