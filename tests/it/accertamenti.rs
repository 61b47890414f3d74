//! Accertamenti in the back office over HTTP, on the demo: the registry imported through the page
//! (refused files named in MyPivot's words, nothing kept; the CSRF token checked before the file is
//! read), an accertamento created, its insertable payments filtered and booked, closed, printed;
//! and the refusals in Italian (closing an empty one, changing a closed one, booking to it).

use std::io::Write;

use crate::backoffice::demo_logged_in;
use crate::portal::{Browser, csrf};
use crate::support::post;

const HEADER: &str = "\"cod_ufficio\";\"de_ufficio\";\"flg_attivo\";\"cod_capitolo\";\"de_capitolo\";\"de_anno_esercizio\";\"cod_accertamento\";\"de_accertamento\";\"cod_tipo_dovuto\";\"azione\"";
const TARI_101: &str = "\"TRIB\";\"Ufficio Tributi\";\"true\";\"1010\";\"TARI - Tassa rifiuti\";\"2024\";\"2024/101\";\"Accertamento TARI 2024\";\"TARI\";\"I\"";
const TARI_102: &str = "\"TRIB\";\"Ufficio Tributi\";\"true\";\"1011\";\"TARI - arretrati\";\"2024\";\"2024/102\";\"Recupero evasione TARI\";\"TARI\";\"I\"";
const TARI_OFF: &str =
    "\"TRIB\";\"Ufficio Tributi\";\"false\";\"1012\";\"TARI - vecchio\";\"2023\";\"\";\"\";\"TARI\";\"I\"";

/// A registry ZIP named `<base>.zip` holding `<base>.csv` with `lines` after the header (ISO-8859-1
/// is ASCII here), CRLF as MyPivot's files.
pub fn registry_zip(base: &str, lines: &[&str]) -> Vec<u8> {
    let mut csv = format!("{HEADER}\r\n");
    for line in lines {
        csv.push_str(line);
        csv.push_str("\r\n");
    }
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    zip.start_file(format!("{base}.csv"), zip::write::SimpleFileOptions::default()).unwrap();
    zip.write_all(csv.as_bytes()).unwrap();
    zip.finish().unwrap().into_inner()
}

/// Pays `n` open demo debts at the simulator's PSP counter; their IUVs.
pub fn pay_demo_debts(server: &crate::support::Server, dir: &std::path::Path, n: usize) -> Vec<String> {
    let sim = server.simulator_url();
    let mut iuvs = Vec::new();
    for (_, notice, iuv, _) in crate::station::open_debts(dir).into_iter().take(n) {
        let body = format!(r#"{{"fiscalCode":"01234567897","noticeNumber":"{notice}"}}"#);
        assert!(post(&format!("{sim}/sim/psp/pay"), "application/json", body.as_bytes()).body.contains("\"OK\""));
        iuvs.push(iuv);
    }
    iuvs
}

/// The body of `path` after following a redirect's flash.
fn after(browser: &mut Browser, page: &crate::portal::Page) -> String {
    assert_eq!(page.status, 303, "{}", page.body);
    let location = page.location.clone().unwrap();
    browser.get(location.split('#').next().unwrap()).body
}

/// The value of the first `<option>` whose text contains `text`.
fn option_value(html: &str, text: &str) -> String {
    let at = html.find(text).unwrap_or_else(|| panic!("no option {text}"));
    let start = html[..at].rfind("<option value=\"").unwrap() + "<option value=\"".len();
    html[start..].split('"').next().unwrap().to_owned()
}

#[test]
fn accertamenti_through_the_pages() {
    let (_tmp, dir, server, mut demo) = demo_logged_in();
    let org = "/operatore/c_esempio";
    let base = format!("{org}/accertamenti");
    assert!(demo.get(org).body.contains(&format!("href=\"{base}\">Accertamenti</a>")), "in the org's navigation");
    let page = demo.get(&base);
    assert_eq!(page.status, 200);
    assert!(page.body.contains("L'anagrafica è vuota"), "{}", page.body);
    assert_eq!(Browser::new(&server.base).get(&base).location.as_deref(), Some("/operatore/accedi"));

    // Registry imports: without the token refused before reading; a bad line rolls back the file.
    let token = csrf(&page.body);
    let import = format!("{base}/anagrafica");
    let good = registry_zip("c_esempio-ANAGRAFICA-1_0", &[TARI_101, TARI_102, TARI_OFF]);
    let refused = demo.post_multipart(&import, &[], ("file", "c_esempio-ANAGRAFICA-1_0.zip", &good));
    assert_eq!(refused.status, 403);
    let bad_flag = TARI_102.replace("\"true\"", "\"forse\"");
    let bad = registry_zip("c_esempio-ERRATA-1_0", &[TARI_101, &bad_flag]);
    let sent = demo.post_multipart(&format!("{import}?csrf={token}"), &[], ("file", "c_esempio-ERRATA-1_0.zip", &bad));
    let body = after(&mut demo, &sent);
    assert!(
        body.contains(
            "Anagrafica non importata, nessuna voce è cambiata. Errore di conversione alla linea 3: flg_attivo deve essere true o false"
        ),
        "{body}"
    );
    assert!(body.contains("L'anagrafica è vuota"), "nothing of the file is kept");
    let sent =
        demo.post_multipart(&format!("{import}?csrf={token}"), &[], ("file", "c_altro-ANAGRAFICA-1_0.zip", &good));
    assert!(after(&mut demo, &sent).contains("Il nome del file deve essere c_esempio-&lt;NOME&gt;-1_0.zip"));
    let sent =
        demo.post_multipart(&format!("{import}?csrf={token}"), &[], ("file", "c_esempio-ANAGRAFICA-1_0.zip", &good));
    let body = after(&mut demo, &sent);
    assert!(body.contains("Anagrafica importata da c_esempio-ANAGRAFICA-1_0.zip: voci aggiunte 3, voci eliminate 0."));
    assert!(body.contains("Accertamento TARI 2024") && body.contains("TARI - vecchio"), "{body}");
    let again =
        demo.post_multipart(&format!("{import}?csrf={token}"), &[], ("file", "c_esempio-ANAGRAFICA-1_0.zip", &good));
    assert!(after(&mut demo, &again).contains("Errore di conversione alla linea 2: la voce esiste già"));

    // Creating: refusals first, then one of TARI.
    let made = demo.submit(&base, &base, &[("debt_type", "TARI"), ("name", "  ")]);
    assert!(after(&mut demo, &made).contains("Accertamento non creato: Il nome è obbligatorio"));
    let made = demo.submit(&base, &base, &[("debt_type", "IMU"), ("name", "IMU")]);
    assert!(
        after(&mut demo, &made)
            .contains("Accertamento non creato: Il tipo dovuto scelto non esiste o non sei abilitato.")
    );
    let iuvs = pay_demo_debts(&server, &dir, 2);
    let made = demo.submit(&base, &base, &[("debt_type", "TARI"), ("name", "TARI maggio")]);
    assert_eq!(made.location.as_deref(), Some(format!("{base}/1").as_str()));
    let one = format!("{base}/1");
    let page = demo.get(&one).body;
    assert!(page.contains("Accertamento «TARI maggio» creato."), "{page}");
    for iuv in &iuvs {
        assert!(page.contains(iuv.as_str()), "{iuv} is insertable: {page}");
    }
    assert!(!page.contains("TARI - vecchio"), "an inactive entry is no choice");
    let filtered = demo.get(&format!("{one}?iuv={}", iuvs[0])).body;
    assert!(filtered.contains(iuvs[0].as_str()) && !filtered.contains(iuvs[1].as_str()));
    let wrong_days = demo.get(&format!("{one}?dal=2024-06-02&al=2024-06-01")).body;
    assert!(wrong_days.contains("«dal» non può venire dopo «al»"), "{wrong_days}");

    // Closing an empty one, booking nothing: refused in words.
    let close = demo.submit(&one, &format!("{one}/stato"), &[("to", "CHIUSO")]);
    assert!(
        after(&mut demo, &close)
            .contains("Stato non cambiato: un accertamento si chiude solo con almeno un pagamento attribuito.")
    );
    let voce = option_value(&page, "accertamento 2024/101");
    let none = demo.submit(&one, &format!("{one}/assegna"), &[("voce", &voce)]);
    assert!(after(&mut demo, &none).contains("Nessun pagamento attribuito: scegli almeno un pagamento."));

    // Both payments booked at once; they leave the insertable list.
    let value = |iuv: &str| {
        let at = page.find(&format!("value=\"{iuv}|")).unwrap() + "value=\"".len();
        page[at..].split('"').next().unwrap().to_owned()
    };
    let (first, second) = (value(&iuvs[0]), value(&iuvs[1]));
    let booked =
        demo.submit(&one, &format!("{one}/assegna"), &[("pagamento", &first), ("pagamento", &second), ("voce", &voce)]);
    let body = after(&mut demo, &booked);
    assert!(body.contains("Pagamenti attribuiti: 2."), "{body}");
    assert!(body.contains("Nessun pagamento da attribuire."), "{body}");
    assert!(body.contains("<td>2024/101</td>"));
    let twice = demo.submit(&one, &format!("{one}/assegna"), &[("pagamento", &first), ("voce", &voce)]);
    assert!(after(&mut demo, &twice).contains("Nessun pagamento attribuito: almeno uno dei pagamenti scelti"));

    // Printable only once closed; closed, it changes no more and takes no payment.
    assert_eq!(demo.get(&format!("{one}/stampa")).status, 404);
    let close = demo.submit(&one, &format!("{one}/stato"), &[("to", "CHIUSO")]);
    let body = after(&mut demo, &close);
    assert!(body.contains("Accertamento chiuso."), "{body}");
    assert!(body.contains("Versione stampabile"));
    let printed = demo.get(&format!("{one}/stampa"));
    assert_eq!(printed.status, 200);
    assert!(printed.body.contains("Riepilogo per ufficio, capitolo e accertamento"));
    let cancel = demo.submit(&base, &format!("{one}/stato"), &[("to", "ANNULLATO")]);
    let body = after(&mut demo, &cancel);
    assert!(
        body.contains("Stato non cambiato: l'accertamento è già chiuso: cambia stato solo un accertamento inserito."),
        "{body}"
    );
    let late = demo.submit(&base, &format!("{one}/assegna"), &[("pagamento", &first), ("voce", &voce)]);
    assert!(after(&mut demo, &late).contains("solo un accertamento inserito riceve pagamenti"));
    let list = demo.get(&base).body;
    assert!(list.contains("<td>Chiuso</td>"), "{list}");
    assert!(list.contains("<td class=\"importo\">2</td>"), "the list counts its payments: {list}");
    assert!(demo.get(&format!("{base}/999")).status == 404 && demo.get(&format!("{base}/x")).status == 404);

    // Another one, cancelled.
    let made = demo.submit(&base, &base, &[("debt_type", "TARI"), ("name", "TARI prova")]);
    let two = made.location.unwrap();
    let cancel = demo.submit(&two, &format!("{two}/stato"), &[("to", "ANNULLATO")]);
    assert!(after(&mut demo, &cancel).contains("Accertamento annullato."));
}

/// §1.7: with one registry entry for TARI, a receipt that arrives is booked by the reconcile job
/// into the day's CHIUSO accertamento without an operator, and is no longer insertable.
#[test]
fn a_receipt_is_booked_automatically_when_the_registry_leaves_one_choice() {
    let (_tmp, dir, server, mut demo) = demo_logged_in();
    let base = "/operatore/c_esempio/accertamenti";
    let token = csrf(&demo.get(base).body);
    let zip = registry_zip("c_esempio-UNA-1_0", &[TARI_101]);
    let sent =
        demo.post_multipart(&format!("{base}/anagrafica?csrf={token}"), &[], ("file", "c_esempio-UNA-1_0.zip", &zip));
    assert!(after(&mut demo, &sent).contains("voci aggiunte 1"));
    let iuvs = pay_demo_debts(&server, &dir, 1);
    let today = mypay::testing::clock::Now::read().today().strftime("%Y%m%d").to_string();
    let name = format!("RICEVUTE_{today}_TARI");
    // The server queues the reconcile job every 10 seconds.
    let mut list = String::new();
    for _ in 0..300 {
        list = demo.get(base).body;
        if list.contains(&name) {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(list.contains(&name), "never booked: {list}");
    assert!(list.contains("<td>Chiuso</td>") && list.contains("<td>automatico</td>"), "{list}");
    let link = format!("{base}/");
    let at = list.find(&format!(">{name}<")).unwrap();
    let href = &list[list[..at].rfind(&link).unwrap()..at];
    let id = href.trim_start_matches(&link).trim_end_matches('"');
    let page = demo.get(&format!("{base}/{id}")).body;
    assert!(page.contains(&format!("<td>{}</td>", iuvs[0])) && page.contains("<td>2024/101</td>"), "{page}");
    // Not offered by hand any more.
    let made = demo.submit(base, base, &[("debt_type", "TARI"), ("name", "TARI a mano")]);
    let manual = demo.get(made.location.as_deref().unwrap()).body;
    assert!(!manual.contains(iuvs[0].as_str()), "{manual}");
}
