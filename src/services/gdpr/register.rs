//! The register of processing activities (GDPR art. 30) of one org, generated from what is
//! configured: the org (controller), its published notice (DPO), the intermediary (processor,
//! `station.broker_id`), how citizens log in, whether mails are sent, the retention settings and
//! the security measures the appliance applies. Nothing is stored: the register is read again
//! from the configuration each time, so it never drifts from what the installation does.

use crate::config::{CitizenAuthMode, Config};
use crate::services::ServiceError;
use crate::services::portal::privacy_notices;
use crate::store::Db;
use crate::store::orgs::{self, OrgRecord};

/// One processing activity (a row of the register).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Activity {
    pub name: String,
    pub purposes: String,
    pub legal_basis: String,
    pub subjects: String,
    pub data: String,
    pub recipients: String,
    pub retention: String,
}

/// The register of one org.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Register {
    pub org: OrgRecord,
    pub controller: String,
    pub dpo: String,
    pub processor: String,
    /// The version label of the privacy notice in force.
    pub notice_version: String,
    pub transfers: String,
    pub activities: Vec<Activity>,
    pub security: Vec<String>,
}

/// The register of the org `ipa`.
pub fn register(db: &Db, config: &Config, ipa: &str) -> Result<Register, ServiceError> {
    let org =
        db.read(|c| orgs::find_org_by_ipa(c, ipa))?.ok_or_else(|| ServiceError::NotFound(format!("org {ipa}")))?;
    let notice = privacy_notices::current(db, org.id)?;
    let generic = privacy_notices::template(&org, &config.retention, &config.privacy_dpo_contact);
    let sections = notice.as_ref().map(|n| &n.sections).filter(|s| s.controller.is_some()).unwrap_or(&generic);
    let r = &config.retention;
    let broker = &config.station.broker_id;
    let processor = if broker.is_empty() {
        "L'intermediario tecnologico che gestisce questa installazione (art. 28 GDPR).".to_owned()
    } else {
        format!("L'intermediario tecnologico pagoPA con codice fiscale {broker} (responsabile, art. 28 GDPR).")
    };
    let login = match config.citizen_auth.mode {
        CitizenAuthMode::None => "nessun accesso con identità digitale: pagamenti anonimi",
        CitizenAuthMode::Headers => "accesso SPID/CIE tramite un proxy di autenticazione",
        CitizenAuthMode::Oidc(_) => "accesso SPID/CIE tramite un provider OpenID Connect",
    };
    let mail = if config.mail.is_some() {
        "inviate tramite il server SMTP configurato"
    } else {
        "non inviate (restano in coda)"
    };
    let public_task = "Obbligo legale e compito di interesse pubblico (art. 6, par. 1, lett. c ed e, GDPR; art. 5 \
                       D.Lgs. 82/2005)"
        .to_owned();
    let activities = vec![
        Activity {
            name: "Gestione delle posizioni debitorie".to_owned(),
            purposes: "Predisporre i dovuti e gli avvisi pagoPA, riceverli dai sistemi dell'ente (flussi, SIL, API)."
                .to_owned(),
            legal_basis: public_task.clone(),
            subjects: "Debitori (persone fisiche e giuridiche)".to_owned(),
            data: "Codice fiscale, nome, indirizzo, e-mail del debitore; importo, causale, scadenza".to_owned(),
            recipients: "PagoPA S.p.A.; i sistemi dell'ente".to_owned(),
            retention: format!(
                "Dovuti aperti: {} giorni dall'ultima modifica e dalla scadenza; annullati: {} giorni; scaduti: {} \
                 giorni; poi resi anonimi",
                r.open_debt_days, r.annulled_debt_days, r.expired_debt_days
            ),
        },
        Activity {
            name: "Incasso e rendicontazione dei pagamenti".to_owned(),
            purposes: "Ricevere esiti e ricevute pagoPA, riconciliare gli incassi, esportare le ricevute.".to_owned(),
            legal_basis: public_task.clone(),
            subjects: "Debitori e pagatori".to_owned(),
            data: "Codice fiscale, nome ed e-mail di debitore e pagatore; importo, data, PSP, ricevuta".to_owned(),
            recipients: "PagoPA S.p.A.; prestatori di servizi di pagamento; tesoriere dell'ente".to_owned(),
            retention: format!(
                "{} anni dal pagamento (documenti contabili, art. 2220 c.c.); poi resi anonimi",
                r.accounting_years
            ),
        },
        Activity {
            name: "Portale dei pagamenti".to_owned(),
            purposes: format!(
                "Pagamenti spontanei e di avvisi, area personale ({login}), ricevute per e-mail ({mail})."
            ),
            legal_basis: public_task.clone(),
            subjects: "Cittadini che pagano o consultano la propria posizione".to_owned(),
            data: "Codice fiscale, nome, e-mail verificata con codice, sessione del portale, consenso all'informativa"
                .to_owned(),
            recipients: "PagoPA S.p.A. (Checkout); server di posta".to_owned(),
            retention: format!(
                "Codici di verifica ed e-mail: {} giorni; sessioni: {} giorni dall'ultimo uso; \
                 e-mail e codice fiscale dei carrelli: {} giorni",
                r.mail_days, r.session_days, r.cart_days
            ),
        },
        Activity {
            name: "Registro delle operazioni".to_owned(),
            purposes: "Sicurezza e responsabilizzazione (art. 5, par. 2, GDPR): chi ha fatto cosa e quando.".to_owned(),
            legal_basis: "Obbligo legale (art. 32 GDPR)".to_owned(),
            subjects: "Operatori; debitori e pagatori citati nei messaggi".to_owned(),
            data: "Utente, data, operazione, esito; contenuto dei messaggi scambiati".to_owned(),
            recipients: "Nessuno".to_owned(),
            retention: format!(
                "Le voci del registro restano; i contenuti dei messaggi {} giorni. File caricati e prodotti: {} giorni",
                r.journal_payload_days, r.file_days
            ),
        },
    ];
    let security = vec![
        "Connessioni cifrate (TLS 1.2 e 1.3); il nodo pagoPA è autenticato (mTLS o indirizzi).".to_owned(),
        "Password degli operatori con argon2id; accesso per ente e per tipo di dovuto.".to_owned(),
        "Segreti cifrati con una chiave separata dal database (AEAD); database e copie con permessi 0600.".to_owned(),
        "Registro delle operazioni in sola aggiunta: nessuna voce può essere modificata o cancellata.".to_owned(),
        "Cancellazione o anonimizzazione automatica giornaliera dei dati scaduti.".to_owned(),
    ];
    Ok(Register {
        controller: sections.controller.clone().unwrap_or_default(),
        dpo: sections.dpo_contact.clone().unwrap_or_default(),
        processor,
        notice_version: privacy_notices::version_label(notice.as_ref()),
        transfers: "Nessun trasferimento verso paesi terzi o organizzazioni internazionali.".to_owned(),
        activities,
        security,
        org,
    })
}
