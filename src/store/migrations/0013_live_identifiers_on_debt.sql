-- Version 13: a live IUD or IUV is unique per org through two unique indexes on the debt itself,
-- not through a registry table beside it. `released_id` is 0 while the debt holds its identifiers
-- and becomes the debt's own id when it is annulled: (org, iud, released_id) is then unique among
-- every debt, yet an annulled debt's IUD and IUV no longer collide with a live one. The registry
-- cost an import one more b-tree insert per identifier; the indexes on iud and iuv were needed anyway
-- to find annulled debts.
ALTER TABLE debt ADD COLUMN released_id INTEGER NOT NULL DEFAULT 0;
UPDATE debt SET released_id = id
    WHERE NOT EXISTS (SELECT 1 FROM identifier i
                      WHERE i.org_id = debt.org_id AND i.kind = 'IUD' AND i.value = debt.iud AND i.debt_id = debt.id);
DROP INDEX debt_org_iuv;
DROP INDEX debt_org_iud;
CREATE UNIQUE INDEX debt_org_iuv ON debt (org_id, iuv, released_id);
CREATE UNIQUE INDEX debt_org_iud ON debt (org_id, iud, released_id);
DROP TABLE identifier;
