//! The portal in headless Chromium. Screenshots of single pages (phone width) and of the whole
//! spontaneous payment flow through the simulator's Checkout, driven over the WebDriver protocol
//! (plain HTTP + JSON to `chromedriver`), with an axe-core scan (vendored in `tests/browser/axe/`)
//! of the portal's pages; and the outcome page's polling (`web/mypay-portal.js`) with a receipt
//! that arrives after the browser is back. Screenshots go to `docs/screenshots/`.
//!
//! Skipped, printing `skipped: ...`, when chromium or chromedriver is not installed (`.ci/run`
//! installs both).

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{Value, json};

use crate::support::{Server, data_dir, get, post};

const CHROMIUM: &str = "/usr/bin/chromium";

/// One Chromium at a time: the browser tests run beside the whole suite, and two browsers plus
/// two servers on two cores made renderers time out.
static ONE_BROWSER: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn one_browser_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    ONE_BROWSER.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}
/// What a browser test of the demo needs, in the order it is dropped in reverse: the one browser's
/// turn, chromedriver, a data folder and the demo serving it.
struct Demo {
    _one: std::sync::MutexGuard<'static, ()>,
    driver: Driver,
    tmp: tempfile::TempDir,
    dir: PathBuf,
    server: Server,
}

/// The demo served and chromedriver started; `None` (the reason printed: the test is skipped)
/// where there is no Chromium.
fn demo_in_a_browser() -> Option<Demo> {
    let _one = one_browser_at_a_time();
    let driver = match Driver::start() {
        Ok(driver) => driver,
        Err(reason) => {
            println!("skipped: {reason}");
            return None;
        }
    };
    let (tmp, dir) = data_dir();
    let server = Server::start(&dir, &["demo"]);
    Some(Demo { _one, driver, tmp, dir, server })
}
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
/// The W3C WebDriver element reference key.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

fn chromium() -> Option<PathBuf> {
    [CHROMIUM, "/usr/bin/chromium-browser"].iter().map(PathBuf::from).find(|p| p.exists())
}

fn screenshots() -> PathBuf {
    let out = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("docs/screenshots");
    std::fs::create_dir_all(&out).unwrap();
    out
}

#[test]
fn portal_pages_render_in_headless_chromium() {
    let _one = one_browser_at_a_time();
    let Some(browser) = chromium() else {
        eprintln!("skipped: chromium is not installed (.ci/run installs it)");
        return;
    };
    let (tmp, dir) = data_dir();
    let server = Server::start(&dir, &["demo"]);
    let out = screenshots();
    let pages = [
        ("home", "/"),
        ("ente", "/enti/c_esempio"),
        ("modulo-spontaneo", "/spontaneo?codIpaEnte=c_esempio&codTipo=CONTRIBUTO_EVENTI"),
        ("paga-avviso", "/avviso"),
        ("carrello-vuoto", "/carrello"),
    ];
    for (name, path) in pages {
        let file = out.join(format!("{name}.png"));
        let profile = tmp.path().join(format!("chromium-{name}"));
        let status = Command::new(&browser)
            .args(["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"])
            .args(["--disable-component-update", "--disable-sync", "--hide-scrollbars", "--window-size=412,1400"])
            .arg(format!("--user-data-dir={}", profile.display()))
            .arg(format!("--screenshot={}", file.display()))
            .arg(server.url(path))
            .output()
            .unwrap();
        assert!(status.status.success(), "{}", String::from_utf8_lossy(&status.stderr));
        let png = std::fs::read(&file).unwrap();
        assert!(png.starts_with(b"\x89PNG") && png.len() > 5_000, "{name}: no screenshot");
    }
}

/// A running chromedriver on a free loopback port; killed on drop.
struct Driver {
    child: Child,
    url: String,
}

impl Driver {
    fn start() -> Result<Driver, String> {
        if chromium().is_none() {
            return Err("chromium is not installed (.ci/run installs it)".to_owned());
        }
        if !Path::new(CHROMEDRIVER).exists() {
            return Err("chromedriver is not installed (package chromium-driver; .ci/run installs it)".to_owned());
        }
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let child = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let driver = Driver { child, url: format!("http://127.0.0.1:{port}") };
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(mut res) = agent().get(format!("{}/status", driver.url)).call() {
                let status: Value = serde_json::from_str(&res.body_mut().read_to_string().unwrap()).unwrap();
                if status["value"]["ready"] == true {
                    return Ok(driver);
                }
            }
            assert!(Instant::now() < deadline, "chromedriver did not become ready");
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(120)))
        .build()
        .into()
}

/// One WebDriver session (one headless Chromium with a fresh profile); closed on drop.
struct Session {
    base: String,
    agent: ureq::Agent,
}

impl Session {
    fn new(driver: &Driver, profile: &Path) -> Session {
        let args = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            "--window-size=412,1400",
            &format!("--user-data-dir={}", profile.display()),
        ];
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": chromium().unwrap(), "args": args},
        }}});
        let agent = agent();
        let mut res = post_json(&agent, &format!("{}/session", driver.url), &caps);
        let answer: Value = serde_json::from_str(&res.body_mut().read_to_string().unwrap()).unwrap();
        let id = answer["value"]["sessionId"].as_str().unwrap_or_else(|| panic!("no session: {answer}")).to_owned();
        let session = Session { base: format!("{}/session/{id}", driver.url), agent };
        session.cmd("POST", "/timeouts", Some(json!({"script": 60_000, "pageLoad": 30_000, "implicit": 0})));
        session
    }

    /// Sends a command; returns its `value`, or panics with WebDriver's error.
    fn cmd(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        match self.try_cmd(method, path, body.clone()) {
            Ok(value) => value,
            // Headless Chromium on a busy machine now and then loses a message from its renderer
            // (seen on reading the URL while a page reloads itself); a second try tells that
            // from a page that hangs.
            Err(err)
                if err["error"] == "timeout" && err["message"].as_str().is_some_and(|m| m.contains("renderer")) =>
            {
                eprintln!("WebDriver {method} {path} lost by the renderer, trying once more: {err}");
                self.try_cmd(method, path, body).unwrap_or_else(|err| panic!("WebDriver {method} {path}: {err}"))
            }
            Err(err) => panic!("WebDriver {method} {path}: {err}"),
        }
    }

    fn try_cmd(&self, method: &str, path: &str, body: Option<Value>) -> Result<Value, Value> {
        let url = format!("{}{path}", self.base);
        let mut res = match method {
            "GET" => self.agent.get(&url).call().unwrap(),
            "DELETE" => self.agent.delete(&url).call().unwrap(),
            _ => post_json(&self.agent, &url, &body.unwrap_or_else(|| json!({}))),
        };
        let status = res.status().as_u16();
        let text = res.body_mut().with_config().limit(64 * 1024 * 1024).read_to_string().unwrap();
        let answer: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        if status == 200 { Ok(answer["value"].clone()) } else { Err(answer["value"].clone()) }
    }

    fn goto(&self, url: &str) {
        // Headless Chromium on a busy machine now and then loses a navigation ("Timed out
        // receiving message from renderer"); a second try tells that from a page that hangs.
        if let Err(err) = self.try_cmd("POST", "/url", Some(json!({ "url": url }))) {
            eprintln!("navigation to {url} failed, trying once more: {err}");
            self.cmd("POST", "/url", Some(json!({ "url": url })));
        }
    }

    fn url(&self) -> String {
        self.cmd("GET", "/url", None).as_str().unwrap().to_owned()
    }

    fn find(&self, css: &str) -> Option<String> {
        match self.try_cmd("POST", "/element", Some(json!({"using": "css selector", "value": css}))) {
            Ok(found) => Some(found[ELEMENT].as_str().unwrap_or_else(|| panic!("find {css}: {found}")).to_owned()),
            Err(err) if err["error"] == "no such element" => None,
            Err(err) => panic!("WebDriver find {css}: {err}"),
        }
    }

    fn element(&self, css: &str) -> String {
        self.find(css).unwrap_or_else(|| {
            let html = self.exec("return document.documentElement.outerHTML;");
            panic!("no element {css} on {}: {}", self.url(), html.as_str().unwrap_or_default())
        })
    }

    fn click(&self, css: &str) {
        let id = self.element(css);
        // Centred first, so that no fixed bar at the window's edge takes the click.
        let script = "arguments[0].scrollIntoView({block: 'center'});";
        self.cmd("POST", "/execute/sync", Some(json!({"script": script, "args": [{ ELEMENT: id }]})));
        if let Err(err) = self.try_cmd("POST", &format!("/element/{id}/click"), None) {
            // At the bottom edge of the headless window a click can be refused as intercepted:
            // the same click through the DOM.
            assert_eq!(err["error"], "element click intercepted", "click {css}: {err}");
            let script = "arguments[0].click();";
            self.cmd("POST", "/execute/sync", Some(json!({"script": script, "args": [{ ELEMENT: id }]})));
        }
    }

    /// Clicks the link `css` and waits (up to 30 s) until the page at `path` is shown; on a loaded
    /// machine a click sent while the page is still busy can be lost, so it is sent once more
    /// after 10 s on the same page.
    fn follow(&self, css: &str, path: &str) {
        let before = self.url();
        self.click(css);
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.url() == before && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(100));
        }
        if self.url() == before {
            self.click(css);
        }
        self.wait(path, 30, |s| s.url().ends_with(path));
    }

    fn type_in(&self, css: &str, text: &str) {
        let id = self.element(css);
        self.cmd("POST", &format!("/element/{id}/clear"), None);
        self.cmd("POST", &format!("/element/{id}/value"), Some(json!({ "text": text })));
    }

    fn exec(&self, script: &str) -> Value {
        self.cmd("POST", "/execute/sync", Some(json!({"script": script, "args": []})))
    }

    fn text(&self) -> String {
        self.exec("return document.body ? document.body.innerText : '';").as_str().unwrap_or_default().to_owned()
    }

    /// Waits until `check` holds, up to `seconds`.
    fn wait(&self, what: &str, seconds: u64, check: impl Fn(&Session) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(seconds);
        while !check(self) {
            assert!(Instant::now() < deadline, "timed out waiting for {what} on {}: {}", self.url(), self.text());
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn wait_text(&self, text: &str, seconds: u64) {
        self.wait(text, seconds, |s| s.text().contains(text));
    }

    fn screenshot(&self, name: &str) {
        let data = self.cmd("GET", "/screenshot", None);
        let png = base64::engine::general_purpose::STANDARD.decode(data.as_str().unwrap()).unwrap();
        assert!(png.starts_with(b"\x89PNG") && png.len() > 5_000, "{name}: no screenshot");
        std::fs::write(screenshots().join(format!("{name}.png")), png).unwrap();
    }

    /// Runs axe-core on the current page; returns its serious and critical violations as
    /// `rule-id: help (selectors)` lines.
    fn axe(&self) -> Vec<String> {
        let source =
            std::fs::read_to_string(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/browser/axe/axe.min.js"))
                .unwrap();
        self.exec(&format!("{source}\n;return typeof axe;"));
        let script = "var done = arguments[arguments.length - 1];\
            axe.run(document, {resultTypes: ['violations']}).then(function (r) {\
              done(r.violations.map(function (v) { return {id: v.id, impact: v.impact, help: v.help,\
                nodes: v.nodes.map(function (n) { return n.target.join(' '); })}; }));\
            }).catch(function (e) { done('axe failed: ' + e); });";
        let result = self.cmd("POST", "/execute/async", Some(json!({"script": script, "args": []})));
        let list = result.as_array().unwrap_or_else(|| panic!("{result}"));
        list.iter()
            .filter(|v| matches!(v["impact"].as_str(), Some("serious" | "critical")))
            .map(|v| format!("{} ({}): {} {}", v["id"], v["impact"], v["help"], v["nodes"]))
            .collect()
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        let _ = self.try_cmd("DELETE", "", None);
    }
}

fn post_json(agent: &ureq::Agent, url: &str, value: &Value) -> ureq::http::Response<ureq::Body> {
    agent.post(url).header("Content-Type", "application/json").send(value.to_string().as_bytes()).unwrap()
}

/// The newest PIN in the demo outbox, read over HTTP.
fn pin_from_outbox(server: &Server) -> String {
    let page = get(&server.url("/dev/outbox"));
    assert_eq!(page.status, 200);
    let marker = "codice di verifica è ";
    let start = page.body.find(marker).expect("a PIN mail") + marker.len();
    page.body[start..start + 6].to_owned()
}

/// Fills the demo's spontaneous form and adds it to the cart.
fn fill_spontaneous_form(s: &Session, server: &Server, event: &str, amount: &str) {
    s.goto(&server.url("/spontaneo?codIpaEnte=c_esempio&codTipo=CONTRIBUTO_EVENTI"));
    s.wait_text("Evento o iniziativa", 10);
    s.type_in("#evento", event);
    s.type_in("#importo", amount);
    s.click("label[for='tipo_f']");
    s.type_in("#codice_fiscale", "BNCGLI90A41F205H");
    s.type_in("#anagrafica", "Giulia Bianchi");
}

/// Pays the cart at the simulator's Checkout page, choosing "Paga".
fn pay_at_checkout(s: &Session, sim: &str, screenshot: Option<&str>) {
    s.click("label[for='privacy']");
    s.click("form[action='/carrello/paga'] button[type='submit']");
    s.wait("the simulator's Checkout", 15, |s| s.url().starts_with(&format!("{sim}/c/")));
    s.wait("the PSP list", 10, |s| s.find("#psp").is_some());
    if let Some(name) = screenshot {
        s.screenshot(name);
    }
    s.click("button[name='outcome'][value='OK']");
}

#[test]
fn spontaneous_payment_in_chromium_with_axe_and_late_receipt() {
    let Some(Demo { _one, driver, tmp, dir: _, server }) = demo_in_a_browser() else { return };
    let sim = server.simulator_url();
    let s = Session::new(&driver, &tmp.path().join("chromium-profile"));
    let mut axe_report = Vec::new();
    let mut scan = |s: &Session, page: &str| {
        for violation in s.axe() {
            axe_report.push(format!("{page}: {violation}"));
        }
    };

    // Home.
    s.goto(&server.url("/"));
    s.wait_text("Paga con pagoPA", 10);
    s.screenshot("flusso-1-home");
    scan(&s, "home");

    // The spontaneous form, filled and sent.
    fill_spontaneous_form(&s, &server, "Festa di primavera", "25,50");
    s.screenshot("flusso-2-modulo");
    scan(&s, "form");
    s.click("button[name='azione'][value='paga']");
    s.wait("the cart", 10, |s| s.url().ends_with("/carrello"));
    s.wait_text("Contributo Festa di primavera", 5);

    // The payer's e-mail, verified with the PIN from the demo outbox.
    s.type_in("#email", "giulia@example.it");
    s.click("form[action='/carrello/email'] button[type='submit']");
    s.wait("the PIN field", 10, |s| s.find("#pin").is_some());
    s.type_in("#pin", &pin_from_outbox(&server));
    s.click("form[action='/carrello/pin'] button[type='submit']");
    s.wait_text("Indirizzo e-mail verificato", 10);
    s.screenshot("flusso-3-carrello");
    scan(&s, "cart");

    // Checkout at the simulator, back to the outcome.
    pay_at_checkout(&s, &sim, Some("flusso-4-checkout"));
    s.wait("the outcome page", 15, |s| s.url().starts_with(&server.url("/carrello/esito/")));
    s.wait_text("Pagamento eseguito", 20);
    s.screenshot("flusso-5-esito");
    scan(&s, "outcome");

    // The receipt, with the date in Italian format.
    s.click("a[href^='/ricevute/']");
    s.wait_text("Ricevuta di pagamento", 10);
    let text = s.text();
    assert!(text.contains("€ 25,50") && text.contains("Giulia Bianchi"), "{text}");
    let italian = regex_lite::Regex::new(r"Data e ora\s+\d{2}/\d{2}/\d{4} \d{2}:\d{2}").unwrap();
    assert!(italian.is_match(&text), "the payment time is not dd/mm/yyyy HH:MM: {text}");
    s.screenshot("flusso-6-ricevuta");
    scan(&s, "receipt");

    // The receipt arrives 3 s after the payment: the outcome page waits, then shows it by itself.
    let set = post(&format!("{sim}/sim/faults"), "application/json", br#"{"receipt_delay_ms": 3000}"#);
    assert_eq!(set.status, 200, "{}", set.body);
    fill_spontaneous_form(&s, &server, "Sagra d'autunno", "12,00");
    s.click("button[name='azione'][value='paga']");
    s.wait("the cart", 10, |s| s.url().ends_with("/carrello"));
    s.wait_text("Contributo Sagra d'autunno", 5);
    pay_at_checkout(&s, &sim, None);
    s.wait("the outcome page", 15, |s| s.url().starts_with(&server.url("/carrello/esito/")));
    let waiting = s.text();
    assert!(waiting.contains("Stiamo verificando il pagamento"), "{waiting}");
    assert!(s.find("#attesa-esito .progress-spinner").is_some(), "the spinner is shown");
    s.screenshot("flusso-5-attesa");
    let outcome_url = s.url();
    // No navigation from the test from here on: mypay-portal.js polls and reloads.
    s.wait_text("Pagamento eseguito", 30);
    assert_eq!(s.url(), outcome_url);
    assert!(s.find("#attesa-esito").is_none());
    assert!(s.text().contains("€ 12,00"));

    assert!(axe_report.is_empty(), "axe-core found serious or critical violations:\n{}", axe_report.join("\n"));
}

/// Fetches `href` from the page, with the browser's session, and returns (status, first bytes as
/// hex, length): a download as the browser makes it.
fn fetch_in_page(s: &Session, href: &str) -> (u64, String, u64) {
    let script = "var done = arguments[arguments.length - 1];\
        fetch(arguments[0], {credentials: 'same-origin'}).then(function (r) {\
          return r.arrayBuffer().then(function (b) { var a = new Uint8Array(b);\
            done([r.status, Array.from(a.slice(0, 4)).map(function (x) { return x.toString(16); }).join(' '), a.length]); });\
        }).catch(function (e) { done([0, 'fetch failed: ' + e, 0]); });";
    let v = s.cmd("POST", "/execute/async", Some(json!({"script": script, "args": [href]})));
    (v[0].as_u64().unwrap_or(0), v[1].as_str().unwrap_or_default().to_owned(), v[2].as_u64().unwrap_or(0))
}

/// Goes to `url` until its text shows `text` (pages that a background job changes).
fn reload_until(s: &Session, url: &str, text: &str, seconds: u64) {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    loop {
        s.goto(url);
        if s.text().contains(text) {
            return;
        }
        assert!(Instant::now() < deadline, "{url} never showed {text:?}: {}", s.text());
        std::thread::sleep(Duration::from_millis(300));
    }
}

#[test]
fn back_office_in_chromium_with_axe() {
    let Some(Demo { _one, driver, tmp, dir, server }) = demo_in_a_browser() else { return };
    let password = crate::backoffice::demo_password(&server);
    let s = Session::new(&driver, &tmp.path().join("chromium-profile"));
    let mut axe_report = Vec::new();
    let mut scan = |s: &Session, page: &str| {
        for violation in s.axe() {
            axe_report.push(format!("{page}: {violation}"));
        }
    };
    let org = server.url("/operatore/c_esempio");

    // Login.
    s.goto(&server.url("/operatore/accedi"));
    s.wait_text("Accesso operatori", 10);
    s.type_in("#username", "demo");
    s.type_in("#password", &password);
    s.click("form[action='/operatore/accedi'] button[type='submit']");
    s.wait_text("Comune di Esempio", 10);
    s.screenshot("operatore-1-enti");

    // A debt flow uploaded through the form, applied by the job runner, its results downloaded.
    let zip = crate::backoffice::flow_zip(
        "c_esempio-BROWSER1-1_4",
        &[crate::backoffice::row("BRW-1", "10.00"), crate::backoffice::row("BRW-2", "12.50")],
    );
    let file = tmp.path().join("c_esempio-BROWSER1-1_4.zip");
    std::fs::write(&file, &zip).unwrap();
    s.goto(&format!("{org}/flussi"));
    s.wait_text("Flussi dei dovuti", 10);
    let input = s.element("#file");
    s.cmd("POST", &format!("/element/{input}/value"), Some(json!({ "text": file.display().to_string() })));
    s.click("form[enctype='multipart/form-data'] button[type='submit']");
    // The answer's own message: "caricato" alone is also in the empty list's "Nessun flusso
    // caricato", and leaving the page before the upload's answer would cancel it.
    s.wait_text("l'elaborazione è in corso", 30);
    reload_until(&s, &format!("{org}/flussi"), "Eseguito", 90);
    s.screenshot("operatore-2-flussi");
    let (status, head, _) = fetch_in_page(&s, "/operatore/c_esempio/flussi/1/iuv");
    assert_eq!((status, head.as_str()), (200, "50 4b 3 4"), "the _IUV result is a ZIP");

    // One of the new debts paid at the simulator's PSP counter, so that the export has a receipt.
    let notice = {
        let out = crate::support::run(&dir, &["debt", "show", "--org", "c_esempio", "--iud", "BRW-1", "--json"], None);
        let debt: Value = serde_json::from_str(&crate::support::stdout(&out)).unwrap();
        debt["notice_number"].as_str().unwrap().to_owned()
    };
    let body = format!(r#"{{"fiscalCode":"01234567897","noticeNumber":"{notice}"}}"#);
    let sim = server.simulator_url();
    assert!(post(&format!("{sim}/sim/psp/pay"), "application/json", body.as_bytes()).body.contains("\"OK\""));

    // Dashboard, search, detail.
    s.goto(&org);
    s.wait_text("Cruscotto", 10);
    assert!(s.find("svg[role='img']").is_some(), "the chart is drawn on the server");
    s.screenshot("operatore-3-cruscotto");
    scan(&s, "dashboard");
    s.goto(&format!("{org}/dovuti?iud=BRW-1"));
    s.wait_text("Dovuti trovati: 1", 10);
    s.screenshot("operatore-4-ricerca");
    scan(&s, "search");
    s.click("table a[href^='/operatore/c_esempio/dovuti/']");
    s.wait_text("Dovuto BRW-1", 10);
    s.wait_text("Pagato", 5);
    s.screenshot("operatore-5-dovuto");
    scan(&s, "detail");

    // An export requested, then downloaded.
    s.goto(&format!("{org}/esportazioni"));
    s.wait_text("Esportazione ricevute", 10);
    s.click("form[action='/operatore/c_esempio/esportazioni'] button[type='submit']");
    // As for the flow: "richiesta" alone is also in the empty list's text.
    s.wait_text("sarà pronta a breve", 30);
    reload_until(&s, &format!("{org}/esportazioni"), "Scarica", 90);
    s.screenshot("operatore-6-esportazioni");
    let (status, head, len) = fetch_in_page(&s, "/operatore/c_esempio/esportazioni/1/file");
    assert_eq!((status, head.as_str()), (200, "50 4b 3 4"), "the export is a ZIP");
    assert!(len > 100);

    // Settings.
    s.goto(&format!("{org}/impostazioni"));
    s.wait_text("Impostazioni dell'ente", 10);
    s.screenshot("operatore-7-impostazioni");
    scan(&s, "settings");

    // The debt-type editor's live preview: typing the definition updates it without a reload.
    s.goto(&format!("{org}/tipi/nuovo"));
    s.wait_text("Nuovo tipo dovuto", 10);
    s.exec("window.notReloaded = true;");
    s.type_in(
        "#form_definition",
        r#"{"fields": [{"name": "targa", "type": "text", "label": "Targa del veicolo"}], "causale": "Passo {targa}"}"#,
    );
    s.wait("the live preview", 10, |s| s.find("#anteprima-modulo label[for='anteprima-targa']").is_some());
    s.type_in("#form_definition", r#"{"fields": [{"name": "Targa!"}]}"#);
    s.wait_text("La definizione del modulo non è valida", 10);
    assert_eq!(s.exec("return window.notReloaded === true;"), json!(true), "the page was not reloaded");
    scan(&s, "debt type editor");

    // At phone width (360 px) nothing widens the page, and the org's tabs wrap onto more rows
    // rather than hiding past the edge of their own box.
    s.cmd("POST", "/window/rect", Some(json!({"width": 360, "height": 800})));
    for (page, url, text) in
        [("dashboard", org.clone(), "Cruscotto"), ("search", format!("{org}/dovuti?cerca=1"), "Dovuti trovati")]
    {
        s.goto(&url);
        s.wait_text(text, 10);
        let widths = s.exec(
            "const tabs = document.querySelector('.org-tabs'); \
             return [document.documentElement.scrollWidth, window.innerWidth, tabs.scrollWidth, tabs.clientWidth];",
        );
        let [scroll, inner, tabs_scroll, tabs_client] = [0, 1, 2, 3].map(|i| widths[i].as_u64().unwrap());
        assert_eq!(inner, 360, "the window of the {page}");
        assert!(scroll <= inner, "the {page} at {inner} px is {scroll} px wide");
        assert!(tabs_scroll <= tabs_client, "the {page}'s tabs need {tabs_scroll} px in {tabs_client}");
    }

    // Logout.
    s.click("form[action='/operatore/esci'] button[type='submit']");
    s.wait("the login page", 10, |s| s.url().ends_with("/operatore/accedi"));
    s.goto(&org);
    s.wait("the login page again", 10, |s| s.url().ends_with("/operatore/accedi"));

    assert!(axe_report.is_empty(), "axe-core found serious or critical violations:\n{}", axe_report.join("\n"));
}

/// Logs `username` into the back office in Chromium.
fn back_office_login(s: &Session, server: &Server, username: &str, password: &str) {
    s.goto(&server.url("/operatore/accedi"));
    s.wait_text("Accesso operatori", 10);
    s.type_in("#username", username);
    s.type_in("#password", password);
    s.click("form[action='/operatore/accedi'] button[type='submit']");
    s.wait_text("Comune di Esempio", 10);
}

/// An operator's first day (issue 22): the search opens on the latest debts, a paid debt's
/// timeline is read, the result downloaded as CSV, a reporting flow seen with its receipts.
#[test]
fn operator_day_one_in_chromium_with_axe() {
    let Some(Demo { _one, driver, tmp, dir, server }) = demo_in_a_browser() else { return };
    let password = crate::backoffice::demo_password(&server);
    // A paid debt, and the reporting flow of its payment fetched from the simulator.
    let sim = server.simulator_url();
    let (iud, notice, _, _) = crate::station::open_debts(&dir).remove(0);
    let body = format!(r#"{{"fiscalCode":"01234567897","noticeNumber":"{notice}"}}"#);
    assert!(post(&format!("{sim}/sim/psp/pay"), "application/json", body.as_bytes()).body.contains("\"OK\""));
    assert!(post(&format!("{sim}/sim/fdr/generate"), "application/json", b"{}").body.contains("\"fdr\""));
    let config = tmp.path().join("fetch.toml");
    std::fs::write(
        &config,
        format!("version = 1\n[station]\nbroker_id = \"99999000013\"\nstation_id = \"99999000013_01\"\n[node]\nbase_url = \"{sim}\"\n"),
    )
    .unwrap();
    let out = crate::support::run(&dir, &["--config", config.to_str().unwrap(), "reporting", "fetch"], None);
    assert!(out.status.success(), "{}", crate::support::stderr(&out));

    let s = Session::new(&driver, &tmp.path().join("chromium-profile"));
    let mut axe_report = Vec::new();
    let mut scan = |s: &Session, page: &str| {
        for violation in s.axe() {
            axe_report.push(format!("{page}: {violation}"));
        }
    };
    back_office_login(&s, &server, "demo", &password);
    let org = server.url("/operatore/c_esempio");

    // The search opens on the latest debts; the paid one found by its IUD.
    s.goto(&format!("{org}/dovuti"));
    s.wait_text("Ultimi dovuti inseriti", 10);
    // On a phone the latest debts show without scrolling past every criterion.
    let top = s.exec("return [document.querySelector('table').getBoundingClientRect().top, window.innerHeight];");
    assert!(top[0].as_f64().unwrap() < top[1].as_f64().unwrap(), "the results start below the fold: {top}");
    s.screenshot("giorno1-operatore-1-ricerca");
    scan(&s, "search");
    s.type_in("#avviso", &notice);
    s.click("form[action='/operatore/c_esempio/dovuti'] button[type='submit']");
    s.wait_text("Dovuti trovati: 1", 10);
    let (status, head, _) = fetch_in_page(&s, &format!("/operatore/c_esempio/dovuti/csv?iud={iud}"));
    assert_eq!((status, head.as_str()), (200, "ef bb bf 22"), "the CSV starts with a BOM");

    // Its timeline, in words, oldest first.
    s.click("table a[href^='/operatore/c_esempio/dovuti/']");
    s.wait_text("Cronologia", 10);
    s.wait_text("Ricevuta di pagamento ricevuta dal nodo pagoPA", 5);
    assert!(s.text().contains("Pagamento avviato: il nodo pagoPA ha chiesto i dati per pagare"), "{}", s.text());
    s.click("ol[aria-labelledby='cronologia'] details summary");
    // A desktop window, tall enough for the whole timeline in the picture.
    s.cmd("POST", "/window/rect", Some(json!({"width": 1280, "height": 2200})));
    s.wait_text("Cronologia", 5);
    s.screenshot("giorno1-operatore-2-cronologia");
    scan(&s, "timeline");

    // The reporting flow, its row matched to the receipt.
    s.goto(&format!("{org}/rendicontazione"));
    s.wait_text("Flussi di rendicontazione", 10);
    s.screenshot("giorno1-operatore-3-flussi-rendicontazione");
    scan(&s, "reporting flows");
    s.click("table a[href^='/operatore/c_esempio/rendicontazione/']");
    s.wait_text("Pagamenti con la ricevuta corrispondente: 1 su 1.", 10);
    s.screenshot("giorno1-operatore-4-flusso");
    scan(&s, "reporting flow");

    // The journal in words.
    s.goto(&format!("{org}/giornale"));
    s.wait_text("Giornale delle operazioni", 10);
    s.screenshot("giorno1-operatore-5-giornale");
    scan(&s, "journal");

    assert!(axe_report.is_empty(), "axe-core found serious or critical violations:\n{}", axe_report.join("\n"));
}

/// An org admin's first day: an API token created (shown once) and revoked.
#[test]
fn admin_day_one_in_chromium_with_axe() {
    let Some(Demo { _one, driver, tmp, dir: _, server }) = demo_in_a_browser() else { return };
    let password = crate::backoffice::demo_password(&server);
    let s = Session::new(&driver, &tmp.path().join("chromium-profile"));
    let mut axe_report = Vec::new();
    let mut scan = |s: &Session, page: &str| {
        for violation in s.axe() {
            axe_report.push(format!("{page}: {violation}"));
        }
    };
    back_office_login(&s, &server, "demo", &password);
    let org = server.url("/operatore/c_esempio");

    s.goto(&format!("{org}/token"));
    s.wait_text("Token per le API", 10);
    scan(&s, "tokens");
    s.type_in("#etichetta", "Gestionale tributi");
    s.click("form[action='/operatore/c_esempio/token'] button[type='submit']");
    s.wait_text("non sarà più mostrato", 10);
    let token = s.exec("return document.getElementById('nuovo-token').value;");
    assert!(token.as_str().is_some_and(|t| t.starts_with("mpy_") && t.len() == 68), "{token}");
    s.screenshot("giorno1-admin-1-token-creato");
    scan(&s, "token created");
    s.goto(&format!("{org}/token"));
    s.wait_text("Gestionale tributi", 10);
    assert!(s.find("#nuovo-token").is_none(), "the token is shown once");
    s.click("form[action='/operatore/c_esempio/token/1/revoca'] button[type='submit']");
    s.wait_text("Revocato il", 10);
    s.screenshot("giorno1-admin-2-token-revocato");

    // The settings' notice language is a list.
    s.goto(&format!("{org}/impostazioni"));
    s.wait_text("Impostazioni dell'ente", 10);
    assert!(s.find("select#notice-language").is_some());
    scan(&s, "settings");

    assert!(axe_report.is_empty(), "axe-core found serious or critical violations:\n{}", axe_report.join("\n"));
}

/// Checks the page at phone width: nothing scrolls sideways, and every control a finger uses
/// (buttons, fields, the navigation's and the footer's links, the labels of radios and checkboxes)
/// is at least 44 px high and wide. Returns the problems found.
fn phone_problems(s: &Session, page: &str) -> Vec<String> {
    let script = "const out = [];\
        const width = document.scrollingElement.scrollWidth;\
        if (width > 360) { out.push('scrolls sideways: ' + width + ' px wide'); }\
        const targets = document.querySelectorAll('main button, main .btn, main input:not([type=hidden]), main select, \
          main summary, nav a, .it-footer a, header a');\
        for (const el of targets) {\
          let box = el;\
          if (el.type === 'radio' || el.type === 'checkbox') { box = document.querySelector('label[for=\"' + el.id + '\"]') || el; }\
          if (!box.checkVisibility()) { continue; }\
          const r = box.getBoundingClientRect();\
          if (r.height < 44 || r.width < 44) {\
            out.push('small target ' + Math.round(r.width) + 'x' + Math.round(r.height) + ': ' + box.outerHTML.slice(0, 120));\
          }\
        }\
        return out;";
    let found = s.exec(script);
    found.as_array().unwrap().iter().map(|v| format!("{page}: {}", v.as_str().unwrap_or_default())).collect()
}

/// The citizen's day one on a 360 px phone: a spontaneous payment from the home page through the
/// simulator's Checkout and back to the receipt, the e-mail typed once; then a notice found by its
/// code (a wrong check digit told as such first) with the link to its PDF. Every portal page is
/// scanned with axe-core and checked for sideways scrolling and small touch targets; screenshots
/// `cittadino-*.png` in docs/screenshots/.
#[test]
fn citizen_day_one_on_a_phone() {
    let Some(Demo { _one, driver, tmp, dir, server }) = demo_in_a_browser() else { return };
    let sim = server.simulator_url();
    let s = Session::new(&driver, &tmp.path().join("chromium-profile"));
    s.cmd("POST", "/window/rect", Some(json!({"width": 360, "height": 800})));
    assert_eq!(s.exec("return window.innerWidth;"), json!(360));
    let mut report = Vec::new();
    let mut check = |s: &Session, page: &str| {
        report.extend(s.axe().into_iter().map(|v| format!("{page}: axe {v}")));
        report.extend(phone_problems(s, page));
    };

    // Home, the org, its spontaneous payment.
    s.goto(&server.url("/"));
    s.wait_text("Paga con pagoPA", 10);
    assert!(s.find(".it-footer a[href='/operatore/accedi']").is_some(), "the operators' area in the footer");
    s.screenshot("cittadino-1-home");
    check(&s, "home");
    s.follow("a[href='/enti/c_esempio']", "/enti/c_esempio");
    s.wait_text("Contributo per eventi", 10);
    s.screenshot("cittadino-2-ente");
    check(&s, "org");
    fill_spontaneous_form(&s, &server, "Festa di primavera", "25,50");
    s.type_in("#email", "giulia@example.it");
    s.screenshot("cittadino-3-modulo");
    check(&s, "form");
    s.click("button[name='azione'][value='paga']");
    s.wait("the cart", 10, |s| s.url().ends_with("/carrello"));

    // The cart asks for the PIN mailed to the address typed in the form, not for the address.
    s.wait_text("Abbiamo inviato un codice di 6 cifre a giulia@example.it", 10);
    // No address field in sight (another address only inside the closed "Usa un altro indirizzo").
    let shown = s.exec("const e = document.querySelector('#email'); return e !== null && e.checkVisibility();");
    assert_eq!(shown, json!(false), "the cart asks for the e-mail again");
    s.screenshot("cittadino-4-carrello-pin");
    check(&s, "cart (PIN)");
    s.type_in("#pin", &pin_from_outbox(&server));
    s.click("form[action='/carrello/pin'] button[type='submit']");
    s.wait_text("Indirizzo e-mail verificato", 10);
    s.screenshot("cittadino-5-carrello");
    check(&s, "cart");

    // Checkout at the simulator, back to the outcome and the receipt.
    pay_at_checkout(&s, &sim, Some("cittadino-6-checkout"));
    s.wait("the outcome page", 15, |s| s.url().starts_with(&server.url("/carrello/esito/")));
    s.wait_text("Pagamento eseguito", 20);
    s.screenshot("cittadino-7-esito");
    check(&s, "outcome");
    s.click("a[href^='/ricevute/']");
    s.wait_text("Ricevuta di pagamento", 10);
    s.screenshot("cittadino-8-ricevuta");
    check(&s, "receipt");

    // A notice by its code: a wrong check digit is told as such, beside the field.
    let (_, notice, _, _) = crate::station::open_debts(&dir)[0].clone();
    let last = notice.as_bytes()[17];
    let wrong = format!("{}{}", &notice[..17], if last == b'9' { '0' } else { char::from(last + 1) });
    s.goto(&server.url("/avviso"));
    s.wait_text("Paga un avviso", 10);
    s.type_in("#ente", "01234567897");
    s.type_in("#avviso", &wrong);
    s.click("form[action='/avviso'] button[type='submit']");
    s.wait_text("le ultime due cifre (cifre di controllo) non corrispondono", 10);
    assert!(s.find("#avviso.is-invalid").is_some());
    s.screenshot("cittadino-9-avviso-errato");
    check(&s, "notice (wrong code)");
    s.type_in("#avviso", &notice);
    s.click("form[action='/avviso'] button[type='submit']");
    s.wait_text("Avviso di pagamento", 10);
    let href = s.exec("return document.querySelector('#avviso-pdf').getAttribute('href');");
    let href = href.as_str().unwrap().to_owned();
    assert!(href.starts_with(&format!("/avvisi/c_esempio/{notice}.pdf?firma=")), "{href}");
    let (status, head, len) = fetch_in_page(&s, &href);
    assert_eq!((status, head.as_str()), (200, "25 50 44 46"), "the notice PDF");
    assert!(len > 10_000);
    s.screenshot("cittadino-10-avviso");
    check(&s, "notice");

    // A payment asked by the municipality's SIL: its landing page (the summary to confirm).
    crate::sil::set_password(&dir, "c_esempio");
    let doc = crate::sil::dovuti(&crate::sil::single("SIL-TELEFONO-1", "10.00"), None);
    let sent = crate::sil::invia_dovuti("c_esempio", crate::sil::PASSWORD, &crate::sil::b64(&doc), "");
    let answer = crate::sil::call(&server, "paaSILInviaDovuti", &sent);
    let url = crate::sil::text_of(&answer, "url").unwrap_or_else(|| panic!("{answer}"));
    s.goto(&url);
    s.wait_text("Riepilogo del pagamento", 10);
    check(&s, "SIL landing");
    // The Region's return page (here for a session it does not know).
    s.goto(&server.url("/upstream/ritorno?idSession=sconosciuta"));
    s.wait_text("Pagamento non trovato", 10);
    check(&s, "Region return");

    assert!(report.is_empty(), "at 360 px:\n{}", report.join("\n"));
}

/// The onboarding of a new org in the back office (issue 21): the app admin adds it with its
/// adhesion mode, lands on its adhesion page's checklist, records the act, follows a step's link
/// to the settings page and sees the step done; every page scanned by axe-core.
#[test]
fn onboarding_a_new_org_in_chromium_with_axe() {
    let Some(Demo { _one, driver, tmp, dir, server }) = demo_in_a_browser() else { return };
    let out = crate::support::run(
        &dir,
        &["operator", "add", "--username", "root", "--role", "app-admin", "--password-stdin"],
        Some("Una password sicura 1\n"),
    );
    assert!(out.status.success(), "{}", crate::support::stderr(&out));
    let s = Session::new(&driver, &tmp.path().join("chromium-profile"));
    let mut axe_report = Vec::new();
    let mut scan = |s: &Session, page: &str| {
        for violation in s.axe() {
            axe_report.push(format!("{page}: {violation}"));
        }
    };
    s.goto(&server.url("/operatore/accedi"));
    s.wait_text("Accesso operatori", 10);
    s.type_in("#username", "root");
    s.type_in("#password", "Una password sicura 1");
    s.click("form[action='/operatore/accedi'] button[type='submit']");
    s.wait_text("Gestisci gli enti", 10);

    // The new org, with its mode.
    s.goto(&server.url("/operatore/enti"));
    s.wait_text("Nuovo ente", 10);
    scan(&s, "enti");
    for (field, value) in
        [("#ipa", "c_nuovo"), ("#fiscal-code", "02438750586"), ("#name", "Comune Nuovo"), ("#segregation-code", "03")]
    {
        s.type_in(field, value);
    }
    s.click("#mode option[value='flussi']");
    s.click("form[action='/operatore/enti'] button[type='submit']");
    s.wait_text("Adesione al servizio", 10);
    assert!(s.url().ends_with("/operatore/c_nuovo/adesione#avvio"), "{}", s.url());
    assert!(s.text().contains("Modalità per flussi"), "{}", s.text());
    let done = |s: &Session| s.exec("return document.querySelectorAll('.onboarding .bg-success').length;").as_i64();
    assert_eq!(done(&s), Some(0), "nothing done yet: {}", s.text());
    assert!(s.text().contains("Per passare allo stato «Pre-esercizio» mancano 5 passi."), "{}", s.text());
    s.screenshot("operatore-avvio-ente");
    scan(&s, "adesione");

    // The adhesion act.
    s.click("#act-type option[value='delibera']");
    s.type_in("#act-number", "7/2026");
    s.type_in("#act-date", "2026-11-30");
    s.click("form[action='/operatore/c_nuovo/adesione'] button[type='submit']");
    s.wait_text("Adesione salvata", 10);
    assert!(s.text().contains("Delibera n. 7/2026 del 30/11/2026"), "{}", s.text());
    assert_eq!(done(&s), Some(1));

    // A step's link leads to the page where it is done.
    s.click("a[href='/operatore/c_nuovo/impostazioni']");
    s.wait_text("Impostazioni dell'ente", 10);
    s.type_in("#address", "Piazza Grande");
    s.type_in("#city", "Nuova");
    s.type_in("#email", "protocollo@comune.nuovo.it");
    s.type_in("#iban-bank", "IT60X0542811101000000123456");
    s.click("form[action='/operatore/c_nuovo/impostazioni'] button[type='submit']");
    s.wait_text("Impostazioni dell'ente", 10);
    s.goto(&server.url("/operatore/c_nuovo/adesione"));
    s.wait_text("Avvio dell'ente", 10);
    assert_eq!(done(&s), Some(3), "data, IBAN and act: {}", s.text());
    assert!(s.text().contains("mancano 2 passi"), "debt types and the first operator: {}", s.text());
    scan(&s, "adesione dopo i dati");
    assert!(axe_report.is_empty(), "axe-core found serious or critical violations:\n{}", axe_report.join("\n"));
}

/// The privacy pages (issue 21): the portal's notice with one version label, the back office's
/// notice editor (a section changed and published), the register of processing and an erasure
/// request, each scanned with axe-core.
#[test]
fn privacy_pages_in_chromium_with_axe() {
    let Some(Demo { _one, driver, tmp, dir: _, server }) = demo_in_a_browser() else { return };
    let password = crate::backoffice::demo_password(&server);
    let s = Session::new(&driver, &tmp.path().join("chromium-profile"));
    let mut axe_report = Vec::new();
    let mut scan = |s: &Session, page: &str| {
        for violation in s.axe() {
            axe_report.push(format!("{page}: {violation}"));
        }
    };

    // The generic notice: one version label, a DPO to write to.
    s.goto(&server.url("/enti/c_esempio/privacy"));
    s.wait_text("Informativa sul trattamento dei dati personali", 10);
    let text = s.text();
    assert!(text.contains("Informativa generica, versione generica-2"), "{text}");
    assert!(!text.contains("Versione 1.0"), "{text}");
    assert!(text.contains("Responsabile della protezione dei dati"), "{text}");
    scan(&s, "portal privacy (generic)");

    s.goto(&server.url("/operatore/accedi"));
    s.wait_text("Accesso operatori", 10);
    s.type_in("#username", "demo");
    s.type_in("#password", &password);
    s.click("form[action='/operatore/accedi'] button[type='submit']");
    s.wait_text("Comune di Esempio", 10);

    let page = server.url("/operatore/c_esempio/privacy");
    s.goto(&page);
    s.wait_text("Pubblica una nuova versione", 10);
    scan(&s, "notice editor");
    s.type_in("#dpo-contact", "Il Responsabile della protezione dei dati è raggiungibile a rpd@esempio.example.it.");
    s.click("form[action='/operatore/c_esempio/privacy'] button[type='submit']");
    s.wait_text("Informativa privacy pubblicata: versione 1.", 10);
    scan(&s, "notice editor after publishing");

    s.goto(&server.url("/enti/c_esempio/privacy"));
    s.wait_text("rpd@esempio.example.it", 10);
    let text = s.text();
    assert!(text.contains("Versione 1 del") && !text.contains("generica"), "{text}");
    scan(&s, "portal privacy (own version 1)");

    s.goto(&format!("{page}/registro"));
    s.wait_text("Registro delle attività di trattamento", 10);
    assert!(s.text().contains("rpd@esempio.example.it"));
    scan(&s, "register of processing");

    s.goto(&page);
    s.wait_text("Cancella dove consentito", 10);
    s.type_in("#erase-cf", "RSSMRA85T10A562S");
    s.click("form[action='/operatore/c_esempio/privacy/cancellazione'] button[type='submit']");
    s.wait_text("Esito della richiesta per RSSMRA85T10A562S", 10);
    scan(&s, "erasure outcome");

    assert!(axe_report.is_empty(), "axe-core found serious or critical violations:\n{}", axe_report.join("\n"));
}

/// The reconciliation page (issue 19) on the fixtures of mypivot.md §7: the overview with the
/// anomalies first, a label's drill-down, a transfer with its documents and a note, each scanned
/// by axe-core.
#[test]
fn reconciliation_in_chromium_with_axe() {
    use crate::backoffice_reconciliation::{IPA, load_7, logged_in, org_of_7};
    let Some(Demo { _one, driver, tmp, dir, server }) = demo_in_a_browser() else { return };
    org_of_7(&dir);
    let mut admin = logged_in(&server, "ragioneria");
    load_7(&dir, &mut admin);

    let s = Session::new(&driver, &tmp.path().join("chromium-profile"));
    let mut axe_report = Vec::new();
    let mut scan = |s: &Session, page: &str| {
        for violation in s.axe() {
            axe_report.push(format!("{page}: {violation}"));
        }
    };
    s.goto(&server.url("/operatore/accedi"));
    s.wait_text("Accesso operatori", 10);
    s.type_in("#username", "ragioneria");
    s.type_in("#password", "Una password sicura 1");
    s.click("form[action='/operatore/accedi'] button[type='submit']");
    s.wait_text("Comune di Prova", 10);
    s.cmd("POST", "/window/rect", Some(json!({"width": 1280, "height": 2200})));

    s.goto(&server.url(&format!("/operatore/{IPA}/riconciliazione")));
    s.wait_text("Anomalie aperte", 10);
    assert!(s.text().contains("Rendicontazioni di pagamenti non eseguiti"), "{}", s.text());
    s.screenshot("riconciliazione-1-riepilogo");
    scan(&s, "overview");

    s.click("tr[data-label='IUV_NO_RT'] a");
    s.wait_text("Rendicontato dal PSP, ma non c'è la ricevuta del pagamento.", 10);
    assert_eq!(s.exec("return document.querySelectorAll('tr[data-item]').length;"), json!(4));
    s.screenshot("riconciliazione-2-elenco");
    scan(&s, "drill-down");

    s.click("tr[data-item] a");
    s.wait_text("Movimenti di tesoreria", 10);
    s.type_in("#nota-IUV_NO_RT", "chiesta la ricevuta al PSP");
    s.click("form[action$='/segnalazioni'] button[type='submit']");
    s.wait_text("Segnalazione aggiunta.", 10);
    assert!(s.text().contains("chiesta la ricevuta al PSP"), "{}", s.text());
    s.screenshot("riconciliazione-3-elemento");
    scan(&s, "transfer");

    assert!(axe_report.is_empty(), "axe-core found serious or critical violations:\n{}", axe_report.join("\n"));
}

/// Accertamenti (issue 19): the registry imported through its upload form, an accertamento made,
/// a paid debt booked to it with its checkbox, closed and printed; axe-core on every page.
#[test]
fn accertamenti_in_chromium_with_axe() {
    let Some(Demo { _one, driver, tmp, dir, server }) = demo_in_a_browser() else { return };
    let password = crate::backoffice::demo_password(&server);
    let iuvs = crate::accertamenti::pay_demo_debts(&server, &dir, 1);
    let zip = tmp.path().join("c_esempio-ANAGRAFICA-1_0.zip");
    let lines = [
        "\"TRIB\";\"Ufficio Tributi\";\"true\";\"1010\";\"TARI - Tassa rifiuti\";\"2024\";\"2024/101\";\"Accertamento TARI 2024\";\"TARI\";\"I\"",
        "\"PM\";\"Polizia Locale\";\"true\";\"3020\";\"Sanzioni CdS\";\"2024\";\"\";\"\";\"TARI\";\"I\"",
    ];
    std::fs::write(&zip, crate::accertamenti::registry_zip("c_esempio-ANAGRAFICA-1_0", &lines)).unwrap();

    let s = Session::new(&driver, &tmp.path().join("chromium-profile"));
    let mut axe_report = Vec::new();
    let mut scan = |s: &Session, page: &str| {
        for violation in s.axe() {
            axe_report.push(format!("{page}: {violation}"));
        }
    };
    back_office_login(&s, &server, "demo", &password);
    s.click("a[href='/operatore/c_esempio']");
    s.wait("the org's navigation", 10, |s| s.find("a[href='/operatore/c_esempio/accertamenti']").is_some());
    s.click("a[href='/operatore/c_esempio/accertamenti']");
    s.wait_text("L'anagrafica è vuota", 10);
    scan(&s, "empty list");

    let file = s.element("#file");
    s.cmd("POST", &format!("/element/{file}/value"), Some(json!({ "text": zip.to_str().unwrap() })));
    s.click("form[enctype='multipart/form-data'] button[type='submit']");
    s.wait_text("voci aggiunte 2, voci eliminate 0", 10);

    s.exec("document.querySelector('#debt_type').value = 'TARI';");
    s.type_in("#name", "TARI maggio 2024");
    s.click("form[action='/operatore/c_esempio/accertamenti'] button[type='submit']");
    s.wait_text("Pagamenti da attribuire", 10);
    assert!(s.text().contains(&iuvs[0]), "{}", s.text());
    s.cmd("POST", "/window/rect", Some(json!({"width": 1280, "height": 1600})));
    s.screenshot("accertamenti-1-da-attribuire");
    scan(&s, "accertamento, open");

    s.click("input[name='pagamento']");
    s.click("form[action$='/assegna'] button[type='submit']");
    s.wait_text("Pagamenti attribuiti: 1.", 10);
    s.click("button[value='CHIUSO']");
    s.wait_text("Accertamento chiuso.", 10);
    s.screenshot("accertamenti-2-chiuso");
    scan(&s, "accertamento, closed");
    s.click("a[href$='/stampa']");
    s.wait_text("Riepilogo per ufficio, capitolo e accertamento", 10);
    scan(&s, "printable");
    s.goto(&server.url("/operatore/c_esempio/accertamenti"));
    s.wait_text("Anagrafica uffici, capitoli e accertamenti", 10);
    s.screenshot("accertamenti-3-elenco");
    scan(&s, "list and registry");

    assert!(axe_report.is_empty(), "axe-core found serious or critical violations:\n{}", axe_report.join("\n"));
}
