//! The shop as a customer lives it: a sequence of updates through the fake
//! Bot API, the real app behind it, the simulator as the supplier.

use std::time::Duration;

use crate::support::TestDb;
use crate::support::app::{ADMIN, TestApp, WAIT};
use crate::support::bot_api::{SentMessage, TgUser};
use foxbot::foxreload::sim::OrderOutcome;

on_both_engines!(
    a_customer_browses_buys_pays_and_receives_the_codes_once,
    the_same_successful_payment_twice_makes_one_order,
    one_invoice_paid_twice_refunds_the_second_charge,
    a_payment_whose_update_was_lost_is_recovered_by_the_sweep,
    a_failed_supplier_order_is_refunded_with_a_message_in_hindi,
    a_product_with_a_note_field_asks_for_it_and_the_value_reaches_the_supplier,
    a_button_from_another_user_or_forged_data_changes_nothing,
    a_non_admin_gets_nothing_from_admin_commands,
    garbage_text_and_emoji_floods_get_a_polite_answer,
    a_pre_checkout_is_refused_when_the_price_changed_since_the_invoice,
    language_follows_telegram_then_the_buyers_choice,
    the_command_menus_are_set_in_both_languages,
    a_buyers_codes_open_only_in_their_own_private_chat,
);

pub(crate) fn asha() -> TgUser {
    TgUser::new(1001, "Asha").with_language("en")
}

/// /start → category → product → quantity: the invoice sent.
pub(crate) async fn buy_to_invoice(
    app: &TestApp,
    user: &TgUser,
    category: &str,
    product: &str,
    qty: &str,
) {
    let menu = app.say(user, "/start").await;
    app.press(user, &menu, category).await;
    let list = app.message(user, menu.message_id);
    app.press(user, &list, product).await;
    let card = app.message(user, menu.message_id);
    let invoices = app.api.invoices().len();
    app.press(user, &card, qty).await;
    app.api
        .wait("the invoice", WAIT, |api| {
            (api.invoices().len() > invoices).then_some(())
        })
        .await;
}

/// The codes of the only order the simulator made.
pub(crate) fn codes_of_only_order(app: &TestApp) -> Vec<String> {
    let orders = app.sim().orders();
    assert_eq!(orders.len(), 1, "{orders:?}");
    orders[0]
        .codes
        .iter()
        .map(|c| {
            c.as_str()
                .map(str::to_owned)
                .unwrap_or_else(|| c.to_string())
        })
        .collect()
}

pub(crate) async fn wait_for_codes(app: &TestApp, user: &TgUser) -> SentMessage {
    app.api
        .wait_for_message(
            user.id,
            |m| {
                m.text
                    .as_deref()
                    .is_some_and(|t| t.contains("Your order #"))
            },
            WAIT,
        )
        .await
}

fn messages_with(app: &TestApp, user: &TgUser, needle: &str) -> usize {
    app.api
        .sent_messages(user.id)
        .iter()
        .filter(|m| m.text.as_deref().is_some_and(|t| t.contains(needle)))
        .count()
}

async fn a_customer_browses_buys_pays_and_receives_the_codes_once(db: &TestDb) {
    let app = TestApp::spawn(db).await;
    let user = asha();
    buy_to_invoice(&app, &user, "Gift cards", "Steam Wallet", "× 2").await;
    let invoice = app.api.invoices().pop().unwrap();
    assert_eq!(invoice.currency, "XTR");
    // 9.20 USD × 1.10 × 100 Stars/USD = 1012 Stars each.
    assert_eq!(invoice.total_amount, 2024);
    assert!(
        app.api.receives("pre_checkout_query"),
        "the bot must ask for pre_checkout_query updates"
    );
    app.api
        .checkout(&user, &invoice.payload, invoice.total_amount, WAIT)
        .await
        .expect("the pre-checkout is accepted");
    let delivered = wait_for_codes(&app, &user).await;
    let codes = codes_of_only_order(&app);
    assert_eq!(codes.len(), 2);
    let text = delivered.text.clone().unwrap();
    for code in &codes {
        assert!(text.contains(code.as_str()), "{text}");
    }
    // The progress message ends as delivered, and the codes went once.
    app.api
        .wait_for_message(
            user.id,
            |m| {
                m.text
                    .as_deref()
                    .is_some_and(|t| t.contains("is delivered"))
            },
            WAIT,
        )
        .await;
    assert_eq!(messages_with(&app, &user, &codes[0]), 1);
    assert!(app.sim().orders()[0].paid);
    app.stop().await;
}

async fn the_same_successful_payment_twice_makes_one_order(db: &TestDb) {
    let app = TestApp::spawn(db).await;
    let user = asha();
    buy_to_invoice(&app, &user, "Gift cards", "Google Play", "× 1").await;
    let invoice = app.api.invoices().pop().unwrap();
    let charge = app
        .api
        .checkout(&user, &invoice.payload, invoice.total_amount, WAIT)
        .await
        .unwrap();
    // Telegram delivers the same payment again.
    app.api
        .successful_payment(&user, &invoice.payload, invoice.total_amount, &charge);
    wait_for_codes(&app, &user).await;
    let update = app.api.last_update_id();
    app.api.wait_for_confirmed(update, WAIT).await;
    assert_eq!(app.sim().orders().len(), 1);
    assert!(app.api.refunds().is_empty());
    assert_eq!(messages_with(&app, &user, "Your order #"), 1);
    app.stop().await;
}

async fn one_invoice_paid_twice_refunds_the_second_charge(db: &TestDb) {
    let app = TestApp::spawn(db).await;
    let user = asha();
    buy_to_invoice(&app, &user, "Gift cards", "Google Play", "× 1").await;
    let invoice = app.api.invoices().pop().unwrap();
    let first = app.api.new_charge_id();
    let second = app.api.new_charge_id();
    app.api
        .successful_payment(&user, &invoice.payload, invoice.total_amount, &first);
    app.api
        .successful_payment(&user, &invoice.payload, invoice.total_amount, &second);
    let refund = app.api.wait_for_refund(&second, WAIT).await;
    assert_eq!(refund.amount, invoice.total_amount);
    wait_for_codes(&app, &user).await;
    assert_eq!(app.sim().orders().len(), 1);
    assert!(app.api.refunds().iter().all(|r| r.charge_id != first));
    app.api
        .wait_for_message(
            user.id,
            |m| {
                m.text
                    .as_deref()
                    .is_some_and(|t| t.contains("already been paid"))
            },
            WAIT,
        )
        .await;
    app.stop().await;
}

async fn a_payment_whose_update_was_lost_is_recovered_by_the_sweep(db: &TestDb) {
    let app = TestApp::spawn(db).await;
    let user = asha();
    buy_to_invoice(&app, &user, "Gift cards", "Steam Wallet", "× 1").await;
    let invoice = app.api.invoices().pop().unwrap();
    // Paid, but the update never reached the bot.
    let charge = app.api.new_charge_id();
    app.api
        .record_star_payment(&user, &invoice.payload, invoice.total_amount, &charge);
    wait_for_codes(&app, &user).await;
    assert_eq!(app.sim().orders().len(), 1);
    let p = db.store.purchase_by_charge(&charge).await.unwrap().unwrap();
    assert_eq!(p.stars, i64::from(invoice.total_amount));
    app.stop().await;
}

async fn a_failed_supplier_order_is_refunded_with_a_message_in_hindi(db: &TestDb) {
    let app = TestApp::spawn(db).await;
    app.sim().set_product_outcome(
        "product_steam_10",
        OrderOutcome::fail(Duration::from_millis(300)),
    );
    let user = TgUser::new(1002, "Ravi").with_language("hi");
    let menu = app.say(&user, "/start").await;
    assert!(menu.text.as_deref().unwrap().contains("स्वागत"), "{menu:?}");
    app.press(&user, &menu, "Gift cards").await;
    let list = app.message(&user, menu.message_id);
    app.press(&user, &list, "Steam Wallet").await;
    let card = app.message(&user, menu.message_id);
    assert!(card.text.as_deref().unwrap().contains("क़ीमत"), "{card:?}");
    app.press(&user, &card, "× 1").await;
    let invoice = app
        .api
        .wait("the invoice", WAIT, |api| api.invoices().pop())
        .await;
    let charge = app
        .api
        .checkout(&user, &invoice.payload, invoice.total_amount, WAIT)
        .await
        .unwrap();
    let refund = app.api.wait_for_refund(&charge, WAIT).await;
    assert_eq!(refund.amount, invoice.total_amount);
    let notice = app
        .api
        .wait_for_message(
            user.id,
            |m| {
                m.text
                    .as_deref()
                    .is_some_and(|t| t.contains("रिफ़ंड कर दिए गए"))
            },
            WAIT,
        )
        .await;
    // The reason names no internal part ("supplier").
    let notice = notice.text.unwrap();
    assert!(notice.contains("पूरा नहीं हो सका"), "{notice}");
    assert!(!notice.contains("सप्लायर"), "{notice}");
    // Hindi throughout: no English text reached this user.
    for m in app.api.sent_messages(user.id) {
        let text = m.text.unwrap_or_default();
        assert!(
            !text.contains("Your ") && !text.contains("Order #") && !text.contains("Choose"),
            "English text for a Hindi user: {text}"
        );
    }
    app.stop().await;
}

async fn a_product_with_a_note_field_asks_for_it_and_the_value_reaches_the_supplier(db: &TestDb) {
    let app = TestApp::spawn(db).await;
    let user = asha();
    let menu = app.say(&user, "/start").await;
    app.press(&user, &menu, "Game top-ups").await;
    let list = app.message(&user, menu.message_id);
    app.press(&user, &list, "PUBG").await;
    let card = app.message(&user, menu.message_id);
    let before = app.api.sent_messages(user.id).len();
    app.press(&user, &card, "× 1").await;
    let ask = app.next_message(&user, before).await;
    assert!(
        ask.text.as_deref().unwrap().contains("player ID"),
        "{ask:?}"
    );
    // An empty answer is refused and asked again.
    let again = app.say(&user, "   ").await;
    assert!(
        again
            .text
            .as_deref()
            .unwrap()
            .contains("does not look right")
    );
    // A pasted id with an invisible character is refused, naming it: the
    // supplier would get "51\u{200B}23" and the top-up would go nowhere.
    let hidden = app.say(&user, "51\u{200B}23").await;
    let hidden = hidden.text.unwrap();
    assert!(
        hidden.contains("zero-width") && hidden.contains("U+200B"),
        "{hidden}"
    );
    let bidi = app.say(&user, "\u{202E}3215").await;
    assert!(bidi.text.unwrap().contains("text-direction mark (U+202E)"));
    // The value is shown under its label, and confirmed.
    let shown = app.say(&user, "5123").await;
    let text = shown.text.as_deref().unwrap();
    assert!(text.contains("player ID: 5123"), "{text}");
    app.press(&user, &shown, "✅ Yes, that's right").await;
    let invoice = app
        .api
        .wait("the invoice", WAIT, |api| api.invoices().pop())
        .await;
    assert!(
        invoice.description.contains("player ID: 5123"),
        "{invoice:?}"
    );
    app.api
        .checkout(&user, &invoice.payload, invoice.total_amount, WAIT)
        .await
        .unwrap();
    wait_for_codes(&app, &user).await;
    let order = &app.sim().orders()[0];
    assert_eq!(order.note, serde_json::json!({ "player_id": "5123" }));
    app.stop().await;
}

async fn a_button_from_another_user_or_forged_data_changes_nothing(db: &TestDb) {
    let app = TestApp::spawn(db).await;
    let user = asha();
    buy_to_invoice(&app, &user, "Gift cards", "Steam Wallet", "× 1").await;
    let invoice = app.api.invoices().pop().unwrap();
    app.api
        .checkout(&user, &invoice.payload, invoice.total_amount, WAIT)
        .await
        .unwrap();
    wait_for_codes(&app, &user).await;
    let codes = codes_of_only_order(&app);
    let filter = foxbot::store::PurchaseFilter {
        states: vec![],
        user_id: None,
        limit: 10,
        oldest_first: true,
    };
    let purchase = db.store.purchases(&filter).await.unwrap()[0].id;

    // Another user presses "show order" on Asha's purchase.
    let mallory = TgUser::new(666, "Mallory").with_language("en");
    let menu = app.say(&mallory, "/orders").await;
    let before = app.api.sent_messages(mallory.id).len();
    app.api
        .callback(&mallory, menu.message_id, &format!("o:{purchase}"));
    let answer = app.next_message(&mallory, before).await;
    assert!(answer.text.as_deref().unwrap().contains("no such order"));
    // Forged and oversized data: answered as expired, nothing sent.
    for data in [
        "o:1:2",
        "a:refund:1",
        "ay:close:1",
        &"q:x:".repeat(20),
        "💥",
    ] {
        let query = app.api.callback(&mallory, menu.message_id, data);
        let answer = app
            .api
            .wait("the answer to a forged button", WAIT, |api| {
                api.callback_answers()
                    .into_iter()
                    .find(|a| a.query_id == query)
            })
            .await;
        assert!(
            answer.text.unwrap_or_default().contains("expired"),
            "{data}"
        );
    }
    for m in app.api.sent_messages(mallory.id) {
        let text = m.text.unwrap_or_default();
        assert!(!codes.iter().any(|c| text.contains(c.as_str())), "{text}");
    }
    assert_eq!(app.sim().orders().len(), 1);
    app.stop().await;
}

async fn a_non_admin_gets_nothing_from_admin_commands(db: &TestDb) {
    let app = TestApp::spawn(db).await;
    let user = asha();
    let unknown = app.say(&user, "/frobnicate").await.text.unwrap();
    for command in ["/stalled", "/balance", "/order 1", "/stats"] {
        let answer = app.say(&user, command).await.text.unwrap();
        assert_eq!(answer, unknown, "{command}");
    }
    assert_ne!(ADMIN, user.id);
    app.stop().await;
}

async fn garbage_text_and_emoji_floods_get_a_polite_answer(db: &TestDb) {
    let app = TestApp::spawn(db).await;
    let user = asha();
    for text in [
        "hello?",
        &"😀".repeat(2000),
        "<b>unclosed",
        "/start@other_bot p_no_such_product",
        "/start buy_",
        "\u{202e}\u{0}",
    ] {
        let answer = app.say(&user, text).await;
        assert!(answer.text.is_some_and(|t| !t.is_empty()));
    }
    assert_eq!(db.store.state_counts().await.unwrap(), vec![]);
    app.stop().await;
}

/// A demo runs on SQLite only (a PostgreSQL database belongs to a live shop).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_shop_delivers_without_payment_on_sqlite() {
    the_demo_shop_delivers_without_payment(&TestDb::sqlite().await).await;
}

async fn the_demo_shop_delivers_without_payment(db: &TestDb) {
    let app = TestApp::spawn_demo(db).await;
    let user = asha();
    let menu = app.say(&user, "/start").await;
    assert!(menu.text.as_deref().unwrap().contains("Demo shop"));
    app.press(&user, &menu, "Gift cards").await;
    let list = app.message(&user, menu.message_id);
    app.press(&user, &list, "Steam Wallet").await;
    let card = app.message(&user, menu.message_id);
    assert!(card.text.as_deref().unwrap().contains("demo"));
    app.press(&user, &card, "× 1").await;
    wait_for_codes(&app, &user).await;
    assert!(app.api.invoices().is_empty());
    assert!(app.api.calls("sendInvoice").is_empty());
    app.stop().await;
}

/// Syncs the catalog now, as the sync loop would at its next turn.
async fn resync(app: &TestApp, db: &TestDb) {
    let client = crate::support::rig::client(&app.sim().base_url(), Duration::from_secs(5), 6_000);
    let cfg = foxbot::catalog::CatalogConfig {
        categories: vec![],
        markup_percent: rust_decimal::Decimal::new(10, 0),
        stars_per_usd: rust_decimal::Decimal::new(100, 0),
        max_age: foxbot::catalog::DEFAULT_MAX_AGE,
        sync_every: foxbot::catalog::DEFAULT_SYNC_EVERY,
    };
    let now = foxbot::clock::Clock::now_ms(&foxbot::clock::SystemClock);
    let report = foxbot::catalog::sync(&db.store, &client, &cfg, now)
        .await
        .unwrap();
    assert!(report.is_complete(), "{report:?}");
}

async fn a_pre_checkout_is_refused_when_the_price_changed_since_the_invoice(db: &TestDb) {
    let app = TestApp::spawn(db).await;
    let user = asha();
    buy_to_invoice(&app, &user, "Gift cards", "Steam Wallet", "× 1").await;
    let invoice = app.api.invoices().pop().unwrap();
    app.sim().set_price(
        "product_steam_10",
        Some(foxbot::domain::Money::parse("12.00").unwrap()),
    );
    resync(&app, db).await;
    let refused = app
        .api
        .checkout(&user, &invoice.payload, invoice.total_amount, WAIT)
        .await
        .expect_err("the old price is refused");
    assert!(
        refused
            .error_message
            .unwrap_or_default()
            .contains("price has changed")
    );
    assert!(app.sim().orders().is_empty());
    // A fresh invoice at the new price goes through.
    buy_to_invoice(&app, &user, "Gift cards", "Steam Wallet", "× 1").await;
    let fresh = app.api.invoices().pop().unwrap();
    assert_eq!(fresh.total_amount, 1320);
    app.api
        .checkout(&user, &fresh.payload, fresh.total_amount, WAIT)
        .await
        .unwrap();
    wait_for_codes(&app, &user).await;
    app.stop().await;
}

async fn language_follows_telegram_then_the_buyers_choice(db: &TestDb) {
    let app = TestApp::spawn(db).await;
    let user = TgUser::new(1003, "Meera").with_language("hi");
    let help = app.say(&user, "/help").await;
    assert!(help.text.unwrap().contains("कमांड"));
    let menu = app.say(&user, "/language").await;
    app.press(&user, &menu, "English").await;
    let help = app.say(&user, "/help").await;
    assert!(help.text.unwrap().contains("Commands"), "the choice wins");
    // Telegram still says Hindi; the choice stays.
    let again = app.say(&user, "/help").await;
    assert!(again.text.unwrap().contains("Commands"));
    app.stop().await;
}

async fn the_command_menus_are_set_in_both_languages(db: &TestDb) {
    let app = TestApp::spawn(db).await;
    let en = app.api.my_commands("").expect("default menu");
    let hi = app.api.my_commands("hi").expect("Hindi menu");
    let names = |c: &Vec<(String, String)>| c.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>();
    assert_eq!(
        names(&en),
        [
            "start",
            "orders",
            "language",
            "help",
            "support",
            "paysupport"
        ]
    );
    assert_eq!(names(&en), names(&hi));
    assert!(hi.iter().any(|(_, d)| d.contains("कैटलॉग")));
    // Admin commands are not in the public menu.
    assert!(!names(&en).contains(&"stalled".to_owned()));
    app.stop().await;
}

/// A button of /orders pressed on a message forwarded to a group (or by
/// anyone in a group) shows nothing there: codes open only in the buyer's
/// own private chat.
async fn a_buyers_codes_open_only_in_their_own_private_chat(db: &TestDb) {
    let app = TestApp::spawn(db).await;
    let user = asha();
    buy_to_invoice(&app, &user, "Gift cards", "Steam Wallet", "× 1").await;
    let invoice = app.api.invoices().pop().unwrap();
    let charge = app
        .api
        .checkout(&user, &invoice.payload, invoice.total_amount, WAIT)
        .await
        .unwrap();
    wait_for_codes(&app, &user).await;
    let purchase = db.store.purchase_by_charge(&charge).await.unwrap().unwrap();
    let open_codes = foxbot::bot::Callback::Order { id: purchase.id }
        .data()
        .unwrap();
    let group = -100_555;
    let press = app.api.callback_in_chat(
        &user,
        serde_json::json!({ "id": group, "type": "supergroup", "title": "Deals" }),
        &open_codes,
    );
    let answer = crate::support::wait_for("the press answered", WAIT, || async {
        app.api
            .callback_answers()
            .into_iter()
            .find(|a| a.query_id == press)
    })
    .await;
    assert!(
        answer.text.is_some_and(|t| t.contains("private chat")),
        "the buyer is told where it works"
    );
    let to_group: Vec<_> = app
        .api
        .calls("sendMessage")
        .into_iter()
        .filter(|c| c.body["chat_id"].as_i64() == Some(group))
        .collect();
    assert!(to_group.is_empty(), "sent to the group: {to_group:?}");
    let code = &codes_of_only_order(&app)[0];
    assert_eq!(messages_with(&app, &user, code), 1, "codes shown again");
    app.stop().await;
}
