//! Static assets embedded in the binary from the top-level `web/` folder and served under
//! `/static/` with a strong ETag and a long cache lifetime. Text assets have a brotli and a gzip
//! twin beside them (`x.css.br`, `x.css.gz`, made once and committed: tests/it/assets.rs), chosen
//! by the request's `Accept-Encoding`; each encoding has its own ETag.

use rust_embed::Embed;
use sha2::{Digest, Sha256};

use super::{Response, ui};

#[derive(Embed)]
#[folder = "web/"]
struct Assets;

/// A content coding the server has a twin for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Coding {
    Brotli,
    Gzip,
    Identity,
}

impl Coding {
    fn suffix(self) -> &'static str {
        match self {
            Coding::Brotli => ".br",
            Coding::Gzip => ".gz",
            Coding::Identity => "",
        }
    }
}

/// Serves `path` (relative to `web/`) in the best encoding `accept_encoding` allows, answering 304
/// when `if_none_match` carries that encoding's ETag.
pub fn serve(path: &str, if_none_match: Option<&str>, accept_encoding: Option<&str>) -> Response {
    if path.split('/').any(|segment| segment == ".." || segment.is_empty()) || is_twin(path) {
        return ui::errors::not_found();
    }
    let Some(file) = Assets::get(path) else {
        return ui::errors::not_found();
    };
    let tag = hex(file.metadata.sha256_hash().get(..8).unwrap_or_default());
    let compressible = Assets::get(&format!("{path}.br")).is_some() || Assets::get(&format!("{path}.gz")).is_some();
    let (coding, body) = choose(accept_encoding)
        .into_iter()
        .find_map(|coding| match coding {
            Coding::Identity => Some((coding, file.data.clone())),
            _ => Assets::get(&format!("{path}{}", coding.suffix())).map(|twin| (coding, twin.data)),
        })
        .unwrap_or((Coding::Identity, file.data));
    let etag = match coding {
        Coding::Brotli => format!("\"{tag}-br\""),
        Coding::Gzip => format!("\"{tag}-gz\""),
        Coding::Identity => format!("\"{tag}\""),
    };
    let cache = "public, max-age=31536000, immutable";
    let vary =
        |response: Response| if compressible { response.with_header("Vary", "Accept-Encoding") } else { response };
    if if_none_match.is_some_and(|tags| tags.split(',').any(|t| t.trim() == etag || t.trim() == "*")) {
        return vary(Response::empty(304).with_header("ETag", etag).with_header("Cache-Control", cache));
    }
    let response = Response { status: 200, headers: Vec::new(), body: body.into_owned() }
        .with_header("Content-Type", content_type(path))
        .with_header("ETag", etag)
        .with_header("Cache-Control", cache);
    let response = match coding {
        Coding::Brotli => response.with_header("Content-Encoding", "br"),
        Coding::Gzip => response.with_header("Content-Encoding", "gzip"),
        Coding::Identity => response,
    };
    vary(response)
}

/// A compressed twin is served only as its original's encoding, never as a file of its own.
fn is_twin(path: &str) -> bool {
    path.strip_suffix(".br")
        .or_else(|| path.strip_suffix(".gz"))
        .is_some_and(|original| Assets::get(original).is_some())
}

/// The codings `accept_encoding` allows (RFC 9110 §12.5.3: q-values, `*`, `q=0` refusing), best
/// first; brotli before gzip before identity at equal weight. Identity is in the list unless the
/// header refuses it, and even then it is the fallback of [`serve`]: a 406 would help nobody.
fn choose(accept_encoding: Option<&str>) -> Vec<Coding> {
    let Some(header) = accept_encoding else {
        return vec![Coding::Identity];
    };
    // Weights in thousandths, as q-values have at most three decimals.
    let weight = |name: &str| -> Option<u16> {
        let mut found = None;
        let mut star = None;
        for item in header.split(',').take(32) {
            let mut parts = item.split(';');
            let coding = parts.next().unwrap_or("").trim();
            let q = parts
                .find_map(|p| p.trim().strip_prefix("q=").or_else(|| p.trim().strip_prefix("Q=")))
                .map_or(Some(1000), parse_q);
            let Some(q) = q else { continue };
            if coding.eq_ignore_ascii_case(name) {
                found = Some(q);
            } else if coding == "*" {
                star = Some(q);
            }
        }
        found.or(star)
    };
    let mut ranked: Vec<(u16, Coding)> = [("br", Coding::Brotli), ("gzip", Coding::Gzip)]
        .into_iter()
        .filter_map(|(name, coding)| weight(name).filter(|q| *q > 0).map(|q| (q, coding)))
        .collect();
    // Identity is acceptable unless refused by name (or by `*;q=0` without naming it); unnamed,
    // it comes after the codings the client named (a client that lists `gzip;q=0.5` wants it).
    let identity = weight("identity").unwrap_or(1);
    if identity > 0 {
        ranked.push((identity, Coding::Identity));
    }
    // A stable sort keeps brotli, gzip, identity in that order at equal weight.
    ranked.sort_by_key(|(q, _)| std::cmp::Reverse(*q));
    ranked.into_iter().map(|(_, coding)| coding).collect()
}

/// A q-value (`0`, `0.5`, `1.000`) in thousandths; `None` when malformed (the item is ignored).
fn parse_q(text: &str) -> Option<u16> {
    let (int, frac) = text.split_once('.').unwrap_or((text, ""));
    if frac.len() > 3 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let thousandths = match int {
        "0" => format!("{frac:0<3}").parse::<u16>().ok()?,
        "1" if frac.bytes().all(|b| b == b'0') => 1000,
        _ => return None,
    };
    Some(thousandths)
}

/// A short content hash of an asset, to put in its URL (`?v=`) so a new release busts caches.
pub fn version(path: &str) -> String {
    // Hashing the stylesheet on every page would cost more than rendering the page: the embedded
    // files never change while the process runs, so each version is computed once.
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_encoding_is_read_with_its_weights() {
        use Coding::{Brotli as B, Gzip as G, Identity as I};
        assert_eq!(choose(None), [I]);
        assert_eq!(choose(Some("")), [I]);
        assert_eq!(choose(Some("gzip, deflate, br, zstd")), [B, G, I]);
        assert_eq!(choose(Some("gzip")), [G, I]);
        assert_eq!(choose(Some("br;q=0.5, gzip")), [G, B, I]);
        assert_eq!(choose(Some("br;q=0, gzip;q=0.001")), [G, I]);
        assert_eq!(choose(Some("br;q=0.5, identity")), [I, B]);
        assert_eq!(choose(Some("*")), [B, G, I]);
        assert_eq!(choose(Some("*;q=0")), []);
        assert_eq!(choose(Some("*;q=0, gzip")), [G]);
        assert_eq!(choose(Some("identity;q=0, BR")), [B]);
        assert_eq!(choose(Some("br;q=2, gzip;q=0.x, identity;q=0.2")), [I]);
        assert_eq!(choose(Some("gzip;Q=1.000;x=y")), [G, I]);
    }

    #[test]
    fn q_values_are_thousandths() {
        assert_eq!(
            ["0", "0.5", "0.05", "0.123", "1", "1.000", "0."].map(parse_q),
            [Some(0), Some(500), Some(50), Some(123), Some(1000), Some(1000), Some(0)]
        );
        assert_eq!(["1.5", "2", "0.1234", "", "-0", "0.5x"].map(parse_q), [None; 6]);
    }

    #[test]
    fn twins_are_not_served_as_files() {
        let plain = serve("mypay.css", None, None);
        assert_eq!(plain.status, 200);
        assert_eq!(serve("mypay.css.br", None, None).status, 404);
        let packed = serve("mypay.css", None, Some("br"));
        assert!(packed.headers.contains(&("Content-Encoding", "br".to_owned())), "{:?}", packed.headers);
        assert!(packed.body.len() < plain.body.len());
    }
}
