-- Version 3: the citizen portal. Server-side web sessions, carts sent to pagoPA Checkout, the mail
-- outbox, e-mail verification PINs, privacy notice acceptances and per-installation settings.

-- Per-installation values that must survive restarts (the HMAC key of signed receipt links).
CREATE TABLE setting (
    key          TEXT PRIMARY KEY,
    value        TEXT NOT NULL,            -- opaque to the store; secrets are random hex
    created_at   TEXT NOT NULL
);

-- A browser session. The cookie carries a random 256-bit id; only its SHA-256 is stored, so a copy
-- of the database gives no usable cookie.
CREATE TABLE session (
    id_hash       TEXT PRIMARY KEY,        -- hex SHA-256 of the cookie value
    csrf_token    TEXT NOT NULL,           -- random, checked on every form POST
    citizen_id    TEXT,                    -- fiscal code of the logged-in citizen; NULL: anonymous
    citizen_name  TEXT,
    citizen_email TEXT,
    auth_method   TEXT,                    -- `headers`, `oidc`, `demo`
    data_json     TEXT NOT NULL DEFAULT '{}', -- the web layer's state (cart, flash, verified e-mail)
    created_at    TEXT NOT NULL,
    last_seen_at  TEXT NOT NULL,
    expires_at    TEXT NOT NULL            -- idle expiry, moved forward on use
);
CREATE INDEX session_expires ON session (expires_at);

-- A cart handed to pagoPA Checkout. The browser's return is only a hint: the outcome is read from
-- the receipts of the items' debts.
CREATE TABLE cart (
    id            INTEGER PRIMARY KEY,
    token         TEXT NOT NULL UNIQUE,    -- random; the idCart sent to Checkout and the return URLs' key
    session_hash  TEXT NOT NULL,           -- the session that started it (not a foreign key: sessions expire)
    state         TEXT NOT NULL CHECK (state IN ('IN_PAGAMENTO', 'PAGATO', 'ANNULLATO', 'ERRORE')),
    checkout_url  TEXT,                    -- where Checkout sent the browser
    payer_email   TEXT,                    -- emailNotice, verified by PIN or from the citizen's profile
    citizen_id    TEXT,                    -- the logged-in citizen who paid, if any
    total_cents   INTEGER NOT NULL CHECK (total_cents > 0),
    mail_queued   INTEGER NOT NULL DEFAULT 0 CHECK (mail_queued IN (0, 1)), -- receipt links mailed once
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL
);
CREATE INDEX cart_session ON cart (session_hash);

-- The notices of a cart (1..5, pagoPA's limit).
CREATE TABLE cart_item (
    cart_id        INTEGER NOT NULL REFERENCES cart(id),
    position       INTEGER NOT NULL CHECK (position BETWEEN 1 AND 5),
    org_id         INTEGER NOT NULL REFERENCES org(id),
    debt_id        INTEGER NOT NULL REFERENCES debt(id),
    notice_number  TEXT NOT NULL,
    amount_cents   INTEGER NOT NULL CHECK (amount_cents > 0),
    PRIMARY KEY (cart_id, position)
);
CREATE INDEX cart_item_debt ON cart_item (debt_id);

-- Mails to send; a background thread sends them with retries when [mail] is configured.
CREATE TABLE mail_outbox (
    id              INTEGER PRIMARY KEY,
    recipient       TEXT NOT NULL,
    subject         TEXT NOT NULL,
    body            TEXT NOT NULL,         -- plain text, UTF-8
    state           TEXT NOT NULL CHECK (state IN ('DA_INVIARE', 'INVIATA', 'FALLITA')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    last_error      TEXT,
    created_at      TEXT NOT NULL,
    sent_at         TEXT
);
CREATE INDEX mail_outbox_due ON mail_outbox (state, next_attempt_at);

-- A 6-digit PIN mailed to verify an anonymous payer's address; valid for one hour, used once.
CREATE TABLE email_pin (
    id            INTEGER PRIMARY KEY,
    session_hash  TEXT NOT NULL,
    email         TEXT NOT NULL,           -- lower case
    pin_hash      TEXT NOT NULL,           -- hex HMAC of the PIN with the installation key
    attempts      INTEGER NOT NULL DEFAULT 0, -- wrong guesses; at 5 the PIN is dead
    created_at    TEXT NOT NULL,
    expires_at    TEXT NOT NULL,
    used_at       TEXT
);
CREATE INDEX email_pin_session ON email_pin (session_hash, created_at);
CREATE INDEX email_pin_email ON email_pin (email, created_at);

-- Acceptance of an org's privacy notice when a payment starts (GDPR accountability).
CREATE TABLE privacy_acceptance (
    id            INTEGER PRIMARY KEY,
    org_id        INTEGER NOT NULL REFERENCES org(id),
    version       TEXT NOT NULL,           -- the notice's version as shown
    cart_id       INTEGER REFERENCES cart(id),
    session_hash  TEXT NOT NULL,
    citizen_id    TEXT,
    accepted_at   TEXT NOT NULL
);
