//! Taking Telegram's updates, supervised: Telegram being down at start or
//! later never leaves the shop deaf. Every call that can fail (`getMe`,
//! `deleteWebhook`, `setWebhook`, `getUpdates`) is tried again with a
//! capped, jittered backoff until Telegram answers or the process stops; a
//! panic restarts the loop (`Runtime::supervise`). `/readyz` hears how it
//! goes through `runtime::health`.
//!
//! Updates reach teloxide's dispatcher through one channel, whatever their
//! source: our own long-polling loop (teloxide's `Polling` gives no sign
//! of an empty poll's success, which `/readyz` needs), or the webhook
//! route. The dispatcher can then be built again after a failed `getMe`
//! without losing the source.

use std::convert::Infallible;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use futures::{Stream, StreamExt};
use teloxide::RequestError;
use teloxide::prelude::*;
use teloxide::stop::{StopFlag, StopToken, mk_stop_token};
use teloxide::update_listeners::{AsUpdateStream, UpdateListener};
use tokio::sync::{Mutex, OwnedMutexGuard, mpsc, watch};
use tokio::task::JoinHandle;

use super::telegram::describe;
use super::{Shop, allowed_updates, schema};
use crate::clock::Clock;
use crate::runtime::Runtime;
use crate::runtime::health::{self, ListenerMode};

/// The longest a long poll waits at Telegram: under the HTTP client's own
/// 17 s timeout (teloxide's default), or every idle poll would fail.
const LONG_POLL_SECS: u32 = 10;
/// First pause after a failed call; doubled per failure up to `RETRY_MAX`.
const RETRY_FIRST: Duration = Duration::from_millis(500);
const RETRY_MAX: Duration = Duration::from_secs(30);
/// How long the first `setWebhook` may hold up the start.
const FIRST_SET_WEBHOOK: Duration = Duration::from_secs(5);

/// Updates on their way to the dispatcher. One at a time: a batch is
/// confirmed to Telegram (by the next `getUpdates`) only once the
/// dispatcher has taken all of it.
type Inbox = Arc<Mutex<mpsc::Receiver<Update>>>;

/// Long polling until `shutdown`: `getUpdates` in one loop, the
/// dispatcher in another, each restarted until the process stops. `/readyz`
/// fails until both run, and whenever `getUpdates` has not succeeded for
/// `silence`.
pub fn run_polling(bot: Bot, shop: Shop, silence: Duration, rt: &Runtime) -> JoinHandle<()> {
    let instance = shop.instance_id.clone();
    health::listener_expected(&instance, ListenerMode::Polling, silence);
    let (sender, inbox) = mpsc::channel(1);
    let inbox: Inbox = Arc::new(Mutex::new(inbox));
    let long_poll = long_poll_secs(silence);
    let polling = {
        let (bot, instance) = (bot.clone(), instance.clone());
        rt.supervise(format!("{instance}/telegram-polling"), move |stop| {
            poll(
                bot.clone(),
                sender.clone(),
                long_poll,
                instance.clone(),
                stop,
            )
        })
    };
    let dispatcher = dispatching(bot, shop, inbox, rt);
    tokio::spawn(async move {
        let _ = tokio::join!(polling, dispatcher);
        health::listener_retired(&instance);
    })
}

/// Webhook mode: the webhook is set (tried again until Telegram takes it)
/// and the updates the route receives are dispatched until `shutdown`.
/// `/readyz` fails until the dispatcher runs and the webhook is set.
pub async fn run_webhook<L>(
    bot: Bot,
    shop: Shop,
    route: L,
    url: reqwest::Url,
    secret: String,
    rt: &Runtime,
) -> JoinHandle<()>
where
    L: UpdateListener<Err = Infallible> + Send + 'static,
{
    let instance = shop.instance_id.clone();
    health::listener_expected(&instance, ListenerMode::Webhook, Duration::ZERO);
    // Tried once before the start goes on, so that a healthy start has its
    // webhook set when `App::build` returns.
    let set = tokio::time::timeout(FIRST_SET_WEBHOOK, set_webhook(&bot, &url, &secret))
        .await
        .is_ok_and(|answer| answer.is_ok());
    if set {
        health::listener_webhook_set(&instance);
    }
    let (sender, inbox) = mpsc::channel(1);
    let inbox: Inbox = Arc::new(Mutex::new(inbox));
    let webhook = {
        let (bot, instance, mut stop) = (bot.clone(), instance.clone(), rt.stopped());
        async move {
            let mut failures = 0;
            while !set && !*stop.borrow() {
                match set_webhook(&bot, &url, &secret).await {
                    Ok(()) => {
                        health::listener_webhook_set(&instance);
                        tracing::info!("the webhook is set");
                        return;
                    }
                    Err(e) => {
                        failures += 1;
                        tracing::warn!(error = %describe(&e), failures, "cannot set the webhook; trying again");
                        pause(&mut stop, failures).await;
                    }
                }
            }
        }
    };
    let dispatcher = dispatching(bot, shop, inbox, rt);
    let forwarding = forward(route, sender, rt.stopped());
    tokio::spawn(async move {
        let _ = tokio::join!(webhook, forwarding, dispatcher);
        health::listener_retired(&instance);
    })
}

async fn set_webhook(bot: &Bot, url: &reqwest::Url, secret: &str) -> Result<(), RequestError> {
    bot.set_webhook(url.clone())
        .secret_token(secret.to_owned())
        .allowed_updates(allowed_updates())
        .await
        .map(|_| ())
}

/// The webhook route's updates into the inbox, until `shutdown`.
async fn forward<L>(mut route: L, inbox: mpsc::Sender<Update>, mut stop: watch::Receiver<bool>)
where
    L: UpdateListener<Err = Infallible> + Send,
{
    let updates = route.as_stream();
    tokio::pin!(updates);
    loop {
        let update = tokio::select! {
            u = updates.next() => u,
            _ = stop.wait_for(|s| *s) => return,
        };
        let Some(Ok(update)) = update else { return };
        tokio::select! {
            sent = inbox.send(update) => if sent.is_err() { return },
            _ = stop.wait_for(|s| *s) => return,
        }
    }
}

/// The long poll: Telegram waits this long (whole seconds, at least 1) for
/// an update; well inside `silence`, so an idle poll keeps `/readyz` green.
fn long_poll_secs(silence: Duration) -> u32 {
    let third = u32::try_from(silence.as_secs() / 3).unwrap_or(u32::MAX);
    third.clamp(1, LONG_POLL_SECS)
}

/// `getUpdates` until `stop`, every update handed to the dispatcher before
/// the next call confirms it. Never gives up on a failure.
async fn poll(
    bot: Bot,
    inbox: mpsc::Sender<Update>,
    long_poll: u32,
    instance: String,
    mut stop: watch::Receiver<bool>,
) {
    let mut failures: i64 = 0;
    let mut webhook_deleted = false;
    let mut polled = false;
    // The next `getUpdates` confirms every update below it.
    let mut offset: i32 = 0;
    let mut asked_offset: i32 = 0;
    while !*stop.borrow() {
        if !webhook_deleted {
            // Telegram refuses getUpdates while a webhook is set.
            match bot.delete_webhook().await {
                Ok(_) => webhook_deleted = true,
                Err(e) => {
                    failures += 1;
                    tracing::warn!(error = %describe(&e), failures, "cannot delete the webhook; trying again");
                    pause_or_wait(&mut stop, failures, &e).await;
                    continue;
                }
            }
        }
        // After a start or a failure, a poll that answers at once: a
        // working Telegram shows in `/readyz` without waiting a long poll.
        let wait = if failures == 0 && polled {
            long_poll
        } else {
            0
        };
        asked_offset = offset;
        let answer = tokio::select! {
            a = get_updates(&bot, offset, wait) => a,
            _ = stop.wait_for(|s| *s) => break,
        };
        let batch = match answer {
            Ok(batch) => batch,
            Err(e) => {
                failures += 1;
                tracing::warn!(error = %describe(&e), failures, "getUpdates failed; trying again");
                pause_or_wait(&mut stop, failures, &e).await;
                continue;
            }
        };
        failures = 0;
        polled = true;
        health::listener_polled(&instance, crate::clock::SystemClock.now_ms());
        match hand_over(&inbox, batch, &mut stop).await {
            Handed::Taken(Some(next)) => offset = next,
            Handed::Taken(None) => {}
            Handed::Stopping => break,
            Handed::Gone => return,
        }
    }
    // What the dispatcher took is confirmed, so that the next start does
    // not see it again (its handlers are safe to run twice if it does).
    if offset != asked_offset {
        let confirm = bot.get_updates().offset(offset).timeout(0).limit(1);
        let _ = tokio::time::timeout(Duration::from_secs(5), confirm.send()).await;
    }
}

/// One `getUpdates` from `offset` (confirming everything below it),
/// waiting at Telegram up to `wait` seconds for an update.
async fn get_updates(bot: &Bot, offset: i32, wait: u32) -> Result<Vec<Update>, RequestError> {
    bot.get_updates()
        .offset(offset)
        .timeout(wait)
        .allowed_updates(allowed_updates())
        .send()
        .await
}

/// How a batch of updates went to the dispatcher.
enum Handed {
    /// All taken: the next poll asks from this offset (none for an empty
    /// batch).
    Taken(Option<i32>),
    /// The process is stopping.
    Stopping,
    /// The dispatcher is gone.
    Gone,
}

/// Hands a batch to the dispatcher, one at a time, and waits until it
/// took the last one (the slot is free again).
async fn hand_over(
    inbox: &mpsc::Sender<Update>,
    batch: Vec<Update>,
    stop: &mut watch::Receiver<bool>,
) -> Handed {
    let last = batch.last().map(|u| u.id.as_offset());
    for update in batch {
        tokio::select! {
            sent = inbox.send(update) => if sent.is_err() { return Handed::Gone },
            _ = stop.wait_for(|s| *s) => break,
        }
    }
    let taken = tokio::select! {
        permit = inbox.reserve() => permit.is_ok(),
        _ = stop.wait_for(|s| *s) => false,
    };
    match (taken, last) {
        (true, next) => Handed::Taken(next),
        (false, _) if *stop.borrow() => Handed::Stopping,
        (false, _) => Handed::Gone,
    }
}

/// The dispatcher, built again whenever it stops (its `getMe` failed)
/// until the runtime stops.
fn dispatching(bot: Bot, shop: Shop, inbox: Inbox, rt: &Runtime) -> JoinHandle<()> {
    let instance = shop.instance_id.clone();
    let name = format!("{instance}/telegram-dispatcher");
    rt.supervise(name, move |mut stop| {
        let (bot, shop, inbox, instance) =
            (bot.clone(), shop.clone(), inbox.clone(), instance.clone());
        async move {
            let mut failures: i64 = 0;
            while !*stop.borrow() {
                let outcome = dispatch(&bot, &shop, &inbox, stop.clone()).await;
                health::listener_dispatching(&instance, false);
                if *stop.borrow() {
                    break;
                }
                failures += 1;
                match outcome {
                    Ok(()) => tracing::warn!(failures, "the dispatcher stopped; starting it again"),
                    Err(e) => tracing::warn!(
                        error = %describe(&e),
                        failures,
                        "Telegram did not answer getMe; trying again"
                    ),
                }
                pause(&mut stop, failures).await;
            }
        }
    })
}

/// One dispatcher over the inbox, until `stop` or until its start fails.
async fn dispatch(
    bot: &Bot,
    shop: &Shop,
    inbox: &Inbox,
    mut stop: watch::Receiver<bool>,
) -> Result<(), RequestError> {
    let updates = Arc::clone(inbox).lock_owned().await;
    let (token, flag) = mk_stop_token();
    let listener = Inboxed {
        updates,
        token,
        flag,
        instance: shop.instance_id.clone(),
    };
    let mut dispatcher = Dispatcher::builder(bot.clone(), schema())
        .dependencies(dptree::deps![shop.clone()])
        .default_handler(|_| async {})
        .error_handler(LoggingErrorHandler::with_custom_text("a handler failed"))
        .build();
    let token = dispatcher.shutdown_token();
    let stopper = tokio::spawn(async move {
        let _ = stop.wait_for(|stop| *stop).await;
        // It may still be asking getMe: ask again until it listens (the
        // task is ended once the dispatcher returns).
        loop {
            if let Ok(done) = token.shutdown() {
                done.await;
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    });
    let outcome = dispatcher
        .try_dispatch_with_listener(
            listener,
            LoggingErrorHandler::with_custom_text("the update listener failed"),
        )
        .await;
    stopper.abort();
    outcome
}

/// The inbox as teloxide's update listener.
struct Inboxed {
    updates: OwnedMutexGuard<mpsc::Receiver<Update>>,
    token: StopToken,
    flag: StopFlag,
    instance: String,
}

impl UpdateListener for Inboxed {
    type Err = Infallible;

    fn stop_token(&mut self) -> StopToken {
        self.token.clone()
    }
}

impl<'a> AsUpdateStream<'a> for Inboxed {
    type StreamErr = Infallible;
    type Stream = Pin<Box<dyn Stream<Item = Result<Update, Infallible>> + Send + 'a>>;

    fn as_stream(&'a mut self) -> Self::Stream {
        // Asked for once Telegram answered the dispatcher's getMe.
        health::listener_dispatching(&self.instance, true);
        let flag = Box::pin(self.flag.clone());
        let updates = &mut *self.updates;
        Box::pin(futures::stream::unfold(
            (updates, flag),
            |(updates, mut flag)| async move {
                tokio::select! {
                    biased;
                    () = flag.as_mut() => None,
                    u = updates.recv() => u.map(|u| (Ok(u), (updates, flag))),
                }
            },
        ))
    }
}

/// Waits the backoff for the `failures`-th failure in a row (or less, if
/// the process stops).
pub(super) async fn pause(stop: &mut watch::Receiver<bool>, failures: i64) {
    let salt = i64::from(std::process::id()).wrapping_add(crate::clock::SystemClock.now_ms());
    let wait = crate::runtime::backoff(RETRY_FIRST, RETRY_MAX, failures, salt);
    tokio::select! {
        () = tokio::time::sleep(wait) => {}
        _ = stop.wait_for(|s| *s) => {}
    }
}

/// [`pause`], or Telegram's own `retry_after` when it gave one.
async fn pause_or_wait(stop: &mut watch::Receiver<bool>, failures: i64, e: &RequestError) {
    match e {
        RequestError::RetryAfter(s) => {
            tokio::select! {
                () = tokio::time::sleep(s.duration()) => {}
                _ = stop.wait_for(|s| *s) => {}
            }
        }
        _ => pause(stop, failures).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_idle_long_poll_ends_well_inside_the_silence_readyz_allows() {
        assert_eq!(long_poll_secs(Duration::from_secs(120)), LONG_POLL_SECS);
        assert_eq!(long_poll_secs(Duration::from_secs(3)), 1);
        assert_eq!(long_poll_secs(Duration::from_millis(500)), 1);
    }
}
