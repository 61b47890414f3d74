//! Debt-flow imports (`mypay import`, reference/mypay.md §2): every layout version against
//! hand-written files whose `_SCARTI` and `_IUV` results are compared byte for byte with the
//! expected files in `tests/fixtures/import/expected/` (`MYPAY_BLESS=1` rewrites them), bad files
//! refused at file level with nothing changed, and a `kill -9` in the middle of a large import.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::{Server, data_dir, get, run, stderr, stdout};

const ORG: &str = "c_f205";

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/import")
}

fn ok(out: &std::process::Output) -> serde_json::Value {
    assert!(out.status.success(), "stdout: {}\nstderr: {}", stdout(out), stderr(out));
    serde_json::from_str(&stdout(out)).unwrap()
}

/// An org with three debt types (TARI needs a due date, ANON allows anonymous debtors, SPENTO is
/// inactive) and an operator enabled on TARI only.
fn setup(dir: &Path) {
    let steps: &[&[&str]] = &[
        crate::support::ADD_MILANO,
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
        &[
            "debt-type",
            "add",
            "--org",
            ORG,
            "--code",
            "ANON",
            "--description",
            "Anonimo",
            "--taxonomy",
            "0101002IM",
            "--allow-anonymous",
        ],
        &[
            "debt-type",
            "add",
            "--org",
            ORG,
            "--code",
            "SPENTO",
            "--description",
            "Spento",
            "--taxonomy",
            "0101002IM",
            "--active",
            "false",
        ],
    ];
    for args in steps {
        let out = run(dir, args, None);
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
    }
    let out = run(
        dir,
        &["operator", "add", "--org", ORG, "--username", "mario", "--role", "operator", "--password-stdin"],
        Some("password-di-prova-1\n"),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let out = run(dir, &["operator", "grant", "--org", ORG, "--username", "mario", "--debt-type", "TARI"], None);
    assert!(out.status.success(), "{}", stderr(&out));
}

/// Writes a ZIP at `path` with these entries.
fn write_zip(path: &Path, entries: &[(&str, &[u8])]) {
    let mut writer = zip::ZipWriter::new(std::fs::File::create(path).unwrap());
    for (name, data) in entries {
        let options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
        writer.start_file(*name, options).unwrap();
        writer.write_all(data).unwrap();
    }
    writer.finish().unwrap();
}

/// Zips the fixture `<stem>.csv` as `<stem>.zip` in `work`.
fn zipped_fixture(work: &Path, stem: &str) -> PathBuf {
    let csv = std::fs::read(fixtures().join(format!("{stem}.csv"))).unwrap();
    let path = work.join(format!("{stem}.zip"));
    write_zip(&path, &[(&format!("{stem}.csv"), &csv)]);
    path
}

fn import(dir: &Path, zip: &Path, extra: &[&str]) -> std::process::Output {
    let mut args = vec!["import", zip.to_str().unwrap(), "--org", ORG, "--json"];
    args.extend_from_slice(extra);
    run(dir, &args, None)
}

fn unzip_one(path: &Path, entry: &str) -> Vec<u8> {
    let mut archive = zip::ZipArchive::new(std::fs::File::open(path).unwrap()).unwrap();
    let mut out = Vec::new();
    archive.by_name(entry).unwrap().read_to_end(&mut out).unwrap();
    out
}

/// Compares a result file (or its absence) with `expected/<stem>_<kind>.csv`.
fn check_result(result: &serde_json::Value, key: &str, stem: &str, kind: &str) {
    let expected_path = fixtures().join("expected").join(format!("{stem}_{kind}.csv"));
    let got = result[key].as_str().map(|p| unzip_one(Path::new(p), &format!("{stem}_{kind}.csv")));
    if std::env::var_os("MYPAY_BLESS").is_some() {
        std::fs::create_dir_all(expected_path.parent().unwrap()).unwrap();
        match &got {
            Some(bytes) => std::fs::write(&expected_path, bytes).unwrap(),
            None => {
                let _ = std::fs::remove_file(&expected_path);
            }
        }
        return;
    }
    let expected = std::fs::read(&expected_path).ok();
    if got != expected {
        panic!(
            "{stem}_{kind}: result differs from {}\n--- got ---\n{}\n--- expected ---\n{}",
            expected_path.display(),
            got.as_deref().map(String::from_utf8_lossy).unwrap_or_default(),
            expected.as_deref().map(String::from_utf8_lossy).unwrap_or_default()
        );
    }
}

fn import_fixture(dir: &Path, work: &Path, stem: &str, extra: &[&str]) -> serde_json::Value {
    let result = ok(&import(dir, &zipped_fixture(work, stem), extra));
    assert_eq!(result["state"], "IMPORT_ESEGUITO", "{result}");
    check_result(&result, "rejects_file", stem, "SCARTI");
    check_result(&result, "iuv_file", stem, "IUV");
    result
}

fn debt(dir: &Path, iud: &str) -> serde_json::Value {
    ok(&run(dir, &["debt", "show", "--org", ORG, "--iud", iud, "--json"], None))
}

fn sql_count(dir: &Path, sql: &str) -> i64 {
    let conn = rusqlite::Connection::open(dir.join("mypay.db")).unwrap();
    conn.query_row(sql, [], |r| r.get(0)).unwrap()
}

#[test]
fn every_layout_version_with_each_rejection_code_and_exact_result_files() {
    let (tmp, dir) = data_dir();
    setup(&dir);
    let work = tmp.path();

    // 1_4: every row rule, quoting, IUV generation, multi-beneficiary, bilancio.
    let r = import_fixture(&dir, work, "c_f205-FLUSSO14-1_4", &["--notices"]);
    assert_eq!((r["rows"].as_i64(), r["loaded"].as_i64(), r["rejected"].as_i64()), (Some(29), Some(5), Some(24)));
    let d = debt(&dir, "TARI-0003");
    assert_eq!(d["iuv"], "02000000000000285");
    // The notices of the rows with flagGeneraIuv, made after the import committed.
    let notices = PathBuf::from(r["notices_file"].as_str().expect("a notices file"));
    assert!(notices.file_name().unwrap().to_string_lossy().ends_with("c_f205-FLUSSO14-1_4_AVVISI_PDF.zip"));
    let pdf = unzip_one(&notices, "avviso_02000000000000285.pdf");
    assert!(pdf.starts_with(b"%PDF-"));
    let d = debt(&dir, "TARI-0002");
    assert_eq!(d["debtor_name"], "Bianchi; Anna \"Nina\"");

    // A debt in payment cannot be modified.
    let conn = rusqlite::Connection::open(dir.join("mypay.db")).unwrap();
    conn.execute("UPDATE debt SET state = 'PAGAMENTO_INIZIATO' WHERE iud = 'TARI-0002'", []).unwrap();
    drop(conn);

    // 1_3: M and A on existing and missing IUDs, IUV kept / generated on M, type change.
    let r = import_fixture(&dir, work, "c_f205-FLUSSO13-1_3", &[]);
    assert_eq!((r["loaded"].as_i64(), r["rejected"].as_i64()), (Some(4), Some(5)));
    let d = debt(&dir, "TARI-0001");
    assert_eq!((d["amount_cents"].as_i64(), d["iuv"].as_str()), (Some(9000), Some("02000000000000184")));
    assert_eq!(debt(&dir, "TARI-0025")["iuv"], "02000000000000487");
    let out = run(&dir, &["debt", "show", "--org", ORG, "--iud", "TARI-0003", "--json"], None);
    assert!(!out.status.success(), "an annulled debt is no longer live");

    // 1_0: an annulled IUD is reusable; due date always required; causale at most 140.
    import_fixture(&dir, work, "c_f205-FLUSSO10-1_0", &[]);
    assert!(debt(&dir, "TARI-0003")["iuv"].is_null());
    // 1_1: causale up to 1024.
    import_fixture(&dir, work, "c_f205-FLUSSO11-1_1", &[]);
    // 1_2: columns bound by header name (reordered, MyPay export names, BOM), bilancio.
    import_fixture(&dir, work, "c_f205-FLUSSO12-1_2", &[]);
    assert!(debt(&dir, "TARI-0030")["iud"] == "TARI-0030");
    // An operator acts only on the debt types enabled for them.
    import_fixture(&dir, work, "c_f205-FLUSSOOP-1_1", &["--operator", "mario"]);

    // The same flow (IUF) again: refused at file level.
    let out = import(&dir, &zipped_fixture(work, "c_f205-FLUSSO14-1_4"), &[]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let r: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(
        (r["state"].as_str(), r["error_code"].as_str()),
        (Some("IMPORT_ABORTITO"), Some("PAA_IMPORT_FLUSSO_DUPLICATO"))
    );

    let list = ok(&run(&dir, &["import", "--org", ORG, "--list", "--json"], None));
    assert_eq!(list.as_array().unwrap().len(), 7);
    let status = ok(&run(&dir, &["import", "--org", ORG, "--status", "1", "--json"], None));
    assert_eq!(status["loaded"], 5);
}

/// Bad files: each ends in IMPORT_ABORTITO with its code, changes no debt, and the server that
/// ran it keeps serving.
#[test]
fn bad_files_are_refused_at_file_level_and_change_nothing() {
    let (tmp, dir) = data_dir();
    setup(&dir);
    let work = tmp.path();
    // The limits apply where the job runs: in the server.
    let config = work.join("mypay.toml");
    std::fs::write(&config, "[import]\nmax_upload_bytes = 50000\nmax_uncompressed_bytes = 100000\n").unwrap();
    let server = Server::start(&dir, &["--config", config.to_str().unwrap(), "serve", "--demo"]);
    let header = std::fs::read_to_string(fixtures().join("c_f205-FLUSSO10-1_0.csv")).unwrap();
    let good = header.replace("\r\n", "\n");
    let first_line = good.lines().next().unwrap().to_owned();
    let row = good.lines().nth(1).unwrap().to_owned();

    let mut bomb = first_line.clone().into_bytes();
    bomb.extend(std::iter::repeat_n(b'\n', 300_000));
    let mut non_utf8 = format!("{first_line}\n{row}\n").into_bytes();
    non_utf8.extend_from_slice(b"TARI-X;\xff\xfe;F\n");
    type Entries = Vec<(String, Vec<u8>)>;
    let cases: Vec<(&str, Entries, &str)> = vec![
        ("c_f205-BAD1-1_0", vec![("c_f205-BAD1-1_0.csv".into(), non_utf8)], "PAA_IMPORT_ERRORE_GENERICO"),
        (
            "c_f205-BAD2-1_0",
            vec![("c_f205-BAD2-1_0.csv".into(), good.replace(';', ",").into_bytes())],
            "PAA_IMPORT_FILE_VERSIONE_ERR(1_0)",
        ),
        (
            "c_f205-BAD3-1_0",
            vec![("c_f205-BAD3-1_0.csv".into(), format!("{first_line};extra\n{row};x\n").into_bytes())],
            "PAA_IMPORT_FILE_VERSIONE_ERR(1_0)",
        ),
        (
            "c_f205-BAD4-1_1",
            vec![("c_f205-BAD4-1_1.csv".into(), good.replacen(";azione", "", 1).into_bytes())],
            "PAA_IMPORT_FILE_VERSIONE_ERR(1_1)",
        ),
        ("c_f205-BAD5-1_0", vec![("c_f205-BAD5-1_0.csv".into(), Vec::new())], "PAA_IMPORT_ERRORE_GENERICO"),
        (
            "c_f205-BAD6-1_0",
            vec![
                ("c_f205-BAD6-1_0.csv".into(), good.clone().into_bytes()),
                ("c_f205-BAD6-1_0.CSV".into(), good.clone().into_bytes()),
            ],
            "PAA_IMPORT_NO_CSV",
        ),
        (
            "c_f205-BAD7-1_0",
            vec![("../c_f205-BAD7-1_0.csv".into(), good.clone().into_bytes())],
            "PAA_IMPORT_NOME_FILE_ERR(../c_f205-BAD7-1_0.csv)",
        ),
        ("c_f205-BAD8-1_0", vec![("c_f205-BAD8-1_0.csv".into(), bomb)], "PAA_IMPORT_ERRORE_GENERICO"),
        (
            "c_f205-BAD9-1_0",
            vec![("other.txt".into(), good.clone().into_bytes())],
            "PAA_IMPORT_NOME_FILE_ERR(other.txt)",
        ),
        (
            "c_a000-BAD10-1_0",
            vec![("c_a000-BAD10-1_0.csv".into(), good.clone().into_bytes())],
            "PAA_IMPORT_ENTE_ERR(c_a000,c_f205)",
        ),
        (
            "c_f205-BAD11-3_0",
            vec![("c_f205-BAD11-3_0.csv".into(), good.clone().into_bytes())],
            "PAA_IMPORT_FILE_VERSIONE_ERR(3_0)",
        ),
        (
            "c_f205-BAD12",
            vec![("c_f205-BAD12.csv".into(), good.clone().into_bytes())],
            "PAA_IMPORT_NOME_FILE_ERR(c_f205-BAD12.zip)",
        ),
    ];
    let before = sql_count(&dir, "SELECT count(*) FROM debt");
    for (stem, entries, code) in cases {
        let path = work.join(format!("{stem}.zip"));
        let entries: Vec<(&str, &[u8])> = entries.iter().map(|(n, d)| (n.as_str(), d.as_slice())).collect();
        write_zip(&path, &entries);
        let out = Command::new(crate::support::bin())
            .arg("--data-dir")
            .arg(&dir)
            .args(["import", path.to_str().unwrap(), "--org", ORG, "--wait", "--json"])
            .arg("--config")
            .arg(&config)
            .env_remove("MYPAY_DATA_DIR")
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{stem}: {}", stderr(&out));
        let r: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
        assert_eq!(r["state"], "IMPORT_ABORTITO", "{stem}: {r}");
        assert_eq!(r["error_code"], code, "{stem}: {r}");
        assert!(r["rejects_file"].is_null() && r["iuv_file"].is_null(), "{stem}: {r}");
        assert_eq!(get(&server.url("/healthz")).status, 200);
    }
    assert_eq!(sql_count(&dir, "SELECT count(*) FROM debt"), before);

    // An upload over the limit is refused before anything is recorded.
    let big = work.join("c_f205-BIG-1_0.zip");
    std::fs::write(&big, vec![0u8; 5000]).unwrap();
    let out = Command::new(crate::support::bin())
        .arg("--data-dir")
        .arg(&dir)
        .args(["import", big.to_str().unwrap(), "--org", ORG])
        .env("MYPAY_IMPORT_MAX_UPLOAD_BYTES", "4096")
        .env_remove("MYPAY_DATA_DIR")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("max_upload_bytes"), "{}", stderr(&out));
    let (stopped, _) = server.terminate();
    assert!(stopped);
}

/// A 1_4 flow that exercises what a resumed run must remember: the hand-written rows of
/// `FLUSSO14` (every rejection code, an IUD repeated in the file), then generated rows with and
/// without a generated IUV, an IUD repeated after a rejected row and after a loaded one, and an
/// `M` and an `A` naming rows of the same file.
fn resumable_csv() -> String {
    let fixture = std::fs::read_to_string(fixtures().join("c_f205-FLUSSO14-1_4.csv")).unwrap();
    let mut csv = fixture.replace("\r\n", "\n");
    if !csv.ends_with('\n') {
        csv.push('\n');
    }
    let row = |iud: &str, generate: bool, cents: u32, action: &str| {
        format!(
            "{iud};;F;RSSMRA85T10A562S;Mario Rossi;Via Roma;1;20100;Milano;MI;IT;m@example.it;2099-12-31;{}.{:02};;TARI;;\
             TARI 2099 {iud};9/0101002IM/;;{generate};false;;;;;;;;;;;;;{action}\n",
            cents / 100,
            cents % 100
        )
    };
    for i in 1..=14u32 {
        csv.push_str(&row(&format!("CHUNK-{i:04}"), i % 2 == 0, 1000 + i, "I"));
    }
    csv.push_str(&row("TARI-0005", false, 500, "I"));
    csv.push_str(&row("CHUNK-0004", true, 700, "I"));
    csv.push_str(&row("CHUNK-0002", true, 900, "M"));
    csv.push_str(&row("CHUNK-0003", false, 1003, "A"));
    for i in 15..=20u32 {
        csv.push_str(&row(&format!("CHUNK-{i:04}"), i % 3 == 0, 2000 + i, "I"));
    }
    csv
}

/// Everything a run leaves that must not depend on where it was interrupted: the result files,
/// byte for byte, and the debts it wrote.
#[derive(Debug, PartialEq, Eq)]
struct Outcome {
    iuv_zip: Vec<u8>,
    scarti_zip: Vec<u8>,
    debts: Vec<(String, Option<String>, String, i64)>,
    totals: (i64, i64, i64),
    audit_entries: i64,
}

fn outcome(dir: &Path, stem: &str) -> Outcome {
    let conn = rusqlite::Connection::open(dir.join("mypay.db")).unwrap();
    let (state, total, loaded, rejected, iuv_file, rejects_file): (String, i64, i64, i64, String, String) = conn
        .query_row(
            "SELECT state, rows_total, rows_loaded, rows_rejected, iuv_file, rejects_file FROM debt_import \
             ORDER BY id DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?)),
        )
        .unwrap();
    assert_eq!(state, "IMPORT_ESEGUITO");
    let mut stmt = conn.prepare("SELECT iud, iuv, state, amount_cents FROM debt ORDER BY iud, id").unwrap();
    let debts = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let audit_entries =
        conn.query_row("SELECT count(*) FROM audit WHERE action = 'import.run'", [], |r| r.get(0)).unwrap();
    let leftovers: Vec<_> = std::fs::read_dir(dir.join(iuv_file.rsplit_once('/').unwrap().0))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".part") || n.ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{stem}: {leftovers:?}");
    Outcome {
        iuv_zip: std::fs::read(dir.join(&iuv_file)).unwrap(),
        scarti_zip: std::fs::read(dir.join(&rejects_file)).unwrap(),
        debts,
        totals: (total, loaded, rejected),
        audit_entries,
    }
}

/// Copies the data directory `from` into a new `to`.
fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// `mypay import` of `zip` with the test switches of a debug build: `chunk_rows` rows per chunk,
/// and an abort (as `kill -9` would stop it) at `crash`, when given.
fn import_in_chunks(dir: &Path, zip: &Path, chunk_rows: u32, crash: Option<&str>) -> std::process::Output {
    let mut command = Command::new("sh");
    // No core file for the planned aborts.
    command
        .args(["-c", "ulimit -c 0; exec \"$@\"", "sh", crate::support::bin(), "--data-dir"])
        .arg(dir)
        .args(["import", zip.to_str().unwrap(), "--org", ORG, "--json"])
        .env_remove("MYPAY_DATA_DIR")
        .env("MYPAY_TEST_CHUNK_ROWS", chunk_rows.to_string());
    if let Some(point) = crash {
        command.env("MYPAY_TEST_CRASH", point);
    }
    command.output().unwrap()
}

/// The crash test: a chunked import killed at fixed cursor positions (after the
/// read-only pass, before and after the commit of each of its first chunks, before it ends) is
/// finished by `mypay import --resume`: every row applied once, the same debts and result files,
/// byte for byte, as an uninterrupted run.
#[test]
fn a_chunked_import_killed_anywhere_completes_once_with_identical_results() {
    let (tmp, template) = data_dir();
    setup(&template);
    let stem = "c_f205-RIPRESA-1_4";
    let zip = tmp.path().join(format!("{stem}.zip"));
    write_zip(&zip, &[(&format!("{stem}.csv"), resumable_csv().as_bytes())]);

    let reference_dir = tmp.path().join("reference");
    copy_dir(&template, &reference_dir);
    let out = import_in_chunks(&reference_dir, &zip, 3, None);
    assert!(out.status.success(), "{}", stderr(&out));
    let reference = outcome(&reference_dir, "reference");
    assert_eq!(reference.totals, (53, 25, 28), "{:?}", reference.totals);
    assert_eq!(reference.audit_entries, 1);

    let mut points = vec!["after_begin:0".to_owned(), "before_done:0".to_owned()];
    for chunk in 1..=10 {
        points.push(format!("before_commit:{chunk}"));
        points.push(format!("after_commit:{chunk}"));
    }
    for point in &points {
        let dir = tmp.path().join(point.replace(':', "-"));
        copy_dir(&template, &dir);
        let crashed = import_in_chunks(&dir, &zip, 3, Some(point));
        assert!(!crashed.status.success(), "{point}: the import was not stopped");
        let resumed = run(&dir, &["import", "--org", ORG, "--resume", "--json"], None);
        let list = ok(&resumed);
        assert_eq!(list[0]["state"], "IMPORT_ESEGUITO", "{point}: {list}");
        assert_eq!(outcome(&dir, point), reference, "{point}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

/// A valid IUV17 of the org (segregation code 02) that mypay's own generator (id 00) never makes.
fn given_iuv(n: u64) -> String {
    let body = 3 * 10_u64.pow(15) + 2 * 10_u64.pow(13) + 9 * 10_u64.pow(12) + n;
    format!("{:015}{:02}", body % 10_u64.pow(15), body % 93)
}

/// Rows that only insert go in batches, one statement each: a batch with a row the store refuses
/// (an IUD live from an earlier flow, an IUV live from an earlier row, two rows of the batch with
/// the same IUV) goes in again row by row, and every row ends as it would alone: the same result
/// files, byte for byte, the same debts and the same generated IUVs (no gap for refused rows) as a
/// run that takes one row per chunk and so never fills a batch.
#[test]
fn batched_rows_end_as_they_would_one_by_one() {
    let (tmp, template) = data_dir();
    setup(&template);
    let row = |iud: &str, iuv: &str, generate: bool, cents: u32| {
        format!(
            "{iud};{iuv};F;RSSMRA85T10A562S;Mario Rossi;Via Roma;1;20100;Milano;MI;IT;m@example.it;2099-12-31;\
             {}.{:02};;TARI;;TARI 2099 {iud};9/0101002IM/;;{generate};false;;;;;;;;;;;;;I\n",
            cents / 100,
            cents % 100
        )
    };
    let header = std::fs::read_to_string(fixtures().join("c_f205-FLUSSO14-1_4.csv")).unwrap();
    let header = header.lines().next().unwrap().to_owned() + "\n";
    let earlier = format!("{header}{}", row("PRIMA-0001", "", false, 100));
    let earlier_zip = tmp.path().join("c_f205-PRIMA-1_4.zip");
    write_zip(&earlier_zip, &[("c_f205-PRIMA-1_4.csv", earlier.as_bytes())]);
    let mut csv = header;
    for i in 1..=300u32 {
        let (iud, iuv) = match i {
            // A live IUD from the earlier flow, on a row that would draw an IUV.
            70 => ("PRIMA-0001".to_owned(), String::new()),
            // The IUV of row 5, live by now.
            130 => (format!("LOTTI-{i:04}"), given_iuv(5)),
            // Two rows of one batch with the same IUV.
            5 | 200 | 210 => (format!("LOTTI-{i:04}"), given_iuv(u64::from(i.min(200)))),
            _ => (format!("LOTTI-{i:04}"), String::new()),
        };
        csv.push_str(&row(&iud, &iuv, iuv.is_empty() && i % 2 == 0, 1000 + i));
    }
    let stem = "c_f205-LOTTI-1_4";
    let zip = tmp.path().join(format!("{stem}.zip"));
    write_zip(&zip, &[(&format!("{stem}.csv"), csv.as_bytes())]);

    let outcomes: Vec<Outcome> = [1, 1000]
        .iter()
        .map(|&chunk_rows| {
            let dir = tmp.path().join(format!("rows-{chunk_rows}"));
            copy_dir(&template, &dir);
            assert!(import_in_chunks(&dir, &earlier_zip, chunk_rows, None).status.success());
            let out = import_in_chunks(&dir, &zip, chunk_rows, None);
            assert!(out.status.success(), "{}", stderr(&out));
            outcome(&dir, stem)
        })
        .collect();
    assert_eq!(outcomes[0].totals, (300, 297, 3), "{:?}", outcomes[0].totals);
    assert_eq!(outcomes[1], outcomes[0]);
    let scarti = String::from_utf8(unzip_one_bytes(&outcomes[1].scarti_zip)).unwrap();
    for (iud, code) in [
        ("PRIMA-0001", "PAA_IMPORT_IUD_DUPLICATO"),
        ("LOTTI-0130", "PAA_IMPORT_IUV_DUPLICATO"),
        ("LOTTI-0210", "PAA_IMPORT_IUV_DUPLICATO"),
    ] {
        assert!(scarti.lines().any(|l| l.starts_with(iud) && l.contains(code)), "{iud}: {scarti}");
    }
    // Generated IUVs go on without a gap past the refused row 70 (which asked for one).
    let generated: Vec<&Option<String>> = outcomes[1]
        .debts
        .iter()
        .filter(|(iud, iuv, ..)| iud.starts_with("LOTTI-") && iuv.as_deref().is_some_and(|v| v.starts_with("0200")))
        .map(|(_, iuv, ..)| iuv)
        .collect();
    let counters: std::collections::BTreeSet<u64> =
        generated.iter().filter_map(|v| v.as_deref()).map(|v| v[4..15].parse().unwrap()).collect();
    assert_eq!(counters.len(), 146, "{counters:?}");
    assert_eq!(counters.last().copied(), Some(counters.first().copied().unwrap() + 145), "{counters:?}");
}

/// The one entry of a ZIP held in memory.
fn unzip_one_bytes(bytes: &[u8]) -> Vec<u8> {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    let mut entry = archive.by_index(0).unwrap();
    let mut out = Vec::new();
    entry.read_to_end(&mut out).unwrap();
    out
}

/// mypay's 1_4 extension (issue 20): a last `opzioniPagamento` column carries a row's options.
/// A plain row loads as in 1_4; a row with two instalments keeps its own IUV (pay in full) and
/// gets one notice per instalment; a bad value, a plan the domain refuses (a reduced amount with instalments) and options on `M` are
/// rejected in `_SCARTI`, the line as read.
#[test]
fn a_1_4_flow_with_an_options_column_adds_instalments() {
    let (tmp, dir) = data_dir();
    setup(&dir);
    let row = |iud: &str, action: &str, options: &str| {
        format!(
            "{iud};;F;RSSMRA85T10A562S;Mario Rossi;Via Roma;1;20100;Milano;MI;IT;m@example.it;2099-12-31;\
             100.00;;TARI;;TARI 2099 {iud};9/0101002IM/;;true;false;;;;;;;;;;;;;{action};{options}\n"
        )
    };
    let header = std::fs::read_to_string(fixtures().join("c_f205-FLUSSO14-1_4.csv")).unwrap();
    let mut csv = header.lines().next().unwrap().to_owned() + ";opzioniPagamento\n";
    csv.push_str(&row("OPZ-0001", "I", ""));
    csv.push_str(&row("OPZ-0002", "I", "R:60.00:2099-06-30|R:40.00:2099-12-31"));
    csv.push_str(&row("OPZ-0003", "I", "R:60,00:2099-06-30"));
    csv.push_str(&row("OPZ-0004", "I", "R:60.00:2099-06-30|D:50.00:2099-01-31"));
    csv.push_str(&row("OPZ-0005", "M", "R:60.00:2099-06-30"));
    let stem = "c_f205-OPZIONI-1_4";
    let zip = tmp.path().join(format!("{stem}.zip"));
    write_zip(&zip, &[(&format!("{stem}.csv"), csv.as_bytes())]);
    let result = ok(&import(&dir, &zip, &[]));
    assert_eq!(result["state"], "IMPORT_ESEGUITO", "{result}");

    let plain = debt(&dir, "OPZ-0001");
    let kinds: Vec<&str> = plain["options"].as_array().unwrap().iter().map(|o| o["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["UNICA"]);
    let with = debt(&dir, "OPZ-0002");
    assert_eq!(with["amount"], "100.00", "{with}");
    let options = with["options"].as_array().unwrap();
    let got: Vec<(&str, i64, &str, &str)> = options
        .iter()
        .map(|o| {
            (
                o["kind"].as_str().unwrap(),
                o["seq"].as_i64().unwrap(),
                o["amount"].as_str().unwrap(),
                o["due_date"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [("UNICA", 1, "100.00", "2099-12-31"), ("RATA", 1, "60.00", "2099-06-30"), ("RATA", 2, "40.00", "2099-12-31")]
    );
    let notices: std::collections::BTreeSet<&str> =
        options.iter().map(|o| o["notice_number"].as_str().unwrap()).collect();
    assert_eq!(notices.len(), 3, "{with}");

    let iuv = String::from_utf8(unzip_one(Path::new(result["iuv_file"].as_str().unwrap()), &format!("{stem}_IUV.csv")))
        .unwrap();
    let lines: Vec<&str> = iuv.lines().collect();
    assert_eq!(lines.len(), 3, "{iuv}");
    assert!(lines[0].ends_with(";azione;opzioniPagamento"), "{iuv}");
    assert!(lines[1].starts_with("OPZ-0001;") && lines[1].ends_with(";I;"), "{iuv}");
    assert!(
        lines[2].starts_with("OPZ-0002;") && lines[2].ends_with(";I;R:60.00:2099-06-30|R:40.00:2099-12-31"),
        "{iuv}"
    );

    let scarti = String::from_utf8(unzip_one(
        Path::new(result["rejects_file"].as_str().unwrap()),
        &format!("{stem}_SCARTI.csv"),
    ))
    .unwrap();
    let rejected: Vec<&str> = scarti.lines().skip(1).collect();
    assert_eq!(rejected.len(), 3, "{scarti}");
    assert!(rejected[0].starts_with(&row("OPZ-0003", "I", "R:60,00:2099-06-30").trim_end().to_owned()), "{scarti}");
    assert!(
        rejected[0].contains(";PAA_IMPORT_SINTASSI_CSV;opzioniPagamento non valida: 'R:60,00:2099-06-30'"),
        "{scarti}"
    );
    assert!(
        rejected[1].starts_with("OPZ-0004;")
            && rejected[1].contains(";PAA_IMPORT_SINTASSI_CSV;opzioniPagamento non valide: "),
        "{scarti}"
    );
    assert!(
        rejected[2].starts_with("OPZ-0005;")
            && rejected[2].contains(";PAA_IMPORT_SINTASSI_CSV_AZIONE;opzioniPagamento ammesse solo con azione I"),
        "{scarti}"
    );
    assert_eq!(sql_count(&dir, "SELECT count(*) FROM debt WHERE iud LIKE 'OPZ-%'"), 2);
}
