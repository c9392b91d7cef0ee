//! The programme's archive as a project manager sees it: the facilities taking part (names in
//! both scripts, province, how many charts they hold) and the boxes of paper charts on their
//! shelves before they are scanned; read from the CSV files a programme keeps, and reconciled
//! against what was scanned and reviewed.
//!
//! Pure: CSV text in, checked rows (or every bad row with its line and reason) out.

use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// One facility of the programme.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Facility {
    /// The code charts are ingested under (`--facility`): letters, digits, `-` and `_`.
    pub code: String,
    /// Its name in English (or as the facility writes it in Latin letters).
    pub name: String,
    /// Its name in Khmer.
    pub name_km: Option<String>,
    /// Its province, as the gazetteer names it in English.
    pub province: Option<String>,
    /// How many charts its archive holds (the programme's target for it).
    pub target_charts: Option<i64>,
    /// When its digitisation started (`YYYY-MM-DD`).
    pub start_date: Option<String>,
}

/// One box of paper charts on a facility's shelves.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArchiveBox {
    /// The facility's code.
    pub facility: String,
    /// The label on the box, as clerks give it to `ingest --box`.
    pub label: String,
    /// How many charts the box holds, by the archive's own count.
    pub expected_charts: i64,
    /// The years of the charts inside (`2019-2021`), as written on the box.
    pub years: Option<String>,
    /// Where it is shelved.
    pub shelf: Option<String>,
}

/// A row of a CSV file that could not be taken, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    /// Its line in the file (the header is line 1).
    pub line: u64,
    /// What is wrong with it.
    pub reason: String,
}

impl std::fmt::Display for RowError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}: {}", self.line, self.reason)
    }
}

/// Checks a facility code: non-empty, at most 32 of `A-Z a-z 0-9 - _` (codes appear in
/// file names, URLs and users' facility lists).
pub fn check_code(code: &str) -> Result<(), String> {
    if code.is_empty() || code.len() > 32 || !code.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
        return Err(format!("facility code {code:?} must be 1 to 32 letters, digits, '-' or '_'"));
    }
    Ok(())
}

/// The CONTRACT's English name of a province named in either script (`Siem Reap`, `សៀមរាប`,
/// `ខេត្តកំពត`), found through the gazetteer; an error naming the 25 when it is none of them.
pub fn province_name(name: &str) -> Result<String, String> {
    match crate::province::canonical_province(name) {
        Some(p) => Ok(p.to_string()),
        None => {
            let all: Vec<&str> = crate::province::CANONICAL.iter().map(|(_, n)| *n).collect();
            Err(format!("province {name:?} is not in the gazetteer (one of: {})", all.join(", ")))
        }
    }
}

/// Checks a `YYYY-MM-DD` date.
fn check_date(s: &str) -> Result<String, String> {
    let ok = s.len() == 10
        && s.as_bytes()[4] == b'-'
        && s.as_bytes()[7] == b'-'
        && s[..4].parse::<u16>().is_ok()
        && s[5..7].parse::<u8>().is_ok_and(|m| (1..=12).contains(&m))
        && s[8..].parse::<u8>().is_ok_and(|d| (1..=31).contains(&d));
    if ok {
        Ok(s.to_string())
    } else {
        Err(format!("date {s:?} is not YYYY-MM-DD"))
    }
}

fn count(s: &str, what: &str) -> Result<i64, String> {
    s.trim().parse::<i64>().ok().filter(|n| *n >= 0).ok_or_else(|| format!("{what} {s:?} is not a whole number of charts"))
}

impl Facility {
    /// A facility with its fields checked and tidied (province to the gazetteer's name).
    pub fn checked(mut self) -> Result<Facility, String> {
        self.code = self.code.trim().to_string();
        check_code(&self.code)?;
        self.name = self.name.trim().to_string();
        if self.name.is_empty() {
            return Err(format!("facility {} needs a name", self.code));
        }
        let blank = |v: Option<String>| v.map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
        self.name_km = blank(self.name_km);
        self.province = blank(self.province).map(|p| province_name(&p)).transpose()?;
        self.start_date = blank(self.start_date).map(|d| check_date(&d)).transpose()?;
        if self.target_charts.is_some_and(|t| t < 0) {
            return Err("a target cannot be negative".into());
        }
        Ok(self)
    }
}

/// The columns of a CSV file by their header (lower case, spaces and `-` as `_`), with the
/// names each may go by.
struct Columns(HashMap<String, usize>);

impl Columns {
    fn new(headers: &csv::StringRecord) -> Columns {
        Columns(headers.iter().enumerate().map(|(i, h)| (h.trim().trim_start_matches('\u{feff}').to_lowercase().replace([' ', '-'], "_"), i)).collect())
    }

    fn find(&self, names: &[&str]) -> Option<usize> {
        names.iter().find_map(|n| self.0.get(*n).copied())
    }

    fn require(&self, names: &[&str]) -> Result<usize, RowError> {
        self.find(names).ok_or_else(|| RowError { line: 1, reason: format!("no {:?} column (the header names the columns)", names[0]) })
    }
}

fn cell(record: &csv::StringRecord, column: Option<usize>) -> Option<String> {
    column.and_then(|i| record.get(i)).map(|s| s.trim().to_string()).filter(|s| !s.is_empty())
}

/// Reads a CSV file with a header: `columns` finds the columns it needs (an error is the
/// header's), then `row` checks each row and gives its value and its key. Every bad row, and
/// every key seen twice (`what` names it), is returned with its line.
fn read_rows<C, T>(
    text: &str,
    what: &str,
    columns: impl FnOnce(&Columns) -> Result<C, RowError>,
    mut row: impl FnMut(&C, &csv::StringRecord) -> Result<(T, String), String>,
) -> Result<Vec<T>, Vec<RowError>> {
    let mut reader = csv::ReaderBuilder::new().flexible(true).trim(csv::Trim::All).from_reader(text.as_bytes());
    let headers = reader.headers().map_err(|e| vec![RowError { line: 1, reason: e.to_string() }])?.clone();
    let cols = columns(&Columns::new(&headers)).map_err(|e| vec![e])?;
    let (mut out, mut keys, mut errors) = (Vec::new(), std::collections::HashSet::new(), Vec::new());
    for record in reader.records() {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                errors.push(RowError { line: e.position().map_or(0, |p| p.line()), reason: e.to_string() });
                continue;
            }
        };
        let line = record.position().map_or(0, |p| p.line());
        match row(&cols, &record) {
            Ok((_, key)) if !keys.insert(key.clone()) => errors.push(RowError { line, reason: format!("{what} {key} appears twice") }),
            Ok((value, _)) => out.push(value),
            Err(reason) => errors.push(RowError { line, reason }),
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

/// Reads a facilities CSV: columns `code`, `name`, and optionally `name_km`, `province`,
/// `target` (charts) and `start_date`, in any order. Every row is checked; all the bad ones
/// are returned together so the file is fixed in one go.
pub fn parse_facilities(text: &str) -> Result<Vec<Facility>, Vec<RowError>> {
    let columns = |cols: &Columns| {
        Ok([
            Some(cols.require(&["code", "facility", "facility_code"])?),
            Some(cols.require(&["name", "name_en", "name_english"])?),
            cols.find(&["name_km", "name_khmer", "khmer_name"]),
            cols.find(&["province"]),
            cols.find(&["target", "target_charts", "charts"]),
            cols.find(&["start_date", "start", "started"]),
        ])
    };
    read_rows(text, "facility", columns, |c, record| {
        let target_charts = cell(record, c[4]).map(|t| count(&t, "target")).transpose()?;
        let f = Facility {
            code: cell(record, c[0]).unwrap_or_default(),
            name: cell(record, c[1]).unwrap_or_default(),
            name_km: cell(record, c[2]),
            province: cell(record, c[3]),
            target_charts,
            start_date: cell(record, c[5]),
        }
        .checked()?;
        let key = f.code.clone();
        Ok((f, key))
    })
}

/// Reads a boxes CSV: columns `facility`, `box` (its label) and `expected` (charts), and
/// optionally `years` and `shelf`. As [`parse_facilities`], every bad row is reported.
pub fn parse_boxes(text: &str) -> Result<Vec<ArchiveBox>, Vec<RowError>> {
    let columns = |cols: &Columns| {
        Ok([
            Some(cols.require(&["facility", "facility_code", "code"])?),
            Some(cols.require(&["box", "box_label", "label"])?),
            Some(cols.require(&["expected", "expected_charts", "charts"])?),
            cols.find(&["years", "year"]),
            cols.find(&["shelf", "location"]),
        ])
    };
    read_rows(text, "box", columns, |c, record| {
        let facility = cell(record, c[0]).unwrap_or_default();
        let label = cell(record, c[1]).unwrap_or_default();
        check_code(&facility)?;
        if label.is_empty() {
            return Err("a box needs a label".to_string());
        }
        let expected_charts = count(&cell(record, c[2]).unwrap_or_default(), "expected")?;
        let key = format!("{label:?} of {facility}");
        Ok((ArchiveBox { facility, label, expected_charts, years: cell(record, c[3]), shelf: cell(record, c[4]) }, key))
    })
}

/// Where a box is, from its counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BoxState {
    /// Nothing scanned from it yet.
    NotStarted,
    /// Scanning or review under way.
    InProgress,
    /// Every chart scanned is approved or rejected, and the count matches.
    Done,
    /// More charts scanned than the box holds, beyond the tolerance: scanned twice?
    TooMany,
    /// Reviewed to the end with fewer charts than the box holds, beyond the tolerance:
    /// pages or charts missing.
    TooFew,
    /// Scanned under a box label the inventory does not list.
    NotInInventory,
}

/// The counts of one box.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BoxCounts {
    /// Charts the inventory says it holds (`None`: not in the inventory).
    pub expected: Option<i64>,
    /// Charts scanned from it.
    pub scanned: i64,
    /// Charts waiting for OCR or for a reviewer, or being reviewed.
    pub in_review: i64,
    /// Approved.
    pub approved: i64,
    /// Rejected.
    pub rejected: i64,
}

/// How far a count may be off before a box is flagged: `tolerance` is a share of the expected
/// count (0.02 = 2%), with at least one chart either way.
pub fn box_state(c: &BoxCounts, tolerance: f64) -> BoxState {
    let Some(expected) = c.expected else {
        return BoxState::NotInInventory;
    };
    if c.scanned == 0 {
        return BoxState::NotStarted;
    }
    let slack = ((expected as f64) * tolerance.max(0.0)).floor().max(1.0) as i64;
    if c.scanned > expected + slack {
        return BoxState::TooMany;
    }
    if c.in_review > 0 {
        return BoxState::InProgress;
    }
    if c.scanned < expected - slack {
        return BoxState::TooFew;
    }
    BoxState::Done
}

/// When a facility will be done at its recent pace.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Forecast {
    /// Charts a day over the trailing window.
    pub rate_per_day: f64,
    /// Charts still to do.
    pub remaining: i64,
    /// The day (Unix days) it finishes at that rate; `None` when nothing was done in the
    /// window (it will not finish at this pace).
    pub finish_day: Option<i64>,
    /// The finish at the fastest 7 days of the window.
    pub earliest_day: Option<i64>,
    /// The finish at the slowest 7 days of the window; `None` when some week did nothing.
    pub latest_day: Option<i64>,
}

/// The forecast finish of `remaining` charts from the charts done each day (`daily`: day,
/// count; any order, missing days are zero) over the `window` days ending with `today`. Its
/// range comes from the slowest and fastest 7 consecutive days inside the window, so a week
/// of holidays or a week of overtime shows as uncertainty rather than moving the date alone.
pub fn forecast(daily: &[(i64, i64)], today: i64, remaining: i64, window: i64) -> Forecast {
    let window = window.max(7);
    let first = today - window + 1;
    let mut per_day = vec![0i64; window as usize];
    for &(day, n) in daily {
        if (first..=today).contains(&day) {
            per_day[(day - first) as usize] += n;
        }
    }
    let rate = per_day.iter().sum::<i64>() as f64 / window as f64;
    let weeks: Vec<f64> = per_day.windows(7).map(|w| w.iter().sum::<i64>() as f64 / 7.0).collect();
    let (slow, fast) = weeks.iter().fold((f64::INFINITY, 0.0f64), |(lo, hi), &r| (lo.min(r), hi.max(r)));
    let remaining = remaining.max(0);
    let finish = |r: f64| {
        if remaining == 0 {
            Some(today)
        } else if r > 0.0 {
            Some(today + (remaining as f64 / r).ceil() as i64)
        } else {
            None
        }
    };
    Forecast { rate_per_day: rate, remaining, finish_day: finish(rate), earliest_day: finish(fast), latest_day: finish(slow) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn facilities_are_read_in_any_column_order_with_the_province_checked() {
        let text = "Name,Code,Province,Target,name_km,start_date\n\
                    Example Referral Hospital,EX01,siem reap,12000,មន្ទីរពេទ្យ,2026-01-05\n\
                    Other Clinic,OT-2,ខេត្តកំពត,,,\n";
        let got = parse_facilities(text).unwrap();
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].code, "EX01");
        assert_eq!(got[0].province.as_deref(), Some("Siem Reap"));
        assert_eq!(got[0].target_charts, Some(12000));
        assert_eq!(got[0].name_km.as_deref(), Some("មន្ទីរពេទ្យ"));
        assert_eq!(got[1].province.as_deref(), Some("Kampot"), "Khmer with its prefix finds the province");
        assert_eq!(got[1].target_charts, None);
    }

    #[test]
    fn every_bad_facility_row_is_reported_with_its_line() {
        let text = "code,name,province,target,start_date\nA 1,X,,,\nB2,,,,\nC3,C,Atlantis,,\nD4,D,,-5,\nE5,E,,,2026-13-01\nF6,F,,,\nF6,F again,,,\n";
        let errors = parse_facilities(text).unwrap_err();
        let lines: Vec<u64> = errors.iter().map(|e| e.line).collect();
        assert_eq!(lines, vec![2, 3, 4, 5, 6, 8], "{errors:?}");
        assert!(errors[2].reason.contains("Atlantis") && errors[2].reason.contains("Phnom Penh"), "{}", errors[2]);
        assert!(errors[5].reason.contains("twice"));
        assert!(parse_facilities("name,province\nX,\n").unwrap_err()[0].reason.contains("\"code\""));
    }

    #[test]
    fn boxes_are_read_and_checked() {
        let text = "facility,box,expected,years,shelf\nEX01,B-001,120,2019-2020,R1-S3\nEX01,B-002,95,,\nEX01,B-001,3,,\nEX01,,4,,\nEX01,B-9,many,,\n";
        let errors = parse_boxes(text).unwrap_err();
        assert_eq!(errors.iter().map(|e| e.line).collect::<Vec<_>>(), vec![4, 5, 6]);
        let good = parse_boxes("Facility,Box label,Expected charts\nEX01,B-001,120\n").unwrap();
        assert_eq!(good, vec![ArchiveBox { facility: "EX01".into(), label: "B-001".into(), expected_charts: 120, years: None, shelf: None }]);
    }

    #[test]
    fn box_states_follow_the_counts_and_the_tolerance() {
        let c = |expected: Option<i64>, scanned, in_review, approved| BoxCounts { expected, scanned, in_review, approved, rejected: 0 };
        assert_eq!(box_state(&c(Some(100), 0, 0, 0), 0.02), BoxState::NotStarted);
        assert_eq!(box_state(&c(Some(100), 50, 30, 20), 0.02), BoxState::InProgress);
        assert_eq!(box_state(&c(Some(100), 99, 0, 99), 0.02), BoxState::Done, "within 2 charts");
        assert_eq!(box_state(&c(Some(100), 97, 0, 97), 0.02), BoxState::TooFew);
        assert_eq!(box_state(&c(Some(100), 103, 40, 63), 0.02), BoxState::TooMany, "too many shows while still in review");
        assert_eq!(box_state(&c(Some(10), 11, 0, 11), 0.0), BoxState::Done, "at least one chart of slack");
        assert_eq!(box_state(&c(None, 5, 5, 0), 0.02), BoxState::NotInInventory);
    }

    #[test]
    fn the_forecast_follows_the_trailing_rate_and_its_slowest_and_fastest_weeks() {
        // 14 days: a week at 10 a day, then a week at 30 a day.
        let daily: Vec<(i64, i64)> = (0..14).map(|d| (100 + d, if d < 7 { 10 } else { 30 })).collect();
        let f = forecast(&daily, 113, 1000, 14);
        assert_eq!(f.rate_per_day, 20.0);
        assert_eq!(f.finish_day, Some(113 + 50));
        assert_eq!(f.earliest_day, Some(113 + 34), "1000 / 30 a day, rounded up");
        assert_eq!(f.latest_day, Some(113 + 100));
        // Days before the window do not count; nothing done: no finish.
        let idle = forecast(&[(50, 500)], 113, 10, 14);
        assert_eq!((idle.rate_per_day, idle.finish_day, idle.latest_day), (0.0, None, None));
        assert_eq!(forecast(&[], 113, 0, 14).finish_day, Some(113), "nothing left: done today");
    }
}
