//! One integration-test binary (one link step); each module is a suite.

#[path = "../support/mod.rs"]
mod support;

/// Runs each listed `async fn name(db: &TestDb)` once on SQLite and once on
/// PostgreSQL, as `<suite>::sqlite::name` and `<suite>::postgres::name`.
macro_rules! on_both_engines {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let db = crate::support::TestDb::sqlite().await;
                    super::$name(&db).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let Some(db) = crate::support::TestDb::postgres().await else { return };
                    super::$name(&db).await;
                }
            )*
        }
    };
}

mod admin;
mod admin_alerts;
mod architecture;
mod audit;
mod bench;
mod bot;
mod bot_api;
mod bot_latency;
mod budget;
mod catalog;
mod chaos;
mod cli;
mod cli_purchase;
mod client;
#[cfg(feature = "crash-points")]
mod crash;
mod delivery;
mod engine;
mod language;
mod locales;
mod logs;
mod money_core;
mod ops;
mod overrides;
mod payments;
mod progress;
mod refunds;
mod replicas;
mod runtime;
mod shop_mode;
mod sim;
mod store;
mod stream;
// The support line (tests/it/support.rs would clash with `support`, the
// shared test infrastructure above).
mod support_line;
mod telegram;
mod webhook;
