"""Logged models and the registry at scale, the Rust client and the Python client side by
side on the same store (issue 21): `search_logged_models` over N models of one experiment
(set up untimed, without artifacts: Python's client writes them straight into the
store's SQLite file before any timing), on the embedded mlflow.db and through an
`mlflow server --workers 1` over that file.

    cargo build --release --example bench_models
    ~/.cache/mlflow-tracking-tests/venv-mlflow-3.17.2/bin/python bench/programs/models.py \
        --rust-bin target/release/examples/bench_models --models 10000

Prints a Markdown table: the median of --reps repetitions of each search.
"""

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
sys.path.insert(0, str(REPO / "scripts"))
import mlflow_server  # noqa: E402

SETUP = r"""
import random, sys, time
from mlflow import MlflowClient
from mlflow.entities import Metric
uri, n = sys.argv[1], int(sys.argv[2])
client = MlflowClient(tracking_uri=uri)
exp = client.create_experiment("bench-models")
run = client.create_run(exp)
rng = random.Random(1)
points = []
for i in range(n):
    m = client.create_logged_model(exp, name=f"m{i}", source_run_id=run.info.run_id,
                                   params={"i": str(i)})
    points.append(Metric("acc", rng.random(), int(time.time() * 1000), 0, model_id=m.model_id))
    if len(points) == 1000:
        client.log_batch(run.info.run_id, metrics=points)
        points = []
if points:
    client.log_batch(run.info.run_id, metrics=points)
print(exp)
"""

PY_SEARCH = r"""
import json, statistics, sys, time
import mlflow
exp, reps = sys.argv[1], int(sys.argv[2])
top, every, counts = [], [], (0, 0)
for _ in range(reps):
    t = time.perf_counter()
    best = mlflow.search_logged_models(experiment_ids=[exp], filter_string="metrics.acc > 0.5",
                                       order_by=[{"field_name": "metrics.acc", "ascending": False}],
                                       max_results=100, output_format="list")
    top.append(time.perf_counter() - t)
    t = time.perf_counter()
    allm = mlflow.search_logged_models(experiment_ids=[exp], output_format="list")
    every.append(time.perf_counter() - t)
    counts = (len(best), len(allm))
print(json.dumps({"client": "python", "top_100_ms": statistics.median(top) * 1000,
                  "top_count": counts[0], "all_ms": statistics.median(every) * 1000,
                  "all_count": counts[1]}))
"""


def run(cmd, env):
    out = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"{cmd[:3]} failed ({out.returncode}):\n{out.stderr[-3000:]}")
    return out.stdout.strip().splitlines()[-1]


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rust-bin", required=True)
    p.add_argument("--models", type=int, default=10000)
    p.add_argument("--reps", type=int, default=5)
    a = p.parse_args()
    rust_bin = str(Path(a.rust_bin).resolve())
    base = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    base["MLFLOW_DISABLE_TELEMETRY"] = "true"
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-models-") as tmp:
        db = Path(tmp) / "mlflow.db"
        uri = f"sqlite:///{db}"
        started = time.perf_counter()
        exp = run([sys.executable, "-c", SETUP, uri, str(a.models)], base)
        print(f"set up {a.models} models in {time.perf_counter() - started:.0f} s", file=sys.stderr)
        clients = lambda env: (  # noqa: E731
            ("rust", [rust_bin, "--experiment-id", exp, "--reps", str(a.reps)], env),
            ("python", [sys.executable, "-c", PY_SEARCH, exp, str(a.reps)], env))
        for client, cmd, env in clients(dict(base, MLFLOW_TRACKING_URI=uri)):
            rows.append(("embedded `mlflow.db`", json.loads(run(cmd, env))))
        server = mlflow_server.Server(uri, log_path=Path(tmp) / "server.log",
                                      default_artifact_root=Path(tmp) / "art")
        server.start()
        try:
            for client, cmd, env in clients(dict(base, MLFLOW_TRACKING_URI=server.uri)):
                rows.append(("REST (`--workers 1`)", json.loads(run(cmd, env))))
        finally:
            server.stop()
    print(f"| store | client | first 100 of `metrics.acc > 0.5` by acc (ms) | all {a.models} models, paged (ms) |")
    print("| --- | --- | --- | --- |")
    for store, r in rows:
        print(f"| {store} | {r['client']} | {r['top_100_ms']:.1f} ({r['top_count']}) | "
              f"{r['all_ms']:.1f} ({r['all_count']}) |")


if __name__ == "__main__":
    main()
