//! The back office's reconciliation page over HTTP, on the fixtures of mypivot.md §7 (the files of
//! `tests/fixtures/recon/`, and FdR1 of §7.3 stored as an acquired flow): the flags an org admin
//! sets, the notifications (D) and giornale di cassa (C) uploaded through the page, the counts and
//! amounts per label per month with the anomalies first, a label's drill-down, a transfer with
//! its documents, a note added, refused and hidden, and refused uploads in Italian.

use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::backoffice::login;
use crate::portal::{Browser, csrf};
use crate::support::{Server, data_dir, run, stderr};

pub const IPA: &str = "c_x999";
const PASSWORD: &str = "Una password sicura 1";
const FDR1: &str = "2024-05-17TESTITM1XXX-S000001";

/// The §7 org with an org admin `ragioneria` and an operator `sportello`.
pub fn org_of_7(dir: &Path) {
    let org = [
        "org",
        "add",
        "--mode",
        "ente",
        IPA,
        "--fiscal-code",
        "80012340123",
        "--name",
        "Comune di Prova",
        "--segregation-code",
        "02",
        "--iban",
        "IT60X0542811101000000123456",
        "--state",
        "ESERCIZIO",
    ];
    let out = run(dir, &org, None);
    assert!(out.status.success(), "{}", stderr(&out));
    for (username, role) in [("ragioneria", "admin"), ("sportello", "operator")] {
        let args = ["operator", "add", "--org", IPA, "--username", username, "--role", role, "--password-stdin"];
        let out = run(dir, &args, Some(&format!("{PASSWORD}\n")));
        assert!(out.status.success(), "{}", stderr(&out));
    }
}

pub fn logged_in(server: &Server, username: &str) -> Browser {
    let mut browser = Browser::new(&server.base);
    assert_eq!(login(&mut browser, username, PASSWORD).status, 303);
    browser
}

/// A fixture file of `tests/fixtures/recon/` zipped as `zip_base.zip` (entry `zip_base.csv`).
pub fn fixture_zip(fixture: &str, zip_base: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/recon").join(fixture);
    let bytes = std::fs::read(path).unwrap();
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    zip.start_file(format!("{zip_base}.csv"), zip::write::SimpleFileOptions::default()).unwrap();
    zip.write_all(&bytes).unwrap();
    zip.finish().unwrap().into_inner()
}

/// FdR1 of §7.3 as mypay stores an acquired flow (the reporting service's tables).
pub fn store_fdr1(dir: &Path) -> i64 {
    let conn = rusqlite::Connection::open(dir.join("mypay.db")).unwrap();
    conn.busy_timeout(Duration::from_secs(10)).unwrap();
    conn.execute(
        "INSERT INTO reporting_flow (org_id, iuf, psp_id, psp_name, flow_date, settlement_date, total_payments, \
         total_amount_cents, state, source, fetched_at) SELECT id, ?1, 'TESTITM1XXX', 'Banca di Prova S.p.A.', \
         '2024-05-17T06:30:00', '2024-05-17', 5, 29200, 'ACQUISITO', 'SOAP', '2024-05-17T07:00:00Z' \
         FROM org WHERE ipa_code = ?2",
        [FDR1, IPA],
    )
    .unwrap();
    let flow = conn.last_insert_rowid();
    let rows = [
        ("01000000000012301", "IUR20240516000001", 15000, "0"),
        ("01000000000012302", "IUR20240516000002", 8000, "0"),
        ("01000000000012305", "IUR20240516000005", 3000, "0"),
        ("01000000000012306", "IUR20240516000006", 1200, "9"),
        ("01000000000012308", "IUR20240516000008", 2000, "0"),
    ];
    for (index, (iuv, iur, cents, outcome)) in (1i64..).zip(rows) {
        conn.execute(
            "INSERT INTO reporting_payment (flow_id, row_index, iuv, iur, transfer_index, amount_cents, outcome_code, \
             outcome_date) VALUES (?1, ?2, ?3, ?4, 1, ?5, ?6, '2024-05-16')",
            rusqlite::params![flow, index, iuv, iur, cents, outcome],
        )
        .unwrap();
    }
    flow
}

pub fn upload(browser: &mut Browser, fields: &[(&str, &str)], name: &str, zip: &[u8]) -> String {
    let base = format!("/operatore/{IPA}/riconciliazione");
    let token = csrf(&browser.get(&base).body);
    let page = browser.post_multipart(&format!("{base}/caricamenti?csrf={token}"), fields, ("file", name, zip));
    assert_eq!(page.status, 303, "{}", page.body);
    browser.get(&base).body
}

/// The overview once it shows `text` (the job runner loads and classifies in the background).
pub fn overview_with(browser: &mut Browser, text: &str) -> String {
    let started = Instant::now();
    loop {
        let page = browser.get(&format!("/operatore/{IPA}/riconciliazione")).body;
        if page.contains(text) {
            return page;
        }
        assert!(started.elapsed() < Duration::from_secs(60), "the overview never showed {text:?}: {page}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The `<tr>` of `marker` in `page`.
fn row_of<'a>(page: &'a str, marker: &str) -> &'a str {
    let start = page.find(marker).unwrap_or_else(|| panic!("no {marker} in {page}"));
    let row = &page[start..];
    &row[..row.find("</tr>").unwrap()]
}

/// §7 loaded through the page: flags set, D and C uploaded, FdR1 stored; returns FdR1's id.
pub fn load_7(dir: &Path, admin: &mut Browser) -> i64 {
    let base = format!("/operatore/{IPA}/riconciliazione");
    let page = admin.submit(&base, &format!("{base}/impostazioni"), &[("pagati", "1"), ("tesoreria", "1")]);
    assert_eq!(page.status, 303);
    let notif = fixture_zip("c_x999-NOTIF20240517-1_0.csv", "c_x999-NOTIF20240517-1_0");
    upload(admin, &[("tipo", "")], "c_x999-NOTIF20240517-1_0.zip", &notif);
    let gdc = fixture_zip("c_x999-GDC20240520-1_0.csv", "c_x999-GDC20240520-1_0");
    let columns: Vec<(String, String)> = (1..=7).map(|i| (format!("colonna{i}"), i.to_string())).collect();
    let mut fields: Vec<(&str, &str)> = vec![("tipo", "C")];
    fields.extend(columns.iter().map(|(n, v)| (n.as_str(), v.as_str())));
    upload(admin, &fields, "c_x999-GDC20240520-1_0.zip", &gdc);
    overview_with(admin, "data-label=\"TES_NO_MATCH\"");
    let flow = store_fdr1(dir);
    overview_with(admin, "data-label=\"RT_IUF_TES\"");
    flow
}

#[test]
fn the_reconciliation_page_counts_drills_down_and_keeps_notes() {
    let (_tmp, dir) = data_dir();
    org_of_7(&dir);
    let server = Server::start(&dir, &["demo"]);
    let mut admin = logged_in(&server, "ragioneria");
    let base = format!("/operatore/{IPA}/riconciliazione");

    let empty = admin.get(&base).body;
    assert!(
        empty.contains("Nessuna anomalia nel periodo.") && empty.contains("pagati: <strong>no</strong>"),
        "{empty}"
    );
    assert!(empty.contains(&format!("href=\"/operatore/{IPA}/riconciliazione\">Riconciliazione</a>")), "the tab");
    assert!(empty.contains(&format!("href=\"/operatore/{IPA}/esportazioni#riconciliazione\">Esporta il flusso")));

    let flow = load_7(&dir, &mut admin);
    let page = admin.get(&base).body;
    assert!(page.contains("pagati: <strong>sì</strong>") && page.contains("tesoreria: <strong>sì</strong>"));
    // Counts and amounts per label and month: §7 without receipts, FdR1 alone.
    let expected = [
        ("RT_NO_IUD", "1", "€ 12,00"),
        ("IUD_NO_RT", "5", "€ 379,50"),
        ("IUV_NO_RT", "4", "€ 280,00"),
        ("TES_NO_IUF_OR_IUV", "3", "€ 204,00"),
        ("TES_NO_MATCH", "1", "€ 500,00"),
        ("RT_IUF_TES", "1", "€ 12,00"),
        ("RT_IUF", "1", "€ 12,00"),
    ];
    let mut at = Vec::new();
    for (label, count, amount) in expected {
        let marker = format!("<tr data-label=\"{label}\" data-month=\"2024-05\">");
        let row = row_of(&page, &marker);
        assert!(row.contains(&format!("elementi\">{count}</a>")), "{label}: {row}");
        assert!(row.contains(&format!("<td class=\"importo\">{amount}</td>")), "{label}: {row}");
        assert!(row.contains(&format!("{base}/elenco?etichetta={label}&amp;mese=2024-05")), "{row}");
        at.push(page.find(&marker).unwrap());
    }
    assert_eq!(page.matches("<tr data-label=").count(), expected.len());
    assert!(at.windows(2).all(|w| w[0] < w[1]), "the anomalies first, each group in MyPivot's order");
    assert!(row_of(&page, "data-label=\"IUV_NO_RT\"").contains("Rendicontato dal PSP, ma non c'è la ricevuta"));
    // The month filter: nothing in June.
    let june = admin.get(&format!("{base}?da=2024-06&a=2024-06")).body;
    assert!(!june.contains("<tr data-label=") && june.contains("value=\"2024-06\""), "{june}");

    // The uploads with their counts and the rows the giornale di cassa refused.
    let gdc = row_of(&page, "<td>c_x999-GDC20240520-1_0.zip</td>");
    assert!(gdc.contains("<td>C</td>") && gdc.contains("<td>Caricato</td>") && gdc.contains("Righe scartate"), "{gdc}");
    let scarti = admin.get(&format!("{base}/caricamenti/2/scarti"));
    assert_eq!(scarti.status, 200);
    // The download is the ZIP MyPivot writes (not text: the test client reads it as nothing).
    let zipped = std::fs::read(dir.join("reconciliation/results/2_SCARTI.zip")).unwrap();
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(zipped)).unwrap();
    let mut csv = String::new();
    std::io::Read::read_to_string(&mut archive.by_name("c_x999-GDC20240520-1_0.csv").unwrap(), &mut csv).unwrap();
    assert!(csv.starts_with("numRiga;campi;errorMessage\n"), "{csv}");
    assert!(csv.contains("non valido"), "{csv}");

    // Refused uploads: before storing (no kind in the name), and by the job (another org's name).
    let refused = upload(&mut admin, &[("tipo", "")], "c_x999-XYZ-1_0.zip", b"PK");
    assert!(
        refused.contains("File non accettato: dal nome c_x999-XYZ-1_0.zip non si capisce il tipo di file"),
        "{refused}"
    );
    let other = fixture_zip("c_x999-GDC20240520-1_0.csv", "c_f205-GDC20240520-1_0");
    upload(&mut admin, &[("tipo", "C")], "c_f205-GDC20240520-1_0.zip", &other);
    let page = overview_with(&mut admin, "File caricato su ente errato.");
    assert!(row_of(&page, "<td>c_f205-GDC20240520-1_0.zip</td>").contains("<td>Rifiutato<br>"), "{page}");

    // The drill-down of IUV_NO_RT in May: FdR1's rows without a receipt.
    let list = admin.get(&format!("{base}/elenco?etichetta=IUV_NO_RT&mese=2024-05")).body;
    assert_eq!(list.matches("<tr data-item=").count(), 4, "{list}");
    for (iuv, iur) in [
        ("01000000000012301", "IUR20240516000001"),
        ("01000000000012302", "IUR20240516000002"),
        ("01000000000012305", "IUR20240516000005"),
        ("01000000000012308", "IUR20240516000008"),
    ] {
        assert!(list.contains(&format!(">{iuv}</a></td><td>{iur}</td>")), "{iuv}: {list}");
    }
    let row = row_of(&list, "01000000000012301</a>");
    let marker = format!("href=\"{base}/voce/");
    let start = list.find(row).unwrap();
    let before = &list[..start];
    let link = before[before.rfind(&marker).unwrap() + marker.len()..].split('"').next().unwrap().replace("&amp;", "&");
    // The link carries the row's key beside its id, for when the row is classified again.
    let (id, key) = link.split_once('?').unwrap();
    assert!(key.starts_with("iuv=01000000000012301&iur=IUR20240516000001"), "{link}");
    let (id, key) = (id.to_owned(), key.to_owned());
    let detail_path = format!("{base}/voce/{id}");

    // The transfer: FdR1's row linking to its flow, the treasury movement of FdR1, the notification.
    let detail = admin.get(&detail_path).body;
    assert!(detail.contains(&format!("href=\"/operatore/{IPA}/rendicontazione/{flow}\">{FDR1}</a>")), "{detail}");
    assert!(detail.contains("<td>2024/1201</td>") && detail.contains("€ 292,00"), "{detail}");
    assert!(detail.contains("Nessuna ricevuta.") && detail.contains("TARI-2024-000123"), "{detail}");
    assert!(detail.contains("Rendicontazioni di pagamenti non eseguiti"));

    // A note: added, refused under a label the row does not have, hidden.
    let notes = format!("{detail_path}/segnalazioni");
    let added =
        admin.submit(&detail_path, &notes, &[("etichetta", "IUV_NO_RT"), ("nota", "chiesta la ricevuta al PSP")]);
    assert_eq!(added.status, 303);
    let detail = admin.get(&detail_path).body;
    assert!(detail.contains("Segnalazione aggiunta.") && detail.contains("chiesta la ricevuta al PSP"), "{detail}");
    assert!(detail.contains("<strong>Attiva</strong> · ragioneria"), "{detail}");
    let list = admin.get(&format!("{base}/elenco?etichetta=IUV_NO_RT&mese=2024-05")).body;
    assert!(row_of(&list, "01000000000012301</a>").ends_with("<td>Sì</td>"), "{list}");
    let second = admin.submit(&detail_path, &notes, &[("etichetta", "IUV_NO_RT"), ("nota", "ricevuta in arrivo")]);
    assert_eq!(second.status, 303);
    let detail = admin.get(&detail_path).body;
    let (newest, oldest) = (detail.find("ricevuta in arrivo").unwrap(), detail.find("chiesta la ricevuta").unwrap());
    assert!(newest < oldest && detail.contains("Precedente · ragioneria"), "history, newest first: {detail}");

    let refused = admin.submit(&detail_path, &notes, &[("etichetta", "RT_IUF"), ("nota", "x")]);
    assert_eq!(refused.status, 303);
    let detail = admin.get(&detail_path).body;
    assert!(
        detail.contains(
            "La segnalazione non è stata aggiunta: nessun elemento classificato come «Pagamenti rendicontati» ha \
             questi identificativi (IUD -, IUV 01000000000012301, IUF 2024-05-17TESTITM1XXX-S000001)."
        ),
        "{detail}"
    );
    let note_marker = "<li class=\"mb-2\" data-note=\"";
    let note_id = detail[detail.find(note_marker).unwrap() + note_marker.len()..].split('"').next().unwrap().to_owned();
    // Through another row's page the note is not found: a row's page reaches its own notes only.
    let other = row_of(&list, "01000000000012302</a>");
    let before = &list[..list.find(other).unwrap()];
    let other_id = before[before.rfind(&marker).unwrap() + marker.len()..].split(['"', '?']).next().unwrap().to_owned();
    let elsewhere = format!("{base}/voce/{other_id}/segnalazioni/{note_id}");
    assert_eq!(admin.post(&elsewhere, &[("csrf", &csrf(&detail)), ("nascosta", "1")]).status, 404);
    let hide = format!("{detail_path}/segnalazioni/{note_id}");
    assert_eq!(admin.post(&hide, &[("csrf", &csrf(&detail)), ("nascosta", "1")]).status, 303);
    let detail = admin.get(&detail_path).body;
    assert!(detail.contains("<strong>Nascosta</strong>") && detail.contains(">Mostra</button>"), "{detail}");
    let list = admin.get(&format!("{base}/elenco?etichetta=IUV_NO_RT&mese=2024-05")).body;
    assert!(row_of(&list, "01000000000012301</a>").ends_with("<td></td>"), "a hidden note is no marker: {list}");

    // Classified again from scratch: a link with the key finds the row whatever its id is now; an
    // id that names another row now leads to the key's row; a key that names nothing leads back
    // to the overview, saying so.
    let out = run(&dir, &["reconcile", "run", "--org", IPA, "--from-scratch"], None);
    assert!(out.status.success(), "{}", stderr(&out));
    let mut found = admin.get(&format!("{base}/voce/{id}?{key}"));
    if found.status == 303 {
        found = admin.get(found.location.as_deref().unwrap());
    }
    assert!(found.body.contains("01000000000012301") && found.body.contains("ricevuta in arrivo"), "{}", found.body);
    let moved = admin.get(&format!("{base}/voce/{other_id}?{key}"));
    assert_eq!(moved.status, 303);
    let to = moved.location.unwrap();
    assert!(to.starts_with(&format!("{base}/voce/")) && to.ends_with(&format!("?{key}")), "{to}");
    assert!(admin.get(&to).body.contains("ricevuta in arrivo"));
    let gone = admin.get(&format!("{base}/voce/{other_id}?iuv=09999999999999999"));
    assert_eq!((gone.status, gone.location.as_deref()), (303, Some(base.as_str())));
    assert!(admin.get(&base).body.contains("L'elemento è stato classificato di nuovo e non c'è più"));
    // A note sent from a page whose row changed meanwhile is not added blind.
    let page = admin.get(&to).body;
    let token = csrf(&page);
    let mut fields: Vec<(&str, &str)> = key.split('&').filter_map(|pair| pair.split_once('=')).collect();
    fields.extend([("csrf", token.as_str()), ("etichetta", "IUV_NO_RT"), ("nota", "cieca")]);
    let blind = admin.post(&format!("{base}/voce/{other_id}/segnalazioni"), &fields);
    assert_eq!(blind.status, 303);
    let after = admin.get(blind.location.as_deref().unwrap()).body;
    assert!(after.contains("classificato di nuovo mentre lo guardavi") && !after.contains("cieca"), "{after}");
    let detail_path = to.split('?').next().unwrap().to_owned();
    let notes = format!("{detail_path}/segnalazioni");

    // An operator sees the page, neither the flags' form nor the admin's uploads; of the rows,
    // those of the debt types enabled for them: none yet. A stale or foreign id is a 404.
    let mut sportello = logged_in(&server, "sportello");
    let page = sportello.get(&base).body;
    assert!(!page.contains("<tr data-label=") && !page.contains(&format!("action=\"{base}/impostazioni\"")), "{page}");
    assert_eq!(sportello.post(&format!("{base}/impostazioni"), &[("csrf", &csrf(&page)), ("pagati", "1")]).status, 403);
    assert!(page.contains("Nessun file caricato."), "an operator sees their own uploads only: {page}");
    assert_eq!(sportello.get(&format!("{base}/caricamenti/2/scarti")).status, 404);
    assert_eq!(sportello.get(&detail_path).status, 404);
    assert_eq!(
        sportello.post(&notes, &[("csrf", &csrf(&page)), ("etichetta", "IUV_NO_RT"), ("nota", "x")]).status,
        404
    );
    assert_eq!(sportello.get(&format!("{base}/voce/999999")).status, 404);
    assert_eq!(sportello.get(&format!("{base}/elenco?etichetta=NOPE")).status, 400);

    // Enabled on TARI: the rows whose notification (by IUD, else by IUV) is TARI's; the treasury's
    // rows of no debt type stay the admin's.
    let tari = ["debt-type", "add", "--org", IPA, "--code", "TARI", "--description", "TARI", "--taxonomy", "0101101IM"];
    let out = run(&dir, &tari, None);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = run(&dir, &["operator", "grant", "--username", "sportello", "--org", IPA, "--debt-type", "TARI"], None);
    assert!(out.status.success(), "{}", stderr(&out));
    let mut sportello = logged_in(&server, "sportello");
    let page = sportello.get(&base).body;
    for (label, count) in [("IUD_NO_RT", "3"), ("IUV_NO_RT", "1")] {
        let row = row_of(&page, &format!("<tr data-label=\"{label}\" data-month=\"2024-05\">"));
        assert!(row.contains(&format!("elementi\">{count}</a>")), "{label}: {row}");
    }
    assert!(
        !page.contains("data-label=\"TES_NO_MATCH\"") && !page.contains("data-label=\"TES_NO_IUF_OR_IUV\""),
        "{page}"
    );
    let list = sportello.get(&format!("{base}/elenco?etichetta=IUD_NO_RT&mese=2024-05")).body;
    assert_eq!(list.matches("<tr data-item=").count(), 3, "{list}");
    assert!(list.contains(">01000000000012304</a>") && !list.contains(">01000000000012303</a>"), "{list}");
    assert_eq!(sportello.get(&detail_path).status, 200, "FdR1's row of TARI-2024-000123's IUV");
}
