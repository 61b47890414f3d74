//! Debts imported without an IUV paid from the personal area, and a receipt the Node never sent
//! recovered from pagoPA's receipt API: `mypay demo` and its simulator end to end.

use std::io::{Read, Write};
use std::path::Path;

use crate::portal::{Browser, checkout};
use crate::support::{Server, data_dir, post, run, stderr, stdout};

fn json_of(out: &std::process::Output) -> serde_json::Value {
    assert!(out.status.success(), "{}", stderr(out));
    serde_json::from_str(&stdout(out)).unwrap()
}

fn debt(dir: &Path, iud: &str) -> serde_json::Value {
    json_of(&run(dir, &["debt", "show", "--org", "c_esempio", "--iud", iud, "--json"], None))
}

fn debt_id(dir: &Path, iud: &str) -> String {
    let conn = rusqlite::Connection::open(dir.join("mypay.db")).unwrap();
    conn.query_row("SELECT id FROM debt WHERE iud = ?1", [iud], |r| r.get::<_, i64>(0)).unwrap().to_string()
}

/// A 1_2 debt flow (no IUV column is filled, no flagGeneraIuv column exists) for Mario Rossi.
fn flow_1_2(work: &Path) -> std::path::PathBuf {
    let stem = "c_esempio-E2ENOIUV-1_2";
    let csv = "azione;IUD;codIuv;tipoIdentificativoUnivoco;codiceIdentificativoUnivoco;anagraficaPagatore;\
        indirizzoPagatore;civicoPagatore;capPagatore;localitaPagatore;provinciaPagatore;nazionePagatore;mailPagatore;\
        dataEsecuzionePagamento;importoDovuto;commissioneCaricoPa;tipoDovuto;tipoVersamento;causaleVersamento;\
        datiSpecificiRiscossione;bilancio\n\
        I;NOIUV-1;;F;RSSMRA85T10A562S;Mario Rossi;Via Roma;1;20100;Milano;MI;IT;;2099-12-31;42.00;;TARI;;TARI 2099 senza IUV;9/0101002IM/;\n\
        I;NOIUV-2;;F;RSSMRA85T10A562S;Mario Rossi;Via Roma;1;20100;Milano;MI;IT;;2099-12-31;43.00;;TARI;;TARI 2099 altra;9/0101002IM/;\n";
    let path = work.join(format!("{stem}.zip"));
    let mut writer = zip::ZipWriter::new(std::fs::File::create(&path).unwrap());
    writer.start_file(format!("{stem}.csv"), zip::write::SimpleFileOptions::default()).unwrap();
    writer.write_all(csv.as_bytes()).unwrap();
    writer.finish().unwrap();
    path
}

#[test]
fn a_debt_imported_without_an_iuv_is_paid_from_the_personal_area_and_exported() {
    let (tmp, dir) = data_dir();
    let server = Server::start(&dir, &["demo"]);
    let sim = server.simulator_url();
    let zip = flow_1_2(tmp.path());
    let imported =
        json_of(&run(&dir, &["import", zip.to_str().unwrap(), "--org", "c_esempio", "--wait", "--json"], None));
    assert_eq!(imported["loaded"], 2, "{imported}");
    let before = debt(&dir, "NOIUV-1");
    assert!(before["iuv"].is_null() && before["notice_number"].is_null(), "{before}");

    // In the personal area it can be paid: the button gives it its IUV and puts it in the cart.
    let mut b = Browser::new(&server.base);
    assert_eq!(b.submit("/accedi", "/accedi/demo", &[("cittadino", "RSSMRA85T10A562S")]).status, 303);
    let mine = b.get("/area-personale");
    assert_eq!(mine.body.matches("action=\"/area-personale/paga\"").count(), 2, "{}", mine.body);
    let id = debt_id(&dir, "NOIUV-1");
    let added = b.submit("/area-personale", "/area-personale/paga", &[("dovuto", &id)]);
    assert_eq!((added.status, added.location.as_deref()), (303, Some("/carrello")), "{}", added.body);
    let given = debt(&dir, "NOIUV-1");
    let iuv = given["iuv"].as_str().unwrap().to_owned();
    let notice = given["notice_number"].as_str().unwrap().to_owned();
    assert_eq!(notice, format!("3{iuv}"), "an IUV17 with its notice number");
    assert!(b.get("/carrello").body.contains("TARI 2099 senza IUV"));
    // The other one stays without an IUV until it is paid.
    assert!(debt(&dir, "NOIUV-2")["iuv"].is_null());
    // Someone else cannot pay (nor number) it.
    let mut other = Browser::new(&server.base);
    assert_eq!(other.submit("/accedi", "/accedi/demo", &[("cittadino", "BNCGLI90A41F205H")]).status, 303);
    let id2 = debt_id(&dir, "NOIUV-2");
    let refused = other.submit("/area-personale", "/area-personale/paga", &[("dovuto", &id2)]);
    assert_eq!(refused.status, 404, "{}", refused.body);
    assert!(debt(&dir, "NOIUV-2")["iuv"].is_null());

    // Paid through Checkout: the receipt settles it and the export has it.
    let back = checkout(&mut b, &sim, "OK");
    b.get(&back);
    let paid = debt(&dir, "NOIUV-1");
    assert_eq!(paid["state"], "COMPLETATO");
    assert_eq!(paid["iuv"].as_str(), Some(iuv.as_str()), "the IUV given at payment start stays");
    let day = mypay::testing::clock::Now::read().today().to_string();
    let file = tmp.path().join("export.zip");
    let args = ["export", "--json", "--org", "c_esempio", "--from", &day, "--to", &day, "-o", file.to_str().unwrap()];
    let exported = json_of(&run(&dir, &args, None));
    assert_eq!(exported["rows"], 1, "{exported}");
    let mut archive = zip::ZipArchive::new(std::fs::File::open(&file).unwrap()).unwrap();
    let mut text = String::new();
    archive.by_index(0).unwrap().read_to_string(&mut text).unwrap();
    let row = text.lines().find(|l| l.contains("NOIUV-1")).unwrap_or_else(|| panic!("{text}"));
    assert!(row.contains(&iuv), "{row}");

    // The bulk command numbers the rest of the flow, once.
    let id = imported["id"].as_i64().unwrap().to_string();
    let assigned = json_of(&run(&dir, &["debt", "assign-iuv", "--org", "c_esempio", "--import", &id, "--json"], None));
    assert_eq!(assigned["assigned"], 1, "{assigned}");
    assert!(debt(&dir, "NOIUV-2")["notice_number"].is_string());
    let again = json_of(&run(&dir, &["debt", "assign-iuv", "--org", "c_esempio", "--json"], None));
    assert_eq!(again["assigned"], 0);
}

#[test]
fn a_lost_receipt_is_recovered_from_the_receipt_api() {
    let (tmp, dir) = data_dir();
    let server = Server::start(&dir, &["demo"]);
    let sim = server.simulator_url();
    let debts = crate::station::open_debts(&dir);
    // The server queues the day's recovery at start and runs it at once, with nothing to ask; on a
    // loaded machine it could otherwise run after the flow below is fetched and take the CLI's turn.
    wait_for_the_days_recovery(&dir);
    // The Node never sends this payment's paSendRT.
    let set = post(&format!("{sim}/sim/faults"), "application/json", br#"{"skip_receipts": true}"#);
    assert_eq!(set.status, 200, "{}", set.body);
    let body = format!(r#"{{"fiscalCode":"01234567897","noticeNumber":"{}"}}"#, debts[0].1);
    let paid = post(&format!("{sim}/sim/psp/pay"), "application/json", body.as_bytes());
    assert!(paid.body.contains("\"OK\""), "{}", paid.body);
    assert_eq!(debt(&dir, &debts[0].0)["state"], "PAGAMENTO_INIZIATO");
    post(&format!("{sim}/sim/faults"), "application/json", b"{}");

    // Its PSP reports it; mypay fetches the flow and finds the transfer without a receipt.
    let generated = post(&format!("{sim}/sim/fdr/generate"), "application/json", b"{}");
    assert_eq!(generated.status, 200, "{}", generated.body);
    let config = tmp.path().join("node.toml");
    std::fs::write(
        &config,
        format!(
            "version = 1\n[station]\nbroker_id = \"99999000013\"\nstation_id = \"99999000013_01\"\n[node]\nbase_url = \"{sim}\"\n"
        ),
    )
    .unwrap();
    let cli = |args: &[&str]| {
        let mut all = vec!["--config", config.to_str().unwrap(), "reporting"];
        all.extend_from_slice(args);
        json_of(&run(&dir, &all, None))
    };
    assert_eq!(cli(&["fetch", "--json"])["stored"], 1);

    let recovered = cli(&["recover", "--json"]);
    assert_eq!(
        (recovered["asked"].as_i64(), recovered["recovered"].as_i64(), recovered["missing"].as_i64()),
        (Some(1), Some(1), Some(0)),
        "{recovered}"
    );
    assert_eq!(debt(&dir, &debts[0].0)["state"], "COMPLETATO");
    // Nothing is asked twice.
    assert_eq!(cli(&["recover", "--json"])["asked"], 0);
    let conn = rusqlite::Connection::open(dir.join("mypay.db")).unwrap();
    let (primitive, calls): (String, i64) = conn
        .query_row(
            "SELECT r.primitive, (SELECT count(*) FROM receipt_recovery_call WHERE result = 'FOUND') FROM receipt r",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!((primitive.as_str(), calls), ("paSendRTV2", 1));

    // The API itself: unknown receipts are 404, and the 11th call of the hour is 429.
    let api = |iur: &str| {
        crate::support::get(&format!("{sim}/bizevents/service/v1/organizations/01234567897/receipts/{iur}")).status
    };
    let answers: Vec<u16> = (0..10).map(|i| api(&format!("nope{i}"))).collect();
    assert_eq!(answers.iter().filter(|s| **s == 404).count(), 9, "{answers:?}");
    assert_eq!(answers.iter().filter(|s| **s == 429).count(), 1, "the one call mypay made counts: {answers:?}");
}

/// Waits until the server's own receipt recovery of the day has ended.
fn wait_for_the_days_recovery(dir: &std::path::Path) {
    let conn = rusqlite::Connection::open(dir.join("mypay.db")).unwrap();
    conn.busy_timeout(std::time::Duration::from_secs(5)).unwrap();
    let started = std::time::Instant::now();
    loop {
        let ended: i64 = conn
            .query_row(
                "SELECT count(*) FROM job WHERE kind = 'receipt_recovery' AND state IN ('done', 'failed')",
                [],
                |r| r.get(0),
            )
            .unwrap();
        if ended > 0 {
            return;
        }
        assert!(started.elapsed() < std::time::Duration::from_secs(60), "the server never ran the day's recovery");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

#[test]
fn an_operator_numbers_a_flows_debts_without_iuv_from_the_flows_page() {
    let (_tmp, dir, server, mut browser) = crate::backoffice::demo_logged_in();
    let rows: Vec<String> = [("BO-1", "10.00"), ("BO-2", "12.00")]
        .iter()
        .map(|(iud, amount)| crate::backoffice::row(iud, amount).replace(";true;false;", ";false;false;"))
        .collect();
    let zip = crate::backoffice::flow_zip("c_esempio-BONOIUV-1_4", &rows);
    let token = crate::portal::csrf(&browser.get("/operatore/c_esempio/flussi").body);
    let page = browser.post_multipart(
        &format!("/operatore/c_esempio/flussi?csrf={token}"),
        &[],
        ("file", "c_esempio-BONOIUV-1_4.zip", &zip),
    );
    assert_eq!(page.status, 303);
    let list = crate::backoffice::wait_for(&mut browser, "/operatore/c_esempio/flussi", "Eseguito");
    assert!(list.contains("/operatore/c_esempio/flussi/1/assegna-iuv"), "{list}");
    assert!(debt(&dir, "BO-1")["iuv"].is_null());
    let done = browser.submit("/operatore/c_esempio/flussi", "/operatore/c_esempio/flussi/1/assegna-iuv", &[]);
    assert_eq!(done.status, 303);
    assert!(browser.get("/operatore/c_esempio/flussi").body.contains("IUV assegnati a 2 dovuti"));
    for iud in ["BO-1", "BO-2"] {
        assert!(debt(&dir, iud)["notice_number"].is_string(), "{iud}");
    }
    let journal: i64 = rusqlite::Connection::open(dir.join("mypay.db"))
        .unwrap()
        .query_row(
            "SELECT count(*) FROM audit WHERE action = 'debt.assign_iuv.bulk' AND actor = 'operator:demo'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(journal, 1);
    drop(server);
}
