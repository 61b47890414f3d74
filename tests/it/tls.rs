//! HTTPS on the listener and mutual TLS on the station path, over real loopback connections to
//! the real binary; and `mypay cert`. The server certificate comes from `mypay cert self-signed`,
//! the client CA and client certificates from rcgen.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use ureq::tls::{Certificate, ClientCert, PrivateKey, RootCerts, TlsConfig};

use crate::support::{Server, bin, data_dir, run, stderr, stdout};

/// A server certificate (from the binary) and a client CA with one client certificate (rcgen).
pub(crate) struct Pki {
    dir: PathBuf,
    pub(crate) server_cert: PathBuf,
    server_key: PathBuf,
    client_ca: PathBuf,
    /// (certificate PEM, key PEM) signed by `client_ca`.
    client: (String, String),
}

fn ca(name: &str) -> (rcgen::CertificateParams, rcgen::KeyPair, rcgen::Certificate) {
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    params.distinguished_name.push(rcgen::DnType::CommonName, name);
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    params.key_usages = vec![rcgen::KeyUsagePurpose::KeyCertSign, rcgen::KeyUsagePurpose::DigitalSignature];
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = params.self_signed(&key).unwrap();
    (params, key, cert)
}

fn client_cert(ca_params: &rcgen::CertificateParams, ca_key: &rcgen::KeyPair, cn: &str) -> (String, String) {
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    params.distinguished_name.push(rcgen::DnType::CommonName, cn);
    params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ClientAuth];
    let key = rcgen::KeyPair::generate().unwrap();
    let issuer = rcgen::Issuer::from_params(ca_params, ca_key);
    let cert = params.signed_by(&key, &issuer).unwrap();
    (cert.pem(), key.serialize_pem())
}

pub(crate) fn pki(root: &Path) -> Pki {
    let dir = root.join("pki");
    let out = Command::new(bin())
        .args(["cert", "self-signed", "--common-name", "localhost", "--san", "127.0.0.1", "--days", "2"])
        .arg("--out-dir")
        .arg(&dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("cert.pem"), "{}", stdout(&out));
    let (ca_params, ca_key, ca_cert) = ca("Test pagoPA Node CA");
    let client_ca = dir.join("node-ca.pem");
    std::fs::write(&client_ca, ca_cert.pem()).unwrap();
    let client = client_cert(&ca_params, &ca_key, "nodo.test");
    Pki { server_cert: dir.join("cert.pem"), server_key: dir.join("key.pem"), client_ca, client, dir }
}

pub(crate) fn tls_config_file(root: &Path, pki: &Pki, client_ca: bool) -> PathBuf {
    let path = root.join("mypay.toml");
    let mut text = format!(
        "version = 1\n[tls]\ncert = \"{}\"\nkey = \"{}\"\n",
        pki.server_cert.display(),
        pki.server_key.display()
    );
    if client_ca {
        text.push_str(&format!("client_ca = \"{}\"\n", pki.client_ca.display()));
    }
    std::fs::write(&path, text).unwrap();
    path
}

/// An HTTPS client trusting only the test server certificate, optionally presenting `client`.
fn agent(pki: &Pki, client: Option<&(String, String)>) -> ureq::Agent {
    let server_pem = std::fs::read(&pki.server_cert).unwrap();
    let root = Certificate::from_pem(&server_pem).unwrap().to_owned();
    let mut tls = TlsConfig::builder().root_certs(RootCerts::new_with_certs(&[root]));
    if let Some((cert, key)) = client {
        let cert = Certificate::from_pem(cert.as_bytes()).unwrap().to_owned();
        let key = PrivateKey::from_pem(key.as_bytes()).unwrap().to_owned();
        tls = tls.client_cert(Some(ClientCert::new_with_certs(&[cert], key)));
    }
    ureq::Agent::config_builder()
        .tls_config(tls.build())
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(10)))
        .build()
        .into()
}

fn post_station(agent: &ureq::Agent, url: &str) -> Result<(u16, String), ureq::Error> {
    let mut res = agent.post(url).header("Content-Type", "text/xml; charset=utf-8").send("<soap/>")?;
    let body = res.body_mut().read_to_string().unwrap_or_default();
    Ok((res.status().as_u16(), body))
}

fn mean_ms(total: Duration, n: u32) -> f64 {
    total.as_secs_f64() * 1000.0 / f64::from(n)
}

#[test]
fn https_serves_the_portal_and_plain_http_is_refused() {
    let (tmp, dir) = data_dir();
    let pki = pki(tmp.path());
    let config = tls_config_file(tmp.path(), &pki, false);
    let server = Server::start(&dir, &["--config", config.to_str().unwrap(), "demo"]);
    assert!(server.base.starts_with("https://127.0.0.1:"), "{:?}", server.banner);
    assert!(server.banner.iter().any(|l| l.contains("citizen portal: https://")), "{:?}", server.banner);

    let https = agent(&pki, None);
    let mut res = https.get(&server.url("/healthz")).call().unwrap();
    assert_eq!(res.status().as_u16(), 200);
    assert!(res.headers().contains_key("x-request-id"), "security headers are set behind TLS too");
    assert!(res.body_mut().read_to_string().unwrap().contains("ok"));
    // Every response over HTTPS says to keep to HTTPS: the server's pages and errors, and the
    // front end's own refusals (here of a forged tag).
    let hsts = |res: &ureq::http::Response<ureq::Body>| {
        res.headers().get("strict-transport-security").map(|v| v.to_str().unwrap().to_owned())
    };
    assert_eq!(hsts(&res).as_deref(), Some("max-age=31536000"));
    let missing = https.get(&server.url("/nessuna-pagina")).call().unwrap();
    assert_eq!((missing.status().as_u16(), hsts(&missing).as_deref()), (404, Some("max-age=31536000")));
    let forged = https.get(&server.url("/healthz")).header("X-Mypay-Front", "forged").call().unwrap();
    assert_eq!((forged.status().as_u16(), hsts(&forged).as_deref()), (400, Some("max-age=31536000")));
    let mut home = https.get(&server.url("/")).call().unwrap();
    assert_eq!(home.status().as_u16(), 200);
    assert!(home.body_mut().read_to_string().unwrap().contains("</html>"));
    // Without client_ca, the station path is not guarded: the router answers (404/405 here).
    assert_ne!(post_station(&https, &server.url("/ws/fesp/")).unwrap().0, 403);

    let plain_url = server.url("/healthz").replacen("https://", "http://", 1);
    let plain: ureq::Agent = ureq::Agent::config_builder().timeout_global(Some(Duration::from_secs(5))).build().into();
    assert!(plain.get(&plain_url).call().is_err(), "plain HTTP must not be answered on the TLS port");

    // Rough latency on loopback: a new connection (TCP + TLS handshake + request) and a request on
    // a kept-alive connection. Printed for the record, bounded loosely so slow CI does not flake.
    let n = 20;
    let started = Instant::now();
    for _ in 0..n {
        assert_eq!(agent(&pki, None).get(&server.url("/healthz")).call().unwrap().status().as_u16(), 200);
    }
    let fresh = started.elapsed();
    let started = Instant::now();
    for _ in 0..n {
        assert_eq!(https.get(&server.url("/healthz")).call().unwrap().status().as_u16(), 200);
    }
    let kept = started.elapsed();
    eprintln!(
        "TLS loopback: new connection + handshake + GET /healthz {:.2} ms, kept-alive GET {:.2} ms (mean of {n})",
        mean_ms(fresh, n),
        mean_ms(kept, n)
    );
    assert!(fresh < Duration::from_secs(20));

    let (clean, log) = server.terminate();
    assert!(clean, "{log}");
    assert!(!dir.join("run/http.sock").exists(), "{log}");
}

#[test]
fn the_station_path_needs_a_client_certificate_from_the_configured_ca() {
    let (tmp, dir) = data_dir();
    let pki = pki(tmp.path());
    let config = tls_config_file(tmp.path(), &pki, true);
    let server = Server::start(&dir, &["--config", config.to_str().unwrap(), "demo"]);
    let station = server.url("/ws/fesp/");

    // A browser without a certificate still gets the portal, but not the station.
    let anonymous = agent(&pki, None);
    assert_eq!(anonymous.get(&server.url("/")).call().unwrap().status().as_u16(), 200);
    let (status, body) = post_station(&anonymous, &station).unwrap();
    assert_eq!(status, 403);
    assert!(body.contains("client certificate"), "{body}");
    assert_eq!(post_station(&anonymous, &server.url("//ws/fesp/x")).unwrap().0, 403);
    assert_eq!(post_station(&anonymous, &server.url("/ws/fesp")).unwrap().0, 403);

    // The Node's certificate, signed by the configured CA: through to the router (no station yet
    // on this branch, so 404/405), and the portal works on the same kind of connection.
    let node = agent(&pki, Some(&pki.client));
    let (status, _) = post_station(&node, &station).unwrap();
    assert_ne!(status, 403);
    assert_eq!(node.get(&server.url("/healthz")).call().unwrap().status().as_u16(), 200);

    // A certificate from another CA: the handshake is refused (or, at worst, the path is).
    let (other_params, other_key, _) = ca("Some other CA");
    let stranger = agent(&pki, Some(&client_cert(&other_params, &other_key, "nodo.test")));
    match post_station(&stranger, &station) {
        Err(_) => {}
        Ok((status, _)) => assert_eq!(status, 403),
    }

    let (clean, log) = server.terminate();
    assert!(clean, "{log}");
    assert!(log.contains("TLS handshake refused: client certificate"), "{log}");
}

#[test]
fn sigterm_over_tls_lets_in_flight_requests_finish() {
    let (tmp, dir) = data_dir();
    let pki = pki(tmp.path());
    let config = tls_config_file(tmp.path(), &pki, true);
    let server = Server::start(&dir, &["--config", config.to_str().unwrap(), "demo"]);
    // An idle kept-alive connection (body read, so ureq keeps it in its pool) must not hold up
    // the shutdown.
    let idle = agent(&pki, None);
    let mut res = idle.get(&server.url("/healthz")).call().unwrap();
    assert_eq!(res.status().as_u16(), 200);
    res.body_mut().read_to_string().unwrap();
    let clients: Vec<_> = (0..4)
        .map(|_| {
            let url = server.url("/");
            let agent = agent(&pki, None);
            std::thread::spawn(move || {
                let mut ok = 0;
                for _ in 0..20 {
                    match agent.get(&url).call() {
                        Ok(mut res) => {
                            // Requests caught by the shutdown may get tiny_http's 500; none may be
                            // cut half-way.
                            let status = res.status().as_u16();
                            let body = res.body_mut().read_to_string();
                            if status == 200 {
                                assert!(body.unwrap().contains("</html>"));
                                ok += 1;
                            }
                        }
                        Err(_) => break,
                    }
                }
                ok
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(100));
    let stop = Instant::now();
    let (clean, log) = server.terminate();
    let stopped_in = stop.elapsed();
    let answered: usize = clients.into_iter().map(|c| c.join().unwrap()).sum();
    assert!(clean, "{log}");
    assert!(answered > 0);
    assert!(stopped_in < Duration::from_secs(4), "shutdown took {stopped_in:?}");
    eprintln!("TLS shutdown with an idle kept-alive connection took {stopped_in:?}");
}

#[test]
fn cert_csr_writes_a_private_key_and_a_request_and_never_overwrites() {
    let (tmp, dir) = data_dir();
    let out_dir = tmp.path().join("tls");
    let args = |extra: &[&str]| {
        let mut args = vec!["cert", "csr", "--common-name", "pagamenti.comune.example.it", "--san", "mypay.example.it"];
        args.extend_from_slice(&["--out-dir", out_dir.to_str().unwrap()]);
        args.extend_from_slice(extra);
        args.into_iter().map(str::to_owned).collect::<Vec<_>>()
    };
    let argv = args(&[]);
    let out = run(&dir, &argv.iter().map(String::as_str).collect::<Vec<_>>(), None);
    assert!(out.status.success(), "{}", stderr(&out));
    let printed = stdout(&out);
    assert!(printed.contains("key.pem") && printed.contains("csr.pem"), "{printed}");

    let key_path = out_dir.join("key.pem");
    let csr_path = out_dir.join("csr.pem");
    assert_eq!(std::fs::metadata(&key_path).unwrap().permissions().mode() & 0o777, 0o600);
    let key = std::fs::read_to_string(&key_path).unwrap();
    let csr = std::fs::read_to_string(&csr_path).unwrap();
    assert!(key.starts_with("-----BEGIN PRIVATE KEY-----"), "{key}");
    assert!(csr.starts_with("-----BEGIN CERTIFICATE REQUEST-----"), "{csr}");
    // The request parses and its signature verifies (when openssl is there to say so).
    if let Ok(check) = Command::new("openssl")
        .args(["req", "-in"])
        .arg(&csr_path)
        .args(["-noout", "-verify", "-text"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
    {
        let text = format!("{}{}", stdout(&check), stderr(&check));
        assert!(check.status.success(), "{text}");
        assert!(
            text.contains("CN=pagamenti.comune.example.it") || text.contains("CN = pagamenti.comune.example.it"),
            "{text}"
        );
        assert!(text.contains("DNS:pagamenti.comune.example.it") && text.contains("DNS:mypay.example.it"), "{text}");
    }

    // A second run without --force: exit 2, nothing touched.
    let out = run(&dir, &argv.iter().map(String::as_str).collect::<Vec<_>>(), None);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("already exists"), "{}", stderr(&out));
    assert_eq!(std::fs::read_to_string(&key_path).unwrap(), key);
    assert_eq!(std::fs::read_to_string(&csr_path).unwrap(), csr);

    // With --force: a new key, still 0600.
    let forced = args(&["--force"]);
    let out = run(&dir, &forced.iter().map(String::as_str).collect::<Vec<_>>(), None);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_ne!(std::fs::read_to_string(&key_path).unwrap(), key);
    assert_eq!(std::fs::metadata(&key_path).unwrap().permissions().mode() & 0o777, 0o600);
    let leftovers: Vec<_> = std::fs::read_dir(&out_dir).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(leftovers.len(), 2, "{leftovers:?}");

    // Bad names are bad input.
    let out = run(&dir, &["cert", "csr", "--common-name", "not a host", "--out-dir", "/tmp/never"], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--common-name"), "{}", stderr(&out));
}

/// Runs `mypay` and fails the test instead of hanging if it does not exit within 20 s (a server
/// that wrongly accepted its configuration).
fn run_bounded(data_dir: &Path, args: &[&str]) -> std::process::Output {
    let mut child = Command::new(bin())
        .arg("--data-dir")
        .arg(data_dir)
        .args(args)
        .env_remove("MYPAY_CONFIG")
        .env_remove("MYPAY_DATA_DIR")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("mypay {args:?} did not exit");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

#[test]
fn bad_tls_configuration_is_refused_by_key() {
    let (tmp, dir) = data_dir();
    let pki = pki(tmp.path());
    let config = tmp.path().join("bad.toml");
    let refused = |text: String, expected: &str| {
        std::fs::write(&config, text).unwrap();
        let out = run_bounded(&dir, &["--config", config.to_str().unwrap(), "demo", "--listen", "127.0.0.1:0"]);
        assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
        assert!(stderr(&out).contains(expected), "expected {expected:?} in: {}", stderr(&out));
        assert!(!dir.join("mypay.db").exists(), "nothing may be created before the configuration is valid");
    };
    let cert = pki.server_cert.display();
    let key = pki.server_key.display();
    refused(format!("[tls]\ncert = \"{cert}\"\n"), "tls.key: is required when tls.cert is set");
    let junk = pki.dir.join("junk.pem");
    std::fs::write(&junk, "-----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----\n").unwrap();
    refused(format!("[tls]\ncert = \"{}\"\nkey = \"{key}\"\n", junk.display()), "tls.cert: ");
    refused(
        format!("[tls]\ncert = \"{cert}\"\nkey = \"{cert}\"\n"),
        &format!("tls.key: no private key found in {cert}"),
    );
    refused(format!("[tls]\nclient_ca = \"{cert}\"\n"), "tls.client_ca: needs tls.cert");

    // A key of another certificate is found by rustls, and reported the same way.
    let other = tmp.path().join("other");
    let out = Command::new(bin())
        .args(["cert", "self-signed", "--common-name", "localhost", "--days", "1", "--out-dir"])
        .arg(&other)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    refused(
        format!("[tls]\ncert = \"{cert}\"\nkey = \"{}\"\n", other.join("key.pem").display()),
        "tls.key: does not match the certificate in tls.cert",
    );
    // `config check` runs the same checks.
    let complete = "version = 1\n[server]\npublic_url = \"https://pagamenti.example.it\"\n[station]\n\
                    broker_id = \"01234567897\"\nstation_id = \"01234567897_01\"\n\
                    node_auth = \"addresses\"\nnode_addresses = [\"127.0.0.1\"]\n\
                    [node]\nbase_url = \"https://api.example.it\"\n";
    let tls = format!("[tls]\ncert = \"{cert}\"\nkey = \"{}\"\n", other.join("key.pem").display());
    std::fs::write(&config, format!("{complete}{tls}")).unwrap();
    let out = run(&dir, &["--config", config.to_str().unwrap(), "config", "check"], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("tls.key: does not match"), "{}", stderr(&out));
}

/// A complete production configuration without `[tls]`: `tls.mode` is `auto`.
const PRODUCTION: &str = "version = 1\n[server]\npublic_url = \"https://pagamenti.example.it\"\n[station]\n\
                          broker_id = \"01234567897\"\nstation_id = \"01234567897_01\"\n\
                          node_auth = \"addresses\"\nnode_addresses = [\"127.0.0.1\"]\n\
                          [node]\nbase_url = \"https://api.example.it\"\n";

#[test]
fn production_defaults_to_https_with_a_certificate_made_on_first_start() {
    let (tmp, dir) = data_dir();
    let config = tmp.path().join("mypay.toml");
    std::fs::write(&config, PRODUCTION).unwrap();
    let config = config.to_str().unwrap();
    let server = Server::start(&dir, &["--config", config, "serve"]);
    assert!(server.base.starts_with("https://127.0.0.1:"), "{}", server.base);
    let cert_path = dir.join("tls").join("cert.pem");
    let first = std::fs::read(&cert_path).unwrap();
    let key_mode = std::fs::metadata(dir.join("tls").join("key.pem")).unwrap().permissions().mode() & 0o777;
    assert_eq!(key_mode, 0o600);
    // The names: the host of public_url and the listen address (which the client checks here).
    let der = Certificate::from_pem(&first).unwrap().der().to_vec();
    assert!(der.windows(20).any(|w| w == b"pagamenti.example.it"), "SAN from server.public_url");
    let pki = Pki {
        dir: dir.join("tls"),
        server_cert: cert_path.clone(),
        server_key: dir.join("tls").join("key.pem"),
        client_ca: PathBuf::new(),
        client: (String::new(), String::new()),
    };
    let mut res = agent(&pki, None).get(server.url("/healthz")).call().unwrap();
    assert_eq!(res.status().as_u16(), 200);
    assert!(res.body_mut().read_to_string().unwrap().contains("ok"));

    // The binary's own probe (Docker's HEALTHCHECK) accepts the self-signed certificate.
    let out = run(&dir, &["--config", config, "healthcheck", "--url", &server.url("/healthz")], None);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), format!("ok: {} answered 200\n", server.url("/healthz")));
    let (clean, log) = server.terminate();
    assert!(clean, "{log}");
    assert!(log.contains("generated a self-signed certificate"), "{log}");
    assert!(log.contains("mypay cert csr"), "the log says how to replace it: {log}");

    // The next start reuses it.
    let server = Server::start(&dir, &["--config", config, "serve"]);
    assert_eq!(std::fs::read(&cert_path).unwrap(), first);
    let (clean, log) = server.terminate();
    assert!(clean, "{log}");
    assert!(log.contains("using the self-signed certificate made on first start"), "{log}");

    // Nothing answers on the configured address: exit 1, both schemes named.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let closed = tmp.path().join("closed.toml");
    std::fs::write(&closed, format!("version = 1\n[server]\nlisten = \"0.0.0.0:{port}\"\n")).unwrap();
    let out = run(&dir, &["--config", closed.to_str().unwrap(), "healthcheck", "--timeout", "2"], None);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.starts_with(&format!("error: unhealthy: https://127.0.0.1:{port}/healthz: ")), "{err}");
    assert!(err.contains(&format!("; http://127.0.0.1:{port}/healthz: ")), "{err}");
}
