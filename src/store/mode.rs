//! Which mode a database belongs to (see [`ShopMode`]).

use super::{Result, Store, StoreError, with_db};
use crate::clock::Millis;
use crate::domain::ShopMode;

impl Store {
    /// The mode this database belongs to, recording `wanted` if none is
    /// recorded yet. The caller refuses to start when the answer differs
    /// from what it wanted.
    ///
    /// A database created before modes were recorded is judged by what it
    /// holds: any purchase not made in demo mode means it has run live (a
    /// demo start there would complete real, paid purchases from the
    /// simulator); only demo purchases mean demo (a live start would order
    /// them for real, though nobody paid). Several replicas starting at once
    /// record one mode: the first insert wins and everyone reads it back.
    pub async fn claim_mode(&self, wanted: ShopMode, now: Millis) -> Result<ShopMode> {
        if let Some(mode) = self.recorded_mode().await? {
            return Ok(mode);
        }
        let (live, demo): (i64, i64) = with_db!(&self.db, c => {
            sqlx::query_as(
                "SELECT \
                   (SELECT COUNT(*) FROM purchases WHERE source <> 'demo'), \
                   (SELECT COUNT(*) FROM purchases WHERE source = 'demo')",
            )
            .fetch_one(c)
            .await?
        });
        let inferred = match (live > 0, demo > 0) {
            (true, _) => ShopMode::Live,
            (false, true) => ShopMode::Demo,
            (false, false) => wanted,
        };
        with_db!(&self.db, c => {
            sqlx::query(
                "INSERT INTO shop_mode (id, mode, recorded_at) VALUES (1, $1, $2) \
                 ON CONFLICT (id) DO NOTHING",
            )
            .bind(inferred.as_str())
            .bind(now)
            .execute(c)
            .await?;
        });
        self.recorded_mode()
            .await?
            .ok_or_else(|| StoreError::Corrupt("shop_mode: no row after recording one".to_owned()))
    }

    /// The recorded mode, if any.
    pub async fn recorded_mode(&self) -> Result<Option<ShopMode>> {
        let text: Option<String> = with_db!(&self.db, c => {
            sqlx::query_scalar("SELECT mode FROM shop_mode WHERE id = 1")
                .fetch_optional(c)
                .await?
        });
        text.map(|t| {
            ShopMode::parse(&t).map_err(|e| StoreError::Corrupt(format!("shop_mode: {e}")))
        })
        .transpose()
    }
}
