//! `foxbot bench`: this project's list poller against the common per-order
//! polling pattern, in one run, on the real engine, store and delivery
//! worker against the simulator. The per-order pattern lives here
//! (`per_order`), plugged into the engine's poller as a
//! [`Watch`](crate::engine::Watch); the product only has the list poller.
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

mod per_order;
mod report;
mod rig;
mod step;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;

use crate::domain::PurchaseState;
use crate::engine::{ListWatch, Watch};
use per_order::{PerOrder, PerOrderWatch};
use rig::{Bench, Rng};

pub use report::StepReport;

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

    /// How the poller watches paid orders in this pattern.
    fn watch(self, compress: u32) -> Arc<dyn Watch> {
        match self {
            Pattern::List => Arc::new(ListWatch),
            Pattern::PerOrder => {
                Arc::new(PerOrderWatch::new(PerOrder::COMMON.compressed(compress)))
            }
        }
    }
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
            let report = step::step(&args, pattern, rate).await?;
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
    print!("{}", report::table(&args, &steps, &rss));
    Ok(())
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
