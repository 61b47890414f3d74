//! Each org's adhesion: the mode it joined with (`domain::adhesion`), the act by which it joined,
//! its contact persons and the history of changes; and the one check every channel makes
//! ([`require_in`], [`require`]): the channel × mode table is `Mode::admits`, the refusal
//! [`NotAdmitted`] (code [`NotAdmitted::CODE`]), which each adapter renders once.
//!
//! Also the onboarding checklist of a new org: what is still missing before `PRE-ESERCIZIO` and
//! `ESERCIZIO`.

use serde_json::json;

use crate::clock::Now;
use crate::domain::adhesion::{ActType, Channel, Mode};
use crate::domain::{Day, OrgState};
use crate::services::{Change, ServiceError, check_len, journal_change, non_empty};
use crate::store::adhesion::{self, AdhesionRecord, NewAdhesion};
use crate::store::orgs::OrgRecord;
use crate::store::{Conn, Db, StoreError, api_tokens, debt_types, operators, orgs, privacy_notices};

/// A channel the org's mode does not include.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "org {ipa} joined in mode {mode}, which does not include {}: its adhesion mode must be {} or above",
    channel.name(),
    channel.least_mode()
)]
pub struct NotAdmitted {
    pub ipa: String,
    pub mode: Mode,
    pub channel: Channel,
}

impl NotAdmitted {
    /// The code of the refusal on every surface (a SIL fault, the REST API's error code, the
    /// journal's outcome). Not `PAA_ENTE_NON_VALIDO`: SIL clients read that as a wrong password.
    pub const CODE: &'static str = "PAA_FUNZIONALITA_NON_ATTIVA";

    /// What an Italian reader is told.
    pub fn message_it(&self) -> String {
        format!(
            "L'ente {} ha aderito al servizio in {} ({}), che non comprende {}: serve l'adesione in modalità «{}».",
            self.ipa,
            self.mode.label_it().to_lowercase(),
            self.mode.code(),
            self.channel.label_it(),
            self.channel.least_mode().code()
        )
    }
}

/// The org's mode: its current record's, `base` without one.
pub fn mode_in(conn: &Conn, org_id: i64) -> Result<Mode, StoreError> {
    Ok(adhesion::current_adhesion(conn, org_id)?.map(|a| a.mode).unwrap_or_default())
}

/// Whether `org` may use `channel`, inside a caller's transaction or read.
pub fn require_in(conn: &Conn, org: &OrgRecord, channel: Channel) -> Result<(), ServiceError> {
    let mode = mode_in(conn, org.id)?;
    if mode.admits(channel) {
        return Ok(());
    }
    tracing::info!(ipa = %org.ipa_code, mode = mode.code(), channel = channel.name(), "channel refused by the adhesion mode");
    Err(ServiceError::NotAdmitted(NotAdmitted { ipa: org.ipa_code.clone(), mode, channel }))
}

/// Every org with its mode, in the store's order, in one read (`mypay org list`).
pub fn list_with_modes(db: &Db) -> Result<Vec<(OrgRecord, Mode)>, ServiceError> {
    Ok(db.read(|conn| {
        let mut out = Vec::new();
        for org in orgs::list_orgs(conn)? {
            let mode = mode_in(conn, org.id)?;
            out.push((org, mode));
        }
        Ok::<_, StoreError>(out)
    })?)
}

/// [`require_in`] with its own read.
pub fn require(db: &Db, org: &OrgRecord, channel: Channel) -> Result<(), ServiceError> {
    db.read(|conn| require_in(conn, org, channel))
}

/// [`require`] for the org with IPA code `ipa`.
pub fn require_ipa(db: &Db, ipa: &str, channel: Channel) -> Result<(), ServiceError> {
    db.read(|conn| {
        let org = orgs::find_org_by_ipa(conn, ipa)?.ok_or_else(|| ServiceError::NotFound(format!("org {ipa}")))?;
        require_in(conn, &org, channel)
    })
}

/// An org's adhesion as shown: the current record (a `base` one dated at the org's creation when
/// none is stored) and the history, newest first.
#[derive(Debug, Clone)]
pub struct Adhesion {
    pub current: AdhesionRecord,
    pub history: Vec<AdhesionRecord>,
}

/// How many past records a page or `org show` lists.
pub const HISTORY_LIMIT: u32 = 50;

/// The adhesion of the org `ipa`.
pub fn get(db: &Db, ipa: &str) -> Result<Adhesion, ServiceError> {
    db.read(|conn| {
        let org = orgs::find_org_by_ipa(conn, ipa)?.ok_or_else(|| ServiceError::NotFound(format!("org {ipa}")))?;
        let history = adhesion::adhesion_history(conn, org.id, HISTORY_LIMIT)?;
        let current = history.first().cloned().unwrap_or_else(|| AdhesionRecord {
            id: 0,
            org_id: org.id,
            mode: Mode::Base,
            act_type: None,
            act_number: None,
            act_date: None,
            contacts: None,
            mode_since: Day::parse(org.created_at.get(..10).unwrap_or_default())
                .unwrap_or_else(|_| Day::from(jiff::civil::date(2000, 1, 1))),
            changed_by: "-".to_owned(),
            changed_at: org.created_at.clone(),
        });
        Ok(Adhesion { current, history })
    })
}

/// Changes to an org's adhesion; `None` leaves a field as it is, `Some("")` clears an optional one.
#[derive(Debug, Clone, Default)]
pub struct AdhesionChanges {
    pub mode: Option<String>,
    /// The day the new mode becomes active (`YYYY-MM-DD`); default today. Only with a new mode.
    pub mode_since: Option<String>,
    pub act_type: Option<String>,
    pub act_number: Option<String>,
    pub act_date: Option<String>,
    pub contacts: Option<String>,
}

impl AdhesionChanges {
    pub fn is_empty(&self) -> bool {
        self.mode.is_none()
            && self.mode_since.is_none()
            && self.act_type.is_none()
            && self.act_number.is_none()
            && self.act_date.is_none()
            && self.contacts.is_none()
    }
}

fn day(field: &str, value: &str) -> Result<Option<Day>, ServiceError> {
    non_empty(Some(value))
        .map(|v| Day::parse(&v).map_err(|err| ServiceError::invalid(field, err.to_string())))
        .transpose()
}

/// Validates `changes` against the current record and gives the record to append.
fn apply(current: &AdhesionRecord, changes: &AdhesionChanges, today: Day) -> Result<NewAdhesion, ServiceError> {
    let mut new = NewAdhesion {
        mode: current.mode,
        act_type: current.act_type,
        act_number: current.act_number.clone(),
        act_date: current.act_date,
        contacts: current.contacts.clone(),
        mode_since: current.mode_since,
    };
    if let Some(value) = &changes.mode {
        let mode = Mode::parse(value).map_err(|err| ServiceError::invalid("mode", err.to_string()))?;
        if mode != current.mode || current.id == 0 {
            new.mode = mode;
            new.mode_since = today;
        }
    }
    if let Some(value) = &changes.mode_since {
        if new.mode == current.mode && current.id != 0 && changes.mode.is_none() {
            return Err(ServiceError::invalid("mode-since", "is the day a new mode becomes active: give --mode too"));
        }
        new.mode_since = day("mode-since", value)?.unwrap_or(today);
    }
    if let Some(value) = &changes.act_type {
        new.act_type = non_empty(Some(value))
            .map(|v| ActType::parse(&v).map_err(|err| ServiceError::invalid("act-type", err.to_string())))
            .transpose()?;
    }
    if let Some(value) = &changes.act_number {
        new.act_number = non_empty(Some(value));
        if let Some(number) = &new.act_number {
            check_len("act-number", number, 50)?;
        }
    }
    if let Some(value) = &changes.act_date {
        new.act_date = day("act-date", value)?;
    }
    if let Some(value) = &changes.contacts {
        new.contacts = non_empty(Some(value));
        if let Some(contacts) = &new.contacts {
            check_len("contacts", contacts, 1000)?;
        }
    }
    Ok(new)
}

fn snapshot(a: &NewAdhesion) -> String {
    json!({
        "mode": a.mode.code(), "mode_since": a.mode_since.to_string(),
        "act_type": a.act_type.map(ActType::code), "act_number": a.act_number,
        "act_date": a.act_date.map(|d| d.to_string()), "contacts": a.contacts,
    })
    .to_string()
}

/// Changes the adhesion of org `ipa` (app admins and the CLI): a new record, journaled with the
/// one before. A change that changes nothing writes nothing.
pub fn set(db: &Db, actor: &str, ipa: &str, changes: &AdhesionChanges, now: Now) -> Result<Adhesion, ServiceError> {
    let current = get(db, ipa)?.current;
    let new = apply(&current, changes, Day::from(now.today()))?;
    db.write(|tx| {
        let org = orgs::find_org_by_ipa(tx, ipa)?.ok_or_else(|| ServiceError::NotFound(format!("org {ipa}")))?;
        let stored = adhesion::current_adhesion(tx, org.id)?;
        if stored.as_ref().map(|s| s.id) != Some(current.id).filter(|id| *id != 0) {
            return Err(ServiceError::Conflict(format!("the adhesion of org {ipa} changed meanwhile: try again")));
        }
        let before = stored.as_ref().map(|s| {
            snapshot(&NewAdhesion {
                mode: s.mode,
                act_type: s.act_type,
                act_number: s.act_number.clone(),
                act_date: s.act_date,
                contacts: s.contacts.clone(),
                mode_since: s.mode_since,
            })
        });
        let after = snapshot(&new);
        if before.as_deref() == Some(after.as_str()) {
            return Ok(());
        }
        adhesion::insert_adhesion(tx, org.id, &new, actor, &now.iso())?;
        let object = format!("org:{}", org.ipa_code);
        let change = Change {
            actor,
            org_id: Some(org.id),
            action: "org.adhesion",
            object: &object,
            before: before.as_deref(),
            after: Some(&after),
        };
        journal_change(tx, &change, now)?;
        Ok(())
    })?;
    get(db, ipa)
}

/// The first record of a new org, in the transaction that adds it: `mode` from today.
pub(super) fn start_in(tx: &Conn, org_id: i64, mode: Mode, actor: &str, now: Now) -> Result<(), StoreError> {
    let new = NewAdhesion {
        mode,
        act_type: None,
        act_number: None,
        act_date: None,
        contacts: None,
        mode_since: Day::from(now.today()),
    };
    adhesion::insert_adhesion(tx, org_id, &new, actor, &now.iso()).map(|_| ())
}

/// One step of a new org's onboarding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Address, city and e-mail of the org (what the notice prints and citizens read).
    RegistryData,
    /// A bank or postal IBAN.
    Iban,
    /// At least one active debt type (a spontaneous one in `base` mode: nothing else is paid).
    DebtTypes,
    /// The adhesion act: type, number and date.
    AdhesionAct,
    /// At least one operator with the org's admin role.
    FirstOperator,
    /// A published privacy notice.
    PrivacyNotice,
    /// In `ente` mode, a way in for the org's systems: the SIL password or an API token.
    WebServiceCredentials,
    /// Registered with pagoPA: the org is in `PRE-ESERCIZIO`.
    PreProduction,
}

impl Step {
    /// The state the step is needed for.
    pub fn needed_before(self) -> OrgState {
        match self {
            Step::RegistryData | Step::Iban | Step::DebtTypes | Step::AdhesionAct | Step::FirstOperator => {
                OrgState::PreProduction
            }
            Step::PrivacyNotice | Step::WebServiceCredentials | Step::PreProduction => OrgState::Production,
        }
    }
}

/// The checklist of an org: each step that applies to its mode, done or not.
#[derive(Debug, Clone)]
pub struct Checklist {
    pub org: OrgRecord,
    pub steps: Vec<(Step, bool)>,
}

impl Checklist {
    /// The steps still missing before `state`.
    pub fn missing_before(&self, state: OrgState) -> Vec<Step> {
        let rank = |s: OrgState| OrgState::ALL.iter().position(|x| *x == s).unwrap_or(0);
        self.steps
            .iter()
            .filter(|(step, done)| !done && rank(step.needed_before()) <= rank(state))
            .map(|(step, _)| *step)
            .collect()
    }
}

/// What org `ipa` still misses before `PRE-ESERCIZIO` and `ESERCIZIO`.
pub fn checklist(db: &Db, ipa: &str) -> Result<Checklist, ServiceError> {
    db.read(|conn| {
        let org = orgs::find_org_by_ipa(conn, ipa)?.ok_or_else(|| ServiceError::NotFound(format!("org {ipa}")))?;
        let record = adhesion::current_adhesion(conn, org.id)?;
        let mode = record.as_ref().map(|r| r.mode).unwrap_or_default();
        let types = debt_types::list_debt_types(conn, org.id)?;
        let types_ok = types.iter().any(|t| t.active && (mode != Mode::Base || t.spontaneous));
        let admins = operators::list_operators(conn, Some(org.id))?;
        let admin_ok = admins
            .iter()
            .any(|op| op.active && op.roles.iter().any(|(org_ipa, role)| *org_ipa == org.ipa_code && role == "admin"));
        let act_ok =
            record.as_ref().is_some_and(|r| r.act_type.is_some() && r.act_number.is_some() && r.act_date.is_some());
        let mut steps = vec![
            (Step::RegistryData, org.address.is_some() && org.city.is_some() && org.email.is_some()),
            (Step::Iban, org.iban_bank.is_some() || org.iban_postal.is_some()),
            (Step::DebtTypes, types_ok),
            (Step::AdhesionAct, act_ok),
            (Step::FirstOperator, admin_ok),
            (Step::PrivacyNotice, privacy_notices::find_current(conn, org.id)?.is_some()),
        ];
        if mode == Mode::Full {
            let token = api_tokens::list_api_tokens(conn, org.id)?.iter().any(|t| t.revoked_at.is_none());
            steps.push((Step::WebServiceCredentials, org.has_sil_password || token));
        }
        steps.push((Step::PreProduction, org.state.is_registered_with_pagopa()));
        Ok(Checklist { org, steps })
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]
    use super::*;
    use crate::services::testkit::{IPA, Kit};

    #[test]
    fn a_change_appends_a_record_and_journals_it() {
        let kit = Kit::new();
        let before = get(&kit.db, IPA).unwrap();
        assert_eq!(before.current.mode, Mode::Full, "the kit's org uses every channel");
        let changes = AdhesionChanges {
            mode: Some("flussi".into()),
            act_type: Some("Delibera".into()),
            act_number: Some("12/2026".into()),
            act_date: Some("2026-11-30".into()),
            contacts: Some("Mario Rossi, ufficio tributi".into()),
            ..AdhesionChanges::default()
        };
        let after = set(&kit.db, "operator:admin", IPA, &changes, kit.now).unwrap();
        assert_eq!(after.current.mode, Mode::Flows);
        assert_eq!(after.current.act_type, Some(ActType::Delibera));
        assert_eq!(after.current.mode_since.to_string(), "2026-12-07");
        assert_eq!(after.current.changed_by, "operator:admin");
        assert_eq!(after.history.len(), before.history.len() + 1);
        // The same again changes nothing; a contact alone keeps the mode's day.
        let again = set(&kit.db, "operator:admin", IPA, &changes, kit.now).unwrap();
        assert_eq!(again.history.len(), after.history.len());
        let later = Now::at("2026-12-20T09:00:00Z".parse().unwrap());
        let contact = AdhesionChanges { contacts: Some("Anna Bianchi".into()), ..AdhesionChanges::default() };
        let changed = set(&kit.db, "cli", IPA, &contact, later).unwrap();
        assert_eq!(changed.current.mode_since.to_string(), "2026-12-07");
        assert_eq!(changed.current.act_number.as_deref(), Some("12/2026"));
        let bad = AdhesionChanges { mode: Some("full".into()), ..AdhesionChanges::default() };
        assert!(
            matches!(set(&kit.db, "cli", IPA, &bad, later), Err(ServiceError::Invalid { field, .. }) if field == "mode")
        );
        let journal = kit
            .db
            .read(|c| crate::store::audit::list_audit_of_object(c, after.current.org_id, &format!("org:{IPA}"), 100))
            .unwrap();
        let adhesions: Vec<_> = journal.iter().filter(|e| e.action == "org.adhesion").collect();
        assert_eq!(adhesions.len(), 2, "the org's creation says its first mode itself: {journal:?}");
        assert!(adhesions[0].before_json.as_deref().unwrap().contains("\"mode\":\"ente\""));
        assert!(adhesions[0].after_json.as_deref().unwrap().contains("\"mode\":\"flussi\""));
        assert_eq!(adhesions[1].actor, "cli");
    }

    #[test]
    fn the_refusal_names_the_mode_and_the_channel() {
        let refusal = NotAdmitted { ipa: "c_x".into(), mode: Mode::Flows, channel: Channel::Sil };
        assert_eq!(
            refusal.to_string(),
            "org c_x joined in mode flussi, which does not include SIL web services: its adhesion mode must be ente or above"
        );
        assert_eq!(
            refusal.message_it(),
            "L'ente c_x ha aderito al servizio in modalità per flussi (flussi), che non comprende i servizi web SIL: \
             serve l'adesione in modalità «ente»."
        );
    }
}
