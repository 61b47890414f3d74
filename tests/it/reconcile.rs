//! `mypay reconcile`: the org's flags, uploads refused with their reasons and `mypay import`'s exit
//! codes, the list's JSON, the uploads' status.

use serde_json::{Value, json};

use super::support::{add_milano, data_dir, run, stderr, stdout};

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
