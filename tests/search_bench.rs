//! Times searches over 100,000 runs in the embedded store. Ignored by default; run with
//! `cargo test --release --test search_bench -- --ignored --nocapture`.

use std::time::Instant;

use rusqlite::{Connection, params};

const RUNS: usize = 100_000;

/// Fills `db` (already in MLflow's schema, with experiment `exp_id`) with `RUNS` runs, each
/// with a name tag, 2 params and 2 latest metrics, in one transaction.
fn populate(db: &std::path::Path, exp_id: i64, artifact_root: &str) {
    let mut conn = Connection::open(db).unwrap();
    let tx = conn.transaction().unwrap();
    {
        let mut run = tx
            .prepare(
                "INSERT INTO runs (run_uuid, name, source_type, source_name, entry_point_name, \
                 user_id, status, start_time, end_time, source_version, lifecycle_stage, \
                 artifact_uri, experiment_id) VALUES (?1, ?2, 'UNKNOWN', '', '', 'bench', ?3, ?4, \
                 ?5, '', 'active', ?6, ?7)",
            )
            .unwrap();
        let mut tag = tx
            .prepare("INSERT INTO tags (key, value, run_uuid) VALUES (?1, ?2, ?3)")
            .unwrap();
        let mut param = tx
            .prepare("INSERT INTO params (key, value, run_uuid) VALUES (?1, ?2, ?3)")
            .unwrap();
        let mut metric = tx
            .prepare(
                "INSERT INTO latest_metrics (key, value, timestamp, step, is_nan, run_uuid) \
                 VALUES (?1, ?2, ?3, 0, 0, ?4)",
            )
            .unwrap();
        for i in 0..RUNS {
            let id = format!("{i:032x}");
            let name = format!("run-{i}");
            let t = 1_700_000_000_000_i64 + i as i64;
            let status = if i % 10 == 0 { "FAILED" } else { "FINISHED" };
            run.execute(params![
                id,
                name,
                status,
                t,
                t + 1000,
                format!("{artifact_root}/{id}/artifacts"),
                exp_id
            ])
            .unwrap();
            tag.execute(params!["mlflow.runName", name, id]).unwrap();
            tag.execute(params!["team", ["vision", "nlp", "audio"][i % 3], id])
                .unwrap();
            param
                .execute(params!["lr", ["0.1", "0.01", "0.001"][i % 3], id])
                .unwrap();
            param
                .execute(params!["batch", (i % 7).to_string(), id])
                .unwrap();
            let acc = ((i * 7919) % 10_000) as f64 / 10_000.0;
            metric.execute(params!["acc", acc, t, id]).unwrap();
            metric.execute(params!["loss", 1.0 - acc, t, id]).unwrap();
        }
    }
    tx.commit().unwrap();
}

fn time<T>(label: &str, f: impl FnOnce() -> T) -> T {
    let t = Instant::now();
    let v = f();
    println!("{label:<70} {:>9.1} ms", t.elapsed().as_secs_f64() * 1000.0);
    v
}

#[test]
#[ignore = "slow: builds a 100,000-run database"]
fn search_over_100k_runs() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("bench.db");
    let uri = format!("sqlite:///{}", db.display());
    let client = mlflow::Client::with_tracking_uri(&uri).unwrap();
    // Creates the schema and the experiment through the store itself.
    mlflow::set_tracking_uri(&uri).unwrap();
    let exp = mlflow::set_experiment("bench").unwrap();
    let exp_id: i64 = exp.experiment_id.parse().unwrap();
    time("populate 100,000 runs (direct SQL, setup only)", || {
        populate(&db, exp_id, &exp.artifact_location)
    });
    let search = || client.search_runs().experiment_names(["bench"]);

    let top = time(
        "top 10 by metrics.acc DESC, filter params.lr = '0.1' AND metrics.acc > 0.5",
        || {
            search()
                .filter("params.lr = '0.1' AND metrics.acc > 0.5")
                .order_by(["metrics.acc DESC"])
                .max_results(10)
                .collect_all()
                .unwrap()
        },
    );
    assert_eq!(top.len(), 10);
    assert!(top[0].metric("acc").unwrap() >= top[9].metric("acc").unwrap());

    let one = time("tags.mlflow.runName = 'run-77777' (one run)", || {
        search()
            .filter("attributes.run_name = 'run-77777'")
            .collect_all()
            .unwrap()
    });
    assert_eq!(one.len(), 1);

    let first_page = time(
        "first page of 1000, default order (start_time DESC)",
        || search().max_results(1000).collect_all().unwrap(),
    );
    assert_eq!(first_page[0].info.run_name, format!("run-{}", RUNS - 1));

    let failed = time(
        "all FAILED runs (10,000), pages of 1000, order by params.batch",
        || {
            search()
                .filter("attributes.status = 'FAILED'")
                .order_by(["params.batch ASC"])
                .collect_all()
                .unwrap()
        },
    );
    assert_eq!(failed.len(), RUNS / 10);

    let all = time("all 100,000 runs, pages of 1000 (100 requests)", || {
        search().collect_all().unwrap()
    });
    assert_eq!(all.len(), RUNS);
}
