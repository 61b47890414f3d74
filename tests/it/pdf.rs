//! Payment notices and receipts as PDF, through the real binary on demo data: the PDFs are
//! rasterized (pdftoppm) and their codes decoded (zbarimg for the QR code, dmtxread for the Poste
//! Data Matrix) and compared with the strings of pagopa.md §3.2-3.3. A test whose tool is missing
//! prints `skipped: …` and returns, so `cargo test` needs none of them (.ci/run installs them).

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::station::open_debts;
use crate::support::{Server, data_dir, post, run, stderr, stdout};

/// Whether `tool` is on the PATH; prints why the test is skipped when it is not.
pub(crate) fn have(tools: &[&str]) -> bool {
    for tool in tools {
        let found =
            Command::new("sh").args(["-c", &format!("command -v {tool}")]).output().is_ok_and(|o| o.status.success());
        if !found {
            println!("skipped: {tool} is not installed (apt-get install poppler-utils zbar-tools dmtx-utils)");
            return false;
        }
    }
    true
}

/// A data directory seeded by `mypay demo` (started, then stopped).
fn seeded() -> (tempfile::TempDir, PathBuf) {
    let (tmp, dir) = data_dir();
    let server = Server::start(&dir, &["demo"]);
    let (ok, err) = server.terminate();
    assert!(ok, "{err}");
    (tmp, dir)
}

fn mypay(dir: &Path, args: &[&str]) -> String {
    let out = run(dir, args, None);
    assert!(out.status.success(), "mypay {args:?}: {}", stderr(&out));
    stdout(&out)
}

/// `pdf` rasterized at `dpi` to a PNG file beside it.
fn rasterize(pdf: &Path, dpi: u32, gray: bool) -> PathBuf {
    let stem = pdf.with_extension("");
    let mut cmd = Command::new("pdftoppm");
    cmd.args(["-r", &dpi.to_string(), "-png", "-singlefile"]);
    if gray {
        cmd.arg("-gray");
    }
    let out = cmd.arg(pdf).arg(&stem).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    stem.with_extension("png")
}

pub(crate) fn decode_qr(png: &Path) -> Option<String> {
    let out = Command::new("zbarimg").args(["-q", "--raw"]).arg(png).output().unwrap();
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).trim_end_matches('\n').to_owned())
}

pub(crate) fn decode_datamatrix(png: &Path) -> Option<String> {
    let out = Command::new("dmtxread").args(["-n", "-N1", "-m", "20000"]).arg(png).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let text = text.trim_end_matches('\n').to_owned();
    (out.status.success() && !text.is_empty()).then_some(text)
}

fn pdf_text(pdf: &Path) -> String {
    let out = Command::new("pdftotext").args(["-layout"]).arg(pdf).arg("-").output().unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Adds a TARI debt and returns its notice number.
fn add_debt(dir: &Path, iud: &str, name: &str, causale: &str, amount: &str, due: &str) -> String {
    let out = mypay(
        dir,
        &[
            "debt",
            "add",
            "--org",
            "c_esempio",
            "--debt-type",
            "TARI",
            "--iud",
            iud,
            "--generate-iuv",
            "--debtor-id",
            "RSSMRA85T10A562S",
            "--debtor-name",
            name,
            "--address",
            "Via Roma",
            "--civic-number",
            "1",
            "--postal-code",
            "20100",
            "--city",
            "Esempio",
            "--province",
            "MI",
            "--country",
            "IT",
            "--due-date",
            due,
            "--amount",
            amount,
            "--causale",
            causale,
            "--collection-data",
            "9/0101002IM/",
            "--json",
        ],
    );
    let debt: serde_json::Value = serde_json::from_str(&out).unwrap();
    debt["notice_number"].as_str().unwrap().to_owned()
}

fn notice_pdf(dir: &Path, nav: &str, file: &Path) {
    mypay(dir, &["notice", "pdf", "--org", "c_esempio", "--nav", nav, "-o", file.to_str().unwrap()]);
}

fn datamatrix_string(nav: &str, cents: i64, name: &str, causale: &str) -> String {
    format!(
        "codfase=NBPA;18{nav}12{:0>12}10{cents:010}38961P101234567897RSSMRA85T10A562S{name:<40}{causale:<110}{}A",
        "12345678",
        " ".repeat(12)
    )
}

#[test]
fn notices_carry_codes_that_decode_to_the_spec_strings() {
    if !have(&["pdftoppm", "pdftotext", "zbarimg", "dmtxread"]) {
        return;
    }
    let (tmp, dir) = seeded();
    let out = tmp.path();

    // Plain: no Poste authorization, so only the QR code.
    let nav = add_debt(&dir, "PDF-PLAIN", "Mario Rossi", "TARI 2030 - rata unica", "150.00", "2030-12-31");
    let plain = out.join("plain.pdf");
    notice_pdf(&dir, &nav, &plain);
    let png = rasterize(&plain, 150, false);
    assert_eq!(decode_qr(&png).unwrap(), format!("PAGOPA|002|{nav}|01234567897|15000"));
    let text = pdf_text(&plain);
    assert!(text.contains("entro il 31/12/2030"), "{text}");
    assert!(text.contains("150,00"), "{text}");
    let grouped: Vec<String> = nav.as_bytes().chunks(4).map(|c| String::from_utf8_lossy(c).into_owned()).collect();
    assert!(text.contains(&grouped.join(" ")), "the notice code is printed in groups of four: {text}");
    assert!(!text.contains("BOLLETTINO POSTALE"), "{text}");

    // Large amount: the largest a notice may carry, printed in full.
    let nav = add_debt(&dir, "PDF-LARGE", "Mario Rossi", "Sanzione", "999999999.99", "2030-12-31");
    let large = out.join("large.pdf");
    notice_pdf(&dir, &nav, &large);
    assert_eq!(decode_qr(&rasterize(&large, 150, false)).unwrap(), format!("PAGOPA|002|{nav}|01234567897|99999999999"));
    assert!(pdf_text(&large).contains("999.999.999,99"));

    // Long names: cut to the spec's limits with an ellipsis, never over the page.
    let long_name = "Società Agricola Fratelli Dell'Acqua e Figli di Città di Castello S.r.l.";
    let long_causale = "Canone unico patrimoniale per l'occupazione di suolo pubblico con dehors, tende, fioriere \
                        e arredi del pubblico esercizio in Piazza Vittorio Emanuele II angolo Via Garibaldi";
    let nav = add_debt(&dir, "PDF-LONG", &long_name[..70], long_causale, "1234.56", "2030-12-31");
    let long = out.join("long.pdf");
    notice_pdf(&dir, &nav, &long);
    assert_eq!(decode_qr(&rasterize(&long, 150, false)).unwrap(), format!("PAGOPA|002|{nav}|01234567897|123456"));
    assert!(pdf_text(&long).contains('…'), "the 90-character subject is cut with an ellipsis");

    // Postal: with Poste's authorization the bollettino and its Data Matrix appear.
    mypay(&dir, &["org", "set", "c_esempio", "--poste-authorization", "AUT. DB/SSIC/E 12345 DEL 01/01/2020"]);
    let nav = add_debt(&dir, "PDF-POSTAL", "Giulia Bianchi", "TARI 2030 - rata unica", "80.00", "2030-12-31");
    let postal = out.join("postal.pdf");
    notice_pdf(&dir, &nav, &postal);
    let png = rasterize(&postal, 300, false);
    assert_eq!(decode_qr(&png).unwrap(), format!("PAGOPA|002|{nav}|01234567897|8000"));
    let expected = datamatrix_string(&nav, 8000, "Giulia Bianchi", "TARI 2030 - rata unica");
    assert_eq!(expected.len(), 256);
    assert_eq!(decode_datamatrix(&png).unwrap(), expected);
    let text = pdf_text(&postal);
    assert!(text.contains("BOLLETTINO POSTALE PA") && text.contains("AUT. DB/SSIC/E 12345"), "{text}");

    // The large amount does not fit the Data Matrix's 10 digits: no bollettino, the QR still pays it.
    notice_pdf(&dir, &add_debt(&dir, "PDF-LARGE-2", "Mario Rossi", "Sanzione", "999999999.99", "2030-12-31"), &large);
    assert!(!pdf_text(&large).contains("BOLLETTINO POSTALE"));

    // No due date: the debt type does not print it.
    mypay(&dir, &["debt-type", "set", "--org", "c_esempio", "--code", "TARI", "--print-due-date", "false"]);
    let nodue = out.join("nodue.pdf");
    mypay(&dir, &["notice", "pdf", "--org", "c_esempio", "--iud", "PDF-PLAIN", "-o", nodue.to_str().unwrap()]);
    let text = pdf_text(&nodue);
    assert!(!text.contains("entro il"), "{text}");
    assert!(text.contains("senza scadenza"), "{text}");

    // Bilingual: German labels beside the Italian ones.
    mypay(&dir, &["org", "set", "c_esempio", "--notice-language", "de"]);
    let shown: serde_json::Value = serde_json::from_str(&mypay(&dir, &["org", "show", "c_esempio", "--json"])).unwrap();
    assert_eq!(shown["notice_language"], "de");
    let de = out.join("de.pdf");
    notice_pdf(&dir, &nav, &de);
    assert!(pdf_text(&de).contains("ZAHLUNGSBESCHEID"));
    assert_eq!(decode_datamatrix(&rasterize(&de, 300, false)).unwrap(), expected);
}

#[test]
fn the_orgs_website_is_printed_whole() {
    if !have(&["pdftotext"]) {
        return;
    }
    let (tmp, dir) = seeded();
    // The demo org's contacts (address, phone, e-mail, website) are longer than the spec's 100
    // characters: the website used to come out as "www.co…".
    let nav = add_debt(&dir, "PDF-SITE", "Mario Rossi", "TARI 2030 - rata unica", "150.00", "2030-12-31");
    let file = tmp.path().join("site.pdf");
    notice_pdf(&dir, &nav, &file);
    let text = pdf_text(&file);
    assert!(text.contains("www.comune.esempio.it"), "{text}");
    // A longer website, and a phone and an e-mail beside it: still whole, in smaller text.
    mypay(
        &dir,
        &[
            "org",
            "set",
            "c_esempio",
            "--website",
            "https://www.comune.esempio-in-provincia-di-milano.it/servizi/tributi",
            "--phone",
            "+39 02 0000000 int. 2",
        ],
    );
    notice_pdf(&dir, &nav, &file);
    let text = pdf_text(&file).replace('\n', " ").split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(text.contains("www.comune.esempio-in-provincia-di-milano.it/servizi/tributi"), "{text}");
    assert!(!text.contains("www.co…"), "{text}");
}

/// A valid notice number (aux 3, segregation code 02) that no demo debt has.
const NOT_A_DEBT: &str = "302000000000009989";

#[test]
fn notice_and_receipt_commands_report_unknown_keys_and_io_errors() {
    let (tmp, dir) = seeded();
    let file = tmp.path().join("x.pdf");
    let file = file.to_str().unwrap();
    let nav = open_debts(&dir)[0].1.clone();
    let code = |args: &[&str]| run(&dir, args, None).status.code();
    assert_eq!(code(&["notice", "pdf", "--org", "c_nobody", "--nav", &nav, "-o", file]), Some(2));
    assert_eq!(code(&["notice", "pdf", "--org", "c_esempio", "--nav", NOT_A_DEBT, "-o", file]), Some(2));
    assert_eq!(code(&["notice", "pdf", "--org", "c_esempio", "--nav", "12", "-o", file]), Some(2));
    assert_eq!(code(&["notice", "pdf", "--org", "c_esempio", "--iud", "NOPE", "-o", file]), Some(2));
    assert_eq!(code(&["receipt", "pdf", "--org", "c_esempio", "--iuv", "01000000000000144", "-o", file]), Some(2));
    let out = run(&dir, &["notice", "pdf", "--org", "c_esempio", "--nav", &nav, "-o", "/nonexistent/dir/x.pdf"], None);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("cannot write"), "{}", stderr(&out));
    // `--nav` takes the notice code as printed, in groups of four.
    let grouped: Vec<String> = nav.as_bytes().chunks(4).map(|c| String::from_utf8_lossy(c).into_owned()).collect();
    assert_eq!(code(&["notice", "pdf", "--org", "c_esempio", "--nav", &grouped.join(" "), "-o", file]), Some(0));
    assert!(std::fs::read(file).unwrap().starts_with(b"%PDF-"));
    assert_eq!(code(&["org", "set", "c_esempio", "--notice-language", "fr"]), Some(2));
}

#[test]
fn a_paid_notice_has_a_receipt_pdf() {
    let (tmp, dir) = data_dir();
    let server = Server::start(&dir, &["demo"]);
    let line = server.banner.iter().find(|l| l.contains("pagoPA simulator")).expect("the demo starts the simulator");
    let sim = line.rsplit(' ').next().unwrap().trim_end_matches('/').to_owned();
    let (_, nav, iuv, cents) = open_debts(&dir)[0].clone();
    let body = format!(r#"{{"fiscalCode":"01234567897","noticeNumber":"{nav}"}}"#);
    let paid = post(&format!("{sim}/sim/psp/pay"), "application/json", body.as_bytes());
    assert!(paid.body.contains("\"OK\""), "{}", paid.body);

    let file = tmp.path().join("ricevuta.pdf");
    mypay(&dir, &["receipt", "pdf", "--org", "c_esempio", "--iuv", &iuv, "-o", file.to_str().unwrap()]);
    let pdf = std::fs::read(&file).unwrap();
    assert!(pdf.starts_with(b"%PDF-") && pdf.len() < 100_000, "{} bytes", pdf.len());
    // A paid notice has no notice to print any more.
    assert_eq!(
        run(&dir, &["notice", "pdf", "--org", "c_esempio", "--nav", &nav, "-o", "/dev/null"], None).status.code(),
        Some(2)
    );
    if !have(&["pdftotext"]) {
        return;
    }
    let text = pdf_text(&file);
    let amount = mypay::testing::domain::Cents::new(cents).to_italian();
    for needle in [
        "RICEVUTA DI PAGAMENTO",
        "PAGATO",
        iuv.as_str(),
        amount.as_str(),
        "Comune di Esempio",
        "DETTAGLIO DEI VERSAMENTI",
        // The simulator's PSP pays with `creditCard`: the receipt says it in Italian.
        "Carta di pagamento",
    ] {
        assert!(text.contains(needle), "{needle:?} missing from:\n{text}");
    }
    assert!(!text.contains("creditCard"), "{text}");
    drop(server);
}

/// Decodes an 8-bit greyscale or RGB, non-interlaced PNG (what `pdftoppm -gray -png` writes) to
/// one grey level per pixel (the first channel).
pub(crate) fn gray_png(path: &Path) -> (usize, usize, Vec<u8>) {
    let bytes = std::fs::read(path).unwrap();
    let (mut pos, mut width, mut height, mut bpp, mut idat) = (8, 0, 0, 1, Vec::new());
    while pos + 8 <= bytes.len() {
        let len = u32::from_be_bytes(bytes[pos..pos + 4].try_into().unwrap()) as usize;
        let body = &bytes[pos + 8..pos + 8 + len];
        match &bytes[pos + 4..pos + 8] {
            b"IHDR" => {
                width = u32::from_be_bytes(body[0..4].try_into().unwrap()) as usize;
                height = u32::from_be_bytes(body[4..8].try_into().unwrap()) as usize;
                assert!(body[8] == 8 && matches!(body[9], 0 | 2) && body[12] == 0, "8-bit grey or RGB, not interlaced");
                bpp = if body[9] == 2 { 3 } else { 1 };
            }
            b"IDAT" => idat.extend_from_slice(body),
            _ => {}
        }
        pos += 12 + len;
    }
    let raw = miniz_oxide::inflate::decompress_to_vec_zlib(&idat).unwrap();
    let stride = width * bpp;
    let mut data = vec![0u8; stride * height];
    for y in 0..height {
        let row = &raw[y * (stride + 1)..(y + 1) * (stride + 1)];
        let (filter, line) = (row[0], &row[1..]);
        for x in 0..stride {
            let a = if x >= bpp { data[y * stride + x - bpp] } else { 0 };
            let b = if y > 0 { data[(y - 1) * stride + x] } else { 0 };
            let c = if x >= bpp && y > 0 { data[(y - 1) * stride + x - bpp] } else { 0 };
            let predicted = match filter {
                0 => 0,
                1 => a,
                2 => b,
                3 => ((u16::from(a) + u16::from(b)) / 2) as u8,
                4 => {
                    let p = i16::from(a) + i16::from(b) - i16::from(c);
                    let (pa, pb, pc) = ((p - i16::from(a)).abs(), (p - i16::from(b)).abs(), (p - i16::from(c)).abs());
                    if pa <= pb && pa <= pc {
                        a
                    } else if pb <= pc {
                        b
                    } else {
                        c
                    }
                }
                other => panic!("PNG filter {other}"),
            };
            data[y * stride + x] = line[x].wrapping_add(predicted);
        }
    }
    (width, height, data.chunks(bpp).map(|px| px[0]).collect())
}

/// The rendering of a fixed notice stays within 1% of the committed golden image (pixels whose grey
/// differs by more than 64 levels), so layout regressions show up while font rasterizer details
/// do not. Regenerate with `MYPAY_UPDATE_GOLDEN=1 cargo test golden`.
#[test]
fn a_notice_matches_the_golden_image() {
    if !have(&["pdftoppm"]) {
        return;
    }
    let (tmp, dir) = seeded();
    mypay(&dir, &["org", "set", "c_esempio", "--poste-authorization", "AUT. DB/SSIC/E 12345 DEL 01/01/2020"]);
    let nav = add_debt(&dir, "PDF-GOLDEN", "Mario Rossi", "TARI 2030 - rata unica", "150.00", "2030-12-31");
    let file = tmp.path().join("golden.pdf");
    notice_pdf(&dir, &nav, &file);
    let png = rasterize(&file, 50, true);
    let golden = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden/notice.png");
    if std::env::var_os("MYPAY_UPDATE_GOLDEN").is_some() {
        std::fs::copy(&png, &golden).unwrap();
    }
    let (w, h, got) = gray_png(&png);
    let (gw, gh, want) = gray_png(&golden);
    assert_eq!((w, h), (gw, gh), "page size changed");
    let differing = got.iter().zip(&want).filter(|(a, b)| a.abs_diff(**b) > 64).count();
    let ratio = differing as f64 / got.len() as f64;
    assert!(ratio < 0.01, "{:.2}% of the pixels differ from tests/golden/notice.png", ratio * 100.0);
}
