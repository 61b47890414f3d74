//! Payments during a bulk import: a 1,000,000-row 1_4 flow (no generated IUVs, so no notices) is
//! applied by a running `mypay demo` while 8 clients pay notices through the station at a fixed
//! offered load of 50 payments/s in all (paGetPaymentV2 then paSendRTV2, what the Node sends for a
//! payment). Prints the station's p50/p99/max latency during the import (targets: p99 < 300 ms,
//! max < 1 s) and the import's own rows/s. Never fails on timing.
//! Run with `cargo bench --bench import_live`; `MYPAY_BENCH_ROWS` changes the row count.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use std::io::Write;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[path = "support/load.rs"]
mod load;
use load::{Demo, get_payment, send_rt};

const CLIENTS: usize = 8;
const PAYMENTS_PER_SECOND: f64 = 50.0;

/// One station call: how long it took, and whether the answer was OK (a call that timed out
/// counts with the time it waited: that is what the Node sees).
fn call(agent: &ureq::Agent, url: &str, action: &str, body: &str) -> (Duration, bool) {
    let started = Instant::now();
    let sent = agent.post(url).header("SOAPAction", action).header("Content-Type", "text/xml").send(body.as_bytes());
    let ok =
        sent.and_then(|mut res| res.body_mut().read_to_string()).is_ok_and(|t| t.contains("<outcome>OK</outcome>"));
    (started.elapsed(), ok)
}

fn main() {
    let rows: usize = std::env::var("MYPAY_BENCH_ROWS").ok().and_then(|v| v.parse().ok()).unwrap_or(1_000_000);
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");

    // The demo org, and the notices the clients pay, before the server starts.
    let notices = load::seed_payable(&data, "PAY", 6000);

    let stem = "c_esempio-LIVE-1_4";
    let zip_path = tmp.path().join(format!("{stem}.zip"));
    {
        let mut zip = load::flow_zip(&zip_path, stem);
        let mut chunk = String::with_capacity(1 << 20);
        chunk.push_str(load::HEADER_1_4);
        chunk.push('\n');
        for i in 0..rows {
            use std::fmt::Write as _;
            let _ = writeln!(
                chunk,
                "LIVE-{i:09};;F;RSSMRA85T10A562S;Mario Rossi {i};Via Roma;{};20100;Milano;MI;IT;m{i}@example.it;\
                 2099-12-31;{}.{:02};;TARI;;TARI 2099 rata {i};9/0101002IM/;;false;false;;;;;;;;;;;;;I",
                i % 200 + 1,
                i % 1000 + 1,
                i % 100
            );
            if chunk.len() > (1 << 20) - 1024 || i + 1 == rows {
                zip.write_all(chunk.as_bytes()).unwrap();
                chunk.clear();
            }
        }
        zip.finish().unwrap();
    }

    let demo = Demo::start(&data);
    let url = format!("{}/ws/fesp/", demo.base);
    println!("import_live: {rows} rows of 1_4 while {CLIENTS} clients pay at {PAYMENTS_PER_SECOND} payments/s");

    // The payers: each client pays one notice every CLIENTS / rate seconds, on a fixed schedule
    // (a slow answer does not lower the offered load: the next payment starts on time).
    let running = Arc::new(AtomicBool::new(true));
    let latencies = Arc::new(Mutex::new(Vec::<Duration>::new()));
    let errors = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let notices = Arc::new(notices);
    let period = Duration::from_secs_f64(CLIENTS as f64 / PAYMENTS_PER_SECOND);
    let payers: Vec<_> = (0..CLIENTS)
        .map(|c| {
            let (running, latencies, errors, notices, url) =
                (Arc::clone(&running), Arc::clone(&latencies), Arc::clone(&errors), Arc::clone(&notices), url.clone());
            std::thread::spawn(move || {
                // The Node gives up on a station after about 7 s.
                let agent: ureq::Agent = ureq::Agent::config_builder()
                    .http_status_as_error(false)
                    .timeout_global(Some(Duration::from_secs(8)))
                    .build()
                    .into();
                let start = Instant::now() + period.mul_f64(c as f64 / CLIENTS as f64);
                let mut k = 0usize;
                while running.load(Ordering::Relaxed) {
                    let due = start + period * u32::try_from(k).unwrap();
                    if let Some(wait) = due.checked_duration_since(Instant::now()) {
                        std::thread::sleep(wait);
                    }
                    let Some((notice, iuv)) = notices.get(c + k * CLIENTS) else { break };
                    let token = format!("{:032x}", c * 1_000_000 + k);
                    for (action, body) in
                        [("paGetPaymentV2", get_payment(notice)), ("paSendRTV2", send_rt(notice, iuv, "12.34", &token))]
                    {
                        let (took, ok) = call(&agent, &url, action, &body);
                        latencies.lock().unwrap().push(took);
                        if !ok {
                            errors.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    k += 1;
                }
            })
        })
        .collect();

    // A few seconds of payments alone, for the figures without an import.
    std::thread::sleep(Duration::from_secs(3));
    let mut quiet = std::mem::take(&mut *latencies.lock().unwrap());
    let errors_before = errors.swap(0, Ordering::Relaxed);
    let started = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_mypay"))
        .arg("--data-dir")
        .arg(&data)
        .args(["import", zip_path.to_str().unwrap(), "--org", "c_esempio", "--wait", "--json"])
        .env_remove("MYPAY_DATA_DIR")
        .env_remove("MYPAY_CONFIG")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .output()
        .unwrap();
    let elapsed = started.elapsed();
    let mut during = std::mem::take(&mut *latencies.lock().unwrap());
    running.store(false, Ordering::Relaxed);
    for p in payers {
        let _ = p.join();
    }
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
    demo.stop();

    let print = |what: &str, lat: &mut Vec<Duration>| {
        lat.sort();
        let pct = |p: f64| lat.get(((lat.len() as f64 - 1.0) * p) as usize).copied().unwrap_or_default();
        println!(
            "  {what:<34} {:>6} calls  p50 {:>7.2} ms  p99 {:>7.2} ms  max {:>7.2} ms",
            lat.len(),
            pct(0.5).as_secs_f64() * 1e3,
            pct(0.99).as_secs_f64() * 1e3,
            lat.last().copied().unwrap_or_default().as_secs_f64() * 1e3
        );
    };
    print("station, no import", &mut quiet);
    print("station, during the import", &mut during);
    let offered = (elapsed.as_secs_f64() * PAYMENTS_PER_SECOND * 2.0) as usize;
    println!(
        "  station calls not answered OK (or after 8 s): {errors_before} before, {} during the import; \
         {offered} calls offered during it",
        errors.load(Ordering::Relaxed)
    );
    println!(
        "  import: {} in {:.2} s = {:.0} rows/s (submitted to the server, waited for; loaded {}, rejected {})",
        summary["state"],
        elapsed.as_secs_f64(),
        rows as f64 / elapsed.as_secs_f64(),
        summary["loaded"],
        summary["rejected"]
    );
}
