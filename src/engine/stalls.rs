//! Nothing waits silently. Every non-final state has a clock that starts
//! when the purchase enters it (claims do not reset it; neither do the
//! moves within one phase of work, such as a create that never left going
//! back to `ordering`, or `ordered` ⇄ `paying`): past
//! `STALL_ALERT_SECS` the admins get one alert; past `STALL_DEAD_SECS` the
//! purchase is dead-lettered, with its own unresolved create abandoned in
//! the same transaction. `on_hold` has its own deadline (`BALANCE_WAIT_SECS`,
//! then a refund) and its own alert, so it is left to `check_hold`.

use serde_json::json;

use super::poller::PollReport;
use super::{Inner, Result, transitions};
use crate::clock::millis;
use crate::domain::{AlertKind, Args, DeadLetterReason, PurchaseState, Stall};
use crate::store::Purchase;

/// The states whose waits the sweep watches.
const WATCHED: &[PurchaseState] = &[
    PurchaseState::Ordering,
    PurchaseState::Submitting,
    PurchaseState::Reconciling,
    PurchaseState::Ordered,
    PurchaseState::Paying,
    PurchaseState::WaitingSupplier,
    PurchaseState::Delivering,
    PurchaseState::Refunding,
];

/// Purchases handled per sweep; the rest wait for the next cycle.
const SWEEP_LIMIT: i64 = 200;

impl Inner {
    /// Alerts on, then dead-letters, purchases that waited too long.
    pub(super) async fn sweep_stalls(&self, report: &mut PollReport) -> Result<()> {
        let now = self.now();
        let alert_before = now.saturating_sub(millis(self.cfg.stall_alert));
        let dead_before = now.saturating_sub(millis(self.cfg.stall_dead));
        let rows = self
            .store
            .stalled(WATCHED, alert_before, dead_before, SWEEP_LIMIT, now)
            .await?;
        self.report_corrupt(&rows.corrupt).await?;
        for p in rows.purchases {
            let age = now.saturating_sub(p.state_since);
            let acted = if p.state_since <= dead_before {
                self.stall_dead(&p, age).await?
            } else {
                self.stall_alert(&p, age).await?
            };
            if acted {
                report.stalled += 1;
            }
        }
        Ok(())
    }

    async fn stall_alert(&self, p: &Purchase, age: i64) -> Result<bool> {
        let now = self.now();
        let me = &self.cfg.instance_id;
        let t = transitions::stall_alerted(p, now, age).by(me);
        let mut tx = self.store.begin().await?;
        if !tx.transition(&t, now).await?.applied() {
            return Ok(false);
        }
        let args = Args::new()
            .num("purchase", p.id)
            .phrase("stall", stall_of(p, age).phrase());
        tx.raise_alert(
            AlertKind::Stall,
            Some(p.id),
            Some(&format!("stall:{}:{}", p.id, p.state)),
            &args,
            now,
        )
        .await?;
        tx.commit().await?;
        tracing::warn!(purchase = p.id, state = %p.state, age_ms = age, "purchase stalled; admins alerted");
        Ok(true)
    }

    async fn stall_dead(&self, p: &Purchase, age: i64) -> Result<bool> {
        let me = self.cfg.instance_id.clone();
        let evidence = json!({
            "state": p.state.as_str(),
            "waiting_ms": age,
            "order": p.supplier_order_id,
            "status": p.supplier_status,
            "last_error": p.last_error,
        });
        let reason = DeadLetterReason::Stalled(stall_of(p, age));
        let mut tx = self.store.begin().await?;
        if !self
            .dead_letter_in(&mut tx, &me, p, &reason, evidence)
            .await?
        {
            return Ok(false);
        }
        tx.commit().await?;
        tracing::warn!(purchase = p.id, state = %p.state, "stalled purchase dead-lettered");
        Ok(true)
    }
}

/// What the purchase is waiting on, for admins.
fn stall_of(p: &Purchase, age: i64) -> Stall {
    Stall {
        state: p.state,
        waited_ms: age,
        order: p.supplier_order_id.clone(),
        supplier_status: p.supplier_status.clone(),
        last_error: p.last_error.clone(),
    }
}
