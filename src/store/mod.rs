//! Storage through sqlx, on SQLite (embedded default) or PostgreSQL (several
//! replicas). The same SQL text runs on both: placeholders are `$n`, times are
//! integer milliseconds, money is decimal text. Where the engines differ
//! (claiming with `FOR UPDATE SKIP LOCKED`), the store says so explicitly.

mod admin;
mod attempts;
mod audit;
mod budget;
mod catalog;
mod claims;
mod codes;
mod deliveries;
mod events;
mod incidents;
mod kv;
mod mode;
mod purchase_reads;
mod purchase_row;
mod purchases;
mod refunds;
mod reorders;
mod shop;
mod stream;
mod support;
mod transition;

use std::str::FromStr;
use std::time::Duration;

use secrecy::ExposeSecret;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Connection, PgPool, Postgres, Sqlite, SqlitePool};

use crate::config::DatabaseUrl;

pub use admin::{CodesStanding, CostRow, DayFigures};
pub use attempts::{AttemptState, NewAttempt, SupplierAttempt};
pub use audit::{AuditPurchase, AuditRows};
pub use budget::SharedBudget;
pub use catalog::{
    CatalogCategory, CatalogProduct, CatalogUpdate, CatalogWritten, NewCategory, NewProduct,
    NoteField, Unavailable,
};
pub use deliveries::{Delivery, DeliveryMove, DeliveryState, RenderedParts};
pub use events::{Alert, AlertContent, Event};
pub use incidents::IncidentFacts;
pub use purchase_reads::PurchaseFilter;
pub use purchase_row::{CorruptRow, Purchase, Rows};
pub use purchases::NewPurchase;
pub use refunds::{NewRefund, Refund, RefundState};
pub use reorders::Reordered;
pub use shop::{
    Admit, Checkout, CheckoutState, NewCheckout, OrphanCharge, OrphanRefund, PaymentOutcome,
    StarPayment, orphan_alert_key, orphan_of_alert_key,
};
pub use stream::EventCursor;
pub use support::{NewSupportMessage, SupportDirection, SupportStatus, SupportTicket, TicketWrite};
pub use transition::{Change, Transition};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A UNIQUE guard refused the write: someone already did this.
    #[error("already exists ({0})")]
    Conflict(String),
    #[error("stored data is not valid: {0}")]
    Corrupt(String),
    /// A bug: the engine asked for a move the state table does not allow.
    #[error("purchase {id}: {from} -> {to} is not an allowed transition")]
    IllegalTransition {
        id: i64,
        from: crate::domain::PurchaseState,
        to: crate::domain::PurchaseState,
    },
    #[error("database error: {0}")]
    Db(sqlx::Error),
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        if let sqlx::Error::Database(db) = &e
            && db.is_unique_violation()
        {
            let what = db
                .constraint()
                .map(str::to_owned)
                .unwrap_or_else(|| db.message().to_owned());
            return StoreError::Conflict(what);
        }
        StoreError::Db(e)
    }
}

impl StoreError {
    pub fn is_conflict(&self) -> bool {
        matches!(self, StoreError::Conflict(_))
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// The outcome of a compare-and-set: zero rows changed means someone else
/// moved the row first, and the caller must stop, not overwrite.
#[must_use]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cas {
    Applied,
    LostRace,
}

impl Cas {
    fn from_rows(rows: u64) -> Self {
        if rows == 1 {
            Cas::Applied
        } else {
            Cas::LostRace
        }
    }

    pub fn applied(self) -> bool {
        self == Cas::Applied
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// A subquery giving the rows of the JSON array of strings bound at
    /// `$n`: lists travel as one JSON parameter, so each query has one text
    /// and one set of binds on both engines.
    fn json_list(self, n: usize) -> String {
        match self {
            Backend::Sqlite => format!("SELECT value FROM json_each(${n})"),
            Backend::Postgres => format!("SELECT jsonb_array_elements_text(${n}::jsonb)"),
        }
    }

    /// The larger of two values: `MAX(a, b)` in SQLite, `GREATEST` in PostgreSQL.
    fn greatest(self) -> &'static str {
        match self {
            Backend::Sqlite => "MAX",
            Backend::Postgres => "GREATEST",
        }
    }
}

/// A list of strings as the single JSON parameter [`Backend::json_list`] reads.
fn json_strings<S: AsRef<str>>(items: &[S]) -> String {
    let items: Vec<&str> = items.iter().map(AsRef::as_ref).collect();
    serde_json::to_string(&items).unwrap_or_else(|_| "[]".to_owned())
}

#[derive(Clone)]
pub(crate) enum Db {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// An open write transaction.
pub enum Tx {
    Sqlite(sqlx::Transaction<'static, Sqlite>),
    Postgres(sqlx::Transaction<'static, Postgres>),
}

/// Runs `$body` with `$c` bound to the concrete pool of either engine. The
/// body is compiled once per engine, so each gets its own typed query.
macro_rules! with_db {
    ($db:expr, $c:ident => $body:expr) => {
        match $db {
            $crate::store::Db::Sqlite($c) => $body,
            $crate::store::Db::Postgres($c) => $body,
        }
    };
}

/// As [`with_db!`], with `$c` bound to the connection of an open [`Tx`].
macro_rules! with_tx {
    ($tx:expr, $c:ident => $body:expr) => {
        match $tx {
            $crate::store::Tx::Sqlite(t) => {
                let $c = &mut **t;
                $body
            }
            $crate::store::Tx::Postgres(t) => {
                let $c = &mut **t;
                $body
            }
        }
    };
}

pub(crate) use {with_db, with_tx};

/// The handle every module uses to reach the database.
#[derive(Clone)]
pub struct Store {
    db: Db,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("backend", &self.backend())
            .finish()
    }
}

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

impl Store {
    /// Opens the database (creating an SQLite file and its folder if needed).
    /// Does not migrate: call [`Store::migrate`].
    pub async fn connect(url: &DatabaseUrl) -> Result<Self> {
        let db = match url {
            DatabaseUrl::Sqlite { path } => {
                let path = std::path::Path::new(path);
                if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                    std::fs::create_dir_all(dir).map_err(|e| {
                        StoreError::Db(sqlx::Error::Configuration(
                            format!("cannot create the folder {}: {e}", dir.display()).into(),
                        ))
                    })?;
                }
                let options = SqliteConnectOptions::new()
                    .filename(path)
                    .create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    // Money: a committed transaction must survive a crash.
                    .synchronous(SqliteSynchronous::Full)
                    .foreign_keys(true)
                    .busy_timeout(Duration::from_secs(15));
                let pool = SqlitePoolOptions::new()
                    .max_connections(8)
                    .acquire_timeout(Duration::from_secs(30))
                    .connect_with(options)
                    .await?;
                Db::Sqlite(pool)
            }
            DatabaseUrl::Postgres(secret) => {
                let options = PgConnectOptions::from_str(secret.expose_secret())?;
                // One direct attempt first: a refused or misconfigured server
                // fails at once instead of being retried until a timeout.
                let probe = tokio::time::timeout(
                    Duration::from_secs(30),
                    sqlx::PgConnection::connect_with(&options),
                )
                .await
                .map_err(|_| sqlx::Error::PoolTimedOut)??;
                let _ = probe.close().await;
                let pool = PgPoolOptions::new()
                    .max_connections(16)
                    .acquire_timeout(Duration::from_secs(30))
                    .connect_with(options)
                    .await?;
                Db::Postgres(pool)
            }
        };
        Ok(Store { db })
    }

    /// Applies pending migrations; running it again changes nothing.
    pub async fn migrate(&self) -> Result<()> {
        let outcome = match &self.db {
            Db::Sqlite(p) => SQLITE_MIGRATIONS.run(p).await,
            Db::Postgres(p) => POSTGRES_MIGRATIONS.run(p).await,
        };
        outcome.map_err(|e| StoreError::Db(e.into()))
    }

    pub fn backend(&self) -> Backend {
        match self.db {
            Db::Sqlite(_) => Backend::Sqlite,
            Db::Postgres(_) => Backend::Postgres,
        }
    }

    /// Starts a write transaction. On SQLite it takes the write lock at once
    /// (`BEGIN IMMEDIATE`), so a read-then-write can never fail half way on
    /// a lock upgrade; other writers wait on the busy timeout.
    pub async fn begin(&self) -> Result<Tx> {
        Ok(match &self.db {
            Db::Sqlite(p) => Tx::Sqlite(p.begin_with("BEGIN IMMEDIATE").await?),
            Db::Postgres(p) => Tx::Postgres(p.begin().await?),
        })
    }

    /// Closes the pool, waiting for connections in use to be returned.
    pub async fn close(&self) {
        with_db!(&self.db, p => p.close().await)
    }

    /// Resolves at the next commit of a transaction in this process: a
    /// worker that found nothing to do waits on it (or on its idle timer)
    /// before looking again. Commits in empty claims do not count (they
    /// are not transactions), so idle workers never wake each other.
    pub fn committed(&self) -> tokio::sync::futures::Notified<'static> {
        stream::COMMITTED.notified()
    }

    /// Cheap liveness check for `/readyz`.
    pub async fn ping(&self) -> Result<()> {
        with_db!(&self.db, p => {
            sqlx::query("SELECT 1").execute(p).await?;
        });
        Ok(())
    }
}

impl Tx {
    pub fn backend(&self) -> Backend {
        match self {
            Tx::Sqlite(_) => Backend::Sqlite,
            Tx::Postgres(_) => Backend::Postgres,
        }
    }

    pub async fn commit(self) -> Result<()> {
        match self {
            Tx::Sqlite(t) => t.commit().await?,
            Tx::Postgres(t) => t.commit().await?,
        }
        // Event consumers in this process look again (SQLite's signal;
        // PostgreSQL's NOTIFY reaches every process).
        stream::COMMITTED.notify_waiters();
        Ok(())
    }
}
