//! Personal data through the real binary: `mypay gdpr purge|export`, the journal of a purge, and
//! the back office's privacy pages for an org's admins only.

use crate::backoffice::demo_logged_in;
use crate::support::{data_dir, run, stderr, stdout};

fn json(out: &std::process::Output) -> serde_json::Value {
    assert!(out.status.success(), "stdout: {}\nstderr: {}", stdout(out), stderr(out));
    serde_json::from_str(&stdout(out)).unwrap()
}

/// A database with one org: a command that only reads needs one to exist.
fn with_org(dir: &std::path::Path) {
    let args = [
        "org",
        "add",
        "c_f205",
        "--fiscal-code",
        "01199250158",
        "--name",
        "Comune di Milano",
        "--segregation-code",
        "02",
        "--iban",
        "IT60X0542811101000000123456",
        "--state",
        "ESERCIZIO",
    ];
    let out = run(dir, &args, None);
    assert!(out.status.success(), "{}", stderr(&out));
}

fn count(dir: &std::path::Path, sql: &str) -> i64 {
    let conn = rusqlite::Connection::open(dir.join("mypay.db")).unwrap();
    conn.query_row(sql, [], |r| r.get(0)).unwrap()
}

#[test]
fn purge_dry_run_counts_and_a_purge_is_journaled() {
    let (_tmp, dir) = data_dir();
    with_org(&dir);
    let dry = json(&run(&dir, &["gdpr", "purge", "--dry-run", "--json"], None));
    assert_eq!(dry["dry_run"], true);
    let counts = dry["counts"].as_object().unwrap();
    let names: Vec<&str> = counts.keys().map(String::as_str).collect();
    for name in
        ["open_debts", "annulled_debts", "receipts", "email_pins", "sessions", "journal_payloads", "export_files"]
    {
        assert!(names.contains(&name), "{name} in {names:?}");
    }
    assert!(counts.values().all(|n| n == 0));
    assert_eq!(count(&dir, "SELECT count(*) FROM audit WHERE action = 'gdpr.purge'"), 0, "a dry run records nothing");

    let done = json(&run(&dir, &["gdpr", "purge", "--json"], None));
    assert_eq!(done["dry_run"], false);
    assert_eq!(count(&dir, "SELECT count(*) FROM audit WHERE action = 'gdpr.purge' AND actor = 'cli'"), 1);

    // A retention below a day is refused by key.
    let conf = dir.join("bad.toml");
    std::fs::write(&conf, "[retention]\nsession_days = 0\naccounting_years = 5\n").unwrap();
    let out = run(&dir, &["--config", conf.to_str().unwrap(), "gdpr", "purge", "--dry-run"], None);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("retention.session_days") && err.contains("retention.accounting_years"), "{err}");
}

#[test]
fn a_data_subject_export_is_written_as_json_and_html() {
    let (_tmp, dir) = data_dir();
    with_org(&dir);
    let file = dir.join("mario.json");
    let out = run(&dir, &["gdpr", "export", "--fiscal-code", "RSSMRA85T10A562S", "-o", file.to_str().unwrap()], None);
    assert!(out.status.success(), "{}", stderr(&out));
    let data: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!((data["format"].as_i64(), data["fiscal_code"].as_str()), (Some(1), Some("RSSMRA85T10A562S")));
    assert_eq!(count(&dir, "SELECT count(*) FROM audit WHERE action = 'gdpr.export' AND actor = 'cli'"), 1);
    let html = std::fs::read_to_string(dir.join("mario.html")).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>") && html.contains("I tuoi dati personali"), "{html}");
    let bad = run(&dir, &["gdpr", "export", "--fiscal-code", "X", "-o", file.to_str().unwrap()], None);
    assert_eq!(bad.status.code(), Some(2), "{}", stderr(&bad));
}

#[test]
fn the_back_office_privacy_pages_are_an_org_admins_own() {
    let (_tmp, _dir, _server, mut demo) = demo_logged_in();
    let page = "/operatore/c_esempio/privacy";
    let editor = demo.get(page);
    assert_eq!(editor.status, 200);
    assert!(editor.body.contains("Nessuna informativa dell'ente"), "{}", editor.body);
    assert!(editor.body.contains("id=\"dpo-contact\""));
    let register = demo.get(&format!("{page}/registro")).body;
    assert!(
        register.contains("Registro delle attività di trattamento") && register.contains("class=\"register-activity\"")
    );
    let download = demo.get(&format!("{page}/interessato?cf=RSSMRA85T10A562S&formato=json"));
    assert_eq!(download.status, 200);
    let data: serde_json::Value = serde_json::from_str(&download.body).unwrap();
    assert_eq!(data["org"], "c_esempio");
    // An empty section is refused by name and nothing is published.
    let refused = demo.submit(page, page, &[("controller", "Comune"), ("rights", " ")]);
    assert_eq!(refused.status, 422);
    assert!(refused.body.contains("è vuota o troppo lunga"), "{}", refused.body);
    // Another org's pages are not this admin's.
    assert!(matches!(demo.get("/operatore/c_altro/privacy").status, 403 | 404));
}
