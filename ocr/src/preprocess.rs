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
    /// Give the engine a black-and-white image instead of grey.
    pub binarize: bool,
    /// How to choose black and white: one global threshold or a local one.
    pub method: Binarization,
    /// Whiten dark scanner borders (black regions touching the page edge).
    pub remove_borders: bool,
    /// Remove ruled lines (table borders, rules, underlines) from the black-and-white image:
    /// a page segmenter reads a ruled table as one picture and returns nothing.
    pub remove_lines: bool,
    /// Remove specks (black blobs of at most `speck_pixels`) from the black-and-white image.
    pub despeckle: bool,
    /// Largest blob, in pixels, counted as a speck.
    pub speck_pixels: usize,
    /// Read the page at 1/N of its size (1 = full size). Large print scanned at 300 dpi
    /// reads as well at half size and Tesseract needs less time; word boxes are mapped back.
    pub ocr_downscale: u32,
    /// Read small print enlarged: when the page's letters are smaller than Tesseract reads
    /// well (a 150 or 200 dpi scan, an A5 card), the engine gets the page scaled up so that
    /// they are [`TARGET_TEXT_HEIGHT`] pixels high. Word boxes are mapped back.
    pub enlarge_small_text: bool,
}

/// The height, in pixels, of a typical letter (the median connected component) that
/// Tesseract reads best; smaller print is enlarged to it (in quarter steps). The resolution
/// the engine reads at is chosen from the letters, not from the file's dpi. Larger print is
/// read as it is: shrinking 300 dpi pages (letters of 28–34 pixels) to this height saved 3%
/// of the engine's time and lost 2 points of exact fields on forms-dev's odd half.
pub const TARGET_TEXT_HEIGHT: f32 = 26.0;

impl Default for Preprocessor {
    fn default() -> Self {
        Self {
            deskew: true,
            max_skew_degrees: 15.0,
            binarize: true,
            method: Binarization::Otsu,
            remove_borders: true,
            remove_lines: true,
            despeckle: true,
            speck_pixels: 8,
            ocr_downscale: 1,
            enlarge_small_text: true,
        }
    }
}

/// Thresholding methods.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Binarization {
    /// One threshold for the page (Otsu): fast, right for evenly lit scans.
    Otsu,
    /// A threshold per pixel from its neighbourhood (Sauvola): survives grey backgrounds,
    /// stains and uneven light.
    Sauvola,
}

/// A page ready for recognition.
#[derive(Debug, Clone)]
pub struct PreparedPage {
    /// The deskewed grey page: what reviewers see, and what word boxes refer to.
    pub display: GrayImage,
    /// What the engine reads: `display`, thresholded when binarisation is on.
    pub for_ocr: GrayImage,
    /// The skew that was corrected, in degrees (0 when under a quarter of a degree).
    pub skew_degrees: f32,
    /// The threshold used, when binarisation is on.
    pub threshold: Option<u8>,
    /// `for_ocr` is `display` scaled by this factor (below 1: shrunk, above: enlarged);
    /// the engine's boxes are divided by it.
    pub ocr_scale: f32,
    /// The median height of the page's letters, in `display` pixels, when measured.
    pub text_height: Option<f32>,
}

impl Preprocessor {
    /// Runs the enabled steps on a decoded page.
    pub fn prepare(&self, page: &DynamicImage) -> PreparedPage {
        match page.as_luma8() {
            Some(gray) => self.prepare_gray(std::borrow::Cow::Borrowed(gray)),
            None => self.prepare_gray(std::borrow::Cow::Owned(page.to_luma8())),
        }
    }

    /// [`Preprocessor::prepare`] for a grey page, copying it only when it is kept as is.
    pub fn prepare_gray(&self, gray: std::borrow::Cow<'_, GrayImage>) -> PreparedPage {
        let mut skew = 0.0;
        let display = if self.deskew {
            let estimated = estimate_skew(&gray, self.max_skew_degrees);
            // Tesseract reads a quarter of a degree as well as none; rotating costs ~13 ms.
            if estimated.abs() >= 0.25 {
                skew = estimated;
                rotate(&gray, -skew, background_level(&gray))
            } else {
                gray.into_owned()
            }
        } else {
            gray.into_owned()
        };
        let factor = self.ocr_downscale.max(1);
        let mut scale = 1.0 / factor as f32;
        let mut text_height = None;
        let mut source = if factor > 1 { std::borrow::Cow::Owned(shrink(&display, factor)) } else { std::borrow::Cow::Borrowed(&display) };
        let threshold_of = |img: &GrayImage| otsu_threshold(img);
        let bw_of = |img: &GrayImage, t: u8| match self.method {
            Binarization::Otsu => binarize(img, t),
            Binarization::Sauvola => sauvola(img, (img.width() / 60).clamp(15, 101) | 1, 0.34),
        };
        let (for_ocr, threshold) = if self.binarize {
            let mut t = threshold_of(&source);
            if self.enlarge_small_text && factor == 1 {
                // (With one threshold for the page, only the band measured is thresholded.)
                text_height = match self.method {
                    Binarization::Otsu => letter_height_in_band(binarized_band(&source, t)),
                    Binarization::Sauvola => letter_height(&bw_of(&source, t)),
                };
                if let Some(hgt) = text_height.filter(|h| *h < TARGET_TEXT_HEIGHT) {
                    // Quarter steps up to 3x: the engine's time grows with the pixels.
                    scale = ((TARGET_TEXT_HEIGHT / hgt.max(4.0)) * 4.0).round().clamp(4.0, 12.0) / 4.0;
                    let (w, h) = (((display.width() as f32) * scale) as u32, ((display.height() as f32) * scale) as u32);
                    source = std::borrow::Cow::Owned(resize(&display, w, h));
                    t = threshold_of(&source);
                }
            }
            let mut bw = bw_of(&source, t);
            if self.remove_borders {
                remove_borders(&mut bw);
            }
            if self.remove_lines {
                // Runs longer than 1/15 of the page's width: longer than any stroke of text.
                let min_run = (bw.width() / 15).max(40);
                remove_lines(&mut bw, min_run);
            }
            if self.despeckle {
                despeckle(&mut bw, ((self.speck_pixels as f32 * scale * scale) as usize).max(1));
            }
            (bw, Some(t))
        } else {
            (source.into_owned(), None)
        };
        PreparedPage { display, for_ocr, skew_degrees: skew, threshold, ocr_scale: scale, text_height }
    }
}

/// `img` scaled to `width` × `height` with a bilinear filter (fast_image_resize's SIMD
/// convolution: about 10x faster than the image crate's on an enlarged page).
pub fn resize(img: &GrayImage, width: u32, height: u32) -> GrayImage {
    use fast_image_resize as fr;
    let (w, h) = img.dimensions();
    let (width, height) = (width.max(1), height.max(1));
    // A GrayImage's buffer always holds width × height bytes, which is all these check.
    let src = fr::images::ImageRef::new(w, h, img.as_raw(), fr::PixelType::U8).expect("a grey image's buffer fits its size");
    let mut dst = fr::images::Image::new(width, height, fr::PixelType::U8);
    let options = fr::ResizeOptions::new().resize_alg(fr::ResizeAlg::Convolution(fr::FilterType::Bilinear));
    fr::Resizer::new().resize(&src, &mut dst, &options).expect("same pixel type on both sides");
    GrayImage::from_raw(width, height, dst.into_vec()).expect("the buffer was made for this size")
}

/// The median height of the letters on a black-and-white page: connected components of ink
/// shaped like letters (not specks, rules or pictures). `None` on a page with too few.
pub fn letter_height(bw: &GrayImage) -> Option<f32> {
    letter_height_in_band(binarized_band(bw, 128))
}

/// A band across the middle of the page, thresholded at `threshold`: it holds letters
/// enough to measure them.
fn binarized_band(img: &GrayImage, threshold: u8) -> GrayImage {
    let (w, h) = img.dimensions();
    let (top, rows) = (h / 5, (h * 3 / 5).max(1).min(h - h / 5));
    let raw = &img.as_raw()[(top * w) as usize..((top + rows) * w) as usize];
    GrayImage::from_raw(w, rows, raw.iter().map(|&p| if p <= threshold { 0 } else { 255 }).collect()).expect("same size")
}

/// [`letter_height`] of the band [`binarized_band`] gives.
fn letter_height_in_band(band: GrayImage) -> Option<f32> {
    // On a large page, half size is still more than the small print this looks for needs.
    let (sample, factor) = if band.width() > 2000 { (binarize(&shrink(&band, 2), 128), 2) } else { (band, 1) };
    letter_height_of(&sample, MIN_LETTER_HEIGHT / factor).map(|h| h * factor as f32)
}

/// Ink shorter than this many pixels is not counted as a letter: scanner noise on a grey or
/// unevenly lit page leaves thousands of specks of 3–4 pixels, which made the median letter
/// 3 pixels high on such pages (and the page was read enlarged 3x). No form is printed so
/// small that its letters are under 6 pixels at the dpi it is scanned at.
const MIN_LETTER_HEIGHT: u32 = 6;

fn letter_height_of(bw: &GrayImage, min_height: u32) -> Option<f32> {
    let mut heights: Vec<u32> = ink_components(bw)
        .into_iter()
        // Letters: a few pixels and more, neither a line nor a blot.
        .filter(|c| c.pixels >= 6 && (min_height..=100).contains(&c.height) && c.width <= 3 * c.height && c.height <= 4 * c.width.max(1))
        .map(|c| c.height)
        .collect();
    if heights.len() < 50 {
        return None;
    }
    heights.sort_unstable();
    Some(heights[heights.len() / 2] as f32)
}

/// A connected piece of ink (8-connected black pixels) of a black-and-white page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Component {
    pub x: u32,
    pub y: u32,
    pub width: u32,
    pub height: u32,
    /// How many pixels of ink.
    pub pixels: usize,
}

/// The connected pieces of ink of a page thresholded to 0 (ink) and 255 (paper), in the
/// order of their first pixel (top to bottom, left to right).
pub(crate) fn ink_components(bw: &GrayImage) -> Vec<Component> {
    InkRuns::of(bw).components
}

/// A page's ink as runs of black pixels along its rows, joined into 8-connected pieces.
/// Labelling runs (with union-find) touches each run a few times instead of each pixel
/// nine: several times faster than flooding the pixels, with the same pieces.
struct InkRuns {
    /// Each run: its row, first column and one past its last, top to bottom, left to right.
    runs: Vec<(u32, u32, u32)>,
    /// The piece (index into `components`) of each run.
    piece: Vec<u32>,
    components: Vec<Component>,
}

impl InkRuns {
    fn of(bw: &GrayImage) -> Self {
        let (w, h) = (bw.width() as usize, bw.height() as usize);
        let px = bw.as_raw();
        let mut runs: Vec<(u32, u32, u32)> = Vec::new();
        // Where each row's runs start in `runs` (one more entry for the end).
        let mut row_start = Vec::with_capacity(h + 1);
        for y in 0..h {
            row_start.push(runs.len());
            let row = &px[y * w..(y + 1) * w];
            let mut x = 0;
            while x < w {
                match row[x..].iter().position(|&v| v == 0) {
                    None => break,
                    Some(i) => x += i,
                }
                let end = row[x..].iter().position(|&v| v != 0).map_or(w, |i| x + i);
                runs.push((y as u32, x as u32, end as u32));
                x = end;
            }
        }
        row_start.push(runs.len());
        let mut parent: Vec<u32> = (0..runs.len() as u32).collect();
        fn root(parent: &mut [u32], mut i: u32) -> u32 {
            while parent[i as usize] != i {
                parent[i as usize] = parent[parent[i as usize] as usize];
                i = parent[i as usize];
            }
            i
        }
        for y in 1..h {
            let (above, here) = (row_start[y - 1]..row_start[y], row_start[y]..row_start[y + 1]);
            let mut a = above.start;
            for r in here {
                let (_, x0, x1) = runs[r];
                // Runs above that touch this one, corners included: columns x0-1 ..= x1.
                while a < above.end && runs[a].2 < x0 {
                    a += 1;
                }
                let mut k = a;
                while k < above.end && runs[k].1 <= x1 {
                    let (ra, rb) = (root(&mut parent, k as u32), root(&mut parent, r as u32));
                    if ra != rb {
                        // The earlier run stays the root: a piece is named by its first run.
                        let (lo, hi) = (ra.min(rb), ra.max(rb));
                        parent[hi as usize] = lo;
                    }
                    k += 1;
                }
            }
        }
        let mut piece = vec![0u32; runs.len()];
        let mut index_of_root: Vec<u32> = vec![u32::MAX; runs.len()];
        let mut components: Vec<Component> = Vec::new();
        // Bounding boxes as (x0, y0, x1, y1) while they grow.
        let mut bounds: Vec<(u32, u32, u32, u32)> = Vec::new();
        for (i, &(y, x0, x1)) in runs.iter().enumerate() {
            let r = root(&mut parent, i as u32) as usize;
            if index_of_root[r] == u32::MAX {
                index_of_root[r] = components.len() as u32;
                components.push(Component { x: 0, y: 0, width: 0, height: 0, pixels: 0 });
                bounds.push((x0, y, x1 - 1, y));
            }
            let c = index_of_root[r];
            piece[i] = c;
            let b = &mut bounds[c as usize];
            *b = (b.0.min(x0), b.1.min(y), b.2.max(x1 - 1), b.3.max(y));
            components[c as usize].pixels += (x1 - x0) as usize;
        }
        for (c, (x0, y0, x1, y1)) in components.iter_mut().zip(bounds) {
            (c.x, c.y, c.width, c.height) = (x0, y0, x1 - x0 + 1, y1 - y0 + 1);
        }
        InkRuns { runs, piece, components }
    }

    /// Whitens every run of the pieces `remove` says.
    fn whiten(&self, img: &mut GrayImage, remove: &[bool]) {
        let w = img.width() as usize;
        let px = &mut **img;
        for (&(y, x0, x1), &c) in self.runs.iter().zip(&self.piece) {
            if remove[c as usize] {
                px[y as usize * w + x0 as usize..y as usize * w + x1 as usize].fill(255);
            }
        }
    }
}

/// Otsu's threshold: the grey level that best separates ink from paper.
pub fn otsu_threshold(img: &GrayImage) -> u8 {
    // Four histograms filled in turn and summed: consecutive pixels of the same grey do not
    // wait on each other's count (twice as fast on a page).
    let mut four = [[0u32; 256]; 4];
    let chunks = img.as_raw().chunks_exact(4);
    for p in chunks.remainder() {
        four[0][*p as usize] += 1;
    }
    for c in chunks {
        four[0][c[0] as usize] += 1;
        four[1][c[1] as usize] += 1;
        four[2][c[2] as usize] += 1;
        four[3][c[3] as usize] += 1;
    }
    let mut hist = [0u64; 256];
    for (i, h) in hist.iter_mut().enumerate() {
        *h = four.iter().map(|f| f[i] as u64).sum();
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

/// Sauvola's local threshold: a pixel is ink when darker than
/// `mean * (1 + k * (std / 128 - 1))` over the `window` x `window` square around it. Uses
/// integral images, so the cost does not depend on the window.
pub fn sauvola(img: &GrayImage, window: u32, k: f32) -> GrayImage {
    let (w, h) = (img.width() as usize, img.height() as usize);
    let src = img.as_raw();
    let stride = w + 1;
    let mut sum = vec![0u64; stride * (h + 1)];
    let mut sq = vec![0u64; stride * (h + 1)];
    for y in 0..h {
        let (mut row, mut row_sq) = (0u64, 0u64);
        for x in 0..w {
            let v = src[y * w + x] as u64;
            row += v;
            row_sq += v * v;
            sum[(y + 1) * stride + x + 1] = sum[y * stride + x + 1] + row;
            sq[(y + 1) * stride + x + 1] = sq[y * stride + x + 1] + row_sq;
        }
    }
    let r = (window / 2) as usize;
    let mut out = vec![255u8; w * h];
    for y in 0..h {
        let (y0, y1) = (y.saturating_sub(r), (y + r + 1).min(h));
        for x in 0..w {
            let (x0, x1) = (x.saturating_sub(r), (x + r + 1).min(w));
            let n = ((y1 - y0) * (x1 - x0)) as f32;
            let s = (sum[y1 * stride + x1] + sum[y0 * stride + x0] - sum[y0 * stride + x1] - sum[y1 * stride + x0]) as f32;
            let q = (sq[y1 * stride + x1] + sq[y0 * stride + x0] - sq[y0 * stride + x1] - sq[y1 * stride + x0]) as f32;
            let mean = s / n;
            let std = (q / n - mean * mean).max(0.0).sqrt();
            let t = mean * (1.0 + k * (std / 128.0 - 1.0));
            if (src[y * w + x] as f32) <= t {
                out[y * w + x] = 0;
            }
        }
    }
    GrayImage::from_raw(w as u32, h as u32, out).expect("w*h pixels")
}

/// Whitens dark scanner borders: black regions that touch the page edge and reach far
/// along it or into the page (text that touches an edge is small and stays).
pub fn remove_borders(img: &mut GrayImage) -> usize {
    let (w, h) = (img.width() as usize, img.height() as usize);
    let px = &mut **img;
    let mut seen = vec![false; w * h];
    let mut removed = 0;
    let edge: Vec<usize> = (0..w).flat_map(|x| [x, (h - 1) * w + x]).chain((0..h).flat_map(|y| [y * w, y * w + w - 1])).collect();
    for start in edge {
        if px[start] != 0 || seen[start] {
            continue;
        }
        let mut blob = Vec::new();
        let (mut x0, mut y0, mut x1, mut y1) = (usize::MAX, usize::MAX, 0, 0);
        flood(px, w, h, start, &mut seen, |i| {
            let (x, y) = (i % w, i / w);
            (x0, y0, x1, y1) = (x0.min(x), y0.min(y), x1.max(x), y1.max(y));
            blob.push(i);
        });
        let (bw, bh) = (x1 - x0 + 1, y1 - y0 + 1);
        if bw * 10 > w || bh * 10 > h {
            for i in blob {
                px[i] = 255;
            }
            removed += 1;
        }
    }
    removed
}

/// Visits the black (0) pixels 8-connected to `start`, marking them in `seen`.
fn flood(px: &[u8], w: usize, h: usize, start: usize, seen: &mut [bool], mut visit: impl FnMut(usize)) {
    let mut stack = vec![start];
    seen[start] = true;
    while let Some(i) = stack.pop() {
        visit(i);
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
}

/// Whitens ruled lines and table borders: horizontal and vertical strokes at least
/// `min_run` pixels long. Scanned lines are ragged (blur, JPEG, a fraction of a degree of
/// skew), so a line is found where a 3-pixel band is at least 85% ink over `min_run`
/// pixels; then only the ink that is thin across the line is whitened, so letters that touch
/// or cross a line keep their strokes. Returns how many pixels were whitened.
pub fn remove_lines(img: &mut GrayImage, min_run: u32) -> usize {
    let (w, h) = (img.width() as usize, img.height() as usize);
    let min_run = min_run as usize;
    if w < 3 || h < 3 || min_run == 0 {
        return 0;
    }
    let thick = (w / 150).max(6);
    let need = (min_run * 85 / 100) as u32;
    let px = img.as_raw();
    let ink = |i: usize| px[i] == 0;
    // Only rows and columns holding a long run of ink can hold a line (a ragged line still
    // has runs of a quarter of its length); text has none, so most of the page is skipped.
    let seed = (min_run / 4).max(2);
    // A run of at least `seed` in each row (its length, or 0), and each column's longest.
    let mut row_run = vec![0usize; h];
    let mut col_run = vec![0u32; w];
    let mut cur_col = vec![0u32; w];
    for y in 0..h {
        let row = &px[y * w..(y + 1) * w];
        // Down the columns: each pixel's run so far (written so that it vectorises).
        for ((cur, best), &v) in cur_col.iter_mut().zip(col_run.iter_mut()).zip(row) {
            *cur = if v == 0 { *cur + 1 } else { 0 };
            *best = (*best).max(*cur);
        }
        // Along the row: whether it has a run of `seed` (a run that long covers one of
        // every `seed / 2` pixels, where it is looked for).
        let step = (seed / 2).max(1);
        let mut x = step - 1;
        while x < w {
            if row[x] != 0 {
                x += step;
                continue;
            }
            let start = row[..x].iter().rposition(|&v| v != 0).map_or(0, |i| i + 1);
            let end = row[x..].iter().position(|&v| v != 0).map_or(w, |i| x + i);
            if end - start >= seed {
                row_run[y] = end - start;
                break;
            }
            x = end + step;
        }
    }
    // Whether the ink at (x, y) is thin across the line: at most `thick` pixels of ink
    // in the perpendicular direction, so a letter stroke crossing the line stays.
    let thin = |x: usize, y: usize, vertical_line: bool| -> bool {
        let (dx, dy) = if vertical_line { (1isize, 0isize) } else { (0, 1) };
        let mut n = 1;
        for dir in [-1isize, 1] {
            let (mut cx, mut cy) = (x as isize, y as isize);
            loop {
                cx += dir * dx;
                cy += dir * dy;
                if cx < 0 || cy < 0 || cx >= w as isize || cy >= h as isize || !ink(cy as usize * w + cx as usize) {
                    break;
                }
                n += 1;
                if n > thick {
                    return false;
                }
            }
        }
        true
    };
    // The pixels to whiten, a bit each (once every line is found: finding reads the ink as
    // it was).
    let mut erase = vec![0u64; (w * h).div_ceil(64)];
    let mut mark = |i: usize| erase[i / 64] |= 1 << (i % 64);

    // Horizontal lines: a window of `min_run` pixels of a 3-row band, 85% ink.
    let mut prefix = vec![0u32; w + 1];
    let mut on = vec![false; w];
    for y in 1..h - 1 {
        if row_run[y - 1].max(row_run[y]).max(row_run[y + 1]) < seed || w < min_run {
            continue;
        }
        for x in 0..w {
            let any = ink((y - 1) * w + x) || ink(y * w + x) || ink((y + 1) * w + x);
            prefix[x + 1] = prefix[x] + u32::from(any);
        }
        on.iter_mut().for_each(|o| *o = false);
        let mut marked_to = 0;
        let mut found = false;
        for x in 0..=w - min_run {
            if prefix[x + min_run] - prefix[x] >= need {
                on[marked_to.max(x)..x + min_run].iter_mut().for_each(|o| *o = true);
                marked_to = x + min_run;
                found = true;
            }
        }
        if !found {
            continue;
        }
        for yy in y - 1..=y + 1 {
            for (x, _) in on.iter().enumerate().filter(|(_, o)| **o) {
                if ink(yy * w + x) && thin(x, yy, false) {
                    mark(yy * w + x);
                }
            }
        }
    }

    // Vertical lines: the same down each candidate column.
    if h >= min_run {
        let mut column = vec![0u32; h + 1];
        for x in 1..w - 1 {
            if col_run[x - 1].max(col_run[x]).max(col_run[x + 1]) < seed as u32 {
                continue;
            }
            for y in 0..h {
                let any = ink(y * w + x - 1) || ink(y * w + x) || ink(y * w + x + 1);
                column[y + 1] = column[y] + u32::from(any);
            }
            let mut marked_to = 0;
            for y in 0..=h - min_run {
                if column[y + min_run] - column[y] >= need {
                    for yy in marked_to.max(y)..y + min_run {
                        for xx in x - 1..=x + 1 {
                            if ink(yy * w + xx) && thin(xx, yy, true) {
                                mark(yy * w + xx);
                            }
                        }
                    }
                    marked_to = y + min_run;
                }
            }
        }
    }
    let px = &mut **img;
    let mut removed = 0;
    for (word, &bits) in erase.iter().enumerate().filter(|(_, b)| **b != 0) {
        removed += bits.count_ones() as usize;
        let mut rest = bits;
        while rest != 0 {
            px[word * 64 + rest.trailing_zeros() as usize] = 255;
            rest &= rest - 1;
        }
    }
    removed
}

/// Whitens every black (0) blob of at most `max_pixels` 8-connected pixels; returns how
/// many blobs were removed. Dots of text at 300 dpi are several times larger than specks.
pub fn despeckle(img: &mut GrayImage, max_pixels: usize) -> usize {
    let ink = InkRuns::of(img);
    let remove: Vec<bool> = ink.components.iter().map(|c| c.pixels <= max_pixels).collect();
    ink.whiten(img, &remove);
    remove.iter().filter(|r| **r).count()
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
    let coarse = search(-max_degrees, max_degrees, 0.5, &mut score);
    let medium = search(coarse - 0.5, coarse + 0.5, 0.1, &mut score);
    search(medium - 0.1, medium + 0.1, 0.02, &mut score)
}

/// The first and last `x` in `0..width` for which `inside` holds, given that it holds on one
/// run of consecutive `x` (or nowhere). A rotated row's source moves in a straight line, so
/// the part of it inside the page is such a run; the run is found by sampling the row and
/// then searching its two edges by bisection.
fn inside_run(width: i64, inside: &dyn Fn(i64) -> bool) -> Option<(i64, i64)> {
    if width <= 0 {
        return None;
    }
    // Any run of more than `step` pixels holds a sample; a shorter one is found pixel by pixel.
    let step = 64;
    let hit = (0..width).step_by(step).chain(std::iter::once(width - 1)).find(|&x| inside(x)).or_else(|| (0..width).find(|&x| inside(x)))?;
    // The run's edges: the first inside pixel at or before `hit`, and the last at or after it.
    let first = first_where(-1, hit, inside);
    let last = first_where(hit, width, &|x| x >= width || !inside(x)) - 1;
    Some((first, last))
}

/// The first `x` in `lo + 1..=hi` for which `holds` is true, by bisection, given that it is
/// false at `lo`, true at `hi`, and changes once between them.
fn first_where(mut lo: i64, mut hi: i64, holds: &dyn Fn(i64) -> bool) -> i64 {
    while hi - lo > 1 {
        let mid = (lo + hi) / 2;
        if holds(mid) {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    hi
}

/// Rotates by `degrees` about the centre (bilinear), filling uncovered corners with `fill`.
/// Fixed-point arithmetic, stepping the source position along each row: about 4x faster than
/// computing every position in floating point.
pub fn rotate(img: &GrayImage, degrees: f32, fill: u8) -> GrayImage {
    let (w, h) = img.dimensions();
    let (s, c) = (degrees.to_radians() as f64).sin_cos();
    let (cx, cy) = (w as f64 / 2.0, h as f64 / 2.0);
    let src = img.as_raw();
    let stride = w as usize;
    let mut dst = vec![fill; w as usize * h as usize];
    const ONE: f64 = 65536.0;
    let (max_x, max_y) = (((w - 1) as i64) << 16, ((h - 1) as i64) << 16);
    let (step_x, step_y) = ((c * ONE) as i64, (-s * ONE) as i64);
    for y in 0..h as usize {
        let dy = y as f64 - cy;
        // Source position of the row's first pixel; each pixel to the right adds (c, -s).
        let sx = ((c * -cx + s * dy + cx) * ONE) as i64;
        let sy = ((-s * -cx + c * dy + cy) * ONE) as i64;
        let row = &mut dst[y * stride..(y + 1) * stride];
        // The pixels whose source lies inside the page form one run along the row (the source
        // moves in a straight line): found first, so that the loop over them tests nothing.
        let inside = |x: i64| {
            let (px, py) = (sx + x * step_x, sy + x * step_y);
            px >= 0 && py >= 0 && px < max_x && py < max_y
        };
        let Some((first, last)) = inside_run(w as i64, &inside) else { continue };
        let (mut px, mut py) = (sx + first * step_x, sy + first * step_y);
        for out in &mut row[first as usize..=last as usize] {
            let (x0, y0) = ((px >> 16) as usize, (py >> 16) as usize);
            let (fx, fy) = ((px & 0xFFFF) as u32, (py & 0xFFFF) as u32);
            let i = y0 * stride + x0;
            let (p00, p10, p01, p11) = (src[i] as u32, src[i + 1] as u32, src[i + stride] as u32, src[i + stride + 1] as u32);
            let top = p00 * (65536 - fx) + p10 * fx;
            let bottom = p01 * (65536 - fx) + p11 * fx;
            let v = ((top >> 8) * ((65536 - fy) >> 8) + (bottom >> 8) * (fy >> 8) + (1 << 15)) >> 16;
            *out = v.min(255) as u8;
            px += step_x;
            py += step_y;
        }
    }
    GrayImage::from_raw(w, h, dst).expect("buffer has w*h pixels")
}

#[cfg(test)]
mod line_tests {
    use super::*;

    #[test]
    fn ruled_lines_go_and_text_strokes_stay() {
        let mut img = GrayImage::from_pixel(400, 300, image::Luma([255]));
        for x in 10..390 {
            for y in 100..103 {
                img.put_pixel(x, y, image::Luma([0]));
            }
        }
        for y in 10..290 {
            img.put_pixel(200, y, image::Luma([0]));
            img.put_pixel(201, y, image::Luma([0]));
        }
        // A "letter": a 30-pixel stroke and a 20-pixel bar.
        for y in 150..180 {
            img.put_pixel(50, y, image::Luma([0]));
        }
        for x in 40..60 {
            img.put_pixel(x, 150, image::Luma([0]));
        }
        // Ragged like a scan: every 7th pixel of the rule missing.
        for x in (10..390).step_by(7) {
            img.put_pixel(x, 101, image::Luma([255]));
        }
        let removed = remove_lines(&mut img, 40);
        assert!(removed >= 380 * 3 - 55 + 280 * 2 - 12, "{removed}");
        assert_eq!(img.get_pixel(50, 160).0[0], 0);
        assert_eq!(img.get_pixel(45, 150).0[0], 0);
        // Only the letter is left, and a speck where the lines cross (despeckle's job).
        let left: Vec<(u32, u32)> = img
            .enumerate_pixels()
            .filter(|p| p.2 .0[0] == 0)
            .map(|p| (p.0, p.1))
            .filter(|&(x, y)| !(199..203).contains(&x) || !(99..104).contains(&y))
            .collect();
        assert_eq!(left.len(), 30 + 19, "{left:?}");
    }
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
    fn enlargement_matches_a_bilinear_filter_within_a_grey_level() {
        let img = GrayImage::from_fn(97, 61, |x, y| image::Luma([((x * 7 + y * 13) % 251) as u8]));
        let ours = resize(&img, 170, 107);
        let reference = image::imageops::resize(&img, 170, 107, image::imageops::FilterType::Triangle);
        assert_eq!(ours.dimensions(), (170, 107));
        let worst = ours.as_raw().iter().zip(reference.as_raw()).map(|(a, b)| a.abs_diff(*b)).max().unwrap();
        assert!(worst <= 1, "differs by {worst} grey levels");
    }

    #[test]
    fn otsu_separates_ink_from_paper() {
        let t = otsu_threshold(&lined_page());
        assert!((30..235).contains(&t), "threshold {t}");
    }

    #[test]
    fn skew_is_measured_to_a_tenth_of_a_degree() {
        let page = lined_page();
        for angle in [-14.5f32, -9.0, -3.0, -1.2, 0.0, 0.7, 2.5, 7.3, 15.0] {
            let skewed = rotate(&page, angle, 235);
            let est = estimate_skew(&skewed, 15.0);
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
    fn sauvola_survives_uneven_light_where_otsu_fails() {
        // Text-like strokes (3 px wide, as letters are) on paper that darkens from left (240)
        // to right (110), the ink 70 levels darker than the paper around it.
        let strokes = {
            let mut img = lined_page();
            for (x, _, p) in img.enumerate_pixels_mut() {
                if x % 7 > 2 {
                    p.0[0] = 235;
                }
            }
            img
        };
        let mut page = strokes.clone();
        for (x, _, p) in page.enumerate_pixels_mut() {
            let paper = 240.0 - 130.0 * x as f32 / 1200.0;
            p.0[0] = if p.0[0] < 100 { (paper - 70.0) as u8 } else { paper as u8 };
        }
        let ink =
            |img: &GrayImage, x0: u32, x1: u32| (0..1600).flat_map(|y| (x0..x1).map(move |x| (x, y))).filter(|&(x, y)| img.get_pixel(x, y)[0] == 0).count();
        let truth = binarize(&strokes, 128);
        let (left, right) = (ink(&truth, 0, 300), ink(&truth, 900, 1200));
        let otsu = binarize(&page, otsu_threshold(&page));
        let local = sauvola(&page, 41, 0.34);
        // Otsu turns the dark side's paper black; Sauvola keeps ink about where it was.
        assert!(ink(&otsu, 900, 1200) > 3 * right, "otsu {} vs {right}", ink(&otsu, 900, 1200));
        for (got, want) in [(ink(&local, 0, 300), left), (ink(&local, 900, 1200), right)] {
            assert!((got as f32 - want as f32).abs() < 0.35 * want as f32, "sauvola {got} vs {want}");
        }
    }

    #[test]
    fn dark_scanner_borders_are_removed_but_text_stays() {
        let mut page = binarize(&lined_page(), 128);
        let text_ink = page.as_raw().iter().filter(|&&p| p == 0).count();
        for y in 0..1600 {
            for x in 0..40 {
                page.put_pixel(x, y, Luma([0]));
            }
        }
        for x in 0..1200 {
            for y in 1570..1600 {
                page.put_pixel(x, y, Luma([0]));
            }
        }
        assert_eq!(remove_borders(&mut page), 1, "the two strips touch: one border");
        assert_eq!(page.as_raw().iter().filter(|&&p| p == 0).count(), text_ink);
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

#[cfg(test)]
mod run_tests {
    use super::*;

    /// The pieces as a flood fill of the pixels finds them, in the order of their first pixel.
    fn flooded(bw: &GrayImage) -> Vec<Component> {
        let (w, h) = (bw.width() as usize, bw.height() as usize);
        let px = bw.as_raw();
        let mut seen = vec![false; w * h];
        let mut out = Vec::new();
        for start in 0..w * h {
            if px[start] != 0 || seen[start] {
                continue;
            }
            let (mut x0, mut y0, mut x1, mut y1, mut n) = (usize::MAX, usize::MAX, 0, 0, 0usize);
            flood(px, w, h, start, &mut seen, |i| {
                let (x, y) = (i % w, i / w);
                (x0, y0, x1, y1) = (x0.min(x), y0.min(y), x1.max(x), y1.max(y));
                n += 1;
            });
            out.push(Component { x: x0 as u32, y: y0 as u32, width: (x1 - x0 + 1) as u32, height: (y1 - y0 + 1) as u32, pixels: n });
        }
        out
    }

    #[test]
    fn the_inside_run_of_a_row_is_found_as_by_testing_every_pixel() {
        // Intervals anywhere along rows of several widths, short ones included, and none.
        for width in [1i64, 5, 63, 64, 65, 300, 2480] {
            for (a, b) in [(0, width - 1), (3, 3), (width / 2, width - 1), (0, width / 3), (width / 3, width / 2), (width + 5, width + 9)] {
                let inside = |x: i64| x >= a && x <= b;
                let want = (0..width).find(|&x| inside(x)).map(|f| (f, (0..width).rev().find(|&x| inside(x)).unwrap()));
                assert_eq!(inside_run(width, &inside), want, "width {width}, run {a}..={b}");
            }
        }
    }

    #[test]
    fn runs_find_the_same_pieces_as_a_flood_fill() {
        // Random ink of several densities (specks, blobs joined at corners, a page edge),
        // from a fixed-seed generator.
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for (w, h, density) in [(1, 1, 50), (7, 1, 50), (1, 9, 50), (40, 30, 10), (64, 48, 35), (97, 61, 55), (120, 80, 70)] {
            let raw: Vec<u8> = (0..w * h).map(|_| if next() % 100 < density { 0 } else { 255 }).collect();
            let bw = GrayImage::from_raw(w, h, raw).unwrap();
            assert_eq!(ink_components(&bw), flooded(&bw), "{w}x{h} at {density}%");
            // Despeckling leaves exactly the pieces over the size.
            let mut cleaned = bw.clone();
            let removed = despeckle(&mut cleaned, 3);
            let big: Vec<Component> = flooded(&bw).into_iter().filter(|c| c.pixels > 3).collect();
            assert_eq!(removed, flooded(&bw).len() - big.len());
            assert_eq!(flooded(&cleaned), big);
        }
    }
}
