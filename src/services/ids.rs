//! Random identifiers, shared by every area: cart and web-session tokens, SIL session ids and
//! request tokens, API tokens, generated IUDs.

use crate::services::ServiceError;

/// `n` random bytes in hex.
pub fn random_hex(n: usize) -> Result<String, ServiceError> {
    let mut bytes = vec![0u8; n];
    getrandom::fill(&mut bytes).map_err(|err| ServiceError::Internal(format!("no randomness: {err}")))?;
    Ok(hex(&bytes))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
