//! Payment options (issue 20): `mypay debt add --instalment/--reduced` and `debt show --json`
//! exactly; the station's verify, payment data and receipts per option, BR-12 both ways, a reduced
//! amount before and after its window, every answer valid against paForNode.xsd.

use std::path::Path;

use crate::station::{assert_valid_payload, call, get_payment_req, send_rt_req, verify_req};
use crate::support::{Reply, Server, add_milano, data_dir, run, stderr, stdout};

fn json(out: &std::process::Output) -> serde_json::Value {
    assert!(out.status.success(), "stdout: {}\nstderr: {}", stdout(out), stderr(out));
    serde_json::from_str(&stdout(out)).unwrap()
}

/// `mypay debt add` of a TARI debt `iud` of org `ipa` with `extra` flags.
fn add(dir: &Path, ipa: &str, iud: &str, extra: &[&str]) -> std::process::Output {
    let mut args = vec![
        "debt",
        "add",
        "--org",
        ipa,
        "--debt-type",
        "TARI",
        "--iud",
        iud,
        "--debtor-id",
        "RSSMRA85T10A562S",
        "--debtor-name",
        "Mario Rossi",
        "--due-date",
        "2099-12-31",
        "--causale",
        "TARI 2099",
    ];
    args.extend_from_slice(extra);
    run(dir, &args, None)
}

#[test]
fn debt_add_with_instalments_and_a_reduced_amount_and_debt_show_lists_the_options() {
    let (_tmp, dir) = data_dir();
    add_milano(&dir);
    let out = run(
        &dir,
        &[
            "debt-type",
            "add",
            "--org",
            "c_f205",
            "--code",
            "TARI",
            "--description",
            "Tassa rifiuti",
            "--taxonomy",
            "0101002IM",
        ],
        None,
    );
    assert!(out.status.success(), "{}", stderr(&out));

    let plan = ["--generate-iuv", "--amount", "300.00", "--instalment", "100.00:2099-01-31"];
    let out = add(&dir, "c_f205", "TARI-1", &[&plan[..], &["--instalment", "200.00:2099-02-28"]].concat());
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        "added debt TARI-1 with notice number 302000000000000184\n\
         UNICA 1 302000000000000184 300.00 2099-12-31 DA_PAGARE\n\
         RATA 1 302000000000000285 100.00 2099-01-31 DA_PAGARE\n\
         RATA 2 302000000000000386 200.00 2099-02-28 DA_PAGARE\n"
    );
    let shown = json(&run(&dir, &["debt", "show", "--org", "c_f205", "--iud", "TARI-1", "--json"], None));
    assert_eq!(shown["amount_cents"], 30000);
    assert_eq!(
        shown["options"],
        serde_json::json!([
            {"kind": "UNICA", "seq": 1, "iuv": "02000000000000184", "notice_number": "302000000000000184",
             "amount": "300.00", "amount_cents": 30000, "due_date": "2099-12-31", "state": "DA_PAGARE"},
            {"kind": "RATA", "seq": 1, "iuv": "02000000000000285", "notice_number": "302000000000000285",
             "amount": "100.00", "amount_cents": 10000, "due_date": "2099-01-31", "state": "DA_PAGARE"},
            {"kind": "RATA", "seq": 2, "iuv": "02000000000000386", "notice_number": "302000000000000386",
             "amount": "200.00", "amount_cents": 20000, "due_date": "2099-02-28", "state": "DA_PAGARE"},
        ])
    );
    // An instalment's notice number finds its position.
    let by_rate =
        json(&run(&dir, &["debt", "show", "--org", "c_f205", "--notice", "302000000000000386", "--json"], None));
    assert_eq!(by_rate["iud"], "TARI-1");

    // A fine: the full amount, and a reduced one until a day.
    let fine = ["--generate-iuv", "--amount", "100.00", "--reduced", "70.00:2099-01-05", "--json"];
    let d = json(&add(&dir, "c_f205", "CDS-1", &fine));
    assert_eq!(
        d["options"],
        serde_json::json!([
            {"kind": "UNICA", "seq": 1, "iuv": "02000000000000487", "notice_number": "302000000000000487",
             "amount": "100.00", "amount_cents": 10000, "due_date": "2099-12-31", "state": "DA_PAGARE"},
            {"kind": "RIDOTTO", "seq": 1, "iuv": "02000000000000588", "notice_number": "302000000000000588",
             "amount": "70.00", "amount_cents": 7000, "due_date": "2099-01-05", "state": "DA_PAGARE"},
        ])
    );

    // Instalments only: no notice of the position's own, its amount their sum.
    let only = json(&add(
        &dir,
        "c_f205",
        "TARI-2",
        &["--instalment", "50.00:2099-01-31", "--instalment", "60.00:2099-02-28", "--json"],
    ));
    assert_eq!((only["notice_number"].is_null(), only["amount"].as_str()), (true, Some("110.00")));
    let kinds: Vec<_> = only["options"].as_array().unwrap().iter().map(|o| o["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["RATA", "RATA"]);

    // Refusals change nothing.
    let bad = add(&dir, "c_f205", "X-1", &["--generate-iuv", "--amount", "10.00", "--instalment", "5.00:2099-13-01"]);
    assert_eq!(bad.status.code(), Some(2), "{}", stderr(&bad));
    assert!(stderr(&bad).contains("--instalment \"5.00:2099-13-01\""), "{}", stderr(&bad));
    let bad = add(&dir, "c_f205", "X-2", &["--generate-iuv", "--amount", "10.00", "--reduced", "10.00:2099-01-01"]);
    assert!(!bad.status.success());
    assert!(
        stderr(&bad).contains("the reduced amount must be more than zero and less than the full amount"),
        "{}",
        stderr(&bad)
    );
    let bad = add(&dir, "c_f205", "X-3", &["--reduced", "10.00:2099-01-01"]);
    assert!(!bad.status.success(), "--reduced needs --amount");
    let out = run(&dir, &["debt", "list", "--org", "c_f205", "--json"], None);
    assert_eq!(json(&out).as_array().unwrap().len(), 3);
}

fn fault_code(reply: &Reply) -> Option<String> {
    let payload = mypay::testing::soap::parse_envelope(reply.body.as_bytes()).unwrap();
    payload.path_text(&["fault", "faultCode"]).map(str::to_owned)
}

/// The options of demo debt `iud`: (kind, notice number, iuv, amount in cents, state).
fn options(dir: &Path, iud: &str) -> Vec<(String, String, String, i64, String)> {
    let d = json(&run(dir, &["debt", "show", "--org", "c_esempio", "--iud", iud, "--json"], None));
    d["options"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            (
                o["kind"].as_str().unwrap().to_owned(),
                o["notice_number"].as_str().unwrap().to_owned(),
                o["iuv"].as_str().unwrap().to_owned(),
                o["amount_cents"].as_i64().unwrap(),
                o["state"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn states(dir: &Path, iud: &str) -> Vec<String> {
    options(dir, iud).into_iter().map(|o| o.4).collect()
}

fn debt_state(dir: &Path, iud: &str) -> String {
    json(&run(dir, &["debt", "show", "--org", "c_esempio", "--iud", iud, "--json"], None))["state"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Verifies `notice` and expects OK with `cents` (and `due` when given), or the fault `expected`.
fn expect_verify(server: &Server, notice: &str, expected: Result<(i64, Option<&str>), &str>) {
    let reply = call(server, Some("paVerifyPaymentNotice"), &verify_req(notice));
    assert_valid_payload(&reply.body);
    match expected {
        Ok((cents, due)) => {
            let payload = mypay::testing::soap::parse_envelope(reply.body.as_bytes()).unwrap();
            let option =
                payload.path(&["paymentList", "paymentOptionDescription"]).unwrap_or_else(|| panic!("{}", reply.body));
            assert_eq!(option.child_text("amount"), Some(format!("{}.{:02}", cents / 100, cents % 100).as_str()));
            if let Some(due) = due {
                assert_eq!(option.child_text("dueDate"), Some(due));
            }
        }
        Err(code) => assert_eq!(fault_code(&reply).as_deref(), Some(code), "{}", reply.body),
    }
}

/// paGetPaymentV2 and then paSendRTV2 of one option; returns the getPayment answer's data.
fn pay(server: &Server, notice: &str, iuv: &str, cents: i64, token: &str) {
    let reply = call(server, Some("paGetPaymentV2"), &get_payment_req(notice, true));
    assert_valid_payload(&reply.body);
    let payload = mypay::testing::soap::parse_envelope(reply.body.as_bytes()).unwrap();
    let data = payload.child("data").unwrap_or_else(|| panic!("{}", reply.body));
    assert_eq!(data.child_text("creditorReferenceId"), Some(iuv));
    let amount = format!("{}.{:02}", cents / 100, cents % 100);
    assert_eq!(data.child_text("paymentAmount"), Some(amount.as_str()));
    assert_eq!(data.path_text(&["transferList", "transfer", "transferAmount"]), Some(amount.as_str()));
    let reply = call(server, Some("paSendRTV2"), &send_rt_req(notice, iuv, cents, token, true));
    assert_valid_payload(&reply.body);
    assert!(reply.body.contains("<outcome>OK</outcome>"), "{}", reply.body);
}

fn receipt_flags(dir: &Path, iuv: &str) -> Vec<Option<String>> {
    let conn = rusqlite::Connection::open(dir.join("mypay.db")).unwrap();
    let mut stmt = conn.prepare("SELECT flag FROM receipt WHERE iuv = ?1 ORDER BY id").unwrap();
    stmt.query_map([iuv], |r| r.get(0)).unwrap().collect::<Result<_, _>>().unwrap()
}

#[test]
fn the_station_answers_each_option_and_closes_the_alternatives() {
    let (_tmp, dir) = data_dir();
    let server = Server::start(&dir, &["demo"]);
    let plan = [
        "--generate-iuv",
        "--amount",
        "300.00",
        "--instalment",
        "100.00:2099-01-31",
        "--instalment",
        "100.00:2099-02-28",
        "--instalment",
        "100.00:2099-03-31",
    ];
    for iud in ["OPT-A", "OPT-B"] {
        let out = add(&dir, "c_esempio", iud, &plan);
        assert!(out.status.success(), "{}", stderr(&out));
    }

    // A: instalments paid one by one; the single option is closed after the first (BR-12).
    let a = options(&dir, "OPT-A");
    expect_verify(&server, &a[0].1, Ok((30000, Some("2099-12-31"))));
    for (n, due) in [(1, "2099-01-31"), (2, "2099-02-28"), (3, "2099-03-31")] {
        expect_verify(&server, &a[n].1, Ok((10000, Some(due))));
    }
    pay(&server, &a[1].1, &a[1].2, 10000, "aaaa0000000000000000000000000001");
    assert_eq!(states(&dir, "OPT-A"), ["CHIUSA", "PAGATA", "DA_PAGARE", "DA_PAGARE"]);
    expect_verify(&server, &a[0].1, Err("PAA_PAGAMENTO_SCONOSCIUTO"));
    expect_verify(&server, &a[1].1, Err("PAA_PAGAMENTO_DUPLICATO"));
    let reply = call(&server, Some("paGetPayment"), &get_payment_req(&a[0].1, false));
    assert_eq!(fault_code(&reply).as_deref(), Some("PAA_PAGAMENTO_SCONOSCIUTO"));
    assert_valid_payload(&reply.body);
    pay(&server, &a[2].1, &a[2].2, 10000, "aaaa0000000000000000000000000002");
    assert_ne!(debt_state(&dir, "OPT-A"), "COMPLETATO");
    pay(&server, &a[3].1, &a[3].2, 10000, "aaaa0000000000000000000000000003");
    assert_eq!(debt_state(&dir, "OPT-A"), "COMPLETATO");
    assert_eq!(states(&dir, "OPT-A"), ["CHIUSA", "PAGATA", "PAGATA", "PAGATA"]);

    // B: paid in full; every instalment is then unknown, and one paid anyway is kept and flagged.
    let b = options(&dir, "OPT-B");
    pay(&server, &b[0].1, &b[0].2, 30000, "bbbb0000000000000000000000000001");
    assert_eq!(debt_state(&dir, "OPT-B"), "COMPLETATO");
    expect_verify(&server, &b[2].1, Err("PAA_PAGAMENTO_SCONOSCIUTO"));
    expect_verify(&server, &b[0].1, Err("PAA_PAGAMENTO_DUPLICATO"));
    let reply = call(
        &server,
        Some("paSendRT"),
        &send_rt_req(&b[2].1, &b[2].2, 10000, "bbbb0000000000000000000000000002", false),
    );
    assert!(reply.body.contains("<outcome>OK</outcome>"), "{}", reply.body);
    assert_valid_payload(&reply.body);
    assert_eq!(receipt_flags(&dir, &b[2].2), [Some("DOPPIO_PAGAMENTO".to_owned())]);
    assert_eq!(states(&dir, "OPT-B"), ["PAGATA", "CHIUSA", "CHIUSA", "CHIUSA"]);
}

#[test]
fn a_reduced_amount_before_and_after_its_window() {
    let (_tmp, dir) = data_dir();
    let server = Server::start(&dir, &["demo"]);
    // Its last day far ahead first, then (time passes, simulated on the stored day) yesterday.
    let fine = ["--generate-iuv", "--amount", "100.00", "--reduced", "70.00:2099-01-05"];
    for iud in ["CDS-1", "CDS-2"] {
        let out = add(&dir, "c_esempio", iud, &fine);
        assert!(out.status.success(), "{}", stderr(&out));
    }
    let one = options(&dir, "CDS-1");
    assert_eq!((one[1].0.as_str(), one[1].3), ("RIDOTTO", 7000));
    expect_verify(&server, &one[1].1, Ok((7000, Some("2099-01-05"))));
    pay(&server, &one[1].1, &one[1].2, 7000, "cccc0000000000000000000000000001");
    assert_eq!(debt_state(&dir, "CDS-1"), "COMPLETATO");
    expect_verify(&server, &one[0].1, Err("PAA_PAGAMENTO_SCONOSCIUTO"));
    expect_verify(&server, &one[1].1, Err("PAA_PAGAMENTO_DUPLICATO"));

    let two = options(&dir, "CDS-2");
    let conn = rusqlite::Connection::open(dir.join("mypay.db")).unwrap();
    conn.execute("UPDATE debt_option SET due_date = '2020-01-05' WHERE iuv = ?1", [&two[1].2]).unwrap();
    drop(conn);
    expect_verify(&server, &two[1].1, Err("PAA_PAGAMENTO_SCADUTO"));
    let reply = call(&server, Some("paGetPaymentV2"), &get_payment_req(&two[1].1, true));
    assert_eq!(fault_code(&reply).as_deref(), Some("PAA_PAGAMENTO_SCADUTO"));
    assert_valid_payload(&reply.body);
    assert_eq!(states(&dir, "CDS-2"), ["DA_PAGARE", "SCADUTA"]);
    // The full amount stays payable.
    expect_verify(&server, &two[0].1, Ok((10000, None)));
    pay(&server, &two[0].1, &two[0].2, 10000, "cccc0000000000000000000000000002");
    assert_eq!(states(&dir, "CDS-2"), ["PAGATA", "CHIUSA"]);
}

#[test]
fn the_back_office_detail_lists_the_options() {
    let (_tmp, dir, _server, mut browser) = crate::backoffice::demo_logged_in();
    let plan = [
        "--generate-iuv",
        "--amount",
        "300.00",
        "--instalment",
        "100.00:2099-01-31",
        "--instalment",
        "200.00:2099-02-28",
    ];
    let out = add(&dir, "c_esempio", "OPT-BO", &plan);
    assert!(out.status.success(), "{}", stderr(&out));
    let a = options(&dir, "OPT-BO");
    let conn = rusqlite::Connection::open(dir.join("mypay.db")).unwrap();
    let id: i64 = conn.query_row("SELECT id FROM debt WHERE iud = 'OPT-BO'", [], |r| r.get(0)).unwrap();
    let page = browser.get(&format!("/operatore/c_esempio/dovuti/{id}")).body;
    assert!(page.contains("<h2 class=\"h4\">Opzioni di pagamento</h2>"), "{page}");
    let grouped = |n: &str| format!("{} {} {} {} {}", &n[0..4], &n[4..8], &n[8..12], &n[12..16], &n[16..18]);
    for (label, notice, amount, due) in [
        ("Unica soluzione", &a[0].1, "€ 300,00", "31/12/2099"),
        ("Rata 1", &a[1].1, "€ 100,00", "31/01/2099"),
        ("Rata 2", &a[2].1, "€ 200,00", "28/02/2099"),
    ] {
        let row = format!(
            "<tr><td>{label}</td><td><code>{}</code></td><td class=\"importo\">{amount}</td><td>{due}</td><td>Da pagare</td></tr>",
            grouped(notice)
        );
        assert!(page.contains(&row), "{row}\n{page}");
    }
}

/// An instalment plan paid rate by rate at a PSP of the simulator, end to end: each payment goes
/// through the real station (verify, activation, receipt), and each receipt is exported with its
/// instalment's IUV under the position's IUD.
#[test]
fn an_instalment_plan_is_paid_rate_by_rate_through_the_simulator_and_exported() {
    let (tmp, dir) = data_dir();
    let server = Server::start(&dir, &["demo"]);
    let sim = server.simulator_url();
    let plan =
        ["--generate-iuv", "--amount", "90.00", "--instalment", "30.00:2099-01-31", "--instalment", "60.00:2099-02-28"];
    let out = add(&dir, "c_esempio", "RATE-E2E", &plan);
    assert!(out.status.success(), "{}", stderr(&out));
    let a = options(&dir, "RATE-E2E");
    let pay_at_psp = |notice: &str| {
        let body = format!(r#"{{"fiscalCode":"01234567897","noticeNumber":"{notice}"}}"#);
        crate::support::post(&format!("{sim}/sim/psp/pay"), "application/json", body.as_bytes()).body
    };
    let paid = pay_at_psp(&a[1].1);
    assert!(paid.contains("\"outcome\":\"OK\""), "{paid}");
    assert_eq!(states(&dir, "RATE-E2E"), ["CHIUSA", "PAGATA", "DA_PAGARE"]);
    // The single option is closed: the Node relays the station's SCONOSCIUTO.
    let refused = pay_at_psp(&a[0].1);
    assert!(refused.contains("PAA_PAGAMENTO_SCONOSCIUTO"), "{refused}");
    let paid = pay_at_psp(&a[2].1);
    assert!(paid.contains("\"outcome\":\"OK\""), "{paid}");
    assert_eq!(debt_state(&dir, "RATE-E2E"), "COMPLETATO");
    assert_eq!(states(&dir, "RATE-E2E"), ["CHIUSA", "PAGATA", "PAGATA"]);

    let day = mypay::testing::clock::Now::read().today().to_string();
    let file = tmp.path().join("export.zip");
    let args = [
        "export",
        "--json",
        "--org",
        "c_esempio",
        "--from",
        &day,
        "--to",
        &day,
        "--version",
        "1.2",
        "-o",
        file.to_str().unwrap(),
    ];
    let result = json(&run(&dir, &args, None));
    assert_eq!(result["rows"], 2, "{result}");
    let mut archive = zip::ZipArchive::new(std::fs::File::open(&file).unwrap()).unwrap();
    let mut text = String::new();
    std::io::Read::read_to_string(&mut archive.by_index(0).unwrap(), &mut text).unwrap();
    for (_, _, iuv, cents, _) in &a[1..] {
        let amount = format!("\"{}.{:02}\"", cents / 100, cents % 100);
        let row = text.lines().find(|l| l.contains(&format!("\"{iuv}\""))).unwrap_or_else(|| panic!("{iuv}\n{text}"));
        assert!(row.contains("\"RATE-E2E\"") && row.contains(&amount), "{row}");
    }
}

#[test]
fn the_back_office_form_adds_instalments_and_a_reduced_amount() {
    let (_tmp, dir, _server, mut browser) = crate::backoffice::demo_logged_in();
    let new = "/operatore/c_esempio/dovuti/nuovo";
    let form = browser.get(new).body;
    assert!(form.contains("<textarea class=\"form-control\" id=\"rate\" name=\"rate\""), "{form}");
    let base = [
        ("tipo", "TARI"),
        ("tipo_soggetto", "F"),
        ("cf", "RSSMRA85T10A562S"),
        ("nome", "Mario Rossi"),
        ("email", ""),
        ("scadenza", "2099-12-31"),
        ("causale", "TARI 2099"),
        ("genera_iuv", "1"),
    ];
    let with = |extra: &[(&'static str, &'static str)]| [&base[..], extra].concat();
    // Out of order: refused beside its field, nothing stored.
    let refused = browser.submit(
        new,
        new,
        &with(&[("iud", "WEB-RATE"), ("importo", "300,00"), ("rate", "100,00 28/02/2099\n200,00 31/01/2099")]),
    );
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert!(
        refused.body.contains("La scadenza della rata 2 deve seguire quella della rata precedente."),
        "{}",
        refused.body
    );
    let created = browser.submit(
        new,
        new,
        &with(&[("iud", "WEB-RATE"), ("importo", "300,00"), ("rate", "100,00 31/01/2099\n1.000,00 2099-02-28")]),
    );
    assert_eq!(created.status, 303, "{}", created.body);
    let shown: Vec<_> = options(&dir, "WEB-RATE").into_iter().map(|o| (o.0, o.3, o.4)).collect();
    let expected = [("UNICA", 30000, "DA_PAGARE"), ("RATA", 10000, "DA_PAGARE"), ("RATA", 100000, "DA_PAGARE")];
    assert_eq!(shown, expected.map(|(k, c, s)| (k.to_owned(), c, s.to_owned())));
    let fine = browser.submit(
        new,
        new,
        &with(&[
            ("iud", "WEB-CDS"),
            ("importo", "100,00"),
            ("ridotto_importo", "70,00"),
            ("ridotto_fino_al", "2099-01-05"),
        ]),
    );
    assert_eq!(fine.status, 303, "{}", fine.body);
    let shown: Vec<_> = options(&dir, "WEB-CDS").into_iter().map(|o| (o.0, o.3)).collect();
    assert_eq!(shown, [("UNICA".to_owned(), 10000), ("RIDOTTO".to_owned(), 7000)]);
}

/// The hidden `avviso` fields of a page: the notices its "Paga" buttons put in the cart.
fn pay_buttons(html: &str) -> Vec<String> {
    html.split("name=\"avviso\" value=\"").skip(1).map(|rest| rest.split('"').next().unwrap().to_owned()).collect()
}

#[test]
fn the_citizen_sees_the_payable_options_and_pays_one_through_checkout() {
    use crate::portal::{Browser, checkout, verify_email};
    let (tmp, dir) = data_dir();
    // Citizens log in through a trusted proxy's headers.
    let config = tmp.path().join("mypay.toml");
    std::fs::write(&config, "version = 1\n[citizen_auth]\nmode = \"headers\"\ntrusted_proxies = [\"127.0.0.1\"]\n")
        .unwrap();
    let server = Server::start(&dir, &["--config", config.to_str().unwrap(), "demo"]);
    let plan = [
        "--generate-iuv",
        "--amount",
        "300.00",
        "--instalment",
        "100.00:2099-01-31",
        "--instalment",
        "120.00:2099-02-28",
        "--instalment",
        "80.00:2099-03-31",
    ];
    let out = add(&dir, "c_esempio", "OPT-P", &plan);
    assert!(out.status.success(), "{}", stderr(&out));
    let o = options(&dir, "OPT-P");
    let navs: Vec<String> = o.iter().map(|x| x.1.clone()).collect();

    // The notice lookup by any option's notice number lists the whole plan, each with "Paga".
    let mut b = Browser::new(&server.base);
    let found = b.submit("/avviso", "/avviso", &[("ente", "01234567897"), ("avviso", &navs[2])]);
    assert_eq!(found.status, 200, "{}", found.body);
    assert_eq!(pay_buttons(&found.body), navs, "{}", found.body);
    for text in ["Unica soluzione", "Rata 1 di 3", "Rata 2 di 3", "Rata 3 di 3", "€ 300,00", "€ 120,00", "31/03/2099"]
    {
        assert!(found.body.contains(text), "{text:?} missing: {}", found.body);
    }
    assert_eq!(found.body.matches(">Paga</button>").count(), 4);

    // "Paga" on the first instalment: that option's notice goes to Checkout and is paid alone.
    let added = b.submit("/avviso", "/carrello/aggiungi", &[("ente", "01234567897"), ("avviso", &navs[1])]);
    assert_eq!(added.status, 303);
    let cart = b.get("/carrello");
    assert!(cart.body.contains("€ 100,00") && !cart.body.contains("€ 300,00"), "{}", cart.body);
    verify_email(&mut b, "mario@example.it");
    let back = checkout(&mut b, &server.simulator_url(), "OK");
    assert!(b.get(&back).body.contains("Pagamento eseguito"));
    assert_eq!(states(&dir, "OPT-P"), ["CHIUSA", "PAGATA", "DA_PAGARE", "DA_PAGARE"]);

    // Now the single option is closed (BR-12): hidden; the paid instalment is marked, not payable.
    let again = b.submit("/avviso", "/avviso", &[("ente", "01234567897"), ("avviso", &navs[3])]);
    assert_eq!(again.status, 200, "{}", again.body);
    assert_eq!(pay_buttons(&again.body), navs[2..], "{}", again.body);
    assert!(!again.body.contains("Unica soluzione") && !again.body.contains(navs[0].as_str()), "{}", again.body);
    assert!(again.body.contains("Rata 1 di 3") && again.body.contains("Pagata"), "{}", again.body);

    // The personal area shows the same plan under the position.
    let mut citizen = Browser::new(&server.base);
    citizen.headers = vec![
        ("x-spid-fiscalnumber".to_owned(), "TINIT-RSSMRA85T10A562S".to_owned()),
        ("x-spid-name".to_owned(), "Mario Rossi".to_owned()),
        ("x-spid-email".to_owned(), "mario@example.it".to_owned()),
    ];
    assert_eq!(citizen.get("/accedi").status, 303);
    let mine = citizen.get("/area-personale");
    assert_eq!(mine.status, 200);
    assert_eq!(mine.body.matches("class=\"list-group-item my-debt-plan\"").count(), 1, "{}", mine.body);
    let plan_card = &mine.body[mine.body.find("my-debt-plan").unwrap()..];
    let plan_card = &plan_card[..plan_card.find("</ul>").unwrap()];
    assert_eq!(pay_buttons(plan_card), navs[2..], "{plan_card}");
    assert!(plan_card.contains("TARI 2099") && plan_card.contains("Rata 3 di 3"), "{plan_card}");
}

/// An instalment plan is not an expired debt while one of its rates is still due: the expired
/// export lists it only once every unpaid rate's due date has passed.
#[test]
fn an_instalment_plan_is_expired_only_after_its_last_unpaid_rate() {
    let (tmp, dir) = data_dir();
    add_milano(&dir);
    let type_args = [
        "debt-type",
        "add",
        "--org",
        "c_f205",
        "--code",
        "TARI",
        "--description",
        "Tassa rifiuti",
        "--taxonomy",
        "0101002IM",
        "--due-date-mandatory",
    ];
    assert!(run(&dir, &type_args, None).status.success());
    let plan = [
        "debt",
        "add",
        "--org",
        "c_f205",
        "--debt-type",
        "TARI",
        "--iud",
        "PLAN-1",
        "--debtor-id",
        "RSSMRA85T10A562S",
        "--debtor-name",
        "Mario Rossi",
        "--due-date",
        "2099-01-31",
        "--causale",
        "TARI 2099",
        "--generate-iuv",
        "--instalment",
        "100.00:2099-01-31",
        "--instalment",
        "200.00:2099-06-30",
    ];
    let out = run(&dir, &plan, None);
    assert!(out.status.success(), "{}", stderr(&out));
    let expired = |before: &str| {
        let file = tmp.path().join(format!("scaduti-{before}.zip"));
        let args =
            ["export-expired", "--org", "c_f205", "--due-before", before, "--json", "-o", file.to_str().unwrap()];
        json(&run(&dir, &args, None))["rows"].as_u64().unwrap()
    };
    assert_eq!(expired("2099-03-01"), 0, "the second rate is still due");
    assert_eq!(expired("2099-07-01"), 1, "every rate is past its due date");
}
