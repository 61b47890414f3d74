//! Store tests on a real database file: schema, migration bookkeeping and the invariants the schema
//! enforces by itself.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use super::*;
use crate::domain::Party;

fn open_temp() -> (tempfile::TempDir, Db) {
    let dir = tempfile::tempdir().unwrap();
    let (db, applied) = Db::open(&dir.path().join("mypay.db")).unwrap();
    assert_eq!(applied, 1);
    (dir, db)
}

/// The TARI debt type of org `org_id`, as the tests that need one debt insert it.
fn tari(org_id: i64) -> debt_types::DebtTypeRecord {
    debt_types::DebtTypeRecord {
        org_id,
        code: "TARI".to_owned(),
        description: "Tassa rifiuti".to_owned(),
        taxonomy_code: "0101002IM".to_owned(),
        print_due_date: true,
        active: true,
        ..Default::default()
    }
}

fn org(ipa: &str, fiscal_code: &str) -> orgs::OrgRecord {
    orgs::OrgRecord {
        ipa_code: ipa.to_owned(),
        fiscal_code: fiscal_code.to_owned(),
        name: format!("Comune {ipa}"),
        state: crate::domain::OrgState::Production,
        segregation_code: "01".to_owned(),
        generator_id: "00".to_owned(),
        ..Default::default()
    }
}

#[test]
fn reopening_migrates_nothing_and_keeps_data() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mypay.db");
    {
        let (db, applied) = Db::open(&path).unwrap();
        assert_eq!(applied, 1);
        db.write(|tx| orgs::insert_org(tx, &org("c_a001", "00000000000"), "2026-01-01T00:00:00Z")).unwrap();
        db.checkpoint().unwrap();
    }
    let (db, applied) = Db::open(&path).unwrap();
    assert_eq!(applied, 0);
    let listed = db.read(orgs::list_orgs).unwrap();
    assert_eq!(listed.len(), 1);
    let mode: String =
        db.read(|c| Ok::<_, StoreError>(c.sqlite().query_row("PRAGMA journal_mode", [], |r| r.get(0))?)).unwrap();
    assert_eq!(mode, "wal");
}

/// Tables with their columns, indexes and triggers: what must be equal whichever way a database got
/// to the current version.
fn shape(conn: &Connection) -> Vec<String> {
    let mut out = Vec::new();
    let mut stmt = conn
        .prepare("SELECT type, name, tbl_name FROM sqlite_schema WHERE name NOT LIKE 'sqlite_%' ORDER BY type, name")
        .unwrap();
    let objects: Vec<(String, String, String)> =
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).unwrap().collect::<Result<_, _>>().unwrap();
    for (kind, name, table) in objects {
        out.push(format!("{kind} {name} on {table}"));
        if kind == "table" {
            let mut cols = conn.prepare(&format!("PRAGMA table_xinfo({name})")).unwrap();
            let rows: Vec<String> = cols
                .query_map([], |r| {
                    Ok(format!(
                        "  {} {} notnull={} default={:?} pk={}",
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, i64>(3)?,
                        r.get::<_, Option<String>>(4)?,
                        r.get::<_, i64>(5)?
                    ))
                })
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap();
            out.extend(rows);
        }
        if kind == "index" {
            let mut cols = conn.prepare(&format!("PRAGMA index_xinfo({name})")).unwrap();
            let rows: Vec<String> = cols
                .query_map([], |r| Ok(format!("  {:?}", r.get::<_, Option<String>>(2)?)))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap();
            out.extend(rows);
        }
    }
    out
}

#[test]
fn upgrading_a_version_1_database_gives_exactly_schema_sql() {
    let dir = tempfile::tempdir().unwrap();
    let old = dir.path().join("old.db");
    {
        let conn = Connection::open(&old).unwrap();
        conn.execute_batch(migrate::VERSION_1).unwrap();
        conn.pragma_update(None, "user_version", 1).unwrap();
        conn.execute(
            "INSERT INTO org (ipa_code, fiscal_code, name, segregation_code, created_at, updated_at) \
             VALUES ('c_a001', '00000000000', 'A', '01', 't', 't')",
            [],
        )
        .unwrap();
    }
    let (upgraded, applied) = Db::open(&old).unwrap();
    assert_eq!(i64::from(applied), SCHEMA_VERSION - 1, "one step per version after 1");
    let fresh_path = dir.path().join("fresh.db");
    let (fresh, _) = Db::open(&fresh_path).unwrap();
    let old_shape = upgraded.read(|c| Ok::<_, StoreError>(shape(c.sqlite()))).unwrap();
    let new_shape = fresh.read(|c| Ok::<_, StoreError>(shape(c.sqlite()))).unwrap();
    assert_eq!(old_shape.join("\n"), new_shape.join("\n"));
    assert_eq!(upgraded.read(orgs::list_orgs).unwrap().len(), 1, "the upgrade kept the data");
}

#[test]
fn upgrading_keeps_live_identifiers_live_and_released_ones_free() {
    let dir = tempfile::tempdir().unwrap();
    let old = dir.path().join("old.db");
    {
        let conn = Connection::open(&old).unwrap();
        conn.execute_batch(migrate::VERSION_1).unwrap();
        conn.pragma_update(None, "user_version", 1).unwrap();
        conn.execute_batch(
            "INSERT INTO org (id, ipa_code, fiscal_code, name, segregation_code, created_at, updated_at) \
                 VALUES (1, 'c_a001', '00000000000', 'A', '01', 't', 't'); \
             INSERT INTO debt_type (id, org_id, code, description, taxonomy_code, created_at, updated_at) \
                 VALUES (1, 1, 'TARI', 'Tassa rifiuti', '0101002IM', 't', 't'); \
             INSERT INTO debt (id, org_id, debt_type_id, iud, iuv, state, debtor_kind, debtor_id, debtor_name, \
                 amount_cents, causale, collection_data, source, created_at, updated_at) VALUES \
                 (1, 1, 1, 'IUD-1', '01000000000000144', 'ANNULLATO', 'F', 'ANONIMO', 'A', 100, 'x', 'y', 'cli', 't', 't'), \
                 (2, 1, 1, 'IUD-1', '01000000000000245', 'INSERIMENTO_DOVUTO', 'F', 'ANONIMO', 'A', 100, 'x', 'y', 'cli', 't', 't'); \
             INSERT INTO identifier (org_id, kind, value, debt_id, released_at) VALUES \
                 (1, 'IUD', 'IUD-1', 1, 't'), (1, 'IUV', '01000000000000144', 1, 't'), \
                 (1, 'IUD', 'IUD-1', 2, NULL), (1, 'IUV', '01000000000000245', 2, NULL);",
        )
        .unwrap();
    }
    let (db, _) = Db::open(&old).unwrap();
    let live = db.read(|c| debts::find_debt_by_iud(c, 1, "IUD-1")).unwrap().map(|d| d.id);
    assert_eq!(live, Some(2), "the live debt keeps its IUD");
    assert!(db.read(|c| debts::identifier_is_live(c, 1, debts::IdKind::Iuv, "01000000000000245")).unwrap());
    assert!(!db.read(|c| debts::identifier_is_live(c, 1, debts::IdKind::Iuv, "01000000000000144")).unwrap());
    let released: Vec<(i64, i64)> = db
        .read(|c| {
            let mut stmt = c.sqlite().prepare("SELECT id, released_id FROM debt ORDER BY id")?;
            let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?.collect::<Result<_, _>>()?;
            Ok::<_, StoreError>(rows)
        })
        .unwrap();
    assert_eq!(released, [(1, 1), (2, 0)]);
}

#[test]
fn optimize_keeps_index_summaries_but_no_samples() {
    let (_dir, db) = open_temp();
    db.write(|tx| {
        tx.sqlite().execute_batch(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 500) \
             INSERT INTO org (ipa_code, fiscal_code, name, segregation_code, created_at, updated_at) \
             SELECT 'c_' || i, printf('%011d', i), 'Ente ' || i, '01', 't', 't' FROM n; ANALYZE;",
        )?;
        Ok::<_, StoreError>(())
    })
    .unwrap();
    let count = |table: &str| {
        db.read(|c| {
            Ok::<i64, StoreError>(c.sqlite().query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))?)
        })
        .unwrap()
    };
    assert!(count("sqlite_stat4") > 0, "ANALYZE samples the indexes of this build");
    db.optimize().unwrap();
    assert_eq!(count("sqlite_stat4"), 0, "samples make SQLite recompile statements whenever a parameter changes");
    assert!(count("sqlite_stat1") > 0);
}

/// How SQLite runs an INSERT into `debt`: the number of temporary b-trees it opens, and whether a
/// row with an unknown state is refused.
fn debt_insert_plan(conn: &Connection) -> (usize, bool) {
    let insert = "INSERT INTO debt (org_id, debt_type_id, iud, state, debtor_kind, debtor_id, debtor_name, \
                  amount_cents, causale, collection_data, source, created_at, updated_at) \
                  VALUES (1, 1, 'x', ?1, 'F', 'a', 'b', 1, 'c', 'd', 'cli', 't', 't')";
    let mut explain = conn.prepare(&format!("EXPLAIN {insert}")).unwrap();
    let ops: Vec<String> = explain.query_map(["PREDISPOSTO"], |r| r.get(1)).unwrap().collect::<Result<_, _>>().unwrap();
    let ephemeral = ops.iter().filter(|op| *op == "OpenEphemeral").count();
    let refused = matches!(
        conn.execute(insert, ["NON_UNO_STATO"]),
        Err(rusqlite::Error::SqliteFailure(e, _)) if e.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_CHECK
    );
    (ephemeral, refused)
}

#[test]
fn inserting_a_debt_builds_no_temporary_btree_on_fresh_or_upgraded_databases() {
    let dir = tempfile::tempdir().unwrap();
    let old = dir.path().join("old.db");
    {
        let conn = Connection::open(&old).unwrap();
        conn.execute_batch(migrate::VERSION_1).unwrap();
        conn.pragma_update(None, "user_version", 1).unwrap();
    }
    let fresh = dir.path().join("fresh.db");
    for path in [&old, &fresh] {
        drop(Db::open(path).unwrap());
        let (ephemeral, refused) = debt_insert_plan(&Connection::open(path).unwrap());
        assert_eq!(ephemeral, 0, "an IN list in a CHECK costs a temporary b-tree per row");
        assert!(refused, "an unknown state must still be refused");
    }
}

#[test]
fn newer_database_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mypay.db");
    drop(Db::open(&path).unwrap());
    let conn = Connection::open(&path).unwrap();
    conn.pragma_update(None, "user_version", 99).unwrap();
    drop(conn);
    let Err(err) = Db::open(&path) else { panic!("must refuse") };
    let expected = format!("schema version 99, newer than this mypay ({SCHEMA_VERSION})");
    assert!(err.to_string().contains(&expected), "{err}");
}

#[test]
fn live_identifiers_are_unique_per_org() {
    let (_dir, db) = open_temp();
    let now = "2026-01-01T00:00:00Z";
    let (org_a, org_b) = db
        .write(|tx| {
            let a = orgs::insert_org(tx, &org("c_a001", "00000000000"), now)?;
            let b = orgs::insert_org(tx, &org("c_b002", "11111111111"), now)?;
            Ok::<_, StoreError>((a, b))
        })
        .unwrap();
    let debt_type = |org_id| debt_types::DebtTypeRecord {
        org_id,
        code: "TARI".to_owned(),
        description: "Tassa rifiuti".to_owned(),
        taxonomy_code: "0101002IM".to_owned(),
        print_due_date: true,
        active: true,
        max_push_attempts: 20,
        ..Default::default()
    };
    let (type_a, type_b) = db
        .write(|tx| {
            Ok::<_, StoreError>((
                debt_types::insert_debt_type(tx, &debt_type(org_a), now)?,
                debt_types::insert_debt_type(tx, &debt_type(org_b), now)?,
            ))
        })
        .unwrap();
    let debt = |org_id, debt_type_id| debts::DebtRecord {
        org_id,
        debt_type_id,
        iud: "IUD-1".to_owned(),
        iuv: Some(crate::domain::Iuv::parse("01000000000000144").unwrap()),
        state: crate::domain::DebtState::Inserted,
        debtor: Party {
            kind: "F".to_owned(),
            id: "ANONIMO".to_owned(),
            name: "Mario Rossi".to_owned(),
            ..Party::default()
        },
        amount_cents: crate::domain::Cents::new(100),
        payment_kinds: "ALL".to_owned(),
        causale: "x".to_owned(),
        collection_data: "9/0101002IM/".to_owned(),
        source: "cli".to_owned(),
        ..Default::default()
    };
    db.write(|tx| debts::insert_debt(tx, &debt(org_a, type_a), now)).unwrap();
    // The same IUD and IUV in another org is fine.
    db.write(|tx| debts::insert_debt(tx, &debt(org_b, type_b), now)).unwrap();
    // The same IUD again in the first org is not, and nothing of the failed write remains.
    let err = db.write(|tx| debts::insert_debt(tx, &debt(org_a, type_a), now)).unwrap_err();
    assert!(matches!(err, StoreError::Duplicate(_)), "{err:?}");
    assert_eq!(db.read(|c| debts::count_debts(c, org_a)).unwrap(), 1);
    // Once the first debt's identifiers are released (annulment), the IUD and IUV are free again,
    // in that org only.
    let first = db.read(|c| debts::find_debt_by_iud(c, org_a, "IUD-1")).unwrap().unwrap();
    db.write(|tx| debts::release_identifiers(tx, &first)).unwrap();
    assert!(db.read(|c| debts::find_debt_by_iuv(c, org_a, "01000000000000144")).unwrap().is_none());
    assert!(db.read(|c| debts::identifier_is_live(c, org_b, debts::IdKind::Iud, "IUD-1")).unwrap());
    let again = db.write(|tx| debts::insert_debt(tx, &debt(org_a, type_a), now)).unwrap();
    assert_eq!(db.read(|c| debts::find_debt_by_iud(c, org_a, "IUD-1")).unwrap().map(|d| d.id), Some(again));
}

#[test]
fn iuv_counter_only_grows_and_rolls_back_with_its_transaction() {
    let (_dir, db) = open_temp();
    let org_id = db.write(|tx| orgs::insert_org(tx, &org("c_a001", "00000000000"), "t")).unwrap();
    assert_eq!(db.write(|tx| debts::next_iuv_counter(tx, org_id, "00")).unwrap(), 1);
    assert_eq!(db.write(|tx| debts::next_iuv_counter(tx, org_id, "00")).unwrap(), 2);
    let failed: Result<u64, StoreError> = db.write(|tx| {
        debts::next_iuv_counter(tx, org_id, "00")?;
        Err(StoreError::Duplicate("simulated".to_owned()))
    });
    assert!(failed.is_err());
    assert_eq!(db.write(|tx| debts::next_iuv_counter(tx, org_id, "00")).unwrap(), 3);
    assert_eq!(db.write(|tx| debts::next_iuv_counter(tx, org_id, "01")).unwrap(), 1);
}

#[test]
fn audit_is_append_only() {
    let (_dir, db) = open_temp();
    let entry = audit::AuditEntry { actor: "cli", action: "org.add", outcome: "OK", ..Default::default() };
    db.write(|tx| audit::insert_audit(tx, &entry, "2026-01-01T00:00:00Z")).unwrap();
    let err =
        db.write(|tx| Ok::<_, StoreError>(tx.sqlite().execute("UPDATE audit SET outcome = 'KO'", [])?)).unwrap_err();
    assert!(err.to_string().contains("audit is append-only"), "{err}");
    let err = db.write(|tx| Ok::<_, StoreError>(tx.sqlite().execute("DELETE FROM audit", [])?)).unwrap_err();
    assert!(err.to_string().contains("audit is append-only"), "{err}");
}

#[test]
fn counter_blocks_are_reserved_and_the_unused_end_given_back() {
    let (_dir, db) = open_temp();
    let org_id = db.write(|tx| orgs::insert_org(tx, &org("c_a001", "00000000000"), "t")).unwrap();
    db.write(|tx| {
        assert_eq!(debts::reserve_iuv_counters(tx, org_id, "00", 10)?, 1);
        // Three used (1, 2, 3): the other seven go back in the same transaction.
        debts::release_iuv_counters(tx, org_id, "00", 10, 3)?;
        Ok::<_, StoreError>(())
    })
    .unwrap();
    assert_eq!(db.write(|tx| debts::next_iuv_counter(tx, org_id, "00")).unwrap(), 4);
    // A release that no longer matches (someone took more meanwhile) changes nothing.
    db.write(|tx| debts::release_iuv_counters(tx, org_id, "00", 10, 3)).unwrap();
    assert_eq!(db.write(|tx| debts::next_iuv_counter(tx, org_id, "00")).unwrap(), 5);
}

/// The upgrade to version 14 checks every stored successful receipt against its debt: one that paid
/// a different amount or beneficiary is held with an open anomaly naming the differences; a matching
/// one, a failed one and one without a debt are left alone. Flagged receipts become anomalies.
#[test]
fn upgrading_to_14_holds_receipts_that_do_not_match_their_debt() {
    let dir = tempfile::tempdir().unwrap();
    let old = dir.path().join("old.db");
    {
        let store = Conn { sqlite: Connection::open(&old).unwrap(), keys: Arc::new(keys::Keys::for_tests()) };
        let conn = store.sqlite();
        conn.execute_batch(migrate::VERSION_1).unwrap();
        conn.pragma_update(None, "user_version", 1).unwrap();
        migrate::migrate_until(&store, "old.db", 13).unwrap();
        conn.execute_batch(
            "INSERT INTO org (id, ipa_code, fiscal_code, name, segregation_code, created_at, updated_at) \
                 VALUES (1, 'c_a001', '80012345678', 'A', '01', 't', 't'); \
             INSERT INTO debt_type (id, org_id, code, description, taxonomy_code, created_at, updated_at) \
                 VALUES (1, 1, 'TARI', 'Tassa rifiuti', '0101002IM', 't', 't'); \
             INSERT INTO debt (id, org_id, debt_type_id, iud, iuv, state, debtor_kind, debtor_id, debtor_name, \
                 amount_cents, causale, collection_data, source, created_at, updated_at) VALUES \
                 (1, 1, 1, 'IUD-1', '01000000000000144', 'COMPLETATO', 'F', 'ANONIMO', 'A', 2000, 'x', 'y', 'cli', 't', 't'), \
                 (2, 1, 1, 'IUD-2', '01000000000000245', 'COMPLETATO', 'F', 'ANONIMO', 'A', 2000, 'x', 'y', 'cli', 't', 't');",
        )
        .unwrap();
        let receipt = |id: i64, debt: Option<i64>, iuv: &str, outcome: &str, cents: i64, flag: &str| {
            conn.execute(
                &format!(
                    "INSERT INTO receipt (id, org_id, debt_id, receipt_id, notice_number, iuv, outcome, amount_cents, \
                     description, company_name, debtor_kind, debtor_id, debtor_name, psp_id, psp_company_name, \
                     channel_id, channel_description, payment_date, primitive, flag, received_at) VALUES \
                     (?1, 1, ?2, ?3, '3' || ?4, ?4, ?5, ?6, 'd', 'A', 'F', 'ANONIMO', 'A', 'PSP', 'PSP', 'C', 'C', \
                     '2026-11-30', 'paSendRTV2', {flag}, '2026-11-30T10:00:00Z')"
                ),
                rusqlite::params![id, debt, format!("R{id}"), iuv, outcome, cents],
            )
            .unwrap();
            conn.execute(
                "INSERT INTO receipt_transfer (receipt_id, transfer_index, amount_cents, fiscal_code, remittance, \
                 category) VALUES (?1, 1, ?2, '80012345678', 'r', 'c')",
                rusqlite::params![id, cents],
            )
            .unwrap();
        };
        receipt(1, Some(1), "01000000000000144", "OK", 2000, "NULL");
        receipt(2, Some(2), "01000000000000245", "OK", 1, "NULL");
        receipt(3, Some(2), "01000000000000245", "KO", 1, "'ESITO_KO'");
        receipt(4, None, "01000000000000999", "OK", 1, "'DOVUTO_SCONOSCIUTO'");
    }
    let (db, applied) = Db::open(&old).unwrap();
    assert_eq!(i64::from(applied), SCHEMA_VERSION - 13);
    let held: Vec<(i64, bool)> = db
        .read(|c| {
            let mut stmt = c.sqlite().prepare("SELECT id, held FROM receipt ORDER BY id")?;
            let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?.collect::<Result<_, _>>()?;
            Ok::<_, StoreError>(rows)
        })
        .unwrap();
    assert_eq!(held, vec![(1, false), (2, true), (3, false), (4, false)]);
    let open = db.read(|c| anomalies::list_anomalies(c, 1, anomalies::AnomalyState::Open, 10)).unwrap();
    let kinds: Vec<(&str, i64)> = open.iter().map(|a| (a.kind.as_str(), a.object_id)).collect();
    assert_eq!(kinds, vec![("RICEVUTA_DIFFORME", 2), ("DOVUTO_SCONOSCIUTO", 4)]);
    let found = anomalies::decode_receipt_details(&open[0].details);
    use crate::domain::Cents;
    use crate::domain::payment_terms::Discrepancy;
    assert!(found.contains(&Discrepancy::Amount { expected: Cents::new(2000), received: Cents::new(1) }), "{found:?}");
    // The debt keeps its state: the anomaly tells the operator how it was paid.
    let state = db.read(|c| debts::find_debt_by_id(c, 2)).unwrap().unwrap().state;
    assert_eq!(state, crate::domain::DebtState::Paid);
}

/// The upgrade to version 20 widens `reporting_flow.source` to the Region's flows, keeping the
/// stored flows and their rows (which point at them).
#[test]
fn upgrading_to_20_accepts_flows_from_the_region() {
    let dir = tempfile::tempdir().unwrap();
    let old = dir.path().join("old.db");
    let insert = |conn: &Connection, id: i64, source: &str| {
        conn.execute(
            "INSERT INTO reporting_flow (id, org_id, iuf, psp_id, state, source, fetched_at) \
             VALUES (?1, 1, 'IUF-' || ?1, 'PSP', 'ACQUISITO', ?2, '2026-12-01T10:00:00Z')",
            rusqlite::params![id, source],
        )
    };
    {
        let store = Conn { sqlite: Connection::open(&old).unwrap(), keys: Arc::new(keys::Keys::for_tests()) };
        let conn = store.sqlite();
        conn.execute_batch(migrate::VERSION_1).unwrap();
        conn.pragma_update(None, "user_version", 1).unwrap();
        // Before the key file (17), so that the upgraded database opens with a key made for it.
        migrate::migrate_until(&store, "old.db", 16).unwrap();
        conn.execute_batch(
            "INSERT INTO org (id, ipa_code, fiscal_code, name, segregation_code, created_at, updated_at) \
             VALUES (1, 'c_a001', '80012345678', 'A', '01', 't', 't')",
        )
        .unwrap();
        insert(conn, 1, "SOAP").unwrap();
        conn.execute(
            "INSERT INTO reporting_payment (flow_id, row_index, iuv, iur, amount_cents, outcome_code, outcome_date) \
             VALUES (1, 1, '01000000000000144', 'IUR', 100, '0', '2026-11-30')",
            [],
        )
        .unwrap();
        assert!(insert(conn, 2, "REGION").is_err(), "before version 20, no Region");
    }
    let (db, applied) = Db::open(&old).unwrap();
    assert_eq!(i64::from(applied), SCHEMA_VERSION - 16);
    db.write(|c| Ok::<_, StoreError>(insert(c.sqlite(), 2, "REGION")?)).unwrap();
    assert!(db.write(|c| Ok::<_, StoreError>(insert(c.sqlite(), 3, "ALTRO")?)).is_err());
    let flow = db.read(|c| reporting::find_flow(c, 1, 1)).unwrap().unwrap();
    assert_eq!((flow.source.as_str(), flow.payments.len()), ("SOAP", 1));
}

/// Writes `state` (bound through its `ToSql`) into row `id` of `table` and returns the text stored.
fn store_state(db: &Db, table: &str, id: i64, state: &dyn rusqlite::types::ToSql) -> String {
    db.write(|c| {
        c.sqlite().execute(&format!("UPDATE {table} SET state = ?2 WHERE id = ?1"), rusqlite::params![id, state])?;
        Ok::<_, StoreError>(
            c.sqlite().query_row(&format!("SELECT state FROM {table} WHERE id = ?1"), [id], |r| r.get(0))?,
        )
    })
    .unwrap()
}

#[test]
fn every_state_of_every_record_is_stored_as_its_code_and_reads_back() {
    use crate::domain::{CartState, DebtState, ExportState, ImportState, OrgState};
    let (_dir, db) = open_temp();
    let now = "2026-01-01T00:00:00Z";
    let (org_id, debt_id) = db
        .write(|tx| {
            let org_id = orgs::insert_org(tx, &org("c_a001", "00000000000"), now)?;
            let debt_type_id = debt_types::insert_debt_type(tx, &tari(org_id), now)?;
            let debt = debts::DebtRecord {
                org_id,
                debt_type_id,
                iud: "IUD-1".to_owned(),
                debtor: Party {
                    kind: "F".to_owned(),
                    id: "ANONIMO".to_owned(),
                    name: "Mario Rossi".to_owned(),
                    ..Party::default()
                },
                amount_cents: crate::domain::Cents::new(100),
                payment_kinds: "ALL".to_owned(),
                causale: "x".to_owned(),
                collection_data: "9/0101002IM/".to_owned(),
                source: "cli".to_owned(),
                ..Default::default()
            };
            Ok::<_, StoreError>((org_id, debts::insert_debt(tx, &debt, now)?))
        })
        .unwrap();

    for state in OrgState::ALL {
        assert_eq!(store_state(&db, "org", org_id, &state), state.code());
        assert_eq!(db.read(|c| orgs::find_org_by_id(c, org_id)).unwrap().unwrap().state, state);
    }
    for state in DebtState::ALL {
        db.write(|tx| debts::update_debt_state(tx, debt_id, state, now)).unwrap();
        let stored: String = db
            .read(|c| Ok::<_, StoreError>(c.sqlite().query_row("SELECT state FROM debt", [], |r| r.get(0))?))
            .unwrap();
        assert_eq!(stored, state.code());
        assert_eq!(db.read(|c| debts::find_debt_by_id(c, debt_id)).unwrap().unwrap().state, state);
    }

    let import = imports::ImportRecord {
        org_id,
        file_name: "c_a001-FLUSSO-1_4.zip".to_owned(),
        uploader: "cli".to_owned(),
        stored_file: "imports/1.zip".to_owned(),
        sha256: "00".to_owned(),
        ..Default::default()
    };
    let import_id = db.write(|tx| imports::insert_import(tx, &import, now)).unwrap();
    assert_eq!(db.read(|c| imports::find_import(c, import_id)).unwrap().unwrap().state, ImportState::Queued);
    for state in ImportState::ALL {
        assert_eq!(store_state(&db, "debt_import", import_id, &state), state.code());
        assert_eq!(db.read(|c| imports::find_import(c, import_id)).unwrap().unwrap().state, state);
    }

    let export = exports::ExportRecord {
        org_id,
        kind: "RT".to_owned(),
        version: "1.3".to_owned(),
        date_from: "2026-01-01".to_owned(),
        date_to: "2026-01-31".to_owned(),
        requested_by: "cli".to_owned(),
        ..Default::default()
    };
    let export_id = db.write(|tx| exports::insert_export(tx, &export, now)).unwrap();
    assert_eq!(db.read(|c| exports::find_export_by_id(c, export_id)).unwrap().unwrap().state, ExportState::Queued);
    for state in ExportState::ALL {
        db.write(|tx| exports::update_export_state(tx, export_id, state, None, None, None, None)).unwrap();
        assert_eq!(store_state(&db, "export", export_id, &state), state.code());
        assert_eq!(db.read(|c| exports::find_export_by_id(c, export_id)).unwrap().unwrap().state, state);
    }

    let cart = carts::CartRecord {
        token: "t".to_owned(),
        session_hash: "s".to_owned(),
        total_cents: crate::domain::Cents::new(100),
        ..Default::default()
    };
    let cart_id = db.write(|tx| carts::insert_cart(tx, &cart, now)).unwrap();
    for state in CartState::ALL {
        db.write(|tx| carts::update_cart_state(tx, cart_id, state, None, now)).unwrap();
        assert_eq!(store_state(&db, "cart", cart_id, &state), state.code());
        assert_eq!(db.read(|c| carts::find_cart_by_id(c, cart_id)).unwrap().unwrap().state, state);
    }

    let job_id = db.write(|tx| jobs::insert_job(tx, "export", "{}", now)).unwrap();
    assert_eq!(db.read(|c| jobs::find_job(c, job_id)).unwrap().unwrap().state, jobs::JobState::Queued);
    for state in jobs::JobState::ALL {
        assert_eq!(store_state(&db, "job", job_id, &state), state.code());
        assert_eq!(db.read(|c| jobs::find_job(c, job_id)).unwrap().unwrap().state, state);
    }

    db.write(|tx| mail::insert_mail(tx, "a@example.org", "s", "b", now)).unwrap();
    let mail_id = db.read(|c| mail::list_recent_mails(c, 1)).unwrap()[0].id;
    for state in mail::MailState::ALL {
        assert_eq!(store_state(&db, "mail_outbox", mail_id, &state), state.code());
        assert_eq!(db.read(|c| mail::list_recent_mails(c, 1)).unwrap()[0].state, state);
    }

    let receipt_id = db
        .write(|c| {
            c.sqlite().execute(
                "INSERT INTO receipt (org_id, debt_id, receipt_id, notice_number, iuv, outcome, amount_cents, \
                 description, company_name, debtor_kind, debtor_id, debtor_name, psp_id, psp_company_name, \
                 channel_id, channel_description, payment_date, primitive, received_at) VALUES \
                 (?1, ?2, 'R1', '301000000000000144', '01000000000000144', 'OK', 100, 'd', 'A', 'F', 'ANONIMO', \
                 'A', 'PSP', 'PSP', 'C', 'C', '2026-01-01', 'paSendRTV2', ?3)",
                rusqlite::params![org_id, debt_id, now],
            )?;
            Ok::<_, StoreError>(c.sqlite().last_insert_rowid())
        })
        .unwrap();
    let push_id = db.write(|tx| pushes::insert_push(tx, org_id, receipt_id, 3, now)).unwrap();
    assert_eq!(db.read(|c| pushes::find_push(c, push_id)).unwrap().unwrap().state, pushes::PushState::Pending);
    for state in pushes::PushState::ALL {
        db.write(|tx| pushes::update_push_attempt(tx, push_id, state, None, now)).unwrap();
        assert_eq!(store_state(&db, "outcome_push", push_id, &state), state.code());
        assert_eq!(db.read(|c| pushes::find_push(c, push_id)).unwrap().unwrap().state, state);
    }

    let new = anomalies::NewAnomaly {
        org_id,
        kind: anomalies::RECEIPT_MISMATCH,
        object_kind: "receipt",
        object_id: receipt_id,
        details: "[]",
    };
    db.write(|tx| anomalies::insert_anomaly(tx, &new, now)).unwrap();
    let anomaly_id = db.read(|c| anomalies::list_anomalies_of(c, "receipt", receipt_id)).unwrap()[0].id;
    for state in anomalies::AnomalyState::ALL {
        assert_eq!(store_state(&db, "anomaly", anomaly_id, &state), state.code());
        assert_eq!(db.read(|c| anomalies::find_anomaly(c, org_id, anomaly_id)).unwrap().unwrap().state, state);
        assert_eq!(db.read(|c| anomalies::list_anomalies(c, org_id, state, 10)).unwrap().len(), 1);
    }

    for (n, state) in reporting::ReportingFlowState::ALL.into_iter().enumerate() {
        let flow = reporting::ReportingFlowRecord {
            org_id,
            iuf: format!("IUF-{n}"),
            revision: 1,
            psp_id: "PSP".to_owned(),
            state,
            source: "REST".to_owned(),
            ..Default::default()
        };
        let flow_id = db.write(|tx| reporting::insert_flow(tx, &flow, now)).unwrap();
        assert_eq!(store_state(&db, "reporting_flow", flow_id, &state), state.code());
        let flows = db.read(|c| reporting::list_flows(c, org_id)).unwrap();
        assert_eq!(flows.iter().find(|f| f.id == flow_id).unwrap().state, state);
    }
}

#[test]
fn a_stored_state_no_enum_knows_is_corrupt_not_a_panic() {
    let (_dir, db) = open_temp();
    let now = "2026-01-01T00:00:00Z";
    let org_id = db.write(|tx| orgs::insert_org(tx, &org("c_a001", "00000000000"), now)).unwrap();
    // The schema's CHECK refuses such a value: only a file edited by hand (checks off) has one.
    db.write(|c| {
        c.sqlite().pragma_update(None, "ignore_check_constraints", true)?;
        c.sqlite().execute("UPDATE org SET state = 'ATTIVO' WHERE id = ?1", [org_id])?;
        c.sqlite().pragma_update(None, "ignore_check_constraints", false)?;
        Ok::<_, StoreError>(())
    })
    .unwrap();
    let err = db.read(|c| orgs::find_org_by_id(c, org_id)).unwrap_err();
    assert!(
        matches!(&err, StoreError::Corrupt { column: "org.state", reason } if reason == "unknown code \"ATTIVO\""),
        "{err:?}"
    );
    assert_eq!(err.to_string(), "corrupt value in org.state: unknown code \"ATTIVO\"");
    assert!(matches!(db.read(orgs::list_orgs), Err(StoreError::Corrupt { column: "org.state", .. })));
}

#[test]
fn money_and_identifiers_keep_their_stored_form_and_a_bad_identifier_is_corrupt() {
    use crate::domain::{Cents, NoticeNumber};
    let (_dir, db) = open_temp();
    let now = "2026-01-01T00:00:00Z";
    let notice = NoticeNumber::parse("301000000000000144").unwrap();
    let debt_id = db
        .write(|tx| {
            let org_id = orgs::insert_org(tx, &org("c_a001", "00000000000"), now)?;
            let debt_type_id = debt_types::insert_debt_type(tx, &tari(org_id), now)?;
            let debt = debts::DebtRecord {
                org_id,
                debt_type_id,
                iud: "IUD-1".to_owned(),
                iuv: Some(crate::domain::Iuv::parse("01000000000000144").unwrap()),
                notice_number: Some(notice.clone()),
                debtor: Party {
                    kind: "F".to_owned(),
                    id: "ANONIMO".to_owned(),
                    name: "Mario Rossi".to_owned(),
                    ..Party::default()
                },
                amount_cents: Cents::new(102_099),
                fee_cents: Some(Cents::new(150)),
                payment_kinds: "ALL".to_owned(),
                causale: "x".to_owned(),
                collection_data: "9/0101002IM/".to_owned(),
                source: "cli".to_owned(),
                ..Default::default()
            };
            debts::insert_debt(tx, &debt, now)
        })
        .unwrap();
    let stored: (i64, Option<i64>, Option<i64>, String) = db
        .read(|c| {
            Ok::<_, StoreError>(c.sqlite().query_row(
                "SELECT amount_cents, fee_cents, mb_amount_cents, notice_number FROM debt",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )?)
        })
        .unwrap();
    assert_eq!(stored, (102_099, Some(150), None, "301000000000000144".to_owned()));
    let read = db.read(|c| debts::find_debt_by_id(c, debt_id)).unwrap().unwrap();
    assert_eq!(
        (read.amount_cents, read.fee_cents, read.mb_amount_cents),
        (Cents::new(102_099), Some(Cents::new(150)), None)
    );
    assert_eq!(read.notice_number, Some(notice));
    assert_eq!(read.iuv.as_ref().map(crate::domain::Iuv::as_str), Some("01000000000000144"));

    db.write(|c| Ok::<_, StoreError>(c.sqlite().execute("UPDATE debt SET notice_number = '301000000000000145'", [])?))
        .unwrap();
    let err = db.read(|c| debts::find_debt_by_id(c, debt_id)).unwrap_err();
    assert!(matches!(&err, StoreError::Corrupt { column: "notice_number", .. }), "{err:?}");

    db.write(|c| {
        Ok::<_, StoreError>(c.sqlite().execute("UPDATE debt SET notice_number = NULL, iuv = '01-000000000000144'", [])?)
    })
    .unwrap();
    let err = db.read(|c| debts::find_debt_by_id(c, debt_id)).unwrap_err();
    assert!(matches!(&err, StoreError::Corrupt { column: "iuv", .. }), "{err:?}");
}

#[test]
fn the_store_own_states_round_trip_their_codes_and_refuse_unknown_ones() {
    use anomalies::AnomalyState;
    use jobs::JobState;
    use mail::MailState;
    use pushes::PushState;
    use reporting::ReportingFlowState;

    let jobs = [
        (JobState::Queued, "queued"),
        (JobState::Running, "running"),
        (JobState::Done, "done"),
        (JobState::Failed, "failed"),
    ];
    assert_eq!(jobs.len(), JobState::ALL.len());
    for (state, code) in jobs {
        assert_eq!((state.code(), JobState::from_code(code)), (code, Some(state)));
    }
    let mails = [(MailState::ToSend, "DA_INVIARE"), (MailState::Sent, "INVIATA"), (MailState::Failed, "FALLITA")];
    assert_eq!(mails.len(), MailState::ALL.len());
    for (state, code) in mails {
        assert_eq!((state.code(), MailState::from_code(code)), (code, Some(state)));
    }
    let pushes = [(PushState::Pending, "pending"), (PushState::Sent, "sent"), (PushState::Failed, "failed")];
    assert_eq!(pushes.len(), PushState::ALL.len());
    for (state, code) in pushes {
        assert_eq!((state.code(), PushState::from_code(code)), (code, Some(state)));
    }
    let flows = [(ReportingFlowState::Acquired, "ACQUISITO"), (ReportingFlowState::Refused, "RIFIUTATO")];
    assert_eq!(flows.len(), ReportingFlowState::ALL.len());
    for (state, code) in flows {
        assert_eq!((state.code(), ReportingFlowState::from_code(code)), (code, Some(state)));
    }
    let anomalies = [(AnomalyState::Open, "open"), (AnomalyState::Resolved, "resolved")];
    assert_eq!(anomalies.len(), AnomalyState::ALL.len());
    for (state, code) in anomalies {
        assert_eq!((state.code(), AnomalyState::from_code(code)), (code, Some(state)));
    }
    // Codes are exact: another case, spaces or another machine's code are not states.
    for unknown in ["", "QUEUED", "queued ", "pending", "DA_INVIARE"] {
        assert_eq!(JobState::from_code(unknown), None, "{unknown:?}");
    }
    for unknown in ["", "da_inviare", "INVIATO", "sent"] {
        assert_eq!(MailState::from_code(unknown), None, "{unknown:?}");
    }
    for unknown in ["", "PENDING", "queued", "done"] {
        assert_eq!(PushState::from_code(unknown), None, "{unknown:?}");
    }
    for unknown in ["", "acquisito", "ACQUISITA", "RIFIUTATA"] {
        assert_eq!(ReportingFlowState::from_code(unknown), None, "{unknown:?}");
    }
    for unknown in ["", "OPEN", "closed", "accepted"] {
        assert_eq!(AnomalyState::from_code(unknown), None, "{unknown:?}");
    }
    // A new record starts in the state its INSERT writes.
    assert_eq!(
        (JobState::default(), MailState::default(), PushState::default(), AnomalyState::default()),
        (JobState::Queued, MailState::ToSend, PushState::Pending, AnomalyState::Open)
    );
}

/// The database and its backups hold secrets and every debtor's data: only their owner reads them
/// (the hardening issue found both world-readable). An older, looser file is tightened at open.
#[test]
fn the_database_and_its_backups_are_private_to_their_owner() {
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mypay.db");
    let (db, _) = Db::open(&path).unwrap();
    db.write(|tx| orgs::insert_org(tx, &org("c_a001", "00000000000"), "2026-01-01T00:00:00Z")).unwrap();
    assert_eq!(mode(&path), 0o600);
    assert_eq!(mode(&dir.path().join("mypay.db-wal")), 0o600, "SQLite gives the WAL the database's mode");
    let backup = dir.path().join("backup.db");
    backup::backup_to(&path, &backup).unwrap();
    assert_eq!(mode(&backup), 0o600);
    drop(db);
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    drop(Db::open(&path).unwrap());
    assert_eq!(mode(&path), 0o600);
}

/// A database of version 15 at `path`, holding `hmac_key` as its installation key (in hex, as
/// mypay kept it) and org 1 with a push target whose secret is `secret`, in clear.
pub(crate) fn version_15_database(path: &std::path::Path, hmac_key: &str, secret: &str) {
    let store = Conn { sqlite: Connection::open(path).unwrap(), keys: Arc::new(keys::Keys::for_tests()) };
    let conn = store.sqlite();
    conn.execute_batch(migrate::VERSION_1).unwrap();
    conn.pragma_update(None, "user_version", 1).unwrap();
    migrate::migrate_until(&store, "old.db", 15).unwrap();
    conn.execute_batch(
        "INSERT INTO org (id, ipa_code, fiscal_code, name, segregation_code, created_at, updated_at) VALUES \
             (1, 'c_a001', '80012345678', 'A', '01', 't', 't'), (2, 'c_b002', '80012345679', 'B', '01', 't', 't'); \
         INSERT INTO org_push (org_id, url, retry_seconds, updated_at) VALUES \
             (2, 'https://b.example/esiti', 60, 't');",
    )
    .unwrap();
    conn.execute(
        "INSERT INTO org_push (org_id, url, secret, retry_seconds, updated_at) VALUES (1, 'https://a.example/esiti', ?1, 60, 't')",
        [secret],
    )
    .unwrap();
    conn.execute("INSERT INTO setting (key, value, created_at) VALUES ('hmac_key', ?1, 't')", [hmac_key]).unwrap();
}

/// Whether `needle` occurs in the database file or its WAL.
fn in_files(db: &std::path::Path, needle: &[u8]) -> bool {
    let mut wal = db.as_os_str().to_owned();
    wal.push("-wal");
    [db.to_owned(), std::path::PathBuf::from(wal)]
        .iter()
        .filter_map(|p| std::fs::read(p).ok())
        .any(|bytes| bytes.windows(needle.len()).any(|w| w == needle))
}

fn mode(path: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// The upgrade to sealed secrets (`migrate::SEALED_SINCE`) takes the key out of the database: the
/// key an older mypay kept in its `setting` table becomes the key file (0600), so the links and
/// tokens it signed keep verifying, and the push secrets it kept in clear are sealed. Afterwards the
/// file holds neither.
#[test]
fn upgrading_to_sealed_secrets_moves_the_key_to_the_key_file_and_seals_push_secrets() {
    use crate::services::links::Links;
    const KEY: &[u8; 32] = b"0123456789abcdef0123456789abcdef";
    let secret = "UFVTSC1TRUNSRVQtb2YtYy1hMDAxLW5ldmVyLWluLWNsZWFyLWluLXRoZS1kYXRhYmFzZS1maWxlLS0tLS0tLS0tLQ==";
    let dir = tempfile::tempdir().unwrap();
    let old = dir.path().join("mypay.db");
    let hex: String = KEY.iter().map(|b| format!("{b:02x}")).collect();
    version_15_database(&old, &hex, secret);
    assert!(in_files(&old, secret.as_bytes()), "the test's premise: version 15 kept it in clear");

    // What the earlier installation signed and handed out: a mailed receipt link, a SIL token.
    let now = crate::clock::Now::at("2026-11-30T10:00:00Z".parse().unwrap());
    let earlier = Links::with_key(KEY);
    let url = earlier.receipt_url(42, now);
    let firma = url.split_once("firma=").unwrap().1.to_owned();
    let token = earlier.sil_request_token("export", 7, 42);

    let (db, applied) = Db::open(&old).unwrap();
    assert_eq!(i64::from(applied), SCHEMA_VERSION - 15);
    let key_file = dir.path().join("mypay.key");
    assert_eq!(std::fs::read(&key_file).unwrap(), KEY, "the database's key, moved to the key file");
    assert_eq!(mode(&key_file), 0o600);
    let links = Links::load(&db);
    assert!(links.verify_receipt(42, &firma, now), "a link signed before the upgrade verifies after it");
    assert_eq!(links.read_sil_request_token("export", 7, &token), Some(42));

    assert_eq!(db.read(|c| pushes::find_push_secret(c, 1)).unwrap().as_deref(), Some(secret));
    assert_eq!(db.read(|c| pushes::find_push_secret(c, 2)).unwrap(), None);
    assert!(db.read(|c| pushes::find_push_target(c, 1)).unwrap().unwrap().signed);
    let (settings, stored): (Vec<String>, String) = db
        .read(|c| {
            let mut stmt = c.sqlite().prepare("SELECT key FROM setting ORDER BY key")?;
            let keys = stmt.query_map([], |r| r.get(0))?.collect::<Result<_, _>>()?;
            let stored = c.sqlite().query_row("SELECT secret FROM org_push WHERE org_id = 1", [], |r| r.get(0))?;
            Ok::<_, StoreError>((keys, stored))
        })
        .unwrap();
    assert_eq!(settings, ["key_id"], "no key left in the database");
    assert!(stored.starts_with("v1:"), "{stored}");
    db.checkpoint().unwrap();
    drop(db);
    for needle in [secret.as_bytes(), hex.as_bytes(), KEY] {
        assert!(!in_files(&old, needle), "{} found in the database file", String::from_utf8_lossy(needle));
    }

    let (db, applied) = Db::open(&old).unwrap();
    assert_eq!(applied, 0);
    assert_eq!(db.read(|c| pushes::find_push_secret(c, 1)).unwrap().as_deref(), Some(secret));
}

/// A database whose secrets are sealed opens with its own key file only: a missing one is never
/// replaced by a new key, a wrong one and one readable by others are refused by name, and a sealed
/// value moved to another row does not open (a clear error, the target still readable).
#[test]
fn a_sealed_database_opens_with_its_own_key_file_only() {
    use std::os::unix::fs::PermissionsExt;
    let (dir, db) = open_temp();
    let path = dir.path().join("mypay.db");
    let key_file = dir.path().join("mypay.key");
    assert_eq!(mode(&key_file), 0o600, "made at the first open");
    let now = "2026-01-01T00:00:00Z";
    let (a, b) = db
        .write(|tx| {
            let a = orgs::insert_org(tx, &org("c_a001", "80012345678"), now)?;
            let b = orgs::insert_org(tx, &org("c_b002", "80012345679"), now)?;
            for id in [a, b] {
                let target = pushes::PushTargetRecord {
                    org_id: id,
                    url: "https://x.example/".to_owned(),
                    retry_seconds: 60,
                    ..Default::default()
                };
                pushes::update_push_target(tx, &target, now)?;
            }
            pushes::update_push_secret(tx, a, Some("the-secret-of-a"), now)?;
            Ok::<_, StoreError>((a, b))
        })
        .unwrap();
    db.checkpoint().unwrap();
    assert!(!in_files(&path, b"the-secret-of-a"));
    // Moved to another row (by hand, or by someone who can write the file but has no key).
    db.write(|tx| {
        tx.sqlite().execute(
            "UPDATE org_push SET secret = (SELECT secret FROM org_push WHERE org_id = ?1) WHERE org_id = ?2",
            [a, b],
        )?;
        Ok::<_, StoreError>(())
    })
    .unwrap();
    let err = db.read(|c| pushes::find_push_secret(c, b)).unwrap_err().to_string();
    assert!(err.contains("org_push.secret") && err.contains("does not open"), "{err}");
    assert!(db.read(|c| pushes::find_push_target(c, b)).unwrap().unwrap().signed);
    assert_eq!(db.read(|c| pushes::find_push_secret(c, a)).unwrap().as_deref(), Some("the-secret-of-a"));
    drop(db);

    let saved = std::fs::read(&key_file).unwrap();
    std::fs::remove_file(&key_file).unwrap();
    let Err(err) = Db::open(&path) else { panic!("opened without its key file") };
    assert!(matches!(err, StoreError::KeyMissing { .. }), "{err}");
    assert!(err.to_string().contains(&key_file.display().to_string()), "{err}");
    assert!(!key_file.exists(), "no new key for a sealed database");

    std::fs::write(&key_file, [9u8; 32]).unwrap();
    std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o600)).unwrap();
    let Err(err) = Db::open(&path) else { panic!("opened with another key file") };
    assert!(matches!(err, StoreError::WrongKey { .. }), "{err}");

    std::fs::write(&key_file, &saved).unwrap();
    std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let Err(err) = Db::open(&path) else { panic!("opened with a key file others may read") };
    assert!(err.to_string().contains("mode 0644"), "{err}");

    std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o600)).unwrap();
    let (db, _) = Db::open(&path).unwrap();
    assert_eq!(db.read(|c| pushes::find_push_secret(c, a)).unwrap().as_deref(), Some("the-secret-of-a"));
}

/// An older database beside a key file holding another key (one of another database) is refused
/// rather than upgraded with a key its links were not signed with; alone it upgrades.
#[test]
fn an_older_database_with_its_own_key_refuses_another_key_file() {
    let dir = tempfile::tempdir().unwrap();
    let old = dir.path().join("mypay.db");
    version_15_database(&old, &"ab".repeat(32), "s");
    let key_file = dir.path().join("mypay.key");
    let other = tempfile::tempdir().unwrap();
    drop(Db::open(&other.path().join("mypay.db")).unwrap());
    std::fs::copy(other.path().join("mypay.key"), &key_file).unwrap();
    let Err(err) = Db::open(&old) else { panic!("upgraded with another key") };
    assert!(matches!(err, StoreError::KeyConflict { .. }), "{err}");
    std::fs::remove_file(&key_file).unwrap();
    let (db, _) = Db::open(&old).unwrap();
    assert_eq!(db.signing_key(), [0xab; 32]);
}

/// Another process in a long write transaction (an import), as SQLite sees it.
fn hold_writer(path: &std::path::Path) -> Connection {
    let other = Connection::open(path).unwrap();
    other.execute_batch("BEGIN IMMEDIATE; UPDATE org SET name = name;").unwrap();
    other
}

#[test]
fn a_read_only_database_answers_while_another_process_writes_and_never_writes() {
    let (dir, db) = open_temp();
    db.write(|tx| orgs::insert_org(tx, &org("c_a001", "00000000000"), "t")).unwrap();
    let path = dir.path().join("mypay.db");
    let other = hold_writer(&path);
    // The server's open neither waits for the writer nor fails: optimize is left for later.
    let (_server, applied) = Db::open(&path).unwrap();
    assert_eq!(applied, 0);
    let reader = Db::open_read_only(&path).unwrap();
    assert!(reader.is_read_only());
    assert_eq!(reader.read(orgs::list_orgs).unwrap().len(), 1);
    reader.optimize().unwrap();
    assert!(matches!(reader.write(|_| Ok::<_, StoreError>(())), Err(StoreError::ReadOnly)));
    other.execute_batch("COMMIT").unwrap();
}

#[test]
fn read_only_refuses_a_missing_or_older_database_and_leaves_it_as_it_is() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("none.db");
    assert!(matches!(Db::open_read_only(&missing), Err(StoreError::Missing { .. })));
    assert!(!missing.exists(), "a read creates nothing");
    let old = dir.path().join("old.db");
    {
        let conn = Connection::open(&old).unwrap();
        conn.execute_batch(migrate::VERSION_1).unwrap();
        conn.pragma_update(None, "user_version", 1).unwrap();
    }
    let err = Db::open_read_only(&old).err().unwrap();
    assert!(matches!(err, StoreError::NeedsUpgrade { found: 1, .. }));
    assert!(err.to_string().contains("upgrade it first"), "{err}");
    let version: i64 = Connection::open(&old).unwrap().query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
    assert_eq!(version, 1);
}

#[test]
fn a_patient_writer_waits_for_another_process_and_says_so() {
    let (dir, db) = open_temp();
    drop(db);
    let path = dir.path().join("mypay.db");
    let other = hold_writer(&path);
    let (told, wait_seen) = std::sync::mpsc::channel();
    let told = std::sync::Mutex::new(told);
    let (db, _) = Db::open_patient(
        &path,
        Box::new(move |waited| {
            let _ = told.lock().unwrap().send(waited);
            true
        }),
    )
    .unwrap();
    // The other process commits once the wait has been reported, not before.
    let release = std::thread::spawn(move || {
        wait_seen.recv().unwrap();
        other.execute_batch("COMMIT").unwrap();
    });
    db.write(|tx| orgs::insert_org(tx, &org("c_a001", "00000000000"), "t")).unwrap();
    release.join().unwrap();
    assert_eq!(db.read(orgs::list_orgs).unwrap().len(), 1);

    // Patience that runs out gives up instead of waiting for ever.
    let _other = hold_writer(&path);
    let (impatient, _) = Db::open_patient(&path, Box::new(|_| false)).unwrap();
    let refused = impatient.write(|tx| orgs::insert_org(tx, &org("c_a002", "00000000001"), "t"));
    assert!(matches!(refused, Err(StoreError::GaveUpWaiting)));
}

/// The upgrade to version 25 gives every org the adhesion mode matching what it uses — `ente` with
/// a SIL password, a live API token or a push target; `flussi` with a debt flow; `base` otherwise —
/// journals it, and keeps of the functionality codes only PAGAMENTO_SPONTANEO, journaling the rest.
#[test]
fn upgrading_to_25_gives_each_org_the_mode_it_uses() {
    let dir = tempfile::tempdir().unwrap();
    let old = dir.path().join("old.db");
    {
        let store = Conn { sqlite: Connection::open(&old).unwrap(), keys: Arc::new(keys::Keys::for_tests()) };
        let conn = store.sqlite();
        conn.execute_batch(migrate::VERSION_1).unwrap();
        conn.pragma_update(None, "user_version", 1).unwrap();
        // Before the key file (version 17), so that opening makes one; the columns used are older.
        migrate::migrate_until(&store, "old.db", 16).unwrap();
        conn.execute_batch(
            "INSERT INTO org (id, ipa_code, fiscal_code, name, segregation_code, created_at, updated_at, sil_password_hash) VALUES \
                 (1, 'c_sil', '00000000001', 'A', '01', 't', 't', '$argon2id$x'), \
                 (2, 'c_api', '00000000002', 'B', '01', 't', 't', NULL), \
                 (3, 'c_push', '00000000003', 'C', '01', 't', 't', NULL), \
                 (4, 'c_flussi', '00000000004', 'D', '01', 't', 't', NULL), \
                 (5, 'c_base', '00000000005', 'E', '01', 't', 't', NULL), \
                 (6, 'c_revoked', '00000000006', 'F', '01', 't', 't', NULL); \
             INSERT INTO api_token (org_id, token_hash, label, created_at, revoked_at) VALUES \
                 (2, 'h1', 'gestionale', 't', NULL), (6, 'h2', 'vecchio', 't', 't'); \
             INSERT INTO org_push (org_id, url, updated_at) VALUES (3, 'https://sil.example/esiti', 't'); \
             INSERT INTO debt_import (org_id, file_name, state, uploader, stored_file, size_bytes, sha256, created_at) \
                 VALUES (4, 'c_flussi-1-1_4.zip', 'IMPORT_ESEGUITO', 'cli', 'imports/x.zip', 1, 'ab', 't'), \
                        (1, 'c_sil-1-1_4.zip', 'IMPORT_ESEGUITO', 'cli', 'imports/y.zip', 1, 'ab', 't'); \
             INSERT INTO org_functionality (org_id, code, active) VALUES \
                 (5, 'PAGAMENTO_SPONTANEO', 1), (5, 'AVVISO_DIGITALE', 1), (5, 'ENTE_PUBBLICO', 1), \
                 (3, 'INOLTRO_ESITO_PAGAMENTO_PUSH', 1), (4, 'NOTIFICA_AVVISI_IO', 0);",
        )
        .unwrap();
    }
    let (db, applied) = Db::open(&old).unwrap();
    assert_eq!(i64::from(applied), SCHEMA_VERSION - 16);
    let modes: Vec<(String, String, String)> = db
        .read(|c| {
            let mut stmt = c.sqlite().prepare(
                "SELECT o.ipa_code, a.mode, a.changed_by FROM org_adhesion a JOIN org o ON o.id = a.org_id ORDER BY o.id",
            )?;
            let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?.collect::<Result<_, _>>()?;
            Ok::<_, StoreError>(rows)
        })
        .unwrap();
    let expected = [
        ("c_sil", "ente"),
        ("c_api", "ente"),
        ("c_push", "ente"),
        ("c_flussi", "flussi"),
        ("c_base", "base"),
        ("c_revoked", "base"),
    ];
    assert_eq!(
        modes.iter().map(|(ipa, mode, by)| (ipa.as_str(), mode.as_str(), by.as_str())).collect::<Vec<_>>(),
        expected.iter().map(|(ipa, mode)| (*ipa, *mode, "upgrade")).collect::<Vec<_>>()
    );
    let journal: Vec<(String, String, String)> = db
        .read(|c| {
            let mut stmt = c
                .sqlite()
                .prepare("SELECT actor, object, after_json FROM audit WHERE action = 'org.adhesion' ORDER BY org_id")?;
            let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?.collect::<Result<_, _>>()?;
            Ok::<_, StoreError>(rows)
        })
        .unwrap();
    assert_eq!(journal.len(), 6);
    for ((actor, object, after), (ipa, mode)) in journal.iter().zip(expected) {
        assert_eq!((actor.as_str(), object.as_str()), ("upgrade", format!("org:{ipa}").as_str()));
        let after: serde_json::Value = serde_json::from_str(after).unwrap();
        assert_eq!(after["mode"], mode, "{after}");
    }
    let dropped =
        |i: usize| serde_json::from_str::<serde_json::Value>(&journal[i].2).unwrap()["functionalities_dropped"].clone();
    assert_eq!(dropped(4), serde_json::json!(["AVVISO_DIGITALE", "ENTE_PUBBLICO"]));
    assert_eq!(dropped(2), serde_json::json!(["INOLTRO_ESITO_PAGAMENTO_PUSH"]));
    assert_eq!(dropped(3), serde_json::json!([]), "an inactive code is not journaled");
    let base = db.read(|c| orgs::find_org_by_ipa(c, "c_base")).unwrap().unwrap();
    assert_eq!(base.functionalities, vec!["PAGAMENTO_SPONTANEO".to_owned()]);
    let left: i64 = db
        .read(|c| {
            Ok::<_, StoreError>(c.sqlite().query_row("SELECT count(*) FROM org_functionality", [], |r| r.get(0))?)
        })
        .unwrap();
    assert_eq!(left, 1);
}
