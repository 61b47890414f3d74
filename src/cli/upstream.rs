//! Upstream mode on the command line: the flags of `mypay org set` that give an org's settings at
//! the regional node (`--upstream-ipa`, `--upstream-password-stdin`, `--upstream-push-secret-stdin`,
//! `--upstream-cart-hash-stdin` and the push token's `--upstream-push-kid/-iss/-sub`) and `mypay org upstream`, which shows the
//! link (settings, last contact and error, outbox, polling, pushes). Secrets are read from standard
//! input, one per invocation as for the other `-stdin` flags, and never printed.

use clap::Args;

use super::{CliError, read_password_stdin};
use crate::services::upstream::settings::UpstreamChanges;
use crate::services::upstream::status::{self, ChangeView, UpstreamView};
use crate::store::Db;

#[derive(Debug, Args, Default)]
pub struct UpstreamArgs {
    /// The org's IPA code at the regional node (codIpaEnte there); "" means the same as here.
    #[arg(long, value_name = "CODE")]
    pub upstream_ipa: Option<String>,
    /// Read the org's SIL password at the regional node (8-15 characters) from standard input.
    #[arg(long)]
    pub upstream_password_stdin: bool,
    /// Remove the org's SIL password at the regional node.
    #[arg(long, conflicts_with = "upstream_password_stdin")]
    pub upstream_no_password: bool,
    /// Read the key the regional node signs its outcome pushes with (base64 HS512, at least 64
    /// bytes) from standard input.
    #[arg(long)]
    pub upstream_push_secret_stdin: bool,
    /// Remove that key: the region's pushes are then refused.
    #[arg(long, conflicts_with = "upstream_push_secret_stdin")]
    pub upstream_no_push_secret: bool,
    /// Read the org's paaSILInviaCarrelloDovuti hash at the regional node (the 64 hexadecimal
    /// characters the Region shows its administrators) from standard input: a cart of several
    /// orgs' new debts needs each org's.
    #[arg(long)]
    pub upstream_cart_hash_stdin: bool,
    /// Remove that hash.
    #[arg(long, conflicts_with = "upstream_cart_hash_stdin")]
    pub upstream_no_cart_hash: bool,
    /// The header `kid` of the region's push token; "" when it sends none.
    #[arg(long, value_name = "K")]
    pub upstream_push_kid: Option<String>,
    /// The `iss` claim of the region's push token; "" when it sends none.
    #[arg(long, value_name = "I")]
    pub upstream_push_iss: Option<String>,
    /// The `sub` claim of the region's push token; "" when it sends none.
    #[arg(long, value_name = "S")]
    pub upstream_push_sub: Option<String>,
}

impl UpstreamArgs {
    /// How many of these flags read standard input.
    pub fn stdin_reads(&self) -> usize {
        usize::from(self.upstream_password_stdin)
            + usize::from(self.upstream_push_secret_stdin)
            + usize::from(self.upstream_cart_hash_stdin)
    }

    /// The changes to apply, reading the secret first; `None` when no upstream flag was given.
    pub fn changes(&self) -> Result<Option<UpstreamChanges>, CliError> {
        let secret = |stdin: bool, remove: bool| -> Result<Option<String>, CliError> {
            Ok(if stdin {
                Some(read_password_stdin()?)
            } else if remove {
                Some(String::new())
            } else {
                None
            })
        };
        let changes = UpstreamChanges {
            region_ipa: self.upstream_ipa.clone(),
            password: secret(self.upstream_password_stdin, self.upstream_no_password)?,
            push_secret: secret(self.upstream_push_secret_stdin, self.upstream_no_push_secret)?,
            push_kid: self.upstream_push_kid.clone(),
            push_iss: self.upstream_push_iss.clone(),
            push_sub: self.upstream_push_sub.clone(),
            cart_hash: secret(self.upstream_cart_hash_stdin, self.upstream_no_cart_hash)?,
        };
        Ok((!changes.is_empty()).then_some(changes))
    }
}

/// `mypay org upstream IPA`: the org's link with the regional node, as text or JSON: its settings
/// there (no secret, only whether each is set), the last contact and error, the outbox, polling and
/// the region's pushes.
pub fn show(db: &Db, ipa: &str, as_json: bool) -> Result<(), CliError> {
    let view = status::view(db, ipa)?;
    if as_json {
        let text = serde_json::to_string_pretty(&view).map_err(|err| CliError::System(err.to_string()))?;
        println!("{text}");
        return Ok(());
    }
    if !view.configured {
        println!(
            "org {} has no upstream settings (mypay org set {} --upstream-password-stdin ...)",
            view.ipa_code, view.ipa_code
        );
        return Ok(());
    }
    println!("{}", text_of(&view).join("\n"));
    Ok(())
}

fn or_none(value: &Option<String>) -> String {
    value.clone().unwrap_or_else(|| "-".to_owned())
}

/// A change as one line: `#12 I TARI-2025-0001`, and the Region's code and text when it has one.
fn change_line(c: &ChangeView) -> String {
    let mut line = format!("#{} {} {}", c.id, c.action, or_none(&c.subject));
    if c.code.is_some() || c.text.is_some() {
        line.push_str(&format!(": {} {}", or_none(&c.code), c.text.as_deref().unwrap_or("")));
    }
    line.trim_end().to_owned()
}

/// The lines of `org upstream` for an org with settings.
fn text_of(view: &UpstreamView) -> Vec<String> {
    let yes_no = |set: bool| if set { "yes" } else { "no" };
    let p = &view.pushes;
    let o = &view.outbox;
    let mut lines = vec![
        format!("org: {}", view.ipa_code),
        format!("region IPA code: {}", view.region_ipa),
        format!("SIL password at the region set: {}", yes_no(view.password_set)),
        format!("push secret set: {}", yes_no(view.push_secret_set)),
        format!("cart hash set: {}", yes_no(view.cart_hash_set)),
        format!(
            "push token kid / iss / sub: {} / {} / {}",
            or_none(&view.push_kid),
            or_none(&view.push_iss),
            or_none(&view.push_sub)
        ),
        format!("last contact: {}", or_none(&view.last_contact_at)),
        format!(
            "last error: {}",
            match (&view.last_error_code, &view.last_error_text) {
                (None, None) => "-".to_owned(),
                (code, text) => format!(
                    "{} {} ({})",
                    or_none(code),
                    text.as_deref().unwrap_or(""),
                    view.last_error_at.as_deref().unwrap_or("")
                ),
            }
        ),
        format!("last receipt from the region: {}", or_none(&view.last_receipt_at)),
        format!("debts mirrored to the region: {}", yes_no(o.mirrored)),
        format!("outbox: {} waiting; last answer {}", o.waiting, or_none(&o.last_answer_at)),
    ];
    if let Some(head) = &o.head {
        lines.push(match head.attempts {
            0 => format!("  next: {} (not sent yet)", change_line(head)),
            n => format!("  next: {} (failed attempts {n}, next attempt {})", change_line(head), head.next_attempt_at),
        });
    }
    lines.push(format!("refused by the region: {}", o.refused));
    for c in &o.last_refused {
        lines.push(format!("  {} ({})", change_line(c), or_none(&c.answered_at)));
    }
    lines.push(match &view.polling {
        None => "polling: not started".to_owned(),
        Some(poll) => format!(
            "polling: cursor {}; reservation {}; last success {}; last error {}; receipts applied {}",
            poll.cursor,
            poll.pending_until.as_ref().map_or_else(|| "-".to_owned(), |to| format!("pending up to {to}")),
            or_none(&poll.last_success_at),
            match &poll.last_error {
                Some(error) => format!("{error} ({})", or_none(&poll.last_error_at)),
                None => "-".to_owned(),
            },
            poll.receipts_applied
        ),
    });
    lines.push(format!(
        "pushes: {} to confirm, {} confirmed, {} not confirmed, {} replayed, {} unreadable, {} for unknown IUVs; \
         last received {}",
        p.received,
        p.confirmed,
        p.not_confirmed,
        p.replayed,
        p.unreadable,
        p.unknown_iuv,
        or_none(&p.last_received_at)
    ));
    lines
}
