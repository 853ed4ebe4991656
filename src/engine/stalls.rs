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
use crate::domain::{AlertKind, PurchaseState};
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
        let text = format!("Purchase #{}: {}", p.id, what_waits(p, age));
        tx.raise_alert(
            AlertKind::Stall,
            Some(p.id),
            Some(&format!("stall:{}:{}", p.id, p.state)),
            &text,
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
        let reason = what_waits(p, age);
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
fn what_waits(p: &Purchase, age: i64) -> String {
    let since = human(age);
    let why = p
        .last_error
        .as_deref()
        .map(|e| format!(" (last: {e})"))
        .unwrap_or_default();
    let order = p
        .supplier_order_id
        .as_ref()
        .map_or("?".to_owned(), |o| o.to_string());
    match p.state {
        PurchaseState::WaitingSupplier => format!(
            "the supplier order {order} is still {} after {since} (paid; ask the supplier)",
            p.supplier_status.as_deref().unwrap_or("unfinished")
        ),
        PurchaseState::Ordering => {
            format!("no supplier order could be started for {since}{why}")
        }
        PurchaseState::Submitting | PurchaseState::Reconciling => {
            format!("whether the supplier order exists is still unknown after {since}{why}")
        }
        PurchaseState::Ordered | PurchaseState::Paying => {
            format!("the supplier order {order} is still unpaid after {since}{why}")
        }
        PurchaseState::Delivering => format!("the codes are still not delivered after {since}"),
        PurchaseState::Refunding => format!("the refund is still not done after {since}"),
        other => format!("still {other} after {since}{why}"),
    }
}

/// "45 s", "12 min", "3 h 5 min".
fn human(ms: i64) -> String {
    let secs = ms.max(0) / 1000;
    match secs {
        0..120 => format!("{secs} s"),
        120..7200 => format!("{} min", secs / 60),
        _ => format!("{} h {} min", secs / 3600, secs % 3600 / 60),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn durations_read_well() {
        assert_eq!(super::human(16_000), "16 s");
        assert_eq!(super::human(600_000), "10 min");
        assert_eq!(super::human(3 * 3_600_000 + 300_000), "3 h 5 min");
    }
}
