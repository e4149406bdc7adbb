//! The schema `SqliteStore` creates is exactly the one the pinned MLflow creates.

use std::path::Path;

use mlflow_test_support::{require_python, run_python_in};
use mlflow_tracking_runtime::store::sqlite::{PINNED_HEAD, SqliteStore};
use rusqlite::Connection;

type Objects = Vec<(String, String, String, Option<String>)>;

/// `sqlite_master`, with each statement's lines sorted. MLflow's batch migrations recreate
/// some tables with their CHECK constraints in set order, which differs from one
/// `mlflow db upgrade` to the next, so the order of definition lines is not compared here;
/// column order is, by [`columns`].
fn sqlite_master(db: &Path) -> Objects {
    let conn = Connection::open(db).unwrap();
    let mut stmt = conn
        .prepare("SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name")
        .unwrap();
    stmt.query_map([], |r| {
        let sql: Option<String> = r.get(3)?;
        Ok((
            r.get(0)?,
            r.get(1)?,
            r.get(2)?,
            sql.map(|s| sorted_lines(&s)),
        ))
    })
    .unwrap()
    .collect::<Result<_, _>>()
    .unwrap()
}

fn sorted_lines(sql: &str) -> String {
    let mut lines: Vec<&str> = sql
        .lines()
        .map(|l| l.trim().trim_end_matches(','))
        .collect();
    lines.sort_unstable();
    lines.join("\n")
}

/// Every table's columns in order, with type, NOT NULL, default and primary-key position.
fn columns(db: &Path) -> Vec<Vec<String>> {
    rows(
        db,
        "SELECT m.name, c.cid, c.name, c.type, c.\"notnull\", c.dflt_value, c.pk \
         FROM sqlite_master m JOIN pragma_table_info(m.name) c \
         WHERE m.type = 'table' ORDER BY m.name, c.cid",
    )
}

fn rows(db: &Path, sql: &str) -> Vec<Vec<String>> {
    let conn = Connection::open(db).unwrap();
    let mut stmt = conn.prepare(sql).unwrap();
    let n = stmt.column_count();
    stmt.query_map([], |r| {
        (0..n)
            .map(|i| {
                r.get::<_, rusqlite::types::Value>(i)
                    .map(|v| format!("{v:?}"))
            })
            .collect()
    })
    .unwrap()
    .collect::<Result<_, _>>()
    .unwrap()
}

fn mlflow_db_upgrade(db: &Path) {
    run_python_in(
        db.parent().unwrap(),
        "import sys; from mlflow.cli import cli; sys.argv = ['mlflow', 'db', 'upgrade', sys.argv[1]]; cli()",
        &[&format!("sqlite:///{}", db.display())],
    );
}

#[test]
fn fresh_store_schema_equals_mlflow_db_upgrade() {
    require_python!();
    let dir = tempfile::tempdir().unwrap();
    let reference = dir.path().join("reference.db");
    std::fs::File::create(&reference).unwrap();
    mlflow_db_upgrade(&reference);

    let ours = dir.path().join("ours.db");
    let store = SqliteStore::open(&ours, &dir.path().join("mlruns")).unwrap();
    assert_eq!(store.schema_head(), PINNED_HEAD);
    drop(store);

    let (want, got) = (sqlite_master(&reference), sqlite_master(&ours));
    for (w, g) in want.iter().zip(&got) {
        assert_eq!(w, g, "first differing sqlite_master entry");
    }
    assert_eq!(want.len(), got.len(), "number of schema objects");
    assert_eq!(columns(&reference), columns(&ours), "columns");

    let head = "SELECT version_num FROM alembic_version";
    assert_eq!(rows(&reference, head), rows(&ours, head));
    assert_eq!(
        rows(&ours, head),
        vec![vec![format!("Text({PINNED_HEAD:?})")]]
    );
    let workspaces = "SELECT * FROM workspaces ORDER BY name";
    assert_eq!(rows(&reference, workspaces), rows(&ours, workspaces));
    // MLflow's store adds experiment 0 when it first opens the file; so does ours.
    let default = "SELECT experiment_id, name, lifecycle_stage, workspace FROM experiments";
    assert_eq!(
        rows(&ours, default),
        vec![vec![
            "Integer(0)".to_owned(),
            "Text(\"Default\")".to_owned(),
            "Text(\"active\")".to_owned(),
            "Text(\"default\")".to_owned()
        ]]
    );
}

/// Databases at the heads of older releases (made here by downgrading with the pinned
/// MLflow's own migrations) are written into as they are.
#[test]
fn older_heads_are_written_as_they_are() {
    require_python!();
    let dir = tempfile::tempdir().unwrap();
    let heads: Vec<&str> = mlflow_tracking_runtime::store::sqlite::KNOWN_HEADS
        .iter()
        .map(|(head, _)| *head)
        .collect();
    let fresh = dir.path().join("fresh.db");
    std::fs::File::create(&fresh).unwrap();
    mlflow_db_upgrade(&fresh);
    // One Python process for every downgrade: importing MLflow takes seconds.
    run_python_in(
        dir.path(),
        "import shutil, sys, sqlalchemy
from alembic import command
from mlflow.store.db.utils import _get_alembic_config
fresh = sys.argv[1]
for head in sys.argv[2:]:
    db = fresh.replace('fresh.db', head + '.db')
    shutil.copy(fresh, db)
    url = 'sqlite:///' + db
    cfg = _get_alembic_config(url)
    with sqlalchemy.create_engine(url).begin() as conn:
        cfg.attributes['connection'] = conn
        command.downgrade(cfg, head)",
        &[&[fresh.to_str().unwrap()], heads.as_slice()].concat(),
    );
    for head in &heads {
        let db = dir.path().join(format!("{head}.db"));
        let before = sqlite_master(&db);
        let store = SqliteStore::open(&db, dir.path()).unwrap();
        assert_eq!(store.schema_head(), *head);
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            use mlflow_tracking_runtime::model::{Batch, CreateRun, Metric};
            use mlflow_tracking_runtime::store::Store;
            let exp = store.create_experiment("old").await.unwrap();
            let run = store
                .create_run(&CreateRun {
                    experiment_id: exp,
                    run_id: None,
                    user_id: "u".into(),
                    run_name: "r".into(),
                    start_time: 1,
                    tags: vec![],
                })
                .await
                .unwrap();
            let batch = Batch {
                metrics: vec![Metric::new("m", 1.0, 1, 0)],
                ..Batch::default()
            };
            store.log_batch(&run.run_id, &batch).await.unwrap();
            assert_eq!(
                store.get_run(&run.run_id).await.unwrap().metric("m"),
                Some(1.0)
            );
        });
        drop(store);
        assert_eq!(
            before,
            sqlite_master(&db),
            "the store must not change the schema at {head}"
        );
    }
}
