//! The back office's isolation, table-driven over the router's own list of back-office routes
//! (`mypay::testing::web::backoffice_routes`), so a route added later is covered without editing this test:
//! for every route and method, an operator of org A gets 403 or 404 on org B's objects (B's IPA in
//! the path, or A's IPA with B's object id), nothing of B changes, and an operator not enabled on a
//! debt type never sees its debts.

use crate::backoffice::{demo_password, flow_zip, login, row};
use crate::portal::{Browser, csrf};
use crate::support::{Server, add_milano, data_dir, run, stdout};

/// Routes that name no org: the operator's own pages.
const WITHOUT_ORG: [&str; 4] = ["/operatore", "/operatore/accedi", "/operatore/esci", "/operatore/password"];
/// Routes for app admins only: an org admin gets 403.
const APP_ADMIN_ONLY: [&str; 1] = ["/operatore/enti"];

fn fill(pattern: &str, ipa: &str, ids: &[(&str, &str)]) -> String {
    pattern
        .split('/')
        .map(|segment| {
            if segment == "{ipa}" {
                return ipa.to_owned();
            }
            if let Some(name) = segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                let Some((_, value)) = ids.iter().find(|(n, _)| *n == name) else {
                    panic!("route {pattern}: this test does not know what {{{name}}} is; add an object of org B for it")
                };
                return (*value).to_owned();
            }
            segment.to_owned()
        })
        .collect::<Vec<_>>()
        .join("/")
}

fn add_operator(dir: &std::path::Path, args: &[&str]) {
    let mut all = vec!["operator", "add"];
    all.extend_from_slice(args);
    all.push("--password-stdin");
    let out = run(dir, &all, Some("Una password sicura 1\n"));
    assert!(out.status.success(), "{}", crate::support::stderr(&out));
}

fn debt_json(dir: &std::path::Path, iud: &str) -> serde_json::Value {
    let out = run(dir, &["debt", "show", "--org", "c_esempio", "--iud", iud, "--json"], None);
    serde_json::from_str(&stdout(&out)).unwrap()
}

/// The id of the debt with this IUD, from the link of the search page.
fn id_of(browser: &mut Browser, iud: &str) -> String {
    let page = browser.get(&format!("/operatore/c_esempio/dovuti?iud={iud}")).body;
    let marker = "href=\"/operatore/c_esempio/dovuti/";
    page.match_indices(marker)
        .map(|(at, _)| page[at + marker.len()..].split('"').next().unwrap())
        .find(|id| id.bytes().all(|b| b.is_ascii_digit()))
        .unwrap_or_else(|| panic!("no debt {iud}: {page}"))
        .to_owned()
}

#[test]
fn every_backoffice_route_keeps_orgs_and_debt_types_apart() {
    let (_tmp, dir) = data_dir();
    let server = Server::start(&dir, &["demo"]);
    add_milano(&dir);
    add_operator(&dir, &["--org", "c_f205", "--username", "milano", "--role", "admin"]);
    add_operator(&dir, &["--org", "c_esempio", "--username", "sportello", "--role", "operator"]);
    let out = run(
        &dir,
        &["operator", "grant", "--username", "sportello", "--org", "c_esempio", "--debt-type", "CERT_ANAGRAFICI"],
        None,
    );
    assert!(out.status.success(), "{}", crate::support::stderr(&out));
    let out = run(
        &dir,
        &[
            "debt",
            "add",
            "--org",
            "c_esempio",
            "--debt-type",
            "CERT_ANAGRAFICI",
            "--iud",
            "CERT-1",
            "--debtor-id",
            "RSSMRA85T10A562S",
            "--debtor-name",
            "Mario Rossi",
            "--amount",
            "16.00",
            "--causale",
            "Certificato",
            "--generate-iuv",
        ],
        None,
    );
    assert!(out.status.success(), "{}", crate::support::stderr(&out));

    // Org B (c_esempio) gets an import and an export, so every kind of object exists there.
    let mut demo = Browser::new(&server.base);
    assert_eq!(login(&mut demo, "demo", &demo_password(&server)).status, 303);
    let token = csrf(&demo.get("/operatore/c_esempio/flussi").body);
    let zip = flow_zip("c_esempio-AUTHZ01-1_4", &[row("AUTHZ-1", "10.00")]);
    let page = demo.post_multipart(
        &format!("/operatore/c_esempio/flussi?csrf={token}"),
        &[],
        ("file", "c_esempio-AUTHZ01-1_4.zip", &zip),
    );
    assert_eq!(page.status, 303);
    let page = demo.submit(
        "/operatore/c_esempio/esportazioni",
        "/operatore/c_esempio/esportazioni",
        &[("from", "2026-01-01"), ("to", "2026-01-31"), ("version", "1.3")],
    );
    assert_eq!(page.status, 303);
    // And an anomaly: a receipt of one cent for one of its debts.
    let (_, notice, iuv, _) = crate::station::open_debts(&dir).remove(0);
    let forged = crate::station::send_rt_req(&notice, &iuv, 1, "a0e1000000000000000000000000000f", true);
    assert!(crate::station::call(&server, Some("paSendRTV2"), &forged).body.contains("<outcome>OK</outcome>"));
    // A reporting flow and an API token.
    let out = run(&dir, &["api-token", "create", "--org", "c_esempio", "--label", "gestionale"], None);
    assert!(out.status.success(), "{}", crate::support::stderr(&out));
    let conn = rusqlite::Connection::open(dir.join("mypay.db")).unwrap();
    conn.execute(
        "INSERT INTO reporting_flow (org_id, iuf, psp_id, state, source, fetched_at) \
         SELECT id, '2026-12-07ABI00000-S000000001', 'ABI00000', 'ACQUISITO', 'SOAP', '2026-12-07T09:00:00Z' \
         FROM org WHERE ipa_code = 'c_esempio'",
        [],
    )
    .unwrap();
    // An accertamento of TARI.
    let args = ["reconcile", "accertamenti", "create", "--org", "c_esempio", "--debt-type", "TARI", "--name", "TARI"];
    let out = run(&dir, &args, None);
    assert!(out.status.success(), "{}", crate::support::stderr(&out));
    let tari_iud = format!("TARI-{}-0001", mypay::testing::clock::Now::read().today().year());
    let tari = debt_json(&dir, &tari_iud);
    let tari_id = id_of(&mut demo, &tari_iud);
    let cert_id = id_of(&mut demo, "CERT-1");
    let ids_of_b = [
        ("debt", tari_id.as_str()),
        ("import", "1"),
        ("kind", "iuv"),
        ("export", "1"),
        ("receipt", "1"),
        ("entry", "1"),
        ("operator", "demo"),
        ("type", "TARI"),
        ("anomaly", "1"),
        ("flow", "1"),
        ("token", "1"),
        ("upload", "1"),
        ("item", "1"),
        ("note", "1"),
        ("accertamento", "1"),
    ];

    // Operator of org A (c_f205), with a valid session and CSRF token so every handler runs.
    let mut milano = Browser::new(&server.base);
    assert_eq!(login(&mut milano, "milano", "Una password sicura 1").status, 303);
    let token = csrf(&milano.get("/operatore/c_f205/dovuti").body);
    let routes = mypay::testing::web::backoffice_routes();
    assert!(routes.len() >= 20, "the table lists every back-office route");
    let mut checked = 0;
    for (method, pattern) in &routes {
        if !pattern.contains("{ipa}") {
            if APP_ADMIN_ONLY.contains(pattern) {
                let page =
                    if *method == "POST" { milano.post(pattern, &[("csrf", &token)]) } else { milano.get(pattern) };
                assert_eq!(page.status, 403, "{method} {pattern} is for app admins");
                checked += 1;
                continue;
            }
            assert!(
                WITHOUT_ORG.contains(pattern),
                "route {method} {pattern} names no org: decide how this test covers it"
            );
            continue;
        }
        let mut paths = vec![fill(pattern, "c_esempio", &ids_of_b)];
        if pattern.matches('{').count() > 1 {
            paths.push(fill(pattern, "c_f205", &ids_of_b));
        }
        for path in paths {
            let page = if *method == "POST" { milano.post(&path, &[("csrf", &token)]) } else { milano.get(&path) };
            assert!(matches!(page.status, 403 | 404), "{method} {path} gave {} to another org's operator", page.status);
            checked += 1;
        }
    }
    assert!(checked >= 24, "{checked}");
    let after = debt_json(&dir, tari["iud"].as_str().unwrap());
    assert_eq!(after["state"], tari["state"], "nothing of org B changed");
    assert_eq!(after["amount_cents"], tari["amount_cents"]);

    // An operator enabled on CERT_ANAGRAFICI only never sees TARI debts.
    let mut sportello = Browser::new(&server.base);
    assert_eq!(login(&mut sportello, "sportello", "Una password sicura 1").status, 303);
    let base = "/operatore/c_esempio/dovuti";
    let all = sportello.get(&format!("{base}?cerca=1")).body;
    assert!(all.contains("Dovuti trovati: 1") && all.contains("CERT-1") && !all.contains("TARI-"), "{all}");
    let csv = sportello.get(&format!("{base}/csv?cerca=1")).body;
    assert_eq!(csv.lines().count(), 2, "{csv}");
    assert!(
        sportello.get(&format!("{base}?tipo=TARI")).body.contains("Il valore del campo «tipo dovuto» non è valido.")
    );
    assert_eq!(sportello.get(&format!("{base}/{cert_id}")).status, 200);
    assert_eq!(sportello.get("/operatore/c_esempio/accertamenti/1").status, 404, "a TARI accertamento");
    assert_eq!(sportello.get("/operatore/c_esempio/giornale").status, 403, "the journal is for org admins");
    let token = csrf(&sportello.get(&format!("{base}/{cert_id}")).body);
    for (method, pattern) in routes.iter().filter(|(_, p)| p.contains("{debt}")) {
        let path = fill(pattern, "c_esempio", &ids_of_b);
        let page = if *method == "POST" { sportello.post(&path, &[("csrf", &token)]) } else { sportello.get(&path) };
        assert!(matches!(page.status, 403 | 404), "{method} {path} gave {} for a debt type not enabled", page.status);
    }
    assert_eq!(debt_json(&dir, tari["iud"].as_str().unwrap())["state"], tari["state"]);
}

/// The hardening issue's finding: an operator enabled on some debt types read every type through
/// exports and import results, although the debt search hid them. Now the same grant holds for
/// lists and files: their own requests and uploads, and exports limited to their types.
#[test]
fn operators_see_only_exports_and_import_results_within_their_grant() {
    let (_tmp, dir) = data_dir();
    let server = Server::start(&dir, &["demo"]);
    add_operator(&dir, &["--org", "c_esempio", "--username", "sportello", "--role", "operator"]);
    let out = run(
        &dir,
        &["operator", "grant", "--username", "sportello", "--org", "c_esempio", "--debt-type", "CERT_ANAGRAFICI"],
        None,
    );
    assert!(out.status.success(), "{}", crate::support::stderr(&out));

    // The admin uploads a TARI flow and asks for an export of every type.
    let mut demo = Browser::new(&server.base);
    assert_eq!(login(&mut demo, "demo", &demo_password(&server)).status, 303);
    let token = csrf(&demo.get("/operatore/c_esempio/flussi").body);
    let zip = flow_zip("c_esempio-ADMIN01-1_4", &[row("ADM-1", "10.00")]);
    let page = demo.post_multipart(
        &format!("/operatore/c_esempio/flussi?csrf={token}"),
        &[],
        ("file", "c_esempio-ADMIN01-1_4.zip", &zip),
    );
    assert_eq!(page.status, 303);
    crate::backoffice::wait_for(&mut demo, "/operatore/c_esempio/flussi", "Avvisi PDF");
    let page = demo.submit(
        "/operatore/c_esempio/esportazioni",
        "/operatore/c_esempio/esportazioni",
        &[("from", "2000-01-01"), ("to", "2099-12-31"), ("version", "1.3")],
    );
    assert_eq!(page.status, 303);

    let mut sportello = Browser::new(&server.base);
    assert_eq!(login(&mut sportello, "sportello", "Una password sicura 1").status, 303);
    let flows = sportello.get("/operatore/c_esempio/flussi").body;
    assert!(!flows.contains("c_esempio-ADMIN01-1_4"), "another's flow is not listed: {flows}");
    for kind in ["iuv", "scarti", "avvisi"] {
        let status = sportello.get(&format!("/operatore/c_esempio/flussi/1/{kind}")).status;
        assert_eq!(status, 404, "{kind}");
    }
    let exports = sportello.get("/operatore/c_esempio/esportazioni").body;
    assert!(!exports.contains("/esportazioni/1/file"), "another's export of every type is not listed");
    assert_eq!(sportello.get("/operatore/c_esempio/esportazioni/1/file").status, 404);

    // Their own export (of their type) is theirs to see; the admin still sees both.
    let page = sportello.submit(
        "/operatore/c_esempio/esportazioni",
        "/operatore/c_esempio/esportazioni",
        &[("from", "2000-01-01"), ("to", "2099-12-31"), ("version", "1.3"), ("debt_type", "CERT_ANAGRAFICI")],
    );
    assert_eq!(page.status, 303);
    let mine = sportello.get("/operatore/c_esempio/esportazioni").body;
    assert!(mine.contains("<td>2</td>") || mine.contains(">2<"), "{mine}");
    assert!(!mine.contains(">1<"), "{mine}");
    let all = demo.get("/operatore/c_esempio/esportazioni").body;
    assert!((all.contains(">1<")) && all.contains(">2<"), "{all}");
}
