//! Form detection: which template a chart is, from its printed titles and labels.

use crate::extract::labels::{page_phrases, Labels, LineMatches, Owner};
use crate::template::Template;
use crate::text::{similarity_at_least_masked, MatchKey};
use crate::words::{Line, PageWords};
use std::collections::HashSet;

/// The detected form and how sure detection is.
#[derive(Debug, Clone, PartialEq)]
pub struct FormGuess {
    /// The template's form, or `None` when no template fits well enough.
    pub form: Option<String>,
    /// The winner's score, 0..1.
    pub score: f32,
}

/// Below this score a chart is an unknown form.
pub const MIN_FORM_SCORE: f32 = 0.35;

/// How well a title is printed on the pages: the best similarity of a span of words to it,
/// when at least [`TITLE_MATCH`] (under it, 0 or some lower figure).
/// (`matches`: the pages' lines' label matches, which hold each word's key.)
fn title_score(matches: &[Vec<LineMatches>], title: &str) -> f32 {
    let key = MatchKey::of(title);
    let mut best: f32 = 0.0;
    for line in matches.iter().flatten() {
        let keys = &line.keys;
        for start in 0..keys.len() {
            let (mut span, mut mask) = (Vec::new(), 0u64);
            for k in keys.iter().skip(start).take(8) {
                span.extend(&k.chars);
                mask |= k.mask();
                if span.len() > key.len() * 3 / 2 {
                    break;
                }
                best = best.max(similarity_at_least_masked(&span, mask, &key.chars, key.mask(), TITLE_MATCH));
            }
        }
    }
    best
}

/// A title matched less well than this does not count.
const TITLE_MATCH: f32 = 0.75;

/// The fields of the `index`th template whose label was found on the pages' lines
/// (`matches`: the lines' label matches, [`Labels::match_lines`]).
fn fields_labelled(labels: &Labels, index: usize, t: &Template, lines: &[Vec<Line<'_>>], matches: &[Vec<LineMatches>]) -> HashSet<usize> {
    let vocab = labels.vocabulary(index);
    let mut found: HashSet<usize> = HashSet::new();
    for (page_lines, page_matches) in lines.iter().zip(matches) {
        let titles = crate::extract::labels::title_lines(page_matches, &t.titles);
        for p in page_phrases(vocab, page_lines, &titles, page_matches) {
            if let Some(Owner::Field(i) | Owner::Column(i, _)) = p.owner {
                found.insert(i);
            }
        }
    }
    found
}

/// How many labels of one form a page shows (the most of any template): a page read the
/// wrong way up shows next to none, since its words are noise.
pub fn labels_found(templates: &[Template], page: &PageWords) -> usize {
    let labels = Labels::for_set(templates);
    let lines = vec![page.lines()];
    let matches = vec![labels.match_lines(&lines[0])];
    templates.iter().enumerate().map(|(i, t)| fields_labelled(&labels, i, t, &lines, &matches).len()).max().unwrap_or(0)
}

/// A reading that shows at least this many labels of one form was read the right way up.
/// Read sideways or upside down, the 91 pages of the samples and forms-dev showed at most 3
/// (fuzzy matches of noise); upright, first pages show 7 to 27. Pages with fewer labels
/// (continuation sheets) are left to the engine's confidence.
pub const UPRIGHT_LABELS: usize = 6;

/// Whether the words of a page show enough of a form's labels ([`UPRIGHT_LABELS`]) for the
/// page to be upright.
pub fn reads_upright(templates: &[Template], page: &PageWords) -> bool {
    labels_found(templates, page) >= UPRIGHT_LABELS
}

/// Scores every template on the pages (40% best title match, 60% share of fields whose
/// label was found, each label judged against every template's labels; for a template
/// taught on an example, at least the share of its anchors found in their places) and
/// returns the best, or unknown.
pub fn detect_form(templates: &[Template], pages: &[PageWords]) -> FormGuess {
    let labels = Labels::for_set(templates);
    let lines: Vec<Vec<Line<'_>>> = pages.iter().map(PageWords::lines).collect();
    let matches: Vec<Vec<LineMatches>> = lines.iter().map(|l| labels.match_lines(l)).collect();
    detect_matched(templates, pages, &labels, &lines, &matches)
}

/// [`detect_form`] on pages whose lines were matched against the set's labels
/// (`labels`: [`Labels::for_set`] of `templates`).
pub(crate) fn detect_matched(templates: &[Template], pages: &[PageWords], labels: &Labels, lines: &[Vec<Line<'_>>], matches: &[Vec<LineMatches>]) -> FormGuess {
    let mut best = FormGuess { form: None, score: 0.0 };
    for (index, t) in templates.iter().enumerate() {
        let title = t.titles.iter().map(|title| title_score(matches, title)).fold(0.0, f32::max);
        let title = if title >= TITLE_MATCH { title } else { 0.0 };
        let found = fields_labelled(labels, index, t, lines, matches);
        let labelled = t.fields.iter().filter(|f| f.heading.is_empty()).count().max(1);
        let coverage = found.len() as f32 / labelled as f32;
        // A template taught on an example also knows its layout: the share of its anchors
        // found where the example had them.
        let layout = if t.anchors.is_empty() {
            0.0
        } else {
            pages.iter().filter_map(|p| crate::register::register(&t.anchors, p)).map(|r| r.share()).fold(0.0, f32::max)
        };
        let score = (0.4 * title + 0.6 * coverage).max(layout);
        if score > best.score {
            best = FormGuess { form: Some(t.form.clone()), score };
        }
    }
    if best.score < MIN_FORM_SCORE {
        best.form = None;
    }
    best
}
