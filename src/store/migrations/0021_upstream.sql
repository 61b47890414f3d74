-- Version 21: upstream mode, a box behind the regional node (reference/regional.md §3, §7.2).
-- Each org's credentials at the regional node and the state of its link; the outcome pushes the
-- region sends, kept as hints until the region confirms them; and the JWT identity of our own
-- outcome push (header `kid`, claims `iss` and `sub`), for a box that is the region of another.

-- One org's link with the regional node. The password and the push secret are sealed with the key
-- file (`v1:...`, bound to org_id) because mypay must read them back; never shown.
CREATE TABLE org_upstream (
    org_id           INTEGER PRIMARY KEY REFERENCES org(id),
    region_ipa       TEXT CHECK (region_ipa IS NULL OR length(region_ipa) BETWEEN 1 AND 35),  -- codIpaEnte there
    password         TEXT,                 -- the org's SIL password at the region, sealed
    push_secret      TEXT,                 -- base64 HS512 key the region signs its pushes with, sealed
    push_kid         TEXT,                 -- header `kid` of the region's push token; NULL: none expected
    push_iss         TEXT,                 -- claim `iss`; NULL: none expected
    push_sub         TEXT,                 -- claim `sub`; NULL: none expected
    last_contact_at  TEXT,                 -- the region's last answer, whatever it said
    last_error_code  TEXT,                 -- the fault code (NULL: a transport error) of the last failed call
    last_error_text  TEXT,                 -- NULL again once the region answers a call as asked
    last_error_at    TEXT,
    last_receipt_at  TEXT,                 -- the last receipt stored from the region (polling: upstream_poll)
    updated_at       TEXT NOT NULL
);

-- One outcome push the region sent (MyPay's {rt, esito}), stored once its token was checked: a hint
-- to confirm with paaSILChiediPagatiConRicevuta, never a payment by itself. The same body again is
-- a REPLAY row without the bytes; a body that cannot be read is UNREADABLE, kept whole.
CREATE TABLE upstream_push (
    id            INTEGER PRIMARY KEY,
    org_id        INTEGER NOT NULL REFERENCES org(id),
    received_at   TEXT NOT NULL,
    body_sha256   TEXT NOT NULL CHECK (length(body_sha256) = 64),  -- hex, of the body as received
    state         TEXT NOT NULL
                  CHECK (state IN ('RECEIVED', 'REPLAY', 'UNREADABLE', 'CONFIRMED', 'NOT_CONFIRMED')),
    rt            BLOB,                    -- `rt` decoded (the receipt XML)
    esito         BLOB,                    -- `esito` decoded (the Pagati XML)
    body          BLOB,                    -- the body itself, for an unreadable push only
    iuv           TEXT,                    -- as the push says, unchecked
    iud           TEXT,
    receipt_code  TEXT,                    -- receiptId / identificativoUnivocoRiscossione
    unknown_iuv   INTEGER NOT NULL DEFAULT 0 CHECK (unknown_iuv IN (0, 1)),  -- no debt of the org has it
    replay_of     INTEGER REFERENCES upstream_push(id),
    detail        TEXT,                    -- why unreadable, or what the confirmation found
    decided_at    TEXT                     -- when the confirmation marked it
);
CREATE UNIQUE INDEX upstream_push_body ON upstream_push (org_id, body_sha256) WHERE state <> 'REPLAY';
CREATE INDEX upstream_push_state ON upstream_push (state, id);

ALTER TABLE org_push ADD COLUMN jwt_kid TEXT;
ALTER TABLE org_push ADD COLUMN jwt_iss TEXT;
ALTER TABLE org_push ADD COLUMN jwt_sub TEXT;
