//! Claiming due work under a lease: what the engine's workers take, how
//! they keep it through a slow step, and when they should look again.

use sqlx::AssertSqlSafe;

use super::purchase_reads::state_names;
use super::purchase_row::{PurchaseRow, sorted};
use super::{Backend, Cas, Purchase, Result, Rows, Store, with_db};
use crate::clock::Millis;
use crate::domain::PurchaseState;

impl Store {
    /// Takes up to `limit` purchases in one of `states` that are due and not
    /// held by a live lease, bumping their `fence`. Two claimers never get
    /// the same row: on SQLite the single statement runs under the one write
    /// lock; on PostgreSQL rows another claimer is taking are skipped.
    /// A claimed row that does not read is set aside (due never) and
    /// returned among [`Rows::corrupt`], so it cannot wedge the claims.
    pub async fn claim_due(
        &self,
        owner: &str,
        states: &[PurchaseState],
        now: Millis,
        lease_ms: Millis,
        limit: i64,
    ) -> Result<Rows> {
        let backend = self.backend();
        // SKIP LOCKED: concurrent claimers in other processes pass over rows
        // another claimer is taking, instead of waiting for them or taking
        // them twice. (SQLite has one writer; it needs no row locks.)
        let lock = match backend {
            Backend::Sqlite => "",
            Backend::Postgres => " FOR UPDATE SKIP LOCKED",
        };
        let sql = format!(
            "UPDATE purchases \
             SET fence = fence + 1, lease_owner = $1, lease_expires_at = $2, updated_at = $3 \
             WHERE id IN (SELECT id FROM purchases \
                 WHERE state IN ({}) \
                   AND next_action_at <= $3 \
                   AND (lease_expires_at IS NULL OR lease_expires_at <= $3) \
                 ORDER BY next_action_at, id LIMIT $4{lock}) \
             RETURNING *",
            backend.json_list(5)
        );
        let rows: Vec<PurchaseRow> = with_db!(&self.db, c => {
            sqlx::query_as(AssertSqlSafe(sql))
                .bind(owner)
                .bind(now.saturating_add(lease_ms))
                .bind(now)
                .bind(limit)
                .bind(state_names(states))
                .fetch_all(c)
                .await?
        });
        let rows = sorted(rows);
        for bad in &rows.corrupt {
            with_db!(&self.db, c => {
                sqlx::query("UPDATE purchases SET next_action_at = $1 WHERE id = $2")
                    .bind(Millis::MAX)
                    .bind(bad.id)
                    .execute(c)
                    .await?;
            });
        }
        Ok(rows)
    }

    /// Extends a lease the caller still holds, before a slow step.
    pub async fn renew_lease(&self, p: &Purchase, owner: &str, until: Millis) -> Result<Cas> {
        let rows = with_db!(&self.db, c => {
            sqlx::query(
                "UPDATE purchases SET lease_expires_at = $1 \
                 WHERE id = $2 AND state = $3 AND fence = $4 AND lease_owner = $5",
            )
            .bind(until)
            .bind(p.id)
            .bind(p.state.as_str())
            .bind(p.fence)
            .bind(owner)
            .execute(c)
            .await?
            .rows_affected()
        });
        Ok(Cas::from_rows(rows))
    }

    /// Purchases in one of `states` that entered it at or before
    /// `alert_before` and were not alerted in it yet, or at or before
    /// `dead_before`: longest waiting first.
    pub async fn stalled(
        &self,
        states: &[PurchaseState],
        alert_before: Millis,
        dead_before: Millis,
        limit: i64,
        now: Millis,
    ) -> Result<Rows> {
        // A purchase whose lease is held is being worked on this moment: the
        // sweep looks at it once the worker has let go, so that it never
        // moves a purchase under a worker that has just sent the codes or
        // the refund.
        let sql = format!(
            "SELECT * FROM purchases \
             WHERE state IN ({}) AND state_since <= $2 \
               AND (stall_alerted_at IS NULL OR state_since <= $3) \
               AND (lease_expires_at IS NULL OR lease_expires_at <= $5) \
             ORDER BY state_since, id LIMIT $4",
            self.backend().json_list(1)
        );
        let rows: Vec<PurchaseRow> = with_db!(&self.db, c => {
            sqlx::query_as(AssertSqlSafe(sql))
                .bind(state_names(states))
                .bind(alert_before)
                .bind(dead_before)
                .bind(limit)
                .bind(now)
                .fetch_all(c)
                .await?
        });
        Ok(sorted(rows))
    }

    /// When the next purchase in one of `states` becomes due (or its lease
    /// runs out), for idle sleeps.
    pub async fn next_due_at(&self, states: &[PurchaseState]) -> Result<Option<Millis>> {
        let backend = self.backend();
        let sql = format!(
            "SELECT MIN({}(next_action_at, COALESCE(lease_expires_at, 0))) FROM purchases \
             WHERE state IN ({})",
            backend.greatest(),
            backend.json_list(1)
        );
        let at: Option<i64> = with_db!(&self.db, c => {
            sqlx::query_scalar(AssertSqlSafe(sql))
                .bind(state_names(states))
                .fetch_one(c)
                .await?
        });
        Ok(at)
    }
}
