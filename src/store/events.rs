//! The append-only event log and the admin alert outbox.

use serde_json::Value;

use super::{Result, Store, Tx, with_db, with_tx};
use crate::clock::Millis;
use crate::domain::{AlertKind, Args, EventKind, PurchaseState};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Event {
    pub id: i64,
    pub purchase_id: Option<i64>,
    pub at: i64,
    pub kind: String,
    pub from_state: Option<String>,
    pub to_state: Option<String>,
    /// The purchase's claim fence when the event was written.
    pub fence: Option<i64>,
    pub actor: Option<String>,
    pub detail: String,
}

/// A message for the admins: its kind and its arguments, worded when it
/// is sent, in each admin's language.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Alert {
    pub id: i64,
    pub kind: String,
    pub purchase_id: Option<i64>,
    pub dedup_key: Option<String>,
    /// The English sentence of an alert written before arguments were
    /// stored (migration 0018); empty on newer rows.
    pub detail: String,
    /// The arguments (a JSON object); `None` on rows written before.
    pub args: Option<String>,
    pub created_at: i64,
    pub sent_at: Option<i64>,
}

/// What an alert says, read back from its row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AlertContent {
    /// Its kind names the message; these are the arguments.
    Args(Args),
    /// An English sentence, from before arguments were stored.
    Legacy(String),
}

impl Alert {
    /// The arguments, or the old row's sentence. Arguments that cannot be
    /// read are an error: the row is not as this code wrote it.
    pub fn content(&self) -> std::result::Result<AlertContent, serde_json::Error> {
        match self.args.as_deref() {
            Some(json) => Args::from_json(json).map(AlertContent::Args),
            None => Ok(AlertContent::Legacy(self.detail.clone())),
        }
    }
}

impl Tx {
    /// Appends to the event log. `detail` must never carry codes or keys.
    #[allow(clippy::too_many_arguments)]
    pub async fn record_event(
        &mut self,
        purchase_id: Option<i64>,
        kind: EventKind,
        from: Option<PurchaseState>,
        to: Option<PurchaseState>,
        fence: Option<i64>,
        actor: &str,
        detail: &Value,
        now: Millis,
    ) -> Result<()> {
        with_tx!(self, c => {
            sqlx::query(
                "INSERT INTO events (purchase_id, at, kind, from_state, to_state, fence, actor, detail) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(purchase_id)
            .bind(now)
            .bind(kind.as_str())
            .bind(from.map(|s| s.as_str()))
            .bind(to.map(|s| s.as_str()))
            .bind(fence)
            .bind((!actor.is_empty()).then_some(actor))
            .bind(detail.to_string())
            .execute(&mut *c)
            .await?;
        });
        if let Tx::Postgres(t) = self {
            // Delivered at commit, to listeners in every process.
            sqlx::query("SELECT pg_notify($1, '')")
                .bind(super::stream::CHANNEL)
                .execute(&mut **t)
                .await?;
        }
        Ok(())
    }

    /// Queues a message for the admins: its kind and its arguments, worded
    /// when sent. With a `dedup_key`, the same alert is raised once;
    /// returns whether this call raised it.
    pub async fn raise_alert(
        &mut self,
        kind: AlertKind,
        purchase_id: Option<i64>,
        dedup_key: Option<&str>,
        args: &Args,
        now: Millis,
    ) -> Result<bool> {
        let rows = with_tx!(self, c => {
            sqlx::query(
                "INSERT INTO alerts (kind, purchase_id, dedup_key, detail, args, created_at) \
                 VALUES ($1, $2, $3, '', $4, $5) ON CONFLICT (dedup_key) DO NOTHING",
            )
            .bind(kind.as_str())
            .bind(purchase_id)
            .bind(dedup_key)
            .bind(args.to_json())
            .bind(now)
            .execute(&mut *c)
            .await?
            .rows_affected()
        });
        Ok(rows == 1)
    }
}

impl Store {
    pub async fn events_of(&self, purchase_id: i64) -> Result<Vec<Event>> {
        Ok(with_db!(&self.db, c => {
            sqlx::query_as("SELECT * FROM events WHERE purchase_id = $1 ORDER BY id")
                .bind(purchase_id)
                .fetch_all(c)
                .await?
        }))
    }

    /// Raises an alert in its own transaction.
    pub async fn raise_alert(
        &self,
        kind: AlertKind,
        purchase_id: Option<i64>,
        dedup_key: Option<&str>,
        args: &Args,
        now: Millis,
    ) -> Result<bool> {
        let mut tx = self.begin().await?;
        let raised = tx
            .raise_alert(kind, purchase_id, dedup_key, args, now)
            .await?;
        tx.commit().await?;
        Ok(raised)
    }

    /// Oldest first.
    pub async fn unsent_alerts(&self, limit: i64) -> Result<Vec<Alert>> {
        Ok(with_db!(&self.db, c => {
            sqlx::query_as("SELECT * FROM alerts WHERE sent_at IS NULL ORDER BY id LIMIT $1")
                .bind(limit)
                .fetch_all(c)
                .await?
        }))
    }

    pub async fn alerts_of(&self, purchase_id: i64) -> Result<Vec<Alert>> {
        Ok(with_db!(&self.db, c => {
            sqlx::query_as("SELECT * FROM alerts WHERE purchase_id = $1 ORDER BY id")
                .bind(purchase_id)
                .fetch_all(c)
                .await?
        }))
    }

    pub async fn mark_alert_sent(&self, id: i64, now: Millis) -> Result<()> {
        with_db!(&self.db, c => {
            sqlx::query("UPDATE alerts SET sent_at = $1 WHERE id = $2 AND sent_at IS NULL")
                .bind(now)
                .bind(id)
                .execute(c)
                .await?;
        });
        Ok(())
    }
}
