//! REST API benchmark: creating debts (`POST /api/v1/orgs/{ipa}/debts`, one transaction and its
//! audit entry each) and reading them back by IUD, at concurrency 32 over loopback with a bearer
//! token. Prints requests/s and p50/p99 latencies; never fails on timing. Run:
//! `cargo bench --bench api` (`BENCH_CALLS` per client thread, default 200).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use std::time::{Duration, Instant};

use mypay::testing::store::Db;

#[path = "support/load.rs"]
mod load;
use load::{CONCURRENCY, Demo, load};

fn debt(iud: &str) -> String {
    serde_json::json!({
        "iud": iud, "debt_type": "TARI", "generate_iuv": true,
        "debtor": {"kind": "F", "id": "RSSMRA85T10A562S", "name": "Mario Rossi"},
        "amount": "120.50", "due_date": "2099-03-31", "causale": "TARI bench",
    })
    .to_string()
}

fn expect(
    res: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
    status: u16,
    started: Instant,
) -> Option<Duration> {
    let mut res = res.ok()?;
    let ok = res.status().as_u16() == status;
    let _ = res.body_mut().read_to_vec();
    ok.then(|| started.elapsed())
}

fn main() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let n_calls: usize = std::env::var("BENCH_CALLS").ok().and_then(|v| v.parse().ok()).unwrap_or(200);
    let (db, _) = Db::open(&data.join("mypay.db")).unwrap();
    let now = mypay::testing::clock::Now::read();
    mypay::testing::services::demo::seed(&db, now).unwrap();
    let (_, token) =
        mypay::testing::services::admin::api_tokens::create_token(&db, "bench", "c_esempio", "bench", now).unwrap();
    drop(db);

    let demo = Demo::start(&data);
    let base = demo.base.clone();
    let debts = format!("{base}/api/v1/orgs/c_esempio/debts");
    let auth = format!("Bearer {token}");
    println!("REST API at {debts}, {CONCURRENCY} clients");

    let (u, a) = (debts.clone(), auth.clone());
    load(5, move |t, i, agent| {
        let started = Instant::now();
        let res = agent.post(&u).header("Authorization", &a).header("Content-Type", "application/json");
        expect(res.send(debt(&format!("WARM-{t}-{i}")).as_bytes()), 201, started)
    });
    let (u, a) = (debts.clone(), auth.clone());
    load(n_calls, move |t, i, agent| {
        let started = Instant::now();
        let res = agent.post(&u).header("Authorization", &a).header("Content-Type", "application/json");
        expect(res.send(debt(&format!("B-{t:02}-{i:06}")).as_bytes()), 201, started)
    })
    .print("POST debts (create)", "req");
    let (u, a) = (debts.clone(), auth.clone());
    load(n_calls, move |t, i, agent| {
        let started = Instant::now();
        expect(agent.get(format!("{u}/B-{t:02}-{i:06}")).header("Authorization", &a).call(), 200, started)
    })
    .print("GET debts/{iud} (status)", "req");

    demo.stop();
}
