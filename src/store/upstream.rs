//! Upstream mode (reference/regional.md §3, §7.2): each org's link with the regional node
//! (`org_upstream`: its identity and credentials there, and the state of the link) and the outcome
//! pushes the region sent (`upstream_push`), kept as hints. What they mean and when they change is
//! `crate::services::upstream`'s.
//!
//! The org's SIL password at the region and the HS512 key of the region's pushes are sealed with
//! the key file (`keys`), bound to the org, and read apart from the rest: [`find_upstream_password`]
//! and [`list_push_keys`] open them, every other read only says whether they are set.
//! [`HintState`] lives here, beside the record: it is delivery bookkeeping, like `pushes::PushState`.

use rusqlite::{OptionalExtension, Row, named_params, params};

use super::codes::stored_as_code;
use super::{Conn, StoreError};

/// Where `org_upstream.password` is sealed for, bound with the org's id.
const PASSWORD_COLUMN: &str = "org_upstream.password";
/// Where `org_upstream.push_secret` is sealed for, bound with the org's id.
const PUSH_SECRET_COLUMN: &str = "org_upstream.push_secret";
/// Where `org_upstream.cart_hash` is sealed for, bound with the org's id.
const CART_HASH_COLUMN: &str = "org_upstream.cart_hash";

/// An org's link with the regional node, without its secrets.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OrgUpstreamRecord {
    pub org_id: i64,
    /// The org's IPA code at the region (`codIpaEnte`).
    pub region_ipa: Option<String>,
    /// Whether its SIL password there is stored (read it with [`find_upstream_password`]).
    pub has_password: bool,
    /// Whether the key of the region's pushes is stored.
    pub has_push_secret: bool,
    /// Whether the org's `paaSILInviaCarrelloDovuti` hash is stored.
    pub has_cart_hash: bool,
    /// What the region's push token must carry: header `kid`, claims `iss` and `sub`; `None`: none.
    pub push_kid: Option<String>,
    pub push_iss: Option<String>,
    pub push_sub: Option<String>,
    pub last_contact_at: Option<String>,
    pub last_error_code: Option<String>,
    pub last_error_text: Option<String>,
    pub last_error_at: Option<String>,
    pub last_receipt_at: Option<String>,
    pub updated_at: String,
}

/// The settings of an org's link that are not secrets, as [`update_org_upstream`] writes them.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UpstreamIdentity {
    pub region_ipa: Option<String>,
    pub push_kid: Option<String>,
    pub push_iss: Option<String>,
    pub push_sub: Option<String>,
}

const COLUMNS: &str = "org_id, region_ipa, password IS NOT NULL, push_secret IS NOT NULL, push_kid, push_iss, \
     push_sub, last_contact_at, last_error_code, last_error_text, last_error_at, last_receipt_at, updated_at, \
     cart_hash IS NOT NULL";

fn from_row(row: &Row<'_>) -> rusqlite::Result<OrgUpstreamRecord> {
    Ok(OrgUpstreamRecord {
        org_id: row.get(0)?,
        region_ipa: row.get(1)?,
        has_password: row.get(2)?,
        has_push_secret: row.get(3)?,
        push_kid: row.get(4)?,
        push_iss: row.get(5)?,
        push_sub: row.get(6)?,
        last_contact_at: row.get(7)?,
        last_error_code: row.get(8)?,
        last_error_text: row.get(9)?,
        last_error_at: row.get(10)?,
        last_receipt_at: row.get(11)?,
        updated_at: row.get(12)?,
        has_cart_hash: row.get(13)?,
    })
}

/// The link of an org, if it has upstream settings.
pub fn find_org_upstream(conn: &Conn, org_id: i64) -> Result<Option<OrgUpstreamRecord>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM org_upstream WHERE org_id = ?1");
    Ok(conn.sqlite().prepare_cached(&sql)?.query_row([org_id], from_row).optional()?)
}

/// Creates an org's link (without secrets) or changes its identity; the secrets and the state
/// stay.
pub fn update_org_upstream(conn: &Conn, org_id: i64, identity: &UpstreamIdentity, now: &str) -> Result<(), StoreError> {
    conn.sqlite()
        .prepare_cached(
            "INSERT INTO org_upstream (org_id, region_ipa, push_kid, push_iss, push_sub, updated_at) \
             VALUES (:org, :ipa, :kid, :iss, :sub, :now) \
             ON CONFLICT (org_id) DO UPDATE SET region_ipa = excluded.region_ipa, push_kid = excluded.push_kid, \
             push_iss = excluded.push_iss, push_sub = excluded.push_sub, updated_at = excluded.updated_at",
        )?
        .execute(named_params! {
            ":org": org_id, ":ipa": identity.region_ipa, ":kid": identity.push_kid, ":iss": identity.push_iss,
            ":sub": identity.push_sub, ":now": now,
        })?;
    Ok(())
}

/// Bounds of what is kept of a failed call: MyPay's fault codes are short, texts are for people.
const ERROR_CODE_MAX: usize = 64;
const ERROR_TEXT_MAX: usize = 1024;

/// `text` cut to `max` characters, so a long answer never fails the write that records it.
fn bounded(text: &str, max: usize) -> &str {
    match text.char_indices().nth(max) {
        Some((at, _)) => text.get(..at).unwrap_or(text),
        None => text,
    }
}

/// The region answered a call of the org's as asked at `now`: the last contact, and no error
/// any more. Nothing when the org has no link.
pub fn update_link_contact(conn: &Conn, org_id: i64, now: &str) -> Result<(), StoreError> {
    conn.sqlite()
        .prepare_cached(
            "UPDATE org_upstream SET last_contact_at = ?2, last_error_code = NULL, last_error_text = NULL, \
             last_error_at = NULL WHERE org_id = ?1",
        )?
        .execute(params![org_id, now])?;
    Ok(())
}

/// A call of the org's failed at `now` with `code` (the region's fault code; `None`: no answer)
/// and `text`; `contact`: the region did answer (a fault), which is a contact too.
pub fn update_link_failure(
    conn: &Conn,
    org_id: i64,
    code: Option<&str>,
    text: &str,
    contact: bool,
    now: &str,
) -> Result<(), StoreError> {
    conn.sqlite()
        .prepare_cached(
            "UPDATE org_upstream SET last_error_code = ?2, last_error_text = ?3, last_error_at = ?4, \
             last_contact_at = CASE WHEN ?5 THEN ?4 ELSE last_contact_at END WHERE org_id = ?1",
        )?
        .execute(params![
            org_id,
            code.map(|c| bounded(c, ERROR_CODE_MAX)),
            bounded(text, ERROR_TEXT_MAX),
            now,
            contact
        ])?;
    Ok(())
}

/// A receipt from the region was stored at `at`: the org's last receipt, unless a later one is
/// recorded. Nothing when the org has no link.
pub fn update_link_receipt(conn: &Conn, org_id: i64, at: &str) -> Result<(), StoreError> {
    conn.sqlite()
        .prepare_cached(
            "UPDATE org_upstream SET last_receipt_at = ?2 WHERE org_id = ?1 \
             AND (last_receipt_at IS NULL OR last_receipt_at < ?2)",
        )?
        .execute(params![org_id, at])?;
    Ok(())
}

/// One org's link in figures, for `/metrics`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LinkGauges {
    pub ipa_code: String,
    /// Changes waiting for the region (`upstream_change` `PENDING`).
    pub outbox_depth: i64,
    /// Changes the region refused.
    pub outbox_refused: i64,
    /// The last poll that applied a window (`upstream_poll.last_success_at`).
    pub last_poll_success_at: Option<String>,
}

/// The [`LinkGauges`] of every org linked to the region (settings there, mirrored, or changes
/// waiting), by IPA code.
pub fn list_link_gauges(conn: &Conn) -> Result<Vec<LinkGauges>, StoreError> {
    Ok(conn
        .sqlite()
        .prepare_cached(
            "SELECT o.ipa_code, \
             (SELECT count(*) FROM upstream_change c WHERE c.org_id = o.id AND c.state = 'PENDING'), \
             (SELECT count(*) FROM upstream_change c WHERE c.org_id = o.id AND c.state = 'REFUSED'), \
             (SELECT p.last_success_at FROM upstream_poll p WHERE p.org_id = o.id) \
             FROM org o WHERE o.upstream_mirror = 1 \
             OR EXISTS (SELECT 1 FROM org_upstream u WHERE u.org_id = o.id) \
             OR EXISTS (SELECT 1 FROM upstream_change c WHERE c.org_id = o.id AND c.state = 'PENDING') \
             ORDER BY o.ipa_code",
        )?
        .query_map([], |row| {
            Ok(LinkGauges {
                ipa_code: row.get(0)?,
                outbox_depth: row.get(1)?,
                outbox_refused: row.get(2)?,
                last_poll_success_at: row.get(3)?,
            })
        })?
        .collect::<Result<_, _>>()?)
}

/// Sets (sealed) or removes (`None`) the org's SIL password at the region, on its existing link.
pub fn update_upstream_password(conn: &Conn, org_id: i64, password: Option<&str>, now: &str) -> Result<(), StoreError> {
    let sealed = password.map(|clear| conn.keys().seal(PASSWORD_COLUMN, org_id, clear)).transpose()?;
    conn.sqlite().execute(
        "UPDATE org_upstream SET password = ?2, updated_at = ?3 WHERE org_id = ?1",
        params![org_id, sealed, now],
    )?;
    Ok(())
}

/// Sets (sealed) or removes (`None`) the key of the region's pushes, on the org's existing link.
pub fn update_upstream_push_secret(
    conn: &Conn,
    org_id: i64,
    secret: Option<&str>,
    now: &str,
) -> Result<(), StoreError> {
    let sealed = secret.map(|clear| conn.keys().seal(PUSH_SECRET_COLUMN, org_id, clear)).transpose()?;
    conn.sqlite().execute(
        "UPDATE org_upstream SET push_secret = ?2, updated_at = ?3 WHERE org_id = ?1",
        params![org_id, sealed, now],
    )?;
    Ok(())
}

/// The IPA code here of the org known at the region as `region_ipa` (its own code when no other
/// is set there); `None` when no org is.
pub fn find_ipa_of_region_ipa(conn: &Conn, region_ipa: &str) -> Result<Option<String>, StoreError> {
    Ok(conn
        .sqlite()
        .prepare_cached(
            "SELECT o.ipa_code FROM org o LEFT JOIN org_upstream u ON u.org_id = o.id \
             WHERE u.region_ipa = ?1 OR (u.region_ipa IS NULL AND o.ipa_code = ?1) ORDER BY o.id LIMIT 1",
        )?
        .query_row([region_ipa], |row| row.get(0))
        .optional()?)
}

/// Sets (sealed) or removes (`None`) the org's `paaSILInviaCarrelloDovuti` hash, on its existing link.
pub fn update_upstream_cart_hash(conn: &Conn, org_id: i64, hash: Option<&str>, now: &str) -> Result<(), StoreError> {
    let sealed = hash.map(|clear| conn.keys().seal(CART_HASH_COLUMN, org_id, clear)).transpose()?;
    conn.sqlite().execute(
        "UPDATE org_upstream SET cart_hash = ?2, updated_at = ?3 WHERE org_id = ?1",
        params![org_id, sealed, now],
    )?;
    Ok(())
}

/// The org's `paaSILInviaCarrelloDovuti` hash at the region, opened; `None` when it has none.
pub fn find_upstream_cart_hash(conn: &Conn, org_id: i64) -> Result<Option<String>, StoreError> {
    let sealed: Option<Option<String>> = conn
        .sqlite()
        .prepare_cached("SELECT cart_hash FROM org_upstream WHERE org_id = ?1")?
        .query_row([org_id], |row| row.get(0))
        .optional()?;
    sealed.flatten().map(|sealed| conn.keys().open(CART_HASH_COLUMN, org_id, &sealed)).transpose()
}

/// The org's SIL password at the region, opened; `None` when it has none. One that does not open
/// (altered, or sealed with another key file) is [`StoreError::Corrupt`].
pub fn find_upstream_password(conn: &Conn, org_id: i64) -> Result<Option<String>, StoreError> {
    let sealed: Option<Option<String>> = conn
        .sqlite()
        .prepare_cached("SELECT password FROM org_upstream WHERE org_id = ?1")?
        .query_row([org_id], |row| row.get(0))
        .optional()?;
    sealed.flatten().map(|sealed| conn.keys().open(PASSWORD_COLUMN, org_id, &sealed)).transpose()
}

/// One org's key for the region's pushes, with what the token must carry.
#[derive(Debug)]
pub struct PushKeyRecord {
    pub org_id: i64,
    pub ipa_code: String,
    pub push_kid: Option<String>,
    pub push_iss: Option<String>,
    pub push_sub: Option<String>,
    /// The base64 key, opened; [`StoreError::Corrupt`] when it does not open.
    pub secret: Result<String, StoreError>,
}

/// The push keys a token with header `kid` may be signed with: the orgs whose push secret is set
/// and whose `push_kid` is `kid` (with `None`, the orgs that expect no `kid`), at most `limit`, by
/// org.
pub fn list_push_keys(conn: &Conn, kid: Option<&str>, limit: u32) -> Result<Vec<PushKeyRecord>, StoreError> {
    let keys = conn.keys();
    Ok(conn
        .sqlite()
        .prepare_cached(
            "SELECT u.org_id, o.ipa_code, u.push_kid, u.push_iss, u.push_sub, u.push_secret \
             FROM org_upstream u JOIN org o ON o.id = u.org_id \
             WHERE u.push_secret IS NOT NULL AND u.push_kid IS ?1 ORDER BY u.org_id LIMIT ?2",
        )?
        .query_map(params![kid, limit], |row| {
            let org_id = row.get(0)?;
            let sealed: String = row.get(5)?;
            Ok(PushKeyRecord {
                org_id,
                ipa_code: row.get(1)?,
                push_kid: row.get(2)?,
                push_iss: row.get(3)?,
                push_sub: row.get(4)?,
                secret: keys.open(PUSH_SECRET_COLUMN, org_id, &sealed),
            })
        })?
        .collect::<Result<_, _>>()?)
}

/// Clears every sealed credential of the orgs' links (`keys::forget_sealed`, for a lost key
/// file), keeping their identity and state; returns the IPA codes of the orgs that had one.
pub(super) fn forget_sealed_secrets(conn: &rusqlite::Connection) -> Result<Vec<String>, StoreError> {
    let orgs: Vec<String> = conn
        .prepare(
            "SELECT o.ipa_code FROM org_upstream u JOIN org o ON o.id = u.org_id \
             WHERE u.password IS NOT NULL OR u.push_secret IS NOT NULL OR u.cart_hash IS NOT NULL \
             ORDER BY o.ipa_code",
        )?
        .query_map([], |row| row.get(0))?
        .collect::<Result<_, _>>()?;
    conn.execute("UPDATE org_upstream SET password = NULL, push_secret = NULL, cart_hash = NULL", [])?;
    Ok(orgs)
}

/// Where one outcome push of the region stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum HintState {
    /// `RECEIVED`: readable and new, waiting for the region to confirm it.
    #[default]
    Received,
    /// `REPLAY`: the same body as an earlier push of the org; nothing to do. Final.
    Replay,
    /// `UNREADABLE`: not MyPay's `{rt, esito}` in base64, or naming no IUV; kept whole. Final.
    Unreadable,
    /// `CONFIRMED`: the region confirmed the payment. Final.
    Confirmed,
    /// `NOT_CONFIRMED`: the region does not confirm it; nothing was marked paid. Final.
    NotConfirmed,
}

impl HintState {
    /// Every state.
    pub const ALL: [HintState; 5] =
        [HintState::Received, HintState::Replay, HintState::Unreadable, HintState::Confirmed, HintState::NotConfirmed];

    /// The stored code, also the `state` of the CLI's JSON.
    pub const fn code(self) -> &'static str {
        match self {
            HintState::Received => "RECEIVED",
            HintState::Replay => "REPLAY",
            HintState::Unreadable => "UNREADABLE",
            HintState::Confirmed => "CONFIRMED",
            HintState::NotConfirmed => "NOT_CONFIRMED",
        }
    }

    /// The state with this code, if any.
    pub fn from_code(code: &str) -> Option<HintState> {
        HintState::ALL.into_iter().find(|state| state.code() == code)
    }
}

stored_as_code!(HintState, "upstream_push.state");

/// A push to store.
#[derive(Debug, Clone, Default)]
pub struct NewHint<'a> {
    pub org_id: i64,
    /// Hex SHA-256 of the body as received.
    pub body_sha256: &'a str,
    pub state: HintState,
    pub rt: Option<&'a [u8]>,
    pub esito: Option<&'a [u8]>,
    /// The body itself, for an unreadable push.
    pub body: Option<&'a [u8]>,
    pub iuv: Option<&'a str>,
    pub iud: Option<&'a str>,
    pub receipt_code: Option<&'a str>,
    pub unknown_iuv: bool,
    pub replay_of: Option<i64>,
    pub detail: Option<&'a str>,
}

/// A stored push.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HintRecord {
    pub id: i64,
    pub org_id: i64,
    pub received_at: String,
    pub body_sha256: String,
    pub state: HintState,
    pub rt: Option<Vec<u8>>,
    pub esito: Option<Vec<u8>>,
    pub iuv: Option<String>,
    pub iud: Option<String>,
    pub receipt_code: Option<String>,
    pub unknown_iuv: bool,
    pub replay_of: Option<i64>,
    pub detail: Option<String>,
    pub decided_at: Option<String>,
}

const HINT_COLUMNS: &str = "id, org_id, received_at, body_sha256, state, rt, esito, iuv, iud, receipt_code, \
     unknown_iuv, replay_of, detail, decided_at";

fn hint_from_row(row: &Row<'_>) -> rusqlite::Result<HintRecord> {
    Ok(HintRecord {
        id: row.get(0)?,
        org_id: row.get(1)?,
        received_at: row.get(2)?,
        body_sha256: row.get(3)?,
        state: row.get(4)?,
        rt: row.get(5)?,
        esito: row.get(6)?,
        iuv: row.get(7)?,
        iud: row.get(8)?,
        receipt_code: row.get(9)?,
        unknown_iuv: row.get(10)?,
        replay_of: row.get(11)?,
        detail: row.get(12)?,
        decided_at: row.get(13)?,
    })
}

/// The first push of the org with this body (any state but `REPLAY`), if any.
pub fn find_hint_by_body(conn: &Conn, org_id: i64, body_sha256: &str) -> Result<Option<i64>, StoreError> {
    Ok(conn
        .sqlite()
        .prepare_cached("SELECT id FROM upstream_push WHERE org_id = ?1 AND body_sha256 = ?2 AND state <> 'REPLAY'")?
        .query_row(params![org_id, body_sha256], |row| row.get(0))
        .optional()?)
}

/// Stores a push received at `now`; returns its id.
pub fn insert_hint(conn: &Conn, hint: &NewHint<'_>, now: &str) -> Result<i64, StoreError> {
    conn.sqlite()
        .prepare_cached(
            "INSERT INTO upstream_push (org_id, received_at, body_sha256, state, rt, esito, body, iuv, iud, \
             receipt_code, unknown_iuv, replay_of, detail) VALUES (:org, :now, :sha, :state, :rt, :esito, :body, \
             :iuv, :iud, :receipt, :unknown, :replay_of, :detail)",
        )?
        .execute(named_params! {
            ":org": hint.org_id, ":now": now, ":sha": hint.body_sha256, ":state": hint.state, ":rt": hint.rt,
            ":esito": hint.esito, ":body": hint.body, ":iuv": hint.iuv, ":iud": hint.iud,
            ":receipt": hint.receipt_code, ":unknown": hint.unknown_iuv, ":replay_of": hint.replay_of,
            ":detail": hint.detail,
        })?;
    Ok(conn.sqlite().last_insert_rowid())
}

/// The pushes in `state`, oldest first, at most `limit`.
pub fn list_hints_in_state(conn: &Conn, state: HintState, limit: u32) -> Result<Vec<HintRecord>, StoreError> {
    let sql = format!("SELECT {HINT_COLUMNS} FROM upstream_push WHERE state = ?1 ORDER BY id LIMIT ?2");
    Ok(conn
        .sqlite()
        .prepare_cached(&sql)?
        .query_map(params![state, limit], hint_from_row)?
        .collect::<Result<_, _>>()?)
}

/// The push with this id.
pub fn find_hint(conn: &Conn, id: i64) -> Result<Option<HintRecord>, StoreError> {
    let sql = format!("SELECT {HINT_COLUMNS} FROM upstream_push WHERE id = ?1");
    Ok(conn.sqlite().prepare_cached(&sql)?.query_row([id], hint_from_row).optional()?)
}

/// Moves a push from `from` to `to` with `detail`; whether it was in `from` (and so changed).
pub fn update_hint_state(
    conn: &Conn,
    id: i64,
    from: HintState,
    to: HintState,
    detail: Option<&str>,
    now: &str,
) -> Result<bool, StoreError> {
    let changed = conn.sqlite().execute(
        "UPDATE upstream_push SET state = ?3, detail = ?4, decided_at = ?5 WHERE id = ?1 AND state = ?2",
        params![id, from, to, detail, now],
    )?;
    Ok(changed == 1)
}

/// How many pushes of the org are in each state, and how many name an IUV it does not know; the
/// time of the latest.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HintCounts {
    pub by_state: Vec<(HintState, i64)>,
    pub unknown_iuv: i64,
    pub last_received_at: Option<String>,
}

/// The [`HintCounts`] of an org.
pub fn count_hints(conn: &Conn, org_id: i64) -> Result<HintCounts, StoreError> {
    let by_state = conn
        .sqlite()
        .prepare_cached("SELECT state, count(*) FROM upstream_push WHERE org_id = ?1 GROUP BY state ORDER BY state")?
        .query_map([org_id], |row| Ok((row.get(0)?, row.get(1)?)))?
        .collect::<Result<_, _>>()?;
    let (unknown_iuv, last_received_at) = conn
        .sqlite()
        .prepare_cached(
            "SELECT coalesce(sum(unknown_iuv AND state <> 'REPLAY'), 0), max(received_at) FROM upstream_push \
             WHERE org_id = ?1",
        )?
        .query_row([org_id], |row| Ok((row.get(0)?, row.get(1)?)))?;
    Ok(HintCounts { by_state, unknown_iuv, last_received_at })
}

/// How many pushes of every org are in `state` (`/metrics`).
pub fn count_hints_in_state(conn: &Conn, state: HintState) -> Result<i64, StoreError> {
    Ok(conn
        .sqlite()
        .prepare_cached("SELECT count(*) FROM upstream_push WHERE state = ?1")?
        .query_row([state], |row| row.get(0))?)
}

/// The orgs whose SIL password at the region is set (the ones the link calls the region for), in
/// id order, at most `limit`.
pub fn list_linked_org_ids(conn: &Conn, limit: u32) -> Result<Vec<i64>, StoreError> {
    let mut stmt = conn
        .sqlite()
        .prepare_cached("SELECT org_id FROM org_upstream WHERE password IS NOT NULL ORDER BY org_id LIMIT ?1")?;
    let ids = stmt.query_map([limit], |row| row.get(0))?.collect::<Result<Vec<i64>, _>>()?;
    Ok(ids)
}
