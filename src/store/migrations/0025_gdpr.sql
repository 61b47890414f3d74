-- Version 25: GDPR. The journal's payloads move to their own table, which the retention purge may
-- clear while the journal rows (who, when, what) stay append-only; an org's privacy notice gets
-- the sections of the template its administrator fills in; a consent records the channel it came
-- through.
CREATE TABLE audit_payload (
    audit_id     INTEGER PRIMARY KEY REFERENCES audit(id),
    before_json  TEXT,
    after_json   TEXT,
    request      TEXT,                     -- exchanged payloads, as sent and received
    response     TEXT
);
INSERT INTO audit_payload (audit_id, before_json, after_json, request, response)
    SELECT id, before_json, after_json, request, response FROM audit
    WHERE before_json IS NOT NULL OR after_json IS NOT NULL OR request IS NOT NULL OR response IS NOT NULL;
ALTER TABLE audit DROP COLUMN before_json;
ALTER TABLE audit DROP COLUMN after_json;
ALTER TABLE audit DROP COLUMN request;
ALTER TABLE audit DROP COLUMN response;

ALTER TABLE privacy_notice ADD COLUMN controller TEXT;
ALTER TABLE privacy_notice ADD COLUMN dpo_contact TEXT;
ALTER TABLE privacy_notice ADD COLUMN purposes TEXT;
ALTER TABLE privacy_notice ADD COLUMN legal_basis TEXT;
ALTER TABLE privacy_notice ADD COLUMN retention TEXT;
ALTER TABLE privacy_notice ADD COLUMN recipients TEXT;
ALTER TABLE privacy_notice ADD COLUMN rights TEXT;

ALTER TABLE privacy_acceptance ADD COLUMN channel TEXT NOT NULL DEFAULT 'portale';
CREATE INDEX privacy_acceptance_citizen ON privacy_acceptance (citizen_id);

-- When the retention purge deleted an upload's files (the flow, _SCARTI, _IUV, _AVVISI_PDF) and a
-- receipt export's ZIP; the rows stay, with their counts.
ALTER TABLE debt_import ADD COLUMN files_purged_at TEXT;
ALTER TABLE export ADD COLUMN file_purged_at TEXT;
