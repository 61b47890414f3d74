//! The one HTML shell of every page: Bootstrap Italia's header and footer, Italian, a skip link,
//! assets from `/static/`. Pages pass their title and main content. No page needs Bootstrap
//! Italia's JavaScript (labels are rendered `active`, the navigation never collapses): only the
//! page's own scripts load, deferred; the stylesheet is the purged one (tests/it/assets.rs) and
//! the fonts of the first screen are preloaded.

use maud::{DOCTYPE, Markup, html};

use super::super::assets;

/// What the portal adds around a page: messages, the citizen, the cart, page scripts.
#[derive(Debug, Clone, Default)]
pub struct Chrome {
    /// (kind, text): kind is a Bootstrap alert colour (`success`, `danger`, `info`, `warning`).
    pub flash: Vec<(String, String)>,
    /// The logged-in citizen's name.
    pub citizen: Option<String>,
    pub cart_count: usize,
    /// The session's CSRF token, for the logout form.
    pub csrf: Option<String>,
    /// Extra scripts under `/static/` (no inline scripts: the CSP allows only 'self').
    pub scripts: Vec<&'static str>,
    /// Show the portal's navigation.
    pub nav: bool,
}

/// Bootstrap Italia's rules that the templates use, with the subset fonts' `@font-face`.
const STYLESHEET: &str = "bootstrap-italia/css/bootstrap-italia.used.css";
/// The fonts every page's first screen draws: body text (400), the header's title and the labels
/// (600), headings (700). Preloaded, they arrive with the stylesheet instead of after it, so the
/// text is not drawn twice and does not move (Lighthouse's layout shift).
const FIRST_FONTS: [&str; 3] = [
    "bootstrap-italia/fonts/Titillium_Web/titillium-web-v10-it-regular.woff2",
    "bootstrap-italia/fonts/Titillium_Web/titillium-web-v10-it-600.woff2",
    "bootstrap-italia/fonts/Titillium_Web/titillium-web-v10-it-700.woff2",
];

/// A full page around `main`.
pub fn page(title: &str, main: Markup) -> Markup {
    shell(title, &Chrome::default(), main)
}

/// A full page around `main`, with the portal's chrome.
pub fn shell(title: &str, chrome: &Chrome, main: Markup) -> Markup {
    let css = assets::version(STYLESHEET);
    let own = assets::version("mypay.css");
    html! {
        (DOCTYPE)
        html lang="it" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " - Pagamenti pagoPA" }
                // The same URLs as the stylesheet's @font-face, so the preloaded files are the ones used.
                @for font in FIRST_FONTS {
                    link rel="preload" href={ "/static/" (font) "?v=" (assets::version(font)) } as="font" type="font/woff2" crossorigin="anonymous";
                }
                link rel="stylesheet" href={ "/static/" (STYLESHEET) "?v=" (css) };
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
                        @if chrome.nav {
                            div class="it-header-navbar-wrapper" {
                                div class="container" {
                                    nav class="navbar navbar-expand-lg has-megamenu" aria-label="Navigazione principale" {
                                        ul class="navbar-nav flex-row flex-wrap gap-3" {
                                            li class="nav-item" { a class="nav-link" href="/" { span { "Enti" } } }
                                            li class="nav-item" { a class="nav-link" href="/avviso" { span { "Paga un avviso" } } }
                                            li class="nav-item" {
                                                a class="nav-link" href="/carrello" {
                                                    span { "Carrello" }
                                                    @if chrome.cart_count > 0 {
                                                        " " span class="badge bg-primary" { (chrome.cart_count) span class="visually-hidden" { " avvisi" } }
                                                    }
                                                }
                                            }
                                            @if let Some(name) = &chrome.citizen {
                                                li class="nav-item" { a class="nav-link" href="/area-personale" { span { "Area personale (" (name) ")" } } }
                                                @if let Some(csrf) = &chrome.csrf {
                                                    li class="nav-item" {
                                                        form method="post" action="/esci" class="d-inline" {
                                                            input type="hidden" name="csrf" value=(csrf);
                                                            button type="submit" class="btn btn-link nav-link" { "Esci" }
                                                        }
                                                    }
                                                }
                                            } @else {
                                                li class="nav-item" { a class="nav-link" href="/accedi" { span { "Accedi" } } }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
                main id="contenuto" class="container my-5" {
                    @for (kind, text) in &chrome.flash {
                        div class={ "alert alert-" (kind) } role="alert" { (text) }
                    }
                    (main)
                }
                footer class="it-footer" {
                    div class="it-footer-small-prints clearfix" {
                        div class="container" {
                            h2 class="visually-hidden" { "Sezione link utili" }
                            ul class="it-footer-small-prints-list list-inline mb-0 d-flex flex-column flex-md-row" {
                                li class="list-inline-item" { a href="/" { "Home" } }
                                li class="list-inline-item" { a href="/privacy/cookie" { "Informativa cookie" } }
                                li class="list-inline-item" { a href="/accessibilita" { "Dichiarazione di accessibilità" } }
                                li class="list-inline-item footer-note" { "Servizio erogato tramite la piattaforma pagoPA" }
                                // Discreet, for the municipality's staff: the portal is where they land.
                                @if chrome.nav { li class="list-inline-item" { a href="/operatore/accedi" { "Area operatori" } } }
                            }
                        }
                    }
                }
                @for script in &chrome.scripts {
                    script src={ "/static/" (script) "?v=" (assets::version(script)) } defer {}
                }
            }
        }
    }
}
