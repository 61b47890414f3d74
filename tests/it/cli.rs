//! The administrative CLI: contracts of its commands, exit codes, and bad input that must change
//! nothing.

use crate::support::{data_dir, run, stderr, stdout};

fn json(out: &std::process::Output) -> serde_json::Value {
    assert!(out.status.success(), "stdout: {}\nstderr: {}", stdout(out), stderr(out));
    serde_json::from_str(&stdout(out)).unwrap()
}

fn add_org(dir: &std::path::Path) {
    let out = run(
        dir,
        &[
            "org",
            "add",
            "c_f205",
            "--fiscal-code",
            "01199250158",
            "--name",
            "Comune di Milano",
            "--segregation-code",
            "02",
            "--iban",
            "IT60 X054 2811 1010 0000 0123 456",
            "--state",
            "ESERCIZIO",
            "--mode",
            "ente",
            "--json",
        ],
        None,
    );
    let org = json(&out);
    assert_eq!(org["ipa_code"], "c_f205");
    assert_eq!(org["adhesion"]["mode"], "ente");
    assert_eq!(org["iban"], "IT60X0542811101000000123456");
    assert_eq!(org["state"], "ESERCIZIO");
}

#[test]
fn orgs_debt_types_operators_and_debts_round_trip() {
    let (_tmp, dir) = data_dir();
    add_org(&dir);
    let org = json(&run(&dir, &["org", "show", "c_f205", "--json"], None));
    assert_eq!(org["name"], "Comune di Milano");
    assert_eq!(org["sil_password_set"], false);

    let t = json(&run(
        &dir,
        &[
            "debt-type",
            "add",
            "--org",
            "c_f205",
            "--code",
            "TARI",
            "--description",
            "Tassa rifiuti",
            "--taxonomy",
            "0101002IM",
            "--due-date-mandatory",
            "--json",
        ],
        None,
    ));
    assert_eq!(t["code"], "TARI");
    assert_eq!(t["due_date_mandatory"], true);
    assert_eq!(t["spontaneous"], false);
    let t = json(&run(
        &dir,
        &["debt-type", "set", "--org", "c_f205", "--code", "TARI", "--amount", "30.00", "--json"],
        None,
    ));
    assert_eq!(t["amount"], "30.00");
    assert_eq!(t["amount_cents"], 3000);

    let d = json(&run(
        &dir,
        &[
            "debt",
            "add",
            "--org",
            "c_f205",
            "--debt-type",
            "TARI",
            "--iud",
            "TARI-1",
            "--generate-iuv",
            "--debtor-id",
            "RSSMRA85T10A562S",
            "--debtor-name",
            "Mario Rossi",
            "--amount",
            "120.50",
            "--due-date",
            "2099-12-31",
            "--causale",
            "TARI 2099",
            "--json",
        ],
        None,
    ));
    // The first IUV17 of segregation code 02 and generator 00: counter 1.
    assert_eq!(d["iuv"], "02000000000000184");
    assert_eq!(d["notice_number"], "302000000000000184");
    assert_eq!(d["notice_number_grouped"], "3020 0000 0000 0001 84");
    assert_eq!(d["amount"], "120.50");
    assert_eq!(d["state"], "INSERIMENTO_DOVUTO");
    assert_eq!(d["collection_data"], "9/0101002IM/");
    let second = json(&run(
        &dir,
        &[
            "debt",
            "add",
            "--org",
            "c_f205",
            "--debt-type",
            "TARI",
            "--iud",
            "TARI-2",
            "--generate-iuv",
            "--debtor-id",
            "RSSMRA85T10A562S",
            "--debtor-name",
            "Mario Rossi",
            "--amount",
            "1",
            "--due-date",
            "2099-12-31",
            "--causale",
            "TARI 2099",
            "--json",
        ],
        None,
    ));
    assert_eq!(second["notice_number"], "302000000000000285");
    let shown =
        json(&run(&dir, &["debt", "show", "--org", "c_f205", "--notice", "3020 0000 0000 0001 84", "--json"], None));
    assert_eq!(shown["iud"], "TARI-1");

    let op = json(&run(
        &dir,
        &[
            "operator",
            "add",
            "--org",
            "c_f205",
            "--username",
            "mrossi",
            "--role",
            "operator",
            "--password-stdin",
            "--json",
        ],
        Some("Una password sicura 1\n"),
    ));
    assert_eq!(op["roles"][0]["role"], "operator");
    let op = json(&run(
        &dir,
        &["operator", "grant", "--username", "mrossi", "--org", "c_f205", "--debt-type", "TARI", "--json"],
        None,
    ));
    assert_eq!(op["debt_types"][0]["code"], "TARI");
    let op = json(&run(
        &dir,
        &["operator", "revoke", "--username", "mrossi", "--org", "c_f205", "--debt-type", "TARI", "--json"],
        None,
    ));
    assert_eq!(op["debt_types"].as_array().unwrap().len(), 0);
    let out =
        run(&dir, &["operator", "passwd", "--username", "mrossi", "--password-stdin"], Some("Un'altra password 2\n"));
    assert!(out.status.success(), "{}", stderr(&out));

    let out = run(&dir, &["org", "set", "c_f205", "--sil-password-stdin", "--json"], Some("silpass123\n"));
    assert_eq!(json(&out)["sil_password_set"], true);
}

/// Runs a command that must fail with exit 2 and a message containing `expected`.
fn refused(dir: &std::path::Path, args: &[&str], stdin: Option<&str>, expected: &str) {
    let out = run(dir, args, stdin);
    assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
    assert!(stderr(&out).contains(expected), "{args:?}: {}", stderr(&out));
}

#[test]
fn bad_input_exits_2_and_writes_nothing() {
    let (_tmp, dir) = data_dir();
    let base = ["org", "add", "c_x", "--name", "Comune X"];
    let with = |extra: &[&'static str]| -> Vec<&str> { base.iter().copied().chain(extra.iter().copied()).collect() };
    refused(&dir, &with(&["--fiscal-code", "01199250159", "--segregation-code", "01"]), None, "invalid fiscal-code");
    refused(&dir, &with(&["--fiscal-code", "0119925015", "--segregation-code", "01"]), None, "invalid fiscal-code");
    refused(
        &dir,
        &with(&["--fiscal-code", "01199250158", "--segregation-code", "1A"]),
        None,
        "invalid segregation-code",
    );
    refused(
        &dir,
        &with(&["--fiscal-code", "01199250158", "--segregation-code", "100"]),
        None,
        "invalid segregation-code",
    );
    refused(
        &dir,
        &with(&["--fiscal-code", "01199250158", "--segregation-code", "01", "--iban", "IT60X0542811101000000123457"]),
        None,
        "invalid iban-bank",
    );
    refused(&dir, &with(&["--fiscal-code", "01199250158"]), None, "invalid segregation-code: is required");
    let orgs = json(&run(&dir, &["org", "list", "--json"], None));
    assert_eq!(orgs.as_array().unwrap().len(), 0, "a refused command wrote something");

    add_org(&dir);
    refused(
        &dir,
        &["org", "add", "c_f205", "--fiscal-code", "02438750586", "--name", "Altro", "--segregation-code", "03"],
        None,
        "already exists",
    );
    refused(&dir, &["org", "set", "c_f205", "--state", "INSERITO"], None, "cannot go from ESERCIZIO to INSERITO");
    refused(&dir, &["org", "set", "c_f205", "--sil-password-stdin"], Some("short\n"), "must be 8 to 15 characters");
    refused(
        &dir,
        &["debt-type", "add", "--org", "c_f205", "--code", "X", "--description", "X", "--taxonomy", "0101002XX"],
        None,
        "invalid taxonomy",
    );
    refused(
        &dir,
        &["operator", "add", "--org", "c_f205", "--username", "u1", "--role", "boss", "--password-stdin"],
        Some("Una password sicura 1\n"),
        "invalid role",
    );
    refused(
        &dir,
        &["operator", "add", "--org", "c_f205", "--username", "weak", "--role", "operator", "--password-stdin"],
        Some("corta\n"),
        "at least 10 characters",
    );

    json(&run(
        &dir,
        &[
            "debt-type",
            "add",
            "--org",
            "c_f205",
            "--code",
            "TARI",
            "--description",
            "Tassa rifiuti",
            "--taxonomy",
            "0101002IM",
            "--due-date-mandatory",
            "--json",
        ],
        None,
    ));
    let debt =
        |iud: &'static str, debtor: &'static str, amount: &'static str, due: &'static str| -> Vec<&'static str> {
            vec![
                "debt",
                "add",
                "--org",
                "c_f205",
                "--debt-type",
                "TARI",
                "--iud",
                iud,
                "--debtor-id",
                debtor,
                "--debtor-name",
                "Mario Rossi",
                "--amount",
                amount,
                "--due-date",
                due,
                "--causale",
                "TARI",
            ]
        };
    refused(
        &dir,
        &debt("D1", "RSSMRA85T10A562X", "10.00", "2099-01-01"),
        None,
        "PAA_IMPORT_SINTASSI_CSV_COD_FISC_P_IVA",
    );
    refused(
        &dir,
        &debt("D1", "RSSMRA85T10A562S", "10,00", "2099-01-01"),
        None,
        "PAA_IMPORT_SINTASSI_CSV: IMPORTO_DOVUTO NON CONFROME: 10,00",
    );
    refused(
        &dir,
        &debt("D1", "RSSMRA85T10A562S", "10.00", "2000-01-01"),
        None,
        "PAA_IMPORT_SINTASSI_CSV_DATA_SCADENZA_PAGAMENTO",
    );
    refused(&dir, &debt("000D1", "RSSMRA85T10A562S", "10.00", "2099-01-01"), None, "PAA_IMPORT_SINTASSI_CSV_IUD");
    assert!(run(&dir, &debt("D1", "RSSMRA85T10A562S", "10.00", "2099-01-01"), None).status.success());
    refused(&dir, &debt("D1", "RSSMRA85T10A562S", "10.00", "2099-01-01"), None, "PAA_IMPORT_IUD_DUPLICATO");
    let debts = json(&run(&dir, &["debt", "list", "--org", "c_f205", "--json"], None));
    assert_eq!(debts.as_array().unwrap().len(), 1);
}

#[test]
fn configuration_errors_name_the_key() {
    let (tmp, dir) = data_dir();
    let config = tmp.path().join("mypay.toml");
    std::fs::write(&config, "version = 1\n[server]\nlisten = \"127.0.0.1:8080\"\nlisten_port = 9\n").unwrap();
    refused(&dir, &["--config", config.to_str().unwrap(), "config", "show"], None, "unknown field `listen_port`");
    std::fs::write(&config, "version = 1\n[station]\nbroker_id = \"123\"\n").unwrap();
    refused(
        &dir,
        &["--config", config.to_str().unwrap(), "config", "check"],
        None,
        "station.broker_id: \"123\" must be 11 digits",
    );
    refused(
        &dir,
        &["--config", "/nonexistent/mypay.toml", "config", "show"],
        None,
        "cannot read configuration file /nonexistent/mypay.toml",
    );

    let packaged = concat!(env!("CARGO_MANIFEST_DIR"), "/packaging/mypay.toml");
    let out = run(&dir, &["--config", packaged, "config", "check"], None);
    assert!(out.status.success(), "{}", stderr(&out));
    let shown = json(&run(&dir, &["--config", packaged, "config", "show", "--json"], None));
    assert_eq!(shown["station"]["broker_id"], "01234567890");
    assert_eq!(shown["station"]["station_id"], "01234567890_01");
    assert_eq!(shown["station"]["password"], "");
}

#[test]
fn every_command_has_help() {
    let (_tmp, dir) = data_dir();
    for cmd in [
        vec!["serve"],
        vec!["demo"],
        vec!["config", "check"],
        vec!["config", "show"],
        vec!["org", "add"],
        vec!["org", "list"],
        vec!["org", "show"],
        vec!["org", "set"],
        vec!["debt-type", "add"],
        vec!["debt-type", "list"],
        vec!["debt-type", "show"],
        vec!["debt-type", "set"],
        vec!["operator", "add"],
        vec!["operator", "list"],
        vec!["operator", "passwd"],
        vec!["operator", "grant"],
        vec!["operator", "revoke"],
        vec!["debt", "add"],
        vec!["debt", "list"],
        vec!["debt", "show"],
        vec!["cert", "csr"],
        vec!["cert", "self-signed"],
        vec!["backup"],
        vec!["restore"],
        vec!["healthcheck"],
    ] {
        let mut args = cmd.clone();
        args.push("--help");
        let out = run(&dir, &args, None);
        assert!(out.status.success(), "{cmd:?}");
        let text = stdout(&out);
        assert!(text.contains("--data-dir") && text.contains("--config"), "{cmd:?}: {text}");
    }
}

/// What a person setting mypay up for the first time trips over gets a plain answer: where the
/// settings go, a data directory that holds no database, empty lists, no Node to fetch from; and
/// commands that print data print JSON for scripts.
#[test]
fn day_one_trips_get_plain_answers_and_json() {
    let (_tmp, dir) = data_dir();
    if !std::path::Path::new("/etc/mypay/mypay.toml").exists() {
        let out = run(&dir, &["serve"], None);
        assert_eq!(out.status.code(), Some(2));
        assert!(
            stderr(&out).ends_with(
                "\nno configuration file was read: give one with --config FILE (a commented example is \
                 packaging/mypay.toml, installed as /etc/mypay/mypay.toml) or set MYPAY_<SECTION>_<KEY> variables; \
                 to try mypay without any configuration, run `mypay demo`\n"
            ),
            "{}",
            stderr(&out)
        );
    }
    // A backup of a data directory without a database is refused, and makes none.
    let copy = dir.with_file_name("copy.db");
    let out = run(&dir, &["backup", "--to", copy.to_str().unwrap()], None);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        stderr(&out),
        format!(
            "error: no database at {}: start `mypay serve` (or run a command that writes, such as `mypay org add`) \
             first\n",
            dir.join("mypay.db").display()
        )
    );
    assert!(!dir.join("mypay.db").exists() && !copy.exists());

    add_org(&dir);
    let empty = run(&dir, &["debt-type", "list", "--org", "c_f205"], None);
    assert_eq!(
        (stdout(&empty).as_str(), stderr(&empty).as_str()),
        ("", "org c_f205 has no debt types yet: add one with `mypay debt-type add --org c_f205 --code ...`\n")
    );
    let empty = run(&dir, &["api-token", "list", "--org", "c_f205"], None);
    assert_eq!(stderr(&empty), "org c_f205 has no API tokens: create one with `mypay api-token create --org c_f205`\n");
    let empty = run(&dir, &["import", "--list", "--org", "c_f205"], None);
    assert_eq!(stderr(&empty), "org c_f205 has no imports yet: mypay import FILE.zip --org c_f205\n");

    // Flags in English, like every other word of the CLI.
    let add = ["debt-type", "add", "--org", "c_f205", "--code", "CERT", "--description", "Certificati"];
    assert!(
        run(&dir, &[&add[..], &["--taxonomy", "0101002IM", "--spontaneous", "--amount", "16.00"]].concat(), None)
            .status
            .success()
    );
    let list = stdout(&run(&dir, &["debt-type", "list", "--org", "c_f205"], None));
    assert_eq!(list, format!("{:<24} {:<18} {}\n", "CERT", "active,spontaneous", "Certificati"));

    let out = run(&dir, &["reporting", "fetch"], None);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        stderr(&out),
        "error: no pagoPA Node to fetch reporting flows from: set node.base_url (MYPAY_NODE_BASE_URL), the pagoPA \
         Node's address, or give it with --node URL; from a running `mypay demo`, add --demo\n"
    );

    // --json where a command prints data.
    let token = json(&run(&dir, &["api-token", "create", "--org", "c_f205", "--json"], None));
    let id = token["id"].as_i64().unwrap().to_string();
    let revoked = json(&run(&dir, &["api-token", "revoke", "--org", "c_f205", &id, "--json"], None));
    assert_eq!(revoked, serde_json::json!({ "id": token["id"], "org": "c_f205", "revoked": true }));
    let debt = json(&run(
        &dir,
        &[
            "debt",
            "add",
            "--org",
            "c_f205",
            "--debt-type",
            "CERT",
            "--iud",
            "CERT-1",
            "--generate-iuv",
            "--debtor-id",
            "RSSMRA85T10A562S",
            "--debtor-name",
            "Mario Rossi",
            "--amount",
            "16.00",
            "--causale",
            "Certificato",
            "--json",
        ],
        None,
    ));
    let pdf = dir.with_file_name("avviso.pdf");
    let wrote = json(&run(
        &dir,
        &["notice", "pdf", "--org", "c_f205", "--iud", "CERT-1", "-o", pdf.to_str().unwrap(), "--json"],
        None,
    ));
    let bytes = std::fs::metadata(&pdf).unwrap().len();
    assert_eq!(
        wrote,
        serde_json::json!({ "org": "c_f205", "notice_number": debt["notice_number"], "output": pdf.display().to_string(), "bytes": bytes })
    );
}

/// A reader that goes away (`mypay config show --demo | head -1`) stops the command quietly with
/// the shell's SIGPIPE status, not with a panic and its backtrace.
#[test]
fn a_closed_pipe_ends_a_command_quietly() {
    let (_tmp, dir) = data_dir();
    let mut child = std::process::Command::new(crate::support::bin())
        .args(["config", "show", "--demo", "--data-dir"])
        .arg(&dir)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("panicked"), "{err}");
    assert!(matches!(out.status.code(), Some(0) | Some(141)), "{:?}: {err}", out.status);
}
