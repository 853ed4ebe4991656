//! What a delivered purchase answers for on its own, whatever Telegram
//! shows: a finished delivery record, and a paid supplier order behind it.
//! Its finding also decides its charge (see `charges`).

use std::collections::{BTreeSet, HashMap};

use super::facts::{Facts, SupplierOrderFact};
use super::report::{Anomaly, AnomalyKind};
use crate::domain::PurchaseState;
use crate::store::AuditPurchase;

/// What the supplier shows of one order we tie to a purchase.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum OrderSeen {
    /// In the history (or read alone), with money taken.
    Debited,
    /// In the history with no money taken: active, failed or cancelled.
    NotDebited,
    /// Read alone, and the supplier does not know it.
    Absent,
    /// Neither in the history nor read alone.
    Unseen,
}

/// The supplier's orders by id, and those it says do not exist.
struct SupplierView<'a> {
    orders: HashMap<&'a str, &'a SupplierOrderFact>,
    absent: BTreeSet<&'a str>,
}

impl<'a> SupplierView<'a> {
    fn of(facts: &'a Facts) -> Self {
        let supplier = &facts.supplier;
        SupplierView {
            orders: supplier.orders.iter().map(|o| (o.id.as_str(), o)).collect(),
            absent: supplier.absent.iter().map(String::as_str).collect(),
        }
    }

    fn seen(&self, order: &str) -> OrderSeen {
        match self.orders.get(order) {
            Some(o) if o.debited() => OrderSeen::Debited,
            Some(_) => OrderSeen::NotDebited,
            None if self.absent.contains(order) => OrderSeen::Absent,
            None => OrderSeen::Unseen,
        }
    }
}

/// What one delivered purchase's own checks say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Check {
    Sound,
    /// Its order could not be checked: a gap in the report, not an anomaly.
    Unverified,
    Finding(AnomalyKind),
}

/// The checks of one delivered purchase, given what the supplier shows of
/// its order (`None`: it links none).
pub(super) fn check(p: &AuditPurchase, order: Option<OrderSeen>) -> Check {
    // No finished delivery_log row: the codes may never have reached the buyer.
    if !p.delivery_done {
        return Check::Finding(AnomalyKind::DeliveredWithoutRecord);
    }
    match order {
        Some(OrderSeen::Debited) => Check::Sound,
        Some(OrderSeen::Unseen) => Check::Unverified,
        // Codes sent with nothing paid behind them: no order, one never
        // paid, or one the supplier does not know.
        None | Some(OrderSeen::NotDebited | OrderSeen::Absent) => {
            Check::Finding(AnomalyKind::DeliveredWithoutPaidOrder)
        }
    }
}

/// The period's delivered purchases, checked.
#[derive(Debug, Default)]
pub(super) struct Delivered {
    /// Each purchase's finding, which its charge ends in (unless a charge
    /// rule holds first).
    pub findings: HashMap<i64, AnomalyKind>,
    pub anomalies: Vec<Anomaly>,
    pub unverified: usize,
}

/// Checks every purchase of the period that says delivered.
pub(super) fn check_delivered(facts: &Facts) -> Delivered {
    let supplier = SupplierView::of(facts);
    let mut out = Delivered::default();
    let delivered = facts
        .purchases
        .iter()
        .filter(|p| p.created_at >= facts.since && p.state == PurchaseState::Delivered);
    for p in delivered {
        let order = p.supplier_order.as_deref().map(|o| supplier.seen(o));
        match check(p, order) {
            Check::Sound => {}
            Check::Unverified => out.unverified += 1,
            Check::Finding(kind) => {
                out.findings.insert(p.id, kind);
                out.anomalies.push(Anomaly {
                    kind,
                    purchase: Some(p.id),
                    charge: p.charge.clone(),
                    order: p.supplier_order.clone(),
                });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::audit::fixtures::purchase;

    #[test]
    fn a_missing_delivery_record_is_found_before_the_order_is_looked_at() {
        let mut p = purchase(1, PurchaseState::Delivered);
        p.delivery_done = false;
        for order in [None, Some(OrderSeen::Debited), Some(OrderSeen::Unseen)] {
            assert_eq!(
                check(&p, order),
                Check::Finding(AnomalyKind::DeliveredWithoutRecord)
            );
        }
    }

    #[test]
    fn only_a_debited_order_stands_behind_a_delivery_and_an_unseen_one_is_a_gap() {
        let p = purchase(1, PurchaseState::Delivered);
        let missing = Check::Finding(AnomalyKind::DeliveredWithoutPaidOrder);
        assert_eq!(check(&p, Some(OrderSeen::Debited)), Check::Sound);
        assert_eq!(check(&p, Some(OrderSeen::Unseen)), Check::Unverified);
        assert_eq!(check(&p, Some(OrderSeen::NotDebited)), missing);
        assert_eq!(check(&p, Some(OrderSeen::Absent)), missing);
        assert_eq!(check(&p, None), missing);
    }
}
