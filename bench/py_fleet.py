"""The official Python client under the load of bench/programs/bench_fleet.rs.

    py_fleet.py WORKERS CHILDREN STEPS

A coordinator opens one parent run and starts WORKERS processes of this script; each logs
CHILDREN runs nested under the parent (`mlflow.start_run(parent_run_id=...)`), each with one
param and one `mlflow.log_metric(..., step=...)` call per step, as a training loop would.
The tracking URI comes from MLFLOW_TRACKING_URI. Prints one JSON line; the time runs from
before the parent starts to after the last worker has exited and the parent has ended.
"""

import json
import math
import os
import subprocess
import sys
import time

import mlflow


def coordinate(workers, children, steps):
    mlflow.set_experiment(os.environ.get("BENCH_EXPERIMENT", "bench-fleet-py"))
    start = time.perf_counter()
    with mlflow.start_run(run_name="fleet") as parent:
        env = dict(os.environ)
        env["BENCH_PARENT"] = parent.info.run_id
        env["MLFLOW_EXPERIMENT_ID"] = parent.info.experiment_id
        env.pop("MLFLOW_EXPERIMENT_NAME", None)
        env.pop("MLFLOW_RUN_ID", None)
        procs = [subprocess.Popen([sys.executable, __file__, "--bench-worker", str(w), str(children), str(steps)],
                                  env=env) for w in range(workers)]
        failed = sum(p.wait() != 0 for p in procs)
    total = time.perf_counter() - start
    if failed:
        sys.exit(f"py_fleet: {failed} worker(s) failed")
    runs = workers * children
    points = runs * steps
    print(json.dumps({"client": "python", "workers": workers, "runs": runs, "points": points,
                      "total_s": total, "runs_per_s": runs / total, "points_per_s": points / total}))


def work(worker, children, steps):
    parent = os.environ["BENCH_PARENT"]
    for c in range(children):
        lr = 0.001 * (1 + (worker * children + c) % 10)
        with mlflow.start_run(run_name=f"w{worker}-c{c}", parent_run_id=parent):
            mlflow.log_param("lr", lr)
            for step in range(steps):
                mlflow.log_metric("loss", math.exp(-step * lr), step=step)


if __name__ == "__main__":
    if sys.argv[1] == "--bench-worker":
        work(*map(int, sys.argv[2:5]))
    else:
        coordinate(*map(int, sys.argv[1:4]))
