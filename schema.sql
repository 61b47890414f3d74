-- mypay database schema, current version (SCHEMA_VERSION in src/store/migrate.rs).
--
-- A fresh database gets this file as is; an older one is brought here by the numbered migrations in
-- src/store/migrations/. A test checks that both paths give the same schema.
-- Conventions: times are UTC ISO 8601 text (`2026-11-30T10:15:00Z`), dates are `YYYY-MM-DD` as the
-- contracts write them (a due date is a calendar day in Europe/Rome), money is INTEGER euro cents,
-- booleans are INTEGER 0/1 with a CHECK.

-- A municipality or other creditor organisation (MyPay `mygov_ente`).
CREATE TABLE org (
    id                   INTEGER PRIMARY KEY,
    ipa_code             TEXT NOT NULL UNIQUE,  -- IPA code, the key in SIL headers and file names
    fiscal_code          TEXT NOT NULL UNIQUE CHECK (length(fiscal_code) = 11),  -- pagoPA idPA
    name                 TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    -- INSERITO → PRE-ESERCIZIO → ESERCIZIO; the portal and the SIL need ESERCIZIO.
    state                TEXT NOT NULL DEFAULT 'INSERITO'
                         CHECK (state IN ('INSERITO', 'PRE-ESERCIZIO', 'ESERCIZIO')),
    segregation_code     TEXT NOT NULL CHECK (length(segregation_code) = 2),  -- aux digit 3 notices
    application_code     TEXT CHECK (application_code IS NULL OR length(application_code) = 2),  -- aux 0
    generator_id         TEXT NOT NULL DEFAULT '00' CHECK (length(generator_id) = 2),  -- IUV17 digits 3-4
    cbill_code           TEXT,             -- CBILL code printed on the notice (5 alphanumerics)
    iban_bank            TEXT,             -- default bank IBAN for transfers
    iban_postal          TEXT,             -- default postal IBAN (transferType POSTAL)
    postal_account       TEXT,             -- conto corrente postale, for the Poste bollettino
    postal_account_holder TEXT,
    poste_authorization  TEXT,             -- Poste authorization text; enables the bollettino
    admin_email          TEXT,             -- copied on import/export mails
    address              TEXT,             -- beneficiary address, printed on notices
    civic_number         TEXT,
    postal_code          TEXT,
    city                 TEXT,
    province             TEXT,
    country              TEXT,
    phone                TEXT,
    website              TEXT,
    email                TEXT,
    logo                 BLOB,             -- PNG (RGB), scaled on upload to fit 400x400 px
    logo_mime            TEXT,
    info_text            TEXT,             -- free text shown to citizens
    sil_password_hash    TEXT,             -- argon2id PHC string; never the password itself
    back_url             TEXT,             -- default SIL back URL of the redirect flow
    created_at           TEXT NOT NULL,
    updated_at           TEXT NOT NULL,
    -- Second language of the payment notices, 'de' or 'en' (avviso pagoPA bilingual variant);
    -- NULL: Italian only. Added by migration 3, hence last.
    notice_language      TEXT CHECK (notice_language IS NULL OR notice_language IN ('de', 'en')),
    -- Upstream mode (version 20): 1 when the org's debts are mirrored to the regional MyPay, whose
    -- IUVs they take; the changes go through `upstream_change`.
    upstream_mirror      INTEGER NOT NULL DEFAULT 0 CHECK (upstream_mirror IN (0, 1)),
    -- Its debts made before mirroring was turned on, queued for the Region a chunk at a time in id
    -- order (version 27): the last id queued; NULL: none left to queue.
    upstream_backfill_after INTEGER
);

-- Functionalities switched on per org (MyPay `mygov_ente_funzionalita`). Of MyPay's five codes
-- only PAGAMENTO_SPONTANEO is kept (version 26): what else an org may do is its adhesion mode's.
CREATE TABLE org_functionality (
    org_id   INTEGER NOT NULL REFERENCES org(id) ON DELETE CASCADE,
    code     TEXT NOT NULL CHECK (code IN ('PAGAMENTO_SPONTANEO')),
    active   INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    PRIMARY KEY (org_id, code)
);

-- Each org's adhesion mode (base, flussi, ente) and the act by which it joined (version 26), one
-- row per change so that the history stays; the current record is the org's newest row.
CREATE TABLE org_adhesion (
    id          INTEGER PRIMARY KEY,
    org_id      INTEGER NOT NULL REFERENCES org(id) ON DELETE CASCADE,
    mode        TEXT NOT NULL CHECK (mode IN ('base', 'flussi', 'ente')),
    act_type    TEXT CHECK (act_type IS NULL OR act_type IN ('delibera', 'determina')),
    act_number  TEXT CHECK (act_number IS NULL OR length(act_number) BETWEEN 1 AND 50),
    act_date    TEXT,             -- YYYY-MM-DD
    contacts    TEXT CHECK (contacts IS NULL OR length(contacts) <= 1000),  -- the org's contact persons
    mode_since  TEXT NOT NULL,    -- YYYY-MM-DD: the day this row's mode became active
    changed_by  TEXT NOT NULL,    -- audit actor
    changed_at  TEXT NOT NULL
);
CREATE INDEX org_adhesion_org ON org_adhesion (org_id, id);

-- What a debt is for (MyPay `mygov_ente_tipo_dovuto`), per org.
CREATE TABLE debt_type (
    id                   INTEGER PRIMARY KEY,
    org_id               INTEGER NOT NULL REFERENCES org(id),
    code                 TEXT NOT NULL CHECK (length(code) BETWEEN 1 AND 64),  -- identificativoTipoDovuto
    description          TEXT NOT NULL CHECK (length(description) BETWEEN 1 AND 256),
    iban_bank            TEXT,             -- NULL: the org's default
    iban_postal          TEXT,
    postal_account       TEXT,             -- bollettino on the notice
    postal_account_holder TEXT,
    spontaneous          INTEGER NOT NULL DEFAULT 0 CHECK (spontaneous IN (0, 1)),
    fixed_amount_cents   INTEGER CHECK (fixed_amount_cents IS NULL OR fixed_amount_cents > 0),
    form_definition      TEXT,             -- JSON form of the spontaneous payment; NULL: causale + amount
    external_payment_url TEXT,
    default_bilancio     TEXT,             -- accounting split template (XML)
    allow_anonymous      INTEGER NOT NULL DEFAULT 0 CHECK (allow_anonymous IN (0, 1)),  -- debtor ANONIMO
    due_date_mandatory   INTEGER NOT NULL DEFAULT 0 CHECK (due_date_mandatory IN (0, 1)),
    print_due_date       INTEGER NOT NULL DEFAULT 1 CHECK (print_due_date IN (0, 1)),
    sector               TEXT,             -- settore printed on the notice
    notify_io            INTEGER NOT NULL DEFAULT 0 CHECK (notify_io IN (0, 1)),
    push_outcome         INTEGER NOT NULL DEFAULT 0 CHECK (push_outcome IN (0, 1)),
    max_push_attempts    INTEGER NOT NULL DEFAULT 20 CHECK (max_push_attempts >= 0),
    disable_notice_print INTEGER NOT NULL DEFAULT 0 CHECK (disable_notice_print IN (0, 1)),
    taxonomy_code        TEXT NOT NULL,    -- pagoPA taxonomy, transferCategory
    active               INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    created_at           TEXT NOT NULL,
    updated_at           TEXT NOT NULL,
    -- pagoPA service-catalogue id (idServizio, 5 characters) naming this type in
    -- paDemandPaymentNotice; NULL when the type is not offered at PSPs.
    catalog_service_id   TEXT CHECK (catalog_service_id IS NULL OR length(catalog_service_id) = 5),
    UNIQUE (org_id, code),
    -- MyPay's rule: only a spontaneous type may neither require nor print a due date.
    CHECK (spontaneous = 1 OR due_date_mandatory = 1 OR print_due_date = 1)
);

-- A person who works in the back office.
CREATE TABLE operator (
    id                   INTEGER PRIMARY KEY,
    username             TEXT NOT NULL UNIQUE COLLATE NOCASE,
    password_hash        TEXT NOT NULL,    -- argon2id PHC string
    full_name            TEXT,
    email                TEXT,
    app_admin            INTEGER NOT NULL DEFAULT 0 CHECK (app_admin IN (0, 1)),  -- all orgs
    active               INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    failed_logins        INTEGER NOT NULL DEFAULT 0,
    locked_until         TEXT,
    created_at           TEXT NOT NULL,
    password_changed_at  TEXT NOT NULL
);

-- An operator's role in one org: 'operator' works on the enabled debt types, 'admin' on all of them
-- and on the org's settings.
CREATE TABLE operator_role (
    operator_id  INTEGER NOT NULL REFERENCES operator(id) ON DELETE CASCADE,
    org_id       INTEGER NOT NULL REFERENCES org(id) ON DELETE CASCADE,
    role         TEXT NOT NULL CHECK (role IN ('operator', 'admin')),
    PRIMARY KEY (operator_id, org_id)
);

-- Debt types an operator (role 'operator') may see and act on.
CREATE TABLE operator_debt_type (
    operator_id   INTEGER NOT NULL REFERENCES operator(id) ON DELETE CASCADE,
    debt_type_id  INTEGER NOT NULL REFERENCES debt_type(id) ON DELETE CASCADE,
    PRIMARY KEY (operator_id, debt_type_id)
);

-- A debt position (dovuto), open or closed; the state says which. It holds every column of a 1_4
-- import row, so a file round-trips.
CREATE TABLE debt (
    id                   INTEGER PRIMARY KEY,
    org_id               INTEGER NOT NULL REFERENCES org(id),
    debt_type_id         INTEGER NOT NULL REFERENCES debt_type(id),
    iud                  TEXT NOT NULL,    -- the org's own id, unique among live debts (released_id)
    iuv                  TEXT,             -- creditorReferenceId; NULL until generated or supplied
    notice_number        TEXT,             -- 18 digits when the IUV has one
    -- The long value lists are OR chains, not IN lists: SQLite checks an IN list of more than two
    -- values through a temporary b-tree built on every INSERT, a fifth of a large import's time.
    state                TEXT NOT NULL CHECK (state = 'INSERIMENTO_DOVUTO' OR state = 'PREDISPOSTO'
                              OR state = 'PAGAMENTO_INIZIATO' OR state = 'COMPLETATO'
                              OR state = 'ANNULLATO' OR state = 'SCADUTO'),
    debtor_kind          TEXT NOT NULL CHECK (debtor_kind IN ('F', 'G')),
    debtor_id            TEXT NOT NULL,    -- fiscal code, VAT number or ANONIMO
    debtor_name          TEXT NOT NULL,
    debtor_address       TEXT,
    debtor_civic_number  TEXT,
    debtor_postal_code   TEXT,
    debtor_city          TEXT,
    debtor_province      TEXT,
    debtor_country       TEXT,
    debtor_email         TEXT,
    due_date             TEXT,             -- YYYY-MM-DD, Europe/Rome calendar day
    amount_cents         INTEGER NOT NULL CHECK (amount_cents > 0),  -- the primary org's share
    fee_cents            INTEGER,          -- commissioneCaricoPa, informative
    payment_kinds        TEXT NOT NULL DEFAULT 'ALL',  -- tipoVersamento
    causale              TEXT NOT NULL,
    collection_data      TEXT NOT NULL,    -- datiSpecificiRiscossione
    bilancio             TEXT,
    generate_iuv         INTEGER NOT NULL DEFAULT 0 CHECK (generate_iuv IN (0, 1)),
    -- Multi-beneficiary (import 1_4): the secondary org's share; NULL when single-beneficiary.
    mb_fiscal_code       TEXT,
    mb_name              TEXT,
    mb_iban              TEXT,
    mb_address           TEXT,
    mb_civic_number      TEXT,
    mb_postal_code       TEXT,
    mb_city              TEXT,
    mb_province          TEXT,
    mb_country           TEXT,
    mb_collection_data   TEXT,
    mb_causale           TEXT,
    mb_amount_cents      INTEGER CHECK (mb_amount_cents IS NULL OR mb_amount_cents > 0),
    source               TEXT NOT NULL CHECK (source = 'cli' OR source = 'import' OR source = 'sil'
                              OR source = 'portal' OR source = 'backoffice' OR source = 'node'
                              OR source = 'demo'),
    created_at           TEXT NOT NULL,
    updated_at           TEXT NOT NULL,
    version              INTEGER NOT NULL DEFAULT 1,  -- bumped on every change, for optimistic checks
    payment_started_at   TEXT,             -- when the Node last asked for the payment data (paGetPayment)
    -- A digital stamp (marca da bollo): base64 SHA-256 of the stamped document and the payer's
    -- province; paGetPaymentV2 then asks for a stamp instead of crediting an IBAN.
    stamp_document_hash  TEXT CHECK (stamp_document_hash IS NULL OR length(stamp_document_hash) BETWEEN 4 AND 72),
    stamp_province       TEXT CHECK (stamp_province IS NULL OR length(stamp_province) = 2),
    import_id            INTEGER REFERENCES debt_import(id),  -- the debt flow that last wrote it; NULL otherwise
    -- 0 while the debt holds its IUD and IUV (they are live: unique in the org, debt_org_iud and
    -- debt_org_iuv below); the debt's own id once it is annulled, so both can be used again.
    released_id          INTEGER NOT NULL DEFAULT 0
);
-- Every row an import writes updates each index: the live IUV and IUD ones are how the station,
-- the SIL, the portal and an import's duplicate check find a debt; debtor_id the portal's debts of
-- a citizen (any org); state the SIL's lists and the search's state filter; the last three the
-- back office's search (and an operator's debt types on every search, the expired-debt export).
-- What each costs an import of 1,000,000 rows: services/debts/imports/run.rs.
CREATE INDEX debt_org_state ON debt (org_id, state);
CREATE UNIQUE INDEX debt_org_iuv ON debt (org_id, iuv, released_id) WHERE iuv IS NOT NULL;  -- live IUVs unique (13, 24)
CREATE UNIQUE INDEX debt_org_iud ON debt (org_id, iud, released_id);  -- live IUDs unique (version 13)
CREATE INDEX debt_debtor ON debt (debtor_id);
-- The back office's search (version 8): debtor name prefix, due date, debt type.
CREATE INDEX debt_org_name ON debt (org_id, debtor_name COLLATE NOCASE);
CREATE INDEX debt_org_due ON debt (org_id, due_date);
CREATE INDEX debt_org_type ON debt (org_id, debt_type_id);

-- A debt position's payment options beside its single one (version 29, issue 20; pagopa.md §2,
-- §5.3-5.4). The `debt` row stays the position and, when it has an IUV, its single option (pay in
-- full): every 1_x flow, the SIL and the station keep meaning one option. A row here is another
-- option of the position: an instalment (RATA, seq 1..n) or the reduced amount of a fine
-- (RIDOTTO, valid until due_date included), each with its own IUV and notice number. Paying the
-- single option closes the instalments and the reduced one, and the other way round (BR-12);
-- paid_at records which option a receipt paid.
CREATE TABLE debt_option (
    id             INTEGER PRIMARY KEY,
    debt_id        INTEGER NOT NULL REFERENCES debt(id),
    org_id         INTEGER NOT NULL REFERENCES org(id),
    kind           TEXT NOT NULL CHECK (kind = 'RATA' OR kind = 'RIDOTTO'),
    seq            INTEGER NOT NULL CHECK (seq BETWEEN 1 AND 100),
    iuv            TEXT NOT NULL,
    notice_number  TEXT NOT NULL,
    amount_cents   INTEGER NOT NULL CHECK (amount_cents > 0),
    due_date       TEXT NOT NULL,    -- YYYY-MM-DD: the instalment's due date, the reduced amount's last day
    state          TEXT NOT NULL DEFAULT 'DA_PAGARE' CHECK (state = 'DA_PAGARE' OR state = 'PAGATA'),
    paid_at        TEXT,
    -- 0 while live (its IUV unique in the org); its own id once the position is annulled.
    released_id    INTEGER NOT NULL DEFAULT 0,
    created_at     TEXT NOT NULL,
    UNIQUE (debt_id, kind, seq)
);
-- How the station finds an option by IUV, as fast as a debt (debt_org_iuv).
CREATE UNIQUE INDEX debt_option_org_iuv ON debt_option (org_id, iuv, released_id);
-- A live IUV names one payable thing in the org, a debt or an option: SQLite has no unique index
-- across two tables, so these triggers refuse the other table's live IUVs (the message says
-- UNIQUE, which the store reads as a duplicate).
CREATE TRIGGER debt_option_iuv_free BEFORE INSERT ON debt_option
WHEN EXISTS (SELECT 1 FROM debt WHERE org_id = NEW.org_id AND iuv = NEW.iuv AND released_id = 0)
BEGIN SELECT RAISE(ABORT, 'UNIQUE constraint failed: debt.iuv (an option''s IUV)'); END;
CREATE TRIGGER debt_iuv_not_option BEFORE INSERT ON debt
WHEN NEW.iuv IS NOT NULL
    AND EXISTS (SELECT 1 FROM debt_option WHERE org_id = NEW.org_id AND iuv = NEW.iuv AND released_id = 0)
BEGIN SELECT RAISE(ABORT, 'UNIQUE constraint failed: debt_option.iuv'); END;
CREATE TRIGGER debt_iuv_update_not_option BEFORE UPDATE OF iuv ON debt
WHEN NEW.iuv IS NOT NULL
    AND EXISTS (SELECT 1 FROM debt_option WHERE org_id = NEW.org_id AND iuv = NEW.iuv AND released_id = 0)
BEGIN SELECT RAISE(ABORT, 'UNIQUE constraint failed: debt_option.iuv'); END;

-- The last IUV17 counter issued per org and generator id. It only grows, inside the transaction
-- that stores the debt, so a number is never issued twice.
CREATE TABLE iuv_counter (
    org_id        INTEGER NOT NULL REFERENCES org(id),
    generator_id  TEXT NOT NULL CHECK (length(generator_id) = 2),
    last_value    INTEGER NOT NULL CHECK (last_value >= 0),
    PRIMARY KEY (org_id, generator_id)
);

-- A receipt (RT) as received. Keyed by (org, IUV, receiptId): a replay of the same receipt finds it
-- and stores nothing; a second receipt with another receiptId for a paid IUV is a double payment.
CREATE TABLE receipt (
    id                   INTEGER PRIMARY KEY,
    org_id               INTEGER NOT NULL REFERENCES org(id),  -- the org of receipt/fiscalCode
    debt_id              INTEGER REFERENCES debt(id),          -- NULL when no debt had this IUV
    receipt_id           TEXT NOT NULL,    -- receiptId = payment token = IUR
    notice_number        TEXT NOT NULL,
    iuv                  TEXT NOT NULL,    -- creditorReferenceId
    outcome              TEXT NOT NULL CHECK (outcome IN ('OK', 'KO')),
    amount_cents         INTEGER NOT NULL CHECK (amount_cents >= 0),
    fee_cents            INTEGER,          -- the PSP's commission, paid by the payer
    description          TEXT NOT NULL,
    company_name         TEXT NOT NULL,
    office_name          TEXT,
    debtor_kind          TEXT NOT NULL,
    debtor_id            TEXT NOT NULL,
    debtor_name          TEXT NOT NULL,
    debtor_email         TEXT,
    payer_kind           TEXT,
    payer_id             TEXT,
    payer_name           TEXT,
    payer_email          TEXT,
    psp_id               TEXT NOT NULL,    -- idPSP, the attesting institution
    psp_fiscal_code      TEXT,
    psp_vat_number       TEXT,
    psp_company_name     TEXT NOT NULL,
    channel_id           TEXT NOT NULL,
    channel_description  TEXT NOT NULL,
    payment_method       TEXT,
    payment_note         TEXT,             -- V2: the Checkout idCart
    payment_date_time    TEXT,             -- as sent by the Node (local time, no offset)
    payment_date         TEXT NOT NULL,    -- YYYY-MM-DD of the payment outcome (Europe/Rome), for exports
    application_date     TEXT,
    transfer_date        TEXT,
    stand_in             INTEGER NOT NULL DEFAULT 0 CHECK (stand_in IN (0, 1)),
    primitive            TEXT NOT NULL CHECK (primitive IN ('paSendRT', 'paSendRTV2')),
    -- Why the receipt needs an operator's eye; NULL when it simply paid an open debt.
    flag                 TEXT CHECK (flag IN ('DOPPIO_PAGAMENTO', 'DOVUTO_ANNULLATO', 'DOVUTO_SCADUTO',
                                              'DOVUTO_SCONOSCIUTO', 'ESITO_KO')),
    received_at          TEXT NOT NULL,
    -- 1 while the receipt does not pay what the station asked for (amount, creditor or transfers
    -- differ): stored and shown, but it settles nothing (no paid debt, push, export or SIL answer)
    -- until an operator accepts it (version 14).
    held                 INTEGER NOT NULL DEFAULT 0 CHECK (held IN (0, 1)),
    UNIQUE (org_id, iuv, receipt_id)
);
CREATE INDEX receipt_debt ON receipt (debt_id);
CREATE INDEX receipt_org_received ON receipt (org_id, received_at);
CREATE INDEX receipt_org_payment_date ON receipt (org_id, payment_date);
-- The receipts of an IUV whatever their org: another org's receipt may pay a transfer to this one
-- (reconciliation's S rows; version 33).
CREATE INDEX receipt_iuv ON receipt (iuv);

-- The received SOAP request of a receipt, kept apart so that the receipt rows stay small: exports
-- and reconciliation scan receipts, and only the export's receipt columns read these.
CREATE TABLE receipt_document (
    receipt_id           INTEGER PRIMARY KEY REFERENCES receipt(id),
    request_xml          TEXT NOT NULL     -- the whole SOAP request as received
);

-- The transfers of a receipt, by idTransfer (1..5).
CREATE TABLE receipt_transfer (
    receipt_id           INTEGER NOT NULL REFERENCES receipt(id),
    transfer_index       INTEGER NOT NULL CHECK (transfer_index BETWEEN 1 AND 5),
    amount_cents         INTEGER NOT NULL CHECK (amount_cents > 0),
    fiscal_code          TEXT NOT NULL,    -- the beneficiary org of this transfer
    company_name         TEXT,
    iban                 TEXT,             -- NULL for a digital stamp (MBDAttachment instead)
    mbd_attachment       TEXT,             -- base64 marca da bollo, V2 only
    remittance           TEXT NOT NULL,
    category             TEXT NOT NULL,    -- taxonomy code
    metadata_json        TEXT,             -- [[key, value], ...] when present
    PRIMARY KEY (receipt_id, transfer_index)
);
-- An org's share in other orgs' receipts (multi-beneficiary), for its exports.
CREATE INDEX receipt_transfer_fiscal_code ON receipt_transfer (fiscal_code);

-- A reporting flow (flusso di rendicontazione, FdR) fetched from pagoPA: what a PSP credited to the
-- org in one SCT. Fetching the same (IUF, revision, PSP) again finds it and stores nothing.
CREATE TABLE reporting_flow (
    id                   INTEGER PRIMARY KEY,
    org_id               INTEGER NOT NULL REFERENCES org(id),
    iuf                  TEXT NOT NULL,    -- identificativoFlusso
    revision             INTEGER NOT NULL DEFAULT 1,  -- FdR REST revision; SOAP versions numbered as they arrive
    psp_id               TEXT NOT NULL,
    psp_name             TEXT,
    flow_date            TEXT,             -- dataOraFlusso
    settlement_id        TEXT,             -- identificativoUnivocoRegolamento (TRN of the SCT)
    settlement_date      TEXT,             -- dataRegolamento
    total_payments       INTEGER,
    total_amount_cents   INTEGER,
    -- ACQUISITO: stored with its rows; RIFIUTATO: kept with the reason, without rows.
    state                TEXT NOT NULL CHECK (state IN ('ACQUISITO', 'RIFIUTATO')),
    reject_reason        TEXT,
    source               TEXT NOT NULL CHECK (source IN ('REST', 'SOAP', 'REGION')),
    document             TEXT,             -- the FlussoRiversamento XML (SOAP, REGION) or JSON (REST) as received
    fetched_at           TEXT NOT NULL,
    -- The version that replaced this one (same IUF and PSP, later dataOraFlusso or revision): only
    -- the version with no replacement counts (version 16).
    superseded_by        INTEGER REFERENCES reporting_flow(id),
    UNIQUE (org_id, iuf, revision, psp_id)
);
CREATE INDEX reporting_flow_versions ON reporting_flow (org_id, iuf, psp_id);
CREATE INDEX reporting_flow_fetched ON reporting_flow (org_id, fetched_at);

-- One reported transfer of a flow.
CREATE TABLE reporting_payment (
    flow_id              INTEGER NOT NULL REFERENCES reporting_flow(id),
    row_index            INTEGER NOT NULL,  -- position in the flow, from 1
    iuv                  TEXT NOT NULL,
    iur                  TEXT NOT NULL,     -- = receiptId / payment token
    transfer_index       INTEGER,           -- idTransfer of the receipt
    amount_cents         INTEGER NOT NULL,
    outcome_code         TEXT NOT NULL,     -- 0 executed, 3 revoked, 4/8 stand-in, 9 without RPT
    outcome_date         TEXT NOT NULL,
    PRIMARY KEY (flow_id, row_index)
);
CREATE INDEX reporting_payment_iuv ON reporting_payment (iuv);

-- A receipt export request (MyPay "export flussi RT", reference/mypay.md §3) and its outcome.
CREATE TABLE export (
    id                   INTEGER PRIMARY KEY,
    org_id               INTEGER NOT NULL REFERENCES org(id),
    kind                 TEXT NOT NULL CHECK (kind IN ('RT', 'SCADUTI')),
    version              TEXT NOT NULL,    -- layout: 1.0..1.3 for RT
    date_from            TEXT NOT NULL,    -- inclusive date, or the incremental window start (UTC)
    date_to              TEXT NOT NULL,    -- inclusive date, or the incremental window end, exclusive
    incremental          INTEGER NOT NULL DEFAULT 0 CHECK (incremental IN (0, 1)),
    with_receipt         INTEGER NOT NULL DEFAULT 0 CHECK (with_receipt IN (0, 1)),
    debt_types           TEXT,             -- ';'-separated codes; NULL: every type the requester may see
    requested_by         TEXT NOT NULL,    -- `cli`, `operator:<username>`, `sil:<ipa>`
    state                TEXT NOT NULL CHECK (state IN ('LOAD_EXPORT', 'EXPORT_IN_ELAB', 'EXPORT_ESEGUITO', 'ERROR_EXPORT')),
    file_name            TEXT,             -- the ZIP, under <data_dir>/export/<ipa>/; NULL when no rows
    rows                 INTEGER,
    error                TEXT,
    requested_at         TEXT NOT NULL,
    finished_at          TEXT,
    file_purged_at       TEXT              -- when the retention purge deleted its file (version 25)
);
CREATE INDEX export_org ON export (org_id, id);

-- Append-only journal of every pagoPA and SIL exchange and every administrative change.
CREATE TABLE audit (
    id           INTEGER PRIMARY KEY,
    at           TEXT NOT NULL,
    actor        TEXT NOT NULL,            -- `cli`, `operator:<username>`, `node`, `sil:<ipa>`, `system`
    org_id       INTEGER REFERENCES org(id),
    action       TEXT NOT NULL,            -- `org.add`, `paVerifyPaymentNotice`, ...
    object       TEXT,                     -- what was acted on, e.g. `debt_type:TARI`
    outcome      TEXT NOT NULL,            -- `OK`, `KO`, or a fault code
    duration_ms  INTEGER
);
CREATE INDEX audit_org_at ON audit (org_id, at);
CREATE INDEX audit_org_object ON audit (org_id, object);  -- a debt's history (version 8)
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit BEGIN
    SELECT RAISE(ABORT, 'audit is append-only');
END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit BEGIN
    SELECT RAISE(ABORT, 'audit is append-only');
END;
-- A journal entry's payloads (version 25): the changed record before and after, the exchanged
-- request and response. Kept apart so the retention purge may delete them while the entry stays.
CREATE TABLE audit_payload (
    audit_id     INTEGER PRIMARY KEY REFERENCES audit(id),
    before_json  TEXT,
    after_json   TEXT,
    request      TEXT,                     -- exchanged payloads, as sent and received
    response     TEXT
);

-- Per-installation values that must survive restarts: `key_id`, the id of the key file
-- (`mypay.key`) the secrets are sealed with. No key is kept here (version 17).
CREATE TABLE setting (
    key          TEXT PRIMARY KEY,
    value        TEXT NOT NULL,
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
    notice_number  TEXT,                  -- NULL for a debt the Region creates at its checkout (upstream mode)
    amount_cents   INTEGER NOT NULL CHECK (amount_cents > 0),
    PRIMARY KEY (cart_id, position)
);
CREATE INDEX cart_item_debt ON cart_item (debt_id);

-- Upstream mode: the Region's session of a cart sent to the regional MyPay instead of Checkout;
-- the browser's return (`?idSession=`) finds the cart by it, and the box asks the Region for the
-- outcome with it, as the org that started it.
CREATE TABLE region_payment (
    cart_id     INTEGER PRIMARY KEY REFERENCES cart(id),
    id_session  TEXT NOT NULL UNIQUE,      -- idSession (idSessionCarrello for InviaCarrelloDovuti)
    operation   TEXT NOT NULL CHECK (operation IN ('dovuti', 'carrello', 'avviso')),
    org_id      INTEGER NOT NULL REFERENCES org(id),
    created_at  TEXT NOT NULL
);

-- Upstream mode: debts the Region creates itself when they are paid through it (InviaDovuti,
-- InviaCarrelloDovuti), written in the debt's own transaction; the outbox never mirrors them.
CREATE TABLE region_session_debt (
    debt_id     INTEGER PRIMARY KEY REFERENCES debt(id),
    created_at  TEXT NOT NULL
);

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
    accepted_at   TEXT NOT NULL,
    channel       TEXT NOT NULL DEFAULT 'portale'  -- `portale`, `sil`, `regione` (version 25)
);
CREATE INDEX privacy_acceptance_citizen ON privacy_acceptance (citizen_id);

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
    notices_file         TEXT,
    files_purged_at      TEXT              -- when the retention purge deleted its files (version 25)
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
    payload              TEXT NOT NULL,    -- JSON arguments of the kind (jobs::Job)
    state                TEXT NOT NULL CHECK (state IN ('queued', 'running', 'done', 'failed')),
    attempts             INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_run_at          TEXT NOT NULL,    -- not before this time (retries back off)
    owner                TEXT,             -- `pid:<n>` of the process running it
    last_error           TEXT,
    created_at           TEXT NOT NULL,
    updated_at           TEXT NOT NULL,
    lease_until          TEXT,             -- the owner's claim holds until then without a heartbeat (version 15)
    cursor               TEXT,             -- how far the job got, as its handler wrote it (version 15)
    units_done           INTEGER NOT NULL DEFAULT 0 CHECK (units_done >= 0),  -- progress (version 18)
    units_total          INTEGER CHECK (units_total >= 0)  -- of how many; NULL: not known (version 18)
);
CREATE INDEX job_ready ON job (state, next_run_at);
CREATE INDEX job_subject ON job (kind, payload);  -- the jobs of one object (version 18)

-- Where an org wants its payment outcomes pushed (MyPay `mygov_ente_sil`): one row per org; no
-- row, no push. Which receipts are pushed, and how many times it is tried, is the debt type's
-- (`push_outcome`, `max_push_attempts`).
CREATE TABLE org_push (
    org_id               INTEGER PRIMARY KEY REFERENCES org(id),
    url                  TEXT NOT NULL,    -- http(s) URL the {rt, esito} JSON is POSTed to
    -- base64 HMAC key of the HS512 bearer JWT, sealed with the key file (`v1:...`, bound to
    -- org_id) because mypay must read it back to sign; never shown. NULL: no Authorization header
    secret               TEXT,
    retry_seconds        INTEGER NOT NULL DEFAULT 60 CHECK (retry_seconds BETWEEN 1 AND 86400),  -- first retry delay, doubling
    updated_at           TEXT NOT NULL,
    -- The JWT's identity (version 19), as a regional MyPay's push carries it: header `kid`, claims
    -- `iss` and `sub`; NULL: no `kid`, `iss` mypay, `sub` the org's IPA code.
    jwt_kid              TEXT,
    jwt_iss              TEXT,
    jwt_sub              TEXT
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

-- A payment the municipality's SIL started with paaSILInviaDovuti / paaSILInviaCarrelloDovuti /
-- paaSILVerificaAvviso. Until the citizen confirms, only this row exists (MyPay keeps it in a
-- cache for an hour); the debts and the cart are created when the citizen goes to Checkout.
CREATE TABLE sil_session (
    id            INTEGER PRIMARY KEY,
    id_session    TEXT NOT NULL UNIQUE,   -- idSession / idSessionCarrello given to the SIL
    token         TEXT NOT NULL UNIQUE,   -- random; the key of the citizen's landing URL
    org_id        INTEGER NOT NULL REFERENCES org(id),  -- the org that called
    kind          TEXT NOT NULL CHECK (kind IN ('dovuti', 'carrello', 'avviso')),
    show_mode     TEXT NOT NULL CHECK (show_mode IN ('SHORT', 'NONE')),
    back_url      TEXT,                   -- enteSILInviaRispostaPagamentoUrl, else the org's back_url
    payer_email   TEXT,                   -- e-mailPagatore of the Dovuti, for Checkout
    payload       TEXT NOT NULL,          -- JSON: the checked items, created as debts at checkout
    cart_id       INTEGER REFERENCES cart(id),  -- set when the citizen went to Checkout
    created_at    TEXT NOT NULL,
    expires_at    TEXT NOT NULL           -- the landing URL works until then (one hour)
);
CREATE INDEX sil_session_cart ON sil_session (cart_id);

-- A debt-flow upload authorized by paaSILAutorizzaImportFlusso (mypay.md §2.2): the request
-- token works once, within the hour; the import it became is found by it.
CREATE TABLE sil_upload (
    request_token TEXT PRIMARY KEY,       -- given to the SIL; random
    org_id        INTEGER NOT NULL REFERENCES org(id),
    import_id     INTEGER REFERENCES debt_import(id),  -- set once the file is stored
    used_at       TEXT,                   -- when the upload came (a second one is refused)
    created_at    TEXT NOT NULL,
    expires_at    TEXT NOT NULL,
    -- MyPivot's pivotSILAutorizzaImportFlusso* (version 34): the reconciliation kind authorized and
    -- the upload it became; NULL kind: a MyPay debt flow.
    recon_kind    TEXT CHECK (recon_kind IS NULL OR recon_kind IN ('T', 'C', 'O', 'Y', 'D')),
    recon_upload_id INTEGER REFERENCES recon_upload(id)
);

-- A payment made outside pagoPA and recorded by the SIL (paaSILRegistraPagamento, MyPay's
-- "rendicontazione codice 9"): the debt is paid, with no receipt from the Node.
CREATE TABLE external_payment (
    id               INTEGER PRIMARY KEY,
    org_id           INTEGER NOT NULL REFERENCES org(id),
    debt_id          INTEGER NOT NULL REFERENCES debt(id),
    iuv              TEXT NOT NULL,
    context_code     TEXT,              -- codiceContestoPagamento, when sent
    amount_cents     INTEGER NOT NULL CHECK (amount_cents >= 0),
    outcome_date     TEXT NOT NULL,     -- dataEsitoSingoloPagamento, YYYY-MM-DD
    payment_index    INTEGER CHECK (payment_index IS NULL OR payment_index BETWEEN 1 AND 5),
    collection_id    TEXT NOT NULL,     -- identificativoUnivocoRiscossione
    attestor_kind    TEXT NOT NULL,     -- tipoIstitutoAttestante
    attestor_code    TEXT NOT NULL,     -- codiceIstitutiAttestante
    attestor_name    TEXT NOT NULL,     -- denominazioneAttestante
    recorded_by      TEXT NOT NULL,     -- audit actor, `sil:<ipa>`
    created_at       TEXT NOT NULL,
    UNIQUE (org_id, iuv, collection_id)
);

-- Every version of an org's own privacy notice, kept as written (never edited): the current one is
-- the highest version.
CREATE TABLE privacy_notice (
    org_id      INTEGER NOT NULL REFERENCES org(id),
    version     INTEGER NOT NULL CHECK (version >= 1),
    body        TEXT NOT NULL CHECK (body <> ''),
    created_by  TEXT NOT NULL,             -- audit actor, `operator:<username>`
    created_at  TEXT NOT NULL,
    -- The template's sections as the administrator filled them in (version 25); NULL in notices
    -- written before, whose body is the whole text.
    controller  TEXT,
    dpo_contact TEXT,
    purposes    TEXT,
    legal_basis TEXT,
    retention   TEXT,
    recipients  TEXT,
    rights      TEXT,
    PRIMARY KEY (org_id, version)
);

-- What the station answered to paGetPayment(V2) for a debt: the creditor, amount and transfers a
-- receipt must carry to settle it (version 14). One row per distinct answer; the Node may ask again,
-- for a postal account or another PSP.
CREATE TABLE payment_offer (
    id          INTEGER PRIMARY KEY,
    debt_id     INTEGER NOT NULL REFERENCES debt(id),
    terms       TEXT NOT NULL,             -- JSON: creditor, amount, transfers (index, amount, fiscal code, IBAN)
    offered_at  TEXT NOT NULL,
    UNIQUE (debt_id, terms)
);

-- Something a person must look at (version 14): a receipt that does not match its debt, a double
-- payment, a receipt for an unknown, annulled or expired debt. Opened by the code that finds it, in
-- the same transaction; resolved by an org admin, who says why.
CREATE TABLE anomaly (
    id               INTEGER PRIMARY KEY,
    org_id           INTEGER NOT NULL REFERENCES org(id),
    kind             TEXT NOT NULL,        -- RICEVUTA_DIFFORME, DOPPIO_PAGAMENTO, DOVUTO_SCONOSCIUTO, ...
    object_kind      TEXT NOT NULL,        -- what it is about: 'receipt'
    object_id        INTEGER NOT NULL,
    details          TEXT NOT NULL,        -- JSON, the kind's own facts (for a receipt: its discrepancies)
    found_at         TEXT NOT NULL,
    state            TEXT NOT NULL DEFAULT 'open' CHECK (state = 'open' OR state = 'resolved'),
    resolution       TEXT CHECK (resolution IS NULL OR resolution = 'accepted' OR resolution = 'dismissed'),
    resolved_by      TEXT,                 -- audit actor, `operator:<username>`
    resolved_at      TEXT,
    resolution_note  TEXT,
    UNIQUE (kind, object_kind, object_id)
);
CREATE INDEX anomaly_org_state ON anomaly (org_id, state);

-- Upstream mode's outbox (version 20): each change of a mirrored org's debts, and each of its debt
-- flows, queued in the transaction that makes it and sent to the Region in id order per org.
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

-- Upstream mode (version 21): a box behind the regional node (reference/regional.md §3, §7.2).
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
    updated_at       TEXT NOT NULL,
    cart_hash        TEXT                  -- the org's paaSILInviaCarrelloDovuti hash there, sealed (version 27)
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

-- Polling a regional MyPay for the receipts of an org's debts (upstream mode, version 23): the
-- cursor of its incremental receipt export, the reservation waiting to be fetched, and how the
-- last poll went. One row per org that polls.
CREATE TABLE upstream_poll (
    org_id            INTEGER PRIMARY KEY REFERENCES org(id),
    cursor            TEXT NOT NULL,   -- dateFrom of the next reservation, the Region's local time (YYYY-MM-DDTHH:MM:SS)
    request_token     TEXT,            -- a reservation not applied yet; NULL: none
    request_to        TEXT,            -- the dateTo the Region answered with it: the cursor once it is applied
    requested_at      TEXT,
    last_success_at   TEXT,            -- the last poll that applied a window (or found it empty)
    last_error        TEXT,            -- why the last poll failed; NULL after a success
    last_error_at     TEXT,
    receipts_applied  INTEGER NOT NULL DEFAULT 0 CHECK (receipts_applied >= 0),  -- receipts polling stored, in all
    updated_at        TEXT NOT NULL,
    CHECK ((request_token IS NULL) = (request_to IS NULL))
);

-- Reconciliation's accertamenti (version 28): the registry of offices, chapters and assessments;
-- headers and their details, each detail one receipt transfer assigned to an assessment; and the
-- operators' notes on reconciled elements (MyPivot's segnalazioni), with their history.
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

-- Automatic accertamenti (mypivot.md §1.7; version 36): each org's receipts are considered once,
-- as they arrive, for booking by their debt's bilancio (or the registry's one entry of their debt
-- type); this is the last receipt considered.
CREATE TABLE accertamento_auto_cursor (
    org_id           INTEGER PRIMARY KEY REFERENCES org(id) ON DELETE CASCADE,
    last_receipt_id  INTEGER NOT NULL
);

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

-- Version 30. Receipt recovery (pagopa.md §4.6): every call mypay makes to pagoPA's biz-events
-- receipt API, the durable state of its limit (at most 10 calls in any 60 minutes, across restarts)
-- and the record of which reported transfers (IUV, IUR) were asked for already, so none is asked
-- for in a loop.
CREATE TABLE receipt_recovery_call (
    id          INTEGER PRIMARY KEY,
    org_id      INTEGER NOT NULL REFERENCES org(id),
    iuv         TEXT NOT NULL,
    iur         TEXT NOT NULL,    -- receiptId = payment token
    called_at   TEXT NOT NULL,    -- written before the call: a call cut short still counts
    -- NULL while the call runs; FOUND: stored; NOT_FOUND: pagoPA has none (an anomaly);
    -- THROTTLED: pagoPA's 429 (asked again later); ERROR: no answer (asked again later).
    result      TEXT CHECK (result IS NULL OR result IN ('FOUND', 'NOT_FOUND', 'THROTTLED', 'ERROR'))
);
CREATE INDEX receipt_recovery_call_at ON receipt_recovery_call (called_at);
CREATE INDEX receipt_recovery_call_transfer ON receipt_recovery_call (org_id, iuv, iur);
-- The portal's unpaid spontaneous debts, which expire (housekeeping), and the payments started
-- and still without a receipt, which become anomalies: small partial indexes, so the sweeps that
-- look for them read only those debts.
CREATE INDEX debt_portal_unpaid ON debt (created_at) WHERE source = 'portal' AND state = 'INSERIMENTO_DOVUTO';
CREATE INDEX debt_payment_started ON debt (payment_started_at) WHERE state = 'PAGAMENTO_INIZIATO';
-- Reconciliation (mypivot.md §1, §3; version 31). The municipality's own files (treasury movements,
-- payment notifications, the legacy Poste rows) are stored per org; receipts and reporting flows are
-- read where they already are. The classification keeps one row per transfer key (org, IUV, IUR,
-- transfer index), per notification without a receipt and per treasury movement that joins nothing.

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
    rejects_file   TEXT,             -- <id>_SCARTI.zip (holding <name>.csv), relative to the data directory
    submitted_at   TEXT NOT NULL,
    finished_at    TEXT,
    error_it       TEXT              -- a refused file's reason in Italian (version 35)
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
    -- A bank sheet's (T) own fields and an OPI sospeso's (version 37); tags: JSON [[tag, value], …].
    bank_abi        TEXT,
    bank_cab        TEXT,
    bank_currency   TEXT,
    bank_cheque     TEXT,
    bank_reference  TEXT,
    bank_customer_reference TEXT,
    bank_order_day  TEXT,
    bank_orderer    TEXT,
    bank_tags       TEXT,
    provisional_day TEXT,
    provisional_code TEXT,
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

-- The legacy Poste rendicontazione (P): kept as read; it has no IUV, so it joins no receipt, and
-- the treasury only by the IUF the operator gives.
CREATE TABLE recon_poste_row (
    org_id          INTEGER NOT NULL REFERENCES org(id),
    iur             TEXT NOT NULL,
    operation_day   TEXT NOT NULL,
    office          TEXT NOT NULL,
    amount_cents    INTEGER NOT NULL,
    credit_day      TEXT NOT NULL,
    upload_id       INTEGER REFERENCES recon_upload(id),
    iuf             TEXT,             -- the operator's IUF of the lines' flow, upper case (version 33)
    PRIMARY KEY (org_id, iur, operation_day, amount_cents)
);
CREATE INDEX recon_poste_row_iuf ON recon_poste_row (org_id, iuf) WHERE iuf IS NOT NULL;
CREATE INDEX recon_poste_row_upload ON recon_poste_row (upload_id);

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
    labels           TEXT NOT NULL,    -- space-separated codes, MyPivot's order
    poste_key        TEXT              -- set on a legacy Poste line's row only (version 33)
);
CREATE INDEX recon_item_iuv ON recon_item (org_id, iuv);
CREATE INDEX recon_item_poste ON recon_item (org_id, poste_key) WHERE poste_key IS NOT NULL;
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

-- What changed since it was classified: an IUV (`V`), a flow's IUF (`F`), a movement (`M`) or a
-- legacy Poste line (`P`: `<IUR>/<operation day>/<cents>`).
-- Receipts and reporting flows are written by other services: the triggers below note what they
-- touched, so the classification follows without those services knowing of it, and without a
-- window of dates (§8 c); a job or the next reconciliation run classifies it again. A receipt's
-- transfer to another org of this installation (S rows, §1.7; version 33) is noted for that org too.
CREATE TABLE recon_dirty (
    org_id  INTEGER NOT NULL,
    kind    TEXT NOT NULL CHECK (kind IN ('V', 'F', 'M', 'P')),
    value   TEXT NOT NULL,
    PRIMARY KEY (org_id, kind, value)
) WITHOUT ROWID;
CREATE TRIGGER recon_receipt_in AFTER INSERT ON receipt BEGIN
    INSERT OR IGNORE INTO recon_dirty (org_id, kind, value) VALUES (NEW.org_id, 'V', NEW.iuv);
END;
CREATE TRIGGER recon_receipt_change AFTER UPDATE OF outcome, held, iuv, debt_id ON receipt BEGIN
    INSERT OR IGNORE INTO recon_dirty (org_id, kind, value) VALUES (NEW.org_id, 'V', NEW.iuv), (OLD.org_id, 'V', OLD.iuv);
    INSERT OR IGNORE INTO recon_dirty (org_id, kind, value)
        SELECT o.id, 'V', NEW.iuv FROM receipt_transfer t JOIN org o ON o.fiscal_code = t.fiscal_code
        WHERE t.receipt_id = NEW.id AND o.id <> NEW.org_id
        UNION SELECT o.id, 'V', OLD.iuv FROM receipt_transfer t JOIN org o ON o.fiscal_code = t.fiscal_code
        WHERE t.receipt_id = OLD.id AND o.id <> OLD.org_id;
END;
CREATE TRIGGER recon_receipt_out AFTER DELETE ON receipt BEGIN
    INSERT OR IGNORE INTO recon_dirty (org_id, kind, value) VALUES (OLD.org_id, 'V', OLD.iuv);
END;
CREATE TRIGGER recon_transfer_in AFTER INSERT ON receipt_transfer BEGIN
    INSERT OR IGNORE INTO recon_dirty (org_id, kind, value)
        SELECT o.id, 'V', r.iuv FROM receipt r JOIN org o ON o.fiscal_code = NEW.fiscal_code
        WHERE r.id = NEW.receipt_id AND o.id <> r.org_id;
END;
CREATE TRIGGER recon_transfer_out AFTER DELETE ON receipt_transfer BEGIN
    INSERT OR IGNORE INTO recon_dirty (org_id, kind, value)
        SELECT o.id, 'V', r.iuv FROM receipt r JOIN org o ON o.fiscal_code = OLD.fiscal_code
        WHERE r.id = OLD.receipt_id AND o.id <> r.org_id;
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

-- Reconciliation exports (version 32; mypivot.md §4): a booking with its filters, run by a job into
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
