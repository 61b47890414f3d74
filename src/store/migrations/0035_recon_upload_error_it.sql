-- Version 35: a refused reconciliation file's reason in Italian, as the back office shows it
-- (`FileRejection::message_it`); `error` keeps the English one for the CLI and the logs.
ALTER TABLE recon_upload ADD COLUMN error_it TEXT;
