//! Debt flows a SIL uploads with a token (mypay.md §2.2): `paaSILAutorizzaImportFlusso` gives a
//! `requestToken` and an `authorizationToken` valid one hour; the multipart POST with that token
//! goes through the import pipeline (`services::debts::imports::submit`, the same checks and job as the
//! back office's uploads); `paaSILChiediStatoImportFlusso` reads the import by its request token.
//! A request token works once. [`check`] tells, before the upload's body is read, whether the
//! token could be claimed; [`upload`] claims it and stores the file.

use std::io::Read;
use std::path::Path;

use jiff::SignedDuration;

use super::{SilError, fault};
use crate::clock::Now;
use crate::services::admin::adhesion::NotAdmitted;
use crate::services::debts::imports::{self, Limits, Upload};
use crate::services::ids::random_hex;
use crate::services::links::Links;
use crate::store::imports::ImportRecord;
use crate::store::sil::{self, SilUploadRecord};
use crate::store::{Db, imports as import_store, orgs};

/// How long an authorization works.
pub const AUTHORIZATION_MINUTES: i64 = 60;

/// What `paaSILAutorizzaImportFlusso` answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorized {
    pub request_token: String,
    pub authorization_token: String,
}

/// Authorizes one upload for org `ipa` (already authenticated).
pub fn authorize(db: &Db, links: &Links, ipa: &str, now: Now) -> Result<Authorized, SilError> {
    crate::services::admin::adhesion::require_ipa(db, ipa, crate::domain::adhesion::Channel::DebtFlows)?;
    new_token(db, links, ipa, None, now)
}

/// A new request token of org `ipa` for one upload (a debt flow, or with `recon_kind` one of
/// MyPivot's reconciliation files), and its signed authorization.
pub(crate) fn new_token(
    db: &Db,
    links: &Links,
    ipa: &str,
    recon_kind: Option<char>,
    now: Now,
) -> Result<Authorized, SilError> {
    let hex = random_hex(16)?;
    let request_token = format!(
        "{}-{}-{}-{}-{}",
        hex.get(0..8).unwrap_or_default(),
        hex.get(8..12).unwrap_or_default(),
        hex.get(12..16).unwrap_or_default(),
        hex.get(16..20).unwrap_or_default(),
        hex.get(20..32).unwrap_or_default()
    );
    let expires = now.instant() + SignedDuration::from_mins(AUTHORIZATION_MINUTES);
    db.write(|tx| {
        let org = orgs::find_org_by_ipa(tx, ipa)?.ok_or_else(|| fault("PAA_ENTE_NON_VALIDO", ipa.to_owned()))?;
        let record = SilUploadRecord {
            request_token: request_token.clone(),
            org_id: org.id,
            created_at: now.iso(),
            expires_at: crate::clock::iso(expires),
            recon_kind: recon_kind.map(String::from),
            ..SilUploadRecord::default()
        };
        sil::insert_sil_upload(tx, &record)?;
        Ok::<_, SilError>(())
    })?;
    let authorization_token = links.sil_upload_token(&request_token, expires.as_second());
    Ok(Authorized { request_token, authorization_token })
}

/// Why an upload was refused: MyPay's `codice` (`400` for the caller's mistakes, `500` otherwise)
/// and the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadRefused {
    pub code: &'static str,
    pub message: String,
}

pub(crate) fn refused(code: &'static str, message: impl Into<String>) -> UploadRefused {
    UploadRefused { code, message: message.into() }
}

/// The request token of `authorization_token` if it is ours and unexpired.
fn verified<'t>(links: &Links, authorization_token: &'t str, now: Now) -> Result<&'t str, UploadRefused> {
    let Some((request_token, exp)) = links.read_sil_upload_token(authorization_token) else {
        return Err(refused("400", "authorizationToken non valido"));
    };
    if exp < now.instant().as_second() {
        return Err(refused("400", "authorizationToken scaduto"));
    }
    Ok(request_token)
}

/// Whether an upload with `authorization_token` would be taken: signed by us, unexpired, its
/// request token known and not yet used. Reads only; [`upload`] claims the token.
pub fn check(db: &Db, links: &Links, authorization_token: &str, now: Now) -> Result<(), UploadRefused> {
    let request_token = verified(links, authorization_token, now)?;
    match db.read(|conn| sil::find_sil_upload(conn, request_token)) {
        Ok(Some(found)) if found.used_at.is_none() => Ok(()),
        Ok(Some(_)) => Err(refused("400", "Request token già usato")),
        Ok(None) => Err(refused("400", "requestToken sconosciuto")),
        Err(err) => {
            tracing::error!(error = %err, "SIL upload check");
            Err(refused("500", "errore di sistema"))
        }
    }
}

/// Stores the uploaded flow and queues its import, once per request token.
#[expect(clippy::too_many_arguments, reason = "the token and the file, plus where, how much and when")]
pub fn upload(
    db: &Db,
    data_dir: &Path,
    limits: Limits,
    links: &Links,
    authorization_token: &str,
    file_name: &str,
    body: &mut dyn Read,
    now: Now,
) -> Result<ImportRecord, UploadRefused> {
    let (found, org) = claim(db, links, authorization_token, false, now)?;
    let request_token = found.request_token.as_str();
    let actor = format!("sil:{}", org.ipa_code);
    let up = Upload { org_ipa: &org.ipa_code, file_name, actor: &actor, operator: None };
    let submitted = imports::submit(db, data_dir, limits, &up, body, now).map_err(|err| match err {
        crate::services::ServiceError::NotAdmitted(r) => refused(NotAdmitted::CODE, r.message_it()),
        err if err.is_user_error() => refused("400", err.to_string()),
        err => system(&err),
    })?;
    db.write(|tx| sil::update_sil_upload_import(tx, request_token, submitted.import.id)).map_err(|e| system(&e))?;
    Ok(submitted.import)
}

/// A failure below the caller's mistakes, logged.
pub(crate) fn system(err: &dyn std::fmt::Display) -> UploadRefused {
    tracing::error!(error = %err, "SIL upload");
    refused("500", "errore di sistema")
}

/// Claims the request token of `authorization_token` (once): a MyPivot reconciliation token when
/// `recon`, a MyPay debt-flow token otherwise (a token of the other kind is unknown here); gives
/// the authorization and its org.
pub(crate) fn claim(
    db: &Db,
    links: &Links,
    authorization_token: &str,
    recon: bool,
    now: Now,
) -> Result<(SilUploadRecord, orgs::OrgRecord), UploadRefused> {
    let request_token = verified(links, authorization_token, now)?;
    let iso = now.iso();
    let claimed = db.write(|tx| {
        let Some(found) = sil::find_sil_upload(tx, request_token)?.filter(|f| f.recon_kind.is_some() == recon) else {
            return Ok(None);
        };
        if !sil::update_sil_upload_used(tx, request_token, &iso)? {
            return Ok(Some(None));
        }
        Ok::<_, crate::store::StoreError>(Some(Some(found)))
    });
    let found = match claimed {
        Ok(Some(Some(found))) => found,
        Ok(Some(None)) => return Err(refused("400", "Request token già usato")),
        Ok(None) => return Err(refused("400", "requestToken sconosciuto")),
        Err(err) => return Err(system(&err)),
    };
    match db.read(|conn| orgs::find_org_by_id(conn, found.org_id)) {
        Ok(Some(org)) => Ok((found, org)),
        Ok(None) => Err(refused("400", "ente sconosciuto")),
        Err(err) => Err(system(&err)),
    }
}

/// The import uploaded with `request_token` by org `ipa`: unknown, another org's, or not uploaded
/// yet → `PAA_REQUEST_TOKEN_NON_VALIDO`.
pub fn status(db: &Db, ipa: &str, request_token: &str) -> Result<ImportRecord, SilError> {
    let invalid = || fault("PAA_REQUEST_TOKEN_NON_VALIDO", format!("requestToken {request_token} non valido"));
    db.read(|conn| {
        let org = orgs::find_org_by_ipa(conn, ipa)?.ok_or_else(invalid)?;
        let found = sil::find_sil_upload(conn, request_token.trim())?.ok_or_else(invalid)?;
        if found.org_id != org.id {
            return Err(invalid());
        }
        let id = found.import_id.ok_or_else(invalid)?;
        import_store::find_import(conn, id)?.ok_or_else(invalid)
    })
}
