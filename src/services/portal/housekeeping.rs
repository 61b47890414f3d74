//! The portal's periodic sweep: carts left at Checkout are given up and expired sessions are
//! deleted, so that neither piles up; the debts the portal made for spontaneous payments ("Paga
//! ora", "Crea l'avviso") and that were never paid expire ([`expire_unpaid_spontaneous`]).
//!
//! An expired portal debt takes MyPay's `SCADUTO` rather than being deleted (as MyPay deletes an
//! unpaid spontaneous dovuto) or annulled: it stays for audit with its IUV live, so a late receipt
//! still finds it (and is flagged `DOVUTO_SCADUTO`); it leaves the citizen's debts and the
//! operators' "Da pagare"; it has no due date, so the expired-debts export (debts of types with a
//! mandatory due date, due before a day) never lists it.

use super::PortalError;
use crate::clock::Now;
use crate::domain::{DebtEvent, DebtState};
use crate::store::{Db, StoreError, audit, carts, debts, sessions};

/// How many portal debts one transaction of [`expire_unpaid_spontaneous`] expires.
const EXPIRE_CHUNK: usize = 200;

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

/// Expires the portal's spontaneous debts made more than `days` days ago and still unpaid
/// (`INSERIMENTO_DOVUTO` → `SCADUTO`), each with its journal entry, [`EXPIRE_CHUNK`] per
/// transaction; returns how many. A debt whose payment started is left to its receipt.
pub fn expire_unpaid_spontaneous(db: &Db, days: u64, now: Now) -> Result<usize, PortalError> {
    let days = i64::try_from(days).unwrap_or(i64::MAX / 86_400).min(36_500);
    let before = crate::clock::iso(now.instant() - jiff::SignedDuration::from_hours(days * 24));
    let iso = now.iso();
    let mut total = 0;
    loop {
        let n = db.write(|tx| {
            let list = debts::list_unpaid_portal_debts(tx, &before, EXPIRE_CHUNK)?;
            for debt in &list {
                let Ok(next @ DebtState::Expired) = debt.state.apply(DebtEvent::Expire) else { continue };
                debts::update_debt_state(tx, debt.id, next, &iso)?;
                let org = crate::store::orgs::find_org_by_id(tx, debt.org_id)?.map(|o| o.ipa_code).unwrap_or_default();
                let object = format!("debt:{org}/{}", debt.iud);
                let after = serde_json::json!({ "state": next.code(), "created_at": debt.created_at, "days": days })
                    .to_string();
                let entry = audit::AuditEntry {
                    actor: "system",
                    org_id: Some(debt.org_id),
                    action: "debt.expire",
                    object: Some(&object),
                    outcome: "OK",
                    after_json: Some(&after),
                    ..Default::default()
                };
                audit::insert_audit(tx, &entry, &iso)?;
            }
            Ok::<_, StoreError>(list.len())
        })?;
        total += n;
        if n < EXPIRE_CHUNK {
            return Ok(total);
        }
    }
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

    #[test]
    fn unpaid_portal_debts_expire_after_the_configured_days_and_others_stay() {
        use crate::services::debts::{Source, add_debt};
        use crate::services::testkit::{IPA, Kit, tari_fields};
        let kit = Kit::new();
        let made = |iud: &str, source: Source, at: Now| {
            add_debt(&kit.db, "test", IPA, &tari_fields(iud, 1_600), source, at).unwrap()
        };
        let old = Now::at("2026-11-01T09:00:00Z".parse().unwrap());
        let stale = made("WEB-20261101-AAAAAA", Source::Portal, old);
        let recent = made("WEB-20261201-BBBBBB", Source::Portal, Now::at("2026-12-01T09:00:00Z".parse().unwrap()));
        let imported = made("TARI-1", Source::Cli, old);
        let started = made("WEB-20261101-CCCCCC", Source::Portal, old);
        kit.db
            .write(|tx| debts::update_payment_started(tx, started.id, DebtState::PaymentStarted, &old.iso()))
            .unwrap();

        assert_eq!(expire_unpaid_spontaneous(&kit.db, 30, kit.now).unwrap(), 1);
        let state = |id: i64| kit.db.read(|c| debts::find_debt_by_id(c, id)).unwrap().unwrap().state;
        assert_eq!(state(stale.id), DebtState::Expired);
        assert_eq!(
            (state(recent.id), state(imported.id), state(started.id)),
            (DebtState::Inserted, DebtState::Inserted, DebtState::PaymentStarted)
        );
        let open = crate::services::portal::account::debts_of(&kit.db, &stale.debtor.id, kit.now.today()).unwrap();
        assert!(open.iter().all(|my| my.debt.id != stale.id), "an expired debt leaves the citizen's list");
        assert_eq!(expire_unpaid_spontaneous(&kit.db, 30, kit.now).unwrap(), 0, "once");
        assert_eq!(expire_unpaid_spontaneous(&kit.db, 5, kit.now).unwrap(), 1, "the days are the configuration's");
    }
}
