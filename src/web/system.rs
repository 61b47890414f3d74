//! The machine endpoints and probes: the pagoPA station and the SIL web services (SOAP), the SIL's
//! WSDL, downloads and token uploads, MyPivot's SIL web services at `/ws/pivot/`, and `/healthz`. Their routes are rows of `super::routes`;
//! the station's and the SIL's faults are written by `crate::pagopa` and `crate::sil`, and
//! [`soap`] is the one way their replies become a response.

use super::forms::Form;
use super::router::Request;
use super::{AppState, Response, backoffice, multipart, ui};
use crate::clock::Now;
use crate::config::HttpUrl;
use crate::pagopa::station::{self, Station};
use crate::sil::downloads::Download;
use crate::sil::{self, Sil};

/// A SOAP reply (an answer or a fault in its body) as the response.
fn soap(status: u16, body: String) -> Response {
    Response::text(status, "text/xml; charset=utf-8", body)
}

/// `POST /ws/fesp/`: one paForNode call.
pub fn station(state: &AppState, request: &Request<'_>) -> Response {
    let now = Now::read();
    let station = Station { db: &state.db, journal: &state.journal, identity: &state.station };
    let reply = station::handle(&station, request.header("soapaction"), request.body.bytes(), now);
    soap(reply.status, reply.body)
}

/// `POST /ws/pa/`: one SIL call.
pub fn sil(state: &AppState, request: &Request<'_>) -> Response {
    let reply = sil::handle(&sil_of(state, request), request.header("soapaction"), request.body.bytes(), Now::read());
    soap(reply.status, reply.body)
}

/// `GET /ws/pa/<file>`: our WSDL (with this server's endpoint address) and the XSD it imports.
pub fn sil_wsdl(state: &AppState, file: &str) -> Response {
    match sil::wsdl::document(file, state.config.server.public_url.as_ref().map_or("", HttpUrl::as_str)) {
        Some(text) => Response::text(200, "text/xml; charset=utf-8", text),
        None => ui::errors::not_found(),
    }
}

/// `GET /ws/pa/download/<ipa>/<kind>/<id>?scadenza=&firma=`: a file behind a SIL download URL (a
/// ZIP, or a reporting flow's XML).
pub fn sil_download(state: &AppState, request: &Request<'_>, (ipa, kind, id): (&str, &str, &str)) -> Response {
    let now = Now::read();
    let query = Form::parse(request.query.as_bytes()).unwrap_or_default();
    let signed = (query.get("scadenza").unwrap_or_default(), query.get("firma").unwrap_or_default());
    match sil::downloads::resolve(&state.db, &state.config.data_dir, &state.links, ipa, kind, id, signed, now) {
        Some(Download::Zip(path)) => backoffice::download(&path, "application/zip"),
        Some(Download::Xml { name, bytes }) => Response { status: 200, headers: Vec::new(), body: bytes }
            .with_header("Content-Type", "application/xml")
            .with_header("Content-Disposition", format!("attachment; filename=\"{name}\""))
            .with_header("Cache-Control", "no-store"),
        None => ui::errors::not_found(),
    }
}

/// MyPay's answer to a SIL upload: HTTP 200 with a JSON array of one object.
fn upload_answer(value: serde_json::Value) -> Response {
    Response::json(200, &serde_json::json!([value]))
}

/// An upload refused with MyPay's `{codice, descrizione}`.
fn upload_refused(code: &str, message: &str) -> Response {
    upload_answer(serde_json::json!({ "codice": code, "descrizione": message }))
}

/// The `authorizationToken` of an upload's query.
fn upload_token(request: &Request<'_>) -> String {
    let query = Form::parse(request.query.as_bytes()).unwrap_or_default();
    query.get("authorizationToken").unwrap_or_default().to_owned()
}

/// The guard of `POST /ws/pa/upload` and `POST /ws/pivot/upload` (MyPivot's answer shape), on the head: an upload whose token would be refused is
/// answered before its body is read.
pub fn sil_upload_admits(state: &AppState, head: &Request<'_>) -> Result<(), Response> {
    crate::services::sil::uploads::check(&state.db, &state.links, &upload_token(head), Now::read()).map_err(|refused| {
        tracing::info!(target: "security", peer = ?head.peer, reason = %refused.message, "SIL upload refused before its body");
        if head.path.starts_with("/ws/pivot/") {
            pivot_refused(refused.code, &refused.message)
        } else {
            upload_refused(refused.code, &refused.message)
        }
    })
}

/// `POST /ws/pa/upload?authorizationToken=…`: a debt flow uploaded by a SIL, exactly one non-empty
/// file part. Always HTTP 200 with MyPay's JSON array of one object: `{fileName, fileSize,
/// fileType}`, or `{codice, descrizione}`.
pub fn sil_upload(state: &AppState, request: &Request<'_>) -> Response {
    let now = Now::read();
    let token = upload_token(request);
    let parts = match multipart::boundary(request.header("content-type").unwrap_or_default()) {
        Some(boundary) => multipart::parse(request.body, &boundary).unwrap_or_default(),
        None => Vec::new(),
    };
    let files: Vec<_> = parts.iter().filter(|p| p.file_name.is_some() && !p.is_empty()).collect();
    let [file] = files.as_slice() else {
        return upload_refused("400", "un solo file non vuoto è richiesto");
    };
    let limits = crate::services::debts::imports::Limits::from_config(&state.config);
    let name = file.file_name.clone().unwrap_or_default();
    let mut data = file.reader();
    match crate::services::sil::uploads::upload(
        &state.db,
        &state.config.data_dir,
        limits,
        &state.links,
        &token,
        &name,
        &mut data,
        now,
    ) {
        Ok(import) => upload_answer(serde_json::json!({
            "fileName": import.file_name, "fileSize": import.size_bytes, "fileType": "application/zip"
        })),
        Err(refused) => upload_refused(refused.code, &refused.message),
    }
}

/// The SIL endpoint's view of this request and server.
fn sil_of<'a>(state: &'a AppState, request: &Request<'_>) -> Sil<'a> {
    Sil {
        db: &state.db,
        journal: &state.journal,
        passwords: &state.sil_passwords,
        public_url: state.config.server.public_base(),
        station_id: &state.station.station_id,
        links: &state.links,
        data_dir: &state.config.data_dir,
        intermediary_password: state.config.sil.intermediary_password.expose(),
        intermediary_org: &state.config.sil.intermediary_org,
        peer: request.peer,
    }
}

/// `POST /ws/pivot/`: MyPivot's SIL web services.
pub fn pivot(state: &AppState, request: &Request<'_>) -> Response {
    let reply =
        sil::pivot::handle(&sil_of(state, request), request.header("soapaction"), request.body.bytes(), Now::read());
    soap(reply.status, reply.body)
}

/// `GET /ws/pivot/<file>`: our WSDL of MyPivot's services, with this server's endpoint address.
pub fn pivot_wsdl(state: &AppState, file: &str) -> Response {
    if file != sil::pivot::wsdl::WSDL_NAME {
        return ui::errors::not_found();
    }
    let base = state.config.server.public_url.as_ref().map_or("", HttpUrl::as_str);
    Response::text(200, "text/xml; charset=utf-8", sil::pivot::wsdl::document(base))
}

/// `GET /ws/pivot/?wsdl`: the same WSDL, where SOAP clients look for it.
pub fn pivot_wsdl_query(state: &AppState, query: &str) -> Response {
    if query.eq_ignore_ascii_case("wsdl") {
        pivot_wsdl(state, sil::pivot::wsdl::WSDL_NAME)
    } else {
        ui::errors::not_found()
    }
}

/// MyPivot's answer to an upload: HTTP 200 with one JSON object.
fn pivot_refused(code: &str, message: &str) -> Response {
    Response::json(200, &serde_json::json!({ "codice": code, "descrizione": message }))
}

/// `POST /ws/pivot/upload?authorizationToken=…`: a reconciliation file uploaded by a SIL with a
/// token of `pivotSILAutorizzaImportFlusso*` (the guard checked the token on the head), exactly
/// one non-empty file part. Always HTTP 200 with MyPivot's JSON: `{fileName, fileSize, fileType}`,
/// or `{codice, descrizione}`.
pub fn pivot_upload(state: &AppState, request: &Request<'_>) -> Response {
    let now = Now::read();
    let token = upload_token(request);
    let parts = match multipart::boundary(request.header("content-type").unwrap_or_default()) {
        Some(boundary) => multipart::parse(request.body, &boundary).unwrap_or_default(),
        None => Vec::new(),
    };
    let files: Vec<_> = parts.iter().filter(|p| p.file_name.is_some() && !p.is_empty()).collect();
    let [file] = files.as_slice() else {
        return pivot_refused("400", "un solo file non vuoto è richiesto");
    };
    let name = file.file_name.clone().unwrap_or_default();
    let mut data = file.reader();
    match crate::services::sil::pivot::upload(
        &state.db,
        &state.config.data_dir,
        state.config.import.max_upload_bytes,
        &state.links,
        &token,
        &name,
        &mut data,
        now,
    ) {
        Ok(upload) => Response::json(
            200,
            &serde_json::json!({ "fileName": upload.file_name, "fileSize": upload.size_bytes, "fileType": "application/zip" }),
        ),
        Err(refused) => pivot_refused(refused.code, &refused.message),
    }
}

/// `/healthz`: 200 when the database answers, 503 otherwise.
pub fn healthz(state: &AppState) -> Response {
    match state.db.ping() {
        Ok(()) => Response::json(200, &serde_json::json!({ "status": "ok" })),
        Err(err) => {
            tracing::error!(error = %err, "health check: database unreachable");
            Response::json(503, &serde_json::json!({ "status": "error", "reason": "database unreachable" }))
        }
    }
}
