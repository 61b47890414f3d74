//! The back office's debts: search with every kind of criterion, paging count, CSV download, the
//! detail with its history and notice, and a debt inserted, refused, modified and annulled through
//! the forms with the import's rules.

use crate::backoffice::demo_logged_in;
use crate::support::{run, stdout};

fn debt_id(page: &crate::portal::Page) -> String {
    page.location.as_deref().unwrap().rsplit('/').next().unwrap().to_owned()
}

#[test]
fn debts_are_searched_shown_changed_and_downloaded() {
    let (_tmp, dir, _server, mut browser) = demo_logged_in();
    let base = "/operatore/c_esempio/dovuti";

    // The demo's 20 TARI debts, 4 of them Mario Rossi's.
    assert!(browser.get(&format!("{base}?cerca=1")).body.contains("Dovuti trovati: 20"));
    assert!(browser.get(&format!("{base}?cf=rssmra85t10a562s")).body.contains("Dovuti trovati: 4"));
    assert!(browser.get(&format!("{base}?nome=giulia")).body.contains("Dovuti trovati: 4"));
    assert!(browser.get(&format!("{base}?stato=INSERIMENTO_DOVUTO&tipo=TARI")).body.contains("Dovuti trovati: 20"));
    assert!(browser.get(&format!("{base}?stato=COMPLETATO")).body.contains("Dovuti trovati: 0"));
    assert!(browser.get(&format!("{base}?pagato_dal=2000-01-01")).body.contains("Dovuti trovati: 0"));
    assert!(
        browser
            .get(&format!("{base}?scadenza_dal=2000-01-01&scadenza_al=2000-12-31"))
            .body
            .contains("Dovuti trovati: 0")
    );
    let bad = browser.get(&format!("{base}?scadenza_dal=31%2F12%2F2099"));
    assert!(bad.body.contains("Il valore del campo «scadenza dal» non è valido."), "{}", bad.body);

    let csv = browser.get(&format!("{base}/csv?nome=Mario"));
    assert_eq!(csv.status, 200);
    let lines: Vec<&str> = csv.body.lines().collect();
    assert_eq!(
        lines[0],
        "\u{feff}\"IUD\";\"IUV\";\"Numero avviso\";\"Tipo dovuto\";\"Stato\";\"Codice fiscale debitore\";\"Debitore\";\
         \"Causale\";\"Importo\";\"Scadenza\";\"Data pagamento\";\"Ultima modifica\""
    );
    assert_eq!(lines.len(), 5, "{}", csv.body);
    assert!(lines[1].contains("\"RSSMRA85T10A562S\";\"Mario Rossi\""), "{}", lines[1]);

    // Insert through the form: Italian amount, generated IUV.
    let new = format!("{base}/nuovo");
    let fields = [
        ("tipo", "TARI"),
        ("iud", "WEB-NEW-1"),
        ("tipo_soggetto", "F"),
        ("cf", "RSSMRA85T10A562S"),
        ("nome", "Mario Rossi"),
        ("email", ""),
        ("scadenza", "2099-12-31"),
        ("importo", "1.020,50"),
        ("causale", "TARI 2099 conguaglio"),
        ("genera_iuv", "1"),
    ];
    let created = browser.submit(&new, &new, &fields);
    assert_eq!(created.status, 303, "{}", created.body);
    let id = debt_id(&created);
    let detail = browser.get(&format!("{base}/{id}")).body;
    assert!(
        detail.contains("€ 1.020,50") && detail.contains("debt.add") && detail.contains("operatore demo"),
        "{detail}"
    );
    assert_eq!(browser.get(&format!("{base}/{id}/avviso")).status, 200);

    // The import's rules, with its codes; nothing is written.
    let again = browser.submit(&new, &new, &fields);
    assert_eq!(again.status, 422);
    assert!(again.body.contains("PAA_IMPORT_IUD_DUPLICATO"), "{}", again.body);
    let mut bad_amount = fields;
    bad_amount[1] = ("iud", "WEB-NEW-2");
    bad_amount[7] = ("importo", "dieci");
    let refused = browser.submit(&new, &new, &bad_amount);
    assert_eq!(refused.status, 422);
    assert!(refused.body.contains("PAA_IMPORT_"), "{}", refused.body);
    assert!(browser.get(&format!("{base}?iud=WEB-NEW-2")).body.contains("Dovuti trovati: 0"));

    // Modify (M), then annul (A).
    let edit = format!("{base}/{id}/modifica");
    let mut changed = fields;
    changed[7] = ("importo", "12,00");
    changed[4] = ("nome", "Mario Rossi Jr");
    let saved = browser.submit(&edit, &edit, &changed);
    assert_eq!(saved.status, 303, "{}", saved.body);
    let detail = browser.get(&format!("{base}/{id}")).body;
    assert!(
        detail.contains("€ 12,00") && detail.contains("debt.modify") && detail.contains("Mario Rossi Jr"),
        "{detail}"
    );
    let annulled = browser.submit(&format!("{base}/{id}"), &format!("{base}/{id}/annulla"), &[]);
    assert_eq!(annulled.status, 303);
    let detail = browser.get(&format!("{base}/{id}")).body;
    assert!(detail.contains("Annullato") && detail.contains("debt.annul"), "{detail}");
    assert!(!detail.contains("/modifica"), "an annulled debt offers no change");
    let out = run(&dir, &["debt", "list", "--org", "c_esempio", "--state", "ANNULLATO", "--json"], None);
    let list: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(list.as_array().unwrap().len(), 1);

    // The dashboard: no payment yet, the chart drawn on the server.
    let board = browser.get("/operatore/c_esempio").body;
    assert!(
        board.contains("Cruscotto") && board.contains("<svg") && board.contains("Nessun pagamento nel periodo."),
        "{board}"
    );
    // The journal: the operator's changes with before and after.
    let journal = browser.get("/operatore/c_esempio/giornale?azione=debt.modify&chi=operator%3A").body;
    let marker = "href=\"/operatore/c_esempio/giornale/";
    let at = journal.find(marker).unwrap_or_else(|| panic!("{journal}")) + marker.len();
    let entry_id = journal[at..].split('"').next().unwrap();
    let entry = browser.get(&format!("/operatore/c_esempio/giornale/{entry_id}")).body;
    assert!(entry.contains("operator:demo") && entry.contains("debt.modify"), "{entry}");
    assert!(
        entry.contains("&quot;amount_cents&quot;:102050") && entry.contains("&quot;amount_cents&quot;:1200"),
        "{entry}"
    );
    let bad = browser.get("/operatore/c_esempio/giornale?dal=ieri").body;
    assert!(bad.contains("Il valore del campo «dal» non è valido."), "{bad}");
}

/// The paid-date range of the search counts Europe/Rome days: the Node's `paymentDateTime` with an
/// offset is converted to Italian time (23:30 UTC on the eve of the spring DST change is 00:30 of
/// 29 March), without one it is already Italian time.
#[test]
fn paid_date_filters_are_rome_days() {
    use crate::station::{call, open_debts, send_rt_req};
    let (_tmp, dir, server, mut browser) = demo_logged_in();
    let paid = [
        ("2026-03-28T23:30:00Z", "aaaa0000bbbb1111cccc2222dddd0001"), // 29/03 00:30 CET
        ("2026-03-29T00:30:00", "aaaa0000bbbb1111cccc2222dddd0002"),  // 29/03 00:30, Italian time
        ("2026-03-29T22:30:00Z", "aaaa0000bbbb1111cccc2222dddd0003"), // 30/03 00:30 CEST
        ("2026-03-28T22:30:00Z", "aaaa0000bbbb1111cccc2222dddd0004"), // 28/03 23:30 CET
    ];
    for ((_, notice, iuv, cents), (at, token)) in open_debts(&dir).iter().zip(paid) {
        let request = send_rt_req(notice, iuv, *cents, token, true).replace(
            "<paymentDateTime>2026-11-30T10:15:00</paymentDateTime>",
            &format!("<paymentDateTime>{at}</paymentDateTime>"),
        );
        let reply = call(&server, Some("paSendRTV2"), &request);
        assert!(reply.body.contains("<outcome>OK</outcome>"), "{}", reply.body);
    }
    let mut found = |query: &str| browser.get(&format!("/operatore/c_esempio/dovuti?{query}")).body;
    let day29 = found("pagato_dal=2026-03-29&pagato_al=2026-03-29");
    assert!(day29.contains("Dovuti trovati: 2") && day29.matches("<td>29/03/2026</td>").count() == 2, "{day29}");
    let day30 = found("pagato_dal=2026-03-30");
    assert!(day30.contains("Dovuti trovati: 1") && day30.contains("<td>30/03/2026</td>"), "{day30}");
    let day28 = found("pagato_al=2026-03-28");
    assert!(day28.contains("Dovuti trovati: 1") && day28.contains("<td>28/03/2026</td>"), "{day28}");
    assert!(found("pagato_dal=2026-03-28&pagato_al=2026-03-30").contains("Dovuti trovati: 4"));

    // The detail's receipt: paid at 23:30 UTC on 28 March, an Italian payment of 29 March.
    let conn = rusqlite::Connection::open(dir.join("mypay.db")).unwrap();
    let first: i64 =
        conn.query_row("SELECT debt_id FROM receipt WHERE receipt_id = ?1", [paid[0].1], |r| r.get(0)).unwrap();
    let detail = browser.get(&format!("/operatore/c_esempio/dovuti/{first}")).body;
    assert!(detail.contains("<td>29/03/2026</td>"), "{detail}");
}

/// Stored times are UTC; the debt's detail and the dashboard show them in Italian time: 23:30 UTC
/// is 00:30 of the next Italian day, on the eve of each DST change too.
#[test]
fn stored_times_are_shown_in_italian_time() {
    let (_tmp, dir, _server, mut browser) = demo_logged_in();
    let conn = rusqlite::Connection::open(dir.join("mypay.db")).unwrap();
    let (id, iud, org_id): (i64, String, i64) = conn
        .query_row("SELECT id, iud, org_id FROM debt ORDER BY id LIMIT 1", [], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .unwrap();
    let page = format!("/operatore/c_esempio/dovuti/{id}");
    // Created after every journal entry about its IUD (which then belong to an earlier debt), on
    // the eve of the 2027 spring DST change: no history, the creation on the Italian day.
    conn.execute("UPDATE debt SET created_at = '2027-03-27T23:30:00Z' WHERE id = ?1", [id]).unwrap();
    let detail = browser.get(&page).body;
    assert!(detail.contains("<strong>Dovuto inserito con i dati dimostrativi</strong></div><div class=\"text-muted small\">28/03/2027 00:30 · sistema</div>"), "{detail}");

    conn.execute(
        "UPDATE debt SET created_at = '2026-03-28T23:30:00Z', updated_at = '2026-10-25T23:30:00Z' WHERE id = ?1",
        [id],
    )
    .unwrap();
    let detail = browser.get(&page).body;
    assert!(
        detail.contains(r#"<dt class="col-sm-4">Creato</dt><dd class="col-sm-8">29/03/2026 00:30</dd>"#),
        "{detail}"
    );
    assert!(
        detail.contains(r#"<dt class="col-sm-4">Ultima modifica</dt><dd class="col-sm-8">26/10/2026 00:30</dd>"#),
        "{detail}"
    );

    // History entries (after the creation: older ones belong to an earlier debt of the IUD) at
    // 22:30 UTC on the spring DST day, summer time from then on, and at 23:30 UTC on the autumn
    // one, winter time again: both 00:30 of the next Italian day.
    for at in ["2026-03-29T22:30:00Z", "2026-10-25T23:30:00Z"] {
        conn.execute(
            "INSERT INTO audit (at, actor, org_id, action, object, outcome) \
             VALUES (?1, 'operator:demo', ?2, 'debt.modify', ?3, 'OK')",
            rusqlite::params![at, org_id, format!("debt:c_esempio/{iud}")],
        )
        .unwrap();
    }
    let detail = browser.get(&page).body;
    assert!(detail.contains("<div class=\"text-muted small\">26/10/2026 00:30 · operatore demo</div>"), "{detail}");
    assert!(detail.contains("<div class=\"text-muted small\">30/03/2026 00:30 · operatore demo</div>"), "{detail}");

    // A reporting flow refused at 23:30 UTC on the autumn DST day.
    conn.execute(
        "INSERT INTO reporting_flow (org_id, iuf, psp_id, state, reject_reason, source, fetched_at) \
         VALUES (?1, '2026-10-25ABI00000-S000000001', 'ABI00000', 'RIFIUTATO', 'importo errato', 'SOAP', \
         '2026-10-25T23:30:00Z')",
        [org_id],
    )
    .unwrap();
    let board = browser.get("/operatore/c_esempio").body;
    assert!(board.contains("<td>ABI00000</td><td>26/10/2026 00:30</td><td>importo errato</td>"), "{board}");
}
