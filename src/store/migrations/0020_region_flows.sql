-- Version 20: a box in upstream mode stores the reporting flows it downloads from the Region
-- (paaSILChiediFlussoSPC) with source 'REGION'; and the SIL's paaSILChiediElencoFlussiSPC lists an
-- org's flows by the day they were stored, through an index on (org_id, fetched_at).
--
-- The CHECK on `source` only widens (every stored row already passes it), so the stored CREATE
-- TABLE text is rewritten in place, as version 6 did, instead of rebuilding a table that
-- reporting_payment's foreign key points at.
PRAGMA writable_schema = ON;
UPDATE sqlite_schema
   SET sql = replace(sql,
       'CHECK (source IN (''REST'', ''SOAP''))',
       'CHECK (source IN (''REST'', ''SOAP'', ''REGION''))')
 WHERE type = 'table' AND name = 'reporting_flow';
PRAGMA writable_schema = OFF;
CREATE INDEX reporting_flow_fetched ON reporting_flow (org_id, fetched_at);
