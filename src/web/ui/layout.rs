//! The one HTML shell of every page: Bootstrap Italia's header and footer, Italian, a skip link,
//! assets from `/static/`. Pages pass their title and main content.

use maud::{DOCTYPE, Markup, html};

use super::super::assets;

/// A full page around `main`.
pub fn page(title: &str, main: Markup) -> Markup {
    let css = assets::version("bootstrap-italia/css/bootstrap-italia.min.css");
    let own = assets::version("mypay.css");
    let js = assets::version("bootstrap-italia/js/bootstrap-italia.bundle.min.js");
    html! {
        (DOCTYPE)
        html lang="it" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " - Pagamenti pagoPA" }
                link rel="stylesheet" href={ "/static/bootstrap-italia/css/fonts.css?v=" (css) };
                link rel="stylesheet" href={ "/static/bootstrap-italia/css/bootstrap-italia.min.css?v=" (css) };
                link rel="stylesheet" href={ "/static/mypay.css?v=" (own) };
            }
            body {
                a class="skiplink" href="#contenuto" { "Vai al contenuto principale" }
                header class="it-header-wrapper" {
                    div class="it-header-slim-wrapper" {
                        div class="container" {
                            div class="row" { div class="col-12" {
                                div class="it-header-slim-wrapper-content" {
                                    span class="d-lg-block navbar-brand" { "Pagamenti pagoPA" }
                                }
                            } }
                        }
                    }
                    div class="it-nav-wrapper" {
                        div class="it-header-center-wrapper" {
                            div class="container" {
                                div class="row" { div class="col-12" {
                                    div class="it-header-center-content-wrapper" {
                                        div class="it-brand-wrapper" {
                                            a href="/" {
                                                div class="it-brand-text" {
                                                    div class="it-brand-title" { "Portale dei pagamenti" }
                                                    div class="it-brand-tagline d-none d-md-block" { "Paga i servizi e i tributi degli enti con pagoPA" }
                                                }
                                            }
                                        }
                                    }
                                } }
                            }
                        }
                    }
                }
                main id="contenuto" class="container my-5" {
                    (main)
                }
                footer class="it-footer" {
                    div class="it-footer-small-prints clearfix" {
                        div class="container" {
                            h2 class="visually-hidden" { "Sezione link utili" }
                            ul class="it-footer-small-prints-list list-inline mb-0 d-flex flex-column flex-md-row" {
                                li class="list-inline-item" { a href="/" { "Home" } }
                                li class="list-inline-item" { "Servizio erogato tramite la piattaforma pagoPA" }
                            }
                        }
                    }
                }
                script src={ "/static/bootstrap-italia/js/bootstrap-italia.bundle.min.js?v=" (js) } {}
            }
        }
    }
}
