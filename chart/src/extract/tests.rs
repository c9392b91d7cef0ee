//! Extraction on hand-made pages of words: each layout and rule, without Tesseract.

use super::*;
use crate::geometry::BBox;
use crate::template::standard_templates;

/// Lays out lines of words as an engine would report them, on an A4 page at 200 dpi.
pub(crate) fn page(lines: &[&str]) -> PageWords {
    let print = crate::words::Type { margin: 100, char_width: 20, height: 40, pitch: 60, confidence: 0.96 };
    PageWords::typeset_in(print, 1, 1700, 2400, lines)
}

fn value(e: &Extraction, name: &str) -> Option<String> {
    e.fields[name].text().map(str::to_string)
}

#[test]
fn bilingual_card_is_extracted() {
    let p = page(&[
        "ប័ណ្ណពិគ្រោះជំងឺក្រៅ / OUTPATIENT CONSULTATION CARD",
        "លេខសម្គាល់ / Patient ID: 004512",
        "ឈ្មោះ / Name: សុខ ចាន់ធី",
        "អក្សរឡាតាំង / Latin name: SOK Chanthy",
        "ភេទ / Sex: ស្រី អាយុ / Age: ៣៤",
        "ថ្ងៃខែឆ្នាំកំណើត / Date of birth: 12 Mar 1990",
        "កាលបរិច្ឆេទពិនិត្យ / Visit date: ២៥/១១/២០២៤",
        "ទូរស័ព្ទ / Phone: +855 12 345 678",
        "ខេត្ត / Province: សៀមរាប",
        "ICD-10: J06.9",
    ]);
    let e = extract(&standard_templates(), &[p]);
    assert_eq!(e.form.as_deref(), Some("opd"));
    assert_eq!(value(&e, "patient_id").as_deref(), Some("004512"));
    assert_eq!(value(&e, "name_khmer").as_deref(), Some("សុខ ចាន់ធី"));
    assert_eq!(value(&e, "name_latin").as_deref(), Some("SOK Chanthy"));
    assert_eq!(value(&e, "sex").as_deref(), Some("F"));
    assert_eq!(value(&e, "age").as_deref(), Some("34"));
    assert_eq!(value(&e, "date_of_birth").as_deref(), Some("1990-03-12"));
    assert_eq!(value(&e, "visit_date").as_deref(), Some("2024-11-25"));
    assert_eq!(value(&e, "phone").as_deref(), Some("012345678"));
    assert_eq!(value(&e, "province").as_deref(), Some("Siem Reap"));
    assert_eq!(value(&e, "diagnosis_icd10").as_deref(), Some("J06.9"));
    assert!(!e.fields["phone"].needs_review);
    assert!(e.fields["doctor"].needs_review, "missing fields need review");
    let mean = e.fields.values().map(|f| f.confidence).sum::<f32>() / e.fields.len() as f32;
    assert!((e.confidence() - mean).abs() < 1e-6 && e.confidence() > 0.3 && e.confidence() < 0.9, "{}", e.confidence());
    assert_eq!(e.fields["doctor"].value, None);
}

#[test]
fn ocr_noise_in_labels_is_tolerated_and_invalid_values_flagged() {
    let p = page(&["OUTPATIENT CONSULTATION CARD", "Date of birtb: 31/02/1990", "Phone: 12"]);
    let e = extract(&standard_templates(), &[p]);
    let dob = &e.fields["date_of_birth"];
    assert_eq!(dob.value, None);
    assert_eq!(dob.raw, "31/02/1990");
    assert!(dob.needs_review && dob.issue.as_deref().unwrap().contains("does not exist"));
    assert!(e.fields["phone"].needs_review);
}

#[test]
fn misread_label_residue_and_next_column_are_not_part_of_the_value() {
    let mut p = page(&["OUTPATIENT CONSULTATION CARD", "ថ្ងៃខែឆ្នាំកំណើត / ០០8: 16 Mar 2002", "ICD-10: J06.9"]);
    // Sex on the left, a misread Age label far to the right on the same line.
    p.words.push(Word { text: "Sex:".into(), bbox: BBox::new(100, 400, 80, 40), confidence: 0.95, line: 9, block: 0 });
    p.words.push(Word { text: "M".into(), bbox: BBox::new(200, 400, 20, 40), confidence: 0.95, line: 9, block: 0 });
    p.words.push(Word { text: "7“7".into(), bbox: BBox::new(900, 400, 60, 40), confidence: 0.3, line: 9, block: 0 });
    let e = extract(&standard_templates(), &[p]);
    assert_eq!(value(&e, "date_of_birth").as_deref(), Some("2002-03-16"));
    assert_eq!(value(&e, "sex").as_deref(), Some("M"));
}

#[test]
fn value_below_label() {
    let p = page(&["OUTPATIENT CONSULTATION CARD", "Diagnosis:", "Acute upper respiratory infection"]);
    let e = extract(&standard_templates(), &[p]);
    assert_eq!(value(&e, "diagnosis").as_deref(), Some("Acute upper respiratory infection"));
}

/// An A4 page (1700×2400) of these words.
fn a4(words: Vec<Word>) -> PageWords {
    PageWords { rereads: Vec::new(), sparse: Vec::new(), page: 1, width: 1700, height: 2400, words }
}

fn word(t: &str, x: u32, y: u32, line: u32, confidence: f32) -> Word {
    Word { text: t.into(), bbox: BBox::new(x, y, 20 * t.chars().count().max(2) as u32, 40), confidence, line, block: 0 }
}

/// An inpatient sheet: its title on the first line (line 0), then `words`.
fn a4_ipd(words: Vec<Word>) -> PageWords {
    let title = ["INPATIENT", "ADMISSION", "AND", "DISCHARGE", "SHEET"].iter().zip([100, 400, 700, 800, 1100]).map(|(t, x)| word(t, x, 100, 0, 0.95));
    a4(title.chain(words).collect())
}

#[test]
fn ticked_box_wins_even_when_its_option_is_unreadable() {
    // Boxes found in the pixels come as ☒/☐ words; options wrap onto a second line.
    let p = a4_ipd(vec![
        word("Sex:", 100, 300, 1, 0.95),
        word("☐", 300, 300, 1, 1.0),
        word("Male", 340, 300, 1, 0.95),
        word("☒", 500, 300, 1, 1.0),
        word("qo", 540, 300, 1, 0.4),
        word("Outcome:", 100, 400, 2, 0.95),
        word("☐", 400, 400, 2, 1.0),
        word("Recovered", 440, 400, 2, 0.95),
        word("☐", 700, 400, 2, 1.0),
        word("Improved", 740, 400, 2, 0.95),
        word("☐", 400, 456, 3, 1.0),
        word("Referred", 440, 456, 3, 0.95),
        word("☒", 700, 456, 3, 0.98),
        word("Died", 740, 456, 3, 0.95),
    ]);
    let e = extract(&standard_templates(), &[p]);
    assert_eq!(e.form.as_deref(), Some("ipd"));
    assert_eq!(value(&e, "outcome").as_deref(), Some("died"));
    assert!(e.fields["outcome"].confidence > 0.9, "{:?}", e.fields["outcome"]);
    // "qo" is no sex, but the second of the template's options ["M", "F"] is ticked.
    assert_eq!(value(&e, "sex").as_deref(), Some("F"));
    assert!(e.fields["sex"].needs_review, "a value known only by position is reviewed");
}

#[test]
fn grid_columns_table_cells_and_values_that_look_like_labels() {
    let p = a4(vec![
        word("ANTENATAL", 100, 100, 0, 0.95),
        word("CARE", 400, 100, 0, 0.95),
        word("CARD", 550, 100, 0, 0.95),
        // A table row: a misread part of the label cell, then the value cell.
        word("Date", 100, 200, 1, 0.95),
        word("of", 200, 200, 1, 0.95),
        word("birth", 260, 200, 1, 0.95),
        word("០០8", 380, 200, 1, 0.3),
        word("|", 720, 200, 1, 0.6),
        word("12/03/1990", 760, 200, 1, 0.95),
        // "Sangkae" (a district) is one letter from the label "Sangkat".
        word("District:", 100, 300, 2, 0.95),
        word("Sangkae", 300, 300, 2, 0.95),
        // A measurement grid: labels across, values under each.
        word("GA", 100, 400, 3, 0.95),
        word("weeks", 160, 400, 3, 0.95),
        word("BP", 500, 400, 3, 0.95),
        word("Weight", 900, 400, 3, 0.95),
        word("kg", 1040, 400, 3, 0.95),
        word("Hb", 1300, 400, 3, 0.95),
        word("21", 100, 500, 4, 0.95),
        word("110/70", 500, 500, 4, 0.95),
        word("៦២.០", 900, 500, 4, 0.95),
        word("10.8", 1300, 500, 4, 0.95),
        // The Visit date label misread beyond matching, between found neighbours.
        word("Vsxt:", 100, 600, 5, 0.5),
        word("2024-11-25", 300, 600, 5, 0.95),
        word("Phone:", 100, 700, 6, 0.95),
        word("012 345 678", 300, 700, 6, 0.95),
    ]);
    let e = extract(&standard_templates(), &[p]);
    assert_eq!(e.form.as_deref(), Some("anc"));
    assert_eq!(value(&e, "date_of_birth").as_deref(), Some("1990-03-12"));
    assert_eq!(value(&e, "district").as_deref(), Some("Sangkae"));
    assert_eq!(value(&e, "commune"), None);
    assert_eq!(value(&e, "gestational_age_weeks").as_deref(), Some("21"));
    assert_eq!(value(&e, "blood_pressure").as_deref(), Some("110/70"));
    assert_eq!(value(&e, "weight_kg").as_deref(), Some("62.0"));
    assert_eq!(value(&e, "hemoglobin_g_dl").as_deref(), Some("10.8"));
    assert_eq!(value(&e, "visit_date").as_deref(), Some("2024-11-25"));
    assert!(e.fields["visit_date"].needs_review);
}

#[test]
fn a_zone_reads_an_unlabelled_box_and_cross_checks_explain_themselves() {
    let mut t = standard_templates().into_iter().find(|t| t.form == "anc").unwrap();
    t.fields.iter_mut().find(|f| f.name == "patient_id").unwrap().zone = Some([0.5, 0.0, 0.5, 0.1]);
    let p = PageWords {
        rereads: Vec::new(),
        sparse: Vec::new(),
        page: 1,
        width: 1000,
        height: 1000,
        words: vec![
            word("ANC", 100, 20, 0, 0.95),
            word("CARD", 200, 20, 0, 0.95),
            word("A-1234", 700, 40, 0, 0.95),
            word("LMP:", 100, 300, 1, 0.95),
            word("10/01/2024", 300, 300, 1, 0.95),
            word("EDD:", 100, 400, 2, 0.95),
            word("20/10/2024", 300, 400, 2, 0.95),
        ],
    };
    let e = extract_with(&t, &[p]);
    assert_eq!(value(&e, "patient_id").as_deref(), Some("A-1234"));
    assert!(e.fields["patient_id"].issue.as_deref().unwrap().contains("zone"));
    let edd = &e.fields["edd_date"];
    assert!(edd.needs_review && edd.issue.as_deref().unwrap().contains("LMP + 280 days (2024-10-16)"), "{edd:?}");
}

#[test]
fn second_readings_rescue_invalid_values_and_confirm_valid_ones() {
    // The bilingual engine read the Khmer digits ៣៣ as "mm"; a Khmer-only reading of the
    // same place says ៣៣. Another engine agrees with the phone number.
    let mut p = page(&["OUTPATIENT CONSULTATION CARD", "Age: mm", "Phone: 012 345 678"]);
    let zone = |line: u32| BBox::new(0, 100 + 60 * line - 10, 1000, 60);
    let mut alone = p.clone();
    alone.words.iter_mut().for_each(|w| w.confidence = 0.85);
    let zones = doubtful_zones(&standard_templates(), &alone);
    assert!(zones.iter().any(|z| z.y < 180 && z.bottom() > 180), "the age is doubtful: {zones:?}");
    p.words.iter_mut().for_each(|w| w.confidence = 0.85);
    p.rereads.push(crate::words::Reread { bbox: zone(1), text: "៣៣".into(), confidence: 0.9, languages: "khm".into() });
    p.rereads.push(crate::words::Reread { bbox: zone(2), text: "012345678".into(), confidence: 0.9, languages: "eng".into() });
    let e = extract(&standard_templates(), &[p.clone()]);
    let age = &e.fields["age"];
    assert_eq!(age.text(), Some("33"));
    assert!(age.needs_review && age.issue.as_deref().unwrap().contains("khm"), "{age:?}");
    p.rereads.clear();
    let without = extract(&standard_templates(), &[p.clone()]);
    assert!(e.fields["phone"].confidence > without.fields["phone"].confidence);
    assert_eq!(without.fields["age"].value, None);

    // The padded zone took in the ruling after the age: the number is still read from it,
    // for a reviewer. A run of junk is no evidence against a valid phone number.
    p.rereads.push(crate::words::Reread { bbox: zone(1), text: "៥៨ %,823|$".into(), confidence: 0.7, languages: "khm".into() });
    p.rereads.push(crate::words::Reread { bbox: zone(2), text: "|| 8 wow".into(), confidence: 0.7, languages: "khm".into() });
    let e = extract(&standard_templates(), &[p]);
    let age = &e.fields["age"];
    assert_eq!(age.text(), Some("58"));
    assert!(age.needs_review && age.raw.contains('%'), "{age:?}");
    assert_eq!(e.fields["phone"].evidence.second, without.fields["phone"].evidence.second);
}

#[test]
fn unknown_form_gets_generic_fields() {
    let p = page(&["IMMUNISATION RECORD", "Vaccine: BCG", "Lot: 77A"]);
    let e = extract(&standard_templates(), &[p]);
    assert_eq!(e.form, None);
    assert_eq!(e.form_name(), "unknown");
    assert_eq!(value(&e, "vaccine").as_deref(), Some("BCG"));
    assert!(e.fields.values().all(|f| f.needs_review));
}

#[test]
fn a_number_beside_the_next_label_is_a_value_not_part_of_that_label() {
    let p = page(&["OUTPATIENT CONSULTATION CARD", "លេខសម្គាល់អ្នកជំងឺ (Patient ID) PP OPD 2023 004417 កាលបរិច្ឆេទពិនិត្យ (Visit date) 09/03/2023", "ឈ្មោះ (Name) សុខ ចាន់ធី"]);
    let e = extract(&standard_templates(), &[p]);
    assert_eq!(value(&e, "patient_id").as_deref(), Some("PPOPD2023004417"));
    assert!(e.fields["patient_id"].needs_review, "a gap inside an ID may be a lost dash: {:?}", e.fields["patient_id"]);
    assert_eq!(value(&e, "visit_date").as_deref(), Some("2023-03-09"));
}

#[test]
fn words_inside_a_label_and_a_misread_qualifier_after_it_leave_it_one_label() {
    // The template knows `ឈ្មោះឡាតាំង`; the card prints words inside it (`ជាអក្សរ`, "in
    // letters"), and its English half, `(Name (Latin))`, is misread so that only `Name`, a
    // label of the Khmer name, matches.
    for label in ["ឈ្មោះជាអក្សរឡាតាំង (Name (២8ប)):", "ឈ្មោះដជាអក្សរឡាតាំង (Name (Lavn)):"]
    {
        let p = page(&["OUTPATIENT CONSULTATION CARD", "ឈ្មោះ (Name (Khmer)): សុខ ចាន់ធី", &format!("{label} SOK Chanthy"), "ICD-10: J06.9"]);
        let e = extract(&standard_templates(), &[p]);
        assert_eq!(value(&e, "name_khmer").as_deref(), Some("សុខ ចាន់ធី"), "{label}");
        assert_eq!(value(&e, "name_latin").as_deref(), Some("SOK Chanthy"), "{label}");
    }
}

#[test]
fn an_address_is_read_where_it_splits_into_places_not_from_a_speck_beside_its_label() {
    // A bordered cell: the label in its corner, a speck read beside it, the address below.
    let p = page(&["OUTPATIENT CONSULTATION CARD", "អាសយដ្ឋាន / Address: so", "ភូមិត្រពាំងឈូក ឃុំព្រែកក្រឹស ស្រុកកំពង់ត្រាច ខេត្តកំពត", "ICD-10: J06.9"]);
    let e = extract(&standard_templates(), &[p]);
    assert_eq!(value(&e, "village").as_deref(), Some("ត្រពាំងឈូក"));
    assert_eq!(value(&e, "district").as_deref(), Some("កំពង់ត្រាច"));
    assert_eq!(value(&e, "province").as_deref(), Some("Kampot"));
}

#[test]
fn no_is_read_as_number_in_a_label() {
    let p = page(&["ANTENATAL CARE CARD", "Name: សុខ ចាន់ធី", "Visit date: 08/08/2019", "ANC visit no.: 2", "Gravida: 3"]);
    let e = extract(&standard_templates(), &[p]);
    assert_eq!(e.form.as_deref(), Some("anc"));
    assert_eq!(value(&e, "anc_visit_number").as_deref(), Some("2"), "not the visits table's column");
}

#[test]
fn a_misread_option_after_the_ticked_box_still_names_the_outcome() {
    // The label and its row of boxes a few pixels lower, as two lines of the engine.
    let p = a4_ipd(vec![
        word("Outcome:", 100, 400, 1, 0.95),
        word("☐", 300, 406, 2, 1.0),
        word("Recovered", 340, 406, 2, 0.95),
        word("☒", 600, 406, 2, 1.0),
        word("mproved", 640, 406, 2, 0.95),
        word("☐", 900, 406, 2, 1.0),
        word("Referred", 940, 406, 2, 0.95),
    ]);
    let e = extract(&standard_templates(), &[p]);
    let outcome = &e.fields["outcome"];
    assert_eq!(outcome.text(), Some("improved"), "{outcome:?}");
    assert_eq!(outcome.raw, "mproved");
}

#[test]
fn a_value_the_form_implies_fills_an_unread_field_and_questions_a_contrary_reading() {
    let unread = page(&["ANTENATAL CARE CARD", "Name: សុខ ចាន់ធី", "Sex: [fu", "Gravida: 3"]);
    let e = extract(&standard_templates(), &[unread]);
    let sex = &e.fields["sex"];
    assert_eq!(sex.text(), Some("F"));
    assert!(sex.needs_review && sex.issue.as_deref().unwrap_or("").contains("the form implies F"), "{sex:?}");
    let contrary = page(&["ANTENATAL CARE CARD", "Name: សុខ ចាន់ធី", "Sex: Male", "Gravida: 3"]);
    let e = extract(&standard_templates(), &[contrary]);
    let sex = &e.fields["sex"];
    assert_eq!(sex.text(), Some("M"), "the reading is kept");
    assert!(sex.needs_review && sex.issue.as_deref().unwrap_or("").contains("implies F"), "{sex:?}");
}

#[test]
fn a_page_read_twice_keeps_each_fields_better_reading_and_questions_disagreements() {
    // The one-block reading lost the age's label (merged into the value's line) and misread
    // the phone; the sparse reading has the label, and reads the phone otherwise.
    let block = page(&[
        "ប័ណ្ណពិគ្រោះជំងឺក្រៅ / OUTPATIENT CONSULTATION CARD",
        "លេខសម្គាល់ / Patient ID: 004512",
        "ឈ្មោះ / Name: សុខ ចាន់ធី",
        "ox ៣៤",
        "ទូរស័ព្ទ / Phone: 012 345 678",
        "កាលបរិច្ឆេទពិនិត្យ / Visit date: ២៥/១១/២០២៤",
    ]);
    let sparse = page(&[
        "ប័ណ្ណពិគ្រោះជំងឺក្រៅ / OUTPATIENT CONSULTATION CARD",
        "លេខសម្គាល់ / Patient ID: 004512",
        "ឈ្មោះ / Name: សុខ ចាន់ធី",
        "អាយុ / Age: ៣៤",
        "ទូរស័ព្ទ / Phone: 012 345 679",
        "កាលបរិច្ឆេទពិនិត្យ / Visit date: ២៥/១១/២០២៤",
    ]);
    let once = extract(&standard_templates(), std::slice::from_ref(&block));
    assert_eq!(value(&once, "age"), None, "one reading alone misses the age");
    let twice = PageWords { sparse: sparse.words, ..block };
    let e = extract(&standard_templates(), &[twice]);
    assert_eq!(e.form.as_deref(), Some("opd"));
    assert_eq!(value(&e, "age").as_deref(), Some("34"), "found in the sparse reading");
    assert_eq!(value(&e, "patient_id").as_deref(), Some("004512"));
    assert_eq!(e.fields["patient_id"].needs_review, once.fields["patient_id"].needs_review, "agreeing readings change nothing");
    let phone = &e.fields["phone"];
    assert!(phone.needs_review, "two readings of the phone disagree");
    assert!(phone.issue.as_deref().unwrap_or("").contains("two readings disagree"), "{:?}", phone.issue);
}

#[test]
fn a_decimal_point_read_as_a_space_is_put_back_for_a_reviewer() {
    let p = page(&["ប័ណ្ណពិគ្រោះជំងឺក្រៅ / OUTPATIENT CONSULTATION CARD", "លេខសម្គាល់ / Patient ID: 004512", "សីតុណ្ហភាព / Temperature: 36 2", "ទម្ងន់ / Weight: 56 kg"]);
    let e = extract(&standard_templates(), &[p]);
    let t = &e.fields["temperature_c"];
    assert_eq!((t.text(), t.needs_review), (Some("36.2"), true), "{t:?}");
    assert!(t.issue.as_deref().unwrap_or("").contains("decimal point"), "{:?}", t.issue);
    assert_eq!(value(&e, "weight_kg").as_deref(), Some("56"), "a unit after the number is not a digit");
}

#[test]
fn a_code_read_in_part_after_a_diagnosis_is_no_part_of_it() {
    let p = page(&["ប័ណ្ណពិគ្រោះជំងឺក្រៅ / OUTPATIENT CONSULTATION CARD", "លេខសម្គាល់ / Patient ID: 004512", "រោគវិនិច្ឆ័យ / Diagnosis: Gastritis (29 7)"]);
    let e = extract(&standard_templates(), &[p]);
    assert_eq!(value(&e, "diagnosis").as_deref(), Some("Gastritis"));
    assert_eq!(super::without_code_group("Dengue fever (០90)").as_deref(), Some("Dengue fever"));
    assert_eq!(super::without_code_group("Urinary tract infection (N57 9)").as_deref(), Some("Urinary tract infection"));
    assert_eq!(super::without_code_group("Diabetes mellitus (type 2)"), None, "words in parentheses are the diagnosis");
    assert_eq!(super::without_code_group("Fracture (2 sites) of the radius"), None, "not at the end");
    assert_eq!(super::without_code_group("(29 7)"), None, "nothing but the code");
}

#[test]
fn a_name_centred_under_a_long_label_is_read_whole() {
    // `Dr Seng Sovann` is centred under `Attending doctor`: only `Sovann` is under the label.
    let p = a4_ipd(vec![
        word("Attending", 1000, 400, 1, 0.95),
        word("doctor", 1200, 400, 1, 0.95),
        word("Dr", 840, 480, 2, 0.95),
        word("Seng", 900, 480, 2, 0.95),
        word("Sovann", 1000, 480, 2, 0.95),
    ]);
    let e = extract(&standard_templates(), &[p]);
    assert_eq!(value(&e, "doctor").as_deref(), Some("Dr Seng Sovann"));
    // A signature's stroke through the title, twice the text's height, is not part of it.
    let mut stroke = word("Bft.", 880, 470, 2, 0.65);
    stroke.bbox.h = 80;
    let p = a4_ipd(vec![word("Attending", 1000, 400, 1, 0.95), word("doctor", 1200, 400, 1, 0.95), stroke, word("Sovann", 1000, 480, 2, 0.95)]);
    assert_eq!(value(&extract(&standard_templates(), &[p]), "doctor").as_deref(), Some("Sovann"));
    // The name printed below the space left for the signature, five lines under the label.
    let p = a4_ipd(vec![
        word("Attending", 1000, 400, 1, 0.95),
        word("doctor", 1200, 400, 1, 0.95),
        word("Seng", 1000, 640, 2, 0.95),
        word("Sovann", 1100, 640, 2, 0.95),
    ]);
    assert_eq!(value(&extract(&standard_templates(), &[p]), "doctor").as_deref(), Some("Seng Sovann"));
}

#[test]
fn a_speck_beside_a_clear_label_gives_way_to_the_text_below_it() {
    let p = page(&[
        "INPATIENT ADMISSION AND DISCHARGE SHEET",
        "ខ. ការចូលសម្រាកព្យាបាល / B. Admission",
        "ថ្ងៃចូលសម្រាកពេទ្យ / Admission date: 14/08/2019",
        "",
        "",
        "ការព្យាបាល / Treatment given: រ",
        "",
        "Antivenom 10 vials IV",
    ]);
    let e = extract(&standard_templates(), &[p]);
    assert_eq!(e.form.as_deref(), Some("ipd"));
    assert_eq!(value(&e, "treatment").as_deref(), Some("Antivenom 10 vials IV"), "{:?}", e.fields["treatment"]);
}

#[test]
fn stacked_labels_of_two_fields_stay_two_labels() {
    // A column of labels, each Khmer over English, the value right of each pair; the engine
    // misread `អាយុ`, put `Age` on the line of its value and the next field's `ភូមិ` right
    // under it: `Age` and `ភូមិ` are no label of one field.
    let w = |t: &str, x: u32, y: u32, h: u32, line: u32| Word {
        text: t.into(),
        bbox: BBox::new(x, y, 14 * t.chars().count().max(2) as u32, h),
        confidence: 0.95,
        line,
        block: 0,
    };
    let title = ["OUTPATIENT", "CONSULTATION", "CARD"].iter().zip([100, 400, 800]).map(|(t, x)| w(t, x, 100, 30, 0));
    let p = a4(title
        .chain([w("\"អាយ", 147, 607, 30, 1), w("Age", 162, 654, 20, 2), w("47", 306, 630, 26, 2), w("ភូមិ", 158, 686, 42, 3), w("Village", 162, 715, 34, 4)])
        .collect());
    let e = extract(&standard_templates(), &[p]);
    assert_eq!(value(&e, "age").as_deref(), Some("47"));
    assert_ne!(value(&e, "village").as_deref(), Some("47"), "{:?}", e.fields["village"]);
}

#[test]
fn a_table_cell_out_of_range_gets_its_lost_decimal_point_back_for_review() {
    let title = ["ANTENATAL", "CARE", "CARD"].iter().zip([100, 400, 550]).map(|(t, x)| word(t, x, 100, 0, 0.95));
    let header = [("Visit", 100), ("Date", 400), ("GA", 700), ("Weight", 900), ("BP", 1150), ("Hb", 1400)].map(|(t, x)| word(t, x, 300, 1, 0.95));
    let row = |n: &str, date: &str, weight: &str, hb: &str, y: u32, line: u32| {
        [(n, 100), (date, 400), ("20", 700), (weight, 900), ("110/70", 1150), (hb, 1400)].map(|(t, x)| word(t, x, y, line, 0.95))
    };
    let p = a4(title.chain(header).chain(row("1", "01/02/2024", "58.8", "11.2", 400, 2)).chain(row("2", "01/03/2024", "653", "133", 480, 3)).collect());
    let e = extract(&standard_templates(), &[p]);
    let Some(crate::field::FieldValue::Rows(rows)) = &e.fields["visits"].value else { panic!("no visits: {:?}", e.fields["visits"]) };
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert_eq!(rows[1]["weight_kg"].as_deref(), Some("65.3"));
    assert_eq!(rows[1]["hemoglobin_g_dl"].as_deref(), Some("13.3"));
    assert!(e.fields["visits"].issue.as_deref().unwrap().contains("a decimal point was put back (65.3)"), "{:?}", e.fields["visits"].issue);
    assert_eq!(value(&e, "weight_kg").as_deref(), Some("65.3"), "the latest visit's weight");
    assert!(e.fields["weight_kg"].needs_review);

    // The latest visit without a weight: the header's `Weight(kg)` is no label of the weight
    // field, and the first visit's weight under it is not the latest.
    let title = ["ANTENATAL", "CARE", "CARD"].iter().zip([100, 400, 550]).map(|(t, x)| word(t, x, 100, 0, 0.95));
    let header = [("Visit", 100), ("Date", 400), ("GA", 700), ("Weight(kg)", 900), ("BP", 1150), ("Hb", 1400)].map(|(t, x)| word(t, x, 300, 1, 0.95));
    let mut latest = row("2", "01/03/2024", "", "12.0", 480, 3).to_vec();
    latest.retain(|w| !w.text.is_empty());
    let p = a4(title.chain(header).chain(row("1", "01/02/2024", "58.8", "11.2", 400, 2)).chain(latest).collect());
    let e = extract(&standard_templates(), &[p]);
    assert_eq!(value(&e, "hemoglobin_g_dl").as_deref(), Some("12.0"));
    assert_ne!(value(&e, "weight_kg").as_deref(), Some("58.8"), "{:?}", e.fields["weight_kg"]);
}
