//! A data subject's export (`services::gdpr::subject::SubjectData`) as the two documents they
//! receive: JSON (the machine-readable copy, art. 20) and a readable HTML page that prints well
//! (art. 15). Shared by `mypay gdpr export` and the back office's download.

use maud::{DOCTYPE, html};
use serde_json::{Value, json};

use super::format::{date_it, datetime_it};
use crate::domain::Party;
use crate::services::gdpr::subject::SubjectData;

fn party(p: &Party) -> Value {
    json!({
        "kind": p.kind, "fiscal_code": p.id, "name": p.name, "address": p.address,
        "civic_number": p.civic_number, "postal_code": p.postal_code, "city": p.city,
        "province": p.province, "country": p.country, "email": p.email,
    })
}

/// The export as JSON (`format` 1: a stored contract of `mypay gdpr export`).
pub fn to_json(d: &SubjectData) -> Value {
    let ipa = |id: i64| d.org_of(id).map(|o| o.ipa_code.clone());
    json!({
        "format": 1,
        "fiscal_code": d.fiscal_code,
        "org": d.org.as_ref().map(|o| o.ipa_code.clone()),
        "generated_at": d.generated_at,
        "orgs": d.orgs.iter().map(|o| json!({
            "ipa": o.ipa_code, "fiscal_code": o.fiscal_code, "name": o.name, "email": o.email,
        })).collect::<Vec<_>>(),
        "debts": d.debts.iter().map(|x| json!({
            "org": ipa(x.org_id), "iud": x.iud, "iuv": x.iuv.as_ref().map(ToString::to_string),
            "notice_number": x.notice_number.as_ref().map(ToString::to_string), "debt_type": x.debt_type_code,
            "state": x.state.code(), "debtor": party(&x.debtor), "amount_cents": x.amount_cents.get(),
            "due_date": x.due_date.map(|d| d.to_string()), "causale": x.causale, "created_at": x.created_at,
            "updated_at": x.updated_at,
        })).collect::<Vec<_>>(),
        "receipts": d.receipts.iter().map(|r| json!({
            "org": ipa(r.org_id), "iuv": r.iuv, "notice_number": r.notice_number, "receipt_id": r.receipt_id,
            "outcome": r.outcome, "amount_cents": r.amount_cents.get(), "description": r.description,
            "debtor": party(&r.debtor), "payer": r.payer.as_ref().map(party), "psp": r.psp_company_name,
            "payment_date": r.payment_date.to_string(), "received_at": r.received_at,
        })).collect::<Vec<_>>(),
        "consents": d.consents.iter().map(|c| json!({
            "org": ipa(c.org_id), "notice_version": c.version, "channel": c.channel, "accepted_at": c.accepted_at,
        })).collect::<Vec<_>>(),
        "mails": d.mails.iter().map(|m| json!({
            "to": m.recipient, "subject": m.subject, "body": m.body, "state": m.state.code(),
            "created_at": m.created_at, "sent_at": m.sent_at,
        })).collect::<Vec<_>>(),
    })
}

/// The export as a standalone HTML page (Italian, print styles inline).
pub fn to_html(d: &SubjectData) -> String {
    let org_name = |id: i64| d.org_of(id).map_or_else(String::new, |o| o.name.clone());
    let css = "body{font-family:system-ui,sans-serif;margin:2rem;color:#1a1a1a}table{border-collapse:collapse;\
               width:100%;margin-bottom:1.5rem}th,td{border:1px solid #888;padding:.3rem .5rem;text-align:left;\
               vertical-align:top}caption{text-align:left;font-weight:600;padding:.3rem 0}\
               @media print{body{margin:0}h2{break-after:avoid}tr{break-inside:avoid}}";
    html! {
        (DOCTYPE)
        html lang="it" {
            head {
                meta charset="utf-8";
                title { "Dati personali di " (d.fiscal_code) }
                style { (css) }
            }
            body {
                main {
                    h1 { "I tuoi dati personali" }
                    p { "Codice fiscale " strong { (d.fiscal_code) }
                        @if let Some(o) = &d.org { ", presso " (o.name) }
                        ". Estratto il " (datetime_it(&d.generated_at)) " ai sensi dell'art. 15 del Regolamento (UE) 2016/679." }
                    h2 { "Posizioni debitorie" }
                    @if d.debts.is_empty() { p { "Nessuna." } } @else {
                        table {
                            caption { "Dovuti intestati a te" }
                            thead { tr { th scope="col" { "Ente" } th scope="col" { "Codice avviso" } th scope="col" { "Causale" }
                                th scope="col" { "Importo" } th scope="col" { "Scadenza" } th scope="col" { "Stato" } th scope="col" { "Recapiti" } } }
                            tbody { @for x in &d.debts { tr {
                                td { (org_name(x.org_id)) }
                                td { (x.notice_number.as_ref().map(ToString::to_string).unwrap_or_default()) }
                                td { (x.causale) }
                                td { (x.amount_cents.format_eur()) }
                                td { (x.due_date.map(|d| date_it(&d.to_string())).unwrap_or_default()) }
                                td { (x.state.code()) }
                                td { (x.debtor.name) @if let Some(e) = &x.debtor.email { br; (e) }
                                     @if let Some(a) = &x.debtor.address { br; (a) " " (x.debtor.civic_number.clone().unwrap_or_default()) " " (x.debtor.city.clone().unwrap_or_default()) } }
                            } } }
                        }
                    }
                    h2 { "Ricevute" }
                    @if d.receipts.is_empty() { p { "Nessuna." } } @else {
                        table {
                            caption { "Pagamenti in cui sei debitore o pagatore" }
                            thead { tr { th scope="col" { "Ente" } th scope="col" { "IUV" } th scope="col" { "Descrizione" }
                                th scope="col" { "Importo" } th scope="col" { "Data" } th scope="col" { "Esito" } th scope="col" { "Debitore" } th scope="col" { "Pagatore" } } }
                            tbody { @for r in &d.receipts { tr {
                                td { (org_name(r.org_id)) } td { (r.iuv) } td { (r.description) }
                                td { (r.amount_cents.format_eur()) } td { (date_it(&r.payment_date.to_string())) } td { (r.outcome) }
                                td { (r.debtor.name) " (" (r.debtor.id) ")" }
                                td { @if let Some(p) = &r.payer { (p.name) " (" (p.id) ")" } }
                            } } }
                        }
                    }
                    h2 { "Informative privacy accettate" }
                    @if d.consents.is_empty() { p { "Nessuna registrata con il tuo codice fiscale." } } @else {
                        table {
                            caption { "Accettazioni" }
                            thead { tr { th scope="col" { "Ente" } th scope="col" { "Versione" } th scope="col" { "Canale" } th scope="col" { "Data" } } }
                            tbody { @for c in &d.consents { tr {
                                td { (org_name(c.org_id)) } td { (c.version) } td { (c.channel) } td { (datetime_it(&c.accepted_at)) }
                            } } }
                        }
                    }
                    h2 { "E-mail inviate" }
                    @if d.mails.is_empty() { p { "Nessuna." } } @else {
                        table {
                            caption { "Messaggi ai tuoi indirizzi" }
                            thead { tr { th scope="col" { "Data" } th scope="col" { "A" } th scope="col" { "Oggetto" } th scope="col" { "Stato" } } }
                            tbody { @for m in &d.mails { tr {
                                td { (datetime_it(&m.created_at)) } td { (m.recipient) } td { (m.subject) } td { (m.state.code()) }
                            } } }
                        }
                    }
                }
            }
        }
    }
    .into_string()
}
