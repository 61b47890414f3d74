//! SIL benchmark: paaSILInviaDovuti and paaSILChiediPagati (of paid sessions, so the whole `Pagati`
//! document is built) at concurrency 32 over loopback. Prints requests/s and p50/p99 latencies;
//! never fails on timing. Run: `cargo bench --bench sil`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use mypay::testing::domain::debt_row::DebtFields;
use mypay::testing::services::sil::sessions::{self, NewSession, SessionItem, SessionKind, ShowMode};
use mypay::testing::store::Db;

#[path = "support/load.rs"]
mod load;
use load::{CONCURRENCY, Demo, load};

const PASSWORD: &str = "silpass123";
const PPT: &str = "http://www.regione.veneto.it/pagamenti/ente/";
const PAY: &str = "http://www.regione.veneto.it/schemas/2012/Pagamenti/Ente/";
const PAF: &str = "http://pagopa-api.pagopa.gov.it/pa/paForNode.xsd";

fn envelope(ns: &str, header: &str, payload: &str) -> String {
    format!(
        "<soapenv:Envelope xmlns:soapenv=\"http://schemas.xmlsoap.org/soap/envelope/\" xmlns:ppt=\"{PPT}\" \
         xmlns:paf=\"{ns}\"><soapenv:Header>{header}</soapenv:Header><soapenv:Body>{payload}</soapenv:Body></soapenv:Envelope>"
    )
}

fn invia_dovuti(iud: &str) -> String {
    let dovuti = format!(
        "<Dovuti xmlns=\"{PAY}\"><versioneOggetto>6.2.0</versioneOggetto><soggettoPagatore><identificativoUnivocoPagatore>\
         <tipoIdentificativoUnivoco>F</tipoIdentificativoUnivoco><codiceIdentificativoUnivoco>RSSMRA85T10A562S</codiceIdentificativoUnivoco>\
         </identificativoUnivocoPagatore><anagraficaPagatore>Mario Rossi</anagraficaPagatore></soggettoPagatore><datiVersamento>\
         <tipoVersamento>ALL</tipoVersamento><datiSingoloVersamento><identificativoUnivocoDovuto>{iud}</identificativoUnivocoDovuto>\
         <importoSingoloVersamento>12.34</importoSingoloVersamento><identificativoTipoDovuto>CONTRIBUTO_EVENTI</identificativoTipoDovuto>\
         <causaleVersamento>bench</causaleVersamento><datiSpecificiRiscossione>9/0101108TS/</datiSpecificiRiscossione>\
         </datiSingoloVersamento></datiVersamento></Dovuti>"
    );
    let b64 = base64::engine::general_purpose::STANDARD.encode(dovuti.as_bytes());
    envelope(
        PAF,
        "<ppthead:intestazionePPT xmlns:ppthead=\"http://www.regione.veneto.it/pagamenti/ente/ppthead\">\
         <codIpaEnte>c_esempio</codIpaEnte></ppthead:intestazionePPT>",
        &format!(
            "<ppt:paaSILInviaDovuti><password>{PASSWORD}</password><dovuti>{b64}</dovuti></ppt:paaSILInviaDovuti>"
        ),
    )
}

fn chiedi_pagati(id_session: &str) -> String {
    envelope(
        PAF,
        "",
        &format!(
            "<ppt:paaSILChiediPagati><codIpaEnte>c_esempio</codIpaEnte><password>{PASSWORD}</password>\
             <idSession>{id_session}</idSession></ppt:paaSILChiediPagati>"
        ),
    )
}

fn send_rt(notice: &str, iuv: &str, token: &str) -> String {
    envelope(
        PAF,
        "",
        &format!(
            "<paf:paSendRTV2Request><idPA>01234567897</idPA><idBrokerPA>99999000013</idBrokerPA><idStation>99999000013_01</idStation>\
         <receipt><receiptId>{token}</receiptId><noticeNumber>{notice}</noticeNumber><fiscalCode>01234567897</fiscalCode>\
         <outcome>OK</outcome><creditorReferenceId>{iuv}</creditorReferenceId><paymentAmount>12.34</paymentAmount><description>bench</description>\
         <companyName>Comune di Esempio</companyName><debtor><uniqueIdentifier><entityUniqueIdentifierType>F</entityUniqueIdentifierType>\
         <entityUniqueIdentifierValue>RSSMRA85T10A562S</entityUniqueIdentifierValue></uniqueIdentifier><fullName>Mario Rossi</fullName></debtor>\
         <transferList><transfer><idTransfer>1</idTransfer><transferAmount>12.34</transferAmount><fiscalCodePA>01234567897</fiscalCodePA>\
         <IBAN>IT60X0542811101000000123456</IBAN><remittanceInformation>bench</remittanceInformation><transferCategory>0101108TS</transferCategory></transfer></transferList>\
         <idPSP>BCITITMM</idPSP><PSPCompanyName>Banca</PSPCompanyName><idChannel>BCITITMM_01</idChannel><channelDescription>app</channelDescription></receipt></paf:paSendRTV2Request>"
        ),
    )
}

fn call(agent: &ureq::Agent, url: &str, action: &str, body: &str, expected: &str) -> Option<Duration> {
    let started = Instant::now();
    let answer = agent
        .post(url)
        .header("SOAPAction", action)
        .header("Content-Type", "text/xml")
        .send(body.as_bytes())
        .map_err(|err| err.to_string())
        .and_then(|mut res| res.body_mut().read_to_string().map_err(|err| err.to_string()));
    match answer {
        Ok(text) if text.contains(expected) => Some(started.elapsed()),
        Ok(text) | Err(text) => {
            load::show_first_unexpected(action, &text);
            None
        }
    }
}

fn main() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let n_calls: usize = std::env::var("BENCH_CALLS").ok().and_then(|v| v.parse().ok()).unwrap_or(200);
    let n_paid = 64;

    // The demo, the SIL password, and paid sessions for ChiediPagati (opened and sent to Checkout
    // in-process; their receipts come through the station once the server runs).
    let (db, _) = Db::open(&data.join("mypay.db")).unwrap();
    let now = mypay::testing::clock::Now::read();
    mypay::testing::services::demo::seed(&db, now).unwrap();
    mypay::testing::services::admin::orgs::set_sil_password(&db, "bench", "c_esempio", PASSWORD, now).unwrap();
    let mut paid = Vec::with_capacity(n_paid);
    for i in 0..n_paid {
        let fields = DebtFields {
            iud: format!("PAID-{i:04}"),
            debtor_kind: "F".into(),
            debtor_id: "RSSMRA85T10A562S".into(),
            debtor_name: "Mario Rossi".into(),
            amount: "12.34".into(),
            debt_type: "CONTRIBUTO_EVENTI".into(),
            causale: "bench".into(),
            collection_data: "9/0101108TS/".into(),
            generate_iuv: true,
            ..DebtFields::default()
        };
        let new = NewSession {
            ipa: "c_esempio".into(),
            kind: SessionKind::Dovuti,
            show: ShowMode::Short,
            back_url: None,
            items: vec![SessionItem { ipa: "c_esempio".into(), fields }],
        };
        let started = sessions::start(&db, "bench", &new, now).unwrap();
        let checkout = sessions::begin_checkout(&db, &started.token, Some("a@example.it"), now).unwrap();
        let debt = &checkout.views[0].debt;
        paid.push((started.id_session, debt.notice_number.clone().unwrap(), debt.iuv.clone().unwrap()));
    }
    drop(db);

    let demo = Demo::start(&data);
    let base = demo.base.clone();
    let url = format!("{base}/ws/pa/");
    println!("SIL at {url}, {CONCURRENCY} clients");

    let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
    for (i, (_, notice, iuv)) in paid.iter().enumerate() {
        let station = format!("{base}/ws/fesp/");
        call(
            &agent,
            &station,
            "paSendRTV2",
            &send_rt(notice.as_str(), iuv.as_str(), &format!("{i:032x}")),
            "<outcome>OK</outcome>",
        )
        .expect("receipt stored");
    }

    // The loads' 32 clients are the front end's whole budget of attached connections from one
    // address: this agent's kept-alive connection would hold a 33rd until it parks.
    drop(agent);
    let u = url.clone();
    load(5, move |t, i, a| call(a, &u, "paaSILInviaDovuti", &invia_dovuti(&format!("WARM-{t}-{i}")), "<esito>OK"));
    let u = url.clone();
    load(n_calls, move |t, i, a| {
        call(a, &u, "paaSILInviaDovuti", &invia_dovuti(&format!("B-{t:02}-{i:06}")), "<esito>OK</esito>")
    })
    .print("paaSILInviaDovuti", "req");
    let (u, p) = (url.clone(), Arc::new(paid));
    load(n_calls, move |t, i, a| {
        call(a, &u, "paaSILChiediPagati", &chiedi_pagati(&p[(t * n_calls + i) % p.len()].0), "<pagati>")
    })
    .print("paaSILChiediPagati", "req");

    demo.stop();
}
