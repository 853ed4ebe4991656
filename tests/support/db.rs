//! A fresh database per test, on SQLite or PostgreSQL. PostgreSQL tests make
//! their own database and drop it afterwards; they never use leftovers.

use std::time::Duration;

use foxbot::clock::Millis;
use foxbot::config::DatabaseUrl;
use foxbot::domain::{ClientRef, Language, Money, Note, ProductId, Quantity, Sale, UserId};
use foxbot::store::{NewPurchase, Store};
use secrecy::SecretString;
use sqlx::Connection;

use super::TempDir;

/// The server the PostgreSQL suites use (trust auth on this machine).
pub fn pg_admin_url() -> String {
    std::env::var("FOXBOT_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// CI sets this so that an unreachable server fails the run instead of
/// skipping the PostgreSQL tests.
fn pg_required() -> bool {
    std::env::var("FOXBOT_REQUIRE_PG").is_ok_and(|v| v == "1")
}

pub struct TestDb {
    pub store: Store,
    pub url: DatabaseUrl,
    /// For PostgreSQL: the plain URL (tests pass it to the binary).
    pub url_text: String,
    pg_name: Option<String>,
    _dir: Option<TempDir>,
}

impl TestDb {
    pub async fn sqlite() -> TestDb {
        let dir = TempDir::new();
        let path = dir.path().join("data").join("foxbot.db");
        let url_text = format!("sqlite://{}", path.display());
        let url = DatabaseUrl::parse(&url_text).expect("sqlite url");
        let store = Store::connect(&url).await.expect("open sqlite");
        store.migrate().await.expect("migrate sqlite");
        TestDb {
            store,
            url,
            url_text,
            pg_name: None,
            _dir: Some(dir),
        }
    }

    /// A new, migrated PostgreSQL database, or `None` (with a note on
    /// stderr) when no server is reachable and CI did not require one.
    pub async fn postgres() -> Option<TestDb> {
        let (url_text, name) = create_pg_database().await?;
        let url = DatabaseUrl::Postgres(SecretString::from(url_text.clone()));
        let store = Store::connect(&url).await.expect("open postgres");
        store.migrate().await.expect("migrate postgres");
        Some(TestDb {
            store,
            url,
            url_text,
            pg_name: Some(name),
            _dir: None,
        })
    }

    /// The PostgreSQL database's name (`None` on SQLite).
    pub fn pg_name(&self) -> Option<&str> {
        self.pg_name.as_deref()
    }

    /// A second, independent handle on the same database: another process,
    /// as far as the database can tell.
    pub async fn another_store(&self) -> Store {
        Store::connect(&self.url).await.expect("second connection")
    }
}

/// Creates an empty database; returns its URL and name.
pub async fn create_pg_database() -> Option<(String, String)> {
    let admin = pg_admin_url();
    let mut conn = match tokio::time::timeout(
        Duration::from_secs(5),
        sqlx::PgConnection::connect(&admin),
    )
    .await
    {
        Ok(Ok(c)) => c,
        other => {
            let why = match other {
                Ok(Err(e)) => e.to_string(),
                _ => "timed out".to_owned(),
            };
            if pg_required() {
                panic!(
                    "PostgreSQL is required (FOXBOT_REQUIRE_PG=1) but unreachable at {admin}: {why}"
                );
            }
            eprintln!("skipping: PostgreSQL unreachable at {admin} ({why})");
            return None;
        }
    };
    let name = format!("foxbot_test_{}", uuid::Uuid::new_v4().simple());
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut conn)
        .await
        .expect("create test database");
    let _ = conn.close().await;
    let base = admin.rsplit_once('/').map(|(b, _)| b).unwrap_or(&admin);
    Some((format!("{base}/{name}"), name))
}

/// Drops a test database, even if connections are still open.
pub fn drop_pg_database(name: &str) {
    let name = name.to_owned();
    // Drop cannot be async: do it on a thread with its own small runtime.
    let _ = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .ok()?;
        rt.block_on(async {
            let mut conn = sqlx::PgConnection::connect(&pg_admin_url()).await.ok()?;
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
            )))
            .execute(&mut conn)
            .await
            .ok()?;
            conn.close().await.ok()
        })
    })
    .join();
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some(name) = &self.pg_name {
            drop_pg_database(name);
        }
    }
}

/// A manual purchase of `qty` × `product` with `note` pairs for `user`.
pub fn new_purchase(user: i64, product: &str, qty: i64, note: &[&str]) -> NewPurchase {
    NewPurchase {
        client_ref: ClientRef::generate(),
        user_id: UserId(user),
        chat_id: user,
        language: Language::En,
        sale: Sale {
            product_id: ProductId::parse(product).unwrap(),
            product_name: format!("Product {product}"),
            quantity: Quantity::new(qty).unwrap(),
            note: Note::from_pairs(note.iter().copied()).unwrap(),
            unit_price: Some(Money::parse("10.00").unwrap()),
            currency: "USD".to_owned(),
            stars: 0,
        },
        source: foxbot::domain::PurchaseSource::Manual,
        telegram_charge_id: None,
    }
}

pub fn now() -> Millis {
    chrono::Utc::now().timestamp_millis()
}
