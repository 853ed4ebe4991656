//! Demo and live never mix: a database records the mode that created it,
//! a demo runs only on a demo database (never on PostgreSQL), and a live
//! shop never runs on a demo database. Each refusal is one line naming
//! `FOXRELOAD_API_KEY`, before anything is touched.

use std::time::{Duration, Instant};

use foxbot::domain::{PurchaseSource, ShopMode};

use crate::support::db::{create_pg_database, drop_pg_database, new_purchase, now};
use crate::support::{KillOnDrop, TempDir, TestDb, foxbot};

on_both_engines!(
    the_first_start_records_the_mode_and_every_later_start_reads_it,
    a_database_from_before_modes_counts_as_live_once_it_holds_a_real_purchase,
    a_database_from_before_modes_with_only_demo_purchases_stays_a_demo,
);

async fn the_first_start_records_the_mode_and_every_later_start_reads_it(db: &TestDb) {
    assert_eq!(db.store.recorded_mode().await.unwrap(), None);
    assert_eq!(
        db.store.claim_mode(ShopMode::Live, now()).await.unwrap(),
        ShopMode::Live
    );
    // A later start that wants the other mode is told what the database is.
    assert_eq!(
        db.store.claim_mode(ShopMode::Demo, now()).await.unwrap(),
        ShopMode::Live
    );
    let other = db.another_store().await;
    assert_eq!(
        other.claim_mode(ShopMode::Demo, now()).await.unwrap(),
        ShopMode::Live
    );
}

async fn a_database_from_before_modes_counts_as_live_once_it_holds_a_real_purchase(db: &TestDb) {
    let mut paid = new_purchase(1, "product_pubg_60", 1, &[]);
    paid.source = PurchaseSource::Telegram;
    db.store.insert_purchase(&paid, now()).await.unwrap();
    let mut demo = new_purchase(2, "product_pubg_60", 1, &[]);
    demo.source = PurchaseSource::Demo;
    db.store.insert_purchase(&demo, now()).await.unwrap();
    assert_eq!(
        db.store.claim_mode(ShopMode::Demo, now()).await.unwrap(),
        ShopMode::Live
    );
}

async fn a_database_from_before_modes_with_only_demo_purchases_stays_a_demo(db: &TestDb) {
    let mut demo = new_purchase(2, "product_pubg_60", 1, &[]);
    demo.source = PurchaseSource::Demo;
    db.store.insert_purchase(&demo, now()).await.unwrap();
    assert_eq!(
        db.store.claim_mode(ShopMode::Live, now()).await.unwrap(),
        ShopMode::Demo
    );
}

/// Runs the binary, which must exit on its own within a deadline (a shop
/// that starts instead of refusing is killed and the test fails).
fn run_to_exit(dir: &TempDir, args: &[&str], env: &[(&str, &str)]) -> (i32, String) {
    let child = foxbot(dir.path())
        .args(args)
        .envs(env.iter().copied())
        // Nothing may reach Telegram before the refusal.
        .env("TELEGRAM_API_URL", "http://127.0.0.1:9")
        .env("HTTP_ADDR", "off")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut child = KillOnDrop(child);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(status) = child.0.try_wait().unwrap() {
            let mut err = String::new();
            std::io::Read::read_to_string(child.0.stderr.as_mut().unwrap(), &mut err).unwrap();
            return (status.code().unwrap_or(-1), err);
        }
        assert!(
            Instant::now() < deadline,
            "foxbot {args:?} started instead of refusing"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn assert_refused_naming_the_key(code: i32, stderr: &str) {
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(code, 2, "{stderr}");
    assert_eq!(lines.len(), 1, "expected one line, got:\n{stderr}");
    assert!(lines[0].contains("FOXRELOAD_API_KEY"), "{stderr}");
}

#[tokio::test]
async fn a_demo_never_runs_on_a_postgresql_database() {
    let Some((url, name)) = create_pg_database().await else {
        return;
    };
    let dir = TempDir::new();
    let (code, err) = run_to_exit(
        &dir,
        &["run"],
        &[("TELEGRAM_BOT_TOKEN", "1:t"), ("DATABASE_URL", &url)],
    );
    drop_pg_database(&name);
    assert_refused_naming_the_key(code, &err);
}

#[tokio::test]
async fn a_demo_never_runs_on_a_live_database() {
    let db = TestDb::sqlite().await;
    db.store.claim_mode(ShopMode::Live, now()).await.unwrap();
    let dir = TempDir::new();
    let (code, err) = run_to_exit(
        &dir,
        &["run"],
        &[
            ("TELEGRAM_BOT_TOKEN", "1:t"),
            ("DATABASE_URL", &db.url_text),
        ],
    );
    assert_refused_naming_the_key(code, &err);
    assert_eq!(db.store.state_counts().await.unwrap(), vec![]);
}

#[tokio::test]
async fn a_live_shop_never_runs_on_a_demo_database() {
    let db = TestDb::sqlite().await;
    db.store.claim_mode(ShopMode::Demo, now()).await.unwrap();
    let dir = TempDir::new();
    let live = [
        ("TELEGRAM_BOT_TOKEN", "1:t"),
        ("FOXRELOAD_API_KEY", "k"),
        ("FOXRELOAD_BASE_URL", "http://127.0.0.1:9"),
        ("DATABASE_URL", db.url_text.as_str()),
    ];
    let (code, err) = run_to_exit(&dir, &["run"], &live);
    assert_refused_naming_the_key(code, &err);
    // Nor can a manual purchase be recorded there.
    let (code, err) = run_to_exit(
        &dir,
        &["purchase", "--user", "5", "--product", "product_pubg_60"],
        &live,
    );
    assert_refused_naming_the_key(code, &err);
    assert_eq!(db.store.state_counts().await.unwrap(), vec![]);
}

#[tokio::test]
async fn a_demo_without_a_database_url_uses_its_own_file() {
    let dir = TempDir::new();
    // `migrate` takes the same default as `run` and exits.
    let (code, err) = run_to_exit(&dir, &["migrate"], &[]);
    assert_eq!(code, 0, "{err}");
    assert!(dir.path().join("data/demo.db").exists());
    assert!(!dir.path().join("data/foxbot.db").exists());
}
