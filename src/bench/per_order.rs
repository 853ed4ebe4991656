//! The common way of watching paid supplier orders, for the benchmark to
//! compare against the product's list poller: each order read on its own
//! on a growing timer (5 s, ×1.5, capped at 30 s, jitter 30 %). It plugs
//! into the engine's poller as a [`Watch`]; the product never uses it.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::time::Duration;

use crate::clock::{BoxFuture, Millis, millis};
use crate::engine::{EngineError, PollReport, Poller, Watch};
use crate::store::Purchase;

/// The per-order pattern: first read `first` after payment, then each wait
/// × `factor` up to `cap`, each spread by ± `jitter` (a fraction).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PerOrder {
    pub first: Duration,
    pub factor: f64,
    pub cap: Duration,
    pub jitter: f64,
}

impl PerOrder {
    /// 5 s, ×1.5, capped at 30 s, jitter 30 %.
    pub const COMMON: PerOrder = PerOrder {
        first: Duration::from_secs(5),
        factor: 1.5,
        cap: Duration::from_secs(30),
        jitter: 0.3,
    };

    /// The same pattern with every duration divided by `factor`.
    pub fn compressed(self, factor: u32) -> PerOrder {
        PerOrder {
            first: self.first / factor.max(1),
            cap: self.cap / factor.max(1),
            ..self
        }
    }

    fn spread(&self, wait: Duration, seed: u64) -> Millis {
        // A deterministic spread from the purchase and the read number.
        let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        let unit = (z >> 11) as f64 / (1u64 << 53) as f64; // [0, 1)
        let scale = 1.0 + self.jitter * (2.0 * unit - 1.0);
        millis(wait.mul_f64(scale.max(0.0)))
    }
}

/// One order's timer in the per-order pattern.
#[derive(Debug, Clone, Copy)]
struct Timer {
    due: Millis,
    wait: Duration,
    reads: u64,
}

impl Timer {
    fn start(purchase: i64, since: Millis, pattern: &PerOrder) -> Timer {
        let seed = purchase.unsigned_abs() << 16;
        Timer {
            due: since.saturating_add(pattern.spread(pattern.first, seed)),
            wait: pattern.first,
            reads: 0,
        }
    }

    fn next(&mut self, purchase: i64, now: Millis, pattern: &PerOrder) {
        self.reads += 1;
        self.wait = self.wait.mul_f64(pattern.factor).min(pattern.cap);
        let seed = (purchase.unsigned_abs() << 16) | (self.reads & 0xFFFF);
        self.due = now.saturating_add(pattern.spread(self.wait, seed));
    }
}

/// The per-order pattern as the poller's [`Watch`]: every order read on
/// its own, on its own timer.
#[derive(Debug)]
pub struct PerOrderWatch {
    pattern: PerOrder,
    timers: Mutex<HashMap<i64, Timer>>,
}

impl PerOrderWatch {
    pub fn new(pattern: PerOrder) -> Self {
        PerOrderWatch {
            pattern,
            timers: Mutex::new(HashMap::new()),
        }
    }

    /// The purchases whose timer has run out, starting a timer for each
    /// newly watched one and forgetting those no longer watched.
    fn due<'a>(&self, watched: &'a [Purchase], now: Millis) -> Vec<&'a Purchase> {
        let mut timers = self.timers.lock().unwrap_or_else(|e| e.into_inner());
        let ids: HashSet<i64> = watched.iter().map(|p| p.id).collect();
        timers.retain(|id, _| ids.contains(id));
        watched
            .iter()
            .filter(|p| {
                let timer = timers
                    .entry(p.id)
                    .or_insert_with(|| Timer::start(p.id, p.state_since, &self.pattern));
                timer.due <= now
            })
            .collect()
    }

    /// Sets `purchase`'s next read after the one made at `now`.
    fn read_made(&self, purchase: i64, now: Millis) {
        let mut timers = self.timers.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(timer) = timers.get_mut(&purchase) {
            timer.next(purchase, now, &self.pattern);
        }
    }
}

impl Watch for PerOrderWatch {
    /// A tenth of the first wait: each order keeps its own timer, and the
    /// cycles only look at which ones ran out.
    fn tick(&self, _poll_interval: Duration) -> Duration {
        (self.pattern.first / 10).max(Duration::from_millis(10))
    }

    fn cycle<'a>(
        &'a self,
        poller: Poller<'a>,
        watched: &'a [Purchase],
        report: &'a mut PollReport,
    ) -> BoxFuture<'a, Result<(), EngineError>> {
        Box::pin(async move {
            for p in self.due(watched, poller.now()) {
                poller.read_alone(p, report).await?;
                self.read_made(p.id, poller.now());
            }
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_per_order_pattern_grows_by_half_to_its_cap_within_its_jitter() {
        let pattern = PerOrder::COMMON;
        let mut timer = Timer::start(42, 0, &pattern);
        assert!((3_500..=6_500).contains(&timer.due), "{}", timer.due);
        let mut now = timer.due;
        let mut expected = 5_000.0_f64;
        for _ in 0..12 {
            timer.next(42, now, &pattern);
            expected = (expected * 1.5).min(30_000.0);
            let wait = (timer.due - now) as f64;
            assert!(
                wait >= expected * 0.7 - 1.0 && wait <= expected * 1.3 + 1.0,
                "waited {wait}, expected {expected} ± 30 %"
            );
            now = timer.due;
        }
        assert_eq!(timer.wait, pattern.cap);
        // Compressed ten times, the same shape.
        let fast = pattern.compressed(10);
        assert_eq!(fast.first, Duration::from_millis(500));
        assert_eq!(fast.cap, Duration::from_secs(3));
    }
}
