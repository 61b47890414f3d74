//! The rules behind MyPivot's SIL web services (mypivot.md §6): reconciliation files a SIL
//! uploads with a token (`pivotSILAutorizzaImportFlusso*`, the upload, its manage state), the
//! org's receipts with the reporting rows that reported them (`pivotSILChiediPagatiRiconciliati`)
//! and the sums of its closed accertamenti on what a bolletta or a flow paid
//! (`pivotSILChiediAccertamento`). Callers are authenticated as MyPay's SIL is (`access`).
//!
//! Tokens are MyPay's SIL upload tokens (`uploads`) marked with the reconciliation kind; the file
//! goes through `reconciliation::uploads::submit`, the same checks and job as every other channel.
//! Receipts (E) and reporting flows (R) are never uploaded: mypay holds its own.

use std::io::Read;
use std::path::Path;

use jiff::Timestamp;

use super::uploads::{self, Authorized, UploadRefused, claim, refused, system};
use super::{SilError, fault};
use crate::clock::{Now, rome};
use crate::domain::reconciliation::Source;
use crate::services::links::Links;
use crate::services::reconciliation::uploads as recon_uploads;
use crate::store::orgs::{self, OrgRecord};
use crate::store::pivot::{self, BookedSum, PaidSelection, PaidTransfer};
use crate::store::reconciliation::{self as rs, UploadRecord};
use crate::store::{Db, sil};

/// The most rows `pivotSILChiediPagatiRiconciliati` gives per call.
pub const MAX_PAID: u32 = 1000;
/// The most IUVs, IUFs or debt types a request may list.
pub const MAX_KEYS: usize = 1000;

/// The manage state of an authorized token whose file has not come yet.
pub const WAITING_STATE: &str = "FILE_IN_DOWNLOAD";

/// Authorizes one upload of a reconciliation file of `kind` for org `ipa` (already
/// authenticated): D (notifications) or a treasury kind, T, C, O, Y.
pub fn authorize(db: &Db, links: &Links, ipa: &str, kind: Source, now: Now) -> Result<Authorized, SilError> {
    if !matches!(kind, Source::Notification) && !kind.is_treasury() {
        return Err(fault(
            "CODE_PIVOT_TIPO_FLUSSO_NON_VALIDO",
            format!("tipo flusso {} non caricabile: mypay ha già ricevute e rendicontazioni", kind.code()),
        ));
    }
    uploads::new_token(db, links, ipa, Some(kind.code()), now)
}

/// Stores the file uploaded with a MyPivot token and queues its load, once per request token.
#[expect(clippy::too_many_arguments, reason = "the token and the file, plus where, how much and when")]
pub fn upload(
    db: &Db,
    data_dir: &Path,
    max_bytes: u64,
    links: &Links,
    authorization_token: &str,
    file_name: &str,
    body: &mut dyn Read,
    now: Now,
) -> Result<UploadRecord, UploadRefused> {
    let (found, org) = claim(db, links, authorization_token, true, now)?;
    let kind = found.recon_kind.as_deref().and_then(|k| k.chars().next()).and_then(Source::from_code);
    let Some(kind) = kind else {
        return Err(system(&format!("token {} has kind {:?}", found.request_token, found.recon_kind)));
    };
    let actor = format!("sil:{}", org.ipa_code);
    // A giornale di cassa sent this way has MyPivot's default positions (1..7): `columns` None.
    let up =
        recon_uploads::Upload { org_ipa: &org.ipa_code, file_name, kind: Some(kind), columns: None, actor: &actor };
    let submitted = recon_uploads::submit(db, data_dir, max_bytes, &up, body, now)
        .map_err(|err| if err.is_user_error() { refused("400", err.to_string()) } else { system(&err) })?;
    db.write(|tx| sil::update_sil_upload_recon(tx, &found.request_token, submitted.upload.id))
        .map_err(|e| system(&e))?;
    Ok(submitted.upload)
}

/// The manage state of the upload of `request_token` by org `ipa`: [`WAITING_STATE`] until its
/// file comes; unknown, another org's or a MyPay token → `PIVOT_REQUEST_TOKEN_NON_VALIDO`.
pub fn status(db: &Db, ipa: &str, request_token: &str) -> Result<&'static str, SilError> {
    let invalid = || fault("PIVOT_REQUEST_TOKEN_NON_VALIDO", format!("requestToken {request_token} non valido"));
    db.read(|conn| {
        let org = orgs::find_org_by_ipa(conn, ipa)?.ok_or_else(invalid)?;
        let found = sil::find_sil_upload(conn, request_token.trim())?
            .filter(|f| f.org_id == org.id && f.recon_kind.is_some())
            .ok_or_else(invalid)?;
        let Some(id) = found.recon_upload_id else { return Ok(WAITING_STATE) };
        Ok(rs::find_upload(conn, id)?.ok_or_else(invalid)?.state.code())
    })
}

/// A `pivotSILChiediPagatiRiconciliati` request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PaidRequest {
    /// `richiestaPerData`: `dataDa`, `dataA` as sent (xsd:dateTime; without offset Italian time).
    ByDate { from: String, to: String },
    /// `richiestaPerIUVIUF`: at least one IUV or IUF.
    ByKeys { iuvs: Vec<String>, iufs: Vec<String> },
}

/// What `pivotSILChiediPagatiRiconciliati` answers: the rows and, for the next call, the latest `data`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reconciled {
    pub rows: Vec<PaidTransfer>,
    pub data_a: Option<String>,
}

/// An xsd:dateTime as stored (UTC); without an offset it is Italian local time.
fn instant(text: &str) -> Option<String> {
    let text = text.trim();
    let ts = text.parse::<Timestamp>().ok().or_else(|| {
        let local = text.parse::<jiff::civil::DateTime>().ok()?;
        local.to_zoned(rome()).ok().map(|z| z.timestamp())
    })?;
    Some(crate::clock::iso(ts))
}

/// The org's paying receipt transfers with their reporting rows, as `request` selects them, of
/// `debt_types` when not empty; at most [`MAX_PAID`], by date oldest first.
pub fn reconciled(
    db: &Db,
    org: &OrgRecord,
    request: &PaidRequest,
    debt_types: &[String],
) -> Result<Reconciled, SilError> {
    if debt_types.len() > MAX_KEYS {
        return Err(fault("PIVOT_SYSTEM_ERROR", format!("al più {MAX_KEYS} tipi dovuto")));
    }
    let selection = match request {
        PaidRequest::ByDate { from, to } => {
            let (Some(from), Some(to)) = (instant(from), instant(to)) else {
                return Err(fault("PIVOT_SYSTEM_ERROR", "dataDa e dataA devono essere date e ore ISO 8601"));
            };
            PaidSelection::ByDate { from, to }
        }
        PaidRequest::ByKeys { iuvs, iufs } => {
            if iuvs.is_empty() && iufs.is_empty() {
                return Err(fault(
                    "CODE_PIVOT_RICHIESTA_PER_IUV_IUF_NON_COMPLETA",
                    "indicare almeno un identificativoUnivocoVersamento o un identificativoFlusso",
                ));
            }
            if iuvs.len() > MAX_KEYS || iufs.len() > MAX_KEYS {
                return Err(fault("PIVOT_SYSTEM_ERROR", format!("al più {MAX_KEYS} IUV e {MAX_KEYS} IUF")));
            }
            PaidSelection::ByKeys { iuvs: iuvs.clone(), iufs: iufs.clone() }
        }
    };
    let rows = db.read(|conn| pivot::paid_transfers(conn, org.id, &selection, debt_types, MAX_PAID))?;
    let data_a = rows.iter().map(|r| r.data.clone()).max();
    Ok(Reconciled { rows, data_a })
}

/// A `pivotSILChiediAccertamento` request, its parts as sent (trimmed; empty is absent).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccertamentoRequest {
    /// `richiestaPerBolletta` was sent, with its year and number.
    pub bolletta: Option<(Option<String>, Option<String>)>,
    /// `richiestaPerIUF` was sent, with its IUF.
    pub iuf: Option<Option<String>>,
}

/// The longest office, debt type, chapter and assessment codes `pivotSILChiediAccertamento`'s
/// answer can carry (`stText12`, `stText64`, `stText12`, `stText35`); the registry and the
/// automatic bookings take up to 64.
pub const ANSWER_CODE_MAX: [(&str, usize); 4] =
    [("ufficio", 12), ("codTipoDovuto", 64), ("codCapitolo", 12), ("codAccertamento", 35)];

/// The sums of the org's CHIUSO accertamenti on the transfers a bolletta (its IUF's flow, else its
/// IUV) or a flow reached, by office, debt type, chapter and assessment; MyPivot's faults. A code
/// the answer's schema cannot carry (too long) is `PIVOT_SYSTEM_ERROR` naming it, never an
/// invalid answer.
pub fn accertamento(db: &Db, org: &OrgRecord, request: &AccertamentoRequest) -> Result<Vec<BookedSum>, SilError> {
    let sums = booked_sums(db, org, request)?;
    answerable(&sums)?;
    Ok(sums)
}

/// `PIVOT_SYSTEM_ERROR` naming the first code of `sums` the answer's schema cannot carry.
fn answerable(sums: &[BookedSum]) -> Result<(), SilError> {
    for sum in sums {
        let codes = [&sum.office, &sum.debt_type, &sum.chapter, &sum.accertamento];
        for ((element, max), code) in ANSWER_CODE_MAX.into_iter().zip(codes) {
            if code.is_empty() || code.chars().count() > max {
                return Err(fault(
                    "PIVOT_SYSTEM_ERROR",
                    format!("{element} [{code}] non rappresentabile nella risposta: da 1 a {max} caratteri"),
                ));
            }
        }
    }
    Ok(())
}

fn booked_sums(db: &Db, org: &OrgRecord, request: &AccertamentoRequest) -> Result<Vec<BookedSum>, SilError> {
    let no_flow = |iuf: &str| {
        fault("PIVOT_NESSUNA_RENDICONTAZIONE_TROVATA", format!("nessuna rendicontazione trovata per lo IUF {iuf}"))
    };
    match request {
        AccertamentoRequest { bolletta: Some(_), iuf: Some(_) } | AccertamentoRequest { bolletta: None, iuf: None } => {
            Err(fault("PIVOT_RICHIESTA_CON_PARAMETRI_MULTIPLI", "indicare la bolletta oppure lo IUF, uno solo"))
        }
        AccertamentoRequest { bolletta: Some((year, number)), iuf: None } => {
            let year =
                year.as_deref().ok_or_else(|| fault("PIVOT_PARAMETRO_ANNO_BOLLETTA_NULLO", "annoBolletta mancante"))?;
            let number = number
                .as_deref()
                .ok_or_else(|| fault("PIVOT_PARAMETRO_NUMERO_BOLLETTA_NULLO", "numeroBolletta mancante"))?;
            let not_found = || fault("PIVOT_BOLLETTA_NON_TROVATA", format!("bolletta {year}/{number} non trovata"));
            let year_number: i64 = year.parse().map_err(|_| not_found())?;
            db.read(|conn| {
                let found = pivot::find_bolletta(conn, org.id, year_number, number)?.ok_or_else(not_found)?;
                match (found.iuf, found.iuv) {
                    (Some(iuf), _) => {
                        if !pivot::flow_exists(conn, org.id, &iuf)? {
                            return Err(no_flow(&iuf));
                        }
                        Ok(pivot::booked_by_iuf(conn, org.id, &iuf)?)
                    }
                    (None, Some(iuv)) => Ok(pivot::booked_by_iuv(conn, org.id, &iuv)?),
                    (None, None) => Err(fault(
                        "PIVOT_BOLLETTA_NON_PAGOPA",
                        format!("la bolletta {year}/{number} non riporta né IUF né IUV"),
                    )),
                }
            })
        }
        AccertamentoRequest { bolletta: None, iuf: Some(iuf) } => {
            let iuf = iuf
                .as_deref()
                .ok_or_else(|| fault("PIVOT_PARAMETRO_IUF_NULLO", "identificativoUnivocoFlusso mancante"))?;
            db.read(|conn| {
                if !pivot::flow_exists(conn, org.id, iuf)? {
                    return Err(no_flow(iuf));
                }
                Ok(pivot::booked_by_iuf(conn, org.id, iuf)?)
            })
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]
    use super::*;
    use crate::services::testkit::{IPA, Kit};

    fn code(err: SilError) -> &'static str {
        match err {
            SilError::Fault { code, .. } => code,
            other => panic!("{other}"),
        }
    }

    /// A paying receipt of the kit's org for `iuv`, one transfer per amount.
    fn receipt(kit: &Kit, iuv: &str, iur: &str, transfers: &[i64]) {
        receipt_with(kit, iuv, iur, transfers, |_| {});
    }

    /// [`receipt`], changed by `tweak` before it is stored.
    fn receipt_with(
        kit: &Kit,
        iuv: &str,
        iur: &str,
        transfers: &[i64],
        tweak: impl FnOnce(&mut crate::store::receipts::ReceiptRecord),
    ) {
        use crate::domain::{Cents, Day, Party};
        use crate::store::receipts::{ReceiptRecord, ReceiptTransferRecord, insert_receipt};
        let org_id = kit.db.read(|c| orgs::find_org_by_ipa(c, IPA)).unwrap().unwrap().id;
        let record = ReceiptRecord {
            org_id,
            receipt_id: iur.to_owned(),
            notice_number: format!("3{iuv}"),
            iuv: iuv.to_owned(),
            outcome: "OK".to_owned(),
            amount_cents: Cents::new(transfers.iter().sum()),
            description: "pagamento".to_owned(),
            company_name: "Comune di Prova".to_owned(),
            debtor: Party {
                kind: "F".to_owned(),
                id: "RSSMRA80A01H501U".to_owned(),
                name: "ROSSI MARIO".to_owned(),
                ..Party::default()
            },
            psp_id: "TESTITM1XXX".to_owned(),
            psp_company_name: "Banca di Prova S.p.A.".to_owned(),
            channel_id: "TESTITM1XXX_01".to_owned(),
            channel_description: "canale".to_owned(),
            payment_date: Day::parse("2024-05-16").unwrap(),
            primitive: "paSendRTV2".to_owned(),
            request_xml: "<x/>".to_owned(),
            transfers: (1i64..)
                .zip(transfers)
                .map(|(index, cents)| ReceiptTransferRecord {
                    index,
                    amount_cents: Cents::new(*cents),
                    fiscal_code: crate::services::testkit::FISCAL_CODE.to_owned(),
                    iban: Some(crate::services::testkit::IBAN.to_owned()),
                    remittance: "pagamento".to_owned(),
                    category: "9/0101100IM/".to_owned(),
                    ..ReceiptTransferRecord::default()
                })
                .collect(),
            ..ReceiptRecord::default()
        };
        let mut record = record;
        tweak(&mut record);
        kit.db.write(|tx| insert_receipt(tx, &record, &kit.now.iso())).unwrap();
    }

    /// §1.7: another org's receipt paying this org a transfer with an IBAN is one of its rows (an
    /// S row: the collecting org as creditor, the transfer's amount as total, no IUD, filed under
    /// `EXPORT_ENTE_SECONDARIO`); a stamp is none, nor is a held receipt's transfer.
    #[test]
    fn another_orgs_receipt_paying_this_org_is_one_of_its_rows() {
        use crate::services::admin::orgs::{OrgChanges, add_org};
        let kit = Kit::new();
        let changes = OrgChanges {
            fiscal_code: Some("80012340123".to_owned()),
            name: Some("Unione dei Comuni".to_owned()),
            segregation_code: Some("02".to_owned()),
            ..Default::default()
        };
        add_org(&kit.db, "test", "c_benef", &changes, kit.now).unwrap();
        let beneficiary = kit.db.read(|c| orgs::find_org_by_ipa(c, "c_benef")).unwrap().unwrap();
        let collector = kit.db.read(|c| orgs::find_org_by_ipa(c, IPA)).unwrap().unwrap();
        let to_beneficiary = |held: bool| {
            move |r: &mut crate::store::receipts::ReceiptRecord| {
                r.held = held;
                if let [_, share, stamp] = r.transfers.as_mut_slice() {
                    share.fiscal_code = "80012340123".to_owned();
                    share.iban = Some("IT60X0542811101000000654321".to_owned());
                    stamp.fiscal_code = "80012340123".to_owned();
                    stamp.iban = None;
                    stamp.mbd_attachment = Some("UEsDBA==".to_owned());
                }
            }
        };
        receipt_with(&kit, "01000000000000701", "IUR-MB-1", &[10000, 2500, 1600], to_beneficiary(false));
        receipt_with(&kit, "01000000000000702", "IUR-MB-2", &[10000, 2500, 1600], to_beneficiary(true));
        let iuvs = vec!["01000000000000701".to_owned(), "01000000000000702".to_owned()];
        let keys = PaidRequest::ByKeys { iuvs, iufs: Vec::new() };
        let shape = |org: &OrgRecord, types: &[String]| {
            reconciled(&kit.db, org, &keys, types)
                .unwrap()
                .rows
                .into_iter()
                .map(|r| {
                    (
                        r.iuv,
                        r.transfer_index,
                        r.transfer_cents,
                        r.total_cents,
                        r.iud,
                        r.debt_type,
                        r.collector_fiscal_code,
                    )
                })
                .collect::<Vec<_>>()
        };
        let s_row = (
            "01000000000000701".to_owned(),
            2,
            2500,
            2500,
            None,
            Some("EXPORT_ENTE_SECONDARIO".to_owned()),
            Some(collector.fiscal_code.clone()),
        );
        assert_eq!(shape(&beneficiary, &[]), std::slice::from_ref(&s_row));
        assert_eq!(shape(&beneficiary, &["EXPORT_ENTE_SECONDARIO".to_owned()]), [s_row]);
        assert_eq!(shape(&beneficiary, &["TARI".to_owned()]), []);
        // The collecting org keeps only its own transfer.
        let own: Vec<_> = shape(&collector, &[]).into_iter().map(|r| (r.1, r.2, r.3, r.6)).collect();
        assert_eq!(own, [(1, 10000, 14100, None)]);
        // By date too.
        let by_date =
            PaidRequest::ByDate { from: "2000-01-01T00:00:00".to_owned(), to: "2100-01-01T00:00:00".to_owned() };
        let found = reconciled(&kit.db, &beneficiary, &by_date, &[]).unwrap();
        assert_eq!(
            found.rows.iter().map(|r| (r.receipt_id.as_str(), r.transfer_index)).collect::<Vec<_>>(),
            [("IUR-MB-1", 2)]
        );
    }

    /// One row per transfer; at most 1000 by date, `dataA` the latest `data`; none outside the range.
    #[test]
    fn rows_are_transfers_and_a_date_request_gives_at_most_a_thousand() {
        let kit = Kit::new();
        let org = kit.db.read(|c| orgs::find_org_by_ipa(c, IPA)).unwrap().unwrap();
        receipt(&kit, "01000000000000001", "IUR-A", &[1000, 250]);
        let keys = PaidRequest::ByKeys { iuvs: vec!["01000000000000001".to_owned()], iufs: Vec::new() };
        let found = reconciled(&kit.db, &org, &keys, &[]).unwrap();
        let shape: Vec<_> =
            found.rows.iter().map(|r| (r.transfer_index, r.transfer_cents, r.reported.is_some())).collect();
        assert_eq!(shape, [(1, 1000, false), (2, 250, false)]);
        for n in 2..=1001 {
            receipt(&kit, &format!("{n:017}"), &format!("IUR-{n}"), &[100]);
        }
        let all = PaidRequest::ByDate { from: "2000-01-01T00:00:00".to_owned(), to: "2100-01-01T00:00:00Z".to_owned() };
        let found = reconciled(&kit.db, &org, &all, &[]).unwrap();
        assert_eq!(found.rows.len(), MAX_PAID as usize);
        assert_eq!(found.data_a, Some(kit.now.iso()));
        let before = PaidRequest::ByDate { from: "2000-01-01T00:00:00".to_owned(), to: kit.now.iso() };
        assert_eq!(reconciled(&kit.db, &org, &before, &[]).unwrap(), Reconciled { rows: Vec::new(), data_a: None });
        let bad = PaidRequest::ByDate { from: "ieri".to_owned(), to: kit.now.iso() };
        assert_eq!(code(reconciled(&kit.db, &org, &bad, &[]).unwrap_err()), "PIVOT_SYSTEM_ERROR");
    }

    #[test]
    fn times_without_offset_are_italian() {
        assert_eq!(instant("2024-05-17T10:00:00").as_deref(), Some("2024-05-17T08:00:00Z"));
        assert_eq!(instant("2024-01-17T10:00:00Z").as_deref(), Some("2024-01-17T10:00:00Z"));
        assert_eq!(instant("2024-01-17T10:00:00+01:00").as_deref(), Some("2024-01-17T09:00:00Z"));
        assert_eq!(instant("ieri"), None);
    }

    /// Each refusal of §6 by its code; a token works for its org only and says its manage state.
    #[test]
    fn faults_and_manage_states() {
        let kit = Kit::new();
        let org = kit.db.read(|c| orgs::find_org_by_ipa(c, IPA)).unwrap().unwrap();
        let links = Links::with_key(b"0123456789abcdef0123456789abcdef");
        for kind in [Source::Receipt, Source::Reporting, Source::PosteReporting] {
            assert_eq!(
                code(authorize(&kit.db, &links, IPA, kind, kit.now).unwrap_err()),
                "CODE_PIVOT_TIPO_FLUSSO_NON_VALIDO"
            );
        }
        let done = authorize(&kit.db, &links, IPA, Source::CashJournal, kit.now).unwrap();
        assert_eq!(status(&kit.db, IPA, &done.request_token).unwrap(), WAITING_STATE);
        assert_eq!(code(status(&kit.db, IPA, "nessuno").unwrap_err()), "PIVOT_REQUEST_TOKEN_NON_VALIDO");
        let mypay = uploads::new_token(&kit.db, &links, IPA, None, kit.now).unwrap();
        assert_eq!(code(status(&kit.db, IPA, &mypay.request_token).unwrap_err()), "PIVOT_REQUEST_TOKEN_NON_VALIDO");

        let keys = PaidRequest::ByKeys { iuvs: Vec::new(), iufs: Vec::new() };
        assert_eq!(
            code(reconciled(&kit.db, &org, &keys, &[]).unwrap_err()),
            "CODE_PIVOT_RICHIESTA_PER_IUV_IUF_NON_COMPLETA"
        );
        let some = |s: &str| Some(s.to_owned());
        for (request, expected) in [
            (AccertamentoRequest::default(), "PIVOT_RICHIESTA_CON_PARAMETRI_MULTIPLI"),
            (
                AccertamentoRequest { bolletta: Some((some("2024"), some("1"))), iuf: Some(some("X")) },
                "PIVOT_RICHIESTA_CON_PARAMETRI_MULTIPLI",
            ),
            (
                AccertamentoRequest { bolletta: Some((None, some("1"))), iuf: None },
                "PIVOT_PARAMETRO_ANNO_BOLLETTA_NULLO",
            ),
            (
                AccertamentoRequest { bolletta: Some((some("2024"), None)), iuf: None },
                "PIVOT_PARAMETRO_NUMERO_BOLLETTA_NULLO",
            ),
            (AccertamentoRequest { bolletta: None, iuf: Some(None) }, "PIVOT_PARAMETRO_IUF_NULLO"),
            (
                AccertamentoRequest { bolletta: Some((some("2024"), some("1201"))), iuf: None },
                "PIVOT_BOLLETTA_NON_TROVATA",
            ),
            (
                AccertamentoRequest { bolletta: None, iuf: Some(some("NESSUNO")) },
                "PIVOT_NESSUNA_RENDICONTAZIONE_TROVATA",
            ),
        ] {
            assert_eq!(code(accertamento(&kit.db, &org, &request).unwrap_err()), expected, "{request:?}");
        }
    }

    /// Codes longer than the answer's schema allows are a fault naming the code, never an invalid answer.
    #[test]
    fn a_code_the_answer_cannot_carry_is_a_fault_naming_it() {
        let sum = |office: &str, debt_type: &str, chapter: &str, accertamento: &str| BookedSum {
            office: office.to_owned(),
            debt_type: debt_type.to_owned(),
            chapter: chapter.to_owned(),
            accertamento: accertamento.to_owned(),
            cents: 100,
        };
        let fits = sum("UFFICIO_TRIB", &"T".repeat(64), "CAPITOLO_123", &"A".repeat(35));
        assert!(answerable(std::slice::from_ref(&fits)).is_ok());
        for (bad, element, code) in [
            (sum("UFFICIO_TRIBU", "TARI", "1010", "n/a"), "ufficio", "UFFICIO_TRIBU".to_owned()),
            (sum("TRIB", &"T".repeat(65), "1010", "n/a"), "codTipoDovuto", "T".repeat(65)),
            (sum("TRIB", "TARI", "CAPITOLO_1234", "n/a"), "codCapitolo", "CAPITOLO_1234".to_owned()),
            (sum("TRIB", "TARI", "1010", &"A".repeat(36)), "codAccertamento", "A".repeat(36)),
            (sum("TRIB", "TARI", "", "n/a"), "codCapitolo", String::new()),
        ] {
            match answerable(&[fits.clone(), bad]).unwrap_err() {
                SilError::Fault { code: "PIVOT_SYSTEM_ERROR", description } => {
                    assert!(description.starts_with(&format!("{element} [{code}] ")), "{description}");
                }
                other => panic!("{other}"),
            }
        }
    }
}
