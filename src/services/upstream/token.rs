//! The bearer token of the region's outcome pushes (reference/regional.md §3): a compact JWS signed
//! HS512 with the org's push secret, header `kid` and claims `iss`, `sub` as the region was
//! configured, and in a stock MyPay nothing else (no `iat`, `exp`, `jti`: a static credential). A
//! regional mypay adds `iat`, `exp` and `jti` (`services::payments::outcome_push::bearer_jwt`), which
//! are accepted: `exp` and `nbf` are checked when present, with [`LEEWAY_SECONDS`] for clocks apart.
//!
//! [`parse`] reads the header without trusting it (to pick the org's key by `kid`); [`verify`]
//! checks the signature first (constant time), then the algorithm (exactly `HS512`; `none`, `HS256`
//! and the rest are refused, whatever the key), then the identity, then the times.
//! Must never: accept a token whose signature was not checked with the org's own key; print a
//! token or a key.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use serde_json::{Map, Value};
use sha2::Sha512;

/// The longest token read: MyPay's is a few hundred bytes.
pub const MAX_TOKEN_BYTES: usize = 4096;
/// How far `exp` and `nbf` may be off: the two machines' clocks.
pub const LEEWAY_SECONDS: i64 = 60;

/// Why a token was refused. Logged (never the token); the caller answers 401 whatever it is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("no bearer token")]
    Missing,
    #[error("not a compact JWS: {0}")]
    Malformed(&'static str),
    #[error("algorithm {0:?} is not HS512")]
    Algorithm(String),
    #[error("the token carries critical extensions")]
    Critical,
    #[error("no org's push key signed it")]
    Signature,
    #[error("its {0} is not the one configured for the org")]
    Identity(&'static str),
    #[error("expired")]
    Expired,
    #[error("not valid yet")]
    NotYetValid,
}

/// A token split and decoded, not checked.
#[derive(Debug, Clone)]
pub struct Parsed {
    header: Map<String, Value>,
    claims: Map<String, Value>,
    signing_input: String,
    signature: Vec<u8>,
}

impl Parsed {
    /// The header's `kid`, if a string: which org's key to try first.
    pub fn kid(&self) -> Option<&str> {
        self.header.get("kid").and_then(Value::as_str)
    }
}

/// What the org's configuration says the token carries; `None`: the token must not carry it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Expected<'a> {
    pub kid: Option<&'a str>,
    pub iss: Option<&'a str>,
    pub sub: Option<&'a str>,
}

/// The token of an `Authorization` header value (`Bearer <token>`, the scheme in any case).
pub fn bearer(header: Option<&str>) -> Result<&str, Refusal> {
    let value = header.ok_or(Refusal::Missing)?.trim();
    let (scheme, token) = value.split_once(' ').ok_or(Refusal::Missing)?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(Refusal::Missing);
    }
    let token = token.trim();
    if token.is_empty() {
        return Err(Refusal::Missing);
    }
    if token.len() > MAX_TOKEN_BYTES {
        return Err(Refusal::Malformed("too long"));
    }
    Ok(token)
}

/// Splits and decodes a compact JWS: three base64url parts, the first two JSON objects.
pub fn parse(token: &str) -> Result<Parsed, Refusal> {
    let mut parts = token.split('.');
    let (Some(header), Some(claims), Some(signature), None) = (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(Refusal::Malformed("not three parts"));
    };
    let object = |part: &str, what: &'static str| -> Result<Map<String, Value>, Refusal> {
        let bytes = URL_SAFE_NO_PAD.decode(part).map_err(|_| Refusal::Malformed(what))?;
        match serde_json::from_slice(&bytes) {
            Ok(Value::Object(map)) => Ok(map),
            _ => Err(Refusal::Malformed(what)),
        }
    };
    let parsed = Parsed {
        header: object(header, "header")?,
        claims: object(claims, "claims")?,
        signing_input: format!("{header}.{claims}"),
        signature: URL_SAFE_NO_PAD.decode(signature).map_err(|_| Refusal::Malformed("signature"))?,
    };
    if parsed.header.get("kid").is_some_and(|kid| !kid.is_string()) {
        return Err(Refusal::Malformed("kid"));
    }
    Ok(parsed)
}

/// Whether `key` (the org's HS512 key, decoded) signed the token: HMAC-SHA512 over its first two
/// parts, compared in constant time. The algorithm is checked apart ([`verify`]), so a token that
/// says `none` or `HS256` gets no further than a wrong signature.
pub fn signed_with(parsed: &Parsed, key: &[u8]) -> bool {
    let Ok(mut mac) = Hmac::<Sha512>::new_from_slice(key) else { return false };
    mac.update(parsed.signing_input.as_bytes());
    mac.verify_slice(&parsed.signature).is_ok()
}

/// Checks a token [`signed_with`] the org's key: the algorithm, the org's identity and, when
/// present, `exp` and `nbf` against `now` (Unix seconds).
pub fn verify(parsed: &Parsed, expected: Expected<'_>, now: i64) -> Result<(), Refusal> {
    match parsed.header.get("alg").and_then(Value::as_str) {
        Some("HS512") => {}
        Some(other) => return Err(Refusal::Algorithm(other.chars().take(16).collect())),
        None => return Err(Refusal::Algorithm(String::new())),
    }
    if parsed.header.contains_key("crit") {
        return Err(Refusal::Critical);
    }
    if parsed.kid() != expected.kid {
        return Err(Refusal::Identity("kid"));
    }
    let claim = |name: &str| parsed.claims.get(name);
    for (name, want) in [("iss", expected.iss), ("sub", expected.sub)] {
        // Absent where none is configured, or the same string; a number or null is neither.
        if claim(name).map(Value::as_str) != want.map(Some) {
            return Err(Refusal::Identity(name));
        }
    }
    let time = |name: &'static str| -> Result<Option<i64>, Refusal> {
        match claim(name) {
            None => Ok(None),
            Some(value) => value.as_f64().map(|v| Some(v as i64)).ok_or(Refusal::Malformed(name)),
        }
    };
    if time("exp")?.is_some_and(|exp| now > exp.saturating_add(LEEWAY_SECONDS)) {
        return Err(Refusal::Expired);
    }
    if time("nbf")?.is_some_and(|nbf| now < nbf.saturating_sub(LEEWAY_SECONDS)) {
        return Err(Refusal::NotYetValid);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;
    use crate::services::payments::outcome_push::{JwtIdentity, bearer_jwt};
    use base64::engine::general_purpose::STANDARD;
    use serde_json::json;

    const KEY: [u8; 64] = [7u8; 64];

    /// A token as MyPay makes it: `header` and `claims` as given, signed HS512 with `key`.
    fn token(header: &Value, claims: &Value, key: &[u8]) -> String {
        let input =
            format!("{}.{}", URL_SAFE_NO_PAD.encode(header.to_string()), URL_SAFE_NO_PAD.encode(claims.to_string()));
        let mut mac = Hmac::<Sha512>::new_from_slice(key).unwrap();
        mac.update(input.as_bytes());
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes()))
    }

    const EXPECTED: Expected<'static> = Expected { kid: Some("k1"), iss: Some("mypay-regione"), sub: Some("sil@x.it") };

    fn check(token: &str, key: &[u8], now: i64) -> Result<(), Refusal> {
        let parsed = parse(token)?;
        if !signed_with(&parsed, key) {
            return Err(Refusal::Signature);
        }
        verify(&parsed, EXPECTED, now)
    }

    #[test]
    fn a_stock_mypay_token_is_accepted_and_each_difference_refused() {
        let header = json!({"kid": "k1", "alg": "HS512"});
        let claims = json!({"sub": "sil@x.it", "iss": "mypay-regione"});
        assert_eq!(check(&token(&header, &claims, &KEY), &KEY, 1_700_000_000), Ok(()));
        assert_eq!(check(&token(&header, &claims, &[8u8; 64]), &KEY, 0), Err(Refusal::Signature));
        let hs256 = json!({"kid": "k1", "alg": "HS256"});
        assert_eq!(check(&token(&hs256, &claims, &KEY), &KEY, 0), Err(Refusal::Algorithm("HS256".to_owned())));
        // alg none: no signature at all; a signature over it with the right key is still refused.
        let none = json!({"kid": "k1", "alg": "none"});
        let unsigned =
            format!("{}.{}.", URL_SAFE_NO_PAD.encode(none.to_string()), URL_SAFE_NO_PAD.encode(claims.to_string()));
        assert_eq!(check(&unsigned, &KEY, 0), Err(Refusal::Signature));
        assert_eq!(check(&token(&none, &claims, &KEY), &KEY, 0), Err(Refusal::Algorithm("none".to_owned())));
        let other_kid = json!({"kid": "k2", "alg": "HS512"});
        assert_eq!(check(&token(&other_kid, &claims, &KEY), &KEY, 0), Err(Refusal::Identity("kid")));
        let no_kid = json!({"alg": "HS512"});
        assert_eq!(check(&token(&no_kid, &claims, &KEY), &KEY, 0), Err(Refusal::Identity("kid")));
        let other_iss = json!({"sub": "sil@x.it", "iss": "someone"});
        assert_eq!(check(&token(&header, &other_iss, &KEY), &KEY, 0), Err(Refusal::Identity("iss")));
        let no_sub = json!({"iss": "mypay-regione"});
        assert_eq!(check(&token(&header, &no_sub, &KEY), &KEY, 0), Err(Refusal::Identity("sub")));
        let crit = json!({"kid": "k1", "alg": "HS512", "crit": ["x"]});
        assert_eq!(check(&token(&crit, &claims, &KEY), &KEY, 0), Err(Refusal::Critical));
    }

    #[test]
    fn exp_and_nbf_count_only_when_present() {
        let header = json!({"kid": "k1", "alg": "HS512"});
        let claims = json!({"sub": "sil@x.it", "iss": "mypay-regione", "exp": 1000, "nbf": 500});
        let t = token(&header, &claims, &KEY);
        assert_eq!(check(&t, &KEY, 1000 + LEEWAY_SECONDS), Ok(()));
        assert_eq!(check(&t, &KEY, 1001 + LEEWAY_SECONDS), Err(Refusal::Expired));
        assert_eq!(check(&t, &KEY, 499 - LEEWAY_SECONDS), Err(Refusal::NotYetValid));
        let bad = json!({"sub": "sil@x.it", "iss": "mypay-regione", "exp": "soon"});
        assert_eq!(check(&token(&header, &bad, &KEY), &KEY, 0), Err(Refusal::Malformed("exp")));
    }

    #[test]
    fn garbage_is_malformed_never_a_panic() {
        for bad in ["", "a", "a.b", "a.b.c.d", "!!!.e30.AA", "e30.!!!.AA", "W10.e30.AA", "e30.e30.!!"] {
            assert!(matches!(parse(bad), Err(Refusal::Malformed(_))), "{bad}");
        }
        let kid_number = format!("{}.e30.AA", URL_SAFE_NO_PAD.encode(r#"{"alg":"HS512","kid":7}"#));
        assert_eq!(parse(&kid_number).unwrap_err(), Refusal::Malformed("kid"));
        assert_eq!(bearer(None), Err(Refusal::Missing));
        assert_eq!(bearer(Some("Basic abc")), Err(Refusal::Missing));
        assert_eq!(bearer(Some("Bearer  ")), Err(Refusal::Missing));
        assert_eq!(bearer(Some("bearer abc")), Ok("abc"));
        assert_eq!(
            bearer(Some(&format!("Bearer {}", "a".repeat(MAX_TOKEN_BYTES + 1)))),
            Err(Refusal::Malformed("too long"))
        );
    }

    /// Two mypay instances interoperate: the token a regional mypay's outcome pusher makes with an
    /// org's `--push-kid/--push-iss/--push-sub` (and its iat, exp, jti) passes the box's verifier.
    #[test]
    fn a_regional_mypays_pusher_token_is_accepted() {
        let secret = STANDARD.encode(KEY);
        let identity = JwtIdentity { kid: Some("k1"), iss: Some("mypay-regione"), sub: Some("sil@x.it") };
        let now = 1_700_000_000;
        let t = bearer_jwt(&secret, identity, "c_f205", 12, 1, now).unwrap();
        assert_eq!(check(&t, &KEY, now + 30), Ok(()));
        assert_eq!(check(&t, &KEY, now + 3600), Err(Refusal::Expired), "its exp counts");
        // Without the identity the box expects, the default one (iss mypay, sub the IPA) is refused.
        let plain = bearer_jwt(&secret, JwtIdentity::default(), "c_f205", 12, 1, now).unwrap();
        assert_eq!(check(&plain, &KEY, now), Err(Refusal::Identity("kid")));
    }
}
