//! The transport to the Region: one SOAP 1.1 POST per call to its `/ws/pa/` endpoint, the
//! token upload of a debt flow, and the download of the files it names.
//!
//! Owns: [`SilClient`] (the endpoint and its budgets), [`Timeouts`], the mapping of every transport
//! outcome to [`UpstreamError`], and the check that the Region's answer is the operation's
//! `…Risposta` without a fault bean. Budgets: a connect timeout, a read timeout for the whole
//! exchange of a SOAP call, a longer one for transfers; at most [`MAX_ANSWER_BYTES`] of SOAP
//! answer (configurable), an explicit cap on every download; no redirects.
//! Must never: send a password anywhere but in a SOAP body to the configured endpoint, log a
//! request or answer body (they carry the password and citizens' data), or talk plain http to
//! anything but loopback.

use std::io::{Read, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use super::error::{UpstreamError, garbage, local};
use crate::soap::{self, Element};

/// The largest SOAP answer read by default: a `PagatiConRicevuta` with its receipt is a few KiB.
pub const MAX_ANSWER_BYTES: u64 = 16 * 1024 * 1024;
/// The largest upload answer (MyPay's JSON array of one object).
const MAX_UPLOAD_ANSWER_BYTES: u64 = 64 * 1024;

/// How long the client waits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// To open the connection (TLS handshake included).
    pub connect: Duration,
    /// For a SOAP call once connected: the request sent and the whole answer read.
    pub read: Duration,
    /// For an upload or a download, whole: files are larger than SOAP answers.
    pub transfer: Duration,
}

impl Default for Timeouts {
    fn default() -> Timeouts {
        Timeouts { connect: Duration::from_secs(10), read: Duration::from_secs(30), transfer: Duration::from_secs(600) }
    }
}

/// A client of one Region's SIL web services.
#[derive(Debug, Clone)]
pub struct SilClient {
    endpoint: String,
    timeouts: Timeouts,
    max_answer: u64,
}

/// One SOAP request, written: the operation (its SOAPAction) and the envelope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub operation: &'static str,
    /// The namespace of the operation's elements; the answer's must be the same.
    pub ns: &'static str,
    pub envelope: String,
}

/// An upload's answer: the file as the Region stored it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Uploaded {
    pub file_name: String,
    pub file_size: u64,
}

/// `url` without its query, as errors and logs show it: a download's or upload's query is a
/// signature or a token.
fn shown(url: &str) -> &str {
    url.split('?').next().unwrap_or_default()
}

/// Checks that `url` may be called: https, or http to a loopback address (demos and tests).
pub(super) fn check_url(url: &str) -> Result<(), UpstreamError> {
    let uri: ureq::http::Uri = url.parse().map_err(|_| local(format!("{:?} is not a URL", shown(url))))?;
    let host = uri.host().unwrap_or_default().trim_start_matches('[').trim_end_matches(']');
    if host.is_empty() {
        return Err(local(format!("{:?} names no host", shown(url))));
    }
    let loopback = host == "localhost" || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback());
    match uri.scheme_str() {
        Some("https") => Ok(()),
        Some("http") if loopback => Ok(()),
        _ => Err(local(format!("{:?} is not https (plain http only to loopback)", shown(url)))),
    }
}

impl SilClient {
    /// A client of the SIL endpoint at `endpoint` (the Region's `/ws/pa/` URL, e.g.
    /// `https://region.example/ws/pa/`).
    pub fn new(endpoint: &str, timeouts: Timeouts) -> Result<SilClient, UpstreamError> {
        check_url(endpoint)?;
        Ok(SilClient { endpoint: endpoint.to_owned(), timeouts, max_answer: MAX_ANSWER_BYTES })
    }

    /// The same client reading SOAP answers of at most `bytes`.
    pub fn with_answer_limit(mut self, bytes: u64) -> SilClient {
        self.max_answer = bytes;
        self
    }

    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// An agent whose whole exchange after connecting lasts at most `budget`.
    fn agent(&self, budget: Duration) -> ureq::Agent {
        ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .user_agent(concat!("mypay/", env!("CARGO_PKG_VERSION")))
            .timeout_connect(Some(self.timeouts.connect))
            .timeout_global(Some(self.timeouts.connect + budget))
            .build()
            .into()
    }

    /// Posts `request` and returns its answer's payload (`<op>Risposta`), or the fault it carries.
    pub(super) fn call(&self, request: &Request) -> Result<Element, UpstreamError> {
        let started = Instant::now();
        let sent = self
            .agent(self.timeouts.read)
            .post(&self.endpoint)
            .header("Content-Type", "text/xml; charset=utf-8")
            .header("SOAPAction", &format!("\"{}\"", request.operation))
            .send(request.envelope.as_bytes());
        let outcome = sent.and_then(|mut response| {
            let status = response.status().as_u16();
            let body = response.body_mut().with_config().limit(self.max_answer).read_to_vec()?;
            Ok((status, body))
        });
        let elapsed_ms = started.elapsed().as_millis();
        let (status, body) = outcome.map_err(|err| {
            tracing::debug!(operation = request.operation, elapsed_ms, error = %err, "upstream call failed");
            transport_error(&self.endpoint, err, self.max_answer)
        })?;
        tracing::debug!(operation = request.operation, status, elapsed_ms, bytes = body.len(), "upstream call");
        answer_payload(request, status, &body)
    }

    /// Uploads a debt flow (`file_name`, a ZIP) to the `upload_url` with the `authorization_token`
    /// that `paaSILAutorizzaImportFlusso` gave (mypay.md §2.2): one multipart file part; MyPay
    /// answers HTTP 200 and a JSON array of one object, `{fileName, fileSize, fileType}` or
    /// `{codice, descrizione}` (a [`UpstreamError::Fault`] with `codice` as the code).
    pub fn upload_flow(
        &self,
        upload_url: &str,
        authorization_token: &str,
        file_name: &str,
        zip: &Path,
    ) -> Result<Uploaded, UpstreamError> {
        check_url(upload_url)?;
        if file_name.is_empty() || file_name.chars().any(|c| c.is_control() || c == '"' || c == '\\') {
            return Err(local(format!("file name {file_name:?} cannot be sent")));
        }
        let separator = if upload_url.contains('?') { '&' } else { '?' };
        let url = format!("{upload_url}{separator}authorizationToken={}", percent_encode(authorization_token));
        let (content_type, length, body) = multipart(file_name, zip)?;
        let outcome = self
            .agent(self.timeouts.transfer)
            .post(&url)
            .header("Content-Type", &content_type)
            .header("Content-Length", length.to_string())
            .send(ureq::SendBody::from_owned_reader(body))
            .and_then(|mut response| {
                let status = response.status().as_u16();
                let body = response.body_mut().with_config().limit(MAX_UPLOAD_ANSWER_BYTES).read_to_vec()?;
                Ok((status, body))
            });
        let (status, answer) = outcome.map_err(|err| transport_error(upload_url, err, MAX_UPLOAD_ANSWER_BYTES))?;
        if status != 200 {
            return Err(UpstreamError::Http { status, detail: String::new() });
        }
        read_upload_answer(&answer)
    }

    /// Downloads `url` (a file URL the Region gave) into `out`, at most `max_bytes` (once
    /// decompressed); returns the bytes written. On an error `out` may hold part of the file: the
    /// caller discards it.
    pub fn download_to(&self, url: &str, out: &mut dyn Write, max_bytes: u64) -> Result<u64, UpstreamError> {
        check_url(url)?;
        let mut response =
            self.agent(self.timeouts.transfer).get(url).call().map_err(|err| transport_error(url, err, max_bytes))?;
        let status = response.status().as_u16();
        if status != 200 {
            return Err(UpstreamError::Http { status, detail: String::new() });
        }
        let mut reader = response.body_mut().with_config().limit(max_bytes).reader();
        let mut buffer = vec![0u8; 64 * 1024];
        let mut written = 0u64;
        loop {
            let n = match reader.read(&mut buffer) {
                Ok(0) => return Ok(written),
                Ok(n) => n,
                Err(err) if err.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(err) => return Err(transport_error(url, ureq::Error::from(err), max_bytes)),
            };
            let chunk = buffer.get(..n).unwrap_or_default();
            out.write_all(chunk).map_err(|err| local(format!("cannot write the download of {}: {err}", shown(url))))?;
            written += n as u64;
        }
    }

    /// [`SilClient::download_to`] into memory.
    pub fn download(&self, url: &str, max_bytes: u64) -> Result<Vec<u8>, UpstreamError> {
        let mut bytes = Vec::new();
        self.download_to(url, &mut bytes, max_bytes)?;
        Ok(bytes)
    }
}

/// The transport's error as the caller acts on it.
fn transport_error(url: &str, err: ureq::Error, limit: u64) -> UpstreamError {
    let url = shown(url).to_owned();
    match err {
        ureq::Error::Timeout(_) => UpstreamError::Timeout { url },
        ureq::Error::Io(io) if matches!(io.kind(), std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock) => {
            UpstreamError::Timeout { url }
        }
        ureq::Error::BodyExceedsLimit(_) => garbage(format!("answer larger than {limit} bytes")),
        ureq::Error::Protocol(err) => garbage(format!("not HTTP: {err}")),
        other => UpstreamError::Unreachable { url, reason: other.to_string() },
    }
}

/// The payload of a SOAP answer to `request`, checked: HTTP 200, a SOAP envelope, the operation's
/// `…Risposta` in its namespace, no fault bean, and `esito` (when present) `OK`.
pub(super) fn answer_payload(request: &Request, status: u16, body: &[u8]) -> Result<Element, UpstreamError> {
    let parsed = soap::parse_envelope(body);
    if status != 200 {
        let detail = match &parsed {
            Ok(payload) if payload.name == "Fault" => soap_fault_string(payload),
            _ => String::new(),
        };
        return Err(UpstreamError::Http { status, detail });
    }
    let payload = parsed.map_err(|err| garbage(format!("{} answer: {err}", request.operation)))?;
    if payload.name == "Fault" && payload.ns.as_deref() == Some(soap::ENVELOPE_NS) {
        return Err(garbage(format!("SOAP Fault with HTTP 200: {}", soap_fault_string(&payload))));
    }
    let expected = format!("{}Risposta", request.operation);
    if payload.name != expected || payload.ns.as_deref() != Some(request.ns) {
        return Err(garbage(format!(
            "{{{}}}{} instead of {{{}}}{expected}",
            payload.ns.as_deref().unwrap_or(""),
            payload.name,
            request.ns
        )));
    }
    if let Some(fault) = payload.child("fault") {
        let text = |name: &str| fault.child_text(name).map(str::trim).unwrap_or_default().to_owned();
        let description = Some(text("description")).filter(|d| !d.is_empty()).unwrap_or_else(|| text("faultString"));
        return Err(UpstreamError::Fault { code: text("faultCode"), description });
    }
    match payload.child_text("esito").map(str::trim) {
        None | Some("OK") => Ok(payload),
        Some(other) => Err(garbage(format!("esito {other:?} without a fault"))),
    }
}

fn soap_fault_string(fault: &Element) -> String {
    fault.child_text("faultstring").map(str::trim).unwrap_or_default().chars().take(200).collect()
}

/// MyPay's upload answer: `[{fileName, fileSize, ...}]` or `[{codice, descrizione}]`.
fn read_upload_answer(body: &[u8]) -> Result<Uploaded, UpstreamError> {
    let value: serde_json::Value =
        serde_json::from_slice(body).map_err(|err| garbage(format!("upload answer is not JSON: {err}")))?;
    let object = value.as_array().and_then(|a| a.first()).ok_or_else(|| garbage("upload answer is not an array"))?;
    let text = |name: &str| object.get(name).and_then(serde_json::Value::as_str).map(str::to_owned);
    if let Some(code) = text("codice") {
        return Err(UpstreamError::Fault { code, description: text("descrizione").unwrap_or_default() });
    }
    let file_name = text("fileName").ok_or_else(|| garbage("upload answer without fileName"))?;
    let file_size = object.get("fileSize").and_then(serde_json::Value::as_u64).unwrap_or_default();
    Ok(Uploaded { file_name, file_size })
}

/// A `multipart/form-data` body of one file part named `file`, the file at `path` streamed
/// between its head and its tail (a flow may be large: it is never held in memory); returns the
/// content type, the body's length and the body. The boundary is derived from the content, so it
/// cannot occur in it: the file is read once to hash it, then again as it is sent.
fn multipart(file_name: &str, path: &Path) -> Result<(String, u64, impl Read + 'static), UpstreamError> {
    use sha2::Digest as _;
    let cannot = |err: std::io::Error| local(format!("cannot read the flow {}: {err}", path.display()));
    let mut hasher = sha2::Sha256::new();
    let mut file = std::fs::File::open(path).map_err(cannot)?;
    std::io::copy(&mut file, &mut hasher).map_err(cannot)?;
    let hex: String = hasher.finalize().iter().take(16).map(|b| format!("{b:02x}")).collect();
    let boundary = format!("mypay-{hex}");
    let head = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{file_name}\"\r\n\
         Content-Type: application/zip\r\n\r\n"
    )
    .into_bytes();
    let tail = format!("\r\n--{boundary}--\r\n").into_bytes();
    let file = std::fs::File::open(path).map_err(cannot)?;
    let size = file.metadata().map_err(cannot)?.len();
    let length = head.len() as u64 + size + tail.len() as u64;
    // The length sent is the file's when opened: a file that changed meanwhile fails the upload.
    let body = std::io::Cursor::new(head).chain(file.take(size)).chain(std::io::Cursor::new(tail));
    Ok((format!("multipart/form-data; boundary={boundary}"), length, body))
}

/// `text` with everything but RFC 3986's unreserved characters percent-encoded.
fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (b as char).to_string(),
            other => format!("%{other:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]
    use super::*;

    #[test]
    fn only_https_or_loopback_http() {
        for ok in [
            "https://region.example/ws/pa/",
            "http://127.0.0.1:8080/ws/pa/",
            "http://[::1]/ws/pa/",
            "http://localhost/x",
        ] {
            assert!(check_url(ok).is_ok(), "{ok}");
        }
        for bad in ["http://region.example/ws/pa/", "ftp://127.0.0.1/", "region.example", "", "https:///x"] {
            assert!(matches!(check_url(bad), Err(UpstreamError::Local { .. })), "{bad}");
        }
    }

    #[test]
    fn upload_answers() {
        let ok = read_upload_answer(br#"[{"fileName":"a-B-1_4.zip","fileSize":12,"fileType":"application/zip"}]"#);
        assert_eq!(ok, Ok(Uploaded { file_name: "a-B-1_4.zip".into(), file_size: 12 }));
        let refused = read_upload_answer(r#"[{"codice":"400","descrizione":"Request token già usato"}]"#.as_bytes());
        assert_eq!(refused.unwrap_err().fault_code(), Some("400"));
        assert!(matches!(read_upload_answer(b"<html>"), Err(UpstreamError::Garbage { .. })));
        assert!(matches!(read_upload_answer(b"{}"), Err(UpstreamError::Garbage { .. })));
    }

    #[test]
    fn tokens_are_percent_encoded() {
        assert_eq!(percent_encode("a.b-c_d~e"), "a.b-c_d~e");
        assert_eq!(percent_encode("a+b/c=&"), "a%2Bb%2Fc%3D%26");
    }
}
