//! Fields printed in the page's heading rather than after a label: the facility's name.
//! A heading line is near the top of the first page, is not the form's title, and holds one
//! of the field's heading words (`Hospital`, `Clinic`, `មន្ទីរពេទ្យ`); a Latin line is
//! preferred to its Khmer twin, the name being exported as printed in Latin script where it is.

use super::labels::is_title_line;
use super::layout::{join_words, PageLayout};
use crate::khmer;
use crate::template::{FieldSpec, Template};
use crate::text::{label_key, similarity};
use crate::words::Word;

/// The heading line naming the field, as words, with how well a heading word matched.
pub(crate) fn find<'a>(spec: &FieldSpec, template: &Template, page: &PageLayout<'a>) -> Option<(Vec<&'a Word>, f32)> {
    let top = page.words.height / 4;
    let mut best: Option<(Vec<&Word>, f32, bool)> = None;
    for line in page.lines.iter().filter(|l| l.bbox.y < top) {
        if is_title_line(line, &template.titles) {
            continue;
        }
        // The heading's own piece of the line: not a label printed on it, nor a value across
        // a column's gap.
        let li = page.lines.iter().position(|l| std::ptr::eq(l, line)).expect("a line of the page");
        let mut pieces: Vec<Vec<&Word>> = vec![Vec::new()];
        for (k, w) in line.words.iter().enumerate() {
            let gap = pieces.last().and_then(|p| p.last()).is_some_and(|prev| w.bbox.x.saturating_sub(prev.bbox.right()) > 2 * page.line_height);
            if page.phrase_at(li, k).is_some() || gap {
                pieces.push(Vec::new());
            }
            if page.phrase_at(li, k).is_none() && !label_key(&w.text).is_empty() {
                pieces.last_mut().expect("a piece").push(w);
            }
        }
        for words in pieces.into_iter().filter(|p| !p.is_empty()) {
            let keys: Vec<String> = words.iter().map(|w| label_key(&w.text)).collect();
            let mut found: f32 = 0.0;
            for heading in &spec.heading {
                let key = label_key(heading);
                let n = heading.split_whitespace().count().max(1);
                for start in 0..keys.len() {
                    // A Khmer heading word may be glued to the name (មន្ទីរពេទ្យបង្អែក...).
                    let span: String = keys[start..(start + n).min(keys.len())].concat();
                    let s = if khmer::is_mostly_khmer(heading) && span.starts_with(&key) { 1.0 } else { similarity(&span, &key) };
                    found = found.max(s);
                }
            }
            if found < 0.8 || words.len() < 2 && !khmer::is_mostly_khmer(&words[0].text) {
                continue;
            }
            let latin = !khmer::is_mostly_khmer(&join_words(&words, false));
            let better = match &best {
                None => true,
                Some((_, s, l)) => (latin && !l) || (latin == *l && found > *s + 0.05),
            };
            if better {
                best = Some((words, found, latin));
            }
        }
    }
    best.map(|(w, s, _)| (w, s))
}
