//! Export formats of CONTRACT.md: JSON lines (one chart per line) and CSV (one row per
//! chart, canonical values). OCR text is untrusted: CSV cells that a spreadsheet would run
//! as a formula are prefixed with `'`.

use crate::ChartRecord;
use std::collections::BTreeSet;
use std::io::Write;

/// Writes one JSON object per chart, one per line.
pub fn write_jsonl(records: &[ChartRecord], out: &mut dyn Write) -> std::io::Result<()> {
    for r in records {
        serde_json::to_writer(&mut *out, r)?;
        out.write_all(b"\n")?;
    }
    Ok(())
}

/// Neutralises cells a spreadsheet would evaluate (`=`, `+`, `-`, `@`, tab, CR first).
pub fn safe_cell(s: &str) -> String {
    if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_string()
    }
}

/// Writes a CSV with one row per chart: ids, then one column per field (in `field_order`
/// first, then any other field names, sorted), canonical values.
pub fn write_csv(records: &[ChartRecord], field_order: &[String], out: &mut dyn Write) -> std::io::Result<()> {
    let mut names: Vec<String> = field_order.to_vec();
    let extra: BTreeSet<&String> = records.iter().flat_map(|r| r.fields.keys()).filter(|n| !field_order.contains(n)).collect();
    names.extend(extra.into_iter().cloned());
    let mut w = csv::Writer::from_writer(out);
    let mut header = vec!["chart".to_string(), "facility".into(), "batch".into(), "status".into(), "form".into(), "file".into(), "sha256".into(), "pages".into()];
    header.extend(names.iter().cloned());
    w.write_record(&header)?;
    for r in records {
        let first = r.sources.first();
        let mut row = vec![
            r.chart.clone(),
            safe_cell(&r.facility),
            safe_cell(&r.batch),
            r.status.to_string(),
            r.form.clone().unwrap_or_default(),
            safe_cell(first.map(|s| s.file.as_str()).unwrap_or("")),
            first.map(|s| s.sha256.clone()).unwrap_or_default(),
            r.sources.len().to_string(),
        ];
        row.extend(names.iter().map(|n| safe_cell(r.fields.get(n).and_then(|f| f.value.as_deref()).unwrap_or(""))));
        w.write_record(&row)?;
    }
    w.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_neutralised() {
        assert_eq!(safe_cell("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(safe_cell("-5"), "'-5");
        assert_eq!(safe_cell("Sok"), "Sok");
    }
}
