//! Export formats of CONTRACT.md: JSON lines (one chart per line), CSV (one row per chart,
//! canonical values) and FHIR R4 (a transaction Bundle of the committed records). OCR text is
//! untrusted: CSV cells that a spreadsheet would run as a formula are prefixed with `'`.

use crate::blobs::BlobStore;
use crate::{ChartRecord, Result, Store};
use chart::fhir::CommittedChart;
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
    // Each field once, in the forms' order (forms share most of their fields).
    let mut names: Vec<String> = Vec::new();
    for n in field_order {
        if !names.contains(n) {
            names.push(n.clone());
        }
    }
    let extra: BTreeSet<&String> = records.iter().flat_map(|r| r.fields.keys()).filter(|n| !field_order.contains(n)).collect();
    names.extend(extra.into_iter().cloned());
    let mut w = csv::Writer::from_writer(out);
    let mut header =
        vec!["chart".to_string(), "facility".into(), "batch".into(), "status".into(), "form".into(), "file".into(), "sha256".into(), "pages".into()];
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
        // A table's rows go into its cell as JSON (CONTRACT.md's row objects).
        row.extend(names.iter().map(|n| safe_cell(&r.fields.get(n).and_then(|f| f.value.as_ref()).map(chart::FieldValue::storage_text).unwrap_or_default())));
        w.write_record(&row)?;
    }
    w.flush()
}

/// SHA-1 of a file, base64, as FHIR's `Attachment.hash` wants it.
pub fn sha1_base64(bytes: &[u8]) -> String {
    use base64::Engine;
    use sha1::Digest;
    base64::engine::general_purpose::STANDARD.encode(sha1::Sha1::digest(bytes))
}

/// The committed charts (of one form, or all) with the SHA-1 of each scanned original filled
/// in (left out, with a warning, when the original is missing).
pub async fn fhir_charts(store: &Store, blobs: &BlobStore, form: Option<&str>) -> Result<Vec<CommittedChart>> {
    let mut charts = store.committed_charts(form).await?;
    fill_hashes(store, blobs, &mut charts).await?;
    Ok(charts)
}

/// Fills in `sha1_base64` of the charts' scans: kept in the ledger once computed from the
/// stored original.
pub async fn fill_hashes(store: &Store, blobs: &BlobStore, charts: &mut [CommittedChart]) -> Result<()> {
    for c in charts.iter_mut() {
        for s in &mut c.scans {
            if let Some(h) = store.file_sha1(&s.sha256).await? {
                s.sha1_base64 = Some(h);
                continue;
            }
            let (b, sha) = (blobs.clone(), s.sha256.clone());
            match tokio::task::spawn_blocking(move || b.get("originals", &sha)).await {
                Ok(Ok(bytes)) => {
                    let h = sha1_base64(&bytes);
                    store.set_file_sha1(&s.sha256, &h).await?;
                    s.sha1_base64 = Some(h);
                }
                _ => tracing::warn!(sha256 = %s.sha256, "original scan missing from the data directory; its DocumentReference has no hash"),
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha1_is_base64_as_fhir_wants() {
        assert_eq!(sha1_base64(b"abc"), "qZk+NkcGgWq6PiVxeFDCbJzQ2J0=");
    }

    #[test]
    fn each_field_is_one_column_and_a_table_is_json_in_its_cell() {
        let field = |value: chart::FieldValue| crate::FieldRecord {
            value: Some(value),
            raw: String::new(),
            confidence: 1.0,
            needs_review: false,
            page: 1,
            bbox: None,
            corrected: false,
            issue: None,
        };
        let rows =
            chart::FieldValue::Rows(vec![[("test".to_string(), Some("Hb".to_string())), ("value".to_string(), Some("=9".to_string()))].into_iter().collect()]);
        let record = ChartRecord {
            chart: "c1".into(),
            facility: "PP01".into(),
            batch: "b".into(),
            status: chart::ChartStatus::Approved,
            form: Some("opd".into()),
            sources: vec![],
            fields: [("phone".to_string(), field("012345678".into())), ("lab_results".to_string(), field(rows))].into_iter().collect(),
            version: 1,
            pages: vec![],
            confidence: None,
            reviewer: None,
            next_chart: None,
        };
        // Two forms' orders, both with `phone`: one column.
        let order: Vec<String> = ["phone", "lab_results", "phone"].map(String::from).to_vec();
        let mut out = Vec::new();
        write_csv(&[record], &order, &mut out).unwrap();
        let mut reader = csv::Reader::from_reader(out.as_slice());
        let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
        assert_eq!(header[8..], ["phone", "lab_results"]);
        let row = reader.records().next().unwrap().unwrap();
        assert_eq!(&row[8], "012345678");
        let cell: serde_json::Value = serde_json::from_str(&row[9]).expect("a table's cell is JSON");
        assert_eq!(cell, serde_json::json!([{"test": "Hb", "value": "=9"}]), "JSON starts with [, so no formula guard is needed");
    }

    #[test]
    fn formulas_are_neutralised() {
        assert_eq!(safe_cell("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(safe_cell("-5"), "'-5");
        assert_eq!(safe_cell("Sok"), "Sok");
    }
}
