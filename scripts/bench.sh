#!/usr/bin/env bash
# Benchmarks of the Rust client against the official Python client (see BENCHMARKS.md).
#
#   ./scripts/bench.sh            # everything, full sizes, 3 repetitions of each sweep
#   ./scripts/bench.sh --quick    # small sizes, one repetition (a few minutes)
#   ./scripts/bench.sh --only sweep,hotpath [--reps 5] [--rust-env NAME=VALUE] [--keep]
#
# Installs nothing: it uses the test venv with the pinned MLflow (MLFLOW_VERSION in
# scripts/pins.env), from MLFLOW_TEST_VENV, else ~/.cache/mlflow-rs-test/venv-mlflow-<version>,
# else ${MLFLOW_TEST_CACHE:-~/.cache/mlflow-tracking-tests}/venv-mlflow-<version>. It starts
# its own `mlflow server`s on free loopback ports with scripts/mlflow_server.py (as the tests
# and the fleet do) and stops them when done. Sections: sweep (vs a
# server with default settings and with --workers 1), embedded (mlflow.db vs Python's
# sqlite store), hotpath (criterion bench benches/log_metric.rs), throughput, scaling,
# sysmetrics (the system metrics sampler's CPU per sample and RSS, on vs off; not in the
# default set), fleet (8 worker processes under one parent against one SQLite-backed server
# and against the PostgreSQL fleet of scripts/fleet.py, which needs PostgreSQL, nginx and
# psycopg in the venv, as ./scripts/test.sh installs them; not in the default set), latency
# (the seed sweep and 100k points at 0, 10 and 50 ms round-trip time through test-support's
# delay-proxy, keep-alive on and off, and over https; needs openssl; not in the default set),
# optimizer (studies of 200 trials: the optimizer crate's in-memory storage, mlflow.db, a
# server, and Python Optuna + MlflowStorage, which needs optuna in the venv, as
# ./scripts/test.sh installs it; not in the default set), models (search_logged_models over
# 10,000 logged models and registering 1,000 versions, Rust and Python, on mlflow.db and on a
# server; not in the default set).
# BENCH_JSON=path also writes the figures as JSON.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
# MLFLOW_VERSION and the other pins.
source scripts/pins.env

venv=""
for candidate in "${MLFLOW_TEST_VENV:-}" \
    "$HOME/.cache/mlflow-rs-test/venv-mlflow-$MLFLOW_VERSION" \
    "${MLFLOW_TEST_CACHE:-$HOME/.cache/mlflow-tracking-tests}/venv-mlflow-$MLFLOW_VERSION"; do
    if [[ -n "$candidate" && -x "$candidate/bin/python" && -x "$candidate/bin/mlflow" ]]; then
        venv="$candidate"
        break
    fi
done
if [[ -z "$venv" ]]; then
    echo "bench.sh: no venv with mlflow $MLFLOW_VERSION found; set MLFLOW_TEST_VENV or run the test script once" >&2
    exit 1
fi
version="$("$venv/bin/python" -c 'import mlflow; print(mlflow.__version__)')"
if [[ "$version" != "$MLFLOW_VERSION" ]]; then
    echo "bench.sh: warning: $venv has mlflow $version, not the pinned $MLFLOW_VERSION" >&2
fi

target="${CARGO_TARGET_DIR:-$repo/target}"
export CARGO_TARGET_DIR="$target"
echo "bench.sh: building (release) into $target" >&2
cargo build --release --quiet --example sweep --example bench_post --example bench_load \
    --example bench_sysmetrics --example bench_fleet
cargo build --release --quiet --features optimizer --example bench_optimizer
cargo build --release --quiet --example bench_models
cargo build --release --quiet -p mlflow-test-support --bin delay-proxy
cargo bench --quiet --no-run --bench log_metric 2>/dev/null || cargo bench --no-run --bench log_metric

exec "$venv/bin/python" "$repo/bench/run.py" \
    --python "$venv/bin/python" \
    --example-bin "$target/release/examples/sweep" \
    --load-bin "$target/release/examples/bench_load" \
    --post-bin "$target/release/examples/bench_post" \
    --sysmetrics-bin "$target/release/examples/bench_sysmetrics" \
    --fleet-bin "$target/release/examples/bench_fleet" \
    --optimizer-bin "$target/release/examples/bench_optimizer" \
    --models-bin "$target/release/examples/bench_models" \
    --proxy-bin "$target/release/delay-proxy" \
    --target-dir "$target" \
    "$@"
