//! Where a field's value is, given its label: each way of finding it is a named step.
//!
//! - [`right_of_label`]: on the label's line, after it, up to the next label, a cell border
//!   or a gap as wide as a column (`Name: Sok Dara`; a grid's value cell right of the label's).
//! - [`below_label`]: on the first line under the label, within the label's column, when
//!   that place holds no label of its own (a bordered cell with its label in the corner; a
//!   form whose values are written under their labels).
//! - [`after_ticked_box`] (in `value.rs`) picks the option of a row of check boxes.
//!
//! Tables, addresses and headings have their own modules.

use super::labels::{is_bar, Phrase};
use super::layout::{is_separator, PageLayout};
use crate::field::Found;
use crate::words::Word;

/// Words that may be a field's value, and how they were found.
#[derive(Debug, Clone)]
pub(crate) struct Candidate<'a> {
    /// The page (index into the chart's pages).
    pub page: usize,
    /// The value's line.
    pub line: usize,
    /// The words, left to right.
    pub words: Vec<&'a Word>,
    /// How they were found.
    pub found: Found,
    /// The label's text as a key (`examined` of `Examined by`), to tell the rest of a
    /// misread label from the value.
    pub label: String,
    /// The label's words (line, first word, end), which are not another row's label.
    pub own: Vec<(usize, usize, usize)>,
}

/// Words after the label at its height (see the module documentation): on the label's
/// line, or on a line the engine made of a value set a little higher or lower (a value
/// centred beside a label printed on two lines).
pub(crate) fn right_of_label<'a>(page_index: usize, page: &PageLayout<'a>, phrase: &Phrase) -> Vec<Candidate<'a>> {
    let mut out: Vec<Candidate<'a>> = Vec::new();
    let h = page.line_height.max(1);
    for &(line, start, end) in &phrase.parts {
        let words = &page.lines[line].words;
        let part = words[start..end].iter().skip(1).fold(words[start].bbox, |b, w| b.union(&w.bbox));
        let (top, bottom) = (part.y.saturating_sub(h / 4), part.bottom() + h / 4);
        let at_height = |b: &crate::BBox| b.center_y() >= top && b.center_y() <= bottom;
        // The next label to the right at this height ends the value.
        let x_stop = page
            .phrases
            .iter()
            .filter(|p| {
                !std::ptr::eq(*p, phrase)
                    && p.bbox.x >= part.right()
                    && p.parts.iter().any(|&(l, s, e)| l == line || page.lines[l].words[s..e].iter().any(|w| at_height(&w.bbox)))
            })
            .map(|p| p.bbox.x)
            .min()
            .unwrap_or(u32::MAX);
        let mut beside: Vec<(usize, &'a Word)> = Vec::new();
        for (li, l) in page.lines.iter().enumerate() {
            for (k, &w) in l.words.iter().enumerate() {
                let after = if li == line { k >= end } else { w.bbox.x >= part.right() };
                // From another line, only real words (not specks the engine made a line of).
                let real = li == line || w.text.chars().filter(|c| c.is_alphanumeric()).count() >= 2 || w.confidence >= 0.6;
                if after && real && w.bbox.x < x_stop && at_height(&w.bbox) && page.phrase_at(li, k).is_none() {
                    beside.push((li, w));
                }
            }
        }
        // Line by line (a value wrapped in its cell reads top line first), left to right.
        beside.sort_by_key(|(li, w)| (*li, w.bbox.x));
        let height = page.lines[line].bbox.h.max(h);
        // Runs of words between cell borders and column gaps: the first, and the second
        // when the first is a word or two (a misread piece of a table's label cell).
        let mut runs: Vec<Vec<(usize, &Word)>> = vec![Vec::new()];
        for (li, w) in beside {
            let bar = is_bar(w) || w.text.starts_with('|');
            let run = runs.last_mut().expect("a run");
            if run.is_empty() && (is_separator(w) || bar) && !w.text.trim_start_matches('|').chars().any(char::is_alphanumeric) {
                continue;
            }
            let gap = run.last().is_some_and(|(_, prev)| w.bbox.x.saturating_sub(prev.bbox.right()) > 3 * height);
            if !run.is_empty() && (bar || gap) {
                if runs.len() == 2 {
                    break;
                }
                runs.push(Vec::new());
                if is_bar(w) {
                    continue;
                }
            }
            runs.last_mut().expect("a run").push((li, w));
            if w.text.ends_with('|') {
                if runs.len() == 2 {
                    break;
                }
                runs.push(Vec::new());
            }
        }
        runs.retain(|r| !r.is_empty());
        let take = if runs.first().is_some_and(|r| r.len() <= 2) { 2 } else { 1 };
        for run in runs.into_iter().take(take) {
            let first_line = run[0].0;
            let words: Vec<&Word> = run.into_iter().map(|(_, w)| w).collect();
            if out.iter().any(|c| c.words.len() == words.len() && c.words.iter().zip(&words).all(|(a, b)| std::ptr::eq(*a, *b))) {
                continue;
            }
            out.push(Candidate {
                page: page_index,
                line: first_line,
                words,
                found: Found::RightOfLabel,
                label: phrase_key(page, phrase),
                own: phrase.parts.clone(),
            });
        }
    }
    out
}

/// The words under the label, in its column, on the first line below that has any.
pub(crate) fn below_label<'a>(page_index: usize, page: &PageLayout<'a>, phrase: &Phrase) -> Option<Candidate<'a>> {
    let h = page.line_height;
    let label = phrase.bbox;
    // The column starts where the label's piece of text starts: words of the label that
    // were not recognised (`Attending` of `Attending doctor`) are part of it.
    let (first_line, first_word, _) = phrase.parts[0];
    let words = &page.lines[first_line].words;
    let mut start = first_word;
    while start > 0
        && page.phrase_at(first_line, start - 1).is_none()
        && words[start].bbox.x.saturating_sub(words[start - 1].bbox.right()) <= h
        && !super::labels::ends_like_label(words[start - 1])
    {
        start -= 1;
    }
    let x0 = words[start].bbox.x.min(label.x).saturating_sub(h);
    // The column ends where the next label to the right on the label's lines starts (a
    // label of this form's, or one ending in a colon; not another form's word in this
    // label, as in `Midwife / Doctor`).
    let x1 = page
        .phrases
        .iter()
        .filter(|p| p.owner.is_some() || p.colon)
        .filter(|p| p.bbox.x > label.right() && p.parts.iter().any(|&(l, _, _)| phrase.parts.iter().any(|&(pl, _, _)| pl == l)))
        .map(|p| p.bbox.x.saturating_sub(h / 2))
        .min()
        .unwrap_or(page.words.width.max(label.right()));
    let last_line = phrase.last().0;
    for (li, line) in page.lines.iter().enumerate() {
        if li == last_line || phrase.parts.iter().any(|&(l, _, _)| l == li) {
            continue;
        }
        if line.bbox.y + line.bbox.h / 3 < label.bottom() || line.bbox.center_y() <= label.bottom() {
            continue;
        }
        // Up to six lines down: a name is printed below the space left for a signature.
        if line.bbox.y > label.bottom() + 6 * h {
            continue;
        }
        let mut in_column: Vec<(usize, &Word)> =
            line.words.iter().copied().enumerate().filter(|(_, w)| w.bbox.x + w.bbox.w / 2 >= x0 && w.bbox.x + w.bbox.w / 2 < x1).collect();
        if in_column.is_empty() {
            continue;
        }
        // A value centred under a long label starts left of it (`Dr Seng Sovann` under
        // `... / Attending doctor`): the words joined to the column's first by a word's gap
        // belong to the value, when of its size (not a signature's stroke through `Dr.`).
        while let Some(&(k, w)) = in_column.first() {
            let Some(prev) = k.checked_sub(1).map(|p| line.words[p]) else { break };
            let gap = w.bbox.x.saturating_sub(prev.bbox.right());
            if gap > h * 4 / 5 || 2 * prev.bbox.h > 3 * w.bbox.h || page.phrase_at(li, k - 1).is_some() || is_bar(prev) {
                break;
            }
            in_column.insert(0, (k - 1, prev));
        }
        // A label at the start of the column: the next field's, not this one's value.
        if let Some(&(first, _)) = in_column.iter().find(|(_, w)| !is_separator(w)) {
            if page.phrase_at(li, first).is_some() {
                return None;
            }
        }
        let words: Vec<&Word> = in_column.iter().take_while(|(k, _)| page.phrase_at(li, *k).is_none()).map(|(_, w)| *w).filter(|w| !is_bar(w)).collect();
        if words.iter().all(|w| is_separator(w)) {
            continue;
        }
        // A signature or a scribble read as a few doubtful letters: look further down.
        let letters: usize = words.iter().map(|w| w.text.chars().filter(|c| c.is_alphanumeric()).count()).sum();
        let confidence = words.iter().map(|w| w.confidence).sum::<f32>() / words.len() as f32;
        if confidence < 0.5 && letters <= 6 {
            continue;
        }
        return Some(Candidate { page: page_index, line: li, words, found: Found::BelowLabel, label: phrase_key(page, phrase), own: phrase.parts.clone() });
    }
    None
}

/// The label key of a phrase's words.
pub(crate) fn phrase_key(page: &PageLayout<'_>, phrase: &Phrase) -> String {
    phrase.parts.iter().flat_map(|&(l, s, e)| page.lines[l].words[s..e].iter()).map(|w| crate::text::label_key(&w.text)).collect()
}

/// The lines that continue a free-text value wrapped in its cell: right under it, closer
/// than the spacing of a form's rows, starting at the value's place, with no label where
/// they start (`Acute gastroenteritis` / `with dehydration`). (Lines above are not read:
/// on a form, the line above a value is more often the end of the row before.)
pub(crate) fn continuation<'a>(page: &PageLayout<'a>, candidate: &Candidate<'a>) -> Vec<&'a Word> {
    let Some(first) = candidate.words.first() else { return Vec::new() };
    let value = candidate.words.iter().skip(1).fold(first.bbox, |b, w| b.union(&w.bbox));
    let h = page.line_height;
    let x_stop = page
        .phrases
        .iter()
        .filter(|p| p.parts.iter().any(|&(l, _, _)| l == candidate.line) && p.bbox.x > value.right())
        .map(|p| p.bbox.x)
        .min()
        .unwrap_or(u32::MAX);
    let x_start = value.x.saturating_sub(2 * h);
    let piece = |li: usize| -> Option<Vec<&'a Word>> {
        let line = &page.lines[li];
        let in_range = |w: &Word| w.bbox.x + w.bbox.w / 2 >= x_start && w.bbox.x + w.bbox.w / 2 < x_stop;
        let own = |k: usize| candidate.own.iter().any(|&(l, s, e)| l == li && s <= k && k < e);
        // Up to a label on the line (another field's, printed after the wrapped value).
        let stop = line
            .words
            .iter()
            .enumerate()
            .filter(|&(k, w)| in_range(w) && !own(k) && page.phrase_at(li, k).is_some())
            .map(|(_, w)| w.bbox.x)
            .min()
            .unwrap_or(u32::MAX);
        let words: Vec<&Word> = line
            .words
            .iter()
            .enumerate()
            .filter(|&(k, w)| in_range(w) && w.bbox.x < stop && !is_separator(w) && !is_bar(w) && !own(k))
            .map(|(_, w)| *w)
            .collect();
        // A label where the line starts (in the value's column or left of it) makes it
        // another row; a label word further on is a word of the value (`Siem Reap Province`).
        let start_x = words.first().map_or(x_stop, |w| w.bbox.x + h / 2);
        let labelled = line.words.iter().enumerate().any(|(k, w)| w.bbox.x < start_x.min(x_stop) && page.phrase_at(li, k).is_some() && !own(k));
        let starts_in_value = words.first().is_some_and(|w| w.bbox.x >= x_start && w.bbox.x <= value.right());
        (!labelled && starts_in_value).then_some(words)
    };
    let tight = h * 2 / 5;
    let mut below = Vec::new();
    let mut bottom = value.bottom();
    // After the value's last line.
    let last_line = page.lines.iter().rposition(|l| l.words.iter().any(|w| candidate.words.iter().any(|c| std::ptr::eq(*c, *w)))).unwrap_or(candidate.line);
    for li in last_line + 1..page.lines.len() {
        let line = &page.lines[li];
        if line.bbox.center_y() <= value.bottom() {
            continue;
        }
        if line.bbox.y > bottom + tight {
            break;
        }
        let Some(words) = piece(li) else { break };
        bottom = words.iter().map(|w| w.bbox.bottom()).max().unwrap_or(bottom);
        below.extend(words.into_iter().filter(|w| !candidate.words.iter().any(|c| std::ptr::eq(*c, *w))));
    }
    below
}

/// Every place the value of a field labelled by `phrase` may be: right of it, then below.
pub(crate) fn candidates<'a>(page_index: usize, page: &PageLayout<'a>, phrase: &Phrase) -> Vec<Candidate<'a>> {
    let mut out = right_of_label(page_index, page, phrase);
    out.extend(below_label(page_index, page, phrase));
    out
}
