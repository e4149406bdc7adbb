#!/usr/bin/env bash
# The whole test suite, from a fresh clone: the README's test command, and what CI runs.
#
# What it installs, only when missing:
#   system-wide, only when run as root: Debian's `postgresql` and `nginx-light` (apt-get),
#     for the fleet tests (scripts/fleet.py: PostgreSQL + mlflow servers + nginx). Their
#     own services are not started (policy-rc.d during the install); the tests start
#     private instances on free loopback ports. Not root and missing: a note and the
#     fleet tests skip, or under CI=true a failure naming the packages.
#   into the cache folder below: the venvs (MLflow 3.17.2 + psycopg, 3.18.0, 2.22.5);
#   into ~/.cargo/bin: cargo-nextest.
#
# 1. Creates (or reuses) venvs with pinned MLflow versions, OUTSIDE the clone, in
#      ${MLFLOW_TEST_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mlflow-tracking-tests}/venv-mlflow-<version>
#    Each is reused only when it imports that exact mlflow version; otherwise it is rebuilt
#    from PyPI (a few minutes, once). venv-mlflow-3.17.2 (the pinned one) also holds the
#    PostgreSQL driver psycopg, installed on its own when missing; venv-mlflow-3.18.0: a
#    newer MLflow for the test of what it does with the crate's file; venv-mlflow-2.22.5:
#    the oldest MLflow the REST tests run against.
# 2. Starts two real `mlflow server`s on free loopback ports for the whole suite (3.17.2,
#    and 2.22.5 for the "mlflow 2.22" step), and stops them on exit. Tests find the server
#    through MLFLOW_TEST_SERVER_URI (see test-support/). Fleet tests (tests/fleet.rs) start
#    their own fleets.
# 3. Runs: cargo fmt --check, clippy -D warnings, clippy of the builds with one store or
#    none (Cargo features `rest`, `sqlite`), what each one-store build depends on
#    (cargo tree), rustdoc -D warnings, cargo nextest (one process per test: the crate keeps
#    process-global state), the REST tests again against MLflow 2.22, the doctests (nextest
#    does not run them), then the `store_features` tests in a rest-only and an sqlite-only
#    build. Every step runs; the summary says which failed.
#
# Environment: MLFLOW_TEST_CACHE (where the venvs live), PYTHON (the interpreter that
# creates the venvs, default python3), CI=true (a missing venv, server or system package
# fails instead of skipping).
set -euo pipefail

MLFLOW_VERSION=3.17.2
NEWER_MLFLOW_VERSION=3.18.0
OLD_MLFLOW_VERSION=2.22.5
HEALTH_TIMEOUT=90

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

export MLFLOW_DISABLE_TELEMETRY=true
# Only loopback is used; never send it to a proxy.
export NO_PROXY="127.0.0.1,localhost${NO_PROXY:+,$NO_PROXY}"
export no_proxy="$NO_PROXY"

say() { printf '\n==> %s\n' "$*"; }

# ---------------------------------------------------------------- system packages
is_ci() { [ "${CI:-}" = true ] || [ "${CI:-}" = 1 ]; }

# The newest /usr/lib/postgresql/<ver>/bin with initdb, postgres and pg_ctl; empty if none.
pg_bin_dir() {
    local d
    for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k5 -rn); do
        if [ -x "$d/initdb" ] && [ -x "$d/postgres" ] && [ -x "$d/pg_ctl" ]; then
            echo "$d"
            return
        fi
    done
}
nginx_bin() {
    command -v nginx 2>/dev/null || { [ -x /usr/sbin/nginx ] && echo /usr/sbin/nginx; } || true
}

# PostgreSQL and nginx for the fleet tests: installed with apt-get when missing and root.
system_packages() {
    local need=()
    [ -n "$(pg_bin_dir)" ] || need+=(postgresql)
    [ -n "$(nginx_bin)" ] || need+=(nginx-light)
    if [ "${#need[@]}" -gt 0 ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        say "Installing ${need[*]} with apt-get (system-wide; for the fleet tests)"
        # Debian starts a package's service when installing it: not these (ports 80, 5432).
        local policy=/usr/sbin/policy-rc.d made_policy=""
        if [ ! -e "$policy" ]; then
            printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy" && made_policy=1
        fi
        local rc=0
        { apt-get update -qq &&
            DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}"; } || rc=$?
        [ -z "$made_policy" ] || rm -f "$policy"
        [ "$rc" = 0 ] || echo "apt-get install ${need[*]} failed ($rc)" >&2
        need=()
        [ -n "$(pg_bin_dir)" ] || need+=(postgresql)
        [ -n "$(nginx_bin)" ] || need+=(nginx-light)
    fi
    if [ "${#need[@]}" -gt 0 ]; then
        local msg="the fleet tests need the Debian packages ${need[*]}, missing here; as root: apt-get install -y --no-install-recommends ${need[*]} (or run this script as root)"
        if is_ci; then
            echo "error: $msg" >&2
            exit 1
        fi
        echo "note: $msg. The fleet tests will be skipped."
    fi
    MLFLOW_TEST_PG_BIN="$(pg_bin_dir)"
    MLFLOW_TEST_NGINX="$(nginx_bin)"
    export MLFLOW_TEST_PG_BIN MLFLOW_TEST_NGINX
    [ -z "$MLFLOW_TEST_PG_BIN" ] || echo "PostgreSQL: $MLFLOW_TEST_PG_BIN"
    [ -z "$MLFLOW_TEST_NGINX" ] || echo "nginx: $MLFLOW_TEST_NGINX"
}
system_packages

# ---------------------------------------------------------------- the venvs
cache="${MLFLOW_TEST_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mlflow-tracking-tests}"
venv="$cache/venv-mlflow-$MLFLOW_VERSION"
newer_venv="$cache/venv-mlflow-$NEWER_MLFLOW_VERSION"
old_venv="$cache/venv-mlflow-$OLD_MLFLOW_VERSION"
pip_install() { "$1/bin/python" -m pip install --quiet --disable-pip-version-check "${@:2}"; }

# venv_ok DIR VERSION CHECK: DIR's python imports mlflow VERSION, then runs CHECK (Python).
venv_ok() {
    [ -x "$1/bin/python" ] &&
        "$1/bin/python" -W ignore -c "import mlflow; assert mlflow.__version__ == '$2'; $3" >/dev/null 2>&1
}

# ensure_venv DIR VERSION CHECK PIP_ARGS... [--then PIP_ARGS...]: reuses DIR when venv_ok,
# otherwise rebuilds it with one `pip install` per PIP_ARGS group, and checks it again.
ensure_venv() {
    local dir=$1 version=$2 check=$3
    shift 3
    if venv_ok "$dir" "$version" "$check"; then
        say "Reusing the MLflow $version venv at $dir"
        return 0
    fi
    say "Installing MLflow $version into $dir (once; a few minutes)"
    rm -rf "$dir"
    "${PYTHON:-python3}" -m venv "$dir"
    local args=() a
    for a in "$@" --then; do
        if [ "$a" = --then ]; then
            pip_install "$dir" "${args[@]}"
            args=()
        else
            args+=("$a")
        fi
    done
    if ! venv_ok "$dir" "$version" "$check"; then
        echo "error: $dir does not pass its check (mlflow $version; $check) after installing it" >&2
        exit 1
    fi
}

mkdir -p "$cache"
{
    # Two suites starting at once must not build the same venv together.
    flock 9
    # The [auth] extra brings what `mlflow server --app-name basic-auth` needs (Flask-WTF).
    ensure_venv "$venv" "$MLFLOW_VERSION" "import flask_wtf" \
        "mlflow[auth]==$MLFLOW_VERSION" --constraint scripts/mlflow-constraints.txt
    # The fleet's servers reach PostgreSQL through psycopg: added to the venv on its own
    # (no rebuild) when missing or not the pinned version.
    psycopg_pin="$(sed -n 's/^psycopg==//p' scripts/mlflow-constraints.txt)"
    if ! "$venv/bin/python" -c "import psycopg; assert psycopg.__version__ == '$psycopg_pin'" >/dev/null 2>&1; then
        say "Installing psycopg[binary]==$psycopg_pin into $venv"
        pip_install "$venv" "psycopg[binary]==$psycopg_pin" --constraint scripts/mlflow-constraints.txt
        "$venv/bin/python" -c "import psycopg; assert psycopg.__version__ == '$psycopg_pin'" || {
            echo "error: $venv does not import psycopg $psycopg_pin after installing it" >&2
            exit 1
        }
    fi
    # A newer MLflow, for the test of what it does with the crate's file. The registry has
    # no mlflow-skinny of that version, so it goes over the pinned version's dependencies.
    ensure_venv "$newer_venv" "$NEWER_MLFLOW_VERSION" "" \
        "mlflow==$MLFLOW_VERSION" --constraint scripts/mlflow-constraints.txt \
        --then --no-deps "mlflow==$NEWER_MLFLOW_VERSION"
    # The oldest MLflow the REST tests run against (the "mlflow 2.22" step).
    ensure_venv "$old_venv" "$OLD_MLFLOW_VERSION" "import sqlalchemy" \
        "mlflow==$OLD_MLFLOW_VERSION" --constraint scripts/mlflow-2.22-constraints.txt
} 9>"$cache/.install.lock"
export MLFLOW_TEST_NEWER_PYTHON="$newer_venv/bin/python"
export MLFLOW_TEST_PYTHON="$venv/bin/python"
old_python="$old_venv/bin/python"

# ---------------------------------------------------------------- the servers
work="$(mktemp -d "${TMPDIR:-/tmp}/mlflow-tracking-tests.XXXXXX")"
server_pids=()

stop_servers() {
    local pid
    # setsid made each server a process-group leader: signal the group (mlflow + workers).
    for pid in "${server_pids[@]}"; do
        kill -TERM -- "-$pid" 2>/dev/null || true
    done
    for pid in "${server_pids[@]}"; do
        for _ in $(seq 1 100); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL -- "-$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    server_pids=()
}
cleanup() {
    stop_servers
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

free_port() {
    "$MLFLOW_TEST_PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# start_server PYTHON URI DIR: `mlflow server --workers 1` over DIR/mlflow.db (artifacts in
# DIR/artifacts, log DIR/server.log) at URI, in the background; it boots while the code
# compiles, and its health is checked before the tests run.
start_server() {
    local python=$1 port=${2##*:} dir=$3
    mkdir -p "$dir"
    MLFLOW_SERVER_ENABLE_JOB_EXECUTION=false setsid "$python" -m mlflow server \
        --workers 1 --host 127.0.0.1 --port "$port" \
        --backend-store-uri "sqlite:///$dir/mlflow.db" \
        --default-artifact-root "$dir/artifacts" \
        </dev/null >"$dir/server.log" 2>&1 &
    server_pids+=($!)
}

export MLFLOW_TEST_SERVER_URI="http://127.0.0.1:$(free_port)"
export MLFLOW_TEST_SERVER_LOG="$work/server/server.log"
say "Starting mlflow server $MLFLOW_VERSION at $MLFLOW_TEST_SERVER_URI (log: $MLFLOW_TEST_SERVER_LOG)"
start_server "$MLFLOW_TEST_PYTHON" "$MLFLOW_TEST_SERVER_URI" "$work/server"
old_server_uri="http://127.0.0.1:$(free_port)"
old_server_log="$work/server-$OLD_MLFLOW_VERSION/server.log"
say "Starting mlflow server $OLD_MLFLOW_VERSION at $old_server_uri (log: $old_server_log)"
start_server "$old_python" "$old_server_uri" "$work/server-$OLD_MLFLOW_VERSION"
servers_started=$SECONDS

server_healthy() {
    "$MLFLOW_TEST_PYTHON" - "$1/health" <<'EOF'
import sys, urllib.request
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
try:
    ok = opener.open(sys.argv[1], timeout=2).read().strip() == b"OK"
except Exception:
    ok = False
sys.exit(0 if ok else 1)
EOF
}

# wait_for_server URI PID LOG
wait_for_server() {
    local uri=$1 pid=$2 log=$3 deadline=$((servers_started + HEALTH_TIMEOUT))
    until server_healthy "$uri"; do
        if ! kill -0 "$pid" 2>/dev/null; then
            echo "error: mlflow server $uri exited before it was healthy; its log:" >&2
            cat "$log" >&2
            return 1
        fi
        if [ "$SECONDS" -ge "$deadline" ]; then
            echo "error: mlflow server $uri not healthy after ${HEALTH_TIMEOUT}s; its log:" >&2
            cat "$log" >&2
            return 1
        fi
        sleep 0.5
    done
    echo "mlflow server $uri healthy after $((SECONDS - servers_started))s"
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
step "server" wait_for_server "$MLFLOW_TEST_SERVER_URI" "${server_pids[0]}" "$MLFLOW_TEST_SERVER_LOG"
if [ "${step_results[-1]%% *}" = ok ]; then
    step "tests" tee_to "$work/nextest.out" cargo nextest run "${no_burn[@]}"
    step "burn-tests" tee_to "$work/nextest-burn.out" cargo nextest run -p mlflow-tracking-burn
    # Built and run in the scratch folder, where its mlflow.db and mlruns/ go.
    step "burn-example" env -C "$work" cargo run --quiet --manifest-path "$root/Cargo.toml" \
        --features burn --example burn_sweep
    # Worker processes under one parent, as a user runs it: on a fresh ./mlflow.db in a
    # folder of its own, then against the suite's server.
    mkdir -p "$work/distributed"
    step "distributed-example" env -C "$work/distributed" cargo run --quiet \
        --manifest-path "$root/Cargo.toml" --example distributed_sweep -- --workers 3 --trials 6 --epochs 3
    step "distributed-server" env -C "$work/distributed" MLFLOW_TRACKING_URI="$MLFLOW_TEST_SERVER_URI" \
        cargo run --quiet --manifest-path "$root/Cargo.toml" --example distributed_sweep -- \
        --workers 3 --trials 6 --epochs 3
else
    echo "error: not running the tests without the mlflow server" >&2
fi
# The REST tests again, against MLflow 2.22 and read back with its client: nesting, values,
# search and the artifact proxy (artifacts.rs starts its private proxy server from
# MLFLOW_TEST_PYTHON, here 2.22 too). Same binaries as the "tests" step: nothing rebuilds.
# Left out: artifacts_in_the_embedded_store, which reads the crate's own SQLite file (3.17
# schema) with Python, and MLflow 2.22 cannot open a newer schema.
old_rest_tests() {
    wait_for_server "$old_server_uri" "${server_pids[1]}" "$old_server_log" || return 1
    tee_to "$work/nextest-$OLD_MLFLOW_VERSION.out" env \
        MLFLOW_TEST_SERVER_URI="$old_server_uri" MLFLOW_TEST_SERVER_LOG="$old_server_log" \
        MLFLOW_TEST_PYTHON="$old_python" \
        cargo nextest run "${no_burn[@]}" -E "$old_rest_filter"
}
old_rest_filter='package(mlflow-tracking) & (binary(=rest_nesting) | binary(=rest_values) | binary(=search_parity) | binary(=artifacts)) & not test(=artifacts_in_the_embedded_store)'
step "mlflow 2.22" old_rest_tests
step "doctests" tee_to "$work/doctest.out" cargo test "${no_burn[@]}" --doc
step "burn-doctests" tee_to "$work/doctest-burn.out" cargo test -p mlflow-tracking-burn --doc
# One-store builds: the store left out is a clear Error::Config, the other one works (the
# rest-only build against the suite's server).
for store in rest sqlite; do
    step "$store only" tee_to "$work/$store-only.out" cargo test -p mlflow-tracking \
        --no-default-features --features "macros,$store" --test store_features
done
stop_servers

# ---------------------------------------------------------------- summary
passed=0
failures=0
skipped=0
for out in "$work/nextest.out" "$work/nextest-burn.out" "$work/nextest-$OLD_MLFLOW_VERSION.out"; do
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

say "Summary (mlflow $MLFLOW_VERSION, venv $venv; the 2.22 step: mlflow $OLD_MLFLOW_VERSION)"
for i in "${!step_names[@]}"; do
    printf '  %-14s %s\n' "${step_names[$i]}" "${step_results[$i]}"
done
if [ "$failed" -ne 0 ]; then
    echo "  FAILED: see the steps above"
fi
echo "tests: $passed passed, $failures failed, $skipped skipped"
exit "$failed"
