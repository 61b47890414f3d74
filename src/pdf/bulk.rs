//! Many notices in one ZIP file (`avviso_<IUV>.pdf` per debt), as an import's result or an
//! operator's bulk download (mypay.md §1.10, §2.7).
//!
//! Owns: the archive layout and streaming: each notice is loaded, rendered and deflated into the
//! archive before the next one is loaded, so memory stays flat however many debts there are.
//! Must never: stop at one bad debt: a debt without a printable notice is skipped and counted.

use std::io::{Seek, Write};

use zip::write::SimpleFileOptions;

use super::input::NoticeView;
use super::{PdfError, notice_pdf};

/// What a bulk ZIP holds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BulkSummary {
    /// Names of the entries written, in order.
    pub written: Vec<String>,
    /// The debts left out and why.
    pub skipped: Vec<String>,
}

/// Writes the notices `views` yields into a ZIP on `out`; a view that could not be built is
/// skipped and reported in the summary.
pub fn write_notices_zip<W: Write + Seek, E: std::fmt::Display>(
    out: W,
    views: impl IntoIterator<Item = Result<NoticeView, E>>,
) -> Result<BulkSummary, PdfError> {
    let mut zip = zip::ZipWriter::new(out);
    // PDFs are already Flate-compressed inside, so a fast level is enough.
    let options =
        SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated).compression_level(Some(1));
    let mut summary = BulkSummary::default();
    for view in views {
        let view = match view {
            Ok(view) => view,
            Err(err) => {
                summary.skipped.push(err.to_string());
                continue;
            }
        };
        let pdf = notice_pdf(&view)?;
        let name = format!("avviso_{}.pdf", view.iuv);
        zip.start_file(name.as_str(), options).map_err(|err| PdfError::Zip(err.to_string()))?;
        zip.write_all(&pdf)?;
        summary.written.push(name);
    }
    zip.finish().map_err(|err| PdfError::Zip(err.to_string()))?;
    Ok(summary)
}
