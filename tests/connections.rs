//! Connections that suit the path, counted at the delay proxy in front of the suite's
//! server: a server a long round trip away keeps its connections alive once the first
//! answers were timed; `MLFLOW_RS_HTTP_KEEPALIVE=false` keeps a fresh connection per
//! request. Checks which connections are used, never timings: at 150 ms of round trip a
//! request takes at least 150 ms however loaded the machine is, far above the 20 ms of round
//! trip that mean "near".

use std::time::Duration;

use mlflow_test_support::{
    DelayProxy, DelaySpec, RunRecord, in_child, read_runs, require_server, run_self, unique_name,
};

const PARENTS: usize = 2;
const CHILDREN: usize = 4;
/// The lookup, then per parent a create and an update, per child a create, a batch and an
/// update.
const REQUESTS: u64 = 1 + (PARENTS * 2 + PARENTS * CHILDREN * 3) as u64;

#[mlflow::child_run(name = "p{p}_c{c}")]
fn child(p: usize, c: usize) {
    mlflow::log_metric("score", (p * 10 + c) as f64).unwrap();
}

#[mlflow::parent_run(name = "parent_{p}")]
fn parent(p: usize) {
    for c in 0..CHILDREN {
        child(p, c);
    }
}

/// In the child process: the sweep, through the proxy named by `PROXY_URI`.
fn sweep() {
    mlflow::set_tracking_uri(&std::env::var("PROXY_URI").unwrap()).unwrap();
    mlflow::set_experiment(&std::env::var("EXP").unwrap()).unwrap();
    for p in 0..PARENTS {
        parent(p);
    }
    mlflow::flush().expect("everything stored");
}

/// Runs `test` in a child process against the server behind a proxy 150 ms away, with
/// `keep_alive` as `MLFLOW_RS_HTTP_KEEPALIVE`; checks what the server stored and returns
/// the connections the proxy accepted.
fn connections_of_a_far_sweep(uri: &str, test: &str, keep_alive: &str) -> u64 {
    let upstream = uri.trim_start_matches("http://").to_owned();
    let proxy = DelayProxy::start(
        upstream.as_str(),
        DelaySpec::with_rtt(Duration::from_millis(150)),
    );
    let experiment = unique_name("connections");
    run_self(
        test,
        None,
        &[
            ("PROXY_URI", &proxy.uri()),
            ("EXP", &experiment),
            ("MLFLOW_RS_HTTP_KEEPALIVE", keep_alive),
        ],
    );
    let runs = read_runs(uri, &experiment);
    assert_eq!(runs.len(), PARENTS * (1 + CHILDREN));
    for p in 0..PARENTS {
        let parent = RunRecord::named(&runs, &format!("parent_{p}"));
        assert_eq!(parent.status, "FINISHED");
        for child in parent.children(&runs) {
            assert_eq!(child.status, "FINISHED");
            assert!(child.metrics.contains_key("score"), "{}", child.run_name);
        }
        assert_eq!(parent.children(&runs).len(), CHILDREN);
    }
    proxy.connections()
}

#[test]
fn a_far_server_gets_kept_alive_connections() {
    if in_child() {
        return sweep();
    }
    let uri = require_server!();
    let connections =
        connections_of_a_far_sweep(&uri, "a_far_server_gets_kept_alive_connections", "auto");
    // At most one connection per request under way (MLFLOW_RS_HTTP_CONCURRENCY, 8 for a
    // far server), reused, and a couple opened while another was on its way back to the pool.
    assert!(
        connections <= 2 + 8,
        "{connections} connections for {REQUESTS} requests"
    );
}

#[test]
fn keep_alive_false_opens_a_connection_per_request() {
    if in_child() {
        return sweep();
    }
    let uri = require_server!();
    let connections = connections_of_a_far_sweep(
        &uri,
        "keep_alive_false_opens_a_connection_per_request",
        "false",
    );
    assert!(
        connections >= REQUESTS,
        "{connections} connections for {REQUESTS} requests"
    );
}
