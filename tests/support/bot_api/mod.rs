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
//!
//! - `customer`: what a test does as the customer
//! - `script`: faults, blocked chats, flood limits, the fake's clock
//! - `views`: what the bot did, read and waited on
//! - `http`: the server, the token, faults around each call, long polling
//! - `params`: a call's parameters, as the Bot API reads them
//! - `methods`, `messages`, `payments`: the Bot API methods, on `state`
//! - `html`: Telegram's HTML into text and entities
//! - `values`: the typed views tests read

mod customer;
mod html;
mod http;
mod messages;
mod methods;
mod params;
mod payments;
mod script;
mod state;
mod values;
mod views;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

// The fake's whole vocabulary, named from here as before the split (some
// of it, like `Button` and `FaultScript`, no test names today).
#[allow(unused_imports)]
pub use script::{Fault, FaultScript};
use state::{Shared, State};
#[allow(unused_imports)]
pub use values::{
    Button, Call, CallbackAnswer, CheckoutRefused, CommandSet, PreCheckoutAnswer, Refund,
    SentInvoice, SentMessage, TgUser,
};

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
        let server = tokio::spawn(http::serve(listener, Arc::clone(&shared)));
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
}
