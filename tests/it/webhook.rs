//! Webhook mode (several replicas): Telegram posts updates to HTTP_ADDR
//! with the shared secret; a request without it is refused and changes
//! nothing.

use foxbot::foxreload::sim::SimOptions;
use serde_json::json;

use crate::support::TestDb;
use crate::support::app::{TestApp, WAIT};
use crate::support::bot_api::TgUser;

on_both_engines!(webhook_updates_need_the_secret_and_are_handled_with_it);

const SECRET: &str = "s3cret_token-1";

fn start_update(user: &TgUser, update_id: i64) -> serde_json::Value {
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
            "text": "/start",
            "entities": [{ "type": "bot_command", "offset": 0, "length": 6 }]
        }
    })
}

async fn webhook_updates_need_the_secret_and_are_handled_with_it(db: &TestDb) {
    let app = TestApp::spawn_with(db, SimOptions::default(), |s| {
        s.insert("HTTP_ADDR".to_owned(), "127.0.0.1:0".to_owned());
        s.insert(
            "WEBHOOK_URL".to_owned(),
            "https://shop.example/telegram/hook".to_owned(),
        );
        s.insert("WEBHOOK_SECRET".to_owned(), SECRET.to_owned());
    })
    .await;
    assert_eq!(
        app.api.webhook_url().as_deref(),
        Some("https://shop.example/telegram/hook")
    );
    let user = TgUser::new(1001, "Asha").with_language("en");
    app.api.open_chat(&user);
    let url = format!("http://{}/telegram/hook", app.http_addr().unwrap());
    let client = reqwest::Client::new();

    for secret in [None, Some("wrong"), Some("s3cret_token-")] {
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
