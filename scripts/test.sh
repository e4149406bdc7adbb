#!/usr/bin/env bash
# The whole test suite, from a fresh clone: the README's test command, and what CI runs.
#
# 1. Creates (or reuses) a venv with the pinned MLflow, OUTSIDE the clone:
#      ${MLFLOW_TEST_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mlflow-tracking-tests}/venv-mlflow-3.17.2
#    It is reused only when it imports that exact mlflow version; otherwise it is rebuilt
#    from PyPI (a few minutes, once). Beside it, venv-mlflow-3.18.0: a newer MLflow for the
#    test of what it does with the crate's file.
# 2. Starts ONE real `mlflow server` on a free loopback port for the whole suite, and stops
#    it on exit. Tests find it through MLFLOW_TEST_SERVER_URI (see test-support/).
# 3. Runs: cargo fmt --check, clippy -D warnings, clippy of the builds with one store or
#    none (Cargo features `rest`, `sqlite`), what each one-store build depends on
#    (cargo tree), rustdoc -D warnings, cargo nextest (one process per test: the crate keeps
#    process-global state), the doctests (nextest does not run them), then the
#    `store_features` tests in a rest-only and an sqlite-only build. Every step runs; the
#    summary says which failed.
#
# Environment: MLFLOW_TEST_CACHE (where the venv lives), PYTHON (the interpreter that
# creates the venv, default python3), CI=true (a missing venv or server fails tests
# instead of skipping them).
set -euo pipefail

MLFLOW_VERSION=3.17.2
NEWER_MLFLOW_VERSION=3.18.0
HEALTH_TIMEOUT=90

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

export MLFLOW_DISABLE_TELEMETRY=true
# Only loopback is used; never send it to a proxy.
export NO_PROXY="127.0.0.1,localhost${NO_PROXY:+,$NO_PROXY}"
export no_proxy="$NO_PROXY"

say() { printf '\n==> %s\n' "$*"; }

# ---------------------------------------------------------------- the venv
cache="${MLFLOW_TEST_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mlflow-tracking-tests}"
venv="$cache/venv-mlflow-$MLFLOW_VERSION"

newer_venv="$cache/venv-mlflow-$NEWER_MLFLOW_VERSION"
newer_venv_ok() {
    [ -x "$newer_venv/bin/python" ] &&
        "$newer_venv/bin/python" -W ignore -c "import mlflow; assert mlflow.__version__ == '$NEWER_MLFLOW_VERSION'" >/dev/null 2>&1
}

venv_ok() {
    [ -x "$venv/bin/python" ] &&
        "$venv/bin/python" -c "import mlflow, flask_wtf; assert mlflow.__version__ == '$MLFLOW_VERSION'" >/dev/null 2>&1
}

mkdir -p "$cache"
{
    # Two suites starting at once must not build the same venv together.
    flock 9
    if venv_ok; then
        say "Reusing the MLflow $MLFLOW_VERSION venv at $venv"
    else
        # The [auth] extra brings what `mlflow server --app-name basic-auth` needs (Flask-WTF).
        say "Installing mlflow[auth]==$MLFLOW_VERSION from PyPI into $venv (once; a few minutes)"
        rm -rf "$venv"
        "${PYTHON:-python3}" -m venv "$venv"
        "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
            "mlflow[auth]==$MLFLOW_VERSION" --constraint scripts/mlflow-constraints.txt
        if ! venv_ok; then
            echo "error: $venv does not import mlflow $MLFLOW_VERSION after installing it" >&2
            exit 1
        fi
    fi
    # A newer MLflow, for the test of what it does with the crate's file. The registry has
    # no mlflow-skinny of that version, so it goes over the pinned version's dependencies.
    if newer_venv_ok; then
        say "Reusing the MLflow $NEWER_MLFLOW_VERSION venv at $newer_venv"
    else
        say "Installing mlflow==$NEWER_MLFLOW_VERSION (over $MLFLOW_VERSION's dependencies) into $newer_venv"
        rm -rf "$newer_venv"
        "${PYTHON:-python3}" -m venv "$newer_venv"
        "$newer_venv/bin/python" -m pip install --quiet --disable-pip-version-check \
            "mlflow==$MLFLOW_VERSION" --constraint scripts/mlflow-constraints.txt
        "$newer_venv/bin/python" -m pip install --quiet --disable-pip-version-check \
            --no-deps "mlflow==$NEWER_MLFLOW_VERSION"
        if ! newer_venv_ok; then
            echo "error: $newer_venv does not import mlflow $NEWER_MLFLOW_VERSION after installing it" >&2
            exit 1
        fi
    fi
} 9>"$cache/.install.lock"
export MLFLOW_TEST_NEWER_PYTHON="$newer_venv/bin/python"
export MLFLOW_TEST_PYTHON="$venv/bin/python"

# ---------------------------------------------------------------- the server
work="$(mktemp -d "${TMPDIR:-/tmp}/mlflow-tracking-tests.XXXXXX")"
server_pid=""

stop_server() {
    [ -n "$server_pid" ] || return 0
    # setsid made the server a process-group leader: signal the group (mlflow + uvicorn).
    kill -TERM -- "-$server_pid" 2>/dev/null || true
    for _ in $(seq 1 100); do
        kill -0 "$server_pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL -- "-$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
    server_pid=""
}
cleanup() {
    stop_server
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

port="$("$MLFLOW_TEST_PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
export MLFLOW_TEST_SERVER_URI="http://127.0.0.1:$port"
export MLFLOW_TEST_SERVER_LOG="$work/server.log"
say "Starting mlflow server $MLFLOW_VERSION at $MLFLOW_TEST_SERVER_URI (log: $MLFLOW_TEST_SERVER_LOG)"
# It boots while the code compiles; its health is checked before the tests run.
MLFLOW_SERVER_ENABLE_JOB_EXECUTION=false setsid "$MLFLOW_TEST_PYTHON" -m mlflow server \
    --workers 1 --host 127.0.0.1 --port "$port" \
    --backend-store-uri "sqlite:///$work/mlflow.db" \
    --default-artifact-root "$work/artifacts" \
    </dev/null >"$MLFLOW_TEST_SERVER_LOG" 2>&1 &
server_pid=$!
server_started=$SECONDS

server_healthy() {
    "$MLFLOW_TEST_PYTHON" - "$MLFLOW_TEST_SERVER_URI/health" <<'EOF'
import sys, urllib.request
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
try:
    ok = opener.open(sys.argv[1], timeout=2).read().strip() == b"OK"
except Exception:
    ok = False
sys.exit(0 if ok else 1)
EOF
}

wait_for_server() {
    local deadline=$((server_started + HEALTH_TIMEOUT))
    until server_healthy; do
        if ! kill -0 "$server_pid" 2>/dev/null; then
            echo "error: mlflow server exited before it was healthy; its log:" >&2
            cat "$MLFLOW_TEST_SERVER_LOG" >&2
            return 1
        fi
        if [ "$SECONDS" -ge "$deadline" ]; then
            echo "error: mlflow server not healthy after ${HEALTH_TIMEOUT}s; its log:" >&2
            cat "$MLFLOW_TEST_SERVER_LOG" >&2
            return 1
        fi
        sleep 0.5
    done
    echo "mlflow server healthy after $((SECONDS - server_started))s"
}

# ---------------------------------------------------------------- the steps
if ! command -v cargo-nextest >/dev/null 2>&1; then
    # Process-per-test isolation is what the crate's global state (run stack, tracking
    # URI, exit-time flush) needs; plain `cargo test` shares one process per file.
    say "Installing cargo-nextest from crates.io"
    cargo install cargo-nextest --locked
fi

step_names=()
step_results=()
failed=0

# step NAME COMMAND...: runs it, records ok/FAILED and the time taken, never stops the script.
step() {
    local name=$1
    shift
    say "$name: $*"
    local start=$SECONDS result=ok
    "$@" || result=FAILED
    [ "$result" = ok ] || failed=1
    step_names+=("$name")
    step_results+=("$result ($((SECONDS - start))s)")
}

# Test runners' output is kept to count the tests for the summary.
tee_to() {
    local file=$1
    shift
    "$@" 2>&1 | tee "$file"
}

# The stores are Cargo features (`rest`, `sqlite`, both default): the runtime with one store
# or none, and the facade with none, must build without warnings.
feature_builds() {
    local result=0 features
    for features in "" rest sqlite; do
        echo "cargo clippy -p mlflow-tracking-runtime --all-targets --no-default-features${features:+ --features $features}"
        cargo clippy -p mlflow-tracking-runtime --all-targets --no-default-features \
            ${features:+--features "$features"} -- -D warnings || result=1
    done
    echo "cargo clippy -p mlflow-tracking --no-default-features"
    cargo clippy -p mlflow-tracking --no-default-features -- -D warnings || result=1
    return "$result"
}

# A one-store build must not bring the other store's dependencies.
# store_deps FEATURES CRATE...: fails when `cargo tree` of the facade with FEATURES lists one.
store_deps() {
    local features=$1 tree found
    shift
    tree="$(cargo tree -p mlflow-tracking --no-default-features --features "$features" \
        -e normal --prefix none)" || return 1
    found="$(grep -oE "^($(IFS='|'; echo "$*")) v[^ ]+" <<<"$tree" | sort -u || true)"
    if [ -n "$found" ]; then
        echo "error: mlflow-tracking with --no-default-features --features $features depends on:" >&2
        sed 's/^/    /' <<<"$found" >&2
        echo "  a dependency of the other store is no longer optional, or a workspace crate" >&2
        echo "  depends on mlflow-tracking(-runtime) without default-features = false" >&2
        return 1
    fi
    echo "--features $features: none of $*"
}
store_dependencies() {
    local result=0
    store_deps macros,rest libsqlite3-sys rusqlite || result=1
    store_deps macros,sqlite reqwest hyper rustls || result=1
    return "$result"
}

step "format" cargo fmt --all -- --check
# burn (about 160 crates) builds only in the burn steps below, never in these.
no_burn=(--workspace --exclude mlflow-tracking-burn)
step "clippy" cargo clippy "${no_burn[@]}" --all-targets -- -D warnings
step "features" feature_builds
step "store deps" store_dependencies
# The features the test build does not use: NVIDIA GPU metrics (opt-in; no GPU in CI).
step "check gpu" cargo check -p mlflow-tracking-runtime --features gpu
step "rustdoc" env RUSTDOCFLAGS=-Dwarnings cargo doc "${no_burn[@]}" --no-deps
step "burn-clippy" cargo clippy -p mlflow-tracking-burn --all-targets -- -D warnings
step "burn-ex-clippy" cargo clippy -p mlflow-tracking --features burn --example burn_sweep -- -D warnings
step "burn-rustdoc" env RUSTDOCFLAGS=-Dwarnings cargo doc -p mlflow-tracking-burn -p mlflow-tracking --features mlflow-tracking/burn --no-deps
step "server" wait_for_server
if [ "${step_results[-1]%% *}" = ok ]; then
    step "tests" tee_to "$work/nextest.out" cargo nextest run "${no_burn[@]}"
    step "burn-tests" tee_to "$work/nextest-burn.out" cargo nextest run -p mlflow-tracking-burn
    # Built and run in the scratch folder, where its mlflow.db and mlruns/ go.
    step "burn-example" env -C "$work" cargo run --quiet --manifest-path "$root/Cargo.toml" \
        --features burn --example burn_sweep
else
    echo "error: not running the tests without the mlflow server" >&2
fi
step "doctests" tee_to "$work/doctest.out" cargo test "${no_burn[@]}" --doc
step "burn-doctests" tee_to "$work/doctest-burn.out" cargo test -p mlflow-tracking-burn --doc
# One-store builds: the store left out is a clear Error::Config, the other one works (the
# rest-only build against the suite's server).
for store in rest sqlite; do
    step "$store only" tee_to "$work/$store-only.out" cargo test -p mlflow-tracking \
        --no-default-features --features "macros,$store" --test store_features
done
stop_server

# ---------------------------------------------------------------- summary
passed=0
failures=0
skipped=0
for out in "$work/nextest.out" "$work/nextest-burn.out"; do
    [ -f "$out" ] || continue
    # "Summary [  12.3s] 42 tests run: 41 passed, 1 failed, 0 skipped"
    line="$(grep -E '^ *Summary \[' "$out" | tail -n 1 || true)"
    n() { grep -oE "[0-9]+ $1" <<<"$line" | grep -oE '^[0-9]+' || echo 0; }
    passed=$((passed + $(n passed)))
    failures=$((failures + $(n failed) + $(n 'timed out')))
    skipped=$((skipped + $(n skipped)))
done
for out in "$work/doctest.out" "$work/doctest-burn.out" "$work/rest-only.out" "$work/sqlite-only.out"; do
    [ -f "$out" ] || continue
    # "test result: ok. 3 passed; 0 failed; 1 ignored; ..."
    while read -r p f i; do
        passed=$((passed + p))
        failures=$((failures + f))
        skipped=$((skipped + i))
    done < <(sed -nE 's/^test result: [A-Za-z]+\. ([0-9]+) passed; ([0-9]+) failed; ([0-9]+) ignored.*/\1 \2 \3/p' "$out")
done

say "Summary (mlflow $MLFLOW_VERSION, venv $venv)"
for i in "${!step_names[@]}"; do
    printf '  %-14s %s\n' "${step_names[$i]}" "${step_results[$i]}"
done
if [ "$failed" -ne 0 ]; then
    echo "  FAILED: see the steps above"
fi
echo "tests: $passed passed, $failures failed, $skipped skipped"
exit "$failed"
