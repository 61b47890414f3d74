//! The GDPR rules on a seeded database: consents carry the version shown, the purge masks the
//! personal columns and keeps the accounting ones (column by column), exports still work on
//! purged rows, and a data subject's export holds all of theirs and nothing of anyone else's.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use super::purge::{self, Category, PurgeSettings};
use super::subject;
use crate::clock::Now;
use crate::config::RetentionSettings;
use crate::domain::{Cents, Party};
use crate::services::admin::debt_types::{DebtTypeChanges, add_debt_type};
use crate::services::admin::orgs::{OrgChanges, add_org};
use crate::services::debts::{Source, add_debt, annul_debt};
use crate::services::payments::{self, Exchange};
use crate::services::portal::carts::{self as portal_carts, ConsentChannel, NewCart};
use crate::services::portal::{PortalError, privacy_notices};
use crate::services::testkit::{FISCAL_CODE, IBAN, IPA, Kit, tari_fields};
use crate::store::debts::{self, DebtRecord};
use crate::store::receipts::{self, ReceiptRecord, ReceiptTransferRecord};
use crate::store::{audit, carts, mail, orgs, sessions};

const MARIO: &str = "RSSMRA85T10A562S";
const ANNA: &str = "BNCNNA80A41H501R";

fn at(text: &str) -> Now {
    Now::at(text.parse().unwrap())
}

fn person(id: &str, name: &str, email: &str) -> Party {
    Party {
        kind: "F".to_owned(),
        id: id.to_owned(),
        name: name.to_owned(),
        email: Some(email.to_owned()),
        ..Party::default()
    }
}

/// Pays `debt` of org `fiscal_code` with a receipt naming `debtor` and `payer`.
fn pay(kit: &Kit, fiscal_code: &str, debt: &DebtRecord, id: &str, debtor: Party, payer: Party) {
    let receipt = ReceiptRecord {
        receipt_id: id.to_owned(),
        notice_number: debt.notice_number.clone().unwrap().to_string(),
        iuv: debt.iuv.clone().unwrap().to_string(),
        outcome: "OK".to_owned(),
        amount_cents: debt.amount_cents,
        description: debt.causale.clone(),
        company_name: "Comune".to_owned(),
        debtor,
        payer: Some(payer),
        psp_id: "PSP1".to_owned(),
        psp_company_name: "Banca".to_owned(),
        channel_id: "C1".to_owned(),
        channel_description: "app".to_owned(),
        primitive: "paSendRTV2".to_owned(),
        payment_date_time: Some("2026-12-07T10:15:00".to_owned()),
        request_xml: format!("<paSendRTV2Req>{id}</paSendRTV2Req>"),
        transfers: vec![ReceiptTransferRecord {
            index: 1,
            amount_cents: debt.amount_cents,
            fiscal_code: fiscal_code.to_owned(),
            iban: Some(IBAN.to_owned()),
            remittance: "TARI".to_owned(),
            category: "0101002IM".to_owned(),
            ..ReceiptTransferRecord::default()
        }],
        ..ReceiptRecord::default()
    };
    let exchange = Exchange { actor: "node", response: "<ok/>", duration_ms: 1 };
    payments::accept_receipt(&kit.db, fiscal_code, receipt, &[], &exchange, kit.now).unwrap();
}

fn debt_with(kit: &Kit, ipa: &str, iud: &str, cf: &str, name: &str, email: &str) -> DebtRecord {
    let mut fields = tari_fields(iud, 2500);
    fields.debtor_id = cf.to_owned();
    fields.debtor_name = name.to_owned();
    fields.debtor_email = email.to_owned();
    fields.debtor_address = "Via Roma".to_owned();
    fields.debtor_city = "Roma".to_owned();
    add_debt(&kit.db, "test", ipa, &fields, Source::Cli, kit.now).unwrap()
}

fn reload(kit: &Kit, debt: &DebtRecord) -> DebtRecord {
    kit.db.read(|c| debts::find_debt_by_id(c, debt.id)).unwrap().unwrap()
}

fn receipt_of(kit: &Kit, debt: &DebtRecord) -> ReceiptRecord {
    kit.db.read(|c| receipts::list_ok_receipts_for_debt(c, debt.id)).unwrap().remove(0)
}

#[test]
fn consents_carry_the_version_the_org_shows_and_the_channel() {
    let kit = Kit::new();
    let org = kit.db.read(|c| orgs::find_org_by_ipa(c, IPA)).unwrap().unwrap();
    let cart = |iud: &str, channel: ConsentChannel| {
        let debt = kit.debt(iud, 1000);
        let view = payments::verify(&kit.db, FISCAL_CODE, &Kit::notice(&debt), kit.now.today()).unwrap();
        let new = NewCart { session_hash: "s", payer_email: None, citizen_id: Some(MARIO), shown_notices: None };
        let cart = portal_carts::prepare_cart_from(&kit.db, &[view], &new, channel, kit.now).unwrap();
        let mut rows = kit.db.read(|c| carts::list_privacy_acceptances_of_cart(c, cart.id)).unwrap();
        assert_eq!(rows.len(), 1);
        let row = rows.remove(0);
        (row.version, row.channel, row.citizen_id, row.accepted_at)
    };
    let generic = cart("C1", ConsentChannel::Portal);
    assert_eq!(
        generic,
        (privacy_notices::GENERIC_VERSION.to_owned(), "portale".to_owned(), Some(MARIO.to_owned()), kit.now.iso())
    );
    let template = privacy_notices::template(&org, &RetentionSettings::default(), "rpd@example.it");
    assert_eq!(privacy_notices::publish_sections(&kit.db, "operator:a", IPA, &template, kit.now).unwrap(), 1);
    assert_eq!(privacy_notices::publish_sections(&kit.db, "operator:a", IPA, &template, kit.now).unwrap(), 2);
    let (version, channel, _, _) = cart("C2", ConsentChannel::Sil);
    assert_eq!((version.as_str(), channel.as_str()), ("2", "sil"));
    // A section left empty is refused by its field, nothing published.
    let empty = crate::store::privacy_notices::NoticeSections { rights: Some(" ".to_owned()), ..template };
    let err = privacy_notices::publish_sections(&kit.db, "operator:a", IPA, &empty, kit.now).unwrap_err();
    assert!(matches!(err, crate::services::ServiceError::Invalid { ref field, .. } if field == "rights"), "{err}");
    assert_eq!(privacy_notices::versions(&kit.db, org.id).unwrap().len(), 2);
}

/// The cart page carries the versions it showed: the consent records them, and a notice published
/// between the page and the acceptance makes the citizen read and accept again.
#[test]
fn a_consent_is_refused_when_the_notice_changed_after_the_page_showed_it() {
    let kit = Kit::new();
    let org = kit.db.read(|c| orgs::find_org_by_ipa(c, IPA)).unwrap().unwrap();
    let template = privacy_notices::template(&org, &RetentionSettings::default(), "rpd@example.it");
    privacy_notices::publish_sections(&kit.db, "operator:a", IPA, &template, kit.now).unwrap();
    let shown = privacy_notices::stamp(&kit.db, &[org.id, org.id]).unwrap();
    assert_eq!(shown, format!("{}:1", org.id));
    let debt = kit.debt("S1", 1000);
    let view = payments::verify(&kit.db, FISCAL_CODE, &Kit::notice(&debt), kit.now.today()).unwrap();
    let new = NewCart { session_hash: "s", payer_email: None, citizen_id: Some(MARIO), shown_notices: Some(&shown) };
    let cart = portal_carts::prepare_cart(&kit.db, std::slice::from_ref(&view), &new, kit.now).unwrap();
    let rows = kit.db.read(|c| carts::list_privacy_acceptances_of_cart(c, cart.id)).unwrap();
    assert_eq!(rows.iter().map(|r| r.version.as_str()).collect::<Vec<_>>(), ["1"]);
    privacy_notices::publish_sections(&kit.db, "operator:a", IPA, &template, kit.now).unwrap();
    let err = portal_carts::prepare_cart(&kit.db, &[view], &new, kit.now).unwrap_err();
    assert!(matches!(err, PortalError::NoticeChanged), "{err}");
}

#[test]
fn a_purge_masks_personal_columns_keeps_accounting_ones_and_exports_still_work() {
    let kit = Kit::new();
    let dir = tempfile::tempdir().unwrap();
    let settings = PurgeSettings { data_dir: dir.path().to_owned(), retention: RetentionSettings::default() };
    let open = debt_with(&kit, IPA, "OPEN", MARIO, "Mario Rossi", "mario@example.it");
    let annulled = debt_with(&kit, IPA, "ANN", MARIO, "Mario Rossi", "mario@example.it");
    annul_debt(&kit.db, "test", IPA, "ANN", kit.now).unwrap();
    let paid = debt_with(&kit, IPA, "PAID", MARIO, "Mario Rossi", "mario@example.it");
    pay(
        &kit,
        FISCAL_CODE,
        &paid,
        "R1",
        person(MARIO, "Mario Rossi", "mario@example.it"),
        person(ANNA, "Anna Bianchi", "anna@example.it"),
    );
    let mail_id =
        kit.db.write(|tx| mail::insert_mail(tx, "mario@example.it", "Ricevuta", "Link", &kit.now.iso())).unwrap();
    kit.db.write(|tx| mail::update_mail_sent(tx, mail_id, &kit.now.iso())).unwrap();
    let session = sessions::SessionRecord {
        id_hash: "h".to_owned(),
        csrf_token: "c".to_owned(),
        citizen_id: Some(MARIO.to_owned()),
        data_json: "{}".to_owned(),
        created_at: kit.now.iso(),
        last_seen_at: kit.now.iso(),
        expires_at: "2099-01-01T00:00:00Z".to_owned(),
        ..Default::default()
    };
    kit.db.write(|tx| sessions::insert_session(tx, &session)).unwrap();
    let org = kit.db.read(|c| orgs::find_org_by_ipa(c, IPA)).unwrap().unwrap();
    let journal_before = kit.db.read(|c| audit::search_audit(c, org.id, &Default::default(), 1000, 0)).unwrap();
    assert!(journal_before.iter().any(|e| e.after_json.is_some()));
    let before_paid = reload(&kit, &paid);
    let before_receipt = receipt_of(&kit, &paid);

    // A day later nothing is due.
    let dry = purge::dry_run(&kit.db, &settings, at("2026-12-08T09:00:00Z")).unwrap();
    assert!(dry.counts.iter().all(|(_, n)| *n == 0), "{dry:?}");

    // Six years later: the annulled debt's debtor (5 years), the mail and the session go; the open
    // debt (10 years) and the accounting records (10 years) stay.
    let later = at("2032-12-08T09:00:00Z");
    let dry = purge::dry_run(&kit.db, &settings, later).unwrap();
    assert_eq!(
        (dry.count(Category::AnnulledDebts), dry.count(Category::OpenDebts), dry.count(Category::PaidDebts)),
        (1, 0, 0)
    );
    assert_eq!((dry.count(Category::Mails), dry.count(Category::Sessions)), (1, 1));
    assert!(dry.count(Category::JournalPayloads) >= 4, "{dry:?}");
    assert_eq!(reload(&kit, &annulled).debtor.id, MARIO, "a dry run changes nothing");
    let saved = std::cell::RefCell::new(Vec::new());
    let save = |_: &crate::store::Conn, at: purge::Cursor| {
        saved.borrow_mut().push(at);
        Ok(())
    };
    let done = purge::run(&kit.db, &settings, "cli", purge::Cursor::default(), &save, &|| false, later).unwrap();
    assert_eq!(done.counts.iter().map(|(_, n)| n).sum::<u64>(), dry.counts.iter().map(|(_, n)| n).sum::<u64>());
    assert_eq!(saved.borrow().last(), Some(&purge::Cursor { category: Category::ALL.len(), after_id: 0 }));

    let masked = reload(&kit, &annulled);
    let original = debts::DebtRecord { ..annulled.clone() };
    assert_eq!(masked.debtor.kind, "F");
    assert_eq!((masked.debtor.id.as_str(), masked.debtor.name.as_str()), ("ANONIMO", "ANONIMO"));
    assert_eq!(
        (&masked.debtor.address, &masked.debtor.city, &masked.debtor.email),
        (&None, &None, &None),
        "address and e-mail removed"
    );
    assert_eq!(
        (&masked.iud, &masked.iuv, &masked.amount_cents, &masked.causale, &masked.collection_data, masked.state),
        (
            &original.iud,
            &original.iuv,
            &original.amount_cents,
            &original.causale,
            &original.collection_data,
            crate::domain::DebtState::Annulled
        ),
        "the accounting fields stay"
    );
    assert_eq!(reload(&kit, &open).debtor.id, MARIO, "an open debt within its time keeps its debtor");
    assert_eq!(reload(&kit, &paid), before_paid, "a paid debt within the legal period is untouched");
    assert_eq!(receipt_of(&kit, &paid), before_receipt);
    assert!(kit.db.read(|c| mail::list_recent_mails(c, 10)).unwrap().is_empty());
    assert!(kit.db.read(|c| sessions::find_live_session(c, "h", "2026-01-01T00:00:00Z")).unwrap().is_none());
    // The journal keeps every entry (one more: the purge), without the old payloads.
    let journal = kit.db.read(|c| audit::search_audit(c, org.id, &Default::default(), 1000, 0)).unwrap();
    assert_eq!(journal.len(), journal_before.len());
    assert!(journal.iter().all(|e| e.after_json.is_none() && e.before_json.is_none()));

    // Eleven years later the accounting records lose their personal data too, column by column.
    let much_later = at("2037-12-08T09:00:00Z");
    purge::run(&kit.db, &settings, "cli", purge::Cursor::default(), &|_, _| Ok(()), &|| false, much_later).unwrap();
    let r = receipt_of(&kit, &paid);
    assert_eq!((r.debtor.id.as_str(), r.debtor.name.as_str(), &r.debtor.email), ("ANONIMO", "ANONIMO", &None));
    let payer = r.payer.clone().unwrap();
    assert_eq!((payer.id.as_str(), payer.name.as_str(), &payer.email), ("ANONIMO", "ANONIMO", &None));
    assert_eq!(r.request_xml, "", "the request as received named both");
    let kept = |x: &ReceiptRecord| {
        (
            x.iuv.clone(),
            x.receipt_id.clone(),
            x.amount_cents,
            x.payment_date,
            x.psp_id.clone(),
            x.transfers.clone(),
            x.outcome.clone(),
        )
    };
    assert_eq!(kept(&r), kept(&before_receipt));
    let p = reload(&kit, &paid);
    assert_eq!(
        (p.debtor.id.as_str(), p.amount_cents, p.state),
        ("ANONIMO", Cents::new(2500), crate::domain::DebtState::Paid)
    );
    assert_eq!(reload(&kit, &open).debtor.id, "ANONIMO", "past ten years an open debt is masked too");
    let again = purge::dry_run(&kit.db, &settings, much_later).unwrap();
    assert!(again.counts.iter().all(|(_, n)| *n == 0), "nothing left: {again:?}");

    // The receipt export of the purged rows still runs, with the masked names.
    let request = crate::services::debts::exports::ExportRequest {
        ipa: IPA,
        version: "1.3",
        from: "2026-12-01",
        to: "2026-12-31",
        incremental: false,
        with_receipt: true,
        debt_types: Vec::new(),
        requested_by: "cli",
        operator: None,
    };
    let export = crate::services::debts::exports::request_export(&kit.db, &request, false, much_later).unwrap();
    let outcome =
        crate::services::debts::exports::run_export(&kit.db, dir.path(), "S", &export, much_later, &mut |_| {})
            .unwrap();
    assert_eq!(outcome.export.rows, Some(1));
    let zip = std::fs::read(outcome.file.unwrap()).unwrap();
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(zip)).unwrap();
    let mut csv = String::new();
    std::io::Read::read_to_string(&mut archive.by_index(0).unwrap(), &mut csv).unwrap();
    assert!(csv.contains("ANONIMO") && !csv.contains(MARIO) && !csv.contains("Rossi"), "{csv}");
}

#[test]
fn a_subject_export_holds_everything_of_theirs_in_two_orgs_and_nothing_of_anyone_else() {
    let kit = Kit::new();
    let some = |s: &str| Some(s.to_owned());
    let other = OrgChanges {
        fiscal_code: some("80000000002"),
        name: some("Comune di Altrove"),
        state: some("ESERCIZIO"),
        segregation_code: some("02"),
        iban_bank: some(IBAN),
        mode: some("flussi"),
        ..OrgChanges::default()
    };
    add_org(&kit.db, "test", "c_altro", &other, kit.now).unwrap();
    let tari =
        DebtTypeChanges { description: some("TARI"), taxonomy_code: some("0101002IM"), ..DebtTypeChanges::default() };
    add_debt_type(&kit.db, "test", "c_altro", "TARI", &tari, kit.now).unwrap();
    let mario = person(MARIO, "Mario Rossi", "mario@example.it");
    let anna = person(ANNA, "Anna Bianchi", "anna@example.it");
    let here = debt_with(&kit, IPA, "M1", MARIO, "Mario Rossi", "mario@example.it");
    pay(&kit, FISCAL_CODE, &here, "R1", mario.clone(), mario.clone());
    let there = debt_with(&kit, "c_altro", "M2", MARIO, "Mario Rossi", "mario@example.it");
    pay(&kit, "80000000002", &there, "R2", mario.clone(), mario.clone());
    // Anna owes a debt that Mario paid for her, and has one of her own.
    let hers = debt_with(&kit, IPA, "A1", ANNA, "Anna Bianchi", "anna@example.it");
    pay(&kit, FISCAL_CODE, &hers, "R3", anna.clone(), mario.clone());
    debt_with(&kit, IPA, "A2", ANNA, "Anna Bianchi", "anna@example.it");
    kit.db.write(|tx| mail::insert_mail(tx, "Mario@Example.it", "Ricevuta", "Pagato", &kit.now.iso())).unwrap();
    kit.db.write(|tx| mail::insert_mail(tx, "anna@example.it", "Ricevuta", "Pagato", &kit.now.iso())).unwrap();

    let data = subject::export(&kit.db, "cli", "rssmra85t10a562s", None, kit.now).unwrap();
    assert_eq!(data.fiscal_code, MARIO);
    let mut iuds: Vec<_> = data.debts.iter().map(|d| d.iud.as_str()).collect();
    iuds.sort_unstable();
    assert_eq!(iuds, ["M1", "M2"]);
    assert_eq!(data.receipts.len(), 3, "the two he owed and the one he paid for Anna");
    assert_eq!(data.mails.len(), 1);
    let mut ipas: Vec<_> = data.orgs.iter().map(|o| o.ipa_code.as_str()).collect();
    ipas.sort_unstable();
    assert_eq!(ipas, ["c_altro", IPA]);
    let json = crate::web::ui::subject_export::to_json(&data).to_string();
    let html = crate::web::ui::subject_export::to_html(&data);
    for text in [&json, &html] {
        assert!(text.contains(MARIO) && text.contains("Mario Rossi"));
        for foreign in [ANNA, "Anna Bianchi", "anna@example.it", "A2"] {
            assert!(!text.contains(foreign), "{foreign} leaked: {text}");
        }
    }
    assert!(json.contains(subject::MASKED), "Anna, as debtor of what Mario paid, is masked");

    let one = subject::export(&kit.db, "cli", MARIO, Some("c_altro"), kit.now).unwrap();
    assert_eq!((one.debts.len(), one.receipts.len()), (1, 1));
    assert_eq!(one.debts[0].iud, "M2");
    assert!(subject::export(&kit.db, "cli", "ANONIMO", None, kit.now).is_err(), "no export of the anonymous");
}

#[test]
fn erasure_and_rectification_go_where_the_law_allows_and_say_why_not() {
    let kit = Kit::new();
    let mario = person(MARIO, "Mario Rossi", "mario@example.it");
    debt_with(&kit, IPA, "OPEN", MARIO, "Mario Rossi", "mario@example.it");
    let annulled = debt_with(&kit, IPA, "ANN", MARIO, "Mario Rossi", "mario@example.it");
    annul_debt(&kit.db, "test", IPA, "ANN", kit.now).unwrap();
    let paid = debt_with(&kit, IPA, "PAID", MARIO, "Mario Rossi", "mario@example.it");
    pay(&kit, FISCAL_CODE, &paid, "R1", mario.clone(), mario);

    let contact = subject::Contact {
        email: Some("nuova@example.it".to_owned()),
        address: Some("Via Nuova".to_owned()),
        city: Some("Milano".to_owned()),
        ..subject::Contact::default()
    };
    let fixed = subject::rectify_contact(&kit.db, "operator:a", IPA, "OPEN", &contact, kit.now).unwrap();
    assert_eq!(
        (fixed.debtor.email.as_deref(), fixed.debtor.address.as_deref(), fixed.debtor.id.as_str()),
        (Some("nuova@example.it"), Some("Via Nuova"), MARIO)
    );
    let refused = subject::rectify_contact(&kit.db, "operator:a", IPA, "PAID", &contact, kit.now).unwrap_err();
    assert!(refused.to_string().contains("accounting record under legal retention"), "{refused}");

    let done = subject::erase(&kit.db, "operator:a", IPA, MARIO, kit.now).unwrap();
    assert_eq!(done.erased, [format!("debt:{IPA}/ANN")]);
    let mut refused: Vec<_> = done.refused.iter().map(|r| (r.object.as_str(), r.reason)).collect();
    refused.sort_unstable();
    assert_eq!(refused.len(), 3, "{refused:?}");
    assert!(refused.iter().any(|(o, r)| o.starts_with("rt:") && r.starts_with("accounting record")));
    assert!(refused.iter().any(|(o, r)| *o == format!("debt:{IPA}/PAID") && r.starts_with("accounting record")));
    assert!(refused.iter().any(|(o, r)| *o == format!("debt:{IPA}/OPEN") && r.starts_with("open debt")));
    assert_eq!(reload(&kit, &annulled).debtor.id, "ANONIMO");
    assert_eq!(reload(&kit, &paid).debtor.id, MARIO);
}

#[test]
fn the_daily_purge_is_queued_once_a_day_and_runs_as_a_job_that_deletes_old_files() {
    let kit = Kit::new();
    let dir = tempfile::tempdir().unwrap();
    let debt = kit.debt("F1", 1000);
    pay(
        &kit,
        FISCAL_CODE,
        &debt,
        "R1",
        person(MARIO, "Mario Rossi", "m@example.it"),
        person(MARIO, "Mario Rossi", "m@example.it"),
    );
    let request = crate::services::debts::exports::ExportRequest {
        ipa: IPA,
        version: "1.3",
        from: "2026-12-01",
        to: "2026-12-31",
        incremental: false,
        with_receipt: false,
        debt_types: Vec::new(),
        requested_by: "cli",
        operator: None,
    };
    let export = crate::services::debts::exports::request_export(&kit.db, &request, false, kit.now).unwrap();
    let made = crate::services::debts::exports::run_export(&kit.db, dir.path(), "S", &export, kit.now, &mut |_| {})
        .unwrap()
        .file
        .unwrap();
    assert!(made.is_file());

    // 181 days later: the export's file is past `file_days` (180).
    let later = at("2027-06-07T09:00:00Z");
    assert!(purge::schedule(&kit.db, later).unwrap());
    assert!(!purge::schedule(&kit.db, later).unwrap(), "once a day");
    let job = crate::jobs::Job::RetentionPurge { day: "2027-06-07".to_owned() };
    let id = crate::jobs::find_queued(&kit.db, &job).unwrap().unwrap();
    let record = crate::jobs::claim(&kit.db, id, later).unwrap().unwrap();
    let settings = crate::services::background::JobSettings {
        data_dir: dir.path().to_owned(),
        max_uncompressed_bytes: 1 << 30,
        station_id: "S".to_owned(),
        notices: crate::config::NoticesMode::On,
        retention: RetentionSettings::default(),
        receipts: None,
        reporting: None,
    };
    let handlers = crate::services::background::handlers(&settings);
    let outcome = crate::jobs::run_claimed(&kit.db, &handlers, &record, &|| false, &mut |_| {}).unwrap();
    assert_eq!(outcome, crate::jobs::Outcome::Done);
    // The job's handler reads the real clock; the cutoffs at `later` are checked by running the
    // purge at that time.
    let settings = PurgeSettings { data_dir: dir.path().to_owned(), retention: RetentionSettings::default() };
    let dry = purge::dry_run(&kit.db, &settings, later).unwrap();
    assert_eq!(dry.count(Category::ExportFiles), 1);
    let done =
        purge::run(&kit.db, &settings, "cli", purge::Cursor::default(), &|_, _| Ok(()), &|| false, later).unwrap();
    assert_eq!(done.count(Category::ExportFiles), 1);
    assert!(!made.exists(), "the export's ZIP is deleted");
    assert_eq!(purge::dry_run(&kit.db, &settings, later).unwrap().count(Category::ExportFiles), 0);
    // The export's row stays, with its count.
    let org = kit.db.read(|c| orgs::find_org_by_ipa(c, IPA)).unwrap().unwrap();
    let row = crate::services::debts::exports::find_export(&kit.db, org.id, export.id).unwrap().unwrap();
    assert_eq!(row.rows, Some(1));
}

#[test]
fn a_purge_clears_finished_carts_and_expired_sil_sessions_column_by_column() {
    let kit = Kit::new();
    let dir = tempfile::tempdir().unwrap();
    let settings = PurgeSettings { data_dir: dir.path().to_owned(), retention: RetentionSettings::default() };
    let org = kit.db.read(|c| orgs::find_org_by_ipa(c, IPA)).unwrap().unwrap();
    let debt = kit.debt("CART", 1000);
    let cart = |token: &str, state: crate::domain::CartState| carts::CartRecord {
        token: token.to_owned(),
        session_hash: "s".to_owned(),
        state,
        checkout_url: Some("https://checkout.example/x".to_owned()),
        payer_email: Some("mario@example.it".to_owned()),
        citizen_id: Some(MARIO.to_owned()),
        total_cents: Cents::new(1000),
        items: vec![carts::CartItemRecord {
            position: 1,
            org_id: org.id,
            debt_id: debt.id,
            notice_number: debt.notice_number.clone(),
            amount_cents: Cents::new(1000),
        }],
        ..carts::CartRecord::default()
    };
    let iso = kit.now.iso();
    kit.db.write(|tx| carts::insert_cart(tx, &cart("PAID", crate::domain::CartState::Paid), &iso)).unwrap();
    kit.db.write(|tx| carts::insert_cart(tx, &cart("OPEN", crate::domain::CartState::InPayment), &iso)).unwrap();
    let session = crate::store::sil::SilSessionRecord {
        id_session: "SESS1".to_owned(),
        token: "T1".to_owned(),
        org_id: org.id,
        kind: "dovuti".to_owned(),
        show_mode: "SHORT".to_owned(),
        back_url: Some("https://ente.example/back".to_owned()),
        payer_email: Some("mario@example.it".to_owned()),
        payload: format!(r#"[{{"debtor_id":"{MARIO}"}}]"#),
        created_at: iso.clone(),
        expires_at: "2026-12-07T11:00:00Z".to_owned(),
        ..Default::default()
    };
    kit.db.write(|tx| crate::store::sil::insert_sil_session(tx, &session)).unwrap();
    let paid_before = kit.db.read(|c| carts::find_cart_by_token(c, "PAID")).unwrap().unwrap();
    let open_before = kit.db.read(|c| carts::find_cart_by_token(c, "OPEN")).unwrap().unwrap();

    // Two months on, the SIL session (30 days after it expired) is due, the paid cart (a year) not.
    let soon = at("2027-02-01T09:00:00Z");
    let dry = purge::dry_run(&kit.db, &settings, soon).unwrap();
    assert_eq!((dry.count(Category::Carts), dry.count(Category::SilSessions)), (0, 1));
    let later = at("2028-01-01T09:00:00Z");
    let dry = purge::dry_run(&kit.db, &settings, later).unwrap();
    assert_eq!((dry.count(Category::Carts), dry.count(Category::SilSessions)), (1, 1), "{dry:?}");
    assert_eq!(dry.to_json()["counts"]["carts"], 1);
    assert_eq!(dry.to_json()["counts"]["sil_sessions"], 1);
    let done =
        purge::run(&kit.db, &settings, "cli", purge::Cursor::default(), &|_, _| Ok(()), &|| false, later).unwrap();
    assert_eq!((done.count(Category::Carts), done.count(Category::SilSessions)), (1, 1));

    let paid = kit.db.read(|c| carts::find_cart_by_token(c, "PAID")).unwrap().unwrap();
    assert_eq!((&paid.payer_email, &paid.citizen_id), (&None, &None), "the personal columns go");
    assert_eq!(
        carts::CartRecord { payer_email: None, citizen_id: None, ..paid_before },
        paid,
        "state, total, items, dates and token stay"
    );
    let open = kit.db.read(|c| carts::find_cart_by_token(c, "OPEN")).unwrap().unwrap();
    assert_eq!(open, open_before, "a cart still being paid is untouched");
    let s = kit.db.read(|c| crate::store::sil::find_sil_session(c, "SESS1")).unwrap().unwrap();
    assert_eq!((s.payload.as_str(), &s.payer_email), ("[]", &None));
    let id = s.id;
    assert_eq!(
        s,
        crate::store::sil::SilSessionRecord { id, payload: "[]".to_owned(), payer_email: None, ..session },
        "the rest of the session stays"
    );
    let again = purge::dry_run(&kit.db, &settings, later).unwrap();
    assert!(again.counts.iter().all(|(_, n)| *n == 0), "nothing left: {again:?}");
}
