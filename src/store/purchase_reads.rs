//! Reading purchases back: one by its keys, lists for views and reports,
//! and the counts per state.

use sqlx::AssertSqlSafe;

use super::purchase_row::{PurchaseRow, sorted, typed};
use super::{Purchase, Result, Rows, Store, StoreError, Tx, json_strings, with_db, with_tx};
use crate::domain::{PurchaseState, SupplierOrderId, UserId};

/// What an admin or a customer view asks for.
#[derive(Debug, Clone, Default)]
pub struct PurchaseFilter {
    pub states: Vec<PurchaseState>,
    pub user_id: Option<UserId>,
    pub limit: i64,
    /// Oldest first (the poller: the longest-waiting must never starve);
    /// otherwise newest first (what people want to see).
    pub oldest_first: bool,
}

pub(super) fn state_names(states: &[PurchaseState]) -> String {
    let names: Vec<&str> = states.iter().map(|s| s.as_str()).collect();
    json_strings(&names)
}

impl Store {
    pub async fn purchase(&self, id: i64) -> Result<Option<Purchase>> {
        let row: Option<PurchaseRow> = with_db!(&self.db, c => {
            sqlx::query_as("SELECT * FROM purchases WHERE id = $1")
                .bind(id)
                .fetch_optional(c)
                .await?
        });
        row.map(Purchase::try_from).transpose()
    }

    pub async fn purchase_by_charge(&self, charge_id: &str) -> Result<Option<Purchase>> {
        let row: Option<PurchaseRow> = with_db!(&self.db, c => {
            sqlx::query_as("SELECT * FROM purchases WHERE telegram_charge_id = $1")
                .bind(charge_id)
                .fetch_optional(c)
                .await?
        });
        row.map(Purchase::try_from).transpose()
    }

    pub async fn purchase_by_order(&self, order: &SupplierOrderId) -> Result<Option<Purchase>> {
        let row: Option<PurchaseRow> = with_db!(&self.db, c => {
            sqlx::query_as("SELECT * FROM purchases WHERE supplier_order_id = $1")
                .bind(order.as_str())
                .fetch_optional(c)
                .await?
        });
        row.map(Purchase::try_from).transpose()
    }

    /// Newest first unless the filter asks for the oldest. A row that does
    /// not read fails the whole call: see [`Store::purchases_for_work`].
    pub async fn purchases(&self, filter: &PurchaseFilter) -> Result<Vec<Purchase>> {
        typed(self.purchase_rows(filter).await?)
    }

    /// As [`Store::purchases`], with rows that do not read set apart
    /// instead of failing the call.
    pub async fn purchases_for_work(&self, filter: &PurchaseFilter) -> Result<Rows> {
        Ok(sorted(self.purchase_rows(filter).await?))
    }

    async fn purchase_rows(&self, filter: &PurchaseFilter) -> Result<Vec<PurchaseRow>> {
        let limit = if filter.limit > 0 { filter.limit } else { 100 };
        // Built from fixed fragments only.
        let sql = format!(
            "SELECT * FROM purchases \
             WHERE ($1 = '[]' OR state IN ({})) \
               AND ($2 IS NULL OR user_id = $2) \
             ORDER BY CASE WHEN $4 THEN id ELSE -id END LIMIT $3",
            self.backend().json_list(1)
        );
        let rows: Vec<PurchaseRow> = with_db!(&self.db, c => {
            sqlx::query_as(AssertSqlSafe(sql))
                .bind(state_names(&filter.states))
                .bind(filter.user_id.map(|u| u.0))
                .bind(limit)
                .bind(filter.oldest_first)
                .fetch_all(c)
                .await?
        });
        Ok(rows)
    }

    /// The buyer's language (English if the customer is unknown).
    pub async fn language_of(&self, user: UserId) -> Result<crate::domain::Language> {
        let code: Option<String> = with_db!(&self.db, c => {
            sqlx::query_scalar("SELECT language FROM customers WHERE user_id = $1")
                .bind(user.0)
                .fetch_optional(c)
                .await?
        });
        Ok(crate::domain::Language::from_code(code.as_deref()))
    }

    /// How many purchases are in each state.
    pub async fn state_counts(&self) -> Result<Vec<(PurchaseState, i64)>> {
        let rows: Vec<(String, i64)> = with_db!(&self.db, c => {
            sqlx::query_as("SELECT state, COUNT(*) FROM purchases GROUP BY state ORDER BY state")
                .fetch_all(c)
                .await?
        });
        rows.into_iter()
            .map(|(s, n)| {
                PurchaseState::parse(&s)
                    .map(|s| (s, n))
                    .map_err(|e| StoreError::Corrupt(e.to_string()))
            })
            .collect()
    }
}

impl Tx {
    pub async fn purchase(&mut self, id: i64) -> Result<Option<Purchase>> {
        let row: Option<PurchaseRow> = with_tx!(self, c => {
            sqlx::query_as("SELECT * FROM purchases WHERE id = $1")
                .bind(id)
                .fetch_optional(&mut *c)
                .await?
        });
        row.map(Purchase::try_from).transpose()
    }
}
