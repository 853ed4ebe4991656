//! Heartbeats: each worker loop notes when it last finished a cycle, under
//! its task name (`<instance>/<worker>`), so `/readyz` can tell a process
//! whose workers stopped from one that is merely idle. The Telegram update
//! listener reports here too: a process whose bot is not taking updates is
//! not ready, however well its workers tick.

use std::collections::HashMap;
use std::sync::{LazyLock, Mutex};
use std::time::Duration;

use crate::clock::{Millis, millis};

static BEATS: LazyLock<Mutex<HashMap<String, Millis>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));

/// The task `name` finished a cycle at `now`.
pub fn beat(name: &str, now: Millis) {
    if let Ok(mut beats) = BEATS.lock() {
        beats.insert(name.to_owned(), now);
    }
    crate::telemetry::metrics::tick(name, now);
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

/// How a process takes Telegram's updates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListenerMode {
    /// `getUpdates`: live while it keeps succeeding.
    Polling,
    /// Telegram posts to us: live once the webhook is set.
    Webhook,
}

/// What `/readyz` knows of one process's update listener.
#[derive(Debug, Clone)]
pub struct Listener {
    pub mode: ListenerMode,
    /// Polling: how long `getUpdates` may go without a success.
    pub silence: Millis,
    /// The dispatcher is up (Telegram answered its `getMe`).
    pub dispatching: bool,
    pub webhook_set: bool,
    /// When `getUpdates` last succeeded.
    pub last_poll: Option<Millis>,
}

impl Listener {
    /// Why no update would be handled now, if none would.
    pub fn problem(&self, now: Millis) -> Option<String> {
        if !self.dispatching {
            return Some(
                "telegram: no update listener running (Telegram not answering getMe)".to_owned(),
            );
        }
        match self.mode {
            ListenerMode::Webhook if !self.webhook_set => {
                Some("telegram: the webhook is not set yet".to_owned())
            }
            ListenerMode::Webhook => None,
            ListenerMode::Polling => match self.last_poll {
                None => Some("telegram: getUpdates has not succeeded yet".to_owned()),
                Some(at) if now.saturating_sub(at) > self.silence => Some(format!(
                    "telegram: getUpdates has not succeeded for {} s",
                    now.saturating_sub(at) / 1000
                )),
                Some(_) => None,
            },
        }
    }
}

static LISTENERS: LazyLock<Mutex<HashMap<String, Listener>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));

fn with_listener(instance: &str, change: impl FnOnce(&mut Listener)) {
    if let Ok(mut listeners) = LISTENERS.lock()
        && let Some(l) = listeners.get_mut(instance)
    {
        change(l);
    }
}

/// `instance` takes updates in `mode`: until its listener reports in,
/// the process is not ready.
pub fn listener_expected(instance: &str, mode: ListenerMode, silence: Duration) {
    if let Ok(mut listeners) = LISTENERS.lock() {
        listeners.insert(
            instance.to_owned(),
            Listener {
                mode,
                silence: millis(silence),
                dispatching: false,
                webhook_set: false,
                last_poll: None,
            },
        );
    }
}

/// The dispatcher of `instance` started (`true`) or stopped (`false`).
pub fn listener_dispatching(instance: &str, up: bool) {
    with_listener(instance, |l| l.dispatching = up);
}

/// Telegram accepted the webhook of `instance`.
pub fn listener_webhook_set(instance: &str) {
    with_listener(instance, |l| l.webhook_set = true);
}

/// A `getUpdates` of `instance` succeeded at `now`.
pub fn listener_polled(instance: &str, now: Millis) {
    with_listener(instance, |l| l.last_poll = Some(now));
}

/// The listener of `instance` stopped for good (a clean shutdown).
pub fn listener_retired(instance: &str) {
    if let Ok(mut listeners) = LISTENERS.lock() {
        listeners.remove(instance);
    }
}

/// Why the update listener of `instance` is not taking updates, if it is
/// not. `None` too when the process has no listener.
pub fn listener_problem(instance: &str, now: Millis) -> Option<String> {
    let listeners = LISTENERS.lock().ok()?;
    listeners.get(instance)?.problem(now)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn polling(last_poll: Option<Millis>) -> Listener {
        Listener {
            mode: ListenerMode::Polling,
            silence: 120_000,
            dispatching: true,
            webhook_set: false,
            last_poll,
        }
    }

    #[test]
    fn a_bot_without_a_running_listener_is_not_ready() {
        let down = Listener {
            dispatching: false,
            ..polling(Some(1_000))
        };
        assert!(down.problem(1_000).is_some());
        let webhook = Listener {
            mode: ListenerMode::Webhook,
            ..polling(None)
        };
        assert!(webhook.problem(1_000).is_some(), "webhook not set yet");
        let set = Listener {
            webhook_set: true,
            ..webhook
        };
        assert_eq!(set.problem(1_000), None);
    }

    #[test]
    fn polling_is_ready_only_while_get_updates_keeps_succeeding() {
        assert!(polling(None).problem(1_000).is_some());
        assert_eq!(polling(Some(1_000)).problem(121_000), None);
        let stale = polling(Some(1_000)).problem(121_001);
        assert!(stale.is_some_and(|p| p.contains("120 s")));
    }
}
