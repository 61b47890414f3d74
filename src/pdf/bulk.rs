//! Many notices in one ZIP file (`avviso_<IUV>.pdf` per debt), as an import's result or an
//! operator's bulk download (mypay.md §1.10, §2.7).
//!
//! Owns: the archive layout and streaming: each notice is loaded, rendered and deflated into the
//! archive before the next one is loaded, so memory stays flat however many debts there are.
//! Must never: stop at one bad debt: a debt without a printable notice is skipped and counted.

use std::io::{Seek, Write};

use zip::write::SimpleFileOptions;

use super::{PdfError, notice_pdf};
use crate::services::ServiceError;
use crate::services::documents::NoticeView;

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
pub fn write_notices_zip<W: Write + Seek>(
    out: W,
    views: impl IntoIterator<Item = Result<NoticeView, ServiceError>>,
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

    use super::*;
    use crate::services::{demo, documents};
    use crate::store::Db;

    #[test]
    fn a_zip_holds_one_notice_per_debt_and_skips_the_unknown() {
        let dir = tempfile::tempdir().unwrap();
        let (db, _) = Db::open(&dir.path().join("mypay.db")).unwrap();
        demo::seed(&db, jiff::civil::date(2026, 1, 10), "2026-01-10T10:00:00Z").unwrap();
        let iuds: Vec<String> = vec!["TARI-2026-0001".into(), "TARI-2026-0002".into(), "NO-SUCH-DEBT".into()];
        let mut buf = std::io::Cursor::new(Vec::new());
        let summary = write_notices_zip(&mut buf, documents::notice_views(&db, demo::DEMO_IPA, &iuds)).unwrap();
        assert_eq!(summary.written.len(), 2);
        assert_eq!(summary.skipped.len(), 1);
        let mut archive = zip::ZipArchive::new(std::io::Cursor::new(buf.into_inner())).unwrap();
        assert_eq!(archive.len(), 2);
        let mut first = archive.by_index(0).unwrap();
        assert!(first.name().starts_with("avviso_") && first.name().ends_with(".pdf"));
        let mut head = [0u8; 5];
        std::io::Read::read_exact(&mut first, &mut head).unwrap();
        assert_eq!(&head, b"%PDF-");
    }
}
