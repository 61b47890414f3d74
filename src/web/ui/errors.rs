//! Error pages, in Italian, on the common layout.

use maud::html;

use super::super::Response;
use super::layout;

/// 404.
pub fn not_found() -> Response {
    Response::html(
        404,
        layout::page(
            "Pagina non trovata",
            html! {
                h1 { "Pagina non trovata" }
                p { "La pagina richiesta non esiste o non è più disponibile." }
                p { a href="/" { "Torna alla pagina iniziale" } }
            },
        ),
    )
}

/// 410, for a file the retention purge deleted: the page says when and why, so that an operator
/// does not take it for a fault.
pub fn file_gone(purged_at: &str) -> Response {
    Response::html(
        410,
        layout::page(
            "File non più disponibile",
            html! {
                h1 { "File non più disponibile" }
                p {
                    "Il file è stato eliminato il " (crate::web::ui::format::date_it(purged_at))
                    " perché è trascorso il periodo di conservazione dei dati stabilito dall'ente "
                    "(impostazione " code { "[retention] file_days" } "). I dati registrati restano consultabili; "
                    "per una nuova copia si può richiedere una nuova esportazione."
                }
                p { a href="/operatore" { "Torna al back office" } }
            },
        ),
    )
}

/// 413, when a body is larger than its route accepts.
pub fn payload_too_large(limit: u64) -> Response {
    Response::html(
        413,
        layout::page(
            "Richiesta troppo grande",
            html! {
                h1 { "Richiesta troppo grande" }
                p { "I dati inviati superano il limite di " (limit / 1024) " KiB." }
            },
        ),
    )
}

/// 500, with the request id the log line carries, so that support can find it.
pub fn internal_error(request_id: u64) -> Response {
    Response::html(
        500,
        layout::page(
            "Errore del servizio",
            html! {
                h1 { "Si è verificato un errore" }
                p { "Il servizio non è riuscito a completare la richiesta. Riprova tra qualche minuto." }
                p { "Codice della richiesta: " code { (request_id) } }
            },
        ),
    )
}

/// 400, for a form or query that cannot be read at all.
pub fn bad_request(message: &str) -> Response {
    Response::html(
        400,
        layout::page(
            "Richiesta non valida",
            html! {
                h1 { "Richiesta non valida" }
                p { (message) }
                p { a href="/" { "Torna alla pagina iniziale" } }
            },
        ),
    )
}

/// 403 for a form without a valid CSRF token: usually an expired session or an old tab.
pub fn forbidden_form() -> Response {
    Response::html(
        403,
        layout::page(
            "Modulo non valido",
            html! {
                h1 { "Modulo scaduto o non valido" }
                p { "Il modulo inviato non è più valido, ad esempio perché la sessione è scaduta. Nessun dato è stato registrato." }
                p { "Ricarica la pagina e riprova." }
                p { a href="/" { "Torna alla pagina iniziale" } }
            },
        ),
    )
}

/// 403 for a page the visitor may not see.
pub fn forbidden(message: &str) -> Response {
    Response::html(
        403,
        layout::page(
            "Accesso non consentito",
            html! {
                h1 { "Accesso non consentito" }
                p { (message) }
                p { a href="/" { "Torna alla pagina iniziale" } }
            },
        ),
    )
}
