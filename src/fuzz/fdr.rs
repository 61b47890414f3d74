//! The reporting flow's parser (`flows::fdr::parse_flusso`, the FlussoRiversamento document of
//! the nodeForPa interface) and the checks a flow meets before it is stored
//! (`services::payments::reporting`): real flows edited with XML's tokens, and generated flows
//! whose payments are known.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use proptest::prelude::*;

use super::{MAX_EDITED, MESSAGE_SLACK, apply, config, edits, real_world, seed};
use crate::domain::Cents;
use crate::flows::fdr::{FLUSSO_NS, parse_flusso};
use crate::soap::Limits;

/// Real flows: pagoPA's documentation, MyPay4's feature tests, GPD's Node mock (one with a
/// broken declaration, one with amounts the XSD refuses); and a generated one, so the list is
/// never empty.
fn seeds() -> &'static [&'static [u8]] {
    static SEEDS: std::sync::OnceLock<Vec<&'static [u8]>> = std::sync::OnceLock::new();
    SEEDS.get_or_init(|| {
        let mut seeds = real_world(&[
            "sanp_doc_FlussoRiversamento.xml",
            "p4pa_FlussoRiversamento_2_pagamenti.xml",
            "gpdmock_FlussoRiversamento_generated.xml",
            "gpdmock_FlussoRiversamento_malformed_decl.xml",
        ]);
        let payments = vec![
            ("01000000000000144".to_owned(), "IUR1".to_owned(), Some(1), 1050, 0),
            ("01000000000000241".to_owned(), "IUR2".to_owned(), None, 2000, 9),
        ];
        let own = flow_xml("2026-01-15PSPTEST01-0001", &payments, 2, 3050);
        seeds.push(Box::leak(own.into_bytes().into_boxed_slice()));
        seeds
    })
}

/// A generated payment: IUV, IUR, transfer index, amount in cents, outcome code.
type Payment = (String, String, Option<u8>, i64, u8);

fn flow_xml(iuf: &str, payments: &[Payment], declared_count: usize, declared_total: i64) -> String {
    let mut out = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><FlussoRiversamento xmlns=\"{FLUSSO_NS}\">\
         <versioneOggetto>1.0</versioneOggetto><identificativoFlusso>{iuf}</identificativoFlusso>\
         <dataOraFlusso>2026-01-15T10:00:00</dataOraFlusso><identificativoUnivocoRegolamento>R1\
         </identificativoUnivocoRegolamento><dataRegolamento>2026-01-16</dataRegolamento><istitutoMittente>\
         <identificativoUnivocoMittente><tipoIdentificativoUnivoco>B</tipoIdentificativoUnivoco>\
         <codiceIdentificativoUnivoco>BCITITMM</codiceIdentificativoUnivoco></identificativoUnivocoMittente>\
         <denominazioneMittente>Banca</denominazioneMittente></istitutoMittente><istitutoRicevente>\
         <identificativoUnivocoRicevente><tipoIdentificativoUnivoco>G</tipoIdentificativoUnivoco>\
         <codiceIdentificativoUnivoco>01199250158</codiceIdentificativoUnivoco></identificativoUnivocoRicevente>\
         </istitutoRicevente><numeroTotalePagamenti>{declared_count}</numeroTotalePagamenti>\
         <importoTotalePagamenti>{}</importoTotalePagamenti>",
        Cents::new(declared_total).to_decimal_string()
    );
    for (iuv, iur, index, cents, outcome) in payments {
        out.push_str(&format!(
            "<datiSingoliPagamenti><identificativoUnivocoVersamento>{iuv}</identificativoUnivocoVersamento>\
             <identificativoUnivocoRiscossione>{iur}</identificativoUnivocoRiscossione>{}\
             <singoloImportoPagato>{}</singoloImportoPagato><codiceEsitoSingoloPagamento>{outcome}\
             </codiceEsitoSingoloPagamento><dataEsitoSingoloPagamento>2026-01-15</dataEsitoSingoloPagamento>\
             </datiSingoliPagamenti>",
            index.map(|i| format!("<indiceDatiSingoloPagamento>{i}</indiceDatiSingoloPagamento>")).unwrap_or_default(),
            Cents::new(*cents).to_decimal_string()
        ));
    }
    out.push_str("</FlussoRiversamento>");
    out
}

fn payment() -> impl Strategy<Value = Payment> {
    ("[0-9]{17}", "[A-Za-z0-9-]{1,35}", proptest::option::of(1u8..6), 1i64..=Cents::MAX_AMOUNT.get(), 0u8..10)
}

proptest! {
    #![proptest_config(config(10_000))]

    /// Real flows, edited: a flow or a reason, each within the input's size; amounts exact and
    /// within pagoPA's maximum, so the checks' sum of at most 20,000 of them cannot overflow.
    #[test]
    fn edited_flows_parse_within_bounds(doc in seed(seeds()), edits in edits(super::xml::TOKENS, 8)) {
        let input = apply(doc, &edits, MAX_EDITED);
        match parse_flusso(&input) {
            Ok(flow) => {
                prop_assert!(flow.payments.len() <= Limits::REPORTING_FLOW.elements);
                prop_assert!(flow.declared_total.get() >= 0 && flow.declared_total <= Cents::MAX_AMOUNT);
                for p in &flow.payments {
                    prop_assert!(p.amount_cents.get() >= 0 && p.amount_cents <= Cents::MAX_AMOUNT);
                }
                let strings: usize = flow.iuf.len()
                    + flow.psp_id.len()
                    + flow.receiver_fiscal_code.len()
                    + [&flow.psp_name, &flow.flow_date, &flow.settlement_id, &flow.settlement_date]
                        .iter()
                        .map(|s| s.as_ref().map_or(0, String::len))
                        .sum::<usize>()
                    + flow.payments.iter().map(|p| p.iuv.len() + p.iur.len() + p.outcome_code.len() + p.outcome_date.len()).sum::<usize>();
                prop_assert!(strings <= input.len());
            }
            Err(reason) => prop_assert!(reason.len() <= input.len() + MESSAGE_SLACK, "{} bytes of reason", reason.len()),
        }
    }
}

proptest! {
    #![proptest_config(config(1_000))]

    /// A generated flow reads back payment by payment, with its declared count and total.
    #[test]
    fn generated_flows_read_back(
        iuf in "[0-9]{4}-[0-9]{2}-[0-9]{2}[A-Z]{8}-[0-9]{1,10}",
        payments in proptest::collection::vec(payment(), 0..40),
        declared_count in 0usize..50,
        declared_total in 0i64..=Cents::MAX_AMOUNT.get(),
    ) {
        let xml = flow_xml(&iuf, &payments, declared_count, declared_total);
        let flow = parse_flusso(xml.as_bytes()).map_err(TestCaseError::fail)?;
        prop_assert_eq!(&flow.iuf, &iuf);
        prop_assert_eq!(flow.declared_count, declared_count as i64);
        prop_assert_eq!(flow.declared_total, Cents::new(declared_total));
        prop_assert_eq!(flow.payments.len(), payments.len());
        for (got, (iuv, iur, index, cents, outcome)) in flow.payments.iter().zip(&payments) {
            prop_assert_eq!(&got.iuv, iuv);
            prop_assert_eq!(&got.iur, iur);
            prop_assert_eq!(got.transfer_index, index.map(i64::from));
            prop_assert_eq!(got.amount_cents, Cents::new(*cents));
            prop_assert_eq!(&got.outcome_code, &outcome.to_string());
        }
    }
}
