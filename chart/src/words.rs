//! OCR output as the domain sees it: words with boxes and confidences, grouped by page.

use crate::geometry::BBox;
use serde::{Deserialize, Serialize};

/// One recognised word.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Word {
    /// The recognised text, as the engine returned it (untrusted).
    pub text: String,
    /// Where it is on the page image.
    pub bbox: BBox,
    /// The engine's confidence, 0..1.
    pub confidence: f32,
    /// The text line this word belongs to; unique within a page.
    pub line: u32,
    /// The block (paragraph region) this word belongs to; unique within a page.
    pub block: u32,
}

/// All words of one page, with the page image size they refer to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct PageWords {
    /// Page number within the chart, from 1.
    pub page: u32,
    /// Width of the page image in pixels.
    pub width: u32,
    /// Height of the page image in pixels.
    pub height: u32,
    /// The words in reading order.
    pub words: Vec<Word>,
}

/// A text line: its words in left-to-right order.
#[derive(Debug, Clone)]
pub struct Line<'a> {
    /// Page number within the chart, from 1.
    pub page: u32,
    /// The words of the line, left to right.
    pub words: Vec<&'a Word>,
    /// The union of the words' boxes.
    pub bbox: BBox,
}

impl PageWords {
    /// The page's words grouped into lines, top to bottom, each left to right.
    pub fn lines(&self) -> Vec<Line<'_>> {
        let mut by_line: std::collections::BTreeMap<u32, Vec<&Word>> = Default::default();
        for w in &self.words {
            if !w.text.trim().is_empty() {
                by_line.entry(w.line).or_default().push(w);
            }
        }
        let mut lines: Vec<Line<'_>> = by_line
            .into_values()
            .map(|mut words| {
                words.sort_by_key(|w| w.bbox.x);
                let bbox = words.iter().skip(1).fold(words[0].bbox, |b, w| b.union(&w.bbox));
                Line { page: self.page, words, bbox }
            })
            .collect();
        lines.sort_by_key(|l| (l.bbox.y, l.bbox.x));
        lines
    }
}
