-- Version 17: the database keeps no key. The installation key moves to the key file `mypay.key`
-- beside the database (written, and checked equal to this row, before this step runs: see
-- store::keys); the Rust part of this step seals every stored push secret with it and records the
-- key's id.
DELETE FROM setting WHERE key = 'hmac_key';
