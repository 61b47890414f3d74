-- Version 9: the sessions of the SIL redirect flow (reference/mypay.md §4.3).

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
    expires_at    TEXT NOT NULL
);
