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
