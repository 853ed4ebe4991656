//! The buyer's side in the buyer's language: the invoice (title,
//! description, price label, the note fields under their labels), the
//! note fields confirmed before it, the codes' parts named, and the
//! command menu of a chat after `/language`.

use crate::support::TestDb;
use crate::support::app::{ADMIN, TestApp, WAIT};
use crate::support::bot_api::{SentMessage, TgUser};

on_both_engines!(
    a_buyer_who_chooses_hindi_gets_a_hindi_menu_and_a_hindi_invoice,
    an_admin_who_chooses_hindi_keeps_the_admin_commands_in_hindi,
    changing_the_note_fields_asks_them_again_from_the_first,
    a_hindi_buyers_codes_name_their_parts_in_hindi,
);

/// The customer commands, in the menu's order.
const CUSTOMER_MENU: [&str; 6] = [
    "start",
    "orders",
    "language",
    "help",
    "support",
    "paysupport",
];

fn names(menu: &[(String, String)]) -> Vec<&str> {
    menu.iter().map(|(name, _)| name.as_str()).collect()
}

/// `/language`, then the button of `choice`; returns once the menu the
/// user sees in their chat starts with `catalog` (the /start line), what
/// ever language their Telegram app has.
async fn choose_language(app: &TestApp, user: &TgUser, choice: &str, catalog: &str) {
    let ask = app.say(user, "/language").await;
    app.press(user, &ask, choice).await;
    app.api
        .wait(&format!("the chat's menu in {choice}"), WAIT, |api| {
            ["en", "hi"]
                .iter()
                .all(|telegram| {
                    api.menu_in_chat(user.id, telegram)
                        .is_some_and(|menu| menu.first().is_some_and(|(_, d)| d == catalog))
                })
                .then_some(())
        })
        .await;
}

/// `/start` → category → product → quantity: the first question asked.
async fn open_and_choose(
    app: &TestApp,
    user: &TgUser,
    category: &str,
    product: &str,
    qty: &str,
) -> SentMessage {
    let menu = app.say(user, "/start").await;
    app.press(user, &menu, category).await;
    let list = app.message(user, menu.message_id);
    app.press(user, &list, product).await;
    let card = app.message(user, menu.message_id);
    let before = app.api.sent_messages(user.id).len();
    app.press(user, &card, qty).await;
    app.next_message(user, before).await
}

fn text(m: &SentMessage) -> String {
    m.text.clone().unwrap_or_default()
}

async fn a_buyer_who_chooses_hindi_gets_a_hindi_menu_and_a_hindi_invoice(db: &TestDb) {
    let app = TestApp::spawn(db).await;
    // Telegram says English; the buyer chooses Hindi.
    let user = TgUser::new(2001, "Priya").with_language("en");
    let before = app.api.menu_in_chat(user.id, "en").expect("a menu");
    assert!(before.iter().any(|(_, d)| d == "Catalog"), "{before:?}");
    choose_language(&app, &user, "हिन्दी", "कैटलॉग").await;
    let menu = app
        .api
        .menu_in_chat(user.id, "en")
        .expect("the chat's menu");
    assert_eq!(names(&menu), CUSTOMER_MENU);
    assert!(menu.iter().any(|(_, d)| d.contains("कैटलॉग")), "{menu:?}");
    assert!(menu.iter().any(|(_, d)| d.contains("ऑर्डर")), "{menu:?}");

    let ask = open_and_choose(&app, &user, "Game top-ups", "Free Fire", "× 2").await;
    assert!(text(&ask).contains("प्लेयर आईडी"), "{ask:?}");
    let server = app.say(&user, "5123").await;
    assert!(text(&server).contains("सर्वर"), "{server:?}");
    let before = app.api.sent_messages(user.id).len();
    app.press(&user, &server, "in").await;
    let shown = app.next_message(&user, before).await;
    let shown_text = text(&shown);
    for want in ["प्लेयर आईडी: 5123", "सर्वर: in", "क्या यह सही है?"]
    {
        assert!(shown_text.contains(want), "{want} in {shown_text}");
    }
    assert!(
        app.api.invoices().is_empty(),
        "no invoice before the confirm"
    );
    app.press(&user, &shown, "✅ हाँ, सही है").await;
    let invoice = app
        .api
        .wait("the invoice", WAIT, |api| api.invoices().pop())
        .await;
    assert!(invoice.title.starts_with("ऑर्डर: Free Fire"), "{invoice:?}");
    for want in ["2 × Free Fire", "आपके कोड", "प्लेयर आईडी: 5123", "सर्वर: in"]
    {
        assert!(invoice.description.contains(want), "{want} in {invoice:?}");
    }
    for raw in ["player_id", "server:", "Your code"] {
        assert!(!invoice.description.contains(raw), "{raw} in {invoice:?}");
    }
    let (label, _) = &invoice.prices[0];
    assert!(label.starts_with("क़ीमत: 2 × Free Fire"), "{label}");
    assert!(label.chars().count() <= 32, "{label}");
    // The note reached the checkout as given, under its raw names.
    app.api
        .checkout(&user, &invoice.payload, invoice.total_amount, WAIT)
        .await
        .expect("the pre-checkout is accepted");
    let order = crate::support::wait_for("the supplier order", WAIT, || async {
        app.sim().orders().into_iter().next()
    })
    .await;
    assert_eq!(
        order.note,
        serde_json::json!({ "player_id": "5123", "server": "in" })
    );
    app.stop().await;
}

async fn an_admin_who_chooses_hindi_keeps_the_admin_commands_in_hindi(db: &TestDb) {
    let app = TestApp::spawn(db).await;
    let admin = TgUser::new(ADMIN, "Owner").with_language("en");
    choose_language(&app, &admin, "हिन्दी", "कैटलॉग").await;
    // Whatever Telegram language the admin's app has, the chat's menu is
    // the chosen one, the shop's commands below the customers'.
    for telegram in ["en", "hi"] {
        let menu = app.api.menu_in_chat(ADMIN, telegram).expect("a menu");
        assert_eq!(
            names(&menu),
            [
                "start",
                "orders",
                "language",
                "help",
                "support",
                "paysupport",
                "stalled",
                "balance",
                "order",
                "stats",
                "audit",
                "tickets"
            ],
            "{telegram}"
        );
        assert!(menu.iter().any(|(_, d)| d.contains("कैटलॉग")), "{menu:?}");
    }
    // Back to English: so is the menu, in an app set to Hindi too.
    choose_language(&app, &admin, "English", "Catalog").await;
    let menu = app.api.menu_in_chat(ADMIN, "hi").expect("a menu");
    assert_eq!(names(&menu).len(), 12, "{menu:?}");
    app.stop().await;
}

async fn changing_the_note_fields_asks_them_again_from_the_first(db: &TestDb) {
    let app = TestApp::spawn(db).await;
    let user = TgUser::new(2002, "Arjun").with_language("en");
    let ask = open_and_choose(&app, &user, "Game top-ups", "PUBG", "× 1").await;
    assert!(text(&ask).contains("player ID"), "{ask:?}");
    let shown = app.say(&user, "1111").await;
    assert!(text(&shown).contains("player ID: 1111"), "{shown:?}");
    // Text while the fields are shown: shown again, nothing else happens.
    let again = app.say(&user, "hello").await;
    assert!(text(&again).contains("player ID: 1111"), "{again:?}");
    let before = app.api.sent_messages(user.id).len();
    app.press(&user, &shown, "✏️ Change").await;
    let asked = app.next_message(&user, before).await;
    assert!(text(&asked).contains("player ID"), "{asked:?}");
    assert!(!text(&asked).contains("1111"), "{asked:?}");
    let shown = app.say(&user, "2222").await;
    assert!(text(&shown).contains("player ID: 2222"), "{shown:?}");
    app.press(&user, &shown, "✅ Yes").await;
    let invoice = app
        .api
        .wait("the invoice", WAIT, |api| api.invoices().pop())
        .await;
    assert!(
        invoice.description.contains("player ID: 2222"),
        "{invoice:?}"
    );
    assert!(!invoice.description.contains("1111"), "{invoice:?}");
    assert_eq!(invoice.title, "Order: PUBG Mobile 60 UC");
    // The confirmation is used up: pressed again, it makes no second invoice.
    let before = app.api.sent_messages(user.id).len();
    app.press(&user, &shown, "✅ Yes").await;
    let expired = app.next_message(&user, before).await;
    assert!(text(&expired).contains("expired"), "{expired:?}");
    assert_eq!(app.api.invoices().len(), 1);
    app.stop().await;
}

async fn a_hindi_buyers_codes_name_their_parts_in_hindi(db: &TestDb) {
    let app = TestApp::spawn(db).await;
    let user = TgUser::new(2003, "Kavya").with_language("hi");
    crate::bot::buy_to_invoice(&app, &user, "Gift cards", "PlayStation", "× 1").await;
    let invoice = app.api.invoices().pop().unwrap();
    app.api
        .checkout(&user, &invoice.payload, invoice.total_amount, WAIT)
        .await
        .expect("the pre-checkout is accepted");
    let delivered = app
        .api
        .wait_for_message(
            user.id,
            |m| m.text.as_deref().is_some_and(|t| t.contains("आपका ऑर्डर #")),
            WAIT,
        )
        .await;
    let codes = text(&delivered);
    assert!(
        codes.contains("कोड: ") && codes.contains("पिन: "),
        "{codes}"
    );
    assert!(
        !codes.contains("code:") && !codes.contains("pin:"),
        "{codes}"
    );
    app.stop().await;
}
