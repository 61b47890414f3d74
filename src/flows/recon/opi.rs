//! O, the giornale di cassa as OPI XML (mypivot.md §1.3): a ZIP of pages (any entry names), each a
//! `flusso_giornale_di_cassa` read with the one XML reader (`crate::soap`: no DTD, bounded), version
//! 1.6.1 when it has `data_riferimento_GdC`, else 1.4. The pages must be numbered 1 to
//! `pagine_totali` and be that many files; a 1.4 giornale without page numbers is alone. Per
//! movement the triple (tipo_movimento, tipo_documento, tipo_operazione) decides: (ENTRATA,
//! SOSPESO ENTRATA, ESEGUITO) is a movement, (…, STORNATO) a reversal of its bolletta, anything
//! else (reversali, mandati, regolarizzazioni, uscite) is ignored. The end-to-end id is read from
//! `end_to_end_id` and from `dati_a_disposizione_BT/identificativo_end_to_end`, and
//! `data_valuta_ente` is optional (§8 g: MyPivot read only the latter and required the former).
//! Not done: XSD validation and the `ds:Signature` (MyPivot checked only their shape); a page is
//! refused when it lacks what is read.
//! Must never: keep more than one page's tree in memory, or read a page beyond its caps.

use super::archive::Zip;
use super::{FileRejection, Item, MAX_ROWS, OrgRef, Out, ReadError};
use crate::domain::reconciliation::causale;
use crate::domain::reconciliation::{Bolletta, Provisional, Source, TreasuryEvent, TreasuryMovement};
use crate::domain::{Cents, Day};
use crate::soap::{self, Element, Limits};

/// The largest page, inflated: the protocol pages a giornale well below this.
pub const MAX_PAGE_BYTES: u64 = 16 * 1024 * 1024;
/// A page's XML budgets: some 30 elements a movement, 20,000 movements a page.
const PAGE_LIMITS: Limits = Limits { elements: 600_000, attributes: 600_000, text_bytes: 64 * 1024 };
/// The longest causale kept (MyPivot's `de_causale`).
const CAUSALE_MAX: usize = 2000;

/// What the first pass learns of a page.
struct Page {
    index: usize,
    number: Option<u64>,
    total: Option<u64>,
}

pub(super) fn read<E>(zip: &mut Zip, org: OrgRef<'_>, out: &mut Out<'_, E>) -> Result<(), ReadError<E>> {
    let names = zip.names()?;
    if names.is_empty() {
        return Err(FileRejection::Missing("giornale di cassa XML".to_owned()).into());
    }
    let mut pages = Vec::with_capacity(names.len());
    for (index, name) in names.iter().enumerate() {
        let root = page(zip, index, name)?;
        let number = |tag: &str| root.child_text(tag).map(|t| t.trim().parse::<u64>().ok());
        let (Some(number), Some(total)) =
            (number("pagina").unwrap_or(Some(0)), number("pagine_totali").unwrap_or(Some(0)))
        else {
            return Err(opi_page(name, "pagina or pagine_totali is not a number").into());
        };
        let (number, total) = (Some(number).filter(|n| *n > 0), Some(total).filter(|n| *n > 0));
        if root.child("data_riferimento_GdC").is_some() && (number.is_none() || total.is_none()) {
            return Err(opi_page(name, "an OPI 1.6.1 page needs pagina and pagine_totali").into());
        }
        if let Some(found) = root.path_text(&["testata_messaggio", "codice_fiscale_ente"]).map(str::trim)
            && found != org.fiscal_code
        {
            return Err(FileRejection::WrongFiscalCode {
                found: found.chars().take(32).collect(),
                org: org.fiscal_code.to_owned(),
            }
            .into());
        }
        pages.push(Page { index, number, total });
    }
    order(&mut pages)?;
    let mut position = 0_u64;
    for page_info in &pages {
        let name = names.get(page_info.index).map(String::as_str).unwrap_or_default();
        let root = page(zip, page_info.index, name)?;
        let Some(year) = root
            .child_text("esercizio")
            .map(str::trim)
            .and_then(|y| y.parse::<i32>().ok())
            .filter(|y| (1999..=2099).contains(y))
        else {
            return Err(opi_page(name, "esercizio is missing or not a year from 1999 to 2099").into());
        };
        for account in root.children_named("informazioni_conto_evidenza") {
            let account_id = account.child_text("conto_evidenza").map(str::trim).filter(|a| !a.is_empty());
            for movement in account.children_named("movimento_conto_evidenza") {
                position += 1;
                if position > MAX_ROWS {
                    return Err(FileRejection::TooManyRows(MAX_ROWS).into());
                }
                self::movement(movement, year, account_id, position, out)?;
            }
        }
    }
    Ok(())
}

/// Sorts the pages by number after checking them (mypivot.md §1.3): a paged giornale is as many
/// files as `pagine_totali`, numbered 1 to n; an unpaged (1.4) one is alone.
fn order(pages: &mut [Page]) -> Result<(), FileRejection> {
    let files = pages.len();
    if pages.iter().all(|p| p.total.is_none()) {
        return if files > 1 { Err(FileRejection::OpiOldVersionPages(files)) } else { Ok(()) };
    }
    for page in pages.iter() {
        match page.total {
            Some(total) if total == files as u64 => {}
            Some(total) => return Err(FileRejection::OpiPageCount { files, pages: total }),
            None => return Err(FileRejection::OpiPageNumbers(files)),
        }
    }
    pages.sort_by_key(|p| p.number);
    if pages.iter().enumerate().any(|(at, p)| p.number != Some(at as u64 + 1)) {
        return Err(FileRejection::OpiPageNumbers(files));
    }
    Ok(())
}

fn page(zip: &mut Zip, index: usize, name: &str) -> Result<Element, FileRejection> {
    let bytes = zip.bytes(index, MAX_PAGE_BYTES)?;
    let root = soap::parse_document_with(&bytes, PAGE_LIMITS).map_err(|err| opi_page(name, &err.to_string()))?;
    if root.name != "flusso_giornale_di_cassa" {
        return Err(opi_page(name, &format!("the root element is {}, not flusso_giornale_di_cassa", root.name)));
    }
    Ok(root)
}

fn opi_page(name: &str, reason: &str) -> FileRejection {
    FileRejection::OpiPage { page: name.chars().take(200).collect(), reason: reason.to_owned() }
}

/// The columns a refused movement is written with.
const SHOWN: [&str; 9] = [
    "numero_movimento",
    "tipo_movimento",
    "tipo_documento",
    "tipo_operazione",
    "numero_bolletta_quietanza",
    "importo",
    "data_movimento",
    "data_valuta_ente",
    "causale",
];

fn movement<E>(
    movement: &Element,
    year: i32,
    account: Option<&str>,
    position: u64,
    out: &mut Out<'_, E>,
) -> Result<(), ReadError<E>> {
    let text = |tag: &str| movement.child_text(tag).map(str::trim).unwrap_or("");
    let kind = (text("tipo_movimento"), text("tipo_documento"), text("tipo_operazione"));
    let reversal = match kind {
        ("ENTRATA", "SOSPESO ENTRATA", "ESEGUITO") => false,
        ("ENTRATA", "SOSPESO ENTRATA", "STORNATO") => true,
        _ => {
            out.ignore();
            return Ok(());
        }
    };
    let fields = || SHOWN.iter().map(|tag| super::shown(text(tag))).collect::<Vec<_>>();
    let number = text("numero_bolletta_quietanza");
    let mut errors = Vec::new();
    if number.is_empty() {
        errors.push("numero_bolletta_quietanza: campo obbligatorio".to_owned());
    } else if number.chars().count() > 7 {
        errors.push(format!("numero_bolletta_quietanza [{number}] non valido"));
    }
    if reversal {
        if !errors.is_empty() {
            return out.reject(position, fields(), errors.join("|"));
        }
        return out.give(Item::Treasury(TreasuryEvent::Reversal(Bolletta { year, number: number.to_owned() })));
    }
    let amount = Cents::parse_decimal(text("importo")).ok().filter(|c| c.is_positive());
    if amount.is_none() {
        errors.push(format!("importo [{}] non valido", text("importo")));
    }
    let booking_day = Day::parse(text("data_movimento")).ok();
    if booking_day.is_none() {
        errors.push(format!("data_movimento [{}] non valida: formato atteso yyyy-MM-dd", text("data_movimento")));
    }
    let value = text("data_valuta_ente");
    let value_day = if value.is_empty() { Ok(None) } else { Day::parse(value).map(Some) };
    if value_day.is_err() {
        errors.push(format!("data_valuta_ente [{value}] non valida: formato atteso yyyy-MM-dd"));
    }
    let causale_text: String = text("causale").chars().take(CAUSALE_MAX).collect();
    let keys = causale::keys(&causale_text);
    if keys.iuf.as_ref().is_some_and(|iuf| iuf.chars().count() > 35) {
        errors.push("cod_id_univoco_flusso max length".to_owned());
    }
    let (Some(amount), Some(booking_day), Ok(value_day), true) = (amount, booking_day, value_day, errors.is_empty())
    else {
        return out.reject(position, fields(), errors.join("|"));
    };
    let non_empty = |value: Option<&str>| value.map(str::trim).filter(|v| !v.is_empty()).map(str::to_owned);
    let end_to_end_id = non_empty(movement.child_text("end_to_end_id"))
        .or_else(|| non_empty(movement.path_text(&["dati_a_disposizione_BT", "identificativo_end_to_end"])));
    let provisional = movement.child("sospeso_da_regolarizzare").map(|sospeso| Provisional {
        day: sospeso.child_text("data_effettiva_sospeso").and_then(|d| Day::parse(d.trim()).ok()),
        code: non_empty(sospeso.child_text("codice_gestionale_provvisorio")),
    });
    let movement = TreasuryMovement {
        source: Source::Opi,
        bolletta: Some(Bolletta { year, number: number.to_owned() }),
        account: account.map(str::to_owned),
        booking_day,
        value_day,
        amount,
        causale: causale_text,
        payer_name: non_empty(movement.path_text(&["cliente", "anagrafica_cliente"])),
        iuf: keys.iuf,
        iuv: keys.iuv,
        end_to_end_id,
        document: non_empty(movement.child_text("numero_documento")),
        provisional,
        bank: None,
    };
    out.give(Item::Treasury(TreasuryEvent::Movement(Box::new(movement))))
}
