#!/usr/bin/env bash
# The whole test suite, from a fresh clone: the README's test command, and what CI runs.
#
#   ./scripts/test.sh                       every step, in order (what CI runs)
#   ./scripts/test.sh --only clippy,tests   only these steps (names as --list prints them;
#                                           a space may be written as a dash: rest-only)
#   ./scripts/test.sh --list                the steps, in order, and what each needs
#
# The versions (MLflow 3.17.2 pinned, 3.18.0 newer, 2.22.5 old; psycopg) are written in ONE
# place, scripts/pins.env, which this script sources; the step of the old MLflow is named
# after it ("mlflow 2.22").
#
# What it installs, only when missing, and only when a chosen step needs it:
#   system-wide, only when run as root: Debian's `postgresql` and `nginx-light` (apt-get),
#     for the fleet tests (step "tests"; scripts/fleet.py: PostgreSQL + mlflow servers +
#     nginx). Their own services are not started (policy-rc.d during the install); the
#     tests start private instances on free loopback ports. Not root and missing: a note
#     and the fleet tests skip, or under CI=true a failure naming the packages.
#   into the cache folder below: the venvs (the pinned MLflow + psycopg and boto3, the newer
#     one, the old one, moto's for the S3 tests);
#   into ~/.cargo/bin: cargo-nextest.
#
# 1. Creates (or reuses) venvs with the pinned MLflow versions, OUTSIDE the clone, in
#      ${MLFLOW_TEST_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mlflow-tracking-tests}/venv-mlflow-<version>
#    Each is reused only when it imports that exact mlflow version; otherwise it is rebuilt
#    from PyPI (a few minutes, once). venv-mlflow-$MLFLOW_VERSION (the pinned one) also holds
#    the PostgreSQL driver psycopg, installed on its own when missing; the newer one: for the
#    test of what a newer MLflow does with the crate's file; the old one: the oldest MLflow
#    the REST tests run against.
# 2. Starts real `mlflow server`s on free loopback ports for the whole suite (the pinned
#    MLflow, and the old one for its step), with scripts/mlflow_server.py: the one way the
#    tests, the benches and the fleet start a server (flags, readiness on /health, one
#    timeout, the whole process group stopped); they boot while the code compiles and are
#    stopped on exit. Tests find the server through MLFLOW_TEST_SERVER_URI (see
#    test-support/). Fleet tests (tests/fleet.rs) start their own fleets.
# 3. Runs: cargo fmt --check, clippy -D warnings, clippy of the builds with one store or
#    none (Cargo features `rest`, `sqlite`), what each one-store build depends on
#    (cargo tree), rustdoc -D warnings, cargo nextest (one process per test: the crate keeps
#    process-global state), the tests marked `//! old-mlflow:` again against the old MLflow,
#    the doctests (nextest does not run them), then the `store_features` tests in a
#    rest-only and an sqlite-only build. Every chosen step runs; the summary says which
#    failed.
#
# The old-MLflow step runs the test files (tests/*.rs of any workspace crate but burn) whose
# leading `//!` comment has a line starting `//! old-mlflow:`; a test of such a file is left
# out by a line `// old-mlflow: skip <reason>` above it. The step fails when no file opts in,
# when a marked file selects no test, or when a skip names no test.
#
# Environment: MLFLOW_TEST_CACHE (where the venvs live), PYTHON (the interpreter that
# creates the venvs, default python3), CI=true (a missing venv, server or system package
# fails instead of skipping).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

# MLFLOW_VERSION, MLFLOW_NEWER_VERSION, MLFLOW_OLD_VERSION, PSYCOPG_VERSION.
source scripts/pins.env
OLD_STEP="mlflow ${MLFLOW_OLD_VERSION%.*}"

export MLFLOW_DISABLE_TELEMETRY=true
# Only loopback is used; never send it to a proxy.
export NO_PROXY="127.0.0.1,localhost${NO_PROXY:+,$NO_PROXY}"
export no_proxy="$NO_PROXY"

say() { printf '\n==> %s\n' "$*"; }
is_ci() { [ "${CI:-}" = true ] || [ "${CI:-}" = 1 ]; }

# ---------------------------------------------------------------- the steps and their needs
# NAME|NEEDS, in the order they run. Needs: venv (the pinned MLflow's venv, with psycopg),
# newer (the newer MLflow's venv), server (the suite's server of the pinned MLflow), old (the
# old MLflow's venv and server), fleet (PostgreSQL and nginx), nextest (cargo-nextest), moto
# (moto's venv, for the S3 tests, which start their own moto servers).
# Steps of cargo alone need nothing. (The step "server" waits for the suite's server; it runs
# before the first chosen step that needs it.)
STEPS=(
    "format|"
    "clippy|"
    "features|"
    "store deps|"
    "check gpu|"
    "rustdoc|"
    "burn-clippy|"
    "burn-ex-clippy|"
    "burn-rustdoc|"
    "optimizer-clippy|"
    "optimizer-rustdoc|"
    "tests|venv newer server fleet nextest moto"
    "burn-tests|venv server nextest"
    "burn-example|"
    "optimizer-example|"
    "optimizer-server|venv server"
    "registry-example|"
    "registry-server|venv server"
    "distributed-example|"
    "distributed-server|venv server"
    "$OLD_STEP|old nextest"
    "doctests|"
    "burn-doctests|"
    "rest only|venv server"
    "sqlite only|"
)

usage() {
    cat <<EOF
usage: ./scripts/test.sh [--only STEP[,STEP...]] [--list]
  (no option)  every step, in order: the whole suite, as CI runs it
  --only       only these steps, in the usual order; installs and starts only what they need
  --list       print the steps, in order, with what each needs, and exit
EOF
}

# "rest only" and "rest-only" name the same step.
norm() {
    local s=${1,,}
    s=${s//[[:space:]]/-}
    printf '%s' "$s"
}

only=""
list=0
while [ $# -gt 0 ]; do
    case $1 in
    --only) [ $# -ge 2 ] || { usage >&2; exit 2; }; only=$2; shift 2 ;;
    --only=*) only=${1#--only=}; shift ;;
    --list) list=1; shift ;;
    -h | --help) usage; exit 0 ;;
    *) echo "error: unknown argument: $1" >&2; usage >&2; exit 2 ;;
    esac
done

if [ "$list" = 1 ]; then
    echo "Steps of ./scripts/test.sh, in order (--only runs some of them; \"server\" is added before"
    echo "the first one that needs the suite's server):"
    for entry in "${STEPS[@]}"; do
        needs=${entry#*|}
        if [ -n "$needs" ]; then
            printf '  %-20s needs: %s\n' "${entry%%|*}" "$needs"
        else
            printf '  %s\n' "${entry%%|*}"
        fi
    done
    echo "needs: venv = the MLflow $MLFLOW_VERSION venv (with psycopg $PSYCOPG_VERSION), newer = the MLflow"
    echo "$MLFLOW_NEWER_VERSION venv, server = the suite's MLflow $MLFLOW_VERSION server, old = the MLflow $MLFLOW_OLD_VERSION venv"
    echo "and server, fleet = PostgreSQL and nginx, nextest = cargo-nextest, moto = moto $MOTO_VERSION's venv"
    echo "(and boto3 $BOTO3_VERSION in the MLflow venv) for the S3 tests (versions: scripts/pins.env)"
    exit 0
fi

declare -A chosen=()
if [ -z "$only" ]; then
    for entry in "${STEPS[@]}"; do chosen[${entry%%|*}]=1; done
else
    IFS=, read -r -a wanted <<<"$only"
    for want in "${wanted[@]}"; do
        want="$(sed 's/^[[:space:]]*//; s/[[:space:]]*$//' <<<"$want")"
        [ -n "$want" ] || continue
        found=""
        for entry in "${STEPS[@]}"; do
            if [ "$(norm "${entry%%|*}")" = "$(norm "$want")" ]; then
                found=${entry%%|*}
            fi
        done
        if [ -z "$found" ]; then
            echo "error: no step \"$want\"; the steps (./scripts/test.sh --list):" >&2
            for entry in "${STEPS[@]}"; do echo "  ${entry%%|*}" >&2; done
            exit 2
        fi
        chosen[$found]=1
    done
    [ "${#chosen[@]}" -gt 0 ] || { echo "error: --only names no step" >&2; exit 2; }
fi

# needs WHAT: a chosen step needs it.
needs() {
    local entry
    for entry in "${STEPS[@]}"; do
        [ -n "${chosen[${entry%%|*}]:-}" ] || continue
        case " ${entry#*|} " in *" $1 "*) return 0 ;; esac
    done
    return 1
}

# ---------------------------------------------------------------- system packages
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
if needs fleet; then
    system_packages
fi

# ---------------------------------------------------------------- the venvs
cache="${MLFLOW_TEST_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mlflow-tracking-tests}"
venv="$cache/venv-mlflow-$MLFLOW_VERSION"
newer_venv="$cache/venv-mlflow-$MLFLOW_NEWER_VERSION"
old_venv="$cache/venv-mlflow-$MLFLOW_OLD_VERSION"
moto_venv="$cache/venv-moto-$MOTO_VERSION"
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

if needs venv || needs newer || needs old || needs moto; then
    mkdir -p "$cache"
    {
        # Two suites starting at once must not build the same venv together.
        flock 9
        if needs venv; then
            # The [auth] extra brings what `mlflow server --app-name basic-auth` needs (Flask-WTF).
            ensure_venv "$venv" "$MLFLOW_VERSION" "import flask_wtf" \
                "mlflow[auth]==$MLFLOW_VERSION" --constraint scripts/mlflow-constraints.txt
            # The fleet's servers reach PostgreSQL through psycopg: added to the venv on its own
            # (no rebuild) when missing or not the pinned version.
            if ! "$venv/bin/python" -c "import psycopg; assert psycopg.__version__ == '$PSYCOPG_VERSION'" >/dev/null 2>&1; then
                say "Installing psycopg[binary]==$PSYCOPG_VERSION into $venv"
                pip_install "$venv" "psycopg[binary]==$PSYCOPG_VERSION" --constraint scripts/mlflow-constraints.txt
                "$venv/bin/python" -c "import psycopg; assert psycopg.__version__ == '$PSYCOPG_VERSION'" || {
                    echo "error: $venv does not import psycopg $PSYCOPG_VERSION after installing it" >&2
                    exit 1
                }
            fi
        fi
        # The optimizer integration's tests read studies back with Optuna and MLflow's
        # MlflowStorage: optuna in the pinned MLflow's venv, added on its own like psycopg.
        if needs venv && ! "$venv/bin/python" -c "import optuna; assert optuna.__version__ == '$OPTUNA_VERSION'" >/dev/null 2>&1; then
            say "Installing optuna==$OPTUNA_VERSION into $venv"
            pip_install "$venv" "optuna==$OPTUNA_VERSION" --constraint scripts/mlflow-constraints.txt
            "$venv/bin/python" -c "import optuna; assert optuna.__version__ == '$OPTUNA_VERSION'" || {
                echo "error: $venv does not import optuna $OPTUNA_VERSION after installing it" >&2
                exit 1
            }
        fi
        # The S3 tests: boto3 in the pinned MLflow's venv (its server's S3 artifact store and
        # the read-back), added on its own like psycopg; moto's server in a venv of its own.
        if needs moto; then
            if needs venv && ! "$venv/bin/python" -c "import boto3; assert boto3.__version__ == '$BOTO3_VERSION'" >/dev/null 2>&1; then
                say "Installing boto3==$BOTO3_VERSION into $venv"
                pip_install "$venv" "boto3==$BOTO3_VERSION" --constraint scripts/mlflow-constraints.txt
            fi
            if ! "$moto_venv/bin/python" -c "import moto; assert moto.__version__ == '$MOTO_VERSION'; import flask" >/dev/null 2>&1; then
                say "Installing moto[server]==$MOTO_VERSION into $moto_venv (once)"
                rm -rf "$moto_venv"
                "${PYTHON:-python3}" -m venv "$moto_venv"
                pip_install "$moto_venv" "moto[server]==$MOTO_VERSION"
                "$moto_venv/bin/python" -c "import moto; assert moto.__version__ == '$MOTO_VERSION'" || {
                    echo "error: $moto_venv does not import moto $MOTO_VERSION after installing it" >&2
                    exit 1
                }
            fi
        fi
        if needs newer; then
            # A newer MLflow, for the test of what it does with the crate's file. The registry
            # has no mlflow-skinny of that version, so it goes over the pinned version's
            # dependencies.
            ensure_venv "$newer_venv" "$MLFLOW_NEWER_VERSION" "" \
                "mlflow==$MLFLOW_VERSION" --constraint scripts/mlflow-constraints.txt \
                --then --no-deps "mlflow==$MLFLOW_NEWER_VERSION"
        fi
        if needs old; then
            # The oldest MLflow the REST tests run against (the old-MLflow step).
            ensure_venv "$old_venv" "$MLFLOW_OLD_VERSION" "import sqlalchemy" \
                "mlflow==$MLFLOW_OLD_VERSION" --constraint scripts/mlflow-2.22-constraints.txt
        fi
    } 9>"$cache/.install.lock"
fi
if needs venv; then
    export MLFLOW_TEST_PYTHON="$venv/bin/python"
fi
if needs newer; then
    export MLFLOW_TEST_NEWER_PYTHON="$newer_venv/bin/python"
fi
if needs moto; then
    export MLFLOW_TEST_MOTO_PYTHON="$moto_venv/bin/python"
fi
old_python="$old_venv/bin/python"

# ---------------------------------------------------------------- the servers
work="$(mktemp -d "${TMPDIR:-/tmp}/mlflow-tracking-tests.XXXXXX")"
# Per server name (main, old): its launcher's pid, and its folder (mlflow.db, artifacts/,
# server.log, the launcher's launcher.json and launcher.err).
declare -A launcher_pid=() server_dir=()

# json_field FILE NAME: a string or number field of the launcher's one JSON line.
json_field() {
    sed -n "s/.*\"$2\": \"\{0,1\}\([^\",}]*\).*/\1/p" "$1" | head -n 1
}

stop_servers() {
    local name pid pgid
    # Each launcher stops its server's whole process group on SIGTERM (SIGTERM, SIGKILL after
    # a grace period, SIGKILL to what outlives `mlflow server`).
    for name in "${!launcher_pid[@]}"; do
        kill -TERM "${launcher_pid[$name]}" 2>/dev/null || true
    done
    for name in "${!launcher_pid[@]}"; do
        pid=${launcher_pid[$name]}
        for _ in $(seq 1 300); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        if kill -0 "$pid" 2>/dev/null; then
            # The launcher did not finish in 30 s: it and the server's group, the hard way.
            kill -KILL "$pid" 2>/dev/null || true
            pgid="$(json_field "${server_dir[$name]}/launcher.json" pgid 2>/dev/null || true)"
            [ -z "$pgid" ] || kill -KILL -- "-$pgid" 2>/dev/null || true
        fi
        wait "$pid" 2>/dev/null || true
    done
    launcher_pid=()
}
cleanup() {
    stop_servers
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# start_server NAME PYTHON DIR: scripts/mlflow_server.py in the background, starting
# `mlflow server --workers 1` (PYTHON's MLflow) on a free loopback port over DIR/mlflow.db,
# artifacts in DIR/artifacts, log DIR/server.log; it boots while the code compiles, and
# wait_for_server waits for it before the tests run.
start_server() {
    local name=$1 python=$2 dir=$3
    mkdir -p "$dir"
    "$python" scripts/mlflow_server.py --ignore-stdin \
        --backend-store-uri "sqlite:///$dir/mlflow.db" --default-artifact-root "$dir/artifacts" \
        --log "$dir/server.log" </dev/null >"$dir/launcher.json" 2>"$dir/launcher.err" &
    launcher_pid[$name]=$!
    server_dir[$name]=$dir
}

# wait_for_server NAME: until the launcher prints its JSON line (the server is up; the
# launcher's timeout bounds the wait), then sets server_uri to the server's URI. (In this
# shell, not in a $(...) subshell, so that a signal's trap runs within half a second.)
server_uri=""
wait_for_server() {
    local name=$1 dir=${server_dir[$1]} pid=${launcher_pid[$1]}
    server_uri=""
    until [ -s "$dir/launcher.json" ]; do
        if ! kill -0 "$pid" 2>/dev/null; then
            {
                echo "error: the mlflow server \"$name\" did not come up:"
                cat "$dir/launcher.err"
                echo "--- its log, $dir/server.log ---"
                cat "$dir/server.log"
            } >&2
            return 1
        fi
        sleep 0.5
    done
    server_uri="$(json_field "$dir/launcher.json" uri)"
    echo "mlflow server \"$name\" up at $server_uri after $((SECONDS - servers_started))s"
}

servers_started=$SECONDS
if needs server; then
    export MLFLOW_TEST_SERVER_LOG="$work/server/server.log"
    say "Starting mlflow server $MLFLOW_VERSION (log: $MLFLOW_TEST_SERVER_LOG)"
    start_server main "$MLFLOW_TEST_PYTHON" "$work/server"
fi
old_server_log="$work/server-$MLFLOW_OLD_VERSION/server.log"
if needs old; then
    say "Starting mlflow server $MLFLOW_OLD_VERSION (log: $old_server_log)"
    start_server old "$old_python" "$work/server-$MLFLOW_OLD_VERSION"
fi

# ---------------------------------------------------------------- the steps
if needs nextest && ! command -v cargo-nextest >/dev/null 2>&1; then
    # Process-per-test isolation is what the crate's global state (run stack, tracking
    # URI, exit-time flush) needs; plain `cargo test` shares one process per file.
    say "Installing cargo-nextest from crates.io"
    cargo install cargo-nextest --locked
fi

step_names=()
step_results=()
failed=0

# On a fresh clone the suite's builds (the tests, the examples, trybuild's own target, the
# one-store builds) and its temporary files take about 10 GiB in the target's file system
# (CONTRIBUTING.md has the measurement). A full disk shows up as tests failing with "No
# space left on device", so less than DISK_NEEDED_GB free is said up front.
target_dir="${CARGO_TARGET_DIR:-$root/target}"
DISK_NEEDED_GB=12
# disk_report WHEN: the target's size and the free space where it lives.
disk_report() {
    local free_kb size
    mkdir -p "$target_dir"
    free_kb="$(df -Pk "$target_dir" | awk 'NR == 2 { print $4 }')"
    size="$(du -sh "$target_dir" 2>/dev/null | cut -f1)"
    echo "disk $1: target $target_dir holds $size, $((free_kb / 1048576)) GiB free there"
    if [ "$1" = before ] && [ "$free_kb" -lt $((DISK_NEEDED_GB * 1048576)) ]; then
        echo "warning: less than $DISK_NEEDED_GB GiB free; a fresh clone's builds take about 10;" \
            "steps may fail with \"No space left on device\"" >&2
    fi
}
disk_report before
if is_ci; then
    # A fresh clone has no incremental state to reuse; writing it costs gigabytes.
    export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"
fi

# step NAME COMMAND...: runs it when chosen, records ok/FAILED and the time taken, never
# stops the script.
step() {
    local name=$1
    shift
    [ -n "${chosen[$name]:-}" ] || [ "$name" = server ] || return 0
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
# The opt-in `image` feature is on in the clippy, rustdoc, test and doctest builds (one build
# for them all: tests/artifact_kinds.rs's image scenario needs it); the "features" step checks
# the runtime without it.
# The opt-in `s3` feature too: tests/s3_artifacts.rs needs it (one build for all).
with_image=(--features mlflow-tracking/image,mlflow-tracking/s3)
step "clippy" cargo clippy "${no_burn[@]}" "${with_image[@]}" --all-targets -- -D warnings
step "features" feature_builds
step "store deps" store_dependencies
# The features the test build does not use: NVIDIA GPU metrics (opt-in; no GPU in CI).
step "check gpu" cargo check -p mlflow-tracking-runtime --features gpu
step "rustdoc" env RUSTDOCFLAGS=-Dwarnings cargo doc "${no_burn[@]}" "${with_image[@]}" --no-deps
step "burn-clippy" cargo clippy -p mlflow-tracking-burn --all-targets -- -D warnings
step "burn-ex-clippy" cargo clippy -p mlflow-tracking --features burn --example burn_sweep -- -D warnings
step "burn-rustdoc" env RUSTDOCFLAGS=-Dwarnings cargo doc -p mlflow-tracking-burn -p mlflow-tracking --features mlflow-tracking/burn --no-deps
# The optimizer integration with every feature it forwards, and its example through the
# facade (its tests run in the step "tests", with the workspace).
optimizer_features=(--features mlflow-tracking/optimizer-async,mlflow-tracking/optimizer-cma-es,mlflow-tracking/optimizer-gp)
step "optimizer-clippy" cargo clippy -p mlflow-tracking-optimizer -p mlflow-tracking "${optimizer_features[@]}" --all-targets -- -D warnings
step "optimizer-rustdoc" env RUSTDOCFLAGS=-Dwarnings cargo doc -p mlflow-tracking-optimizer -p mlflow-tracking "${optimizer_features[@]}" --no-deps
# The suite's server, before the first chosen step that needs it.
main_server() {
    wait_for_server main || return 1
    export MLFLOW_TEST_SERVER_URI="$server_uri"
}
server_ok=1
if needs server; then
    step "server" main_server
    [ "${step_results[-1]%% *}" = ok ] || server_ok=""
fi
if [ -n "$server_ok" ]; then
    step "tests" tee_to "$work/nextest.out" cargo nextest run "${no_burn[@]}" "${with_image[@]}"
    step "burn-tests" tee_to "$work/nextest-burn.out" cargo nextest run -p mlflow-tracking-burn
    # Built and run in the scratch folder, where its mlflow.db and mlruns/ go.
    step "burn-example" env -C "$work" cargo run --quiet --manifest-path "$root/Cargo.toml" \
        --features burn --example burn_sweep
    # The optimizer sweep as a user runs it: on a fresh ./mlflow.db in a folder of its own,
    # then against the suite's server (where Python Optuna's tests read studies too).
    rm -rf "$work/optimizer" && mkdir -p "$work/optimizer"
    step "optimizer-example" env -C "$work/optimizer" cargo run --quiet \
        --manifest-path "$root/Cargo.toml" --features optimizer --example optimizer_sweep
    step "optimizer-server" env -C "$work/optimizer" MLFLOW_TRACKING_URI="${MLFLOW_TEST_SERVER_URI:-}" \
        cargo run --quiet --manifest-path "$root/Cargo.toml" --features optimizer \
        --example optimizer_sweep -- --study "optimizer-sweep-$$"
    # The sweep kept and registered, as a user runs it: on a fresh ./mlflow.db in a folder of
    # its own (tracking and registry in one file), then against the suite's server.
    rm -rf "$work/registry" && mkdir -p "$work/registry"
    step "registry-example" env -C "$work/registry" cargo run --quiet \
        --manifest-path "$root/Cargo.toml" "${with_image[@]}" --example sweep_to_registry
    step "registry-server" env -C "$work/registry" MLFLOW_TRACKING_URI="${MLFLOW_TEST_SERVER_URI:-}" \
        cargo run --quiet --manifest-path "$root/Cargo.toml" "${with_image[@]}" \
        --example sweep_to_registry
    # Worker processes under one parent, as a user runs it: on a fresh ./mlflow.db in a
    # folder of its own, then against the suite's server. (With the tests' features, so that
    # the libraries the tests built are reused; the example uses no image.)
    mkdir -p "$work/distributed"
    step "distributed-example" env -C "$work/distributed" cargo run --quiet \
        --manifest-path "$root/Cargo.toml" "${with_image[@]}" --example distributed_sweep -- \
        --workers 3 --trials 6 --epochs 3
    step "distributed-server" env -C "$work/distributed" MLFLOW_TRACKING_URI="${MLFLOW_TEST_SERVER_URI:-}" \
        cargo run --quiet --manifest-path "$root/Cargo.toml" "${with_image[@]}" \
        --example distributed_sweep -- --workers 3 --trials 6 --epochs 3
else
    echo "error: not running the tests without the mlflow server" >&2
fi

# The tests that opt in again, against the old MLflow and read back with its client (today:
# nesting, values, search and the artifact proxy; artifacts.rs starts its private proxy
# server from MLFLOW_TEST_PYTHON, here the old MLflow too). Same binaries as the "tests"
# step: nothing rebuilds.
#
# A test file opts in with a line of its leading `//!` comment starting `//! old-mlflow:`
# (the rest of the line says why, for the reader); one of its tests is left out by a line
# `// old-mlflow: skip <reason>` above it (above its attributes; the next `fn NAME` is the
# test). Files: tests/*.rs of the workspace's crates; burn's are not run in this step.

# package_of FILE: the name of the Cargo package whose tests/ holds FILE.
package_of() {
    local dir=${1%tests/*}
    sed -n '/^\[package\]/,/^\[/s/^name *= *"\([^"]*\)".*/\1/p' "${dir:-./}Cargo.toml" | head -n 1
}

# old_mlflow_tests: one line per marked file, "BINARY_ID FILE SKIPPED...", from the markers.
# Fails, saying where, on a skip marker that no `fn` follows.
old_mlflow_tests() {
    local f pkg skips
    local files=()
    shopt -s nullglob
    files=(tests/*.rs */tests/*.rs integrations/*/tests/*.rs)
    shopt -u nullglob
    for f in "${files[@]}"; do
        [ "$(awk '/^\/\/! old-mlflow:/ { print "yes"; exit } !/^\/\/!/ { exit }' "$f")" = yes ] || continue
        pkg="$(package_of "$f")"
        skips="$(awk '
            /^[[:space:]]*\/\/ old-mlflow: skip/ { want = FNR; next }
            want && /^[[:space:]]*(pub[[:space:]]+)?(async[[:space:]]+)?fn[[:space:]]+[A-Za-z0-9_]+/ {
                line = $0
                sub(/^[[:space:]]*(pub[[:space:]]+)?(async[[:space:]]+)?fn[[:space:]]+/, "", line)
                sub(/[^A-Za-z0-9_].*$/, "", line)
                printf " %s", line
                want = 0
            }
            END { if (want) printf " !%d", want }' "$f")"
        case "$skips" in *'!'*)
            echo "error: $f:${skips##*!}: \"// old-mlflow: skip\" with no test function after it" >&2
            return 1 ;;
        esac
        echo "$pkg::$(basename "$f" .rs) $f$skips"
    done
}

# old_mlflow_filter: the nextest filter of the marked tests, after checking with
# `cargo nextest list` that every marked file selects tests and every skip names one.
old_mlflow_filter() {
    local marked bid file skip selected="" excluded="" listed n total=0
    marked="$(old_mlflow_tests)" || return 1
    if [ -z "$marked" ]; then
        echo "error: no test file opts in to the $OLD_STEP step (a line \"//! old-mlflow: ...\" in its leading comment)" >&2
        return 1
    fi
    while read -r bid file _; do
        selected="${selected:+$selected | }binary_id(=$bid)"
    done <<<"$marked"
    listed="$(cargo nextest list "${no_burn[@]}" "${with_image[@]}" --message-format oneline -E "$selected")" || return 1
    while read -r bid file skips; do
        n="$(grep -c "^$bid " <<<"$listed" || true)"
        if [ "$n" -eq 0 ]; then
            echo "error: $file opts in to the $OLD_STEP step, but the test binary $bid has no tests here (renamed, a burn test, or not a test target?)" >&2
            return 1
        fi
        total=$((total + n))
        for skip in $skips; do
            if ! grep -qx "$bid $skip" <<<"$listed"; then
                echo "error: $file: \"// old-mlflow: skip\" above $skip, which is not a test of $bid" >&2
                return 1
            fi
            excluded="${excluded:+$excluded | }(binary_id(=$bid) & test(=$skip))"
            total=$((total - 1))
        done
    done <<<"$marked"
    if [ "$total" -le 0 ]; then
        echo "error: the $OLD_STEP step selects no test" >&2
        return 1
    fi
    echo "$total tests of: $(cut -d' ' -f1 <<<"$marked" | tr '\n' ' ')" >&2
    printf '%s\n' "($selected)${excluded:+ & not ($excluded)}"
}

old_rest_tests() {
    local uri filter
    wait_for_server old || return 1
    uri=$server_uri
    filter="$(old_mlflow_filter)" || return 1
    echo "filter: $filter"
    tee_to "$work/nextest-$MLFLOW_OLD_VERSION.out" env \
        MLFLOW_TEST_SERVER_URI="$uri" MLFLOW_TEST_SERVER_LOG="$old_server_log" \
        MLFLOW_TEST_PYTHON="$old_python" \
        cargo nextest run "${no_burn[@]}" "${with_image[@]}" -E "$filter"
}
step "$OLD_STEP" old_rest_tests
step "doctests" tee_to "$work/doctest.out" cargo test "${no_burn[@]}" "${with_image[@]}" --doc
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
for out in "$work/nextest.out" "$work/nextest-burn.out" "$work/nextest-$MLFLOW_OLD_VERSION.out"; do
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

disk_report after
say "Summary (mlflow $MLFLOW_VERSION, venv $venv; the $OLD_STEP step: mlflow $MLFLOW_OLD_VERSION)"
for i in "${!step_names[@]}"; do
    printf '  %-19s %s\n' "${step_names[$i]}" "${step_results[$i]}"
done
if [ "$failed" -ne 0 ]; then
    echo "  FAILED: see the steps above"
fi
echo "tests: $passed passed, $failures failed, $skipped skipped"
exit "$failed"
