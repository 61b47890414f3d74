-- Migration 0034: MyPivot's SIL token uploads (mypivot.md §1.0, §6). A request token given by
-- pivotSILAutorizzaImportFlusso* is a `sil_upload` like MyPay's, with the reconciliation kind it
-- authorizes and the reconciliation upload it became; NULL kind: a MyPay debt flow.
ALTER TABLE sil_upload ADD COLUMN recon_kind TEXT CHECK (recon_kind IS NULL OR recon_kind IN ('T', 'C', 'O', 'Y', 'D'));
ALTER TABLE sil_upload ADD COLUMN recon_upload_id INTEGER REFERENCES recon_upload(id);
