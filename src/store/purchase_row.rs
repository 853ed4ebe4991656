//! A purchase as stored and as read: the raw row, its typed form, and the
//! rows that do not read set apart from the rest.

use super::{Result, StoreError};
use crate::clock::Millis;
use crate::domain::{
    HoldReason, InvalidValue, Money, Note, ProductId, PurchaseSource, PurchaseState, Quantity,
    Signature, SupplierOrderId, UserId,
};

/// A `purchases` row as the database returns it: text not yet parsed.
#[derive(Debug, Clone, sqlx::FromRow)]
pub(super) struct PurchaseRow {
    id: i64,
    client_ref: String,
    user_id: i64,
    chat_id: i64,
    product_id: String,
    product_name: String,
    quantity: i64,
    note: String,
    signature: String,
    unit_price: Option<String>,
    order_price: Option<String>,
    currency: String,
    stars: i64,
    source: String,
    telegram_charge_id: Option<String>,
    state: String,
    fence: i64,
    lease_owner: Option<String>,
    lease_expires_at: Option<i64>,
    next_action_at: i64,
    supplier_order_id: Option<String>,
    supplier_status: Option<String>,
    current_attempt_id: Option<i64>,
    order_attempts: i64,
    hold_reason: Option<String>,
    hold_since: Option<i64>,
    resume_state: Option<String>,
    pay_sent_at: Option<i64>,
    waiting_since: Option<i64>,
    stall_alerted_at: Option<i64>,
    last_checked_at: Option<i64>,
    last_error: Option<String>,
    created_at: i64,
    updated_at: i64,
    finished_at: Option<i64>,
    state_since: i64,
    pays_sent: i64,
    empty_reads: i64,
}

/// A purchase as read from the store, with typed fields.
#[derive(Debug, Clone)]
pub struct Purchase {
    pub id: i64,
    pub client_ref: String,
    pub user_id: UserId,
    pub chat_id: i64,
    pub product_id: ProductId,
    pub product_name: String,
    pub quantity: Quantity,
    pub note: Note,
    pub signature: Signature,
    pub unit_price: Option<Money>,
    /// The unit price we offer the supplier now: the sale price, or a
    /// re-quote within the configured tolerance.
    pub order_price: Option<Money>,
    pub currency: String,
    pub stars: i64,
    pub source: PurchaseSource,
    pub telegram_charge_id: Option<String>,
    pub state: PurchaseState,
    /// The claim fence, bumped by every claim: a worker's compare-and-set
    /// names the claim it holds, so a worker whose lease was taken over
    /// cannot write.
    pub fence: i64,
    pub lease_owner: Option<String>,
    pub lease_expires_at: Option<Millis>,
    pub next_action_at: Millis,
    pub supplier_order_id: Option<SupplierOrderId>,
    pub supplier_status: Option<String>,
    pub current_attempt_id: Option<i64>,
    pub order_attempts: i64,
    pub hold_reason: Option<HoldReason>,
    pub hold_since: Option<Millis>,
    pub resume_state: Option<PurchaseState>,
    pub pay_sent_at: Option<Millis>,
    pub waiting_since: Option<Millis>,
    pub stall_alerted_at: Option<Millis>,
    pub last_checked_at: Option<Millis>,
    pub last_error: Option<String>,
    pub created_at: Millis,
    pub updated_at: Millis,
    pub finished_at: Option<Millis>,
    /// When the purchase entered its current state: the stall clock.
    pub state_since: Millis,
    /// Pay requests sent for the linked order.
    pub pays_sent: i64,
    /// Direct reads that found the order completed without its codes.
    pub empty_reads: i64,
}

impl TryFrom<PurchaseRow> for Purchase {
    type Error = StoreError;

    fn try_from(r: PurchaseRow) -> Result<Self> {
        let corrupt = corrupt(r.id);
        Ok(Purchase {
            id: r.id,
            user_id: UserId(r.user_id),
            chat_id: r.chat_id,
            product_id: ProductId::parse(&r.product_id).map_err(corrupt)?,
            product_name: r.product_name.clone(),
            quantity: Quantity::new(r.quantity).map_err(corrupt)?,
            note: Note::parse_canonical(&r.note).map_err(corrupt)?,
            signature: Signature::from_stored(r.signature.clone()),
            order_price: optional(r.id, &r.order_price, Money::parse)?,
            unit_price: optional(r.id, &r.unit_price, Money::parse)?,
            state: PurchaseState::parse(&r.state).map_err(corrupt)?,
            supplier_order_id: optional(r.id, &r.supplier_order_id, SupplierOrderId::parse)?,
            resume_state: optional(r.id, &r.resume_state, PurchaseState::parse)?,
            source: PurchaseSource::parse(&r.source).map_err(corrupt)?,
            hold_reason: optional(r.id, &r.hold_reason, HoldReason::parse)?,
            client_ref: r.client_ref,
            currency: r.currency,
            stars: r.stars,
            telegram_charge_id: r.telegram_charge_id,
            fence: r.fence,
            lease_owner: r.lease_owner,
            lease_expires_at: r.lease_expires_at,
            next_action_at: r.next_action_at,
            supplier_status: r.supplier_status,
            current_attempt_id: r.current_attempt_id,
            order_attempts: r.order_attempts,
            hold_since: r.hold_since,
            pay_sent_at: r.pay_sent_at,
            waiting_since: r.waiting_since,
            stall_alerted_at: r.stall_alerted_at,
            last_checked_at: r.last_checked_at,
            last_error: r.last_error,
            created_at: r.created_at,
            updated_at: r.updated_at,
            finished_at: r.finished_at,
            state_since: r.state_since,
            pays_sent: r.pays_sent,
            empty_reads: r.empty_reads,
        })
    }
}

/// A stored value that does not parse makes its row corrupt, named by id.
fn corrupt(id: i64) -> impl Fn(InvalidValue) -> StoreError + Copy {
    move |e| StoreError::Corrupt(format!("purchase {id}: {e}"))
}

/// A nullable column, parsed when it holds a value.
fn optional<T>(
    id: i64,
    text: &Option<String>,
    parse: impl FnOnce(&str) -> Result<T, InvalidValue>,
) -> Result<Option<T>> {
    text.as_deref().map(parse).transpose().map_err(corrupt(id))
}

pub(super) fn typed(rows: Vec<PurchaseRow>) -> Result<Vec<Purchase>> {
    rows.into_iter().map(Purchase::try_from).collect()
}

/// A purchase row that does not read as a purchase (a bad state name, a
/// broken note): reported and set aside, never a reason to stop the others.
#[derive(Debug, Clone)]
pub struct CorruptRow {
    pub id: i64,
    pub problem: String,
}

/// Rows read for work: the good ones, and those that could not be read.
#[derive(Debug, Default)]
pub struct Rows {
    pub purchases: Vec<Purchase>,
    pub corrupt: Vec<CorruptRow>,
}

pub(super) fn sorted(rows: Vec<PurchaseRow>) -> Rows {
    let mut out = Rows::default();
    for row in rows {
        let id = row.id;
        match Purchase::try_from(row) {
            Ok(p) => out.purchases.push(p),
            Err(e) => out.corrupt.push(CorruptRow {
                id,
                problem: e.to_string(),
            }),
        }
    }
    out
}

#[cfg(test)]
impl Purchase {
    /// A purchase paid in Stars, for unit tests of pure decisions.
    pub(crate) fn example(state: PurchaseState, quantity: i64, now: Millis) -> Purchase {
        use crate::domain::{Note, ProductId, PurchaseSource, Quantity, Signature, UserId};
        let product = ProductId::parse("product_1").unwrap();
        let quantity = Quantity::new(quantity).unwrap();
        let note = Note::default();
        Purchase {
            id: 7,
            client_ref: "c".to_owned(),
            user_id: UserId(1),
            chat_id: 1,
            signature: Signature::of(&product, quantity, &note),
            product_id: product,
            product_name: "Steam".to_owned(),
            quantity,
            note,
            unit_price: None,
            order_price: None,
            currency: "USD".to_owned(),
            stars: 100,
            source: PurchaseSource::Telegram,
            telegram_charge_id: Some("charge".to_owned()),
            state,
            fence: 3,
            lease_owner: None,
            lease_expires_at: None,
            next_action_at: now,
            supplier_order_id: None,
            supplier_status: None,
            current_attempt_id: None,
            order_attempts: 0,
            hold_reason: None,
            hold_since: None,
            resume_state: None,
            pay_sent_at: None,
            waiting_since: None,
            stall_alerted_at: None,
            last_checked_at: None,
            last_error: None,
            created_at: now,
            updated_at: now,
            finished_at: None,
            state_since: now,
            pays_sent: 0,
            empty_reads: 0,
        }
    }
}
