//! The receipt (quietanza di pagamento) of a payment, on one A4 page, from a stored pagoPA receipt.
//!
//! Owns: the layout of what the receipt proves: the creditor org, debtor and payer, amount (and
//! the PSP's commission), date and time, PSP, IUR (receiptId), IUV, notice code, causale, and the
//! transfers with their beneficiaries.
//! Must never: show a failed (KO) receipt as a payment: it is labelled as not paid.

use super::PdfError;
use super::fonts::FontId;
use super::input::ReceiptView;
use super::layout::{Align, Page, Rgb};
use super::text::{limit_chars, truncate_to_width, wrap};

const BLUE: Rgb = Rgb::hex(0x17324D);
const INK: Rgb = Rgb::hex(0x1A1A1A);
const GREY: Rgb = Rgb::hex(0x5C6F82);
const BAND: Rgb = Rgb::hex(0xEBF0F5);
const RULE: Rgb = Rgb::hex(0xA9B6C3);
const GREEN: Rgb = Rgb::hex(0x008055);
const RED: Rgb = Rgb::hex(0xCC334D);

const LEFT: f32 = 15.0;
const RIGHT: f32 = 195.0;
const MM_PER_PT: f32 = 25.4 / 72.0;

/// The PDF of one receipt.
pub fn receipt_pdf(view: &ReceiptView) -> Result<Vec<u8>, PdfError> {
    let mut page = Page::new(&format!("Ricevuta di pagamento {}", view.iuv));
    let fit = |text: &str, font: FontId, size: f32, width: f32| truncate_to_width(text, font, size, width / MM_PER_PT);

    page.text(LEFT, 20.0, FontId::Bold, 10.0, BLUE, Align::Left, "RICEVUTA DI PAGAMENTO pagoPA");
    let mut y = 29.0;
    for line in wrap(&limit_chars(&view.org_name, 70), FontId::Bold, 18.0, (RIGHT - LEFT) / MM_PER_PT, 2) {
        page.text(LEFT, y, FontId::Bold, 18.0, INK, Align::Left, &line);
        y += 7.5;
    }
    let org_line = match &view.office_name {
        Some(office) => format!("Cod. Fiscale {} · {}", view.org_fiscal_code, office),
        None => format!("Cod. Fiscale {}", view.org_fiscal_code),
    };
    page.text(LEFT, y, FontId::Regular, 9.0, GREY, Align::Left, &fit(&org_line, FontId::Regular, 9.0, RIGHT - LEFT));
    y += 6.0;
    page.line((LEFT, y), (RIGHT, y), 0.3, RULE, None);

    // The amount band: what was paid, when, and the outcome.
    let top = y + 5.0;
    page.fill_rect(LEFT - 3.0, top, RIGHT - LEFT + 6.0, 26.0, BAND);
    page.text(LEFT, top + 7.0, FontId::Regular, 8.0, GREY, Align::Left, "Importo pagato");
    let w = page.text(LEFT, top + 16.0, FontId::Bold, 22.0, INK, Align::Left, &view.amount.to_italian());
    page.text(LEFT + w + 1.5, top + 16.0, FontId::Regular, 12.0, INK, Align::Left, "Euro");
    if let Some(fee) = view.fee {
        page.text(
            LEFT,
            top + 22.0,
            FontId::Regular,
            8.0,
            GREY,
            Align::Left,
            &format!("Commissione del prestatore: {} Euro", fee.to_italian()),
        );
    }
    let (outcome, color) = if view.ok { ("PAGATO", GREEN) } else { ("NON PAGATO", RED) };
    page.text(RIGHT, top + 9.0, FontId::Bold, 14.0, color, Align::Right, outcome);
    if let Some(at) = view.paid_at {
        let when = format!(
            "{:02}/{:02}/{} ore {:02}:{:02}:{:02}",
            at.day(),
            at.month(),
            at.year(),
            at.hour(),
            at.minute(),
            at.second()
        );
        page.text(RIGHT, top + 16.0, FontId::SemiBold, 10.0, INK, Align::Right, &when);
    }

    // Two columns of labelled values.
    let col = (RIGHT - LEFT - 8.0) / 2.0;
    let mut rows: Vec<(&str, String)> = vec![
        ("Debitore", format!("{} ({})", view.debtor.name, view.debtor.id)),
        ("Versante", view.payer.as_ref().map_or_else(|| "-".to_owned(), |p| format!("{} ({})", p.name, p.id))),
        ("Prestatore (PSP)", format!("{} ({})", view.psp_name, view.psp_id)),
        ("Metodo di pagamento", view.payment_method.as_deref().map_or_else(|| "-".to_owned(), payment_method_it)),
        ("Identificativo riscossione (IUR)", view.receipt_id.clone()),
        ("Identificativo univoco di versamento (IUV)", view.iuv.clone()),
        ("Codice avviso", view.notice_number.as_ref().map_or_else(|| "-".to_owned(), |n| n.grouped())),
    ];
    rows.push(("Ente creditore", view.org_name.clone()));
    let mut y = top + 36.0;
    for pair in rows.chunks(2) {
        for (i, (label, value)) in pair.iter().enumerate() {
            let x = LEFT + i as f32 * (col + 8.0);
            page.text(x, y, FontId::Regular, 7.5, GREY, Align::Left, label);
            page.text(x, y + 5.0, FontId::SemiBold, 10.0, INK, Align::Left, &fit(value, FontId::SemiBold, 10.0, col));
        }
        y += 12.0;
    }
    page.text(LEFT, y, FontId::Regular, 7.5, GREY, Align::Left, "Causale");
    y += 5.0;
    for line in wrap(&limit_chars(&view.description, 140), FontId::SemiBold, 10.0, (RIGHT - LEFT) / MM_PER_PT, 2) {
        page.text(LEFT, y, FontId::SemiBold, 10.0, INK, Align::Left, &line);
        y += 4.8;
    }

    // Transfers.
    y += 6.0;
    page.text(LEFT, y, FontId::Bold, 10.0, BLUE, Align::Left, "DETTAGLIO DEI VERSAMENTI");
    y += 3.0;
    page.fill_rect(LEFT - 3.0, y, RIGHT - LEFT + 6.0, 7.0, BAND);
    let cols = [LEFT, LEFT + 8.0, LEFT + 62.0, LEFT + 122.0];
    for (x, head) in cols.iter().zip(["#", "Beneficiario", "IBAN", "Causale"]) {
        page.text(*x, y + 4.8, FontId::Bold, 8.0, INK, Align::Left, head);
    }
    page.text(RIGHT, y + 4.8, FontId::Bold, 8.0, INK, Align::Right, "Importo");
    y += 12.0;
    for t in &view.transfers {
        let beneficiary = match &t.company_name {
            Some(name) => format!("{name} ({})", t.fiscal_code),
            None => t.fiscal_code.clone(),
        };
        let iban = t.iban.clone().unwrap_or_else(|| "marca da bollo digitale".to_owned());
        page.text(cols[0], y, FontId::Regular, 8.5, INK, Align::Left, &t.index.to_string());
        page.text(cols[1], y, FontId::Regular, 8.5, INK, Align::Left, &fit(&beneficiary, FontId::Regular, 8.5, 52.0));
        page.text(cols[2], y, FontId::Regular, 8.5, INK, Align::Left, &fit(&iban, FontId::Regular, 8.5, 58.0));
        page.text(cols[3], y, FontId::Regular, 8.5, INK, Align::Left, &fit(&t.remittance, FontId::Regular, 8.5, 36.0));
        page.text(RIGHT, y, FontId::SemiBold, 8.5, INK, Align::Right, &t.amount.to_italian());
        y += 4.0;
        page.line((LEFT, y), (RIGHT, y), 0.2, RULE, None);
        y += 5.0;
    }

    let note = "Documento generato da mypay dalla ricevuta telematica pagoPA ricevuta dall'ente creditore. \
                Il pagamento è attestato dal prestatore di servizi di pagamento indicato.";
    let mut y = 280.0;
    for line in wrap(note, FontId::Regular, 7.5, (RIGHT - LEFT) / MM_PER_PT, 2) {
        page.text(LEFT, y, FontId::Regular, 7.5, GREY, Align::Left, &line);
        y += 3.5;
    }
    page.finish()
}

/// pagoPA's `paymentMethod` (free text35: Checkout writes `creditCard`, PSPs the codes of the old
/// `tipoVersamento` and of the Node's payment types) in words a citizen reads; an unknown code is
/// shown as it came, after "Altro metodo", so nothing on the receipt is invented.
pub fn payment_method_it(code: &str) -> String {
    let code = code.trim();
    let words = match code.to_ascii_uppercase().as_str() {
        "" => return "-".to_owned(),
        "CREDITCARD" | "CARD" | "CARDS" | "CP" | "DEBITCARD" | "PREPAIDCARD" | "RBPP" => "Carta di pagamento",
        "PPAL" | "PAYPAL" => "PayPal",
        "BPAY" | "JIF" | "BANCOMATPAY" => "BANCOMAT Pay",
        "MYBK" | "MYBANK" => "MyBank",
        "BBT" | "BANKTRANSFER" => "Bonifico bancario",
        "OBEP" | "ONLINEBANKING" | "RBPR" | "RBPB" | "RPIC" | "RBPS" | "RICO" => "Addebito in conto (home banking)",
        "AD" => "Addebito diretto in conto",
        "BP" => "Bollettino postale",
        "PO" | "PPOS" | "CASH" => "Pagamento presso il prestatore (sportello, ATM, tabaccheria)",
        "APPL" | "APPLEPAY" => "Apple Pay",
        "GOOG" | "GOOGLEPAY" => "Google Pay",
        "SATY" | "SATISPAY" => "Satispay",
        "OTH" | "OTHER" => "Altro metodo",
        _ => return format!("Altro metodo ({code})"),
    };
    words.to_owned()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

    use super::*;
    use crate::domain::Cents;
    use crate::pdf::input::{PartyView, TransferView};

    #[test]
    fn payment_methods_read_in_italian() {
        assert_eq!(payment_method_it("creditCard"), "Carta di pagamento");
        assert_eq!(payment_method_it("CP"), "Carta di pagamento");
        assert_eq!(payment_method_it("PPAL"), "PayPal");
        assert_eq!(payment_method_it("BPAY"), "BANCOMAT Pay");
        assert_eq!(payment_method_it("BBT"), "Bonifico bancario");
        assert_eq!(payment_method_it("OBEP"), "Addebito in conto (home banking)");
        assert_eq!(payment_method_it("MYBK"), "MyBank");
        assert_eq!(payment_method_it("other"), "Altro metodo");
        assert_eq!(payment_method_it(" XYZ9 "), "Altro metodo (XYZ9)");
        assert_eq!(payment_method_it(""), "-");
    }

    #[test]
    fn a_receipt_renders_with_its_transfers() {
        let view = ReceiptView {
            org_name: "Comune di Esempio".into(),
            org_fiscal_code: "01234567897".into(),
            office_name: None,
            ok: true,
            debtor: PartyView { name: "Mario Rossi".into(), id: "RSSMRA85T10A562S".into() },
            payer: None,
            amount: Cents::new(15_000),
            fee: Some(Cents::new(150)),
            paid_at: Some(jiff::civil::date(2026, 5, 1).at(10, 15, 0, 0)),
            psp_name: "Banca Simulata".into(),
            psp_id: "SIMPSP01".into(),
            payment_method: Some("CP".into()),
            receipt_id: "abc123".into(),
            iuv: "01000000000000144".into(),
            notice_number: None,
            description: "TARI 2026".into(),
            transfers: vec![TransferView {
                index: 1,
                fiscal_code: "01234567897".into(),
                company_name: None,
                iban: Some("IT60X0542811101000000123456".into()),
                remittance: "/RFB/01000000000000144/150.00/TXT/TARI".into(),
                amount: Cents::new(15_000),
            }],
        };
        let pdf = receipt_pdf(&view).unwrap();
        assert!(pdf.starts_with(b"%PDF-") && pdf.len() < 100_000);
    }
}
