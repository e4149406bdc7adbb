//! Artifacts logged from Rust are what MLflow's own client downloads, byte for byte: through
//! a real server's artifact proxy, and into the embedded store's `artifact_uri` folder; files
//! read back by artifact URI and tables appended to through the proxy. A 100 MB upload and
//! download keep this process's memory far below the file's size.
//!
//! old-mlflow: also runs against the old MLflow server (`MLFLOW_OLD_VERSION`, scripts/pins.env)
//! in scripts/test.sh's old-MLflow step, read back with that MLflow's client.

use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use mlflow_test_support::{
    ServerGuard, ServerSpec, in_child, python, require_python, run_python, run_self, unique_name,
};

/// Tests here switch the process-wide tracking URI and measure peak memory: one at a time.
static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// A private `mlflow server` that serves artifacts through its proxy
/// (`--artifacts-destination`, default artifact root `mlflow-artifacts:/`), which the
/// shared test server (local `--default-artifact-root`) does not exercise. Never dropped:
/// it stops when this process exits (the guard's parent-death signal).
fn proxy_server() -> Option<&'static ServerGuard> {
    static SERVER: std::sync::OnceLock<Option<(ServerGuard, tempfile::TempDir)>> =
        std::sync::OnceLock::new();
    SERVER
        .get_or_init(|| {
            python()?;
            let dir = tempfile::tempdir().unwrap();
            let server = ServerSpec::sqlite(&dir.path().join("m.db"))
                .artifacts_destination(dir.path().join("proxied"))
                .start();
            Some((server, dir))
        })
        .as_ref()
        .map(|(server, _)| server)
}

/// The proxy server's URI, or skip the test when there is no MLflow venv.
macro_rules! require_proxy {
    () => {
        match proxy_server() {
            Some(s) => s.uri().to_owned(),
            None => {
                eprintln!("skipped: no MLflow venv (set MLFLOW_TEST_PYTHON)");
                return;
            }
        }
    };
}

/// Downloads `artifact_path` of `run_id` with `mlflow.artifacts.download_artifacts` into
/// `dst` and returns the local path Python reports.
fn python_download(tracking_uri: &str, run_id: &str, artifact_path: &str, dst: &Path) -> PathBuf {
    let script = r#"
import json, os, mlflow
# MLflow 2.x resolves `mlflow-artifacts:/` URIs against the global tracking URI, not the
# `tracking_uri` argument; 3.x uses the argument. Set both.
mlflow.set_tracking_uri(os.environ["URI"])
p = mlflow.artifacts.download_artifacts(run_id=os.environ["RUN_ID"],
        artifact_path=os.environ["ART_PATH"] or None, dst_path=os.environ["DST"],
        tracking_uri=os.environ["URI"])
print(json.dumps(p))
"#;
    let out = run_python(
        script,
        &[
            ("RUN_ID", run_id),
            ("ART_PATH", artifact_path),
            ("DST", dst.to_str().unwrap()),
            ("URI", tracking_uri),
            ("MLFLOW_DISABLE_TELEMETRY", "true"),
        ],
    );
    PathBuf::from(out.as_str().unwrap())
}

fn same_bytes(a: &Path, b: &Path) -> bool {
    let (mut fa, mut fb) = (File::open(a).unwrap(), File::open(b).unwrap());
    let (mut ba, mut bb) = (vec![0u8; 1 << 20], vec![0u8; 1 << 20]);
    loop {
        let na = read_full(&mut fa, &mut ba);
        let nb = read_full(&mut fb, &mut bb);
        if na != nb || ba[..na] != bb[..nb] {
            return false;
        }
        if na == 0 {
            return true;
        }
    }
}

fn read_full(f: &mut File, buf: &mut [u8]) -> usize {
    let mut n = 0;
    while n < buf.len() {
        match f.read(&mut buf[n..]).unwrap() {
            0 => break,
            k => n += k,
        }
    }
    n
}

/// A small tree of files, including names with spaces.
fn make_tree(root: &Path) {
    std::fs::create_dir_all(root.join("nested dir/deeper")).unwrap();
    std::fs::write(root.join("top file.txt"), b"top\n").unwrap();
    std::fs::write(root.join("nested dir/a.csv"), b"a,b\n1,2\n").unwrap();
    std::fs::write(root.join("nested dir/deeper/b.bin"), [0u8, 1, 2, 255]).unwrap();
}

/// Logs the standard set of artifacts to the active run; returns the local source folder.
fn log_standard_set(src: &Path) {
    std::fs::write(src.join("my notes.txt"), b"hello artifacts\n").unwrap();
    make_tree(&src.join("tree"));
    mlflow::log_artifact(src.join("my notes.txt")).unwrap();
    mlflow::log_artifact_to(src.join("my notes.txt"), "copies/with space").unwrap();
    mlflow::log_artifacts_to(src.join("tree"), "tree").unwrap();
    mlflow::log_text("some text", "texts/summary.txt").unwrap();
    mlflow::log_json(
        &serde_json::json!({"lr": 0.1, "layers": [1, 2]}),
        "config.json",
    )
    .unwrap();
}

/// Checks the standard set through MLflow's Python client and through this crate.
fn check_standard_set(uri: &str, run_id: &str, src: &Path) {
    let dst = tempfile::tempdir().unwrap();
    let all = python_download(uri, run_id, "", dst.path());
    assert!(same_bytes(
        &all.join("my notes.txt"),
        &src.join("my notes.txt")
    ));
    assert!(same_bytes(
        &all.join("copies/with space/my notes.txt"),
        &src.join("my notes.txt")
    ));
    for f in [
        "top file.txt",
        "nested dir/a.csv",
        "nested dir/deeper/b.bin",
    ] {
        assert!(
            same_bytes(&all.join("tree").join(f), &src.join("tree").join(f)),
            "{f}"
        );
    }
    assert_eq!(
        std::fs::read_to_string(all.join("texts/summary.txt")).unwrap(),
        "some text"
    );
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(all.join("config.json")).unwrap()).unwrap();
    assert_eq!(json["layers"][1], 2);

    // Our own listing and download agree.
    let client = mlflow::Client::with_tracking_uri(uri).unwrap();
    let top: Vec<(String, bool)> = client
        .list_artifacts(run_id, "")
        .unwrap()
        .into_iter()
        .map(|f| (f.path, f.is_dir))
        .collect();
    assert_eq!(
        top,
        [
            ("config.json".to_owned(), false),
            ("copies".to_owned(), true),
            ("my notes.txt".to_owned(), false),
            ("texts".to_owned(), true),
            ("tree".to_owned(), true),
        ]
    );
    let nested = client.list_artifacts(run_id, "tree/nested dir").unwrap();
    assert_eq!(nested[0].path, "tree/nested dir/a.csv");
    assert_eq!(nested[0].file_size, Some(8));
    let ours = tempfile::tempdir().unwrap();
    let got = client
        .download_artifacts(run_id, "tree", ours.path())
        .unwrap();
    assert!(same_bytes(
        &got.join("nested dir/deeper/b.bin"),
        &src.join("tree/nested dir/deeper/b.bin")
    ));
    let one = client
        .download_artifacts(run_id, "copies/with space/my notes.txt", ours.path())
        .unwrap();
    assert!(same_bytes(&one, &src.join("my notes.txt")));
}

#[test]
fn artifacts_through_the_server_proxy() {
    let uri = require_proxy!();
    let _one = serial();
    mlflow::set_tracking_uri(&uri).unwrap();
    mlflow::set_experiment(&unique_name("artifacts")).unwrap();
    let src = tempfile::tempdir().unwrap();
    let run = mlflow::start_run().name("with-artifacts").start();
    log_standard_set(src.path());
    let run_id = run.id().unwrap();
    run.end(mlflow::RunStatus::Finished);
    mlflow::flush().unwrap();
    let info = mlflow::Client::with_tracking_uri(&uri)
        .unwrap()
        .get_run(&run_id)
        .unwrap()
        .info;
    assert!(
        info.artifact_uri.starts_with("mlflow-artifacts:/"),
        "{}",
        info.artifact_uri
    );
    check_standard_set(&uri, &run_id, src.path());

    // Read back by artifact URI through the proxy (`mlflow-artifacts:/...` and `runs:/`), and
    // a table appended to through it.
    let client = mlflow::Client::with_tracking_uri(&uri).unwrap();
    let text = client
        .load_text(&format!("{}/texts/summary.txt", info.artifact_uri))
        .unwrap();
    assert_eq!(text, "some text");
    let config: serde_json::Value = client
        .load_dict(&format!("runs:/{run_id}/config.json"))
        .unwrap();
    assert_eq!(config["lr"], 0.1);
    let table = mlflow::Table::from_columns([("a", [1])]).unwrap();
    client.log_table(&run_id, &table, "t/t.json").unwrap();
    client.log_table(&run_id, &table, "t/t.json").unwrap();
    let back = client
        .load_table(&info.experiment_id, "t/t.json")
        .load()
        .unwrap();
    assert_eq!(back.len(), 2);
}

// old-mlflow: skip, it reads the crate's own SQLite file (the pinned MLflow's schema) with
// Python, and the old MLflow cannot open a newer schema.
#[test]
fn artifacts_in_the_embedded_store() {
    let _python = require_python!();
    if in_child() {
        // Runs in a fresh working directory: the default store and ./mlruns live there.
        mlflow::set_tracking_uri("sqlite:///mlflow.db").unwrap();
        mlflow::set_experiment("embedded-artifacts").unwrap();
        let src = std::env::current_dir().unwrap().join("src");
        std::fs::create_dir_all(&src).unwrap();
        let run = mlflow::start_run().name("with-artifacts").start();
        log_standard_set(&src);
        let id = run.id().unwrap();
        run.end(mlflow::RunStatus::Finished);
        mlflow::flush().unwrap();
        std::fs::write("run_id.txt", id).unwrap();
        return;
    }
    let _one = serial();
    let dir = tempfile::tempdir().unwrap();
    run_self("artifacts_in_the_embedded_store", Some(dir.path()), &[]);
    let run_id = std::fs::read_to_string(dir.path().join("run_id.txt")).unwrap();
    let uri = format!("sqlite:///{}", dir.path().join("mlflow.db").display());
    let info = mlflow::Client::with_tracking_uri(&uri)
        .unwrap()
        .get_run(&run_id)
        .unwrap()
        .info;
    // Where `mlflow ui` started in that folder looks for them.
    let expected = dir.path().join("mlruns");
    assert!(
        Path::new(&info.artifact_uri).starts_with(&expected),
        "{} not under {}",
        info.artifact_uri,
        expected.display()
    );
    assert!(
        Path::new(&info.artifact_uri)
            .join("tree/nested dir/a.csv")
            .is_file()
    );
    check_standard_set(&uri, &run_id, &dir.path().join("src"));
}

/// Peak resident memory of this process since the last reset, in bytes.
fn peak_rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    let kb: u64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    kb * 1024
}

/// Resets the peak counter (Linux >= 4.0); false when not allowed.
fn reset_peak_rss() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

#[test]
fn a_100_mb_file_streams_both_ways() {
    const SIZE: usize = 100 * 1024 * 1024;
    let uri = require_proxy!();
    let _one = serial();
    mlflow::set_tracking_uri(&uri).unwrap();
    mlflow::set_experiment(&unique_name("artifacts-big")).unwrap();
    let src = tempfile::tempdir().unwrap();
    let big = src.path().join("big model.bin");
    {
        let mut f = std::io::BufWriter::new(File::create(&big).unwrap());
        let mut block = vec![0u8; 1 << 20];
        for i in 0..SIZE / block.len() {
            for (j, b) in block.iter_mut().enumerate() {
                *b = (i * 31 + j * 7 + (j >> 9)) as u8;
            }
            f.write_all(&block).unwrap();
        }
        f.flush().unwrap();
    }
    let run = mlflow::start_run().name("big").start();
    let run_id = run.id().unwrap();
    let client = mlflow::Client::with_tracking_uri(&uri).unwrap();
    let artifact_uri = client.get_run(&run_id).unwrap().info.artifact_uri;
    assert!(
        artifact_uri.starts_with("mlflow-artifacts:/"),
        "{artifact_uri}"
    );
    let resettable = reset_peak_rss();
    let before = peak_rss();
    let t = std::time::Instant::now();
    mlflow::log_artifact(&big).unwrap();
    let upload = t.elapsed();
    let ours = tempfile::tempdir().unwrap();
    let t = std::time::Instant::now();
    let got = mlflow::download_artifacts(&run_id, "big model.bin", ours.path()).unwrap();
    let download = t.elapsed();
    let after = peak_rss();
    run.end(mlflow::RunStatus::Finished);
    mlflow::flush().unwrap();
    println!(
        "100 MB: upload {:.2} s, download {:.2} s, peak RSS {} MB before, {} MB after (reset: {resettable})",
        upload.as_secs_f64(),
        download.as_secs_f64(),
        before >> 20,
        after >> 20
    );
    assert!(same_bytes(&got, &big));
    let growth = after.saturating_sub(before);
    assert!(
        growth < (SIZE as u64) / 4,
        "peak RSS grew by {} MB while moving a 100 MB file",
        growth >> 20
    );
    let dst = tempfile::tempdir().unwrap();
    let py = python_download(&uri, &run_id, "big model.bin", dst.path());
    assert!(same_bytes(&py, &big));
}
