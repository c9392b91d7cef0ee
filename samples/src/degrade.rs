//! Makes a clean rendering look like an office scan: uneven paper, skew, blur, speckles and
//! (for lossy outputs) sensor noise.

use crate::data::Rng;
use crate::render::Canvas;
use image::GrayImage;

/// Scans the canvas; returns the page and the skew applied, in degrees.
pub fn scan(canvas: &Canvas, rng: &mut Rng, noisy: bool) -> (GrayImage, f32) {
    let paper = 228 + rng.below(22) as u8;
    let mut page = canvas.to_gray(paper);
    // Uneven light: a gentle left-to-right gradient.
    let shade = rng.range(0.0, 18.0);
    let w = page.width() as f32;
    for (x, _, p) in page.enumerate_pixels_mut() {
        p.0[0] = (p.0[0] as f32 - shade * x as f32 / w).max(0.0) as u8;
    }
    let skew = rng.range(-3.0, 3.0);
    page = ocr::preprocess::rotate(&page, skew, paper);
    if rng.chance(0.5) {
        page = box_blur(&page);
    }
    // Speckles: small dark dots.
    let speckles = (page.width() * page.height() / 4000) as usize;
    for _ in 0..speckles {
        let x = rng.below(page.width() as usize - 2) as u32;
        let y = rng.below(page.height() as usize - 2) as u32;
        let dark = rng.below(90) as u8 + 40;
        for (dx, dy) in [(0, 0), (1, 0), (0, 1), (1, 1)].iter().take(1 + rng.below(4)) {
            page.put_pixel(x + dx, y + dy, image::Luma([dark]));
        }
    }
    if noisy {
        for p in page.pixels_mut() {
            let n = (rng.unit() + rng.unit() + rng.unit() - 1.5) * 16.0;
            p.0[0] = (p.0[0] as f32 + n).clamp(0.0, 255.0) as u8;
        }
    }
    (page, skew)
}

/// A 3x3 box blur (scanner optics).
fn box_blur(img: &GrayImage) -> GrayImage {
    let (w, h) = img.dimensions();
    let mut out = img.clone();
    for y in 1..h - 1 {
        for x in 1..w - 1 {
            let mut sum = 0u32;
            for dy in 0..3 {
                for dx in 0..3 {
                    sum += img.get_pixel(x + dx - 1, y + dy - 1).0[0] as u32;
                }
            }
            out.put_pixel(x, y, image::Luma([(sum / 9) as u8]));
        }
    }
    out
}
