//! MyPivot's SIL web services at `/ws/pivot/`, called as a client generated from
//! `mypivot-per-ente.wsdl` calls them: our WSDL; the §7.4 giornale di cassa uploaded with a token
//! and loaded (FILE_CARICATO); receipts with their reporting rows by IUV, by IUF and by date; the
//! sums of a CHIUSO accertamento by IUF; every fault code of §6; the export operations' SOAP
//! Fault until the export service answers them. Every answer is validated with xmllint against
//! the types of ../shared/specs/mypivot/mypivot-per-ente.wsdl, read at run time.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::sil::{PASSWORD, demo_server, fault_code, text_of, upload};
use crate::sil_flows::{fetch, pay_and_publish};
use crate::support::{Server, get, post_with, run, stderr, stdout};

const PPT: &str = "http://www.regione.veneto.it/pagamenti/pivot/ente/";
const PPTHEAD: &str = "http://www.regione.veneto.it/pagamenti/pivot/ente/ppthead";
const RVE: &str = "http://www.regione.veneto.it/schemas/2012/Pagamenti/";
const AGID: &str = "http://www.digitpa.gov.it/schemas/2011/Pagamenti/";

/// ../shared/specs/mypivot beside the checkout, with xmllint installed.
fn specs() -> Option<PathBuf> {
    let have_xmllint =
        std::process::Command::new("xmllint").arg("--version").output().is_ok_and(|o| o.status.success());
    let dir = ["/../shared/specs/mypivot", "/../../shared/specs/mypivot"]
        .into_iter()
        .map(|rel| PathBuf::from(format!("{}{rel}", env!("CARGO_MANIFEST_DIR"))))
        .find(|path| path.is_dir());
    if dir.is_none() || !have_xmllint {
        eprintln!("skipped: XSD validation needs ../shared/specs and xmllint");
    }
    dir.filter(|_| have_xmllint)
}

/// Validates an answer's payload against the `ppt` schema of MyPivot's WSDL, with the two schemas
/// it imports (the one regex libxml2 refuses fixed, as ../shared/specs/README.md says).
fn assert_valid(answer: &str) {
    let Some(specs) = specs() else { return };
    let wsdl = std::fs::read_to_string(specs.join("mypivot-per-ente.wsdl")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    for name in ["PagInf_RP_Esito_6_0_2.xsd", "FlussoRiversamento_1_0_4.xsd"] {
        let text = std::fs::read_to_string(specs.join(name)).unwrap();
        std::fs::write(dir.path().join(name), text.replace("\\/", "/")).unwrap();
    }
    let start = wsdl.find(&format!("targetNamespace=\"{PPT}\"")).unwrap();
    let start = wsdl[..start].rfind("<xsd:schema").unwrap();
    let end = start + wsdl[start..].find("</xsd:schema>").unwrap() + "</xsd:schema>".len();
    let schema = wsdl[start..end].replacen(
        "<xsd:schema",
        &format!(
            "<xsd:schema xmlns:xsd=\"http://www.w3.org/2001/XMLSchema\" xmlns:ppt=\"{PPT}\" xmlns:pay_i_rve=\"{RVE}\" \
             xmlns:pay_i_agid=\"{AGID}\""
        ),
        1,
    );
    let xsd = dir.path().join("pivot.xsd");
    std::fs::write(&xsd, schema).unwrap();
    let body = answer.split("<soapenv:Body>").nth(1).unwrap().split("</soapenv:Body>").next().unwrap();
    let payload =
        body.replacen('>', &format!(" xmlns:ppt=\"{PPT}\" xmlns:pay_i_rve=\"{RVE}\" xmlns:pay_i_agid=\"{AGID}\">"), 1);
    let doc = dir.path().join("doc.xml");
    std::fs::write(&doc, &payload).unwrap();
    let out =
        std::process::Command::new("xmllint").arg("--noout").arg("--schema").arg(&xsd).arg(&doc).output().unwrap();
    assert!(out.status.success(), "XSD validation failed:\n{}\n{payload}", String::from_utf8_lossy(&out.stderr));
}

/// Validates an answer's payload against the types of our WSDL (`wsdl`): its four inline schemas
/// written as files, the operations' schema importing the RT and FdR ones.
fn assert_valid_for_ours(wsdl: &str, answer: &str) {
    if specs().is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let declarations = format!(
        "<xsd:schema xmlns:xsd=\"http://www.w3.org/2001/XMLSchema\" xmlns:ppt=\"{PPT}\" xmlns:ppthead=\"{PPTHEAD}\" \
         xmlns:pay_i_rve=\"{RVE}\" xmlns:pay_i_agid=\"{AGID}\""
    );
    let mut rest = wsdl;
    let mut ppt = None;
    while let Some(start) = rest.find("<xsd:schema") {
        let end = start + rest[start..].find("</xsd:schema>").unwrap() + "</xsd:schema>".len();
        let schema = rest[start..end].replacen("<xsd:schema", &declarations, 1);
        for (ns, file) in [(RVE, "rve.xsd"), (AGID, "agid.xsd"), (PPT, "ppt.xsd")] {
            if schema.contains(&format!("targetNamespace=\"{ns}\"")) {
                std::fs::write(dir.path().join(file), &schema).unwrap();
                if file == "ppt.xsd" {
                    ppt = Some(dir.path().join(file));
                }
            }
        }
        rest = &rest[end..];
    }
    let ppt = ppt.unwrap();
    let text = std::fs::read_to_string(&ppt).unwrap();
    let text = text
        .replace(
            &format!("<xsd:import namespace=\"{RVE}\"/>"),
            &format!("<xsd:import namespace=\"{RVE}\" schemaLocation=\"rve.xsd\"/>"),
        )
        .replace(
            &format!("<xsd:import namespace=\"{AGID}\"/>"),
            &format!("<xsd:import namespace=\"{AGID}\" schemaLocation=\"agid.xsd\"/>"),
        );
    std::fs::write(&ppt, text).unwrap();
    let body = answer.split("<soapenv:Body>").nth(1).unwrap().split("</soapenv:Body>").next().unwrap();
    let payload =
        body.replacen('>', &format!(" xmlns:ppt=\"{PPT}\" xmlns:pay_i_rve=\"{RVE}\" xmlns:pay_i_agid=\"{AGID}\">"), 1);
    let doc = dir.path().join("doc.xml");
    std::fs::write(&doc, &payload).unwrap();
    let out =
        std::process::Command::new("xmllint").arg("--noout").arg("--schema").arg(&ppt).arg(&doc).output().unwrap();
    assert!(out.status.success(), "our XSD refused it:\n{}\n{payload}", String::from_utf8_lossy(&out.stderr));
}

/// A request as a client generated from mypivot-per-ente.wsdl writes it, with the header when the
/// operation has one.
fn request(op: &str, header_ipa: Option<&str>, children: &str) -> String {
    let header = header_ipa
        .map(|ipa| format!("<ppthead:intestazionePPT><codIpaEnte>{ipa}</codIpaEnte></ppthead:intestazionePPT>"))
        .unwrap_or_default();
    format!(
        "<soapenv:Envelope xmlns:soapenv=\"http://schemas.xmlsoap.org/soap/envelope/\" xmlns:ppt=\"{PPT}\" \
         xmlns:ppthead=\"{PPTHEAD}\"><soapenv:Header>{header}</soapenv:Header><soapenv:Body>\
         <ppt:{op}>{children}</ppt:{op}></soapenv:Body></soapenv:Envelope>"
    )
}

/// Calls `op` of the demo org (header and password), checks the answer's shape and validity.
fn call_as(server: &Server, op: &str, password: &str, children: &str) -> String {
    let body = if op == "pivotSILChiediPagatiRiconciliati" {
        request(op, None, &format!("<codIpaEnte>c_esempio</codIpaEnte><password>{password}</password>{children}"))
    } else {
        request(op, Some("c_esempio"), &format!("<password>{password}</password>{children}"))
    };
    let reply = post_with(&server.url("/ws/pivot/"), "text/xml; charset=utf-8", body.as_bytes(), &[("SOAPAction", op)]);
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert!(reply.body.contains(&format!("<ppt:{op}Risposta>")), "{}", reply.body);
    assert_valid(&reply.body);
    reply.body
}

fn call(server: &Server, op: &str, children: &str) -> String {
    call_as(server, op, PASSWORD, children)
}

/// The §7.4 giornale di cassa of ../shared/reference/mypivot.md, or `None` without it.
fn fixture_7_4() -> Option<String> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/reference/mypivot.md");
    let Ok(text) = std::fs::read_to_string(path) else {
        eprintln!("skipped: the treasury fixture needs ../shared/reference/mypivot.md");
        return None;
    };
    let section = &text[text.find("### 7.4").unwrap()..];
    let block = &section[section.find("```\n").unwrap() + 4..];
    Some(block[..block.find("```").unwrap()].to_owned())
}

fn zip_of(base: &str, ext: &str, content: &[u8]) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    zip.start_file(format!("{base}.{ext}"), zip::write::SimpleFileOptions::default()).unwrap();
    zip.write_all(content).unwrap();
    zip.finish().unwrap().into_inner()
}

fn ok_json(dir: &Path, args: &[&str]) -> serde_json::Value {
    let out = run(dir, args, None);
    assert!(out.status.success(), "{args:?}: {}", stderr(&out));
    serde_json::from_str(&stdout(&out)).unwrap()
}

fn accertamento_fault(server: &Server, request: &str) -> Option<String> {
    fault_code(&call(server, "pivotSILChiediAccertamento", request))
}

#[test]
fn mypivot_sil_uploads_reconciled_payments_and_accertamenti() {
    let (tmp, dir, server) = demo_server();

    // Our WSDL, where SOAP clients look for it and by name.
    let wsdl = get(&server.url("/ws/pivot/?wsdl"));
    assert_eq!(wsdl.status, 200);
    assert_eq!(wsdl.body.matches("<soap:operation soapAction=\"pivotSIL").count(), 10, "{}", wsdl.body);
    assert!(wsdl.body.contains(&format!("<soap:address location=\"{}/ws/pivot/\"/>", server.base)));
    assert_eq!(get(&server.url("/ws/pivot/PagamentiTelematiciPagatiRiconciliati.wsdl")).body, wsdl.body);
    assert_eq!(get(&server.url("/ws/pivot/altro.wsdl")).status, 404);
    if specs().is_some() {
        let file = tmp.path().join("pivot.wsdl");
        std::fs::write(&file, &wsdl.body).unwrap();
        let out = std::process::Command::new("xmllint").arg("--noout").arg(&file).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }

    // Credentials and kinds.
    let wrong = call_as(&server, "pivotSILAutorizzaImportFlusso", "sbagliata1", "");
    assert_eq!(fault_code(&wrong).as_deref(), Some("CODE_PIVOT_ENTE_NON_VALIDO"), "{wrong}");
    assert!(wrong.contains("Codice IPA Ente [c_esempio] non valido o password errata"), "{wrong}");
    for op in ["pivotSILAutorizzaImportFlussoRendicontazione", "pivotSILAutorizzaImportFlussoRT"] {
        assert_eq!(fault_code(&call(&server, op, "")).as_deref(), Some("CODE_PIVOT_TIPO_FLUSSO_NON_VALIDO"), "{op}");
    }
    let tesoreria = |kind: &str| {
        call(&server, "pivotSILAutorizzaImportFlussoTesoreria", &format!("<tipoFlusso>{kind}</tipoFlusso>"))
    };
    for kind in ["X", "P", "E"] {
        assert_eq!(fault_code(&tesoreria(kind)).as_deref(), Some("CODE_PIVOT_TIPO_FLUSSO_NON_VALIDO"), "{kind}");
    }
    let stato = |token: &str| {
        call(&server, "pivotSILChiediStatoImportFlussoTesoreria", &format!("<requestToken>{token}</requestToken>"))
    };
    assert_eq!(fault_code(&stato("nessuno")).as_deref(), Some("PIVOT_REQUEST_TOKEN_NON_VALIDO"));
    let notifications = call(&server, "pivotSILAutorizzaImportFlusso", "");
    assert_eq!(fault_code(&notifications), None, "{notifications}");
    assert_eq!(text_of(&notifications, "importPath").as_deref(), Some("/c_esempio/D"));
    let default_kind = call(&server, "pivotSILAutorizzaImportFlussoTesoreria", "");
    assert_eq!(text_of(&default_kind, "importPath").as_deref(), Some("/c_esempio/T"), "{default_kind}");

    // The giornale di cassa of §7.4, with default positions, through a token.
    let Some(csv) = fixture_7_4() else { return };
    let auth = tesoreria("C");
    assert_eq!(fault_code(&auth), None, "{auth}");
    let upload_url = text_of(&auth, "uploadUrl").unwrap();
    assert_eq!(upload_url, server.url("/ws/pivot/upload"));
    let token = text_of(&auth, "authorizationToken").unwrap();
    let request_token = text_of(&auth, "requestToken").unwrap();
    assert_eq!(text_of(&stato(&request_token), "stato").as_deref(), Some("FILE_IN_DOWNLOAD"));
    // A MyPay token is no MyPivot one, here nor in the state.
    let mypay = crate::sil::call(
        &server,
        "paaSILAutorizzaImportFlusso",
        &crate::sil::request(
            "paaSILAutorizzaImportFlusso",
            Some("c_esempio"),
            &format!("<password>{PASSWORD}</password>"),
        ),
    );
    let mypay_token = text_of(&mypay, "authorizationToken").unwrap();
    let base = "c_esempio-GDC20240520-1_0";
    let file = zip_of(base, "csv", csv.as_bytes());
    let refused = upload(&format!("{upload_url}?authorizationToken={mypay_token}"), &format!("{base}.zip"), &file);
    assert_eq!(refused, serde_json::json!({ "codice": "400", "descrizione": "requestToken sconosciuto" }));
    let mypay_request = text_of(&mypay, "requestToken").unwrap();
    assert_eq!(fault_code(&stato(&mypay_request)).as_deref(), Some("PIVOT_REQUEST_TOKEN_NON_VALIDO"));

    let url = format!("{upload_url}?authorizationToken={token}");
    let done = upload(&url, &format!("{base}.zip"), &file);
    assert_eq!(
        done,
        serde_json::json!({ "fileName": format!("{base}.zip"), "fileSize": file.len(), "fileType": "application/zip" })
    );
    let again = upload(&url, &format!("{base}.zip"), &file);
    assert_eq!(again, serde_json::json!({ "codice": "400", "descrizione": "Request token già usato" }));
    let deadline = Instant::now() + Duration::from_secs(30);
    let state = loop {
        let answer = stato(&request_token);
        let state = text_of(&answer, "stato").unwrap();
        if !["FILE_SCARICATO", "FILE_IN_CARICAMENTO"].contains(&state.as_str()) || Instant::now() > deadline {
            break state;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(state, "FILE_CARICATO");
    let plain =
        call(&server, "pivotSILChiediStatoImportFlusso", &format!("<requestToken>{request_token}</requestToken>"));
    assert_eq!(text_of(&plain, "stato").as_deref(), Some("FILE_CARICATO"));

    // Receipts with their reporting rows: a demo debt paid and reported by the simulator's PSP.
    let sim = server.simulator_url();
    let debts = crate::station::open_debts(&dir);
    let (iud, _, iuv, cents) = debts[0].clone();
    let iuf = pay_and_publish(&sim, &debts[0].1, "SIMPSP01");
    fetch(&dir, &tmp.path().join("fetch.toml"), &sim);
    let by_iuv = call(
        &server,
        "pivotSILChiediPagatiRiconciliati",
        &format!(
            "<richiestaPerIUVIUF><riversamentiPuntuali><identificativoUnivocoVersamento>{iuv}</identificativoUnivocoVersamento>\
             </riversamentiPuntuali></richiestaPerIUVIUF>"
        ),
    );
    assert_eq!(fault_code(&by_iuv), None, "{by_iuv}");
    assert_eq!(text_of(&by_iuv, "numeroTotale").as_deref(), Some("1"), "{by_iuv}");
    let amount = format!("{}.{:02}", cents / 100, cents % 100);
    for needle in [
        format!("<identificativoUnivocoDovuto>{iud}</identificativoUnivocoDovuto>"),
        format!("<identificativoUnivocoVersamento>{iuv}</identificativoUnivocoVersamento>"),
        format!("<importoTotalePagato>{amount}</importoTotalePagato>"),
        format!("<identificativoFlusso>{iuf}</identificativoFlusso>"),
        format!("<pay_i_agid:singoloImportoPagato>{amount}</pay_i_agid:singoloImportoPagato>"),
        "<pay_i_rve:identificativoDominio>01234567897</pay_i_rve:identificativoDominio>".to_owned(),
    ] {
        assert!(by_iuv.contains(&needle), "{needle}: {by_iuv}");
    }
    let iur = text_of(&by_iuv, "pay_i_agid:identificativoUnivocoRiscossione").unwrap();
    // A receipt no flow reported yet (RT_NO_IUF): the payment without `riversamento`.
    let unreported_iuv = debts[1].2.clone();
    let body = format!(r#"{{"fiscalCode":"01234567897","noticeNumber":"{}","psp":"SIMPSP01"}}"#, debts[1].1);
    let paid = crate::support::post(&format!("{sim}/sim/psp/pay"), "application/json", body.as_bytes());
    assert!(paid.body.contains("\"OK\""), "{}", paid.body);
    let unreported = call(
        &server,
        "pivotSILChiediPagatiRiconciliati",
        &format!(
            "<richiestaPerIUVIUF><riversamentiPuntuali><identificativoUnivocoVersamento>{unreported_iuv}</identificativoUnivocoVersamento>\
             <identificativoUnivocoVersamento>{iuv}</identificativoUnivocoVersamento></riversamentiPuntuali></richiestaPerIUVIUF>"
        ),
    );
    assert_eq!(text_of(&unreported, "numeroTotale").as_deref(), Some("2"), "{unreported}");
    assert_eq!(unreported.matches("<riversamento>").count(), 1, "{unreported}");
    assert!(unreported.contains(&format!("<identificativoUnivocoVersamento>{unreported_iuv}<")), "{unreported}");
    let debt_type = by_iuv.split("identificativoTipoDovuto=\"").nth(1).unwrap().split('"').next().unwrap().to_owned();
    let by_iuf = call(
        &server,
        "pivotSILChiediPagatiRiconciliati",
        &format!(
            "<richiestaPerIUVIUF><riversamentiCumulativi><identificativoFlusso>{iuf}</identificativoFlusso></riversamentiCumulativi></richiestaPerIUVIUF>"
        ),
    );
    assert_eq!(text_of(&by_iuf, "numeroTotale").as_deref(), Some("1"), "{by_iuf}");
    let other_type = call(
        &server,
        "pivotSILChiediPagatiRiconciliati",
        &format!(
            "<richiestaPerIUVIUF><riversamentiCumulativi><identificativoFlusso>{iuf}</identificativoFlusso></riversamentiCumulativi>\
             <filtroTipiDovuto><identificativoTipoDovuto>NESSUNO</identificativoTipoDovuto></filtroTipiDovuto></richiestaPerIUVIUF>"
        ),
    );
    assert_eq!(text_of(&other_type, "numeroTotale").as_deref(), Some("0"), "{other_type}");
    let by_date = |from: &str, to: &str| {
        call(
            &server,
            "pivotSILChiediPagatiRiconciliati",
            &format!("<richiestaPerData><dataDa>{from}</dataDa><dataA>{to}</dataA></richiestaPerData>"),
        )
    };
    let all = by_date("2000-01-01T00:00:00", "2100-01-01T00:00:00");
    let rows = all.matches("<pagamentiRiconciliati>").count();
    assert!(rows >= 1, "{all}");
    assert_eq!(text_of(&all, "numeroTotale"), Some(rows.to_string()), "{all}");
    assert!(all.contains(&format!("<identificativoFlusso>{iuf}</identificativoFlusso>")), "{all}");
    let data_a = text_of(&all, "dataA").unwrap();
    let last = all.rsplit("<data>").next().unwrap().split("</data>").next().unwrap().to_owned();
    assert_eq!(data_a, last, "the latest data, for the next call");
    let none = by_date("2000-01-01T00:00:00", "2000-01-02T00:00:00");
    assert_eq!((text_of(&none, "numeroTotale").as_deref(), text_of(&none, "dataA")), (Some("0"), None), "{none}");
    let incomplete = call(&server, "pivotSILChiediPagatiRiconciliati", "<richiestaPerIUVIUF></richiestaPerIUVIUF>");
    assert_eq!(fault_code(&incomplete).as_deref(), Some("CODE_PIVOT_RICHIESTA_PER_IUV_IUF_NON_COMPLETA"));
    // A wrong password: an empty answer without fault, as MyPivot's.
    let stranger = call_as(
        &server,
        "pivotSILChiediPagatiRiconciliati",
        "sbagliata1",
        &format!(
            "<richiestaPerIUVIUF><riversamentiPuntuali><identificativoUnivocoVersamento>{iuv}</identificativoUnivocoVersamento></riversamentiPuntuali></richiestaPerIUVIUF>"
        ),
    );
    assert_eq!((fault_code(&stranger), text_of(&stranger, "numeroTotale").as_deref()), (None, Some("0")), "{stranger}");

    // A CHIUSO accertamento on that payment, summed by its flow.
    let registry = format!(
        "\"cod_ufficio\";\"de_ufficio\";\"flg_attivo\";\"cod_capitolo\";\"de_capitolo\";\"de_anno_esercizio\";\
         \"cod_accertamento\";\"de_accertamento\";\"cod_tipo_dovuto\";\"azione\"\r\n\
         \"TRIB\";\"Ufficio Tributi\";\"true\";\"1010\";\"Entrate\";\"2024\";\"2024/101\";\"Accertamento 2024\";\"{debt_type}\";\"I\"\r\n"
    );
    let zip_path = tmp.path().join("c_esempio-ANAGRAFICA-1_0.zip");
    std::fs::write(&zip_path, zip_of("c_esempio-ANAGRAFICA-1_0", "csv", registry.as_bytes())).unwrap();
    ok_json(&dir, &["reconcile", "accertamenti", "import", zip_path.to_str().unwrap(), "--org", "c_esempio", "--json"]);
    let made = ok_json(
        &dir,
        &[
            "reconcile",
            "accertamenti",
            "create",
            "--org",
            "c_esempio",
            "--debt-type",
            &debt_type,
            "--name",
            "Chiusura",
            "--json",
        ],
    );
    let id = made["id"].to_string();
    let assign = [
        "reconcile",
        "accertamenti",
        "assign",
        "--org",
        "c_esempio",
        "--id",
        &id,
        "--iuv",
        &iuv,
        "--iur",
        &iur,
        "--index",
        "1",
        "--office",
        "TRIB",
        "--chapter",
        "1010",
        "--accertamento",
        "2024/101",
        "--json",
    ];
    ok_json(&dir, &assign);
    let by_flow = |iuf: &str| {
        call(
            &server,
            "pivotSILChiediAccertamento",
            &format!(
                "<richiestaPerIUF><identificativoUnivocoFlusso>{iuf}</identificativoUnivocoFlusso></richiestaPerIUF>"
            ),
        )
    };
    let open = by_flow(&iuf);
    assert_eq!((fault_code(&open), open.contains("<bilancio>")), (None, false), "INSERITO sums nothing: {open}");
    ok_json(
        &dir,
        &["reconcile", "accertamenti", "state", "--org", "c_esempio", "--id", &id, "--to", "CHIUSO", "--json"],
    );
    let closed = by_flow(&iuf);
    let expected = format!(
        "<bilancio><ufficio>TRIB</ufficio><tipoDovuto><codTipoDovuto>{debt_type}</codTipoDovuto><capitolo>\
         <codCapitolo>1010</codCapitolo><accertamento><codAccertamento>2024/101</codAccertamento>\
         <importo>{amount}</importo></accertamento></capitolo></tipoDovuto></bilancio>"
    );
    assert!(closed.contains(&expected), "{closed}");
    for answer in [&by_iuv, &unreported, &all, &closed, &auth, &plain, &incomplete, &wrong] {
        assert_valid_for_ours(&wsdl.body, answer);
    }

    // Every refusal of pivotSILChiediAccertamento.
    let bolletta = |year: &str, number: &str| {
        format!(
            "<richiestaPerBolletta><annoBolletta>{year}</annoBolletta><numeroBolletta>{number}</numeroBolletta></richiestaPerBolletta>"
        )
    };
    for (body, code) in [
        (
            format!(
                "{}<richiestaPerIUF><identificativoUnivocoFlusso>{iuf}</identificativoUnivocoFlusso></richiestaPerIUF>",
                bolletta("2024", "1201")
            ),
            "PIVOT_RICHIESTA_CON_PARAMETRI_MULTIPLI",
        ),
        (String::new(), "PIVOT_RICHIESTA_CON_PARAMETRI_MULTIPLI"),
        (bolletta("", "1201"), "PIVOT_PARAMETRO_ANNO_BOLLETTA_NULLO"),
        (bolletta("2024", ""), "PIVOT_PARAMETRO_NUMERO_BOLLETTA_NULLO"),
        (
            "<richiestaPerIUF><identificativoUnivocoFlusso> </identificativoUnivocoFlusso></richiestaPerIUF>"
                .to_owned(),
            "PIVOT_PARAMETRO_IUF_NULLO",
        ),
        (bolletta("2099", "1"), "PIVOT_BOLLETTA_NON_TROVATA"),
        (bolletta("2024", "1205"), "PIVOT_BOLLETTA_NON_PAGOPA"),
        // Bolletta 1201 names the §7 flow, which this org never received.
        (bolletta("2024", "1201"), "PIVOT_NESSUNA_RENDICONTAZIONE_TROVATA"),
        (
            "<richiestaPerIUF><identificativoUnivocoFlusso>NESSUNO</identificativoUnivocoFlusso></richiestaPerIUF>"
                .to_owned(),
            "PIVOT_NESSUNA_RENDICONTAZIONE_TROVATA",
        ),
    ] {
        assert_eq!(accertamento_fault(&server, &body).as_deref(), Some(code), "{body}");
    }
    // Bolletta 1202 names an IUV of no booked payment: nothing summed, no fault.
    let lone = call(&server, "pivotSILChiediAccertamento", &bolletta("2024", "1202"));
    assert_eq!((fault_code(&lone), lone.contains("<bilancio>")), (None, false), "{lone}");
    let garbled = post_with(
        &server.url("/ws/pivot/"),
        "text/xml",
        b"<soapenv:Envelope",
        &[("SOAPAction", "pivotSILChiediAccertamento")],
    );
    assert_eq!(
        (garbled.status, fault_code(&garbled.body).as_deref()),
        (200, Some("PIVOT_SYSTEM_ERROR")),
        "{}",
        garbled.body
    );

    // The export operations: a booking of the reconciliation export, its state, its signed file.
    let prenota = |children: &str| {
        let op = "pivotSILPrenotaExportFlussoRiconciliazione";
        let body = request(op, Some("c_esempio"), &format!("<password>{PASSWORD}</password>{children}"));
        post_with(&server.url("/ws/pivot/"), "text/xml", body.as_bytes(), &[("SOAPAction", op)]).body
    };
    for (children, code) in [
        ("<versioneTracciato>9.9</versioneTracciato>", "PIVOT_VERSIONE_TRACCIATO_EXPORT_NON_VALIDA"),
        (
            "<codiceClassificazione><classificazione>DOPPI</classificazione></codiceClassificazione>\
             <versioneTracciato>1.4</versioneTracciato>",
            "PIVOT_CLASSIFICAZIONE_NON_VALIDA",
        ),
        (
            "<dataEsitoDa>2024-05-01T00:00:00</dataEsitoDa><versioneTracciato>1.4</versioneTracciato>",
            "PIVOT_INTERVALLO_DATE_NON_VALIDO",
        ),
        (
            "<tipoDovuto><tipo>NESSUNO</tipo></tipoDovuto><versioneTracciato>1.4</versioneTracciato>",
            "CODE_PIVOT_ENTE_NON_VALIDO",
        ),
        (
            "<anagraficaPagatore>ROSSI</anagraficaPagatore><versioneTracciato>1.4</versioneTracciato>",
            "PIVOT_FILTRO_NON_SUPPORTATO",
        ),
    ] {
        assert_eq!(fault_code(&prenota(children)).as_deref(), Some(code), "{children}");
    }
    let booked = prenota(
        "<dataUltimoAggiornamentoDa>2000-01-01T00:00:00</dataUltimoAggiornamentoDa>\
         <dataUltimoAggiornamentoA>2099-12-31T00:00:00</dataUltimoAggiornamentoA>\
         <versioneTracciato>1.4</versioneTracciato>",
    );
    assert_valid(&booked);
    assert!(booked.contains("<dataA>2099-12-31</dataA>"), "{booked}");
    let token = text_of(&booked, "requestToken").unwrap();
    let started = Instant::now();
    let stato = loop {
        let stato = call(
            &server,
            "pivotSILChiediStatoExportFlussoRiconciliazione",
            &format!("<requestToken>{token}</requestToken>"),
        );
        if !stato.contains("<stato>PRENOTATO</stato>") || started.elapsed() > Duration::from_secs(20) {
            break stato;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    assert!(stato.contains("<stato>EXPORT_ESEGUITO</stato>"), "{stato}");
    let url = text_of(&stato, "downloadUrl").unwrap().replace("&amp;", "&");
    assert!(url.contains("/ws/pa/download/c_esempio/recon_export/"), "{url}");
    let path = url.split_once("/ws/").map(|(_, p)| format!("/ws/{p}")).unwrap();
    let file = get(&server.url(&path));
    assert_eq!(file.status, 200, "{url}");
    let unknown = call(&server, "pivotSILChiediStatoExportFlussoRiconciliazione", "<requestToken>x</requestToken>");
    assert_eq!(fault_code(&unknown).as_deref(), Some("PIVOT_REQUEST_TOKEN_NON_VALIDO"), "{unknown}");
    // Their refusal of a wrong password is still MyPivot's fault bean.
    let stato_export = call_as(
        &server,
        "pivotSILChiediStatoExportFlussoRiconciliazione",
        "sbagliata1",
        "<requestToken>x</requestToken>",
    );
    assert_eq!(fault_code(&stato_export).as_deref(), Some("CODE_PIVOT_ENTE_NON_VALIDO"), "{stato_export}");
    // Not ours: a SOAP Fault of the client.
    let unknown = post_with(&server.url("/ws/pivot/"), "text/xml", request("altro", None, "").as_bytes(), &[]);
    assert_eq!(unknown.status, 400, "{}", unknown.body);

    // An S row (§1.7): another org of the installation collected a payment whose transfer with an
    // IBAN is this org's (here: the paid receipt's copy, collected by c_altro). It is answered
    // under EXPORT_ENTE_SECONDARIO, with the collecting org as domain and creditor, and no IUD.
    let org = [
        "org",
        "add",
        "--mode",
        "ente",
        "c_altro",
        "--fiscal-code",
        "80012340123",
        "--name",
        "Unione dei Comuni",
        "--segregation-code",
        "02",
        "--iban",
        "IT60X0542811101000000123456",
        "--state",
        "ESERCIZIO",
    ];
    let out = run(&dir, &org, None);
    assert!(out.status.success(), "{}", stderr(&out));
    let conn = rusqlite::Connection::open(dir.join("mypay.db")).unwrap();
    conn.busy_timeout(Duration::from_secs(10)).unwrap();
    conn.execute_batch(&format!(
        "CREATE TEMP TABLE s_receipt AS SELECT * FROM receipt WHERE iuv = '{iuv}' AND receipt_id = '{iur}'; \
         CREATE TEMP TABLE s_transfer AS SELECT * FROM receipt_transfer WHERE receipt_id = (SELECT id FROM s_receipt); \
         UPDATE s_receipt SET id = (SELECT max(id) + 1 FROM receipt), debt_id = NULL, receipt_id = 'IUR-S-1', \
           org_id = (SELECT id FROM org WHERE ipa_code = 'c_altro'), company_name = 'Unione dei Comuni'; \
         UPDATE s_transfer SET receipt_id = (SELECT id FROM s_receipt); \
         INSERT INTO receipt SELECT * FROM s_receipt; INSERT INTO receipt_transfer SELECT * FROM s_transfer;"
    ))
    .unwrap();
    let s_rows = call(
        &server,
        "pivotSILChiediPagatiRiconciliati",
        &format!(
            "<richiestaPerIUVIUF><riversamentiPuntuali><identificativoUnivocoVersamento>{iuv}</identificativoUnivocoVersamento>\
             </riversamentiPuntuali><filtroTipiDovuto><identificativoTipoDovuto>EXPORT_ENTE_SECONDARIO</identificativoTipoDovuto>\
             </filtroTipiDovuto></richiestaPerIUVIUF>"
        ),
    );
    assert_eq!(text_of(&s_rows, "numeroTotale").as_deref(), Some("1"), "{s_rows}");
    for needle in [
        "<pagamentiRiconciliatiPerTipoDovuto identificativoTipoDovuto=\"EXPORT_ENTE_SECONDARIO\">".to_owned(),
        "<pay_i_rve:identificativoDominio>80012340123</pay_i_rve:identificativoDominio>".to_owned(),
        "<pay_i_rve:codiceIdentificativoUnivoco>80012340123</pay_i_rve:codiceIdentificativoUnivoco>".to_owned(),
        "<pay_i_rve:denominazioneBeneficiario>Unione dei Comuni</pay_i_rve:denominazioneBeneficiario>".to_owned(),
        "<identificativoUnivocoDovuto>n/a</identificativoUnivocoDovuto>".to_owned(),
        "<CodiceContestoPagamento>IUR-S-1</CodiceContestoPagamento>".to_owned(),
    ] {
        assert!(s_rows.contains(&needle), "{needle}: {s_rows}");
    }
    assert_valid_for_ours(&wsdl.body, &s_rows);
    // The collecting org's own answer has no such row: the transfer is not its own.
    let both = call(
        &server,
        "pivotSILChiediPagatiRiconciliati",
        &format!(
            "<richiestaPerIUVIUF><riversamentiPuntuali><identificativoUnivocoVersamento>{iuv}</identificativoUnivocoVersamento>\
             </riversamentiPuntuali></richiestaPerIUVIUF>"
        ),
    );
    assert_eq!(text_of(&both, "numeroTotale").as_deref(), Some("2"), "the own receipt and the S row: {both}");
    assert_valid_for_ours(&wsdl.body, &both);
}
