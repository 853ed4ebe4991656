//! Re-ordering the units missing from a partly delivered purchase, at the
//! shop's cost (issue #14, hole 5).
//!
//! When fewer usable codes arrive than were ordered, what arrived goes to
//! the buyer and the admins are alerted with two buttons: refund the whole
//! charge (`engine::admin`), or re-order the missing units. A re-order is a
//! new purchase of the missing quantity, linked to the first
//! (`parent_purchase_id`), not paid in Stars (source `reorder`, no charge
//! to the buyer) and ordered through the normal engine like any other.
//! The UNIQUE link makes it one per purchase, however often it is asked.
//! What it may do is decided by [`plan`], a pure function over facts read
//! beforehand.

use serde_json::json;

use super::{Engine, EngineError};
use crate::domain::{ClientRef, PurchaseSource, PurchaseState, Quantity, Sale, UserId};
use crate::store::{NewPurchase, Purchase, Reordered};

type Result<T> = std::result::Result<T, EngineError>;

/// What [`plan`] decides from.
#[derive(Debug, Clone)]
pub struct Facts<'a> {
    pub purchase: &'a Purchase,
    /// A `partial_delivery` alert was raised for it.
    pub partial_delivery: bool,
    /// Usable codes stored for it (`None`: no codes at all).
    pub usable_codes: Option<i64>,
    /// Its re-order, if one was made.
    pub reorder: Option<i64>,
}

/// Why a re-order is not made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// Only a delivered purchase is re-ordered: its codes went out first.
    NotDelivered(PurchaseState),
    /// Every unit has its code.
    NothingMissing,
    /// It was re-ordered already, as this purchase.
    Already(i64),
}

/// Decides whether the missing units of `facts.purchase` may be
/// re-ordered, and how many they are.
pub fn plan(facts: &Facts<'_>) -> std::result::Result<i64, Refusal> {
    let p = facts.purchase;
    if let Some(child) = facts.reorder {
        return Err(Refusal::Already(child));
    }
    if p.state != PurchaseState::Delivered {
        return Err(Refusal::NotDelivered(p.state));
    }
    let arrived = facts.usable_codes.unwrap_or(0).min(p.quantity.get());
    let missing = p.quantity.get().saturating_sub(arrived);
    if !facts.partial_delivery || missing <= 0 {
        return Err(Refusal::NothingMissing);
    }
    Ok(missing)
}

/// A re-order's plan, shown for confirmation before it is made.
#[derive(Debug, Clone)]
pub struct Preview {
    pub purchase: Purchase,
    /// The units to re-order.
    pub plan: std::result::Result<i64, Refusal>,
}

/// What a confirmed re-order did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// A new purchase `child` of `missing` units is being ordered.
    Ordered {
        child: i64,
        missing: i64,
    },
    Refused(Refusal),
    NotFound,
}

/// The re-order's purchase: the parent's product, note, buyer and price,
/// `missing` units, nothing paid.
fn reorder_of(parent: &Purchase, missing: Quantity) -> NewPurchase {
    NewPurchase {
        client_ref: ClientRef::generate(),
        user_id: parent.user_id,
        chat_id: parent.chat_id,
        // Only used to create a customer row, which the parent made.
        language: crate::domain::Language::En,
        sale: Sale {
            product_id: parent.product_id.clone(),
            product_name: parent.product_name.clone(),
            quantity: missing,
            note: parent.note.clone(),
            unit_price: parent.order_price.or(parent.unit_price),
            currency: parent.currency.clone(),
            stars: 0,
        },
        source: PurchaseSource::Reorder,
        telegram_charge_id: None,
    }
}

impl Engine {
    async fn reorder_facts(&self, p: &Purchase) -> Result<std::result::Result<i64, Refusal>> {
        let store = &self.inner.store;
        let partial_delivery = store
            .alerts_of(p.id)
            .await?
            .iter()
            .any(|a| a.kind == crate::domain::AlertKind::PartialDelivery.as_str());
        let usable_codes = store.codes(p.id).await?.map(|codes| {
            i64::try_from(codes.iter().filter(|c| c.is_usable()).count()).unwrap_or(i64::MAX)
        });
        let reorder = store.reorder_of(p.id).await?;
        Ok(plan(&Facts {
            purchase: p,
            partial_delivery,
            usable_codes,
            reorder,
        }))
    }

    /// Purchase `id` has no re-order, or its re-order ended without
    /// delivering (cancelled or refunded): only then may the whole charge
    /// of a partial delivery be refunded.
    pub(super) async fn reorder_came_to_nothing(&self, id: i64) -> Result<bool> {
        let store = &self.inner.store;
        let Some(child) = store.reorder_of(id).await? else {
            return Ok(true);
        };
        Ok(store
            .purchase(child)
            .await?
            .is_some_and(|c| matches!(c.state, PurchaseState::Cancelled | PurchaseState::Refunded)))
    }

    /// What a re-order of purchase `id` would do now; `None`: no such purchase.
    pub async fn reorder_preview(&self, id: i64) -> Result<Option<Preview>> {
        let Some(p) = self.inner.store.purchase(id).await? else {
            return Ok(None);
        };
        let plan = self.reorder_facts(&p).await?;
        Ok(Some(Preview { purchase: p, plan }))
    }

    /// Re-orders the missing units of purchase `id` for `admin`: the facts
    /// read afresh, the new purchase recorded with its link and the admin's
    /// event in one transaction (or found, if another press won).
    pub async fn reorder_missing(&self, admin: UserId, id: i64) -> Result<Outcome> {
        let inner = &self.inner;
        let Some(p) = inner.store.purchase(id).await? else {
            return Ok(Outcome::NotFound);
        };
        let missing = match self.reorder_facts(&p).await? {
            Ok(missing) => missing,
            Err(refusal) => return Ok(Outcome::Refused(refusal)),
        };
        let Ok(quantity) = Quantity::new(missing) else {
            return Ok(Outcome::Refused(Refusal::NothingMissing));
        };
        let actor = format!("admin:{}", admin.0);
        let detail = json!({ "action": "reorder", "admin": admin.0, "missing": missing });
        let new = reorder_of(&p, quantity);
        match inner
            .store
            .insert_reorder(&new, &p, &actor, &detail, inner.now())
            .await?
        {
            Reordered::New(child) => {
                tracing::info!(
                    purchase = p.id,
                    child,
                    missing,
                    admin = admin.0,
                    "missing units re-ordered"
                );
                Ok(Outcome::Ordered { child, missing })
            }
            Reordered::Already(child) => Ok(Outcome::Refused(Refusal::Already(child))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn purchase(state: PurchaseState, quantity: i64) -> Purchase {
        Purchase::example(state, quantity, 0)
    }

    fn decide(
        p: &Purchase,
        partial: bool,
        usable: Option<i64>,
        reorder: Option<i64>,
    ) -> std::result::Result<i64, Refusal> {
        plan(&Facts {
            purchase: p,
            partial_delivery: partial,
            usable_codes: usable,
            reorder,
        })
    }

    #[test]
    fn only_the_missing_units_of_a_partly_delivered_purchase_are_reordered() {
        let p = purchase(PurchaseState::Delivered, 5);
        assert_eq!(decide(&p, true, Some(3), None), Ok(2));
        assert_eq!(
            decide(&p, true, Some(5), None),
            Err(Refusal::NothingMissing)
        );
        assert_eq!(
            decide(&p, false, Some(3), None),
            Err(Refusal::NothingMissing),
            "no partial delivery was recorded"
        );
    }

    #[test]
    fn a_purchase_is_reordered_once() {
        let p = purchase(PurchaseState::Delivered, 5);
        assert_eq!(decide(&p, true, Some(3), Some(9)), Err(Refusal::Already(9)));
    }

    #[test]
    fn a_purchase_not_delivered_is_never_reordered() {
        for state in [
            PurchaseState::Delivering,
            PurchaseState::Refunding,
            PurchaseState::Refunded,
            PurchaseState::DeadLetter,
            PurchaseState::WaitingSupplier,
        ] {
            let p = purchase(state, 5);
            assert_eq!(
                decide(&p, true, Some(3), None),
                Err(Refusal::NotDelivered(state)),
                "{state}"
            );
        }
    }
}
