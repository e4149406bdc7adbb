"""The official Python client under the same loads as bench/programs/bench_load.rs.

    py_load.py points N     N metric points into one run through MlflowClient.log_batch in
                            chunks of 1000 (the client's fastest mode)
    py_load.py percall N    N mlflow.log_metric calls, each timed; median per call (sync or,
                            with MLFLOW_ENABLE_ASYNC_LOGGING=true, async)

The tracking URI comes from MLFLOW_TRACKING_URI (unset: sqlite:///mlflow.db). Prints one
JSON line; times exclude the import of mlflow and the experiment lookup.
"""

import json
import resource
import statistics
import sys
import time

import mlflow
from mlflow.entities import Metric
from mlflow.tracking import MlflowClient


def peak_rss_kb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def points(n):
    exp = mlflow.set_experiment("bench-load-py")
    client = MlflowClient()
    start = time.perf_counter()
    run = client.create_run(exp.experiment_id, run_name=f"py-points-{n}")
    run_id = run.info.run_id
    ts = int(time.time() * 1000)
    for lo in range(0, n, 1000):
        client.log_batch(run_id, metrics=[Metric("loss", 0.001 * s, ts, s) for s in range(lo, min(n, lo + 1000))])
    client.set_terminated(run_id)
    total = time.perf_counter() - start
    print(json.dumps({"mode": "py-points", "n": n, "total_s": total, "per_s": n / total,
                      "peak_rss_kb": peak_rss_kb()}))


def percall(n):
    mlflow.set_experiment("bench-load-py")
    times = []
    with mlflow.start_run(run_name=f"py-percall-{n}"):
        for i in range(n):
            t = time.perf_counter_ns()
            mlflow.log_metric("loss", 0.5, step=i)
            times.append(time.perf_counter_ns() - t)
        if hasattr(mlflow, "flush_async_logging"):
            mlflow.flush_async_logging()
    print(json.dumps({"mode": "py-percall", "n": n, "median_ns": statistics.median(times),
                      "mean_ns": statistics.fmean(times)}))


mode, n = sys.argv[1], int(sys.argv[2])
{"points": points, "percall": percall}[mode](n)
