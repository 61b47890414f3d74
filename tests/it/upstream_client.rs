//! The upstream client (`mypay::upstream`, what a box behind a regional MyPay calls) against our
//! own SIL server playing the Region: debts mirrored with paaSILImportaDovuto I/M/A, a flow
//! through the token upload to its `_IUV` file, payment sessions, the outcome and receipt queries,
//! the incremental export; and against servers that answer garbage, HTTP 500 or nothing, which
//! must give the right error quickly.

use std::io::Read;
use std::time::{Duration, Instant};

use mypay::testing::domain::{Cents, Day, Party};
use mypay::testing::upstream::{
    Action, CartElement, Creds, DovutiDoc, DovutoItem, PagatiKey, PaymentOutcome, SilClient, Timeouts, UpstreamError,
    VersamentoDoc,
};

use crate::sil::{INTERMEDIARY, PASSWORD, carrello_hash, flow_zip, set_password};
use crate::support::{Server, data_dir};

fn creds() -> Creds {
    Creds { ipa: "c_esempio".into(), password: PASSWORD.into() }
}

fn payer() -> Party {
    Party {
        kind: "F".into(),
        id: "BNCGLI90A41F205H".into(),
        name: "Giulia Bianchi".into(),
        city: Some("Milano".into()),
        province: Some("MI".into()),
        email: Some("giulia@example.it".into()),
        ..Party::default()
    }
}

/// A debt of the demo's spontaneous debt type, the IUV left to the Region.
fn versamento(iud: &str, cents: i64) -> VersamentoDoc {
    VersamentoDoc {
        action: Action::Insert,
        payer: Some(payer()),
        due_date: Some(Day::parse("2099-12-31").unwrap()),
        payment_kinds: String::new(),
        iuv: None,
        iud: iud.into(),
        amount: Cents::new(cents),
        fee: None,
        debt_type: "CONTRIBUTO_EVENTI".into(),
        causale: format!("Contributo {iud}"),
        collection_data: "9/0101108TS/".into(),
        bilancio: None,
        secondary: None,
    }
}

fn dovuti(iud: &str) -> DovutiDoc {
    DovutiDoc {
        payer: payer(),
        payment_kinds: String::new(),
        items: vec![DovutoItem {
            iud: iud.into(),
            amount: Cents::new(500),
            fee: None,
            debt_type: "CONTRIBUTO_EVENTI".into(),
            causale: format!("Contributo {iud}"),
            collection_data: "9/0101108TS/".into(),
            stamp: None,
            bilancio: None,
        }],
    }
}

/// The demo playing the Region, with the demo org's SIL password and the intermediary of carts.
fn region() -> (tempfile::TempDir, Server, SilClient) {
    let (tmp, dir) = data_dir();
    let config = tmp.path().join("mypay.toml");
    std::fs::write(
        &config,
        format!("version = 1\n[sil]\nintermediary_password = \"{INTERMEDIARY}\"\nintermediary_org = \"c_esempio\"\n"),
    )
    .unwrap();
    let server = Server::start(&dir, &["--config", config.to_str().unwrap(), "demo"]);
    set_password(&dir, "c_esempio");
    let client = SilClient::new(&server.url("/ws/pa/"), Timeouts::default()).unwrap();
    (tmp, server, client)
}

fn fault(result: Result<impl std::fmt::Debug, UpstreamError>) -> String {
    match result {
        Err(UpstreamError::Fault { code, .. }) => code,
        other => panic!("expected a fault, got {other:?}"),
    }
}

/// Polls `check` until it says done (`Some`), for at most 30 seconds.
fn wait_for<T>(mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(done) = check() {
            return done;
        }
        assert!(Instant::now() < deadline, "gave up waiting");
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn the_client_against_our_own_sil() {
    let (_tmp, server, client) = region();
    let creds = creds();

    // I with flagGeneraIuv: the Region's IUV and its notice link; the same IUD again is refused.
    let created = client.importa_dovuto(&creds, &versamento("UP-I-1", 1200), true).unwrap();
    let iuv = created.iuv.clone().unwrap();
    assert_eq!(iuv.as_str().len(), 17, "{created:?}");
    let notice = crate::support::get(created.notice_url.as_deref().unwrap());
    assert_eq!((notice.status, notice.header("content-type")), (200, Some("application/pdf")));
    assert_eq!(fault(client.importa_dovuto(&creds, &versamento("UP-I-1", 1200), true)), "PAA_IMPORT_IUD_DUPLICATO");

    // M with the IUV keeps it; the payment session on it shows the new amount.
    let modified =
        VersamentoDoc { action: Action::Modify, iuv: Some(iuv.as_str().to_owned()), ..versamento("UP-I-1", 1500) };
    assert_eq!(client.importa_dovuto(&creds, &modified, false).unwrap().iuv.as_ref(), Some(&iuv));
    let session = client.verifica_avviso(&creds, iuv.as_str(), Some("https://box.example/ritorno")).unwrap();
    assert!(session.url.starts_with(&server.base), "{session:?}");
    let landing = crate::portal::Browser::new(&server.base).get(&session.url);
    assert!(landing.body.contains("€ 15,00"), "{}", landing.body);

    // Not paid: the outcome query says so with MyPay's codes, by IUD, by IUV, by session.
    assert_eq!(
        fault(client.chiedi_pagati_con_ricevuta(&creds, &PagatiKey::Iud("UP-I-1".into()))),
        "PAA_PAGAMENTO_NON_INIZIATO"
    );
    assert_eq!(
        fault(client.chiedi_pagati_con_ricevuta(&creds, &PagatiKey::Iuv("01999999999999999".into()))),
        "PAA_DATI_NON_TROVATI"
    );
    assert_eq!(
        fault(client.chiedi_pagati_con_ricevuta(&creds, &PagatiKey::IdSession(session.id.clone()))),
        "PAA_PAGAMENTO_NON_INIZIATO"
    );

    // A annuls it: nothing left to pay.
    let annulled =
        VersamentoDoc { action: Action::Annul, iuv: Some(iuv.as_str().to_owned()), ..versamento("UP-I-1", 1500) };
    client.importa_dovuto(&creds, &annulled, false).unwrap();
    assert_eq!(fault(client.verifica_avviso(&creds, iuv.as_str(), None)), "PAA_IUV_NON_VALIDO");

    // Payments started at the box: one org's debts, and a cart with the org's hash.
    let session = client.invia_dovuti(&creds, &dovuti("UP-S-1"), Some("https://box.example/ritorno")).unwrap();
    assert!(!session.id.is_empty() && session.url.starts_with(&server.base), "{session:?}");
    let element = CartElement { ipa: "c_esempio".into(), hash: carrello_hash("01234567897"), dovuti: dovuti("UP-C-1") };
    let cart = client.invia_carrello(&creds, std::slice::from_ref(&element), None).unwrap();
    assert!(cart.url.starts_with(&server.base), "{cart:?}");
    let forged = CartElement { hash: "0".repeat(64), ..element };
    assert_eq!(fault(client.invia_carrello(&creds, &[forged], None)), "PAA_ENTE_NON_VALIDO");
    // The cart's outcome per org: prepared, nothing paid yet; an unknown cart is a fault.
    let [outcome] = <[_; 1]>::try_from(client.chiedi_esito_carrello(&creds, &cart.id).unwrap()).unwrap();
    assert_eq!((outcome.esito.as_str(), outcome.ipa.as_str(), outcome.paid), ("PREDISPOSTO", "c_esempio", None));
    assert!(client.chiedi_esito_carrello(&creds, "nessuno").is_err());

    // The citizen pays the box's session at the Region; the outcome is read, typed, with the receipt.
    let mut browser = crate::portal::Browser::new(&server.base);
    let path = session.url.trim_start_matches(&server.base).to_owned();
    let sent = browser.submit(&path, &path, &[("privacy", "1"), ("email", "giulia@example.it")]);
    let checkout = sent.location.unwrap_or_else(|| panic!("{}", sent.body));
    let in_progress = client.chiedi_pagati_con_ricevuta(&creds, &PagatiKey::IdSession(session.id.clone()));
    assert_eq!(fault(in_progress), "PAA_PAGAMENTO_IN_CORSO");
    let done = browser.post(&checkout, &[("outcome", "OK"), ("psp", "SIMPSP01")]);
    let back = browser.get(&done.location.unwrap()).location.unwrap();
    assert!(back.starts_with(&format!("https://box.example/ritorno?idSession={}&esito=OK", session.id)), "{back}");
    let paid =
        wait_for(|| match client.chiedi_pagati_con_ricevuta(&creds, &PagatiKey::IdSession(session.id.clone())) {
            Err(UpstreamError::Fault { code, .. }) if code == "PAA_PAGAMENTO_IN_CORSO" => None,
            other => Some(other.unwrap()),
        });
    assert_eq!((paid.pagati.outcome, paid.pagati.total_paid), (PaymentOutcome::Paid, Cents::new(500)));
    assert_eq!(paid.pagati.domain, "01234567897");
    let [single] = paid.pagati.payments.as_slice() else { panic!("{paid:?}") };
    assert_eq!((single.iud.as_str(), single.amount), ("UP-S-1", Cents::new(500)));
    assert!(String::from_utf8_lossy(paid.receipt.as_deref().unwrap()).contains("receipt"), "{paid:?}");
    let by_iud = client.chiedi_pagati_con_ricevuta(&creds, &PagatiKey::Iud("UP-S-1".into())).unwrap();
    assert_eq!(by_iud.pagati.iuv, paid.pagati.iuv);

    // The cart paid the same way: its outcome is PAGATO with the org's Pagati and receipt.
    let path = cart.url.trim_start_matches(&server.base).to_owned();
    let sent = browser.submit(&path, &path, &[("privacy", "1"), ("email", "giulia@example.it")]);
    let checkout = sent.location.unwrap_or_else(|| panic!("{}", sent.body));
    let done = browser.post(&checkout, &[("outcome", "OK"), ("psp", "SIMPSP01")]);
    browser.get(&done.location.unwrap());
    let outcome = wait_for(|| {
        let [outcome] = <[_; 1]>::try_from(client.chiedi_esito_carrello(&creds, &cart.id).unwrap()).unwrap();
        (outcome.esito == "PAGATO").then_some(outcome)
    });
    let cart_paid = outcome.paid.unwrap();
    assert_eq!((cart_paid.pagati.outcome, cart_paid.pagati.total_paid), (PaymentOutcome::Paid, Cents::new(500)));
    assert_eq!(cart_paid.pagati.payments[0].iud, "UP-C-1");
    assert!(cart_paid.receipt.is_some(), "{cart_paid:?}");

    // The incremental export with receipts, from the start of today: the receipt is in it, and the
    // period's end comes back for the next booking. (Its end is now less the 3 s settle margin,
    // excluded to the second.)
    std::thread::sleep(Duration::from_millis(4100));
    let from = mypay::testing::clock::Now::read().today().to_datetime(jiff::civil::Time::midnight());
    let booked = client.prenota_export_incrementale(&creds, from, None, "1.3").unwrap();
    assert!(booked.date_to > from, "{booked:?}");
    let status = wait_for(|| {
        let status = client.chiedi_stato_export_flusso(&creds, &booked.request_token).unwrap();
        status.stato.starts_with("EXPORT_ESEGUITO").then_some(status)
    });
    assert_eq!(status.stato, "EXPORT_ESEGUITO", "{status:?}");
    let export = unzip_one(&client.download(status.download_url.as_deref().unwrap(), 16 * 1024 * 1024).unwrap());
    assert!(export.contains("UP-S-1") && export.contains(&paid.pagati.iuv), "{export}");
    assert_eq!(fault(client.chiedi_stato_export_flusso(&creds, "nessuno")), "PAA_REQUEST_TOKEN_NON_VALIDO");

    // Wrong credentials are a business fault, not worth retrying.
    let wrong = Creds { password: "sbagliata1".into(), ..creds.clone() };
    let refused = client.importa_dovuto(&wrong, &versamento("UP-W-1", 100), true).unwrap_err();
    assert_eq!((refused.fault_code(), refused.is_retryable()), (Some("PAA_ENTE_NON_VALIDO"), false));
}

#[test]
fn a_flow_through_the_token_upload() {
    let (_tmp, server, client) = region();
    let creds = creds();
    let auth = client.autorizza_import_flusso(&creds).unwrap();
    assert_eq!(
        (auth.upload_url.as_str(), auth.import_path.as_str()),
        (server.url("/ws/pa/upload").as_str(), "/IMPORT")
    );
    assert_eq!(fault(client.chiedi_stato_import_flusso(&creds, &auth.request_token)), "PAA_REQUEST_TOKEN_NON_VALIDO");
    let name = "c_esempio-UPCLIENT1-1_4";
    let zip = flow_zip(name);
    let zip_file = _tmp.path().join(format!("{name}.zip"));
    std::fs::write(&zip_file, &zip).unwrap();
    let uploaded =
        client.upload_flow(&auth.upload_url, &auth.authorization_token, &format!("{name}.zip"), &zip_file).unwrap();
    assert_eq!((uploaded.file_name, uploaded.file_size), (format!("{name}.zip"), zip.len() as u64));
    let again = client.upload_flow(&auth.upload_url, &auth.authorization_token, &format!("{name}.zip"), &zip_file);
    assert_eq!(fault(again), "400");

    let status = wait_for(|| {
        let status = client.chiedi_stato_import_flusso(&creds, &auth.request_token).unwrap();
        (status.stato == "IMPORT_ESEGUITO").then_some(status)
    });
    // The _IUV file: a ZIP with the two good rows' IUVs; the _SCARTI file has the bad one.
    let iuvs = client.download(status.iuv_url.as_deref().unwrap(), 1024 * 1024).unwrap();
    let csv = unzip_one(&iuvs);
    assert!(csv.contains("UP-1") && csv.contains("UP-2") && !csv.contains("UP-3"), "{csv}");
    let rejects = unzip_one(&client.download(status.rejects_url.as_deref().unwrap(), 1024 * 1024).unwrap());
    assert!(rejects.contains("UP-3"), "{rejects}");
    // A cap below the file's size is refused, not truncated.
    let small = client.download(status.iuv_url.as_deref().unwrap(), 10).unwrap_err();
    assert!(matches!(small, UpstreamError::Garbage { .. }), "{small:?}");
}

/// The one file of a ZIP, as text.
fn unzip_one(bytes: &[u8]) -> String {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    let mut text = String::new();
    archive.by_index(0).unwrap().read_to_string(&mut text).unwrap();
    text
}

/// A loopback server that reads each request and answers `status` and `body`.
fn answering(status: u16, body: &str) -> String {
    let body = body.to_owned();
    crate::support::fake_http(move |_| (status, body.clone()))
}

/// A loopback server that accepts connections and never answers.
fn silent() -> (String, std::net::TcpListener) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/ws/pa/", listener.local_addr().unwrap());
    let accepting = listener.try_clone().unwrap();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in accepting.incoming().flatten() {
            held.push(stream);
        }
    });
    (url, listener)
}

#[test]
fn garbage_errors_and_silence_fail_fast_with_the_right_error() {
    let quick = Timeouts {
        connect: Duration::from_secs(1),
        read: Duration::from_millis(800),
        transfer: Duration::from_secs(2),
    };
    let call = |url: &str| {
        let started = Instant::now();
        let client = SilClient::new(url, quick).unwrap();
        let result = client.chiedi_pagati_con_ricevuta(&creds(), &PagatiKey::Iud("X".into()));
        assert!(started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());
        result.unwrap_err()
    };
    let garbage = call(&answering(200, "<html><body>manutenzione</body></html>"));
    assert!(matches!(garbage, UpstreamError::Garbage { .. }) && garbage.is_retryable(), "{garbage:?}");
    let not_the_answer = call(&answering(
        200,
        "<s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\"><s:Body><x:altro xmlns:x=\"urn:x\"/></s:Body></s:Envelope>",
    ));
    assert!(matches!(not_the_answer, UpstreamError::Garbage { .. }), "{not_the_answer:?}");
    let error = call(&answering(500, "Internal Server Error"));
    assert_eq!(error, UpstreamError::Http { status: 500, detail: String::new() });
    assert!(error.is_retryable());
    let (url, _listener) = silent();
    let timeout = call(&url);
    assert!(matches!(timeout, UpstreamError::Timeout { .. }) && timeout.is_retryable(), "{timeout:?}");
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}/ws/pa/", listener.local_addr().unwrap())
    };
    let unreachable = call(&closed);
    assert!(matches!(unreachable, UpstreamError::Unreachable { .. }) && unreachable.is_retryable(), "{unreachable:?}");
    // An answer past the cap is refused, whatever it says.
    let big = format!("<x>{}</x>", "a".repeat(64 * 1024));
    let client = SilClient::new(&answering(200, &big), quick).unwrap().with_answer_limit(1024);
    let too_big = client.autorizza_import_flusso(&creds()).unwrap_err();
    assert!(matches!(too_big, UpstreamError::Garbage { .. }), "{too_big:?}");
    // Plain http only to loopback.
    assert!(matches!(SilClient::new("http://region.example/ws/pa/", quick), Err(UpstreamError::Local { .. })));
    let refused = SilClient::new(&closed, quick).unwrap().download("http://region.example/f.zip", 10);
    assert!(matches!(refused, Err(UpstreamError::Local { .. })));
}
