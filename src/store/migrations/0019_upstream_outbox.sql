-- Version 19: upstream mode's outbox. An org whose debts are mirrored to the regional MyPay
-- (`upstream_mirror`) queues each change of a debt, and each debt flow, in `upstream_change`, in
-- the transaction that makes the change; a sender takes them in order, per org, and keeps each
-- one until the Region answered it.
ALTER TABLE org ADD COLUMN upstream_mirror INTEGER NOT NULL DEFAULT 0 CHECK (upstream_mirror IN (0, 1));

CREATE TABLE upstream_change (
    id               INTEGER PRIMARY KEY,  -- the order: an org's changes go up by id
    org_id           INTEGER NOT NULL REFERENCES org(id),
    debt_id          INTEGER REFERENCES debt(id),          -- I, M, A: the debt, sent as it is when sent
    import_id        INTEGER REFERENCES debt_import(id),   -- F: the flow, uploaded as it was uploaded here
    action           TEXT NOT NULL CHECK (action IN ('I', 'M', 'A', 'F')),
    state            TEXT NOT NULL DEFAULT 'PENDING' CHECK (state IN ('PENDING', 'SENT', 'REFUSED')),
    attempts         INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at  TEXT NOT NULL,
    last_error_code  TEXT CHECK (last_error_code IS NULL OR length(last_error_code) <= 64),
    last_error_text  TEXT CHECK (last_error_text IS NULL OR length(last_error_text) <= 1024),
    region_iuv       TEXT CHECK (region_iuv IS NULL OR length(region_iuv) <= 35),
    request_token    TEXT CHECK (request_token IS NULL OR length(request_token) <= 256),  -- F: the Region's
    merged_into      INTEGER REFERENCES upstream_change(id),  -- an M that an earlier send of its debt carried
    created_at       TEXT NOT NULL,
    sent_at          TEXT,                 -- when the Region's answer finished it (SENT or REFUSED)
    CHECK ((action = 'F') = (debt_id IS NULL)),
    CHECK (action <> 'F' OR import_id IS NOT NULL)
);
-- The head of an org's queue and its depth.
CREATE INDEX upstream_change_pending ON upstream_change (org_id, id) WHERE state = 'PENDING';
-- What the Region refused, per org (operators' view, /metrics).
CREATE INDEX upstream_change_refused ON upstream_change (org_id, id) WHERE state = 'REFUSED';
-- The changes of one debt, and the flow of one import (merging, and whether the Region has a debt).
CREATE INDEX upstream_change_debt ON upstream_change (debt_id) WHERE debt_id IS NOT NULL;
CREATE INDEX upstream_change_import ON upstream_change (import_id) WHERE import_id IS NOT NULL;
