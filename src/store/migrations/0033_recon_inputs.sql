-- Version 33: reconciliation inputs (mypivot.md §1.5, §1.7).
-- S rows: a receipt of one org whose transfer (with an IBAN: not a stamp) goes to another org of
-- this installation is a receipt row of that org's reconciliation; the triggers below note it for
-- the beneficiary when the receipt or its transfers change, and an IUV index finds the receipts of
-- an IUV whatever their org. P rows: each legacy Poste line is a reporting row of its own,
-- classified by its key (`P`: `<IUR>/<operation day>/<cents>`) into the row that names it; the
-- operator may give an upload's lines their flow's IUF (MyPivot asks it with the upload), by which
-- they join the treasury.

CREATE INDEX receipt_iuv ON receipt (iuv);

ALTER TABLE recon_poste_row ADD COLUMN iuf TEXT;  -- the operator's, upper case; NULL: not given
CREATE INDEX recon_poste_row_iuf ON recon_poste_row (org_id, iuf) WHERE iuf IS NOT NULL;
CREATE INDEX recon_poste_row_upload ON recon_poste_row (upload_id);

ALTER TABLE recon_item ADD COLUMN poste_key TEXT;  -- set on a legacy Poste line's row only
CREATE INDEX recon_item_poste ON recon_item (org_id, poste_key) WHERE poste_key IS NOT NULL;

-- recon_dirty gains the kind `P`: the table is made again, its triggers with it.
DROP TRIGGER recon_receipt_in;
DROP TRIGGER recon_receipt_change;
DROP TRIGGER recon_receipt_out;
DROP TRIGGER recon_reporting_in;
DROP TRIGGER recon_reporting_out;
DROP TRIGGER recon_flow_change;
CREATE TABLE recon_dirty_new (
    org_id  INTEGER NOT NULL,
    kind    TEXT NOT NULL CHECK (kind IN ('V', 'F', 'M', 'P')),
    value   TEXT NOT NULL,
    PRIMARY KEY (org_id, kind, value)
) WITHOUT ROWID;
INSERT INTO recon_dirty_new (org_id, kind, value) SELECT org_id, kind, value FROM recon_dirty;
DROP TABLE recon_dirty;
ALTER TABLE recon_dirty_new RENAME TO recon_dirty;

CREATE TRIGGER recon_receipt_in AFTER INSERT ON receipt BEGIN
    INSERT OR IGNORE INTO recon_dirty (org_id, kind, value) VALUES (NEW.org_id, 'V', NEW.iuv);
END;
CREATE TRIGGER recon_receipt_change AFTER UPDATE OF outcome, held, iuv, debt_id ON receipt BEGIN
    INSERT OR IGNORE INTO recon_dirty (org_id, kind, value) VALUES (NEW.org_id, 'V', NEW.iuv), (OLD.org_id, 'V', OLD.iuv);
    INSERT OR IGNORE INTO recon_dirty (org_id, kind, value)
        SELECT o.id, 'V', NEW.iuv FROM receipt_transfer t JOIN org o ON o.fiscal_code = t.fiscal_code
        WHERE t.receipt_id = NEW.id AND o.id <> NEW.org_id
        UNION SELECT o.id, 'V', OLD.iuv FROM receipt_transfer t JOIN org o ON o.fiscal_code = t.fiscal_code
        WHERE t.receipt_id = OLD.id AND o.id <> OLD.org_id;
END;
CREATE TRIGGER recon_receipt_out AFTER DELETE ON receipt BEGIN
    INSERT OR IGNORE INTO recon_dirty (org_id, kind, value) VALUES (OLD.org_id, 'V', OLD.iuv);
END;
CREATE TRIGGER recon_transfer_in AFTER INSERT ON receipt_transfer BEGIN
    INSERT OR IGNORE INTO recon_dirty (org_id, kind, value)
        SELECT o.id, 'V', r.iuv FROM receipt r JOIN org o ON o.fiscal_code = NEW.fiscal_code
        WHERE r.id = NEW.receipt_id AND o.id <> r.org_id;
END;
CREATE TRIGGER recon_transfer_out AFTER DELETE ON receipt_transfer BEGIN
    INSERT OR IGNORE INTO recon_dirty (org_id, kind, value)
        SELECT o.id, 'V', r.iuv FROM receipt r JOIN org o ON o.fiscal_code = OLD.fiscal_code
        WHERE r.id = OLD.receipt_id AND o.id <> r.org_id;
END;
CREATE TRIGGER recon_reporting_in AFTER INSERT ON reporting_payment BEGIN
    INSERT OR IGNORE INTO recon_dirty (org_id, kind, value) SELECT org_id, 'V', NEW.iuv FROM reporting_flow WHERE id = NEW.flow_id;
END;
CREATE TRIGGER recon_reporting_out AFTER DELETE ON reporting_payment BEGIN
    INSERT OR IGNORE INTO recon_dirty (org_id, kind, value) SELECT org_id, 'V', OLD.iuv FROM reporting_flow WHERE id = OLD.flow_id;
END;
CREATE TRIGGER recon_flow_change AFTER UPDATE OF superseded_by, state ON reporting_flow BEGIN
    INSERT OR IGNORE INTO recon_dirty (org_id, kind, value) SELECT NEW.org_id, 'V', iuv FROM reporting_payment WHERE flow_id = NEW.id;
END;

-- What was stored before this version is classified by the next reconciliation run.
INSERT OR IGNORE INTO recon_dirty (org_id, kind, value)
    SELECT o.id, 'V', r.iuv FROM receipt_transfer t JOIN receipt r ON r.id = t.receipt_id
    JOIN org o ON o.fiscal_code = t.fiscal_code WHERE o.id <> r.org_id;
INSERT OR IGNORE INTO recon_dirty (org_id, kind, value)
    SELECT org_id, 'P', iur || '/' || operation_day || '/' || amount_cents FROM recon_poste_row;
