//! Tidy checks that read the source tree: the conventions ARCHITECTURE.md promises, kept true by
//! a test rather than by memory.

use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

fn sources() -> Vec<(String, String)> {
    let mut files = Vec::new();
    rust_files(&root().join("src"), &mut files);
    files.sort();
    files
        .into_iter()
        .map(|p| (p.strip_prefix(root()).unwrap().display().to_string(), std::fs::read_to_string(&p).unwrap()))
        .collect()
}

#[test]
fn every_source_file_opens_with_a_module_doc() {
    for (path, text) in sources() {
        let first = text.lines().find(|l| !l.trim().is_empty()).unwrap_or_default();
        assert!(first.starts_with("//!"), "{path} must start with a //! doc comment saying what it owns");
    }
}

/// The last segment of every path under `crate::store` in `text`, each item of a `{...}` group
/// apart (`use crate::store::{orgs, Db}` gives `orgs` and `Db`; `use crate::store;` gives `store`).
fn store_paths(text: &str) -> Vec<String> {
    let is_path = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == ':';
    let mut out = Vec::new();
    for (at, _) in text.match_indices("crate::store") {
        let rest = &text[at..];
        let head = &rest[..rest.find(|c: char| !is_path(c)).unwrap_or(rest.len())];
        let tail = &rest[head.len()..];
        if tail.starts_with('{') {
            let group = &tail[..tail.find('}').unwrap_or(tail.len())];
            for item in group.split([',', '{', '}']).map(str::trim).filter(|i| !i.is_empty()) {
                out.push(item.rsplit("::").next().unwrap_or(item).to_owned());
            }
        } else {
            out.push(head.rsplit("::").next().unwrap_or(head).to_owned());
        }
    }
    out
}

#[test]
fn store_paths_name_each_item_of_a_group() {
    let named = |text: &str| store_paths(text);
    assert_eq!(named("use crate::store::{debt_types, orgs};"), ["debt_types", "orgs"]);
    assert_eq!(named("use crate::store::orgs::{self, OrgRecord};"), ["self", "OrgRecord"]);
    assert_eq!(named("x: &crate::store::Db, y: crate::store::orgs::find(c)"), ["Db", "find"]);
    assert_eq!(named("use crate::store;"), ["store"]);
    assert_eq!(named("Ok::<_, crate::store::StoreError>(None)"), ["StoreError"]);
}

#[test]
fn only_the_store_uses_rusqlite_and_only_web_uses_maud_and_tiny_http() {
    for (path, text) in sources() {
        if !path.starts_with("src/store/") {
            assert!(!text.contains("rusqlite"), "{path} uses rusqlite: SQL belongs in src/store/");
        }
        // The Node simulator is another system with its own small server and pages; it is the
        // only other HTTP adapter.
        if !path.starts_with("src/web/") && !path.starts_with("src/nodesim/") {
            assert!(
                !text.contains("maud::") && !text.contains("tiny_http"),
                "{path} uses maud or tiny_http outside src/web/ and src/nodesim/"
            );
        }
        if path.starts_with("src/nodesim/") {
            for banned in ["crate::store", "crate::services", "rusqlite"] {
                assert!(!text.contains(banned), "{path} uses {banned}: the simulator talks to mypay over HTTP only");
            }
        }
        if path == "src/web/session.rs" {
            assert!(!text.contains("crate::store"), "{path} uses the store: sessions go through services::sessions");
        }
        // The adapters (web, SIL, station, CLI) may name the store's types (records to render,
        // `Db` in the state), never its modules or functions: every read and write goes through
        // a service.
        if ["src/web/", "src/sil/", "src/pagopa/", "src/cli/"].iter().any(|dir| path.starts_with(dir)) {
            for named in store_paths(&text) {
                assert!(
                    named.starts_with(|c: char| c.is_ascii_uppercase()),
                    "{path} uses crate::store (…{named}): adapters call services, only the store's types may be named"
                );
            }
            for call in ["db.read(", "db.read_tx(", "db.write("] {
                assert!(!text.contains(call), "{path} calls {call}…): adapters call services, not the store");
            }
        }
        if path.starts_with("src/domain/") {
            for banned in
                ["std::fs", "std::net", "std::io", "crate::store", "crate::services", "Timestamp::now", "getrandom"]
            {
                assert!(!text.contains(banned), "{path} uses {banned}: the domain does no I/O");
            }
        }
    }
}

#[test]
fn no_sql_outside_the_store() {
    for (path, text) in sources() {
        if path.starts_with("src/store/") {
            continue;
        }
        for keyword in ["SELECT ", "INSERT INTO", "UPDATE ", "DELETE FROM", "CREATE TABLE"] {
            let hit = text.lines().any(|l| l.contains(&format!("\"{keyword}")));
            assert!(!hit, "{path} has SQL ({keyword}); SQL belongs in src/store/");
        }
    }
}

/// A map a newcomer reads in minutes: details belong in the modules' `//!` docs.
#[test]
fn architecture_md_stays_short() {
    let arch = std::fs::read_to_string(root().join("ARCHITECTURE.md")).unwrap();
    assert!(arch.chars().count() <= 14_000, "ARCHITECTURE.md is {} characters", arch.chars().count());
}

#[test]
fn architecture_md_has_a_section_per_source_directory() {
    let arch = std::fs::read_to_string(root().join("ARCHITECTURE.md")).unwrap();
    for entry in std::fs::read_dir(root().join("src")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let heading = if path.is_dir() { format!("### `src/{name}/`") } else { format!("`src/{name}`") };
        assert!(arch.contains(&heading), "ARCHITECTURE.md must describe {heading}");
    }
}

#[test]
fn readme_keeps_the_two_commands() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    assert!(readme.contains("cargo run --release -- demo"));
    assert!(readme.contains("cargo test"));
    let ci = std::fs::read_to_string(root().join(".ci/run")).unwrap();
    assert!(ci.contains("cargo test"));
}

#[test]
fn one_writer_of_the_pagati_document() {
    // Both the SIL answers and the outcome push's esito come from flows::pagati.
    let writers: Vec<String> = sources()
        .into_iter()
        .filter(|(_, text)| text.contains("w.open(\"datiSingoloPagamento\")"))
        .map(|(path, _)| path)
        .collect();
    assert_eq!(writers, ["src/flows/pagati.rs"]);
}

/// The job queue knows no service (handlers are registered at start), jobs are queued only through
/// `jobs::enqueue` (so each payload is declared once, in `jobs::Job`), and `flows` holds file
/// formats only: it opens no transaction and calls no service.
#[test]
fn jobs_know_no_service_and_flows_open_no_transaction() {
    for (path, text) in sources() {
        if path.starts_with("src/jobs/") {
            assert!(!text.contains("crate::services"), "{path} must not use a service: register a jobs::Handler");
        }
        if !path.starts_with("src/jobs/") && !path.starts_with("src/store/") {
            assert!(!text.contains("insert_job"), "{path} queues a job by hand: use jobs::enqueue with a jobs::Job");
            assert!(!text.contains("\"import_id\""), "{path} spells a job payload: it belongs to jobs::Job");
        }
        if path.starts_with("src/flows/") {
            for forbidden in ["crate::services", ".write(|", "db.read(", "Db"] {
                let hit = text.lines().filter(|l| !l.trim_start().starts_with("//")).any(|l| l.contains(forbidden));
                assert!(!hit, "{path} uses {forbidden}: flows holds file formats, services run them");
            }
        }
    }
}

/// Words of Italian that an English message would not use: a line of the CLI or of the log that
/// holds one mixes the two languages (pages are Italian, the CLI and the logs English).
const ITALIAN: &[&str] = &[
    "portale",
    "cittadino",
    "cittadini",
    "operatori",
    "simulatore",
    "creato",
    "creati",
    "errore",
    "avviso",
    "ricevuta",
    "pagamento",
    "utente",
    "già",
    "attivo",
    "spontaneo",
    "dati",
    "ente",
    "dovuti",
];

/// Whether `word` is in `line` as a whole word.
fn has_word(line: &str, word: &str) -> bool {
    line.match_indices(word).any(|(at, _)| {
        let before = line[..at].chars().next_back();
        let after = line[at + word.len()..].chars().next();
        !before.is_some_and(|c| c.is_alphanumeric() || c == '_')
            && !after.is_some_and(|c| c.is_alphanumeric() || c == '_')
    })
}

/// The lines a person reads in English: every code line of `src/cli/` and of the demo banner, and
/// every `tracing` call anywhere (its message and fields); comments and tests left out.
fn english_lines(path: &str, text: &str) -> Vec<String> {
    let code = text.lines().filter(|l| !l.trim_start().starts_with("//"));
    if path.starts_with("src/cli/") {
        return code.map(str::to_owned).collect();
    }
    let mut out = Vec::new();
    let mut inside = false;
    for line in code {
        inside |= line.contains("tracing::") && line.contains("!(");
        if inside {
            out.push(line.to_owned());
            inside = !line.trim_end().ends_with(';');
        }
    }
    out
}

#[test]
fn the_cli_and_the_logs_speak_english() {
    for (path, text) in sources() {
        let Some(text) = non_test(&path, &text) else { continue };
        for line in english_lines(&path, &text) {
            for word in ITALIAN {
                assert!(!has_word(&line, word), "{path}: {word:?} in a CLI or log line, which are English: {line}");
            }
        }
    }
    let cli = "        let _ = writeln!(out, \"  portale cittadino: {base}/\");\n";
    assert!(has_word(&english_lines("src/cli/demo.rs", cli)[0], "portale"));
    assert!(!has_word("spontaneous", "spontaneo") && has_word("x attivo,spontaneo", "spontaneo"));
    let log = "x();\ntracing::info!(\n  a = 1,\n  \"ricevuta\"\n);\ny();\n";
    assert_eq!(english_lines("src/x.rs", log), ["tracing::info!(", "  a = 1,", "  \"ricevuta\"", ");"]);
}

/// A source file's text without its `#[cfg(test)] mod tests` (by convention the file's end);
/// `None` for a file that is itself a test module (`tests.rs`).
fn non_test(path: &str, text: &str) -> Option<String> {
    if path.ends_with("/tests.rs") {
        return None;
    }
    Some(text.split("#[cfg(test)]\nmod tests").next().unwrap_or_default().to_owned())
}

/// The string literals of `text` that start with `prefix` (given with its opening quote), whole.
fn literals<'t>(text: &'t str, prefix: &str) -> Vec<&'t str> {
    text.match_indices(prefix)
        .map(|(at, _)| {
            let rest = &text[at + 1..];
            &text[at..at + 2 + rest.find('"').unwrap_or(rest.len())]
        })
        .collect()
}

#[test]
fn literals_are_whole_string_literals() {
    let text = r#"a = format!("receipt:{id}"); b = "sil-password"; c = "x""#;
    assert_eq!(literals(text, "\"receipt:"), ["\"receipt:{id}\""]);
    assert_eq!(literals(text, "\"sil-"), ["\"sil-password\""]);
}

/// Every message signed with the installation key, and the URL or token shape that carries it, is
/// written once, in `services::links`; nothing else reads the key. A second writer of a format
/// would let the signing and the checking side drift apart, and links already mailed, stored or
/// kept by a SIL would stop working.
#[test]
fn signed_links_are_written_only_by_services_links() {
    const LINKS: &str = "src/services/links.rs";
    // The prefixes of the signed messages: notice PDF, receipt, SIL request tokens (`sil-{kind}`),
    // downloads, uploads and polling, PIN hashes.
    let prefixes = ["\"notice:", "\"receipt:", "\"sil-", "\"pin:"];
    // Literals that share a prefix but are not signed: the audit journal's object name of a
    // receipt, and the field a SIL password error names.
    let unsigned = ["\"receipt:{}/{}/{}\"", "\"sil-password\""];
    for prefix in prefixes {
        let writers: Vec<String> = sources()
            .into_iter()
            .filter(|(path, text)| {
                non_test(path, text)
                    .is_some_and(|code| literals(&code, prefix).iter().any(|lit| !unsigned.contains(lit)))
            })
            .map(|(path, _)| path)
            .collect();
        assert_eq!(writers, [LINKS], "the signed messages starting {prefix}… belong in {LINKS} only");
    }
    for signed in ["\"sil-poll:", "\"sil-download:", "\"sil-upload:", "\"sil-{kind}:"] {
        let links = sources().into_iter().find(|(path, _)| path == LINKS).unwrap().1;
        assert_eq!(literals(&links, signed).len(), 1, "{LINKS} writes the {signed}… message once");
    }

    for (path, text) in sources() {
        let Some(code) = non_test(&path, &text) else { continue };
        if path != LINKS {
            assert!(!code.contains("installation_key"), "{path} reads the installation key: take the one `Links`");
            assert!(!code.contains("Hmac::<Sha256>"), "{path} uses HMAC-SHA256: sign through `services::links::Links`");
            // The store keeps the key (`store::keys`, which also moves an older database's
            // `hmac_key` row to the key file) and lends it to `Links` alone.
            if !path.starts_with("src/store/") {
                for primitive in ["hmac_key", "signing_key"] {
                    assert!(
                        !code.contains(primitive),
                        "{path} uses {primitive}: sign through `services::links::Links`"
                    );
                }
            }
            continue;
        }
        let calls = code.matches("installation_key(").count() - code.matches("fn installation_key(").count();
        let load = &code[code.find("pub fn load(").unwrap()..];
        let load = &load[..load.find("\n    }\n").unwrap()];
        assert!(calls == 1 && load.contains("installation_key("), "only `Links::load` reads the installation key");
        assert_eq!(code.matches("signing_key()").count(), 1, "{LINKS} takes the key from the store once");
    }
}

/// `pdf` renders its own input types (`pdf::input`), filled by `services::debts::documents`: it depends
/// on nothing above it.
#[test]
fn pdf_depends_on_no_service() {
    for (path, text) in sources() {
        if path.starts_with("src/pdf/") {
            assert!(!text.contains("crate::services"), "{path} uses a service: its input types are pdf::input");
        }
    }
}

/// The store's connection is opaque: no file outside src/store names rusqlite (benches included;
/// tests/ may open the database file with it to look inside), and `store::Conn` lends its SQLite
/// connection to nobody else (no public field, no `Deref`, no public accessor), so a service
/// cannot run SQL through the handle it passes around and another engine stays a store change.
#[test]
fn rusqlite_stays_inside_the_store() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for dir in ["src", "benches"] {
        rust_files(&root.join(dir), &mut files);
    }
    for path in files {
        let name = path.strip_prefix(&root).unwrap().display().to_string();
        if !name.starts_with("src/store/") {
            let text = std::fs::read_to_string(&path).unwrap();
            assert!(!text.contains("rusqlite"), "{name} names rusqlite: only src/store/ may, behind store::Conn");
        }
    }

    let store = std::fs::read_to_string(root.join("src/store/mod.rs")).unwrap();
    let head = "pub struct Conn {";
    let fields = &store[store.find(head).expect("store::Conn is a struct of the store's own") + head.len()..];
    let fields = &fields[..fields.find("\n}").unwrap()];
    assert!(!fields.contains("pub"), "store::Conn's fields stay private to src/store: {fields}");
    assert!(!store.contains("Deref for Conn"), "store::Conn must not deref to the SQLite connection");
    let methods = &store[store.find("impl Conn {").unwrap()..];
    let methods = &methods[..methods.find("\n}").unwrap()];
    for line in methods.lines().filter(|l| l.contains("fn ")) {
        let private = line.trim_start().starts_with("fn ") || line.trim_start().starts_with("pub(in crate::store) fn ");
        assert!(
            private || !(line.contains("Connection") || line.contains("Transaction")),
            "store::Conn lends its SQLite connection outside src/store: {line}"
        );
    }
}

/// Record states are enums with their stored codes (`domain::DebtState`, `store::jobs::JobState`,
/// ...), converted in src/store only: no record keeps its state as text and no code compares a
/// state with a string literal, so a misspelt state cannot compile and an unknown stored one is a
/// store error. The `String` states left are not a record's: what a person typed, checked by the
/// service that parses it, and the OAuth `state` parameter.
#[test]
fn record_states_are_enums_not_strings() {
    const TYPED: [(&str, &str); 2] = [
        ("src/oidc/mod.rs", "the OAuth 2.0 `state` parameter of a login"),
        ("src/services/debts/search.rs", "the search form's text, parsed by build_query"),
    ];
    for (path, text) in sources() {
        let fields = text.matches("pub state: String").count();
        match TYPED.iter().find(|(typed, _)| *typed == path) {
            Some((_, why)) => assert!(fields <= 1, "{path}: one `pub state: String` only ({why})"),
            None => assert_eq!(fields, 0, "{path} has `pub state: String`: give the record its state enum"),
        }
        for comparison in [".state == \"", ".state != \"", "state.as_str()"] {
            assert!(!text.contains(comparison), "{path} compares a state as text ({comparison}…): use its enum");
        }
        if path.starts_with("src/store/") {
            for text_state in ["state: String", "state: Option<String>", "state: &str", "states: &[&str]"] {
                assert!(!text.contains(text_state), "{path} takes a state as text ({text_state}): use its enum");
            }
        }
    }
}

/// Every route path is spelled in one place, the route table (`src/web/routes.rs`): a second
/// router (a `match` on the path or on its segments, a comparison with it, another table of
/// methods and paths) would let the one the server uses and the one a reader trusts drift apart.
/// Links to a page (`href`, redirects) are not routes and may spell its path.
#[test]
fn route_paths_are_spelled_only_in_the_route_table() {
    const TABLE: &str = "src/web/routes.rs";
    let routes = mypay::testing::web::routes();
    let mut declared = std::collections::HashSet::new();
    for route in &routes {
        assert!(declared.insert(route), "{route:?} is declared twice in {TABLE}");
    }
    let web: Vec<(String, String)> = sources()
        .into_iter()
        .filter(|(path, _)| path.starts_with("src/web/"))
        .filter_map(|(path, text)| non_test(&path, &text).map(|code| (path, code)))
        .collect();
    let table = &web.iter().find(|(path, _)| path == TABLE).unwrap().1;
    for (_, pattern) in &routes {
        let literal = format!("\"{pattern}\"");
        let rows = routes.iter().filter(|(_, p)| p == pattern).count();
        assert_eq!(table.matches(&literal).count(), rows, "{TABLE} spells {pattern} once per method");
        // The fixed segments before the first `{name}`, as a slice pattern would spell them.
        let fixed: Vec<String> = pattern
            .trim_start_matches('/')
            .trim_end_matches("/?")
            .split('/')
            .take_while(|s| !s.starts_with('{') && !s.is_empty())
            .map(|s| format!("\"{s}\""))
            .collect();
        let slice = format!("[{}", fixed.join(", "));
        let routing = [
            format!("{literal} =>"),
            format!("{literal} |"),
            format!("| {literal}"),
            format!("== {literal}"),
            format!("{literal} =="),
        ];
        for (path, code) in web.iter().filter(|(path, _)| path != TABLE) {
            for line in code.lines().filter(|l| l.contains(&literal)) {
                let beside_a_method =
                    ["\"GET\"", "\"POST\"", "\"PUT\"", "\"DELETE\"", "Method::"].iter().any(|m| line.contains(m));
                assert!(
                    !beside_a_method && !routing.iter().any(|r| line.contains(r.as_str())),
                    "{path} routes {pattern} again (`{}`): a route is a row of {TABLE}",
                    line.trim()
                );
            }
            assert!(
                fixed.is_empty() || !code.contains(&slice),
                "{path} matches the segments of {pattern} (`{slice}`): a route is a row of {TABLE}"
            );
        }
    }
}

/// Visibility is the first layering check: every module of the library is crate-private, so rustc
/// reports what nothing uses; the binary calls `mypay::run`, and tests and benchmarks reach what
/// they drive through `mypay::testing`, where each item is re-exported on purpose.
#[test]
fn the_library_exports_only_run_and_testing() {
    let lib = std::fs::read_to_string(root().join("src/lib.rs")).unwrap();
    for line in lib.lines().filter(|l| l.starts_with("pub ")) {
        assert!(line == "pub use cli::run;" || line == "pub mod testing;", "src/lib.rs exports `{line}`");
    }
    let testing = std::fs::read_to_string(root().join("src/testing.rs")).unwrap();
    assert!(!testing.contains("::*"), "src/testing.rs re-exports items one by one, never a glob");
}
