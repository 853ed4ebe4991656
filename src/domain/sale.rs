//! One sale: what a buyer is sold and at what price, the same value from
//! the offer (a checkout row) to the record (a purchase row); and what a
//! payment for it is admitted as.

use super::{Money, Note, ProductId, Quantity, RefundReason};

/// What is sold: the product (its name as the buyer saw it), how many, the
/// note fields the supplier needs, and the price. A checkout carries it to
/// the payment, and the payment's purchase carries it on; nothing in it is
/// re-read from the catalog once offered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sale {
    pub product_id: ProductId,
    pub product_name: String,
    pub quantity: Quantity,
    pub note: Note,
    /// The wholesale unit price the Stars price was computed from, if it
    /// was known.
    pub unit_price: Option<Money>,
    pub currency: String,
    /// The Stars total: invoiced on a checkout, paid on a purchase (0 for
    /// a purchase paid outside Telegram).
    pub stars: i64,
}

/// What a payment of an invoice of ours becomes: decided by intake
/// (`intake::admission::admit`), recorded by the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// The sale goes ahead: a purchase on its way to the supplier.
    Order,
    /// The payment cannot be honoured: a purchase to refund, for this reason.
    Refund(RefundReason),
}
