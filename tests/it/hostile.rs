//! Hostile inputs against the real server (the hardening issue): each is refused as its contract
//! says, and the server keeps answering everyone else. Only what can be asserted without timing is
//! asserted; `cargo bench` prints what each costs.

use crate::support::{Server, data_dir, get, post_with};

/// One element with 40,000 attributes (277 KB) on the station and on the SIL: a syntax fault each,
/// and the server still answers.
#[test]
fn attribute_heavy_xml_is_refused_and_the_server_stays_up() {
    let (_tmp, dir) = data_dir();
    let server = Server::start(&dir, &["demo"]);
    let attrs: String = (0..40_000).map(|i| format!(" a{i}=\"v\"")).collect();
    let body = format!(
        "<s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\"><s:Body>\
         <paf:paVerifyPaymentNoticeReq xmlns:paf=\"http://pagopa-api.pagopa.gov.it/pa/paForNode.xsd\"{attrs}/>\
         </s:Body></s:Envelope>"
    );
    let station =
        post_with(&server.url("/ws/fesp/"), "text/xml", body.as_bytes(), &[("SOAPAction", "paVerifyPaymentNotice")]);
    assert_eq!(station.status, 200);
    assert!(station.body.contains("PAA_SINTASSI_EXTRAXSD"), "{}", station.body);
    assert!(station.body.contains("more than 64 attributes"), "{}", station.body);
    let sil = post_with(&server.url("/ws/pa/"), "text/xml", body.as_bytes(), &[("SOAPAction", "paaSILInviaDovuti")]);
    assert!(sil.status == 200 || sil.status == 400, "{}", sil.status);
    assert!(sil.body.contains("more than 64 attributes"), "{}", sil.body);
    assert_eq!(get(&server.url("/healthz")).status, 200);
}

/// The hardening issue's endless line: a small ZIP whose CSV is one line of 64 MiB without a
/// newline. The import reads at most 64 KiB of it, refuses the file with MyPay's generic code and
/// applies nothing; the server, which runs it, keeps answering.
#[test]
fn an_endless_csv_line_aborts_the_import_without_reading_it_whole() {
    use std::io::Write;
    let (tmp, dir) = data_dir();
    crate::support::add_milano(&dir);
    let server = Server::start(&dir, &["serve", "--demo"]);
    let path = tmp.path().join("c_f205-ENDLESS-1_4.zip");
    {
        let mut zip = zip::ZipWriter::new(std::fs::File::create(&path).unwrap());
        let options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
        zip.start_file("c_f205-ENDLESS-1_4.csv", options).unwrap();
        let chunk = vec![b'x'; 1 << 20];
        for _ in 0..64 {
            zip.write_all(&chunk).unwrap();
        }
        zip.finish().unwrap();
    }
    assert!(std::fs::metadata(&path).unwrap().len() < 1 << 20, "the upload itself is small");
    let out =
        crate::support::run(&dir, &["import", path.to_str().unwrap(), "--org", "c_f205", "--wait", "--json"], None);
    let text = crate::support::stdout(&out);
    let result: serde_json::Value = serde_json::from_str(&text).unwrap_or_else(|_| panic!("{text}"));
    assert_eq!(result["state"], "IMPORT_ABORTITO", "{result}");
    assert_eq!(result["error_code"], "PAA_IMPORT_ERRORE_GENERICO");
    assert_eq!(result["error_description"], "riga 1: più lunga di 65536 byte");
    assert_eq!(get(&server.url("/healthz")).status, 200);
}

/// CSV formula injection: a debtor named `=HYPERLINK(…)` reaches the back office's CSV as text a
/// spreadsheet will not run (the MyPay export layouts keep values as given: a contract).
#[test]
fn the_back_office_csv_never_starts_a_formula() {
    let (_tmp, dir, _server, mut admin) = crate::backoffice::demo_logged_in();
    let name = "=HYPERLINK(\"http://evil.example/\",\"Mario\")";
    let out = crate::support::run(
        &dir,
        &[
            "debt",
            "add",
            "--org",
            "c_esempio",
            "--debt-type",
            "TARI",
            "--iud",
            "EVIL-1",
            "--debtor-id",
            "RSSMRA85T10A562S",
            "--debtor-name",
            name,
            "--amount",
            "10.00",
            "--causale",
            "+cmd|' /C calc'!A0",
            "--due-date",
            "2099-12-31",
            "--generate-iuv",
        ],
        None,
    );
    assert!(out.status.success(), "{}", crate::support::stderr(&out));
    let csv = admin.get("/operatore/c_esempio/dovuti/csv?iud=EVIL-1").body;
    let row = csv.lines().find(|l| l.contains("EVIL-1")).unwrap_or_else(|| panic!("{csv}"));
    assert!(row.contains("\"'=HYPERLINK(\"\"http://evil.example/\"\",\"\"Mario\"\")\""), "{row}");
    assert!(row.contains("\"'+cmd|' /C calc'!A0\""), "{row}");
}

/// CRLF header injection: a SIL back URL with CR/LF is refused (it was written into the portal's
/// redirect as a `Set-Cookie`), and an import whose name carries CR/LF is refused by name, never
/// echoed as such into a download's headers or a file name.
#[test]
fn crlf_never_reaches_a_header() {
    use crate::sil::{PASSWORD, b64, call, dovuti, fault_code, invia_dovuti, single};
    let (_tmp, dir, server) = crate::sil::demo_server();
    let doc = dovuti(&single("CRLF-1", "10.00"), None);
    for url in ["https://sil.example.it/r&#13;&#10;Set-Cookie: x=1", "javascript:alert(1)", "https://a b"] {
        let extra = format!("<enteSILInviaRispostaPagamentoUrl>{url}</enteSILInviaRispostaPagamentoUrl>");
        let answer = call(&server, "paaSILInviaDovuti", &invia_dovuti("c_esempio", PASSWORD, &b64(&doc), &extra));
        assert_eq!(fault_code(&answer).as_deref(), Some("PAA_XML_NON_VALIDO"), "{url}: {answer}");
    }
    let conn = rusqlite::Connection::open(dir.join("mypay.db")).unwrap();
    let sessions: i64 = conn.query_row("SELECT count(*) FROM sil_session", [], |r| r.get(0)).unwrap();
    assert_eq!(sessions, 0, "nothing stored");

    let zip = crate::backoffice::flow_zip("c_esempio-X-1_4", &[crate::backoffice::row("CRLF-2", "1.00")]);
    let token_out =
        crate::support::run(&dir, &["api-token", "create", "--org", "c_esempio", "--label", "crlf", "--json"], None);
    let token: serde_json::Value = serde_json::from_str(&crate::support::stdout(&token_out)).unwrap();
    let bearer = format!("Bearer {}", token["token"].as_str().unwrap());
    // No `/` in it, so only its CR/LF can refuse it.
    let name = "c_esempio-X%0D%0ARefresh:%200;url=evil-1_4.zip";
    let url = server.url(&format!("/api/v1/orgs/c_esempio/imports?file_name={name}"));
    let reply = post_with(&url, "application/zip", &zip, &[("Authorization", &bearer)]);
    assert_eq!(reply.status, 400, "{}", reply.body);
    assert!(reply.header("refresh").is_none());
    assert!(reply.body.contains("is not a file name"), "{}", reply.body);
    let imports: i64 = conn.query_row("SELECT count(*) FROM debt_import", [], |r| r.get(0)).unwrap();
    assert_eq!(imports, 0, "nothing stored");
}
