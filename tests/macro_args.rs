//! The attribute's arguments at run time: `params(..)`, `params(*)` with `skip(..)`,
//! `tags(..)` and `experiment`, read back with MLflow's Python client from both stores.

mod stores;

use stores::{Target, assert_child_of, named, on_both_stores};

#[mlflow::child_run(name = "named_{batch_size}", params(lr, batch_size))]
fn named_params(lr: f64, batch_size: u32, data: Vec<u8>) -> usize {
    let _ = (lr, batch_size);
    data.len()
}

#[mlflow::child_run(name = "star", params(*), skip(data))]
fn star_params(lr: f64, optimizer: &str, (layers, width): (u8, u16), data: Vec<f64>) -> usize {
    let _ = (lr, optimizer, layers, width);
    data.len()
}

struct Model {
    name: &'static str,
}

impl std::fmt::Display for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "model-{}", self.name)
    }
}

impl Model {
    #[mlflow::child_run(name = "method_star", params(*))]
    fn fit(&self, epochs: u32) -> u32 {
        epochs
    }

    #[mlflow::child_run(name = "method_self", params(self, epochs))]
    fn describe(&self, epochs: u32) -> u32 {
        epochs
    }
}

#[mlflow::parent_run(name = "tagged", tags(team = "vision", "stage.kind" = "dev"))]
fn tagged() {
    mlflow::set_tag("from_body", "yes").unwrap();
}

fn params_are_logged_when_the_run_starts(t: &Target) {
    named_params(0.01, 32, vec![1, 2, 3]);
    star_params(0.5, "adam", (3, 128), vec![1.0]);
    let model = Model { name: "m" };
    model.fit(7);
    model.describe(9);
    let runs = t.runs();
    let params = |name: &str| {
        named(&runs, name)
            .params
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect::<Vec<_>>()
    };
    assert_eq!(params("named_32"), [("batch_size", "32"), ("lr", "0.01")]);
    assert_eq!(
        params("star"),
        [
            ("layers", "3"),
            ("lr", "0.5"),
            ("optimizer", "adam"),
            ("width", "128")
        ]
    );
    assert_eq!(params("method_star"), [("epochs", "7")], "no `self`");
    assert_eq!(
        params("method_self"),
        [("epochs", "9"), ("self", "model-m")]
    );
    for run in &runs {
        assert_eq!(run.status, "FINISHED");
    }
}

fn tags_are_set_when_the_run_starts(t: &Target) {
    tagged();
    let runs = t.runs();
    let run = named(&runs, "tagged");
    assert_eq!(run.tags["team"], "vision");
    assert_eq!(run.tags["stage.kind"], "dev");
    assert_eq!(run.tags["from_body"], "yes");
    assert_eq!(run.status, "FINISHED");
}

fn experiment_takes_the_run_and_its_children(t: &Target) {
    // The experiment name is a literal, so each test process uses its own fixed name and
    // tells the runs apart by a unique parent name.
    let tag = mlflow_test_support::unique_name("exp");
    in_tuning(&tag);
    // A parent_run with an experiment, entered inside a run of another experiment,
    // starts top-level in its own experiment.
    {
        let _outer = mlflow::start_run().name("outer").start();
        in_tuning(&format!("{tag}-nested"));
    }
    let tuning: Vec<_> = t
        .runs_in(TUNING)
        .into_iter()
        .filter(|r| r.tags.get("case").is_some_and(|c| c.starts_with(&tag)))
        .collect();
    assert_eq!(tuning.len(), 4, "{tuning:#?}");
    for parent in tuning.iter().filter(|r| r.run_name == "tuning_parent") {
        assert_eq!(parent.parent_run_id, None, "top level in its experiment");
        let children = parent.children(&tuning);
        assert_eq!(children.len(), 1);
        assert_eq!(children[0].run_name, "tuning_child");
        assert_eq!(children[0].experiment_id, parent.experiment_id);
    }
    let home = t.runs();
    assert_eq!(
        home.iter().map(|r| r.run_name.as_str()).collect::<Vec<_>>(),
        ["outer"],
        "nothing of the tuning runs in the default experiment"
    );
}

const TUNING: &str = "macro-args-tuning";

#[mlflow::parent_run(name = "tuning_parent", experiment = "macro-args-tuning", params(case))]
fn in_tuning(case: &str) {
    mlflow::set_tag("case", case).unwrap();
    tuning_child(case);
}

#[mlflow::child_run(name = "tuning_child")]
fn tuning_child(case: &str) {
    mlflow::set_tag("case", case).unwrap();
}

#[mlflow::parent_run(name = "args_parent", params(n), tags(kind = "parent"))]
fn args_parent(n: u32) {
    for i in 0..n {
        args_child(i, "x");
    }
}

#[mlflow::child_run(name = "args_child_{i}", params(*), tags(kind = "child"))]
fn args_child(i: u32, label: &str) {
    let _ = (i, label);
}

fn arguments_combine_with_nesting(t: &Target) {
    args_parent(2);
    let runs = t.runs();
    assert_eq!(runs.len(), 3);
    assert_eq!(named(&runs, "args_parent").params["n"], "2");
    assert_eq!(named(&runs, "args_parent").tags["kind"], "parent");
    for i in 0..2 {
        let name = format!("args_child_{i}");
        assert_child_of(&runs, &name, "args_parent");
        let child = named(&runs, &name);
        assert_eq!(child.params["i"], i.to_string());
        assert_eq!(child.params["label"], "x");
        assert_eq!(child.tags["kind"], "child");
    }
}

#[mlflow::parent_run(
    name = "async_parent",
    experiment = "macro-args-async",
    params(*),
    skip(case),
    tags(mode = "async")
)]
async fn async_parent(trials: u32, case: String) {
    mlflow::set_tag("case", &case).unwrap();
    let children = (0..trials).map(|i| async_child(i, case.clone()));
    futures::future::join_all(children).await;
}

#[mlflow::child_run(name = "async_child_{i}", params(i), tags(mode = "async-child"))]
async fn async_child(i: u32, case: String) {
    tokio::task::yield_now().await;
    mlflow::set_tag("case", case).unwrap();
}

fn async_functions_take_every_argument(t: &Target) {
    let case = mlflow_test_support::unique_name("async");
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
        .block_on(async_parent(3, case.clone()));
    let runs: Vec<_> = t
        .runs_in("macro-args-async")
        .into_iter()
        .filter(|r| r.tags.get("case") == Some(&case))
        .collect();
    assert_eq!(runs.len(), 4, "{runs:#?}");
    let parent = named(&runs, "async_parent");
    assert_eq!(parent.parent_run_id, None);
    assert_eq!(parent.params.len(), 1, "`case` is skipped");
    assert_eq!(parent.params["trials"], "3");
    assert_eq!(parent.tags["mode"], "async");
    for i in 0..3 {
        let name = format!("async_child_{i}");
        assert_child_of(&runs, &name, "async_parent");
        let child = named(&runs, &name);
        assert_eq!(child.params["i"], i.to_string());
        assert_eq!(child.tags["mode"], "async-child");
        assert_eq!(child.experiment_id, parent.experiment_id);
    }
    assert!(t.runs().is_empty(), "nothing in the test's own experiment");
}

on_both_stores!(
    async_functions_take_every_argument,
    params_are_logged_when_the_run_starts,
    tags_are_set_when_the_run_starts,
    experiment_takes_the_run_and_its_children,
    arguments_combine_with_nesting,
);
