//! Synthetic patients (invented names and values, never real people) and card layouts.

use crate::{Cell, PageRows, Row, Style};
use chart::khmer::khmer_digits;
use chart::Template;

pub use samples::rng::Rng;

const FAMILY: [(&str, &str); 10] = [
    ("សុខ", "SOK"),
    ("ចាន់", "CHAN"),
    ("ហេង", "HENG"),
    ("លី", "LY"),
    ("គឹម", "KIM"),
    ("ម៉ៅ", "MAO"),
    ("ពៅ", "POV"),
    ("សេង", "SENG"),
    ("ឈឹម", "CHHIM"),
    ("នួន", "NUON"),
];
const GIVEN: [(&str, &str, bool); 12] = [
    ("សុភាព", "Sopheap", false),
    ("ដារ៉ា", "Dara", true),
    ("ចាន់ធី", "Chanthy", false),
    ("វិចិត្រ", "Vichet", true),
    ("សុខា", "Sokha", true),
    ("ពិសី", "Pisey", false),
    ("រតនា", "Ratana", false),
    ("សំណាង", "Samnang", true),
    ("ស្រីមុំ", "Sreymom", false),
    ("បុប្ផា", "Bopha", false),
    ("វណ្ណា", "Vanna", true),
    ("ធីតា", "Thida", false),
];
/// Provinces the sample clinics' patients come from (gazetteer codes): Phnom Penh, Siem
/// Reap, Battambang, Kandal, Kampot, Takeo, Kep.
const PROVINCE_CODES: [&str; 7] = ["12", "17", "02", "08", "07", "21", "23"];
const COMPLAINTS: [&str; 6] = ["Fever and cough for 3 days", "Headache", "Abdominal pain", "Diarrhoea since yesterday", "Sore throat", "Back pain"];
const DIAGNOSES: [(&str, &str); 6] = [
    ("Acute upper respiratory infection", "J06.9"),
    ("Acute gastroenteritis", "A09"),
    ("Essential hypertension", "I10"),
    ("Type 2 diabetes mellitus", "E11.9"),
    ("Dengue fever", "A90"),
    ("Urinary tract infection", "N39.0"),
];
const TREATMENTS: [&str; 5] =
    ["Paracetamol 500mg three times a day", "ORS and Zinc 20mg", "Amlodipine 5mg daily", "Metformin 500mg twice a day", "Amoxicillin 500mg for 5 days"];
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
/// Lab tests of the outpatient lab table: name, range of values, decimals (9: a word), unit.
const LAB_TESTS: [(&str, f32, f32, usize, &str); 6] = [
    ("WBC", 4.0, 14.0, 1, "x10^9/L"),
    ("Haemoglobin", 8.0, 15.5, 1, "g/dL"),
    ("Platelets", 120.0, 420.0, 0, "x10^9/L"),
    ("Glucose", 70.0, 190.0, 0, "mg/dL"),
    ("Creatinine", 0.5, 1.6, 2, "mg/dL"),
    ("Malaria RDT", 0.0, 0.0, 9, ""),
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
    /// A table: column labels, then rows of typed cells (empty: left blank).
    Table(Vec<String>, Vec<Vec<String>>),
    /// Not printed on its own (an address part printed inside the one-line address).
    Nowhere,
}

impl Printed {
    /// The text a reader sees (boxes as `[x]`/`[ ]`).
    pub fn text(&self) -> String {
        match self {
            Printed::Typed(t) | Printed::Hand(t) => t.clone(),
            Printed::Boxes(options) => options.iter().map(|(o, t)| format!("{} {o}", if *t { "[x]" } else { "[ ]" })).collect::<Vec<_>>().join(" "),
            Printed::Table(columns, rows) => std::iter::once(columns.join(" ")).chain(rows.iter().map(|r| r.join(" "))).collect::<Vec<_>>().join("\n"),
            Printed::Nowhere => String::new(),
        }
    }
}

/// One field of a synthetic chart: as printed and its canonical value.
pub struct FieldValue {
    /// The field name (docs/CONTRACT.md).
    pub name: &'static str,
    /// How it is printed.
    pub printed: Printed,
    /// The canonical value (a table's rows as JSON; null for what the truth leaves out).
    pub canonical: serde_json::Value,
}

/// What a card carries beyond the fields every card has.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Extras {
    /// Outpatient vital signs (temperature, blood pressure, pulse, weight) in a grid.
    pub vitals: bool,
    /// Antenatal visits in a table (how many; 0: the latest visit's measurements only).
    pub visits: usize,
    /// Outpatient lab results in a table.
    pub labs: bool,
    /// The address on one line under one label, not in four fields.
    pub one_line_address: bool,
    /// Place names in Khmer script rather than romanised.
    pub khmer_places: bool,
}

/// A real place of the gazetteer: village, commune, district (Khmer, romanised) and the
/// province (Khmer, docs/CONTRACT.md's English name).
struct Place {
    village: (String, String),
    commune: (String, String),
    district: (String, String),
    province: (String, String),
}

fn random_place(rng: &mut Rng) -> Place {
    use chart::reference::gazetteer::{self, Level};
    let province = *rng.pick(&PROVINCE_CODES);
    let villages: Vec<&gazetteer::Place> = gazetteer::places(Level::Village).filter(|v| v.code.starts_with(province)).collect();
    let village = *rng.pick(&villages);
    let part = |len: usize| gazetteer::by_code(&village.code[..len]).expect("every village's commune, district and province are in the gazetteer");
    let (commune, district, prov) = (part(6), part(4), part(2));
    let canonical = chart::province::CANONICAL.iter().find(|(c, _)| *c == prov.code).expect("a province").1;
    let bare_province = prov.khmer.trim_start_matches("រាជធានី").to_string();
    Place {
        village: (village.khmer.clone(), village.english.clone()),
        commune: (commune.khmer.clone(), commune.english.clone()),
        district: (district.khmer.clone(), district.english.clone()),
        province: (bare_province, canonical.to_string()),
    }
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
    pub fn random(rng: &mut Rng, index: usize, form: Form, boxes: bool, khmer_options: bool, extras: Extras) -> Patient {
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
        let place = random_place(rng);
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
        let f = |name: &'static str, printed: Printed, canonical: String| FieldValue { name, printed, canonical: canonical.into() };
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
        fields.push(f("phone", Printed::Typed(phone_print), phone_digits));
        // Place names as printed, in one script; the province as docs/CONTRACT.md names it.
        let pick = |names: &(String, String)| if extras.khmer_places { names.0.clone() } else { names.1.clone() };
        let (village, commune, district) = (pick(&place.village), pick(&place.commune), pick(&place.district));
        let province_print = if extras.khmer_places { place.province.0.clone() } else { place.province.1.clone() };
        if extras.one_line_address {
            let capital = place.province.1 == "Phnom Penh";
            let line = match (extras.khmer_places, capital) {
                (true, false) => format!("ភូមិ{village} ឃុំ{commune} ស្រុក{district} ខេត្ត{province_print}"),
                (true, true) => format!("ភូមិ{village} សង្កាត់{commune} ខណ្ឌ{district} រាជធានី{province_print}"),
                (false, false) => format!("Phum {village}, Khum {commune}, Srok {district}, {province_print} Province"),
                (false, true) => format!("Phum {village}, Sangkat {commune}, Khan {district}, Phnom Penh"),
            };
            fields.push(FieldValue { name: "address", printed: t(&line), canonical: serde_json::Value::Null });
            for (name, value) in [("village", village), ("commune", commune), ("district", district)] {
                fields.push(f(name, Printed::Nowhere, value));
            }
            fields.push(f("province", Printed::Nowhere, place.province.1.clone()));
        } else {
            fields.extend([
                f("village", t(&village), village.clone()),
                f("commune", t(&commune), commune.clone()),
                f("district", t(&district), district.clone()),
                f("province", Printed::Typed(province_print), place.province.1.clone()),
            ]);
        }
        match form {
            Form::Opd => {
                if extras.vitals {
                    let temperature = format!("{:.1}", rng.range(36.2, 39.4));
                    let (sys, dia) = (100 + rng.below(50), 60 + rng.below(30));
                    let pulse = (60 + rng.below(50)).to_string();
                    let weight = format!("{:.1}", rng.range(38.0, 90.0));
                    fields.extend([
                        f("temperature_c", Printed::Typed(maybe_khmer(rng, temperature.clone())), temperature),
                        f("blood_pressure", Printed::Typed(maybe_khmer(rng, format!("{sys}/{dia}"))), format!("{sys}/{dia}")),
                        f("pulse_bpm", Printed::Typed(maybe_khmer(rng, pulse.clone())), pulse),
                        f("weight_kg", Printed::Typed(maybe_khmer(rng, weight.clone())), weight),
                    ]);
                }
                let (diagnosis, icd) = *rng.pick(&DIAGNOSES);
                let (complaint, treatment, doctor) = (*rng.pick(&COMPLAINTS), *rng.pick(&TREATMENTS), *rng.pick(&DOCTORS));
                fields.extend([
                    f("chief_complaint", t(complaint), complaint.to_string()),
                    f("diagnosis", t(diagnosis), diagnosis.to_string()),
                    f("diagnosis_icd10", t(icd), icd.to_string()),
                    f("treatment", t(treatment), treatment.to_string()),
                    f("doctor", t(doctor), doctor.to_string()),
                ]);
                if extras.labs {
                    let mut tests: Vec<&(&str, f32, f32, usize, &str)> = LAB_TESTS.iter().collect();
                    tests.truncate(3 + rng.below(LAB_TESTS.len() - 2));
                    let mut rows = Vec::new();
                    let mut truth = Vec::new();
                    for (test, lo, hi, decimals, unit) in tests {
                        let value = if *decimals == 9 {
                            (if rng.chance(0.8) { "Negative" } else { "Positive" }).to_string()
                        } else {
                            format!("{:.*}", *decimals, rng.range(*lo, *hi))
                        };
                        rows.push(vec![test.to_string(), value.clone(), unit.to_string()]);
                        truth.push(
                            serde_json::json!({"test": test, "value": value, "unit": if unit.is_empty() { serde_json::Value::Null } else { (*unit).into() }}),
                        );
                    }
                    let columns = ["test", "value", "unit"].iter().map(|c| c.to_string()).collect();
                    fields.push(FieldValue { name: "lab_results", printed: Printed::Table(columns, rows), canonical: truth.into() });
                }
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
                ]);
                if extras.visits == 0 {
                    fields.extend([
                        f("gestational_age_weeks", Printed::Typed(maybe_khmer(rng, ga.clone())), ga),
                        f("blood_pressure", Printed::Typed(maybe_khmer(rng, format!("{sys}/{dia}"))), format!("{sys}/{dia}")),
                        f("weight_kg", Printed::Typed(maybe_khmer(rng, weight.clone())), weight),
                        f("hemoglobin_g_dl", Printed::Typed(maybe_khmer(rng, hb.clone())), hb),
                    ]);
                } else {
                    // Earlier visits every four to eight weeks before this one, the latest last;
                    // the chart's visit fields are the latest visit's (docs/CONTRACT.md).
                    let mut visits = vec![(visit, ga_days, weight.clone(), format!("{sys}/{dia}"), hb.clone())];
                    for _ in 1..extras.visits {
                        let (d, g, w, _, _) = visits[0].clone();
                        let back = 28 + rng.below(29) as i64;
                        if g - back < 42 {
                            break;
                        }
                        let w = format!("{:.1}", w.parse::<f32>().unwrap_or(60.0) - rng.range(0.5, 3.0));
                        let (s2, d2) = (95 + rng.below(40), 60 + rng.below(25));
                        visits.insert(0, (date_of(d.days() - back), g - back, w, format!("{s2}/{d2}"), format!("{:.1}", rng.range(9.0, 13.5))));
                    }
                    let mut rows = Vec::new();
                    let mut truth = Vec::new();
                    for (n, (d, g, w, bp, h)) in visits.iter().enumerate() {
                        let number = (n + 1).to_string();
                        let weeks = (g / 7).to_string();
                        let date = format!("{:02}/{:02}/{}", d.day, d.month, d.year);
                        rows.push(vec![number.clone(), date, weeks.clone(), w.clone(), bp.clone(), h.clone()]);
                        truth.push(serde_json::json!({"visit_number": number, "date": iso(*d), "gestational_age_weeks": weeks, "weight_kg": w, "blood_pressure": bp, "hemoglobin_g_dl": h}));
                    }
                    let (number, weeks) = (visits.len().to_string(), ga.clone());
                    let columns = ["visit_number", "date", "gestational_age_weeks", "weight_kg", "blood_pressure", "hemoglobin_g_dl"]
                        .iter()
                        .map(|c| c.to_string())
                        .collect();
                    fields.push(FieldValue { name: "visits", printed: Printed::Table(columns, rows), canonical: truth.into() });
                    for (name, value) in [
                        ("anc_visit_number", number),
                        ("gestational_age_weeks", weeks),
                        ("blood_pressure", format!("{sys}/{dia}")),
                        ("weight_kg", weight),
                        ("hemoglobin_g_dl", hb),
                    ] {
                        fields.push(f(name, Printed::Nowhere, value));
                    }
                    // The visit date field is the latest visit's, printed in the table.
                    if let Some(v) = fields.iter_mut().find(|v| v.name == "visit_date") {
                        v.printed = Printed::Nowhere;
                    }
                }
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
        self.fields.iter().filter(|f| !f.canonical.is_null()).map(|f| (f.name.to_string(), f.canonical.clone())).collect::<serde_json::Map<_, _>>().into()
    }

    /// How each field is printed (`typed`, `hand` or `boxes`), for the truth file.
    pub fn styles(&self) -> serde_json::Value {
        self.fields
            .iter()
            .map(|f| {
                let style = match f.printed {
                    Printed::Typed(_) | Printed::Table(..) | Printed::Nowhere => "typed",
                    Printed::Hand(_) => "hand",
                    Printed::Boxes(_) => "boxes",
                };
                (f.name.to_string(), serde_json::Value::from(style))
            })
            .collect::<serde_json::Map<_, _>>()
            .into()
    }

    pub fn printed(&self, name: &str) -> Printed {
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
    /// The Khmer label with the English one printed under it.
    Stacked,
    /// `Sex (ភេទ):` or `ភេទ (Sex):`, by facility.
    Paren,
}

/// A label in the card's label language from its Khmer and English wordings.
fn compose(khmer: Option<&String>, english: &str, facility_index: usize, labels: Labels, colon: bool) -> String {
    let text = match (labels, khmer) {
        (Labels::Both, Some(kh)) => format!("{kh} / {english}"),
        (Labels::Khmer, Some(kh)) => kh.to_string(),
        (Labels::Stacked, Some(kh)) => format!("{kh}\n{english}"),
        (Labels::Paren, Some(kh)) if facility_index.is_multiple_of(2) => format!("{english} ({kh})"),
        (Labels::Paren, Some(kh)) => format!("{kh} ({english})"),
        _ => english.to_string(),
    };
    if colon {
        text + ":"
    } else {
        text
    }
}

/// The printed label of a field in the card's label language; English variants vary by
/// facility. Fields without a Khmer label print their English one.
fn label(template: &Template, field: &str, facility_index: usize, labels: Labels, colon: bool) -> String {
    let spec = template.field(field).expect("field in template");
    let khmer: Vec<&String> = spec.labels.iter().filter(|l| chart::khmer::is_mostly_khmer(l)).collect();
    let english: Vec<&String> = spec.labels.iter().filter(|l| !chart::khmer::is_mostly_khmer(l)).collect();
    compose(khmer.first().copied(), english[facility_index % english.len()], facility_index, labels, colon)
}

/// A short label for a grid's or a table's column header: the field's (or column's) Khmer
/// label, its last English one, or both.
fn short_label(spec: &chart::FieldSpec, labels: Labels) -> String {
    let kh = spec.labels.iter().find(|l| chart::khmer::is_mostly_khmer(l)).cloned();
    let en = spec.labels.iter().rfind(|l| !chart::khmer::is_mostly_khmer(l)).cloned().unwrap_or_default();
    match (labels, kh) {
        (Labels::Khmer, Some(kh)) => kh,
        (Labels::Stacked | Labels::Both, Some(kh)) => format!("{kh}\n{en}"),
        _ => en,
    }
}

/// The card's pages. `two_pages` moves the clinical part (and any table) to a continuation
/// page.
pub fn layout(template: &Template, p: &Patient, facility_index: usize, style: Style, labels: Labels, two_pages: bool) -> Vec<PageRows> {
    let colon = style != Style::Table;
    let printed = |name: &str| p.fields.iter().any(|f| f.name == name && f.printed != Printed::Nowhere);
    let cell = |name: &str| Cell { label: label(template, name, facility_index, labels, colon), value: p.printed(name) };
    let row = |names: &[&str]| {
        let cells: Vec<Cell> = names.iter().filter(|n| printed(n)).map(|n| cell(n)).collect();
        (!cells.is_empty()).then_some(Row { cells, header: false, table: false })
    };
    let pair = |a: &str, b: &str| if style == Style::Table { vec![row(&[a]), row(&[b])] } else { vec![row(&[a, b])] };
    let grid = |names: &[&str]| {
        let cells: Vec<Cell> =
            names.iter().filter(|n| printed(n)).map(|n| Cell { label: short_label(template.field(n).expect("field"), labels), value: p.printed(n) }).collect();
        (!cells.is_empty()).then_some(Row { cells, header: true, table: false })
    };
    let table = |name: &str| {
        let Printed::Table(columns, rows) = p.printed(name) else { return None };
        let spec = template.field(name).expect("table field");
        let headers = columns.iter().map(|c| short_label(spec.columns.iter().find(|s| &s.name == c).expect("column"), labels)).collect();
        Some(Row { cells: vec![Cell { label: String::new(), value: Printed::Table(headers, rows) }], header: false, table: true })
    };
    // Rows of fields not printed on this card drop out; `None` is a rule across the page.
    let some = |rows: Vec<Option<Row>>| rows.into_iter().flatten().map(Some).collect::<Vec<Option<Row>>>();
    let mut first = some(vec![row(&["patient_id"]), row(&["name_khmer"]), row(&["name_latin"])]);
    first.extend(some(pair("sex", "age")));
    first.extend(some(vec![row(&["date_of_birth"])]));
    if p.form != Form::Ipd {
        first.extend(some(vec![row(&["visit_date"])]));
    }
    first.extend(some(vec![row(&["phone"]), row(&["address"])]));
    first.extend(some(pair("village", "commune")));
    first.extend(some(pair("district", "province")));
    first.push(None);
    let mut second: Vec<Option<Row>> = match p.form {
        Form::Opd => {
            let mut rows = vec![grid(&["temperature_c", "blood_pressure", "pulse_bpm", "weight_kg"])];
            rows.extend(["chief_complaint", "diagnosis", "diagnosis_icd10", "treatment", "doctor"].iter().map(|n| row(&[n])));
            some(rows)
        }
        Form::Ipd => {
            let mut rows = vec![row(&["ward"])];
            if style == Style::Below {
                rows.extend(pair("admission_date", "discharge_date"));
            } else {
                rows.extend([row(&["admission_date"]), row(&["discharge_date"])]);
            }
            rows.extend(["admission_diagnosis", "discharge_diagnosis", "outcome"].iter().map(|n| row(&[n])));
            some(rows)
        }
        Form::Anc => {
            let mut rows = pair("lmp_date", "edd_date");
            rows.extend(pair("gravida", "para"));
            let measures = ["gestational_age_weeks", "blood_pressure", "weight_kg", "hemoglobin_g_dl"];
            if style == Style::Table {
                rows.extend(measures.iter().map(|n| row(&[n])));
            } else {
                // A measurement grid: short labels in a header row, values in the row below.
                rows.push(grid(&measures));
            }
            some(rows)
        }
    };
    let tables: Vec<Option<Row>> = some(["visits", "lab_results"].iter().map(|t| table(t)).collect());
    let title = p.form.title().to_string();
    if two_pages {
        second.extend(tables);
        vec![PageRows { title: title.clone(), rows: first }, PageRows { title: format!("{title} (2)"), rows: second }]
    } else {
        first.extend(second);
        first.extend(tables);
        vec![PageRows { title, rows: first }]
    }
}
