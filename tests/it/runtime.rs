//! The runtime: one process at a time does a role's work and hands it over
//! when it stops; an idle worker wakes at a commit, not at its timer; a
//! failed step does not stop its loop.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use foxbot::clock::SystemClock;
use foxbot::runtime::{Loop, Pace, Runtime};
use foxbot::store::Store;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::support::db::new_purchase;
use crate::support::{TestDb, wait_for};

on_both_engines!(
    a_role_is_worked_by_one_process_at_a_time_and_handed_over_when_it_stops,
    an_idle_worker_wakes_at_a_commit_not_at_its_timer,
    a_step_that_fails_does_not_stop_its_loop,
);

const DEADLINE: Duration = Duration::from_secs(20);

/// A loop on its own runtime that counts its steps.
struct Counted {
    steps: Arc<AtomicUsize>,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

fn start(store: Store, instance: &str, spec: Loop) -> Counted {
    let (stop, stopped) = watch::channel(false);
    let rt = Runtime::new(store, Arc::new(SystemClock), instance, stopped);
    let steps = Arc::new(AtomicUsize::new(0));
    let counted = steps.clone();
    let task = rt.spawn(spec, move |_| {
        counted.fetch_add(1, Ordering::SeqCst);
        async { Ok::<_, std::convert::Infallible>(Pace::Idle) }
    });
    Counted { steps, stop, task }
}

fn steps(c: &Counted) -> usize {
    c.steps.load(Ordering::SeqCst)
}

async fn a_role_is_worked_by_one_process_at_a_time_and_handed_over_when_it_stops(db: &TestDb) {
    let spec = Loop::single_role("test-role", Duration::from_millis(20));
    let one = start(db.store.clone(), "one", spec.clone());
    let two = start(db.another_store().await, "two", spec);
    wait_for("a few turns of the role", DEADLINE, || async {
        (steps(&one) + steps(&two) >= 5).then_some(())
    })
    .await;
    let (holder, other) = if steps(&one) > 0 {
        (one, two)
    } else {
        (two, one)
    };
    assert_eq!(steps(&other), 0, "both processes worked the role");
    holder.stop.send_replace(true);
    holder.task.await.unwrap();
    // The lease was given back: the other takes over at its next turn,
    // not when the lease (30 s) would have run out.
    wait_for(
        "the other process to take the role over",
        Duration::from_secs(10),
        || {
            let taken = steps(&other) > 0;
            async move { taken.then_some(()) }
        },
    )
    .await;
    other.stop.send_replace(true);
    other.task.await.unwrap();
}

async fn an_idle_worker_wakes_at_a_commit_not_at_its_timer(db: &TestDb) {
    let worker = start(
        db.store.clone(),
        "one",
        Loop::worker("w", Duration::from_secs(3600)),
    );
    wait_for("the first turn", DEADLINE, || async {
        (steps(&worker) >= 1).then_some(())
    })
    .await;
    let before = steps(&worker);
    db.store
        .insert_purchase(
            &new_purchase(7, "product_steam_10", 1, &[]),
            foxbot::clock::Clock::now_ms(&SystemClock),
        )
        .await
        .unwrap();
    wait_for("a turn after the commit", DEADLINE, || async {
        (steps(&worker) > before).then_some(())
    })
    .await;
    worker.stop.send_replace(true);
    worker.task.await.unwrap();
}

async fn a_step_that_fails_does_not_stop_its_loop(db: &TestDb) {
    let (stop, stopped) = watch::channel(false);
    let rt = Runtime::new(db.store.clone(), Arc::new(SystemClock), "one", stopped);
    let turns = Arc::new(AtomicUsize::new(0));
    let counted = turns.clone();
    let task = rt.spawn(
        Loop::worker("flaky", Duration::from_millis(20)).on_timer(),
        move |_| {
            let n = counted.fetch_add(1, Ordering::SeqCst);
            async move {
                match n {
                    0 => Err("the database went away"),
                    _ => Ok(Pace::Idle),
                }
            }
        },
    );
    wait_for("turns after the failed one", DEADLINE, || async {
        (turns.load(Ordering::SeqCst) >= 3).then_some(())
    })
    .await;
    stop.send_replace(true);
    task.await.unwrap();
}
