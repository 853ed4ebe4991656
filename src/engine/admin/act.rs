//! Taking an admin's action: the facts read afresh, the plan checked
//! against what the admin confirmed, then applied as a compare-and-set with
//! its event (`admin_action`, actor `admin:<id>`) and the columns that go
//! with it, in one transaction.

use serde_json::{Value, json};

use super::{Action, Outcome, Plan, Preview, Result, Retry, Seen};
use crate::clock::Millis;
use crate::domain::{EventKind, PurchaseState, RefundReason, SupplierOrderId, UserId};
use crate::engine::{Engine, transitions};
use crate::store::{Purchase, Transition};

impl Engine {
    /// Takes `action` on purchase `id` for `admin`, who confirmed what they
    /// `saw`: the facts read afresh, and the plan applied as a
    /// compare-and-set with its event only if it is still the one seen.
    pub async fn admin_act(
        &self,
        admin: UserId,
        action: Action,
        id: i64,
        saw: Seen,
    ) -> Result<Outcome> {
        let Some(p) = self.inner.store.purchase(id).await? else {
            return Ok(Outcome::NotFound);
        };
        let plan = match self.plan_now(action, &p).await? {
            Ok(plan) => plan,
            Err(refusal) => return Ok(Outcome::Refused(refusal)),
        };
        // Confirmed against other facts: the admin decides again on these.
        if Seen::of(action, &p, &plan) != saw {
            return Ok(Outcome::Changed(Box::new(Preview {
                purchase: p,
                plan: Ok(plan),
            })));
        }
        let actor = format!("admin:{}", admin.0);
        let detail = detail(action, admin, &p, &plan);
        let now = self.inner.now();
        let t = match &plan {
            Plan::ReadOrder(order) => return self.read_order(&p, order, &actor, detail).await,
            Plan::DueNow => transitions::admin_due_now(&p, now, detail),
            Plan::Retry(retry) => {
                let attempt = match retry {
                    Retry::Reconcile { attempt } => Some(*attempt),
                    Retry::Watch(_) | Retry::Order => None,
                };
                transitions::admin_retry(&p, retry.state(), attempt, now, detail)
            }
            Plan::Refund { .. } => transitions::admin_refund(&p, now, detail),
            Plan::Close => transitions::admin_close(&p, detail),
        };
        let t = t.by(&actor);
        if let Some(not_done) = self.apply(&p, &plan, &t, &actor, now).await? {
            return Ok(not_done);
        }
        tracing::info!(purchase = p.id, admin = admin.0, action = action.as_str(), from = %p.state, to = %t.to, "admin action");
        Ok(Outcome::Done(plan))
    }

    /// Applies `t` and what goes with `plan` in one transaction. `Some`:
    /// nothing was done, and why.
    async fn apply(
        &self,
        p: &Purchase,
        plan: &Plan,
        t: &Transition,
        actor: &str,
        now: Millis,
    ) -> Result<Option<Outcome>> {
        let mut tx = self.inner.store.begin().await?;
        if let Plan::Retry(Retry::Reconcile { attempt }) = plan {
            // The create is put back in doubt, re-taking its signature's
            // lock, or nothing happens (the rollback drops the move too).
            match tx
                .reopen_attempt(*attempt, &format!("reopened by {actor}"))
                .await
            {
                Ok(_) => {}
                Err(e) if e.is_conflict() => return Ok(Some(Outcome::SignatureBusy)),
                Err(e) => return Err(e.into()),
            }
        }
        if !tx.transition(t, now).await?.applied() {
            return Ok(Some(Outcome::LostRace));
        }
        match plan {
            Plan::DueNow if p.state == PurchaseState::WaitingSupplier => {
                tx.renew_supplier_reads(p.id).await?;
            }
            Plan::Retry(Retry::Watch(_)) => tx.renew_supplier_reads(p.id).await?,
            Plan::Refund { withdraw_codes, .. } => {
                tx.set_refund_reason(p.id, RefundReason::Admin).await?;
                if *withdraw_codes {
                    tx.withdraw_codes(p.id, actor, now).await?;
                }
            }
            _ => {}
        }
        tx.commit().await?;
        Ok(None)
    }

    /// Reads a dead letter's supplier order and records that it was read;
    /// nothing moves.
    async fn read_order(
        &self,
        p: &Purchase,
        order: &SupplierOrderId,
        actor: &str,
        mut detail: serde_json::Value,
    ) -> Result<Outcome> {
        let inner = &self.inner;
        let read = match inner.read(|| inner.supplier.order(order)).await {
            Ok(o) if &o.id == order => o,
            Ok(_) => {
                return Ok(Outcome::SupplierError(
                    "the supplier answered with another order".to_owned(),
                ));
            }
            Err(e) => return Ok(Outcome::SupplierError(e.to_string())),
        };
        let status = read.status.as_str().to_owned();
        detail["order"] = json!(order);
        detail["status"] = json!(status);
        let now = inner.now();
        let mut tx = inner.store.begin().await?;
        tx.record_event(
            Some(p.id),
            EventKind::AdminAction,
            Some(p.state),
            Some(p.state),
            Some(p.fence),
            actor,
            &detail,
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(Outcome::OrderRead {
            order: order.clone(),
            status,
        })
    }
}

/// The admin's event: who did what from where, and what the plan says
/// (where the purchase goes, the Stars, the wholesale money, the codes
/// withdrawn).
fn detail(action: Action, admin: UserId, p: &Purchase, plan: &Plan) -> Value {
    let mut detail = json!({
        "action": action.as_str(),
        "admin": admin.0,
        "from": p.state.as_str(),
    });
    match plan {
        Plan::Retry(retry) => {
            detail["to"] = json!(retry.state().as_str());
            match retry {
                Retry::Reconcile { attempt } => detail["attempt"] = json!(attempt),
                Retry::Watch(order) => detail["order"] = json!(order),
                Retry::Order => {}
            }
        }
        Plan::Refund {
            partial,
            in_stars,
            withdraw_codes,
            cost,
        } => {
            detail["partial"] = json!(partial);
            detail["stars"] = json!(if *in_stars { p.stars } else { 0 });
            if *withdraw_codes {
                detail["codes_withdrawn"] = json!(true);
            }
            if let Some(cost) = cost {
                detail["supplier_paid"] = json!(if cost.certain { "yes" } else { "maybe" });
                detail["wholesale"] = json!(cost.amount.map(|a| a.to_string()));
                detail["currency"] = json!(cost.currency);
            }
        }
        Plan::ReadOrder(_) | Plan::DueNow | Plan::Close => {}
    }
    detail
}
