"""Logged models and the registry at scale, the Rust client and the Python client side by
side on the same store (issue 21): `search_logged_models` over N models of one experiment,
and registering `--versions` versions of one registered model (each from a logged model of
its own, `register_model("models:/<id>", name)`), on the embedded mlflow.db and through an
`mlflow server --workers 1` over that file. The models are set up untimed, without
artifacts: Python's client writes them straight into the store's SQLite file before any
timing.

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
uri, n, ids_file = sys.argv[1], int(sys.argv[2]), sys.argv[3]
client = MlflowClient(tracking_uri=uri)
exp = client.create_experiment("bench-models")
run = client.create_run(exp)
rng = random.Random(1)
points = []
ids = []
for i in range(n):
    m = client.create_logged_model(exp, name=f"m{i}", source_run_id=run.info.run_id,
                                   params={"i": str(i)})
    ids.append(m.model_id)
    points.append(Metric("acc", rng.random(), int(time.time() * 1000), 0, model_id=m.model_id))
    if len(points) == 1000:
        client.log_batch(run.info.run_id, metrics=points)
        points = []
if points:
    client.log_batch(run.info.run_id, metrics=points)
with open(ids_file, "w") as f:
    f.write("\n".join(ids))
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


PY_REGISTER = r"""
import json, sys, time
import mlflow
ids = [l for l in open(sys.argv[1]).read().splitlines() if l]
name = sys.argv[2]
started = time.perf_counter()
for i in ids:
    v = mlflow.register_model(f"models:/{i}", name)
print(json.dumps({"client": "python", "versions": len(ids), "last_version": int(v.version),
                  "register_s": time.perf_counter() - started}))
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
    p.add_argument("--versions", type=int, default=1000,
                   help="versions each client registers on each store")
    a = p.parse_args()
    rust_bin = str(Path(a.rust_bin).resolve())
    base = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    base["MLFLOW_DISABLE_TELEMETRY"] = "true"
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-models-") as tmp:
        db = Path(tmp) / "mlflow.db"
        uri = f"sqlite:///{db}"
        started = time.perf_counter()
        ids_file = Path(tmp) / "ids.txt"
        exp = run([sys.executable, "-c", SETUP, uri, str(a.models), str(ids_file)], base)
        ids = ids_file.read_text().splitlines()
        # Each registration takes logged models of its own: 4 slices (2 stores x 2 clients).
        assert len(ids) >= 4 * a.versions, "--models must be at least 4 x --versions"
        slices = iter(range(4))

        def register(store, client, env):
            k = next(slices)
            part = Path(tmp) / f"ids-{k}.txt"
            part.write_text("\n".join(ids[k * a.versions:(k + 1) * a.versions]))
            name = f"bench-{client}-{k}"
            cmd = [rust_bin, "--register", str(part), "--name", name] if client == "rust" \
                else [sys.executable, "-c", PY_REGISTER, str(part), name]
            registered.append((store, json.loads(run(cmd, env))))
        print(f"set up {a.models} models in {time.perf_counter() - started:.0f} s", file=sys.stderr)
        clients = lambda env: (  # noqa: E731
            ("rust", [rust_bin, "--experiment-id", exp, "--reps", str(a.reps)], env),
            ("python", [sys.executable, "-c", PY_SEARCH, exp, str(a.reps)], env))
        registered = []
        for client, cmd, env in clients(dict(base, MLFLOW_TRACKING_URI=uri)):
            rows.append(("embedded `mlflow.db`", json.loads(run(cmd, env))))
            register("embedded `mlflow.db`", client, env)
        server = mlflow_server.Server(uri, log_path=Path(tmp) / "server.log",
                                      default_artifact_root=Path(tmp) / "art")
        server.start()
        try:
            for client, cmd, env in clients(dict(base, MLFLOW_TRACKING_URI=server.uri)):
                rows.append(("REST (`--workers 1`)", json.loads(run(cmd, env))))
                register("REST (`--workers 1`)", client, env)
        finally:
            server.stop()
    print(f"| store | client | first 100 of `metrics.acc > 0.5` by acc (ms) | all {a.models} models, paged (ms) |")
    print("| --- | --- | --- | --- |")
    for store, r in rows:
        print(f"| {store} | {r['client']} | {r['top_100_ms']:.1f} ({r['top_count']}) | "
              f"{r['all_ms']:.1f} ({r['all_count']}) |")
    print()
    print(f"| store | client | {a.versions} versions registered (s) | ms per version | last version |")
    print("| --- | --- | --- | --- | --- |")
    for store, r in registered:
        print(f"| {store} | {r['client']} | {r['register_s']:.2f} | "
              f"{r['register_s'] * 1000 / max(r['versions'], 1):.2f} | {r['last_version']} |")


if __name__ == "__main__":
    main()
