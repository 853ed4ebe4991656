//! `spawn_app`: the real [`App`] (bot, engine, delivery, refunds, catalog
//! sync, sweeps) against the simulator and the fake Bot API, on a test
//! database; the same wiring `foxbot run` uses.

use std::collections::HashMap;
use std::time::Duration;

use foxbot::app::App;
use foxbot::config::Config;
use foxbot::foxreload::sim::{SimOptions, Simulator};

use super::TestDb;
use super::bot_api::{FakeBotApi, SentMessage, TgUser};

pub const TOKEN: &str = "123456:TEST-TOKEN";
pub const SIM_KEY: &str = "sim-key";
pub const ADMIN: i64 = 9000;
/// How long a test waits for the bot to do something.
pub const WAIT: Duration = Duration::from_secs(20);

pub struct TestApp {
    pub api: FakeBotApi,
    /// `None` in demo mode (the app runs its own).
    pub sim: Option<Simulator>,
    app: Option<App>,
}

/// Settings a test may change (short timings by default).
pub fn settings(db: &TestDb, api: &FakeBotApi, sim: Option<&Simulator>) -> HashMap<String, String> {
    let mut s: HashMap<String, String> = [
        ("TELEGRAM_BOT_TOKEN", TOKEN.to_owned()),
        ("TELEGRAM_API_URL", api.url()),
        ("DATABASE_URL", db.url_text.clone()),
        ("ADMIN_IDS", ADMIN.to_string()),
        ("POLL_INTERVAL_SECS", "0.2".to_owned()),
        ("SETTLE_DELAY_SECS", "3".to_owned()),
        ("LEASE_SECS", "10".to_owned()),
        ("FOXRELOAD_TIMEOUT_SECS", "3".to_owned()),
        ("WORKER_IDLE_SECS", "0.1".to_owned()),
        ("STARS_SWEEP_SECS", "0.5".to_owned()),
        // Tests that scrape it ask for 127.0.0.1:0; parallel tests must
        // not fight over the default port.
        ("HTTP_ADDR", "off".to_owned()),
        ("MARKUP_PERCENT", "10".to_owned()),
        ("STARS_PER_USD", "100".to_owned()),
        (
            "INSTANCE_ID",
            format!("test-{}", uuid::Uuid::new_v4().simple()),
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    if let Some(sim) = sim {
        s.insert("FOXRELOAD_API_KEY".to_owned(), SIM_KEY.to_owned());
        s.insert("FOXRELOAD_BASE_URL".to_owned(), sim.base_url());
    }
    s
}

impl TestApp {
    /// A shop stocked by a fresh simulator.
    pub async fn spawn(db: &TestDb) -> TestApp {
        Self::spawn_with(db, SimOptions::default(), |_| {}).await
    }

    pub async fn spawn_with(
        db: &TestDb,
        options: SimOptions,
        change: impl FnOnce(&mut HashMap<String, String>),
    ) -> TestApp {
        let api = FakeBotApi::start(TOKEN).await;
        let sim = Simulator::start(
            "127.0.0.1:0".parse().unwrap(),
            SimOptions {
                api_key: SIM_KEY.to_owned(),
                ..options
            },
        )
        .await
        .expect("start the simulator");
        let mut s = settings(db, &api, Some(&sim));
        change(&mut s);
        Self::start(db, api, Some(sim), s).await
    }

    /// A shop stocked by a fresh simulator, talking to `api` as it stands
    /// (faults scripted before the start apply to it).
    pub async fn spawn_on(
        db: &TestDb,
        api: FakeBotApi,
        change: impl FnOnce(&mut HashMap<String, String>),
    ) -> TestApp {
        let sim = Simulator::start(
            "127.0.0.1:0".parse().unwrap(),
            SimOptions {
                api_key: SIM_KEY.to_owned(),
                ..SimOptions::default()
            },
        )
        .await
        .expect("start the simulator");
        let mut s = settings(db, &api, Some(&sim));
        change(&mut s);
        Self::start(db, api, Some(sim), s).await
    }

    /// Demo mode: no FOXRELOAD_API_KEY.
    pub async fn spawn_demo(db: &TestDb) -> TestApp {
        let api = FakeBotApi::start(TOKEN).await;
        let s = settings(db, &api, None);
        Self::start(db, api, None, s).await
    }

    async fn start(
        db: &TestDb,
        api: FakeBotApi,
        sim: Option<Simulator>,
        s: HashMap<String, String>,
    ) -> TestApp {
        let config = Config::from_lookup(|name| s.get(name).cloned()).expect("test config");
        let app = App::build(config).await.expect("build the app");
        // The catalog is synced at start; the shop opens once it is there.
        super::wait_for("the first catalog sync", WAIT, || async {
            let n = db
                .store
                .categories(
                    foxbot::clock::Clock::now_ms(&foxbot::clock::SystemClock),
                    Duration::from_secs(3600),
                )
                .await
                .ok()?
                .iter()
                .map(|c| c.sellable)
                .sum::<i64>();
            (n > 0).then_some(())
        })
        .await;
        TestApp {
            api,
            sim,
            app: Some(app),
        }
    }

    /// Drives a shop running elsewhere (a `foxbot run` process) through
    /// `api` and `sim`.
    pub fn attach(api: FakeBotApi, sim: Simulator) -> TestApp {
        TestApp {
            api,
            sim: Some(sim),
            app: None,
        }
    }

    /// Where `/metrics`, `/healthz` and `/readyz` are served.
    pub fn http_addr(&self) -> Option<std::net::SocketAddr> {
        self.app.as_ref().and_then(App::http_addr)
    }

    pub fn sim(&self) -> &Simulator {
        self.sim.as_ref().expect("not in demo mode")
    }

    /// A customer's message, and the bot's next answer to it.
    pub async fn say(&self, user: &TgUser, text: &str) -> SentMessage {
        let before = self.api.sent_messages(user.id).len();
        self.api.text(user, text);
        self.next_message(user, before).await
    }

    /// The first message to `user` after the first `before` ones.
    pub async fn next_message(&self, user: &TgUser, before: usize) -> SentMessage {
        self.api
            .wait(
                &format!("message {} to {}", before + 1, user.id),
                WAIT,
                |api| api.sent_messages(user.id).into_iter().nth(before),
            )
            .await
    }

    /// Presses the button labelled `label` on `message`, then waits until
    /// the bot has answered the press and shown something for it (an edit
    /// of that message, or a new message or invoice).
    pub async fn press(&self, user: &TgUser, message: &SentMessage, label: &str) {
        let shown = |api: &FakeBotApi| {
            let messages = api.sent_messages(user.id);
            let edits = messages
                .iter()
                .find(|m| m.message_id == message.message_id)
                .map_or(0, |m| m.edits);
            (messages.len(), edits, api.invoices().len())
        };
        let before = shown(&self.api);
        let query = self.api.press(user, message, label);
        self.api
            .wait(&format!("the answer to pressing {label:?}"), WAIT, |api| {
                let answered = api.callback_answers().iter().any(|a| a.query_id == query);
                (answered && shown(api) != before).then_some(())
            })
            .await;
    }

    /// The current state of the message `message_id` in `user`'s chat.
    pub fn message(&self, user: &TgUser, message_id: i64) -> SentMessage {
        self.api
            .sent_messages(user.id)
            .into_iter()
            .find(|m| m.message_id == message_id)
            .expect("the message exists")
    }

    pub async fn stop(mut self) {
        if let Some(app) = self.app.take() {
            app.shutdown().await;
        }
    }

    /// Stops the shop and starts it again on the same database and the same
    /// fake Telegram (which keeps what it recorded), as a restart would.
    pub async fn restart(mut self, db: &TestDb) -> TestApp {
        if let Some(app) = self.app.take() {
            app.shutdown().await;
        }
        let TestApp { api, .. } = self;
        Self::spawn_on(db, api, |_| {}).await
    }
}
