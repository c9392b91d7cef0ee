//! The programme manager's view (issue 18): every facility's progress against its target with
//! a forecast finish, daily throughput by stage, the review backlog by age, quality over time,
//! and reviewers' and scanning operators' pace. Gathered from the store's running totals
//! ([`gather`]), drawn as SVG with `plotters` ([`svg`]), given as CSV ([`csv`]) and put
//! together as a printable monthly report ([`report_html`]).
//!
//! Invariant: every text that comes from the store (facility names, reasons, user names) is
//! escaped where it is written: `plotters` escapes SVG text, [`esc`] escapes the report's.

use chart::archive::{box_state, forecast, BoxState, Forecast};
use plotters::prelude::*;
use serde::Serialize;
use std::collections::BTreeMap;
use store::{ChartCounts, Facilities, Store, StoreError};

/// Days shown by the dashboard's time plots.
pub const DASHBOARD_DAYS: i64 = 60;
/// The forecast's trailing window, in days.
pub const FORECAST_WINDOW: i64 = 14;
/// How far a box's count may be off before it is flagged (2%, at least one chart).
pub const BOX_TOLERANCE: f64 = 0.02;

/// The language of the plots and the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    /// English.
    En,
    /// Khmer.
    Km,
}

impl Lang {
    /// From a `lang` parameter or a user's setting (`km`, otherwise English).
    pub fn from_code(code: Option<&str>) -> Lang {
        if code == Some("km") {
            Lang::Km
        } else {
            Lang::En
        }
    }

    /// The text in this language (English is the key).
    pub fn t(self, en: &'static str) -> &'static str {
        if self == Lang::En {
            return en;
        }
        match en {
            "scanned" => "បានស្កេន",
            "extracted" => "បានអាន",
            "approved" => "បានអនុម័ត",
            "rejected" => "បានបដិសេធ",
            "target" => "គោលដៅ",
            "forecast" => "ការព្យាករណ៍",
            "charts" => "ឯកសារ",
            "charts waiting" => "ឯកសាររង់ចាំ",
            "days waiting" => "ថ្ងៃរង់ចាំ",
            "auto-accepted %" => "ទទួលយកស្វ័យប្រវត្តិ %",
            "corrections per 100 fields" => "ការកែតម្រូវក្នុង ១០០ ចំណុច",
            "charts per hour" => "ឯកសារក្នុងមួយម៉ោង",
            "Burn-up" => "វឌ្ឍនភាពសរុប",
            "Daily throughput" => "លទ្ធផលប្រចាំថ្ងៃ",
            "Review backlog by age" => "ឯកសាររង់ចាំតាមអាយុ",
            "Quality" => "គុណភាព",
            "Reviewers" => "អ្នកពិនិត្យ",
            "Scanning operators" => "អ្នកស្កេន",
            "Monthly report" => "របាយការណ៍ប្រចាំខែ",
            "This month" => "ខែនេះ",
            "To date" => "រហូតមកដល់ពេលនេះ",
            "Facility" => "មូលដ្ឋានសុខាភិបាល",
            "Province" => "ខេត្ត",
            "Target" => "គោលដៅ",
            "Scanned" => "បានស្កេន",
            "Approved" => "បានអនុម័ត",
            "Rejected" => "បានបដិសេធ",
            "Waiting" => "កំពុងរង់ចាំ",
            "Done" => "រួចរាល់",
            "Forecast finish" => "ការព្យាករណ៍បញ្ចប់",
            "Boxes" => "ប្រអប់",
            "not started" => "មិនទាន់ចាប់ផ្តើម",
            "to check" => "ត្រូវពិនិត្យ",
            "Rejections by reason" => "ការបដិសេធតាមមូលហេតុ",
            "Reason" => "មូលហេតុ",
            "not at this pace" => "មិនបញ្ចប់តាមល្បឿននេះ",
            "no target" => "គ្មានគោលដៅ",
            "All facilities" => "មូលដ្ឋានទាំងអស់",
            "Prepared" => "រៀបចំនៅ",
            other => other,
        }
    }
}

/// `YYYY-MM-DD` of a Unix day.
pub fn date(day: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(day * 86_400).map(|t| t.date().to_string()).unwrap_or_else(|_| day.to_string())
}

/// The Unix day of `YYYY-MM-DD`.
pub fn day_of(date: &str) -> Option<i64> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    let d = time::Date::parse(date, format).ok()?;
    Some((d.midnight().assume_utc().unix_timestamp()).div_euclid(86_400))
}

/// The first and last Unix day of a month `YYYY-MM`.
pub fn month_days(month: &str) -> Option<(i64, i64)> {
    let first = day_of(&format!("{month}-01"))?;
    let (y, m) = month.split_once('-')?;
    let (y, m): (i32, u8) = (y.parse().ok()?, m.parse().ok()?);
    let next = if m == 12 { format!("{}-01-01", y + 1) } else { format!("{y}-{:02}-01", m + 1) };
    Some((first, day_of(&next)? - 1))
}

/// A facility's boxes in short.
#[derive(Debug, Clone, Default, Serialize)]
pub struct BoxSummary {
    /// Boxes in the inventory.
    pub boxes: i64,
    /// Charts they hold, by the inventory.
    pub expected: i64,
    /// Boxes nothing was scanned from.
    pub not_started: i64,
    /// Boxes reviewed to the end with the right count.
    pub done: i64,
    /// Boxes whose count is off, or scanned under a label the inventory lacks.
    pub to_check: i64,
}

/// One day of a burn-up: charts scanned and approved up to and including it.
#[derive(Debug, Clone, Serialize)]
pub struct BurnPoint {
    /// `YYYY-MM-DD`.
    pub date: String,
    /// Unix day.
    pub day: i64,
    /// Charts scanned so far.
    pub scanned: i64,
    /// Charts approved so far.
    pub approved: i64,
}

/// One facility's progress.
#[derive(Debug, Clone, Serialize)]
pub struct FacilityView {
    /// Code.
    pub code: String,
    /// Name (the code when the registry lacks it).
    pub name: String,
    /// Name in Khmer.
    pub name_km: Option<String>,
    /// Province.
    pub province: Option<String>,
    /// Charts its archive holds.
    pub target: Option<i64>,
    /// Start of digitisation.
    pub start_date: Option<String>,
    /// Its charts by status now.
    pub charts: ChartCounts,
    /// Scanned, approved and rejected in the period.
    pub period: Period,
    /// Its boxes.
    pub boxes: BoxSummary,
    /// Cumulative scanned and approved by day.
    pub burnup: Vec<BurnPoint>,
    /// When it finishes at the trailing rate of approvals (with a target).
    pub forecast: Option<Forecast>,
    /// The forecast's dates, `YYYY-MM-DD`: finish, earliest, latest.
    pub forecast_dates: [Option<String>; 3],
}

/// Counts in a period.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Period {
    /// Charts scanned.
    pub scanned: i64,
    /// Charts approved (net of approvals undone).
    pub approved: i64,
    /// Charts rejected.
    pub rejected: i64,
}

/// One day's throughput by stage.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ThroughputDay {
    /// `YYYY-MM-DD`.
    pub date: String,
    /// Charts scanned.
    pub scanned: i64,
    /// Charts extracted.
    pub extracted: i64,
    /// Charts approved.
    pub approved: i64,
    /// Charts rejected.
    pub rejected: i64,
}

/// Charts waiting for a decision, by how long.
#[derive(Debug, Clone, Serialize)]
pub struct AgeBucket {
    /// `0-1 days`, `2-7 days`, ...
    pub age: String,
    /// Charts.
    pub charts: i64,
}

/// One day's quality.
#[derive(Debug, Clone, Default, Serialize)]
pub struct QualityDay {
    /// `YYYY-MM-DD`.
    pub date: String,
    /// Fields extracted.
    pub fields: i64,
    /// Of them accepted without review, in percent.
    pub auto_accepted_pct: Option<f64>,
    /// Reviewers' corrections.
    pub corrections: i64,
    /// Corrections per 100 fields extracted.
    pub corrections_per_100: Option<f64>,
    /// Charts rejected.
    pub rejected: i64,
}

/// One reviewer's pace and care.
#[derive(Debug, Clone, Serialize)]
pub struct ReviewerView {
    /// Login name.
    pub name: String,
    /// Charts approved.
    pub approved: i64,
    /// Charts rejected.
    pub rejected: i64,
    /// Fields corrected.
    pub corrections: i64,
    /// Charts an hour, from the median time per chart over recent decisions.
    pub charts_per_hour: Option<f64>,
    /// Corrections per field of the charts decided (estimated with the average fields per chart).
    pub corrections_per_field: Option<f64>,
}

/// One scanning operator's pace.
#[derive(Debug, Clone, Serialize)]
pub struct OperatorView {
    /// Operator (`(none)` when not given).
    pub name: String,
    /// Batches.
    pub batches: i64,
    /// Charts scanned.
    pub charts: i64,
    /// Charts rejected by reviewers: rescans.
    pub rescans: i64,
    /// Charts an hour while scanning (first to last file of each batch).
    pub charts_per_hour: Option<f64>,
}

/// Everything the dashboard and the report show.
#[derive(Debug, Clone, Serialize)]
pub struct Programme {
    /// Today (Unix day) and the period shown: first and last day.
    pub today: i64,
    /// First day of the period.
    pub from: String,
    /// Last day of the period.
    pub to: String,
    /// Every facility.
    pub facilities: Vec<FacilityView>,
    /// All facilities together now.
    pub totals: ChartCounts,
    /// All facilities together in the period.
    pub period: Period,
    /// Each day of the period.
    pub throughput: Vec<ThroughputDay>,
    /// Charts waiting, by age.
    pub backlog: Vec<AgeBucket>,
    /// Each day of the period.
    pub quality: Vec<QualityDay>,
    /// Rejections in the period by reason.
    pub rejection_reasons: Vec<(String, i64)>,
    /// Reviewers.
    pub reviewers: Vec<ReviewerView>,
    /// Scanning operators.
    pub operators: Vec<OperatorView>,
}

/// Reads what the programme view needs for `facilities`, for the days `from..=to` (time plots
/// and period totals; burn-ups and totals run to `today`).
pub async fn gather(store: &Store, facilities: &Facilities, today: i64, from: i64, to: i64) -> Result<Programme, StoreError> {
    let stats = store.stats_of(facilities).await?;
    // The burn-ups' days, every stage of the period's days, the backlog by day, and totals.
    let burn = store.day_stages(facilities, &["scanned", "approved"], None).await?;
    let in_period = store.day_stages(facilities, &[], Some((from, to))).await?;
    let open_by_day: BTreeMap<i64, i64> = store.stage_by_day(facilities, "open").await?.into_iter().collect();
    let totals = store.stage_totals(facilities).await?;
    let registry: BTreeMap<String, chart::archive::Facility> =
        store.facility_registry().await?.into_iter().filter(|f| facilities.includes(&f.code)).map(|f| (f.code.clone(), f)).collect();
    let boxes = store.box_rows(facilities, None).await?;
    // Per facility: daily scanned and approved (burn-up), period counts.
    let mut codes: Vec<String> = registry.keys().cloned().collect();
    for code in stats.by_facility.keys() {
        if !codes.contains(code) {
            codes.push(code.clone());
        }
    }
    codes.sort();
    let mut throughput: BTreeMap<i64, ThroughputDay> = (from..=to).map(|d| (d, ThroughputDay { date: date(d), ..Default::default() })).collect();
    let mut quality: BTreeMap<i64, QualityDay> = (from..=to).map(|d| (d, QualityDay { date: date(d), ..Default::default() })).collect();
    let mut daily: BTreeMap<&str, BTreeMap<i64, (i64, i64)>> = BTreeMap::new();
    let mut period: BTreeMap<&str, Period> = BTreeMap::new();
    let mut all_period = Period::default();
    let fields_total = totals.get("fields").copied().unwrap_or(0);
    let scanned_total = totals.get("scanned").copied().unwrap_or(0);
    for s in &burn {
        let e = daily.entry(&s.facility).or_default().entry(s.day).or_default();
        if s.stage == "scanned" {
            e.0 += s.n;
        } else {
            e.1 += s.n;
        }
    }
    for s in &in_period {
        let t = throughput.get_mut(&s.day).expect("every day of the period");
        let q = quality.get_mut(&s.day).expect("every day of the period");
        let p = period.entry(&s.facility).or_default();
        match s.stage.as_str() {
            "scanned" => {
                t.scanned += s.n;
                p.scanned += s.n;
                all_period.scanned += s.n;
            }
            "extracted" => t.extracted += s.n,
            "approved" => {
                t.approved += s.n;
                p.approved += s.n;
                all_period.approved += s.n;
            }
            "rejected" => {
                t.rejected += s.n;
                q.rejected += s.n;
                p.rejected += s.n;
                all_period.rejected += s.n;
            }
            "fields" => q.fields += s.n,
            // Accepted share, kept as a count until the day is summed.
            "fields_auto" => *q.auto_accepted_pct.get_or_insert(0.0) += s.n as f64,
            _ => {}
        }
    }
    for (day, _, n) in store.corrections_by_day(facilities).await? {
        if let Some(q) = quality.get_mut(&day) {
            q.corrections += n;
        }
    }
    for q in quality.values_mut() {
        let auto = q.auto_accepted_pct.take().unwrap_or(0.0);
        if q.fields > 0 {
            q.auto_accepted_pct = Some(100.0 * auto / q.fields as f64);
            q.corrections_per_100 = Some(100.0 * q.corrections as f64 / q.fields as f64);
        }
    }
    let mut views = Vec::new();
    for code in &codes {
        let reg = registry.get(code);
        let charts = stats.by_facility.get(code).cloned().unwrap_or_default();
        let mut summary = BoxSummary::default();
        for b in boxes.iter().filter(|b| &b.facility == code) {
            match box_state(&b.counts, BOX_TOLERANCE) {
                BoxState::NotInInventory => {
                    summary.to_check += 1;
                    continue;
                }
                BoxState::NotStarted => summary.not_started += 1,
                BoxState::Done => summary.done += 1,
                BoxState::TooFew | BoxState::TooMany => summary.to_check += 1,
                BoxState::InProgress => {}
            }
            summary.boxes += 1;
            summary.expected += b.counts.expected.unwrap_or(0);
        }
        let days = daily.get(code.as_str()).cloned().unwrap_or_default();
        let mut burnup = Vec::new();
        let (mut scanned, mut approved) = (0, 0);
        if let Some(first) = days.keys().next().copied() {
            for day in first..=today.max(first) {
                if let Some((s, a)) = days.get(&day) {
                    scanned += s;
                    approved += a;
                }
                burnup.push(BurnPoint { date: date(day), day, scanned, approved });
            }
        }
        let target = reg.and_then(|r| r.target_charts);
        let forecast = target.map(|t| {
            let approvals: Vec<(i64, i64)> = days.iter().map(|(d, (_, a))| (*d, *a)).collect();
            forecast(&approvals, today, t - charts.approved, FORECAST_WINDOW)
        });
        let forecast_dates = forecast.map_or([None, None, None], |f| [f.finish_day.map(date), f.earliest_day.map(date), f.latest_day.map(date)]);
        views.push(FacilityView {
            code: code.clone(),
            name: reg.map_or_else(|| code.clone(), |r| r.name.clone()),
            name_km: reg.and_then(|r| r.name_km.clone()),
            province: reg.and_then(|r| r.province.clone()),
            target,
            start_date: reg.and_then(|r| r.start_date.clone()),
            charts,
            period: period.remove(code.as_str()).unwrap_or_default(),
            boxes: summary,
            burnup,
            forecast,
            forecast_dates,
        });
    }
    // The backlog by age, from the day each waiting chart was scanned.
    let buckets: [(&str, i64, i64); 6] =
        [("0-1 days", 0, 1), ("2-7 days", 2, 7), ("8-14 days", 8, 14), ("15-30 days", 15, 30), ("31-90 days", 31, 90), ("over 90 days", 91, i64::MAX)];
    let backlog = buckets
        .iter()
        .map(|(age, lo, hi)| AgeBucket {
            age: age.to_string(),
            charts: open_by_day.iter().filter(|(d, _)| (*lo..=*hi).contains(&(today - **d))).map(|(_, n)| n).sum(),
        })
        .collect();
    let fields_per_chart = if scanned_total > 0 { fields_total as f64 / scanned_total as f64 } else { 0.0 };
    let reviewers = stats
        .by_reviewer
        .iter()
        .map(|(name, r)| {
            let decided = r.approved + r.rejected;
            ReviewerView {
                name: name.clone(),
                approved: r.approved,
                rejected: r.rejected,
                corrections: r.fields_corrected,
                charts_per_hour: r.median_seconds_per_chart.filter(|s| *s > 0.0).map(|s| 3600.0 / s),
                corrections_per_field: (decided > 0 && fields_per_chart > 0.0).then(|| r.fields_corrected as f64 / (decided as f64 * fields_per_chart)),
            }
        })
        .collect();
    let operators = store
        .operators(facilities)
        .await?
        .into_iter()
        .map(|o| OperatorView {
            name: if o.operator.is_empty() { "(none)".into() } else { o.operator },
            batches: o.batches,
            charts: o.charts,
            rescans: o.rejected,
            charts_per_hour: (o.scanning_seconds >= 60).then(|| o.charts as f64 * 3600.0 / o.scanning_seconds as f64),
        })
        .collect();
    let rejection_reasons = store.rejection_reasons(facilities, from * 86_400_000).await?;
    Ok(Programme {
        today,
        from: date(from),
        to: date(to),
        facilities: views,
        totals: stats.charts,
        period: all_period,
        throughput: throughput.into_values().collect(),
        backlog,
        quality: quality.into_values().collect(),
        rejection_reasons,
        reviewers,
        operators,
    })
}

/// The plots.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plot {
    /// One facility's cumulative scanned and approved against its target, with the forecast.
    Burnup,
    /// Charts a day by stage.
    Throughput,
    /// Charts waiting by age.
    Backlog,
    /// Auto-accepted share and corrections per 100 fields by day.
    Quality,
    /// Charts an hour per reviewer.
    Reviewers,
    /// Charts an hour per scanning operator.
    Operators,
}

impl std::str::FromStr for Plot {
    type Err = String;
    fn from_str(s: &str) -> Result<Plot, String> {
        Ok(match s {
            "burnup" => Plot::Burnup,
            "throughput" => Plot::Throughput,
            "backlog" => Plot::Backlog,
            "quality" => Plot::Quality,
            "reviewers" => Plot::Reviewers,
            "operators" => Plot::Operators,
            other => return Err(format!("no plot {other:?}: burnup, throughput, backlog, quality, reviewers or operators")),
        })
    }
}

const BLUE_: RGBColor = RGBColor(37, 99, 235);
const GREEN_: RGBColor = RGBColor(22, 163, 74);
const RED_: RGBColor = RGBColor(220, 38, 38);
const GREY_: RGBColor = RGBColor(120, 120, 120);
const ORANGE_: RGBColor = RGBColor(234, 138, 0);

type Series = (&'static str, RGBColor, Vec<(i64, f64)>);

/// A line plot over days.
fn days_plot(title: &str, days: (i64, i64), series: &[Series], dashed: &[Series], lang: Lang) -> Result<String, String> {
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, (640, 300)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        let top = series.iter().chain(dashed).flat_map(|s| s.2.iter().map(|p| p.1)).fold(1.0f64, f64::max) * 1.08;
        let (first, last) = (days.0, days.1.max(days.0 + 1));
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 17))
            .margin(8)
            .x_label_area_size(28)
            .y_label_area_size(56)
            .build_cartesian_2d(first..last, 0.0..top)
            .map_err(|e| e.to_string())?;
        chart
            .configure_mesh()
            .x_labels(6)
            .y_labels(6)
            .x_label_formatter(&|d| date(*d)[5..].to_string())
            .y_label_formatter(&|v| if top > 20.0 { format!("{v:.0}") } else { format!("{v:.1}") })
            .light_line_style(WHITE.mix(0.0))
            .draw()
            .map_err(|e| e.to_string())?;
        for (name, color, points) in series {
            let color = *color;
            chart
                .draw_series(LineSeries::new(points.iter().copied(), color.stroke_width(2)))
                .map_err(|e| e.to_string())?
                .label(lang.t(name))
                .legend(move |(x, y)| PathElement::new([(x, y), (x + 16, y)], color.stroke_width(2)));
        }
        for (name, color, points) in dashed {
            let color = *color;
            chart
                .draw_series(DashedLineSeries::new(points.iter().copied(), 6, 4, color.stroke_width(2)))
                .map_err(|e| e.to_string())?
                .label(lang.t(name))
                .legend(move |(x, y)| PathElement::new([(x, y), (x + 16, y)], color.stroke_width(1)));
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(WHITE.mix(0.85))
            .border_style(GREY_.mix(0.4))
            .draw()
            .map_err(|e| e.to_string())?;
        root.present().map_err(|e| e.to_string())?;
    }
    Ok(out)
}

/// A bar plot of named values.
fn bars_plot(title: &str, y_label: &str, bars: &[(String, f64)], color: RGBColor) -> Result<String, String> {
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, (640, 300)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        let top = bars.iter().map(|b| b.1).fold(1.0f64, f64::max) * 1.1;
        let n = bars.len().max(1) as i32;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 17))
            .margin(8)
            .x_label_area_size(40)
            .y_label_area_size(56)
            .build_cartesian_2d((0..n).into_segmented(), 0.0..top)
            .map_err(|e| e.to_string())?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(bars.len().max(1))
            .x_label_formatter(&|v| match v {
                SegmentValue::CenterOf(i) => bars.get(*i as usize).map(|b| b.0.chars().take(14).collect()).unwrap_or_default(),
                _ => String::new(),
            })
            .y_desc(y_label)
            .y_label_formatter(&|v| if top > 20.0 { format!("{v:.0}") } else { format!("{v:.1}") })
            .draw()
            .map_err(|e| e.to_string())?;
        chart
            .draw_series(bars.iter().enumerate().map(|(i, b)| {
                let i = i as i32;
                let mut r = Rectangle::new([(SegmentValue::Exact(i), 0.0), (SegmentValue::Exact(i + 1), b.1)], color.filled());
                r.set_margin(0, 0, 6, 6);
                r
            }))
            .map_err(|e| e.to_string())?;
        root.present().map_err(|e| e.to_string())?;
    }
    Ok(out)
}

/// One plot as SVG. `facility` picks the burn-up's facility (the first one by default).
pub fn svg(p: &Programme, plot: Plot, facility: Option<&str>, lang: Lang) -> Result<String, String> {
    let period = (day_of(&p.from).unwrap_or(p.today), day_of(&p.to).unwrap_or(p.today));
    let over = |f: &dyn Fn(&ThroughputDay) -> i64| -> Vec<(i64, f64)> { p.throughput.iter().filter_map(|t| Some((day_of(&t.date)?, f(t) as f64))).collect() };
    match plot {
        Plot::Burnup => {
            let f = match facility {
                Some(code) => p.facilities.iter().find(|f| f.code == code).ok_or_else(|| format!("no facility {code:?}"))?,
                None => p.facilities.first().ok_or("no facility has charts yet")?,
            };
            let first = f.burnup.first().map_or(p.today, |b| b.day);
            let mut last = p.today;
            let mut dashed: Vec<Series> = Vec::new();
            if let Some(t) = f.target {
                let end = f.forecast.and_then(|fc| fc.finish_day).unwrap_or(p.today).min(p.today + 3 * 365);
                last = last.max(end);
                dashed.push(("target", GREY_, vec![(first, t as f64), (last, t as f64)]));
                if let (Some(fc), Some(finish)) = (f.forecast, f.forecast.and_then(|fc| fc.finish_day)) {
                    if fc.remaining > 0 && finish > p.today {
                        dashed.push(("forecast", ORANGE_, vec![(p.today, f.charts.approved as f64), (finish.min(last), t as f64)]));
                    }
                }
            }
            let scanned = f.burnup.iter().map(|b| (b.day, b.scanned as f64)).collect();
            let approved = f.burnup.iter().map(|b| (b.day, b.approved as f64)).collect();
            let name = match (&f.name_km, lang) {
                (Some(km), Lang::Km) => km,
                _ => &f.name,
            };
            let title = format!("{}: {name}", lang.t("Burn-up"));
            days_plot(&title, (first, last), &[("scanned", BLUE_, scanned), ("approved", GREEN_, approved)], &dashed, lang)
        }
        Plot::Throughput => days_plot(
            lang.t("Daily throughput"),
            period,
            &[
                ("scanned", BLUE_, over(&|t| t.scanned)),
                ("extracted", GREY_, over(&|t| t.extracted)),
                ("approved", GREEN_, over(&|t| t.approved)),
                ("rejected", RED_, over(&|t| t.rejected)),
            ],
            &[],
            lang,
        ),
        Plot::Backlog => bars_plot(
            lang.t("Review backlog by age"),
            lang.t("charts waiting"),
            &p.backlog.iter().map(|b| (b.age.clone(), b.charts as f64)).collect::<Vec<_>>(),
            ORANGE_,
        ),
        Plot::Quality => {
            let pick =
                |f: &dyn Fn(&QualityDay) -> Option<f64>| -> Vec<(i64, f64)> { p.quality.iter().filter_map(|q| Some((day_of(&q.date)?, f(q)?))).collect() };
            days_plot(
                lang.t("Quality"),
                period,
                &[("auto-accepted %", GREEN_, pick(&|q| q.auto_accepted_pct)), ("corrections per 100 fields", RED_, pick(&|q| q.corrections_per_100))],
                &[],
                lang,
            )
        }
        Plot::Reviewers => bars_plot(
            lang.t("Reviewers"),
            lang.t("charts per hour"),
            &p.reviewers.iter().map(|r| (r.name.clone(), r.charts_per_hour.unwrap_or(0.0))).collect::<Vec<_>>(),
            BLUE_,
        ),
        Plot::Operators => bars_plot(
            lang.t("Scanning operators"),
            lang.t("charts per hour"),
            &p.operators.iter().map(|o| (o.name.clone(), o.charts_per_hour.unwrap_or(0.0))).collect::<Vec<_>>(),
            GREEN_,
        ),
    }
}

/// The table under a plot, as CSV (the burn-up: every facility's, one row per facility and day).
pub fn csv(p: &Programme, plot: Plot) -> String {
    let mut w = csv::Writer::from_writer(Vec::new());
    // Writing into memory cannot fail.
    let _ = write_csv(&mut w, p, plot);
    String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
}

fn write_csv(w: &mut csv::Writer<Vec<u8>>, p: &Programme, plot: Plot) -> csv::Result<()> {
    let opt = |v: Option<f64>| v.map(|v| format!("{v:.2}")).unwrap_or_default();
    match plot {
        Plot::Burnup => {
            w.write_record(["facility", "date", "scanned_to_date", "approved_to_date", "target"])?;
            for f in &p.facilities {
                let target = f.target.map(|t| t.to_string()).unwrap_or_default();
                for b in &f.burnup {
                    w.write_record([f.code.clone(), b.date.clone(), b.scanned.to_string(), b.approved.to_string(), target.clone()])?;
                }
            }
        }
        Plot::Throughput => {
            w.write_record(["date", "scanned", "extracted", "approved", "rejected"])?;
            for t in &p.throughput {
                w.write_record([t.date.clone(), t.scanned.to_string(), t.extracted.to_string(), t.approved.to_string(), t.rejected.to_string()])?;
            }
        }
        Plot::Backlog => {
            w.write_record(["age", "charts"])?;
            for b in &p.backlog {
                w.write_record([b.age.clone(), b.charts.to_string()])?;
            }
        }
        Plot::Quality => {
            w.write_record(["date", "fields", "auto_accepted_pct", "corrections", "corrections_per_100_fields", "rejected"])?;
            for q in &p.quality {
                w.write_record([
                    q.date.clone(),
                    q.fields.to_string(),
                    opt(q.auto_accepted_pct),
                    q.corrections.to_string(),
                    opt(q.corrections_per_100),
                    q.rejected.to_string(),
                ])?;
            }
        }
        Plot::Reviewers => {
            w.write_record(["reviewer", "approved", "rejected", "corrections", "charts_per_hour", "corrections_per_field"])?;
            for r in &p.reviewers {
                w.write_record([
                    r.name.clone(),
                    r.approved.to_string(),
                    r.rejected.to_string(),
                    r.corrections.to_string(),
                    opt(r.charts_per_hour),
                    r.corrections_per_field.map(|v| format!("{v:.4}")).unwrap_or_default(),
                ])?;
            }
        }
        Plot::Operators => {
            w.write_record(["operator", "batches", "charts", "rescans", "charts_per_hour"])?;
            for o in &p.operators {
                w.write_record([o.name.clone(), o.batches.to_string(), o.charts.to_string(), o.rescans.to_string(), opt(o.charts_per_hour)])?;
            }
        }
    }
    w.flush()?;
    Ok(())
}

/// Text for HTML.
pub fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;").replace('\'', "&#39;")
}

/// Where the report's stylesheet comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Css {
    /// In the page (a file to keep or mail).
    Inline,
    /// `/static/report.css` (served under the station's Content-Security-Policy).
    Linked,
}

/// The report's stylesheet (A4 when printed).
pub const REPORT_CSS: &str = REPORT_STYLE;

/// The monthly report: one HTML page (inline SVG, no script, a print stylesheet for A4) with
/// the month's and the to-date totals per facility and the plots.
pub fn report_html(p: &Programme, month: &str, lang: Lang, css: Css) -> String {
    let t = |s: &'static str| lang.t(s);
    let mut h = String::new();
    h.push_str(&format!(
        "<!doctype html><html lang=\"{}\"><head><meta charset=\"utf-8\"><title>chartscan — {} {}</title>{}</head><body>",
        if lang == Lang::Km { "km" } else { "en" },
        esc(t("Monthly report")),
        esc(month),
        match css {
            Css::Inline => format!("<style>{REPORT_STYLE}</style>"),
            Css::Linked => "<link rel=\"stylesheet\" href=\"/static/report.css\">".to_string(),
        }
    ));
    h.push_str(&format!(
        "<h1>{} {}</h1><p class=\"muted\">{} {} · {}–{}</p>",
        esc(t("Monthly report")),
        esc(month),
        esc(t("Prepared")),
        date(p.today),
        esc(&p.from),
        esc(&p.to)
    ));
    h.push_str(&format!(
        "<table class=\"totals\"><tr><th></th><th>{}</th><th>{}</th><th>{}</th></tr><tr><th>{}</th><td>{}</td><td>{}</td><td>{}</td></tr><tr><th>{}</th><td>{}</td><td>{}</td><td>{}</td></tr></table>",
        t("Scanned"),
        t("Approved"),
        t("Rejected"),
        t("This month"),
        p.period.scanned,
        p.period.approved,
        p.period.rejected,
        t("To date"),
        p.totals.total,
        p.totals.approved,
        p.totals.rejected
    ));
    h.push_str(&format!(
        "<table><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{} ({})</th><th>{} ({})</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr></thead><tbody>",
        t("Facility"),
        t("Province"),
        t("Target"),
        t("Scanned"),
        t("This month"),
        t("Approved"),
        t("This month"),
        t("Approved"),
        t("Waiting"),
        t("Boxes"),
        t("Forecast finish")
    ));
    for f in &p.facilities {
        let name = match &f.name_km {
            Some(km) if lang == Lang::Km => format!("{} <span class=\"muted\">{}</span>", esc(km), esc(&f.name)),
            Some(km) => format!("{} <span class=\"muted\">{}</span>", esc(&f.name), esc(km)),
            None => esc(&f.name),
        };
        let done = match f.target {
            Some(target) if target > 0 => format!("{} ({:.0}%)", f.charts.approved, 100.0 * f.charts.approved as f64 / target as f64),
            _ => f.charts.approved.to_string(),
        };
        let finish = match (&f.forecast_dates, f.target) {
            (_, None) => t("no target").to_string(),
            ([Some(finish), lo, hi], _) => {
                format!("{finish} <span class=\"muted\">({} – {})</span>", lo.as_deref().unwrap_or("?"), hi.as_deref().unwrap_or(t("not at this pace")))
            }
            _ => t("not at this pace").to_string(),
        };
        let boxes = format!("{} · {} {} · {} {}", f.boxes.boxes, f.boxes.not_started, t("not started"), f.boxes.to_check, t("to check"));
        h.push_str(&format!(
            "<tr><td>{name} <code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&f.code),
            esc(f.province.as_deref().unwrap_or("")),
            f.target.map(|v| v.to_string()).unwrap_or_default(),
            f.period.scanned,
            f.period.approved,
            done,
            f.charts.total - f.charts.approved - f.charts.rejected,
            esc(&boxes),
            finish
        ));
    }
    h.push_str("</tbody></table>");
    let mut plots: Vec<String> = p.facilities.iter().filter(|f| !f.burnup.is_empty()).filter_map(|f| svg(p, Plot::Burnup, Some(&f.code), lang).ok()).collect();
    for plot in [Plot::Throughput, Plot::Backlog, Plot::Quality, Plot::Reviewers, Plot::Operators] {
        if let Ok(s) = svg(p, plot, None, lang) {
            plots.push(s);
        }
    }
    h.push_str("<div class=\"plots\">");
    for s in plots {
        h.push_str(&format!("<figure>{s}</figure>"));
    }
    h.push_str("</div>");
    if !p.rejection_reasons.is_empty() {
        h.push_str(&format!("<h2>{}</h2><table><thead><tr><th>{}</th><th>{}</th></tr></thead><tbody>", t("Rejections by reason"), t("Reason"), t("Rejected")));
        for (reason, n) in &p.rejection_reasons {
            h.push_str(&format!("<tr><td>{}</td><td>{n}</td></tr>", esc(reason)));
        }
        h.push_str("</tbody></table>");
    }
    h.push_str("</body></html>");
    h
}

const REPORT_STYLE: &str = "body{font-family:'Noto Sans','Khmer OS Siemreap',sans-serif;margin:2rem;color:#111}h1{margin:0 0 .2rem}\
.muted{color:#666;font-size:.9em}table{border-collapse:collapse;margin:1rem 0;width:100%}th,td{border-bottom:1px solid #ddd;padding:.3rem .5rem;text-align:left;font-size:.9rem}\
.totals{width:auto}.totals td{font-size:1.2rem;font-weight:600;text-align:right}figure{margin:0;break-inside:avoid}.plots{display:grid;grid-template-columns:1fr 1fr;gap:.5rem}\
svg{width:100%;height:auto}@page{size:A4;margin:14mm}@media print{body{margin:0 3mm}.plots{grid-template-columns:1fr 1fr}table{page-break-inside:auto}tr{break-inside:avoid}}";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_and_days() {
        assert_eq!(month_days("2026-11").map(|(a, b)| (date(a), date(b))), Some(("2026-11-01".into(), "2026-11-30".into())));
        assert_eq!(month_days("2024-02").map(|(a, b)| b - a + 1), Some(29));
        assert_eq!(month_days("2026-12").map(|(_, b)| date(b)), Some("2026-12-31".into()));
        assert_eq!(month_days("2026-13"), None);
        assert_eq!(day_of("1970-01-02"), Some(1));
    }

    #[test]
    fn html_is_escaped() {
        assert_eq!(esc("<img src=x onerror='1'>&"), "&lt;img src=x onerror=&#39;1&#39;&gt;&amp;");
    }
}
