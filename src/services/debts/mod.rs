//! Debt positions and the files about them: creating, changing and reading one debt (here), the
//! back office's search (`search`), debt flows in (`imports`), receipt and expired-debt exports out
//! (`exports`), and the data of printable notices and receipts (`documents`).
//!
//! A debt's rules are the import's (`domain::debt_row`), so a debt typed at the CLI is held to
//! exactly what a file row would be.
//! The `*_in`/`*_valid` functions work inside the caller's transaction, so a debt flow applies
//! a whole file in one (`flows::import`); the public ones wrap one change in its own transaction.
//!
//! Upstream mode: for an org mirrored to the Region ([`OrgScope::mirror`]) these three are where
//! every channel's change is queued for the Region (`services::upstream::outbox`), in the change's
//! own transaction, and an insert draws no IUV here: the Region assigns it (`flagGeneraIuv`). The
//! rows of a debt flow are not queued one by one: the flow goes up whole. A payment session's debt
//! is the Region's own (it makes it when the session starts there): never queued.

pub mod documents;
pub mod exports;
pub mod imports;
pub mod iuv;
pub mod options;
pub mod search;
pub mod timeline;

use jiff::civil::Date;

use crate::clock::Now;
use crate::domain::adhesion::Channel;
use crate::domain::debt_row::{self, DebtFields, DebtTypeRules, RowContext, RowError, ValidDebt};
use crate::domain::{
    ApplicationCode, Cents, Day, DebtEvent, DebtState, GeneratorId, Iuv, NoticeNumber, Party, PartyKind,
    SegregationCode, generate_iuv17,
};
use crate::services::ServiceError;
use crate::services::admin::adhesion;
use crate::store::debt_types::DebtTypeRecord;
use crate::store::debts::{self, DebtFilter, DebtRecord};
use crate::store::orgs::OrgRecord;
use crate::store::outbox::{self, ChangeAction};
use crate::store::{Db, StoreError, audit, debt_types, orgs};

/// Where a debt came from; stored with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Cli,
    Demo,
    /// A payment started at a PSP (paDemandPaymentNotice).
    Node,
    /// A row of an uploaded debt flow.
    Import,
    /// A citizen's spontaneous payment on the portal.
    Portal,
    /// An operator's form in the back office.
    Backoffice,
    /// The org's own systems: the REST API (and the SIL web services).
    Sil,
}

impl Source {
    /// Whether a debt from this channel is mirrored to the Region in upstream mode. A payment
    /// started at a PSP never happens there (the station is off); a citizen's "pay now" debt is
    /// made by the Region's own session and says so itself ([`add_debt_in`]'s `mirror`).
    fn mirrored(self) -> bool {
        !matches!(self, Source::Node)
    }

    fn code(self) -> &'static str {
        match self {
            Source::Cli => "cli",
            Source::Demo => "demo",
            Source::Node => "node",
            Source::Import => "import",
            Source::Portal => "portal",
            Source::Backoffice => "backoffice",
            Source::Sil => "sil",
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
    now: Now,
) -> Result<DebtRecord, ServiceError> {
    add_debt_as(db, actor, ipa, fields, source, now, false)
}

/// [`add_debt`], where `anonymous_debtor` lets the debtor be `ANONIMO` whatever the debt type says:
/// a payment started at a PSP has no known debtor.
pub(crate) fn add_debt_as(
    db: &Db,
    actor: &str,
    ipa: &str,
    fields: &DebtFields,
    source: Source,
    now: Now,
    anonymous_debtor: bool,
) -> Result<DebtRecord, ServiceError> {
    db.write(|tx| add_debt_in(tx, actor, ipa, fields, source, now, anonymous_debtor, true))
}

/// [`add_debt_as`] inside the caller's transaction, for a caller that writes more beside the debt
/// (upstream mode marks a debt the Region creates itself in the same transaction). `mirror` false:
/// the debt is never mirrored (the Region's own payment session creates it there).
#[allow(clippy::too_many_arguments, reason = "the one inner form of add_debt; callers name each flag")]
pub(crate) fn add_debt_in(
    tx: &crate::store::Conn,
    actor: &str,
    ipa: &str,
    fields: &DebtFields,
    source: Source,
    now: Now,
    anonymous_debtor: bool,
    mirror: bool,
) -> Result<DebtRecord, ServiceError> {
    let iso = now.iso();
    {
        let scope = OrgScope::load(tx, ipa)?;
        match source {
            Source::Cli | Source::Backoffice => adhesion::require_in(tx, &scope.org, Channel::DebtUpkeep)?,
            Source::Portal => adhesion::require_in(tx, &scope.org, Channel::Spontaneous)?,
            // The SIL and the REST API were checked when their caller was authenticated; an import
            // row when its flow was uploaded; the Node's and the demo's are mypay's own.
            Source::Sil | Source::Import | Source::Node | Source::Demo => {}
        }
        let scope = if mirror && source.mirrored() { scope } else { scope.without_mirror() };
        let debt_type = debt_types::find_debt_type(tx, scope.org.id, fields.debt_type.trim())?;
        let rules = debt_type.as_ref().map(|t| {
            let mut rules = rules_of(t);
            rules.allow_anonymous |= anonymous_debtor;
            rules
        });
        let ctx = insert_context(&scope, rules, now.today());
        let valid = debt_row::validate(fields, &ctx).map_err(ServiceError::Rejected)?;
        let Some(debt_type) = debt_type else {
            return Err(ServiceError::NotFound(format!("debt type {}", valid.debt_type)));
        };
        let iud = valid.iud.clone();
        let applied =
            insert_valid(tx, &scope, &debt_type, valid, source, None, &iso)?.map_err(ServiceError::Rejected)?;
        let object = format!("debt:{}/{iud}", scope.org.ipa_code);
        let after = serde_json::json!({ "iud": iud, "iuv": applied.iuv.as_ref().map(crate::domain::Iuv::as_str), "notice_number": applied.notice_number.as_ref().map(NoticeNumber::as_str),
            "debt_type": debt_type.code, "amount_cents": applied.amount_cents.get(), "due_date": applied.due_date.map(|day| day.to_string()) })
        .to_string();
        let entry = audit::AuditEntry {
            actor,
            org_id: Some(scope.org.id),
            action: "debt.add",
            object: Some(&object),
            outcome: "OK",
            after_json: Some(&after),
            ..Default::default()
        };
        audit::insert_audit(tx, &entry, &iso)?;
        debts::find_debt_by_iud(tx, scope.org.id, &iud)?
            .filter(|d| d.id == applied.id)
            .ok_or_else(|| ServiceError::NotFound(format!("debt {iud}")))
    }
}

/// What the debt changes of one transaction need to know about their org, read once: an import
/// applies thousands of rows with one scope.
#[derive(Debug, Clone)]
pub(crate) struct OrgScope {
    pub org: OrgRecord,
    pub segregation_code: SegregationCode,
    pub application_code: Option<ApplicationCode>,
    /// The org's IUV generator id, parsed once (`None`: the stored one is not valid, an error
    /// only when an IUV is generated).
    generator: Option<GeneratorId>,
    /// IUV17 counter values taken from the store and not used yet: (next, end exclusive).
    counters: std::cell::Cell<(u64, u64)>,
    /// How many counter values to take at once: 1 for a single debt; an import takes blocks, so
    /// a million generated IUVs cost a thousand counter updates instead of a million.
    counter_block: u64,
    /// Upstream mode: the org's debts are mirrored to the Region, which assigns their IUVs; each
    /// change is queued for it. False for a debt the Region makes itself ([`OrgScope::without_mirror`]).
    pub mirror: bool,
}

impl OrgScope {
    /// The org with this IPA code, its codes parsed.
    pub(crate) fn load(conn: &crate::store::Conn, ipa: &str) -> Result<OrgScope, ServiceError> {
        let org = orgs::find_org_by_ipa(conn, ipa)?.ok_or_else(|| ServiceError::NotFound(format!("org {ipa}")))?;
        let segregation_code = SegregationCode::parse(&org.segregation_code)
            .map_err(|err| ServiceError::Internal(format!("stored segregation code: {err}")))?;
        let application_code = org.application_code.as_deref().and_then(|c| ApplicationCode::parse(c).ok());
        let generator = GeneratorId::parse(&org.generator_id).ok();
        let (counters, counter_block) = (std::cell::Cell::new((0, 0)), 1);
        let mirror = crate::store::outbox::org_is_mirrored(conn, org.id)?;
        Ok(OrgScope { org, segregation_code, application_code, generator, counters, counter_block, mirror })
    }

    /// This scope for a debt that must not be mirrored (a payment session's, which the Region
    /// creates when the session starts there): its changes are local only, as without upstream mode.
    pub(crate) fn without_mirror(self) -> OrgScope {
        OrgScope { mirror: false, ..self }
    }

    /// Takes IUV counter values `block` at a time (for an import, inside its one transaction).
    pub(crate) fn with_counter_block(self, block: u64) -> OrgScope {
        OrgScope { counter_block: block.max(1), ..self }
    }

    /// Gives back the counter values reserved and not used, so a file leaves no gap; call it in
    /// the transaction that reserved them, before it commits.
    pub(crate) fn release_unused_counters(&self, tx: &crate::store::Conn) -> Result<(), ServiceError> {
        let (next, end) = self.counters.get();
        if next < end {
            debts::release_iuv_counters(tx, self.org.id, self.generator()?.as_str(), end - 1, next - 1)?;
            self.counters.set((0, 0));
        }
        Ok(())
    }

    /// Gives back `counter`, the value [`OrgScope::next_counter`] just returned, for a debt that was
    /// refused after all: the next debt gets it. A scope that takes one value at a time (a single
    /// debt, whose transaction may go on) returns it to the store at once.
    fn give_back_counter(&self, tx: &crate::store::Conn, counter: u64) -> Result<(), ServiceError> {
        let (next, end) = self.counters.get();
        if next == counter + 1 {
            self.counters.set((counter, end));
            if self.counter_block == 1 {
                self.release_unused_counters(tx)?;
            }
        }
        Ok(())
    }

    /// Takes the counter back to `first`, a value drawn in this transaction, with every value
    /// drawn after it: debts given IUVs in advance (an import's batch) that go in one by one after
    /// all draw them again, in the same order. Values are drawn consecutively within one
    /// transaction (a new block starts where the last one ended), so they stay reserved.
    pub(crate) fn rewind_counters(&self, first: u64) {
        let (next, end) = self.counters.get();
        if first < next {
            self.counters.set((first, end));
        }
    }

    /// The org's IUV generator id.
    fn generator(&self) -> Result<GeneratorId, ServiceError> {
        self.generator.ok_or_else(|| {
            ServiceError::Internal(format!("stored generator id: {:?} is not two digits", self.org.generator_id))
        })
    }

    /// The next IUV17 counter value of this org's generator.
    fn next_counter(&self, tx: &crate::store::Conn, generator: &str) -> Result<u64, ServiceError> {
        let (next, end) = self.counters.get();
        if next < end {
            self.counters.set((next + 1, end));
            return Ok(next);
        }
        let first = debts::reserve_iuv_counters(tx, self.org.id, generator, self.counter_block)?;
        self.counters.set((first + 1, first + self.counter_block));
        Ok(first)
    }
}

/// The checks of a single debt inserted outside a file (CLI, portal, SIL): causale up to 1024,
/// due date only when the debt type wants one.
pub(crate) fn insert_context(scope: &OrgScope, rules: Option<DebtTypeRules>, today: Date) -> RowContext {
    RowContext {
        debt_type: rules,
        segregation_code: scope.segregation_code,
        today,
        causale_max: 1024,
        due_date_always_required: false,
        is_insert: true,
        current_iuv: None,
    }
}

/// The debt type's flags, as the row checks take them.
pub(crate) fn rules_of(t: &DebtTypeRecord) -> DebtTypeRules {
    DebtTypeRules { active: t.active, allow_anonymous: t.allow_anonymous, due_date_mandatory: t.due_date_mandatory }
}

/// What a debt change left in the store, for result files and audit entries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Applied {
    pub id: i64,
    pub iuv: Option<Iuv>,
    pub notice_number: Option<NoticeNumber>,
    pub amount_cents: Cents,
    pub due_date: Option<Day>,
}

fn rejected(code: &'static str, description: &str) -> Vec<RowError> {
    vec![RowError { code, description: description.to_owned() }]
}

/// MyPay's answer to `M`/`A` on an IUD that is not live or no longer changeable (mypay.md §2.5).
const NOT_PRESENT: &str = "Dovuto non presente o in pagamento";

/// Why a row cannot change a position with several payment options.
const WITH_OPTIONS: &str = "Dovuto con più opzioni di pagamento (rate o importo ridotto): non modificabile da una riga";

/// Action `I` inside the caller's transaction: the IUD and IUV must not be live in the org; with
/// `generate_iuv` and no IUV, an IUV17 is drawn from the org's counter. `Ok(Err(_))` is a
/// rejection of this debt only; `Err(_)` fails the whole transaction.
pub(crate) fn insert_valid(
    tx: &crate::store::Conn,
    scope: &OrgScope,
    debt_type: &DebtTypeRecord,
    valid: ValidDebt,
    source: Source,
    import_id: Option<i64>,
    now: &str,
) -> Result<Result<Applied, Vec<RowError>>, ServiceError> {
    insert_valid_with(&mut debts::DebtInserter::new(tx)?, scope, debt_type, &valid, source, import_id, now)
}

/// [`insert_valid`] with statements the caller holds across many debts (an import), binding the
/// validated row as it is.
///
/// The insert comes first and the unique indexes refuse a live IUD or IUV; only then does a
/// lookup say which was live (a row of a large import is almost never refused, and asking first
/// cost two index lookups a row). A counter value drawn for a refused row is given back, so
/// refused rows leave no gap in the generated IUVs.
pub(crate) fn insert_valid_with(
    inserter: &mut debts::DebtInserter<'_>,
    scope: &OrgScope,
    debt_type: &DebtTypeRecord,
    valid: &ValidDebt,
    source: Source,
    import_id: Option<i64>,
    now: &str,
) -> Result<Result<Applied, Vec<RowError>>, ServiceError> {
    let (iuv, notice_number, drawn) = identifiers_of(inserter.conn(), scope, valid)?;
    let record = new_debt(scope, debt_type, valid, iuv.as_ref(), notice_number.as_ref(), source, import_id);
    let id = match inserter.insert_new(&record, now) {
        Ok(id) => id,
        Err(err @ StoreError::Duplicate(_)) => {
            let duplicates = live_duplicates(inserter, scope.org.id, valid)?;
            if duplicates.is_empty() {
                // Not the IUD or IUV given: a generated IUV already live, a fault of the system.
                return Err(err.into());
            }
            if let Some(counter) = drawn {
                scope.give_back_counter(inserter.conn(), counter)?;
            }
            return Ok(Err(duplicates));
        }
        Err(err) => return Err(err.into()),
    };
    mirror(inserter.conn(), scope, ChangeAction::Insert, id, import_id, now)?;
    Ok(Ok(Applied { id, iuv, notice_number, amount_cents: valid.amount, due_date: valid.due_date.map(Day::from) }))
}

/// A new debt's IUV and notice number, and the counter value drawn when the IUV was generated.
pub(crate) type Identifiers = (Option<Iuv>, Option<NoticeNumber>, Option<u64>);

/// The IUV and notice number a new debt gets: as given, or generated (with the counter value
/// drawn, which [`OrgScope::rewind_counters`] can give back). A mirrored org's debt draws none:
/// the Region assigns it, and the outbox stores it once it answers.
pub(crate) fn identifiers_of(
    tx: &crate::store::Conn,
    scope: &OrgScope,
    valid: &ValidDebt,
) -> Result<Identifiers, ServiceError> {
    Ok(match &valid.iuv {
        Some(iuv) => (Some(iuv.clone()), iuv.notice_number(scope.application_code), None),
        None if valid.generate_iuv && !scope.mirror => {
            let (iuv, notice, counter) = generate(tx, scope)?;
            (Some(iuv), Some(notice), Some(counter))
        }
        None => (None, None, None),
    })
}

/// The insert of a validated row, bound as it is (its identifiers as given or generated).
pub(crate) fn new_debt<'a>(
    scope: &OrgScope,
    debt_type: &DebtTypeRecord,
    valid: &'a ValidDebt,
    iuv: Option<&'a Iuv>,
    notice_number: Option<&'a NoticeNumber>,
    source: Source,
    import_id: Option<i64>,
) -> debts::NewDebt<'a> {
    let mb = valid.secondary.as_ref();
    debts::NewDebt {
        org_id: scope.org.id,
        debt_type_id: debt_type.id,
        iud: &valid.iud,
        iuv: iuv.map(Iuv::as_str),
        notice_number: notice_number.map(NoticeNumber::as_str),
        state: DebtState::Inserted,
        debtor: debts::PartyRef {
            kind: valid.debtor_kind.code_str(),
            id: valid.debtor.as_str(),
            name: &valid.debtor_name,
            address: valid.debtor_address.as_deref(),
            civic_number: valid.debtor_civic_number.as_deref(),
            postal_code: valid.debtor_postal_code.as_deref(),
            city: valid.debtor_city.as_deref(),
            province: valid.debtor_province.as_deref(),
            country: valid.debtor_country.as_deref(),
            email: valid.debtor_email.as_deref(),
        },
        due_date: valid.due_date.map(Day::from),
        amount_cents: valid.amount,
        fee_cents: valid.fee,
        payment_kinds: &valid.payment_kinds,
        causale: &valid.causale,
        collection_data: valid.collection_data.as_str(),
        bilancio: valid.bilancio.as_deref(),
        generate_iuv: valid.generate_iuv,
        beneficiary: mb.map(|m| debts::PartyRef {
            kind: PartyKind::Legal.code_str(),
            id: m.fiscal_code.as_str(),
            name: &m.name,
            address: m.address.as_deref(),
            civic_number: m.civic_number.as_deref(),
            postal_code: m.postal_code.as_deref(),
            city: m.city.as_deref(),
            province: m.province.as_deref(),
            country: m.country.as_deref(),
            email: None,
        }),
        mb_iban: mb.map(|m| m.iban.as_str()),
        mb_collection_data: mb.and_then(|m| m.collection_data.as_ref().map(|c| c.as_str())),
        mb_causale: mb.and_then(|m| m.causale.as_deref()),
        mb_amount_cents: mb.map(|m| m.amount),
        source: source.code(),
        stamp_document_hash: valid.stamp.as_ref().map(|(hash, _)| hash.as_str()),
        stamp_province: valid.stamp.as_ref().map(|(_, province)| province.as_str()),
        import_id,
    }
}

/// Why an insert was refused: which of the row's identifiers are live in the org, as MyPay's
/// errors in its order (IUD first).
fn live_duplicates(
    inserter: &mut debts::DebtInserter<'_>,
    org_id: i64,
    valid: &ValidDebt,
) -> Result<Vec<RowError>, ServiceError> {
    let mut duplicates = Vec::new();
    let (iud_live, iuv_live) = inserter.live_identifiers(org_id, &valid.iud, valid.iuv.as_ref().map(|v| v.as_str()))?;
    if iud_live {
        duplicates.push(RowError {
            code: "PAA_IMPORT_IUD_DUPLICATO",
            description: "IUD attivo presente nel database".to_owned(),
        });
    }
    if iuv_live {
        duplicates.push(RowError {
            code: "PAA_IMPORT_IUV_DUPLICATO",
            description: "IUV attivo presente nel database".to_owned(),
        });
    }
    Ok(duplicates)
}

/// Action `M` inside the caller's transaction: every field of the live debt with this IUD is
/// replaced, unless a payment is under way; the debt type never changes and an IUV, once given,
/// neither changes nor disappears (mypay.md §2.5).
pub(crate) fn modify_valid(
    tx: &crate::store::Conn,
    scope: &OrgScope,
    debt_type: &DebtTypeRecord,
    valid: ValidDebt,
    import_id: Option<i64>,
    now: &str,
) -> Result<Result<Applied, Vec<RowError>>, ServiceError> {
    let org_id = scope.org.id;
    let Some(current) = debts::find_debt_by_iud(tx, org_id, &valid.iud)? else {
        return Ok(Err(rejected("PAA_IMPORT_DOVUTO_NON_PRESENTE", NOT_PRESENT)));
    };
    let Ok(next) = current.state.apply(DebtEvent::Modify) else {
        return Ok(Err(rejected("PAA_IMPORT_DOVUTO_NON_PRESENTE", NOT_PRESENT)));
    };
    // A row (a 1_x flow, the SIL, the API's PUT) describes one option: it cannot say what becomes
    // of a position's instalments or reduced amount, so such a position is not changed by one.
    if !crate::store::debt_options::list_options(tx, current.id)?.is_empty() {
        return Ok(Err(rejected("PAA_IMPORT_DOVUTO_NON_PRESENTE", WITH_OPTIONS)));
    }
    if current.debt_type_id != debt_type.id {
        return Ok(Err(rejected(
            "PAA_IMPORT_TIPO_DOVUTO_NON_MODIFICABILE",
            &format!("il tipo dovuto {} non può essere modificato", current.debt_type_code),
        )));
    }
    let (iuv, notice_number) = match (&current.iuv, &valid.iuv) {
        (Some(old), Some(given)) if old == given => (current.iuv.clone(), current.notice_number.clone()),
        (Some(_), None) if valid.generate_iuv => (current.iuv.clone(), current.notice_number.clone()),
        (Some(old), _) => {
            return Ok(Err(rejected(
                "PAA_IMPORT_IUV_NO_NULLABLE",
                &format!("lo IUV {old} del dovuto non può essere modificato né cancellato"),
            )));
        }
        (None, Some(given)) => {
            if debts::identifier_is_live(tx, org_id, debts::IdKind::Iuv, given.as_str())? {
                return Ok(Err(rejected("PAA_IMPORT_IUV_DUPLICATO", "IUV attivo presente nel database")));
            }
            let notice = given.notice_number(scope.application_code);
            (Some(given.clone()), notice)
        }
        (None, None) if valid.generate_iuv && !scope.mirror => {
            let (iuv, notice, _) = generate(tx, scope)?;
            (Some(iuv), Some(notice))
        }
        (None, None) => (None, None),
    };
    let mut record = record_of(scope, debt_type, valid, import_id);
    // A debt keeps the channel that created it, whichever channel modifies it.
    record.source = current.source.clone();
    record.id = current.id;
    record.iuv = iuv;
    record.notice_number = notice_number;
    record.state = next;
    debts::update_debt_fields(tx, &record, now)?;
    if scope.mirror && import_id.is_none() && outbox::debt_is_mirrored(tx, current.id, current.import_id)? {
        mirror(tx, scope, ChangeAction::Modify, current.id, import_id, now)?;
    }
    Ok(Ok(Applied {
        id: current.id,
        iuv: record.iuv,
        notice_number: record.notice_number,
        amount_cents: record.amount_cents,
        due_date: record.due_date,
    }))
}

/// Action `A` inside the caller's transaction: the live debt with this IUD is annulled and its IUD
/// and IUV become free for reuse.
pub(crate) fn annul_in(
    tx: &crate::store::Conn,
    scope: &OrgScope,
    iud: &str,
    import_id: Option<i64>,
    now: &str,
) -> Result<Result<(DebtRecord, DebtState), Vec<RowError>>, ServiceError> {
    let Some(debt) = debts::find_debt_by_iud(tx, scope.org.id, iud)? else {
        return Ok(Err(rejected("PAA_IMPORT_DOVUTO_NON_PRESENTE", NOT_PRESENT)));
    };
    let Ok(next) = debt.state.apply(DebtEvent::Annul) else {
        return Ok(Err(rejected("PAA_IMPORT_DOVUTO_NON_PRESENTE", NOT_PRESENT)));
    };
    // A position partly paid (an instalment) is in payment: it can no longer be annulled.
    let options = crate::store::debt_options::list_options(tx, debt.id)?;
    if options.iter().any(|o| o.state == crate::domain::payment_options::OptionState::Paid) {
        return Ok(Err(rejected("PAA_IMPORT_DOVUTO_NON_PRESENTE", NOT_PRESENT)));
    }
    debts::update_debt_state(tx, debt.id, next, now)?;
    if let Some(import_id) = import_id {
        debts::update_debt_import(tx, debt.id, import_id)?;
    }
    debts::release_identifiers(tx, &debt)?;
    if scope.mirror && import_id.is_none() && outbox::debt_is_mirrored(tx, debt.id, debt.import_id)? {
        mirror(tx, scope, ChangeAction::Annul, debt.id, import_id, now)?;
    }
    Ok(Ok((debt, next)))
}

/// Queues a change of debt `debt_id` for the Region, in the change's transaction, when its org is
/// mirrored and the change is not a row of a debt flow (the flow goes up whole). An `M` or `A` is
/// queued only for a debt the Region has or will have from us (its `I` or its flow was queued): a
/// payment session's debt, or one made before the org was mirrored, stays local.
fn mirror(
    tx: &crate::store::Conn,
    scope: &OrgScope,
    action: ChangeAction,
    debt_id: i64,
    import_id: Option<i64>,
    now: &str,
) -> Result<(), ServiceError> {
    if scope.mirror && import_id.is_none() {
        crate::services::upstream::outbox::enqueue(tx, scope.org.id, action, debt_id, now)?;
    }
    Ok(())
}

/// A new IUV17 and its notice number from the org's durable counter, and the counter value used.
pub(crate) fn generate(tx: &crate::store::Conn, scope: &OrgScope) -> Result<(Iuv, NoticeNumber, u64), ServiceError> {
    let generator = scope.generator()?;
    let counter = scope.next_counter(tx, generator.as_str())?;
    let (iuv, notice) = generate_iuv17(scope.segregation_code, generator, counter)
        .map_err(|err| ServiceError::Conflict(format!("cannot generate an IUV: {err}")))?;
    Ok((iuv, notice, counter))
}

/// The stored form of a validated debt (identifiers, state and source are the caller's).
fn record_of(scope: &OrgScope, debt_type: &DebtTypeRecord, valid: ValidDebt, import_id: Option<i64>) -> DebtRecord {
    let mb = valid.secondary;
    DebtRecord {
        org_id: scope.org.id,
        debt_type_id: debt_type.id,
        debt_type_code: debt_type.code.clone(),
        iud: valid.iud,
        debtor: Party {
            kind: valid.debtor_kind.code().to_string(),
            id: valid.debtor.as_str().to_owned(),
            name: valid.debtor_name,
            address: valid.debtor_address,
            civic_number: valid.debtor_civic_number,
            postal_code: valid.debtor_postal_code,
            city: valid.debtor_city,
            province: valid.debtor_province,
            country: valid.debtor_country,
            email: valid.debtor_email,
        },
        due_date: valid.due_date.map(Day::from),
        amount_cents: valid.amount,
        fee_cents: valid.fee,
        payment_kinds: valid.payment_kinds,
        causale: valid.causale,
        collection_data: valid.collection_data.as_str().to_owned(),
        bilancio: valid.bilancio,
        generate_iuv: valid.generate_iuv,
        stamp_document_hash: valid.stamp.as_ref().map(|(hash, _)| hash.clone()),
        stamp_province: valid.stamp.as_ref().map(|(_, province)| province.clone()),
        beneficiary: mb.as_ref().map(|m| Party {
            kind: PartyKind::Legal.code().to_string(),
            id: m.fiscal_code.as_str().to_owned(),
            name: m.name.clone(),
            address: m.address.clone(),
            civic_number: m.civic_number.clone(),
            postal_code: m.postal_code.clone(),
            city: m.city.clone(),
            province: m.province.clone(),
            country: m.country.clone(),
            email: None,
        }),
        mb_iban: mb.as_ref().map(|m| m.iban.as_str().to_owned()),
        mb_collection_data: mb.as_ref().and_then(|m| m.collection_data.as_ref().map(|c| c.as_str().to_owned())),
        mb_causale: mb.as_ref().and_then(|m| m.causale.clone()),
        mb_amount_cents: mb.as_ref().map(|m| m.amount),
        import_id,
        ..DebtRecord::default()
    }
}

/// Annuls the live debt with this IUD (action `A`): it can no longer be paid, and its IUD and IUV
/// become free for reuse. An operator's or an org system's upkeep: its adhesion mode must admit it.
pub fn annul_debt(db: &Db, actor: &str, ipa: &str, iud: &str, now: Now) -> Result<DebtRecord, ServiceError> {
    annul_as(db, actor, ipa, iud, now, true)
}

/// [`annul_debt`] of a debt mypay itself made and gives up (a cart the Region never took), which
/// no adhesion mode restricts.
pub(crate) fn annul_own_debt(db: &Db, actor: &str, ipa: &str, iud: &str, now: Now) -> Result<DebtRecord, ServiceError> {
    annul_as(db, actor, ipa, iud, now, false)
}

fn annul_as(db: &Db, actor: &str, ipa: &str, iud: &str, now: Now, upkeep: bool) -> Result<DebtRecord, ServiceError> {
    let iso = now.iso();
    db.write(|tx| {
        let scope = OrgScope::load(tx, ipa)?;
        if upkeep {
            adhesion::require_in(tx, &scope.org, Channel::DebtUpkeep)?;
        }
        let (debt, next) = match annul_in(tx, &scope, iud, None, &iso)? {
            Ok(done) => done,
            Err(errors) => {
                // A debt that exists but cannot be annulled is a conflict, not a missing row.
                if let Some(debt) = debts::find_debt_by_iud(tx, scope.org.id, iud)? {
                    return Err(ServiceError::Conflict(format!(
                        "debt {} in state {} cannot be annulled",
                        debt.iud,
                        debt.state.code()
                    )));
                }
                return Err(ServiceError::Rejected(errors));
            }
        };
        let object = format!("debt:{}/{}", scope.org.ipa_code, debt.iud);
        let entry = audit::AuditEntry {
            actor,
            org_id: Some(scope.org.id),
            action: "debt.annul",
            object: Some(&object),
            outcome: "OK",
            before_json: Some(&format!("{{\"state\":\"{}\"}}", debt.state.code())),
            after_json: Some(&format!("{{\"state\":\"{}\"}}", next.code())),
            ..Default::default()
        };
        audit::insert_audit(tx, &entry, &iso)?;
        Ok(DebtRecord { state: next, ..debt })
    })
}

/// Replaces every field of the live debt with this IUD (action `M`), with the import's rules: not
/// while a payment is under way, never its debt type, never an IUV it already has.
pub fn modify_debt(db: &Db, actor: &str, ipa: &str, fields: &DebtFields, now: Now) -> Result<DebtRecord, ServiceError> {
    let iso = now.iso();
    db.write(|tx| {
        let scope = OrgScope::load(tx, ipa)?;
        adhesion::require_in(tx, &scope.org, Channel::DebtUpkeep)?;
        let iud = fields.iud.trim();
        let Some(before) = debts::find_debt_by_iud(tx, scope.org.id, iud)? else {
            return Err(ServiceError::NotFound(format!("debt {iud} in org {}", scope.org.ipa_code)));
        };
        let debt_type = debt_types::find_debt_type(tx, scope.org.id, fields.debt_type.trim())?;
        let ctx = RowContext {
            debt_type: debt_type.as_ref().map(rules_of),
            segregation_code: scope.segregation_code,
            today: now.today(),
            causale_max: 1024,
            due_date_always_required: false,
            is_insert: false,
            current_iuv: before.iuv.as_ref().map(|i| i.as_str().to_owned()),
        };
        let valid = debt_row::validate(fields, &ctx).map_err(ServiceError::Rejected)?;
        let Some(debt_type) = debt_type else {
            return Err(ServiceError::NotFound(format!("debt type {}", valid.debt_type)));
        };
        modify_valid(tx, &scope, &debt_type, valid, None, &iso)?.map_err(ServiceError::Rejected)?;
        let after = debts::find_debt_by_iud(tx, scope.org.id, iud)?
            .ok_or_else(|| ServiceError::NotFound(format!("debt {iud}")))?;
        let summary = |d: &DebtRecord| {
            serde_json::json!({ "iud": d.iud, "iuv": d.iuv.as_ref().map(crate::domain::Iuv::as_str), "state": d.state.code(), "debtor_id": d.debtor.id,
                "debtor_name": d.debtor.name, "amount_cents": d.amount_cents.get(), "due_date": d.due_date.map(|day| day.to_string()),
                "causale": d.causale, "debtor_email": d.debtor.email })
            .to_string()
        };
        let object = format!("debt:{}/{iud}", scope.org.ipa_code);
        let entry = audit::AuditEntry {
            actor,
            org_id: Some(scope.org.id),
            action: "debt.modify",
            object: Some(&object),
            outcome: "OK",
            before_json: Some(&summary(&before)),
            after_json: Some(&summary(&after)),
            ..Default::default()
        };
        audit::insert_audit(tx, &entry, &iso)?;
        Ok(after)
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
        // An IUV or notice number may be one of a position's other payment options.
        let found = match (found, key) {
            (None, DebtKey::Iuv(iuv)) => position_of_option(conn, org.id, iuv.trim())?,
            (None, DebtKey::NoticeNumber(text)) => match crate::domain::NoticeNumber::parse(text.trim()) {
                Ok(notice) => position_of_option(conn, org.id, notice.iuv().as_str())?,
                Err(_) => None,
            },
            (found, _) => found,
        };
        found.ok_or_else(|| ServiceError::NotFound(format!("debt {key:?} in org {}", org.ipa_code)))
    })
}

/// The live debt one of whose live payment options has this IUV.
fn position_of_option(conn: &crate::store::Conn, org_id: i64, iuv: &str) -> Result<Option<DebtRecord>, ServiceError> {
    let Some(option) = crate::store::debt_options::find_any_option_by_iuv(conn, org_id, iuv)? else {
        return Ok(None);
    };
    Ok(debts::find_debt_by_id(conn, option.debt_id)?.filter(|d| d.org_id == org_id && d.state != DebtState::Annulled))
}

/// The debt state a person typed as a filter: its exact code.
pub fn parse_state(code: &str) -> Result<DebtState, ServiceError> {
    DebtState::from_code(code).ok_or_else(|| ServiceError::invalid("state", format!("{code:?} is not a debt state")))
}

/// Debts of org `ipa`, newest first.
pub fn list_debts(db: &Db, ipa: &str, filter: &DebtFilter) -> Result<Vec<DebtRecord>, ServiceError> {
    db.read(|conn| {
        let org = orgs::find_org_by_ipa(conn, ipa)?.ok_or_else(|| ServiceError::NotFound(format!("org {ipa}")))?;
        Ok(debts::list_debts(conn, org.id, filter)?)
    })
}

/// The successful receipts of a debt (more than one is a double payment).
pub fn receipts_of_debt(db: &Db, debt_id: i64) -> Result<Vec<crate::store::receipts::ReceiptRecord>, ServiceError> {
    Ok(db.read(|c| crate::store::receipts::list_ok_receipts_for_debt(c, debt_id))?)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]
    use super::*;

    fn contribution(iud: &str, amount: &str) -> DebtFields {
        DebtFields {
            iud: iud.to_owned(),
            debtor_kind: "F".to_owned(),
            debtor_id: "RSSMRA85T10A562S".to_owned(),
            debtor_name: "Mario Rossi".to_owned(),
            amount: amount.to_owned(),
            debt_type: "CONTRIBUTO_EVENTI".to_owned(),
            causale: format!("Contributo {iud}"),
            collection_data: "9/0101108TS/".to_owned(),
            generate_iuv: true,
            ..DebtFields::default()
        }
    }

    #[test]
    fn a_modified_debt_keeps_the_source_that_created_it() {
        let dir = tempfile::tempdir().unwrap();
        let (db, _) = Db::open(&dir.path().join("mypay.db")).unwrap();
        let now = Now::at("2026-11-30T10:00:00Z".parse().unwrap());
        let today = now.today();
        crate::services::demo::seed(&db, now).unwrap();
        let ipa = crate::services::demo::DEMO_IPA;
        for (source, code) in [(Source::Sil, "sil"), (Source::Cli, "cli"), (Source::Import, "import")] {
            let iud = format!("SRC-{code}");
            add_debt(&db, "test", ipa, &contribution(&iud, "10.00"), source, now).unwrap();
            let after = modify_debt(&db, "test", ipa, &contribution(&iud, "12.00"), now).unwrap();
            assert_eq!((after.source.as_str(), after.amount_cents), (code, Cents::new(1200)));
            // What modify_valid builds for the store carries the stored source, not a made-up one.
            let applied = db
                .write(|tx| {
                    let scope = OrgScope::load(tx, ipa)?;
                    let t = debt_types::find_debt_type(tx, scope.org.id, "CONTRIBUTO_EVENTI")?.unwrap();
                    let ctx = RowContext { is_insert: false, ..insert_context(&scope, Some(rules_of(&t)), today) };
                    let valid = debt_row::validate(&contribution(&iud, "13.00"), &ctx).unwrap();
                    let applied = modify_valid(tx, &scope, &t, valid, None, "t3")?.unwrap();
                    Ok::<_, ServiceError>(debts::find_debt_by_id(tx, applied.id)?.unwrap())
                })
                .unwrap();
            assert_eq!((applied.source.as_str(), applied.amount_cents), (code, Cents::new(1300)));
        }
    }
}
