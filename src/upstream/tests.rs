//! Tests of the client without a network: the exact bytes of requests, every request and payload
//! document validated with xmllint against MyPay's WSDLs and XSD (read at run time from
//! `../shared/specs/mypay`, skipped with a notice without them or without xmllint), and the
//! Region's answers (canned) read into typed values or the right error.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use std::path::{Path, PathBuf};

use base64::Engine as _;

use super::answers;
use super::client::{Request, answer_payload};
use super::documents::{SecondaryDoc, Stamp};
use super::requests::{self, ENTE_NS, PIVOT_NS, PPTHEAD_NS};
use super::*;
use crate::domain::{Cents, Day, Party};

fn creds() -> Creds {
    Creds { ipa: "c_esempio".into(), password: "silpass123".into() }
}

fn payer() -> Party {
    Party {
        kind: "F".into(),
        id: "RSSMRA80A01F205X".into(),
        name: "Mario Rossi & figli".into(),
        address: Some("Via Roma".into()),
        civic_number: Some("1".into()),
        postal_code: Some("20100".into()),
        city: Some("Milano".into()),
        province: Some("MI".into()),
        country: Some("IT".into()),
        email: Some("mario@example.it".into()),
    }
}

const BILANCIO: &str = "<bilancio>\n <capitolo><codCapitolo>C1</codCapitolo><codUfficio>U1</codUfficio>\
    <accertamento><codAccertamento>A1</codAccertamento><importo>10</importo></accertamento></capitolo></bilancio>";

/// A debt with everything a debt may carry.
fn versamento() -> VersamentoDoc {
    VersamentoDoc {
        action: Action::Insert,
        payer: Some(payer()),
        due_date: Some(Day::parse("2026-12-31").unwrap()),
        payment_kinds: "ALL".into(),
        iuv: None,
        iud: "IUD-1".into(),
        amount: Cents::new(1050),
        fee: Some(Cents::new(150)),
        debt_type: "TARI".into(),
        causale: "Tassa rifiuti 2026".into(),
        collection_data: "9/0101100IM/".into(),
        bilancio: Some(BILANCIO.into()),
        secondary: None,
    }
}

fn secondary() -> SecondaryDoc {
    SecondaryDoc {
        party: Party {
            kind: "G".into(),
            id: "01199250158".into(),
            name: "Comune di Milano".into(),
            address: Some("Piazza della Scala".into()),
            city: Some("Milano".into()),
            ..Party::default()
        },
        iban: "IT60X0542811101000000123456".into(),
        causale: Some("Quota Milano".into()),
        collection_data: "9/0101002IM/".into(),
        amount: Cents::new(400),
    }
}

fn item(iud: &str) -> DovutoItem {
    DovutoItem {
        iud: iud.into(),
        amount: Cents::new(1000),
        fee: None,
        debt_type: "CONTRIBUTO_EVENTI".into(),
        causale: format!("Contributo {iud}"),
        collection_data: "9/0101108TS/".into(),
        stamp: None,
        bilancio: None,
    }
}

fn dovuti(n: usize) -> DovutiDoc {
    let mut items: Vec<DovutoItem> = (1..=n).map(|i| item(&format!("D-{i}"))).collect();
    if let Some(first) = items.first_mut() {
        first.stamp = Some(Stamp { document_hash: "aGFzaA==".into(), province: "MI".into() });
        first.bilancio = Some(BILANCIO.into());
    }
    DovutiDoc { payer: payer(), payment_kinds: String::new(), items }
}

fn b64(text: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(text)
}

const VERSAMENTO_XML: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\
    <Versamento xmlns=\"http://www.regione.veneto.it/schemas/2012/Pagamenti/Ente/\"><versioneOggetto>6.2.0</versioneOggetto>\
    <soggettoPagatore><identificativoUnivocoPagatore><tipoIdentificativoUnivoco>F</tipoIdentificativoUnivoco>\
    <codiceIdentificativoUnivoco>RSSMRA80A01F205X</codiceIdentificativoUnivoco></identificativoUnivocoPagatore>\
    <anagraficaPagatore>Mario Rossi &amp; figli</anagraficaPagatore><indirizzoPagatore>Via Roma</indirizzoPagatore>\
    <civicoPagatore>1</civicoPagatore><capPagatore>20100</capPagatore><localitaPagatore>Milano</localitaPagatore>\
    <provinciaPagatore>MI</provinciaPagatore><nazionePagatore>IT</nazionePagatore>\
    <e-mailPagatore>mario@example.it</e-mailPagatore></soggettoPagatore>\
    <datiVersamento><dataEsecuzionePagamento>2026-12-31</dataEsecuzionePagamento><tipoVersamento>ALL</tipoVersamento>\
    <identificativoUnivocoDovuto>IUD-1</identificativoUnivocoDovuto><importoSingoloVersamento>10.50</importoSingoloVersamento>\
    <commissioneCaricoPA>1.50</commissioneCaricoPA><identificativoTipoDovuto>TARI</identificativoTipoDovuto>\
    <causaleVersamento>Tassa rifiuti 2026</causaleVersamento><datiSpecificiRiscossione>9/0101100IM/</datiSpecificiRiscossione>\
    <bilancio><capitolo><codCapitolo>C1</codCapitolo><codUfficio>U1</codUfficio><accertamento>\
    <codAccertamento>A1</codAccertamento><importo>10.00</importo></accertamento></capitolo></bilancio>\
    </datiVersamento><azione>I</azione></Versamento>";

#[test]
fn exact_bytes_of_importa_dovuto() {
    assert_eq!(versamento().to_xml().unwrap(), VERSAMENTO_XML);
    let request = requests::importa_dovuto(&creds(), &versamento(), true).unwrap();
    assert_eq!((request.operation, request.ns), ("paaSILImportaDovuto", ENTE_NS));
    let expected = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><soapenv:Envelope xmlns:soapenv=\"http://schemas.xmlsoap.org/soap/envelope/\" \
         xmlns:ppt=\"http://www.regione.veneto.it/pagamenti/ente/\" xmlns:ppthead=\"http://www.regione.veneto.it/pagamenti/ente/ppthead\">\
         <soapenv:Header><ppthead:intestazionePPT><codIpaEnte>c_esempio</codIpaEnte></ppthead:intestazionePPT></soapenv:Header>\
         <soapenv:Body><ppt:paaSILImportaDovuto><password>silpass123</password><dovuto>{}</dovuto>\
         <flagGeneraIuv>true</flagGeneraIuv></ppt:paaSILImportaDovuto></soapenv:Body></soapenv:Envelope>",
        b64(VERSAMENTO_XML)
    );
    assert_eq!(request.envelope, expected);
}

#[test]
fn exact_bytes_of_chiedi_pagati_con_ricevuta() {
    let request = requests::chiedi_pagati_con_ricevuta(&creds(), &PagatiKey::Iuv("01000000000000012".into()));
    assert_eq!(
        request.envelope,
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><soapenv:Envelope xmlns:soapenv=\"http://schemas.xmlsoap.org/soap/envelope/\" \
         xmlns:ppt=\"http://www.regione.veneto.it/pagamenti/ente/\"><soapenv:Header/><soapenv:Body>\
         <ppt:paaSILChiediPagatiConRicevuta><codIpaEnte>c_esempio</codIpaEnte><password>silpass123</password>\
         <identificativoUnivocoVersamento>01000000000000012</identificativoUnivocoVersamento>\
         </ppt:paaSILChiediPagatiConRicevuta></soapenv:Body></soapenv:Envelope>"
    );
    let by_session = requests::chiedi_pagati_con_ricevuta(&creds(), &PagatiKey::IdSession("S-1".into()));
    assert!(by_session.envelope.contains("<password>silpass123</password><idSession>S-1</idSession></ppt:"));
}

#[test]
fn credentials_never_show_their_password() {
    assert_eq!(format!("{:?}", creds()), "Creds { ipa: \"c_esempio\", password: \"***\" }");
}

#[test]
fn documents_refuse_what_cannot_be_sent() {
    assert!(matches!(dovuti(0).to_xml(), Err(UpstreamError::Local { .. })));
    assert!(matches!(dovuti(6).to_xml(), Err(UpstreamError::Local { .. })));
    let mut bad = versamento();
    bad.bilancio = Some("<bilancio><capitolo>".into());
    assert!(matches!(bad.to_xml(), Err(UpstreamError::Local { .. })));
    assert!(matches!(requests::invia_carrello(&creds(), &[], None), Err(UpstreamError::Local { .. })));
    // A zero commission and empty optional texts are left out, as the schema wants.
    let mut lean = versamento();
    lean.fee = Some(Cents::ZERO);
    lean.payer.as_mut().unwrap().address = Some(String::new());
    let xml = lean.to_xml().unwrap();
    assert!(!xml.contains("commissioneCaricoPA") && !xml.contains("indirizzoPagatore"), "{xml}");
}

/// A stored debt goes up with everything it has.
#[test]
fn a_stored_debt_as_a_versamento() {
    let debt = crate::store::debts::DebtRecord {
        iud: "IUD-9".into(),
        iuv: Some(crate::domain::Iuv::parse("01000000000000012").unwrap()),
        debtor: payer(),
        due_date: Some(Day::parse("2026-06-30").unwrap()),
        amount_cents: Cents::new(2000),
        debt_type_code: "TARI".into(),
        causale: "TARI".into(),
        collection_data: "9/0101100IM/".into(),
        beneficiary: Some(secondary().party),
        mb_iban: Some(secondary().iban),
        mb_collection_data: Some(secondary().collection_data),
        mb_causale: secondary().causale,
        mb_amount_cents: Some(Cents::new(400)),
        ..Default::default()
    };
    let doc = VersamentoDoc::of_debt(&debt, Action::Modify);
    assert_eq!(
        (doc.iud.as_str(), doc.iuv.as_deref(), doc.amount),
        ("IUD-9", Some("01000000000000012"), Cents::new(2000))
    );
    assert_eq!(doc.secondary, Some(secondary()));
    let request = requests::importa_dovuto(&creds(), &doc, false).unwrap();
    assert!(request.envelope.contains(&format!(
        "<flagGeneraIuv>false</flagGeneraIuv><listaDovutiEntiSecondari><elementoListaDovutiEntiSecondari>\
         <dovutiEntiSecondari>{}</dovutiEntiSecondari>",
        b64(&secondary().to_xml())
    )));
    let item = DovutoItem::of_debt(&debt);
    assert_eq!((item.iud.as_str(), item.amount, item.stamp), ("IUD-9", Cents::new(2000), None));
}

// ---- Conformance with ../shared/specs/mypay ----

fn specs() -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/specs/mypay");
    dir.is_dir().then_some(dir)
}

fn have_xmllint() -> bool {
    std::process::Command::new("xmllint").arg("--version").output().is_ok_and(|o| o.status.success())
}

/// A SOAP envelope schema of our own: a Header of declared elements, a Body of one declared
/// element, both validated strictly against the schemas it imports.
const ENVELOPE_XSD: &str = r###"<?xml version="1.0" encoding="UTF-8"?>
<xsd:schema xmlns:xsd="http://www.w3.org/2001/XMLSchema" targetNamespace="http://schemas.xmlsoap.org/soap/envelope/" elementFormDefault="qualified">
  <xsd:import namespace="http://www.regione.veneto.it/pagamenti/ente/ppthead" schemaLocation="ppthead.xsd"/>
  <xsd:import namespace="http://www.regione.veneto.it/pagamenti/ente/" schemaLocation="ente.xsd"/>
  <xsd:import namespace="http://www.regione.veneto.it/pagamenti/pa/" schemaLocation="pivot.xsd"/>
  <xsd:element name="Envelope"><xsd:complexType><xsd:sequence>
    <xsd:element name="Header" minOccurs="0"><xsd:complexType><xsd:sequence>
      <xsd:any namespace="##other" processContents="strict" minOccurs="0" maxOccurs="unbounded"/>
    </xsd:sequence></xsd:complexType></xsd:element>
    <xsd:element name="Body"><xsd:complexType><xsd:sequence>
      <xsd:any namespace="##other" processContents="strict"/>
    </xsd:sequence></xsd:complexType></xsd:element>
  </xsd:sequence></xsd:complexType></xsd:element>
</xsd:schema>
"###;

/// The `<xsd:schema>` blocks of a WSDL's types, each made a schema file of its own: the namespace
/// declarations of `wsdl:definitions` copied onto it; written as `file_of(targetNamespace)`.
fn extract_schemas(wsdl: &str, dir: &Path, file_of: &dyn Fn(&str) -> &'static str) {
    let start = wsdl.find("<wsdl:definitions").unwrap();
    let definitions = &wsdl[start..start + wsdl[start..].find('>').unwrap()];
    let declarations: Vec<&str> =
        definitions.split_whitespace().filter(|a| a.starts_with("xmlns:")).map(|a| a.trim_end_matches('>')).collect();
    let mut rest = wsdl;
    while let Some(open) = rest.find("<xsd:schema") {
        let block = &rest[open..];
        let close = block.find("</xsd:schema>").unwrap() + "</xsd:schema>".len();
        let (schema, after) = (&block[..close], &block[close..]);
        let tag_end = schema.find('>').unwrap();
        let tag = &schema[..tag_end];
        let ns = tag.split("targetNamespace=\"").nth(1).unwrap().split('"').next().unwrap();
        let mut extra: String = declarations
            .iter()
            .filter(|d| !tag.contains(d.split('=').next().unwrap()))
            .map(|d| format!(" {d}"))
            .collect();
        extra.push('>');
        if ns == ENTE_NS {
            // Its types name ppthead's, which the WSDL had in scope.
            extra.push_str(&format!("<xsd:import namespace=\"{PPTHEAD_NS}\" schemaLocation=\"ppthead.xsd\"/>"));
        }
        let text = format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n{tag}{extra}{}", &schema[tag_end + 1..]);
        std::fs::write(dir.join(file_of(ns)), text).unwrap();
        rest = after;
    }
}

/// The schemas in a temporary folder: `envelope.xsd` for requests, `PagInf_Dovuti_Pagati_6_2_0.xsd`
/// (with the one regex libxml2 refuses fixed, see ../shared/specs/README.md) for documents.
fn schemas() -> Option<tempfile::TempDir> {
    let (Some(specs), true) = (specs(), have_xmllint()) else {
        eprintln!("skipped: WSDL and XSD validation needs ../shared/specs and xmllint");
        return None;
    };
    let dir = tempfile::tempdir().unwrap();
    let xsd = std::fs::read_to_string(specs.join("PagInf_Dovuti_Pagati_6_2_0.xsd")).unwrap();
    std::fs::write(dir.path().join("PagInf_Dovuti_Pagati_6_2_0.xsd"), xsd.replace("\\/", "/")).unwrap();
    let file_of = |ns: &str| match ns {
        ENTE_NS => "ente.xsd",
        PPTHEAD_NS => "ppthead.xsd",
        PIVOT_NS => "pivot.xsd",
        other => panic!("unexpected schema {other}"),
    };
    for wsdl in ["pa-per-ente.wsdl", "mypivot-pa-per-ente.wsdl"] {
        extract_schemas(&std::fs::read_to_string(specs.join(wsdl)).unwrap(), dir.path(), &file_of);
    }
    std::fs::write(dir.path().join("envelope.xsd"), ENVELOPE_XSD).unwrap();
    Some(dir)
}

fn assert_valid(schema: &Path, xml: &str) {
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), xml).unwrap();
    let out = std::process::Command::new("xmllint")
        .arg("--noout")
        .arg("--schema")
        .arg(schema)
        .arg(file.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "invalid:\n{}\n{xml}", String::from_utf8_lossy(&out.stderr));
}

/// Every request the client writes, of every operation.
fn every_request() -> Vec<Request> {
    let c = creds();
    let at = |t: &str| t.parse::<jiff::civil::DateTime>().unwrap();
    let mut modify = versamento();
    (modify.action, modify.iuv, modify.secondary) =
        (Action::Modify, Some("01000000000000012".into()), Some(secondary()));
    let element = |ipa: &str| CartElement { ipa: ipa.into(), hash: "ab".repeat(32), dovuti: dovuti(2) };
    let flow = answers::SpcFlow { id: "2026-03-01PSP1-1".into(), date_time: "2026-03-01T10:00:00".into() };
    let day = |d: &str| Day::parse(d).unwrap();
    vec![
        requests::importa_dovuto(&c, &versamento(), true).unwrap(),
        requests::importa_dovuto(&c, &modify, false).unwrap(),
        requests::invia_dovuti(&c, &dovuti(5), Some("https://box.example/ritorno?x=1&y=2")).unwrap(),
        requests::invia_dovuti(&c, &dovuti(1), None).unwrap(),
        requests::invia_carrello(&c, &[element("c_esempio"), element("c_milano")], Some("https://box.example/r"))
            .unwrap(),
        requests::chiedi_esito_carrello(&c, "6f1c2a4e-1b2c-4d3e-a4f5-251207100000"),
        requests::verifica_avviso(&c, "01000000000000012", Some("https://box.example/r")),
        requests::verifica_avviso(&c, "01000000000000012", None),
        requests::chiedi_pagati_con_ricevuta(&c, &PagatiKey::IdSession("S-1".into())),
        requests::chiedi_pagati_con_ricevuta(&c, &PagatiKey::Iuv("01000000000000012".into())),
        requests::chiedi_pagati_con_ricevuta(&c, &PagatiKey::Iud("IUD-1".into())),
        requests::autorizza_import_flusso(&c),
        requests::chiedi_stato_import_flusso(&c, "00000000-0000-0000-0000-000000000000"),
        requests::prenota_export_incrementale(&c, at("2026-03-01T00:00:00"), None, "1.3"),
        requests::prenota_export_incrementale(&c, at("2026-03-01T00:00:00"), Some(at("2026-03-02T10:30:00.5")), "1.0"),
        requests::chiedi_stato_export_flusso(&c, "TOKEN"),
        requests::elenco_flussi_spc(&c, None, SpcKind::Reporting, day("2026-03-01"), day("2026-03-31")),
        requests::elenco_flussi_spc(&c, Some("PSP1"), SpcKind::Reconciliation, day("2026-03-01"), day("2026-03-31")),
        requests::flusso_spc(&c, Some("PSP1"), SpcKind::Reporting, &flow.id, &flow.date_time),
    ]
}

#[test]
fn every_request_validates_against_the_wsdls() {
    let requests = every_request();
    let operations: std::collections::BTreeSet<&str> = requests.iter().map(|r| r.operation).collect();
    assert_eq!(operations.len(), 12, "{operations:?}");
    let Some(dir) = schemas() else { return };
    for request in &requests {
        assert_valid(&dir.path().join("envelope.xsd"), &request.envelope);
    }
    // Requests the WSDL refuses are refused here too: the check is not vacuous.
    let good = &requests[0].envelope;
    for (from, to) in [
        ("<password>silpass123</password>", "<password>short</password>"),
        ("<codIpaEnte>c_esempio</codIpaEnte>", ""),
        ("<flagGeneraIuv>true</flagGeneraIuv>", "<flagGeneraIuv>si</flagGeneraIuv>"),
        ("paaSILImportaDovuto>", "paaSILImportaDovutoX>"),
    ] {
        let wrong = good.replace(from, to);
        assert_ne!(&wrong, good);
        let file = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(file.path(), &wrong).unwrap();
        let out = std::process::Command::new("xmllint")
            .args(["--noout", "--schema"])
            .arg(dir.path().join("envelope.xsd"))
            .arg(file.path())
            .output()
            .unwrap();
        assert!(!out.status.success(), "accepted: {wrong}");
    }
}

#[test]
fn every_payload_document_validates_against_the_xsd() {
    let mut modify = versamento();
    (modify.action, modify.iuv, modify.payer, modify.fee, modify.bilancio) =
        (Action::Annul, Some("01000000000000012".into()), None, None, None);
    let documents = [
        versamento().to_xml().unwrap(),
        modify.to_xml().unwrap(),
        dovuti(1).to_xml().unwrap(),
        dovuti(5).to_xml().unwrap(),
        secondary().to_xml(),
    ];
    let Some(dir) = schemas() else { return };
    for document in &documents {
        assert_valid(&dir.path().join("PagInf_Dovuti_Pagati_6_2_0.xsd"), document);
    }
}

// ---- Answers ----

fn answer(operation: &'static str, ns: &'static str, inner: &str) -> Result<crate::soap::Element, UpstreamError> {
    let request = Request { operation, ns, envelope: String::new() };
    let body = format!(
        "<soap:Envelope xmlns:soap=\"http://schemas.xmlsoap.org/soap/envelope/\"><soap:Body>\
         <ns2:{operation}Risposta xmlns:ns2=\"{ns}\">{inner}</ns2:{operation}Risposta></soap:Body></soap:Envelope>"
    );
    answer_payload(&request, 200, body.as_bytes())
}

#[test]
fn answers_are_read_into_typed_values() {
    let imported = answers::imported(
        &answer(
            "paaSILImportaDovuto",
            ENTE_NS,
            "<esito>OK</esito><identificativoUnivocoVersamento>01000000000000012</identificativoUnivocoVersamento>\
             <urlFileAvviso>https://region.example/avviso?x=1</urlFileAvviso>",
        )
        .unwrap(),
    )
    .unwrap();
    assert_eq!(imported.iuv.unwrap().as_str(), "01000000000000012");
    assert_eq!(imported.notice_url.as_deref(), Some("https://region.example/avviso?x=1"));

    let session = answers::session(
        &answer("paaSILInviaCarrelloDovuti", ENTE_NS, "<esito>OK</esito><idSessionCarrello>C-1</idSessionCarrello><redirect>1</redirect><url>https://r/landing</url>")
            .unwrap(),
        "idSessionCarrello",
    )
    .unwrap();
    assert_eq!((session.id.as_str(), session.url.as_str()), ("C-1", "https://r/landing"));

    let outcomes = answers::cart_outcomes(
        &answer(
            "paaSILChiediEsitoCarrelloDovuti",
            ENTE_NS,
            "<listaCarrelli><rispostaCarrello><esito>PAGAMENTO IN CORSO</esito><codIpaEnte>c_esempio</codIpaEnte>\
             <codIdentificativoUnivocoCarrello>X</codIdentificativoUnivocoCarrello></rispostaCarrello>\
             <rispostaCarrello><esito>PREDISPOSTO</esito><codIpaEnte>c_milano</codIpaEnte>\
             <codIdentificativoUnivocoCarrello>X</codIdentificativoUnivocoCarrello></rispostaCarrello></listaCarrelli>",
        )
        .unwrap(),
    )
    .unwrap();
    let read: Vec<_> = outcomes.iter().map(|o| (o.esito.as_str(), o.ipa.as_str(), o.paid.is_some())).collect();
    assert_eq!(read, [("PAGAMENTO IN CORSO", "c_esempio", false), ("PREDISPOSTO", "c_milano", false)]);
    let empty = answer("paaSILChiediEsitoCarrelloDovuti", ENTE_NS, "<listaCarrelli/>").unwrap();
    assert!(matches!(answers::cart_outcomes(&empty), Err(UpstreamError::Garbage { .. })));
    let bad = answer(
        "paaSILChiediEsitoCarrelloDovuti",
        ENTE_NS,
        "<listaCarrelli><rispostaCarrello><esito>PAGATO</esito><codIpaEnte>c_esempio</codIpaEnte>\
         <codIdentificativoUnivocoCarrello>X</codIdentificativoUnivocoCarrello><pagati>!!</pagati></rispostaCarrello></listaCarrelli>",
    )
    .unwrap();
    assert!(matches!(answers::cart_outcomes(&bad), Err(UpstreamError::Garbage { .. })));

    let booked = answers::export_booked(
        &answer(
            "paaSILPrenotaExportFlussoIncrementaleConRicevuta",
            ENTE_NS,
            "<requestToken>T</requestToken><dateTo>2026-03-02T10:30:00.000+01:00</dateTo>",
        )
        .unwrap(),
    )
    .unwrap();
    assert_eq!(booked.date_to.to_string(), "2026-03-02T10:30:00");

    let status = answers::import_status(
        &answer(
            "paaSILChiediStatoImportFlusso",
            ENTE_NS,
            "<stato>IMPORT_ESEGUITO</stato><urlFileIUV>https://r/iuv</urlFileIUV>",
        )
        .unwrap(),
    )
    .unwrap();
    assert_eq!(
        (status.state(), status.iuv_url.as_deref(), status.rejects_url),
        (Some(crate::domain::ImportState::Done), Some("https://r/iuv"), None)
    );
    let refused = answers::import_status(
        &answer("paaSILChiediStatoImportFlusso", ENTE_NS, "<stato>PAA_IMPORT_NO_CSV</stato>").unwrap(),
    )
    .unwrap();
    assert_eq!(refused.state(), None);

    let export = answers::file_status(
        &answer(
            "paaSILChiediStatoExportFlusso",
            ENTE_NS,
            "<stato>EXPORT_ESEGUITO_NESSUN_DOVUTO_TROVATO</stato><downloadUrl></downloadUrl>",
        )
        .unwrap(),
    )
    .unwrap();
    assert_eq!((export.export_state(), export.download_url), (Some(crate::domain::ExportState::Done), None));

    let flows = answers::spc_flows(
        &answer(
            "paaSILChiediElencoFlussiSPC",
            PIVOT_NS,
            "<elencoFlussiSPC><totRestituiti>2</totRestituiti><idSPC><identificativoFlusso>F1</identificativoFlusso>\
             <dataOraFlusso>2026-03-01T10:00:00</dataOraFlusso></idSPC><idSPC xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xsi:nil=\"true\"/>\
             </elencoFlussiSPC>",
        )
        .unwrap(),
    )
    .unwrap();
    assert_eq!(flows, [answers::SpcFlow { id: "F1".into(), date_time: "2026-03-01T10:00:00".into() }]);
    assert_eq!(answers::spc_flows(&answer("paaSILChiediElencoFlussiSPC", PIVOT_NS, "").unwrap()).unwrap(), []);
}

#[test]
fn a_pagati_con_ricevuta_answer() {
    use crate::flows::pagati::{Header, Kind, Line, write};
    let debt = crate::store::debts::DebtRecord {
        iud: "IUD-1".into(),
        iuv: Some(crate::domain::Iuv::parse("01000000000000012").unwrap()),
        debtor: payer(),
        causale: "Tassa".into(),
        collection_data: "9/0101100IM/".into(),
        ..Default::default()
    };
    let receipt = crate::store::receipts::ReceiptRecord {
        receipt_id: "R-1".into(),
        outcome: "OK".into(),
        amount_cents: Cents::new(1050),
        payment_date: Day::parse("2026-03-02").unwrap(),
        payment_date_time: Some("2026-03-02T10:11:12".into()),
        psp_id: "PSP1".into(),
        psp_company_name: "Banca".into(),
        ..Default::default()
    };
    let header = Header {
        org_fiscal_code: "01234567897",
        org_name: "Comune",
        station_id: None,
        request_ref: "REQ",
        request_date: "2026-03-02",
        outcome_code: "0",
    };
    let pagati = write(Kind::PagatiConRicevuta, &header, &[Line { debt: Some(&debt), receipt: Some(&receipt) }]);
    let inner = format!("<pagati>{}</pagati><tipoFirma></tipoFirma><rt>{}</rt>", b64(&pagati), b64("<receipt/>"));
    let paid = answers::paid(&answer("paaSILChiediPagatiConRicevuta", ENTE_NS, &inner).unwrap()).unwrap();
    assert_eq!(paid.pagati.outcome, crate::flows::pagati_read::PaymentOutcome::Paid);
    assert_eq!((paid.pagati.total_paid, paid.pagati.payments[0].iud.as_str()), (Cents::new(1050), "IUD-1"));
    assert_eq!(
        (paid.pagati_xml, paid.receipt.as_deref(), paid.signature_kind),
        (pagati, Some(&b"<receipt/>"[..]), None)
    );
    let bad = answers::paid(&answer("paaSILChiediPagatiConRicevuta", ENTE_NS, "<pagati>@@@</pagati>").unwrap());
    assert!(matches!(bad, Err(UpstreamError::Garbage { .. })), "{bad:?}");
    let none = answers::paid(&answer("paaSILChiediPagatiConRicevuta", ENTE_NS, "").unwrap());
    assert!(matches!(none, Err(UpstreamError::Garbage { .. })), "{none:?}");
}

#[test]
fn faults_and_wrong_answers() {
    let fault = answer(
        "paaSILChiediPagatiConRicevuta",
        ENTE_NS,
        "<fault><faultCode>PAA_PAGAMENTO_IN_CORSO</faultCode><faultString>PAA PAGAMENTO IN CORSO</faultString>\
         <id>c_esempio</id><description>idSession S-1</description></fault>",
    );
    assert_eq!(
        fault.unwrap_err(),
        UpstreamError::Fault { code: "PAA_PAGAMENTO_IN_CORSO".into(), description: "idSession S-1".into() }
    );
    let ko = answer("paaSILImportaDovuto", ENTE_NS, "<esito>KO</esito>");
    assert!(matches!(ko, Err(UpstreamError::Garbage { .. })), "{ko:?}");
    // Another operation's answer, or the right one in another namespace.
    let request = Request { operation: "paaSILInviaDovuti", ns: ENTE_NS, envelope: String::new() };
    for (name, ns) in [("paaSILVerificaAvvisoRisposta", ENTE_NS), ("paaSILInviaDovutiRisposta", PIVOT_NS)] {
        let other = format!(
            "<s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\"><s:Body><p:{name} xmlns:p=\"{ns}\"/></s:Body></s:Envelope>"
        );
        assert!(
            matches!(answer_payload(&request, 200, other.as_bytes()), Err(UpstreamError::Garbage { .. })),
            "{name} {ns}"
        );
    }
    assert!(matches!(answer_payload(&request, 200, b"<html>maintenance</html>"), Err(UpstreamError::Garbage { .. })));
    let soap_fault = crate::soap::fault_envelope("Server", "Unmarshalling Error");
    assert_eq!(
        answer_payload(&request, 500, soap_fault.as_bytes()).unwrap_err(),
        UpstreamError::Http { status: 500, detail: "Unmarshalling Error".into() }
    );
    assert_eq!(
        answer_payload(&request, 502, b"Bad gateway").unwrap_err(),
        UpstreamError::Http { status: 502, detail: String::new() }
    );
    assert!(matches!(answer_payload(&request, 200, soap_fault.as_bytes()), Err(UpstreamError::Garbage { .. })));
}
