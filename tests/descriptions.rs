//! Run descriptions (`mlflow.note.content`): from the builder, from the annotated
//! function's doc comment, from `description = ".."`, switched off with
//! `description = false`, and overridden by an explicit tag; read back with MLflow's Python
//! client from both stores.

mod stores;

use stores::{Target, named, on_both_stores};

const NOTE: &str = "mlflow.note.content";

/// One trial of the sweep: lr = {lr} is not a placeholder.
///
///   Indented lines keep their indentation.
#[mlflow::child_run(name = "documented")]
fn documented(lr: f64) -> f64 {
    lr
}

/// This doc comment is not the description.
#[mlflow::child_run(name = "replaced", description = "Set by the attribute {x}")]
fn replaced() {}

/// Nor is this one.
#[mlflow::child_run(name = "switched_off", description = false)]
fn switched_off() {}

/// Loses to the tag.
#[mlflow::parent_run(name = "tag_wins", tags("mlflow.note.content" = "from tags(..)"))]
fn tag_wins() {}

#[mlflow::child_run(name = "undocumented")]
fn undocumented() {}

fn descriptions_come_from_docs_arguments_and_the_builder(t: &Target) {
    {
        let _parent = mlflow::start_run()
            .name("builder")
            .description("Nightly sweep over learning rates.\nSecond line.")
            .start();
        documented(0.1);
        replaced();
        switched_off();
        undocumented();
    }
    tag_wins();
    drop(
        mlflow::start_run()
            .name("builder_tag_wins")
            .tag(NOTE, "explicit tag")
            .description("loses")
            .start(),
    );
    drop(mlflow::start_run().name("empty").description("").start());
    let runs = t.runs();
    let note = |name: &str| named(&runs, name).tags.get(NOTE).cloned();
    assert_eq!(
        note("builder").as_deref(),
        Some("Nightly sweep over learning rates.\nSecond line.")
    );
    assert_eq!(
        note("documented").as_deref(),
        Some(
            "One trial of the sweep: lr = {lr} is not a placeholder.\n\n  Indented lines keep their indentation."
        )
    );
    assert_eq!(
        note("replaced").as_deref(),
        Some("Set by the attribute {x}")
    );
    assert_eq!(note("switched_off"), None);
    assert_eq!(note("undocumented"), None);
    assert_eq!(note("tag_wins").as_deref(), Some("from tags(..)"));
    assert_eq!(note("builder_tag_wins").as_deref(), Some("explicit tag"));
    assert_eq!(note("empty"), None);
}

on_both_stores!(descriptions_come_from_docs_arguments_and_the_builder);
