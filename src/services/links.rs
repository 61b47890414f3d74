//! [`Links`]: the installation's HMAC key, taken once at start, and every link and token signed
//! with it: the notice PDF and receipt links, the SIL's request tokens, download URLs, upload
//! authorizations and polling tokens, and the hashes of e-mail PINs. The key is the key file's
//! (`store::keys`, `<data_dir>/mypay.key`), never in the database: a copy of the database alone
//! signs nothing, and cannot try the million PINs against their hashes.
//!
//! Each format (the message signed and the shape of the URL or token) is written here once, with
//! its check next to it. They are contracts: receipt links sit in citizens' mailboxes, SILs keep
//! tokens and URLs, PIN hashes are stored; changing a message string breaks all of them.
//!
//! It lives in `services`, not at the top of `src/`, because the key comes from the store's `Db`
//! (which reads or makes the key file when it opens, and moves an older database's key there), and
//! because services sign too (PIN hashes, SIL upload and polling tokens); below them are only the
//! pure domain and the store. Adapters get the one `Links` built by `mypay serve`
//! (`web::AppState`, `sil::Sil`).
//! **Invariant:** nothing else signs with the installation key (a tidy test checks).

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::clock::Now;
use crate::store::Db;

/// How long a notice PDF link or a mailed receipt link works: a year, long enough for a
/// municipality's portal to show a notice until its due date and for a payer to keep a receipt's
/// link, bounded so that a link found in an old mailbox or log does not open a document for ever.
/// Links made before they expired (no `<expires>.` in `firma`) are refused.
pub const DOCUMENT_LINK_SECONDS: i64 = 365 * 24 * 3600;

/// How long a SIL download URL works.
pub const SIL_DOWNLOAD_SECONDS: i64 = 24 * 3600;

/// The signer of every link and token of this installation.
pub struct Links {
    key: Vec<u8>,
}

impl std::fmt::Debug for Links {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Links { key: *** }")
    }
}

impl Links {
    /// Takes the installation key of the open database.
    pub fn load(db: &Db) -> Links {
        Links { key: installation_key(db) }
    }

    /// A signer with the given key, for tests that sign as an earlier installation did.
    #[cfg(test)]
    pub(crate) fn with_key(key: &[u8]) -> Links {
        Links { key: key.to_vec() }
    }

    /// `/avvisi/<ipa>/<notice>.pdf?firma=…`: the payment notice of a debt (it carries the debtor's
    /// data, so the link is signed).
    pub fn notice_pdf_url(&self, ipa: &str, notice: &str, now: Now) -> String {
        let expires = now.instant().as_second() + DOCUMENT_LINK_SECONDS;
        format!("/avvisi/{ipa}/{notice}.pdf?firma={expires}.{}", self.sign(&notice_message(ipa, notice, expires)))
    }

    /// Whether `firma` is that of [`Links::notice_pdf_url`] for this notice and not expired at `now`.
    pub fn verify_notice(&self, ipa: &str, notice: &str, firma: &str, now: Now) -> bool {
        self.verify_expiring(firma, now, |expires| notice_message(ipa, notice, expires))
    }

    /// `/ricevute/<id>?firma=…`: the receipt link mailed to the payer.
    pub fn receipt_url(&self, id: i64, now: Now) -> String {
        let expires = now.instant().as_second() + DOCUMENT_LINK_SECONDS;
        format!("/ricevute/{id}?firma={expires}.{}", self.sign(&receipt_message(id, expires)))
    }

    /// Whether `firma` is that of [`Links::receipt_url`] for receipt `id` and not expired at `now`.
    pub fn verify_receipt(&self, id: i64, firma: &str, now: Now) -> bool {
        self.verify_expiring(firma, now, |expires| receipt_message(id, expires))
    }

    /// A `firma` of the form `<expires>.<signature>` over `message(expires)`, not past `now`.
    fn verify_expiring(&self, firma: &str, now: Now, message: impl Fn(i64) -> String) -> bool {
        let Some((expires, signature)) = firma.split_once('.') else { return false };
        let Ok(expires) = expires.parse::<i64>() else { return false };
        expires >= now.instant().as_second() && self.verify(&message(expires), signature)
    }

    /// The SIL's `requestToken` `<id>-<signature>` for the `kind` (`export`, `import`) record
    /// `id` of org `org_id`: nothing stored, and one org's token never names another's record.
    pub fn sil_request_token(&self, kind: &str, org_id: i64, id: i64) -> String {
        format!("{id}-{}", self.sign(&request_message(kind, org_id, id)))
    }

    /// The record id of a token made by [`Links::sil_request_token`] for this org, if it is one.
    pub fn read_sil_request_token(&self, kind: &str, org_id: i64, token: &str) -> Option<i64> {
        let (id, signature) = token.trim().split_once('-')?;
        let id: i64 = id.parse().ok()?;
        self.verify(&request_message(kind, org_id, id), signature).then_some(id)
    }

    /// `/ws/pa/download/<ipa>/<kind>/<id>?scadenza=<unix time>&firma=…`, valid for
    /// [`SIL_DOWNLOAD_SECONDS`] from `now`. `kind`: `export`, `scarti`, `iuv`, `avvisi`, `fdr`.
    pub fn sil_download_url(&self, ipa: &str, kind: &str, id: i64, now: Now) -> String {
        let expires = now.instant().as_second() + SIL_DOWNLOAD_SECONDS;
        let signature = self.sign(&download_message(ipa, kind, id, expires));
        format!("/ws/pa/download/{ipa}/{kind}/{id}?scadenza={expires}&firma={signature}")
    }

    /// Whether a download URL's `scadenza` and `firma` are right for this file and it has not
    /// expired at `now`.
    pub fn verify_sil_download(
        &self,
        ipa: &str,
        kind: &str,
        id: i64,
        expires: &str,
        signature: &str,
        now: Now,
    ) -> bool {
        let Ok(expires) = expires.parse::<i64>() else {
            return false;
        };
        expires >= now.instant().as_second() && self.verify(&download_message(ipa, kind, id, expires), signature)
    }

    /// The `authorizationToken` `<requestToken>.<expires>.<signature>` of a SIL upload, `expires`
    /// in Unix seconds.
    pub fn sil_upload_token(&self, request_token: &str, expires: i64) -> String {
        format!("{request_token}.{expires}.{}", self.sign(&upload_message(request_token, expires)))
    }

    /// The request token and expiry of an `authorizationToken` made by [`Links::sil_upload_token`],
    /// `None` when it is malformed or its signature is wrong. Expiry is the caller's to check: the
    /// SIL is told an expired token apart from a forged one.
    pub fn read_sil_upload_token<'t>(&self, token: &'t str) -> Option<(&'t str, i64)> {
        let mut parts = token.trim().splitn(3, '.');
        let (Some(request_token), Some(expires), Some(signature)) = (parts.next(), parts.next(), parts.next()) else {
            return None;
        };
        let expires: i64 = expires.parse().ok()?;
        self.verify(&upload_message(request_token, expires), signature).then_some((request_token, expires))
    }

    /// The `pollingToken` of a SIL session's back URL. mypay only hands it out: MyPay's outcome
    /// endpoint that reads it back is not offered.
    pub fn sil_polling_token(&self, id_session: &str) -> String {
        self.sign(&format!("sil-poll:{id_session}"))
    }

    /// The stored hash of an e-mail PIN, bound to the session and the address.
    pub fn pin_hash(&self, session_hash: &str, email: &str, pin: &str) -> String {
        self.sign(&pin_message(session_hash, email, pin))
    }

    /// Whether `pin` is the one hashed by [`Links::pin_hash`] for this session and address.
    pub fn verify_pin(&self, session_hash: &str, email: &str, pin: &str, hash: &str) -> bool {
        self.verify(&pin_message(session_hash, email, pin), hash)
    }

    /// HMAC-SHA256 of `message`, in hex.
    fn sign(&self, message: &str) -> String {
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(&self.key) else {
            return String::new();
        };
        mac.update(message.as_bytes());
        hex(&mac.finalize().into_bytes())
    }

    /// Checks a signature made by [`Links::sign`], in constant time.
    fn verify(&self, message: &str, signature: &str) -> bool {
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(&self.key) else {
            return false;
        };
        mac.update(message.as_bytes());
        let bytes = from_hex(signature);
        !bytes.is_empty() && mac.verify_slice(&bytes).is_ok()
    }
}

fn notice_message(ipa: &str, notice: &str, expires: i64) -> String {
    format!("notice:{ipa}:{notice}:{expires}")
}

fn receipt_message(id: i64, expires: i64) -> String {
    format!("receipt:{id}:{expires}")
}

fn request_message(kind: &str, org_id: i64, id: i64) -> String {
    format!("sil-{kind}:{org_id}:{id}")
}

fn download_message(ipa: &str, kind: &str, id: i64, expires: i64) -> String {
    format!("sil-download:{ipa}:{kind}:{id}:{expires}")
}

fn upload_message(request_token: &str, expires: i64) -> String {
    format!("sil-upload:{request_token}:{expires}")
}

fn pin_message(session_hash: &str, email: &str, pin: &str) -> String {
    format!("pin:{session_hash}:{email}:{pin}")
}

/// The per-installation key: the key file's bytes, which `Db::open` read (or made).
fn installation_key(db: &Db) -> Vec<u8> {
    db.signing_key().to_vec()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn from_hex(text: &str) -> Vec<u8> {
    if text.len() % 2 != 0 {
        return Vec::new();
    }
    (0..text.len() / 2)
        .map_while(|i| text.get(i * 2..i * 2 + 2).and_then(|pair| u8::from_str_radix(pair, 16).ok()))
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]
    use super::*;

    const KEY: &[u8] = b"0123456789abcdef0123456789abcdef";

    fn links() -> Links {
        Links { key: KEY.to_vec() }
    }

    fn now() -> Now {
        Now::at("2026-11-30T10:00:00Z".parse().unwrap())
    }

    /// The `firma` (and `scadenza`) of a URL's query.
    fn query<'u>(url: &'u str, name: &str) -> &'u str {
        let query = url.split_once('?').unwrap().1;
        query.split('&').find_map(|pair| pair.strip_prefix(name)?.strip_prefix('=')).unwrap()
    }

    /// The bytes the code before `Links` produced for this key (pinned in the commit that
    /// preceded it): links already mailed, stored or kept by a SIL stay valid.
    #[test]
    fn signatures_are_those_of_the_code_before_links() {
        let links = links();
        // Notice and receipt links expire since the hardening issue: the old ones are refused.
        let legacy = "63ba3c46e9014d761fea774b3374c9aba11149585f061b3713fe033c2e24c99d";
        assert!(!links.verify_notice("c_x", "301000000000000042", legacy, now()));
        let legacy = "279bea14917412db3487996380586caa814fea14ef86bf8a4d71e87b850db490";
        assert!(!links.verify_receipt(42, legacy, now()));
        assert_eq!(
            links.sil_request_token("export", 7, 42),
            "42-8fe1eeacefdd17e08e0a196665c729596225810c4c83e7058b9afb5176f9f0b5"
        );
        assert_eq!(
            links.sil_download_url("c_x", "export", 42, now()),
            "/ws/pa/download/c_x/export/42?scadenza=1796119200\
             &firma=1ffc2dd816ba47f53715457965be99e348e124f9447e4f4f627dd83c45d19aaa"
        );
        assert_eq!(
            links.sil_upload_token("0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d", 1_796_036_400),
            "0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d.1796036400.\
             1c31a05f98b7e7155efc6e9635d07b906a71c4fe0d08ef0247672df74803d80c"
        );
        assert_eq!(
            links.sil_polling_token("abc123"),
            "d379b4575484ad0a574e12b9d0359ef6e15f5ddb1a5abaca1b9b5c20ddf69b31"
        );
        assert_eq!(
            links.pin_hash("5e55", "mario.rossi@example.it", "012345"),
            "9f557cfcc7105782723bf0aead56cc164085e31e3fc678120e2e7608a7a7d05a"
        );
    }

    #[test]
    fn each_link_verifies_and_a_tampered_one_does_not() {
        let links = links();
        let notice = links.notice_pdf_url("c_x", "301000000000000042", now());
        let sig = query(&notice, "firma");
        assert!(links.verify_notice("c_x", "301000000000000042", sig, now()));
        assert!(!links.verify_notice("c_y", "301000000000000042", sig, now()));
        assert!(!links.verify_notice("c_x", "301000000000000043", sig, now()));
        assert!(!links.verify_notice("c_x", "301000000000000042", "", now()));
        let later = Now::at(now().instant() + jiff::SignedDuration::from_secs(DOCUMENT_LINK_SECONDS + 1));
        assert!(!links.verify_notice("c_x", "301000000000000042", sig, later), "expired");
        let (expires, mac) = sig.split_once('.').unwrap();
        let stretched = format!("{}.{mac}", expires.parse::<i64>().unwrap() + 86_400);
        assert!(!links.verify_notice("c_x", "301000000000000042", &stretched, now()), "the expiry is signed");

        let receipt = links.receipt_url(42, now());
        let sig = query(&receipt, "firma");
        assert!(links.verify_receipt(42, sig, now()));
        assert!(!links.verify_receipt(43, sig, now()));
        assert!(!links.verify_receipt(42, "zz", now()));
        assert!(!links.verify_receipt(42, &sig.replace('a', "b"), now()));
        assert!(!links.verify_receipt(42, sig, later), "expired");

        let token = links.sil_request_token("export", 7, 42);
        assert_eq!(links.read_sil_request_token("export", 7, &token), Some(42));
        assert_eq!(links.read_sil_request_token("export", 8, &token), None);
        assert_eq!(links.read_sil_request_token("import", 7, &token), None);
        assert_eq!(links.read_sil_request_token("export", 7, &token.replacen("42", "43", 1)), None);
        assert_eq!(links.read_sil_request_token("export", 7, "42-00"), None);

        let token = links.sil_upload_token("rt-1", 1_796_036_400);
        assert_eq!(links.read_sil_upload_token(&format!(" {token} ")), Some(("rt-1", 1_796_036_400)));
        assert_eq!(links.read_sil_upload_token(&token.replace(".1796036400.", ".1796036401.")), None);
        assert_eq!(links.read_sil_upload_token(&token.replace("rt-1", "rt-2")), None);
        assert_eq!(links.read_sil_upload_token("rt-1.1796036400"), None);
        assert_eq!(links.read_sil_upload_token("rt-1.soon.00"), None);

        let hash = links.pin_hash("s", "a@example.it", "123456");
        assert!(links.verify_pin("s", "a@example.it", "123456", &hash));
        assert!(!links.verify_pin("s", "a@example.it", "123457", &hash));
        assert!(!links.verify_pin("t", "a@example.it", "123456", &hash));
        assert!(!links.verify_pin("s", "b@example.it", "123456", &hash));

        let other = Links { key: b"another key".to_vec() };
        assert!(!other.verify_receipt(42, query(&receipt, "firma"), now()));
    }

    #[test]
    fn a_sil_download_url_works_until_it_expires() {
        let links = links();
        let url = links.sil_download_url("c_x", "export", 42, now());
        let (expires, sig) = (query(&url, "scadenza"), query(&url, "firma"));
        assert!(links.verify_sil_download("c_x", "export", 42, expires, sig, now()));
        let last = Now::at(now().instant() + jiff::SignedDuration::from_secs(SIL_DOWNLOAD_SECONDS));
        assert!(links.verify_sil_download("c_x", "export", 42, expires, sig, last));
        let later = Now::at(last.instant() + jiff::SignedDuration::from_secs(1));
        assert!(!links.verify_sil_download("c_x", "export", 42, expires, sig, later));
        assert!(!links.verify_sil_download("c_x", "export", 43, expires, sig, now()));
        assert!(!links.verify_sil_download("c_x", "scarti", 42, expires, sig, now()));
        assert!(!links.verify_sil_download("c_y", "export", 42, expires, sig, now()));
        // A later expiry is not the one signed.
        assert!(!links.verify_sil_download("c_x", "export", 42, "1896119200", sig, now()));
        assert!(!links.verify_sil_download("c_x", "export", 42, "soon", sig, now()));
    }

    #[test]
    fn the_key_is_the_key_file_made_once_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let (db, _) = Db::open(&dir.path().join("mypay.db")).unwrap();
        let first = Links::load(&db);
        let file = std::fs::read(dir.path().join("mypay.key")).unwrap();
        assert_eq!(first.key, file);
        drop(db);
        let (db, _) = Db::open(&dir.path().join("mypay.db")).unwrap();
        let again = Links::load(&db);
        assert_eq!(again.receipt_url(42, now()), first.receipt_url(42, now()));
        assert_eq!(format!("{again:?}"), "Links { key: *** }");
    }
}
