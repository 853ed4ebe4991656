//! Named crash points for crash tests.
//!
//! Built only with the `crash-points` feature. The process is killed with
//! SIGKILL (no destructors, no flushing: as abrupt as a power cut for the
//! process) when `FOXBOT_CRASH_AT=<point>` or `<point>:<n>` names the point
//! reached (on its n-th hit, first by default). Without the feature every
//! point compiles to nothing.

/// Every point, in the order a purchase passes them.
pub const POINTS: &[&str] = &[
    "after_intent",
    "awaiting_write_slot",
    "after_submitting",
    "after_create_call",
    "after_link",
    "after_pay_sent",
    "after_pay_call",
    "during_reconcile",
    "after_reconcile_link",
];

#[cfg(feature = "crash-points")]
pub fn point(name: &'static str) {
    use std::sync::OnceLock;
    use std::sync::atomic::{AtomicU64, Ordering};

    static PLAN: OnceLock<Option<(String, u64)>> = OnceLock::new();
    static HITS: AtomicU64 = AtomicU64::new(0);

    let plan = PLAN.get_or_init(|| {
        let spec = std::env::var("FOXBOT_CRASH_AT").ok()?;
        let (point, nth) = match spec.split_once(':') {
            Some((p, n)) => (p.to_owned(), n.parse().unwrap_or(1)),
            None => (spec, 1),
        };
        Some((point, nth.max(1)))
    });
    if let Some((point, nth)) = plan
        && point == name
        && HITS.fetch_add(1, Ordering::SeqCst) + 1 == *nth
    {
        eprintln!("foxbot: crash point {name} reached, killing the process");
        // SAFETY: kill(2) on our own pid has no memory-safety preconditions.
        unsafe {
            libc::kill(libc::getpid(), libc::SIGKILL);
        }
    }
}

#[cfg(not(feature = "crash-points"))]
#[inline(always)]
pub fn point(_name: &'static str) {}
