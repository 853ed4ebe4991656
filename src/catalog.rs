//! The catalog: what the shop sells, read from the supplier into the
//! database and priced in Telegram Stars.
//!
//! A sync reads first and writes after, in one transaction: no supplier call
//! is made inside a transaction, and the bot never sees half a sync. Its
//! rules keep the shop from selling at an old price:
//! - a category read in full replaces its products: those it no longer
//!   lists become inactive;
//! - a category whose read failed keeps its rows, but stale (not sold)
//!   until a sync reads it again; a category list that could not be read
//!   leaves every row stale;
//! - every row records when the supplier last confirmed it, and the bot
//!   refuses rows older than a maximum age (a sync loop that stopped);
//! - a bad row (no id or name, an unparsable price) is skipped with a
//!   warning and counted; it never fails the sync.
//!
//! The bot reads the result through the store ([`Store::categories`],
//! [`Store::products_in`], [`Store::product`]) and asks each product
//! whether it is [sellable](CatalogProduct::sellable).

use std::collections::{BTreeMap, HashSet};
use std::future::Future;
use std::time::Duration;

use rust_decimal::Decimal;
use serde_json::Value;
use tokio::task::JoinHandle;

use crate::clock::Millis;
use crate::config::Config;
use crate::domain::{Money, Note, Stars};
use crate::foxreload::model::CursorPage;
use crate::foxreload::{Category, FoxReload, Product, SupplierError};
use crate::runtime::{Loop, Pace, Runtime};
use crate::store::{CatalogUpdate, NewCategory, NewProduct, Store, StoreError};

pub use crate::store::{CatalogCategory, CatalogProduct, NoteField, Unavailable};

/// How long a row stays sellable after the supplier last confirmed it,
/// unless configured otherwise.
pub const DEFAULT_MAX_AGE: Duration = Duration::from_secs(30 * 60);
/// How often the catalog is synced, unless configured otherwise.
pub const DEFAULT_SYNC_EVERY: Duration = Duration::from_secs(10 * 60);
/// After a sync that left something stale, the next one comes this soon
/// (or at the normal interval, if that is sooner).
const RETRY_FAILED_SYNC: Duration = Duration::from_secs(60);
/// The largest page the products endpoint gives.
const PAGE_SIZE: u32 = 200;
/// A category with more pages than this is not read to the end: a supplier
/// that ignores `offset` would otherwise be paged forever.
const MAX_PRODUCT_PAGES: u32 = 500;
/// The same guard for the category list's cursor pages.
const MAX_CATEGORY_PAGES: usize = 100;
/// Texts kept from the supplier are cut to these lengths.
const MAX_NAME: usize = 256;
const MAX_DESCRIPTION: usize = 4096;
const MAX_OPTIONS: usize = 100;
/// The one supplier currency Stars prices are computed from (the client
/// asks for `X-Currency: usd`).
const USD: &str = "USD";
/// The lease that lets one replica sync at a time.
const SYNC_LEASE: &str = "catalog_sync";

#[derive(Debug, Clone, PartialEq)]
pub struct CatalogConfig {
    /// Category slugs (or ids) to sell, in display order; empty: all.
    pub categories: Vec<String>,
    pub markup_percent: Decimal,
    pub stars_per_usd: Decimal,
    /// Rows not confirmed by the supplier within this are not sold.
    pub max_age: Duration,
    /// How often [`spawn_sync_loop`] syncs.
    pub sync_every: Duration,
}

impl CatalogConfig {
    /// The catalog settings of `config`; the maximum age and interval are
    /// [`DEFAULT_MAX_AGE`] and [`DEFAULT_SYNC_EVERY`] (no settings yet).
    pub fn from_config(config: &Config) -> Self {
        CatalogConfig {
            categories: config.catalog_categories.clone(),
            markup_percent: config.markup_percent,
            stars_per_usd: config.stars_per_usd,
            max_age: DEFAULT_MAX_AGE,
            sync_every: DEFAULT_SYNC_EVERY,
        }
    }
}

/// The retail price in Stars of a wholesale USD price: wholesale × (1 +
/// markup/100) × rate, rounded up to a whole Star, at least 1. `None` when
/// it cannot be a price: a negative input, an overflow, or more than
/// [`Stars::MAX`] (a misplaced markup must not reach an invoice).
pub fn price_in_stars(
    wholesale: Money,
    markup_percent: Decimal,
    stars_per_usd: Decimal,
) -> Option<Stars> {
    let wholesale = wholesale.decimal();
    if wholesale.is_sign_negative()
        || markup_percent.is_sign_negative()
        || stars_per_usd <= Decimal::ZERO
    {
        return None;
    }
    let hundred = Decimal::ONE_HUNDRED;
    let stars = wholesale
        .checked_mul(hundred.checked_add(markup_percent)?)?
        .checked_mul(stars_per_usd)?
        .checked_div(hundred)?
        .ceil();
    let stars = i64::try_from(stars).ok()?.max(1);
    Stars::new(stars).ok()
}

// ---- the supplier, as the catalog reads it ----------------------------------

/// One page of a category's products, each row parsed on its own so that
/// one bad row cannot hide the others.
#[derive(Debug, Clone)]
pub struct ProductPage {
    pub rows: Vec<ProductRow>,
    /// The category's size, when the supplier says it.
    pub total: Option<i64>,
}

#[derive(Debug, Clone)]
pub enum ProductRow {
    Product(Box<Product>),
    /// A row that is not a product (no id, no name, an unparsable price…).
    Unreadable {
        id: Option<String>,
        problem: String,
    },
}

impl ProductPage {
    /// Parses raw rows one by one.
    pub fn from_values(items: Vec<Value>, total: Option<i64>) -> Self {
        let rows = items
            .into_iter()
            .map(|row| {
                let id = row.get("id").and_then(Value::as_str).map(|s| clip(s, 128));
                match serde_json::from_value::<Product>(row) {
                    Ok(p) => ProductRow::Product(Box::new(p)),
                    Err(e) => ProductRow::Unreadable {
                        id,
                        problem: clip(&e.to_string(), 200),
                    },
                }
            })
            .collect();
        ProductPage { rows, total }
    }
}

/// Where a sync reads the catalog: the FoxReload client, or a test's
/// scripted supplier.
pub trait CatalogSource: Sync {
    /// One page of the category list.
    fn category_page(
        &self,
        cursor: Option<&str>,
    ) -> impl Future<Output = Result<CursorPage<Category>, SupplierError>> + Send;

    /// One page of a category's products (`limit` 1–200).
    fn product_page(
        &self,
        category: &str,
        limit: u32,
        offset: u32,
    ) -> impl Future<Output = Result<ProductPage, SupplierError>> + Send;
}

/// The typed client parses a page as a whole: a row it cannot read makes
/// the page unreadable, so that category is left stale (never sold at an
/// old price) rather than its good rows being kept.
impl CatalogSource for FoxReload {
    async fn category_page(
        &self,
        cursor: Option<&str>,
    ) -> Result<CursorPage<Category>, SupplierError> {
        self.categories(cursor).await
    }

    async fn product_page(
        &self,
        category: &str,
        limit: u32,
        offset: u32,
    ) -> Result<ProductPage, SupplierError> {
        let page = self.product_rows(category, limit, offset).await?;
        Ok(ProductPage::from_values(page.items, page.total))
    }
}

// ---- sync -------------------------------------------------------------------

/// What one sync did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncReport {
    /// Categories whose products were all read.
    pub categories_synced: usize,
    /// Products written as read.
    pub products: u64,
    /// Of those, products with a price in Stars.
    pub priced: usize,
    /// Products that were listed and are not any more.
    pub deactivated: u64,
    /// Rows skipped as unreadable (categories and products).
    pub skipped_rows: usize,
    /// Categories whose products could not be read: their rows are stale.
    pub failed: Vec<CategoryFailure>,
    /// Configured categories the supplier does not list.
    pub missing: Vec<String>,
    /// The category list could not be read: every row is stale.
    pub listing_error: Option<String>,
}

impl SyncReport {
    /// Everything configured was read: nothing was left stale.
    pub fn is_complete(&self) -> bool {
        self.failed.is_empty() && self.missing.is_empty() && self.listing_error.is_none()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CategoryFailure {
    /// Supplier category id.
    pub category: String,
    pub error: String,
}

/// Reads the configured categories and all their products from `supplier`,
/// then writes them in one transaction at `now`. `now` should be taken
/// before the call: rows are never recorded as fresher than they are.
/// Supplier failures are in the report (the rows they concern are left
/// stale); only a store failure is an error, and then nothing is written.
pub async fn sync<S: CatalogSource>(
    store: &Store,
    supplier: &S,
    cfg: &CatalogConfig,
    now: Millis,
) -> Result<SyncReport, StoreError> {
    let mut report = SyncReport::default();
    let mut update = CatalogUpdate::default();
    match list_categories(supplier, &mut report).await {
        Err(e) => {
            tracing::warn!(error = %e, "catalog: the category list could not be read; every product is stale");
            report.listing_error = Some(e.to_string());
        }
        Ok(listed) => {
            let targets = targets(listed, &cfg.categories, &mut report);
            let mut seen = HashSet::new();
            for category in &targets {
                match read_category(supplier, &category.id, cfg, &mut seen, &mut report).await {
                    Ok(products) => {
                        report.categories_synced += 1;
                        report.priced += products.iter().filter(|p| p.stars.is_some()).count();
                        update.synced.push((category.id.clone(), products));
                    }
                    Err(error) => {
                        tracing::warn!(category = %category.id, %error, "catalog: a category could not be read; its products are stale");
                        report.failed.push(CategoryFailure {
                            category: category.id.clone(),
                            error,
                        });
                    }
                }
            }
            update.categories = Some(targets);
        }
    }
    let mut tx = store.begin().await?;
    let written = tx.write_catalog(&update, now).await?;
    tx.commit().await?;
    report.products = written.products;
    report.deactivated = written.deactivated;
    Ok(report)
}

/// Every category the supplier lists, in its order. Fails if any page
/// fails: a partial list cannot say what left the catalog.
async fn list_categories<S: CatalogSource>(
    supplier: &S,
    report: &mut SyncReport,
) -> Result<Vec<Category>, SupplierError> {
    let mut listed = Vec::new();
    let mut cursors = HashSet::new();
    let mut cursor: Option<String> = None;
    for _ in 0..MAX_CATEGORY_PAGES {
        let page = supplier.category_page(cursor.as_deref()).await?;
        for category in page.items {
            if category.id.trim().is_empty() || category.name.trim().is_empty() {
                tracing::warn!(category = %clip(&category.id, 128), "catalog: skipped a category without id or name");
                report.skipped_rows += 1;
                continue;
            }
            listed.push(category);
        }
        match page.next_cursor.filter(|c| !c.is_empty()) {
            None => return Ok(listed),
            // A cursor seen before would page in a circle.
            Some(next) if !cursors.insert(next.clone()) => break,
            Some(next) => cursor = Some(next),
        }
    }
    Err(SupplierError::RetryLater {
        reason: "the category list does not end".to_owned(),
        retry_after: None,
    })
}

/// The categories to sell, in display order: every listed one, or the
/// configured ones (by slug or id) in the configured order.
fn targets(listed: Vec<Category>, wanted: &[String], report: &mut SyncReport) -> Vec<NewCategory> {
    let mut chosen: Vec<Category> = Vec::new();
    if wanted.is_empty() {
        for c in listed {
            if !chosen.iter().any(|k| k.id == c.id) {
                chosen.push(c);
            }
        }
    } else {
        for slug in wanted {
            let found = listed.iter().find(|c| {
                c.id == *slug
                    || c.slug
                        .as_deref()
                        .is_some_and(|s| s.eq_ignore_ascii_case(slug))
            });
            match found {
                Some(c) if chosen.iter().any(|k| k.id == c.id) => {}
                Some(c) => chosen.push(c.clone()),
                None => {
                    tracing::warn!(category = %slug, "catalog: a configured category is not listed by the supplier");
                    report.missing.push(slug.clone());
                }
            }
        }
    }
    chosen
        .into_iter()
        .zip(0..)
        .map(|(c, position)| NewCategory {
            id: c.id,
            slug: c.slug.filter(|s| !s.is_empty()),
            name: clip(c.name.trim(), MAX_NAME),
            parent: c.parent_id.filter(|p| !p.is_empty()),
            position,
        })
        .collect()
}

/// Every product `category` lists, checked and priced, or why the category
/// could not be read in full. `seen` holds the ids taken so far: a product
/// is kept once, where it was first read.
async fn read_category<S: CatalogSource>(
    supplier: &S,
    category: &str,
    cfg: &CatalogConfig,
    seen: &mut HashSet<String>,
    report: &mut SyncReport,
) -> Result<Vec<NewProduct>, String> {
    let mut products = Vec::new();
    let mut ids = HashSet::new();
    let mut offset: u32 = 0;
    for _ in 0..MAX_PRODUCT_PAGES {
        let page = supplier
            .product_page(category, PAGE_SIZE, offset)
            .await
            .map_err(|e| e.to_string())?;
        let count = page.rows.len();
        for (row, position) in page.rows.into_iter().zip(i64::from(offset)..) {
            let product = match row {
                ProductRow::Product(p) => p,
                ProductRow::Unreadable { id, problem } => {
                    skip(report, category, id.as_deref(), &problem);
                    continue;
                }
            };
            let id = product.id.as_str().to_owned();
            match new_product(*product, position, cfg) {
                Ok(p) => {
                    // Offset pages may repeat a row when the list moves.
                    if ids.insert(id.clone()) && !seen.contains(&id) {
                        products.push(p);
                    }
                }
                Err(problem) => skip(report, category, Some(&id), &problem),
            }
        }
        offset = offset.saturating_add(u32::try_from(count).unwrap_or(u32::MAX));
        let read_all = page.total.is_some_and(|t| i64::from(offset) >= t);
        if count == 0 || read_all {
            // An empty page short of `total`: the list shrank while it was
            // read, and a row that still exists may have been passed over.
            // Marking it inactive would be wrong; leave the category stale.
            if let Some(total) = page.total.filter(|t| i64::from(offset) < *t) {
                return Err(format!(
                    "the product list ended after {offset} of {total} rows"
                ));
            }
            seen.extend(ids);
            return Ok(products);
        }
    }
    Err(format!("more than {MAX_PRODUCT_PAGES} pages of products"))
}

fn skip(report: &mut SyncReport, category: &str, id: Option<&str>, problem: &str) {
    tracing::warn!(
        category,
        product = id.unwrap_or("?"),
        problem,
        "catalog: skipped a product row"
    );
    report.skipped_rows += 1;
}

/// A product just read from the supplier on its own (`GET
/// /api/products/{id}`), checked and priced exactly as a sync would write
/// it, and confirmed at `now`: `foxbot purchase` puts it through the same
/// [`crate::intake::check`] as the bot, so prices, limits and note fields
/// follow one set of rules. It counts as listed (the supplier just served
/// it), whatever categories the shop sells. The error is why a sync would
/// skip the row.
pub fn product_from_supplier(
    product: Product,
    cfg: &CatalogConfig,
    now: Millis,
) -> Result<CatalogProduct, String> {
    let category = product.category_id.clone().filter(|c| !c.is_empty());
    let row = new_product(product, 0, cfg)?;
    Ok(CatalogProduct {
        id: row.id,
        name: row.name,
        description: row.description,
        category,
        wholesale: row.wholesale,
        currency: row.currency,
        stars: row.stars,
        stock: row.stock,
        min_qty: row.min_qty,
        max_qty: row.max_qty,
        note_fields: row.note_fields,
        active: true,
        synced_ok: true,
        refreshed_at: now,
    })
}

/// A supplier product as the shop keeps it, or why it is a bad row.
fn new_product(p: Product, position: i64, cfg: &CatalogConfig) -> Result<NewProduct, String> {
    let name = p.name.trim();
    if name.is_empty() {
        return Err("no name".to_owned());
    }
    if p.price.is_some_and(Money::is_negative) {
        return Err("a negative price".to_owned());
    }
    let min_qty = p.order_min_quantity.unwrap_or(1).max(1);
    let max_qty = p.order_max_quantity;
    if max_qty.is_some_and(|max| max < min_qty) {
        return Err(format!(
            "its largest quantity is below its smallest ({min_qty})"
        ));
    }
    let note_fields = note_fields(&p)?;
    let currency = p
        .currency
        .as_deref()
        .map(|c| c.trim().to_ascii_uppercase())
        .unwrap_or_default();
    // Only a USD price is a price we can convert; anything else (no price,
    // another currency, one out of range) is not sellable, but still shown.
    let stars = match p.price {
        Some(price) if currency == USD => {
            let stars = price_in_stars(price, cfg.markup_percent, cfg.stars_per_usd);
            if stars.is_none() {
                tracing::warn!(product = %p.id, %price, "catalog: the price in Stars is out of range; not sellable");
            }
            stars
        }
        _ => None,
    };
    Ok(NewProduct {
        id: p.id,
        name: clip(name, MAX_NAME),
        description: p
            .description
            .as_deref()
            .map(str::trim)
            .filter(|d| !d.is_empty())
            .map(|d| clip(d, MAX_DESCRIPTION)),
        wholesale: p.price,
        currency,
        stars,
        stock: p.quantity.map(|n| n.max(0)),
        min_qty,
        max_qty,
        note_fields,
        position,
    })
}

/// The product's required note fields with their types and options. A
/// field name our orders could not carry makes the row bad: it could never
/// be ordered.
fn note_fields(p: &Product) -> Result<Vec<NoteField>, String> {
    let mut names: Vec<&str> = Vec::new();
    for name in p.required_note_fields.iter().map(|n| n.trim()) {
        if !names.contains(&name) {
            names.push(name);
        }
    }
    let probe: BTreeMap<String, String> = names
        .iter()
        .map(|n| ((*n).to_owned(), "x".to_owned()))
        .collect();
    Note::new(probe).map_err(|e| format!("required note fields: {e}"))?;
    let types = p.note_field_types.as_ref().and_then(Value::as_object);
    let options = p.note_field_options.as_ref().and_then(Value::as_object);
    Ok(names
        .into_iter()
        .map(|name| NoteField {
            name: name.to_owned(),
            kind: types
                .and_then(|t| t.get(name))
                .and_then(Value::as_str)
                .map(|k| clip(k.trim(), 32))
                .filter(|k| !k.is_empty())
                .unwrap_or_else(|| "string".to_owned()),
            options: options
                .and_then(|o| o.get(name))
                .and_then(Value::as_array)
                .map(|values| {
                    values
                        .iter()
                        .filter_map(|v| match v {
                            Value::String(s) => Some(clip(s.trim(), MAX_NAME)),
                            Value::Number(n) => Some(n.to_string()),
                            _ => None,
                        })
                        .filter(|s| !s.is_empty())
                        .take(MAX_OPTIONS)
                        .collect()
                })
                .unwrap_or_default(),
        })
        .collect())
}

/// At most `max` characters of `text`.
fn clip(text: &str, max: usize) -> String {
    text.chars().take(max).collect()
}

// ---- the sync loop ------------------------------------------------------------

/// Syncs now and then every `cfg.sync_every` (sooner after a sync that left
/// something stale). Replicas sharing a database take turns through a
/// lease, held across two intervals (a replica that dies hands over after
/// that): one syncs at a time.
pub fn spawn_sync_loop<S>(rt: &Runtime, supplier: S, cfg: CatalogConfig) -> JoinHandle<()>
where
    S: CatalogSource + Clone + Send + Sync + 'static,
{
    let (store, clock) = (rt.store().clone(), rt.clock().clone());
    let spec = Loop::single_role(SYNC_LEASE, cfg.sync_every)
        .named("catalog")
        .lease_for(cfg.sync_every.saturating_mul(2))
        .on_timer();
    rt.spawn(spec, move |_| {
        let (store, supplier, cfg, now) =
            (store.clone(), supplier.clone(), cfg.clone(), clock.now_ms());
        async move { Ok::<_, std::convert::Infallible>(sync_turn(&store, &supplier, &cfg, now).await) }
    })
}

/// One sync, logged; a sync that left something stale is tried again soon.
async fn sync_turn<S: CatalogSource>(
    store: &Store,
    supplier: &S,
    cfg: &CatalogConfig,
    now: Millis,
) -> Pace {
    match sync(store, supplier, cfg, now).await {
        Ok(report) if report.is_complete() => {
            tracing::info!(
                categories = report.categories_synced,
                products = report.products,
                priced = report.priced,
                deactivated = report.deactivated,
                skipped = report.skipped_rows,
                "catalog synced"
            );
            Pace::Idle
        }
        Ok(report) => {
            tracing::warn!(
                categories = report.categories_synced,
                failed = report.failed.len(),
                missing = ?report.missing,
                listing_error = ?report.listing_error,
                skipped = report.skipped_rows,
                "catalog synced in part; what was not read is not sold"
            );
            Pace::After(cfg.sync_every.min(RETRY_FAILED_SYNC))
        }
        Err(e) => {
            tracing::error!(error = %e, "catalog sync could not be written");
            Pace::After(cfg.sync_every.min(RETRY_FAILED_SYNC))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn usd(text: &str) -> Money {
        Money::parse(text).unwrap()
    }

    fn dec(text: &str) -> Decimal {
        Decimal::from_str_exact(text).unwrap()
    }

    fn stars(n: i64) -> Option<Stars> {
        Some(Stars::new(n).unwrap())
    }

    #[test]
    fn a_price_is_marked_up_converted_and_rounded_up_to_a_whole_star() {
        // 0.99 × 1.10 × 100 = 108.9 → 109.
        assert_eq!(
            price_in_stars(usd("0.99"), dec("10"), dec("100")),
            stars(109)
        );
        // 9.20 × 1.20 × 77 = 850.08 → 851.
        assert_eq!(
            price_in_stars(usd("9.20"), dec("20"), dec("77")),
            stars(851)
        );
        // Exact results are not rounded: 9.20 × 1.10 × 100 = 1012.
        assert_eq!(
            price_in_stars(usd("9.20"), dec("10"), dec("100")),
            stars(1012)
        );
        assert_eq!(price_in_stars(usd("1"), dec("0"), dec("100")), stars(100));
        // 1.05 × 1.10 × 100 = 115.5 → 116; a fractional markup and rate.
        assert_eq!(
            price_in_stars(usd("1.05"), dec("10"), dec("100")),
            stars(116)
        );
        assert_eq!(
            price_in_stars(usd("2.00"), dec("12.5"), dec("0.5")),
            stars(2) // 2.00 × 1.125 × 0.5 = 1.125 → 2
        );
    }

    #[test]
    fn a_price_is_at_least_one_star() {
        assert_eq!(price_in_stars(usd("0"), dec("20"), dec("77")), stars(1));
        assert_eq!(price_in_stars(usd("0.0001"), dec("0"), dec("1")), stars(1));
    }

    #[test]
    fn an_overflow_or_an_absurd_price_is_no_price() {
        let huge = Money::new(Decimal::MAX);
        assert_eq!(price_in_stars(huge, dec("20"), dec("77")), None);
        assert_eq!(price_in_stars(usd("1"), Decimal::MAX, dec("77")), None);
        // Above Stars::MAX: refused rather than invoiced.
        assert_eq!(price_in_stars(usd("1000"), dec("20"), dec("1000")), None);
        assert_eq!(price_in_stars(usd("-1"), dec("20"), dec("77")), None);
        assert_eq!(price_in_stars(usd("1"), dec("-5"), dec("77")), None);
        assert_eq!(price_in_stars(usd("1"), dec("5"), dec("0")), None);
    }

    fn config() -> CatalogConfig {
        CatalogConfig {
            categories: Vec::new(),
            markup_percent: dec("10"),
            stars_per_usd: dec("100"),
            max_age: DEFAULT_MAX_AGE,
            sync_every: DEFAULT_SYNC_EVERY,
        }
    }

    fn parse(row: Value) -> Result<NewProduct, String> {
        let page = ProductPage::from_values(vec![row], None);
        match page.rows.into_iter().next() {
            Some(ProductRow::Product(p)) => new_product(*p, 0, &config()),
            Some(ProductRow::Unreadable { problem, .. }) => Err(problem),
            None => Err("no row".to_owned()),
        }
    }

    #[test]
    fn a_usd_price_is_priced_in_stars_and_kept_exact() {
        let p = parse(json!({"id": "product_1", "name": " PUBG ", "price": 0.99,
            "currency": "usd", "quantity": "7", "orderMinQuantity": 2, "orderMaxQuantity": 50}))
        .unwrap();
        assert_eq!(p.name, "PUBG");
        assert_eq!(p.wholesale, Some(usd("0.99")));
        assert_eq!(p.currency, "USD");
        assert_eq!(p.stars, stars(109));
        assert_eq!((p.stock, p.min_qty, p.max_qty), (Some(7), 2, Some(50)));
    }

    #[test]
    fn a_null_price_another_currency_or_none_given_is_not_sellable() {
        for row in [
            json!({"id": "p", "name": "X", "price": null, "currency": "USD"}),
            json!({"id": "p", "name": "X", "price": "1.00", "currency": "RUB"}),
            json!({"id": "p", "name": "X", "price": "1.00"}),
        ] {
            let p = parse(row.clone()).unwrap();
            assert_eq!(p.stars, None, "{row}");
        }
    }

    #[test]
    fn bad_rows_are_refused_one_by_one() {
        for row in [
            json!({"name": "no id", "price": "1.00"}),
            json!({"id": "", "name": "empty id"}),
            json!({"id": "p", "price": "1.00"}),
            json!({"id": "p", "name": "   "}),
            json!({"id": "p", "name": "X", "price": "abc"}),
            json!({"id": "p", "name": "X", "price": true}),
            json!({"id": "p", "name": "X", "price": "-1.00", "currency": "USD"}),
            json!({"id": "p", "name": "X", "orderMinQuantity": 5, "orderMaxQuantity": 2}),
            json!({"id": "p", "name": "X", "requiredNoteFields": ["player id"]}),
        ] {
            assert!(parse(row.clone()).is_err(), "{row}");
        }
    }

    #[test]
    fn note_fields_carry_their_types_and_options() {
        let p = parse(json!({"id": "p", "name": "X",
            "requiredNoteFields": ["player_id", "server", "player_id"],
            "noteFieldTypes": {"player_id": "string", "server": "select"},
            "noteFieldOptions": {"server": ["sg", "br", 3, {"odd": 1}]}}))
        .unwrap();
        assert_eq!(
            p.note_fields,
            vec![
                NoteField {
                    name: "player_id".into(),
                    kind: "string".into(),
                    options: vec![],
                },
                NoteField {
                    name: "server".into(),
                    kind: "select".into(),
                    options: vec!["sg".into(), "br".into(), "3".into()],
                },
            ]
        );
        let untyped = parse(
            json!({"id": "p", "name": "X", "requiredNoteFields": ["email"],
            "noteFieldTypes": null, "noteFieldOptions": []}),
        )
        .unwrap();
        assert_eq!(untyped.note_fields[0].kind, "string");
    }

    #[test]
    fn odd_quantities_are_made_safe() {
        let p =
            parse(json!({"id": "p", "name": "X", "quantity": -3, "orderMinQuantity": 0})).unwrap();
        assert_eq!((p.stock, p.min_qty, p.max_qty), (Some(0), 1, None));
    }
}
