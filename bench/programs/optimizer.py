"""Optimizer studies side by side (issue 22): one study of N trials with the `optimizer`
crate's in-memory storage, with `mlflow::optimizer` on the embedded mlflow.db and on a
tracking server, and with Python Optuna + MLflow's `MlflowStorage` on the same server. Each
objective suggests two parameters, reports three intermediate values and sleeps
`--sleep-ms` (the objective's work); the random sampler, so that storages, not samplers,
are compared. Requests are counted from the server's access log (one `mlflow server
--workers` as MLflow's default, 4, over SQLite per client, started by
scripts/mlflow_server.py; `--server-workers 1` for one).

Needs the pinned MLflow's venv with optuna (./scripts/test.sh installs it; run with its
python) and the Rust program built:

    cargo build --release --features optimizer --example bench_optimizer
    ~/.cache/mlflow-tracking-tests/venv-mlflow-3.17.2/bin/python bench/programs/optimizer.py \
        --rust-bin target/release/examples/bench_optimizer --trials 200 --sleep-ms 0,50

Python's storage reads every trial back on each trial, so its run is capped by
`--python-timeout` (the trials it finished by then are reported). Prints a Markdown table.
"""

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
sys.path.insert(0, str(REPO / "scripts"))
import mlflow_server  # noqa: E402

PY_CLIENT = r"""
import json, sys, time
import optuna
from mlflow.optuna.storage import MlflowStorage
import mlflow
trials, sleep_s, deadline = int(sys.argv[1]), float(sys.argv[2]) / 1000.0, float(sys.argv[3])
optuna.logging.set_verbosity(optuna.logging.WARNING)
experiment_id = mlflow.set_experiment("bench-optimizer-py").experiment_id
storage = MlflowStorage(experiment_id=experiment_id)
study = optuna.create_study(study_name="bench-py", storage=storage,
                            sampler=optuna.samplers.RandomSampler(seed=1))
def objective(trial):
    x = trial.suggest_float("x", -10.0, 10.0)
    n = trial.suggest_int("n", 1, 5)
    if sleep_s:
        time.sleep(sleep_s)
    v = (x - 2.0) ** 2 + n
    for step in range(1, 4):
        trial.report(v * (4 - step), step)
    return v
started = time.perf_counter()
done = 0
while done < trials and time.perf_counter() - started < deadline:
    study.optimize(objective, n_trials=1)
    done += 1
storage.flush_all_batches() if hasattr(storage, "flush_all_batches") else None
secs = time.perf_counter() - started
print(json.dumps({"trials": done, "secs": secs}))
"""

REQUEST = re.compile(r'"(GET|POST|PATCH|DELETE) /(ajax-)?api/')


def requests_in(log_path, mark):
    """Requests the server logged after byte `mark` of its log."""
    with open(log_path, "rb") as f:
        f.seek(mark)
        text = f.read().decode("utf-8", "replace")
    return sum(1 for line in text.splitlines() if REQUEST.search(line))


def log_size(log_path):
    try:
        return os.path.getsize(log_path)
    except OSError:
        return 0


def run(cmd, env, cwd=None, timeout=None):
    out = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    if out.returncode != 0:
        raise SystemExit(f"{cmd[0]} failed ({out.returncode}):\n{out.stderr[-3000:]}")
    line = [l for l in out.stdout.splitlines() if l.startswith("{")][-1]
    return json.loads(line)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rust-bin", required=True)
    p.add_argument("--trials", type=int, default=200)
    p.add_argument("--sleep-ms", default="0,50", help="comma-separated objective times")
    p.add_argument("--python-timeout", type=float, default=120.0,
                   help="seconds Python's storage may take per study")
    p.add_argument("--storages", default="memory,embedded,rest,python")
    p.add_argument("--server-workers", default="default",
                   help="the server's --workers ('default': MLflow's, 4)")
    a = p.parse_args()
    a.rust_bin = str(Path(a.rust_bin).resolve())
    storages = a.storages.split(",")
    base = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    base["MLFLOW_DISABLE_TELEMETRY"] = "true"
    base["MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT"] = "true"
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-optimizer-") as tmp:
        work = Path(tmp)
        for sleep_ms in [int(s) for s in a.sleep_ms.split(",")]:
            args = ["--trials", str(a.trials), "--sleep-ms", str(sleep_ms)]
            if "memory" in storages:
                r = run([a.rust_bin, "--storage", "memory", *args], base)
                rows.append(("optimizer crate, in memory", sleep_ms, r["trials"], r["secs"], 0))
            if "embedded" in storages:
                d = work / f"embedded-{sleep_ms}"
                d.mkdir()
                r = run([a.rust_bin, "--storage", "mlflow", *args], base, cwd=d)
                rows.append(("`mlflow::optimizer`, embedded `mlflow.db`", sleep_ms, r["trials"],
                             r["secs"], None))
            for client in ("rest", "python"):
                if client not in storages:
                    continue
                d = work / f"{client}-{sleep_ms}"
                d.mkdir()
                workers = None if a.server_workers == "default" else int(a.server_workers)
                server = mlflow_server.Server(f"sqlite:///{d}/m.db", log_path=d / "server.log",
                                              default_artifact_root=d / "art", workers=workers)
                server.start()
                try:
                    env = dict(base, MLFLOW_TRACKING_URI=server.uri)
                    # A fresh server answers its first requests slowly (imports, caches):
                    # a short study warms it up, outside the figures.
                    run([a.rust_bin, "--storage", "mlflow", "--trials", "10", "--study",
                         "warm-up"], env)
                    mark = log_size(d / "server.log")
                    if client == "rest":
                        r = run([a.rust_bin, "--storage", "mlflow", *args], env)
                        name = "`mlflow::optimizer`, REST"
                    else:
                        r = run([sys.executable, "-c", PY_CLIENT, str(a.trials), str(sleep_ms),
                                 str(a.python_timeout)], env, timeout=a.python_timeout + 120)
                        name = "Python Optuna + `MlflowStorage`, REST"
                    time.sleep(0.5)  # the access log is written after the answer
                    rows.append((name, sleep_ms, r["trials"], r["secs"],
                                 requests_in(d / "server.log", mark)))
                finally:
                    server.stop()
    print("| storage | objective | trials | trials/s | ms per trial | requests per trial |")
    print("| --- | --- | --- | --- | --- | --- |")
    for name, sleep_ms, trials, secs, requests in rows:
        # The bench prints milliseconds: a trivial in-memory study can round to 0.
        secs = max(secs, 0.0005)
        per = "(no server)" if requests is None else f"{requests / max(trials, 1):.2f} ({requests})"
        objective = "trivial" if sleep_ms == 0 else f"{sleep_ms} ms"
        print(f"| {name} | {objective} | {trials} | {trials / secs:.2f} | "
              f"{secs * 1000 / max(trials, 1):.1f} | {per} |")


if __name__ == "__main__":
    main()
