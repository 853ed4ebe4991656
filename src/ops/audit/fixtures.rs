//! Test fixtures shared by the audit's unit tests: purchases, Telegram
//! transactions and supplier orders, and facts on which all three agree.

use rust_decimal::Decimal;

use super::facts::{Facts, StarDirection, StarHistory, StarTx, SupplierHistory, SupplierOrderFact};
use super::report::{AnomalyKind, Report};
use crate::clock::Millis;
use crate::domain::{Money, PurchaseState};
use crate::foxreload::OrderStatus;
use crate::store::AuditPurchase;

pub const NOW: Millis = 1_800_000_000_000;
pub const SINCE: Millis = NOW - 7 * 86_400_000;
pub const HOUR: Millis = 3_600_000;

pub fn purchase(id: i64, state: PurchaseState) -> AuditPurchase {
    let delivered = state == PurchaseState::Delivered;
    AuditPurchase {
        id,
        state,
        stars: 100,
        charge: Some(format!("charge-{id}")),
        supplier_order: Some(format!("order-{id}")),
        unit_price: Some(Money::parse("0.99").unwrap()),
        quantity: 1,
        currency: "USD".to_owned(),
        created_at: NOW - HOUR,
        delivery_done: delivered,
        delivery_started: delivered,
        refund_row: false,
        refund_confirmed: false,
    }
}

pub fn refunded(mut p: AuditPurchase) -> AuditPurchase {
    p.refund_row = true;
    p.refund_confirmed = true;
    p
}

pub fn charge(id: &str, stars: i64) -> StarTx {
    StarTx {
        id: id.to_owned(),
        stars,
        at: NOW - HOUR,
        direction: StarDirection::Charge,
    }
}

pub fn refund(id: &str, stars: i64) -> StarTx {
    StarTx {
        direction: StarDirection::Refund,
        at: NOW - HOUR / 2,
        ..charge(id, stars)
    }
}

pub fn order(id: &str, status: &str, total: &str) -> SupplierOrderFact {
    SupplierOrderFact {
        id: id.to_owned(),
        status: OrderStatus::parse(status),
        total: Some(Money::parse(total).unwrap()),
        currency: Some("USD".to_owned()),
        created_at: Some(NOW - HOUR),
        mock: false,
    }
}

/// Facts where Telegram and the supplier agree with `purchases`: each
/// one's charge listed (and refunded if its row says so), each
/// delivered or refunded one's order shown as it would be.
pub fn agreeing(purchases: Vec<AuditPurchase>) -> Facts {
    let mut txs = Vec::new();
    let mut orders = Vec::new();
    for p in &purchases {
        if let Some(c) = &p.charge {
            txs.push(charge(c, p.stars));
            if p.refund_confirmed {
                txs.push(refund(c, p.stars));
            }
        }
        if let Some(o) = &p.supplier_order {
            let status = match p.state {
                PurchaseState::Delivered => "completed",
                PurchaseState::Refunded => "failed",
                PurchaseState::WaitingSupplier => "processing",
                _ => "active",
            };
            orders.push(order(o, status, "0.99"));
        }
    }
    Facts {
        now: NOW,
        since: SINCE,
        stars: Some(StarHistory {
            transactions: txs,
            complete: true,
        }),
        supplier: SupplierHistory {
            orders,
            complete: true,
            ..SupplierHistory::default()
        },
        purchases,
        links: Vec::new(),
        stars_per_usd: Decimal::new(100, 0),
    }
}

pub fn kinds(report: &Report) -> Vec<AnomalyKind> {
    report.anomalies.iter().map(|a| a.kind).collect()
}
