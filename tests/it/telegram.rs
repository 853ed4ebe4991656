//! Telegram trouble never leaves the shop deaf or loses money: its 5xx
//! answers, proxy error pages and dropped connections are passing failures
//! (a refund or a delivery is tried again, never given to a person for
//! them), and a bot started while Telegram is down answers once it is back.
//! The real Telegram client against the fake Bot API.

use std::sync::Arc;
use std::time::{Duration, Instant};

use foxbot::bot::telegram::Telegram;
use foxbot::clock::{Clock, ManualClock};
use foxbot::delivery::refund::{RefundConfig, Refunder};
use foxbot::delivery::{Deliverer, DeliveryConfig};
use foxbot::domain::{Code, EventKind, PurchaseSource, PurchaseState};
use foxbot::store::{Change, Purchase, Store, Transition};

use crate::support::app::{TOKEN, TestApp};
use crate::support::bot_api::{FakeBotApi, TgUser};
use crate::support::db::new_purchase;
use crate::support::{TestDb, wait_for};

on_both_engines!(
    a_refund_through_telegram_5xx_pages_and_dropped_connections_ends_refunded,
    a_delivery_through_telegram_5xx_pages_is_sent_once_never_dead_lettered,
);

/// teloxide waits 10 s after each 5xx answer; a few of them fit in this.
const SLOW_WAIT: Duration = Duration::from_secs(90);

fn telegram(api: &FakeBotApi) -> Arc<Telegram> {
    let url = api.url().parse().expect("the fake's URL");
    Arc::new(Telegram::new(teloxide::Bot::new(TOKEN).set_api_url(url)))
}

async fn purchase(store: &Store, id: i64) -> Purchase {
    store.purchase(id).await.unwrap().unwrap()
}

/// Runs `step` (one worker pass), moving the manual clock past any backoff,
/// until the purchase is `want`; fails at once if it is dead-lettered.
async fn work_until<F, Fut>(
    store: &Store,
    clock: &ManualClock,
    id: i64,
    want: PurchaseState,
    mut step: F,
) where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let start = Instant::now();
    loop {
        step().await;
        let p = purchase(store, id).await;
        assert_ne!(
            p.state,
            PurchaseState::DeadLetter,
            "given to a person on a passing failure: {:?}",
            p.last_error
        );
        if p.state == want {
            return;
        }
        assert!(
            start.elapsed() < SLOW_WAIT,
            "still {:?} after {SLOW_WAIT:?}: {:?}",
            p.state,
            p.last_error
        );
        clock.advance(Duration::from_secs(600));
    }
}

async fn a_refund_through_telegram_5xx_pages_and_dropped_connections_ends_refunded(db: &TestDb) {
    let api = FakeBotApi::start(TOKEN).await;
    let user = TgUser::new(4101, "Ravi");
    let charge = api.new_charge_id();
    api.record_star_payment(&user, "p1", 50, &charge);
    // Telegram fails the first three refunds in each way it can.
    api.fault("refundStarPayment")
        .error(500, "Internal Server Error");
    api.fault("refundStarPayment").lose_request();
    api.fault("refundStarPayment").page(502);

    let clock = ManualClock::starting_now();
    let tg = telegram(&api);
    let refunder = Refunder::new(
        db.store.clone(),
        tg.clone(),
        tg,
        clock.clone(),
        RefundConfig {
            lease: Duration::from_secs(60),
            retry: Duration::from_secs(5),
            max_retry: Duration::from_secs(300),
            idle: Duration::from_millis(20),
        },
    );
    let mut np = new_purchase(user.id, "product_psn_pin", 1, &[]);
    np.source = PurchaseSource::Telegram;
    np.sale.stars = 50;
    np.telegram_charge_id = Some(charge.clone());
    let now = clock.now_ms();
    let id = db.store.insert_purchase(&np, now).await.unwrap();
    let p = purchase(&db.store, id).await;
    let t = Transition::by_hand(&p, PurchaseState::Refunding, EventKind::RefundNeeded).set(
        Change::LastError(Some("the supplier order failed".to_owned())),
    );
    assert!(db.store.transition(&t, now).await.unwrap().applied());

    work_until(&db.store, &clock, id, PurchaseState::Refunded, || async {
        refunder.refund_once("r/w0").await.unwrap();
    })
    .await;
    assert_eq!(
        api.calls("refundStarPayment").len(),
        4,
        "three failed, one went through"
    );
    let refunds = api.refunds();
    assert_eq!(refunds.len(), 1, "refunded once");
    assert_eq!(refunds[0].charge_id, charge);
}

async fn a_delivery_through_telegram_5xx_pages_is_sent_once_never_dead_lettered(db: &TestDb) {
    let api = FakeBotApi::start(TOKEN).await;
    let user = TgUser::new(4102, "Meera");
    api.open_chat(&user);
    // Telegram is down: its front answers an error page, then the Bot API
    // answers a 500. Neither sent the message.
    api.fault("sendMessage").page(502);
    api.fault("sendMessage").error(500, "Internal Server Error");

    let clock = ManualClock::starting_now();
    let deliverer = Deliverer::new(
        db.store.clone(),
        telegram(&api),
        clock.clone(),
        DeliveryConfig {
            lease: Duration::from_secs(60),
            retry: Duration::from_secs(2),
            idle: Duration::from_millis(20),
        },
    );
    let now = clock.now_ms();
    let id = db
        .store
        .insert_purchase(&new_purchase(user.id, "product_steam_10", 1, &[]), now)
        .await
        .unwrap();
    let p = purchase(&db.store, id).await;
    // ordering → on_hold → delivering, as the engine leaves it.
    let held = Transition::by_hand(&p, PurchaseState::OnHold, EventKind::OnHold);
    assert!(db.store.transition(&held, now).await.unwrap().applied());
    let p = purchase(&db.store, id).await;
    let done = Transition::by_hand(&p, PurchaseState::Delivering, EventKind::OrderCompleted);
    let mut tx = db.store.begin().await.unwrap();
    assert!(tx.transition(&done, now).await.unwrap().applied());
    let code = Code(serde_json::Value::String("GIFT-41020-CODE".to_owned()));
    tx.store_codes(id, &[code], now).await.unwrap();
    tx.commit().await.unwrap();

    work_until(&db.store, &clock, id, PurchaseState::Delivered, || async {
        deliverer.deliver_once("d/w0").await.unwrap();
    })
    .await;
    assert_eq!(
        api.calls("sendMessage").len(),
        3,
        "two failed, one went through"
    );
    let sent = api.sent_messages(user.id);
    assert_eq!(sent.len(), 1, "the codes arrived once");
    let text = sent[0].text.clone().unwrap_or_default();
    assert!(text.contains("GIFT-41020-CODE"), "{text}");
    assert!(
        !text.contains("Sent again"),
        "nothing had arrived, so it is no re-send: {text}"
    );
}

async fn readyz(app: &TestApp) -> (u16, String) {
    let addr = app.http_addr().expect("HTTP_ADDR is set");
    let response = reqwest::get(format!("http://{addr}/readyz"))
        .await
        .expect("the listener answers");
    let status = response.status().as_u16();
    (status, response.text().await.unwrap_or_default())
}

async fn wait_for_readyz(app: &TestApp, what: &str, want: impl Fn(u16, &str) -> bool) -> String {
    wait_for(what, SLOW_WAIT, || async {
        let (status, body) = readyz(app).await;
        want(status, &body).then_some(body)
    })
    .await
}

/// `/start` reaches the bot and it answers with the welcome.
async fn answers_start(app: &TestApp, user: &TgUser) {
    let before = app.api.sent_messages(user.id).len();
    app.api.text(user, "/start");
    let answer = app
        .api
        .wait(&format!("an answer to {}", user.id), SLOW_WAIT, |api| {
            api.sent_messages(user.id).into_iter().nth(before)
        })
        .await;
    let text = answer.text.unwrap_or_default();
    assert!(text.contains("Welcome"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bot_started_while_telegram_is_down_answers_once_it_is_back_and_readyz_says_so() {
    let db = TestDb::sqlite().await;
    let api = FakeBotApi::start(TOKEN).await;
    // Telegram's front answers 502 pages to everything.
    api.fault("*").always().page(502);
    let app = TestApp::spawn_on(&db, api, |s| {
        s.insert("HTTP_ADDR".to_owned(), "127.0.0.1:0".to_owned());
    })
    .await;

    let (status, body) = readyz(&app).await;
    assert_eq!(status, 503, "ready with Telegram down: {body}");
    assert!(body.contains("telegram"), "{body}");
    // It keeps knocking: getMe asked again after it failed.
    app.api
        .wait("getMe asked again", SLOW_WAIT, |api| {
            (api.calls("getMe").len() >= 2).then_some(())
        })
        .await;
    let (status, body) = readyz(&app).await;
    assert_eq!(status, 503, "ready with Telegram still down: {body}");

    app.api.clear_faults();
    // The same process takes updates again.
    answers_start(&app, &TgUser::new(4103, "Kiran").with_language("en")).await;
    wait_for_readyz(&app, "/readyz green after the outage", |status, _| {
        status == 200
    })
    .await;
    // Still asking for payments' pre-checkout queries.
    assert!(app.api.receives("pre_checkout_query"));
    // The command menus refused at start are set too.
    app.api
        .wait("the command menu", SLOW_WAIT, |api| api.my_commands(""))
        .await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readyz_fails_while_get_updates_keeps_failing_and_recovers_after() {
    let db = TestDb::sqlite().await;
    let app = TestApp::spawn_on(&db, FakeBotApi::start(TOKEN).await, |s| {
        s.insert("HTTP_ADDR".to_owned(), "127.0.0.1:0".to_owned());
        s.insert("TELEGRAM_POLL_SILENCE_SECS".to_owned(), "3".to_owned());
    })
    .await;
    wait_for_readyz(&app, "/readyz green at start", |status, _| status == 200).await;

    // Telegram drops every getUpdates connection.
    app.api.fault("getUpdates").always().lose_request();
    let body = wait_for_readyz(&app, "/readyz failing on getUpdates", |status, _| {
        status == 503
    })
    .await;
    assert!(body.contains("getUpdates has not succeeded"), "{body}");

    app.api.clear_faults();
    wait_for_readyz(&app, "/readyz green again", |status, _| status == 200).await;
    answers_start(&app, &TgUser::new(4104, "Dev").with_language("en")).await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webhook_telegram_refuses_at_start_is_set_once_it_is_back() {
    let db = TestDb::sqlite().await;
    let api = FakeBotApi::start(TOKEN).await;
    api.fault("setWebhook").always().lose_request();
    let app = TestApp::spawn_on(&db, api, |s| {
        s.insert("HTTP_ADDR".to_owned(), "127.0.0.1:0".to_owned());
        s.insert(
            "WEBHOOK_URL".to_owned(),
            "https://shop.example/telegram/hook".to_owned(),
        );
        s.insert(
            "WEBHOOK_SECRET".to_owned(),
            "s3cret_token-1_for-the-webhook-of-this-shop".to_owned(),
        );
    })
    .await;
    // Until the dispatcher has started, /readyz names that first; then the
    // webhook it cannot set.
    wait_for_readyz(&app, "/readyz failing without a webhook", |status, body| {
        status == 503 && body.contains("webhook")
    })
    .await;
    app.api
        .wait("setWebhook asked again", SLOW_WAIT, |api| {
            (api.calls("setWebhook").len() >= 2).then_some(())
        })
        .await;

    app.api.clear_faults();
    wait_for_readyz(
        &app,
        "/readyz green once the webhook is set",
        |status, _| status == 200,
    )
    .await;
    assert_eq!(
        app.api.webhook_url().as_deref(),
        Some("https://shop.example/telegram/hook")
    );
    app.stop().await;
}
