-- Automatic accertamenti (mypivot.md §1.7; version 36): each org's receipts are considered once,
-- as they arrive, for booking by their debt's bilancio (or the registry's one entry of their debt
-- type); this is the last receipt considered. Receipts stored before this version are not.
CREATE TABLE accertamento_auto_cursor (
    org_id           INTEGER PRIMARY KEY REFERENCES org(id) ON DELETE CASCADE,
    last_receipt_id  INTEGER NOT NULL
);
INSERT INTO accertamento_auto_cursor (org_id, last_receipt_id) SELECT org_id, max(id) FROM receipt GROUP BY org_id;
