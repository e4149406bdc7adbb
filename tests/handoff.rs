//! Handing a run to other threads and tasks: `RunHandle::enter` on a `std::thread::scope`
//! worker and `RunHandle::scope` around a spawned task nest their runs under the handed
//! run; without the hand-off, a task on a multi-threaded runtime starts top-level.

mod stores;

use stores::{Target, assert_child_of, named, on_both_stores};

#[mlflow::child_run(name = "worker_{i}")]
fn worker(i: u32) -> u32 {
    mlflow::log_metric("i", f64::from(i)).unwrap();
    i
}

#[mlflow::child_run(name = "task_{i}")]
async fn task(i: u32) -> u32 {
    tokio::task::yield_now().await;
    mlflow::log_metric("i", f64::from(i)).unwrap();
    i
}

#[mlflow::parent_run(name = "threads")]
fn threads() {
    let handle = mlflow::active_run().expect("inside the parent");
    std::thread::scope(|s| {
        for i in 0..4 {
            let handle = handle.clone();
            s.spawn(move || handle.enter(|| worker(i)));
        }
    });
}

fn enter_on_scoped_threads(t: &Target) {
    threads();
    let runs = t.runs();
    assert_eq!(runs.len(), 5);
    for i in 0..4 {
        assert_child_of(&runs, &format!("worker_{i}"), "threads");
        assert_eq!(
            named(&runs, &format!("worker_{i}")).metrics["i"],
            f64::from(i)
        );
    }
}

fn multi_thread() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

#[mlflow::parent_run(name = "tasks")]
async fn tasks(hand_off: bool) {
    let handle = mlflow::active_run().expect("inside the parent");
    let spawned: Vec<_> = (0..4)
        .map(|i| {
            if hand_off {
                tokio::spawn(handle.scope(task(i)))
            } else {
                tokio::spawn(task(i))
            }
        })
        .collect();
    for join in spawned {
        join.await.unwrap();
    }
}

fn scope_on_spawned_tasks(t: &Target) {
    multi_thread().block_on(tasks(true));
    let runs = t.runs();
    assert_eq!(runs.len(), 5);
    for i in 0..4 {
        assert_child_of(&runs, &format!("task_{i}"), "tasks");
    }
}

fn spawned_task_without_hand_off_is_top_level(t: &Target) {
    multi_thread().block_on(tasks(false));
    let runs = t.runs();
    assert_eq!(runs.len(), 5);
    for i in 0..4 {
        let run = named(&runs, &format!("task_{i}"));
        assert_eq!(run.parent_run_id, None, "task_{i} has no parent");
        assert_eq!(run.status, "FINISHED");
    }
}

on_both_stores!(
    enter_on_scoped_threads,
    scope_on_spawned_tasks,
    spawned_task_without_hand_off_is_top_level,
);
