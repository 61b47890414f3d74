-- Version 18: a running job's progress (units of work done, of how many when known), written by
-- its runner about once a second, for the back office and `mypay import --status`; and an index
-- to find the jobs of one object (the notices of an import) without reading the whole queue.
ALTER TABLE job ADD COLUMN units_done INTEGER NOT NULL DEFAULT 0 CHECK (units_done >= 0);
ALTER TABLE job ADD COLUMN units_total INTEGER CHECK (units_total >= 0);
CREATE INDEX job_subject ON job (kind, payload);
