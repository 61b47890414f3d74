//! ID tokens: compact JWS parsing, signature verification against a JWKS with `ring` (RS256 and
//! ES256; every other `alg`, `none` and HMAC included, is refused), and the claim checks of OpenID
//! Connect Core §3.1.3.7 (`iss`, `aud`/`azp`, `exp`, `iat`, `nonce`).
//!
//! Pure: no I/O and no clock; `now` is a parameter. **Invariant:** no claim is read before the
//! signature has been verified.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::signature;
use serde::Deserialize;

use super::OidcError;

/// Tolerated clock difference with the provider, in seconds.
pub const LEEWAY_SECONDS: i64 = 60;

/// One key of a JWK Set (RFC 7517), the members we use.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct Jwk {
    pub kty: String,
    #[serde(default)]
    pub kid: Option<String>,
    #[serde(default, rename = "use")]
    pub use_: Option<String>,
    #[serde(default)]
    pub alg: Option<String>,
    /// RSA modulus and exponent (base64url, big-endian).
    #[serde(default)]
    pub n: Option<String>,
    #[serde(default)]
    pub e: Option<String>,
    /// EC curve and coordinates.
    #[serde(default)]
    pub crv: Option<String>,
    #[serde(default)]
    pub x: Option<String>,
    #[serde(default)]
    pub y: Option<String>,
}

/// A JWK Set.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
pub struct Jwks {
    pub keys: Vec<Jwk>,
}

/// The JOSE header members we read.
#[derive(Debug, Deserialize)]
struct Header {
    alg: String,
    #[serde(default)]
    kid: Option<String>,
    #[serde(default)]
    crit: Option<serde_json::Value>,
}

/// A token split and decoded, signature not yet checked.
#[derive(Debug)]
pub struct Unverified {
    alg: String,
    kid: Option<String>,
    signing_input: String,
    signature: Vec<u8>,
    payload: Vec<u8>,
}

impl Unverified {}

fn b64(part: &str) -> Result<Vec<u8>, OidcError> {
    URL_SAFE_NO_PAD.decode(part.trim_end_matches('=')).map_err(|_| OidcError::Malformed("bad base64url"))
}

/// Splits a compact JWS and decodes its header (`alg` must be RS256 or ES256).
pub fn parse(token: &str) -> Result<Unverified, OidcError> {
    if token.len() > 16 * 1024 {
        return Err(OidcError::Malformed("token too long"));
    }
    let mut parts = token.split('.');
    let (Some(h), Some(p), Some(s), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return Err(OidcError::Malformed("not three dot-separated parts"));
    };
    let header: Header =
        serde_json::from_slice(&b64(h)?).map_err(|_| OidcError::Malformed("header is not a JOSE header"))?;
    if header.crit.is_some() {
        return Err(OidcError::Malformed("critical header extensions are not supported"));
    }
    if !matches!(header.alg.as_str(), "RS256" | "ES256") {
        return Err(OidcError::UnsupportedAlgorithm(header.alg));
    }
    Ok(Unverified {
        alg: header.alg,
        kid: header.kid,
        signing_input: format!("{h}.{p}"),
        signature: b64(s)?,
        payload: b64(p)?,
    })
}

/// The key of `jwks` that fits the token: same `kid` (when the token names one), a key type
/// matching the algorithm, and not reserved for encryption.
pub fn find_key<'a>(jwks: &'a Jwks, token: &Unverified) -> Option<&'a Jwk> {
    let kty = if token.alg == "RS256" { "RSA" } else { "EC" };
    jwks.keys.iter().find(|k| {
        k.kty == kty
            && k.use_.as_deref().is_none_or(|u| u == "sig")
            && k.alg.as_deref().is_none_or(|a| a == token.alg)
            && (token.kid.is_none() || k.kid == token.kid)
    })
}

/// Verifies the signature with `key`; returns the payload bytes.
pub fn verify_signature<'t>(token: &'t Unverified, key: &Jwk) -> Result<&'t [u8], OidcError> {
    let field = |v: &Option<String>| v.as_deref().ok_or(OidcError::Malformed("incomplete JWK")).and_then(b64);
    let message = token.signing_input.as_bytes();
    let ok = match token.alg.as_str() {
        "RS256" => {
            let n = field(&key.n)?;
            let e = field(&key.e)?;
            signature::RsaPublicKeyComponents { n: n.as_slice(), e: e.as_slice() }
                .verify(&signature::RSA_PKCS1_2048_8192_SHA256, message, &token.signature)
                .is_ok()
        }
        "ES256" => {
            if key.crv.as_deref() != Some("P-256") {
                return Err(OidcError::Malformed("EC key is not on P-256"));
            }
            let mut point = vec![0x04];
            point.extend(field(&key.x)?);
            point.extend(field(&key.y)?);
            signature::UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, point)
                .verify(message, &token.signature)
                .is_ok()
        }
        other => return Err(OidcError::UnsupportedAlgorithm(other.to_owned())),
    };
    if ok { Ok(&token.payload) } else { Err(OidcError::BadSignature) }
}

/// `aud`: one string or a list.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Audience {
    One(String),
    Many(Vec<String>),
}

/// The claims checked by [`check_claims`]; the rest of the payload stays as JSON.
#[derive(Debug, Deserialize)]
struct Registered {
    iss: String,
    aud: Audience,
    exp: i64,
    #[serde(default)]
    iat: Option<i64>,
    #[serde(default)]
    azp: Option<String>,
    #[serde(default)]
    nonce: Option<String>,
}

/// What the relying party expects of an ID token.
#[derive(Debug, Clone, Copy)]
pub struct Expected<'a> {
    pub issuer: &'a str,
    pub client_id: &'a str,
    pub nonce: &'a str,
    /// Now, in seconds since the Unix epoch.
    pub now: i64,
}

/// Checks the registered claims of a verified payload; returns all claims.
pub fn check_claims(
    payload: &[u8],
    expected: &Expected<'_>,
) -> Result<serde_json::Map<String, serde_json::Value>, OidcError> {
    let claims: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(payload).map_err(|_| OidcError::Malformed("payload is not a JSON object"))?;
    let reg: Registered = serde_json::from_value(serde_json::Value::Object(claims.clone()))
        .map_err(|_| OidcError::Malformed("iss, aud or exp missing"))?;
    if reg.iss != expected.issuer {
        return Err(OidcError::WrongIssuer(reg.iss));
    }
    let audiences = match &reg.aud {
        Audience::One(a) => vec![a.as_str()],
        Audience::Many(list) => list.iter().map(String::as_str).collect(),
    };
    if !audiences.contains(&expected.client_id) {
        return Err(OidcError::WrongAudience);
    }
    if (audiences.len() > 1 || reg.azp.is_some()) && reg.azp.as_deref() != Some(expected.client_id) {
        return Err(OidcError::WrongAudience);
    }
    if reg.exp + LEEWAY_SECONDS <= expected.now {
        return Err(OidcError::Expired);
    }
    if reg.iat.is_some_and(|iat| iat > expected.now + LEEWAY_SECONDS) {
        return Err(OidcError::Malformed("issued in the future"));
    }
    let nonce_ok = reg.nonce.as_deref().is_some_and(|n| constant_time_eq(n.as_bytes(), expected.nonce.as_bytes()));
    if !nonce_ok {
        return Err(OidcError::WrongNonce);
    }
    Ok(claims)
}

/// Compares two byte strings without stopping at the first difference.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]
    use ring::rand::SystemRandom;
    use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};

    use super::*;

    fn es256_token(claims: &serde_json::Value, kid: &str) -> (String, Jwks) {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng).unwrap();
        let public = pair.public_key().as_ref();
        let jwk = Jwk {
            kty: "EC".into(),
            kid: Some(kid.into()),
            use_: Some("sig".into()),
            alg: None,
            n: None,
            e: None,
            crv: Some("P-256".into()),
            x: Some(URL_SAFE_NO_PAD.encode(&public[1..33])),
            y: Some(URL_SAFE_NO_PAD.encode(&public[33..65])),
        };
        let header = URL_SAFE_NO_PAD.encode(format!(r#"{{"alg":"ES256","kid":"{kid}"}}"#));
        let payload = URL_SAFE_NO_PAD.encode(claims.to_string());
        let input = format!("{header}.{payload}");
        let sig = pair.sign(&rng, input.as_bytes()).unwrap();
        (format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig.as_ref())), Jwks { keys: vec![jwk] })
    }

    fn expected() -> Expected<'static> {
        Expected { issuer: "https://id.example", client_id: "mypay", nonce: "n1", now: 1_000_000 }
    }

    #[test]
    fn es256_token_verifies_and_its_claims_are_checked() {
        let claims = serde_json::json!({"iss": "https://id.example", "aud": "mypay", "exp": 1_000_100, "nonce": "n1", "fiscal_number": "TINIT-X"});
        let (token, jwks) = es256_token(&claims, "k1");
        let parsed = parse(&token).unwrap();
        let key = find_key(&jwks, &parsed).unwrap();
        let payload = verify_signature(&parsed, key).unwrap();
        let got = check_claims(payload, &expected()).unwrap();
        assert_eq!(got["fiscal_number"], "TINIT-X");

        let late = Expected { now: 1_000_200, ..expected() };
        assert!(matches!(check_claims(payload, &late), Err(OidcError::Expired)));
        let other = Expected { nonce: "n2", ..expected() };
        assert!(matches!(check_claims(payload, &other), Err(OidcError::WrongNonce)));
        let other = Expected { client_id: "someone", ..expected() };
        assert!(matches!(check_claims(payload, &other), Err(OidcError::WrongAudience)));
        let other = Expected { issuer: "https://evil", ..expected() };
        assert!(matches!(check_claims(payload, &other), Err(OidcError::WrongIssuer(_))));

        // A signature made by another key does not verify.
        let (_, other_jwks) = es256_token(&claims, "k1");
        assert!(matches!(verify_signature(&parsed, &other_jwks.keys[0]), Err(OidcError::BadSignature)));
        // A tampered payload does not verify.
        let mut parts: Vec<&str> = token.split('.').collect();
        let forged = URL_SAFE_NO_PAD.encode(claims.to_string().replace("TINIT-X", "TINIT-Y"));
        parts[1] = &forged;
        let tampered = parse(&parts.join(".")).unwrap();
        assert!(matches!(verify_signature(&tampered, key), Err(OidcError::BadSignature)));
    }

    #[test]
    fn unsafe_algorithms_and_garbage_are_refused() {
        let none = format!("{}.{}.", URL_SAFE_NO_PAD.encode(r#"{"alg":"none"}"#), URL_SAFE_NO_PAD.encode("{}"));
        assert!(matches!(parse(&none), Err(OidcError::UnsupportedAlgorithm(a)) if a == "none"));
        let hs = format!("{}.{}.AA", URL_SAFE_NO_PAD.encode(r#"{"alg":"HS256"}"#), URL_SAFE_NO_PAD.encode("{}"));
        assert!(matches!(parse(&hs), Err(OidcError::UnsupportedAlgorithm(_))));
        for junk in ["", "a.b", "a.b.c.d", "!!.!!.!!", "e30.e30.e30"] {
            assert!(parse(junk).is_err(), "{junk}");
        }
    }

    #[test]
    fn key_selection_follows_kid_and_type() {
        let claims = serde_json::json!({});
        let (token, jwks) = es256_token(&claims, "k1");
        let parsed = parse(&token).unwrap();
        assert!(find_key(&jwks, &parsed).is_some());
        let (_, other) = es256_token(&claims, "k2");
        assert!(find_key(&other, &parsed).is_none());
    }
}
