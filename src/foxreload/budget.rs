//! The one budget for supplier calls.
//!
//! The supplier allows about R requests a minute per key (shared by every
//! process using the key). Every call waits here first. Two rules admit it:
//! - a sliding log of the last minute's admissions holds the hard promise:
//!   no 60-second window ever sees more than R calls;
//! - a small token bucket (capacity R/10, refill R/min) spreads them out, so
//!   a burst does not spend the whole minute at once.
//!
//! Writes (create, pay) go before reads: a waiting write takes the next slot.
//! A 429 pauses every caller for its `Retry-After`.
//!
//! This budget lives in one process. Several replicas sharing one key must
//! each be given their share (`FOXRELOAD_RATE_PER_MIN` divided by replicas)
//! until the budget is kept in the shared database; `acquire` and `pause`
//! are the whole interface, so that backend can replace this one in place.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

const WINDOW: Duration = Duration::from_secs(60);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Priority {
    /// Create and pay: they move money and customers wait on them.
    Write,
    Read,
}

#[derive(Debug)]
pub struct Budget {
    rate_per_min: u32,
    capacity: f64,
    state: Mutex<State>,
    changed: Notify,
}

#[derive(Debug)]
struct State {
    tokens: f64,
    refilled_at: Instant,
    admitted: VecDeque<Instant>,
    paused_until: Option<Instant>,
    writes_waiting: usize,
}

/// Keeps `writes_waiting` right even if a waiting write is cancelled.
struct WriteTicket<'a>(&'a Budget);

impl Drop for WriteTicket<'_> {
    fn drop(&mut self) {
        self.0
            .with_state(|s| s.writes_waiting = s.writes_waiting.saturating_sub(1));
        self.0.changed.notify_waiters();
    }
}

impl Budget {
    pub fn new(rate_per_min: u32) -> Self {
        let rate = rate_per_min.max(1);
        let capacity = (f64::from(rate) / 10.0).floor().max(1.0);
        Budget {
            rate_per_min: rate,
            capacity,
            state: Mutex::new(State {
                tokens: capacity,
                refilled_at: Instant::now(),
                admitted: VecDeque::with_capacity(rate as usize),
                paused_until: None,
                writes_waiting: 0,
            }),
            changed: Notify::new(),
        }
    }

    pub fn rate_per_min(&self) -> u32 {
        self.rate_per_min
    }

    fn with_state<T>(&self, f: impl FnOnce(&mut State) -> T) -> T {
        // A panic elsewhere cannot leave the counters half-written: every
        // update is a few plain assignments. Recover the lock.
        let mut guard = self.state.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut guard)
    }

    /// Waits until one call may be made now, and counts it.
    pub async fn acquire(&self, priority: Priority) {
        let _ticket = (priority == Priority::Write).then(|| {
            self.with_state(|s| s.writes_waiting += 1);
            WriteTicket(self)
        });
        loop {
            let notified = self.changed.notified();
            let wait = self.with_state(|s| self.try_admit(s, priority));
            match wait {
                None => {
                    self.changed.notify_waiters();
                    return;
                }
                Some(wait) => {
                    tokio::select! {
                        () = tokio::time::sleep(wait) => {}
                        () = notified => {}
                    }
                }
            }
        }
    }

    /// Admits now (`None`) or says how long to wait before trying again.
    fn try_admit(&self, s: &mut State, priority: Priority) -> Option<Duration> {
        let now = Instant::now();
        let per_token = WINDOW.as_secs_f64() / f64::from(self.rate_per_min);
        let elapsed = now.saturating_duration_since(s.refilled_at).as_secs_f64();
        s.tokens = (s.tokens + elapsed / per_token).min(self.capacity);
        s.refilled_at = now;
        while s
            .admitted
            .front()
            .is_some_and(|t| now.saturating_duration_since(*t) >= WINDOW)
        {
            s.admitted.pop_front();
        }

        let mut wait = Duration::ZERO;
        if let Some(until) = s.paused_until {
            if until > now {
                wait = wait.max(until - now);
            } else {
                s.paused_until = None;
            }
        }
        if s.admitted.len() >= self.rate_per_min as usize
            && let Some(oldest) = s.admitted.front()
        {
            wait = wait.max((*oldest + WINDOW).saturating_duration_since(now));
        }
        if s.tokens < 1.0 {
            wait = wait.max(Duration::from_secs_f64((1.0 - s.tokens) * per_token));
        }
        if !wait.is_zero() {
            return Some(wait.max(Duration::from_millis(1)));
        }
        // A read yields to any waiting write; the write's admission (or its
        // cancellation) wakes the reads again.
        if priority == Priority::Read && s.writes_waiting > 0 {
            return Some(Duration::from_secs(1));
        }
        s.tokens -= 1.0;
        s.admitted.push_back(now);
        None
    }

    /// The supplier said 429: nobody calls again for `retry_after`.
    pub fn pause(&self, retry_after: Duration) {
        let until = Instant::now() + retry_after;
        self.with_state(|s| {
            s.paused_until = Some(s.paused_until.map_or(until, |u| u.max(until)));
        });
        self.changed.notify_waiters();
    }

    /// Writes waiting for their turn now.
    pub fn writes_waiting(&self) -> usize {
        self.with_state(|s| s.writes_waiting)
    }

    /// Calls admitted in the last minute.
    pub fn used_last_minute(&self) -> usize {
        let now = Instant::now();
        self.with_state(|s| {
            s.admitted
                .iter()
                .filter(|t| now.saturating_duration_since(**t) < WINDOW)
                .count()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    /// No window of 60 s holds more than `rate` admissions.
    fn assert_within_rate(times: &[Instant], rate: usize) {
        let mut sorted = times.to_vec();
        sorted.sort();
        for i in 0..sorted.len().saturating_sub(rate) {
            let span = sorted[i + rate] - sorted[i];
            assert!(
                span >= WINDOW,
                "{} calls within {span:?} (admissions {i}..={})",
                rate + 1,
                i + rate
            );
        }
    }

    #[tokio::test(start_paused = true)]
    async fn never_more_than_the_rate_in_any_minute() {
        for rate in [1u32, 7, 60, 100] {
            let budget = Arc::new(Budget::new(rate));
            let mut tasks = Vec::new();
            for i in 0..(rate as usize * 3 + 5) {
                let b = budget.clone();
                let p = if i % 3 == 0 {
                    Priority::Write
                } else {
                    Priority::Read
                };
                tasks.push(tokio::spawn(async move {
                    b.acquire(p).await;
                    Instant::now()
                }));
            }
            let mut times = Vec::new();
            for t in tasks {
                times.push(t.await.unwrap());
            }
            assert_within_rate(&times, rate as usize);
            // And it does not starve: n calls take about n / rate minutes.
            let start = *times.iter().min().unwrap();
            let end = *times.iter().max().unwrap();
            let n = times.len() as u64;
            let bound = Duration::from_secs(60 * n / u64::from(rate) + 60);
            assert!(
                end - start < bound,
                "rate {rate}: {:?} > {bound:?}",
                end - start
            );
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_429_pauses_every_caller_for_its_retry_after() {
        let budget = Arc::new(Budget::new(6000));
        budget.acquire(Priority::Read).await;
        let paused_at = Instant::now();
        budget.pause(Duration::from_secs(7));
        let mut tasks = Vec::new();
        for p in [Priority::Read, Priority::Write, Priority::Read] {
            let b = budget.clone();
            tasks.push(tokio::spawn(async move {
                b.acquire(p).await;
                Instant::now()
            }));
        }
        for t in tasks {
            let at = t.await.unwrap();
            assert!(
                at - paused_at >= Duration::from_secs(7),
                "admitted after {:?}",
                at - paused_at
            );
        }
    }

    #[tokio::test(start_paused = true)]
    async fn waiting_writes_go_before_waiting_reads() {
        let budget = Arc::new(Budget::new(60)); // one token a second, burst 6
        for _ in 0..6 {
            budget.acquire(Priority::Read).await;
        }
        let order = Arc::new(Mutex::new(Vec::new()));
        let mut tasks = Vec::new();
        for (i, p) in [
            Priority::Read,
            Priority::Read,
            Priority::Write,
            Priority::Read,
            Priority::Write,
        ]
        .into_iter()
        .enumerate()
        {
            let b = budget.clone();
            let o = order.clone();
            tasks.push(tokio::spawn(async move {
                b.acquire(p).await;
                o.lock().unwrap().push((i, p));
            }));
            tokio::task::yield_now().await;
        }
        for t in tasks {
            t.await.unwrap();
        }
        let order = order.lock().unwrap().clone();
        let first_two: Vec<Priority> = order.iter().take(2).map(|(_, p)| *p).collect();
        assert_eq!(
            first_two,
            vec![Priority::Write, Priority::Write],
            "{order:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_cancelled_write_does_not_block_reads_forever() {
        let budget = Arc::new(Budget::new(60));
        for _ in 0..6 {
            budget.acquire(Priority::Read).await;
        }
        let b = budget.clone();
        let write = tokio::spawn(async move { b.acquire(Priority::Write).await });
        tokio::task::yield_now().await;
        write.abort();
        let _ = write.await;
        let started = Instant::now();
        budget.acquire(Priority::Read).await;
        assert!(Instant::now() - started <= Duration::from_secs(2));
    }
}
