//! The embedded fonts: Titillium Web (SIL Open Font License 1.1, see `fonts/OFL.txt`), the typeface
//! of the Italian public administration's design system, in three weights, with their real metrics.
//!
//! Owns: the TTF bytes (`include_bytes!`, vendored from the npm package
//! `@expo-google-fonts/titillium-web`, which ships the Google Fonts TTFs), the char → glyph map and
//! glyph advances used both to measure text and to write it.
//! Must never: guess a width: every measurement comes from the font's `hmtx` table, so what is
//! measured is exactly what is drawn (no kerning is applied in either).

use std::sync::OnceLock;

use ttf_parser::{Face, GlyphId};

use super::PdfError;

/// One of the embedded faces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FontId {
    Regular,
    SemiBold,
    Bold,
}

impl FontId {
    pub(crate) const ALL: [FontId; 3] = [FontId::Regular, FontId::SemiBold, FontId::Bold];

    pub(crate) fn index(self) -> usize {
        match self {
            FontId::Regular => 0,
            FontId::SemiBold => 1,
            FontId::Bold => 2,
        }
    }

    /// The PostScript name the PDF font dictionary carries (after the subset tag).
    pub(crate) fn postscript_name(self) -> &'static str {
        match self {
            FontId::Regular => "TitilliumWeb-Regular",
            FontId::SemiBold => "TitilliumWeb-SemiBold",
            FontId::Bold => "TitilliumWeb-Bold",
        }
    }

    fn bytes(self) -> &'static [u8] {
        match self {
            FontId::Regular => include_bytes!("fonts/TitilliumWeb_400Regular.ttf"),
            FontId::SemiBold => include_bytes!("fonts/TitilliumWeb_600SemiBold.ttf"),
            FontId::Bold => include_bytes!("fonts/TitilliumWeb_700Bold.ttf"),
        }
    }
}

/// A parsed face and the numbers the PDF font descriptor needs, in 1/1000 em.
pub(crate) struct Font {
    pub(crate) face: Face<'static>,
    pub(crate) bytes: &'static [u8],
    units_per_em: f32,
    pub(crate) ascent: f32,
    pub(crate) descent: f32,
    pub(crate) cap_height: f32,
    pub(crate) bbox: [f32; 4],
    /// The glyph drawn for a character the font lacks (after folding to ASCII): `?`.
    fallback: GlyphId,
}

/// A glyph to draw: its id in the full font, the character it stands for, and its advance in
/// 1/1000 em.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Glyph {
    pub(crate) id: u16,
    pub(crate) ch: char,
    pub(crate) advance: f32,
}

static FONTS: OnceLock<Result<[Font; 3], String>> = OnceLock::new();

/// The parsed face of `id`; parsed once per process.
pub(crate) fn font(id: FontId) -> Result<&'static Font, PdfError> {
    let fonts = FONTS.get_or_init(|| {
        let parse = |id: FontId| -> Result<Font, String> {
            let bytes = id.bytes();
            let face = Face::parse(bytes, 0).map_err(|err| format!("{}: {err}", id.postscript_name()))?;
            let units = f32::from(face.units_per_em());
            let scale = |v: i16| f32::from(v) * 1000.0 / units;
            let b = face.global_bounding_box();
            let fallback = face.glyph_index('?').unwrap_or(GlyphId(0));
            Ok(Font {
                ascent: scale(face.ascender()),
                descent: scale(face.descender()),
                cap_height: scale(face.capital_height().unwrap_or(face.ascender())),
                bbox: [scale(b.x_min), scale(b.y_min), scale(b.x_max), scale(b.y_max)],
                units_per_em: units,
                fallback,
                face,
                bytes,
            })
        };
        Ok([parse(FontId::Regular)?, parse(FontId::SemiBold)?, parse(FontId::Bold)?])
    });
    match fonts {
        Ok(list) => list.get(id.index()).ok_or_else(|| PdfError::Font("no such face".to_owned())),
        Err(err) => Err(PdfError::Font(err.clone())),
    }
}

impl Font {
    /// The glyph of `ch`: its own, else that of its ASCII folding (`ł` → space is not wanted, so only
    /// accented Latin letters fold), else `?`.
    pub(crate) fn glyph(&self, ch: char) -> Glyph {
        let (id, shown) = match self.face.glyph_index(ch) {
            Some(id) => (id, ch),
            None => {
                let folded = crate::domain::notice_codes::fold_ascii(ch);
                match self.face.glyph_index(folded) {
                    Some(id) if folded != ' ' => (id, folded),
                    _ => (self.fallback, '?'),
                }
            }
        };
        let advance = f32::from(self.face.glyph_hor_advance(id).unwrap_or(0)) * 1000.0 / self.units_per_em;
        Glyph { id: id.0, ch: shown, advance }
    }

    /// The width of `text` at `size` points, in points.
    pub(crate) fn width(&self, text: &str, size: f32) -> f32 {
        text.chars().map(|ch| self.glyph(ch).advance).sum::<f32>() * size / 1000.0
    }

    /// The advance of glyph `id` in 1/1000 em, for the PDF `W` array.
    pub(crate) fn advance_of(&self, id: u16) -> f32 {
        f32::from(self.face.glyph_hor_advance(GlyphId(id)).unwrap_or(0)) * 1000.0 / self.units_per_em
    }
}

/// The width of `text` in `font` at `size` points; 0 when the font cannot be read (the caller's
/// rendering then fails with the same error).
pub fn text_width(font_id: FontId, text: &str, size: f32) -> f32 {
    font(font_id).map(|f| f.width(text, size)).unwrap_or(0.0)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

    use super::*;

    #[test]
    fn every_face_parses_and_measures_from_its_metrics() {
        for id in FontId::ALL {
            let f = font(id).unwrap();
            assert!(f.ascent > 0.0 && f.descent < 0.0);
            let w = f.width("Comune di Esempio", 10.0);
            assert!(w > 50.0 && w < 120.0, "{w}");
        }
        // Bold is wider than regular; a missing character still has a width.
        assert!(text_width(FontId::Bold, "MMMM", 10.0) > text_width(FontId::Regular, "MMMM", 10.0));
        assert!(font(FontId::Regular).unwrap().glyph('\u{4e2d}').advance > 0.0);
        assert_eq!(font(FontId::Regular).unwrap().glyph('€').ch, '€');
    }
}
