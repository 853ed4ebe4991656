//! Confirmations: the plan an admin is shown ([`Preview`]), what their
//! confirmation carries ([`Seen`]), and what the action did ([`Outcome`]).
//! A confirmation is acted on only while the plan is still the one seen.

use super::{Action, Plan, Refusal, Result};
use crate::domain::{PurchaseState, SupplierOrderId};
use crate::engine::Engine;
use crate::store::Purchase;

/// A short fingerprint of what an admin is asked to confirm: the action,
/// the state it starts from and everything the plan says (where the
/// purchase goes, the Stars, the wholesale cost, the codes withdrawn). A
/// confirmation whose fingerprint differs from the plan's now is not acted
/// on. FNV-1a, so that every replica and version computes the same value.
pub fn fingerprint(action: Action, state: PurchaseState, plan: &Plan) -> u32 {
    let text = format!("{}|{}|{plan:?}", action.as_str(), state.as_str());
    text.bytes().fold(0x811c_9dc5_u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    })
}

/// What the admin saw when asked to confirm: the purchase's fence and the
/// plan's [`fingerprint`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Seen {
    pub fence: i64,
    pub fingerprint: u32,
}

impl Seen {
    /// What a confirmation of `plan` for `p` carries now.
    pub(super) fn of(action: Action, p: &Purchase, plan: &Plan) -> Seen {
        Seen {
            fence: p.fence,
            fingerprint: fingerprint(action, p.state, plan),
        }
    }
}

/// What an admin action did.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// The plan was applied (its event recorded).
    Done(Plan),
    /// The supplier order was read (a dead letter's re-check).
    OrderRead {
        order: SupplierOrderId,
        status: String,
    },
    Refused(Refusal),
    /// The plan is no longer what the admin confirmed (the purchase moved,
    /// or the ledger learnt something): nothing done; here is the new one.
    Changed(Box<Preview>),
    /// The purchase moved meanwhile (a worker, another admin): nothing done.
    LostRace,
    /// Another purchase with the same signature has a create in doubt; this
    /// one's create cannot be put back in doubt beside it. Nothing done.
    SignatureBusy,
    SupplierError(String),
    NotFound,
}

/// An action's plan, shown for confirmation before it is taken.
#[derive(Debug, Clone)]
pub struct Preview {
    pub purchase: Purchase,
    pub plan: std::result::Result<Plan, Refusal>,
}

impl Preview {
    /// What a confirmation of this preview carries; `None` when refused.
    pub fn seen(&self, action: Action) -> Option<Seen> {
        let plan = self.plan.as_ref().ok()?;
        Some(Seen::of(action, &self.purchase, plan))
    }
}

impl Engine {
    /// What `action` would do to purchase `id` now; `None`: no such purchase.
    pub async fn admin_preview(&self, action: Action, id: i64) -> Result<Option<Preview>> {
        let Some(p) = self.inner.store.purchase(id).await? else {
            return Ok(None);
        };
        let plan = self.plan_now(action, &p).await?;
        Ok(Some(Preview { purchase: p, plan }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Money;
    use crate::engine::admin::SupplierCost;
    use PurchaseState::*;

    /// A plain refund's plan (no codes withdrawn, no supplier cost).
    fn refund(partial: bool, in_stars: bool) -> Plan {
        Plan::Refund {
            partial,
            in_stars,
            withdraw_codes: false,
            cost: None,
        }
    }

    #[test]
    fn a_confirmation_fingerprint_changes_with_anything_the_plan_says() {
        let a = refund(false, true);
        let mut with_cost = a.clone();
        if let Plan::Refund { cost, .. } = &mut with_cost {
            *cost = Some(SupplierCost {
                certain: true,
                amount: Some(Money::parse("9.2").unwrap()),
                currency: "USD".to_owned(),
            });
        }
        let mut withdrawn = a.clone();
        if let Plan::Refund { withdraw_codes, .. } = &mut withdrawn {
            *withdraw_codes = true;
        }
        let f = |action, state, plan: &Plan| fingerprint(action, state, plan);
        let base = f(Action::Refund, DeadLetter, &a);
        assert_eq!(base, f(Action::Refund, DeadLetter, &a.clone()));
        for other in [
            f(Action::Refund, DeadLetter, &with_cost),
            f(Action::Refund, DeadLetter, &withdrawn),
            f(Action::RefundAnyway, DeadLetter, &a),
            f(Action::Refund, WaitingSupplier, &a),
        ] {
            assert_ne!(base, other);
        }
        // Stable across builds: FNV-1a of a fixed text.
        assert_eq!(
            fingerprint(Action::Close, DeadLetter, &Plan::Close),
            "close|dead_letter|Close"
                .bytes()
                .fold(0x811c_9dc5_u32, |h, b| (h ^ u32::from(b))
                    .wrapping_mul(0x0100_0193))
        );
    }
}
