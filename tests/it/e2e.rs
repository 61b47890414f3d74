//! mypay and its pagoPA simulator together, as `mypay demo` runs them: a notice paid through
//! Checkout, a payment at a PSP counter, a spontaneous payment started at a PSP, and reporting flows
//! fetched and stored, all over loopback HTTP.

use crate::station::open_debts;
use crate::support::{Server, data_dir, post, run, stdout};

fn debt_state(dir: &std::path::Path, iud: &str) -> String {
    let out = run(dir, &["debt", "show", "--org", "c_esempio", "--iud", iud, "--json"], None);
    let d: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    d["state"].as_str().unwrap().to_owned()
}

fn no_redirects() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .timeout_global(Some(std::time::Duration::from_secs(30)))
        .build()
        .into()
}

#[test]
fn a_notice_is_paid_through_checkout_and_reported() {
    let (tmp, dir) = data_dir();
    let server = Server::start(&dir, &["demo"]);
    let sim = server.simulator_url();
    let debts = open_debts(&dir);

    // A cart of two notices, created by mypay's own Checkout client.
    let notice = |i: usize| mypay::testing::pagopa::checkout::CartNotice {
        notice_number: mypay::testing::domain::NoticeNumber::parse(&debts[i].1).unwrap(),
        fiscal_code: "01234567897".to_owned(),
        amount: mypay::testing::domain::Cents::new(debts[i].3),
        company_name: "Comune di Esempio".to_owned(),
        description: "TARI".to_owned(),
    };
    let cart = mypay::testing::pagopa::checkout::Cart {
        notices: vec![notice(0), notice(1)],
        return_urls: mypay::testing::pagopa::checkout::ReturnUrls {
            ok: format!("{}/esito/ok", server.base),
            cancel: format!("{}/esito/annullato", server.base),
            error: format!("{}/esito/errore", server.base),
            waiting: None,
        },
        id_cart: Some("cart-e2e-1".to_owned()),
        email: None,
        all_ccp: false,
    };
    let page = mypay::testing::pagopa::checkout::create_cart(&sim, "", &cart, false).unwrap();
    assert!(page.starts_with(&format!("{sim}/c/")), "{page}");

    // The person picks "pay" on the simulator's page.
    let res = no_redirects()
        .post(&page)
        .content_type("application/x-www-form-urlencoded")
        .send("outcome=OK&psp=SIMPSP01")
        .unwrap();
    assert_eq!(res.status().as_u16(), 303);
    assert_eq!(res.headers().get("location").unwrap().to_str().unwrap(), cart.return_urls.ok);
    assert_eq!(debt_state(&dir, &debts[0].0), "COMPLETATO");
    assert_eq!(debt_state(&dir, &debts[1].0), "COMPLETATO");

    // A cancelled cart pays nothing.
    let cart = mypay::testing::pagopa::checkout::Cart {
        notices: vec![notice(2)],
        id_cart: Some("cart-e2e-2".to_owned()),
        ..cart
    };
    let page = mypay::testing::pagopa::checkout::create_cart(&sim, "", &cart, false).unwrap();
    let res =
        no_redirects().post(&page).content_type("application/x-www-form-urlencoded").send("outcome=CANCEL").unwrap();
    assert_eq!(res.headers().get("location").unwrap().to_str().unwrap(), cart.return_urls.cancel);
    assert_eq!(debt_state(&dir, &debts[2].0), "INSERIMENTO_DOVUTO");

    // At a PSP counter, by notice number.
    let body = format!(r#"{{"fiscalCode":"01234567897","noticeNumber":"{}"}}"#, debts[3].1);
    let paid = post(&format!("{sim}/sim/psp/pay"), "application/json", body.as_bytes());
    let paid: serde_json::Value = serde_json::from_str(&paid.body).unwrap();
    assert_eq!(paid["outcome"], "OK", "{paid}");
    assert_eq!(debt_state(&dir, &debts[3].0), "COMPLETATO");
    // Paying it again is refused by the station, and the Node relays the station's fault.
    let again = post(&format!("{sim}/sim/psp/pay"), "application/json", body.as_bytes());
    assert!(
        again.body.contains("PAA_PAGAMENTO_DUPLICATO") || again.body.contains("PPT_PAGAMENTO_DUPLICATO"),
        "{}",
        again.body
    );

    // A spontaneous payment started at the PSP (paDemandPaymentNotice → pay).
    let body = r#"{"fiscalCode":"01234567897","idServizio":"00001","idSoggettoServizio":"00001","datiSpecificiServizio":"<dati/>"}"#;
    let spontaneous = post(&format!("{sim}/sim/psp/spontaneous"), "application/json", body.as_bytes());
    let spontaneous: serde_json::Value = serde_json::from_str(&spontaneous.body).unwrap();
    assert_eq!(spontaneous["outcome"], "OK", "{spontaneous}");

    // Reporting: the simulator's PSPs publish flows; mypay fetches and stores them once.
    let generated = post(&format!("{sim}/sim/fdr/generate"), "application/json", b"{}");
    let generated: serde_json::Value = serde_json::from_str(&generated.body).unwrap();
    let n_flows = generated["generated"].as_array().unwrap().len();
    assert!(n_flows >= 1, "{generated}");
    let config = tmp.path().join("fetch.toml");
    std::fs::write(
        &config,
        format!(
            "version = 1\n[station]\nbroker_id = \"99999000013\"\nstation_id = \"99999000013_01\"\n[node]\nbase_url = \"{sim}\"\n"
        ),
    )
    .unwrap();
    let fetch = |()| {
        let out = run(&dir, &["--config", config.to_str().unwrap(), "reporting", "fetch", "--json"], None);
        assert!(out.status.success(), "{}", crate::support::stderr(&out));
        serde_json::from_str::<serde_json::Value>(&stdout(&out)).unwrap()
    };
    let first = fetch(());
    assert_eq!(first["stored"], n_flows, "{first}");
    assert_eq!(first["rejected"], 0, "{first}");
    let second = fetch(());
    assert_eq!(second["stored"], 0, "{second}");
    assert_eq!(second["already_stored"], n_flows, "{second}");

    let conn = rusqlite::Connection::open(dir.join("mypay.db")).unwrap();
    let rows: i64 = conn.query_row("SELECT count(*) FROM reporting_payment", [], |r| r.get(0)).unwrap();
    // Four notices paid in this test, one transfer each: every one is reported.
    assert_eq!(rows, 4);
    let matched: i64 = conn
        .query_row(
            "SELECT count(*) FROM reporting_payment p JOIN receipt r ON r.iuv = p.iuv AND r.receipt_id = p.iur",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(matched, 4, "every reported payment matches a stored receipt (IUV, IUR)");
}

/// A stand-in for a Node whose FdR REST API is down (every GET answers 404) while its nodeForPa
/// SOAP service works: POSTs are passed on to the simulator.
pub fn rest_down_proxy(sim: String) -> String {
    crate::support::fake_http(move |req| {
        if !req.request_line.starts_with("POST ") {
            return (404, "{}".to_owned());
        }
        let path = req.request_line.split(' ').nth(1).unwrap();
        let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
        let mut res =
            agent.post(format!("{sim}{path}")).header("SOAPAction", &req.soap_action).send(&req.body[..]).unwrap();
        (res.status().as_u16(), res.body_mut().read_to_string().unwrap())
    })
}

#[test]
fn reporting_falls_back_to_node_for_pa_when_rest_fails() {
    let (tmp, dir) = data_dir();
    let server = Server::start(&dir, &["demo"]);
    let sim = server.simulator_url();
    let debts = open_debts(&dir);
    let body = format!(r#"{{"fiscalCode":"01234567897","noticeNumber":"{}"}}"#, debts[0].1);
    assert!(post(&format!("{sim}/sim/psp/pay"), "application/json", body.as_bytes()).body.contains("\"OK\""));
    let generated = post(&format!("{sim}/sim/fdr/generate"), "application/json", b"{}");
    assert!(generated.body.contains("\"fdr\""), "{}", generated.body);

    let proxy = rest_down_proxy(sim);
    let config = tmp.path().join("fetch.toml");
    std::fs::write(
        &config,
        format!("version = 1\n[station]\nbroker_id = \"99999000013\"\nstation_id = \"99999000013_01\"\n[node]\nbase_url = \"{proxy}\"\n"),
    )
    .unwrap();
    let out = run(&dir, &["--config", config.to_str().unwrap(), "reporting", "fetch", "--json"], None);
    assert!(out.status.success(), "{}", crate::support::stderr(&out));
    let summary: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(summary["stored"], 1, "{summary}");
    let conn = rusqlite::Connection::open(dir.join("mypay.db")).unwrap();
    let (source, document): (String, String) =
        conn.query_row("SELECT source, document FROM reporting_flow", [], |r| Ok((r.get(0)?, r.get(1)?))).unwrap();
    assert_eq!(source, "SOAP");
    assert!(document.contains("<FlussoRiversamento"), "the FlussoRiversamento is kept as received");
}
