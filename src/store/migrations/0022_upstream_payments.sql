-- Version 22: payments started at the box in upstream mode (issue 18) go through the regional
-- MyPay instead of pagoPA Checkout.
-- A cart item may have no notice number: a debt the Region creates at its own checkout
-- (paaSILInviaDovuti) has the Region's IUV only once paid. SQLite cannot drop a NOT NULL, so the
-- table is rebuilt.
CREATE TABLE cart_item_next (
    cart_id        INTEGER NOT NULL REFERENCES cart(id),
    position       INTEGER NOT NULL CHECK (position BETWEEN 1 AND 5),
    org_id         INTEGER NOT NULL REFERENCES org(id),
    debt_id        INTEGER NOT NULL REFERENCES debt(id),
    notice_number  TEXT,
    amount_cents   INTEGER NOT NULL CHECK (amount_cents > 0),
    PRIMARY KEY (cart_id, position)
);
INSERT INTO cart_item_next (cart_id, position, org_id, debt_id, notice_number, amount_cents)
    SELECT cart_id, position, org_id, debt_id, notice_number, amount_cents FROM cart_item;
DROP TABLE cart_item;
ALTER TABLE cart_item_next RENAME TO cart_item;
CREATE INDEX cart_item_debt ON cart_item (debt_id);

-- The Region's session of a cart sent to it: the browser's return (`?idSession=`) finds the cart
-- by it, and the box asks the Region for the outcome with it, as the org that started it.
CREATE TABLE region_payment (
    cart_id     INTEGER PRIMARY KEY REFERENCES cart(id),
    id_session  TEXT NOT NULL UNIQUE,      -- idSession (idSessionCarrello for InviaCarrelloDovuti)
    operation   TEXT NOT NULL CHECK (operation IN ('dovuti', 'carrello', 'avviso')),
    org_id      INTEGER NOT NULL REFERENCES org(id),
    created_at  TEXT NOT NULL
);

-- Debts the Region creates itself when they are paid through it (InviaDovuti, InviaCarrelloDovuti):
-- written in the debt's own transaction; the outbox never mirrors them (the Region would hold
-- them twice).
CREATE TABLE region_session_debt (
    debt_id     INTEGER PRIMARY KEY REFERENCES debt(id),
    created_at  TEXT NOT NULL
);
