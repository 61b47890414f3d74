//! The reporting flows through the SIL (`paaSILChiediElencoFlussiSPC`, `paaSILChiediFlussoSPC` of
//! MyPay's `mypivot-pa-per-ente.wsdl`), called as a client generated from that WSDL calls them:
//! flows the simulator's PSPs publish, fetched over FdR REST and over nodeForPa, listed, filtered,
//! downloaded by their signed URL; the faults of bad input and bad credentials; every answer
//! validated with xmllint against the WSDL's types, every file against FlussoRiversamento's XSD.

use std::path::{Path, PathBuf};

use crate::sil::{PASSWORD, demo_server, fault_code, text_of};
use crate::support::{Server, get, post, post_with, run, stderr, stdout};

const PA: &str = "http://www.regione.veneto.it/pagamenti/pa/";

/// ../shared/specs beside the checkout, with xmllint installed.
fn specs() -> Option<PathBuf> {
    let have_xmllint =
        std::process::Command::new("xmllint").arg("--version").output().is_ok_and(|o| o.status.success());
    let dir = ["/../shared/specs", "/../../shared/specs"]
        .into_iter()
        .map(|rel| PathBuf::from(format!("{}{rel}", env!("CARGO_MANIFEST_DIR"))))
        .find(|path| path.is_dir());
    if dir.is_none() || !have_xmllint {
        eprintln!("skipped: XSD validation needs ../shared/specs and xmllint");
    }
    dir.filter(|_| have_xmllint)
}

fn xmllint(xsd: &Path, xml: &str) {
    let dir = tempfile::tempdir().unwrap();
    let doc = dir.path().join("doc.xml");
    std::fs::write(&doc, xml).unwrap();
    let out = std::process::Command::new("xmllint").arg("--noout").arg("--schema").arg(xsd).arg(&doc).output().unwrap();
    assert!(out.status.success(), "XSD validation failed:\n{}\n{xml}", String::from_utf8_lossy(&out.stderr));
}

/// Validates an answer's payload against the types of MyPay's mypivot-pa-per-ente.wsdl, read at
/// run time.
fn assert_valid_answer(answer: &str) {
    let Some(specs) = specs() else { return };
    let wsdl = std::fs::read_to_string(specs.join("mypay/mypivot-pa-per-ente.wsdl")).unwrap();
    assert_valid_for(&wsdl, answer);
}

/// Validates an answer's payload against the schema embedded in `wsdl`, with the namespaces the
/// WSDL declares for it.
fn assert_valid_for(wsdl: &str, answer: &str) {
    let start = wsdl.find("<xsd:schema").unwrap();
    let end = wsdl.find("</xsd:schema>").unwrap() + "</xsd:schema>".len();
    let schema = wsdl[start..end].replacen(
        "<xsd:schema",
        &format!("<xsd:schema xmlns:xsd=\"http://www.w3.org/2001/XMLSchema\" xmlns:ppt=\"{PA}\""),
        1,
    );
    let dir = tempfile::tempdir().unwrap();
    let xsd = dir.path().join("flussi.xsd");
    std::fs::write(&xsd, schema).unwrap();
    let body = answer.split("<soapenv:Body>").nth(1).unwrap().split("</soapenv:Body>").next().unwrap();
    let payload = body.replacen('>', &format!(" xmlns:ppt=\"{PA}\">"), 1);
    xmllint(&xsd, &payload);
}

/// A request as a client generated from mypivot-pa-per-ente.wsdl writes it.
fn request(op: &str, children: &str) -> String {
    format!(
        "<soapenv:Envelope xmlns:soapenv=\"http://schemas.xmlsoap.org/soap/envelope/\" xmlns:ppt=\"{PA}\">\
         <soapenv:Header/><soapenv:Body><ppt:{op}>{children}</ppt:{op}></soapenv:Body></soapenv:Envelope>"
    )
}

fn call(server: &Server, op: &str, children: &str) -> String {
    let body = request(op, children);
    let reply = post_with(&server.url("/ws/pa/"), "text/xml; charset=utf-8", body.as_bytes(), &[("SOAPAction", op)]);
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert!(reply.body.contains(&format!("<ppt:{op}Risposta>")), "{}", reply.body);
    assert!(reply.body.contains(&format!("xmlns:ppt=\"{PA}\"")), "{}", reply.body);
    assert_valid_answer(&reply.body);
    reply.body
}

fn elenco(server: &Server, password: &str, psp: &str, kind: &str, from: &str, to: &str) -> String {
    call(
        server,
        "paaSILChiediElencoFlussiSPC",
        &format!(
            "<password>{password}</password><codIpaEnte>c_esempio</codIpaEnte><identificativoPsp>{psp}</identificativoPsp>\
             <tipoFlusso>{kind}</tipoFlusso><dateFrom>{from}</dateFrom><dateTo>{to}</dateTo>"
        ),
    )
}

fn flusso(server: &Server, password: &str, psp: &str, iuf: &str, date: &str) -> String {
    call(
        server,
        "paaSILChiediFlussoSPC",
        &format!(
            "<password>{password}</password><codIpaEnte>c_esempio</codIpaEnte><identificativoPsp>{psp}</identificativoPsp>\
             <tipoFlusso>R</tipoFlusso><identificativoFlusso>{iuf}</identificativoFlusso><dataOraFlusso>{date}</dataOraFlusso>"
        ),
    )
}

/// (identificativoFlusso, dataOraFlusso) of each `idSPC` of a list.
fn listed(answer: &str) -> Vec<(String, String)> {
    answer
        .split("<idSPC>")
        .skip(1)
        .map(|item| (text_of(item, "identificativoFlusso").unwrap(), text_of(item, "dataOraFlusso").unwrap()))
        .collect()
}

/// Pays the demo notice `notice` at PSP `psp` and has the simulator publish its flow.
pub fn pay_and_publish(sim: &str, notice: &str, psp: &str) -> String {
    let body = format!(r#"{{"fiscalCode":"01234567897","noticeNumber":"{notice}","psp":"{psp}"}}"#);
    let paid = post(&format!("{sim}/sim/psp/pay"), "application/json", body.as_bytes());
    assert!(paid.body.contains("\"OK\""), "{}", paid.body);
    let generated = post(&format!("{sim}/sim/fdr/generate"), "application/json", b"{}");
    let generated: serde_json::Value = serde_json::from_str(&generated.body).unwrap();
    generated["generated"][0]["fdr"].as_str().unwrap().to_owned()
}

/// `mypay reporting fetch` from `node`: one new flow (any other listed is stored already).
pub fn fetch(dir: &Path, config: &Path, node: &str) {
    std::fs::write(
        config,
        format!(
            "version = 1\n[station]\nbroker_id = \"99999000013\"\nstation_id = \"99999000013_01\"\n[node]\nbase_url = \"{node}\"\n"
        ),
    )
    .unwrap();
    let out = run(dir, &["--config", config.to_str().unwrap(), "reporting", "fetch", "--json"], None);
    assert!(out.status.success(), "{}", stderr(&out));
    let summary: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(summary["stored"], 1, "{summary}");
}

#[test]
fn reporting_flows_are_listed_filtered_and_downloaded_as_from_mypay() {
    let (tmp, dir, server) = demo_server();
    let sim = server.simulator_url();
    let debts = crate::station::open_debts(&dir);
    let config = tmp.path().join("fetch.toml");
    // One flow fetched over FdR REST (kept as JSON), one over nodeForPa (the document as received).
    let rest_iuf = pay_and_publish(&sim, &debts[0].1, "SIMPSP01");
    fetch(&dir, &config, &sim);
    let soap_iuf = pay_and_publish(&sim, &debts[1].1, "SIMPSP02");
    fetch(&dir, &config, &crate::e2e::rest_down_proxy(sim.clone()));

    // Our WSDL of the service, beside the SIL's.
    let wsdl = get(&server.url("/ws/pa/PagamentiTelematiciFlussiSPC.wsdl"));
    assert_eq!(wsdl.status, 200);
    assert_eq!(wsdl.body.matches("<soap:operation soapAction=\"paaSIL").count(), 2, "{}", wsdl.body);
    let ours = |answer: &str| {
        if specs().is_some() {
            assert_valid_for(&wsdl.body, answer);
        }
    };

    // Every flow stored in the period; by PSP; none in another period or of quadratura.
    let all = elenco(&server, PASSWORD, "", "R", "2000-01-01", "2100-12-31");
    assert_eq!(fault_code(&all), None, "{all}");
    assert_eq!(text_of(&all, "totRestituiti").as_deref(), Some("2"), "{all}");
    let flows = listed(&all);
    assert_eq!(flows.iter().map(|f| f.0.clone()).collect::<Vec<_>>(), [rest_iuf.clone(), soap_iuf.clone()]);
    // Also at the service's own path, where MyPivot is configured to call MyPay.
    let body = request(
        "paaSILChiediElencoFlussiSPC",
        &format!(
            "<password>{PASSWORD}</password><codIpaEnte>c_esempio</codIpaEnte><identificativoPsp></identificativoPsp>\
             <tipoFlusso>R</tipoFlusso><dateFrom>2000-01-01</dateFrom><dateTo>2100-12-31</dateTo>"
        ),
    );
    let named = post(&server.url("/ws/pa/PagamentiTelematiciFlussiSPC"), "text/xml; charset=utf-8", body.as_bytes());
    assert_eq!((named.status, text_of(&named.body, "totRestituiti").as_deref()), (200, Some("2")), "{}", named.body);
    let by_psp = elenco(&server, PASSWORD, "SIMPSP02", "R", "2000-01-01", "2100-12-31");
    assert_eq!(listed(&by_psp).into_iter().map(|f| f.0).collect::<Vec<_>>(), std::slice::from_ref(&soap_iuf));
    let none = elenco(&server, PASSWORD, "", "R", "2000-01-01", "2000-12-31");
    assert_eq!((text_of(&none, "totRestituiti").as_deref(), listed(&none).len()), (Some("0"), 0), "{none}");
    let squaring = elenco(&server, PASSWORD, "", "Q", "2000-01-01", "2100-12-31");
    assert_eq!(text_of(&squaring, "totRestituiti").as_deref(), Some("0"), "{squaring}");
    ours(&all);

    // Each one's signed URL serves its FlussoRiversamento.
    let conn = rusqlite::Connection::open(dir.join("mypay.db")).unwrap();
    for ((iuf, date), psp) in flows.iter().zip(["SIMPSP01", "SIMPSP02"]) {
        let answer = flusso(&server, PASSWORD, psp, iuf, date);
        assert_eq!((fault_code(&answer), text_of(&answer, "stato").as_deref()), (None, Some("OK")), "{answer}");
        ours(&answer);
        let url = text_of(&answer, "downloadUrl").unwrap().replace("&amp;", "&");
        assert!(url.starts_with(&format!("{}/ws/pa/download/c_esempio/fdr/", server.base)), "{url}");
        let file = get(&url);
        assert_eq!((file.status, file.header("content-type")), (200, Some("application/xml")), "{}", file.body);
        let name = format!("{psp}_{iuf}_{}.xml", date.replace(['-', 'T', ':'], ""));
        assert_eq!(file.header("content-disposition"), Some(format!("attachment; filename=\"{name}\"").as_str()));
        assert!(file.body.contains(&format!("<identificativoFlusso>{iuf}</identificativoFlusso>")), "{}", file.body);
        assert!(file.body.contains(&format!("<dataOraFlusso>{date}</dataOraFlusso>")), "{}", file.body);
        if let Some(specs) = specs() {
            xmllint(&specs.join("pagopa/xsd-common/FlussoRiversamento_1_0_4.xsd"), &file.body);
        }
        let (source, document): (String, String) = conn
            .query_row("SELECT source, document FROM reporting_flow WHERE iuf = ?1", [iuf], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .unwrap();
        if source == "SOAP" {
            assert_eq!(file.body, document, "the document as received from the Node");
        } else {
            assert!(document.starts_with('{') && file.body.contains("<codiceIdentificativoUnivoco>SIMBITM1XXX<"));
        }
        // Tampered: another flow's id, another expiry, another signature.
        let other = url.replace("/fdr/", "/fdr/9");
        let later = url.replace("scadenza=", "scadenza=9");
        let forged = format!("{}{}", &url[..url.len() - 1], if url.ends_with('0') { '1' } else { '0' });
        for bad in [other, later, forged] {
            assert_eq!(get(&bad).status, 404, "{bad}");
        }
    }

    // Not found: KO without a URL and without a fault, as MyPay answers; also with the right flow at
    // another second or of another PSP.
    let (iuf, date) = &flows[0];
    let next_second = (date.parse::<jiff::civil::DateTime>().unwrap() + jiff::SignedDuration::from_secs(1)).to_string();
    for answer in [
        flusso(&server, PASSWORD, "SIMPSP01", "2026-01-01SIMPSP01-9999999", date),
        flusso(&server, PASSWORD, "SIMPSP01", iuf, &next_second),
        flusso(&server, PASSWORD, "SIMPSP02", iuf, date),
    ] {
        assert_eq!(fault_code(&answer), None, "{answer}");
        assert_eq!(text_of(&answer, "stato").as_deref(), Some("KO"), "{answer}");
        assert!(answer.contains("<downloadUrl></downloadUrl>"), "{answer}");
    }

    // Faults: a wrong password, bad dates, an unknown flow type.
    let wrong = elenco(&server, "sbagliata9", "", "R", "2000-01-01", "2100-12-31");
    assert_eq!(fault_code(&wrong).as_deref(), Some("PAA_ENTE_NON_VALIDO"), "{wrong}");
    assert!(!wrong.contains("<elencoFlussiSPC>"), "{wrong}");
    let wrong = flusso(&server, "sbagliata9", "SIMPSP01", iuf, date);
    assert_eq!(fault_code(&wrong).as_deref(), Some("PAA_ENTE_NON_VALIDO"), "{wrong}");
    ours(&wrong);
    assert_eq!(text_of(&wrong, "stato").as_deref(), Some("KO"), "{wrong}");
    let reversed = elenco(&server, PASSWORD, "", "R", "2026-12-02", "2026-12-01");
    assert_eq!(fault_code(&reversed).as_deref(), Some("PAA_ENTE_NON_VALIDO"), "{reversed}");
    assert_eq!(
        text_of(&reversed, "description").as_deref(),
        Some("Intervallo date non valido: dateTo precede dateFrom")
    );
    let kind = elenco(&server, PASSWORD, "", "X", "2000-01-01", "2100-12-31");
    assert_eq!(fault_code(&kind).as_deref(), Some("PAA_SYSTEM_ERROR"), "{kind}");
    assert_eq!(text_of(&kind, "description").as_deref(), Some("tipo flusso non supportato: X"));
}
