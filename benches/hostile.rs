//! What hostile input costs the server: the time a release `mypay demo` takes to refuse each of
//! the hardening issue's attacks (tests/it/hostile.rs asserts what they do, never how long), and
//! whether it still answers at once afterwards. Prints figures; never fails on timing.
//! Run with `cargo bench --bench hostile`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

#[path = "support/load.rs"]
mod load;
use load::Demo;

const ROUNDS: usize = 10;

/// Median and max of `ROUNDS` runs of `f`.
fn time(what: &str, f: impl FnMut() -> String) {
    time_n(what, ROUNDS, f);
}

/// Median and max of `rounds` runs of `f`.
fn time_n(what: &str, rounds: usize, mut f: impl FnMut() -> String) {
    let mut took = Vec::with_capacity(rounds);
    let mut outcome = String::new();
    for _ in 0..rounds {
        let started = Instant::now();
        outcome = f();
        took.push(started.elapsed());
    }
    took.sort();
    println!(
        "  {what:<58} median {:>8.2} ms  max {:>8.2} ms  ({outcome})",
        took[rounds / 2].as_secs_f64() * 1e3,
        took[rounds - 1].as_secs_f64() * 1e3
    );
}

/// POSTs `body` to `path` and reads the answer's status line.
fn post(base: &str, path: &str, action: &str, body: &[u8]) -> String {
    let addr = base.trim_start_matches("http://");
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: text/xml\r\nSOAPAction: {action}\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(body);
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    String::from_utf8_lossy(&answer).lines().next().unwrap_or("no answer").to_owned()
}

fn envelope(payload: &str) -> String {
    format!(
        "<soapenv:Envelope xmlns:soapenv=\"http://schemas.xmlsoap.org/soap/envelope/\" \
         xmlns:paf=\"http://pagopa-api.pagopa.gov.it/pa/paForNode.xsd\"><soapenv:Body>{payload}</soapenv:Body></soapenv:Envelope>"
    )
}

fn main() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let _ = load::seed_payable(&data, "HOSTILE", 1);
    let demo = Demo::start(&data);
    let base = demo.base.clone();
    println!("hostile: what each attack costs a release mypay demo at {base}");

    // The quadratic-parser case: one element with 40,000 attributes (277 KB).
    let attrs: String = (0..40_000).map(|i| format!(" a{i}=\"1\"")).collect();
    let wide = envelope(&format!("<paf:paVerifyPaymentNoticeReq{attrs}/>"));
    time(&format!("station: one element with 40,000 attributes ({} KB)", wide.len() / 1000), || {
        post(&base, "/ws/fesp/", "paVerifyPaymentNotice", wide.as_bytes())
    });
    time("SIL: the same document", || post(&base, "/ws/pa/", "paaSILChiediPosizioniAperte", wide.as_bytes()));
    let deep = envelope(&format!("{}{}", "<a>".repeat(50_000), "</a>".repeat(50_000)));
    time("station: 50,000 nested elements", || post(&base, "/ws/fesp/", "paVerifyPaymentNotice", deep.as_bytes()));
    let many =
        envelope(&format!("<paf:paVerifyPaymentNoticeReq>{}</paf:paVerifyPaymentNoticeReq>", "<x/>".repeat(100_000)));
    time("station: 100,000 elements", || post(&base, "/ws/fesp/", "paVerifyPaymentNotice", many.as_bytes()));
    let big = vec![b'x'; 2 * 1024 * 1024];
    time("station: a 2 MiB body (over the 1 MiB limit)", || post(&base, "/ws/fesp/", "paVerifyPaymentNotice", &big));

    // An upload with no credentials: refused on its head, whatever the body.
    let upload = vec![0u8; 50 * 1024 * 1024];
    time("API: 50 MiB import upload without a token", || post(&base, "/api/v1/orgs/c_esempio/imports", "", &upload));

    // A slow client: half a request head, then nothing.
    time_n("a client that sends half a head and waits: answered after", 3, || {
        let mut stream = TcpStream::connect(base.trim_start_matches("http://")).unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(120))).unwrap();
        stream.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n").unwrap();
        let mut buf = Vec::new();
        let _ = stream.read_to_end(&mut buf);
        String::from_utf8_lossy(&buf).lines().next().unwrap_or("closed").to_owned()
    });

    // Many idle connections, then a real request from the same address: its per-address budget
    // is spent, so it is refused at once (another address would be served).
    let idle: Vec<TcpStream> =
        (0..2_000).filter_map(|_| TcpStream::connect(base.trim_start_matches("http://")).ok()).collect();
    let opened = idle.len();
    time(&format!("healthz from the address holding {opened} idle connections"), || {
        let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
        agent.get(format!("{base}/healthz")).call().map(|r| r.status().to_string()).unwrap_or_else(|e| e.to_string())
    });
    drop(idle);

    // Import bombs: a 1 MB ZIP holding a 1 GiB line; applied by the running server.
    let stem = "c_esempio-BOMBA-1_4";
    let zip_path = tmp.path().join(format!("{stem}.zip"));
    {
        let mut zip = load::flow_zip(&zip_path, stem);
        zip.write_all(load::HEADER_1_4.as_bytes()).unwrap();
        zip.write_all(b"\n").unwrap();
        let block = vec![b'a'; 1 << 20];
        for _ in 0..1024 {
            zip.write_all(&block).unwrap();
        }
        zip.finish().unwrap();
    }
    let started = Instant::now();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_mypay"))
        .arg("--data-dir")
        .arg(&data)
        .args(["import", zip_path.to_str().unwrap(), "--org", "c_esempio", "--wait", "--json"])
        .env_remove("MYPAY_DATA_DIR")
        .env_remove("MYPAY_CONFIG")
        .output()
        .unwrap();
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
    println!(
        "  {:<58} {:>8.2} ms  ({} {})",
        format!(
            "import: a {} KB ZIP holding a 1 GiB line, refused in",
            std::fs::metadata(&zip_path).unwrap().len() / 1000
        ),
        started.elapsed().as_secs_f64() * 1e3,
        summary["state"],
        summary["error_code"]
    );
    demo.stop();
}
