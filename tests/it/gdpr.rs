//! Personal data through the real binary: `mypay gdpr purge|export`, the journal of a purge, and
//! the back office's privacy pages for an org's admins only.

use crate::backoffice::demo_logged_in;
use crate::support::{add_milano, data_dir, run, stderr, stdout};

fn json(out: &std::process::Output) -> serde_json::Value {
    assert!(out.status.success(), "stdout: {}\nstderr: {}", stdout(out), stderr(out));
    serde_json::from_str(&stdout(out)).unwrap()
}

fn count(dir: &std::path::Path, sql: &str) -> i64 {
    let conn = rusqlite::Connection::open(dir.join("mypay.db")).unwrap();
    conn.query_row(sql, [], |r| r.get(0)).unwrap()
}

#[test]
fn purge_dry_run_counts_and_a_purge_is_journaled() {
    let (_tmp, dir) = data_dir();
    add_milano(&dir);
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
    add_milano(&dir);
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

/// An org admin corrects an open debt's debtor contact data on the Privacy page; the change is
/// journaled, and a closed debt or an unknown one is refused with the reason, changing nothing.
#[test]
fn an_org_admin_rectifies_an_open_debts_contact_data_and_is_told_why_not_otherwise() {
    let (_tmp, dir, _server, mut demo) = demo_logged_in();
    let page = "/operatore/c_esempio/privacy";
    let action = format!("{page}/rettifica");
    let debts =
        json(&run(&dir, &["debt", "list", "--org", "c_esempio", "--state", "INSERIMENTO_DOVUTO", "--json"], None));
    let iud = debts.as_array().unwrap()[0]["iud"].as_str().unwrap().to_owned();
    let show = |iud: &str| json(&run(&dir, &["debt", "show", "--org", "c_esempio", "--iud", iud, "--json"], None));
    let before = show(&iud);

    assert_eq!(demo.post(&action, &[("iud", &iud), ("email", "nuova@example.it")]).status, 403, "no CSRF token");
    let fields = [
        ("iud", iud.as_str()),
        ("email", "nuova@example.it"),
        ("address", "Via Nuova"),
        ("civic-number", "3"),
        ("postal-code", "20100"),
        ("city", "Milano"),
        ("province", "mi"),
        ("country", "it"),
    ];
    let done = demo.submit(page, &action, &fields);
    assert_eq!((done.status, done.location.as_deref()), (303, Some(page)));
    assert!(demo.get(page).body.contains(&format!("Recapiti del debitore del dovuto {iud} rettificati.")));
    let after = show(&iud);
    let debtor = &after;
    assert_eq!(
        (&debtor["email"], &debtor["address"], &debtor["city"], &debtor["province"], &debtor["country"]),
        (&"nuova@example.it".into(), &"Via Nuova".into(), &"Milano".into(), &"MI".into(), &"IT".into()),
        "{after}"
    );
    for kept in ["debtor_id", "debtor_name", "amount", "causale", "iuv", "state"] {
        assert_eq!(after[kept], before[kept], "{kept} stays");
    }
    assert_eq!(
        count(&dir, "SELECT count(*) FROM audit WHERE action = 'gdpr.rectify' AND actor = 'operator:demo'"),
        1,
        "journaled"
    );

    // A paid debt (an accounting record): refused with the reason, nothing changed.
    let conn = rusqlite::Connection::open(dir.join("mypay.db")).unwrap();
    conn.execute("UPDATE debt SET state = 'COMPLETATO' WHERE iud = ?1", [&iud]).unwrap();
    let refused = demo.submit(page, &action, &[("iud", iud.as_str()), ("email", "altra@example.it")]);
    assert_eq!(refused.status, 422);
    let body = refused.body.replace("&#39;", "'");
    assert!(
        body.contains(&format!(
            "Rettifica del dovuto {iud} non eseguita: documento contabile soggetto a conservazione per obbligo di \
             legge (art. 17, par. 3, lett. b, GDPR; art. 2220 c.c.)"
        )),
        "{body}"
    );
    assert_eq!(show(&iud)["email"], "nuova@example.it");
    let unknown = demo.submit(page, &action, &[("iud", "NESSUNO"), ("email", "altra@example.it")]);
    assert_eq!(unknown.status, 422);
    assert!(
        unknown.body.contains("Rettifica del dovuto NESSUNO non eseguita: nessun dovuto dell'ente con questo codice"),
        "{}",
        unknown.body
    );
    let bad = demo.submit(page, &action, &[("iud", iud.as_str()), ("email", "non una e-mail")]);
    assert_eq!(bad.status, 422);
    assert_eq!(count(&dir, "SELECT count(*) FROM audit WHERE action = 'gdpr.rectify'"), 1, "refusals change nothing");
}
