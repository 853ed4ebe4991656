//! The one wiring: `foxbot run` and the tests' `spawn_app` build the same
//! [`App`] (bot, engine, delivery, refunds, catalog sync, sweeps) and stop
//! it in one place.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use secrecy::ExposeSecret;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::bot::{Shop, ShopInner, telegram::Telegram};
use crate::catalog::CatalogConfig;
use crate::clock::{Millis, SharedClock, SystemClock};
use crate::config::Config;
use crate::delivery::refund::{RefundConfig, Refunder};
use crate::delivery::{Deliverer, DeliveryConfig};
use crate::domain::ShopMode;
use crate::engine::{Engine, EngineConfig};
use crate::foxreload::sim::{SimOptions, Simulator};
use crate::foxreload::{Budget, ClientOptions, FoxReload};
use crate::runtime::Runtime;
use crate::store::Store;

/// A running shop.
pub struct App {
    store: Store,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
    grace: Duration,
    /// Demo mode's built-in supplier, kept alive with the app.
    demo_supplier: Option<Simulator>,
    http_addr: Option<std::net::SocketAddr>,
}

impl App {
    /// Opens the database (migrating it), connects to the supplier (or, with
    /// no `FOXRELOAD_API_KEY`, starts the built-in simulator: demo mode,
    /// no payment taken) and starts every task.
    pub async fn build(config: Config) -> anyhow::Result<App> {
        let token = config.telegram_token()?.clone();
        let clock: SharedClock = Arc::new(SystemClock);
        let store = open_database(&config, clock.now_ms()).await?;
        let supplier = Supplier::connect(&config, &store, &clock).await?;
        let (stop, stopped) = watch::channel(false);
        let rt = Runtime::new(store.clone(), clock, config.instance_id.clone(), stopped);
        let telegram = Arc::new(Telegram::connect(&token, config.telegram_api_url.clone()));

        let (engine, mut tasks) = start_workers(&rt, &config, &supplier, &telegram);
        let shop = shop(&rt, &config, engine, &supplier);
        let (bot_tasks, webhook) =
            crate::bot::start(&telegram, shop, listening(&config), &rt).await?;
        tasks.extend(bot_tasks);
        let http_addr = match config.http_addr {
            Some(addr) => {
                let (bound, task) = serve_http(&rt, addr, &supplier.client, webhook).await?;
                tasks.push(task);
                Some(bound)
            }
            None => None,
        };
        tracing::info!(
            database = %config.database_url.redacted(),
            instance = %config.instance_id,
            demo = supplier.demo.is_some(),
            "foxbot started"
        );
        Ok(App {
            store,
            stop,
            tasks,
            grace: config.lease,
            demo_supplier: supplier.demo,
            http_addr,
        })
    }

    /// Where `/metrics`, `/healthz` and `/readyz` are served, if anywhere.
    pub fn http_addr(&self) -> Option<std::net::SocketAddr> {
        self.http_addr
    }

    /// Runs until `signal` resolves, then shuts down.
    pub async fn run_until(
        self,
        signal: impl std::future::Future<Output = ()>,
    ) -> anyhow::Result<()> {
        signal.await;
        tracing::info!("shutting down: finishing the steps in progress");
        self.shutdown().await;
        Ok(())
    }

    /// Stops taking work, lets the steps in progress finish (a supplier call
    /// is bounded by its timeout), and closes the database. Anything cut
    /// short resumes from its committed state at the next start.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        let all = async {
            for t in self.tasks {
                let _ = t.await;
            }
        };
        if tokio::time::timeout(self.grace, all).await.is_err() {
            tracing::warn!("some steps did not finish in time; they resume on the next start");
        }
        self.store.close().await;
        if let Some(sim) = self.demo_supplier {
            sim.shutdown();
        }
    }
}

/// The database, migrated and recorded as this shop's mode (a demo never
/// runs on a live database, nor a live shop on a demo one).
async fn open_database(config: &Config, now: Millis) -> anyhow::Result<Store> {
    let store = open_store(config).await?;
    store.migrate().await.context("migrating the database")?;
    claim_mode(&store, config, config.shop_mode()?, now).await?;
    Ok(store)
}

/// The supplier: FoxReload with the configured key, or in a demo the
/// built-in simulator (kept alive with the app).
struct Supplier {
    client: FoxReload,
    demo: Option<Simulator>,
}

impl Supplier {
    async fn connect(
        config: &Config,
        store: &Store,
        clock: &SharedClock,
    ) -> anyhow::Result<Supplier> {
        let supplier = match &config.foxreload_api_key {
            Some(_) => Supplier {
                client: supplier_client(config)?,
                demo: None,
            },
            None => Supplier::demo(config, clock).await?,
        };
        share_budget(&supplier.client, store);
        // Installed before any supplier call is counted.
        let budget = supplier.client.budget();
        crate::telemetry::metrics::handle();
        crate::telemetry::metrics::budget(
            budget.used_in_window(),
            budget.rate(),
            budget.writes_waiting(),
        );
        Ok(supplier)
    }

    async fn demo(config: &Config, clock: &SharedClock) -> anyhow::Result<Supplier> {
        let sim = Simulator::start(
            "127.0.0.1:0".parse()?,
            SimOptions {
                api_key: "demo".to_owned(),
                clock: clock.clone(),
                ..SimOptions::default()
            },
        )
        .await
        .context("starting the demo supplier")?;
        let client = FoxReload::new(
            ClientOptions {
                base_url: sim.base_url().parse()?,
                api_key: "demo".to_owned().into(),
                timeout: config.foxreload_timeout,
                mock_orders: true,
            },
            Arc::new(Budget::new(config.foxreload_rate_per_min)),
        )?;
        tracing::warn!(
            "demo mode: no FOXRELOAD_API_KEY, so the built-in simulator is the supplier and no payment is taken"
        );
        Ok(Supplier {
            client,
            demo: Some(sim),
        })
    }
}

/// Every background worker but the bot's: the engine, delivery, refunds,
/// the catalog sync, incidents, the ledger audit and the metrics counter.
fn start_workers(
    rt: &Runtime,
    config: &Config,
    supplier: &Supplier,
    telegram: &Arc<Telegram>,
) -> (Engine, Vec<JoinHandle<()>>) {
    let (store, clock) = (rt.store().clone(), rt.clock().clone());
    let (demo, supplier) = (supplier.demo.is_some(), &supplier.client);
    let engine = Engine::new(
        store.clone(),
        supplier.clone(),
        clock.clone(),
        EngineConfig::from_config(config),
    );
    let mut tasks = engine.spawn(rt);
    let delivery = DeliveryConfig {
        lease: config.lease,
        retry: Duration::from_secs(2),
        idle: config.worker_idle,
    };
    let deliverer = Deliverer::new(store.clone(), telegram.clone(), clock.clone(), delivery);
    tasks.push(deliverer.spawn(rt));
    let refunds = RefundConfig {
        lease: config.lease,
        retry: Duration::from_secs(2),
        max_retry: Duration::from_secs(300),
        idle: config.worker_idle,
    };
    let refunder = Refunder::new(store, telegram.clone(), telegram.clone(), clock, refunds);
    tasks.push(refunder.spawn(rt));
    let catalog = CatalogConfig::from_config(config);
    tasks.push(crate::catalog::spawn_sync_loop(
        rt,
        supplier.clone(),
        catalog,
    ));
    tasks.push(crate::ops::incidents::spawn(rt, supplier.clone()));
    let ledgers = crate::ops::audit::Ledgers {
        supplier: supplier.clone(),
        // A demo shop takes no Stars: Telegram is not read.
        stars: (!demo).then(|| telegram.clone() as Arc<dyn crate::ops::audit::StarLedger>),
        stars_per_usd: config.stars_per_usd,
    };
    tasks.push(crate::ops::audit::spawn(rt, ledgers, config.audit_every));
    tasks.push(crate::ops::counter::spawn(rt));
    (engine, tasks)
}

/// What the bot's handlers share.
fn shop(rt: &Runtime, config: &Config, engine: Engine, supplier: &Supplier) -> Shop {
    Shop::new(ShopInner {
        store: rt.store().clone(),
        clock: rt.clock().clone(),
        engine,
        supplier: supplier.client.clone(),
        admins: config.admin_ids.iter().map(|u| u.0).collect(),
        catalog_max_age: CatalogConfig::from_config(config).max_age,
        demo: supplier.demo.is_some(),
        instance_id: config.instance_id.clone(),
        stars_per_usd: config.stars_per_usd,
        overrides: config.catalog_overrides.clone(),
        support_contact: config.support_contact.clone(),
    })
}

/// How the bot takes its updates: long polling, or the webhook.
fn listening(config: &Config) -> crate::bot::Listening {
    let webhook = match (&config.webhook_url, &config.webhook_secret) {
        (Some(url), Some(secret)) => Some((url.clone(), secret.expose_secret().to_owned())),
        _ => None,
    };
    crate::bot::Listening {
        stars_sweep: config.stars_sweep,
        poll_silence: config.telegram_poll_silence,
        webhook,
    }
}

/// `/metrics`, `/healthz`, `/readyz` (and the webhook's route) at `addr`.
async fn serve_http(
    rt: &Runtime,
    addr: std::net::SocketAddr,
    supplier: &FoxReload,
    webhook: Option<axum::Router>,
) -> anyhow::Result<(std::net::SocketAddr, JoinHandle<()>)> {
    let state = crate::ops::http::HttpState {
        store: rt.store().clone(),
        supplier: supplier.clone(),
        clock: rt.clock().clone(),
        instance: rt.instance().to_owned(),
        started_at: rt.clock().now_ms(),
    };
    let mut router = crate::ops::http::router(state);
    if let Some(webhook) = webhook {
        router = router.merge(webhook);
    }
    crate::ops::http::serve(addr, router, rt.stopped()).await
}

/// Every process using the supplier key on one PostgreSQL database (the
/// replicas, `foxbot purchase`, `foxbot audit`) takes its calls from the
/// key's one budget there; on SQLite the process's own budget is the key's.
pub fn share_budget(supplier: &FoxReload, store: &Store) {
    let budget = supplier.budget();
    if let Some(shared) =
        crate::store::SharedBudget::new(store.clone(), budget.rate(), budget.window())
    {
        budget.share_with(Arc::new(shared));
    }
}

/// Records `mode` as the database's, or refuses to start when the database
/// belongs to the other mode (one line naming `FOXRELOAD_API_KEY`).
pub async fn claim_mode(
    store: &Store,
    config: &Config,
    mode: ShopMode,
    now: Millis,
) -> anyhow::Result<()> {
    let recorded = store
        .claim_mode(mode, now)
        .await
        .context("reading the database's mode")?;
    config.check_database_mode(mode, recorded)?;
    Ok(())
}

/// The supplier client, with the one budget of this process.
pub fn supplier_client(config: &Config) -> anyhow::Result<FoxReload> {
    let budget = std::sync::Arc::new(crate::foxreload::Budget::new(config.foxreload_rate_per_min));
    let options = crate::foxreload::ClientOptions {
        base_url: config.foxreload_base_url.clone(),
        api_key: config.foxreload_key()?.clone(),
        timeout: config.foxreload_timeout,
        mock_orders: config.foxreload_mock_orders,
    };
    Ok(FoxReload::new(options, budget)?)
}

/// Connects to the configured database.
pub async fn open_store(config: &Config) -> anyhow::Result<Store> {
    Store::connect(&config.database_url).await.with_context(|| {
        format!(
            "cannot open the database {}",
            config.database_url.redacted()
        )
    })
}

/// Resolves on SIGINT or SIGTERM (teloxide's own handler only sees SIGINT).
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}
