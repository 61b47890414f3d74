//! The citizen portal driven like a browser (cookies kept, CSRF tokens read from the pages) against
//! `mypay demo`, whose in-process pagoPA simulator plays Checkout and delivers the receipts.

use std::time::{Duration, Instant};

use crate::station::open_debts;
use crate::support::{Server, data_dir, run, stdout};

/// A cookie-keeping client that does not follow redirects; a clone keeps the cookie it had.
#[derive(Clone)]
pub struct Browser {
    base: String,
    cookie: Option<String>,
    agent: ureq::Agent,
    pub headers: Vec<(String, String)>,
}

pub struct Page {
    pub status: u16,
    pub location: Option<String>,
    pub body: String,
}

impl Browser {
    pub fn new(base: &str) -> Browser {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .timeout_global(Some(Duration::from_secs(30)))
            .build()
            .into();
        Browser { base: base.to_owned(), cookie: None, agent, headers: Vec::new() }
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    /// The session cookie (`mypay_sid=…`), once the server set one.
    pub fn cookie(&self) -> Option<&str> {
        self.cookie.as_deref()
    }

    fn url(&self, path: &str) -> String {
        if path.starts_with("http") { path.to_owned() } else { format!("{}{path}", self.base) }
    }

    fn finish(&mut self, mut res: ureq::http::Response<ureq::Body>) -> Page {
        for value in res.headers().get_all("set-cookie") {
            let value = value.to_str().unwrap();
            let pair = value.split(';').next().unwrap().to_owned();
            if pair.starts_with("mypay_sid=") {
                assert!(
                    value.contains("HttpOnly") && value.contains("SameSite=Lax") && value.contains("Path=/"),
                    "{value}"
                );
                self.cookie = Some(pair);
            }
        }
        let location = res.headers().get("location").map(|v| v.to_str().unwrap().to_owned());
        let status = res.status().as_u16();
        let body = res.body_mut().read_to_string().unwrap_or_default();
        Page { status, location, body }
    }

    pub fn get(&mut self, path: &str) -> Page {
        let mut req = self.agent.get(self.url(path));
        if let Some(c) = &self.cookie {
            req = req.header("Cookie", c);
        }
        for (n, v) in &self.headers {
            req = req.header(n, v);
        }
        let res = req.call().unwrap();
        self.finish(res)
    }

    pub fn post(&mut self, path: &str, pairs: &[(&str, &str)]) -> Page {
        let body: String = pairs
            .iter()
            .map(|(n, v)| {
                format!("{}={}", mypay::testing::web::forms::encode(n), mypay::testing::web::forms::encode(v))
            })
            .collect::<Vec<_>>()
            .join("&");
        let mut req = self.agent.post(self.url(path)).header("Content-Type", "application/x-www-form-urlencoded");
        if let Some(c) = &self.cookie {
            req = req.header("Cookie", c);
        }
        let res = req.send(body.as_bytes()).unwrap();
        self.finish(res)
    }

    /// Posts a multipart form: text fields and one file.
    pub fn post_multipart(&mut self, path: &str, fields: &[(&str, &str)], file: (&str, &str, &[u8])) -> Page {
        let boundary = "mypayTestBoundary7MA4YWxkTrZu0gW";
        let mut body = Vec::new();
        for (name, value) in fields {
            body.extend_from_slice(
                format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n")
                    .as_bytes(),
            );
        }
        let (name, file_name, data) = file;
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{file_name}\"\r\nContent-Type: application/zip\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(data);
        body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        let mut req =
            self.agent.post(self.url(path)).header("Content-Type", format!("multipart/form-data; boundary={boundary}"));
        if let Some(c) = &self.cookie {
            req = req.header("Cookie", c);
        }
        let res = req.send(&body[..]).unwrap();
        self.finish(res)
    }

    /// Posts a form of `page_path` with its CSRF token added.
    /// Opens `page_path` and sends its form to `action` as a browser would: its CSRF token and
    /// the hidden fields `pairs` does not give, then `pairs`.
    pub fn submit(&mut self, page_path: &str, action: &str, pairs: &[(&str, &str)]) -> Page {
        let page = self.get(page_path);
        let token = csrf(&page.body);
        let hidden = hidden_fields(&page.body, action);
        let mut all = vec![("csrf", token.as_str())];
        let given = |name: &str| name == "csrf" || pairs.iter().any(|(n, _)| *n == name);
        all.extend(hidden.iter().filter(|(n, _)| !given(n)).map(|(n, v)| (n.as_str(), v.as_str())));
        all.extend_from_slice(pairs);
        self.post(action, &all)
    }
}

/// The hidden fields (name, value) of the first form of `html` posting to `action`.
fn hidden_fields(html: &str, action: &str) -> Vec<(String, String)> {
    let Some(start) = html.find(&format!("action=\"{action}\"")) else { return Vec::new() };
    let form = &html[start..html[start..].find("</form>").map_or(html.len(), |end| start + end)];
    let attribute = |tag: &str, name: &str| {
        let marker = format!("{name}=\"");
        tag.find(&marker).map(|at| tag[at + marker.len()..].split('"').next().unwrap_or_default().to_owned())
    };
    form.split("<input")
        .skip(1)
        .map(|rest| rest.split('>').next().unwrap_or_default())
        .filter(|tag| tag.contains("type=\"hidden\""))
        .filter_map(|tag| Some((attribute(tag, "name")?, attribute(tag, "value").unwrap_or_default())))
        .collect()
}

pub fn csrf(html: &str) -> String {
    let marker = "name=\"csrf\" value=\"";
    let start = html.find(marker).unwrap_or_else(|| panic!("no CSRF token in {html}")) + marker.len();
    html[start..start + 64].to_owned()
}

fn sql_count(dir: &std::path::Path, sql: &str) -> i64 {
    let conn = rusqlite::Connection::open(dir.join("mypay.db")).unwrap();
    conn.query_row(sql, [], |r| r.get(0)).unwrap()
}

fn debt_state(dir: &std::path::Path, org: &str, iud: &str) -> String {
    let out = run(dir, &["debt", "show", "--org", org, "--iud", iud, "--json"], None);
    let d: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    d["state"].as_str().unwrap().to_owned()
}

/// The newest PIN in the demo outbox.
fn pin_from_outbox(browser: &mut Browser) -> String {
    let page = browser.get("/dev/outbox");
    assert_eq!(page.status, 200);
    let marker = "codice di verifica è ";
    let start = page.body.find(marker).expect("a PIN mail") + marker.len();
    page.body[start..start + 6].to_owned()
}

/// Verifies the payer's e-mail with the PIN from the outbox.
pub fn verify_email(browser: &mut Browser, email: &str) {
    let sent = browser.submit("/carrello", "/carrello/email", &[("email", email)]);
    assert_eq!(sent.status, 303);
    let pin = pin_from_outbox(browser);
    let ok = browser.submit("/carrello", "/carrello/pin", &[("pin", &pin)]);
    assert_eq!(ok.status, 303);
    assert!(browser.get("/carrello").body.contains("Indirizzo e-mail verificato"));
}

/// Pays the cart at the simulator's Checkout page with `outcome`; returns where the browser lands.
pub fn checkout(browser: &mut Browser, sim: &str, outcome: &str) -> String {
    let paid = browser.submit("/carrello", "/carrello/paga", &[("privacy", "1")]);
    assert_eq!(paid.status, 303, "{}", paid.body);
    let checkout_url = paid.location.unwrap();
    assert!(checkout_url.starts_with(&format!("{sim}/c/")), "{checkout_url}");
    let chosen = browser.post(&checkout_url, &[("outcome", outcome), ("psp", "SIMPSP01")]);
    assert_eq!(chosen.status, 303);
    chosen.location.unwrap()
}

#[test]
fn anonymous_spontaneous_payment_end_to_end() {
    let (_tmp, dir) = data_dir();
    let server = Server::start(&dir, &["demo"]);
    let sim = server.simulator_url();
    let mut b = Browser::new(&server.base);

    let home = b.get("/");
    assert!(home.body.contains("href=\"/enti/c_esempio\""), "{}", home.body);
    let org = b.get("/enti/c_esempio");
    assert!(org.body.contains("/spontaneo?codIpaEnte=c_esempio&amp;codTipo=CONTRIBUTO_EVENTI"), "{}", org.body);
    let form_path = "/spontaneo?codIpaEnte=c_esempio&codTipo=CONTRIBUTO_EVENTI";
    let form = b.get(form_path);
    assert!(form.body.contains("Evento o iniziativa") && form.body.contains("name=\"importo\""), "{}", form.body);

    let fields = [
        ("codIpaEnte", "c_esempio"),
        ("codTipo", "CONTRIBUTO_EVENTI"),
        ("evento", "Festa <di> primavera"),
        ("data_evento", "2026-05-01"),
        ("importo", "25,50"),
        ("tipo_soggetto", "F"),
        ("codice_fiscale", "bncgli90a41f205h"),
        ("anagrafica", "Giulia Bianchi"),
        ("email", "giulia@example.it"),
        ("azione", "paga"),
    ];
    let added = b.submit(form_path, "/spontaneo", &fields);
    assert_eq!(added.status, 303, "{}", added.body);
    assert_eq!(added.location.as_deref(), Some("/carrello"));
    let cart = b.get("/carrello");
    assert!(
        cart.body.contains("€ 25,50") && cart.body.contains("Contributo Festa &lt;di&gt; primavera"),
        "{}",
        cart.body
    );
    // No checkout before the e-mail is verified.
    assert!(!cart.body.contains("action=\"/carrello/paga\""));
    // The e-mail typed in the form is not asked again: its PIN is already on its way.
    assert!(
        cart.body.contains("Abbiamo inviato un codice di 6 cifre a <strong>giulia@example.it</strong>"),
        "{}",
        cart.body
    );
    assert!(!cart.body.contains("Per pagare senza accedere verifica il tuo indirizzo"), "{}", cart.body);
    // The next form starts with what was typed about the debtor.
    let again = b.get(form_path).body;
    for typed in ["value=\"BNCGLI90A41F205H\"", "value=\"Giulia Bianchi\"", "value=\"giulia@example.it\""] {
        assert!(again.contains(typed), "{typed} missing: {again}");
    }

    // PIN: a wrong one is refused, the right one verifies, a replay is refused.
    let pin = pin_from_outbox(&mut b);
    let wrong = if pin == "000000" { "111111" } else { "000000" };
    b.submit("/carrello", "/carrello/pin", &[("pin", wrong)]);
    assert!(b.get("/carrello").body.contains("non è corretto"));
    b.submit("/carrello", "/carrello/pin", &[("pin", &pin)]);
    assert!(b.get("/carrello").body.contains("Indirizzo e-mail verificato"));
    b.submit("/carrello", "/carrello/pin", &[("pin", &pin)]);
    assert!(b.get("/carrello").body.contains("già stato usato"));

    // Checkout without the privacy acceptance is refused.
    let refused = b.submit("/carrello", "/carrello/paga", &[]);
    assert_eq!(refused.status, 303);
    assert!(b.get("/carrello").body.contains("informativa privacy"));

    let back = checkout(&mut b, &sim, "OK");
    assert!(back.starts_with(&format!("{}/carrello/esito/", server.base)), "{back}");
    let outcome = b.get(&back);
    assert_eq!(outcome.status, 200);
    assert!(outcome.body.contains("Pagamento eseguito"), "{}", outcome.body);
    let start = outcome.body.find("href=\"/ricevute/").unwrap() + "href=\"".len();
    let receipt_path = outcome.body[start..].split('"').next().unwrap().to_owned();

    let receipt = b.get(&receipt_path);
    assert_eq!(receipt.status, 200);
    for text in [
        "Comune di Esempio",
        "€ 25,50",
        "Giulia Bianchi",
        "IUV",
        "SIMPSP01",
        "Contributo Festa",
        "Metodo di pagamento</dt><dd class=\"col-sm-8\">Carta di pagamento</dd>",
    ] {
        assert!(receipt.body.contains(text), "{text} missing: {}", receipt.body);
    }
    let xml = b.get(&format!("{receipt_path}/xml"));
    assert_eq!(xml.status, 200);
    // The receipt PDF, with the same access rules (the test browser reads bodies as text, so only
    // the status is checked here; the PDF itself is tested in tests/it/pdf.rs).
    assert_eq!(b.get(&format!("{receipt_path}/pdf")).status, 200);
    assert_eq!(Browser::new(b.base()).get(&format!("{receipt_path}/pdf")).status, 403);
    // The receipt document alone: no SOAP envelope, no paSendRT request around it.
    assert!(xml.body.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<receipt>"), "{}", xml.body);
    assert!(xml.body.ends_with("</receipt>"), "{}", xml.body);
    assert!(!xml.body.contains("paSendRT") && !xml.body.contains("Envelope"), "{}", xml.body);
    assert!(xml.body.contains("<paymentMethod>creditCard</paymentMethod>"), "{}", xml.body);

    // Stored: the receipt, the debt paid, the cart paid, the privacy acceptance, the receipt mail.
    assert_eq!(
        sql_count(
            &dir,
            "SELECT count(*) FROM receipt r JOIN debt d ON d.id = r.debt_id WHERE d.source = 'portal' AND d.state = 'COMPLETATO'"
        ),
        1
    );
    assert_eq!(sql_count(&dir, "SELECT count(*) FROM cart WHERE state = 'PAGATO'"), 1);
    assert_eq!(
        sql_count(&dir, "SELECT count(*) FROM privacy_acceptance WHERE version = 'generica-2' AND channel = 'portale'"),
        1
    );
    let outbox = b.get("/dev/outbox").body;
    let start = outbox.find("?firma=").expect("a receipt link mailed");
    let link_start = outbox[..start].rfind("http").unwrap();
    let link = outbox[link_start..].split_whitespace().next().unwrap().replace("&amp;", "&");
    // The outbox shows when each mail was queued in Italian time: 23:30 UTC on the autumn DST day.
    let conn = rusqlite::Connection::open(dir.join("mypay.db")).unwrap();
    conn.execute("UPDATE mail_outbox SET created_at = '2026-10-25T23:30:00Z'", []).unwrap();
    let outbox = b.get("/dev/outbox").body;
    assert!(outbox.contains("</span> — 26/10/2026 00:30 — "), "{outbox}");

    // Another browser: the signed link works, the bare page does not.
    let mut stranger = Browser::new(&server.base);
    assert_eq!(stranger.get(&receipt_path).status, 403);
    assert_eq!(stranger.get(&link).status, 200);
    assert_eq!(stranger.get(&format!("{link}x")).status, 403);
    // The paid debt left the cart.
    assert!(b.get("/carrello").body.contains("Il carrello è vuoto"));
}

#[test]
fn notices_of_two_orgs_in_one_cart_cancel_and_limits() {
    let (_tmp, dir) = data_dir();
    let server = Server::start(&dir, &["demo"]);
    let sim = server.simulator_url();
    // A second org with one notice, created with the CLI.
    crate::support::add_milano(&dir);
    let out = run(
        &dir,
        &[
            "debt-type",
            "add",
            "--org",
            "c_f205",
            "--code",
            "MENSA",
            "--description",
            "Mensa scolastica",
            "--taxonomy",
            "0101002IM",
            "--due-date-mandatory",
            "--json",
        ],
        None,
    );
    assert!(out.status.success(), "{}", crate::support::stderr(&out));
    let out = run(
        &dir,
        &[
            "debt",
            "add",
            "--org",
            "c_f205",
            "--debt-type",
            "MENSA",
            "--iud",
            "MENSA-1",
            "--generate-iuv",
            "--debtor-id",
            "RSSMRA85T10A562S",
            "--debtor-name",
            "Mario Rossi",
            "--amount",
            "45.00",
            "--due-date",
            "2099-12-31",
            "--causale",
            "Mensa ottobre",
            "--json",
        ],
        None,
    );
    assert!(out.status.success(), "{}", crate::support::stderr(&out));
    let milano: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let milano_notice = milano["notice_number"].as_str().unwrap().to_owned();
    let debts = open_debts(&dir);

    let mut b = Browser::new(&server.base);
    // Pay a notice: look it up (grouped with spaces), see its data, add it.
    let grouped = milano["notice_number_grouped"].as_str().unwrap().to_owned();
    let found = b.submit("/avviso", "/avviso", &[("ente", "01199250158"), ("avviso", &grouped)]);
    assert_eq!(found.status, 200);
    assert!(
        found.body.contains("Comune di Milano") && found.body.contains("€ 45,00") && found.body.contains("31/12/2099"),
        "{}",
        found.body
    );
    assert_eq!(
        b.submit("/avviso", "/carrello/aggiungi", &[("ente", "01199250158"), ("avviso", &milano_notice)]).status,
        303
    );
    for d in &debts[..2] {
        assert_eq!(b.submit("/avviso", "/carrello/aggiungi", &[("ente", "01234567897"), ("avviso", &d.1)]).status, 303);
    }
    // Unknown notice and the same notice twice: clear messages.
    let unknown = b.submit("/avviso", "/avviso", &[("ente", "01234567897"), ("avviso", "301000000000099999")]);
    assert!(
        unknown.status >= 400
            && (unknown.body.contains("Non abbiamo trovato") || unknown.body.contains("cifre di controllo")),
        "{}",
        unknown.body
    );
    let twice = b.submit("/avviso", "/carrello/aggiungi", &[("ente", "01234567897"), ("avviso", &debts[0].1)]);
    assert_eq!(twice.status, 409);
    assert!(twice.body.contains("già nel carrello"));

    // Cancel at Checkout: back to the cart, nothing paid.
    verify_email(&mut b, "mario@example.it");
    let back = checkout(&mut b, &sim, "CANCEL");
    assert!(back.contains("/carrello/annullato/"), "{back}");
    let page = b.get(&back);
    assert_eq!(page.location.as_deref(), Some("/carrello"));
    assert!(b.get("/carrello").body.contains("annullato il pagamento"));
    assert_eq!(debt_state(&dir, "c_f205", "MENSA-1"), "INSERIMENTO_DOVUTO");
    assert_eq!(sql_count(&dir, "SELECT count(*) FROM cart WHERE state = 'ANNULLATO'"), 1);

    // Pay the three notices of two orgs.
    let back = checkout(&mut b, &sim, "OK");
    let outcome = b.get(&back);
    assert!(
        outcome.body.contains("Pagamento eseguito") && outcome.body.contains("€ 45,00")
            || outcome.body.contains("Pagamento eseguito"),
        "{}",
        outcome.body
    );
    assert_eq!(outcome.body.matches("href=\"/ricevute/").count(), 3, "{}", outcome.body);
    assert_eq!(debt_state(&dir, "c_f205", "MENSA-1"), "COMPLETATO");
    assert_eq!(debt_state(&dir, "c_esempio", &debts[0].0), "COMPLETATO");
    assert_eq!(debt_state(&dir, "c_esempio", &debts[1].0), "COMPLETATO");
    assert_eq!(sql_count(&dir, "SELECT count(*) FROM privacy_acceptance"), 4, "two orgs, two checkouts");

    // A paid notice is refused with a clear message.
    let paid = b.submit("/avviso", "/avviso", &[("ente", "01199250158"), ("avviso", &milano_notice)]);
    assert!(paid.body.contains("già pagato"), "{}", paid.body);

    // Five notices fit, a sixth does not.
    for d in &debts[2..7] {
        assert_eq!(b.submit("/avviso", "/carrello/aggiungi", &[("ente", "01234567897"), ("avviso", &d.1)]).status, 303);
    }
    let sixth = b.submit("/avviso", "/carrello/aggiungi", &[("ente", "01234567897"), ("avviso", &debts[7].1)]);
    assert_eq!(sixth.status, 409);
    assert!(sixth.body.contains("già 5 avvisi"), "{}", sixth.body);
}

#[test]
fn bad_input_is_refused_and_nothing_is_stored() {
    let (_tmp, dir) = data_dir();
    let server = Server::start(&dir, &["demo"]);
    let mut b = Browser::new(&server.base);
    let form_path = "/spontaneo?codIpaEnte=c_esempio&codTipo=CONTRIBUTO_EVENTI";
    let debts_before = sql_count(&dir, "SELECT count(*) FROM debt");
    let base = |amount: &'static str, cf: &'static str| {
        vec![
            ("codIpaEnte", "c_esempio"),
            ("codTipo", "CONTRIBUTO_EVENTI"),
            ("evento", "Sagra"),
            ("importo", amount),
            ("tipo_soggetto", "F"),
            ("codice_fiscale", cf),
            ("anagrafica", "Mario Rossi"),
            ("azione", "avviso"),
        ]
    };
    let bad_cf = b.submit(form_path, "/spontaneo", &base("10,00", "RSSMRA85T10A562X"));
    assert_eq!(bad_cf.status, 422);
    // A wrong check character is told as such, not as a generic invalid code.
    assert!(
        bad_cf.body.contains(
            "Il codice fiscale non è corretto: l'ultima lettera (carattere di controllo) non corrisponde agli altri caratteri."
        ),
        "{}",
        bad_cf.body
    );
    let short = b.submit(form_path, "/spontaneo", &base("10,00", "RSSMRA85T10"));
    assert!(
        short.body.contains(
            "Per una persona fisica indica il codice fiscale (16 caratteri) o la partita IVA (11 cifre): ne hai inseriti 11."
        ) || short.body.contains("La partita IVA"),
        "{}",
        short.body
    );
    for amount in ["0", "-5", "1.000.000.000,00", "0,001", "dieci"] {
        let page = b.submit(form_path, "/spontaneo", &base(amount, "RSSMRA85T10A562S"));
        assert_eq!(page.status, 422, "{amount}");
        assert!(page.body.contains("Inserisci un importo maggiore di zero"), "{amount}: {}", page.body);
    }
    // A tampered hidden field: a debt type that is not spontaneous.
    let mut tampered = base("10,00", "RSSMRA85T10A562S");
    tampered[1] = ("codTipo", "TARI");
    let page = b.submit(form_path, "/spontaneo", &tampered);
    assert_eq!(page.status, 404);
    assert!(page.body.contains("non è più disponibile"));
    // No CSRF token, or a wrong one.
    let page = b.post("/spontaneo", &base("10,00", "RSSMRA85T10A562S"));
    assert_eq!(page.status, 403);
    let mut forged = base("10,00", "RSSMRA85T10A562S");
    let fake = "0".repeat(64);
    forged.push(("csrf", &fake));
    assert_eq!(b.post("/spontaneo", &forged).status, 403);
    assert_eq!(sql_count(&dir, "SELECT count(*) FROM debt"), debts_before, "nothing stored");

    // A notice to pay later: grouped notice number and the data to pay at a PSP.
    let later = b.submit(form_path, "/spontaneo", &base("1.234,56", "RSSMRA85T10A562S"));
    assert_eq!(later.status, 200, "{}", later.body);
    assert!(
        later.body.contains("Avviso creato") && later.body.contains("€ 1.234,56") && later.body.contains("01234567897")
    );
    assert!(later.body.contains("class=\"notice-number\">3"), "{}", later.body);
    // Its notice PDF behind a signed link; a tampered link is refused.
    let marker = "href=\"/avvisi/";
    let start = later.body.find(marker).expect("a link to the notice PDF") + "href=\"".len();
    let link = later.body[start..].split('"').next().unwrap().replace("&amp;", "&");
    assert_eq!(b.get(&link).status, 200, "{link}");
    let tampered = format!("{}0", link.trim_end_matches(|c: char| c.is_ascii_hexdigit()));
    assert_eq!(b.get(&tampered).status, 403);
    assert_eq!(sql_count(&dir, "SELECT count(*) FROM debt"), debts_before + 1);
    assert_eq!(sql_count(&dir, "SELECT count(*) FROM cart"), 0, "nothing paid");
    // The demo-only pages are not there without --demo (checked in citizen test); the outbox is here.
    assert_eq!(b.get("/dev/outbox").status, 200);
}

#[test]
fn citizen_behind_a_trusted_proxy_sees_debts_and_receipts() {
    let (tmp, dir) = data_dir();
    let config = tmp.path().join("mypay.toml");
    std::fs::write(&config, "version = 1\n[citizen_auth]\nmode = \"headers\"\ntrusted_proxies = [\"127.0.0.1\"]\n")
        .unwrap();
    let server = Server::start(&dir, &["--config", config.to_str().unwrap(), "demo"]);
    let sim = server.simulator_url();
    // Pay one of Mario Rossi's notices at a PSP counter, so he has a receipt.
    // Mario Rossi's first instalment (the demo's first debt).
    let first = open_debts(&dir).into_iter().find(|d| d.0.ends_with("-0001")).unwrap();
    let body = format!(r#"{{"fiscalCode":"01234567897","noticeNumber":"{}"}}"#, first.1);
    let paid = crate::support::post(&format!("{sim}/sim/psp/pay"), "application/json", body.as_bytes());
    assert!(paid.body.contains("\"OK\""), "{}", paid.body);

    let mut anonymous = Browser::new(&server.base);
    assert_eq!(anonymous.get("/area-personale").location.as_deref(), Some("/accedi"));

    let mut b = Browser::new(&server.base);
    b.headers = vec![
        ("x-spid-fiscalnumber".to_owned(), "TINIT-RSSMRA85T10A562S".to_owned()),
        ("x-spid-name".to_owned(), "Mario Rossi".to_owned()),
        ("x-spid-email".to_owned(), "mario@example.it".to_owned()),
    ];
    let before = b.get("/");
    assert!(before.body.contains("Accedi"));
    let login = b.get("/accedi");
    assert_eq!(login.status, 303);
    assert_eq!(login.location.as_deref(), Some("/area-personale"));
    let mine = b.get("/area-personale");
    assert_eq!(mine.status, 200);
    assert!(mine.body.contains("Mario Rossi"));
    // The demo gives Mario Rossi four TARI instalments; one is paid.
    assert_eq!(mine.body.matches("class=\"list-group-item my-debt\"").count(), 3, "{}", mine.body);
    let payments = b.get("/area-personale/pagamenti");
    assert_eq!(payments.body.matches("class=\"list-group-item my-receipt\"").count(), 1, "{}", payments.body);
    let start = payments.body.find("href=\"/ricevute/").unwrap() + "href=\"".len();
    let receipt_path = payments.body[start..].split('"').next().unwrap().to_owned();
    assert_eq!(b.get(&receipt_path).status, 200, "the debtor may see the receipt");
    assert_eq!(anonymous.get(&receipt_path).status, 403);
    // Logging out ends the session.
    let logout = b.submit("/area-personale", "/esci", &[]);
    assert_eq!(logout.status, 303);
    b.headers.clear();
    assert_eq!(b.get("/area-personale").location.as_deref(), Some("/accedi"));
}

/// Prints the figures of the report: median server time of the form and cart pages over loopback,
/// and the home page's weight (HTML plus the assets it loads). Never fails on timing.
#[test]
fn portal_figures() {
    let (_tmp, dir) = data_dir();
    let server = Server::start(&dir, &["demo"]);
    let mut b = Browser::new(&server.base);
    let debts = open_debts(&dir);
    for d in &debts[..3] {
        b.submit("/avviso", "/carrello/aggiungi", &[("ente", "01234567897"), ("avviso", &d.1)]);
    }
    let median = |b: &mut Browser, path: &str| {
        let mut times: Vec<Duration> = (0..41)
            .map(|_| {
                let t = Instant::now();
                assert_eq!(b.get(path).status, 200);
                t.elapsed()
            })
            .collect();
        times.sort();
        times[times.len() / 2]
    };
    let form = median(&mut b, "/spontaneo?codIpaEnte=c_esempio&codTipo=CONTRIBUTO_EVENTI");
    let cart = median(&mut b, "/carrello");
    let home = b.get("/");
    let mut weight = home.body.len();
    for attr in ["href=\"/static/", "src=\"/static/"] {
        for part in home.body.split(attr).skip(1) {
            let path = part.split('"').next().unwrap().replace("&amp;", "&");
            weight += b.get(&format!("/static/{path}")).body.len();
        }
    }
    eprintln!(
        "portal figures: median form page {:.2} ms, median cart page (3 notices) {:.2} ms, home HTML {} B, home with CSS/JS {} KiB (fonts load on demand)",
        form.as_secs_f64() * 1000.0,
        cart.as_secs_f64() * 1000.0,
        home.body.len(),
        weight / 1024
    );
}

/// The Region's return (`/upstream/ritorno`, upstream mode's back URL) trusts nothing it carries:
/// an idSession the box never sent to a Region, whatever `esito` says, is a clear "not found" that
/// changes nothing and asks nobody (this server has no Region).
#[test]
fn the_regions_return_trusts_nothing_from_the_query_string() {
    let (_tmp, dir) = data_dir();
    let server = Server::start(&dir, &["demo"]);
    let mut b = Browser::new(&server.base);
    let carts_before = sql_count(&dir, "SELECT count(*) FROM cart");
    let long = "a".repeat(200);
    for query in [
        "idSession=6f1c2a4e-1b2c-4d3e-a4f5-251207100000&esito=OK&pollingToken=eyJhbGciOiJIUzUxMiJ9.e30.x",
        "idSession=6f1c2a4e-1b2c-4d3e-a4f5-251207100000&esito=ERROR",
        "idSession=x%0D%0ALocation%3A%20https%3A%2F%2Fevil.example&esito=OK",
        &format!("idSession={long}&esito=OK"),
        "esito=OK",
        "",
    ] {
        let page = b.get(&format!("/upstream/ritorno?{query}"));
        assert_eq!(page.status, 404, "{query}: {}", page.body);
        assert_eq!(page.location, None, "{query}");
        assert!(
            page.body.contains("Pagamento non trovato") && page.body.contains("non ripetere il pagamento"),
            "{query}"
        );
        assert!(!page.body.contains("Pagamento eseguito"), "{query}");
    }
    assert_eq!(sql_count(&dir, "SELECT count(*) FROM cart"), carts_before, "nothing recorded");
    assert_eq!(sql_count(&dir, "SELECT count(*) FROM region_payment"), 0);
}

#[test]
fn codes_typed_wrong_are_told_precisely_and_a_found_notice_has_its_pdf() {
    let (_tmp, dir) = data_dir();
    let server = Server::start(&dir, &["demo"]);
    let debts = open_debts(&dir);
    let notice = debts[0].1.clone();
    let mut b = Browser::new(&server.base);
    let look =
        |b: &mut Browser, org: &str, code: &str| b.submit("/avviso", "/avviso", &[("ente", org), ("avviso", code)]);

    // 18 digits with a wrong check: said so, beside the field, not "must have 18 digits".
    let last = notice.as_bytes()[17];
    let wrong = format!("{}{}", &notice[..17], if last == b'9' { '0' } else { char::from(last + 1) });
    let page = look(&mut b, "01234567897", &wrong);
    assert_eq!(page.status, 400);
    assert!(
        page.body.contains(
            "Il codice avviso non è corretto: le ultime due cifre (cifre di controllo) non corrispondono alle altre. Controlla di averlo copiato senza errori."
        ),
        "{}",
        page.body
    );
    assert!(page.body.contains("id=\"avviso-error\""), "{}", page.body);
    assert!(!page.body.contains("ne hai inserite"), "{}", page.body);
    // A wrong length names the digits typed; letters are told apart.
    let page = look(&mut b, "01234567897", &notice[..16]);
    assert!(
        page.body
            .contains("Il codice avviso ha 18 cifre: ne hai inserite 16. Puoi indicare anche lo IUV (15 o 17 cifre)."),
        "{}",
        page.body
    );
    let page = look(&mut b, "01234567897", "3010 0000 ABCD 0001 44");
    assert!(page.body.contains("Il codice avviso è fatto solo di cifre"), "{}", page.body);
    let page = look(&mut b, "01234567897", "901000000000000144");
    assert!(page.body.contains("la prima cifra è sempre 0, 1, 2 o 3"), "{}", page.body);
    // The IUV (17 digits) with a wrong check, and the org's code with a wrong check digit.
    let page = look(&mut b, "01234567897", &wrong[1..]);
    assert!(page.body.contains("Lo IUV non è corretto: le ultime due cifre"), "{}", page.body);
    let page = look(&mut b, "01234567890", &notice);
    assert!(
        page.body.contains("Il codice fiscale dell'ente non è corretto: l'ultima cifra (di controllo)"),
        "{}",
        page.body
    );
    assert!(page.body.contains("id=\"ente-error\""), "{}", page.body);
    let page = look(&mut b, "0123456789", &notice);
    assert!(page.body.contains("Il codice fiscale dell'ente ha 11 cifre: ne hai inserite 10."), "{}", page.body);

    // The right codes: the notice, a link to its PDF, and the org's code kept for the next search.
    let found = look(&mut b, "01234567897", &notice);
    assert_eq!(found.status, 200, "{}", found.body);
    let marker = "href=\"/avvisi/c_esempio/";
    let start = found.body.find(marker).expect("a link to the notice PDF") + "href=\"".len();
    let link = found.body[start..].split('"').next().unwrap().replace("&amp;", "&");
    assert!(link.starts_with(&format!("/avvisi/c_esempio/{notice}.pdf?firma=")), "{link}");
    // The test browser reads bodies as text: the PDF's status here, its bytes in tests/it/pdf.rs.
    assert_eq!(b.get(&link).status, 200);
    assert_eq!(b.get(&format!("{link}0")).status, 403);
    assert!(b.get("/avviso").body.contains("value=\"01234567897\""));
}

#[test]
fn a_login_ends_where_the_citizen_was() {
    let (_tmp, dir) = data_dir();
    let server = Server::start(&dir, &["demo"]);
    let mut b = Browser::new(&server.base);
    // From the cart's "Oppure accedi con SPID o CIE": back to the cart, its notice still there.
    let debts = open_debts(&dir);
    assert_eq!(
        b.submit("/avviso", "/carrello/aggiungi", &[("ente", "01234567897"), ("avviso", &debts[0].1)]).status,
        303
    );
    assert!(b.get("/carrello").body.contains("href=\"/accedi?torna=/carrello\""));
    let login = |b: &mut Browser, from: &str| b.submit(from, "/accedi/demo", &[("cittadino", "RSSMRA85T10A562S")]);
    let done = login(&mut b, "/accedi?torna=/carrello");
    assert_eq!(done.location.as_deref(), Some("/carrello"));
    assert!(b.get("/carrello").body.contains(&grouped_notice(&debts[0].1)));
    // A page that needs the login, asked for first: back to it.
    let mut b = Browser::new(&server.base);
    assert_eq!(b.get("/area-personale/pagamenti").location.as_deref(), Some("/accedi"));
    assert_eq!(login(&mut b, "/accedi").location.as_deref(), Some("/area-personale/pagamenti"));
    // Another site is never where a login ends.
    let mut b = Browser::new(&server.base);
    for evil in ["%2F%2Fevil.example%2Fx", "https%3A%2F%2Fevil.example%2F", "%2F%5Cevil.example"] {
        b.get(&format!("/accedi?torna={evil}"));
    }
    assert_eq!(login(&mut b, "/accedi").location.as_deref(), Some("/area-personale"));
}

fn grouped_notice(notice: &str) -> String {
    notice.as_bytes().chunks(4).map(|c| String::from_utf8_lossy(c).into_owned()).collect::<Vec<_>>().join(" ")
}
