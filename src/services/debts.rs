//! Creating and reading single debt positions. The rules are the import's
//! (`domain::debt_row`), so a debt typed at the CLI is held to exactly what a file row would be.

use jiff::civil::Date;

use super::{Change, ServiceError};
use crate::domain::debt_row::{self, DebtFields, DebtTypeRules, RowContext, RowError};
use crate::domain::{DebtState, GeneratorId, SegregationCode, generate_iuv17};
use crate::store::debts::{self, DebtFilter, DebtRecord};
use crate::store::{Db, debt_types, orgs};

/// Where a debt came from; stored with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Cli,
    Demo,
    /// A payment started at a PSP (paDemandPaymentNotice).
    Node,
    /// A citizen's spontaneous payment on the portal.
    Portal,
}

impl Source {
    fn code(self) -> &'static str {
        match self {
            Source::Cli => "cli",
            Source::Demo => "demo",
            Source::Node => "node",
            Source::Portal => "portal",
        }
    }
}

/// Adds one debt to org `ipa` (action `I` of an import row). With `fields.generate_iuv` and no IUV,
/// an IUV17 and its notice number are generated from the org's durable counter.
pub fn add_debt(
    db: &Db,
    actor: &str,
    ipa: &str,
    fields: &DebtFields,
    source: Source,
    today: Date,
    now: &str,
) -> Result<DebtRecord, ServiceError> {
    add_debt_as(db, actor, ipa, fields, source, today, now, false)
}

/// [`add_debt`], where `anonymous_debtor` lets the debtor be `ANONIMO` whatever the debt type says:
/// a payment started at a PSP has no known debtor.
#[expect(clippy::too_many_arguments, reason = "the same parameters as add_debt, plus the one it fixes")]
pub(crate) fn add_debt_as(
    db: &Db,
    actor: &str,
    ipa: &str,
    fields: &DebtFields,
    source: Source,
    today: Date,
    now: &str,
    anonymous_debtor: bool,
) -> Result<DebtRecord, ServiceError> {
    db.write(|tx| {
        let org = orgs::find_org_by_ipa(tx, ipa)?.ok_or_else(|| ServiceError::NotFound(format!("org {ipa}")))?;
        let segregation_code = SegregationCode::parse(&org.segregation_code)
            .map_err(|err| ServiceError::Internal(format!("stored segregation code: {err}")))?;
        let debt_type = debt_types::find_debt_type(tx, org.id, fields.debt_type.trim())?;
        let ctx = RowContext {
            debt_type: debt_type.as_ref().map(|t| DebtTypeRules {
                code: t.code.clone(),
                active: t.active,
                allow_anonymous: t.allow_anonymous || anonymous_debtor,
                due_date_mandatory: t.due_date_mandatory,
            }),
            segregation_code,
            today,
            causale_max: 1024,
            due_date_always_required: false,
            is_insert: true,
        };
        let valid = debt_row::validate(fields, &ctx).map_err(ServiceError::Rejected)?;
        let Some(debt_type) = debt_type else {
            return Err(ServiceError::NotFound(format!("debt type {}", valid.debt_type)));
        };
        let mut duplicates = Vec::new();
        if debts::identifier_is_live(tx, org.id, "IUD", &valid.iud)? {
            duplicates.push(RowError {
                code: "PAA_IMPORT_IUD_DUPLICATO",
                description: "IUD attivo presente nel database".to_owned(),
            });
        }
        if let Some(iuv) = &valid.iuv
            && debts::identifier_is_live(tx, org.id, "IUV", iuv.as_str())?
        {
            duplicates.push(RowError {
                code: "PAA_IMPORT_IUV_DUPLICATO",
                description: "IUV attivo presente nel database".to_owned(),
            });
        }
        if !duplicates.is_empty() {
            return Err(ServiceError::Rejected(duplicates));
        }
        let (iuv, notice_number) = match &valid.iuv {
            Some(iuv) => {
                let app = org.application_code.as_deref().and_then(|c| crate::domain::ApplicationCode::parse(c).ok());
                (Some(iuv.as_str().to_owned()), iuv.notice_number(app).map(|n| n.as_str().to_owned()))
            }
            None if valid.generate_iuv => {
                let generator = GeneratorId::parse(&org.generator_id)
                    .map_err(|err| ServiceError::Internal(format!("stored generator id: {err}")))?;
                let counter = debts::next_iuv_counter(tx, org.id, generator.as_str())?;
                let (iuv, notice) = generate_iuv17(segregation_code, generator, counter)
                    .map_err(|err| ServiceError::Conflict(format!("cannot generate an IUV: {err}")))?;
                (Some(iuv.as_str().to_owned()), Some(notice.as_str().to_owned()))
            }
            None => (None, None),
        };
        let record = DebtRecord {
            org_id: org.id,
            debt_type_id: debt_type.id,
            debt_type_code: debt_type.code.clone(),
            iud: valid.iud.clone(),
            iuv,
            notice_number,
            state: DebtState::Inserted.code().to_owned(),
            debtor_kind: valid.debtor_kind.code().to_string(),
            debtor_id: valid.debtor.as_str().to_owned(),
            debtor_name: valid.debtor_name,
            debtor_address: valid.debtor_address,
            debtor_civic_number: valid.debtor_civic_number,
            debtor_postal_code: valid.debtor_postal_code,
            debtor_city: valid.debtor_city,
            debtor_province: valid.debtor_province,
            debtor_country: valid.debtor_country,
            debtor_email: valid.debtor_email,
            due_date: valid.due_date.map(|d| d.to_string()),
            amount_cents: valid.amount.get(),
            fee_cents: valid.fee.map(|f| f.get()),
            payment_kinds: valid.payment_kinds,
            causale: valid.causale,
            collection_data: valid.collection_data.as_str().to_owned(),
            generate_iuv: valid.generate_iuv,
            stamp_document_hash: valid.stamp.as_ref().map(|(hash, _)| hash.clone()),
            stamp_province: valid.stamp.as_ref().map(|(_, province)| province.clone()),
            source: source.code().to_owned(),
            ..DebtRecord::default()
        };
        let id = debts::insert_debt(tx, &record, now)?;
        let object = format!("debt:{}/{}", org.ipa_code, record.iud);
        let after = serde_json::json!({ "iud": record.iud, "iuv": record.iuv, "notice_number": record.notice_number,
            "debt_type": record.debt_type_code, "amount_cents": record.amount_cents, "due_date": record.due_date })
        .to_string();
        let change = Change {
            actor,
            org_id: Some(org.id),
            action: "debt.add",
            object: &object,
            before: None,
            after: Some(&after),
        };
        super::journal_change(tx, &change, now)?;
        debts::find_debt_by_iud(tx, org.id, &record.iud)?
            .filter(|d| d.id == id)
            .ok_or_else(|| ServiceError::NotFound(format!("debt {}", record.iud)))
    })
}

/// Annuls the live debt with this IUD (action `A`): it can no longer be paid, and its IUD and IUV
/// become free for reuse.
pub fn annul_debt(db: &Db, actor: &str, ipa: &str, iud: &str, now: &str) -> Result<DebtRecord, ServiceError> {
    db.write(|tx| {
        let org = orgs::find_org_by_ipa(tx, ipa)?.ok_or_else(|| ServiceError::NotFound(format!("org {ipa}")))?;
        let debt = debts::find_debt_by_iud(tx, org.id, iud)?.ok_or_else(|| {
            ServiceError::Rejected(vec![RowError {
                code: "PAA_IMPORT_DOVUTO_NON_PRESENTE",
                description: "Dovuto non presente o in pagamento".to_owned(),
            }])
        })?;
        let state = DebtState::from_code(&debt.state)
            .ok_or_else(|| ServiceError::Internal(format!("stored state {}", debt.state)))?;
        let next =
            state.apply(crate::domain::DebtEvent::Annul).map_err(|err| ServiceError::Conflict(err.to_string()))?;
        debts::update_debt_state(tx, debt.id, next.code(), now)?;
        debts::release_identifiers(tx, debt.id, now)?;
        let object = format!("debt:{}/{}", org.ipa_code, debt.iud);
        let change = Change {
            actor,
            org_id: Some(org.id),
            action: "debt.annul",
            object: &object,
            before: Some(&format!("{{\"state\":\"{}\"}}", debt.state)),
            after: Some(&format!("{{\"state\":\"{}\"}}", next.code())),
        };
        super::journal_change(tx, &change, now)?;
        Ok(DebtRecord { state: next.code().to_owned(), ..debt })
    })
}

/// How to find one debt.
#[derive(Debug, Clone)]
pub enum DebtKey {
    Iud(String),
    Iuv(String),
    NoticeNumber(String),
}

/// The live debt of org `ipa` with this key.
pub fn get_debt(db: &Db, ipa: &str, key: &DebtKey) -> Result<DebtRecord, ServiceError> {
    db.read(|conn| {
        let org = orgs::find_org_by_ipa(conn, ipa)?.ok_or_else(|| ServiceError::NotFound(format!("org {ipa}")))?;
        let found = match key {
            DebtKey::Iud(iud) => debts::find_debt_by_iud(conn, org.id, iud)?,
            DebtKey::Iuv(iuv) => debts::find_debt_by_iuv(conn, org.id, iuv)?,
            DebtKey::NoticeNumber(text) => {
                let notice = crate::domain::NoticeNumber::parse(text.trim())
                    .map_err(|err| ServiceError::invalid("notice", err.to_string()))?;
                debts::find_debt_by_iuv(conn, org.id, notice.iuv().as_str())?
            }
        };
        found.ok_or_else(|| ServiceError::NotFound(format!("debt {key:?} in org {}", org.ipa_code)))
    })
}

/// Debts of org `ipa`, newest first.
pub fn list_debts(db: &Db, ipa: &str, filter: &DebtFilter) -> Result<Vec<DebtRecord>, ServiceError> {
    if let Some(state) = &filter.state
        && DebtState::from_code(state).is_none()
    {
        return Err(ServiceError::invalid("state", format!("{state:?} is not a debt state")));
    }
    db.read(|conn| {
        let org = orgs::find_org_by_ipa(conn, ipa)?.ok_or_else(|| ServiceError::NotFound(format!("org {ipa}")))?;
        Ok(debts::list_debts(conn, org.id, filter)?)
    })
}
