//! What the admin commands read (stalled purchases, money paid to the
//! supplier, today's figures), and the columns an admin's move writes
//! beside its transition, in the same transaction.

use sqlx::AssertSqlSafe;

use super::{Cas, Result, Store, StoreError, Tx, json_strings, with_db, with_tx};
use crate::clock::Millis;
use crate::domain::{Money, PurchaseState, RefundReason};

/// One purchase's wholesale cost and takings, for sums.
#[derive(Debug, Clone, PartialEq)]
pub struct CostRow {
    pub purchase_id: i64,
    /// The unit price offered to the supplier (after a re-quote), else the
    /// one the sale was based on; `None` if neither is known.
    pub unit_price: Option<Money>,
    pub quantity: i64,
    pub currency: String,
    pub stars: i64,
}

/// What happened in one span of time (a UTC day, for `/stats`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DayFigures {
    /// Purchases recorded in the span.
    pub purchases: i64,
    /// Purchases delivered in the span.
    pub delivered: Vec<CostRow>,
    /// Purchases whose refund was confirmed in the span, and their Stars.
    pub refunded: i64,
    pub refunded_stars: i64,
}

type CostTuple = (i64, Option<String>, Option<String>, i64, String, i64);

fn cost_row(
    (id, order_price, unit_price, quantity, currency, stars): CostTuple,
) -> Result<CostRow> {
    let price = order_price.or(unit_price);
    let unit_price = price
        .as_deref()
        .map(Money::parse)
        .transpose()
        .map_err(|e| StoreError::Corrupt(format!("purchase {id}: {e}")))?;
    Ok(CostRow {
        purchase_id: id,
        unit_price,
        quantity,
        currency,
        stars,
    })
}

/// Whether codes are stored for a purchase, and whether an admin withdrew
/// them from `/orders`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CodesStanding {
    pub stored: bool,
    pub withdrawn: bool,
}

/// The rows of `/stalled`: a dead letter, or an unfinished purchase in its
/// state since `stuck_before`.
const STALLED_WHERE: &str = "state = 'dead_letter' OR (state IN (JSON_LIST) AND state_since <= $2)";

impl Store {
    /// Every dead letter, and every purchase in one of `live` since
    /// `stuck_before` or earlier, oldest purchase first: up to `limit` ids,
    /// and how many there are in all.
    pub async fn stalled_ids(
        &self,
        live: &[PurchaseState],
        stuck_before: Millis,
        limit: i64,
    ) -> Result<(Vec<i64>, i64)> {
        let filter = STALLED_WHERE.replace("JSON_LIST", &self.backend().json_list(1));
        // Built from fixed fragments only.
        let list =
            format!("SELECT id FROM purchases WHERE {filter} ORDER BY created_at, id LIMIT $3");
        let count = format!("SELECT COUNT(*) FROM purchases WHERE {filter}");
        let names: Vec<&str> = live.iter().map(|s| s.as_str()).collect();
        let states = json_strings(&names);
        let (ids, total): (Vec<i64>, i64) = with_db!(&self.db, c => {
            let ids = sqlx::query_scalar(AssertSqlSafe(list))
                .bind(&states)
                .bind(stuck_before)
                .bind(limit)
                .fetch_all(c)
                .await?;
            let total = sqlx::query_scalar(AssertSqlSafe(count))
                .bind(&states)
                .bind(stuck_before)
                .fetch_one(c)
                .await?;
            (ids, total)
        });
        Ok((ids, total))
    }

    /// Whether `purchase`'s codes are stored, and withdrawn.
    pub async fn codes_standing(&self, purchase: i64) -> Result<CodesStanding> {
        let (stored, withdrawn): (i64, i64) = with_db!(&self.db, c => {
            sqlx::query_as(
                "SELECT (SELECT COUNT(*) FROM purchase_codes WHERE purchase_id = $1), \
                        (SELECT COUNT(*) FROM withdrawn_codes WHERE purchase_id = $1)",
            )
            .bind(purchase)
            .fetch_one(c)
            .await?
        });
        Ok(CodesStanding {
            stored: stored > 0,
            withdrawn: withdrawn > 0,
        })
    }

    /// Purchases first paid at the supplier in `[from, to)`: the first
    /// event that shows the supplier took the money (`order_paid`, an
    /// `order_linked` straight to `waiting_supplier` on an account that pays
    /// on creation, or `order_completed` seen before the payment was).
    pub async fn supplier_paid_between(&self, from: Millis, to: Millis) -> Result<Vec<CostRow>> {
        // A purchase paid at `t` was updated at `t` or later: the prefilter
        // keeps the event lookups to recent purchases (by their index).
        let rows: Vec<CostTuple> = with_db!(&self.db, c => {
            sqlx::query_as(
                "SELECT p.id, p.order_price, p.unit_price, p.quantity, p.currency, p.stars \
                 FROM purchases p \
                 JOIN (SELECT e.purchase_id AS pid, MIN(e.at) AS paid_at FROM events e \
                       WHERE e.purchase_id IN (SELECT id FROM purchases WHERE updated_at >= $1) \
                         AND (e.kind IN ('order_paid', 'order_completed') \
                              OR (e.kind = 'order_linked' AND e.to_state = 'waiting_supplier')) \
                       GROUP BY e.purchase_id) f ON f.pid = p.id \
                 WHERE f.paid_at >= $1 AND f.paid_at < $2 \
                 ORDER BY p.id",
            )
            .bind(from)
            .bind(to)
            .fetch_all(c)
            .await?
        });
        rows.into_iter().map(cost_row).collect()
    }

    /// Purchases recorded, delivered and refunded in `[from, to)`.
    pub async fn figures_between(&self, from: Millis, to: Millis) -> Result<DayFigures> {
        let (purchases, delivered, refunded): (i64, Vec<CostTuple>, (i64, i64)) = with_db!(&self.db, c => {
            let purchases = sqlx::query_scalar(
                "SELECT COUNT(*) FROM purchases WHERE created_at >= $1 AND created_at < $2",
            )
            .bind(from)
            .bind(to)
            .fetch_one(c)
            .await?;
            let delivered = sqlx::query_as(
                "SELECT id, order_price, unit_price, quantity, currency, stars FROM purchases \
                 WHERE state = 'delivered' AND finished_at >= $1 AND finished_at < $2 \
                 ORDER BY id",
            )
            .bind(from)
            .bind(to)
            .fetch_all(c)
            .await?;
            // SUM of a BIGINT is NUMERIC in PostgreSQL: cast it back.
            let refunded = sqlx::query_as(
                "SELECT COUNT(*), CAST(COALESCE(SUM(stars), 0) AS BIGINT) FROM purchases \
                 WHERE state = 'refunded' AND finished_at >= $1 AND finished_at < $2",
            )
            .bind(from)
            .bind(to)
            .fetch_one(c)
            .await?;
            (purchases, delivered, refunded)
        });
        Ok(DayFigures {
            purchases,
            delivered: delivered.into_iter().map(cost_row).collect::<Result<_>>()?,
            refunded: refunded.0,
            refunded_stars: refunded.1,
        })
    }
}

impl Tx {
    /// Why the buyer is refunded (what the refund notice tells them).
    pub async fn set_refund_reason(&mut self, purchase: i64, reason: RefundReason) -> Result<()> {
        with_tx!(self, c => {
            sqlx::query("UPDATE purchases SET refund_reason = $1 WHERE id = $2")
                .bind(reason.as_str())
                .bind(purchase)
                .execute(&mut *c)
                .await?;
        });
        Ok(())
    }

    /// Withdraws `purchase`'s codes from `/orders` (a "refund anyway"), now
    /// and if they are stored later; a second call keeps the first record.
    pub async fn withdraw_codes(&mut self, purchase: i64, by: &str, now: Millis) -> Result<()> {
        with_tx!(self, c => {
            sqlx::query(
                "INSERT INTO withdrawn_codes (purchase_id, withdrawn_at, withdrawn_by) \
                 VALUES ($1, $2, $3) ON CONFLICT (purchase_id) DO NOTHING",
            )
            .bind(purchase)
            .bind(now)
            .bind(by)
            .execute(&mut *c)
            .await?;
        });
        Ok(())
    }

    /// Makes a watched order due for a read of its own at the poller's next
    /// cycle, and gives a completed order without codes its reads again.
    pub async fn renew_supplier_reads(&mut self, purchase: i64) -> Result<()> {
        with_tx!(self, c => {
            sqlx::query(
                "UPDATE purchases SET last_checked_at = NULL, empty_reads = 0 WHERE id = $1",
            )
            .bind(purchase)
            .execute(&mut *c)
            .await?;
        });
        Ok(())
    }

    /// Puts a create that may have made an order (abandoned by a dead
    /// letter) back in doubt, to be reconciled from scratch: it takes its
    /// signature's lock again, so while another create with the same
    /// signature is unresolved the UNIQUE index refuses it
    /// ([`StoreError::Conflict`]) and the caller must roll back.
    pub async fn reopen_attempt(&mut self, attempt: i64, outcome: &str) -> Result<Cas> {
        let rows = with_tx!(self, c => {
            sqlx::query(
                "UPDATE supplier_attempts \
                 SET state = 'unknown', resolved_at = NULL, clean_scans = 0, outcome = $2 \
                 WHERE id = $1 AND state IN ('abandoned', 'submitting', 'unknown')",
            )
            .bind(attempt)
            .bind(outcome)
            .execute(&mut *c)
            .await?
            .rows_affected()
        });
        Ok(Cas::from_rows(rows))
    }
}
