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
    /// Only charts of these facilities (the user's).
    pub facilities: crate::Facilities,
}

/// What an export wrote.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    /// Charts written.
    pub charts: usize,
    /// For FHIR, resources by type (empty when nothing is committed yet).
    pub resources: Vec<(String, usize)>,
}

/// Charts read from the store at a time by an export.
const PAGE: i64 = 200;

/// An export in progress, written a page of charts at a time ([`Export::next_chunk`]) so that
/// a large one never sits whole in memory: the one code behind `chartscan export` and
/// `GET /api/export` (which streams the chunks), so that the two never disagree on rows or
/// columns. A FHIR bundle is one JSON document of the committed records and comes as one
/// chunk.
#[derive(Debug)]
pub struct Export {
    store: Store,
    blobs: BlobStore,
    request: Request,
    /// CSV columns (fields), once the header is written.
    columns: Option<Vec<String>>,
    after: i64,
    done: bool,
    summary: Summary,
}

impl Export {
    /// Checks the request and starts the export.
    pub fn start(store: &Store, blobs: &BlobStore, request: &Request) -> Result<Export> {
        let templates = store.templates();
        if let Some(form) = &request.form {
            if form != chart::UNKNOWN_FORM && !templates.iter().any(|t| t.form == *form) {
                let known: Vec<&str> = templates.iter().map(|t| t.form.as_str()).collect();
                return Err(StoreError::Invalid(format!("no template for form {form:?} (forms: {})", known.join(", "))));
            }
        }
        Ok(Export {
            store: store.clone(),
            blobs: blobs.clone(),
            request: request.clone(),
            columns: None,
            after: i64::MIN,
            done: false,
            summary: Summary::default(),
        })
    }

    /// The next bytes of the export; `None` when it is complete.
    pub async fn next_chunk(&mut self) -> Result<Option<Vec<u8>>> {
        if self.done {
            return Ok(None);
        }
        let io = |e: std::io::Error| StoreError::Io { context: "writing the export".into(), source: e };
        let mut out = Vec::new();
        if self.request.format == Format::Fhir {
            let mut charts = fhir_charts(&self.store, &self.blobs, self.request.form.as_deref()).await?;
            charts.retain(|c| self.request.facilities.includes(&c.facility));
            let bundle = chart::fhir::bundle(&charts);
            serde_json::to_writer_pretty(&mut out, &bundle).map_err(|e| io(e.into()))?;
            out.push(b'\n');
            self.summary =
                Summary { charts: charts.len(), resources: chart::fhir::resource_counts(&bundle).into_iter().map(|(t, n)| (t.to_string(), n)).collect() };
            self.done = true;
            return Ok(Some(out));
        }
        let status = self.request.approved_only.then_some(ChartStatus::Approved);
        let form = self.request.form.as_deref();
        if self.request.format == Format::Csv && self.columns.is_none() {
            let order: Vec<String> =
                self.store.templates().iter().filter(|t| form.is_none_or(|f| f == t.form)).flat_map(|t| t.fields.iter().map(|f| f.name.clone())).collect();
            let present = self.store.field_names(status, form, &self.request.facilities).await?;
            let columns = csv_columns(&order, present);
            write_csv_header(&columns, &mut out).map_err(io)?;
            self.columns = Some(columns);
        }
        let page = self.store.charts_page(status, form, &self.request.facilities, self.after, PAGE).await?;
        if let Some((last, _)) = page.last() {
            self.after = *last;
        }
        if (page.len() as i64) < PAGE {
            self.done = true;
        }
        let records: Vec<ChartRecord> = page.into_iter().map(|(_, r)| r).collect();
        self.summary.charts += records.len();
        match &self.columns {
            Some(columns) => write_csv_rows(&records, columns, &mut out).map_err(io)?,
            None => write_jsonl(&records, &mut out).map_err(io)?,
        }
        Ok(Some(out))
    }

    /// Ends the export: audited as `actor`, with the format, the filter and the number of
    /// charts (and whether it was cut short, when `complete` is false).
    pub async fn finish(self, actor: &str, complete: bool) -> Result<Summary> {
        let status = if self.request.approved_only || self.request.format == Format::Fhir { "approved" } else { "any status" };
        let mut scope = self.request.form.as_deref().map(|f| format!(", form {f}")).unwrap_or_default();
        if self.request.facilities != crate::Facilities::All {
            scope.push_str(&format!(", facilities {}", self.request.facilities));
        }
        let cut = if complete { "" } else { " (stopped before the end: the receiver went away)" };
        let detail = format!("{}, {status}{scope}: {} chart(s){cut}", self.request.format.as_str(), self.summary.charts);
        self.store.audit(actor, "export", None, &detail).await?;
        Ok(self.summary)
    }
}

/// Writes a whole export to `out` (the command line's way). Audited as `actor`.
pub async fn export(store: &Store, blobs: &BlobStore, request: &Request, actor: &str, out: &mut (dyn Write + Send)) -> Result<Summary> {
    let io = |e: std::io::Error| StoreError::Io { context: "writing the export".into(), source: e };
    let mut export = Export::start(store, blobs, request)?;
    while let Some(chunk) = export.next_chunk().await? {
        out.write_all(&chunk).map_err(io)?;
    }
    out.flush().map_err(io)?;
    export.finish(actor, true).await
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

/// The CSV's field columns: `field_order` first (each once: forms share most of their
/// fields), then any other field the charts have, sorted.
fn csv_columns(field_order: &[String], present: Vec<String>) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for n in field_order {
        if !names.contains(n) {
            names.push(n.clone());
        }
    }
    let extra: BTreeSet<String> = present.into_iter().filter(|n| !field_order.contains(n)).collect();
    names.extend(extra);
    names
}

fn write_csv_header(columns: &[String], out: &mut dyn Write) -> std::io::Result<()> {
    let mut w = csv::Writer::from_writer(out);
    let mut header =
        vec!["chart".to_string(), "facility".into(), "batch".into(), "status".into(), "form".into(), "file".into(), "sha256".into(), "pages".into()];
    header.extend(columns.iter().cloned());
    w.write_record(&header)?;
    w.flush()
}

/// Writes one CSV row per chart: ids, then the `columns` (fields), canonical values.
fn write_csv_rows(records: &[ChartRecord], columns: &[String], out: &mut dyn Write) -> std::io::Result<()> {
    let mut w = csv::Writer::from_writer(out);
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
        row.extend(columns.iter().map(|n| safe_cell(&r.fields.get(n).and_then(|f| f.value.as_ref()).map(chart::FieldValue::storage_text).unwrap_or_default())));
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
        let columns = csv_columns(&order, vec!["lab_results".into(), "phone".into()]);
        write_csv_header(&columns, &mut out).unwrap();
        write_csv_rows(&[record], &columns, &mut out).unwrap();
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
