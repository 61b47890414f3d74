//! What operators see of upstream mode (issue 18) and the two demos that show the topology on one
//! machine: `mypay demo` as the regional node, `mypay demo --upstream URL` as a municipality's box
//! behind it. `org upstream` (JSON and text), the back office's dashboard and `/metrics` read the
//! link from where each part lives: settings, outbox, polling, pushes.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::support::{Server, bin, data_dir, get, run, stderr, stdout};

/// An upstream nobody answers: the box's changes stay queued whatever its link does.
const NOBODY: &str = "http://127.0.0.1:9/ws/pa/";
/// The demo org's SIL password, public (services::demo::DEMO_SIL_PASSWORD).
const DEMO_SIL_PASSWORD: &str = "Esempio-SIL-1";
/// The demo's push key, public (services::demo::DEMO_PUSH_SECRET).
const DEMO_PUSH_SECRET: &str =
    "bXlwYXkgZGVtbzogY2hpYXZlIGRlZ2xpIGVzaXRpIGRlbGxhIFJlZ2lvbmUsIHNvbG8gcGVyIGxhIGRlbW8hIQ==";

fn upstream_json(dir: &Path) -> Value {
    let out = run(dir, &["org", "upstream", "c_esempio", "--json"], None);
    assert!(out.status.success(), "{}", stderr(&out));
    serde_json::from_str(&stdout(&out)).unwrap()
}

/// `mypay demo --upstream URL` is a box: upstream mode without the simulator, the demo org linked
/// with the demo's credentials and mirrored, its 20 debts queued for the region without IUVs.
/// `org upstream` shows the settings and the outbox (never a secret), `/metrics` the per-org
/// gauges, the dashboard the compact block.
#[test]
fn a_box_demo_queues_its_debts_for_the_region_and_operators_see_the_link() {
    let (_tmp, dir) = data_dir();
    let server = Server::start(&dir, &["demo", "--upstream", NOBODY]);
    let banner = server.banner.join("\n");
    assert!(banner.contains(&format!("with 20 debts, queued for the regional node at {NOBODY}")), "{banner}");
    assert!(!banner.contains("simulator"), "{banner}");
    let push_url = format!("--push-url {}/upstream/esito --push-kid mypay-demo --push-secret-stdin", server.base);
    assert!(banner.contains(&push_url), "{banner}");

    let shown = upstream_json(&dir);
    assert_eq!((shown["configured"].as_bool(), shown["region_ipa"].as_str()), (Some(true), Some("c_esempio")));
    assert_eq!((shown["password_set"].as_bool(), shown["push_secret_set"].as_bool()), (Some(true), Some(true)));
    let identity = (shown["push_kid"].as_str(), shown["push_iss"].as_str(), shown["push_sub"].as_str());
    assert_eq!(identity, (Some("mypay-demo"), Some("mypay"), Some("c_esempio")));
    let outbox = &shown["outbox"];
    assert_eq!(outbox["mirrored"], true);
    assert_eq!((outbox["waiting"].as_i64(), outbox["refused"].as_i64()), (Some(20), Some(0)));
    assert_eq!(outbox["last_refused"], Value::Array(vec![]));
    let head = &outbox["head"];
    assert_eq!(head["action"], "I");
    let first = head["subject"].as_str().unwrap();
    assert!(first.starts_with("TARI-") && first.ends_with("-COMUNE-0001"), "{head}");
    let text = serde_json::to_string(&shown).unwrap();
    assert!(!text.contains(DEMO_SIL_PASSWORD) && !text.contains(DEMO_PUSH_SECRET), "{text}");

    let out = run(&dir, &["org", "upstream", "c_esempio"], None);
    let text = stdout(&out);
    for line in
        ["debts mirrored to the region: yes", "outbox: 20 waiting", "refused by the region: 0", "  next: #1 I TARI-"]
    {
        assert!(text.contains(line), "{line:?} in {text}");
    }
    assert!(!text.contains(DEMO_SIL_PASSWORD) && !text.contains(DEMO_PUSH_SECRET), "{text}");

    let debts = run(&dir, &["debt", "list", "--org", "c_esempio", "--json", "--limit", "100"], None);
    let debts: Value = serde_json::from_str(&stdout(&debts)).unwrap();
    let debts = debts.as_array().unwrap();
    assert_eq!(debts.len(), 20);
    assert!(debts.iter().all(|d| d["iuv"].is_null()), "the region assigns the IUVs");

    let metrics = get(&server.url("/metrics")).body;
    for line in [
        "# TYPE mypay_upstream_outbox_depth gauge\nmypay_upstream_outbox_depth{org=\"c_esempio\"} 20\n",
        "# TYPE mypay_upstream_outbox_refused gauge\nmypay_upstream_outbox_refused{org=\"c_esempio\"} 0\n",
        "# TYPE mypay_upstream_last_poll_success_timestamp_seconds gauge\n\
         mypay_upstream_last_poll_success_timestamp_seconds{org=\"c_esempio\"} 0\n",
        "\nmypay_upstream_push_hints_pending 0\n",
    ] {
        assert!(metrics.contains(line), "{line:?} in {metrics}");
    }

    let mut operator = crate::portal::Browser::new(&server.base);
    let password = crate::backoffice::demo_password(&server);
    assert_eq!(crate::backoffice::login(&mut operator, "demo", &password).status, 303);
    let page = operator.get("/operatore/c_esempio").body;
    for part in [
        "Collegamento con il nodo regionale",
        "Modifiche in attesa di invio alla Regione: <strong>20</strong>",
        "Rifiutate dalla Regione: <strong>0</strong>",
        "Ultima ricevuta dalla Regione: <strong>mai</strong>",
        "Cursore di interrogazione delle ricevute: <strong>",
    ] {
        assert!(page.contains(part), "{part:?} in {page}");
    }
    assert!(!page.contains(DEMO_SIL_PASSWORD) && !page.contains(DEMO_PUSH_SECRET));
}

/// A station demo has no upstream gauges: `/metrics` names none.
#[test]
fn a_station_demo_has_no_upstream_gauges() {
    let (_tmp, dir) = data_dir();
    let server = Server::start(&dir, &["demo"]);
    let metrics = get(&server.url("/metrics")).body;
    assert!(metrics.contains("mypay_uptime_seconds") && !metrics.contains("mypay_upstream_"), "{metrics}");
}

/// The two demos on one machine. The region demo's SIL takes the demo's SIL password for the call
/// a box makes (an `I` with flagGeneraIuv) and refuses another; the command the box demo prints,
/// run as printed on the region's data directory, makes the region push its outcomes to the box,
/// which takes the region's token and keeps the push as a hint (here of an IUV it does not know).
#[test]
fn two_demos_the_region_takes_the_demo_password_and_pushes_outcomes_to_the_box() {
    let (_tmp, region_dir) = data_dir();
    let region = Server::start(&region_dir, &["demo"]);
    let banner = region.banner.join("\n");
    assert!(banner.contains(&format!("of c_esempio: password {DEMO_SIL_PASSWORD}")), "{banner}");

    let import = |password: &str| {
        let doc = super::sil::versamento("BOX-0001", "12.00", "I", None);
        let children = format!(
            "<password>{password}</password><dovuto>{}</dovuto><flagGeneraIuv>true</flagGeneraIuv>",
            super::sil::b64(&doc)
        );
        let body = super::sil::request("paaSILImportaDovuto", Some("c_esempio"), &children);
        super::sil::call(&region, "paaSILImportaDovuto", &body)
    };
    let refused = import("Sbagliata-123");
    assert_eq!(super::sil::fault_code(&refused).as_deref(), Some("PAA_ENTE_NON_VALIDO"), "{refused}");
    let answer = import(DEMO_SIL_PASSWORD);
    assert_eq!(super::sil::fault_code(&answer), None, "{answer}");
    assert_eq!(super::sil::text_of(&answer, "esito").as_deref(), Some("OK"), "{answer}");
    assert_eq!(super::sil::text_of(&answer, "identificativoUnivocoVersamento").map(|i| i.len()), Some(17));

    let (_tmp2, box_dir) = data_dir();
    let boxed = Server::start(&box_dir, &["demo", "--upstream", &region.url("/ws/pa/")]);
    let printed = boxed.banner.iter().find(|l| l.contains("--push-secret-stdin")).unwrap().trim().to_owned();
    let command = printed
        .replace("REGION_DATA_DIR", &region_dir.display().to_string())
        .replace("| mypay ", &format!("| {} ", bin()));
    let out = Command::new("sh")
        .args(["-c", &command])
        .env_remove("MYPAY_CONFIG")
        .env_remove("MYPAY_DATA_DIR")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(out.status.success(), "{printed}: {}", stderr(&out));

    // A payment at the region's station (as the Node drives it) of one of its own demo debts (the
    // box's go up to the region as the box's link sends them).
    let (_iud, notice, iuv, cents) = super::station::open_debts(&region_dir)
        .into_iter()
        .find(|(iud, ..)| iud.starts_with("TARI-") && !iud.contains("COMUNE"))
        .unwrap();
    let steps = [
        ("paVerifyPaymentNotice", super::station::verify_req(&notice)),
        ("paGetPaymentV2", super::station::get_payment_req(&notice, true)),
        ("paSendRTV2", super::station::send_rt_req(&notice, &iuv, cents, "a5b1c2d3e4f5061728394a5b6c7d8e9f", true)),
    ];
    for (action, body) in steps {
        let reply = super::station::call(&region, Some(action), &body);
        assert!(reply.body.contains("<outcome>OK</outcome>"), "{action}: {}", reply.body);
    }

    let deadline = Instant::now() + Duration::from_secs(30);
    let pushes = loop {
        let pushes = upstream_json(&box_dir)["pushes"].clone();
        if pushes["last_received_at"].is_string() {
            break pushes;
        }
        assert!(Instant::now() < deadline, "the region's push never reached the box: {pushes}");
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(pushes["unknown_iuv"], 1, "{pushes}");
    assert_eq!(pushes["unreadable"], 0, "{pushes}");
    let out = run(&region_dir, &["org", "pushes", "c_esempio", "--json"], None);
    let sent: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(sent["pushes"][0]["state"], "sent", "{sent}");
}
