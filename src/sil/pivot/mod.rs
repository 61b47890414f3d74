//! MyPivot's SIL web services at `/ws/pivot/` (reference/mypivot.md §6,
//! `mypivot-per-ente.wsdl`): the municipality's systems upload reconciliation files with a token,
//! ask their state, read their receipts with the reporting rows that reported them and the sums of
//! their closed accertamenti, as they call MyPivot, changing only the endpoint URL.
//!
//! One entry point, [`handle`]: read the envelope, find the operation from the payload element
//! (namespace [`PIVOT_NS`]), authenticate the org as MyPay's SIL is (`services::sil::access`: its
//! SIL password, mode `ente`), run it through `services::sil::pivot`, and answer `<op>Risposta`.
//! Business errors are in-body fault beans with MyPivot's codes (HTTP 200), followed by the
//! answer's required elements left empty so that it stays valid; a wrong password is
//! `CODE_PIVOT_ENTE_NON_VALIDO`, except for `pivotSILChiediPagatiRiconciliati`, which answers an
//! empty list without a fault as MyPivot does. The two export operations
//! ([`Operation::PrenotaExport`], [`Operation::ChiediStatoExport`]) belong to the reconciliation
//! export service: until it is wired in [`export_operation`], they answer a SOAP Fault (HTTP 500)
//! saying so. Every call is journaled, passwords masked.

mod pagati;
pub mod wsdl;

use std::time::Instant;

use super::{Reply, Sil, ipa_of, redact_passwords};
use crate::clock::Now;
use crate::domain::ReconExportState;
use crate::domain::reconciliation::Source;
use crate::services::journal::JournalEntry;
use crate::services::sil::{SilError, pivot, pivot_export};
use crate::soap::{self, Element, XmlWriter};
use crate::store::orgs::OrgRecord;

/// The namespace of the operations' elements (`ppt`).
pub const PIVOT_NS: &str = "http://www.regione.veneto.it/pagamenti/pivot/ente/";
/// The header's namespace (`ppthead`).
pub const PIVOT_HEAD_NS: &str = "http://www.regione.veneto.it/pagamenti/pivot/ente/ppthead";
/// The receipts' types (RT 6.0.2), in `pivotSILChiediPagatiRiconciliati`'s answer.
pub const RVE_NS: &str = "http://www.regione.veneto.it/schemas/2012/Pagamenti/";
/// The reporting flows' types (FlussoRiversamento), in the same answer.
pub const AGID_NS: &str = "http://www.digitpa.gov.it/schemas/2011/Pagamenti/";

/// Every operation of `mypivot-per-ente.wsdl`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    ChiediPagatiRiconciliati,
    AutorizzaImport,
    AutorizzaImportRendicontazione,
    AutorizzaImportRt,
    ChiediStatoImport,
    AutorizzaImportTesoreria,
    ChiediStatoImportTesoreria,
    PrenotaExport,
    ChiediStatoExport,
    ChiediAccertamento,
}

impl Operation {
    pub const ALL: [Operation; 10] = [
        Operation::ChiediPagatiRiconciliati,
        Operation::AutorizzaImport,
        Operation::AutorizzaImportRendicontazione,
        Operation::AutorizzaImportRt,
        Operation::ChiediStatoImport,
        Operation::AutorizzaImportTesoreria,
        Operation::ChiediStatoImportTesoreria,
        Operation::PrenotaExport,
        Operation::ChiediStatoExport,
        Operation::ChiediAccertamento,
    ];

    /// The request element's (and SOAPAction's) name.
    pub fn name(self) -> &'static str {
        match self {
            Operation::ChiediPagatiRiconciliati => "pivotSILChiediPagatiRiconciliati",
            Operation::AutorizzaImport => "pivotSILAutorizzaImportFlusso",
            Operation::AutorizzaImportRendicontazione => "pivotSILAutorizzaImportFlussoRendicontazione",
            Operation::AutorizzaImportRt => "pivotSILAutorizzaImportFlussoRT",
            Operation::ChiediStatoImport => "pivotSILChiediStatoImportFlusso",
            Operation::AutorizzaImportTesoreria => "pivotSILAutorizzaImportFlussoTesoreria",
            Operation::ChiediStatoImportTesoreria => "pivotSILChiediStatoImportFlussoTesoreria",
            Operation::PrenotaExport => "pivotSILPrenotaExportFlussoRiconciliazione",
            Operation::ChiediStatoExport => "pivotSILChiediStatoExportFlussoRiconciliazione",
            Operation::ChiediAccertamento => "pivotSILChiediAccertamento",
        }
    }

    pub fn from_name(name: &str) -> Option<Operation> {
        Operation::ALL.into_iter().find(|op| op.name() == name)
    }

    /// Whether the request carries `intestazionePPT` (all but `pivotSILChiediPagatiRiconciliati`).
    pub fn has_header(self) -> bool {
        self != Operation::ChiediPagatiRiconciliati
    }

    /// The answer's required elements, empty, written after a fault bean.
    fn after_fault(self) -> &'static str {
        match self {
            Operation::AutorizzaImport
            | Operation::AutorizzaImportRendicontazione
            | Operation::AutorizzaImportRt
            | Operation::AutorizzaImportTesoreria => {
                "<uploadUrl></uploadUrl><authorizationToken></authorizationToken><requestToken></requestToken><importPath></importPath>"
            }
            Operation::ChiediStatoImport | Operation::ChiediStatoImportTesoreria => "<stato></stato>",
            Operation::ChiediPagatiRiconciliati => "<numeroTotale>0</numeroTotale>",
            Operation::ChiediStatoExport => "<stato></stato><downloadUrl></downloadUrl>",
            // `dataA` is an xsd:date, which no empty element satisfies: the fault alone, as MyPivot.
            Operation::PrenotaExport | Operation::ChiediAccertamento => "",
        }
    }
}

/// An in-body fault bean: MyPivot's code and a description.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    pub code: &'static str,
    pub description: String,
}

impl Fault {
    fn new(code: &'static str, description: impl Into<String>) -> Fault {
        Fault { code, description: description.into() }
    }

    /// MyPivot's faultString: the code in words.
    fn string(&self) -> String {
        self.code.replace('_', " ")
    }
}

/// MyPivot's refusal of an org or password.
fn not_valid(ipa: &str) -> Fault {
    Fault::new("CODE_PIVOT_ENTE_NON_VALIDO", format!("Codice IPA Ente [{ipa}] non valido o password errata"))
}

impl From<SilError> for Fault {
    fn from(err: SilError) -> Fault {
        match err {
            SilError::Fault { code, description } => Fault { code, description },
            SilError::UnknownOrg(ipa) | SilError::BadPassword(ipa) => not_valid(&ipa),
            SilError::NotInProduction { ipa, .. } => not_valid(&ipa),
            SilError::Throttled(ipa) => Fault::new(
                "CODE_PIVOT_ENTE_NON_VALIDO",
                format!("troppe password errate per l'ente {ipa}: riprovare tra 15 minuti"),
            ),
            SilError::Service(crate::services::ServiceError::NotAdmitted(refusal)) => {
                Fault::new(crate::services::admin::adhesion::NotAdmitted::CODE, refusal.message_it())
            }
            SilError::Service(inner) => {
                tracing::error!(error = %inner, "MyPivot SIL request failed");
                Fault::new("PIVOT_SYSTEM_ERROR", "errore di sistema")
            }
        }
    }
}

impl From<crate::store::StoreError> for Fault {
    fn from(err: crate::store::StoreError) -> Fault {
        tracing::error!(error = %err, "MyPivot SIL request failed");
        Fault::new("PIVOT_SYSTEM_ERROR", "errore di sistema")
    }
}

/// One request as the operations see it.
struct Call<'a> {
    payload: &'a Element,
    /// `codIpaEnte` of the `intestazionePPT` header, when sent.
    header_ipa: Option<String>,
    now: Now,
}

/// A child's trimmed text, `None` when absent or empty.
fn text_of(element: &Element, name: &str) -> Option<String> {
    element.child_text(name).map(str::trim).filter(|t| !t.is_empty()).map(str::to_owned)
}

/// What an operation answers: its response fields or a fault, and the org.
struct Outcome {
    org_id: Option<i64>,
    result: Result<String, Fault>,
}

/// Handles one request to `/ws/pivot/`.
pub fn handle(sil: &Sil<'_>, soap_action: Option<&str>, body: &[u8], now: Now) -> Reply {
    let started = Instant::now();
    let raw = String::from_utf8_lossy(body);
    let action = soap::soap_action(soap_action).and_then(Operation::from_name);
    let (op, answer) = match soap::parse_envelope_with_header(body) {
        Err(err) => match action {
            Some(op) => (op, Outcome { org_id: None, result: Err(Fault::new("PIVOT_SYSTEM_ERROR", err.to_string())) }),
            None => return refuse(sil, &raw, &format!("unreadable request: {err}"), now),
        },
        Ok((header, payload)) => {
            let by_element = Operation::from_name(&payload.name).filter(|_| payload.ns.as_deref() == Some(PIVOT_NS));
            let Some(op) = by_element else {
                return refuse(sil, &raw, &format!("unknown operation {}", payload.name), now);
            };
            let header_ipa = header
                .as_ref()
                .and_then(|h| h.children.iter().find(|c| c.name == "intestazionePPT"))
                .and_then(|h| h.child_text("codIpaEnte"))
                .map(|t| t.trim().to_owned());
            let call = Call { payload: &payload, header_ipa, now };
            (op, run(sil, op, &call))
        }
    };
    let id = ipa_of(&raw);
    let outcome = answer;
    let inner = match &outcome.result {
        Ok(fields) => fields.clone(),
        Err(fault) => fault_bean(fault, &id, op.after_fault()),
    };
    let response = format!("<ppt:{}Risposta>{inner}</ppt:{}Risposta>", op.name(), op.name());
    let namespaces = [("ppt", PIVOT_NS), ("pay_i_rve", RVE_NS), ("pay_i_agid", AGID_NS)];
    let body = soap::envelope_with_header(&namespaces, "", &response);
    let outcome_code = outcome.result.as_ref().map_or_else(|f| f.code.to_owned(), |_| "OK".to_owned());
    let (status, org_id) = (200, outcome.org_id);
    sil.journal.record(
        sil.db,
        JournalEntry {
            at: now.iso(),
            actor: format!("sil:{id}"),
            org_id,
            action: op.name().to_owned(),
            object: None,
            outcome: outcome_code,
            request: Some(redact_passwords(&raw)),
            response: Some(body.clone()),
            duration_ms: Some(i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX)),
        },
    );
    Reply { status, body }
}

/// The org of the header, authenticated with the body's password.
fn header_auth(sil: &Sil<'_>, call: &Call<'_>, org_id: &mut Option<i64>) -> Result<OrgRecord, Fault> {
    let ipa = call.header_ipa.clone().unwrap_or_default();
    if ipa.is_empty() {
        return Err(not_valid(""));
    }
    let org = crate::services::sil::access::authenticate(
        sil.db,
        sil.passwords,
        &ipa,
        call.payload.child_text("password"),
        sil.peer,
    )?;
    *org_id = Some(org.id);
    Ok(org)
}

fn run(sil: &Sil<'_>, op: Operation, call: &Call<'_>) -> Outcome {
    let mut org_id = None;
    let result = match op {
        Operation::AutorizzaImport => authorize(sil, call, &mut org_id, Some(Source::Notification)),
        Operation::AutorizzaImportRendicontazione => authorize(sil, call, &mut org_id, Some(Source::Reporting)),
        Operation::AutorizzaImportRt => authorize(sil, call, &mut org_id, Some(Source::Receipt)),
        Operation::AutorizzaImportTesoreria => {
            let kind = match text_of(call.payload, "tipoFlusso").as_deref() {
                None => Some(Source::BankMovements),
                Some(code) => code
                    .chars()
                    .next()
                    .filter(|_| code.chars().count() == 1)
                    .and_then(Source::from_code)
                    .filter(|s| s.is_treasury()),
            };
            authorize(sil, call, &mut org_id, kind)
        }
        Operation::ChiediStatoImport | Operation::ChiediStatoImportTesoreria => header_auth(sil, call, &mut org_id)
            .and_then(|org| {
                let token = text_of(call.payload, "requestToken").unwrap_or_default();
                let state = pivot::status(sil.db, &org.ipa_code, &token)?;
                let mut w = XmlWriter::new();
                w.leaf("stato", state);
                Ok(w.finish())
            }),
        Operation::ChiediPagatiRiconciliati => pagati::answer(sil, call, &mut org_id),
        Operation::ChiediAccertamento => {
            header_auth(sil, call, &mut org_id).and_then(|org| accertamento(sil, call, &org))
        }
        Operation::PrenotaExport | Operation::ChiediStatoExport => {
            header_auth(sil, call, &mut org_id).and_then(|org| export_operation(sil, op, call, &org))
        }
    };
    Outcome { org_id, result }
}

/// `pivotSILPrenotaExportFlussoRiconciliazione` and `pivotSILChiediStatoExportFlussoRiconciliazione`
/// (the org already authenticated): a booking of the reconciliation export, and its state with a
/// signed download URL once its file is made.
fn export_operation(sil: &Sil<'_>, op: Operation, call: &Call<'_>, org: &OrgRecord) -> Result<String, Fault> {
    let mut w = XmlWriter::new();
    if op == Operation::PrenotaExport {
        let booked = pivot_export::book(sil.db, org, &export_request(call.payload), call.now)?;
        w.leaf("requestToken", &booked.request_token).leaf("dataA", &booked.date_to.to_string());
    } else {
        let token = text_of(call.payload, "requestToken").unwrap_or_default();
        let record = pivot_export::status(sil.db, org, &token)?;
        let url = (record.state == ReconExportState::Done && record.file_purged_at.is_none())
            .then(|| sil.url(&sil.links.sil_download_url(&org.ipa_code, "recon_export", record.id, call.now)));
        w.leaf("stato", record.state.code()).leaf("downloadUrl", url.as_deref().unwrap_or(""));
    }
    Ok(w.finish())
}

/// The texts of `parent`'s `name` children, at most one more than [`pivot::MAX_KEYS`] (so that a
/// list over the budget is refused, never cut short).
fn listed(payload: &Element, parent: &str, name: &str) -> Vec<String> {
    let Some(list) = payload.child(parent) else { return Vec::new() };
    list.children_named(name)
        .map(|e| e.text.trim())
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .take(pivot::MAX_KEYS + 1)
        .collect()
}

/// A booking request as its body says it.
fn export_request(payload: &Element) -> pivot_export::ExportRequest {
    let range = |name: &str| (text_of(payload, &format!("{name}Da")), text_of(payload, &format!("{name}A")));
    let unsupported = [
        "idUnivocoDovuto",
        "idUnivocoRiscossione",
        "idUnivocoPagatore",
        "anagraficaPagatore",
        "idUnivocoVersante",
        "anagraficaVersante",
        "denominazioneAttestante",
        "ordinante",
        "idRegolamento",
        "contoTesoreria",
        "importoTesoreria",
        "causale",
    ]
    .into_iter()
    .filter(|name| text_of(payload, name).is_some())
    .collect();
    pivot_export::ExportRequest {
        labels: listed(payload, "codiceClassificazione", "classificazione"),
        debt_types: listed(payload, "tipoDovuto", "tipo"),
        iuvs: listed(payload, "idUnivocoVersamento", "iuv"),
        iufs: listed(payload, "idUnivocoRendicontazione", "iur"),
        last_update: range("dataUltimoAggiornamento"),
        execution: range("dataEsecuzione"),
        outcome: range("dataEsito"),
        settlement: range("dataRegolamento"),
        accounting: range("dataContabile"),
        value: range("dataValuta"),
        version: text_of(payload, "versioneTracciato"),
        unsupported,
    }
}

/// `pivotSILAutorizzaImportFlusso*`: a token for one upload of `kind` (`None`: a `tipoFlusso`
/// that is no treasury kind).
fn authorize(sil: &Sil<'_>, call: &Call<'_>, org_id: &mut Option<i64>, kind: Option<Source>) -> Result<String, Fault> {
    let org = header_auth(sil, call, org_id)?;
    let Some(kind) = kind else {
        let sent = text_of(call.payload, "tipoFlusso").unwrap_or_default();
        return Err(Fault::new(
            "CODE_PIVOT_TIPO_FLUSSO_NON_VALIDO",
            format!("tipoFlusso [{sent}] non valido: T, C, O o Y"),
        ));
    };
    let done = pivot::authorize(sil.db, sil.links, &org.ipa_code, kind, call.now)?;
    let mut w = XmlWriter::new();
    w.leaf("uploadUrl", &format!("{}/ws/pivot/upload", sil.public_url))
        .leaf("authorizationToken", &done.authorization_token)
        .leaf("requestToken", &done.request_token)
        .leaf("importPath", &format!("/{}/{}", org.ipa_code, kind.code()));
    Ok(w.finish())
}

/// `pivotSILChiediAccertamento`: the closed accertamenti's sums as `bilancio` elements, one per
/// office, grouped by debt type, chapter and assessment.
fn accertamento(sil: &Sil<'_>, call: &Call<'_>, org: &OrgRecord) -> Result<String, Fault> {
    let bolletta =
        call.payload.child("richiestaPerBolletta").map(|b| (text_of(b, "annoBolletta"), text_of(b, "numeroBolletta")));
    let iuf = call.payload.child("richiestaPerIUF").map(|r| text_of(r, "identificativoUnivocoFlusso"));
    let sums = pivot::accertamento(sil.db, org, &pivot::AccertamentoRequest { bolletta, iuf })?;
    let mut w = XmlWriter::new();
    let mut rest = sums.as_slice();
    while let Some(first) = rest.first() {
        let office_len = rest.iter().take_while(|s| s.office == first.office).count();
        let (office, after) = rest.split_at(office_len);
        w.open("bilancio").leaf("ufficio", &first.office);
        let mut types = office;
        while let Some(t) = types.first() {
            let type_len = types.iter().take_while(|s| s.debt_type == t.debt_type).count();
            let (of_type, after_type) = types.split_at(type_len);
            w.open("tipoDovuto").leaf("codTipoDovuto", &t.debt_type);
            let mut chapters = of_type;
            while let Some(c) = chapters.first() {
                let chapter_len = chapters.iter().take_while(|s| s.chapter == c.chapter).count();
                let (of_chapter, after_chapter) = chapters.split_at(chapter_len);
                w.open("capitolo").leaf("codCapitolo", &c.chapter);
                for sum in of_chapter {
                    w.open("accertamento")
                        .leaf("codAccertamento", &sum.accertamento)
                        .leaf("importo", &crate::domain::Cents::new(sum.cents).to_string())
                        .close("accertamento");
                }
                w.close("capitolo");
                chapters = after_chapter;
            }
            w.close("tipoDovuto");
            types = after_type;
        }
        w.close("bilancio");
        rest = after;
    }
    Ok(w.finish())
}

/// `<fault>…</fault>`, then the answer's required elements (`after`).
fn fault_bean(fault: &Fault, id: &str, after: &str) -> String {
    super::fault_bean_of(fault.code, &fault.string(), id, &fault.description, after)
}

/// A request below the contract (not SOAP, or no known operation): HTTP 400 and a SOAP Fault.
fn refuse(sil: &Sil<'_>, raw: &str, reason: &str, now: Now) -> Reply {
    super::refuse_as(sil, "pivot", raw, reason, now)
}
