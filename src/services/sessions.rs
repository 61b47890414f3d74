//! Web sessions as the adapters reach them: the live session for a cookie's hash, a new one, its
//! changes, its end. The web layer owns what a session holds (`web::session`); this module keeps
//! it from touching the store.

use crate::clock::Now;
use crate::services::ServiceError;
use crate::store::{Db, sessions};

/// A session as stored: keyed by the SHA-256 of the cookie, never the cookie itself.
pub use crate::store::sessions::SessionRecord;

/// The session with this id hash, unless it expired at `now` (ISO 8601 UTC).
pub fn find_live(db: &Db, id_hash: &str, now: Now) -> Result<Option<SessionRecord>, ServiceError> {
    Ok(db.read(|conn| sessions::find_live_session(conn, id_hash, &now.iso()))?)
}

/// Stores a new session.
pub fn create(db: &Db, record: &SessionRecord) -> Result<(), ServiceError> {
    Ok(db.write(|tx| sessions::insert_session(tx, record))?)
}

/// Writes a session's data, citizen and expiry.
pub fn update(db: &Db, record: &SessionRecord) -> Result<(), ServiceError> {
    Ok(db.write(|tx| sessions::update_session(tx, record))?)
}

/// Ends a session server-side (logout, rotation at login): its cookie is worthless afterwards.
pub fn end(db: &Db, id_hash: &str) -> Result<(), ServiceError> {
    Ok(db.write(|tx| sessions::delete_session(tx, id_hash))?)
}
