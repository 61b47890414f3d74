-- Version 15: a claimed job holds a lease (renewed by its runner's heartbeat) instead of being
-- owned by a process id alone, and may keep a cursor to resume bulk work where it stopped.
ALTER TABLE job ADD COLUMN lease_until TEXT;
ALTER TABLE job ADD COLUMN cursor TEXT;
