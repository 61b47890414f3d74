//! Each org's link with the regional node as operators see it, read in one snapshot from where each
//! part lives: the settings and the last contact, error and receipt (`org_upstream`, kept by
//! `settings::record_*` and `outcomes::apply`), the outbox (`upstream_change`), polling
//! (`upstream_poll`) and the pushes (`upstream_push`). `mypay org upstream`, the back office's
//! dashboard and `/metrics` show it.
//! Must never: show a secret (only whether each is set) or a reservation's token.

use serde::Serialize;

use crate::services::ServiceError;
use crate::store::orgs::{self, OrgRecord};
use crate::store::outbox::{self, ChangeSubject};
use crate::store::upstream::{self, HintState};
use crate::store::upstream_poll::{self, PollRecord};
use crate::store::{Conn, Db, StoreError};

/// How many of the latest refusals a view lists.
pub const LAST_REFUSED: u32 = 5;

/// What an org's pushes from the region came to (the `pushes` of [`UpstreamView`]).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct PushCounts {
    /// Waiting for the region's confirmation.
    pub received: i64,
    pub replayed: i64,
    pub unreadable: i64,
    pub confirmed: i64,
    pub not_confirmed: i64,
    /// Pushes (not replays) naming an IUV no debt of the org has.
    pub unknown_iuv: i64,
    pub last_received_at: Option<String>,
}

/// One change of the outbox as shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChangeView {
    pub id: i64,
    /// `I`, `M`, `A` (a debt) or `F` (a flow).
    pub action: &'static str,
    /// The debt's IUD, or the flow's file name.
    pub subject: Option<String>,
    /// Failed attempts, each retried.
    pub attempts: i64,
    /// When it is tried next (the head's), or was due.
    pub next_attempt_at: String,
    /// The Region's code and text: of the last failed attempt, or of the refusal.
    pub code: Option<String>,
    pub text: Option<String>,
    pub created_at: String,
    /// When the Region's answer finished it.
    pub answered_at: Option<String>,
}

impl From<ChangeSubject> for ChangeView {
    fn from(c: ChangeSubject) -> ChangeView {
        let change = c.change;
        ChangeView {
            id: change.id,
            action: change.action.code(),
            subject: c.subject,
            attempts: change.attempts,
            next_attempt_at: change.next_attempt_at,
            code: change.last_error_code,
            text: change.last_error_text,
            created_at: change.created_at,
            answered_at: change.sent_at,
        }
    }
}

/// The org's outbox: what waits for the Region and what it refused.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct OutboxView {
    /// Whether the org's debt changes are mirrored to the Region.
    pub mirrored: bool,
    /// Changes waiting for the Region.
    pub waiting: i64,
    /// The first of them: the org's queue waits for it.
    pub head: Option<ChangeView>,
    pub refused: i64,
    /// The latest refusals, newest first, at most [`LAST_REFUSED`].
    pub last_refused: Vec<ChangeView>,
    /// When the Region last answered one of the org's changes.
    pub last_answer_at: Option<String>,
}

/// The org's polling of the Region's receipt export.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PollView {
    /// `dateFrom` of the next reservation, the Region's local time.
    pub cursor: String,
    /// The `dateTo` of a reservation not applied yet.
    pub pending_until: Option<String>,
    pub requested_at: Option<String>,
    pub last_success_at: Option<String>,
    pub last_error: Option<String>,
    pub last_error_at: Option<String>,
    /// Receipts polling stored, in all.
    pub receipts_applied: i64,
}

impl From<PollRecord> for PollView {
    fn from(p: PollRecord) -> PollView {
        PollView {
            cursor: p.cursor,
            pending_until: p.reservation.map(|r| r.date_to),
            requested_at: p.requested_at,
            last_success_at: p.last_success_at,
            last_error: p.last_error,
            last_error_at: p.last_error_at,
            receipts_applied: p.receipts_applied,
        }
    }
}

/// An org's link with the regional node as people see it: never a secret, only whether it is set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UpstreamView {
    pub ipa_code: String,
    /// Whether the org has upstream settings at all.
    pub configured: bool,
    /// The org's IPA code at the region (its own when not set apart).
    pub region_ipa: String,
    pub password_set: bool,
    pub push_secret_set: bool,
    /// Whether the org's `paaSILInviaCarrelloDovuti` hash is set (a cart of several orgs).
    pub cart_hash_set: bool,
    pub push_kid: Option<String>,
    pub push_iss: Option<String>,
    pub push_sub: Option<String>,
    /// The region's last answer to any call.
    pub last_contact_at: Option<String>,
    /// The last failed call, while no call has succeeded since.
    pub last_error_code: Option<String>,
    pub last_error_text: Option<String>,
    pub last_error_at: Option<String>,
    /// When the last receipt from the region was stored (pushed, polled or returned).
    pub last_receipt_at: Option<String>,
    pub outbox: OutboxView,
    /// `None` until the org's first poll.
    pub polling: Option<PollView>,
    pub pushes: PushCounts,
}

/// The view of `org`'s link, inside the caller's snapshot or transaction.
pub(super) fn view_in(c: &Conn, org: &OrgRecord) -> Result<UpstreamView, StoreError> {
    let record = upstream::find_org_upstream(c, org.id)?;
    let counts = upstream::count_hints(c, org.id)?;
    let count = |state: HintState| counts.by_state.iter().find(|(s, _)| *s == state).map_or(0, |(_, n)| *n);
    let pushes = PushCounts {
        received: count(HintState::Received),
        replayed: count(HintState::Replay),
        unreadable: count(HintState::Unreadable),
        confirmed: count(HintState::Confirmed),
        not_confirmed: count(HintState::NotConfirmed),
        unknown_iuv: counts.unknown_iuv,
        last_received_at: counts.last_received_at.clone(),
    };
    let outbox = OutboxView {
        mirrored: outbox::org_is_mirrored(c, org.id)?,
        waiting: outbox::count_pending(c, org.id)?,
        head: outbox::find_head_subject(c, org.id)?.map(ChangeView::from),
        refused: outbox::count_refused(c, org.id)?,
        last_refused: outbox::list_refused(c, org.id, LAST_REFUSED)?.into_iter().map(ChangeView::from).collect(),
        last_answer_at: outbox::find_last_answer(c, org.id)?,
    };
    let polling = upstream_poll::find_poll(c, org.id)?.map(PollView::from);
    let configured = record.is_some();
    let r = record.unwrap_or_default();
    Ok(UpstreamView {
        ipa_code: org.ipa_code.clone(),
        configured,
        region_ipa: r.region_ipa.unwrap_or_else(|| org.ipa_code.clone()),
        password_set: r.has_password,
        push_secret_set: r.has_push_secret,
        cart_hash_set: r.has_cart_hash,
        push_kid: r.push_kid,
        push_iss: r.push_iss,
        push_sub: r.push_sub,
        last_contact_at: r.last_contact_at,
        last_error_code: r.last_error_code,
        last_error_text: r.last_error_text,
        last_error_at: r.last_error_at,
        last_receipt_at: r.last_receipt_at,
        outbox,
        polling,
        pushes,
    })
}

/// Org `ipa`'s link with the regional node (`configured: false` when it has no settings).
pub fn view(db: &Db, ipa: &str) -> Result<UpstreamView, ServiceError> {
    db.read_tx(|c| {
        let org = orgs::find_org_by_ipa(c, ipa)?.ok_or_else(|| ServiceError::NotFound(format!("org {ipa}")))?;
        Ok(view_in(c, &org)?)
    })
}

/// The link of org `org_id` when it has upstream settings (the back office's dashboard).
pub fn link(db: &Db, org_id: i64) -> Result<Option<UpstreamView>, ServiceError> {
    db.read_tx(|c| {
        if upstream::find_org_upstream(c, org_id)?.is_none() {
            return Ok(None);
        }
        let org = orgs::find_org_by_id(c, org_id)?.ok_or_else(|| ServiceError::NotFound(format!("org {org_id}")))?;
        Ok(Some(view_in(c, &org)?))
    })
}

/// One org's link in figures (`/metrics`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrgGauges {
    pub ipa_code: String,
    pub outbox_depth: i64,
    pub outbox_refused: i64,
    /// Unix seconds of the last successful poll; `None`: never.
    pub last_poll_success: Option<i64>,
}

/// The [`OrgGauges`] of every org linked to the region (settings there, mirrored, or changes
/// waiting), by IPA code.
pub fn gauges(db: &Db) -> Result<Vec<OrgGauges>, ServiceError> {
    let rows = db.read_tx(upstream::list_link_gauges)?;
    Ok(rows
        .into_iter()
        .map(|g| OrgGauges {
            last_poll_success: g
                .last_poll_success_at
                .as_deref()
                .and_then(|at| at.parse::<jiff::Timestamp>().ok())
                .map(|t| t.as_second()),
            ipa_code: g.ipa_code,
            outbox_depth: g.outbox_depth,
            outbox_refused: g.outbox_refused,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;
    use crate::services::debts::{self as debt_service, Source};
    use crate::services::testkit::{IPA, Kit};
    use crate::services::upstream::outbox::tests::{FakeRegion, business, data_dir, fields, mirrored};
    use crate::services::upstream::outbox::{self as queue, Step};
    use crate::services::upstream::settings::{self, UpstreamChanges};
    use crate::services::upstream::{fake_region, outcomes};
    use crate::store::upstream_poll::Reservation;

    fn linked(kit: &Kit) -> i64 {
        let changes = UpstreamChanges { password: Some("Regione-1234".to_owned()), ..Default::default() };
        settings::set(&kit.db, "test", IPA, &changes, kit.now).unwrap();
        crate::services::admin::orgs::get_org(&kit.db, IPA).unwrap().id
    }

    /// The outbox part: what waits, the head with its failed attempts, what was refused with the
    /// Region's code and the debt's IUD; the same figures in the gauges.
    #[test]
    fn the_outbox_shows_what_waits_and_what_the_region_refused() {
        let kit = mirrored();
        let org_id = linked(&kit);
        let empty = view(&kit.db, IPA).unwrap();
        assert!(empty.outbox.mirrored && empty.polling.is_none());
        assert_eq!((empty.outbox.waiting, empty.outbox.refused, empty.outbox.head), (0, 0, None));
        for (iud, cents) in [("A-1", 1000), ("A-2", 2000), ("A-3", 3000)] {
            debt_service::add_debt(&kit.db, "test", IPA, &fields(iud, cents), Source::Cli, kit.now).unwrap();
        }
        let region = FakeRegion::default();
        region.scripted.borrow_mut().push_back(Err(business("PAA_IMPORT_TIPO_DOVUTO_NON_VALIDO")));
        let dir = data_dir(&kit);
        assert!(matches!(queue::send_next(&kit.db, &dir, org_id, &region, kit.now).unwrap(), Step::Refused { .. }));
        region.down.set(true);
        assert!(matches!(queue::send_next(&kit.db, &dir, org_id, &region, kit.now).unwrap(), Step::Retry { .. }));

        let o = view(&kit.db, IPA).unwrap().outbox;
        assert_eq!((o.waiting, o.refused), (2, 1));
        let head = o.head.unwrap();
        assert_eq!((head.action, head.subject.as_deref(), head.attempts), ("I", Some("A-2"), 1));
        assert_eq!((head.code, head.text.as_deref()), (None, Some("connection refused")));
        assert!(head.next_attempt_at > kit.now.iso(), "due after the backoff");
        assert_eq!(o.last_refused.len(), 1);
        let refused = &o.last_refused[0];
        assert_eq!(
            (refused.subject.as_deref(), refused.code.as_deref()),
            (Some("A-1"), Some("PAA_IMPORT_TIPO_DOVUTO_NON_VALIDO"))
        );
        assert_eq!(refused.answered_at.as_deref(), Some(kit.now.iso().as_str()));
        assert_eq!(o.last_answer_at, Some(kit.now.iso()));

        let expected =
            OrgGauges { ipa_code: IPA.to_owned(), outbox_depth: 2, outbox_refused: 1, last_poll_success: None };
        assert_eq!(gauges(&kit.db).unwrap(), [expected]);
    }

    /// Polling is read from `upstream_poll` (never the reservation's token); the last receipt is
    /// the time a receipt from the Region was stored, not a replay's; the gauge has the last
    /// successful poll in Unix seconds. An org without any link has no gauges.
    #[test]
    fn polling_and_the_last_receipt_are_read_where_they_live() {
        let kit = Kit::new();
        assert_eq!(gauges(&kit.db).unwrap(), []);
        let org_id = linked(&kit);
        kit.db
            .write(|tx| {
                upstream_poll::insert_poll_if_absent(tx, org_id, "2026-12-01T00:00:00", "2026-12-07T08:00:00Z")?;
                let reservation =
                    Reservation { token: "SECRET-TOKEN".to_owned(), date_to: "2026-12-07T09:00:00".to_owned() };
                upstream_poll::update_reserved(tx, org_id, &reservation, "2026-12-07T08:00:00Z")
            })
            .unwrap();
        let shown = view(&kit.db, IPA).unwrap();
        let poll = shown.polling.clone().unwrap();
        assert_eq!(
            (poll.cursor.as_str(), poll.pending_until.as_deref(), poll.last_success_at),
            ("2026-12-01T00:00:00", Some("2026-12-07T09:00:00"), None)
        );
        assert!(!serde_json::to_string(&shown).unwrap().contains("SECRET-TOKEN"));
        assert_eq!(gauges(&kit.db).unwrap()[0].last_poll_success, None);

        kit.db.write(|tx| upstream_poll::update_applied(tx, org_id, 3, "2026-12-07T08:30:00Z")).unwrap();
        let poll = view(&kit.db, IPA).unwrap().polling.unwrap();
        assert_eq!((poll.cursor.as_str(), poll.pending_until, poll.receipts_applied), ("2026-12-07T09:00:00", None, 3));
        let at: jiff::Timestamp = "2026-12-07T08:30:00Z".parse().unwrap();
        assert_eq!(gauges(&kit.db).unwrap()[0].last_poll_success, Some(at.as_second()));

        assert_eq!(view(&kit.db, IPA).unwrap().last_receipt_at, None);
        let debt = kit.debt("D1", 2000);
        let iuv = debt.iuv.clone().unwrap();
        let rt = fake_region::rt_envelope(iuv.as_str(), "R1", 2000);
        let paid = fake_region::payment(&debt, iuv.as_str(), "R1", 2000, rt.as_bytes());
        outcomes::apply(&kit.db, org_id, &paid, "<Pagati/>", kit.now).unwrap();
        assert_eq!(view(&kit.db, IPA).unwrap().last_receipt_at, Some(kit.now.iso()));
        let later = crate::clock::Now::at(kit.now.instant().checked_add(jiff::SignedDuration::from_secs(60)).unwrap());
        outcomes::apply(&kit.db, org_id, &paid, "<Pagati/>", later).unwrap();
        assert_eq!(view(&kit.db, IPA).unwrap().last_receipt_at, Some(kit.now.iso()), "a replay is no new receipt");
    }
}
