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

/// The print of a typeset page (see [`PageWords::typeset_in`]): where the first line starts
/// (left and top), each character's width, a word's height, the distance from line to line,
/// and the engine's confidence in every word.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Type {
    /// Left and top margin, px.
    pub margin: u32,
    /// Width of a character (and of a space), px.
    pub char_width: u32,
    /// Height of a word, px.
    pub height: u32,
    /// From line to line, px.
    pub pitch: u32,
    /// Every word's confidence.
    pub confidence: f32,
}

impl Type {
    /// 15 px characters, 30 px high, lines 50 px apart from (50, 50), read at 0.95.
    pub const SMALL: Type = Type { margin: 50, char_width: 15, height: 30, pitch: 50, confidence: 0.95 };
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
    /// Second readings of doubtful places by single-script engines (see [`Reread`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rereads: Vec<Reread>,
    /// The whole page read a second time as sparse text (every block of text on its own,
    /// Tesseract's mode 11), in the same page pixels. Extraction reads the fields from both
    /// readings and keeps, field by field, the better supported value (see
    /// `chart::extract`); empty when the page was read once.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sparse: Vec<Word>,
}

/// A second reading of one place of the page (a field's value that did not validate or was
/// doubtful) by another engine, e.g. Khmer-only where the bilingual engine read Khmer digits
/// as Latin letters. Extraction uses it when the first reading is not a valid value, and
/// counts two readings that agree as more certain than one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reread {
    /// The place read, in page pixels.
    pub bbox: BBox,
    /// What the engine read there.
    pub text: String,
    /// Its mean word confidence, 0..1.
    pub confidence: f32,
    /// The engine's languages (`khm`).
    pub languages: String,
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
    /// Lines of typed text laid out as an engine reports them: one line per entry, its words
    /// split at spaces, in [`Type::SMALL`] print. For tests and examples that need a page
    /// without an engine (the store's, the review UI's, the end-to-end ones).
    pub fn typeset(page: u32, width: u32, height: u32, lines: &[&str]) -> PageWords {
        Self::typeset_in(Type::SMALL, page, width, height, lines)
    }

    /// As [`PageWords::typeset`], in the print `t`.
    pub fn typeset_in(t: Type, page: u32, width: u32, height: u32, lines: &[&str]) -> PageWords {
        let mut words = Vec::new();
        for (li, line) in lines.iter().enumerate() {
            let mut x = t.margin;
            for text in line.split(' ').filter(|w| !w.is_empty()) {
                let w = t.char_width * text.chars().count() as u32;
                let bbox = BBox::new(x, t.margin + t.pitch * li as u32, w, t.height);
                words.push(Word { text: text.into(), bbox, confidence: t.confidence, line: li as u32, block: 0 });
                x += w + t.char_width;
            }
        }
        PageWords { page, width, height, words, rereads: Vec::new(), sparse: Vec::new() }
    }

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

    /// Puts check boxes found in the pixels among the words, as `☒` (ticked) or `☐` words on
    /// the text line beside them, with `confidence` saying how clear the mark is. What the
    /// engine read into a box's area is dropped (it reads boxes as `&`, `O`, `[X]`...), and
    /// a word that starts inside a box loses the letters that fall in it.
    pub fn add_check_boxes(&mut self, boxes: &[(BBox, bool, f32)]) {
        for &(b, ticked, confidence) in boxes {
            let mut next_line = self.words.iter().map(|w| w.line).max().map_or(0, |l| l + 1);
            self.words.retain_mut(|w| {
                let overlap = w.bbox.intersection_area(&b);
                let area = (w.bbox.w * w.bbox.h).max(1);
                if overlap * 2 >= area {
                    return false;
                }
                if overlap * 4 >= b.w * b.h && w.bbox.x < b.right() && w.bbox.right() > b.right() {
                    let chars: Vec<char> = w.text.chars().collect();
                    let per_char = w.bbox.w as f32 / chars.len().max(1) as f32;
                    let cut = (((b.right() - w.bbox.x) as f32 / per_char).round() as usize).min(chars.len());
                    w.text = chars[cut..].iter().collect();
                    let right = w.bbox.right();
                    w.bbox.x = b.right();
                    w.bbox.w = right - b.right();
                }
                !w.text.trim().is_empty()
            });
            // The line of the nearest word whose band overlaps the box's middle.
            let mid = b.y + b.h / 2;
            let neighbour = self.words.iter().filter(|w| w.bbox.y <= mid && mid <= w.bbox.bottom()).min_by_key(|w| {
                if w.bbox.x >= b.right() {
                    w.bbox.x - b.right()
                } else {
                    b.x.saturating_sub(w.bbox.right())
                }
            });
            let (line, block) = match neighbour {
                Some(n) => (n.line, n.block),
                None => {
                    next_line += 1;
                    (next_line, 0)
                }
            };
            self.words.push(Word { text: if ticked { "☒" } else { "☐" }.into(), bbox: b, confidence, line, block });
        }
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
    fn typeset_lines_read_back_as_their_text() {
        let page = PageWords::typeset(2, 1000, 1400, &["Patient ID: 004512", "Sex: F"]);
        assert_eq!((page.page, page.words.len()), (2, 5));
        assert_eq!(page.words[3].text, "Sex:");
        assert_eq!((page.words[3].line, page.words[3].bbox.y), (1, 100));
        assert!(page.words[1].bbox.x > page.words[0].bbox.x + page.words[0].bbox.w, "words do not overlap");
    }

    #[test]
    fn check_boxes_replace_what_the_engine_read_there() {
        let w =
            |t: &str, x: u32, line: u32| Word { text: t.into(), bbox: BBox::new(x, 100, 20 * t.chars().count() as u32, 40), confidence: 0.9, line, block: 1 };
        // "Sex: [&] Male [X]Female": the engine saw the first box as "&", glued the second to "Female".
        let mut page = PageWords {
            page: 1,
            width: 1000,
            height: 500,
            words: vec![w("Sex:", 10, 3), w("&", 100, 3), w("Male", 150, 3), w("XFemale", 260, 3)],
            rereads: Vec::new(),
            sparse: Vec::new(),
        };
        page.add_check_boxes(&[(BBox::new(98, 100, 24, 40), false, 0.95), (BBox::new(258, 100, 24, 40), true, 0.9)]);
        let line: Vec<String> = page.lines()[0].words.iter().map(|w| w.text.clone()).collect();
        assert_eq!(line, ["Sex:", "☐", "Male", "☒", "Female"]);
        // A box alone on its row gets a line of its own.
        page.add_check_boxes(&[(BBox::new(10, 300, 30, 30), true, 1.0)]);
        assert_eq!(page.lines().len(), 2);
    }

    #[test]
    fn lines_and_blocks_with_boxes_and_confidences() {
        let w = |t: &str, x: u32, y: u32, line: u32, block: u32, c: f32| Word { text: t.into(), bbox: BBox::new(x, y, 50, 20), confidence: c, line, block };
        let page = PageWords {
            page: 1,
            width: 500,
            height: 500,
            words: vec![w("b", 200, 10, 1, 1, 0.8), w("a", 10, 12, 1, 1, 0.6), w("c", 10, 300, 7, 2, 0.9)],
            rereads: Vec::new(),
            sparse: Vec::new(),
        };
        let lines = page.lines();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0].words.iter().map(|w| w.text.as_str()).collect::<Vec<_>>(), ["a", "b"]);
        assert_eq!(lines[0].bbox, BBox::new(10, 10, 240, 22));
        assert!((lines[0].confidence() - 0.7).abs() < 1e-6);
        let blocks = page.blocks();
        assert_eq!((blocks.len(), blocks[0].words, blocks[1].bbox), (2, 2, BBox::new(10, 300, 50, 20)));
    }
}
