//! Charts from the pages of one file: by default the whole file is one chart; batch scans
//! can be cut at separator sheets or at blank pages. Cuts and blank flags are proposals: the
//! pages stay (flagged) in the chart that follows the cut, and a reviewer can undo both.

use serde::{Deserialize, Serialize};

/// What a page looks like, from its pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PageKind {
    /// Has content.
    Content,
    /// Practically no ink.
    Blank,
    /// A printed separator sheet.
    Separator,
}

impl PageKind {
    /// The flag stored with the page (`None` for content).
    pub fn flag(&self) -> Option<&'static str> {
        match self {
            PageKind::Content => None,
            PageKind::Blank => Some("blank"),
            PageKind::Separator => Some("separator"),
        }
    }
}

/// How a multi-page file becomes charts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SplitOn {
    /// One file is one chart.
    #[default]
    None,
    /// A separator sheet starts a new chart.
    Separator,
    /// A blank page starts a new chart.
    Blank,
}

impl std::str::FromStr for SplitOn {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "none" => Ok(SplitOn::None),
            "separator" => Ok(SplitOn::Separator),
            "blank" => Ok(SplitOn::Blank),
            other => Err(format!("--split-on {other:?}: use none, separator or blank")),
        }
    }
}

/// Groups page indexes (from 0) into charts. A page that cuts starts the next chart and
/// stays in it, flagged; cuts that would leave a chart without content pages are ignored, so
/// no chart is made of separators or blanks alone.
pub fn segments(kinds: &[PageKind], split: SplitOn) -> Vec<Vec<usize>> {
    let cuts = |k: PageKind| match split {
        SplitOn::None => false,
        SplitOn::Separator => k == PageKind::Separator,
        SplitOn::Blank => k == PageKind::Blank,
    };
    let mut out: Vec<Vec<usize>> = Vec::new();
    let mut current: Vec<usize> = Vec::new();
    let has_content = |pages: &[usize]| pages.iter().any(|&p| kinds[p] == PageKind::Content);
    for (i, &k) in kinds.iter().enumerate() {
        if cuts(k) && has_content(&current) {
            out.push(std::mem::take(&mut current));
        }
        current.push(i);
    }
    if !current.is_empty() {
        match out.last_mut() {
            Some(last) if !has_content(&current) => last.extend(current),
            _ => out.push(current),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::PageKind::{Blank as B, Content as C, Separator as S};
    use super::*;

    #[test]
    fn whole_file_by_default() {
        assert_eq!(segments(&[C, B, S, C], SplitOn::None), vec![vec![0, 1, 2, 3]]);
        assert_eq!(segments(&[], SplitOn::Separator), Vec::<Vec<usize>>::new());
    }

    #[test]
    fn separators_start_charts_and_stay_in_them() {
        assert_eq!(segments(&[C, B, S, C, C, S, C], SplitOn::Separator), vec![vec![0, 1], vec![2, 3, 4], vec![5, 6]]);
        // A leading separator, two in a row and a trailing one make no empty charts.
        assert_eq!(segments(&[S, C, S, S, C, S], SplitOn::Separator), vec![vec![0, 1], vec![2, 3, 4, 5]]);
    }

    #[test]
    fn blank_pages_can_split_instead() {
        assert_eq!(segments(&[C, C, B, C, B], SplitOn::Blank), vec![vec![0, 1], vec![2, 3, 4]]);
        assert_eq!(segments(&[B, B], SplitOn::Blank), vec![vec![0, 1]]);
    }
}
