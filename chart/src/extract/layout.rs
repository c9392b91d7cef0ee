//! A page as extraction sees it: its text lines top to bottom, its label phrases, and the
//! helpers that read words as text.

pub(crate) use crate::words::Line;

use super::labels::{self, LineMatches, Phrase, Vocabulary};
use crate::khmer;
use crate::template::Template;
use crate::text::label_key;
use crate::words::{PageWords, Word};

/// The words check boxes become (see [`PageWords::add_check_boxes`]).
pub(crate) const TICKED: &str = "☒";
pub(crate) const EMPTY: &str = "☐";

/// Whether a word is a check box found in the pixels.
pub(crate) fn is_box(w: &Word) -> bool {
    w.text == TICKED || w.text == EMPTY
}

/// Whether a word holds no letter or digit (punctuation, a rule, a speck).
pub(crate) fn is_separator(w: &Word) -> bool {
    !is_box(w) && label_key(&w.text).is_empty()
}

/// One page's lines and label phrases.
#[derive(Debug)]
pub(crate) struct PageLayout<'a> {
    /// The page's words.
    pub words: &'a PageWords,
    /// Its lines, top to bottom.
    pub lines: Vec<Line<'a>>,
    /// The usual height of a line of text, in pixels.
    pub line_height: u32,
    /// Its label phrases, line by line, left to right.
    pub phrases: Vec<Phrase>,
}

impl<'a> PageLayout<'a> {
    /// Lines and phrases of a page for `template`, given its lines (`page.lines()`) and
    /// their label matches ([`labels::Labels::match_lines`]).
    pub fn new(page: &'a PageWords, lines: Vec<Line<'a>>, matches: &[LineMatches], vocab: Vocabulary<'_>, template: &Template) -> Self {
        let titles = labels::title_lines(matches, &template.titles);
        let phrases = labels::page_phrases(vocab, &lines, &titles, matches);
        let mut heights: Vec<u32> = lines.iter().filter(|l| l.words.len() >= 2).map(|l| l.bbox.h).collect();
        heights.sort_unstable();
        let line_height = heights.get(heights.len() / 2).copied().unwrap_or(30).max(8);
        PageLayout { words: page, lines, line_height, phrases }
    }

    /// The phrase covering word `word` of line `line`, if any.
    pub fn phrase_at(&self, line: usize, word: usize) -> Option<&Phrase> {
        self.phrases.iter().find(|p| p.parts.iter().any(|&(l, s, e)| l == line && s <= word && word < e))
    }
}

/// Whether a character is a Khmer sign written on a consonant (a vowel sign, a diacritic,
/// the coeng): a word that starts with one is the rest of the word before it.
pub(crate) fn khmer_mark(c: char) -> bool {
    ('\u{17B6}'..='\u{17D3}').contains(&c) || c == '\u{17DD}'
}

/// Joins words as printed: Latin words with spaces; Khmer fragments that the engine split
/// inside one printed word without. Khmer separates words by a gap, not always a space:
/// two Khmer words are apart when the gap between them is wide for the text's size (for
/// names, whose family and given names are separate words, any clear gap). A fragment that
/// starts with a vowel sign or follows a coeng is always part of the word before.
pub(crate) fn join_words(words: &[&Word], name: bool) -> String {
    let mut out = String::new();
    for (i, w) in words.iter().enumerate() {
        if i > 0 {
            let prev = words[i - 1];
            let gap = w.bbox.x.saturating_sub(prev.bbox.right());
            let height = w.bbox.h.max(prev.bbox.h).max(1);
            let both_khmer = khmer::is_mostly_khmer(&prev.text) && khmer::is_mostly_khmer(&w.text);
            let inside_word = w.text.chars().next().is_some_and(khmer_mark) || prev.text.ends_with('\u{17D2}');
            let wide = if name { 0.12 } else { 0.25 };
            if !both_khmer || (!inside_word && gap as f32 > wide * height as f32) {
                out.push(' ');
            }
        }
        out.push_str(&w.text);
    }
    khmer::clean(&out)
}

/// The union of the words' boxes, leaving out words the engine boxed far taller than a line
/// of text (handwriting and specks can give boxes hundreds of pixels tall), or, when all
/// are, a box of two line heights around their middle.
pub(crate) fn value_box(words: &[&Word], line_height: u32) -> crate::BBox {
    let limit = 2 * line_height.max(10) + line_height / 5;
    let union = |ws: &mut dyn Iterator<Item = crate::BBox>| ws.reduce(|a, b| a.union(&b));
    if let Some(b) = union(&mut words.iter().filter(|w| w.bbox.h <= limit).map(|w| w.bbox)) {
        return b;
    }
    let all = union(&mut words.iter().map(|w| w.bbox)).unwrap_or_default();
    let middle = all.y + all.h / 2;
    crate::BBox::new(all.x, middle.saturating_sub(line_height), all.w, 2 * line_height.max(1))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::BBox;

    fn w(t: &str, x: u32, width: u32) -> Word {
        Word { text: t.into(), bbox: BBox::new(x, 0, width, 50), confidence: 0.9, line: 0, block: 0 }
    }

    #[test]
    fn khmer_words_apart_by_a_gap_get_a_space_and_split_fragments_none() {
        let (a, b) = (w("មុំ", 0, 60), w("វិជ្ជា", 70, 90));
        assert_eq!(join_words(&[&a, &b], true), "មុំ វិជ្ជា", "a name's two words, 10 px apart");
        assert_eq!(join_words(&[&a, &b], false), "មុំវិជ្ជា", "a narrow gap inside other Khmer text");
        let (c, d) = (w("ផ្នេកសង្គ្រោ", 0, 200), w("ះបន្ទាន", 240, 100));
        assert_eq!(join_words(&[&c, &d], true), "ផ្នេកសង្គ្រោះបន្ទាន", "a fragment starting with a sign");
        assert_eq!(join_words(&[&w("Sok", 0, 60), &w("Dara", 62, 80)], false), "Sok Dara");
    }
}
