//! A data subject's rights (GDPR artt. 15-17): what mypay holds about one fiscal code
//! ([`export`]: debts, receipts, consents, mails sent), the rectification of an open debt's
//! debtor contact data ([`rectify_contact`]) and erasure ([`erase`]) where the law allows it,
//! each refusal with its reason. Someone else named beside the subject (the payer of a debt
//! they owe, the debtor of a debt they paid) is masked in the export: it is not theirs to read.

use serde_json::json;

use crate::clock::Now;
use crate::domain::{DebtState, Party};
use crate::services::{Change, ServiceError, check_len, journal_change, non_empty};
use crate::store::Db;
use crate::store::carts::{self, PrivacyAcceptanceRecord};
use crate::store::debts::{self, DebtRecord};
use crate::store::mail::{self, MailRecord};
use crate::store::orgs::{self, OrgRecord};
use crate::store::receipts::{self, ReceiptRecord};
use crate::store::retention::ANONYMOUS;

/// The most rows of each kind one export holds.
pub const MAX_ROWS: u32 = 10_000;
/// What a masked party reads in an export.
pub const MASKED: &str = "(altra persona)";

/// Everything about one fiscal code, in one org or all.
#[derive(Debug, Clone)]
pub struct SubjectData {
    pub fiscal_code: String,
    /// The org the export is limited to, if any.
    pub org: Option<OrgRecord>,
    /// The orgs the rows belong to, by id.
    pub orgs: Vec<OrgRecord>,
    pub debts: Vec<DebtRecord>,
    pub receipts: Vec<ReceiptRecord>,
    pub consents: Vec<PrivacyAcceptanceRecord>,
    pub mails: Vec<MailRecord>,
    pub generated_at: String,
}

impl SubjectData {
    /// The org with this id among [`SubjectData::orgs`].
    pub fn org_of(&self, id: i64) -> Option<&OrgRecord> {
        self.orgs.iter().find(|o| o.id == id)
    }
}

/// Reads what mypay holds about `fiscal_code` (upper-cased), in the org `ipa` or every org, and
/// journals who exported it (`gdpr.export`, the counts; the fiscal code only in the payload).
pub fn export(
    db: &Db,
    actor: &str,
    fiscal_code: &str,
    ipa: Option<&str>,
    now: Now,
) -> Result<SubjectData, ServiceError> {
    let data = read(db, fiscal_code, ipa, now)?;
    let after = json!({
        "fiscal_code": data.fiscal_code, "debts": data.debts.len(), "receipts": data.receipts.len(),
        "consents": data.consents.len(), "mails": data.mails.len(),
    })
    .to_string();
    db.write(|tx| {
        let change = Change {
            actor,
            org_id: data.org.as_ref().map(|o| o.id),
            action: "gdpr.export",
            object: "data_subject",
            before: None,
            after: Some(&after),
        };
        journal_change(tx, &change, now)
    })?;
    Ok(data)
}

fn read(db: &Db, fiscal_code: &str, ipa: Option<&str>, now: Now) -> Result<SubjectData, ServiceError> {
    let cf = checked_fiscal_code(fiscal_code)?;
    db.read_tx(|conn| {
        let org = match ipa {
            Some(ipa) => {
                Some(orgs::find_org_by_ipa(conn, ipa)?.ok_or_else(|| ServiceError::NotFound(format!("org {ipa}")))?)
            }
            None => None,
        };
        let org_id = org.as_ref().map(|o| o.id);
        let debts = debts::list_debts_of_subject(conn, &cf, org_id, MAX_ROWS)?;
        let receipts: Vec<ReceiptRecord> = receipts::list_receipts_of_subject(conn, &cf, org_id, MAX_ROWS)?
            .into_iter()
            .map(|r| mask_others(r, &cf))
            .collect();
        let consents = carts::list_privacy_acceptances_of_citizen(conn, &cf, org_id, MAX_ROWS)?;
        let mut emails: Vec<String> = Vec::new();
        let mut add = |e: &Option<String>| {
            if let Some(e) = e.as_ref().map(|e| e.trim().to_lowercase()).filter(|e| !e.is_empty()) {
                if !emails.contains(&e) {
                    emails.push(e);
                }
            }
        };
        debts.iter().for_each(|d| add(&d.debtor.email));
        for r in &receipts {
            if r.debtor.id == cf {
                add(&r.debtor.email);
            }
            if let Some(p) = r.payer.as_ref().filter(|p| p.id == cf) {
                add(&p.email);
            }
        }
        for e in carts::list_payer_emails_of_citizen(conn, &cf, org_id)? {
            add(&Some(e));
        }
        let mails = mail::list_mails_to(conn, &emails, MAX_ROWS)?;
        let mut ids: Vec<i64> = debts.iter().map(|d| d.org_id).collect();
        ids.extend(receipts.iter().map(|r| r.org_id));
        ids.extend(consents.iter().map(|c| c.org_id));
        ids.sort_unstable();
        ids.dedup();
        let mut orgs_seen = Vec::new();
        for id in ids {
            orgs_seen.extend(orgs::find_org_by_id(conn, id)?);
        }
        Ok::<_, ServiceError>(SubjectData {
            fiscal_code: cf.clone(),
            org,
            orgs: orgs_seen,
            debts,
            receipts,
            consents,
            mails,
            generated_at: now.iso(),
        })
    })
}

/// A receipt as its subject may read it: the other party (debtor or payer) masked.
fn mask_others(mut r: ReceiptRecord, cf: &str) -> ReceiptRecord {
    let mask = |p: &mut Party| {
        p.id = MASKED.to_owned();
        p.name = MASKED.to_owned();
        p.email = None;
    };
    if r.debtor.id != cf {
        mask(&mut r.debtor);
    }
    if let Some(p) = r.payer.as_mut().filter(|p| p.id != cf) {
        mask(p);
    }
    // The request as received names both parties; the subject reads the fields above instead.
    r.request_xml = String::new();
    r
}

fn checked_fiscal_code(text: &str) -> Result<String, ServiceError> {
    let cf = text.trim().to_uppercase();
    let ok = (11..=16).contains(&cf.len()) && cf.bytes().all(|b| b.is_ascii_alphanumeric());
    if !ok || cf == ANONYMOUS {
        return Err(ServiceError::invalid(
            "fiscal-code",
            "must be a fiscal code or VAT number (11 to 16 letters or digits)",
        ));
    }
    Ok(cf)
}

/// Why a request about a debt or receipt cannot be granted, in Italian for the operator and the
/// citizen, and in English for logs and the CLI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// What it is about: `debt:<ipa>/<iud>` or `rt:<ipa>/<iuv>`.
    pub object: String,
    pub reason: &'static str,
    pub reason_it: &'static str,
}

/// What an erasure did: debts whose debtor data was erased, and what was refused with why.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Erasure {
    pub erased: Vec<String>,
    pub refused: Vec<Refusal>,
}

const REFUSED_ACCOUNTING: (&str, &str) = (
    "accounting record under legal retention (art. 17(3)(b) GDPR; art. 2220 c.c.)",
    "documento contabile soggetto a conservazione per obbligo di legge (art. 17, par. 3, lett. b, GDPR; art. 2220 c.c.)",
);
const REFUSED_OPEN: (&str, &str) = (
    "open debt: the data are needed to collect it (art. 17(3)(b) GDPR); its contact data can be corrected",
    "dovuto ancora da pagare: i dati servono alla riscossione (art. 17, par. 3, lett. b, GDPR); i recapiti si possono rettificare",
);

const REFUSED_CLOSED: (&str, &str) = (
    "the debt is closed: nothing is sent to its debtor any more",
    "dovuto annullato o scaduto: al debitore non si invia più nulla; i suoi dati si possono cancellare",
);

/// The Italian reason of a refused rectification ([`rectify_contact`]), when it is one of the
/// law's (a paid or closed debt); `None` for other errors.
pub fn rectify_refusal_it(err: &ServiceError) -> Option<&'static str> {
    match err {
        ServiceError::Invalid { field, reason } if field == "iud" => {
            [REFUSED_ACCOUNTING, REFUSED_CLOSED].into_iter().find(|(en, _)| reason == en).map(|(_, it)| it)
        }
        _ => None,
    }
}

/// Erases (anonymises at once) the debtor data of `fiscal_code`'s annulled and expired debts in
/// the org `ipa`, which the law no longer needs; refuses, with the reason, paid debts and receipts
/// (accounting records) and open debts (still to collect). One transaction, journaled as
/// `gdpr.erase` with what was erased and refused.
pub fn erase(db: &Db, actor: &str, ipa: &str, fiscal_code: &str, now: Now) -> Result<Erasure, ServiceError> {
    let cf = checked_fiscal_code(fiscal_code)?;
    db.write(|tx| {
        let org = orgs::find_org_by_ipa(tx, ipa)?.ok_or_else(|| ServiceError::NotFound(format!("org {ipa}")))?;
        let mut out = Erasure::default();
        for d in debts::list_debts_of_subject(tx, &cf, Some(org.id), MAX_ROWS)? {
            let object = format!("debt:{}/{}", org.ipa_code, d.iud);
            match d.state {
                DebtState::Annulled | DebtState::Expired => {
                    let mut erased = d.clone();
                    erased.debtor = Party {
                        kind: d.debtor.kind.clone(),
                        id: ANONYMOUS.to_owned(),
                        name: ANONYMOUS.to_owned(),
                        ..Party::default()
                    };
                    debts::update_debtor_identity(tx, &erased, &now.iso())?;
                    out.erased.push(object);
                }
                DebtState::Paid => {
                    out.refused.push(Refusal { object, reason: REFUSED_ACCOUNTING.0, reason_it: REFUSED_ACCOUNTING.1 })
                }
                _ => out.refused.push(Refusal { object, reason: REFUSED_OPEN.0, reason_it: REFUSED_OPEN.1 }),
            }
        }
        for r in receipts::list_receipts_of_subject(tx, &cf, Some(org.id), MAX_ROWS)? {
            out.refused.push(Refusal {
                object: format!("rt:{}/{}", org.ipa_code, r.iuv),
                reason: REFUSED_ACCOUNTING.0,
                reason_it: REFUSED_ACCOUNTING.1,
            });
        }
        let refused: Vec<_> = out.refused.iter().map(|r| json!({ "object": r.object, "reason": r.reason })).collect();
        let after = json!({ "erased": out.erased, "refused": refused }).to_string();
        let change = Change {
            actor,
            org_id: Some(org.id),
            action: "gdpr.erase",
            object: "data_subject",
            before: None,
            after: Some(&after),
        };
        journal_change(tx, &change, now)?;
        Ok::<_, ServiceError>(out)
    })
}

/// The contact data a debtor may have corrected on an open debt.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Contact {
    pub email: Option<String>,
    pub address: Option<String>,
    pub civic_number: Option<String>,
    pub postal_code: Option<String>,
    pub city: Option<String>,
    pub province: Option<String>,
    pub country: Option<String>,
}

/// Corrects the debtor's contact data (e-mail, address) of the org's debt `iud`, when it is still
/// open; a paid debt is refused (accounting record), an annulled or expired one too (nothing
/// left to send to them: erase instead). Journaled as `gdpr.rectify` with before and after.
pub fn rectify_contact(
    db: &Db,
    actor: &str,
    ipa: &str,
    iud: &str,
    contact: &Contact,
    now: Now,
) -> Result<DebtRecord, ServiceError> {
    let email = non_empty(contact.email.as_deref());
    if let Some(e) = &email {
        crate::domain::Email::parse(e).map_err(|err| ServiceError::invalid("email", err.to_string()))?;
    }
    let fields = [
        ("address", &contact.address, 70),
        ("civic-number", &contact.civic_number, 16),
        ("postal-code", &contact.postal_code, 16),
        ("city", &contact.city, 35),
        ("province", &contact.province, 2),
        ("country", &contact.country, 2),
    ];
    for (name, value, max) in fields {
        check_len(name, value.as_deref().unwrap_or_default(), max)?;
    }
    db.write(|tx| {
        let org = orgs::find_org_by_ipa(tx, ipa)?.ok_or_else(|| ServiceError::NotFound(format!("org {ipa}")))?;
        let debt =
            debts::find_debt_by_iud(tx, org.id, iud)?.ok_or_else(|| ServiceError::NotFound(format!("debt {iud}")))?;
        match debt.state {
            DebtState::Paid => return Err(ServiceError::invalid("iud", REFUSED_ACCOUNTING.0)),
            DebtState::Annulled | DebtState::Expired => {
                return Err(ServiceError::invalid("iud", REFUSED_CLOSED.0));
            }
            _ => {}
        }
        let mut after = debt.clone();
        let p = &mut after.debtor;
        p.email = email.clone();
        p.address = non_empty(contact.address.as_deref());
        p.civic_number = non_empty(contact.civic_number.as_deref());
        p.postal_code = non_empty(contact.postal_code.as_deref());
        p.city = non_empty(contact.city.as_deref());
        p.province = non_empty(contact.province.as_deref()).map(|v| v.to_uppercase());
        p.country = non_empty(contact.country.as_deref()).map(|v| v.to_uppercase());
        debts::update_debtor_contact(tx, &after, &now.iso())?;
        let snapshot = |d: &DebtRecord| {
            json!({ "email": d.debtor.email, "address": d.debtor.address, "civic_number": d.debtor.civic_number,
                "postal_code": d.debtor.postal_code, "city": d.debtor.city, "province": d.debtor.province,
                "country": d.debtor.country })
            .to_string()
        };
        let object = format!("debt:{}/{}", org.ipa_code, debt.iud);
        let (before_json, after_json) = (snapshot(&debt), snapshot(&after));
        let change = Change {
            actor,
            org_id: Some(org.id),
            action: "gdpr.rectify",
            object: &object,
            before: Some(&before_json),
            after: Some(&after_json),
        };
        journal_change(tx, &change, now)?;
        Ok(debts::find_debt_by_id(tx, debt.id)?.unwrap_or(after))
    })
}
