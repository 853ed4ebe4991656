//! The one budget for supplier calls.
//!
//! The supplier allows about R requests a minute per key (shared by every
//! process using the key). Every call waits here first. Two rules admit it:
//! - a sliding log of the last window's admissions holds the hard promise:
//!   no window (60 s) ever sees more than R calls;
//! - a small token bucket (capacity R/10, refill R per window) spreads them
//!   out, so a burst does not spend the whole window at once.
//!
//! Writes (create, pay) go before reads: a waiting write takes the next slot,
//! except that reads are owed a fifth of the window. Without that share, at
//! 40 purchases a minute the writes alone take 80 of 100 calls and a poller
//! that only gets what is left sees completions late; with it, the poller
//! keeps its cadence whatever the writes do.
//! A 429 pauses every caller for its `Retry-After`.
//!
//! Several processes sharing one key (replicas on PostgreSQL) also take
//! each call from a [`SharedLimit`] kept in the database
//! (`store::SharedBudget`): the hard limit holds for all of them together,
//! and one process's 429 pauses every one.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

use crate::domain::{Priority, SharedLimit};

/// The supplier counts its limit per minute.
const MINUTE: Duration = Duration::from_secs(60);

/// The log's window is this much (1/N) longer than the supplier's: a call
/// admitted here reaches the supplier a little later, and calls do not all
/// take equally long to get there, so a log of exactly R in the window
/// could still show the supplier R + 1 in its own.
const MARGIN_DIVISOR: u32 = 50;

/// Reads are owed this fraction of every window (1/N), when they want it.
const READ_SHARE_DIVISOR: u32 = 5;

pub struct Budget {
    rate: u32,
    window: Duration,
    capacity: f64,
    /// Reads admitted ahead of waiting writes while they got fewer than
    /// this in the window.
    read_share: usize,
    state: Mutex<State>,
    changed: Notify,
    /// Set when several processes share the key.
    shared: std::sync::OnceLock<std::sync::Arc<dyn SharedLimit>>,
}

impl std::fmt::Debug for Budget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Budget")
            .field("rate", &self.rate)
            .field("window", &self.window)
            .field("shared", &self.shared.get().is_some())
            .finish_non_exhaustive()
    }
}

#[derive(Debug)]
struct State {
    tokens: f64,
    refilled_at: Instant,
    admitted: VecDeque<(Instant, Priority)>,
    paused_until: Option<Instant>,
    writes_waiting: usize,
    reads_waiting: usize,
}

/// Keeps the waiting counts right even if a waiting call is cancelled.
struct Ticket<'a>(&'a Budget, Priority);

impl<'a> Ticket<'a> {
    fn new(budget: &'a Budget, priority: Priority) -> Self {
        budget.with_state(|s| *s.waiting(priority) += 1);
        Ticket(budget, priority)
    }
}

impl Drop for Ticket<'_> {
    fn drop(&mut self) {
        let priority = self.1;
        self.0.with_state(|s| {
            let n = s.waiting(priority);
            *n = n.saturating_sub(1);
        });
        self.0.changed.notify_waiters();
    }
}

impl State {
    fn waiting(&mut self, priority: Priority) -> &mut usize {
        match priority {
            Priority::Write => &mut self.writes_waiting,
            Priority::Read => &mut self.reads_waiting,
        }
    }

    fn reads_in_window(&self) -> usize {
        self.admitted
            .iter()
            .filter(|(_, p)| *p == Priority::Read)
            .count()
    }
}

impl Budget {
    /// `rate_per_min` calls in any minute.
    pub fn new(rate_per_min: u32) -> Self {
        Budget::per_window(rate_per_min, MINUTE)
    }

    /// `rate` calls in any `window`: the benchmark compresses time by
    /// shortening the window; everything else uses [`Budget::new`].
    pub fn per_window(rate: u32, window: Duration) -> Self {
        let rate = rate.max(1);
        let capacity = (f64::from(rate) / 10.0).floor().max(1.0);
        let window = window.max(Duration::from_millis(1));
        Budget {
            rate,
            window: window + window / MARGIN_DIVISOR,
            capacity,
            read_share: (rate / READ_SHARE_DIVISOR) as usize,
            state: Mutex::new(State {
                tokens: capacity,
                refilled_at: Instant::now(),
                admitted: VecDeque::with_capacity(rate as usize),
                paused_until: None,
                writes_waiting: 0,
                reads_waiting: 0,
            }),
            changed: Notify::new(),
            shared: std::sync::OnceLock::new(),
        }
    }

    /// From now on every call also takes its turn in `limit`, which every
    /// process sharing the key sees. Set once; later calls are ignored.
    pub fn share_with(&self, limit: std::sync::Arc<dyn SharedLimit>) {
        let _ = self.shared.set(limit);
    }

    /// Calls allowed in one window.
    pub fn rate(&self) -> u32 {
        self.rate
    }

    pub fn window(&self) -> Duration {
        self.window
    }

    fn with_state<T>(&self, f: impl FnOnce(&mut State) -> T) -> T {
        // A panic elsewhere cannot leave the counters half-written: every
        // update is a few plain assignments. Recover the lock.
        let mut guard = self.state.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut guard)
    }

    /// Waits until one call may be made now, and counts it: here, and in
    /// the shared limit if there is one (a call this process may make but
    /// the shared window has no room for is given back, and waits).
    pub async fn acquire(&self, priority: Priority) {
        loop {
            self.acquire_here(priority).await;
            let Some(shared) = self.shared.get() else {
                return;
            };
            match shared.take(priority).await {
                Ok(()) => return,
                Err(wait) => {
                    self.give_back();
                    tokio::time::sleep(wait.max(Duration::from_millis(10))).await;
                }
            }
        }
    }

    /// Undoes this process's count of one admission.
    fn give_back(&self) {
        self.with_state(|s| {
            s.admitted.pop_back();
            s.tokens = (s.tokens + 1.0).min(self.capacity);
        });
        self.changed.notify_waiters();
    }

    async fn acquire_here(&self, priority: Priority) {
        let _ticket = Ticket::new(self, priority);
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
        let per_token = self.window.as_secs_f64() / f64::from(self.rate);
        let elapsed = now.saturating_duration_since(s.refilled_at).as_secs_f64();
        s.tokens = (s.tokens + elapsed / per_token).min(self.capacity);
        s.refilled_at = now;
        while s
            .admitted
            .front()
            .is_some_and(|(t, _)| now.saturating_duration_since(*t) >= self.window)
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
        if s.admitted.len() >= self.rate as usize
            && let Some((oldest, _)) = s.admitted.front()
        {
            wait = wait.max((*oldest + self.window).saturating_duration_since(now));
        }
        if s.tokens < 1.0 {
            wait = wait.max(Duration::from_secs_f64((1.0 - s.tokens) * per_token));
        }
        if !wait.is_zero() {
            return Some(wait.max(Duration::from_millis(1)));
        }
        // Writes first, but reads that got less than their share of the
        // window go first while they wait. The one who yields is woken by
        // the other's admission (or cancellation).
        let reads_owed = s.reads_waiting > 0 && s.reads_in_window() < self.read_share;
        let yields = match priority {
            Priority::Write => reads_owed,
            Priority::Read => s.writes_waiting > 0 && !reads_owed,
        };
        if yields {
            return Some(Duration::from_secs_f64(per_token).max(Duration::from_millis(1)));
        }
        s.tokens -= 1.0;
        s.admitted.push_back((now, priority));
        None
    }

    /// The supplier said 429: nobody calls again for `retry_after` (in
    /// every process, when the limit is shared).
    pub fn pause(&self, retry_after: Duration) {
        let until = Instant::now() + retry_after;
        self.with_state(|s| {
            s.paused_until = Some(s.paused_until.map_or(until, |u| u.max(until)));
        });
        self.changed.notify_waiters();
        if let Some(shared) = self.shared.get().cloned() {
            tokio::spawn(async move { shared.pause(retry_after).await });
        }
    }

    /// Writes waiting for their turn now.
    pub fn writes_waiting(&self) -> usize {
        self.with_state(|s| s.writes_waiting)
    }

    /// Calls admitted in the last window.
    pub fn used_in_window(&self) -> usize {
        let now = Instant::now();
        self.with_state(|s| {
            s.admitted
                .iter()
                .filter(|(t, _)| now.saturating_duration_since(*t) < self.window)
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
                span >= MINUTE,
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
        // Reads have had their share of the window (a fifth: 12).
        for _ in 0..12 {
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

    #[tokio::test(start_paused = true)]
    async fn reads_keep_a_fifth_of_the_window_under_a_flood_of_writes() {
        let budget = Arc::new(Budget::new(100));
        let start = Instant::now();
        let stop = start + Duration::from_secs(180);
        let mut tasks = Vec::new();
        // Far more writes than the budget holds, and a poller that wants
        // to read every second.
        for _ in 0..4 {
            let b = budget.clone();
            tasks.push(tokio::spawn(async move {
                let mut n = 0usize;
                while Instant::now() < stop {
                    b.acquire(Priority::Write).await;
                    n += 1;
                }
                (Priority::Write, n)
            }));
        }
        let b = budget.clone();
        tasks.push(tokio::spawn(async move {
            let mut n = 0usize;
            while Instant::now() < stop {
                b.acquire(Priority::Read).await;
                n += 1;
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            (Priority::Read, n)
        }));
        let (mut writes, mut reads) = (0, 0);
        for t in tasks {
            match t.await.unwrap() {
                (Priority::Write, n) => writes += n,
                (Priority::Read, n) => reads += n,
            }
        }
        // Three minutes of 100: reads get their 20 a minute, writes the rest.
        assert!((55..=65).contains(&reads), "reads {reads}, writes {writes}");
        assert!(writes >= 230, "reads {reads}, writes {writes}");
        assert!(reads + writes <= 300 + 10, "reads {reads}, writes {writes}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_shorter_window_scales_the_rate() {
        let budget = Arc::new(Budget::per_window(100, Duration::from_secs(6)));
        let start = Instant::now();
        for _ in 0..200 {
            budget.acquire(Priority::Read).await;
        }
        let took = Instant::now() - start;
        // 100 per 6 s, a burst of 10 at the start: about 11 s for 200.
        assert!(
            took >= Duration::from_secs(10) && took <= Duration::from_secs(13),
            "{took:?}"
        );
    }
}
