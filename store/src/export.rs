//! Export formats of docs/CONTRACT.md: JSON lines (one chart per line), CSV (one row per chart,
//! canonical values) and FHIR R4 (a transaction Bundle of the committed records). OCR text is
//! untrusted: CSV cells that a spreadsheet would run as a formula are prefixed with `'`.

use crate::blobs::BlobStore;
use crate::{ChartRecord, Result, Store, StoreError};
use chart::fhir::CommittedChart;
use chart::ChartStatus;
use std::collections::BTreeSet;
use std::io::Write;

/// An export format of docs/CONTRACT.md.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// One JSON object per chart, one per line.
    Jsonl,
    /// One row per chart: ids, then one column per field (canonical values).
    Csv,
    /// A FHIR R4 transaction Bundle of the committed records (approved charts only).
    Fhir,
}

impl Format {
    /// The media type to send it with.
    pub fn media_type(self) -> &'static str {
        match self {
            Format::Jsonl => "application/x-ndjson",
            Format::Csv => "text/csv; charset=utf-8",
            Format::Fhir => "application/fhir+json",
        }
    }

    /// The file name extension (`chartscan-export.EXT`).
    pub fn extension(self) -> &'static str {
        match self {
            Format::Jsonl => "jsonl",
            Format::Csv => "csv",
            Format::Fhir => "fhir.json",
        }
    }

    /// The name used on the command line, in the API and in the audit log.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Jsonl => "jsonl",
            Format::Csv => "csv",
            Format::Fhir => "fhir",
        }
    }
}

impl std::str::FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "jsonl" => Ok(Format::Jsonl),
            "csv" => Ok(Format::Csv),
            "fhir" => Ok(Format::Fhir),
            other => Err(format!("format {other:?}: use jsonl, csv or fhir")),
        }
    }
}

/// What to export.
#[derive(Debug, Clone)]
pub struct Request {
    /// The format.
    pub format: Format,
    /// Only approved charts (`true`, the default of both the CLI and the API) or any.
    /// FHIR always holds the committed records, which exist for approved charts only.
    pub approved_only: bool,
    /// Only charts of this form; for CSV, that form's fields are the columns.
    pub form: Option<String>,
}

/// What an export wrote.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    /// Charts written.
    pub charts: usize,
    /// For FHIR, resources by type (empty when nothing is committed yet).
    pub resources: Vec<(String, usize)>,
}

/// Writes an export: the one function behind `chartscan export` and `GET /api/export`, so
/// that the two can never disagree on rows or columns. Audited as `actor`.
pub async fn export(store: &Store, blobs: &BlobStore, request: &Request, actor: &str, out: &mut (dyn Write + Send)) -> Result<Summary> {
    let templates = store.templates();
    if let Some(form) = &request.form {
        if form != chart::UNKNOWN_FORM && !templates.iter().any(|t| t.form == *form) {
            let known: Vec<&str> = templates.iter().map(|t| t.form.as_str()).collect();
            return Err(StoreError::Invalid(format!("no template for form {form:?} (forms: {})", known.join(", "))));
        }
    }
    let io = |e: std::io::Error| StoreError::Io { context: "writing the export".into(), source: e };
    let summary = match request.format {
        Format::Fhir => {
            let charts = fhir_charts(store, blobs, request.form.as_deref()).await?;
            let bundle = chart::fhir::bundle(&charts);
            serde_json::to_writer_pretty(&mut *out, &bundle).map_err(|e| io(e.into()))?;
            out.write_all(b"\n").map_err(io)?;
            let resources = chart::fhir::resource_counts(&bundle).into_iter().map(|(t, n)| (t.to_string(), n)).collect();
            Summary { charts: charts.len(), resources }
        }
        Format::Jsonl | Format::Csv => {
            let mut records = store.charts(request.approved_only.then_some(ChartStatus::Approved)).await?;
            if let Some(form) = &request.form {
                records.retain(|r| r.form.as_deref() == Some(form.as_str()));
            }
            if request.format == Format::Jsonl {
                write_jsonl(&records, out).map_err(io)?;
            } else {
                let order: Vec<String> = templates
                    .iter()
                    .filter(|t| request.form.as_ref().is_none_or(|f| *f == t.form))
                    .flat_map(|t| t.fields.iter().map(|f| f.name.clone()))
                    .collect();
                write_csv(&records, &order, out).map_err(io)?;
            }
            Summary { charts: records.len(), resources: Vec::new() }
        }
    };
    out.flush().map_err(io)?;
    let scope = request.form.as_deref().map(|f| format!(", form {f}")).unwrap_or_default();
    store.audit(actor, "export", None, &format!("{}, {} chart(s){scope}", request.format.as_str(), summary.charts)).await?;
    Ok(summary)
}

/// Writes one JSON object per chart, one per line.
fn write_jsonl(records: &[ChartRecord], out: &mut dyn Write) -> std::io::Result<()> {
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
fn write_csv(records: &[ChartRecord], field_order: &[String], out: &mut dyn Write) -> std::io::Result<()> {
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
        // A table's rows go into its cell as JSON (docs/CONTRACT.md's row objects).
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
            match tokio::task::spawn_blocking(move || b.get(crate::blobs::BlobKind::Original, &sha)).await {
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
