//! The files behind the SIL's expiring download URLs: export ZIPs, an import's result files and
//! reporting flows.

use std::path::{Path, PathBuf};

use crate::clock::Now;
use crate::services::admin::orgs;
use crate::services::debts::{exports, imports};
use crate::services::links::Links;
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
