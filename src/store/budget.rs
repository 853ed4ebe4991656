//! The supplier budget shared through the database: a sliding log of the
//! calls every process admitted in the last window (`budget_calls`), read
//! and extended under one lock, on the database's clock. Writes go ahead
//! of reads (a tenth of the window is kept for them); reads keep a fifth
//! of it. A 429 seen by any process pauses all (`kv`).

use std::time::Duration;

use super::{Backend, Result, Store, with_tx};
use crate::clock::BoxFuture;
use crate::domain::{Priority, SharedLimit};

/// The lock every process takes to read and extend the log.
const LOCK_KEY: i64 = 0x666F_7862_7564; // "foxbud"
const PAUSE_KEY: &str = "supplier_paused_until";

/// The database's clock, in Unix ms.
const DB_NOW: &str = "CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000 AS BIGINT)";

pub struct SharedBudget {
    store: Store,
    rate: i64,
    window_ms: i64,
}

impl SharedBudget {
    /// `rate` calls in any `window`, across every process on this
    /// database. PostgreSQL only: on SQLite one process owns the key.
    pub fn new(store: Store, rate: u32, window: Duration) -> Option<SharedBudget> {
        (store.backend() == Backend::Postgres).then(|| SharedBudget {
            store,
            rate: i64::from(rate.max(1)),
            window_ms: i64::try_from(window.as_millis()).unwrap_or(i64::MAX).max(1),
        })
    }

    async fn try_take(&self, priority: Priority) -> Result<std::result::Result<(), Duration>> {
        let mut tx = self.store.begin().await?;
        let (now, paused_until, total, reads, oldest): (i64, Option<i64>, i64, i64, Option<i64>) = with_tx!(&mut tx, c => {
            sqlx::query("SELECT pg_advisory_xact_lock($1)")
                .bind(LOCK_KEY)
                .execute(&mut *c)
                .await?;
            let now: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT {DB_NOW}")))
                .fetch_one(&mut *c)
                .await?;
            sqlx::query("DELETE FROM budget_calls WHERE at <= $1")
                .bind(now - self.window_ms)
                .execute(&mut *c)
                .await?;
            let paused: Option<String> =
                sqlx::query_scalar("SELECT value FROM kv WHERE key = $1")
                    .bind(PAUSE_KEY)
                    .fetch_optional(&mut *c)
                    .await?;
            let (total, reads, oldest): (i64, i64, Option<i64>) = sqlx::query_as(
                "SELECT COUNT(*), \
                     COALESCE(SUM(CASE WHEN priority = 'read' THEN 1 ELSE 0 END), 0), \
                     MIN(at) \
                 FROM budget_calls",
            )
            .fetch_one(&mut *c)
            .await?;
            (now, paused.and_then(|p| p.parse().ok()), total, reads, oldest)
        });
        let spacing = Duration::from_millis(u64::try_from(self.window_ms / self.rate).unwrap_or(1));
        if let Some(until) = paused_until.filter(|u| *u > now) {
            return Ok(Err(Duration::from_millis(
                u64::try_from(until - now).unwrap_or(0),
            )));
        }
        if total >= self.rate {
            let free_at = oldest.unwrap_or(now) + self.window_ms;
            return Ok(Err(Duration::from_millis(
                u64::try_from(free_at - now).unwrap_or(0),
            )));
        }
        // Reads past their fifth leave the last tenth of the window to writes.
        if priority == Priority::Read
            && reads >= self.rate / 5
            && total >= self.rate - (self.rate / 10).max(1)
        {
            return Ok(Err(spacing));
        }
        with_tx!(&mut tx, c => {
            sqlx::query("INSERT INTO budget_calls (at, priority) VALUES ($1, $2)")
                .bind(now)
                .bind(priority.as_str())
                .execute(&mut *c)
                .await?;
        });
        tx.commit().await?;
        Ok(Ok(()))
    }

    async fn set_pause(&self, retry_after: Duration) -> Result<()> {
        let ms = i64::try_from(retry_after.as_millis()).unwrap_or(i64::MAX / 4);
        let sql = format!(
            "INSERT INTO kv (key, value, updated_at) VALUES ($1, CAST({DB_NOW} + $2 AS TEXT), {DB_NOW}) \
             ON CONFLICT (key) DO UPDATE SET \
                 value = CAST(GREATEST(CAST(kv.value AS BIGINT), CAST(excluded.value AS BIGINT)) AS TEXT), \
                 updated_at = excluded.updated_at"
        );
        super::with_db!(&self.store.db, c => {
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(PAUSE_KEY)
                .bind(ms)
                .execute(c)
                .await?;
        });
        Ok(())
    }
}

impl SharedLimit for SharedBudget {
    fn take(&self, priority: Priority) -> BoxFuture<'_, std::result::Result<(), Duration>> {
        Box::pin(async move {
            match self.try_take(priority).await {
                Ok(outcome) => outcome,
                // The database is the limit's only witness: without it, no
                // call is made (it is tried again in a second).
                Err(e) => {
                    tracing::warn!(error = %e, "the shared supplier budget could not be read");
                    Err(Duration::from_secs(1))
                }
            }
        })
    }

    fn pause(&self, retry_after: Duration) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            if let Err(e) = self.set_pause(retry_after).await {
                tracing::warn!(error = %e, "the 429 pause could not be shared");
            }
        })
    }
}
