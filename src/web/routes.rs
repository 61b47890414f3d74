//! Every HTTP route of the server, declared once: one table for the portal, the back office, the
//! REST API, the probes and the SOAP endpoints, read by the one matcher of `super::router`.
//!
//! One table rather than one per surface, because everything a row says is shared: the matcher,
//! the metric name, the body limit (read before the handler runs), the guard, and the 405 rules.
//! The surface of a row follows from its path (`/operatore/…`, `/api/…`, the rest) and its handler
//! says which surface runs it; a test keeps the two in agreement. The back-office authorization
//! test walks the back-office rows (`web::backoffice_routes`), the API's test compares its rows with
//! the OpenAPI document, and a tidy test checks that no route path is spelled anywhere else.
//!
//! Columns: method (GET also answers HEAD), path pattern, the `route` label of
//! `mypay_http_requests_total` (kept stable for dashboards), body limit, guard, handler. Rows are
//! tried in order; the first that takes the method and the path wins.

use super::api::{
    self, debts as api_debts, files as api_files, recon_exports as api_recon_exports, reconciliation as api_recon,
};
use super::backoffice::{
    self, accertamenti, adhesion, anomalies, dashboard, debt_edit, debt_types, debts, exports, flows, journal, login,
    operators, orgs, privacy, recon_exports, recon_item, reconciliation, reporting, settings, tokens,
};
use super::portal::{account, cart, home, info, pay, sil, upstream as region_return};
use super::router::Limit::{Flow, FlowForm, Form, Json, Logo, Push, RegistryForm, Sil, Station};
use super::router::Method::{Delete, Get, Post, Put};
use super::router::{ApiFn, Auth, BackofficeFn, Guard, Handler, PlainFn, PortalFn, Route};
use super::{assets, metrics, system, upstream};

const PUBLIC: Guard = Guard { auth: Auth::Public, csrf: false };
/// A form anyone may submit (with the CSRF token of their session).
const PUBLIC_FORM: Guard = Guard { auth: Auth::Public, csrf: true };
const CITIZEN: Guard = Guard { auth: Auth::Citizen, csrf: false };
const CITIZEN_FORM: Guard = Guard { auth: Auth::Citizen, csrf: true };
const OPERATOR: Guard = Guard { auth: Auth::Operator, csrf: false };
const OPERATOR_FORM: Guard = Guard { auth: Auth::Operator, csrf: true };
const API_TOKEN: Guard = Guard { auth: Auth::ApiToken, csrf: false };
const SIL_UPLOAD_TOKEN: Guard = Guard { auth: Auth::SilUploadToken, csrf: false };
const SIL_PASSWORD: Guard = Guard { auth: Auth::SilPassword, csrf: false };
const SIGNED_URL: Guard = Guard { auth: Auth::SignedUrl, csrf: false };
const STATION: Guard = Guard { auth: Auth::Station, csrf: false };
const METRICS: Guard = Guard { auth: Auth::Metrics, csrf: false };
const UPSTREAM_PUSH: Guard = Guard { auth: Auth::UpstreamPush, csrf: false };

const fn page(handler: PortalFn) -> Handler {
    Handler::Portal(handler)
}

const fn bo(handler: BackofficeFn) -> Handler {
    Handler::Backoffice(handler)
}

const fn endpoint(handler: ApiFn) -> Handler {
    Handler::Api(handler)
}

const fn plain(handler: PlainFn) -> Handler {
    Handler::Plain(handler)
}

/// The table.
#[rustfmt::skip]
pub static ROUTES: &[Route] = &[
    // The home page, probes and assets.
    Route::new(Get,  "/",                                  "home",        Form, PUBLIC,           page(|c, _| home::page(c))).refusing_other_methods(),
    Route::new(Get,  "/healthz",                           "healthz",     Form, PUBLIC,           plain(|s, _, _| system::healthz(s))).refusing_other_methods(),
    Route::new(Get,  "/metrics",                           "metrics",     Form, METRICS,          plain(|s, _, _| metrics::render(s))).refusing_other_methods(),
    Route::new(Get,  "/static/{*path}",                    "asset",       Form, PUBLIC,           plain(|_, r, p| assets::serve(p.get("path"), r.header("if-none-match"), r.header("accept-encoding")))).refusing_other_methods(),

    // The pagoPA station and the SIL web services (SOAP), the SIL's files.
    Route::new(Post, "/ws/fesp/?",                         "station",     Station, STATION,       plain(|s, r, _| system::station(s, r))).refusing_reads(),
    Route::new(Post, "/ws/pa/?",                           "sil",         Sil,  SIL_PASSWORD,     plain(|s, r, _| system::sil(s, r))).refusing_reads(),
    // MyPay's servlet dispatches on the payload whatever the path under /ws/pa/; clients such as
    // MyPivot are configured with the service's name in the URL.
    Route::new(Post, "/ws/pa/PagamentiTelematiciDovutiPagati", "sil",     Sil,  SIL_PASSWORD,     plain(|s, r, _| system::sil(s, r))),
    Route::new(Post, "/ws/pa/PagamentiTelematiciFlussiSPC", "sil",        Sil,  SIL_PASSWORD,     plain(|s, r, _| system::sil(s, r))),
    Route::new(Post, "/ws/pa/upload",                      "sil_upload",  FlowForm, SIL_UPLOAD_TOKEN, plain(|s, r, _| system::sil_upload(s, r))),
    Route::new(Get,  "/ws/pa/{file}",                      "sil_wsdl",    Form, PUBLIC,           plain(|s, _, p| system::sil_wsdl(s, p.get("file")))),
    Route::new(Get,  "/ws/pa/download/{ipa}/{kind}/{id}",  "sil_download", Form, SIGNED_URL,      plain(|s, r, p| system::sil_download(s, r, (p.get("ipa"), p.get("kind"), p.get("id"))))),
    // MyPivot's SIL web services: SOAP, our WSDL (`?wsdl` or by name), the token upload.
    Route::new(Post, "/ws/pivot/?",                        "pivot",       Sil,  SIL_PASSWORD,     plain(|s, r, _| system::pivot(s, r))),
    Route::new(Get,  "/ws/pivot/?",                        "pivot_wsdl",  Form, PUBLIC,           plain(|s, r, _| system::pivot_wsdl_query(s, r.query))),
    Route::new(Post, "/ws/pivot/upload",                   "pivot_upload", FlowForm, SIL_UPLOAD_TOKEN, plain(|s, r, _| system::pivot_upload(s, r))),
    Route::new(Get,  "/ws/pivot/{file}",                   "pivot_wsdl",  Form, PUBLIC,           plain(|s, _, p| system::pivot_wsdl(s, p.get("file")))),

    // Upstream mode: the regional node's outcome pushes (404 when the mode is off).
    Route::new(Post, "/upstream/esito",                    "upstream_push", Push, UPSTREAM_PUSH, Handler::Upstream(upstream::esito)).refusing_reads(),

    // The citizen portal.
    Route::new(Get,  "/sil/{token}",                       "sil_landing", Form, PUBLIC,           page(|c, p| sil::landing(c, p.get("token")))),
    Route::new(Post, "/sil/{token}",                       "sil_landing", Form, PUBLIC_FORM,      page(|c, p| sil::pay(c, p.get("token")))),
    Route::new(Get,  "/sil/{token}/esito/{outcome}",       "sil_landing", Form, PUBLIC,           page(|c, p| sil::back(c, p.get("token"), p.get("outcome")))),
    Route::new(Get,  "/upstream/ritorno",                  "upstream_return", Form, PUBLIC,       page(|c, _| region_return::back(c))),
    Route::new(Get,  "/enti/{ipa}",                        "org",         Form, PUBLIC,           page(|c, p| info::org(c, p.get("ipa")))),
    Route::new(Get,  "/enti/{ipa}/privacy",                "org",         Form, PUBLIC,           page(|c, p| info::privacy(c, p.get("ipa")))),
    Route::new(Get,  "/spontaneo",                         "spontaneous", Form, PUBLIC,           page(|c, _| pay::spontaneous_form(c))),
    Route::new(Post, "/spontaneo",                         "spontaneous", Form, PUBLIC_FORM,      page(|c, _| pay::spontaneous_post(c))),
    Route::new(Get,  "/avviso",                            "notice",      Form, PUBLIC,           page(|c, _| pay::notice_search(c))),
    Route::new(Post, "/avviso",                            "notice",      Form, PUBLIC_FORM,      page(|c, _| pay::notice_post(c))),
    Route::new(Get,  "/carrello",                          "cart",        Form, PUBLIC,           page(|c, _| cart::page(c))),
    Route::new(Post, "/carrello/aggiungi",                 "cart",        Form, PUBLIC_FORM,      page(|c, _| cart::add(c))),
    Route::new(Post, "/carrello/rimuovi",                  "cart",        Form, PUBLIC_FORM,      page(|c, _| cart::remove(c))),
    Route::new(Post, "/carrello/email",                    "cart",        Form, PUBLIC_FORM,      page(|c, _| cart::email(c))),
    Route::new(Post, "/carrello/pin",                      "cart",        Form, PUBLIC_FORM,      page(|c, _| cart::pin(c))),
    Route::new(Post, "/carrello/paga",                     "checkout",    Form, PUBLIC_FORM,      page(|c, _| cart::pay(c))),
    Route::new(Get,  "/carrello/esito/{token}",            "cart_outcome", Form, PUBLIC,          page(|c, p| cart::outcome(c, p.get("token")))),
    Route::new(Get,  "/carrello/stato/{token}",            "cart_status", Form, PUBLIC,           page(|c, p| cart::status(c, p.get("token")))),
    Route::new(Get,  "/carrello/annullato/{token}",        "cart_outcome", Form, PUBLIC,          page(|c, p| cart::abandoned(c, p.get("token"), true))),
    Route::new(Get,  "/carrello/errore/{token}",           "cart_outcome", Form, PUBLIC,          page(|c, p| cart::abandoned(c, p.get("token"), false))),
    Route::new(Get,  "/ricevute/{id}",                     "receipt",     Form, PUBLIC,           page(|c, p| account::receipt(c, p.get("id"), false))),
    Route::new(Get,  "/ricevute/{id}/xml",                 "receipt",     Form, PUBLIC,           page(|c, p| account::receipt(c, p.get("id"), true))),
    Route::new(Get,  "/ricevute/{id}/pdf",                 "receipt",     Form, PUBLIC,           page(|c, p| account::receipt_pdf(c, p.get("id")))),
    Route::new(Get,  "/avvisi/{ipa}/{file}",               "notice_pdf",  Form, SIGNED_URL,       page(|c, p| pay::notice_pdf(c, p.get("ipa"), p.get("file")))),
    Route::new(Get,  "/accedi",                            "login",       Form, PUBLIC,           page(|c, _| account::login(c))),
    Route::new(Get,  "/accedi/oidc",                       "login",       Form, PUBLIC,           page(|c, _| account::oidc_start(c))),
    Route::new(Post, "/accedi/demo",                       "login",       Form, PUBLIC_FORM,      page(|c, _| account::demo_login(c))),
    Route::new(Post, "/esci",                              "login",       Form, PUBLIC_FORM,      page(|c, _| account::logout(c))),
    Route::new(Get,  "/area-personale",                    "citizen",     Form, CITIZEN,          page(|c, _| account::my_debts(c))),
    Route::new(Post, "/area-personale/paga",               "citizen",     Form, CITIZEN_FORM,     page(|c, _| account::pay_debt(c))),
    Route::new(Get,  "/area-personale/pagamenti",          "citizen",     Form, CITIZEN,          page(|c, _| account::my_payments(c))),
    Route::new(Get,  "/area-personale/profilo",            "citizen",     Form, CITIZEN,          page(|c, _| account::profile(c))),
    Route::new(Post, "/area-personale/profilo",            "citizen",     Form, CITIZEN_FORM,     page(|c, _| account::profile_post(c))),
    Route::new(Get,  "/privacy/cookie",                    "legal",       Form, PUBLIC,           page(|c, _| info::cookies(c))),
    Route::new(Get,  "/accessibilita",                     "legal",       Form, PUBLIC,           page(|c, _| info::accessibility(c))),
    Route::new(Get,  "/dev/outbox",                        "dev_outbox",  Form, PUBLIC,           page(|c, _| info::outbox(c))),

    // The back office.
    Route::new(Get,  "/operatore",                                    "bo_home",      Form, OPERATOR,      bo(|c, _| backoffice::home(c))),
    Route::new(Get,  "/operatore/accedi",                             "bo_login",     Form, PUBLIC,        bo(|c, _| login::form(c, None))),
    Route::new(Post, "/operatore/accedi",                             "bo_login",     Form, PUBLIC_FORM,   bo(|c, _| login::post(c))),
    Route::new(Post, "/operatore/esci",                               "bo_login",     Form, PUBLIC_FORM,   bo(|c, _| login::logout(c))),
    Route::new(Get,  "/operatore/password",                           "bo_operators", Form, OPERATOR,      bo(|c, _| operators::own_password_form(c, None))),
    Route::new(Post, "/operatore/password",                           "bo_operators", Form, OPERATOR_FORM, bo(|c, _| operators::own_password(c))),
    Route::new(Get,  "/operatore/enti",                               "bo_orgs",      Form, OPERATOR,      bo(|c, _| orgs::list(c))),
    Route::new(Post, "/operatore/enti",                               "bo_orgs",      Form, OPERATOR_FORM, bo(|c, _| orgs::add(c))),
    Route::new(Get,  "/operatore/{ipa}",                              "bo_dashboard", Form, OPERATOR,      bo(|c, p| dashboard::show(c, p.get("ipa")))),
    Route::new(Get,  "/operatore/{ipa}/flussi",                       "bo_imports",   Form, OPERATOR,      bo(|c, p| flows::list(c, p.get("ipa")))),
    Route::new(Post, "/operatore/{ipa}/flussi",                       "bo_imports",   FlowForm, OPERATOR_FORM, bo(|c, p| flows::upload(c, p.get("ipa")))),
    Route::new(Get,  "/operatore/{ipa}/flussi/{import}/{kind}",       "bo_imports",   Form, OPERATOR,      bo(|c, p| flows::file(c, p.get("ipa"), p.get("import"), p.get("kind")))),
    Route::new(Post, "/operatore/{ipa}/flussi/{import}/avvisi",       "bo_imports",   Form, OPERATOR_FORM, bo(|c, p| flows::request_notices(c, p.get("ipa"), p.get("import")))),
    Route::new(Post, "/operatore/{ipa}/flussi/{import}/assegna-iuv",  "bo_imports",   Form, OPERATOR_FORM, bo(|c, p| flows::assign_iuvs(c, p.get("ipa"), p.get("import")))),
    Route::new(Get,  "/operatore/{ipa}/esportazioni",                 "bo_exports",   Form, OPERATOR,      bo(|c, p| exports::list(c, p.get("ipa")))),
    Route::new(Post, "/operatore/{ipa}/esportazioni",                 "bo_exports",   Form, OPERATOR_FORM, bo(|c, p| exports::request(c, p.get("ipa")))),
    Route::new(Get,  "/operatore/{ipa}/esportazioni/{export}/file",   "bo_exports",   Form, OPERATOR,      bo(|c, p| exports::file(c, p.get("ipa"), p.get("export")))),
    Route::new(Post, "/operatore/{ipa}/esportazioni/scaduti",         "bo_exports",   Form, OPERATOR_FORM, bo(|c, p| exports::expired(c, p.get("ipa")))),
    Route::new(Post, "/operatore/{ipa}/esportazioni/riconciliazione", "bo_exports",   Form, OPERATOR_FORM, bo(|c, p| recon_exports::request(c, p.get("ipa")))),
    Route::new(Get,  "/operatore/{ipa}/esportazioni/riconciliazione/{export}/file", "bo_exports", Form, OPERATOR, bo(|c, p| recon_exports::file(c, p.get("ipa"), p.get("export")))),
    Route::new(Get,  "/operatore/{ipa}/rendicontazione",              "bo_reporting", Form, OPERATOR,      bo(|c, p| reporting::list(c, p.get("ipa")))),
    Route::new(Post, "/operatore/{ipa}/rendicontazione/acquisisci",   "bo_reporting", Form, OPERATOR_FORM, bo(|c, p| reporting::fetch(c, p.get("ipa")))),
    Route::new(Get,  "/operatore/{ipa}/rendicontazione/{flow}",       "bo_reporting", Form, OPERATOR,      bo(|c, p| reporting::detail(c, p.get("ipa"), p.get("flow")))),
    Route::new(Get,  "/operatore/{ipa}/riconciliazione",              "bo_reconciliation", Form, OPERATOR, bo(|c, p| reconciliation::overview(c, p.get("ipa")))),
    Route::new(Post, "/operatore/{ipa}/riconciliazione/impostazioni", "bo_reconciliation", Form, OPERATOR_FORM, bo(|c, p| reconciliation::save_settings(c, p.get("ipa")))),
    Route::new(Post, "/operatore/{ipa}/riconciliazione/caricamenti",  "bo_reconciliation", FlowForm, OPERATOR_FORM, bo(|c, p| reconciliation::upload(c, p.get("ipa")))),
    Route::new(Get,  "/operatore/{ipa}/riconciliazione/caricamenti/{upload}/scarti", "bo_reconciliation", Form, OPERATOR, bo(|c, p| reconciliation::rejects(c, p.get("ipa"), p.get("upload")))),
    Route::new(Get,  "/operatore/{ipa}/riconciliazione/elenco",       "bo_reconciliation", Form, OPERATOR, bo(|c, p| recon_item::drill_down(c, p.get("ipa")))),
    Route::new(Get,  "/operatore/{ipa}/riconciliazione/voce/{item}",  "bo_reconciliation", Form, OPERATOR, bo(|c, p| recon_item::item(c, p.get("ipa"), p.get("item")))),
    Route::new(Post, "/operatore/{ipa}/riconciliazione/voce/{item}/segnalazioni", "bo_reconciliation", Form, OPERATOR_FORM, bo(|c, p| recon_item::add_note(c, p.get("ipa"), p.get("item")))),
    Route::new(Post, "/operatore/{ipa}/riconciliazione/voce/{item}/segnalazioni/{note}", "bo_reconciliation", Form, OPERATOR_FORM, bo(|c, p| recon_item::hide_note(c, p.get("ipa"), p.get("item"), p.get("note")))),
    Route::new(Get,  "/operatore/{ipa}/accertamenti",                 "bo_accertamenti", Form, OPERATOR,   bo(|c, p| accertamenti::list(c, p.get("ipa")))),
    Route::new(Post, "/operatore/{ipa}/accertamenti",                 "bo_accertamenti", Form, OPERATOR_FORM, bo(|c, p| accertamenti::create(c, p.get("ipa")))),
    Route::new(Post, "/operatore/{ipa}/accertamenti/anagrafica",      "bo_accertamenti", RegistryForm, OPERATOR_FORM, bo(|c, p| accertamenti::import(c, p.get("ipa")))),
    Route::new(Get,  "/operatore/{ipa}/accertamenti/{accertamento}",  "bo_accertamenti", Form, OPERATOR,   bo(|c, p| accertamenti::show(c, p.get("ipa"), p.get("accertamento")))),
    Route::new(Post, "/operatore/{ipa}/accertamenti/{accertamento}/assegna", "bo_accertamenti", Form, OPERATOR_FORM, bo(|c, p| accertamenti::assign(c, p.get("ipa"), p.get("accertamento")))),
    Route::new(Post, "/operatore/{ipa}/accertamenti/{accertamento}/stato", "bo_accertamenti", Form, OPERATOR_FORM, bo(|c, p| accertamenti::change_state(c, p.get("ipa"), p.get("accertamento")))),
    Route::new(Get,  "/operatore/{ipa}/accertamenti/{accertamento}/stampa", "bo_accertamenti", Form, OPERATOR,   bo(|c, p| accertamenti::print(c, p.get("ipa"), p.get("accertamento")))),
    Route::new(Get,  "/operatore/{ipa}/token",                        "bo_api_tokens", Form, OPERATOR,     bo(|c, p| tokens::list(c, p.get("ipa")))),
    Route::new(Post, "/operatore/{ipa}/token",                        "bo_api_tokens", Form, OPERATOR_FORM, bo(|c, p| tokens::create(c, p.get("ipa")))),
    Route::new(Post, "/operatore/{ipa}/token/{token}/revoca",         "bo_api_tokens", Form, OPERATOR_FORM, bo(|c, p| tokens::revoke(c, p.get("ipa"), p.get("token")))),
    Route::new(Get,  "/operatore/{ipa}/dovuti",                       "bo_debt_search", Form, OPERATOR,    bo(|c, p| debts::search(c, p.get("ipa")))),
    Route::new(Get,  "/operatore/{ipa}/dovuti/csv",                   "bo_debt_search", Form, OPERATOR,    bo(|c, p| debts::csv(c, p.get("ipa")))),
    Route::new(Get,  "/operatore/{ipa}/dovuti/nuovo",                 "bo_debt",      Form, OPERATOR,      bo(|c, p| debt_edit::new_form(c, p.get("ipa")))),
    Route::new(Post, "/operatore/{ipa}/dovuti/nuovo",                 "bo_debt",      Form, OPERATOR_FORM, bo(|c, p| debt_edit::create(c, p.get("ipa")))),
    Route::new(Get,  "/operatore/{ipa}/dovuti/{debt}",                "bo_debt",      Form, OPERATOR,      bo(|c, p| debts::detail(c, p.get("ipa"), p.get("debt")))),
    Route::new(Get,  "/operatore/{ipa}/dovuti/{debt}/modifica",       "bo_debt",      Form, OPERATOR,      bo(|c, p| debt_edit::edit_form(c, p.get("ipa"), p.get("debt")))),
    Route::new(Post, "/operatore/{ipa}/dovuti/{debt}/modifica",       "bo_debt",      Form, OPERATOR_FORM, bo(|c, p| debt_edit::modify(c, p.get("ipa"), p.get("debt")))),
    Route::new(Post, "/operatore/{ipa}/dovuti/{debt}/annulla",        "bo_debt",      Form, OPERATOR_FORM, bo(|c, p| debt_edit::annul(c, p.get("ipa"), p.get("debt")))),
    Route::new(Get,  "/operatore/{ipa}/dovuti/{debt}/avviso",         "bo_debt_documents", Form, OPERATOR, bo(|c, p| debts::notice(c, p.get("ipa"), p.get("debt")))),
    Route::new(Get,  "/operatore/{ipa}/dovuti/{debt}/ricevute/{receipt}", "bo_debt_documents", Form, OPERATOR, bo(|c, p| debts::receipt(c, p.get("ipa"), p.get("debt"), p.get("receipt")))),
    Route::new(Get,  "/operatore/{ipa}/anomalie",                     "bo_anomalies", Form, OPERATOR,      bo(|c, p| anomalies::list(c, p.get("ipa")))),
    Route::new(Post, "/operatore/{ipa}/anomalie/{anomaly}",           "bo_anomalies", Form, OPERATOR_FORM, bo(|c, p| anomalies::resolve(c, p.get("ipa"), p.get("anomaly")))),
    Route::new(Get,  "/operatore/{ipa}/giornale",                     "bo_journal",   Form, OPERATOR,      bo(|c, p| journal::list(c, p.get("ipa")))),
    Route::new(Get,  "/operatore/{ipa}/giornale/{entry}",             "bo_journal",   Form, OPERATOR,      bo(|c, p| journal::entry(c, p.get("ipa"), p.get("entry")))),
    Route::new(Get,  "/operatore/{ipa}/impostazioni",                 "bo_settings",  Form, OPERATOR,      bo(|c, p| settings::show(c, p.get("ipa")))),
    Route::new(Post, "/operatore/{ipa}/impostazioni",                 "bo_settings",  Form, OPERATOR_FORM, bo(|c, p| settings::save(c, p.get("ipa")))),
    Route::new(Post, "/operatore/{ipa}/impostazioni/logo",            "bo_settings",  Logo, OPERATOR_FORM, bo(|c, p| settings::logo(c, p.get("ipa")))),
    Route::new(Post, "/operatore/{ipa}/impostazioni/sil",             "bo_settings",  Form, OPERATOR_FORM, bo(|c, p| settings::sil_password(c, p.get("ipa")))),
    Route::new(Post, "/operatore/{ipa}/impostazioni/inoltro",         "bo_settings",  Form, OPERATOR_FORM, bo(|c, p| settings::push(c, p.get("ipa")))),
    Route::new(Get,  "/operatore/{ipa}/privacy",                      "bo_privacy",   Form, OPERATOR,      bo(|c, p| privacy::show(c, p.get("ipa")))),
    Route::new(Post, "/operatore/{ipa}/privacy",                      "bo_privacy",   Form, OPERATOR_FORM, bo(|c, p| privacy::publish(c, p.get("ipa")))),
    Route::new(Get,  "/operatore/{ipa}/privacy/interessato",          "bo_privacy",   Form, OPERATOR,      bo(|c, p| privacy::subject_data(c, p.get("ipa")))),
    Route::new(Post, "/operatore/{ipa}/privacy/cancellazione",        "bo_privacy",   Form, OPERATOR_FORM, bo(|c, p| privacy::erase(c, p.get("ipa")))),
    Route::new(Post, "/operatore/{ipa}/privacy/rettifica",            "bo_privacy",   Form, OPERATOR_FORM, bo(|c, p| privacy::rectify(c, p.get("ipa")))),
    Route::new(Get,  "/operatore/{ipa}/privacy/registro",             "bo_privacy",   Form, OPERATOR,      bo(|c, p| privacy::register_page(c, p.get("ipa")))),
    Route::new(Post, "/operatore/{ipa}/impostazioni/stato",           "bo_settings",  Form, OPERATOR_FORM, bo(|c, p| settings::state(c, p.get("ipa")))),
    Route::new(Get,  "/operatore/{ipa}/adesione",                     "bo_adhesion",  Form, OPERATOR,      bo(|c, p| adhesion::show(c, p.get("ipa")))),
    Route::new(Post, "/operatore/{ipa}/adesione",                     "bo_adhesion",  Form, OPERATOR_FORM, bo(|c, p| adhesion::save(c, p.get("ipa")))),
    Route::new(Get,  "/operatore/{ipa}/tipi",                         "bo_debt_types", Form, OPERATOR,     bo(|c, p| debt_types::list(c, p.get("ipa")))),
    Route::new(Get,  "/operatore/{ipa}/tipi/nuovo",                   "bo_debt_types", Form, OPERATOR,     bo(|c, p| debt_types::new_form(c, p.get("ipa")))),
    Route::new(Post, "/operatore/{ipa}/tipi/nuovo",                   "bo_debt_types", Form, OPERATOR_FORM, bo(|c, p| debt_types::save(c, p.get("ipa"), None))),
    Route::new(Post, "/operatore/{ipa}/anteprima-modulo",             "bo_debt_types", Form, OPERATOR_FORM, bo(|c, p| debt_types::preview_fragment(c, p.get("ipa")))),
    Route::new(Get,  "/operatore/{ipa}/tipi/{type}",                  "bo_debt_types", Form, OPERATOR,     bo(|c, p| debt_types::edit_form(c, p.get("ipa"), p.get("type")))),
    Route::new(Post, "/operatore/{ipa}/tipi/{type}",                  "bo_debt_types", Form, OPERATOR_FORM, bo(|c, p| debt_types::save(c, p.get("ipa"), Some(p.get("type"))))),
    Route::new(Get,  "/operatore/{ipa}/operatori",                    "bo_operators", Form, OPERATOR,      bo(|c, p| operators::list(c, p.get("ipa")))),
    Route::new(Post, "/operatore/{ipa}/operatori",                    "bo_operators", Form, OPERATOR_FORM, bo(|c, p| operators::add(c, p.get("ipa")))),
    Route::new(Post, "/operatore/{ipa}/operatori/{operator}/abilitazioni", "bo_operators", Form, OPERATOR_FORM, bo(|c, p| operators::grants(c, p.get("ipa"), p.get("operator")))),
    Route::new(Post, "/operatore/{ipa}/operatori/{operator}/password",     "bo_operators", Form, OPERATOR_FORM, bo(|c, p| operators::reset_password(c, p.get("ipa"), p.get("operator")))),

    // The REST API (`openapi.json` lists the same operations).
    Route::new(Get,    "/api/openapi.json",                               "api", Json, PUBLIC,    plain(|_, _, _| api::openapi())),
    Route::new(Post,   "/api/v1/orgs/{ipa}/debts",                        "api", Json, API_TOKEN, endpoint(api_debts::create)),
    Route::new(Get,    "/api/v1/orgs/{ipa}/debts/{iud}",                  "api", Json, API_TOKEN, endpoint(api_debts::get_by_iud)),
    Route::new(Put,    "/api/v1/orgs/{ipa}/debts/{iud}",                  "api", Json, API_TOKEN, endpoint(api_debts::modify)),
    Route::new(Delete, "/api/v1/orgs/{ipa}/debts/{iud}",                  "api", Json, API_TOKEN, endpoint(api_debts::annul)),
    Route::new(Get,    "/api/v1/orgs/{ipa}/debts-by-iuv/{iuv}",           "api", Json, API_TOKEN, endpoint(api_debts::get_by_iuv)),
    Route::new(Post,   "/api/v1/orgs/{ipa}/payments",                     "api", Json, API_TOKEN, endpoint(api_debts::start_payment)),
    Route::new(Get,    "/api/v1/orgs/{ipa}/payments/{session}",           "api", Json, API_TOKEN, endpoint(api_debts::payment_status)),
    Route::new(Get,    "/api/v1/orgs/{ipa}/pushes",                       "api", Json, API_TOKEN, endpoint(api_debts::pushes)),
    Route::new(Post,   "/api/v1/orgs/{ipa}/imports",                      "api", Flow, API_TOKEN, endpoint(api_files::submit_import)),
    Route::new(Get,    "/api/v1/orgs/{ipa}/imports/{id}",                 "api", Json, API_TOKEN, endpoint(api_files::get_import)),
    Route::new(Get,    "/api/v1/orgs/{ipa}/imports/{id}/files/{kind}",    "api", Json, API_TOKEN, endpoint(api_files::import_file)),
    Route::new(Post,   "/api/v1/orgs/{ipa}/reconciliation-files",        "api", Flow, API_TOKEN, endpoint(api_recon::submit)),
    Route::new(Get,    "/api/v1/orgs/{ipa}/reconciliation-files/{id}",   "api", Json, API_TOKEN, endpoint(api_recon::get)),
    Route::new(Get,    "/api/v1/orgs/{ipa}/reconciliation-files/{id}/rejects", "api", Json, API_TOKEN, endpoint(api_recon::rejects)),
    Route::new(Post,   "/api/v1/orgs/{ipa}/exports",                      "api", Json, API_TOKEN, endpoint(api_files::book_export)),
    Route::new(Get,    "/api/v1/orgs/{ipa}/exports/{id}",                 "api", Json, API_TOKEN, endpoint(api_files::get_export)),
    Route::new(Get,    "/api/v1/orgs/{ipa}/exports/{id}/file",            "api", Json, API_TOKEN, endpoint(api_files::export_file)),
    Route::new(Post,   "/api/v1/orgs/{ipa}/reconciliation-exports",       "api", Json, API_TOKEN, endpoint(api_recon_exports::book)),
    Route::new(Get,    "/api/v1/orgs/{ipa}/reconciliation-exports/{id}",  "api", Json, API_TOKEN, endpoint(api_recon_exports::get)),
    Route::new(Get,    "/api/v1/orgs/{ipa}/reconciliation-exports/{id}/file", "api", Json, API_TOKEN, endpoint(api_recon_exports::file)),
];

/// The OpenID Connect redirect URI: its path is `citizen_auth.oidc_redirect_path`, so
/// `router::route_in` matches it (GET only: it consumes the pending login) before the table.
pub static OIDC_CALLBACK: Route =
    Route::new(Get, "(citizen_auth.oidc_redirect_path)", "login", Form, PUBLIC, page(|c, _| account::oidc_callback(c)));

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]
    use super::super::router::{Method, Surface};
    use super::*;

    /// A handler runs on the surface its path belongs to, with the guard that surface enforces.
    #[test]
    fn every_row_agrees_with_its_surface() {
        for r in ROUTES {
            let what = format!("{} {}", r.method.as_str(), r.pattern);
            match r.handler {
                Handler::Portal(_) => assert_eq!(r.surface(), Surface::Site, "{what}"),
                Handler::Backoffice(_) => assert_eq!(r.surface(), Surface::Backoffice, "{what}"),
                Handler::Api(_) => assert_eq!(r.surface(), Surface::Api, "{what}"),
                Handler::Plain(_) | Handler::Upstream(_) => {}
            }
            // The API's handlers get the authenticated token; nothing else checks one.
            assert_eq!(matches!(r.handler, Handler::Api(_)), r.guard.auth == Auth::ApiToken, "{what}");
            // The same for the regional node's push token.
            assert_eq!(matches!(r.handler, Handler::Upstream(_)), r.guard.auth == Auth::UpstreamPush, "{what}");
            // Sessions exist on the portal and in the back office only.
            if matches!(r.guard.auth, Auth::Citizen) || r.guard.csrf {
                assert!(matches!(r.handler, Handler::Portal(_) | Handler::Backoffice(_)), "{what}");
            }
            if r.guard.auth == Auth::Operator {
                assert!(matches!(r.handler, Handler::Backoffice(_)), "{what}");
            }
            if r.guard.auth == Auth::Citizen {
                assert!(matches!(r.handler, Handler::Portal(_)), "{what}");
            }
        }
    }

    /// Every form submission of the portal and the back office is CSRF-checked, and nothing else.
    #[test]
    fn every_page_post_checks_its_csrf_token() {
        for r in ROUTES {
            let page = matches!(r.handler, Handler::Portal(_) | Handler::Backoffice(_));
            assert_eq!(r.guard.csrf, page && r.method == Method::Post, "{} {}", r.method.as_str(), r.pattern);
        }
    }

    /// `server` refuses the station path before the body is read: the station's rows must be
    /// inside the prefix it guards, and nothing else may be.
    #[test]
    fn the_station_guard_covers_exactly_the_station_rows() {
        for r in ROUTES {
            let path = r.pattern.replace("/?", "/");
            assert_eq!(
                super::super::server::is_station_path(&path),
                r.guard.auth == Auth::Station,
                "{} {}",
                r.method.as_str(),
                r.pattern
            );
        }
    }

    /// No (method, pattern) twice, and every `p.get("name")` of a row names one of its `{name}`s.
    #[test]
    fn rows_are_unique_and_name_their_own_values() {
        let mut seen = std::collections::HashSet::new();
        for r in ROUTES {
            assert!(
                seen.insert((r.method.as_str(), r.pattern)),
                "{} {} is declared twice",
                r.method.as_str(),
                r.pattern
            );
        }
        let source = include_str!("routes.rs");
        for line in source.lines().filter(|l| l.trim_start().starts_with("Route::new(")) {
            let pattern = line.split('"').nth(1).unwrap();
            for (at, _) in line.match_indices("p.get(\"") {
                let name = line[at + 7..].split('"').next().unwrap();
                let placeholder = [format!("{{{name}}}"), format!("{{*{name}}}")];
                assert!(placeholder.iter().any(|p| pattern.contains(p.as_str())), "{pattern} has no {{{name}}}");
            }
        }
    }
}
