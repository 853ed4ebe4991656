//! One step of the bench: one pattern offered one rate from nothing, then
//! measured — supplier calls by kind, 429s, the queue half way and at the
//! end, and each delivered purchase's latency.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use super::report::StepReport;
use super::rig::{Bench, Rng};
use super::{Arrivals, BenchArgs, Pattern};
use crate::domain::{Owner, PurchaseState};
use crate::foxreload::sim::Endpoint;
use crate::store::{Purchase, PurchaseFilter};

/// States of a purchase still waiting for its supplier writes: the
/// engine's.
pub(super) const QUEUED: &[PurchaseState] = PurchaseState::owned_by(Owner::Engine);

/// How long after payment the supplier completes an order: 1–60 s.
fn fulfilment(rng: &mut Rng) -> Duration {
    Duration::from_secs_f64(1.0 + 59.0 * rng.unit())
}

/// What the arrival phase offered.
struct Offered {
    purchases: i64,
    /// The queue of purchases waiting for their supplier writes, half way.
    backlog_mid: i64,
}

pub(super) async fn step(
    args: &BenchArgs,
    pattern: Pattern,
    rate: u32,
) -> anyhow::Result<StepReport> {
    let f = args.compress.max(1);
    let bench = Bench::start(f, args.budget, pattern).await?;
    let offered = offer(&bench, args, rate).await?;
    let backlog_end = bench.count(QUEUED).await?;
    let n = offered.purchases;
    drain(&bench, n, f).await?;
    let delivered = delivered(&bench, n).await?;
    let calls = |e| bench.sim.request_count(e);
    let report = StepReport {
        pattern,
        offered_per_min: rate,
        purchases: usize::try_from(n).unwrap_or(0),
        delivered: delivered.len(),
        creates: calls(Endpoint::CreateOrder),
        pays: calls(Endpoint::PayOrder),
        single_reads: calls(Endpoint::GetOrder),
        list_reads: calls(Endpoint::ListOrders),
        other_calls: calls(Endpoint::Balances)
            + calls(Endpoint::Product)
            + calls(Endpoint::Products),
        rate_limited: bench.sim.rate_limited_count(),
        backlog_mid: offered.backlog_mid,
        backlog_end,
        latency: latencies(&bench, &delivered, f),
        held: false,
    };
    bench.shutdown().await;
    let grew = report.backlog_end > report.backlog_mid + 3;
    Ok(StepReport {
        held: report.rate_limited == 0 && !grew && report.delivered == report.purchases,
        ..report
    })
}

/// Offers purchases at `rate` per simulated minute for the step's minutes,
/// evenly spaced or as a Poisson process, noting the queue half way; returns
/// when the offer's time is over.
async fn offer(bench: &Bench, args: &BenchArgs, rate: u32) -> anyhow::Result<Offered> {
    let f = args.compress.max(1);
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
    Ok(Offered {
        purchases: n,
        backlog_mid: backlog_mid.unwrap_or(0),
    })
}

/// Gives the last purchases two simulated minutes to complete and be
/// delivered, stopping early once all `n` are.
async fn drain(bench: &Bench, n: i64, f: u32) -> anyhow::Result<()> {
    let drain_until = Instant::now() + Duration::from_secs(120) / f;
    while Instant::now() < drain_until {
        if bench.count(&[PurchaseState::Delivered]).await? == n {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(())
}

/// The delivered purchases (of `n` offered).
async fn delivered(bench: &Bench, n: i64) -> anyhow::Result<Vec<Purchase>> {
    Ok(bench
        .store
        .purchases_for_work(&PurchaseFilter {
            states: vec![PurchaseState::Delivered],
            user_id: None,
            limit: n + 1,
            oldest_first: true,
        })
        .await?
        .purchases)
}

/// From each order's completion at the supplier to its codes sent, in
/// simulated seconds, sorted.
fn latencies(bench: &Bench, delivered: &[Purchase], f: u32) -> Vec<f64> {
    let finishes: HashMap<String, i64> = bench
        .sim
        .orders()
        .into_iter()
        .filter_map(|o| o.finishes_at.map(|at| (o.id, at)))
        .collect();
    let sent = bench.sent_at();
    let mut latency: Vec<f64> = delivered
        .iter()
        .filter_map(|p| {
            let done = *finishes.get(p.supplier_order_id.as_ref()?.as_str())?;
            let at = *sent.get(&p.chat_id)?;
            Some((at - done) as f64 / 1000.0 * f64::from(f))
        })
        .collect();
    latency.sort_by(f64::total_cmp);
    latency
}
