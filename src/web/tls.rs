//! The rustls side of HTTPS: the server configuration built from `[tls]` (ring provider, TLS 1.2
//! and 1.3, ALPN `http/1.1`), with optional client-certificate verification for the pagoPA Node.
//! The front end (`web::front`) owns the socket and drives the sessions.
//!
//! Why not tiny_http's own TLS: tiny_http 0.12 (rustls 0.20) cannot ask for client certificates,
//! and the station path needs mutual TLS while the citizen portal must keep working in browsers
//! that have none. So the verifier *allows* anonymous clients, and the outcome decides whether the
//! connection may call the station (with `station.node_auth = "mtls"`, a client certificate
//! chaining to `tls.client_ca`; with an address-based kind, a client address in
//! `station.node_addresses`); `server` refuses `/ws/fesp/` to the others (see
//! `server::is_station_path`).
//!
//! Every response over HTTPS carries [`STRICT_TRANSPORT_SECURITY`] (the server's and the front
//! end's own); over plain HTTP none does, since behind a proxy that terminates TLS the proxy
//! decides, and the header means nothing to a browser over plain HTTP.

use std::sync::Arc;

use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig};

use crate::config::TlsMaterial;
use crate::net::IpRange;

/// The `Strict-Transport-Security` value: a year, the usual minimum for browsers' preload lists;
/// no `includeSubDomains`, since the municipality's other hosts are not ours to speak for.
pub const STRICT_TRANSPORT_SECURITY: &str = "max-age=31536000";

/// A `[tls]` setting that rustls refuses (the key does not match the certificate, a CA that is not
/// a usable trust anchor), named by its key like `config::Problem`.
#[derive(Debug, thiserror::Error)]
#[error("{key}: {reason}")]
pub struct SetupError {
    pub key: &'static str,
    pub reason: String,
}

/// The rustls server configuration and who may call the station.
#[derive(Debug, Clone)]
pub struct Setup {
    config: Arc<ServerConfig>,
    #[cfg(test)]
    client_ca: bool,
    /// `Some`: the station is for these client addresses (certificates do not matter); `None`: for
    /// connections with a verified client certificate.
    node_addresses: Option<Arc<Vec<IpRange>>>,
}

impl Setup {
    /// True when `tls.client_ca` is set: client certificates are asked for and verified.
    #[cfg(test)]
    pub fn requires_client_cert(&self) -> bool {
        self.client_ca
    }

    /// The station admits callers by address (`station.node_auth` proxy or addresses) instead of
    /// by certificate.
    pub fn with_node_addresses(mut self, ranges: &[IpRange]) -> Setup {
        self.node_addresses = Some(Arc::new(ranges.to_vec()));
        self
    }

    /// The rustls configuration every connection's session starts from.
    pub fn server_config(&self) -> Arc<ServerConfig> {
        Arc::clone(&self.config)
    }

    /// `Some`: the station is for these client addresses; `None`: for connections with a verified
    /// client certificate.
    pub fn node_addresses(&self) -> Option<Arc<Vec<IpRange>>> {
        self.node_addresses.clone()
    }
}

/// Builds the rustls configuration from the parsed `[tls]` files (ring provider, TLS 1.2 and 1.3,
/// HTTP/1.1 only).
pub fn setup(material: &TlsMaterial) -> Result<Setup, SetupError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ServerConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .map_err(|err| SetupError { key: "tls.cert", reason: err.to_string() })?;
    let builder = if material.client_ca.is_empty() {
        builder.with_no_client_auth()
    } else {
        let mut roots = RootCertStore::empty();
        for (n, cert) in material.client_ca.iter().enumerate() {
            roots.add(cert.clone()).map_err(|err| SetupError {
                key: "tls.client_ca",
                reason: format!("certificate {} is not a usable CA: {err}", n.saturating_add(1)),
            })?;
        }
        // allow_unauthenticated: browsers without a certificate still get the portal; the station
        // path is guarded per request in `server`. A certificate that is presented must verify.
        let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
            .allow_unauthenticated()
            .build()
            .map_err(|err| SetupError { key: "tls.client_ca", reason: err.to_string() })?;
        builder.with_client_cert_verifier(verifier)
    };
    let mut config =
        builder.with_single_cert(material.cert_chain.clone(), material.key.clone_key()).map_err(|err| match err {
            rustls::Error::InconsistentKeys(_) => {
                SetupError { key: "tls.key", reason: "does not match the certificate in tls.cert".to_owned() }
            }
            rustls::Error::General(reason) if reason.contains("key") => SetupError { key: "tls.key", reason },
            other => SetupError { key: "tls.cert", reason: other.to_string() },
        })?;
    // tiny_http speaks HTTP/1.1 only; saying so stops a client from assuming h2.
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Setup {
        config: Arc::new(config),
        #[cfg(test)]
        client_ca: !material.client_ca.is_empty(),
        node_addresses: None,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]
    use super::*;

    fn material(client_ca: bool) -> TlsMaterial {
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(vec!["localhost".to_owned()]).unwrap().self_signed(&key).unwrap();
        let key_der = rustls_pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into());
        let ca = if client_ca { vec![cert.der().clone()] } else { Vec::new() };
        TlsMaterial { cert_chain: vec![cert.der().clone()], key: Arc::new(key_der), client_ca: ca }
    }

    #[test]
    fn setup_accepts_matching_files_and_reports_client_ca() {
        assert!(!setup(&material(false)).unwrap().requires_client_cert());
        assert!(setup(&material(true)).unwrap().requires_client_cert());
    }

    #[test]
    fn a_key_of_another_certificate_is_named_tls_key() {
        let mut m = material(false);
        m.key = material(false).key;
        let err = setup(&m).unwrap_err();
        assert_eq!(err.key, "tls.key", "{err}");
    }

    #[test]
    fn garbage_client_ca_is_named() {
        let mut m = material(false);
        m.client_ca = vec![rustls_pki_types::CertificateDer::from(vec![1, 2, 3])];
        assert_eq!(setup(&m).unwrap_err().key, "tls.client_ca");
    }
}
