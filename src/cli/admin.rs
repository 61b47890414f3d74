//! Administrative commands: `org`, `debt-type`, `operator` and `debt`. Each parses its flags,
//! calls one service and prints the result (text, or JSON with `--json`).

use clap::{Args, Subcommand};

use super::{CliError, json, read_password_stdin};
use crate::clock::Now;
use crate::domain::debt_row::DebtFields;
use crate::domain::payment_options::Plan;
use crate::services::admin::adhesion;
use crate::services::admin::debt_types::{self, DebtTypeChanges};
use crate::services::admin::operators::{self, Grant, NewOperator, Role};
use crate::services::admin::orgs::{self, OrgChanges};
use crate::services::debts::{self, DebtKey, Source, options};
use crate::store::Db;
use crate::store::debts::DebtFilter;

/// Who the audit journal records for CLI changes.
const ACTOR: &str = "cli";

#[derive(Debug, Subcommand)]
pub enum OrgCommand {
    /// Add an org (state INSERITO unless --state is given).
    Add {
        /// IPA code, e.g. c_f205.
        ipa: String,
        #[command(flatten)]
        fields: OrgFields,
        #[command(flatten)]
        adhesion: Box<AdhesionArgs>,
        #[arg(long)]
        json: bool,
    },
    /// List every org.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Show one org.
    Show {
        ipa: String,
        #[arg(long)]
        json: bool,
    },
    /// Change an org's data; an empty value clears an optional field.
    Set {
        ipa: String,
        #[command(flatten)]
        fields: OrgFields,
        #[command(flatten)]
        adhesion: Box<AdhesionArgs>,
        /// Read a new SIL web-service password (8-15 characters) from standard input.
        #[arg(long)]
        sil_password_stdin: bool,
        /// Logo printed on payment notices: a PNG or JPEG file ("" removes it).
        #[arg(long, value_name = "FILE")]
        logo: Option<std::path::PathBuf>,
        #[command(flatten)]
        push: Box<super::push::PushArgs>,
        #[command(flatten)]
        upstream: Box<super::upstream::UpstreamArgs>,
        #[arg(long)]
        json: bool,
    },
    /// The org's link with the regional node (upstream mode): its settings there, without secrets,
    /// and the state of the link.
    Upstream {
        ipa: String,
        #[arg(long)]
        json: bool,
    },
    /// The outcome pushes of an org (newest first) and its push target.
    Pushes {
        ipa: String,
        #[arg(long, default_value_t = 50)]
        limit: u32,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Args, Default)]
pub struct OrgFields {
    /// Fiscal code (11 digits, pagoPA idPA).
    #[arg(long)]
    pub fiscal_code: Option<String>,
    /// Name, e.g. "Comune di Milano".
    #[arg(long)]
    pub name: Option<String>,
    /// INSERITO, PRE-ESERCIZIO or ESERCIZIO.
    #[arg(long)]
    pub state: Option<String>,
    /// Segregation code assigned by pagoPA (2 digits), first digits of every IUV17.
    #[arg(long)]
    pub segregation_code: Option<String>,
    /// Application code (2 digits) for legacy aux-digit-0 notices.
    #[arg(long)]
    pub application_code: Option<String>,
    /// IUV17 generator id (2 digits, default 00).
    #[arg(long)]
    pub generator_id: Option<String>,
    /// CBILL code printed on notices.
    #[arg(long)]
    pub cbill_code: Option<String>,
    /// Default bank IBAN.
    #[arg(long)]
    pub iban: Option<String>,
    /// Default postal IBAN.
    #[arg(long)]
    pub iban_postal: Option<String>,
    /// Postal account number (bollettino).
    #[arg(long)]
    pub postal_account: Option<String>,
    #[arg(long)]
    pub postal_account_holder: Option<String>,
    /// Poste authorization text (enables the bollettino on notices).
    #[arg(long)]
    pub poste_authorization: Option<String>,
    #[arg(long)]
    pub admin_email: Option<String>,
    #[arg(long)]
    pub address: Option<String>,
    #[arg(long)]
    pub civic_number: Option<String>,
    #[arg(long)]
    pub postal_code: Option<String>,
    #[arg(long)]
    pub city: Option<String>,
    /// Province (2 letters).
    #[arg(long)]
    pub province: Option<String>,
    /// Country (ISO 3166 alpha-2).
    #[arg(long)]
    pub country: Option<String>,
    #[arg(long)]
    pub phone: Option<String>,
    #[arg(long)]
    pub website: Option<String>,
    #[arg(long)]
    pub email: Option<String>,
    /// Text shown to citizens.
    #[arg(long)]
    pub info_text: Option<String>,
    /// Default back URL of the SIL redirect flow.
    #[arg(long)]
    pub back_url: Option<String>,
    /// Second language of payment notices: de, en, or "" for Italian only.
    #[arg(long)]
    pub notice_language: Option<String>,
    /// Functionalities to switch on (replaces the set): PAGAMENTO_SPONTANEO, or "" for none.
    #[arg(long = "functionality", value_delimiter = ',')]
    pub functionalities: Option<Vec<String>>,
}

/// The org's adhesion: its mode (which channels it may use) and the act by which it joined.
#[derive(Debug, Args, Default)]
pub struct AdhesionArgs {
    /// Adhesion mode: base (spontaneous payments, receipt exports), flussi (plus debt flows and
    /// single debts) or ente (plus SIL, REST API, outcome push). A new org starts in base.
    #[arg(long)]
    pub mode: Option<String>,
    /// The day the new mode became active (YYYY-MM-DD; default today).
    #[arg(long, value_name = "DATE")]
    pub mode_since: Option<String>,
    /// The adhesion act: delibera or determina ("" clears it).
    #[arg(long)]
    pub act_type: Option<String>,
    /// The act's number, e.g. 12/2026.
    #[arg(long)]
    pub act_number: Option<String>,
    /// The act's date (YYYY-MM-DD).
    #[arg(long, value_name = "DATE")]
    pub act_date: Option<String>,
    /// The org's contact persons for the service (free text).
    #[arg(long)]
    pub contacts: Option<String>,
}

impl AdhesionArgs {
    fn into_changes(self) -> adhesion::AdhesionChanges {
        adhesion::AdhesionChanges {
            mode: self.mode,
            mode_since: self.mode_since,
            act_type: self.act_type,
            act_number: self.act_number,
            act_date: self.act_date,
            contacts: self.contacts,
        }
    }
}

/// An org's JSON with its adhesion (`org show`, `add`, `set`).
fn org_json(db: &Db, org: &crate::store::orgs::OrgRecord) -> Result<serde_json::Value, CliError> {
    let mut value = json::org(org);
    if let Some(map) = value.as_object_mut() {
        map.insert("adhesion".to_owned(), json::adhesion(&adhesion::get(db, &org.ipa_code)?));
    }
    Ok(value)
}

impl OrgFields {
    fn into_changes(self) -> OrgChanges {
        OrgChanges {
            fiscal_code: self.fiscal_code,
            name: self.name,
            state: self.state,
            segregation_code: self.segregation_code,
            application_code: self.application_code,
            generator_id: self.generator_id,
            cbill_code: self.cbill_code,
            iban_bank: self.iban,
            iban_postal: self.iban_postal,
            postal_account: self.postal_account,
            postal_account_holder: self.postal_account_holder,
            poste_authorization: self.poste_authorization,
            admin_email: self.admin_email,
            address: self.address,
            civic_number: self.civic_number,
            postal_code: self.postal_code,
            city: self.city,
            province: self.province,
            country: self.country,
            phone: self.phone,
            website: self.website,
            email: self.email,
            info_text: self.info_text,
            back_url: self.back_url,
            notice_language: self.notice_language,
            functionalities: self.functionalities,
            mode: None,
        }
    }
}

impl OrgCommand {
    /// Whether the command writes (it then waits for a busy writer) or only reads.
    pub fn writes(&self) -> bool {
        matches!(self, OrgCommand::Add { .. } | OrgCommand::Set { .. })
    }
}

pub fn org(db: &Db, cmd: OrgCommand) -> Result<(), CliError> {
    let now = Now::read();
    match cmd {
        OrgCommand::Add { ipa, fields, adhesion: act, json } => {
            let mut changes = fields.into_changes();
            let act = (*act).into_changes();
            changes.mode.clone_from(&act.mode);
            let org = orgs::add_org(db, ACTOR, &ipa, &changes, now)?;
            if !(adhesion::AdhesionChanges { mode: None, ..act.clone() }).is_empty() {
                adhesion::set(db, ACTOR, &org.ipa_code, &act, now)?;
            }
            let mode = adhesion::get(db, &org.ipa_code)?.current.mode;
            print_one(json, org_json(db, &org)?, || {
                format!("added org {} ({}, {}, mode {mode})", org.ipa_code, org.name, org.state.code())
            });
        }
        OrgCommand::List { json } => {
            let list = adhesion::list_with_modes(db)?;
            if json {
                let with_mode = |(org, mode): &(crate::store::orgs::OrgRecord, crate::domain::adhesion::Mode)| {
                    let mut value = json::org(org);
                    if let Some(map) = value.as_object_mut() {
                        map.insert("mode".to_owned(), mode.code().into());
                    }
                    value
                };
                print_json(&serde_json::Value::Array(list.iter().map(with_mode).collect()));
            } else {
                if list.is_empty() {
                    eprintln!("no orgs yet: add one with `mypay org add IPA --fiscal-code ... --name ...`");
                }
                for (org, mode) in &list {
                    println!(
                        "{:<20} {:<11} {:<13} {:<6} {}",
                        org.ipa_code,
                        org.fiscal_code,
                        org.state.code(),
                        mode.code(),
                        org.name
                    );
                }
            }
        }
        OrgCommand::Show { ipa, json } => {
            let org = orgs::get_org(db, &ipa)?;
            let value = org_json(db, &org)?;
            print_one(json, value.clone(), || json::as_text(&value));
        }
        OrgCommand::Set { ipa, fields, adhesion: act, sil_password_stdin, logo, push, upstream, json } => {
            let stdin_reads =
                usize::from(sil_password_stdin) + usize::from(push.push_secret_stdin) + upstream.stdin_reads();
            if stdin_reads > 1 {
                return Err(CliError::Usage(
                    "--sil-password-stdin, --push-secret-stdin, --upstream-password-stdin, \
                     --upstream-push-secret-stdin and --upstream-cart-hash-stdin all read standard input: \
                     give one at a time"
                        .to_owned(),
                ));
            }
            // Read the password, the secrets and the logo first, so that a missing one changes nothing.
            let password = if sil_password_stdin { Some(read_password_stdin()?) } else { None };
            let push = push.settings()?;
            let upstream = upstream.changes()?;
            let logo = match logo {
                Some(path) if path.as_os_str().is_empty() => Some(None),
                Some(path) => Some(Some(
                    std::fs::read(&path)
                        .map_err(|err| CliError::Usage(format!("cannot read logo file {}: {err}", path.display())))?,
                )),
                None => None,
            };
            let changes = fields.into_changes();
            let act = (*act).into_changes();
            let mut org = orgs::get_org(db, &ipa)?;
            if let Some(password) = &password {
                crate::services::admin::passwords::check_sil_password(password)?;
            }
            org = orgs::set_org(db, ACTOR, &org.ipa_code, &changes, now)?;
            if !act.is_empty() {
                adhesion::set(db, ACTOR, &org.ipa_code, &act, now)?;
            }
            if let Some(password) = &password {
                orgs::set_sil_password(db, ACTOR, &org.ipa_code, password, now)?;
                org.has_sil_password = true;
            }
            if let Some(image) = &logo {
                orgs::set_logo(db, ACTOR, &org.ipa_code, image.as_deref(), now)?;
            }
            if let Some(push) = &push {
                crate::services::payments::outcome_push::set_push_target(db, ACTOR, &org.ipa_code, push, now)?;
            }
            if let Some(upstream) = &upstream {
                crate::services::upstream::settings::set(db, ACTOR, &org.ipa_code, upstream, now)?;
                // An org with a password at the Region has its debts mirrored there from now on, and
                // its open debts made before are queued too (the link does it, a chunk at a time).
                if let Some(password) = &upstream.password {
                    let on = !password.is_empty();
                    crate::services::upstream::outbox::set_mirrored(db, ACTOR, &org.ipa_code, on, now)?;
                }
            }
            print_one(json, org_json(db, &org)?, || format!("updated org {}", org.ipa_code));
        }
        OrgCommand::Pushes { ipa, limit, json } => super::push::list(db, &ipa, limit, json)?,
        OrgCommand::Upstream { ipa, json } => super::upstream::show(db, &ipa, json)?,
    }
    Ok(())
}

#[derive(Debug, Subcommand)]
pub enum DebtTypeCommand {
    /// Add a debt type to an org.
    Add {
        #[arg(long)]
        org: String,
        /// Code (identificativoTipoDovuto), e.g. TARI.
        #[arg(long)]
        code: String,
        #[command(flatten)]
        fields: DebtTypeFields,
        #[arg(long)]
        json: bool,
    },
    /// List an org's debt types.
    List {
        #[arg(long)]
        org: String,
        #[arg(long)]
        json: bool,
    },
    /// Show one debt type.
    Show {
        #[arg(long)]
        org: String,
        #[arg(long)]
        code: String,
        #[arg(long)]
        json: bool,
    },
    /// Change a debt type.
    Set {
        #[arg(long)]
        org: String,
        #[arg(long)]
        code: String,
        #[command(flatten)]
        fields: DebtTypeFields,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Args, Default)]
pub struct DebtTypeFields {
    #[arg(long)]
    pub description: Option<String>,
    /// pagoPA taxonomy code, e.g. 0101002IM.
    #[arg(long)]
    pub taxonomy: Option<String>,
    /// Bank IBAN (overrides the org's).
    #[arg(long)]
    pub iban: Option<String>,
    /// Postal IBAN (overrides the org's).
    #[arg(long)]
    pub iban_postal: Option<String>,
    #[arg(long)]
    pub postal_account: Option<String>,
    #[arg(long)]
    pub postal_account_holder: Option<String>,
    /// Citizens may pay it spontaneously on the portal.
    #[arg(long, num_args = 0..=1, default_missing_value = "true")]
    pub spontaneous: Option<bool>,
    /// Fixed amount, e.g. 16.00 (empty removes it).
    #[arg(long)]
    pub amount: Option<String>,
    /// JSON file with the spontaneous-payment form definition.
    #[arg(long, value_name = "FILE")]
    pub form: Option<std::path::PathBuf>,
    #[arg(long)]
    pub external_url: Option<String>,
    /// The debtor may be ANONIMO.
    #[arg(long, num_args = 0..=1, default_missing_value = "true")]
    pub allow_anonymous: Option<bool>,
    /// Debts need a due date, not in the past when created, and cannot be paid after it.
    #[arg(long, num_args = 0..=1, default_missing_value = "true")]
    pub due_date_mandatory: Option<bool>,
    /// Print the due date on notices.
    #[arg(long, num_args = 0..=1, default_missing_value = "true")]
    pub print_due_date: Option<bool>,
    /// Office printed on notices.
    #[arg(long)]
    pub sector: Option<String>,
    #[arg(long, num_args = 0..=1, default_missing_value = "true")]
    pub notify_io: Option<bool>,
    /// Push payment outcomes to the org's system.
    #[arg(long, num_args = 0..=1, default_missing_value = "true")]
    pub push_outcome: Option<bool>,
    #[arg(long)]
    pub max_push_attempts: Option<i64>,
    #[arg(long, num_args = 0..=1, default_missing_value = "true")]
    pub disable_notice_print: Option<bool>,
    /// Active (accepting new debts and payments).
    #[arg(long, num_args = 0..=1, default_missing_value = "true")]
    pub active: Option<bool>,
    /// idServizio of the pagoPA service catalogue (5 characters), for payments started at a PSP.
    #[arg(long)]
    pub catalog_service_id: Option<String>,
}

impl DebtTypeFields {
    fn into_changes(self) -> Result<DebtTypeChanges, CliError> {
        let form_definition = match &self.form {
            Some(path) => Some(
                std::fs::read_to_string(path)
                    .map_err(|err| CliError::Usage(format!("cannot read form file {}: {err}", path.display())))?,
            ),
            None => None,
        };
        Ok(DebtTypeChanges {
            description: self.description,
            iban_bank: self.iban,
            iban_postal: self.iban_postal,
            postal_account: self.postal_account,
            postal_account_holder: self.postal_account_holder,
            spontaneous: self.spontaneous,
            fixed_amount: self.amount,
            form_definition,
            external_payment_url: self.external_url,
            allow_anonymous: self.allow_anonymous,
            due_date_mandatory: self.due_date_mandatory,
            print_due_date: self.print_due_date,
            sector: self.sector,
            notify_io: self.notify_io,
            push_outcome: self.push_outcome,
            max_push_attempts: self.max_push_attempts,
            disable_notice_print: self.disable_notice_print,
            taxonomy_code: self.taxonomy,
            active: self.active,
            catalog_service_id: self.catalog_service_id,
        })
    }
}

impl DebtTypeCommand {
    /// Whether the command writes or only reads.
    pub fn writes(&self) -> bool {
        matches!(self, DebtTypeCommand::Add { .. } | DebtTypeCommand::Set { .. })
    }
}

pub fn debt_type(db: &Db, cmd: DebtTypeCommand) -> Result<(), CliError> {
    let now = Now::read();
    match cmd {
        DebtTypeCommand::Add { org, code, fields, json } => {
            let t = debt_types::add_debt_type(db, ACTOR, &org, &code, &fields.into_changes()?, now)?;
            print_one(json, json::debt_type(&t), || format!("added debt type {} ({})", t.code, t.description));
        }
        DebtTypeCommand::List { org, json } => {
            let list = debt_types::list_debt_types(db, &org)?;
            if json {
                print_json(&serde_json::Value::Array(list.iter().map(json::debt_type).collect()));
            } else {
                if list.is_empty() {
                    eprintln!(
                        "org {org} has no debt types yet: add one with `mypay debt-type add --org {org} --code ...`"
                    );
                }
                for t in &list {
                    let flags = [(t.active, "active"), (t.spontaneous, "spontaneous")]
                        .iter()
                        .filter(|(on, _)| *on)
                        .map(|(_, name)| *name)
                        .collect::<Vec<_>>()
                        .join(",");
                    println!("{:<24} {:<18} {}", t.code, flags, t.description);
                }
            }
        }
        DebtTypeCommand::Show { org, code, json } => {
            let t = debt_types::get_debt_type(db, &org, &code)?;
            print_one(json, json::debt_type(&t), || json::as_text(&json::debt_type(&t)));
        }
        DebtTypeCommand::Set { org, code, fields, json } => {
            let t = debt_types::set_debt_type(db, ACTOR, &org, &code, &fields.into_changes()?, now)?;
            print_one(json, json::debt_type(&t), || format!("updated debt type {}", t.code));
        }
    }
    Ok(())
}

#[derive(Debug, Subcommand)]
pub enum OperatorCommand {
    /// Add an operator; the password is read from standard input.
    Add {
        /// The org of the role (not needed for app-admin).
        #[arg(long)]
        org: Option<String>,
        #[arg(long)]
        username: String,
        /// operator, admin (of the org) or app-admin (of every org).
        #[arg(long)]
        role: String,
        #[arg(long)]
        full_name: Option<String>,
        #[arg(long)]
        email: Option<String>,
        /// Read the password from standard input (required).
        #[arg(long, required = true)]
        password_stdin: bool,
        #[arg(long)]
        json: bool,
    },
    /// List operators, of one org or all.
    List {
        #[arg(long)]
        org: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Set an operator's password, read from standard input.
    Passwd {
        #[arg(long)]
        username: String,
        #[arg(long, required = true)]
        password_stdin: bool,
    },
    /// Give a role in an org and/or enable debt types.
    Grant(GrantArgs),
    /// Take away debt-type enablements or, with none named, the role in the org.
    Revoke(GrantArgs),
}

#[derive(Debug, Args)]
pub struct GrantArgs {
    #[arg(long)]
    pub username: String,
    #[arg(long)]
    pub org: Option<String>,
    /// operator, admin or app-admin.
    #[arg(long)]
    pub role: Option<String>,
    /// Debt type codes; repeat or comma-separate.
    #[arg(long = "debt-type", value_delimiter = ',')]
    pub debt_types: Vec<String>,
    /// Every debt type the org has.
    #[arg(long)]
    pub all_debt_types: bool,
    #[arg(long)]
    pub json: bool,
}

impl OperatorCommand {
    /// Whether the command writes or only reads.
    pub fn writes(&self) -> bool {
        !matches!(self, OperatorCommand::List { .. })
    }
}

pub fn operator(db: &Db, cmd: OperatorCommand) -> Result<(), CliError> {
    let now = Now::read();
    match cmd {
        OperatorCommand::Add { org, username, role, full_name, email, password_stdin: _, json } => {
            let role = Role::parse(&role)?;
            let password = read_password_stdin()?;
            let new = NewOperator {
                username: &username,
                password: &password,
                role,
                org_ipa: org.as_deref(),
                full_name: full_name.as_deref(),
                email: email.as_deref(),
            };
            let op = operators::add_operator(db, ACTOR, &new, now)?;
            print_one(json, json::operator(&op), || format!("added operator {}", op.username));
        }
        OperatorCommand::List { org, json } => {
            let list = operators::list_operators(db, org.as_deref())?;
            if json {
                print_json(&serde_json::Value::Array(list.iter().map(json::operator).collect()));
            } else {
                if list.is_empty() {
                    eprintln!("no operators yet: add one with `mypay operator add ... --password-stdin`");
                }
                for op in &list {
                    let roles: Vec<String> = op.roles.iter().map(|(ipa, role)| format!("{role}@{ipa}")).collect();
                    let admin = if op.app_admin { " app-admin" } else { "" };
                    println!("{:<24} {}{admin}", op.username, roles.join(" "));
                }
            }
        }
        OperatorCommand::Passwd { username, password_stdin: _ } => {
            let password = read_password_stdin()?;
            operators::set_password(db, ACTOR, &username, &password, now)?;
            println!("password of {username} changed");
        }
        OperatorCommand::Grant(args) | OperatorCommand::Revoke(args) if args.role.is_none() && args.org.is_none() => {
            return Err(CliError::Usage(format!("--org is required (for {})", args.username)));
        }
        OperatorCommand::Grant(args) => {
            let grant = grant_of(&args)?;
            let op = operators::grant(db, ACTOR, &grant, now)?;
            print_one(args.json, json::operator(&op), || format!("granted to {}", op.username));
        }
        OperatorCommand::Revoke(args) => {
            let grant = grant_of(&args)?;
            let op = operators::revoke(db, ACTOR, &grant, now)?;
            print_one(args.json, json::operator(&op), || format!("revoked from {}", op.username));
        }
    }
    Ok(())
}

fn grant_of(args: &GrantArgs) -> Result<Grant<'_>, CliError> {
    Ok(Grant {
        username: &args.username,
        org_ipa: args.org.as_deref(),
        role: args.role.as_deref().map(Role::parse).transpose()?,
        debt_types: args.debt_types.clone(),
        all_debt_types: args.all_debt_types,
    })
}

#[derive(Debug, Subcommand)]
#[expect(clippy::large_enum_variant, reason = "parsed once per process; boxing would only add noise")]
pub enum DebtCommand {
    /// Add one debt, with the same checks as an import row (action I).
    Add(DebtAddArgs),
    /// List an org's debts, newest first.
    List {
        #[arg(long)]
        org: String,
        /// A debt state code, e.g. INSERIMENTO_DOVUTO.
        #[arg(long)]
        state: Option<String>,
        #[arg(long)]
        debt_type: Option<String>,
        #[arg(long, default_value_t = 50)]
        limit: u32,
        #[arg(long, default_value_t = 0)]
        offset: u32,
        #[arg(long)]
        json: bool,
    },
    /// Annul a debt (action A): it can no longer be paid; its IUD and IUV become reusable.
    Annul {
        #[arg(long)]
        org: String,
        #[arg(long)]
        iud: String,
        #[arg(long)]
        json: bool,
    },
    /// Give every payable debt without an IUV (imported by a 1_0-1_2 flow, or with
    /// flagGeneraIuv=false) an IUV17 and notice number now, rather than when its payment starts.
    AssignIuv {
        #[arg(long)]
        org: String,
        /// Only the debts of this debt flow (the import id of `mypay import --status`).
        #[arg(long)]
        import: Option<i64>,
        #[arg(long)]
        json: bool,
    },
    /// Show one debt, by IUD, IUV or notice number.
    Show {
        #[arg(long)]
        org: String,
        #[arg(long, group = "key")]
        iud: Option<String>,
        #[arg(long, group = "key")]
        iuv: Option<String>,
        /// The 18-digit notice number (spaces allowed).
        #[arg(long, group = "key")]
        notice: Option<String>,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Args)]
pub struct DebtAddArgs {
    #[arg(long)]
    pub org: String,
    #[arg(long)]
    pub debt_type: String,
    /// The org's own id of the debt (up to 35 characters).
    #[arg(long)]
    pub iud: String,
    /// An IUV supplied by the org (see --generate-iuv instead).
    #[arg(long)]
    pub iuv: Option<String>,
    /// Generate an IUV17 and its notice number.
    #[arg(long)]
    pub generate_iuv: bool,
    /// F (natural person) or G (legal person).
    #[arg(long, default_value = "F")]
    pub debtor_kind: String,
    /// Fiscal code, VAT number, or ANONIMO where the debt type allows it.
    #[arg(long)]
    pub debtor_id: String,
    #[arg(long)]
    pub debtor_name: String,
    #[arg(long)]
    pub address: Option<String>,
    #[arg(long)]
    pub civic_number: Option<String>,
    #[arg(long)]
    pub postal_code: Option<String>,
    #[arg(long)]
    pub city: Option<String>,
    #[arg(long)]
    pub province: Option<String>,
    #[arg(long)]
    pub country: Option<String>,
    #[arg(long)]
    pub email: Option<String>,
    /// Due date, YYYY-MM-DD.
    #[arg(long)]
    pub due_date: Option<String>,
    /// Amount with a dot, e.g. 120.50: the single option (pay in full). Optional with
    /// --instalment (then the debt is its instalments only).
    #[arg(long, required_unless_present = "instalment")]
    pub amount: Option<String>,
    /// An instalment, AMOUNT:YYYY-MM-DD (e.g. 100.00:2027-01-31), its own notice number;
    /// repeatable, in due-date order.
    #[arg(long, value_name = "AMOUNT:YYYY-MM-DD")]
    pub instalment: Vec<String>,
    /// A reduced amount payable until that day included, AMOUNT:YYYY-MM-DD (a fine paid within 5
    /// days of notification), exclusive with the full --amount; its own notice number.
    #[arg(long, value_name = "AMOUNT:YYYY-MM-DD", requires = "amount")]
    pub reduced: Option<String>,
    #[arg(long)]
    pub causale: String,
    /// datiSpecificiRiscossione; default 9/<the debt type's taxonomy code>/.
    #[arg(long)]
    pub collection_data: Option<String>,
    /// Restrict payment kinds (tipoVersamento), e.g. PO|CP; default ALL.
    #[arg(long)]
    pub payment_kinds: Option<String>,
    /// Digital stamp (debt type MARCA_BOLLO_DIGITALE): base64 SHA-256 of the stamped document.
    #[arg(long, requires = "stamp_province")]
    pub stamp_hash: Option<String>,
    /// Digital stamp: the payer's province of residence (2 letters).
    #[arg(long, requires = "stamp_hash")]
    pub stamp_province: Option<String>,
    #[arg(long)]
    pub json: bool,
}

impl DebtCommand {
    /// Whether the command writes or only reads.
    pub fn writes(&self) -> bool {
        matches!(self, DebtCommand::Add(_) | DebtCommand::Annul { .. } | DebtCommand::AssignIuv { .. })
    }
}

pub fn debt(db: &Db, cmd: DebtCommand) -> Result<(), CliError> {
    let now = Now::read();
    match cmd {
        DebtCommand::Add(args) => {
            let collection_data = match args.collection_data {
                Some(data) => data,
                None => debt_types::get_debt_type(db, &args.org, &args.debt_type)
                    .map(|t| format!("9/{}/", t.taxonomy_code))
                    .unwrap_or_default(),
            };
            let text = |v: Option<String>| v.unwrap_or_default();
            let fields = DebtFields {
                iud: args.iud,
                iuv: text(args.iuv),
                debtor_kind: args.debtor_kind,
                debtor_id: args.debtor_id,
                debtor_name: args.debtor_name,
                debtor_address: text(args.address),
                debtor_civic_number: text(args.civic_number),
                debtor_postal_code: text(args.postal_code),
                debtor_city: text(args.city),
                debtor_province: text(args.province),
                debtor_country: text(args.country),
                debtor_email: text(args.email),
                due_date: text(args.due_date),
                amount: args.amount.clone().unwrap_or_default(),
                fee: String::new(),
                debt_type: args.debt_type,
                payment_kinds: text(args.payment_kinds),
                causale: args.causale,
                collection_data,
                generate_iuv: args.generate_iuv,
                stamp_document_hash: text(args.stamp_hash),
                stamp_province: text(args.stamp_province),
                ..DebtFields::default()
            };
            // Without options the amount is the row's, checked by its rules with the import's codes.
            let with_options = !args.instalment.is_empty() || args.reduced.is_some();
            let plan = Plan {
                single: args
                    .amount
                    .as_deref()
                    .filter(|_| with_options)
                    .map(|a| parse_amount("--amount", a))
                    .transpose()?,
                instalments: args
                    .instalment
                    .iter()
                    .map(|i| amount_and_day("--instalment", i))
                    .collect::<Result<_, _>>()?,
                reduced: args.reduced.as_deref().map(|r| amount_and_day("--reduced", r)).transpose()?,
            };
            let d = options::add_debt_with_options(db, ACTOR, &args.org, &fields, &plan, Source::Cli, now)?;
            let opts = options::options_of(db, &d, now.today())?;
            print_one(args.json, json::debt_with_options(&d, &opts), || {
                let mut lines = vec![match &d.notice_number {
                    Some(notice) => format!("added debt {} with notice number {notice}", d.iud),
                    None => format!("added debt {}", d.iud),
                }];
                if plan.has_options() {
                    lines.extend(opts.iter().map(option_line));
                }
                lines.join("\n")
            });
        }
        DebtCommand::List { org, state, debt_type, limit, offset, json } => {
            let state = state.as_deref().map(debts::parse_state).transpose()?;
            let filter = DebtFilter { state, debt_type_code: debt_type, limit: limit.min(10_000), offset };
            let list = debts::list_debts(db, &org, &filter)?;
            if json {
                print_json(&serde_json::Value::Array(list.iter().map(json::debt).collect()));
            } else {
                if list.is_empty() {
                    eprintln!("no debts of org {org} match");
                }
                for d in &list {
                    println!(
                        "{:<24} {:<18} {:<20} {:>14} {:<10} {}",
                        d.iud,
                        d.notice_number.as_ref().map_or("-", crate::domain::NoticeNumber::as_str),
                        d.state.code(),
                        d.amount_cents.format_eur(),
                        d.due_date.map_or_else(|| "-".to_owned(), |day| day.to_string()),
                        d.debtor.name
                    );
                }
            }
        }
        DebtCommand::Annul { org, iud, json } => {
            let d = debts::annul_debt(db, ACTOR, &org, &iud, now)?;
            print_one(json, json::debt(&d), || format!("annulled debt {}", d.iud));
        }
        DebtCommand::AssignIuv { org, import, json } => {
            let done = debts::iuv::assign_bulk(db, ACTOR, &org, import, &|| false, now)?;
            let value = serde_json::json!({ "org": org, "import": import, "assigned": done.debts });
            print_one(json, value, || format!("assigned an IUV to {} debts of org {org}", done.debts));
        }
        DebtCommand::Show { org, iud, iuv, notice, json } => {
            let key = match (iud, iuv, notice) {
                (Some(iud), _, _) => DebtKey::Iud(iud),
                (_, Some(iuv), _) => DebtKey::Iuv(iuv),
                (_, _, Some(notice)) => DebtKey::NoticeNumber(notice.replace(' ', "")),
                _ => return Err(CliError::Usage("one of --iud, --iuv or --notice is required".to_owned())),
            };
            let d = debts::get_debt(db, &org, &key)?;
            let opts = options::options_of(db, &d, now.today())?;
            print_one(json, json::debt_with_options(&d, &opts), || {
                let mut text = json::as_text(&json::debt(&d));
                for o in &opts {
                    text.push_str("\noption: ");
                    text.push_str(&option_line(o));
                }
                text
            });
        }
    }
    Ok(())
}

/// One payment option on a line: kind and number, notice number, amount, due date, state.
fn option_line(o: &options::OptionView) -> String {
    format!(
        "{} {} {} {} {} {}",
        o.kind.code(),
        o.seq,
        o.notice_number.as_ref().map_or("-", crate::domain::NoticeNumber::as_str),
        o.amount.to_decimal_string(),
        o.due_date.map_or_else(|| "-".to_owned(), |d| d.to_string()),
        o.state.code()
    )
}

fn parse_amount(flag: &str, text: &str) -> Result<crate::domain::Cents, CliError> {
    crate::domain::Cents::parse_decimal(text.trim()).map_err(|err| CliError::Usage(format!("{flag} {text:?}: {err}")))
}

/// `AMOUNT:YYYY-MM-DD`, as --instalment and --reduced take it.
fn amount_and_day(flag: &str, text: &str) -> Result<(crate::domain::Cents, crate::domain::Day), CliError> {
    let (amount, day) =
        text.split_once(':').ok_or_else(|| CliError::Usage(format!("{flag} {text:?}: expected AMOUNT:YYYY-MM-DD")))?;
    let day =
        crate::domain::Day::parse(day.trim()).map_err(|err| CliError::Usage(format!("{flag} {text:?}: {err}")))?;
    Ok((parse_amount(flag, amount)?, day))
}

fn print_json(value: &serde_json::Value) {
    match serde_json::to_string_pretty(value) {
        Ok(text) => println!("{text}"),
        Err(err) => eprintln!("error: cannot print JSON: {err}"),
    }
}

fn print_one(json: bool, value: serde_json::Value, text: impl FnOnce() -> String) {
    if json {
        print_json(&value);
    } else {
        println!("{}", text());
    }
}
