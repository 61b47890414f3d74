-- Version 14: receipts that do not pay what the station asked for are held (stored, settling
-- nothing); what the station answered to paGetPayment is kept as payment offers; things a person
-- must look at are anomalies. After this file, `migrate` re-checks every stored receipt against its
-- debt (store::receipts::recheck_all) and holds the ones that do not match.
ALTER TABLE receipt ADD COLUMN held INTEGER NOT NULL DEFAULT 0 CHECK (held IN (0, 1));

CREATE TABLE payment_offer (
    id          INTEGER PRIMARY KEY,
    debt_id     INTEGER NOT NULL REFERENCES debt(id),
    terms       TEXT NOT NULL,
    offered_at  TEXT NOT NULL,
    UNIQUE (debt_id, terms)
);

CREATE TABLE anomaly (
    id               INTEGER PRIMARY KEY,
    org_id           INTEGER NOT NULL REFERENCES org(id),
    kind             TEXT NOT NULL,
    object_kind      TEXT NOT NULL,
    object_id        INTEGER NOT NULL,
    details          TEXT NOT NULL,
    found_at         TEXT NOT NULL,
    state            TEXT NOT NULL DEFAULT 'open' CHECK (state = 'open' OR state = 'resolved'),
    resolution       TEXT CHECK (resolution IS NULL OR resolution = 'accepted' OR resolution = 'dismissed'),
    resolved_by      TEXT,
    resolved_at      TEXT,
    resolution_note  TEXT,
    UNIQUE (kind, object_kind, object_id)
);
CREATE INDEX anomaly_org_state ON anomaly (org_id, state);

-- Receipts already flagged for an operator's eye become open anomalies.
INSERT INTO anomaly (org_id, kind, object_kind, object_id, details, found_at)
SELECT org_id, flag, 'receipt', id, '{}', received_at FROM receipt WHERE flag IS NOT NULL AND flag <> 'ESITO_KO';
