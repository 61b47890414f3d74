//! `mypay reconcile`: the org's flags, uploads refused with their reasons and `mypay import`'s exit
//! codes, the list's JSON, the uploads' status; the accertamenti registry imported from the §7.9
//! fixture of `../shared/reference/mypivot.md` (read from there at run time; skipped without it),
//! the life of an accertamento, and operators' notes with their history and hiding.

use std::io::Write;
use std::path::Path;

use serde_json::{Value, json};

use crate::support::{add_milano, data_dir, run, stderr, stdout};

/// The CSV of mypivot.md §7.9, with CRLF line ends, when the shared folder is beside this checkout.
fn fixture_7_9() -> Option<String> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/reference/mypivot.md");
    let Ok(text) = std::fs::read_to_string(path) else {
        eprintln!("skipped: the accertamenti fixture needs ../shared/reference/mypivot.md");
        return None;
    };
    let section = &text[text.find("### 7.9").unwrap()..];
    let block = &section[section.find("```\n").unwrap() + 4..];
    let block = &block[..block.find("```").unwrap()];
    Some(block.lines().map(|line| format!("{line}\r\n")).collect())
}

fn zip_upload(dir: &Path, base: &str, csv: &str) -> String {
    let path = dir.join(format!("{base}.zip"));
    let mut zip = zip::ZipWriter::new(std::fs::File::create(&path).unwrap());
    zip.start_file(format!("{base}.csv"), zip::write::SimpleFileOptions::default()).unwrap();
    zip.write_all(csv.as_bytes()).unwrap();
    zip.finish().unwrap();
    path.to_str().unwrap().to_owned()
}

fn ok_json(dir: &Path, args: &[&str]) -> serde_json::Value {
    let out = run(dir, args, None);
    assert!(out.status.success(), "{args:?}: {}", stderr(&out));
    serde_json::from_str(&stdout(&out)).unwrap()
}

#[test]
fn the_registry_of_7_9_is_all_or_nothing_and_accertamenti_and_notes_work() {
    let Some(csv) = fixture_7_9() else { return };
    let (_tmp, dir) = data_dir();
    add_milano(&dir);
    for (code, taxonomy) in [("TARI", "0101002IM"), ("MENSA_SCOLASTICA", "0301109AP"), ("CDS", "0201103SA")] {
        let args =
            ["debt-type", "add", "--org", "c_f205", "--code", code, "--description", code, "--taxonomy", taxonomy];
        assert!(run(&dir, &args, None).status.success());
    }
    let files = tempfile::tempdir().unwrap();

    // The fixture as it stands: its last line deletes an entry never inserted, so nothing stays.
    let whole = zip_upload(files.path(), "c_f205-ANAGRAFICA-1_0", &csv);
    let out = run(&dir, &["reconcile", "accertamenti", "import", &whole, "--org", "c_f205"], None);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(stderr(&out).trim(), "error: Errore di conversione alla linea 6: la voce da cancellare non esiste");
    let listed = ok_json(&dir, &["reconcile", "accertamenti", "list", "--org", "c_f205", "--json"]);
    assert_eq!(listed["registry"].as_array().unwrap().len(), 0);

    let first_five: String = csv.split_inclusive("\r\n").take(5).collect();
    let part = zip_upload(files.path(), "c_f205-INSERIMENTI-1_0", &first_five);
    let done = ok_json(&dir, &["reconcile", "accertamenti", "import", &part, "--org", "c_f205", "--json"]);
    assert_eq!(done, serde_json::json!({ "inserted": 4, "deleted": 0 }));
    let listed = ok_json(&dir, &["reconcile", "accertamenti", "list", "--org", "c_f205", "--json"]);
    let registry = listed["registry"].as_array().unwrap();
    assert_eq!(registry.len(), 4);
    let pm = registry.iter().find(|e| e["office_code"] == "PM").unwrap();
    assert_eq!((&pm["accertamento_code"], &pm["accertamento_name"]), (&"n/a".into(), &serde_json::Value::Null));

    // An accertamento closes only with a payment; cancelling is final.
    let made = ok_json(
        &dir,
        &[
            "reconcile",
            "accertamenti",
            "create",
            "--org",
            "c_f205",
            "--debt-type",
            "TARI",
            "--name",
            "TARI 2024",
            "--json",
        ],
    );
    assert_eq!(made["state"], "INSERITO");
    let id = made["id"].to_string();
    let close =
        run(&dir, &["reconcile", "accertamenti", "state", "--org", "c_f205", "--id", &id, "--to", "CHIUSO"], None);
    assert_eq!(close.status.code(), Some(2), "{}", stderr(&close));
    assert!(stderr(&close).contains("has no payment to close with"));
    let annulled = ok_json(
        &dir,
        &["reconcile", "accertamenti", "state", "--org", "c_f205", "--id", &id, "--to", "annullato", "--json"],
    );
    assert_eq!(annulled["state"], "ANNULLATO");
    let shown = ok_json(&dir, &["reconcile", "accertamenti", "show", "--org", "c_f205", "--id", &id, "--json"]);
    assert_eq!((&shown["name"], &shown["details"]), (&"TARI 2024".into(), &serde_json::json!([])));

    // Notes are about rows of a label's result set: the notifications of §7.1, none paid yet.
    let settings = ["reconcile", "settings", "--org", "c_f205", "--pagati", "true"];
    assert!(run(&dir, &settings, None).status.success());
    let notif = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/recon/c_x999-NOTIF20240517-1_0.csv"
    ))
    .unwrap();
    let zip = zip_upload(files.path(), "c_f205-NOTIF20240517-1_0", &notif);
    let loaded = ok_json(&dir, &["reconcile", "import", &zip, "--org", "c_f205", "--json"]);
    assert_eq!(loaded["state"], "FILE_CARICATO", "{loaded}");
    let unknown = ["--label", "RT_NO_IUD", "--iuv", "01000000000012302", "--text", "x"];
    let out = run(&dir, &[&["reconcile", "notes", "add", "--org", "c_f205"][..], &unknown[..]].concat(), None);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("no row labelled RT_NO_IUD has IUD -, IUV 01000000000012302, IUF -"),
        "{}",
        stderr(&out)
    );

    // Notes: a second one makes the first history; a hidden note leaves the list.
    let element = ["--label", "IUD_NO_RT", "--iud", "TARI-2024-000124", "--iuv", "01000000000012304"];
    let add = |text: &str| {
        let mut args = vec!["reconcile", "notes", "add", "--org", "c_f205", "--text", text, "--json"];
        args.extend(element);
        ok_json(&dir, &args)
    };
    add("chiesta la notifica all'ufficio");
    let second = add("notifica arrivata, da ricaricare");
    let mut history = vec!["reconcile", "notes", "history", "--org", "c_f205", "--json"];
    history.extend(element);
    let notes = ok_json(&dir, &history);
    let flags: Vec<_> = notes.as_array().unwrap().iter().map(|n| (n["note"].clone(), n["active"].clone())).collect();
    assert_eq!(
        flags,
        [
            ("notifica arrivata, da ricaricare".into(), true.into()),
            ("chiesta la notifica all'ufficio".into(), false.into())
        ]
    );
    assert_eq!(notes[0]["author"], "cli");
    let note_id = second["id"].to_string();
    ok_json(&dir, &["reconcile", "notes", "hide", "--org", "c_f205", "--id", &note_id, "--json"]);
    assert_eq!(ok_json(&dir, &["reconcile", "notes", "list", "--org", "c_f205", "--json"]), serde_json::json!([]));
    let all = ok_json(&dir, &["reconcile", "notes", "list", "--org", "c_f205", "--with-hidden", "--json"]);
    assert_eq!(all[0]["hidden"], true);
    let keyless =
        run(&dir, &["reconcile", "notes", "add", "--org", "c_f205", "--label", "TES_NO_MATCH", "--text", "x"], None);
    assert_eq!(keyless.status.code(), Some(2));
}

fn json_of(out: &std::process::Output) -> Value {
    serde_json::from_str(&stdout(out)).unwrap_or_else(|err| panic!("{err}: {}", stdout(out)))
}

#[test]
fn reconcile_commands() {
    let (tmp, dir) = data_dir();
    add_milano(&dir);
    let out = run(&dir, &["reconcile", "settings", "--org", "c_f205", "--json"], None);
    assert_eq!(json_of(&out), json!({ "org": "c_f205", "pagati": false, "tesoreria": false }));
    let out = run(
        &dir,
        &["reconcile", "settings", "--org", "c_f205", "--pagati", "true", "--tesoreria", "true", "--json"],
        None,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(json_of(&out), json!({ "org": "c_f205", "pagati": true, "tesoreria": true }));

    // Refused before anything is stored: the kind cannot be told, is not uploaded, the name is no ZIP.
    let unknown = tmp.path().join("c_f205-XYZ-1_0.zip");
    std::fs::write(&unknown, b"not a zip").unwrap();
    let out = run(&dir, &["reconcile", "import", unknown.to_str().unwrap(), "--org", "c_f205"], None);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("cannot tell the kind"), "{}", stderr(&out));
    let out = run(&dir, &["reconcile", "import", unknown.to_str().unwrap(), "--org", "c_f205", "--kind", "E"], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--kind E: one of C, O, T, Y, P, D"), "{}", stderr(&out));

    // A file its reader cannot read is refused whole (ERROR_LOAD), exit 2.
    let broken = tmp.path().join("c_f205-GDC20240520-1_0.zip");
    std::fs::write(&broken, b"not a zip").unwrap();
    let out = run(&dir, &["reconcile", "import", broken.to_str().unwrap(), "--org", "c_f205", "--json"], None);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let upload = json_of(&out);
    assert_eq!(upload["state"], "ERROR_LOAD");
    assert_eq!(upload["kind"], "C");
    assert_eq!(upload["rows_loaded"], Value::Null);

    let out = run(&dir, &["reconcile", "status", "--org", "c_f205", "--json"], None);
    assert_eq!(json_of(&out).as_array().map(Vec::len), Some(1));
    let out = run(&dir, &["reconcile", "list", "--org", "c_f205", "--json"], None);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(json_of(&out), json!([]));
    let out = run(&dir, &["reconcile", "list", "--org", "c_f205", "--label", "RT_NOPE"], None);
    assert_eq!(out.status.code(), Some(2));
    let out = run(&dir, &["reconcile", "summary", "--org", "c_f205", "--json"], None);
    assert_eq!(json_of(&out), json!([]));

    // A loaded file with a refused row: `--json` gives the rejects ZIP's path, holding the CSV
    // named after the upload.
    let csv = "anno;numero;data;ordinante;causale;importo;valuta\n\
               2024;1;2024-05-20;ROSSI MARIO;BONIFICO;10.00;2024-05-20\n\
               2024;2;2024-05-20;ROSSI MARIO;BONIFICO;10,00;2024-05-20\n";
    let file = zip_upload(tmp.path(), "c_f205-GDC20240521-1_0", csv);
    let upload = ok_json(&dir, &["reconcile", "import", &file, "--org", "c_f205", "--json"]);
    assert_eq!(
        (upload["state"].clone(), upload["rows_loaded"].clone(), upload["rows_rejected"].clone()),
        (json!("FILE_CARICATO"), json!(1), json!(1))
    );
    let rejects = upload["rejects_file"].as_str().unwrap();
    assert!(rejects.ends_with(&format!("{}_SCARTI.zip", upload["id"])), "{rejects}");
    let mut archive = zip::ZipArchive::new(std::fs::File::open(rejects).unwrap()).unwrap();
    let mut entry = archive.by_index(0).unwrap();
    assert_eq!(entry.name(), "c_f205-GDC20240521-1_0.csv");
    let mut text = String::new();
    std::io::Read::read_to_string(&mut entry, &mut text).unwrap();
    assert_eq!(
        text,
        "numRiga;campi;errorMessage\n3;2024;2;2024-05-20;ROSSI MARIO;BONIFICO;10,00;2024-05-20;\
         |importo [10,00] non valido: formato atteso 1234.56\n"
    );
}

/// §1.5: legacy Poste lines are reporting rows without IUV: not paid (IUV_NO_RT) and, until the
/// operator gives their flow's IUF, not credited (IUF_NO_TES); with it they meet the treasury
/// movement naming that flow, whose amount is compared with the lines' total.
#[test]
fn legacy_poste_lines_meet_the_treasury_by_the_operators_iuf() {
    let (tmp, dir) = data_dir();
    add_milano(&dir);
    ok_json(&dir, &["reconcile", "settings", "--org", "c_f205", "--pagati", "true", "--tesoreria", "true", "--json"]);
    let poste = "Data_Operazione,Ufficio_Postale,Valuta,Importo,Data_Accredito,Quarto_campo\n\
                 16/05/2024,55123,E,150.00,17/05/2024,*00000001234567890123*\n\
                 16/05/2024,55123,E,80.00,17/05/2024,*00000001234567890124*\n\
                 16/05/2024,55124,E,45.50,17/05/2024,*00000001234567890125*\n\
                 17/05/2024,55124,E,25.00,18/05/2024,*00000001234567890126*\n\
                 17/05/2024,55125,E,60.00,18/05/2024,*00000001234567890127*\n";
    let file = zip_upload(tmp.path(), "c_f205-RENDPOSTE20240518", poste);
    let upload = ok_json(&dir, &["reconcile", "import", &file, "--org", "c_f205", "--json"]);
    assert_eq!((upload["kind"].clone(), upload["rows_loaded"].clone()), (json!("P"), json!(5)), "{upload}");
    let iuf = "2024-05-18BPPIITRRXXX-P000001";
    let cash = format!(
        "anno;numero;data;ordinante;causale;importo;valuta\n\
         2024;77;2024-05-18;POSTE ITALIANE SPA;/PUR/LGPE-RIVERSAMENTO/URI/{iuf};360.00;2024-05-18\n"
    );
    let file = zip_upload(tmp.path(), "c_f205-GDC20240518-1_0", &cash);
    ok_json(&dir, &["reconcile", "import", &file, "--org", "c_f205", "--json"]);

    let labels = |rows: &Value| -> Vec<(Value, Value)> {
        rows.as_array().unwrap().iter().map(|r| (r["amounts"]["reporting"].clone(), r["labels"].clone())).collect()
    };
    let rows = ok_json(&dir, &["reconcile", "list", "--org", "c_f205", "--json"]);
    let poste_rows = |labels_of: &[&str]| -> Vec<(Value, Value)> {
        ["150.00", "80.00", "45.50", "25.00", "60.00"].iter().map(|a| (json!(a), json!(labels_of))).collect()
    };
    let mut expected = poste_rows(&["IUV_NO_RT", "IUF_NO_TES"]);
    expected.push((Value::Null, json!(["TES_NO_IUF_OR_IUV"])));
    let mut got = labels(&rows);
    got.sort_by_key(|(a, _)| a.to_string());
    expected.sort_by_key(|(a, _)| a.to_string());
    assert_eq!(got, expected, "{rows}");

    // The operator gives the flow's IUF: the lines (360.50) meet the movement (360.00).
    let id = upload["id"].as_i64().unwrap().to_string();
    let set = ok_json(&dir, &["reconcile", "poste-flow", "--org", "c_f205", "--upload", &id, "--iuf", iuf, "--json"]);
    assert_eq!(set, json!({ "upload": upload["id"], "iuf": iuf.to_uppercase(), "lines": 5 }));
    let rows = ok_json(&dir, &["reconcile", "list", "--org", "c_f205", "--json"]);
    let mut got = labels(&rows);
    got.sort_by_key(|(a, _)| a.to_string());
    let mut expected = poste_rows(&["IUV_NO_RT", "IUF_TES_DIV_IMP"]);
    expected.sort_by_key(|(a, _)| a.to_string());
    assert_eq!(got, expected, "the movement joined the lines: {rows}");
    let first = &rows.as_array().unwrap()[0];
    assert_eq!(
        (
            first["iuf"].clone(),
            first["amounts"]["reporting_flow_total"].clone(),
            first["amounts"]["treasury_by_iuf"].clone()
        ),
        (json!(iuf.to_uppercase()), json!("360.50"), json!("360.00"))
    );

    // Only a loaded P upload takes an IUF.
    let out = run(&dir, &["reconcile", "poste-flow", "--org", "c_f205", "--upload", "2", "--iuf", iuf], None);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("is no Poste rendicontazione (P)"), "{}", stderr(&out));
    let out = run(&dir, &["reconcile", "poste-flow", "--org", "c_f205", "--upload", &id, "--iuf", "A B"], None);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
}

/// `mypay reconcile export`: the giornale di cassa of mypivot.md §7.4 loaded, the export of its
/// movements in 1.4 (byte-exact lines), and the states that end it otherwise, with their exit codes.
#[test]
fn reconcile_export_writes_mypivots_file_and_its_states() {
    use std::io::Read;
    let (tmp, dir) = data_dir();
    add_milano(&dir);
    let out =
        run(&dir, &["reconcile", "settings", "--org", "c_f205", "--pagati", "false", "--tesoreria", "true"], None);
    assert!(out.status.success(), "{}", stderr(&out));
    let csv = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/recon/c_x999-GDC20240520-1_0.csv"
    ));
    let cash = zip_upload(tmp.path(), "c_f205-GDC20240520-1_0", &csv.unwrap());
    let out = run(&dir, &["reconcile", "import", &cash, "--org", "c_f205", "--json"], None);
    assert!(out.status.success(), "{}", stderr(&out));

    let file = tmp.path().join("out.zip");
    let file_arg = file.to_str().unwrap();
    let args = ["reconcile", "export", "--org", "c_f205", "--from", "2024-05-01", "--to", "2024-05-31"];
    let out = run(&dir, &[&args[..], &["--version", "1.4", "-o", file_arg, "--json"]].concat(), None);
    assert!(out.status.success(), "{}", stderr(&out));
    let done = json_of(&out);
    assert_eq!((done["state"].as_str(), done["rows"].as_i64()), (Some("EXPORT_ESEGUITO"), Some(5)));
    let name = done["file"].as_str().unwrap();
    assert!(
        name.starts_with(&format!("c_f205-{}_ESTRAZIONE_RICONCILIAZIONE_", done["id"])) && name.ends_with("-1_4.zip")
    );
    let mut zip = zip::ZipArchive::new(std::fs::File::open(&file).unwrap()).unwrap();
    let mut text = String::new();
    zip.by_name(&name.replace(".zip", ".csv")).unwrap().read_to_string(&mut text).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 6);
    assert!(lines[0].starts_with(r#""deNomeFlussoE";"numRigaFlussoE";"codIudE";"#), "{}", lines[0]);
    assert!(lines[0].ends_with(r#""classificazioneCompletezza";"dtDataUltimoAggiornamento";"cod_tipo_dovuto_pa1";"de_tipo_dovuto_pa1";"cod_tassonomico_dovuto_pa1";"cod_fiscale_pa1";"de_nome_pa1""#));
    assert_eq!(lines[0].split(';').count(), 120, "1.4 without the I block: the org sends no notifications");
    // Each movement joins nothing here (no receipts, no flows): the keyless one is TES_NO_MATCH.
    let keyless = lines.iter().find(|l| l.contains("TES_NO_MATCH")).unwrap();
    let cells: Vec<&str> = keyless.split(';').collect();
    let acquired = cells[cells.len() - 6].trim_matches('"');
    let empties = |n: usize| vec![r#""""#; n].join(";");
    let expected = format!(
        r#"{};"2024-05-20";"2024-05-20";"500.00";"";"BONIFICO AFFITTO LOCALI COMUNALI APRILE 2024";"";"";"";"";"";"BIANCHI LUIGI";"";"";"{acquired}";"2024";"1205";"";"";"";"";"";"";"";"";"TES_NO_MATCH";"{acquired}";{}"#,
        // E (65), bilancioE, R (19), then ABI, CAB, account and currency, which a C row has not.
        empties(65 + 1 + 19 + 4),
        empties(5)
    );
    assert_eq!(*keyless, expected);
    assert_eq!(lines.iter().filter(|l| l.contains(r#""TES_NO_IUF_OR_IUV""#)).count(), 4);

    // Nothing in the period: exit 0, no file.
    std::fs::remove_file(&file).unwrap();
    let out = run(
        &dir,
        &[
            "reconcile",
            "export",
            "--org",
            "c_f205",
            "--from",
            "2025-01-01",
            "--to",
            "2025-01-31",
            "--version",
            "1.2",
            "-o",
            file_arg,
        ],
        None,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).ends_with("EXPORT_ESEGUITO_NESSUN_RECORD_TROVATO: nothing matched, no file written\n"),
        "{}",
        stdout(&out)
    );
    assert!(!file.exists());
    // Refused by its state: exit 2, the state and why on stderr.
    let out = run(&dir, &[&args[..], &["--version", "1.5", "-o", file_arg]].concat(), None);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("VERSIONE_TRACCIATO_ERRATA: version \"1.5\" is not one of 1.0 .. 1.4"),
        "{}",
        stderr(&out)
    );
    let out =
        run(&dir, &[&args[..], &["--version", "1.2", "--max-rows", "3", "-o", file_arg, "--json"]].concat(), None);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(json_of(&out)["state"], "NUMERO_MASSIMO_EXPORT_RIGHE_CONSENTITO_SUPERATO");
    let out = run(&dir, &[&args[..], &["--version", "1.2", "--label", "RT_NO_IUD", "-o", file_arg]].concat(), None);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("CLASSIFICAZIONE_COMPLETEZZA_NON_VALIDA"), "{}", stderr(&out));
    let out = run(&dir, &[&args[..], &["--version", "1.4", "--headers", "xml", "-o", file_arg]].concat(), None);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--headers xml: one of mypivot, p4pa"), "{}", stderr(&out));
    assert!(!file.exists());
}
