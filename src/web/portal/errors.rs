//! The portal's one mapping of errors to pages: handlers return a [`PageError`] and
//! [`error_response`] writes it, in Italian, on the portal's layout (or, for the errors every
//! surface shares, the common error pages).

use maud::html;

use super::super::{Response, ui};
use super::Ctx;
use crate::oidc::OidcError;
use crate::services::ServiceError;
use crate::services::payments::PaymentError;
use crate::services::portal::PortalError;
use crate::services::portal::carts::CodeProblem;
use crate::services::sil::SilError;
use crate::services::upstream::payments::UpstreamError;

/// Why a portal page is not shown.
#[derive(Debug, thiserror::Error)]
pub enum PageError {
    /// A rule of the portal refused the request: the sentence of [`describe`], with its status.
    #[error(transparent)]
    Portal(#[from] PortalError),
    /// A citizen's page asked for without logging in.
    #[error("a citizen must log in first")]
    LoginNeeded,
    #[error("not found")]
    NotFound,
    #[error("forbidden: {0}")]
    Forbidden(&'static str),
    #[error("bad request: {0}")]
    BadRequest(&'static str),
    /// A failure already logged where it happened.
    #[error("internal error")]
    Internal,
    /// The spontaneous payment asked for does not exist or is not offered online.
    #[error("the payment is not offered")]
    NotOffered,
    #[error("OpenID Connect login refused: {0}")]
    Oidc(#[from] OidcError),
    /// A payment started by a SIL that cannot go on.
    #[error("SIL payment refused: {0}")]
    Sil(#[from] SilError),
    /// Upstream mode: a payment the Region cannot take, or a Region that does not answer.
    #[error("payment through the Region refused: {0}")]
    Upstream(#[from] UpstreamError),
}

impl From<ServiceError> for PageError {
    fn from(err: ServiceError) -> PageError {
        PageError::Portal(err.into())
    }
}

/// The page of a portal error.
pub fn error_response(ctx: &mut Ctx<'_>, err: PageError) -> Response {
    match err {
        PageError::Portal(err) => error_page(ctx, &err),
        PageError::LoginNeeded => login_needed(ctx),
        PageError::NotFound => ui::errors::not_found(),
        PageError::Forbidden(message) => ui::errors::forbidden(message),
        PageError::BadRequest(message) => ui::errors::bad_request(message),
        PageError::Internal => ui::errors::internal_error(0),
        PageError::NotOffered => not_offered(ctx),
        PageError::Oidc(err) => oidc_refused(ctx, &err),
        PageError::Sil(err) => sil_refused(ctx, &err),
        PageError::Upstream(UpstreamError::Portal(err)) => error_page(ctx, &err),
        PageError::Upstream(UpstreamError::Service(err)) => error_page(ctx, &PortalError::Service(err)),
        PageError::Upstream(UpstreamError::Sil(err)) => sil_refused(ctx, &err),
        PageError::Upstream(err) => upstream_refused(ctx, &err, None),
    }
}

/// The Italian sentence for a payment the Region cannot take or did not start, and its status.
pub fn describe_upstream(err: &UpstreamError) -> (u16, &'static str) {
    match err {
        UpstreamError::OneNoticeAtATime => (
            409,
            "In questa modalità si paga un avviso alla volta: paga quello che è già nel carrello, poi aggiungi il successivo.",
        ),
        UpstreamError::Mixed => (409, "In questa modalità gli avvisi e i pagamenti spontanei si pagano separatamente."),
        UpstreamError::NotYetMirrored(_) => {
            (409, "Il dovuto è in corso di registrazione presso la Regione: riprova tra qualche minuto.")
        }
        UpstreamError::TooMany => (409, "Si possono pagare al massimo 5 dovuti alla volta."),
        UpstreamError::MultiBeneficiary => (409, "Un dovuto destinato a più enti deve essere pagato da solo."),
        UpstreamError::Empty => (400, "Non c'è nulla da pagare."),
        UpstreamError::Region(failure) if failure.retryable => (
            503,
            "Il servizio della Regione non risponde in questo momento. Nessun pagamento è stato effettuato: riprova tra qualche minuto.",
        ),
        UpstreamError::Region(_) => (
            502,
            "La Regione non ha accettato la richiesta di pagamento. Nessun pagamento è stato effettuato: riprova più tardi o contatta l'ente.",
        ),
        UpstreamError::Portal(_) | UpstreamError::Sil(_) | UpstreamError::Service(_) => {
            (500, "Non è stato possibile avviare il pagamento. Riprova più tardi.")
        }
    }
}

/// The page of a payment the Region cannot take or did not start; `back` is where a SIL's citizen
/// goes back to the municipality.
pub fn upstream_refused(ctx: &mut Ctx<'_>, err: &UpstreamError, back: Option<&str>) -> Response {
    let (status, text) = describe_upstream(err);
    if status >= 500 {
        tracing::error!(error = %err, "payment through the Region");
    } else {
        tracing::info!(error = %err, "payment through the Region refused");
    }
    ctx.page_with(
        status,
        "Pagamento non avviato",
        html! {
            h1 { "Pagamento non avviato" }
            div class="alert alert-danger upstream-refused" role="alert" { (text) }
            p {
                @if let Some(url) = back { a href=(url) { "Torna al sito dell'ente" } }
                @else { a href="/" { "Torna alla pagina iniziale" } " · " a href="/carrello" { "Vai al carrello" } }
            }
        },
        Vec::new(),
    )
}

/// The Italian sentence for a code a citizen typed wrong: each mistake its own, so a wrong check
/// digit is not told as a wrong length.
pub fn code_problem(problem: CodeProblem) -> String {
    let copied = "Controlla di averlo copiato senza errori.";
    match problem {
        CodeProblem::NoticeEmpty => "Inserisci il codice avviso.".to_owned(),
        CodeProblem::NoticeNotDigits => {
            "Il codice avviso è fatto solo di cifre: togli lettere e altri segni (gli spazi sono ammessi).".to_owned()
        }
        CodeProblem::NoticeLength(1) => {
            "Il codice avviso ha 18 cifre: ne hai inserita 1. Puoi indicare anche lo IUV (15 o 17 cifre).".to_owned()
        }
        CodeProblem::NoticeLength(n) => {
            format!("Il codice avviso ha 18 cifre: ne hai inserite {n}. Puoi indicare anche lo IUV (15 o 17 cifre).")
        }
        CodeProblem::NoticeAuxDigit => {
            format!("Il codice avviso non è valido: la prima cifra è sempre 0, 1, 2 o 3. {copied}")
        }
        CodeProblem::NoticeCheckDigits => format!(
            "Il codice avviso non è corretto: le ultime due cifre (cifre di controllo) non corrispondono alle altre. {copied}"
        ),
        CodeProblem::IuvCheckDigits => format!(
            "Lo IUV non è corretto: le ultime due cifre (cifre di controllo) non corrispondono alle altre. {copied}"
        ),
        CodeProblem::IuvNeedsNotice => {
            "Per questo ente lo IUV di 15 cifre non basta: indica il codice avviso di 18 cifre.".to_owned()
        }
        CodeProblem::OrgEmpty => "Inserisci il codice fiscale dell'ente creditore.".to_owned(),
        CodeProblem::OrgNotDigits => {
            "Il codice fiscale dell'ente è fatto solo di cifre: togli lettere e altri segni.".to_owned()
        }
        CodeProblem::OrgLength(1) => "Il codice fiscale dell'ente ha 11 cifre: ne hai inserita 1.".to_owned(),
        CodeProblem::OrgLength(n) => format!("Il codice fiscale dell'ente ha 11 cifre: ne hai inserite {n}."),
        CodeProblem::OrgCheckDigit => format!(
            "Il codice fiscale dell'ente non è corretto: l'ultima cifra (di controllo) non corrisponde alle altre. {copied}"
        ),
    }
}

/// The Italian sentence for a portal error, and its status.
pub fn describe(err: &PortalError) -> (u16, String) {
    let text = |s: &str| s.to_owned();
    match err {
        PortalError::Payment(p) => match p {
            PaymentError::UnknownOrg(_) => {
                (404, text("L'ente indicato non è servito da questo portale. Controlla il codice fiscale dell'ente."))
            }
            PaymentError::UnknownNotice(_) => {
                (404, text("Non abbiamo trovato un avviso con questo codice per l'ente indicato."))
            }
            PaymentError::AlreadyPaid(_) => (409, text("Questo avviso risulta già pagato.")),
            PaymentError::Annulled(_) => {
                (409, text("Questo avviso è stato annullato dall'ente e non può essere pagato."))
            }
            PaymentError::Expired(_) => {
                (409, text("Questo avviso è scaduto e non può più essere pagato. Contatta l'ente."))
            }
            PaymentError::Semantic(_) | PaymentError::Store(_) => {
                (500, text("Non è stato possibile verificare l'avviso. Riprova più tardi."))
            }
        },
        PortalError::BadCode(problem) => (400, code_problem(*problem)),
        PortalError::CartFull => (
            409,
            text(
                "Il carrello contiene già 5 avvisi, il massimo consentito da pagoPA. Paga questi prima di aggiungerne altri.",
            ),
        ),
        PortalError::MultiBeneficiary => (
            409,
            text(
                "Un avviso destinato a più enti deve essere pagato da solo: svuota il carrello o pagalo separatamente.",
            ),
        ),
        PortalError::AlreadyInCart => (409, text("L'avviso è già nel carrello.")),
        PortalError::EmptyCart => (400, text("Il carrello è vuoto.")),
        PortalError::NoticeChanged => (
            409,
            text(
                "L'informativa sul trattamento dei dati personali è stata aggiornata nel frattempo: leggila e conferma di nuovo.",
            ),
        ),
        PortalError::PinRateLimited => (429, text("Hai richiesto troppi codici di verifica. Riprova tra un'ora.")),
        PortalError::PinWrong => (400, text("Il codice di verifica non è corretto.")),
        PortalError::PinExpired => (400, text("Il codice di verifica è scaduto: richiedine uno nuovo.")),
        PortalError::PinUsed => (400, text("Il codice di verifica è già stato usato: richiedine uno nuovo.")),
        PortalError::PinDead => (400, text("Troppi tentativi errati: richiedi un nuovo codice di verifica.")),
        PortalError::Service(s) => match s {
            ServiceError::NotFound(_) => (404, text("L'elemento richiesto non esiste.")),
            ServiceError::Invalid { .. }
            | ServiceError::Rejected(_)
            | ServiceError::Conflict(_)
            | ServiceError::ExportRefused { .. } => (400, text("I dati inseriti non sono validi.")),
            ServiceError::Access(_) => (403, text("Accesso non consentito.")),
            ServiceError::NotAdmitted(refusal) => (403, refusal.message_it()),
            ServiceError::NoteElementUnknown(refusal) => (409, refusal.message_it()),
            ServiceError::Store(_)
            | ServiceError::ExportFile(_)
            | ServiceError::Interrupted
            | ServiceError::Internal(_) => (500, text("Si è verificato un errore del servizio. Riprova più tardi.")),
        },
    }
}

/// The page of a refused portal rule.
fn error_page(ctx: &mut Ctx<'_>, err: &PortalError) -> Response {
    let (status, text) = describe(err);
    if status >= 500 {
        tracing::error!(error = %err, "portal error");
    } else {
        tracing::info!(error = %err, "portal request refused");
    }
    ctx.page_with(
        status,
        "Operazione non riuscita",
        html! {
            h1 { "Operazione non riuscita" }
            div class="alert alert-danger" role="alert" { (text) }
            p { a href="/" { "Torna alla pagina iniziale" } " · " a href="/carrello" { "Vai al carrello" } }
        },
        Vec::new(),
    )
}

/// The spontaneous payment asked for is not offered (404).
fn not_offered(ctx: &mut Ctx<'_>) -> Response {
    ctx.page_with(
        404,
        "Pagamento non disponibile",
        html! {
            h1 { "Pagamento non disponibile" }
            div class="alert alert-danger" role="alert" { "Questo tipo di pagamento non esiste o non è più disponibile online. Nessun dato è stato registrato." }
            p { a href="/" { "Scegli un altro ente o servizio" } }
        },
        Vec::new(),
    )
}

/// The page of a refused OpenID Connect login, in Italian; the reason is logged, not shown.
fn oidc_refused(ctx: &mut Ctx<'_>, err: &crate::oidc::OidcError) -> Response {
    use crate::oidc::OidcError as E;
    tracing::warn!(target: "security", error = %err, "OpenID Connect login refused");
    let (status, text) = match err {
        E::Discovery(_) | E::Jwks(_) | E::Token(_) | E::Random(_) => {
            (502, "Il servizio di identità digitale non risponde. Riprova più tardi.")
        }
        E::Provider(_) => {
            (403, "L'accesso è stato annullato o non è stato autorizzato dal gestore dell'identità digitale.")
        }
        E::StateMismatch => (400, "La richiesta di accesso è scaduta o non è valida: riprova ad accedere."),
        E::NoFiscalCode(_) => {
            (403, "Accesso non riuscito: il gestore dell'identità digitale non ha comunicato un codice fiscale valido.")
        }
        E::Malformed(_)
        | E::UnsupportedAlgorithm(_)
        | E::UnknownKey
        | E::BadSignature
        | E::WrongIssuer(_)
        | E::WrongAudience
        | E::Expired
        | E::WrongNonce => (
            403,
            "Accesso non riuscito: la risposta del gestore dell'identità digitale non è valida. Riprova ad accedere.",
        ),
    };
    ctx.page_with(
        status,
        "Accesso non riuscito",
        html! {
            h1 { "Accesso non riuscito" }
            div class="alert alert-danger oidc-refused" role="alert" { (text) }
            p { a href="/accedi" { "Torna alla pagina di accesso" } " · " a href="/" { "Torna alla pagina iniziale" } }
        },
        Vec::new(),
    )
}

/// The Italian page of a refused SIL session.
fn sil_refused(ctx: &mut Ctx<'_>, err: &SilError) -> Response {
    let (status, text) = match err {
        SilError::Fault { code: "PAA_PAGAMENTO_SCADUTO", .. } => {
            (410, "Il collegamento per il pagamento è scaduto. Torna al sito dell'ente e riprova.")
        }
        SilError::Fault { code: "PAA_ID_SESSION_NON_VALIDO", .. } => {
            (404, "Il collegamento per il pagamento non è valido.")
        }
        SilError::Fault { code: "PAA_PAGAMENTO_IN_CORSO", .. } => {
            (409, "Il pagamento di questa richiesta è già stato avviato: non è possibile avviarlo di nuovo.")
        }
        SilError::Fault { code: "PAA_IUD_DUPLICATO", .. } => {
            (409, "Uno dei dovuti di questa richiesta è già stato registrato: non è possibile pagarlo di nuovo.")
        }
        other => {
            tracing::error!(error = %other, "SIL landing");
            (500, "Non è stato possibile avviare il pagamento. Riprova più tardi.")
        }
    };
    let body = html! { h1 { "Pagamento non disponibile" } div class="alert alert-warning" role="alert" { (text) } };
    ctx.page_with(status, "Pagamento non disponibile", body, Vec::new())
}

/// The login page, with a word why, for a citizen's page asked for without logging in.
fn login_needed(ctx: &mut Ctx<'_>) -> Response {
    // Back to the page asked for once logged in (a GET's path only; a form is not replayed).
    if ctx.request.method == "GET" && ctx.request.path.starts_with('/') && !ctx.request.path.starts_with("//") {
        ctx.session.data.after_login = Some(ctx.request.path.to_owned());
    }
    ctx.session.flash("info", "Accedi per vedere la tua area personale.");
    ctx.redirect("/accedi")
}
