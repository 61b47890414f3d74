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
}
