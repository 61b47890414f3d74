//! The outcome push on the command line: the flags of `mypay org set` that set an org's push
//! target (`--push-url`, `--push-secret-stdin`, `--push-retry-seconds`, and the JWT's identity
//! `--push-kid`, `--push-iss`, `--push-sub`) and `mypay org pushes`,
//! which lists the pushes with their state. The secret is read from standard input and never
//! printed.

use clap::Args;

use super::{CliError, read_password_stdin};
use crate::services::payments::outcome_push::{self, PushSettings};
use crate::store::Db;

#[derive(Debug, Args, Default)]
pub struct PushArgs {
    /// URL the payment outcomes are POSTed to (MyPay's outcome push); "" stops pushing.
    #[arg(long, value_name = "URL")]
    pub push_url: Option<String>,
    /// Read the push secret (the base64 HS512 key, at least 64 bytes) from standard input.
    #[arg(long)]
    pub push_secret_stdin: bool,
    /// Push without an Authorization header (removes the secret).
    #[arg(long, conflicts_with = "push_secret_stdin")]
    pub push_no_secret: bool,
    /// Seconds before the first retry of a failed push; each later retry waits twice as long.
    #[arg(long, value_name = "N")]
    pub push_retry_seconds: Option<i64>,
    /// The JWT's header `kid` (as a regional MyPay sends it: the key's id the receiver knows); ""
    /// removes it.
    #[arg(long, value_name = "K")]
    pub push_kid: Option<String>,
    /// The JWT's `iss` claim [default: mypay]; "" goes back to the default.
    #[arg(long, value_name = "I")]
    pub push_iss: Option<String>,
    /// The JWT's `sub` claim [default: the org's IPA code]; "" goes back to the default.
    #[arg(long, value_name = "S")]
    pub push_sub: Option<String>,
}

impl PushArgs {
    /// The settings to apply, reading the secret first; `None` when no push flag was given.
    pub fn settings(&self) -> Result<Option<PushSettings>, CliError> {
        let secret = if self.push_secret_stdin {
            let secret = read_password_stdin()?;
            outcome_push::check_secret(&secret)?;
            Some(secret)
        } else if self.push_no_secret {
            Some(String::new())
        } else {
            None
        };
        let identity = [&self.push_kid, &self.push_iss, &self.push_sub];
        if self.push_url.is_none()
            && secret.is_none()
            && self.push_retry_seconds.is_none()
            && identity.iter().all(|v| v.is_none())
        {
            return Ok(None);
        }
        Ok(Some(PushSettings {
            url: self.push_url.clone(),
            secret,
            retry_seconds: self.push_retry_seconds,
            jwt_kid: self.push_kid.clone(),
            jwt_iss: self.push_iss.clone(),
            jwt_sub: self.push_sub.clone(),
        }))
    }
}

/// `mypay org pushes IPA`: the target, then one line (or JSON object) per push.
pub fn list(db: &Db, ipa: &str, limit: u32, as_json: bool) -> Result<(), CliError> {
    let overview = outcome_push::overview(db, ipa, limit)?;
    if as_json {
        let text = serde_json::to_string_pretty(&overview).map_err(|err| CliError::System(err.to_string()))?;
        println!("{text}");
        return Ok(());
    }
    match &overview.target {
        Some(t) => {
            let jwt = match (t.signed, &t.jwt_kid) {
                (false, _) => "no JWT".to_owned(),
                (true, None) => "HS512 JWT".to_owned(),
                (true, Some(kid)) => format!("HS512 JWT, kid {kid}"),
            };
            println!("push to {} ({jwt}, first retry after {} s)", t.url, t.retry_seconds)
        }
        None => println!("no push URL"),
    }
    for p in &overview.pushes {
        println!(
            "{:>6} {:<8} {:>2}/{:<2} {:<17} {}",
            p.id,
            p.state.code(),
            p.attempts,
            p.max_attempts,
            p.iuv,
            p.last_error.as_deref().unwrap_or("")
        );
    }
    Ok(())
}
