//! Synthetic patients (invented names and values, never real people) and card layouts.

use crate::{Cell, PageRows, Row, Style};
use chart::khmer::khmer_digits;
use chart::Template;

pub use samples::rng::Rng;

const FAMILY: [(&str, &str); 10] = [
    ("សុខ", "SOK"), ("ចាន់", "CHAN"), ("ហេង", "HENG"), ("លី", "LY"), ("គឹម", "KIM"),
    ("ម៉ៅ", "MAO"), ("ពៅ", "POV"), ("សេង", "SENG"), ("ឈឹម", "CHHIM"), ("នួន", "NUON"),
];
const GIVEN: [(&str, &str, bool); 12] = [
    ("សុភាព", "Sopheap", false), ("ដារ៉ា", "Dara", true), ("ចាន់ធី", "Chanthy", false), ("វិចិត្រ", "Vichet", true),
    ("សុខា", "Sokha", true), ("ពិសី", "Pisey", false), ("រតនា", "Ratana", false), ("សំណាង", "Samnang", true),
    ("ស្រីមុំ", "Sreymom", false), ("បុប្ផា", "Bopha", false), ("វណ្ណា", "Vanna", true), ("ធីតា", "Thida", false),
];
const VILLAGES: [&str; 6] = ["Phum Thmei", "Prek Leap", "Chamkar Doung", "Tuol Sangke", "Trapeang Thom", "Kouk Chambak"];
const COMMUNES: [&str; 5] = ["Chbar Ampov", "Svay Dangkum", "Sla Kram", "Kouk Chak", "Prek Pnov"];
const DISTRICTS: [&str; 6] = ["Chamkar Mon", "Siem Reap", "Sangkae", "Ang Snuol", "Kien Svay", "Mean Chey"];
const PROVINCES: [(&str, &str); 6] = [
    ("Phnom Penh", "ភ្នំពេញ"), ("Siem Reap", "សៀមរាប"), ("Battambang", "បាត់ដំបង"),
    ("Kandal", "កណ្ដាល"), ("Kampot", "កំពត"), ("Takeo", "តាកែវ"),
];
const COMPLAINTS: [&str; 6] = ["Fever and cough for 3 days", "Headache", "Abdominal pain", "Diarrhoea since yesterday", "Sore throat", "Back pain"];
const DIAGNOSES: [(&str, &str); 6] = [
    ("Acute upper respiratory infection", "J06.9"), ("Acute gastroenteritis", "A09"), ("Essential hypertension", "I10"),
    ("Type 2 diabetes mellitus", "E11.9"), ("Dengue fever", "A90"), ("Urinary tract infection", "N39.0"),
];
const TREATMENTS: [&str; 5] = ["Paracetamol 500mg three times a day", "ORS and Zinc 20mg", "Amlodipine 5mg daily", "Metformin 500mg twice a day", "Amoxicillin 500mg for 5 days"];
const DOCTORS: [&str; 4] = ["Dr. Sok Vannak", "Dr. Chea Sreyneang", "Dr. Lim Bunthoeun", "Dr. Keo Malis"];
const WARDS: [&str; 5] = ["Medicine", "Surgery", "Paediatrics", "Maternity", "Intensive Care"];
/// Outcomes: canonical value, English and Khmer option text.
pub const OUTCOMES: [(&str, &str, &str); 5] = [
    ("recovered", "Recovered", "ជាសះស្បើយ"),
    ("improved", "Improved", "ធូរស្បើយ"),
    ("referred", "Referred", "បញ្ជូន"),
    ("died", "Died", "ស្លាប់"),
    ("left_against_advice", "Left against advice", "ចាកចេញ"),
];
const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/// The three standard forms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    /// Outpatient consultation card.
    Opd,
    /// Inpatient admission and discharge sheet.
    Ipd,
    /// Antenatal care card.
    Anc,
}

impl Form {
    /// The form's short name.
    pub fn code(self) -> &'static str {
        match self {
            Form::Opd => "opd",
            Form::Ipd => "ipd",
            Form::Anc => "anc",
        }
    }

    /// The printed title.
    pub fn title(self) -> &'static str {
        match self {
            Form::Opd => "ប័ណ្ណពិគ្រោះជំងឺក្រៅ / OUTPATIENT CONSULTATION CARD",
            Form::Ipd => "សន្លឹកចូល និងចេញពីមន្ទីរពេទ្យ / INPATIENT ADMISSION AND DISCHARGE SHEET",
            Form::Anc => "ប័ណ្ណពិនិត្យផ្ទៃពោះ / ANTENATAL CARE CARD",
        }
    }
}

/// How a value is printed.
#[derive(Debug, Clone, PartialEq)]
pub enum Printed {
    /// Typed text.
    Typed(String),
    /// Written in a handwriting-like font.
    Hand(String),
    /// A row of check boxes: (option text, ticked).
    Boxes(Vec<(String, bool)>),
}

impl Printed {
    /// The text a reader sees (boxes as `[x]`/`[ ]`).
    pub fn text(&self) -> String {
        match self {
            Printed::Typed(t) | Printed::Hand(t) => t.clone(),
            Printed::Boxes(options) => options.iter().map(|(o, t)| format!("{} {o}", if *t { "[x]" } else { "[ ]" })).collect::<Vec<_>>().join(" "),
        }
    }
}

/// One field of a synthetic chart: as printed and its canonical value.
pub struct FieldValue {
    /// The field name (CONTRACT.md).
    pub name: &'static str,
    /// How it is printed.
    pub printed: Printed,
    /// The canonical value.
    pub canonical: String,
}

/// A synthetic patient's chart of one form.
pub struct Patient {
    /// Which form.
    pub form: Form,
    /// The fields in card order.
    pub fields: Vec<FieldValue>,
}

fn date_of(days: i64) -> chart::normalize::CalendarDate {
    chart::normalize::CalendarDate::from_days(days).expect("generated dates are in range")
}

fn random_date(rng: &mut Rng, from_year: i32, years: usize) -> chart::normalize::CalendarDate {
    let start = chart::normalize::CalendarDate::new(from_year, 1, 1).expect("valid").days();
    date_of(start + rng.below(years * 365) as i64)
}

fn iso(d: chart::normalize::CalendarDate) -> String {
    d.to_string()
}

fn print_date(rng: &mut Rng, d: chart::normalize::CalendarDate) -> String {
    let (y, m, dd) = (d.year, d.month, d.day);
    match rng.below(5) {
        0 => format!("{dd:02}/{m:02}/{y}"),
        1 => khmer_digits(&format!("{dd:02}/{m:02}/{y}")),
        2 => format!("{dd} {} {y}", MONTHS[m as usize - 1]),
        3 => format!("{dd:02}-{m:02}-{y}"),
        _ => format!("{dd} {} {y}", KHMER_MONTHS[m as usize - 1]),
    }
}

const KHMER_MONTHS: [&str; 12] = ["មករា", "កុម្ភៈ", "មីនា", "មេសា", "ឧសភា", "មិថុនា", "កក្កដា", "សីហា", "កញ្ញា", "តុលា", "វិច្ឆិកា", "ធ្នូ"];

fn maybe_khmer(rng: &mut Rng, s: String) -> String {
    if rng.chance(0.3) {
        khmer_digits(&s)
    } else {
        s
    }
}

impl Patient {
    /// A random synthetic patient; `index` keeps patient numbers distinct. Options of the
    /// chart's layout (`boxes`: sex as check boxes; `khmer_options`: option texts in Khmer)
    /// decide how some values are printed.
    pub fn random(rng: &mut Rng, index: usize, form: Form, boxes: bool, khmer_options: bool) -> Patient {
        let (fk, fl) = *rng.pick(&FAMILY);
        let (gk, gl, male) = loop {
            let g = *rng.pick(&GIVEN);
            if form != Form::Anc || !g.2 {
                break g;
            }
        };
        let id = format!("{:06}", 100_000 + index * 7919 % 900_000 + rng.below(97));
        let visit = random_date(rng, 2023, 3);
        let born = match form {
            Form::Anc => date_of(visit.days() - (365.25 * rng.range(17.0, 42.0)) as i64),
            _ => random_date(rng, 1950, 70),
        };
        let age = born.years_until(&visit);
        let phone_digits = format!("0{}{:07}", rng.pick(&["12", "17", "97", "88", "15"]), rng.below(10_000_000));
        let phone_print = match rng.below(4) {
            0 => format!("{} {} {}", &phone_digits[..3], &phone_digits[3..6], &phone_digits[6..]),
            1 => format!("+855 {} {} {}", &phone_digits[1..3], &phone_digits[3..6], &phone_digits[6..]),
            2 => khmer_digits(&format!("{} {} {}", &phone_digits[..3], &phone_digits[3..6], &phone_digits[6..])),
            _ => format!("{}-{}-{}", &phone_digits[..3], &phone_digits[3..6], &phone_digits[6..]),
        };
        let (province, province_khmer) = *rng.pick(&PROVINCES);
        let sex = if boxes {
            let (m, f) = if khmer_options { ("ប្រុស", "ស្រី") } else { ("Male", "Female") };
            Printed::Boxes(vec![(m.to_string(), male), (f.to_string(), !male)])
        } else {
            Printed::Typed(
                match (rng.below(3), male) {
                    (0, true) => "ប្រុស",
                    (0, false) => "ស្រី",
                    (1, true) => "Male",
                    (1, false) => "Female",
                    (_, true) => "M",
                    (_, false) => "F",
                }
                .to_string(),
            )
        };
        let t = |s: &str| Printed::Typed(s.to_string());
        let id_print = maybe_khmer(rng, id.clone());
        let age_print = maybe_khmer(rng, age.to_string());
        let dob_print = print_date(rng, born);
        let province_print = if rng.chance(0.5) { province_khmer.to_string() } else { province.to_string() };
        let (village, commune, district) = (*rng.pick(&VILLAGES), *rng.pick(&COMMUNES), *rng.pick(&DISTRICTS));
        let f = |name: &'static str, printed: Printed, canonical: String| FieldValue { name, printed, canonical };
        let mut fields = vec![
            f("patient_id", Printed::Typed(id_print), id),
            f("name_khmer", t(&format!("{fk} {gk}")), format!("{fk} {gk}")),
            f("name_latin", t(&format!("{fl} {gl}")), format!("{fl} {gl}")),
            f("sex", sex, (if male { "M" } else { "F" }).to_string()),
            f("age", Printed::Typed(age_print), age.to_string()),
            f("date_of_birth", Printed::Typed(dob_print), iso(born)),
        ];
        match form {
            Form::Opd | Form::Anc => {
                let p = print_date(rng, visit);
                fields.push(f("visit_date", Printed::Typed(p), iso(visit)));
            }
            Form::Ipd => {}
        }
        fields.extend([
            f("phone", Printed::Typed(phone_print), phone_digits),
            f("village", t(village), village.to_string()),
            f("commune", t(commune), commune.to_string()),
            f("district", t(district), district.to_string()),
            f("province", Printed::Typed(province_print), province.to_string()),
        ]);
        match form {
            Form::Opd => {
                let (diagnosis, icd) = *rng.pick(&DIAGNOSES);
                let (complaint, treatment, doctor) = (*rng.pick(&COMPLAINTS), *rng.pick(&TREATMENTS), *rng.pick(&DOCTORS));
                fields.extend([
                    f("chief_complaint", t(complaint), complaint.to_string()),
                    f("diagnosis", t(diagnosis), diagnosis.to_string()),
                    f("diagnosis_icd10", t(icd), icd.to_string()),
                    f("treatment", t(treatment), treatment.to_string()),
                    f("doctor", t(doctor), doctor.to_string()),
                ]);
            }
            Form::Ipd => {
                let ward = *rng.pick(&WARDS);
                let discharge = date_of(visit.days() + 1 + rng.below(14) as i64);
                let (admit_dx, _) = *rng.pick(&DIAGNOSES);
                let (final_dx, _) = *rng.pick(&DIAGNOSES);
                let outcome = rng.below(OUTCOMES.len());
                let options = OUTCOMES.iter().enumerate().map(|(i, o)| ((if khmer_options { o.2 } else { o.1 }).to_string(), i == outcome)).collect();
                let (a, d) = (print_date(rng, visit), print_date(rng, discharge));
                fields.extend([
                    f("ward", t(ward), ward.to_string()),
                    f("admission_date", Printed::Typed(a), iso(visit)),
                    f("discharge_date", Printed::Typed(d), iso(discharge)),
                    f("admission_diagnosis", t(admit_dx), admit_dx.to_string()),
                    f("discharge_diagnosis", t(final_dx), final_dx.to_string()),
                    f("outcome", Printed::Boxes(options), OUTCOMES[outcome].0.to_string()),
                ]);
            }
            Form::Anc => {
                let ga_days = 42 + rng.below(36 * 7) as i64;
                let lmp = date_of(visit.days() - ga_days);
                let edd = date_of(lmp.days() + 280);
                let gravida = 1 + rng.below(6);
                let para = rng.below(gravida);
                let (sys, dia) = (95 + rng.below(45), 60 + rng.below(30));
                let weight = format!("{:.1}", rng.range(42.0, 85.0));
                let hb = format!("{:.1}", rng.range(8.0, 14.0));
                let (l, e) = (print_date(rng, lmp), print_date(rng, edd));
                let ga = (ga_days / 7).to_string();
                fields.extend([
                    f("lmp_date", Printed::Typed(l), iso(lmp)),
                    f("edd_date", Printed::Typed(e), iso(edd)),
                    f("gravida", Printed::Typed(maybe_khmer(rng, gravida.to_string())), gravida.to_string()),
                    f("para", Printed::Typed(maybe_khmer(rng, para.to_string())), para.to_string()),
                    f("gestational_age_weeks", Printed::Typed(maybe_khmer(rng, ga.clone())), ga),
                    f("blood_pressure", Printed::Typed(maybe_khmer(rng, format!("{sys}/{dia}"))), format!("{sys}/{dia}")),
                    f("weight_kg", Printed::Typed(maybe_khmer(rng, weight.clone())), weight),
                    f("hemoglobin_g_dl", Printed::Typed(maybe_khmer(rng, hb.clone())), hb),
                ]);
            }
        }
        Patient { form, fields }
    }

    /// Writes some values in a handwriting-like font, as a clerk filling the card by hand.
    pub fn handwrite(&mut self, rng: &mut Rng, share: f32) {
        for f in &mut self.fields {
            if let Printed::Typed(text) = &f.printed {
                if rng.chance(share) {
                    f.printed = Printed::Hand(text.clone());
                }
            }
        }
    }

    /// Canonical values by field name, for the truth file.
    pub fn truth(&self) -> serde_json::Value {
        self.fields.iter().map(|f| (f.name.to_string(), serde_json::Value::from(f.canonical.clone()))).collect::<serde_json::Map<_, _>>().into()
    }

    /// How each field is printed (`typed`, `hand` or `boxes`), for the truth file.
    pub fn styles(&self) -> serde_json::Value {
        self.fields
            .iter()
            .map(|f| {
                let style = match f.printed {
                    Printed::Typed(_) => "typed",
                    Printed::Hand(_) => "hand",
                    Printed::Boxes(_) => "boxes",
                };
                (f.name.to_string(), serde_json::Value::from(style))
            })
            .collect::<serde_json::Map<_, _>>()
            .into()
    }

    fn printed(&self, name: &str) -> Printed {
        self.fields.iter().find(|f| f.name == name).map(|f| f.printed.clone()).unwrap_or(Printed::Typed(String::new()))
    }
}

/// Which labels a card prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Labels {
    /// `ភេទ / Sex:`
    Both,
    /// `ភេទ:`
    Khmer,
    /// `Sex:`
    English,
}

/// The printed label of a field in the card's label language; English variants vary by
/// facility. Fields without a Khmer label print their English one.
fn label(template: &Template, field: &str, facility_index: usize, labels: Labels, colon: bool) -> String {
    let spec = template.field(field).expect("field in template");
    let khmer: Vec<&String> = spec.labels.iter().filter(|l| chart::khmer::is_mostly_khmer(l)).collect();
    let english: Vec<&String> = spec.labels.iter().filter(|l| !chart::khmer::is_mostly_khmer(l)).collect();
    let en = english[facility_index % english.len()];
    let text = match (labels, khmer.first()) {
        (Labels::Both, Some(kh)) => format!("{kh} / {en}"),
        (Labels::Khmer, Some(kh)) => kh.to_string(),
        _ => en.to_string(),
    };
    if colon {
        text + ":"
    } else {
        text
    }
}

/// The card's pages. `two_pages` moves the clinical part to a continuation page.
pub fn layout(template: &Template, p: &Patient, facility_index: usize, style: Style, labels: Labels, two_pages: bool) -> Vec<PageRows> {
    let colon = style != Style::Table;
    let cell = |name: &str| Cell { label: label(template, name, facility_index, labels, colon), value: p.printed(name) };
    let row = |names: &[&str]| Some(Row { cells: names.iter().map(|n| cell(n)).collect(), header: false });
    let pair = |a: &str, b: &str| if style == Style::Table { vec![row(&[a]), row(&[b])] } else { vec![row(&[a, b])] };
    let mut first = vec![row(&["patient_id"]), row(&["name_khmer"]), row(&["name_latin"])];
    first.extend(pair("sex", "age"));
    first.push(row(&["date_of_birth"]));
    if p.form != Form::Ipd {
        first.push(row(&["visit_date"]));
    }
    first.push(row(&["phone"]));
    first.extend(pair("village", "commune"));
    first.extend(pair("district", "province"));
    first.push(None);
    let second: Vec<Option<Row>> = match p.form {
        Form::Opd => ["chief_complaint", "diagnosis", "diagnosis_icd10", "treatment", "doctor"].iter().map(|n| row(&[n])).collect(),
        Form::Ipd => {
            let mut rows = vec![row(&["ward"])];
            if style == Style::Below {
                rows.extend(pair("admission_date", "discharge_date"));
            } else {
                rows.extend([row(&["admission_date"]), row(&["discharge_date"])]);
            }
            rows.extend(["admission_diagnosis", "discharge_diagnosis", "outcome"].iter().map(|n| row(&[n])));
            rows
        }
        Form::Anc => {
            let mut rows = pair("lmp_date", "edd_date");
            rows.extend(pair("gravida", "para"));
            let measures = ["gestational_age_weeks", "blood_pressure", "weight_kg", "hemoglobin_g_dl"];
            if style == Style::Table {
                rows.extend(measures.iter().map(|n| row(&[n])));
            } else {
                // A measurement grid: short labels in a header row, values in the row below.
                let short = |name: &str| {
                    let spec = template.field(name).expect("field");
                    let kh = spec.labels.iter().find(|l| chart::khmer::is_mostly_khmer(l)).cloned();
                    let en = spec.labels.iter().rfind(|l| !chart::khmer::is_mostly_khmer(l)).cloned().unwrap_or_default();
                    match (labels, kh) {
                        (Labels::Khmer, Some(kh)) => kh,
                        _ => en,
                    }
                };
                rows.push(Some(Row { cells: measures.iter().map(|n| Cell { label: short(n), value: p.printed(n) }).collect(), header: true }));
            }
            rows
        }
    };
    let title = p.form.title().to_string();
    if two_pages {
        vec![PageRows { title: title.clone(), rows: first }, PageRows { title: format!("{title} (2)"), rows: second }]
    } else {
        first.extend(second);
        vec![PageRows { title, rows: first }]
    }
}
