//! The line loop the UTF-8 CSV kinds share (C, D, P): the entry named after the ZIP, its first
//! line skipped (a header whose text is never checked, as MyPivot skips it), blank lines skipped,
//! at most [`MAX_ROWS`] data lines, each split into trimmed fields and turned into one item or one
//! refusal. A line that is not UTF-8 or cannot be split is refused, and the file goes on.

use super::archive::{Zip, io_error};
use super::{FileRejection, Item, MAX_ROWS, Out, ReadError};

/// MyPivot's message for a line it cannot split.
pub const UNREADABLE_LINE: &str = "Impossibile elaborare la riga";

/// Reads the data lines of the CSV entry of `zip` named `base`: `split` gives a line's fields
/// (`None`: unreadable), `item` a row's item or why it is refused.
pub(super) fn read<E>(
    zip: &mut Zip,
    base: &str,
    out: &mut Out<'_, E>,
    split: impl Fn(&str) -> Option<Vec<String>>,
    item: impl Fn(&[String]) -> Result<Item, String>,
) -> Result<(), ReadError<E>> {
    let index = zip.named_entry(base, &["csv"])?;
    let mut lines = zip.lines(index)?;
    let mut rows = 0_u64;
    while let Some(bytes) = lines.next_line().map_err(io_error)? {
        let text = String::from_utf8(bytes.to_vec());
        let line = lines.line_no;
        if line == 1 {
            continue;
        }
        let text = match text {
            Ok(text) => text,
            Err(err) => {
                let raw = String::from_utf8_lossy(err.as_bytes()).into_owned();
                out.reject(line, vec![super::shown(&raw)], UNREADABLE_LINE.to_owned())?;
                continue;
            }
        };
        if text.trim().is_empty() {
            continue;
        }
        rows += 1;
        if rows > MAX_ROWS {
            return Err(FileRejection::TooManyRows(MAX_ROWS).into());
        }
        let Some(fields) = split(&text) else {
            out.reject(line, vec![super::shown(&text)], UNREADABLE_LINE.to_owned())?;
            continue;
        };
        match item(&fields) {
            Ok(item) => out.give(item)?,
            Err(message) => out.reject(line, fields.iter().map(|f| super::shown(f)).collect(), message)?,
        }
    }
    Ok(())
}

/// A `;` line of MyPivot's delimited files (`"` quotes, `\` escapes), fields trimmed.
pub(super) fn split_quoted(text: &str) -> Option<Vec<String>> {
    let mut split = Vec::new();
    crate::flows::csv_row::split(text, &mut split).ok()?;
    Some(split.iter().map(|f| f.trim().to_owned()).collect())
}
