//! Crash sweep: the real binary, killed with SIGKILL at every named crash
//! point (two seeds each: which hit, and which faults), restarted, run to
//! quiescence; then the guarantees are checked from the supplier's ledger and
//! the database. Built only with `--features crash-points`.

use std::os::unix::process::ExitStatusExt;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use foxbot::foxreload::sim::{Endpoint, Fault, OrderOutcome, SimOptions, Simulator};

use crate::support::rig::{KEY, all_settled, check_guarantees};
use crate::support::{TempDir, TestDb, foxbot, wait_for};

#[test]
fn the_sweep_covers_every_crash_point() {
    assert_eq!(SWEPT, foxbot::crash::POINTS);
}

macro_rules! sweep {
    ($($name:ident => $point:literal),* $(,)?) => {
        /// Every crash point the sweep below covers; must be all of them.
        const SWEPT: &[&str] = &[$($point),*];

        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    for seed in [1, 2] {
                        let db = crate::support::TestDb::sqlite().await;
                        super::crash_and_recover(&db, $point, seed).await;
                    }
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    for seed in [1, 2] {
                        let Some(db) = crate::support::TestDb::postgres().await else { return };
                        super::crash_and_recover(&db, $point, seed).await;
                    }
                }
            )*
        }
    };
}

sweep!(
    after_intent => "after_intent",
    awaiting_write_slot => "awaiting_write_slot",
    after_submitting => "after_submitting",
    after_create_call => "after_create_call",
    after_link => "after_link",
    after_pay_sent => "after_pay_sent",
    after_pay_call => "after_pay_call",
    during_reconcile => "during_reconcile",
    after_reconcile_link => "after_reconcile_link",
);

fn settings(db: &TestDb, sim: &Simulator) -> Vec<(&'static str, String)> {
    vec![
        ("TELEGRAM_BOT_TOKEN", "1:crash-test".to_owned()),
        ("FOXRELOAD_API_KEY", KEY.to_owned()),
        ("FOXRELOAD_BASE_URL", sim.base_url()),
        ("DATABASE_URL", db.url_text.clone()),
        ("FOXRELOAD_TIMEOUT_SECS", "1".to_owned()),
        ("SETTLE_DELAY_SECS", "1".to_owned()),
        ("LEASE_SECS", "2".to_owned()),
        ("POLL_INTERVAL_SECS", "0.1".to_owned()),
        ("WORKER_IDLE_SECS", "0.05".to_owned()),
        ("STALL_ALERT_SECS", "30".to_owned()),
        ("STALL_DEAD_SECS", "60".to_owned()),
        ("HTTP_ADDR", "off".to_owned()),
        // A restarted process is the same replica: it takes its own poller
        // lease back at once instead of waiting for it to expire.
        ("INSTANCE_ID", "crash-test".to_owned()),
        ("WORKERS", "2".to_owned()),
    ]
}

fn spawn(
    dir: &TempDir,
    args: &[&str],
    env: &[(&'static str, String)],
    crash_at: Option<String>,
) -> Child {
    let mut cmd = foxbot(dir.path());
    cmd.args(args)
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    if let Some(at) = crash_at {
        cmd.env("FOXBOT_CRASH_AT", at);
    }
    cmd.spawn().unwrap()
}

/// Waits for the child to exit on its own, within `deadline`.
async fn exit_of(child: &mut Child, deadline: Duration) -> std::process::ExitStatus {
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if started.elapsed() > deadline {
            let _ = child.kill();
            panic!("the process did not exit within {deadline:?}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn stderr_of(child: &mut Child) -> String {
    use std::io::Read;
    let mut text = String::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = e.read_to_string(&mut text);
    }
    text
}

async fn crash_and_recover(db: &TestDb, point: &str, seed: u64) {
    let sim = Simulator::start(
        "127.0.0.1:0".parse().unwrap(),
        SimOptions {
            api_key: KEY.to_owned(),
            default_outcome: OrderOutcome::complete(Duration::from_millis(300)),
            ..SimOptions::default()
        },
    )
    .await
    .unwrap();
    if point.contains("reconcile") {
        // The first create's reply is lost: reconciliation must run.
        sim.push_fault(Endpoint::CreateOrder, Fault::DropAfterCommit);
    }
    if point == "awaiting_write_slot" {
        // A 429 pauses the budget: the next create waits for its slot.
        sim.push_fault(
            Endpoint::CreateOrder,
            Fault::RateLimited {
                retry_after_secs: 1,
            },
        );
    }
    if seed == 2 {
        sim.push_fault(Endpoint::CreateOrder, Fault::ServerErrorAfterCommit(502));
        sim.push_fault(Endpoint::PayOrder, Fault::ResetAfterCommit);
    }
    let dir = TempDir::new();
    let env = settings(db, &sim);
    let nth = if seed == 1 { 1 } else { 2 };
    let crash_at = format!("{point}:{nth}");

    // Three purchases; two share a signature.
    let purchases: [&[&str]; 3] = [
        &["--product", "product_steam_10"],
        &["--product", "product_pubg_60", "--note", "player_id=7"],
        &["--product", "product_pubg_60", "--note", "player_id=7"],
    ];
    for (i, extra) in purchases.iter().enumerate() {
        let mut args = vec!["purchase", "--user", "4242"];
        args.extend_from_slice(extra);
        // Each `purchase` is its own process: the seed picks which one dies.
        let crash =
            (point == "after_intent" && i + 1 == nth as usize).then(|| format!("{point}:1"));
        let expect_kill = crash.is_some();
        let mut child = spawn(&dir, &args, &env, crash);
        let status = exit_of(&mut child, Duration::from_secs(20)).await;
        if expect_kill {
            assert_eq!(
                status.signal(),
                Some(9),
                "purchase was not killed at {point}"
            );
        } else {
            assert!(
                status.success(),
                "purchase failed: {}",
                stderr_of(&mut child)
            );
        }
    }

    if point != "after_intent" {
        let mut child = spawn(&dir, &["run"], &env, Some(crash_at.clone()));
        let status = exit_of(&mut child, Duration::from_secs(30)).await;
        assert_eq!(
            status.signal(),
            Some(9),
            "run was not killed at {crash_at} (seed {seed}): {status:?}\n{}",
            stderr_of(&mut child)
        );
    }

    // Restart without crashing and let it finish everything.
    let mut child = spawn(&dir, &["run"], &env, None);
    wait_for(
        &format!("quiescence after a crash at {crash_at} (seed {seed})"),
        Duration::from_secs(60),
        || async { all_settled(&db.store).await.then_some(()) },
    )
    .await;
    let pid = child.id().to_string();
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status();
    let status = exit_of(&mut child, Duration::from_secs(20)).await;
    assert!(
        status.success(),
        "graceful stop failed: {status:?}\n{}",
        stderr_of(&mut child)
    );

    let report = check_guarantees(&db.store, &sim, true).await;
    assert_eq!(report.purchases, 3, "{crash_at}: {report:?}");
    assert_eq!(
        report.delivering, 3,
        "{crash_at} (seed {seed}): every purchase is delivered: {report:?}"
    );
    assert_eq!(
        report.orders_paid, 3,
        "{crash_at} (seed {seed}): {report:?}"
    );
}
