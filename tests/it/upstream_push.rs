//! Upstream mode (issue 18) against the real binary: the regional node's outcome pushes at
//! `POST /upstream/esito` (MyPay's `{rt, esito}` with an HS512 bearer token, reference/regional.md
//! §3), kept as hints and never applied; the org's credentials at the region sealed at rest and
//! never printed; the local station off; the configuration that needs no station settings.

use std::path::Path;
use std::process::{Command, Stdio};

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha512;

use super::support::{Server, data_dir, get, post, post_with, push_post, run, stderr, stdout};

/// The key the region signs its pushes with in these tests.
const KEY: [u8; 64] = [0x42; 64];
const KID: &str = "regione-k1";
const ISS: &str = "mypay-regione";
const SUB: &str = "sil@comune.example.it";
/// The org's SIL password at the region.
const PASSWORD: &str = "Reg-Pw-7781";
/// An upstream address nobody answers: these tests never call the region.
const UPSTREAM: &str = "http://127.0.0.1:9/ws/pa/";

/// A compact JWS of `header` and `claims`, HS512 with `key`, as MyPay's jjwt writes it.
fn jws(header: &Value, claims: &Value, key: &[u8]) -> String {
    let input =
        format!("{}.{}", URL_SAFE_NO_PAD.encode(header.to_string()), URL_SAFE_NO_PAD.encode(claims.to_string()));
    let mut mac = Hmac::<Sha512>::new_from_slice(key).unwrap();
    mac.update(input.as_bytes());
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes()))
}

/// The token a stock regional MyPay sends: header kid, claims iss and sub, nothing else.
fn mypay_token() -> String {
    jws(&json!({"kid": KID, "alg": "HS512"}), &json!({"iss": ISS, "sub": SUB}), &KEY)
}

/// MyPay's push body for a payment of `iuv`.
fn push_body(iuv: &str, receipt_id: &str) -> Vec<u8> {
    let rt = format!(
        "<receipt><receiptId>{receipt_id}</receiptId><creditorReferenceId>{iuv}</creditorReferenceId></receipt>"
    );
    let esito = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Pagati xmlns=\"http://www.regione.veneto.it/schemas/2012/Pagamenti/Ente/\">\
         <versioneOggetto>6.2.0</versioneOggetto><datiPagamento><codiceEsitoPagamento>0</codiceEsitoPagamento>\
         <identificativoUnivocoVersamento>{iuv}</identificativoUnivocoVersamento><datiSingoloPagamento>\
         <identificativoUnivocoRiscossione>{receipt_id}</identificativoUnivocoRiscossione></datiSingoloPagamento>\
         </datiPagamento></Pagati>"
    );
    json!({"rt": STANDARD.encode(rt), "esito": STANDARD.encode(esito)}).to_string().into_bytes()
}

/// A demo box in upstream mode whose org `c_esempio` has the region's push key and identity.
fn upstream_box() -> (tempfile::TempDir, std::path::PathBuf, Server) {
    let (tmp, dir) = data_dir();
    let server = Server::start_with_env(&dir, &["demo"], &[("MYPAY_UPSTREAM_URL", UPSTREAM)]);
    let out = run(
        &dir,
        &[
            "org",
            "set",
            "c_esempio",
            "--upstream-push-secret-stdin",
            "--upstream-push-kid",
            KID,
            "--upstream-push-iss",
            ISS,
            "--upstream-push-sub",
            SUB,
        ],
        Some(&STANDARD.encode(KEY)),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    (tmp, dir, server)
}

/// A debt of the box with an IUV of the org's own (the demo's wait for the Region's): (IUD, IUV).
fn debt_with_iuv(dir: &Path) -> (String, String) {
    let (iud, iuv) = ("PUSH-0001", "01010000000000163");
    let args = [
        "debt",
        "add",
        "--org",
        "c_esempio",
        "--debt-type",
        "TARI",
        "--iud",
        iud,
        "--iuv",
        iuv,
        "--debtor-id",
        "RSSMRA85T10A562S",
        "--debtor-name",
        "Mario Rossi",
        "--amount",
        "80.00",
        "--causale",
        "TARI",
        "--due-date",
        "2030-12-31",
    ];
    let out = run(dir, &args, None);
    assert!(out.status.success(), "{}", stderr(&out));
    (iud.to_owned(), iuv.to_owned())
}

fn send(server: &Server, token: Option<&str>, body: &[u8]) -> super::support::Reply {
    let bearer = token.map(|t| format!("Bearer {t}"));
    let headers: Vec<(&str, &str)> = bearer.iter().map(|b| ("Authorization", b.as_str())).collect();
    post_with(&server.url("/upstream/esito"), "application/json", body, &headers)
}

/// The stored pushes as (state, iuv, unknown_iuv), in order.
fn hints(dir: &Path) -> Vec<(String, Option<String>, i64)> {
    let conn = rusqlite::Connection::open(dir.join("mypay.db")).unwrap();
    let mut stmt = conn.prepare("SELECT state, iuv, unknown_iuv FROM upstream_push ORDER BY id").unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).unwrap().collect::<Result<_, _>>().unwrap()
}

/// Whether `needle` occurs in the database file or its WAL.
fn in_database(dir: &Path, needle: &[u8]) -> bool {
    ["mypay.db", "mypay.db-wal"]
        .iter()
        .filter_map(|name| std::fs::read(dir.join(name)).ok())
        .any(|bytes| bytes.windows(needle.len()).any(|w| w == needle))
}

/// A well-signed push is stored as a hint and answered `200 {}`; the same body again is a replay
/// (one hint to confirm), an unknown IUV is stored and flagged; nothing is marked paid; the token
/// never reaches the database.
#[test]
fn well_signed_pushes_are_stored_as_hints_replays_and_unknown_iuvs_flagged() {
    let (_tmp, dir, server) = upstream_box();
    let (iud, iuv) = debt_with_iuv(&dir);
    let token = mypay_token();
    let body = push_body(&iuv, "RCPT-0001");

    let reply = send(&server, Some(&token), &body);
    assert_eq!((reply.status, reply.body.as_str()), (200, "{}"));
    assert_eq!(hints(&dir), [("RECEIVED".to_owned(), Some(iuv.clone()), 0)]);

    let reply = send(&server, Some(&token), &body);
    assert_eq!((reply.status, reply.body.as_str()), (200, "{}"), "a replay is answered as MyPay expects");
    let states: Vec<String> = hints(&dir).into_iter().map(|(s, _, _)| s).collect();
    assert_eq!(states, ["RECEIVED", "REPLAY"]);

    let reply = send(&server, Some(&token), &push_body("01999999999999999", "RCPT-0002"));
    assert_eq!((reply.status, reply.body.as_str()), (200, "{}"));
    assert_eq!(hints(&dir)[2], ("RECEIVED".to_owned(), Some("01999999999999999".to_owned()), 1));

    let reply = send(&server, Some(&token), b"{\"rt\": 1}");
    assert_eq!((reply.status, reply.body.as_str()), (200, "{}"), "an unreadable push is kept, not refused");
    assert_eq!(hints(&dir)[3].0, "UNREADABLE");

    let debt = run(&dir, &["debt", "show", "--org", "c_esempio", "--iud", &iud, "--json"], None);
    let debt: Value = serde_json::from_str(&stdout(&debt)).unwrap();
    assert_eq!(debt["state"], "INSERIMENTO_DOVUTO", "a push marks nothing paid");
    assert!(!in_database(&dir, token.as_bytes()), "the token is not journaled");

    let shown = run(&dir, &["org", "upstream", "c_esempio", "--json"], None);
    let shown: Value = serde_json::from_str(&stdout(&shown)).unwrap();
    assert_eq!(shown["pushes"]["received"], 2);
    assert_eq!(shown["pushes"]["replayed"], 1);
    assert_eq!(shown["pushes"]["unreadable"], 1);
    assert_eq!(shown["pushes"]["unknown_iuv"], 1);

    let metrics = get(&server.url("/metrics")).body;
    assert!(metrics.contains("\nmypay_upstream_push_hints_pending 2\n"), "{metrics}");
}

/// Every token that is not the org's is 401 and stores nothing: no token, another key, alg none
/// or HS256, another kid, iss or sub.
#[test]
fn a_token_that_is_not_the_orgs_is_refused_and_nothing_stored() {
    let (_tmp, dir, server) = upstream_box();
    let body = push_body("01000000000000001", "RCPT-X");
    let header = json!({"kid": KID, "alg": "HS512"});
    let claims = json!({"iss": ISS, "sub": SUB});
    let unsigned = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(json!({"kid": KID, "alg": "none"}).to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let hs256 = {
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(json!({"kid": KID, "alg": "HS256"}).to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let mut mac = Hmac::<sha2::Sha256>::new_from_slice(&KEY).unwrap();
        mac.update(input.as_bytes());
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes()))
    };
    let cases: Vec<(&str, Option<String>)> = vec![
        ("no token", None),
        ("another key", Some(jws(&header, &claims, &[0x43; 64]))),
        ("alg none", Some(unsigned)),
        ("alg none, signed", Some(jws(&json!({"kid": KID, "alg": "none"}), &claims, &KEY))),
        ("HS256", Some(hs256)),
        ("another kid", Some(jws(&json!({"kid": "k2", "alg": "HS512"}), &claims, &KEY))),
        ("no kid", Some(jws(&json!({"alg": "HS512"}), &claims, &KEY))),
        ("another iss", Some(jws(&header, &json!({"iss": "x", "sub": SUB}), &KEY))),
        ("another sub", Some(jws(&header, &json!({"iss": ISS, "sub": "x"}), &KEY))),
        ("expired", Some(jws(&header, &json!({"iss": ISS, "sub": SUB, "exp": 1_000_000_000}), &KEY))),
        ("garbage", Some("a.b.c".to_owned())),
    ];
    for (what, token) in cases {
        let reply = send(&server, token.as_deref(), &body);
        assert_eq!(reply.status, 401, "{what}: {}", reply.body);
        assert_eq!(reply.header("www-authenticate"), Some("Bearer realm=\"mypay\""), "{what}");
    }
    assert!(hints(&dir).is_empty(), "nothing stored");
    // The accepted one, for contrast: a token with exp in the future passes too.
    let later = jws(&header, &json!({"iss": ISS, "sub": SUB, "exp": 4_000_000_000_i64}), &KEY);
    assert_eq!(send(&server, Some(&later), &body).status, 200);
}

/// The token is checked on the head: a stranger's 100 MiB push is refused with 401 having sent a
/// few MiB at most, and even the org's own is refused at its declared size (413) before it is
/// read: the route takes 512 KiB.
#[test]
fn the_token_is_checked_before_the_body_and_an_oversize_body_is_never_read() {
    const LENGTH: u64 = 100 * 1024 * 1024;
    const SENT_AT_MOST: u64 = 16 * 1024 * 1024;
    let (_tmp, dir, server) = upstream_box();
    let forged = format!("Authorization: Bearer {}", jws(&json!({"kid": KID, "alg": "HS512"}), &json!({}), &[1; 64]));
    let pushed = push_post(&server.base, "/upstream/esito", &["Content-Type: application/json", &forged], LENGTH);
    assert_eq!(pushed.status, 401, "{}", pushed.response);
    assert!(pushed.sent <= SENT_AT_MOST, "{} bytes were taken", pushed.sent);

    let good = format!("Authorization: Bearer {}", mypay_token());
    let pushed = push_post(&server.base, "/upstream/esito", &["Content-Type: application/json", &good], LENGTH);
    assert_eq!(pushed.status, 413, "{}", pushed.response);
    assert!(pushed.sent <= SENT_AT_MOST, "{} bytes were taken", pushed.sent);
    assert!(hints(&dir).is_empty(), "nothing stored");
    assert_eq!(get(&server.url("/healthz")).status, 200);
}

/// In upstream mode the local station is off for everyone, the pagoPA simulator is not started,
/// and the org's dashboard shows its link with the region; off upstream mode, the push path
/// does not exist.
#[test]
fn upstream_mode_turns_the_station_off_and_shows_the_link() {
    let (_tmp, _dir, server) = upstream_box();
    let reply = post(&server.url("/ws/fesp/"), "text/xml", b"<x/>");
    assert_eq!(reply.status, 404);
    assert_eq!(
        reply.body,
        "the local pagoPA station is off: this box is connected to the regional node (upstream mode)\n"
    );
    assert!(server.banner.iter().all(|l| !l.contains("simulator")), "{:?}", server.banner);
    assert!(server.banner.iter().any(|l| l.contains("upstream mode: the regional node at")), "{:?}", server.banner);

    let mut operator = crate::portal::Browser::new(&server.base);
    let password = crate::backoffice::demo_password(&server);
    assert_eq!(crate::backoffice::login(&mut operator, "demo", &password).status, 303);
    let page = operator.get("/operatore/c_esempio").body;
    assert!(page.contains("Collegamento con il nodo regionale"), "{page}");
    assert!(page.contains("chiave degli esiti: <strong>impostata</strong>"), "{page}");
    assert!(page.contains("Password SIL presso la Regione: <strong>impostata</strong>"), "{page}");

    let (_tmp2, dir2) = data_dir();
    let plain = Server::start(&dir2, &["demo"]);
    let reply = send(&plain, Some(&mypay_token()), &push_body("01000000000000001", "R"));
    assert_eq!(reply.status, 404, "no upstream mode, no push receiver");
    let page = {
        let mut operator = crate::portal::Browser::new(&plain.base);
        let password = crate::backoffice::demo_password(&plain);
        assert_eq!(crate::backoffice::login(&mut operator, "demo", &password).status, 303);
        operator.get("/operatore/c_esempio").body
    };
    assert!(!page.contains("Collegamento con il nodo regionale"));
}

/// `org set` stores the region's credentials sealed: neither the password nor the key is in the
/// database file; `org upstream` says they are set and never prints them; two stdin secrets at once
/// are refused before anything is read.
#[test]
fn credentials_at_the_region_are_sealed_and_never_printed() {
    let (_tmp, dir) = data_dir();
    super::support::add_milano(&dir);
    let key = STANDARD.encode(KEY);
    let set = |args: &[&str], stdin: &str| run(&dir, &[&["org", "set", "c_f205"], args].concat(), Some(stdin));
    let out = set(&["--upstream-ipa", "C_F205", "--upstream-password-stdin"], &format!("{PASSWORD}\n"));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!stdout(&out).contains(PASSWORD));
    let out = set(&["--upstream-push-secret-stdin", "--upstream-push-kid", KID, "--upstream-push-sub", SUB], &key);
    assert!(out.status.success(), "{}", stderr(&out));

    let out = set(&["--upstream-password-stdin", "--upstream-push-secret-stdin"], PASSWORD);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("give one at a time"), "{}", stderr(&out));
    let out = set(&["--upstream-password-stdin"], "short");
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("invalid upstream-password: must be 8 to 15 characters long"), "{}", stderr(&out));

    for json in [true, false] {
        let args: &[&str] =
            if json { &["org", "upstream", "c_f205", "--json"] } else { &["org", "upstream", "c_f205"] };
        let out = run(&dir, args, None);
        assert!(out.status.success(), "{}", stderr(&out));
        let text = stdout(&out);
        assert!(!text.contains(PASSWORD) && !text.contains(&key), "{text}");
        if json {
            let shown: Value = serde_json::from_str(&text).unwrap();
            assert_eq!(shown["region_ipa"], "C_F205");
            assert_eq!((shown["password_set"].as_bool(), shown["push_secret_set"].as_bool()), (Some(true), Some(true)));
            assert_eq!((shown["push_kid"].as_str(), shown["push_iss"].as_str()), (Some(KID), None));
            assert_eq!(shown["pushes"]["received"], 0);
        } else {
            assert!(text.contains("SIL password at the region set: yes"), "{text}");
        }
    }
    assert!(!in_database(&dir, PASSWORD.as_bytes()), "the password is sealed");
    assert!(!in_database(&dir, key.as_bytes()) && !in_database(&dir, &KEY), "the push key is sealed");
    let conn = rusqlite::Connection::open(dir.join("mypay.db")).unwrap();
    let sealed: String = conn.query_row("SELECT password FROM org_upstream", [], |r| r.get(0)).unwrap();
    assert!(sealed.starts_with("v1:"), "{sealed}");
    let audit: Vec<String> = conn
        .prepare("SELECT p.after_json FROM audit a JOIN audit_payload p ON p.audit_id = a.id WHERE a.action = 'org.upstream'")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(audit.len(), 2);
    assert!(audit[0].contains(r#""password":"set""#) && !audit.concat().contains(PASSWORD), "{audit:?}");
}

/// `config check` in upstream mode: no station settings needed, the upstream line printed; plain
/// http to another machine is refused by key.
#[test]
fn config_check_needs_no_station_settings_in_upstream_mode() {
    let (_tmp, dir) = data_dir();
    let check = |upstream: &str| {
        Command::new(super::support::bin())
            .args(["--data-dir", &dir.display().to_string(), "config", "check"])
            .env_remove("MYPAY_CONFIG")
            .env("MYPAY_SERVER_PUBLIC_URL", "https://pagamenti.comune.example.it")
            .env("MYPAY_UPSTREAM_URL", upstream)
            .stdin(Stdio::null())
            .output()
            .unwrap()
    };
    let out = check("https://pagamenti.regione.example.it/ws/pa/");
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains(
            "upstream mode: the regional node at https://pagamenti.regione.example.it/ws/pa/ is the pagoPA station; \
             the local station (/ws/fesp/) is off"
        ),
        "{}",
        stdout(&out)
    );
    let out = check("http://pagamenti.regione.example.it/ws/pa/");
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("upstream.url: \"http://pagamenti.regione.example.it/ws/pa/\" is plain http"),
        "{}",
        stderr(&out)
    );
    let out = check("");
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("station.node_auth: is required"), "without upstream the station is required");
}
