//! An engine wired to a fresh simulator and a manual clock, for tests that
//! walk purchases step by step, and the checks every engine test ends with.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use foxbot::clock::{Clock, ManualClock};
use foxbot::domain::{Note, ProductId, PurchaseState, Quantity, UserId};
use foxbot::engine::{Engine, EngineConfig, PollReport};
use foxbot::foxreload::sim::{LedgerEntry, SimOptions, Simulator};
use foxbot::foxreload::{Budget, ClientOptions, FoxReload};
use foxbot::intake::manual::{ManualPurchase, record};
use foxbot::store::{Purchase, PurchaseFilter, Store};
use rust_decimal::Decimal;

pub const KEY: &str = "sim-key";

/// Engine timings for manual-clock tests. Supplier calls time out in real
/// time (the client's timeout); everything else follows the manual clock.
/// The engine's idea of the timeout is the rig client's real one.
pub fn test_config(instance: &str) -> EngineConfig {
    EngineConfig {
        lease: Duration::from_secs(60),
        settle_delay: Duration::from_secs(60),
        poll_interval: Duration::from_secs(1),
        stall_alert: Duration::from_secs(600),
        stall_dead: Duration::from_secs(3600),
        balance_wait: Duration::from_secs(3600),
        price_tolerance_percent: Decimal::new(5, 0),
        workers: 2,
        worker_idle: Duration::from_millis(20),
        reconcile_max_pages: 20,
        instance_id: instance.to_owned(),
        supplier_timeout: CLIENT_TIMEOUT,
        watch: Arc::new(foxbot::engine::ListWatch),
    }
}

pub fn client(base_url: &str, timeout: Duration, rate_per_min: u32) -> FoxReload {
    FoxReload::new(
        ClientOptions {
            base_url: base_url.parse().unwrap(),
            api_key: KEY.to_owned().into(),
            timeout,
            mock_orders: false,
        },
        Arc::new(Budget::new(rate_per_min)),
    )
    .unwrap()
}

pub struct Rig {
    pub store: Store,
    pub sim: Simulator,
    pub clock: Arc<ManualClock>,
    pub supplier: FoxReload,
    pub engine: Engine,
    pub config: EngineConfig,
}

/// The rig client's timeout. Long, so that no ordinary call runs out on a
/// loaded machine and turns into an ambiguous outcome: tests make a write
/// ambiguous with a fault (`Fault::Park` for one that lands after the
/// client gave up), never by racing this timeout.
pub const CLIENT_TIMEOUT: Duration = Duration::from_secs(30);

impl Rig {
    pub async fn new(store: &Store) -> Rig {
        Self::with(store, SimOptions::default(), test_config("rig")).await
    }

    pub async fn with(store: &Store, mut options: SimOptions, config: EngineConfig) -> Rig {
        let clock = ManualClock::starting_now();
        options.clock = clock.clone();
        options.api_key = KEY.to_owned();
        let sim = Simulator::start("127.0.0.1:0".parse().unwrap(), options)
            .await
            .unwrap();
        let supplier = client(&sim.base_url(), CLIENT_TIMEOUT, 60_000);
        let engine = Engine::new(
            store.clone(),
            supplier.clone(),
            clock.clone(),
            config.clone(),
        );
        Rig {
            store: store.clone(),
            sim,
            clock,
            supplier,
            engine,
            config,
        }
    }

    /// A second engine (another process) on its own connection to the same
    /// database, the same simulator and clock.
    pub fn another_engine(&self, store: Store, instance: &str) -> Engine {
        let supplier = client(&self.sim.base_url(), CLIENT_TIMEOUT, 60_000);
        Engine::new(store, supplier, self.clock.clone(), test_config(instance))
    }

    pub fn now(&self) -> i64 {
        self.clock.now_ms()
    }

    /// Seconds from a create's commit until "not found" may count: the
    /// request may leave within the send window and reach the supplier
    /// until the client's timeout, then the settle delay runs.
    pub fn settle_secs(&self) -> u64 {
        let c = &self.config;
        (c.send_window() + c.supplier_timeout + c.settle_delay)
            .as_secs_f64()
            .ceil() as u64
    }

    /// Seconds after a pay whose outcome was not seen until its order is read.
    pub fn pay_settle_secs(&self) -> u64 {
        self.config.pay_settle().as_secs_f64().ceil() as u64
    }

    pub fn advance(&self, secs: u64) {
        self.clock.advance(Duration::from_secs(secs));
    }

    pub async fn buy(&self, product: &str, qty: i64, note: &[&str]) -> i64 {
        self.try_buy(product, qty, note).await.unwrap()
    }

    pub async fn try_buy(
        &self,
        product: &str,
        qty: i64,
        note: &[&str],
    ) -> Result<i64, foxbot::intake::manual::ManualError> {
        let req = ManualPurchase {
            user: UserId(4242),
            product: ProductId::parse(product).unwrap(),
            quantity: Quantity::new(qty).unwrap(),
            note: Note::from_pairs(note.iter().copied()).unwrap(),
        };
        record(&self.store, &self.supplier, &req, self.now()).await
    }

    /// Works every purchase that is due now until none is.
    pub async fn work(&self) {
        for _ in 0..500 {
            if self.engine.work_once("rig/w0").await.unwrap() == 0 {
                return;
            }
        }
        panic!("the engine never ran out of due work");
    }

    pub async fn poll(&self) -> PollReport {
        self.engine.poll_once().await.unwrap()
    }

    pub async fn purchase(&self, id: i64) -> Purchase {
        self.store.purchase(id).await.unwrap().unwrap()
    }

    pub async fn state(&self, id: i64) -> PurchaseState {
        self.purchase(id).await.state
    }

    /// Works, polls and advances the clock by `step` until every purchase
    /// has left the engine (or `max_steps` pass).
    pub async fn run_to_quiescence(&self, step: u64, max_steps: usize) {
        for _ in 0..max_steps {
            self.work().await;
            self.poll().await;
            self.work().await;
            if all_settled(&self.store).await {
                return;
            }
            self.advance(step);
        }
        let states = self.store.state_counts().await.unwrap();
        panic!("not quiescent after {max_steps} steps: {states:?}");
    }

    pub fn created(&self) -> usize {
        self.sim
            .ledger()
            .iter()
            .filter(|e| matches!(e, LedgerEntry::OrderCreated { .. }))
            .count()
    }

    pub fn paid(&self) -> usize {
        self.sim
            .ledger()
            .iter()
            .filter(|e| matches!(e, LedgerEntry::OrderPaid { .. }))
            .count()
    }
}

/// Every purchase has left the engine: handed to delivery or refund, or
/// dead-lettered.
pub async fn all_settled(store: &Store) -> bool {
    let mut states = foxbot::engine::ENGINE_STATES.to_vec();
    states.push(PurchaseState::WaitingSupplier);
    let open = store
        .purchases(&PurchaseFilter {
            states,
            user_id: None,
            oldest_first: false,
            limit: 1,
        })
        .await
        .unwrap();
    open.is_empty()
}

/// What the guarantees check found, for test output and closing notes.
#[derive(Debug, Default)]
pub struct GuaranteeReport {
    pub purchases: usize,
    pub delivering: usize,
    pub refunding: usize,
    pub dead_letter: usize,
    pub orders_created: usize,
    pub orders_paid: usize,
    pub attempts: usize,
    pub ambiguous: usize,
    pub found: usize,
    pub absent: usize,
    /// Attempts given up on, for any reason.
    pub abandoned: usize,
    /// Of those, the ones reconciliation could not decide (as opposed to a
    /// purchase dead-lettered by its stall clock while in doubt).
    pub undecidable: usize,
}

/// Checks guarantees 1 and 2 from the simulator's ledger and the database:
/// - no purchase has more than one paid supplier order;
/// - every paid supplier order belongs to exactly one purchase;
/// - every purchase left the engine (when `quiescent`), each dead letter
///   with an alert;
/// - a purchase handed to delivery has a paid, completed order and its
///   codes; one sent to refund has no paid order that kept its money.
pub async fn check_guarantees(store: &Store, sim: &Simulator, quiescent: bool) -> GuaranteeReport {
    let mut report = GuaranteeReport::default();
    let ledger = sim.ledger();
    let mut paid: HashMap<String, usize> = HashMap::new();
    let mut returned: HashSet<String> = HashSet::new();
    for e in &ledger {
        match e {
            LedgerEntry::OrderCreated { .. } => report.orders_created += 1,
            LedgerEntry::OrderPaid { order_id, .. } => {
                report.orders_paid += 1;
                *paid.entry(order_id.clone()).or_default() += 1;
            }
            LedgerEntry::OrderReturned { order_id, .. } => {
                returned.insert(order_id.clone());
            }
            _ => {}
        }
    }
    for (order, n) in &paid {
        assert_eq!(*n, 1, "supplier order {order} was paid {n} times");
    }
    let purchases = store
        .purchases(&PurchaseFilter {
            states: vec![],
            user_id: None,
            oldest_first: false,
            limit: 1_000_000,
        })
        .await
        .unwrap();
    report.purchases = purchases.len();
    let mut owner_of: HashMap<String, i64> = HashMap::new();
    for p in &purchases {
        let attempts = store.attempts_of(p.id).await.unwrap();
        report.attempts += attempts.len();
        let mut tied: HashSet<String> = HashSet::new();
        for a in &attempts {
            match a.state.as_str() {
                "found" => report.found += 1,
                "absent" => report.absent += 1,
                "abandoned" => {
                    report.abandoned += 1;
                    let outcome = a.outcome.as_deref().unwrap_or_default();
                    if outcome.starts_with("an order may or may not exist") {
                        report.undecidable += 1;
                    }
                }
                _ => {}
            }
            if let Some(o) = &a.supplier_order_id {
                tied.insert(o.as_str().to_owned());
            }
        }
        if let Some(o) = &p.supplier_order_id {
            tied.insert(o.as_str().to_owned());
        }
        for o in &tied {
            if let Some(other) = owner_of.insert(o.clone(), p.id) {
                assert_eq!(
                    other, p.id,
                    "order {o} is tied to purchases {other} and {}",
                    p.id
                );
            }
        }
        let paid_here: Vec<&String> = tied.iter().filter(|o| paid.contains_key(*o)).collect();
        assert!(
            paid_here.len() <= 1,
            "purchase {} has {} paid supplier orders: {paid_here:?}",
            p.id,
            paid_here.len()
        );
        let kept_money: Vec<&&String> = paid_here
            .iter()
            .filter(|o| !returned.contains(**o))
            .collect();
        match p.state {
            PurchaseState::Delivering | PurchaseState::Delivered => {
                report.delivering += 1;
                let order = p
                    .supplier_order_id
                    .as_ref()
                    .expect("delivering without an order");
                let sim_order = sim
                    .order(order.as_str())
                    .expect("order unknown to the supplier");
                assert!(sim_order.paid, "purchase {} delivers an unpaid order", p.id);
                assert_eq!(sim_order.status, "completed", "purchase {}", p.id);
                assert!(
                    store.codes(p.id).await.unwrap().is_some(),
                    "purchase {} has no codes",
                    p.id
                );
            }
            PurchaseState::Refunding | PurchaseState::Refunded | PurchaseState::Cancelled => {
                report.refunding += 1;
                assert!(
                    kept_money.is_empty(),
                    "purchase {} is refunded but the supplier kept money for {kept_money:?}",
                    p.id
                );
            }
            PurchaseState::DeadLetter => {
                report.dead_letter += 1;
                let alerts = store.alerts_of(p.id).await.unwrap();
                assert!(
                    alerts.iter().any(|a| a.kind == "dead_letter"),
                    "dead letter {} raised no alert",
                    p.id
                );
            }
            other => assert!(!quiescent, "purchase {} is still {other}", p.id),
        }
        let events = store.events_of(p.id).await.unwrap();
        report.ambiguous += events
            .iter()
            .filter(|e| e.kind == "create_ambiguous")
            .count();
    }
    // Every paid order belongs to a purchase: no money spent on an orphan.
    for order in paid.keys() {
        assert!(
            owner_of.contains_key(order),
            "paid supplier order {order} belongs to no purchase"
        );
    }
    report
}
