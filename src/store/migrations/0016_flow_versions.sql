-- Version 16: a reporting flow corrected by its PSP (the same identificativoFlusso with a later
-- dataOraFlusso, or a later FdR REST revision) replaces the earlier version, which is kept and
-- points at the version that replaced it.
ALTER TABLE reporting_flow ADD COLUMN superseded_by INTEGER REFERENCES reporting_flow(id);
CREATE INDEX reporting_flow_versions ON reporting_flow (org_id, iuf, psp_id);
