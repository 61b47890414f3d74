//! Long work beside live work: commands that only read answer while another process holds the
//! database's writer, and those that write wait for it saying so.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::support::{add_milano, bin, data_dir, run, stderr, stdout};

fn mypay(dir: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(bin());
    cmd.arg("--data-dir").arg(dir).args(args).env_remove("MYPAY_CONFIG").env_remove("MYPAY_DATA_DIR");
    cmd
}

/// Waits for `child` to exit, failing the test past `cap` (a generous bound: only a hang fails);
/// returns its output and how long it took.
fn wait_capped(mut child: Child, cap: Duration, what: &str) -> (Output, Duration) {
    let started = Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            return (child.wait_with_output().unwrap(), started.elapsed());
        }
        if started.elapsed() > cap {
            let _ = child.kill();
            panic!("{what} did not end within {cap:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn json(out: &Output) -> serde_json::Value {
    assert!(out.status.success(), "stdout: {}\nstderr: {}", stdout(out), stderr(out));
    serde_json::from_str(&stdout(out)).unwrap()
}

#[test]
fn reads_answer_and_writes_wait_while_another_process_holds_the_writer() {
    let (_tmp, dir) = data_dir();
    add_milano(&dir);
    // Another process in a long write transaction, as a large import is.
    let other = rusqlite::Connection::open(dir.join("mypay.db")).unwrap();
    other.execute_batch("BEGIN IMMEDIATE; UPDATE org SET name = name;").unwrap();
    let reads: [&[&str]; 4] = [
        &["import", "--org", "c_f205", "--list", "--json"],
        &["org", "list", "--json"],
        &["org", "show", "c_f205", "--json"],
        &["debt", "list", "--org", "c_f205", "--json"],
    ];
    for args in reads {
        let child = mypay(&dir, args).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
        let (out, took) = wait_capped(child, Duration::from_secs(30), &format!("{args:?}"));
        println!("{args:?} answered in {took:?} while the writer was held");
        json(&out);
    }

    // A command that writes waits, says so on stderr, and goes on once the writer is free.
    let mut child = mypay(
        &dir,
        &["debt-type", "add", "--org", "c_f205", "--code", "TARI", "--description", "Tari", "--taxonomy", "0101002IM"],
    )
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    let (lines_tx, lines) = std::sync::mpsc::channel();
    let err = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(err).lines() {
            let _ = lines_tx.send(line.unwrap());
        }
    });
    let waiting = lines.recv_timeout(Duration::from_secs(30)).expect("a waiting message within 30 s");
    assert!(waiting.starts_with("waiting for the database: another mypay process is writing"), "{waiting}");
    other.execute_batch("COMMIT").unwrap();
    let (out, took) = wait_capped(child, Duration::from_secs(30), "the waiting write");
    println!("the write ended {took:?} after the writer was released");
    reader.join().unwrap();
    assert!(out.status.success(), "{}", stdout(&out));
    let types = json(&run(&dir, &["debt-type", "list", "--org", "c_f205", "--json"], None));
    assert_eq!(types.as_array().unwrap().len(), 1);

    // A database older than this binary: a read says who must upgrade it, and changes nothing.
    let db = rusqlite::Connection::open(dir.join("mypay.db")).unwrap();
    db.pragma_update(None, "user_version", mypay::testing::store::SCHEMA_VERSION - 1).unwrap();
    let out = run(&dir, &["org", "list"], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("to upgrade it first"), "{}", stderr(&out));
    let version: i64 = db.query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
    assert_eq!(version, mypay::testing::store::SCHEMA_VERSION - 1);
}
