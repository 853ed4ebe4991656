//! Paying the linked order once, and holding a purchase while the operator
//! tops up the balance or fixes the key.
//!
//! Pay is only ever called for the order linked to the purchase, and only
//! after re-reading its status: the supplier pays only `active` orders, so an
//! order we see paid is never paid again, and an ambiguous pay is resolved by
//! reading, not by paying blindly.

use std::ops::ControlFlow;

use serde_json::json;

use crate::clock::{Millis, millis};

use super::{Inner, MAX_PAYS, Next, Result, transitions};
use crate::crash;
use crate::domain::{
    AlertKind, Args, DeadLetterReason, Failure, HoldReason, PurchaseState, RefundCause,
    SupplierFailure, SupplierOrderId,
};
use crate::foxreload::{Order, OrderStatus, RejectCode, SupplierError, Tally};
use crate::store::Purchase;

impl Inner {
    /// `ordered` / `paying`: read the linked order, then act on what it says.
    pub(super) async fn pay(&self, worker: &str, p: &Purchase) -> Result<Next> {
        let Some(order_id) = p.supplier_order_id.clone() else {
            return self
                .dead_letter(worker, p, DeadLetterReason::NoOrderLinked, json!({}))
                .await;
        };
        if let Some(settle_at) = self.pay_settles_at(p) {
            return self.reschedule(worker, p, settle_at, "pay settling").await;
        }
        match self.read_linked(worker, p, &order_id).await? {
            ControlFlow::Continue(order) => self.on_status(worker, p, &order).await,
            ControlFlow::Break(next) => Ok(next),
        }
    }

    /// After a pay whose outcome we did not see, the order is read once it
    /// had time to land: the pay may reach the supplier until its send-by
    /// instant plus the timeout, and the order shows `paid` within 5 s
    /// after that. `None`: it may be read now.
    fn pay_settles_at(&self, p: &Purchase) -> Option<Millis> {
        let sent = p.pay_sent_at.filter(|_| p.state == PurchaseState::Paying)?;
        let settle_at = sent.saturating_add(millis(self.cfg.pay_settle()));
        (self.now() < settle_at).then_some(settle_at)
    }

    /// Reads the linked order; a read that fails, or answers with another
    /// order, ends the step (retried, held, or given to a person).
    async fn read_linked(
        &self,
        worker: &str,
        p: &Purchase,
        order_id: &SupplierOrderId,
    ) -> Result<ControlFlow<Next, Order>> {
        let next = match self.supplier.order(order_id).await {
            Ok(o) if o.id == *order_id => return Ok(ControlFlow::Continue(o)),
            Ok(_) => {
                let e = SupplierError::RetryLater {
                    reason: "the supplier answered with another order".to_owned(),
                    retry_after: None,
                };
                self.retry_later(worker, p, &e).await?
            }
            Err(SupplierError::Rejected(r)) if r.code == RejectCode::NotFound => {
                let evidence = json!({ "order": order_id, "reply": r.to_string() });
                self.dead_letter(worker, p, DeadLetterReason::LinkedOrderNotFound, evidence)
                    .await?
            }
            Err(SupplierError::Rejected(r)) if r.code == RejectCode::Unauthorized => {
                self.hold(worker, p, &r.code, p.state_to_resume()).await?
            }
            // The state clock bounds how long this may go on.
            Err(e) => self.retry_later(worker, p, &e).await?,
        };
        Ok(ControlFlow::Break(next))
    }

    /// Acts on what the linked order's status says.
    async fn on_status(&self, worker: &str, p: &Purchase, order: &Order) -> Result<Next> {
        match order.status {
            OrderStatus::Active => self.pay_active(worker, p, order).await,
            ref s if s.is_paid_or_later() && *s != OrderStatus::Completed => {
                self.to_waiting(worker, p, order).await
            }
            OrderStatus::Completed => self.complete(worker, p, order, true).await,
            OrderStatus::Failed => {
                let reason = failure(Failure::Failed, order);
                self.refund(worker, p, reason, false).await
            }
            OrderStatus::Cancelled if p.pay_sent_at.is_none() => {
                // Never paid and now cancelled (payment window expired): this
                // order can no longer take money; make a new one.
                let t = transitions::order_expired(p, order, self.now());
                self.apply(worker, p, t).await
            }
            OrderStatus::Cancelled => {
                let reason = failure(Failure::Cancelled, order);
                self.refund(worker, p, reason, false).await
            }
            OrderStatus::Other(ref s) => {
                self.alert_unknown_status(p, &order.id, s).await?;
                let at = self.after(self.backoff(p));
                self.reschedule(worker, p, at, "unknown order status").await
            }
            _ => Ok(Next::Stop),
        }
    }

    pub(super) async fn alert_unknown_status(
        &self,
        p: &Purchase,
        order: &SupplierOrderId,
        status: &str,
    ) -> Result<()> {
        let args = Args::new()
            .num("purchase", p.id)
            .text("status", status)
            .text("order", order.as_str());
        self.alert(
            AlertKind::UnknownStatus,
            Some(p.id),
            &format!("unknown_status:{order}"),
            &args,
        )
        .await
    }

    /// The linked order is `active`: pay it, once per claim, a bounded
    /// number of times in all, in three phases: the checks, the commit of
    /// `paying` (the budget slot taken before it, as for creates), the call.
    pub(super) async fn pay_active(
        &self,
        worker: &str,
        p: &Purchase,
        order: &Order,
    ) -> Result<Next> {
        if let Some(next) = self.pay_preflight(worker, p, order).await? {
            return Ok(next);
        }
        let slot = self.supplier.write_slot().await;
        if !self.keep_lease(worker, p).await? {
            return Ok(Next::Stop);
        }
        let now = self.now();
        let t = transitions::pay_sent(p, &order.id, now).by(worker);
        if !self.store.transition(&t, now).await?.applied() {
            return Ok(Next::Stop);
        }
        crash::point("after_pay_sent");
        let send_by = now.saturating_add(millis(self.cfg.send_window()));
        let outcome = self
            .supplier
            .pay_order(&order.id, slot.send_by(send_by, self.clock.clone()))
            .await;
        crash::point("after_pay_call");

        // What we committed: every transition below is a compare-and-set
        // on it.
        let mut p = p.clone();
        p.state = PurchaseState::Paying;
        p.pay_sent_at = Some(now);
        p.pays_sent += 1;
        self.pay_outcome(worker, &p, order, outcome).await
    }

    /// Checks that stop a pay before it starts: a price beyond the accepted
    /// one (refunded), or too many pays already (a person looks).
    async fn pay_preflight(
        &self,
        worker: &str,
        p: &Purchase,
        order: &Order,
    ) -> Result<Option<Next>> {
        if !self.total_acceptable(p, order) {
            let reason = RefundCause::AsksTooMuch(order.total_price);
            return self.refund(worker, p, reason, true).await.map(Some);
        }
        if p.pays_sent >= MAX_PAYS {
            let evidence = json!({ "order": order.id, "pays_sent": p.pays_sent });
            let reason = DeadLetterReason::StaysActive { pays: p.pays_sent };
            return self
                .dead_letter(worker, p, reason, evidence)
                .await
                .map(Some);
        }
        Ok(None)
    }

    /// Records what the pay call said.
    async fn pay_outcome(
        &self,
        worker: &str,
        p: &Purchase,
        order: &Order,
        outcome: std::result::Result<Order, SupplierError>,
    ) -> Result<Next> {
        match outcome {
            // Only a reply about the order we paid says anything about it.
            Ok(paid) if paid.id == order.id && paid.status.is_paid_or_later() => {
                self.to_waiting(worker, p, &paid).await
            }
            Ok(paid) if paid.id == order.id => {
                let at = self.after(self.cfg.pay_settle());
                self.reschedule(worker, p, at, "pay accepted but the order is not paid yet")
                    .await
            }
            Ok(_) => {
                let at = self.after(self.cfg.pay_settle());
                self.reschedule(worker, p, at, "the pay reply names another order")
                    .await
            }
            Err(SupplierError::Ambiguous(why)) => {
                let at = self.after(self.cfg.pay_settle());
                self.reschedule(worker, p, at, &format!("pay outcome unknown: {why}"))
                    .await
            }
            Err(SupplierError::RetryLater {
                reason,
                retry_after,
            }) => {
                // Never reached the supplier.
                let wait = retry_after.unwrap_or_else(|| self.backoff(p));
                let t = transitions::pay_not_sent(p, self.after(wait), &reason);
                self.apply(worker, p, t).await
            }
            Err(SupplierError::Rejected(r)) => self.pay_rejected(worker, p, order, r).await,
        }
    }

    async fn pay_rejected(
        &self,
        worker: &str,
        p: &Purchase,
        order: &Order,
        r: crate::foxreload::Rejection,
    ) -> Result<Next> {
        match r.code {
            RejectCode::BalanceNotEnough | RejectCode::Unauthorized => {
                // Definitely not paid: forget the pay we sent.
                let t = self.pay_hold_transition(p, &r.code);
                let next = self.apply(worker, p, t).await?;
                self.alert_hold(p, &r.code).await?;
                Ok(next)
            }
            // Not payable (already paid, or expired): the order's status
            // says which. Read it, never pay on the strength of this reply.
            RejectCode::OrderPaymentNotPossible => {
                let at = self.after(self.cfg.poll_interval);
                self.reschedule(worker, p, at, &r.to_string()).await
            }
            RejectCode::NotFound => {
                let evidence = json!({ "order": order.id, "reply": r.to_string() });
                self.dead_letter(worker, p, DeadLetterReason::PayOrderUnknown, evidence)
                    .await
            }
            _ => {
                let reason = RefundCause::PaymentRefused(r.to_string());
                self.refund(worker, p, reason, true).await
            }
        }
    }

    /// Paid at the supplier: the poller watches it from here.
    pub(super) async fn to_waiting(
        &self,
        worker: &str,
        p: &Purchase,
        order: &Order,
    ) -> Result<Next> {
        let t = transitions::order_paid(p, order, self.now());
        self.apply(worker, p, t).await
    }

    /// The order is complete. Codes are counted: per item, as many usable
    /// codes as its quantity (`null`, `""`, `{}` and whitespace are not
    /// codes). A list row short of that is never enough: the order is read
    /// alone (`direct` says whether `order` already was).
    /// - every unit has its code: to delivery;
    /// - some arrived: what arrived goes to the buyer, who is told how many
    ///   of how many; the admins are alerted to re-order the rest or refund
    ///   (a shortfall the supplier gave no reason for is read once more
    ///   first, in case the codes were still being filled in);
    /// - none usable: read once more, then a person looks (never
    ///   `delivered`); only an order whose every item failed is refunded.
    pub(super) async fn complete(
        &self,
        worker: &str,
        p: &Purchase,
        order: &Order,
        direct: bool,
    ) -> Result<Next> {
        let tally = order.tally(p.quantity.get());
        // A row without codes, or one whose items report errors, says too
        // little to act on: only a direct read may show that nothing (or
        // only part) was delivered.
        let sure = tally.complete() && order.errors().is_empty();
        if !direct && !sure {
            return self.complete_read_alone(worker, p, order).await;
        }
        match completed(order, &tally, p.empty_reads) {
            Completed::NothingDelivered => {
                let reason = failure(Failure::DeliveredNothing, order);
                self.refund(worker, p, reason, true).await
            }
            Completed::ReadAgain => {
                let at = self.after(self.cfg.single_check());
                let t = transitions::codes_missing(p, &order.id, at);
                self.apply(worker, p, t).await
            }
            Completed::NoUsableCode => {
                let evidence = json!({
                    "order": order.id,
                    "reads": p.empty_reads + 1,
                    "ordered": tally.ordered,
                    "usable_codes": 0,
                    "elements": order.items.iter().map(|i| i.external_data.len()).sum::<usize>(),
                });
                let reason = DeadLetterReason::CompletedWithoutCodes;
                self.dead_letter(worker, p, reason, evidence).await
            }
            Completed::Deliver => self.to_delivering(worker, p, order, &tally).await,
        }
    }

    /// A list row said completed but too little: the order is read alone,
    /// and only a direct read that says completed too is acted on.
    async fn complete_read_alone(&self, worker: &str, p: &Purchase, order: &Order) -> Result<Next> {
        match self.read(|| self.supplier.order(&order.id)).await {
            Ok(read) if read.id == order.id && read.status == OrderStatus::Completed => {
                Box::pin(self.complete(worker, p, &read, true)).await
            }
            // Not what the list said: the next look decides.
            Ok(_) => Ok(Next::Stop),
            Err(e) => {
                tracing::warn!(purchase = p.id, error = %e, "could not read a completed order");
                Ok(Next::Stop)
            }
        }
    }

    /// `→ delivering`: the usable codes stored with the move; a partial
    /// delivery alerts the admins in the same transaction.
    async fn to_delivering(
        &self,
        worker: &str,
        p: &Purchase,
        order: &Order,
        tally: &Tally,
    ) -> Result<Next> {
        let now = self.now();
        let t = transitions::order_completed(p, order, tally, now).by(worker);
        let mut tx = self.store.begin().await?;
        if !tx.transition(&t, now).await?.applied() {
            return Ok(Next::Stop);
        }
        tx.store_codes(p.id, &tally.codes, now).await?;
        if !tally.complete() {
            // Partly delivered: what arrived goes to the buyer; the admins
            // re-order the missing units or refund (`engine::reorder`).
            tx.raise_alert(
                AlertKind::PartialDelivery,
                Some(p.id),
                Some(&format!("partial:{}", p.id)),
                &partial_alert(p, order, tally),
                now,
            )
            .await?;
        }
        tx.commit().await?;
        tracing::info!(
            purchase = p.id,
            order = %order.id,
            codes = tally.codes.len(),
            arrived = tally.arrived,
            ordered = tally.ordered,
            "supplier order completed"
        );
        Ok(Next::Stop)
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
            self.alert(
                AlertKind::SupplierAuth,
                Some(p.id),
                &format!("supplier_auth:{hour}"),
                &Args::new(),
            )
            .await
        } else {
            let minutes = i64::try_from(self.cfg.balance_wait.as_secs() / 60).unwrap_or(i64::MAX);
            let args = Args::new().num("purchase", p.id).num("minutes", minutes);
            self.alert(
                AlertKind::LowBalance,
                Some(p.id),
                &format!("low_balance:{hour}"),
                &args,
            )
            .await
        }
    }

    /// `on_hold`: go on once the cause is gone; at the deadline, refund —
    /// unless the linked order turns out paid.
    pub(super) async fn check_hold(&self, worker: &str, p: &Purchase) -> Result<Next> {
        let since = p.hold_since.unwrap_or(p.state_since);
        if self.now().saturating_sub(since) >= millis(self.cfg.balance_wait) {
            return self.hold_deadline(worker, p).await;
        }
        if p.hold_reason == Some(HoldReason::Balance) {
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
        let t = transitions::hold_lifted(p, resume, self.now());
        self.apply(worker, p, t).await
    }

    /// The hold's deadline. A pay whose outcome was unknown may have landed
    /// before the hold: read the linked order first. Paid goes on to the
    /// poller (or delivery), never to a refund; only an order we know was
    /// not paid (or no order) is refunded.
    async fn hold_deadline(&self, worker: &str, p: &Purchase) -> Result<Next> {
        let reason = match p.hold_reason {
            Some(HoldReason::Auth) => RefundCause::KeyRefused,
            _ => RefundCause::BalanceNotToppedUp,
        };
        let Some(order_id) = p.supplier_order_id.clone() else {
            return self.refund(worker, p, reason, true).await;
        };
        match self.supplier.order(&order_id).await {
            Ok(order) if order.id == order_id && order.status == OrderStatus::Completed => {
                self.complete(worker, p, &order, true).await
            }
            Ok(order) if order.id == order_id && order.status.is_paid_or_later() => {
                self.to_waiting(worker, p, &order).await
            }
            Ok(order)
                if order.id == order_id
                    && matches!(
                        order.status,
                        OrderStatus::Active | OrderStatus::Cancelled | OrderStatus::Failed
                    ) =>
            {
                self.refund(worker, p, reason, true).await
            }
            Ok(_) => {
                let at = self.after(self.backoff(p));
                self.reschedule(worker, p, at, "the linked order's status is unclear")
                    .await
            }
            Err(e) => self.retry_later(worker, p, &e).await,
        }
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

/// A refund for an order that will not deliver, with its cancel reason
/// and the supplier's per-item errors.
fn failure(kind: Failure, order: &Order) -> RefundCause {
    RefundCause::Supplier(SupplierFailure {
        kind,
        cancel_reason: order.cancel_reason.clone(),
        errors: order.errors(),
    })
}

/// What a completed order's codes call for ([`Inner::complete`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Completed {
    /// Every item failed and no code arrived: refunded.
    NothingDelivered,
    /// Too few usable codes, for the first time: read once more.
    ReadAgain,
    /// Still no usable code: a person looks.
    NoUsableCode,
    /// To the buyer, all or part.
    Deliver,
}

/// Decides [`Completed`] from the order's items, its tally of usable codes,
/// and how many direct reads already found them missing.
fn completed(order: &Order, tally: &Tally, empty_reads: i64) -> Completed {
    let every_item_failed =
        !order.items.is_empty() && order.items.iter().all(|i| i.error.is_some());
    if tally.arrived == 0 && every_item_failed {
        return Completed::NothingDelivered;
    }
    let unexplained_shortfall = !tally.complete() && !tally.explained;
    if (tally.arrived == 0 || unexplained_shortfall) && empty_reads < 1 {
        return Completed::ReadAgain;
    }
    if tally.arrived == 0 {
        // Blank strings, nulls, empty objects: never "delivered".
        return Completed::NoUsableCode;
    }
    Completed::Deliver
}

/// The admins' alert for a partial delivery (from the Fluent files).
/// The arguments of a partial delivery's alert: how many of how many,
/// the supplier's order and what it said of the rest.
fn partial_alert(p: &Purchase, order: &Order, tally: &Tally) -> Args {
    let errors: String = order.errors().join("; ").chars().take(200).collect();
    Args::new()
        .num("purchase", p.id)
        .text("order", order.id.as_str())
        .num("arrived", tally.arrived)
        .num("ordered", tally.ordered)
        .num("missing", tally.missing())
        .text(
            "errors",
            if errors.is_empty() {
                "-".to_owned()
            } else {
                errors
            },
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn order(items: &str) -> Order {
        let json = format!(r#"{{"id":"o-1","status":"completed","items":[{items}]}}"#);
        serde_json::from_str(&json).unwrap()
    }

    fn judge(items: &str, quantity: i64, empty_reads: i64) -> Completed {
        let o = order(items);
        completed(&o, &o.tally(quantity), empty_reads)
    }

    #[test]
    fn only_an_order_whose_every_item_failed_is_refunded() {
        let failed = r#"{"itemId":"p","quantity":2,"error":"out of stock"}"#;
        assert_eq!(judge(failed, 2, 0), Completed::NothingDelivered);
        // No codes and no reason: read once more, then a person looks.
        let blank = r#"{"itemId":"p","quantity":2,"externalData":["", null, {}]}"#;
        assert_eq!(judge(blank, 2, 0), Completed::ReadAgain);
        assert_eq!(judge(blank, 2, 1), Completed::NoUsableCode);
    }

    #[test]
    fn an_unexplained_shortfall_is_read_once_more_before_part_is_delivered() {
        let short = r#"{"itemId":"p","quantity":2,"externalData":["AAAA-1111"]}"#;
        assert_eq!(judge(short, 2, 0), Completed::ReadAgain);
        assert_eq!(judge(short, 2, 1), Completed::Deliver);
        let explained =
            r#"{"itemId":"p","quantity":2,"externalData":["AAAA-1111"],"error":"one failed"}"#;
        assert_eq!(judge(explained, 2, 0), Completed::Deliver);
        let whole = r#"{"itemId":"p","quantity":2,"externalData":["AAAA-1111","BBBB-2222"]}"#;
        assert_eq!(judge(whole, 2, 0), Completed::Deliver);
    }
}
