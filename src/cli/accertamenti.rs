//! `mypay reconcile accertamenti …`: the accertamenti registry's bulk import (MyPivot's
//! `<IPA>-<NAME>-1_0.zip`, all or nothing) and the listing of the registry and the accertamenti.
//! Without `--operator`, the command acts for the installation (journalled as `cli`); with it, with
//! that operator's reach (the debt types they are enabled on).

use std::path::PathBuf;

use clap::{Args, Subcommand};
use serde_json::json;

use super::CliError;
use crate::clock::Now;
use crate::domain::reconciliation::Label;
use crate::domain::reconciliation::accertamento::AccertamentoState;
use crate::services::admin::access::{OrgAccess, org_access};
use crate::services::reconciliation::accertamenti::{self, RegistryImportError, installation_access};
use crate::services::reconciliation::notes::{self, Element};
use crate::store::Db;
use crate::store::accertamenti::{AccertamentoRecord, BookingTarget, TransferKey};
use crate::store::recon_notes::NoteRecord;

/// The org and who acts on it.
#[derive(Debug, Args)]
pub struct Who {
    #[arg(long)]
    org: String,
    /// Act as this back-office operator (their debt types only); default: the installation.
    #[arg(long)]
    operator: Option<String>,
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Subcommand)]
pub enum AccertamentiCommand {
    /// Import the registry from <IPA>-<NAME>-1_0.zip (one ISO-8859-1 CSV of 10 quoted fields, I/D
    /// actions); the first refused line rolls the whole file back.
    Import {
        file: PathBuf,
        #[arg(long)]
        org: String,
        /// Act as this back-office operator (their debt types only).
        #[arg(long)]
        operator: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// List the org's registry and accertamenti.
    List {
        #[command(flatten)]
        who: Who,
    },
    /// Open an accertamento (INSERITO) of a debt type.
    Create {
        #[command(flatten)]
        who: Who,
        #[arg(long = "debt-type")]
        debt_type: String,
        #[arg(long)]
        name: String,
    },
    /// Book a paid transfer (IUV, IUR, transfer index), whole, to an office/chapter/assessment.
    Assign {
        #[command(flatten)]
        who: Who,
        #[arg(long)]
        id: i64,
        #[arg(long)]
        iuv: String,
        #[arg(long)]
        iur: String,
        #[arg(long, default_value_t = 1)]
        index: i64,
        #[arg(long)]
        office: String,
        #[arg(long)]
        chapter: String,
        /// The assessment code; `n/a` for an entry without one.
        #[arg(long, default_value = "n/a")]
        accertamento: String,
    },
    /// Close (CHIUSO, needs a payment) or cancel (ANNULLATO) an INSERITO accertamento.
    State {
        #[command(flatten)]
        who: Who,
        #[arg(long)]
        id: i64,
        /// CHIUSO or ANNULLATO.
        #[arg(long)]
        to: String,
    },
    /// Show an accertamento with its payments.
    Show {
        #[command(flatten)]
        who: Who,
        #[arg(long)]
        id: i64,
    },
}

/// Which element a note is about: a label and one key at least.
#[derive(Debug, Args)]
pub struct ElementArgs {
    /// The label (RT_NO_IUD, DOPPI, ...).
    #[arg(long)]
    label: String,
    #[arg(long)]
    iud: Option<String>,
    #[arg(long)]
    iuv: Option<String>,
    #[arg(long)]
    iuf: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum NotesCommand {
    /// Add a note to an element; its previous note becomes history.
    Add {
        #[command(flatten)]
        who: Who,
        #[command(flatten)]
        element: ElementArgs,
        #[arg(long)]
        text: String,
    },
    /// Every note of an element, the active one first.
    History {
        #[command(flatten)]
        who: Who,
        #[command(flatten)]
        element: ElementArgs,
    },
    /// The org's active notes (hidden ones with --with-hidden).
    List {
        #[command(flatten)]
        who: Who,
        #[arg(long)]
        label: Option<String>,
        #[arg(long = "with-hidden")]
        with_hidden: bool,
    },
    /// Hide a note (--show: show it again).
    Hide {
        #[command(flatten)]
        who: Who,
        #[arg(long)]
        id: i64,
        #[arg(long)]
        show: bool,
    },
}

impl AccertamentiCommand {
    /// Whether the command writes.
    pub fn writes(&self) -> bool {
        !matches!(self, AccertamentiCommand::List { .. } | AccertamentiCommand::Show { .. })
    }
}

impl NotesCommand {
    /// Whether the command writes.
    pub fn writes(&self) -> bool {
        !matches!(self, NotesCommand::History { .. } | NotesCommand::List { .. })
    }
}

fn access(db: &Db, org: &str, operator: Option<&str>) -> Result<OrgAccess, CliError> {
    Ok(match operator {
        Some(username) => org_access(db, username, org)?,
        None => installation_access(db, org)?,
    })
}

fn print(json: bool, value: &serde_json::Value, text: &str) {
    if json {
        println!("{value}");
    } else {
        println!("{text}");
    }
}

fn header_json(a: &AccertamentoRecord) -> serde_json::Value {
    json!({ "id": a.id, "debt_type": a.debt_type_code, "name": a.name, "state": a.state.code(),
        "created_by": a.created_by, "created_at": a.created_at })
}

pub fn run_accertamenti(db: &Db, cmd: AccertamentiCommand) -> Result<(), CliError> {
    match cmd {
        AccertamentiCommand::Import { file, org, operator, json } => {
            let access = access(db, &org, operator.as_deref())?;
            let name = file.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_owned();
            let done =
                accertamenti::import_registry(db, &access, &file, &name, Now::read()).map_err(|err| match err {
                    RegistryImportError::Service(err) => CliError::Service(err),
                    refused => CliError::Usage(refused.to_string()),
                })?;
            let text = format!("registry of {org}: {} entries added, {} removed", done.inserted, done.deleted);
            print(json, &json!({ "inserted": done.inserted, "deleted": done.deleted }), &text);
        }
        AccertamentiCommand::List { who } => {
            let access = access(db, &who.org, who.operator.as_deref())?;
            let registry = accertamenti::registry(db, &access)?;
            let headers = accertamenti::list(db, &access)?;
            let registry_json: Vec<_> = registry
                .iter()
                .map(|r| {
                    let e = &r.entry;
                    json!({ "office_code": e.office_code, "office_name": e.office_name, "active": e.active,
                        "chapter_code": e.chapter_code, "chapter_name": e.chapter_name, "year": e.year,
                        "accertamento_code": e.accertamento_code, "accertamento_name": e.accertamento_name,
                        "debt_type": e.debt_type_code })
                })
                .collect();
            let mut text: Vec<String> = registry
                .iter()
                .map(|r| {
                    let e = &r.entry;
                    let inactive = if e.active { "" } else { "\t(inactive)" };
                    format!(
                        "{}\t{}\t{}\t{}\t{}{inactive}",
                        e.debt_type_code, e.office_code, e.chapter_code, e.year, e.accertamento_code
                    )
                })
                .collect();
            text.extend(
                headers
                    .iter()
                    .map(|a| format!("accertamento {}\t{}\t{}\t{}", a.id, a.debt_type_code, a.state.code(), a.name)),
            );
            let headers_json: Vec<_> = headers.iter().map(header_json).collect();
            print(who.json, &json!({ "registry": registry_json, "accertamenti": headers_json }), &text.join("\n"));
        }
        AccertamentiCommand::Create { who, debt_type, name } => {
            let access = access(db, &who.org, who.operator.as_deref())?;
            let made = accertamenti::create(db, &access, &debt_type, &name, Now::read())?;
            print(who.json, &header_json(&made), &format!("accertamento {} opened (INSERITO)", made.id));
        }
        AccertamentiCommand::Assign { who, id, iuv, iur, index, office, chapter, accertamento } => {
            let access = access(db, &who.org, who.operator.as_deref())?;
            let key = TransferKey { iuv, iur, transfer_index: index };
            let target = BookingTarget { office_code: office, chapter_code: chapter, accertamento_code: accertamento };
            let detail = accertamenti::assign(db, &access, id, &key, &target, Now::read())?;
            let amount = detail.amount.to_decimal_string();
            print(
                who.json,
                &json!({ "detail": detail.id, "accertamento": id, "amount": amount }),
                &format!("IUV {} booked to accertamento {id}: {amount}", key.iuv),
            );
        }
        AccertamentiCommand::State { who, id, to } => {
            let access = access(db, &who.org, who.operator.as_deref())?;
            let to = AccertamentoState::from_code(&to.to_ascii_uppercase())
                .ok_or_else(|| CliError::Usage(format!("--to {to}: CHIUSO or ANNULLATO")))?;
            let moved = accertamenti::change_state(db, &access, id, to, Now::read())?;
            print(who.json, &header_json(&moved), &format!("accertamento {id} is {}", moved.state.code()));
        }
        AccertamentiCommand::Show { who, id } => {
            let access = access(db, &who.org, who.operator.as_deref())?;
            let (header, details) = accertamenti::get(db, &access, id)?;
            let details_json: Vec<_> = details
                .iter()
                .map(|d| {
                    json!({ "iud": d.iud, "iuv": d.key.iuv, "iur": d.key.iur, "transfer_index": d.key.transfer_index,
                        "office": d.target.office_code, "chapter": d.target.chapter_code,
                        "accertamento": d.target.accertamento_code, "amount": d.amount.to_decimal_string() })
                })
                .collect();
            let mut text =
                vec![format!("accertamento {id}\t{}\t{}\t{}", header.debt_type_code, header.state.code(), header.name)];
            text.extend(details.iter().map(|d| {
                format!(
                    "{}\t{}\t{}\t{}/{}/{}\t{}",
                    d.key.iuv,
                    d.key.iur,
                    d.key.transfer_index,
                    d.target.office_code,
                    d.target.chapter_code,
                    d.target.accertamento_code,
                    d.amount.to_decimal_string()
                )
            }));
            let mut value = header_json(&header);
            if let Some(fields) = value.as_object_mut() {
                fields.insert("details".to_owned(), json!(details_json));
            }
            print(who.json, &value, &text.join("\n"));
        }
    }
    Ok(())
}

fn label(code: &str) -> Result<Label, CliError> {
    Label::from_code(code).ok_or_else(|| CliError::Usage(format!("unknown label {code}")))
}

fn note_json(n: &NoteRecord) -> serde_json::Value {
    json!({ "id": n.id, "label": n.element.label, "iud": n.element.iud, "iuv": n.element.iuv, "iuf": n.element.iuf,
        "note": n.note, "author": n.author, "active": n.active, "hidden": n.hidden, "created_at": n.created_at })
}

fn notes_out(json: bool, notes: &[NoteRecord]) {
    let text: Vec<String> = notes
        .iter()
        .map(|n| {
            let flags = match (n.active, n.hidden) {
                (true, false) => "",
                (true, true) => " (hidden)",
                (false, _) => " (history)",
            };
            format!("{}\t{}\t{}{flags}\t{}", n.id, n.element.label, n.created_at, n.note)
        })
        .collect();
    let values: Vec<_> = notes.iter().map(note_json).collect();
    print(json, &json!(values), &text.join("\n"));
}

pub fn run_notes(db: &Db, cmd: NotesCommand) -> Result<(), CliError> {
    match cmd {
        NotesCommand::Add { who, element, text } => {
            let access = access(db, &who.org, who.operator.as_deref())?;
            let e = Element {
                label: label(&element.label)?,
                iud: element.iud.as_deref(),
                iuv: element.iuv.as_deref(),
                iuf: element.iuf.as_deref(),
            };
            let note = notes::add(db, &access, &e, &text, Now::read())?;
            print(who.json, &note_json(&note), &format!("note {} added", note.id));
        }
        NotesCommand::History { who, element } => {
            let access = access(db, &who.org, who.operator.as_deref())?;
            let e = Element {
                label: label(&element.label)?,
                iud: element.iud.as_deref(),
                iuv: element.iuv.as_deref(),
                iuf: element.iuf.as_deref(),
            };
            notes_out(who.json, &notes::history(db, &access, &e)?);
        }
        NotesCommand::List { who, label: code, with_hidden } => {
            let access = access(db, &who.org, who.operator.as_deref())?;
            let wanted = code.as_deref().map(label).transpose()?;
            notes_out(who.json, &notes::active(db, &access, wanted, with_hidden)?);
        }
        NotesCommand::Hide { who, id, show } => {
            let access = access(db, &who.org, who.operator.as_deref())?;
            let note = notes::set_hidden(db, &access, id, !show, Now::read())?;
            let state = if note.hidden { "hidden" } else { "shown" };
            print(who.json, &note_json(&note), &format!("note {id} {state}"));
        }
    }
    Ok(())
}
