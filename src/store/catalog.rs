//! `categories` and the catalog columns of `products`: written by one sync
//! transaction ([`Tx::write_catalog`]), read by the bot as our own values
//! ([`CatalogProduct`], [`CatalogCategory`]), never as supplier wire types.
//!
//! Whether a product may be sold is decided in one place,
//! [`CatalogProduct::sellable`]; the category counts repeat the same rule in
//! SQL ([`SELLABLE`]), and the tests check that the two agree.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use sqlx::AssertSqlSafe;

use super::{Result, Store, StoreError, Tx, json_strings, with_db, with_tx};
use crate::clock::{Millis, millis};
use crate::domain::{Money, ProductId, Stars};

/// A field the buyer must fill in before the supplier accepts an order
/// (a player id, a server), as the supplier describes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoteField {
    pub name: String,
    /// The supplier's word for its type (`string`, `select`, …); `string`
    /// when it gives none.
    pub kind: String,
    /// The values allowed, when the supplier restricts them; empty: free text.
    #[serde(default)]
    pub options: Vec<String>,
}

/// Why a product cannot be sold now. The bot shows it as unavailable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Unavailable {
    /// The supplier no longer lists it, or its category is no longer sold.
    #[error("no longer sold")]
    Inactive,
    /// Its row was not confirmed by the last sync (its category could not be
    /// read), or not within the allowed age (syncing stopped): its price
    /// may be old.
    #[error("not confirmed by the supplier recently")]
    Stale,
    /// No price in Stars: the supplier shows none (known only at order
    /// time), or not in USD, or one out of range.
    #[error("no price")]
    NoPrice,
    /// Known stock below the smallest quantity that may be ordered.
    #[error("out of stock")]
    OutOfStock,
}

impl Unavailable {
    /// A stable name (for logs, metrics and message keys).
    pub fn as_str(self) -> &'static str {
        match self {
            Unavailable::Inactive => "inactive",
            Unavailable::Stale => "stale",
            Unavailable::NoPrice => "no_price",
            Unavailable::OutOfStock => "out_of_stock",
        }
    }
}

/// A product as the shop knows it.
#[derive(Debug, Clone, PartialEq)]
pub struct CatalogProduct {
    pub id: ProductId,
    pub name: String,
    pub description: Option<String>,
    /// Supplier id of the category it was last read in.
    pub category: Option<String>,
    /// Wholesale unit price; `None`: the supplier shows none.
    pub wholesale: Option<Money>,
    /// The wholesale price's currency (upper case); empty: not given.
    pub currency: String,
    /// Retail unit price; `None`: not sellable.
    pub stars: Option<Stars>,
    /// `None`: unknown (not limited by us).
    pub stock: Option<i64>,
    pub min_qty: i64,
    pub max_qty: Option<i64>,
    pub note_fields: Vec<NoteField>,
    /// Listed by the supplier in a category the shop sells.
    pub active: bool,
    /// The last sync read this row (its category was read in full).
    pub synced_ok: bool,
    /// When the supplier last confirmed this row.
    pub refreshed_at: Millis,
}

impl CatalogProduct {
    /// Whether it may be sold at `now`: listed, confirmed by the last sync
    /// no longer than `max_age` ago, priced, and in stock. A row a sync
    /// could not refresh is never sold at its old price.
    pub fn sellable(&self, now: Millis, max_age: Duration) -> std::result::Result<(), Unavailable> {
        if !self.active {
            return Err(Unavailable::Inactive);
        }
        if !self.synced_ok || now.saturating_sub(self.refreshed_at) > millis(max_age) {
            return Err(Unavailable::Stale);
        }
        if self.stars.is_none() {
            return Err(Unavailable::NoPrice);
        }
        if self.stock.is_some_and(|n| n < self.min_qty) {
            return Err(Unavailable::OutOfStock);
        }
        Ok(())
    }
}

/// A category the shop sells.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogCategory {
    /// Supplier category id.
    pub id: String,
    pub slug: Option<String>,
    pub name: String,
    pub parent: Option<String>,
    pub position: i64,
    /// The last sync read all its products.
    pub synced_ok: bool,
    /// When the supplier last listed it.
    pub refreshed_at: Millis,
    /// Its products that are sellable now.
    pub sellable: i64,
}

/// A category as a sync writes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCategory {
    pub id: String,
    pub slug: Option<String>,
    pub name: String,
    pub parent: Option<String>,
    pub position: i64,
}

/// A product as a sync writes it: checked and priced already.
#[derive(Debug, Clone, PartialEq)]
pub struct NewProduct {
    pub id: ProductId,
    pub name: String,
    pub description: Option<String>,
    pub wholesale: Option<Money>,
    pub currency: String,
    pub stars: Option<Stars>,
    pub stock: Option<i64>,
    pub min_qty: i64,
    pub max_qty: Option<i64>,
    pub note_fields: Vec<NoteField>,
    pub position: i64,
}

/// Everything one sync learnt, written in one transaction.
#[derive(Debug, Clone, Default)]
pub struct CatalogUpdate {
    /// The categories the shop sells, in display order. `None`: the
    /// supplier's category list could not be read, so nothing is known to
    /// have left the catalog; every row stays, and is stale.
    pub categories: Option<Vec<NewCategory>>,
    /// The categories read in full, each with every product it lists. A
    /// product id appears at most once over all of them.
    pub synced: Vec<(String, Vec<NewProduct>)>,
}

/// What [`Tx::write_catalog`] changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CatalogWritten {
    /// Products written (inserted or updated) as sellable rows.
    pub products: u64,
    /// Products that were active and are not any more.
    pub deactivated: u64,
}

/// The rule of [`CatalogProduct::sellable`] in SQL, over `products p`, with
/// the oldest fresh `refreshed_at` bound at `$1`.
const SELLABLE: &str = "p.active = 1 AND p.synced_ok = 1 AND p.refreshed_at >= $1 \
     AND p.stars IS NOT NULL AND (p.stock IS NULL OR p.stock >= p.min_qty)";

const PRODUCT_COLUMNS: &str = "id, category, name, description, price, currency, stock, \
     min_qty, max_qty, note_spec, stars, active, synced_ok, refreshed_at";

#[derive(Debug, Clone, sqlx::FromRow)]
struct ProductRow {
    id: String,
    category: Option<String>,
    name: String,
    description: Option<String>,
    price: Option<String>,
    currency: String,
    stock: Option<i64>,
    min_qty: i64,
    max_qty: Option<i64>,
    note_spec: String,
    stars: Option<i64>,
    active: i64,
    synced_ok: i64,
    refreshed_at: i64,
}

impl TryFrom<ProductRow> for CatalogProduct {
    type Error = StoreError;
    fn try_from(r: ProductRow) -> Result<Self> {
        let corrupt = |what: &str| StoreError::Corrupt(format!("product {:?}: {what}", r.id));
        let id = ProductId::parse(&r.id).map_err(|_| corrupt("id"))?;
        let wholesale = r
            .price
            .as_deref()
            .map(Money::parse)
            .transpose()
            .map_err(|_| corrupt("price"))?;
        let stars = r
            .stars
            .map(Stars::new)
            .transpose()
            .map_err(|_| corrupt("stars"))?;
        let note_fields: Vec<NoteField> =
            serde_json::from_str(&r.note_spec).map_err(|_| corrupt("note_spec"))?;
        Ok(CatalogProduct {
            id,
            name: r.name,
            description: r.description,
            category: r.category,
            wholesale,
            currency: r.currency,
            stars,
            stock: r.stock,
            min_qty: r.min_qty,
            max_qty: r.max_qty,
            note_fields,
            active: r.active != 0,
            synced_ok: r.synced_ok != 0,
            refreshed_at: r.refreshed_at,
        })
    }
}

#[derive(Debug, Clone, sqlx::FromRow)]
struct CategoryRow {
    id: String,
    slug: Option<String>,
    name: String,
    parent: Option<String>,
    position: i64,
    synced_ok: i64,
    refreshed_at: i64,
    sellable: i64,
}

impl From<CategoryRow> for CatalogCategory {
    fn from(r: CategoryRow) -> Self {
        CatalogCategory {
            id: r.id,
            slug: r.slug,
            name: r.name,
            parent: r.parent,
            position: r.position,
            synced_ok: r.synced_ok != 0,
            refreshed_at: r.refreshed_at,
            sellable: r.sellable,
        }
    }
}

/// The oldest `refreshed_at` still fresh at `now`.
fn fresh_since(now: Millis, max_age: Duration) -> Millis {
    now.saturating_sub(millis(max_age))
}

impl Tx {
    /// Writes what one sync learnt, at `now` (taken before the supplier was
    /// read, so a row is never fresher than what it holds):
    /// - every row starts stale: only what this sync read is confirmed;
    /// - with a category list: categories and products outside it leave
    ///   the catalog (inactive);
    /// - each category read in full: its products are upserted as read,
    ///   and those it no longer lists become inactive.
    ///
    /// Products of a category whose read failed stay as they were, stale.
    pub async fn write_catalog(
        &mut self,
        update: &CatalogUpdate,
        now: Millis,
    ) -> Result<CatalogWritten> {
        let mut written = CatalogWritten::default();
        self.unconfirm_catalog().await?;
        if let Some(categories) = &update.categories {
            written.deactivated += self.write_categories(categories, now).await?;
        }
        // Every product this sync read, whichever category it came in:
        // a product that moved is not lost on the way.
        let seen: Vec<&str> = update
            .synced
            .iter()
            .flat_map(|(_, products)| products.iter().map(|p| p.id.as_str()))
            .collect();
        let seen = json_strings(&seen);
        for (category, products) in &update.synced {
            written.deactivated += self.deactivate_unlisted(category, &seen).await?;
            for p in products {
                self.upsert_product(category, p, now).await?;
                written.products += 1;
            }
            with_tx!(self, c => {
                sqlx::query("UPDATE categories SET synced_ok = 1 WHERE id = $1")
                    .bind(category)
                    .execute(&mut *c)
                    .await?;
            });
        }
        Ok(written)
    }

    /// Nothing is confirmed until this sync confirms it.
    async fn unconfirm_catalog(&mut self) -> Result<()> {
        with_tx!(self, c => {
            sqlx::query("UPDATE products SET synced_ok = 0 WHERE synced_ok <> 0")
                .execute(&mut *c)
                .await?;
            sqlx::query("UPDATE categories SET synced_ok = 0 WHERE synced_ok <> 0")
                .execute(&mut *c)
                .await?;
        });
        Ok(())
    }

    /// The category list as read: categories and products outside it leave
    /// the catalog, the listed ones are upserted. Returns how many active
    /// products left.
    async fn write_categories(&mut self, categories: &[NewCategory], now: Millis) -> Result<u64> {
        let list = self.backend().json_list(1);
        let ids: Vec<&str> = categories.iter().map(|k| k.id.as_str()).collect();
        let ids = json_strings(&ids);
        with_tx!(self, c => {
            sqlx::query(AssertSqlSafe(format!(
                "UPDATE categories SET active = 0 WHERE active <> 0 AND id NOT IN ({list})"
            )))
            .bind(&ids)
            .execute(&mut *c)
            .await?;
            let deactivated = sqlx::query(AssertSqlSafe(format!(
                "UPDATE products SET active = 0 \
                 WHERE active <> 0 AND (category IS NULL OR category NOT IN ({list}))"
            )))
            .bind(&ids)
            .execute(&mut *c)
            .await?
            .rows_affected();
            for k in categories {
                sqlx::query(
                    "INSERT INTO categories (id, slug, name, parent, position, active, synced_ok, refreshed_at) \
                     VALUES ($1, $2, $3, $4, $5, 1, 0, $6) \
                     ON CONFLICT (id) DO UPDATE SET slug = excluded.slug, name = excluded.name, \
                         parent = excluded.parent, position = excluded.position, active = 1, \
                         refreshed_at = excluded.refreshed_at",
                )
                .bind(&k.id)
                .bind(&k.slug)
                .bind(&k.name)
                .bind(&k.parent)
                .bind(k.position)
                .bind(now)
                .execute(&mut *c)
                .await?;
            }
            Ok(deactivated)
        })
    }

    /// Products of `category`, read in full, that this sync saw nowhere
    /// (`seen`: a JSON list of ids) leave the catalog. Returns how many.
    async fn deactivate_unlisted(&mut self, category: &str, seen: &str) -> Result<u64> {
        let list = self.backend().json_list(1);
        Ok(with_tx!(self, c => {
            sqlx::query(AssertSqlSafe(format!(
                "UPDATE products SET active = 0 \
                 WHERE category = $2 AND active <> 0 AND id NOT IN ({list})"
            )))
            .bind(seen)
            .bind(category)
            .execute(&mut *c)
            .await?
            .rows_affected()
        }))
    }

    /// One product as read in `category`: sellable, confirmed at `now`.
    async fn upsert_product(&mut self, category: &str, p: &NewProduct, now: Millis) -> Result<()> {
        let names: Vec<&str> = p.note_fields.iter().map(|f| f.name.as_str()).collect();
        let spec = serde_json::to_string(&p.note_fields)
            .map_err(|e| StoreError::Corrupt(format!("note fields of {}: {e}", p.id)))?;
        with_tx!(self, c => {
            sqlx::query(
                "INSERT INTO products (id, category, name, description, price, currency, stock, \
                     min_qty, max_qty, note_fields, note_spec, stars, position, active, synced_ok, \
                     refreshed_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, 1, 1, $14) \
                 ON CONFLICT (id) DO UPDATE SET category = excluded.category, name = excluded.name, \
                     description = excluded.description, price = excluded.price, \
                     currency = excluded.currency, stock = excluded.stock, \
                     min_qty = excluded.min_qty, max_qty = excluded.max_qty, \
                     note_fields = excluded.note_fields, note_spec = excluded.note_spec, \
                     stars = excluded.stars, position = excluded.position, active = 1, \
                     synced_ok = 1, refreshed_at = excluded.refreshed_at",
            )
            .bind(p.id.as_str())
            .bind(category)
            .bind(&p.name)
            .bind(&p.description)
            .bind(p.wholesale.map(|m| m.to_string()))
            .bind(&p.currency)
            .bind(p.stock)
            .bind(p.min_qty)
            .bind(p.max_qty)
            .bind(json_strings(&names))
            .bind(spec)
            .bind(p.stars.map(Stars::get))
            .bind(p.position)
            .bind(now)
            .execute(&mut *c)
            .await?;
        });
        Ok(())
    }
}

impl Store {
    /// The categories the shop sells, in display order, each with the
    /// number of its products sellable at `now`.
    pub async fn categories(&self, now: Millis, max_age: Duration) -> Result<Vec<CatalogCategory>> {
        let sql = format!(
            "SELECT c.id, c.slug, c.name, c.parent, c.position, c.synced_ok, c.refreshed_at, \
                 (SELECT COUNT(*) FROM products p WHERE p.category = c.id AND {SELLABLE}) AS sellable \
             FROM categories c WHERE c.active <> 0 ORDER BY c.position, c.id"
        );
        let rows: Vec<CategoryRow> = with_db!(&self.db, c => {
            sqlx::query_as(AssertSqlSafe(sql))
                .bind(fresh_since(now, max_age))
                .fetch_all(c)
                .await?
        });
        Ok(rows.into_iter().map(CatalogCategory::from).collect())
    }

    /// A page of the products listed in `category`, in display order,
    /// sellable or not (the bot shows why not: [`CatalogProduct::sellable`]).
    pub async fn products_in(
        &self,
        category: &str,
        offset: i64,
        limit: i64,
    ) -> Result<Vec<CatalogProduct>> {
        let sql = format!(
            "SELECT {PRODUCT_COLUMNS} FROM products \
             WHERE category = $1 AND active <> 0 ORDER BY position, id LIMIT $2 OFFSET $3"
        );
        let rows: Vec<ProductRow> = with_db!(&self.db, c => {
            sqlx::query_as(AssertSqlSafe(sql))
                .bind(category)
                .bind(limit.max(0))
                .bind(offset.max(0))
                .fetch_all(c)
                .await?
        });
        rows.into_iter().map(CatalogProduct::try_from).collect()
    }

    /// How many products [`Store::products_in`] pages through.
    pub async fn count_products_in(&self, category: &str) -> Result<i64> {
        Ok(with_db!(&self.db, c => {
            sqlx::query_scalar("SELECT COUNT(*) FROM products WHERE category = $1 AND active <> 0")
                .bind(category)
                .fetch_one(c)
                .await?
        }))
    }

    /// One product, listed or not (a button may outlive its product).
    pub async fn product(&self, id: &ProductId) -> Result<Option<CatalogProduct>> {
        let sql = format!("SELECT {PRODUCT_COLUMNS} FROM products WHERE id = $1");
        let row: Option<ProductRow> = with_db!(&self.db, c => {
            sqlx::query_as(AssertSqlSafe(sql))
                .bind(id.as_str())
                .fetch_optional(c)
                .await?
        });
        row.map(CatalogProduct::try_from).transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn product() -> CatalogProduct {
        CatalogProduct {
            id: ProductId::parse("product_1").unwrap(),
            name: "X".into(),
            description: None,
            category: Some("cat".into()),
            wholesale: Some(Money::parse("1.00").unwrap()),
            currency: "USD".into(),
            stars: Some(Stars::new(100).unwrap()),
            stock: None,
            min_qty: 1,
            max_qty: None,
            note_fields: Vec::new(),
            active: true,
            synced_ok: true,
            refreshed_at: 1_000,
        }
    }

    const AGE: Duration = Duration::from_secs(60);

    #[test]
    fn a_fresh_priced_listed_product_in_stock_is_sellable() {
        assert_eq!(product().sellable(1_000 + 60_000, AGE), Ok(()));
        let stock = CatalogProduct {
            stock: Some(1),
            ..product()
        };
        assert_eq!(stock.sellable(1_000, AGE), Ok(()));
    }

    #[test]
    fn a_row_older_than_the_max_age_is_stale_and_not_sold_at_its_old_price() {
        assert_eq!(
            product().sellable(1_000 + 60_001, AGE),
            Err(Unavailable::Stale)
        );
        let failed = CatalogProduct {
            synced_ok: false,
            ..product()
        };
        assert_eq!(failed.sellable(1_000, AGE), Err(Unavailable::Stale));
    }

    #[test]
    fn each_reason_is_named() {
        let inactive = CatalogProduct {
            active: false,
            synced_ok: false,
            ..product()
        };
        assert_eq!(inactive.sellable(1_000, AGE), Err(Unavailable::Inactive));
        let unpriced = CatalogProduct {
            stars: None,
            ..product()
        };
        assert_eq!(unpriced.sellable(1_000, AGE), Err(Unavailable::NoPrice));
        let empty = CatalogProduct {
            stock: Some(0),
            ..product()
        };
        assert_eq!(empty.sellable(1_000, AGE), Err(Unavailable::OutOfStock));
        let below_min = CatalogProduct {
            stock: Some(4),
            min_qty: 5,
            ..product()
        };
        assert_eq!(below_min.sellable(1_000, AGE), Err(Unavailable::OutOfStock));
    }
}
