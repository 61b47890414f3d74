//! Reconciliation's tables: each org's flags, the uploads, the municipality's own facts (treasury
//! movements, payment notifications, legacy Poste rows), the classification (`recon_item` with a
//! `recon_label` row per label) and the set of what changed since it was classified
//! (`recon_dirty`, also fed by triggers on receipts and reporting flows).
//!
//! The facts of E (receipts) and R (reporting flows) are read from their own tables here, with the
//! joins' conditions in one place: a receipt counts when it is OK and not held, a transfer when its
//! beneficiary is the org (also in another org's receipt, with an IBAN: MyPivot's S rows, §1.7);
//! a reporting row when its flow is accepted, current (not superseded) and its outcome is not 3
//! (revoked). Every join is within one org (mypivot.md §8 b).

use rusqlite::{OptionalExtension, named_params, params};

use super::codes::stored_as_code;
use super::{Conn, StoreError};
use crate::domain::reconciliation::classify::Flags;
use crate::domain::reconciliation::{Label, PaymentNotification, PosteReportingRow, TreasuryMovement};
use crate::domain::{Cents, Day};

// ---------------------------------------------------------------------------------------------
// Flags

/// The org's flags; both off when never set.
pub fn get_flags(conn: &Conn, org_id: i64) -> Result<Flags, StoreError> {
    Ok(conn
        .sqlite()
        .prepare_cached("SELECT pagati, tesoreria FROM recon_org WHERE org_id = ?1")?
        .query_row([org_id], |row| Ok(Flags { pagati: row.get(0)?, tesoreria: row.get(1)? }))
        .optional()?
        .unwrap_or_default())
}

/// Sets the org's flags.
pub fn set_flags(conn: &Conn, org_id: i64, flags: Flags, now: &str) -> Result<(), StoreError> {
    conn.sqlite().execute(
        "INSERT INTO recon_org (org_id, pagati, tesoreria, updated_at) VALUES (?1, ?2, ?3, ?4) \
         ON CONFLICT (org_id) DO UPDATE SET pagati = ?2, tesoreria = ?3, updated_at = ?4",
        params![org_id, flags.pagati, flags.tesoreria, now],
    )?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Uploads

/// Where an upload is: MyPivot's manage states (mypivot.md §1.0).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum UploadState {
    /// `FILE_SCARICATO`: stored, waiting for its job.
    #[default]
    Received,
    /// `FILE_IN_CARICAMENTO`: its job is loading it.
    Loading,
    /// `FILE_CARICATO`: loaded (refused rows in its rejects file).
    Loaded,
    /// `ERROR_LOAD`: refused whole; nothing of it stored.
    Refused,
    /// `FILE_DUPLICATO`: a file of that name was loaded already.
    Duplicate,
}

impl UploadState {
    pub const ALL: [UploadState; 5] = [
        UploadState::Received,
        UploadState::Loading,
        UploadState::Loaded,
        UploadState::Refused,
        UploadState::Duplicate,
    ];

    /// The stored code, as MyPivot's SIL answers it.
    pub const fn code(self) -> &'static str {
        match self {
            UploadState::Received => "FILE_SCARICATO",
            UploadState::Loading => "FILE_IN_CARICAMENTO",
            UploadState::Loaded => "FILE_CARICATO",
            UploadState::Refused => "ERROR_LOAD",
            UploadState::Duplicate => "FILE_DUPLICATO",
        }
    }

    pub fn from_code(code: &str) -> Option<UploadState> {
        UploadState::ALL.into_iter().find(|state| state.code() == code)
    }

    /// Whether the upload reached its outcome.
    pub fn is_final(self) -> bool {
        matches!(self, UploadState::Loaded | UploadState::Refused | UploadState::Duplicate)
    }
}

stored_as_code!(UploadState, "recon_upload.state");

/// An uploaded reconciliation file.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UploadRecord {
    pub id: i64,
    pub org_id: i64,
    /// The source's one-letter code (T, C, O, Y, P, D).
    pub kind: String,
    pub file_name: String,
    pub stored_file: String,
    pub size_bytes: i64,
    pub sha256: String,
    /// C: the 7 positions, comma-separated.
    pub columns: Option<String>,
    pub uploader: String,
    pub state: UploadState,
    pub error: Option<String>,
    pub rows_accepted: Option<i64>,
    pub rows_rejected: Option<i64>,
    pub rows_ignored: Option<i64>,
    pub warnings: Option<i64>,
    pub rejects_file: Option<String>,
    pub submitted_at: String,
    pub finished_at: Option<String>,
    /// A refused file's reason in Italian, for the back office (`error` is English).
    pub error_it: Option<String>,
}

const UPLOAD_COLUMNS: &str = "id, org_id, kind, file_name, stored_file, size_bytes, sha256, columns, uploader, state, \
     error, rows_accepted, rows_rejected, rows_ignored, warnings, rejects_file, submitted_at, finished_at, error_it";

fn upload_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<UploadRecord> {
    Ok(UploadRecord {
        id: row.get(0)?,
        org_id: row.get(1)?,
        kind: row.get(2)?,
        file_name: row.get(3)?,
        stored_file: row.get(4)?,
        size_bytes: row.get(5)?,
        sha256: row.get(6)?,
        columns: row.get(7)?,
        uploader: row.get(8)?,
        state: row.get(9)?,
        error: row.get(10)?,
        rows_accepted: row.get(11)?,
        rows_rejected: row.get(12)?,
        rows_ignored: row.get(13)?,
        warnings: row.get(14)?,
        rejects_file: row.get(15)?,
        submitted_at: row.get(16)?,
        finished_at: row.get(17)?,
        error_it: row.get(18)?,
    })
}

/// Records a submitted upload (state FILE_SCARICATO); returns its id.
pub fn insert_upload(conn: &Conn, u: &UploadRecord, now: &str) -> Result<i64, StoreError> {
    conn.sqlite().execute(
        "INSERT INTO recon_upload (org_id, kind, file_name, stored_file, size_bytes, sha256, columns, uploader, state, \
         submitted_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 'FILE_SCARICATO', ?9)",
        params![u.org_id, u.kind, u.file_name, u.stored_file, u.size_bytes, u.sha256, u.columns, u.uploader, now],
    )?;
    Ok(conn.sqlite().last_insert_rowid())
}

/// The upload with this id.
pub fn find_upload(conn: &Conn, id: i64) -> Result<Option<UploadRecord>, StoreError> {
    let sql = format!("SELECT {UPLOAD_COLUMNS} FROM recon_upload WHERE id = ?1");
    Ok(conn.sqlite().prepare_cached(&sql)?.query_row([id], upload_from_row).optional()?)
}

/// The org's uploads, newest first.
pub fn list_uploads(conn: &Conn, org_id: i64, limit: u32) -> Result<Vec<UploadRecord>, StoreError> {
    let sql = format!("SELECT {UPLOAD_COLUMNS} FROM recon_upload WHERE org_id = ?1 ORDER BY id DESC LIMIT ?2");
    let rows = conn
        .sqlite()
        .prepare_cached(&sql)?
        .query_map(params![org_id, limit], upload_from_row)?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// The org's uploads by `uploader` (an audit actor), newest first.
pub fn list_uploads_of_uploader(
    conn: &Conn,
    org_id: i64,
    uploader: &str,
    limit: u32,
) -> Result<Vec<UploadRecord>, StoreError> {
    let sql = format!(
        "SELECT {UPLOAD_COLUMNS} FROM recon_upload WHERE org_id = ?1 AND uploader = ?2 ORDER BY id DESC LIMIT ?3"
    );
    let rows = conn
        .sqlite()
        .prepare_cached(&sql)?
        .query_map(params![org_id, uploader, limit], upload_from_row)?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// Whether another upload of the org with this name was loaded (FILE_CARICATO).
pub fn loaded_name_exists(conn: &Conn, org_id: i64, file_name: &str, except: i64) -> Result<bool, StoreError> {
    Ok(conn
        .sqlite()
        .prepare_cached("SELECT 1 FROM recon_upload WHERE org_id = ?1 AND file_name = ?2 AND state = ?4 AND id <> ?3")?
        .exists(params![org_id, file_name, except, UploadState::Loaded])?)
}

/// Moves an upload to `state` (with an error text for the refusals).
pub fn update_upload_state(
    conn: &Conn,
    id: i64,
    state: UploadState,
    error: Option<&str>,
    now: &str,
) -> Result<(), StoreError> {
    let finished = state.is_final().then_some(now);
    conn.sqlite().execute(
        "UPDATE recon_upload SET state = ?2, error = ?3, finished_at = ?4 WHERE id = ?1",
        params![id, state, error, finished],
    )?;
    Ok(())
}

/// Keeps a refused upload's reason in Italian beside the English `error`.
pub fn set_upload_error_it(conn: &Conn, id: i64, text: &str) -> Result<(), StoreError> {
    conn.sqlite().execute("UPDATE recon_upload SET error_it = ?2 WHERE id = ?1", params![id, text])?;
    Ok(())
}

/// The counts an upload's load reached, kept as it goes (a resumed load adds to them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct UploadCounts {
    pub accepted: i64,
    pub rejected: i64,
    pub ignored: i64,
    pub warnings: i64,
}

/// Saves the upload's counts and its rejects file.
pub fn update_upload_counts(
    conn: &Conn,
    id: i64,
    counts: UploadCounts,
    rejects_file: Option<&str>,
) -> Result<(), StoreError> {
    conn.sqlite().execute(
        "UPDATE recon_upload SET rows_accepted = ?2, rows_rejected = ?3, rows_ignored = ?4, warnings = ?5, \
         rejects_file = coalesce(?6, rejects_file) WHERE id = ?1",
        params![id, counts.accepted, counts.rejected, counts.ignored, counts.warnings, rejects_file],
    )?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Treasury movements

/// A stored treasury movement, as the classification reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MovementRecord {
    pub id: i64,
    pub source: String,
    pub bolletta_year: Option<i64>,
    pub bolletta_number: Option<String>,
    pub booking_day: Day,
    pub amount: Cents,
    pub causale: String,
    pub iuf: Option<String>,
    pub iuv: Option<String>,
}

const MOVEMENT_COLUMNS: &str =
    "id, source, bolletta_year, bolletta_number, booking_day, amount_cents, causale, iuf, iuv";

fn movement_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<MovementRecord> {
    Ok(MovementRecord {
        id: row.get(0)?,
        source: row.get(1)?,
        bolletta_year: row.get(2)?,
        bolletta_number: row.get(3)?,
        booking_day: row.get(4)?,
        amount: row.get(5)?,
        causale: row.get(6)?,
        iuf: row.get(7)?,
        iuv: row.get(8)?,
    })
}

/// What storing a movement did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MovementChange {
    /// The same movement was already stored, as it is: nothing changed.
    Unchanged(i64),
    /// Stored anew.
    Inserted(i64),
    /// Replaced a stored one with the same key, whose IUF and IUV were these.
    Replaced { id: i64, old_iuf: Option<String>, old_iuv: Option<String> },
}

/// Stores `m` for the org under (`key_group`, `natural_key`): a movement with that key is replaced
/// when its content differs and left alone when it does not. IUF and IUV are stored upper case.
pub fn upsert_movement(
    conn: &Conn,
    org_id: i64,
    key_group: &str,
    natural_key: &str,
    m: &TreasuryMovement,
    upload_id: Option<i64>,
    now: &str,
) -> Result<MovementChange, StoreError> {
    let iuf = m.iuf.as_deref().map(str::to_uppercase);
    let iuv = m.iuv.as_deref().map(str::to_uppercase);
    let source = m.source.code().to_string();
    let (year, number) = match &m.bolletta {
        Some(b) => (Some(i64::from(b.year)), Some(b.number.clone())),
        None => (None, None),
    };
    type Stored = (
        i64,
        String,
        Option<String>,
        Day,
        Option<Day>,
        Cents,
        String,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
    );
    let existing: Option<Stored> = conn
        .sqlite()
        .prepare_cached(
            "SELECT id, source, account, booking_day, value_day, amount_cents, causale, payer_name, iuf, iuv, \
             end_to_end_id FROM recon_movement WHERE org_id = ?1 AND key_group = ?2 AND natural_key = ?3",
        )?
        .query_row(params![org_id, key_group, natural_key], |row| Stored::try_from(row))
        .optional()?;
    if let Some((id, s, account, booking, value, amount, causale, payer, old_iuf, old_iuv, e2e)) = existing {
        let same = s == source
            && account == m.account
            && booking == m.booking_day
            && value == m.value_day
            && amount == m.amount
            && causale == m.causale
            && payer == m.payer_name
            && old_iuf == iuf
            && old_iuv == iuv
            && e2e == m.end_to_end_id;
        if same {
            set_movement_details(conn, id, m)?;
            return Ok(MovementChange::Unchanged(id));
        }
        conn.sqlite()
            .prepare_cached(
                "UPDATE recon_movement SET source = :source, bolletta_year = :year, bolletta_number = :number, \
                 account = :account, booking_day = :booking, value_day = :value, amount_cents = :amount, \
                 causale = :causale, payer_name = :payer, iuf = :iuf, iuv = :iuv, end_to_end_id = :e2e, \
                 document = :document, upload_id = :upload, loaded_at = :now WHERE id = :id",
            )?
            .execute(named_params! {
                ":id": id, ":source": source, ":year": year, ":number": number, ":account": m.account,
                ":booking": m.booking_day, ":value": m.value_day, ":amount": m.amount, ":causale": m.causale,
                ":payer": m.payer_name, ":iuf": iuf, ":iuv": iuv, ":e2e": m.end_to_end_id, ":document": m.document,
                ":upload": upload_id, ":now": now,
            })?;
        set_movement_details(conn, id, m)?;
        return Ok(MovementChange::Replaced { id, old_iuf, old_iuv });
    }
    conn.sqlite()
        .prepare_cached(
            "INSERT INTO recon_movement (org_id, source, key_group, natural_key, bolletta_year, bolletta_number, account, \
             booking_day, value_day, amount_cents, causale, payer_name, iuf, iuv, end_to_end_id, document, upload_id, \
             loaded_at) VALUES (:org, :source, :group, :key, :year, :number, :account, :booking, :value, :amount, \
             :causale, :payer, :iuf, :iuv, :e2e, :document, :upload, :now)",
        )?
        .execute(named_params! {
            ":org": org_id, ":source": source, ":group": key_group, ":key": natural_key, ":year": year,
            ":number": number, ":account": m.account, ":booking": m.booking_day, ":value": m.value_day,
            ":amount": m.amount, ":causale": m.causale, ":payer": m.payer_name, ":iuf": iuf, ":iuv": iuv,
            ":e2e": m.end_to_end_id, ":document": m.document, ":upload": upload_id, ":now": now,
        })?;
    let id = conn.sqlite().last_insert_rowid();
    set_movement_details(conn, id, m)?;
    Ok(MovementChange::Inserted(id))
}

/// Keeps the fields of movement `id` the classification does not read (a bank sheet's own, an OPI
/// sospeso's) as `m` gives them; writes only when they differ.
fn set_movement_details(conn: &Conn, id: i64, m: &TreasuryMovement) -> Result<(), StoreError> {
    let bank = m.bank.as_ref();
    // A list of string pairs always serializes.
    let tags = bank.filter(|b| !b.tags.is_empty()).and_then(|b| serde_json::to_string(&b.tags).ok());
    let provisional = m.provisional.as_ref();
    conn.sqlite()
        .prepare_cached(
            "UPDATE recon_movement SET bank_abi = :abi, bank_cab = :cab, bank_currency = :currency, \
             bank_cheque = :cheque, bank_reference = :bank_ref, bank_customer_reference = :customer_ref, \
             bank_order_day = :order_day, bank_orderer = :orderer, bank_tags = :tags, \
             provisional_day = :prov_day, provisional_code = :prov_code WHERE id = :id \
             AND (bank_abi IS NOT :abi OR bank_cab IS NOT :cab OR bank_currency IS NOT :currency \
               OR bank_cheque IS NOT :cheque OR bank_reference IS NOT :bank_ref \
               OR bank_customer_reference IS NOT :customer_ref OR bank_order_day IS NOT :order_day \
               OR bank_orderer IS NOT :orderer OR bank_tags IS NOT :tags OR provisional_day IS NOT :prov_day \
               OR provisional_code IS NOT :prov_code)",
        )?
        .execute(named_params! {
            ":id": id,
            ":abi": bank.and_then(|b| b.abi.as_deref()),
            ":cab": bank.and_then(|b| b.cab.as_deref()),
            ":currency": bank.and_then(|b| b.currency.as_deref()),
            ":cheque": bank.and_then(|b| b.cheque.as_deref()),
            ":bank_ref": bank.and_then(|b| b.bank_reference.as_deref()),
            ":customer_ref": bank.and_then(|b| b.customer_reference.as_deref()),
            ":order_day": bank.and_then(|b| b.order_day),
            ":orderer": bank.and_then(|b| b.orderer.as_deref()),
            ":tags": tags,
            ":prov_day": provisional.and_then(|p| p.day),
            ":prov_code": provisional.and_then(|p| p.code.as_deref()),
        })?;
    Ok(())
}

/// Deletes the movement stored under (`key_group`, `natural_key`); returns it when there was one.
pub fn delete_movement(
    conn: &Conn,
    org_id: i64,
    key_group: &str,
    natural_key: &str,
) -> Result<Option<MovementRecord>, StoreError> {
    let sql = format!(
        "SELECT {MOVEMENT_COLUMNS} FROM recon_movement WHERE org_id = ?1 AND key_group = ?2 AND natural_key = ?3"
    );
    let found = conn
        .sqlite()
        .prepare_cached(&sql)?
        .query_row(params![org_id, key_group, natural_key], movement_from_row)
        .optional()?;
    if let Some(m) = &found {
        conn.sqlite().execute("DELETE FROM recon_movement WHERE id = ?1", [m.id])?;
    }
    Ok(found)
}

/// The movement with this id, if it belongs to the org.
pub fn find_movement(conn: &Conn, org_id: i64, id: i64) -> Result<Option<MovementRecord>, StoreError> {
    let sql = format!("SELECT {MOVEMENT_COLUMNS} FROM recon_movement WHERE org_id = ?1 AND id = ?2");
    Ok(conn.sqlite().prepare_cached(&sql)?.query_row(params![org_id, id], movement_from_row).optional()?)
}

/// The org's movements naming this IUV (upper case).
pub fn movements_by_iuv(conn: &Conn, org_id: i64, iuv: &str) -> Result<Vec<MovementRecord>, StoreError> {
    let sql =
        format!("SELECT {MOVEMENT_COLUMNS} FROM recon_movement WHERE org_id = ?1 AND iuv = upper(?2) ORDER BY id");
    let rows = conn
        .sqlite()
        .prepare_cached(&sql)?
        .query_map(params![org_id, iuv], movement_from_row)?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// The org's movements naming this IUF (compared upper case, as MyPivot does).
pub fn movements_by_iuf(conn: &Conn, org_id: i64, iuf: &str) -> Result<Vec<MovementRecord>, StoreError> {
    let sql =
        format!("SELECT {MOVEMENT_COLUMNS} FROM recon_movement WHERE org_id = ?1 AND iuf = upper(?2) ORDER BY id");
    let rows = conn
        .sqlite()
        .prepare_cached(&sql)?
        .query_map(params![org_id, iuf], movement_from_row)?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// Whether a movement of another key group (another treasury source) has this IUF or IUV and
/// amount: the same money would then join twice (§8 j).
pub fn twin_in_other_source(
    conn: &Conn,
    org_id: i64,
    key_group: &str,
    iuf: Option<&str>,
    iuv: Option<&str>,
    amount: Cents,
) -> Result<bool, StoreError> {
    if iuf.is_none() && iuv.is_none() {
        return Ok(false);
    }
    Ok(conn
        .sqlite()
        .prepare_cached(
            "SELECT 1 FROM recon_movement WHERE org_id = ?1 AND key_group <> ?2 AND amount_cents = ?5 \
             AND ((?3 IS NOT NULL AND iuf = upper(?3)) OR (?4 IS NOT NULL AND iuv = upper(?4)))",
        )?
        .exists(params![org_id, key_group, iuf, iuv, amount])?)
}

// ---------------------------------------------------------------------------------------------
// Notifications and Poste rows

/// What storing a notification did: `None` when the same was stored already, else the IUV the
/// IUD had before (`Some(None)`: it is new).
pub fn upsert_notification(
    conn: &Conn,
    org_id: i64,
    n: &PaymentNotification,
    upload_id: Option<i64>,
    now: &str,
) -> Result<Option<Option<String>>, StoreError> {
    type Stored =
        (String, Day, Cents, Option<Cents>, String, String, String, String, String, String, String, Option<String>);
    let old: Option<Stored> = conn
        .sqlite()
        .prepare_cached(
            "SELECT iuv, paid_on, amount_cents, fee_cents, debt_type, payment_kind, causale, collection_data, \
             payer_kind, payer_id, payer_name, bilancio FROM recon_notification WHERE org_id = ?1 AND iud = ?2",
        )?
        .query_row(params![org_id, n.iud], |row| Stored::try_from(row))
        .optional()?;
    if let Some(old) = &old {
        let now_as = (
            n.iuv.clone(),
            n.paid_on,
            n.amount,
            n.fee,
            n.debt_type.clone(),
            n.payment_kind.clone(),
            n.causale.clone(),
            n.collection_data.clone(),
            n.payer.kind.clone(),
            n.payer.id.clone(),
            n.payer.name.clone(),
            n.bilancio.clone(),
        );
        if *old == now_as {
            return Ok(None);
        }
    }
    conn.sqlite()
        .prepare_cached(
            "INSERT INTO recon_notification (org_id, iud, iuv, payer_kind, payer_id, payer_name, payer_email, paid_on, \
             amount_cents, fee_cents, debt_type, payment_kind, causale, collection_data, bilancio, upload_id, loaded_at) \
             VALUES (:org, :iud, :iuv, :pk, :pid, :pname, :pmail, :paid, :amount, :fee, :dt, :kind, :causale, :data, \
             :bilancio, :upload, :now) ON CONFLICT (org_id, iud) DO UPDATE SET iuv = :iuv, payer_kind = :pk, \
             payer_id = :pid, payer_name = :pname, payer_email = :pmail, paid_on = :paid, amount_cents = :amount, \
             fee_cents = :fee, debt_type = :dt, payment_kind = :kind, causale = :causale, collection_data = :data, \
             bilancio = :bilancio, upload_id = :upload, loaded_at = :now",
        )?
        .execute(named_params! {
            ":org": org_id, ":iud": n.iud, ":iuv": n.iuv, ":pk": n.payer.kind, ":pid": n.payer.id,
            ":pname": n.payer.name, ":pmail": n.payer.email, ":paid": n.paid_on, ":amount": n.amount, ":fee": n.fee,
            ":dt": n.debt_type, ":kind": n.payment_kind, ":causale": n.causale, ":data": n.collection_data,
            ":bilancio": n.bilancio, ":upload": upload_id, ":now": now,
        })?;
    Ok(Some(old.map(|o| o.0)))
}

/// A stored notification, as the classification reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotificationFact {
    pub iud: String,
    pub iuv: String,
    pub paid_on: Day,
    pub amount: Cents,
}

fn notification_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<NotificationFact> {
    Ok(NotificationFact { iud: row.get(0)?, iuv: row.get(1)?, paid_on: row.get(2)?, amount: row.get(3)? })
}

/// The org's notifications of this IUV.
pub fn notifications_by_iuv(conn: &Conn, org_id: i64, iuv: &str) -> Result<Vec<NotificationFact>, StoreError> {
    let rows = conn
        .sqlite()
        .prepare_cached(
            "SELECT iud, iuv, paid_on, amount_cents FROM recon_notification WHERE org_id = ?1 AND iuv = ?2 ORDER BY iud",
        )?
        .query_map(params![org_id, iuv], notification_from_row)?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// The org's notification with this IUD.
pub fn notification_by_iud(conn: &Conn, org_id: i64, iud: &str) -> Result<Option<NotificationFact>, StoreError> {
    Ok(conn
        .sqlite()
        .prepare_cached(
            "SELECT iud, iuv, paid_on, amount_cents FROM recon_notification WHERE org_id = ?1 AND iud = ?2",
        )?
        .query_row(params![org_id, iud], notification_from_row)
        .optional()?)
}

/// The key a legacy Poste line is noted and classified under: `<IUR>/<operation day>/<cents>`.
pub fn poste_key(p: &PosteReportingRow) -> String {
    format!("{}/{}/{}", p.iur, p.operation_day, p.amount.get())
}

/// The org's legacy Poste line with this key, with the IUF the operator gave its flow.
pub fn find_poste_row(
    conn: &Conn,
    org_id: i64,
    key: &str,
) -> Result<Option<(PosteReportingRow, Option<String>)>, StoreError> {
    // The IUR may hold a `/`; the day and the cents never do.
    let mut parts = key.rsplitn(3, '/');
    let (Some(cents), Some(day), Some(iur)) = (parts.next(), parts.next(), parts.next()) else { return Ok(None) };
    let Ok(cents) = cents.parse::<i64>() else { return Ok(None) };
    Ok(conn
        .sqlite()
        .prepare_cached(
            "SELECT iur, operation_day, office, amount_cents, credit_day, iuf FROM recon_poste_row \
             WHERE org_id = ?1 AND iur = ?2 AND operation_day = ?3 AND amount_cents = ?4",
        )?
        .query_row(params![org_id, iur, day, cents], |row| {
            let line = PosteReportingRow {
                iur: row.get(0)?,
                operation_day: row.get(1)?,
                office: row.get(2)?,
                amount: row.get(3)?,
                credit_day: row.get(4)?,
            };
            Ok((line, row.get(5)?))
        })
        .optional()?)
}

const POSTE_KEY: &str = "iur || '/' || operation_day || '/' || amount_cents";

/// The keys of the org's legacy Poste lines of the flow with this IUF (compared upper case), and
/// their total: the flow's, as the operator would give it.
pub fn poste_lines_of_iuf(conn: &Conn, org_id: i64, iuf: &str) -> Result<(Vec<String>, Cents), StoreError> {
    let rows: Vec<(String, i64)> = conn
        .sqlite()
        .prepare_cached(&format!(
            "SELECT {POSTE_KEY}, amount_cents FROM recon_poste_row WHERE org_id = ?1 AND iuf = upper(?2) ORDER BY 1"
        ))?
        .query_map(params![org_id, iuf], |row| Ok((row.get(0)?, row.get(1)?)))?
        .collect::<Result<Vec<_>, _>>()?;
    let total = rows.iter().map(|(_, cents)| *cents).sum();
    Ok((rows.into_iter().map(|(key, _)| key).collect(), Cents::new(total)))
}

/// Gives the legacy Poste lines of upload `upload_id` the IUF of their flow (upper case); returns
/// their keys and the IUFs they had before.
pub fn set_poste_iuf(
    conn: &Conn,
    org_id: i64,
    upload_id: i64,
    iuf: &str,
) -> Result<(Vec<String>, Vec<String>), StoreError> {
    let keys: Vec<String> = conn
        .sqlite()
        .prepare_cached(&format!("SELECT {POSTE_KEY} FROM recon_poste_row WHERE org_id = ?1 AND upload_id = ?2"))?
        .query_map(params![org_id, upload_id], |row| row.get(0))?
        .collect::<Result<Vec<_>, _>>()?;
    let before: Vec<String> = conn
        .sqlite()
        .prepare_cached(
            "SELECT DISTINCT iuf FROM recon_poste_row WHERE org_id = ?1 AND upload_id = ?2 AND iuf IS NOT NULL",
        )?
        .query_map(params![org_id, upload_id], |row| row.get(0))?
        .collect::<Result<Vec<_>, _>>()?;
    conn.sqlite()
        .prepare_cached("UPDATE recon_poste_row SET iuf = upper(?3) WHERE org_id = ?1 AND upload_id = ?2")?
        .execute(params![org_id, upload_id, iuf])?;
    Ok((keys, before))
}

/// Deletes the row of the org's legacy Poste line with this key.
pub fn delete_poste_item(conn: &Conn, org_id: i64, key: &str) -> Result<(), StoreError> {
    conn.sqlite()
        .prepare_cached(
            "DELETE FROM recon_label WHERE item_id IN (SELECT id FROM recon_item WHERE org_id = ?1 AND poste_key = ?2)",
        )?
        .execute(params![org_id, key])?;
    conn.sqlite()
        .prepare_cached("DELETE FROM recon_item WHERE org_id = ?1 AND poste_key = ?2")?
        .execute(params![org_id, key])?;
    Ok(())
}

/// Stores a legacy Poste line; returns whether it was new.
pub fn insert_poste_row(
    conn: &Conn,
    org_id: i64,
    p: &PosteReportingRow,
    upload_id: Option<i64>,
) -> Result<bool, StoreError> {
    let n = conn.sqlite().execute(
        "INSERT OR IGNORE INTO recon_poste_row (org_id, iur, operation_day, office, amount_cents, credit_day, upload_id) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![org_id, p.iur, p.operation_day, p.office, p.amount, p.credit_day, upload_id],
    )?;
    Ok(n > 0)
}

// ---------------------------------------------------------------------------------------------
// E and R, read for the joins

/// One transfer of a paying receipt of the org (E).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaidTransfer {
    /// `receipt.id`.
    pub receipt_row: i64,
    /// receiptId, the IUR.
    pub iur: String,
    pub transfer_index: i64,
    pub amount: Cents,
    /// The receipt's total.
    pub total: Cents,
    /// The IUD of the debt it paid, if it paid one.
    pub iud: Option<String>,
    pub payment_date: Day,
}

/// The transfers to the org of the paying receipts of this IUV: its own receipts', and (S rows,
/// mypivot.md §1.7) another org's receipt's transfers to it with an IBAN (a stamp is no S row),
/// whose amount is then also the row's total, as MyPivot writes them. An S row names no IUD: the
/// debt it paid is the other org's.
pub fn paid_transfers_by_iuv(
    conn: &Conn,
    org_id: i64,
    fiscal_code: &str,
    iuv: &str,
) -> Result<Vec<PaidTransfer>, StoreError> {
    let rows = conn
        .sqlite()
        .prepare_cached(
            "SELECT r.id, r.receipt_id, t.transfer_index, t.amount_cents, r.amount_cents, d.iud, r.payment_date \
             FROM receipt r JOIN receipt_transfer t ON t.receipt_id = r.id LEFT JOIN debt d ON d.id = r.debt_id \
             WHERE r.org_id = ?1 AND r.iuv = ?3 AND r.outcome = 'OK' AND r.held = 0 AND +t.fiscal_code = ?2 \
             UNION ALL \
             SELECT r.id, r.receipt_id, t.transfer_index, t.amount_cents, t.amount_cents, NULL, r.payment_date \
             FROM receipt r INDEXED BY receipt_iuv JOIN receipt_transfer t ON t.receipt_id = r.id \
             WHERE r.iuv = ?3 AND r.org_id <> ?1 AND r.outcome = 'OK' AND r.held = 0 AND +t.fiscal_code = ?2 \
             AND t.iban IS NOT NULL \
             ORDER BY 2, 3",
        )?
        .query_map(params![org_id, fiscal_code, iuv], |row| {
            Ok(PaidTransfer {
                receipt_row: row.get(0)?,
                iur: row.get(1)?,
                transfer_index: row.get(2)?,
                amount: row.get(3)?,
                total: row.get(4)?,
                iud: row.get(5)?,
                payment_date: row.get(6)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// The IUVs of the org's paying receipts of the debt with this IUD.
pub fn receipt_iuvs_of_iud(conn: &Conn, org_id: i64, iud: &str) -> Result<Vec<String>, StoreError> {
    let rows = conn
        .sqlite()
        .prepare_cached(
            // From the debt (its IUD index) to its receipts: CROSS JOIN keeps that order.
            "SELECT DISTINCT r.iuv FROM debt d CROSS JOIN receipt r ON r.debt_id = d.id \
             WHERE d.org_id = ?1 AND d.iud = ?2 AND r.org_id = ?1 AND r.outcome = 'OK' AND r.held = 0",
        )?
        .query_map(params![org_id, iud], |row| row.get(0))?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// Whether a paying receipt of the org with a transfer to it pays the debt with this IUD.
pub fn iud_paid(conn: &Conn, org_id: i64, fiscal_code: &str, iud: &str) -> Result<bool, StoreError> {
    Ok(conn
        .sqlite()
        .prepare_cached(
            "SELECT 1 FROM debt d CROSS JOIN receipt r ON r.debt_id = d.id CROSS JOIN receipt_transfer t \
             ON t.receipt_id = r.id WHERE d.org_id = ?1 AND d.iud = ?3 AND r.org_id = ?1 AND r.outcome = 'OK' \
             AND r.held = 0 AND +t.fiscal_code = ?2",
        )?
        .exists(params![org_id, fiscal_code, iud])?)
}

/// One row of a current reporting flow of the org (R).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportedRow {
    pub flow_id: i64,
    pub iuf: String,
    pub iur: String,
    pub transfer_index: Option<i64>,
    pub amount: Cents,
    pub outcome_code: String,
    pub outcome_date: String,
    pub flow_total: Option<Cents>,
}

/// The rows of the org's current flows for this IUV, outcome 3 (revoked) left out.
pub fn reported_rows_by_iuv(conn: &Conn, org_id: i64, iuv: &str) -> Result<Vec<ReportedRow>, StoreError> {
    let rows = conn
        .sqlite()
        .prepare_cached(
            "SELECT f.id, f.iuf, p.iur, p.transfer_index, p.amount_cents, p.outcome_code, p.outcome_date, \
             f.total_amount_cents FROM reporting_payment p JOIN reporting_flow f ON f.id = p.flow_id \
             WHERE p.iuv = ?2 AND f.org_id = ?1 AND f.state = 'ACQUISITO' AND f.superseded_by IS NULL \
             AND p.outcome_code <> '3' ORDER BY f.id, p.row_index",
        )?
        .query_map(params![org_id, iuv], |row| {
            Ok(ReportedRow {
                flow_id: row.get(0)?,
                iuf: row.get(1)?,
                iur: row.get(2)?,
                transfer_index: row.get(3)?,
                amount: row.get(4)?,
                outcome_code: row.get(5)?,
                outcome_date: row.get(6)?,
                flow_total: row.get(7)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// The IUVs of the rows of the org's current flows with this IUF (compared upper case).
pub fn reported_iuvs_of_iuf(conn: &Conn, org_id: i64, iuf: &str) -> Result<Vec<String>, StoreError> {
    let rows = conn
        .sqlite()
        .prepare_cached(
            "SELECT DISTINCT p.iuv FROM reporting_flow f JOIN reporting_payment p ON p.flow_id = f.id \
             WHERE f.org_id = ?1 AND upper(f.iuf) = upper(?2) AND f.state = 'ACQUISITO' AND f.superseded_by IS NULL \
             AND p.outcome_code <> '3'",
        )?
        .query_map(params![org_id, iuf], |row| row.get(0))?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// Whether E (its own receipts or S rows) or R names this IUV for the org (a movement with it then
/// joins them). IUVs are
/// compared as stored (a movement's is upper case, as pagoPA's are), so the indexes serve.
pub fn iuv_known(conn: &Conn, org_id: i64, fiscal_code: &str, iuv: &str) -> Result<bool, StoreError> {
    Ok(conn
        .sqlite()
        .prepare_cached(
            "SELECT 1 WHERE EXISTS (SELECT 1 FROM receipt r JOIN receipt_transfer t ON t.receipt_id = r.id \
             WHERE r.org_id = ?1 AND r.iuv = ?3 AND r.outcome = 'OK' AND r.held = 0 AND +t.fiscal_code = ?2) \
             OR EXISTS (SELECT 1 FROM receipt r INDEXED BY receipt_iuv JOIN receipt_transfer t ON t.receipt_id = r.id \
             WHERE r.iuv = ?3 AND r.org_id <> ?1 AND r.outcome = 'OK' AND r.held = 0 AND +t.fiscal_code = ?2 \
             AND t.iban IS NOT NULL) \
             OR EXISTS (SELECT 1 FROM reporting_payment p JOIN reporting_flow f ON f.id = p.flow_id \
             WHERE p.iuv = ?3 AND f.org_id = ?1 AND f.state = 'ACQUISITO' AND f.superseded_by IS NULL \
             AND p.outcome_code <> '3')",
        )?
        .exists(params![org_id, fiscal_code, iuv])?)
}

// ---------------------------------------------------------------------------------------------
// The classification

/// One classified row.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ItemRecord {
    pub id: i64,
    pub iuv: Option<String>,
    pub iur: Option<String>,
    pub transfer_index: Option<i64>,
    pub iud: Option<String>,
    pub movement_id: Option<i64>,
    pub iuf: Option<String>,
    pub receipt_row: Option<i64>,
    pub day: String,
    pub amount: i64,
    pub n_cents: Option<i64>,
    pub e_cents: Option<i64>,
    pub e_total_cents: Option<i64>,
    pub r_cents: Option<i64>,
    pub r_total_cents: Option<i64>,
    pub r_outcome: Option<String>,
    pub t_iuf_cents: Option<i64>,
    pub t_iuv_cents: Option<i64>,
    pub t_count: i64,
    pub labels: Vec<Label>,
    /// A legacy Poste line's row: its key ([`poste_key`]).
    pub poste_key: Option<String>,
}

/// Deletes the org's rows of this IUV that are not a movement's own.
pub fn delete_iuv_items(conn: &Conn, org_id: i64, iuv: &str) -> Result<(), StoreError> {
    conn.sqlite()
        .prepare_cached(
            "DELETE FROM recon_label WHERE item_id IN \
             (SELECT id FROM recon_item WHERE org_id = ?1 AND iuv = ?2 AND movement_id IS NULL)",
        )?
        .execute(params![org_id, iuv])?;
    conn.sqlite()
        .prepare_cached("DELETE FROM recon_item WHERE org_id = ?1 AND iuv = ?2 AND movement_id IS NULL")?
        .execute(params![org_id, iuv])?;
    Ok(())
}

/// Deletes a movement's own row.
pub fn delete_movement_item(conn: &Conn, movement_id: i64) -> Result<(), StoreError> {
    conn.sqlite()
        .prepare_cached("DELETE FROM recon_label WHERE item_id IN (SELECT id FROM recon_item WHERE movement_id = ?1)")?
        .execute([movement_id])?;
    conn.sqlite().prepare_cached("DELETE FROM recon_item WHERE movement_id = ?1")?.execute([movement_id])?;
    Ok(())
}

/// Stores a classified row with a label row per label; returns its id.
pub fn insert_item(conn: &Conn, org_id: i64, item: &ItemRecord) -> Result<i64, StoreError> {
    let labels: Vec<&str> = item.labels.iter().map(|l| l.code()).collect();
    conn.sqlite()
        .prepare_cached(
            "INSERT INTO recon_item (org_id, iuv, iur, transfer_index, iud, movement_id, iuf, receipt_id, day, \
             amount_cents, n_cents, e_cents, e_total_cents, r_cents, r_total_cents, r_outcome, t_iuf_cents, t_iuv_cents, \
             t_count, labels, poste_key) VALUES (:org, :iuv, :iur, :idx, :iud, :mov, :iuf, :rec, :day, :amount, :n, :e, \
             :et, :r, :rt, :ro, :ti, :tv, :tc, :labels, :poste)",
        )?
        .execute(named_params! {
            ":org": org_id, ":iuv": item.iuv, ":iur": item.iur, ":idx": item.transfer_index, ":iud": item.iud,
            ":mov": item.movement_id, ":iuf": item.iuf, ":rec": item.receipt_row, ":day": item.day,
            ":amount": item.amount, ":n": item.n_cents, ":e": item.e_cents, ":et": item.e_total_cents,
            ":r": item.r_cents, ":rt": item.r_total_cents, ":ro": item.r_outcome, ":ti": item.t_iuf_cents,
            ":tv": item.t_iuv_cents, ":tc": item.t_count, ":labels": labels.join(" "), ":poste": item.poste_key,
        })?;
    let id = conn.sqlite().last_insert_rowid();
    let mut stmt = conn.sqlite().prepare_cached(
        "INSERT INTO recon_label (org_id, label, day, item_id, amount_cents) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?;
    for label in labels {
        stmt.execute(params![org_id, label, item.day, id, item.amount])?;
    }
    Ok(id)
}

/// Deletes every row of the org's classification (before a classification from scratch).
pub fn delete_all_items(conn: &Conn, org_id: i64) -> Result<(), StoreError> {
    conn.sqlite().execute("DELETE FROM recon_label WHERE org_id = ?1", [org_id])?;
    conn.sqlite().execute("DELETE FROM recon_item WHERE org_id = ?1", [org_id])?;
    Ok(())
}

pub(super) const ITEM_COLUMNS: &str = "i.id, i.iuv, i.iur, i.transfer_index, i.iud, i.movement_id, i.iuf, i.receipt_id, i.day, \
     i.amount_cents, i.n_cents, i.e_cents, i.e_total_cents, i.r_cents, i.r_total_cents, i.r_outcome, i.t_iuf_cents, \
     i.t_iuv_cents, i.t_count, i.labels, i.poste_key";

pub(super) fn item_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<ItemRecord> {
    let labels: String = row.get(19)?;
    Ok(ItemRecord {
        id: row.get(0)?,
        iuv: row.get(1)?,
        iur: row.get(2)?,
        transfer_index: row.get(3)?,
        iud: row.get(4)?,
        movement_id: row.get(5)?,
        iuf: row.get(6)?,
        receipt_row: row.get(7)?,
        day: row.get(8)?,
        amount: row.get(9)?,
        n_cents: row.get(10)?,
        e_cents: row.get(11)?,
        e_total_cents: row.get(12)?,
        r_cents: row.get(13)?,
        r_total_cents: row.get(14)?,
        r_outcome: row.get(15)?,
        t_iuf_cents: row.get(16)?,
        t_iuv_cents: row.get(17)?,
        t_count: row.get(18)?,
        labels: labels.split(' ').filter_map(Label::from_code).collect(),
        poste_key: row.get(20)?,
    })
}

/// Which rows [`list_items`] gives.
#[derive(Debug, Clone, Copy, Default)]
pub struct ItemSelection<'a> {
    /// Rows with this label, by the label's day; else every row by its day.
    pub label: Option<Label>,
    pub from: Option<Day>,
    pub to: Option<Day>,
    pub limit: u32,
    pub offset: u32,
    /// Only rows of these debt types (codes; see [`item_of_types`]); `None`: every row.
    pub debt_types: Option<&'a [String]>,
}

/// The org's classified rows, with `label` when given and a day within `from..=to` (`YYYY-MM-DD`,
/// inclusive), ordered by day and key, at most `limit` from `offset`.
pub fn list_items(conn: &Conn, org_id: i64, which: &ItemSelection<'_>) -> Result<Vec<ItemRecord>, StoreError> {
    let ItemSelection { label, from, to, limit, offset, debt_types } = *which;
    let from = from.map(|d| d.to_string()).unwrap_or_default();
    let to = to.map(|d| d.to_string()).unwrap_or_else(|| "9999-12-31".to_owned());
    let types = types_json(debt_types);
    let rows = match label {
        Some(label) => {
            let sql = format!(
                "SELECT {ITEM_COLUMNS} FROM recon_label l JOIN recon_item i ON i.id = l.item_id \
                 WHERE l.org_id = ?1 AND l.label = ?2 AND l.day BETWEEN ?3 AND ?4 AND {} \
                 ORDER BY l.day, i.iuv, i.iur, i.transfer_index, i.id LIMIT ?5 OFFSET ?6",
                item_of_types(7)
            );
            conn.sqlite()
                .prepare_cached(&sql)?
                .query_map(params![org_id, label.code(), from, to, limit, offset, types], item_from_row)?
                .collect::<Result<Vec<_>, _>>()?
        }
        None => {
            let sql = format!(
                "SELECT {ITEM_COLUMNS} FROM recon_item i WHERE i.org_id = ?1 AND i.day BETWEEN ?2 AND ?3 \
                 AND {} ORDER BY i.day, i.iuv, i.iur, i.transfer_index, i.id LIMIT ?4 OFFSET ?5",
                item_of_types(6)
            );
            conn.sqlite()
                .prepare_cached(&sql)?
                .query_map(params![org_id, from, to, limit, offset, types], item_from_row)?
                .collect::<Result<Vec<_>, _>>()?
        }
    };
    Ok(rows)
}

/// The debt type (code) of row `i`, ours before the municipality's: its receipt's debt's when the
/// receipt is the org's and pays one of its debts, else the org's debt with its IUD (the live one
/// first), else its notification's (as the municipality filed it), else the same by its IUV; NULL
/// when none (a treasury movement alone, an S row, a reported or paid IUV known to neither).
const ITEM_DEBT_TYPE: &str = "coalesce((SELECT dt.code FROM receipt r JOIN debt d ON d.id = r.debt_id \
     JOIN debt_type dt ON dt.id = d.debt_type_id WHERE r.id = i.receipt_id AND r.org_id = i.org_id AND d.org_id = i.org_id), \
     (SELECT dt.code FROM debt d JOIN debt_type dt ON dt.id = d.debt_type_id WHERE d.org_id = i.org_id AND d.iud = i.iud \
      ORDER BY d.released_id IS NOT NULL LIMIT 1), \
     (SELECT n.debt_type FROM recon_notification n WHERE n.org_id = i.org_id AND n.iud = i.iud), \
     (SELECT dt.code FROM debt d JOIN debt_type dt ON dt.id = d.debt_type_id WHERE d.org_id = i.org_id AND d.iuv = i.iuv \
      ORDER BY d.released_id IS NOT NULL LIMIT 1), \
     (SELECT n.debt_type FROM recon_notification n WHERE n.org_id = i.org_id AND n.iuv = i.iuv ORDER BY n.iud LIMIT 1))";

/// Whether row `i` is of the debt types of parameter `?n` (a JSON array of codes; NULL: every row).
fn item_of_types(n: usize) -> String {
    format!("(?{n} IS NULL OR {ITEM_DEBT_TYPE} IN (SELECT value FROM json_each(?{n})))")
}

/// `debt_types` as the JSON array the queries above read; `None` for every row.
fn types_json(debt_types: Option<&[String]>) -> Option<String> {
    debt_types.map(|codes| serde_json::Value::from(codes.to_vec()).to_string())
}

/// The org's classified row with this id, when it is within `debt_types` (`None`: any row).
pub fn find_item(
    conn: &Conn,
    org_id: i64,
    id: i64,
    debt_types: Option<&[String]>,
) -> Result<Option<ItemRecord>, StoreError> {
    let sql =
        format!("SELECT {ITEM_COLUMNS} FROM recon_item i WHERE i.org_id = ?1 AND i.id = ?2 AND {}", item_of_types(3));
    Ok(conn
        .sqlite()
        .prepare_cached(&sql)?
        .query_row(params![org_id, id, types_json(debt_types)], item_from_row)
        .optional()?)
}

/// What names a classified row from one classification to the next: its id does not last (the
/// rows of an IUV are written again whenever something of that IUV changes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ItemKey {
    /// A treasury movement's own row.
    Movement(i64),
    /// A legacy Poste line's row.
    Poste(String),
    /// A transfer's row: its IUV, and its IUR, transfer index and IUD as far as it has them.
    Transfer { iuv: String, iur: Option<String>, index: Option<i64>, iud: Option<String> },
}

impl ItemKey {
    /// The key of a row; `None` for a row with neither movement, Poste line nor IUV (none is made).
    pub fn of(item: &ItemRecord) -> Option<ItemKey> {
        if let Some(movement) = item.movement_id {
            return Some(ItemKey::Movement(movement));
        }
        if let Some(poste) = &item.poste_key {
            return Some(ItemKey::Poste(poste.clone()));
        }
        item.iuv.as_ref().map(|iuv| ItemKey::Transfer {
            iuv: iuv.clone(),
            iur: item.iur.clone(),
            index: item.transfer_index,
            iud: item.iud.clone(),
        })
    }
}

/// The ids of the org's rows with this key (at most two: one names the row, two say the key is
/// not enough), within `debt_types` (`None`: any row).
pub fn find_item_ids_by_key(
    conn: &Conn,
    org_id: i64,
    key: &ItemKey,
    debt_types: Option<&[String]>,
) -> Result<Vec<i64>, StoreError> {
    use rusqlite::types::Value;
    let text = |v: &Option<String>| v.clone().map_or(Value::Null, Value::Text);
    let (filter, mut values) = match key {
        ItemKey::Movement(movement) => ("i.movement_id = ?2", vec![Value::Integer(*movement)]),
        ItemKey::Poste(poste) => ("i.poste_key = ?2", vec![Value::Text(poste.clone())]),
        ItemKey::Transfer { iuv, iur, index, iud } => (
            "i.iuv = ?2 AND i.movement_id IS NULL AND i.poste_key IS NULL AND i.iur IS ?3 \
             AND i.transfer_index IS ?4 AND i.iud IS ?5",
            vec![Value::Text(iuv.clone()), text(iur), index.map_or(Value::Null, Value::Integer), text(iud)],
        ),
    };
    let sql = format!(
        "SELECT i.id FROM recon_item i WHERE i.org_id = ?1 AND {filter} AND {} LIMIT 2",
        item_of_types(values.len() + 2)
    );
    values.insert(0, Value::Integer(org_id));
    values.push(types_json(debt_types).map_or(Value::Null, Value::Text));
    let ids = conn
        .sqlite()
        .prepare_cached(&sql)?
        .query_map(rusqlite::params_from_iter(values), |row| row.get(0))?
        .collect::<Result<_, _>>()?;
    Ok(ids)
}

/// Whether a row labelled `label` has exactly these keys (absent equals absent only). `iud`,
/// `iuv`, `iuf` are the row's IUD, IUV and IUF; for DOPPI, MyPivot's columns hold the transfer
/// index, the IUV and the IUR instead.
pub fn labelled_element_exists(
    conn: &Conn,
    org_id: i64,
    label: Label,
    iud: Option<&str>,
    iuv: Option<&str>,
    iuf: Option<&str>,
) -> Result<bool, StoreError> {
    let sql = if label == Label::Doppi {
        "SELECT 1 FROM recon_label l JOIN recon_item i ON i.id = l.item_id WHERE l.org_id = ?1 AND l.label = ?2 \
         AND CAST(i.transfer_index AS TEXT) IS ?3 AND i.iuv IS ?4 AND i.iur IS ?5"
    } else {
        "SELECT 1 FROM recon_label l JOIN recon_item i ON i.id = l.item_id WHERE l.org_id = ?1 AND l.label = ?2 \
         AND i.iud IS ?3 AND i.iuv IS ?4 AND i.iuf IS ?5"
    };
    Ok(conn.sqlite().prepare_cached(sql)?.exists(params![org_id, label.code(), iud, iuv, iuf])?)
}

/// Counts and amounts of one label in one month.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelMonth {
    pub label: Label,
    /// `YYYY-MM`.
    pub month: String,
    pub count: i64,
    pub amount: Cents,
}

/// Counts and amounts per label per month of the org's rows with a day within `from..=to`.
pub fn label_months(
    conn: &Conn,
    org_id: i64,
    from: Option<Day>,
    to: Option<Day>,
    debt_types: Option<&[String]>,
) -> Result<Vec<LabelMonth>, StoreError> {
    let from = from.map(|d| d.to_string()).unwrap_or_default();
    let to = to.map(|d| d.to_string()).unwrap_or_else(|| "9999-12-31".to_owned());
    let types = types_json(debt_types);
    let sql = if types.is_some() {
        format!(
            "SELECT l.label, substr(l.day, 1, 7), count(*), sum(l.amount_cents) FROM recon_label l \
             JOIN recon_item i ON i.id = l.item_id WHERE l.org_id = ?1 AND l.day BETWEEN ?2 AND ?3 AND {} \
             GROUP BY l.label, substr(l.day, 1, 7)",
            item_of_types(4)
        )
    } else {
        // Every row: the labels alone, without the per-row debt type.
        "SELECT label, substr(day, 1, 7), count(*), sum(amount_cents) FROM recon_label \
         WHERE org_id = ?1 AND day BETWEEN ?2 AND ?3 AND ?4 IS NULL GROUP BY label, substr(day, 1, 7)"
            .to_owned()
    };
    let rows = conn
        .sqlite()
        .prepare_cached(&sql)?
        .query_map(params![org_id, from, to, types], |row| {
            let code: String = row.get(0)?;
            Ok((code, row.get::<_, String>(1)?, row.get::<_, i64>(2)?, row.get::<_, Cents>(3)?))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    let mut out: Vec<LabelMonth> = rows
        .into_iter()
        .filter_map(|(code, month, count, amount)| {
            Label::from_code(&code).map(|label| LabelMonth { label, month, count, amount })
        })
        .collect();
    out.sort_by(|a, b| a.month.cmp(&b.month).then(a.label.cmp(&b.label)));
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// What changed

/// What a change touched, to classify again: an IUV, a flow's IUF, a movement or a legacy Poste
/// line (its [`poste_key`]).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Dirty {
    Iuv(String),
    Iuf(String),
    Movement(i64),
    Poste(String),
}

/// Notes that `what` changed for the org.
pub fn mark_dirty(conn: &Conn, org_id: i64, what: &Dirty) -> Result<(), StoreError> {
    let (kind, value) = match what {
        Dirty::Iuv(iuv) => ("V", iuv.clone()),
        Dirty::Iuf(iuf) => ("F", iuf.to_uppercase()),
        Dirty::Movement(id) => ("M", id.to_string()),
        Dirty::Poste(key) => ("P", key.clone()),
    };
    conn.sqlite()
        .prepare_cached("INSERT OR IGNORE INTO recon_dirty (org_id, kind, value) VALUES (?1, ?2, ?3)")?
        .execute(params![org_id, kind, value])?;
    Ok(())
}

/// Up to `limit` of the org's changes not yet classified.
pub fn take_dirty(conn: &Conn, org_id: i64, limit: u32) -> Result<Vec<Dirty>, StoreError> {
    let rows = conn
        .sqlite()
        .prepare_cached("SELECT kind, value FROM recon_dirty WHERE org_id = ?1 ORDER BY kind, value LIMIT ?2")?
        .query_map(params![org_id, limit], |row| Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?)))?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows
        .into_iter()
        .filter_map(|(kind, value)| match kind.as_str() {
            "V" => Some(Dirty::Iuv(value)),
            "F" => Some(Dirty::Iuf(value)),
            "M" => value.parse().ok().map(Dirty::Movement),
            "P" => Some(Dirty::Poste(value)),
            _ => None,
        })
        .collect())
}

/// Forgets a change once classified.
pub fn clear_dirty(conn: &Conn, org_id: i64, what: &Dirty) -> Result<(), StoreError> {
    let (kind, value) = match what {
        Dirty::Iuv(iuv) => ("V", iuv.clone()),
        Dirty::Iuf(iuf) => ("F", iuf.clone()),
        Dirty::Movement(id) => ("M", id.to_string()),
        Dirty::Poste(key) => ("P", key.clone()),
    };
    conn.sqlite()
        .prepare_cached("DELETE FROM recon_dirty WHERE org_id = ?1 AND kind = ?2 AND value = ?3")?
        .execute(params![org_id, kind, value])?;
    Ok(())
}

/// The orgs with changes not yet classified.
pub fn orgs_with_dirty(conn: &Conn) -> Result<Vec<i64>, StoreError> {
    let rows = conn
        .sqlite()
        .prepare_cached("SELECT DISTINCT org_id FROM recon_dirty ORDER BY org_id")?
        .query_map([], |row| row.get(0))?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// Marks everything the org's classification rests on as changed (a classification from scratch,
/// or after its flags changed): every IUV of its receipts, of other orgs' receipts with a transfer
/// to it, of its flows and notifications, every movement and legacy Poste line.
pub fn mark_all_dirty(conn: &Conn, org_id: i64) -> Result<(), StoreError> {
    let db = conn.sqlite();
    db.execute("INSERT OR IGNORE INTO recon_dirty (org_id, kind, value) SELECT org_id, 'V', iuv FROM receipt WHERE org_id = ?1", [org_id])?;
    db.execute(
        "INSERT OR IGNORE INTO recon_dirty (org_id, kind, value) SELECT o.id, 'V', r.iuv FROM org o \
         JOIN receipt_transfer t ON t.fiscal_code = o.fiscal_code JOIN receipt r ON r.id = t.receipt_id \
         WHERE o.id = ?1 AND r.org_id <> ?1",
        [org_id],
    )?;
    db.execute(
        &format!(
            "INSERT OR IGNORE INTO recon_dirty (org_id, kind, value) \
             SELECT org_id, 'P', {POSTE_KEY} FROM recon_poste_row WHERE org_id = ?1"
        ),
        [org_id],
    )?;
    db.execute(
        "INSERT OR IGNORE INTO recon_dirty (org_id, kind, value) SELECT f.org_id, 'V', p.iuv FROM reporting_payment p \
         JOIN reporting_flow f ON f.id = p.flow_id WHERE f.org_id = ?1",
        [org_id],
    )?;
    db.execute(
        "INSERT OR IGNORE INTO recon_dirty (org_id, kind, value) SELECT org_id, 'V', iuv FROM recon_notification WHERE org_id = ?1",
        [org_id],
    )?;
    db.execute(
        "INSERT OR IGNORE INTO recon_dirty (org_id, kind, value) SELECT org_id, 'M', id FROM recon_movement WHERE org_id = ?1",
        [org_id],
    )?;
    // Rows whose source is gone are found through the classification itself.
    db.execute(
        "INSERT OR IGNORE INTO recon_dirty (org_id, kind, value) SELECT org_id, 'V', iuv FROM recon_item \
         WHERE org_id = ?1 AND iuv IS NOT NULL AND movement_id IS NULL",
        [org_id],
    )?;
    db.execute(
        "INSERT OR IGNORE INTO recon_dirty (org_id, kind, value) SELECT org_id, 'M', movement_id FROM recon_item \
         WHERE org_id = ?1 AND movement_id IS NOT NULL",
        [org_id],
    )?;
    db.execute(
        "INSERT OR IGNORE INTO recon_dirty (org_id, kind, value) SELECT org_id, 'P', poste_key FROM recon_item \
         WHERE org_id = ?1 AND poste_key IS NOT NULL",
        [org_id],
    )?;
    Ok(())
}
