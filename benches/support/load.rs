//! The load generator the HTTP benchmarks share: N client threads, each with its own keep-alive
//! connection, and the latency figures they print.
#![allow(dead_code)]

use std::sync::Arc;
use std::time::{Duration, Instant};

/// An error count says little: [`show_first_unexpected`] prints the first unexpected answer once.
static FIRST_UNEXPECTED_SHOWN: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Prints `text` (the start of an answer, or why there was none) if it is the run's first
/// unexpected answer; `what` names the call.
pub fn show_first_unexpected(what: &str, text: &str) {
    if !FIRST_UNEXPECTED_SHOWN.swap(true, std::sync::atomic::Ordering::Relaxed) {
        eprintln!("first unexpected answer to {what}: {}", text.chars().take(600).collect::<String>());
    }
}

/// Client threads, as the targets in the issues state them.
pub const CONCURRENCY: usize = 32;

pub struct Run {
    pub latencies: Vec<Duration>,
    pub elapsed: Duration,
    pub errors: usize,
}

impl Run {
    pub fn print(&mut self, what: &str, unit: &str) {
        self.latencies.sort();
        let pct = |p: f64| {
            self.latencies.get(((self.latencies.len() as f64 - 1.0) * p) as usize).copied().unwrap_or_default()
        };
        let n = self.latencies.len();
        println!(
            "{what:<40} {n:>7} {unit} in {:>6.2} s = {:>8.0} {unit}/s  p50 {:>6.2} ms  p99 {:>6.2} ms  errors {}",
            self.elapsed.as_secs_f64(),
            n as f64 / self.elapsed.as_secs_f64(),
            pct(0.50).as_secs_f64() * 1e3,
            pct(0.99).as_secs_f64() * 1e3,
            self.errors
        );
    }
}

/// Runs `per_thread` jobs on each of 32 threads; `job(thread, i, agent)` returns one latency per
/// unit of work, or None on an error.
pub fn load<F>(per_thread: usize, job: F) -> Run
where
    F: Fn(usize, usize, &ureq::Agent) -> Option<Duration> + Send + Sync + 'static,
{
    load_with(per_thread, || ureq::Agent::config_builder().http_status_as_error(false).build().into(), job)
}

/// [`load`] with agents from `agent` (for HTTPS: one trusting the server's certificate).
pub fn load_with<F>(per_thread: usize, agent: fn() -> ureq::Agent, job: F) -> Run
where
    F: Fn(usize, usize, &ureq::Agent) -> Option<Duration> + Send + Sync + 'static,
{
    let job = Arc::new(job);
    let started = Instant::now();
    let threads: Vec<_> = (0..CONCURRENCY)
        .map(|t| {
            let job = Arc::clone(&job);
            std::thread::spawn(move || {
                let agent = agent();
                let mut out = (Vec::with_capacity(per_thread), 0);
                for i in 0..per_thread {
                    match job(t, i, &agent) {
                        Some(d) => out.0.push(d),
                        None => out.1 += 1,
                    }
                }
                out
            })
        })
        .collect();
    let mut run = Run { latencies: Vec::new(), elapsed: Duration::ZERO, errors: 0 };
    for t in threads {
        let (lat, err) = t.join().unwrap();
        run.latencies.extend(lat);
        run.errors += err;
    }
    run.elapsed = started.elapsed();
    run
}

/// A `mypay demo` over a prepared data directory, on 127.0.0.1:0 with 32 workers and warnings-only
/// logs: the server's base URL and the in-process simulator's, from the first two lines it prints
/// (the rest of its output is drained).
pub struct Demo {
    child: std::process::Child,
    pub base: String,
    pub simulator: String,
}

impl Demo {
    pub fn start(data: &std::path::Path) -> Demo {
        Demo::start_with(data, &[])
    }

    /// [`Demo::start`] with global options (`--config <file>`) before the subcommand. Without the
    /// simulator (e.g. over HTTPS) `simulator` is empty.
    pub fn start_with(data: &std::path::Path, options: &[&str]) -> Demo {
        use std::io::{BufRead, BufReader};
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_mypay"))
            .arg("--data-dir")
            .arg(data)
            .args(options)
            .args(["demo", "--listen", "127.0.0.1:0"])
            .env("MYPAY_LOG_LEVEL", "warn")
            .env("MYPAY_SERVER_WORKERS", CONCURRENCY.to_string())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut line = || lines.next().unwrap().unwrap();
        let url_at_end = |line: String| line.rsplit(' ').next().unwrap().trim_end_matches('/').to_owned();
        let base = url_at_end(line());
        let second = line();
        // "  pagoPA simulator (Node, Checkout, PSPs; demo only): <url>/"
        let simulator = if second.contains("simulator") { url_at_end(second) } else { String::new() };
        std::thread::spawn(move || for _ in lines {});
        Demo { child, base, simulator }
    }

    /// Stops it with SIGTERM, as systemd would, and waits.
    pub fn stop(mut self) {
        let _ = std::process::Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
        let _ = self.child.wait();
    }
}

/// Seeds the demo in a new database at `data` and adds `n` open TARI debts of 12.34 euros with
/// generated notices (IUDs `<prefix>-000000`...): their (notice number, IUV), for clients to pay.
pub fn seed_payable(data: &std::path::Path, prefix: &str, n: usize) -> Vec<(String, String)> {
    use mypay::testing::domain::debt_row::DebtFields;
    use mypay::testing::services::debts::{Source, add_debt};
    let (db, _) = mypay::testing::store::Db::open(&data.join("mypay.db")).unwrap();
    let now = mypay::testing::clock::Now::at("2026-11-30T00:00:00Z".parse().unwrap());
    mypay::testing::services::demo::seed(&db, now).unwrap();
    (0..n)
        .map(|i| {
            let fields = DebtFields {
                iud: format!("{prefix}-{i:06}"),
                debtor_kind: "F".into(),
                debtor_id: "RSSMRA85T10A562S".into(),
                debtor_name: "Mario Rossi".into(),
                amount: "12.34".into(),
                due_date: "2099-12-31".into(),
                debt_type: "TARI".into(),
                causale: "bench".into(),
                collection_data: "9/0101002IM/".into(),
                generate_iuv: true,
                ..DebtFields::default()
            };
            let d = add_debt(&db, "bench", "c_esempio", &fields, Source::Cli, now).unwrap();
            (d.notice_number.unwrap().as_str().to_owned(), d.iuv.unwrap().as_str().to_owned())
        })
        .collect()
}

/// The header of a 1_4 debt flow, as the import benchmarks write it.
pub const HEADER_1_4: &str = "IUD;codIuv;tipoIdentificativoUnivoco;codiceIdentificativoUnivoco;anagraficaPagatore;\
indirizzoPagatore;civicoPagatore;capPagatore;localitaPagatore;provinciaPagatore;nazionePagatore;emailPagatore;\
dataScadenzaPagamento;importoDovuto;commissioneCaricoPa;tipoDovuto;tipoVersamento;causaleVersamento;\
datiSpecificiRiscossione;bilancio;flagGeneraIuv;flagMultiBeneficiario;codiceFiscaleEnteSecondario;\
denominazioneEnteSecondario;ibanAccreditoEnteSecondario;indirizzoEnteSecondario;civicoEnteSecondario;\
capEnteSecondario;localitaEnteSecondario;provinciaEnteSecondario;nazioneEnteSecondario;\
datiSpecificiRiscossioneEnteSecondario;causaleVersamentoEnteSecondario;importoVersamentoEnteSecondario;azione";

// The station's requests, as the Node sends them for the demo org (01234567897).

pub const ORG: &str = "01234567897";
pub const PAF: &str = "http://pagopa-api.pagopa.gov.it/pa/paForNode.xsd";
pub const IDS: &str =
    "<idPA>01234567897</idPA><idBrokerPA>99999000013</idBrokerPA><idStation>99999000013_01</idStation>";

pub fn envelope(payload: &str) -> String {
    format!(
        "<soapenv:Envelope xmlns:soapenv=\"http://schemas.xmlsoap.org/soap/envelope/\" xmlns:paf=\"{PAF}\">\
         <soapenv:Header/><soapenv:Body>{payload}</soapenv:Body></soapenv:Envelope>"
    )
}

pub fn verify(notice: &str) -> String {
    envelope(&format!(
        "<paf:paVerifyPaymentNoticeReq>{IDS}<qrCode><fiscalCode>{ORG}</fiscalCode><noticeNumber>{notice}</noticeNumber></qrCode></paf:paVerifyPaymentNoticeReq>"
    ))
}

pub fn get_payment(notice: &str) -> String {
    envelope(&format!(
        "<paf:paGetPaymentV2Request>{IDS}<qrCode><fiscalCode>{ORG}</fiscalCode><noticeNumber>{notice}</noticeNumber></qrCode></paf:paGetPaymentV2Request>"
    ))
}

pub fn send_rt(notice: &str, iuv: &str, amount: &str, token: &str) -> String {
    envelope(&format!(
        "<paf:paSendRTV2Request>{IDS}<receipt><receiptId>{token}</receiptId><noticeNumber>{notice}</noticeNumber><fiscalCode>{ORG}</fiscalCode>\
         <outcome>OK</outcome><creditorReferenceId>{iuv}</creditorReferenceId><paymentAmount>{amount}</paymentAmount><description>bench</description>\
         <companyName>Comune di Esempio</companyName><debtor><uniqueIdentifier><entityUniqueIdentifierType>F</entityUniqueIdentifierType>\
         <entityUniqueIdentifierValue>RSSMRA85T10A562S</entityUniqueIdentifierValue></uniqueIdentifier><fullName>Mario Rossi</fullName></debtor>\
         <transferList><transfer><idTransfer>1</idTransfer><transferAmount>{amount}</transferAmount><fiscalCodePA>{ORG}</fiscalCodePA>\
         <IBAN>IT60X0542811101000000123456</IBAN><remittanceInformation>bench</remittanceInformation><transferCategory>0101002IM</transferCategory></transfer></transferList>\
         <idPSP>BCITITMM</idPSP><PSPCompanyName>Banca</PSPCompanyName><idChannel>BCITITMM_01</idChannel><channelDescription>app</channelDescription></receipt></paf:paSendRTV2Request>"
    ))
}

/// A ZIP at `path` with its one entry `<stem>.csv` started, ready for the CSV's bytes.
pub fn flow_zip(path: &std::path::Path, stem: &str) -> zip::ZipWriter<std::fs::File> {
    let mut zip = zip::ZipWriter::new(std::fs::File::create(path).unwrap());
    let options =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated).large_file(true);
    zip.start_file(format!("{stem}.csv"), options).unwrap();
    zip
}
