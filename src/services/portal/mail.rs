//! Sending the mail outbox: each due mail goes out through SMTP (`lettre`, rustls) when `[mail]` is
//! configured; failures are retried with a growing delay and given up after 8 attempts.
//!
//! Mails are queued by the services that create them (PINs, receipt links) in the same transaction
//! as the change they report, so a mail is never lost nor sent for a change that rolled back.

use std::time::Duration;

use lettre::message::header::ContentType;
use lettre::transport::smtp::authentication::Credentials;
use lettre::{Message, SmtpTransport, Transport};

use crate::clock::Now;
use crate::config::MailSettings;
use crate::services::ServiceError;
use crate::store::{Db, mail};

/// Attempts before a mail is marked failed.
const MAX_ATTEMPTS: i64 = 8;

/// Sends the mails due at `now`; returns how many went out.
pub fn send_due(db: &Db, settings: &MailSettings, now: Now) -> Result<usize, ServiceError> {
    let iso = now.iso();
    let due = db.read(|conn| mail::list_due_mails(conn, &iso, 20))?;
    if due.is_empty() {
        return Ok(0);
    }
    let transport = transport(settings)?;
    let mut sent = 0;
    for m in due {
        match deliver(&transport, settings, &m.recipient, &m.subject, &m.body) {
            Ok(()) => {
                db.write(|tx| mail::update_mail_sent(tx, m.id, &iso))?;
                sent += 1;
            }
            Err(reason) => {
                let attempts = m.attempts + 1;
                // 1, 2, 4, ... minutes.
                let delay = jiff::SignedDuration::from_mins(1i64 << attempts.clamp(0, 10));
                let next = crate::clock::iso(now.instant() + delay);
                tracing::warn!(mail = m.id, attempts, error = %reason, "mail not sent");
                db.write(|tx| mail::update_mail_failed(tx, m.id, &reason, &next, attempts >= MAX_ATTEMPTS))?;
            }
        }
    }
    Ok(sent)
}

fn transport(settings: &MailSettings) -> Result<SmtpTransport, ServiceError> {
    let builder = if settings.starttls {
        SmtpTransport::starttls_relay(&settings.host)
    } else {
        SmtpTransport::relay(&settings.host)
    }
    .map_err(|err| ServiceError::Internal(format!("mail.host: {err}")))?;
    let mut builder = builder.port(settings.port).timeout(Some(Duration::from_secs(20)));
    if !settings.username.is_empty() {
        builder =
            builder.credentials(Credentials::new(settings.username.clone(), settings.password.expose().to_owned()));
    }
    Ok(builder.build())
}

fn deliver(
    transport: &SmtpTransport,
    settings: &MailSettings,
    to: &str,
    subject: &str,
    body: &str,
) -> Result<(), String> {
    let message = Message::builder()
        .from(settings.from.parse().map_err(|err| format!("mail.from: {err}"))?)
        .to(to.parse().map_err(|err| format!("recipient: {err}"))?)
        .subject(subject)
        .header(ContentType::TEXT_PLAIN)
        .body(body.to_owned())
        .map_err(|err| err.to_string())?;
    transport.send(&message).map(|_| ()).map_err(|err| err.to_string())
}

/// The outbox, newest first (the demo's `/dev/outbox`).
pub fn recent(db: &Db, limit: u32) -> Result<Vec<mail::MailRecord>, ServiceError> {
    Ok(db.read(|conn| mail::list_recent_mails(conn, limit))?)
}
