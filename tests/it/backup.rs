//! `mypay backup` while the server takes writes (receipts through the station, debts from a second
//! writer on the same file), and `mypay restore` of those copies: refused while the server runs,
//! refused for a foreign file, and a consistent database once restored.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use mypay::testing::domain::debt_row::DebtFields;
use mypay::testing::services::debts::{Source, add_debt};

use crate::station::{open_debts, send_rt_req, verify_req};
use crate::support::{Server, data_dir, post_with, run, stderr, stdout};

fn json(out: &std::process::Output) -> serde_json::Value {
    assert!(out.status.success(), "{}", stderr(out));
    serde_json::from_str(&stdout(out)).unwrap()
}

/// The IUDs of the debts the second writer added, in order.
fn bk_iuds(db: &std::path::Path) -> Vec<String> {
    let conn = rusqlite::Connection::open(db).unwrap();
    let mut stmt = conn.prepare("SELECT iud FROM debt WHERE iud LIKE 'BK-%' ORDER BY iud").unwrap();
    stmt.query_map([], |r| r.get(0)).unwrap().collect::<Result<_, _>>().unwrap()
}

#[test]
fn backups_taken_while_serving_are_consistent_and_restore_when_stopped() {
    let (tmp, dir) = data_dir();
    let server = Server::start(&dir, &["demo"]);
    let debts = open_debts(&dir);
    assert!(debts.len() >= 3, "{debts:?}");
    let stop = Arc::new(AtomicBool::new(false));

    // The server's own writes: receipts (debt state, receipt, audit in one transaction) and the
    // journaled audit entries of verifies.
    let station = server.url("/ws/fesp/");
    let (stop_station, receipts) = (Arc::clone(&stop), Arc::new(AtomicUsize::new(0)));
    let paid = Arc::clone(&receipts);
    let station_writer = std::thread::spawn(move || {
        let mut rounds = 0;
        for (i, (_, notice, iuv, cents)) in debts.iter().enumerate() {
            let reply = post_with(
                &station,
                "text/xml",
                send_rt_req(notice, iuv, *cents, &format!("bk{i:030}"), true).as_bytes(),
                &[],
            );
            assert!(reply.body.contains("<outcome>OK</outcome>"), "{}", reply.body);
            paid.fetch_add(1, Ordering::SeqCst);
        }
        while !stop_station.load(Ordering::SeqCst) {
            let (_, notice, _, _) = &debts[rounds % debts.len()];
            assert_eq!(post_with(&station, "text/xml", verify_req(notice).as_bytes(), &[]).status, 200);
            rounds += 1;
        }
    });
    // A second writer on the same file, as `mypay debt add` is while the server runs.
    let (db_path, stop_debts, added) = (dir.join("mypay.db"), Arc::clone(&stop), Arc::new(AtomicUsize::new(0)));
    let counter = Arc::clone(&added);
    let debt_writer = std::thread::spawn(move || {
        let (db, _) = mypay::testing::store::Db::open(&db_path).unwrap();
        let now = mypay::testing::clock::Now::read();
        let mut i = 0;
        while !stop_debts.load(Ordering::SeqCst) {
            let fields = DebtFields {
                iud: format!("BK-{i:05}"),
                debtor_kind: "F".into(),
                debtor_id: "RSSMRA85T10A562S".into(),
                debtor_name: "Mario Rossi".into(),
                amount: "10.00".into(),
                due_date: "2099-12-31".into(),
                debt_type: "TARI".into(),
                causale: "backup test".into(),
                collection_data: "9/0101002IM/".into(),
                generate_iuv: true,
                ..DebtFields::default()
            };
            add_debt(&db, "test", "c_esempio", &fields, Source::Cli, now).unwrap();
            i += 1;
            counter.store(i, Ordering::SeqCst);
        }
    });
    while added.load(Ordering::SeqCst) < 20 || receipts.load(Ordering::SeqCst) < 1 {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }

    let mut copies = Vec::new();
    for n in 0..3 {
        let file = tmp.path().join(format!("backup-{n}.db"));
        let before = added.load(Ordering::SeqCst);
        let shown = json(&run(&dir, &["backup", "--to", file.to_str().unwrap(), "--json"], None));
        let after = added.load(Ordering::SeqCst);
        let in_copy = bk_iuds(&file).len();
        // One instant: at least what was committed before, at most what was committed after.
        assert!((before..=after + 1).contains(&in_copy), "{before} <= {in_copy} <= {after}");
        assert_eq!(shown["schema_version"], mypay::testing::store::SCHEMA_VERSION);
        assert_eq!(shown["orgs"], 1);
        copies.push((file, in_copy));
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    stop.store(true, Ordering::SeqCst);
    station_writer.join().unwrap();
    debt_writer.join().unwrap();
    assert!(copies[2].1 > copies[0].1, "the writer kept writing between backups: {copies:?}");

    // While the server runs, restore refuses and changes nothing.
    let out = run(&dir, &["restore", copies[0].0.to_str().unwrap()], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("stop it first"), "{}", stderr(&out));
    assert!(!dir.join("mypay.db.before-restore").exists());
    let foreign = tmp.path().join("notes.txt");
    std::fs::write(&foreign, "not a database, just some notes for the operator").unwrap();
    let out = run(&tmp.path().join("elsewhere"), &["restore", foreign.to_str().unwrap()], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("is not a mypay database: not an SQLite database"), "{}", stderr(&out));

    let (clean, log) = server.terminate();
    assert!(clean, "{log}");
    let all = bk_iuds(&dir.join("mypay.db")).len();

    for (n, (file, in_copy)) in copies.iter().enumerate() {
        // Each copy restores into a fresh data directory as a whole, consistent database.
        let restored = tmp.path().join(format!("restored-{n}"));
        let shown = json(&run(&restored, &["restore", file.to_str().unwrap(), "--json"], None));
        assert_eq!(shown["previous_database"], serde_json::Value::Null);
        let iuds = bk_iuds(&restored.join("mypay.db"));
        let expected: Vec<String> = (0..*in_copy).map(|i| format!("BK-{i:05}")).collect();
        assert_eq!(iuds, expected, "a copy holds a prefix of the writer's commits, with no gap");
        let conn = rusqlite::Connection::open(restored.join("mypay.db")).unwrap();
        let check: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
        assert_eq!(check, "ok");
        // A receipt and its debt's new state were committed together: never one without the other.
        let unpaid_with_receipt: i64 = conn
            .query_row(
                "SELECT count(*) FROM receipt r JOIN debt d ON d.id = r.debt_id WHERE d.state = 'INSERIMENTO_DOVUTO'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(unpaid_with_receipt, 0);
        let out = run(&restored, &["debt", "show", "--org", "c_esempio", "--iud", "BK-00000", "--json"], None);
        assert!(out.status.success(), "{}", stderr(&out));
    }

    // Stopped, the server's own directory takes the first copy back; the replaced one is kept.
    let shown = json(&run(&dir, &["restore", copies[0].0.to_str().unwrap(), "--json"], None));
    assert_eq!(shown["previous_database"], dir.join("mypay.db.before-restore").display().to_string());
    assert_eq!(bk_iuds(&dir.join("mypay.db")).len(), copies[0].1);
    assert_eq!(bk_iuds(&dir.join("mypay.db.before-restore")).len(), all);
    let server = Server::start(&dir, &["demo"]);
    assert_eq!(crate::support::get(&server.url("/healthz")).status, 200);
    let (clean, log) = server.terminate();
    assert!(clean, "{log}");
}
