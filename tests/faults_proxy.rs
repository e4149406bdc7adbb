//! Injected faults between the client and a real server, with every request counted: the
//! retry policy is exactly the official client's.

mod faults_support;

use std::time::{Duration, Instant};

use faults_support::proxy::{Action, Journal, Proxy};
use faults_support::{env_with, run_child};
use mlflow_test_support::{
    RunRecord, in_child, metric_history, read_runs, require_server, unique_name,
};

#[test]
fn injected_faults_are_retried_as_the_official_client_does() {
    if in_child() {
        let proxy = log_through_proxy();

        // Creation is resent only when the server surely did not act on it: 429 and 408.
        proxy.script(
            "runs/create",
            vec![Action::Status(429, Some(1)), Action::Status(408, None)],
        );
        proxy.script(
            "runs/log-batch",
            vec![
                Action::Status(500, None),
                Action::Status(429, Some(1)),
                Action::Reset,
                Action::Slow(Duration::from_secs(4)),
                Action::Status(502, None),
                Action::Status(503, None),
                Action::Status(504, None),
            ],
        );
        proxy.script("runs/update", vec![Action::Status(503, None)]);

        let started = Instant::now();
        let run = mlflow::start_run().name("faulty").start();
        mlflow::log_params([("lr", "0.1"), ("depth", "3")]).unwrap();
        for s in 0..20 {
            mlflow::log_metric_with_step("loss", 1.0 / (s + 1) as f64, s).unwrap();
        }
        mlflow::set_tag("note", "survived").unwrap();
        mlflow::flush().expect("delivered after the retries");
        run.end(mlflow::RunStatus::Finished);
        mlflow::flush().expect("ended after a retry");
        let took = started.elapsed();
        // Two Retry-After: 1 waits, and the stalled request's timeout.
        assert!(took >= Duration::from_secs(4), "took {took:?}");

        assert_eq!(proxy.count("runs/create"), 3, "429, 408, then created once");
        assert_eq!(
            proxy.count("runs/log-batch"),
            8,
            "7 injected faults, then stored"
        );
        assert_eq!(proxy.count("runs/update"), 2, "503, then stored");
        return;
    }
    let uri = require_server!();
    let runs = behind_proxy(
        "injected_faults_are_retried_as_the_official_client_does",
        &uri,
        &[
            ("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "8"),
            ("MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR", "0.1"),
            ("MLFLOW_HTTP_REQUEST_TIMEOUT", "3"),
        ],
        Duration::from_secs(240),
    );
    assert_eq!(runs.len(), 1, "no duplicate run");
    let r = RunRecord::named(&runs, "faulty");
    assert_eq!(r.status, "FINISHED");
    assert_eq!(r.params.len(), 2);
    assert_eq!(r.tags.get("note").map(String::as_str), Some("survived"));
    assert_eq!(metric_history(&uri, &r.run_id, "loss").len(), 20);
}

#[test]
fn a_server_out_of_database_connections_is_retried_creations_included() {
    if in_child() {
        let proxy = log_through_proxy();
        // MLflow rolls such a request back: resending cannot duplicate the run.
        proxy.script("runs/create", vec![Action::PoolExhausted]);
        proxy.script(
            "runs/log-batch",
            vec![Action::PoolExhausted, Action::PoolExhausted],
        );
        let run = mlflow::start_run().name("pooled").start();
        mlflow::log_param("lr", "0.1").unwrap();
        mlflow::log_metric("loss", 0.5).unwrap();
        run.end(mlflow::RunStatus::Finished);
        mlflow::flush().expect("stored once the server had connections again");
        assert_eq!(proxy.count("runs/create"), 2, "refused once, then created");
        assert_eq!(
            proxy.count("runs/log-batch"),
            3,
            "refused twice, then stored"
        );
        return;
    }
    let uri = require_server!();
    let runs = behind_proxy(
        "a_server_out_of_database_connections_is_retried_creations_included",
        &uri,
        &[("MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR", "0.1")],
        Duration::from_secs(120),
    );
    assert_eq!(runs.len(), 1, "no duplicate run");
    let r = RunRecord::named(&runs, "pooled");
    assert_eq!(r.status, "FINISHED");
    assert_eq!(r.params.get("lr").map(String::as_str), Some("0.1"));
    assert_eq!(metric_history(&uri, &r.run_id, "loss").len(), 1);
}

/// Runs the child half of `test` (which puts a [`Proxy`] in front of `uri`) with `env`, in
/// a fresh experiment, and returns that experiment's runs as the server holds them.
fn behind_proxy(
    test: &'static str,
    uri: &str,
    env: &[(&str, &str)],
    limit: Duration,
) -> Vec<RunRecord> {
    let experiment = unique_name("proxy");
    let mut env = env.to_vec();
    env.extend([("UPSTREAM", uri), ("EXP", experiment.as_str())]);
    run_child(test, env_with(&env), limit);
    read_runs(uri, &experiment)
}

/// [`behind_proxy`] with few retries and a spill folder of its own, for a creation that
/// goes to the spill.
fn spilling_behind_proxy(test: &'static str, uri: &str) -> Vec<RunRecord> {
    let spill = tempfile::tempdir().unwrap();
    let spill_dir = spill.path().display().to_string();
    behind_proxy(
        test,
        uri,
        &[
            ("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "3"),
            ("MLFLOW_RS_SPILL_DIR", &spill_dir),
        ],
        Duration::from_secs(180),
    )
}

/// In the child: a proxy in front of the server, with logging going through it to the
/// test's experiment.
fn log_through_proxy() -> Proxy {
    let proxy = Proxy::start(upstream_port());
    mlflow::set_tracking_uri(&proxy.uri()).unwrap();
    mlflow::set_experiment(&std::env::var("EXP").unwrap()).unwrap();
    proxy
}

fn upstream_port() -> u16 {
    let uri = std::env::var("UPSTREAM").unwrap();
    uri.rsplit(':')
        .next()
        .unwrap()
        .trim_end_matches('/')
        .parse()
        .unwrap()
}

#[test]
fn a_creation_that_may_have_reached_the_server_is_not_resent() {
    if in_child() {
        let proxy = log_through_proxy();
        // A 500 or a reset after sending: the run may exist; resending could duplicate it.
        proxy.script("runs/create", vec![Action::Status(500, None)]);
        let run = mlflow::start_run().name("once").start();
        mlflow::log_metric("m", 1.0).unwrap();
        drop(run);
        // Not resent: kept in the spill; the replay finds no run with its key (the proxy did
        // not forward it) and creates it, once.
        let _ = mlflow::flush();
        mlflow::flush().expect("delivered from the spill");
        assert_eq!(
            proxy.count("runs/create"),
            2,
            "one refused, one from the spill"
        );
        return;
    }
    let uri = require_server!();
    let runs = spilling_behind_proxy(
        "a_creation_that_may_have_reached_the_server_is_not_resent",
        &uri,
    );
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].status, "FINISHED");
    assert_eq!(runs[0].metrics.get("m"), Some(&1.0));
}

#[test]
fn a_creation_whose_answer_was_lost_is_found_again_not_duplicated() {
    if in_child() {
        let proxy = log_through_proxy();
        // The server creates the run, but its answer never comes back.
        proxy.script("runs/create", vec![Action::Lost]);
        let run = mlflow::start_run().name("lost-answer").start();
        mlflow::log_param("p", "1").unwrap();
        mlflow::log_metric("m", 1.0).unwrap();
        drop(run);
        // Spilled, as the run may exist; the replay finds it by its key.
        let _ = mlflow::flush();
        mlflow::flush().expect("delivered from the spill");
        assert_eq!(
            proxy.count("runs/create"),
            1,
            "the replay found the run instead of creating it again"
        );
        return;
    }
    let uri = require_server!();
    let runs = spilling_behind_proxy(
        "a_creation_whose_answer_was_lost_is_found_again_not_duplicated",
        &uri,
    );
    assert_eq!(runs.len(), 1, "one run, not a duplicate");
    assert_eq!(runs[0].status, "FINISHED");
    assert_eq!(runs[0].metrics.get("m"), Some(&1.0));
    assert_eq!(runs[0].params.get("p").map(String::as_str), Some("1"));
}

#[test]
fn metric_batches_go_out_together_and_params_and_tags_keep_their_order() {
    if in_child() {
        let proxy = log_through_proxy();
        let run = mlflow::start_run().name("overlap").start();
        mlflow::log_param("lr", "0.1").unwrap();
        mlflow::set_tag("phase", "one").unwrap();
        for s in 0..6000 {
            mlflow::log_metric_with_step("loss", s as f64, s).unwrap();
        }
        mlflow::set_tag("phase", "two").unwrap();
        mlflow::log_param("depth", "3").unwrap();
        for s in 6000..12_000 {
            mlflow::log_metric_with_step("loss", s as f64, s).unwrap();
        }
        mlflow::flush().expect("delivered");
        run.end(mlflow::RunStatus::Finished);
        mlflow::flush().expect("ended");
        let seen = proxy.log_batch_overlaps();
        assert!(
            (2..=3).contains(&seen.peak),
            "MLFLOW_RS_HTTP_IN_FLIGHT=3 allows up to 3 at once: {seen:?}"
        );
        assert_eq!(seen.ordered_overlaps, 0, "{seen:?}");
        return;
    }
    let uri = require_server!();
    let runs = behind_proxy(
        "metric_batches_go_out_together_and_params_and_tags_keep_their_order",
        &uri,
        &[("MLFLOW_RS_HTTP_IN_FLIGHT", "3")],
        Duration::from_secs(180),
    );
    let r = RunRecord::named(&runs, "overlap");
    assert_eq!(r.status, "FINISHED");
    assert_eq!(r.params.len(), 2);
    assert_eq!(r.tags.get("phase").map(String::as_str), Some("two"));
    assert_eq!(r.metrics.get("loss"), Some(&11_999.0));
    assert_eq!(metric_history(&uri, &r.run_id, "loss").len(), 12_000);
}

#[test]
fn runs_of_a_sweep_go_out_together_in_the_order_mlflow_needs() {
    if in_child() {
        let proxy = log_through_proxy();
        // The parent's create is held until the whole sweep is queued; its 5 children's
        // creates are forwarded only once all 5 are under way at once (a client sending
        // them one at a time would have each wait 4 s, then go alone).
        let gate = std::sync::Arc::new(tokio::sync::Semaphore::new(0));
        let mut creates = vec![Action::Held(gate.clone())];
        creates.extend((0..5).map(|_| Action::Together(5)));
        proxy.script("runs/create", creates);

        let parent = mlflow::start_run().name("sweep").start();
        mlflow::set_tag("kind", "sweep").unwrap();
        for i in 0..5 {
            let child = mlflow::start_run().name(format!("trial_{i}")).start();
            mlflow::log_param("i", i).unwrap();
            mlflow::log_metric("score", f64::from(i)).unwrap();
            mlflow::set_tag("trial", i.to_string()).unwrap();
            if i == 0 {
                // A grandchild, started in the same chunk as its parent.
                let grandchild = mlflow::start_run().name("trial_0_refit").start();
                mlflow::log_metric("score", 10.0).unwrap();
                grandchild.end(mlflow::RunStatus::Finished);
            }
            child.end(mlflow::RunStatus::Finished);
        }
        gate.add_permits(1);
        mlflow::flush().expect("delivered");
        parent.end(mlflow::RunStatus::Finished);
        mlflow::flush().expect("ended");

        let journal = proxy.journal();
        let of = |path: &str| -> Vec<&Journal> {
            journal.iter().filter(|j| j.path.ends_with(path)).collect()
        };
        let (creates, batches, updates) =
            (of("runs/create"), of("runs/log-batch"), of("runs/update"));
        // Never more requests than one at a time would make: 7 runs, at most 3 each.
        assert_eq!(creates.len(), 7, "{journal:#?}");
        assert_eq!(updates.len(), 7, "{journal:#?}");
        assert!(batches.len() <= 7, "{journal:#?}");

        // Run ids by name, from the creates' answers as the server stored them.
        let uri = std::env::var("UPSTREAM").unwrap();
        let runs = read_runs(&uri, &std::env::var("EXP").unwrap());
        let id_of = |name: &str| RunRecord::named(&runs, name).run_id.clone();
        let create_of = |id: &str| {
            let name = runs
                .iter()
                .find(|r| r.run_id == id)
                .unwrap()
                .run_name
                .clone();
            *creates
                .iter()
                .find(|c| c.body["run_name"] == name.as_str())
                .unwrap_or_else(|| panic!("no create for {name}"))
        };
        let parent_of = |c: &Journal| {
            c.body["tags"].as_array().and_then(|tags| {
                tags.iter()
                    .find(|t| t["key"] == "mlflow.parentRunId")
                    .and_then(|t| t["value"].as_str().map(str::to_owned))
            })
        };
        let overlapping =
            |a: &Journal, b: &Journal| a.arrived < b.answered && b.arrived < a.answered;

        // The siblings' creates were under way together.
        let siblings: Vec<&Journal> = (0..5)
            .map(|i| create_of(&id_of(&format!("trial_{i}"))))
            .collect();
        let together = siblings
            .iter()
            .map(|a| siblings.iter().filter(|b| overlapping(a, b)).count())
            .max()
            .unwrap();
        assert_eq!(
            together, 5,
            "the 5 sibling creates went out together: {siblings:#?}"
        );

        // A child's create is sent once its parent's create is answered.
        for c in &creates {
            if let Some(parent_id) = parent_of(c) {
                let p = create_of(&parent_id);
                assert!(
                    p.answered < c.arrived,
                    "child create before its parent's: {p:#?} {c:#?}"
                );
            }
        }
        assert_eq!(
            parent_of(create_of(&id_of("trial_0_refit"))),
            Some(id_of("trial_0")),
        );
        // A run's batches and status come after its create, its status after its batches.
        for u in &updates {
            let id = u.body["run_id"].as_str().unwrap();
            let created = create_of(id);
            assert!(created.answered < u.arrived, "{created:#?} {u:#?}");
            for b in batches.iter().filter(|b| b.body["run_id"] == id) {
                assert!(created.answered < b.arrived, "{created:#?} {b:#?}");
                assert!(
                    b.answered < u.arrived,
                    "update before a batch: {b:#?} {u:#?}"
                );
            }
        }
        return;
    }
    let uri = require_server!();
    let runs = behind_proxy(
        "runs_of_a_sweep_go_out_together_in_the_order_mlflow_needs",
        &uri,
        // Room for the 5 siblings at once (the default near by is 4).
        &[("MLFLOW_RS_HTTP_CONCURRENCY", "8")],
        Duration::from_secs(180),
    );
    assert_eq!(runs.len(), 7, "no duplicate run");
    for r in &runs {
        assert_eq!(r.status, "FINISHED", "{}", r.run_name);
    }
    let child = RunRecord::named(&runs, "trial_3");
    assert_eq!(child.params.get("i").map(String::as_str), Some("3"));
    assert_eq!(child.tags.get("trial").map(String::as_str), Some("3"));
    assert_eq!(child.metrics.get("score"), Some(&3.0));
    let parent = RunRecord::named(&runs, "sweep");
    assert_eq!(parent.tags.get("kind").map(String::as_str), Some("sweep"));
    assert_eq!(child.parent_run_id.as_ref(), Some(&parent.run_id));
}

#[test]
fn runs_started_while_a_create_is_under_way_go_at_once() {
    if in_child() {
        let proxy = log_through_proxy();
        // The first parent's create is held until the rest of the sweep is queued.
        let gate = std::sync::Arc::new(tokio::sync::Semaphore::new(0));
        proxy.script("runs/create", vec![Action::Held(gate.clone())]);
        for p in 0..3 {
            let parent = mlflow::start_run().name(format!("parent_{p}")).start();
            for c in 0..2 {
                let child = mlflow::start_run().name(format!("p{p}_c{c}")).start();
                mlflow::log_metric("score", f64::from(c)).unwrap();
                child.end(mlflow::RunStatus::Finished);
            }
            // No id is read: that would wait for the parent's create.
            parent.end(mlflow::RunStatus::Finished);
            if p == 0 {
                // Let the sender take the first parent's runs alone and send its create
                // (were it slower, the sweep would be taken in one piece and the checks
                // below hold all the same).
                std::thread::sleep(Duration::from_millis(300));
            }
        }
        gate.add_permits(1);
        mlflow::flush().expect("delivered");

        let journal = proxy.journal();
        let arrived = |name: &str| {
            journal
                .iter()
                .find(|j| j.path.ends_with("runs/create") && j.body["run_name"] == name)
                .unwrap_or_else(|| panic!("no create for {name}: {journal:#?}"))
                .arrived
        };
        let first_ending = journal
            .iter()
            .filter(|j| j.path.ends_with("runs/log-batch") || j.path.ends_with("runs/update"))
            .map(|j| j.arrived)
            .min()
            .expect("batches and updates were sent");
        // The later parents did not wait for the first parent's runs to be stored.
        for name in ["parent_1", "parent_2"] {
            assert!(
                arrived(name) < first_ending,
                "{name} created only after the first run's data: {journal:#?}"
            );
        }
        // (Since each run goes at its own pace, the first runs' data may go before the
        // last children are created: nothing waits for the creates of others.)
        return;
    }
    let uri = require_server!();
    let runs = behind_proxy(
        "runs_started_while_a_create_is_under_way_go_at_once",
        &uri,
        &[],
        Duration::from_secs(120),
    );
    assert_eq!(runs.len(), 9, "no duplicate run");
    for p in 0..3 {
        let parent = RunRecord::named(&runs, &format!("parent_{p}"));
        assert_eq!(parent.status, "FINISHED");
        let children = parent.children(&runs);
        assert_eq!(children.len(), 2, "children of parent_{p}");
        for child in children {
            assert_eq!(child.status, "FINISHED");
            assert!(child.metrics.contains_key("score"), "{}", child.run_name);
        }
    }
}
