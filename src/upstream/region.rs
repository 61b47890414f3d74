//! The Region as the services see it: the ports of `services::upstream` (`RegionDebts`,
//! `RegionOutcomes`, `RegionPayments`) implemented with [`SilClient`] and one org's credentials
//! there. Each method is one or two SIL calls; what the answers mean for the box stays in the
//! services. Failures become `RegionFailure`s: retryable when the transport or MyPay says so
//! (`UpstreamError::is_retryable`), with MyPay's fault code when there is one.
//! Must never: log or return the password; apply anything (the services do, in their transactions).

use std::io::Write;
use std::path::{Path, PathBuf};

use jiff::civil::DateTime;

use super::{Action, CartElement, Creds, DovutiDoc, DovutoItem, PagatiKey, SilClient, UpstreamError, VersamentoDoc};
use crate::domain::{Iuv, Party};
use crate::services::upstream::RegionFailure;
use crate::services::upstream::outbox::{DebtAction, FlowStatus, RegionAnswer, RegionDebts};
use crate::services::upstream::outcomes::{
    ExportState, PaidKey, RegionOutcomes, RegionPayment, Reserved, means_no_outcome, retryable_fault,
};
use crate::services::upstream::payments::{CartPart, RegionCall, RegionOutcome, RegionPayments, RegionSession};
use crate::services::upstream::settings::UpstreamCreds;
use crate::store::Db;
use crate::store::debts::DebtRecord;

/// The receipt export layout asked for: the latest, with the receipt (`rt`) in each row.
const EXPORT_VERSION: &str = "1.3";

/// MyPay's codes for credentials it refuses (a wrong password, an org not in production there):
/// the org's link is broken, not the change, so the queue waits for the operator's fix.
const CREDENTIAL_FAULTS: [&str; 2] = ["PAA_ENTE_NON_VALIDO", "PAA_STATO_ENTE_NON_VALIDO"];

/// What the Region's failure is for a service: retryable or not, MyPay's code, a text for logs.
pub fn failure(err: &UpstreamError) -> RegionFailure {
    let code = err.fault_code().map(str::to_owned);
    let refused_credentials = code.as_deref().is_some_and(|c| CREDENTIAL_FAULTS.contains(&c));
    RegionFailure { retryable: err.is_retryable() || refused_credentials, code, text: err.to_string() }
}

fn local(text: impl Into<String>) -> RegionFailure {
    RegionFailure { retryable: false, code: None, text: text.into() }
}

/// The client's credentials of an org, from the services' view of them.
pub fn creds(of: &UpstreamCreds) -> Creds {
    Creds { ipa: of.region_ipa.clone(), password: of.password.expose().to_owned() }
}

/// One org at the Region: the client and that org's credentials. It remembers how the Region
/// last answered ([`OrgAtRegion::link_state`]) for the operators' view of the link.
pub struct OrgAtRegion<'a> {
    pub client: &'a SilClient,
    pub creds: Creds,
    last: std::cell::RefCell<Option<Result<(), RegionFailure>>>,
}

impl<'a> OrgAtRegion<'a> {
    pub fn new(client: &'a SilClient, creds: Creds) -> OrgAtRegion<'a> {
        OrgAtRegion { client, creds, last: std::cell::RefCell::new(None) }
    }

    /// How the Region answered the last call: `Ok` when it answered (a business fault is an
    /// answer), the failure when it did not or refused the org's credentials; `None` without call.
    pub fn link_state(&self) -> Option<Result<(), RegionFailure>> {
        self.last.borrow_mut().take()
    }

    /// `answer` as the services want it, noting how the link went.
    fn seen<T>(&self, answer: Result<T, UpstreamError>) -> Result<T, RegionFailure> {
        let (state, out) = match answer {
            Ok(value) => (Ok(()), Ok(value)),
            Err(err) => {
                let f = failure(&err);
                let link_broken = f.retryable || f.code.is_none();
                (if link_broken { Err(f.clone()) } else { Ok(()) }, Err(f))
            }
        };
        *self.last.borrow_mut() = Some(state);
        out
    }
}

fn action(a: DebtAction) -> Action {
    match a {
        DebtAction::Insert => Action::Insert,
        DebtAction::Modify => Action::Modify,
        DebtAction::Annul => Action::Annul,
    }
}

impl RegionDebts for OrgAtRegion<'_> {
    fn import_debt(
        &self,
        debt_action: DebtAction,
        debt: &DebtRecord,
        generate_iuv: bool,
    ) -> Result<RegionAnswer, RegionFailure> {
        let doc = VersamentoDoc::of_debt(debt, action(debt_action));
        let imported = self.seen(self.client.importa_dovuto(&self.creds, &doc, generate_iuv))?;
        Ok(RegionAnswer { iuv: imported.iuv.map(|iuv| iuv.as_str().to_owned()), notice_number: None })
    }

    fn upload_flow(&self, file: &Path, file_name: &str) -> Result<String, RegionFailure> {
        // The file is the one this box accepted within its own upload limit; it is streamed.
        let grant = self.seen(self.client.autorizza_import_flusso(&self.creds))?;
        self.seen(self.client.upload_flow(&grant.upload_url, &grant.authorization_token, file_name, file))?;
        Ok(grant.request_token)
    }

    fn flow_status(&self, request_token: &str) -> Result<FlowStatus, RegionFailure> {
        let status = self.seen(self.client.chiedi_stato_import_flusso(&self.creds, request_token))?;
        Ok(FlowStatus { stato: status.stato, scarti_url: status.rejects_url, iuv_url: status.iuv_url })
    }

    fn download(&self, url: &str, max_bytes: u64, out: &mut dyn Write) -> Result<u64, RegionFailure> {
        self.seen(self.client.download_to(url, out, max_bytes))
    }
}

/// `paaSILChiediPagatiConRicevuta` read as the outcomes want it: a payment, `None` for the faults
/// that say "no outcome", a failure otherwise.
fn paid(client: &SilClient, creds: &Creds, key: &PagatiKey) -> Result<Option<RegionPayment>, RegionFailure> {
    match client.chiedi_pagati_con_ricevuta(creds, key) {
        Ok(answer) => Ok(Some(RegionPayment::from_pagati(&answer.pagati, answer.receipt, answer.pagati_xml))),
        Err(UpstreamError::Fault { code, .. }) if means_no_outcome(&code) => Ok(None),
        Err(err @ UpstreamError::Fault { .. }) => {
            let mut f = failure(&err);
            f.retryable |= f.code.as_deref().is_some_and(retryable_fault);
            Err(f)
        }
        Err(err) => Err(failure(&err)),
    }
}

impl RegionOutcomes for OrgAtRegion<'_> {
    fn paid(&self, key: PaidKey) -> Result<Option<RegionPayment>, RegionFailure> {
        let key = match key {
            PaidKey::Iuv(iuv) => PagatiKey::Iuv(iuv),
            PaidKey::Iud(iud) => PagatiKey::Iud(iud),
            PaidKey::Session(id) => PagatiKey::IdSession(id),
        };
        let answer = paid(self.client, &self.creds, &key);
        *self.last.borrow_mut() = Some(match &answer {
            Err(f) if f.retryable || f.code.is_none() => Err(f.clone()),
            _ => Ok(()),
        });
        answer
    }

    fn reserve_export(&self, from: &str, to: Option<&str>) -> Result<Reserved, RegionFailure> {
        let parse = |text: &str| {
            text.trim().parse::<DateTime>().map_err(|e| local(format!("cursor {text:?} is not a date-time: {e}")))
        };
        let from = parse(from)?;
        let to = to.map(parse).transpose()?;
        let booked = self.seen(self.client.prenota_export_incrementale(&self.creds, from, to, EXPORT_VERSION))?;
        Ok(Reserved { token: booked.request_token, date_to: booked.date_to.strftime("%Y-%m-%dT%H:%M:%S").to_string() })
    }

    fn export_status(&self, token: &str) -> Result<ExportState, RegionFailure> {
        let status = self.seen(self.client.chiedi_stato_export_flusso(&self.creds, token))?;
        Ok(match (status.stato.as_str(), status.download_url) {
            ("LOAD_EXPORT" | "EXPORT_IN_ELAB", _) => ExportState::Pending,
            ("EXPORT_ESEGUITO", Some(url)) => ExportState::Ready { url },
            ("EXPORT_ESEGUITO" | "EXPORT_ESEGUITO_NESSUN_DOVUTO_TROVATO", _) => ExportState::Empty,
            (other, _) => ExportState::Failed { state: other.to_owned() },
        })
    }

    fn download(&self, url: &str, into: &Path, max_bytes: u64) -> Result<(), RegionFailure> {
        let mut file = std::fs::File::create(into)
            .map_err(|e| local(format!("cannot write the download into {}: {e}", into.display())))?;
        self.seen(self.client.download_to(url, &mut file, max_bytes))?;
        file.sync_all().map_err(|e| local(format!("cannot sync {}: {e}", into.display())))
    }
}

/// The payments' port: it runs on a citizen's request, so it finds the org's credentials itself
/// (through a read-only handle of the database: the request's own handle is the web state's).
pub struct Payments {
    client: SilClient,
    db: Db,
}

impl Payments {
    /// A client of `endpoint` with short timeouts (a citizen waits) and a read-only view of the
    /// database at `path` for the orgs' credentials.
    pub fn new(endpoint: &str, path: &Path) -> Result<Payments, String> {
        let timeouts = super::Timeouts {
            connect: std::time::Duration::from_secs(5),
            read: std::time::Duration::from_secs(15),
            transfer: std::time::Duration::from_secs(20),
        };
        let client = SilClient::new(endpoint, timeouts).map_err(|e| e.to_string())?;
        let db = Db::open_read_only(path).map_err(|e| e.to_string())?;
        Ok(Payments { client, db })
    }

    fn creds_of(&self, ipa: &str) -> Result<Creds, RegionFailure> {
        let found = crate::services::admin::orgs::get_org(&self.db, ipa)
            .and_then(|org| crate::services::upstream::settings::creds_of(&self.db, org.id))
            .map_err(|e| RegionFailure { retryable: true, code: None, text: e.to_string() })?;
        found.map(|c| creds(&c)).ok_or_else(|| {
            local(format!("org {ipa} has no credentials at the Region (mypay org set {ipa} --upstream-password-stdin)"))
        })
    }
}

impl Payments {
    /// Org `ipa`'s cart hash at the Region; a cart cannot go up without it.
    fn cart_hash_of(&self, ipa: &str) -> Result<String, RegionFailure> {
        let found = crate::services::admin::orgs::get_org(&self.db, ipa)
            .and_then(|org| crate::services::upstream::settings::cart_hash_of(&self.db, org.id))
            .map_err(|e| RegionFailure { retryable: true, code: None, text: e.to_string() })?;
        found.map(|h| h.expose().to_owned()).ok_or_else(|| {
            local(format!(
                "org {ipa} has no cart hash at the Region, which a cart of several orgs needs \
                 (mypay org set {ipa} --upstream-cart-hash-stdin)"
            ))
        })
    }

    /// `paaSILChiediEsitoCarrelloDovuti`'s answer as the payments want it: paid when an org's part
    /// is (each org's payment, named by its IPA code here), else the state every part agrees on.
    /// MyPay gives each part the cart's state description, not a code (mypay.md §4.3).
    fn cart_outcome(&self, outcomes: Vec<super::answers::CartOutcome>) -> Result<RegionOutcome, RegionFailure> {
        let mut paid = Vec::new();
        let mut states = Vec::new();
        for outcome in outcomes {
            let esito = outcome.esito.trim().to_ascii_uppercase();
            if let Some(answer) = outcome.paid.filter(|_| esito == "PAGATO") {
                let ipa = crate::services::upstream::settings::ipa_of_region_ipa(&self.db, &outcome.ipa)
                    .map_err(|e| RegionFailure { retryable: true, code: None, text: e.to_string() })?
                    .ok_or_else(|| {
                        local(format!("the Region's cart outcome names org {}, unknown here", outcome.ipa))
                    })?;
                paid.push((ipa, RegionPayment::from_pagati(&answer.pagati, answer.receipt, answer.pagati_xml)));
            }
            states.push(esito);
        }
        if !paid.is_empty() {
            return Ok(RegionOutcome::CartPaid(paid));
        }
        let all = |names: &[&str]| states.iter().all(|s| names.contains(&s.as_str()));
        Ok(if all(&["ANNULLATO", "ABORT"]) {
            RegionOutcome::Cancelled
        } else if all(&["NON PAGATO", "NON_PAGATO", "SCADUTO", "SCADUTO ELABORATO", "DECORRENZA TERMINI"]) {
            RegionOutcome::NotPaid
        } else {
            RegionOutcome::Pending
        })
    }
}

impl RegionPayments for Payments {
    fn start_dovuti(
        &self,
        ipa: &str,
        payer: &Party,
        items: &[DebtRecord],
        back_url: &str,
    ) -> Result<RegionSession, RegionFailure> {
        let creds = self.creds_of(ipa)?;
        let payment_kinds = items.first().map(|d| d.payment_kinds.clone()).unwrap_or_default();
        let doc =
            DovutiDoc { payer: payer.clone(), payment_kinds, items: items.iter().map(DovutoItem::of_debt).collect() };
        let session = self.client.invia_dovuti(&creds, &doc, Some(back_url)).map_err(|e| failure(&e))?;
        Ok(RegionSession { id_session: session.id, url: session.url })
    }

    fn start_cart(&self, caller_ipa: &str, parts: &[CartPart], back_url: &str) -> Result<RegionSession, RegionFailure> {
        // The caller's password goes at the top; each element carries its org's cart hash, which
        // the Region makes with its intermediary password and shows its orgs' administrators.
        let creds = self.creds_of(caller_ipa)?;
        let mut elements = Vec::with_capacity(parts.len());
        for part in parts {
            let org = self.creds_of(&part.ipa)?;
            let hash = self.cart_hash_of(&part.ipa)?;
            let payment_kinds = part.items.first().map(|d| d.payment_kinds.clone()).unwrap_or_default();
            let dovuti = DovutiDoc {
                payer: part.payer.clone(),
                payment_kinds,
                items: part.items.iter().map(DovutoItem::of_debt).collect(),
            };
            elements.push(CartElement { ipa: org.ipa, hash, dovuti });
        }
        let session = self.client.invia_carrello(&creds, &elements, Some(back_url)).map_err(|e| failure(&e))?;
        Ok(RegionSession { id_session: session.id, url: session.url })
    }

    fn verify_notice(&self, ipa: &str, iuv: &Iuv, back_url: &str) -> Result<RegionSession, RegionFailure> {
        let creds = self.creds_of(ipa)?;
        let session = self.client.verifica_avviso(&creds, iuv.as_str(), Some(back_url)).map_err(|e| failure(&e))?;
        Ok(RegionSession { id_session: session.id, url: session.url })
    }

    fn session_outcome(&self, ipa: &str, call: RegionCall, id_session: &str) -> Result<RegionOutcome, RegionFailure> {
        let creds = self.creds_of(ipa)?;
        if call == RegionCall::Carrello {
            let outcomes = self.client.chiedi_esito_carrello(&creds, id_session).map_err(|e| failure(&e))?;
            return self.cart_outcome(outcomes);
        }
        match self.client.chiedi_pagati_con_ricevuta(&creds, &PagatiKey::IdSession(id_session.to_owned())) {
            Ok(answer) => {
                let payment = RegionPayment::from_pagati(&answer.pagati, answer.receipt, answer.pagati_xml);
                Ok(match payment.outcome_code.trim() {
                    "0" | "2" => RegionOutcome::Paid(vec![payment]),
                    _ => RegionOutcome::NotPaid,
                })
            }
            Err(UpstreamError::Fault { code, .. }) if code == "PAA_PAGAMENTO_ANNULLATO" => Ok(RegionOutcome::Cancelled),
            Err(UpstreamError::Fault { code, .. }) if code == "PAA_PAGAMENTO_SCADUTO" => Ok(RegionOutcome::NotPaid),
            Err(UpstreamError::Fault { code, .. })
                if code == "PAA_PAGAMENTO_NON_INIZIATO" || code == "PAA_PAGAMENTO_IN_CORSO" =>
            {
                Ok(RegionOutcome::Pending)
            }
            Err(err) => Err(failure(&err)),
        }
    }
}

/// Where the link keeps downloads: under the data directory.
pub fn work_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("upstream")
}
