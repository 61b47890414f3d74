//! The notice of a position with several payment options (avviso pagoPA v3.5, pagopa.md §3.1):
//! a single option and instalments ("rata unica" and "rate multiple"), or a traffic fine's
//! reduced amount within a day and full amount after it.
//!
//! Owns: which page shows what. Page 1 is the notice's header, parties, module 3.1 (the amount,
//! when, and AVVISO.RATE.INFO "Puoi pagare per intero oppure in N rate") and then either the single
//! option's "RATA UNICA" section (and its bollettino), exactly as the one-option page, or the first
//! group of instalments, or the fine's two amounts side by side. Instalments go in groups of 3 when
//! their number divides by 3, else of 2 (the last group may have an empty place), and every page
//! holds groups of one width only: the guide's "never mix layouts on a page". Each option has its
//! own QR code and, with a postal account, its own Data Matrix in a bollettino band below its
//! group. Later pages repeat a short header (subject, org, recipient); every page says "Pagina i
//! di N". Without a bollettino three groups fit a page, with one a single group.
//! Must never: print an option without its own codes, or text outside its box (every value goes
//! through `notice::line`, which cuts to the box, or is set smaller until it fits).

use super::PdfError;
use super::codes::{self, Symbol};
use super::fonts::{FontId, text_width};
use super::input::{MAX_OPTIONS, NoticeView, OptionKind, PaymentOptionView, PostalView, SecondLanguage};
use super::layout::{Align, Page, Rgb};
use super::notice::{
    BLUE, Band, GREY, INK, LEFT, Labels, MM_PER_PT, Pay, RIGHT, RULE, day_text, due_text, field, header, line,
    one_option_page, paragraph, parties, section_bar,
};
use super::notice::{amount_and_channels, one_option_pdf};
use super::text::limit_chars;
use crate::domain::Cents;

/// What a notice's options call for.
pub(super) enum Plan<'a> {
    /// One option given as an option: the one-option page.
    Single(&'a PaymentOptionView),
    /// Instalments, in their order, with the pay-in-full option if there is one.
    Instalments { single: Option<&'a PaymentOptionView>, instalments: Vec<&'a PaymentOptionView> },
    /// A fine: the reduced amount until its day, the full amount after.
    Fine { reduced: &'a PaymentOptionView, full: &'a PaymentOptionView },
}

/// The layout of `view`'s options, `None` for a notice without options, or why they cannot be
/// printed.
pub(super) fn plan(view: &NoticeView) -> Result<Option<Plan<'_>>, PdfError> {
    let options = &view.options;
    if options.is_empty() {
        return Ok(None);
    }
    if options.len() > MAX_OPTIONS {
        return Err(PdfError::Options(format!("{} options, at most {MAX_OPTIONS}", options.len())));
    }
    let of = |kind: OptionKind| options.iter().filter(move |o| o.kind == kind);
    let singles: Vec<_> = of(OptionKind::Single).collect();
    let instalments: Vec<_> = of(OptionKind::Instalment).collect();
    let reduced: Vec<_> = of(OptionKind::Reduced).collect();
    let full: Vec<_> = of(OptionKind::Full).collect();
    if !reduced.is_empty() || !full.is_empty() {
        return match (reduced.as_slice(), full.as_slice()) {
            ([reduced], [full]) if singles.is_empty() && instalments.is_empty() => {
                if reduced.due_date.is_none() {
                    return Err(PdfError::Options("the reduced amount has no last day".into()));
                }
                Ok(Some(Plan::Fine { reduced, full }))
            }
            _ => Err(PdfError::Options("a fine is exactly one reduced and one full option, and nothing else".into())),
        };
    }
    match (singles.as_slice(), instalments.is_empty()) {
        ([single], true) => Ok(Some(Plan::Single(single))),
        ([], false) => Ok(Some(Plan::Instalments { single: None, instalments })),
        ([single], false) => Ok(Some(Plan::Instalments { single: Some(single), instalments })),
        _ => Err(PdfError::Options(format!("{} single options, at most one", singles.len()))),
    }
}

/// The PDF of a notice with options, laid out as `plan` says.
pub(super) fn options_pdf(view: &NoticeView, plan: &Plan<'_>) -> Result<Vec<u8>, PdfError> {
    let l = Labels { lang: view.language };
    match plan {
        Plan::Single(option) => {
            let pay = Pay { amount: option.amount, due_date: option.due_date, notice_number: &option.notice_number };
            one_option_pdf(view, &pay, &option.qr_payload, option.datamatrix.as_deref())
        }
        Plan::Instalments { single, instalments } => instalments_pdf(view, &l, *single, instalments),
        Plan::Fine { reduced, full } => fine_pdf(view, &l, reduced, full),
    }
}

/// One option in a group: its heading, when it is payable, and its codes.
struct Slot<'a> {
    title: String,
    when: String,
    option: &'a PaymentOptionView,
    qr: Symbol,
    datamatrix: Option<Symbol>,
}

/// Options printed side by side in one band (and its bollettino band).
struct Group<'a> {
    /// The band's detail, on the right of its title bar.
    detail: String,
    /// How many places the band has: 2 or 3 (a last group may fill fewer).
    places: usize,
    slots: Vec<Slot<'a>>,
}

/// The bollettino's fixed data, when every option has its Data Matrix.
fn postal_of(view: &NoticeView) -> Option<&PostalView> {
    view.postal.as_ref().filter(|_| view.options.iter().all(|o| o.datamatrix.is_some()))
}

fn slot<'a>(postal: bool, title: String, when: String, option: &'a PaymentOptionView) -> Result<Slot<'a>, PdfError> {
    let datamatrix = match (&option.datamatrix, postal) {
        (Some(text), true) => Some(codes::datamatrix(text)?),
        _ => None,
    };
    Ok(Slot { title, when, option, qr: codes::qr(&option.qr_payload)?, datamatrix })
}

/// Where groups start: below module 3.1 on page 1, below the short header on later pages.
const FIRST_PAGE_TOP: f32 = 157.0;
const LATER_PAGE_TOP: f32 = 40.0;
/// A band's height with the gap before the next one.
const BAND_PITCH: f32 = 64.0;

fn instalments_pdf(
    view: &NoticeView,
    l: &Labels,
    single: Option<&PaymentOptionView>,
    instalments: &[&PaymentOptionView],
) -> Result<Vec<u8>, PdfError> {
    let postal = postal_of(view);
    let n = instalments.len();
    let places = if n % 3 == 0 { 3 } else { 2 };
    let mut groups = Vec::new();
    for (g, chunk) in instalments.chunks(places).enumerate() {
        let first = g * places + 1;
        let mut slots = Vec::new();
        for (i, option) in chunk.iter().enumerate() {
            let when = due_text(option.due_date, l).unwrap_or_else(|| l.get("senza scadenza"));
            slots.push(slot(postal.is_some(), rata(l, first + i, n), when, option)?);
        }
        let detail = rate_span(l, first, first + chunk.len() - 1, n);
        groups.push(Group { detail, places, slots });
    }
    // AVVISO.RATE.INFO is shown with two instalments or more (pagopa.md §3.1).
    let info = (n >= 2).then(|| rate_info(l, single.is_some(), n));
    let band = match single {
        Some(option) => Band {
            amount: option.amount,
            when: due_text(option.due_date, l).unwrap_or_else(|| l.get("senza scadenza")),
            info,
        },
        None => {
            let total = instalments
                .iter()
                .try_fold(Cents::ZERO, |sum, o| sum.checked_add(o.amount))
                .ok_or_else(|| PdfError::Options("the instalments' total overflows".into()))?;
            let first_due = instalments.first().and_then(|o| o.due_date);
            let when = match first_due {
                Some(d) => format!("{} {}", l.get("prima rata entro il"), day_text(d)),
                None => l.get("senza scadenza"),
            };
            Band { amount: total, when, info }
        }
    };

    let per_page = if postal.is_some() { 1 } else { 3 };
    let on_first = usize::from(single.is_none());
    let later = groups.len().saturating_sub(on_first);
    let pages = 1 + later.div_ceil(per_page);
    let mut page = Page::new(&format!("Avviso di pagamento {}", view.notice_number.grouped()));
    let mut rest = groups.iter();
    match single {
        Some(option) => {
            let pay = Pay { amount: option.amount, due_date: option.due_date, notice_number: &option.notice_number };
            let qr = codes::qr(&option.qr_payload)?;
            let datamatrix = match (postal, &option.datamatrix) {
                (Some(_), Some(text)) => Some(codes::datamatrix(text)?),
                _ => None,
            };
            one_option_page(&mut page, view, l, &band, &pay, &qr, datamatrix.as_ref());
        }
        None => {
            first_page_top(&mut page, view, l, &band);
            if let Some(group) = rest.next() {
                group_bands(&mut page, view, l, postal, FIRST_PAGE_TOP, group);
            }
        }
    }
    footer(&mut page, l, 1, pages);
    let rest: Vec<&Group<'_>> = rest.collect();
    for (p, chunk) in rest.chunks(per_page).enumerate() {
        page.next_page();
        short_header(&mut page, view, l);
        for (i, group) in chunk.iter().enumerate() {
            let top = LATER_PAGE_TOP + i as f32 * BAND_PITCH;
            group_bands(&mut page, view, l, postal, top, group);
        }
        footer(&mut page, l, p + 2, pages);
    }
    page.finish()
}

fn fine_pdf(
    view: &NoticeView,
    l: &Labels,
    reduced: &PaymentOptionView,
    full: &PaymentOptionView,
) -> Result<Vec<u8>, PdfError> {
    let postal = postal_of(view);
    let last_day = reduced.due_date.map(day_text).unwrap_or_default();
    let after = format!("{} {last_day}", l.get("dopo il"));
    let full_when = match due_text(full.due_date, l) {
        Some(due) => format!("{after}, {due}"),
        None => after,
    };
    let reduced_when = due_text(reduced.due_date, l).unwrap_or_default();
    let slots = vec![
        slot(postal.is_some(), l.get("IMPORTO RIDOTTO"), reduced_when.clone(), reduced)?,
        slot(postal.is_some(), l.get("IMPORTO INTERO"), full_when, full)?,
    ];
    let group = Group { detail: l.get("Paga uno solo dei due importi"), places: 2, slots };
    let info = both(
        l,
        format!("oppure {} Euro dopo il {last_day}", full.amount.to_italian()),
        format!("oder {} Euro nach dem {last_day}", full.amount.to_italian()),
        format!("or {} Euro after {last_day}", full.amount.to_italian()),
    );
    let band = Band { amount: reduced.amount, when: reduced_when, info: Some(info) };
    let mut page = Page::new(&format!("Avviso di pagamento {}", view.notice_number.grouped()));
    first_page_top(&mut page, view, l, &band);
    group_bands(&mut page, view, l, postal, FIRST_PAGE_TOP, &group);
    footer(&mut page, l, 1, 1);
    page.finish()
}

/// Modules 1 to 3 of page 1.
fn first_page_top(page: &mut Page, view: &NoticeView, l: &Labels, band: &Band) {
    header(page, view, l);
    parties(page, view, l);
    amount_and_channels(page, l, band);
}

/// The header of pages after the first: the subject, the org and the recipient, on one line each.
fn short_header(page: &mut Page, view: &NoticeView, l: &Labels) {
    let width = RIGHT - LEFT;
    line(page, LEFT, 15.0, width, FontId::Bold, 10.0, BLUE, Align::Left, &l.get("AVVISO DI PAGAMENTO"));
    line(page, LEFT, 22.5, width, FontId::Bold, 13.0, INK, Align::Left, &limit_chars(&view.subject, 90));
    let who = format!(
        "{} · {}: {}",
        limit_chars(&view.org.name, 50),
        l.get("Destinatario"),
        limit_chars(&view.debtor_name, 70)
    );
    line(page, LEFT, 29.0, width, FontId::Regular, 8.5, GREY, Align::Left, &who);
    page.line((LEFT, 32.5), (RIGHT, 32.5), 0.3, RULE, None);
}

/// "Pagina i di N", on notices of more than one page.
fn footer(page: &mut Page, l: &Labels, index: usize, pages: usize) {
    if pages < 2 {
        return;
    }
    let text = both(
        l,
        format!("Pagina {index} di {pages}"),
        format!("Seite {index} von {pages}"),
        format!("Page {index} of {pages}"),
    );
    line(page, RIGHT, 291.0, RIGHT - LEFT, FontId::Regular, 7.0, GREY, Align::Right, &text);
}

/// A group's bank band at `top` and, with a bollettino, its postal band below.
fn group_bands(
    page: &mut Page,
    view: &NoticeView,
    l: &Labels,
    postal: Option<&PostalView>,
    top: f32,
    group: &Group<'_>,
) {
    bank_band(page, view, l, top, group);
    if let Some(postal) = postal {
        postal_band(page, view, l, postal, top + BAND_PITCH, group);
    }
}

/// The space between two places of a band.
const GAP: f32 = 6.0;
/// Where a band's places start, below its title bar and shared row.
const SLOTS_DOWN: f32 = 20.0;

fn bank_band(page: &mut Page, view: &NoticeView, l: &Labels, top: f32, group: &Group<'_>) {
    page.line((LEFT - 4.0, top - 3.0), (RIGHT + 4.0, top - 3.0), 0.3, RULE, Some(1.5));
    section_bar(page, top, &l.get("BANCHE E ALTRI CANALI"), &group.detail);
    // What every option of the band shares, once.
    let y = top + 12.5;
    field(page, LEFT, y, 56.0, &l.get("Ente Creditore"), &limit_chars(&view.org.name, 50), false, 9.0);
    field(page, LEFT + 60.0, y, 36.0, &l.get("Cod. Fiscale Ente Creditore"), &view.org.fiscal_code, true, 9.0);
    let cbill = view.org.cbill_code.clone().unwrap_or_else(|| "-".to_owned());
    field(page, LEFT + 100.0, y, 22.0, &l.get("Codice CBILL"), &cbill, true, 9.0);
    let debtor = limit_chars(&view.debtor_name, 70);
    field(page, LEFT + 126.0, y, RIGHT - LEFT - 126.0, &l.get("Destinatario"), &debtor, false, 9.0);
    places(page, l, top + SLOTS_DOWN, group, false);
}

fn postal_band(page: &mut Page, view: &NoticeView, l: &Labels, postal: &PostalView, top: f32, group: &Group<'_>) {
    page.line((LEFT - 4.0, top - 3.0), (RIGHT + 4.0, top - 3.0), 0.3, RULE, Some(1.5));
    section_bar(page, top, &l.get("BOLLETTINO POSTALE PA"), &group.detail);
    let y = top + 12.5;
    field(page, LEFT, y, 58.0, &l.get("Intestato a"), &limit_chars(&postal.holder, 50), false, 9.0);
    field(page, LEFT + 62.0, y, 30.0, &l.get("sul C/C n."), &limit_chars(&postal.account, 20), true, 9.0);
    let debtor = limit_chars(&view.debtor_name, 70);
    field(page, LEFT + 96.0, y, 48.0, &l.get("Destinatario"), &debtor, false, 9.0);
    field(page, LEFT + 148.0, y, 10.0, &l.get("Tipo"), "P1", true, 9.0);
    let cf_label = l.get("Cod. Fiscale Ente Creditore");
    field(page, LEFT + 160.0, y, RIGHT - LEFT - 160.0, &cf_label, &view.org.fiscal_code, true, 9.0);
    places(page, l, top + SLOTS_DOWN, group, true);
    let authorization = limit_chars(&postal.authorization, 50);
    line(page, RIGHT, top + 63.5, RIGHT - LEFT, FontId::Regular, 7.0, GREY, Align::Right, &authorization);
}

/// The group's options side by side from `y`, each with its code (25 × 25 mm: the Data Matrix in
/// the `postal` band, else the QR code), heading, when, amount and notice code.
fn places(page: &mut Page, l: &Labels, y: f32, group: &Group<'_>, postal: bool) {
    let n = group.places.max(1) as f32;
    let width = (RIGHT - LEFT - GAP * (n - 1.0)) / n;
    for (i, slot) in group.slots.iter().enumerate() {
        let x = LEFT + i as f32 * (width + GAP);
        if i > 0 {
            page.line((x - GAP / 2.0, y), (x - GAP / 2.0, y + 40.0), 0.2, RULE, None);
        }
        line(page, x, y + 3.5, width, FontId::Bold, 9.5, BLUE, Align::Left, &slot.title);
        let symbol = if postal { slot.datamatrix.as_ref() } else { Some(&slot.qr) };
        if let Some(symbol) = symbol {
            let module = 25.0 / symbol.size as f32;
            page.modules(x, y + 5.5, module, symbol.size, &symbol.modules, Rgb::BLACK);
        }
        let (xr, wr) = (x + 28.0, width - 28.0);
        paragraph(page, xr, y + 9.5, wr, FontId::SemiBold, 8.0, INK, 2, &slot.when);
        line(page, xr, y + 19.0, wr, FontId::Regular, 7.0, GREY, Align::Left, "Euro");
        let amount = slot.option.amount.to_italian();
        let size = fitting(&amount, FontId::Bold, &[14.0, 13.0, 12.0, 11.0, 10.0, 9.0, 8.0], wr);
        line(page, xr, y + 25.5, wr, FontId::Bold, size, INK, Align::Left, &amount);
        let code = slot.option.notice_number.grouped();
        let code_size = fitting(&code, FontId::Bold, &[10.0, 9.0, 8.0], width);
        field(page, x, y + 35.0, width, &l.get("Codice Avviso"), &code, true, code_size);
    }
}

/// The first of `sizes` (points, largest first) at which `text` fits `width_mm`, else the last.
fn fitting(text: &str, font: FontId, sizes: &[f32], width_mm: f32) -> f32 {
    let last = sizes.last().copied().unwrap_or(8.0);
    sizes.iter().copied().find(|size| text_width(font, text, *size) * MM_PER_PT <= width_mm).unwrap_or(last)
}

/// `it`, or `it / de` or `it / en` on a bilingual notice: for labels with numbers in them.
fn both(l: &Labels, it: String, de: String, en: String) -> String {
    match l.lang {
        None => it,
        Some(SecondLanguage::German) => format!("{it} / {de}"),
        Some(SecondLanguage::English) => format!("{it} / {en}"),
    }
}

/// An instalment's heading: `Rata 1 di 4`.
fn rata(l: &Labels, index: usize, of: usize) -> String {
    both(l, format!("Rata {index} di {of}"), format!("Rate {index} von {of}"), format!("Instalment {index} of {of}"))
}

/// A group's detail: `Rate 1-2 di 4`, or `Rata 5 di 5` for a group of one.
fn rate_span(l: &Labels, first: usize, last: usize, of: usize) -> String {
    if first == last {
        return rata(l, first, of);
    }
    both(
        l,
        format!("Rate {first}-{last} di {of}"),
        format!("Raten {first}-{last} von {of}"),
        format!("Instalments {first}-{last} of {of}"),
    )
}

/// AVVISO.RATE.INFO (pagopa.md §3.1).
fn rate_info(l: &Labels, single: bool, of: usize) -> String {
    if single {
        both(
            l,
            format!("Puoi pagare per intero oppure in {of} rate"),
            format!("Zahlbar in einem Betrag oder in {of} Raten"),
            format!("You can pay in full or in {of} instalments"),
        )
    } else {
        both(
            l,
            format!("Puoi pagare in {of} rate"),
            format!("Zahlbar in {of} Raten"),
            format!("You can pay in {of} instalments"),
        )
    }
}

#[cfg(test)]
pub(crate) mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

    use super::*;
    use crate::domain::notice_codes::PosteParty;
    use crate::domain::{NoticeNumber, OrgFiscalCode};
    use crate::pdf::notice::notice_pdf;
    use jiff::civil::date;

    /// One option: kind, cents, due day (year, month, day).
    pub(crate) type Opt = (OptionKind, i64, Option<(i16, i8, i8)>);

    /// A valid notice number (aux 3, segregation code 01) for IUV body `n`.
    pub(crate) fn nav(n: u64) -> NoticeNumber {
        let body = format!("301{n:013}");
        let value: u64 = body.parse().unwrap();
        NoticeNumber::parse(&format!("{body}{:02}", value % 93)).unwrap()
    }

    /// The sample notice with these options (kind, cents, due day), with the postal account when
    /// `postal`.
    pub(crate) fn with_options(options: &[Opt], postal: bool) -> NoticeView {
        let mut view = crate::pdf::notice::tests::sample();
        let org = OrgFiscalCode::parse(&view.org.fiscal_code).unwrap();
        let party = PosteParty { debtor_id: "RSSMRA85T10A562S", debtor_name: "Mario Rossi", subject: &view.subject };
        view.options = options
            .iter()
            .enumerate()
            .map(|(i, (kind, cents, due))| {
                let account = postal.then_some(("12345678", party));
                let due = due.map(|(y, m, d)| date(y, m, d));
                PaymentOptionView::new(*kind, Cents::new(*cents), due, nav(i as u64 + 1), &org, account).unwrap()
            })
            .collect();
        if !postal {
            view.postal = None;
        }
        let first = view.options.first().unwrap().clone();
        view.notice_number = first.notice_number.clone();
        view.iuv = first.iuv();
        view.qr_payload = first.qr_payload.clone();
        view
    }

    /// A plan of `n` monthly instalments of 100 euros, with the single option first when `single`.
    pub(crate) fn instalments(n: usize, single: bool) -> Vec<Opt> {
        let mut out = Vec::new();
        if single {
            out.push((OptionKind::Single, n as i64 * 10_000, Some((2030, 1, 31))));
        }
        for i in 0..n {
            out.push((OptionKind::Instalment, 10_000, Some((2030 + (i / 12) as i16, (i % 12) as i8 + 1, 28))));
        }
        out
    }

    pub(crate) fn fine() -> Vec<Opt> {
        vec![(OptionKind::Reduced, 2_940, Some((2030, 3, 5))), (OptionKind::Full, 4_200, Some((2030, 5, 4)))]
    }

    /// Every page object has its own media box.
    fn pages(pdf: &[u8]) -> usize {
        String::from_utf8_lossy(pdf).matches("/MediaBox").count()
    }

    #[test]
    fn the_options_decide_the_layout_and_the_page_count() {
        // (instalments, single, postal) → pages: page 1 holds the single option or the first
        // group; later pages three groups without a bollettino, one with.
        for (n, single, postal, want) in [
            (2, false, false, 1),
            (3, false, false, 1),
            (4, false, false, 2),
            (4, true, false, 2),
            (5, true, false, 2),
            (5, false, true, 3),
            (5, true, true, 4),
            (12, true, false, 3),
        ] {
            let pdf = notice_pdf(&with_options(&instalments(n, single), postal)).unwrap();
            assert_eq!(pages(&pdf), want, "{n} instalments, single {single}, postal {postal}");
        }
        assert_eq!(pages(&notice_pdf(&with_options(&fine(), true)).unwrap()), 1);
    }

    #[test]
    fn a_lone_single_option_is_the_one_option_notice() {
        let plain = crate::pdf::notice::tests::sample();
        let mut view = plain.clone();
        let org = OrgFiscalCode::parse(&view.org.fiscal_code).unwrap();
        let party = PosteParty { debtor_id: "x", debtor_name: "x", subject: "x" };
        let mut single = PaymentOptionView::new(
            OptionKind::Single,
            view.amount,
            view.due_date,
            view.notice_number.clone(),
            &org,
            Some(("12345678", party)),
        )
        .unwrap();
        single.datamatrix = view.postal.as_ref().map(|p| p.datamatrix.clone());
        assert_eq!(single.qr_payload, view.qr_payload);
        view.options = vec![single];
        assert_eq!(notice_pdf(&view).unwrap(), notice_pdf(&plain).unwrap());
    }

    #[test]
    fn shapes_no_layout_prints_are_refused() {
        use OptionKind::*;
        let d = Some((2030, 1, 31));
        for (options, why) in [
            (vec![(Single, 100, d), (Single, 100, d)], "single options"),
            (vec![(Reduced, 100, d)], "a fine"),
            (vec![(Reduced, 100, d), (Full, 200, d), (Instalment, 100, d)], "a fine"),
            (vec![(Reduced, 100, None), (Full, 200, d)], "no last day"),
        ] {
            let err = notice_pdf(&with_options(&options, false)).unwrap_err();
            assert!(matches!(&err, PdfError::Options(m) if m.contains(why)), "{err}");
        }
        let too_many = instalments(MAX_OPTIONS + 1, false);
        assert!(matches!(notice_pdf(&with_options(&too_many, false)), Err(PdfError::Options(_))));
        // Never a panic, whatever the amounts: the largest instalments overflow no total.
        let huge = vec![(Instalment, 99_999_999_999, d); 3];
        assert!(notice_pdf(&with_options(&huge, false)).is_ok());
    }

    #[test]
    fn every_variant_renders_in_every_language() {
        for language in [None, Some(SecondLanguage::German), Some(SecondLanguage::English)] {
            for options in [instalments(3, false), instalments(5, true), fine()] {
                for postal in [false, true] {
                    let mut v = with_options(&options, postal);
                    v.language = language;
                    v.subject = "Un oggetto lunghissimo ".repeat(10);
                    assert!(notice_pdf(&v).unwrap().len() > 1000);
                }
            }
        }
    }
}
