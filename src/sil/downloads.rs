//! The files behind the SIL's expiring download URLs: export ZIPs, an import's result files and
//! reporting flows.

use std::path::{Path, PathBuf};

use crate::clock::Now;
use crate::services::admin::orgs;
use crate::services::debts::{exports, imports};
use crate::services::links::Links;
use crate::services::reconciliation;
use crate::services::sil::reporting;
use crate::store::Db;

/// What a download URL gives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Download {
    /// A ZIP in the data directory.
    Zip(PathBuf),
    /// A reporting flow's FlussoRiversamento document, named as MyPay names it.
    Xml { name: String, bytes: Vec<u8> },
}

/// The file a download URL names, when its signature is right, it has not expired and the file
/// is recorded; `None` otherwise (the caller answers 404 without saying which).
#[expect(clippy::too_many_arguments, reason = "the URL's parts, its signer, the clock and where files live")]
pub fn resolve(
    db: &Db,
    data_dir: &Path,
    links: &Links,
    ipa: &str,
    kind: &str,
    id: &str,
    query: (&str, &str),
    now: Now,
) -> Option<Download> {
    let id: i64 = id.parse().ok()?;
    let (expires, signature) = query;
    if !links.verify_sil_download(ipa, kind, id, expires, signature, now) {
        return None;
    }
    let org = orgs::get_org(db, ipa).ok()?;
    let path = match kind {
        "export" => {
            let export = exports::find_export(db, org.id, id).ok()??;
            let name = export.file_name.filter(|n| !n.contains('/') && !n.contains('\\'))?;
            Some(data_dir.join("export").join(&org.ipa_code).join(name))
        }
        "recon_export" => {
            let record = reconciliation::exports::status(db, &org.ipa_code, id).ok()??;
            reconciliation::exports::file_path(data_dir, &org.ipa_code, &record)
        }
        "scarti" | "iuv" | "avvisi" => {
            let import = imports::get_import(db, ipa, id).ok()?;
            let files = imports::result_files(data_dir, &import);
            match kind {
                "scarti" => files.rejects,
                "iuv" => files.iuvs,
                _ => import.notices_file.map(|f| data_dir.join(f)),
            }
        }
        "fdr" => {
            let file = reporting::flow_file(db, org.id, id).ok()??;
            return Some(Download::Xml { name: file.name, bytes: file.xml });
        }
        _ => None,
    };
    path.map(Download::Zip)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]
    use super::*;
    use crate::services::payments::reporting::{FlowSource, store_flow};
    use crate::services::testkit::{FISCAL_CODE, IPA, Kit};

    /// `(scadenza, firma, id)` of a download URL.
    fn parts(url: &str) -> (String, String, String) {
        let (path, query) = url.split_once('?').unwrap();
        let value = |name: &str| query.split('&').find_map(|p| p.strip_prefix(&format!("{name}="))).unwrap().to_owned();
        (value("scadenza"), value("firma"), path.rsplit('/').next().unwrap().to_owned())
    }

    /// A reporting flow's URL gives its document until it expires; a URL signed for another kind,
    /// id or org, or with a changed expiry or signature, gives nothing.
    #[test]
    fn a_flow_link_works_until_it_expires_and_not_when_tampered() {
        let kit = Kit::new();
        let mut input = crate::flows::fdr::parse_flusso(crate::flows::fdr::tests::FLUSSO.as_bytes()).unwrap();
        input.receiver_fiscal_code = FISCAL_CODE.to_owned();
        let doc = crate::flows::fdr::tests::FLUSSO.replace("01234567897", FISCAL_CODE);
        store_flow(&kit.db, FISCAL_CODE, &input, FlowSource::Soap, &doc, kit.now).unwrap();
        let links = Links::with_key(b"0123456789abcdef0123456789abcdef");
        let data = Path::new("/nonexistent");
        let url = links.sil_download_url(IPA, "fdr", 1, kit.now);
        let (expires, firma, id) = parts(&url);
        let resolve_at = |ipa: &str, kind: &str, id: &str, expires: &str, firma: &str, now: Now| {
            resolve(&kit.db, data, &links, ipa, kind, id, (expires, firma), now)
        };
        let Some(Download::Xml { name, bytes }) = resolve_at(IPA, "fdr", &id, &expires, &firma, kit.now) else {
            panic!("the flow's document");
        };
        assert_eq!(name, "BCITITMM_2026-11-30BCITITMM-0001_20261130180000.xml");
        assert_eq!(bytes, doc.as_bytes(), "as received");
        let later = Now::at(kit.now.instant() + jiff::SignedDuration::from_hours(25));
        assert_eq!(resolve_at(IPA, "fdr", &id, &expires, &firma, later), None, "expired");
        let mut forged = firma.clone();
        forged.replace_range(0..1, if firma.starts_with('0') { "1" } else { "0" });
        assert_eq!(resolve_at(IPA, "fdr", &id, &expires, &forged, kit.now), None, "signature");
        let longer = (expires.parse::<i64>().unwrap() + 3600).to_string();
        assert_eq!(resolve_at(IPA, "fdr", &id, &longer, &firma, kit.now), None, "expiry");
        assert_eq!(resolve_at(IPA, "fdr", "2", &expires, &firma, kit.now), None, "id");
        assert_eq!(resolve_at(IPA, "export", &id, &expires, &firma, kit.now), None, "kind");
        assert_eq!(resolve_at("c_altro", "fdr", &id, &expires, &firma, kit.now), None, "org");
    }
}
