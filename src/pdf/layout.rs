//! The page model: A4 pages drawn in millimetres from the top-left corner, with text in the
//! embedded fonts, filled rectangles, lines and images, written out as a compact PDF. A document
//! is one page unless [`Page::next_page`] starts another; its pages share fonts and images.
//!
//! Owns: PDF objects (pdf-writer), font subsetting (subsetter: only the glyphs a document uses are
//! embedded, as CIDFontType2 with Identity-H, real widths and a ToUnicode map so text can be
//! searched and copied), and Flate compression of every stream.
//! Must never: know what a notice or a receipt is.

use std::collections::HashMap;

use pdf_writer::types::{CidFontType, FontFlags, SystemInfo};
use pdf_writer::{Content, Filter, Finish, Name, Pdf, Rect, Ref, Str, TextStr};
use subsetter::GlyphRemapper;

use super::PdfError;
use super::fonts::{FontId, font};

/// A4 in points.
pub const PAGE_WIDTH_PT: f32 = 595.276;
pub const PAGE_HEIGHT_PT: f32 = 841.89;

/// Points per millimetre.
pub const PT_PER_MM: f32 = 72.0 / 25.4;

/// An RGB colour, components 0..=1.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rgb(pub f32, pub f32, pub f32);

impl Rgb {
    pub const BLACK: Rgb = Rgb(0.0, 0.0, 0.0);
    pub const WHITE: Rgb = Rgb(1.0, 1.0, 1.0);

    /// From `0xRRGGBB`.
    pub const fn hex(value: u32) -> Rgb {
        Rgb(((value >> 16) & 0xFF) as f32 / 255.0, ((value >> 8) & 0xFF) as f32 / 255.0, (value & 0xFF) as f32 / 255.0)
    }
}

/// Horizontal alignment of a text run at its x coordinate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Align {
    Left,
    Center,
    Right,
}

/// The glyphs of one font that a document uses.
#[derive(Default)]
struct FontUse {
    remapper: GlyphRemapper,
    /// New glyph id → (old glyph id, character), in first-use order.
    glyphs: Vec<(u16, u16, char)>,
    seen: HashMap<u16, u16>,
}

/// An image XObject to embed.
pub struct Image {
    pub width: u32,
    pub height: u32,
    pub kind: ImageKind,
    pub data: Vec<u8>,
}

/// How an image's data is encoded.
pub enum ImageKind {
    /// A JPEG file as is (DCTDecode), with its number of colour components.
    Jpeg {
        components: u8,
    },
    /// PNG IDAT data (zlib with PNG predictors), 8 bits per component.
    PngGray,
    PngRgb,
    /// Palette PNG: the RGB palette.
    PngIndexed {
        palette: Vec<u8>,
    },
}

/// A document being drawn, one page at a time.
pub struct Page {
    content: Content,
    /// The content streams of the pages before the current one.
    done: Vec<pdf_writer::Buf>,
    fonts: [FontUse; 3],
    images: Vec<Image>,
    title: String,
}

/// The PDF y coordinate of `y_mm` from the top.
fn y_pt(y_mm: f32) -> f32 {
    PAGE_HEIGHT_PT - y_mm * PT_PER_MM
}

impl Page {
    pub fn new(title: &str) -> Page {
        Page {
            content: Content::new(),
            done: Vec::new(),
            fonts: Default::default(),
            images: Vec::new(),
            title: title.to_owned(),
        }
    }

    /// Ends the current page and starts a blank one below the same title.
    pub fn next_page(&mut self) {
        let finished = std::mem::replace(&mut self.content, Content::new());
        self.done.push(finished.finish());
    }

    /// A filled rectangle; `x`, `y` its top-left corner, in mm.
    pub fn fill_rect(&mut self, x: f32, y: f32, w: f32, h: f32, color: Rgb) {
        self.content.set_fill_rgb(color.0, color.1, color.2);
        self.content.rect(x * PT_PER_MM, y_pt(y + h), w * PT_PER_MM, h * PT_PER_MM);
        self.content.fill_nonzero();
    }

    /// A stroked rectangle outline, `line` mm wide.
    pub fn stroke_rect(&mut self, x: f32, y: f32, w: f32, h: f32, line: f32, color: Rgb) {
        self.content.set_stroke_rgb(color.0, color.1, color.2);
        self.content.set_line_width(line * PT_PER_MM);
        self.content.rect(x * PT_PER_MM, y_pt(y + h), w * PT_PER_MM, h * PT_PER_MM);
        self.content.stroke();
    }

    /// A straight line, `line` mm wide; `dash` (mm) draws it dashed, as a cutting line.
    pub fn line(&mut self, from: (f32, f32), to: (f32, f32), line: f32, color: Rgb, dash: Option<f32>) {
        self.content.save_state();
        self.content.set_stroke_rgb(color.0, color.1, color.2);
        self.content.set_line_width(line * PT_PER_MM);
        if let Some(d) = dash {
            self.content.set_dash_pattern([d * PT_PER_MM, d * PT_PER_MM], 0.0);
        }
        self.content.move_to(from.0 * PT_PER_MM, y_pt(from.1));
        self.content.line_to(to.0 * PT_PER_MM, y_pt(to.1));
        self.content.stroke();
        self.content.restore_state();
    }

    /// Dark modules of a 2D code: `modules` is row-major, `n_cols` wide; `module` mm per module.
    pub fn modules(&mut self, x: f32, y: f32, module: f32, n_cols: usize, modules: &[bool], color: Rgb) {
        self.content.set_fill_rgb(color.0, color.1, color.2);
        for (row, cells) in modules.chunks(n_cols.max(1)).enumerate() {
            // One rectangle per horizontal run of dark modules keeps the stream small.
            let mut col = 0;
            while col < cells.len() {
                if cells.get(col).copied().unwrap_or(false) {
                    let start = col;
                    while cells.get(col).copied().unwrap_or(false) {
                        col += 1;
                    }
                    let top = y + row as f32 * module;
                    self.content.rect(
                        (x + start as f32 * module) * PT_PER_MM,
                        y_pt(top + module),
                        (col - start) as f32 * module * PT_PER_MM,
                        module * PT_PER_MM,
                    );
                } else {
                    col += 1;
                }
            }
        }
        self.content.fill_nonzero();
    }

    /// One line of text whose baseline is at `y` mm; returns its width in mm.
    #[expect(clippy::too_many_arguments, reason = "a drawing call names position, font, size, colour and alignment")]
    pub fn text(&mut self, x: f32, y: f32, font_id: FontId, size: f32, color: Rgb, align: Align, text: &str) -> f32 {
        let Ok(f) = font(font_id) else { return 0.0 };
        let glyphs: Vec<_> = text.chars().map(|ch| f.glyph(ch)).collect();
        let width_pt = glyphs.iter().map(|g| g.advance).sum::<f32>() * size / 1000.0;
        let x_pt = match align {
            Align::Left => x * PT_PER_MM,
            Align::Center => x * PT_PER_MM - width_pt / 2.0,
            Align::Right => x * PT_PER_MM - width_pt,
        };
        let Some(used) = self.fonts.get_mut(font_id.index()) else { return 0.0 };
        let mut encoded = Vec::with_capacity(glyphs.len() * 2);
        for g in &glyphs {
            let new_id = match used.seen.get(&g.id) {
                Some(id) => *id,
                None => {
                    let id = used.remapper.remap(g.id);
                    used.seen.insert(g.id, id);
                    used.glyphs.push((id, g.id, g.ch));
                    id
                }
            };
            encoded.extend_from_slice(&new_id.to_be_bytes());
        }
        self.content.set_fill_rgb(color.0, color.1, color.2);
        self.content.begin_text();
        self.content.set_font(font_name(font_id), size);
        self.content.next_line(x_pt, y_pt(y));
        self.content.show(Str(&encoded));
        self.content.end_text();
        width_pt / PT_PER_MM
    }

    /// Draws `image` scaled to fit a `w` × `h` mm box (aspect kept, centred).
    pub fn image(&mut self, x: f32, y: f32, w: f32, h: f32, image: Image) {
        if image.width == 0 || image.height == 0 {
            return;
        }
        let ratio = image.width as f32 / image.height as f32;
        let (dw, dh) = if ratio >= w / h { (w, w / ratio) } else { (h * ratio, h) };
        let (dx, dy) = (x + (w - dw) / 2.0, y + (h - dh) / 2.0);
        let name = format!("Im{}", self.images.len());
        self.images.push(image);
        self.content.save_state();
        self.content.transform([dw * PT_PER_MM, 0.0, 0.0, dh * PT_PER_MM, dx * PT_PER_MM, y_pt(dy + dh)]);
        self.content.x_object(Name(name.as_bytes()));
        self.content.restore_state();
    }

    /// The finished PDF.
    pub fn finish(self) -> Result<Vec<u8>, PdfError> {
        let mut next = 1;
        let mut alloc = || {
            let id = Ref::new(next);
            next += 1;
            id
        };
        let mut streams = self.done;
        streams.push(self.content.finish());
        // The first page's objects come before the info dictionary, the others after it: a
        // one-page document is numbered as it always was.
        let (catalog_id, tree_id, page_id, content_id, info_id) = (alloc(), alloc(), alloc(), alloc(), alloc());
        let mut page_ids = vec![(page_id, content_id)];
        for _ in 1..streams.len() {
            page_ids.push((alloc(), alloc()));
        }
        let mut pdf = Pdf::new();
        pdf.catalog(catalog_id).pages(tree_id);
        let count = i32::try_from(page_ids.len()).unwrap_or(i32::MAX);
        pdf.pages(tree_id).kids(page_ids.iter().map(|(p, _)| *p)).count(count);
        pdf.document_info(info_id).title(TextStr(&self.title)).producer(TextStr("mypay"));

        let font_ids: Vec<(FontId, Ref)> = FontId::ALL
            .into_iter()
            .filter(|id| self.fonts.get(id.index()).is_some_and(|u| !u.glyphs.is_empty()))
            .map(|id| (id, alloc()))
            .collect();
        let image_ids: Vec<Ref> = self.images.iter().map(|_| alloc()).collect();

        for ((page_id, content_id), stream) in page_ids.iter().zip(&streams) {
            let mut page = pdf.page(*page_id);
            page.media_box(Rect::new(0.0, 0.0, PAGE_WIDTH_PT, PAGE_HEIGHT_PT));
            page.parent(tree_id);
            page.contents(*content_id);
            let mut resources = page.resources();
            let mut fonts = resources.fonts();
            for (id, r) in &font_ids {
                fonts.pair(font_name(*id), *r);
            }
            fonts.finish();
            let mut xobjects = resources.x_objects();
            for (i, r) in image_ids.iter().enumerate() {
                xobjects.pair(Name(format!("Im{i}").as_bytes()), *r);
            }
            xobjects.finish();
            resources.finish();
            page.finish();

            let content = deflate(stream.as_slice());
            pdf.stream(*content_id, &content).filter(Filter::FlateDecode);
        }

        for (id, type0_id) in &font_ids {
            let Some(used) = self.fonts.get(id.index()) else { continue };
            write_font(&mut pdf, &mut alloc, *id, *type0_id, used)?;
        }
        for (image, r) in self.images.iter().zip(&image_ids) {
            write_image(&mut pdf, *r, image);
        }
        Ok(pdf.finish())
    }
}

fn font_name(id: FontId) -> Name<'static> {
    match id {
        FontId::Regular => Name(b"F0"),
        FontId::SemiBold => Name(b"F1"),
        FontId::Bold => Name(b"F2"),
    }
}

fn deflate(data: &[u8]) -> Vec<u8> {
    miniz_oxide::deflate::compress_to_vec_zlib(data, 6)
}

fn write_font(
    pdf: &mut Pdf,
    alloc: &mut impl FnMut() -> Ref,
    id: FontId,
    type0_id: Ref,
    used: &FontUse,
) -> Result<(), PdfError> {
    let f = font(id)?;
    let (cid_id, descriptor_id, file_id, cmap_id) = (alloc(), alloc(), alloc(), alloc());
    let subset = subsetter::subset(f.bytes, 0, &used.remapper).map_err(|err| PdfError::Font(format!("{err:?}")))?;
    // A subset font's name starts with a six-letter tag (ISO 32000-1 §9.6.4); it is the same for
    // every document, which only matters to readers that merge fonts across files.
    let base = format!("MYPAYA+{}", id.postscript_name());
    let base_name = Name(base.as_bytes());
    let system_info = SystemInfo { registry: Str(b"Adobe"), ordering: Str(b"Identity"), supplement: 0 };

    pdf.type0_font(type0_id)
        .base_font(base_name)
        .encoding_predefined(Name(b"Identity-H"))
        .descendant_font(cid_id)
        .to_unicode(cmap_id);

    let mut cid = pdf.cid_font(cid_id);
    cid.subtype(CidFontType::Type2);
    cid.base_font(base_name);
    cid.system_info(system_info);
    cid.font_descriptor(descriptor_id);
    cid.default_width(0.0);
    cid.cid_to_gid_map_predefined(Name(b"Identity"));
    let mut by_new: Vec<(u16, u16)> = used.glyphs.iter().map(|(new, old, _)| (*new, *old)).collect();
    by_new.sort_unstable();
    let mut widths = cid.widths();
    for (new, old) in &by_new {
        widths.consecutive(*new, [f.advance_of(*old)]);
    }
    widths.finish();
    cid.finish();

    let [x0, y0, x1, y1] = f.bbox;
    pdf.font_descriptor(descriptor_id)
        .name(base_name)
        .flags(FontFlags::NON_SYMBOLIC)
        .bbox(Rect::new(x0, y0, x1, y1))
        .italic_angle(0.0)
        .ascent(f.ascent)
        .descent(f.descent)
        .cap_height(f.cap_height)
        .stem_v(if id == FontId::Regular { 80.0 } else { 140.0 })
        .font_file2(file_id);

    let mut cmap = pdf_writer::types::UnicodeCmap::<u16>::new(Name(b"Custom"), system_info);
    for (new, _, ch) in &used.glyphs {
        cmap.pair(*new, *ch);
    }
    pdf.cmap(cmap_id, &cmap.finish());

    let compressed = deflate(&subset);
    let length = i32::try_from(subset.len()).unwrap_or(i32::MAX);
    pdf.stream(file_id, &compressed).filter(Filter::FlateDecode).pair(Name(b"Length1"), length);
    Ok(())
}

fn write_image(pdf: &mut Pdf, id: Ref, image: &Image) {
    let mut x = pdf.image_xobject(id, &image.data);
    x.width(i32::try_from(image.width).unwrap_or(0));
    x.height(i32::try_from(image.height).unwrap_or(0));
    x.bits_per_component(8);
    match &image.kind {
        ImageKind::Jpeg { components } => {
            x.filter(Filter::DctDecode);
            match components {
                1 => x.color_space().device_gray(),
                4 => x.color_space().device_cmyk(),
                _ => x.color_space().device_rgb(),
            }
        }
        ImageKind::PngGray | ImageKind::PngRgb | ImageKind::PngIndexed { .. } => {
            x.filter(Filter::FlateDecode);
            let colors = if matches!(image.kind, ImageKind::PngRgb) { 3 } else { 1 };
            x.decode_parms()
                .predictor(pdf_writer::types::Predictor::PngOptimum)
                .colors(colors)
                .bits_per_component(8)
                .columns(i32::try_from(image.width).unwrap_or(0));
            match &image.kind {
                ImageKind::PngGray => x.color_space().device_gray(),
                ImageKind::PngIndexed { palette } => {
                    let hival = i32::try_from(palette.len() / 3).unwrap_or(1).saturating_sub(1);
                    x.color_space().indexed(Name(b"DeviceRGB"), hival, palette);
                }
                _ => x.color_space().device_rgb(),
            }
        }
    }
}
