//! Receipt exports (layouts 1.0-1.3) and the expired-debts export, from receipts delivered by the
//! simulator to the real station.

use std::io::Read;
use std::path::Path;

use crate::station::{call, envelope, open_debts};
use crate::support::{Server, data_dir, post, run, stderr, stdout};

/// Parses MyPay's export CSV: `;`, every field quoted, `"` doubled, newlines allowed inside quotes.
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut field = String::new();
    let mut chars = text.chars().peekable();
    let mut quoted = false;
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            (true, '"') => quoted = false,
            (true, other) => field.push(other),
            (false, '"') => quoted = true,
            (false, ';') => row.push(std::mem::take(&mut field)),
            (false, '\n') => {
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            (false, other) => field.push(other),
        }
    }
    rows
}

fn read_zip(path: &Path) -> (String, String) {
    let mut archive = zip::ZipArchive::new(std::fs::File::open(path).unwrap()).unwrap();
    assert_eq!(archive.len(), 1);
    let mut entry = archive.by_index(0).unwrap();
    let mut text = String::new();
    entry.read_to_string(&mut text).unwrap();
    (entry.name().to_owned(), text)
}

fn export(dir: &Path, args: &[&str]) -> serde_json::Value {
    let mut all = vec!["export", "--json"];
    all.extend_from_slice(args);
    let out = run(dir, &all, None);
    assert!(out.status.success(), "{}", stderr(&out));
    serde_json::from_str(&stdout(&out)).unwrap()
}

fn pay_at_psp(sim: &str, notice: &str) {
    let body = format!(r#"{{"fiscalCode":"01234567897","noticeNumber":"{notice}"}}"#);
    let reply = post(&format!("{sim}/sim/psp/pay"), "application/json", body.as_bytes());
    assert!(reply.body.contains("\"outcome\":\"OK\""), "{}", reply.body);
}

fn simulator(server: &Server) -> String {
    let line = server.banner.iter().find(|l| l.contains("pagoPA simulator")).unwrap();
    line.rsplit(' ').next().unwrap().trim_end_matches('/').to_owned()
}

fn today() -> String {
    mypay::testing::clock::Now::read().today().to_string()
}

#[test]
fn layouts_quoting_and_selection() {
    let (tmp, dir) = data_dir();
    let server = Server::start(&dir, &["demo"]);
    let sim = simulator(&server);
    // A causale with every character the CSV must protect.
    let tricky = "TARI \"saldo\"; rata 1\nseconda riga";
    let out = run(
        &dir,
        &[
            "debt",
            "add",
            "--org",
            "c_esempio",
            "--debt-type",
            "TARI",
            "--iud",
            "TRICKY-1",
            "--generate-iuv",
            "--debtor-id",
            "RSSMRA85T10A562S",
            "--debtor-name",
            "Mario Rossi",
            "--amount",
            "42.10",
            "--due-date",
            "2099-12-31",
            "--causale",
            tricky,
            "--json",
        ],
        None,
    );
    let tricky_debt: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    pay_at_psp(&sim, tricky_debt["notice_number"].as_str().unwrap());
    let debts = open_debts(&dir);
    pay_at_psp(&sim, &debts[0].1);

    let day = today();
    for (version, with_receipt, columns) in
        [("1.0", false, 64), ("1.1", true, 70), ("1.2", false, 65), ("1.3", true, 74)]
    {
        let file = tmp.path().join(format!("export-{version}.zip"));
        let mut args = vec![
            "--org",
            "c_esempio",
            "--from",
            &day,
            "--to",
            &day,
            "--version",
            version,
            "-o",
            file.to_str().unwrap(),
        ];
        if with_receipt {
            args.push("--with-receipt");
        }
        let result = export(&dir, &args);
        assert_eq!(result["state"], "EXPORT_ESEGUITO");
        assert_eq!(result["rows"], 2);
        let (name, text) = read_zip(&file);
        if version == "1.0" {
            assert!(name.contains("_ESTRAZIONE_DOVUTI_") && name.ends_with(".csv"), "{name}");
        } else {
            assert!(
                name.starts_with("c_esempio-") && name.ends_with(&format!("-{}.csv", version.replace('.', "_"))),
                "{name}"
            );
        }
        let rows = parse_csv(&text);
        assert_eq!(rows.len(), 3, "header + 2 rows");
        for row in &rows {
            assert_eq!(row.len(), columns, "{version}");
        }
        assert_eq!(rows[0][0], "iuf");
        assert_eq!(rows[0][63], "tipoDovuto");
        let tricky_row = rows.iter().find(|r| r[2] == "TRICKY-1").unwrap();
        assert_eq!(tricky_row[61], tricky, "the causale round-trips through a CSV parser");
        assert_eq!(tricky_row[54], "42.10");
        assert_eq!(tricky_row[57], "42.10");
        assert_eq!(tricky_row[63], "TARI");
        assert_eq!(tricky_row[5], "01234567897");
        if with_receipt {
            use base64::Engine as _;
            let rt = base64::engine::general_purpose::STANDARD.decode(&tricky_row[65]).unwrap();
            assert!(String::from_utf8(rt).unwrap().contains("paSendRT"), "the rt column is the receipt as received");
        }
    }

    // Debt-type filter and an empty selection.
    let file = tmp.path().join("none.zip");
    let result = export(
        &dir,
        &["--org", "c_esempio", "--from", "2000-01-01", "--to", "2000-01-31", "-o", file.to_str().unwrap()],
    );
    assert_eq!(result["state"], "EXPORT_ESEGUITO");
    assert_eq!(result["rows"], 0);
    assert!(result["file"].is_null());
    assert!(!file.exists());
    let result = export(
        &dir,
        &[
            "--org",
            "c_esempio",
            "--from",
            &day,
            "--to",
            &day,
            "--debt-type",
            "CERT_ANAGRAFICI",
            "-o",
            file.to_str().unwrap(),
        ],
    );
    assert_eq!(result["rows"], 0);
}

#[test]
fn incremental_windows_neither_skip_nor_repeat() {
    let (tmp, dir) = data_dir();
    let server = Server::start(&dir, &["demo"]);
    let sim = simulator(&server);
    let debts = open_debts(&dir);
    let stamp = || mypay::testing::clock::Now::read().rome().strftime("%Y-%m-%dT%H:%M:%S").to_string();
    let t0 = stamp();
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let mut bounds = vec![t0];
    for debt in debts.iter().take(3) {
        pay_at_psp(&sim, &debt.1);
        std::thread::sleep(std::time::Duration::from_millis(1100));
        bounds.push(stamp());
        std::thread::sleep(std::time::Duration::from_millis(1100));
    }
    let mut seen = Vec::new();
    for window in bounds.windows(2) {
        let file = tmp.path().join("inc.zip");
        let result = export(
            &dir,
            &[
                "--org",
                "c_esempio",
                "--incremental",
                "--from",
                &window[0],
                "--to",
                &window[1],
                "-o",
                file.to_str().unwrap(),
            ],
        );
        assert_eq!(result["rows"], 1, "{window:?}");
        let rows = parse_csv(&read_zip(&file).1);
        seen.push(rows[1][2].clone());
    }
    let mut expected: Vec<String> = debts.iter().take(3).map(|d| d.0.clone()).collect();
    seen.sort();
    expected.sort();
    assert_eq!(seen, expected);
}

#[test]
fn secondary_beneficiary_rows_and_operator_filtering() {
    let (tmp, dir) = data_dir();
    let server = Server::start(&dir, &["demo"]);
    crate::support::add_milano(&dir);
    let (_, notice, iuv, cents) = open_debts(&dir).remove(0);
    // A receipt of the demo org with a second transfer to Milano (multi-beneficiary); the debt is
    // made multi-beneficiary first, as a 1_4 row would, so the receipt pays what it asks for.
    let share = 500;
    let conn = rusqlite::Connection::open(dir.join("mypay.db")).unwrap();
    conn.busy_timeout(std::time::Duration::from_secs(10)).unwrap();
    conn.execute(
        "UPDATE debt SET mb_fiscal_code = '01199250158', mb_name = 'Comune di Milano', \
         mb_iban = 'IT60X0542811101000000123456', mb_amount_cents = ?2 WHERE iuv = ?1",
        rusqlite::params![iuv, share],
    )
    .unwrap();
    drop(conn);
    let amount = |c: i64| format!("{}.{:02}", c / 100, c % 100);
    let receipt = crate::station::send_rt_req(&notice, &iuv, cents + share, "5eca0000bbbb1111cccc2222dddd3333", false).replacen(
        "</transfer></transferList>",
        &format!(
            "</transfer><transfer><idTransfer>2</idTransfer><transferAmount>{}</transferAmount><fiscalCodePA>01199250158</fiscalCodePA>\
             <IBAN>IT60X0542811101000000123456</IBAN><remittanceInformation>quota Milano</remittanceInformation>\
             <transferCategory>0201102IM</transferCategory></transfer></transferList>",
            amount(share)
        ),
        1,
    );
    let receipt = receipt.replacen(
        &format!("<transferAmount>{}</transferAmount>", amount(cents + share)),
        &format!("<transferAmount>{}</transferAmount>", amount(cents)),
        1,
    );
    let reply = call(&server, Some("paSendRT"), &receipt);
    assert!(reply.body.contains("<outcome>OK</outcome>"), "{}", reply.body);
    let _ = envelope;

    let day = today();
    let file = tmp.path().join("milano.zip");
    let result = export(
        &dir,
        &[
            "--org",
            "c_f205",
            "--from",
            "2000-01-01",
            "--to",
            "2099-12-31",
            "--version",
            "1.3",
            "-o",
            file.to_str().unwrap(),
        ],
    );
    assert_eq!(result["rows"], 1);
    let rows = parse_csv(&read_zip(&file).1);
    assert_eq!(rows[1][63], "EXPORT_ENTE_SECONDARIO");
    assert_eq!(rows[1][57], "5.00");
    assert_eq!(&rows[1][65..], ["01234567897", "Comune di Esempio", "0201102IM"]);
    // Layouts before 1.3 have no secondary rows.
    let result = export(
        &dir,
        &[
            "--org",
            "c_f205",
            "--from",
            "2000-01-01",
            "--to",
            "2099-12-31",
            "--version",
            "1.2",
            "-o",
            file.to_str().unwrap(),
        ],
    );
    assert_eq!(result["rows"], 0);

    // An operator enabled on CERT_ANAGRAFICI only sees nothing of the TARI receipt.
    let out = run(
        &dir,
        &["operator", "add", "--org", "c_esempio", "--username", "ufficio", "--role", "operator", "--password-stdin"],
        Some("Una password sicura 1\n"),
    );
    assert!(out.status.success());
    assert!(
        run(
            &dir,
            &["operator", "grant", "--username", "ufficio", "--org", "c_esempio", "--debt-type", "CERT_ANAGRAFICI"],
            None
        )
        .status
        .success()
    );
    let (db, _) = mypay::testing::store::Db::open(&dir.join("mypay.db")).unwrap();
    let request =
        |operator: Option<&'static str>, types: Vec<String>| mypay::testing::services::debts::exports::ExportRequest {
            ipa: "c_esempio",
            version: "1.3",
            from: "2000-01-01",
            to: "2099-12-31",
            incremental: false,
            with_receipt: false,
            debt_types: types,
            requested_by: "test",
            operator,
        };
    let now = mypay::testing::clock::Now::read();
    let mut no_progress = |_| {};
    let mut export_as = |req| {
        let record = mypay::testing::services::debts::exports::request_export(&db, &req, false, now).unwrap();
        mypay::testing::services::debts::exports::run_export(&db, tmp.path(), "S", &record, now, &mut no_progress)
            .unwrap()
            .export
            .rows
    };
    assert_eq!(export_as(request(None, vec![])), Some(1));
    assert_eq!(export_as(request(Some("ufficio"), vec![])), Some(0));
    let refused = mypay::testing::services::debts::exports::request_export(
        &db,
        &request(Some("ufficio"), vec!["TARI".to_owned()]),
        false,
        now,
    )
    .unwrap_err();
    assert!(refused.to_string().starts_with("PAA_IDENTIFICATIVO_TIPO_DOVUTO_NON_ABILITATO"), "{refused}");
    let _ = day;
}

#[test]
fn bad_requests_get_mypay_codes() {
    let (tmp, dir) = data_dir();
    let server = Server::start(&dir, &["demo"]);
    let file = tmp.path().join("x.zip");
    let f = file.to_str().unwrap();
    let refused = |args: &[&str], code: &str| {
        let mut all = vec!["export"];
        all.extend_from_slice(args);
        let out = run(&dir, &all, None);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(stderr(&out).contains(code), "{args:?}: {}", stderr(&out));
    };
    refused(
        &["--org", "c_esempio", "--from", "2026-02-01", "--to", "2026-01-01", "-o", f],
        "PAA_INTERVALLO_DATE_NON_VALIDO",
    );
    refused(
        &["--org", "c_esempio", "--from", "2026-01-01", "--to", "2026-01-31", "--version", "2.0", "-o", f],
        "PAA_VERSIONE_TRACCIATO_NON_VALIDA",
    );
    refused(
        &["--org", "c_esempio", "--from", "2026-01-01", "--to", "2026-01-31", "--debt-type", "NOPE", "-o", f],
        "PAA_IDENTIFICATIVO_TIPO_DOVUTO_NON_VALIDO",
    );
    refused(&["--org", "c_esempio", "--from", "01/01/2026", "--to", "2026-01-31", "-o", f], "PAA_DATE_FROM_NON_VALIDO");
    refused(
        &[
            "--org",
            "c_esempio",
            "--incremental",
            "--from",
            "2026-01-01T00:00:00",
            "--to",
            "2999-01-01T00:00:00",
            "-o",
            f,
        ],
        "PAA_DATE_TO_NON_VALIDO",
    );
    drop(server);
}

#[test]
fn expired_debts_export() {
    let (tmp, dir) = data_dir();
    let _server = Server::start(&dir, &["demo"]);
    let debts = open_debts(&dir);
    let conn = rusqlite::Connection::open(dir.join("mypay.db")).unwrap();
    conn.execute("UPDATE debt SET due_date = '2020-01-31' WHERE iud IN (?1, ?2)", [&debts[0].0, &debts[1].0]).unwrap();
    // Created at 23:30 UTC on the eve of each DST change: dataCreazione is the next Italian day.
    let created = [(&debts[0].0, "2026-03-28T23:30:00Z"), (&debts[1].0, "2026-10-25T23:30:00Z")];
    for (iud, at) in created {
        conn.execute("UPDATE debt SET created_at = ?1 WHERE iud = ?2", [at, iud.as_str()]).unwrap();
    }
    drop(conn);
    let file = tmp.path().join("scaduti.zip");
    let out = run(
        &dir,
        &["export-expired", "--org", "c_esempio", "--due-before", "2026-01-01", "--json", "-o", file.to_str().unwrap()],
        None,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let result: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(result["rows"], 2);
    let (name, text) = read_zip(&file);
    assert!(name.starts_with("EXP_SCADUTI_"), "{name}");
    let rows = parse_csv(&text);
    assert_eq!(
        rows[0].join(";"),
        "IUD;codIuv;dataCreazione;tipoIdentificativoUnivoco;codiceIdentificativoUnivoco;anagraficaPagatore;indirizzoPagatore;civicoPagatore;capPagatore;localitaPagatore;provinciaPagatore;nazionePagatore;mailPagatore;dataEsecuzionePagamento;importoDovuto;commissioneCaricoPa;tipoDovuto;tipoVersamento;causaleVersamento;datiSpecificiRiscossione;bilancio;flgGeneraIuv"
    );
    assert_eq!(rows.len(), 3);
    assert!(rows[1..].iter().all(|r| r[13] == "2020-01-31" && r[16] == "TARI"));
    let day = |iud: &str| rows.iter().find(|r| r[0] == iud).map(|r| r[2].clone());
    assert_eq!(day(&debts[0].0).as_deref(), Some("2026-03-29"));
    assert_eq!(day(&debts[1].0).as_deref(), Some("2026-10-26"));
}

/// A debt paid outside pagoPA and recorded by the SIL (paaSILRegistraPagamento) is a row of the
/// receipt export, byte for byte as MyPay writes its "rendicontazione 9" rows: no station, a
/// `-9-` message id, the attestante the SIL named, context code `n/a`, no versante, no receipt.
#[test]
fn payments_recorded_by_the_sil_are_exported_as_mypay_writes_them() {
    use crate::sil::{importa, registra_pagamento, set_password, text_of, versamento};
    let (tmp, dir) = data_dir();
    let server = Server::start(&dir, &["demo"]);
    set_password(&dir, "c_esempio");
    // A causale the CSV must quote.
    let doc = versamento("EXT-1", "8.00", "I", None).replace("Contributo EXT-1", "Contributo \"festa\"; 2026");
    let iuv = text_of(&importa(&server, &doc, true), "identificativoUnivocoVersamento").unwrap();
    let day = today();
    let registered = registra_pagamento(&server, &iuv, "8.00", &day);
    assert!(registered.contains("<esito>OK</esito>"), "{registered}");

    // The receipt message id and time MyPay would have drawn at registration.
    let conn = rusqlite::Connection::open(dir.join("mypay.db")).unwrap();
    let recorded_at: String = conn.query_row("SELECT created_at FROM external_payment", [], |r| r.get(0)).unwrap();
    let local = recorded_at
        .parse::<jiff::Timestamp>()
        .unwrap()
        .to_zoned(mypay::testing::clock::rome())
        .strftime("%Y-%m-%dT%H:%M:%S")
        .to_string();
    let message_id = {
        use sha2::Digest;
        let digest = sha2::Sha256::digest(format!("01234567897/{iuv}/CASSA-77").as_bytes());
        format!("-9-{}", digest.iter().take(16).map(|b| format!("{b:02x}")).collect::<String>())
    };
    let base = format!(
        "\"_c_esempio_ESTERNO-ANONIMO\";\"1\";\"EXT-1\";\"{iuv}\";\"6.2.0\";\"01234567897\";\"\";\"{message_id}\";\"{local}\";\
         \"{message_id}\";\"{}\";\"G\";\"TESORERIA\";\"Tesoreria comunale\";\"\";\"\";\"\";\"\";\"\";\"\";\"\";\"\";\
         \"G\";\"01234567897\";\"Comune di Esempio\";\"\";\"\";\"Piazza del Municipio\";\"1\";\"20100\";\"Esempio\";\"MI\";\"IT\";\
         \"\";\"\";\"\";\"\";\"\";\"\";\"\";\"\";\"\";\"\";\
         \"F\";\"BNCGLI90A41F205H\";\"Giulia Bianchi\";\"\";\"\";\"\";\"\";\"\";\"\";\"\";\
         \"0\";\"8.00\";\"{iuv}\";\"n/a\";\"8.00\";\"PAGATO CON RENDICONTAZIONE 9\";\"{day}\";\"CASSA-77\";\
         \"Contributo \"\"festa\"\"; 2026\";\"9/0101108TS/\";\"CONTRIBUTO_EVENTI\"",
        &local[..10]
    );
    for (version, with_receipt, tail) in
        [("1.0", false, String::new()), ("1.3", true, ";\"\";\"\";\"1\";\"\";\"\";\"\";\"\";\"\";\"\";\"\"".to_owned())]
    {
        let file = tmp.path().join(format!("export-{version}.zip"));
        let mut args = vec!["--org", "c_esempio", "--from", &day, "--to", &day, "--version", version];
        args.extend(["-o", file.to_str().unwrap()]);
        if with_receipt {
            args.push("--with-receipt");
        }
        let result = export(&dir, &args);
        assert_eq!((&result["state"], &result["rows"]), (&"EXPORT_ESEGUITO".into(), &1.into()), "{result}");
        let (_, text) = read_zip(&file);
        let row = text.split_once('\n').unwrap().1;
        assert_eq!(row, format!("{base}{tail}\n"), "{version}");
    }
    // Selected by its outcome date, by when it was recorded (incremental, a window ending now and
    // one ending when it was recorded) and by debt type.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let now = mypay::testing::clock::Now::read().rome().strftime("%Y-%m-%dT%H:%M:%S").to_string();
    let file = tmp.path().join("selection.zip");
    let output = file.to_str().unwrap();
    let incremental =
        |from: &str, to: &str| vec!["--incremental".to_owned(), "--from".into(), from.into(), "--to".into(), to.into()];
    let dates = |extra: &[&str]| {
        let mut args = vec!["--from".to_owned(), day.clone(), "--to".into(), day.clone()];
        args.extend(extra.iter().map(|a| a.to_string()));
        args
    };
    for (selection, rows) in [
        (vec!["--from".to_owned(), "2020-01-01".into(), "--to".into(), "2020-01-31".into()], 0),
        (incremental("2020-01-01T00:00:00", &now), 1),
        (incremental("2020-01-01T00:00:00", &local), 0),
        (dates(&["--debt-type", "TARI"]), 0),
        (dates(&["--debt-type", "CONTRIBUTO_EVENTI"]), 1),
    ] {
        let mut args = vec!["--org", "c_esempio", "-o", output];
        args.extend(selection.iter().map(String::as_str));
        assert_eq!(export(&dir, &args)["rows"], rows, "{selection:?}");
    }
}
