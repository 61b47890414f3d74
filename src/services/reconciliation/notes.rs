//! Operators' notes on reconciled elements (MyPivot's segnalazioni): why an anomaly is what it
//! is, who is chasing it. An element is (org, label, IUD, IUV, IUF), one key at least; absent keys
//! compare equal to absent keys only.
//!
//! Adding a note to an element makes its previous active note inactive, in the same transaction:
//! the element shows its latest note and keeps every earlier one as history. A note can be
//! hidden (and shown again), which MyPivot 4 declared and never did: lists leave hidden notes
//! out unless asked. A DOPPI note keeps the IUR in the IUF key and the transfer index in the IUD
//! key, as MyPivot does. Every change is journalled with it.
//!
//! As at MyPivot (mypivot.md §5.2), a note is added only to an element of the label's result set:
//! a row of the classification with that label and exactly those keys ([`UnknownElement`]
//! otherwise). History, lists and hiding read what was stored, even if the row since left the label.

use serde_json::json;

use crate::clock::Now;
use crate::domain::reconciliation::Label;
use crate::services::admin::access::OrgAccess;
use crate::services::{Change, ServiceError, check_len, journal_change};
use crate::store::Db;
use crate::store::recon_notes::{self as store, NoteElement, NoteRecord};
use crate::store::reconciliation::{self as rs, ItemRecord};

/// The longest note, in characters.
pub const NOTE_MAX_CHARS: usize = 4_000;
/// The longest key (IUD, IUV, IUF), in characters.
pub const KEY_MAX_CHARS: usize = 35;
/// How many notes a list shows at most.
pub const LIST_LIMIT: u32 = 1_000;

/// The element a note is about, as an operator gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Element<'a> {
    pub label: Label,
    pub iud: Option<&'a str>,
    pub iuv: Option<&'a str>,
    pub iuf: Option<&'a str>,
}

impl<'a> Element<'a> {
    /// The element a classified row is under `label`: its IUD, IUV and IUF; for DOPPI, MyPivot's
    /// transfer index, IUV and IUR (the index as text, so the caller keeps it in `index_text`).
    pub fn of_item(item: &'a ItemRecord, label: Label, index_text: &'a Option<String>) -> Element<'a> {
        if label == Label::Doppi {
            Element { label, iud: index_text.as_deref(), iuv: item.iuv.as_deref(), iuf: item.iur.as_deref() }
        } else {
            Element { label, iud: item.iud.as_deref(), iuv: item.iuv.as_deref(), iuf: item.iuf.as_deref() }
        }
    }
}

/// A note refused because no row with the label has the element's keys (mypivot.md §5.2).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "no row labelled {} has {keys}: a note is about a row of the label's result set (see `mypay reconcile list --label {}`)",
    .label.code(), .label.code()
)]
pub struct UnknownElement {
    pub label: Label,
    /// The keys as given: `IUD -, IUV 0100…, IUF -`.
    pub keys: String,
}

impl UnknownElement {
    /// The refusal as the back office says it.
    pub fn message_it(&self) -> String {
        format!(
            "La segnalazione non è stata aggiunta: nessun elemento classificato come «{}» ha questi identificativi ({}).",
            self.label.caption_it(),
            self.keys
        )
    }
}

impl Element<'_> {
    /// The stored element: keys trimmed, blank ones absent, one at least, none too long.
    fn checked(&self) -> Result<NoteElement, ServiceError> {
        let key = |field: &str, value: Option<&str>| -> Result<Option<String>, ServiceError> {
            match value.map(str::trim).filter(|v| !v.is_empty()) {
                Some(v) => {
                    check_len(field, v, KEY_MAX_CHARS)?;
                    Ok(Some(v.to_owned()))
                }
                None => Ok(None),
            }
        };
        let element = NoteElement {
            label: self.label.code().to_owned(),
            iud: key("iud", self.iud)?,
            iuv: key("iuv", self.iuv)?,
            iuf: key("iuf", self.iuf)?,
        };
        if element.iud.is_none() && element.iuv.is_none() && element.iuf.is_none() {
            return Err(ServiceError::invalid("iud", "a note names an IUD, an IUV or an IUF"));
        }
        Ok(element)
    }
}

/// Adds `note` to the element; its previous active note becomes history.
pub fn add(
    db: &Db,
    access: &OrgAccess,
    element: &Element<'_>,
    note: &str,
    now: Now,
) -> Result<NoteRecord, ServiceError> {
    let label = element.label;
    let element = element.checked()?;
    let note = note.trim();
    if note.is_empty() {
        return Err(ServiceError::invalid("nota", "required"));
    }
    check_len("nota", note, NOTE_MAX_CHARS)?;
    let actor = super::accertamenti::actor_of(access);
    db.write(|tx| {
        let (iud, iuv, iuf) = (element.iud.as_deref(), element.iuv.as_deref(), element.iuf.as_deref());
        if !rs::labelled_element_exists(tx, access.org.id, label, iud, iuv, iuf)? {
            let shown = |v: Option<&str>| v.unwrap_or("-").to_owned();
            let keys = format!("IUD {}, IUV {}, IUF {}", shown(iud), shown(iuv), shown(iuf));
            return Err(ServiceError::from(UnknownElement { label, keys }));
        }
        let replaced = store::deactivate(tx, access.org.id, &element, &now.iso())?;
        let id = store::insert_note(tx, access.org.id, &actor, &element, note, &now.iso())?;
        let object = format!("recon_note:{id}");
        let after = json!({ "label": element.label, "iud": element.iud, "iuv": element.iuv, "iuf": element.iuf,
            "note": note, "replaced": replaced })
        .to_string();
        let change = Change {
            actor: &actor,
            org_id: Some(access.org.id),
            action: "recon_note.add",
            object: &object,
            before: None,
            after: Some(&after),
        };
        journal_change(tx, &change, now)?;
        store::find_note(tx, access.org.id, id)?.ok_or_else(|| ServiceError::Internal("lost".to_owned()))
    })
}

/// Every note of the element: the active one first, then the history, newest first.
pub fn history(db: &Db, access: &OrgAccess, element: &Element<'_>) -> Result<Vec<NoteRecord>, ServiceError> {
    let element = element.checked()?;
    Ok(db.read(|conn| store::list_history(conn, access.org.id, &element))?)
}

/// The org's active notes (of `label` when given); hidden ones only with `with_hidden`.
pub fn active(
    db: &Db,
    access: &OrgAccess,
    label: Option<Label>,
    with_hidden: bool,
) -> Result<Vec<NoteRecord>, ServiceError> {
    Ok(db.read(|conn| store::list_active(conn, access.org.id, label.map(Label::code), with_hidden, LIST_LIMIT))?)
}

/// Hides note `id` (or shows it again).
pub fn set_hidden(db: &Db, access: &OrgAccess, id: i64, hidden: bool, now: Now) -> Result<NoteRecord, ServiceError> {
    let actor = super::accertamenti::actor_of(access);
    db.write(|tx| {
        let found =
            store::find_note(tx, access.org.id, id)?.ok_or_else(|| ServiceError::NotFound(format!("note {id}")))?;
        if !store::update_hidden(tx, id, hidden, &now.iso())? {
            return Ok(found);
        }
        let object = format!("recon_note:{id}");
        let before = json!({ "hidden": found.hidden }).to_string();
        let after = json!({ "hidden": hidden }).to_string();
        let change = Change {
            actor: &actor,
            org_id: Some(access.org.id),
            action: "recon_note.hide",
            object: &object,
            before: Some(&before),
            after: Some(&after),
        };
        journal_change(tx, &change, now)?;
        store::find_note(tx, access.org.id, id)?.ok_or_else(|| ServiceError::NotFound(format!("note {id}")))
    })
}

#[cfg(test)]
pub(crate) mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

    use super::*;
    use crate::services::testkit::Kit;

    /// How many journal entries of `action` the kit's org has.
    pub(crate) fn journalled(kit: &Kit, action: &str) -> usize {
        let org_id = kit.admin_access().org.id;
        let filter = crate::store::audit::AuditFilter { action: Some(action.to_owned()), ..Default::default() };
        kit.db.read(|c| crate::store::audit::search_audit(c, org_id, &filter, 1_000, 0)).unwrap().len()
    }

    fn element<'a>(label: Label, iud: Option<&'a str>, iuv: Option<&'a str>, iuf: Option<&'a str>) -> Element<'a> {
        Element { label, iud, iuv, iuf }
    }

    /// The kit with the fixtures of mypivot.md §7 classified, and its row for `iuv`.
    fn with_7(iuv: &str) -> (Kit, ItemRecord) {
        let kit = Kit::new();
        crate::services::reconciliation::tests::all_of_7(&kit);
        let filter = crate::services::reconciliation::Filter::default();
        let items = crate::services::reconciliation::list(&kit.db, crate::services::testkit::IPA, filter).unwrap();
        let item = items.into_iter().find(|i| i.iuv.as_deref() == Some(iuv) && i.movement_id.is_none()).unwrap();
        (kit, item)
    }

    #[test]
    fn a_new_note_keeps_the_previous_one_as_history() {
        let (kit, item) = with_7("01000000000012302");
        let access = kit.admin_access();
        let e = Element::of_item(&item, Label::RtNoIud, &None);
        let first = add(&kit.db, &access, &e, "chiesto all'ufficio tributi", kit.now).unwrap();
        let second = add(&kit.db, &access, &e, "  notifica attesa per il 30/05  ", kit.now).unwrap();
        assert_eq!(second.note, "notifica attesa per il 30/05");
        let all = history(&kit.db, &access, &e).unwrap();
        assert_eq!(all.iter().map(|n| (n.id, n.active)).collect::<Vec<_>>(), [(second.id, true), (first.id, false)]);
        assert_eq!(all[1].note, "chiesto all'ufficio tributi");
        assert_eq!(all[1].version, 1);
        // The same row under another of its labels is another element.
        add(&kit.db, &access, &Element::of_item(&item, Label::RtIuf, &None), "ok", kit.now).unwrap();
        assert_eq!(history(&kit.db, &access, &e).unwrap().len(), 2);
        assert_eq!(active(&kit.db, &access, Some(Label::RtNoIud), false).unwrap().len(), 1);
        assert_eq!(active(&kit.db, &access, None, false).unwrap().len(), 2);
        assert_eq!(journalled(&kit, "recon_note.add"), 3);
    }

    #[test]
    fn a_note_is_added_only_to_an_element_of_the_label_result_set() {
        let (kit, item) = with_7("01000000000012302");
        let access = kit.admin_access();
        let iuf = item.iuf.clone().unwrap();
        // The row's keys, but a label it does not have; the label, but not all of its keys.
        for e in [
            Element::of_item(&item, Label::IudNoRt, &None),
            element(Label::RtNoIud, None, Some("01000000000012302"), None),
            element(Label::RtNoIud, None, Some("01000000000012399"), Some(&iuf)),
        ] {
            let err = add(&kit.db, &access, &e, "x", kit.now).unwrap_err();
            let ServiceError::NoteElementUnknown(refusal) = &err else { panic!("{err:?}") };
            assert_eq!(refusal.label, e.label);
            assert!(err.to_string().starts_with(&format!("no row labelled {} has IUD ", e.label.code())), "{err}");
        }
        let err = add(&kit.db, &access, &element(Label::RtNoIud, None, Some("01000000000012302"), None), "x", kit.now)
            .unwrap_err();
        let ServiceError::NoteElementUnknown(refusal) = err else { panic!() };
        assert_eq!(
            refusal.message_it(),
            "La segnalazione non è stata aggiunta: nessun elemento classificato come «Pagamenti non correttamente \
             notificati» ha questi identificativi (IUD -, IUV 01000000000012302, IUF -)."
        );
        assert_eq!(journalled(&kit, "recon_note.add"), 0, "nothing was stored");
        assert!(active(&kit.db, &access, None, true).unwrap().is_empty());
        // A DOPPI row is addressed by transfer index, IUV and IUR, as MyPivot's columns hold them.
        let index = item.transfer_index.map(|i| i.to_string());
        let doppi = Element::of_item(&item, Label::Doppi, &index);
        assert_eq!((doppi.iud, doppi.iuf), (Some("1"), item.iur.as_deref()));
        assert!(matches!(add(&kit.db, &access, &doppi, "x", kit.now), Err(ServiceError::NoteElementUnknown(_))));
    }

    #[test]
    fn a_note_names_one_key_at_least_and_the_table_insists() {
        let kit = Kit::new();
        let access = kit.admin_access();
        let err =
            add(&kit.db, &access, &element(Label::TesNoMatch, Some(" "), None, Some("")), "x", kit.now).unwrap_err();
        assert!(matches!(err, ServiceError::Invalid { ref field, .. } if field == "iud"), "{err}");
        let long = "1".repeat(36);
        assert!(add(&kit.db, &access, &element(Label::TesNoMatch, None, Some(&long), None), "x", kit.now).is_err());
        assert!(add(&kit.db, &access, &element(Label::TesNoMatch, None, Some("1"), None), " ", kit.now).is_err());
        // The CHECK holds even if a caller skipped the service's check.
        let keyless = NoteElement { label: "TES_NO_MATCH".into(), ..NoteElement::default() };
        let refused = kit.db.write(|tx| store::insert_note(tx, access.org.id, "admin", &keyless, "x", "now"));
        assert!(refused.is_err());
    }

    #[test]
    fn hidden_notes_leave_the_lists_and_come_back() {
        let (kit, item) = with_7("01000000000012308");
        let access = kit.admin_access();
        let e = Element::of_item(&item, Label::RtNoIuf, &None);
        let note = add(&kit.db, &access, &e, "rendicontato 20,00 su 25,00: chiesto al PSP", kit.now).unwrap();
        let hidden = set_hidden(&kit.db, &access, note.id, true, kit.now).unwrap();
        assert!(hidden.hidden && hidden.active);
        assert!(active(&kit.db, &access, None, false).unwrap().is_empty());
        assert_eq!(active(&kit.db, &access, None, true).unwrap().len(), 1);
        assert_eq!(history(&kit.db, &access, &e).unwrap().len(), 1, "history shows hidden notes");
        // Hiding twice changes nothing and journals nothing more.
        set_hidden(&kit.db, &access, note.id, true, kit.now).unwrap();
        assert_eq!(journalled(&kit, "recon_note.hide"), 1);
        assert!(!set_hidden(&kit.db, &access, note.id, false, kit.now).unwrap().hidden);
        assert_eq!(active(&kit.db, &access, Some(Label::RtNoIuf), false).unwrap().len(), 1);
        assert!(matches!(set_hidden(&kit.db, &access, 999, true, kit.now), Err(ServiceError::NotFound(_))));
    }
}
