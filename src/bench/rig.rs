//! The bench's rig: a simulator, a store, the engine and a delivery worker
//! started from nothing for each step, in compressed time, and a recorder
//! that notes when each purchase's codes went out.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use rust_decimal::Decimal;
use tokio::sync::watch;

use super::Pattern;
use crate::clock::{Clock, SharedClock, SystemClock};
use crate::config::DatabaseUrl;
use crate::delivery::{BoxFuture, Deliverer, DeliveryConfig, Notifier, OutgoingMessage, SendError};
use crate::domain::{
    ClientRef, Language, Money, Note, ProductId, PurchaseSource, PurchaseState, Quantity, Sale,
    UserId,
};
use crate::engine::{Engine, EngineConfig};
use crate::foxreload::sim::{OrderOutcome, SimOptions, Simulator};
use crate::foxreload::{Budget, ClientOptions, FoxReload};
use crate::runtime::Runtime;
use crate::store::{NewPurchase, Store};

/// A small seeded generator (SplitMix64): arrivals and products repeat
/// from one run to the next.
pub(super) struct Rng(pub(super) u64);

impl Rng {
    pub(super) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub(super) fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// The codes' recipient: notes when each purchase's message went out.
#[derive(Default)]
struct Recorder {
    sent_at: Mutex<HashMap<i64, i64>>,
    next_id: std::sync::atomic::AtomicI64,
}

impl Notifier for Recorder {
    fn send<'a>(&'a self, message: &'a OutgoingMessage) -> BoxFuture<'a, Result<i64, SendError>> {
        Box::pin(async move {
            let now = SystemClock.now_ms();
            self.sent_at
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .entry(message.chat_id)
                .or_insert(now);
            Ok(self
                .next_id
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
                + 1)
        })
    }
}

/// One simulator, store, engine and delivery worker, set up for a step.
pub(super) struct Bench {
    pub(super) sim: Simulator,
    pub(super) store: Store,
    recorder: Arc<Recorder>,
    stop: watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    _dir: TempDir,
    compress: u32,
}

/// The step's own folder (its SQLite database), removed with it.
struct TempDir(std::path::PathBuf);

impl TempDir {
    fn new() -> anyhow::Result<TempDir> {
        let dir =
            std::env::temp_dir().join(format!("foxbot-bench-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).context("creating the bench's temporary folder")?;
        Ok(TempDir(dir))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// What the bench sells: (product, wholesale price, most per purchase,
/// needs a player id).
const PRODUCTS: &[(&str, &str, i64, bool)] = &[
    ("product_steam_10", "9.20", 3, false),
    ("product_gplay_25", "23.75", 2, false),
    ("product_pubg_60", "0.99", 5, true),
];

impl Bench {
    pub(super) async fn start(
        compress: u32,
        budget: u32,
        pattern: Pattern,
    ) -> anyhow::Result<Bench> {
        let f = compress.max(1);
        let dir = TempDir::new()?;
        let clock: SharedClock = Arc::new(SystemClock);
        let sim = simulator(clock.clone(), budget, f).await?;
        let store = open_store(&dir).await?;
        let supplier = FoxReload::new(
            ClientOptions {
                base_url: sim.base_url().parse()?,
                api_key: "bench-key".to_owned().into(),
                timeout: scaled(f, 30),
                mock_orders: false,
            },
            Arc::new(Budget::per_window(budget, scaled(f, 60))),
        )?;
        let cfg = engine_config(f, pattern);
        let engine = Engine::new(store.clone(), supplier, clock.clone(), cfg);
        let recorder = Arc::new(Recorder::default());
        let deliverer = Deliverer::new(
            store.clone(),
            recorder.clone(),
            clock.clone(),
            delivery_config(f),
        );
        let (stop, stopped) = watch::channel(false);
        let rt = Runtime::new(store.clone(), clock, "bench", stopped);
        let mut tasks = engine.spawn(&rt);
        tasks.push(deliverer.spawn(&rt));
        Ok(Bench {
            sim,
            store,
            recorder,
            stop,
            tasks,
            _dir: dir,
            compress: f,
        })
    }

    /// When each chat's message (its codes) went out, by chat id.
    pub(super) fn sent_at(&self) -> HashMap<i64, i64> {
        self.recorder
            .sent_at
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Records purchase `n` (its own buyer, so its message is known by
    /// chat) and the fulfilment time of the order it will make.
    pub(super) async fn buy(&self, n: i64, rng: &mut Rng, fulfil: Duration) -> anyhow::Result<()> {
        let pick = PRODUCTS
            .get((rng.next_u64() % PRODUCTS.len() as u64) as usize)
            .copied()
            .unwrap_or(PRODUCTS[0]);
        let (product, price, max_qty, player) = pick;
        let quantity = 1 + (rng.next_u64() % max_qty as u64) as i64;
        let note = if player {
            Note::from_pairs([format!("player_id={}", 100_000 + n).as_str()])?
        } else {
            Note::default()
        };
        // The simulator gives outcomes to orders in creation order; each
        // purchase makes one, so the set of fulfilment times is the same.
        self.sim
            .push_outcome(OrderOutcome::complete(fulfil / self.compress));
        let new = NewPurchase {
            client_ref: ClientRef::generate(),
            user_id: UserId(n),
            chat_id: n,
            language: Language::En,
            sale: Sale {
                product_id: ProductId::parse(product)?,
                product_name: product.to_owned(),
                quantity: Quantity::new(quantity)?,
                note,
                unit_price: Some(Money::parse(price)?),
                currency: "USD".to_owned(),
                stars: 0,
            },
            source: PurchaseSource::Manual,
            telegram_charge_id: None,
        };
        self.store
            .insert_purchase(&new, SystemClock.now_ms())
            .await?;
        Ok(())
    }

    pub(super) async fn count(&self, states: &[PurchaseState]) -> anyhow::Result<i64> {
        Ok(self
            .store
            .state_counts()
            .await?
            .into_iter()
            .filter(|(s, _)| states.contains(s))
            .map(|(_, n)| n)
            .sum())
    }

    pub(super) async fn shutdown(self) {
        let _ = self.stop.send(true);
        for t in self.tasks {
            let _ = t.await;
        }
        self.store.close().await;
        self.sim.shutdown();
    }
}

/// `secs` simulated seconds, in real time under compression `f`.
fn scaled(f: u32, secs: u64) -> Duration {
    Duration::from_secs(secs) / f
}

/// A simulator that enforces the key's limit with 429s, with a balance
/// that never runs out.
async fn simulator(clock: SharedClock, budget: u32, f: u32) -> anyhow::Result<Simulator> {
    let sim = Simulator::start(
        "127.0.0.1:0".parse()?,
        SimOptions {
            api_key: "bench-key".to_owned(),
            clock,
            balance: Money::new(Decimal::new(1_000_000_000, 0)),
            payment_window: scaled(f, 15 * 60),
            ..SimOptions::default()
        },
    )
    .await
    .context("starting the simulator")?;
    sim.set_rate_limit(Some((budget, scaled(f, 60))));
    Ok(sim)
}

/// A fresh, migrated SQLite database in `dir`.
async fn open_store(dir: &TempDir) -> anyhow::Result<Store> {
    let url = DatabaseUrl::parse(&format!("sqlite://{}/bench.db", dir.0.display()))?;
    let store = Store::connect(&url)
        .await
        .context("opening the bench database")?;
    store
        .migrate()
        .await
        .context("migrating the bench database")?;
    Ok(store)
}

/// The engine's timings in compressed time, watching as `pattern` does.
fn engine_config(f: u32, pattern: Pattern) -> EngineConfig {
    EngineConfig {
        lease: scaled(f, 60),
        settle_delay: scaled(f, 60),
        poll_interval: scaled(f, 3),
        stall_alert: scaled(f, 600),
        stall_dead: scaled(f, 3600),
        balance_wait: scaled(f, 3600),
        price_tolerance_percent: Decimal::new(5, 0),
        workers: 4,
        worker_idle: scaled(f, 1),
        reconcile_max_pages: 20,
        instance_id: "bench".to_owned(),
        supplier_timeout: scaled(f, 30),
        watch: pattern.watch(f),
    }
}

/// The delivery worker's timings in compressed time.
fn delivery_config(f: u32) -> DeliveryConfig {
    DeliveryConfig {
        lease: scaled(f, 60),
        retry: scaled(f, 1),
        idle: scaled(f, 1),
    }
}
