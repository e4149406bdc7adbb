//! Races between real processes (issue #11): several processes creating one experiment at
//! once, eight processes writing one fresh `mlflow.db` at full speed, and worker processes
//! that die (SIGKILL, SIGTERM) under a coordinator's run.
//!
//! Each test re-runs itself as child processes (`self_command` + `spawn_self`: the child
//! sees `in_child()`), lets them start at the same moment through a file they all wait for,
//! bounds every wait, and reads the result back with MLflow's Python client.

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::{Duration, Instant};

use mlflow_test_support::{
    RunRecord, assert_passed, in_child, metric_history, python, read_runs, require_server,
    run_python, self_command, spawn_self, unique_name, wait_child,
};

/// The child's index among its siblings.
const INDEX_ENV: &str = "RACES_INDEX";
/// The folder where children report being ready and wait for the `go` file.
const SYNC_DIR_ENV: &str = "RACES_SYNC_DIR";
/// The experiment a child logs to.
const EXPERIMENT_ENV: &str = "RACES_EXPERIMENT";
/// What a worker of `killed_worker` does: `finish`, `sigkill` or `sigterm`.
const ROLE_ENV: &str = "RACES_ROLE";

/// No test here should take longer; a child still running then is killed and the test
/// fails with its output.
const CHILD_TIMEOUT: Duration = Duration::from_secs(90);

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} not set for the child"))
}

fn index() -> usize {
    env(INDEX_ENV).parse().expect("child index")
}

/// In a child: says it is ready, then waits (bounded) until the parent lets all go at once.
fn wait_for_go() {
    let dir = PathBuf::from(env(SYNC_DIR_ENV));
    std::fs::write(dir.join(format!("ready-{}", index())), b"").expect("ready file");
    let deadline = Instant::now() + Duration::from_secs(60);
    while !dir.join("go").exists() {
        assert!(Instant::now() < deadline, "never got the go file");
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// In the parent: waits (bounded) until `n` children are ready, then lets them go.
fn release(dir: &Path, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let ready = (0..n)
            .filter(|i| dir.join(format!("ready-{i}")).exists())
            .count();
        if ready == n {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "only {ready} of {n} children got ready"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    std::fs::write(dir.join("go"), b"").expect("go file");
}

/// Starts `n` copies of test `test_name` in `cwd`, each with its index and `extra`
/// variables, lets them go at once and waits for all; panics unless each passed and none
/// printed "locked". Returns their outputs.
fn race(test_name: &str, cwd: &Path, n: usize, extra: &[(&str, &str)]) -> Vec<Output> {
    let sync = tempfile::tempdir().expect("tempdir");
    let sync_path = sync.path().to_str().expect("utf-8 temp dir").to_owned();
    let children: Vec<_> = (0..n)
        .map(|i| {
            let i = i.to_string();
            let mut vars = vec![(INDEX_ENV, i.as_str()), (SYNC_DIR_ENV, sync_path.as_str())];
            vars.extend_from_slice(extra);
            spawn_self(self_command(test_name, Some(cwd), &vars))
        })
        .collect();
    release(sync.path(), n);
    let deadline = Instant::now() + CHILD_TIMEOUT;
    let outputs: Vec<Output> = children
        .into_iter()
        .map(|c| wait_child(c, deadline))
        .collect();
    for output in &outputs {
        assert_passed(test_name, output);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            !stderr.to_lowercase().contains("locked"),
            "a child reported a locked database:\n{stderr}"
        );
    }
    outputs
}

/// A fresh `sqlite:///` URI (absolute path) in a new temporary folder.
fn fresh_db() -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().canonicalize().expect("canonical temp dir");
    let uri = format!("sqlite:///{}", path.join("mlflow.db").display());
    (dir, uri)
}

/// Skips (returns false) outside CI when there is no MLflow venv to read back with.
fn have_python() -> bool {
    if python().is_some() {
        return true;
    }
    eprintln!("skipped: no MLflow venv (set MLFLOW_TEST_PYTHON)");
    false
}

// ---------------------------------------------------------------------------------------
// a. Six processes create the same new experiment at once (mlflow#4123).

const CREATORS: usize = 6;

/// The child: `set_experiment` right after the go, then one run in it.
fn create_same_experiment_child() {
    wait_for_go();
    let name = env(EXPERIMENT_ENV);
    let experiment = mlflow::set_experiment(&name).expect("set_experiment must not fail");
    assert_eq!(experiment.name, name);
    let i = index();
    mlflow::start_run()
        .name(format!("creator_{i}"))
        .run(|| mlflow::log_metric("i", i as f64))
        .expect("log_metric");
    mlflow::flush().expect("flush");
}

fn check_same_experiment(uri: &str, name: &str) {
    let runs = read_runs(uri, name);
    let mut names: Vec<&str> = runs.iter().map(|r| r.run_name.as_str()).collect();
    names.sort_unstable();
    let expected: Vec<String> = (0..CREATORS).map(|i| format!("creator_{i}")).collect();
    assert_eq!(names, expected, "one run from each process");
    assert!(
        runs.iter()
            .all(|r| r.experiment_id == runs[0].experiment_id),
        "all runs in one experiment: {runs:?}"
    );
    let found = run_python(
        r#"
import json, os
from mlflow.entities import ViewType
from mlflow.tracking import MlflowClient
c = MlflowClient(tracking_uri=os.environ["URI"])
exps = c.search_experiments(view_type=ViewType.ALL, max_results=50000)
print(json.dumps([e.experiment_id for e in exps if e.name == os.environ["NAME"]]))
"#,
        &[("URI", uri), ("NAME", name)],
    );
    assert_eq!(
        found,
        serde_json::json!([runs[0].experiment_id]),
        "exactly one experiment named {name}"
    );
}

#[test]
fn same_experiment_at_once_server() {
    if in_child() {
        return create_same_experiment_child();
    }
    let uri = require_server!();
    let name = unique_name("races-same-experiment");
    let cwd = tempfile::tempdir().expect("tempdir");
    race(
        "same_experiment_at_once_server",
        cwd.path(),
        CREATORS,
        &[("MLFLOW_TRACKING_URI", &uri), (EXPERIMENT_ENV, &name)],
    );
    check_same_experiment(&uri, &name);
}

#[test]
fn same_experiment_at_once_embedded() {
    if in_child() {
        return create_same_experiment_child();
    }
    if !have_python() {
        return;
    }
    // A fresh file: the processes also race to create the schema.
    let (dir, uri) = fresh_db();
    let name = unique_name("races-same-experiment");
    race(
        "same_experiment_at_once_embedded",
        dir.path(),
        CREATORS,
        &[("MLFLOW_TRACKING_URI", &uri), (EXPERIMENT_ENV, &name)],
    );
    check_same_experiment(&uri, &name);
}

// ---------------------------------------------------------------------------------------
// b. Eight processes write one fresh mlflow.db at full speed.

const WRITERS: usize = 8;
const CHILDREN_PER_WRITER: usize = 3;
const STEPS: i64 = 2_000;
const PARAMS: usize = 20;
/// Steps between flushes: 100 points per transaction.
const BATCH_STEPS: i64 = 50;

/// The value of metric `key` at `step` in child `c` of writer `w`: distinct everywhere,
/// exact in binary (multiples of 1/4).
fn value(w: usize, c: usize, key: usize, step: i64) -> f64 {
    (w * 1_000_000 + c * 100_000 + key * 10_000) as f64 + step as f64 / 4.0
}

#[mlflow::child_run(name = "w{w}_c{c}")]
fn write_child(w: usize, c: usize) -> mlflow::Result<()> {
    mlflow::log_params((0..PARAMS).map(|k| (format!("p{k}"), format!("{w}-{c}-{k}"))))?;
    mlflow::set_tag("writer", w)?;
    // Small batches: a flush every 50 steps makes each one its own transaction, so the
    // eight processes fight for the write lock hundreds of times.
    for step in 0..STEPS {
        mlflow::log_metric_with_step("loss", value(w, c, 0, step), step)?;
        mlflow::log_metric_with_step("acc", value(w, c, 1, step), step)?;
        if step % BATCH_STEPS == BATCH_STEPS - 1 {
            mlflow::flush()?;
        }
    }
    Ok(())
}

#[mlflow::parent_run(name = "w{w}")]
fn write_parent(w: usize) -> mlflow::Result<()> {
    mlflow::log_param("writer", w)?;
    mlflow::set_tag("kind", "writer")?;
    for c in 0..CHILDREN_PER_WRITER {
        write_child(w, c)?;
    }
    Ok(())
}

fn eight_writers_child() {
    wait_for_go();
    // The first call opens the file: all eight open a fresh, empty file at once.
    mlflow::set_experiment(&env(EXPERIMENT_ENV)).expect("set_experiment");
    write_parent(index()).expect("logging");
    mlflow::flush().expect("flush: nothing may be lost or left in a spill");
}

#[test]
fn eight_writers_one_fresh_file() {
    if in_child() {
        return eight_writers_child();
    }
    if !have_python() {
        return;
    }
    let (dir, uri) = fresh_db();
    let name = unique_name("races-eight-writers");
    let started = Instant::now();
    race(
        "eight_writers_one_fresh_file",
        dir.path(),
        WRITERS,
        &[("MLFLOW_TRACKING_URI", &uri), (EXPERIMENT_ENV, &name)],
    );
    eprintln!("{WRITERS} writers took {:?}", started.elapsed());
    // The children ran in `dir`: a busy store that gave up would have spilled there.
    assert!(
        !dir.path().join("mlflow-spill").exists(),
        "nothing should have been spilled"
    );

    // One Python pass over every run: counts, step sets and value sums per metric.
    let summary = run_python(
        r#"
import json, os
from mlflow.tracking import MlflowClient
c = MlflowClient(tracking_uri=os.environ["URI"])
exp = c.get_experiment_by_name(os.environ["NAME"])
runs = c.search_runs([exp.experiment_id], max_results=1000)
out = {}
for r in runs:
    keys = {}
    for key in ("loss", "acc"):
        if key not in r.data.metrics:
            continue
        hist = c.get_metric_history(r.info.run_id, key)
        steps = [m.step for m in hist]
        keys[key] = [len(hist), len(set(steps)), min(steps), max(steps), sum(m.value for m in hist)]
    out[r.info.run_name] = {
        "status": r.info.status,
        "parent": r.data.tags.get("mlflow.parentRunId"),
        "id": r.info.run_id,
        "params": len(r.data.params),
        "metrics": keys,
    }
print(json.dumps(out))
"#,
        &[("URI", &uri), ("NAME", &name)],
    );
    let runs = summary.as_object().expect("object of runs");
    assert_eq!(
        runs.len(),
        WRITERS * (1 + CHILDREN_PER_WRITER),
        "runs: {:?}",
        runs.keys()
    );
    for w in 0..WRITERS {
        let parent = &runs[&format!("w{w}")];
        assert_eq!(parent["status"], "FINISHED");
        assert_eq!(parent["params"], 1);
        assert!(parent["parent"].is_null());
        for c in 0..CHILDREN_PER_WRITER {
            let run = &runs[&format!("w{w}_c{c}")];
            assert_eq!(run["status"], "FINISHED", "w{w}_c{c}");
            assert_eq!(run["parent"], parent["id"], "w{w}_c{c} nests under w{w}");
            assert_eq!(run["params"], PARAMS, "w{w}_c{c} params");
            for (k, key) in ["loss", "acc"].into_iter().enumerate() {
                let expected_sum: f64 = (0..STEPS).map(|s| value(w, c, k, s)).sum();
                assert_eq!(
                    run["metrics"][key],
                    serde_json::json!([STEPS, STEPS, 0, STEPS - 1, expected_sum]),
                    "w{w}_c{c} {key}: [points, distinct steps, first, last, sum]"
                );
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// c. A coordinator's workers: one SIGKILLed mid-trial, one SIGTERMed, one finishing.

const FINISH_STEPS: i64 = 100;
const KILLED_STEPS: i64 = 50;

/// The worker: one run with no active run, so it nests under `MLFLOW_RS_PARENT_RUN_ID`.
fn worker_child() {
    mlflow::install_signal_handlers().expect("signal handlers");
    let role = env(ROLE_ENV);
    let run = mlflow::start_run().name(format!("trial_{role}")).start();
    mlflow::log_param("role", &role).expect("log_param");
    let steps = if role == "finish" {
        FINISH_STEPS
    } else {
        KILLED_STEPS
    };
    for step in 0..steps {
        mlflow::log_metric_with_step("loss", 1.0 / (step + 1) as f64, step).expect("log");
    }
    if role == "finish" {
        drop(run);
        mlflow::flush().expect("flush");
        return;
    }
    // Mid-trial: everything so far is stored, then the coordinator is told to strike.
    mlflow::flush().expect("flush");
    let marker = PathBuf::from(env(SYNC_DIR_ENV)).join(&role);
    std::fs::write(&marker, b"").expect("marker file");
    std::thread::sleep(Duration::from_secs(60));
    panic!("worker {role} was not killed within 60 s");
}

fn killed_worker(uri: &str, test_name: &str) {
    mlflow::set_tracking_uri(uri).expect("set_tracking_uri");
    let experiment = unique_name("races-killed-worker");
    mlflow::set_experiment(&experiment).expect("set_experiment");
    let coordinator = mlflow::start_run().name("coordinator").start();
    let sync = tempfile::tempdir().expect("tempdir");
    let sync_path = sync.path().to_str().expect("utf-8").to_owned();

    let mut started = Vec::new();
    for role in ["finish", "sigkill", "sigterm"] {
        let mut command = self_command(
            test_name,
            None,
            &[(ROLE_ENV, role), (SYNC_DIR_ENV, sync_path.as_str())],
        );
        let worker = coordinator
            .handle()
            .configure_worker(&mut command)
            .expect("configure_worker");
        started.push((role, worker, spawn_self(command)));
    }
    let deadline = Instant::now() + CHILD_TIMEOUT;
    // Strike once each doomed worker is mid-trial.
    for (signal, role) in [(libc::SIGKILL, "sigkill"), (libc::SIGTERM, "sigterm")] {
        while !sync.path().join(role).exists() {
            assert!(
                Instant::now() < deadline,
                "worker {role} never started its trial"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        let (_, _, child) = started.iter().find(|(r, _, _)| *r == role).unwrap();
        let pid = libc::pid_t::try_from(child.id()).expect("pid");
        // SAFETY: kill(2) on our own child process, which has not been waited for.
        assert_eq!(unsafe { libc::kill(pid, signal) }, 0, "kill {role}");
    }

    let mut workers = Vec::new();
    for (role, worker, child) in started {
        let output = wait_child(child, deadline);
        use std::os::unix::process::ExitStatusExt;
        match role {
            "finish" => assert_passed(test_name, &output),
            "sigkill" => assert_eq!(output.status.signal(), Some(libc::SIGKILL), "{output:?}"),
            _ => assert_eq!(
                output.status.signal(),
                Some(libc::SIGTERM),
                "the handlers re-raise SIGTERM after ending the run: {output:?}"
            ),
        }
        workers.push((role, worker));
    }

    // The coordinator's part: end the dead worker's runs. Only the SIGKILLed one left any
    // RUNNING; the SIGTERMed one ended its own run KILLED, the third finished.
    let mut marked = Vec::new();
    for (role, worker) in &workers {
        let ids = worker.mark_killed().expect("mark_killed");
        marked.push((*role, ids));
    }
    let coordinator_id = coordinator.id().expect("coordinator id");
    drop(coordinator);
    mlflow::flush().expect("flush");

    let runs = read_runs(uri, &experiment);
    assert_eq!(runs.len(), 4, "coordinator and three trials: {runs:#?}");
    let coordinator = RunRecord::named(&runs, "coordinator");
    assert_eq!(coordinator.status, "FINISHED");
    let children = coordinator.children(&runs);
    assert_eq!(children.len(), 3, "all trials nest under the coordinator");
    for (role, worker) in &workers {
        let run = RunRecord::named(&runs, &format!("trial_{role}"));
        assert_eq!(run.parent_run_id.as_deref(), Some(coordinator_id.as_str()));
        assert_eq!(run.tags["mlflow.rs.workerId"], worker.id());
        assert_eq!(run.params["role"], *role);
        let ids = &marked.iter().find(|(r, _)| r == role).unwrap().1;
        let (status, steps, marked_ids) = match *role {
            "finish" => ("FINISHED", FINISH_STEPS, vec![]),
            "sigkill" => ("KILLED", KILLED_STEPS, vec![run.run_id.clone()]),
            _ => ("KILLED", KILLED_STEPS, vec![]),
        };
        assert_eq!(run.status, status, "trial_{role}");
        assert!(run.end_time.is_some(), "trial_{role} has ended");
        assert_eq!(*ids, marked_ids, "what mark_killed ended for {role}");
        let history = metric_history(uri, &run.run_id, "loss");
        assert_eq!(history.len() as i64, steps, "trial_{role}'s points");
    }
}

#[test]
fn killed_worker_server() {
    if in_child() {
        return worker_child();
    }
    let uri = require_server!();
    killed_worker(&uri, "killed_worker_server");
}

#[test]
fn killed_worker_embedded() {
    if in_child() {
        return worker_child();
    }
    if !have_python() {
        return;
    }
    let (_dir, uri) = fresh_db();
    killed_worker(&uri, "killed_worker_embedded");
}
