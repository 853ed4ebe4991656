//! Creating the supplier order, safely.
//!
//! The API has no idempotency key: a create sent twice makes two orders. So a
//! create is only ever sent from `ordering`, after `submitting` (and the
//! attempt row that holds the signature's lock) is committed; any outcome we
//! cannot read goes to reconciliation, never to a retry.
//!
//! A create reaches the wire within a bounded time of `submitting`, or never:
//! its turn in the supplier budget is taken *before* the commit (a 429 pause
//! can hold a waiting call for an hour, long after its lease), and it carries
//! a send-by instant the client checks right before sending. The attempt
//! records the last instant the request could still reach the supplier
//! (`reach_by`), and the settle delay counts from there.

use crate::clock::millis;

use super::{Inner, MAX_CREATES, Next, Result, transitions};
use crate::crash;
use rust_decimal::Decimal;

use crate::domain::{
    DeadLetterReason, HoldReason, Money, PurchaseState, RefundCause, SupplierOrderId, Watermark,
};
use crate::foxreload::{NewOrder, Order, OrderStatus, RejectCode, Rejection, SupplierError};
use crate::store::{AttemptState, NewAttempt, Purchase, SupplierAttempt, Transition};

impl Inner {
    /// `ordering`: start one create attempt and send it, in four phases:
    /// preflight, the budget slot and the watermark, the commit, the call.
    pub(super) async fn start_create(&self, worker: &str, p: &Purchase) -> Result<Next> {
        if let Some(next) = self.create_preflight(worker, p).await? {
            return Ok(next);
        }
        // The slot first: whatever the budget makes us wait, we wait before
        // anything is committed. Then the watermark, fresh at the commit.
        crash::point("awaiting_write_slot");
        let slot = self.supplier.write_slot().await;
        let watermark = match self.watermark().await {
            Ok(w) => w,
            Err(SupplierError::Rejected(r)) if r.code == RejectCode::Unauthorized => {
                return self.hold(worker, p, &r.code, PurchaseState::Ordering).await;
            }
            Err(e) => return self.retry_later(worker, p, &e).await,
        };
        let Some((attempt_id, send_by)) = self.commit_submitting(worker, p, &watermark).await?
        else {
            return Ok(Next::Stop);
        };
        crash::point("after_submitting");

        let total_price = p.order_price.and_then(|unit| unit.times(p.quantity.get()));
        let outcome = self
            .supplier
            .create_order(
                &NewOrder {
                    item: &p.product_id,
                    quantity: p.quantity,
                    note: &p.note,
                    total_price,
                },
                slot.send_by(send_by, self.clock.clone()),
            )
            .await;
        crash::point("after_create_call");

        // What we committed: every transition below is a compare-and-set on
        // it, so if another worker took the purchase over meanwhile, we lose.
        let mut p = p.clone();
        p.state = PurchaseState::Submitting;
        p.current_attempt_id = Some(attempt_id);
        self.create_outcome(worker, &p, attempt_id, outcome).await
    }

    /// Checks that stop a create before it starts: too many creates, or
    /// another unresolved create with the same signature.
    async fn create_preflight(&self, worker: &str, p: &Purchase) -> Result<Option<Next>> {
        if p.order_attempts >= MAX_CREATES {
            let reason = RefundCause::CreatesExhausted {
                attempts: MAX_CREATES,
            };
            return self.refund(worker, p, reason, true).await.map(Some);
        }
        // One unresolved create per signature: queue behind it. (The unique
        // index enforces this; checking first just avoids a failed insert.)
        if let Some(other) = self.store.unresolved_attempt(&p.signature).await? {
            if other.purchase_id == p.id {
                // Our own create is still in doubt: decide it, never send another.
                let t = transitions::own_unresolved_found(p, other.id, self.now());
                return self.apply(worker, p, t).await.map(Some);
            }
            return self.queue_behind_unresolved(worker, p).await.map(Some);
        }
        Ok(None)
    }

    /// Commits the attempt and `submitting` together, extending the lease
    /// over the call. Returns the attempt and its send-by instant, or `None`
    /// if the purchase was lost or queued.
    async fn commit_submitting(
        &self,
        worker: &str,
        p: &Purchase,
        watermark: &Watermark,
    ) -> Result<Option<(i64, crate::clock::Millis)>> {
        if !self.keep_lease(worker, p).await? {
            return Ok(None);
        }
        let now = self.now();
        let send_by = now.saturating_add(millis(self.cfg.send_window()));
        let mut tx = self.store.begin().await?;
        let attempt_id = match tx
            .insert_attempt(&NewAttempt {
                purchase_id: p.id,
                signature: p.signature.clone(),
                watermark: watermark.clone(),
                started_at: now,
                reach_by: self.cfg.reach_by(now),
            })
            .await
        {
            Ok(id) => id,
            Err(e) if e.is_conflict() => {
                drop(tx);
                self.queue_behind_unresolved(worker, p).await?;
                return Ok(None);
            }
            Err(e) => return Err(e.into()),
        };
        let t = transitions::create_sent(p, attempt_id, watermark, send_by).by(worker);
        if !tx.transition(&t, now).await?.applied() {
            return Ok(None);
        }
        tx.commit().await?;
        Ok(Some((attempt_id, send_by)))
    }

    /// Records what the create call said.
    async fn create_outcome(
        &self,
        worker: &str,
        p: &Purchase,
        attempt_id: i64,
        outcome: std::result::Result<Order, SupplierError>,
    ) -> Result<Next> {
        match outcome {
            Ok(order) => self.created(worker, p, attempt_id, order).await,
            Err(SupplierError::Ambiguous(why)) => {
                self.to_reconciling(worker, p, attempt_id, &why).await
            }
            Err(SupplierError::RetryLater {
                reason,
                retry_after,
            }) => {
                // It never reached the supplier: the attempt is over, nothing made.
                let wait = retry_after.unwrap_or_else(|| self.backoff(p));
                let t = transitions::create_not_sent(p, self.after(wait), &reason);
                self.close_attempt(worker, p, attempt_id, AttemptState::NotSent, &reason, t)
                    .await
            }
            Err(SupplierError::Rejected(r)) => self.create_rejected(worker, p, attempt_id, r).await,
        }
    }

    /// The create answered with an order: noted on the attempt, linked,
    /// and paid at once while this worker still holds the purchase.
    async fn created(
        &self,
        worker: &str,
        p: &Purchase,
        attempt_id: i64,
        order: Order,
    ) -> Result<Next> {
        if !order.answers(&p.product_id, p.quantity.get(), &p.note) {
            // Not what we asked for: never pay it; the history decides.
            return self
                .to_reconciling(
                    worker,
                    p,
                    attempt_id,
                    "the create reply does not match the request",
                )
                .await;
        }
        // The fact goes on the attempt first, whoever holds the
        // purchase: if our lease was lost meanwhile, the next holder
        // adopts this order instead of making another.
        let _ = self
            .store
            .note_attempt_order(attempt_id, &order.id, self.now())
            .await?;
        let next = self
            .link(
                worker,
                p,
                attempt_id,
                AttemptState::Created,
                &order.id,
                Some(&order.status),
            )
            .await?;
        // The reply that linked the order says it is `active`, and
        // this worker still holds the purchase (no crash, no
        // takeover in between): pay on it, without reading the
        // order again. Anything else reads it first.
        match next {
            Next::Continue(linked)
                if linked.state == PurchaseState::Ordered
                    && order.status == OrderStatus::Active
                    && linked.supplier_order_id.as_ref() == Some(&order.id) =>
            {
                self.pay_active(worker, &linked, &order).await
            }
            next => Ok(next),
        }
    }

    /// Another purchase's create with the same signature is unresolved:
    /// look again after a poll interval. The wait has the state clock of
    /// `ordering` over it: past the stall thresholds admins hear of it.
    async fn queue_behind_unresolved(&self, worker: &str, p: &Purchase) -> Result<Next> {
        let at = self.after(self.cfg.poll_interval);
        self.reschedule(
            worker,
            p,
            at,
            "waiting for an unresolved order with the same item and note",
        )
        .await
    }

    /// Resolves the attempt and applies the purchase transition together.
    async fn close_attempt(
        &self,
        worker: &str,
        p: &Purchase,
        attempt_id: i64,
        to: AttemptState,
        outcome: &str,
        t: Transition,
    ) -> Result<Next> {
        let now = self.now();
        let t = t.by(worker);
        let mut tx = self.store.begin().await?;
        let _ = tx
            .resolve_attempt(
                attempt_id,
                &[AttemptState::Submitting],
                to,
                None,
                outcome,
                now,
            )
            .await?;
        if !tx.transition(&t, now).await?.applied() {
            return Ok(Next::Stop);
        }
        tx.commit().await?;
        self.next_after(worker, p.id, p.fence).await
    }

    /// The create's outcome is unknown: wait for the settle delay after the
    /// last instant it could reach the supplier, then read the history.
    async fn to_reconciling(
        &self,
        worker: &str,
        p: &Purchase,
        attempt_id: i64,
        why: &str,
    ) -> Result<Next> {
        let reach_by = self
            .store
            .attempt(attempt_id)
            .await?
            .map_or(self.now(), |a| a.reach_by);
        let settle_at = reach_by.saturating_add(millis(self.cfg.settle_delay));
        let now = self.now();
        let t = transitions::create_ambiguous(p, attempt_id, settle_at, why).by(worker);
        let mut tx = self.store.begin().await?;
        let _ = tx
            .resolve_attempt(
                attempt_id,
                &[AttemptState::Submitting],
                AttemptState::Unknown,
                None,
                why,
                now,
            )
            .await?;
        if !tx.transition(&t, now).await?.applied() {
            return Ok(Next::Stop);
        }
        tx.commit().await?;
        tracing::info!(
            purchase = p.id,
            attempt = attempt_id,
            why,
            "create outcome unknown; reconciling"
        );
        Ok(Next::Stop)
    }

    /// A definite refusal: nothing was made.
    async fn create_rejected(
        &self,
        worker: &str,
        p: &Purchase,
        attempt_id: i64,
        r: Rejection,
    ) -> Result<Next> {
        let outcome = r.to_string();
        let now = self.now();
        let t = match r.code {
            RejectCode::BalanceNotEnough | RejectCode::Unauthorized => {
                let t = self.hold_transition(p, &r.code, PurchaseState::Ordering);
                let next = self
                    .close_attempt(worker, p, attempt_id, AttemptState::Rejected, &outcome, t)
                    .await?;
                self.alert_hold(p, &r.code).await?;
                return Ok(next);
            }
            RejectCode::OfferPriceNotMatched => {
                // Re-quote: a read, harmless. Within tolerance of what the
                // customer paid for, offer the new price; beyond it, refund.
                match self.supplier.product(&p.product_id).await.map(|q| q.price) {
                    Ok(Some(price)) if self.price_acceptable(p, price) => {
                        transitions::price_requoted(p, price, now)
                    }
                    Ok(_) => transitions::refund_needed(p, &RefundCause::PriceRose, now),
                    Err(e) => transitions::create_rejected(
                        p,
                        self.after(self.backoff(p)),
                        &format!("re-quote failed: {e}"),
                    ),
                }
            }
            _ => transitions::refund_needed(p, &RefundCause::OrderRefused(outcome.clone()), now),
        };
        self.close_attempt(worker, p, attempt_id, AttemptState::Rejected, &outcome, t)
            .await
    }

    /// `submitting` found on a claim: the worker that sent it is gone. The
    /// create may have been sent, so it is reconciled, never re-sent.
    pub(super) async fn resume_submitting(&self, worker: &str, p: &Purchase) -> Result<Next> {
        let Some(attempt) = self.current_attempt(p).await? else {
            return self
                .dead_letter(
                    worker,
                    p,
                    DeadLetterReason::NoAttemptRecord(PurchaseState::Submitting),
                    serde_json::json!({}),
                )
                .await;
        };
        if let Some(order) = attempt.supplier_order_id.clone() {
            // A reply arrived after its worker lost the purchase: adopt it.
            return self
                .link(worker, p, attempt.id, AttemptState::Created, &order, None)
                .await;
        }
        self.to_reconciling(
            worker,
            p,
            attempt.id,
            "the worker stopped while the create was in flight",
        )
        .await
    }

    pub(super) async fn current_attempt(&self, p: &Purchase) -> Result<Option<SupplierAttempt>> {
        match p.current_attempt_id {
            Some(id) => Ok(self
                .store
                .attempt(id)
                .await?
                .filter(|a| a.purchase_id == p.id)),
            None => Ok(None),
        }
    }

    /// Ties a supplier order to the purchase (and its attempt). If the order
    /// is already paid (accounts that pay on creation), pay is skipped.
    pub(super) async fn link(
        &self,
        worker: &str,
        p: &Purchase,
        attempt_id: i64,
        how: AttemptState,
        order: &SupplierOrderId,
        status: Option<&OrderStatus>,
    ) -> Result<Next> {
        let now = self.now();
        let t = transitions::order_linked(p, attempt_id, order, how, status, now).by(worker);
        let mut tx = self.store.begin().await?;
        // The attempt may already be resolved (a late reply noted on it);
        // the purchase transition below is what must not lose.
        let _ = tx
            .resolve_attempt(
                attempt_id,
                &[AttemptState::Submitting, AttemptState::Unknown],
                how,
                Some(order),
                "linked",
                now,
            )
            .await?;
        match tx.transition(&t, now).await {
            Ok(cas) if cas.applied() => {}
            Ok(_) => return Ok(Next::Stop),
            Err(e) if e.is_conflict() => {
                // The order is linked to another purchase. Roll back, then
                // dead-letter and abandon the attempt in one transaction: its
                // signature's lock is never left held.
                drop(tx);
                let evidence = serde_json::json!({ "order": order, "attempt": attempt_id });
                let mut p = p.clone();
                p.current_attempt_id = Some(attempt_id);
                return self
                    .dead_letter(worker, &p, DeadLetterReason::OrderLinkedElsewhere, evidence)
                    .await;
            }
            Err(e) => return Err(e.into()),
        }
        tx.commit().await?;
        crash::point(if how == AttemptState::Found {
            "after_reconcile_link"
        } else {
            "after_link"
        });
        tracing::info!(purchase = p.id, order = %order, how = how.as_str(), "supplier order linked");
        self.next_after(worker, p.id, p.fence).await
    }

    /// Whether the supplier may be paid `unit` for what the customer bought
    /// at `p.unit_price`.
    pub(super) fn price_acceptable(&self, p: &Purchase, unit: Money) -> bool {
        p.unit_price
            .is_none_or(|sold_at| within_tolerance(sold_at, self.cfg.price_tolerance_percent, unit))
    }

    /// The order's total is within tolerance of the sale (when both known).
    pub(super) fn total_acceptable(&self, p: &Purchase, order: &Order) -> bool {
        match (order.total_price, p.unit_price) {
            (Some(total), Some(_)) => {
                let qty = rust_decimal::Decimal::from(p.quantity.get());
                match total.decimal().checked_div(qty) {
                    Some(unit) => self.price_acceptable(p, Money::new(unit)),
                    None => false,
                }
            }
            _ => true,
        }
    }

    /// The hold a refusal (low balance, refused key) calls for.
    pub(super) fn hold_transition(
        &self,
        p: &Purchase,
        code: &RejectCode,
        resume: PurchaseState,
    ) -> Transition {
        transitions::on_hold(
            p,
            hold_reason(code),
            code.as_str(),
            resume,
            self.now(),
            self.after(self.cfg.hold_check()),
        )
    }

    /// The hold a refused pay (low balance, refused key) calls for.
    pub(super) fn pay_hold_transition(&self, p: &Purchase, code: &RejectCode) -> Transition {
        transitions::pay_refused(
            p,
            hold_reason(code),
            code.as_str(),
            self.now(),
            self.after(self.cfg.hold_check()),
        )
    }
}

/// What a refusal that puts a purchase on hold waits for.
fn hold_reason(code: &RejectCode) -> HoldReason {
    if *code == RejectCode::Unauthorized {
        HoldReason::Auth
    } else {
        HoldReason::Balance
    }
}

/// `unit` is at most `sold_at` plus `tolerance_percent`. Arithmetic that
/// would overflow says no: never a panic, never a yes by accident.
pub fn within_tolerance(sold_at: Money, tolerance_percent: Decimal, unit: Money) -> bool {
    let limit = tolerance_percent
        .checked_div(Decimal::ONE_HUNDRED)
        .and_then(|f| f.checked_add(Decimal::ONE))
        .and_then(|f| sold_at.decimal().checked_mul(f));
    limit.is_some_and(|limit| unit.decimal() <= limit)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(s: &str) -> Money {
        Money::parse(s).unwrap()
    }

    #[test]
    fn tolerance_is_exact_and_overflow_says_no() {
        let five = Decimal::new(5, 0);
        assert!(within_tolerance(m("10.00"), five, m("10.50")));
        assert!(!within_tolerance(m("10.00"), five, m("10.51")));
        // Decimal's largest value times 1.05 overflows: refused, no panic.
        let huge = Money::new(Decimal::MAX);
        assert!(!within_tolerance(huge, five, m("1")));
    }
}
