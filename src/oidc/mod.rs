//! OpenID Connect relying party (`citizen_auth.mode = "oidc"`): SPID and CIE reach mypay through an
//! OIDC provider (typically a proxy in front of them).
//!
//! Authorization code flow with PKCE (S256): [`Client::start`] reads the provider's discovery
//! document (cached), draws `state`, `nonce` and the PKCE verifier ([`Pending`], which the web
//! layer keeps in the server-side session) and builds the authorization URL; [`Client::finish`]
//! exchanges the code at the token endpoint (`client_secret_basic` or `client_secret_post`),
//! verifies the ID token against the provider's JWKS (`jwt`; keys cached, fetched again when a
//! token names an unknown `kid`) and returns the citizen's [`Identity`], the fiscal code read from
//! the configured claim.
//!
//! **Invariant:** no lock is held across an HTTP call; the clock is a parameter.
//! **Boundary:** HTTP out to the OpenID provider.

pub mod jwt;

use std::sync::Mutex;
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::config::{Config, OidcTokenAuth, Secret};
use crate::domain::{Email, FiscalCode};
use jwt::Jwks;

/// The JWKS is fetched again for an unknown `kid` at most this often.
const JWKS_REFRESH_MIN: Duration = Duration::from_secs(1);
/// Largest discovery, JWKS or token response read.
const MAX_RESPONSE: u64 = 256 * 1024;

/// Why a login through the provider failed. The web layer shows one Italian message per kind.
#[derive(Debug, thiserror::Error)]
pub enum OidcError {
    #[error("provider discovery failed: {0}")]
    Discovery(String),
    #[error("cannot fetch the provider's keys: {0}")]
    Jwks(String),
    #[error("token exchange failed: {0}")]
    Token(String),
    #[error("the provider answered with error {0:?}")]
    Provider(String),
    #[error("no login in progress, or its state does not match")]
    StateMismatch,
    #[error("malformed ID token: {0}")]
    Malformed(&'static str),
    #[error("ID token algorithm {0:?} is not accepted")]
    UnsupportedAlgorithm(String),
    #[error("ID token signed with a key the provider does not publish")]
    UnknownKey,
    #[error("ID token signature is not valid")]
    BadSignature,
    #[error("ID token issuer {0:?} is not the configured issuer")]
    WrongIssuer(String),
    #[error("ID token is not addressed to this client")]
    WrongAudience,
    #[error("ID token has expired")]
    Expired,
    #[error("ID token nonce does not match the login")]
    WrongNonce,
    #[error("ID token has no valid fiscal code in claim {0:?}")]
    NoFiscalCode(String),
    #[error("no randomness: {0}")]
    Random(String),
}

/// A login started and not yet finished: kept server-side in the session, used once.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Pending {
    pub state: String,
    pub nonce: String,
    /// The PKCE code verifier.
    pub verifier: String,
}

/// Who logged in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub fiscal_code: String,
    pub name: String,
    pub email: Option<String>,
}

/// The provider's metadata we use (OpenID Connect Discovery 1.0 §3).
#[derive(Debug, Clone, Deserialize)]
struct Discovery {
    issuer: String,
    authorization_endpoint: String,
    token_endpoint: String,
    jwks_uri: String,
}

#[derive(Debug, Default)]
struct Cache {
    discovery: Option<Discovery>,
    jwks: Option<Jwks>,
    jwks_fetched: Option<Instant>,
}

/// The relying party: settings, an HTTP agent and the cached provider metadata and keys.
pub struct Client {
    issuer: String,
    client_id: String,
    client_secret: Secret,
    secret_in_body: bool,
    redirect_uri: String,
    fiscal_code_claim: String,
    scopes: String,
    agent: ureq::Agent,
    cache: Mutex<Cache>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client").field("issuer", &self.issuer).field("client_id", &self.client_id).finish()
    }
}

/// Percent-encodes for a query string or a form body (RFC 3986 unreserved kept).
fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            other => format!("%{other:02X}"),
        })
        .collect()
}

fn query(pairs: &[(&str, &str)]) -> String {
    pairs.iter().map(|(k, v)| format!("{}={}", encode(k), encode(v))).collect::<Vec<_>>().join("&")
}

fn random_token() -> Result<String, OidcError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|err| OidcError::Random(err.to_string()))?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

/// The PKCE S256 challenge of a verifier (RFC 7636 §4.2).
pub fn pkce_challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

impl Client {
    /// The relying party of `config`, or `None` when citizens do not log in with OIDC.
    pub fn from_config(config: &Config) -> Option<Client> {
        let auth = config.citizen_auth.oidc()?;
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .timeout_global(Some(Duration::from_secs(10)))
            .build()
            .into();
        Some(Client {
            issuer: auth.issuer.clone(),
            client_id: auth.client_id.clone(),
            client_secret: auth.client_secret.clone(),
            secret_in_body: auth.token_auth == OidcTokenAuth::ClientSecretPost,
            redirect_uri: format!("{}{}", config.server.public_base(), auth.redirect_path),
            fiscal_code_claim: auth.fiscal_code_claim.clone(),
            scopes: auth.scopes.clone(),
            agent,
            cache: Mutex::new(Cache::default()),
        })
    }

    fn cache(&self) -> std::sync::MutexGuard<'_, Cache> {
        self.cache.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn get_json<T: serde::de::DeserializeOwned>(&self, url: &str) -> Result<T, String> {
        let mut res = self.agent.get(url).header("Accept", "application/json").call().map_err(|e| e.to_string())?;
        let status = res.status().as_u16();
        let text = res.body_mut().with_config().limit(MAX_RESPONSE).read_to_string().map_err(|e| e.to_string())?;
        if status != 200 {
            return Err(format!("{url} answered HTTP {status}"));
        }
        serde_json::from_str(&text).map_err(|e| format!("{url}: {e}"))
    }

    /// The discovery document, fetched once and then cached.
    fn discovery(&self) -> Result<Discovery, OidcError> {
        if let Some(found) = &self.cache().discovery {
            return Ok(found.clone());
        }
        let url = format!("{}/.well-known/openid-configuration", self.issuer.trim_end_matches('/'));
        let found: Discovery = self.get_json(&url).map_err(OidcError::Discovery)?;
        if found.issuer != self.issuer {
            return Err(OidcError::Discovery(format!(
                "the document names issuer {:?}, not the configured {:?}",
                found.issuer, self.issuer
            )));
        }
        self.cache().discovery = Some(found.clone());
        Ok(found)
    }

    /// The provider's keys: the cached set, or a fresh one when `refresh` and the last fetch is
    /// not too recent.
    fn jwks(&self, discovery: &Discovery, refresh: bool) -> Result<(Jwks, bool), OidcError> {
        {
            let cache = self.cache();
            let recent = cache.jwks_fetched.is_some_and(|at| at.elapsed() < JWKS_REFRESH_MIN);
            if let Some(jwks) = &cache.jwks
                && (!refresh || recent)
            {
                return Ok((jwks.clone(), false));
            }
        }
        let jwks: Jwks = self.get_json(&discovery.jwks_uri).map_err(OidcError::Jwks)?;
        let mut cache = self.cache();
        cache.jwks = Some(jwks.clone());
        cache.jwks_fetched = Some(Instant::now());
        Ok((jwks, true))
    }

    /// Starts a login: the pending state to keep in the session and the URL to send the browser to.
    pub fn start(&self) -> Result<(Pending, String), OidcError> {
        let discovery = self.discovery()?;
        let pending = Pending { state: random_token()?, nonce: random_token()?, verifier: random_token()? };
        let challenge = pkce_challenge(&pending.verifier);
        let params = query(&[
            ("response_type", "code"),
            ("client_id", &self.client_id),
            ("redirect_uri", &self.redirect_uri),
            ("scope", &self.scopes),
            ("state", &pending.state),
            ("nonce", &pending.nonce),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
        ]);
        let separator = if discovery.authorization_endpoint.contains('?') { '&' } else { '?' };
        Ok((pending, format!("{}{separator}{params}", discovery.authorization_endpoint)))
    }

    /// Finishes a login: exchanges `code`, verifies the ID token, reads the identity. `now` in
    /// seconds since the Unix epoch.
    pub fn finish(&self, pending: &Pending, code: &str, now: i64) -> Result<Identity, OidcError> {
        let discovery = self.discovery()?;
        let id_token = self.exchange(&discovery, pending, code)?;
        let token = jwt::parse(&id_token)?;
        let (mut jwks, fresh) = self.jwks(&discovery, false)?;
        if jwt::find_key(&jwks, &token).is_none() && !fresh {
            // Keys rotate: a kid we do not know sends us to the provider's current set once.
            jwks = self.jwks(&discovery, true)?.0;
        }
        let key = jwt::find_key(&jwks, &token).ok_or(OidcError::UnknownKey)?;
        let payload = jwt::verify_signature(&token, key)?;
        let expected = jwt::Expected { issuer: &self.issuer, client_id: &self.client_id, nonce: &pending.nonce, now };
        let claims = jwt::check_claims(payload, &expected)?;
        self.identity(&claims)
    }

    fn exchange(&self, discovery: &Discovery, pending: &Pending, code: &str) -> Result<String, OidcError> {
        let mut form = vec![
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", self.redirect_uri.as_str()),
            ("code_verifier", pending.verifier.as_str()),
        ];
        let mut request = self
            .agent
            .post(&discovery.token_endpoint)
            .header("Content-Type", "application/x-www-form-urlencoded")
            .header("Accept", "application/json");
        if self.secret_in_body {
            form.push(("client_id", &self.client_id));
            form.push(("client_secret", self.client_secret.expose()));
        } else {
            // RFC 6749 §2.3.1: both parts form-encoded before Base64.
            let pair = format!("{}:{}", encode(&self.client_id), encode(self.client_secret.expose()));
            request = request.header("Authorization", format!("Basic {}", STANDARD.encode(pair)));
        }
        let mut res = request.send(query(&form).as_bytes()).map_err(|e| OidcError::Token(e.to_string()))?;
        let status = res.status().as_u16();
        let text = res
            .body_mut()
            .with_config()
            .limit(MAX_RESPONSE)
            .read_to_string()
            .map_err(|e| OidcError::Token(e.to_string()))?;
        #[derive(Deserialize)]
        struct TokenResponse {
            #[serde(default)]
            id_token: Option<String>,
            #[serde(default)]
            error: Option<String>,
        }
        let parsed: Option<TokenResponse> = serde_json::from_str(&text).ok();
        match parsed {
            Some(TokenResponse { id_token: Some(token), .. }) if status == 200 => Ok(token),
            Some(TokenResponse { error: Some(error), .. }) => {
                Err(OidcError::Token(format!("HTTP {status}, error {:?}", error.chars().take(100).collect::<String>())))
            }
            _ => Err(OidcError::Token(format!("HTTP {status} without an id_token"))),
        }
    }

    fn identity(&self, claims: &serde_json::Map<String, serde_json::Value>) -> Result<Identity, OidcError> {
        let text = |name: &str| claims.get(name).and_then(serde_json::Value::as_str).map(str::trim);
        let no_code = || OidcError::NoFiscalCode(self.fiscal_code_claim.clone());
        let raw = text(&self.fiscal_code_claim).ok_or_else(no_code)?;
        let code = raw.strip_prefix("TINIT-").unwrap_or(raw).to_uppercase();
        let fiscal_code = FiscalCode::parse(&code).map_err(|_| no_code())?;
        let name = match (text("name"), text("given_name"), text("family_name")) {
            (Some(name), _, _) => name.to_owned(),
            (None, Some(given), Some(family)) => format!("{given} {family}"),
            (None, given, family) => given.or(family).unwrap_or_default().to_owned(),
        };
        Ok(Identity {
            fiscal_code: fiscal_code.as_str().to_owned(),
            name: name.chars().take(140).collect(),
            email: text("email").and_then(|e| Email::parse(e).ok()).map(|e| e.as_str().to_owned()),
        })
    }

    /// Whether `state` from the callback is the pending login's.
    pub fn state_matches(pending: &Pending, state: &str) -> bool {
        jwt::constant_time_eq(pending.state.as_bytes(), state.as_bytes())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]
    use super::*;

    #[test]
    fn pkce_challenge_is_base64url_sha256() {
        // SHA-256("abc") = ba7816bf...f20015ad, in base64url without padding.
        assert_eq!(pkce_challenge("abc"), "ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0");
        assert_eq!(random_token().unwrap().len(), 43);
    }

    #[test]
    fn query_encoding() {
        assert_eq!(query(&[("a b", "c&d=é")]), "a%20b=c%26d%3D%C3%A9");
    }
}
