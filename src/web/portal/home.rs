//! The home page: the orgs that accept payments, each linking to its page.

use maud::{Markup, html};

use super::super::Response;
use super::{Ctx, PageError};
use crate::services::portal::catalog;

/// What the home page shows of one org.
pub struct OrgCard {
    pub ipa_code: String,
    pub name: String,
    pub fiscal_code: String,
    pub city: Option<String>,
    pub info_text: Option<String>,
}

/// `GET /`.
pub fn page(ctx: &mut Ctx<'_>) -> Result<Response, PageError> {
    match catalog::orgs_in_production(&ctx.state.db) {
        Ok(list) => {
            let cards: Vec<OrgCard> = list
                .into_iter()
                .map(|org| OrgCard {
                    ipa_code: org.ipa_code,
                    name: org.name,
                    fiscal_code: org.fiscal_code,
                    city: org.city,
                    info_text: org.info_text,
                })
                .collect();
            Ok(ctx.page("Enti", view(&cards)))
        }
        Err(err) => {
            tracing::error!(error = %err, "home: cannot list orgs");
            Err(PageError::Internal)
        }
    }
}

/// The page body.
pub fn view(cards: &[OrgCard]) -> Markup {
    html! {
        h1 { "Paga con pagoPA" }
        p class="lead" { "Scegli l'ente a cui devi effettuare un pagamento, oppure "
            a href="/avviso" { "paga un avviso" } " che hai ricevuto." }
        @if cards.is_empty() {
            div class="alert alert-info" role="alert" { "Nessun ente accetta pagamenti in questo momento." }
        } @else {
            ul class="list-unstyled row" aria-label="Enti che accettano pagamenti" {
                @for card in cards {
                    li class="col-12 col-md-6 col-lg-4 mb-4" {
                        div class="card card-bg shadow-sm h-100" {
                            div class="card-body" {
                                h2 class="card-title h5" { a href={ "/enti/" (card.ipa_code) } { (card.name) } }
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
            ipa_code: "c_x".to_owned(),
            name: "Comune <A & B>".to_owned(),
            fiscal_code: "01234567897".to_owned(),
            city: None,
            info_text: None,
        };
        let html = view(&[card]).into_string();
        assert!(html.contains("<a href=\"/enti/c_x\">Comune &lt;A &amp; B&gt;</a>"), "{html}");
    }
}
