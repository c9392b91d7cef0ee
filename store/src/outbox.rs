//! The outbox: changes of committed records (a commit, a retraction) waiting to be sent to
//! a FHIR server, oldest first. A row is queued in the transaction that approves or
//! un-approves its chart, and marked sent only after the server confirmed it.

use crate::{audit, now_ms, Result, Store};
use serde::{Deserialize, Serialize};
use sqlx::Row;

/// A change waiting to be sent to the FHIR server.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboxItem {
    /// Row id (sending order).
    pub id: i64,
    /// The chart.
    pub chart: String,
    /// What to send.
    pub op: OutboxOp,
    /// For `retract`: the conditional-delete URLs, as JSON.
    pub payload: Option<String>,
    /// Failed attempts so far.
    pub attempts: i64,
}

/// What an outbox row sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutboxOp {
    /// The chart's committed record (sent as it is at sending time).
    Commit,
    /// Conditional deletes of a retracted record (the row's payload, a [`Retraction`]).
    Retract,
}

impl OutboxOp {
    /// The name stored in the `op` column.
    pub fn as_str(self) -> &'static str {
        match self {
            OutboxOp::Commit => "commit",
            OutboxOp::Retract => "retract",
        }
    }

    /// The operation stored as `s`.
    pub fn parse(s: &str) -> crate::Result<OutboxOp> {
        match s {
            "commit" => Ok(OutboxOp::Commit),
            "retract" => Ok(OutboxOp::Retract),
            other => Err(crate::StoreError::Invalid(format!("outbox operation {other:?}"))),
        }
    }
}

/// What a retraction sends: conditional deletes, then (when the patient has other charts)
/// the patient as they are now, without what the retracted chart said of them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Retraction {
    /// Conditional-delete URLs.
    pub deletes: Vec<String>,
    /// The patient, when kept.
    pub patient: Option<String>,
    /// The chart's facility.
    pub facility: String,
}

/// An outbox row, as stored.
#[derive(sqlx::FromRow)]
struct OutboxRow {
    id: i64,
    chart: String,
    op: String,
    payload: Option<String>,
    attempts: i64,
}

impl Store {
    /// How many outbox rows wait to be sent.
    pub async fn outbox_pending_count(&self) -> Result<i64> {
        Ok(sqlx::query("SELECT COUNT(*) FROM outbox WHERE sent_at IS NULL").fetch_one(&self.pool).await?.try_get(0)?)
    }

    /// The oldest unsent outbox rows.
    pub async fn outbox_pending(&self, limit: i64) -> Result<Vec<OutboxItem>> {
        sqlx::query_as::<_, OutboxRow>("SELECT id, chart, op, payload, attempts FROM outbox WHERE sent_at IS NULL ORDER BY id LIMIT $1")
            .bind(limit)
            .fetch_all(&self.pool)
            .await?
            .into_iter()
            .map(|r| Ok(OutboxItem { id: r.id, chart: r.chart, op: OutboxOp::parse(&r.op)?, payload: r.payload, attempts: r.attempts }))
            .collect()
    }

    /// Marks outbox rows sent (the server confirmed them).
    pub async fn outbox_sent(&self, ids: &[i64], actor: &str, target: &str) -> Result<()> {
        let mut tx = self.begin_write().await?;
        for id in ids {
            let row = sqlx::query("UPDATE outbox SET sent_at = $1 WHERE id = $2 AND sent_at IS NULL RETURNING chart, op")
                .bind(now_ms())
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?;
            if let Some(row) = row {
                let (chart, op): (String, String) = (row.try_get(0)?, row.try_get(1)?);
                audit(&mut tx, actor, "push", Some(&chart), &format!("{op} sent to {target}")).await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }

    /// Records a failed attempt to send outbox rows.
    pub async fn outbox_failed(&self, ids: &[i64], error: &str) -> Result<()> {
        let mut tx = self.begin_write().await?;
        for id in ids {
            sqlx::query("UPDATE outbox SET attempts = attempts + 1, last_error = $1 WHERE id = $2").bind(error).bind(id).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }
}
