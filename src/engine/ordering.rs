//! Creating the supplier order, safely.
//!
//! The API has no idempotency key: a create sent twice makes two orders. So a
//! create is only ever sent from `ordering`, after `submitting` (and the
//! attempt row that holds the signature's lock) is committed; any outcome we
//! cannot read goes to reconciliation, never to a retry.

use serde_json::json;

use crate::clock::millis;

use super::{Inner, MAX_CREATES, Next, Result};
use crate::crash;
use crate::domain::{PurchaseState, SupplierOrderId};
use crate::foxreload::{NewOrder, Order, OrderStatus, RejectCode, Rejection, SupplierError};
use crate::store::{AttemptState, Change, NewAttempt, Purchase, SupplierAttempt, Transition};

/// Where the newest supplier order id seen in the order history is kept.
pub(super) const HEAD_KEY: &str = "supplier.head";
/// A head older than this is read again before a create.
const HEAD_MAX_AGE_MS: i64 = 10 * 60 * 1000;

impl Inner {
    /// `ordering`: start one create attempt and send it.
    pub(super) async fn start_create(&self, worker: &str, p: &Purchase) -> Result<Next> {
        if p.order_attempts >= MAX_CREATES {
            let reason = format!("no supplier order could be placed in {MAX_CREATES} attempts");
            return self.refund(worker, p, &reason, true).await;
        }
        // One unresolved create per signature: queue behind it. (The unique
        // index enforces this; checking first just avoids a failed insert.)
        if let Some(other) = self.store.unresolved_attempt(&p.signature).await? {
            if other.purchase_id == p.id {
                // Our own create is still in doubt: decide it, never send another.
                let t = Transition::of(p, PurchaseState::Reconciling, "create_ambiguous")
                    .set(Change::CurrentAttempt(Some(other.id)))
                    .set(Change::NextActionAt(self.now()))
                    .detail(json!({ "attempt": other.id, "why": "unresolved attempt found" }));
                return self.apply(worker, p, t).await;
            }
            return self.queue_behind_unresolved(worker, p).await;
        }
        let watermark = match self.watermark().await {
            Ok(w) => w,
            Err(SupplierError::Rejected(r)) if r.code == RejectCode::Unauthorized => {
                return self.hold(worker, p, &r.code, PurchaseState::Ordering).await;
            }
            Err(e) => return self.retry_later(worker, p, &e).await,
        };
        if !self.keep_lease(worker, p).await? {
            return Ok(Next::Stop);
        }

        // Commit `submitting` right before the call: from here on, a crash
        // means "it may have been sent".
        let now = self.now();
        let mut tx = self.store.begin().await?;
        let attempt_id = match tx
            .insert_attempt(&NewAttempt {
                purchase_id: p.id,
                signature: p.signature.clone(),
                watermark: Some(watermark.clone()),
                started_at: now,
            })
            .await
        {
            Ok(id) => id,
            Err(e) if e.is_conflict() => {
                drop(tx);
                return self.queue_behind_unresolved(worker, p).await;
            }
            Err(e) => return Err(e.into()),
        };
        let t = Transition::of(p, PurchaseState::Submitting, "create_sent")
            .set(Change::CurrentAttempt(Some(attempt_id)))
            .set(Change::CountOrderAttempt)
            .set(Change::PaySentAt(None))
            .detail(json!({ "attempt": attempt_id, "watermark": watermark }))
            .by(worker);
        if !tx.transition(&t, now).await?.applied() {
            return Ok(Next::Stop);
        }
        tx.commit().await?;
        crash::point("after_submitting");

        let total_price = p.order_price.and_then(|unit| unit.times(p.quantity.get()));
        let outcome = self
            .supplier
            .create_order(&NewOrder {
                item: &p.product_id,
                quantity: p.quantity,
                note: &p.note,
                total_price,
            })
            .await;
        crash::point("after_create_call");

        // What we committed: every transition below is a compare-and-set on
        // it, so if another worker took the purchase over meanwhile, we lose.
        let mut p = p.clone();
        p.state = PurchaseState::Submitting;
        match outcome {
            Ok(order) => {
                if !order.answers(&p.product_id, p.quantity.get(), &p.note) {
                    // Not what we asked for: never pay it; the history decides.
                    return self
                        .to_reconciling(
                            worker,
                            &p,
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
                self.link(
                    worker,
                    &p,
                    attempt_id,
                    AttemptState::Created,
                    &order.id,
                    Some(&order.status),
                )
                .await
            }
            Err(SupplierError::Ambiguous(why)) => {
                self.to_reconciling(worker, &p, attempt_id, &why).await
            }
            Err(SupplierError::RetryLater {
                reason,
                retry_after,
            }) => {
                // It never reached the supplier: the attempt is over, nothing made.
                let wait = retry_after.unwrap_or_else(|| self.backoff(&p));
                let t = Transition::of(&p, PurchaseState::Ordering, "create_not_sent")
                    .set(Change::NextActionAt(self.after(wait)))
                    .set(Change::LastError(Some(reason.clone())))
                    .set(Change::ReleaseLease);
                self.close_attempt(worker, &p, attempt_id, AttemptState::NotSent, &reason, t)
                    .await
            }
            Err(SupplierError::Rejected(r)) => {
                self.create_rejected(worker, &p, attempt_id, r).await
            }
        }
    }

    /// Another purchase's create with the same signature is unresolved:
    /// look again after a poll interval.
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
        self.next_after(worker, p.id, p.attempt).await
    }

    /// The create's outcome is unknown: wait for the settle delay, then read
    /// the supplier's history.
    async fn to_reconciling(
        &self,
        worker: &str,
        p: &Purchase,
        attempt_id: i64,
        why: &str,
    ) -> Result<Next> {
        let started = self
            .store
            .attempt(attempt_id)
            .await?
            .map_or(self.now(), |a| a.started_at);
        let settle_at = started.saturating_add(millis(self.cfg.settle_delay));
        let now = self.now();
        let t = Transition::of(p, PurchaseState::Reconciling, "create_ambiguous")
            .set(Change::NextActionAt(settle_at))
            .set(Change::LastError(Some(why.to_owned())))
            .set(Change::ReleaseLease)
            .detail(json!({ "attempt": attempt_id, "why": why }))
            .by(worker);
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
        match r.code {
            RejectCode::BalanceNotEnough | RejectCode::Unauthorized => {
                let t = self.hold_transition(p, &r.code, PurchaseState::Ordering);
                let next = self
                    .close_attempt(worker, p, attempt_id, AttemptState::Rejected, &outcome, t)
                    .await?;
                self.alert_hold(p, &r.code).await?;
                Ok(next)
            }
            RejectCode::OfferPriceNotMatched => {
                // Re-quote: a read, harmless. Within tolerance of what the
                // customer paid for, offer the new price; beyond it, refund.
                let quote = self.supplier.product(&p.product_id).await;
                let t = match quote.as_ref().map(|q| q.price) {
                    Ok(Some(price)) if self.price_acceptable(p, price) => {
                        Transition::of(p, PurchaseState::Ordering, "price_requoted")
                            .set(Change::OrderPrice(Some(price)))
                            .set(Change::NextActionAt(now))
                            .detail(json!({ "new_unit_price": price.to_string() }))
                    }
                    Ok(_) => {
                        let t = Transition::of(p, PurchaseState::Refunding, "refund_needed")
                            .set(Change::LastError(Some(
                                "the supplier's price rose beyond the accepted tolerance"
                                    .to_owned(),
                            )))
                            .set(Change::NextActionAt(now))
                            .set(Change::ReleaseLease);
                        return self
                            .close_attempt(
                                worker,
                                p,
                                attempt_id,
                                AttemptState::Rejected,
                                &outcome,
                                t,
                            )
                            .await;
                    }
                    Err(e) => Transition::of(p, PurchaseState::Ordering, "create_rejected")
                        .set(Change::LastError(Some(format!("re-quote failed: {e}"))))
                        .set(Change::NextActionAt(self.after(self.backoff(p))))
                        .set(Change::ReleaseLease),
                };
                self.close_attempt(worker, p, attempt_id, AttemptState::Rejected, &outcome, t)
                    .await
            }
            _ => {
                let t = Transition::of(p, PurchaseState::Refunding, "refund_needed")
                    .set(Change::LastError(Some(format!(
                        "the supplier refused the order: {outcome}"
                    ))))
                    .set(Change::NextActionAt(now))
                    .set(Change::ReleaseLease)
                    .detail(json!({ "rejection": outcome }));
                self.close_attempt(worker, p, attempt_id, AttemptState::Rejected, &outcome, t)
                    .await
            }
        }
    }

    /// `submitting` found on a claim: the worker that sent it is gone. The
    /// create may have been sent, so it is reconciled, never re-sent.
    pub(super) async fn resume_submitting(&self, worker: &str, p: &Purchase) -> Result<Next> {
        let Some(attempt) = self.current_attempt(p).await? else {
            return self
                .dead_letter(worker, p, "submitting without an attempt record", json!({}))
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
        let paid = status.is_some_and(OrderStatus::is_paid_or_later);
        let mut t = if paid {
            Transition::of(p, PurchaseState::WaitingSupplier, "order_linked")
                .set(Change::WaitingSince(Some(now)))
                .set(Change::LastError(None))
                .set(Change::ClearHold)
                .set(Change::ReleaseLease)
        } else {
            Transition::of(p, PurchaseState::Ordered, "order_linked").set(Change::NextActionAt(now))
        };
        t = t
            .set(Change::SupplierOrderId(Some(order.clone())))
            .set(Change::SupplierStatus(
                status.map(|s| s.as_str().to_owned()),
            ))
            .detail(json!({ "attempt": attempt_id, "order": order, "how": how.as_str() }))
            .by(worker);
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
                drop(tx);
                let evidence = json!({ "order": order, "attempt": attempt_id });
                return self
                    .dead_letter(
                        worker,
                        p,
                        "the supplier order is already linked to another purchase",
                        evidence,
                    )
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
        self.next_after(worker, p.id, p.attempt).await
    }

    /// The newest order id known to exist in the supplier's history, or ""
    /// if it had none: orders of a signature at or below it existed before
    /// an attempt that records it, so they are never that attempt's order.
    /// Only ids read from the history itself are used (a create reply's id
    /// may not be listed yet).
    pub(super) async fn watermark(&self) -> Result<String, SupplierError> {
        let now = self.now();
        if let Ok(Some(stored)) = self.store.kv_get(HEAD_KEY).await
            && let Ok(head) = serde_json::from_str::<Head>(&stored)
            && now.saturating_sub(head.at) < HEAD_MAX_AGE_MS
        {
            return Ok(head.id);
        }
        let page = self.read(|| self.supplier.orders(&[], 1, 0)).await?;
        let id = page
            .items
            .first()
            .map(|o| o.id.to_string())
            .unwrap_or_default();
        self.remember_head(&id).await;
        Ok(id)
    }

    /// Records the newest order id seen at the top of the history.
    pub(super) async fn remember_head(&self, id: &str) {
        let head = Head {
            id: id.to_owned(),
            at: self.now(),
        };
        if let Ok(text) = serde_json::to_string(&head)
            && let Err(e) = self.store.kv_set(HEAD_KEY, &text, head.at).await
        {
            tracing::warn!(error = %e, "could not record the supplier history head");
        }
    }

    /// Whether the supplier may be paid `unit` for what the customer bought
    /// at `p.unit_price`.
    pub(super) fn price_acceptable(&self, p: &Purchase, unit: crate::domain::Money) -> bool {
        match p.unit_price {
            None => true,
            Some(sold_at) => {
                let factor = rust_decimal::Decimal::ONE
                    + self.cfg.price_tolerance_percent / rust_decimal::Decimal::from(100);
                unit.decimal() <= sold_at.decimal() * factor
            }
        }
    }

    /// The order's total is within tolerance of the sale (when both known).
    pub(super) fn total_acceptable(&self, p: &Purchase, order: &Order) -> bool {
        match (order.total_price, p.unit_price) {
            (Some(total), Some(_)) => {
                let qty = rust_decimal::Decimal::from(p.quantity.get());
                match total.decimal().checked_div(qty) {
                    Some(unit) => self.price_acceptable(p, crate::domain::Money::new(unit)),
                    None => false,
                }
            }
            _ => true,
        }
    }
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Head {
    id: String,
    at: i64,
}
