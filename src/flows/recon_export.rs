//! MyPivot's reconciliation export ("flusso riconciliazione"), layouts 1.0 to 1.4: the header of
//! each version, the CSV dialect MyPivot's Talend jobs write, the file names, and one line per
//! (transfer × label), streamed into a ZIP holding the same-name CSV.
//!
//! Owns: [`Version`], [`Headers`] (MyPivot's camelCase labels, or P4PA's snake_case ones for 1.3 and
//! 1.4), [`ReconRow`] and its blocks (I [`NotificationBlock`], E [`ReceiptBlock`], R
//! [`ReportingBlock`], T [`TreasuryBlock`], the 1.4 [`PrimaryOrg`]), which the reconciliation fills
//! from a notification, a receipt and its transfer, a reporting row and its flow, a treasury
//! movement; [`TalendCsv`] (the dialect) and [`ReconExportZip`] (the streamed file).
//! The dialect is Talend's CSV mode as MyPivot configures it: UTF-8, `;`, every field in `"` (a
//! null is `""`), `"` and `\` escaped with `\`, `\n` line ends, a header row; days `yyyy-MM-dd`,
//! date-times `yyyy-MM-dd'T'HH:mm:ss`, amounts with a `.` and two decimals.
//! Which values are date-times is fixed here, not by the caller: only the receipt's message time
//! (`dtEDataOraMessaggioRicevutaE`) and the flow's time (`dtDataOraFlussoR`) are; every other date
//! column is a day, so two engines filling the same row write the same bytes.
//! Must never: read the store, decide a label (the engine's), or hold a file in memory.
//! Implements: `shared/reference/mypivot.md` §4 (and §8: camelCase labels by default, P4PA's
//! names as [`Headers::P4pa`]; DOPPI lines are written like any other label).

use std::io::{self, Seek, Write};

use jiff::civil::DateTime;
use zip::write::SimpleFileOptions;

use crate::domain::reconciliation::{Label, PaymentNotification, TreasuryMovement};
use crate::domain::{Cents, Day, Party};

/// The layouts of `VERSIONE_TRACCIATO_EXPORT`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Version {
    V1_0,
    V1_1,
    V1_2,
    V1_3,
    V1_4,
}

impl Version {
    pub const ALL: [Version; 5] = [Version::V1_0, Version::V1_1, Version::V1_2, Version::V1_3, Version::V1_4];

    /// `1.0` … `1.4`, as the CLI, the back office and the SIL's `versioneTracciato` give it.
    pub fn parse(text: &str) -> Option<Version> {
        Version::ALL.into_iter().find(|version| version.as_str() == text.trim())
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Version::V1_0 => "1.0",
            Version::V1_1 => "1.1",
            Version::V1_2 => "1.2",
            Version::V1_3 => "1.3",
            Version::V1_4 => "1.4",
        }
    }

    /// Whether the I block is written whatever the org's flags: 1.0 and 1.1 always carry it; from
    /// 1.2 on it is there only for an org with `flg_pagati` (MyPivot has two writers per version).
    fn notifications_always(self) -> bool {
        matches!(self, Version::V1_0 | Version::V1_1)
    }
}

/// Which names the header row uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Headers {
    /// MyPivot's Talend schema labels (camelCase, the late additions in snake_case): what the
    /// municipalities' accounting software already reads. The default.
    #[default]
    MyPivot,
    /// P4PA's re-implementation: the database column names (`cod_iud_i`, `de_nome_flusso_e`, …),
    /// the I block moved after the tail. Only 1.3 and 1.4 exist in it.
    P4pa,
}

/// What the export is asked to write: a version, its header names, and the org's `flg_pagati`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layout {
    pub version: Version,
    pub headers: Headers,
    /// The org sends payment notifications (`flg_pagati`): from 1.2 on, the I block is written.
    pub pagati: bool,
}

/// Why a layout or a line cannot be written.
#[derive(Debug, thiserror::Error)]
pub enum ReconExportError {
    /// P4PA's names exist for 1.3 and 1.4 only.
    #[error("the P4PA header names exist for versions 1.3 and 1.4 only, not {0}")]
    P4paVersion(&'static str),
    /// MyPivot's CLASSIFICAZIONE_COMPLETEZZA_NON_VALIDA: a notification label in 1.2 for an org that
    /// sends no notifications.
    #[error("label {0} needs payment notifications, which this org does not send (version 1.2)")]
    LabelNeedsNotifications(&'static str),
    #[error(transparent)]
    Io(#[from] io::Error),
}

impl Layout {
    /// Checks the combination: P4PA names only for 1.3/1.4.
    pub fn new(version: Version, headers: Headers, pagati: bool) -> Result<Layout, ReconExportError> {
        if headers == Headers::P4pa && !matches!(version, Version::V1_3 | Version::V1_4) {
            return Err(ReconExportError::P4paVersion(version.as_str()));
        }
        Ok(Layout { version, headers, pagati })
    }

    /// Whether lines carry the I block.
    pub fn with_notifications(self) -> bool {
        self.version.notifications_always() || self.pagati
    }

    /// MyPivot refuses, in 1.2 only, an export asking for IUD_* or RT_NO_IUD labels of an org
    /// without `flg_pagati` (`validaClassificazioneCompletezzaOnVersioneTracciato`).
    pub fn check_label(self, label: Label) -> Result<(), ReconExportError> {
        let needs_notifications =
            matches!(label, Label::IudRtIufTes | Label::IudRtIuf | Label::IudNoRt | Label::RtNoIud);
        if self.version == Version::V1_2 && !self.pagati && needs_notifications {
            return Err(ReconExportError::LabelNeedsNotifications(label.code()));
        }
        Ok(())
    }

    /// The header row.
    pub fn header(self) -> Vec<&'static str> {
        match self.headers {
            Headers::MyPivot => mypivot_header(self),
            Headers::P4pa => p4pa_header(self),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Header labels (mypivot.md §4, blocks I/E/R/T/TAGS/BOL/TAIL)

const I_BLOCK: [&str; 21] = [
    "codIudI",
    "codRpSilinviarpIdUnivocoVersamentoI",
    "codRpSoggPagIdUnivPagTipoIdUnivocoI",
    "codRpSoggPagIdUnivPagCodiceIdUnivocoI",
    "deRpSoggPagAnagraficaPagatoreI",
    "deRpSoggPagIndirizzoPagatoreI",
    "deRpSoggPagCivicoPagatoreI",
    "codRpSoggPagCapPagatoreI",
    "deRpSoggPagLocalitaPagatoreI",
    "deRpSoggPagProvinciaPagatoreI",
    "codRpSoggPagNazionePagatoreI",
    "deRpSoggPagEmailPagatoreI",
    "dtRpDatiVersDataEsecuzionePagamentoI",
    "codRpDatiVersTipoVersamentoI",
    "numRpDatiVersDatiSingVersImportoSingoloVersamentoI",
    "numRpDatiVersDatiSingVersCommissioneCaricoPaI",
    "deRpDatiVersDatiSingVersCausaleVersamentoI",
    "deRpDatiVersDatiSingVersDatiSpecificiRiscossioneI",
    "codTipoDovutoI",
    "bilancioI",
    "dtAcquisizioneI",
];

const I_BLOCK_P4PA: [&str; 21] = [
    "cod_iud_i",
    "cod_rp_silinviarp_id_univoco_versamento_i",
    "cod_rp_sogg_pag_id_univ_pag_tipo_id_univoco_i",
    "cod_rp_sogg_pag_id_univ_pag_codice_id_univoco_i",
    "de_rp_sogg_pag_anagrafica_pagatore_i",
    "de_rp_sogg_pag_indirizzo_pagatore_i",
    "de_rp_sogg_pag_civico_pagatore_i",
    "cod_rp_sogg_pag_cap_pagatore_i",
    "de_rp_sogg_pag_localita_pagatore_i",
    "de_rp_sogg_pag_provincia_pagatore_i",
    "cod_rp_sogg_pag_nazione_pagatore_i",
    "de_rp_sogg_pag_email_pagatore_i",
    "dt_rp_dati_vers_data_esecuzione_pagamento_i",
    "cod_rp_dati_vers_tipo_versamento_i",
    "num_rp_dati_vers_dati_sing_vers_importo_singolo_versamento_i",
    "num_rp_dati_vers_dati_sing_vers_commissione_carico_pa_i",
    "de_rp_dati_vers_dati_sing_vers_causale_versamento_i",
    "de_rp_dati_vers_dati_sing_vers_dati_specifici_riscossione_i",
    "cod_tipo_dovuto_i",
    "bilancio_i",
    "dt_acquisizione_i",
];

/// The E block's view columns, snake_case; the camelCase label is derived from each
/// ([`camel`]), as MyPivot's schema labels are the view's columns in camelCase.
const E_BLOCK: [&str; 65] = [
    "de_nome_flusso_e",
    "num_riga_flusso_e",
    "cod_iud_e",
    "cod_rp_silinviarp_id_univoco_versamento_e",
    "de_e_versione_oggetto_e",
    "cod_e_dom_id_dominio_e",
    "cod_e_dom_id_stazione_richiedente_e",
    "cod_e_id_messaggio_ricevuta_e",
    "dt_e_data_ora_messaggio_ricevuta_e",
    "cod_e_riferimento_messaggio_richiesta_e",
    "dt_e_riferimento_data_richiesta_e",
    "cod_e_istit_att_id_univ_att_tipo_id_univoco_e",
    "cod_e_istit_att_id_univ_att_codice_id_univoco_e",
    "de_e_istit_att_denominazione_attestante_e",
    "cod_e_istit_att_codice_unit_oper_attestante_e",
    "de_e_istit_att_denom_unit_oper_attestante_e",
    "de_e_istit_att_indirizzo_attestante_e",
    "de_e_istit_att_civico_attestante_e",
    "cod_e_istit_att_cap_attestante_e",
    "de_e_istit_att_localita_attestante_e",
    "de_e_istit_att_provincia_attestante_e",
    "cod_e_istit_att_nazione_attestante_e",
    "cod_e_ente_benef_id_univ_benef_tipo_id_univoco_e",
    "cod_e_ente_benef_id_univ_benef_codice_id_univoco_e",
    "de_e_ente_benef_denominazione_beneficiario_e",
    "cod_e_ente_benef_codice_unit_oper_beneficiario_e",
    "de_e_ente_benef_denom_unit_oper_beneficiario_e",
    "de_e_ente_benef_indirizzo_beneficiario_e",
    "de_e_ente_benef_civico_beneficiario_e",
    "cod_e_ente_benef_cap_beneficiario_e",
    "de_e_ente_benef_localita_beneficiario_e",
    "de_e_ente_benef_provincia_beneficiario_e",
    "cod_e_ente_benef_nazione_beneficiario_e",
    "cod_e_sogg_vers_id_univ_vers_tipo_id_univoco_e",
    "cod_e_sogg_vers_id_univ_vers_codice_id_univoco_e",
    "cod_e_sogg_vers_anagrafica_versante_e",
    "de_e_sogg_vers_indirizzo_versante_e",
    "de_e_sogg_vers_civico_versante_e",
    "cod_e_sogg_vers_cap_versante_e",
    "de_e_sogg_vers_localita_versante_e",
    "de_e_sogg_vers_provincia_versante_e",
    "cod_e_sogg_vers_nazione_versante_e",
    "de_e_sogg_vers_email_versante_e",
    "cod_e_sogg_pag_id_univ_pag_tipo_id_univoco_e",
    "cod_e_sogg_pag_id_univ_pag_codice_id_univoco_e",
    "cod_e_sogg_pag_anagrafica_pagatore_e",
    "de_e_sogg_pag_indirizzo_pagatore_e",
    "de_e_sogg_pag_civico_pagatore_e",
    "cod_e_sogg_pag_cap_pagatore_e",
    "de_e_sogg_pag_localita_pagatore_e",
    "de_e_sogg_pag_provincia_pagatore_e",
    "cod_e_sogg_pag_nazione_pagatore_e",
    "de_e_sogg_pag_email_pagatore_e",
    "cod_e_dati_pag_codice_esito_pagamento_e",
    "num_e_dati_pag_importo_totale_pagato_e",
    "cod_e_dati_pag_id_univoco_versamento_e",
    "cod_e_dati_pag_codice_contesto_pagamento_e",
    "num_e_dati_pag_dati_sing_pag_singolo_importo_pagato_e",
    "de_e_dati_pag_dati_sing_pag_esito_singolo_pagamento_e",
    "dt_e_dati_pag_dati_sing_pag_data_esito_singolo_pagamento_e",
    "cod_e_dati_pag_dati_sing_pag_id_univoco_riscoss_e",
    "de_e_dati_pag_dati_sing_pag_causale_versamento_e",
    "de_e_dati_pag_dati_sing_pag_dati_specifici_riscossione_e",
    "cod_tipo_dovuto_e",
    "dt_acquisizione_e",
];

const R_BLOCK: [&str; 19] = [
    "versione_oggetto_r",
    "cod_identificativo_flusso_r",
    "dt_data_ora_flusso_r",
    "cod_identificativo_univoco_regolamento_r",
    "dt_data_regolamento_r",
    "cod_ist_mitt_id_univ_mitt_tipo_identificativo_univoco_r",
    "cod_ist_mitt_id_univ_mitt_codice_identificativo_univoco_r",
    "de_ist_mitt_denominazione_mittente_r",
    "cod_ist_ricev_id_univ_ricev_tipo_identificativo_univoco_r",
    "cod_ist_ricev_id_univ_ricev_codice_identificativo_univoco_r",
    "de_ist_ricev_denominazione_ricevente_r",
    "num_numero_totale_pagamenti_r",
    "num_importo_totale_pagamenti_r",
    "cod_dati_sing_pagam_identificativo_univoco_versamento_r",
    "cod_dati_sing_pagam_identificativo_univoco_riscossione_r",
    "num_dati_sing_pagam_singolo_importo_pagato_r",
    "cod_dati_sing_pagam_codice_esito_singolo_pagamento_r",
    "dt_dati_sing_pagam_data_esito_singolo_pagamento_r",
    "dt_acquisizione_r",
];

/// The 14 T columns every version has, then the four after the tags.
const T_COMMON: [&str; 14] = [
    "cod_abi_t",
    "cod_cab_t",
    "cod_conto_tesoreria",
    "cod_divisa_t",
    "dt_data_contabile_t",
    "dt_data_valuta_t",
    "num_importo_tesoreria",
    "cod_segno_t",
    "de_causale_t",
    "cod_numero_assegno_t",
    "cod_riferimento_banca_t",
    "cod_riferimento_cliente_t",
    "dt_data_ordine_t",
    "de_descrizione_ordinante_t",
];

/// The `:XXX:` tags of a bank movement's extended description, 1.0's TAGS block, in order.
const TAGS: [&str; 17] = [
    "BI2", "BE1", "IB1", "IB2", "IB4", "TID", "DTE", "DTN", "ERI", "IM2", "MA2", "RI3", "OR1", "SC2", "TR1", "SEC",
    "IOR",
];

const T_KEYS: [&str; 3] = ["cod_id_univoco_flusso_t", "cod_id_univoco_versamento_t", "dt_acquisizione_t"];

const BOL: [&str; 8] = [
    "de_anno_bolletta_t",
    "cod_bolletta_t",
    "cod_id_dominio_t",
    "dt_ricezione_t",
    "de_anno_documento_t",
    "cod_documento_t",
    "de_anno_provvisorio_t",
    "cod_provvisorio_t",
];

/// 1.3's additions, snake_case in MyPivot too.
const SOSPESO: [&str; 2] = ["dt_effettiva_sospeso_t", "codice_gestionale_provvisorio_t"];

const TAIL: [&str; 2] = ["classificazione_completezza", "dt_data_ultimo_aggiornamento"];

/// 1.4's additions, snake_case in MyPivot too: the primary org of a secondary-beneficiary receipt.
const PA1: [&str; 5] =
    ["cod_tipo_dovuto_pa1", "de_tipo_dovuto_pa1", "cod_tassonomico_dovuto_pa1", "cod_fiscale_pa1", "de_nome_pa1"];

/// A view column's camelCase label: `de_e_versione_oggetto_e` → `deEVersioneOggettoE`. Leaked
/// once per distinct column (a `OnceLock` table), so headers stay `&'static str`.
fn camel(snake: &str) -> String {
    let mut out = String::with_capacity(snake.len());
    let mut upper = false;
    for c in snake.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// The camelCase labels of the E, R, T and BOL blocks, computed once.
fn camel_labels() -> &'static CamelLabels {
    static LABELS: std::sync::OnceLock<CamelLabels> = std::sync::OnceLock::new();
    LABELS.get_or_init(|| {
        let leak = |names: &[&str]| -> Vec<&'static str> {
            names.iter().map(|name| &*Box::leak(camel(name).into_boxed_str())).collect()
        };
        CamelLabels { e: leak(&E_BLOCK), r: leak(&R_BLOCK), t: leak(&T_COMMON), keys: leak(&T_KEYS), bol: leak(&BOL) }
    })
}

struct CamelLabels {
    e: Vec<&'static str>,
    r: Vec<&'static str>,
    t: Vec<&'static str>,
    keys: Vec<&'static str>,
    bol: Vec<&'static str>,
}

fn tag_label(tag: &str) -> &'static str {
    match tag {
        "BI2" => "codBi2T",
        "BE1" => "codBe1T",
        "IB1" => "codIb1T",
        "IB2" => "codIb2T",
        "IB4" => "codIb4T",
        "TID" => "codTidT",
        "DTE" => "codDteT",
        "DTN" => "codDtnT",
        "ERI" => "codEriT",
        "IM2" => "codIm2T",
        "MA2" => "codMa2T",
        "RI3" => "codRi3T",
        "OR1" => "codOr1T",
        "SC2" => "codSc2T",
        "TR1" => "codTr1T",
        "SEC" => "codSecT",
        _ => "codIorT",
    }
}

fn mypivot_header(layout: Layout) -> Vec<&'static str> {
    let labels = camel_labels();
    let v = layout.version;
    let mut h: Vec<&'static str> = Vec::with_capacity(145);
    if v == Version::V1_0 {
        h.push("mygovManageFlussoIdI");
        h.extend(I_BLOCK);
        h.push("mygovManageFlussoIdE");
        h.extend(&labels.e);
        h.push("mygovManageFlussoIdR");
        h.extend(&labels.r);
        h.push("mygovManageFlussoIdT");
        h.extend(&labels.t);
        h.extend(TAGS.iter().map(|tag| tag_label(tag)));
        h.extend(&labels.keys);
        h.extend(TAIL.iter().map(|name| match *name {
            "classificazione_completezza" => "classificazioneCompletezza",
            _ => "dtDataUltimoAggiornamento",
        }));
        return h;
    }
    if layout.with_notifications() {
        h.extend(I_BLOCK);
    }
    h.extend(&labels.e);
    if v != Version::V1_1 {
        h.push("bilancioE");
    }
    h.extend(&labels.r);
    h.extend(&labels.t);
    h.push("codOr1T");
    h.extend(&labels.keys);
    h.extend(&labels.bol);
    if matches!(v, Version::V1_3 | Version::V1_4) {
        h.extend(SOSPESO);
    }
    h.extend(["classificazioneCompletezza", "dtDataUltimoAggiornamento"]);
    if v == Version::V1_4 {
        h.extend(PA1);
    }
    h
}

fn p4pa_header(layout: Layout) -> Vec<&'static str> {
    let mut h: Vec<&'static str> = Vec::with_capacity(141);
    h.extend(E_BLOCK);
    h.push("bilancioE");
    h.extend(R_BLOCK);
    h.extend(T_COMMON);
    h.push("cod_or1_t");
    h.extend(T_KEYS);
    h.extend(BOL);
    h.extend(SOSPESO);
    h.extend(TAIL);
    if layout.pagati {
        h.extend(I_BLOCK_P4PA);
    }
    if layout.version == Version::V1_4 {
        h.extend(PA1);
    }
    h
}

// ---------------------------------------------------------------------------------------------
// The row the reconciliation fills

/// One joined transfer (or lone notification, reporting row, treasury movement): the blocks a
/// source gave, absent when that source has nothing for it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReconRow {
    pub notification: Option<NotificationBlock>,
    pub receipt: Option<ReceiptBlock>,
    pub reporting: Option<ReportingBlock>,
    pub treasury: Option<TreasuryBlock>,
    /// 1.4: the primary org of a receipt where this org is a secondary beneficiary.
    pub primary: Option<PrimaryOrg>,
    /// `dtDataUltimoAggiornamento`: the latest acquisition among the blocks.
    pub last_update: Option<Day>,
}

/// I: the municipality's payment notification (mypivot.md §1.6).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NotificationBlock {
    /// 1.0's `mygovManageFlussoIdI`: the upload that brought it.
    pub upload_id: Option<i64>,
    pub iud: String,
    pub iuv: String,
    pub payer: Party,
    pub paid_on: Option<Day>,
    pub payment_kind: String,
    pub amount: Option<Cents>,
    pub fee: Option<Cents>,
    pub causale: String,
    pub collection_data: String,
    pub debt_type: String,
    pub bilancio: Option<String>,
    pub acquired_on: Option<Day>,
}

impl NotificationBlock {
    /// The block of a stored notification.
    pub fn of(notification: &PaymentNotification, upload_id: Option<i64>, acquired_on: Day) -> NotificationBlock {
        NotificationBlock {
            upload_id,
            iud: notification.iud.clone(),
            iuv: notification.iuv.clone(),
            payer: notification.payer.clone(),
            paid_on: Some(notification.paid_on),
            payment_kind: notification.payment_kind.clone(),
            amount: Some(notification.amount),
            fee: notification.fee,
            causale: notification.causale.clone(),
            collection_data: notification.collection_data.clone(),
            debt_type: notification.debt_type.clone(),
            bilancio: notification.bilancio.clone(),
            acquired_on: Some(acquired_on),
        }
    }
}

/// An institution as the RT names it: the PSP (attestante) or the beneficiary org.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Institution {
    /// Kind, code, name and address (the e-mail is not written).
    pub party: Party,
    /// `codiceUnitOper…`.
    pub unit_code: Option<String>,
    /// `denomUnitOper…`.
    pub unit_name: Option<String>,
}

/// E: one transfer of a receipt, with its receipt's fields (MyPay's export columns, mypay.md §3.4).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReceiptBlock {
    /// 1.0's `mygovManageFlussoIdE`.
    pub upload_id: Option<i64>,
    /// `deNomeFlussoE`: the debt flow the receipt's debt came from.
    pub flow_name: String,
    /// `numRigaFlussoE`.
    pub flow_row: Option<i64>,
    pub iud: Option<String>,
    pub iuv: String,
    /// `deEVersioneOggettoE` (`6.2.0`).
    pub object_version: String,
    pub domain_id: String,
    pub station_id: String,
    /// `codEIdMessaggioRicevutaE`.
    pub receipt_message_id: String,
    /// `dtEDataOraMessaggioRicevutaE`, local time.
    pub receipt_at: Option<DateTime>,
    pub request_message_ref: String,
    pub request_day: Option<Day>,
    pub attestor: Institution,
    pub beneficiary: Institution,
    /// The versante, when the receipt names one.
    pub payer: Option<Party>,
    /// The pagatore.
    pub debtor: Party,
    pub outcome_code: String,
    pub total_paid: Option<Cents>,
    /// `codEDatiPagCodiceContestoPagamentoE`.
    pub context_code: String,
    pub transfer_amount: Option<Cents>,
    pub transfer_outcome: String,
    pub transfer_outcome_day: Option<Day>,
    pub iur: String,
    pub causale: String,
    pub collection_data: String,
    pub debt_type: String,
    pub acquired_on: Option<Day>,
    /// `bilancioE` (1.2 on).
    pub bilancio: Option<String>,
}

/// R: one payment of a reporting flow, with its flow's header.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReportingBlock {
    /// 1.0's `mygovManageFlussoIdR`.
    pub upload_id: Option<i64>,
    pub object_version: String,
    pub iuf: String,
    /// `dtDataOraFlussoR`.
    pub flow_at: Option<DateTime>,
    pub settlement_id: String,
    pub settlement_day: Option<Day>,
    pub sender: Party,
    pub receiver: Party,
    pub total_count: Option<i64>,
    pub total_amount: Option<Cents>,
    pub iuv: String,
    pub iur: String,
    pub amount: Option<Cents>,
    pub outcome_code: String,
    pub outcome_day: Option<Day>,
    pub acquired_on: Option<Day>,
}

/// T: one treasury movement (T, C, O or Y).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TreasuryBlock {
    /// 1.0's `mygovManageFlussoIdT`.
    pub upload_id: Option<i64>,
    pub abi: Option<String>,
    pub cab: Option<String>,
    pub account: Option<String>,
    pub currency: Option<String>,
    pub booking_day: Option<Day>,
    pub value_day: Option<Day>,
    pub amount: Option<Cents>,
    /// `codSegnoT` (bank movements: `+`).
    pub sign: Option<String>,
    pub causale: String,
    pub cheque: Option<String>,
    pub bank_reference: Option<String>,
    pub customer_reference: Option<String>,
    pub order_day: Option<Day>,
    pub orderer: Option<String>,
    /// The `:XXX:` tags (1.0's TAGS block; `OR1` is also `codOr1T`).
    pub tags: Vec<(String, String)>,
    /// `codOr1T` for a C/O/Y row, which has no tags: its ordinante.
    pub or1_fallback: Option<String>,
    pub iuf: Option<String>,
    pub iuv: Option<String>,
    pub acquired_on: Option<Day>,
    pub bolletta_year: Option<String>,
    pub bolletta: Option<String>,
    pub domain_id: Option<String>,
    pub received_on: Option<Day>,
    pub document_year: Option<String>,
    pub document: Option<String>,
    pub provisional_year: Option<String>,
    pub provisional: Option<String>,
    pub provisional_day: Option<Day>,
    pub provisional_code: Option<String>,
}

impl TreasuryBlock {
    /// The block of a stored movement. The bank-only fields come from its bank details (T); the
    /// bolletta, document and sospeso from a C/O/Y row; `dtDataContabileT` is the booking day for
    /// both, as MyPivot's view gives `dt_bolletta` for the latter.
    pub fn of(movement: &TreasuryMovement, upload_id: Option<i64>, acquired_on: Day) -> TreasuryBlock {
        let bank = movement.bank.clone().unwrap_or_default();
        let year = movement.bolletta.as_ref().map(|b| b.year.to_string());
        TreasuryBlock {
            upload_id,
            abi: bank.abi,
            cab: bank.cab,
            account: movement.account.clone(),
            currency: bank.currency,
            booking_day: Some(movement.booking_day),
            value_day: movement.value_day,
            amount: Some(movement.amount),
            sign: movement.bank.as_ref().map(|_| "+".to_owned()),
            causale: movement.causale.clone(),
            cheque: bank.cheque,
            bank_reference: bank.bank_reference,
            customer_reference: bank.customer_reference,
            order_day: bank.order_day,
            orderer: bank.orderer,
            tags: bank.tags,
            or1_fallback: if movement.bank.is_none() { movement.payer_name.clone() } else { None },
            iuf: movement.iuf.clone(),
            iuv: movement.iuv.clone(),
            acquired_on: Some(acquired_on),
            bolletta_year: year.clone(),
            bolletta: movement.bolletta.as_ref().map(|b| b.number.clone()),
            document_year: movement.document.as_ref().and(year),
            document: movement.document.clone(),
            provisional_day: movement.provisional.as_ref().and_then(|p| p.day),
            provisional_code: movement.provisional.as_ref().and_then(|p| p.code.clone()),
            ..TreasuryBlock::default()
        }
    }

    fn tag(&self, name: &str) -> Option<&str> {
        self.tags.iter().find(|(tag, _)| tag == name).map(|(_, value)| value.as_str())
    }

    fn or1(&self) -> Option<&str> {
        self.tag("OR1").or(self.or1_fallback.as_deref())
    }
}

/// 1.4's `*_pa1` columns.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PrimaryOrg {
    pub debt_type_code: String,
    pub debt_type_name: String,
    pub taxonomy_code: String,
    pub fiscal_code: String,
    pub name: String,
}

// ---------------------------------------------------------------------------------------------
// Lines

/// Appends one line's fields, in header order, to `cells` (cleared first).
fn line_cells(layout: Layout, row: &ReconRow, label: Option<Label>, cells: &mut Vec<String>) {
    cells.clear();
    let v = layout.version;
    let p4pa = layout.headers == Headers::P4pa;
    if v == Version::V1_0 {
        push_id(cells, row.notification.as_ref().and_then(|n| n.upload_id));
        notification_cells(row.notification.as_ref(), cells);
        push_id(cells, row.receipt.as_ref().and_then(|e| e.upload_id));
        receipt_cells(row.receipt.as_ref(), cells);
        push_id(cells, row.reporting.as_ref().and_then(|r| r.upload_id));
        reporting_cells(row.reporting.as_ref(), cells);
        push_id(cells, row.treasury.as_ref().and_then(|t| t.upload_id));
        let t = row.treasury.as_ref();
        treasury_common_cells(t, cells);
        for tag in TAGS {
            cells.push(opt(t.and_then(|t| if tag == "OR1" { t.or1() } else { t.tag(tag) })));
        }
        treasury_key_cells(t, cells);
        tail_cells(row, label, cells);
        return;
    }
    if layout.with_notifications() && !p4pa {
        notification_cells(row.notification.as_ref(), cells);
    }
    receipt_cells(row.receipt.as_ref(), cells);
    if v != Version::V1_1 {
        cells.push(opt(row.receipt.as_ref().and_then(|e| e.bilancio.as_deref())));
    }
    reporting_cells(row.reporting.as_ref(), cells);
    let t = row.treasury.as_ref();
    treasury_common_cells(t, cells);
    cells.push(opt(t.and_then(TreasuryBlock::or1)));
    treasury_key_cells(t, cells);
    cells.extend([
        opt(t.and_then(|t| t.bolletta_year.as_deref())),
        opt(t.and_then(|t| t.bolletta.as_deref())),
        opt(t.and_then(|t| t.domain_id.as_deref())),
        day(t.and_then(|t| t.received_on)),
        opt(t.and_then(|t| t.document_year.as_deref())),
        opt(t.and_then(|t| t.document.as_deref())),
        opt(t.and_then(|t| t.provisional_year.as_deref())),
        opt(t.and_then(|t| t.provisional.as_deref())),
    ]);
    if matches!(v, Version::V1_3 | Version::V1_4) {
        cells.push(day(t.and_then(|t| t.provisional_day)));
        cells.push(opt(t.and_then(|t| t.provisional_code.as_deref())));
    }
    tail_cells(row, label, cells);
    if p4pa && layout.pagati {
        notification_cells(row.notification.as_ref(), cells);
    }
    if v == Version::V1_4 {
        let p = row.primary.as_ref();
        cells.extend([
            opt(p.map(|p| p.debt_type_code.as_str())),
            opt(p.map(|p| p.debt_type_name.as_str())),
            opt(p.map(|p| p.taxonomy_code.as_str())),
            opt(p.map(|p| p.fiscal_code.as_str())),
            opt(p.map(|p| p.name.as_str())),
        ]);
    }
}

fn opt(value: Option<&str>) -> String {
    value.unwrap_or_default().to_owned()
}

fn day(value: Option<Day>) -> String {
    value.map(Day::text).unwrap_or_default()
}

fn date_time(value: Option<DateTime>) -> String {
    value.map(|t| t.strftime("%Y-%m-%dT%H:%M:%S").to_string()).unwrap_or_default()
}

fn money(value: Option<Cents>) -> String {
    value.map(Cents::to_decimal_string).unwrap_or_default()
}

fn push_id(cells: &mut Vec<String>, id: Option<i64>) {
    cells.push(id.map(|id| id.to_string()).unwrap_or_default());
}

/// A party's 10 columns: kind, id, name, address, civic, postal code, city, province, country, e-mail.
fn party_cells(party: Option<&Party>, with_email: bool, cells: &mut Vec<String>) {
    cells.extend([
        opt(party.map(|p| p.kind.as_str())),
        opt(party.map(|p| p.id.as_str())),
        opt(party.map(|p| p.name.as_str())),
        opt(party.and_then(|p| p.address.as_deref())),
        opt(party.and_then(|p| p.civic_number.as_deref())),
        opt(party.and_then(|p| p.postal_code.as_deref())),
        opt(party.and_then(|p| p.city.as_deref())),
        opt(party.and_then(|p| p.province.as_deref())),
        opt(party.and_then(|p| p.country.as_deref())),
    ]);
    if with_email {
        cells.push(opt(party.and_then(|p| p.email.as_deref())));
    }
}

fn institution_cells(institution: Option<&Institution>, cells: &mut Vec<String>) {
    let p = institution.map(|i| &i.party);
    cells.extend([
        opt(p.map(|p| p.kind.as_str())),
        opt(p.map(|p| p.id.as_str())),
        opt(p.map(|p| p.name.as_str())),
        opt(institution.and_then(|i| i.unit_code.as_deref())),
        opt(institution.and_then(|i| i.unit_name.as_deref())),
        opt(p.and_then(|p| p.address.as_deref())),
        opt(p.and_then(|p| p.civic_number.as_deref())),
        opt(p.and_then(|p| p.postal_code.as_deref())),
        opt(p.and_then(|p| p.city.as_deref())),
        opt(p.and_then(|p| p.province.as_deref())),
        opt(p.and_then(|p| p.country.as_deref())),
    ]);
}

fn notification_cells(n: Option<&NotificationBlock>, cells: &mut Vec<String>) {
    cells.push(opt(n.map(|n| n.iud.as_str())));
    cells.push(opt(n.map(|n| n.iuv.as_str())));
    party_cells(n.map(|n| &n.payer), true, cells);
    cells.extend([
        day(n.and_then(|n| n.paid_on)),
        opt(n.map(|n| n.payment_kind.as_str())),
        money(n.and_then(|n| n.amount)),
        money(n.and_then(|n| n.fee)),
        opt(n.map(|n| n.causale.as_str())),
        opt(n.map(|n| n.collection_data.as_str())),
        opt(n.map(|n| n.debt_type.as_str())),
        opt(n.and_then(|n| n.bilancio.as_deref())),
        day(n.and_then(|n| n.acquired_on)),
    ]);
}

fn receipt_cells(e: Option<&ReceiptBlock>, cells: &mut Vec<String>) {
    cells.extend([
        opt(e.map(|e| e.flow_name.as_str())),
        e.and_then(|e| e.flow_row).map(|n| n.to_string()).unwrap_or_default(),
        opt(e.and_then(|e| e.iud.as_deref())),
        opt(e.map(|e| e.iuv.as_str())),
        opt(e.map(|e| e.object_version.as_str())),
        opt(e.map(|e| e.domain_id.as_str())),
        opt(e.map(|e| e.station_id.as_str())),
        opt(e.map(|e| e.receipt_message_id.as_str())),
        date_time(e.and_then(|e| e.receipt_at)),
        opt(e.map(|e| e.request_message_ref.as_str())),
        day(e.and_then(|e| e.request_day)),
    ]);
    institution_cells(e.map(|e| &e.attestor), cells);
    institution_cells(e.map(|e| &e.beneficiary), cells);
    party_cells(e.and_then(|e| e.payer.as_ref()), true, cells);
    party_cells(e.map(|e| &e.debtor), true, cells);
    cells.extend([
        opt(e.map(|e| e.outcome_code.as_str())),
        money(e.and_then(|e| e.total_paid)),
        opt(e.map(|e| e.iuv.as_str())),
        opt(e.map(|e| e.context_code.as_str())),
        money(e.and_then(|e| e.transfer_amount)),
        opt(e.map(|e| e.transfer_outcome.as_str())),
        day(e.and_then(|e| e.transfer_outcome_day)),
        opt(e.map(|e| e.iur.as_str())),
        opt(e.map(|e| e.causale.as_str())),
        opt(e.map(|e| e.collection_data.as_str())),
        opt(e.map(|e| e.debt_type.as_str())),
        day(e.and_then(|e| e.acquired_on)),
    ]);
}

fn reporting_cells(r: Option<&ReportingBlock>, cells: &mut Vec<String>) {
    cells.extend([
        opt(r.map(|r| r.object_version.as_str())),
        opt(r.map(|r| r.iuf.as_str())),
        date_time(r.and_then(|r| r.flow_at)),
        opt(r.map(|r| r.settlement_id.as_str())),
        day(r.and_then(|r| r.settlement_day)),
        opt(r.map(|r| r.sender.kind.as_str())),
        opt(r.map(|r| r.sender.id.as_str())),
        opt(r.map(|r| r.sender.name.as_str())),
        opt(r.map(|r| r.receiver.kind.as_str())),
        opt(r.map(|r| r.receiver.id.as_str())),
        opt(r.map(|r| r.receiver.name.as_str())),
        r.and_then(|r| r.total_count).map(|n| n.to_string()).unwrap_or_default(),
        money(r.and_then(|r| r.total_amount)),
        opt(r.map(|r| r.iuv.as_str())),
        opt(r.map(|r| r.iur.as_str())),
        money(r.and_then(|r| r.amount)),
        opt(r.map(|r| r.outcome_code.as_str())),
        day(r.and_then(|r| r.outcome_day)),
        day(r.and_then(|r| r.acquired_on)),
    ]);
}

fn treasury_common_cells(t: Option<&TreasuryBlock>, cells: &mut Vec<String>) {
    cells.extend([
        opt(t.and_then(|t| t.abi.as_deref())),
        opt(t.and_then(|t| t.cab.as_deref())),
        opt(t.and_then(|t| t.account.as_deref())),
        opt(t.and_then(|t| t.currency.as_deref())),
        day(t.and_then(|t| t.booking_day)),
        day(t.and_then(|t| t.value_day)),
        money(t.and_then(|t| t.amount)),
        opt(t.and_then(|t| t.sign.as_deref())),
        opt(t.map(|t| t.causale.as_str())),
        opt(t.and_then(|t| t.cheque.as_deref())),
        opt(t.and_then(|t| t.bank_reference.as_deref())),
        opt(t.and_then(|t| t.customer_reference.as_deref())),
        day(t.and_then(|t| t.order_day)),
        opt(t.and_then(|t| t.orderer.as_deref())),
    ]);
}

fn treasury_key_cells(t: Option<&TreasuryBlock>, cells: &mut Vec<String>) {
    cells.extend([
        opt(t.and_then(|t| t.iuf.as_deref())),
        opt(t.and_then(|t| t.iuv.as_deref())),
        day(t.and_then(|t| t.acquired_on)),
    ]);
}

fn tail_cells(row: &ReconRow, label: Option<Label>, cells: &mut Vec<String>) {
    cells.push(opt(label.map(Label::code)));
    cells.push(day(row.last_update));
}

// ---------------------------------------------------------------------------------------------
// The dialect and the file

/// Talend's CSV mode as MyPivot's export jobs set it: `;`, every field quoted, `"` and `\`
/// escaped with `\`, `\n`.
pub struct TalendCsv<W: Write> {
    out: W,
    line: Vec<u8>,
}

impl<W: Write> TalendCsv<W> {
    #[cfg(test)]
    pub fn new(out: W) -> TalendCsv<W> {
        TalendCsv { out, line: Vec::with_capacity(4096) }
    }

    /// Writes one row.
    pub fn row<S: AsRef<str>>(&mut self, fields: &[S]) -> io::Result<()> {
        self.line.clear();
        for (idx, field) in fields.iter().enumerate() {
            if idx > 0 {
                self.line.push(b';');
            }
            self.line.push(b'"');
            for byte in field.as_ref().bytes() {
                if byte == b'"' || byte == b'\\' {
                    self.line.push(b'\\');
                }
                self.line.push(byte);
            }
            self.line.push(b'"');
        }
        self.line.push(b'\n');
        self.out.write_all(&self.line)
    }

    #[cfg(test)]
    pub fn into_inner(self) -> W {
        self.out
    }
}

/// The export's stem: `<IPA>-<bookingId>_ESTRAZIONE_RICONCILIAZIONE_<yyyyMMddhhmmss>-<1_x>`. The
/// hour is MyPivot's `hh`, the 12-hour clock (01-12): its files are named so, and the
/// municipalities' scripts match those names.
pub fn file_stem(version: Version, ipa: &str, booking_id: i64, local: &DateTime) -> String {
    format!(
        "{ipa}-{booking_id}_ESTRAZIONE_RICONCILIAZIONE_{}-{}",
        local.strftime("%Y%m%d%I%M%S"),
        version.as_str().replace('.', "_")
    )
}

/// A CSV in a ZIP, written line by line: the deflater holds a window, never the file.
pub struct ReconCsvZip<W: Write + Seek> {
    zip: zip::ZipWriter<W>,
    layout: Layout,
    cells: Vec<String>,
    lines: u64,
    escaped: Vec<u8>,
}

impl<W: Write + Seek> ReconCsvZip<W> {
    /// Starts `<stem>.csv` in the ZIP and writes the header row.
    pub fn start(out: W, stem: &str, layout: Layout) -> Result<ReconCsvZip<W>, ReconExportError> {
        let mut zip = zip::ZipWriter::new(out);
        let options = SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .compression_level(Some(1))
            .large_file(true);
        zip.start_file(format!("{stem}.csv"), options).map_err(io::Error::other)?;
        let mut this = ReconCsvZip { zip, layout, cells: Vec::with_capacity(145), lines: 0, escaped: Vec::new() };
        let header = layout.header();
        this.write_cells_of(&header)?;
        Ok(this)
    }

    fn write_cells_of<S: AsRef<str>>(&mut self, cells: &[S]) -> io::Result<()> {
        let mut csv = TalendCsv { out: &mut self.zip, line: std::mem::take(&mut self.escaped) };
        let result = csv.row(cells);
        self.escaped = csv.line;
        result
    }

    /// Writes the row once per label (a row of no label has one line with an empty
    /// `classificazioneCompletezza`), checking each label against the layout first.
    pub fn write(&mut self, row: &ReconRow, labels: &[Label]) -> Result<(), ReconExportError> {
        for label in labels {
            self.layout.check_label(*label)?;
        }
        let mut cells = std::mem::take(&mut self.cells);
        let result = (|| {
            if labels.is_empty() {
                line_cells(self.layout, row, None, &mut cells);
                self.write_cells_of(&cells)?;
                self.lines += 1;
            }
            for label in labels {
                line_cells(self.layout, row, Some(*label), &mut cells);
                self.write_cells_of(&cells)?;
                self.lines += 1;
            }
            Ok(())
        })();
        self.cells = cells;
        result
    }

    /// Lines written after the header (MyPivot's row budget, `export.max-records`, is the
    /// caller's to enforce).
    pub fn lines(&self) -> u64 {
        self.lines
    }

    /// Ends the ZIP; gives the writer back.
    pub fn finish(self) -> Result<W, ReconExportError> {
        Ok(self.zip.finish().map_err(io::Error::other)?)
    }
}

/// Writes `<dir>/<stem>.zip` from `rows` (each with its labels): to a temporary name first,
/// renamed at the end, so a crash never leaves a half file under the real name. Returns the path
/// and the number of lines. (The export service writes its own, to stop on shutdown.)
#[cfg(test)]
pub fn write_file<I>(
    dir: &std::path::Path,
    stem: &str,
    layout: Layout,
    rows: I,
) -> Result<(std::path::PathBuf, u64), ReconExportError>
where
    I: IntoIterator<Item = (ReconRow, Vec<Label>)>,
{
    std::fs::create_dir_all(dir)?;
    let path = dir.join(format!("{stem}.zip"));
    let tmp = dir.join(format!(".{stem}.zip.partial"));
    let result = (|| {
        let mut zip = ReconCsvZip::start(io::BufWriter::new(std::fs::File::create(&tmp)?), stem, layout)?;
        for (row, labels) in rows {
            zip.write(&row, &labels)?;
        }
        let lines = zip.lines();
        let mut file = zip.finish()?;
        file.flush()?;
        file.get_ref().sync_all()?;
        Ok::<u64, ReconExportError>(lines)
    })();
    match result {
        Ok(lines) => {
            std::fs::rename(&tmp, &path)?;
            Ok((path, lines))
        }
        Err(error) => {
            let _ = std::fs::remove_file(&tmp);
            Err(error)
        }
    }
}

/// The header row as text (no line end), for tests.
#[cfg(test)]
pub fn header_line(layout: Layout) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    for (idx, name) in layout.header().iter().enumerate() {
        if idx > 0 {
            out.push(';');
        }
        let _ = write!(out, "\"{name}\"");
    }
    out
}

#[cfg(test)]
mod tests;
