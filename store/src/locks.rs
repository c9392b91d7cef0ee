//! Named leases: one holder at a time for work that must not run twice at once (`push`),
//! renewed while the work goes on and simply expiring when the holder is killed.

use crate::{now_ms, Result, Store, StoreError};
use sqlx::Row;

impl Store {
    /// Takes (or renews) the named lease for `owner` until `ttl_ms` from now, unless someone
    /// else holds it: then `Err(StoreError::Claimed)` names them.
    pub async fn take_lock(&self, name: &str, owner: &str, ttl_ms: i64) -> Result<()> {
        let now = now_ms();
        let mut tx = self.begin_write().await?;
        let row = sqlx::query(
            "INSERT INTO locks (name, owner, until) VALUES ($1, $2, $3)
             ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, until = excluded.until
             WHERE locks.owner = excluded.owner OR locks.until < $4
             RETURNING owner",
        )
        .bind(name)
        .bind(owner)
        .bind(now + ttl_ms)
        .bind(now)
        .fetch_optional(&mut *tx)
        .await?;
        if row.is_none() {
            let holder: String = sqlx::query("SELECT owner FROM locks WHERE name = $1").bind(name).fetch_one(&mut *tx).await?.try_get(0)?;
            return Err(StoreError::Claimed { chart: name.to_string(), by: holder });
        }
        tx.commit().await?;
        Ok(())
    }

    /// Gives the named lease back, if `owner` holds it.
    pub async fn release_lock(&self, name: &str, owner: &str) -> Result<()> {
        sqlx::query("DELETE FROM locks WHERE name = $1 AND owner = $2").bind(name).bind(owner).execute(&self.writer).await?;
        Ok(())
    }
}
