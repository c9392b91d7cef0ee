//! Orientation: pages scanned sideways or upside down are turned upright before their words
//! are kept, for any script (Khmer as well as Latin).
//!
//! Two steps. Text lines make the ink profile across them jagged and the profile along them
//! smooth, so comparing the row and column profiles tells 0/180 from 90/270 from pixels alone.
//! Which of the two remains is left to the engine: a page read upside down comes out as
//! low-confidence noise. When the first reading is weak (Khmer on a real scan often is, upright
//! or not), a band across the middle of the page is read turned 180° and compared with the
//! same text in the first reading; only when the turned band reads clearly better is the whole
//! page read again that way. Upright pages, the common case, are read once, and a weak
//! upright page about a third more, not twice.

use crate::preprocess::{background_level, binarize, shrink, PreparedPage, Preprocessor};
use crate::recognize::{OcrError, Recognizer};
use chart::Word;
use image::{DynamicImage, GrayImage};
use std::borrow::Cow;

fn profile_roughness(counts: &[f64]) -> f64 {
    let total: f64 = counts.iter().sum::<f64>().max(1.0);
    counts.windows(2).map(|w| (w[1] - w[0]).powi(2)).sum::<f64>() / (total * total)
}

/// Whether the text lines run down the page (a page turned 90° or 270°).
pub fn is_sideways(page: &GrayImage) -> bool {
    axis_ratio(page) > 1.0
}

/// How much more the ink profile across the page's columns is jagged than across its rows,
/// per unit of length: above 1 the text lines run down the page (sideways), below 1 across.
pub fn axis_ratio(page: &GrayImage) -> f64 {
    let small = shrink(page, 4);
    // Ink clearly darker than the paper: uneven light or a shadow must not count as ink.
    let bw = binarize(&small, background_level(&small).saturating_sub(60));
    let (w, h) = bw.dimensions();
    let mut rows = vec![0f64; h as usize];
    let mut cols = vec![0f64; w as usize];
    for (x, y, p) in bw.enumerate_pixels() {
        if p.0[0] == 0 {
            rows[y as usize] += 1.0;
            cols[x as usize] += 1.0;
        }
    }
    // Normalise for the page's aspect: compare roughness per unit of length. The margin can
    // be thin on a skewed page; a wrong guess only costs a second reading (see read_upright).
    profile_roughness(&cols) * w as f64 / (profile_roughness(&rows) * h as f64).max(1e-12)
}

/// How sure the engine was of a reading: mean confidence of words with letters or digits,
/// weighted by length; 0 when there are fewer than 5 such words.
pub fn reading_confidence(words: &[Word]) -> f32 {
    confidence_from(words, 5).unwrap_or(0.0)
}

/// Mean confidence of the words with letters or digits, weighted by length, when there are
/// at least `min_words` of them.
fn confidence_from(words: &[Word], min_words: usize) -> Option<f32> {
    let real: Vec<&Word> = words.iter().filter(|w| w.text.chars().filter(|c| c.is_alphanumeric()).count() >= 2).collect();
    if real.len() < min_words {
        return None;
    }
    let chars: f32 = real.iter().map(|w| w.text.chars().count() as f32).sum();
    Some(real.iter().map(|w| w.confidence * w.text.chars().count() as f32).sum::<f32>() / chars)
}

/// A reading below this confidence is tried again upside down.
pub const RETRY_BELOW: f32 = 0.60;

/// The other axis is tried only when both readings along the first stay below this: a poor
/// but upright scan costs at most two readings.
pub const OTHER_AXIS_BELOW: f32 = 0.55;

/// Between these, the ink profile does not tell the axis for sure ([`axis_ratio`]).
const AXIS_UNSURE: (f64, f64) = (0.5, 3.0);

/// The band of a page a probe reads: rows 30–60% of its height (forms carry text there).
const BAND: (f32, f32) = (0.30, 0.60);

/// A probe must read this much more confidently than the reading it questions before the
/// whole page is read again its way.
const PROBE_MARGIN: f32 = 0.05;

/// The middle band of `page` ([`BAND`]).
fn band(page: &GrayImage) -> GrayImage {
    let h = page.height();
    let (top, bottom) = ((h as f32 * BAND.0) as u32, (h as f32 * BAND.1) as u32);
    image::imageops::crop_imm(page, 0, top, page.width(), bottom.saturating_sub(top).max(1)).to_image()
}

/// How sure a reading was of the words whose centres lie between `top` and `bottom` (fractions
/// of its page's height), as [`reading_confidence`] but from 3 words up; `None` with fewer.
fn confidence_between(reading: &Reading, top: f32, bottom: f32) -> Option<f32> {
    let h = reading.page.display.height().max(1) as f32;
    let words: Vec<Word> = reading
        .words
        .iter()
        .filter(|w| {
            let c = (w.bbox.y as f32 + w.bbox.h as f32 / 2.0) / h;
            (top..bottom).contains(&c)
        })
        .cloned()
        .collect();
    band_confidence(&words)
}

/// [`reading_confidence`] for the few words of a band: from 3 words with letters or digits.
fn band_confidence(words: &[Word]) -> Option<f32> {
    confidence_from(words, 3)
}

/// A page turned upright and read.
#[derive(Debug, Clone)]
pub struct Reading {
    /// The prepared (upright) page; word boxes refer to its `display`.
    pub page: PreparedPage,
    /// The words.
    pub words: Vec<Word>,
    /// Clockwise rotation applied to the scan: 0, 90, 180 or 270 degrees.
    pub rotation: u32,
    /// Time spent preparing pixels (not reading).
    pub prep_time: std::time::Duration,
    /// Time spent reading only to tell which way is up: bands, and whole readings that were
    /// not kept.
    pub orientation_time: std::time::Duration,
}

/// Tells from a page's words that it was read the right way up: the pipeline passes one that
/// looks for the labels of the known forms (`chart::detect::reads_upright`), which no page
/// read sideways or upside down shows.
pub type UprightCheck<'a> = &'a dyn Fn(&PreparedPage, &[Word]) -> bool;

/// Turns the page upright (when `detect`), prepares it with `pre` and reads it.
pub fn read_upright(engine: &mut dyn Recognizer, pre: &Preprocessor, page: &DynamicImage, detect: bool) -> Result<Reading, OcrError> {
    read_upright_with(engine, pre, page, detect, None)
}

/// [`read_upright`], with a check that settles the way up from a reading's words (`known`):
/// a page it recognises is not questioned further, however weak the engine's confidence.
pub fn read_upright_with(
    engine: &mut dyn Recognizer,
    pre: &Preprocessor,
    page: &DynamicImage,
    detect: bool,
    known: Option<UprightCheck<'_>>,
) -> Result<Reading, OcrError> {
    let started = std::time::Instant::now();
    if !detect {
        let prepared = pre.prepare(page);
        let prep_time = started.elapsed();
        let words = engine.recognize(&prepared)?;
        return Ok(Reading { page: prepared, words, rotation: 0, prep_time, orientation_time: Default::default() });
    }
    let gray = match page.as_luma8() {
        Some(g) => Cow::Borrowed(g),
        None => Cow::Owned(page.to_luma8()),
    };
    let turn = |rotation: u32| -> Cow<'_, GrayImage> {
        match rotation {
            90 => Cow::Owned(image::imageops::rotate90(&*gray)),
            180 => Cow::Owned(image::imageops::rotate180(&*gray)),
            270 => Cow::Owned(image::imageops::rotate270(&*gray)),
            _ => Cow::Borrowed(&*gray),
        }
    };
    let mut clock = Clock { prep: started.elapsed(), read: std::time::Duration::ZERO };
    // Band readings made so far, by rotation / 90.
    let mut probes: [Option<Option<f32>>; 4] = [None; 4];
    let probe = |engine: &mut dyn Recognizer, rotation: u32, clock: &mut Clock, probes: &mut [Option<Option<f32>>; 4]| -> Result<Option<f32>, OcrError> {
        if let Some(known) = probes[(rotation / 90) as usize] {
            return Ok(known);
        }
        let t = std::time::Instant::now();
        let prepared = pre.prepare_gray(Cow::Owned(band(&turn(rotation))));
        clock.prep += t.elapsed();
        let t = std::time::Instant::now();
        let conf = band_confidence(&engine.recognize(&prepared)?);
        clock.read += t.elapsed();
        probes[(rotation / 90) as usize] = Some(conf);
        Ok(conf)
    };
    let whole = |engine: &mut dyn Recognizer, rotation: u32, clock: &mut Clock| -> Result<Attempt, OcrError> {
        let t = std::time::Instant::now();
        let prepared = pre.prepare_gray(turn(rotation));
        clock.prep += t.elapsed();
        let t = std::time::Instant::now();
        let words = engine.recognize(&prepared)?;
        let took = t.elapsed();
        clock.read += took;
        let sure = known.is_some_and(|k| k(&prepared, &words));
        let confidence = reading_confidence(&words);
        Ok(Attempt {
            confidence,
            sure,
            took,
            reading: Reading { page: prepared, words, rotation, prep_time: Default::default(), orientation_time: Default::default() },
        })
    };
    // The reading kept; every other reading's time went to telling which way is up.
    let done = |kept: Attempt, clock: Clock| {
        let mut reading = kept.reading;
        reading.prep_time = clock.prep;
        reading.orientation_time = clock.read.saturating_sub(kept.took);
        Ok(reading)
    };
    let mut best: Option<Attempt> = None;
    // The profile says which axis the lines run along; try that way up first, then upside
    // down, then the other axis, until a reading is confident. Upright pages are read once.
    let ratio = axis_ratio(&gray);
    let mut first = if ratio > 1.0 { 90 } else { 0 };
    // Most scans are fed upright: a profile that leans sideways without being clear is
    // read whole as scanned first when the page's words can tell it upright (an upright page
    // is then read once; otherwise the retries below question it a band at a time, upside
    // down first). Without that check, it is settled on a band read each way up (a band is
    // about a third of a page), and the page is then read whole the way its band read best.
    if ratio > 1.0 && ratio < AXIS_UNSURE.1 && known.is_some() {
        let attempt = whole(&mut *engine, 0, &mut clock)?;
        if attempt.sure {
            return done(attempt, clock);
        }
        best = Some(attempt);
        first = 0;
    } else if ratio > 1.0 && ratio < AXIS_UNSURE.1 {
        let mut best_band = (0, f32::MIN);
        for rotation in [0, 90, 180, 270] {
            let c = probe(&mut *engine, rotation, &mut clock, &mut probes)?.unwrap_or(0.0);
            if c > best_band.1 {
                best_band = (rotation, c);
            }
        }
        first = best_band.0;
    }
    // A profile far from even says the axis for sure (on the samples and forms-dev, every
    // page outside this range was judged right): the other axis is then not tried.
    let axis_is_clear = !(AXIS_UNSURE.0..=AXIS_UNSURE.1).contains(&ratio);
    for (attempt, rotation) in [first, (first + 180) % 360, (first + 90) % 360, (first + 270) % 360].into_iter().enumerate() {
        if attempt == 2 && (axis_is_clear || best.as_ref().is_some_and(|b| b.confidence >= OTHER_AXIS_BELOW)) {
            break;
        }
        // (Read whole already: the page leaning sideways, read as scanned above.)
        if best.as_ref().is_some_and(|b| b.reading.rotation == rotation) {
            continue;
        }
        // A retry is first tried on a band: the page is read whole again only when the band
        // reads clearly better this way. Turned 180° from the best reading, the band is the
        // same text as that reading's rows 40–70%; on the other axis it is compared with the
        // best reading as a whole.
        if let Some(b) = &best {
            let probe_conf = probe(&mut *engine, rotation, &mut clock, &mut probes)?;
            let against = if (rotation + 360 - b.reading.rotation) % 360 == 180 {
                confidence_between(&b.reading, 1.0 - BAND.1, 1.0 - BAND.0).unwrap_or(b.confidence)
            } else {
                b.confidence
            };
            if probe_conf.is_none_or(|p| p <= against + PROBE_MARGIN) {
                continue;
            }
        }
        let attempt = whole(&mut *engine, rotation, &mut clock)?;
        if attempt.sure {
            return done(attempt, clock);
        }
        let confident = attempt.confidence >= RETRY_BELOW;
        if best.as_ref().is_none_or(|b| attempt.confidence > b.confidence + 0.05) {
            best = Some(attempt);
        }
        if confident {
            break;
        }
    }
    done(best.expect("at least one reading"), clock)
}

/// A whole reading of the page one way up.
struct Attempt {
    reading: Reading,
    /// The engine's confidence in it ([`reading_confidence`]).
    confidence: f32,
    /// Whether its words told it upright (the `known` check).
    sure: bool,
    /// How long the engine took.
    took: std::time::Duration,
}

/// Time spent preparing pixels and reading them, over every attempt.
#[derive(Debug, Clone, Copy)]
struct Clock {
    prep: std::time::Duration,
    read: std::time::Duration,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sideways_text_is_recognised_from_the_ink_profile() {
        let samples = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../samples");
        // (SR01/opd-0008.tif, a two-column card with Khmer labels only, is misjudged
        // sideways: its reading is then retried the other way, which costs a reading.)
        for file in ["charts/SR01/ipd-0002.png", "charts/BB01/opd-0006.png", "charts/SR01/opd-0044.tif", "charts/PP01/opd-0010.jpg", "formats/reference.png"] {
            let page = image::open(samples.join(file)).unwrap().to_luma8();
            assert!(!is_sideways(&page), "{file} upright");
            assert!(is_sideways(&image::imageops::rotate90(&page)), "{file} at 90");
            assert!(is_sideways(&image::imageops::rotate270(&page)), "{file} at 270");
            assert!(!is_sideways(&image::imageops::rotate180(&page)), "{file} at 180");
        }
    }

    #[test]
    fn confidence_ignores_punctuation_and_needs_enough_words() {
        let w = |t: &str, c: f32| Word { text: t.into(), bbox: chart::BBox::default(), confidence: c, line: 0, block: 0 };
        assert_eq!(reading_confidence(&[w("ab", 0.9)]), 0.0);
        let words: Vec<Word> = ["alpha", "beta", "gamma", "delta", "epsilon"].iter().map(|t| w(t, 0.8)).chain([w("/", 0.1)]).collect();
        assert!((reading_confidence(&words) - 0.8).abs() < 1e-6);
    }

    /// A scripted engine (the decision logic, not recognition, is under test): every reading
    /// is 8 words spread down the page, at the confidence `conf` gives for the page's height
    /// (a band is a third of the page's) and whether the page was turned (`ink_at_top`).
    struct Scripted<F: Fn(bool, bool) -> f32> {
        conf: F,
        heights: Vec<u32>,
    }

    impl<F: Fn(bool, bool) -> f32> Recognizer for Scripted<F> {
        fn recognize(&mut self, page: &PreparedPage) -> Result<Vec<Word>, OcrError> {
            let (w, h) = page.display.dimensions();
            self.heights.push(h);
            // The test page has its ink in its top rows: where that ink is tells upright.
            let top_dark = page.display.get_pixel(w / 2, 2).0[0] < 128;
            let full = h > 200;
            let c = (self.conf)(full, top_dark);
            Ok((0..8).map(|i| Word { text: "word".into(), bbox: chart::BBox::new(10, i * h / 8, 40, 10), confidence: c, line: i, block: 0 }).collect())
        }
    }

    /// A 300×600 page, dark at the top (its "upright" mark), plain elsewhere, with lines of
    /// text across (so that it is judged upright, not sideways).
    fn page() -> DynamicImage {
        let mut img = GrayImage::from_pixel(300, 600, image::Luma([255]));
        for y in 0..600 {
            for x in 0..300 {
                if y < 5 || (y % 30 < 6 && x % 7 < 5) {
                    img.put_pixel(x, y, image::Luma([0]));
                }
            }
        }
        DynamicImage::ImageLuma8(img)
    }

    fn plain() -> Preprocessor {
        Preprocessor { deskew: false, binarize: false, ..Preprocessor::default() }
    }

    #[test]
    fn a_weak_upright_reading_costs_a_band_not_a_second_page() {
        // Upright: weak (0.5) on the whole page; turned, the band reads worse (0.3).
        let mut engine = Scripted { conf: |_full, upright| if upright { 0.5 } else { 0.3 }, heights: vec![] };
        let r = read_upright(&mut engine, &plain(), &page(), true).unwrap();
        assert_eq!(r.rotation, 0);
        let full_readings = engine.heights.iter().filter(|h| **h > 200).count();
        assert_eq!(full_readings, 1, "read whole once, then a band: {:?}", engine.heights);
        assert!(engine.heights.len() >= 2);
    }

    #[test]
    fn a_page_upside_down_is_read_again_turned_when_its_band_says_so() {
        // As scanned (upside down: its dark top is at the bottom) it reads as noise; turned, well.
        let turned = page().rotate180();
        let mut engine = Scripted { conf: |_full, upright| if upright { 0.85 } else { 0.25 }, heights: vec![] };
        let r = read_upright(&mut engine, &plain(), &turned, true).unwrap();
        assert_eq!(r.rotation, 180);
        assert_eq!(engine.heights.iter().filter(|h| **h > 200).count(), 2, "{:?}", engine.heights);
    }

    /// The pipeline's check: the page's words show the form's labels, which only an upright
    /// reading does (here: the page's upright mark is at its top).
    fn labels_seen(page: &PreparedPage, _words: &[Word]) -> bool {
        page.display.get_pixel(page.display.width() / 2, 2).0[0] < 128
    }

    #[test]
    fn a_page_whose_words_show_the_form_is_read_once_however_weak() {
        // Weak everywhere (Khmer on a poor scan): without the check a band is read as well.
        let mut engine = Scripted { conf: |_full, upright| if upright { 0.35 } else { 0.30 }, heights: vec![] };
        let r = read_upright_with(&mut engine, &plain(), &page(), true, Some(&labels_seen)).unwrap();
        assert_eq!(r.rotation, 0);
        assert_eq!(engine.heights, vec![600], "one whole reading, no band");
        assert_eq!(r.orientation_time, std::time::Duration::ZERO);
        let mut engine = Scripted { conf: |_full, upright| if upright { 0.35 } else { 0.30 }, heights: vec![] };
        read_upright(&mut engine, &plain(), &page(), true).unwrap();
        assert!(engine.heights.len() > 1, "without the check the weak reading is questioned: {:?}", engine.heights);
    }

    #[test]
    fn a_page_upside_down_is_still_turned_when_its_words_show_no_form() {
        let turned = page().rotate180();
        let mut engine = Scripted { conf: |_full, upright| if upright { 0.45 } else { 0.25 }, heights: vec![] };
        let r = read_upright_with(&mut engine, &plain(), &turned, true, Some(&labels_seen)).unwrap();
        assert_eq!(r.rotation, 180);
        assert_eq!(engine.heights.iter().filter(|h| **h > 200).count(), 2, "{:?}", engine.heights);
        assert!(engine.heights.iter().any(|h| *h <= 200), "a band was read before the second whole reading: {:?}", engine.heights);
    }
}
