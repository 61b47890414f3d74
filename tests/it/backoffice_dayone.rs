//! An operator's first day in the back office (issue 22): the search opening on the latest debts,
//! a paid debt's timeline in words, the journal in words, a CSV that Excel reads, the reporting
//! flows with the receipt of each row, API tokens, the expired-debts export, the notice language
//! as a list, and a refused debt told field by field.

use crate::backoffice::{demo_logged_in, wait_for};
use crate::station::open_debts;
use crate::support::{Server, data_dir, get_with, post, run, stdout};

/// The page of the debt with this IUD, from the search's link.
fn debt_page(browser: &mut crate::portal::Browser, iud: &str) -> String {
    let list = browser.get(&format!("/operatore/c_esempio/dovuti?iud={iud}")).body;
    let marker = "href=\"/operatore/c_esempio/dovuti/";
    list.match_indices(marker)
        .map(|(at, _)| list[at + marker.len()..].split('"').next().unwrap())
        .find(|id| !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()))
        .map(|id| format!("/operatore/c_esempio/dovuti/{id}"))
        .unwrap_or_else(|| panic!("{list}"))
}

#[test]
fn search_lands_on_the_latest_debts_and_the_csv_opens_in_excel() {
    let (_tmp, _dir, _server, mut browser) = demo_logged_in();
    let page = browser.get("/operatore/c_esempio/dovuti").body;
    assert!(page.contains("<h2 class=\"h4\">Ultimi dovuti inseriti</h2>"), "{page}");
    assert!(page.contains("Dovuti trovati: 20"), "{page}");
    assert!(page.contains("Pagina 1 di 1"), "{page}");

    let csv = browser.get("/operatore/c_esempio/dovuti/csv");
    assert!(csv.body.starts_with("\u{feff}\"IUD\";\"IUV\";"), "a BOM first: {:?}", &csv.body[..20]);
    let row = csv.body.lines().nth(1).unwrap();
    let cells: Vec<&str> = row.split(';').map(|c| c.trim_matches('"')).collect();
    let (amount, due, updated) = (cells[8], cells[9], cells[11]);
    assert!(amount.contains(',') && !amount.contains('.') || amount.contains(".") && amount.contains(','), "{row}");
    let is_day = |t: &str| t.len() == 10 && t.as_bytes()[2] == b'/' && t.as_bytes()[5] == b'/';
    assert!(due.is_empty() || is_day(due), "dd/mm/yyyy: {row}");
    assert!(
        is_day(&updated[..10]) && updated.len() == 19 && !updated.contains('T') && !updated.ends_with('Z'),
        "{row}"
    );
}

#[test]
fn a_paid_debt_tells_its_story_in_words() {
    let (_tmp, dir, server, mut browser) = demo_logged_in();
    let sim = server.simulator_url();
    let (iud, notice, _, _) = open_debts(&dir).remove(0);
    let page = debt_page(&mut browser, &iud);
    assert_eq!(browser.get(&format!("{page}/avviso")).status, 200, "printed before it is paid");
    let body = format!(r#"{{"fiscalCode":"01234567897","noticeNumber":"{notice}"}}"#);
    assert!(post(&format!("{sim}/sim/psp/pay"), "application/json", body.as_bytes()).body.contains("\"OK\""));
    // The notice's entry is written with the next batch of the journal.
    let detail = wait_for(&mut browser, &page, "Avviso di pagamento scaricato");
    for sentence in [
        "<h2 class=\"h4\" id=\"cronologia\">Cronologia</h2>",
        "Pagamento avviato: il nodo pagoPA ha chiesto i dati per pagare",
        "<strong>Ricevuta di pagamento ricevuta dal nodo pagoPA</strong>",
        " · nodo pagoPA</div>",
        " · operatore demo</div>",
        "<summary>Dettagli tecnici</summary>",
    ] {
        assert!(detail.contains(sentence), "{sentence:?} in {detail}");
    }
    let created = detail.find("Dovuto inserito").unwrap_or_else(|| panic!("{detail}"));
    let paid = detail.find("Ricevuta di pagamento ricevuta").unwrap();
    assert!(created < paid, "oldest first");

    // A receipt export that carries it joins the story.
    let exports = "/operatore/c_esempio/esportazioni";
    assert_eq!(
        browser.submit(exports, exports, &[("from", "2000-01-01"), ("to", "2099-12-31"), ("version", "1.3")]).status,
        303
    );
    wait_for(&mut browser, exports, "Scarica");
    let detail = browser.get(&page).body;
    assert!(
        detail.contains("Ricevuta inclusa nell&#39;esportazione n. 1")
            || detail.contains("Ricevuta inclusa nell'esportazione n. 1"),
        "{detail}"
    );

    // The journal in words, its data behind a toggle, filtered by a list of operations.
    let journal = browser.get("/operatore/c_esempio/giornale?azione=paSendRTV2").body;
    assert!(journal.contains("<td>Ricevuta di pagamento ricevuta dal nodo pagoPA<details class=\"small\"><summary>Dati</summary>Codice: <code>paSendRTV2</code>"), "{journal}");
    assert!(journal.contains("<td>nodo pagoPA</td>") && journal.contains("<td>riuscita</td>"), "{journal}");
    assert!(
        journal.contains(
            "<option value=\"paSendRTV2\" selected>Ricevuta di pagamento ricevuta dal nodo pagoPA (paSendRTV2)</option>"
        ),
        "{journal}"
    );
    let marker = "href=\"/operatore/c_esempio/giornale/";
    let at = journal.find(marker).unwrap() + marker.len();
    let entry_id = journal[at..].split('"').next().unwrap();
    let entry = browser.get(&format!("/operatore/c_esempio/giornale/{entry_id}")).body;
    assert!(entry.contains("<details class=\"mb-3\"><summary class=\"h5\">Richiesta</summary>"), "{entry}");
}

#[test]
fn reporting_flows_show_the_receipt_of_each_row() {
    let (tmp, dir, server, mut browser) = demo_logged_in();
    let sim = server.simulator_url();
    let (_, notice, iuv, _) = open_debts(&dir).remove(0);
    let body = format!(r#"{{"fiscalCode":"01234567897","noticeNumber":"{notice}"}}"#);
    assert!(post(&format!("{sim}/sim/psp/pay"), "application/json", body.as_bytes()).body.contains("\"OK\""));
    assert!(post(&format!("{sim}/sim/fdr/generate"), "application/json", b"{}").body.contains("\"fdr\""));
    let config = tmp.path().join("fetch.toml");
    std::fs::write(
        &config,
        format!("version = 1\n[station]\nbroker_id = \"99999000013\"\nstation_id = \"99999000013_01\"\n[node]\nbase_url = \"{sim}\"\n"),
    )
    .unwrap();
    let out = run(&dir, &["--config", config.to_str().unwrap(), "reporting", "fetch", "--json"], None);
    assert!(out.status.success(), "{}", stdout(&out));
    // A row nobody paid here, for "nessuna ricevuta".
    let conn = rusqlite::Connection::open(dir.join("mypay.db")).unwrap();
    conn.execute(
        "INSERT INTO reporting_payment (flow_id, row_index, iuv, iur, transfer_index, amount_cents, outcome_code, outcome_date) \
         VALUES (1, 99, '01999999999999999', 'IUR-X', 1, 500, '0', '2026-12-07')",
        [],
    )
    .unwrap();

    let list = browser.get("/operatore/c_esempio/rendicontazione").body;
    assert!(list.contains("<h1>Flussi di rendicontazione</h1>") && list.contains("Acquisito"), "{list}");
    assert!(list.contains("href=\"/operatore/c_esempio/rendicontazione/1\""), "{list}");
    let flow = browser.get("/operatore/c_esempio/rendicontazione/1").body;
    assert!(flow.contains("Pagamenti con la ricevuta corrispondente: 1 su 2."), "{flow}");
    assert!(flow.contains(&format!("<td><code>{iuv}</code></td>")), "{flow}");
    assert!(flow.contains("<td>nessuna ricevuta</td>"), "{flow}");
    assert!(flow.contains("\">Ricevuta "), "{flow}");
    assert_eq!(browser.get("/operatore/c_esempio/rendicontazione/999").status, 404);
    let board = browser.get("/operatore/c_esempio").body;
    assert!(
        board.contains("<a href=\"/operatore/c_esempio/rendicontazione\">Flussi di rendicontazione</a>"),
        "{board}"
    );
}

#[test]
fn an_acquisition_is_queued_from_the_page() {
    let fake = crate::support::fake_http(|req| {
        if req.request_line.starts_with("GET ") { (200, r#"{"data":[]}"#.to_owned()) } else { (404, String::new()) }
    });
    let (_tmp, dir) = data_dir();
    let server = Server::start_with_env(&dir, &["demo"], &[("MYPAY_NODE_BASE_URL", fake.as_str())]);
    let mut browser = crate::portal::Browser::new(&server.base);
    let password = crate::backoffice::demo_password(&server);
    assert_eq!(crate::backoffice::login(&mut browser, "demo", &password).status, 303);
    let page = "/operatore/c_esempio/rendicontazione";
    let queued = browser.submit(page, &format!("{page}/acquisisci"), &[]);
    assert_eq!(queued.status, 303, "{}", queued.body);
    assert!(browser.get(page).body.contains("Acquisizione richiesta"));
    let done = wait_for(&mut browser, page, "completata il ");
    assert!(done.contains(", flussi nuovi: 0."), "{done}");
}

#[test]
fn an_admin_creates_and_revokes_an_api_token() {
    let (_tmp, _dir, server, mut browser) = demo_logged_in();
    let page = "/operatore/c_esempio/token";
    let empty = browser.submit(page, page, &[("etichetta", " ")]);
    assert_eq!(empty.status, 422);
    assert!(empty.body.contains("<div id=\"etichetta-errore\" class=\"invalid-feedback d-block\" role=\"alert\">Scrivi a cosa serve il token, per riconoscerlo nell&#39;elenco.</div>") || empty.body.contains("Scrivi a cosa serve il token, per riconoscerlo nell'elenco."), "{}", empty.body);
    let created = browser.submit(page, page, &[("etichetta", "Gestionale tributi")]);
    assert_eq!(created.status, 200);
    let marker = "id=\"nuovo-token\" value=\"";
    let at = created.body.find(marker).unwrap_or_else(|| panic!("{}", created.body)) + marker.len();
    let token = created.body[at..].split('"').next().unwrap().to_owned();
    assert!(token.starts_with("mpy_") && token.len() == 68, "{token}");
    let bearer = format!("Bearer {token}");
    let call = |server: &Server| {
        get_with(&server.url("/api/v1/orgs/c_esempio/debts/NESSUNO"), &[("Authorization", bearer.as_str())]).status
    };
    assert_eq!(call(&server), 404, "the token works");
    let list = browser.get(page).body;
    assert!(list.contains("<td>Gestionale tributi</td>") && list.contains("<td>Valido</td>"), "{list}");
    assert!(!list.contains(&token), "shown once");
    let revoked = browser.submit(page, &format!("{page}/1/revoca"), &[]);
    assert_eq!(revoked.status, 303);
    assert!(browser.get(page).body.contains("Revocato il "));
    assert_eq!(call(&server), 401, "a revoked token is refused");
}

#[test]
fn expired_debts_are_exported_from_the_page() {
    let (_tmp, _dir, _server, mut browser) = demo_logged_in();
    let page = "/operatore/c_esempio/esportazioni";
    let done = browser.submit(page, &format!("{page}/scaduti"), &[("due_before", "2100-01-01"), ("debt_type", "")]);
    assert_eq!(done.status, 303, "{}", done.body);
    let list = browser.get(page).body;
    assert!(list.contains("Esportazione n. 1"), "{list}");
    assert!(list.contains("<td>Dovuti scaduti</td>"), "{list}");
    let bad = browser.submit(page, &format!("{page}/scaduti"), &[("due_before", "ieri"), ("debt_type", "")]);
    assert_eq!(bad.status, 303);
    assert!(browser.get(page).body.contains("Indica un giorno valido in «Scaduti prima del»."));
    // The receipts export's refusals are Italian beside MyPay's code.
    let form = [("from", "2026-02-01"), ("to", "2026-01-01"), ("version", "1.3"), ("debt_type", "")];
    assert_eq!(browser.submit(page, page, &form).status, 303);
    let list = browser.get(page).body;
    assert!(
        list.contains(
            "Richiesta non valida (PAA_INTERVALLO_DATE_NON_VALIDO): la data «Pagamenti dal» viene dopo la data «al»."
        ),
        "{list}"
    );
    let form = [("from", "2026-01-01"), ("to", "2026-01-31"), ("version", "9.9"), ("debt_type", "")];
    assert_eq!(browser.submit(page, page, &form).status, 303);
    let list = browser.get(page).body;
    assert!(list.contains("(PAA_VERSIONE_TRACCIATO_NON_VALIDA): la versione del tracciato deve essere"), "{list}");
}

#[test]
fn fixed_values_are_chosen_from_a_list_and_refusals_name_their_field() {
    let (_tmp, _dir, _server, mut browser) = demo_logged_in();
    let settings = browser.get("/operatore/c_esempio/impostazioni").body;
    assert!(
        settings.contains(
            "<select class=\"form-select\" id=\"notice-language\" name=\"notice-language\" aria-describedby=\"notice-language-errore\">"
        ),
        "{settings}"
    );
    assert!(settings.contains("<option value=\"de\">Tedesco (Deutsch)</option>"), "{settings}");

    let new = "/operatore/c_esempio/dovuti/nuovo";
    let fields = [
        ("tipo", "TARI"),
        ("iud", "WEB-ERR-1"),
        ("tipo_soggetto", "F"),
        ("cf", "RSSMRA85T10A562X"),
        ("nome", "Mario Rossi"),
        ("email", ""),
        ("scadenza", "2099-12-31"),
        ("importo", "dieci"),
        ("causale", "TARI"),
    ];
    let refused = browser.submit(new, new, &fields);
    assert_eq!(refused.status, 422);
    let body = refused.body;
    assert!(body.contains("aria-describedby=\"cf-errore\" aria-invalid=\"true\""), "{body}");
    assert!(body.contains("<div id=\"cf-errore\" class=\"invalid-feedback d-block\">Il codice fiscale o la partita IVA non è valido: controlla i caratteri, compreso l&#39;ultimo (di controllo).") || body.contains("<div id=\"cf-errore\" class=\"invalid-feedback d-block\">Il codice fiscale o la partita IVA non è valido: controlla i caratteri, compreso l'ultimo (di controllo)."), "{body}");
    assert!(body.contains("<div id=\"importo-errore\" class=\"invalid-feedback d-block\">Scrivi l&#39;importo in euro, ad esempio 1.020,50: da 0,01 a 999.999.999,99. <small class=\"text-muted\">(codice PAA_IMPORT_SINTASSI_CSV)</small></div>") || body.contains("Scrivi l'importo in euro, ad esempio 1.020,50: da 0,01 a 999.999.999,99. <small class=\"text-muted\">(codice PAA_IMPORT_SINTASSI_CSV)</small>"), "{body}");
    assert!(body.contains("<a href=\"#importo\">Importo in euro (es. 1.020,50)</a>"), "{body}");
    assert!(!body.contains("check character"), "no English: {body}");
    assert!(!body.contains("NON CONFROME"), "no CSV jargon: {body}");
}
