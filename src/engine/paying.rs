//! Paying the linked order once, and holding a purchase while the operator
//! tops up the balance or fixes the key.
//!
//! Pay is only ever called for the order linked to the purchase, and only
//! after re-reading its status: the supplier pays only `active` orders, so an
//! order we see paid is never paid again, and an ambiguous pay is resolved by
//! reading, not by paying blindly.

use serde_json::json;

use crate::clock::millis;

use super::{Inner, Next, Result};
use crate::crash;
use crate::domain::PurchaseState;
use crate::foxreload::{Order, OrderStatus, RejectCode, SupplierError};
use crate::store::{Change, Purchase, Transition};

const HOLD_BALANCE: &str = "balance";
const HOLD_AUTH: &str = "auth";

impl Inner {
    /// `ordered` / `paying`: read the linked order, then act on what it says.
    pub(super) async fn pay(&self, worker: &str, p: &Purchase) -> Result<Next> {
        let Some(order_id) = p.supplier_order_id.clone() else {
            return self
                .dead_letter(worker, p, "no supplier order is linked", json!({}))
                .await;
        };
        // After a pay whose outcome we did not see, give it a moment to land.
        if p.state == PurchaseState::Paying
            && let Some(sent) = p.pay_sent_at
        {
            let settle_at = sent.saturating_add(millis(self.cfg.poll_interval));
            if self.now() < settle_at {
                return self.reschedule(worker, p, settle_at, "pay settling").await;
            }
        }
        let order = match self.supplier.order(&order_id).await {
            Ok(o) => o,
            Err(SupplierError::Rejected(r)) if r.code == RejectCode::NotFound => {
                let evidence = json!({ "order": order_id, "reply": r.to_string() });
                return self
                    .dead_letter(
                        worker,
                        p,
                        "the linked supplier order is not found",
                        evidence,
                    )
                    .await;
            }
            Err(SupplierError::Rejected(r)) if r.code == RejectCode::Unauthorized => {
                return self.hold(worker, p, &r.code, p.state_to_resume()).await;
            }
            Err(e) => return self.read_failed(worker, p, &e).await,
        };
        match order.status {
            OrderStatus::Active => self.pay_active(worker, p, &order).await,
            ref s if s.is_paid_or_later() && *s != OrderStatus::Completed => {
                self.to_waiting(worker, p, &order).await
            }
            OrderStatus::Completed => self.complete(worker, p, &order).await,
            OrderStatus::Failed => {
                let reason = failure_text("the supplier order failed", &order);
                self.refund(worker, p, &reason, false).await
            }
            OrderStatus::Cancelled if p.pay_sent_at.is_none() => {
                // Never paid and now cancelled (payment window expired): this
                // order can no longer take money; make a new one.
                let t = Transition::of(p, PurchaseState::Ordering, "order_expired")
                    .set(Change::SupplierOrderId(None))
                    .set(Change::SupplierStatus(Some(
                        order.status.as_str().to_owned(),
                    )))
                    .set(Change::CurrentAttempt(None))
                    .set(Change::NextActionAt(self.now()))
                    .detail(json!({ "order": order_id, "cancel_reason": order.cancel_reason }));
                self.apply(worker, p, t).await
            }
            OrderStatus::Cancelled => {
                let reason = failure_text("the supplier cancelled the order", &order);
                self.refund(worker, p, &reason, false).await
            }
            OrderStatus::Other(ref s) => {
                let text = format!(
                    "Purchase #{}: the supplier reports unknown status {s:?} for order {order_id}",
                    p.id
                );
                self.alert(
                    "unknown_status",
                    Some(p.id),
                    &format!("unknown_status:{order_id}"),
                    &text,
                )
                .await?;
                let at = self.after(self.backoff(p));
                self.reschedule(worker, p, at, "unknown order status").await
            }
            _ => Ok(Next::Stop),
        }
    }

    async fn pay_active(&self, worker: &str, p: &Purchase, order: &Order) -> Result<Next> {
        if !self.total_acceptable(p, order) {
            let total = order.total_price.map(|t| t.to_string()).unwrap_or_default();
            let reason = format!("the supplier asks {total}, beyond the accepted price");
            return self.refund(worker, p, &reason, true).await;
        }
        if !self.keep_lease(worker, p).await? {
            return Ok(Next::Stop);
        }
        let now = self.now();
        let t = Transition::of(p, PurchaseState::Paying, "pay_sent")
            .set(Change::PaySentAt(Some(now)))
            .detail(json!({ "order": order.id }))
            .by(worker);
        if !self.store.transition(&t, now).await?.applied() {
            return Ok(Next::Stop);
        }
        crash::point("after_pay_sent");
        let outcome = self.supplier.pay_order(&order.id).await;
        crash::point("after_pay_call");

        let mut p = p.clone();
        p.state = PurchaseState::Paying;
        p.pay_sent_at = Some(now);
        match outcome {
            Ok(paid) if paid.status.is_paid_or_later() => self.to_waiting(worker, &p, &paid).await,
            Ok(_) => {
                let at = self.after(self.cfg.poll_interval);
                self.reschedule(worker, &p, at, "pay accepted but the order is not paid yet")
                    .await
            }
            Err(SupplierError::Ambiguous(why)) => {
                let at = self.after(self.cfg.poll_interval);
                self.reschedule(worker, &p, at, &format!("pay outcome unknown: {why}"))
                    .await
            }
            Err(SupplierError::RetryLater {
                reason,
                retry_after,
            }) => {
                // Never reached the supplier.
                let wait = retry_after.unwrap_or_else(|| self.backoff(&p));
                let t = Transition::of(&p, PurchaseState::Ordered, "pay_not_sent")
                    .set(Change::PaySentAt(None))
                    .set(Change::NextActionAt(self.after(wait)))
                    .set(Change::LastError(Some(reason)))
                    .set(Change::ReleaseLease);
                self.apply(worker, &p, t).await
            }
            Err(SupplierError::Rejected(r)) => match r.code {
                RejectCode::BalanceNotEnough | RejectCode::Unauthorized => {
                    // Definitely not paid: forget the pay we sent.
                    let t = self
                        .hold_transition(&p, &r.code, PurchaseState::Ordered)
                        .set(Change::PaySentAt(None));
                    let next = self.apply(worker, &p, t).await?;
                    self.alert_hold(&p, &r.code).await?;
                    Ok(next)
                }
                // Not payable (already paid, or expired): the order's status
                // says which; read it again shortly.
                RejectCode::OrderPaymentNotPossible => {
                    let at = self.after(self.cfg.poll_interval);
                    self.reschedule(worker, &p, at, &r.to_string()).await
                }
                RejectCode::NotFound => {
                    let evidence = json!({ "order": order.id, "reply": r.to_string() });
                    self.dead_letter(
                        worker,
                        &p,
                        "the supplier does not know the order we pay",
                        evidence,
                    )
                    .await
                }
                _ => {
                    let reason = format!("the supplier refused payment: {r}");
                    self.refund(worker, &p, &reason, true).await
                }
            },
        }
    }

    /// Paid at the supplier: the poller watches it from here.
    async fn to_waiting(&self, worker: &str, p: &Purchase, order: &Order) -> Result<Next> {
        let now = self.now();
        let t = Transition::of(p, PurchaseState::WaitingSupplier, "order_paid")
            .set(Change::WaitingSince(Some(p.waiting_since.unwrap_or(now))))
            .set(Change::LastError(None))
            .set(Change::SupplierStatus(Some(
                order.status.as_str().to_owned(),
            )))
            .set(Change::ClearHold)
            .set(Change::ReleaseLease)
            .detail(json!({ "order": order.id, "status": order.status.as_str() }));
        self.apply(worker, p, t).await
    }

    /// The order is complete: keep its codes and hand the purchase to delivery.
    pub(super) async fn complete(&self, worker: &str, p: &Purchase, order: &Order) -> Result<Next> {
        let codes = order.codes();
        // A top-up (a note names the player) may be delivered without codes;
        // a gift card never is.
        if codes.is_empty() && p.note.is_empty() {
            let evidence = json!({ "order": order.id });
            return self
                .dead_letter(
                    worker,
                    p,
                    "the supplier completed the order without codes",
                    evidence,
                )
                .await;
        }
        let now = self.now();
        let t = Transition::of(p, PurchaseState::Delivering, "order_completed")
            .set(Change::SupplierStatus(Some(
                order.status.as_str().to_owned(),
            )))
            .set(Change::ClearHold)
            .set(Change::NextActionAt(now))
            .set(Change::ReleaseLease)
            .detail(json!({ "order": order.id, "codes": codes.len() }))
            .by(worker);
        let mut tx = self.store.begin().await?;
        if !tx.transition(&t, now).await?.applied() {
            return Ok(Next::Stop);
        }
        tx.store_codes(p.id, &codes, now).await?;
        tx.commit().await?;
        tracing::info!(purchase = p.id, order = %order.id, codes = codes.len(), "supplier order completed");
        Ok(Next::Stop)
    }

    /// A read failed: retry later, unless it has been failing past the
    /// dead-letter threshold.
    async fn read_failed(&self, worker: &str, p: &Purchase, e: &SupplierError) -> Result<Next> {
        let since = p.pay_sent_at.unwrap_or(p.updated_at);
        if self.now().saturating_sub(since) > millis(self.cfg.stall_dead) {
            let evidence = json!({ "error": e.to_string() });
            return self
                .dead_letter(
                    worker,
                    p,
                    "the supplier order could not be read for too long",
                    evidence,
                )
                .await;
        }
        self.retry_later(worker, p, e).await
    }

    /// The transition into a hold, keeping the first hold's start so the
    /// deadline does not move with each retry.
    pub(super) fn hold_transition(
        &self,
        p: &Purchase,
        code: &RejectCode,
        resume: PurchaseState,
    ) -> Transition {
        let reason = if *code == RejectCode::Unauthorized {
            HOLD_AUTH
        } else {
            HOLD_BALANCE
        };
        Transition::of(p, PurchaseState::OnHold, "on_hold")
            .set(Change::Hold {
                reason: reason.to_owned(),
                since: p.hold_since.unwrap_or_else(|| self.now()),
                resume,
            })
            .set(Change::NextActionAt(self.after(self.cfg.hold_check())))
            .set(Change::ReleaseLease)
            .detail(json!({ "reason": reason, "code": code.as_str() }))
    }

    pub(super) async fn hold(
        &self,
        worker: &str,
        p: &Purchase,
        code: &RejectCode,
        resume: PurchaseState,
    ) -> Result<Next> {
        let next = self
            .apply(worker, p, self.hold_transition(p, code, resume))
            .await?;
        self.alert_hold(p, code).await?;
        Ok(next)
    }

    /// One alert per hour per kind of hold, not one per purchase.
    pub(super) async fn alert_hold(&self, p: &Purchase, code: &RejectCode) -> Result<()> {
        let hour = self.now() / 3_600_000;
        if *code == RejectCode::Unauthorized {
            let text = "The supplier refuses our API key (401/403): check FOXRELOAD_API_KEY and the IP allowlist. Purchases are on hold.";
            self.alert(
                "supplier_auth",
                Some(p.id),
                &format!("supplier_auth:{hour}"),
                text,
            )
            .await
        } else {
            let text = format!(
                "The supplier balance is too low for purchase #{}: top it up. Purchases wait up to {} minutes, then are refunded.",
                p.id,
                self.cfg.balance_wait.as_secs() / 60
            );
            self.alert(
                "low_balance",
                Some(p.id),
                &format!("low_balance:{hour}"),
                &text,
            )
            .await
        }
    }

    /// `on_hold`: go on once the cause is gone; refund after the deadline.
    pub(super) async fn check_hold(&self, worker: &str, p: &Purchase) -> Result<Next> {
        let since = p.hold_since.unwrap_or(p.updated_at);
        if self.now().saturating_sub(since) >= millis(self.cfg.balance_wait) {
            let reason = match p.hold_reason.as_deref() {
                Some(HOLD_AUTH) => "the supplier kept refusing our API key",
                _ => "the supplier balance was not topped up in time",
            };
            return self.refund(worker, p, reason, true).await;
        }
        if p.hold_reason.as_deref() == Some(HOLD_BALANCE) {
            let needed = p.order_price.and_then(|u| u.times(p.quantity.get()));
            match self.cached_balance(&p.currency).await {
                Ok(balance) if needed.is_none_or(|n| balance >= n) => {}
                Ok(_) => {
                    let at = self.after(self.cfg.hold_check());
                    return self
                        .reschedule(worker, p, at, "supplier balance still too low")
                        .await;
                }
                Err(e) => return self.retry_later(worker, p, &e).await,
            }
        }
        let resume = p.resume_state.unwrap_or(PurchaseState::Ordering);
        let t = Transition::of(p, resume, "hold_lifted")
            .set(Change::NextActionAt(self.now()))
            .detail(json!({ "reason": p.hold_reason }));
        self.apply(worker, p, t).await
    }

    /// The supplier balance, read at most once per poll interval.
    async fn cached_balance(&self, currency: &str) -> Result<crate::domain::Money, SupplierError> {
        let now = self.now();
        let fresh_for = millis(self.cfg.poll_interval);
        if let Ok(guard) = self.balance.lock()
            && let Some((at, amount)) = *guard
            && now.saturating_sub(at) < fresh_for
        {
            return Ok(amount);
        }
        let amount = self.supplier.balance(currency).await?;
        if let Ok(mut guard) = self.balance.lock() {
            *guard = Some((now, amount));
        }
        Ok(amount)
    }
}

impl Purchase {
    /// The state to come back to after a hold entered from here.
    fn state_to_resume(&self) -> PurchaseState {
        match self.state {
            PurchaseState::Paying => PurchaseState::Ordered,
            s => s,
        }
    }
}

/// A short admin-facing text with the supplier's per-item errors.
fn failure_text(what: &str, order: &Order) -> String {
    let errors = order.errors();
    let reason = order.cancel_reason.clone().unwrap_or_default();
    let mut text = what.to_owned();
    if !reason.is_empty() {
        text.push_str(&format!(" ({reason})"));
    }
    if !errors.is_empty() {
        let joined: String = errors.join("; ").chars().take(200).collect();
        text.push_str(&format!(": {joined}"));
    }
    text
}
