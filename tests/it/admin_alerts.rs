//! Admin alerts are stored as their kind and arguments and worded when
//! sent, in each admin's own language (their `/language` choice, else
//! Telegram's), through the fake Bot API against the real app.

use std::time::Duration;

use foxbot::domain::PurchaseState;
use foxbot::foxreload::sim::{OrderOutcome, SimOptions};

use crate::bot::{asha, buy_to_invoice};
use crate::support::app::{ADMIN, TestApp, WAIT};
use crate::support::bot_api::{SentMessage, TgUser};
use crate::support::{TestDb, wait_for};

on_both_engines!(
    an_engine_alert_reaches_a_hindi_admin_in_hindi_and_an_english_admin_in_english,
    an_alert_stored_before_arguments_is_sent_as_it_was_written,
);

/// The second admin, who reads Hindi.
const HINDI_ADMIN: i64 = 9001;

/// A shop with two admins whose purchases stall fast: alerted after 1 s
/// in a state, dead-lettered after 2 s.
async fn two_admin_shop(db: &TestDb) -> TestApp {
    TestApp::spawn_with(db, SimOptions::default(), |s| {
        s.insert("ADMIN_IDS".to_owned(), format!("{ADMIN},{HINDI_ADMIN}"));
        s.insert("STALL_ALERT_SECS".to_owned(), "1".to_owned());
        s.insert("STALL_DEAD_SECS".to_owned(), "2".to_owned());
    })
    .await
}

/// The first message to `who` containing every one of `needles`.
async fn message_with(app: &TestApp, who: &TgUser, needles: &[&str]) -> SentMessage {
    app.api
        .wait(&format!("a message with {needles:?}"), WAIT, |api| {
            api.sent_messages(who.id).into_iter().find(|m| {
                m.text
                    .as_deref()
                    .is_some_and(|t| needles.iter().all(|n| t.contains(n)))
            })
        })
        .await
}

async fn an_engine_alert_reaches_a_hindi_admin_in_hindi_and_an_english_admin_in_english(
    db: &TestDb,
) {
    let app = two_admin_shop(db).await;
    let english = TgUser::new(ADMIN, "Owner").with_language("en");
    // Telegram says English; the admin's stored choice (Hindi) wins.
    let hindi = TgUser::new(HINDI_ADMIN, "Priya").with_language("en");
    let menu = app.say(&hindi, "/language").await;
    app.press(&hindi, &menu, "हिन्दी").await;
    app.say(&english, "/help").await;

    app.sim().set_product_outcome(
        "product_steam_10",
        OrderOutcome::stall(Duration::from_millis(300)),
    );
    let buyer = asha();
    buy_to_invoice(&app, &buyer, "Gift cards", "Steam Wallet", "× 1").await;
    let invoice = app.api.invoices().pop().expect("an invoice");
    let charge = app
        .api
        .checkout(&buyer, &invoice.payload, invoice.total_amount, WAIT)
        .await
        .expect("the pre-checkout is accepted");
    let p = wait_for("the dead letter", WAIT, || async {
        db.store
            .purchase_by_charge(&charge)
            .await
            .ok()
            .flatten()
            .filter(|p| p.state == PurchaseState::DeadLetter)
    })
    .await;
    let id = format!("#{}", p.id);

    // The engine's dead-letter alert, with its reason, in each language.
    let en = message_with(&app, &english, &["Dead letter", &id]).await;
    let en = en.text.unwrap();
    assert!(en.contains("needs attention"), "{en}");
    assert!(en.contains("(paid; ask the supplier)"), "the reason: {en}");
    let hi = message_with(&app, &hindi, &["अटकी हुई ख़रीद", &id]).await;
    let hi = hi.text.unwrap();
    assert!(hi.contains("ध्यान चाहिए"), "{hi}");
    assert!(hi.contains("सप्लायर से पूछें"), "the reason in Hindi: {hi}");
    assert!(hi.contains("सेकंड"), "the span in Hindi: {hi}");
    for english_word in ["needs attention", "supplier order", "after", "Dead letter"] {
        assert!(!hi.contains(english_word), "{english_word:?} in {hi}");
    }
    // Stored as kind and arguments, not as a sentence.
    let alerts = db.store.alerts_of(p.id).await.unwrap();
    let dead = alerts.iter().find(|a| a.kind == "dead_letter").unwrap();
    assert!(dead.detail.is_empty(), "{dead:?}");
    let args = dead.args.as_deref().unwrap();
    assert!(args.contains(r#""id":"stall-waiting-supplier""#), "{args}");
    assert!(!args.contains("needs attention"), "{args}");
    app.stop().await;
}

async fn an_alert_stored_before_arguments_is_sent_as_it_was_written(db: &TestDb) {
    // A row as the code before migration 0018 wrote it.
    insert_old_alert(db, "Purchase #77 will be refunded: the old <words>").await;
    let app = two_admin_shop(db).await;
    // Telegram lets the bot write only to those who started it.
    let english = TgUser::new(ADMIN, "Owner").with_language("en");
    app.api.text(&english, "/help");
    let shown = message_with(&app, &english, &["Purchase #77 will be refunded"]).await;
    let text = shown.text.unwrap();
    // (The fake shows the text as a client would: markup read, entities
    // decoded; the old words were escaped, or they would not read back.)
    assert!(
        text.starts_with("⚠️ refund\n"),
        "the kind as its title: {text}"
    );
    assert!(text.contains("the old <words>"), "{text}");
    wait_for("the old alert marked sent", WAIT, || async {
        let unsent = db.store.unsent_alerts(10).await.unwrap();
        unsent.is_empty().then_some(())
    })
    .await;
    app.stop().await;
}

async fn insert_old_alert(db: &TestDb, detail: &str) {
    let sql = "INSERT INTO alerts (kind, dedup_key, detail, created_at) \
               VALUES ('refund', 'old:77', $1, 1)";
    match &db.url {
        foxbot::config::DatabaseUrl::Sqlite { .. } => {
            let url = db.url_text.replace("sqlite://", "sqlite:");
            let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
            sqlx::query(sql).bind(detail).execute(&pool).await.unwrap();
            pool.close().await;
        }
        foxbot::config::DatabaseUrl::Postgres(_) => {
            let pool = sqlx::PgPool::connect(&db.url_text).await.unwrap();
            sqlx::query(sql).bind(detail).execute(&pool).await.unwrap();
            pool.close().await;
        }
    }
}
