//! The home page: the orgs that accept payments.

use maud::{Markup, html};

use super::super::ui::{errors, layout};
use super::super::{AppState, Response};
use crate::store::orgs;

/// What the home page shows of one org.
pub struct OrgCard {
    pub name: String,
    pub fiscal_code: String,
    pub city: Option<String>,
    pub info_text: Option<String>,
}

/// `GET /`.
pub fn page(state: &AppState) -> Response {
    match state.db.read(orgs::list_orgs_in_production) {
        Ok(list) => {
            let cards: Vec<OrgCard> = list
                .into_iter()
                .map(|org| OrgCard {
                    name: org.name,
                    fiscal_code: org.fiscal_code,
                    city: org.city,
                    info_text: org.info_text,
                })
                .collect();
            Response::html(200, layout::page("Enti", view(&cards)))
        }
        Err(err) => {
            tracing::error!(error = %err, "home: cannot list orgs");
            errors::internal_error(0)
        }
    }
}

/// The page body.
pub fn view(cards: &[OrgCard]) -> Markup {
    html! {
        h1 { "Paga con pagoPA" }
        p class="lead" { "Scegli l'ente a cui devi effettuare un pagamento." }
        @if cards.is_empty() {
            div class="alert alert-info" role="alert" { "Nessun ente accetta pagamenti in questo momento." }
        } @else {
            ul class="list-unstyled row" aria-label="Enti che accettano pagamenti" {
                @for card in cards {
                    li class="col-12 col-md-6 col-lg-4 mb-4" {
                        div class="card card-bg shadow-sm h-100" {
                            div class="card-body" {
                                h2 class="card-title h5" { (card.name) }
                                p class="card-text" {
                                    "Codice fiscale " (card.fiscal_code)
                                    @if let Some(city) = &card.city { br; (city) }
                                }
                                @if let Some(info) = &card.info_text { p class="card-text" { (info) } }
                            }
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn org_names_are_escaped() {
        let card = OrgCard {
            name: "Comune <A & B>".to_owned(),
            fiscal_code: "01234567897".to_owned(),
            city: None,
            info_text: None,
        };
        let html = view(&[card]).into_string();
        assert!(html.contains("<h2 class=\"card-title h5\">Comune &lt;A &amp; B&gt;</h2>"), "{html}");
    }
}
