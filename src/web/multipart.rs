//! `multipart/form-data` bodies (RFC 7578), for file uploads: the parts' names, file names and
//! bytes, borrowed from the body. Anything malformed is refused rather than guessed at.

/// One part of a multipart body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part<'a> {
    pub name: String,
    pub file_name: Option<String>,
    pub data: &'a [u8],
}

/// Why a body was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MultipartError {
    #[error("malformed multipart body: {0}")]
    Malformed(&'static str),
}

/// The boundary of a `Content-Type: multipart/form-data; boundary=...` header.
pub fn boundary(content_type: &str) -> Option<String> {
    let (kind, params) = content_type.split_once(';')?;
    if !kind.trim().eq_ignore_ascii_case("multipart/form-data") {
        return None;
    }
    params
        .split(';')
        .find_map(|p| {
            let (key, value) = p.trim().split_once('=')?;
            key.eq_ignore_ascii_case("boundary").then(|| value.trim().trim_matches('"').to_owned())
        })
        .filter(|b| !b.is_empty() && b.len() <= 70)
}

fn find(haystack: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    haystack.get(from..)?.windows(needle.len()).position(|w| w == needle).map(|p| p + from)
}

/// Splits `body` into its parts.
pub fn parse<'a>(body: &'a [u8], boundary: &str) -> Result<Vec<Part<'a>>, MultipartError> {
    let delimiter = format!("--{boundary}");
    let mut parts = Vec::new();
    let mut pos = find(body, delimiter.as_bytes(), 0).ok_or(MultipartError::Malformed("no first boundary"))?;
    let next_delimiter = format!("\r\n--{boundary}");
    loop {
        pos += delimiter.len();
        if body.get(pos..pos + 2) == Some(b"--") {
            return Ok(parts);
        }
        if body.get(pos..pos + 2) != Some(b"\r\n") {
            return Err(MultipartError::Malformed("boundary not followed by a line end"));
        }
        pos += 2;
        let headers_end = find(body, b"\r\n\r\n", pos).ok_or(MultipartError::Malformed("part without headers"))?;
        let headers = std::str::from_utf8(body.get(pos..headers_end).unwrap_or_default())
            .map_err(|_| MultipartError::Malformed("headers are not UTF-8"))?;
        let data_start = headers_end + 4;
        let data_end = find(body, next_delimiter.as_bytes(), data_start)
            .ok_or(MultipartError::Malformed("part not terminated"))?;
        let (mut name, mut file_name) = (None, None);
        for line in headers.split("\r\n") {
            let Some((key, value)) = line.split_once(':') else { continue };
            if !key.trim().eq_ignore_ascii_case("content-disposition") {
                continue;
            }
            for param in value.split(';').skip(1) {
                let Some((k, v)) = param.trim().split_once('=') else { continue };
                let v = v.trim().trim_matches('"').to_owned();
                match k.trim() {
                    "name" => name = Some(v),
                    "filename" => file_name = Some(v),
                    _ => {}
                }
            }
        }
        let name = name.ok_or(MultipartError::Malformed("part without a name"))?;
        if parts.len() >= 16 {
            return Err(MultipartError::Malformed("too many parts"));
        }
        parts.push(Part { name, file_name, data: body.get(data_start..data_end).unwrap_or_default() });
        pos = data_end + 2;
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]
    use super::*;

    #[test]
    fn parts_and_files() {
        let body = b"--XyZ\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\nabc\r\n--XyZ\r\n\
Content-Disposition: form-data; name=\"file\"; filename=\"c_x-F1-1_4.zip\"\r\nContent-Type: application/zip\r\n\r\n\
PK\x03\x04\r\n--XyZ--\r\n";
        let boundary = boundary("multipart/form-data; boundary=XyZ").unwrap();
        let parts = parse(body, &boundary).unwrap();
        assert_eq!(parts.len(), 2);
        assert_eq!((parts[0].name.as_str(), parts[0].data), ("csrf", &b"abc"[..]));
        assert_eq!(parts[1].file_name.as_deref(), Some("c_x-F1-1_4.zip"));
        assert_eq!(parts[1].data, b"PK\x03\x04");
    }

    #[test]
    fn malformed_bodies_are_refused() {
        assert_eq!(boundary("application/x-www-form-urlencoded"), None);
        assert!(parse(b"nothing", "XyZ").is_err());
        assert!(parse(b"--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nopen", "XyZ").is_err());
        assert!(parse(b"--XyZ\r\nX: y\r\n\r\nv\r\n--XyZ--", "XyZ").is_err());
    }
}
