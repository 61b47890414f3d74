//! `mypay cert`: makes the station's TLS key with rcgen. `csr` writes a new private key and the
//! certificate signing request to send to a CA/Browser Forum CA (the certificate the pagoPA Node
//! accepts); `self-signed` writes a key and a self-signed certificate for tests and demos.
//!
//! Keys are ECDSA P-256 (what ring can generate; accepted by public CAs and by TLS 1.2/1.3 clients).
//! Files are written whole or not at all (temporary file, then rename), `key.pem` with mode 0600,
//! and existing files are never replaced without `--force`. `with_generated_certificate` makes (on
//! first start) and reuses the self-signed certificate of `tls.mode = "auto"` for `serve`.

use std::io::Write as _;
use std::net::IpAddr;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};
use jiff::ToSpan;
use rcgen::{CertificateParams, DnType, ExtendedKeyUsagePurpose, KeyPair, KeyUsagePurpose};

use super::CliError;
use crate::clock::Now;
use crate::config::Config;

#[derive(Debug, Subcommand)]
pub enum CertCommand {
    /// Write a new private key (key.pem) and a certificate signing request (csr.pem) for the
    /// station's real certificate, to be signed by a CA/Browser Forum certificate authority.
    Csr(CsrArgs),
    /// Write a new private key (key.pem) and a self-signed certificate (cert.pem), for tests and
    /// demos only: the pagoPA Node does not accept it.
    #[command(name = "self-signed")]
    SelfSigned(SelfSignedArgs),
}

#[derive(Debug, Args)]
pub struct Names {
    /// The certificate's Subject CN: the FQDN of the station URL (server.public_url).
    #[arg(long, value_name = "FQDN")]
    common_name: String,
    /// Another DNS name or IP address for subjectAltName (repeatable); the common name is always
    /// included.
    #[arg(long = "san", value_name = "NAME")]
    sans: Vec<String>,
    /// Folder to write the files to (created if missing).
    #[arg(long, value_name = "DIR")]
    out_dir: PathBuf,
    /// Replace key.pem and the other file if they already exist.
    #[arg(long)]
    force: bool,
}

#[derive(Debug, Args)]
pub struct CsrArgs {
    #[command(flatten)]
    names: Names,
}

#[derive(Debug, Args)]
pub struct SelfSignedArgs {
    #[command(flatten)]
    names: Names,
    /// Days the certificate stays valid, from today.
    #[arg(long, value_name = "N", default_value_t = 90, value_parser = clap::value_parser!(u32).range(1..=3650))]
    days: u32,
}

pub fn run(cmd: CertCommand) -> Result<(), CliError> {
    match cmd {
        CertCommand::Csr(args) => csr(&args.names),
        CertCommand::SelfSigned(args) => self_signed(&args.names, args.days),
    }
}

fn csr(names: &Names) -> Result<(), CliError> {
    let (params, sans) = params(names)?;
    let key_path = names.out_dir.join("key.pem");
    let csr_path = names.out_dir.join("csr.pem");
    refuse_existing(&[&key_path, &csr_path], names.force)?;
    let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).map_err(system)?;
    let csr = params.serialize_request(&key).map_err(system)?.pem().map_err(system)?;
    write_files(&names.out_dir, &[(&key_path, key.serialize_pem(), 0o600), (&csr_path, csr, 0o644)])?;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "wrote {} (ECDSA P-256 private key, mode 0600: keep it secret)", key_path.display());
    let _ = writeln!(
        out,
        "wrote {} (certificate signing request, CN={}, subjectAltName {})",
        csr_path.display(),
        names.common_name,
        sans.join(", ")
    );
    let _ = writeln!(
        out,
        "next: have a CA/Browser Forum certificate authority sign csr.pem, then set [tls] cert to the chain it \
         returns and [tls] key to key.pem"
    );
    Ok(())
}

fn self_signed(names: &Names, days: u32) -> Result<(), CliError> {
    let key_path = names.out_dir.join("key.pem");
    let cert_path = names.out_dir.join("cert.pem");
    refuse_existing(&[&key_path, &cert_path], names.force)?;
    let (sans, until) = write_self_signed(names, i64::from(days))?;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "wrote {} (ECDSA P-256 private key, mode 0600: keep it secret)", key_path.display());
    let _ = writeln!(
        out,
        "wrote {} (self-signed certificate, CN={}, subjectAltName {}, valid until {until}; for tests and demos \
         only)",
        cert_path.display(),
        names.common_name,
        sans.join(", ")
    );
    Ok(())
}

/// `tls.mode = "auto"` in production without `tls.cert`: the self-signed certificate in
/// `<data_dir>/tls/`, made on first start (SANs: the host of `server.public_url` and the listen
/// address, when it is a specific one) and reused afterwards. Returns the configuration validated
/// again with `tls.cert`/`tls.key` pointing at it, so the files are read and checked like any
/// configured certificate.
pub(super) fn with_generated_certificate(config: Config) -> Result<Config, CliError> {
    let dir = config.data_dir.join("tls");
    let (cert_path, key_path) = (dir.join("cert.pem"), dir.join("key.pem"));
    let public_url = config.server.public_url.as_ref();
    let common_name = public_url.and_then(|url| url_host(url.as_str())).unwrap_or("localhost").to_owned();
    let listen_ip = config.server.listen.ip();
    let sans = if listen_ip.is_unspecified() { Vec::new() } else { vec![listen_ip.to_string()] };
    if cert_path.exists() && key_path.exists() {
        tracing::info!(cert = %cert_path.display(), "tls.mode = auto: using the self-signed certificate made on first start");
    } else {
        let names = Names { common_name, sans, out_dir: dir.clone(), force: true };
        let (sans, until) = write_self_signed(&names, AUTO_DAYS)?;
        tracing::warn!(
            cert = %cert_path.display(),
            names = %sans.join(", "),
            %until,
            "tls.mode = auto: generated a self-signed certificate; browsers will warn and the pagoPA Node refuses it. \
             Replace it: `mypay cert csr --common-name <FQDN> --out-dir /etc/mypay/tls`, have a CA sign csr.pem, \
             then set tls.cert and tls.key and restart (or delete {} to make a new self-signed one)",
            dir.display()
        );
    }
    Ok(config.with_tls_files(cert_path, key_path)?)
}

/// Writes a new key and a self-signed certificate valid for `days` from today into `out_dir`
/// (`key.pem`, `cert.pem`); returns the subjectAltNames and the last day of validity.
fn write_self_signed(names: &Names, days: i64) -> Result<(Vec<String>, jiff::civil::Date), CliError> {
    let (mut params, sans) = params(names)?;
    let today = Now::read().instant().to_zoned(jiff::tz::TimeZone::UTC).date();
    // A day of slack before today, for clocks slightly behind ours.
    let from = today.checked_sub(1.day()).map_err(system)?;
    let until = today.checked_add(days.days()).map_err(system)?;
    set_validity(&mut params, from, until)?;
    let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).map_err(system)?;
    let cert = params.self_signed(&key).map_err(system)?;
    let (key_path, cert_path) = (names.out_dir.join("key.pem"), names.out_dir.join("cert.pem"));
    write_files(&names.out_dir, &[(&key_path, key.serialize_pem(), 0o600), (&cert_path, cert.pem(), 0o644)])?;
    Ok((sans, until))
}

/// Days a generated certificate stays valid: it is replaced by deleting it, so it may as well last.
const AUTO_DAYS: i64 = 825;

/// The host of an `http(s)://host[:port]/...` URL (an IPv6 host without its brackets).
pub(super) fn url_host(url: &str) -> Option<&str> {
    let rest = url.split_once("://")?.1;
    let authority = rest.split(['/', '?', '#']).next()?;
    let authority = authority.rsplit_once('@').map_or(authority, |(_, host)| host);
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split_once(']')?.0,
        None => authority.split(':').next()?,
    };
    (!host.is_empty()).then_some(host)
}

/// The subject (CN only: a CA fills in the organisation it validated) and the names, checked.
fn params(names: &Names) -> Result<(CertificateParams, Vec<String>), CliError> {
    check_name("--common-name", &names.common_name)?;
    if names.common_name.len() > 64 {
        return Err(CliError::Usage(format!(
            "--common-name: {:?} is longer than 64 characters, the X.509 limit for a CN",
            names.common_name
        )));
    }
    // CA/Browser Forum rules: the CN must also be a subjectAltName.
    let mut sans = vec![names.common_name.clone()];
    for san in &names.sans {
        check_name("--san", san)?;
        if !sans.iter().any(|s| s.eq_ignore_ascii_case(san)) {
            sans.push(san.clone());
        }
    }
    let mut params = CertificateParams::new(sans.clone()).map_err(|err| CliError::Usage(err.to_string()))?;
    params.distinguished_name.push(DnType::CommonName, names.common_name.as_str());
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    Ok((params, sans))
}

/// An IP address, or a DNS name (letters, digits and hyphens in dot-separated labels; a leading
/// `*.` for a wildcard).
fn check_name(flag: &str, name: &str) -> Result<(), CliError> {
    if name.parse::<IpAddr>().is_ok() {
        return Ok(());
    }
    let host = name.strip_prefix("*.").unwrap_or(name);
    let label_ok = |l: &str| {
        (1..=63).contains(&l.len())
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    if name.len() > 253 || !host.split('.').all(label_ok) {
        return Err(CliError::Usage(format!(
            "{flag}: {name:?} is not a DNS name (like pagamenti.comune.it) or an IP address"
        )));
    }
    Ok(())
}

fn set_validity(
    params: &mut CertificateParams,
    from: jiff::civil::Date,
    until: jiff::civil::Date,
) -> Result<(), CliError> {
    // Midnight UTC at both ends; rcgen takes plain year, month, day.
    let ymd = |d: jiff::civil::Date| -> Result<_, CliError> {
        Ok(rcgen::date_time_ymd(
            i32::from(d.year()),
            u8::try_from(d.month()).map_err(system)?,
            u8::try_from(d.day()).map_err(system)?,
        ))
    };
    params.not_before = ymd(from)?;
    params.not_after = ymd(until)?;
    Ok(())
}

fn refuse_existing(paths: &[&Path], force: bool) -> Result<(), CliError> {
    if force {
        return Ok(());
    }
    for path in paths {
        if path.exists() {
            return Err(CliError::Usage(format!(
                "{} already exists; nothing was written (use --force to replace it)",
                path.display()
            )));
        }
    }
    Ok(())
}

/// Writes every file to a temporary name with its final mode, then renames them into place, so a
/// failure leaves no half-written key and a replaced key never has loose permissions.
fn write_files(dir: &Path, files: &[(&PathBuf, String, u32)]) -> Result<(), CliError> {
    std::fs::create_dir_all(dir).map_err(|err| CliError::System(format!("cannot create {}: {err}", dir.display())))?;
    let mut staged = Vec::new();
    for (path, contents, mode) in files {
        let tmp = path.with_extension(format!("pem.tmp-{}", std::process::id()));
        let written =
            std::fs::OpenOptions::new().write(true).create_new(true).mode(*mode).open(&tmp).and_then(|mut file| {
                // The umask may have narrowed the mode; set it exactly.
                file.set_permissions(std::fs::Permissions::from_mode(*mode))?;
                file.write_all(contents.as_bytes())?;
                file.sync_all()
            });
        if let Err(err) = written {
            let _ = std::fs::remove_file(&tmp);
            for (tmp, _) in &staged {
                let _ = std::fs::remove_file(tmp);
            }
            return Err(CliError::System(format!("cannot write {}: {err}", tmp.display())));
        }
        staged.push((tmp, *path));
    }
    for (tmp, path) in &staged {
        std::fs::rename(tmp, path)
            .map_err(|err| CliError::System(format!("cannot write {}: {err}", path.display())))?;
    }
    Ok(())
}

fn system(err: impl std::fmt::Display) -> CliError {
    CliError::System(err.to_string())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]
    use super::*;

    #[test]
    fn url_hosts() {
        assert_eq!(url_host("https://pagamenti.comune.it"), Some("pagamenti.comune.it"));
        assert_eq!(url_host("https://pagamenti.comune.it:8443/x?y"), Some("pagamenti.comune.it"));
        assert_eq!(url_host("http://[::1]:8080/"), Some("::1"));
        assert_eq!(url_host("https://u@10.0.0.1/"), Some("10.0.0.1"));
        assert_eq!(url_host("nothing"), None);
    }

    #[test]
    fn names() {
        for ok in ["pagamenti.comune.example.it", "localhost", "127.0.0.1", "::1", "*.example.it", "a-b.it"] {
            assert!(check_name("--san", ok).is_ok(), "{ok}");
        }
        for bad in ["", "a..b", "-a.it", "a_b.it", "a b", "x.*.it", "https://a.it"] {
            assert!(check_name("--san", bad).is_err(), "{bad}");
        }
    }
}
