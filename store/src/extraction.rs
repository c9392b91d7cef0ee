//! Extracting a chart and writing its fields: the one place where the store runs the domain's
//! extraction. A chart is extracted when the last of its pages is finished (in the
//! transaction that finishes it), and again when a reviewer merges charts or flags a page;
//! the templates are the store's own ([`Store::templates`]).

use crate::{audit, now_ms, Backend, Result, Store};
use chart::{ChartStatus, ExtractedField, FieldValue, PageStatus, PageWords};
use sqlx::Row;
use std::collections::BTreeMap;

/// When every page of the page's chart is done or failed and the chart was not extracted
/// yet, extracts its fields from the stored words and moves it to `extracted`.
///
/// Two workers finishing a chart's last two pages at once must not both see the other's
/// page as unfinished: on PostgreSQL the chart row is locked before the pages are counted, so
/// the second transaction counts after the first has committed (SQLite's `BEGIN IMMEDIATE`
/// already serialises writers).
pub(crate) async fn extract_if_complete(tx: &mut sqlx::Transaction<'static, sqlx::Any>, store: &Store, page_id: i64) -> Result<()> {
    let chart_id: i64 = sqlx::query("SELECT chart_id FROM pages WHERE id = $1").bind(page_id).fetch_one(&mut **tx).await?.try_get(0)?;
    if store.backend == Backend::Postgres {
        sqlx::query("SELECT id FROM charts WHERE id = $1 FOR UPDATE").bind(chart_id).fetch_one(&mut **tx).await?;
    }
    let rows = sqlx::query("SELECT status, words_json FROM pages WHERE chart_id = $1 ORDER BY page_no").bind(chart_id).fetch_all(&mut **tx).await?;
    let mut pages = Vec::new();
    for r in &rows {
        let status: String = r.try_get(0)?;
        if status == PageStatus::Queued.as_str() || status == PageStatus::Processing.as_str() {
            return Ok(());
        }
        if let Some(json) = r.try_get::<Option<String>, _>(1)? {
            if let Ok(words) = serde_json::from_str::<PageWords>(&json) {
                pages.push(words);
            }
        }
    }
    let (public_id, status, facility): (String, String, String) =
        sqlx::query_as("SELECT public_id, status, facility FROM charts WHERE id = $1").bind(chart_id).fetch_one(&mut **tx).await?;
    if status != ChartStatus::Ingested.as_str() {
        return Ok(());
    }
    let extraction = chart::extract_for(&store.templates(), Some(&facility), &pages);
    // The stored template version it was extracted with (none for a bundled template).
    let template_id = extraction.form.as_deref().and_then(|f| store.template_set.read().expect("not poisoned").in_use_id(f, extraction.variant.as_deref()));
    replace_fields(tx, chart_id, &extraction.fields).await?;
    let failed = rows.len() - pages.len();
    sqlx::query("UPDATE charts SET status = $1, form = $2, confidence = $3, updated_at = $4, template_id = CAST($5 AS BIGINT) WHERE id = $6")
        .bind(ChartStatus::Extracted.as_str())
        .bind(extraction.form_name())
        .bind(extraction.confidence() as f64)
        .bind(now_ms())
        // A NULL integer is bound as text and cast (the Any driver's NULLs: see lib.rs).
        .bind(template_id.map(|i| i.to_string()))
        .bind(chart_id)
        .execute(&mut **tx)
        .await?;
    let found = extraction.fields.values().filter(|f| f.value.is_some()).count();
    let auto = extraction.fields.values().filter(|f| !f.needs_review).count();
    let detail = format!("form {}, {found}/{} fields found, {auto} auto-accepted, {failed} page(s) failed", extraction.form_name(), extraction.fields.len());
    audit(tx, "pipeline", "extract", Some(&public_id), &detail).await
}

/// Replaces a chart's fields with freshly extracted ones.
pub(crate) async fn replace_fields(tx: &mut sqlx::Transaction<'static, sqlx::Any>, chart_id: i64, fields: &BTreeMap<String, ExtractedField>) -> Result<()> {
    sqlx::query("DELETE FROM fields WHERE chart_id = $1").bind(chart_id).execute(&mut **tx).await?;
    for (name, f) in fields {
        sqlx::query(
            "INSERT INTO fields (chart_id, name, value, raw, confidence, needs_review, page, bbox, issue, corrected, value_rows) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 0, $10)",
        )
        .bind(chart_id)
        .bind(name)
        .bind(f.value.as_ref().map(FieldValue::storage_text))
        .bind(&f.raw)
        .bind(f.confidence as f64)
        .bind(i64::from(f.needs_review))
        .bind(f.page as i64)
        .bind(f.bbox.map(|b| serde_json::to_string(&b).expect("bbox serialises")))
        .bind(&f.issue)
        .bind(i64::from(matches!(f.value, Some(FieldValue::Rows(_)))))
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// A stored value: its text column and whether it holds a table's rows.
pub(crate) fn stored_value(text: Option<String>, rows: i64) -> Option<FieldValue> {
    text.map(|t| FieldValue::from_storage(t, rows != 0))
}

impl Store {
    /// Extracts a chart again from its pages (when they are all finished).
    pub(crate) async fn reextract(&self, tx: &mut sqlx::Transaction<'static, sqlx::Any>, chart_id: i64) -> Result<()> {
        sqlx::query("UPDATE charts SET status = $1 WHERE id = $2").bind(ChartStatus::Ingested.as_str()).bind(chart_id).execute(&mut **tx).await?;
        let any_page: i64 =
            sqlx::query("SELECT id FROM pages WHERE chart_id = $1 ORDER BY page_no LIMIT 1").bind(chart_id).fetch_one(&mut **tx).await?.try_get(0)?;
        extract_if_complete(tx, self, any_page).await
    }
}
