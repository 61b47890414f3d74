-- Treasury movement details (mypivot.md §1.1, §1.3, §4; version 37): what the readers already
-- read and the reconciliation export writes, kept with the movement. A bank sheet's (T) own
-- columns and the fields of its extended description; an OPI sospeso's effective day and code.
-- Movements stored before this version have none of them until their file is loaded again.
ALTER TABLE recon_movement ADD COLUMN bank_abi TEXT;
ALTER TABLE recon_movement ADD COLUMN bank_cab TEXT;
ALTER TABLE recon_movement ADD COLUMN bank_currency TEXT;
ALTER TABLE recon_movement ADD COLUMN bank_cheque TEXT;
ALTER TABLE recon_movement ADD COLUMN bank_reference TEXT;
ALTER TABLE recon_movement ADD COLUMN bank_customer_reference TEXT;
ALTER TABLE recon_movement ADD COLUMN bank_order_day TEXT;
ALTER TABLE recon_movement ADD COLUMN bank_orderer TEXT;
ALTER TABLE recon_movement ADD COLUMN bank_tags TEXT;  -- JSON [[tag, value], …] in order of appearance
ALTER TABLE recon_movement ADD COLUMN provisional_day TEXT;
ALTER TABLE recon_movement ADD COLUMN provisional_code TEXT;
