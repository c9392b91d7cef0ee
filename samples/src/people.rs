//! The patient-matching evaluation set: invented people who come back to clinics, written a
//! little differently on each chart, and the truth of who is who.
//!
//! What varies, as on real Cambodian charts: the romanisation (Sok/Sokh, Sopheap/Sophea,
//! Srey Mom/Sreymom), the order (family name first or last) and case; the Khmer name
//! missing or missing a sign; a date of birth on some charts and only an age on others
//! (an estimated year, one off half the time); a phone on some; the facility's patient
//! number on some, different at each facility. What makes it hard: namesakes (the same
//! common name, another person), twins (same family name, birthday, facility and phone)
//! and a few wrong birth dates.

use crate::rng::Rng;
use chart::matching::{blocking_keys, decide, score, Decision, Person};
use chart::record::PatientFacts;
use std::collections::HashMap;

/// Family names: Khmer, romanisations (the usual one first).
const FAMILY: &[(&str, &[&str])] = &[
    ("សុខ", &["SOK", "SOKH"]),
    ("ចាន់", &["CHAN", "CHANN"]),
    ("ហេង", &["HENG"]),
    ("លី", &["LY", "LEE"]),
    ("គឹម", &["KIM", "KHIM"]),
    ("ម៉ៅ", &["MAO", "MAU"]),
    ("ពៅ", &["POV", "PEOU"]),
    ("សេង", &["SENG"]),
    ("ឈឹម", &["CHHIM", "CHIM"]),
    ("នួន", &["NUON", "NUN"]),
    ("ជា", &["CHEA"]),
    ("កែវ", &["KEO", "KEV"]),
    ("ស៊ុន", &["SUN", "SON"]),
    ("ឡុង", &["LONG"]),
    ("យឹម", &["YIM", "YEM"]),
    ("ទេព", &["TEP"]),
    ("ប៊ុន", &["BUN", "BUNN"]),
    ("អ៊ុំ", &["UM", "OUM"]),
    ("ហ៊ុន", &["HUN", "HOUN"]),
    ("ផាន់", &["PHAN", "PHANN"]),
];

/// Given names: Khmer, romanisations, usually a woman's name.
const GIVEN: &[(&str, &[&str], bool)] = &[
    ("សុភាព", &["Sopheap", "Sophea", "Sopheab"], true),
    ("ដារ៉ា", &["Dara", "Darah"], false),
    ("ចាន់ធី", &["Chanthy", "Chanthi", "Chanty"], true),
    ("វិចិត្រ", &["Vichet", "Vicheth", "Vichith"], false),
    ("សុខា", &["Sokha", "Sokhar"], false),
    ("ពិសី", &["Pisey", "Pisei", "Pisy"], true),
    ("រតនា", &["Ratana", "Rathana", "Rattana"], true),
    ("សំណាង", &["Samnang", "Somnang"], false),
    ("ស្រីមុំ", &["Sreymom", "Srey Mom", "Sreimom"], true),
    ("បុប្ផា", &["Bopha", "Bophar", "Boppha"], true),
    ("វណ្ណា", &["Vanna", "Vana"], false),
    ("ធីតា", &["Thida", "Tida"], true),
    ("សុផល", &["Sophal", "Sophall", "Sophorl"], false),
    ("ធារី", &["Theary", "Thary", "Teary"], true),
    ("បញ្ញា", &["Panha", "Pagna", "Banha"], false),
    ("សុវណ្ណ", &["Sovann", "Sovan"], false),
    ("ស្រីនាង", &["Sreyneang", "Srey Neang"], true),
    ("ពិសិដ្ឋ", &["Piseth", "Piset", "Pisith"], false),
    ("ចន្ទ្រា", &["Chantrea", "Chantria"], true),
    ("វុទ្ធី", &["Vuthy", "Vuthi"], false),
    ("ម៉ាលី", &["Maly", "Mali", "Malee"], true),
    ("សុខលី", &["Sokly", "Sokhly"], false),
    ("ស្រីពៅ", &["Sreypov", "Srey Pov", "Sreypeou"], true),
    ("រ័ត្ន", &["Roth", "Rath", "Roath"], false),
];

const FACILITIES: &[&str] = &["PP01", "PP02", "SR01", "BB01", "KD01", "KP01"];

/// One chart's view of its patient, and who it really is.
#[derive(Debug, Clone)]
pub struct EvalChart {
    /// Truth: the person (index into the generated people).
    pub person: usize,
    /// Facility the chart comes from.
    pub facility: String,
    /// The patient as written on the chart (canonical values, after review).
    pub facts: PatientFacts,
}

#[derive(Debug, Clone)]
struct Truth {
    family: usize,
    given: usize,
    female: bool,
    birth: (i32, u32, u32),
    home: usize,
    phone: Option<String>,
    numbers: HashMap<usize, String>,
}

fn phone(rng: &mut Rng) -> String {
    let prefix = ["012", "015", "016", "017", "077", "085", "089", "092", "097", "010"];
    let mut p = rng.pick(&prefix).to_string();
    for _ in 0..(6 + rng.below(2)) {
        p.push(char::from(b'0' + rng.below(10) as u8));
    }
    p
}

/// Khmer characters that a tired reviewer may leave out (signs and vowels).
fn drop_a_sign(name: &str, rng: &mut Rng) -> String {
    let chars: Vec<char> = name.chars().collect();
    let signs: Vec<usize> = chars.iter().enumerate().filter(|(_, c)| matches!(**c as u32, 0x17B6..=0x17D1)).map(|(i, _)| i).collect();
    if signs.is_empty() {
        return name.to_string();
    }
    let drop = signs[rng.below(signs.len())];
    chars.iter().enumerate().filter(|(i, _)| *i != drop).map(|(_, c)| c).collect()
}

fn title(w: &str) -> String {
    let lower = w.to_lowercase();
    let mut c = lower.chars();
    c.next().map(|f| f.to_uppercase().collect::<String>() + c.as_str()).unwrap_or_default()
}

/// Generates `people` invented people and their charts (on average about 2.3 each),
/// shuffled into the order a programme might scan them. The same seed gives the same set.
pub fn generate(people: usize, seed: u64) -> Vec<EvalChart> {
    let mut rng = Rng::new(seed);
    let mut truths: Vec<Truth> = Vec::new();
    for _ in 0..people {
        let female = rng.chance(0.6);
        let mut t = if !truths.is_empty() && rng.chance(0.04) {
            // A twin: same family, birthday, home and (often) phone; another given name.
            let sib = truths[rng.below(truths.len())].clone();
            let mut given = rng.below(GIVEN.len());
            while given == sib.given {
                given = rng.below(GIVEN.len());
            }
            Truth {
                given,
                female: GIVEN[given].2,
                numbers: HashMap::new(),
                phone: if rng.chance(0.5) { sib.phone.clone() } else { Some(phone(&mut rng)) },
                ..sib
            }
        } else if !truths.is_empty() && rng.chance(0.2) {
            // A namesake: a common name again, another person.
            let other = &truths[rng.below(truths.len())];
            Truth {
                family: other.family,
                given: other.given,
                female: GIVEN[other.given].2,
                birth: (1940 + rng.below(82) as i32, 1 + rng.below(12) as u32, 1 + rng.below(28) as u32),
                home: rng.below(FACILITIES.len()),
                phone: rng.chance(0.7).then(|| phone(&mut rng)),
                numbers: HashMap::new(),
            }
        } else {
            let candidates: Vec<usize> = (0..GIVEN.len()).filter(|&g| GIVEN[g].2 == female).collect();
            let given = candidates[rng.below(candidates.len())];
            Truth {
                family: rng.below(FAMILY.len()),
                given,
                female,
                birth: (1940 + rng.below(82) as i32, 1 + rng.below(12) as u32, 1 + rng.below(28) as u32),
                home: rng.below(FACILITIES.len()),
                phone: rng.chance(0.7).then(|| phone(&mut rng)),
                numbers: HashMap::new(),
            }
        };
        t.numbers.clear();
        truths.push(t);
    }
    let mut charts = Vec::new();
    for (person, t) in truths.iter_mut().enumerate() {
        let mut visits = 1;
        while visits < 6 && rng.chance(0.55) {
            visits += 1;
        }
        for _ in 0..visits {
            let fac = if rng.chance(0.8) { t.home } else { rng.below(FACILITIES.len()) };
            let number = t.numbers.entry(fac).or_insert_with(|| format!("{:06}", 1 + rng.below(999_999))).clone();
            let (fk, fl) = FAMILY[t.family];
            let (gk, gl, _) = GIVEN[t.given];
            let pick = |rng: &mut Rng, v: &[&str]| if v.len() == 1 || rng.chance(0.6) { v[0].to_string() } else { v[1 + rng.below(v.len() - 1)].to_string() };
            let (family, given) = (pick(&mut rng, fl), pick(&mut rng, gl));
            let (family, given) = match rng.below(20) {
                0..=9 => (family.to_uppercase(), title(&given)),
                10..=14 => (family.to_uppercase(), given.to_uppercase()),
                15..=17 => (title(&family), title(&given)),
                _ => (family.to_lowercase(), given.to_lowercase()),
            };
            let latin = if rng.chance(0.75) { format!("{family} {given}") } else { format!("{given} {family}") };
            let mut khmer = format!("{fk} {gk}");
            if rng.chance(0.05) {
                khmer = drop_a_sign(&khmer, &mut rng);
            }
            let (has_khmer, has_latin) = match rng.below(20) {
                0..=1 => (true, false),
                2..=3 => (false, true),
                _ => (true, true),
            };
            let visit_year = 2015 + rng.below(10) as i32;
            let (y, m, d) = t.birth;
            let (birth_date, birth_estimated) = match rng.below(20) {
                0..=11 => {
                    let mut d = d;
                    if rng.chance(0.03) {
                        d = 1 + (d + 3) % 28; // a slip of the pen
                    }
                    (Some(format!("{y:04}-{m:02}-{d:02}")), false)
                }
                12..=18 => {
                    // Only the age was written: the year is the visit year minus the age,
                    // one off when the birthday had not come yet.
                    let age = (visit_year - y - i32::from(rng.chance(0.5))).max(0);
                    (Some(format!("{:04}", visit_year - age)), true)
                }
                _ => (None, false),
            };
            if rng.chance(0.1) && t.phone.is_some() {
                t.phone = Some(phone(&mut rng)); // a new SIM card
            }
            charts.push(EvalChart {
                person,
                facility: FACILITIES[fac].to_string(),
                facts: PatientFacts {
                    patient_no: rng.chance(0.6).then_some(number),
                    name_khmer: has_khmer.then_some(khmer),
                    name_latin: has_latin.then_some(latin),
                    sex: Some(if t.female { "F" } else { "M" }.to_string()),
                    birth_date,
                    birth_estimated,
                    phone: t.phone.clone().filter(|_| rng.chance(0.5)),
                    ..PatientFacts::default()
                },
            });
        }
    }
    for i in (1..charts.len()).rev() {
        let j = rng.below(i + 1);
        charts.swap(i, j);
    }
    charts
}

/// How matching did on an evaluation set.
#[derive(Debug, Clone, Default)]
pub struct MatchReport {
    /// Charts matched.
    pub charts: usize,
    /// Charts whose person had been seen before (they should link).
    pub returning: usize,
    /// Links made without asking.
    pub auto_links: usize,
    /// ...of which to the right person.
    pub auto_correct: usize,
    /// Charts put to the reviewer as a choice.
    pub asked: usize,
    /// ...where the right person was among the choices.
    pub asked_with_answer: usize,
    /// Returning people made into a new patient (a duplicate record).
    pub duplicates: usize,
    /// Returning people whose stored patient was among the blocking candidates.
    pub blocked_in: usize,
    /// Scores computed.
    pub comparisons: usize,
    /// For each chart with a candidate: the best score, the runner-up's, and whether the best
    /// was the right person (for threshold sweeps).
    pub tops: Vec<(f32, f32, bool)>,
}

impl MatchReport {
    /// Precision and recall of automatic links had the threshold been `t` (the runner-up
    /// still below even odds), over the same decisions.
    pub fn sweep(&self, t: f32) -> (f64, f64) {
        let linked: Vec<bool> = self.tops.iter().filter(|(top, second, _)| *top >= t && *second < 0.5).map(|x| x.2).collect();
        let right = linked.iter().filter(|r| **r).count();
        (ratio(right, linked.len()), ratio(right, self.returning))
    }

    /// Of the links made without asking, the share that were right.
    pub fn precision(&self) -> f64 {
        ratio(self.auto_correct, self.auto_links)
    }

    /// Of the returning people, the share linked right without asking.
    pub fn recall(&self) -> f64 {
        ratio(self.auto_correct, self.returning)
    }

    /// Of the returning people, the share linked right once the reviewer answered.
    pub fn recall_with_review(&self) -> f64 {
        ratio(self.auto_correct + self.asked_with_answer, self.returning)
    }

    /// Share of charts put to the reviewer.
    pub fn ask_rate(&self) -> f64 {
        ratio(self.asked, self.charts)
    }
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 {
        1.0
    } else {
        a as f64 / b as f64
    }
}

/// Runs matching over the charts in order, as approvals would: each chart's patient is
/// scored against the stored patients sharing a blocking key, then linked, asked about or
/// created. The simulated reviewer answers asks with the truth.
pub fn evaluate(charts: &[EvalChart]) -> MatchReport {
    let mut patients: Vec<(Person, usize)> = Vec::new();
    let mut index: HashMap<String, Vec<usize>> = HashMap::new();
    let mut known: HashMap<usize, usize> = HashMap::new(); // person -> patient
    let mut r = MatchReport::default();
    let file = |index: &mut HashMap<String, Vec<usize>>, p: &Person, id: usize| {
        for k in blocking_keys(p, true) {
            let v = index.entry(k).or_default();
            if !v.contains(&id) {
                v.push(id);
            }
        }
    };
    for c in charts {
        r.charts += 1;
        let person = Person::from_facts(&c.facility, &c.facts);
        let mut candidates: Vec<usize> = blocking_keys(&person, false).iter().filter_map(|k| index.get(k)).flatten().copied().collect();
        candidates.sort_unstable();
        candidates.dedup();
        let returning = known.get(&c.person).copied();
        if let Some(p) = returning {
            r.returning += 1;
            if candidates.contains(&p) {
                r.blocked_in += 1;
            }
        }
        r.comparisons += candidates.len();
        let scores: Vec<_> = candidates.iter().map(|&i| score(&person, &patients[i].0)).collect();
        let mut order: Vec<usize> = (0..scores.len()).collect();
        order.sort_by(|a, b| scores[*b].score.total_cmp(&scores[*a].score));
        if let Some(&best) = order.first() {
            let second = order.get(1).map_or(0.0, |&i| scores[i].score);
            r.tops.push((scores[best].score, second, patients[candidates[best]].1 == c.person));
        }
        let chosen = match decide(scores) {
            Decision::Link(i, _) => {
                r.auto_links += 1;
                let p = candidates[i];
                if patients[p].1 == c.person {
                    r.auto_correct += 1;
                }
                Some(p)
            }
            Decision::Ask(list) => {
                r.asked += 1;
                let right = list.iter().map(|(i, _)| candidates[*i]).find(|&p| patients[p].1 == c.person);
                if right.is_some() {
                    r.asked_with_answer += 1;
                }
                right
            }
            Decision::New => None,
        };
        let id = match chosen {
            Some(p) => {
                patients[p].0.absorb(&person);
                p
            }
            None => {
                if returning.is_some() {
                    r.duplicates += 1;
                }
                patients.push((person, c.person));
                patients.len() - 1
            }
        };
        known.entry(c.person).or_insert(id);
        let snapshot = patients[id].0.clone();
        file(&mut index, &snapshot, id);
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_set_is_deterministic_and_varied() {
        let a = generate(300, 7);
        let b = generate(300, 7);
        assert_eq!(a.len(), b.len());
        assert!(a.iter().zip(&b).all(|(x, y)| x.person == y.person && x.facts == y.facts));
        assert!(a.len() > 500, "people come back: {} charts", a.len());
        let latin: Vec<&str> = a.iter().filter_map(|c| c.facts.name_latin.as_deref()).collect();
        assert!(latin.iter().any(|n| n.starts_with(|c: char| c.is_lowercase())));
        assert!(a.iter().any(|c| c.facts.birth_estimated));
        assert!(a.iter().any(|c| c.facts.name_khmer.is_none()));
    }

    #[test]
    fn matching_links_returning_patients_precisely() {
        let r = evaluate(&generate(1500, 2026));
        assert!(r.precision() >= 0.99, "precision {:.4} ({r:?})", r.precision());
        assert!(r.recall() >= 0.50, "recall {:.4}", r.recall());
        assert!(r.recall_with_review() >= 0.93, "recall with review {:.4}", r.recall_with_review());
        assert!(r.ask_rate() <= 0.40, "ask rate {:.4}", r.ask_rate());
        // The sweep agrees with the decisions actually taken at the chosen threshold.
        assert!((r.sweep(chart::matching::AUTO_LINK).0 - r.precision()).abs() < 0.01);
        // Namesakes are why a name and a birth year alone are not enough.
        assert!(r.sweep(0.6).0 < 0.99, "a low threshold should cost precision: {:?}", r.sweep(0.6));
    }
}
