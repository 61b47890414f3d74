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

/// The key file travels with the backup: `mypay backup` writes it beside the copy (0600), `mypay
/// restore` installs it; a copy kept apart from its key restores only with `--key`, and without it
/// is refused by name before anything changes. A data directory whose key file is gone is refused
/// at start rather than given a new key.
#[test]
fn the_key_file_goes_with_the_backup_and_a_restore_without_it_is_refused() {
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    let (tmp, dir) = data_dir();
    crate::support::add_milano(&dir);
    let secret = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, [7u8; 64]);
    let out = run(
        &dir,
        &["org", "set", "c_f205", "--push-url", "https://sil.example/esiti", "--push-secret-stdin"],
        Some(&secret),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(mode(&dir.join("mypay.key")), 0o600);

    let copy = tmp.path().join("mypay-2026-11-30.db");
    let out = run(&dir, &["backup", "--to", copy.to_str().unwrap()], None);
    assert!(out.status.success(), "{}", stderr(&out));
    let key = tmp.path().join("mypay-2026-11-30.db.key");
    assert!(stdout(&out).contains(&key.display().to_string()), "{}", stdout(&out));
    assert_eq!(mode(&key), 0o600);
    assert_eq!(std::fs::read(&key).unwrap(), std::fs::read(dir.join("mypay.key")).unwrap());
    let bare = tmp.path().join("bare.db");
    let shown = json(&run(&dir, &["backup", "--to", bare.to_str().unwrap(), "--without-key", "--json"], None));
    assert_eq!(shown["key_file"], serde_json::Value::Null);
    assert!(!tmp.path().join("bare.db.key").exists());

    // Elsewhere: with the key beside it, the copy restores and its secret still signs.
    let restored = tmp.path().join("restored");
    let shown = json(&run(&restored, &["restore", copy.to_str().unwrap(), "--json"], None));
    assert_eq!(shown["key_source"], "backup");
    assert_eq!(shown["key_file"], restored.join("mypay.key").display().to_string());
    let pushes = json(&run(&restored, &["org", "pushes", "c_f205", "--json"], None));
    assert_eq!(pushes["target"]["signed"], true);

    // Without it: refused, naming the file to give, and nothing written.
    let elsewhere = tmp.path().join("elsewhere");
    let out = run(&elsewhere, &["restore", bare.to_str().unwrap()], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("bare.db.key") && stderr(&out).contains("--key"), "{}", stderr(&out));
    assert!(!elsewhere.join("mypay.db").exists() && !elsewhere.join("mypay.key").exists());
    let shown =
        json(&run(&elsewhere, &["restore", bare.to_str().unwrap(), "--key", key.to_str().unwrap(), "--json"], None));
    assert_eq!(shown["key_source"], "backup");

    // A key lost for good: the copy restores without the secrets sealed with it.
    let lost = tmp.path().join("lost");
    let shown = json(&run(&lost, &["restore", bare.to_str().unwrap(), "--forget-secrets", "--json"], None));
    assert_eq!(shown["key_source"], "new");
    assert_eq!(shown["push_targets_removed"], serde_json::json!(["c_f205"]));
    let pushes = json(&run(&lost, &["org", "pushes", "c_f205", "--json"], None));
    assert_eq!(pushes["target"], serde_json::Value::Null);
    assert_ne!(std::fs::read(lost.join("mypay.key")).unwrap(), std::fs::read(&key).unwrap());

    // A data directory that lost its key file is refused at start, by name, and gets no new key.
    std::fs::remove_file(elsewhere.join("mypay.key")).unwrap();
    let out = run(&elsewhere, &["org", "list"], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("mypay.key, which is missing"), "{}", stderr(&out));
    assert!(!elsewhere.join("mypay.key").exists());
}
