//! The event stream. The `events` table is the outbox: every transition
//! writes its row in the same transaction. A consumer (the bot's progress
//! messages, admin alerts, metrics) keeps its own position in
//! `event_consumers` and reads what came after it, in id order, waking on
//! PostgreSQL's `NOTIFY` or, on SQLite, on an in-process signal at each
//! commit. Handling is at least once: a consumer that stops between
//! handling an event and acknowledging it sees that event again.
//!
//! On PostgreSQL, ids are taken at insert and transactions commit in any
//! order, so a reader could see id 11 before id 10 commits and step past
//! it. Events are therefore read only once they are `SETTLE` old (no
//! transaction here stays open that long); SQLite has one writer, so its
//! ids commit in order and are read at once.

use std::sync::LazyLock;
use std::time::Duration;

use tokio::sync::Notify;

use super::{Backend, Cas, Result, Store, json_strings, with_db};
use crate::clock::{Millis, millis};
use crate::domain::EventKind;

pub use super::events::Event;

/// The PostgreSQL channel every event write notifies.
pub(super) const CHANNEL: &str = "foxbot_events";

/// How old a PostgreSQL event must be before it is read (see the module
/// docs).
const SETTLE: Duration = Duration::from_secs(2);

/// Woken at every commit in this process (SQLite's signal).
pub(super) static COMMITTED: LazyLock<Notify> = LazyLock::new(Notify::new);

/// One consumer's view of the stream.
#[derive(Debug, Clone)]
pub struct EventCursor {
    store: Store,
    name: String,
    kinds: Vec<EventKind>,
}

impl EventCursor {
    /// The consumer `name`, interested in `kinds`.
    pub fn new(store: Store, name: &str, kinds: &[EventKind]) -> Self {
        EventCursor {
            store,
            name: name.to_owned(),
            kinds: kinds.to_vec(),
        }
    }

    /// The next events after this consumer's position (at most `limit`),
    /// oldest first, as of `now`.
    pub async fn next(&self, limit: i64, now: Millis) -> Result<Vec<Event>> {
        let position = self.store.consumer_position(&self.name).await?;
        let visible_until = match self.store.backend() {
            Backend::Sqlite => Millis::MAX,
            Backend::Postgres => now.saturating_sub(millis(SETTLE)),
        };
        let kinds: Vec<&str> = self.kinds.iter().map(|k| k.as_str()).collect();
        let sql = format!(
            "SELECT * FROM events WHERE id > $1 AND kind IN ({}) AND at <= $3 \
             ORDER BY id LIMIT $4",
            self.store.backend().json_list(2)
        );
        Ok(with_db!(&self.store.db, c => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(position)
                .bind(json_strings(&kinds))
                .bind(visible_until)
                .bind(limit)
                .fetch_all(c)
                .await?
        }))
    }

    /// Records that everything up to `last` was handled. Compare-and-set
    /// from the position read: two processes sharing a consumer name never
    /// move it backwards, and only one of them wins a step.
    pub async fn ack(&self, from: i64, last: i64, now: Millis) -> Result<Cas> {
        self.store
            .advance_consumer(&self.name, from, last, now)
            .await
    }

    /// This consumer's position: the last event id it handled.
    pub async fn position(&self) -> Result<i64> {
        self.store.consumer_position(&self.name).await
    }

    /// Waits until an event may have been written, or `timeout`.
    pub async fn wait(&self, timeout: Duration) {
        match &self.store.db {
            super::Db::Postgres(pool) => {
                let listen = async {
                    let mut listener = sqlx::postgres::PgListener::connect_with(pool).await?;
                    listener.listen(CHANNEL).await?;
                    listener.recv().await.map(|_| ())
                };
                let _ = tokio::time::timeout(timeout, listen).await;
            }
            super::Db::Sqlite(_) => {
                let _ = tokio::time::timeout(timeout, COMMITTED.notified()).await;
            }
        }
    }
}

impl Store {
    pub async fn consumer_position(&self, name: &str) -> Result<i64> {
        let position: Option<i64> = with_db!(&self.db, c => {
            sqlx::query_scalar("SELECT position FROM event_consumers WHERE name = $1")
                .bind(name)
                .fetch_optional(c)
                .await?
        });
        Ok(position.unwrap_or(0))
    }

    /// Moves `name` from `from` to `to` (forward only), compare-and-set.
    pub async fn advance_consumer(
        &self,
        name: &str,
        from: i64,
        to: i64,
        now: Millis,
    ) -> Result<Cas> {
        if to <= from {
            return Ok(Cas::LostRace);
        }
        // A consumer without a row is at zero.
        let sql = if from == 0 {
            "INSERT INTO event_consumers (name, position, updated_at) VALUES ($1, $3, $4) \
             ON CONFLICT (name) DO UPDATE SET position = excluded.position, \
                 updated_at = excluded.updated_at \
             WHERE event_consumers.position = $2"
        } else {
            "UPDATE event_consumers SET position = $3, updated_at = $4 \
             WHERE name = $1 AND position = $2"
        };
        let rows = with_db!(&self.db, c => {
            sqlx::query(sql)
                .bind(name)
                .bind(from)
                .bind(to)
                .bind(now)
                .execute(c)
                .await?
                .rows_affected()
        });
        Ok(Cas::from_rows(rows))
    }
}
