//! The fake's recorded state: updates waiting for the bot, chats and their
//! messages, queries, payments and star transactions, command menus, and
//! the fault scripts; behind one lock, every change announced.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};
use tokio::sync::watch;

use super::script::FaultRule;
use super::{
    Call, CallbackAnswer, CommandSet, PreCheckoutAnswer, Refund, SentInvoice, SentMessage, TgUser,
};

/// The update kinds Telegram sends when `allowed_updates` was never given or
/// was given empty: all but these three.
const NOT_SENT_BY_DEFAULT: [&str; 3] =
    ["chat_member", "message_reaction", "message_reaction_count"];

pub(super) struct Shared {
    pub(super) token: String,
    /// The bot's `User` object.
    pub(super) bot: Value,
    pub(super) state: Mutex<State>,
    /// Bumped after every change; waiters and long polls subscribe.
    pub(super) changes: watch::Sender<u64>,
}

impl Shared {
    pub(super) fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Changes the state and wakes everyone waiting on a change.
    pub(super) fn mutate<T>(&self, change: impl FnOnce(&mut State) -> T) -> T {
        let out = change(&mut self.lock());
        self.changes
            .send_modify(|version| *version = version.wrapping_add(1));
        out
    }
}

#[derive(Default)]
pub(super) struct State {
    pub(super) calls: Vec<Call>,
    pub(super) unauthorized: usize,
    pub(super) clock_offset: Duration,
    pub(super) counter: u64,

    // Updates.
    pub(super) next_update_id: i64,
    pub(super) pending: VecDeque<PendingUpdate>,
    pub(super) dropped: Vec<Value>,
    /// The bot's current `allowed_updates` (`None`: never given, or empty).
    pub(super) allowed_updates: Option<Vec<String>>,
    pub(super) allowed_updates_seen: Vec<Vec<String>>,
    /// Each `getUpdates` takes a ticket; an older one still waiting sees a
    /// newer ticket and ends with 409, as on Telegram.
    pub(super) poll_ticket: u64,
    pub(super) webhook: Option<String>,

    // Chats and messages.
    pub(super) chats: HashMap<i64, ChatState>,
    pub(super) blocked: HashSet<i64>,
    pub(super) limits: Option<(usize, usize)>,
    pub(super) sends_overall: VecDeque<Instant>,
    pub(super) sends_per_chat: HashMap<i64, VecDeque<Instant>>,

    // Queries and payments.
    pub(super) callback_queries: HashMap<String, bool>,
    pub(super) callback_answers: Vec<CallbackAnswer>,
    pub(super) pre_checkouts: HashMap<String, PendingPreCheckout>,
    pub(super) pre_checkout_answers: Vec<PreCheckoutAnswer>,
    pub(super) invoices: Vec<SentInvoice>,
    pub(super) payments: HashMap<String, Payment>,
    pub(super) refunds: Vec<Refund>,
    /// Star transactions, oldest first.
    pub(super) transactions: Vec<Value>,
    pub(super) transactions_oldest_first: bool,

    // Settings.
    pub(super) commands: BTreeMap<(String, String), CommandSet>,
    pub(super) menu_buttons: HashMap<Option<i64>, Value>,

    pub(super) faults: Vec<FaultRule>,
}

pub(super) struct PendingUpdate {
    pub(super) id: i64,
    pub(super) update: Value,
}

pub(super) struct ChatState {
    /// The `Chat` object.
    pub(super) chat: Value,
    /// Message ids are per chat and shared by both sides, as in a private chat.
    pub(super) last_message_id: i64,
    pub(super) messages: BTreeMap<i64, StoredMessage>,
}

pub(super) struct StoredMessage {
    /// The `Message` object as it stands now.
    pub(super) json: Value,
    pub(super) from_bot: bool,
    pub(super) raw_text: Option<String>,
    pub(super) parse_mode: Option<String>,
    pub(super) reply_markup: Option<Value>,
    pub(super) is_invoice: bool,
    pub(super) edits: usize,
    pub(super) deleted: bool,
    pub(super) reply_lost: bool,
}

impl StoredMessage {
    pub(super) fn view(&self, chat_id: i64, message_id: i64) -> SentMessage {
        SentMessage {
            chat_id,
            message_id,
            text: self.json["text"].as_str().map(str::to_owned),
            raw_text: self.raw_text.clone(),
            parse_mode: self.parse_mode.clone(),
            reply_markup: self.reply_markup.clone(),
            is_invoice: self.is_invoice,
            edits: self.edits,
            deleted: self.deleted,
            reply_lost: self.reply_lost,
        }
    }
}

pub(super) struct PendingPreCheckout {
    pub(super) pushed_at: Instant,
    pub(super) answered: bool,
}

pub(super) struct Payment {
    pub(super) user: Value,
    pub(super) user_id: i64,
    pub(super) payload: String,
    pub(super) amount: u32,
    pub(super) refunded: bool,
}

/// An error answer: `{"ok":false,"error_code":…,"description":…}`.
#[derive(Debug)]
pub(super) struct ApiError {
    pub(super) code: u16,
    pub(super) description: String,
    pub(super) retry_after: Option<u32>,
}

impl ApiError {
    pub(super) fn new(code: u16, description: impl Into<String>) -> Self {
        ApiError {
            code,
            description: description.into(),
            retry_after: None,
        }
    }

    pub(super) fn bad_request(what: impl std::fmt::Display) -> Self {
        Self::new(400, format!("Bad Request: {what}"))
    }

    pub(super) fn retry_after(secs: u32) -> Self {
        ApiError {
            code: 429,
            description: format!("Too Many Requests: retry after {secs}"),
            retry_after: Some(secs),
        }
    }
}

pub(super) type Answer = Result<Value, ApiError>;

impl State {
    pub(super) fn now(&self) -> Instant {
        Instant::now() + self.clock_offset
    }

    pub(super) fn unix_now(&self) -> i64 {
        let real = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        (real + self.clock_offset).as_secs() as i64
    }

    pub(super) fn new_query_id(&mut self, user_id: i64) -> String {
        self.counter += 1;
        // Telegram's query ids are long decimal strings.
        format!("{}{:08}", user_id.unsigned_abs(), self.counter)
    }

    pub(super) fn open_chat(&mut self, user: &TgUser) -> Value {
        self.chats
            .entry(user.id)
            .or_insert_with(|| ChatState {
                chat: user.private_chat(),
                last_message_id: 0,
                messages: BTreeMap::new(),
            })
            .chat
            .clone()
    }

    pub(super) fn next_message_id(&mut self, chat_id: i64) -> i64 {
        let chat = self.chats.get_mut(&chat_id).expect("chat opened first");
        chat.last_message_id += 1;
        chat.last_message_id
    }

    pub(super) fn store_user_message(&mut self, chat_id: i64, message_id: i64, json: Value) {
        let chat = self.chats.get_mut(&chat_id).expect("chat opened first");
        chat.messages.insert(
            message_id,
            StoredMessage {
                raw_text: json["text"].as_str().map(str::to_owned),
                json,
                from_bot: false,
                parse_mode: None,
                reply_markup: None,
                is_invoice: false,
                edits: 0,
                deleted: false,
                reply_lost: false,
            },
        );
    }

    pub(super) fn store_bot_message(
        &mut self,
        chat_id: i64,
        message_id: i64,
        json: Value,
        fill: impl FnOnce(&mut StoredMessage),
    ) {
        let mut stored = StoredMessage {
            json,
            from_bot: true,
            raw_text: None,
            parse_mode: None,
            reply_markup: None,
            is_invoice: false,
            edits: 0,
            deleted: false,
            reply_lost: false,
        };
        fill(&mut stored);
        let chat = self.chats.get_mut(&chat_id).expect("chat exists");
        chat.messages.insert(message_id, stored);
    }

    pub(super) fn push_update(&mut self, mut update: Value) -> i64 {
        if self.next_update_id == 0 {
            // Telegram's ids start anywhere; start high enough to be
            // visible, and apart for each fake (a shop remembers the ids it
            // handled, so a second fake on one database must not reuse them).
            let spread = uuid::Uuid::new_v4().as_u128() % 100_000_000;
            self.next_update_id = 100_000_001 + spread as i64 * 10;
        }
        let id = self.next_update_id;
        self.next_update_id += 1;
        update["update_id"] = json!(id);
        self.pending.push_back(PendingUpdate { id, update });
        id
    }

    pub(super) fn record_payment(
        &mut self,
        user: &TgUser,
        payload: &str,
        amount: u32,
        charge_id: &str,
    ) {
        if self.payments.contains_key(charge_id) {
            return;
        }
        let date = self.unix_now();
        self.payments.insert(
            charge_id.to_owned(),
            Payment {
                user: user.to_json(),
                user_id: user.id,
                payload: payload.to_owned(),
                amount,
                refunded: false,
            },
        );
        self.transactions.push(json!({
            "id": charge_id,
            "amount": amount,
            "date": date,
            "source": {
                "type": "user",
                "user": user.to_json(),
                "transaction_type": "invoice_payment",
                "invoice_payload": payload,
            }
        }));
    }

    /// The update kinds the bot receives now: Telegram's default when it
    /// never gave `allowed_updates` or gave an empty list.
    pub(super) fn allows(&self, kind: &str) -> bool {
        match &self.allowed_updates {
            Some(list) => list.iter().any(|k| k == kind),
            None => !NOT_SENT_BY_DEFAULT.contains(&kind),
        }
    }

    /// Applies an offset: a positive one confirms (forgets) every update
    /// below it; a negative one keeps only the last `-offset` updates.
    pub(super) fn confirm(&mut self, offset: Option<i64>) {
        match offset {
            Some(offset) if offset > 0 => self.pending.retain(|u| u.id >= offset),
            Some(offset) if offset < 0 => {
                let keep = offset.unsigned_abs() as usize;
                while self.pending.len() > keep {
                    self.pending.pop_front();
                }
            }
            _ => {}
        }
    }

    /// Up to `limit` unconfirmed updates the bot asked for. Updates of kinds
    /// it did not ask for are dropped for good. (Telegram filters when an
    /// update is created; filtering at delivery is stricter, so that a bot
    /// that forgets `pre_checkout_query` never sees one.)
    pub(super) fn deliverable(&mut self, limit: usize) -> Vec<Value> {
        let mut kept = VecDeque::with_capacity(self.pending.len());
        while let Some(pending) = self.pending.pop_front() {
            if self.allows(update_kind(&pending.update)) {
                kept.push_back(pending);
            } else {
                self.dropped.push(pending.update);
            }
        }
        self.pending = kept;
        self.pending
            .iter()
            .take(limit)
            .map(|u| u.update.clone())
            .collect()
    }
}

/// The kind of an update: its one field besides `update_id`.
fn update_kind(update: &Value) -> &str {
    update
        .as_object()
        .and_then(|fields| fields.keys().find(|k| *k != "update_id"))
        .map_or("", String::as_str)
}
