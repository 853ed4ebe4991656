//! The fake Telegram Bot API (`tests/support/bot_api.rs`) answers like
//! Telegram where the bot depends on it, driven here with plain HTTP calls.

use std::time::{Duration, Instant};

use reqwest::Client;
use serde_json::{Value, json};

use crate::support::bot_api::{FakeBotApi, QUERY_TOO_OLD, TgUser};

const TOKEN: &str = "123456:TEST-fake-token";
const DEADLINE: Duration = Duration::from_secs(10);

struct Tg {
    api: FakeBotApi,
    http: Client,
}

async fn start() -> Tg {
    Tg {
        api: FakeBotApi::start(TOKEN).await,
        http: Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(30))
            .build()
            .expect("http client"),
    }
}

impl Tg {
    /// Calls `method` as teloxide does: `POST {url}/bot{token}/{method}`, JSON.
    async fn call(&self, method: &str, body: Value) -> (u16, Value) {
        call(&self.http, &self.api.url(), TOKEN, method, body).await
    }

    /// Calls a method that must succeed; returns its `result`.
    async fn ok(&self, method: &str, body: Value) -> Value {
        let (status, reply) = self.call(method, body).await;
        assert_eq!(status, 200, "{method} failed: {reply}");
        assert_eq!(reply["ok"], json!(true));
        reply["result"].clone()
    }

    /// Calls a method that must fail with `code`; returns its `description`.
    async fn fails(&self, method: &str, body: Value, code: u16) -> String {
        let (status, reply) = self.call(method, body).await;
        assert_eq!(status, code, "{method} answered {reply}");
        assert_eq!(reply["ok"], json!(false));
        assert_eq!(reply["error_code"], json!(code));
        reply["description"].as_str().unwrap().to_owned()
    }

    async fn send(&self, chat_id: i64, text: &str) -> (u16, Value) {
        self.call("sendMessage", json!({"chat_id": chat_id, "text": text}))
            .await
    }

    async fn send_html(&self, chat_id: i64, text: &str) -> (u16, Value) {
        self.call(
            "sendMessage",
            json!({"chat_id": chat_id, "text": text, "parse_mode": "HTML"}),
        )
        .await
    }
}

async fn call(http: &Client, url: &str, token: &str, method: &str, body: Value) -> (u16, Value) {
    let response = http
        .post(format!("{url}/bot{token}/{method}"))
        .json(&body)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{method}: {e}"));
    let status = response.status().as_u16();
    (status, response.json().await.expect("a JSON reply"))
}

fn alice() -> TgUser {
    TgUser::new(1001, "Alice").with_language("en")
}

fn bob() -> TgUser {
    TgUser::new(1002, "Bob")
}

fn texts(updates: &Value) -> Vec<&str> {
    updates
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["message"]["text"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn a_long_poll_returns_as_soon_as_an_update_is_pushed_and_offsets_confirm() {
    let tg = start().await;
    let alice = alice();
    let started = Instant::now();
    let poll = {
        let (http, url) = (tg.http.clone(), tg.api.url());
        tokio::spawn(async move {
            let allowed = ["message", "callback_query", "pre_checkout_query"];
            let body = json!({"timeout": 25, "allowed_updates": allowed});
            call(&http, &url, TOKEN, "GetUpdates", body).await
        })
    };
    tg.api.wait_for_calls("getUpdates", 1, DEADLINE).await;
    tg.api.text(&alice, "/start");
    let (status, reply) = poll.await.unwrap();
    assert_eq!(status, 200);
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "the poll waited for its timeout"
    );

    // The shape teloxide needs.
    let updates = reply["result"].as_array().unwrap();
    assert_eq!(updates.len(), 1);
    let message = &updates[0]["message"];
    assert!(message["date"].as_i64().unwrap() > 1_700_000_000);
    assert_eq!(
        message["chat"],
        json!({"id": 1001, "type": "private", "first_name": "Alice"})
    );
    assert_eq!(
        message["from"],
        json!({"id": 1001, "is_bot": false, "first_name": "Alice", "language_code": "en"})
    );
    assert_eq!(
        message["entities"],
        json!([{"type": "bot_command", "offset": 0, "length": 6}])
    );
    let first = updates[0]["update_id"].as_i64().unwrap();

    // Not confirmed yet: asked again, it comes again.
    let again = tg.ok("getUpdates", json!({})).await;
    assert_eq!(again[0]["update_id"], json!(first));

    tg.api.text(&alice, "second");
    tg.api.text(&alice, "third");
    let page = tg
        .ok("getUpdates", json!({"offset": first + 1, "limit": 1}))
        .await;
    assert_eq!(texts(&page), ["second"]);
    assert!(tg.api.is_confirmed(first));
    let second = page[0]["update_id"].as_i64().unwrap();
    assert!(second > first);

    let page = tg.ok("getUpdates", json!({"offset": second + 1})).await;
    assert_eq!(texts(&page), ["third"]);
    let third = page[0]["update_id"].as_i64().unwrap();
    let page = tg.ok("getUpdates", json!({"offset": third + 1})).await;
    assert_eq!(page, json!([]));
    assert_eq!(tg.api.pending_updates(), 0);

    assert!(tg.api.allowed_updates_seen()[0].contains(&"pre_checkout_query".to_owned()));
    assert!(tg.api.receives("pre_checkout_query"));
}

#[tokio::test]
async fn updates_of_a_kind_the_bot_did_not_ask_for_never_reach_it() {
    let tg = start().await;
    let alice = alice();
    tg.ok("getUpdates", json!({"allowed_updates": ["message"]}))
        .await;
    assert!(!tg.api.receives("pre_checkout_query"));

    tg.api.pre_checkout(&alice, "purchase-1", 50);
    let updates = tg.ok("getUpdates", json!({})).await;

    assert_eq!(updates, json!([]));
    assert_eq!(tg.api.dropped_updates().len(), 1);
}

#[tokio::test]
async fn a_newer_poll_ends_a_waiting_one_with_409() {
    let tg = start().await;
    let waiting = {
        let (http, url) = (tg.http.clone(), tg.api.url());
        tokio::spawn(
            async move { call(&http, &url, TOKEN, "getUpdates", json!({"timeout": 25})).await },
        )
    };
    tg.api.wait_for_calls("getUpdates", 1, DEADLINE).await;

    tg.ok("getUpdates", json!({"timeout": 0})).await;

    let (status, reply) = waiting.await.unwrap();
    assert_eq!(status, 409);
    assert_eq!(
        reply["description"],
        "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running"
    );
}

#[tokio::test]
async fn a_wrong_token_is_unauthorized_and_the_right_one_gets_me() {
    let tg = start().await;

    let (status, reply) = call(&tg.http, &tg.api.url(), "123456:wrong", "getMe", json!({})).await;
    assert_eq!(status, 401);
    assert_eq!(
        reply,
        json!({"ok": false, "error_code": 401, "description": "Unauthorized"})
    );
    assert_eq!(tg.api.unauthorized_calls(), 1);
    assert!(tg.api.all_calls().is_empty());

    let me = tg.ok("GetMe", json!({})).await;
    assert_eq!(me["id"], json!(123456));
    assert_eq!(me["is_bot"], json!(true));
    assert!(me["username"].is_string() && me["first_name"].is_string());
    assert_eq!(me["has_main_web_app"], json!(false));
    assert_eq!(tg.api.calls("getMe").len(), 1);
}

#[tokio::test]
async fn an_unknown_method_is_404_and_recorded() {
    let tg = start().await;

    let description = tg.fails("sendPigeon", json!({"chat_id": 1}), 404).await;

    assert_eq!(description, "Not Found: method not found");
    assert_eq!(tg.api.calls("sendPigeon")[0].body, json!({"chat_id": 1}));
}

#[tokio::test]
async fn scripted_429s_come_first_then_the_send_goes_through() {
    let tg = start().await;
    let (alice, bob) = (alice(), bob());
    tg.api.open_chat(&alice);
    tg.api.open_chat(&bob);
    tg.api
        .fault("sendMessage")
        .chat(alice.id)
        .times(2)
        .retry_after(3);

    let (status, _) = tg.send(bob.id, "other chats are not scripted").await;
    assert_eq!(status, 200);
    for _ in 0..2 {
        let (status, reply) = tg.send(alice.id, "hello").await;
        assert_eq!(status, 429);
        assert_eq!(reply["description"], "Too Many Requests: retry after 3");
        assert_eq!(reply["parameters"], json!({"retry_after": 3}));
    }
    let (status, _) = tg.send(alice.id, "hello").await;

    assert_eq!(status, 200);
    assert_eq!(tg.api.sent_messages(alice.id).len(), 1);
    assert_eq!(tg.api.calls("sendMessage").len(), 4);
}

#[tokio::test]
async fn flood_limits_answer_429_when_enforced() {
    let tg = start().await;
    let alice = alice();
    tg.api.open_chat(&alice);
    tg.api.enforce_send_limits(1, 30);

    assert_eq!(tg.send(alice.id, "one").await.0, 200);
    let (status, reply) = tg.send(alice.id, "two").await;

    assert_eq!(status, 429);
    assert_eq!(reply["parameters"]["retry_after"], json!(1));
    assert_eq!(tg.api.sent_messages(alice.id).len(), 1);
}

#[tokio::test]
async fn a_chat_that_blocked_the_bot_answers_403_and_an_unknown_one_400() {
    let tg = start().await;
    let alice = alice();
    tg.api.open_chat(&alice);
    tg.api.block_chat(alice.id);

    let (status, reply) = tg.send(alice.id, "your codes").await;
    assert_eq!(status, 403);
    assert_eq!(
        reply["description"],
        "Forbidden: bot was blocked by the user"
    );
    assert!(tg.api.sent_messages(alice.id).is_empty());

    tg.api.unblock_chat(alice.id);
    assert_eq!(tg.send(alice.id, "your codes").await.0, 200);

    let (status, reply) = tg.send(bob().id, "never talked to us").await;
    assert_eq!(status, 400);
    assert_eq!(reply["description"], "Bad Request: chat not found");
}

#[tokio::test]
async fn html_and_length_are_validated_like_telegram() {
    let tg = start().await;
    let alice = alice();
    tg.api.open_chat(&alice);

    let sent = tg
        .ok(
            "sendMessage",
            json!({
                "chat_id": alice.id,
                "text": "<b>Code:</b> <code>AB&amp;CD</code> &lt;3",
                "parse_mode": "HTML",
            }),
        )
        .await;
    assert_eq!(sent["text"], "Code: AB&CD <3");
    assert_eq!(
        sent["entities"],
        json!([
            {"type": "bold", "offset": 0, "length": 5},
            {"type": "code", "offset": 6, "length": 5},
        ])
    );
    let stored = &tg.api.sent_messages(alice.id)[0];
    assert_eq!(stored.text.as_deref(), Some("Code: AB&CD <3"));
    assert_eq!(stored.parse_mode.as_deref(), Some("HTML"));

    for broken in [
        "<b>bold",
        "<b><i>x</b></i>",
        "line<br>break",
        "1 < 2",
        "x</b>",
    ] {
        let (status, reply) = tg.send_html(alice.id, broken).await;
        assert_eq!(status, 400, "{broken:?} was accepted");
        let description = reply["description"].as_str().unwrap();
        assert!(
            description.starts_with("Bad Request: can't parse entities: "),
            "{broken:?}: {description}"
        );
    }
    // Without a parse mode the same text is plain.
    assert_eq!(tg.send(alice.id, "1 < 2 & <b>").await.0, 200);

    // The limit counts what the customer sees, not the tags.
    let full = "я".repeat(4096);
    assert_eq!(
        tg.send_html(alice.id, &format!("<b>{full}</b>")).await.0,
        200
    );
    let (status, reply) = tg.send(alice.id, &format!("{full}!")).await;
    assert_eq!(status, 400);
    assert_eq!(reply["description"], "Bad Request: message is too long");
    for empty in ["", "<b> </b>"] {
        let (status, reply) = tg.send_html(alice.id, empty).await;
        assert_eq!(status, 400);
        assert_eq!(reply["description"], "Bad Request: message text is empty");
    }

    // callback_data: 1..=64 bytes.
    let keyboard =
        |data: &str| json!({"inline_keyboard": [[{"text": "Buy", "callback_data": data}]]});
    let (status, reply) = tg
        .call(
            "sendMessage",
            json!({"chat_id": alice.id, "text": "pick", "reply_markup": keyboard(&"x".repeat(65))}),
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(reply["description"], "Bad Request: BUTTON_DATA_INVALID");
    let sent = tg
        .ok(
            "sendMessage",
            json!({"chat_id": alice.id, "text": "pick", "reply_markup": keyboard(&"x".repeat(64))}),
        )
        .await;
    assert_eq!(sent["reply_markup"], keyboard(&"x".repeat(64)));
}

#[tokio::test]
async fn edits_apply_in_order_and_a_button_press_carries_the_current_message() {
    let tg = start().await;
    let alice = alice();
    tg.api.open_chat(&alice);
    let keyboard = json!({"inline_keyboard": [[{"text": "Buy 1", "callback_data": "buy:1"}]]});
    let sent = tg
        .ok(
            "sendMessage",
            json!({"chat_id": alice.id, "text": "Pick one", "reply_markup": keyboard}),
        )
        .await;
    let message_id = sent["message_id"].as_i64().unwrap();
    assert_eq!(sent["from"]["is_bot"], json!(true));

    let query_id = tg
        .api
        .press(&alice, &tg.api.sent_messages(alice.id)[0], "Buy");
    let updates = tg.ok("getUpdates", json!({})).await;
    let query = &updates[0]["callback_query"];
    assert_eq!(query["id"], json!(query_id));
    assert_eq!(query["data"], "buy:1");
    assert_eq!(query["message"]["text"], "Pick one");
    assert!(query["chat_instance"].is_string());
    tg.ok(
        "answerCallbackQuery",
        json!({"callback_query_id": query_id}),
    )
    .await;
    let twice = tg
        .fails(
            "answerCallbackQuery",
            json!({"callback_query_id": query_id}),
            400,
        )
        .await;
    assert_eq!(twice, QUERY_TOO_OLD);

    // An edit without reply_markup drops the keyboard, as on Telegram.
    let edit = json!({"chat_id": alice.id, "message_id": message_id, "text": "Paid"});
    let edited = tg.ok("editMessageText", edit.clone()).await;
    assert!(edited.get("reply_markup").is_none());
    assert!(edited["edit_date"].is_i64());
    let same = tg.fails("editMessageText", edit, 400).await;
    assert!(same.starts_with("Bad Request: message is not modified"));
    tg.ok(
        "editMessageReplyMarkup",
        json!({"chat_id": alice.id, "message_id": message_id, "reply_markup": keyboard}),
    )
    .await;

    let now = &tg.api.sent_messages(alice.id)[0];
    assert_eq!(now.text.as_deref(), Some("Paid"));
    assert_eq!(now.reply_markup.as_ref(), Some(&keyboard));
    assert_eq!(now.edits, 2);

    tg.ok(
        "deleteMessage",
        json!({"chat_id": alice.id, "message_id": message_id}),
    )
    .await;
    assert!(tg.api.sent_messages(alice.id)[0].deleted);
    let gone = tg
        .fails(
            "editMessageText",
            json!({"chat_id": alice.id, "message_id": message_id, "text": "x"}),
            400,
        )
        .await;
    assert_eq!(gone, "Bad Request: message to edit not found");
}

#[tokio::test]
async fn a_lost_reply_still_delivers_the_message_and_a_lost_request_does_not() {
    let tg = start().await;
    let alice = alice();
    tg.api.open_chat(&alice);

    tg.api.fault("sendMessage").lose_reply();
    let lost = tg
        .http
        .post(format!("{}/bot{TOKEN}/sendMessage", tg.api.url()))
        .json(&json!({"chat_id": alice.id, "text": "your code"}))
        .send()
        .await;
    assert!(lost.is_err(), "a reply came: {lost:?}");
    let sent = tg.api.sent_messages(alice.id);
    assert_eq!(sent.len(), 1);
    assert!(sent[0].reply_lost);

    tg.api.fault("sendMessage").lose_request();
    let lost = tg
        .http
        .post(format!("{}/bot{TOKEN}/sendMessage", tg.api.url()))
        .json(&json!({"chat_id": alice.id, "text": "your code"}))
        .send()
        .await;
    assert!(lost.is_err(), "a reply came: {lost:?}");
    assert_eq!(tg.api.sent_messages(alice.id).len(), 1);

    // A delay answers late but answers.
    tg.api.fault("getMe").delay(Duration::from_millis(200));
    let started = Instant::now();
    tg.ok("getMe", json!({})).await;
    assert!(started.elapsed() >= Duration::from_millis(200));
}

#[tokio::test]
async fn a_stars_invoice_is_recorded_and_checkout_pays_it() {
    let tg = start().await;
    let alice = alice();
    tg.api.open_chat(&alice);
    let invoice = json!({
        "chat_id": alice.id,
        "title": "Steam 10 USD",
        "description": "A Steam gift card",
        "payload": "purchase-7",
        "currency": "XTR",
        "prices": [{"label": "Steam 10 USD", "amount": 750}],
    });

    let sent = tg.ok("sendInvoice", invoice.clone()).await;
    assert_eq!(sent["invoice"]["total_amount"], json!(750));
    assert_eq!(sent["invoice"]["start_parameter"], "");
    let recorded = &tg.api.invoices()[0];
    assert_eq!(recorded.payload, "purchase-7");
    assert_eq!(recorded.prices, [("Steam 10 USD".to_owned(), 750)]);

    let mut with_token = invoice.clone();
    with_token["provider_token"] = json!("284685063:TEST:abc");
    let refused = tg.fails("sendInvoice", with_token, 400).await;
    assert_eq!(refused, "Bad Request: STARS_INVOICE_INVALID");

    // The test plays the bot: answer the pre-checkout query when it comes.
    let bot = async {
        let updates = tg
            .ok("getUpdates", json!({"timeout": 10, "allowed_updates": []}))
            .await;
        let query = updates[0]["pre_checkout_query"].clone();
        assert_eq!(query["currency"], "XTR");
        assert_eq!(query["total_amount"], json!(750));
        assert_eq!(query["invoice_payload"], "purchase-7");
        assert_eq!(query["from"]["id"], json!(alice.id));
        tg.ok(
            "answerPreCheckoutQuery",
            json!({"pre_checkout_query_id": query["id"], "ok": true}),
        )
        .await;
        let offset = updates[0]["update_id"].as_i64().unwrap() + 1;
        tg.ok("getUpdates", json!({"offset": offset, "timeout": 10}))
            .await
    };
    let (charge, updates) = tokio::join!(tg.api.checkout(&alice, "purchase-7", 750, DEADLINE), bot);
    let charge_id = charge.expect("the bot accepted");

    let payment = &updates[0]["message"]["successful_payment"];
    assert_eq!(payment["currency"], "XTR");
    assert_eq!(payment["total_amount"], json!(750));
    assert_eq!(payment["invoice_payload"], "purchase-7");
    assert_eq!(payment["telegram_payment_charge_id"], json!(charge_id));
    assert!(payment["provider_payment_charge_id"].is_string());
}

#[tokio::test]
async fn a_pre_checkout_answered_after_ten_seconds_is_too_old() {
    let tg = start().await;
    let alice = alice();

    let in_time = tg.api.pre_checkout(&alice, "purchase-1", 50);
    tg.ok(
        "answerPreCheckoutQuery",
        json!({"pre_checkout_query_id": in_time, "ok": true}),
    )
    .await;
    let again = tg
        .fails(
            "answerPreCheckoutQuery",
            json!({"pre_checkout_query_id": in_time, "ok": true}),
            400,
        )
        .await;
    assert_eq!(again, QUERY_TOO_OLD);

    let late = tg.api.pre_checkout(&alice, "purchase-2", 50);
    tg.api.advance(Duration::from_secs(11));
    let too_old = tg
        .fails(
            "answerPreCheckoutQuery",
            json!({"pre_checkout_query_id": late, "ok": false, "error_message": "Sold out"}),
            400,
        )
        .await;
    assert!(too_old.starts_with("Bad Request: query is too old"));

    let unknown = tg
        .fails(
            "answerPreCheckoutQuery",
            json!({"pre_checkout_query_id": "42", "ok": true}),
            400,
        )
        .await;
    assert_eq!(unknown, QUERY_TOO_OLD);

    let answers = tg.api.pre_checkout_answers();
    assert_eq!(answers.len(), 1);
    assert_eq!(answers[0].query_id, in_time);
    assert!(answers[0].ok);
}

#[tokio::test]
async fn refunding_a_charge_twice_answers_charge_already_refunded() {
    let tg = start().await;
    let alice = alice();
    tg.api
        .successful_payment(&alice, "purchase-1", 50, "stx-charge-1");
    let refund = json!({"user_id": alice.id, "telegram_payment_charge_id": "stx-charge-1"});

    assert_eq!(
        tg.ok("refundStarPayment", refund.clone()).await,
        json!(true)
    );
    let again = tg.fails("refundStarPayment", refund, 400).await;
    assert_eq!(again, "Bad Request: CHARGE_ALREADY_REFUNDED");
    let unknown = tg
        .fails(
            "refundStarPayment",
            json!({"user_id": alice.id, "telegram_payment_charge_id": "stx-nope"}),
            400,
        )
        .await;
    assert_eq!(unknown, "Bad Request: CHARGE_NOT_FOUND");

    let refunds = tg.api.refunds();
    assert_eq!(refunds.len(), 1);
    assert_eq!(refunds[0].charge_id, "stx-charge-1");
    assert_eq!(refunds[0].amount, 50);
    assert_eq!(tg.api.calls("refundStarPayment").len(), 3);
}

#[tokio::test]
async fn star_transactions_list_pushed_payments_and_refunds_newest_first() {
    let tg = start().await;
    let (alice, bob) = (alice(), bob());
    tg.api.successful_payment(&alice, "purchase-1", 50, "stx-1");
    // A payment whose update was lost: only the transactions tell of it.
    tg.api.record_star_payment(&bob, "purchase-2", 70, "stx-2");
    tg.ok(
        "refundStarPayment",
        json!({"user_id": alice.id, "telegram_payment_charge_id": "stx-1"}),
    )
    .await;

    let all = tg.ok("getStarTransactions", json!({})).await;
    let all = all["transactions"].as_array().unwrap();
    let ids: Vec<&str> = all.iter().map(|t| t["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["stx-1", "stx-2", "stx-1"]);
    let refund = &all[0];
    assert!(refund.get("source").is_none());
    assert_eq!(refund["receiver"]["type"], "user");
    assert_eq!(refund["receiver"]["user"]["id"], json!(alice.id));
    let payment = &all[1];
    assert_eq!(payment["amount"], json!(70));
    assert!(payment["date"].is_i64());
    assert_eq!(
        payment["source"],
        json!({
            "type": "user",
            "user": bob.to_json(),
            "transaction_type": "invoice_payment",
            "invoice_payload": "purchase-2",
        })
    );

    let page = tg
        .ok("getStarTransactions", json!({"offset": 1, "limit": 1}))
        .await;
    assert_eq!(page["transactions"][0]["id"], "stx-2");
    assert_eq!(page["transactions"].as_array().unwrap().len(), 1);

    tg.api.set_transactions_newest_first(false);
    let oldest_first = tg.ok("getStarTransactions", json!({"limit": 1})).await;
    assert!(oldest_first["transactions"][0]["source"].is_object());
}

#[tokio::test]
async fn commands_are_kept_per_language_and_checked() {
    let tg = start().await;
    let commands = json!([{"command": "start", "description": "Open the shop"}]);
    tg.ok("setMyCommands", json!({"commands": commands})).await;
    tg.ok(
        "setMyCommands",
        json!({"commands": [{"command": "orders", "description": "मेरे ऑर्डर"}], "language_code": "hi"}),
    )
    .await;

    assert_eq!(
        tg.api.my_commands(""),
        Some(vec![("start".to_owned(), "Open the shop".to_owned())])
    );
    assert_eq!(tg.api.my_commands("hi").unwrap()[0].0, "orders");
    assert_eq!(tg.ok("getMyCommands", json!({})).await, commands);

    let invalid = tg
        .fails(
            "setMyCommands",
            json!({"commands": [{"command": "Start", "description": "x"}]}),
            400,
        )
        .await;
    assert_eq!(invalid, "Bad Request: BOT_COMMAND_INVALID");
}

#[tokio::test]
async fn shutdown_releases_the_port() {
    let tg = start().await;
    let addr = tg.api.url().trim_start_matches("http://").to_owned();

    tg.api.shutdown().await;

    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
}
