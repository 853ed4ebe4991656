//! The codes received for a purchase. Kept so the buyer can view them again;
//! read only to render them for the buyer, never logged.

use super::{Result, Store, StoreError, Tx, with_db, with_tx};
use crate::clock::Millis;
use crate::domain::Code;

impl Tx {
    /// Stores the codes once; a second call for the same purchase keeps the
    /// first set.
    pub async fn store_codes(
        &mut self,
        purchase_id: i64,
        codes: &[Code],
        now: Millis,
    ) -> Result<()> {
        let json = serde_json::to_string(codes).map_err(|_| {
            StoreError::Corrupt(format!("purchase {purchase_id}: codes do not serialise"))
        })?;
        with_tx!(self, c => {
            sqlx::query(
                "INSERT INTO purchase_codes (purchase_id, codes, received_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (purchase_id) DO NOTHING",
            )
            .bind(purchase_id)
            .bind(json)
            .bind(now)
            .execute(&mut *c)
            .await?;
        });
        Ok(())
    }
}

impl Store {
    /// The codes the buyer may view in `/orders`: none once an admin
    /// withdrew them (a "refund anyway").
    pub async fn viewable_codes(&self, purchase_id: i64) -> Result<Option<Vec<Code>>> {
        let json: Option<String> = with_db!(&self.db, c => {
            sqlx::query_scalar(
                "SELECT codes FROM purchase_codes WHERE purchase_id = $1 \
                 AND NOT EXISTS (SELECT 1 FROM withdrawn_codes w WHERE w.purchase_id = $1)",
            )
            .bind(purchase_id)
            .fetch_optional(c)
            .await?
        });
        json.map(|j| {
            serde_json::from_str(&j)
                .map_err(|_| StoreError::Corrupt(format!("purchase {purchase_id}: stored codes")))
        })
        .transpose()
    }

    pub async fn codes(&self, purchase_id: i64) -> Result<Option<Vec<Code>>> {
        let json: Option<String> = with_db!(&self.db, c => {
            sqlx::query_scalar("SELECT codes FROM purchase_codes WHERE purchase_id = $1")
                .bind(purchase_id)
                .fetch_optional(c)
                .await?
        });
        json.map(|j| {
            serde_json::from_str(&j)
                .map_err(|_| StoreError::Corrupt(format!("purchase {purchase_id}: stored codes")))
        })
        .transpose()
    }
}
