-- Version 23: polling a regional MyPay for the receipts of an org's debts (upstream mode): the
-- cursor of its incremental receipt export, the reservation waiting to be fetched, and how the
-- last poll went. One row per org that polls.
CREATE TABLE upstream_poll (
    org_id            INTEGER PRIMARY KEY REFERENCES org(id),
    cursor            TEXT NOT NULL,   -- dateFrom of the next reservation, the Region's local time (YYYY-MM-DDTHH:MM:SS)
    request_token     TEXT,            -- a reservation not applied yet; NULL: none
    request_to        TEXT,            -- the dateTo the Region answered with it: the cursor once it is applied
    requested_at      TEXT,
    last_success_at   TEXT,            -- the last poll that applied a window (or found it empty)
    last_error        TEXT,            -- why the last poll failed; NULL after a success
    last_error_at     TEXT,
    receipts_applied  INTEGER NOT NULL DEFAULT 0 CHECK (receipts_applied >= 0),  -- receipts polling stored, in all
    updated_at        TEXT NOT NULL,
    CHECK ((request_token IS NULL) = (request_to IS NULL))
);
