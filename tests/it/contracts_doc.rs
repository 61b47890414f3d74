//! `docs/contracts.md` names, for each contract, the files and symbols that implement it: every
//! one it names must exist, so the list is kept true by this test rather than by memory.

use std::path::PathBuf;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The backticked places of the document's tables that look like a path (`src/…`, `packaging/…`),
/// each split into (path, symbol).
fn places(doc: &str) -> Vec<(String, Option<String>)> {
    let mut out = Vec::new();
    for line in doc.lines().filter(|l| l.starts_with('|')) {
        let Some(cell) = line.trim_end_matches('|').rsplit('|').next() else { continue };
        for (i, piece) in cell.split('`').enumerate() {
            if i % 2 == 0 || !(piece.starts_with("src/") || piece.starts_with("packaging/")) {
                continue;
            }
            match piece.split_once("::") {
                Some((path, symbol)) => out.push((path.to_owned(), Some(symbol.to_owned()))),
                None => out.push((piece.to_owned(), None)),
            }
        }
    }
    out
}

/// Whether `text` defines `symbol` (a function, type, constant, static or module).
fn defines(text: &str, symbol: &str) -> bool {
    ["fn", "struct", "enum", "const", "static", "mod", "trait", "type"].iter().any(|kind| {
        text.contains(&format!("{kind} {symbol}("))
            || text.contains(&format!("{kind} {symbol} "))
            || text.contains(&format!("{kind} {symbol}<"))
            || text.contains(&format!("{kind} {symbol}:"))
    })
}

#[test]
fn every_place_in_docs_contracts_exists() {
    let doc = std::fs::read_to_string(root().join("docs/contracts.md")).unwrap();
    let places = places(&doc);
    assert!(places.len() > 60, "the table lists the contracts ({} places)", places.len());
    for (path, symbol) in places {
        let file = root().join(&path);
        assert!(file.exists(), "docs/contracts.md names {path}, which does not exist");
        if let Some(symbol) = symbol {
            let text = std::fs::read_to_string(&file).unwrap();
            assert!(defines(&text, &symbol), "docs/contracts.md names {path}::{symbol}, which {path} does not define");
        }
    }
}

#[test]
fn places_are_read_from_the_last_column() {
    let doc = "| a `src/x.rs` | `src/y.rs::f`, `src/z.rs` |\n| --- | --- |\nprose `src/no.rs`";
    assert_eq!(places(doc), [("src/y.rs".to_owned(), Some("f".to_owned())), ("src/z.rs".to_owned(), None)]);
}
