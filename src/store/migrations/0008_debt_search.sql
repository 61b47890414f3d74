-- Version 8: indexes of the back office's debt search (store/debt_search.rs) and of a debt's
-- history in the audit journal.

CREATE INDEX debt_org_name ON debt (org_id, debtor_name COLLATE NOCASE);
CREATE INDEX debt_org_due ON debt (org_id, due_date);
CREATE INDEX debt_org_type ON debt (org_id, debt_type_id);
CREATE INDEX audit_org_object ON audit (org_id, object);
