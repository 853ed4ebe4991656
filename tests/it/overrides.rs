//! `CATALOG_OVERRIDES`: the shop's own product names and descriptions per
//! language. A Hindi buyer reads the Hindi name in the catalog list, on the
//! product card, the invoice, their progress message and /orders; an
//! English buyer still reads the supplier's; a malformed file stops the start with one line.

use crate::bot::asha;
use crate::support::app::{TestApp, WAIT};
use crate::support::bot_api::TgUser;
use crate::support::{TempDir, TestDb, foxbot};
use foxbot::foxreload::sim::SimOptions;

on_both_engines!(a_hindi_buyer_reads_the_shops_hindi_name_and_an_english_buyer_the_catalogs);

const OVERRIDES: &str = r#"
# The shop's words for its products.
[product_steam_10]
name.hi = "स्टीम वॉलेट कार्ड $10"
description.hi = "Steam पर गेम ख़रीदने के लिए वॉलेट कोड।"
"#;

async fn a_hindi_buyer_reads_the_shops_hindi_name_and_an_english_buyer_the_catalogs(db: &TestDb) {
    let dir = TempDir::new();
    let file = dir.path().join("overrides.toml");
    std::fs::write(&file, OVERRIDES).unwrap();
    let path = file.to_str().unwrap().to_owned();
    let app = TestApp::spawn_with(db, SimOptions::default(), |s| {
        s.insert("CATALOG_OVERRIDES".to_owned(), path);
    })
    .await;

    let ravi = TgUser::new(1303, "Ravi").with_language("hi");
    let menu = app.say(&ravi, "/start").await;
    app.press(&ravi, &menu, "Gift cards").await;
    let list = app.message(&ravi, menu.message_id);
    let labels: Vec<String> = list.buttons().into_iter().map(|b| b.text).collect();
    assert!(
        labels
            .iter()
            .any(|l| l.starts_with("स्टीम वॉलेट कार्ड $10 — ⭐")),
        "{labels:?}"
    );
    assert!(
        !labels.iter().any(|l| l.contains("Steam Wallet $10")),
        "{labels:?}"
    );
    app.press(&ravi, &list, "स्टीम वॉलेट कार्ड").await;
    let card = app.message(&ravi, menu.message_id);
    let text = card.text.clone().unwrap_or_default();
    assert!(text.starts_with("स्टीम वॉलेट कार्ड $10"), "{text}");
    assert!(text.contains("Steam पर गेम ख़रीदने के लिए वॉलेट कोड।"), "{text}");
    // Paid: the progress message names it the same way.
    app.press(&ravi, &card, "× 1").await;
    let invoice = app.api.invoices().pop().expect("an invoice");
    // The invoice names it so too (title, price line, description).
    assert!(invoice.title.contains("स्टीम वॉलेट कार्ड $10"), "{invoice:?}");
    assert!(
        invoice.prices[0].0.contains("स्टीम वॉलेट कार्ड $10"),
        "{invoice:?}"
    );
    assert!(
        invoice.description.contains("स्टीम वॉलेट कार्ड $10"),
        "{invoice:?}"
    );
    app.api
        .checkout(&ravi, &invoice.payload, invoice.total_amount, WAIT)
        .await
        .expect("the pre-checkout is accepted");
    app.api
        .wait_for_message(
            ravi.id,
            |m| {
                m.text
                    .as_deref()
                    .is_some_and(|t| t.contains("ऑर्डर #") && t.contains("(स्टीम वॉलेट कार्ड $10 × 1)"))
            },
            WAIT,
        )
        .await;

    // And so does their order list.
    let orders = app.say(&ravi, "/orders").await;
    let labels: Vec<String> = orders.buttons().into_iter().map(|b| b.text).collect();
    assert!(
        labels.iter().any(|l| l.contains("स्टीम वॉलेट कार्ड $10 × 1")),
        "{labels:?}"
    );

    // An English buyer: the supplier's name, as before.
    let buyer = asha();
    let menu = app.say(&buyer, "/start").await;
    app.press(&buyer, &menu, "Gift cards").await;
    let list = app.message(&buyer, menu.message_id);
    let labels: Vec<String> = list.buttons().into_iter().map(|b| b.text).collect();
    assert!(
        labels
            .iter()
            .any(|l| l.starts_with("Steam Wallet $10 — ⭐")),
        "{labels:?}"
    );
    app.stop().await;
}

/// A language the bot does not speak, or a file that is not TOML: `foxbot
/// run` stops before anything happens, with one line naming the setting,
/// the file and the problem.
#[test]
fn a_malformed_overrides_file_stops_the_start_with_one_line() {
    for (content, problem) in [
        (
            "[product_steam_10]\nname.fr = \"Carte\"\n",
            "unknown language \"fr\"",
        ),
        (
            "[product_steam_10\nname.hi = \"x\"\n",
            "line 1: not valid TOML",
        ),
    ] {
        let dir = TempDir::new();
        let file = dir.path().join("overrides.toml");
        std::fs::write(&file, content).unwrap();
        let out = foxbot(dir.path())
            .args(["run"])
            .envs([
                ("TELEGRAM_BOT_TOKEN", "1:t"),
                ("CATALOG_OVERRIDES", file.to_str().unwrap()),
            ])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
        assert_eq!(lines.len(), 1, "one line: {stderr}");
        assert!(lines[0].contains("CATALOG_OVERRIDES"), "{stderr}");
        assert!(lines[0].contains(problem), "{stderr}");
        assert!(!dir.path().join("data").exists(), "nothing happened");
    }
}
