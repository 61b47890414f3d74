//! IUVs for debts that have none: rows of a 1_0–1_2 flow, or of a 1_3/1_4 flow with
//! `flagGeneraIuv=false`, are stored without one and are not payable until they get it. As MyPay
//! does (reference/mypay.md §6: "Checkout of items without IUV"), the IUV17 and its notice number
//! are drawn from the org's counter when a payment of the debt starts ([`assign_in`], inside the
//! transaction that starts it), or for many debts on request ([`assign_bulk`]).
//!
//! **Invariant:** a debt gets at most one IUV: the update only writes a debt whose IUV is still
//! empty, in the writer's transaction, so two starts never give one debt two IUVs. The import's
//! `_IUV` file and `generate_iuv` flag are untouched: they say what the flow asked for.
//! A mirrored org's IUVs are the Region's ([`OrgScope::mirror`]): none is drawn here for it.

use super::{OrgScope, generate};
use crate::clock::Now;
use crate::domain::{Iuv, NoticeNumber};
use crate::services::ServiceError;
use crate::store::debts::{self, DebtRecord};
use crate::store::{Conn, Db, audit};

/// How many debts one transaction of [`assign_bulk`] gives IUVs to: small enough that the writer
/// is held for milliseconds, as an import's chunks are.
pub const CHUNK: usize = 500;

/// Gives `debt` of the scope's org an IUV17 and notice number when it has none, inside the
/// caller's transaction, and returns the debt as it is now. `actor` signs the audit entry (`None`:
/// the caller writes its own, one per chunk). Refused for a debt that is not payable, and for a
/// mirrored org (the Region assigns its IUVs).
pub(crate) fn assign_in(
    tx: &Conn,
    scope: &OrgScope,
    debt: DebtRecord,
    actor: Option<&str>,
    now: &str,
) -> Result<DebtRecord, ServiceError> {
    if debt.iuv.is_some() {
        return Ok(debt);
    }
    if scope.mirror {
        return Err(ServiceError::Conflict(format!(
            "debt {}: the Region assigns the IUVs of org {}",
            debt.iud, scope.org.ipa_code
        )));
    }
    if !crate::store::debt_options::list_options(tx, debt.id)?.is_empty() {
        // An instalment plan has no IUV of its own by design: each option carries one.
        return Err(ServiceError::Conflict(format!(
            "debt {} is paid through its payment options, each with its own notice number",
            debt.iud
        )));
    }
    if !debt.state.is_payable() {
        return Err(ServiceError::Conflict(format!("debt {} is {}: it cannot be paid", debt.iud, debt.state)));
    }
    let (iuv, notice, counter) = generate(tx, scope)?;
    if !debts::update_debt_region_iuv(tx, debt.id, &iuv, Some(&notice), now)? {
        // Cannot happen inside the writer's transaction that read the debt; if it did, the debt
        // keeps the IUV it has and the value drawn goes back.
        scope.give_back_counter(tx, counter)?;
        return debts::find_debt_by_id(tx, debt.id)?.ok_or_else(|| ServiceError::NotFound(format!("debt {}", debt.id)));
    }
    if let Some(actor) = actor {
        let object = format!("debt:{}/{}", scope.org.ipa_code, debt.iud);
        let after = serde_json::json!({ "iuv": iuv.as_str(), "notice_number": notice.as_str() }).to_string();
        let entry = audit::AuditEntry {
            actor,
            org_id: Some(scope.org.id),
            action: "debt.assign_iuv",
            object: Some(&object),
            outcome: "OK",
            after_json: Some(&after),
            ..Default::default()
        };
        audit::insert_audit(tx, &entry, now)?;
    }
    Ok(with_iuv(debt, iuv, notice, now))
}

fn with_iuv(debt: DebtRecord, iuv: Iuv, notice: NoticeNumber, now: &str) -> DebtRecord {
    DebtRecord {
        iuv: Some(iuv),
        notice_number: Some(notice),
        version: debt.version + 1,
        updated_at: now.to_owned(),
        ..debt
    }
}

/// What [`assign_bulk`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Assigned {
    /// Debts that got an IUV.
    pub debts: usize,
    /// Transactions it took.
    pub chunks: usize,
}

/// Gives every payable debt of org `ipa` without an IUV (of debt flow `import_id` when given) an
/// IUV17, [`CHUNK`] debts per transaction, each chunk with one audit entry; `cancelled` is polled
/// between chunks. Refused for a mirrored org.
pub fn assign_bulk(
    db: &Db,
    actor: &str,
    ipa: &str,
    import_id: Option<i64>,
    cancelled: &dyn Fn() -> bool,
    now: Now,
) -> Result<Assigned, ServiceError> {
    let iso = now.iso();
    let mut done = Assigned::default();
    let mut after = 0;
    loop {
        if cancelled() {
            return Err(ServiceError::Interrupted);
        }
        let (n, last) = db.write(|tx| {
            let scope = OrgScope::load(tx, ipa)?;
            if scope.mirror {
                return Err(ServiceError::Conflict(format!("the Region assigns the IUVs of org {ipa}")));
            }
            let scope = scope.with_counter_block(CHUNK as u64);
            let list = debts::list_debts_without_iuv(tx, scope.org.id, import_id, after, CHUNK)?;
            let last = list.last().map(|d| d.id);
            let n = list.len();
            for debt in list {
                assign_in(tx, &scope, debt, None, &iso)?;
            }
            scope.release_unused_counters(tx)?;
            if n > 0 {
                let object = format!("org:{ipa}");
                let after = serde_json::json!({ "debts": n, "flow": import_id }).to_string();
                let entry = audit::AuditEntry {
                    actor,
                    org_id: Some(scope.org.id),
                    action: "debt.assign_iuv.bulk",
                    object: Some(&object),
                    outcome: "OK",
                    after_json: Some(&after),
                    ..Default::default()
                };
                audit::insert_audit(tx, &entry, &iso)?;
            }
            Ok::<_, ServiceError>((n, last))
        })?;
        if n > 0 {
            done.debts += n;
            done.chunks += 1;
        }
        match last {
            Some(last) if n == CHUNK => after = last,
            _ => return Ok(done),
        }
    }
}

/// Makes debt `debt_id` of the citizen with `fiscal_code` payable: gives it an IUV if it has none
/// (personal area, "Paga") and returns it with its org's fiscal code. Not found unless the debt is
/// the citizen's.
pub fn make_payable_for_citizen(
    db: &Db,
    fiscal_code: &str,
    debt_id: i64,
    now: Now,
) -> Result<(DebtRecord, String), ServiceError> {
    let iso = now.iso();
    db.write(|tx| {
        let debt = debts::find_debt_by_id(tx, debt_id)?
            .filter(|d| d.debtor.id == fiscal_code)
            .ok_or_else(|| ServiceError::NotFound(format!("debt {debt_id}")))?;
        let org = crate::store::orgs::find_org_by_id(tx, debt.org_id)?
            .ok_or_else(|| ServiceError::NotFound(format!("org {}", debt.org_id)))?;
        let scope = OrgScope::load(tx, &org.ipa_code)?;
        let debt = assign_in(tx, &scope, debt, Some("citizen"), &iso)?;
        Ok((debt, org.fiscal_code))
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]
    use super::*;
    use crate::domain::debt_row::DebtFields;
    use crate::services::debts::{Source, add_debt};
    use crate::services::testkit::{IPA, Kit, tari_fields};

    fn iuvless(kit: &Kit, iud: &str) -> DebtRecord {
        let fields = DebtFields { generate_iuv: false, ..tari_fields(iud, 1_000) };
        add_debt(&kit.db, "cli", IPA, &fields, Source::Cli, kit.now).unwrap()
    }

    #[test]
    fn a_debt_gets_one_iuv_once_and_the_citizen_only_their_own() {
        let kit = Kit::new();
        let debt = iuvless(&kit, "D1");
        assert!(debt.iuv.is_none() && debt.notice_number.is_none());
        let (paid, _) = make_payable_for_citizen(&kit.db, &debt.debtor.id, debt.id, kit.now).unwrap();
        let iuv = paid.iuv.clone().unwrap();
        assert_eq!(paid.notice_number.as_ref().unwrap().as_str(), format!("3{}", iuv.as_str()));
        let (again, _) = make_payable_for_citizen(&kit.db, &debt.debtor.id, debt.id, kit.now).unwrap();
        assert_eq!(again.iuv, Some(iuv.clone()), "a second start keeps the first IUV");
        let stored = kit.db.read(|c| debts::find_debt_by_id(c, debt.id)).unwrap().unwrap();
        assert_eq!(stored.iuv, Some(iuv));
        let other = make_payable_for_citizen(&kit.db, "VRDLGU80A01H501U", debt.id, kit.now);
        assert!(matches!(other, Err(ServiceError::NotFound(_))), "{other:?}");
    }

    #[test]
    fn a_plan_of_instalments_gets_no_iuv_of_its_own() {
        let kit = Kit::new();
        let fields = DebtFields { generate_iuv: false, ..tari_fields("PLAN1", 10_000) };
        let plan = crate::domain::payment_options::Plan {
            single: None,
            instalments: ["2030-01-31", "2030-02-28"]
                .iter()
                .map(|d| (crate::domain::Cents::new(5_000), crate::domain::Day::parse(d).unwrap()))
                .collect(),
            reduced: None,
        };
        let plan = crate::services::debts::options::add_debt_with_options(
            &kit.db,
            "cli",
            IPA,
            &fields,
            &plan,
            Source::Cli,
            kit.now,
        )
        .unwrap();
        assert!(plan.iuv.is_none(), "an instalments-only plan has no IUV of its own");
        let refused = make_payable_for_citizen(&kit.db, &plan.debtor.id, plan.id, kit.now);
        assert!(matches!(refused, Err(ServiceError::Conflict(_))), "{refused:?}");
        let bulk = assign_bulk(&kit.db, "cli", IPA, None, &|| false, kit.now).unwrap();
        assert_eq!(bulk.debts, 0, "the bulk assignment leaves plans alone");
    }

    #[test]
    fn bulk_assignment_goes_chunk_by_chunk_and_skips_debts_with_an_iuv() {
        let kit = Kit::new();
        let n = CHUNK + 3;
        for i in 0..n {
            iuvless(&kit, &format!("B{i}"));
        }
        kit.debt("G1", 500);
        let done = assign_bulk(&kit.db, "cli", IPA, None, &|| false, kit.now).unwrap();
        assert_eq!(done, Assigned { debts: n, chunks: 2 });
        assert_eq!(assign_bulk(&kit.db, "cli", IPA, None, &|| false, kit.now).unwrap(), Assigned::default());
        let mut iuvs: Vec<String> = (0..n)
            .map(|i| {
                let d = kit.db.read(|c| debts::find_debt_by_iud(c, 1, &format!("B{i}"))).unwrap().unwrap();
                d.iuv.unwrap().as_str().to_owned()
            })
            .collect();
        iuvs.sort();
        iuvs.dedup();
        assert_eq!(iuvs.len(), n, "every debt its own IUV");
    }

    #[test]
    fn a_mirrored_orgs_iuvs_are_the_regions() {
        let kit = Kit::new();
        let debt = iuvless(&kit, "M1");
        crate::services::upstream::outbox::set_mirrored(&kit.db, "test", IPA, true, kit.now).unwrap();
        let refused = make_payable_for_citizen(&kit.db, &debt.debtor.id, debt.id, kit.now);
        assert!(matches!(refused, Err(ServiceError::Conflict(_))), "{refused:?}");
        let bulk = assign_bulk(&kit.db, "cli", IPA, None, &|| false, kit.now);
        assert!(matches!(bulk, Err(ServiceError::Conflict(_))), "{bulk:?}");
        assert!(kit.db.read(|c| debts::find_debt_by_id(c, debt.id)).unwrap().unwrap().iuv.is_none());
    }
}
