-- Version 29: a debt position's payment options beside its single one (issue 20, pagopa.md §2,
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
