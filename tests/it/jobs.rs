//! Long work beside live work: commands that only read answer while another process holds the
//! database's writer, and those that write wait for it saying so; a server stopped in the middle of
//! a flow's notices exits at once and resumes them after the restart; notices on request
//! (`import.notices = "on-demand"`) from the back office and the CLI.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::backoffice::{demo_password, flow_zip, login, row, wait_for};
use crate::portal::{Browser, csrf};
use crate::support::{Server, add_milano, bin, data_dir, run, stderr, stdout};

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

/// `mypay import --status` of import 1, as JSON.
fn status(dir: &Path, org: &str, config: Option<&Path>) -> serde_json::Value {
    let mut args = Vec::new();
    if let Some(config) = config {
        args.extend(["--config", config.to_str().unwrap()]);
    }
    args.extend(["import", "--org", org, "--status", "1", "--json"]);
    json(&run(dir, &args, None))
}

fn sql_count(dir: &Path, sql: &str) -> i64 {
    let conn = rusqlite::Connection::open(dir.join("mypay.db")).unwrap();
    conn.query_row(sql, [], |r| r.get(0)).unwrap()
}

/// SIGTERM in the middle of a flow's notices: the server exits within seconds, the job is queued
/// again where it stopped without counting an attempt, and the next start finishes the ZIP with
/// every notice once.
#[test]
fn sigterm_during_a_long_notices_job_stops_the_server_at_once_and_the_notices_resume() {
    let (tmp, dir) = data_dir();
    add_milano(&dir);
    let out = run(
        &dir,
        &["debt-type", "add", "--org", "c_f205", "--code", "TARI", "--description", "Tari", "--taxonomy", "0101002IM"],
        None,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    // Every row with a generated IUV, so one notice each.
    let notices = 600u64;
    let rows: Vec<String> = (0..notices).map(|i| row(&format!("AV-{i:05}"), "10.00")).collect();
    let stem = "c_f205-AVVISI-1_4";
    let path = tmp.path().join(format!("{stem}.zip"));
    std::fs::write(&path, flow_zip(stem, &rows)).unwrap();
    let server = Server::start(&dir, &["serve", "--demo"]);
    let out = run(&dir, &["import", path.to_str().unwrap(), "--org", "c_f205", "--wait", "--json"], None);
    assert_eq!(json(&out)["loaded"], notices);
    // The notices are being made: stop the server in the middle.
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let s = status(&dir, "c_f205", None);
        if s["notices"]["state"] == "running" && s["notices"]["done"].as_u64().unwrap_or(0) >= 5 {
            assert_eq!(s["notices"]["total"], notices);
            break;
        }
        assert!(Instant::now() < deadline, "the notices did not start: {s}");
        std::thread::sleep(Duration::from_millis(100));
    }
    let mut server = server;
    let child = &mut server.child;
    let term = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(term.success());
    let stopping = Instant::now();
    let exited = loop {
        if let Some(exit) = child.try_wait().unwrap() {
            break exit;
        }
        assert!(stopping.elapsed() < Duration::from_secs(30), "the server did not stop within 30 s of SIGTERM");
        std::thread::sleep(Duration::from_millis(10));
    };
    println!("SIGTERM to exit during the notices job: {:?}", stopping.elapsed());
    assert!(exited.success());
    drop(server);
    let paused = status(&dir, "c_f205", None);
    assert_eq!(paused["notices"]["state"], "queued", "{paused}");
    let done_before = paused["notices"]["done"].as_u64().unwrap();
    assert!(done_before > 0 && done_before < notices, "{paused}");
    let attempts = "SELECT attempts FROM job WHERE kind = 'import_notices'";
    assert_eq!(sql_count(&dir, attempts), 0, "a stop is not an attempt");

    let server = Server::start(&dir, &["serve", "--demo"]);
    let deadline = Instant::now() + Duration::from_secs(600);
    let done = loop {
        let s = status(&dir, "c_f205", None);
        if s["notices"]["state"] == "ready" {
            break s;
        }
        assert!(Instant::now() < deadline, "the notices did not finish after the restart: {s}");
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(sql_count(&dir, attempts), 1);
    let file = std::fs::File::open(done["notices_file"].as_str().unwrap()).unwrap();
    let mut archive = zip::ZipArchive::new(file).unwrap();
    let mut names: Vec<String> = (0..archive.len()).map(|i| archive.by_index(i).unwrap().name().to_owned()).collect();
    assert_eq!(names.len() as u64, notices);
    names.sort();
    names.dedup();
    assert_eq!(names.len() as u64, notices, "every notice once");
    let (stopped, _) = server.terminate();
    assert!(stopped);
}

#[test]
fn on_demand_notices_are_made_when_an_operator_or_the_cli_asks() {
    let (tmp, dir) = data_dir();
    let config = tmp.path().join("mypay.toml");
    std::fs::write(&config, "[import]\nnotices = \"on-demand\"\n").unwrap();
    let server = Server::start(&dir, &["--config", config.to_str().unwrap(), "serve", "--demo"]);
    let mut browser = Browser::new(&server.base);
    assert_eq!(login(&mut browser, "demo", &demo_password(&server)).status, 303);
    let form = browser.get("/operatore/c_esempio/flussi");
    let zip = flow_zip("c_esempio-SURICHIESTA-1_4", &[row("RQ-1", "10.00"), row("RQ-2", "12.00")]);
    let page = browser.post_multipart(
        &format!("/operatore/c_esempio/flussi?csrf={}", csrf(&form.body)),
        &[],
        ("file", "c_esempio-SURICHIESTA-1_4.zip", &zip),
    );
    assert_eq!(page.status, 303);
    let list = wait_for(&mut browser, "/operatore/c_esempio/flussi", "Genera gli avvisi");
    assert!(!list.contains("Avvisi PDF"), "no notices before they are asked for");
    let page = browser.post("/operatore/c_esempio/flussi/1/avvisi", &[("csrf", &csrf(&list))]);
    assert_eq!(page.status, 303);
    wait_for(&mut browser, "/operatore/c_esempio/flussi", "Avvisi PDF");
    assert_eq!(browser.get("/operatore/c_esempio/flussi/1/avvisi").status, 200);
    // Asking again is refused: they are there.
    let list = browser.get("/operatore/c_esempio/flussi").body;
    let again = browser.post("/operatore/c_esempio/flussi/1/avvisi", &[("csrf", &csrf(&list))]);
    assert_eq!(again.status, 303);
    assert!(browser.get("/operatore/c_esempio/flussi").body.contains("non possono essere richiesti"));
    let (stopped, _) = server.terminate();
    assert!(stopped);

    // Without a server: the import runs here, and its notices wait for --make-notices.
    let path = tmp.path().join("c_esempio-CLI-1_4.zip");
    std::fs::write(&path, flow_zip("c_esempio-CLI-1_4", &[row("CLI-1", "5.00")])).unwrap();
    let cfg = config.to_str().unwrap();
    let out = run(&dir, &["--config", cfg, "import", path.to_str().unwrap(), "--org", "c_esempio", "--json"], None);
    let imported = json(&out);
    assert_eq!(imported["notices"]["state"], "not_requested");
    let id = imported["id"].as_i64().unwrap().to_string();
    let text = run(&dir, &["--config", cfg, "import", "--org", "c_esempio", "--status", &id], None);
    assert!(stdout(&text).contains("--make-notices"), "{}", stdout(&text));
    let out = run(&dir, &["--config", cfg, "import", "--org", "c_esempio", "--make-notices", &id, "--json"], None);
    let made = json(&out);
    assert_eq!(made["notices"]["state"], "ready", "{made}");
    assert!(Path::new(made["notices_file"].as_str().unwrap()).is_file());
}
