//! Property-based fuzzing of the parsers that read what strangers send (tests only): the SOAP
//! envelope and XML reader (`xml`), the import CSV (`csv`), the upload ZIP with the whole reading
//! half of an import (`import_zip`), the `bilancio` column (`bilancio`), the reporting flows
//! (`fdr`) and the reconciliation inputs (`recon`).
//!
//! Each property says: no panic on any input, and no allocation out of proportion, checked by
//! what can be seen without `unsafe` (a counting allocator would need it): the output is bounded
//! by the input's size and by the parser's caps, and an input over a cap is refused with its typed
//! error. Inputs are structure-aware: real documents (`../shared/fixtures/real-world/`, read at
//! run time, and `tests/fixtures/`)
//! edited byte-wise with each format's own tokens, and generated shapes sized around each cap.
//!
//! Runs are reproducible: a fixed seed, no failure files. `PROPTEST_CASES=<n>` runs every
//! property with n cases and `PROPTEST_RNG_SEED=<u64>` explores other inputs (SECURITY.md). The
//! case counts cost about 15 s of CPU in a debug build, so that the module stays well within a
//! minute of CI.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

mod bilancio;
mod csv;
mod fdr;
mod import_zip;
mod recon;
mod xml;

use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed};

/// The seed of every property: a failure seen once is seen again on every run and in CI.
const SEED: u64 = 0x6d79_7061_7946_555a;

/// Biggest input an edit list may grow a document to: enough to cross every per-element cap
/// (attribute values, 64 KiB lines), small enough that a case stays fast.
pub(crate) const MAX_EDITED: usize = 256 * 1024;

/// A configuration with `cases` cases, the fixed seed and no failure persistence (no files are
/// written next to the sources). `PROPTEST_CASES` and `PROPTEST_RNG_SEED` still override it: the
/// `proptest!` macro applies the environment last.
pub(crate) fn config(cases: u32) -> Config {
    let mut config = Config::with_cases(cases);
    config.rng_seed = RngSeed::Fixed(SEED);
    config.failure_persistence = None;
    // A failing case shrinks for at most this long rather than for hours.
    config.max_shrink_time = 30_000;
    config
}

/// How much longer than its input an error message may be: a sentence or two, and the offending
/// value cut to 64 characters (`domain::shown`), escaped as Rust would (up to 10 bytes each).
pub(crate) const MESSAGE_SLACK: usize = 1024;

/// One edit of a document. Positions are taken modulo the length the document has when the edit
/// applies, so one list of edits fits any seed.
#[derive(Debug, Clone)]
pub(crate) enum Edit {
    Insert {
        at: usize,
        bytes: Vec<u8>,
    },
    Delete {
        at: usize,
        len: usize,
    },
    /// The `len` bytes at `at`, repeated `times` more: deep nesting, floods of attributes or
    /// elements, long fields.
    Repeat {
        at: usize,
        len: usize,
        times: usize,
    },
    /// XOR with `mask`: a flipped bit, an ASCII byte made non-ASCII, a broken UTF-8 sequence.
    Flip {
        at: usize,
        mask: u8,
    },
    /// Overwrites with `bytes`: a length field, a separator turned into another one.
    Overwrite {
        at: usize,
        bytes: Vec<u8>,
    },
    Truncate {
        at: usize,
    },
}

/// What an insertion puts in: one of the format's tokens, that token many times (`<a>` x 300 is
/// deep nesting, `;` x 300 is too many columns), or raw bytes.
fn insertion(tokens: &'static [&'static [u8]]) -> impl Strategy<Value = Vec<u8>> {
    let token = proptest::sample::select(tokens);
    prop_oneof![
        4 => token.clone().prop_map(<[u8]>::to_vec),
        1 => (token, 2usize..400).prop_map(|(t, n)| t.repeat(n)),
        1 => proptest::collection::vec(any::<u8>(), 1..8),
    ]
}

/// A list of 1 to `max` edits whose insertions come from `tokens`.
pub(crate) fn edits(tokens: &'static [&'static [u8]], max: usize) -> impl Strategy<Value = Vec<Edit>> {
    let edit = prop_oneof![
        4 => (any::<usize>(), insertion(tokens)).prop_map(|(at, bytes)| Edit::Insert { at, bytes }),
        2 => (any::<usize>(), 1usize..64).prop_map(|(at, len)| Edit::Delete { at, len }),
        2 => (any::<usize>(), 1usize..48, 1usize..2_000).prop_map(|(at, len, times)| Edit::Repeat { at, len, times }),
        2 => (any::<usize>(), 1u8..=255).prop_map(|(at, mask)| Edit::Flip { at, mask }),
        1 => (any::<usize>(), insertion(tokens)).prop_map(|(at, bytes)| Edit::Overwrite { at, bytes }),
        1 => any::<usize>().prop_map(|at| Edit::Truncate { at }),
    ];
    proptest::collection::vec(edit, 1..=max)
}

/// `doc` with `edits` applied in order, never longer than `max_len`.
pub(crate) fn apply(doc: &[u8], edits: &[Edit], max_len: usize) -> Vec<u8> {
    let mut out = doc.to_vec();
    for edit in edits {
        let at = |pos: usize, len: usize| pos % (len + 1);
        match edit {
            Edit::Insert { at: pos, bytes } => {
                let pos = at(*pos, out.len());
                out.splice(pos..pos, bytes.iter().copied());
            }
            Edit::Delete { at: pos, len } => {
                let pos = at(*pos, out.len());
                let end = pos.saturating_add(*len).min(out.len());
                out.drain(pos..end);
            }
            Edit::Repeat { at: pos, len, times } => {
                let pos = at(*pos, out.len());
                let end = pos.saturating_add(*len).min(out.len());
                let piece = out.get(pos..end).unwrap_or_default().to_vec();
                let room = max_len.saturating_sub(out.len()) / piece.len().max(1);
                let copies = piece.repeat((*times).min(room));
                out.splice(end..end, copies);
            }
            Edit::Flip { at: pos, mask } => {
                let pos = at(*pos, out.len());
                if let Some(byte) = out.get_mut(pos) {
                    *byte ^= mask;
                }
            }
            Edit::Overwrite { at: pos, bytes } => {
                let pos = at(*pos, out.len());
                for (slot, byte) in out.iter_mut().skip(pos).zip(bytes) {
                    *slot = *byte;
                }
            }
            Edit::Truncate { at: pos } => {
                let pos = at(*pos, out.len());
                out.truncate(pos);
            }
        }
        out.truncate(max_len);
    }
    out
}

/// Real third-party documents (pagoPA's examples and test suites, regional clients) named
/// `names`, read at run time from `../shared/fixtures/real-world/` beside the project: they are
/// test inputs, never copied into it. The ones found; none when the folder is not there (each seed
/// list also holds documents of the project's own).
pub(crate) fn real_world(names: &[&str]) -> Vec<&'static [u8]> {
    let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures/real-world");
    names
        .iter()
        .filter_map(|name| {
            ["node", "sil", "fdr", "flows"].iter().find_map(|dir| std::fs::read(root.join(dir).join(name)).ok())
        })
        // Read once per test process, for its whole life.
        .map(|bytes| &*Box::leak(bytes.into_boxed_slice()))
        .collect()
}

/// One of `seeds`, picked by the strategy.
pub(crate) fn seed(seeds: &'static [&'static [u8]]) -> impl Strategy<Value = &'static [u8]> {
    proptest::sample::select(seeds)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edits_apply_at_any_position_and_respect_the_size_limit() {
        let doc = b"<a>b</a>";
        assert_eq!(apply(doc, &[Edit::Insert { at: 3, bytes: b"x".to_vec() }], 100), b"<a>xb</a>");
        assert_eq!(apply(doc, &[Edit::Insert { at: 9 + 3, bytes: b"x".to_vec() }], 100), b"<a>xb</a>");
        assert_eq!(apply(doc, &[Edit::Delete { at: 0, len: 100 }], 100), b"");
        assert_eq!(apply(doc, &[Edit::Repeat { at: 0, len: 3, times: 2 }], 100), b"<a><a><a>b</a>");
        assert_eq!(apply(doc, &[Edit::Repeat { at: 0, len: 3, times: 1000 }], 20).len(), 20);
        assert_eq!(apply(doc, &[Edit::Flip { at: 1, mask: 0x20 }], 100), b"<A>b</a>");
        assert_eq!(apply(doc, &[Edit::Overwrite { at: 6, bytes: b"xyz".to_vec() }], 100), b"<a>b</xy");
        assert_eq!(apply(doc, &[Edit::Truncate { at: 4 }], 100), b"<a>b");
        assert_eq!(apply(b"", &[Edit::Repeat { at: 5, len: 3, times: 10 }, Edit::Flip { at: 0, mask: 1 }], 10), b"");
    }
}
