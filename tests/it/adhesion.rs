//! Adhesion modes over the real binary: `mypay org set --mode` and `org show --json`, and the
//! refusal each surface gives a channel the mode does not include — a SIL fault bean
//! `PAA_FUNZIONALITA_NON_ATTIVA` (never `PAA_ENTE_NON_VALIDO`), a REST 403 with the same code, the
//! CLI's English message with exit 2 — and the channel open again when the mode allows it.

use std::time::Duration;

use serde_json::Value;

use crate::sil::{PASSWORD, b64, call, demo_server, dovuti, fault_code, invia_dovuti, single, text_of};
use crate::support::{Server, run, stderr, stdout};

fn org_json(dir: &std::path::Path, args: &[&str]) -> Value {
    let out = run(dir, args, None);
    assert!(out.status.success(), "{args:?}: {}", stderr(&out));
    serde_json::from_str(&stdout(&out)).unwrap()
}

fn sil_fault(server: &Server) -> Option<(String, String)> {
    let doc = dovuti(&single("ADH-1", "10.00"), None);
    let answer = call(server, "paaSILInviaDovuti", &invia_dovuti("c_esempio", PASSWORD, &b64(&doc), ""));
    fault_code(&answer).map(|code| (code, text_of(&answer, "description").unwrap_or_default().replace("&apos;", "'")))
}

fn rest_status(server: &Server, token: &str) -> (u16, Value) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(20)))
        .build()
        .into();
    let mut response = agent
        .get(&server.url("/api/v1/orgs/c_esempio/debts/NESSUNO"))
        .header("Authorization", &format!("Bearer {token}"))
        .call()
        .unwrap();
    let status = response.status().as_u16();
    let body = response.body_mut().read_to_string().unwrap();
    (status, serde_json::from_str(&body).unwrap_or(Value::Null))
}

#[test]
fn each_surface_refuses_a_channel_the_mode_does_not_include() {
    let (_tmp, dir, server) = demo_server();
    let shown = org_json(&dir, &["org", "show", "c_esempio", "--json"]);
    assert_eq!(shown["adhesion"]["mode"], "ente", "the demo org uses every channel: {shown}");
    let token = {
        let out = run(&dir, &["api-token", "create", "--org", "c_esempio", "--label", "gestionale", "--json"], None);
        let v: Value = serde_json::from_str(&stdout(&out)).unwrap();
        v["token"].as_str().unwrap().to_owned()
    };
    assert_eq!(sil_fault(&server), None);
    assert_eq!(rest_status(&server, &token).0, 404, "an unknown debt, past the mode check");

    let set = org_json(
        &dir,
        &[
            "org",
            "set",
            "c_esempio",
            "--mode",
            "flussi",
            "--act-type",
            "delibera",
            "--act-number",
            "12/2026",
            "--act-date",
            "2026-11-30",
            "--contacts",
            "Ufficio tributi, tributi@comune.esempio.it",
            "--json",
        ],
    );
    let adhesion = &set["adhesion"];
    assert_eq!(
        (
            &adhesion["mode"],
            &adhesion["act_type"],
            &adhesion["act_number"],
            &adhesion["act_date"],
            &adhesion["changed_by"]
        ),
        (
            &Value::from("flussi"),
            &Value::from("delibera"),
            &Value::from("12/2026"),
            &Value::from("2026-11-30"),
            &Value::from("cli")
        ),
        "{set}"
    );
    let history = adhesion["history"].as_array().unwrap();
    assert_eq!(history.len(), 2, "{set}");
    assert_eq!((history[0]["mode"].as_str(), history[1]["mode"].as_str()), (Some("flussi"), Some("ente")));

    let (code, description) = sil_fault(&server).expect("a fault");
    assert_eq!(code, "PAA_FUNZIONALITA_NON_ATTIVA");
    assert_eq!(
        description,
        "L'ente c_esempio ha aderito al servizio in modalità per flussi (flussi), che non comprende i servizi web \
         SIL: serve l'adesione in modalità «ente»."
    );
    let (status, body) = rest_status(&server, &token);
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["error"]["code"], "PAA_FUNZIONALITA_NON_ATTIVA", "{body}");
    assert!(body["error"]["messaggio"].as_str().unwrap().contains("non comprende l'API REST"), "{body}");

    // Base: no flows. The CLI refuses in English, exit 2, storing nothing.
    org_json(&dir, &["org", "set", "c_esempio", "--mode", "base", "--json"]);
    let flow = dir.join("c_esempio-F1-1_4.zip");
    std::fs::write(&flow, b"PK\x05\x06").unwrap();
    let out = run(&dir, &["import", "--org", "c_esempio", flow.to_str().unwrap()], None);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(
            "org c_esempio joined in mode base, which does not include debt-flow uploads: its adhesion mode must be flussi or above"
        ),
        "{}",
        stderr(&out)
    );
    let out = run(&dir, &["org", "set", "c_esempio", "--mode", "full"], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("unknown adhesion mode \"full\": expected base, flussi or ente"), "{}", stderr(&out));

    org_json(&dir, &["org", "set", "c_esempio", "--mode", "ente", "--json"]);
    assert_eq!(sil_fault(&server), None, "open again");
    assert_eq!(rest_status(&server, &token).0, 404);
    let shown = org_json(&dir, &["org", "show", "c_esempio", "--json"]);
    assert_eq!(shown["adhesion"]["act_number"], "12/2026", "the act stays with the mode's changes: {shown}");
    assert_eq!(shown["adhesion"]["history"].as_array().unwrap().len(), 4);

    // `org list` shows each org's mode, in JSON and in text.
    org_json(&dir, &["org", "set", "c_esempio", "--mode", "flussi", "--json"]);
    let list = org_json(&dir, &["org", "list", "--json"]);
    let esempio = list.as_array().unwrap().iter().find(|o| o["ipa_code"] == "c_esempio").expect("listed");
    assert_eq!(esempio["mode"], "flussi", "{list}");
    let out = run(&dir, &["org", "list"], None);
    let line = stdout(&out).lines().find(|l| l.starts_with("c_esempio ")).map(str::to_owned).unwrap_or_default();
    assert_eq!(line.split_whitespace().nth(3), Some("flussi"), "{line}");
}

/// The org admin sees the adhesion page without its form and may not change it; in mode `base` the
/// back office's flow upload, single debt and web-service forms give way to a notice saying why,
/// and an upload sent anyway is refused with the Italian sentence.
#[test]
fn org_admins_see_their_adhesion_and_the_pages_refuse_in_italian() {
    use crate::backoffice::{demo_logged_in, flow_zip, row};
    use crate::portal::csrf;
    let (_tmp, dir, _server, mut demo) = demo_logged_in();
    let page = demo.get("/operatore/c_esempio/adesione");
    assert_eq!(page.status, 200);
    let body = page.body.replace("&#39;", "'");
    assert!(body.contains("Modalità iniziato presso l'ente (servizi web)"), "{body}");
    assert!(body.contains("Avvio dell'ente"), "{body}");
    assert!(!body.contains("Salva l'adesione"), "no form for an org admin: {body}");
    let refused = demo.submit("/operatore/c_esempio/adesione", "/operatore/c_esempio/adesione", &[("mode", "base")]);
    assert_eq!(refused.status, 403);
    let shown: Value =
        serde_json::from_str(&stdout(&run(&dir, &["org", "show", "c_esempio", "--json"], None))).unwrap();
    assert_eq!(shown["adhesion"]["mode"], "ente", "unchanged");

    assert!(run(&dir, &["org", "set", "c_esempio", "--mode", "base"], None).status.success());
    // The pages of channels the mode lacks explain it in place of a form that would be refused.
    let why = "La modalità è quella dell'atto con cui l'ente ha aderito al servizio: per cambiarla l'ente adotta \
               un nuovo atto e l'amministratore dell'applicazione (la Regione) aggiorna l'adesione. \
               <a href=\"/operatore/c_esempio/adesione\">Vedi l'adesione dell'ente</a>.";
    let form = demo.get("/operatore/c_esempio/flussi").body.replace("&#39;", "'");
    assert!(
        form.contains(
            "<div class=\"alert alert-warning\" role=\"status\"><p>L'ente c_esempio ha aderito al servizio in \
             modalità base (base), che non comprende il caricamento dei flussi dei dovuti: serve l'adesione in \
             modalità «flussi».</p>"
        ) && form.contains(why),
        "{form}"
    );
    assert!(!form.contains("Carica il flusso") && !form.contains("name=\"file\""), "{form}");
    let new_debt = demo.get("/operatore/c_esempio/dovuti/nuovo").body.replace("&#39;", "'");
    assert!(new_debt.contains("non comprende la gestione dei singoli dovuti") && new_debt.contains(why), "{new_debt}");
    assert!(!new_debt.contains("Inserisci il dovuto"), "{new_debt}");
    let settings = demo.get("/operatore/c_esempio/impostazioni").body.replace("&#39;", "'");
    assert!(settings.contains("non comprende i servizi web SIL"), "{settings}");
    assert!(settings.contains("non comprende l'inoltro degli esiti di pagamento"), "{settings}");
    assert!(!settings.contains("Genera una nuova password") && !settings.contains("Salva l'inoltro"), "{settings}");
    // A form sent anyway (an old tab) is still refused by the service.
    let token = csrf(&demo.get("/operatore/c_esempio/esportazioni").body);
    let zip = flow_zip("c_esempio-BASE1-1_4", &[row("BASE-1", "10.00")]);
    let page = demo.post_multipart(
        &format!("/operatore/c_esempio/flussi?csrf={token}"),
        &[],
        ("file", "c_esempio-BASE1-1_4.zip", &zip),
    );
    assert_eq!(page.status, 303);
    let list = demo.get("/operatore/c_esempio/flussi").body.replace("&#39;", "'");
    assert!(
        list.contains(
            "Flusso non accettato: L'ente c_esempio ha aderito al servizio in modalità base (base), che non comprende \
             il caricamento dei flussi dei dovuti: serve l'adesione in modalità «flussi»."
        ),
        "{list}"
    );
    assert!(!list.contains("BASE1"), "nothing stored");
}
