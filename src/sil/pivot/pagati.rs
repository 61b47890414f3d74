//! `pivotSILChiediPagatiRiconciliati`'s answer: the org's paying receipt transfers (with its S
//! rows: another org's receipt paying it, under `EXPORT_ENTE_SECONDARIO`), grouped by debt type, each as MyPivot's `ctExport` (the receipt's data and the debt's IUD) with the
//! reporting row that reported it (`ctFlussoRiversamento`: the flow's header and that one row)
//! and the `data` a by-date request ranges over. Children of the RT and FdR types are qualified
//! (`pay_i_rve`, `pay_i_agid`), as their schemas say; MyPivot's own elements are not.

use super::{Call, Fault, text_of};
use crate::domain::Cents;
use crate::services::sil::pivot::{self, PaidRequest};
use crate::sil::Sil;
use crate::soap::XmlWriter;
use crate::store::orgs::OrgRecord;
use crate::store::pivot::{PaidTransfer, ReportedPart};

/// The first `max` characters of `text`.
fn cut(text: &str, max: usize) -> String {
    text.chars().take(max).collect()
}

fn amount(cents: i64) -> String {
    Cents::new(cents).to_string()
}

/// The request's lists (`identificativoUnivocoVersamento`, `identificativoFlusso`, `identificativoTipoDovuto`).
fn list(parent: Option<&crate::soap::Element>, holder: &str, item: &str) -> Vec<String> {
    parent
        .and_then(|p| p.child(holder))
        .map(|h| h.children_named(item).map(|e| e.text.trim().to_owned()).filter(|t| !t.is_empty()).collect())
        .unwrap_or_default()
}

/// Authenticates the body's org (a refusal is an empty answer without fault, as MyPivot's) and
/// writes the answer.
pub(super) fn answer(sil: &Sil<'_>, call: &Call<'_>, org_id: &mut Option<i64>) -> Result<String, Fault> {
    let ipa = text_of(call.payload, "codIpaEnte").unwrap_or_default();
    let password = call.payload.child_text("password");
    let org = match crate::services::sil::access::authenticate(sil.db, sil.passwords, &ipa, password, sil.peer) {
        Ok(org) => org,
        Err(err) => {
            tracing::info!(target: "security", ipa, error = %err, "pivotSILChiediPagatiRiconciliati refused");
            return Ok("<numeroTotale>0</numeroTotale>".to_owned());
        }
    };
    *org_id = Some(org.id);
    let by_keys = call.payload.child("richiestaPerIUVIUF");
    let by_date = call.payload.child("richiestaPerData");
    let (request, types) = match (by_keys, by_date) {
        (Some(keys), None) => (
            PaidRequest::ByKeys {
                iuvs: list(Some(keys), "riversamentiPuntuali", "identificativoUnivocoVersamento"),
                iufs: list(Some(keys), "riversamentiCumulativi", "identificativoFlusso"),
            },
            list(Some(keys), "filtroTipiDovuto", "identificativoTipoDovuto"),
        ),
        (None, Some(dates)) => (
            PaidRequest::ByDate {
                from: text_of(dates, "dataDa").unwrap_or_default(),
                to: text_of(dates, "dataA").unwrap_or_default(),
            },
            list(Some(dates), "filtroTipiDovuto", "identificativoTipoDovuto"),
        ),
        _ => {
            return Err(Fault::new(
                "CODE_PIVOT_RICHIESTA_PER_IUV_IUF_NON_COMPLETA",
                "indicare richiestaPerIUVIUF oppure richiestaPerData, una sola",
            ));
        }
    };
    let found = pivot::reconciled(sil.db, &org, &request, &types)?;
    // Grouped by debt type in the order each type first appears.
    let mut groups: Vec<(Option<&str>, Vec<&PaidTransfer>)> = Vec::new();
    for row in &found.rows {
        match groups.iter_mut().find(|(t, _)| *t == row.debt_type.as_deref()) {
            Some((_, rows)) => rows.push(row),
            None => groups.push((row.debt_type.as_deref(), vec![row])),
        }
    }
    let mut w = XmlWriter::new();
    for (debt_type, rows) in &groups {
        match debt_type {
            Some(code) => w.open_with("pagamentiRiconciliatiPerTipoDovuto", &[("identificativoTipoDovuto", code)]),
            None => w.open("pagamentiRiconciliatiPerTipoDovuto"),
        };
        for row in rows {
            w.open("pagamentiRiconciliati");
            pagamento(&mut w, sil, &org, row);
            if let Some(reported) = &row.reported {
                riversamento(&mut w, &org, &row.iuv, reported);
            }
            w.leaf("data", &row.data).close("pagamentiRiconciliati");
        }
        w.close("pagamentiRiconciliatiPerTipoDovuto");
    }
    w.leaf("numeroTotale", &found.rows.len().to_string());
    w.leaf_opt("dataA", found.data_a.as_deref());
    Ok(w.finish())
}

/// A party's kind as the RT types allow it (F or G).
fn person_kind(kind: &str) -> &'static str {
    if kind.eq_ignore_ascii_case("G") { "G" } else { "F" }
}

/// `datiSpecificiRiscossione`: the transfer's taxonomy code with MyPay's `9/` prefix.
fn collection_data(category: &str) -> String {
    let compact: String = category.chars().filter(|c| !c.is_whitespace()).collect();
    let with_kind = if compact.len() > 2 && compact.starts_with(['0', '1', '2', '9']) && compact.get(1..2) == Some("/")
    {
        compact
    } else {
        format!("9/{compact}")
    };
    let padded = if with_kind.chars().count() < 5 { format!("{with_kind}///") } else { with_kind };
    cut(&padded, 140)
}

/// `pagamento` (`ctExport`). The domain and the creditor are the receipt's: for an S row, the org
/// that collected the payment (its name is already the receipt's `company_name`).
fn pagamento(w: &mut XmlWriter, sil: &Sil<'_>, org: &OrgRecord, row: &PaidTransfer) {
    let received = row.payment_date_time.clone().unwrap_or_else(|| row.received_at.clone());
    let creditor = row.collector_fiscal_code.as_deref().unwrap_or(&org.fiscal_code);
    w.open("pagamento").leaf("versioneOggetto", "6.0");
    w.open("dominio")
        .leaf("pay_i_rve:identificativoDominio", creditor)
        .leaf("pay_i_rve:identificativoStazioneRichiedente", &cut(sil.station_id, 35))
        .close("dominio");
    w.leaf("identificativoMessaggioRicevuta", &cut(&row.receipt_id, 35))
        .leaf("dataOraMessaggioRicevuta", &received)
        .leaf("riferimentoMessaggioRichiesta", &cut(&row.receipt_id, 35))
        .leaf("riferimentoDataRichiesta", &row.payment_date);
    w.open("istitutoAttestante")
        .open("pay_i_rve:identificativoUnivocoAttestante")
        .leaf("pay_i_rve:tipoIdentificativoUnivoco", "B")
        .leaf("pay_i_rve:codiceIdentificativoUnivoco", &cut(&row.psp_id, 35))
        .close("pay_i_rve:identificativoUnivocoAttestante")
        .leaf("pay_i_rve:denominazioneAttestante", &cut(&row.psp_name, 70))
        .close("istitutoAttestante");
    w.open("enteBeneficiario")
        .open("pay_i_rve:identificativoUnivocoBeneficiario")
        .leaf("pay_i_rve:tipoIdentificativoUnivoco", "G")
        .leaf("pay_i_rve:codiceIdentificativoUnivoco", creditor)
        .close("pay_i_rve:identificativoUnivocoBeneficiario")
        .leaf("pay_i_rve:denominazioneBeneficiario", &cut(&row.company_name, 70))
        .close("enteBeneficiario");
    if let (Some(kind), Some(id), Some(name)) = (&row.payer_kind, &row.payer_id, &row.payer_name) {
        party(w, "Versante", kind, id, name);
    }
    party(w, "Pagatore", &row.debtor_kind, &row.debtor_id, &row.debtor_name);
    w.open("datiPagamento")
        .leaf("codiceEsitoPagamento", "0")
        .leaf("importoTotalePagato", &amount(row.total_cents))
        .leaf("identificativoUnivocoVersamento", &cut(&row.iuv, 35))
        .leaf("CodiceContestoPagamento", &cut(&row.receipt_id, 35))
        .open("datiSingoloPagamento")
        .leaf("pay_i_rve:singoloImportoPagato", &amount(row.transfer_cents))
        .leaf("pay_i_rve:dataEsitoSingoloPagamento", &row.payment_date)
        .leaf("pay_i_rve:identificativoUnivocoRiscossione", &cut(&row.receipt_id, 35))
        .leaf("pay_i_rve:causaleVersamento", &cut(&row.remittance, 140))
        .leaf("pay_i_rve:datiSpecificiRiscossione", &collection_data(&row.category))
        .close("datiSingoloPagamento")
        .close("datiPagamento");
    // A receipt that paid no debt of ours has no IUD: MyPivot's placeholder.
    w.leaf("identificativoUnivocoDovuto", &cut(row.iud.as_deref().unwrap_or("n/a"), 35));
    w.close("pagamento");
}

/// `soggettoVersante` or `soggettoPagatore` (`role`).
fn party(w: &mut XmlWriter, role: &str, kind: &str, id: &str, name: &str) {
    let outer = format!("soggetto{role}");
    let ident = format!("pay_i_rve:identificativoUnivoco{role}");
    w.open(&outer)
        .open(&ident)
        .leaf("pay_i_rve:tipoIdentificativoUnivoco", person_kind(kind))
        .leaf("pay_i_rve:codiceIdentificativoUnivoco", &cut(id, 35))
        .close(&ident)
        .leaf(&format!("pay_i_rve:anagrafica{role}"), &cut(name, 70))
        .close(&outer);
}

/// `riversamento` (`ctFlussoRiversamento`): the flow's header and the one row that reported the
/// transfer. Outcomes other than 0 and 3 (stand-in 4 and 8) are written 9, "paid without RPT", the
/// schema's only other value.
fn riversamento(w: &mut XmlWriter, org: &OrgRecord, iuv: &str, r: &ReportedPart) {
    let outcome = match r.outcome_code.as_str() {
        "0" => "0",
        "3" => "3",
        _ => "9",
    };
    w.open("riversamento")
        .leaf("versioneOggetto", "1.0")
        .leaf("identificativoFlusso", &cut(&r.iuf, 35))
        .leaf("dataOraFlusso", r.flow_date.as_deref().unwrap_or(&r.outcome_date))
        .leaf("identificativoUnivocoRegolamento", &cut(r.settlement_id.as_deref().unwrap_or(&r.iuf), 35))
        .leaf("dataRegolamento", r.settlement_date.as_deref().unwrap_or(&r.outcome_date));
    w.open("istitutoMittente")
        .open("pay_i_agid:identificativoUnivocoMittente")
        .leaf("pay_i_agid:tipoIdentificativoUnivoco", "B")
        .leaf("pay_i_agid:codiceIdentificativoUnivoco", &cut(&r.psp_id, 35))
        .close("pay_i_agid:identificativoUnivocoMittente");
    if let Some(name) = r.psp_name.as_deref().filter(|n| n.chars().count() >= 3) {
        w.leaf("pay_i_agid:denominazioneMittente", &cut(name, 70));
    }
    w.close("istitutoMittente");
    w.open("istitutoRicevente")
        .open("pay_i_agid:identificativoUnivocoRicevente")
        .leaf("pay_i_agid:tipoIdentificativoUnivoco", "G")
        .leaf("pay_i_agid:codiceIdentificativoUnivoco", &org.fiscal_code)
        .close("pay_i_agid:identificativoUnivocoRicevente");
    if org.name.chars().count() >= 3 {
        w.leaf("pay_i_agid:denominazioneRicevente", &cut(&org.name, 70));
    }
    w.close("istitutoRicevente");
    w.leaf("numeroTotalePagamenti", &r.total_payments.filter(|n| *n >= 1).unwrap_or(1).to_string())
        .leaf("importoTotalePagamenti", &amount(r.total_amount_cents.unwrap_or(r.amount_cents)));
    w.open("datiSingoliPagamenti")
        .leaf("pay_i_agid:identificativoUnivocoVersamento", &cut(iuv, 35))
        .leaf("pay_i_agid:identificativoUnivocoRiscossione", &cut(&r.iur, 35));
    if let Some(index) = r.transfer_index.filter(|i| (1..=5).contains(i)) {
        w.leaf("pay_i_agid:indiceDatiSingoloPagamento", &index.to_string());
    }
    w.leaf("pay_i_agid:singoloImportoPagato", &amount(r.amount_cents))
        .leaf("pay_i_agid:codiceEsitoSingoloPagamento", outcome)
        .leaf("pay_i_agid:dataEsitoSingoloPagamento", &r.outcome_date)
        .close("datiSingoliPagamenti")
        .close("riversamento");
}
