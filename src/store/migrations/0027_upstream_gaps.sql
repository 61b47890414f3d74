-- Upstream mode's gaps (issue 18). `org_upstream.cart_hash`: the org's hash of MyPay's
-- paaSILInviaCarrelloDovuti (the lowercase hex SHA-256 the Region shows its administrators as
-- `paaSILInviaCarrelloDovutiHash`), sealed like the password: a cart of several orgs' new debts
-- carries each org's. `org.upstream_backfill_after`: the debts made before the org's mirroring was
-- turned on are queued for the Region in id order, a chunk at a time; the last id queued (NULL:
-- none left to queue).
ALTER TABLE org_upstream ADD COLUMN cart_hash TEXT;
ALTER TABLE org ADD COLUMN upstream_backfill_after INTEGER;
