-- Version 24: the unique index of live IUVs holds only the debts that have an IUV. A debt without
-- one (its IUV comes later, or never) has nothing to be found or to collide by, and every
-- lookup names an IUV, which implies one (`iuv = ?`); leaving those debts out spares an import
-- of such rows one b-tree insert each.
DROP INDEX debt_org_iuv;
CREATE UNIQUE INDEX debt_org_iuv ON debt (org_id, iuv, released_id) WHERE iuv IS NOT NULL;
