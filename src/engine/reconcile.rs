//! Deciding an ambiguous create from the supplier's order history.
//!
//! The supplier echoes no reference of ours, so "is this order mine?" is
//! answered by elimination, and two rules make the answer exact:
//! - one unresolved create per signature (item, quantity, note): any new,
//!   unlinked order with the signature can only be this attempt's (or an
//!   earlier attempt's of the same signature, which is interchangeable);
//! - orders that existed before the attempt (at or below its watermark) or
//!   are tied to another purchase are never candidates.
//!
//! "Not found" proves absence only after the settle delay (a request can
//! still be running at the supplier after our client gave up) and only after
//! two clean scans (the history can lag behind creation). An unpaid
//! duplicate is harmless: it expires. Pay is only ever called for the one
//! order linked to the purchase.
//!
//! The account may be shared with other systems: an order they create with
//! the same item, quantity and note during our attempt is indistinguishable
//! from ours. We might adopt theirs (and they ours); neither is ever paid
//! twice by us, but their bookkeeping may then be wrong. Give foxbot its own
//! key where possible.

use std::collections::HashSet;
use std::ops::ControlFlow;

use serde_json::json;

use crate::clock::millis;

use super::history::{Reached, Step};
use super::{CLEAN_SCANS_FOR_ABSENT, Inner, Next, Result, transitions};
use crate::crash;
use crate::domain::{AlertKind, Args, DeadLetterReason, PurchaseState, SupplierOrderId};
use crate::foxreload::{HistoryRow, Likeness, Order, OrderStatus, RejectCode, SupplierError};
use crate::store::{AttemptState, Cas, Purchase, SupplierAttempt};

/// Orders a scan may read on their own (rows the list cannot judge); past
/// this, the rest count as unclear.
const MAX_DIRECT_READS: usize = 50;

/// A history order with the attempt's signature, tied to no other purchase.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    pub id: SupplierOrderId,
    pub status: OrderStatus,
    /// 0 is the newest order in the history.
    pub position: usize,
}

/// What one scan of the history saw.
#[derive(Debug, Clone, Default)]
pub struct ScanFacts {
    pub candidates: Vec<Candidate>,
    /// Orders that could be the attempt's but could not be judged, even
    /// when read alone: neither claimed nor ruled out.
    pub unclear: Vec<String>,
    /// The scan reached the attempt's watermark or the end of the history.
    pub bounded: bool,
    pub pages: u32,
    /// Orders read on their own because their history row could not be judged.
    pub direct_reads: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// Adopt `chosen`. `paid_extra` lists other candidates the supplier has
    /// already charged for (an account that pays on creation): money spent
    /// twice, which a person must sort out.
    Found {
        chosen: SupplierOrderId,
        others: Vec<SupplierOrderId>,
        paid_extra: Vec<SupplierOrderId>,
    },
    NotFound,
    Undecidable(String),
}

/// Chooses from one scan's facts. Prefers an order already paid (its money
/// is spent), then one still payable, then the oldest.
pub fn decide(facts: &ScanFacts) -> Decision {
    if !facts.bounded {
        return Decision::Undecidable(format!(
            "the order history was not read back to the attempt's start in {} pages",
            facts.pages
        ));
    }
    if facts.candidates.is_empty() {
        if !facts.unclear.is_empty() {
            return Decision::Undecidable(format!(
                "{} order(s) could be ours but cannot be judged, even read alone",
                facts.unclear.len()
            ));
        }
        return Decision::NotFound;
    }
    let rank = |c: &Candidate| match c.status {
        ref s if s.is_paid_or_later() => 0,
        OrderStatus::Active => 1,
        ref s if !s.is_terminal() => 2,
        _ => 3,
    };
    let mut sorted = facts.candidates.clone();
    // Best rank first; within a rank the oldest (largest position) first.
    sorted.sort_by(|a, b| rank(a).cmp(&rank(b)).then(b.position.cmp(&a.position)));
    let chosen = sorted[0].id.clone();
    let paid_extra = sorted[1..]
        .iter()
        .filter(|c| c.status.is_paid_or_later())
        .map(|c| c.id.clone())
        .collect();
    let others = sorted[1..].iter().map(|c| c.id.clone()).collect();
    Decision::Found {
        chosen,
        others,
        paid_extra,
    }
}

impl Inner {
    /// `reconciling`: after the settle delay, read the history and decide.
    pub(super) async fn reconcile(&self, worker: &str, p: &Purchase) -> Result<Next> {
        let attempt = match self.ready_to_scan(worker, p).await? {
            ControlFlow::Continue(attempt) => attempt,
            ControlFlow::Break(next) => return Ok(next),
        };
        crash::point("during_reconcile");

        let facts = match self.scan(p, &attempt).await {
            Ok(f) => f,
            // The state clock bounds how long this may go on.
            Err(e) => return self.retry_later(worker, p, &e).await,
        };
        let evidence = evidence(attempt.id, &facts);
        match decide(&facts) {
            Decision::Found {
                chosen,
                others,
                paid_extra,
            } => {
                if !paid_extra.is_empty() {
                    self.alert_double_charge(p, &paid_extra).await?;
                }
                let status = facts
                    .candidates
                    .iter()
                    .find(|c| c.id == chosen)
                    .map(|c| c.status.clone());
                tracing::info!(purchase = p.id, order = %chosen, duplicates = others.len(), "ambiguous create found in history");
                self.link(
                    worker,
                    p,
                    attempt.id,
                    AttemptState::Found,
                    &chosen,
                    status.as_ref(),
                )
                .await
            }
            Decision::NotFound => self.scan_found_nothing(worker, p, &attempt, evidence).await,
            Decision::Undecidable(why) => {
                let reason = DeadLetterReason::MayOrMayNotExist(why);
                self.dead_letter(worker, p, reason, evidence).await
            }
        }
    }

    /// The attempt to decide, once its history may be scanned: a reply
    /// that arrived late is adopted instead, a create that may still land
    /// is waited for, and a missing attempt goes to a person.
    async fn ready_to_scan(
        &self,
        worker: &str,
        p: &Purchase,
    ) -> Result<ControlFlow<Next, SupplierAttempt>> {
        let Some(attempt) = self.current_attempt(p).await? else {
            let reason = DeadLetterReason::NoAttemptRecord(PurchaseState::Reconciling);
            let next = self.dead_letter(worker, p, reason, json!({})).await?;
            return Ok(ControlFlow::Break(next));
        };
        // A reply that arrived late says it all.
        if let Some(order) = attempt.supplier_order_id.clone() {
            let next = self
                .link(worker, p, attempt.id, AttemptState::Found, &order, None)
                .await?;
            return Ok(ControlFlow::Break(next));
        }
        // "Not found" only counts once the request can no longer land.
        let settle_at = attempt
            .reach_by
            .saturating_add(millis(self.cfg.settle_delay));
        if self.now() < settle_at {
            let next = self.reschedule(worker, p, settle_at, "settling").await?;
            return Ok(ControlFlow::Break(next));
        }
        if !self.keep_lease(worker, p).await? {
            return Ok(ControlFlow::Break(Next::Stop));
        }
        Ok(ControlFlow::Continue(attempt))
    }

    /// A clean scan: one more towards proving absence. Absence is decided
    /// in the same transaction that re-checks the attempt: a reply noted on
    /// it meanwhile wins, and is adopted instead.
    async fn scan_found_nothing(
        &self,
        worker: &str,
        p: &Purchase,
        attempt: &SupplierAttempt,
        evidence: serde_json::Value,
    ) -> Result<Next> {
        let scans = attempt.clean_scans + 1;
        let now = self.now();
        let mut tx = self.store.begin().await?;
        tx.set_clean_scans(attempt.id, scans).await?;
        let t = if scans >= CLEAN_SCANS_FOR_ABSENT {
            // Proven absent: exactly one new create is now allowed.
            if tx.mark_attempt_absent(attempt.id, now).await? == Cas::LostRace {
                drop(tx);
                return self.adopt_noted_reply(worker, p, attempt.id).await;
            }
            transitions::create_absent(p, now, evidence)
        } else {
            let gap = (self.cfg.settle_delay / 2).max(self.cfg.poll_interval);
            transitions::scan_clean(p, self.after(gap), evidence)
        };
        if !tx.transition(&t.by(worker), now).await?.applied() {
            return Ok(Next::Stop);
        }
        tx.commit().await?;
        self.next_after(worker, p.id, p.fence).await
    }

    /// The attempt could not be marked absent: a reply was noted on it
    /// after the scan. Link that order.
    async fn adopt_noted_reply(&self, worker: &str, p: &Purchase, attempt_id: i64) -> Result<Next> {
        match self.store.attempt(attempt_id).await? {
            Some(SupplierAttempt {
                supplier_order_id: Some(order),
                ..
            }) => {
                tracing::info!(purchase = p.id, order = %order, "a reply noted during the scan wins over absence");
                self.link(worker, p, attempt_id, AttemptState::Found, &order, None)
                    .await
            }
            // Resolved some other way by someone else: look again later.
            _ => {
                let at = self.after(self.cfg.poll_interval);
                self.reschedule(worker, p, at, "the attempt changed during the scan")
                    .await
            }
        }
    }

    async fn alert_double_charge(
        &self,
        p: &Purchase,
        paid_extra: &[SupplierOrderId],
    ) -> Result<()> {
        let orders = paid_extra
            .iter()
            .map(|o| o.as_str())
            .collect::<Vec<_>>()
            .join(", ");
        let args = Args::new()
            .num("purchase", p.id)
            .num("extra", i64::try_from(paid_extra.len()).unwrap_or(i64::MAX))
            .text("orders", orders);
        self.alert(
            AlertKind::DoubleCharge,
            Some(p.id),
            &format!("double_charge:{}", p.id),
            &args,
        )
        .await
    }

    /// Reads the history newest first, back to the attempt's watermark (or
    /// the end), and judges every order that could be the attempt's. A row
    /// the list cannot judge (a summary without items, quantity or note; a
    /// note with extra fields; a row that does not parse) is read alone;
    /// what still cannot be judged is unclear, never "not ours".
    async fn scan(
        &self,
        p: &Purchase,
        attempt: &SupplierAttempt,
    ) -> Result<ScanFacts, SupplierError> {
        let watermark = attempt.watermark.as_ref().and_then(|w| w.order().cloned());
        let walk = self
            .walk_history(self.cfg.reconcile_max_pages, |row| {
                if watermark.is_some() && row.id() == watermark.as_ref() {
                    Step::StopBefore
                } else {
                    Step::Keep
                }
            })
            .await?;
        let mut facts = ScanFacts {
            bounded: walk.reached != Reached::PageLimit,
            pages: walk.pages,
            ..ScanFacts::default()
        };
        let ids: Vec<SupplierOrderId> = walk.rows.iter().filter_map(|r| r.id().cloned()).collect();
        let taken: HashSet<SupplierOrderId> = self
            .store
            .orders_taken_by_others(&ids, p.id)
            .await
            .map_err(|e| SupplierError::RetryLater {
                reason: format!("store: {e}"),
                retry_after: None,
            })?
            .into_iter()
            .collect();
        for (position, row) in walk.rows.iter().enumerate() {
            if row.id().is_some_and(|id| taken.contains(id)) {
                continue;
            }
            let listed = match row {
                HistoryRow::Order(o) => self.judge(p, o),
                HistoryRow::Unreadable(_) => Likeness::Unknown,
            };
            match (listed, row) {
                (Likeness::Same, HistoryRow::Order(o)) => facts.candidates.push(Candidate {
                    id: o.id.clone(),
                    status: o.status.clone(),
                    position,
                }),
                (Likeness::Different, _) => {}
                (_, row) => self.judge_alone(p, row, position, &mut facts).await?,
            }
        }
        Ok(facts)
    }

    fn judge(&self, p: &Purchase, order: &Order) -> Likeness {
        order.likeness(&p.product_id, p.quantity.get(), &p.note)
    }

    /// Reads one order the list could not judge and judges it again.
    async fn judge_alone(
        &self,
        p: &Purchase,
        row: &HistoryRow,
        position: usize,
        facts: &mut ScanFacts,
    ) -> Result<(), SupplierError> {
        let Some(id) = row.id() else {
            facts.unclear.push(format!(
                "an unreadable row without an id at position {position}"
            ));
            return Ok(());
        };
        if facts.direct_reads >= MAX_DIRECT_READS {
            facts.unclear.push(id.to_string());
            return Ok(());
        }
        facts.direct_reads += 1;
        match self.read(|| self.supplier.order(id)).await {
            Ok(order) => match self.judge(p, &order) {
                Likeness::Same => facts.candidates.push(Candidate {
                    id: order.id.clone(),
                    status: order.status.clone(),
                    position,
                }),
                Likeness::Different => {}
                Likeness::Unknown => facts.unclear.push(id.to_string()),
            },
            // The supplier knows no such order: nothing of ours to find there.
            Err(SupplierError::Rejected(r)) if r.code == RejectCode::NotFound => {}
            Err(e) => return Err(e),
        }
        Ok(())
    }
}

/// What a scan saw, kept with the event it leads to.
fn evidence(attempt: i64, facts: &ScanFacts) -> serde_json::Value {
    json!({
        "attempt": attempt,
        "pages": facts.pages,
        "bounded": facts.bounded,
        "direct_reads": facts.direct_reads,
        "candidates": facts.candidates.iter().map(|c| json!({"id": c.id, "status": c.status.as_str()})).collect::<Vec<_>>(),
        "unclear": facts.unclear,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(id: &str, status: OrderStatus, position: usize) -> Candidate {
        Candidate {
            id: SupplierOrderId::parse(id).unwrap(),
            status,
            position,
        }
    }

    fn facts(candidates: Vec<Candidate>) -> ScanFacts {
        ScanFacts {
            candidates,
            unclear: vec![],
            bounded: true,
            pages: 1,
            direct_reads: 0,
        }
    }

    #[test]
    fn nothing_found_in_a_bounded_scan_is_not_found() {
        assert_eq!(decide(&facts(vec![])), Decision::NotFound);
    }

    #[test]
    fn an_unbounded_scan_decides_nothing() {
        let mut f = facts(vec![c("a", OrderStatus::Active, 0)]);
        f.bounded = false;
        assert!(matches!(decide(&f), Decision::Undecidable(_)));
        f.candidates.clear();
        assert!(
            matches!(decide(&f), Decision::Undecidable(_)),
            "absence is not proven either"
        );
    }

    #[test]
    fn orders_without_a_readable_note_block_a_not_found() {
        let mut f = facts(vec![]);
        f.unclear.push("x".to_owned());
        assert!(matches!(decide(&f), Decision::Undecidable(_)));
        // But a real match is still adopted: same-signature orders are interchangeable.
        f.candidates.push(c("a", OrderStatus::Active, 3));
        assert!(matches!(decide(&f), Decision::Found { .. }));
    }

    #[test]
    fn one_candidate_is_adopted() {
        let d = decide(&facts(vec![c("a", OrderStatus::Active, 2)]));
        assert_eq!(
            d,
            Decision::Found {
                chosen: SupplierOrderId::parse("a").unwrap(),
                others: vec![],
                paid_extra: vec![],
            }
        );
    }

    #[test]
    fn a_paid_candidate_wins_over_payable_ones_and_the_oldest_breaks_ties() {
        let d = decide(&facts(vec![
            c("new-active", OrderStatus::Active, 0),
            c("paid", OrderStatus::Paid, 1),
            c("old-active", OrderStatus::Active, 5),
        ]));
        let Decision::Found {
            chosen,
            others,
            paid_extra,
        } = d
        else {
            panic!()
        };
        assert_eq!(chosen.as_str(), "paid");
        assert_eq!(others.len(), 2);
        assert!(paid_extra.is_empty());

        let d = decide(&facts(vec![
            c("new-active", OrderStatus::Active, 0),
            c("expired", OrderStatus::Cancelled, 9),
            c("old-active", OrderStatus::Active, 5),
        ]));
        let Decision::Found { chosen, .. } = d else {
            panic!()
        };
        assert_eq!(chosen.as_str(), "old-active");
    }

    #[test]
    fn two_paid_candidates_are_reported() {
        let d = decide(&facts(vec![
            c("p1", OrderStatus::Processing, 0),
            c("p2", OrderStatus::Completed, 1),
        ]));
        let Decision::Found {
            chosen, paid_extra, ..
        } = d
        else {
            panic!()
        };
        assert_eq!(chosen.as_str(), "p2");
        assert_eq!(paid_extra, vec![SupplierOrderId::parse("p1").unwrap()]);
    }
}
