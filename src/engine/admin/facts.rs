//! Gathering what [`plan`] decides from, read afresh from the whole ledger:
//! the purchase's creates, events, alerts, delivery, stored codes and
//! refund. A pure decision is only as good as its facts.

use super::{Action, CodesReach, Facts, Plan, Refusal, Result, plan, supplier_paid};
use crate::domain::{AlertKind, EventKind, PurchaseState, SupplierOrderId};
use crate::engine::Engine;
use crate::store::{DeliveryState, Event, Purchase};

impl Engine {
    /// The facts of `p` as they stand (the purchase, its creates, its
    /// delivery and codes, its refund, what the supplier was paid), and the
    /// plan they give.
    pub(super) async fn plan_now(
        &self,
        action: Action,
        p: &Purchase,
    ) -> Result<std::result::Result<Plan, Refusal>> {
        let store = &self.inner.store;
        let attempts = store.attempts_of(p.id).await?;
        let partial_delivery = self.partial_delivery(p.id).await?;
        let events = store.events_of(p.id).await?;
        let expired_orders = expired_orders(&events);
        let facts = Facts {
            purchase: p,
            attempts: &attempts,
            partial_delivery,
            expired_orders: &expired_orders,
            codes: self.codes_reach(p.id).await?,
            refund: store.refund_of(p.id).await?.map(|r| r.state),
            supplier_paid: supplier_paid(p, paid_event(&events)),
            now: self.inner.now(),
        };
        Ok(plan(action, &facts))
    }

    /// The supplier delivered only part of purchase `id` (a
    /// `partial_delivery` alert), and no re-order made it whole.
    async fn partial_delivery(&self, id: i64) -> Result<bool> {
        let alerted = self
            .inner
            .store
            .alerts_of(id)
            .await?
            .iter()
            .any(|a| a.kind == AlertKind::PartialDelivery.as_str());
        // Missing units re-ordered make the delivery whole: refunding the
        // whole charge too would pay twice, unless the re-order came to
        // nothing (`engine::reorder`).
        Ok(alerted && self.reorder_came_to_nothing(id).await?)
    }

    /// What the delivery log and the stored codes say of purchase `id`'s
    /// codes.
    async fn codes_reach(&self, id: i64) -> Result<CodesReach> {
        let store = &self.inner.store;
        let delivery = store.delivery_of(id).await?;
        let stored = store.codes_standing(id).await?;
        Ok(CodesReach {
            parts_sent: delivery.as_ref().map_or(0, |d| d.parts_sent),
            send_in_doubt: delivery.as_ref().is_some_and(|d| {
                matches!(d.state, DeliveryState::Sending | DeliveryState::Unknown)
            }),
            viewable: stored.stored && !stored.withdrawn,
            withdrawn: stored.withdrawn,
        })
    }
}

/// Orders the engine saw expire unpaid (`order_expired` events).
fn expired_orders(events: &[Event]) -> Vec<SupplierOrderId> {
    events
        .iter()
        .filter(|e| e.kind == EventKind::OrderExpired.as_str())
        .filter_map(|e| {
            let detail: serde_json::Value = serde_json::from_str(&e.detail).ok()?;
            SupplierOrderId::parse(detail.get("order")?.as_str()?).ok()
        })
        .collect()
}

/// An event shows the order paid: paid, completed, or linked already paid.
fn paid_event(events: &[Event]) -> bool {
    events.iter().any(|e| {
        e.kind == EventKind::OrderPaid.as_str()
            || e.kind == EventKind::OrderCompleted.as_str()
            || (e.kind == EventKind::OrderLinked.as_str()
                && e.to_state.as_deref() == Some(PurchaseState::WaitingSupplier.as_str()))
    })
}
