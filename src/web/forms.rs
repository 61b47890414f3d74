//! `application/x-www-form-urlencoded` bodies and query strings, read with limits: at most
//! [`MAX_FIELDS`] pairs and [`MAX_VALUE`] bytes per value, UTF-8 only. Handlers get a [`Form`] and
//! never parse bodies themselves.

/// Pairs beyond this make the whole form invalid.
pub const MAX_FIELDS: usize = 100;
/// Bytes per decoded value.
pub const MAX_VALUE: usize = 8 * 1024;

/// Why a form could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FormError {
    #[error("more than {MAX_FIELDS} fields")]
    TooManyFields,
    #[error("field {0:?} is longer than {MAX_VALUE} bytes")]
    TooLong(String),
    #[error("not UTF-8")]
    NotUtf8,
}

/// Decoded name/value pairs in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Form {
    pairs: Vec<(String, String)>,
}

impl Form {
    /// Parses `a=1&b=x+y&c=%C3%A8`.
    pub fn parse(bytes: &[u8]) -> Result<Form, FormError> {
        let text = std::str::from_utf8(bytes).map_err(|_| FormError::NotUtf8)?;
        let mut pairs = Vec::new();
        for part in text.split('&').filter(|p| !p.is_empty()) {
            if pairs.len() >= MAX_FIELDS {
                return Err(FormError::TooManyFields);
            }
            let (name, value) = part.split_once('=').unwrap_or((part, ""));
            let name = decode(name)?;
            let value = decode(value)?;
            if value.len() > MAX_VALUE {
                return Err(FormError::TooLong(name));
            }
            pairs.push((name, value));
        }
        Ok(Form { pairs })
    }

    /// A form of these pairs (what a page fills in before the citizen types).
    pub fn of(pairs: Vec<(String, String)>) -> Form {
        Form { pairs }
    }

    /// The first value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    /// The first value of `name`, trimmed, or "".
    pub fn text(&self, name: &str) -> String {
        self.get(name).map(str::trim).unwrap_or_default().to_owned()
    }

    /// Every pair.
    pub fn pairs(&self) -> &[(String, String)] {
        &self.pairs
    }
}

/// Percent-decoding with `+` as a space.
fn decode(text: &str) -> Result<String, FormError> {
    String::from_utf8(decode_bytes(text)).map_err(|_| FormError::NotUtf8)
}

/// [`decode`] for callers that take any bytes (invalid UTF-8 becomes U+FFFD), such as the
/// simulator's query strings.
pub(crate) fn decode_lossy(text: &str) -> String {
    String::from_utf8_lossy(&decode_bytes(text)).into_owned()
}

fn decode_bytes(text: &str) -> Vec<u8> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut idx = 0;
    while let Some(&b) = bytes.get(idx) {
        match b {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = bytes.get(idx + 1..idx + 3).and_then(|h| std::str::from_utf8(h).ok());
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(v) => {
                        out.push(v);
                        idx += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            other => out.push(other),
        }
        idx += 1;
    }
    out
}

/// Percent-encodes a value for a URL query.
pub fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            other => format!("%{other:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]
    use super::*;

    #[test]
    fn decodes_and_limits() {
        let form = Form::parse(b"a=1&b=x+y&c=%C3%A8&d&e=%ZZ").unwrap();
        assert_eq!(form.get("b"), Some("x y"));
        assert_eq!(form.get("c"), Some("è"));
        assert_eq!(form.get("d"), Some(""));
        assert_eq!(form.get("e"), Some("%ZZ"));
        assert_eq!(Form::parse(b"a=%FF"), Err(FormError::NotUtf8));
        let many = "a=1&".repeat(101);
        assert_eq!(Form::parse(many.as_bytes()), Err(FormError::TooManyFields));
        let long = format!("a={}", "x".repeat(MAX_VALUE + 1));
        assert_eq!(Form::parse(long.as_bytes()), Err(FormError::TooLong("a".to_owned())));
        assert_eq!(encode("a b&è"), "a%20b%26%C3%A8");
    }
}
