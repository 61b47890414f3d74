//! The back office's debt search and debt detail: the operator's typed criteria checked and turned
//! into a store query limited to the debt types the operator may see, one page of results with a
//! bounded count, the whole result as CSV, and one debt with its receipts (its timeline is
//! `timeline`'s).

use crate::domain::NoticeNumber;
use crate::flows::quoted_csv::QuotedCsv;
use crate::services::ServiceError;
use crate::services::admin::access::OrgAccess;
use crate::store::debt_search::{self, DebtHit, DebtSearch};
use crate::store::debts::{self, DebtRecord};
use crate::store::receipts::{self, ReceiptRecord};
use crate::store::{Db, StoreError, debt_types};

/// Results per page.
pub const PAGE_SIZE: u32 = 50;
/// The count of matches stops here ("more than 1000"): counting further costs time on every page
/// and tells the operator nothing a narrower search would not.
pub const COUNT_CAP: u64 = 1_000;
/// The CSV download stops here; narrower criteria give the rest.
pub const CSV_CAP: u64 = 100_000;

/// The criteria as typed in the search form; empty means "any".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Criteria {
    pub iud: String,
    pub iuv: String,
    pub notice: String,
    pub debtor_id: String,
    pub debtor_name: String,
    pub state: String,
    /// A debt type code.
    pub debt_type: String,
    pub due_from: String,
    pub due_to: String,
    pub paid_from: String,
    pub paid_to: String,
}

fn opt(text: &str) -> Option<String> {
    let t = text.trim();
    (!t.is_empty()).then(|| t.to_owned())
}

fn date(field: &str, text: &str) -> Result<Option<String>, ServiceError> {
    match opt(text) {
        None => Ok(None),
        Some(t) => t
            .parse::<jiff::civil::Date>()
            .map(|d| Some(d.to_string()))
            .map_err(|_| ServiceError::invalid(field, format!("{t:?} is not a date (YYYY-MM-DD)"))),
    }
}

/// Checks `c` and builds the store query within `access`.
pub fn build_query(db: &Db, access: &OrgAccess, c: &Criteria) -> Result<DebtSearch, ServiceError> {
    let notice = match opt(&c.notice) {
        None => None,
        Some(t) => Some(NoticeNumber::parse_loose(&t).map_err(|err| ServiceError::invalid("notice", err.to_string()))?),
    };
    let state = opt(&c.state).map(|code| super::parse_state(&code)).transpose()?;
    let debt_type_id = match opt(&c.debt_type) {
        None => None,
        Some(code) => {
            let found = db.read(|conn| debt_types::find_debt_type(conn, access.org.id, &code))?;
            match found {
                Some(t) if access.sees_type(t.id) => Some(t.id),
                _ => return Err(ServiceError::invalid("debt_type", format!("{code} is not a debt type you may see"))),
            }
        }
    };
    let (due_from, due_to) = (date("due_from", &c.due_from)?, date("due_to", &c.due_to)?);
    let (paid_from, paid_to) = (date("paid_from", &c.paid_from)?, date("paid_to", &c.paid_to)?);
    Ok(DebtSearch {
        iud: opt(&c.iud),
        iuv: opt(&c.iuv).map(|v| v.to_ascii_uppercase()),
        notice_iuv: notice.as_ref().map(|n| n.iuv().as_str().to_owned()),
        notice_number: notice.map(|n| n.as_str().to_owned()),
        debtor_id: opt(&c.debtor_id).map(|v| v.to_ascii_uppercase()),
        debtor_name_prefix: opt(&c.debtor_name),
        state,
        debt_type_id,
        due_from,
        due_to,
        paid_from,
        paid_to,
        allowed_types: access.allowed_types.clone(),
    })
}

/// One page of results.
#[derive(Debug, Clone)]
pub struct ResultPage {
    pub hits: Vec<DebtHit>,
    /// Matches counted, at most [`COUNT_CAP`].
    pub total: u64,
    /// More than [`COUNT_CAP`] matched.
    pub more: bool,
    /// From 1.
    pub page: u64,
}

/// Page `page` (from 1) of the debts matching `query`.
pub fn search(db: &Db, org_id: i64, query: &DebtSearch, page: u64) -> Result<ResultPage, ServiceError> {
    let page = page.max(1);
    let offset = (page - 1).saturating_mul(u64::from(PAGE_SIZE));
    db.read(|conn| {
        let hits = debt_search::search_debts(conn, org_id, query, PAGE_SIZE, offset)?;
        let counted = debt_search::count_debts_matching(conn, org_id, query, COUNT_CAP + 1)?;
        Ok(ResultPage { hits, total: counted.min(COUNT_CAP), more: counted > COUNT_CAP, page })
    })
}

/// The CSV header of the download (`;`, every field quoted, as MyPay's exports).
pub const CSV_HEADER: [&str; 12] = [
    "IUD",
    "IUV",
    "Numero avviso",
    "Tipo dovuto",
    "Stato",
    "Codice fiscale debitore",
    "Debitore",
    "Causale",
    "Importo",
    "Scadenza",
    "Data pagamento",
    "Ultima modifica",
];

/// The UTF-8 byte order mark: without it Excel reads the file as Windows-1252 and breaks accents.
pub const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Every debt matching `query` (at most [`CSV_CAP`]) as CSV for a person's spreadsheet (Italian
/// Excel): a BOM, `;` between fields, amounts with a decimal comma, days `dd/mm/yyyy` and times in
/// Italian local time (`dd/mm/yyyy HH:MM:SS`), never UTC.
pub fn csv(db: &Db, org_id: i64, query: &DebtSearch) -> Result<Vec<u8>, ServiceError> {
    // For people: a debtor's name like `=HYPERLINK(…)` must not run in the operator's spreadsheet.
    let mut out = QuotedCsv::for_people(BOM.to_vec());
    let io = |err: std::io::Error| StoreError::Corrupt { column: "csv", reason: err.to_string() };
    out.row(CSV_HEADER).map_err(io)?;
    db.read(|conn| {
        debt_search::for_each_debt_matching(conn, org_id, query, CSV_CAP, |hit| {
            let d = &hit.debt;
            let amount = d.amount_cents.to_italian();
            let state = d.state.label_it();
            let day = |day: Option<crate::domain::Day>| {
                day.map(|day| day.date().strftime("%d/%m/%Y").to_string()).unwrap_or_default()
            };
            let (due, paid) = (day(d.due_date), day(hit.paid_date));
            let updated = crate::clock::rome_local(&d.updated_at)
                .map_or_else(|| d.updated_at.clone(), |t| t.strftime("%d/%m/%Y %H:%M:%S").to_string());
            out.row([
                d.iud.as_str(),
                d.iuv.as_ref().map(crate::domain::Iuv::as_str).unwrap_or_default(),
                d.notice_number.as_ref().map(NoticeNumber::as_str).unwrap_or_default(),
                d.debt_type_code.as_str(),
                state,
                d.debtor.id.as_str(),
                d.debtor.name.as_str(),
                d.causale.as_str(),
                amount.as_str(),
                due.as_str(),
                paid.as_str(),
                updated.as_str(),
            ])
            .map_err(io)
        })
    })?;
    Ok(out.into_inner())
}

/// One debt as the detail page shows it.
#[derive(Debug, Clone)]
pub struct DebtDetail {
    pub debt: DebtRecord,
    /// Every receipt of its IUV (successful or not).
    pub receipts: Vec<ReceiptRecord>,
}

/// The journal object of a debt, as `services::debts` writes it.
pub fn debt_object(ipa: &str, iud: &str) -> String {
    format!("debt:{ipa}/{iud}")
}

/// The debt with this id, if it belongs to the org and its type is visible to `access`; anything
/// else is "not found", so ids of other orgs reveal nothing.
pub fn detail(db: &Db, access: &OrgAccess, debt_id: i64) -> Result<DebtDetail, ServiceError> {
    db.read(|conn| {
        let debt = debts::find_debt_by_id(conn, debt_id)?
            .filter(|d| d.org_id == access.org.id && access.sees_type(d.debt_type_id))
            .ok_or_else(|| ServiceError::NotFound(format!("debt {debt_id} in org {}", access.org.ipa_code)))?;
        let receipts = match &debt.iuv {
            Some(iuv) => receipts::list_receipts_for_iuv(conn, access.org.id, iuv.as_str())?
                .into_iter()
                .filter(|r| r.debt_id.is_none_or(|id| id == debt.id))
                .collect(),
            None => Vec::new(),
        };
        Ok(DebtDetail { debt, receipts })
    })
}
