//! The portal's periodic sweep: carts left at Checkout are given up and expired sessions are
//! deleted, so that neither piles up.

use super::PortalError;
use crate::clock::Now;
use crate::store::{Db, StoreError, carts, sessions};

/// How long a cart may stay `IN_PAGAMENTO` before the housekeeping sweep gives it up.
pub const CART_PAYMENT_MINUTES: i64 = 60;

/// What one housekeeping sweep did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Swept {
    /// Carts in payment for more than [`CART_PAYMENT_MINUTES`], now `ANNULLATO`.
    pub carts_expired: usize,
    /// Expired sessions deleted.
    pub sessions_deleted: usize,
}

/// The periodic sweep: carts left at Checkout for more than an hour are marked `ANNULLATO` (a
/// receipt arriving later still shows on the outcome page, which reads the receipts), and expired
/// sessions are deleted. One transaction.
pub fn sweep(db: &Db, now: Now) -> Result<Swept, PortalError> {
    let before = crate::clock::iso(now.instant() - jiff::SignedDuration::from_mins(CART_PAYMENT_MINUTES));
    let iso = now.iso();
    Ok(db.write(|tx| {
        Ok::<_, StoreError>(Swept {
            carts_expired: carts::update_stale_carts_abandoned(tx, &before, &iso)?,
            sessions_deleted: sessions::delete_expired_sessions(tx, &iso)?,
        })
    })?)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]
    use super::*;
    use crate::domain::CartState;
    use crate::store::carts::CartRecord;

    #[test]
    fn housekeeping_expires_old_carts_and_deletes_expired_sessions() {
        let dir = tempfile::tempdir().unwrap();
        let (db, _) = Db::open(&dir.path().join("mypay.db")).unwrap();
        let cart = |token: &str, state: CartState, at: &str| {
            let record = CartRecord {
                token: token.to_owned(),
                session_hash: "s".to_owned(),
                state,
                total_cents: crate::domain::Cents::new(100),
                ..CartRecord::default()
            };
            db.write(|tx| carts::insert_cart(tx, &record, at)).unwrap();
        };
        cart("old", CartState::InPayment, "2026-03-01T08:59:00Z");
        cart("recent", CartState::InPayment, "2026-03-01T09:30:00Z");
        cart("paid", CartState::Paid, "2026-03-01T07:00:00Z");
        let session = |hash: &str, expires: &str| sessions::SessionRecord {
            id_hash: hash.to_owned(),
            csrf_token: "c".to_owned(),
            data_json: "{}".to_owned(),
            created_at: "2026-03-01T08:00:00Z".to_owned(),
            last_seen_at: "2026-03-01T08:00:00Z".to_owned(),
            expires_at: expires.to_owned(),
            ..Default::default()
        };
        db.write(|tx| sessions::insert_session(tx, &session("gone", "2026-03-01T09:00:00Z"))).unwrap();
        db.write(|tx| sessions::insert_session(tx, &session("live", "2026-03-01T10:30:00Z"))).unwrap();

        let now = Now::at("2026-03-01T10:00:00Z".parse().unwrap());
        let swept = sweep(&db, now).unwrap();
        assert_eq!(swept, Swept { carts_expired: 1, sessions_deleted: 1 });
        let state = |token: &str| db.read(|c| carts::find_cart_by_token(c, token)).unwrap().unwrap().state;
        assert_eq!(
            (state("old"), state("recent"), state("paid")),
            (CartState::Cancelled, CartState::InPayment, CartState::Paid)
        );
        let live = |hash: &str| db.read(|c| sessions::find_live_session(c, hash, "2026-03-01T00:00:00Z")).unwrap();
        assert!(live("gone").is_none() && live("live").is_some());
        assert_eq!(sweep(&db, now).unwrap(), Swept::default());
    }
}
