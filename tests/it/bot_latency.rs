//! A benchmark, not a timed test (ignored by default): how long the bot
//! takes, against the fake Bot API over long polling, from a customer's
//! update to the bot's answer: `/start` → the catalog, and a deep link
//! (`/start buy_<id>`) → the invoice. Run:
//!
//! ```sh
//! cargo test --release --test it bot_latency -- --ignored --nocapture
//! ```

use std::time::{Duration, Instant};

use crate::support::TestDb;
use crate::support::app::{TestApp, WAIT};
use crate::support::bot_api::TgUser;

const ROUNDS: usize = 200;

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn report(what: &str, mut samples: Vec<Duration>) {
    samples.sort();
    println!(
        "{what}: n={} p50={:.1} ms p95={:.1} ms max={:.1} ms",
        samples.len(),
        percentile(&samples, 50.0).as_secs_f64() * 1000.0,
        percentile(&samples, 95.0).as_secs_f64() * 1000.0,
        samples.last().unwrap().as_secs_f64() * 1000.0,
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a benchmark: run with --ignored --nocapture"]
async fn bot_latency() {
    let db = TestDb::sqlite().await;
    let app = TestApp::spawn(&db).await;
    let mut start = Vec::new();
    let mut deep_link = Vec::new();
    for i in 0..ROUNDS {
        let user = TgUser::new(10_000 + i as i64, "Bench").with_language("en");
        let before = app.api.sent_messages(user.id).len();
        let t = Instant::now();
        app.api.text(&user, "/start");
        app.next_message(&user, before).await;
        start.push(t.elapsed());

        let invoices = app.api.invoices().len();
        let t = Instant::now();
        app.api.text(&user, "/start buy_product_steam_10");
        app.api
            .wait("the invoice", WAIT, |api| {
                (api.invoices().len() > invoices).then_some(())
            })
            .await;
        deep_link.push(t.elapsed());
    }
    report("/start -> catalog", start);
    report("deep link -> invoice", deep_link);
    app.stop().await;
}
