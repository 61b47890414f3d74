//! The org's logo as a PDF image: JPEG embedded as is, PNG (8-bit grey, RGB or palette, not
//! interlaced, no transparency) embedded by passing its compressed data through with PNG
//! predictors, so no image is decoded.
//!
//! Owns: reading just enough of the file headers (JPEG SOF, PNG IHDR/PLTE/IDAT) to describe them.
//! Must never: fail a document: a logo it cannot embed is `None`, and the notice prints a neutral
//! placeholder instead.

use super::layout::{Image, ImageKind};

/// The image of `bytes` (`mime` is a hint; the signature decides).
pub fn logo_image(bytes: &[u8]) -> Option<Image> {
    if bytes.starts_with(&[0xFF, 0xD8]) {
        jpeg(bytes)
    } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        png(bytes)
    } else {
        None
    }
}

fn jpeg(bytes: &[u8]) -> Option<Image> {
    let mut pos = 2;
    while pos + 4 <= bytes.len() {
        if *bytes.get(pos)? != 0xFF {
            return None;
        }
        let marker = *bytes.get(pos + 1)?;
        let len = usize::from(u16::from_be_bytes([*bytes.get(pos + 2)?, *bytes.get(pos + 3)?]));
        // SOF0..SOF15 except DHT (C4), JPG (C8) and DAC (CC) carry the frame size.
        if (0xC0..=0xCF).contains(&marker) && !matches!(marker, 0xC4 | 0xC8 | 0xCC) {
            let height = u32::from(u16::from_be_bytes([*bytes.get(pos + 5)?, *bytes.get(pos + 6)?]));
            let width = u32::from(u16::from_be_bytes([*bytes.get(pos + 7)?, *bytes.get(pos + 8)?]));
            let components = *bytes.get(pos + 9)?;
            return Some(Image { width, height, kind: ImageKind::Jpeg { components }, data: bytes.to_vec() });
        }
        pos += 2 + len;
    }
    None
}

fn png(bytes: &[u8]) -> Option<Image> {
    let mut pos = 8;
    let (mut width, mut height, mut color_type) = (0, 0, 255u8);
    let mut palette = Vec::new();
    let mut data = Vec::new();
    while pos + 8 <= bytes.len() {
        let len = usize::try_from(u32::from_be_bytes(bytes.get(pos..pos + 4)?.try_into().ok()?)).ok()?;
        let kind = bytes.get(pos + 4..pos + 8)?;
        let body = bytes.get(pos + 8..pos + 8 + len)?;
        match kind {
            b"IHDR" => {
                width = u32::from_be_bytes(body.get(0..4)?.try_into().ok()?);
                height = u32::from_be_bytes(body.get(4..8)?.try_into().ok()?);
                let depth = *body.get(8)?;
                color_type = *body.get(9)?;
                let interlace = *body.get(12)?;
                if depth != 8 || interlace != 0 {
                    return None;
                }
            }
            b"PLTE" => palette = body.to_vec(),
            // Transparency would need decoding to build a soft mask.
            b"tRNS" => return None,
            b"IDAT" => data.extend_from_slice(body),
            b"IEND" => break,
            _ => {}
        }
        pos += 12 + len;
    }
    let kind = match color_type {
        0 => ImageKind::PngGray,
        2 => ImageKind::PngRgb,
        3 if !palette.is_empty() => ImageKind::PngIndexed { palette },
        _ => return None,
    };
    (width > 0 && height > 0 && !data.is_empty()).then_some(Image { width, height, kind, data })
}

#[cfg(test)]
pub(crate) mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

    use super::*;

    /// A PNG with one IHDR, IDAT and IEND (CRCs are not checked by the reader).
    pub(crate) fn tiny_png(color_type: u8) -> Vec<u8> {
        let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
        let mut chunk = |kind: &[u8], body: &[u8]| {
            out.extend_from_slice(&u32::try_from(body.len()).unwrap().to_be_bytes());
            out.extend_from_slice(kind);
            out.extend_from_slice(body);
            out.extend_from_slice(&[0, 0, 0, 0]);
        };
        let mut ihdr = Vec::new();
        ihdr.extend_from_slice(&2u32.to_be_bytes());
        ihdr.extend_from_slice(&2u32.to_be_bytes());
        ihdr.extend_from_slice(&[8, color_type, 0, 0, 0]);
        chunk(b"IHDR", &ihdr);
        let raw: &[u8] = if color_type == 2 {
            &[0, 255, 0, 0, 0, 0, 255, 0, 0, 0, 0, 255, 0, 0, 0]
        } else {
            &[0, 0, 255, 0, 255, 0]
        };
        chunk(b"IDAT", &miniz_oxide::deflate::compress_to_vec_zlib(raw, 6));
        chunk(b"IEND", &[]);
        out
    }

    #[test]
    fn png_and_jpeg_headers_are_read_and_others_refused() {
        let rgb = logo_image(&tiny_png(2)).unwrap();
        assert_eq!((rgb.width, rgb.height), (2, 2));
        assert!(matches!(rgb.kind, ImageKind::PngRgb));
        assert!(logo_image(&tiny_png(6)).is_none(), "alpha is not embedded");
        let jpeg = [0xFF, 0xD8, 0xFF, 0xC0, 0, 11, 8, 0, 30, 0, 40, 3, 0, 0, 0, 0];
        let img = logo_image(&jpeg).unwrap();
        assert_eq!((img.width, img.height), (40, 30));
        assert!(logo_image(b"GIF89a").is_none());
        assert!(logo_image(b"\x89PNG\r\n\x1a\n\0\0").is_none());
    }
}
