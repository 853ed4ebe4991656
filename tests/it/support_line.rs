//! The support line as a buyer and an admin live it, through the fake Bot
//! API: a buyer's message reaches the admins with their orders, an admin's
//! reply reaches the buyer (in their language), a message delivered twice
//! is passed on once, a buyer cannot flood the admins, and /tickets closes
//! a ticket (the buyer is told).

use serde_json::json;

use crate::bot::{asha, buy_to_invoice, wait_for_codes};
use crate::support::app::{ADMIN, TestApp, WAIT};
use crate::support::bot_api::{SentMessage, TgUser};
use crate::support::{TestDb, wait_for};
use foxbot::bot::SUPPORT_MESSAGES_PER_WINDOW;
use foxbot::domain::PurchaseState;
use foxbot::foxreload::sim::SimOptions;

on_both_engines!(
    a_buyers_message_reaches_the_admin_with_their_orders_and_the_reply_reaches_them,
    a_hindi_buyer_is_asked_and_answered_in_hindi,
    the_same_message_delivered_twice_is_passed_on_once,
    a_buyer_who_writes_too_much_is_asked_to_wait_and_nothing_more_is_passed_on,
    tickets_lists_the_open_ones_and_the_close_button_closes_one,
    a_buyer_is_told_when_no_admin_can_be_reached,
);

fn owner() -> TgUser {
    TgUser::new(ADMIN, "Owner").with_language("en")
}

/// The shop, with its admin's chat open (the bot may write to it).
async fn shop(db: &TestDb) -> (TestApp, TgUser) {
    let app = TestApp::spawn(db).await;
    let admin = owner();
    app.api.open_chat(&admin);
    (app, admin)
}

/// The copies of tickets in the admin's chat whose text contains `needle`.
fn copies(app: &TestApp, needle: &str) -> Vec<SentMessage> {
    app.api
        .sent_messages(ADMIN)
        .into_iter()
        .filter(|m| {
            m.text
                .as_deref()
                .is_some_and(|t| t.contains("Ticket #") && t.contains(needle))
        })
        .collect()
}

/// Waits for the admin's copy of a buyer's message containing `needle`.
async fn copy_of(app: &TestApp, needle: &str) -> SentMessage {
    app.api
        .wait(&format!("the admin's copy of {needle:?}"), WAIT, |_| {
            copies(app, needle).pop()
        })
        .await
}

/// The admin replies to `copy`; returns the buyer's next message (the
/// answer) and the reply's message id.
async fn reply(
    app: &TestApp,
    admin: &TgUser,
    buyer: &TgUser,
    copy: &SentMessage,
    text: &str,
) -> (String, i64) {
    let before = app.api.sent_messages(buyer.id).len();
    let id = app.api.reply(admin, copy.message_id, text);
    let answer = app
        .next_message(buyer, before)
        .await
        .text
        .unwrap_or_default();
    (answer, id)
}

async fn a_buyers_message_reaches_the_admin_with_their_orders_and_the_reply_reaches_them(
    db: &TestDb,
) {
    let (app, admin) = shop(db).await;
    let buyer = asha();
    buy_to_invoice(&app, &buyer, "Gift cards", "Steam Wallet", "× 1").await;
    let invoice = app.api.invoices().pop().unwrap();
    app.api
        .checkout(&buyer, &invoice.payload, invoice.total_amount, WAIT)
        .await
        .expect("paid");
    wait_for_codes(&app, &buyer).await;
    wait_for("the purchase delivered", WAIT, || async {
        let p = db.store.purchase(1).await.ok()??;
        (p.state == PurchaseState::Delivered).then_some(())
    })
    .await;

    let ack = app.say(&buyer, "My code <b>does not</b> work").await;
    let ack = ack.text.unwrap();
    assert!(ack.contains("reached the shop (ticket #"), "{ack}");
    let copy = copy_of(&app, "does not").await;
    let text = copy.text.clone().unwrap();
    for expected in [
        "Asha",
        "1001",
        "language: English",
        "#1 Steam Wallet $10 × 1: delivered",
        "My code <b>does not</b> work",
    ] {
        assert!(text.contains(expected), "{expected:?} in {text}");
    }

    let (answer, _) = reply(&app, &admin, &buyer, &copy, "Sorry! Try this: #1 again").await;
    assert!(answer.contains("The shop answers:"), "{answer}");
    assert!(answer.contains("Sorry! Try this: #1 again"), "{answer}");
    app.api
        .wait_for_message(
            ADMIN,
            |m| {
                m.text
                    .as_deref()
                    .is_some_and(|t| t.contains("Sent to Asha"))
            },
            WAIT,
        )
        .await;

    // The buyer's next message continues the same ticket.
    let ticket = ticket_number(&ack);
    let more = app.say(&buyer, "Thanks, it works now").await.text.unwrap();
    assert!(more.contains(&format!("ticket #{ticket}")), "{more}");
    let second = copy_of(&app, "it works now").await.text.unwrap();
    assert!(second.contains(&format!("Ticket #{ticket}")), "{second}");
    app.stop().await;
}

/// The number after "ticket #" in a buyer's acknowledgement.
fn ticket_number(ack: &str) -> i64 {
    let lower = ack.to_lowercase();
    let at = lower.find("#").expect("a ticket number");
    lower[at + 1..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect::<String>()
        .parse()
        .expect("a ticket number")
}

async fn a_hindi_buyer_is_asked_and_answered_in_hindi(db: &TestDb) {
    let app = TestApp::spawn_with(db, SimOptions::default(), |s| {
        s.insert("SUPPORT_CONTACT".to_owned(), "fox_help".to_owned());
    })
    .await;
    let admin = owner();
    app.api.open_chat(&admin);
    let buyer = TgUser::new(1003, "Meera").with_language("hi");

    let ask = app.say(&buyer, "/support").await.text.unwrap();
    assert!(ask.contains("दुकान के लिए अपना संदेश"), "{ask}");
    assert!(ask.contains("@fox_help"), "the contact is shown: {ask}");
    let ack = app.say(&buyer, "मेरा कोड नहीं आया").await.text.unwrap();
    assert!(ack.contains("दुकान तक पहुँच गया"), "{ack}");

    let copy = copy_of(&app, "मेरा कोड नहीं आया").await;
    let text = copy.text.clone().unwrap();
    assert!(text.contains("language: Hindi"), "{text}");
    assert!(text.contains("No orders yet."), "{text}");
    let (answer, _) = reply(&app, &admin, &buyer, &copy, "We are checking").await;
    assert!(answer.contains("दुकान का जवाब:"), "{answer}");
    assert!(answer.contains("We are checking"), "{answer}");

    // /paysupport with text goes to the same ticket.
    let more = app.say(&buyer, "/paysupport ऑर्डर #7").await.text.unwrap();
    assert!(
        more.contains(&format!("टिकट #{}", ticket_number(&ack))),
        "{more}"
    );
    app.stop().await;
}

async fn the_same_message_delivered_twice_is_passed_on_once(db: &TestDb) {
    let (app, admin) = shop(db).await;
    let buyer = asha();
    app.say(&buyer, "first message").await;
    let first = copy_of(&app, "first message").await;
    // Telegram delivers the same message again (a new update id: a
    // re-sent webhook update, or another replica).
    let sent = app.api.sent_messages(buyer.id).len();
    let again = app.api.user_message(&buyer, 1);
    assert_eq!(again["text"], "first message");
    app.api.push_update(json!({ "message": again }));
    // The next message is handled after it (one chat's updates in order).
    app.say(&buyer, "second message").await;
    copy_of(&app, "second message").await;
    assert_eq!(copies(&app, "first message").len(), 1);
    assert_eq!(
        app.api.sent_messages(buyer.id).len(),
        sent + 1,
        "one answer to the buyer"
    );

    // The admin's reply delivered twice reaches the buyer once.
    let (_, reply_id) = reply(&app, &admin, &buyer, &first, "answer one").await;
    app.api
        .push_update(json!({ "message": app.api.user_message(&admin, reply_id) }));
    reply(&app, &admin, &buyer, &first, "answer two").await;
    let answers: Vec<String> = app
        .api
        .sent_messages(buyer.id)
        .into_iter()
        .filter_map(|m| m.text)
        .filter(|t| t.contains("The shop answers"))
        .collect();
    assert_eq!(answers.len(), 2, "{answers:?}");
    assert!(answers[1].contains("answer two"));
    app.stop().await;
}

async fn a_buyer_who_writes_too_much_is_asked_to_wait_and_nothing_more_is_passed_on(db: &TestDb) {
    let (app, _admin) = shop(db).await;
    let buyer = asha();
    for n in 0..SUPPORT_MESSAGES_PER_WINDOW {
        let ack = app.say(&buyer, &format!("message number {n}")).await;
        assert!(!ack.text.unwrap().contains("wait"));
    }
    let held = app.say(&buyer, "one too many").await.text.unwrap();
    assert!(held.contains("Please wait up to 10 minutes"), "{held}");
    let all = copies(&app, "message number").len();
    assert_eq!(all as i64, SUPPORT_MESSAGES_PER_WINDOW);
    assert!(copies(&app, "one too many").is_empty());
    app.stop().await;
}

async fn tickets_lists_the_open_ones_and_the_close_button_closes_one(db: &TestDb) {
    let (app, admin) = shop(db).await;
    let buyer = asha();
    let other = TgUser::new(1004, "Ravi").with_language("en");
    let ack = app.say(&buyer, "Where is my order?").await.text.unwrap();
    let ticket = ticket_number(&ack);
    app.say(&other, "Do you sell PSN cards?").await;

    // Not for buyers.
    let refused = app.say(&buyer, "/tickets").await.text.unwrap();
    assert!(refused.contains("don't know that command"), "{refused}");

    let list = app.say(&admin, "/tickets").await;
    let text = list.text.clone().unwrap();
    for expected in [
        "2 open tickets",
        "Asha",
        "Where is my order?",
        "Ravi",
        "PSN",
    ] {
        assert!(text.contains(expected), "{expected:?} in {text}");
    }
    let close = format!("Close #{ticket}");
    let data = list
        .callback_data(&close)
        .expect("a close button per ticket");

    // A buyer pressing it (forged) changes nothing.
    let forged = app.api.callback(&buyer, list.message_id, &data);
    let refused = app
        .api
        .wait("the forged press's answer", WAIT, |api| {
            api.callback_answers()
                .into_iter()
                .find(|a| a.query_id == forged)
        })
        .await;
    assert!(refused.text.unwrap_or_default().contains("expired"));

    let before = app.api.sent_messages(buyer.id).len();
    app.press(&admin, &list, &close).await;
    let closed = app.next_message(&buyer, before).await.text.unwrap();
    assert!(
        closed.contains(&format!("ticket #{ticket}) is closed")),
        "{closed}"
    );
    let shown = app.message(&admin, list.message_id).text.unwrap();
    assert!(
        shown.contains("1 open ticket") && !shown.contains("Asha"),
        "{shown}"
    );

    // Pressed again: already closed, the buyer is not told twice.
    let query = app.api.callback(&admin, list.message_id, &data);
    let answer = app
        .api
        .wait("the second press's answer", WAIT, |api| {
            api.callback_answers()
                .into_iter()
                .find(|a| a.query_id == query)
        })
        .await;
    assert!(answer.text.unwrap_or_default().contains("already closed"));
    // The buyer's next message opens a new ticket.
    let new = app.say(&buyer, "One more thing").await.text.unwrap();
    assert!(new.contains("reached the shop"), "{new}");
    assert_ne!(ticket_number(&new), ticket);
    let closings = app
        .api
        .sent_messages(buyer.id)
        .into_iter()
        .filter(|m| m.text.as_deref().is_some_and(|t| t.contains("is closed")))
        .count();
    assert_eq!(closings, 1);
    app.stop().await;
}

/// The admin never opened the bot (Telegram refuses to write to them): the
/// buyer is told their message did not get through, not that it did.
async fn a_buyer_is_told_when_no_admin_can_be_reached(db: &TestDb) {
    let app = TestApp::spawn(db).await;
    let buyer = asha();
    let told = app.say(&buyer, "Hello, anyone?").await.text.unwrap();
    assert!(told.contains("could not reach the shop"), "{told}");
    assert!(copies(&app, "anyone").is_empty());
    app.stop().await;
}
