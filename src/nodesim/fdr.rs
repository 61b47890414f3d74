//! Reporting flows (flussi di rendicontazione, pagopa.md §4): what each PSP would send after
//! crediting an org. One flow per PSP × receiving org × settlement date, built from the receipts
//! the station acknowledged, one `datiSingoliPagamenti` per transfer to that org, written as a
//! FlussoRiversamento 1.0 document (FlussoRiversamento_1_0_4.xsd element order, qualified
//! elements in the DigitPA namespace).

use std::collections::BTreeMap;

use jiff::Timestamp;
use jiff::civil::Date;
use serde_json::json;

use super::config::Psp;
use super::delivery::DeliveryState;
use super::payment_data::TransferTarget;
use super::state::Sim;
use crate::clock;
use crate::domain::Cents;
use crate::soap::XmlWriter;
use crate::web::Response;

/// The FlussoRiversamento namespace.
pub const FLOW_NS: &str = "http://www.digitpa.gov.it/schemas/2011/Pagamenti/";

/// One reported transfer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowPayment {
    /// Position in the flow, from 1 (FdR REST `index`).
    pub index: u64,
    pub iuv: String,
    /// The receipt id (payment token).
    pub iur: String,
    pub id_transfer: u8,
    pub amount: Cents,
    /// The payment day (dataEsitoSingoloPagamento).
    pub outcome_date: Date,
    pub paid_at: Timestamp,
}

/// A published reporting flow.
#[derive(Debug, Clone)]
pub struct Flow {
    /// The IUF, `<YYYY-MM-DD><idPSP>-<seq>`.
    pub id: String,
    pub revision: u64,
    pub psp: Psp,
    pub org_fiscal_code: String,
    pub org_name: Option<String>,
    pub regulation_id: String,
    pub regulation_date: Date,
    pub created: Timestamp,
    pub payments: Vec<FlowPayment>,
    /// The FlussoRiversamento document.
    pub xml: String,
}

impl Flow {
    pub fn total(&self) -> Cents {
        self.payments.iter().fold(Cents::ZERO, |acc, p| acc.checked_add(p.amount).unwrap_or(acc))
    }

    /// dataOraFlusso: Europe/Rome civil time without offset.
    pub fn flow_date_time(&self) -> String {
        self.created.to_zoned(clock::rome()).strftime("%Y-%m-%dT%H:%M:%S").to_string()
    }
}

/// Builds the flows of every acknowledged receipt transfer not reported yet (or kept from the
/// station by `skip_receipts`: the PSP collected the money all the same), and keeps them.
pub fn generate(sim: &Sim, now: Timestamp) -> Vec<Flow> {
    let mut inner = sim.lock();
    type Key = (String, String, Date);
    let mut groups: BTreeMap<Key, (Psp, Option<String>, Vec<FlowPayment>)> = BTreeMap::new();
    for receipt in inner.receipts.values() {
        let delivered = inner.skipped.contains(&receipt.receipt_id)
            || inner
                .deliveries
                .iter()
                .any(|d| d.receipt_id == receipt.receipt_id && d.state == DeliveryState::Delivered);
        if !delivered {
            continue;
        }
        for transfer in &receipt.transfers {
            // A marca da bollo is not credited to the org, so it is not reported (pagopa.md §1.12).
            if matches!(transfer.target, TransferTarget::Stamp { .. })
                || inner.reported.contains(&(receipt.receipt_id.clone(), transfer.id))
            {
                continue;
            }
            let key = (receipt.psp.id.clone(), transfer.fiscal_code_pa.clone(), receipt.transfer_date);
            let org_name = transfer
                .company_name
                .clone()
                .or_else(|| (transfer.fiscal_code_pa == receipt.fiscal_code).then(|| receipt.company_name.clone()));
            let entry = groups.entry(key).or_insert_with(|| (receipt.psp.clone(), None, Vec::new()));
            if entry.1.is_none() {
                entry.1 = org_name;
            }
            entry.2.push(FlowPayment {
                index: 0,
                iuv: receipt.creditor_reference_id.clone(),
                iur: receipt.receipt_id.clone(),
                id_transfer: transfer.id,
                amount: transfer.amount,
                outcome_date: receipt.application_date,
                paid_at: receipt.paid_at,
            });
        }
    }
    let mut created = Vec::new();
    for ((_, org, date), (psp, org_name, mut payments)) in groups {
        inner.next_flow_seq += 1;
        let seq = inner.next_flow_seq;
        payments.sort_by(|a, b| (a.paid_at, &a.iur, a.id_transfer).cmp(&(b.paid_at, &b.iur, b.id_transfer)));
        for (idx, payment) in payments.iter_mut().enumerate() {
            payment.index = u64::try_from(idx).unwrap_or(u64::MAX).saturating_add(1);
            inner.reported.insert((payment.iur.clone(), payment.id_transfer));
        }
        let mut flow = Flow {
            id: format!("{date}{}-{seq:07}", psp.id),
            revision: 1,
            psp,
            org_fiscal_code: org,
            org_name,
            regulation_id: format!("SIMTRN{}{seq:07}", date.strftime("%Y%m%d")),
            regulation_date: date,
            created: now,
            payments,
            xml: String::new(),
        };
        flow.xml = flow_xml(&flow);
        tracing::info!(target: "nodesim", flow = %flow.id, org = %flow.org_fiscal_code, payments = flow.payments.len(), "reporting flow generated");
        inner.flows.push(flow.clone());
        created.push(flow);
    }
    created
}

/// The FlussoRiversamento document of `flow`.
pub fn flow_xml(flow: &Flow) -> String {
    let mut w = XmlWriter::new();
    w.raw("<?xml version=\"1.0\" encoding=\"UTF-8\"?>")
        .open_with("FlussoRiversamento", &[("xmlns", FLOW_NS)])
        .leaf("versioneOggetto", "1.0")
        .leaf("identificativoFlusso", &flow.id)
        .leaf("dataOraFlusso", &flow.flow_date_time())
        .leaf("identificativoUnivocoRegolamento", &flow.regulation_id)
        .leaf("dataRegolamento", &flow.regulation_date.to_string())
        .open("istitutoMittente")
        .open("identificativoUnivocoMittente")
        .leaf("tipoIdentificativoUnivoco", "B")
        .leaf("codiceIdentificativoUnivoco", &flow.psp.bic)
        .close("identificativoUnivocoMittente")
        .leaf("denominazioneMittente", &flow.psp.name)
        .close("istitutoMittente")
        .open("istitutoRicevente")
        .open("identificativoUnivocoRicevente")
        .leaf("tipoIdentificativoUnivoco", "G")
        .leaf("codiceIdentificativoUnivoco", &flow.org_fiscal_code)
        .close("identificativoUnivocoRicevente")
        .leaf_opt("denominazioneRicevente", flow.org_name.as_deref())
        .close("istitutoRicevente")
        .leaf("numeroTotalePagamenti", &flow.payments.len().to_string())
        .leaf("importoTotalePagamenti", &flow.total().to_decimal_string());
    for payment in &flow.payments {
        w.open("datiSingoliPagamenti")
            .leaf("identificativoUnivocoVersamento", &payment.iuv)
            .leaf("identificativoUnivocoRiscossione", &payment.iur)
            .leaf("indiceDatiSingoloPagamento", &payment.id_transfer.to_string())
            .leaf("singoloImportoPagato", &payment.amount.to_decimal_string())
            .leaf("codiceEsitoSingoloPagamento", "0")
            .leaf("dataEsitoSingoloPagamento", &payment.outcome_date.to_string())
            .close("datiSingoliPagamenti");
    }
    w.close("FlussoRiversamento");
    w.finish()
}

/// `POST /sim/fdr/generate`: the flows just created.
pub fn generate_handler(sim: &Sim) -> Response {
    let flows = generate(sim, clock::Now::read().instant());
    let list: Vec<_> = flows
        .iter()
        .map(|flow| {
            json!({
                "fdr": flow.id,
                "revision": flow.revision,
                "organizationId": flow.org_fiscal_code,
                "pspId": flow.psp.id,
                "totPayments": flow.payments.len(),
                "sumPayments": flow.total().to_decimal_string(),
            })
        })
        .collect();
    Response::json(200, &json!({ "generated": list }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nodesim::config::default_psps;
    use crate::soap;

    #[test]
    fn the_document_has_consistent_totals_and_order() {
        let date: Date = "2026-12-01".parse().unwrap();
        let paid_at: Timestamp = "2026-11-30T09:15:00Z".parse().unwrap();
        let payment = |index: u64, amount: i64| FlowPayment {
            index,
            iuv: "01000000000000144".to_owned(),
            iur: "0123456789abcdef0123456789abcdef".to_owned(),
            id_transfer: u8::try_from(index).unwrap(),
            amount: Cents::new(amount),
            outcome_date: "2026-11-30".parse().unwrap(),
            paid_at,
        };
        let mut flow = Flow {
            id: format!("{date}SIMPSP01-0000001"),
            revision: 1,
            psp: default_psps().remove(0),
            org_fiscal_code: "01234567897".to_owned(),
            org_name: Some("Comune di Prova".to_owned()),
            regulation_id: "SIMTRN202612010000001".to_owned(),
            regulation_date: date,
            created: paid_at,
            payments: vec![payment(1, 1000), payment(2, 2005)],
            xml: String::new(),
        };
        flow.xml = flow_xml(&flow);
        assert!(flow.id.len() <= 35);
        let doc = soap::parse_document(flow.xml.as_bytes()).unwrap();
        assert_eq!(doc.ns.as_deref(), Some(FLOW_NS));
        assert_eq!(doc.child_text("numeroTotalePagamenti"), Some("2"));
        assert_eq!(doc.child_text("importoTotalePagamenti"), Some("30.05"));
        assert_eq!(doc.child_text("dataOraFlusso"), Some("2026-11-30T10:15:00"));
        assert!(doc.children.iter().all(|c| c.ns.as_deref() == Some(FLOW_NS)));
        let names: Vec<&str> = doc.children.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "versioneOggetto",
                "identificativoFlusso",
                "dataOraFlusso",
                "identificativoUnivocoRegolamento",
                "dataRegolamento",
                "istitutoMittente",
                "istitutoRicevente",
                "numeroTotalePagamenti",
                "importoTotalePagamenti",
                "datiSingoliPagamenti",
                "datiSingoliPagamenti"
            ]
        );
    }
}
