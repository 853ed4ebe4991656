//! Re-orders: the units missing from a partly delivered purchase, ordered
//! again as a new purchase linked to it (`parent_purchase_id`), at the
//! shop's cost. The UNIQUE index `purchases_one_reorder` makes it one per
//! purchase, however often it is asked for.

use serde_json::Value;

use super::{NewPurchase, Purchase, Result, Store, StoreError, Tx, with_db, with_tx};
use crate::clock::Millis;
use crate::domain::{EventKind, PurchaseState};

/// The UNIQUE index that allows one re-order per purchase (migration 0011).
const ONE_REORDER_INDEX: &str = "purchases_one_reorder";

/// What asking for a re-order did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reordered {
    /// A new purchase, in state `ordering`: the engine orders it.
    New(i64),
    /// The purchase had already been re-ordered as this one; nothing new.
    Already(i64),
}

impl Reordered {
    pub fn id(self) -> i64 {
        match self {
            Reordered::New(id) | Reordered::Already(id) => id,
        }
    }
}

fn is_reorder_taken(e: &StoreError) -> bool {
    match e {
        StoreError::Conflict(what) => {
            what == ONE_REORDER_INDEX || what.ends_with("purchases.parent_purchase_id")
        }
        _ => false,
    }
}

impl Tx {
    async fn link_reorder(&mut self, child: i64, parent: i64) -> Result<()> {
        with_tx!(self, c => {
            sqlx::query("UPDATE purchases SET parent_purchase_id = $1 WHERE id = $2")
                .bind(parent)
                .bind(child)
                .execute(&mut *c)
                .await?;
        });
        Ok(())
    }
}

impl Store {
    /// Records `new` in state `ordering` as the re-order of `parent`, in
    /// one transaction with its link. A second call finds the first's.
    /// The admin's `actor` and `detail` are recorded on the parent as an
    /// `admin_action` event (its state does not move).
    pub async fn insert_reorder(
        &self,
        new: &NewPurchase,
        parent: &Purchase,
        actor: &str,
        detail: &Value,
        now: Millis,
    ) -> Result<Reordered> {
        let parent_id = parent.id;
        if let Some(child) = self.reorder_of(parent_id).await? {
            return Ok(Reordered::Already(child));
        }
        let mut tx = self.begin().await?;
        let child = tx
            .insert_purchase(new, PurchaseState::Ordering, now)
            .await?;
        match tx.link_reorder(child, parent_id).await {
            Ok(()) => {
                let mut detail = detail.clone();
                detail["child"] = serde_json::json!(child);
                tx.record_event(
                    Some(parent_id),
                    EventKind::AdminAction,
                    Some(parent.state),
                    Some(parent.state),
                    Some(parent.fence),
                    actor,
                    &detail,
                    now,
                )
                .await?;
                tx.commit().await?;
                Ok(Reordered::New(child))
            }
            // Another press won meanwhile; dropping the transaction rolls
            // this purchase back.
            Err(e) if is_reorder_taken(&e) => {
                drop(tx);
                let child = self.reorder_of(parent_id).await?.ok_or_else(|| {
                    StoreError::Corrupt(format!(
                        "purchase {parent_id}: its re-order is taken, but no purchase holds it"
                    ))
                })?;
                Ok(Reordered::Already(child))
            }
            Err(e) => Err(e),
        }
    }

    /// The re-order made for `parent`, if any.
    pub async fn reorder_of(&self, parent: i64) -> Result<Option<i64>> {
        Ok(with_db!(&self.db, c => {
            sqlx::query_scalar("SELECT id FROM purchases WHERE parent_purchase_id = $1")
                .bind(parent)
                .fetch_optional(c)
                .await?
        }))
    }

    /// The purchase `id` re-orders the missing units of, if it is a re-order.
    pub async fn reorder_parent(&self, id: i64) -> Result<Option<i64>> {
        let parent: Option<Option<i64>> = with_db!(&self.db, c => {
            sqlx::query_scalar("SELECT parent_purchase_id FROM purchases WHERE id = $1")
                .bind(id)
                .fetch_optional(c)
                .await?
        });
        Ok(parent.flatten())
    }
}
