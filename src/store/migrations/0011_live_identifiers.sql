-- Version 11: the identifier registry keeps only live identifiers, keyed by (org, kind, value) in a
-- WITHOUT ROWID table. Before, a row stayed after annulment with `released_at` set, behind a partial
-- unique index and an index on `debt_id`: three b-tree inserts per identifier instead of one.
-- Released rows are dropped: the annulled debts keep their IUD and IUV, the audit journal the when.
-- No foreign keys: rows are written only beside their debt, in its transaction (store::debts).
CREATE TABLE identifier_next (
    org_id   INTEGER NOT NULL,
    kind     TEXT NOT NULL CHECK (kind IN ('IUD', 'IUV')),
    value    TEXT NOT NULL,
    debt_id  INTEGER NOT NULL,
    PRIMARY KEY (org_id, kind, value)
) WITHOUT ROWID;
INSERT INTO identifier_next (org_id, kind, value, debt_id)
    SELECT org_id, kind, value, debt_id FROM identifier WHERE released_at IS NULL;
DROP TABLE identifier;
ALTER TABLE identifier_next RENAME TO identifier;
