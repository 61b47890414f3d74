//! Tests only: every channel × every mode through the entry point each adapter calls, so that a
//! channel that forgot its check fails here, not at a municipality.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use super::adhesion::{self, AdhesionChanges, NotAdmitted};
use crate::domain::adhesion::{Channel, Mode};
use crate::services::ServiceError;
use crate::services::admin::debt_types::{DebtTypeChanges, set_debt_type};
use crate::services::admin::orgs::set_sil_password;
use crate::services::debts::exports::{ExportRequest, request_export};
use crate::services::debts::imports::{Limits, Upload, submit};
use crate::services::debts::{Source, add_debt, annul_debt};
use crate::services::payments::outcome_push::{PushSettings, list_pushes, set_push_target};
use crate::services::payments::{Exchange, accept_receipt};
use crate::services::sil::SilError;
use crate::services::sil::access::{PasswordCache, authenticate};
use crate::services::testkit::{FISCAL_CODE, IBAN, IPA, Kit, tari_fields};
use crate::store::receipts::{ReceiptRecord, ReceiptTransferRecord};

const SIL_PASSWORD: &str = "silpass0001";

/// Whether a call was refused for the mode (and, if so, that the refusal names it).
fn refused<T>(result: Result<T, ServiceError>, mode: Mode, channel: Channel) -> bool {
    match result {
        Err(ServiceError::NotAdmitted(NotAdmitted { ipa, mode: m, channel: c })) => {
            assert_eq!((ipa.as_str(), m, c), (IPA, mode, channel));
            true
        }
        Err(other) => panic!("{channel:?} in mode {mode}: refused for another reason: {other}"),
        Ok(_) => false,
    }
}

/// A debt of the org as an import row makes it (whatever the mode: the flow was checked).
fn flow_debt(kit: &Kit, iud: &str) -> crate::store::debts::DebtRecord {
    let fields = tari_fields(iud, 2000);
    kit.db
        .write(|tx| {
            crate::services::debts::add_debt_in(tx, "import", IPA, &fields, Source::Import, kit.now, false, true)
        })
        .unwrap()
}

/// Uses `channel` as its adapter does; true when the org's mode let it through.
fn admitted(kit: &Kit, data_dir: &std::path::Path, mode: Mode, channel: Channel) -> bool {
    match channel {
        Channel::Spontaneous => {
            let mut fields = tari_fields("SP-1", 1600);
            fields.debt_type = "CERT".to_owned();
            fields.collection_data = "9/0101108TS/".to_owned();
            !refused(add_debt(&kit.db, "citizen", IPA, &fields, Source::Portal, kit.now), mode, channel)
        }
        Channel::ReceiptExports => {
            let request = ExportRequest {
                ipa: IPA,
                version: "1.3",
                from: "2026-12-01",
                to: "2026-12-07",
                incremental: false,
                with_receipt: false,
                debt_types: Vec::new(),
                requested_by: "cli",
                operator: None,
            };
            !refused(request_export(&kit.db, &request, false, kit.now), mode, channel)
        }
        Channel::DebtFlows => {
            let upload = Upload { org_ipa: IPA, file_name: "c_prova-F1-1_4.zip", actor: "cli", operator: None };
            let limits = Limits { max_upload_bytes: 1 << 20 };
            let mut body: &[u8] = b"PK\x05\x06\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0";
            !refused(submit(&kit.db, data_dir, limits, &upload, &mut body, kit.now), mode, channel)
        }
        Channel::DebtUpkeep => {
            let added =
                add_debt(&kit.db, "operator:mario", IPA, &tari_fields("UP-1", 2000), Source::Backoffice, kit.now);
            let added = !refused(added, mode, channel);
            // Upkeep of a debt the org already has (made by the kit, as a flow would).
            let debt = flow_debt(kit, "UP-2");
            let annulled = !refused(annul_debt(&kit.db, "operator:mario", IPA, &debt.iud, kit.now), mode, channel);
            assert_eq!(added, annulled, "adding and annulling are the same channel");
            added
        }
        Channel::Sil => match authenticate(&kit.db, &PasswordCache::default(), IPA, Some(SIL_PASSWORD), None) {
            Ok(_) => true,
            Err(SilError::Service(err)) => !refused(Err::<(), _>(err), mode, channel),
            Err(other) => panic!("SIL refused for another reason: {other}"),
        },
        // The REST adapter's check, made when the token is (web::api::authenticate).
        Channel::RestApi => !refused(adhesion::require_ipa(&kit.db, IPA, channel), mode, channel),
        Channel::OutcomePush => {
            let debt = flow_debt(kit, "PUSH-1");
            let receipt = ReceiptRecord {
                receipt_id: "R-PUSH-1".to_owned(),
                notice_number: debt.notice_number.clone().unwrap().to_string(),
                iuv: debt.iuv.clone().unwrap().to_string(),
                outcome: "OK".to_owned(),
                amount_cents: debt.amount_cents,
                primitive: "paSendRTV2".to_owned(),
                payment_date_time: Some("2026-12-07T10:15:00".to_owned()),
                transfers: vec![ReceiptTransferRecord {
                    index: 1,
                    amount_cents: debt.amount_cents,
                    fiscal_code: FISCAL_CODE.to_owned(),
                    iban: Some(IBAN.to_owned()),
                    ..ReceiptTransferRecord::default()
                }],
                ..ReceiptRecord::default()
            };
            let exchange = Exchange { actor: "node", response: "<ok/>", duration_ms: 1 };
            accept_receipt(&kit.db, FISCAL_CODE, receipt, &[], &exchange, kit.now).unwrap();
            !list_pushes(&kit.db, IPA, 10).unwrap().is_empty()
        }
    }
}

#[test]
fn each_mode_admits_exactly_its_channels() {
    let expected: [(Mode, &[Channel]); 3] = [
        (Mode::Base, &[Channel::Spontaneous, Channel::ReceiptExports]),
        (Mode::Flows, &[Channel::Spontaneous, Channel::ReceiptExports, Channel::DebtFlows, Channel::DebtUpkeep]),
        (Mode::Full, &Channel::ALL),
    ];
    for (mode, channels) in expected {
        for channel in Channel::ALL {
            let kit = Kit::new();
            let data_dir = tempfile::tempdir().unwrap();
            set_sil_password(&kit.db, "test", IPA, SIL_PASSWORD, kit.now).unwrap();
            let push = PushSettings { url: Some("https://sil.example.it/esiti".into()), ..PushSettings::default() };
            set_push_target(&kit.db, "test", IPA, &push, kit.now).unwrap();
            let tari = DebtTypeChanges { push_outcome: Some(true), ..DebtTypeChanges::default() };
            set_debt_type(&kit.db, "test", IPA, "TARI", &tari, kit.now).unwrap();
            let change = AdhesionChanges { mode: Some(mode.code().to_owned()), ..AdhesionChanges::default() };
            adhesion::set(&kit.db, "test", IPA, &change, kit.now).unwrap();
            assert_eq!(
                admitted(&kit, data_dir.path(), mode, channel),
                channels.contains(&channel),
                "{channel:?} in mode {mode}"
            );
        }
    }
}
