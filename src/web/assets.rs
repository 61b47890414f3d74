//! Static assets (Bootstrap Italia, mypay.css) embedded in the binary from the top-level `web/`
//! folder and served under `/static/` with a strong ETag and a long cache lifetime.

use rust_embed::Embed;
use sha2::{Digest, Sha256};

use super::{Response, ui};

#[derive(Embed)]
#[folder = "web/"]
#[exclude = "*/VERSION"]
struct Assets;

/// Serves `path` (relative to `web/`), answering 304 when `if_none_match` carries its ETag.
pub fn serve(path: &str, if_none_match: Option<&str>) -> Response {
    if path.split('/').any(|segment| segment == ".." || segment.is_empty()) {
        return ui::errors::not_found();
    }
    let Some(file) = Assets::get(path) else {
        return ui::errors::not_found();
    };
    let etag = format!("\"{}\"", hex(file.metadata.sha256_hash().get(..8).unwrap_or_default()));
    let cache = "public, max-age=31536000, immutable";
    if if_none_match.is_some_and(|tags| tags.split(',').any(|t| t.trim() == etag || t.trim() == "*")) {
        return Response::empty(304).with_header("ETag", etag).with_header("Cache-Control", cache);
    }
    Response { status: 200, headers: Vec::new(), body: file.data.into_owned() }
        .with_header("Content-Type", content_type(path))
        .with_header("ETag", etag)
        .with_header("Cache-Control", cache)
}

/// A short content hash of an asset, to put in its URL (`?v=`) so a new release busts caches.
pub fn version(path: &str) -> String {
    // Hashing the 300 KB stylesheet on every page would cost more than rendering the page: the
    // embedded files never change while the process runs, so each version is computed once.
    static CACHE: std::sync::Mutex<Vec<(String, String)>> = std::sync::Mutex::new(Vec::new());
    let mut cache = match CACHE.lock() {
        Ok(guard) => guard,
        Err(poisoned) => poisoned.into_inner(),
    };
    if let Some((_, v)) = cache.iter().find(|(p, _)| p == path) {
        return v.clone();
    }
    let v =
        Assets::get(path).map(|file| hex(Sha256::digest(&file.data).get(..4).unwrap_or_default())).unwrap_or_default();
    cache.push((path.to_owned(), v.clone()));
    v
}

fn content_type(path: &str) -> &'static str {
    match path.rsplit('.').next().unwrap_or("") {
        "css" => "text/css; charset=utf-8",
        "js" => "text/javascript; charset=utf-8",
        "svg" => "image/svg+xml",
        "woff2" => "font/woff2",
        "woff" => "font/woff",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "txt" | "" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
