//! Delivery: the codes to the buyer exactly once, under a `delivery_log`
//! row claimed before sending.
//!
//! A purchase in `delivering` is claimed under a lease like any engine
//! work. Its delivery row (UNIQUE per purchase) is created or found; each
//! message part is marked `sending` before it goes out and `pending` (or
//! `sent`) once Telegram confirms it. A part found `sending` on a claim, or
//! one whose send timed out, may have arrived: it is sent again once,
//! flagged as a re-send in the message and in the row. Telegram's 429 is a
//! reschedule after its `retry_after`, never a lost message; a buyer who
//! blocked the bot is recorded as `blocked` and can still see the codes in
//! `/orders`.
//!
//! Telegram types stay in `bot/`: delivery talks to a [`Notifier`].

mod moves;
pub mod refund;
pub mod render;

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::task::JoinHandle;

use crate::clock::{Millis, SharedClock, millis};
use crate::domain::{Code, DeadLetterReason, Language, Owner, PurchaseState};
use crate::engine::transitions;
use crate::i18n::{self, num};
use crate::runtime::{self, ClaimWork, Runtime, backoff};
use crate::store::{
    Cas, Delivery, DeliveryMove, DeliveryState, Purchase, RenderedParts, Store, StoreError,
};
use moves::PartSend;

pub use crate::clock::BoxFuture;

/// One message to a chat, in HTML parse mode.
#[derive(Clone, PartialEq, Eq)]
pub struct OutgoingMessage {
    pub chat_id: i64,
    pub html: String,
    /// Values for copy buttons under the message (may be empty).
    pub copy: Vec<String>,
}

impl std::fmt::Debug for OutgoingMessage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // It carries codes: never in a log line.
        f.debug_struct("OutgoingMessage")
            .field("chat_id", &self.chat_id)
            .field("chars", &self.html.chars().count())
            .finish_non_exhaustive()
    }
}

/// Why a message was not (or may not have been) delivered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// Telegram's 429: nothing was sent; try again after this long.
    #[error("rate limited; retry after {0:?}")]
    RetryAfter(Duration),
    /// 403: the buyer blocked the bot.
    #[error("the buyer blocked the bot")]
    Blocked,
    /// Definitely not sent (could not connect); try again later.
    #[error("not sent: {0}")]
    NotSent(String),
    /// May have arrived (a timeout or reset after sending).
    #[error("outcome unknown: {0}")]
    Unknown(String),
    /// Refused for good (a bad request, a chat that does not exist).
    #[error("refused: {0}")]
    Rejected(String),
}

/// What delivery needs from Telegram: send one message, get its id.
pub trait Notifier: Send + Sync + 'static {
    fn send<'a>(&'a self, message: &'a OutgoingMessage) -> BoxFuture<'a, Result<i64, SendError>>;
}

#[derive(Debug, Clone)]
pub struct DeliveryConfig {
    pub lease: Duration,
    /// First wait after a send that did not go; doubles up to a minute.
    pub retry: Duration,
    pub idle: Duration,
}

#[derive(Clone)]
pub struct Deliverer {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    notifier: Arc<dyn Notifier>,
    clock: SharedClock,
    cfg: DeliveryConfig,
}

type Result<T, E = StoreError> = std::result::Result<T, E>;

impl Deliverer {
    pub fn new(
        store: Store,
        notifier: Arc<dyn Notifier>,
        clock: SharedClock,
        cfg: DeliveryConfig,
    ) -> Self {
        Deliverer {
            inner: Arc::new(Inner {
                store,
                notifier,
                clock,
                cfg,
            }),
        }
    }

    /// Claims one purchase due for delivery and delivers it as far as it
    /// can go now. Returns how many were claimed (0 or 1).
    pub async fn deliver_once(&self, worker: &str) -> Result<usize> {
        runtime::claim_turn(self, worker).await
    }

    /// The delivery loop on `rt`.
    pub fn spawn(&self, rt: &Runtime) -> JoinHandle<()> {
        rt.claim_worker("delivery", self.inner.cfg.idle, self.clone())
    }
}

impl ClaimWork for Deliverer {
    type Error = StoreError;

    fn claims(&self) -> (&Store, &'static [PurchaseState], Duration) {
        let states = PurchaseState::owned_by(Owner::Delivery);
        (&self.inner.store, states, self.inner.cfg.lease)
    }

    fn now(&self) -> Millis {
        self.inner.now()
    }

    async fn work(&self, worker: &str, p: Purchase) -> Result<()> {
        self.inner.deliver(worker, &p).await
    }
}

/// The messages a delivery's claim stored, and their language.
fn stored_parts(d: &Delivery) -> Option<(Vec<render::Part>, Language)> {
    let parts: Vec<render::Part> = serde_json::from_str(d.parts.as_deref()?).ok()?;
    let language = Language::from_code(d.parts_language.as_deref());
    Some((parts, language))
}

/// What a claimed delivery calls for.
enum Plan {
    /// Nothing more to send: close the purchase.
    Finish,
    /// Send from the first unconfirmed part; `resend` flags that part.
    Send { resend: bool },
    /// A re-send's outcome was unknown too: a person decides.
    GiveUp,
}

fn plan(d: &Delivery) -> Plan {
    match d.state {
        DeliveryState::Sent | DeliveryState::Blocked => Plan::Finish,
        DeliveryState::Pending => Plan::Send { resend: false },
        // Found mid-send (the sender stopped) or timed out: it may have
        // arrived. Once more, flagged; never silently dropped.
        DeliveryState::Sending | DeliveryState::Unknown if !d.resent => Plan::Send { resend: true },
        DeliveryState::Sending | DeliveryState::Unknown => Plan::GiveUp,
    }
}

impl Inner {
    fn now(&self) -> Millis {
        self.clock.now_ms()
    }

    async fn deliver(&self, worker: &str, p: &Purchase) -> Result<()> {
        let Some(codes) = self.store.codes(p.id).await? else {
            return self
                .dead_letter(worker, p, DeadLetterReason::NoCodesStored)
                .await;
        };
        // Blank elements are not codes: a set with none usable is never
        // sent as a delivery (an empty list under "your order").
        if !codes.iter().any(Code::is_usable) {
            return self
                .dead_letter(worker, p, DeadLetterReason::NoUsableCode)
                .await;
        }
        let language = self.store.language_of(p.user_id).await?;
        let parent = self.store.reorder_parent(p.id).await?;
        let rendered = message_parts_for(p, language, &codes, parent);
        let json = serde_json::to_string(&rendered).map_err(|e| {
            StoreError::Corrupt(format!("purchase {}: rendering its codes: {e}", p.id))
        })?;
        let mut tx = self.store.begin().await?;
        let delivery = tx
            .claim_delivery(
                p.id,
                &RenderedParts {
                    json: &json,
                    total: i64::try_from(rendered.len()).unwrap_or(i64::MAX),
                    language: language.code(),
                },
                self.now(),
            )
            .await?;
        tx.commit().await?;
        // What the claim stored is what is sent: a resumed delivery sends
        // the parts it started with, in the language it started in.
        let Some((parts, language)) = stored_parts(&delivery) else {
            return self
                .dead_letter(worker, p, DeadLetterReason::StoredMessagesUnreadable)
                .await;
        };
        match plan(&delivery) {
            Plan::Finish => self.finish(worker, p, &delivery, None).await,
            Plan::Send { resend } => {
                self.send_parts(worker, p, delivery, &parts, resend, language)
                    .await
            }
            Plan::GiveUp => {
                self.dead_letter(worker, p, DeadLetterReason::SentTwiceUnconfirmed)
                    .await
            }
        }
    }

    /// Sends the parts not yet confirmed, one by one, each claimed in the
    /// log (`sending`) before it leaves.
    async fn send_parts(
        &self,
        worker: &str,
        p: &Purchase,
        mut d: Delivery,
        parts: &[render::Part],
        mut resend: bool,
        language: Language,
    ) -> Result<()> {
        while let Some(part) = usize::try_from(d.parts_sent)
            .ok()
            .and_then(|k| parts.get(k))
        {
            let send = PartSend::claimed(&d, resend);
            if !self.claim_part(worker, p, d.id, &send.claim).await? {
                return Ok(());
            }
            moves::follow(&mut d, &send.claim);
            let message = outgoing(p, part, resend, language);
            let sent = match self.notifier.send(&message).await {
                Ok(message_id) => send.arrived(message_id, parts.len()),
                Err(e) => return self.not_delivered(worker, p, &d, &send, e).await,
            };
            moves::follow(&mut d, &sent);
            if sent.to == DeliveryState::Sent {
                return self.finish(worker, p, &d, Some(sent)).await;
            }
            if !self.record(d.id, &sent).await? {
                return Ok(());
            }
            resend = false;
        }
        Ok(())
    }

    /// A part that did not (or may not) arrive: its row records why, then
    /// the purchase is closed (blocked), tried again later, or given to a
    /// person.
    async fn not_delivered(
        &self,
        worker: &str,
        p: &Purchase,
        d: &Delivery,
        send: &PartSend,
        e: SendError,
    ) -> Result<()> {
        match e {
            SendError::Blocked => self.finish(worker, p, d, Some(send.blocked())).await,
            SendError::RetryAfter(wait) => {
                self.record(d.id, &send.not_sent(None)).await?;
                let at = self.now().saturating_add(millis(wait));
                self.reschedule(worker, p, at, "Telegram rate limit").await
            }
            SendError::NotSent(why) => {
                self.record(d.id, &send.not_sent(Some(&why))).await?;
                let at = self.now().saturating_add(millis(self.backoff(p)));
                self.reschedule(worker, p, at, &why).await
            }
            SendError::Unknown(why) => {
                self.record(d.id, &send.in_doubt(&why)).await?;
                let at = self.now().saturating_add(millis(self.cfg.retry));
                self.reschedule(worker, p, at, &why).await
            }
            SendError::Rejected(why) => {
                self.record(d.id, &send.refused(&why)).await?;
                let reason = DeadLetterReason::CodesMessageRefused(why);
                self.dead_letter(worker, p, reason).await
            }
        }
    }

    /// Marks the next part `sending`, with the purchase's lease renewed.
    async fn claim_part(
        &self,
        worker: &str,
        p: &Purchase,
        delivery: i64,
        claim: &DeliveryMove,
    ) -> Result<bool> {
        let until = self.now().saturating_add(millis(self.cfg.lease));
        if !self.store.renew_lease(p, worker, until).await?.applied() {
            return Ok(false);
        }
        self.record(delivery, claim).await
    }

    async fn record(&self, delivery: i64, m: &DeliveryMove) -> Result<bool> {
        let mut tx = self.store.begin().await?;
        let moved = tx.move_delivery(delivery, m, self.now()).await?;
        tx.commit().await?;
        if moved == Cas::LostRace {
            tracing::info!(delivery, "delivery row moved on; another sender owns it");
        }
        Ok(moved.applied())
    }

    /// Closes the purchase as delivered. The log's last move (the part that
    /// was sent) is committed first, on its own: if the purchase moved on
    /// meanwhile and the close loses its race, the record of the send stays.
    async fn finish(
        &self,
        worker: &str,
        p: &Purchase,
        d: &Delivery,
        last: Option<DeliveryMove>,
    ) -> Result<()> {
        let now = self.now();
        let blocked = last
            .as_ref()
            .map_or(d.state == DeliveryState::Blocked, |m| {
                m.to == DeliveryState::Blocked
            });
        let detail = json!({
            "parts": d.parts_sent,
            "resent": d.resent || last.as_ref().is_some_and(|m| m.resent),
            "blocked": blocked,
        });
        let t = transitions::delivered(p, detail).by(worker);
        if let Some(m) = &last
            && !self.record(d.id, m).await?
        {
            return Ok(());
        }
        if !self.store.transition(&t, now).await?.applied() {
            tracing::info!(
                purchase = p.id,
                "purchase moved on; the send stays recorded"
            );
            return Ok(());
        }
        tracing::info!(purchase = p.id, blocked, "codes delivered");
        Ok(())
    }

    async fn reschedule(&self, worker: &str, p: &Purchase, at: Millis, why: &str) -> Result<()> {
        let t = transitions::reschedule(p, at, why).by(worker);
        let _ = self.store.transition(&t, self.now()).await?;
        Ok(())
    }

    async fn dead_letter(
        &self,
        worker: &str,
        p: &Purchase,
        reason: DeadLetterReason,
    ) -> Result<()> {
        let mut tx = self.store.begin().await?;
        if crate::engine::dead_letter_in(&mut tx, worker, p, &reason, Value::Null, self.now())
            .await?
        {
            tx.commit().await?;
            tracing::warn!(purchase = p.id, reason = %reason, "delivery dead-lettered");
        }
        Ok(())
    }

    fn backoff(&self, p: &Purchase) -> Duration {
        backoff(self.cfg.retry, Duration::from_secs(60), p.fence, p.id)
    }
}

/// The message for one part; a re-send says so first, in the buyer's
/// language.
fn outgoing(
    p: &Purchase,
    part: &render::Part,
    resend: bool,
    language: Language,
) -> OutgoingMessage {
    let html = if resend {
        let flag = i18n::text(language, "delivery-resent", &[]);
        format!("{flag}\n{}", part.html)
    } else {
        part.html.clone()
    };
    OutgoingMessage {
        chat_id: p.chat_id,
        html,
        copy: part.copy.clone(),
    }
}

/// The delivery's messages: a header in the buyer's language, the codes,
/// and "part n of m" when it takes more than one.
pub fn message_parts(p: &Purchase, language: Language, codes: &[Code]) -> Vec<render::Part> {
    message_parts_for(p, language, codes, None)
}

/// [`message_parts`] for a purchase that may be the re-order of the units
/// missing from `parent`. Only usable codes are shown; when fewer arrived
/// than were ordered, the first part says how many of how many, and that
/// the shop is getting the rest.
pub fn message_parts_for(
    p: &Purchase,
    language: Language,
    codes: &[Code],
    parent: Option<i64>,
) -> Vec<render::Part> {
    let codes: Vec<Code> = codes.iter().filter(|c| c.is_usable()).cloned().collect();
    let codes = codes.as_slice();
    let ordered = p.quantity.get();
    let arrived = i64::try_from(codes.len()).unwrap_or(i64::MAX).min(ordered);
    let mut notes = Vec::new();
    if let Some(parent) = parent {
        notes.push(i18n::text(
            language,
            "delivery-reorder",
            &[("parent", num(parent))],
        ));
    }
    if arrived < ordered {
        notes.push(i18n::text(
            language,
            "delivery-partial",
            &[("arrived", num(arrived)), ("ordered", num(ordered))],
        ));
    }
    let mut parts = message_parts_plain(p, language, codes);
    if let Some(first) = parts.first_mut()
        && !notes.is_empty()
    {
        first.html = format!("{}\n{}", notes.join("\n"), first.html);
    }
    parts
}

fn message_parts_plain(p: &Purchase, language: Language, codes: &[Code]) -> Vec<render::Part> {
    let header = i18n::text(
        language,
        "delivery-header",
        &[
            ("purchase", num(p.id)),
            ("product", i18n::arg(&render::escape(&p.product_name))),
            ("quantity", num(p.quantity.get())),
        ],
    );
    let mut parts = render::render(&header, codes, language);
    let total = parts.len();
    if total > 1 {
        for (n, part) in parts.iter_mut().enumerate() {
            let label = i18n::text(
                language,
                "delivery-part",
                &[("n", num(n as i64 + 1)), ("total", num(total as i64))],
            );
            part.html = format!("{label}\n{}", part.html);
        }
    }
    parts
}
