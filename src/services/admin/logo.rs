//! The org's logo as stored: any accepted PNG or JPEG decoded, scaled down to fit
//! [`LOGO_MAX_SIDE`] and re-encoded as an 8-bit RGB PNG.
//!
//! Owns: decoding and encoding the image files (the resampling is `domain::image_scale`).
//! Why one stored form: the notice PDF embeds an opaque 8-bit PNG without decoding it
//! (`pdf::images`), and a 400 px logo is sharp in its 30 mm box (≈340 dpi) and in the portal
//! header, so a camera-sized upload is never carried into every notice.
//! Must never: store a file it could not decode; transparency is flattened on white, the paper
//! the notice is printed on.

use crate::domain::image_scale::{downscale_rgb, fit_within};

/// The longest side of a stored logo, in pixels.
pub const LOGO_MAX_SIDE: u32 = 400;

/// The most pixels an upload may decode to: a 256 KB file can declare a huge, compressible
/// raster, and decoding it whole would take gigabytes.
const MAX_SOURCE_PIXELS: u64 = 40_000_000;

/// Why an upload cannot be a logo.
#[derive(Debug, thiserror::Error)]
pub enum LogoError {
    #[error("must be a PNG or JPEG image")]
    NotAnImage,
    #[error("the image cannot be decoded: {0}")]
    Undecodable(String),
    #[error("the image is {0}×{1} pixels, too many to decode")]
    TooManyPixels(u32, u32),
    #[error("cannot encode the PNG: {0}")]
    Encode(String),
}

/// An RGB raster, row-major.
struct Rgb {
    width: u32,
    height: u32,
    pixels: Vec<u8>,
}

/// The stored PNG for an uploaded PNG or JPEG (recognised by its signature).
pub fn normalize(bytes: &[u8]) -> Result<Vec<u8>, LogoError> {
    let source = if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        decode_png(bytes)?
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        decode_jpeg(bytes)?
    } else {
        return Err(LogoError::NotAnImage);
    };
    let (width, height) = fit_within(source.width, source.height, LOGO_MAX_SIDE);
    let pixels = if (width, height) == (source.width, source.height) {
        source.pixels
    } else {
        downscale_rgb(&source.pixels, source.width, source.height, width, height)
    };
    encode_png(&Rgb { width, height, pixels })
}

fn check_size(width: u32, height: u32) -> Result<(), LogoError> {
    if width == 0 || height == 0 {
        return Err(LogoError::Undecodable("empty image".into()));
    }
    if u64::from(width) * u64::from(height) > MAX_SOURCE_PIXELS {
        return Err(LogoError::TooManyPixels(width, height));
    }
    Ok(())
}

fn decode_png(bytes: &[u8]) -> Result<Rgb, LogoError> {
    let bad = |e: png::DecodingError| LogoError::Undecodable(e.to_string());
    let mut decoder = png::Decoder::new_with_limits(
        std::io::Cursor::new(bytes),
        png::Limits { bytes: usize::try_from(MAX_SOURCE_PIXELS * 8).unwrap_or(usize::MAX) },
    );
    decoder.set_transformations(png::Transformations::normalize_to_color8());
    let mut reader = decoder.read_info().map_err(bad)?;
    let (width, height) = (reader.info().width, reader.info().height);
    check_size(width, height)?;
    let mut buf = vec![0; reader.output_buffer_size()];
    let frame = reader.next_frame(&mut buf).map_err(bad)?;
    buf.truncate(frame.buffer_size());
    let (color, _) = reader.output_color_type();
    let channels = match color {
        png::ColorType::Grayscale => 1,
        png::ColorType::GrayscaleAlpha => 2,
        png::ColorType::Rgb => 3,
        png::ColorType::Rgba => 4,
        png::ColorType::Indexed => return Err(LogoError::Undecodable("palette not expanded".into())),
    };
    Ok(Rgb { width, height, pixels: to_rgb(&buf, channels) })
}

fn decode_jpeg(bytes: &[u8]) -> Result<Rgb, LogoError> {
    let bad = |e: jpeg_decoder::Error| LogoError::Undecodable(e.to_string());
    let mut decoder = jpeg_decoder::Decoder::new(bytes);
    decoder.read_info().map_err(bad)?;
    let info = decoder.info().ok_or_else(|| LogoError::Undecodable("no frame header".into()))?;
    let (width, height) = (u32::from(info.width), u32::from(info.height));
    check_size(width, height)?;
    let pixels = decoder.decode().map_err(bad)?;
    let pixels = match info.pixel_format {
        jpeg_decoder::PixelFormat::L8 => to_rgb(&pixels, 1),
        jpeg_decoder::PixelFormat::RGB24 => pixels,
        jpeg_decoder::PixelFormat::CMYK32 => pixels
            .chunks_exact(4)
            .flat_map(|p| {
                let (c, m, y, k) = (p.first(), p.get(1), p.get(2), p.get(3));
                let ink = |v: Option<&u8>| {
                    let (v, k) = (u16::from(v.copied().unwrap_or(0)), u16::from(k.copied().unwrap_or(0)));
                    u8::try_from((255 - v) * (255 - k) / 255).unwrap_or(0)
                };
                [ink(c), ink(m), ink(y)]
            })
            .collect(),
        jpeg_decoder::PixelFormat::L16 => return Err(LogoError::Undecodable("16-bit JPEG".into())),
    };
    Ok(Rgb { width, height, pixels })
}

/// RGB from 1 (grey), 2 (grey + alpha), 3 (RGB) or 4 (RGBA) channels; alpha is composed on white.
fn to_rgb(pixels: &[u8], channels: usize) -> Vec<u8> {
    let on_white = |v: u8, a: u8| {
        let (v, a) = (u16::from(v), u16::from(a));
        u8::try_from((v * a + 255 * (255 - a) + 127) / 255).unwrap_or(u8::MAX)
    };
    pixels
        .chunks_exact(channels)
        .flat_map(|p| match *p {
            [g] => [g, g, g],
            [g, a] => [on_white(g, a); 3],
            [r, g, b] => [r, g, b],
            [r, g, b, a] => [on_white(r, a), on_white(g, a), on_white(b, a)],
            _ => [255; 3],
        })
        .collect()
}

fn encode_png(image: &Rgb) -> Result<Vec<u8>, LogoError> {
    let bad = |e: png::EncodingError| LogoError::Encode(e.to_string());
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, image.width, image.height);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    encoder.set_compression(png::Compression::Best);
    let mut writer = encoder.write_header().map_err(bad)?;
    writer.write_image_data(&image.pixels).map_err(bad)?;
    writer.finish().map_err(bad)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]

    use super::*;

    #[test]
    fn transparency_is_flattened_on_white_and_the_result_is_a_pdf_embeddable_png() {
        let mut rgba = Vec::new();
        let mut encoder = png::Encoder::new(&mut rgba, 2, 1);
        encoder.set_color(png::ColorType::Rgba);
        let mut writer = encoder.write_header().unwrap();
        writer.write_image_data(&[255, 0, 0, 255, 0, 0, 0, 0]).unwrap();
        writer.finish().unwrap();
        let stored = normalize(&rgba).unwrap();
        let image = crate::pdf::images::logo_image(&stored).unwrap();
        assert_eq!((image.width, image.height), (2, 1));
        let mut reader = png::Decoder::new(std::io::Cursor::new(&stored)).read_info().unwrap();
        let mut buf = vec![0; reader.output_buffer_size()];
        reader.next_frame(&mut buf).unwrap();
        assert_eq!(buf, vec![255, 0, 0, 255, 255, 255]);
        assert!(matches!(normalize(b"GIF89a"), Err(LogoError::NotAnImage)));
        assert!(matches!(normalize(b"\xFF\xD8\xFF\xE0garbage"), Err(LogoError::Undecodable(_))));
    }
}
