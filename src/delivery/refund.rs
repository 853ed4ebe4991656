//! Refunds: the Stars back exactly once. A `refunds` row (UNIQUE per
//! purchase) is claimed before `refundStarPayment` is called; the call is
//! retried with backoff until Telegram confirms it, and "already refunded"
//! counts as confirmed. Then the buyer is told, in their language. A
//! purchase not paid in Stars (a manual or demo purchase) has nothing to
//! refund: it is closed as `cancelled` and the admins are told.

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use tokio::task::JoinHandle;

use super::{BoxFuture, Notifier, OutgoingMessage};
use crate::clock::{Millis, SharedClock, millis};
use crate::domain::{
    AlertKind, Args, DeadLetterReason, EventKind, HoldReason, Owner, Phrase, PurchaseSource,
    PurchaseState, RefundReason, UserId,
};
use crate::engine::transitions;
use crate::i18n::{self, arg, num};
use crate::runtime::{self, ClaimWork, Runtime, backoff};
use crate::store::{NewRefund, Purchase, RefundState, Store, StoreError};

/// Why a refund call did not confirm.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RefundError {
    /// `CHARGE_ALREADY_REFUNDED`: done before; counts as confirmed.
    #[error("the charge was already refunded")]
    AlreadyRefunded,
    /// Telegram's 429.
    #[error("rate limited; retry after {0:?}")]
    RetryAfter(Duration),
    /// A passing failure (network, 5xx, timeout): try again.
    #[error("refund not confirmed: {0}")]
    Transient(String),
    /// Refused for good (an unknown charge, a wrong user).
    #[error("refund refused: {0}")]
    Rejected(String),
}

/// The key of the buyer's words for why `p` was refunded: its recorded
/// reason, except that a refund the engine made because a hold on the
/// shop's balance ran out says so (the buyer waited for it), rather than
/// the general "could not get it".
pub async fn buyer_reason_key(store: &Store, p: &Purchase) -> Result<String, StoreError> {
    let reason = store.refund_reason(p.id).await?;
    if reason == RefundReason::Supplier && p.hold_reason == Some(HoldReason::Balance) {
        let events = store.events_of(p.id).await?;
        let last_refund = events
            .iter()
            .rev()
            .find(|e| e.kind == EventKind::RefundNeeded.as_str());
        if last_refund
            .is_some_and(|e| e.from_state.as_deref() == Some(PurchaseState::OnHold.as_str()))
        {
            return Ok("refund-reason-not-restocked".to_owned());
        }
    }
    Ok(i18n::refund_reason_key(reason))
}

/// What refunds need from Telegram.
pub trait Payments: Send + Sync + 'static {
    fn refund<'a>(
        &'a self,
        user: UserId,
        charge_id: &'a str,
    ) -> BoxFuture<'a, Result<(), RefundError>>;
}

#[derive(Debug, Clone)]
pub struct RefundConfig {
    pub lease: Duration,
    /// First wait after a failed call; doubles up to `max_retry`.
    pub retry: Duration,
    pub max_retry: Duration,
    pub idle: Duration,
}

#[derive(Clone)]
pub struct Refunder {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    payments: Arc<dyn Payments>,
    notifier: Arc<dyn Notifier>,
    clock: SharedClock,
    cfg: RefundConfig,
}

type Result<T, E = StoreError> = std::result::Result<T, E>;

impl Refunder {
    pub fn new(
        store: Store,
        payments: Arc<dyn Payments>,
        notifier: Arc<dyn Notifier>,
        clock: SharedClock,
        cfg: RefundConfig,
    ) -> Self {
        Refunder {
            inner: Arc::new(Inner {
                store,
                payments,
                notifier,
                clock,
                cfg,
            }),
        }
    }

    /// Claims one purchase due for a refund and works it. Returns how many
    /// were claimed (0 or 1).
    pub async fn refund_once(&self, worker: &str) -> Result<usize> {
        runtime::claim_turn(self, worker).await
    }

    /// The refunds loop on `rt`.
    pub fn spawn(&self, rt: &Runtime) -> JoinHandle<()> {
        rt.claim_worker("refunds", self.inner.cfg.idle, self.clone())
    }
}

impl ClaimWork for Refunder {
    type Error = StoreError;

    fn claims(&self) -> (&Store, &'static [PurchaseState], Duration) {
        let states = PurchaseState::owned_by(Owner::Refunds);
        (&self.inner.store, states, self.inner.cfg.lease)
    }

    fn now(&self) -> Millis {
        self.inner.now()
    }

    async fn work(&self, worker: &str, p: Purchase) -> Result<()> {
        self.inner.refund(worker, &p).await
    }
}

impl Inner {
    fn now(&self) -> Millis {
        self.clock.now_ms()
    }

    async fn refund(&self, worker: &str, p: &Purchase) -> Result<()> {
        let reason = p.last_error.clone().unwrap_or_default();
        let charge = match (p.source, p.telegram_charge_id.as_deref()) {
            (PurchaseSource::Telegram, Some(charge)) if p.stars > 0 => charge.to_owned(),
            _ => return self.cancel(worker, p, &reason).await,
        };
        let mut tx = self.store.begin().await?;
        let refund = tx
            .claim_refund(
                &NewRefund {
                    purchase_id: p.id,
                    telegram_charge_id: &charge,
                    stars: p.stars,
                    reason: &reason,
                },
                self.now(),
            )
            .await?;
        tx.commit().await?;
        if refund.state == RefundState::Confirmed {
            return self.confirmed(worker, p, refund.id, refund.tries).await;
        }
        match self.payments.refund(p.user_id, &charge).await {
            Ok(()) | Err(RefundError::AlreadyRefunded) => {
                self.confirmed(worker, p, refund.id, refund.tries).await
            }
            Err(RefundError::RetryAfter(wait)) => {
                self.retry(worker, p, refund.id, wait, "Telegram rate limit")
                    .await
            }
            Err(RefundError::Transient(why)) => {
                let wait = backoff(self.cfg.retry, self.cfg.max_retry, refund.tries, p.id);
                self.retry(worker, p, refund.id, wait, &why).await
            }
            Err(RefundError::Rejected(why)) => {
                let mut tx = self.store.begin().await?;
                tx.refund_failed(refund.id, &why).await?;
                tx.commit().await?;
                let reason = DeadLetterReason::StarsRefundRefused(why);
                self.dead_letter(worker, p, reason).await
            }
        }
    }

    async fn retry(
        &self,
        worker: &str,
        p: &Purchase,
        refund: i64,
        wait: Duration,
        why: &str,
    ) -> Result<()> {
        let now = self.now();
        let t = transitions::reschedule(p, now.saturating_add(millis(wait)), why).by(worker);
        let mut tx = self.store.begin().await?;
        tx.refund_failed(refund, why).await?;
        let _ = tx.transition(&t, now).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Confirmed: the refund row first, in its own commit (the Stars went
    /// back whatever happens to the purchase next), then the purchase, then
    /// the buyer hears.
    async fn confirmed(&self, worker: &str, p: &Purchase, refund: i64, tries: i64) -> Result<()> {
        let now = self.now();
        let t = transitions::refunded(p, json!({ "stars": p.stars, "tries": tries })).by(worker);
        let mut tx = self.store.begin().await?;
        tx.confirm_refund(refund, now).await?;
        tx.commit().await?;
        if !self.store.transition(&t, now).await?.applied() {
            tracing::info!(
                purchase = p.id,
                "purchase moved on; the refund stays recorded"
            );
            return Ok(());
        }
        tracing::info!(purchase = p.id, stars = p.stars, "Stars refunded");
        self.tell_buyer(p).await;
        Ok(())
    }

    /// Best effort: the refund itself is done and shows in the buyer's
    /// Telegram; a lost notice is logged, not retried.
    async fn tell_buyer(&self, p: &Purchase) {
        let language = match self.store.language_of(p.user_id).await {
            Ok(l) => l,
            Err(e) => {
                tracing::warn!(purchase = p.id, error = %e, "no language for the refund notice");
                return;
            }
        };
        let reason_key = buyer_reason_key(&self.store, p)
            .await
            .unwrap_or_else(|_| i18n::refund_reason_key(RefundReason::Supplier));
        let html = i18n::text(
            language,
            "refund-done",
            &[
                ("stars", num(p.stars)),
                ("purchase", num(p.id)),
                ("reason", arg(&i18n::text(language, &reason_key, &[]))),
            ],
        );
        let message = OutgoingMessage {
            chat_id: p.chat_id,
            html,
            copy: Vec::new(),
        };
        if let Err(e) = self.notifier.send(&message).await {
            tracing::warn!(purchase = p.id, error = %e, "the refund notice was not sent");
        }
    }

    /// Nothing to give back in Stars: closed, and the admins told.
    async fn cancel(&self, worker: &str, p: &Purchase, reason: &str) -> Result<()> {
        let now = self.now();
        let t = transitions::cancelled(p, reason).by(worker);
        let mut tx = self.store.begin().await?;
        if !tx.transition(&t, now).await?.applied() {
            return Ok(());
        }
        // Not paid in Stars: nothing went back, the admins settle it.
        let outcome = Phrase::new("alert-refund-by-hand")
            .num("purchase", p.id)
            .text("source", p.source.as_str())
            .text("reason", reason);
        let args = Args::new().phrase("outcome", outcome);
        tx.raise_alert(
            AlertKind::Refund,
            Some(p.id),
            Some(&format!("cancelled:{}", p.id)),
            &args,
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn dead_letter(
        &self,
        worker: &str,
        p: &Purchase,
        reason: DeadLetterReason,
    ) -> Result<()> {
        let mut tx = self.store.begin().await?;
        let value = serde_json::Value::Null;
        if crate::engine::dead_letter_in(&mut tx, worker, p, &reason, value, self.now()).await? {
            tx.commit().await?;
            tracing::warn!(purchase = p.id, reason = %reason, "refund dead-lettered");
        }
        Ok(())
    }
}
