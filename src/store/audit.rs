//! What the ledger audit (`ops::audit`) reads of our tables: purchases
//! with their delivery and refund rows, and every tie between a purchase
//! and a supplier order. Read only.

use sqlx::AssertSqlSafe;

use super::{Result, Store, StoreError, json_strings, with_db};
use crate::clock::Millis;
use crate::domain::{Money, PurchaseState};

/// One purchase as the audit judges it.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditPurchase {
    pub id: i64,
    pub state: PurchaseState,
    pub stars: i64,
    pub charge: Option<String>,
    pub supplier_order: Option<String>,
    /// The unit price offered to the supplier, else the sale's.
    pub unit_price: Option<Money>,
    pub quantity: i64,
    pub currency: String,
    pub created_at: Millis,
    /// Its delivery_log row is finished (sent, or waiting in `/orders`
    /// for a buyer who blocked the bot).
    pub delivery_done: bool,
    /// Codes may have reached the buyer (a part sent, or a send begun).
    pub delivery_started: bool,
    /// It has a refunds row (claimed before `refundStarPayment`).
    pub refund_row: bool,
    /// Telegram confirmed its refund.
    pub refund_confirmed: bool,
}

impl AuditPurchase {
    /// Its wholesale cost, when the price is known.
    pub fn cost(&self) -> Option<Money> {
        self.unit_price.and_then(|p| p.times(self.quantity))
    }
}

/// What [`Store::audit_rows`] returns.
#[derive(Debug, Clone, Default)]
pub struct AuditRows {
    pub purchases: Vec<AuditPurchase>,
    /// (purchase, supplier order) from the attempts of those purchases.
    pub links: Vec<(i64, String)>,
}

type Row = (
    i64,
    String,
    i64,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    i64,
    String,
    i64,
    Option<String>,
    Option<i64>,
    Option<String>,
);

fn audit_purchase(row: Row) -> Result<AuditPurchase> {
    let (id, state, stars, charge, order, order_price, unit_price, quantity, currency, created_at) = (
        row.0, row.1, row.2, row.3, row.4, row.5, row.6, row.7, row.8, row.9,
    );
    let (delivery, parts_sent, refund) = (row.10, row.11, row.12);
    let corrupt =
        |e: crate::domain::InvalidValue| StoreError::Corrupt(format!("purchase {id}: {e}"));
    let unit_price = order_price
        .or(unit_price)
        .as_deref()
        .map(Money::parse)
        .transpose()
        .map_err(corrupt)?;
    let delivery = delivery.as_deref();
    Ok(AuditPurchase {
        id,
        state: PurchaseState::parse(&state).map_err(corrupt)?,
        stars,
        charge,
        supplier_order: order,
        unit_price,
        quantity,
        currency,
        created_at,
        delivery_done: matches!(delivery, Some("sent" | "blocked")),
        delivery_started: parts_sent.unwrap_or(0) > 0
            || matches!(delivery, Some(d) if d != "pending"),
        refund_row: refund.is_some(),
        refund_confirmed: refund.as_deref() == Some("confirmed"),
    })
}

impl Store {
    /// Purchases recorded or moved since `since`, those tied to one of
    /// `orders` (directly or by an attempt) or paid by one of `charges`;
    /// and every attempt's tie to a supplier order among them.
    pub async fn audit_rows(
        &self,
        since: Millis,
        orders: &[String],
        charges: &[String],
    ) -> Result<AuditRows> {
        let backend = self.backend();
        let (order_list, charge_list) = (backend.json_list(2), backend.json_list(3));
        // Built from fixed fragments only.
        let sql = format!(
            "SELECT p.id, p.state, p.stars, p.telegram_charge_id, p.supplier_order_id, \
                    p.order_price, p.unit_price, p.quantity, p.currency, p.created_at, \
                    d.state, d.parts_sent, r.state \
             FROM purchases p \
             LEFT JOIN delivery_log d ON d.purchase_id = p.id \
             LEFT JOIN refunds r ON r.purchase_id = p.id \
             WHERE p.created_at >= $1 OR p.updated_at >= $1 \
                OR p.supplier_order_id IN ({order_list}) \
                OR p.telegram_charge_id IN ({charge_list}) \
                OR p.id IN (SELECT a.purchase_id FROM supplier_attempts a \
                            WHERE a.started_at >= $1 OR a.supplier_order_id IN ({order_list})) \
             ORDER BY p.id"
        );
        let rows: Vec<Row> = with_db!(&self.db, c => {
            sqlx::query_as(AssertSqlSafe(sql))
                .bind(since)
                .bind(json_strings(orders))
                .bind(json_strings(charges))
                .fetch_all(c)
                .await?
        });
        let purchases = rows
            .into_iter()
            .map(audit_purchase)
            .collect::<Result<Vec<_>>>()?;
        let ids: Vec<String> = purchases.iter().map(|p| p.id.to_string()).collect();
        let links_sql = format!(
            "SELECT purchase_id, supplier_order_id FROM supplier_attempts \
             WHERE supplier_order_id IS NOT NULL \
               AND CAST(purchase_id AS TEXT) IN ({}) \
             ORDER BY id",
            backend.json_list(1)
        );
        let links: Vec<(i64, String)> = with_db!(&self.db, c => {
            sqlx::query_as(AssertSqlSafe(links_sql))
                .bind(json_strings(&ids))
                .fetch_all(c)
                .await?
        });
        Ok(AuditRows { purchases, links })
    }
}
