//! Org settings, operators and orgs in the back office, and the bad input each refuses with a clear
//! Italian message while changing nothing: a form without its CSRF token, an invalid IBAN, a logo
//! that is not an image, too large or undecodable, a duplicate operator, a state change that skips a step.

use crate::backoffice::{demo_logged_in, login};
use crate::portal::Browser;
use crate::support::{run, stdout};

/// A `width`×`height` 8-bit RGB PNG of one colour.
fn rgb_png(width: u32, height: u32, rgb: &[u8; 3]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, width, height);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().unwrap();
    writer.write_image_data(&rgb.repeat((width * height) as usize)).unwrap();
    writer.finish().unwrap();
    out
}

/// The org's stored logo: its bytes and MIME type.
fn stored_logo(dir: &std::path::Path, ipa: &str) -> (Option<Vec<u8>>, Option<String>) {
    let conn = rusqlite::Connection::open(dir.join("mypay.db")).unwrap();
    conn.query_row("SELECT logo, logo_mime FROM org WHERE ipa_code = ?1", [ipa], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
}

/// Width, height, colour type and the decoded pixels of a PNG.
fn decode_png(bytes: &[u8]) -> (u32, u32, png::ColorType, Vec<u8>) {
    let mut reader = png::Decoder::new(std::io::Cursor::new(bytes)).read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let frame = reader.next_frame(&mut buf).unwrap();
    buf.truncate(frame.buffer_size());
    (frame.width, frame.height, frame.color_type, buf)
}

#[test]
fn logos_are_stored_as_pngs_scaled_to_fit_400_px_and_undecodable_ones_change_nothing() {
    let (_tmp, dir, _server, mut demo) = demo_logged_in();
    let page = "/operatore/c_esempio/impostazioni";
    let token = crate::portal::csrf(&demo.get(page).body);
    let mut upload = |name: &str, bytes: &[u8]| {
        demo.post_multipart(&format!("{page}/logo?csrf={token}"), &[], ("logo", name, bytes))
    };

    // A 1200×600 PNG: scaled to 400×200, colour kept.
    assert_eq!(upload("grande.png", &rgb_png(1200, 600, &[200, 30, 40])).status, 303);
    let (bytes, mime) = stored_logo(&dir, "c_esempio");
    assert_eq!(mime.as_deref(), Some("image/png"));
    let (w, h, color, pixels) = decode_png(&bytes.unwrap());
    assert_eq!((w, h, color), (400, 200, png::ColorType::Rgb));
    assert_eq!(&pixels[..3], &[200, 30, 40]);

    // A 1200×600 JPEG: stored as a 400×200 PNG.
    assert_eq!(upload("grande.jpg", include_bytes!("../fixtures/logo-1200x600.jpg")).status, 303);
    let (bytes, mime) = stored_logo(&dir, "c_esempio");
    assert_eq!(mime.as_deref(), Some("image/png"));
    let stored = bytes.unwrap();
    assert!(stored.starts_with(b"\x89PNG\r\n\x1a\n"));
    let (w, h, color, _) = decode_png(&stored);
    assert_eq!((w, h, color), (400, 200, png::ColorType::Rgb));

    // A file that claims to be a PNG but is not: refused in Italian, the JPEG's PNG stays.
    let stamp = org_json(&dir, "c_esempio")["updated_at"].clone();
    let mut corrupt = b"\x89PNG\r\n\x1a\n".to_vec();
    corrupt.extend_from_slice(&[0; 64]);
    let refused = upload("rotto.png", &corrupt);
    assert_eq!(refused.status, 422);
    assert!(refused.body.contains("Il file del logo non è un'immagine PNG o JPEG leggibile"), "{}", refused.body);
    assert_eq!(stored_logo(&dir, "c_esempio").0, Some(stored), "nothing was stored");
    assert_eq!(org_json(&dir, "c_esempio")["updated_at"], stamp);

    // A small logo keeps its size.
    assert_eq!(upload("piccolo.png", &rgb_png(120, 80, &[0, 90, 0])).status, 303);
    let (w, h, _, pixels) = decode_png(&stored_logo(&dir, "c_esempio").0.unwrap());
    assert_eq!((w, h), (120, 80));
    assert_eq!(&pixels[..3], &[0, 90, 0]);
}

fn org_json(dir: &std::path::Path, ipa: &str) -> serde_json::Value {
    let out = run(dir, &["org", "show", ipa, "--json"], None);
    serde_json::from_str(&stdout(&out)).unwrap()
}

#[test]
fn settings_operators_and_orgs_refuse_bad_input_and_change_nothing() {
    let (_tmp, dir, server, mut demo) = demo_logged_in();
    let page = "/operatore/c_esempio/impostazioni";
    let before = org_json(&dir, "c_esempio");

    // No CSRF token: refused before any handler runs.
    let forged = demo.post(page, &[("name", "Comune Falso"), ("iban-bank", "")]);
    assert_eq!(forged.status, 403);
    // An invalid IBAN: the form comes back with what was typed and nothing is stored.
    let form: Vec<(&str, String)> = ["name", "iban-bank", "city"]
        .iter()
        .map(|f| {
            (
                *f,
                before[match *f {
                    "iban-bank" => "iban",
                    other => other,
                }]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            )
        })
        .collect();
    let mut typed: Vec<(&str, &str)> = form.iter().map(|(n, v)| (*n, v.as_str())).collect();
    typed[1] = ("iban-bank", "IT60X0542811101000000123457");
    let refused = demo.submit(page, page, &typed);
    assert_eq!(refused.status, 422);
    assert!(
        refused.body.contains(r##"<li><a href="#iban-bank">IBAN bancario</a>: L'IBAN non è valido: controlla i caratteri e le due cifre di controllo.</li>"##),
        "{}",
        refused.body
    );
    assert!(
        refused.body.contains(r#"<div id="iban-bank-errore" class="invalid-feedback d-block">L'IBAN non è valido: controlla i caratteri e le due cifre di controllo.</div>"#),
        "{}",
        refused.body
    );
    assert!(refused.body.contains(r#"aria-describedby="iban-bank-errore" aria-invalid="true">"#), "{}", refused.body);
    assert!(refused.body.contains("IT60X0542811101000000123457"), "the form keeps what was typed");
    assert_eq!(org_json(&dir, "c_esempio"), before, "nothing changed");
    // A good change is stored and journaled.
    typed[1] = ("iban-bank", before["iban"].as_str().unwrap());
    typed[2] = ("city", "Esempio Alto");
    assert_eq!(demo.submit(page, page, &typed).status, 303);
    assert_eq!(org_json(&dir, "c_esempio")["city"], "Esempio Alto");
    assert!(demo.get("/operatore/c_esempio/giornale?azione=org.set").body.contains("org:c_esempio"));

    // Logos: not an image, too large; then a PNG.
    let stamp = org_json(&dir, "c_esempio")["updated_at"].clone();
    let token = crate::portal::csrf(&demo.get(page).body);
    let text = demo.post_multipart(&format!("{page}/logo?csrf={token}"), &[], ("logo", "logo.png", b"not an image"));
    assert_eq!(text.status, 422);
    assert!(text.body.contains("Il valore del campo «logo» non è valido."), "{}", text.body);
    let mut big = b"\x89PNG\r\n\x1a\n".to_vec();
    big.resize(300 * 1024, 0);
    let large = demo.post_multipart(&format!("{page}/logo?csrf={token}"), &[], ("logo", "logo.png", &big));
    assert_eq!(large.status, 422);
    assert_eq!(org_json(&dir, "c_esempio")["updated_at"], stamp, "no logo was stored");
    let png = rgb_png(40, 20, &[10, 20, 30]);
    assert_eq!(demo.post_multipart(&format!("{page}/logo?csrf={token}"), &[], ("logo", "logo.png", &png)).status, 303);

    // The SIL password: generated and shown once.
    let sil = demo.submit(page, &format!("{page}/sil"), &[]);
    assert_eq!(sil.status, 200);
    assert!(sil.body.contains("Nuova password del gestionale") && sil.body.contains("non sarà più mostrata"));
    assert_eq!(org_json(&dir, "c_esempio")["sil_password_set"], true);
    assert!(!demo.get(page).body.contains("Nuova password del gestionale"), "shown only once");

    // Operators: a duplicate is refused; a new one gets a one-time password that works.
    let ops = "/operatore/c_esempio/operatori";
    let dup = demo.submit(ops, ops, &[("username", "demo"), ("role", "operator")]);
    assert_eq!(dup.status, 422);
    assert!(
        dup.body.contains(
            r##"<li><a href="#username">Nome utente</a>: Esiste già un operatore con questo nome utente.</li>"##
        ),
        "{}",
        dup.body
    );
    assert!(
        dup.body.contains(r#"id="username" name="username" value="demo" required aria-describedby="username-errore" aria-invalid="true">"#),
        "the form keeps what was typed: {}",
        dup.body
    );
    let bad = demo.submit(ops, ops, &[("username", "x"), ("email", "non-una-email"), ("role", "admin")]);
    assert_eq!(bad.status, 422);
    assert!(
        bad.body.contains(r#"<div id="username-errore" class="invalid-feedback d-block">Indica un nome utente da 3 a 64 caratteri tra lettere, cifre, «.», «_», «-» e «@».</div>"#),
        "{}",
        bad.body
    );
    assert!(bad.body.contains(r#"<option value="admin" selected>"#), "{}", bad.body);
    let mail = demo.submit(ops, ops, &[("username", "nuovo"), ("email", "non-una-email"), ("role", "operator")]);
    assert!(
        mail.body.contains(r#"<div id="email-errore" class="invalid-feedback d-block">L'indirizzo e-mail non è valido (es. nome@esempio.it).</div>"#),
        "{}",
        mail.body
    );
    let added = demo.submit(ops, ops, &[("username", "sportello"), ("full_name", "Ufficio"), ("role", "operator")]);
    assert_eq!(added.status, 200);
    let marker = "Password di sportello: <strong><code>";
    let at = added.body.find(marker).unwrap_or_else(|| panic!("{}", added.body)) + marker.len();
    let password = added.body[at..].split('<').next().unwrap().to_owned();
    let granted = demo.submit(ops, &format!("{ops}/sportello/abilitazioni"), &[("role", "operator"), ("tipo", "TARI")]);
    assert_eq!(granted.status, 303);
    let mut sportello = Browser::new(&server.base);
    assert_eq!(login(&mut sportello, "sportello", &password).status, 303);
    assert!(sportello.get("/operatore/c_esempio/dovuti?cerca=1").body.contains("Dovuti trovati: 20"));
    assert_eq!(sportello.get(page).status, 403, "settings are for org admins");
    assert_eq!(sportello.get(ops).status, 403);
    // Their own password: wrong current one, mismatch, then a good one.
    let own = "/operatore/password";
    let wrong = sportello.submit(
        own,
        own,
        &[("current", "sbagliata"), ("new", "Nuova password 1"), ("again", "Nuova password 1")],
    );
    assert!(wrong.body.contains("La password attuale non è corretta."));
    let mismatch = sportello.submit(
        own,
        own,
        &[("current", &password), ("new", "Nuova password 1"), ("again", "Nuova password 2")],
    );
    assert!(mismatch.body.contains("Le due nuove password non coincidono."));
    let changed = sportello.submit(
        own,
        own,
        &[("current", &password), ("new", "Nuova password 1"), ("again", "Nuova password 1")],
    );
    assert_eq!(changed.status, 303);
    assert_eq!(login(&mut Browser::new(&server.base), "sportello", "Nuova password 1").status, 303);

    // Debt types: a wrong taxonomy code is refused; a form definition previewed, then saved.
    let types = "/operatore/c_esempio/tipi";
    let new_type = format!("{types}/nuovo");
    let mut fields = vec![
        ("code", "PASSO_CARRABILE"),
        ("description", "Passo carrabile"),
        ("taxonomy", "XX"),
        ("fixed_amount", ""),
        ("spontaneous", "1"),
        ("print_due_date", "1"),
        ("active", "1"),
        (
            "form_definition",
            r#"{"fields": [{"name": "targa", "type": "text", "label": "Targa del veicolo", "required": true}], "causale": "Passo carrabile {targa}"}"#,
        ),
        ("azione", "salva"),
    ];
    let bad = demo.submit(&new_type, &new_type, &fields);
    assert_eq!(bad.status, 422);
    assert!(
        bad.body.contains(r#"<div id="taxonomy-errore" class="invalid-feedback d-block">Indica un codice di tassonomia pagoPA valido, es. 0101002IM.</div>"#),
        "{}",
        bad.body
    );
    fields[2] = ("taxonomy", "0101108TS");
    fields[8] = ("azione", "anteprima");
    let shown = demo.submit(&new_type, &new_type, &fields);
    assert!(
        shown.body.contains("Anteprima del modulo del cittadino") && shown.body.contains("Targa del veicolo"),
        "{}",
        shown.body
    );
    fields[7] = ("form_definition", r#"{"fields": [{"name": "Targa!", "type": "text"}]}"#);
    let broken = demo.submit(&new_type, &new_type, &fields);
    assert!(broken.body.contains("La definizione del modulo non è valida"), "{}", broken.body);
    assert!(!demo.get(types).body.contains("PASSO_CARRABILE"), "a preview saves nothing");
    fields[7] = (
        "form_definition",
        r#"{"fields": [{"name": "targa", "type": "text", "label": "Targa del veicolo", "required": true}], "causale": "Passo carrabile {targa}"}"#,
    );
    fields[8] = ("azione", "salva");
    assert_eq!(demo.submit(&new_type, &new_type, &fields).status, 303);
    let edit = format!("{types}/PASSO_CARRABILE");
    let off: Vec<(&str, &str)> = fields.iter().copied().filter(|(n, _)| *n != "active" && *n != "code").collect();
    assert_eq!(demo.submit(&edit, &edit, &off).status, 303);
    assert!(demo.get(types).body.contains("Disattivato"));

    // Orgs and states are the app admin's: an org admin is refused, a skipped step too.
    assert_eq!(demo.get("/operatore/enti").status, 403);
    let state = demo.submit(page, &format!("{page}/stato"), &[("state", "INSERITO")]);
    assert_eq!(state.status, 403);
    let out = run(
        &dir,
        &["operator", "add", "--username", "root", "--role", "app-admin", "--password-stdin"],
        Some("Una password sicura 1\n"),
    );
    assert!(out.status.success(), "{}", crate::support::stderr(&out));
    let mut root = Browser::new(&server.base);
    assert_eq!(login(&mut root, "root", "Una password sicura 1").status, 303);
    let orgs = "/operatore/enti";
    let new_org = [
        ("ipa", "c_f205"),
        ("fiscal-code", "01199250158"),
        ("name", "Comune di Milano"),
        ("segregation-code", "02"),
        ("iban-bank", ""),
    ];
    assert_eq!(root.submit(orgs, orgs, &new_org).status, 303);
    let again = root.submit(orgs, orgs, &new_org);
    assert!(again.body.contains("Esiste già un ente con questo codice IPA o codice fiscale."));
    let milano = "/operatore/c_f205/impostazioni";
    let skipped = root.submit(milano, &format!("{milano}/stato"), &[("state", "ESERCIZIO")]);
    assert_eq!(skipped.status, 422);
    assert!(skipped.body.contains("Passaggio di stato non consentito"), "{}", skipped.body);
    assert_eq!(org_json(&dir, "c_f205")["state"], "INSERITO");
    assert_eq!(root.submit(milano, &format!("{milano}/stato"), &[("state", "PRE-ESERCIZIO")]).status, 303);
    assert_eq!(org_json(&dir, "c_f205")["state"], "PRE-ESERCIZIO");
}

/// The template's sections, with `rights` as given.
fn sections(rights: &str) -> Vec<(&'static str, String)> {
    vec![
        ("controller", "Comune di Esempio, piazza Municipio 1".to_owned()),
        ("dpo-contact", "rpd@comune.esempio.it".to_owned()),
        ("purposes", "Riscossione delle entrate.".to_owned()),
        ("legal-basis", "Compito di interesse pubblico.".to_owned()),
        ("retention", "Dieci anni.".to_owned()),
        ("recipients", "PagoPA S.p.A.".to_owned()),
        ("rights", rights.to_owned()),
    ]
}

fn as_refs<'a>(v: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    v.iter().map(|(k, x)| (*k, x.as_str())).collect()
}

#[test]
fn privacy_notice_keeps_every_version_and_the_portal_shows_the_current_one() {
    let (_tmp, dir, server, mut demo) = demo_logged_in();
    let settings = "/operatore/c_esempio/impostazioni";
    let page = "/operatore/c_esempio/privacy";
    // The settings page has no free-text notice form any more: it links to the template editor.
    let shown = demo.get(settings).body;
    assert!(shown.contains("Nessuna informativa dell'ente"), "{shown}");
    assert!(shown.contains(r#"nella scheda <a href="/operatore/c_esempio/privacy">Privacy</a>."#), "{shown}");
    assert!(!shown.contains("name=\"privacy-notice\""), "{shown}");
    let old = demo.submit(settings, &format!("{settings}/privacy"), &[("privacy-notice", "Testo libero")]);
    assert_eq!(old.status, 404, "the free-text route is gone");
    assert!(!demo.get(page).body.contains("Versione in vigore"), "nothing published");

    // No CSRF token: refused, nothing stored.
    let first = sections("Prima versione dei diritti.");
    assert_eq!(demo.post(page, &as_refs(&first)).status, 403);
    assert_eq!(demo.submit(page, page, &as_refs(&first)).status, 303);
    let second = sections("Seconda versione.\n\nReclamo al Garante.");
    assert_eq!(demo.submit(page, page, &as_refs(&second)).status, 303);
    let editor = demo.get(page).body;
    assert!(editor.contains("Versione in vigore: <strong>2</strong>"), "{editor}");
    assert_eq!(editor.matches("class=\"privacy-version\"").count(), 2, "both versions listed");
    assert!(editor.contains("operator:demo"));
    let journal = demo.get("/operatore/c_esempio/giornale?azione=org.privacy_notice").body;
    assert_eq!(journal.matches("org:c_esempio").count(), 2, "{journal}");

    // Published at 23:30 UTC on the eve of each DST change: shown on the next Italian day.
    let conn = rusqlite::Connection::open(dir.join("mypay.db")).unwrap();
    for (version, at) in [(1, "2026-03-28T23:30:00Z"), (2, "2026-10-25T23:30:00Z")] {
        conn.execute("UPDATE privacy_notice SET created_at = ?1 WHERE version = ?2", rusqlite::params![at, version])
            .unwrap();
    }
    let in_force = "Versione in vigore: <strong>2</strong>, pubblicata il 26/10/2026 00:30 da operator:demo.";
    assert!(demo.get(settings).body.contains(in_force), "the settings page says which version is in force");
    let editor = demo.get(page).body;
    assert!(editor.contains(in_force), "{editor}");
    assert!(editor.contains("<tr class=\"privacy-version\"><td>1</td><td>29/03/2026 00:30</td>"), "{editor}");

    // The citizen sees version 2 only, with its sections.
    let mut citizen = Browser::new(&server.base);
    let body = citizen.get("/enti/c_esempio").body;
    assert!(body.contains("Versione 2 del 26/10/2026"), "{body}");
    let body = citizen.get("/enti/c_esempio/privacy").body;
    assert!(body.contains("Versione 2 del 26/10/2026"), "{body}");
    assert!(body.contains("<p>Seconda versione.</p><p>Reclamo al Garante.</p>"), "{body}");
    assert!(!body.contains("Prima versione"), "the old version is not shown to citizens");
}

#[test]
fn the_live_preview_route_answers_only_the_fragment_of_the_typed_definition() {
    let (_tmp, _dir, _server, mut demo) = demo_logged_in();
    let editor = "/operatore/c_esempio/tipi/nuovo";
    let route = "/operatore/c_esempio/anteprima-modulo";
    let page = demo.get(editor).body;
    assert!(page.contains(r#"id="anteprima-modulo""#) && page.contains(&format!(r#"data-url="{route}""#)), "{page}");
    assert!(page.contains(r#"<script src="/static/mypay-backoffice.js?v="#), "the script is a file: {page}");

    let good = r#"{"fields": [{"name": "targa", "type": "text", "label": "Targa del veicolo", "required": true}], "causale": "Passo carrabile {targa}"}"#;
    assert_eq!(demo.post(route, &[("form_definition", good)]).status, 403, "no CSRF token");
    let shown = demo.submit(editor, route, &[("form_definition", good), ("fixed_amount", "")]);
    assert_eq!(shown.status, 200);
    assert!(shown.body.starts_with("<div") && !shown.body.contains("<html"), "only the fragment: {}", shown.body);
    assert!(shown.body.contains("Anteprima del modulo del cittadino"), "{}", shown.body);
    assert!(
        shown.body.contains(r#"<label for="anteprima-targa">Targa del veicolo *</label>"#)
            && shown.body.contains(r#"<input type="text" class="form-control" id="anteprima-targa" disabled>"#),
        "{}",
        shown.body
    );
    let fixed = demo.submit(editor, route, &[("form_definition", good), ("fixed_amount", "16.00")]);
    assert!(fixed.body.contains("Importo fisso: <strong>€ 16,00</strong>"), "{}", fixed.body);

    let bad = demo.submit(editor, route, &[("form_definition", r#"{"fields": [{"name": "Targa!", "type": "text"}]}"#)]);
    assert_eq!(bad.status, 422);
    assert_eq!(
        bad.body,
        r#"<div class="alert alert-danger" role="alert">La definizione del modulo non è valida: controlla il JSON, i nomi e i tipi dei campi.</div>"#
    );
    let empty = demo.submit(editor, route, &[("form_definition", "  ")]);
    assert!(empty.body.contains("Senza definizione il modulo chiede la causale e l'importo."), "{}", empty.body);
    assert!(!demo.get("/operatore/c_esempio/tipi").body.contains("PASSO_CARRABILE"), "a preview saves nothing");
}

#[test]
fn a_refused_debt_type_says_why_under_each_field() {
    let (_tmp, _dir, _server, mut demo) = demo_logged_in();
    let editor = "/operatore/c_esempio/tipi/nuovo";
    demo.get(editor);
    let form = |code: &'static str, taxonomy: &'static str| {
        vec![
            ("code", code),
            ("description", "Passo carrabile"),
            ("taxonomy", taxonomy),
            ("fixed_amount", ""),
            ("print_due_date", "1"),
            ("active", "1"),
            ("form_definition", ""),
            ("azione", "salva"),
        ]
    };
    let bad = demo.submit(editor, editor, &form("PASSO", "NONVALIDA"));
    assert_eq!(bad.status, 422, "{}", bad.body);
    let message = "Indica un codice di tassonomia pagoPA valido, es. 0101002IM.";
    assert!(
        bad.body.contains(&format!(
            r##"<li><a href="#taxonomy">Codice di tassonomia pagoPA (es. 0101002IM)</a>: {message}</li>"##
        )),
        "{}",
        bad.body
    );
    assert!(
        bad.body.contains(r#"id="taxonomy" name="taxonomy" value="NONVALIDA" required aria-describedby="taxonomy-errore" aria-invalid="true">"#),
        "{}",
        bad.body
    );
    assert!(
        bad.body.contains(&format!(r#"<div id="taxonomy-errore" class="invalid-feedback d-block">{message}</div>"#)),
        "{}",
        bad.body
    );
    let taken = demo.submit(editor, editor, &form("TARI", "0101002IM"));
    assert_eq!(taken.status, 422);
    assert!(
        taken.body.contains(r#"<div id="code-errore" class="invalid-feedback d-block">Esiste già un tipo dovuto con questo codice.</div>"#),
        "{}",
        taken.body
    );
}
