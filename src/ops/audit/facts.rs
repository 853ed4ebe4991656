//! What the audit judges, as plain values: Telegram's star transactions,
//! the supplier's orders, and our purchases with their ties to orders.
//! [`gather`](fn@super::gather) reads them; [`classify`](fn@super::classify)
//! judges them without any I/O.

use rust_decimal::Decimal;

use crate::clock::{BoxFuture, Millis};
use crate::domain::Money;
use crate::foxreload::OrderStatus;
use crate::store::AuditPurchase;

/// Telegram's `getStarTransactions` pages read at most (100 each).
pub const MAX_STAR_PAGES: u32 = 100;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StarDirection {
    /// A buyer paid an invoice.
    Charge,
    /// Stars went back to a buyer (`refundStarPayment`): same id as the charge.
    Refund,
}

/// One of Telegram's star transactions, as plain values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StarTx {
    pub id: String,
    pub stars: i64,
    pub at: Millis,
    pub direction: StarDirection,
}

/// Telegram's star transactions back to the period's start.
#[derive(Debug, Clone, Default)]
pub struct StarHistory {
    pub transactions: Vec<StarTx>,
    /// Read back past the period's start (not cut short by a page limit).
    pub complete: bool,
}

/// Telegram's list of star transactions (the bot layer reads it).
pub trait StarLedger: Send + Sync {
    /// Every transaction from `since` on (older ones may come too).
    fn star_transactions(&self, since: Millis) -> BoxFuture<'_, anyhow::Result<StarHistory>>;
}

/// A supplier order as the audit needs it.
#[derive(Debug, Clone)]
pub struct SupplierOrderFact {
    pub id: String,
    pub status: OrderStatus,
    pub total: Option<Money>,
    pub currency: Option<String>,
    pub created_at: Option<Millis>,
    pub mock: bool,
}

impl SupplierOrderFact {
    /// The supplier took (or may have taken) money for it: paid or later,
    /// or a status we do not know. A failed or cancelled order's money is
    /// back in the balance; an active one was never debited.
    pub(super) fn debited(&self) -> bool {
        self.status.is_paid_or_later() || matches!(self.status, OrderStatus::Other(_))
    }
}

#[derive(Debug, Clone, Default)]
pub struct SupplierHistory {
    pub orders: Vec<SupplierOrderFact>,
    /// History rows that did not read as orders.
    pub unreadable: usize,
    /// Read back past the period's start.
    pub complete: bool,
    /// Orders we link that the supplier says do not exist (read alone: 404).
    pub absent: Vec<String>,
}

/// Everything [`classify`](fn@super::classify) judges.
#[derive(Debug, Clone, Default)]
pub struct Facts {
    pub now: Millis,
    pub since: Millis,
    /// `None`: Telegram was not read (a demo shop takes no Stars).
    pub stars: Option<StarHistory>,
    pub supplier: SupplierHistory,
    /// Our purchases touched in the period, and those the histories name.
    pub purchases: Vec<AuditPurchase>,
    /// (purchase, supplier order) ties: the purchase's link and its attempts'.
    pub links: Vec<(i64, String)>,
    /// The configured rate, for the margin estimate.
    pub stars_per_usd: Decimal,
}
