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

use serde_json::json;

use crate::clock::millis;

use super::{CLEAN_SCANS_FOR_ABSENT, Inner, Next, Result};
use crate::crash;
use crate::domain::{PurchaseState, SupplierOrderId};
use crate::foxreload::{OrderStatus, SupplierError};
use crate::store::{AttemptState, Change, Purchase, SupplierAttempt, Transition};

/// History page size for scans.
const PAGE: u32 = 50;

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
    /// Same item and quantity, but no readable note: can be neither claimed
    /// nor ruled out.
    pub unclear: Vec<SupplierOrderId>,
    /// The scan reached the attempt's watermark or the end of the history.
    pub bounded: bool,
    pub pages: u32,
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
                "{} order(s) with this item and quantity show no readable note",
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
        let Some(attempt) = self.current_attempt(p).await? else {
            return self
                .dead_letter(
                    worker,
                    p,
                    "reconciling without an attempt record",
                    json!({}),
                )
                .await;
        };
        // A reply that arrived late says it all.
        if let Some(order) = attempt.supplier_order_id.clone() {
            return self
                .link(worker, p, attempt.id, AttemptState::Found, &order, None)
                .await;
        }
        let settle_at = attempt
            .started_at
            .saturating_add(millis(self.cfg.settle_delay));
        if self.now() < settle_at {
            return self.reschedule(worker, p, settle_at, "settling").await;
        }
        if !self.keep_lease(worker, p).await? {
            return Ok(Next::Stop);
        }
        crash::point("during_reconcile");

        let facts = match self.scan(p, &attempt).await {
            Ok(f) => f,
            Err(e) => {
                let give_up_at = attempt
                    .started_at
                    .saturating_add(millis(self.cfg.stall_dead));
                if self.now() >= give_up_at {
                    let evidence = json!({ "attempt": attempt.id, "error": e.to_string() });
                    return self
                        .abandon(
                            worker,
                            p,
                            &attempt,
                            "the supplier's history could not be read",
                            evidence,
                        )
                        .await;
                }
                return self.retry_later(worker, p, &e).await;
            }
        };
        let evidence = json!({
            "attempt": attempt.id,
            "pages": facts.pages,
            "bounded": facts.bounded,
            "candidates": facts.candidates.iter().map(|c| json!({"id": c.id, "status": c.status.as_str()})).collect::<Vec<_>>(),
            "unclear": facts.unclear,
        });
        match decide(&facts) {
            Decision::Found {
                chosen,
                others,
                paid_extra,
            } => {
                if !paid_extra.is_empty() {
                    let text = format!(
                        "Purchase #{}: the supplier charged for more than one matching order ({} extra: {}). Check the supplier account.",
                        p.id,
                        paid_extra.len(),
                        paid_extra
                            .iter()
                            .map(|o| o.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    );
                    self.alert(
                        "double_charge",
                        Some(p.id),
                        &format!("double_charge:{}", p.id),
                        &text,
                    )
                    .await?;
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
            Decision::NotFound => {
                let scans = attempt.clean_scans + 1;
                let now = self.now();
                let mut tx = self.store.begin().await?;
                tx.set_clean_scans(attempt.id, scans).await?;
                let t = if scans >= CLEAN_SCANS_FOR_ABSENT {
                    // Proven absent: exactly one new create is now allowed.
                    let _ = tx
                        .resolve_attempt(
                            attempt.id,
                            &[AttemptState::Unknown],
                            AttemptState::Absent,
                            None,
                            "not in history after the settle delay and two scans",
                            now,
                        )
                        .await?;
                    Transition::of(p, PurchaseState::Ordering, "create_absent")
                        .set(Change::NextActionAt(now))
                        .set(Change::CurrentAttempt(None))
                        .detail(evidence)
                } else {
                    let gap = (self.cfg.settle_delay / 2).max(self.cfg.poll_interval);
                    Transition::of(p, PurchaseState::Reconciling, "scan_clean")
                        .set(Change::NextActionAt(self.after(gap)))
                        .set(Change::ReleaseLease)
                        .detail(evidence)
                };
                if !tx.transition(&t.by(worker), now).await?.applied() {
                    return Ok(Next::Stop);
                }
                tx.commit().await?;
                self.next_after(worker, p.id, p.attempt).await
            }
            Decision::Undecidable(why) => self.abandon(worker, p, &attempt, &why, evidence).await,
        }
    }

    /// The attempt cannot be decided: release its signature and dead-letter
    /// the purchase with the evidence.
    async fn abandon(
        &self,
        worker: &str,
        p: &Purchase,
        attempt: &SupplierAttempt,
        why: &str,
        evidence: serde_json::Value,
    ) -> Result<Next> {
        let now = self.now();
        let mut tx = self.store.begin().await?;
        let _ = tx
            .resolve_attempt(
                attempt.id,
                &[AttemptState::Unknown],
                AttemptState::Abandoned,
                None,
                why,
                now,
            )
            .await?;
        tx.commit().await?;
        self.dead_letter(
            worker,
            p,
            &format!("an order may or may not exist: {why}"),
            evidence,
        )
        .await
    }

    /// Reads the history newest first, back to the attempt's watermark (or
    /// the end), collecting orders that could be the attempt's.
    async fn scan(
        &self,
        p: &Purchase,
        attempt: &SupplierAttempt,
    ) -> Result<ScanFacts, SupplierError> {
        let watermark = attempt.watermark.as_deref().filter(|w| !w.is_empty());
        let mut facts = ScanFacts::default();
        let mut seen: HashSet<SupplierOrderId> = HashSet::new();
        let mut offset: u32 = 0;
        let mut position = 0usize;
        let mut orders = Vec::new();
        'pages: while facts.pages < self.cfg.reconcile_max_pages {
            let page = self
                .read(|| self.supplier.orders(&[], PAGE, offset))
                .await?;
            facts.pages += 1;
            if offset == 0
                && let Some(first) = page.items.first()
            {
                self.remember_head(first.id.as_str()).await;
            }
            let n = page.items.len() as u32;
            for order in page.items {
                if Some(order.id.as_str()) == watermark {
                    facts.bounded = true;
                    break 'pages;
                }
                // Pages shift while new orders arrive; count each order once.
                if seen.insert(order.id.clone()) {
                    orders.push((position, order));
                    position += 1;
                }
            }
            offset += n;
            let end = n == 0 || page.total.map_or(n < PAGE, |t| i64::from(offset) >= t);
            if end {
                facts.bounded = true;
                break;
            }
        }
        let qty = p.quantity.get();
        let ids: Vec<SupplierOrderId> = orders.iter().map(|(_, o)| o.id.clone()).collect();
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
        for (position, order) in orders {
            if taken.contains(&order.id) {
                continue;
            }
            if order.matches(&p.product_id, qty, &p.note) {
                facts.candidates.push(Candidate {
                    id: order.id.clone(),
                    status: order.status.clone(),
                    position,
                });
            } else if order.maybe_matches(&p.product_id, qty, &p.note) {
                facts.unclear.push(order.id.clone());
            }
        }
        Ok(facts)
    }
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
        f.unclear.push(SupplierOrderId::parse("x").unwrap());
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
