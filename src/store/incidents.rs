//! What the incident watcher reads (counts over purchases and leases) and
//! the `incidents` table it keeps: a condition opens and closes once each,
//! by compare-and-set, so several replicas never announce it twice.

use super::{Result, Store, with_db};
use crate::clock::Millis;

/// The facts the incident rules judge, read in one pass.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IncidentFacts {
    pub dead_letters: i64,
    /// Purchases not finished that got a stall alert.
    pub stalled: i64,
    /// Purchases on hold for the supplier balance.
    pub held_for_balance: i64,
    /// Purchases on hold because the supplier refuses the key.
    pub held_for_auth: i64,
    /// Finished since `since`: delivered.
    pub delivered_recently: i64,
    /// Finished since `since` without their goods because of the supplier
    /// (refunded for a supplier failure, or dead-lettered).
    pub failed_recently: i64,
    /// Paid orders being watched.
    pub waiting_supplier: i64,
    /// When the poller lease runs (or ran) out; `None`: nobody holds it.
    pub poller_lease_expires_at: Option<Millis>,
}

impl Store {
    pub async fn incident_facts(&self, since: Millis) -> Result<IncidentFacts> {
        let row: (i64, i64, i64, i64, i64, i64, i64) = with_db!(&self.db, c => {
            sqlx::query_as(
                "SELECT \
                   COALESCE(SUM(CASE WHEN state = 'dead_letter' THEN 1 ELSE 0 END), 0), \
                   COALESCE(SUM(CASE WHEN stall_alerted_at IS NOT NULL AND finished_at IS NULL \
                       AND state <> 'dead_letter' THEN 1 ELSE 0 END), 0), \
                   COALESCE(SUM(CASE WHEN state = 'on_hold' AND hold_reason = 'balance' \
                       THEN 1 ELSE 0 END), 0), \
                   COALESCE(SUM(CASE WHEN state = 'on_hold' AND hold_reason = 'auth' \
                       THEN 1 ELSE 0 END), 0), \
                   COALESCE(SUM(CASE WHEN state = 'delivered' AND finished_at >= $1 \
                       THEN 1 ELSE 0 END), 0), \
                   COALESCE(SUM(CASE WHEN finished_at >= $1 AND (state = 'dead_letter' \
                       OR (state = 'refunded' AND COALESCE(refund_reason, 'supplier') = 'supplier')) \
                       THEN 1 ELSE 0 END), 0), \
                   COALESCE(SUM(CASE WHEN state = 'waiting_supplier' THEN 1 ELSE 0 END), 0) \
                 FROM purchases",
            )
            .bind(since)
            .fetch_one(c)
            .await?
        });
        let lease: Option<i64> = with_db!(&self.db, c => {
            sqlx::query_scalar("SELECT expires_at FROM leases WHERE name = 'poller'")
                .fetch_optional(c)
                .await?
        });
        Ok(IncidentFacts {
            dead_letters: row.0,
            stalled: row.1,
            held_for_balance: row.2,
            held_for_auth: row.3,
            delivered_recently: row.4,
            failed_recently: row.5,
            waiting_supplier: row.6,
            poller_lease_expires_at: lease,
        })
    }

    /// Opens incident `name`; true if it was not open (this call announces it).
    pub async fn open_incident(&self, name: &str, detail: &str, now: Millis) -> Result<bool> {
        let opened: Option<String> = with_db!(&self.db, c => {
            sqlx::query_scalar(
                "INSERT INTO incidents (name, open, opened_at, detail) VALUES ($1, 1, $2, $3) \
                 ON CONFLICT (name) DO UPDATE SET open = 1, opened_at = excluded.opened_at, \
                     detail = excluded.detail \
                 WHERE incidents.open = 0 \
                 RETURNING name",
            )
            .bind(name)
            .bind(now)
            .bind(detail)
            .fetch_optional(c)
            .await?
        });
        Ok(opened.is_some())
    }

    /// Closes incident `name`; true if it was open (this call announces the
    /// recovery).
    pub async fn close_incident(&self, name: &str, now: Millis) -> Result<bool> {
        let rows = with_db!(&self.db, c => {
            sqlx::query("UPDATE incidents SET open = 0, closed_at = $2 WHERE name = $1 AND open = 1")
                .bind(name)
                .bind(now)
                .execute(c)
                .await?
                .rows_affected()
        });
        Ok(rows == 1)
    }

    /// Incidents open now, by name.
    pub async fn open_incidents(&self) -> Result<Vec<String>> {
        Ok(with_db!(&self.db, c => {
            sqlx::query_scalar("SELECT name FROM incidents WHERE open = 1 ORDER BY name")
                .fetch_all(c)
                .await?
        }))
    }
}
