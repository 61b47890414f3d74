//! The whole benchmark suite in one command, `cargo bench --bench all`: runs the `import`,
//! `export`, `station` and `notices` benchmarks (each with its own output shown as it runs),
//! measures the server's start time and idle memory itself, and prints one table.
//!
//! Row counts follow the benchmarks' own variables (`MYPAY_BENCH_ROWS` for the import,
//! `BENCH_RECEIPTS` for the export, `BENCH_PAYMENTS` for the station). Prints figures and never
//! fails on timing; a figure a benchmark did not print shows as `n/a`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// One benchmark's printed lines.
struct Output {
    lines: Vec<String>,
}

impl Output {
    /// The line containing `marker`, if the benchmark printed one.
    fn line(&self, marker: &str) -> Option<&str> {
        self.lines.iter().map(String::as_str).find(|l| l.contains(marker))
    }

    /// The number just before `unit` on the line containing `marker` (`12345 rows/s`).
    fn before(&self, marker: &str, unit: &str) -> Option<f64> {
        let line = self.line(marker)?;
        let head = &line[..line.find(unit)?];
        head.split(|c: char| c.is_whitespace() || c == '(' || c == '=').rfind(|w| !w.is_empty())?.parse().ok()
    }

    /// The number just after `label` on the line containing `marker` (`p99 1.23 ms`).
    fn after(&self, marker: &str, label: &str) -> Option<f64> {
        let line = self.line(marker)?;
        let tail = &line[line.find(label)? + label.len()..];
        tail.split_whitespace().next()?.parse().ok()
    }
}

/// Runs `cargo bench --bench NAME`, echoing its output, and keeps its lines.
fn run_bench(name: &str) -> Output {
    println!("\n== cargo bench --bench {name}");
    let mut child = Command::new(env!("CARGO"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["bench", "--quiet", "--bench", name])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|err| panic!("cannot run cargo: {err}"));
    let mut lines = Vec::new();
    for line in BufReader::new(child.stdout.take().unwrap()).lines().map_while(Result::ok) {
        println!("{line}");
        lines.push(line);
    }
    let status = child.wait().unwrap();
    if !status.success() {
        println!("(the {name} benchmark exited with {status})");
    }
    Output { lines }
}

/// Start time (spawn to the first `/healthz` 200) and resident memory after a few idle seconds of
/// a production `serve` on an empty database, plain HTTP on loopback.
fn start_and_idle() -> (Duration, f64) {
    let tmp = tempfile::tempdir().unwrap();
    let config = tmp.path().join("mypay.toml");
    std::fs::write(
        &config,
        "version = 1\n[server]\nlisten = \"127.0.0.1:0\"\npublic_url = \"https://pagamenti.example.it\"\n\
         [station]\nbroker_id = \"01234567897\"\nstation_id = \"01234567897_01\"\n\
         [node]\nbase_url = \"https://api.example.it\"\nreporting_interval_minutes = 0\n[tls]\nmode = \"off\"\n",
    )
    .unwrap();
    let started = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_mypay"))
        .arg("--config")
        .arg(&config)
        .arg("--data-dir")
        .arg(tmp.path().join("data"))
        .arg("serve")
        .env("MYPAY_LOG_LEVEL", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    std::thread::spawn(move || for _ in lines {});
    let url = format!("{}/healthz", first.rsplit(' ').next().unwrap());
    let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
    let up = loop {
        if agent.get(&url).call().is_ok_and(|r| r.status() == 200) {
            break started.elapsed();
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    for _ in 0..20 {
        let _ = agent.get(&url).call();
    }
    std::thread::sleep(Duration::from_secs(3));
    let status = std::fs::read_to_string(format!("/proc/{}/status", child.id())).unwrap_or_default();
    let rss_kib: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0.0);
    let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
    let _ = child.wait();
    (up, rss_kib / 1024.0)
}

fn figure(value: Option<f64>, decimals: usize) -> String {
    value.map_or_else(|| "n/a".to_owned(), |v| format!("{v:.decimals$}"))
}

fn main() {
    let started = Instant::now();
    let (start, rss) = start_and_idle();
    let import = run_bench("import");
    let export = run_bench("export");
    let station = run_bench("station");
    let notices = run_bench("notices");

    let rows = [
        ("import: mypay import, rows/s (layout 1_4, end to end)", figure(import.before("mypay import:", "rows/s"), 0)),
        ("import: sqlite3 .import of the same CSV, rows/s", figure(import.before("sqlite3 .import", "rows/s"), 0)),
        ("import: peak RSS, MB", figure(import.before("peak RSS", "MB"), 1)),
        ("export: receipts layout 1.3, rows/s", figure(export.before("mypay export 1.3:", "rows/s"), 0)),
        ("station: paVerifyPaymentNotice, req/s at 32", figure(station.before("paVerifyPaymentNotice ", "req/s"), 0)),
        ("station: paVerifyPaymentNotice, p99 ms", figure(station.after("paVerifyPaymentNotice ", "p99"), 2)),
        ("station: paGetPaymentV2, req/s at 32", figure(station.before("paGetPaymentV2", "req/s"), 0)),
        ("station: paGetPaymentV2, p99 ms", figure(station.after("paGetPaymentV2", "p99"), 2)),
        ("station: verify+get+sendRT payments/s", figure(station.before("end-to-end payment", "pay/s"), 0)),
        ("notices: PDF notices/s on one core", figure(notices.before("notice (plain)", "notices/s"), 0)),
        ("notices: with Poste bollettino, notices/s", figure(notices.before("notice (postal)", "notices/s"), 0)),
        ("server: idle RSS, MB", format!("{rss:.1}")),
        ("server: start to first /healthz 200, ms", format!("{:.0}", start.as_secs_f64() * 1e3)),
    ];
    let count = |var: &str, default: &str| std::env::var(var).unwrap_or_else(|_| default.to_owned());
    println!("\n== mypay benchmarks (release build, {} s in all)", started.elapsed().as_secs());
    println!(
        "import {} rows (MYPAY_BENCH_ROWS), export {} receipts (BENCH_RECEIPTS), station {} payments \
         (BENCH_PAYMENTS)\n",
        count("MYPAY_BENCH_ROWS", "1000000"),
        count("BENCH_RECEIPTS", "1000000"),
        count("BENCH_PAYMENTS", "3200")
    );
    let width = rows.iter().map(|(label, _)| label.chars().count()).max().unwrap_or(0);
    println!("| {:<width$} | {:>10} |", "figure", "value");
    println!("|{}|{}|", "-".repeat(width + 2), "-".repeat(12));
    for (label, value) in rows {
        println!("| {label:<width$} | {value:>10} |");
    }
}
