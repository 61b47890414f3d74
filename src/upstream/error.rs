//! What can go wrong talking to the Region, in the few kinds a caller acts on differently: retry
//! later (the network, a timeout, a 5xx, MyPay's `PAA_SYSTEM_ERROR`), or stop and show it (a
//! business fault, a value this side cannot send). Messages are English, for logs and operators;
//! none carries a password.

/// A failed call to the upstream MyPay.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UpstreamError {
    /// A problem on this side: a URL or value the client will not send (not https, a bad
    /// `bilancio`, six debts in one `Dovuti`), a download it cannot write.
    #[error("cannot send to the Region: {what}")]
    Local { what: String },
    /// No connection, or one that broke (refused, reset, DNS, TLS).
    #[error("the Region at {url} is unreachable: {reason}")]
    Unreachable { url: String, reason: String },
    /// No complete answer within the client's timeouts.
    #[error("the Region at {url} did not answer in time")]
    Timeout { url: String },
    /// An HTTP status other than 200; `detail` is the SOAP Fault's `faultstring` when the body
    /// was one.
    #[error("the Region answered HTTP {status}{}", if detail.is_empty() { String::new() } else { format!(": {detail}") })]
    Http { status: u16, detail: String },
    /// An answer that is not what the contract says: not SOAP, not the operation's answer, a
    /// missing element, bad base64, an unreadable `Pagati`, too big.
    #[error("the Region's answer is unusable: {what}")]
    Garbage { what: String },
    /// MyPay's in-body fault bean (or an upload's `{codice, descrizione}`): `code` as MyPay
    /// spells it (`PAA_IUV_NON_VALIDO`, `PAA_PAGAMENTO_IN_CORSO`, `500`, ...).
    #[error("the Region refused: {code}: {description}")]
    Fault { code: String, description: String },
}

impl UpstreamError {
    /// Whether the same call may succeed later unchanged: the network, a timeout, a 5xx (and 408,
    /// 429), an answer that could not be read (a proxy's maintenance page looks like that), and
    /// MyPay's system error. A business fault, another HTTP status or a local problem will not
    /// change by waiting.
    pub fn is_retryable(&self) -> bool {
        match self {
            UpstreamError::Unreachable { .. } | UpstreamError::Timeout { .. } | UpstreamError::Garbage { .. } => true,
            UpstreamError::Http { status, .. } => *status >= 500 || *status == 408 || *status == 429,
            UpstreamError::Fault { code, .. } => code == "PAA_SYSTEM_ERROR" || code == "500",
            UpstreamError::Local { .. } => false,
        }
    }

    /// MyPay's fault code, for a fault.
    pub fn fault_code(&self) -> Option<&str> {
        match self {
            UpstreamError::Fault { code, .. } => Some(code),
            _ => None,
        }
    }
}

pub(super) fn garbage(what: impl Into<String>) -> UpstreamError {
    UpstreamError::Garbage { what: what.into() }
}

pub(super) fn local(what: impl Into<String>) -> UpstreamError {
    UpstreamError::Local { what: what.into() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_is_worth_retrying() {
        let fault = |code: &str| UpstreamError::Fault { code: code.into(), description: String::new() };
        let http = |status| UpstreamError::Http { status, detail: String::new() };
        assert!(UpstreamError::Timeout { url: "u".into() }.is_retryable());
        assert!(UpstreamError::Unreachable { url: "u".into(), reason: "refused".into() }.is_retryable());
        assert!(http(500).is_retryable() && http(503).is_retryable() && http(429).is_retryable());
        assert!(!http(404).is_retryable() && !http(400).is_retryable());
        assert!(fault("PAA_SYSTEM_ERROR").is_retryable());
        assert!(!fault("PAA_IUV_NON_VALIDO").is_retryable() && !fault("PAA_PAGAMENTO_IN_CORSO").is_retryable());
        assert!(!local("x").is_retryable());
        assert_eq!(fault("PAA_X").fault_code(), Some("PAA_X"));
        assert_eq!(http(500).to_string(), "the Region answered HTTP 500");
        assert_eq!(
            UpstreamError::Http { status: 500, detail: "Unmarshalling".into() }.to_string(),
            "the Region answered HTTP 500: Unmarshalling"
        );
    }
}
