//! The payload documents the box sends up (mypay.md §4.4; PagInf_Dovuti_Pagati_6_2_0.xsd): a
//! `Versamento` (one debt, for `paaSILImportaDovuto`), a `Dovuti` (a payer and one to five debts,
//! for `paaSILInviaDovuti` and a cart's elements) and a `DovutiEntiSecondari` (a debt's secondary
//! beneficiary), written from plain values in the schema's element order.
//!
//! Owns: [`VersamentoDoc`], [`DovutiDoc`], [`DovutoItem`], [`SecondaryDoc`], their writers and
//! their making from a stored debt. Texts are cut to the schema's lengths as the SIL's own
//! `Dovuti` writer cuts them; an optional value that is empty is left out (the schema's texts
//! have at least one character); a commission of zero is left out (the schema says so).
//! Must never: write a value the schema refuses when the stored debt passed mypay's own checks;
//! embed stored XML as it is (the `bilancio` is read and written again, element by element).

use super::error::{UpstreamError, local};
use crate::domain::{Cents, Day, Party};
use crate::flows::pagati::{NAMESPACE, write_party};
use crate::soap::{self, Element, XmlWriter};
use crate::store::debts::DebtRecord;

/// The `versioneOggetto` MyPay writes and expects.
const VERSION: &str = "6.2.0";

/// A `Versamento`'s `azione`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// `I`: a new debt.
    Insert,
    /// `M`: the debt with this IUD replaced.
    Modify,
    /// `A`: the debt with this IUD annulled.
    Annul,
}

impl Action {
    pub fn code(self) -> &'static str {
        match self {
            Action::Insert => "I",
            Action::Modify => "M",
            Action::Annul => "A",
        }
    }
}

/// A debt's secondary beneficiary (a multi-beneficiary debt; mypay.md §4.4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecondaryDoc {
    /// The beneficiary org: fiscal code, name, address.
    pub party: Party,
    pub iban: String,
    pub causale: Option<String>,
    pub collection_data: String,
    pub amount: Cents,
}

/// One debt as `paaSILImportaDovuto` mirrors it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersamentoDoc {
    pub action: Action,
    pub payer: Option<Party>,
    pub due_date: Option<Day>,
    /// `tipoVersamento`, empty for the org's default.
    pub payment_kinds: String,
    /// The IUV to send: `None` to let the Region assign one (`flagGeneraIuv`).
    pub iuv: Option<String>,
    pub iud: String,
    pub amount: Cents,
    pub fee: Option<Cents>,
    /// `identificativoTipoDovuto`: the debt type's code.
    pub debt_type: String,
    pub causale: String,
    pub collection_data: String,
    /// The `bilancio` XML as stored (`<bilancio><capitolo>…`).
    pub bilancio: Option<String>,
    /// Sent beside the document, in `listaDovutiEntiSecondari`.
    pub secondary: Option<SecondaryDoc>,
}

/// A digital stamp's data (`datiMarcaBolloDigitale`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stamp {
    pub document_hash: String,
    pub province: String,
}

/// One `datiSingoloVersamento` of a `Dovuti`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DovutoItem {
    pub iud: String,
    pub amount: Cents,
    pub fee: Option<Cents>,
    pub debt_type: String,
    pub causale: String,
    pub collection_data: String,
    pub stamp: Option<Stamp>,
    pub bilancio: Option<String>,
}

/// A `Dovuti`: who pays, and one to five debts paid together.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DovutiDoc {
    pub payer: Party,
    /// `tipoVersamento`; `ALL` when empty.
    pub payment_kinds: String,
    pub items: Vec<DovutoItem>,
}

fn cut(text: &str, max: usize) -> String {
    text.chars().take(max).collect()
}

fn non_empty(text: Option<&str>) -> Option<&str> {
    text.filter(|t| !t.trim().is_empty())
}

fn positive(cents: Option<Cents>) -> Option<String> {
    cents.filter(|c| c.get() > 0).map(Cents::to_decimal_string)
}

impl SecondaryDoc {
    /// The secondary beneficiary of a stored debt, if it has one.
    pub fn of_debt(debt: &DebtRecord) -> Option<SecondaryDoc> {
        let party = debt.beneficiary.clone()?;
        Some(SecondaryDoc {
            party,
            iban: debt.mb_iban.clone().unwrap_or_default(),
            causale: debt.mb_causale.clone(),
            collection_data: debt.mb_collection_data.clone().unwrap_or_default(),
            amount: debt.mb_amount_cents.unwrap_or(Cents::ZERO),
        })
    }

    /// The `DovutiEntiSecondari` document.
    pub fn to_xml(&self) -> String {
        let p = &self.party;
        let mut w = XmlWriter::new();
        w.raw("<?xml version=\"1.0\" encoding=\"UTF-8\"?>");
        w.open_with("DovutiEntiSecondari", &[("xmlns", NAMESPACE)]);
        w.leaf("versioneOggetto", VERSION);
        w.open("datiVersamentoEntiSecondari");
        w.leaf("codiceFiscaleBeneficiario", &cut(&p.id, 35));
        w.leaf("denominazioneBeneficiario", &cut(&p.name, 35));
        w.leaf("ibanAccreditoBeneficiario", &cut(&self.iban, 35));
        for (name, value, max) in [
            ("indirizzoBeneficiario", &p.address, 70),
            ("civicoBeneficiario", &p.civic_number, 35),
            ("capBeneficiario", &p.postal_code, 35),
            ("localitaBeneficiario", &p.city, 35),
            ("provinciaBeneficiario", &p.province, 35),
            ("nazioneBeneficiario", &p.country, 35),
        ] {
            w.leaf_opt(name, non_empty(value.as_deref()).map(|v| cut(v, max)).as_deref());
        }
        w.leaf_opt("causaleVersamento", non_empty(self.causale.as_deref()).map(|v| cut(v, 1024)).as_deref());
        w.leaf("datiSpecificiRiscossione", &self.collection_data);
        w.leaf("importoSingoloVersamento", &self.amount.to_decimal_string());
        w.close("datiVersamentoEntiSecondari");
        w.close("DovutiEntiSecondari");
        w.finish()
    }
}

impl VersamentoDoc {
    /// What `action` sends up of a stored debt: everything it has, its local IUV included (the
    /// caller clears `iuv` to have the Region assign one).
    pub fn of_debt(debt: &DebtRecord, action: Action) -> VersamentoDoc {
        VersamentoDoc {
            action,
            payer: Some(debt.debtor.clone()),
            due_date: debt.due_date,
            payment_kinds: debt.payment_kinds.clone(),
            iuv: debt.iuv.as_ref().map(|i| i.as_str().to_owned()),
            iud: debt.iud.clone(),
            amount: debt.amount_cents,
            fee: debt.fee_cents,
            debt_type: debt.debt_type_code.clone(),
            causale: debt.causale.clone(),
            collection_data: debt.collection_data.clone(),
            bilancio: debt.bilancio.clone(),
            secondary: SecondaryDoc::of_debt(debt),
        }
    }

    /// The `Versamento` document.
    pub fn to_xml(&self) -> Result<String, UpstreamError> {
        let mut w = XmlWriter::new();
        w.raw("<?xml version=\"1.0\" encoding=\"UTF-8\"?>");
        w.open_with("Versamento", &[("xmlns", NAMESPACE)]);
        w.leaf("versioneOggetto", VERSION);
        if let Some(payer) = &self.payer {
            write_party(&mut w, payer);
        }
        w.open("datiVersamento");
        w.leaf_opt("dataEsecuzionePagamento", self.due_date.map(|d| d.to_string()).as_deref());
        w.leaf_opt("tipoVersamento", non_empty(Some(&self.payment_kinds)).map(|v| cut(v, 32)).as_deref());
        w.leaf_opt("identificativoUnivocoVersamento", non_empty(self.iuv.as_deref()));
        w.leaf("identificativoUnivocoDovuto", &self.iud);
        w.leaf("importoSingoloVersamento", &self.amount.to_decimal_string());
        w.leaf_opt("commissioneCaricoPA", positive(self.fee).as_deref());
        w.leaf("identificativoTipoDovuto", &self.debt_type);
        w.leaf("causaleVersamento", &cut(&self.causale, 1024));
        w.leaf("datiSpecificiRiscossione", &self.collection_data);
        write_bilancio(&mut w, self.bilancio.as_deref())?;
        w.close("datiVersamento");
        w.leaf("azione", self.action.code());
        w.close("Versamento");
        Ok(w.finish())
    }
}

impl DovutoItem {
    /// One stored debt as an item of a `Dovuti`.
    pub fn of_debt(debt: &DebtRecord) -> DovutoItem {
        let stamp = match (&debt.stamp_document_hash, &debt.stamp_province) {
            (Some(hash), Some(province)) => Some(Stamp { document_hash: hash.clone(), province: province.clone() }),
            _ => None,
        };
        DovutoItem {
            iud: debt.iud.clone(),
            amount: debt.amount_cents,
            fee: debt.fee_cents,
            debt_type: debt.debt_type_code.clone(),
            causale: debt.causale.clone(),
            collection_data: debt.collection_data.clone(),
            stamp,
            bilancio: debt.bilancio.clone(),
        }
    }
}

impl DovutiDoc {
    /// The `Dovuti` document; one to five items (the schema's bounds).
    pub fn to_xml(&self) -> Result<String, UpstreamError> {
        if !(1..=5).contains(&self.items.len()) {
            return Err(local(format!("a Dovuti holds 1 to 5 debts, not {}", self.items.len())));
        }
        let mut w = XmlWriter::new();
        w.raw("<?xml version=\"1.0\" encoding=\"UTF-8\"?>");
        w.open_with("Dovuti", &[("xmlns", NAMESPACE)]);
        w.leaf("versioneOggetto", VERSION);
        write_party(&mut w, &self.payer);
        w.open("datiVersamento");
        let kinds = non_empty(Some(&self.payment_kinds)).unwrap_or("ALL");
        w.leaf("tipoVersamento", &cut(kinds, 32));
        for item in &self.items {
            w.open("datiSingoloVersamento");
            w.leaf("identificativoUnivocoDovuto", &item.iud);
            w.leaf("importoSingoloVersamento", &item.amount.to_decimal_string());
            w.leaf_opt("commissioneCaricoPA", positive(item.fee).as_deref());
            w.leaf("identificativoTipoDovuto", &item.debt_type);
            w.leaf("causaleVersamento", &cut(&item.causale, 1024));
            w.leaf("datiSpecificiRiscossione", &item.collection_data);
            if let Some(stamp) = &item.stamp {
                w.open("datiMarcaBolloDigitale");
                w.leaf("tipoBollo", "01");
                w.leaf("hashDocumento", &cut(&stamp.document_hash, 70));
                w.leaf("provinciaResidenza", &stamp.province);
                w.close("datiMarcaBolloDigitale");
            }
            write_bilancio(&mut w, item.bilancio.as_deref())?;
            w.close("datiSingoloVersamento");
        }
        w.close("datiVersamento");
        w.close("Dovuti");
        Ok(w.finish())
    }
}

/// A stored `bilancio` read and written again in the document's namespace, in the schema's order:
/// `capitolo`+ {`codCapitolo`, `codUfficio`?, `accertamento`+ {`codAccertamento`?, `importo`}}.
fn write_bilancio(w: &mut XmlWriter, stored: Option<&str>) -> Result<(), UpstreamError> {
    let Some(xml) = non_empty(stored) else { return Ok(()) };
    let bad = |why: &str| local(format!("bilancio {why}"));
    let root = soap::parse_document(xml.trim().as_bytes()).map_err(|err| bad(&err.to_string()))?;
    if root.name != "bilancio" {
        return Err(bad("is not a <bilancio>"));
    }
    let text =
        |el: &Element, name: &str| el.child_text(name).map(str::trim).filter(|t| !t.is_empty()).map(str::to_owned);
    w.open("bilancio");
    for chapter in root.children_named("capitolo") {
        w.open("capitolo");
        w.leaf("codCapitolo", &text(chapter, "codCapitolo").ok_or_else(|| bad("capitolo without codCapitolo"))?);
        w.leaf_opt("codUfficio", text(chapter, "codUfficio").as_deref());
        for assessment in chapter.children_named("accertamento") {
            w.open("accertamento");
            w.leaf_opt("codAccertamento", text(assessment, "codAccertamento").as_deref());
            let amount = text(assessment, "importo").ok_or_else(|| bad("accertamento without importo"))?;
            // The import takes `10` or `10.5`; the schema wants two decimals.
            let amount = Cents::parse_decimal(&amount).map_or(amount, Cents::to_decimal_string);
            w.leaf("importo", &amount);
            w.close("accertamento");
        }
        w.close("capitolo");
    }
    w.close("bilancio");
    Ok(())
}
