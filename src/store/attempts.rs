//! Supplier create attempts: what was sent (or may have been), what we knew
//! before sending it, and how it was resolved.

use sqlx::AssertSqlSafe;

use super::{Cas, Result, Store, StoreError, Tx, json_strings, with_db, with_tx};
use crate::clock::Millis;
use crate::domain::{Signature, SupplierOrderId, Watermark};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AttemptState {
    /// Committed right before the call: it may have reached the supplier.
    Submitting,
    /// The call's outcome is unknown; reconciliation will decide.
    Unknown,
    /// The supplier answered with the order.
    Created,
    /// Reconciliation found the order in the supplier's history.
    Found,
    /// Reconciliation proved no order was made.
    Absent,
    /// The supplier refused it; nothing was made.
    Rejected,
    /// It never left (rate limited before sending, connection refused).
    NotSent,
    /// Undecidable; a person must look (the purchase is dead-lettered).
    Abandoned,
}

impl AttemptState {
    const ALL: [AttemptState; 8] = [
        AttemptState::Submitting,
        AttemptState::Unknown,
        AttemptState::Created,
        AttemptState::Found,
        AttemptState::Absent,
        AttemptState::Rejected,
        AttemptState::NotSent,
        AttemptState::Abandoned,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AttemptState::Submitting => "submitting",
            AttemptState::Unknown => "unknown",
            AttemptState::Created => "created",
            AttemptState::Found => "found",
            AttemptState::Absent => "absent",
            AttemptState::Rejected => "rejected",
            AttemptState::NotSent => "not_sent",
            AttemptState::Abandoned => "abandoned",
        }
    }

    fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }

    /// Holds the signature's lock: may have made an order nobody has linked.
    pub fn is_unresolved(self) -> bool {
        matches!(self, AttemptState::Submitting | AttemptState::Unknown)
    }
}

#[derive(Debug, Clone)]
pub struct NewAttempt {
    pub purchase_id: i64,
    pub signature: Signature,
    /// The newest supplier order known to exist before this attempt.
    pub watermark: Watermark,
    pub started_at: Millis,
    /// The last instant the request may still reach the supplier: it is
    /// sent by a send-by instant or not at all, and a request on the wire
    /// gives up after the client's timeout.
    pub reach_by: Millis,
}

#[derive(Debug, Clone, sqlx::FromRow)]
struct AttemptRow {
    id: i64,
    purchase_id: i64,
    signature: String,
    state: String,
    watermark: Option<String>,
    started_at: i64,
    reach_by: Option<i64>,
    clean_scans: i64,
    supplier_order_id: Option<String>,
    outcome: Option<String>,
    resolved_at: Option<i64>,
}

#[derive(Debug, Clone)]
pub struct SupplierAttempt {
    pub id: i64,
    pub purchase_id: i64,
    pub signature: Signature,
    pub state: AttemptState,
    /// `None` only on rows written before watermarks were kept.
    pub watermark: Option<Watermark>,
    pub started_at: Millis,
    /// See [`NewAttempt::reach_by`]; rows from before it was kept use
    /// their start.
    pub reach_by: Millis,
    pub clean_scans: i64,
    pub supplier_order_id: Option<SupplierOrderId>,
    pub outcome: Option<String>,
    pub resolved_at: Option<Millis>,
}

impl TryFrom<AttemptRow> for SupplierAttempt {
    type Error = StoreError;
    fn try_from(r: AttemptRow) -> Result<Self> {
        let state = AttemptState::parse(&r.state)
            .ok_or_else(|| StoreError::Corrupt(format!("attempt {}: state {:?}", r.id, r.state)))?;
        let supplier_order_id = r
            .supplier_order_id
            .as_deref()
            .map(SupplierOrderId::parse)
            .transpose()
            .map_err(|e| StoreError::Corrupt(format!("attempt {}: {e}", r.id)))?;
        let watermark = r
            .watermark
            .as_deref()
            .map(Watermark::parse_stored)
            .transpose()
            .map_err(|e| StoreError::Corrupt(format!("attempt {}: {e}", r.id)))?;
        Ok(SupplierAttempt {
            id: r.id,
            purchase_id: r.purchase_id,
            signature: Signature::from_stored(r.signature),
            state,
            watermark,
            started_at: r.started_at,
            reach_by: r.reach_by.unwrap_or(r.started_at),
            clean_scans: r.clean_scans,
            supplier_order_id,
            outcome: r.outcome,
            resolved_at: r.resolved_at,
        })
    }
}

impl Tx {
    /// Starts an attempt in state `submitting`. If another create with the
    /// same signature is unresolved, the partial unique index refuses it
    /// with [`StoreError::Conflict`].
    pub async fn insert_attempt(&mut self, a: &NewAttempt) -> Result<i64> {
        let id: i64 = with_tx!(self, c => {
            sqlx::query_scalar(
                "INSERT INTO supplier_attempts \
                     (purchase_id, signature, state, watermark, started_at, reach_by) \
                 VALUES ($1, $2, 'submitting', $3, $4, $5) RETURNING id",
            )
            .bind(a.purchase_id)
            .bind(a.signature.as_str())
            .bind(a.watermark.as_stored())
            .bind(a.started_at)
            .bind(a.reach_by)
            .fetch_one(&mut *c)
            .await?
        });
        Ok(id)
    }

    /// Moves an attempt from one of `from` to `to`, compare-and-set.
    pub async fn resolve_attempt(
        &mut self,
        id: i64,
        from: &[AttemptState],
        to: AttemptState,
        order: Option<&SupplierOrderId>,
        outcome: &str,
        now: Millis,
    ) -> Result<Cas> {
        let from: Vec<&str> = from.iter().map(|s| s.as_str()).collect();
        let resolved_at = (!to.is_unresolved()).then_some(now);
        let sql = format!(
            "UPDATE supplier_attempts SET state = $1, \
                 supplier_order_id = COALESCE($2, supplier_order_id), \
                 outcome = $3, resolved_at = $4 \
             WHERE id = $5 AND state IN ({})",
            self.backend().json_list(6)
        );
        let rows = with_tx!(self, c => {
            sqlx::query(AssertSqlSafe(sql))
                .bind(to.as_str())
                .bind(order.map(|o| o.as_str()))
                .bind(outcome)
                .bind(resolved_at)
                .bind(id)
                .bind(json_strings(&from))
                .execute(&mut *c)
                .await?
                .rows_affected()
        });
        Ok(Cas::from_rows(rows))
    }

    /// Marks an ambiguous attempt absent, unless a reply was noted on it
    /// (or it moved on) meanwhile: compare-and-set in one statement, so a
    /// noted order always wins over absence.
    pub async fn mark_attempt_absent(&mut self, id: i64, now: Millis) -> Result<Cas> {
        let rows = with_tx!(self, c => {
            sqlx::query(
                "UPDATE supplier_attempts SET state = 'absent', resolved_at = $1, \
                     outcome = 'not in history after the settle delay and two scans' \
                 WHERE id = $2 AND state = 'unknown' AND supplier_order_id IS NULL",
            )
            .bind(now)
            .bind(id)
            .execute(&mut *c)
            .await?
            .rows_affected()
        });
        Ok(Cas::from_rows(rows))
    }

    pub async fn set_clean_scans(&mut self, id: i64, scans: i64) -> Result<()> {
        with_tx!(self, c => {
            sqlx::query("UPDATE supplier_attempts SET clean_scans = $1 WHERE id = $2")
                .bind(scans)
                .bind(id)
                .execute(&mut *c)
                .await?;
        });
        Ok(())
    }
}

impl Store {
    pub async fn attempt(&self, id: i64) -> Result<Option<SupplierAttempt>> {
        let row: Option<AttemptRow> = with_db!(&self.db, c => {
            sqlx::query_as("SELECT * FROM supplier_attempts WHERE id = $1")
                .bind(id)
                .fetch_optional(c)
                .await?
        });
        row.map(SupplierAttempt::try_from).transpose()
    }

    pub async fn attempts_of(&self, purchase_id: i64) -> Result<Vec<SupplierAttempt>> {
        let rows: Vec<AttemptRow> = with_db!(&self.db, c => {
            sqlx::query_as("SELECT * FROM supplier_attempts WHERE purchase_id = $1 ORDER BY id")
                .bind(purchase_id)
                .fetch_all(c)
                .await?
        });
        rows.into_iter().map(SupplierAttempt::try_from).collect()
    }

    /// The create with this signature that may still have made an order
    /// nobody linked, if any.
    pub async fn unresolved_attempt(
        &self,
        signature: &Signature,
    ) -> Result<Option<SupplierAttempt>> {
        let row: Option<AttemptRow> = with_db!(&self.db, c => {
            sqlx::query_as(
                "SELECT * FROM supplier_attempts \
                 WHERE signature = $1 AND state IN ('submitting', 'unknown')",
            )
            .bind(signature.as_str())
            .fetch_optional(c)
            .await?
        });
        row.map(SupplierAttempt::try_from).transpose()
    }

    /// A fact learned late (the response to an attempt a worker had given
    /// up on): kept on the attempt whatever state it is in, so the
    /// reconciler adopts this order instead of making another.
    /// The purchase waiting on the attempt is made due at once (`now`):
    /// moving a due time earlier is harmless, as whoever claims it re-reads
    /// everything.
    pub async fn note_attempt_order(
        &self,
        id: i64,
        order: &SupplierOrderId,
        now: Millis,
    ) -> Result<Cas> {
        let mut tx = self.begin().await?;
        let rows = with_tx!(&mut tx, c => {
            let rows = sqlx::query(
                "UPDATE supplier_attempts SET supplier_order_id = $1 \
                 WHERE id = $2 AND supplier_order_id IS NULL",
            )
            .bind(order.as_str())
            .bind(id)
            .execute(&mut *c)
            .await?
            .rows_affected();
            sqlx::query(
                "UPDATE purchases SET next_action_at = $1 \
                 WHERE current_attempt_id = $2 AND state IN ('submitting', 'reconciling') \
                   AND next_action_at > $1",
            )
            .bind(now)
            .bind(id)
            .execute(&mut *c)
            .await?;
            rows
        });
        tx.commit().await?;
        Ok(Cas::from_rows(rows))
    }

    /// Of `orders`, those already tied to a purchase other than `purchase_id`
    /// (linked, or answered to one of its attempts).
    pub async fn orders_taken_by_others(
        &self,
        orders: &[SupplierOrderId],
        purchase_id: i64,
    ) -> Result<Vec<SupplierOrderId>> {
        if orders.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<&str> = orders.iter().map(|o| o.as_str()).collect();
        let list = self.backend().json_list(1);
        let sql = format!(
            "SELECT supplier_order_id FROM purchases \
             WHERE id <> $2 AND supplier_order_id IN ({list}) \
             UNION \
             SELECT supplier_order_id FROM supplier_attempts \
             WHERE purchase_id <> $2 AND supplier_order_id IN ({list})"
        );
        let taken: Vec<String> = with_db!(&self.db, c => {
            sqlx::query_scalar(AssertSqlSafe(sql))
                .bind(json_strings(&ids))
                .bind(purchase_id)
                .fetch_all(c)
                .await?
        });
        taken
            .iter()
            .map(|t| SupplierOrderId::parse(t).map_err(|e| StoreError::Corrupt(e.to_string())))
            .collect()
    }
}
