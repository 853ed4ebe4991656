//! `refunds`: one row per purchase, ever (UNIQUE), claimed before
//! `refundStarPayment` is called, confirmed when Telegram says so.

use super::{Result, StoreError, Tx, with_tx};
use crate::clock::Millis;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefundState {
    /// Claimed; a call may be in flight or may have failed.
    Claimed,
    /// Telegram confirmed it (or said it was already refunded).
    Confirmed,
}

impl RefundState {
    pub fn as_str(self) -> &'static str {
        match self {
            RefundState::Claimed => "claimed",
            RefundState::Confirmed => "confirmed",
        }
    }
}

#[derive(Debug, Clone, sqlx::FromRow)]
struct RefundRow {
    id: i64,
    purchase_id: i64,
    telegram_charge_id: Option<String>,
    stars: i64,
    reason: String,
    state: String,
    tries: i64,
    last_error: Option<String>,
    claimed_at: i64,
    confirmed_at: Option<i64>,
}

#[derive(Debug, Clone)]
pub struct Refund {
    pub id: i64,
    pub purchase_id: i64,
    pub telegram_charge_id: Option<String>,
    pub stars: i64,
    pub reason: String,
    pub state: RefundState,
    /// Calls to `refundStarPayment` started, this one included.
    pub tries: i64,
    pub last_error: Option<String>,
    pub claimed_at: Millis,
    pub confirmed_at: Option<Millis>,
}

impl TryFrom<RefundRow> for Refund {
    type Error = StoreError;
    fn try_from(r: RefundRow) -> Result<Self> {
        let state = match r.state.as_str() {
            "claimed" => RefundState::Claimed,
            "confirmed" => RefundState::Confirmed,
            other => {
                return Err(StoreError::Corrupt(format!(
                    "refund {}: state {other:?}",
                    r.id
                )));
            }
        };
        Ok(Refund {
            id: r.id,
            purchase_id: r.purchase_id,
            telegram_charge_id: r.telegram_charge_id,
            stars: r.stars,
            reason: r.reason,
            state,
            tries: r.tries,
            last_error: r.last_error,
            claimed_at: r.claimed_at,
            confirmed_at: r.confirmed_at,
        })
    }
}

/// What a refund claim records.
#[derive(Debug, Clone)]
pub struct NewRefund<'a> {
    pub purchase_id: i64,
    pub telegram_charge_id: &'a str,
    pub stars: i64,
    pub reason: &'a str,
}

impl Tx {
    /// Claims the refund of a purchase before Telegram is called: creates
    /// its row or finds the one there is, and counts one more try.
    pub async fn claim_refund(&mut self, r: &NewRefund<'_>, now: Millis) -> Result<Refund> {
        let row: RefundRow = with_tx!(self, c => {
            sqlx::query(
                "INSERT INTO refunds (purchase_id, telegram_charge_id, stars, reason, state, claimed_at) \
                 VALUES ($1, $2, $3, $4, 'claimed', $5) ON CONFLICT (purchase_id) DO NOTHING",
            )
            .bind(r.purchase_id)
            .bind(r.telegram_charge_id)
            .bind(r.stars)
            .bind(r.reason)
            .bind(now)
            .execute(&mut *c)
            .await?;
            // One more try, unless it is already confirmed.
            sqlx::query("UPDATE refunds SET tries = tries + 1 WHERE purchase_id = $1 AND state = 'claimed'")
                .bind(r.purchase_id)
                .execute(&mut *c)
                .await?;
            sqlx::query_as("SELECT * FROM refunds WHERE purchase_id = $1")
                .bind(r.purchase_id)
                .fetch_one(&mut *c)
                .await?
        });
        Refund::try_from(row)
    }

    /// Telegram confirmed it.
    pub async fn confirm_refund(&mut self, id: i64, now: Millis) -> Result<()> {
        with_tx!(self, c => {
            sqlx::query(
                "UPDATE refunds SET state = 'confirmed', confirmed_at = $1, last_error = NULL \
                 WHERE id = $2 AND state = 'claimed'",
            )
            .bind(now)
            .bind(id)
            .execute(&mut *c)
            .await?;
        });
        Ok(())
    }

    pub async fn refund_failed(&mut self, id: i64, error: &str) -> Result<()> {
        with_tx!(self, c => {
            sqlx::query("UPDATE refunds SET last_error = $1 WHERE id = $2")
                .bind(error)
                .bind(id)
                .execute(&mut *c)
                .await?;
        });
        Ok(())
    }
}

impl super::Store {
    pub async fn refund_of(&self, purchase_id: i64) -> Result<Option<Refund>> {
        let row: Option<RefundRow> = super::with_db!(&self.db, c => {
            sqlx::query_as("SELECT * FROM refunds WHERE purchase_id = $1")
                .bind(purchase_id)
                .fetch_optional(c)
                .await?
        });
        row.map(Refund::try_from).transpose()
    }
}
