//! `mypay api-token create|list|revoke --org IPA`: the bearer tokens of the REST API. A new token
//! is printed once; only its hash is kept.

use clap::Subcommand;
use serde_json::json;

use super::CliError;
use crate::clock::Now;
use crate::services::admin::api_tokens;
use crate::store::Db;
use crate::store::api_tokens::ApiTokenRecord;

/// The audit actor of CLI changes.
const ACTOR: &str = "cli";

#[derive(Debug, Subcommand)]
pub enum ApiTokenCommand {
    /// Create a token for an org and print it (shown only this once).
    Create {
        #[arg(long)]
        org: String,
        /// What the token is for, e.g. the name of the calling system.
        #[arg(long, default_value = "")]
        label: String,
        #[arg(long)]
        json: bool,
    },
    /// List an org's tokens (never the tokens themselves).
    List {
        #[arg(long)]
        org: String,
        #[arg(long)]
        json: bool,
    },
    /// Revoke a token by its id: calls with it are refused from now on.
    Revoke {
        #[arg(long)]
        org: String,
        id: i64,
        #[arg(long)]
        json: bool,
    },
}

fn token_json(t: &ApiTokenRecord) -> serde_json::Value {
    json!({
        "id": t.id, "org": t.org_ipa, "label": t.label, "created_at": t.created_at,
        "revoked_at": t.revoked_at, "last_used_at": t.last_used_at,
    })
}

fn print(value: &serde_json::Value) -> Result<(), CliError> {
    println!("{}", serde_json::to_string_pretty(value).map_err(|err| CliError::System(err.to_string()))?);
    Ok(())
}

impl ApiTokenCommand {
    /// Whether the command writes or only reads.
    pub fn writes(&self) -> bool {
        !matches!(self, ApiTokenCommand::List { .. })
    }
}

pub fn run(db: &Db, cmd: ApiTokenCommand) -> Result<(), CliError> {
    let now = Now::read();
    match cmd {
        ApiTokenCommand::Create { org, label, json } => {
            let (record, token) = api_tokens::create_token(db, ACTOR, &org, &label, now)?;
            if json {
                let mut value = token_json(&record);
                if let Some(object) = value.as_object_mut() {
                    object.insert("token".to_owned(), json!(token));
                }
                print(&value)?;
            } else {
                println!("{token}");
                eprintln!(
                    "token {} created for org {}: store it now, it is not shown again",
                    record.id, record.org_ipa
                );
            }
        }
        ApiTokenCommand::List { org, json } => {
            let list = api_tokens::list_tokens(db, &org)?;
            if json {
                print(&json!(list.iter().map(token_json).collect::<Vec<_>>()))?;
            } else {
                if list.is_empty() {
                    eprintln!("org {org} has no API tokens: create one with `mypay api-token create --org {org}`");
                }
                for t in &list {
                    let state = if t.revoked_at.is_some() { "revoked" } else { "valid" };
                    println!("{:>5} {:<8} {:<20} {}", t.id, state, t.created_at, t.label);
                }
            }
        }
        ApiTokenCommand::Revoke { org, id, json } => {
            api_tokens::revoke_token(db, ACTOR, &org, id, now)?;
            if json {
                print(&json!({ "id": id, "org": org, "revoked": true }))?;
            } else {
                println!("revoked API token {id} of org {org}");
            }
        }
    }
    Ok(())
}
