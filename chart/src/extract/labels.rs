//! Printed labels: which words of a page are labels, grouped into label phrases, and whose
//! label each phrase is.
//!
//! Forms print a field's label in many ways: `ឈ្មោះ / Name:`, `Name (ឈ្មោះ)`, `ឈ្មោះ (Name)`,
//! the Khmer on one line and the English under it, in the corner of a bordered cell, or as
//! a table's column header; with qualifiers (`(Latin)`, `(cm)`, `No.`) and with or without a
//! colon. Three steps find them without knowing the layout:
//!
//! 1. **Hits**: spans of words whose text matches one of the template's labels: the same
//!    characters with OCR slips (edit distance), the same words in another order (`Name
//!    (Latin)` for `Latin name`, abbreviations such as `ht` for `height`), or the label with
//!    words inserted (`ឈ្មោះជាអក្សរឡាតាំង` for `ឈ្មោះឡាតាំង`). Labels of the other forms'
//!    templates are hits too: they are never values, though they name no field here.
//! 2. **Phrases**: hits grow into the printed label they are part of: across `/` to the
//!    label in the other script, over parenthesised qualifiers, up to a colon. A phrase holds
//!    at most one label per script, so two labels side by side (a table header, a cell row)
//!    stay apart. A Khmer phrase directly above an English one (or the reverse) is one label
//!    printed on two lines. Words ending in a colon at the start of a line are a label too,
//!    of something the template does not ask for.
//! 3. **Owners**: a phrase belongs to the field whose labels explain most of its characters,
//!    so `ឈ្មោះជាអក្សរឡាតាំង / Name (Latin)` is the Latin name's label, not the name's,
//!    though `Name` alone is the name's label.

use super::layout::{is_separator, Line};
use crate::geometry::BBox;
use crate::khmer;
use crate::template::{FieldSpec, Template};
use crate::text::{label_key, similarity_at_least, similarity_at_least_masked, MatchKey};
use crate::words::Word;

/// Whose label a phrase is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Owner {
    /// A field of the template, by index.
    Field(usize),
    /// A column of a table field: (field index, column index).
    Column(usize, usize),
    /// A label of another form, or a title: a label, but of nothing this template reads.
    Other,
}

/// A label as matching sees it. Labels with the same key, words and script match the same
/// spans, whichever field or form prints them: each is matched once per line.
#[derive(Debug, Clone)]
struct Label {
    /// Its key ([`label_key`]).
    key: MatchKey,
    len: usize,
    /// Latin words of the label, lower case (for matching in any order).
    tokens: Vec<String>,
    khmer: bool,
    /// Whether the key holds a digit (`ICD-10`).
    digits: bool,
}

/// One label of a template's vocabulary: which label (in [`Labels`]), and whose it is.
#[derive(Debug, Clone, Copy)]
struct Entry {
    owner: Owner,
    label: usize,
}

/// The labels of one template or of a set of templates, and each template's vocabulary over
/// them. A page's lines are matched against every label once ([`Labels::match_lines`]);
/// each template's hits are then read off those matches ([`Vocabulary`]), so detecting the
/// form among several templates costs one matching pass, not one per template.
#[derive(Debug, Clone)]
pub(crate) struct Labels {
    labels: Vec<Label>,
    /// Per vocabulary: its entries, and for each label the entries it is (in order).
    vocabularies: Vec<(Vec<Entry>, Vec<Vec<usize>>)>,
    /// The key of every label of the templates given: text that reads like one is no value.
    pub all_keys: Vec<MatchKey>,
}

/// Every label a chart of one template may print: a view of [`Labels`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct Vocabulary<'a> {
    labels: &'a [Label],
    entries: &'a [Entry],
    by_label: &'a [Vec<usize>],
}

impl Labels {
    /// The vocabulary of `template`: its fields' (and table columns') labels, and those of
    /// `others` of another form as [`Owner::Other`].
    pub fn new(template: &Template, others: &[Template]) -> Self {
        let all = std::iter::once(template).chain(others);
        Self::build(&[(template, others)], all)
    }

    /// One vocabulary per template of the set, each with the others' labels as
    /// [`Owner::Other`] (as [`Labels::new`] of each template among the set).
    pub fn for_set(templates: &[Template]) -> Self {
        let pairs: Vec<(&Template, &[Template])> = templates.iter().map(|t| (t, templates)).collect();
        Self::build(&pairs, templates.iter())
    }

    fn build<'t>(pairs: &[(&'t Template, &'t [Template])], all: impl Iterator<Item = &'t Template>) -> Self {
        let mut labels: Vec<Label> = Vec::new();
        let mut unique: std::collections::HashMap<(String, Vec<String>, bool), usize> = std::collections::HashMap::new();
        // Each label text's key worked out once (the same labels recur across templates).
        let mut keys: std::collections::HashMap<&'t str, String> = std::collections::HashMap::new();
        let mut key_of = |label: &'t str| keys.entry(label).or_insert_with(|| label_key(label)).clone();
        let mut label_index = |label: &'t str, key: String| -> Option<usize> {
            if key.chars().count() < 2 {
                return None;
            }
            let (khmer, tokens) = (khmer::is_mostly_khmer(label), tokens(label));
            let id = (key, tokens, khmer);
            if let Some(&i) = unique.get(&id) {
                return Some(i);
            }
            let (key, tokens, khmer) = id.clone();
            labels.push(Label { len: key.chars().count(), digits: key.chars().any(|c| c.is_ascii_digit()), key: MatchKey::from_key(key), tokens, khmer });
            unique.insert(id, labels.len() - 1);
            Some(labels.len() - 1)
        };
        let mut vocabularies = Vec::new();
        for (template, others) in pairs {
            let mut entries = Vec::new();
            let own_keys: std::collections::HashSet<String> = template.fields.iter().flat_map(field_labels).map(|l| key_of(l)).collect();
            for (i, f) in template.fields.iter().enumerate() {
                for l in &f.labels {
                    entries.extend(label_index(l, key_of(l)).map(|label| Entry { owner: Owner::Field(i), label }));
                }
                for (c, col) in f.columns.iter().enumerate() {
                    for l in &col.labels {
                        entries.extend(label_index(l, key_of(l)).map(|label| Entry { owner: Owner::Column(i, c), label }));
                    }
                }
            }
            for t in others.iter().filter(|t| t.form != template.form) {
                for l in t.fields.iter().flat_map(field_labels) {
                    let key = key_of(l);
                    if !own_keys.contains(&key) {
                        entries.extend(label_index(l, key).map(|label| Entry { owner: Owner::Other, label }));
                    }
                }
            }
            vocabularies.push(entries);
        }
        let all_keys = all.flat_map(|t| t.fields.iter().flat_map(field_labels)).map(|l| MatchKey::from_key(key_of(l))).filter(|k| !k.is_empty()).collect();
        let vocabularies = vocabularies
            .into_iter()
            .map(|entries: Vec<Entry>| {
                let mut by_label = vec![Vec::new(); labels.len()];
                for (i, e) in entries.iter().enumerate() {
                    by_label[e.label].push(i);
                }
                (entries, by_label)
            })
            .collect();
        Labels { labels, vocabularies, all_keys }
    }

    /// The vocabulary of the `index`th template given.
    pub fn vocabulary(&self, index: usize) -> Vocabulary<'_> {
        let (entries, by_label) = &self.vocabularies[index];
        Vocabulary { labels: &self.labels, entries, by_label }
    }

    /// Every label matched on each of a page's lines.
    pub fn match_lines(&self, lines: &[Line<'_>]) -> Vec<LineMatches> {
        lines.iter().map(|l| match_line(&self.labels, &l.words)).collect()
    }
}

fn tokens(text: &str) -> Vec<String> {
    let lower = text.to_lowercase();
    let all: Vec<String> = lower.split(|c: char| !c.is_ascii_alphanumeric()).filter(|t| !t.is_empty()).map(str::to_string).collect();
    let long: Vec<String> = all.iter().filter(|t| t.len() >= 2).cloned().collect();
    if long.is_empty() {
        all
    } else {
        long
    }
}

/// A field's labels and its table columns' labels.
fn field_labels(f: &FieldSpec) -> impl Iterator<Item = &String> {
    f.labels.iter().chain(f.columns.iter().flat_map(|c| c.labels.iter()))
}

/// A label matched on a line: words `start..end`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Hit {
    pub owner: Owner,
    pub start: usize,
    pub end: usize,
    /// How alike, 0..1.
    pub similarity: f32,
    /// Characters of the label matched.
    pub chars: usize,
    pub khmer: bool,
}

impl Hit {
    fn weight(&self) -> f32 {
        self.similarity.powi(4) * self.chars as f32
    }
}

fn threshold_for(key_len: usize) -> f32 {
    match key_len {
        0..=3 => 0.99,
        4..=6 => 0.79,
        _ => 0.74,
    }
}

/// Similarity when the printed span may hold more than the label (words inserted, a
/// qualifier glued on): inserted characters cost half. Only for labels long enough that
/// half-cost insertions cannot make a value word look like one.
fn inserted_similarity(a: &[char], b: &[char]) -> f32 {
    // Words inserted inside the label, not a value glued after it: the same first and
    // last two characters.
    if b.len() < 6 || a.len() <= b.len() || a[..2] != b[..2] || a[a.len() - 2..] != b[b.len() - 2..] {
        return 0.0;
    }
    // Costs doubled to stay in integers: substitution and deletion 2, insertion 1.
    let mut prev: Vec<usize> = (0..=b.len()).map(|j| 2 * j).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.iter().enumerate() {
        cur[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + if ca == cb { 0 } else { 2 };
            cur[j + 1] = sub.min(prev[j + 1] + 1).min(cur[j] + 2);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    1.0 - prev[b.len()] as f32 / 2.0 / a.len() as f32
}

/// Whether span token `t` stands for label token `l`: the same with a slip, or an
/// abbreviation (`ht` for `height`, `wks` for `weeks`: same first letter, in order).
fn token_match(t: &str, l: &str) -> f32 {
    if t == l {
        return 1.0;
    }
    // `No.`, `Nr`, `#`: how forms abbreviate "number" (`ANC visit no.`).
    if l == "number" && matches!(t, "no" | "nr" | "num" | "nos") {
        return 0.9;
    }
    let longest = t.len().max(l.len());
    // (Tokens are ASCII: a byte is a character. A quarter of the longer one at most apart.)
    if longest >= 4 && 4 * t.len().abs_diff(l.len()) <= longest {
        let s = similarity_at_least(t.as_bytes(), l.as_bytes(), 0.75);
        if s >= 0.75 {
            return s;
        }
    }
    let mut rest = l.chars();
    let abbreviation = t.len() >= 2 && t.len() * 2 <= l.len() + 1 && t.chars().next() == l.chars().next() && t.chars().all(|c| rest.any(|x| x == c));
    if abbreviation {
        0.8
    } else {
        0.0
    }
}

/// Similarity of a span's words to a label's words taken in any order: every label word
/// found (at least one exactly), at most two other words in the span, and none at its ends
/// (the span is the label, not the label and its value).
fn token_similarity(span_tokens: &[String], label: &[String]) -> f32 {
    if label.len() < 2 || span_tokens.len() > label.len() + 2 {
        return 0.0;
    }
    let matches_label = |t: &String| label.iter().any(|l| token_match(t, l) > 0.0);
    if !span_tokens.first().is_some_and(matches_label) || !span_tokens.last().is_some_and(matches_label) {
        return 0.0;
    }
    let mut used = vec![false; span_tokens.len()];
    let mut total = 0.0;
    let mut exact = false;
    for l in label {
        let best = span_tokens.iter().enumerate().filter(|(i, _)| !used[*i]).map(|(i, t)| (i, token_match(t, l))).max_by(|a, b| a.1.total_cmp(&b.1));
        match best {
            Some((i, s)) if s > 0.0 => {
                used[i] = true;
                total += s;
                exact |= s >= 0.95;
            }
            _ => return 0.0,
        }
    }
    if !exact {
        return 0.0;
    }
    // In another order, or with other words between: a little less than the same label.
    0.95 * total / label.len() as f32
}

/// The labels matched on one line, whoever's they are: per span of words, in the order
/// tried, the labels it matches and how alike; per word holding labels glued by `/` or `(`,
/// the labels its first and its last piece match.
#[derive(Debug, Clone, Default)]
pub(crate) struct LineMatches {
    /// The line's words' keys, one per word (titles are looked for in them too).
    pub keys: Vec<MatchKey>,
    /// The same keys, run together.
    text: String,
    spans: Vec<(usize, usize, Matched)>,
    pieces: Vec<(usize, [Matched; 2])>,
}

/// Labels (indices into [`Labels`]) matched on some words, and how alike each is.
type Matched = Vec<(usize, f32)>;

/// Matches every label against the spans of a line (see [`LineMatches`]).
fn match_line(labels: &[Label], words: &[&Word]) -> LineMatches {
    let keys: Vec<MatchKey> = words.iter().map(|w| MatchKey::of(&w.text)).collect();
    let word_tokens: Vec<Vec<String>> = words.iter().map(|w| tokens(&w.text)).collect();
    let latin: Vec<bool> = words.iter().map(|w| !khmer::is_mostly_khmer(&w.text)).collect();
    let mut matches = LineMatches { text: keys.iter().map(|k| k.text.as_str()).collect(), ..Default::default() };
    for start in 0..keys.len() {
        if keys[start].is_empty() {
            continue;
        }
        let mut span_chars: Vec<char> = Vec::new();
        let mut span_mask = 0u64;
        let mut span_tokens: Vec<String> = Vec::new();
        for end in start + 1..=(start + 6).min(keys.len()) {
            // A label is printed as one phrase: a column's width between two words is two
            // labels side by side (`Visit     Date` in a table header).
            if end > start + 1 {
                let (a, b) = (words[end - 2], words[end - 1]);
                if b.bbox.x.saturating_sub(a.bbox.right()) > 3 * a.bbox.h.max(b.bbox.h) / 2 {
                    break;
                }
            }
            span_chars.extend(&keys[end - 1].chars);
            span_mask |= keys[end - 1].mask();
            span_tokens.extend(word_tokens[end - 1].iter().cloned());
            if keys[end - 1].is_empty() && end > start + 1 {
                continue;
            }
            let span_len = span_chars.len();
            // A number at either end of the span is a value beside the label, not a part
            // of it (a label OCR misread may hold a digit, not a run of them).
            let number_at_edge = numberish(words[start]) || numberish(words[end - 1]);
            // Words in another order: Latin words only, the label's own words at both
            // ends (a parenthesised qualifier after it belongs to the phrase, not the match).
            let latin_span = latin[start..end].iter().all(|l| *l) && !words[end - 1].text.trim_start().starts_with('(');
            let mut matched = Vec::new();
            for (li, e) in labels.iter().enumerate() {
                if number_at_edge && !e.digits {
                    continue;
                }
                let mut sim = 0.0;
                if span_len <= e.len * 3 / 2 + 2 && span_len * 2 + 2 >= e.len {
                    sim = similarity_at_least_masked(&span_chars, span_mask, &e.key.chars, e.key.mask(), threshold_for(e.len));
                }
                // Words inserted inside the label (`ឈ្មោះ[ជាអក្សរ]ឡាតាំង`) may make it up to
                // twice as long.
                if sim < threshold_for(e.len) && span_len <= 2 * e.len {
                    sim = sim.max(inserted_similarity(&span_chars, &e.key.chars));
                }
                if sim < threshold_for(e.len) && !e.khmer && latin_span && end - start <= e.tokens.len() + 2 {
                    sim = token_similarity(&span_tokens, &e.tokens);
                }
                if sim >= threshold_for(e.len) {
                    matched.push((li, sim));
                }
            }
            if !matched.is_empty() {
                matches.spans.push((start, end, matched));
            }
        }
    }
    // A label glued to another by `/` or `(` into one word (`កម្ពស់/Height(cm):`): its
    // first or last piece matched alone.
    for (i, w) in words.iter().enumerate() {
        let pieces: Vec<&str> = w.text.split(['/', '(', ')']).filter(|p| !label_key(p).is_empty()).collect();
        if pieces.len() < 2 {
            continue;
        }
        let mut found: [Vec<(usize, f32)>; 2] = Default::default();
        for (side, piece) in [pieces[0], pieces[pieces.len() - 1]].into_iter().enumerate() {
            let key = MatchKey::of(piece);
            for (li, e) in labels.iter().enumerate() {
                let min = threshold_for(e.len).max(0.85);
                let sim = key.similarity_at_least(&e.key, min);
                if sim >= min {
                    found[side].push((li, sim));
                }
            }
        }
        if found.iter().any(|f| !f.is_empty()) {
            matches.pieces.push((i, found));
        }
    }
    matches.keys = keys;
    matches
}

impl Vocabulary<'_> {
    /// This vocabulary's entries matching `matched` labels, in the vocabulary's order.
    fn entries_of(&self, matched: &[(usize, f32)]) -> Vec<(usize, f32)> {
        let mut out: Vec<(usize, f32)> = matched.iter().flat_map(|&(label, sim)| self.by_label[label].iter().map(move |&e| (e, sim))).collect();
        out.sort_by_key(|&(e, _)| e);
        out
    }

    /// Every label of this vocabulary matched on a line (overlapping ones included).
    pub(crate) fn hits(&self, matches: &LineMatches) -> Vec<Hit> {
        let mut hits = Vec::new();
        for (start, end, matched) in &matches.spans {
            for (ei, sim) in self.entries_of(matched) {
                let (e, label) = (self.entries[ei], &self.labels[self.entries[ei].label]);
                hits.push(Hit { owner: e.owner, start: *start, end: *end, similarity: sim, chars: label.len, khmer: label.khmer });
            }
        }
        // A label glued to another: matched alone, when not already matched on its word.
        for (i, found) in &matches.pieces {
            for side in found {
                for (ei, sim) in self.entries_of(side) {
                    let (e, label) = (self.entries[ei], &self.labels[self.entries[ei].label]);
                    if !hits.iter().any(|h| h.start == *i && h.end == i + 1 && h.owner == e.owner) {
                        hits.push(Hit { owner: e.owner, start: *i, end: i + 1, similarity: sim * 0.95, chars: label.len, khmer: label.khmer });
                    }
                }
            }
        }
        hits
    }
}

/// A printed label: words `start..end` of one line, or of two (a label printed on two
/// lines, Khmer above English).
#[derive(Debug, Clone)]
pub(crate) struct Phrase {
    /// The lines (indices into the page's lines) and word ranges it covers, top first.
    pub parts: Vec<(usize, usize, usize)>,
    /// Whose label it is (`None`: a label of nothing this template reads).
    pub owner: Option<Owner>,
    /// How well the owner's label matched, 0..1.
    pub similarity: f32,
    /// How many of its characters the owner's labels explain.
    pub score: f32,
    /// Every owner with labels in it and how much each explains (a table's column header
    /// may also be a single field's label: `Weight (kg)`).
    pub alternatives: Vec<(Owner, f32)>,
    /// It ends with a colon.
    pub colon: bool,
    /// The union of its words' boxes.
    pub bbox: BBox,
    /// Scripts of its labels: Khmer, Latin.
    pub scripts: (bool, bool),
}

impl Phrase {
    /// The line its value is read after: the last part's.
    pub fn last(&self) -> (usize, usize, usize) {
        *self.parts.last().expect("a phrase has a part")
    }
}

fn is_slash(w: &Word) -> bool {
    let t = w.text.trim();
    !t.is_empty() && t.chars().all(|c| matches!(c, '/' | '\\' | '|' | '1' | 'l' | 'I')) && t.contains(['/', '\\'])
}

/// A cell border the engine read as a character.
pub(crate) fn is_bar(w: &Word) -> bool {
    let t = w.text.trim();
    !t.is_empty() && t.chars().all(|c| matches!(c, '|' | '[' | ']' | '¦' | '!'))
}

/// Whether a word ends like a printed label (`Name:`; Khmer `ៈ` and `៖` read like a colon).
/// (The sign ៈ is not a colon: it ends words such as រតនៈ and កុម្ភៈ; a label written with it
/// is matched as a label all the same.)
pub(crate) fn ends_like_label(w: &Word) -> bool {
    let t = w.text.trim_end_matches(|c: char| c == '|' || c == '.' || c.is_whitespace());
    t.ends_with(':') || t.ends_with('：') || t.ends_with('៖')
}

/// Mostly digits: two or more, and at least half of its letters and digits (`1D` is a
/// misread `ID`, a long Khmer label misread with a few digits in it is a label; `004417`
/// and `12` are numbers).
fn numberish(w: &Word) -> bool {
    let digits = w.text.chars().filter(|c| c.is_ascii_digit() || khmer::KHMER_DIGITS.contains(c)).count();
    let alnum = w.text.chars().filter(|c| c.is_alphanumeric()).count();
    digits >= 2 && digits * 2 >= alnum
}

fn has_digit(w: &Word) -> bool {
    w.text.chars().any(|c| c.is_ascii_digit() || khmer::KHMER_DIGITS.contains(&c))
}

/// Builds a line's phrases from its hits (see the module documentation).
fn phrases_on_line(line_index: usize, line: &Line<'_>, hits: &[Hit]) -> Vec<Phrase> {
    let words = &line.words;
    let n = words.len();
    let height = line.bbox.h.max(1);
    // The hit starting at i that reaches furthest (then weighs most).
    let best_at =
        |i: usize| -> Option<Hit> { hits.iter().filter(|h| h.start == i).copied().max_by(|a, b| a.weight().total_cmp(&b.weight()).then(b.end.cmp(&a.end))) };
    let gap = |a: usize, b: usize| words[b].bbox.x.saturating_sub(words[a].bbox.right());
    let colon_within = |from: usize, count: usize| -> Option<usize> {
        (from..(from + count).min(n)).take_while(|&k| !has_digit(words[k]) && !is_bar(words[k])).find(|&k| ends_like_label(words[k]))
    };
    let mut out: Vec<(usize, usize, (bool, bool))> = Vec::new();
    let mut i = 0;
    while i < n {
        let Some(h) = best_at(i) else {
            i += 1;
            continue;
        };
        let mut start = i;
        let mut scripts = (h.khmer, !h.khmer);
        // The Khmer label before `/ English`, when the Khmer itself was not recognised.
        let slash_before = words[i].text.trim_start().starts_with('/') || (i > 0 && is_slash(words[i - 1]));
        if !h.khmer && slash_before {
            let k = if words[i].text.trim_start().starts_with('/') { i } else { i - 1 };
            if k > 0
                && out.last().is_none_or(|p| p.1 < k)
                && khmer::is_mostly_khmer(&words[k - 1].text)
                && !ends_like_label(words[k - 1])
                && !has_digit(words[k - 1])
                && gap(k - 1, k) < 2 * height
            {
                start = k - 1;
                scripts.0 = true;
            }
        }
        // The Khmer label before `(English)`: `លេខសម្គាល់ (ANC No.):`.
        if !h.khmer && start == i && words[i].text.trim_start().starts_with('(') && i > 0 && out.last().is_none_or(|p| p.1 < i) {
            let k = i - 1;
            if khmer::is_mostly_khmer(&words[k].text) && !ends_like_label(words[k]) && !has_digit(words[k]) && gap(k, i) < 2 * height {
                start = k;
                scripts.0 = true;
            }
        }
        let mut end = h.end;
        loop {
            if end >= n || ends_like_label(words[end - 1]) || gap(end - 1, end) > 3 * height {
                break;
            }
            let w = words[end];
            if is_bar(w) {
                break;
            }
            if is_slash(w) {
                match best_at(end + 1) {
                    Some(h2) if (h2.khmer && !scripts.0) || (!h2.khmer && !scripts.1) => {
                        scripts.0 |= h2.khmer;
                        scripts.1 |= !h2.khmer;
                        end = h2.end;
                        continue;
                    }
                    Some(_) => break,
                    None => {}
                }
                // `/ unknown words:` -- the other script's label, unrecognised, up to its colon.
                if let Some(k) = colon_within(end + 1, 3) {
                    end = k + 1;
                    continue;
                }
                break;
            }
            if w.text.trim_start().starts_with('(') {
                let close = (end..(end + 4).min(n)).find(|&k| words[k].text.contains(')'));
                if let Some(k) = close {
                    let inner_hit = hits.iter().find(|h2| h2.start >= end && h2.end <= k + 1);
                    if let Some(h2) = inner_hit {
                        scripts.0 |= h2.khmer;
                        scripts.1 |= !h2.khmer;
                    }
                    // (A digit in the word that closes the qualifier with a colon is a
                    // misread letter of the label: `(Name (២8ប)):`, not a value.)
                    let values_inside =
                        (end..=k).any(|j| has_digit(words[j]) && !(j == k && ends_like_label(words[j])) && !hits.iter().any(|h2| h2.start <= j && j < h2.end));
                    if !values_inside || k == end {
                        end = k + 1;
                        continue;
                    }
                }
                break;
            }
            if let Some(h2) = best_at(end) {
                let glued = w.text.trim_start().starts_with(['/', '(']) || words[end - 1].text.trim_end().ends_with('/');
                if glued && ((h2.khmer && !scripts.0) || (!h2.khmer && !scripts.1)) {
                    scripts.0 |= h2.khmer;
                    scripts.1 |= !h2.khmer;
                    end = h2.end;
                    continue;
                }
                break;
            }
            // A qualifier up to the colon: `No.:`, `(dd/mm/yyyy):`.
            if let Some(k) = colon_within(end, 2) {
                end = k + 1;
                continue;
            }
            break;
        }
        out.push((start, end, scripts));
        i = end;
    }
    // Labels of nothing this template reads: words ending in a colon, from the line's start
    // (or a cell border) or after a phrase, without digits.
    let mut extra = Vec::new();
    for (k, w) in words.iter().enumerate() {
        if !ends_like_label(w) || label_key(&w.text).is_empty() || out.iter().any(|p| p.0 <= k && k < p.1) || has_digit(w) {
            continue;
        }
        let mut s = k;
        while s > 0
            && k - s < 5
            && !has_digit(words[s - 1])
            && !is_bar(words[s - 1])
            && !out.iter().any(|p| p.0 < s && s - 1 < p.1)
            && gap(s - 1, s) < 2 * height
            && !ends_like_label(words[s - 1])
        {
            s -= 1;
        }
        let at_boundary = s == 0 || is_bar(words[s - 1]) || out.iter().any(|p| p.1 == s) || gap(s - 1, s) >= 2 * height;
        extra.push(if at_boundary { (s, k + 1) } else { (k, k + 1) });
    }
    // Two pieces of one label side by side (a slash read as part of a word split them).
    let mut merged: Vec<(usize, usize, (bool, bool))> = Vec::new();
    for p in out {
        if let Some(last) = merged.last_mut() {
            let owner = |s: usize, e: usize| choose_owner(&hits.iter().filter(|h| h.start >= s && h.end <= e).copied().collect::<Vec<_>>()).0;
            let joinable = last.1 == p.0
                && !ends_like_label(words[last.1 - 1])
                && last.2 != p.2
                && owner(last.0, last.1).is_some()
                && owner(last.0, last.1) == owner(p.0, p.1);
            if joinable {
                last.1 = p.1;
                last.2 = (last.2 .0 || p.2 .0, last.2 .1 || p.2 .1);
                continue;
            }
        }
        merged.push(p);
    }
    let out = merged;
    let mut phrases: Vec<Phrase> = out
        .into_iter()
        .map(|(start, end, scripts)| make_phrase(line_index, line, start, end, scripts, hits))
        .chain(extra.into_iter().map(|(start, end)| {
            let khmer = words[start..end].iter().any(|w| khmer::is_mostly_khmer(&w.text));
            make_phrase(line_index, line, start, end, (khmer, !khmer), &[])
        }))
        .collect();
    phrases.sort_by_key(|p| p.parts[0].1);
    phrases
}

fn make_phrase(line_index: usize, line: &Line<'_>, start: usize, end: usize, scripts: (bool, bool), hits: &[Hit]) -> Phrase {
    let inside: Vec<Hit> = hits.iter().filter(|h| h.start >= start && h.end <= end).copied().collect();
    let (owner, score, similarity, alternatives) = choose_owner(&inside);
    let bbox = line.words[start..end].iter().skip(1).fold(line.words[start].bbox, |b, w| b.union(&w.bbox));
    Phrase { parts: vec![(line_index, start, end)], owner, similarity, score, alternatives, colon: ends_like_label(line.words[end - 1]), bbox, scripts }
}

/// The owner whose labels explain most characters among `hits` (each owner's
/// non-overlapping best hits), with that score, its best similarity and every owner's score.
fn choose_owner(hits: &[Hit]) -> (Option<Owner>, f32, f32, Vec<(Owner, f32)>) {
    let mut owners: Vec<Owner> = hits.iter().map(|h| h.owner).collect();
    owners.sort();
    owners.dedup();
    let mut best: Option<(Owner, f32, f32)> = None;
    let mut alternatives = Vec::new();
    for o in owners {
        let mut mine: Vec<Hit> = hits.iter().filter(|h| h.owner == o).copied().collect();
        mine.sort_by(|a, b| b.weight().total_cmp(&a.weight()));
        let mut taken: Vec<Hit> = Vec::new();
        for h in mine {
            if !taken.iter().any(|t| t.start < h.end && h.start < t.end) {
                taken.push(h);
            }
        }
        // A label of another form counts half: this form's own labels explain it first.
        let weight = if o == Owner::Other { 0.5 } else { 1.0 };
        let score: f32 = weight * taken.iter().map(|h| h.chars as f32 * h.similarity * h.similarity).sum::<f32>();
        let sim = taken.iter().map(|h| h.similarity).fold(0.0, f32::max);
        alternatives.push((o, score));
        if best.is_none_or(|(_, s, _)| score > s + 1e-6) {
            best = Some((o, score, sim));
        }
    }
    match best {
        Some((Owner::Other, score, sim)) => (None, score, sim, alternatives),
        Some((o, score, sim)) => (Some(o), score, sim, alternatives),
        None => (None, 0.0, 0.0, alternatives),
    }
}

/// Whether a line carries one of the template's titles (labels are not looked for there:
/// `និងចេញពីមន្ទីរពេទ្យ` in a title is not the label `ថ្ងៃចេញពីមន្ទីរពេទ្យ`).
pub(crate) fn is_title_line(line: &Line<'_>, titles: &[String]) -> bool {
    let text: String = line.words.iter().map(|w| label_key(&w.text)).collect();
    titles.iter().any(|t| {
        let key = label_key(t);
        key.chars().count() >= 6 && text.contains(&key)
    })
}

/// Which lines carry one of the titles (see [`is_title_line`]), from the lines' matches.
pub(crate) fn title_lines(matches: &[LineMatches], titles: &[String]) -> Vec<bool> {
    let keys: Vec<String> = titles.iter().map(|t| label_key(t)).filter(|k| k.chars().count() >= 6).collect();
    matches.iter().map(|m| keys.iter().any(|k| m.text.contains(k.as_str()))).collect()
}

/// The phrases of one page: built line by line, then labels printed on two lines joined.
/// `matches` are the lines' label matches ([`Labels::match_lines`]).
pub(crate) fn page_phrases(vocab: Vocabulary<'_>, lines: &[Line<'_>], title_lines: &[bool], matches: &[LineMatches]) -> Vec<Phrase> {
    let mut all_hits: Vec<Vec<Hit>> = Vec::with_capacity(lines.len());
    let mut phrases = Vec::new();
    for (li, line) in lines.iter().enumerate() {
        let hits = if title_lines[li] { Vec::new() } else { vocab.hits(&matches[li]) };
        phrases.extend(phrases_on_line(li, line, &hits));
        all_hits.push(hits);
    }
    demote_near_labels_after_colons(&mut phrases, lines);
    join_stacked(&mut phrases, lines, &all_hits);
    demote_weak(&mut phrases, lines);
    phrases
}

/// Drops phrases that are more likely words of a value or a heading than a label: a single
/// word or so matched loosely or from another form (`4 weeks`, `Referral Hospital`, `A.
/// Patient identity`), in one script, without a colon, in the middle of a run of text or
/// after a comma. A label of this form matched well, one ending in a colon, a bilingual
/// one, one on two lines or one starting a piece of text stays a label.
fn demote_weak(phrases: &mut Vec<Phrase>, lines: &[Line<'_>]) {
    phrases.retain(|p| {
        if p.colon || p.parts.len() > 1 || (p.scripts.0 && p.scripts.1) {
            return true;
        }
        let (line, start, _) = p.parts[0];
        let words = &lines[line].words;
        let height = text_height(&lines[line]);
        let after_comma = start > 0 && words[start - 1].text.trim_end().ends_with(',');
        let loose = p.owner.is_none() || p.similarity < 0.9;
        let strong_start = starts_segment(&lines[line], start, height) && !after_comma;
        // Inside running text: words of a sentence close on both sides (`weeks weight loss`).
        let end = p.parts[0].2;
        let wordy = |w: &Word| w.text.chars().filter(|c| c.is_alphabetic()).count() >= 2;
        let close = |a: &Word, b: &Word| b.bbox.x.saturating_sub(a.bbox.right()) <= height;
        // (Latin only: Khmer runs the words of a phrase together, and spaces its phrases.)
        let latin = p.scripts.1 && !p.scripts.0;
        let embedded = latin
            && start > 0
            && end < words.len()
            && wordy(words[start - 1])
            && wordy(words[end])
            && close(words[start - 1], words[start])
            && close(words[end - 1], words[end])
            && !strong_start;
        // A parenthesised qualifier alone (`(bpm)` read as `(bp)`) is not a label.
        let qualifier = words[start].text.trim_start().starts_with('(') && !p.scripts.0;
        !(after_comma || embedded || qualifier || (loose && !strong_start))
    });
}

/// A near match right after another field's label is that label's value (`District:
/// Sangkae`, or `District | Sangkae` in a table, is not the label `Sangkat`): only
/// separators or a cell border between them. Not in a row of column headers, where labels
/// follow labels.
fn demote_near_labels_after_colons(phrases: &mut Vec<Phrase>, lines: &[Line<'_>]) {
    let snapshot = phrases.clone();
    phrases.retain(|p| {
        // A bilingual label is never a value.
        if p.similarity >= 0.95 || p.owner.is_none() || (p.scripts.0 && p.scripts.1) {
            return true;
        }
        let (line, start, _) = p.parts[0];
        let on_line = snapshot.iter().filter(|q| q.parts.iter().any(|&(l, _, _)| l == line) && q.owner.is_some()).count();
        !snapshot.iter().any(|q| {
            let (ql, _, qe) = q.last();
            let between_only_separators = lines[line].words[qe.min(start)..start].iter().all(|w| is_separator(w) || is_bar(w));
            ql == line && qe <= start && q.owner.is_some() && q.owner != p.owner && between_only_separators && (q.colon || on_line < 3)
        })
    });
}

/// Whether word `start` of a line begins a piece of text of its own: first on the line,
/// after a cell border, or after a gap wider than a word space (not the end of a sentence
/// such as `ANC visits`).
fn starts_segment(line: &Line<'_>, start: usize, height: u32) -> bool {
    match previous_real_word(line, start) {
        None => true,
        Some(k) => is_bar(line.words[k]) || line.words[start].bbox.x.saturating_sub(line.words[k].bbox.right()) > height,
    }
}

/// The word before word `start` on the line, passing over specks the engine read as a
/// letter (a single doubtful character).
fn previous_real_word(line: &Line<'_>, start: usize) -> Option<usize> {
    (0..start).rev().find(|&k| {
        let w = line.words[k];
        w.text.chars().filter(|c| c.is_alphanumeric()).count() >= 2 || w.confidence >= 0.6 || is_bar(w)
    })
}

/// The height of a line's text: its words' median height (the line's box grows with any
/// tall speck or rule on it).
pub(crate) fn text_height(line: &Line<'_>) -> u32 {
    let mut heights: Vec<u32> = line.words.iter().filter(|w| w.text.chars().count() >= 2).map(|w| w.bbox.h).collect();
    heights.sort_unstable();
    heights.get(heights.len() / 2).copied().unwrap_or(line.bbox.h).max(1)
}

/// Joins a one-script phrase with the other script's phrase printed right under it, at the
/// same place (a label on two lines), when together they name one owner.
fn join_stacked(phrases: &mut Vec<Phrase>, lines: &[Line<'_>], hits: &[Vec<Hit>]) {
    let mut i = 0;
    while i < phrases.len() {
        let a = phrases[i].clone();
        let one_script = |p: &Phrase| p.scripts.0 != p.scripts.1;
        if !one_script(&a) || a.colon || a.parts.len() > 1 {
            i += 1;
            continue;
        }
        let (al, _, _) = a.last();
        let height = text_height(&lines[al]);
        if !starts_segment(&lines[al], a.parts[0].1, height) {
            i += 1;
            continue;
        }
        let partner = phrases.iter().enumerate().find(|(j, b)| {
            let (bl, _, _) = b.parts[0];
            *j != i
                && b.parts.len() == 1
                && bl > al
                && one_script(b)
                && b.scripts != a.scripts
                && starts_segment(&lines[bl], b.parts[0].1, height)
                && b.bbox.y >= a.bbox.center_y()
                && b.bbox.y < a.bbox.bottom() + height * 4 / 5
                // Aligned at the left, or centred one over the other.
                && (a.bbox.x.abs_diff(b.bbox.x) <= height || (a.bbox.x + a.bbox.w / 2).abs_diff(b.bbox.x + b.bbox.w / 2) <= height)
        });
        let Some((j, b)) = partner.map(|(j, b)| (j, b.clone())) else {
            i += 1;
            continue;
        };
        // Together: the owner explaining most of both.
        let (bl, bs, be) = b.parts[0];
        let (_, as_, ae) = a.parts[0];
        let mut joined: Vec<Hit> = hits[al].iter().filter(|h| h.start >= as_ && h.end <= ae).copied().collect();
        joined.extend(hits[bl].iter().filter(|h| h.start >= bs && h.end <= be).map(|h| Hit { start: h.start + 1000, end: h.end + 1000, ..*h }));
        let (owner, score, similarity, alternatives) = choose_owner(&joined);
        // Two labels each read clearly as a different field's (`Age` over the next field's
        // `ភូមិ`, in a column of stacked labels) are two labels, not one.
        let rival = a.owner.is_some() && b.owner.is_some() && a.owner != b.owner && a.similarity >= 0.9 && b.similarity >= 0.9;
        let compatible = !rival && (a.owner.is_none() || b.owner.is_none() || a.owner == b.owner || owner.is_some());
        if !compatible {
            i += 1;
            continue;
        }
        let merged = Phrase {
            parts: vec![a.parts[0], b.parts[0]],
            owner: owner.or(a.owner).or(b.owner),
            similarity: similarity.max(a.similarity).max(b.similarity),
            score,
            alternatives,
            colon: b.colon,
            bbox: a.bbox.union(&b.bbox),
            scripts: (true, true),
        };
        phrases[i] = merged;
        phrases.remove(j);
        if j < i {
            i -= 1;
        }
        i += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(texts: &[&str]) -> Vec<Word> {
        let mut x = 0;
        texts
            .iter()
            .map(|t| {
                let w = 20 * t.chars().count() as u32;
                let word = Word { text: t.to_string(), bbox: BBox::new(x, 0, w, 40), confidence: 0.9, line: 0, block: 0 };
                x += w + 15;
                word
            })
            .collect()
    }

    #[test]
    fn matching_tolerates_order_abbreviations_and_inserted_words() {
        let inserted = |a: &str, b: &str| inserted_similarity(&a.chars().collect::<Vec<_>>(), &b.chars().collect::<Vec<_>>());
        assert!(inserted("ឈ្មោះជាអក្សរឡាតាំង", "ឈ្មោះឡាតាំង") > 0.8);
        assert_eq!(inserted("ភូមិថ្មី", "ភូមិ"), 0.0, "short labels need the same characters");
        assert!(token_similarity(&tokens("Name (Latin)"), &tokens("Latin name")) > 0.9);
        assert!(token_similarity(&tokens("Fundal ht"), &tokens("Fundal height")) > 0.8);
        assert_eq!(token_similarity(&tokens("Name (Khmer)"), &tokens("Latin name")), 0.0);
        assert_eq!(token_match("ga", "gravida"), 0.8, "an abbreviation");
        assert_eq!(token_similarity(&tokens("ga"), &tokens("gravida")), 0.0, "one-word labels are not matched by abbreviation");
    }

    #[test]
    fn phrases_keep_one_label_per_script_and_pick_the_owner_explaining_most() {
        let t = crate::template::Template::parse(
            r#"form = "x"
name = "x"
[[fields]]
name = "name_khmer"
type = "khmer_text"
labels = ["ឈ្មោះ", "Name"]
[[fields]]
name = "name_latin"
type = "latin_text"
labels = ["ឈ្មោះឡាតាំង", "Latin name"]
[[fields]]
name = "age"
type = "integer"
labels = ["Age"]
"#,
        )
        .unwrap();
        let labels = Labels::new(&t, &[]);
        let words = line(&["ឈ្មោះ", "/", "Name", "(Khmer)", "ឈ្មោះជាអក្សរឡាតាំង", "/", "Name", "(Latin)", "Age:", "32"]);
        let refs: Vec<&Word> = words.iter().collect();
        let l = Line { page: 1, bbox: refs.iter().skip(1).fold(refs[0].bbox, |b, w| b.union(&w.bbox)), words: refs };
        let hits = labels.vocabulary(0).hits(&match_line(&labels.labels, &l.words));
        let phrases = phrases_on_line(0, &l, &hits);
        let spans: Vec<(usize, usize, Option<Owner>)> = phrases.iter().map(|p| (p.parts[0].1, p.parts[0].2, p.owner)).collect();
        assert_eq!(spans, [(0, 4, Some(Owner::Field(0))), (4, 8, Some(Owner::Field(1))), (8, 9, Some(Owner::Field(2)))]);
        assert!(phrases[2].colon);
    }
}
