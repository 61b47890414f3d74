//! The tokens the SIL gets back: `requestToken`s naming an export or an import of its org, and
//! download URLs that expire. Both are HMAC-SHA256 signatures with the installation key (kept in
//! the database), so nothing needs storing and a token of one org never opens another's file.

use crate::services::portal::{sign, verify_signature};

/// How long a download URL works.
pub const DOWNLOAD_SECONDS: i64 = 24 * 3600;

/// `<id>-<signature>` for the `kind` (`export`, `import`) record `id` of org `org_id`.
pub fn request_token(key: &[u8], kind: &str, org_id: i64, id: i64) -> String {
    format!("{id}-{}", sign(key, &format!("sil-{kind}:{org_id}:{id}")))
}

/// The record id of a token made by [`request_token`] for this org, if it is one.
pub fn read_request_token(key: &[u8], kind: &str, org_id: i64, token: &str) -> Option<i64> {
    let (id, signature) = token.trim().split_once('-')?;
    let id: i64 = id.parse().ok()?;
    verify_signature(key, &format!("sil-{kind}:{org_id}:{id}"), signature).then_some(id)
}

fn download_message(ipa: &str, kind: &str, id: i64, expires: i64) -> String {
    format!("sil-download:{ipa}:{kind}:{id}:{expires}")
}

/// `<base>/ws/pa/download/<ipa>/<kind>/<id>?scadenza=<unix time>&firma=<signature>`, valid for
/// [`DOWNLOAD_SECONDS`] from `now`. `kind`: `export`, `scarti`, `iuv`.
pub fn download_url(base: &str, key: &[u8], ipa: &str, kind: &str, id: i64, now: jiff::Timestamp) -> String {
    let expires = now.as_second() + DOWNLOAD_SECONDS;
    let signature = sign(key, &download_message(ipa, kind, id, expires));
    format!("{base}/ws/pa/download/{ipa}/{kind}/{id}?scadenza={expires}&firma={signature}")
}

/// Whether a download URL's signature is right and it has not expired.
pub fn check_download(
    key: &[u8],
    ipa: &str,
    kind: &str,
    id: i64,
    expires: &str,
    signature: &str,
    now: jiff::Timestamp,
) -> bool {
    let Ok(expires) = expires.parse::<i64>() else {
        return false;
    };
    expires >= now.as_second() && verify_signature(key, &download_message(ipa, kind, id, expires), signature)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]
    use super::*;

    #[test]
    fn tokens_are_bound_to_the_org_and_urls_expire() {
        let key = b"0123456789abcdef0123456789abcdef";
        let token = request_token(key, "export", 7, 42);
        assert_eq!(read_request_token(key, "export", 7, &token), Some(42));
        assert_eq!(read_request_token(key, "export", 8, &token), None);
        assert_eq!(read_request_token(key, "import", 7, &token), None);
        assert_eq!(read_request_token(key, "export", 7, "42-00"), None);
        let now: jiff::Timestamp = "2026-11-30T10:00:00Z".parse().unwrap();
        let url = download_url("https://x", key, "c_x", "export", 42, now);
        let query = url.split_once('?').unwrap().1;
        let (exp, sig) = query.split_once("&firma=").unwrap();
        let exp = exp.trim_start_matches("scadenza=");
        assert!(check_download(key, "c_x", "export", 42, exp, sig, now));
        assert!(!check_download(key, "c_x", "export", 43, exp, sig, now));
        let later = now + jiff::SignedDuration::from_secs(DOWNLOAD_SECONDS + 1);
        assert!(!check_download(key, "c_x", "export", 42, exp, sig, later));
    }
}
