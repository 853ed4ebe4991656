//! A randomized run: hundreds of purchases, many sharing a signature, with
//! every supplier fault class mixed in (list lag, balance running out,
//! price moves, failures, stalls), worked by two engines on one database in
//! real time. At the end the guarantees are checked from the ledger and the
//! database, the counts are printed, and the ledger audit finds no anomaly.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use foxbot::clock::{Clock, SystemClock};
use foxbot::delivery::refund::{RefundConfig, Refunder};
use foxbot::delivery::{Deliverer, DeliveryConfig};
use foxbot::domain::{ClientRef, Language, Money, Note, ProductId, Quantity, Sale, UserId};
use foxbot::engine::{Engine, EngineConfig};
use foxbot::foxreload::sim::{Fault, ListShape, OrderOutcome, SimOptions, Simulator};
use foxbot::runtime::Runtime;
use foxbot::store::NewPurchase;
use rust_decimal::Decimal;

use crate::support::notifier::{FakeNotifier, FakePayments};
use crate::support::rig::{KEY, check_guarantees, client};
use crate::support::{TestDb, wait_for};

on_both_engines!(
    five_hundred_purchases_under_every_fault_keep_the_guarantees,
    an_account_that_pays_at_creation_under_429_storms_pays_each_purchase_once,
);

const PURCHASES: usize = 520;
const TIMEOUT: Duration = Duration::from_millis(250);

fn config(instance: &str) -> EngineConfig {
    EngineConfig {
        lease: Duration::from_secs(2),
        settle_delay: Duration::from_millis(1_200),
        poll_interval: Duration::from_millis(100),
        // One signature is hot (87 purchases queue behind one unresolved
        // create at a time: tens of seconds, more on a loaded machine): the
        // ordering phase's clock must outlast that queue plus a purchase's
        // own ambiguous create, with room to spare.
        stall_alert: Duration::from_secs(45),
        stall_dead: Duration::from_secs(150),
        balance_wait: Duration::from_secs(30),
        price_tolerance_percent: Decimal::new(5, 0),
        workers: 6,
        worker_idle: Duration::from_millis(20),
        reconcile_max_pages: 40,
        instance_id: instance.to_owned(),
        supplier_timeout: TIMEOUT,
        watch: Arc::new(foxbot::engine::ListWatch),
    }
}

/// (product, wholesale unit price, note fields): a few dozen signatures,
/// one of them hot (a sixth of all purchases share it: see [`quantity`]).
fn catalog(i: usize) -> (&'static str, &'static str, Vec<String>) {
    match i % 6 {
        0 => ("product_steam_10", "9.20", vec![]),
        1 => ("product_gplay_25", "23.75", vec![]),
        2 => (
            "product_pubg_60",
            "0.99",
            vec![format!("player_id={}", i % 16)],
        ),
        3 => (
            "product_ff_100",
            "1.05",
            vec![format!("player_id={}", i % 5), "server=sg".into()],
        ),
        4 => ("product_psn_pin", "18.40", vec![]),
        _ => ("product_pubg_60", "0.99", vec!["player_id=77".into()]),
    }
}

/// 1 to 3 units, except for the hot signature (always 2): every other
/// product spreads over three signatures.
fn quantity(i: usize) -> i64 {
    if i % 6 == 5 {
        2
    } else {
        1 + (i / 6 % 3) as i64
    }
}

async fn five_hundred_purchases_under_every_fault_keep_the_guarantees(db: &TestDb) {
    let sim = Simulator::start(
        "127.0.0.1:0".parse().unwrap(),
        SimOptions {
            api_key: KEY.to_owned(),
            balance: Money::parse("100000").unwrap(),
            default_outcome: OrderOutcome::complete(Duration::from_millis(300)),
            list_lag: Duration::from_millis(300),
            ..SimOptions::default()
        },
    )
    .await
    .unwrap();
    // Some goods fail, get cancelled, or stall at the supplier.
    sim.set_product_outcome(
        "product_gplay_25",
        OrderOutcome::fail(Duration::from_millis(200)),
    );
    sim.set_product_outcome(
        "product_psn_pin",
        OrderOutcome::cancel(Duration::from_millis(200)),
    );
    sim.set_product_outcome(
        "product_ff_100",
        OrderOutcome::stall(Duration::from_millis(200)),
    );
    sim.set_chaos(
        0x5eed,
        0.12,
        vec![
            Fault::DropAfterCommit,
            Fault::DelayAfterCommit(TIMEOUT * 2),
            Fault::DelayBeforeCommit(TIMEOUT * 2),
            Fault::ServerErrorBeforeCommit(503),
            Fault::ServerErrorAfterCommit(502),
            Fault::ResetBeforeCommit,
            Fault::ResetAfterCommit,
            Fault::MalformedAfterCommit,
            Fault::RateLimited {
                retry_after_secs: 1,
            },
        ],
    );
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let run_started = clock.now_ms();
    let mut running = start(db, &sim, &clock).await;

    // The operator's world moves meanwhile: the balance runs dry for a while,
    // prices move within and beyond tolerance.
    let world = {
        let sim = sim.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(2)).await;
            sim.set_balance(Money::parse("0").unwrap());
            tokio::time::sleep(Duration::from_secs(2)).await;
            sim.set_balance(Money::parse("100000").unwrap());
            sim.set_price("product_steam_10", Some(Money::parse("9.50").unwrap()));
            tokio::time::sleep(Duration::from_secs(2)).await;
            sim.set_price("product_steam_10", Some(Money::parse("12.00").unwrap()));
            tokio::time::sleep(Duration::from_secs(2)).await;
            sim.set_price("product_steam_10", Some(Money::parse("9.20").unwrap()));
        })
    };

    // Purchases arrive in waves while the engines work.
    for wave in 0..(PURCHASES / 40) {
        for j in 0..40 {
            let i = wave * 40 + j;
            let (product, price, note) = catalog(i);
            let p = NewPurchase {
                client_ref: ClientRef::generate(),
                user_id: UserId(1_000 + (i % 50) as i64),
                chat_id: 1_000 + (i % 50) as i64,
                language: Language::En,
                sale: Sale {
                    product_id: ProductId::parse(product).unwrap(),
                    product_name: product.to_owned(),
                    quantity: Quantity::new(quantity(i)).unwrap(),
                    note: Note::from_pairs(note.iter().map(String::as_str)).unwrap(),
                    unit_price: Some(Money::parse(price).unwrap()),
                    currency: "USD".to_owned(),
                    stars: 100,
                },
                source: foxbot::domain::PurchaseSource::Telegram,
                telegram_charge_id: Some(format!("charge-{i}")),
            };
            db.store.insert_purchase(&p, clock.now_ms()).await.unwrap();
        }
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
    world.await.unwrap();

    let started = std::time::Instant::now();
    wait_for(
        "every purchase to leave the engine",
        Duration::from_secs(420),
        || async { all_final(&db.store).await.then_some(()) },
    )
    .await;
    running.stop().await;

    let report = check_guarantees(&db.store, &sim, true).await;
    let mut by_outcome: BTreeMap<String, usize> = BTreeMap::new();
    for p in db
        .store
        .purchases(&foxbot::store::PurchaseFilter {
            states: vec![],
            user_id: None,
            oldest_first: false,
            limit: 100_000,
        })
        .await
        .unwrap()
    {
        let why: String = p
            .last_error
            .clone()
            .unwrap_or_default()
            .chars()
            .take(50)
            .collect();
        *by_outcome
            .entry(format!("{} ({why})", p.state))
            .or_default() += 1;
    }
    eprintln!(
        "chaos run ({:?}, settled {:?} after the last wave): {report:#?}\nstates: {by_outcome:#?}",
        db.store.backend(),
        started.elapsed()
    );
    assert_eq!(report.purchases, PURCHASES);
    assert!(
        report.ambiguous > 10,
        "the run must exercise ambiguity: {report:?}"
    );
    assert!(report.found > 0 && report.absent > 0, "{report:?}");
    assert_eq!(
        report.undecidable, 0,
        "nothing should be undecidable here: {report:?}"
    );
    assert!(report.delivering > PURCHASES / 4, "{report:?}");
    // Stalled orders are dead-lettered (with alerts), failures refunded.
    assert!(report.dead_letter > 0 && report.refunding > 0, "{report:?}");
    let (delivered, resent, refunded) = check_delivery_and_refunds(db, &running).await;
    eprintln!(
        "delivered {delivered} (re-sent after an unknown outcome: {resent}), refunded {refunded}"
    );
    assert!(delivered > PURCHASES / 4 && refunded > 0);

    let charges: Vec<String> = (0..PURCHASES).map(|i| format!("charge-{i}")).collect();
    let audit = the_ledger_audit(db, &sim, &running, &charges, run_started).await;
    assert_eq!(
        audit.totals.charges.delivered, delivered,
        "{:?}",
        audit.totals
    );
    assert_eq!(
        audit.totals.charges.refunded, refunded,
        "{:?}",
        audit.totals
    );
}

/// The run ends with the ledger audit: every charge the test made (a
/// Telegram made of them and of the fake's refunds) and every order the
/// simulator debited is accounted for, with no anomaly.
async fn the_ledger_audit(
    db: &TestDb,
    sim: &Simulator,
    running: &Running,
    charges: &[String],
    since: i64,
) -> foxbot::ops::audit::Report {
    use foxbot::ops::audit::{self, Sources, StarDirection, StarHistory, StarLedger, StarTx};
    struct Telegram(StarHistory);
    impl StarLedger for Telegram {
        fn star_transactions(
            &self,
            _since: i64,
        ) -> foxbot::clock::BoxFuture<'_, anyhow::Result<StarHistory>> {
            Box::pin(async { Ok(self.0.clone()) })
        }
    }
    let mut transactions: Vec<StarTx> = charges
        .iter()
        .map(|id| StarTx {
            id: id.clone(),
            stars: 100,
            at: since,
            direction: StarDirection::Charge,
        })
        .collect();
    for (id, times) in running.payments.refunded() {
        for _ in 0..times {
            transactions.push(StarTx {
                id: id.clone(),
                stars: 100,
                at: since,
                direction: StarDirection::Refund,
            });
        }
    }
    let telegram = Telegram(StarHistory {
        transactions,
        complete: true,
    });
    // The faults stop: the audit reads the whole history.
    sim.set_chaos(0, 0.0, vec![]);
    let supplier = client(&sim.base_url(), Duration::from_secs(5), 6_000);
    let sources = Sources {
        store: &db.store,
        supplier: &supplier,
        stars: Some(&telegram as &dyn StarLedger),
        stars_per_usd: Decimal::new(100, 0),
    };
    let now = SystemClock.now_ms();
    let period = Duration::from_millis(u64::try_from(now - since).unwrap() + 1_000);
    let report = audit::run(&sources, period, now)
        .await
        .expect("the audit runs");
    eprintln!("ledger audit: {:?}", report.totals);
    assert!(
        report.anomalies.is_empty(),
        "the ledger audit found anomalies: {:#?}",
        report.anomalies
    );
    assert!(!report.gaps.history_incomplete, "{:?}", report.gaps);
    assert_eq!(report.totals.charges.total, charges.len());
    assert!(report.totals.debits.total > 0);
    report
}

/// Two processes, as far as the database can tell, each with an engine, a
/// delivery worker and a refund worker, against one scripted Telegram that
/// fails now and then; running until `stop` says true.
struct Running {
    notifier: Arc<FakeNotifier>,
    payments: Arc<FakePayments>,
    stop: tokio::sync::watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

async fn start(db: &TestDb, sim: &Simulator, clock: &Arc<dyn Clock>) -> Running {
    let notifier = Arc::new(FakeNotifier::default());
    notifier.set_chaos(0x7e1e, 0.08);
    let payments = Arc::new(FakePayments::default());
    payments.set_chaos(0x57a5, 0.15);
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let mut tasks = Vec::new();
    for instance in ["one", "two"] {
        let store = if instance == "one" {
            db.store.clone()
        } else {
            db.another_store().await
        };
        let engine = Engine::new(
            store.clone(),
            client(&sim.base_url(), TIMEOUT, 60_000),
            clock.clone(),
            config(instance),
        );
        let rt = Runtime::new(store.clone(), clock.clone(), instance, stopped.clone());
        tasks.extend(engine.spawn(&rt));
        let deliverer = Deliverer::new(
            store.clone(),
            notifier.clone(),
            clock.clone(),
            DeliveryConfig {
                lease: Duration::from_secs(2),
                retry: Duration::from_millis(100),
                idle: Duration::from_millis(20),
            },
        );
        tasks.push(deliverer.spawn(&rt));
        let refunder = Refunder::new(
            store,
            payments.clone(),
            notifier.clone(),
            clock.clone(),
            RefundConfig {
                lease: Duration::from_secs(2),
                retry: Duration::from_millis(100),
                max_retry: Duration::from_secs(1),
                idle: Duration::from_millis(20),
            },
        );
        tasks.push(refunder.spawn(&rt));
    }
    Running {
        notifier,
        payments,
        stop,
        tasks,
    }
}

impl Running {
    async fn stop(&mut self) {
        let _ = self.stop.send(true);
        for t in self.tasks.drain(..) {
            t.await.unwrap();
        }
    }
}

/// Every purchase is delivered, refunded, cancelled or dead-lettered.
async fn all_final(store: &foxbot::store::Store) -> bool {
    store
        .state_counts()
        .await
        .unwrap()
        .iter()
        .all(|(state, n)| state.is_final() || *n == 0)
}

/// Delivery and refunds, to the end: each delivered purchase's codes
/// reached the buyer once, or twice only as a flagged re-send after an
/// unknown outcome; each refunded purchase got its Stars back exactly once;
/// no purchase was both.
async fn check_delivery_and_refunds(db: &TestDb, running: &Running) -> (usize, usize, usize) {
    use foxbot::domain::PurchaseState;
    let arrived = running.notifier.arrived();
    let refunded = running.payments.refunded();
    let (mut delivered, mut resent, mut refunds) = (0, 0, 0);
    for p in db
        .store
        .purchases(&foxbot::store::PurchaseFilter {
            states: vec![],
            user_id: None,
            oldest_first: false,
            limit: 100_000,
        })
        .await
        .unwrap()
    {
        let marker = format!("#{}</b>", p.id);
        let copies: Vec<_> = arrived
            .iter()
            .filter(|m| m.html.contains(&marker))
            .collect();
        let log = db.store.delivery_of(p.id).await.unwrap();
        let charge = p.telegram_charge_id.clone().unwrap_or_default();
        let stars_back = refunded.get(&charge).copied().unwrap_or(0);
        match p.state {
            PurchaseState::Delivered => {
                delivered += 1;
                let log = log.expect("a delivery without its log row");
                assert!(!copies.is_empty(), "purchase {}: no message arrived", p.id);
                assert!(
                    copies.len() <= 2,
                    "purchase {}: {} copies",
                    p.id,
                    copies.len()
                );
                if copies.len() == 2 {
                    resent += 1;
                    assert!(log.resent, "purchase {}: an unflagged second copy", p.id);
                    assert!(copies[1].html.contains("Sent again"), "purchase {}", p.id);
                }
                assert_eq!(stars_back, 0, "purchase {} delivered and refunded", p.id);
            }
            PurchaseState::Refunded => {
                refunds += 1;
                assert_eq!(
                    stars_back,
                    1,
                    "purchase {} ({charge}): Stars back {stars_back} times; calls {:?}; row {:?}",
                    p.id,
                    running
                        .payments
                        .calls()
                        .iter()
                        .filter(|(_, c)| *c == charge)
                        .count(),
                    db.store.refund_of(p.id).await.unwrap()
                );
                assert!(
                    copies.is_empty(),
                    "purchase {} refunded and delivered",
                    p.id
                );
            }
            _ => {
                assert!(stars_back <= 1, "purchase {}", p.id);
                assert!(copies.len() <= 2, "purchase {}", p.id);
            }
        }
    }
    (delivered, resent, refunds)
}

/// On an account where creating an order pays it, every create that lands
/// spends money: one extra create is one extra charge. 429s whose
/// `Retry-After` outlasts the lease, lost replies and history rows that
/// show no quantity or note: paid orders must still equal purchases.
async fn an_account_that_pays_at_creation_under_429_storms_pays_each_purchase_once(db: &TestDb) {
    const N: usize = 120;
    let sim = Simulator::start(
        "127.0.0.1:0".parse().unwrap(),
        SimOptions {
            api_key: KEY.to_owned(),
            balance: Money::parse("100000").unwrap(),
            default_outcome: OrderOutcome::complete(Duration::from_millis(300)),
            auto_pay: true,
            ..SimOptions::default()
        },
    )
    .await
    .unwrap();
    sim.set_list_shape(ListShape {
        omit_quantity_and_note: true,
        ..ListShape::default()
    });
    sim.set_chaos(
        0xa070,
        0.08,
        vec![
            // Longer than the 2 s lease: a write that waited this long after
            // its commit would race a takeover.
            Fault::RateLimited {
                retry_after_secs: 3,
            },
            Fault::DropAfterCommit,
            Fault::ServerErrorAfterCommit(502),
            Fault::ResetAfterCommit,
            Fault::MalformedAfterCommit,
        ],
    );
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let run_started = clock.now_ms();
    let mut running = start(db, &sim, &clock).await;
    for i in 0..N {
        // A dozen signatures, each shared by ten purchases.
        let p = NewPurchase {
            client_ref: ClientRef::generate(),
            user_id: UserId(2_000 + i as i64),
            chat_id: 2_000 + i as i64,
            language: Language::En,
            sale: Sale {
                product_id: ProductId::parse("product_pubg_60").unwrap(),
                product_name: "PUBG 60 UC".to_owned(),
                quantity: Quantity::new(1).unwrap(),
                note: Note::from_pairs([format!("player_id={}", i % 12).as_str()]).unwrap(),
                unit_price: Some(Money::parse("0.99").unwrap()),
                currency: "USD".to_owned(),
                stars: 100,
            },
            source: foxbot::domain::PurchaseSource::Telegram,
            telegram_charge_id: Some(format!("charge-storm-{i}")),
        };
        db.store.insert_purchase(&p, clock.now_ms()).await.unwrap();
    }
    wait_for(
        "every purchase to leave the engine",
        Duration::from_secs(300),
        || async { all_final(&db.store).await.then_some(()) },
    )
    .await;
    running.stop().await;
    let report = check_guarantees(&db.store, &sim, true).await;
    eprintln!("auto-pay storm ({:?}): {report:#?}", db.store.backend());
    assert_eq!(report.purchases, N);
    assert!(
        report.ambiguous > 0,
        "the run must exercise ambiguity: {report:?}"
    );
    // No purchase has two paid orders (check_guarantees), and on this
    // account every created order is paid: so no create was ever repeated.
    assert_eq!(
        report.orders_created, report.orders_paid,
        "every create that landed was charged: {report:?}"
    );
    assert!(
        report.orders_paid <= N && report.orders_paid >= report.delivering,
        "at most one paid order per purchase, one for each delivered: {report:?}"
    );
    // Delivered, or in a person's hands with an alert: a scripted Telegram
    // that times out twice on one delivery sends it to a person.
    assert_eq!(report.delivering + report.dead_letter, N, "{report:?}");
    let (delivered, _, _) = check_delivery_and_refunds(db, &running).await;
    assert_eq!(delivered, report.delivering, "{report:?}");

    let charges: Vec<String> = (0..N).map(|i| format!("charge-storm-{i}")).collect();
    let audit = the_ledger_audit(db, &sim, &running, &charges, run_started).await;
    // On this account every order is debited at creation: each one is a
    // delivered purchase's or one still in a person's hands.
    assert_eq!(
        audit.totals.debits.total, report.orders_paid,
        "{:?}",
        audit.totals
    );
    assert_eq!(
        audit.totals.debits.delivered, delivered,
        "{:?}",
        audit.totals
    );
}
