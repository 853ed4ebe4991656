//! `foxbot bench`: this project's list poller against the common per-order
//! polling pattern, in one run, on the real engine, store and delivery
//! worker against the simulator.
//!
//! Time is compressed by `--compress F`: every duration (fulfilment, poll
//! interval, timeouts, the per-order timers, the budget's window and the
//! simulator's enforced limit) is divided by F, so ten simulated minutes
//! take one real minute and the budget is still "100 per minute" in
//! simulated time. Figures are reported in simulated time. What does not
//! scale is our own overhead (SQLite, HTTP on loopback): it is multiplied
//! by F in the figures, so they err on the slow side.
//!
//! Each step (pattern × offered rate) starts from nothing: a fresh SQLite
//! database, a fresh simulator that enforces the key's limit with 429s, a
//! budget of that limit, purchases arriving as a Poisson process, each
//! order completing 1–60 s (uniform) after payment. A rate is *held* when
//! the step saw no 429, the queue of purchases waiting for their supplier
//! writes did not grow from the middle of the step to its end, and every
//! purchase was delivered within two minutes of the last arrival.
//!
//! Peak memory with 1,000 orders in flight is measured in a child process
//! per pattern (`foxbot bench --rss-phase …`), so the two do not share an
//! allocator's high-water mark.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use rust_decimal::Decimal;
use tokio::sync::watch;

use crate::clock::{Clock, SharedClock, SystemClock};
use crate::config::DatabaseUrl;
use crate::delivery::{BoxFuture, Deliverer, DeliveryConfig, Notifier, OutgoingMessage, SendError};
use crate::domain::{
    ClientRef, Language, Money, Note, ProductId, PurchaseSource, PurchaseState, Quantity, UserId,
};
use crate::engine::{Engine, EngineConfig, PerOrder, WatchMode};
use crate::foxreload::sim::{Endpoint, OrderOutcome, SimOptions, Simulator};
use crate::foxreload::{Budget, ClientOptions, FoxReload};
use crate::store::{NewPurchase, PurchaseFilter, Store};

/// Options of `foxbot bench`.
#[derive(Debug, Clone, clap::Args)]
pub struct BenchArgs {
    /// Time compression: simulated seconds per real second.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=60))]
    pub compress: u32,
    /// Offered rates to try, purchases per simulated minute.
    #[arg(long, value_delimiter = ',', default_value = "20,30,40,45,50")]
    pub rates: Vec<u32>,
    /// Simulated minutes each rate is offered for.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=120))]
    pub minutes: u32,
    /// The supplier key's limit, requests per minute (enforced by the
    /// simulator with 429s, and our budget's setting).
    #[arg(long, default_value_t = 100)]
    pub budget: u32,
    /// Orders in flight for the memory measurement (0: skip it).
    #[arg(long, default_value_t = 1000)]
    pub rss_orders: u32,
    /// The key's limit during the memory measurement: filling 1,000 orders
    /// at 100 a minute would take 20 minutes (the supplier's enterprise
    /// tier is 1,000).
    #[arg(long, default_value_t = 1000)]
    pub rss_budget: u32,
    /// Which patterns to run.
    #[arg(long, value_delimiter = ',', default_value = "list,per-order")]
    pub patterns: Vec<Pattern>,
    /// How purchases arrive: evenly spaced, or as a Poisson process (the
    /// same mean rate, in bursts and lulls).
    #[arg(long, value_enum, default_value_t = Arrivals::Even)]
    pub arrivals: Arrivals,
    /// Seed of arrivals, products and fulfilment times.
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
    /// Internal: run only the memory phase of one pattern and print it.
    #[arg(long, hide = true)]
    pub rss_phase: Option<Pattern>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Arrivals {
    Even,
    Poisson,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, clap::ValueEnum)]
pub enum Pattern {
    /// This project: one history request covers every order in flight.
    List,
    /// Each order read on its own: 5 s, ×1.5, capped at 30 s, jitter 30 %.
    PerOrder,
}

impl Pattern {
    fn name(self) -> &'static str {
        match self {
            Pattern::List => "list poller (this project)",
            Pattern::PerOrder => "per-order polling",
        }
    }

    fn arg(self) -> &'static str {
        match self {
            Pattern::List => "list",
            Pattern::PerOrder => "per-order",
        }
    }

    fn watch(self, compress: u32) -> WatchMode {
        match self {
            Pattern::List => WatchMode::List,
            Pattern::PerOrder => WatchMode::PerOrder(PerOrder::COMMON.compressed(compress)),
        }
    }
}

/// What one step measured, in simulated time.
#[derive(Debug, Clone)]
pub struct StepReport {
    pub pattern: Pattern,
    pub offered_per_min: u32,
    pub purchases: usize,
    pub delivered: usize,
    pub creates: u64,
    pub pays: u64,
    pub single_reads: u64,
    pub list_reads: u64,
    pub other_calls: u64,
    pub rate_limited: u64,
    pub backlog_mid: i64,
    pub backlog_end: i64,
    /// Completion (at the supplier) to the codes sent, seconds.
    pub latency: Vec<f64>,
    pub held: bool,
}

impl StepReport {
    fn order_calls(&self) -> u64 {
        self.creates + self.pays + self.single_reads + self.list_reads
    }

    fn per_delivered(&self, calls: u64) -> f64 {
        if self.delivered == 0 {
            return f64::NAN;
        }
        calls as f64 / self.delivered as f64
    }

    fn percentile(&self, p: f64) -> f64 {
        percentile(&self.latency, p)
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = (p / 100.0 * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// `foxbot bench`.
pub async fn run(args: BenchArgs) -> anyhow::Result<()> {
    if let Some(pattern) = args.rss_phase {
        let kb = rss_phase(&args, pattern).await?;
        println!("rss_peak_kb={kb}");
        return Ok(());
    }
    println!(
        "foxbot bench: {} per minute key, time compressed {}x, {} simulated minutes per rate, {:?} arrivals",
        args.budget, args.compress, args.minutes, args.arrivals
    );
    let mut steps = Vec::new();
    for &pattern in &args.patterns {
        for &rate in &args.rates {
            let report = step(&args, pattern, rate).await?;
            println!(
                "  {:<28} {:>3}/min: {}/{} delivered, {:.2} calls/order, {} x 429, p95 {:.1} s, backlog {} -> {}{}",
                pattern.name(),
                rate,
                report.delivered,
                report.purchases,
                report.per_delivered(report.order_calls()),
                report.rate_limited,
                report.percentile(95.0),
                report.backlog_mid,
                report.backlog_end,
                if report.held { "" } else { "  (not held)" }
            );
            steps.push(report);
        }
    }
    let mut rss = HashMap::new();
    if args.rss_orders > 0 {
        for &pattern in &args.patterns {
            let kb = rss_in_child(&args, pattern).await?;
            println!("  {:<28} peak RSS {} MiB", pattern.name(), kb / 1024);
            rss.insert(pattern, kb);
        }
    }
    println!();
    print!("{}", table(&args, &steps, &rss));
    Ok(())
}

/// The report as Markdown.
fn table(args: &BenchArgs, steps: &[StepReport], rss: &HashMap<Pattern, u64>) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "| pattern | offered/min | delivered | calls/order (create, pay, single, list) | 429s | backlog mid → end | latency p50 / p95 / p99 / max (s) | held |"
    );
    let _ = writeln!(out, "|---|---|---|---|---|---|---|---|");
    for s in steps {
        let max = s.latency.last().copied().unwrap_or(f64::NAN);
        let _ = writeln!(
            out,
            "| {} | {} | {}/{} | {:.2} ({:.2}, {:.2}, {:.2}, {:.2}) | {} | {} → {} | {:.1} / {:.1} / {:.1} / {:.1} | {} |",
            s.pattern.name(),
            s.offered_per_min,
            s.delivered,
            s.purchases,
            s.per_delivered(s.order_calls()),
            s.per_delivered(s.creates),
            s.per_delivered(s.pays),
            s.per_delivered(s.single_reads),
            s.per_delivered(s.list_reads),
            s.rate_limited,
            s.backlog_mid,
            s.backlog_end,
            s.percentile(50.0),
            s.percentile(95.0),
            s.percentile(99.0),
            max,
            if s.held { "yes" } else { "no" },
        );
    }
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "| pattern | highest rate held | peak RSS, {} orders in flight |",
        args.rss_orders
    );
    let _ = writeln!(out, "|---|---|---|");
    for &pattern in &args.patterns {
        let held = steps
            .iter()
            .filter(|s| s.pattern == pattern && s.held)
            .map(|s| s.offered_per_min)
            .max()
            .map_or("none tried".to_owned(), |r| format!("{r}/min"));
        let mem = rss.get(&pattern).map_or("not measured".to_owned(), |kb| {
            format!("{:.1} MiB", *kb as f64 / 1024.0)
        });
        let _ = writeln!(out, "| {} | {held} | {mem} |", pattern.name());
    }
    out
}

/// A small seeded generator (SplitMix64): arrivals and products repeat
/// from one run to the next.
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
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
struct Bench {
    sim: Simulator,
    store: Store,
    engine: Engine,
    recorder: Arc<Recorder>,
    stop: watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    _dir: TempDir,
    compress: u32,
}

struct TempDir(std::path::PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

const PRODUCTS: &[(&str, &str, i64, bool)] = &[
    ("product_steam_10", "9.20", 3, false),
    ("product_gplay_25", "23.75", 2, false),
    ("product_pubg_60", "0.99", 5, true),
];

impl Bench {
    async fn start(compress: u32, budget: u32, pattern: Pattern) -> anyhow::Result<Bench> {
        let f = compress.max(1);
        let scaled = |secs: u64| Duration::from_secs(secs) / f;
        let dir =
            std::env::temp_dir().join(format!("foxbot-bench-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).context("creating the bench's temporary folder")?;
        let dir = TempDir(dir);
        let clock: SharedClock = Arc::new(SystemClock);
        let sim = Simulator::start(
            "127.0.0.1:0".parse()?,
            SimOptions {
                api_key: "bench-key".to_owned(),
                clock: clock.clone(),
                balance: Money::new(Decimal::new(1_000_000_000, 0)),
                payment_window: scaled(15 * 60),
                ..SimOptions::default()
            },
        )
        .await
        .context("starting the simulator")?;
        sim.set_rate_limit(Some((budget, scaled(60))));

        let url = DatabaseUrl::parse(&format!("sqlite://{}/bench.db", dir.0.display()))?;
        let store = Store::connect(&url)
            .await
            .context("opening the bench database")?;
        store
            .migrate()
            .await
            .context("migrating the bench database")?;

        let supplier = FoxReload::new(
            ClientOptions {
                base_url: sim.base_url().parse()?,
                api_key: "bench-key".to_owned().into(),
                timeout: scaled(30),
                mock_orders: false,
            },
            Arc::new(Budget::per_window(budget, scaled(60))),
        )?;
        let cfg = EngineConfig {
            lease: scaled(60),
            settle_delay: scaled(60),
            poll_interval: scaled(3),
            stall_alert: scaled(600),
            stall_dead: scaled(3600),
            balance_wait: scaled(3600),
            price_tolerance_percent: Decimal::new(5, 0),
            workers: 4,
            worker_idle: scaled(1),
            reconcile_max_pages: 20,
            instance_id: "bench".to_owned(),
            supplier_timeout: scaled(30),
            watch: pattern.watch(f),
        };
        let engine = Engine::new(store.clone(), supplier, clock.clone(), cfg);
        let recorder = Arc::new(Recorder::default());
        let deliverer = Deliverer::new(
            store.clone(),
            recorder.clone(),
            clock,
            DeliveryConfig {
                lease: scaled(60),
                retry: scaled(1),
                idle: scaled(1),
                instance_id: "bench".to_owned(),
            },
        );
        let (stop, stopped) = watch::channel(false);
        let mut tasks = engine.spawn(stopped.clone());
        tasks.push(deliverer.spawn(stopped));
        Ok(Bench {
            sim,
            store,
            engine,
            recorder,
            stop,
            tasks,
            _dir: dir,
            compress: f,
        })
    }

    /// Records purchase `n` (its own buyer, so its message is known by
    /// chat) and the fulfilment time of the order it will make.
    async fn buy(&self, n: i64, rng: &mut Rng, fulfil: Duration) -> anyhow::Result<()> {
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
            product_id: ProductId::parse(product)?,
            product_name: product.to_owned(),
            quantity: Quantity::new(quantity)?,
            note,
            unit_price: Some(Money::parse(price)?),
            currency: "USD".to_owned(),
            stars: 0,
            source: PurchaseSource::Manual,
            telegram_charge_id: None,
        };
        self.store
            .insert_purchase(&new, SystemClock.now_ms())
            .await?;
        self.engine.wake();
        Ok(())
    }

    async fn count(&self, states: &[PurchaseState]) -> anyhow::Result<i64> {
        Ok(self
            .store
            .state_counts()
            .await?
            .into_iter()
            .filter(|(s, _)| states.contains(s))
            .map(|(_, n)| n)
            .sum())
    }

    async fn shutdown(self) {
        let _ = self.stop.send(true);
        for t in self.tasks {
            let _ = t.await;
        }
        self.store.close().await;
        self.sim.shutdown();
    }
}

/// States of a purchase still waiting for its supplier writes: the
/// engine's.
const QUEUED: &[PurchaseState] = PurchaseState::owned_by(crate::domain::Owner::Engine);

fn fulfilment(rng: &mut Rng) -> Duration {
    Duration::from_secs_f64(1.0 + 59.0 * rng.unit())
}

async fn step(args: &BenchArgs, pattern: Pattern, rate: u32) -> anyhow::Result<StepReport> {
    let f = args.compress.max(1);
    let bench = Bench::start(f, args.budget, pattern).await?;
    let mut rng = Rng(args.seed ^ u64::from(rate).rotate_left(32));
    let offer = Duration::from_secs(u64::from(args.minutes) * 60) / f;
    // Real seconds between arrivals, on average.
    let mean_gap = 60.0 / (f64::from(rate.max(1)) * f64::from(f));
    let started = Instant::now();
    let mut next = Duration::ZERO;
    let mut n: i64 = 0;
    let mut backlog_mid = None;
    while next < offer {
        tokio::time::sleep_until((started + next).into()).await;
        if backlog_mid.is_none() && next >= offer / 2 {
            backlog_mid = Some(bench.count(QUEUED).await?);
        }
        n += 1;
        let fulfil = fulfilment(&mut rng);
        bench.buy(n, &mut rng, fulfil).await?;
        next += Duration::from_secs_f64(match args.arrivals {
            Arrivals::Even => mean_gap,
            Arrivals::Poisson => -mean_gap * (1.0 - rng.unit()).ln(),
        });
    }
    tokio::time::sleep_until((started + offer).into()).await;
    let backlog_end = bench.count(QUEUED).await?;
    // Drain: two simulated minutes for the last ones to complete.
    let drain_until = Instant::now() + Duration::from_secs(120) / f;
    while Instant::now() < drain_until {
        if bench.count(&[PurchaseState::Delivered]).await? == n {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let delivered_rows = bench
        .store
        .purchases_for_work(&PurchaseFilter {
            states: vec![PurchaseState::Delivered],
            user_id: None,
            limit: n + 1,
            oldest_first: true,
        })
        .await?
        .purchases;
    let finishes: HashMap<String, i64> = bench
        .sim
        .orders()
        .into_iter()
        .filter_map(|o| o.finishes_at.map(|at| (o.id, at)))
        .collect();
    let sent = bench
        .recorder
        .sent_at
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
    let mut latency: Vec<f64> = delivered_rows
        .iter()
        .filter_map(|p| {
            let done = *finishes.get(p.supplier_order_id.as_ref()?.as_str())?;
            let at = *sent.get(&p.chat_id)?;
            Some((at - done) as f64 / 1000.0 * f64::from(f))
        })
        .collect();
    latency.sort_by(f64::total_cmp);
    let calls = |e| bench.sim.request_count(e);
    let report = StepReport {
        pattern,
        offered_per_min: rate,
        purchases: usize::try_from(n).unwrap_or(0),
        delivered: delivered_rows.len(),
        creates: calls(Endpoint::CreateOrder),
        pays: calls(Endpoint::PayOrder),
        single_reads: calls(Endpoint::GetOrder),
        list_reads: calls(Endpoint::ListOrders),
        other_calls: calls(Endpoint::Balances)
            + calls(Endpoint::Product)
            + calls(Endpoint::Products),
        rate_limited: bench.sim.rate_limited_count(),
        backlog_mid: backlog_mid.unwrap_or(0),
        backlog_end,
        latency,
        held: false,
    };
    bench.shutdown().await;
    let grew = report.backlog_end > report.backlog_mid + 3;
    Ok(StepReport {
        held: report.rate_limited == 0 && !grew && report.delivered == report.purchases,
        ..report
    })
}

/// Runs the memory phase of `pattern` in a child process and reads its
/// peak.
async fn rss_in_child(args: &BenchArgs, pattern: Pattern) -> anyhow::Result<u64> {
    let exe = std::env::current_exe().context("finding the foxbot binary")?;
    let output = tokio::process::Command::new(exe)
        .arg("bench")
        .arg("--rss-phase")
        .arg(pattern.arg())
        .arg("--compress")
        .arg(args.compress.to_string())
        .arg("--rss-orders")
        .arg(args.rss_orders.to_string())
        .arg("--rss-budget")
        .arg(args.rss_budget.to_string())
        .arg("--seed")
        .arg(args.seed.to_string())
        .output()
        .await
        .context("running the memory phase")?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    stdout
        .lines()
        .find_map(|l| l.strip_prefix("rss_peak_kb="))
        .and_then(|v| v.trim().parse().ok())
        .with_context(|| {
            format!(
                "the memory phase printed no figure: {}",
                String::from_utf8_lossy(&output.stderr)
                    .lines()
                    .last()
                    .unwrap_or("")
            )
        })
}

/// Fills `rss_orders` orders that stay in flight, watches them for two
/// simulated minutes, and returns this process's peak resident memory.
async fn rss_phase(args: &BenchArgs, pattern: Pattern) -> anyhow::Result<u64> {
    let f = args.compress.max(1);
    let bench = Bench::start(f, args.rss_budget, pattern).await?;
    let mut rng = Rng(args.seed);
    let orders = i64::from(args.rss_orders);
    for n in 1..=orders {
        // They complete long after the measurement.
        bench.buy(n, &mut rng, Duration::from_secs(3600)).await?;
    }
    let fill_by = Instant::now() + Duration::from_secs(30 * 60) / f;
    while bench.count(&[PurchaseState::WaitingSupplier]).await? < orders {
        anyhow::ensure!(
            Instant::now() < fill_by,
            "{orders} orders were not all in flight after 30 simulated minutes"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let watch_until = Instant::now() + Duration::from_secs(120) / f;
    while Instant::now() < watch_until {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let peak = peak_rss_kb().context("reading /proc/self/status")?;
    bench.shutdown().await;
    Ok(peak)
}

/// `VmHWM` of this process, in KiB (Linux).
fn peak_rss_kb() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank() {
        let xs: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&xs, 50.0), 50.0);
        assert_eq!(percentile(&xs, 95.0), 95.0);
        assert_eq!(percentile(&xs, 99.0), 99.0);
        assert_eq!(percentile(&xs, 100.0), 100.0);
        assert!(percentile(&[], 50.0).is_nan());
        assert_eq!(percentile(&[3.0], 99.0), 3.0);
    }
}
