-- Version 25: each org's adhesion mode (base, flussi, ente) and the act by which it joined, one
-- row per change so that the history stays; the current record is the org's newest row. The rows
-- of the orgs already stored are written by the upgrade's Rust step (the mode each one uses, with
-- a journal entry), which SQL cannot journal.
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

-- Of MyPay's five functionality codes only PAGAMENTO_SPONTANEO was ever read (the portal's
-- catalogue); INOLTRO_ESITO_PAGAMENTO_PUSH is the `ente` mode's outcome push now, and
-- AVVISO_DIGITALE, NOTIFICA_AVVISI_IO and ENTE_PUBBLICO had nothing behind them. The rows of the
-- four go (the Rust step journals which org had which).
CREATE TABLE org_functionality_next (
    org_id   INTEGER NOT NULL REFERENCES org(id) ON DELETE CASCADE,
    code     TEXT NOT NULL CHECK (code IN ('PAGAMENTO_SPONTANEO')),
    active   INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    PRIMARY KEY (org_id, code)
);
INSERT INTO org_functionality_next (org_id, code, active)
    SELECT org_id, code, active FROM org_functionality WHERE code = 'PAGAMENTO_SPONTANEO';
CREATE TABLE org_functionality_dropped AS
    SELECT org_id, group_concat(code, ',') AS codes FROM
        (SELECT org_id, code FROM org_functionality WHERE code <> 'PAGAMENTO_SPONTANEO' AND active = 1 ORDER BY org_id, code)
    GROUP BY org_id;
DROP TABLE org_functionality;
ALTER TABLE org_functionality_next RENAME TO org_functionality;
