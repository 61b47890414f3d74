-- Version 2: receipts from the pagoPA Node (paSendRT / paSendRTV2), reporting flows (FdR), export
-- requests, the
-- catalogue service id used by paDemandPaymentNotice, and when a debt last went into payment.

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
    UNIQUE (org_id, iuv, receipt_id)
);
CREATE INDEX receipt_debt ON receipt (debt_id);
CREATE INDEX receipt_org_received ON receipt (org_id, received_at);
CREATE INDEX receipt_org_payment_date ON receipt (org_id, payment_date);

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
    revision             INTEGER NOT NULL DEFAULT 1,  -- FdR REST revision; 1 for the SOAP interface
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
    source               TEXT NOT NULL CHECK (source IN ('REST', 'SOAP')),
    document             TEXT,             -- the FlussoRiversamento XML (SOAP) or JSON (REST) as received
    fetched_at           TEXT NOT NULL,
    UNIQUE (org_id, iuf, revision, psp_id)
);

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
    finished_at          TEXT
);
CREATE INDEX export_org ON export (org_id, id);

-- The pagoPA service-catalogue id (idServizio, 5 characters) that paDemandPaymentNotice uses to
-- name this debt type; NULL when the type is not offered at PSPs.
ALTER TABLE debt_type ADD COLUMN catalog_service_id TEXT CHECK (catalog_service_id IS NULL OR length(catalog_service_id) = 5);
-- When the Node last asked for the payment data (paGetPayment), so operators see a payment in progress.
ALTER TABLE debt ADD COLUMN payment_started_at TEXT;
-- A digital stamp (marca da bollo, @e.bollo): the base64 SHA-256 of the document it stamps and the
-- payer's province; paGetPaymentV2 then asks the PSP for a stamp instead of crediting an IBAN.
ALTER TABLE debt ADD COLUMN stamp_document_hash TEXT CHECK (stamp_document_hash IS NULL OR length(stamp_document_hash) BETWEEN 4 AND 72);
ALTER TABLE debt ADD COLUMN stamp_province TEXT CHECK (stamp_province IS NULL OR length(stamp_province) = 2);
