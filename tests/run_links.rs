//! The links printed when a run ends against a tracking server, as the Python client
//! prints them: one pair per run, nested runs too, once the end is recorded; never for the
//! embedded store, never with credentials, and not when switched off (by
//! `MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT` or in code). Each case runs in a child process
//! whose stdout is read.

use mlflow_test_support::{in_child, read_runs, require_server, run_self, unique_name};

/// The child's part: a parent with two children, then a flush. `TEST_LINKS_IN_CODE`
/// (`on` or `off`) has the child switch links on or off in code first.
fn log_a_small_sweep() {
    match std::env::var("TEST_LINKS_IN_CODE").as_deref() {
        Ok("on") => mlflow::print_run_links(true),
        Ok("off") => mlflow::print_run_links(false),
        _ => {}
    }
    let experiment = std::env::var("MLFLOW_EXPERIMENT_NAME").unwrap();
    mlflow::set_experiment(&experiment).unwrap();
    {
        let _parent = mlflow::start_run().name("parent").start();
        for i in 0..2 {
            let _child = mlflow::start_run().name(format!("child_{i}")).start();
            mlflow::log_metric("m", i as f64).unwrap();
        }
    }
    mlflow::flush().unwrap();
}

/// The link lines of the child's stdout. libtest prints `test <name> ... ` without a line
/// break before the test's own output, so a line may start with that.
fn links(stdout: &str) -> Vec<&str> {
    stdout
        .lines()
        .filter_map(|l| {
            let at = l
                .find("🏃 View run ")
                .or_else(|| l.find("🧪 View experiment at: "))?;
            Some(&l[at..])
        })
        .collect()
}

#[test]
fn each_run_prints_its_links_without_credentials() {
    if in_child() {
        return log_a_small_sweep();
    }
    let uri = require_server!();
    let experiment = unique_name("links");
    // Credentials in the URI reach the server (which ignores them) but never the links.
    let with_credentials = uri.replacen("http://", "http://someone:s3cret@", 1);
    let out = run_self(
        "each_run_prints_its_links_without_credentials",
        None,
        &[
            ("MLFLOW_TRACKING_URI", &with_credentials),
            ("MLFLOW_EXPERIMENT_NAME", &experiment),
        ],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        !stdout.contains("s3cret") && !stdout.contains("someone"),
        "{stdout}"
    );
    let runs = read_runs(&uri, &experiment);
    assert_eq!(runs.len(), 3);
    let host = uri.trim_end_matches('/');
    let printed = links(&stdout);
    assert_eq!(printed.len(), 6, "{stdout}");
    for run in &runs {
        let experiment_url = format!("{host}/#/experiments/{}", run.experiment_id);
        let run_line = format!(
            "🏃 View run {} at: {experiment_url}/runs/{}",
            run.run_name, run.run_id
        );
        let at = printed
            .iter()
            .position(|l| *l == run_line)
            .unwrap_or_else(|| panic!("no line {run_line:?} in:\n{stdout}"));
        assert_eq!(
            printed[at + 1],
            format!("🧪 View experiment at: {experiment_url}")
        );
    }
    // Children end before their parent, and so are their links printed.
    let parent_at = printed
        .iter()
        .position(|l| l.contains("View run parent "))
        .unwrap();
    assert_eq!(parent_at, 4, "{stdout}");
}

#[test]
fn links_can_be_switched_off() {
    if in_child() {
        return log_a_small_sweep();
    }
    let uri = require_server!();
    for (switch, value) in [
        ("MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT", "true"),
        ("MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT", "1"),
        ("TEST_LINKS_IN_CODE", "off"),
    ] {
        let experiment = unique_name("links-off");
        let out = run_self(
            "links_can_be_switched_off",
            None,
            &[
                ("MLFLOW_TRACKING_URI", &uri),
                ("MLFLOW_EXPERIMENT_NAME", &experiment),
                (switch, value),
            ],
        );
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(links(&stdout).is_empty(), "{switch}={value}:\n{stdout}");
        assert_eq!(read_runs(&uri, &experiment).len(), 3, "{switch}={value}");
    }
    // The code's choice wins over the variable: on in code, off in the environment.
    let experiment = unique_name("links-on");
    let out = run_self(
        "links_can_be_switched_off",
        None,
        &[
            ("MLFLOW_TRACKING_URI", &uri),
            ("MLFLOW_EXPERIMENT_NAME", &experiment),
            ("MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT", "true"),
            ("TEST_LINKS_IN_CODE", "on"),
        ],
    );
    assert_eq!(links(&String::from_utf8_lossy(&out.stdout)).len(), 6);
}

#[test]
fn the_embedded_store_prints_no_links() {
    if in_child() {
        return log_a_small_sweep();
    }
    if mlflow_test_support::python().is_none() {
        assert!(!mlflow_test_support::is_ci(), "no MLflow venv under CI");
        eprintln!("skipped: no MLflow venv");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let experiment = unique_name("links-embedded");
    let out = run_self(
        "the_embedded_store_prints_no_links",
        Some(dir.path()),
        &[("MLFLOW_EXPERIMENT_NAME", &experiment)],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(links(&stdout).is_empty(), "{stdout}");
    let uri = format!("sqlite:///{}", dir.path().join("mlflow.db").display());
    assert_eq!(read_runs(&uri, &experiment).len(), 3);
}
