//! The Telegram shop front: teloxide lives here and nowhere else.
//!
//! Handlers validate, write a row and return; the slow work (ordering,
//! delivering, refunding) is the workers'. Every handler is safe to run
//! twice: Telegram may deliver an update again, and a button may be
//! pressed twice.
//!
//! - `customer`: /start and deep links, the catalog, note fields, /orders,
//!   /language, /help, and routing free text to `support`
//! - `payments`: the invoice, pre-checkout, the payment, the sweep of
//!   `getStarTransactions` for payments whose update was lost
//! - `support`: /support, /paysupport and free text become a buyer's
//!   ticket, passed to the admins; their replies reach the buyer; /tickets
//! - `progress`: the buyer's progress message and the admins' alerts, from
//!   the event stream
//! - `admin`: /stalled, /balance, /order, /stats, /audit and their buttons
//! - `commands`: every command's name, menu line and audience, listed once
//! - `telegram`: [`Notifier`](crate::delivery::Notifier) and
//!   [`Payments`](crate::delivery::refund::Payments) for the workers

mod admin;
mod callback;
mod commands;
mod customer;
mod listener;
mod payments;
mod progress;
mod support;
pub mod telegram;

use std::sync::Arc;
use std::time::Duration;

use axum::response::IntoResponse;
use teloxide::dispatching::UpdateHandler;
use teloxide::prelude::*;
use teloxide::types::{BotCommandScope, CallbackQuery, MessageId, ParseMode, Recipient};
use tokio::sync::watch;

use crate::clock::{Millis, SharedClock};
use crate::domain::{Language, UserId};
use crate::engine::Engine;
use crate::foxreload::FoxReload;
use crate::i18n;
use crate::runtime::Runtime;
use crate::store::Store;

pub use callback::Callback;
pub use listener::run_polling;
pub use payments::sweep_star_transactions;
pub use progress::spawn as progress_tasks;
pub use support::MESSAGES_PER_WINDOW as SUPPORT_MESSAGES_PER_WINDOW;

type HandlerResult = anyhow::Result<()>;

/// What the handlers share.
#[derive(Clone)]
pub struct Shop(Arc<ShopInner>);

pub struct ShopInner {
    pub store: Store,
    pub clock: SharedClock,
    pub engine: Engine,
    pub supplier: FoxReload,
    pub admins: Vec<i64>,
    /// Catalog rows older than this are not sold.
    pub catalog_max_age: Duration,
    /// No payment is taken: the supplier is the built-in simulator.
    pub demo: bool,
    pub instance_id: String,
    /// The configured rate, for the ledger audit's margin estimate.
    pub stars_per_usd: rust_decimal::Decimal,
    /// The shop's own product names per language (`CATALOG_OVERRIDES`).
    pub overrides: Arc<crate::domain::CatalogOverrides>,
    /// Shown in the support texts when set (`SUPPORT_CONTACT`).
    pub support_contact: Option<String>,
}

impl std::ops::Deref for Shop {
    type Target = ShopInner;
    fn deref(&self) -> &ShopInner {
        &self.0
    }
}

impl Shop {
    pub fn new(inner: ShopInner) -> Self {
        Shop(Arc::new(inner))
    }

    fn now(&self) -> Millis {
        self.clock.now_ms()
    }

    /// A product's name as a `lang` buyer reads it: the shop's own
    /// (`CATALOG_OVERRIDES`), else the catalog's.
    pub(crate) fn product_name<'a>(
        &'a self,
        id: &crate::domain::ProductId,
        lang: Language,
        catalog: &'a str,
    ) -> &'a str {
        self.overrides.name(id, lang).unwrap_or(catalog)
    }

    fn is_admin(&self, user: i64) -> bool {
        self.admins.contains(&user)
    }

    /// The language to answer `user` in (their choice, else Telegram's),
    /// recording the customer as seen.
    async fn language(&self, user: &teloxide::types::User, chat_id: i64) -> Language {
        let telegram = Language::from_code(user.language_code.as_deref());
        let Ok(id) = i64::try_from(user.id.0) else {
            return telegram;
        };
        match self
            .store
            .remember_customer(UserId(id), chat_id, telegram, self.now())
            .await
        {
            Ok(l) => l,
            Err(e) => {
                tracing::warn!(error = %e, "could not record the customer");
                telegram
            }
        }
    }
}

/// Who is answered, and where: what the handlers of a message pass one
/// another, in one value rather than five arguments.
#[derive(Clone, Copy)]
struct Talk<'a> {
    bot: &'a Bot,
    shop: &'a Shop,
    chat: ChatId,
    lang: Language,
    user: UserId,
}

impl<'a> Talk<'a> {
    /// Its parts, for a handler to name the ones it uses.
    fn parts(&self) -> (&'a Bot, &'a Shop, ChatId, Language, UserId) {
        (self.bot, self.shop, self.chat, self.lang, self.user)
    }
}

/// A button press being handled: the query (answered by whoever handles
/// it), the presser's language, and the message the button is on.
#[derive(Clone, Copy)]
struct Pressed<'a> {
    bot: &'a Bot,
    shop: &'a Shop,
    q: &'a CallbackQuery,
    lang: Language,
    chat: ChatId,
    message: MessageId,
}

impl<'a> Pressed<'a> {
    /// Its parts, for a handler to name the ones it uses.
    fn parts(
        &self,
    ) -> (
        &'a Bot,
        &'a Shop,
        &'a CallbackQuery,
        Language,
        ChatId,
        MessageId,
    ) {
        (
            self.bot,
            self.shop,
            self.q,
            self.lang,
            self.chat,
            self.message,
        )
    }
}

/// A user's id as ours (Telegram's are positive and below 2^53).
fn user_id(user: &teloxide::types::User) -> Option<UserId> {
    i64::try_from(user.id.0).ok().map(UserId)
}

fn t(lang: Language, key: &str) -> String {
    i18n::text(lang, key, &[])
}

/// The handler tree. `pre_checkout_query` is a branch of its own: the
/// polling listener asks Telegram only for update kinds present here, and
/// without it every checkout would time out.
pub fn schema() -> UpdateHandler<anyhow::Error> {
    dptree::entry()
        .filter_async(first_sight)
        .branch(Update::filter_pre_checkout_query().endpoint(payments::pre_checkout))
        .branch(
            Update::filter_message()
                .branch(Message::filter_successful_payment().endpoint(payments::paid))
                .branch(dptree::endpoint(customer::on_message)),
        )
        .branch(Update::filter_callback_query().endpoint(callback::on_callback))
}

/// Whether this update is new. Telegram sends a webhook update again when it
/// did not see it acknowledged, perhaps to another replica: each update id
/// is handled once. If the database cannot say, the update is handled (every
/// handler is safe to run twice; a lost payment is worse).
async fn first_sight(update: Update, shop: Shop) -> bool {
    match shop
        .store
        .first_sight_of_update(i64::from(update.id.0), shop.now())
        .await
    {
        Ok(first) => first,
        Err(e) => {
            tracing::warn!(error = %e, "could not record the update; handling it anyway");
            true
        }
    }
}

/// The commands menu, per language (`setMyCommands`); admins see theirs
/// too, in the language they chose with `/language` if they did (a restart
/// must not take their choice back).
pub async fn set_commands(bot: &Bot, admins: &[i64], store: &Store) -> anyhow::Result<()> {
    for lang in [Language::En, Language::Hi] {
        let commands = commands::customer_menu(lang);
        let mut request = bot.set_my_commands(commands.clone());
        if lang != Language::En {
            request = request.language_code(lang.code());
        }
        request.await?;
        for admin in admins {
            let mut all = commands.clone();
            all.extend(commands::admin_menu(lang));
            let mut request = bot.set_my_commands(all).scope(BotCommandScope::Chat {
                chat_id: Recipient::Id(ChatId(*admin)),
            });
            if lang != Language::En {
                request = request.language_code(lang.code());
            }
            // An admin who never opened the bot has no chat yet.
            if let Err(e) = request.await {
                tracing::warn!(admin, error = %e, "could not set the admin command menu");
            }
        }
    }
    for admin in admins {
        if let Some(lang) = store.chosen_language(UserId(*admin)).await?
            && let Err(e) = commands::set_chat_menu(bot, ChatId(*admin), lang, true).await
        {
            tracing::warn!(admin, error = %e, "could not set the admin's chosen menu");
        }
    }
    Ok(())
}

/// [`set_commands`] at the start; if Telegram does not take them then
/// (it is down), tried again in the background until it does.
pub async fn set_commands_at_start(
    bot: Bot,
    admins: Vec<i64>,
    store: Store,
    shutdown: watch::Receiver<bool>,
) -> Option<tokio::task::JoinHandle<()>> {
    let first =
        tokio::time::timeout(Duration::from_secs(5), set_commands(&bot, &admins, &store)).await;
    if matches!(first, Ok(Ok(()))) {
        return None;
    }
    tracing::warn!("could not set the command menus; trying again in the background");
    Some(tokio::spawn(async move {
        let mut stop = shutdown;
        let mut failures = 0;
        while !*stop.borrow() {
            failures += 1;
            listener::pause(&mut stop, failures).await;
            if *stop.borrow() {
                break;
            }
            match set_commands(&bot, &admins, &store).await {
                Ok(()) => {
                    tracing::info!("the command menus are set");
                    break;
                }
                Err(e) => tracing::warn!(error = %e, failures, "could not set the command menus"),
            }
        }
    }))
}

/// Every update kind the handlers need, asked for explicitly.
fn allowed_updates() -> Vec<teloxide::types::AllowedUpdate> {
    vec![
        teloxide::types::AllowedUpdate::Message,
        teloxide::types::AllowedUpdate::CallbackQuery,
        teloxide::types::AllowedUpdate::PreCheckoutQuery,
    ]
}

/// Webhook mode (several replicas): returns the route to serve at
/// `HTTP_ADDR` and the task that sets the webhook with its secret (tried
/// again until Telegram takes it) and dispatches what the route receives.
/// A request without the secret gets 401 and is never handled. Stopping
/// one replica leaves the webhook in place for the others.
pub async fn webhook(
    bot: Bot,
    shop: Shop,
    url: reqwest::Url,
    secret: String,
    rt: &Runtime,
) -> anyhow::Result<(axum::Router, tokio::task::JoinHandle<()>)> {
    use teloxide::update_listeners::webhooks::{Options, axum_no_setup};
    // The address is not used: the route is served by our own listener.
    let options =
        Options::new(([127, 0, 0, 1], 0).into(), url.clone()).secret_token(secret.clone());
    // Its stop future would delete the webhook, for every replica: unused.
    let (listener, _delete_on_stop, router) = axum_no_setup(options);
    let task = listener::run_webhook(bot, shop, listener, url, secret.clone(), rt).await;
    let secret: Arc<str> = secret.into();
    let router = router.layer(axum::middleware::from_fn(
        move |request: axum::extract::Request, next: axum::middleware::Next| {
            let secret = secret.clone();
            async move {
                let given = request
                    .headers()
                    .get("X-Telegram-Bot-Api-Secret-Token")
                    .map(|v| v.as_bytes())
                    .unwrap_or_default();
                if constant_time_eq(given, secret.as_bytes()) {
                    next.run(request).await
                } else {
                    axum::http::StatusCode::UNAUTHORIZED.into_response()
                }
            }
        },
    ));
    Ok((router, task))
}

/// Compares a presented secret with ours in time that depends only on the
/// lengths, so that response times do not reveal it byte by byte.
fn constant_time_eq(given: &[u8], ours: &[u8]) -> bool {
    if given.len() != ours.len() {
        return false;
    }
    given
        .iter()
        .zip(ours)
        .fold(0u8, |differ, (a, b)| differ | (a ^ b))
        == 0
}

/// Sends an HTML message, logging (never failing) on error: an answer that
/// cannot be sent must not make the handler fail after its row is written.
async fn say(bot: &Bot, chat: ChatId, html: String) -> Option<Message> {
    send(bot, chat, html, None).await
}

/// [`say`], with an inline keyboard.
async fn send(
    bot: &Bot,
    chat: ChatId,
    html: String,
    markup: Option<teloxide::types::InlineKeyboardMarkup>,
) -> Option<Message> {
    let mut request = bot.send_message(chat, html).parse_mode(ParseMode::Html);
    if let Some(m) = markup {
        request = request.reply_markup(m);
    }
    match request.await {
        Ok(m) => Some(m),
        Err(e) => {
            tracing::warn!(chat = chat.0, error = %e, "could not answer");
            None
        }
    }
}

/// Replaces the message a button was on (browsing stays one message; a
/// confirmation becomes the record of what was done), or sends a new one
/// if it cannot be edited.
pub(super) async fn show(
    bot: &Bot,
    chat: ChatId,
    message: Option<teloxide::types::MessageId>,
    text: String,
    markup: Option<teloxide::types::InlineKeyboardMarkup>,
) {
    if let Some(id) = message {
        let mut request = bot
            .edit_message_text(chat, id, text.clone())
            .parse_mode(ParseMode::Html);
        if let Some(m) = markup.clone() {
            request = request.reply_markup(m);
        }
        match request.await {
            Ok(_) => return,
            Err(teloxide::RequestError::Api(teloxide::ApiError::MessageNotModified)) => return,
            Err(e) => tracing::debug!(error = %e, "could not edit; sending anew"),
        }
    }
    send(bot, chat, text, markup).await;
}

/// Escapes text for Telegram's HTML parse mode.
pub fn escape(text: &str) -> String {
    crate::delivery::render::escape(text)
}

/// How the bot takes its updates and sweeps for lost payments.
pub struct Listening {
    /// How often `getStarTransactions` is swept (not in a demo shop).
    pub stars_sweep: Duration,
    /// Long polling: `/readyz` fails after this long without a `getUpdates`.
    pub poll_silence: Duration,
    /// Webhook mode: the public URL and the shared secret.
    pub webhook: Option<(reqwest::Url, String)>,
}

/// Starts everything of the shop that talks to Telegram: the command
/// menus, the buyers' progress messages and the admins' alerts, the Stars
/// sweep (not in a demo shop), and the update listener (long polling, or
/// the webhook, whose route is returned to be served at `HTTP_ADDR`).
pub async fn start(
    telegram: &telegram::Telegram,
    shop: Shop,
    listening: Listening,
    rt: &Runtime,
) -> anyhow::Result<(Vec<tokio::task::JoinHandle<()>>, Option<axum::Router>)> {
    let bot = telegram.bot();
    let mut tasks: Vec<tokio::task::JoinHandle<()>> = set_commands_at_start(
        bot.clone(),
        shop.admins.clone(),
        shop.store.clone(),
        rt.stopped(),
    )
    .await
    .into_iter()
    .collect();
    tasks.extend(progress_tasks(bot.clone(), shop.clone(), rt));
    if !shop.demo {
        tasks.push(payments::spawn_star_sweep(
            bot.clone(),
            shop.clone(),
            listening.stars_sweep,
            rt,
        ));
    }
    let router = match listening.webhook {
        Some((url, secret)) => {
            let (router, task) = webhook(bot, shop, url, secret, rt).await?;
            tasks.push(task);
            Some(router)
        }
        None => {
            tasks.push(run_polling(bot, shop, listening.poll_silence, rt));
            None
        }
    };
    Ok((tasks, router))
}
