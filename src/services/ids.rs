//! Random identifiers shared by every area: cart and session tokens, SIL session ids, API tokens,
//! the installation's first key. Each is hex of fresh random bytes from the operating system.

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
