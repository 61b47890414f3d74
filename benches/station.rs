//! Station benchmark: paVerifyPaymentNotice and paGetPaymentV2 at concurrency 32 over loopback, and
//! end-to-end payments (verify → getPaymentV2 → sendRTV2, what the Node does for one payment).
//! Prints requests/s and p50/p99 latencies; never fails on timing. Run: `cargo bench --bench station`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use std::sync::Arc;
use std::time::{Duration, Instant};

#[path = "support/load.rs"]
mod load;
use load::{CONCURRENCY, Demo, ORG, get_payment, load, load_with, send_rt, verify};

fn call(agent: &ureq::Agent, url: &str, action: &str, body: &str) -> Option<Duration> {
    call_expecting(agent, url, action, body, "<outcome>OK</outcome>")
}

fn call_expecting(agent: &ureq::Agent, url: &str, action: &str, body: &str, expected: &str) -> Option<Duration> {
    let started = Instant::now();
    let sent = agent.post(url).header("SOAPAction", action).header("Content-Type", "text/xml").send(body.as_bytes());
    match sent.and_then(|mut res| res.body_mut().read_to_string()) {
        Ok(text) if text.contains(expected) => Some(started.elapsed()),
        Ok(text) => {
            load::show_first_unexpected(action, &text);
            None
        }
        Err(err) => {
            load::show_first_unexpected(action, &err.to_string());
            None
        }
    }
}

fn main() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let n_payments: usize = std::env::var("BENCH_PAYMENTS").ok().and_then(|v| v.parse().ok()).unwrap_or(3200);
    let n_sim_payments = n_payments / 2;

    // Seed the demo and enough open debts for the payment run, before the server starts.
    let seeding = Instant::now();
    let debts = load::seed_payable(&data, "BENCH", n_payments + n_sim_payments);
    println!("seeded {} debts in {:.2} s", debts.len(), seeding.elapsed().as_secs_f64());

    // The verify run over HTTPS with keep-alive first (the TLS front end; verify changes nothing),
    // then everything over plain HTTP.
    let debts = Arc::new(debts);
    let n_verify = 500;
    let https = tls_demo(tmp.path(), &data);
    let url = format!("{}/ws/fesp/", https.base);
    println!("station at {url}, {CONCURRENCY} clients, release build");
    let (u, d) = (url.clone(), Arc::clone(&debts));
    load_with(20, tls_agent, move |t, i, a| {
        call(a, &u, "paVerifyPaymentNotice", &verify(&d[(t * 20 + i) % d.len()].0))
    });
    let (u, d) = (url.clone(), Arc::clone(&debts));
    load_with(n_verify, tls_agent, move |t, i, a| {
        call(a, &u, "paVerifyPaymentNotice", &verify(&d[(t * n_verify + i) % d.len()].0))
    })
    .print("paVerifyPaymentNotice over TLS", "req");
    https.stop();

    let demo = Demo::start(&data);
    let sim = demo.simulator.clone();
    let url = format!("{}/ws/fesp/", demo.base);
    println!("station at {url}, {CONCURRENCY} clients, release build");

    let (u, d) = (url.clone(), Arc::clone(&debts));
    load(20, move |t, i, a| call(a, &u, "paVerifyPaymentNotice", &verify(&d[(t * 20 + i) % d.len()].0))); // warm-up
    let (u, d) = (url.clone(), Arc::clone(&debts));
    load(n_verify, move |t, i, a| call(a, &u, "paVerifyPaymentNotice", &verify(&d[(t * n_verify + i) % d.len()].0)))
        .print("paVerifyPaymentNotice", "req");
    let (u, d) = (url.clone(), Arc::clone(&debts));
    load(n_verify, move |_, _, a| {
        call_expecting(a, &u, "paVerifyPaymentNotice", &verify("000000000000000000"), "PAA_PAGAMENTO_SCONOSCIUTO")
    })
    .print("paVerifyPaymentNotice (Stand-In probe)", "req");
    let _ = d;
    let (u, d) = (url.clone(), Arc::clone(&debts));
    load(n_verify, move |t, i, a| call(a, &u, "paGetPaymentV2", &get_payment(&d[(t * n_verify + i) % d.len()].0)))
        .print("paGetPaymentV2", "req");

    let per_thread = n_payments / CONCURRENCY;
    let (u, d) = (url.clone(), Arc::clone(&debts));
    load(per_thread, move |t, i, a| {
        let started = Instant::now();
        let (notice, iuv) = &d[t * per_thread + i];
        call(a, &u, "paVerifyPaymentNotice", &verify(notice))?;
        call(a, &u, "paGetPaymentV2", &get_payment(notice))?;
        call(a, &u, "paSendRTV2", &send_rt(notice, iuv, "12.34", &format!("{:032x}", t * 1_000_000 + i)))?;
        Some(started.elapsed())
    })
    .print("end-to-end payment (verify+get+sendRT)", "pay");

    // The same through the simulator: a PSP counter payment is verify, activation, receipt
    // building and paSendRT delivery by the simulated Node.
    let per_thread = n_sim_payments / CONCURRENCY;
    let d = Arc::clone(&debts);
    load(per_thread, move |t, i, a| {
        let started = Instant::now();
        let (notice, _) = &d[n_payments + t * per_thread + i];
        let body = format!(r#"{{"fiscalCode":"{ORG}","noticeNumber":"{notice}"}}"#);
        let answer = a
            .post(format!("{sim}/sim/psp/pay"))
            .header("Content-Type", "application/json")
            .send(body.as_bytes())
            .map_err(|err| err.to_string())
            .and_then(|mut res| res.body_mut().read_to_string().map_err(|err| err.to_string()));
        match answer {
            Ok(text) if text.contains("\"outcome\":\"OK\"") => Some(started.elapsed()),
            Ok(text) | Err(text) => {
                load::show_first_unexpected("the simulator's /sim/psp/pay", &text);
                None
            }
        }
    })
    .print("simulated PSP payment (via node simulator)", "pay");

    demo.stop();
}

/// Where the HTTPS run's self-signed certificate is, for [`tls_agent`] (a plain `fn`).
static TLS_CERT: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();

/// The demo over HTTPS, with a certificate from `mypay cert self-signed`.
fn tls_demo(tmp: &std::path::Path, data: &std::path::Path) -> Demo {
    let pki = tmp.join("pki");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_mypay"))
        .args(["cert", "self-signed", "--common-name", "localhost", "--san", "127.0.0.1", "--days", "2"])
        .arg("--out-dir")
        .arg(&pki)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    TLS_CERT.set(std::fs::read(pki.join("cert.pem")).unwrap()).unwrap();
    let config = tmp.join("mypay-tls.toml");
    let text = format!(
        "version = 1\n[tls]\ncert = \"{}\"\nkey = \"{}\"\n",
        pki.join("cert.pem").display(),
        pki.join("key.pem").display()
    );
    std::fs::write(&config, text).unwrap();
    Demo::start_with(data, &["--config", config.to_str().unwrap()])
}

/// A keep-alive HTTPS client trusting the demo's certificate only.
fn tls_agent() -> ureq::Agent {
    use ureq::tls::{Certificate, RootCerts, TlsConfig};
    let root = Certificate::from_pem(TLS_CERT.get().unwrap()).unwrap().to_owned();
    let tls = TlsConfig::builder().root_certs(RootCerts::new_with_certs(&[root])).build();
    ureq::Agent::config_builder().tls_config(tls).http_status_as_error(false).build().into()
}
