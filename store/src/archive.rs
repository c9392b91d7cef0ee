//! The programme's archive: the facility registry, the inventory of boxes on the shelves,
//! and each box and facility reconciled against what was scanned and reviewed. The counts
//! come from the running totals the database's triggers keep (migration 0019), so they cost
//! the same with ten charts or ten million.

use crate::{facility_clause, now_ms, Facilities, Result, Store};
use chart::archive::{ArchiveBox, BoxCounts, Facility};
use serde::{Deserialize, Serialize};
use sqlx::Row;
use std::collections::BTreeMap;

/// One box as the reconciliation shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BoxRow {
    /// The facility's code.
    pub facility: String,
    /// The box's label (`""`: files ingested without `--box`).
    pub label: String,
    /// Years on the box, from the inventory.
    pub years: Option<String>,
    /// Shelf, from the inventory.
    pub shelf: Option<String>,
    /// Its counts.
    #[serde(flatten)]
    pub counts: BoxCounts,
}

/// One row of the daily totals: a facility's charts (or fields) at one stage on one day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayStage {
    /// Unix days (UTC).
    pub day: i64,
    /// The facility's code.
    pub facility: String,
    /// `scanned`, `extracted`, `approved`, `rejected`, `open` (charts created that day still
    /// awaiting a decision), `fields` or `fields_auto`.
    pub stage: String,
    /// How many.
    pub n: i64,
}

/// One scanning operator's batches.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct OperatorRow {
    /// The name given to `ingest --operator` (`""`: none given).
    pub operator: String,
    /// Batches.
    pub batches: i64,
    /// Files scanned.
    pub files: i64,
    /// Charts made from them.
    pub charts: i64,
    /// Of them rejected by reviewers (to be rescanned or fetched).
    pub rejected: i64,
    /// Seconds from the first to the last file of each batch, summed.
    pub scanning_seconds: i64,
}

/// How many rows an import added and changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Imported {
    /// Rows not there before.
    pub added: u64,
    /// Rows there already, now updated.
    pub updated: u64,
}

fn status_into(c: &mut BoxCounts, status: &str, n: i64) {
    c.scanned += n;
    match status {
        "approved" => c.approved += n,
        "rejected" => c.rejected += n,
        _ => c.in_review += n,
    }
}

impl Store {
    /// Adds facilities to the registry or updates them (by code), in one transaction.
    pub async fn upsert_facilities(&self, facilities: &[Facility]) -> Result<Imported> {
        let mut tx = self.begin_write().await?;
        let mut out = Imported::default();
        for f in facilities {
            let known: Option<i64> = sqlx::query_scalar("SELECT 1 FROM facilities WHERE code = $1").bind(&f.code).fetch_optional(&mut *tx).await?;
            sqlx::query(
                "INSERT INTO facilities (code, name, name_km, province, target_charts, start_date, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7) \
                 ON CONFLICT (code) DO UPDATE SET name = excluded.name, name_km = excluded.name_km, province = excluded.province, \
                 target_charts = excluded.target_charts, start_date = excluded.start_date, updated_at = excluded.updated_at",
            )
            .bind(&f.code)
            .bind(&f.name)
            .bind(&f.name_km)
            .bind(&f.province)
            .bind(f.target_charts)
            .bind(&f.start_date)
            .bind(now_ms())
            .execute(&mut *tx)
            .await?;
            if known.is_some() {
                out.updated += 1;
            } else {
                out.added += 1;
            }
        }
        tx.commit().await?;
        Ok(out)
    }

    /// The registry, by code.
    pub async fn facility_registry(&self) -> Result<Vec<Facility>> {
        let rows = sqlx::query("SELECT code, name, name_km, province, target_charts, start_date FROM facilities ORDER BY code").fetch_all(&self.pool).await?;
        rows.iter()
            .map(|r| {
                Ok(Facility {
                    code: r.try_get(0)?,
                    name: r.try_get(1)?,
                    name_km: r.try_get(2)?,
                    province: r.try_get(3)?,
                    target_charts: r.try_get(4)?,
                    start_date: r.try_get(5)?,
                })
            })
            .collect()
    }

    /// Adds boxes to the inventory or updates them (by facility and label), in one
    /// transaction.
    pub async fn import_boxes(&self, boxes: &[ArchiveBox]) -> Result<Imported> {
        let mut tx = self.begin_write().await?;
        let mut out = Imported::default();
        for b in boxes {
            let known: Option<i64> =
                sqlx::query_scalar("SELECT 1 FROM boxes WHERE facility = $1 AND label = $2").bind(&b.facility).bind(&b.label).fetch_optional(&mut *tx).await?;
            sqlx::query(
                "INSERT INTO boxes (facility, label, expected_charts, years, shelf, imported_at) VALUES ($1, $2, $3, $4, $5, $6) \
                 ON CONFLICT (facility, label) DO UPDATE SET expected_charts = excluded.expected_charts, years = excluded.years, \
                 shelf = excluded.shelf, imported_at = excluded.imported_at",
            )
            .bind(&b.facility)
            .bind(&b.label)
            .bind(b.expected_charts)
            .bind(&b.years)
            .bind(&b.shelf)
            .bind(now_ms())
            .execute(&mut *tx)
            .await?;
            if known.is_some() {
                out.updated += 1;
            } else {
                out.added += 1;
            }
        }
        tx.commit().await?;
        Ok(out)
    }

    /// Whether the inventory lists this box: `None` when the facility has no inventory at all
    /// (nothing to check against).
    pub async fn box_known(&self, facility: &str, label: &str) -> Result<Option<bool>> {
        let any: Option<i64> = sqlx::query_scalar("SELECT 1 FROM boxes WHERE facility = $1 LIMIT 1").bind(facility).fetch_optional(&self.pool).await?;
        if any.is_none() {
            return Ok(None);
        }
        let known: Option<i64> =
            sqlx::query_scalar("SELECT 1 FROM boxes WHERE facility = $1 AND label = $2").bind(facility).bind(label).fetch_optional(&self.pool).await?;
        Ok(Some(known.is_some()))
    }

    /// Every box of the inventory, and every box label charts were scanned under, with its
    /// counts: of the facilities a user may see, optionally of one. By facility and label.
    pub async fn box_rows(&self, facilities: &Facilities, only: Option<&str>) -> Result<Vec<BoxRow>> {
        let scope = facilities.stored();
        let mut out: BTreeMap<(String, String), BoxRow> = BTreeMap::new();
        let inventory =
            format!("SELECT facility, label, expected_charts, years, shelf FROM boxes WHERE {} AND ($2 = '' OR facility = $2)", facility_clause("facility", 1));
        for r in sqlx::query(&inventory).bind(&scope).bind(only.unwrap_or("")).fetch_all(&self.pool).await? {
            let (facility, label): (String, String) = (r.try_get(0)?, r.try_get(1)?);
            let row = BoxRow {
                facility: facility.clone(),
                label: label.clone(),
                years: r.try_get(3)?,
                shelf: r.try_get(4)?,
                counts: BoxCounts { expected: Some(r.try_get(2)?), ..BoxCounts::default() },
            };
            out.insert((facility, label), row);
        }
        let tally = format!(
            "SELECT facility, box_label, status, CAST(SUM(n) AS BIGINT) FROM chart_tally WHERE {} AND ($2 = '' OR facility = $2) GROUP BY facility, box_label, status",
            facility_clause("facility", 1)
        );
        for r in sqlx::query(&tally).bind(&scope).bind(only.unwrap_or("")).fetch_all(&self.pool).await? {
            let (facility, label, status, n): (String, String, String, i64) = (r.try_get(0)?, r.try_get(1)?, r.try_get(2)?, r.try_get(3)?);
            if n == 0 {
                continue;
            }
            let row = out.entry((facility.clone(), label.clone())).or_insert_with(|| BoxRow {
                facility,
                label,
                years: None,
                shelf: None,
                counts: BoxCounts::default(),
            });
            status_into(&mut row.counts, &status, n);
        }
        Ok(out.into_values().collect())
    }

    /// The daily totals of the facilities a user may see (every non-zero row): of these
    /// stages only (all when empty), of the days `from..=to` only (all when `None`).
    pub async fn day_stages(&self, facilities: &Facilities, stages: &[&str], days: Option<(i64, i64)>) -> Result<Vec<DayStage>> {
        let (from, to) = days.unwrap_or((i64::MIN, i64::MAX));
        let sql = format!(
            "SELECT day, facility, stage, n FROM day_tally WHERE n <> 0 AND {} AND day >= $2 AND day <= $3 AND ($4 = '' OR $4 LIKE '%,' || stage || ',%') ORDER BY day",
            facility_clause("facility", 1)
        );
        let wanted = if stages.is_empty() { String::new() } else { format!(",{},", stages.join(",")) };
        let rows = sqlx::query(&sql).bind(facilities.stored()).bind(from).bind(to).bind(wanted).fetch_all(&self.pool).await?;
        rows.iter().map(|r| Ok(DayStage { day: r.try_get(0)?, facility: r.try_get(1)?, stage: r.try_get(2)?, n: r.try_get(3)? })).collect()
    }

    /// A stage's totals by day over all the facilities a user may see (the backlog by age:
    /// `open`).
    pub async fn stage_by_day(&self, facilities: &Facilities, stage: &str) -> Result<Vec<(i64, i64)>> {
        let sql = format!(
            "SELECT day, CAST(SUM(n) AS BIGINT) FROM day_tally WHERE stage = $2 AND {} GROUP BY day HAVING SUM(n) <> 0 ORDER BY day",
            facility_clause("facility", 1)
        );
        let rows = sqlx::query(&sql).bind(facilities.stored()).bind(stage).fetch_all(&self.pool).await?;
        rows.iter().map(|r| Ok((r.try_get(0)?, r.try_get(1)?))).collect()
    }

    /// Each stage's total over all days and the facilities a user may see.
    pub async fn stage_totals(&self, facilities: &Facilities) -> Result<BTreeMap<String, i64>> {
        let sql = format!("SELECT stage, CAST(SUM(n) AS BIGINT) FROM day_tally WHERE {} GROUP BY stage", facility_clause("facility", 1));
        let rows = sqlx::query(&sql).bind(facilities.stored()).fetch_all(&self.pool).await?;
        rows.iter().map(|r| Ok((r.try_get(0)?, r.try_get(1)?))).collect()
    }

    /// Corrections by day and reviewer (summed over fields and facilities).
    pub async fn corrections_by_day(&self, facilities: &Facilities) -> Result<Vec<(i64, String, i64)>> {
        let sql = format!(
            "SELECT day, actor, CAST(SUM(n) AS BIGINT) FROM correction_tally WHERE {} GROUP BY day, actor ORDER BY day",
            facility_clause("facility", 1)
        );
        let rows = sqlx::query(&sql).bind(facilities.stored()).fetch_all(&self.pool).await?;
        rows.iter().map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?))).collect()
    }

    /// Each scanning operator's batches, files, charts and rejections (summed in the database:
    /// a programme has a batch per operator and day).
    pub async fn operators(&self, facilities: &Facilities) -> Result<Vec<OperatorRow>> {
        let scope = facilities.stored();
        let mut out: BTreeMap<String, OperatorRow> = BTreeMap::new();
        let sql = format!(
            "SELECT COALESCE(operator, ''), COUNT(*), CAST(SUM(files) AS BIGINT), CAST(SUM(last_at - started_at) AS BIGINT) FROM batch_tally WHERE {} GROUP BY COALESCE(operator, '')",
            facility_clause("facility", 1)
        );
        for r in sqlx::query(&sql).bind(&scope).fetch_all(&self.pool).await? {
            let operator: String = r.try_get(0)?;
            let ms: i64 = r.try_get(3)?;
            out.insert(
                operator.clone(),
                OperatorRow { operator, batches: r.try_get(1)?, files: r.try_get(2)?, scanning_seconds: ms / 1000, ..OperatorRow::default() },
            );
        }
        let sql = format!(
            "SELECT COALESCE(b.operator, ''), t.status, CAST(SUM(t.n) AS BIGINT) FROM chart_tally t JOIN batch_tally b ON b.facility = t.facility AND b.batch = t.batch \
             WHERE {} GROUP BY COALESCE(b.operator, ''), t.status",
            facility_clause("t.facility", 1)
        );
        for r in sqlx::query(&sql).bind(&scope).fetch_all(&self.pool).await? {
            let (operator, status, n): (String, String, i64) = (r.try_get(0)?, r.try_get(1)?, r.try_get(2)?);
            if let Some(o) = out.get_mut(&operator) {
                o.charts += n;
                if status == "rejected" {
                    o.rejected += n;
                }
            }
        }
        Ok(out.into_values().collect())
    }

    /// Why charts were rejected since `since_ms`, most frequent first.
    pub async fn rejection_reasons(&self, facilities: &Facilities, since_ms: i64) -> Result<Vec<(String, i64)>> {
        let sql = format!(
            "SELECT COALESCE(reject_reason, ''), COUNT(*) FROM charts WHERE status = 'rejected' AND reviewed_at >= $2 AND {} \
             GROUP BY COALESCE(reject_reason, '') ORDER BY COUNT(*) DESC LIMIT 20",
            facility_clause("facility", 1)
        );
        let rows = sqlx::query(&sql).bind(facilities.stored()).bind(since_ms).fetch_all(&self.pool).await?;
        rows.iter().map(|r| Ok((r.try_get(0)?, r.try_get(1)?))).collect()
    }

    /// Recounts what the running totals hold from the tables themselves and returns every
    /// difference (empty when they agree). Reads every chart: for tests and `doctor`, not
    /// for pages.
    pub async fn check_tallies(&self) -> Result<Vec<String>> {
        let pairs = [
            (
                "charts by facility, batch, box, reviewer and status",
                "SELECT c.facility || '|' || c.batch || '|' || COALESCE(f.box_label, '') || '|' || COALESCE(c.reviewer, '') || '|' || c.status, COUNT(*) \
                 FROM charts c JOIN files f ON f.id = c.file_id GROUP BY 1",
                "SELECT facility || '|' || batch || '|' || box_label || '|' || reviewer || '|' || status, CAST(SUM(n) AS BIGINT) FROM chart_tally GROUP BY 1",
            ),
            (
                "charts scanned per day",
                "SELECT CAST(created_at / 86400000 AS TEXT) || '|' || facility, COUNT(*) FROM charts GROUP BY 1",
                "SELECT CAST(day AS TEXT) || '|' || facility, CAST(SUM(n) AS BIGINT) FROM day_tally WHERE stage = 'scanned' GROUP BY 1",
            ),
            (
                "charts awaiting a decision per day created",
                "SELECT CAST(created_at / 86400000 AS TEXT) || '|' || facility, COUNT(*) FROM charts WHERE status NOT IN ('approved', 'rejected') GROUP BY 1",
                "SELECT CAST(day AS TEXT) || '|' || facility, CAST(SUM(n) AS BIGINT) FROM day_tally WHERE stage = 'open' GROUP BY 1",
            ),
            (
                "charts approved and rejected, net over the days",
                "SELECT facility || '|' || status, COUNT(*) FROM charts WHERE status IN ('approved', 'rejected') GROUP BY 1",
                "SELECT facility || '|' || stage, CAST(SUM(n) AS BIGINT) FROM day_tally WHERE stage IN ('approved', 'rejected') GROUP BY 1",
            ),
            (
                "files per batch",
                "SELECT facility || '|' || batch, COUNT(*) FROM files GROUP BY 1",
                "SELECT facility || '|' || batch, CAST(SUM(files) AS BIGINT) FROM batch_tally GROUP BY 1",
            ),
            (
                "pages by facility and status",
                "SELECT c.facility || '|' || p.status, COUNT(*) FROM pages p JOIN charts c ON c.id = p.chart_id GROUP BY 1",
                "SELECT facility || '|' || status, CAST(SUM(n) AS BIGINT) FROM page_tally GROUP BY 1",
            ),
            (
                "corrections by reviewer",
                "SELECT actor, COUNT(*) FROM audit_log WHERE action = 'edit_field' GROUP BY 1",
                "SELECT actor, CAST(SUM(n) AS BIGINT) FROM correction_tally GROUP BY 1",
            ),
            (
                "committed records",
                "SELECT 'patients', COUNT(*) FROM patients UNION ALL SELECT 'encounters', COUNT(*) FROM encounters \
                 UNION ALL SELECT 'facts', COUNT(*) FROM facts UNION ALL SELECT 'outbox_pending', COUNT(*) FROM outbox WHERE sent_at IS NULL",
                "SELECT kind, n FROM record_tally",
            ),
        ];
        let mut out = Vec::new();
        for (what, counted, kept) in pairs {
            let read = |sql: &'static str| async move {
                let mut m = BTreeMap::<String, i64>::new();
                for r in sqlx::query(sql).fetch_all(&self.pool).await? {
                    let (k, n): (String, i64) = (r.try_get(0)?, r.try_get(1)?);
                    if n != 0 {
                        m.insert(k, n);
                    }
                }
                Ok::<_, crate::StoreError>(m)
            };
            let (counted, kept) = (read(counted).await?, read(kept).await?);
            for key in counted.keys().chain(kept.keys()).collect::<std::collections::BTreeSet<_>>() {
                let (a, b) = (counted.get(key).copied().unwrap_or(0), kept.get(key).copied().unwrap_or(0));
                if a != b {
                    out.push(format!("{what}: {key}: {a} counted, {b} kept"));
                }
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_fall_into_the_reconciliation_columns() {
        let mut c = BoxCounts::default();
        for (s, n) in [("ingested", 2), ("extracted", 3), ("in_review", 1), ("second_key", 1), ("approved", 5), ("rejected", 1)] {
            status_into(&mut c, s, n);
        }
        assert_eq!((c.scanned, c.in_review, c.approved, c.rejected), (13, 7, 5, 1));
    }
}
