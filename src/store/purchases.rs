//! Recording a paid purchase: the durable intent the engine works from,
//! written once, under an idempotency key when the caller has one.

use super::purchase_row::PurchaseRow;
use super::{Purchase, Result, Store, StoreError, Tx, with_db, with_tx};
use crate::clock::Millis;
use crate::domain::{ClientRef, EventKind, PurchaseSource, PurchaseState, Sale, Signature, UserId};

/// A purchase the customer paid for, about to be handed to the engine.
#[derive(Debug, Clone)]
pub struct NewPurchase {
    pub client_ref: ClientRef,
    pub user_id: UserId,
    pub chat_id: i64,
    pub language: crate::domain::Language,
    /// What was sold; its Stars are those paid (0 for a purchase paid
    /// outside Telegram).
    pub sale: Sale,
    pub source: PurchaseSource,
    pub telegram_charge_id: Option<String>,
}

/// The partial UNIQUE index (migration 0006) that lets one idempotency key
/// record one purchase.
const IDEMPOTENCY_KEY_INDEX: &str = "purchases_idempotency_key";

/// Whether `e` is [`IDEMPOTENCY_KEY_INDEX`] refusing a second purchase
/// under a key. PostgreSQL names the index; SQLite names no constraint,
/// only the column (`UNIQUE constraint failed: purchases.idempotency_key`).
fn is_idempotency_key_taken(e: &StoreError) -> bool {
    match e {
        StoreError::Conflict(what) => {
            what == IDEMPOTENCY_KEY_INDEX || what.ends_with("purchases.idempotency_key")
        }
        _ => false,
    }
}

impl Store {
    /// Records a paid purchase (and its customer) in state `ordering`.
    /// A Telegram charge id already recorded gives [`StoreError::Conflict`].
    pub async fn insert_purchase(&self, p: &NewPurchase, now: Millis) -> Result<i64> {
        let mut tx = self.begin().await?;
        let id = tx.insert_purchase(p, PurchaseState::Ordering, now).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Records a paid purchase in state `ordering` under the caller's
    /// idempotency key, written by the same INSERT. `None`: the key has
    /// already recorded a purchase ([`Store::purchase_by_idempotency_key`]
    /// finds it) and nothing was written. The UNIQUE index decides, not a
    /// read before the write: of two callers racing with one key, exactly
    /// one records a purchase and the other gets `None`.
    pub async fn insert_purchase_once(
        &self,
        p: &NewPurchase,
        idempotency_key: &str,
        now: Millis,
    ) -> Result<Option<i64>> {
        let mut tx = self.begin().await?;
        match tx
            .insert_purchase_row(p, PurchaseState::Ordering, Some(idempotency_key), now)
            .await
        {
            Ok(id) => {
                tx.commit().await?;
                Ok(Some(id))
            }
            // Dropping the transaction rolls back the customer row too.
            Err(e) if is_idempotency_key_taken(&e) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The purchase recorded under an idempotency key, if any.
    pub async fn purchase_by_idempotency_key(&self, key: &str) -> Result<Option<Purchase>> {
        let row: Option<PurchaseRow> = with_db!(&self.db, c => {
            sqlx::query_as("SELECT * FROM purchases WHERE idempotency_key = $1")
                .bind(key)
                .fetch_optional(c)
                .await?
        });
        row.map(Purchase::try_from).transpose()
    }
}

impl Tx {
    /// Records a paid purchase (and its customer) in `state`: `ordering`,
    /// or `refunding` for a payment that cannot be honoured.
    pub async fn insert_purchase(
        &mut self,
        p: &NewPurchase,
        state: PurchaseState,
        now: Millis,
    ) -> Result<i64> {
        self.insert_purchase_row(p, state, None, now).await
    }

    /// [`Tx::insert_purchase`], with the caller's idempotency key (if any)
    /// written by the same INSERT, so that the UNIQUE index sees the key
    /// and the purchase as one.
    async fn insert_purchase_row(
        &mut self,
        p: &NewPurchase,
        state: PurchaseState,
        idempotency_key: Option<&str>,
        now: Millis,
    ) -> Result<i64> {
        let sale = &p.sale;
        let signature = Signature::of(&sale.product_id, sale.quantity, &sale.note);
        let id: i64 = with_tx!(self, c => {
            sqlx::query(
                "INSERT INTO customers (user_id, chat_id, language, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $4) ON CONFLICT (user_id) DO NOTHING",
            )
            .bind(p.user_id.0)
            .bind(p.chat_id)
            .bind(p.language.code())
            .bind(now)
            .execute(&mut *c)
            .await?;
            sqlx::query_scalar(
                "INSERT INTO purchases (client_ref, user_id, chat_id, product_id, product_name, \
                     quantity, note, signature, unit_price, order_price, currency, stars, source, \
                     telegram_charge_id, state, next_action_at, created_at, updated_at, \
                     state_since, idempotency_key) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9, $10, $11, $12, $13, $15, \
                     $14, $14, $14, $14, $16) RETURNING id",
            )
            .bind(p.client_ref.to_string())
            .bind(p.user_id.0)
            .bind(p.chat_id)
            .bind(sale.product_id.as_str())
            .bind(&sale.product_name)
            .bind(sale.quantity.get())
            .bind(sale.note.canonical())
            .bind(signature.as_str())
            .bind(sale.unit_price.map(|m| m.to_string()))
            .bind(&sale.currency)
            .bind(sale.stars)
            .bind(p.source.as_str())
            .bind(p.telegram_charge_id.as_deref())
            .bind(now)
            .bind(state.as_str())
            .bind(idempotency_key)
            .fetch_one(&mut *c)
            .await?
        });
        self.record_event(
            Some(id),
            EventKind::Created,
            None,
            Some(state),
            Some(0),
            "",
            &serde_json::json!({ "source": p.source.as_str(), "stars": sale.stars }),
            now,
        )
        .await?;
        Ok(id)
    }
}
