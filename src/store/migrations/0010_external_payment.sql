-- Version 10: payments made outside pagoPA and recorded by the SIL (paaSILRegistraPagamento,
-- MyPay's "rendicontazione codice 9"): the debt is paid, with no receipt from the Node.
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
