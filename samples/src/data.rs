//! Synthetic patients (invented names and values, never real people) and card layouts.

use crate::{PageRows, Row};
use chart::khmer::khmer_digits;
use chart::Template;

/// SplitMix64: small, fast, and the same on every machine.
pub struct Rng(u64);

impl Rng {
    /// A generator from a seed.
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in 0..n.
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    /// Uniform in 0..1.
    pub fn unit(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 / (1u64 << 24) as f32
    }

    /// Uniform in lo..hi.
    pub fn range(&mut self, lo: f32, hi: f32) -> f32 {
        lo + (hi - lo) * self.unit()
    }

    /// One of the items.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    /// True with probability p.
    pub fn chance(&mut self, p: f32) -> bool {
        self.unit() < p
    }
}

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
const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/// A synthetic patient's card: each field as printed and as its canonical value.
pub struct Patient {
    /// (field name, printed text, canonical value) in card order.
    pub fields: Vec<(&'static str, String, String)>,
}

fn days_in(month: u32, year: i32) -> u32 {
    chart::normalize::CalendarDate::new(year, month, 31).map(|_| 31).or_else(|_| chart::normalize::CalendarDate::new(year, month, 30).map(|_| 30)).unwrap_or(if year % 4 == 0 { 29 } else { 28 })
}

fn print_date(rng: &mut Rng, y: i32, m: u32, d: u32) -> String {
    match rng.below(4) {
        0 => format!("{d:02}/{m:02}/{y}"),
        1 => khmer_digits(&format!("{d:02}/{m:02}/{y}")),
        2 => format!("{d} {} {y}", MONTHS[m as usize - 1]),
        _ => format!("{d:02}-{m:02}-{y}"),
    }
}

impl Patient {
    /// A random synthetic patient; `index` keeps patient numbers distinct.
    pub fn random(rng: &mut Rng, index: usize) -> Patient {
        let (fk, fl) = *rng.pick(&FAMILY);
        let (gk, gl, male) = *rng.pick(&GIVEN);
        let id = format!("{:06}", 100_000 + index * 7919 % 900_000 + rng.below(97));
        let by = 1950 + rng.below(70) as i32;
        let bm = 1 + rng.below(12) as u32;
        let bd = 1 + rng.below(days_in(bm, by) as usize) as u32;
        let vy = 2023 + rng.below(3) as i32;
        let vm = 1 + rng.below(12) as u32;
        let vd = 1 + rng.below(days_in(vm, vy) as usize) as u32;
        let age = vy - by - i32::from((vm, vd) < (bm, bd));
        let phone_digits = format!("0{}{:07}", rng.pick(&["12", "17", "97", "88", "15"]), rng.below(10_000_000));
        let phone_print = match rng.below(4) {
            0 => format!("{} {} {}", &phone_digits[..3], &phone_digits[3..6], &phone_digits[6..]),
            1 => format!("+855 {} {} {}", &phone_digits[1..3], &phone_digits[3..6], &phone_digits[6..]),
            2 => khmer_digits(&format!("{} {} {}", &phone_digits[..3], &phone_digits[3..6], &phone_digits[6..])),
            _ => format!("{}-{}-{}", &phone_digits[..3], &phone_digits[3..6], &phone_digits[6..]),
        };
        let (province, province_khmer) = *rng.pick(&PROVINCES);
        let (diagnosis, icd) = *rng.pick(&DIAGNOSES);
        let sex_print = match (rng.below(3), male) {
            (0, true) => "ប្រុស",
            (0, false) => "ស្រី",
            (1, true) => "Male",
            (1, false) => "Female",
            (_, true) => "M",
            (_, false) => "F",
        };
        let village = *rng.pick(&VILLAGES);
        let commune = *rng.pick(&COMMUNES);
        let district = *rng.pick(&DISTRICTS);
        let complaint = *rng.pick(&COMPLAINTS);
        let treatment = *rng.pick(&TREATMENTS);
        let doctor = *rng.pick(&DOCTORS);
        let id_print = if rng.chance(0.3) { khmer_digits(&id) } else { id.clone() };
        let age_print = if rng.chance(0.3) { khmer_digits(&age.to_string()) } else { age.to_string() };
        let dob_print = print_date(rng, by, bm, bd);
        let visit_print = print_date(rng, vy, vm, vd);
        let province_print = if rng.chance(0.5) { province_khmer.to_string() } else { province.to_string() };
        let s = |v: &str| v.to_string();
        Patient {
            fields: vec![
                ("patient_id", id_print, id),
                ("name_khmer", format!("{fk} {gk}"), format!("{fk} {gk}")),
                ("name_latin", format!("{fl} {gl}"), format!("{fl} {gl}")),
                ("sex", s(sex_print), s(if male { "M" } else { "F" })),
                ("age", age_print, age.to_string()),
                ("date_of_birth", dob_print, format!("{by:04}-{bm:02}-{bd:02}")),
                ("visit_date", visit_print, format!("{vy:04}-{vm:02}-{vd:02}")),
                ("phone", phone_print, phone_digits),
                ("village", s(village), s(village)),
                ("commune", s(commune), s(commune)),
                ("district", s(district), s(district)),
                ("province", province_print, s(province)),
                ("chief_complaint", s(complaint), s(complaint)),
                ("diagnosis", s(diagnosis), s(diagnosis)),
                ("diagnosis_icd10", s(icd), s(icd)),
                ("treatment", s(treatment), s(treatment)),
                ("doctor", s(doctor), s(doctor)),
            ],
        }
    }

    /// Canonical values by field name, for the truth file.
    pub fn truth(&self) -> serde_json::Value {
        self.fields.iter().map(|(name, _, canonical)| (name.to_string(), serde_json::Value::from(canonical.clone()))).collect::<serde_json::Map<_, _>>().into()
    }

    fn printed(&self, name: &str) -> String {
        self.fields.iter().find(|f| f.0 == name).map(|f| f.1.clone()).unwrap_or_default()
    }
}

/// The printed label of a field: its first Khmer label and, varying by facility, one of its
/// English labels, as bilingual cards print them (`ភេទ / Sex:`).
fn label(template: &Template, field: &str, facility_index: usize) -> String {
    let spec = template.field(field).expect("field in template");
    let khmer: Vec<&String> = spec.labels.iter().filter(|l| chart::khmer::is_mostly_khmer(l)).collect();
    let english: Vec<&String> = spec.labels.iter().filter(|l| !chart::khmer::is_mostly_khmer(l)).collect();
    let en = english[facility_index % english.len()];
    match khmer.first() {
        Some(kh) => format!("{kh} / {en}:"),
        None => format!("{en}:"),
    }
}

/// The card's pages: rows of label/value cells. A two-page card moves the clinical part to
/// a continuation page.
pub fn layout(template: &Template, p: &Patient, facility_index: usize, two_pages: bool) -> Vec<PageRows> {
    let cell = |name: &str| (label(template, name, facility_index), p.printed(name));
    let row = |names: &[&str]| Some(Row { cells: names.iter().map(|n| cell(n)).collect() });
    let demographics = vec![
        row(&["patient_id"]),
        row(&["name_khmer"]),
        row(&["name_latin"]),
        row(&["sex", "age"]),
        row(&["date_of_birth"]),
        row(&["visit_date"]),
        row(&["phone"]),
        row(&["village", "commune"]),
        row(&["district", "province"]),
        None,
    ];
    let clinical = vec![row(&["chief_complaint"]), row(&["diagnosis"]), row(&["diagnosis_icd10"]), row(&["treatment"]), row(&["doctor"])];
    let title = "ប័ណ្ណពិគ្រោះជំងឺក្រៅ / OUTPATIENT CONSULTATION CARD".to_string();
    if two_pages {
        vec![
            PageRows { title: title.clone(), rows: demographics },
            PageRows { title: format!("{title} (2)"), rows: clinical },
        ]
    } else {
        let mut rows = demographics;
        rows.extend(clinical);
        vec![PageRows { title, rows }]
    }
}
