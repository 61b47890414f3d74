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
