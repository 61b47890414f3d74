//! The operators' back office over HTTP: login and lockout, a debt flow uploaded through the page
//! and its results, a receipt export requested and downloaded, the isolation between orgs, and an
//! operator session's end (idle expiry, logout).

use std::io::Write;

use crate::portal::{Browser, csrf};
use crate::support::{Server, data_dir, post, run};

pub fn demo_password(server: &Server) -> String {
    let line = server.banner.iter().find(|l| l.contains("operator login")).unwrap();
    line.split("password ").nth(1).unwrap().split_whitespace().next().unwrap().to_owned()
}

/// A demo installation with its org admin `demo` logged in (the directory, its server, the browser).
pub fn demo_logged_in() -> (tempfile::TempDir, std::path::PathBuf, Server, Browser) {
    let (tmp, dir) = data_dir();
    let server = Server::start(&dir, &["demo"]);
    let mut demo = Browser::new(&server.base);
    assert_eq!(login(&mut demo, "demo", &demo_password(&server)).status, 303);
    (tmp, dir, server, demo)
}

pub fn login(browser: &mut Browser, username: &str, password: &str) -> crate::portal::Page {
    browser.submit("/operatore/accedi", "/operatore/accedi", &[("username", username), ("password", password)])
}

/// The header line of layout 1_4.
pub fn flow_zip_header() -> &'static str {
    "IUD;codIuv;tipoIdentificativoUnivoco;codiceIdentificativoUnivoco;anagraficaPagatore;indirizzoPagatore;civicoPagatore;capPagatore;localitaPagatore;provinciaPagatore;nazionePagatore;emailPagatore;dataScadenzaPagamento;importoDovuto;commissioneCaricoPa;tipoDovuto;tipoVersamento;causaleVersamento;datiSpecificiRiscossione;bilancio;flagGeneraIuv;flagMultiBeneficiario;codiceFiscaleEnteSecondario;denominazioneEnteSecondario;ibanAccreditoEnteSecondario;indirizzoEnteSecondario;civicoEnteSecondario;capEnteSecondario;localitaEnteSecondario;provinciaEnteSecondario;nazioneEnteSecondario;datiSpecificiRiscossioneEnteSecondario;causaleVersamentoEnteSecondario;importoVersamentoEnteSecondario;azione"
}

pub fn flow_zip(name: &str, rows: &[String]) -> Vec<u8> {
    let header = flow_zip_header();
    let mut csv = format!("{header}\n");
    for row in rows {
        csv.push_str(row);
        csv.push('\n');
    }
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    zip.start_file(format!("{name}.csv"), zip::write::SimpleFileOptions::default()).unwrap();
    zip.write_all(csv.as_bytes()).unwrap();
    zip.finish().unwrap().into_inner()
}

pub fn row(iud: &str, amount: &str) -> String {
    format!(
        "{iud};;F;RSSMRA85T10A562S;Mario Rossi;Via Roma;1;20100;Milano;MI;IT;;2099-12-31;{amount};;TARI;;TARI 2099;9/0101002IM/;;true;false;;;;;;;;;;;;;I"
    )
}

pub fn wait_for(browser: &mut Browser, path: &str, text: &str) -> String {
    for _ in 0..100 {
        let page = browser.get(path);
        if page.body.contains(text) {
            return page.body;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    panic!("{path} never showed {text:?}");
}

#[test]
fn upload_a_flow_and_export_receipts_through_the_pages() {
    let (_tmp, dir) = data_dir();
    let server = Server::start(&dir, &["demo"]);
    let password = demo_password(&server);
    let mut browser = Browser::new(&server.base);

    // Not logged in: sent to the login page.
    assert_eq!(browser.get("/operatore/c_esempio/flussi").location.as_deref(), Some("/operatore/accedi"));
    let refused = login(&mut browser, "demo", "wrong password");
    assert_eq!(refused.status, 401);
    assert!(refused.body.contains("Nome utente o password non corretti."));
    let page = login(&mut browser, "demo", &password);
    assert_eq!((page.status, page.location.as_deref()), (303, Some("/operatore")));
    assert!(browser.get("/operatore").body.contains("Comune di Esempio"));

    // A flow through the upload form; the job runner applies it and makes its notices.
    let form = browser.get("/operatore/c_esempio/flussi");
    let token = csrf(&form.body);
    let zip = flow_zip("c_esempio-WEB001-1_4", &[row("WEB-1", "10.00"), row("WEB-2", "12.00"), row("000BAD", "1.00")]);
    let page = browser.post_multipart(
        &format!("/operatore/c_esempio/flussi?csrf={token}"),
        &[],
        ("file", "c_esempio-WEB001-1_4.zip", &zip),
    );
    assert_eq!(page.status, 303);
    let list = wait_for(&mut browser, "/operatore/c_esempio/flussi", "Avvisi PDF");
    assert!(list.contains("Eseguito"), "{list}");
    let base = "/operatore/c_esempio/flussi/1";
    for kind in ["scarti", "iuv", "avvisi"] {
        let reply = Browser::new(&server.base).get(&format!("{base}/{kind}"));
        assert_eq!(reply.location.as_deref(), Some("/operatore/accedi"), "a download needs the operator's session");
        let file = browser.get(&format!("{base}/{kind}"));
        // A ZIP (not text): the test browser reads bodies as UTF-8, so only the status is checked.
        assert_eq!(file.status, 200, "{kind}");
    }
    // Without the CSRF token the upload is refused and nothing is queued.
    let page = browser.post_multipart("/operatore/c_esempio/flussi", &[], ("file", "c_esempio-WEB002-1_4.zip", &zip));
    assert_eq!(page.status, 403);

    // Pay one of the new debts at the simulator's PSP counter, then export.
    let sim_line = server.banner.iter().find(|l| l.contains("pagoPA simulator")).unwrap();
    let sim = sim_line.rsplit(' ').next().unwrap().trim_end_matches('/');
    let out = run(&dir, &["debt", "show", "--org", "c_esempio", "--iud", "WEB-1", "--json"], None);
    let debt: serde_json::Value = serde_json::from_str(&crate::support::stdout(&out)).unwrap();
    let body =
        format!(r#"{{"fiscalCode":"01234567897","noticeNumber":"{}"}}"#, debt["notice_number"].as_str().unwrap());
    assert!(post(&format!("{sim}/sim/psp/pay"), "application/json", body.as_bytes()).body.contains("\"OK\""));
    let today = mypay::testing::clock::Now::read().today().to_string();
    let page = browser.submit(
        "/operatore/c_esempio/esportazioni",
        "/operatore/c_esempio/esportazioni",
        &[("from", &today), ("to", &today), ("version", "1.3"), ("debt_type", ""), ("with_receipt", "1")],
    );
    assert_eq!(page.status, 303);
    let list = wait_for(&mut browser, "/operatore/c_esempio/esportazioni", "Scarica");
    let day = mypay::testing::clock::Now::read().today().strftime("%d/%m/%Y").to_string();
    assert!(list.contains(&format!("<td>{day} – {day}</td>")), "{list}");
    let file = browser.get("/operatore/c_esempio/esportazioni/1/file");
    assert_eq!(file.status, 200);
    // An incremental export's window is stored in UTC and shown as the Italian times asked for,
    // across the spring DST change (00:30 CET is 23:30 UTC, 03:30 CEST is 01:30 UTC).
    let zip = dir.join("incrementale.zip");
    let args = ["export", "--org", "c_esempio", "--incremental", "--from", "2026-03-28T00:30:00"];
    let out = run(&dir, &[&args[..], &["--to", "2026-03-29T03:30:00", "-o", zip.to_str().unwrap()]].concat(), None);
    assert!(out.status.success(), "{}", crate::support::stderr(&out));
    let list = browser.get("/operatore/c_esempio/esportazioni").body;
    assert!(list.contains("<td>28/03/2026 00:30 – 29/03/2026 03:30</td>"), "{list}");
    let bad = browser.submit(
        "/operatore/c_esempio/esportazioni",
        "/operatore/c_esempio/esportazioni",
        &[("from", "2026-02-01"), ("to", "2026-01-01"), ("version", "1.3")],
    );
    assert_eq!(bad.status, 303);
    assert!(browser.get("/operatore/c_esempio/esportazioni").body.contains("PAA_INTERVALLO_DATE_NON_VALIDO"));

    // The reconciliation section: the paid receipt, reported by no flow yet, exported as RT_NO_IUF.
    let page = browser.get("/operatore/c_esempio/esportazioni").body;
    assert!(page.contains(r#"<h2 class="h4" id="riconciliazione">Riconciliazione</h2>"#), "{page}");
    let page = browser.submit(
        "/operatore/c_esempio/esportazioni",
        "/operatore/c_esempio/esportazioni/riconciliazione",
        &[("from", &today), ("to", &today), ("version", "1.4"), ("headers", "mypivot"), ("label", "RT_NO_IUF")],
    );
    assert_eq!(
        (page.status, page.location.as_deref()),
        (303, Some("/operatore/c_esempio/esportazioni#riconciliazione"))
    );
    let recon_file = "/operatore/c_esempio/esportazioni/riconciliazione/1/file";
    let list = wait_for(&mut browser, "/operatore/c_esempio/esportazioni", recon_file);
    assert!(list.contains("<td>1.4</td><td>Eseguita</td><td class=\"importo\">1</td>"), "{list}");
    assert_eq!(Browser::new(&server.base).get(recon_file).location.as_deref(), Some("/operatore/accedi"));
    assert_eq!(browser.get(recon_file).status, 200);
    let wrong = browser.submit(
        "/operatore/c_esempio/esportazioni",
        "/operatore/c_esempio/esportazioni/riconciliazione",
        &[("from", &today), ("to", &today), ("version", "1.2"), ("headers", "p4pa")],
    );
    assert_eq!(wrong.status, 303);
    let list = browser.get("/operatore/c_esempio/esportazioni").body;
    assert!(list.contains("Esportazione n. 2: versione del tracciato errata."), "{list}");
    assert!(list.contains("<td>1.2 (P4PA)</td><td>Versione del tracciato errata<br><small>I nomi P4PA esistono solo per i tracciati 1.3 e 1.4.</small></td>"), "{list}");

    // Past the files' retention the purge deletes them: the lists say so instead of linking, and
    // the downloads answer 410 with the reason, in Italian.
    let conn = rusqlite::Connection::open(dir.join("mypay.db")).unwrap();
    conn.execute("UPDATE debt_import SET created_at = '2020-01-01T10:00:00Z' WHERE id = 1", []).unwrap();
    conn.execute("UPDATE export SET requested_at = '2020-01-01T10:00:00Z' WHERE id = 1", []).unwrap();
    conn.execute("UPDATE recon_export SET requested_at = '2020-01-01T10:00:00Z' WHERE id = 1", []).unwrap();
    let out = run(&dir, &["gdpr", "purge", "--json"], None);
    assert!(out.status.success(), "{}", crate::support::stderr(&out));
    let done: serde_json::Value = serde_json::from_str(&crate::support::stdout(&out)).unwrap();
    assert_eq!((done["counts"]["import_files"].as_u64(), done["counts"]["export_files"].as_u64()), (Some(1), Some(2)));
    let note = format!("File eliminato il {day} (conservazione)");
    let flows = browser.get("/operatore/c_esempio/flussi").body;
    assert!(flows.contains(&note), "{flows}");
    assert!(!flows.contains("/operatore/c_esempio/flussi/1/scarti") && !flows.contains("Avvisi PDF</a>"), "{flows}");
    let exports = browser.get("/operatore/c_esempio/esportazioni").body;
    assert!(exports.contains(&note), "{exports}");
    assert!(!exports.contains("/operatore/c_esempio/esportazioni/1/file"), "{exports}");
    for path in [
        "/operatore/c_esempio/flussi/1/scarti",
        "/operatore/c_esempio/flussi/1/avvisi",
        "/operatore/c_esempio/esportazioni/1/file",
        "/operatore/c_esempio/esportazioni/riconciliazione/1/file",
    ] {
        let gone = browser.get(path);
        assert_eq!(gone.status, 410, "{path}");
        assert!(gone.body.contains("<h1>File non più disponibile</h1>"), "{}", gone.body);
        assert!(
            gone.body.contains(&format!(
                "Il file è stato eliminato il {day} perché è trascorso il periodo di conservazione"
            )),
            "{}",
            gone.body
        );
    }
    // The REST API says the same: the export without a file link, its download a 410.
    let out = run(&dir, &["api-token", "create", "--org", "c_esempio", "--label", "contabilita", "--json"], None);
    let token: serde_json::Value = serde_json::from_str(&crate::support::stdout(&out)).unwrap();
    let bearer = format!("Bearer {}", token["token"].as_str().unwrap());
    let api = |path: &str| crate::support::get_with(&server.url(path), &[("Authorization", &bearer)]);
    let export = api("/api/v1/orgs/c_esempio/exports/1");
    let export: serde_json::Value = serde_json::from_str(&export.body).unwrap();
    assert!(export["file"].is_null() && export["file_purged_at"].is_string(), "{export}");
    let gone = api("/api/v1/orgs/c_esempio/exports/1/file");
    assert_eq!(gone.status, 410);
    assert!(gone.body.contains("\"code\":\"GONE\""), "{}", gone.body);
}

#[test]
fn operators_see_only_their_orgs_and_are_locked_out_after_five_failures() {
    let (_tmp, dir) = data_dir();
    let server = Server::start(&dir, &["demo"]);
    crate::support::add_milano(&dir);
    assert!(
        run(
            &dir,
            &["operator", "add", "--org", "c_f205", "--username", "milano", "--role", "admin", "--password-stdin"],
            Some("Una password sicura 1\n")
        )
        .status
        .success()
    );
    let mut browser = Browser::new(&server.base);
    assert_eq!(login(&mut browser, "milano", "Una password sicura 1").status, 303);
    let home = browser.get("/operatore").body;
    assert!(home.contains("Comune di Milano") && !home.contains("Comune di Esempio"));
    for path in [
        "/operatore/c_esempio/flussi",
        "/operatore/c_esempio/esportazioni",
        "/operatore/c_esempio/flussi/1/iuv",
        "/operatore/c_esempio/esportazioni/1/file",
    ] {
        assert_eq!(browser.get(path).status, 403, "{path}");
    }
    let token = csrf(&browser.get("/operatore/c_f205/esportazioni").body);
    let page = browser.post(
        "/operatore/c_esempio/esportazioni",
        &[("csrf", &token), ("from", "2026-01-01"), ("to", "2026-01-31"), ("version", "1.3")],
    );
    assert_eq!(page.status, 403);

    let mut other = Browser::new(&server.base);
    for _ in 0..5 {
        assert_eq!(login(&mut other, "milano", "sbagliata").status, 401);
    }
    let locked = login(&mut other, "milano", "Una password sicura 1");
    assert_eq!(locked.status, 401);
    // The same answer as any refused login (the hardening issue): the lock is not told apart.
    assert!(locked.body.contains("Dopo 5 tentativi non riusciti l'accesso resta bloccato"), "{}", locked.body);
}

/// The stored expiry of the one session that holds operator `username`.
fn operator_session_times(db: &rusqlite::Connection, username: &str) -> (String, String) {
    db.query_row(
        "SELECT last_seen_at, expires_at FROM session WHERE json_extract(data_json, '$.operator') = ?1",
        [username],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
    .unwrap()
}

#[test]
fn an_operator_session_expires_when_idle_and_dies_at_logout() {
    let (_tmp, dir) = data_dir();
    let server = Server::start(&dir, &["demo"]);
    let password = demo_password(&server);
    let db = rusqlite::Connection::open(dir.join("mypay.db")).unwrap();

    // The idle lifetime is one hour (`web::session::IDLE_MINUTES`), counted from the last request.
    let mut idle = Browser::new(&server.base);
    assert_eq!(login(&mut idle, "demo", &password).status, 303);
    assert_eq!(idle.get("/operatore").status, 200);
    let (seen, expires) = operator_session_times(&db, "demo");
    let (seen, expires): (jiff::Timestamp, jiff::Timestamp) = (seen.parse().unwrap(), expires.parse().unwrap());
    assert_eq!(expires.duration_since(seen), jiff::SignedDuration::from_mins(60));
    // An hour without use: the server no longer knows the cookie.
    let past = "2000-01-01T00:00:00Z";
    let changed = db
        .execute("UPDATE session SET expires_at = ?1 WHERE json_extract(data_json, '$.operator') = 'demo'", [past])
        .unwrap();
    assert_eq!(changed, 1);
    let expired = idle.get("/operatore/c_esempio/dovuti");
    assert_eq!((expired.status, expired.location.as_deref()), (303, Some("/operatore/accedi")));

    // Logout deletes the session server-side: the old cookie, replayed, gets the login page.
    let mut user = Browser::new(&server.base);
    assert_eq!(login(&mut user, "demo", &password).status, 303);
    assert_eq!(user.get("/operatore/c_esempio/dovuti").status, 200);
    let stolen = user.clone();
    let out = user.submit("/operatore", "/operatore/esci", &[]);
    assert_eq!((out.status, out.location.as_deref()), (303, Some("/operatore/accedi")));
    let live: i64 = db
        .query_row("SELECT count(*) FROM session WHERE json_extract(data_json, '$.operator') IS NOT NULL", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(live, 1, "only the expired row of the first browser is left");
    for mut replay in [stolen.clone(), user] {
        let page = replay.get("/operatore/c_esempio/dovuti");
        assert_eq!((page.status, page.location.as_deref()), (303, Some("/operatore/accedi")));
        assert!(replay.get("/operatore/accedi").body.contains("name=\"password\""));
    }
}

/// The journal's day filters are Europe/Rome calendar days, on both sides of the range and on the
/// days the clocks change (29 March 2026: 23 hours; 25 October 2026: 25 hours): an entry at 23:30
/// UTC, already 00:30 or 01:30 in Italy, is listed under the next day, and the list shows Italian
/// times.
#[test]
fn journal_day_filters_are_rome_days_across_dst_changes() {
    use mypay::testing::store::audit::{AuditEntry, insert_audit};
    let (_tmp, dir, _server, mut browser) = demo_logged_in();
    let (db, _) = mypay::testing::store::Db::open(&dir.join("mypay.db")).unwrap();
    let org = db.read(|c| mypay::testing::store::orgs::find_org_by_ipa(c, "c_esempio")).unwrap().unwrap();
    // UTC as stored, and the Rome time it is.
    let stamps = [
        "2026-03-28T22:59:59Z", // 28/03 23:59:59 CET
        "2026-03-28T23:30:00Z", // 29/03 00:30 CET
        "2026-03-29T21:59:59Z", // 29/03 23:59:59 CEST
        "2026-03-29T22:30:00Z", // 30/03 00:30 CEST
        "2026-03-29T23:30:00Z", // 30/03 01:30 CEST
        "2026-10-24T21:30:00Z", // 24/10 23:30 CEST
        "2026-10-24T22:30:00Z", // 25/10 00:30 CEST
        "2026-10-25T22:30:00Z", // 25/10 23:30 CET
        "2026-10-25T23:30:00Z", // 26/10 00:30 CET
    ];
    for at in stamps {
        let object = format!("test:{at}");
        let entry = AuditEntry {
            actor: "test",
            org_id: Some(org.id),
            action: "test.dst",
            object: Some(&object),
            outcome: "OK",
            ..AuditEntry::default()
        };
        db.write(|tx| insert_audit(tx, &entry, at)).unwrap();
    }
    let mut listed = |query: &str| -> Vec<String> {
        let body = browser.get(&format!("/operatore/c_esempio/giornale?azione=test.dst&{query}")).body;
        body.match_indices("<td>test:")
            .map(|(i, m)| body[i + m.len()..].split('<').next().unwrap().to_owned())
            .collect()
    };
    // Newest first.
    assert_eq!(listed("dal=2026-03-29&al=2026-03-29"), ["2026-03-29T21:59:59Z", "2026-03-28T23:30:00Z"]);
    assert_eq!(listed("al=2026-03-28"), ["2026-03-28T22:59:59Z"]);
    assert_eq!(listed("dal=2026-03-30&al=2026-03-30"), ["2026-03-29T23:30:00Z", "2026-03-29T22:30:00Z"]);
    assert_eq!(listed("dal=2026-10-25&al=2026-10-25"), ["2026-10-25T22:30:00Z", "2026-10-24T22:30:00Z"]);
    assert_eq!(listed("dal=2026-10-24&al=2026-10-24"), ["2026-10-24T21:30:00Z"]);
    assert_eq!(listed("dal=2026-10-26"), ["2026-10-25T23:30:00Z"]);
    assert_eq!(listed("dal=2026-03-30&al=2026-10-24").len(), 3);
    assert_eq!(listed("").len(), stamps.len());

    let page = browser.get("/operatore/c_esempio/giornale?azione=test.dst&dal=2026-03-29&al=2026-03-29").body;
    assert!(page.contains("29/03/2026 00:30:00") && page.contains("29/03/2026 23:59:59"), "{page}");
    let bad = browser.get("/operatore/c_esempio/giornale?al=9999-12-31").body;
    assert!(bad.contains("Il valore del campo «al» non è valido."), "{bad}");
}

/// A password change ends the operator's other sessions (the hardening issue found them alive),
/// keeps the one that made it, and a refused login says the same whatever the reason.
#[test]
fn a_password_change_ends_the_other_sessions() {
    let (_tmp, _dir, server, mut first) = demo_logged_in();
    let password = demo_password(&server);
    let mut second = Browser::new(&server.base);
    assert_eq!(login(&mut second, "demo", &password).status, 303);
    assert_eq!(second.get("/operatore/c_esempio").status, 200);

    let page = first.submit(
        "/operatore/password",
        "/operatore/password",
        &[("current", &password), ("new", "Una password nuova 7"), ("again", "Una password nuova 7")],
    );
    assert_eq!(page.status, 303, "{}", page.body);
    assert_eq!(first.get("/operatore/c_esempio").status, 200, "the session that changed it stays");
    let ended = second.get("/operatore/c_esempio");
    assert_eq!(ended.location.as_deref(), Some("/operatore/accedi"), "the other one is logged out");

    let mut probe = Browser::new(&server.base);
    let unknown = login(&mut probe, "nessuno", "x").body;
    let wrong = login(&mut probe, "demo", "x").body;
    let message = "Nome utente o password non corretti.";
    assert!(unknown.contains(message) && wrong.contains(message));
    for _ in 0..5 {
        login(&mut probe, "demo", "x");
    }
    assert!(login(&mut probe, "demo", "Una password nuova 7").body.contains(message), "locked reads the same");
}
