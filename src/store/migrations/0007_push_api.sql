-- Version 7: the outcome push to the org's own system (reference/mypay.md §4.8) and the bearer
-- tokens of the REST API.

-- Where an org wants its payment outcomes pushed (MyPay `mygov_ente_sil`): one row per org; no
-- row, no push. Which receipts are pushed, and how many times it is tried, is the debt type's
-- (`push_outcome`, `max_push_attempts`).
CREATE TABLE org_push (
    org_id               INTEGER PRIMARY KEY REFERENCES org(id),
    url                  TEXT NOT NULL,    -- http(s) URL the {rt, esito} JSON is POSTed to
    -- base64 HMAC key of the HS512 bearer JWT; kept readable because it must sign, never shown;
    -- NULL: no Authorization header
    secret               TEXT,
    retry_seconds        INTEGER NOT NULL DEFAULT 60 CHECK (retry_seconds BETWEEN 1 AND 86400),  -- first retry delay, doubling
    updated_at           TEXT NOT NULL
);

-- One push of one receipt (MyPay `mygov_push_esito_sil`), queued with its job in the receipt's
-- transaction: pending until the org's system answers 2xx without a faultCode (sent) or the
-- attempts run out (failed).
CREATE TABLE outcome_push (
    id                   INTEGER PRIMARY KEY,
    org_id               INTEGER NOT NULL REFERENCES org(id),
    receipt_id           INTEGER NOT NULL UNIQUE REFERENCES receipt(id),
    state                TEXT NOT NULL CHECK (state IN ('pending', 'sent', 'failed')),
    attempts             INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    max_attempts         INTEGER NOT NULL CHECK (max_attempts >= 1),  -- the debt type's, when queued
    last_error           TEXT,             -- what the last failed attempt got, for operators
    last_attempt_at      TEXT,
    sent_at              TEXT,
    created_at           TEXT NOT NULL
);
CREATE INDEX outcome_push_org ON outcome_push (org_id, id);

-- Bearer tokens of the REST API (/api/v1/), one org each. Only the SHA-256 of the token is kept:
-- the token itself is shown once, when created.
CREATE TABLE api_token (
    id                   INTEGER PRIMARY KEY,
    org_id               INTEGER NOT NULL REFERENCES org(id),
    token_hash           TEXT NOT NULL UNIQUE,  -- hex SHA-256 of the whole token
    label                TEXT NOT NULL,    -- what the token is for, shown in lists
    created_at           TEXT NOT NULL,
    revoked_at           TEXT,             -- NULL: valid
    last_used_at         TEXT
);
CREATE INDEX api_token_org ON api_token (org_id, id);
