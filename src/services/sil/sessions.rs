//! Payments started at the municipality (reference/mypay.md §4.3): the session a SIL opens with
//! the debts it wants paid, the citizen's landing page that turns it into debts and a Checkout
//! cart, the return to the SIL's back URL, and the session's state as `paaSILChiediPagati` and the
//! REST API read it.
//!
//! Until the citizen confirms, only the session row exists (MyPay keeps it in a cache for an hour):
//! nothing is stored for a refused request, and the debts are created, with generated IUVs, when
//! the citizen goes to Checkout. **Invariant:** the outcome comes only from stored receipts.
//!
//! The API other adapters build on: [`start`] (→ `idSession` and the landing token),
//! [`landing`], [`begin_checkout`] + [`checkout_sent`], [`finish`] (→ where the browser goes
//! back, with the `pollingToken` of [`crate::services::links::Links`]), [`status`] (→ [`SessionStatus`]).

use std::borrow::Cow;

use jiff::civil::Date;
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

use super::{SilError, fault};
use crate::clock::Now;
use crate::domain::debt_row::{self, BilancioField, DebtFields, RowError, SecondaryFields};
use crate::domain::{CartState, Cents};
use crate::services::ServiceError;
use crate::services::debts::{OrgScope, Source, insert_context, insert_valid, rules_of};
use crate::services::ids;
use crate::services::links::Links;
use crate::services::payments::{self, PaymentView};
use crate::services::portal;
use crate::services::portal::carts::NewCart;
use crate::services::upstream::payments as upstream;
use crate::store::carts::{self, CartRecord};
use crate::store::debt_types::{self, DebtTypeRecord};
use crate::store::debts::{self, DebtRecord};
use crate::store::orgs::{self, OrgRecord};
use crate::store::receipts::{self, ReceiptRecord};
use crate::store::sil::{self, SilSessionRecord};
use crate::store::{Db, audit};

/// How long the landing URL of a session works (MyPay's cache lifetime).
pub const SESSION_MINUTES: i64 = 60;
/// At most this many debts in one session (one pagoPA cart).
pub const MAX_ITEMS: usize = 5;

/// `showMyPay`: a summary to confirm (`SHORT`, the default) or straight to Checkout (`NONE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ShowMode {
    #[default]
    Short,
    None,
}

impl ShowMode {
    pub fn code(self) -> &'static str {
        match self {
            ShowMode::Short => "SHORT",
            ShowMode::None => "NONE",
        }
    }
}

/// Which operation opened the session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionKind {
    /// paaSILInviaDovuti (and the REST API's "start a payment").
    Dovuti,
    /// paaSILInviaCarrelloDovuti: debts of several orgs.
    Carrello,
    /// paaSILVerificaAvviso: existing debts, paid as they are.
    Avviso,
}

impl SessionKind {
    fn code(self) -> &'static str {
        match self {
            SessionKind::Dovuti => "dovuti",
            SessionKind::Carrello => "carrello",
            SessionKind::Avviso => "avviso",
        }
    }
}

/// One debt to create at checkout, for org `ipa`.
#[derive(Debug, Clone)]
pub struct SessionItem {
    pub ipa: String,
    pub fields: DebtFields,
}

impl SessionItem {
    /// What the citizen pays for this debt: the org's share plus a secondary beneficiary's (the
    /// notice's amount); `None` when an amount is not a valid decimal.
    pub fn amount_due(&self) -> Option<Cents> {
        let own = Cents::parse_decimal(self.fields.amount.trim()).ok()?;
        match &self.fields.secondary {
            None => Some(own),
            Some(mb) => own.checked_add(Cents::parse_decimal(mb.amount.trim()).ok()?),
        }
    }
}

/// What [`start`] needs.
#[derive(Debug, Clone)]
pub struct NewSession {
    /// The org that calls (the header's `codIpaEnte`).
    pub ipa: String,
    pub kind: SessionKind,
    pub show: ShowMode,
    /// `enteSILInviaRispostaPagamentoUrl`; `None`: the org's configured back URL.
    pub back_url: Option<String>,
    pub items: Vec<SessionItem>,
}

/// A session just opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Started {
    pub id_session: String,
    /// The key of the landing URL (`/sil/<token>`).
    pub token: String,
    pub expires_at: String,
}

/// The path of a session's landing page, to put after the public URL.
pub fn landing_path(token: &str) -> String {
    format!("/sil/{token}")
}

/// The rows of the per-item checks, ranked as MyPay checks them (§4.6): the payer first, then
/// each item in order (IUD, IUD already used, debt type, active, stamp, collection data, amount,
/// bilancio, causale, then its secondary beneficiary, every fault of which is
/// `PAA_ENTE_SECONDARIO_NON_VALIDO` with the import's reason).
fn rank(code: &str, description: &str) -> (u8, &'static str) {
    match code {
        "PAA_IMPORT_SINTASSI_CSV_IUV" => (1, "PAA_IUV_NON_VALIDO"),
        "PAA_IMPORT_SINTASSI_CSV_TIPO_VERS" => (2, "PAA_TIPO_VERSAMENTO_NON_VALIDO"),
        "PAA_IMPORT_SINTASSI_CSV_COD_FISC_P_IVA" | "PAA_IMPORT_SINTASSI_CSV_ID_UNIV_FG" => {
            (3, "PAA_CODICE_FISCALE_NON_VALIDO")
        }
        "PAA_IMPORT_SINTASSI_CSV_P_IVA" => (3, "PAA_P_IVA_NON_VALIDO"),
        "PAA_IMPORT_SINTASSI_CSV_IUD" => (10, "PAA_IUD_NON_VALIDO"),
        "PAA_IMPORT_SINTASSI_CSV_TIPO_DOVUTO" | "PAA_IMPORT_SINTASSI_CSV_TIPO_DOVUTO_INESISTENTE" => {
            (12, "PAA_IDENTIFICATIVO_TIPO_DOVUTO_NON_VALIDO")
        }
        "PAA_IMPORT_SINTASSI_CSV_TIPO_DOVUTO_NON_ATTIVO_PER_ENTE" => {
            (13, "PAA_IDENTIFICATIVO_TIPO_DOVUTO_NON_ABILITATO")
        }
        "PAA_IMPORT_SINTASSI_CSV_TIPO_DOVUTO_NON_VALIDO_MARCA_DA_BOLLO" => (14, "PAA_MARCA_BOLLO_DIGITALE_NON_VALIDA"),
        "PAA_IMPORT_SINTASSI_CSV_DATI_RISCOSS" => (15, "PAA_DATI_SPECIFICI_RISCOSSIONE_NON_VALIDO"),
        "PAA_IMPORT_SINTASSI_CSV_IMPORTO" | "PAA_IMPORT_SINTASSI_CSV_COMMISSIONI_PA" => {
            (16, "PAA_IMPORTO_SINGOLO_VERSAMENTO_NON_VALIDO")
        }
        "PAA_IMPORT_SINTASSI_CSV_BILANCIO" => (17, "PAA_IMPORTO_BILANCIO_NON_VALIDO"),
        _ if code.ends_with("ENTE_SECONDARIO") || description.contains("ENTE_SECONDARIO") => {
            (19, "PAA_ENTE_SECONDARIO_NON_VALIDO")
        }
        "PAA_IMPORT_SINTASSI_CSV" if description.contains("CAUSALE") => (18, "PAA_CAUSALE_NON_PRESENTE"),
        "PAA_IMPORT_SINTASSI_CSV" if description.contains("IMPORTO") => {
            (16, "PAA_IMPORTO_SINGOLO_VERSAMENTO_NON_VALIDO")
        }
        "PAA_IMPORT_SINTASSI_CSV" if description.contains("IUD") => (10, "PAA_IUD_NON_VALIDO"),
        "PAA_IMPORT_SINTASSI_CSV" if description.contains("IDENTIFICATIVO") => (3, "PAA_CODICE_FISCALE_NON_VALIDO"),
        _ => (4, "PAA_ANAGRAFICA_NON_VALIDA"),
    }
}

/// The first refusal in MyPay's order among the errors of item `index`.
fn first_fault(found: &mut Option<((u8, usize, u8), &'static str, String)>, index: usize, errors: &[RowError]) {
    for e in errors {
        let (rank, code) = rank(e.code, &e.description);
        // Payer checks come before any item's; item checks go item by item.
        let key = if rank < 10 { (0, 0, rank) } else { (1, index, rank) };
        if found.as_ref().is_none_or(|(k, _, _)| key < *k) {
            *found = Some((key, code, e.description.clone()));
        }
    }
}

/// A `Dovuti` document carries no due date: a debt paid now, of a type whose due date is
/// mandatory, falls due the day it is created. A due date given (REST API) is kept.
fn due_today_if_needed<'a>(
    fields: &'a DebtFields,
    debt_type: Option<&DebtTypeRecord>,
    today: Date,
) -> Cow<'a, DebtFields> {
    if fields.due_date.trim().is_empty() && debt_type.is_some_and(|t| t.due_date_mandatory) {
        Cow::Owned(DebtFields { due_date: today.to_string(), ..fields.clone() })
    } else {
        Cow::Borrowed(fields)
    }
}

/// Checks the items as §4.6 orders it and reads each org once; the caller checked the calling
/// org and its password. Nothing is written.
fn check_items(conn: &crate::store::Conn, items: &[SessionItem], today: Date) -> Result<(), SilError> {
    if items.is_empty() {
        return Err(fault("PAA_XML_NON_VALIDO", "almeno un dovuto è richiesto"));
    }
    if items.len() > MAX_ITEMS {
        return Err(fault("PAA_XML_NON_VALIDO", format!("al massimo {MAX_ITEMS} dovuti per richiesta")));
    }
    if let Some(item) = items.iter().find(|i| !i.fields.iuv.trim().is_empty()) {
        return Err(fault(
            "PAA_IUV_NON_VALIDO",
            format!("IUV {}: l'inserimento dello IUV è deprecato", item.fields.iuv.trim()),
        ));
    }
    let mut found = None;
    let mut seen: Vec<(&str, &str)> = Vec::new();
    for (index, item) in items.iter().enumerate() {
        let scope = OrgScope::load(conn, &item.ipa)
            .map_err(|_| fault("PAA_ENTE_NON_VALIDO", format!("ente {} non valido", item.ipa)))?;
        let debt_type = debt_types::find_debt_type(conn, scope.org.id, item.fields.debt_type.trim())?;
        let ctx = insert_context(&scope, debt_type.as_ref().map(rules_of), today);
        let fields = due_today_if_needed(&item.fields, debt_type.as_ref(), today);
        let mut errors = debt_row::validate(&fields, &ctx).err().unwrap_or_default();
        let iud = item.fields.iud.trim();
        if !iud.is_empty()
            && (seen.contains(&(item.ipa.as_str(), iud))
                || debts::identifier_is_live(conn, scope.org.id, debts::IdKind::Iud, iud)?)
        {
            errors.push(RowError { code: "PAA_IUD_DUPLICATO", description: format!("IUD [{iud}] già inviato") });
        }
        seen.push((item.ipa.as_str(), iud));
        let dup: Vec<RowError> = errors.iter().filter(|e| e.code == "PAA_IUD_DUPLICATO").cloned().collect();
        errors.retain(|e| e.code != "PAA_IUD_DUPLICATO");
        first_fault(&mut found, index, &errors);
        if let Some(e) = dup.first() {
            let key = (1, index, 11);
            if found.as_ref().is_none_or(|(k, _, _)| key < *k) {
                found = Some((key, "PAA_IUD_DUPLICATO", e.description.clone()));
            }
        }
    }
    if let Some((_, code, description)) = found {
        return Err(fault(code, description));
    }
    // MyPay checks this after every item (mypay.md §4.4): one pagoPA notice, two transfers.
    if items.len() > 1 && items.iter().any(|i| i.fields.secondary.is_some()) {
        return Err(fault(
            "PAA_LIMITE_MASSIMO_DOVUTI_MULTIBENEFICIARI",
            format!("{} dovuti: un dovuto multibeneficiario si paga da solo", items.len()),
        ));
    }
    Ok(())
}

/// The checks [`start`] makes on `new`'s items, without storing anything: an adapter that has
/// more to check after them (a cart's secondary beneficiary) keeps MyPay's order with it.
pub fn check(db: &Db, new: &NewSession, today: Date) -> Result<(), SilError> {
    db.read(|conn| check_items(conn, &new.items, today))
}

/// The stored form of an item (the domain's types carry no serde).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct StoredItem {
    ipa: String,
    iud: String,
    debtor_kind: String,
    debtor_id: String,
    debtor_name: String,
    debtor_address: String,
    debtor_civic_number: String,
    debtor_postal_code: String,
    debtor_city: String,
    debtor_province: String,
    debtor_country: String,
    debtor_email: String,
    /// Absent from sessions stored before it was kept.
    #[serde(default)]
    due_date: String,
    amount: String,
    fee: String,
    debt_type: String,
    payment_kinds: String,
    causale: String,
    collection_data: String,
    stamp_document_hash: String,
    stamp_province: String,
    bilancio: Option<(String, Vec<String>)>,
    /// Absent from sessions stored before carts took a secondary beneficiary.
    #[serde(default)]
    secondary: Option<StoredSecondary>,
}

/// The serde form of [`SecondaryFields`], field for field.
#[derive(Serialize, Deserialize)]
#[serde(remote = "SecondaryFields")]
struct SecondaryDef {
    fiscal_code: String,
    name: String,
    iban: String,
    address: String,
    civic_number: String,
    postal_code: String,
    city: String,
    province: String,
    country: String,
    collection_data: String,
    causale: String,
    amount: String,
}

/// A secondary beneficiary as the SIL sent it, stored with its item.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct StoredSecondary(#[serde(with = "SecondaryDef")] SecondaryFields);

impl StoredItem {
    fn of(item: &SessionItem) -> StoredItem {
        let f = &item.fields;
        StoredItem {
            ipa: item.ipa.clone(),
            iud: f.iud.clone(),
            debtor_kind: f.debtor_kind.clone(),
            debtor_id: f.debtor_id.clone(),
            debtor_name: f.debtor_name.clone(),
            debtor_address: f.debtor_address.clone(),
            debtor_civic_number: f.debtor_civic_number.clone(),
            debtor_postal_code: f.debtor_postal_code.clone(),
            debtor_city: f.debtor_city.clone(),
            debtor_province: f.debtor_province.clone(),
            debtor_country: f.debtor_country.clone(),
            debtor_email: f.debtor_email.clone(),
            due_date: f.due_date.clone(),
            amount: f.amount.clone(),
            fee: f.fee.clone(),
            debt_type: f.debt_type.clone(),
            payment_kinds: f.payment_kinds.clone(),
            causale: f.causale.clone(),
            collection_data: f.collection_data.clone(),
            stamp_document_hash: f.stamp_document_hash.clone(),
            stamp_province: f.stamp_province.clone(),
            bilancio: match &f.bilancio {
                BilancioField::Read { xml, amounts } => Some((xml.clone(), amounts.clone())),
                _ => None,
            },
            secondary: f.secondary.clone().map(StoredSecondary),
        }
    }

    fn item(self) -> SessionItem {
        SessionItem {
            ipa: self.ipa,
            fields: DebtFields {
                iud: self.iud,
                debtor_kind: self.debtor_kind,
                debtor_id: self.debtor_id,
                debtor_name: self.debtor_name,
                debtor_address: self.debtor_address,
                debtor_civic_number: self.debtor_civic_number,
                debtor_postal_code: self.debtor_postal_code,
                debtor_city: self.debtor_city,
                debtor_province: self.debtor_province,
                debtor_country: self.debtor_country,
                debtor_email: self.debtor_email,
                due_date: self.due_date,
                amount: self.amount,
                fee: self.fee,
                debt_type: self.debt_type,
                payment_kinds: self.payment_kinds,
                causale: self.causale,
                collection_data: self.collection_data,
                stamp_document_hash: self.stamp_document_hash,
                stamp_province: self.stamp_province,
                bilancio: match self.bilancio {
                    Some((xml, amounts)) => BilancioField::Read { xml, amounts },
                    None => BilancioField::Absent,
                },
                generate_iuv: true,
                secondary: self.secondary.map(|s| s.0),
                ..DebtFields::default()
            },
        }
    }
}

/// MyPay's idSession: a random UUID whose last group is the hex of the time `yyMMddHHmmssSSS`.
fn new_id_session(now: Now) -> Result<String, SilError> {
    let r = ids::random_hex(10)?;
    let stamp: u64 = now.rome().strftime("%y%m%d%H%M%S%3f").to_string().parse().unwrap_or(0);
    let part = |a: usize, b: usize| r.get(a..b).unwrap_or("0");
    Ok(format!("{}-{}-4{}-a{}-{stamp:012x}", part(0, 8), part(8, 12), part(12, 15), part(15, 18)))
}

/// The SIL's back URL (`enteSILInviaRispostaPagamentoUrl`), where the citizen is sent back: an
/// http(s) address without spaces or control characters (a CR/LF in it would write headers into
/// the portal's redirect); empty means the org's default.
fn checked_back_url(given: Option<&str>) -> Result<Option<String>, SilError> {
    crate::services::parse_url("enteSILInviaRispostaPagamentoUrl", given.unwrap_or_default())
        .map_err(|_| fault("PAA_XML_NON_VALIDO", "enteSILInviaRispostaPagamentoUrl non è un indirizzo http(s) valido"))
}

/// Opens a session after every check of §4.6 that does not need the calling org (the adapter
/// checked the org, its state and its password). Stores only the session and its audit entry.
pub fn start(db: &Db, actor: &str, new: &NewSession, now: Now) -> Result<Started, SilError> {
    let today = now.today();
    let iso = now.iso();
    let expires_at = crate::clock::iso(now.instant() + SignedDuration::from_mins(SESSION_MINUTES));
    let id_session = new_id_session(now)?;
    let token = ids::random_hex(16)?;
    let payload = serde_json::to_string(&new.items.iter().map(StoredItem::of).collect::<Vec<_>>())
        .map_err(|err| ServiceError::Internal(format!("session payload: {err}")))?;
    let payer_email = new.items.iter().map(|i| i.fields.debtor_email.trim()).find(|e| !e.is_empty()).map(str::to_owned);
    db.write(|tx| {
        let org = orgs::find_org_by_ipa(tx, &new.ipa)?
            .ok_or_else(|| fault("PAA_ENTE_NON_VALIDO", format!("ente {} non valido", new.ipa)))?;
        check_items(tx, &new.items, today)?;
        if new.show == ShowMode::None && payer_email.is_none() {
            return Err(fault("PAA_ANAGRAFICA_NON_VALIDA", "e-mail del pagatore obbligatoria con showMyPay NONE"));
        }
        let back_url = checked_back_url(new.back_url.as_deref())?.or_else(|| org.back_url.clone());
        let record = SilSessionRecord {
            id_session: id_session.clone(),
            token: token.clone(),
            org_id: org.id,
            kind: new.kind.code().to_owned(),
            show_mode: new.show.code().to_owned(),
            back_url,
            payer_email: payer_email.clone(),
            payload: payload.clone(),
            created_at: iso.clone(),
            expires_at: expires_at.clone(),
            ..SilSessionRecord::default()
        };
        store_session(tx, actor, &record, &iso)?;
        Ok::<_, SilError>(())
    })?;
    Ok(Started { id_session, token, expires_at })
}

/// Inserts a session and its audit entry.
fn store_session(tx: &crate::store::Conn, actor: &str, record: &SilSessionRecord, iso: &str) -> Result<(), SilError> {
    sil::insert_sil_session(tx, record)?;
    let object = format!("sil_session:{}", record.id_session);
    audit::insert_audit(
        tx,
        &audit::AuditEntry {
            actor,
            org_id: Some(record.org_id),
            action: "sil.session.start",
            object: Some(&object),
            outcome: "OK",
            after_json: Some(&record.payload),
            ..Default::default()
        },
        iso,
    )?;
    Ok(())
}

/// Opens a session on org `ipa`'s open debt with this IUV (`paaSILVerificaAvviso`): no payable
/// debt → `PAA_IUV_NON_VALIDO`, past its mandatory due date → `PAA_IUV_SCADUTO`.
pub fn start_for_notice(
    db: &Db,
    actor: &str,
    ipa: &str,
    iuv: &str,
    back_url: Option<String>,
    now: Now,
) -> Result<Started, SilError> {
    let today = now.today();
    let back_url = checked_back_url(back_url.as_deref())?;
    let not_payable = || fault("PAA_IUV_NON_VALIDO", format!("IUV {iuv}: non ci sono dovuti pagabili"));
    let (org, debt) = db.read(|conn| {
        let org = orgs::find_org_by_ipa(conn, ipa)?.ok_or_else(|| fault("PAA_ENTE_NON_VALIDO", ipa.to_owned()))?;
        let debt = debts::find_debt_by_iuv(conn, org.id, iuv.trim())?;
        Ok::<_, SilError>((org, debt))
    })?;
    let debt = debt.ok_or_else(not_payable)?;
    let notice = debt.notice_number.clone().ok_or_else(not_payable)?;
    match payments::verify(db, &org.fiscal_code, &notice, today) {
        Ok(_) => {}
        Err(payments::PaymentError::Expired(_)) => return Err(fault("PAA_IUV_SCADUTO", format!("IUV {iuv} scaduto"))),
        Err(_) => return Err(not_payable()),
    }
    let iso = now.iso();
    let record = SilSessionRecord {
        id_session: new_id_session(now)?,
        token: ids::random_hex(16)?,
        org_id: org.id,
        kind: SessionKind::Avviso.code().to_owned(),
        show_mode: ShowMode::Short.code().to_owned(),
        back_url: back_url.or(org.back_url),
        payer_email: debt.debtor.email.clone(),
        payload: format!("[{}]", debt.id),
        created_at: iso.clone(),
        expires_at: crate::clock::iso(now.instant() + SignedDuration::from_mins(SESSION_MINUTES)),
        ..SilSessionRecord::default()
    };
    db.write(|tx| store_session(tx, actor, &record, &iso))?;
    Ok(Started { id_session: record.id_session, token: record.token, expires_at: record.expires_at })
}

/// What the landing page shows.
#[derive(Debug, Clone)]
pub struct Landing {
    pub session: SilSessionRecord,
    pub show: ShowMode,
    /// (org name, item) for the summary.
    pub items: Vec<(String, SessionItem)>,
    /// The citizen already went to Checkout with this session.
    pub started: bool,
}

/// The debt ids of a session opened on existing debts (`avviso`).
fn debt_ids(session: &SilSessionRecord) -> Result<Vec<i64>, SilError> {
    Ok(serde_json::from_str(&session.payload)
        .map_err(|err| ServiceError::Internal(format!("stored session payload: {err}")))?)
}

/// The session's items: the debts to create, or (`avviso`) the existing debts as items.
fn items_of(conn: &crate::store::Conn, session: &SilSessionRecord) -> Result<Vec<SessionItem>, SilError> {
    if session.kind == SessionKind::Avviso.code() {
        let mut items = Vec::new();
        for id in debt_ids(session)? {
            let Some(debt) = debts::find_debt_by_id(conn, id)? else { continue };
            let ipa = orgs::find_org_by_id(conn, debt.org_id)?.map(|o| o.ipa_code).unwrap_or_default();
            let fields = DebtFields {
                iud: debt.iud,
                debtor_name: debt.debtor.name,
                amount: debt.amount_cents.to_decimal_string(),
                causale: debt.causale,
                // Only what the summary shows: the share and who receives it.
                secondary: debt.mb_amount_cents.map(|cents| SecondaryFields {
                    name: debt.beneficiary.map(|b| b.name).unwrap_or_default(),
                    amount: cents.to_decimal_string(),
                    ..SecondaryFields::default()
                }),
                ..DebtFields::default()
            };
            items.push(SessionItem { ipa, fields });
        }
        return Ok(items);
    }
    let stored: Vec<StoredItem> = serde_json::from_str(&session.payload)
        .map_err(|err| ServiceError::Internal(format!("stored session payload: {err}")))?;
    Ok(stored.into_iter().map(StoredItem::item).collect())
}

fn expired(session: &SilSessionRecord, now: Now) -> bool {
    session.expires_at.parse::<Timestamp>().is_ok_and(|t| now.instant() >= t)
}

/// The session behind a landing URL: unknown → `PAA_ID_SESSION_NON_VALIDO`, past its hour and
/// never confirmed → `PAA_PAGAMENTO_SCADUTO`.
pub fn landing(db: &Db, token: &str, now: Now) -> Result<Landing, SilError> {
    db.read(|conn| {
        let session = sil::find_sil_session_by_token(conn, token)?
            .ok_or_else(|| fault("PAA_ID_SESSION_NON_VALIDO", "sessione sconosciuta"))?;
        if session.cart_id.is_none() && expired(&session, now) {
            return Err(fault("PAA_PAGAMENTO_SCADUTO", "sessione scaduta"));
        }
        let mut items = Vec::new();
        for item in items_of(conn, &session)? {
            let name = orgs::find_org_by_ipa(conn, &item.ipa)?.map(|o| o.name).unwrap_or_default();
            items.push((name, item));
        }
        let show = if session.show_mode == "NONE" { ShowMode::None } else { ShowMode::Short };
        let started = session.cart_id.is_some();
        Ok(Landing { session, show, items, started })
    })
}

/// A cart ready for Checkout.
#[derive(Debug, Clone)]
pub struct Checkout {
    pub cart: CartRecord,
    pub views: Vec<PaymentView>,
    pub payer_email: Option<String>,
}

/// The citizen confirmed: creates the session's debts (generated IUVs, source `sil`) in one
/// transaction, then the cart; a second confirmation is refused (`PAA_PAGAMENTO_IN_CORSO`).
pub fn begin_checkout(db: &Db, token: &str, payer_email: Option<&str>, now: Now) -> Result<Checkout, SilError> {
    let today = now.today();
    let (session, created) = confirm(db, token, false, now)?;
    let mut views = Vec::with_capacity(created.len());
    for (org, debt) in &created {
        let notice = debt
            .notice_number
            .clone()
            .ok_or_else(|| ServiceError::Internal("generated notice number: missing".to_owned()))?;
        views.push(
            payments::verify(db, &org.fiscal_code, &notice, today)
                .map_err(|err| fault("PAA_SYSTEM_ERROR", err.to_string()))?,
        );
    }
    let email = payer_email.map(str::to_owned).or(session.payer_email.clone());
    let session_hash = cart_session_hash(&session);
    let new =
        NewCart { session_hash: &session_hash, payer_email: email.as_deref(), citizen_id: None, shown_notices: None };
    let cart = portal::carts::prepare_cart_from(db, &views, &new, portal::carts::ConsentChannel::Sil, now)?;
    link_cart(db, &session, &cart)?;
    Ok(Checkout { cart, views, payer_email: email })
}

/// [`begin_checkout`] in upstream mode: the debts to create are created for the Region (without
/// IUV, never mirrored), and the cart is recorded for the Region's session; returns the cart and
/// its debts, which the Region is then asked for.
pub(crate) fn begin_region_checkout(
    db: &Db,
    token: &str,
    payer_email: Option<&str>,
    now: Now,
) -> Result<(CartRecord, Vec<upstream::Line>), SilError> {
    let (session, debts) = confirm(db, token, true, now)?;
    let new = session.kind != SessionKind::Avviso.code();
    let lines: Vec<upstream::Line> = debts.into_iter().map(|(org, debt)| upstream::Line { org, debt, new }).collect();
    let email = payer_email.map(str::to_owned).or(session.payer_email.clone());
    let session_hash = cart_session_hash(&session);
    let new_cart =
        NewCart { session_hash: &session_hash, payer_email: email.as_deref(), citizen_id: None, shown_notices: None };
    let cart = portal::carts::record_cart(
        db,
        upstream::cart_items(&lines),
        Some(portal::carts::ConsentChannel::Sil),
        &new_cart,
        now,
    )?;
    link_cart(db, &session, &cart)?;
    Ok((cart, lines))
}

/// The `session_hash` of a session's cart: the session it came from.
fn cart_session_hash(session: &SilSessionRecord) -> String {
    format!("sil:{}", session.id_session)
}

/// The landing token of the session whose cart this is, if a SIL session's.
pub(crate) fn token_of_cart(db: &Db, cart: &CartRecord) -> Result<Option<String>, SilError> {
    let Some(id_session) = cart.session_hash.strip_prefix("sil:") else {
        return Ok(None);
    };
    let session = db.read(|conn| sil::find_sil_session(conn, id_session))?;
    Ok(session.filter(|s| s.cart_id == Some(cart.id)).map(|s| s.token))
}

/// The session's debts: the existing ones (`avviso`), or those created now (in upstream mode for
/// the Region). Refuses a session already started.
fn confirm(
    db: &Db,
    token: &str,
    for_region: bool,
    now: Now,
) -> Result<(SilSessionRecord, Vec<(OrgRecord, DebtRecord)>), SilError> {
    let landing = landing(db, token, now)?;
    if landing.started {
        return Err(fault("PAA_PAGAMENTO_IN_CORSO", "pagamento già avviato per questa sessione"));
    }
    let session = landing.session;
    let debts = if session.kind == SessionKind::Avviso.code() {
        db.read(|conn| {
            let mut found = Vec::new();
            for id in debt_ids(&session)? {
                let debt = debts::find_debt_by_id(conn, id)?
                    .ok_or_else(|| fault("PAA_IUV_NON_VALIDO", "dovuto non trovato"))?;
                let org =
                    orgs::find_org_by_id(conn, debt.org_id)?.ok_or_else(|| fault("PAA_ENTE_NON_VALIDO", "ente"))?;
                found.push((org, debt));
            }
            Ok::<_, SilError>(found)
        })?
    } else {
        create_debts(db, &session, &landing.items, for_region, now)?
    };
    Ok((session, debts))
}

/// Ties the cart to its session; a second confirmation that got this far is refused.
fn link_cart(db: &Db, session: &SilSessionRecord, cart: &CartRecord) -> Result<(), SilError> {
    if !db.write(|tx| sil::update_sil_session_cart(tx, session.id, cart.id))? {
        return Err(fault("PAA_PAGAMENTO_IN_CORSO", "pagamento già avviato per questa sessione"));
    }
    Ok(())
}

/// Creates the debts of a session (source `sil`, generated IUVs) in one transaction; `for_region`:
/// without IUV and marked as the Region's own (upstream mode: the Region creates them at its checkout).
fn create_debts(
    db: &Db,
    session: &SilSessionRecord,
    items: &[(String, SessionItem)],
    for_region: bool,
    now: Now,
) -> Result<Vec<(OrgRecord, DebtRecord)>, SilError> {
    let (today, iso) = (now.today(), now.iso());
    db.write(|tx| {
        let mut created = Vec::new();
        for (_, item) in items {
            // A session's debt is the Region's own in upstream mode (it makes it when the session
            // starts there): never mirrored.
            let scope = OrgScope::load(tx, &item.ipa)?.without_mirror();
            let Some(debt_type) = debt_types::find_debt_type(tx, scope.org.id, item.fields.debt_type.trim())? else {
                return Err(fault("PAA_IDENTIFICATIVO_TIPO_DOVUTO_NON_VALIDO", item.fields.debt_type.clone()));
            };
            let ctx = insert_context(&scope, Some(rules_of(&debt_type)), today);
            let mut fields = due_today_if_needed(&item.fields, Some(&debt_type), today);
            if for_region {
                fields.to_mut().generate_iuv = false;
            }
            let valid = debt_row::validate(&fields, &ctx)
                .map_err(|errors| fault("PAA_SYSTEM_ERROR", ServiceError::Rejected(errors).to_string()))?;
            let applied = insert_valid(tx, &scope, &debt_type, valid, Source::Sil, None, &iso)?.map_err(|errors| {
                let dup = errors.iter().any(|e| e.code == "PAA_IMPORT_IUD_DUPLICATO");
                let code = if dup { "PAA_IUD_DUPLICATO" } else { "PAA_SYSTEM_ERROR" };
                fault(code, ServiceError::Rejected(errors).to_string())
            })?;
            if for_region {
                upstream::mark_session_debt(tx, applied.id, &iso)?;
            }
            let debt = debts::find_debt_by_id(tx, applied.id)?
                .ok_or_else(|| ServiceError::NotFound(format!("debt {}", applied.id)))?;
            let object = format!("debt:{}/{}", scope.org.ipa_code, debt.iud);
            audit::insert_audit(
                tx,
                &audit::AuditEntry {
                    actor: "citizen",
                    org_id: Some(scope.org.id),
                    action: "sil.debt.add",
                    object: Some(&object),
                    outcome: "OK",
                    after_json: Some(
                        &serde_json::json!({ "idSession": session.id_session, "iuv": debt.iuv.as_ref().map(crate::domain::Iuv::as_str) }).to_string(),
                    ),
                    ..Default::default()
                },
                &iso,
            )?;
            created.push((scope.org.clone(), debt));
        }
        Ok::<_, SilError>(created)
    })
}

/// Records where Checkout sent the browser, or (`None`) that Checkout refused the cart.
pub fn checkout_sent(db: &Db, cart_id: i64, checkout_url: Option<&str>, now: Now) -> Result<(), SilError> {
    Ok(portal::carts::cart_sent(db, cart_id, checkout_url, now)?)
}

/// How the browser came back from Checkout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Return {
    Ok,
    Cancelled,
    Error,
    /// Upstream mode, from the Region: nobody knows the outcome yet, nothing is marked, and the
    /// browser's `esito` hint is passed on as MyPay passes it (the SIL asks ChiediPagati).
    Unconfirmed {
        hint_ok: bool,
    },
}

/// Where the browser goes after Checkout: the SIL's back URL with `idSession`, `esito` and
/// `pollingToken`, or `None` when there is no back URL (mypay shows its own page).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackTo {
    pub id_session: String,
    pub esito: &'static str,
    pub url: Option<String>,
}

/// The browser is back from Checkout: a cancel or an error marks the cart (unless its receipts
/// say it was paid); the SIL learns the real outcome from [`status`].
pub fn finish(db: &Db, links: &Links, token: &str, how: Return, now: Now) -> Result<BackTo, SilError> {
    let session = db
        .read(|conn| sil::find_sil_session_by_token(conn, token))?
        .ok_or_else(|| fault("PAA_ID_SESSION_NON_VALIDO", "sessione sconosciuta"))?;
    let Some(cart_id) = session.cart_id else {
        return Err(fault("PAA_PAGAMENTO_NON_INIZIATO", "pagamento non iniziato"));
    };
    let cart = db
        .read(|conn| carts::find_cart_by_id(conn, cart_id))?
        .ok_or_else(|| ServiceError::NotFound(format!("cart {cart_id}")))?;
    let paid = portal::carts::cart_outcome(db, &cart.token)?.is_some_and(|o| o.paid);
    if matches!(how, Return::Cancelled | Return::Error) && !paid && cart.state == CartState::InPayment {
        portal::carts::cart_abandoned(db, cart.id, how == Return::Cancelled, now)?;
    }
    let esito = if matches!(how, Return::Ok | Return::Unconfirmed { hint_ok: true }) || paid { "OK" } else { "ERROR" };
    let url = session.back_url.as_deref().map(|base| {
        let sep = if base.contains('?') { '&' } else { '?' };
        format!(
            "{base}{sep}idSession={}&esito={esito}&pollingToken={}",
            session.id_session,
            links.sil_polling_token(&session.id_session)
        )
    });
    Ok(BackTo { id_session: session.id_session, esito, url })
}

/// MyPay's codiceEsitoPagamento of a finished session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaymentOutcome {
    /// 0: every debt paid.
    Paid,
    /// 1: nothing paid.
    NotPaid,
    /// 2: some debts paid.
    Partial,
}

impl PaymentOutcome {
    pub fn code(self) -> &'static str {
        match self {
            PaymentOutcome::Paid => "0",
            PaymentOutcome::NotPaid => "1",
            PaymentOutcome::Partial => "2",
        }
    }
}

/// One debt of a finished session and its receipt, if paid.
#[derive(Debug, Clone)]
pub struct OutcomeLine {
    pub org: OrgRecord,
    pub debt: DebtRecord,
    pub receipt: Option<ReceiptRecord>,
}

/// A finished session.
#[derive(Debug, Clone)]
pub struct SessionOutcome {
    pub session: SilSessionRecord,
    pub cart: CartRecord,
    pub outcome: PaymentOutcome,
    pub lines: Vec<OutcomeLine>,
}

/// Where a session stands (the table of §4.3).
#[derive(Debug, Clone)]
pub enum SessionStatus {
    /// Opened, the citizen has not gone to Checkout: `PAA_PAGAMENTO_NON_INIZIATO`.
    NotStarted,
    /// Never confirmed within the hour: `PAA_PAGAMENTO_SCADUTO`.
    Expired,
    /// At Checkout, receipts still missing: `PAA_PAGAMENTO_IN_CORSO`.
    InProgress,
    /// Cancelled by the citizen (or given up), nothing paid: `PAA_PAGAMENTO_ANNULLATO`.
    Cancelled,
    /// The `Pagati` document's data.
    Finished(Box<SessionOutcome>),
}

impl SessionStatus {
    /// The fault code of a state without a `Pagati` document.
    pub fn fault_code(&self) -> Option<&'static str> {
        match self {
            SessionStatus::NotStarted => Some("PAA_PAGAMENTO_NON_INIZIATO"),
            SessionStatus::Expired => Some("PAA_PAGAMENTO_SCADUTO"),
            SessionStatus::InProgress => Some("PAA_PAGAMENTO_IN_CORSO"),
            SessionStatus::Cancelled => Some("PAA_PAGAMENTO_ANNULLATO"),
            SessionStatus::Finished(_) => None,
        }
    }
}

/// The state of session `id_session` as org `ipa` may see it (the org that opened it, or one
/// whose debts it holds); anything else is `PAA_ID_SESSION_NON_VALIDO`.
pub fn status(db: &Db, ipa: &str, id_session: &str, now: Now) -> Result<SessionStatus, SilError> {
    let unknown = || fault("PAA_ID_SESSION_NON_VALIDO", format!("idSession {id_session} non valido"));
    db.read_tx(|conn| {
        let session = sil::find_sil_session(conn, id_session.trim())?.ok_or_else(unknown)?;
        let org = orgs::find_org_by_ipa(conn, ipa)?.ok_or_else(unknown)?;
        let items = items_of(conn, &session)?;
        if session.org_id != org.id && !items.iter().any(|i| i.ipa == org.ipa_code) {
            return Err(unknown());
        }
        let Some(cart_id) = session.cart_id else {
            return Ok(if expired(&session, now) { SessionStatus::Expired } else { SessionStatus::NotStarted });
        };
        let cart = carts::find_cart_by_id(conn, cart_id)?.ok_or_else(unknown)?;
        let mut lines = Vec::with_capacity(cart.items.len());
        for item in &cart.items {
            let debt = debts::find_debt_by_id(conn, item.debt_id)?.ok_or_else(unknown)?;
            let line_org = orgs::find_org_by_id(conn, item.org_id)?.ok_or_else(unknown)?;
            let receipt = receipts::list_ok_receipts_for_debt(conn, item.debt_id)?.into_iter().next();
            lines.push(OutcomeLine { org: line_org, debt, receipt });
        }
        let paid = lines.iter().filter(|l| l.receipt.is_some()).count();
        let status = match (cart.state, paid) {
            (_, n) if n == lines.len() && n > 0 => PaymentOutcome::Paid,
            (CartState::InPayment | CartState::Paid, _) => return Ok(SessionStatus::InProgress),
            (CartState::Cancelled, 0) => return Ok(SessionStatus::Cancelled),
            (_, 0) => PaymentOutcome::NotPaid,
            _ => PaymentOutcome::Partial,
        };
        Ok(SessionStatus::Finished(Box::new(SessionOutcome { session, cart, outcome: status, lines })))
    })
}

/// The IPA codes of the orgs whose debts session `id_session` holds, in order, each once.
pub fn session_orgs(db: &Db, id_session: &str) -> Result<Vec<String>, SilError> {
    db.read(|conn| {
        let session = sil::find_sil_session(conn, id_session.trim())?
            .ok_or_else(|| fault("PAA_ID_SESSION_NON_VALIDO", format!("idSession {id_session} non valido")))?;
        let mut found: Vec<String> = Vec::new();
        for item in items_of(conn, &session)? {
            if !found.contains(&item.ipa) {
                found.push(item.ipa);
            }
        }
        Ok(found)
    })
}

/// The paid debt of org `ipa` with this IUV or IUD, with its receipt (`paaSILChiediPagatiConRicevuta`
/// without a session): unknown → `PAA_DATI_NON_TROVATI`, not paid → `PAA_PAGAMENTO_NON_INIZIATO`.
pub fn paid_debt(db: &Db, ipa: &str, iuv: Option<&str>, iud: Option<&str>) -> Result<OutcomeLine, SilError> {
    let unknown = || fault("PAA_DATI_NON_TROVATI", "dovuto non trovato");
    db.read_tx(|conn| {
        let org = orgs::find_org_by_ipa(conn, ipa)?.ok_or_else(unknown)?;
        let debt = match (iuv, iud) {
            (Some(iuv), _) => debts::find_any_debt_by_iuv(conn, org.id, iuv.trim())?,
            (None, Some(iud)) => debts::find_debt_by_iud(conn, org.id, iud.trim())?,
            (None, None) => None,
        }
        .ok_or_else(unknown)?;
        let receipt = receipts::list_ok_receipts_for_debt(conn, debt.id)?.into_iter().next();
        if receipt.is_none() {
            return Err(fault("PAA_PAGAMENTO_NON_INIZIATO", format!("dovuto {} non pagato", debt.iud)));
        }
        Ok(OutcomeLine { org, debt, receipt })
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]
    use super::*;

    #[test]
    fn payer_faults_come_before_item_faults_and_items_in_order() {
        let mut found = None;
        first_fault(&mut found, 1, &[RowError { code: "PAA_IMPORT_SINTASSI_CSV_IMPORTO", description: String::new() }]);
        first_fault(
            &mut found,
            0,
            &[RowError { code: "PAA_IMPORT_SINTASSI_CSV_DATI_RISCOSS", description: String::new() }],
        );
        assert_eq!(found.as_ref().map(|f| f.1), Some("PAA_DATI_SPECIFICI_RISCOSSIONE_NON_VALIDO"));
        first_fault(
            &mut found,
            1,
            &[RowError { code: "PAA_IMPORT_SINTASSI_CSV_COD_FISC_P_IVA", description: String::new() }],
        );
        assert_eq!(found.map(|f| f.1), Some("PAA_CODICE_FISCALE_NON_VALIDO"));
    }

    #[test]
    fn every_fault_of_the_secondary_beneficiary_is_ente_secondario_and_comes_after_the_debt() {
        for (code, description) in [
            ("PAA_IMPORT_SINTASSI_CSV_IBAN_ACCREDITO_ENTE_SECONDARIO", "IBAN"),
            ("PAA_IMPORT_SINTASSI_CSV_IMPORTO_VERS_ENTE_SECONDARIO", "importo"),
            ("PAA_IMPORT_SINTASSI_CSV", "CAUSALE_VERSAMENTO_ENTE_SECONDARIO TROPPO GRANDE"),
            ("PAA_IMPORT_SINTASSI_CSV", "DENOMINAZIONE_ENTE_SECONDARIO NON PRESENTE"),
        ] {
            assert_eq!(rank(code, description), (19, "PAA_ENTE_SECONDARIO_NON_VALIDO"), "{code} {description}");
        }
        let mut found = None;
        let secondary =
            RowError { code: "PAA_IMPORT_SINTASSI_CSV_IBAN_ACCREDITO_ENTE_SECONDARIO", description: String::new() };
        let causale =
            RowError { code: "PAA_IMPORT_SINTASSI_CSV", description: "CAUSALE_VERSAMENTO NON PRESENTE".to_owned() };
        first_fault(&mut found, 0, &[secondary, causale]);
        assert_eq!(found.map(|f| f.1), Some("PAA_CAUSALE_NON_PRESENTE"));
    }

    #[test]
    fn a_stored_item_keeps_its_secondary_beneficiary_and_old_sessions_still_read() {
        let mb = SecondaryFields {
            fiscal_code: "01199250158".to_owned(),
            name: "Comune di Milano".to_owned(),
            iban: "IT06R0306909606100000063440".to_owned(),
            collection_data: "9/0101002IM/".to_owned(),
            amount: "4.00".to_owned(),
            ..SecondaryFields::default()
        };
        let fields = DebtFields { amount: "10.00".to_owned(), secondary: Some(mb), ..DebtFields::default() };
        let item = SessionItem { ipa: "c_esempio".to_owned(), fields };
        assert_eq!(item.amount_due(), Some(Cents::new(1400)));
        let json = serde_json::to_string(&StoredItem::of(&item)).unwrap();
        let back = serde_json::from_str::<StoredItem>(&json).unwrap().item();
        let secondary = back.fields.secondary.as_ref().unwrap();
        assert_eq!((secondary.iban.as_str(), secondary.amount.as_str()), ("IT06R0306909606100000063440", "4.00"));
        assert_eq!(back.amount_due(), Some(Cents::new(1400)));
        // A session stored before carts took a secondary beneficiary.
        let mut old: serde_json::Value = serde_json::from_str(&json).unwrap();
        old.as_object_mut().unwrap().remove("secondary");
        let old = serde_json::from_value::<StoredItem>(old).unwrap().item();
        assert!(old.fields.secondary.is_none());
        assert_eq!(old.amount_due(), Some(Cents::new(1000)));
    }

    #[test]
    fn id_session_is_a_uuid_shape_ending_in_the_time() {
        let now = Now::at("2026-11-30T03:15:00.123Z".parse().unwrap());
        let id = new_id_session(now).unwrap();
        let groups: Vec<&str> = id.split('-').collect();
        assert_eq!(groups.iter().map(|g| g.len()).collect::<Vec<_>>(), [8, 4, 4, 4, 12]);
        assert_eq!(u64::from_str_radix(groups[4], 16).unwrap(), 261130041500123);
    }
}
