//! Password hashing (argon2id, PHC strings) and random secrets.
//!
//! Every stored password, operators' and SIL passwords alike, goes through [`hash_password`]; the
//! clear text never reaches the store or a log.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

use crate::services::ServiceError;

/// argon2id with OWASP's second recommended profile (19 MiB, 2 passes, 1 lane): strong enough,
/// and quick enough (tens of milliseconds) on a 2-core appliance.
fn hasher() -> Result<Argon2<'static>, ServiceError> {
    let params = Params::new(19 * 1024, 2, 1, None).map_err(|err| ServiceError::Internal(err.to_string()))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

/// Hashes a password into a PHC string with a fresh random salt.
pub fn hash_password(password: &str) -> Result<String, ServiceError> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|err| ServiceError::Internal(format!("no randomness: {err}")))?;
    let salt = SaltString::encode_b64(&salt).map_err(|err| ServiceError::Internal(err.to_string()))?;
    let hash =
        hasher()?.hash_password(password.as_bytes(), &salt).map_err(|err| ServiceError::Internal(err.to_string()))?;
    Ok(hash.to_string())
}

/// Whether `password` matches the stored PHC string. A malformed hash never matches.
pub fn verify_password(password: &str, phc: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(phc) else {
        return false;
    };
    let Ok(argon) = hasher() else {
        return false;
    };
    argon.verify_password(password.as_bytes(), &parsed).is_ok()
}

/// A random password of `len` characters from an alphabet without look-alikes (no 0/O, 1/l/I), for
/// passwords that are printed once and typed by a person.
pub fn random_password(len: usize) -> Result<String, ServiceError> {
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut bytes = vec![0u8; len];
    getrandom::fill(&mut bytes).map_err(|err| ServiceError::Internal(format!("no randomness: {err}")))?;
    // 256 is not a multiple of the alphabet size; the slight bias is irrelevant at this length.
    Ok(bytes
        .iter()
        .map(|b| char::from(ALPHABET.get(usize::from(*b) % ALPHABET.len()).copied().unwrap_or(b'x')))
        .collect())
}

/// Checks an operator password's strength: at least 10 characters, not all of one class.
pub fn check_operator_password(password: &str) -> Result<(), ServiceError> {
    let n_chars = password.chars().count();
    if n_chars < 10 {
        return Err(ServiceError::invalid("password", "must be at least 10 characters long"));
    }
    if n_chars > 256 {
        return Err(ServiceError::invalid("password", "must be at most 256 characters long"));
    }
    let classes = [
        password.chars().any(|c| c.is_lowercase()),
        password.chars().any(|c| c.is_uppercase()),
        password.chars().any(|c| c.is_ascii_digit()),
        password.chars().any(|c| !c.is_alphanumeric()),
    ];
    if classes.iter().filter(|present| **present).count() < 2 {
        return Err(ServiceError::invalid(
            "password",
            "must mix at least two of: lower case, upper case, digits, symbols",
        ));
    }
    Ok(())
}

/// Checks a SIL password: MyPay's web services accept 8 to 15 characters (stPassword).
pub fn check_sil_password(password: &str) -> Result<(), ServiceError> {
    let n_chars = password.chars().count();
    if !(8..=15).contains(&n_chars) {
        return Err(ServiceError::invalid("sil-password", "must be 8 to 15 characters long"));
    }
    if password.chars().any(char::is_whitespace) {
        return Err(ServiceError::invalid("sil-password", "must not contain spaces"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]
    use super::*;

    #[test]
    fn hashes_are_argon2id_salted_and_verify() {
        let first = hash_password("Correct horse 1").unwrap();
        let second = hash_password("Correct horse 1").unwrap();
        assert!(first.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{first}");
        assert_ne!(first, second);
        assert!(verify_password("Correct horse 1", &first));
        assert!(!verify_password("correct horse 1", &first));
        assert!(!verify_password("x", "not a hash"));
    }

    #[test]
    fn random_passwords_have_the_length_asked() {
        let p = random_password(16).unwrap();
        assert_eq!(p.len(), 16);
        assert!(p.chars().all(|c| c.is_ascii_alphanumeric()));
    }

    #[test]
    fn password_rules() {
        assert!(check_operator_password("short1A").is_err());
        assert!(check_operator_password("alllowercaseletters").is_err());
        assert!(check_operator_password("lower and 123").is_ok());
        assert!(check_sil_password("1234567").is_err());
        assert!(check_sil_password("12345678").is_ok());
        assert!(check_sil_password("1234567890123456").is_err());
    }
}
