//! The export's bytes, checked against MyPivot's labels of mypivot.md §4 spelled out here, and a
//! line built by hand from the §7 data of payment P1.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use std::io::{Cursor, Read};

use super::*;
use crate::domain::reconciliation::{Bolletta, Provisional, Source};

const I_LABELS: &str = "\"codIudI\";\"codRpSilinviarpIdUnivocoVersamentoI\";\"codRpSoggPagIdUnivPagTipoIdUnivocoI\";\"codRpSoggPagIdUnivPagCodiceIdUnivocoI\";\"deRpSoggPagAnagraficaPagatoreI\";\"deRpSoggPagIndirizzoPagatoreI\";\"deRpSoggPagCivicoPagatoreI\";\"codRpSoggPagCapPagatoreI\";\"deRpSoggPagLocalitaPagatoreI\";\"deRpSoggPagProvinciaPagatoreI\";\"codRpSoggPagNazionePagatoreI\";\"deRpSoggPagEmailPagatoreI\";\"dtRpDatiVersDataEsecuzionePagamentoI\";\"codRpDatiVersTipoVersamentoI\";\"numRpDatiVersDatiSingVersImportoSingoloVersamentoI\";\"numRpDatiVersDatiSingVersCommissioneCaricoPaI\";\"deRpDatiVersDatiSingVersCausaleVersamentoI\";\"deRpDatiVersDatiSingVersDatiSpecificiRiscossioneI\";\"codTipoDovutoI\";\"bilancioI\";\"dtAcquisizioneI\"";

const E_LABELS: &str = "\"deNomeFlussoE\";\"numRigaFlussoE\";\"codIudE\";\"codRpSilinviarpIdUnivocoVersamentoE\";\"deEVersioneOggettoE\";\"codEDomIdDominioE\";\"codEDomIdStazioneRichiedenteE\";\"codEIdMessaggioRicevutaE\";\"dtEDataOraMessaggioRicevutaE\";\"codERiferimentoMessaggioRichiestaE\";\"dtERiferimentoDataRichiestaE\";\"codEIstitAttIdUnivAttTipoIdUnivocoE\";\"codEIstitAttIdUnivAttCodiceIdUnivocoE\";\"deEIstitAttDenominazioneAttestanteE\";\"codEIstitAttCodiceUnitOperAttestanteE\";\"deEIstitAttDenomUnitOperAttestanteE\";\"deEIstitAttIndirizzoAttestanteE\";\"deEIstitAttCivicoAttestanteE\";\"codEIstitAttCapAttestanteE\";\"deEIstitAttLocalitaAttestanteE\";\"deEIstitAttProvinciaAttestanteE\";\"codEIstitAttNazioneAttestanteE\";\"codEEnteBenefIdUnivBenefTipoIdUnivocoE\";\"codEEnteBenefIdUnivBenefCodiceIdUnivocoE\";\"deEEnteBenefDenominazioneBeneficiarioE\";\"codEEnteBenefCodiceUnitOperBeneficiarioE\";\"deEEnteBenefDenomUnitOperBeneficiarioE\";\"deEEnteBenefIndirizzoBeneficiarioE\";\"deEEnteBenefCivicoBeneficiarioE\";\"codEEnteBenefCapBeneficiarioE\";\"deEEnteBenefLocalitaBeneficiarioE\";\"deEEnteBenefProvinciaBeneficiarioE\";\"codEEnteBenefNazioneBeneficiarioE\";\"codESoggVersIdUnivVersTipoIdUnivocoE\";\"codESoggVersIdUnivVersCodiceIdUnivocoE\";\"codESoggVersAnagraficaVersanteE\";\"deESoggVersIndirizzoVersanteE\";\"deESoggVersCivicoVersanteE\";\"codESoggVersCapVersanteE\";\"deESoggVersLocalitaVersanteE\";\"deESoggVersProvinciaVersanteE\";\"codESoggVersNazioneVersanteE\";\"deESoggVersEmailVersanteE\";\"codESoggPagIdUnivPagTipoIdUnivocoE\";\"codESoggPagIdUnivPagCodiceIdUnivocoE\";\"codESoggPagAnagraficaPagatoreE\";\"deESoggPagIndirizzoPagatoreE\";\"deESoggPagCivicoPagatoreE\";\"codESoggPagCapPagatoreE\";\"deESoggPagLocalitaPagatoreE\";\"deESoggPagProvinciaPagatoreE\";\"codESoggPagNazionePagatoreE\";\"deESoggPagEmailPagatoreE\";\"codEDatiPagCodiceEsitoPagamentoE\";\"numEDatiPagImportoTotalePagatoE\";\"codEDatiPagIdUnivocoVersamentoE\";\"codEDatiPagCodiceContestoPagamentoE\";\"numEDatiPagDatiSingPagSingoloImportoPagatoE\";\"deEDatiPagDatiSingPagEsitoSingoloPagamentoE\";\"dtEDatiPagDatiSingPagDataEsitoSingoloPagamentoE\";\"codEDatiPagDatiSingPagIdUnivocoRiscossE\";\"deEDatiPagDatiSingPagCausaleVersamentoE\";\"deEDatiPagDatiSingPagDatiSpecificiRiscossioneE\";\"codTipoDovutoE\";\"dtAcquisizioneE\"";

const R_LABELS: &str = "\"versioneOggettoR\";\"codIdentificativoFlussoR\";\"dtDataOraFlussoR\";\"codIdentificativoUnivocoRegolamentoR\";\"dtDataRegolamentoR\";\"codIstMittIdUnivMittTipoIdentificativoUnivocoR\";\"codIstMittIdUnivMittCodiceIdentificativoUnivocoR\";\"deIstMittDenominazioneMittenteR\";\"codIstRicevIdUnivRicevTipoIdentificativoUnivocoR\";\"codIstRicevIdUnivRicevCodiceIdentificativoUnivocoR\";\"deIstRicevDenominazioneRiceventeR\";\"numNumeroTotalePagamentiR\";\"numImportoTotalePagamentiR\";\"codDatiSingPagamIdentificativoUnivocoVersamentoR\";\"codDatiSingPagamIdentificativoUnivocoRiscossioneR\";\"numDatiSingPagamSingoloImportoPagatoR\";\"codDatiSingPagamCodiceEsitoSingoloPagamentoR\";\"dtDatiSingPagamDataEsitoSingoloPagamentoR\";\"dtAcquisizioneR\"";

const T_LABELS: &str = "\"codAbiT\";\"codCabT\";\"codContoTesoreria\";\"codDivisaT\";\"dtDataContabileT\";\"dtDataValutaT\";\"numImportoTesoreria\";\"codSegnoT\";\"deCausaleT\";\"codNumeroAssegnoT\";\"codRiferimentoBancaT\";\"codRiferimentoClienteT\";\"dtDataOrdineT\";\"deDescrizioneOrdinanteT\"";

const TAG_LABELS: &str = "\"codBi2T\";\"codBe1T\";\"codIb1T\";\"codIb2T\";\"codIb4T\";\"codTidT\";\"codDteT\";\"codDtnT\";\"codEriT\";\"codIm2T\";\"codMa2T\";\"codRi3T\";\"codOr1T\";\"codSc2T\";\"codTr1T\";\"codSecT\";\"codIorT\"";

const KEY_LABELS: &str = "\"codIdUnivocoFlussoT\";\"codIdUnivocoVersamentoT\";\"dtAcquisizioneT\"";

const BOL_LABELS: &str = "\"deAnnoBollettaT\";\"codBollettaT\";\"codIdDominioT\";\"dtRicezioneT\";\"deAnnoDocumentoT\";\"codDocumentoT\";\"deAnnoProvvisorioT\";\"codProvvisorioT\"";

const TAIL_LABELS: &str = "\"classificazioneCompletezza\";\"dtDataUltimoAggiornamento\"";

const PA1_LABELS: &str =
    "\"cod_tipo_dovuto_pa1\";\"de_tipo_dovuto_pa1\";\"cod_tassonomico_dovuto_pa1\";\"cod_fiscale_pa1\";\"de_nome_pa1\"";

fn layout(version: Version, pagati: bool) -> Layout {
    Layout::new(version, Headers::MyPivot, pagati).unwrap()
}

fn join(parts: &[&str]) -> String {
    parts.join(";")
}

#[test]
fn header_lines_are_mypivots_labels_in_each_versions_order() {
    let v11 = join(&[I_LABELS, E_LABELS, R_LABELS, T_LABELS, "\"codOr1T\"", KEY_LABELS, BOL_LABELS, TAIL_LABELS]);
    assert_eq!(header_line(layout(Version::V1_1, false)), v11);
    assert_eq!(header_line(layout(Version::V1_1, true)), v11);

    let v10 = join(&[
        "\"mygovManageFlussoIdI\"",
        I_LABELS,
        "\"mygovManageFlussoIdE\"",
        E_LABELS,
        "\"mygovManageFlussoIdR\"",
        R_LABELS,
        "\"mygovManageFlussoIdT\"",
        T_LABELS,
        TAG_LABELS,
        KEY_LABELS,
        TAIL_LABELS,
    ]);
    assert_eq!(header_line(layout(Version::V1_0, false)), v10);

    let after_e = |sospeso: bool, pa1: bool| {
        let mut parts = vec!["\"bilancioE\"", R_LABELS, T_LABELS, "\"codOr1T\"", KEY_LABELS, BOL_LABELS];
        if sospeso {
            parts.push("\"dt_effettiva_sospeso_t\";\"codice_gestionale_provvisorio_t\"");
        }
        parts.push(TAIL_LABELS);
        if pa1 {
            parts.push(PA1_LABELS);
        }
        join(&parts)
    };
    for (version, sospeso, pa1) in
        [(Version::V1_2, false, false), (Version::V1_3, true, false), (Version::V1_4, true, true)]
    {
        let rest = after_e(sospeso, pa1);
        assert_eq!(header_line(layout(version, true)), join(&[I_LABELS, E_LABELS, &rest]), "{version:?}");
        assert_eq!(header_line(layout(version, false)), join(&[E_LABELS, &rest]), "{version:?}");
    }
}

#[test]
fn column_counts_per_version() {
    let counts = |version, pagati| layout(version, pagati).header().len();
    assert_eq!(counts(Version::V1_0, false), 145);
    assert_eq!(counts(Version::V1_1, false), 133);
    assert_eq!((counts(Version::V1_2, true), counts(Version::V1_2, false)), (134, 113));
    assert_eq!((counts(Version::V1_3, true), counts(Version::V1_3, false)), (136, 115));
    assert_eq!((counts(Version::V1_4, true), counts(Version::V1_4, false)), (141, 120));
    let p4pa = |version, pagati| Layout::new(version, Headers::P4pa, pagati).unwrap().header().len();
    assert_eq!((p4pa(Version::V1_3, true), p4pa(Version::V1_3, false)), (136, 115));
    assert_eq!((p4pa(Version::V1_4, true), p4pa(Version::V1_4, false)), (141, 120));
}

#[test]
fn p4pa_names_are_the_columns_with_the_i_block_last_and_only_for_1_3_and_1_4() {
    for version in [Version::V1_0, Version::V1_1, Version::V1_2] {
        assert!(matches!(Layout::new(version, Headers::P4pa, true), Err(ReconExportError::P4paVersion(_))));
    }
    let header = Layout::new(Version::V1_4, Headers::P4pa, true).unwrap().header();
    assert_eq!(header[..3], ["de_nome_flusso_e", "num_riga_flusso_e", "cod_iud_e"]);
    assert_eq!(header[65], "bilancioE");
    assert_eq!(header[85..87], ["cod_abi_t", "cod_cab_t"]);
    assert_eq!(header[113..115], ["classificazione_completezza", "dt_data_ultimo_aggiornamento"]);
    assert_eq!(header[115], "cod_iud_i");
    assert_eq!(header[135], "dt_acquisizione_i");
    assert_eq!(
        header[136..],
        ["cod_tipo_dovuto_pa1", "de_tipo_dovuto_pa1", "cod_tassonomico_dovuto_pa1", "cod_fiscale_pa1", "de_nome_pa1"]
    );
    let unique: std::collections::HashSet<_> = header.iter().collect();
    assert_eq!(unique.len(), header.len());
}

fn d(text: &str) -> Day {
    Day::parse(text).unwrap()
}

fn cents(text: &str) -> Cents {
    Cents::parse_decimal(text).unwrap()
}

fn party(kind: &str, id: &str, name: &str) -> Party {
    Party { kind: kind.into(), id: id.into(), name: name.into(), ..Party::default() }
}

/// Payment P1 of mypivot.md §7: notification 7.1 row 1, RT 7.2 row 1, FdR 7.3 row 1, OPI 7.6
/// movement 101 (bolletta 2024/1201, with its sospeso).
fn p1() -> ReconRow {
    let notification = PaymentNotification {
        iud: "TARI-2024-000123".into(),
        iuv: "01000000000012301".into(),
        payer: Party {
            address: Some("Via Roma".into()),
            civic_number: Some("10".into()),
            postal_code: Some("00100".into()),
            city: Some("Prova".into()),
            province: Some("XX".into()),
            country: Some("IT".into()),
            email: Some("mario.rossi@example.org".into()),
            ..party("F", "RSSMRA80A01H501U", "ROSSI MARIO")
        },
        paid_on: d("2024-05-16"),
        amount: cents("150.00"),
        fee: None,
        debt_type: "TARI".into(),
        payment_kind: "PO".into(),
        causale: "TARI 2024 RATA UNICA".into(),
        collection_data: "9/0101100IM/".into(),
        bilancio: None,
    };
    let receipt = ReceiptBlock {
        upload_id: Some(12),
        flow_name: "TARI2024L1".into(),
        flow_row: Some(1),
        iud: Some("TARI-2024-000123".into()),
        iuv: "01000000000012301".into(),
        object_version: "6.2.0".into(),
        domain_id: "80012340123".into(),
        station_id: "80012340123_01".into(),
        receipt_message_id: "RT-01000000000012301-1".into(),
        receipt_at: Some("2024-05-16T10:21:05".parse().unwrap()),
        request_message_ref: "RPT-01000000000012301-1".into(),
        request_day: Some(d("2024-05-16")),
        attestor: Institution { party: party("B", "TESTITM1XXX", "Banca di Prova S.p.A."), ..Institution::default() },
        beneficiary: Institution {
            party: Party {
                address: Some("Piazza Municipio".into()),
                civic_number: Some("1".into()),
                postal_code: Some("00100".into()),
                city: Some("Prova".into()),
                province: Some("XX".into()),
                country: Some("IT".into()),
                ..party("G", "80012340123", "Comune di Prova")
            },
            ..Institution::default()
        },
        payer: None,
        debtor: Party { country: Some("IT".into()), ..party("F", "RSSMRA80A01H501U", "ROSSI MARIO") },
        outcome_code: "0".into(),
        total_paid: Some(cents("150.00")),
        context_code: "IUR20240516000001".into(),
        transfer_amount: Some(cents("150.00")),
        transfer_outcome: "ESEGUITO".into(),
        transfer_outcome_day: Some(d("2024-05-16")),
        iur: "IUR20240516000001".into(),
        causale: "/RFB/01000000000012301/150.00/TXT/TARI 2024 RATA UNICA".into(),
        collection_data: "9/0101100IM/".into(),
        debt_type: "TARI".into(),
        acquired_on: Some(d("2024-05-18")),
        bilancio: None,
    };
    let reporting = ReportingBlock {
        upload_id: Some(13),
        object_version: "1.0".into(),
        iuf: "2024-05-17TESTITM1XXX-S000001".into(),
        flow_at: Some("2024-05-17T06:30:00".parse().unwrap()),
        settlement_id: "TRN240517000000000000001".into(),
        settlement_day: Some(d("2024-05-17")),
        sender: party("B", "TESTITM1XXX", "Banca di Prova S.p.A."),
        receiver: party("G", "80012340123", "Comune di Prova"),
        total_count: Some(5),
        total_amount: Some(cents("292.00")),
        iuv: "01000000000012301".into(),
        iur: "IUR20240516000001".into(),
        amount: Some(cents("150.00")),
        outcome_code: "0".into(),
        outcome_day: Some(d("2024-05-16")),
        acquired_on: Some(d("2024-05-17")),
    };
    let movement = TreasuryMovement {
        source: Source::Opi,
        bolletta: Some(Bolletta { year: 2024, number: "1201".into() }),
        account: Some("0012345".into()),
        booking_day: d("2024-05-17"),
        value_day: Some(d("2024-05-17")),
        amount: cents("292.00"),
        causale: "/PUR/LGPE-RIVERSAMENTO/URI/2024-05-17TESTITM1XXX-S000001".into(),
        payer_name: Some("BANCA DI PROVA SPA".into()),
        iuf: Some("2024-05-17TESTITM1XXX-S000001".into()),
        iuv: None,
        end_to_end_id: Some("E2E240517000000000000001".into()),
        document: Some("1201".into()),
        provisional: Some(Provisional { day: Some(d("2024-05-17")), code: Some("1000".into()) }),
        bank: None,
    };
    ReconRow {
        notification: Some(NotificationBlock::of(&notification, Some(11), d("2024-05-17"))),
        receipt: Some(receipt),
        reporting: Some(reporting),
        treasury: Some(TreasuryBlock::of(&movement, Some(14), d("2024-05-20"))),
        primary: None,
        last_update: Some(d("2024-05-20")),
    }
}

const P1_I: &str = "\"TARI-2024-000123\";\"01000000000012301\";\"F\";\"RSSMRA80A01H501U\";\"ROSSI MARIO\";\"Via Roma\";\"10\";\"00100\";\"Prova\";\"XX\";\"IT\";\"mario.rossi@example.org\";\"2024-05-16\";\"PO\";\"150.00\";\"\";\"TARI 2024 RATA UNICA\";\"9/0101100IM/\";\"TARI\";\"\";\"2024-05-17\"";

const P1_E: &str = "\"TARI2024L1\";\"1\";\"TARI-2024-000123\";\"01000000000012301\";\"6.2.0\";\"80012340123\";\"80012340123_01\";\"RT-01000000000012301-1\";\"2024-05-16T10:21:05\";\"RPT-01000000000012301-1\";\"2024-05-16\";\"B\";\"TESTITM1XXX\";\"Banca di Prova S.p.A.\";\"\";\"\";\"\";\"\";\"\";\"\";\"\";\"\";\"G\";\"80012340123\";\"Comune di Prova\";\"\";\"\";\"Piazza Municipio\";\"1\";\"00100\";\"Prova\";\"XX\";\"IT\";\"\";\"\";\"\";\"\";\"\";\"\";\"\";\"\";\"\";\"\";\"F\";\"RSSMRA80A01H501U\";\"ROSSI MARIO\";\"\";\"\";\"\";\"\";\"\";\"IT\";\"\";\"0\";\"150.00\";\"01000000000012301\";\"IUR20240516000001\";\"150.00\";\"ESEGUITO\";\"2024-05-16\";\"IUR20240516000001\";\"/RFB/01000000000012301/150.00/TXT/TARI 2024 RATA UNICA\";\"9/0101100IM/\";\"TARI\";\"2024-05-18\"";

const P1_R: &str = "\"1.0\";\"2024-05-17TESTITM1XXX-S000001\";\"2024-05-17T06:30:00\";\"TRN240517000000000000001\";\"2024-05-17\";\"B\";\"TESTITM1XXX\";\"Banca di Prova S.p.A.\";\"G\";\"80012340123\";\"Comune di Prova\";\"5\";\"292.00\";\"01000000000012301\";\"IUR20240516000001\";\"150.00\";\"0\";\"2024-05-16\";\"2024-05-17\"";

const P1_T: &str = "\"\";\"\";\"0012345\";\"\";\"2024-05-17\";\"2024-05-17\";\"292.00\";\"\";\"/PUR/LGPE-RIVERSAMENTO/URI/2024-05-17TESTITM1XXX-S000001\";\"\";\"\";\"\";\"\";\"\"";

const P1_KEYS: &str = "\"2024-05-17TESTITM1XXX-S000001\";\"\";\"2024-05-20\"";

const P1_BOL: &str = "\"2024\";\"1201\";\"\";\"\";\"2024\";\"1201\";\"\";\"\"";

const P1_LABELS: [&str; 4] = ["IUD_RT_IUF_TES", "IUD_RT_IUF", "RT_IUF_TES", "RT_IUF"];

fn p1_labels() -> Vec<Label> {
    P1_LABELS.iter().map(|code| Label::from_code(code).unwrap()).collect()
}

/// The export of P1 in a layout: the CSV's name in the ZIP and its text.
fn export(layout: Layout) -> (String, String) {
    let mut zip =
        ReconCsvZip::start(Cursor::new(Vec::new()), "c_x999-7_ESTRAZIONE_RICONCILIAZIONE_20240521093000-1_x", layout)
            .unwrap();
    zip.write(&p1(), &p1_labels()).unwrap();
    assert_eq!(zip.lines(), 4);
    let bytes = zip.finish().unwrap().into_inner();
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).unwrap();
    assert_eq!(archive.len(), 1);
    let mut file = archive.by_index(0).unwrap();
    let name = file.name().to_owned();
    let mut text = String::new();
    file.read_to_string(&mut text).unwrap();
    (name, text)
}

/// The four lines of P1, one per label, from the line without its tail.
fn lines(before_tail: &str, after_tail: Option<&str>) -> Vec<String> {
    P1_LABELS
        .iter()
        .map(|label| {
            let mut line = format!("{before_tail};\"{label}\";\"2024-05-20\"");
            if let Some(after) = after_tail {
                line.push(';');
                line.push_str(after);
            }
            line
        })
        .collect()
}

fn check(layout: Layout, expected: &[String]) {
    let (name, text) = export(layout);
    assert_eq!(name, "c_x999-7_ESTRAZIONE_RICONCILIAZIONE_20240521093000-1_x.csv");
    let mut got = text.split('\n');
    assert_eq!(got.next().unwrap(), header_line(layout));
    for line in expected {
        let got_line = got.next().unwrap();
        assert_eq!(got_line, line, "{layout:?}");
        assert_eq!(got_line.split("\";\"").count(), layout.header().len(), "{layout:?}");
    }
    assert_eq!(got.collect::<Vec<_>>(), [""], "one \\n after the last line, nothing more");
}

#[test]
fn p1_in_version_1_0() {
    let tags = "\"\";\"\";\"\";\"\";\"\";\"\";\"\";\"\";\"\";\"\";\"\";\"\";\"BANCA DI PROVA SPA\";\"\";\"\";\"\";\"\"";
    let before = join(&["\"11\"", P1_I, "\"12\"", P1_E, "\"13\"", P1_R, "\"14\"", P1_T, tags, P1_KEYS]);
    check(layout(Version::V1_0, false), &lines(&before, None));
}

#[test]
fn p1_in_version_1_1() {
    let before = join(&[P1_I, P1_E, P1_R, P1_T, "\"BANCA DI PROVA SPA\"", P1_KEYS, P1_BOL]);
    check(layout(Version::V1_1, false), &lines(&before, None));
}

#[test]
fn p1_in_version_1_2_with_and_without_notifications() {
    let rest = join(&["\"\"", P1_R, P1_T, "\"BANCA DI PROVA SPA\"", P1_KEYS, P1_BOL]);
    check(layout(Version::V1_2, true), &lines(&join(&[P1_I, P1_E, &rest]), None));
    // Without flg_pagati, 1.2 refuses the IUD labels, as MyPivot does; RT_IUF_TES and RT_IUF go.
    let without = layout(Version::V1_2, false);
    let mut zip = ReconCsvZip::start(Cursor::new(Vec::new()), "x", without).unwrap();
    assert!(matches!(zip.write(&p1(), &p1_labels()), Err(ReconExportError::LabelNeedsNotifications("IUD_RT_IUF_TES"))));
    assert_eq!(zip.lines(), 0);
    zip.write(&p1(), &[Label::RtIufTes]).unwrap();
    let bytes = zip.finish().unwrap().into_inner();
    let mut text = String::new();
    zip::ZipArchive::new(Cursor::new(bytes)).unwrap().by_index(0).unwrap().read_to_string(&mut text).unwrap();
    let line = text.lines().nth(1).unwrap();
    assert_eq!(line, format!("{};\"RT_IUF_TES\";\"2024-05-20\"", join(&[P1_E, &rest])));
    assert_eq!(line.split("\";\"").count(), 113);
}

#[test]
fn p1_in_versions_1_3_and_1_4() {
    let sospeso = "\"2024-05-17\";\"1000\"";
    let before = join(&[P1_I, P1_E, "\"\"", P1_R, P1_T, "\"BANCA DI PROVA SPA\"", P1_KEYS, P1_BOL, sospeso]);
    check(layout(Version::V1_3, true), &lines(&before, None));
    check(layout(Version::V1_4, true), &lines(&before, Some("\"\";\"\";\"\";\"\";\"\"")));
    let without = join(&[P1_E, "\"\"", P1_R, P1_T, "\"BANCA DI PROVA SPA\"", P1_KEYS, P1_BOL, sospeso]);
    check(layout(Version::V1_4, false), &lines(&without, Some("\"\";\"\";\"\";\"\";\"\"")));
    // P4PA's order: the I block after the tail, then pa1.
    let p4pa = Layout::new(Version::V1_4, Headers::P4pa, true).unwrap();
    let after = join(&[P1_I, "\"\";\"\";\"\";\"\";\"\""]);
    check(p4pa, &lines(&without, Some(&after)));
}

#[test]
fn the_talend_dialect_escapes_quotes_and_backslashes_with_a_backslash() {
    let mut csv = TalendCsv::new(Vec::new());
    csv.row(&["a\"b", "c\\d", "e;f", "", "g\nh", "àè €"]).unwrap();
    assert_eq!(String::from_utf8(csv.into_inner()).unwrap(), "\"a\\\"b\";\"c\\\\d\";\"e;f\";\"\";\"g\nh\";\"àè €\"\n");
}

#[test]
fn a_lone_movement_fills_its_block_and_leaves_the_others_empty() {
    let movement = TreasuryMovement {
        source: Source::BankMovements,
        bolletta: None,
        account: Some("000000012345".into()),
        booking_day: d("2024-05-20"),
        value_day: Some(d("2024-05-20")),
        amount: cents("500.00"),
        causale: "BONIFICO \"AFFITTO\" C:\\LOCALI".into(),
        payer_name: Some("BIANCHI LUIGI".into()),
        iuf: None,
        iuv: None,
        end_to_end_id: None,
        document: None,
        provisional: None,
        bank: Some(crate::domain::reconciliation::BankDetails {
            abi: Some("99999".into()),
            cab: Some("01600".into()),
            currency: Some("EUR".into()),
            bank_reference: Some("BT240520005".into()),
            tags: vec![("OR1".into(), "BIANCHI LUIGI".into()), ("BI2".into(), "TESTITM1XXX".into())],
            ..Default::default()
        }),
    };
    let row = ReconRow {
        treasury: Some(TreasuryBlock::of(&movement, None, d("2024-05-21"))),
        last_update: Some(d("2024-05-21")),
        ..ReconRow::default()
    };
    let layout = layout(Version::V1_0, false);
    let mut cells = Vec::new();
    line_cells(layout, &row, Some(Label::TesNoMatch), &mut cells);
    assert_eq!(cells.len(), 145);
    let t = 1 + 21 + 1 + 65 + 1 + 19 + 1;
    assert!(cells[..t].iter().all(String::is_empty), "no I, E, R: {:?}", &cells[..t]);
    assert_eq!(
        cells[t..t + 14],
        [
            "99999",
            "01600",
            "000000012345",
            "EUR",
            "2024-05-20",
            "2024-05-20",
            "500.00",
            "+",
            "BONIFICO \"AFFITTO\" C:\\LOCALI",
            "",
            "BT240520005",
            "",
            "",
            ""
        ]
    );
    assert_eq!(cells[t + 14], "TESTITM1XXX", "codBi2T");
    assert_eq!(cells[t + 14 + 12], "BIANCHI LUIGI", "codOr1T");
    assert_eq!(cells[140..], ["", "", "2024-05-21", "TES_NO_MATCH", "2024-05-21"]);

    let mut csv = TalendCsv::new(Vec::new());
    csv.row(&cells).unwrap();
    let text = String::from_utf8(csv.into_inner()).unwrap();
    assert!(text.contains(";\"BONIFICO \\\"AFFITTO\\\" C:\\\\LOCALI\";"), "{text}");

    // No label at all: one line, the classification empty.
    let mut zip = ReconCsvZip::start(Cursor::new(Vec::new()), "x", layout).unwrap();
    zip.write(&ReconRow::default(), &[]).unwrap();
    assert_eq!(zip.lines(), 1);
    let bytes = zip.finish().unwrap().into_inner();
    let mut text = String::new();
    zip::ZipArchive::new(Cursor::new(bytes)).unwrap().by_index(0).unwrap().read_to_string(&mut text).unwrap();
    assert_eq!(text.lines().nth(1).unwrap(), vec!["\"\""; 145].join(";"));
}

#[test]
fn doppi_lines_are_written_like_any_label() {
    let mut zip = ReconCsvZip::start(Cursor::new(Vec::new()), "x", layout(Version::V1_4, true)).unwrap();
    zip.write(&p1(), &[Label::Doppi]).unwrap();
    assert_eq!(zip.lines(), 1);
}

#[test]
fn file_names_follow_mypivot() {
    let local: DateTime = "2024-05-21T14:30:05".parse().unwrap();
    assert_eq!(
        file_stem(Version::V1_4, "c_x999", 42, &local),
        "c_x999-42_ESTRAZIONE_RICONCILIAZIONE_20240521023005-1_4"
    );
    let morning: DateTime = "2024-05-21T09:03:00".parse().unwrap();
    assert_eq!(
        file_stem(Version::V1_0, "c_x999", 7, &morning),
        "c_x999-7_ESTRAZIONE_RICONCILIAZIONE_20240521090300-1_0"
    );
    assert_eq!(Version::parse(" 1.2 "), Some(Version::V1_2));
    assert_eq!(Version::parse("1.5"), None);
}

#[test]
fn a_file_is_written_under_its_name_only_when_complete() {
    let dir = std::env::temp_dir().join(format!("mypay-recon-export-{}", std::process::id()));
    let stem = "c_x999-1_ESTRAZIONE_RICONCILIAZIONE_20240521023005-1_3";
    let (path, lines) = write_file(&dir, stem, layout(Version::V1_3, true), [(p1(), p1_labels())]).unwrap();
    assert_eq!((path.file_name().unwrap().to_str().unwrap(), lines), (&*format!("{stem}.zip"), 4));
    let failed = write_file(&dir, "refused", layout(Version::V1_2, false), [(p1(), p1_labels())]);
    assert!(failed.is_err());
    assert!(!dir.join("refused.zip").exists() && !dir.join(".refused.zip.partial").exists());
    std::fs::remove_dir_all(&dir).unwrap();
}
