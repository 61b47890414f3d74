//! The receipt (RT) export file, layouts 1.0 to 1.3 (reference/mypay.md §3.3-3.4): the column
//! order, the file names, and one row per transfer credited to the exporting org.
//!
//! The values come from the receipts the station stored (paSendRT / paSendRTV2) mapped onto the
//! RT-era column names downstream accounting tools parse: the PSP is the *attestante*, the receipt id
//! is both the IUR and the payment context code, the payer is the *versante*, the debtor the
//! *pagatore*. The `rt` column carries the received SOAP request, base64.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use base64::Engine as _;
use zip::write::SimpleFileOptions;

use super::quoted_csv::QuotedCsv;
use crate::domain::Cents;
use crate::store::exports::ExportRow;
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
fn pseudo_flow(ipa: &str, source: Option<&str>) -> String {
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

/// The fields of one row, in header order.
pub fn row_fields(
    version: Version,
    with_receipt: bool,
    org: &OrgRecord,
    station_id: &str,
    r: &ExportRow,
) -> Vec<String> {
    let s = |v: &Option<String>| v.clone().unwrap_or_default();
    let amount = |c: i64| Cents::new(c).to_decimal_string();
    let (psp_kind, psp_code) = match &r.psp_fiscal_code {
        Some(code) => ("G", code.clone()),
        None => ("B", r.psp_id.clone()),
    };
    let date_time = r.payment_date_time.clone().unwrap_or_else(|| local_date_time(&r.received_at));
    let debt_type = if r.secondary { SECONDARY_DEBT_TYPE.to_owned() } else { s(&r.debt_type_code) };
    let collection = r.collection_data.clone().unwrap_or_else(|| format!("9/{}/", r.transfer_category));
    let causale = r.causale.clone().unwrap_or_else(|| r.description.clone());
    let mut fields: Vec<String> = vec![
        pseudo_flow(&org.ipa_code, r.debt_source.as_deref()),
        "1".to_owned(),
        s(&r.iud),
        r.iuv.clone(),
        "6.2.0".to_owned(),
        org.fiscal_code.clone(),
        station_id.to_owned(),
        r.receipt_id.clone(),
        date_time,
        r.receipt_id.clone(),
        r.payment_date.clone(),
        psp_kind.to_owned(),
        psp_code,
        r.psp_company_name.clone(),
        String::new(),
        String::new(),
        String::new(),
        String::new(),
        String::new(),
        String::new(),
        String::new(),
        String::new(),
        "G".to_owned(),
        org.fiscal_code.clone(),
        org.name.clone(),
        String::new(),
        String::new(),
        s(&org.address),
        s(&org.civic_number),
        s(&org.postal_code),
        s(&org.city),
        s(&org.province),
        s(&org.country),
        s(&r.payer_kind),
        s(&r.payer_id),
        s(&r.payer_name),
        String::new(),
        String::new(),
        String::new(),
        String::new(),
        String::new(),
        String::new(),
        s(&r.payer_email),
        r.debtor_kind.clone(),
        r.debtor_id.clone(),
        r.debtor_name.clone(),
        s(&r.debtor_address),
        s(&r.debtor_civic_number),
        s(&r.debtor_postal_code),
        s(&r.debtor_city),
        s(&r.debtor_province),
        s(&r.debtor_country),
        s(&r.debtor_email),
        "0".to_owned(),
        amount(r.amount_cents),
        r.iuv.clone(),
        r.receipt_id.clone(),
        amount(r.transfer_amount_cents),
        "ESEGUITO".to_owned(),
        r.payment_date.clone(),
        r.receipt_id.clone(),
        causale,
        collection,
        debt_type,
    ];
    if with_receipt {
        let rt = base64::engine::general_purpose::STANDARD.encode(r.request_xml.as_bytes());
        fields.extend([
            String::new(),
            rt,
            r.transfer_index.to_string(),
            r.fee_cents.map(amount).unwrap_or_default(),
            if r.mbd_attachment.is_some() { "BD".to_owned() } else { String::new() },
            s(&r.mbd_attachment),
        ]);
    }
    match version {
        Version::V1_0 | Version::V1_1 => {}
        Version::V1_2 => fields.push(s(&r.bilancio)),
        Version::V1_3 => {
            fields.push(s(&r.bilancio));
            if r.secondary {
                fields.extend([r.primary_fiscal_code.clone(), r.primary_name.clone(), r.transfer_category.clone()]);
            } else {
                fields.extend([String::new(), String::new(), String::new()]);
            }
        }
    }
    fields
}

/// Streams rows into `<dir>/<stem>.zip` holding `<stem>.csv`. Written to a temporary name first and
/// renamed at the end, so a crash never leaves a half file under the real name.
pub struct ZipCsvWriter {
    csv: QuotedCsv<zip::ZipWriter<BufWriter<File>>>,
    tmp: PathBuf,
    path: PathBuf,
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
        let mut csv = QuotedCsv::new(zip);
        csv.row(header.iter().copied())?;
        Ok(ZipCsvWriter { csv, tmp, path })
    }

    pub fn row(&mut self, fields: &[String]) -> std::io::Result<()> {
        self.csv.row(fields.iter().map(String::as_str))
    }

    /// Finishes the ZIP and gives it its name; returns the path.
    pub fn finish(self) -> std::io::Result<PathBuf> {
        let zip = self.csv.into_inner();
        let mut file = zip.finish().map_err(std::io::Error::other)?;
        file.flush()?;
        file.get_ref().sync_all()?;
        std::fs::rename(&self.tmp, &self.path)?;
        Ok(self.path)
    }

    /// Removes the partial file (nothing to export, or a failure).
    pub fn discard(self) {
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
    fn file_names() {
        let local = jiff::civil::date(2026, 11, 30).at(9, 5, 7, 0);
        assert_eq!(file_stem(Version::V1_0, "c_x", 12, &local), "12_ESTRAZIONE_DOVUTI_2026-11-30_09_05_07");
        assert_eq!(file_stem(Version::V1_3, "c_x", 12, &local), "c_x-12_ESTRAZIONE_DOVUTI_20261130090507-1_3");
    }
}
