//! A debt flow mirrored whole (stub, filled in next).

use super::outbox::{RegionDebts, Step};
use crate::clock::Now;
use crate::services::ServiceError;
use crate::store::Db;
use crate::store::outbox::ChangeRecord;

pub(super) fn send(
    _db: &Db,
    change: &ChangeRecord,
    _region: &dyn RegionDebts,
    _now: Now,
) -> Result<Step, ServiceError> {
    Ok(Step::Overtaken { change_id: change.id })
}
