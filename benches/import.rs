//! End-to-end benchmark of the debt-flow import: a generated 1,000,000-row 1_4 file (half the rows
//! with a generated IUV) imported by the real binary (`mypay import`, in-process run) into a fresh
//! data directory. Prints rows/s, the import process's peak RSS (VmHWM, sampled from
//! /proc/<pid>/status while it runs) and, for reference, the time of `sqlite3`'s `.import` of the
//! same CSV into a plain table ("skipped" when sqlite3 is absent). Never fails on timing.
//! Run with `cargo bench --bench import`; `MYPAY_BENCH_ROWS` changes the row count.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[path = "support/load.rs"]
mod load;

const ORG: &str = "c_f205";
fn mypay(dir: &Path, args: &[&str]) {
    let out = Command::new(env!("CARGO_BIN_EXE_mypay"))
        .arg("--data-dir")
        .arg(dir)
        .args(args)
        .env_remove("MYPAY_DATA_DIR")
        .env_remove("MYPAY_CONFIG")
        .output()
        .unwrap_or_else(|err| panic!("cannot run mypay: {err}"));
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

fn row(out: &mut String, i: usize) {
    use std::fmt::Write as _;
    let generate = if i % 2 == 0 { "true" } else { "false" };
    let _ = writeln!(
        out,
        "BENCH-{i:09};;F;RSSMRA85T10A562S;Mario Rossi {i};Via Roma;{};20100;Milano;MI;IT;m{i}@example.it;\
         2099-12-31;{}.{:02};;TARI;;TARI 2099 rata {i};9/0101002IM/;;{generate};false;;;;;;;;;;;;;I",
        i % 200 + 1,
        i % 1000 + 1,
        i % 100
    );
}

fn vm_hwm_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn main() {
    let rows: usize = std::env::var("MYPAY_BENCH_ROWS").ok().and_then(|v| v.parse().ok()).unwrap_or(1_000_000);
    let tmp = tempfile::tempdir().unwrap_or_else(|err| panic!("tempdir: {err}"));
    let dir = tmp.path().join("data");
    mypay(
        &dir,
        &[
            "org",
            "add",
            ORG,
            "--fiscal-code",
            "01199250158",
            "--name",
            "Comune di Milano",
            "--segregation-code",
            "02",
            "--iban",
            "IT60X0542811101000000123456",
            "--state",
            "ESERCIZIO",
            "--mode",
            "flussi",
        ],
    );
    mypay(
        &dir,
        &[
            "debt-type",
            "add",
            "--org",
            ORG,
            "--code",
            "TARI",
            "--description",
            "Tassa rifiuti",
            "--taxonomy",
            "0101002IM",
            "--due-date-mandatory",
        ],
    );

    let stem = "c_f205-BENCH-1_4";
    let zip_path = tmp.path().join(format!("{stem}.zip"));
    let csv_path = tmp.path().join(format!("{stem}.csv"));
    let started = Instant::now();
    {
        let mut zip = zip::ZipWriter::new(std::fs::File::create(&zip_path).unwrap_or_else(|e| panic!("{e}")));
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .large_file(true);
        zip.start_file(format!("{stem}.csv"), options).unwrap_or_else(|e| panic!("{e}"));
        let mut csv = std::io::BufWriter::new(std::fs::File::create(&csv_path).unwrap_or_else(|e| panic!("{e}")));
        let mut chunk = String::with_capacity(1 << 20);
        chunk.push_str(load::HEADER_1_4);
        chunk.push('\n');
        for i in 0..rows {
            row(&mut chunk, i);
            if chunk.len() > (1 << 20) - 1024 || i + 1 == rows {
                zip.write_all(chunk.as_bytes()).unwrap_or_else(|e| panic!("{e}"));
                csv.write_all(chunk.as_bytes()).unwrap_or_else(|e| panic!("{e}"));
                chunk.clear();
            }
        }
        zip.finish().unwrap_or_else(|e| panic!("{e}"));
        csv.flush().unwrap_or_else(|e| panic!("{e}"));
    }
    let zip_size = std::fs::metadata(&zip_path).map(|m| m.len()).unwrap_or(0);
    let csv_size = std::fs::metadata(&csv_path).map(|m| m.len()).unwrap_or(0);
    println!(
        "import bench: {rows} rows of layout 1_4, CSV {} MB, ZIP {} MB (generated in {:.1} s)",
        csv_size / 1_000_000,
        zip_size / 1_000_000,
        started.elapsed().as_secs_f64()
    );

    let started = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_mypay"))
        .arg("--data-dir")
        .arg(&dir)
        .args(["import", zip_path.to_str().unwrap_or_default(), "--org", ORG, "--json"])
        .env_remove("MYPAY_DATA_DIR")
        .env_remove("MYPAY_CONFIG")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|err| panic!("cannot run mypay: {err}"));
    let pid = child.id();
    let mut peak_kib = 0;
    while child.try_wait().ok().flatten().is_none() {
        peak_kib = peak_kib.max(vm_hwm_kib(pid).unwrap_or(0));
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap_or_else(|e| panic!("{e}"));
    let elapsed = started.elapsed().as_secs_f64();
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
    // A refused or failed import is quick: its time says nothing about importing.
    if !out.status.success() || summary["state"] != "IMPORT_ESEGUITO" {
        println!("  mypay import did not run to its end ({}): no figures", out.status);
        return;
    }
    println!(
        "  mypay import: {:.2} s, {:.0} rows/s end to end (target >= 100000), state {}, loaded {}, rejected {}",
        elapsed,
        rows as f64 / elapsed,
        summary["state"],
        summary["loaded"],
        summary["rejected"]
    );
    println!("  peak RSS of the import process: {:.1} MB (target < 150 MB)", peak_kib as f64 / 1024.0);

    let sqlite = Command::new("sqlite3").arg("-version").output();
    match sqlite {
        Ok(v) if v.status.success() => {
            let db = tmp.path().join("plain.db");
            let script = format!(".mode csv\n.separator ;\n.import {} plain\n", csv_path.display());
            let started = Instant::now();
            let mut child = Command::new("sqlite3")
                .arg(&db)
                .stdin(Stdio::piped())
                .stdout(Stdio::null())
                .spawn()
                .unwrap_or_else(|e| panic!("{e}"));
            if let Some(mut stdin) = child.stdin.take() {
                let _ = stdin.write_all(script.as_bytes());
            }
            let _ = child.wait();
            let reference = started.elapsed().as_secs_f64();
            // The reference counts only if it read every row (a failed `.import` is quick).
            let counted = Command::new("sqlite3")
                .arg(&db)
                .arg("SELECT count(*) FROM plain")
                .output()
                .ok()
                .and_then(|out| String::from_utf8_lossy(&out.stdout).trim().parse::<usize>().ok())
                .unwrap_or(0);
            println!(
                "  sqlite3 .import of the same CSV into a plain table (its columns as text, no index): {reference:.2} s \
                 ({:.0} rows/s, {counted} rows)",
                rows as f64 / reference
            );
            println!("  ratio mypay / sqlite3: {:.2} (target <= 1.5)", elapsed / reference);
        }
        _ => println!("  sqlite3 .import: skipped (sqlite3 not installed)"),
    }
}
