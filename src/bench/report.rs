//! What a bench step measured, and the Markdown tables that compare the
//! patterns.

use std::collections::HashMap;
use std::fmt::Write as _;

use super::{BenchArgs, Pattern};

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
    pub(super) fn order_calls(&self) -> u64 {
        self.creates + self.pays + self.single_reads + self.list_reads
    }

    pub(super) fn per_delivered(&self, calls: u64) -> f64 {
        if self.delivered == 0 {
            return f64::NAN;
        }
        calls as f64 / self.delivered as f64
    }

    pub(super) fn percentile(&self, p: f64) -> f64 {
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

/// The report as Markdown.
pub(super) fn table(args: &BenchArgs, steps: &[StepReport], rss: &HashMap<Pattern, u64>) -> String {
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
