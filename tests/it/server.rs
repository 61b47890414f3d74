//! The server as a whole: probes, the home page, restarts and shutdown.

use crate::support::{Server, data_dir, get, get_with, post, run, stdout};

#[test]
fn demo_serves_health_home_metrics_and_assets() {
    let (_tmp, dir) = data_dir();
    let server = Server::start(&dir, &["demo"]);
    assert!(
        server.banner.iter().any(|l| l.contains("demo data created: org c_esempio with 20 debts")),
        "{:?}",
        server.banner
    );
    let password_line = server.banner.iter().find(|l| l.contains("operator login")).unwrap();
    assert!(password_line.contains("user demo password "), "{password_line}");
    // In English, each address one a browser opens, the simulator's on the next free port.
    let base = &server.base;
    let sim = server.banner[1].strip_prefix("  pagoPA simulator (Node, Checkout, PSPs; demo only): http://127.0.0.1:");
    assert!(sim.is_some_and(|port| port.ends_with('/')), "{:?}", server.banner);
    let sim = server.banner[1].rsplit(' ').next().unwrap().trim_end_matches('/');
    assert_eq!(
        server.banner[3..8],
        [
            "demo data created: org c_esempio with 20 debts".to_owned(),
            format!("  citizen portal: {base}/"),
            format!("  operator area: {base}/operatore"),
            format!(
                "  SIL web services ({base}/ws/pa/) of c_esempio: password Esempio-SIL-1  (public, demo only; a box \
                 demo uses it: mypay demo --upstream {base}/ws/pa/ ...)"
            ),
            format!(
                "  reporting flows from the simulator: mypay --data-dir {} reporting fetch --demo --node {sim}",
                dir.display()
            ),
        ]
    );

    let health = get(&server.url("/healthz"));
    assert_eq!(health.status, 200);
    assert_eq!(health.body, r#"{"status":"ok"}"#);

    let home = get(&server.url("/"));
    assert_eq!(home.status, 200);
    assert!(home.body.contains("<html lang=\"it\">"));
    assert!(home.body.contains("Comune di Esempio"));
    assert_eq!(home.header("x-content-type-options"), Some("nosniff"));
    assert!(home.header("content-security-policy").unwrap().contains("frame-ancestors 'none'"));
    assert_eq!(home.header("referrer-policy"), Some("same-origin"));
    assert_eq!(home.header("strict-transport-security"), None, "plain HTTP never says it (tls.rs: HTTPS does)");

    let css = get(&server.url("/static/mypay.css"));
    assert_eq!(css.status, 200);
    assert_eq!(css.header("content-type"), Some("text/css; charset=utf-8"));
    assert!(css.header("cache-control").unwrap().contains("max-age=31536000"));
    let etag = css.header("etag").unwrap().to_owned();
    let again = get_with(&server.url("/static/mypay.css"), &[("If-None-Match", &etag)]);
    assert_eq!(again.status, 304);
    let bootstrap = get(&server.url("/static/bootstrap-italia/css/bootstrap-italia.used.css"));
    assert_eq!(bootstrap.status, 200);
    assert!(bootstrap.body.contains(".it-header-wrapper"));
    assert_eq!(get(&server.url("/static/../Cargo.toml")).status, 404);

    assert_eq!(get(&server.url("/nessuna-pagina")).status, 404);
    assert_eq!(post(&server.url("/healthz"), "text/plain", b"x").status, 405);
    // A body over the route's limit (the SIL's, 4 MiB) is refused on its declared length, and a
    // request no route takes is answered, without reading the body: a client must read the
    // answer while it sends.
    let too_big = crate::support::push_post(&server.base, "/ws/pa/", &["Content-Type: text/xml"], 5 * 1024 * 1024);
    assert_eq!(too_big.status, 413, "{too_big:?}");
    let nowhere = crate::support::push_post(&server.base, "/", &["Content-Type: text/plain"], 2 * 1024 * 1024);
    assert_eq!(nowhere.status, 405, "{nowhere:?}");

    let metrics = get(&server.url("/metrics"));
    assert_eq!(metrics.status, 200);
    assert!(
        metrics.body.contains(r#"mypay_http_requests_total{route="healthz",method="GET",status="200"} 1"#),
        "{}",
        metrics.body
    );
    assert!(metrics.body.contains(r#"mypay_http_requests_total{route="not_found",method="GET",status="404"}"#));
    assert!(metrics.body.contains("mypay_http_request_duration_seconds_bucket{le=\"+Inf\"}"));
    assert!(metrics.body.contains("mypay_db_size_bytes "));

    let (clean, log) = server.terminate();
    assert!(clean, "{log}");
    assert!(log.contains("stopped"), "{log}");
}

/// `/metrics` answers loopback only by default, reading the client as the front end does: a
/// client's own `X-Forwarded-For` changes nothing, a trusted proxy's names the client. A scraper
/// gets in by address (`metrics.allow`) or by token (`metrics.token`, here from the environment);
/// everyone else gets a 404.
#[test]
fn metrics_answer_loopback_the_allowed_addresses_and_the_token_only() {
    let status = |server: &Server, headers: &[(&str, &str)]| get_with(&server.url("/metrics"), headers).status;
    let (_tmp, dir) = data_dir();
    let server = Server::start(&dir, &["demo"]);
    assert_eq!(status(&server, &[]), 200);
    assert_eq!(status(&server, &[("X-Forwarded-For", "203.0.113.5")]), 200, "not a trusted proxy: ignored");
    drop(server);

    let (tmp, dir) = data_dir();
    let config = tmp.path().join("mypay.toml");
    std::fs::write(
        &config,
        "version = 1\n[server]\ntrusted_proxies = [\"127.0.0.1\"]\n[metrics]\nallow = [\"192.0.2.0/24\"]\n",
    )
    .unwrap();
    let token = "scrape-me-0123456789";
    let server = Server::start_with_env(
        &dir,
        &["--config", config.to_str().unwrap(), "demo"],
        &[("MYPAY_METRICS_TOKEN", token)],
    );
    let bearer = format!("Bearer {token}");
    for (forwarded, authorization, expected) in [
        (None, None, 200),
        (Some("203.0.113.5"), None, 404),
        (Some("192.0.2.77"), None, 200),
        (Some("203.0.113.5"), Some(bearer.as_str()), 200),
        (Some("203.0.113.5"), Some("Bearer scrape-me-0123456780"), 404),
    ] {
        let mut headers = Vec::new();
        headers.extend(forwarded.map(|f| ("X-Forwarded-For", f)));
        headers.extend(authorization.map(|a| ("Authorization", a)));
        assert_eq!(status(&server, &headers), expected, "{headers:?}");
    }
    let refused = get_with(&server.url("/metrics"), &[("X-Forwarded-For", "203.0.113.5")]);
    assert!(!refused.body.contains("mypay_http_requests_total"), "{}", refused.body);
}

#[test]
fn second_start_migrates_nothing_and_loses_nothing() {
    let (_tmp, dir) = data_dir();
    let first = Server::start(&dir, &["demo"]);
    let (clean, log) = first.terminate();
    assert!(clean, "{log}");
    assert!(log.contains("migrations=1"), "{log}");
    // SIGTERM checkpointed the WAL into the main file.
    let wal = dir.join("mypay.db-wal");
    assert!(!wal.exists() || std::fs::metadata(&wal).unwrap().len() == 0);

    let second = Server::start(&dir, &["demo"]);
    assert!(second.banner.iter().any(|l| l.contains("demo data already present")), "{:?}", second.banner);
    assert!(get(&second.url("/")).body.contains("Comune di Esempio"));
    let (clean, log) = second.terminate();
    assert!(clean, "{log}");
    assert!(log.contains("migrations=0"), "{log}");

    let listed = run(&dir, &["debt", "list", "--org", "c_esempio", "--json"], None);
    let debts: serde_json::Value = serde_json::from_str(&stdout(&listed)).unwrap();
    assert_eq!(debts.as_array().unwrap().len(), 20);
    let operators = run(&dir, &["operator", "list", "--json"], None);
    assert_eq!(serde_json::from_str::<serde_json::Value>(&stdout(&operators)).unwrap().as_array().unwrap().len(), 1);
}

#[test]
fn sigterm_lets_in_flight_requests_finish() {
    let (_tmp, dir) = data_dir();
    let server = Server::start(&dir, &["demo"]);
    let url = server.url("/");
    // Requests racing the signal either complete with 200 or find the listener closed; none may
    // be cut off half-way with a broken response.
    let clients: Vec<_> = (0..8)
        .map(|_| {
            let url = url.clone();
            std::thread::spawn(move || {
                let mut ok = 0;
                for _ in 0..20 {
                    let agent: ureq::Agent = ureq::Agent::config_builder()
                        .http_status_as_error(false)
                        .timeout_global(Some(std::time::Duration::from_secs(5)))
                        .build()
                        .into();
                    match agent.get(&url).call() {
                        Ok(mut res) => {
                            assert_eq!(res.status().as_u16(), 200);
                            assert!(res.body_mut().read_to_string().unwrap().contains("</html>"));
                            ok += 1;
                        }
                        Err(_) => break,
                    }
                }
                ok
            })
        })
        .collect();
    std::thread::sleep(std::time::Duration::from_millis(50));
    let (clean, log) = server.terminate();
    let answered: usize = clients.into_iter().map(|c| c.join().unwrap()).sum();
    assert!(clean, "{log}");
    assert!(answered > 0);
}

#[test]
fn production_serve_refuses_incomplete_configuration() {
    let (tmp, dir) = data_dir();
    // An empty file: the defaults, whether or not /etc/mypay/mypay.toml exists on this machine.
    let empty = tmp.path().join("empty.toml");
    std::fs::write(&empty, "").unwrap();
    let out = run(&dir, &["--config", empty.to_str().unwrap(), "serve", "--listen", "127.0.0.1:0"], None);
    assert_eq!(out.status.code(), Some(2));
    let err = crate::support::stderr(&out);
    assert!(err.contains("server.public_url: is required"), "{err}");
    assert!(err.contains("station.broker_id: is required"), "{err}");
    assert!(err.contains("node.base_url: is required"), "{err}");
    assert!(err.contains("station.node_auth: is required"), "a station open to anyone is refused: {err}");
    assert!(!dir.join("mypay.db").exists(), "nothing may be created before the configuration is valid");
}

#[test]
fn production_serve_starts_with_a_complete_configuration() {
    let (tmp, dir) = data_dir();
    let config = tmp.path().join("mypay.toml");
    std::fs::write(
        &config,
        "version = 1\n[server]\npublic_url = \"https://pagamenti.example.it\"\n[station]\nbroker_id = \"01234567897\"\n\
         station_id = \"01234567897_01\"\nnode_auth = \"proxy\"\nnode_addresses = [\"192.0.2.10\"]\n\
         [node]\nbase_url = \"https://api.example.it\"\n[tls]\nmode = \"off\"\n",
    )
    .unwrap();
    let out = run(&dir, &["--config", config.to_str().unwrap(), "config", "check"], None);
    assert!(
        crate::support::stdout(&out).contains(
            "pagoPA Node authentication on /ws/fesp/: a reverse proxy that authenticates the Node, calling from 192.0.2.10"
        ),
        "{}",
        crate::support::stdout(&out)
    );
    let server = Server::start(&dir, &["--config", config.to_str().unwrap(), "serve"]);
    assert!(server.base.starts_with("http://"), "tls.mode = off serves plain HTTP");
    // Only the proxy may call the station: anyone else is refused before the body is read.
    let forged = crate::station::send_rt_req("301000000000000144", "01000000000000144", 1, "f0", true);
    let refused = crate::support::post(&server.url("/ws/fesp/"), "text/xml", forged.as_bytes());
    assert_eq!((refused.status, refused.body.as_str()), (403, "this endpoint answers the pagoPA Node only\n"));
    assert_eq!(crate::support::post(&server.url("//ws/fesp"), "text/xml", b"<x/>").status, 403);
    let first_ok = std::time::Instant::now();
    assert_eq!(get(&server.url("/healthz")).status, 200);
    eprintln!("start to first /healthz 200: {:?}", first_ok.duration_since(server.started));
    // No demo data in production: the home page says nobody accepts payments yet.
    assert!(get(&server.url("/")).body.contains("Nessun ente accetta pagamenti"));
    let (clean, log) = server.terminate();
    assert!(clean, "{log}");
}

/// A demo that cannot listen says why and what to do, and creates nothing: the operator's password,
/// shown only when the demo data is created, is not made and lost.
#[test]
fn a_demo_on_a_taken_port_says_so_and_creates_nothing() {
    let (_tmp, dir) = data_dir();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let out = run(&dir, &["demo", "--listen", &format!("127.0.0.1:{port}")], None);
    assert_eq!(out.status.code(), Some(1));
    let err = crate::support::stderr(&out);
    assert!(err.contains(&format!("error: cannot listen on 127.0.0.1:{port}: ")), "{err}");
    assert!(err.ends_with(" (another mypay on that port? choose another address with --listen)\n"), "{err}");
    assert_eq!(stdout(&run(&dir, &["org", "list", "--json"], None)), "[]\n");

    // The simulator's port (the next one) taken: the same.
    let (free, next) = loop {
        let first = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = first.local_addr().unwrap().port();
        if let Ok(next) = std::net::TcpListener::bind(("127.0.0.1", port + 1)) {
            break (port, next);
        }
    };
    let out = run(&dir, &["demo", "--listen", &format!("127.0.0.1:{free}")], None);
    assert_eq!(out.status.code(), Some(1));
    let err = crate::support::stderr(&out);
    assert!(err.contains(&format!("node simulator cannot listen on 127.0.0.1:{}: ", free + 1)), "{err}");
    assert!(
        err.ends_with(
            " (the demo's pagoPA simulator takes the port after mypay's: free it, or choose another with --listen)\n"
        ),
        "{err}"
    );
    assert_eq!(stdout(&run(&dir, &["org", "list", "--json"], None)), "[]\n");
    drop((taken, next));
}
