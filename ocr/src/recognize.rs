//! Recognition: the [`Recognizer`] seam, its Tesseract implementation (leptess, raw pixels
//! in, TSV words out) and a replay implementation that returns recorded words.

use crate::preprocess::PreparedPage;
use chart::{BBox, Word};
use leptess::tesseract::TessApi;
use std::ffi::CString;

/// Recognition failed or could not start.
#[derive(Debug, thiserror::Error)]
pub enum OcrError {
    /// The engine could not be created, usually missing language data.
    #[error("cannot start Tesseract with languages {languages:?} (data path {data_path}): is the language data installed? (Debian: apt-get install tesseract-ocr-eng tesseract-ocr-khm)")]
    Init {
        /// The languages asked for.
        languages: String,
        /// Where the data was looked for.
        data_path: String,
    },
    /// A setting was refused by the engine.
    #[error("Tesseract refused setting {0}")]
    Setting(String),
    /// The engine refused the image or failed while reading it.
    #[error("recognition failed: {0}")]
    Recognition(String),
}

/// Settings of the recognition engine.
#[derive(Debug, Clone, PartialEq)]
pub struct OcrConfig {
    /// Tesseract languages joined by `+` (`eng+khm`).
    pub languages: String,
    /// Tesseract page segmentation mode (3 = automatic, 6 = one block, 11 = sparse text).
    pub page_segmentation_mode: u32,
    /// Where the `.traineddata` files are; `None` uses Tesseract's default (or TESSDATA_PREFIX).
    pub data_path: Option<String>,
    /// Resolution of the pages in dots per inch; 0 lets Tesseract estimate it from the text.
    pub dpi: u32,
    /// Retry lines Tesseract doubts as white-on-black text. Forms rarely print inverted text
    /// and the retry costs time on noisy scans, so it is off by default.
    pub try_inverted: bool,
}

impl Default for OcrConfig {
    fn default() -> Self {
        Self { languages: "eng+khm".into(), page_segmentation_mode: 6, data_path: None, dpi: 0, try_inverted: false }
    }
}

/// Turns a prepared page into words. Implementations are used from one thread at a time.
pub trait Recognizer {
    /// Recognises the words of a page; boxes refer to `page.display`.
    fn recognize(&mut self, page: &PreparedPage) -> Result<Vec<Word>, OcrError>;

    /// Recognises only the words inside `zone` (in `page.display` pixels), for templates that
    /// give a field's rectangle. The default reads the page and keeps the words in the zone.
    fn recognize_zone(&mut self, page: &PreparedPage, zone: BBox) -> Result<Vec<Word>, OcrError> {
        Ok(self
            .recognize(page)?
            .into_iter()
            .filter(|w| w.bbox.x >= zone.x && w.bbox.y >= zone.y && w.bbox.right() <= zone.right() && w.bbox.bottom() <= zone.bottom())
            .collect())
    }

    /// Reads the whole page again as sparse text (Tesseract's page segmentation mode 11):
    /// every block of text on its own, without assuming one uniform block. A small label
    /// stacked under another beside a tall value, which one-block reading merges into the
    /// value's line and loses, comes out whole. The default reads nothing.
    fn recognize_sparse(&mut self, _page: &PreparedPage) -> Result<Vec<Word>, OcrError> {
        Ok(Vec::new())
    }
}

/// Tesseract's page segmentation mode for [`Recognizer::recognize_sparse`].
pub const SPARSE_TEXT_PSM: u32 = 11;

/// Tesseract through leptess, given raw pixels (never a file).
#[derive(Debug)]
pub struct TesseractRecognizer {
    api: TessApi,
    psm: u32,
}

impl TesseractRecognizer {
    /// Starts an engine with the languages loaded; costs 50-130 ms, so keep it per thread.
    pub fn new(config: &OcrConfig) -> Result<Self, OcrError> {
        let mut api = TessApi::new(config.data_path.as_deref(), &config.languages).map_err(|_| OcrError::Init {
            languages: config.languages.clone(),
            data_path: config.data_path.clone().or_else(|| std::env::var("TESSDATA_PREFIX").ok()).unwrap_or_else(|| "Tesseract's default".into()),
        })?;
        let set = |api: &mut TessApi, name: &str, value: &str| {
            let (n, v) = (CString::new(name).expect("no NUL"), CString::new(value).expect("no NUL"));
            api.raw.set_variable(&n, &v).map_err(|_| OcrError::Setting(format!("{name}={value}")))
        };
        set(&mut api, "tessedit_pageseg_mode", &config.page_segmentation_mode.to_string())?;
        if config.dpi > 0 {
            set(&mut api, "user_defined_dpi", &config.dpi.to_string())?;
        }
        set(&mut api, "tessedit_do_invert", if config.try_inverted { "1" } else { "0" })?;
        let psm = config.page_segmentation_mode;
        // Tesseract's diagnostics ("Detected N diacritics") would interleave with progress bars.
        set(&mut api, "debug_file", "/dev/null")?;
        Ok(Self { api, psm })
    }
}

impl Recognizer for TesseractRecognizer {
    fn recognize(&mut self, page: &PreparedPage) -> Result<Vec<Word>, OcrError> {
        self.read(page, None, self.psm)
    }

    fn recognize_zone(&mut self, page: &PreparedPage, zone: BBox) -> Result<Vec<Word>, OcrError> {
        // A zone is a field's line: read as one line (psm 7).
        self.read(page, Some(zone), 7)
    }

    fn recognize_sparse(&mut self, page: &PreparedPage) -> Result<Vec<Word>, OcrError> {
        self.read(page, None, SPARSE_TEXT_PSM)
    }
}

impl TesseractRecognizer {
    fn read(&mut self, page: &PreparedPage, zone: Option<BBox>, psm: u32) -> Result<Vec<Word>, OcrError> {
        let img = &page.for_ocr;
        let (w, h) = img.dimensions();
        let f = page.ocr_scale;
        let to_ocr = |v: u32| (v as f32 * f) as u32;
        // Where the image given to the engine lies on the page (in `for_ocr` pixels).
        let mut offset = (0i64, 0i64);
        match zone {
            None => self.set_image(img.as_raw(), w, h)?,
            Some(z) => {
                // The zone alone, copied with a margin of paper around it: the engine then
                // works on a strip, not on a copy of the whole page.
                let (x0, y0) = (to_ocr(z.x).min(w - 1), to_ocr(z.y).min(h - 1));
                let (x1, y1) = (to_ocr(z.x + z.w).clamp(x0 + 1, w), to_ocr(z.y + z.h).clamp(y0 + 1, h));
                let (zw, zh) = (x1 - x0, y1 - y0);
                let (cw, ch) = (zw + 2 * ZONE_MARGIN, zh + 2 * ZONE_MARGIN);
                let mut strip = vec![255u8; (cw * ch) as usize];
                let raw = img.as_raw();
                for row in 0..zh {
                    let from = ((y0 + row) * w + x0) as usize;
                    let to = ((row + ZONE_MARGIN) * cw + ZONE_MARGIN) as usize;
                    strip[to..to + zw as usize].copy_from_slice(&raw[from..from + zw as usize]);
                }
                self.set_image(&strip, cw, ch)?;
                // A strip is too small for the engine to estimate the resolution, so it is
                // told (300 dpi, scaled with the page).
                self.api.raw.set_source_resolution((300.0 * f).round() as i32);
                offset = (x0 as i64 - ZONE_MARGIN as i64, y0 as i64 - ZONE_MARGIN as i64);
            }
        }
        let (name, value) = (CString::new("tessedit_pageseg_mode").expect("no NUL"), CString::new(psm.to_string()).expect("no NUL"));
        self.api.raw.set_variable(&name, &value).map_err(|_| OcrError::Setting(format!("tessedit_pageseg_mode={psm}")))?;
        self.api.raw.recognize().map_err(|_| OcrError::Recognition("Tesseract could not recognise the page".into()))?;
        let tsv = self.api.get_tsv_text(0).map_err(|e| OcrError::Recognition(format!("output is not UTF-8: {e}")))?;
        let mut words = parse_tsv(&tsv);
        if f != 1.0 || offset != (0, 0) {
            let back = |v: i64| (v as f32 / f).round().max(0.0) as u32;
            for w in &mut words {
                let b = w.bbox;
                w.bbox = chart::BBox::new(back(b.x as i64 + offset.0), back(b.y as i64 + offset.1), back(b.w as i64).max(1), back(b.h as i64).max(1));
            }
        }
        Ok(words)
    }

    fn set_image(&mut self, pixels: &[u8], w: u32, h: u32) -> Result<(), OcrError> {
        self.api.raw.set_image(pixels, w as i32, h as i32, 1, w as i32).map_err(|e| OcrError::Recognition(format!("image refused: {e:?}")))
    }
}

/// White pixels around a zone given to the engine alone (it reads nothing that touches the
/// image's edge).
const ZONE_MARGIN: u32 = 1;

/// Parses Tesseract's TSV output into words (level 5 rows with text).
pub fn parse_tsv(tsv: &str) -> Vec<Word> {
    let mut words = Vec::new();
    for row in tsv.lines() {
        let cols: Vec<&str> = row.splitn(12, '\t').collect();
        if cols.len() < 12 || cols[0] != "5" {
            continue;
        }
        let num = |i: usize| cols[i].trim().parse::<i64>().unwrap_or(0).max(0) as u32;
        let text = cols[11].trim();
        let conf: f32 = cols[10].trim().parse().unwrap_or(-1.0);
        if text.is_empty() || conf < 0.0 {
            continue;
        }
        let (block, par, line) = (num(2), num(3), num(4));
        words.push(Word {
            text: text.to_string(),
            bbox: BBox::new(num(6), num(7), num(8), num(9)),
            confidence: (conf / 100.0).clamp(0.0, 1.0),
            line: block * 10_000 + par * 100 + line,
            block,
        });
    }
    words
}

/// Returns words recorded earlier (for tests of everything after OCR).
#[derive(Debug, Clone, Default)]
pub struct ReplayRecognizer {
    /// The words to return for every page.
    pub words: Vec<Word>,
}

impl Recognizer for ReplayRecognizer {
    fn recognize(&mut self, _page: &PreparedPage) -> Result<Vec<Word>, OcrError> {
        Ok(self.words.clone())
    }
}

// libgomp comes with libtesseract; naming it here lets the linker resolve the symbol.
#[link(name = "gomp")]
extern "C" {
    fn omp_set_max_active_levels(levels: std::os::raw::c_int);
}

/// Switches OpenMP parallelism off for Tesseract calls made on the current thread. Call it
/// at the start of every worker thread (rayon's `start_handler`): the pipeline runs one
/// engine per core, and OpenMP threads on top of that slow everything down about 5x.
/// Setting `OMP_THREAD_LIMIT` after the process started has no effect.
pub fn configure_worker_thread() {
    // SAFETY: libgomp is loaded with libtesseract; this call only sets a per-thread ICV.
    unsafe { omp_set_max_active_levels(0) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tsv_words_with_lines_and_confidence() {
        let tsv = "level\tpage_num\tblock_num\tpar_num\tline_num\tword_num\tleft\ttop\twidth\theight\tconf\ttext\n\
                   4\t1\t1\t1\t1\t0\t10\t10\t200\t30\t-1\t\n\
                   5\t1\t1\t1\t1\t1\t10\t12\t80\t28\t96.5\tName:\n\
                   5\t1\t1\t1\t1\t2\t100\t12\t60\t28\t88\tសុខ\n\
                   5\t1\t2\t1\t3\t1\t10\t80\t80\t28\t-1\t \n";
        let words = parse_tsv(tsv);
        assert_eq!(words.len(), 2);
        assert_eq!(words[0].text, "Name:");
        assert_eq!(words[0].bbox, BBox::new(10, 12, 80, 28));
        assert!((words[1].confidence - 0.88).abs() < 1e-6);
        assert_eq!(words[0].line, words[1].line);
    }
}
