"""Compares builds of the crate with the benchmarks of bench/run.py: each build's release
binaries, run alternately (A B C A B C ...) so that a drift of the machine hits every build
alike, the Rust client only; prints each figure's runs per build and the ratio of each
build's median to the first build's.

    python3 bench/compare.py --build base=/path/to/checkout --build after=. --runs 5 -- --quick
    python3 bench/compare.py --build base=... --build after=. --runs 5 -- --only latency

Each checkout is built with `cargo build --release` into its own target folder
(/tmp/mlflow-bench-targets/<name>, or --targets DIR). The arguments after `--` go to
bench/run.py (of this checkout: one harness for every build). Standard library only; run it
with the test venv's Python (scripts/bench.sh finds it) or any Python 3.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def build(name, checkout, targets):
    target = targets / name
    env = dict(os.environ, CARGO_TARGET_DIR=str(target))
    log(f"[{name}] building {checkout} into {target}")
    for args in (["--example", "sweep", "--example", "bench_load", "--example", "bench_post"],
                 ["-p", "mlflow-test-support", "--bin", "delay-proxy"]):
        subprocess.run(["cargo", "build", "--release", "--quiet", *args], cwd=checkout, env=env, check=True)
    subprocess.run(["cargo", "bench", "--quiet", "--no-run", "--bench", "log_metric"], cwd=checkout, env=env,
                   check=True, capture_output=True)
    return target


def venv_python():
    pins = dict(line.split("=", 1) for line in (REPO / "scripts" / "pins.env").read_text().splitlines()
                if "=" in line and not line.startswith("#"))
    version = pins.get("MLFLOW_VERSION", "").strip().strip('"')
    cache = Path(os.environ.get("MLFLOW_TEST_CACHE", Path.home() / ".cache" / "mlflow-tracking-tests"))
    python = cache / f"venv-mlflow-{version}" / "bin" / "python"
    if not python.exists():
        raise SystemExit(f"no venv at {python}: run ./scripts/test.sh once")
    return python


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--build", action="append", required=True, metavar="NAME=CHECKOUT")
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--targets", default="/tmp/mlflow-bench-targets")
    p.add_argument("--out", help="folder for each run's JSON (default: a temp folder)")
    p.add_argument("run_args", nargs=argparse.REMAINDER)
    a = p.parse_args()
    run_args = [x for x in a.run_args if x != "--"]
    builds = []
    for spec in a.build:
        name, _, checkout = spec.partition("=")
        builds.append((name, Path(checkout).resolve()))
    targets = Path(a.targets)
    built = {name: build(name, checkout, targets) for name, checkout in builds}
    out = Path(a.out or f"/tmp/mlflow-bench-compare-{int(time.time())}")
    out.mkdir(parents=True, exist_ok=True)
    python = venv_python()
    figures = {name: {} for name, _ in builds}
    for i in range(a.runs):
        for name, checkout in builds:
            t = built[name]
            rel = t / "release"
            js = out / f"{name}-{i + 1}.json"
            cmd = [str(python), str(HERE / "run.py"), "--python", str(python),
                   "--example-bin", str(rel / "examples" / "sweep"), "--load-bin", str(rel / "examples" / "bench_load"),
                   "--post-bin", str(rel / "examples" / "bench_post"), "--proxy-bin", str(rel / "delay-proxy"),
                   "--target-dir", str(t), "--repo", str(checkout), "--rust-only", *run_args]
            log(f"[run {i + 1}/{a.runs}] {name}, load {os.getloadavg()[0]:.2f}")
            subprocess.run(cmd, check=True, env=dict(os.environ, BENCH_JSON=str(js)),
                           stdout=subprocess.DEVNULL)
            for k, v in json.loads(js.read_text()).items():
                figures[name].setdefault(k, []).append(v)
    names = [n for n, _ in builds]
    first = names[0]
    head = "| figure | " + " | ".join(names) + " | " + " | ".join(f"{n} / {first}" for n in names[1:]) + " |"
    print(f"\nbench/compare.py, {a.runs} alternating runs, run.py {' '.join(run_args)}; JSON in {out}\n")
    print(head)
    print("|" + "---|" * (1 + len(names) + len(names) - 1))
    for key in figures[first]:
        cells, medians = [], []
        for n in names:
            vs = figures[n].get(key, [])
            cells.append(" / ".join(f"{v:.3g}" for v in vs))
            medians.append(statistics.median(vs) if vs else float("nan"))
        ratios = [f"{m / medians[0]:.2f}" if medians[0] else "" for m in medians[1:]]
        print(f"| {key} | " + " | ".join(cells) + " | " + " | ".join(ratios) + " |")


if __name__ == "__main__":
    main()
