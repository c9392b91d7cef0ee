//! Tables: repeated rows under a header of column labels (antenatal visits, lab results).
//!
//! The header is the band of the page where the labels of several of the table's columns
//! sit side by side (one line, or a Khmer line over an English one). Each header cell is a
//! column: the table's own columns where their labels were found, and columns to ignore
//! where the header holds other words (a reference range the template does not ask for),
//! so that their values are not taken for a neighbour's. Rows are the lines under the
//! header until a label of something else or a wide gap; lines that overlap vertically are
//! one row (a cell whose text wraps). A word belongs to the column whose cell holds its
//! middle. Each cell is canonicalised by its column's type; a row needs its key column.

use super::labels::{is_bar, Owner, Phrase};
use super::layout::{is_separator, join_words, PageLayout};
use crate::field::{Found, Row};
use crate::geometry::BBox;
use crate::template::FieldSpec;
use crate::words::Word;

/// A table read from a page.
#[derive(Debug, Clone)]
pub(crate) struct Table {
    /// Page number (from 1).
    pub page: u32,
    /// The rows, top to bottom.
    pub rows: Vec<Row>,
    /// Where the table is (header and rows).
    pub bbox: BBox,
    /// Mean and lowest engine confidence of the cells' words.
    pub ocr_mean: f32,
    pub ocr_min: f32,
    /// Cells that held text which is not a valid value of their column, in words.
    pub problems: Vec<String>,
    /// The cells (row index, column name) whose value was mended, not read as printed.
    pub mended: Vec<(usize, String)>,
    /// How many of the table's columns were found in the header.
    pub columns_found: usize,
    /// The header phrases the table used (not labels of scalar fields).
    pub header: Vec<(usize, usize)>,
}

/// A column of the header: x range and which of the template's columns (None: ignored).
#[derive(Debug, Clone, Copy)]
struct Column {
    x0: u32,
    x1: u32,
    spec: Option<usize>,
}

/// Whether a phrase can be the header of column `c` of table `field`.
fn column_of(p: &Phrase, field: usize) -> Option<usize> {
    match p.owner {
        Some(Owner::Column(f, c)) if f == field => Some(c),
        _ => p.alternatives.iter().find_map(|&(o, s)| match o {
            Owner::Column(f, c) if f == field && s >= 0.75 * p.score => Some(c),
            _ => None,
        }),
    }
}

/// Reads table `field` (spec `spec`) from the pages: the first page whose header is found.
pub(crate) fn read_table(field: usize, spec: &FieldSpec, pages: &[PageLayout<'_>]) -> Option<Table> {
    let needed = spec.columns.len().clamp(2, 3);
    for (pi, page) in pages.iter().enumerate() {
        // The header: the line with the most of the table's column labels, and the lines
        // right above and below it with several too (Khmer over English).
        let found: Vec<(usize, usize)> = page.phrases.iter().enumerate().filter_map(|(i, p)| column_of(p, field).map(|c| (i, c))).collect();
        if found.len() < needed {
            continue;
        }
        let h = page.line_height;
        let distinct = |b: &Vec<(usize, usize)>| {
            let mut cs: Vec<usize> = b.iter().map(|&(_, c)| c).collect();
            cs.sort_unstable();
            cs.dedup();
            cs.len()
        };
        let on_line =
            |li: usize| -> Vec<(usize, usize)> { found.iter().copied().filter(|&(i, _)| page.phrases[i].parts.iter().any(|&(l, _, _)| l == li)).collect() };
        let Some(best_line) = (0..page.lines.len()).max_by_key(|&li| (distinct(&on_line(li)), std::cmp::Reverse(li))) else { continue };
        if distinct(&on_line(best_line)) < needed {
            continue;
        }
        let mut band_lines = vec![best_line];
        for li in [best_line.wrapping_sub(1), best_line + 1] {
            let near = page.lines.get(li).is_some_and(|l| l.bbox.y.abs_diff(page.lines[best_line].bbox.y) <= 2 * h);
            if near && distinct(&on_line(li)) >= 2 {
                band_lines.push(li);
            }
        }
        let mut band: Vec<(usize, usize)> = band_lines.iter().flat_map(|&li| on_line(li)).collect();
        band.sort_unstable();
        band.dedup();
        // A table is known by its key column (a grid of measurements without visit numbers
        // is a row of single fields, not a table of visits).
        let key = spec.columns.iter().position(|c| c.key).unwrap_or(0);
        if !band.iter().any(|&(_, c)| c == key) {
            continue;
        }
        let columns_found = distinct(&band);
        let header_box = band.iter().map(|&(i, _)| page.phrases[i].bbox).reduce(|a, b| a.union(&b)).expect("a band");
        let header_lines: Vec<usize> = band.iter().flat_map(|&(i, _)| page.phrases[i].parts.iter().map(|&(l, _, _)| l)).collect();
        // Header cells: the columns' labels, and other header words as columns to ignore.
        let mut cells: Vec<Column> = Vec::new();
        for &(i, c) in &band {
            let b = page.phrases[i].bbox;
            match cells.iter_mut().find(|k| k.spec == Some(c)) {
                Some(k) => {
                    k.x0 = k.x0.min(b.x);
                    k.x1 = k.x1.max(b.right());
                }
                None => cells.push(Column { x0: b.x, x1: b.right(), spec: Some(c) }),
            }
        }
        let mut header_lines_sorted = header_lines.clone();
        header_lines_sorted.sort_unstable();
        header_lines_sorted.dedup();
        for &li in &header_lines_sorted {
            for (k, w) in page.lines[li].words.iter().enumerate() {
                let in_phrase = page.phrase_at(li, k).is_some_and(|p| band.iter().any(|&(i, _)| std::ptr::eq(&page.phrases[i], p)));
                let mid = w.bbox.x + w.bbox.w / 2;
                if in_phrase || is_separator(w) || cells.iter().any(|c| mid >= c.x0 && mid < c.x1) {
                    continue;
                }
                match cells.iter_mut().find(|c| c.spec.is_none() && w.bbox.x < c.x1 + h && w.bbox.right() + h > c.x0) {
                    Some(c) => {
                        c.x0 = c.x0.min(w.bbox.x);
                        c.x1 = c.x1.max(w.bbox.right());
                    }
                    None => cells.push(Column { x0: w.bbox.x, x1: w.bbox.right(), spec: None }),
                }
            }
        }
        cells.sort_by_key(|c| c.x0);
        infer_unread_columns(&mut cells, spec.columns.len());
        // Cell boundaries halfway between neighbouring header cells.
        let mut bounds: Vec<(u32, u32, Option<usize>)> = Vec::new();
        for (k, c) in cells.iter().enumerate() {
            let left = if k == 0 { 0 } else { (cells[k - 1].x1 + c.x0) / 2 };
            let right = cells.get(k + 1).map_or(u32::MAX, |n| (c.x1 + n.x0) / 2);
            bounds.push((left, right.max(left + 1), c.spec));
        }
        // Rows: lines below the header, until a label of something else or a wide gap.
        let mut row_lines: Vec<Vec<usize>> = Vec::new();
        let mut last_bottom = header_box.bottom();
        for (li, line) in page.lines.iter().enumerate() {
            if header_lines_sorted.contains(&li) || line.bbox.center_y() <= header_box.bottom() {
                continue;
            }
            if line.bbox.y > last_bottom + 4 * h {
                break;
            }
            // A label of this form's (not a word of another form's, which a row may hold:
            // a test named `Haemoglobin`) ends the table.
            let labelled =
                page.phrases.iter().any(|p| p.parts.iter().any(|&(l, _, _)| l == li) && column_of(p, field).is_none() && (p.owner.is_some() || p.colon));
            if labelled {
                break;
            }
            if line.words.iter().all(|w| is_separator(w) || is_bar(w)) {
                continue;
            }
            match row_lines.last_mut() {
                Some(r)
                    if {
                        let prev = r.iter().map(|&l| page.lines[l].bbox).reduce(|a, b| a.union(&b)).expect("a row line");
                        let overlap = prev.bottom().min(line.bbox.bottom()).saturating_sub(prev.y.max(line.bbox.y));
                        overlap * 10 >= 3 * line.bbox.h.min(prev.h)
                    } =>
                {
                    r.push(li)
                }
                _ => row_lines.push(vec![li]),
            }
            last_bottom = last_bottom.max(line.bbox.bottom());
        }
        let mut rows = Vec::new();
        let mut problems = Vec::new();
        let mut mended = Vec::new();
        let mut all_words: Vec<&Word> = Vec::new();
        let mut bbox = header_box;
        for lines in row_lines {
            let mut by_column: Vec<Vec<&Word>> = vec![Vec::new(); spec.columns.len()];
            for &li in &lines {
                // Units are symbols too (`%`): only pure punctuation is left out.
                let punctuation =
                    |w: &Word| w.text.chars().all(|c| matches!(c, '.' | ',' | ':' | ';' | '\'' | '"' | '`' | '_' | '-' | '~' | '‘' | '’' | '“' | '”' | '|'));
                for w in page.lines[li].words.iter().copied().filter(|w| !is_bar(w) && !punctuation(w)) {
                    let mid = w.bbox.x + w.bbox.w / 2;
                    if let Some(&(_, _, Some(c))) = bounds.iter().find(|(l, r, _)| mid >= *l && mid < *r) {
                        by_column[c].push(w);
                    }
                }
            }
            let key = spec.columns.iter().position(|c| c.key).unwrap_or(0);
            let mut row = Row::new();
            let mut valid_cells = 0;
            let mut row_problems = Vec::new();
            for (c, col) in spec.columns.iter().enumerate() {
                let words = &by_column[c];
                if words.is_empty() {
                    row.insert(col.name.clone(), None);
                    continue;
                }
                let text = join_words(words, false);
                match col.canonicalize(&text) {
                    Ok(v) => {
                        valid_cells += 1;
                        row.insert(col.name.clone(), Some(v));
                    }
                    // A measurement out of range whose decimal point was lost (`653` for a
                    // weight of 65.3), as in a field of its own; the table is reviewed.
                    Err(e) => match super::value::restore_decimal_point(col, &text).filter(|_| col.kind == crate::normalize::FieldType::Decimal) {
                        Some(v) => {
                            valid_cells += 1;
                            row_problems.push(format!("{} read {text:?}: a decimal point was put back ({v})", col.name));
                            mended.push((rows.len(), col.name.clone()));
                            row.insert(col.name.clone(), Some(v));
                        }
                        None => {
                            row_problems.push(format!("{} {text:?}: {}", col.name, e.0));
                            row.insert(col.name.clone(), None);
                        }
                    },
                }
            }
            let has_key = row.get(&spec.columns[key].name).is_some_and(Option::is_some);
            // A row is its key and something more (a line of text under a table, such as a
            // comments label, is one cell).
            if valid_cells < 2 {
                continue;
            }
            if !has_key {
                // Visits are numbered in order: a number the engine could not read is the
                // row's place, for a reviewer to confirm.
                let numbered = spec.columns[key].kind == crate::normalize::FieldType::Integer;
                if numbered {
                    row.insert(spec.columns[key].name.clone(), Some((rows.len() + 1).to_string()));
                    row_problems.push(format!("its {} was not read; taken from its place", spec.columns[key].name));
                } else {
                    row_problems.push(format!("a row without its {}", spec.columns[key].name));
                }
            }
            for w in by_column.iter().flatten() {
                bbox = bbox.union(&w.bbox);
                all_words.push(w);
            }
            let n = rows.len() + 1;
            problems.extend(row_problems.into_iter().map(|p| format!("row {n}: {p}")));
            rows.push(row);
        }
        if rows.is_empty() {
            continue;
        }
        let ocr_mean = all_words.iter().map(|w| w.confidence).sum::<f32>() / all_words.len().max(1) as f32;
        let ocr_min = all_words.iter().map(|w| w.confidence).fold(1.0, f32::min);
        return Some(Table {
            page: page.words.page,
            rows,
            bbox,
            ocr_mean,
            ocr_min,
            problems,
            mended,
            columns_found,
            // Every label printed in the header's lines, across its width, heads a column:
            // one matched only as a field's (`Weight(kg)`) is no label of that field, whose
            // value below it would be the first row's cell.
            header: page
                .phrases
                .iter()
                .enumerate()
                // (The band's own phrases are among them: the header's lines and box are theirs.)
                .filter(|(_, p)| {
                    let mid = p.bbox.x + p.bbox.w / 2;
                    p.parts.iter().all(|(l, _, _)| header_lines_sorted.contains(l)) && mid >= header_box.x && mid <= header_box.right()
                })
                .map(|(i, _)| (pi, i))
                .collect(),
        });
    }
    None
}

/// Header cells whose label could not be read (`EHR (opm)` for `FHR (bpm)`), between
/// columns that were: when as many of the template's columns are missing between those two
/// (in the template's order) as there are unread cells, they are those columns, in order.
fn infer_unread_columns(cells: &mut [Column], count: usize) {
    let found: Vec<usize> = cells.iter().filter_map(|c| c.spec).collect();
    let mut k = 0;
    while k < cells.len() {
        if cells[k].spec.is_some() {
            k += 1;
            continue;
        }
        let run_start = k;
        while k < cells.len() && cells[k].spec.is_none() {
            k += 1;
        }
        let before = cells[..run_start].iter().rev().find_map(|c| c.spec);
        let after = cells[k..].iter().find_map(|c| c.spec);
        let (lo, hi) = (before.map_or(0, |b| b + 1), after.unwrap_or(count));
        if lo > hi {
            continue;
        }
        let missing: Vec<usize> = (lo..hi).filter(|c| !found.contains(c)).collect();
        if !missing.is_empty() && missing.len() == k - run_start {
            for (cell, column) in cells[run_start..k].iter_mut().zip(missing) {
                cell.spec = Some(column);
            }
        }
    }
}

/// How a table was found, for its evidence.
pub(crate) const FOUND: Found = Found::TableCell;
