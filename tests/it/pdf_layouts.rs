//! The notice layouts of several payment options (avviso pagoPA v3.5: a single option and
//! instalments, 2 or 3 per page, and a traffic fine's reduced and full amounts), rendered by
//! `pdf::notice_pdf` from hand-made views and read back with poppler, zbar and libdmtx: every QR
//! code and Data Matrix decodes to its own option's string (pagopa.md §3.2-3.3), each page says
//! what it should, and each layout stays within 1% of its golden image (regenerate with
//! `MYPAY_UPDATE_GOLDEN=1 cargo test --test it pdf_layouts`). Tools missing: `skipped: …`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use mypay::testing::domain::notice_codes::{PosteParty, poste_datamatrix, qr_payload};
use mypay::testing::domain::{Cents, NoticeNumber, OrgFiscalCode};
use mypay::testing::pdf::input::{NoticeOrgView, NoticeView, OptionKind, PaymentOptionView, PostalView};
use mypay::testing::pdf::{notice_pdf, write_notices_zip};

use crate::pdf::{gray_png, have};

const ORG_CF: &str = "01234567897";
const ACCOUNT: &str = "12345678";
const DEBTOR_ID: &str = "RSSMRA85T10A562S";
const DEBTOR: &str = "Mario Rossi";
const SUBJECT: &str = "TARI 2030";

/// A valid notice number (aux 3, segregation code 01) ending in IUV body `n`.
fn nav(n: u64) -> NoticeNumber {
    let body = format!("301{:013}", 4_200_000 + n);
    let value: u64 = body.parse().unwrap();
    NoticeNumber::parse(&format!("{body}{:02}", value % 93)).unwrap()
}

/// One option: kind, cents, due day `YYYY-MM-DD`.
type Opt = (OptionKind, i64, &'static str);

fn day(text: &str) -> jiff::civil::Date {
    text.parse().unwrap()
}

/// The notice of Comune di Esempio to Mario Rossi with these options, with the bollettino when
/// `postal`; filled as `services::debts::documents` would, through `PaymentOptionView::new`.
fn view(options: &[Opt], postal: bool) -> NoticeView {
    view_from(options, postal, 0)
}

/// As [`view`], the notice numbers starting after `base` (another position of the same org).
fn view_from(options: &[Opt], postal: bool, base: u64) -> NoticeView {
    let org = OrgFiscalCode::parse(ORG_CF).unwrap();
    let party = PosteParty { debtor_id: DEBTOR_ID, debtor_name: DEBTOR, subject: SUBJECT };
    let options: Vec<PaymentOptionView> = options
        .iter()
        .enumerate()
        .map(|(i, (kind, cents, due))| {
            let account = postal.then_some((ACCOUNT, party));
            PaymentOptionView::new(*kind, Cents::new(*cents), Some(day(due)), nav(base + i as u64 + 1), &org, account)
                .unwrap()
        })
        .collect();
    let first = options[0].clone();
    NoticeView {
        language: None,
        org: NoticeOrgView {
            name: "Comune di Esempio".into(),
            fiscal_code: ORG_CF.into(),
            sector: Some("Ufficio Tributi".into()),
            contacts: vec!["Piazza del Municipio 1, 20100 Esempio (MI)".into(), "www.comune.esempio.it".into()],
            cbill_code: Some("A1B2C".into()),
            logo: None,
        },
        debtor_name: DEBTOR.into(),
        debtor_id: Some(DEBTOR_ID.into()),
        debtor_address: Some("Via Roma 1, 20100 Esempio (MI)".into()),
        subject: SUBJECT.into(),
        amount: first.amount,
        due_date: first.due_date,
        notice_number: first.notice_number.clone(),
        iuv: first.iuv(),
        qr_payload: first.qr_payload.clone(),
        postal: postal.then(|| PostalView {
            account: ACCOUNT.into(),
            holder: "Comune di Esempio".into(),
            authorization: "AUT. DB/SSIC/E 12345 DEL 01/01/2020".into(),
            datamatrix: first.datamatrix.clone().unwrap(),
        }),
        options,
    }
}

/// `n` instalments of 100 euros due on the 28th of each month of 2030, after the single option
/// (`n` × 95 euros by 31 January) when `single`.
fn instalments(n: usize, single: bool) -> Vec<Opt> {
    const DAYS: [&str; 5] = ["2030-01-28", "2030-02-28", "2030-03-28", "2030-04-28", "2030-05-28"];
    let mut out = Vec::new();
    if single {
        out.push((OptionKind::Single, n as i64 * 9_500, "2030-01-31"));
    }
    for due in DAYS.iter().take(n) {
        out.push((OptionKind::Instalment, 10_000, *due));
    }
    out
}

/// A traffic fine: 29,40 euros until 5 March, 42,00 euros after (due by 4 May).
fn fine() -> Vec<Opt> {
    vec![(OptionKind::Reduced, 2_940, "2030-03-05"), (OptionKind::Full, 4_200, "2030-05-04")]
}

fn write(dir: &Path, name: &str, view: &NoticeView) -> PathBuf {
    let file = dir.join(format!("{name}.pdf"));
    std::fs::write(&file, notice_pdf(view).unwrap()).unwrap();
    file
}

fn page_count(pdf: &Path) -> usize {
    let out = Command::new("pdfinfo").arg(pdf).output().unwrap();
    let info = String::from_utf8_lossy(&out.stdout).into_owned();
    let line = info.lines().find(|l| l.starts_with("Pages:")).unwrap();
    line.trim_start_matches("Pages:").trim().parse().unwrap()
}

/// Page `page` (from 1) rasterized at `dpi` to a PNG beside the PDF.
fn page_png(pdf: &Path, page: usize, dpi: u32, gray: bool) -> PathBuf {
    let stem = pdf.with_file_name(format!("{}-p{page}-{dpi}", pdf.file_stem().unwrap().to_string_lossy()));
    let p = page.to_string();
    let mut cmd = Command::new("pdftoppm");
    cmd.args(["-r", &dpi.to_string(), "-png", "-singlefile", "-f", &p, "-l", &p]);
    if gray {
        cmd.arg("-gray");
    }
    let out = cmd.arg(pdf).arg(&stem).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    stem.with_extension("png")
}

fn page_text(pdf: &Path, page: usize) -> String {
    let p = page.to_string();
    let out = Command::new("pdftotext").args(["-layout", "-f", &p, "-l", &p]).arg(pdf).arg("-").output().unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Every QR code on a page image.
fn qr_codes(png: &Path) -> BTreeSet<String> {
    let out = Command::new("zbarimg").args(["-q", "--raw", "-Sdisable", "-Sqrcode.enable"]).arg(png).output().unwrap();
    String::from_utf8_lossy(&out.stdout).lines().map(str::to_owned).collect()
}

/// Every Data Matrix on a page image (at most `n`).
fn datamatrices(png: &Path, n: usize) -> BTreeSet<String> {
    let out = Command::new("dmtxread").args(["-n", &format!("-N{n}"), "-m", "60000"]).arg(png).output().unwrap();
    // dmtxread ends each message with a newline; a Data Matrix of a notice holds none.
    String::from_utf8_lossy(&out.stdout).lines().filter(|l| !l.is_empty()).map(str::to_owned).collect()
}

fn qr_of(i: usize, cents: i64) -> String {
    format!("PAGOPA|002|{}|{ORG_CF}|{cents}", nav(i as u64 + 1).as_str())
}

fn dm_of(i: usize, cents: i64) -> String {
    let org = OrgFiscalCode::parse(ORG_CF).unwrap();
    let party = PosteParty { debtor_id: DEBTOR_ID, debtor_name: DEBTOR, subject: SUBJECT };
    let text = poste_datamatrix(&nav(i as u64 + 1), ACCOUNT, Cents::new(cents), &org, party).unwrap();
    assert_eq!(text.len(), 256);
    assert_eq!(&text[15..33], nav(i as u64 + 1).as_str(), "the NAV sits at offset 15 (pagopa.md §3.3)");
    text
}

/// The options (by index) each page prints, as the layout rules say: page 1 the single option or
/// the first group; groups of 3 when the count divides by 3, else 2; 3 groups a page without a
/// bollettino, 1 with.
fn expected_pages(n: usize, single: bool, postal: bool) -> Vec<Vec<usize>> {
    let first_instalment = usize::from(single);
    let places = if n % 3 == 0 { 3 } else { 2 };
    let groups: Vec<Vec<usize>> =
        (0..n).collect::<Vec<_>>().chunks(places).map(|g| g.iter().map(|i| i + first_instalment).collect()).collect();
    let mut pages = Vec::new();
    let mut rest = groups.as_slice();
    if single {
        pages.push(vec![0]);
    } else {
        pages.push(rest[0].clone());
        rest = &rest[1..];
    }
    for chunk in rest.chunks(if postal { 1 } else { 3 }) {
        pages.push(chunk.concat());
    }
    pages
}

#[test]
fn every_option_has_its_own_codes_on_the_page_the_layout_puts_it() {
    if !have(&["pdftoppm", "pdftotext", "pdfinfo", "zbarimg"]) {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    for n in [2, 3, 4, 5] {
        for single in [false, true] {
            let options = instalments(n, single);
            let name = format!("rate{n}{}", if single { "-unica" } else { "" });
            let pdf = write(tmp.path(), &name, &view(&options, false));
            let pages = expected_pages(n, single, false);
            assert_eq!(page_count(&pdf), pages.len(), "{name}");
            for (p, on_page) in pages.iter().enumerate() {
                let png = page_png(&pdf, p + 1, 150, false);
                let want: BTreeSet<String> = on_page.iter().map(|&i| qr_of(i, options[i].1)).collect();
                assert_eq!(qr_codes(&png), want, "{name} page {}", p + 1);
                let text = page_text(&pdf, p + 1);
                for &i in on_page {
                    assert!(text.contains(&nav(i as u64 + 1).grouped()), "{name} page {}: {text}", p + 1);
                    if options[i].0 == OptionKind::Instalment {
                        let k = i + 1 - usize::from(single);
                        assert!(text.contains(&format!("Rata {k} di {n}")), "{name} page {}: {text}", p + 1);
                    }
                }
                // "RATA UNICA" only on page 1, and only with the single option.
                assert_eq!(text.contains("RATA UNICA"), single && p == 0, "{name} page {}: {text}", p + 1);
                if pages.len() > 1 {
                    assert!(text.contains(&format!("Pagina {} di {}", p + 1, pages.len())), "{name}: {text}");
                }
            }
            let first = page_text(&pdf, 1);
            let info = if single {
                format!("Puoi pagare per intero oppure in {n} rate")
            } else {
                format!("Puoi pagare in {n} rate")
            };
            assert!(first.contains(&info), "{name}: {first}");
            if single {
                assert!(first.contains(&Cents::new(n as i64 * 9_500).to_italian()), "{name}: {first}");
                assert!(first.contains("entro il 31/01/2030"), "{name}: {first}");
            } else {
                // Module 3.1 shows the plan's total and the first instalment's day.
                assert!(first.contains(&Cents::new(n as i64 * 10_000).to_italian()), "{name}: {first}");
                assert!(first.contains("prima rata entro il 28/01/2030"), "{name}: {first}");
            }
        }
    }

    // The fine: both amounts on one page, each with its code and its window.
    let options = fine();
    let pdf = write(tmp.path(), "fine", &view(&options, false));
    assert_eq!(page_count(&pdf), 1);
    let want: BTreeSet<String> = [qr_of(0, 2_940), qr_of(1, 4_200)].into();
    assert_eq!(qr_codes(&page_png(&pdf, 1, 150, false)), want);
    let text = page_text(&pdf, 1);
    for needle in [
        "IMPORTO RIDOTTO",
        "IMPORTO INTERO",
        "29,40",
        "42,00",
        "entro il 05/03/2030",
        "dopo il 05/03/2030",
        "oppure 42,00 Euro dopo il 05/03/2030",
        "Paga uno solo dei due importi",
    ] {
        assert!(text.contains(needle), "{needle:?} missing from the fine:\n{text}");
    }
    assert!(!text.contains("RATA UNICA") && !text.contains("Rata 1"), "{text}");
}

#[test]
fn with_a_postal_account_every_option_has_its_own_data_matrix() {
    if !have(&["pdftoppm", "pdftotext", "pdfinfo", "zbarimg", "dmtxread"]) {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    for (name, options, single, n) in
        [("rate3-posta", instalments(3, false), false, 3), ("rate2-unica-posta", instalments(2, true), true, 2)]
    {
        let pdf = write(tmp.path(), name, &view(&options, true));
        let pages = expected_pages(n, single, true);
        assert_eq!(page_count(&pdf), pages.len(), "{name}");
        for (p, on_page) in pages.iter().enumerate() {
            let png = page_png(&pdf, p + 1, 300, false);
            let qr: BTreeSet<String> = on_page.iter().map(|&i| qr_of(i, options[i].1)).collect();
            assert_eq!(qr_codes(&png), qr, "{name} page {}", p + 1);
            let dm: BTreeSet<String> = on_page.iter().map(|&i| dm_of(i, options[i].1)).collect();
            assert_eq!(datamatrices(&png, on_page.len()), dm, "{name} page {}", p + 1);
            let text = page_text(&pdf, p + 1);
            assert!(text.contains("BOLLETTINO POSTALE PA") && text.contains("AUT. DB/SSIC/E 12345"), "{text}");
        }
    }
    let options = fine();
    let pdf = write(tmp.path(), "fine-posta", &view(&options, true));
    let png = page_png(&pdf, 1, 300, false);
    assert_eq!(datamatrices(&png, 2), [dm_of(0, 2_940), dm_of(1, 4_200)].into());
    assert_eq!(qr_codes(&png), [qr_of(0, 2_940), qr_of(1, 4_200)].into());
}

#[test]
fn a_zip_of_notices_holds_multi_option_notices_whole() {
    if !have(&["pdfinfo", "zbarimg", "pdftoppm"]) {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let views = [view(&instalments(4, true), false), view_from(&fine(), true, 100)];
    let mut zip = std::io::Cursor::new(Vec::new());
    write_notices_zip(&mut zip, views.iter().cloned().map(Ok::<_, String>)).unwrap();
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(zip.into_inner())).unwrap();
    assert_eq!(archive.len(), 2);
    for (i, (view, pages)) in views.iter().zip([2, 1]).enumerate() {
        let mut entry = archive.by_index(i).unwrap();
        assert_eq!(entry.name(), format!("avviso_{}.pdf", view.iuv));
        let file = tmp.path().join(format!("entry{i}.pdf"));
        std::io::copy(&mut entry, &mut std::fs::File::create(&file).unwrap()).unwrap();
        assert_eq!(std::fs::read(&file).unwrap(), notice_pdf(view).unwrap(), "the ZIP holds the notice as printed");
        assert_eq!(page_count(&file), pages);
        let last = page_png(&file, pages, 150, false);
        assert!(!qr_codes(&last).is_empty(), "entry {i}: its last page carries codes");
    }
}

/// Each layout stays within 1% of its golden image (pixels whose grey differs by more than 64
/// levels), as `pdf::a_notice_matches_the_golden_image` does for the one-option notice.
#[test]
fn each_layout_matches_its_golden_images() {
    if !have(&["pdftoppm"]) {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let golden_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
    for (name, options, postal, pages) in [
        ("notice-rate4-unica", instalments(4, true), false, 2),
        ("notice-rate5", instalments(5, false), false, 2),
        ("notice-rate3-posta", instalments(3, false), true, 1),
        ("notice-multa-posta", fine(), true, 1),
    ] {
        let pdf = write(tmp.path(), name, &view(&options, postal));
        for page in 1..=pages {
            let png = page_png(&pdf, page, 50, true);
            let golden = golden_dir.join(format!("{name}-{page}.png"));
            if std::env::var_os("MYPAY_UPDATE_GOLDEN").is_some() {
                std::fs::copy(&png, &golden).unwrap();
            }
            let (w, h, got) = gray_png(&png);
            let (gw, gh, want) = gray_png(&golden);
            assert_eq!((w, h), (gw, gh), "{name} page {page}: size changed");
            let differing = got.iter().zip(&want).filter(|(a, b)| a.abs_diff(**b) > 64).count();
            let ratio = differing as f64 / got.len() as f64;
            assert!(ratio < 0.01, "{:.2}% of {name} page {page} differs from its golden image", ratio * 100.0);
        }
    }
}

/// The words pdftotext finds on page `page`: (text, xMin, yMin, xMax, yMax) in millimetres.
fn words(pdf: &Path, page: usize) -> Vec<(String, f32, f32, f32, f32)> {
    let p = page.to_string();
    let out = Command::new("pdftotext").args(["-bbox", "-f", &p, "-l", &p]).arg(pdf).arg("-").output().unwrap();
    let html = String::from_utf8_lossy(&out.stdout).into_owned();
    let attr = |tag: &str, name: &str| -> f32 {
        let start = tag.find(&format!("{name}=\"")).unwrap() + name.len() + 2;
        let value = &tag[start..start + tag[start..].find('"').unwrap()];
        value.parse::<f32>().unwrap() * 25.4 / 72.0
    };
    html.split("<word ")
        .skip(1)
        .map(|w| {
            let (tag, rest) = w.split_once('>').unwrap();
            let text = rest.split("</word>").next().unwrap().to_owned();
            (text, attr(tag, "xMin"), attr(tag, "yMin"), attr(tag, "xMax"), attr(tag, "yMax"))
        })
        .collect()
}

/// The longest texts in the narrowest places, in German: every word stays on the page, and no
/// word of an option crosses into its neighbour's place.
#[test]
fn text_never_leaves_its_box() {
    if !have(&["pdftotext"]) {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    // The largest amount the Data Matrix carries, so that the bollettino is printed too.
    let largest = 9_999_999_999;
    for (name, options, seps) in [
        ("long-rate3", vec![(OptionKind::Instalment, largest, "2030-12-31"); 3], vec![73.0, 137.0]),
        (
            "long-multa",
            vec![(OptionKind::Reduced, largest, "2030-12-31"), (OptionKind::Full, largest, "2031-12-31")],
            vec![105.0],
        ),
    ] {
        let mut v = view(&options, true);
        v.language = Some(mypay::testing::pdf::input::SecondLanguage::German);
        v.subject = "Canone unico patrimoniale per l'occupazione di suolo pubblico con dehors e tende ".repeat(2);
        v.debtor_name = "Società Agricola Fratelli Dell'Acqua e Figli di Città di Castello S.r.l.".into();
        v.org.name = "Unione dei Comuni della Bassa Valle del Fiume e delle Colline".into();
        let pdf = write(tmp.path(), name, &v);
        let text = page_text(&pdf, 1);
        assert!(text.contains("BOLLETTINO POSTALE PA"), "{name}: {text}");
        assert!(text.contains("99.999.999,99"), "{name}: the amount is whole: {text}");
        for (word, x0, y0, x1, y1) in words(&pdf, 1) {
            assert!(x0 >= 7.9 && x1 <= 202.1 && y0 >= 0.0 && y1 <= 297.0, "{name}: {word:?} at {x0}..{x1}, {y0}..{y1}");
            // The places of the bank band (177-218 mm) and of the postal band (241-282 mm).
            let in_places = (177.0..218.0).contains(&y0) || (241.0..282.0).contains(&y0);
            for sep in &seps {
                assert!(!(in_places && x0 < *sep && x1 > *sep), "{name}: {word:?} crosses {sep} mm ({x0}..{x1}, {y0})");
            }
        }
    }
}

#[test]
fn the_qr_payloads_are_the_spec_strings() {
    // What the tests above compare with is what pagopa.md §3.2 says, not what the code says.
    let org = OrgFiscalCode::parse(ORG_CF).unwrap();
    let payload = qr_payload(&nav(1), &org, Cents::new(10_000)).unwrap();
    assert_eq!(payload, format!("PAGOPA|002|{}|01234567897|10000", nav(1).as_str()));
    assert_eq!(view(&instalments(2, true), false).options[2].qr_payload, qr_of(2, 10_000));
}

/// `mypay debt add` of a TARI debt of Comune di Milano with the plan `extra`, then `mypay notice
/// pdf` of it (by IUD, or by the notice number `nav` of any option); the PDF's path.
fn cli_notice(dir: &Path, iud: &str, extra: &[&str], nav: Option<&str>) -> PathBuf {
    use crate::support::{run, stderr};
    let mut args = vec!["debt", "add", "--org", "c_f205", "--debt-type", "TARI", "--iud", iud];
    args.extend_from_slice(&["--debtor-id", DEBTOR_ID, "--debtor-name", DEBTOR, "--due-date", "2099-12-31"]);
    args.extend_from_slice(&["--causale", SUBJECT]);
    args.extend_from_slice(extra);
    let out = run(dir, &args, None);
    assert!(out.status.success(), "{}", stderr(&out));
    let file = dir.join(format!("{iud}.pdf"));
    let file_arg = file.to_string_lossy().into_owned();
    let key = match nav {
        Some(nav) => ["--nav", nav],
        None => ["--iud", iud],
    };
    let out = run(dir, &[&["notice", "pdf", "--org", "c_f205"][..], &key, &["-o", &file_arg]].concat(), None);
    assert!(out.status.success(), "{}", stderr(&out));
    file
}

/// The notice numbers of debt `iud`'s options, in `debt show` order.
fn cli_navs(dir: &Path, iud: &str) -> Vec<String> {
    let out = crate::support::run(dir, &["debt", "show", "--org", "c_f205", "--iud", iud, "--json"], None);
    let shown: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    shown["options"].as_array().unwrap().iter().map(|o| o["notice_number"].as_str().unwrap().to_owned()).collect()
}

#[test]
fn the_cli_notice_of_a_position_prints_the_layout_its_options_call_for() {
    if !have(&["pdftoppm", "pdftotext", "pdfinfo", "zbarimg"]) {
        return;
    }
    let (_tmp, dir) = crate::support::data_dir();
    crate::support::add_milano(&dir);
    let out = crate::support::run(
        &dir,
        &[
            "debt-type",
            "add",
            "--org",
            "c_f205",
            "--code",
            "TARI",
            "--description",
            "Tassa rifiuti",
            "--taxonomy",
            "0101002IM",
        ],
        None,
    );
    assert!(out.status.success(), "{}", crate::support::stderr(&out));
    let milano = "01199250158";
    let qr = |nav: &str, cents: i64| format!("PAGOPA|002|{nav}|{milano}|{cents}");

    // Four instalments and the single option: page 1 pays in full, the instalments follow.
    let rates = ["2099-01-31", "2099-02-28", "2099-03-31", "2099-04-30"].map(|due| format!("100.00:{due}"));
    let mut plan = vec!["--generate-iuv", "--amount", "400.00"];
    for rate in &rates {
        plan.extend_from_slice(&["--instalment", rate]);
    }
    let pdf = cli_notice(&dir, "RATE-4", &plan, None);
    let navs = cli_navs(&dir, "RATE-4");
    assert_eq!(navs.len(), 5);
    let pages = expected_pages(4, true, false);
    assert_eq!(page_count(&pdf), pages.len());
    let mut seen = BTreeSet::new();
    for (p, on_page) in pages.iter().enumerate() {
        let codes = qr_codes(&page_png(&pdf, p + 1, 150, false));
        let want: BTreeSet<String> =
            on_page.iter().map(|&i| qr(&navs[i], if i == 0 { 40_000 } else { 10_000 })).collect();
        assert_eq!(codes, want, "page {}", p + 1);
        seen.extend(codes);
        let text = page_text(&pdf, p + 1);
        for &i in on_page.iter().filter(|&&i| i > 0) {
            assert!(text.contains(&format!("Rata {i} di 4")), "page {}: {text}", p + 1);
        }
    }
    assert_eq!(seen.len(), 5, "every option's QR code, once");
    let first = page_text(&pdf, 1);
    assert!(first.contains("RATA UNICA") && first.contains("Puoi pagare per intero oppure in 4 rate"), "{first}");
    assert!(first.contains("400,00") && first.contains("entro il 31/12/2099"), "{first}");

    // Found by an instalment's notice number too: the same position, the same document.
    let by_nav = cli_notice(&dir, "RATE-4B", &plan, None);
    let navs_b = cli_navs(&dir, "RATE-4B");
    let again = dir.join("again.pdf");
    let out = crate::support::run(
        &dir,
        &["notice", "pdf", "--org", "c_f205", "--nav", &navs_b[3], "-o", &again.to_string_lossy()],
        None,
    );
    assert!(out.status.success(), "{}", crate::support::stderr(&out));
    assert_eq!(std::fs::read(&again).unwrap(), std::fs::read(&by_nav).unwrap());

    // Instalments only: no "rata unica", the plan's total on page 1.
    let only = ["--instalment", "150.00:2099-01-31", "--instalment", "250.00:2099-02-28"];
    let pdf = cli_notice(&dir, "RATE-2", &only, None);
    let navs = cli_navs(&dir, "RATE-2");
    assert_eq!(navs.len(), 2);
    let want: BTreeSet<String> = [qr(&navs[0], 15_000), qr(&navs[1], 25_000)].into();
    assert_eq!(qr_codes(&page_png(&pdf, 1, 150, false)), want);
    let text = page_text(&pdf, 1);
    assert!(text.contains("Puoi pagare in 2 rate") && text.contains("Rata 2 di 2"), "{text}");
    assert!(!text.contains("RATA UNICA"), "{text}");

    // A fine: the reduced amount until its day, the debt's own option as the full amount.
    let fine = ["--generate-iuv", "--amount", "42.00", "--reduced", "29.40:2099-03-05"];
    let pdf = cli_notice(&dir, "MULTA-1", &fine, None);
    let navs = cli_navs(&dir, "MULTA-1");
    let want: BTreeSet<String> = [qr(&navs[0], 4_200), qr(&navs[1], 2_940)].into();
    assert_eq!(page_count(&pdf), 1);
    assert_eq!(qr_codes(&page_png(&pdf, 1, 150, false)), want);
    let text = page_text(&pdf, 1);
    for needle in ["IMPORTO RIDOTTO", "IMPORTO INTERO", "29,40", "42,00", "entro il 05/03/2099", "dopo il 05/03/2099"] {
        assert!(text.contains(needle), "{needle:?} missing from the fine:\n{text}");
    }
}
