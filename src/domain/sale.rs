//! One sale: what a buyer is sold and at what price, the same value from
//! the offer (a checkout row) to the record (a purchase row).

use super::{Money, Note, ProductId, Quantity};

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
