//! `async fn` under both macros: concurrent child futures under one parent each log to
//! their own run, also on a multi-threaded runtime where futures move between workers.

mod stores;

use std::time::Duration;

use mlflow_test_support::RunRecord;
use stores::{Target, assert_child_of, named, on_both_stores};

#[mlflow::parent_run(name = "{label}")]
async fn parent<F: std::future::Future<Output = ()>>(label: &str, children: F) {
    mlflow::set_tag("role", "parent").unwrap();
    children.await;
    mlflow::set_tag("after_children", "yes").unwrap();
}

/// Logs its index several times, yielding (and sleeping) in between, so that concurrent
/// children interleave and, on a multi-threaded runtime, resume on other workers.
#[mlflow::child_run(name = "child_{i}")]
async fn child(i: u32) -> Result<u32, std::io::Error> {
    for step in 0..5 {
        mlflow::log_metric_with_step("i", f64::from(i), step).unwrap();
        mlflow::set_tag("who", format!("child_{i}")).unwrap();
        tokio::time::sleep(Duration::from_millis(u64::from(i % 3) + 1)).await;
        tokio::task::yield_now().await;
    }
    mlflow::log_param("i", i).unwrap();
    Ok(i)
}

fn check_children(runs: &[RunRecord], parent_name: &str, n: u32) {
    let parent_run = named(runs, parent_name);
    assert_eq!(parent_run.parent_run_id, None);
    assert_eq!(parent_run.tags["role"], "parent");
    assert_eq!(parent_run.tags["after_children"], "yes");
    assert_eq!(parent_run.status, "FINISHED");
    for i in 0..n {
        let name = format!("child_{i}");
        assert_child_of(runs, &name, parent_name);
        let run = named(runs, &name);
        assert_eq!(
            run.params["i"],
            i.to_string(),
            "{name} logged its own param"
        );
        assert_eq!(
            run.metrics["i"],
            f64::from(i),
            "{name} logged its own metric"
        );
        assert_eq!(run.tags["who"], name);
        assert_eq!(run.status, "FINISHED");
        assert!(
            !run.tags.contains_key("role"),
            "parent's tag stays on the parent"
        );
    }
    assert_eq!(runs.len(), n as usize + 1, "no stray runs: {runs:#?}");
}

fn current_thread() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn multi_thread() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .unwrap()
}

fn futures_join_two_children(t: &Target) {
    current_thread().block_on(parent("futures_join", async {
        let (a, b) = futures::join!(child(0), child(1));
        assert_eq!((a.unwrap(), b.unwrap()), (0, 1));
    }));
    check_children(&t.runs(), "futures_join", 2);
}

fn tokio_join_two_children(t: &Target) {
    current_thread().block_on(parent("tokio_join", async {
        let (a, b) = tokio::join!(child(0), child(1));
        assert_eq!((a.unwrap(), b.unwrap()), (0, 1));
    }));
    check_children(&t.runs(), "tokio_join", 2);
}

fn join_all_eight_children(t: &Target) {
    current_thread().block_on(parent("join_all", async {
        let out = futures::future::join_all((0..8).map(child)).await;
        assert_eq!(out.len(), 8);
    }));
    check_children(&t.runs(), "join_all", 8);
}

/// The parent's future is spawned, so it runs on a worker and may move between workers
/// at every `.await`; its children are joined inside it and move with it.
fn multi_thread_join_all(t: &Target) {
    let rt = multi_thread();
    rt.block_on(async {
        tokio::spawn(parent("multi_join_all", async {
            let out = futures::future::join_all((0..8).map(child)).await;
            assert_eq!(out.len(), 8);
        }))
        .await
        .unwrap();
    });
    check_children(&t.runs(), "multi_join_all", 8);
}

/// Children spawned as their own tasks (so polled in parallel on different workers), each
/// handed the parent's run with `RunHandle::scope`.
fn multi_thread_spawned_children(t: &Target) {
    let rt = multi_thread();
    rt.block_on(parent("multi_spawned", async {
        let handle = mlflow::active_run().expect("inside the parent");
        let tasks: Vec<_> = (0..8)
            .map(|i| tokio::spawn(handle.scope(child(i))))
            .collect();
        for task in tasks {
            task.await.unwrap().unwrap();
        }
    }));
    check_children(&t.runs(), "multi_spawned", 8);
}

#[mlflow::child_run(name = "async_err")]
async fn async_err() -> anyhow::Result<()> {
    tokio::task::yield_now().await;
    anyhow::bail!("async failure")
}

fn async_results_end_the_run(t: &Target) {
    current_thread().block_on(parent("async_results", async {
        assert!(async_err().await.is_err());
    }));
    let runs = t.runs();
    assert_child_of(&runs, "async_err", "async_results");
    let run = named(&runs, "async_err");
    assert_eq!(run.status, "FAILED");
    assert_eq!(run.tags["error"], "async failure");
}

fn dropped_future_ends_killed(t: &Target) {
    current_thread().block_on(parent("async_cancel", async {
        let timed_out = tokio::time::timeout(Duration::from_millis(20), slow_child()).await;
        assert!(timed_out.is_err());
    }));
    let runs = t.runs();
    let run = named(&runs, "slow_child");
    assert_child_of(&runs, "slow_child", "async_cancel");
    assert_eq!(run.status, "KILLED");
}

#[mlflow::child_run]
async fn slow_child() {
    tokio::time::sleep(Duration::from_secs(60)).await;
}

on_both_stores!(
    futures_join_two_children,
    tokio_join_two_children,
    join_all_eight_children,
    multi_thread_join_all,
    multi_thread_spawned_children,
    async_results_end_the_run,
    dropped_future_ends_killed,
);
