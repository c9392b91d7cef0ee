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

/// A block (a region Tesseract segmented as one): its number, box and mean confidence.
#[derive(Debug, Clone, PartialEq)]
pub struct Block {
    /// Block number within the page.
    pub block: u32,
    /// The union of its words' boxes.
    pub bbox: BBox,
    /// Mean confidence of its words, 0..1.
    pub confidence: f32,
    /// How many words it holds.
    pub words: usize,
}

impl Line<'_> {
    /// Mean confidence of the line's words, 0..1.
    pub fn confidence(&self) -> f32 {
        self.words.iter().map(|w| w.confidence).sum::<f32>() / self.words.len().max(1) as f32
    }
}

impl PageWords {
    /// The page's blocks in the engine's order, with boxes and confidences.
    pub fn blocks(&self) -> Vec<Block> {
        let mut out: Vec<Block> = Vec::new();
        for w in &self.words {
            match out.iter_mut().find(|b| b.block == w.block) {
                Some(b) => {
                    b.bbox = b.bbox.union(&w.bbox);
                    b.confidence += w.confidence;
                    b.words += 1;
                }
                None => out.push(Block { block: w.block, bbox: w.bbox, confidence: w.confidence, words: 1 }),
            }
        }
        for b in &mut out {
            b.confidence /= b.words as f32;
        }
        out
    }

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_and_blocks_with_boxes_and_confidences() {
        let w = |t: &str, x: u32, y: u32, line: u32, block: u32, c: f32| Word { text: t.into(), bbox: BBox::new(x, y, 50, 20), confidence: c, line, block };
        let page = PageWords { page: 1, width: 500, height: 500, words: vec![w("b", 200, 10, 1, 1, 0.8), w("a", 10, 12, 1, 1, 0.6), w("c", 10, 300, 7, 2, 0.9)] };
        let lines = page.lines();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0].words.iter().map(|w| w.text.as_str()).collect::<Vec<_>>(), ["a", "b"]);
        assert_eq!(lines[0].bbox, BBox::new(10, 10, 240, 22));
        assert!((lines[0].confidence() - 0.7).abs() < 1e-6);
        let blocks = page.blocks();
        assert_eq!((blocks.len(), blocks[0].words, blocks[1].bbox), (2, 2, BBox::new(10, 300, 50, 20)));
    }
}
