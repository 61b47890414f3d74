//! `mypay notice pdf` and `mypay receipt pdf`: a payment notice or a receipt as a PDF file.
//!
//! Exit codes as everywhere: 2 for an unknown org, notice or receipt (the message names it), 1 when
//! the file cannot be written.

use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};

use super::CliError;
use crate::services::debts::documents::{self, NoticeKey};
use crate::store::Db;

#[derive(Debug, Subcommand)]
pub enum NoticeCommand {
    /// Write the payment notice (avviso pagoPA) of a debt as a PDF.
    Pdf(NoticePdfArgs),
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("key").required(true).args(["nav", "iud"])))]
pub struct NoticePdfArgs {
    /// The org's IPA code.
    #[arg(long)]
    pub org: String,
    /// The 18-digit notice number (spaces allowed).
    #[arg(long)]
    pub nav: Option<String>,
    /// The debt's IUD.
    #[arg(long)]
    pub iud: Option<String>,
    /// The PDF file to write.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: PathBuf,
    /// Print what was written as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum ReceiptCommand {
    /// Write the receipt (quietanza) of a payment as a PDF.
    Pdf(ReceiptPdfArgs),
}

#[derive(Debug, Args)]
pub struct ReceiptPdfArgs {
    /// The org's IPA code.
    #[arg(long)]
    pub org: String,
    /// The IUV paid.
    #[arg(long)]
    pub iuv: String,
    /// The receiptId (IUR), when the IUV has several receipts; default: the first successful one.
    #[arg(long)]
    pub receipt_id: Option<String>,
    /// The PDF file to write.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: PathBuf,
    /// Print what was written as JSON.
    #[arg(long)]
    pub json: bool,
}

pub fn notice(db: &Db, cmd: NoticeCommand) -> Result<(), CliError> {
    let NoticeCommand::Pdf(args) = cmd;
    let key = match (args.nav, args.iud) {
        (Some(nav), _) => NoticeKey::NoticeNumber(nav),
        (None, Some(iud)) => NoticeKey::Iud(iud),
        (None, None) => return Err(CliError::Usage("give --nav or --iud".to_owned())),
    };
    let view = documents::notice_view(db, &args.org, &key, crate::clock::Now::read())?;
    let pdf = crate::pdf::notice_pdf(&view).map_err(|err| CliError::System(err.to_string()))?;
    write_file(&args.output, &pdf)?;
    if args.json {
        let value = serde_json::json!({ "org": args.org, "notice_number": view.notice_number.as_str(),
            "output": args.output.display().to_string(), "bytes": pdf.len() });
        println!("{value}");
    } else {
        println!("wrote notice {} to {}", view.notice_number.grouped(), args.output.display());
    }
    Ok(())
}

pub fn receipt(db: &Db, cmd: ReceiptCommand) -> Result<(), CliError> {
    let ReceiptCommand::Pdf(args) = cmd;
    let view = documents::receipt_view(db, &args.org, &args.iuv, args.receipt_id.as_deref())?;
    let pdf = crate::pdf::receipt_pdf(&view).map_err(|err| CliError::System(err.to_string()))?;
    write_file(&args.output, &pdf)?;
    if args.json {
        let value = serde_json::json!({ "org": args.org, "iuv": args.iuv, "receipt_id": view.receipt_id,
            "output": args.output.display().to_string(), "bytes": pdf.len() });
        println!("{value}");
    } else {
        println!("wrote receipt {} to {}", view.receipt_id, args.output.display());
    }
    Ok(())
}

/// Writes through a temporary file and a rename, so a reader never sees half a PDF.
fn write_file(path: &Path, bytes: &[u8]) -> Result<(), CliError> {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = path.with_file_name(format!(".{name}.tmp"));
    let fail = |err: std::io::Error| CliError::System(format!("cannot write {}: {err}", path.display()));
    std::fs::write(&tmp, bytes).map_err(fail)?;
    std::fs::rename(&tmp, path).map_err(|err| {
        let _ = std::fs::remove_file(&tmp);
        fail(err)
    })
}
