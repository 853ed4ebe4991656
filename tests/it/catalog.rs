//! The catalog synced from the supplier simulator into the database, on
//! both engines: priced in Stars, changes picked up, nothing sold that the
//! last sync did not confirm (a failed read, a row too old), bad rows
//! skipped, and `CATALOG_CATEGORIES` limiting what is synced.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use foxbot::catalog::{
    self, CatalogConfig, CatalogProduct, CatalogSource, NoteField, ProductPage, SyncReport,
    Unavailable,
};
use foxbot::clock::ManualClock;
use foxbot::domain::{Money, ProductId, Stars};
use foxbot::foxreload::model::CursorPage;
use foxbot::foxreload::sim::{Endpoint, Fault, SimOptions, Simulator};
use foxbot::foxreload::{Category, FoxReload, SupplierError};
use foxbot::runtime::Runtime;
use foxbot::store::Store;
use rust_decimal::Decimal;
use serde_json::{Value, json};

use crate::support::db::now;
use crate::support::rig::{CLIENT_TIMEOUT, KEY, client};
use crate::support::{TestDb, wait_for};

on_both_engines!(
    a_sync_stores_the_seeded_catalog_priced_in_stars,
    a_price_change_is_picked_up_by_the_next_sync,
    a_product_the_supplier_stops_listing_is_no_longer_sold,
    products_out_of_stock_or_without_a_price_are_listed_but_not_sold,
    a_failed_category_read_keeps_its_rows_but_never_sells_them_at_the_old_price,
    a_failed_category_list_leaves_every_row_unsold,
    a_bad_row_is_skipped_and_counted_and_the_rest_is_synced,
    a_row_the_client_cannot_read_is_skipped_and_its_page_still_sold,
    catalog_categories_limits_what_is_synced,
    rows_older_than_the_max_age_are_not_sold,
    the_sync_loop_syncs_at_start_and_stops_on_shutdown,
);

const GIFT_CARDS: &str = "cat_gift_cards";
const GAME_TOP_UPS: &str = "cat_game_top_ups";
const MAX_AGE: Duration = Duration::from_secs(30 * 60);

fn config(categories: &[&str]) -> CatalogConfig {
    CatalogConfig {
        categories: categories.iter().map(|c| (*c).to_owned()).collect(),
        markup_percent: Decimal::new(10, 0),
        stars_per_usd: Decimal::new(100, 0),
        max_age: MAX_AGE,
        sync_every: Duration::from_secs(600),
    }
}

struct Shop {
    store: Store,
    sim: Simulator,
    supplier: FoxReload,
}

async fn shop(db: &TestDb) -> Shop {
    let sim = Simulator::start(
        "127.0.0.1:0".parse().unwrap(),
        SimOptions {
            api_key: KEY.to_owned(),
            ..SimOptions::default()
        },
    )
    .await
    .unwrap();
    let supplier = client(&sim.base_url(), CLIENT_TIMEOUT, 60_000);
    Shop {
        store: db.store.clone(),
        sim,
        supplier,
    }
}

impl Shop {
    async fn sync(&self, cfg: &CatalogConfig, at: i64) -> SyncReport {
        catalog::sync(&self.store, &self.supplier, cfg, at)
            .await
            .unwrap()
    }

    async fn product(&self, id: &str) -> CatalogProduct {
        self.store
            .product(&ProductId::parse(id).unwrap())
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("{id} is not in the catalog"))
    }

    async fn sellable(&self, id: &str, at: i64) -> Result<(), Unavailable> {
        self.product(id).await.sellable(at, MAX_AGE)
    }

    async fn listed_ids(&self, category: &str) -> Vec<String> {
        self.store
            .products_in(category, 0, 100)
            .await
            .unwrap()
            .into_iter()
            .map(|p| p.id.as_str().to_owned())
            .collect()
    }

    /// The categories' sellable counts (SQL) agree with
    /// `CatalogProduct::sellable` (Rust) on every listed product; returns
    /// the counts by category id.
    async fn sellable_counts(&self, at: i64) -> Vec<(String, i64)> {
        let mut counts = Vec::new();
        for c in self.store.categories(at, MAX_AGE).await.unwrap() {
            let listed = self.store.products_in(&c.id, 0, 1000).await.unwrap();
            let sellable = listed
                .iter()
                .filter(|p| p.sellable(at, MAX_AGE).is_ok())
                .count();
            assert_eq!(c.sellable, sellable as i64, "category {}", c.id);
            assert_eq!(
                self.store.count_products_in(&c.id).await.unwrap(),
                listed.len() as i64
            );
            counts.push((c.id, c.sellable));
        }
        counts
    }
}

fn usd(text: &str) -> Option<Money> {
    Some(Money::parse(text).unwrap())
}

fn stars(n: i64) -> Option<Stars> {
    Some(Stars::new(n).unwrap())
}

fn counts(pairs: &[(&str, i64)]) -> Vec<(String, i64)> {
    pairs.iter().map(|(c, n)| ((*c).to_owned(), *n)).collect()
}

async fn a_sync_stores_the_seeded_catalog_priced_in_stars(db: &TestDb) {
    let shop = shop(db).await;
    let t0 = now();
    let report = shop.sync(&config(&[]), t0).await;
    assert!(report.is_complete(), "{report:?}");
    assert_eq!(report.categories_synced, 2);
    assert_eq!(report.products, 6);
    assert_eq!(report.priced, 5, "the Xbox card shows no price");
    assert_eq!(report.skipped_rows, 0);

    let categories = shop.store.categories(t0, MAX_AGE).await.unwrap();
    let shown: Vec<(&str, Option<&str>, &str, i64)> = categories
        .iter()
        .map(|c| {
            (
                c.id.as_str(),
                c.slug.as_deref(),
                c.name.as_str(),
                c.position,
            )
        })
        .collect();
    assert_eq!(
        shown,
        [
            (GIFT_CARDS, Some("gift-cards"), "Gift cards", 0),
            (GAME_TOP_UPS, Some("game-top-ups"), "Game top-ups", 1),
        ]
    );
    assert!(
        categories
            .iter()
            .all(|c| c.synced_ok && c.refreshed_at == t0)
    );
    assert_eq!(
        shop.sellable_counts(t0).await,
        counts(&[(GIFT_CARDS, 3), (GAME_TOP_UPS, 2)])
    );
    assert_eq!(
        shop.listed_ids(GIFT_CARDS).await,
        [
            "product_steam_10",
            "product_gplay_25",
            "product_xbox_15",
            "product_psn_pin"
        ]
    );

    // Wholesale × 1.10 × 100, rounded up to a whole Star.
    for (id, wholesale, price) in [
        ("product_steam_10", usd("9.20"), stars(1012)),
        ("product_gplay_25", usd("23.75"), stars(2613)), // 2612.5
        ("product_psn_pin", usd("18.40"), stars(2024)),
        ("product_pubg_60", usd("0.99"), stars(109)), // 108.9, sent as a JSON number
        ("product_ff_100", usd("1.05"), stars(116)),  // 115.5
        ("product_xbox_15", None, None),
    ] {
        let p = shop.product(id).await;
        assert_eq!((p.wholesale, p.stars), (wholesale, price), "{id}");
        assert_eq!(p.currency, "USD");
        assert!(p.active && p.synced_ok && p.refreshed_at == t0, "{id}");
    }

    let steam = shop.product("product_steam_10").await;
    assert_eq!(steam.name, "Steam Wallet $10");
    assert_eq!(steam.category.as_deref(), Some(GIFT_CARDS));
    assert_eq!(
        (steam.stock, steam.min_qty, steam.max_qty),
        (Some(250), 1, Some(10))
    );
    assert!(steam.note_fields.is_empty());
    assert_eq!(shop.sellable("product_steam_10", t0).await, Ok(()));
    assert_eq!(
        shop.sellable("product_xbox_15", t0).await,
        Err(Unavailable::NoPrice)
    );

    let ff = shop.product("product_ff_100").await;
    assert_eq!(
        ff.note_fields,
        [
            NoteField {
                name: "player_id".into(),
                kind: "string".into(),
                options: vec![],
            },
            NoteField {
                name: "server".into(),
                kind: "select".into(),
                options: vec!["sg".into(), "br".into(), "in".into(), "me".into()],
            },
        ]
    );
    let pubg = shop.product("product_pubg_60").await;
    assert_eq!((pubg.stock, pubg.max_qty), (Some(1000), Some(50)));
    assert_eq!(pubg.note_fields.len(), 1);

    // Syncing the same catalog again changes nothing but the time.
    let report = shop.sync(&config(&[]), t0 + 1_000).await;
    assert_eq!((report.products, report.deactivated), (6, 0));
    assert_eq!(
        shop.product("product_ff_100").await.refreshed_at,
        t0 + 1_000
    );
}

async fn a_price_change_is_picked_up_by_the_next_sync(db: &TestDb) {
    let shop = shop(db).await;
    let t0 = now();
    shop.sync(&config(&[]), t0).await;
    assert_eq!(shop.product("product_steam_10").await.stars, stars(1012));

    shop.sim
        .set_price("product_steam_10", Some(Money::parse("12.34").unwrap()));
    shop.sim
        .set_price("product_xbox_15", Some(Money::parse("13.10").unwrap()));
    let t1 = t0 + 60_000;
    shop.sync(&config(&[]), t1).await;

    let steam = shop.product("product_steam_10").await;
    // 12.34 × 1.10 × 100 = 1357.4 → 1358.
    assert_eq!((steam.wholesale, steam.stars), (usd("12.34"), stars(1358)));
    assert_eq!(steam.refreshed_at, t1);
    let xbox = shop.product("product_xbox_15").await;
    assert_eq!((xbox.wholesale, xbox.stars), (usd("13.10"), stars(1441)));
    assert_eq!(shop.sellable("product_xbox_15", t1).await, Ok(()));
}

async fn a_product_the_supplier_stops_listing_is_no_longer_sold(db: &TestDb) {
    let shop = shop(db).await;
    let supplier = Scripted::new(&shop);
    let cfg = config(&[]);
    let t0 = now();
    catalog::sync(&shop.store, &supplier, &cfg, t0)
        .await
        .unwrap();

    supplier.hide("product_steam_10");
    let t1 = t0 + 60_000;
    let report = catalog::sync(&shop.store, &supplier, &cfg, t1)
        .await
        .unwrap();
    assert!(report.is_complete(), "{report:?}");
    assert_eq!(report.deactivated, 1);
    // The row stays (a purchase or a button may refer to it), not sold.
    assert_eq!(
        shop.sellable("product_steam_10", t1).await,
        Err(Unavailable::Inactive)
    );
    assert!(
        !shop
            .listed_ids(GIFT_CARDS)
            .await
            .contains(&"product_steam_10".to_owned())
    );
    assert_eq!(
        shop.sellable_counts(t1).await,
        counts(&[(GIFT_CARDS, 2), (GAME_TOP_UPS, 2)])
    );

    // Listed again: sold again.
    supplier.unhide("product_steam_10");
    let t2 = t1 + 60_000;
    catalog::sync(&shop.store, &supplier, &cfg, t2)
        .await
        .unwrap();
    assert_eq!(shop.sellable("product_steam_10", t2).await, Ok(()));
}

async fn products_out_of_stock_or_without_a_price_are_listed_but_not_sold(db: &TestDb) {
    let shop = shop(db).await;
    let t0 = now();
    shop.sync(&config(&[]), t0).await;

    shop.sim.set_stock("product_psn_pin", Some(0));
    shop.sim.set_price("product_steam_10", None);
    let t1 = t0 + 60_000;
    shop.sync(&config(&[]), t1).await;

    assert_eq!(
        shop.sellable("product_psn_pin", t1).await,
        Err(Unavailable::OutOfStock)
    );
    let steam = shop.product("product_steam_10").await;
    assert_eq!((steam.wholesale, steam.stars), (None, None));
    assert_eq!(steam.sellable(t1, MAX_AGE), Err(Unavailable::NoPrice));
    // Shown as unavailable, not hidden.
    assert_eq!(shop.listed_ids(GIFT_CARDS).await.len(), 4);
    assert_eq!(
        shop.sellable_counts(t1).await,
        counts(&[(GIFT_CARDS, 1), (GAME_TOP_UPS, 2)])
    );

    shop.sim.set_stock("product_psn_pin", Some(3));
    shop.sync(&config(&[]), t1 + 1).await;
    assert_eq!(shop.sellable("product_psn_pin", t1 + 1).await, Ok(()));
}

async fn a_failed_category_read_keeps_its_rows_but_never_sells_them_at_the_old_price(db: &TestDb) {
    let shop = shop(db).await;
    let t0 = now();
    shop.sync(&config(&[]), t0).await;

    let mut at = t0;
    let mut confirmed = t0;
    for fault in [
        Fault::ServerErrorBeforeCommit(500),
        Fault::ResetBeforeCommit,
        Fault::MalformedAfterCommit,
    ] {
        // The price rises, and the read that would tell us fails. Gift
        // cards are read first.
        shop.sim
            .set_price("product_steam_10", Some(Money::parse("20.00").unwrap()));
        shop.sim.push_fault(Endpoint::Products, fault.clone());
        at += 60_000;
        let report = shop.sync(&config(&[]), at).await;
        assert_eq!(report.failed.len(), 1, "{fault:?}: {report:?}");
        assert_eq!(report.failed[0].category, GIFT_CARDS);
        assert_eq!(report.categories_synced, 1);
        assert_eq!(report.deactivated, 0, "{fault:?}: nothing is removed");

        // Kept as they were, not deleted and not sold.
        let steam = shop.product("product_steam_10").await;
        assert_eq!((steam.wholesale, steam.stars), (usd("9.20"), stars(1012)));
        assert!(steam.active && !steam.synced_ok);
        assert_eq!(steam.refreshed_at, confirmed);
        assert_eq!(steam.sellable(at, MAX_AGE), Err(Unavailable::Stale));
        assert_eq!(shop.listed_ids(GIFT_CARDS).await.len(), 4);
        // The other category was read and is sold.
        assert_eq!(shop.sellable("product_pubg_60", at).await, Ok(()));
        assert_eq!(shop.product("product_pubg_60").await.refreshed_at, at);
        assert_eq!(
            shop.sellable_counts(at).await,
            counts(&[(GIFT_CARDS, 0), (GAME_TOP_UPS, 2)])
        );
        let categories = shop.store.categories(at, MAX_AGE).await.unwrap();
        assert!(!categories[0].synced_ok && categories[1].synced_ok);

        // Put back for the next round.
        shop.sim
            .set_price("product_steam_10", Some(Money::parse("9.20").unwrap()));
        at += 1;
        assert!(shop.sync(&config(&[]), at).await.is_complete());
        confirmed = at;
    }

    // A good read brings the new price and sells again.
    shop.sim
        .set_price("product_steam_10", Some(Money::parse("20.00").unwrap()));
    at += 60_000;
    assert!(shop.sync(&config(&[]), at).await.is_complete());
    let steam = shop.product("product_steam_10").await;
    assert_eq!((steam.wholesale, steam.stars), (usd("20"), stars(2200)));
    assert_eq!(steam.sellable(at, MAX_AGE), Ok(()));
}

async fn a_failed_category_list_leaves_every_row_unsold(db: &TestDb) {
    let shop = shop(db).await;
    let t0 = now();
    shop.sync(&config(&[]), t0).await;

    shop.sim
        .push_fault(Endpoint::Categories, Fault::ServerErrorBeforeCommit(503));
    let t1 = t0 + 60_000;
    let report = shop.sync(&config(&[]), t1).await;
    assert!(report.listing_error.is_some(), "{report:?}");
    assert_eq!((report.products, report.deactivated), (0, 0));
    for id in ["product_steam_10", "product_pubg_60"] {
        let p = shop.product(id).await;
        assert!(p.active && p.stars.is_some(), "{id} kept");
        assert_eq!(p.sellable(t1, MAX_AGE), Err(Unavailable::Stale), "{id}");
    }
    assert_eq!(
        shop.sellable_counts(t1).await,
        counts(&[(GIFT_CARDS, 0), (GAME_TOP_UPS, 0)])
    );

    let t2 = t1 + 60_000;
    assert!(shop.sync(&config(&[]), t2).await.is_complete());
    assert_eq!(
        shop.sellable_counts(t2).await,
        counts(&[(GIFT_CARDS, 3), (GAME_TOP_UPS, 2)])
    );
}

async fn a_bad_row_is_skipped_and_counted_and_the_rest_is_synced(db: &TestDb) {
    let shop = shop(db).await;
    let supplier = Scripted::new(&shop);
    let cfg = config(&[]);
    supplier.add_row(
        GIFT_CARDS,
        json!({"name": "No id", "price": "1.00", "currency": "USD"}),
    );
    supplier.add_row(
        GIFT_CARDS,
        json!({"id": "product_no_name", "price": "1.00", "currency": "USD"}),
    );
    supplier.add_row(
        GAME_TOP_UPS,
        json!({"id": "product_bad_price", "name": "Bad price", "price": "1,00", "currency": "USD"}),
    );
    let t0 = now();
    let report = catalog::sync(&shop.store, &supplier, &cfg, t0)
        .await
        .unwrap();
    assert_eq!(report.skipped_rows, 3, "{report:?}");
    assert!(report.is_complete(), "bad rows fail nothing: {report:?}");
    assert_eq!((report.categories_synced, report.products), (2, 6));
    for id in ["product_no_name", "product_bad_price"] {
        let id = ProductId::parse(id).unwrap();
        assert!(shop.store.product(&id).await.unwrap().is_none());
    }
    assert_eq!(
        shop.sellable_counts(t0).await,
        counts(&[(GIFT_CARDS, 3), (GAME_TOP_UPS, 2)])
    );

    // A product whose row turns bad is not sold at the price it had.
    supplier.hide("product_steam_10");
    supplier.add_row(
        GIFT_CARDS,
        json!({"id": "product_steam_10", "name": "Steam Wallet $10", "price": "9.2O",
               "currency": "USD"}),
    );
    let t1 = t0 + 60_000;
    let report = catalog::sync(&shop.store, &supplier, &cfg, t1)
        .await
        .unwrap();
    assert_eq!(report.skipped_rows, 4);
    assert_eq!(
        shop.sellable("product_steam_10", t1).await,
        Err(Unavailable::Inactive)
    );
    assert_eq!(shop.sellable("product_gplay_25", t1).await, Ok(()));
}

async fn a_row_the_client_cannot_read_is_skipped_and_its_page_still_sold(db: &TestDb) {
    // A row the model refuses (an id with a space) is read row by row:
    // it is skipped and counted, and the rest of its category is sold.
    let shop = shop(db).await;
    let t0 = now();
    shop.sync(&config(&[]), t0).await;
    shop.sim
        .set_price("bad id", Some(Money::parse("1.00").unwrap()));
    let t1 = t0 + 60_000;
    let report = shop.sync(&config(&[]), t1).await;
    assert!(report.failed.is_empty(), "{report:?}");
    assert_eq!(report.skipped_rows, 1, "{report:?}");
    assert_eq!(shop.sellable("product_steam_10", t1).await, Ok(()));
    assert_eq!(shop.sellable("product_pubg_60", t1).await, Ok(()));
}

async fn catalog_categories_limits_what_is_synced(db: &TestDb) {
    let shop = shop(db).await;
    let t0 = now();
    let report = shop.sync(&config(&["game-top-ups"]), t0).await;
    assert!(report.is_complete(), "{report:?}");
    assert_eq!((report.categories_synced, report.products), (1, 2));
    // Gift cards were not even read.
    assert_eq!(shop.sim.request_count(Endpoint::Products), 1);
    let ids: Vec<String> = shop
        .store
        .categories(t0, MAX_AGE)
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.id)
        .collect();
    assert_eq!(ids, [GAME_TOP_UPS]);
    let steam = ProductId::parse("product_steam_10").unwrap();
    assert!(shop.store.product(&steam).await.unwrap().is_none());
    assert_eq!(shop.sellable("product_pubg_60", t0).await, Ok(()));

    // All of it, in the configured order (an id works as well as a slug).
    let t1 = t0 + 60_000;
    let report = shop
        .sync(&config(&["game-top-ups", "cat_gift_cards"]), t1)
        .await;
    assert_eq!((report.categories_synced, report.products), (2, 6));
    assert_eq!(
        shop.sellable_counts(t1).await,
        counts(&[(GAME_TOP_UPS, 2), (GIFT_CARDS, 3)])
    );

    // Gift cards dropped from the setting (and a slug the supplier does
    // not know): their products leave the shop.
    let t2 = t1 + 60_000;
    let report = shop.sync(&config(&["game-top-ups", "nope"]), t2).await;
    assert_eq!(report.missing, ["nope"]);
    assert_eq!(report.deactivated, 4);
    assert_eq!(
        shop.sellable("product_steam_10", t2).await,
        Err(Unavailable::Inactive)
    );
    assert_eq!(shop.sellable_counts(t2).await, counts(&[(GAME_TOP_UPS, 2)]));
}

async fn rows_older_than_the_max_age_are_not_sold(db: &TestDb) {
    let shop = shop(db).await;
    let t0 = now();
    shop.sync(&config(&[]), t0).await;
    let age = i64::try_from(MAX_AGE.as_millis()).unwrap();

    // No sync since (the loop stopped): sold up to the max age, not after.
    assert_eq!(shop.sellable("product_steam_10", t0 + age).await, Ok(()));
    assert_eq!(
        shop.sellable_counts(t0 + age).await,
        counts(&[(GIFT_CARDS, 3), (GAME_TOP_UPS, 2)])
    );
    assert_eq!(
        shop.sellable("product_steam_10", t0 + age + 1).await,
        Err(Unavailable::Stale)
    );
    assert_eq!(
        shop.sellable_counts(t0 + age + 1).await,
        counts(&[(GIFT_CARDS, 0), (GAME_TOP_UPS, 0)])
    );
}

async fn the_sync_loop_syncs_at_start_and_stops_on_shutdown(db: &TestDb) {
    let shop = shop(db).await;
    let clock = ManualClock::starting_now();
    let (stop, shutdown) = tokio::sync::watch::channel(false);
    let rt = Runtime::new(shop.store.clone(), clock.clone(), "test", shutdown);
    let task = catalog::spawn_sync_loop(&rt, shop.supplier.clone(), config(&[]));
    let store = shop.store.clone();
    let t0 = foxbot::clock::Clock::now_ms(&*clock);
    wait_for("the first sync", Duration::from_secs(20), || {
        let store = store.clone();
        async move {
            let c = store.categories(t0, MAX_AGE).await.ok()?;
            (c.len() == 2 && c.iter().all(|c| c.sellable > 0)).then_some(())
        }
    })
    .await;
    stop.send_replace(true);
    tokio::time::timeout(Duration::from_secs(20), task)
        .await
        .expect("the loop stops on shutdown")
        .unwrap();
    // It gave its lease up: another replica may sync at once.
    assert!(
        shop.store
            .hold_lease("catalog_sync", "other", t0, 60_000)
            .await
            .unwrap()
    );
}

/// The simulator as a supplier that sends raw rows, read one by one (as
/// [`ProductPage::from_values`] does): a test can stop listing products
/// and add rows that are not products. One page per category (the seeded
/// catalog is small), so `total` is adjusted to match.
#[derive(Clone)]
struct Scripted {
    client: FoxReload,
    http: reqwest::Client,
    base: String,
    hidden: Arc<Mutex<HashSet<String>>>,
    extra: Arc<Mutex<Vec<(String, Value)>>>,
}

impl Scripted {
    fn new(shop: &Shop) -> Self {
        Scripted {
            client: shop.supplier.clone(),
            http: reqwest::Client::new(),
            base: shop.sim.base_url(),
            hidden: Arc::default(),
            extra: Arc::default(),
        }
    }

    fn hide(&self, id: &str) {
        self.hidden.lock().unwrap().insert(id.to_owned());
    }

    fn unhide(&self, id: &str) {
        self.hidden.lock().unwrap().remove(id);
    }

    fn add_row(&self, category: &str, row: Value) {
        self.extra.lock().unwrap().push((category.to_owned(), row));
    }
}

fn unavailable(reason: String) -> SupplierError {
    SupplierError::RetryLater {
        reason,
        retry_after: None,
    }
}

impl CatalogSource for Scripted {
    async fn category_page(
        &self,
        cursor: Option<&str>,
    ) -> Result<CursorPage<Category>, SupplierError> {
        self.client.category_page(cursor).await
    }

    async fn product_page(
        &self,
        category: &str,
        limit: u32,
        offset: u32,
    ) -> Result<ProductPage, SupplierError> {
        let reply = self
            .http
            .get(format!("{}/api/products/", self.base))
            .query(&[
                ("category_id_or_slug", category.to_owned()),
                ("limit", limit.to_string()),
                ("offset", offset.to_string()),
            ])
            .header("X-API-Key", KEY)
            .send()
            .await
            .map_err(|e| unavailable(e.to_string()))?;
        if !reply.status().is_success() {
            return Err(unavailable(format!("HTTP {}", reply.status())));
        }
        let body: Value = reply.json().await.map_err(|e| unavailable(e.to_string()))?;
        let mut rows = body["items"].as_array().cloned().unwrap_or_default();
        let mut total = body["total"].as_i64().unwrap_or(0);
        let hidden = self.hidden.lock().unwrap().clone();
        let before = rows.len();
        rows.retain(|row| !hidden.contains(row["id"].as_str().unwrap_or_default()));
        total -= (before - rows.len()) as i64;
        if offset == 0 {
            for (c, row) in self.extra.lock().unwrap().iter() {
                if c == category {
                    rows.push(row.clone());
                    total += 1;
                }
            }
        }
        Ok(ProductPage::from_values(rows, Some(total)))
    }
}
