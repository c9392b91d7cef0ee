//! Registration: aligning a new scan to the example page a template was taught on.
//!
//! A template made from one example remembers where some printed words (its anchors: labels
//! and titles) sat on that page. On a new scan the same words are looked for; from the
//! pairs found, a similarity transform (shift, one scale, a small rotation) maps the
//! example's coordinates onto the scan's. A fixed region of the example then lands on the
//! same place of a scan fed askew, scanned at another resolution or photographed a little
//! off. Outliers (a word found in the wrong place: the same label printed twice) are left out
//! by trying every pair of anchors and keeping the transform most anchors agree with.

use crate::geometry::BBox;
use crate::text::{label_key, similarity};
use crate::words::PageWords;
use serde::{Deserialize, Serialize};

/// A printed phrase of the example page and where it was, in the example's pixels.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Anchor {
    /// The phrase as printed (one or more words of one line).
    pub text: String,
    /// Its box on the example page, `[x, y, width, height]` in pixels.
    pub at: [f32; 4],
    /// The page of the example it is printed on (from 1): a scan's page is registered on the
    /// anchors of the same page.
    #[serde(default = "first_page", skip_serializing_if = "is_first_page")]
    pub page: u32,
}

fn first_page() -> u32 {
    1
}

fn is_first_page(page: &u32) -> bool {
    *page == 1
}

/// A point of the example and where it was found on the scan.
type Pair = ((f32, f32), (f32, f32));

/// Maps the example page's pixels onto a scan's: `x' = a·x − b·y + tx`, `y' = b·x + a·y + ty`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Transform {
    a: f32,
    b: f32,
    tx: f32,
    ty: f32,
}

impl Transform {
    /// Where the example's point lands on the scan.
    pub fn point(&self, x: f32, y: f32) -> (f32, f32) {
        (self.a * x - self.b * y + self.tx, self.b * x + self.a * y + self.ty)
    }

    /// The scale from the example to the scan.
    pub fn scale(&self) -> f32 {
        (self.a * self.a + self.b * self.b).sqrt()
    }

    /// The rotation from the example to the scan, in degrees.
    pub fn degrees(&self) -> f32 {
        self.b.atan2(self.a).to_degrees()
    }

    /// The scan's box around the example's box `[x, y, w, h]` (its four corners mapped).
    pub fn rect(&self, [x, y, w, h]: [f32; 4]) -> BBox {
        let corners = [self.point(x, y), self.point(x + w, y), self.point(x, y + h), self.point(x + w, y + h)];
        let (x0, y0) = corners.iter().fold((f32::MAX, f32::MAX), |(a, b), &(x, y)| (a.min(x), b.min(y)));
        let (x1, y1) = corners.iter().fold((f32::MIN, f32::MIN), |(a, b), &(x, y)| (a.max(x), b.max(y)));
        let (x0, y0) = (x0.max(0.0), y0.max(0.0));
        BBox::new(x0 as u32, y0 as u32, (x1 - x0).max(1.0) as u32, (y1 - y0).max(1.0) as u32)
    }

    /// The least-squares similarity taking each `from` point to its `to` point (two or more).
    fn fit(pairs: &[Pair]) -> Option<Transform> {
        let n = pairs.len() as f32;
        if pairs.len() < 2 {
            return None;
        }
        let (mut fx, mut fy, mut tx, mut ty) = (0.0, 0.0, 0.0, 0.0);
        for &((x, y), (u, v)) in pairs {
            fx += x;
            fy += y;
            tx += u;
            ty += v;
        }
        let (fx, fy, tx, ty) = (fx / n, fy / n, tx / n, ty / n);
        let (mut sxx, mut sab, mut sba) = (0.0, 0.0, 0.0);
        for &((x, y), (u, v)) in pairs {
            let (x, y, u, v) = (x - fx, y - fy, u - tx, v - ty);
            sxx += x * x + y * y;
            sab += x * u + y * v;
            sba += x * v - y * u;
        }
        if sxx < 1e-6 {
            return None;
        }
        let (a, b) = (sab / sxx, sba / sxx);
        Some(Transform { a, b, tx: tx - a * fx + b * fy, ty: ty - b * fx - a * fy })
    }
}

/// What registering a page found.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Registration {
    /// Example pixels to scan pixels.
    pub transform: Transform,
    /// Anchors found where the transform puts them.
    pub agreeing: usize,
    /// Anchors the template has.
    pub anchors: usize,
}

impl Registration {
    /// The share of the template's anchors found in place: how sure the alignment is, and how
    /// much the page's layout looks like the example's.
    pub fn share(&self) -> f32 {
        self.agreeing as f32 / self.anchors.max(1) as f32
    }
}

/// Where each anchor's phrase is best found on the page (centre, in scan pixels), if at all:
/// the run of words on one line whose text is most like the anchor's (similarity ≥ 0.8).
fn found_anchors(anchors: &[Anchor], page: &PageWords) -> Vec<Option<(f32, f32)>> {
    let lines = page.lines();
    anchors
        .iter()
        .map(|anchor| {
            let key = label_key(&anchor.text);
            if key.chars().count() < 2 {
                return None;
            }
            let mut best: Option<(f32, (f32, f32))> = None;
            for line in &lines {
                for start in 0..line.words.len() {
                    let mut text = String::new();
                    let mut bbox: Option<BBox> = None;
                    for w in &line.words[start..] {
                        text.push_str(&label_key(&w.text));
                        bbox = Some(bbox.map_or(w.bbox, |b| b.union(&w.bbox)));
                        if text.chars().count() > key.chars().count() * 3 / 2 {
                            break;
                        }
                        let s = similarity(&text, &key);
                        if s >= 0.8 && best.is_none_or(|(b, _)| s > b) {
                            let b = bbox.expect("set above");
                            best = Some((s, (b.x as f32 + b.w as f32 / 2.0, b.y as f32 + b.h as f32 / 2.0)));
                        }
                    }
                }
            }
            best.map(|(_, c)| c)
        })
        .collect()
}

/// Aligns `page` to the same page of the example the anchors were taken from (the anchors
/// of other pages are not looked for). `None` when fewer than two anchors are found in
/// agreement (the page is then read without registration).
pub fn register(anchors: &[Anchor], page: &PageWords) -> Option<Registration> {
    let anchors: Vec<Anchor> = anchors.iter().filter(|a| a.page == page.page).cloned().collect();
    let anchors = anchors.as_slice();
    let found = found_anchors(anchors, page);
    let pairs: Vec<Pair> = anchors.iter().zip(&found).filter_map(|(a, f)| f.map(|to| ((a.at[0] + a.at[2] / 2.0, a.at[1] + a.at[3] / 2.0), to))).collect();
    if pairs.len() < 2 {
        return None;
    }
    // A pair agrees when it lands within a tolerance of the page's size.
    let tolerance = 0.02 * (page.width.max(page.height) as f32).max(100.0);
    let agreeing = |t: &Transform| -> Vec<Pair> {
        pairs
            .iter()
            .copied()
            .filter(|&((x, y), (u, v))| {
                let (px, py) = t.point(x, y);
                (px - u).hypot(py - v) <= tolerance
            })
            .collect()
    };
    let mut best: Option<(usize, Transform)> = None;
    for i in 0..pairs.len() {
        for j in i + 1..pairs.len() {
            let Some(t) = Transform::fit(&[pairs[i], pairs[j]]) else { continue };
            // Scans are fed a few degrees askew and scanned at other resolutions, not
            // turned or shrunk tenfold: anything else is a wrong pairing.
            if t.degrees().abs() > 15.0 || !(0.25..4.0).contains(&t.scale()) {
                continue;
            }
            let n = agreeing(&t).len();
            if best.is_none_or(|(b, _)| n > b) {
                best = Some((n, t));
            }
        }
    }
    let (_, rough) = best?;
    let inliers = agreeing(&rough);
    if inliers.len() < 2 {
        return None;
    }
    let transform = Transform::fit(&inliers)?;
    Some(Registration { transform, agreeing: agreeing(&transform).len(), anchors: anchors.len() })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::words::Word;

    /// A page of `phrases` at example positions, moved by `t` (the scan as fed).
    fn scanned(phrases: &[(&str, [f32; 4])], t: Transform) -> PageWords {
        let words = phrases
            .iter()
            .enumerate()
            .map(|(i, (text, [x, y, w, h]))| {
                let (cx, cy) = t.point(x + w / 2.0, y + h / 2.0);
                let (w, h) = (w * t.scale(), h * t.scale());
                Word {
                    text: text.to_string(),
                    bbox: BBox::new((cx - w / 2.0) as u32, (cy - h / 2.0) as u32, w as u32, h as u32),
                    confidence: 0.9,
                    line: i as u32,
                    block: 0,
                }
            })
            .collect();
        PageWords { page: 1, width: 2000, height: 2800, words, rereads: Vec::new(), sparse: Vec::new() }
    }

    const PHRASES: [(&str, [f32; 4]); 5] = [
        ("ឈ្មោះ", [200.0, 300.0, 120.0, 40.0]),
        ("ភេទ", [1100.0, 300.0, 80.0, 40.0]),
        ("អាសយដ្ឋាន", [200.0, 900.0, 220.0, 40.0]),
        ("រោគវិនិច្ឆ័យ", [200.0, 1600.0, 260.0, 40.0]),
        ("ថ្ងៃចូល", [1100.0, 2200.0, 140.0, 40.0]),
    ];

    fn anchors() -> Vec<Anchor> {
        PHRASES.iter().map(|(t, at)| Anchor { text: t.to_string(), at: *at, page: 1 }).collect()
    }

    #[test]
    fn a_shifted_scaled_and_turned_scan_is_aligned_to_its_example() {
        let turned = 1.5f32.to_radians();
        let truth = Transform { a: 1.2 * turned.cos(), b: 1.2 * turned.sin(), tx: 60.0, ty: -35.0 };
        let r = register(&anchors(), &scanned(&PHRASES, truth)).expect("registered");
        assert_eq!((r.agreeing, r.anchors), (5, 5));
        assert!((r.transform.scale() - 1.2).abs() < 0.02, "{:?}", r.transform);
        assert!((r.transform.degrees() - 1.5).abs() < 0.2, "{:?}", r.transform);
        // A value region of the example lands where the scan printed it.
        let (x, y) = truth.point(700.0, 1000.0);
        let b = r.transform.rect([650.0, 980.0, 100.0, 40.0]);
        assert!(b.x as f32 <= x && x <= b.right() as f32 && b.y as f32 <= y && y <= b.bottom() as f32, "{b:?} misses ({x}, {y})");
    }

    #[test]
    fn a_label_found_in_the_wrong_place_does_not_move_the_page() {
        let truth = Transform { a: 1.0, b: 0.0, tx: 20.0, ty: 40.0 };
        let mut page = scanned(&PHRASES, truth);
        // "ភេទ" also printed far away (a second column's copy): the true one is found too,
        // but a lone misplaced copy must not win.
        page.words[1].bbox = BBox::new(1500, 2600, 80, 40);
        let r = register(&anchors(), &page).expect("registered on the others");
        assert_eq!(r.agreeing, 4);
        let (x, y) = r.transform.point(0.0, 0.0);
        assert!((x - 20.0).abs() < 2.0 && (y - 40.0).abs() < 2.0, "({x}, {y})");
    }

    #[test]
    fn a_page_without_the_anchors_is_not_registered() {
        let other = PageWords::typeset(1, 2000, 2800, &["OUTPATIENT CONSULTATION CARD", "Patient ID: 004512"]);
        assert!(register(&anchors(), &other).is_none());
    }

    #[test]
    fn each_page_is_registered_on_the_anchors_of_its_own_page() {
        let truth = Transform { a: 1.0, b: 0.0, tx: 30.0, ty: 10.0 };
        // The example's anchors said to be on page 2: page 1 of a scan is not aligned with
        // them (its own anchors are none), page 2 is.
        let second: Vec<Anchor> = anchors().into_iter().map(|a| Anchor { page: 2, ..a }).collect();
        let mut page = scanned(&PHRASES, truth);
        assert!(register(&second, &page).is_none(), "page 1 has no anchors of its own");
        page.page = 2;
        let r = register(&second, &page).expect("page 2 registered");
        assert_eq!((r.agreeing, r.anchors), (5, 5));
    }
}
