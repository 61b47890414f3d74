//! Schema versioning with `PRAGMA user_version`.
//!
//! A fresh database gets `schema.sql` (the current schema) in one transaction. An older one gets the
//! numbered files of `migrations/` in order, each in its own transaction together with the new
//! version number, so a crash leaves the database at some whole version. A database newer than this
//! binary is refused rather than guessed at. Applied migrations are never edited. Every open has
//! the key file's keys (`keys`) before it upgrades: a new database records the key's id, and the
//! step to [`SEALED_SINCE`] seals what an older one kept in clear. Each step takes the write lock
//! when it begins (`BEGIN IMMEDIATE`), so a busy database refuses it before any work and a patient
//! caller can try again; checking the version only reads.

use rusqlite::TransactionBehavior;

use super::{Conn, StoreError};

/// The schema version this binary writes.
pub const SCHEMA_VERSION: i64 = 37;

/// The version from which a database keeps no key, seals its secrets with the key file (`keys`)
/// and records the key's id.
pub(super) const SEALED_SINCE: i64 = 17;

/// The current schema, for new databases.
const SCHEMA: &str = include_str!("../../schema.sql");

/// Upgrades from version N-1 to N, for N = 2, 3, ... (index 0 upgrades 1 → 2).
const MIGRATIONS: &[&str] = &[
    include_str!("migrations/0002_receipts_reporting.sql"),
    include_str!("migrations/0003_portal.sql"),
    include_str!("migrations/0004_notice_language.sql"),
    include_str!("migrations/0005_import.sql"),
    include_str!("migrations/0006_debt_checks.sql"),
    include_str!("migrations/0007_push_api.sql"),
    include_str!("migrations/0008_debt_search.sql"),
    include_str!("migrations/0009_sil.sql"),
    include_str!("migrations/0010_external_payment.sql"),
    include_str!("migrations/0011_live_identifiers.sql"),
    include_str!("migrations/0012_privacy_notice.sql"),
    include_str!("migrations/0013_live_identifiers_on_debt.sql"),
    include_str!("migrations/0014_anomalies.sql"),
    include_str!("migrations/0015_job_lease.sql"),
    include_str!("migrations/0016_flow_versions.sql"),
    include_str!("migrations/0017_sealed_secrets.sql"),
    include_str!("migrations/0018_job_progress.sql"),
    include_str!("migrations/0019_upstream_outbox.sql"),
    include_str!("migrations/0020_region_flows.sql"),
    include_str!("migrations/0021_upstream.sql"),
    include_str!("migrations/0022_upstream_payments.sql"),
    include_str!("migrations/0023_upstream_poll.sql"),
    include_str!("migrations/0024_partial_iuv_index.sql"),
    include_str!("migrations/0025_gdpr.sql"),
    include_str!("migrations/0026_adhesion.sql"),
    include_str!("migrations/0027_upstream_gaps.sql"),
    include_str!("migrations/0028_accertamenti.sql"),
    include_str!("migrations/0029_payment_options.sql"),
    include_str!("migrations/0030_receipt_recovery.sql"),
    include_str!("migrations/0031_reconciliation.sql"),
    include_str!("migrations/0032_recon_export.sql"),
    include_str!("migrations/0033_recon_inputs.sql"),
    include_str!("migrations/0034_pivot_sil.sql"),
    include_str!("migrations/0035_recon_upload_error_it.sql"),
    include_str!("migrations/0036_accertamenti_auto.sql"),
    include_str!("migrations/0037_recon_movement_details.sql"),
];

/// The version whose upgrade gives every stored org its adhesion mode (`adhesion`).
pub(super) const ADHESION_SINCE: i64 = 26;

/// The schema as version 1 shipped it, kept so a test can check that upgrading gives exactly
/// `schema.sql`.
#[cfg(test)]
pub(super) const VERSION_1: &str = include_str!("migrations/0001_initial.sql");

/// Brings the database to [`SCHEMA_VERSION`]; returns the number of steps applied (0 when it was
/// already current).
pub(super) fn migrate(conn: &Conn, path: &str) -> Result<u32, StoreError> {
    migrate_until(conn, path, SCHEMA_VERSION)
}

/// The schema version of the database (`PRAGMA user_version`; 0 for a new file).
pub(super) fn user_version(conn: &Conn) -> Result<i64, StoreError> {
    Ok(conn.sqlite().query_row("PRAGMA user_version", [], |row| row.get(0))?)
}

/// Brings a database of version 1 or more to `target` (tests build older versions with it).
pub(super) fn migrate_until(conn: &Conn, path: &str, target: i64) -> Result<u32, StoreError> {
    let found = user_version(conn)?;
    if found > SCHEMA_VERSION {
        return Err(StoreError::TooNew { path: path.to_owned(), found, supported: SCHEMA_VERSION });
    }
    if found < 0 {
        return Err(StoreError::UnknownVersion { path: path.to_owned(), found });
    }
    if found == 0 {
        let has_tables: i64 =
            conn.sqlite().query_row("SELECT count(*) FROM sqlite_schema WHERE type = 'table'", [], |row| row.get(0))?;
        if has_tables > 0 {
            return Err(StoreError::UnknownVersion { path: path.to_owned(), found });
        }
        let tx = conn.begin(TransactionBehavior::Immediate)?;
        // Another process may have made it meanwhile.
        if user_version(conn)? != 0 {
            tx.finish()?;
            return migrate_until(conn, path, target);
        }
        tx.execute_batch(SCHEMA)?;
        super::keys::record_id(conn, &crate::clock::Now::read().iso())?;
        tx.pragma_update(None, "user_version", SCHEMA_VERSION)?;
        tx.commit()?;
        return Ok(1);
    }
    let mut applied = 0;
    for version in found..target {
        let index =
            usize::try_from(version - 1).map_err(|_| StoreError::UnknownVersion { path: path.to_owned(), found })?;
        let Some(step) = MIGRATIONS.get(index) else {
            return Err(StoreError::UnknownVersion { path: path.to_owned(), found });
        };
        let tx = conn.begin(TransactionBehavior::Immediate)?;
        // Another process may have upgraded it while this one waited for the lock.
        if user_version(conn)? != version {
            tx.finish()?;
            return migrate_until(conn, path, target).map(|n| n + applied);
        }
        tx.execute_batch(step)?;
        after_step(conn, version + 1)?;
        // A step may rewrite stored table definitions with writable_schema (0006); bumping the
        // schema cookie makes every connection parse them again, as SQLite's procedure asks.
        let cookie: i64 = tx.query_row("PRAGMA schema_version", [], |row| row.get(0))?;
        tx.pragma_update(None, "schema_version", cookie + 1)?;
        tx.pragma_update(None, "user_version", version + 1)?;
        tx.commit()?;
        applied += 1;
    }
    Ok(applied)
}

/// The part of an upgrade that SQL cannot say, run in the step's transaction after its file.
fn after_step(tx: &Conn, version: i64) -> Result<(), StoreError> {
    if version == 14 {
        let held = super::receipts::recheck_all(tx, &crate::clock::Now::read().iso())?;
        if held > 0 {
            tracing::warn!(held, "upgrade: receipts that do not match their debt are held for review");
        }
    }
    if version == ADHESION_SINCE {
        let now = crate::clock::Now::read();
        let moved = super::adhesion::adopt_modes(tx, &now.iso(), now.today())?;
        tracing::info!(orgs = moved, "upgrade: each org has the adhesion mode matching what it uses");
    }
    if version == SEALED_SINCE {
        let sealed = super::pushes::seal_clear_secrets(tx)?;
        super::keys::record_id(tx, &crate::clock::Now::read().iso())?;
        tracing::info!(
            sealed,
            key = tx.keys().id(),
            "upgrade: the installation key is in the key file, secrets sealed"
        );
    }
    Ok(())
}
