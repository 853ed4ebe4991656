//! Webhook mode (several replicas): Telegram posts updates to HTTP_ADDR
//! with the shared secret; a request without it is refused and changes
//! nothing.

use foxbot::foxreload::sim::SimOptions;
use serde_json::json;

use crate::support::TestDb;
use crate::support::app::{TestApp, WAIT};
use crate::support::bot_api::TgUser;

on_both_engines!(
    webhook_updates_need_the_secret_and_are_handled_with_it,
    an_update_telegram_sends_twice_is_handled_once,
);

const SECRET: &str = "s3cret_token-1_for-the-webhook-of-this-shop";

fn start_update(user: &TgUser, update_id: i64) -> serde_json::Value {
    command_update(user, update_id, "/start")
}

fn command_update(user: &TgUser, update_id: i64, command: &str) -> serde_json::Value {
    json!({
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": 1_764_000_000,
            "chat": { "id": user.id, "type": "private", "first_name": user.first_name },
            "from": {
                "id": user.id, "is_bot": false, "first_name": user.first_name,
                "language_code": "en"
            },
            "text": command,
            "entities": [{ "type": "bot_command", "offset": 0, "length": command.len() }]
        }
    })
}

async fn spawn_webhook_shop(db: &TestDb) -> TestApp {
    TestApp::spawn_with(db, SimOptions::default(), |s| {
        s.insert("HTTP_ADDR".to_owned(), "127.0.0.1:0".to_owned());
        s.insert(
            "WEBHOOK_URL".to_owned(),
            "https://shop.example/telegram/hook".to_owned(),
        );
        s.insert("WEBHOOK_SECRET".to_owned(), SECRET.to_owned());
    })
    .await
}

async fn webhook_updates_need_the_secret_and_are_handled_with_it(db: &TestDb) {
    let app = spawn_webhook_shop(db).await;
    assert_eq!(
        app.api.webhook_url().as_deref(),
        Some("https://shop.example/telegram/hook")
    );
    let user = TgUser::new(1001, "Asha").with_language("en");
    app.api.open_chat(&user);
    let url = format!("http://{}/telegram/hook", app.http_addr().unwrap());
    let client = reqwest::Client::new();

    for secret in [None, Some("wrong"), Some(&SECRET[..SECRET.len() - 1])] {
        let mut request = client.post(&url).json(&start_update(&user, 1));
        if let Some(s) = secret {
            request = request.header("X-Telegram-Bot-Api-Secret-Token", s);
        }
        let status = request.send().await.unwrap().status().as_u16();
        assert_eq!(status, 401, "secret {secret:?}");
    }
    let status = client
        .post(&url)
        .header("X-Telegram-Bot-Api-Secret-Token", SECRET)
        .json(&start_update(&user, 2))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16();
    assert_eq!(status, 200);
    let answer = app
        .api
        .wait_for_message(user.id, |m| m.text.is_some(), WAIT)
        .await;
    assert!(answer.text.unwrap().contains("Welcome"));
    // Only the update with the secret was handled: one answer.
    assert_eq!(app.api.sent_messages(user.id).len(), 1);
    app.stop().await;
}

/// Telegram posts an update again when it did not see it acknowledged (to
/// this replica or another): the second copy is skipped.
async fn an_update_telegram_sends_twice_is_handled_once(db: &TestDb) {
    let app = spawn_webhook_shop(db).await;
    let user = TgUser::new(1001, "Asha").with_language("en");
    app.api.open_chat(&user);
    let url = format!("http://{}/telegram/hook", app.http_addr().unwrap());
    let client = reqwest::Client::new();
    for (update_id, command) in [(7, "/start"), (7, "/start"), (8, "/help")] {
        let status = client
            .post(&url)
            .header("X-Telegram-Bot-Api-Secret-Token", SECRET)
            .json(&command_update(&user, update_id, command))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16();
        assert_eq!(status, 200);
    }
    // Updates of one chat are handled in order: once /help is answered,
    // the copy of /start before it has been seen too.
    app.api
        .wait_for_message(
            user.id,
            |m| m.text.as_deref().is_some_and(|t| t.contains("/orders")),
            WAIT,
        )
        .await;
    assert_eq!(
        app.api.sent_messages(user.id).len(),
        2,
        "update 7 was answered twice"
    );
    app.stop().await;
}
