//! Two mypay processes and the simulator: a regional mypay (`demo`, its own pagoPA station and
//! simulator) and a municipality's box in upstream mode behind it. Debts created at the box are
//! mirrored up with the Region's IUV, paid through the Region's station, and the receipt comes back
//! to the box by push (confirmed with the Region) and, with push off, by polling.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::support::{Server, data_dir, post, run, stderr, stdout};

const IPA: &str = "c_esempio";
/// The org's SIL password at the Region: the demo's, with which a box demo starts linked (a box
/// that called with another would lock the org out at the Region for a while).
const PASSWORD: &str = "Esempio-SIL-1";
/// The HS512 key the Region signs its pushes to the box with (base64 of 64 bytes).
const PUSH_SECRET: &str = "cmVnaW9uZS1wdXNoLWtleS1mb3ItdGhlLWJveC0wMTIzNDU2Nzg5YWJjZGVmMDEyMzQ1Njc4OWFiY2RlZjAxMjM=";

fn ok(dir: &Path, args: &[&str], stdin: Option<&str>) -> String {
    let out = run(dir, args, stdin);
    assert!(out.status.success(), "mypay {args:?}: {}", stderr(&out));
    stdout(&out)
}

fn debt(dir: &Path, iud: &str) -> serde_json::Value {
    serde_json::from_str(&ok(dir, &["debt", "show", "--org", IPA, "--iud", iud, "--json"], None)).unwrap()
}

/// Waits up to 60 s for `what` of the debt to hold.
fn wait_debt(dir: &Path, iud: &str, what: &str, check: impl Fn(&serde_json::Value) -> bool) -> serde_json::Value {
    let started = Instant::now();
    loop {
        let d = debt(dir, iud);
        if check(&d) {
            return d;
        }
        assert!(started.elapsed() < Duration::from_secs(60), "{what}: still {d}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn simulator_url(server: &Server) -> String {
    let line = server.banner.iter().find(|l| l.contains("simulatore pagoPA")).expect("the region runs the simulator");
    line.rsplit(' ').next().unwrap().trim_end_matches('/').to_owned()
}

fn add_debt(dir: &Path, iud: &str, cents: &str) {
    ok(
        dir,
        &[
            "debt",
            "add",
            "--org",
            IPA,
            "--debt-type",
            "TARI",
            "--iud",
            iud,
            "--generate-iuv",
            "--debtor-id",
            "RSSMRA85T10A562S",
            "--debtor-name",
            "Mario Rossi",
            "--amount",
            cents,
            "--causale",
            "TARI 2026",
            "--due-date",
            "2099-12-31",
        ],
        None,
    );
}

/// The Region (a demo with its station and simulator) and a box behind it, linked: the org's SIL
/// password at the Region, and (with `push`) the Region pushing outcomes to the box.
struct Topology {
    _tmp: (tempfile::TempDir, tempfile::TempDir),
    rdir: std::path::PathBuf,
    bdir: std::path::PathBuf,
    region: Server,
    _bx: Server,
    /// The Region's SIL endpoint as the box reaches it.
    endpoint: String,
}

fn topology(push: bool) -> Topology {
    topology_via(push, None)
}

/// [`topology`], the box reaching the Region through `proxy` when given.
fn topology_via(push: bool, proxy: Option<&Proxy>) -> Topology {
    let (rtmp, rdir) = data_dir();
    let region = Server::start(&rdir, &["demo"]);
    ok(&rdir, &["org", "set", IPA, "--sil-password-stdin"], Some(&format!("{PASSWORD}\n")));
    let (btmp, bdir) = data_dir();
    let endpoint = match proxy {
        Some(proxy) => proxy.start(&region.base),
        None => region.url("/ws/pa/"),
    };
    let poll = if push { "3600" } else { "1" };
    let bx = Server::start_with_env(
        &bdir,
        &["demo"],
        &[("MYPAY_UPSTREAM_URL", endpoint.as_str()), ("MYPAY_UPSTREAM_POLL_SECONDS", poll)],
    );
    ok(&bdir, &["org", "set", IPA, "--upstream-password-stdin"], Some(&format!("{PASSWORD}\n")));
    if push {
        ok(
            &bdir,
            &[
                "org",
                "set",
                IPA,
                "--upstream-push-secret-stdin",
                "--upstream-push-kid",
                "regione-1",
                "--upstream-push-iss",
                "mypay-regione",
                "--upstream-push-sub",
                IPA,
            ],
            Some(&format!("{PUSH_SECRET}\n")),
        );
        let target = bx.url("/upstream/esito");
        ok(
            &rdir,
            &[
                "org",
                "set",
                IPA,
                "--push-url",
                &target,
                "--push-secret-stdin",
                "--push-kid",
                "regione-1",
                "--push-iss",
                "mypay-regione",
                "--push-sub",
                IPA,
                "--push-retry-seconds",
                "1",
            ],
            Some(&format!("{PUSH_SECRET}\n")),
        );
        ok(
            &rdir,
            &["debt-type", "set", "--org", IPA, "--code", "TARI", "--push-outcome", "--max-push-attempts", "5"],
            None,
        );
    }
    Topology { _tmp: (rtmp, btmp), rdir, bdir, region, _bx: bx, endpoint }
}

fn pay_at_region(region: &Server, notice: &str) {
    let sim = simulator_url(region);
    let body = format!(r#"{{"fiscalCode":"01234567897","noticeNumber":"{notice}"}}"#);
    let paid = post(&format!("{sim}/sim/psp/pay"), "application/json", body.as_bytes());
    let paid: serde_json::Value = serde_json::from_str(&paid.body).unwrap();
    assert_eq!(paid["outcome"], "OK", "{paid}");
}

#[test]
fn a_debt_made_at_the_box_is_mirrored_paid_at_the_region_and_pushed_back() {
    let t = topology(true);
    let (rdir, bdir, region) = (t.rdir.clone(), t.bdir.clone(), &t.region);

    add_debt(&bdir, "UP-1", "12.34");
    let at_box = wait_debt(&bdir, "UP-1", "the Region's IUV at the box", |d| d["iuv"].is_string());
    let at_region = debt(&rdir, "UP-1");
    assert_eq!(at_region["iuv"], at_box["iuv"], "the box stores the Region's IUV");
    assert_eq!(at_region["notice_number"], at_box["notice_number"]);
    assert_eq!(at_region["amount_cents"], 1234);

    pay_at_region(region, at_region["notice_number"].as_str().unwrap());
    assert_eq!(debt(&rdir, "UP-1")["state"], "COMPLETATO");
    wait_debt(&bdir, "UP-1", "the receipt pushed to the box", |d| d["state"] == "COMPLETATO");
    let conn = rusqlite::Connection::open(bdir.join("mypay.db")).unwrap();
    let confirmed: i64 = conn
        .query_row(
            "SELECT count(*) FROM upstream_push WHERE state = 'CONFIRMED' AND iuv = ?1",
            [at_box["iuv"].as_str()],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(confirmed, 1, "the push came, and the Region confirmed it");
    let link: serde_json::Value = serde_json::from_str(&ok(&bdir, &["org", "upstream", IPA, "--json"], None)).unwrap();
    let text = link.to_string();
    assert!(!text.contains(PASSWORD) && !text.contains(PUSH_SECRET), "{text}");

    // An annulment at the box reaches the Region.
    add_debt(&bdir, "UP-2", "5.00");
    wait_debt(&bdir, "UP-2", "the Region's IUV", |d| d["iuv"].is_string());
    ok(&bdir, &["debt", "annul", "--org", IPA, "--iud", "UP-2"], None);
    let annulled_at_region = || {
        let list: serde_json::Value =
            serde_json::from_str(&ok(&rdir, &["debt", "list", "--org", IPA, "--json", "--limit", "100"], None))
                .unwrap();
        list.as_array().unwrap().iter().any(|d| d["iud"] == "UP-2" && d["state"] == "ANNULLATO")
    };
    let started = Instant::now();
    while !annulled_at_region() {
        assert!(started.elapsed() < Duration::from_secs(30), "the annulment did not reach the Region");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// A TCP relay to the Region that can be cut: the Region "down" for the box (connections
/// refused at once while down).
struct Proxy {
    up: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl Proxy {
    fn new() -> Proxy {
        Proxy { up: std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true)) }
    }

    /// Listens on a free loopback port, relaying to `target` (`http://127.0.0.1:port`) while up;
    /// returns the SIL endpoint through it.
    fn start(&self, target: &str) -> String {
        use std::net::{Shutdown, TcpListener, TcpStream};
        use std::sync::atomic::Ordering;
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let target = target.trim_start_matches("http://").to_owned();
        let up = std::sync::Arc::clone(&self.up);
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { continue };
                if !up.load(Ordering::SeqCst) {
                    drop(client);
                    continue;
                }
                let Ok(server) = TcpStream::connect(&target) else { continue };
                let relay = |mut from: TcpStream, mut to: TcpStream| {
                    std::thread::spawn(move || {
                        let _ = std::io::copy(&mut from, &mut to);
                        // Either side closing closes both, as a direct connection would.
                        let _ = to.shutdown(Shutdown::Both);
                        let _ = from.shutdown(Shutdown::Both);
                    });
                };
                relay(client.try_clone().unwrap(), server.try_clone().unwrap());
                relay(server, client);
            }
        });
        format!("http://127.0.0.1:{port}/ws/pa/")
    }

    fn set_up(&self, up: bool) {
        self.up.store(up, std::sync::atomic::Ordering::SeqCst);
    }
}

/// The Region's debts whose IUD starts with `prefix`, in the order the Region stored them.
fn region_iuds(rdir: &Path, prefix: &str) -> Vec<String> {
    let conn = rusqlite::Connection::open(rdir.join("mypay.db")).unwrap();
    let mut stmt = conn.prepare("SELECT iud FROM debt WHERE iud LIKE ?1 || '%' ORDER BY id").unwrap();
    stmt.query_map([prefix], |r| r.get(0)).unwrap().collect::<Result<_, _>>().unwrap()
}

#[test]
fn without_push_the_receipt_comes_by_polling_even_across_the_regions_and_the_boxs_downtime() {
    let proxy = Proxy::new();
    let mut t = topology_via(false, Some(&proxy));
    let (rdir, bdir) = (t.rdir.clone(), t.bdir.clone());
    add_debt(&bdir, "POLL-1", "7.00");
    let at_box = wait_debt(&bdir, "POLL-1", "the Region's IUV", |d| d["iuv"].is_string());
    pay_at_region(&t.region, at_box["notice_number"].as_str().unwrap());
    assert_eq!(debt(&rdir, "POLL-1")["state"], "COMPLETATO");
    wait_debt(&bdir, "POLL-1", "the receipt polled by the box", |d| d["state"] == "COMPLETATO");

    // The Region is down while the box makes debts: they wait, then go up in order, once each,
    // as soon as the Region answers again (the link's next poll sees it back).
    proxy.set_up(false);
    for (iud, cents) in [("LATER-1", "1.00"), ("LATER-2", "2.00"), ("LATER-3", "3.00")] {
        add_debt(&bdir, iud, cents);
    }
    std::thread::sleep(Duration::from_secs(2));
    assert!(region_iuds(&rdir, "LATER-").is_empty());
    assert!(debt(&bdir, "LATER-1")["iuv"].is_null(), "no IUV while the Region is away");
    proxy.set_up(true);
    let started = Instant::now();
    while region_iuds(&rdir, "LATER-").len() < 3 {
        assert!(started.elapsed() < Duration::from_secs(30), "not mirrored: {:?}", region_iuds(&rdir, "LATER-"));
        std::thread::sleep(Duration::from_millis(300));
    }
    assert_eq!(region_iuds(&rdir, "LATER-"), ["LATER-1", "LATER-2", "LATER-3"], "in order, none twice");
    let at_box = wait_debt(&bdir, "LATER-3", "the Region's IUV", |d| d["iuv"].is_string());

    // The box is down while a payment completes: after its restart the receipt comes by polling.
    let (_, _) = t._bx.terminate();
    pay_at_region(&t.region, at_box["notice_number"].as_str().unwrap());
    t._bx = Server::start_with_env(
        &bdir,
        &["demo"],
        &[("MYPAY_UPSTREAM_URL", t.endpoint.as_str()), ("MYPAY_UPSTREAM_POLL_SECONDS", "1")],
    );
    wait_debt(&bdir, "LATER-3", "the receipt polled after the restart", |d| d["state"] == "COMPLETATO");
}
