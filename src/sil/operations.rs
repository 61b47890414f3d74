//! The 20 `paaSIL*` operations (reference/mypay.md §4.2): the 18 of `pa-per-ente.wsdl` and the two
//! reporting-flow operations of its companion `mypivot-pa-per-ente.wsdl` (`super::reporting`). Each
//! reads its request's elements, authenticates as the contract says, calls a service and writes
//! its response fields.

use base64::Engine as _;

use super::dovuti::{decode_base64, read_dovuti, read_enti_secondari, read_versamento, write_dovuti};
use super::exports::{self, Booking};
use super::pagati::{self, Header, Kind};
use super::reporting;
use super::{Call, Fault, Outcome, PA_NS, PPT_NS, Sil};
use crate::clock::Now;
use crate::domain::ImportState;
use crate::services::debts::documents;
use crate::services::sil::SilError;
use crate::services::sil::debts::{self, Action};
use crate::services::sil::queries;
use crate::services::sil::sessions::{self, NewSession, SessionItem, SessionKind, SessionStatus, ShowMode};
use crate::services::sil::uploads;
use crate::services::upstream::outbox::{self, RegionVerdict};
use crate::soap::{Element, XmlWriter};
use crate::store::orgs::OrgRecord;
use sha2::{Digest, Sha256};

/// Every operation of the two WSDLs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    InviaDovuti,
    InviaCarrelloDovuti,
    VerificaAvviso,
    ChiediPagati,
    ChiediPagatiConRicevuta,
    ChiediEsitoCarrelloDovuti,
    ImportaDovuto,
    RegistraPagamento,
    AutorizzaImportFlusso,
    ChiediStatoImportFlusso,
    PrenotaExportFlusso,
    PrenotaExportFlussoIncrementaleConRicevuta,
    PrenotaExportFlussoScaduti,
    ChiediStatoExportFlusso,
    ChiediStatoExportFlussoScaduti,
    ChiediPosizioniAperte,
    ChiediStoricoPagamenti,
    ChiediAvvisiPendenti,
    ChiediElencoFlussiSPC,
    ChiediFlussoSPC,
}

impl Operation {
    pub const ALL: [Operation; 20] = [
        Operation::InviaDovuti,
        Operation::InviaCarrelloDovuti,
        Operation::VerificaAvviso,
        Operation::ChiediPagati,
        Operation::ChiediPagatiConRicevuta,
        Operation::ChiediEsitoCarrelloDovuti,
        Operation::ImportaDovuto,
        Operation::RegistraPagamento,
        Operation::AutorizzaImportFlusso,
        Operation::ChiediStatoImportFlusso,
        Operation::PrenotaExportFlusso,
        Operation::PrenotaExportFlussoIncrementaleConRicevuta,
        Operation::PrenotaExportFlussoScaduti,
        Operation::ChiediStatoExportFlusso,
        Operation::ChiediStatoExportFlussoScaduti,
        Operation::ChiediPosizioniAperte,
        Operation::ChiediStoricoPagamenti,
        Operation::ChiediAvvisiPendenti,
        Operation::ChiediElencoFlussiSPC,
        Operation::ChiediFlussoSPC,
    ];

    /// The request element's (and SOAPAction's) name.
    pub fn name(self) -> &'static str {
        match self {
            Operation::InviaDovuti => "paaSILInviaDovuti",
            Operation::InviaCarrelloDovuti => "paaSILInviaCarrelloDovuti",
            Operation::VerificaAvviso => "paaSILVerificaAvviso",
            Operation::ChiediPagati => "paaSILChiediPagati",
            Operation::ChiediPagatiConRicevuta => "paaSILChiediPagatiConRicevuta",
            Operation::ChiediEsitoCarrelloDovuti => "paaSILChiediEsitoCarrelloDovuti",
            Operation::ImportaDovuto => "paaSILImportaDovuto",
            Operation::RegistraPagamento => "paaSILRegistraPagamento",
            Operation::AutorizzaImportFlusso => "paaSILAutorizzaImportFlusso",
            Operation::ChiediStatoImportFlusso => "paaSILChiediStatoImportFlusso",
            Operation::PrenotaExportFlusso => "paaSILPrenotaExportFlusso",
            Operation::PrenotaExportFlussoIncrementaleConRicevuta => "paaSILPrenotaExportFlussoIncrementaleConRicevuta",
            Operation::PrenotaExportFlussoScaduti => "paaSILPrenotaExportFlussoScaduti",
            Operation::ChiediStatoExportFlusso => "paaSILChiediStatoExportFlusso",
            Operation::ChiediStatoExportFlussoScaduti => "paaSILChiediStatoExportFlussoScaduti",
            Operation::ChiediPosizioniAperte => "paaSILChiediPosizioniAperte",
            Operation::ChiediStoricoPagamenti => "paaSILChiediStoricoPagamenti",
            Operation::ChiediAvvisiPendenti => "paaSILChiediAvvisiPendenti",
            Operation::ChiediElencoFlussiSPC => "paaSILChiediElencoFlussiSPC",
            Operation::ChiediFlussoSPC => "paaSILChiediFlussoSPC",
        }
    }

    /// The namespace of the operation's elements: MyPay's SIL service (`pa-per-ente.wsdl`), or
    /// for the reporting flows its companion service (`mypivot-pa-per-ente.wsdl`).
    pub fn namespace(self) -> &'static str {
        match self {
            Operation::ChiediElencoFlussiSPC | Operation::ChiediFlussoSPC => PA_NS,
            _ => PPT_NS,
        }
    }

    pub fn from_name(name: &str) -> Option<Operation> {
        Operation::ALL.into_iter().find(|op| op.name() == name)
    }

    /// Whether the request carries the `intestazionePPT` header (the org is named there).
    pub fn has_header(self) -> bool {
        matches!(
            self,
            Operation::InviaDovuti
                | Operation::InviaCarrelloDovuti
                | Operation::VerificaAvviso
                | Operation::ImportaDovuto
                | Operation::AutorizzaImportFlusso
                | Operation::ChiediStatoImportFlusso
                | Operation::PrenotaExportFlusso
                | Operation::PrenotaExportFlussoIncrementaleConRicevuta
                | Operation::PrenotaExportFlussoScaduti
                | Operation::ChiediStatoExportFlusso
                | Operation::ChiediStatoExportFlussoScaduti
        )
    }

    /// What the response says after a fault bean: `esito` `KO` for the operations that have one;
    /// for paaSILChiediFlussoSPC, whose `stato` and `downloadUrl` the schema requires, `KO` and
    /// no URL.
    pub fn after_fault(self) -> &'static str {
        match self {
            Operation::InviaDovuti
            | Operation::InviaCarrelloDovuti
            | Operation::VerificaAvviso
            | Operation::ImportaDovuto
            | Operation::RegistraPagamento => "<esito>KO</esito>",
            Operation::ChiediFlussoSPC => "<stato>KO</stato><downloadUrl></downloadUrl>",
            _ => "",
        }
    }
}

/// Runs `op`.
pub(crate) fn run(sil: &Sil<'_>, op: Operation, call: &Call<'_>) -> Outcome {
    let mut org_id = None;
    let result = match op {
        Operation::InviaDovuti => invia_dovuti(sil, call, &mut org_id),
        Operation::ChiediPagati => chiedi_pagati(sil, call, &mut org_id, Kind::Pagati),
        Operation::ChiediPagatiConRicevuta => chiedi_pagati(sil, call, &mut org_id, Kind::PagatiConRicevuta),
        Operation::ImportaDovuto => importa_dovuto(sil, call, &mut org_id),
        Operation::VerificaAvviso => verifica_avviso(sil, call, &mut org_id),
        Operation::InviaCarrelloDovuti => invia_carrello(sil, call, &mut org_id),
        Operation::ChiediPosizioniAperte => posizioni_aperte(sil, call, &mut org_id),
        Operation::ChiediStoricoPagamenti => storico_pagamenti(sil, call, &mut org_id),
        Operation::ChiediAvvisiPendenti => avvisi_pendenti(sil, call, &mut org_id),
        Operation::ChiediEsitoCarrelloDovuti => esito_carrello(sil, call, &mut org_id),
        Operation::AutorizzaImportFlusso => header_auth(sil, call, &mut org_id).and_then(|org| {
            let done = uploads::authorize(sil.db, sil.links, &org.ipa_code, call.now)?;
            let mut w = XmlWriter::new();
            w.leaf("uploadUrl", &format!("{}/ws/pa/upload", sil.public_url))
                .leaf("authorizationToken", &done.authorization_token)
                .leaf("requestToken", &done.request_token)
                .leaf("importPath", "/IMPORT");
            Ok(w.finish())
        }),
        Operation::ChiediStatoImportFlusso => {
            header_auth(sil, call, &mut org_id).and_then(|org| stato_import(sil, call, &org))
        }
        Operation::PrenotaExportFlusso => {
            header_auth(sil, call, &mut org_id).and_then(|org| exports::book(sil, call, &org, Booking::Plain))
        }
        Operation::PrenotaExportFlussoIncrementaleConRicevuta => {
            header_auth(sil, call, &mut org_id).and_then(|org| exports::book(sil, call, &org, Booking::Incremental))
        }
        Operation::PrenotaExportFlussoScaduti => {
            header_auth(sil, call, &mut org_id).and_then(|org| exports::book(sil, call, &org, Booking::Expired))
        }
        Operation::ChiediStatoExportFlusso => {
            header_auth(sil, call, &mut org_id).and_then(|org| exports::status(sil, call, &org, false))
        }
        Operation::ChiediStatoExportFlussoScaduti => {
            header_auth(sil, call, &mut org_id).and_then(|org| exports::status(sil, call, &org, true))
        }
        Operation::RegistraPagamento => registra_pagamento(sil, call, &mut org_id),
        Operation::ChiediElencoFlussiSPC => reporting::list(sil, call, &mut org_id),
        Operation::ChiediFlussoSPC => reporting::flow(sil, call, &mut org_id),
    };
    Outcome { org_id, result }
}

/// Authenticates the org of the `intestazionePPT` header with the body's `password`.
fn header_auth(sil: &Sil<'_>, call: &Call<'_>, org_id: &mut Option<i64>) -> Result<OrgRecord, Fault> {
    let ipa = call.header_org()?;
    let org = sil.authenticate(&ipa, call.text("password").as_deref())?;
    *org_id = Some(org.id);
    Ok(org)
}

fn base64_of(text: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(text.as_bytes())
}

/// `paaSILInviaDovuti`: checks the `Dovuti` (§4.6 order) and opens a session.
fn invia_dovuti(sil: &Sil<'_>, call: &Call<'_>, org_id: &mut Option<i64>) -> Result<String, Fault> {
    let org = header_auth(sil, call, org_id)?;
    let ipa = org.ipa_code.clone();
    let bytes = decode_base64(&call.text("dovuti").unwrap_or_default())?;
    let dovuti = read_dovuti(&bytes)?;
    let show = match call.text("showMyPay").as_deref() {
        None | Some("SHORT") => ShowMode::Short,
        Some("NONE") => ShowMode::None,
        Some(other) => return Err(Fault::new("PAA_XML_NON_VALIDO", format!("showMyPay {other} non valido"))),
    };
    let new = NewSession {
        ipa: org.ipa_code.clone(),
        kind: SessionKind::Dovuti,
        show,
        back_url: call.text("enteSILInviaRispostaPagamentoUrl"),
        items: dovuti.items.into_iter().map(|fields| SessionItem { ipa: org.ipa_code.clone(), fields }).collect(),
    };
    let started = sessions::start(sil.db, &format!("sil:{ipa}"), &new, call.now)?;
    Ok(session_answer(sil, "idSession", &started))
}

/// `paaSILChiediPagati` / `…ConRicevuta` by `idSession`: the session's state as a fault, or the
/// `Pagati` document (with the receipt for `…ConRicevuta`).
fn chiedi_pagati(sil: &Sil<'_>, call: &Call<'_>, org_id: &mut Option<i64>, kind: Kind) -> Result<String, Fault> {
    let ipa = call.body_org()?;
    let org = sil.authenticate(&ipa, call.text("password").as_deref())?;
    *org_id = Some(org.id);
    let id_session = call.text("idSession");
    if kind == Kind::PagatiConRicevuta {
        let keys = [
            id_session.is_some(),
            call.text("identificativoUnivocoVersamento").is_some(),
            call.text("identificativoUnivocoDovuto").is_some(),
        ];
        if keys.iter().filter(|k| **k).count() != 1 {
            return Err(Fault::new("PAA_SYSTEM_ERROR", "indicare uno solo tra idSession, IUV e IUD"));
        }
    }
    let Some(id_session) = id_session else {
        let (iuv, iud) = (call.text("identificativoUnivocoVersamento"), call.text("identificativoUnivocoDovuto"));
        if kind == Kind::Pagati {
            return Err(Fault::new("PAA_ID_SESSION_NON_VALIDO", "idSession mancante"));
        }
        let line = sessions::paid_debt(sil.db, &org.ipa_code, iuv.as_deref(), iud.as_deref())?;
        let date = line.receipt.as_ref().map(|r| r.payment_date.to_string()).unwrap_or_default();
        let header = Header {
            station_id: sil.station_id,
            request_ref: &line.debt.iud,
            request_date: &date,
            outcome: sessions::PaymentOutcome::Paid,
        };
        return Ok(pagati_answer(kind, &header, std::slice::from_ref(&line)));
    };
    let status = sessions::status(sil.db, &org.ipa_code, &id_session, call.now)?;
    let outcome = match status {
        SessionStatus::Finished(outcome) => outcome,
        other => {
            let code = other.fault_code().unwrap_or("PAA_SYSTEM_ERROR");
            return Err(Fault::new(code, format!("idSession {id_session}")));
        }
    };
    let header = Header {
        station_id: sil.station_id,
        request_ref: &outcome.cart.token,
        request_date: outcome.session.created_at.get(..10).unwrap_or_default(),
        outcome: outcome.outcome,
    };
    Ok(pagati_answer(kind, &header, &outcome.lines))
}

/// `<pagati>` (and for `…ConRicevuta`, `<rt>`: the receipt as the Node delivered it).
fn pagati_answer(kind: Kind, header: &Header<'_>, lines: &[sessions::OutcomeLine]) -> String {
    let document = pagati::write(kind, header, lines);
    let mut w = XmlWriter::new();
    w.leaf("pagati", &base64_of(&document));
    if kind == Kind::PagatiConRicevuta
        && let Some(receipt) = lines.iter().find_map(|l| l.receipt.as_ref())
    {
        w.leaf("rt", &base64_of(&receipt.request_xml));
    }
    w.finish()
}

/// `paaSILVerificaAvviso`: a session on the open debt with this IUV, paid through the same landing
/// page and Checkout as paaSILInviaDovuti.
fn verifica_avviso(sil: &Sil<'_>, call: &Call<'_>, org_id: &mut Option<i64>) -> Result<String, Fault> {
    let org = header_auth(sil, call, org_id)?;
    let iuv = call.text("identificativoUnivocoVersamento").unwrap_or_default();
    let started = sessions::start_for_notice(
        sil.db,
        &format!("sil:{}", org.ipa_code),
        &org.ipa_code,
        &iuv,
        call.text("enteSILInviaRispostaPagamentoUrl"),
        call.now,
    )?;
    Ok(session_answer(sil, "idSession", &started))
}

/// `esito`, the session id (`idSession` or `idSessionCarrello`), `redirect` and the landing URL.
fn session_answer(sil: &Sil<'_>, id_name: &str, started: &sessions::Started) -> String {
    let mut w = XmlWriter::new();
    w.leaf("esito", "OK")
        .leaf(id_name, &started.id_session)
        .leaf("redirect", "1")
        .leaf("url", &format!("{}{}", sil.public_url, sessions::landing_path(&started.token)));
    w.finish()
}

/// How long `paaSILImportaDovuto` of a mirrored org (upstream mode) waits for the Region's answer
/// to the change it queued. Within it the answer carries the Region's IUV, or its refusal as a
/// fault; past it the answer is `OK` without `identificativoUnivocoVersamento`: the debt is kept
/// and queued, and goes up when the Region answers; the caller gets the IUV by sending it again
/// with azione `M` and `flagGeneraIuv` (which answers the IUV the debt has), or from
/// paaSILChiediPosizioniAperte. A fault there would make a SIL send the same `I` again, which
/// would be a duplicate IUD.
const REGION_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// MyPay's codes of a refusal the Region may give a debt, which the SIL hears as such; another
/// code is a system error naming it.
const REGION_REFUSALS: [&str; 10] = [
    "PAA_IMPORT_IUD_DUPLICATO",
    "PAA_IMPORT_IUV_DUPLICATO",
    "PAA_IMPORT_DOVUTO_NON_PRESENTE",
    "PAA_IMPORT_TIPO_DOVUTO_NON_MODIFICABILE",
    "PAA_IDENTIFICATIVO_TIPO_DOVUTO_NON_VALIDO",
    "PAA_IDENTIFICATIVO_TIPO_DOVUTO_NON_ABILITATO",
    "PAA_IMPORTO_SINGOLO_VERSAMENTO_NON_VALIDO",
    "PAA_IUV_NON_VALIDO",
    "PAA_XML_NON_VALIDO",
    "PAA_IMPORT_SINTASSI_CSV",
];

/// The Region's refusal of a debt as the SIL's fault.
fn region_refusal(code: Option<&str>, text: &str) -> Fault {
    match code.and_then(|c| REGION_REFUSALS.iter().find(|known| **known == c)) {
        Some(known) => Fault::new(known, format!("rifiutato dalla Regione: {text}")),
        None => Fault::new(
            "PAA_SYSTEM_ERROR",
            format!("rifiutato dalla Regione ({}): {text}", code.unwrap_or("senza codice")),
        ),
    }
}

/// `paaSILImportaDovuto`: one `Versamento` inserted, modified, annulled or printed; answers the
/// IUV and the signed link to its notice (for `S`, also the notice PDF zipped). A mirrored org's
/// new debt answers with the Region's IUV ([`REGION_WAIT`]).
fn importa_dovuto(sil: &Sil<'_>, call: &Call<'_>, org_id: &mut Option<i64>) -> Result<String, Fault> {
    let org = header_auth(sil, call, org_id)?;
    let bytes = decode_base64(&call.text("dovuto").unwrap_or_default())?;
    let mut versamento = read_versamento(&bytes)?;
    let action = Action::parse(&versamento.action)
        .ok_or_else(|| Fault::new("PAA_AZIONE_NON_VALIDO", format!("azione {} non valida", versamento.action)))?;
    versamento.fields.secondary = read_enti_secondari(call.payload.child("listaDovutiEntiSecondari"))?;
    let generate = call.text("flagGeneraIuv").is_some_and(|f| f == "true" || f == "1");
    let actor = format!("sil:{}", org.ipa_code);
    let debt = debts::import_debt(sil.db, &actor, &org.ipa_code, action, versamento.fields, generate, call.now)?;
    let debt = match action {
        // A mirrored org's debt takes the Region's IUV: wait a little for it (see REGION_WAIT).
        Action::Insert | Action::Modify if generate && debt.iuv.is_none() => {
            let insert = action == Action::Insert;
            match outbox::await_region(sil.db, &org.ipa_code, &debt, insert, REGION_WAIT, call.now)
                .map_err(SilError::from)?
            {
                RegionVerdict::NotMirrored => debt,
                RegionVerdict::Taken(debt) | RegionVerdict::Queued(debt) => debt,
                RegionVerdict::Refused { code, text } => return Err(region_refusal(code.as_deref(), &text)),
            }
        }
        _ => debt,
    };
    let mut w = XmlWriter::new();
    w.leaf("esito", "OK");
    w.leaf_opt("identificativoUnivocoVersamento", debt.iuv.as_ref().map(crate::domain::Iuv::as_str));
    if let Some(notice) =
        debt.notice_number.as_ref().map(crate::domain::NoticeNumber::as_str).filter(|_| action != Action::Annul)
    {
        w.leaf("urlFileAvviso", &sil.url(&sil.links.notice_pdf_url(&org.ipa_code, notice, call.now)));
        if action == Action::Print {
            let zip = documents::notice_zip(sil.db, &org.ipa_code, notice, call.now).map_err(|err| {
                tracing::error!(error = %err, "notice ZIP");
                Fault::new("PAA_SYSTEM_ERROR", "avviso non generato")
            })?;
            w.leaf("base64ZipAvviso", &base64::engine::general_purpose::STANDARD.encode(zip));
        }
    }
    Ok(w.finish())
}

/// `paaSILChiediStatoImportFlusso`: the import's state (its error code when it was aborted) and,
/// once it ran, the download URLs of the result files asked for.
fn stato_import(sil: &Sil<'_>, call: &Call<'_>, org: &OrgRecord) -> Result<String, Fault> {
    let token = call.text("requestToken").unwrap_or_default();
    let import = uploads::status(sil.db, &org.ipa_code, &token)?;
    let stato = match (import.state, &import.error_code) {
        (ImportState::Aborted, Some(code)) => code.clone(),
        (state, _) => state.code().to_owned(),
    };
    let mut w = XmlWriter::new();
    w.leaf("stato", &stato);
    if import.state == ImportState::Done {
        let wanted = |name: &str| call.text(name).is_some_and(|v| v == "true" || v == "1");
        for (element, flag, kind, present) in [
            ("urlFileScarti", "fileScarti", "scarti", import.rejects_file.is_some()),
            ("urlFileIUV", "fileIUV", "iuv", import.iuv_file.is_some()),
            ("urlFileAvvisi", "fileAvvisi", "avvisi", import.notices_file.is_some()),
        ] {
            if present && wanted(flag) {
                w.leaf(element, &sil.url(&sil.links.sil_download_url(&org.ipa_code, kind, import.id, call.now)));
            }
        }
    }
    Ok(w.finish())
}

/// The lowercase hex SHA-256 that authorizes org `fiscal_code`'s element of a multi-org cart.
pub fn carrello_hash(intermediary_password: &str, fiscal_code: &str) -> String {
    let digest = Sha256::digest(format!("paaSILInviaCarrelloDovuti-{intermediary_password}-{fiscal_code}").as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// `paaSILInviaCarrelloDovuti`: the header org's password, then for each element its org (in
/// production) and the intermediary's hash, then the `Dovuti` of all elements checked as one
/// session of at most five debts, then (mypay.md §4.4) the secondary beneficiary of
/// `listaDovutiEntiSecondari`, which only a cart of one element with one debt may carry.
fn invia_carrello(sil: &Sil<'_>, call: &Call<'_>, org_id: &mut Option<i64>) -> Result<String, Fault> {
    let org = header_auth(sil, call, org_id)?;
    if sil.intermediary_password.is_empty() {
        return Err(Fault::new("PAA_ENTE_NON_VALIDO", "carrello multi-ente non abilitato (sil.intermediary_password)"));
    }
    let elements: Vec<&Element> = call
        .payload
        .child("listaDovuti")
        .map(|l| l.children_named("elementoListaDovuti").collect())
        .unwrap_or_default();
    if elements.is_empty() {
        return Err(Fault::new("PAA_XML_NON_VALIDO", "listaDovuti vuota"));
    }
    let mut items = Vec::new();
    for element in &elements {
        let ipa = element.child_text("codIpaEnte").map(str::trim).unwrap_or_default();
        let member = crate::services::sil::access::org_in_production(sil.db, ipa)?;
        // A member's debts come in through the SIL too.
        crate::services::admin::adhesion::require(sil.db, &member, crate::domain::adhesion::Channel::Sil)
            .map_err(crate::services::sil::SilError::from)?;
        let hash = element.child_text("password").map(str::trim).unwrap_or_default().to_ascii_lowercase();
        if hash != carrello_hash(sil.intermediary_password, &member.fiscal_code) {
            return Err(Fault::new("PAA_ENTE_NON_VALIDO", format!("hash non valido per l'ente {ipa}")));
        }
        let bytes = decode_base64(element.child_text("dovuti").unwrap_or_default())?;
        let dovuti = read_dovuti(&bytes)?;
        items.extend(dovuti.items.into_iter().map(|fields| SessionItem { ipa: member.ipa_code.clone(), fields }));
    }
    let mut new = NewSession {
        ipa: org.ipa_code.clone(),
        kind: SessionKind::Carrello,
        show: ShowMode::Short,
        back_url: call.text("enteSILInviaRispostaPagamentoUrl"),
        items,
    };
    if let Some(list) = call.payload.child("listaDovutiEntiSecondari") {
        // MyPay looks at the secondary beneficiary only once the debts passed their checks.
        sessions::check(sil.db, &new, call.now.today())?;
        let limit = |what: &str, n: usize| {
            Fault::new(
                "PAA_LIMITE_MASSIMO_DOVUTI_MULTIBENEFICIARI",
                format!("Numero {what} Ente primario [{n}] non valido"),
            )
        };
        if elements.len() > 1 {
            return Err(limit("dovuti", elements.len()));
        }
        let [item] = new.items.as_mut_slice() else {
            return Err(limit("dati singolo versamento", new.items.len()));
        };
        // Its fields are checked with the debt's, by `start`, as the import checks columns 22-33.
        item.fields.secondary = read_enti_secondari(Some(list))?;
    }
    let started = sessions::start(sil.db, &format!("sil:{}", org.ipa_code), &new, call.now)?;
    Ok(session_answer(sil, "idSessionCarrello", &started))
}

/// `paaSILChiediEsitoCarrelloDovuti`: one `rispostaCarrello` per org of the cart, its `esito` the
/// state's description as MyPay gives it, `pagati` and `rt` once the cart is final.
fn esito_carrello(sil: &Sil<'_>, call: &Call<'_>, org_id: &mut Option<i64>) -> Result<String, Fault> {
    let ipa = call.body_org()?;
    let org = sil.authenticate(&ipa, call.text("password").as_deref())?;
    *org_id = Some(org.id);
    let id = call.text("idSessionCarrello").unwrap_or_default();
    let status = sessions::status(sil.db, &org.ipa_code, &id, call.now)?;
    let orgs = sessions::session_orgs(sil.db, &id)?;
    let mut w = XmlWriter::new();
    w.open("listaCarrelli");
    for member in &orgs {
        w.open("rispostaCarrello");
        let fixed = match &status {
            SessionStatus::NotStarted => Some("PREDISPOSTO"),
            SessionStatus::Expired => Some("SCADUTO"),
            SessionStatus::InProgress => Some("PAGAMENTO IN CORSO"),
            SessionStatus::Cancelled => Some("ANNULLATO"),
            SessionStatus::Finished(_) => None,
        };
        let cart_ref: String = id.chars().filter(|c| *c != '-').take(35).collect();
        match (&status, fixed) {
            (SessionStatus::Finished(outcome), None) => {
                let lines: Vec<_> = outcome.lines.iter().filter(|l| &l.org.ipa_code == member).cloned().collect();
                let paid = !lines.is_empty() && lines.iter().all(|l| l.receipt.is_some());
                w.leaf("esito", if paid { "PAGATO" } else { "NON PAGATO" });
                w.leaf("codIpaEnte", member);
                w.leaf("codIdentificativoUnivocoCarrello", &cart_ref);
                let header = Header {
                    station_id: sil.station_id,
                    request_ref: &outcome.cart.token,
                    request_date: outcome.session.created_at.get(..10).unwrap_or_default(),
                    outcome: if paid { sessions::PaymentOutcome::Paid } else { sessions::PaymentOutcome::NotPaid },
                };
                w.raw(&pagati_answer(Kind::Pagati, &header, &lines));
                if let Some(receipt) = lines.iter().find_map(|l| l.receipt.as_ref()) {
                    w.leaf("rt", &base64_of(&receipt.request_xml));
                }
            }
            (_, state) => {
                w.leaf("esito", state.unwrap_or("PREDISPOSTO"));
                w.leaf("codIpaEnte", member);
                w.leaf("codIdentificativoUnivocoCarrello", &cart_ref);
            }
        }
        w.close("rispostaCarrello");
    }
    w.close("listaCarrelli");
    Ok(w.finish())
}

/// The intermediary's password check of the cross-org queries (`sil.intermediary_org`).
fn intermediary_auth(sil: &Sil<'_>, call: &Call<'_>, org_id: &mut Option<i64>) -> Result<OrgRecord, Fault> {
    if sil.intermediary_org.is_empty() {
        return Err(Fault::new("PAA_ENTE_NON_VALIDO", "ente intermediario non configurato (sil.intermediary_org)"));
    }
    let org = sil.authenticate(sil.intermediary_org, call.text("password").as_deref())?;
    *org_id = Some(org.id);
    Ok(org)
}

/// `identificativoUnivocoPersonaFG/codiceIdentificativoUnivoco`, upper-cased.
fn person(call: &Call<'_>) -> Result<String, Fault> {
    call.payload
        .path_text(&["identificativoUnivocoPersonaFG", "codiceIdentificativoUnivoco"])
        .map(|t| t.trim().to_uppercase())
        .filter(|t| !t.is_empty())
        .ok_or_else(|| Fault::new("PAA_XML_NON_VALIDO", "identificativoUnivocoPersonaFG mancante"))
}

/// `paaSILChiediPosizioniAperte`: each debt still to pay, with a landing URL to pay it.
fn posizioni_aperte(sil: &Sil<'_>, call: &Call<'_>, org_id: &mut Option<i64>) -> Result<String, Fault> {
    intermediary_auth(sil, call, org_id)?;
    let fiscal_code = person(call)?;
    let mut w = XmlWriter::new();
    for (org, debt) in queries::open_positions(sil.db, &fiscal_code, call.text("codIpaEnte").as_deref())? {
        let url = debt.iuv.as_ref().map(crate::domain::Iuv::as_str).and_then(|iuv| {
            sessions::start_for_notice(sil.db, "sil:intermediario", &org.ipa_code, iuv, None, call.now).ok()
        });
        w.open("paaSILPosizioniAperte");
        w.leaf("codIpaEnte", &org.ipa_code);
        w.leaf("deNomeEnte", &crate::services::payments::truncate(&org.name, 35));
        w.leaf_opt(
            "urlPagamento",
            url.map(|s| format!("{}{}", sil.public_url, sessions::landing_path(&s.token))).as_deref(),
        );
        w.leaf("dovuti", &base64_of(&write_dovuti(&debt)));
        w.close("paaSILPosizioniAperte");
    }
    Ok(w.finish())
}

/// `YYYY-MM-DDTHH:MM:SS` (Rome) of an xsd:dateTime as sent, or of `now`.
fn local_time(text: Option<String>, now: Now) -> String {
    match text {
        Some(t) => t.get(..19).unwrap_or(&t).to_owned(),
        None => now.rome().strftime("%Y-%m-%dT%H:%M:%S").to_string(),
    }
}

/// `paaSILChiediStoricoPagamenti`: the person's receipts in the period, as `PagatiConRicevuta` with
/// the receipt.
fn storico_pagamenti(sil: &Sil<'_>, call: &Call<'_>, org_id: &mut Option<i64>) -> Result<String, Fault> {
    intermediary_auth(sil, call, org_id)?;
    let fiscal_code = person(call)?;
    let from = call.text("dataFrom").ok_or_else(|| Fault::new("PAA_DATE_FROM_NON_VALIDO", "dataFrom mancante"))?;
    let (from, to) = (local_time(Some(from), call.now), local_time(call.text("dataTo"), call.now));
    if from > to {
        return Err(Fault::new("PAA_INTERVALLO_DATE_NON_VALIDO", "dataFrom dopo dataTo"));
    }
    let lines = queries::payment_history(sil.db, &fiscal_code, call.text("codIpaEnte").as_deref(), &from, &to)?;
    let mut w = XmlWriter::new();
    w.leaf("dateTo", &to);
    for line in &lines {
        let Some(receipt) = &line.receipt else { continue };
        let date = receipt.payment_date.to_string();
        let header = Header {
            station_id: sil.station_id,
            request_ref: &line.debt.iud,
            request_date: &date,
            outcome: sessions::PaymentOutcome::Paid,
        };
        w.open("paaSILStoricoPagamenti");
        w.leaf(
            "ctPagatiConRicevuta",
            &base64_of(&pagati::write(Kind::PagatiConRicevuta, &header, std::slice::from_ref(line))),
        );
        w.leaf("rt", &base64_of(&receipt.request_xml));
        w.leaf("codIpaEnte", &line.org.ipa_code);
        w.leaf("deNomeEnte", &crate::services::payments::truncate(&line.org.name, 35));
        w.close("paaSILStoricoPagamenti");
    }
    Ok(w.finish())
}

/// `paaSILChiediAvvisiPendenti`: the org's notices still to pay created in the period.
fn avvisi_pendenti(sil: &Sil<'_>, call: &Call<'_>, org_id: &mut Option<i64>) -> Result<String, Fault> {
    let ipa = call.body_org()?;
    let org = sil.authenticate(&ipa, call.text("password").as_deref())?;
    *org_id = Some(org.id);
    let date = |name: &str, code: &'static str| {
        call.text(name)
            .and_then(|t| t.get(..10).and_then(|d| d.parse::<jiff::civil::Date>().ok()))
            .ok_or_else(|| Fault::new(code, format!("{name} non valida")))
    };
    let (from, to) = (date("dateFrom", "PAA_DATE_FROM_NON_VALIDO")?, date("dateTo", "PAA_DATE_TO_NON_VALIDO")?);
    let mut w = XmlWriter::new();
    for debt in queries::pending_notices(sil.db, &org.ipa_code, from, to)? {
        let created = debt.created_at.parse::<jiff::Timestamp>().map(crate::clock::today_rome);
        w.open("paaSILAvvisoPendente");
        w.leaf(
            "dtCreazioneCodIuv",
            &created.map(|d| d.to_string()).unwrap_or_else(|_| debt.created_at.chars().take(10).collect()),
        );
        w.leaf("dovuti", &base64_of(&write_dovuti(&debt)));
        w.close("paaSILAvvisoPendente");
    }
    Ok(w.finish())
}

/// `paaSILRegistraPagamento`: a payment made outside pagoPA marks the debt with that IUV paid.
fn registra_pagamento(sil: &Sil<'_>, call: &Call<'_>, org_id: &mut Option<i64>) -> Result<String, Fault> {
    let ipa = call.body_org()?;
    let org = sil.authenticate(&ipa, call.text("password").as_deref())?;
    *org_id = Some(org.id);
    let text = |name: &str| call.text(name).unwrap_or_default();
    let payment = debts::ExternalPayment {
        iuv: text("identificativoUnivocoVersamento"),
        context_code: call.text("codiceContestoPagamento"),
        amount: text("singoloImportoPagato"),
        outcome_date: text("dataEsitoSingoloPagamento"),
        payment_index: call.text("indiceDatiSingoloPagamento").and_then(|i| i.parse().ok()),
        collection_id: text("identificativoUnivocoRiscossione"),
        attestor_kind: text("tipoIstitutoAttestante"),
        attestor_code: text("codiceIstitutiAttestante"),
        attestor_name: text("denominazioneAttestante"),
    };
    for (name, value) in [
        ("identificativoUnivocoVersamento", &payment.iuv),
        ("identificativoUnivocoRiscossione", &payment.collection_id),
        ("tipoIstitutoAttestante", &payment.attestor_kind),
        ("codiceIstitutiAttestante", &payment.attestor_code),
        ("denominazioneAttestante", &payment.attestor_name),
    ] {
        if value.is_empty() {
            return Err(Fault::new("PAA_XML_NON_VALIDO", format!("{name} mancante")));
        }
    }
    debts::register_payment(sil.db, &format!("sil:{}", org.ipa_code), &org.ipa_code, &payment, call.now)?;
    let mut w = XmlWriter::new();
    w.leaf("esito", "OK");
    Ok(w.finish())
}
