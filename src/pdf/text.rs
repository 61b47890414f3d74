//! Measuring, limiting and wrapping text so that nothing overflows its box.
//!
//! Owns: the spec's length limits (pagopa.md §3.1: AVVISO.OGGETTO ≤ 90 characters, ENTE.NOME ≤ 50,
//! DESTINATARIO.NOMECOMPLETO ≤ 70, …) and the fitting rule every box uses: wrap at spaces into at
//! most N lines; a word wider than the box is broken between characters; what still does not fit
//! is cut and ends with `…`. Widths come from the font's real metrics (`fonts`).
//! Must never: let a line be wider than the width it was given.

use super::fonts::{FontId, text_width};

/// The ellipsis that marks a cut.
pub const ELLIPSIS: char = '…';

/// `text` cut to at most `max` characters, ending with `…` when cut (the spec's limits count
/// characters, the ellipsis included).
pub fn limit_chars(text: &str, max: usize) -> String {
    let text = text.trim();
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
    out.truncate(out.trim_end().len());
    out.push(ELLIPSIS);
    out
}

/// The longest prefix of `text` that fits in `width` points together with a trailing `…`.
pub fn truncate_to_width(text: &str, font: FontId, size: f32, width: f32) -> String {
    if text_width(font, text, size) <= width {
        return text.to_owned();
    }
    let ellipsis = text_width(font, "…", size);
    let mut out = String::new();
    let mut used = 0.0;
    for ch in text.chars() {
        let w = text_width(font, ch.encode_utf8(&mut [0; 4]), size);
        if used + w + ellipsis > width {
            break;
        }
        used += w;
        out.push(ch);
    }
    out.truncate(out.trim_end().len());
    out.push(ELLIPSIS);
    out
}

/// `text` wrapped into at most `max_lines` lines no wider than `width` points; the last line ends
/// with `…` when the text did not fit. Explicit newlines start a new line.
pub fn wrap(text: &str, font: FontId, size: f32, width: f32, max_lines: usize) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    let mut overflow = false;
    'paragraphs: for paragraph in text.split('\n') {
        let mut line = String::new();
        for word in paragraph.split_whitespace() {
            let candidate = if line.is_empty() { word.to_owned() } else { format!("{line} {word}") };
            if text_width(font, &candidate, size) <= width {
                line = candidate;
                continue;
            }
            if !line.is_empty() {
                if lines.len() + 1 == max_lines {
                    lines.push(line);
                    overflow = true;
                    break 'paragraphs;
                }
                lines.push(std::mem::take(&mut line));
            }
            // A word alone wider than the box is broken between characters.
            let mut rest = word.to_owned();
            while text_width(font, &rest, size) > width {
                let head = take_fitting(&rest, font, size, width);
                if head.is_empty() {
                    break;
                }
                if lines.len() + 1 == max_lines {
                    lines.push(rest);
                    overflow = true;
                    break 'paragraphs;
                }
                rest = rest.get(head.len()..).unwrap_or_default().to_owned();
                lines.push(head);
            }
            line = rest;
        }
        if lines.len() == max_lines {
            overflow = true;
            break;
        }
        lines.push(line);
    }
    if overflow && let Some(last) = lines.last_mut() {
        *last = truncate_to_width(&format!("{last}{ELLIPSIS}"), font, size, width);
        if !last.ends_with(ELLIPSIS) {
            last.push(ELLIPSIS);
        }
    }
    while lines.len() > 1 && lines.last().is_some_and(|l| l.is_empty()) {
        lines.pop();
    }
    lines
}

/// The longest prefix of `text` no wider than `width` (at least one character).
fn take_fitting(text: &str, font: FontId, size: f32, width: f32) -> String {
    let mut out = String::new();
    for ch in text.chars() {
        out.push(ch);
        if text_width(font, &out, size) > width {
            out.pop();
            break;
        }
    }
    if out.is_empty() {
        out.extend(text.chars().next());
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

    use super::*;

    #[test]
    fn limits_count_characters_and_mark_the_cut() {
        assert_eq!(limit_chars("Comune di Esempio", 50), "Comune di Esempio");
        let cut = limit_chars(&"à".repeat(100), 90);
        assert_eq!(cut.chars().count(), 90);
        assert!(cut.ends_with('…'));
    }

    #[test]
    fn wrapped_lines_never_exceed_the_width() {
        let text = "Società Agricola Fratelli Dell'Acqua e Figli di Città di Castello, \
                    con un nome lunghissimo che non entra mai in una riga sola";
        for width in [40.0, 80.0, 150.0, 300.0] {
            for lines in [1, 2, 3] {
                let got = wrap(text, FontId::Bold, 11.0, width, lines);
                assert!(got.len() <= lines, "{got:?}");
                for line in &got {
                    assert!(text_width(FontId::Bold, line, 11.0) <= width + 0.01, "{line:?} wider than {width}");
                }
            }
        }
        let long_word = "X".repeat(200);
        let got = wrap(&long_word, FontId::Regular, 10.0, 100.0, 2);
        assert_eq!(got.len(), 2);
        assert!(got[1].ends_with('…'));
        assert_eq!(wrap("breve", FontId::Regular, 10.0, 100.0, 2), vec!["breve"]);
        assert_eq!(wrap("", FontId::Regular, 10.0, 100.0, 2), vec![""]);
    }

    #[test]
    fn truncation_fits_the_width() {
        let got = truncate_to_width(&"M".repeat(50), FontId::Bold, 12.0, 60.0);
        assert!(got.ends_with('…'));
        assert!(text_width(FontId::Bold, &got, 12.0) <= 60.0);
    }
}
