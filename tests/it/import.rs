//! Debt-flow imports (`mypay import`, reference/mypay.md §2): every layout version against
//! hand-written files whose `_SCARTI` and `_IUV` results are compared byte for byte with the
//! expected files in `tests/fixtures/import/expected/` (`MYPAY_BLESS=1` rewrites them), bad files
//! refused at file level with nothing changed, and a `kill -9` in the middle of a large import.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

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

/// A generated 1_4 file of `n` rows: each row valid, half with a generated IUV.
pub fn big_csv(n: usize) -> String {
    let mut out = String::with_capacity(n * 260);
    out.push_str("IUD;codIuv;tipoIdentificativoUnivoco;codiceIdentificativoUnivoco;anagraficaPagatore;indirizzoPagatore;civicoPagatore;capPagatore;localitaPagatore;provinciaPagatore;nazionePagatore;emailPagatore;dataScadenzaPagamento;importoDovuto;commissioneCaricoPa;tipoDovuto;tipoVersamento;causaleVersamento;datiSpecificiRiscossione;bilancio;flagGeneraIuv;flagMultiBeneficiario;codiceFiscaleEnteSecondario;denominazioneEnteSecondario;ibanAccreditoEnteSecondario;indirizzoEnteSecondario;civicoEnteSecondario;capEnteSecondario;localitaEnteSecondario;provinciaEnteSecondario;nazioneEnteSecondario;datiSpecificiRiscossioneEnteSecondario;causaleVersamentoEnteSecondario;importoVersamentoEnteSecondario;azione\n");
    for i in 0..n {
        let generate = if i % 2 == 0 { "true" } else { "false" };
        out.push_str(&format!(
            "BIG-{i:08};;F;RSSMRA85T10A562S;Mario Rossi {i};Via Roma;{};20100;Milano;MI;IT;m{i}@example.it;2099-12-31;{}.{:02};;TARI;;TARI 2099 rata {i};9/0101002IM/;;{generate};false;;;;;;;;;;;;;I\n",
            i % 200 + 1,
            i % 1000 + 1,
            i % 100
        ));
    }
    out
}

/// `kill -9` in the middle of a large import leaves none of its rows; the server started on the
/// same data directory runs the job again and the import completes once, with every row.
#[test]
fn a_killed_import_leaves_nothing_and_completes_once_after_restart() {
    let (tmp, dir) = data_dir();
    setup(&dir);
    let n = 200_000;
    let stem = "c_f205-GRANDE-1_4";
    let path = tmp.path().join(format!("{stem}.zip"));
    write_zip(&path, &[(&format!("{stem}.csv"), big_csv(n).as_bytes())]);
    let mut child = Command::new(crate::support::bin())
        .arg("--data-dir")
        .arg(&dir)
        .args(["import", path.to_str().unwrap(), "--org", ORG, "--json"])
        .env_remove("MYPAY_DATA_DIR")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(tmp.path().join("import.err")).unwrap())
        .spawn()
        .unwrap();
    // Wait until the run is under way, give it time to apply rows, then kill it.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let started = dir.join("mypay.db").exists()
            && sql_count(&dir, "SELECT count(*) FROM debt_import WHERE state = 'IMPORT_IN_ELAB'") == 1;
        if started {
            break;
        }
        assert!(Instant::now() < deadline, "the import did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(700));
    let killed = Command::new("kill").args(["-KILL", &child.id().to_string()]).status().unwrap();
    assert!(killed.success());
    let status = child.wait().unwrap();
    let finished_before_kill = status.success();
    let loaded = sql_count(&dir, "SELECT count(*) FROM debt WHERE iud LIKE 'BIG-%'");
    assert!(loaded == 0 || loaded == n as i64, "half an import is visible: {loaded} rows");
    // A file this large is loaded with the search indexes set aside: the killed transaction must
    // not have taken them along.
    let debt_indexes = "SELECT count(*) FROM sqlite_schema WHERE type = 'index' AND tbl_name = 'debt'";
    assert_eq!(sql_count(&dir, debt_indexes), 7);
    if !finished_before_kill {
        assert_eq!(loaded, 0);
        let err = std::fs::read_to_string(tmp.path().join("import.err")).unwrap_or_default();
        assert_eq!(sql_count(&dir, "SELECT count(*) FROM job WHERE state = 'running'"), 1, "{status:?} {err}");
    }

    let server = Server::start(&dir, &["serve", "--demo"]);
    let deadline = Instant::now() + Duration::from_secs(240);
    // The job is marked done just after the import's own transaction.
    while sql_count(&dir, "SELECT count(*) FROM job WHERE state = 'done'") == 0 {
        assert!(Instant::now() < deadline, "the import did not complete after the restart");
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(sql_count(&dir, "SELECT count(*) FROM debt WHERE iud LIKE 'BIG-%'"), n as i64);
    assert_eq!(sql_count(&dir, "SELECT rows_loaded FROM debt_import"), n as i64);
    assert_eq!(sql_count(&dir, "SELECT count(*) FROM audit WHERE action = 'import.run'"), 1);
    assert_eq!(sql_count(&dir, "SELECT count(*) FROM debt_import WHERE state = 'IMPORT_ESEGUITO'"), 1);
    assert_eq!(sql_count(&dir, debt_indexes), 7, "the search indexes were built again");
    assert_eq!(
        sql_count(&dir, "SELECT count(*) FROM debt INDEXED BY debt_org_name WHERE org_id > 0 AND iud LIKE 'BIG-%'"),
        n as i64
    );
    // Generated IUVs are unique: the counter rolled back with the killed run.
    assert_eq!(
        sql_count(&dir, "SELECT count(DISTINCT iuv) FROM debt WHERE iud LIKE 'BIG-%' AND iuv IS NOT NULL"),
        (n / 2) as i64
    );
    drop(server);
}
