//! Downscaling of an 8-bit RGB raster by area averaging, for the org's logo.
//!
//! Owns: the target size that fits a box while keeping the aspect ratio, and the resampling.
//! Must never: upscale (a small image keeps its size), or panic on a raster shorter than its
//! stated size (missing pixels count as white).

/// The size of a `width`×`height` image scaled down to fit `max`×`max`, keeping its aspect
/// ratio; an image that already fits keeps its size. Neither side becomes 0.
pub fn fit_within(width: u32, height: u32, max: u32) -> (u32, u32) {
    if width <= max && height <= max {
        return (width, height);
    }
    let (w, h, m) = (u64::from(width), u64::from(height), u64::from(max));
    // Round to nearest: 1200×601 into 400 gives 400×200, not 400×201 by truncation luck.
    let (new_w, new_h) = if w >= h { (m, (h * m + w / 2) / w) } else { ((w * m + h / 2) / h, m) };
    let side = |v: u64| u32::try_from(v.max(1)).unwrap_or(max);
    (side(new_w), side(new_h))
}

/// `pixels` (RGB, row-major, `width`×`height`) resampled to `new_width`×`new_height`: each
/// target pixel is the mean of the source pixels its area covers, weighted by the covered
/// fraction, so thin lines fade instead of vanishing as they would with nearest-neighbour.
pub fn downscale_rgb(pixels: &[u8], width: u32, height: u32, new_width: u32, new_height: u32) -> Vec<u8> {
    let (w, h) = (u64::from(width), u64::from(height));
    let (nw, nh) = (u64::from(new_width.max(1)), u64::from(new_height.max(1)));
    let x_spans: Vec<Vec<(u64, u64)>> = (0..nw).map(|x| spans(x, w, nw)).collect();
    let mut out = Vec::with_capacity(usize::try_from(nw * nh * 3).unwrap_or(0));
    for y in 0..nh {
        let y_span = spans(y, h, nh);
        for x_span in &x_spans {
            let mut sum = [0u64; 3];
            let mut total = 0u64;
            for &(sy, wy) in &y_span {
                for &(sx, wx) in x_span {
                    let weight = wy * wx;
                    let at = usize::try_from((sy * w + sx) * 3).unwrap_or(usize::MAX);
                    for (c, acc) in sum.iter_mut().enumerate() {
                        let value = at.checked_add(c).and_then(|i| pixels.get(i)).copied().unwrap_or(255);
                        *acc += u64::from(value) * weight;
                    }
                    total += weight;
                }
            }
            for acc in sum {
                let mean = (acc + total / 2) / total.max(1);
                out.push(u8::try_from(mean).unwrap_or(u8::MAX));
            }
        }
    }
    out
}

/// The source indices that target index `i` (of `n`, over `len` source samples) covers, each
/// with its weight in units of 1/`n` of a source sample: target `i` spans `[i·len, (i+1)·len)`.
fn spans(i: u64, len: u64, n: u64) -> Vec<(u64, u64)> {
    let (start, end) = (i * len, (i + 1) * len);
    let mut out = Vec::new();
    let mut s = start / n;
    while s * n < end && s < len {
        let from = start.max(s * n);
        let to = end.min((s + 1) * n);
        if to > from {
            out.push((s, to - from));
        }
        s += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]

    use super::*;

    #[test]
    fn fits_keeping_the_aspect_ratio_and_never_upscales() {
        assert_eq!(fit_within(1200, 600, 400), (400, 200));
        assert_eq!(fit_within(600, 1200, 400), (200, 400));
        assert_eq!(fit_within(1200, 601, 400), (400, 200));
        assert_eq!(fit_within(5000, 2, 400), (400, 1));
        assert_eq!(fit_within(120, 80, 400), (120, 80));
        assert_eq!(fit_within(400, 400, 400), (400, 400));
    }

    #[test]
    fn area_averaging_blends_what_each_pixel_covers() {
        // 4×1: black, white, red, blue → 2×1: grey, purple.
        let src = [0, 0, 0, 255, 255, 255, 255, 0, 0, 0, 0, 255];
        assert_eq!(downscale_rgb(&src, 4, 1, 2, 1), vec![128, 128, 128, 128, 0, 128]);
        // 3→2 splits the middle pixel between both targets.
        let src = [0, 0, 0, 90, 90, 90, 180, 180, 180];
        assert_eq!(downscale_rgb(&src, 3, 1, 2, 1), vec![30, 30, 30, 150, 150, 150]);
        // Same size is the identity; a short raster reads as white, never panics.
        assert_eq!(downscale_rgb(&src, 3, 1, 3, 1), src.to_vec());
        assert_eq!(downscale_rgb(&[], 2, 2, 1, 1), vec![255, 255, 255]);
    }
}
