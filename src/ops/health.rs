//! Heartbeats: each worker loop notes when it last finished a cycle, under
//! its task name (`<instance>/<worker>`), so `/readyz` can tell a process
//! whose workers stopped from one that is merely idle.

use std::collections::HashMap;
use std::sync::{LazyLock, Mutex};

use crate::clock::Millis;

static BEATS: LazyLock<Mutex<HashMap<String, Millis>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));

/// The task `name` finished a cycle at `now`.
pub fn beat(name: &str, now: Millis) {
    if let Ok(mut beats) = BEATS.lock() {
        beats.insert(name.to_owned(), now);
    }
    crate::ops::metrics::tick(name, now);
}

/// The task `name` stopped for good (a clean shutdown): no longer expected.
pub fn retire(name: &str) {
    if let Ok(mut beats) = BEATS.lock() {
        beats.remove(name);
    }
}

/// Tasks of `instance` whose last beat is older than `max_age_ms` at
/// `now`. A task that never beat is not listed.
pub fn stale(instance: &str, now: Millis, max_age_ms: Millis) -> Vec<String> {
    let Ok(beats) = BEATS.lock() else {
        return Vec::new();
    };
    let prefix = format!("{instance}/");
    let mut stale: Vec<String> = beats
        .iter()
        .filter(|(name, at)| name.starts_with(&prefix) && now.saturating_sub(**at) > max_age_ms)
        .map(|(name, _)| name.clone())
        .collect();
    stale.sort_unstable();
    stale
}
