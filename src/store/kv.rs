//! Small shared facts and leases for single-role tasks.

use super::{Result, Store, with_db};
use crate::clock::Millis;

impl Store {
    pub async fn kv_get(&self, key: &str) -> Result<Option<String>> {
        Ok(with_db!(&self.db, c => {
            sqlx::query_scalar("SELECT value FROM kv WHERE key = $1")
                .bind(key)
                .fetch_optional(c)
                .await?
        }))
    }

    pub async fn kv_set(&self, key: &str, value: &str, now: Millis) -> Result<()> {
        with_db!(&self.db, c => {
            sqlx::query(
                "INSERT INTO kv (key, value, updated_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
            )
            .bind(key)
            .bind(value)
            .bind(now)
            .execute(c)
            .await?;
        });
        Ok(())
    }

    /// The value and when it was last set.
    pub async fn kv_get_with_time(&self, key: &str) -> Result<Option<(String, Millis)>> {
        Ok(with_db!(&self.db, c => {
            sqlx::query_as("SELECT value, updated_at FROM kv WHERE key = $1")
                .bind(key)
                .fetch_optional(c)
                .await?
        }))
    }

    /// Sets `key` to what was observed at `observed_at`, unless what is kept
    /// was observed later: an older observation never overwrites a newer
    /// one. `weakest` (say "none seen") never overwrites another value.
    /// Returns whether it was written.
    pub async fn kv_set_if_newer(
        &self,
        key: &str,
        value: &str,
        observed_at: Millis,
        weakest: &str,
    ) -> Result<bool> {
        let rows = with_db!(&self.db, c => {
            sqlx::query(
                "INSERT INTO kv (key, value, updated_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at \
                 WHERE kv.updated_at <= excluded.updated_at \
                   AND (excluded.value <> $4 OR kv.value = $4)",
            )
            .bind(key)
            .bind(value)
            .bind(observed_at)
            .bind(weakest)
            .execute(c)
            .await?
            .rows_affected()
        });
        Ok(rows == 1)
    }

    /// Takes or renews the lease `name` for `owner` until `now + ttl`.
    /// Returns false while another owner holds an unexpired lease.
    pub async fn hold_lease(
        &self,
        name: &str,
        owner: &str,
        now: Millis,
        ttl: Millis,
    ) -> Result<bool> {
        let held: Option<String> = with_db!(&self.db, c => {
            sqlx::query_scalar(
                "INSERT INTO leases (name, owner, expires_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at \
                 WHERE leases.owner = excluded.owner OR leases.expires_at <= $4 \
                 RETURNING owner",
            )
            .bind(name)
            .bind(owner)
            .bind(now.saturating_add(ttl))
            .bind(now)
            .fetch_optional(c)
            .await?
        });
        Ok(held.as_deref() == Some(owner))
    }

    /// Gives the lease up early (on shutdown) so another process need not
    /// wait for it to expire.
    pub async fn drop_lease(&self, name: &str, owner: &str) -> Result<()> {
        with_db!(&self.db, c => {
            sqlx::query("DELETE FROM leases WHERE name = $1 AND owner = $2")
                .bind(name)
                .bind(owner)
                .execute(c)
                .await?;
        });
        Ok(())
    }
}

/// How long a handled update id is remembered.
const SEEN_UPDATES_TTL_MS: Millis = 2 * 24 * 3600 * 1000;

impl Store {
    /// Records that update `update_id` is being handled; false if it was
    /// already (a re-sent webhook update, here or at another replica).
    /// Now and then, ids older than two days are forgotten.
    pub async fn first_sight_of_update(&self, update_id: i64, now: Millis) -> Result<bool> {
        let rows = with_db!(&self.db, c => {
            sqlx::query(
                "INSERT INTO seen_updates (update_id, seen_at) VALUES ($1, $2) \
                 ON CONFLICT (update_id) DO NOTHING",
            )
            .bind(update_id)
            .bind(now)
            .execute(c)
            .await?
            .rows_affected()
        });
        if update_id % 256 == 0 {
            with_db!(&self.db, c => {
                sqlx::query("DELETE FROM seen_updates WHERE seen_at < $1")
                    .bind(now - SEEN_UPDATES_TTL_MS)
                    .execute(c)
                    .await?;
            });
        }
        Ok(rows == 1)
    }
}
