//! An org's own privacy notice (GDPR artt. 13-14), versioned: the administrator fills in the
//! sections of a complete Italian template ([`template`]: controller, DPO, purposes, legal basis,
//! retention, recipients, rights); publishing makes version N+1 (with its audit entry) and leaves
//! every earlier version as citizens saw it. An org without its own notice shows the generic one,
//! [`GENERIC_VERSION`]. A consent records the label of the version shown ([`version_label`]).

use serde_json::json;

use crate::clock::Now;
use crate::config::RetentionSettings;
use crate::services::{Change, ServiceError, check_len, journal_change};
use crate::store::orgs::OrgRecord;
use crate::store::privacy_notices::{self, NoticeSections, PrivacyNoticeRecord};
use crate::store::{Conn, Db, StoreError, orgs};

/// The version of the generic notice (the template filled with the org's data), recorded with
/// every acceptance of an org that has not published its own. Version 1 (recorded as "1.0")
/// had no DPO contact.
pub const GENERIC_VERSION: &str = "generica-2";
/// The longest section accepted, in characters.
pub const MAX_SECTION_CHARS: usize = 4_000;

/// The template's sections in order: the field name of the form, and the heading citizens read.
pub const SECTIONS: [(&str, &str); 7] = [
    ("controller", "Titolare del trattamento"),
    ("dpo-contact", "Responsabile della protezione dei dati (RPD/DPO)"),
    ("purposes", "Finalità del trattamento e dati trattati"),
    ("legal-basis", "Base giuridica"),
    ("retention", "Periodo di conservazione"),
    ("recipients", "Destinatari dei dati"),
    ("rights", "Diritti dell'interessato"),
];

/// The label recorded with a consent and shown on the notice: the org's version number, or
/// [`GENERIC_VERSION`].
pub fn version_label(notice: Option<&PrivacyNoticeRecord>) -> String {
    notice.map_or_else(|| GENERIC_VERSION.to_owned(), |n| n.version.to_string())
}

/// The label of the notice the org shows now, read in the caller's transaction (the one that
/// records the consent, so the two agree).
pub(crate) fn current_label(conn: &Conn, org_id: i64) -> Result<String, StoreError> {
    Ok(version_label(privacy_notices::find_current(conn, org_id)?.as_ref()))
}

/// The versions in force of the notices of `org_ids` as one stamp (`id:version`, by ascending id),
/// which a page that asks for their acceptance carries, so that the consent records the version the
/// citizen was shown, or is refused when one changed meanwhile.
pub fn stamp(db: &Db, org_ids: &[i64]) -> Result<String, ServiceError> {
    Ok(db.read(|conn| stamp_in(conn, org_ids))?)
}

pub(crate) fn stamp_in(conn: &Conn, org_ids: &[i64]) -> Result<String, StoreError> {
    let mut ids = org_ids.to_vec();
    ids.sort_unstable();
    ids.dedup();
    let mut parts = Vec::with_capacity(ids.len());
    for id in ids {
        parts.push(format!("{id}:{}", current_label(conn, id)?));
    }
    Ok(parts.join(";"))
}

/// The section `name` of [`SECTIONS`] in `s`.
pub fn section<'a>(s: &'a NoticeSections, name: &str) -> Option<&'a str> {
    let value = match name {
        "controller" => &s.controller,
        "dpo-contact" => &s.dpo_contact,
        "purposes" => &s.purposes,
        "legal-basis" => &s.legal_basis,
        "retention" => &s.retention,
        "recipients" => &s.recipients,
        "rights" => &s.rights,
        _ => &None,
    };
    value.as_deref()
}

fn section_mut<'a>(s: &'a mut NoticeSections, name: &str) -> Option<&'a mut Option<String>> {
    match name {
        "controller" => Some(&mut s.controller),
        "dpo-contact" => Some(&mut s.dpo_contact),
        "purposes" => Some(&mut s.purposes),
        "legal-basis" => Some(&mut s.legal_basis),
        "retention" => Some(&mut s.retention),
        "recipients" => Some(&mut s.recipients),
        "rights" => Some(&mut s.rights),
        _ => None,
    }
}

/// Builds sections from `(field, text)` pairs (a form's values); unknown fields are ignored.
pub fn sections_from(values: &[(&str, String)]) -> NoticeSections {
    let mut s = NoticeSections::default();
    for (name, text) in values {
        if let Some(slot) = section_mut(&mut s, name) {
            *slot = Some(text.trim().replace("\r\n", "\n"));
        }
    }
    s
}

/// The generic notice ("informativa tipo"): every section filled with the org's data, the
/// retention configured and `dpo_contact` (`privacy.dpo_contact`; empty: the org's contacts).
/// The administrator starts from it and edits what their org does differently.
pub fn template(org: &OrgRecord, retention: &RetentionSettings, dpo_contact: &str) -> NoticeSections {
    let mut seat = String::new();
    if let Some(addr) = &org.address {
        seat = format!(", con sede in {addr}");
        if let Some(n) = &org.civic_number {
            seat.push_str(&format!(" {n}"));
        }
        if let (Some(cap), Some(city)) = (&org.postal_code, &org.city) {
            seat.push_str(&format!(", {cap} {city}"));
        } else if let Some(city) = &org.city {
            seat.push_str(&format!(", {city}"));
        }
    }
    let mut contacts = Vec::new();
    if let Some(email) = &org.email {
        contacts.push(format!("e-mail {email}"));
    }
    if let Some(phone) = &org.phone {
        contacts.push(format!("telefono {phone}"));
    }
    if let Some(site) = &org.website {
        contacts.push(format!("sito {site}"));
    }
    let contacts = if contacts.is_empty() {
        "i recapiti pubblicati sul sito istituzionale dell'ente".to_owned()
    } else {
        contacts.join(", ")
    };
    let dpo = if dpo_contact.is_empty() {
        format!(
            "Il Responsabile della protezione dei dati (RPD) designato dall'ente ai sensi dell'art. 37 del \
             GDPR è contattabile tramite {contacts}, indicando nell'oggetto \"Protezione dei dati personali\"."
        )
    } else {
        format!("Il Responsabile della protezione dei dati (RPD) è contattabile a: {dpo_contact}.")
    };
    let r = retention;
    NoticeSections {
        controller: Some(format!(
            "Titolare del trattamento è {}, codice fiscale {}{seat}. Contatti: {contacts}.",
            org.name, org.fiscal_code
        )),
        dpo_contact: Some(dpo),
        purposes: Some(
            "I dati sono trattati per riscuotere le somme dovute all'ente tramite la piattaforma pagoPA: \
             predisporre gli avvisi di pagamento, ricevere gli esiti e le ricevute, riconciliare gli incassi, \
             rilasciare la ricevuta e, se lo chiedi, inviarla per e-mail. Sono trattati i dati anagrafici e il \
             codice fiscale del debitore e del pagatore, l'indirizzo e-mail, i dati del pagamento (importo, \
             causale, esito, prestatore di servizi di pagamento). Non è svolto alcun processo decisionale \
             automatizzato né profilazione."
                .to_owned(),
        ),
        legal_basis: Some(
            "Il trattamento è necessario per adempiere un obbligo legale (art. 6, par. 1, lett. c, GDPR) e per \
             eseguire un compito di interesse pubblico o connesso all'esercizio di pubblici poteri (art. 6, par. 1, \
             lett. e, GDPR): art. 5 del D.Lgs. 82/2005 (Codice dell'amministrazione digitale), art. 15, comma 5-bis, \
             del D.L. 179/2012 e le Linee guida AgID sui pagamenti elettronici."
                .to_owned(),
        ),
        retention: Some(format!(
            "Le ricevute e i dovuti pagati sono documenti contabili e sono conservati con i loro dati per {} anni \
             dal pagamento (art. 2220 c.c.). I dati del debitore di un dovuto non pagato sono conservati per {} \
             giorni dall'ultima modifica e dalla scadenza; di un dovuto annullato per {} giorni \
             dall'annullamento; di un dovuto scaduto per {} giorni dalla scadenza. I codici di verifica e le \
             e-mail inviate sono conservati per {} giorni, le sessioni del portale per {} giorni dall'ultimo uso, \
             l'e-mail e il codice fiscale di chi ha pagato per {} giorni dal pagamento, i contenuti dei messaggi scambiati con pagoPA per {} giorni, i file caricati e prodotti per {} giorni. \
             Trascorsi questi termini i dati personali sono cancellati o resi anonimi.",
            r.accounting_years,
            r.open_debt_days,
            r.annulled_debt_days,
            r.expired_debt_days,
            r.mail_days,
            r.session_days,
            r.cart_days,
            r.journal_payload_days,
            r.file_days
        )),
        recipients: Some(
            "I dati sono comunicati a PagoPA S.p.A., che gestisce la piattaforma pagoPA, al prestatore di servizi di \
             pagamento scelto dal pagatore e al tesoriere dell'ente. L'intermediario tecnologico che gestisce \
             questo servizio tratta i dati per conto dell'ente in qualità di responsabile del trattamento (art. 28 \
             GDPR). I dati non sono trasferiti fuori dall'Unione europea."
                .to_owned(),
        ),
        rights: Some(
            "Puoi chiedere al titolare l'accesso ai tuoi dati e una loro copia, la rettifica, la cancellazione nei \
             limiti in cui la legge non ne imponga la conservazione, la limitazione del trattamento, e opporti al \
             trattamento (artt. 15-22 GDPR), scrivendo ai contatti del titolare o del RPD. Hai inoltre diritto di \
             proporre reclamo al Garante per la protezione dei dati personali (www.garanteprivacy.it)."
                .to_owned(),
        ),
    }
}

/// The whole text of `sections`: each heading followed by its text, blocks separated by a blank
/// line (what the notice's `body` keeps).
pub fn compose(sections: &NoticeSections) -> String {
    SECTIONS
        .iter()
        .filter_map(|(name, heading)| section(sections, name).map(|text| format!("{heading}\n{text}")))
        .collect::<Vec<_>>()
        .join("\n\n")
}

/// Publishes `sections` (every one filled in) as the org's next version of its privacy notice;
/// returns the version number. An empty section is refused by its field name, and nothing is
/// stored.
pub fn publish_sections(
    db: &Db,
    actor: &str,
    ipa: &str,
    sections: &NoticeSections,
    now: Now,
) -> Result<i64, ServiceError> {
    for (name, _) in SECTIONS {
        let text = section(sections, name).unwrap_or_default();
        if text.trim().is_empty() {
            return Err(ServiceError::invalid(name, "must not be empty"));
        }
        check_len(name, text, MAX_SECTION_CHARS)?;
    }
    let body = compose(sections);
    write_version(db, actor, ipa, &body, sections, now)
}

fn write_version(
    db: &Db,
    actor: &str,
    ipa: &str,
    body: &str,
    sections: &NoticeSections,
    now: Now,
) -> Result<i64, ServiceError> {
    db.write(|tx| {
        let org = orgs::find_org_by_ipa(tx, ipa)?.ok_or_else(|| ServiceError::NotFound(format!("org {ipa}")))?;
        let version = privacy_notices::insert_next_version(tx, org.id, body, sections, actor, &now.iso())?;
        let object = format!("org:{}", org.ipa_code);
        let after = json!({ "privacy_notice_version": version, "privacy_notice": body }).to_string();
        let change = Change {
            actor,
            org_id: Some(org.id),
            action: "org.privacy_notice",
            object: &object,
            before: None,
            after: Some(&after),
        };
        journal_change(tx, &change, now)?;
        Ok(version)
    })
}

/// The org's current notice, if it wrote one.
pub fn current(db: &Db, org_id: i64) -> Result<Option<PrivacyNoticeRecord>, ServiceError> {
    db.read(|conn| Ok(privacy_notices::find_current(conn, org_id)?))
}

/// Every version of the org's notice, newest first.
pub fn versions(db: &Db, org_id: i64) -> Result<Vec<PrivacyNoticeRecord>, ServiceError> {
    db.read(|conn| Ok(privacy_notices::list_versions(conn, org_id)?))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]
    use super::*;

    #[test]
    fn the_template_fills_every_section_and_names_a_dpo() {
        let org = OrgRecord {
            name: "Comune di Prova".to_owned(),
            fiscal_code: "80000000001".to_owned(),
            email: Some("protocollo@comune.example.it".to_owned()),
            ..OrgRecord::default()
        };
        let generic = template(&org, &RetentionSettings::default(), "");
        for (name, _) in SECTIONS {
            assert!(section(&generic, name).is_some_and(|t| !t.is_empty()), "{name}");
        }
        assert!(generic.dpo_contact.as_deref().unwrap().contains("protocollo@comune.example.it"));
        assert!(generic.retention.as_deref().unwrap().contains("per 10 anni"));
        let with_dpo = template(&org, &RetentionSettings::default(), "rpd@regione.example.it");
        assert!(with_dpo.dpo_contact.as_deref().unwrap().ends_with("a: rpd@regione.example.it."));
        assert!(compose(&generic).starts_with("Titolare del trattamento\nTitolare del trattamento è Comune di Prova"));
    }
}
