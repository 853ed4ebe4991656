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
