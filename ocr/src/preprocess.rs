//! Pure pixels-in, pixels-out preprocessing: greyscale, Otsu threshold, skew estimation by
//! projection profile, rotation. Each step can be switched off in [`Preprocessor`].

use image::{DynamicImage, GrayImage};

/// Which preprocessing steps run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Preprocessor {
    /// Estimate and correct skew up to `max_skew_degrees`.
    pub deskew: bool,
    /// Largest skew searched, in degrees either way.
    pub max_skew_degrees: f32,
    /// Give the engine a black-and-white image (Otsu threshold) instead of grey.
    pub binarize: bool,
    /// Remove specks (black blobs of at most `speck_pixels`) from the black-and-white image.
    pub despeckle: bool,
    /// Largest blob, in pixels, counted as a speck.
    pub speck_pixels: usize,
}

impl Default for Preprocessor {
    fn default() -> Self {
        Self { deskew: true, max_skew_degrees: 5.0, binarize: true, despeckle: true, speck_pixels: 8 }
    }
}

/// A page ready for recognition.
#[derive(Debug, Clone)]
pub struct PreparedPage {
    /// The deskewed grey page: what reviewers see, and what word boxes refer to.
    pub display: GrayImage,
    /// What the engine reads: `display`, thresholded when binarisation is on.
    pub for_ocr: GrayImage,
    /// The skew that was corrected, in degrees.
    pub skew_degrees: f32,
    /// The threshold used, when binarisation is on.
    pub threshold: Option<u8>,
}

impl Preprocessor {
    /// Runs the enabled steps on a decoded page.
    pub fn prepare(&self, page: &DynamicImage) -> PreparedPage {
        let gray = page.to_luma8();
        let mut skew = 0.0;
        let display = if self.deskew {
            skew = estimate_skew(&gray, self.max_skew_degrees);
            if skew.abs() >= 0.05 {
                rotate(&gray, -skew, background_level(&gray))
            } else {
                gray
            }
        } else {
            gray
        };
        let (for_ocr, threshold) = if self.binarize {
            let t = otsu_threshold(&display);
            let mut bw = binarize(&display, t);
            if self.despeckle {
                despeckle(&mut bw, self.speck_pixels);
            }
            (bw, Some(t))
        } else {
            (display.clone(), None)
        };
        PreparedPage { display, for_ocr, skew_degrees: skew, threshold }
    }
}

/// Otsu's threshold: the grey level that best separates ink from paper.
pub fn otsu_threshold(img: &GrayImage) -> u8 {
    let mut hist = [0u64; 256];
    for p in img.as_raw() {
        hist[*p as usize] += 1;
    }
    let total: u64 = hist.iter().sum();
    if total == 0 {
        return 128;
    }
    let sum_all: f64 = hist.iter().enumerate().map(|(i, &c)| i as f64 * c as f64).sum();
    let (mut sum_b, mut w_b, mut best, mut best_t) = (0.0f64, 0u64, -1.0f64, 128u8);
    for (t, &count) in hist.iter().enumerate() {
        w_b += count;
        if w_b == 0 {
            continue;
        }
        let w_f = total - w_b;
        if w_f == 0 {
            break;
        }
        sum_b += t as f64 * count as f64;
        let m_b = sum_b / w_b as f64;
        let m_f = (sum_all - sum_b) / w_f as f64;
        let between = w_b as f64 * w_f as f64 * (m_b - m_f) * (m_b - m_f);
        if between > best {
            best = between;
            best_t = t as u8;
        }
    }
    best_t
}

/// Pixels at or below `threshold` become black (0), the rest white (255).
pub fn binarize(img: &GrayImage, threshold: u8) -> GrayImage {
    let raw: Vec<u8> = img.as_raw().iter().map(|&p| if p <= threshold { 0 } else { 255 }).collect();
    GrayImage::from_raw(img.width(), img.height(), raw).expect("same size")
}

/// Whitens every black (0) blob of at most `max_pixels` 8-connected pixels; returns how
/// many blobs were removed. Dots of text at 300 dpi are several times larger than specks.
pub fn despeckle(img: &mut GrayImage, max_pixels: usize) -> usize {
    let (w, h) = (img.width() as usize, img.height() as usize);
    let px = &mut **img;
    let mut seen = vec![false; w * h];
    let mut stack = Vec::new();
    let mut blob = Vec::new();
    let mut removed = 0;
    for start in 0..w * h {
        if px[start] != 0 || seen[start] {
            continue;
        }
        seen[start] = true;
        stack.push(start);
        blob.clear();
        let mut big = false;
        while let Some(i) = stack.pop() {
            if !big {
                blob.push(i);
                big = blob.len() > max_pixels;
            }
            let (x, y) = (i % w, i / w);
            for dy in [-1isize, 0, 1] {
                for dx in [-1isize, 0, 1] {
                    let (nx, ny) = (x as isize + dx, y as isize + dy);
                    if nx < 0 || ny < 0 || nx >= w as isize || ny >= h as isize {
                        continue;
                    }
                    let j = ny as usize * w + nx as usize;
                    if px[j] == 0 && !seen[j] {
                        seen[j] = true;
                        stack.push(j);
                    }
                }
            }
        }
        if !big {
            for &i in &blob {
                px[i] = 255;
            }
            removed += 1;
        }
    }
    removed
}

/// Averages `factor` x `factor` blocks: a small copy for page-level decisions.
pub fn shrink(img: &GrayImage, factor: u32) -> GrayImage {
    let f = factor.max(1);
    let (w, h) = ((img.width() / f).max(1), (img.height() / f).max(1));
    let src = img.as_raw();
    let stride = img.width() as usize;
    let mut out = Vec::with_capacity((w * h) as usize);
    for y in 0..h {
        for x in 0..w {
            let mut sum = 0u32;
            let mut n = 0u32;
            for yy in y * f..((y + 1) * f).min(img.height()) {
                for xx in x * f..((x + 1) * f).min(img.width()) {
                    sum += src[yy as usize * stride + xx as usize] as u32;
                    n += 1;
                }
            }
            out.push((sum / n.max(1)) as u8);
        }
    }
    GrayImage::from_raw(w, h, out).expect("w*h pixels")
}

/// Share of the page that is ink clearly darker than the paper, specks ignored.
pub fn ink_ratio(img: &GrayImage) -> f32 {
    let mut bw = binarize(img, background_level(img).saturating_sub(80));
    despeckle(&mut bw, 2);
    bw.as_raw().iter().filter(|&&p| p == 0).count() as f32 / bw.as_raw().len().max(1) as f32
}

/// Whether the page is a separator sheet: at least three thick black bars standing over the
/// middle of the page, like a patch code (see `samples/separator.png`).
pub fn has_separator_bars(img: &GrayImage) -> bool {
    let bw = binarize(img, background_level(img).saturating_sub(80));
    let (w, h) = bw.dimensions();
    let (top, bottom) = (h / 5, h * 4 / 5);
    let band = (bottom - top).max(1) as f32;
    let solid: Vec<bool> = (0..w).map(|x| (top..bottom).filter(|&y| bw.get_pixel(x, y)[0] == 0).count() as f32 / band > 0.9).collect();
    let min_width = (w / 50).max(2) as usize;
    let mut bars = 0;
    let mut run = 0;
    for s in solid.iter().chain(std::iter::once(&false)) {
        if *s {
            run += 1;
        } else {
            if run >= min_width {
                bars += 1;
            }
            run = 0;
        }
    }
    bars >= 3
}

/// Classifies a page from its pixels, on a quarter-size copy (a few milliseconds).
pub fn classify_page(img: &GrayImage) -> chart::PageKind {
    let small = shrink(img, 4);
    if has_separator_bars(&small) {
        chart::PageKind::Separator
    } else if ink_ratio(&small) < 0.003 {
        chart::PageKind::Blank
    } else {
        chart::PageKind::Content
    }
}

/// The paper colour: the median of the brighter half of the pixels.
pub fn background_level(img: &GrayImage) -> u8 {
    let mut hist = [0u64; 256];
    for p in img.as_raw().iter().step_by(7) {
        hist[*p as usize] += 1;
    }
    let total: u64 = hist.iter().sum();
    let mut seen = 0;
    for (level, count) in hist.iter().enumerate().rev() {
        seen += count;
        if seen * 4 >= total {
            return level as u8;
        }
    }
    255
}

/// Estimates the skew of text lines in degrees (positive: the content was turned the way
/// [`rotate`] turns for a positive angle), searching ±`max_degrees`. Projection profile:
/// the angle at which ink pixels, projected across the lines, pile up most sharply.
pub fn estimate_skew(img: &GrayImage, max_degrees: f32) -> f32 {
    let t = otsu_threshold(img);
    let step = ((img.width().max(img.height()) as f32 / 1000.0).ceil() as u32).max(1);
    let mut points: Vec<(f32, f32)> = Vec::new();
    for y in (0..img.height()).step_by(step as usize) {
        for x in (0..img.width()).step_by(step as usize) {
            if img.get_pixel(x, y)[0] <= t {
                points.push((x as f32, y as f32));
            }
        }
    }
    // A page that is mostly ink (or empty) has no lines to measure.
    let cells = (img.width() / step) as usize * (img.height() / step) as usize;
    if points.len() < 50 || points.len() * 2 > cells {
        return 0.0;
    }
    let diagonal = ((img.width() as f32).hypot(img.height() as f32)) as usize + 2;
    let bin = step as f32;
    let mut hist = vec![0u32; diagonal / step as usize + 4];
    let mut score = |deg: f32| -> f64 {
        hist.iter_mut().for_each(|h| *h = 0);
        let (s, c) = deg.to_radians().sin_cos();
        let offset = img.width() as f32 * s.abs();
        for &(x, y) in &points {
            let row = ((-s * x + c * y + offset) / bin) as usize;
            if let Some(h) = hist.get_mut(row) {
                *h += 1;
            }
        }
        hist.iter().map(|&h| (h as f64) * (h as f64)).sum()
    };
    let search = |from: f32, to: f32, by: f32, score: &mut dyn FnMut(f32) -> f64| -> f32 {
        let mut best = (f64::MIN, 0.0f32);
        let mut a = from;
        while a <= to + 1e-4 {
            let s = score(a);
            if s > best.0 {
                best = (s, a);
            }
            a += by;
        }
        best.1
    };
    let coarse = search(-max_degrees, max_degrees, 0.25, &mut score);
    search(coarse - 0.25, coarse + 0.25, 0.025, &mut score)
}

/// Rotates by `degrees` about the centre (bilinear), filling uncovered corners with `fill`.
pub fn rotate(img: &GrayImage, degrees: f32, fill: u8) -> GrayImage {
    let (w, h) = img.dimensions();
    let (s, c) = degrees.to_radians().sin_cos();
    let (cx, cy) = (w as f32 / 2.0, h as f32 / 2.0);
    let src = img.as_raw();
    let mut dst = vec![fill; w as usize * h as usize];
    for y in 0..h {
        let dy = y as f32 - cy;
        for x in 0..w {
            let dx = x as f32 - cx;
            // Inverse mapping: where this output pixel comes from.
            let sx = c * dx + s * dy + cx;
            let sy = -s * dx + c * dy + cy;
            if sx < 0.0 || sy < 0.0 || sx >= (w - 1) as f32 || sy >= (h - 1) as f32 {
                continue;
            }
            let (x0, y0) = (sx as usize, sy as usize);
            let (fx, fy) = (sx - x0 as f32, sy - y0 as f32);
            let i = y0 * w as usize + x0;
            let (p00, p10, p01, p11) = (src[i] as f32, src[i + 1] as f32, src[i + w as usize] as f32, src[i + w as usize + 1] as f32);
            let top = p00 + (p10 - p00) * fx;
            let bottom = p01 + (p11 - p01) * fx;
            dst[y as usize * w as usize + x as usize] = (top + (bottom - top) * fy + 0.5) as u8;
        }
    }
    GrayImage::from_raw(w, h, dst).expect("buffer has w*h pixels")
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::Luma;

    /// A page of dark horizontal "text lines" made of word-like blocks.
    fn lined_page() -> GrayImage {
        let mut img = GrayImage::from_pixel(1200, 1600, Luma([235]));
        for line in 0..25u32 {
            let y0 = 100 + line * 55;
            let mut x = 80;
            while x < 1100 {
                let len = 40 + (x * 7 + line * 13) % 90;
                for y in y0..y0 + 22 {
                    for xx in x..(x + len).min(1120) {
                        img.put_pixel(xx, y, Luma([30]));
                    }
                }
                x += len + 25;
            }
        }
        img
    }

    #[test]
    fn otsu_separates_ink_from_paper() {
        let t = otsu_threshold(&lined_page());
        assert!((30..235).contains(&t), "threshold {t}");
    }

    #[test]
    fn skew_is_measured_to_a_tenth_of_a_degree() {
        let page = lined_page();
        for angle in [-3.0f32, -1.2, 0.0, 0.7, 2.5] {
            let skewed = rotate(&page, angle, 235);
            let est = estimate_skew(&skewed, 5.0);
            assert!((est - angle).abs() <= 0.1, "rotated by {angle}, estimated {est}");
        }
    }

    #[test]
    fn deskew_restores_lines() {
        let skewed = rotate(&lined_page(), 2.0, 235);
        let prepared = Preprocessor::default().prepare(&DynamicImage::ImageLuma8(skewed));
        assert!((prepared.skew_degrees - 2.0).abs() <= 0.1);
        assert!(prepared.for_ocr.as_raw().iter().all(|&p| p == 0 || p == 255));
        let off = Preprocessor { deskew: false, binarize: false, despeckle: false, ..Default::default() }.prepare(&DynamicImage::ImageLuma8(lined_page()));
        assert_eq!(off.skew_degrees, 0.0);
        assert_eq!(off.threshold, None);
    }

    #[test]
    fn despeckle_removes_specks_but_not_text() {
        let mut img = binarize(&lined_page(), 128);
        let ink_before = img.as_raw().iter().filter(|&&p| p == 0).count();
        for (x, y) in [(20, 20), (21, 21), (600, 1500), (30, 1590)] {
            img.put_pixel(x, y, Luma([0]));
        }
        assert_eq!(despeckle(&mut img, 8), 3, "(20,20)-(21,21) is one diagonal blob");
        assert_eq!(img.as_raw().iter().filter(|&&p| p == 0).count(), ink_before);
    }

    #[test]
    fn pages_are_classified() {
        assert_eq!(classify_page(&lined_page()), chart::PageKind::Content);
        // Blank paper with scanner specks.
        let mut blank = GrayImage::from_pixel(1200, 1600, Luma([232]));
        for i in 0..400u32 {
            blank.put_pixel((i * 7919) % 1200, (i * 104729) % 1600, Luma([60]));
        }
        assert_eq!(classify_page(&blank), chart::PageKind::Blank);
        // Five thick bars over the middle of the page.
        let mut sheet = GrayImage::from_pixel(1200, 1600, Luma([235]));
        for bar in 0..5u32 {
            for x in 300 + bar * 130..300 + bar * 130 + 60 {
                for y in 250..1350 {
                    sheet.put_pixel(x, y, Luma([25]));
                }
            }
        }
        assert_eq!(classify_page(&sheet), chart::PageKind::Separator);
    }

    #[test]
    fn blank_page_has_no_skew() {
        assert_eq!(estimate_skew(&GrayImage::from_pixel(500, 700, Luma([250])), 5.0), 0.0);
    }
}
