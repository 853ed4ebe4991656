//! Guarantee 5, for logs: what `foxbot run` writes during a full purchase,
//! in both formats and at debug level, holds neither the codes it delivered
//! nor the supplier key nor the bot token.

use std::process::Stdio;

use crate::bot::{asha, buy_to_invoice, codes_of_only_order, wait_for_codes};
use crate::support::app::{SIM_KEY, TOKEN, TestApp, WAIT, settings};
use crate::support::bot_api::FakeBotApi;
use crate::support::{KillOnDrop, TempDir, TestDb, foxbot, wait_for};
use foxbot::foxreload::sim::{SimOptions, Simulator};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_of_a_full_purchase_hold_no_codes_keys_or_tokens() {
    for format in ["json", "text"] {
        let db = TestDb::sqlite().await;
        let api = FakeBotApi::start(TOKEN).await;
        let sim = Simulator::start(
            "127.0.0.1:0".parse().unwrap(),
            SimOptions {
                api_key: SIM_KEY.to_owned(),
                ..SimOptions::default()
            },
        )
        .await
        .unwrap();
        let dir = TempDir::new();
        let log_path = dir.path().join("foxbot.log");
        let log_file = std::fs::File::create(&log_path).unwrap();
        let mut cmd = foxbot(dir.path());
        for (k, v) in settings(&db, &api, Some(&sim)) {
            cmd.env(k, v);
        }
        let mut child = cmd
            .arg("run")
            .env("HTTP_ADDR", "127.0.0.1:0")
            .env("LOG_FORMAT", format)
            .env("RUST_LOG", "debug")
            // To a file: a pipe nobody reads fills up and stops the process.
            .stdout(Stdio::from(log_file.try_clone().unwrap()))
            .stderr(Stdio::from(log_file))
            .spawn()
            .map(KillOnDrop)
            .expect("start foxbot run");
        // The same customer journey as the bot tests, against the process.
        let app = TestApp::attach(api, sim);
        tokio::time::sleep(std::time::Duration::from_secs(2)).await;
        if let Ok(Some(status)) = child.0.try_wait() {
            let logs = std::fs::read_to_string(&log_path).unwrap_or_default();
            let tail: Vec<&str> = logs.lines().rev().take(5).collect();
            panic!("{format}: foxbot run exited ({status}):\n{tail:#?}");
        }
        wait_for("the catalog", WAIT, || async {
            let n: i64 = db
                .store
                .categories(
                    foxbot::clock::Clock::now_ms(&foxbot::clock::SystemClock),
                    std::time::Duration::from_secs(3600),
                )
                .await
                .ok()?
                .iter()
                .map(|c| c.sellable)
                .sum();
            (n > 0).then_some(())
        })
        .await;
        let user = asha();
        buy_to_invoice(&app, &user, "Gift cards", "Steam Wallet", "× 2").await;
        let invoice = app.api.invoices().pop().unwrap();
        app.api
            .checkout(&user, &invoice.payload, invoice.total_amount, WAIT)
            .await
            .unwrap();
        wait_for_codes(&app, &user).await;
        let codes = codes_of_only_order(&app);
        assert_eq!(codes.len(), 2);

        // A clean stop (SIGTERM): it finishes what it has in hand and exits.
        let pid = child.0.id().to_string();
        let _ = std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status();
        let deadline = std::time::Instant::now() + WAIT;
        let status = loop {
            if let Ok(Some(status)) = child.0.try_wait() {
                break status;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "{format}: foxbot run did not exit on SIGTERM"
            );
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        };
        assert!(status.success(), "{format}: exit status {status}");
        let logs = std::fs::read_to_string(&log_path).unwrap();
        assert!(
            logs.contains("codes delivered"),
            "{format}: the run was logged:\n{logs}"
        );
        if format == "json" {
            let first = logs.lines().find(|l| !l.trim().is_empty()).unwrap();
            assert!(
                serde_json::from_str::<serde_json::Value>(first).is_ok(),
                "{first}"
            );
        }
        for code in &codes {
            assert!(
                !logs.contains(code.as_str()),
                "{format}: a code in the logs"
            );
        }
        assert!(
            !logs.contains(SIM_KEY),
            "{format}: the supplier key in the logs"
        );
        let secret = TOKEN.split_once(':').unwrap().1;
        assert!(
            !logs.contains(secret),
            "{format}: the bot token in the logs"
        );
    }
}
