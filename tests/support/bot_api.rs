//! A fake Telegram Bot API on 127.0.0.1, for tests that play the customer.
//!
//! The bot under test talks to it exactly as to Telegram: teloxide's
//! `Bot::new(token).set_api_url(url)` calls `POST {url}/bot{token}/{Method}`
//! with a JSON body and reads `{"ok":true,"result":…}` or
//! `{"ok":false,"error_code":N,"description":"…","parameters":{…}}`.
//! Method names are matched case-insensitively, as Telegram does (teloxide
//! sends `SendMessage`, the documentation says `sendMessage`).
//!
//! A test pushes updates as a customer ([`FakeBotApi::text`],
//! [`FakeBotApi::callback`], [`FakeBotApi::pre_checkout`],
//! [`FakeBotApi::successful_payment`]), reads what the bot did through typed
//! views ([`FakeBotApi::sent_messages`], [`FakeBotApi::invoices`],
//! [`FakeBotApi::refunds`], …), scripts faults per method and chat
//! ([`FakeBotApi::fault`]), and waits on any of it with a deadline
//! ([`FakeBotApi::wait`]): every change wakes the waiters, nothing polls.
//!
//! Objects carry every field teloxide-core 0.13 requires (`date`,
//! `chat.type`, `from.is_bot`, `from.first_name`, `Me.has_main_web_app`,
//! `Invoice.start_parameter`, `TransactionPartnerUser.transaction_type`, …).
//! Where the fake is stricter than Telegram, or guesses, the doc comment of
//! that part says so.
//!
//! Built on plain hyper rather than a framework so that a fault can close a
//! connection without any reply: that is how a send whose outcome the bot
//! cannot know looks from the bot's side.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, watch};
use tokio::task::{JoinHandle, JoinSet};

/// Telegram's limit on a message text: 1..=4096 characters after entity parsing.
pub const MAX_TEXT_CHARS: usize = 4096;
/// Telegram's limit on an inline button's `callback_data`: 1..=64 bytes.
pub const MAX_CALLBACK_DATA_BYTES: usize = 64;
/// Telegram drops a pre-checkout query not answered within 10 seconds.
pub const PRE_CHECKOUT_TIMEOUT: Duration = Duration::from_secs(10);

/// Telegram's answer to a query id it no longer knows (too old, already
/// answered, or never issued). It does not tell these cases apart.
pub const QUERY_TOO_OLD: &str =
    "Bad Request: query is too old and response timeout expired or query ID is invalid";
const BLOCKED: &str = "Forbidden: bot was blocked by the user";
const NOT_MODIFIED: &str = "Bad Request: message is not modified: specified new message content \
     and reply markup are exactly the same as a current content and reply markup of the message";

/// The update kinds Telegram sends when `allowed_updates` was never given or
/// was given empty: all but these three.
const NOT_SENT_BY_DEFAULT: [&str; 3] =
    ["chat_member", "message_reaction", "message_reaction_count"];

/// The methods the fake answers; anything else is 404, and recorded.
const METHODS: &[&str] = &[
    "getMe",
    "getUpdates",
    "deleteWebhook",
    "setWebhook",
    "getWebhookInfo",
    "setMyCommands",
    "getMyCommands",
    "deleteMyCommands",
    "setChatMenuButton",
    "getChatMenuButton",
    "sendMessage",
    "editMessageText",
    "editMessageReplyMarkup",
    "deleteMessage",
    "answerCallbackQuery",
    "sendInvoice",
    "answerPreCheckoutQuery",
    "refundStarPayment",
    "getStarTransactions",
    "sendChatAction",
];

// ---------------------------------------------------------------------------
// Public values
// ---------------------------------------------------------------------------

/// A Telegram user talking to the bot in a private chat (chat id = user id).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TgUser {
    pub id: i64,
    pub first_name: String,
    /// IETF tag from the user's Telegram client (`en`, `hi`…), if it sent one.
    pub language_code: Option<String>,
}

impl TgUser {
    pub fn new(id: i64, first_name: &str) -> Self {
        TgUser {
            id,
            first_name: first_name.to_owned(),
            language_code: None,
        }
    }

    pub fn with_language(mut self, code: &str) -> Self {
        self.language_code = Some(code.to_owned());
        self
    }

    /// The Bot API `User` object.
    pub fn to_json(&self) -> Value {
        let mut user = json!({"id": self.id, "is_bot": false, "first_name": self.first_name});
        if let Some(code) = &self.language_code {
            user["language_code"] = json!(code);
        }
        user
    }

    /// The Bot API `Chat` object of the private chat with this user.
    pub fn private_chat(&self) -> Value {
        json!({"id": self.id, "type": "private", "first_name": self.first_name})
    }
}

/// One call the bot made, whatever its outcome.
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    /// The method as documented (`sendMessage`), whatever case the bot used;
    /// an unknown method as the bot spelled it.
    pub method: String,
    /// The parameters (a JSON object; `{}` when none).
    pub body: Value,
}

/// A message the bot sent, as it stands now (edits applied in order).
#[derive(Debug, Clone, PartialEq)]
pub struct SentMessage {
    pub chat_id: i64,
    pub message_id: i64,
    /// What the customer sees: the text after entity parsing (HTML tags
    /// removed, `&lt;` `&gt;` `&amp;` `&quot;` and numeric entities decoded).
    /// `None` for an invoice.
    pub text: Option<String>,
    /// The text exactly as the bot sent it (in its last edit).
    pub raw_text: Option<String>,
    pub parse_mode: Option<String>,
    /// The `reply_markup` the bot sent (or set by its last edit).
    pub reply_markup: Option<Value>,
    /// Whether this is an invoice (see [`FakeBotApi::invoices`]).
    pub is_invoice: bool,
    /// How many edits (text or markup) were applied.
    pub edits: usize,
    pub deleted: bool,
    /// The message reached the chat but the bot never got the reply (a
    /// `lose_reply` fault): the bot cannot know it was sent.
    pub reply_lost: bool,
}

/// An inline keyboard button of a sent message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Button {
    pub text: String,
    pub callback_data: Option<String>,
    pub url: Option<String>,
}

impl SentMessage {
    /// The inline keyboard's buttons, row by row.
    pub fn buttons(&self) -> Vec<Button> {
        let rows = self
            .reply_markup
            .as_ref()
            .and_then(|m| m.get("inline_keyboard"))
            .and_then(Value::as_array);
        rows.into_iter()
            .flatten()
            .filter_map(Value::as_array)
            .flatten()
            .map(|b| Button {
                text: b["text"].as_str().unwrap_or_default().to_owned(),
                callback_data: b["callback_data"].as_str().map(str::to_owned),
                url: b["url"].as_str().map(str::to_owned),
            })
            .collect()
    }

    /// The `callback_data` of the first button whose text contains `label`.
    pub fn callback_data(&self, label: &str) -> Option<String> {
        self.buttons()
            .into_iter()
            .find(|b| b.text.contains(label))
            .and_then(|b| b.callback_data)
    }
}

/// An invoice the bot sent with `sendInvoice`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentInvoice {
    pub chat_id: i64,
    pub message_id: i64,
    pub title: String,
    pub description: String,
    pub payload: String,
    pub currency: String,
    /// `(label, amount)` of each `LabeledPrice`.
    pub prices: Vec<(String, u32)>,
    pub total_amount: u32,
}

/// The bot's answer to a pre-checkout query (only answers Telegram accepted).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreCheckoutAnswer {
    pub query_id: String,
    pub ok: bool,
    pub error_message: Option<String>,
}

/// The bot's answer to a callback query (only answers Telegram accepted).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallbackAnswer {
    pub query_id: String,
    pub text: Option<String>,
    pub show_alert: bool,
}

/// A refund Telegram carried out (the Stars went back to the user).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refund {
    pub user_id: i64,
    pub charge_id: String,
    pub amount: u32,
}

/// The commands set for one (scope, language) pair with `setMyCommands`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandSet {
    /// The `BotCommandScope` object (`{"type":"default"}` when not given).
    pub scope: Value,
    /// Empty for "all languages".
    pub language_code: String,
    /// `(command, description)` in the order given.
    pub commands: Vec<(String, String)>,
}

/// Why [`FakeBotApi::checkout`] did not end in a payment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckoutRefused {
    /// The bot's `error_message`, shown to the customer by Telegram.
    pub error_message: Option<String>,
}

/// What a scripted call answers instead of its normal reply.
#[derive(Debug, Clone, PartialEq)]
pub enum Fault {
    /// Telegram's flood control: 429 `Too Many Requests: retry after N` with
    /// `parameters.retry_after = N`. Nothing happens.
    RetryAfter(u32),
    /// Any error answer, e.g. `(500, "Internal Server Error")`. Nothing happens.
    Error { code: u16, description: String },
    /// The call takes effect (a message is sent, a refund made) but the
    /// connection is closed before any reply: a timeout with unknown outcome.
    LoseReply,
    /// The connection is closed before the call takes effect.
    LoseRequest,
    /// The call takes effect and the reply is withheld until the client
    /// gives up (its own timeout) or the fake shuts down.
    StallReply,
    /// The call is handled normally after this delay. A client that gives up
    /// meanwhile closes the connection and the call never takes effect.
    Delay(Duration),
}

/// A fault script being built: `api.fault("sendMessage").chat(7).times(2).retry_after(3)`.
/// It is installed by the final call (`answer`, `retry_after`, …).
#[must_use = "a fault is installed only by its final call (retry_after, lose_reply, …)"]
pub struct FaultScript<'a> {
    api: &'a FakeBotApi,
    method: String,
    chat: Option<i64>,
    times: Option<usize>,
}

impl FaultScript<'_> {
    /// Only calls whose `chat_id` (or `user_id`, for `refundStarPayment`) is `chat`.
    pub fn chat(mut self, chat: i64) -> Self {
        self.chat = Some(chat);
        self
    }

    /// The next `n` matching calls (default 1).
    pub fn times(mut self, n: usize) -> Self {
        self.times = Some(n);
        self
    }

    /// Every matching call from now on (until [`FakeBotApi::clear_faults`]).
    pub fn always(mut self) -> Self {
        self.times = None;
        self
    }

    pub fn answer(self, fault: Fault) {
        let rule = FaultRule {
            method: self.method.to_ascii_lowercase(),
            chat: self.chat,
            remaining: self.times,
            fault,
        };
        self.api.shared.mutate(|s| s.faults.push(rule));
    }

    pub fn retry_after(self, secs: u32) {
        self.answer(Fault::RetryAfter(secs));
    }

    pub fn error(self, code: u16, description: &str) {
        self.answer(Fault::Error {
            code,
            description: description.to_owned(),
        });
    }

    pub fn lose_reply(self) {
        self.answer(Fault::LoseReply);
    }

    pub fn lose_request(self) {
        self.answer(Fault::LoseRequest);
    }

    pub fn stall_reply(self) {
        self.answer(Fault::StallReply);
    }

    pub fn delay(self, by: Duration) {
        self.answer(Fault::Delay(by));
    }
}

// ---------------------------------------------------------------------------
// The server
// ---------------------------------------------------------------------------

/// The fake Bot API. Serves until dropped or [`FakeBotApi::shutdown`].
pub struct FakeBotApi {
    shared: Arc<Shared>,
    addr: SocketAddr,
    /// The accept loop; `None` once shut down.
    server: Option<JoinHandle<()>>,
}

impl Drop for FakeBotApi {
    fn drop(&mut self) {
        // Aborting the accept loop drops its JoinSet, which aborts every
        // connection (and every long poll) still open.
        if let Some(server) = &self.server {
            server.abort();
        }
    }
}

impl FakeBotApi {
    /// Starts serving on 127.0.0.1 (a free port) for the bot with `token`.
    /// The bot's id is the token's number before `:` (as in real tokens).
    pub async fn start(token: &str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the fake Bot API");
        let addr = listener.local_addr().expect("local address");
        let bot_id = token
            .split(':')
            .next()
            .and_then(|id| id.parse::<i64>().ok())
            .unwrap_or(4_200_000_001);
        let bot = json!({
            "id": bot_id,
            "is_bot": true,
            "first_name": "FoxBot",
            "username": "foxbot_test_bot",
        });
        let (changes, _) = watch::channel(0u64);
        let shared = Arc::new(Shared {
            token: token.to_owned(),
            bot,
            state: Mutex::new(State::default()),
            changes,
        });
        let server = tokio::spawn(serve(listener, Arc::clone(&shared)));
        FakeBotApi {
            shared,
            addr,
            server: Some(server),
        }
    }

    /// The base URL to give the bot (`TELEGRAM_API_URL`), without a trailing slash.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn token(&self) -> &str {
        &self.shared.token
    }

    /// The bot's own `User` object (the `from` of every message it sends).
    pub fn bot_user(&self) -> Value {
        self.shared.bot.clone()
    }

    /// Stops serving and closes every open connection; returns once the
    /// port is released.
    pub async fn shutdown(mut self) {
        if let Some(server) = self.server.take() {
            server.abort();
            // Resolves once the task's future, listener included, is dropped.
            let _ = server.await;
        }
    }

    // --- the customer's side -------------------------------------------

    /// The customer writes `text` in their private chat with the bot.
    /// A leading `/command` gets its `bot_command` entity, as Telegram adds.
    /// Returns the new message's id.
    pub fn text(&self, user: &TgUser, text: &str) -> i64 {
        self.shared.mutate(|s| {
            let chat = s.open_chat(user);
            let message_id = s.next_message_id(user.id);
            let mut message = json!({
                "message_id": message_id,
                "from": user.to_json(),
                "chat": chat,
                "date": s.unix_now(),
                "text": text,
            });
            if let Some(length) = leading_command_len(text) {
                message["entities"] =
                    json!([{"type": "bot_command", "offset": 0, "length": length}]);
            }
            s.store_user_message(user.id, message_id, message.clone());
            s.push_update(json!({"message": message}));
            message_id
        })
    }

    /// The customer presses an inline button carrying `data` under the bot's
    /// message `message_id`. The update carries that message as it stands
    /// now (an `InaccessibleMessage` with `date: 0` if the bot never sent it
    /// or deleted it, as Telegram does). Returns the callback query id.
    pub fn callback(&self, user: &TgUser, message_id: i64, data: &str) -> String {
        self.shared.mutate(|s| {
            let chat = s.open_chat(user);
            let id = s.new_query_id(user.id);
            let message = s
                .chats
                .get(&user.id)
                .and_then(|c| c.messages.get(&message_id))
                .filter(|m| m.from_bot && !m.deleted)
                .map(|m| m.json.clone())
                .unwrap_or_else(|| json!({"chat": chat, "message_id": message_id, "date": 0}));
            s.callback_queries.insert(id.clone(), false);
            s.push_update(json!({
                "callback_query": {
                    "id": id,
                    "from": user.to_json(),
                    "message": message,
                    "chat_instance": format!("{}", 7_000_000_000_000_000_000i64 + user.id),
                    "data": data,
                }
            }));
            id
        })
    }

    /// The customer presses a button carrying `data` on a message in another
    /// chat (`chat`, say a group the bot's message was forwarded to); the
    /// update carries it as an inaccessible message of that chat. Returns
    /// the callback query id.
    pub fn callback_in_chat(&self, user: &TgUser, chat: Value, data: &str) -> String {
        self.shared.mutate(|s| {
            let id = s.new_query_id(user.id);
            s.callback_queries.insert(id.clone(), false);
            s.push_update(json!({
                "callback_query": {
                    "id": id,
                    "from": user.to_json(),
                    "message": {"chat": chat, "message_id": 77, "date": 0},
                    "chat_instance": "1",
                    "data": data,
                }
            }));
            id
        })
    }

    /// Presses the button of `message` whose text contains `label`.
    /// Panics if there is no such button with callback data.
    pub fn press(&self, user: &TgUser, message: &SentMessage, label: &str) -> String {
        let data = message.callback_data(label).unwrap_or_else(|| {
            panic!(
                "no button {label:?} with callback data in message {}: {:?}",
                message.message_id,
                message.buttons()
            )
        });
        self.callback(user, message.message_id, &data)
    }

    /// The customer taps Pay on an invoice: Telegram asks the bot with a
    /// `pre_checkout_query` (currency `XTR`), which must be answered within
    /// [`PRE_CHECKOUT_TIMEOUT`]. Returns the query id.
    pub fn pre_checkout(&self, user: &TgUser, payload: &str, total_amount: u32) -> String {
        self.shared.mutate(|s| {
            s.open_chat(user);
            let id = s.new_query_id(user.id);
            let now = s.now();
            s.pre_checkouts.insert(
                id.clone(),
                PendingPreCheckout {
                    pushed_at: now,
                    answered: false,
                },
            );
            s.push_update(json!({
                "pre_checkout_query": {
                    "id": id,
                    "from": user.to_json(),
                    "currency": "XTR",
                    "total_amount": total_amount,
                    "invoice_payload": payload,
                }
            }));
            id
        })
    }

    /// Telegram took the Stars: a message with `successful_payment` in the
    /// customer's chat, and an incoming `StarTransaction` whose id is
    /// `charge_id` (pushing the same charge again sends the update again but
    /// records one transaction). Returns the message id.
    pub fn successful_payment(
        &self,
        user: &TgUser,
        payload: &str,
        total_amount: u32,
        charge_id: &str,
    ) -> i64 {
        self.shared.mutate(|s| {
            let chat = s.open_chat(user);
            s.record_payment(user, payload, total_amount, charge_id);
            let message_id = s.next_message_id(user.id);
            let message = json!({
                "message_id": message_id,
                "from": user.to_json(),
                "chat": chat,
                "date": s.unix_now(),
                "successful_payment": {
                    "currency": "XTR",
                    "total_amount": total_amount,
                    "invoice_payload": payload,
                    "telegram_payment_charge_id": charge_id,
                    // What Telegram puts here for Stars is not documented;
                    // the bot must not depend on it.
                    "provider_payment_charge_id": "",
                }
            });
            s.store_user_message(user.id, message_id, message.clone());
            s.push_update(json!({"message": message}));
            message_id
        })
    }

    /// A payment Telegram took whose update the bot never saw (it was
    /// confirmed by a poll and the process died): only
    /// `getStarTransactions` tells of it.
    pub fn record_star_payment(&self, user: &TgUser, payload: &str, amount: u32, charge_id: &str) {
        self.shared.mutate(|s| {
            s.open_chat(user);
            s.record_payment(user, payload, amount, charge_id);
        });
    }

    /// A fresh charge id shaped like Telegram's (`stx…`).
    pub fn new_charge_id(&self) -> String {
        self.shared.mutate(|s| {
            s.counter += 1;
            format!(
                "stxFAKE{:08}{:016x}",
                s.counter,
                s.counter.wrapping_mul(0x9E37_79B9_7F4A_7C15)
            )
        })
    }

    /// The whole payment as a customer lives it: pre-checkout, wait for the
    /// bot's answer (up to `deadline`), and on `ok` a `successful_payment`
    /// with a fresh charge id, which is returned.
    pub async fn checkout(
        &self,
        user: &TgUser,
        payload: &str,
        total_amount: u32,
        deadline: Duration,
    ) -> Result<String, CheckoutRefused> {
        let query_id = self.pre_checkout(user, payload, total_amount);
        let answer = self.wait_for_pre_checkout_answer(&query_id, deadline).await;
        if !answer.ok {
            return Err(CheckoutRefused {
                error_message: answer.error_message,
            });
        }
        let charge_id = self.new_charge_id();
        self.successful_payment(user, payload, total_amount, &charge_id);
        Ok(charge_id)
    }

    /// Queues a raw update. Its `update_id` is always assigned here (the next
    /// one); to model a duplicate delivery, push a copy of an earlier update.
    /// Returns the update id.
    pub fn push_update(&self, mut update: Value) -> i64 {
        self.shared.mutate(|s| {
            if let Some(fields) = update.as_object_mut() {
                fields.remove("update_id");
            }
            s.push_update(update)
        })
    }

    /// The chat answers 403 `Forbidden: bot was blocked by the user` to every
    /// `send*` method until [`FakeBotApi::unblock_chat`].
    pub fn block_chat(&self, chat_id: i64) {
        self.shared.mutate(|s| {
            s.blocked.insert(chat_id);
        });
    }

    pub fn unblock_chat(&self, chat_id: i64) {
        self.shared.mutate(|s| {
            s.blocked.remove(&chat_id);
        });
    }

    /// The user has started the bot without writing anything the test cares
    /// about: the bot may now send to them. (Sending to a user who never
    /// talked to the bot is 400 `chat not found`, as on Telegram.)
    pub fn open_chat(&self, user: &TgUser) {
        self.shared.mutate(|s| {
            s.open_chat(user);
        });
    }

    /// Moves the fake's clock forward: dates and query ages, not long polls.
    /// A pre-checkout query pushed more than 10 s (of this clock) ago is too
    /// old to answer.
    pub fn advance(&self, by: Duration) {
        self.shared.mutate(|s| s.clock_offset += by);
    }

    // --- faults ---------------------------------------------------------

    /// Starts a fault script for `method` (any case; `"*"` for every method).
    /// Scripts are consumed first in, first out; each call takes the first
    /// rule that matches it.
    pub fn fault(&self, method: &str) -> FaultScript<'_> {
        FaultScript {
            api: self,
            method: method.to_owned(),
            chat: None,
            times: Some(1),
        }
    }

    pub fn clear_faults(&self) {
        self.shared.mutate(|s| s.faults.clear());
    }

    /// Enforces Telegram's flood limits on sends (`sendMessage`,
    /// `sendInvoice`): more than `per_chat` in one chat, or `overall` in
    /// all chats, within one second answers 429 with `retry_after` (whole
    /// seconds, at least 1). Off by default. Telegram's real limits are
    /// about 1/s per chat (short bursts tolerated) and 30/s overall.
    pub fn enforce_send_limits(&self, per_chat: usize, overall: usize) {
        self.shared.mutate(|s| s.limits = Some((per_chat, overall)));
    }

    /// `getStarTransactions` lists newest first (the default, as Telegram
    /// answers in practice, although its documentation says "chronological
    /// order"), or oldest first: a bot's sweep should work with either.
    pub fn set_transactions_newest_first(&self, newest_first: bool) {
        self.shared
            .mutate(|s| s.transactions_oldest_first = !newest_first);
    }

    // --- what the bot did ------------------------------------------------

    /// Every call with the right token, in arrival order.
    pub fn all_calls(&self) -> Vec<Call> {
        self.shared.lock().calls.clone()
    }

    /// The calls of one method (any case).
    pub fn calls(&self, method: &str) -> Vec<Call> {
        self.shared
            .lock()
            .calls
            .iter()
            .filter(|c| c.method.eq_ignore_ascii_case(method))
            .cloned()
            .collect()
    }

    /// Calls that carried a wrong token (answered 401).
    pub fn unauthorized_calls(&self) -> usize {
        self.shared.lock().unauthorized
    }

    /// The messages the bot sent to `chat_id`, oldest first, as they stand
    /// now (edits applied; deleted ones kept and flagged).
    pub fn sent_messages(&self, chat_id: i64) -> Vec<SentMessage> {
        let state = self.shared.lock();
        state
            .chats
            .get(&chat_id)
            .map(|chat| {
                chat.messages
                    .iter()
                    .filter(|(_, m)| m.from_bot)
                    .map(|(&id, m)| m.view(chat_id, id))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The text of the last message (not deleted) the bot sent to `chat_id`.
    pub fn last_text(&self, chat_id: i64) -> Option<String> {
        self.sent_messages(chat_id)
            .into_iter()
            .rev()
            .find(|m| !m.deleted && m.text.is_some())
            .and_then(|m| m.text)
    }

    pub fn invoices(&self) -> Vec<SentInvoice> {
        self.shared.lock().invoices.clone()
    }

    pub fn pre_checkout_answers(&self) -> Vec<PreCheckoutAnswer> {
        self.shared.lock().pre_checkout_answers.clone()
    }

    pub fn callback_answers(&self) -> Vec<CallbackAnswer> {
        self.shared.lock().callback_answers.clone()
    }

    /// Refunds Telegram carried out (each charge at most once).
    pub fn refunds(&self) -> Vec<Refund> {
        self.shared.lock().refunds.clone()
    }

    /// Every `allowed_updates` list the bot gave to `getUpdates`, in order.
    pub fn allowed_updates_seen(&self) -> Vec<Vec<String>> {
        self.shared.lock().allowed_updates_seen.clone()
    }

    /// Whether the bot's current `allowed_updates` setting lets `kind`
    /// (e.g. `pre_checkout_query`) through.
    pub fn receives(&self, kind: &str) -> bool {
        self.shared.lock().allows(kind)
    }

    /// Updates dropped because the bot's `allowed_updates` excluded them.
    pub fn dropped_updates(&self) -> Vec<Value> {
        self.shared.lock().dropped.clone()
    }

    /// Updates pushed and not yet confirmed by the bot.
    pub fn pending_updates(&self) -> usize {
        self.shared.lock().pending.len()
    }

    /// The id of the last update pushed (0 before any).
    pub fn last_update_id(&self) -> i64 {
        self.shared.lock().next_update_id - 1
    }

    /// Whether the bot confirmed `update_id` (asked `getUpdates` with a
    /// higher offset).
    pub fn is_confirmed(&self, update_id: i64) -> bool {
        let state = self.shared.lock();
        update_id < state.next_update_id && !state.pending.iter().any(|u| u.id == update_id)
    }

    pub fn command_sets(&self) -> Vec<CommandSet> {
        self.shared.lock().commands.values().cloned().collect()
    }

    /// The commands of the default scope for `language_code` (`""`: all languages).
    pub fn my_commands(&self, language_code: &str) -> Option<Vec<(String, String)>> {
        let key = (
            scope_key(&json!({"type": "default"})),
            language_code.to_owned(),
        );
        self.shared
            .lock()
            .commands
            .get(&key)
            .map(|set| set.commands.clone())
    }

    pub fn webhook_url(&self) -> Option<String> {
        self.shared.lock().webhook.clone()
    }

    // --- waiting ---------------------------------------------------------

    /// Re-evaluates `check` after every change to the fake (a call, a push,
    /// a fault script) until it returns `Some`, or panics after `deadline`
    /// naming `what` and listing the calls seen. Never sleeps blindly.
    pub async fn wait<T>(
        &self,
        what: &str,
        deadline: Duration,
        mut check: impl FnMut(&Self) -> Option<T>,
    ) -> T {
        // Subscribe before the first check so that no change is missed.
        let mut changes = self.shared.changes.subscribe();
        let until = tokio::time::Instant::now() + deadline;
        loop {
            if let Some(found) = check(self) {
                return found;
            }
            match tokio::time::timeout_at(until, changes.changed()).await {
                Ok(_) => continue,
                Err(_) => {
                    if let Some(found) = check(self) {
                        return found;
                    }
                    panic!(
                        "timed out after {deadline:?} waiting for {what}; calls seen: {}",
                        self.summary()
                    );
                }
            }
        }
    }

    /// The first message the bot sent to `chat_id` (as it stands now) that
    /// satisfies `predicate`.
    pub async fn wait_for_message(
        &self,
        chat_id: i64,
        predicate: impl Fn(&SentMessage) -> bool,
        deadline: Duration,
    ) -> SentMessage {
        self.wait(&format!("a message to chat {chat_id}"), deadline, |api| {
            api.sent_messages(chat_id)
                .into_iter()
                .find(|m| predicate(m))
        })
        .await
    }

    /// Waits until `method` has been called at least `count` times; returns
    /// those calls.
    pub async fn wait_for_calls(
        &self,
        method: &str,
        count: usize,
        deadline: Duration,
    ) -> Vec<Call> {
        self.wait(&format!("{count} × {method}"), deadline, |api| {
            let calls = api.calls(method);
            (calls.len() >= count).then_some(calls)
        })
        .await
    }

    pub async fn wait_for_pre_checkout_answer(
        &self,
        query_id: &str,
        deadline: Duration,
    ) -> PreCheckoutAnswer {
        self.wait(
            &format!("the answer to pre-checkout query {query_id}"),
            deadline,
            |api| {
                api.pre_checkout_answers()
                    .into_iter()
                    .find(|a| a.query_id == query_id)
            },
        )
        .await
    }

    pub async fn wait_for_refund(&self, charge_id: &str, deadline: Duration) -> Refund {
        self.wait(&format!("a refund of {charge_id}"), deadline, |api| {
            api.refunds().into_iter().find(|r| r.charge_id == charge_id)
        })
        .await
    }

    /// Waits until the bot has confirmed `update_id` through a later offset.
    pub async fn wait_for_confirmed(&self, update_id: i64, deadline: Duration) {
        self.wait(
            &format!("confirmation of update {update_id}"),
            deadline,
            |api| api.is_confirmed(update_id).then_some(()),
        )
        .await
    }

    /// One line per method with its call count, for failure messages.
    fn summary(&self) -> String {
        let state = self.shared.lock();
        let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
        for call in &state.calls {
            *counts.entry(call.method.as_str()).or_default() += 1;
        }
        let counts: Vec<String> = counts.iter().map(|(m, n)| format!("{m} ×{n}")).collect();
        format!(
            "[{}], pending updates: {}",
            counts.join(", "),
            state.pending.len()
        )
    }
}

// ---------------------------------------------------------------------------
// Shared state
// ---------------------------------------------------------------------------

struct Shared {
    token: String,
    /// The bot's `User` object.
    bot: Value,
    state: Mutex<State>,
    /// Bumped after every change; waiters and long polls subscribe.
    changes: watch::Sender<u64>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Changes the state and wakes everyone waiting on a change.
    fn mutate<T>(&self, change: impl FnOnce(&mut State) -> T) -> T {
        let out = change(&mut self.lock());
        self.changes
            .send_modify(|version| *version = version.wrapping_add(1));
        out
    }
}

#[derive(Default)]
struct State {
    calls: Vec<Call>,
    unauthorized: usize,
    clock_offset: Duration,
    counter: u64,

    // Updates.
    next_update_id: i64,
    pending: VecDeque<PendingUpdate>,
    dropped: Vec<Value>,
    /// The bot's current `allowed_updates` (`None`: never given, or empty).
    allowed_updates: Option<Vec<String>>,
    allowed_updates_seen: Vec<Vec<String>>,
    /// Each `getUpdates` takes a ticket; an older one still waiting sees a
    /// newer ticket and ends with 409, as on Telegram.
    poll_ticket: u64,
    webhook: Option<String>,

    // Chats and messages.
    chats: HashMap<i64, ChatState>,
    blocked: HashSet<i64>,
    limits: Option<(usize, usize)>,
    sends_overall: VecDeque<Instant>,
    sends_per_chat: HashMap<i64, VecDeque<Instant>>,

    // Queries and payments.
    callback_queries: HashMap<String, bool>,
    callback_answers: Vec<CallbackAnswer>,
    pre_checkouts: HashMap<String, PendingPreCheckout>,
    pre_checkout_answers: Vec<PreCheckoutAnswer>,
    invoices: Vec<SentInvoice>,
    payments: HashMap<String, Payment>,
    refunds: Vec<Refund>,
    /// Star transactions, oldest first.
    transactions: Vec<Value>,
    transactions_oldest_first: bool,

    // Settings.
    commands: BTreeMap<(String, String), CommandSet>,
    menu_buttons: HashMap<Option<i64>, Value>,

    faults: Vec<FaultRule>,
}

struct PendingUpdate {
    id: i64,
    update: Value,
}

struct ChatState {
    /// The `Chat` object.
    chat: Value,
    /// Message ids are per chat and shared by both sides, as in a private chat.
    last_message_id: i64,
    messages: BTreeMap<i64, StoredMessage>,
}

struct StoredMessage {
    /// The `Message` object as it stands now.
    json: Value,
    from_bot: bool,
    raw_text: Option<String>,
    parse_mode: Option<String>,
    reply_markup: Option<Value>,
    is_invoice: bool,
    edits: usize,
    deleted: bool,
    reply_lost: bool,
}

impl StoredMessage {
    fn view(&self, chat_id: i64, message_id: i64) -> SentMessage {
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

struct PendingPreCheckout {
    pushed_at: Instant,
    answered: bool,
}

struct Payment {
    user: Value,
    user_id: i64,
    payload: String,
    amount: u32,
    refunded: bool,
}

struct FaultRule {
    /// Lower-case method name, or `*`.
    method: String,
    chat: Option<i64>,
    /// `None`: forever.
    remaining: Option<usize>,
    fault: Fault,
}

/// An error answer: `{"ok":false,"error_code":…,"description":…}`.
#[derive(Debug)]
struct ApiError {
    code: u16,
    description: String,
    retry_after: Option<u32>,
}

impl ApiError {
    fn new(code: u16, description: impl Into<String>) -> Self {
        ApiError {
            code,
            description: description.into(),
            retry_after: None,
        }
    }

    fn bad_request(what: impl std::fmt::Display) -> Self {
        Self::new(400, format!("Bad Request: {what}"))
    }

    fn retry_after(secs: u32) -> Self {
        ApiError {
            code: 429,
            description: format!("Too Many Requests: retry after {secs}"),
            retry_after: Some(secs),
        }
    }
}

type Answer = Result<Value, ApiError>;

impl State {
    fn now(&self) -> Instant {
        Instant::now() + self.clock_offset
    }

    fn unix_now(&self) -> i64 {
        let real = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        (real + self.clock_offset).as_secs() as i64
    }

    fn new_query_id(&mut self, user_id: i64) -> String {
        self.counter += 1;
        // Telegram's query ids are long decimal strings.
        format!("{}{:08}", user_id.unsigned_abs(), self.counter)
    }

    fn open_chat(&mut self, user: &TgUser) -> Value {
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

    fn next_message_id(&mut self, chat_id: i64) -> i64 {
        let chat = self.chats.get_mut(&chat_id).expect("chat opened first");
        chat.last_message_id += 1;
        chat.last_message_id
    }

    fn store_user_message(&mut self, chat_id: i64, message_id: i64, json: Value) {
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

    fn push_update(&mut self, mut update: Value) -> i64 {
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

    fn record_payment(&mut self, user: &TgUser, payload: &str, amount: u32, charge_id: &str) {
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
    fn allows(&self, kind: &str) -> bool {
        match &self.allowed_updates {
            Some(list) => list.iter().any(|k| k == kind),
            None => !NOT_SENT_BY_DEFAULT.contains(&kind),
        }
    }

    fn take_fault(&mut self, method: &str, chat: Option<i64>) -> Option<Fault> {
        let method = method.to_ascii_lowercase();
        let index = self.faults.iter().position(|rule| {
            (rule.method == "*" || rule.method == method)
                && rule.chat.is_none_or(|c| Some(c) == chat)
                && rule.remaining != Some(0)
        })?;
        let rule = &mut self.faults[index];
        let fault = rule.fault.clone();
        if let Some(remaining) = rule.remaining.as_mut() {
            *remaining -= 1;
            if *remaining == 0 {
                self.faults.remove(index);
            }
        }
        Some(fault)
    }

    // --- getUpdates -------------------------------------------------------

    /// Applies an offset: a positive one confirms (forgets) every update
    /// below it; a negative one keeps only the last `-offset` updates.
    fn confirm(&mut self, offset: Option<i64>) {
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
    fn deliverable(&mut self, limit: usize) -> Vec<Value> {
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

    // --- dispatch ---------------------------------------------------------

    fn dispatch(&mut self, method: &str, body: &Value, bot: &Value) -> Answer {
        match method {
            "getMe" => Ok(me(bot)),
            "deleteWebhook" => {
                self.webhook = None;
                if bool_param(body, "drop_pending_updates") {
                    self.pending.clear();
                }
                Ok(json!(true))
            }
            "setWebhook" => self.set_webhook(body),
            "getWebhookInfo" => Ok(json!({
                "url": self.webhook.clone().unwrap_or_default(),
                "has_custom_certificate": false,
                "pending_update_count": self.pending.len(),
            })),
            "setMyCommands" => self.set_my_commands(body),
            "getMyCommands" => Ok(self.get_my_commands(body)),
            "deleteMyCommands" => {
                let key = commands_key(body);
                self.commands.remove(&key);
                Ok(json!(true))
            }
            "setChatMenuButton" => {
                let chat = int_param(body, "chat_id");
                let button = body
                    .get("menu_button")
                    .cloned()
                    .unwrap_or(json!({"type": "default"}));
                self.menu_buttons.insert(chat, button);
                Ok(json!(true))
            }
            "getChatMenuButton" => Ok(self
                .menu_buttons
                .get(&int_param(body, "chat_id"))
                .cloned()
                .unwrap_or(json!({"type": "default"}))),
            "sendMessage" => self.send_message(body, bot),
            "editMessageText" => self.edit_message_text(body),
            "editMessageReplyMarkup" => self.edit_message_reply_markup(body),
            "deleteMessage" => self.delete_message(body),
            "answerCallbackQuery" => self.answer_callback_query(body),
            "sendInvoice" => self.send_invoice(body, bot),
            "answerPreCheckoutQuery" => self.answer_pre_checkout_query(body),
            "refundStarPayment" => self.refund_star_payment(body),
            "getStarTransactions" => Ok(self.get_star_transactions(body)),
            "sendChatAction" => {
                self.chat_for_send(body, false)?;
                Ok(json!(true))
            }
            _ => Err(ApiError::new(404, "Not Found: method not found")),
        }
    }

    /// Accepts any URL: Telegram would insist on HTTPS and ports
    /// 80/88/443/8443, and the fake does not deliver to webhooks; it only
    /// makes `getUpdates` answer 409 while one is set, as Telegram does.
    fn set_webhook(&mut self, body: &Value) -> Answer {
        let url = str_param(body, "url").unwrap_or_default();
        self.webhook = (!url.is_empty()).then_some(url);
        if bool_param(body, "drop_pending_updates") {
            self.pending.clear();
        }
        Ok(json!(true))
    }

    /// Commands are 1-32 characters of `a-z`, `0-9` and `_`; descriptions
    /// 1-256 characters (Telegram: `BOT_COMMAND_INVALID`).
    fn set_my_commands(&mut self, body: &Value) -> Answer {
        let list = array_param(body, "commands")
            .ok_or_else(|| ApiError::bad_request("commands is empty"))?;
        let mut commands = Vec::with_capacity(list.len());
        for entry in &list {
            let command = entry["command"].as_str().unwrap_or_default();
            let description = entry["description"].as_str().unwrap_or_default();
            let command_ok = (1..=32).contains(&command.chars().count())
                && command
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
            let description_ok = (1..=256).contains(&description.chars().count());
            if !command_ok || !description_ok {
                return Err(ApiError::bad_request("BOT_COMMAND_INVALID"));
            }
            commands.push((command.to_owned(), description.to_owned()));
        }
        let (scope, language_code) = scope_and_language(body);
        let key = (scope_key(&scope), language_code.clone());
        self.commands.insert(
            key,
            CommandSet {
                scope,
                language_code,
                commands,
            },
        );
        Ok(json!(true))
    }

    /// The list for exactly this scope and language; `[]` if none (Telegram
    /// does not fall back here either).
    fn get_my_commands(&self, body: &Value) -> Value {
        let commands: Vec<Value> = self
            .commands
            .get(&commands_key(body))
            .map(|set| {
                set.commands
                    .iter()
                    .map(|(c, d)| json!({"command": c, "description": d}))
                    .collect()
            })
            .unwrap_or_default();
        Value::Array(commands)
    }

    /// The chat a send goes to: 403 if blocked (for `send*` methods), 400
    /// `chat not found` if the user never talked to the bot, 429 if the
    /// optional flood limits are exceeded (for messages, not chat actions).
    fn chat_for_send(&mut self, body: &Value, counts_as_message: bool) -> Result<i64, ApiError> {
        let chat_id = chat_id_param(body)?;
        if self.blocked.contains(&chat_id) {
            return Err(ApiError::new(403, BLOCKED));
        }
        if !self.chats.contains_key(&chat_id) {
            return Err(ApiError::bad_request("chat not found"));
        }
        if counts_as_message {
            self.check_flood(chat_id)?;
        }
        Ok(chat_id)
    }

    fn check_flood(&mut self, chat_id: i64) -> Result<(), ApiError> {
        let Some((per_chat, overall)) = self.limits else {
            return Ok(());
        };
        let now = Instant::now();
        let window = Duration::from_secs(1);
        let expire = |sends: &mut VecDeque<Instant>| {
            while sends
                .front()
                .is_some_and(|t| now.duration_since(*t) >= window)
            {
                sends.pop_front();
            }
        };
        expire(&mut self.sends_overall);
        let chat = self.sends_per_chat.entry(chat_id).or_default();
        expire(chat);
        let full = |sends: &VecDeque<Instant>, limit: usize| {
            (sends.len() >= limit).then(|| window.saturating_sub(now.duration_since(sends[0])))
        };
        if let Some(wait) = full(chat, per_chat).or_else(|| full(&self.sends_overall, overall)) {
            return Err(ApiError::retry_after(
                wait.as_secs_f64().ceil().max(1.0) as u32
            ));
        }
        chat.push_back(now);
        self.sends_overall.push_back(now);
        Ok(())
    }

    fn send_message(&mut self, body: &Value, bot: &Value) -> Answer {
        let chat_id = self.chat_for_send(body, true)?;
        let raw = str_param(body, "text").unwrap_or_default();
        let parse_mode = str_param(body, "parse_mode");
        let (text, entities) = render_text(&raw, parse_mode.as_deref(), "message is too long")?;
        let markup = reply_markup_param(body)?;
        let message_id = self.next_message_id(chat_id);
        let chat = &self.chats[&chat_id].chat;
        let mut message = json!({
            "message_id": message_id,
            "from": bot,
            "chat": chat,
            "date": self.unix_now(),
            "text": text,
        });
        if !entities.is_empty() {
            message["entities"] = Value::Array(entities);
        }
        set_echoed_markup(&mut message, markup.as_ref());
        self.store_bot_message(chat_id, message_id, message.clone(), |m| {
            m.raw_text = Some(raw);
            m.parse_mode = parse_mode;
            m.reply_markup = markup;
        });
        Ok(message)
    }

    fn store_bot_message(
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

    /// The bot's own message to edit. Inline messages are not modelled.
    fn message_to_edit(&mut self, body: &Value) -> Result<&mut StoredMessage, ApiError> {
        if str_param(body, "inline_message_id").is_some() {
            return Err(ApiError::bad_request("MESSAGE_ID_INVALID"));
        }
        let (Some(chat_id), Some(message_id)) =
            (int_param(body, "chat_id"), int_param(body, "message_id"))
        else {
            return Err(ApiError::bad_request("message identifier is not specified"));
        };
        let message = self
            .chats
            .get_mut(&chat_id)
            .and_then(|c| c.messages.get_mut(&message_id))
            .filter(|m| !m.deleted)
            .ok_or_else(|| ApiError::bad_request("message to edit not found"))?;
        if !message.from_bot {
            return Err(ApiError::bad_request("message can't be edited"));
        }
        Ok(message)
    }

    /// Like Telegram, an edit without `reply_markup` removes the inline
    /// keyboard, and an edit that changes nothing is 400 `message is not
    /// modified`. Too long is `MESSAGE_TOO_LONG` here (not the send's text).
    fn edit_message_text(&mut self, body: &Value) -> Answer {
        let raw = str_param(body, "text").unwrap_or_default();
        let parse_mode = str_param(body, "parse_mode");
        let (text, entities) = render_text(&raw, parse_mode.as_deref(), "MESSAGE_TOO_LONG")?;
        let markup = reply_markup_param(body)?;
        let date = self.unix_now();
        let message = self.message_to_edit(body)?;
        if message.is_invoice {
            return Err(ApiError::bad_request(
                "there is no text in the message to edit",
            ));
        }
        if message.raw_text.as_deref() == Some(raw.as_str())
            && message.parse_mode == parse_mode
            && message.reply_markup == markup
        {
            return Err(ApiError::new(400, NOT_MODIFIED));
        }
        message.json["text"] = json!(text);
        if entities.is_empty() {
            remove_field(&mut message.json, "entities");
        } else {
            message.json["entities"] = Value::Array(entities);
        }
        set_echoed_markup(&mut message.json, markup.as_ref());
        message.json["edit_date"] = json!(date);
        message.raw_text = Some(raw);
        message.parse_mode = parse_mode;
        message.reply_markup = markup;
        message.edits += 1;
        Ok(message.json.clone())
    }

    fn edit_message_reply_markup(&mut self, body: &Value) -> Answer {
        let markup = reply_markup_param(body)?;
        let date = self.unix_now();
        let message = self.message_to_edit(body)?;
        if message.reply_markup == markup {
            return Err(ApiError::new(400, NOT_MODIFIED));
        }
        set_echoed_markup(&mut message.json, markup.as_ref());
        message.json["edit_date"] = json!(date);
        message.reply_markup = markup;
        message.edits += 1;
        Ok(message.json.clone())
    }

    /// Any message of a private chat, the customer's too (bots may delete
    /// incoming messages there). The 48-hour limit is not modelled.
    fn delete_message(&mut self, body: &Value) -> Answer {
        let message = int_param(body, "chat_id")
            .zip(int_param(body, "message_id"))
            .and_then(|(chat, id)| self.chats.get_mut(&chat)?.messages.get_mut(&id))
            .filter(|m| !m.deleted)
            .ok_or_else(|| ApiError::bad_request("message to delete not found"))?;
        message.deleted = true;
        Ok(json!(true))
    }

    /// Each query can be answered once; an unknown or answered id gets
    /// [`QUERY_TOO_OLD`]. Telegram's own time limit on callback answers is
    /// not modelled.
    fn answer_callback_query(&mut self, body: &Value) -> Answer {
        let id = str_param(body, "callback_query_id").unwrap_or_default();
        match self.callback_queries.get_mut(&id) {
            Some(answered) if !*answered => *answered = true,
            _ => return Err(ApiError::new(400, QUERY_TOO_OLD)),
        }
        self.callback_answers.push(CallbackAnswer {
            query_id: id,
            text: str_param(body, "text"),
            show_alert: bool_param(body, "show_alert"),
        });
        Ok(json!(true))
    }

    /// Stars invoices: currency `XTR`, an empty or absent `provider_token`,
    /// exactly one price and no tips, else `STARS_INVOICE_INVALID` (the
    /// error Telegram gives). Payload 1-128 bytes (`INVOICE_PAYLOAD_INVALID`).
    /// Title 1-32 and description 1-255 characters are Telegram's documented
    /// limits; the error texts for those two are guesses.
    fn send_invoice(&mut self, body: &Value, bot: &Value) -> Answer {
        let chat_id = self.chat_for_send(body, true)?;
        let title = str_param(body, "title").unwrap_or_default();
        let description = str_param(body, "description").unwrap_or_default();
        let payload = str_param(body, "payload").unwrap_or_default();
        let currency = str_param(body, "currency").unwrap_or_default();
        let provider_token = str_param(body, "provider_token").unwrap_or_default();
        let prices: Vec<(String, u32)> = array_param(body, "prices")
            .unwrap_or_default()
            .iter()
            .map(|p| {
                let label = p["label"].as_str().unwrap_or_default().to_owned();
                let amount = p["amount"].as_u64().unwrap_or_default() as u32;
                (label, amount)
            })
            .collect();
        if !(1..=32).contains(&title.chars().count()) {
            return Err(ApiError::bad_request("INVOICE_TITLE_INVALID"));
        }
        if !(1..=255).contains(&description.chars().count()) {
            return Err(ApiError::bad_request("INVOICE_DESCRIPTION_INVALID"));
        }
        if !(1..=128).contains(&payload.len()) {
            return Err(ApiError::bad_request("INVOICE_PAYLOAD_INVALID"));
        }
        if currency != "XTR" {
            return Err(ApiError::bad_request("CURRENCY_INVALID"));
        }
        let tips = body
            .get("max_tip_amount")
            .is_some_and(|v| v.as_u64() != Some(0))
            || body
                .get("suggested_tip_amounts")
                .is_some_and(|v| v != &json!([]));
        if !provider_token.is_empty() || prices.len() != 1 || prices[0].1 == 0 || tips {
            return Err(ApiError::bad_request("STARS_INVOICE_INVALID"));
        }
        let markup = reply_markup_param(body)?;
        let total_amount = prices.iter().map(|(_, a)| a).sum();
        let message_id = self.next_message_id(chat_id);
        let chat = &self.chats[&chat_id].chat;
        let mut message = json!({
            "message_id": message_id,
            "from": bot,
            "chat": chat,
            "date": self.unix_now(),
            "invoice": {
                "title": title,
                "description": description,
                "start_parameter": str_param(body, "start_parameter").unwrap_or_default(),
                "currency": currency,
                "total_amount": total_amount,
            }
        });
        set_echoed_markup(&mut message, markup.as_ref());
        self.store_bot_message(chat_id, message_id, message.clone(), |m| {
            m.is_invoice = true;
            m.reply_markup = markup;
        });
        self.invoices.push(SentInvoice {
            chat_id,
            message_id,
            title,
            description,
            payload,
            currency,
            prices,
            total_amount,
        });
        Ok(message)
    }

    /// Answerable once, within [`PRE_CHECKOUT_TIMEOUT`] of the push (by the
    /// fake's clock, see [`FakeBotApi::advance`]); otherwise, or for an
    /// unknown id, [`QUERY_TOO_OLD`]. `ok: false` needs an `error_message`.
    fn answer_pre_checkout_query(&mut self, body: &Value) -> Answer {
        let id = str_param(body, "pre_checkout_query_id").unwrap_or_default();
        let ok = bool_param(body, "ok");
        let error_message = str_param(body, "error_message");
        if !ok && error_message.as_deref().is_none_or(str::is_empty) {
            return Err(ApiError::bad_request("ERROR_MESSAGE_EMPTY"));
        }
        let now = self.now();
        let query = self
            .pre_checkouts
            .get_mut(&id)
            .filter(|q| !q.answered && now.duration_since(q.pushed_at) <= PRE_CHECKOUT_TIMEOUT)
            .ok_or_else(|| ApiError::new(400, QUERY_TOO_OLD))?;
        query.answered = true;
        self.pre_checkout_answers.push(PreCheckoutAnswer {
            query_id: id,
            ok,
            error_message,
        });
        Ok(json!(true))
    }

    /// The first refund of a known charge succeeds and adds an outgoing
    /// transaction (same id, `receiver` = the user); a second answers
    /// `CHARGE_ALREADY_REFUNDED`; an unknown charge, or a known one with
    /// another `user_id`, `CHARGE_NOT_FOUND` (the latter is a guess).
    fn refund_star_payment(&mut self, body: &Value) -> Answer {
        let user_id = int_param(body, "user_id");
        let charge_id = str_param(body, "telegram_payment_charge_id").unwrap_or_default();
        let date = self.unix_now();
        let payment = self
            .payments
            .get_mut(&charge_id)
            .filter(|p| Some(p.user_id) == user_id)
            .ok_or_else(|| ApiError::bad_request("CHARGE_NOT_FOUND"))?;
        if payment.refunded {
            return Err(ApiError::bad_request("CHARGE_ALREADY_REFUNDED"));
        }
        payment.refunded = true;
        let refund = Refund {
            user_id: payment.user_id,
            charge_id: charge_id.clone(),
            amount: payment.amount,
        };
        let transaction = json!({
            "id": charge_id,
            "amount": payment.amount,
            "date": date,
            "receiver": {
                "type": "user",
                "user": payment.user,
                "transaction_type": "invoice_payment",
                "invoice_payload": payment.payload,
            }
        });
        self.transactions.push(transaction);
        self.refunds.push(refund);
        Ok(json!(true))
    }

    /// `offset` skips that many, `limit` 1-100 (default 100), newest first
    /// unless [`FakeBotApi::set_transactions_newest_first`] says otherwise.
    fn get_star_transactions(&self, body: &Value) -> Value {
        let offset = int_param(body, "offset").unwrap_or(0).max(0) as usize;
        let limit = int_param(body, "limit").unwrap_or(100).clamp(1, 100) as usize;
        let ordered: Vec<&Value> = match self.transactions_oldest_first {
            true => self.transactions.iter().collect(),
            false => self.transactions.iter().rev().collect(),
        };
        let page: Vec<Value> = ordered
            .into_iter()
            .skip(offset)
            .take(limit)
            .cloned()
            .collect();
        json!({"transactions": page})
    }
}

// ---------------------------------------------------------------------------
// HTTP
// ---------------------------------------------------------------------------

async fn serve(listener: TcpListener, shared: Arc<Shared>) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                if let Ok((stream, _)) = accepted {
                    connections.spawn(serve_connection(stream, Arc::clone(&shared)));
                }
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

/// One keep-alive connection. A fault that loses the reply notifies `kill`:
/// the connection future is dropped, closing the socket with no answer.
async fn serve_connection(stream: TcpStream, shared: Arc<Shared>) {
    let kill = Arc::new(Notify::new());
    let service = {
        let kill = Arc::clone(&kill);
        service_fn(move |request| {
            let shared = Arc::clone(&shared);
            let kill = Arc::clone(&kill);
            async move { Ok::<_, Infallible>(handle(&shared, request, &kill).await) }
        })
    };
    let connection = http1::Builder::new().serve_connection(TokioIo::new(stream), service);
    tokio::select! {
        _ = connection => {}
        () = kill.notified() => {}
    }
}

async fn handle(
    shared: &Shared,
    request: Request<Incoming>,
    kill: &Notify,
) -> Response<Full<Bytes>> {
    let path = percent_decode(request.uri().path());
    let query = request.uri().query().map(str::to_owned);
    let content_type = request
        .headers()
        .get(hyper::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    // `/bot<token>/<method>`; empty segments tolerated (a base URL with a
    // trailing slash).
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let [bot_token, method] = segments[..] else {
        return reply(Err(ApiError::new(404, "Not Found")));
    };
    if bot_token.strip_prefix("bot") != Some(shared.token.as_str()) {
        shared.mutate(|s| s.unauthorized += 1);
        return reply(Err(ApiError::new(401, "Unauthorized")));
    }
    let method = METHODS
        .iter()
        .find(|m| m.eq_ignore_ascii_case(method))
        .map_or_else(|| method.to_owned(), |m| (*m).to_owned());
    let bytes = match request.into_body().collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => return reply(Err(ApiError::bad_request("request body unreadable"))),
    };
    let body = match params(&content_type, &bytes, query.as_deref()) {
        Ok(body) => body,
        Err(error) => return reply(Err(error)),
    };
    let chat = int_param(&body, "chat_id").or_else(|| int_param(&body, "user_id"));
    let fault = shared.mutate(|s| {
        s.calls.push(Call {
            method: method.clone(),
            body: body.clone(),
        });
        s.take_fault(&method, chat)
    });
    match &fault {
        Some(Fault::RetryAfter(secs)) => return reply(Err(ApiError::retry_after(*secs))),
        Some(Fault::Error { code, description }) => {
            return reply(Err(ApiError::new(*code, description.clone())));
        }
        Some(Fault::LoseRequest) => return close_without_reply(kill).await,
        Some(Fault::Delay(by)) => tokio::time::sleep(*by).await,
        _ => {}
    }
    let answer = match method.as_str() {
        "getUpdates" => get_updates(shared, &body).await,
        _ => shared.mutate(|s| s.dispatch(&method, &body, &shared.bot)),
    };
    match fault {
        Some(Fault::LoseReply) => {
            mark_reply_lost(shared, &answer);
            close_without_reply(kill).await
        }
        Some(Fault::StallReply) => {
            mark_reply_lost(shared, &answer);
            std::future::pending().await
        }
        _ => reply(answer),
    }
}

async fn close_without_reply(kill: &Notify) -> Response<Full<Bytes>> {
    kill.notify_one();
    std::future::pending().await
}

fn mark_reply_lost(shared: &Shared, answer: &Answer) {
    let Ok(message) = answer else { return };
    let (Some(chat_id), Some(message_id)) = (
        message["chat"]["id"].as_i64(),
        message["message_id"].as_i64(),
    ) else {
        return;
    };
    shared.mutate(|s| {
        if let Some(m) = s
            .chats
            .get_mut(&chat_id)
            .and_then(|c| c.messages.get_mut(&message_id))
        {
            m.reply_lost = true;
        }
    });
}

fn reply(answer: Answer) -> Response<Full<Bytes>> {
    let (status, body) = match answer {
        Ok(result) => (200, json!({"ok": true, "result": result})),
        Err(error) => {
            let mut body = json!({
                "ok": false,
                "error_code": error.code,
                "description": error.description,
            });
            if let Some(secs) = error.retry_after {
                body["parameters"] = json!({"retry_after": secs});
            }
            (error.code, body)
        }
    };
    Response::builder()
        .status(StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST))
        .header(hyper::header::CONTENT_TYPE, "application/json")
        .body(Full::new(Bytes::from(body.to_string())))
        .expect("a valid response")
}

/// Long polling as Telegram does it: apply the offset, then answer at once
/// if there is anything to deliver, else wait up to `timeout` seconds and
/// answer as soon as an update is pushed. A newer `getUpdates` ends an
/// older one still waiting with 409; so does a webhook being set.
async fn get_updates(shared: &Shared, body: &Value) -> Answer {
    let offset = int_param(body, "offset");
    let limit = int_param(body, "limit").unwrap_or(100).clamp(1, 100) as usize;
    let timeout = int_param(body, "timeout").unwrap_or(0).max(0) as u64;
    let allowed = array_param(body, "allowed_updates").map(|list| {
        list.iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect::<Vec<_>>()
    });
    let ticket = shared.mutate(|s| {
        if s.webhook.is_some() {
            return Err(ApiError::new(
                409,
                "Conflict: can't use getUpdates method while webhook is active; \
                 use deleteWebhook to delete the webhook first",
            ));
        }
        if let Some(list) = allowed {
            s.allowed_updates_seen.push(list.clone());
            // An empty list means "the default set", as on Telegram.
            s.allowed_updates = (!list.is_empty()).then_some(list);
        }
        s.confirm(offset);
        s.poll_ticket += 1;
        Ok(s.poll_ticket)
    })?;
    let mut changes = shared.changes.subscribe();
    let until = tokio::time::Instant::now() + Duration::from_secs(timeout);
    loop {
        {
            let mut state = shared.lock();
            if state.poll_ticket != ticket {
                return Err(ApiError::new(
                    409,
                    "Conflict: terminated by other getUpdates request; \
                     make sure that only one bot instance is running",
                ));
            }
            let updates = state.deliverable(limit);
            if !updates.is_empty() {
                return Ok(Value::Array(updates));
            }
        }
        if tokio::time::timeout_at(until, changes.changed())
            .await
            .is_err()
        {
            return Ok(json!([]));
        }
    }
}

/// The parameters of a call: a JSON body, a form or the query string (the
/// Bot API takes all three). Multipart (file uploads) is not modelled.
fn params(content_type: &str, bytes: &[u8], query: Option<&str>) -> Result<Value, ApiError> {
    let mut fields = serde_json::Map::new();
    if let Some(query) = query {
        fields.extend(form_fields(query));
    }
    if content_type.starts_with("multipart/") {
        // teloxide sends some methods (setWebhook) as multipart: their
        // text fields are read; an uploaded file is not modelled.
        fields.extend(multipart_fields(content_type, bytes)?);
        return Ok(Value::Object(fields));
    }
    if content_type.starts_with("application/x-www-form-urlencoded") {
        fields.extend(form_fields(&String::from_utf8_lossy(bytes)));
    } else if !bytes.iter().all(u8::is_ascii_whitespace) {
        match serde_json::from_slice::<Value>(bytes) {
            Ok(Value::Object(body)) => fields.extend(body),
            _ => return Err(ApiError::bad_request("can't parse JSON object")),
        }
    }
    Ok(Value::Object(fields))
}

/// The text fields of a `multipart/form-data` body; a part with a file
/// name is refused (uploads are not modelled).
fn multipart_fields(
    content_type: &str,
    bytes: &[u8],
) -> Result<serde_json::Map<String, Value>, ApiError> {
    let boundary = content_type
        .split(';')
        .filter_map(|p| p.trim().strip_prefix("boundary="))
        .next()
        .map(|b| b.trim_matches('"').to_owned())
        .ok_or_else(|| ApiError::bad_request("multipart without a boundary"))?;
    let body = String::from_utf8_lossy(bytes);
    let mut fields = serde_json::Map::new();
    for part in body.split(&format!("--{boundary}")).skip(1) {
        if part.starts_with("--") {
            break;
        }
        let Some((head, value)) = part.split_once("\r\n\r\n") else {
            continue;
        };
        if head.contains("filename=") {
            return Err(ApiError::bad_request("file uploads are not modelled"));
        }
        let Some(name) = head
            .split(';')
            .filter_map(|p| p.trim().strip_prefix("name="))
            .next()
            .map(|n| n.trim_matches('"').to_owned())
        else {
            continue;
        };
        let value = value.strip_suffix("\r\n").unwrap_or(value);
        let value = serde_json::from_str(value).unwrap_or_else(|_| Value::String(value.to_owned()));
        fields.insert(name, value);
    }
    Ok(fields)
}

/// `a=1&b=x` → `{"a":1,"b":"x"}`: a value that parses as JSON is taken as
/// JSON (numbers, booleans, serialized objects), as Telegram does.
fn form_fields(form: &str) -> serde_json::Map<String, Value> {
    let url = reqwest::Url::parse(&format!("http://x/?{form}")).expect("a valid query");
    url.query_pairs()
        .map(|(k, v)| {
            let value = serde_json::from_str(&v).unwrap_or_else(|_| Value::String(v.to_string()));
            (k.to_string(), value)
        })
        .collect()
}

fn percent_decode(path: &str) -> String {
    let bytes = path.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

// ---------------------------------------------------------------------------
// Parameters and objects
// ---------------------------------------------------------------------------

/// `getMe`: a `User` with the bot-only fields teloxide's `Me` requires.
fn me(bot: &Value) -> Value {
    let mut me = bot.clone();
    for field in [
        "can_join_groups",
        "can_read_all_group_messages",
        "supports_inline_queries",
        "can_connect_to_business",
        "has_main_web_app",
    ] {
        me[field] = json!(false);
    }
    me
}

/// An integer parameter, given as a number or a numeric string.
fn int_param(body: &Value, name: &str) -> Option<i64> {
    match body.get(name)? {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn str_param(body: &Value, name: &str) -> Option<String> {
    match body.get(name)? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn bool_param(body: &Value, name: &str) -> bool {
    match body.get(name) {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => s == "true" || s == "1",
        Some(Value::Number(n)) => n.as_i64() == Some(1),
        _ => false,
    }
}

/// An array parameter, given as JSON or as a JSON-serialized string.
fn array_param(body: &Value, name: &str) -> Option<Vec<Value>> {
    match body.get(name)? {
        Value::Array(list) => Some(list.clone()),
        Value::String(s) => serde_json::from_str(s).ok(),
        _ => None,
    }
}

/// `chat_id` as a number; `@username` chats are not modelled (not found).
fn chat_id_param(body: &Value) -> Result<i64, ApiError> {
    match body.get("chat_id") {
        None | Some(Value::Null) => Err(ApiError::bad_request("chat_id is empty")),
        Some(_) => {
            int_param(body, "chat_id").ok_or_else(|| ApiError::bad_request("chat not found"))
        }
    }
}

fn scope_and_language(body: &Value) -> (Value, String) {
    let scope = match body.get("scope") {
        Some(Value::String(s)) => serde_json::from_str(s).unwrap_or(json!({"type": "default"})),
        Some(scope @ Value::Object(_)) => scope.clone(),
        _ => json!({"type": "default"}),
    };
    (scope, str_param(body, "language_code").unwrap_or_default())
}

fn commands_key(body: &Value) -> (String, String) {
    let (scope, language) = scope_and_language(body);
    (scope_key(&scope), language)
}

/// Scopes compare by content: fields sorted, whatever order they came in.
fn scope_key(scope: &Value) -> String {
    let sorted: BTreeMap<&String, &Value> = scope
        .as_object()
        .map(|fields| fields.iter().collect())
        .unwrap_or_default();
    serde_json::to_string(&sorted).unwrap_or_default()
}

/// The kind of an update: its one field besides `update_id`.
fn update_kind(update: &Value) -> &str {
    update
        .as_object()
        .and_then(|fields| fields.keys().find(|k| *k != "update_id"))
        .map_or("", String::as_str)
}

fn remove_field(object: &mut Value, name: &str) {
    if let Some(fields) = object.as_object_mut() {
        fields.remove(name);
    }
}

/// Telegram echoes only inline keyboards in the returned `Message`.
fn set_echoed_markup(message: &mut Value, markup: Option<&Value>) {
    match markup.filter(|m| m.get("inline_keyboard").is_some()) {
        Some(markup) => message["reply_markup"] = markup.clone(),
        None => remove_field(message, "reply_markup"),
    }
}

/// UTF-16 length of a leading `/command` (with an optional `@botname`).
fn leading_command_len(text: &str) -> Option<usize> {
    if !text.starts_with('/') {
        return None;
    }
    let command = text.split(char::is_whitespace).next().unwrap_or_default();
    (command.len() > 1).then(|| command.encode_utf16().count())
}

/// `reply_markup`, validated as Telegram validates inline keyboards: every
/// button needs `text` and one action (else `Text buttons are unallowed`),
/// and `callback_data` must be 1-64 bytes (else `BUTTON_DATA_INVALID`).
/// Reply keyboards and the like pass unchecked.
fn reply_markup_param(body: &Value) -> Result<Option<Value>, ApiError> {
    let markup = match body.get("reply_markup") {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::String(s)) => serde_json::from_str(s)
            .map_err(|_| ApiError::bad_request("can't parse reply keyboard markup JSON object"))?,
        Some(markup) => markup.clone(),
    };
    if let Some(rows) = markup.get("inline_keyboard") {
        let rows = rows
            .as_array()
            .ok_or_else(|| ApiError::bad_request("field \"inline_keyboard\" must be an Array"))?;
        for button in rows
            .iter()
            .flat_map(|row| row.as_array().into_iter().flatten())
        {
            check_inline_button(button)?;
        }
    }
    Ok(Some(markup))
}

fn check_inline_button(button: &Value) -> Result<(), ApiError> {
    const ACTIONS: [&str; 10] = [
        "url",
        "callback_data",
        "web_app",
        "login_url",
        "switch_inline_query",
        "switch_inline_query_current_chat",
        "switch_inline_query_chosen_chat",
        "copy_text",
        "callback_game",
        "pay",
    ];
    if !button.get("text").is_some_and(Value::is_string) {
        return Err(ApiError::bad_request(
            "can't parse inline keyboard button: Field \"text\" must be of type String",
        ));
    }
    if !ACTIONS.iter().any(|a| button.get(a).is_some()) {
        return Err(ApiError::bad_request(
            "can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard",
        ));
    }
    if let Some(data) = button.get("callback_data") {
        let len = data.as_str().map_or(0, str::len);
        if !(1..=MAX_CALLBACK_DATA_BYTES).contains(&len) {
            return Err(ApiError::bad_request("BUTTON_DATA_INVALID"));
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Text and entities
// ---------------------------------------------------------------------------

/// The text the customer sees and its entities. HTML is parsed as Telegram
/// parses it (see [`parse_html`]); Markdown and MarkdownV2 are passed
/// through unparsed (not modelled: the length counted is the raw one).
/// Empty after parsing (or only whitespace) is `message text is empty`;
/// over [`MAX_TEXT_CHARS`] characters is `too_long`.
fn render_text(
    raw: &str,
    parse_mode: Option<&str>,
    too_long: &str,
) -> Result<(String, Vec<Value>), ApiError> {
    let (text, entities) = match parse_mode {
        None => (raw.to_owned(), Vec::new()),
        Some(mode) if mode.eq_ignore_ascii_case("html") => parse_html(raw)
            .map_err(|e| ApiError::bad_request(format!("can't parse entities: {e}")))?,
        Some(mode)
            if mode.eq_ignore_ascii_case("markdown") || mode.eq_ignore_ascii_case("markdownv2") =>
        {
            (raw.to_owned(), Vec::new())
        }
        Some(_) => return Err(ApiError::bad_request("unsupported parse_mode")),
    };
    if text.trim().is_empty() {
        return Err(ApiError::bad_request("message text is empty"));
    }
    if text.chars().count() > MAX_TEXT_CHARS {
        return Err(ApiError::bad_request(too_long));
    }
    Ok((text, entities))
}

struct OpenTag {
    name: String,
    attributes: Vec<(String, String)>,
    /// UTF-16 offset in the output where the tag's content starts.
    start: usize,
}

/// Telegram's HTML: tags `b strong i em u ins s strike del span
/// tg-spoiler a code pre blockquote tg-emoji` (`span` only with
/// `class="tg-spoiler"`), properly nested; entities `&lt; &gt; &amp; &quot;`
/// and numeric ones decoded; any other `&` is literal. Errors read like
/// Telegram's (after `can't parse entities: `). Entity offsets and lengths
/// are in UTF-16 code units, as in the Bot API.
fn parse_html(input: &str) -> Result<(String, Vec<Value>), String> {
    const SUPPORTED: [&str; 16] = [
        "b",
        "strong",
        "i",
        "em",
        "u",
        "ins",
        "s",
        "strike",
        "del",
        "span",
        "tg-spoiler",
        "a",
        "code",
        "pre",
        "blockquote",
        "tg-emoji",
    ];
    let mut text = String::with_capacity(input.len());
    let mut utf16 = 0usize;
    let mut open: Vec<OpenTag> = Vec::new();
    let mut entities = Vec::new();
    let mut i = 0;
    while i < input.len() {
        let rest = &input[i..];
        if rest.starts_with('<') {
            let at = i;
            let end = rest
                .find('>')
                .ok_or_else(|| format!("Unclosed start tag at byte offset {at}"))?;
            let inside = &rest[1..end];
            i += end + 1;
            if let Some(name) = inside.strip_prefix('/') {
                let name = name.trim().to_ascii_lowercase();
                let tag = open
                    .pop()
                    .ok_or_else(|| format!("Unexpected end tag at byte offset {at}"))?;
                if name != tag.name {
                    return Err(format!(
                        "Unmatched end tag at byte offset {at}, expected \"</{}>\", found \"</{name}>\"",
                        tag.name
                    ));
                }
                entities.extend(entity_for(&tag, utf16));
            } else {
                let (name, attributes) = parse_start_tag(inside, at)?;
                if !SUPPORTED.contains(&name.as_str()) {
                    return Err(format!(
                        "Unsupported start tag \"{name}\" at byte offset {at}"
                    ));
                }
                let class = attributes.iter().find(|(k, _)| k == "class");
                if name == "span" && class.is_none_or(|(_, v)| v != "tg-spoiler") {
                    return Err(format!(
                        "Tag \"span\" must have class \"tg-spoiler\" at byte offset {at}"
                    ));
                }
                open.push(OpenTag {
                    name,
                    attributes,
                    start: utf16,
                });
            }
        } else if let Some((decoded, used)) = rest.strip_prefix('&').and_then(decode_entity) {
            text.push(decoded);
            utf16 += decoded.len_utf16();
            i += used + 1;
        } else {
            let c = rest.chars().next().expect("not at the end");
            text.push(c);
            utf16 += c.len_utf16();
            i += c.len_utf8();
        }
    }
    if let Some(tag) = open.last() {
        return Err(format!(
            "Can't find end tag corresponding to start tag \"{}\"",
            tag.name
        ));
    }
    entities.sort_by_key(|e: &Value| {
        (
            e["offset"].as_u64().unwrap_or_default(),
            std::cmp::Reverse(e["length"].as_u64().unwrap_or_default()),
        )
    });
    Ok((text, entities))
}

/// `name attr="v" attr2='w' attr3=x flag` → lower-case name and attributes.
fn parse_start_tag(inside: &str, at: usize) -> Result<(String, Vec<(String, String)>), String> {
    let is_name = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
    let name_len = inside.find(|c: char| !is_name(c)).unwrap_or(inside.len());
    if name_len == 0 {
        return Err(format!("Empty tag name at byte offset {at}"));
    }
    let name = inside[..name_len].to_ascii_lowercase();
    let mut rest = &inside[name_len..];
    let mut attributes = Vec::new();
    loop {
        rest = rest.trim_start();
        if rest.is_empty() {
            break;
        }
        let key_len = rest.find(|c: char| !is_name(c)).unwrap_or(rest.len());
        if key_len == 0 {
            return Err(format!(
                "Unexpected character in the attributes of the tag \"{name}\" at byte offset {at}"
            ));
        }
        let key = rest[..key_len].to_ascii_lowercase();
        rest = rest[key_len..].trim_start();
        let Some(after_eq) = rest.strip_prefix('=') else {
            attributes.push((key, String::new()));
            continue;
        };
        rest = after_eq.trim_start();
        let value;
        if let Some(quote) = rest.chars().next().filter(|c| *c == '"' || *c == '\'') {
            let close = rest[1..]
                .find(quote)
                .ok_or_else(|| format!("Unclosed attribute value at byte offset {at}"))?;
            value = &rest[1..1 + close];
            rest = &rest[close + 2..];
        } else {
            let len = rest.find(char::is_whitespace).unwrap_or(rest.len());
            value = &rest[..len];
            rest = &rest[len..];
        }
        let decoded = decode_all_entities(value);
        attributes.push((key, decoded));
    }
    Ok((name, attributes))
}

/// The entity a closed tag makes (none when it encloses nothing).
fn entity_for(tag: &OpenTag, end: usize) -> Option<Value> {
    let length = end - tag.start;
    if length == 0 {
        return None;
    }
    let attribute = |name: &str| {
        tag.attributes
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    let mut entity = json!({"offset": tag.start, "length": length});
    let kind = match tag.name.as_str() {
        "b" | "strong" => "bold",
        "i" | "em" => "italic",
        "u" | "ins" => "underline",
        "s" | "strike" | "del" => "strikethrough",
        "span" | "tg-spoiler" => "spoiler",
        "code" => "code",
        "pre" => "pre",
        "blockquote" if attribute("expandable").is_some() => "expandable_blockquote",
        "blockquote" => "blockquote",
        "a" => {
            entity["url"] = json!(attribute("href")?);
            "text_link"
        }
        "tg-emoji" => {
            entity["custom_emoji_id"] = json!(attribute("emoji-id")?);
            "custom_emoji"
        }
        _ => return None,
    };
    entity["type"] = json!(kind);
    Some(entity)
}

/// After a `&`: the decoded character and the bytes used (through `;`).
fn decode_entity(after_amp: &str) -> Option<(char, usize)> {
    let semicolon = after_amp.get(..12).unwrap_or(after_amp).find(';')?;
    let name = &after_amp[..semicolon];
    let decoded = match name {
        "lt" => '<',
        "gt" => '>',
        "amp" => '&',
        "quot" => '"',
        _ => {
            let number = name.strip_prefix('#')?;
            let code = match number.strip_prefix(['x', 'X']) {
                Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                None => number.parse().ok()?,
            };
            char::from_u32(code)?
        }
    };
    Some((decoded, semicolon + 1))
}

fn decode_all_entities(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut rest = value;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        rest = &rest[amp + 1..];
        match decode_entity(rest) {
            Some((c, used)) => {
                out.push(c);
                rest = &rest[used..];
            }
            None => out.push('&'),
        }
    }
    out.push_str(rest);
    out
}
