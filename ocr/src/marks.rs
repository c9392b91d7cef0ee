//! Check boxes: found in the pixels, because OCR engines read `☒` and `☐` as noise.
//!
//! A check box is a connected outline of ink, square, about the height of a line of text,
//! with ink along all four sides. It is ticked when its inside (away from the outline) holds
//! ink: a cross, a tick or a filled square. The boxes are handed to extraction as words
//! `☒`/`☐` ([`chart::PageWords::add_check_boxes`]), which keeps extraction pure.

use crate::preprocess::{ink_components, otsu_threshold};
use chart::BBox;
use image::GrayImage;

/// One check box on a page.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CheckBox {
    /// Where it is, in the page's pixels.
    pub bbox: BBox,
    /// Share of the inside that is ink, 0..1.
    pub fill: f32,
}

/// Inside ink above this share means a mark.
pub const TICKED_FILL: f32 = 0.06;

impl CheckBox {
    /// Whether the box holds a mark.
    pub fn ticked(&self) -> bool {
        self.fill >= TICKED_FILL
    }

    /// How clearly the box is ticked or empty, 0.5..1: fills near the threshold are doubtful.
    pub fn clarity(&self) -> f32 {
        let margin = if self.ticked() { (self.fill - TICKED_FILL) / 0.10 } else { (TICKED_FILL - self.fill) / TICKED_FILL };
        0.5 + 0.5 * margin.clamp(0.0, 1.0)
    }
}

/// Finds the check boxes of a grey page (ink dark). Sides are between `min_side` and
/// `max_side` pixels: at 300 dpi a box beside 10–14 pt text is 25–60 pixels.
pub fn find_check_boxes(page: &GrayImage, min_side: u32, max_side: u32) -> Vec<CheckBox> {
    let threshold = otsu_threshold(page);
    // 0 = ink, 255 = paper, as `ink_components` expects.
    let bw =
        GrayImage::from_raw(page.width(), page.height(), page.as_raw().iter().map(|&v| if v <= threshold { 0 } else { 255 }).collect()).expect("same size");
    find_check_boxes_bw(&bw, min_side, max_side)
}

/// [`find_check_boxes`] on a page already thresholded (0 ink, 255 paper), such as the
/// page prepared for the engine.
pub fn find_check_boxes_bw(bw: &GrayImage, min_side: u32, max_side: u32) -> Vec<CheckBox> {
    let (w, px) = (bw.width() as usize, bw.as_raw());
    let mut found = Vec::new();
    for c in ink_components(bw) {
        let (bw, bh) = (c.width, c.height);
        if bw < min_side || bh < min_side || bw > max_side || bh > max_side {
            continue;
        }
        let aspect = bw as f32 / bh as f32;
        if !(0.8..=1.25).contains(&aspect) {
            continue;
        }
        // An outline, not a blob: about four sides' worth of stroke.
        let perimeter = 2 * (bw + bh) as usize;
        if c.pixels > perimeter * 8 || c.pixels < perimeter / 2 {
            continue;
        }
        if let Some(fill) = outline_fill(px, w, (c.x as usize, c.y as usize, bw as usize, bh as usize)) {
            found.push(CheckBox { bbox: BBox::new(c.x, c.y, bw, bh), fill });
        }
    }
    found
}

/// For a square outline at `rect`: the inside's ink share, or `None` when one of the four
/// sides (or a corner) lacks ink, as with round letters.
fn outline_fill(px: &[u8], w: usize, (x0, y0, bw, bh): (usize, usize, usize, usize)) -> Option<f32> {
    let ink = |x: usize, y: usize| px[y * w + x] == 0;
    let band = (bw.min(bh) / 6).max(2);
    let covered = |along: usize, hit: &dyn Fn(usize) -> bool| (0..along).filter(|&i| hit(i)).count() as f32 / along as f32;
    let top = covered(bw, &|i| (0..band).any(|d| ink(x0 + i, y0 + d)));
    let bottom = covered(bw, &|i| (0..band).any(|d| ink(x0 + i, y0 + bh - 1 - d)));
    let left = covered(bh, &|i| (0..band).any(|d| ink(x0 + d, y0 + i)));
    let right = covered(bh, &|i| (0..band).any(|d| ink(x0 + bw - 1 - d, y0 + i)));
    if top.min(bottom).min(left).min(right) < 0.9 {
        return None;
    }
    let inset = band + bw.min(bh) / 10;
    if bw <= 2 * inset + 2 || bh <= 2 * inset + 2 {
        return None;
    }
    let mut inside = 0usize;
    let mut total = 0usize;
    for y in y0 + inset..y0 + bh - inset {
        for x in x0 + inset..x0 + bw - inset {
            total += 1;
            inside += usize::from(ink(x, y));
        }
    }
    Some(inside as f32 / total.max(1) as f32)
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::Luma;

    fn square(img: &mut GrayImage, x: u32, y: u32, s: u32, stroke: u32) {
        for yy in y..y + s {
            for xx in x..x + s {
                if xx < x + stroke || yy < y + stroke || xx >= x + s - stroke || yy >= y + s - stroke {
                    img.put_pixel(xx, yy, Luma([20]));
                }
            }
        }
    }

    fn cross(img: &mut GrayImage, x: u32, y: u32, s: u32) {
        for t in s / 5..s - s / 5 {
            for d in 0..4 {
                img.put_pixel(x + t + d.min(s - t - 1), y + t, Luma([20]));
                img.put_pixel(x + s - 1 - t - d.min(s - 1 - t), y + t, Luma([20]));
            }
        }
    }

    #[test]
    fn ticked_and_empty_boxes_are_told_apart_and_letters_are_not_boxes() {
        let mut img = GrayImage::from_pixel(600, 200, Luma([235]));
        square(&mut img, 50, 50, 40, 3);
        square(&mut img, 200, 50, 40, 3);
        cross(&mut img, 200, 50, 40);
        // A ring (like the letter O) and a filled blob are not boxes.
        for yy in 50..90u32 {
            for xx in 350..390u32 {
                let (dx, dy) = (xx as f32 - 369.5, yy as f32 - 69.5);
                let r = (dx * dx + dy * dy).sqrt();
                if (16.0..20.0).contains(&r) {
                    img.put_pixel(xx, yy, Luma([20]));
                }
                img.put_pixel(xx + 100, yy, Luma([20]));
            }
        }
        let boxes = find_check_boxes(&img, 20, 90);
        assert_eq!(boxes.len(), 2, "{boxes:?}");
        let empty = boxes.iter().find(|b| b.bbox.x == 50).unwrap();
        let ticked = boxes.iter().find(|b| b.bbox.x == 200).unwrap();
        assert!(!empty.ticked() && ticked.ticked(), "{empty:?} {ticked:?}");
        assert!(empty.clarity() > 0.9 && ticked.clarity() > 0.9);
        assert_eq!(ticked.bbox, BBox::new(200, 50, 40, 40));
    }
}
