//! The receipt (RT) export file, layouts 1.0 to 1.3 (reference/mypay.md §3.3-3.4): the column
//! order, the file names, and one row per transfer credited to the exporting org.
//!
//! The values come from the receipts the station stored (paSendRT / paSendRTV2) mapped onto the
//! RT-era column names downstream accounting tools parse: the PSP is the *attestante*, the receipt id
//! is both the IUR and the payment context code, the payer is the *versante*, the debtor the
//! *pagatore*. The `rt` column carries the received SOAP request, base64. Payments the SIL recorded
//! outside pagoPA (`paaSILRegistraPagamento`) are rows too, filled as MyPay fills them.

use std::borrow::Cow;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use base64::Engine as _;
use zip::write::SimpleFileOptions;

use super::quoted_csv::QuotedCsv;
use crate::domain::{Cents, Party};
use crate::store::exports::{ExportRow, ExternalPaymentRow};
use crate::store::orgs::OrgRecord;

/// The layouts MyPay offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    V1_0,
    V1_1,
    V1_2,
    V1_3,
}

impl Version {
    /// `1.0` … `1.3`.
    pub fn parse(text: &str) -> Option<Version> {
        match text.trim() {
            "1.0" => Some(Version::V1_0),
            "1.1" => Some(Version::V1_1),
            "1.2" => Some(Version::V1_2),
            "1.3" => Some(Version::V1_3),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Version::V1_0 => "1.0",
            Version::V1_1 => "1.1",
            Version::V1_2 => "1.2",
            Version::V1_3 => "1.3",
        }
    }
}

/// The 64 columns every version has.
const BASE: [&str; 64] = [
    "iuf",
    "numRigaFlusso",
    "codIud",
    "codIuv",
    "versioneOggetto",
    "identificativoDominio",
    "identificativoStazioneRichiedente",
    "identificativoMessaggioRicevuta",
    "dataOraMessaggioRicevuta",
    "riferimentoMessaggioRichiesta",
    "riferimentoDataRichiesta",
    "tipoIdentificativoUnivoco",
    "codiceIdentificativoUnivoco",
    "denominazioneAttestante",
    "codiceUnitOperAttestante",
    "denomUnitOperAttestante",
    "indirizzoAttestante",
    "civicoAttestante",
    "capAttestante",
    "localitaAttestante",
    "provinciaAttestante",
    "nazioneAttestante",
    "enteBenefTipoIdentificativoUnivoco",
    "enteBenefCodiceIdentificativoUnivoco",
    "denominazioneBeneficiario",
    "codiceUnitOperBeneficiario",
    "denomUnitOperBeneficiario",
    "indirizzoBeneficiario",
    "civicoBeneficiario",
    "capBeneficiario",
    "localitaBeneficiario",
    "provinciaBeneficiario",
    "nazioneBeneficiario",
    "soggVersTipoIdentificativoUnivoco",
    "soggVersCodiceIdentificativoUnivoco",
    "anagraficaVersante",
    "indirizzoVersante",
    "civicoVersante",
    "capVersante",
    "localitaVersante",
    "provinciaVersante",
    "nazioneVersante",
    "emailVersante",
    "soggPagTipoIdentificativoUnivoco",
    "soggPagCodiceIdentificativoUnivoco",
    "anagraficaPagatore",
    "indirizzoPagatore",
    "civicoPagatore",
    "capPagatore",
    "localitaPagatore",
    "provinciaPagatore",
    "nazionePagatore",
    "emailPagatore",
    "codiceEsitoPagamento",
    "importoTotalePagato",
    "identificativoUnivocoVersamento",
    "codiceContestoPagamento",
    "singoloImportoPagato",
    "esitoSingoloPagamento",
    "dataEsitoSingoloPagamento",
    "identificativoUnivocoRiscoss",
    "causaleVersamento",
    "datiSpecificiRiscossione",
    "tipoDovuto",
];

/// The columns added when the receipt itself is requested.
const WITH_RECEIPT: [&str; 6] = [
    "tipoFirma",
    "rt",
    "indiceDatiSingoloPagamento",
    "numRtDatiPagDatiSingPagCommissioniApplicatePsp",
    "codRtDatiPagDatiSingPagAllegatoRicevutaTipo",
    "blbRtDatiPagDatiSingPagAllegatoRicevutaTest",
];

/// The pseudo debt type MyPay gives rows of receipts where the org is a secondary beneficiary.
pub const SECONDARY_DEBT_TYPE: &str = "EXPORT_ENTE_SECONDARIO";

/// The header of a layout.
pub fn header(version: Version, with_receipt: bool) -> Vec<&'static str> {
    let mut columns: Vec<&'static str> = BASE.to_vec();
    if with_receipt {
        columns.extend(WITH_RECEIPT);
    }
    match version {
        Version::V1_0 | Version::V1_1 => {}
        Version::V1_2 => columns.push("bilancio"),
        Version::V1_3 => columns.extend(["bilancio", "cod_fiscale_pa1", "de_nome_pa1", "cod_tassonomico_dovuto_pa1"]),
    }
    columns
}

/// The file name (without `.csv`/`.zip`) for export `export_id` made at `local` (Europe/Rome).
pub fn file_stem(version: Version, ipa: &str, export_id: i64, local: &jiff::civil::DateTime) -> String {
    match version {
        Version::V1_0 => format!("{export_id}_ESTRAZIONE_DOVUTI_{}", local.strftime("%Y-%m-%d_%H_%M_%S")),
        other => format!(
            "{ipa}-{export_id}_ESTRAZIONE_DOVUTI_{}-{}",
            local.strftime("%Y%m%d%H%M%S"),
            other.as_str().replace('.', "_")
        ),
    }
}

/// The flow (IUF) a debt belongs to; debts that came from no file get MyPay's pseudo-flows.
pub(crate) fn pseudo_flow(ipa: &str, source: Option<&str>) -> String {
    match source {
        Some("portal" | "node") => format!("_{ipa}_SPONTANEO"),
        Some("sil") => format!("_{ipa}_ESTERNO-ANONIMO"),
        _ => format!("_{ipa}_IMPORT-DOVUTO"),
    }
}

/// UTC `…Z` as Europe/Rome local `yyyy-MM-ddTHH:mm:ss`.
fn local_date_time(utc: &str) -> String {
    utc.parse::<jiff::Timestamp>()
        .map(|t| t.to_zoned(crate::clock::rome()).strftime("%Y-%m-%dT%H:%M:%S").to_string())
        .unwrap_or_else(|_| utc.to_owned())
}

/// The `enteBenef*` columns: the exporting org.
fn beneficiary(org: &OrgRecord) -> [Cow<'_, str>; 11] {
    [
        Cow::Borrowed("G"),
        Cow::Borrowed(org.fiscal_code.as_str()),
        Cow::Borrowed(org.name.as_str()),
        Cow::Borrowed(""),
        Cow::Borrowed(""),
        Cow::Borrowed(org.address.as_deref().unwrap_or_default()),
        Cow::Borrowed(org.civic_number.as_deref().unwrap_or_default()),
        Cow::Borrowed(org.postal_code.as_deref().unwrap_or_default()),
        Cow::Borrowed(org.city.as_deref().unwrap_or_default()),
        Cow::Borrowed(org.province.as_deref().unwrap_or_default()),
        Cow::Borrowed(org.country.as_deref().unwrap_or_default()),
    ]
}

/// The fields of one row, in header order. Borrowed wherever the value is stored as is: an export
/// writes millions of rows, and copying every field would double its work.
pub fn row_fields<'a>(
    version: Version,
    with_receipt: bool,
    org: &'a OrgRecord,
    station_id: &'a str,
    r: &'a ExportRow,
) -> Vec<Cow<'a, str>> {
    let s = |v: &'a Option<String>| Cow::Borrowed(v.as_deref().unwrap_or_default());
    let b = |v: &'a str| Cow::Borrowed(v);
    let empty = || Cow::Borrowed("");
    let amount = |c: Cents| Cow::Owned(c.to_decimal_string());
    let (psp_kind, psp_code) = match &r.psp_fiscal_code {
        Some(code) => ("G", code.as_str()),
        None => ("B", r.psp_id.as_str()),
    };
    let date_time = match &r.payment_date_time {
        Some(t) => b(t),
        None => Cow::Owned(local_date_time(&r.received_at)),
    };
    let debt_type = if r.secondary { b(SECONDARY_DEBT_TYPE) } else { s(&r.debt_type_code) };
    let collection = match &r.collection_data {
        Some(c) => b(c),
        None => Cow::Owned(format!("9/{}/", r.transfer_category)),
    };
    let causale = match &r.causale {
        Some(c) => b(c),
        None => b(&r.description),
    };
    let mut fields: Vec<Cow<'a, str>> = Vec::with_capacity(74);
    fields.extend([
        Cow::Owned(pseudo_flow(&org.ipa_code, r.debt_source.as_deref())),
        b("1"),
        s(&r.iud),
        b(&r.iuv),
        b("6.2.0"),
        b(&org.fiscal_code),
        b(station_id),
        b(&r.receipt_id),
        date_time,
        b(&r.receipt_id),
        Cow::Owned(r.payment_date.to_string()),
        b(psp_kind),
        b(psp_code),
        b(&r.psp_company_name),
    ]);
    fields.extend((0..8).map(|_| empty()));
    fields.extend(beneficiary(org));
    let payer = r.payer.as_ref();
    let p = |field: fn(&'a Party) -> &'a str| Cow::Borrowed(payer.map(field).unwrap_or_default());
    fields.extend([p(|p| &p.kind), p(|p| &p.id), p(|p| &p.name)]);
    fields.extend((0..6).map(|_| empty()));
    fields.extend([
        p(|p| p.email.as_deref().unwrap_or_default()),
        b(&r.debtor.kind),
        b(&r.debtor.id),
        b(&r.debtor.name),
        s(&r.debtor.address),
        s(&r.debtor.civic_number),
        s(&r.debtor.postal_code),
        s(&r.debtor.city),
        s(&r.debtor.province),
        s(&r.debtor.country),
        s(&r.debtor.email),
        b("0"),
        amount(r.amount_cents),
        b(&r.iuv),
        b(&r.receipt_id),
        amount(r.transfer_amount_cents),
        b("ESEGUITO"),
        Cow::Owned(r.payment_date.to_string()),
        b(&r.receipt_id),
        causale,
        collection,
        debt_type,
    ]);
    if with_receipt {
        let rt = base64::engine::general_purpose::STANDARD.encode(r.request_xml.as_bytes());
        fields.extend([
            empty(),
            Cow::Owned(rt),
            Cow::Owned(r.transfer_index.to_string()),
            r.fee_cents.map(amount).unwrap_or_default(),
            if r.mbd_attachment.is_some() { b("BD") } else { empty() },
            s(&r.mbd_attachment),
        ]);
    }
    match version {
        Version::V1_0 | Version::V1_1 => {}
        Version::V1_2 => fields.push(s(&r.bilancio)),
        Version::V1_3 => {
            fields.push(s(&r.bilancio));
            if r.secondary {
                fields.extend([b(&r.primary_fiscal_code), b(&r.primary_name), b(&r.transfer_category)]);
            } else {
                fields.extend([empty(), empty(), empty()]);
            }
        }
    }
    fields
}

/// `esitoSingoloPagamento` of a payment the SIL recorded outside pagoPA.
pub const EXTERNAL_OUTCOME: &str = "PAGATO CON RENDICONTAZIONE 9";

/// MyPay's receipt message id of a payment recorded outside pagoPA: `-9-` and 32 hex digits. MyPay
/// draws them at random and stores them; these come from the payment's key, so every export of
/// the payment repeats the same id without storing it.
pub fn external_message_id(org_fiscal_code: &str, iuv: &str, collection_id: &str) -> String {
    use sha2::Digest as _;
    let digest = sha2::Sha256::digest(format!("{org_fiscal_code}/{iuv}/{collection_id}").as_bytes());
    let hex: String = digest.iter().take(16).map(|b| format!("{b:02x}")).collect();
    format!("-9-{hex}")
}

/// The fields of a payment recorded outside pagoPA (`paaSILRegistraPagamento`), in header order,
/// as MyPay fills its "rendicontazione 9" row: the attestante the SIL named, the context code
/// `n/a`, the payer's type always `F`, no versante, no station, no receipt, no bilancio, the causale
/// cut at 140 characters.
pub fn external_row_fields<'a>(
    version: Version,
    with_receipt: bool,
    org: &'a OrgRecord,
    r: &'a ExternalPaymentRow,
) -> Vec<Cow<'a, str>> {
    let s = |v: &'a Option<String>| Cow::Borrowed(v.as_deref().unwrap_or_default());
    let b = |v: &'a str| Cow::Borrowed(v);
    let empty = || Cow::Borrowed("");
    let amount = || Cow::Owned(r.payment.amount_cents.to_decimal_string());
    let message_id = external_message_id(&org.fiscal_code, r.payment.iuv.as_str(), &r.payment.collection_id);
    let recorded = local_date_time(&r.recorded_at);
    let recorded_day = recorded.get(..10).unwrap_or_default().to_owned();
    let causale: String = r.causale.chars().take(140).collect();
    let mut fields: Vec<Cow<'a, str>> = Vec::with_capacity(74);
    fields.extend([
        Cow::Owned(pseudo_flow(&org.ipa_code, Some(&r.debt_source))),
        b("1"),
        b(&r.iud),
        b(r.payment.iuv.as_str()),
        b("6.2.0"),
        b(&org.fiscal_code),
        empty(),
        Cow::Owned(message_id.clone()),
        Cow::Owned(recorded),
        Cow::Owned(message_id),
        Cow::Owned(recorded_day),
        b(&r.payment.attestor_kind),
        b(&r.payment.attestor_code),
        b(&r.payment.attestor_name),
    ]);
    fields.extend((0..8).map(|_| empty()));
    fields.extend(beneficiary(org));
    fields.extend((0..10).map(|_| empty()));
    fields.extend([
        b("F"),
        b(&r.debtor.id),
        b(&r.debtor.name),
        s(&r.debtor.address),
        s(&r.debtor.civic_number),
        s(&r.debtor.postal_code),
        s(&r.debtor.city),
        s(&r.debtor.province),
        empty(),
        empty(),
        b("0"),
        amount(),
        b(r.payment.iuv.as_str()),
        b("n/a"),
        amount(),
        b(EXTERNAL_OUTCOME),
        Cow::Owned(r.payment.outcome_date.to_string()),
        b(&r.payment.collection_id),
        Cow::Owned(causale),
        b(&r.collection_data),
        b(&r.debt_type_code),
    ]);
    if with_receipt {
        fields.extend([empty(), empty()]);
        fields.push(r.payment.payment_index.map(|i| Cow::Owned(i.to_string())).unwrap_or_default());
        fields.extend([empty(), empty(), empty()]);
    }
    match version {
        Version::V1_0 | Version::V1_1 => {}
        Version::V1_2 => fields.push(empty()),
        Version::V1_3 => fields.extend((0..4).map(|_| empty())),
    }
    fields
}

/// Streams rows into `<dir>/<stem>.zip` holding `<stem>.csv`. Written to a temporary name first and
/// renamed at the end, so a crash never leaves a half file under the real name.
///
/// Deflating is about half the work of an export, so it runs on its own thread: rows are written
/// into 256 KiB chunks handed over a bounded channel (at most 4 waiting, so memory stays flat)
/// while the caller goes on reading the next rows.
pub struct ZipCsvWriter {
    csv: QuotedCsv<ChunkSender>,
    deflater: std::thread::JoinHandle<std::io::Result<()>>,
    tmp: PathBuf,
    path: PathBuf,
}

/// The caller's end of the channel: a `Write` that sends full chunks.
pub struct ChunkSender {
    buffer: Vec<u8>,
    sender: std::sync::mpsc::SyncSender<Vec<u8>>,
}

const CHUNK: usize = 256 * 1024;

impl Write for ChunkSender {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.buffer.extend_from_slice(bytes);
        if self.buffer.len() >= CHUNK {
            self.send()?;
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl ChunkSender {
    fn send(&mut self) -> std::io::Result<()> {
        let chunk = std::mem::replace(&mut self.buffer, Vec::with_capacity(CHUNK + 4096));
        self.sender.send(chunk).map_err(|_| std::io::Error::other("the deflating thread stopped"))
    }
}

impl ZipCsvWriter {
    pub fn create(dir: &Path, stem: &str, header: &[&str]) -> std::io::Result<ZipCsvWriter> {
        std::fs::create_dir_all(dir)?;
        let path = dir.join(format!("{stem}.zip"));
        let tmp = dir.join(format!(".{stem}.zip.partial"));
        let mut zip = zip::ZipWriter::new(BufWriter::new(File::create(&tmp)?));
        let options = SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .compression_level(Some(1))
            .large_file(true);
        zip.start_file(format!("{stem}.csv"), options).map_err(std::io::Error::other)?;
        let (sender, receiver) = std::sync::mpsc::sync_channel::<Vec<u8>>(4);
        let deflater = std::thread::Builder::new().name("export-deflate".to_owned()).spawn(move || {
            for chunk in receiver {
                zip.write_all(&chunk)?;
            }
            let mut file = zip.finish().map_err(std::io::Error::other)?;
            file.flush()?;
            file.get_ref().sync_all()
        })?;
        let mut csv = QuotedCsv::new(ChunkSender { buffer: Vec::with_capacity(CHUNK + 4096), sender });
        csv.row(header.iter().copied())?;
        Ok(ZipCsvWriter { csv, deflater, tmp, path })
    }

    pub fn row<S: AsRef<str>>(&mut self, fields: &[S]) -> std::io::Result<()> {
        self.csv.row(fields.iter().map(AsRef::as_ref))
    }

    /// Finishes the ZIP and gives it its name; returns the path.
    pub fn finish(self) -> std::io::Result<PathBuf> {
        let mut sender = self.csv.into_inner();
        if !sender.buffer.is_empty() {
            sender.send()?;
        }
        // Closing the channel ends the deflating thread's loop.
        drop(sender);
        self.deflater.join().map_err(|_| std::io::Error::other("the deflating thread panicked"))??;
        std::fs::rename(&self.tmp, &self.path)?;
        Ok(self.path)
    }

    /// Removes the partial file (nothing to export, or a failure).
    pub fn discard(self) {
        drop(self.csv);
        let _ = self.deflater.join();
        let _ = std::fs::remove_file(&self.tmp);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]
    use super::*;

    #[test]
    fn column_counts_per_version() {
        assert_eq!(header(Version::V1_0, false).len(), 64);
        assert_eq!(header(Version::V1_1, true).len(), 70);
        assert_eq!(header(Version::V1_2, false).len(), 65);
        assert_eq!(header(Version::V1_3, true).len(), 74);
        assert_eq!(
            header(Version::V1_3, false)[64..],
            ["bilancio", "cod_fiscale_pa1", "de_nome_pa1", "cod_tassonomico_dovuto_pa1"]
        );
    }

    #[test]
    fn rows_have_as_many_fields_as_the_header() {
        let org = OrgRecord { ipa_code: "c_x".into(), fiscal_code: "01234567897".into(), ..Default::default() };
        let row = ExportRow { secondary: true, primary_fiscal_code: "01199250158".into(), ..Default::default() };
        for version in [Version::V1_0, Version::V1_1, Version::V1_2, Version::V1_3] {
            for with_receipt in [false, true] {
                let fields = row_fields(version, with_receipt, &org, "S_01", &row);
                assert_eq!(fields.len(), header(version, with_receipt).len(), "{version:?} {with_receipt}");
            }
        }
        let fields = row_fields(Version::V1_3, false, &org, "S_01", &row);
        assert_eq!(fields[63], SECONDARY_DEBT_TYPE);
        assert_eq!(fields[65], "01199250158");
    }

    #[test]
    fn the_payer_is_the_versante_and_the_debtor_the_pagatore() {
        let org = OrgRecord { ipa_code: "c_x".into(), fiscal_code: "01234567897".into(), ..Default::default() };
        let debtor = Party {
            kind: "F".into(),
            id: "RSSMRA85T10A562S".into(),
            name: "Mario Rossi".into(),
            city: Some("Esempio".into()),
            email: Some("mario@example.org".into()),
            ..Party::default()
        };
        let payer = Party { kind: "G".into(), id: "01199250158".into(), name: "Ditta".into(), ..Party::default() };
        let row = ExportRow { debtor, payer: Some(payer), ..Default::default() };
        let header = header(Version::V1_0, false);
        let fields = row_fields(Version::V1_0, false, &org, "S_01", &row);
        let column = |name: &str| fields[header.iter().position(|h| *h == name).unwrap()].clone().into_owned();
        assert_eq!(column("soggVersTipoIdentificativoUnivoco"), "G");
        assert_eq!(column("soggVersCodiceIdentificativoUnivoco"), "01199250158");
        assert_eq!(column("anagraficaVersante"), "Ditta");
        assert_eq!(column("emailVersante"), "");
        assert_eq!(column("soggPagCodiceIdentificativoUnivoco"), "RSSMRA85T10A562S");
        assert_eq!(column("localitaPagatore"), "Esempio");
        assert_eq!(column("emailPagatore"), "mario@example.org");
        let no_payer = ExportRow { payer: None, ..row };
        let fields = row_fields(Version::V1_0, false, &org, "S_01", &no_payer);
        assert!(fields[33..=42].iter().all(|f| f.is_empty()), "{fields:?}");
    }

    #[test]
    fn external_payment_rows_fit_every_layout() {
        let org = OrgRecord { ipa_code: "c_x".into(), fiscal_code: "01234567897".into(), ..Default::default() };
        let payment = crate::store::sil::ExternalPaymentRecord {
            org_id: 1,
            debt_id: 1,
            iuv: crate::domain::Iuv::parse("01000000000000144").unwrap(),
            context_code: None,
            amount_cents: Cents::default(),
            outcome_date: crate::domain::Day::default(),
            payment_index: Some(2),
            collection_id: "IUR-1".into(),
            attestor_kind: String::new(),
            attestor_code: String::new(),
            attestor_name: String::new(),
            recorded_by: String::new(),
        };
        let row = ExternalPaymentRow {
            payment,
            recorded_at: "2026-11-30T08:05:07Z".into(),
            iud: String::new(),
            debtor: Party::default(),
            causale: "x".repeat(200),
            collection_data: String::new(),
            debt_type_code: String::new(),
            debt_source: "import".into(),
        };
        for version in [Version::V1_0, Version::V1_1, Version::V1_2, Version::V1_3] {
            for with_receipt in [false, true] {
                let fields = external_row_fields(version, with_receipt, &org, &row);
                assert_eq!(fields.len(), header(version, with_receipt).len(), "{version:?} {with_receipt}");
            }
        }
        let fields = external_row_fields(Version::V1_1, true, &org, &row);
        let id = external_message_id("01234567897", "01000000000000144", "IUR-1");
        assert!(id.starts_with("-9-") && id.len() == 35, "{id}");
        assert_eq!((&fields[7], &fields[9]), (&Cow::Owned(id.clone()), &Cow::Owned(id)));
        // Recorded at 08:05 UTC, 09:05 in Rome.
        assert_eq!((&*fields[8], &*fields[10]), ("2026-11-30T09:05:07", "2026-11-30"));
        assert_eq!((&*fields[56], &*fields[58]), ("n/a", EXTERNAL_OUTCOME));
        assert_eq!(fields[61].chars().count(), 140);
        assert_eq!(&*fields[66], "2");
    }

    #[test]
    fn file_names() {
        let local = jiff::civil::date(2026, 11, 30).at(9, 5, 7, 0);
        assert_eq!(file_stem(Version::V1_0, "c_x", 12, &local), "12_ESTRAZIONE_DOVUTI_2026-11-30_09_05_07");
        assert_eq!(file_stem(Version::V1_3, "c_x", 12, &local), "c_x-12_ESTRAZIONE_DOVUTI_20261130090507-1_3");
    }
}
