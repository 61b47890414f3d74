//! The debts whose notices go in an import's `<name>_AVVISI_PDF.zip`: those of the import that
//! asked for a generated IUV and can still be paid, read in pages by id so that a notices job
//! resumes after the last debt it wrote.
//!
//! The debt table has no index on `import_id` (it would slow every import down); an import's debts
//! sit together in id order, so a page that starts after the last id written reads little else.

use rusqlite::params;

use super::{Conn, StoreError};

const NOTICE_DEBTS: &str = "FROM debt WHERE import_id = ?1 AND id > ?2 AND generate_iuv = 1 \
     AND notice_number IS NOT NULL AND state IN ('INSERIMENTO_DOVUTO', 'PAGAMENTO_INIZIATO')";

/// Up to `limit` of the import's notice debts after debt id `after`, in id order, as `(id, iud)`.
pub fn list_notice_debts(
    conn: &Conn,
    import_id: i64,
    after: i64,
    limit: u32,
) -> Result<Vec<(i64, String)>, StoreError> {
    let sql = format!("SELECT id, iud {NOTICE_DEBTS} ORDER BY id LIMIT ?3");
    let rows = conn
        .sqlite()
        .prepare_cached(&sql)?
        .query_map(params![import_id, after, limit], |row| Ok((row.get(0)?, row.get(1)?)))?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

/// How many of the import's notice debts come after debt id `after`.
pub fn count_notice_debts(conn: &Conn, import_id: i64, after: i64) -> Result<u64, StoreError> {
    let sql = format!("SELECT count(*) {NOTICE_DEBTS}");
    let n: i64 = conn.sqlite().prepare_cached(&sql)?.query_row(params![import_id, after], |row| row.get(0))?;
    Ok(u64::try_from(n).unwrap_or(0))
}
