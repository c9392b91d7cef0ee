//! A form variant the bundled templates do not read, for teaching a form in the studio: an
//! outpatient card of an imagined facility (`KV01`) with Khmer-only labels in wordings the
//! bundled templates do not have, laid out in two columns, typed values. Its charts are
//! written with their truth like the standard samples; `tests/bench/studio.sh` teaches a
//! template from the first and reads the others with it.

use crate::data::{Extras, Form, Patient, Printed, Rng};
use crate::render::{Canvas, Fonts};
use crate::{degrade, draw_label, draw_value, encode, HEIGHT, WIDTH};
use anyhow::Result;
use std::path::Path;

/// The facility code the variant's charts are written under.
pub const FACILITY: &str = "KV01";

/// The variant's printed title.
pub const TITLE: &str = "កាតតាមដានការព្យាបាលអ្នកជំងឺ";

/// The variant's labels (its own wordings), by field.
pub const LABELS: [(&str, &str); 8] = [
    ("patient_id", "លេខកាតព្យាបាល"),
    ("sex", "យេនឌ័រ"),
    ("name_khmer", "នាមត្រកូលនិងនាមខ្លួន"),
    ("age", "វ័យ"),
    ("visit_date", "ថ្ងៃមកទទួលសេវា"),
    ("phone", "លេខទំនាក់ទំនង"),
    ("diagnosis", "លទ្ធផលពិនិត្យ"),
    ("doctor", "អ្នកផ្តល់សេវា"),
];

/// Rows of the card: two columns, then full-width rows.
const ROWS: [&[&str]; 5] = [&["patient_id", "sex"], &["name_khmer", "age"], &["phone", "visit_date"], &["diagnosis"], &["doctor"]];

fn label(name: &str) -> &'static str {
    LABELS.iter().find(|(n, _)| *n == name).map(|(_, l)| *l).expect("a label for every field of the variant")
}

/// Writes `count` charts of the variant (PNG, one page each) and their truth under `out`.
pub fn write(out: &Path, count: usize, seed: u64, fonts: &Fonts) -> Result<()> {
    let charts = out.join("charts").join(FACILITY);
    let truths = out.join("truth").join(FACILITY);
    std::fs::create_dir_all(&charts)?;
    std::fs::create_dir_all(&truths)?;
    for i in 0..count {
        let mut rng = Rng::new(seed.wrapping_mul(7_000_003).wrapping_add(i as u64));
        let patient = Patient::random(&mut rng, 500 + i, Form::Opd, false, true, Extras::default());
        let mut canvas = Canvas::new(WIDTH, HEIGHT);
        canvas.rect(70, 70, WIDTH as i32 - 140, 4, 1.0);
        canvas.text(&fonts.khmer, &fonts.latin, 110.0, 170.0, 48.0, "មណ្ឌលសុខភាពភូមិថ្មី", 1.0);
        canvas.text(&fonts.khmer, &fonts.latin, 110.0, 270.0, 48.0, TITLE, 1.0);
        canvas.rect(70, 320, WIDTH as i32 - 140, 4, 1.0);
        let mut truth = serde_json::Map::new();
        let mut printed = serde_json::Map::new();
        let mut as_printed = serde_json::Map::new();
        let mut text = format!("មណ្ឌលសុខភាពភូមិថ្មី\n{TITLE}\n");
        let mut y = 460.0;
        for row in ROWS {
            let mut line = Vec::new();
            for (k, name) in row.iter().enumerate() {
                let x = if k == 0 { 110.0 } else { 960.0 };
                let value = match patient.printed(name) {
                    Printed::Typed(t) | Printed::Hand(t) => t,
                    other => other.text(),
                };
                let after = draw_label(&mut canvas, fonts, x, y, 38.0, &format!("{}:", label(name)));
                draw_value(&mut canvas, fonts, after + 28.0, y, &Printed::Typed(value.clone()));
                truth.insert(name.to_string(), patient.truth()[*name].clone());
                printed.insert(name.to_string(), "typed".into());
                as_printed.insert(name.to_string(), value.clone().into());
                line.push(format!("{}: {value}", label(name)));
            }
            text.push_str(&line.join("    "));
            text.push('\n');
            y += 150.0;
        }
        canvas.rect(70, HEIGHT as i32 - 90, WIDTH as i32 - 140, 4, 1.0);
        let (page, skew) = degrade::scan(&canvas, &mut rng, false);
        let stem = format!("kv-{:04}", i + 1);
        let bytes = encode::encode(&[page], "png", &mut rng)?;
        std::fs::write(charts.join(format!("{stem}.png")), bytes)?;
        let t = serde_json::json!({
            "file": format!("{stem}.png"), "facility": FACILITY, "form": "opd", "pages": 1, "skew_degrees": [skew],
            "layout": "two-columns", "labels": "khmer-own-wording", "fields": truth, "printed": printed, "printed_text": as_printed,
            "label_text": LABELS.iter().map(|(n, l)| (n.to_string(), serde_json::Value::from(*l))).collect::<serde_json::Map<_, _>>(),
        });
        std::fs::write(truths.join(format!("{stem}.json")), serde_json::to_string_pretty(&t)? + "\n")?;
        std::fs::write(truths.join(format!("{stem}.page1.txt")), text)?;
    }
    eprintln!("{count} chart(s) of the {FACILITY} two-column Khmer variant written to {}", charts.display());
    Ok(())
}
