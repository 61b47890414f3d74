//! The data of printable documents: the payment notice (avviso pagoPA) of a debt and the receipt
//! (quietanza) of a payment, loaded from the store and checked, as typed views that
//! `crate::pdf` renders.
//!
//! Owns: which records a document shows and the rules of what appears on it (the due date only when
//! the debt type prints it, the Poste bollettino only with a postal account and the Poste
//! authorization, the QR and Data Matrix strings).
//! Must never: format for a surface (dates, amounts and codes stay typed; `crate::pdf` formats).
//! Implements: `shared/reference/pagopa.md` §3, `shared/reference/mypay.md` §1.8.

use crate::clock::Now;
use crate::domain::notice_codes::{self, PosteParty};
use crate::domain::{Day, NoticeNumber, OrgFiscalCode};
use crate::services::ServiceError;
use crate::services::debts::options::{self, OptionView, ViewKind, ViewState};
use crate::store::debt_options;
use crate::store::debt_types::{self, DebtTypeRecord};
use crate::store::debts::{self, DebtRecord};
use crate::store::orgs::{self, LogoRecord, OrgRecord};
use crate::store::receipts::{self, ReceiptRecord};
use crate::store::{Conn, Db};

pub use crate::pdf::input::{
    LogoView, NoticeOrgView, NoticeView, OptionKind as PrintedKind, PartyView, PaymentOptionView, PostalView,
    ReceiptView, SecondLanguage, TransferView,
};

/// How to find the debt of a notice.
#[derive(Debug, Clone)]
pub enum NoticeKey {
    /// The 18-digit notice number (spaces allowed).
    NoticeNumber(String),
    Iud(String),
}

/// The notice of org `ipa`'s debt with this key (the notice number of any of its payment options
/// finds the position), with the options that can be chosen `now` (see [`printed_options`]).
pub fn notice_view(db: &Db, ipa: &str, key: &NoticeKey, now: Now) -> Result<NoticeView, ServiceError> {
    db.read(|conn| {
        let org = find_org(conn, ipa)?;
        let debt = match key {
            NoticeKey::NoticeNumber(text) => {
                let notice =
                    NoticeNumber::parse_loose(text).map_err(|err| ServiceError::invalid("nav", err.to_string()))?;
                match debts::find_debt_by_iuv(conn, org.id, notice.iuv().as_str())?
                    .filter(|d| d.notice_number.as_ref() == Some(&notice))
                {
                    Some(debt) => Some(debt),
                    None => match debt_options::find_any_option_by_iuv(conn, org.id, notice.iuv().as_str())?
                        .filter(|o| o.notice_number == notice)
                    {
                        Some(option) => debts::find_debt_by_id(conn, option.debt_id)?,
                        None => None,
                    },
                }
            }
            NoticeKey::Iud(iud) => debts::find_debt_by_iud(conn, org.id, iud)?,
        }
        .ok_or_else(|| ServiceError::NotFound(format!("notice {key:?} in org {}", org.ipa_code)))?;
        notice_view_in(conn, &org, &debt, now.today())
    })
}

/// The notice of org `ipa`'s debt with this notice number, alone in a ZIP (`avviso_<IUV>.pdf`), as
/// the SIL's `paaSILImportaDovuto` with action `S` returns it.
pub fn notice_zip(db: &Db, ipa: &str, notice: &str, now: Now) -> Result<Vec<u8>, ServiceError> {
    let view = notice_view(db, ipa, &NoticeKey::NoticeNumber(notice.to_owned()), now)?;
    let mut zip = std::io::Cursor::new(Vec::new());
    crate::pdf::write_notices_zip(&mut zip, std::iter::once(Ok::<_, ServiceError>(view)))
        .map_err(|err| ServiceError::Internal(format!("notice ZIP: {err}")))?;
    Ok(zip.into_inner())
}

fn find_org(conn: &Conn, ipa: &str) -> Result<OrgRecord, ServiceError> {
    orgs::find_org_by_ipa(conn, ipa)?.ok_or_else(|| ServiceError::NotFound(format!("org {ipa}")))
}

fn notice_view_in(
    conn: &Conn,
    org: &OrgRecord,
    debt: &DebtRecord,
    today: jiff::civil::Date,
) -> Result<NoticeView, ServiceError> {
    let debt_type = debt_types::find_debt_type_by_id(conn, org.id, debt.debt_type_id)?
        .ok_or_else(|| ServiceError::NotFound(format!("debt type of debt {}", debt.iud)))?;
    let logo = orgs::find_org_logo(conn, org.id)?;
    let rows = debt_options::list_options(conn, debt.id)?;
    let views = options::views(debt, &rows, debt_type.due_date_mandatory, today);
    build_notice_with_options(org, logo, &debt_type, debt, &views)
}

/// Builds the notice of `debt` from its records: the rules of what a notice shows, without the
/// store (the benchmark and the bulk export call it directly). The debt's own option only.
pub fn build_notice(
    org: &OrgRecord,
    logo: Option<LogoRecord>,
    debt_type: &DebtTypeRecord,
    debt: &DebtRecord,
) -> Result<NoticeView, ServiceError> {
    build_notice_with_options(org, logo, debt_type, debt, &[])
}

/// The options a notice prints, with the kind each prints as, of a position's `options` (as
/// [`options::options_of`] reads them). Left out: the alternatives that can no longer be chosen,
/// the single option once an instalment is paid (BR-12 closed it) and the reduced amount once
/// closed or past its last day (its QR code would only be refused). Instalments print paid or not,
/// so that "Rata k di N" keep the plan's numbers the citizen already knows (the Node refuses a
/// second payment of a paid one). A reduced amount makes the single option the fine's full amount.
/// A lone single option is the one-option notice: an empty list.
pub fn printed_options(options: &[OptionView]) -> Vec<(PrintedKind, &OptionView)> {
    let kept: Vec<&OptionView> = options
        .iter()
        .filter(|o| match o.kind {
            ViewKind::Single => o.state != ViewState::Closed,
            ViewKind::Reduced => matches!(o.state, ViewState::Open | ViewState::Paid),
            ViewKind::Instalment => true,
        })
        .collect();
    let fine = kept.iter().any(|o| o.kind == ViewKind::Reduced);
    if kept.len() == 1 && kept.iter().all(|o| o.kind == ViewKind::Single) {
        return Vec::new();
    }
    kept.into_iter()
        .map(|o| {
            let kind = match o.kind {
                ViewKind::Single if fine => PrintedKind::Full,
                ViewKind::Single => PrintedKind::Single,
                ViewKind::Instalment => PrintedKind::Instalment,
                ViewKind::Reduced => PrintedKind::Reduced,
            };
            (kind, o)
        })
        .collect()
}

/// [`build_notice`] with the position's payment options (see [`printed_options`]): the notice's
/// own number, amount and codes are then the debt's own option's, or the first instalment's for a
/// plan of instalments only.
pub fn build_notice_with_options(
    org: &OrgRecord,
    logo: Option<LogoRecord>,
    debt_type: &DebtTypeRecord,
    debt: &DebtRecord,
    options: &[OptionView],
) -> Result<NoticeView, ServiceError> {
    if debt_type.disable_notice_print {
        return Err(ServiceError::Conflict(format!("notice printing is disabled for debt type {}", debt_type.code)));
    }
    if debt.state.is_final() {
        return Err(ServiceError::Conflict(format!(
            "debt {} is {}: it has no notice to pay",
            debt.iud,
            debt.state.code()
        )));
    }
    let printed = printed_options(options);
    let org_code = OrgFiscalCode::parse(&org.fiscal_code).map_err(|err| ServiceError::Internal(err.to_string()))?;
    // The notice's own option: the debt's, else (instalments only) the first printed one.
    let first = printed.iter().find_map(|(_, o)| o.notice_number.clone().map(|nav| (nav, o.amount, o.due_date)));
    let (notice_number, amount, due, iuv) = match (&debt.notice_number, first) {
        (Some(own), _) => (
            own.clone(),
            debt.amount_cents,
            debt.due_date,
            debt.iuv.as_ref().map(|i| i.as_str().to_owned()).unwrap_or_default(),
        ),
        (None, Some((nav, amount, due))) => {
            let iuv = nav.iuv().as_str().to_owned();
            (nav, amount, due, iuv)
        }
        (None, None) => {
            return Err(ServiceError::Conflict(format!("debt {} has no notice number", debt.iud)));
        }
    };
    let qr_payload = notice_codes::qr_payload(&notice_number, &org_code, amount)
        .map_err(|err| ServiceError::invalid("amount", err.to_string()))?;
    let print_due = |day: Option<Day>| if debt_type.print_due_date { day.map(Day::date) } else { None };
    let due_date = print_due(due);
    let debtor_id = (!debt.debtor.id.eq_ignore_ascii_case("ANONIMO")).then(|| debt.debtor.id.clone());
    let postal = postal_view(org, debt_type, debt, &notice_number, &org_code);
    let party = PosteParty { debtor_id: &debt.debtor.id, debtor_name: &debt.debtor.name, subject: &debt.causale };
    let mut option_views = Vec::with_capacity(printed.len());
    for (kind, o) in &printed {
        let Some(nav) = o.notice_number.clone() else { continue };
        // A reduced amount's last day always prints: it is what makes the option.
        let day = if *kind == PrintedKind::Reduced { o.due_date.map(Day::date) } else { print_due(o.due_date) };
        let account = postal.as_ref().map(|p| (p.account.as_str(), party));
        let view = PaymentOptionView::new(*kind, o.amount, day, nav, &org_code, account)
            .map_err(|err| ServiceError::invalid("amount", err.to_string()))?;
        option_views.push(view);
    }
    Ok(NoticeView {
        language: org.notice_language.as_deref().and_then(SecondLanguage::from_code),
        org: NoticeOrgView {
            name: org.name.clone(),
            fiscal_code: org.fiscal_code.clone(),
            sector: debt_type.sector.clone(),
            contacts: org_contacts(org),
            cbill_code: org.cbill_code.clone(),
            logo: logo.map(|l| LogoView { bytes: l.bytes, mime: l.mime }),
        },
        debtor_name: debt.debtor.name.clone(),
        debtor_id,
        debtor_address: debtor_address(debt),
        subject: debt.causale.clone(),
        amount,
        due_date,
        notice_number,
        iuv,
        qr_payload,
        postal,
        options: option_views,
    })
}

/// The bollettino, when the debt type (or else the org) has a postal account and the org holds
/// Poste's authorization (mypay.md §1.8). An amount or account the Data Matrix cannot carry
/// leaves the bollettino out: the pagoPA part of the notice still pays it.
fn postal_view(
    org: &OrgRecord,
    debt_type: &DebtTypeRecord,
    debt: &DebtRecord,
    notice: &NoticeNumber,
    org_code: &OrgFiscalCode,
) -> Option<PostalView> {
    let authorization = org.poste_authorization.as_deref().filter(|a| !a.trim().is_empty())?;
    let account = debt_type.postal_account.as_deref().or(org.postal_account.as_deref())?;
    let holder = debt_type
        .postal_account_holder
        .as_deref()
        .or(org.postal_account_holder.as_deref())
        .unwrap_or(org.name.as_str());
    let party = PosteParty { debtor_id: &debt.debtor.id, debtor_name: &debt.debtor.name, subject: &debt.causale };
    match notice_codes::poste_datamatrix(notice, account, debt.amount_cents, org_code, party) {
        Ok(datamatrix) => Some(PostalView {
            account: account.to_owned(),
            holder: holder.to_owned(),
            authorization: authorization.to_owned(),
            datamatrix,
        }),
        Err(err) => {
            tracing::warn!(iud = %debt.iud, "notice without the Poste bollettino: {err}");
            None
        }
    }
}

/// The org's contact channels: its address, then phone, e-mail and website.
fn org_contacts(org: &OrgRecord) -> Vec<String> {
    let mut out = Vec::new();
    let street = join_some(&[org.address.as_deref(), org.civic_number.as_deref()], " ");
    let place = join_some(&[org.postal_code.as_deref(), org.city.as_deref()], " ");
    let place = match (&place, &org.province) {
        (Some(p), Some(prov)) => Some(format!("{p} ({prov})")),
        _ => place,
    };
    if let Some(address) = join_some(&[street.as_deref(), place.as_deref()], ", ") {
        out.push(address);
    }
    for item in [&org.phone, &org.email, &org.website].into_iter().flatten() {
        out.push(item.trim_start_matches("https://").trim_start_matches("http://").to_owned());
    }
    out
}

fn debtor_address(debt: &DebtRecord) -> Option<String> {
    let street = join_some(&[debt.debtor.address.as_deref(), debt.debtor.civic_number.as_deref()], " ");
    let place = join_some(&[debt.debtor.postal_code.as_deref(), debt.debtor.city.as_deref()], " ");
    let place = match (&place, &debt.debtor.province) {
        (Some(p), Some(prov)) => Some(format!("{p} ({prov})")),
        _ => place,
    };
    join_some(&[street.as_deref(), place.as_deref()], ", ")
}

fn join_some(parts: &[Option<&str>], sep: &str) -> Option<String> {
    let parts: Vec<&str> = parts.iter().flatten().map(|p| p.trim()).filter(|p| !p.is_empty()).collect();
    (!parts.is_empty()).then(|| parts.join(sep))
}

/// The receipt of org `ipa` for `iuv`: the one with `receipt_id` when given, else the first
/// successful one.
pub fn receipt_view(db: &Db, ipa: &str, iuv: &str, receipt_id: Option<&str>) -> Result<ReceiptView, ServiceError> {
    db.read(|conn| {
        let org = find_org(conn, ipa)?;
        let all = receipts::list_receipts_for_iuv(conn, org.id, iuv.trim())?;
        let found = match receipt_id {
            Some(id) => all.into_iter().find(|r| r.receipt_id == id),
            None => all.into_iter().find(|r| r.pays()),
        };
        let record = found.ok_or_else(|| {
            ServiceError::NotFound(match receipt_id {
                Some(id) => format!("receipt {id} for IUV {iuv} in org {}", org.ipa_code),
                None => format!("successful receipt for IUV {iuv} in org {}", org.ipa_code),
            })
        })?;
        Ok(build_receipt(&org, record))
    })
}

/// The receipt view of a stored receipt, with its org.
pub fn stored_receipt_view(db: &Db, r: ReceiptRecord) -> Result<ReceiptView, ServiceError> {
    let org = db
        .read(|conn| orgs::find_org_by_id(conn, r.org_id))?
        .ok_or_else(|| ServiceError::NotFound(format!("org {} of receipt {}", r.org_id, r.receipt_id)))?;
    Ok(build_receipt(&org, r))
}

/// Builds the receipt view of a stored receipt.
pub fn build_receipt(org: &OrgRecord, r: ReceiptRecord) -> ReceiptView {
    ReceiptView {
        org_name: if r.company_name.trim().is_empty() { org.name.clone() } else { r.company_name },
        org_fiscal_code: org.fiscal_code.clone(),
        office_name: r.office_name,
        ok: r.outcome == "OK",
        debtor: PartyView { name: r.debtor.name, id: r.debtor.id },
        payer: r.payer.map(|p| PartyView { name: p.name, id: p.id }),
        amount: r.amount_cents,
        fee: r.fee_cents,
        paid_at: r.payment_date_time.as_deref().and_then(crate::clock::rome_local),
        psp_name: r.psp_company_name,
        psp_id: r.psp_id,
        payment_method: r.payment_method,
        receipt_id: r.receipt_id,
        iuv: r.iuv,
        notice_number: NoticeNumber::parse(&r.notice_number).ok(),
        description: r.description,
        transfers: r
            .transfers
            .into_iter()
            .map(|t| TransferView {
                index: t.index,
                fiscal_code: t.fiscal_code,
                company_name: t.company_name,
                iban: t.iban,
                remittance: t.remittance,
                amount: t.amount_cents,
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

    use super::*;
    use crate::domain::{Cents, Party};

    fn records() -> (OrgRecord, DebtTypeRecord, DebtRecord) {
        let org = OrgRecord {
            name: "Comune di Esempio".into(),
            fiscal_code: "01234567897".into(),
            postal_account: Some("12345678".into()),
            address: Some("Piazza del Municipio".into()),
            civic_number: Some("1".into()),
            postal_code: Some("20100".into()),
            city: Some("Esempio".into()),
            province: Some("MI".into()),
            phone: Some("+39 02 0000000".into()),
            website: Some("https://www.comune.esempio.it".into()),
            ..OrgRecord::default()
        };
        let debt_type = DebtTypeRecord { code: "TARI".into(), print_due_date: true, ..DebtTypeRecord::default() };
        let debt = DebtRecord {
            iud: "X1".into(),
            state: crate::domain::DebtState::Inserted,
            notice_number: Some(NoticeNumber::parse("301000000000000144").unwrap()),
            iuv: Some(crate::domain::Iuv::parse("01000000000000144").unwrap()),
            debtor: Party { id: "RSSMRA85T10A562S".into(), name: "Mario Rossi".into(), ..Party::default() },
            due_date: Some(Day::parse("2026-12-31").unwrap()),
            amount_cents: Cents::new(15_000),
            causale: "TARI 2026".into(),
            ..DebtRecord::default()
        };
        (org, debt_type, debt)
    }

    #[test]
    fn a_notice_carries_the_qr_payload_and_the_due_date_when_printed() {
        let (org, debt_type, debt) = records();
        let view = build_notice(&org, None, &debt_type, &debt).unwrap();
        assert_eq!(view.qr_payload, "PAGOPA|002|301000000000000144|01234567897|15000");
        assert_eq!(view.due_date, Some(jiff::civil::date(2026, 12, 31)));
        assert_eq!(view.org.contacts[0], "Piazza del Municipio 1, 20100 Esempio (MI)");
        assert_eq!(view.org.contacts[2], "www.comune.esempio.it");
        // No Poste authorization: no bollettino even with a postal account.
        assert_eq!(view.postal, None);

        let no_print = DebtTypeRecord { print_due_date: false, ..debt_type };
        assert_eq!(build_notice(&org, None, &no_print, &debt).unwrap().due_date, None);
    }

    #[test]
    fn the_bollettino_needs_the_authorization_and_an_amount_it_can_carry() {
        let (mut org, debt_type, mut debt) = records();
        org.poste_authorization = Some("AUT. DB/SSIC/E 12345 DEL 01/01/2020".into());
        let view = build_notice(&org, None, &debt_type, &debt).unwrap();
        let postal = view.postal.unwrap();
        assert_eq!(postal.holder, "Comune di Esempio");
        assert_eq!(postal.datamatrix.len(), 256);
        debt.amount_cents = Cents::MAX_AMOUNT;
        assert_eq!(build_notice(&org, None, &debt_type, &debt).unwrap().postal, None);
    }

    #[test]
    fn annulled_and_anonymous_debts() {
        let (org, debt_type, mut debt) = records();
        debt.debtor.id = "ANONIMO".into();
        assert_eq!(build_notice(&org, None, &debt_type, &debt).unwrap().debtor_id, None);
        debt.state = crate::domain::DebtState::Annulled;
        assert!(matches!(build_notice(&org, None, &debt_type, &debt), Err(ServiceError::Conflict(_))));
    }

    fn option(kind: ViewKind, seq: i64, n: u64, cents: i64, due: &str, state: ViewState) -> OptionView {
        let body = format!("301{:013}", 4_200_000 + n);
        let value: u64 = body.parse().unwrap();
        let nav = Some(NoticeNumber::parse(&format!("{body}{:02}", value % 93)).unwrap());
        OptionView {
            kind,
            seq,
            iuv: nav.as_ref().map(|n| n.iuv().as_str().to_owned()),
            notice_number: nav,
            amount: Cents::new(cents),
            due_date: Some(Day::parse(due).unwrap()),
            state,
        }
    }

    fn kinds(options: &[OptionView]) -> Vec<(PrintedKind, i64)> {
        printed_options(options).into_iter().map(|(k, o)| (k, o.amount.get())).collect()
    }

    #[test]
    fn a_notice_prints_the_alternatives_still_open_and_every_instalment() {
        use ViewState::{Closed, Expired, Open, Paid};
        let single = |state| option(ViewKind::Single, 1, 1, 30_000, "2099-12-31", state);
        let rate = |seq: i64, state| option(ViewKind::Instalment, seq, 1 + seq as u64, 10_000, "2099-01-31", state);
        let reduced = |state| option(ViewKind::Reduced, 1, 9, 20_000, "2099-01-05", state);
        // A lone single option: the one-option notice.
        assert!(printed_options(&[single(Open)]).is_empty());
        assert_eq!(
            kinds(&[single(Open), rate(1, Open), rate(2, Open)]),
            [(PrintedKind::Single, 30_000), (PrintedKind::Instalment, 10_000), (PrintedKind::Instalment, 10_000)]
        );
        // An instalment paid closed the single option; the paid one keeps its place ("Rata 1 di 2").
        assert_eq!(
            kinds(&[single(Closed), rate(1, Paid), rate(2, Open)]),
            [(PrintedKind::Instalment, 10_000), (PrintedKind::Instalment, 10_000)]
        );
        // A fine: the reduced amount and the debt's own option as the full one.
        assert_eq!(
            kinds(&[single(Open), reduced(Open)]),
            [(PrintedKind::Full, 30_000), (PrintedKind::Reduced, 20_000)]
        );
        // Past its last day the reduced amount is gone: the full amount alone, the one-option notice.
        assert!(printed_options(&[single(Open), reduced(Expired)]).is_empty());
    }

    #[test]
    fn an_instalments_only_notice_is_named_by_its_first_instalment_and_a_mixed_plan_is_refused() {
        let (org, debt_type, mut debt) = records();
        debt.iuv = None;
        debt.notice_number = None;
        let rates = [
            option(ViewKind::Instalment, 1, 2, 10_000, "2099-01-31", ViewState::Open),
            option(ViewKind::Instalment, 2, 3, 5_000, "2099-02-28", ViewState::Open),
        ];
        let view = build_notice_with_options(&org, None, &debt_type, &debt, &rates).unwrap();
        assert_eq!(Some(&view.notice_number), rates[0].notice_number.as_ref());
        assert_eq!(Some(&view.iuv), rates[0].iuv.as_ref());
        assert_eq!(view.amount, Cents::new(10_000));
        assert_eq!(view.options.len(), 2);
        assert_eq!(
            view.options[1].qr_payload,
            format!("PAGOPA|002|{}|01234567897|5000", view.options[1].notice_number.as_str())
        );
        assert!(crate::pdf::notice_pdf(&view).is_ok());

        // The single option, instalments and a reduced amount: no layout prints all three.
        let (_, _, debt) = records();
        let mut mixed = vec![option(ViewKind::Single, 1, 1, 15_000, "2099-12-31", ViewState::Open)];
        mixed.extend(rates.iter().cloned());
        mixed.push(option(ViewKind::Reduced, 1, 9, 9_000, "2099-01-05", ViewState::Open));
        let view = build_notice_with_options(&org, None, &debt_type, &debt, &mixed).unwrap();
        assert!(matches!(crate::pdf::notice_pdf(&view), Err(crate::pdf::PdfError::Options(_))));
        let mut buf = std::io::Cursor::new(Vec::new());
        let summary = crate::pdf::write_notices_zip(&mut buf, [Ok::<_, ServiceError>(view)]).unwrap();
        assert_eq!((summary.written.len(), summary.skipped.len()), (0, 1));
    }

    #[test]
    fn receipt_times_are_italian_local_times() {
        let at = |text: &str| crate::clock::rome_local(text).unwrap().strftime("%Y-%m-%dT%H:%M:%S").to_string();
        assert_eq!(at("2026-05-01T10:15:00.123+02:00"), "2026-05-01T10:15:00");
        assert_eq!(at("2026-05-01T08:15:00Z"), "2026-05-01T10:15:00");
        assert_eq!(at("2026-05-01"), "2026-05-01T00:00:00");
    }

    #[test]
    fn a_zip_holds_one_notice_per_debt_and_skips_the_unknown() {
        let dir = tempfile::tempdir().unwrap();
        let (db, _) = Db::open(&dir.path().join("mypay.db")).unwrap();
        crate::services::demo::seed(&db, crate::clock::Now::at("2026-01-10T10:00:00Z".parse().unwrap())).unwrap();
        let iuds: Vec<String> = vec!["TARI-2026-0001".into(), "TARI-2026-0002".into(), "NO-SUCH-DEBT".into()];
        let mut buf = std::io::Cursor::new(Vec::new());
        let views = iuds.iter().map(|iud| {
            notice_view(&db, crate::services::demo::DEMO_IPA, &NoticeKey::Iud(iud.clone()), crate::clock::Now::read())
        });
        let summary = crate::pdf::write_notices_zip(&mut buf, views).unwrap();
        assert_eq!(summary.written.len(), 2);
        assert_eq!(summary.skipped.len(), 1);
        let mut archive = zip::ZipArchive::new(std::io::Cursor::new(buf.into_inner())).unwrap();
        assert_eq!(archive.len(), 2);
        let mut first = archive.by_index(0).unwrap();
        assert!(first.name().starts_with("avviso_") && first.name().ends_with(".pdf"));
        let mut head = [0u8; 5];
        std::io::Read::read_exact(&mut first, &mut head).unwrap();
        assert_eq!(&head, b"%PDF-");
    }
}
