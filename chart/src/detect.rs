//! Form detection: which template a chart is, from its printed titles and labels.

use crate::extract::labels::{page_phrases, Owner, Vocabulary};
use crate::template::Template;
use crate::text::{label_key, similarity};
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

fn title_score(lines: &[Vec<Line<'_>>], title: &str) -> f32 {
    let key = label_key(title);
    let mut best: f32 = 0.0;
    for line in lines.iter().flatten() {
        let keys: Vec<String> = line.words.iter().map(|w| label_key(&w.text)).collect();
        for start in 0..keys.len() {
            let mut span = String::new();
            for k in keys.iter().skip(start).take(8) {
                span.push_str(k);
                if span.chars().count() > key.chars().count() * 3 / 2 {
                    break;
                }
                best = best.max(similarity(&span, &key));
            }
        }
    }
    best
}

/// The fields of `t` whose label was found on the pages' lines.
fn fields_labelled(t: &Template, templates: &[Template], lines: &[Vec<Line<'_>>]) -> HashSet<usize> {
    let vocab = Vocabulary::new(t, templates);
    let mut found: HashSet<usize> = HashSet::new();
    for page_lines in lines {
        let titles: Vec<bool> = page_lines.iter().map(|l| crate::extract::labels::is_title_line(l, &t.titles)).collect();
        for p in page_phrases(&vocab, page_lines, &titles) {
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
    let lines = vec![page.lines()];
    templates.iter().map(|t| fields_labelled(t, templates, &lines).len()).max().unwrap_or(0)
}

/// A reading that shows at least this many labels of one form was read the right way up.
/// Read sideways or upside down, the 91 pages of the samples and forms-dev showed at most 3
/// (fuzzy matches of noise); upright, first pages show 7 to 27. Pages with fewer labels
/// (continuation sheets) are left to the engine's confidence.
pub const UPRIGHT_LABELS: usize = 6;

/// Whether the words of a page show enough of a form's labels ([`UPRIGHT_LABELS`]) for the
/// page to be upright.
pub fn reads_upright(templates: &[Template], page: &PageWords) -> bool {
    let lines = vec![page.lines()];
    templates.iter().any(|t| fields_labelled(t, templates, &lines).len() >= UPRIGHT_LABELS)
}

/// Scores every template on the pages (40% best title match, 60% share of fields whose
/// label was found, each label judged against every template's labels; for a template
/// taught on an example, at least the share of its anchors found in their places) and
/// returns the best, or unknown.
pub fn detect_form(templates: &[Template], pages: &[PageWords]) -> FormGuess {
    let lines: Vec<Vec<Line<'_>>> = pages.iter().map(PageWords::lines).collect();
    let mut best = FormGuess { form: None, score: 0.0 };
    for t in templates {
        let title = t.titles.iter().map(|title| title_score(&lines, title)).fold(0.0, f32::max);
        let title = if title >= 0.75 { title } else { 0.0 };
        let found = fields_labelled(t, templates, &lines);
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
