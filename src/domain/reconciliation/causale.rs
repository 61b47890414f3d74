//! The keys a treasury movement's free text names: the reporting flow (IUF) of a cumulative
//! transfer, or the IUV of a payment transferred on its own, written however banks write them.
//!
//! Owns: [`keys`] (both keys of one causale), [`iuf`] and [`iuv`]: MyPivot's
//! tolerant parser (the five `LGPE-RIVERSAMENTO` spellings, `/URI/` or ` URI `, dates broken by a
//! space rejoined, ids split by `ACCREDITI VARI` rejoined; `RFB` and `RFS` references) with the
//! fixes of mypivot.md §8 e/m: keywords found whatever their case, values trimmed, an IUV accepted
//! only in its shape (17 digits, or `RF`, 2 check digits and 1 to 21 letters or digits), and a
//! broken date rejoined with the rest of the IUF (P4PA kept only the date).
//! Must never: allocate out of proportion to the text, take more than linear time in it (every
//! search is a substring scan; each candidate value is read up to a bounded length), or panic.
//! Implements: `shared/reference/mypivot.md` §2 (its results table is this module's tests).

/// The spellings of the IUF's prefix, in MyPivot's order: the first found wins.
const IUF_PREFIXES: [&str; 5] =
    ["LGPE-RIVERSAMENTO", "LGPE- RIVERSAMENTO", "LGPE -RIVERSAMENTO", "LGPE - RIVERSAMENTO", "L GPE-RIVERSAMENTO"];

/// Longest creditor reference (`RF` + 2 + 21) and MyPivot's cut of an `RFS` value.
const RF_MAX: usize = 25;

/// Longest value read after a keyword: an IUF has at most 35 characters; a longer run is read
/// whole (so that a reader can refuse it as too long) up to this bound, never further.
const VALUE_MAX: usize = 256;

/// The keys found in one causale.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Keys {
    /// The reporting flow id, for a cumulative transfer.
    pub iuf: Option<String>,
    /// The IUV, for a payment transferred on its own.
    pub iuv: Option<String>,
}

/// Both keys of a causale (a text may carry both: the movement then joins by either).
pub fn keys(causale: &str) -> Keys {
    Keys { iuf: iuf(causale), iuv: iuv(causale) }
}

/// The IUF a causale names after one of the `LGPE-RIVERSAMENTO` prefixes and `/URI/` (or ` URI `,
/// then only a dated id): a dated id (`2024-05-17TESTITM1XXX-S000001`, a space inside the day
/// rejoined) or an old-style id of letters and digits only.
pub fn iuf(causale: &str) -> Option<String> {
    let text = causale.trim();
    // ASCII upper-casing keeps every byte offset, so positions found in `upper` index `text`.
    let upper = text.to_ascii_uppercase();
    let after_prefix =
        IUF_PREFIXES.iter().find_map(|prefix| upper.find(prefix).map(|at| at.saturating_add(prefix.len())))?;
    // Banks split long ids in two on these transfers (mypivot.md §2, IUF 2).
    let split_ids = upper.starts_with("ACCREDITI VARI");
    for (marker, dated_only) in [("/URI/", false), (" URI ", true)] {
        let Some(at) = upper.get(after_prefix..).and_then(|rest| rest.find(marker)) else { continue };
        let start = after_prefix.saturating_add(at).saturating_add(marker.len());
        let Some(id) = text.get(start..).and_then(|rest| read_id(rest, split_ids)) else { continue };
        let old_style = id.bytes().all(|b| b.is_ascii_alphanumeric());
        if date_at(&id).is_some() || (!dated_only && old_style) {
            return Some(id);
        }
    }
    None
}

/// The IUV a causale names: `RFB/<iuv>/` (or at the end), `RFB <iuv> `, then `RFS/<ref>/` or the
/// text after the last `RFS`, spaces removed and cut at 25 characters. A candidate of another
/// shape is no IUV (MyPivot took `CORSO2024` from `RFS CORSO 2024`).
pub fn iuv(causale: &str) -> Option<String> {
    let upper = causale.trim().to_ascii_uppercase();
    rfb(&upper).or_else(|| rfs(&upper))
}

/// Whether a text has an IUV's shape: 17 digits, or an RF creditor reference.
pub fn is_iuv_shape(value: &str) -> bool {
    let bytes = value.as_bytes();
    if bytes.len() == 17 && bytes.iter().all(u8::is_ascii_digit) {
        return true;
    }
    (5..=RF_MAX).contains(&bytes.len())
        && bytes.starts_with(b"RF")
        && bytes.get(2..4).is_some_and(|check| check.iter().all(u8::is_ascii_digit))
        && bytes.get(4..).is_some_and(|rest| rest.iter().all(|b| b.is_ascii_digit() || b.is_ascii_uppercase()))
}

fn rfb(upper: &str) -> Option<String> {
    // The last `RFB/` first, as MyPivot's greedy match; the value ends at `/` or the text's end.
    for (at, _) in upper.rmatch_indices("RFB/") {
        let rest = upper.get(at.saturating_add(4)..).unwrap_or_default();
        let value = bounded(rest.split('/').next().unwrap_or_default()).trim();
        if is_iuv_shape(value) {
            return Some(value.to_owned());
        }
    }
    for (at, _) in upper.match_indices("RFB ") {
        let value = first_token(upper.get(at.saturating_add(4)..).unwrap_or_default());
        if is_iuv_shape(value) {
            return Some(value.to_owned());
        }
    }
    None
}

fn rfs(upper: &str) -> Option<String> {
    for (at, _) in upper.rmatch_indices("RFS/") {
        let rest = upper.get(at.saturating_add(4)..).unwrap_or_default();
        let value = compact(rest.split('/').next().unwrap_or_default());
        if is_iuv_shape(&value) {
            return Some(value);
        }
    }
    for (at, _) in upper.rmatch_indices("RFS") {
        let rest = upper.get(at.saturating_add(3)..).unwrap_or_default();
        // A reference written whole, then MyPivot's reading: the first 25 characters that are not
        // spaces (a reference the bank wrote in groups of four).
        let token = first_token(rest);
        if is_iuv_shape(token) {
            return Some(token.to_owned());
        }
        let value = compact(rest);
        if is_iuv_shape(&value) {
            return Some(value);
        }
    }
    None
}

/// The first whitespace-separated word of a text (at most [`VALUE_MAX`] bytes are looked at).
fn first_token(text: &str) -> &str {
    bounded(text.trim_start()).split(char::is_whitespace).next().unwrap_or_default()
}

/// The first [`RF_MAX`] characters of a text that are not whitespace.
fn compact(text: &str) -> String {
    text.chars().filter(|c| !c.is_whitespace()).take(RF_MAX).collect()
}

/// At most [`VALUE_MAX`] bytes of a text, cut at a character boundary.
fn bounded(text: &str) -> &str {
    if text.len() <= VALUE_MAX {
        return text;
    }
    let mut end = VALUE_MAX;
    while !text.is_char_boundary(end) {
        end = end.saturating_sub(1);
    }
    text.get(..end).unwrap_or_default()
}

fn is_id_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '-'
}

/// Reads an IUF at the start of `text`: a date whose day a space broke (`2024-05- 17…`,
/// `2024-05-1 7…`) is rejoined, then the id's characters (`[A-Za-z0-9_-]`). With `split_ids`, a
/// dated id missing the `-` after its PSP id is joined with the word after the space.
fn read_id(text: &str, split_ids: bool) -> Option<String> {
    let text = bounded(text);
    let chars: Vec<char> = text.chars().collect();
    let mut id = String::new();
    let mut pos = 0;
    if let Some(after_date) = broken_date(&chars) {
        id.extend(chars.iter().take(after_date).filter(|c| !c.is_whitespace()));
        pos = after_date;
    }
    while let Some(&c) = chars.get(pos).filter(|c| is_id_char(**c)) {
        id.push(c);
        pos += 1;
    }
    if id.is_empty() {
        return None;
    }
    let incomplete = date_at(&id).is_some_and(|at| !id.get(at.saturating_add(10)..).unwrap_or_default().contains('-'));
    if split_ids && incomplete {
        let mut next = pos;
        while chars.get(next).is_some_and(|c| c.is_whitespace()) {
            next += 1;
        }
        if next > pos {
            while let Some(&c) = chars.get(next).filter(|c| is_id_char(**c)) {
                id.push(c);
                next += 1;
            }
        }
    }
    Some(id)
}

/// The length (in chars) of a date at the start: `dddd-dd-dd`, `dddd-dd- dd` or `dddd-dd-d d`.
fn broken_date(chars: &[char]) -> Option<usize> {
    let digit = |at: usize| chars.get(at).is_some_and(char::is_ascii_digit);
    let dash = |at: usize| chars.get(at) == Some(&'-');
    let space = |at: usize| chars.get(at).is_some_and(|c| c.is_whitespace());
    if !((0..4).all(digit) && dash(4) && digit(5) && digit(6) && dash(7)) {
        return None;
    }
    if digit(8) && digit(9) {
        Some(10)
    } else if (space(8) && digit(9) && digit(10)) || (digit(8) && space(9) && digit(10)) {
        Some(11)
    } else {
        None
    }
}

/// The byte offset of the first `dddd-dd-dd` in a text.
fn date_at(text: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    bytes
        .windows(10)
        .position(|w| w.iter().enumerate().all(|(i, b)| if i == 4 || i == 7 { *b == b'-' } else { b.is_ascii_digit() }))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

    use super::*;

    const P1: &str = "2024-05-17TESTITM1XXX-S000001";

    fn both(causale: &str) -> (Option<String>, Option<String>) {
        let found = keys(causale);
        (found.iuf, found.iuv)
    }

    fn iuf_only(value: &str) -> (Option<String>, Option<String>) {
        (Some(value.to_owned()), None)
    }

    fn iuv_only(value: &str) -> (Option<String>, Option<String>) {
        (None, Some(value.to_owned()))
    }

    /// mypivot.md §2, results table: the IUF rows, each as MyPivot's routine reads it.
    #[test]
    fn iuf_spellings_banks_write() {
        for causale in [
            "/PUR/LGPE-RIVERSAMENTO/URI/2024-05-17TESTITM1XXX-S000001",
            "/PUR/LGPE-RIVERSAMENTO/URI/2024-05-17TESTITM1XXX-S000001/TXT/RIVERSAMENTO PAGOPA",
            "BONIFICO SEPA /PUR/LGPE- RIVERSAMENTO/URI/2024-05-17TESTITM1XXX-S000001 ORD. BANCA DI PROVA",
            "/PUR/LGPE - RIVERSAMENTO/URI/2024-05-17TESTITM1XXX-S000001",
            "/PUR/L GPE-RIVERSAMENTO/URI/2024-05-17TESTITM1XXX-S000001",
            "/PUR/LGPE -RIVERSAMENTO/URI/2024-05-17TESTITM1XXX-S000001",
            // Dates broken by the bank, rejoined whole (P4PA kept only `2024-05-17`: §8 m).
            "/PUR/LGPE-RIVERSAMENTO/URI/2024-05- 17TESTITM1XXX-S000001",
            "/PUR/LGPE-RIVERSAMENTO/URI/2024-05-1 7TESTITM1XXX-S000001",
            "PUR LGPE-RIVERSAMENTO URI 2024-05-17TESTITM1XXX-S000001",
            "ACCREDITI VARI /PUR/LGPE-RIVERSAMENTO/URI/2024-05-17TESTITM1 XXX-S000001 /BEN. COMUNE",
        ] {
            assert_eq!(both(causale), iuf_only(P1), "{causale}");
        }
    }

    #[test]
    fn iuf_edge_cases_as_mypivot_reads_them() {
        // Truncated by the Node (pagopa/pagopa-api#272): alphanumeric, so accepted, like MyPivot.
        assert_eq!(both("/PUR/LGPE-RIVERSAMENTO/URI/2"), iuf_only("2"));
        assert_eq!(both("/PUR/LGPE-RIVERSAMENTO/URI/TESTIUF0001"), iuf_only("TESTIUF0001"));
        // A dash and no date, or a date without its dashes: not an IUF.
        assert_eq!(both("/PUR/LGPE-RIVERSAMENTO/URI/TEST-IUF-0001"), (None, None));
        assert_eq!(both("/PUR/LGPE-RIVERSAMENTO/URI/20240517TESTITM1XXX-S000001"), (None, None));
        // ` URI ` without slashes: only a dated id.
        assert_eq!(both("PUR LGPE-RIVERSAMENTO URI TESTIUF0001"), (None, None));
        // An ACCREDITI VARI id already whole is not joined with the next word (MyPivot joined it).
        assert_eq!(both(&format!("ACCREDITI VARI /PUR/LGPE-RIVERSAMENTO/URI/{P1} BEN COMUNE")), iuf_only(P1));
    }

    /// mypay differs here on purpose (§8 e): keywords in any case. MyPivot found nothing in
    /// `lgpe-riversamento/URI/…`, and the transfer stayed unreconciled.
    #[test]
    fn keywords_are_found_in_any_case() {
        assert_eq!(both(&format!("lgpe-riversamento/URI/{P1}")), iuf_only(P1));
        assert_eq!(both(&format!("/pur/Lgpe-Riversamento/uri/{P1}")), iuf_only(P1));
        assert_eq!(both("/rfb/01000000000012303/45.50"), iuv_only("01000000000012303"));
    }

    /// mypivot.md §2, results table: the IUV rows.
    #[test]
    fn iuv_references() {
        for causale in [
            "/RFB/01000000000012303/45.50/TXT/MENSA SCOLASTICA MAGGIO",
            "/RFB/01000000000012303",
            "RFB 01000000000012303 45.50 MENSA",
            "/TXT/2/RFB/01000000000012303/45.50",
        ] {
            assert_eq!(both(causale), iuv_only("01000000000012303"), "{causale}");
        }
        for causale in [
            "/RFS/RF23000000000000000012345/45.50/TXT/MENSA",
            "/RFS/RF23 0000 0000 0000 0000 12345 /45.50",
            "RFS RF23000000000000000012345 45.50",
        ] {
            assert_eq!(both(causale), iuv_only("RF23000000000000000012345"), "{causale}");
        }
    }

    /// MyPivot kept the leading space (` 01000000000012303`), so the movement never joined its
    /// receipt; mypay trims (§8 e).
    #[test]
    fn an_iuv_is_trimmed() {
        assert_eq!(both("/RFB/ 01000000000012303/45.50"), iuv_only("01000000000012303"));
    }

    #[test]
    fn a_causale_may_name_both_keys() {
        assert_eq!(
            both(&format!("/RFB/01000000000012303/45.50 /PUR/LGPE-RIVERSAMENTO/URI/{P1}")),
            (Some(P1.to_owned()), Some("01000000000012303".to_owned()))
        );
    }

    /// MyPivot's false positives (`CORSO2024`, `ERVIZI`) fail the IUV shape check (§8 e): those
    /// movements are TES_NO_MATCH rather than transfers of an IUV no one ever issued.
    #[test]
    fn words_after_rfs_are_not_iuvs() {
        assert_eq!(both("RIMBORSO SPESE RFS CORSO 2024"), (None, None));
        assert_eq!(both("RIMBORSO SPESE TRFSERVIZI"), (None, None));
        assert_eq!(both("BONIFICO AFFITTO LOCALI COMUNALI APRILE 2024"), (None, None));
        assert_eq!(both("PAGAMENTO RFBIANCHI SRL"), (None, None));
        assert_eq!(both("/RFB/0100000000001230/45.50"), (None, None), "16 digits");
    }

    #[test]
    fn iuv_shapes() {
        assert!(is_iuv_shape("01000000000012303"));
        assert!(is_iuv_shape("RF23000000000000000012345"));
        assert!(is_iuv_shape("RF18ABC"));
        assert!(!is_iuv_shape("RF1"));
        assert!(!is_iuv_shape("RFXX1234"));
        assert!(!is_iuv_shape("RF23000000000000000012345X"));
        assert!(!is_iuv_shape("0100000000001230A"));
    }

    #[test]
    fn hostile_texts_stay_cheap() {
        let long = "RFB/".repeat(20_000);
        assert_eq!(iuv(&long), None);
        let long = format!("LGPE-RIVERSAMENTO/URI/{}", "A".repeat(100_000));
        assert_eq!(iuf(&long).map(|id| id.len()), Some(VALUE_MAX));
        assert_eq!(keys("é/URI/LGPE-RIVERSAMENTO/URI/2024-05-1é"), Keys::default());
        assert_eq!(keys(""), Keys::default());
    }
}
