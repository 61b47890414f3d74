//! The pagoPA payment notice (avviso di pagamento, spec v3.5), "rata unica" layout on one A4 page;
//! the layouts of several options (`options`) reuse its modules.
//!
//! Owns: the modules in the spec's order (pagopa.md §3.1): 1 header (subject, org logo), 2.1
//! creditor org and 2.2 recipient, 3.1 amount and due date and 3.2 where to pay, 4 payment data
//! (banks and other channels: QR code, CBILL, notice code) and, with a postal account and Poste's
//! authorization, the Bollettino Postale PA with its Data Matrix. The variant without a due date
//! drops "entro il". With an org's second language (DE or EN) every label is bilingual.
//! Text limits: the spec's character limits (subject 90, org name 50, sector 50, recipient name
//! 70, address 140) are applied first; the org's contacts are never cut but set smaller (the
//! website must stay whole); then every box wraps to its line budget and
//! ends with `…` if the text still does not fit (see `text`).
//! Must never: print an amount other than `Cents::to_italian`, or a notice code not grouped by four.

use super::PdfError;
use super::codes::{self, Symbol};
use super::fonts::{FontId, text_width};
use super::images::logo_image;
use jiff::civil::Date;

use crate::domain::{Cents, NoticeNumber};

use super::input::{NoticeView, SecondLanguage};
use super::layout::{Align, Page, Rgb};
use super::text::{limit_chars, truncate_to_width, wrap};

/// Bootstrap Italia's dark blue, the colour of headings.
pub(super) const BLUE: Rgb = Rgb::hex(0x17324D);
/// Body text.
pub(super) const INK: Rgb = Rgb::hex(0x1A1A1A);
/// Secondary text and second-language lines.
pub(super) const GREY: Rgb = Rgb::hex(0x5C6F82);
/// The background of the "how much and when" and "where" module.
pub(super) const BAND: Rgb = Rgb::hex(0xEBF0F5);
pub(super) const RULE: Rgb = Rgb::hex(0xA9B6C3);

pub(super) const LEFT: f32 = 12.0;
pub(super) const RIGHT: f32 = 198.0;
pub(super) const COL: f32 = 88.0;
pub(super) const MID: f32 = 110.0;
/// Points to millimetres, for line heights derived from font sizes.
pub(super) const MM_PER_PT: f32 = 25.4 / 72.0;

/// The PDF of one notice: the one-option page, or the layout its payment options call for
/// (`options`).
pub fn notice_pdf(view: &NoticeView) -> Result<Vec<u8>, PdfError> {
    match super::options::plan(view)? {
        Some(plan) => super::options::options_pdf(view, &plan),
        None => {
            let datamatrix = view.postal.as_ref().map(|p| p.datamatrix.as_str());
            one_option_pdf(view, &Pay::of_view(view), &view.qr_payload, datamatrix)
        }
    }
}

/// The "rata unica" page: one option, paid with `qr` (and `datamatrix` at the post office).
pub(super) fn one_option_pdf(
    view: &NoticeView,
    pay: &Pay<'_>,
    qr: &str,
    datamatrix: Option<&str>,
) -> Result<Vec<u8>, PdfError> {
    let qr = codes::qr(qr)?;
    let datamatrix = match (&view.postal, datamatrix) {
        (Some(_), Some(text)) => Some(codes::datamatrix(text)?),
        _ => None,
    };
    let mut page = Page::new(&format!("Avviso di pagamento {}", view.notice_number.grouped()));
    let l = Labels { lang: view.language };
    let when = due_text(pay.due_date, &l).unwrap_or_else(|| l.get("senza scadenza"));
    let band = Band { amount: pay.amount, when, info: None };
    one_option_page(&mut page, view, &l, &band, pay, &qr, datamatrix.as_ref());
    page.finish()
}

/// Modules 1 to 4 of the "rata unica" page on `page`: module 3.1 says `band`, module 4 pays `pay`.
pub(super) fn one_option_page(
    page: &mut Page,
    view: &NoticeView,
    l: &Labels,
    band: &Band,
    pay: &Pay<'_>,
    qr: &Symbol,
    datamatrix: Option<&Symbol>,
) {
    header(page, view, l);
    parties(page, view, l);
    amount_and_channels(page, l, band);
    banks(page, view, pay, l, qr);
    if let (Some(postal), Some(symbol)) = (&view.postal, datamatrix) {
        bollettino(page, view, pay, postal, symbol, l);
    }
}

/// The option a "rata unica" section pays.
pub(super) struct Pay<'a> {
    pub(super) amount: Cents,
    pub(super) due_date: Option<Date>,
    pub(super) notice_number: &'a NoticeNumber,
}

impl Pay<'_> {
    fn of_view(view: &NoticeView) -> Pay<'_> {
        Pay { amount: view.amount, due_date: view.due_date, notice_number: &view.notice_number }
    }
}

/// What module 3.1 says: the amount, when, and (with options) how else one may pay.
pub(super) struct Band {
    pub(super) amount: Cents,
    pub(super) when: String,
    /// AVVISO.RATE.INFO ("Puoi pagare per intero oppure in N rate") or a fine's other amount.
    pub(super) info: Option<String>,
}

/// Italian labels and, for bilingual notices, their translation.
pub(super) struct Labels {
    pub(super) lang: Option<SecondLanguage>,
}

impl Labels {
    /// `it`, or `it / translation` when the notice is bilingual.
    pub(super) fn get(&self, it: &'static str) -> String {
        match self.second(it) {
            Some(other) => format!("{it} / {other}"),
            None => it.to_owned(),
        }
    }

    /// The translation of a label or paragraph into the second language.
    pub(super) fn second(&self, it: &'static str) -> Option<&'static str> {
        let lang = self.lang?;
        let (de, en) = match it {
            "IMPORTO RIDOTTO" => ("ERMÄSSIGTER BETRAG", "REDUCED AMOUNT"),
            "IMPORTO INTERO" => ("VOLLER BETRAG", "FULL AMOUNT"),
            "dopo il" => ("nach dem", "after"),
            "prima rata entro il" => ("erste Rate bis zum", "first instalment by"),
            "Paga uno solo dei due importi" => ("Zahlen Sie nur einen der Beträge", "Pay only one of the amounts"),
            "AVVISO DI PAGAMENTO" => ("ZAHLUNGSBESCHEID", "PAYMENT NOTICE"),
            "ENTE CREDITORE" => ("GLÄUBIGER", "CREDITOR"),
            "DESTINATARIO AVVISO" => ("EMPFÄNGER", "RECIPIENT"),
            "QUANTO E QUANDO PAGARE?" => ("WIEVIEL UND WANN?", "HOW MUCH AND WHEN?"),
            "DOVE PAGARE?" => ("WO ZAHLEN?", "WHERE TO PAY?"),
            "entro il" => ("bis zum", "by"),
            "senza scadenza" => ("ohne Fälligkeit", "no due date"),
            "BANCHE E ALTRI CANALI" => ("BANKEN UND ANDERE KANÄLE", "BANKS AND OTHER CHANNELS"),
            "RATA UNICA" => ("EINMALZAHLUNG", "SINGLE PAYMENT"),
            "Destinatario" => ("Empfänger", "Recipient"),
            "Ente Creditore" => ("Gläubiger", "Creditor"),
            "Oggetto del pagamento" => ("Zahlungsgrund", "Subject"),
            "Codice CBILL" => ("CBILL-Kodex", "CBILL code"),
            "Codice Avviso" => ("Kodex", "Notice code"),
            "Cod. Fiscale Ente Creditore" => ("St.-Nr. Gläubiger", "Creditor tax code"),
            "BOLLETTINO POSTALE PA" => ("POSTERLAGSCHEIN PA", "POSTAL PAYMENT SLIP PA"),
            "sul C/C n." => ("auf K/K Nr.", "to account no."),
            "Intestato a" => ("Inhaber", "Holder"),
            "Oggetto" => ("Grund", "Subject"),
            "Tipo" => ("Typ", "Type"),
            AMOUNT_NOTE => (
                "Der Betrag wird automatisch aktualisiert und kann sich durch Nachlässe, Gutschriften, Verzugszinsen oder Strafen ändern.",
                "The amount is updated automatically and may change for rebates, credit notes, late fees, penalties or interest.",
            ),
            ONLINE => (
                "Auf der Website oder mit den Apps Ihres Gläubigers, Ihrer Bank oder anderer Zahlungskanäle.",
                "On the website or apps of your creditor, your bank or other payment channels.",
            ),
            IN_PERSON => (
                "In Postämtern, Banken, Tabakläden, an Geldautomaten und in Supermärkten.",
                "At post offices, banks, tobacconists, cash machines and supermarkets.",
            ),
            QR_NOTE => (
                "QR-Code und CBILL-Kodex für Banken und andere Zahlungskanäle.",
                "QR code and CBILL code to pay through banks and other channels.",
            ),
            POSTE_NOTE => (
                "Zahlbar in allen Postämtern und auf den Kanälen von Poste Italiane.",
                "Payable at all post offices and on Poste Italiane's channels.",
            ),
            _ => return None,
        };
        Some(match lang {
            SecondLanguage::German => de,
            SecondLanguage::English => en,
        })
    }
}

const AMOUNT_NOTE: &str = "L'importo è aggiornato automaticamente dal sistema e potrebbe subire variazioni per \
     eventuali sgravi, note di credito, indennità di mora, sanzioni o interessi, ecc. Un operatore, il sito o l'app \
     che userai ti potrebbero quindi chiedere una cifra diversa da quella qui indicata.";
const ONLINE: &str = "del tuo Ente Creditore, della tua Banca o degli altri canali di pagamento. Potrai pagare con \
     carte, conto corrente, CBILL.";
const IN_PERSON: &str = "in tutti gli Uffici Postali, in Banca, in Ricevitoria, dal Tabaccaio, al Bancomat, al \
     Supermercato. Potrai pagare in contanti, con carte o conto corrente.";
pub(super) const QR_NOTE: &str = "Qui accanto trovi il codice QR e il codice interbancario CBILL per pagare attraverso il \
     circuito bancario e gli altri canali di pagamento abilitati.";
pub(super) const POSTE_NOTE: &str = "Bollettino Postale pagabile in tutti gli Uffici Postali e sui canali fisici o digitali \
     abilitati di Poste Italiane e dell'Ente Creditore.";

/// Draws wrapped lines from baseline `y`; returns the baseline after the last line.
#[expect(clippy::too_many_arguments, reason = "a drawing call names position, box, font, size and colour")]
pub(super) fn paragraph(
    page: &mut Page,
    x: f32,
    y: f32,
    width_mm: f32,
    font: FontId,
    size: f32,
    color: Rgb,
    max_lines: usize,
    text: &str,
) -> f32 {
    let leading = size * 1.25 * MM_PER_PT;
    let mut y = y;
    for line in wrap(text, font, size, width_mm / MM_PER_PT, max_lines) {
        page.text(x, y, font, size, color, Align::Left, &line);
        y += leading;
    }
    y
}

/// One line cut with `…` to `width_mm`.
#[expect(clippy::too_many_arguments, reason = "a drawing call names position, box, font, size and colour")]
pub(super) fn line(
    page: &mut Page,
    x: f32,
    y: f32,
    width_mm: f32,
    font: FontId,
    size: f32,
    color: Rgb,
    align: Align,
    text: &str,
) {
    let fitted = truncate_to_width(text, font, size, width_mm / MM_PER_PT);
    page.text(x, y, font, size, color, align, &fitted);
}

pub(super) fn header(page: &mut Page, view: &NoticeView, l: &Labels) {
    let has_logo = view.org.logo.is_some();
    let width = if has_logo { 140.0 } else { RIGHT - LEFT };
    line(page, LEFT, 17.0, width, FontId::Bold, 10.0, BLUE, Align::Left, &l.get("AVVISO DI PAGAMENTO"));
    let subject = limit_chars(&view.subject, 90);
    paragraph(page, LEFT, 26.0, width, FontId::Bold, 17.0, INK, 2, &subject);
    if let Some(logo) = &view.org.logo {
        match logo_image(&logo.bytes) {
            Some(image) => page.image(RIGHT - 30.0, 10.0, 30.0, 30.0, image),
            // A logo the PDF cannot carry gets a neutral placeholder, not an error.
            None => {
                page.stroke_rect(RIGHT - 30.0, 10.0, 30.0, 30.0, 0.3, RULE);
                let initials: String = view
                    .org
                    .name
                    .split_whitespace()
                    .filter_map(|w| w.chars().next())
                    .filter(|c| c.is_uppercase())
                    .take(3)
                    .collect();
                page.text(RIGHT - 15.0, 28.0, FontId::Bold, 16.0, GREY, Align::Center, &initials);
            }
        }
    }
    page.line((LEFT, 44.0), (RIGHT, 44.0), 0.3, RULE, None);
}

/// A module's label on the left and the fiscal code on the right of a column: the code is
/// always printed whole, the label gets what is left.
fn label_row(page: &mut Page, x: f32, y: f32, label: &str, fiscal_code: Option<&str>) {
    let code_w = match fiscal_code {
        Some(code) => {
            let text = format!("Cod. Fiscale {code}");
            page.text(x + COL, y, FontId::Regular, 8.0, GREY, Align::Right, &text) + 3.0
        }
        None => 0.0,
    };
    line(page, x, y, COL - code_w, FontId::Bold, 8.0, BLUE, Align::Left, label);
}

/// The sizes (points) and line budgets the org's contacts try in turn: all of them fit below the
/// org's name and above the amount band.
const CONTACT_FITS: [(f32, usize); 4] = [(8.0, 3), (7.0, 4), (6.5, 4), (6.0, 4)];

/// The org's contacts (address, phone, e-mail, website) whole: wrapped, in smaller text when they
/// need it, never cut (a website cut to `www.co…` is no use), but for text that no size fits.
fn contacts(page: &mut Page, x: f32, y: f32, info: &str) {
    let width = COL / MM_PER_PT;
    let (size, lines) = CONTACT_FITS
        .iter()
        .copied()
        .find(|(size, lines)| {
            // Whole words only: a website broken between characters reads as two.
            info.split_whitespace().all(|word| text_width(FontId::Regular, word, *size) <= width)
                && wrap(info, FontId::Regular, *size, width, lines + 1).len() <= *lines
        })
        .unwrap_or((6.0, 4));
    paragraph(page, x, y, COL, FontId::Regular, size, GREY, lines, info);
}

pub(super) fn parties(page: &mut Page, view: &NoticeView, l: &Labels) {
    let label_y = 51.0;
    // 2.1 Creditor org.
    label_row(page, LEFT, label_y, &l.get("ENTE CREDITORE"), Some(&view.org.fiscal_code));
    let mut y = paragraph(page, LEFT, 57.5, COL, FontId::Bold, 12.0, INK, 2, &limit_chars(&view.org.name, 50));
    if let Some(sector) = &view.org.sector {
        line(page, LEFT, y, COL, FontId::Regular, 9.0, INK, Align::Left, &limit_chars(sector, 50));
        y += 4.5;
    }
    contacts(page, LEFT, y, &view.org.contacts.join(" · "));

    // 2.2 Recipient.
    let debtor_id = view.debtor_id.as_deref().map(|id| limit_chars(id, 16));
    label_row(page, MID, label_y, &l.get("DESTINATARIO AVVISO"), debtor_id.as_deref());
    let y = paragraph(page, MID, 57.5, COL, FontId::Bold, 12.0, INK, 2, &limit_chars(&view.debtor_name, 70));
    if let Some(address) = &view.debtor_address {
        paragraph(page, MID, y, COL, FontId::Regular, 9.0, INK, 3, &limit_chars(address, 140));
    }
}

/// `entro il dd/mm/yyyy` (bilingual when the notice is).
pub(super) fn due_text(due: Option<Date>, l: &Labels) -> Option<String> {
    due.map(|d| format!("{} {}", l.get("entro il"), day_text(d)))
}

/// `dd/mm/yyyy`, as AVVISO.DATA.
pub(super) fn day_text(d: Date) -> String {
    format!("{:02}/{:02}/{}", d.day(), d.month(), d.year())
}

pub(super) fn amount_and_channels(page: &mut Page, l: &Labels, band: &Band) {
    let (top, height) = (84.0, 60.0);
    page.fill_rect(LEFT - 4.0, top, RIGHT - LEFT + 8.0, height, BAND);
    // 3.1 How much and when.
    line(page, LEFT, top + 8.0, COL, FontId::Bold, 10.0, BLUE, Align::Left, &l.get("QUANTO E QUANDO PAGARE?"));
    let amount = band.amount.to_italian();
    let w = page.text(LEFT, top + 18.0, FontId::Bold, 20.0, INK, Align::Left, &amount);
    page.text(LEFT + w + 1.5, top + 18.0, FontId::Regular, 12.0, INK, Align::Left, "Euro");
    line(page, LEFT, top + 25.0, COL, FontId::SemiBold, 11.0, INK, Align::Left, &band.when);
    // The options' line takes room from the note, which then has fewer lines.
    let (note_y, note_lines, second_lines) = match &band.info {
        Some(info) => {
            line(page, LEFT, top + 31.0, COL, FontId::SemiBold, 9.0, BLUE, Align::Left, info);
            (top + 36.0, 4, 2)
        }
        None => (top + 32.0, 5, 3),
    };
    let mut y = paragraph(page, LEFT, note_y, COL, FontId::Regular, 7.5, INK, note_lines, AMOUNT_NOTE);
    if let Some(second) = l.second(AMOUNT_NOTE) {
        y = paragraph(page, LEFT, y + 0.5, COL, FontId::Regular, 7.0, GREY, second_lines, second);
    }
    let _ = y;

    // 3.2 Where to pay.
    line(page, MID, top + 8.0, 50.0, FontId::Bold, 10.0, BLUE, Align::Left, &l.get("DOVE PAGARE?"));
    let list = "Lista dei canali di pagamento su www.pagopa.gov.it/pagare";
    let x_list = MID + text_width(FontId::Bold, &l.get("DOVE PAGARE?"), 10.0) * MM_PER_PT + 2.0;
    paragraph(page, x_list, top + 6.0, RIGHT - x_list, FontId::Regular, 7.0, GREY, 2, list);
    let mut y = top + 17.0;
    for (title, body) in [("PAGA SUL SITO O CON LE APP", ONLINE), ("PAGA SUL TERRITORIO", IN_PERSON)] {
        line(page, MID, y, COL, FontId::Bold, 9.0, INK, Align::Left, title);
        y = paragraph(page, MID, y + 4.5, COL, FontId::Regular, 8.0, INK, 3, body);
        if let Some(second) = l.second(body) {
            y = paragraph(page, MID, y, COL, FontId::Regular, 7.0, GREY, 2, second);
        }
        y += 3.0;
    }
    line(
        page,
        LEFT,
        top + height + 7.0,
        RIGHT - LEFT,
        FontId::Bold,
        8.0,
        BLUE,
        Align::Left,
        "Utilizza la porzione di avviso relativa al canale di pagamento che preferisci.",
    );
}

/// A label and its value below it, cut to `width`.
#[expect(clippy::too_many_arguments, reason = "a drawing call names position, box, font, size and colour")]
pub(super) fn field(page: &mut Page, x: f32, y: f32, width: f32, label: &str, value: &str, bold: bool, size: f32) {
    line(page, x, y, width, FontId::Regular, 7.0, GREY, Align::Left, label);
    let font = if bold { FontId::Bold } else { FontId::SemiBold };
    line(page, x, y + 4.2, width, font, size, INK, Align::Left, value);
}

/// The band heading a payment section: title on the left, detail (the due date, the amount) on
/// the right, always whole; the title gets what is left.
pub(super) fn section_bar(page: &mut Page, y: f32, title: &str, detail: &str) {
    page.fill_rect(LEFT - 4.0, y, RIGHT - LEFT + 8.0, 8.0, BLUE);
    let detail_w = page.text(RIGHT, y + 5.6, FontId::SemiBold, 10.0, Rgb::WHITE, Align::Right, detail);
    line(page, LEFT, y + 5.6, RIGHT - LEFT - detail_w - 6.0, FontId::Bold, 10.0, Rgb::WHITE, Align::Left, title);
}

fn banks(page: &mut Page, view: &NoticeView, pay: &Pay<'_>, l: &Labels, qr: &Symbol) {
    let top = 158.0;
    page.line((LEFT - 4.0, top - 3.0), (RIGHT + 4.0, top - 3.0), 0.3, RULE, Some(1.5));
    let detail = match due_text(pay.due_date, l) {
        Some(due) => format!("{} {due}", l.get("RATA UNICA")),
        None => l.get("RATA UNICA"),
    };
    section_bar(page, top, &l.get("BANCHE E ALTRI CANALI"), &detail);
    // The QR code: 25 × 25 mm (pagopa.md §3.2), inside a white quiet zone.
    let module = 25.0 / qr.size as f32;
    page.modules(LEFT, top + 13.0, module, qr.size, &qr.modules, Rgb::BLACK);

    let x = LEFT + 31.0;
    let width = RIGHT - x;
    let note = match l.second(QR_NOTE) {
        Some(second) => format!("{QR_NOTE} {second}"),
        None => QR_NOTE.to_owned(),
    };
    paragraph(page, x, top + 14.0, width, FontId::Regular, 7.5, INK, 2, &note);
    let half = (width - 4.0) / 2.0;
    field(page, x, top + 23.0, half, &l.get("Destinatario"), &limit_chars(&view.debtor_name, 70), false, 9.0);
    field(
        page,
        x + half + 4.0,
        top + 23.0,
        half,
        &l.get("Ente Creditore"),
        &limit_chars(&view.org.name, 50),
        false,
        9.0,
    );
    field(
        page,
        x,
        top + 33.0,
        width - 45.0,
        &l.get("Oggetto del pagamento"),
        &limit_chars(&view.subject, 90),
        false,
        9.0,
    );
    let cbill = view.org.cbill_code.clone().unwrap_or_else(|| "-".to_owned());
    field(page, x, top + 43.0, 30.0, &l.get("Codice CBILL"), &cbill, true, 11.0);
    field(page, x + 32.0, top + 43.0, 60.0, &l.get("Codice Avviso"), &pay.notice_number.grouped(), true, 11.0);
    field(
        page,
        x + 98.0,
        top + 43.0,
        width - 98.0,
        &l.get("Cod. Fiscale Ente Creditore"),
        &view.org.fiscal_code,
        true,
        11.0,
    );
    // The amount, right-aligned in the subject row.
    page.text(RIGHT, top + 33.0, FontId::Regular, 7.0, GREY, Align::Right, "Euro");
    page.text(RIGHT, top + 38.5, FontId::Bold, 14.0, INK, Align::Right, &pay.amount.to_italian());
}

fn bollettino(
    page: &mut Page,
    view: &NoticeView,
    pay: &Pay<'_>,
    postal: &crate::pdf::input::PostalView,
    symbol: &Symbol,
    l: &Labels,
) {
    let top = 217.0;
    page.line((LEFT - 4.0, top - 3.0), (RIGHT + 4.0, top - 3.0), 0.3, RULE, Some(1.5));
    let detail = format!("Euro {}", pay.amount.to_italian());
    section_bar(page, top, &l.get("BOLLETTINO POSTALE PA"), &detail);
    let note = match l.second(POSTE_NOTE) {
        Some(second) => format!("{POSTE_NOTE} {second}"),
        None => POSTE_NOTE.to_owned(),
    };
    paragraph(page, LEFT, top + 13.0, RIGHT - LEFT, FontId::Regular, 7.5, INK, 2, &note);
    // The Data Matrix: 25 × 25 mm (pagopa.md §3.1, `<data_matrix>`).
    let module = 25.0 / symbol.size as f32;
    page.modules(LEFT, top + 21.0, module, symbol.size, &symbol.modules, Rgb::BLACK);

    let x = LEFT + 31.0;
    let width = RIGHT - x;
    let half = (width - 4.0) / 2.0;
    field(page, x, top + 21.0, half, &l.get("sul C/C n."), &limit_chars(&postal.account, 20), true, 11.0);
    field(page, x + half + 4.0, top + 21.0, half, &l.get("Intestato a"), &limit_chars(&postal.holder, 50), false, 9.0);
    field(page, x, top + 31.0, half, &l.get("Destinatario"), &limit_chars(&view.debtor_name, 70), false, 9.0);
    field(page, x + half + 4.0, top + 31.0, half, &l.get("Oggetto"), &limit_chars(&view.subject, 90), false, 9.0);
    field(page, x, top + 41.0, 60.0, &l.get("Codice Avviso"), &pay.notice_number.grouped(), true, 11.0);
    field(page, x + 62.0, top + 41.0, 14.0, &l.get("Tipo"), "P1", true, 11.0);
    field(
        page,
        x + 80.0,
        top + 41.0,
        width - 80.0,
        &l.get("Cod. Fiscale Ente Creditore"),
        &view.org.fiscal_code,
        true,
        11.0,
    );
    line(
        page,
        RIGHT,
        top + 54.0,
        RIGHT - x,
        FontId::Regular,
        7.0,
        GREY,
        Align::Right,
        &limit_chars(&postal.authorization, 50),
    );
}

#[cfg(test)]
pub(crate) mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

    use super::*;
    use crate::domain::{Cents, NoticeNumber};
    use crate::pdf::input::{NoticeOrgView, PostalView};

    pub(crate) fn sample() -> NoticeView {
        NoticeView {
            language: None,
            org: NoticeOrgView {
                name: "Comune di Esempio".into(),
                fiscal_code: "01234567897".into(),
                sector: Some("Ufficio Tributi".into()),
                contacts: vec!["Piazza del Municipio 1, 20100 Esempio (MI)".into(), "+39 02 0000000".into()],
                cbill_code: Some("A1B2C".into()),
                logo: None,
            },
            debtor_name: "Mario Rossi".into(),
            debtor_id: Some("RSSMRA85T10A562S".into()),
            debtor_address: Some("Via Roma 1, 20100 Esempio (MI)".into()),
            subject: "TARI 2026 - rata 1 di 4".into(),
            amount: Cents::new(15_000),
            due_date: Some(jiff::civil::date(2026, 12, 31)),
            notice_number: NoticeNumber::parse("301000000000000144").unwrap(),
            iuv: "01000000000000144".into(),
            qr_payload: "PAGOPA|002|301000000000000144|01234567897|15000".into(),
            postal: Some(PostalView {
                account: "12345678".into(),
                holder: "Comune di Esempio".into(),
                authorization: "AUT. DB/SSIC/E 12345 DEL 01/01/2020".into(),
                datamatrix: format!("codfase=NBPA;{}A", "1".repeat(242)),
            }),
            options: Vec::new(),
        }
    }

    #[test]
    fn a_notice_is_a_small_pdf_with_its_fonts_subset() {
        let pdf = notice_pdf(&sample()).unwrap();
        assert!(pdf.starts_with(b"%PDF-"));
        assert!(pdf.len() < 100_000, "{} bytes", pdf.len());
        let text = String::from_utf8_lossy(&pdf);
        assert!(text.contains("/FontFile2"));
        assert!(text.contains("TitilliumWeb-Bold"));
    }

    #[test]
    fn a_png_logo_is_embedded_as_an_image() {
        let mut v = sample();
        let png = crate::pdf::images::tests::tiny_png(2);
        v.org.logo = Some(crate::pdf::input::LogoView { bytes: png, mime: "image/png".into() });
        let pdf = notice_pdf(&v).unwrap();
        let text = String::from_utf8_lossy(&pdf);
        assert!(text.contains("/XObject") && text.contains("/Im0"), "the logo is an image XObject");
        assert!(text.contains("/Predictor 15"));
    }

    #[test]
    fn every_variant_renders() {
        for language in [None, Some(SecondLanguage::German), Some(SecondLanguage::English)] {
            let mut v = sample();
            v.language = language;
            v.due_date = None;
            v.postal = None;
            v.subject = "Un oggetto lunghissimo ".repeat(10);
            v.org.logo =
                Some(crate::pdf::input::LogoView { bytes: b"not an image".to_vec(), mime: "image/png".into() });
            assert!(notice_pdf(&v).unwrap().len() > 1000);
        }
    }
}
