"""Runs the benchmarks of the Rust client and the official Python client side by side and prints
a table of figures and ratios against the targets. Started by ./scripts/bench.sh, which builds
the Rust binaries and picks the Python venv; see BENCHMARKS.md.

Standard library only, run with the test venv's Python (which has the pinned MLflow,
MLFLOW_VERSION of scripts/pins.env).
"""

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO / "scripts"))
import mlflow_server  # noqa: E402 (scripts/: the one way to start an mlflow server)

ACCESS = re.compile(r'"(GET|POST) /api/2\.0/mlflow/([a-z/-]+)[^"]*" (\d{3})')


def log(msg):
    print(msg, file=sys.stderr, flush=True)


class Env:
    """Paths and the environment every child process gets."""

    def __init__(self, a):
        self.python = a.python
        self.example_bin = a.example_bin
        self.load_bin = a.load_bin
        self.post_bin = a.post_bin
        self.sysmetrics_bin = a.sysmetrics_bin
        self.fleet_bin = a.fleet_bin
        # Only the Rust client (--rust-only): for comparing builds of the crate.
        self.rust_only = a.rust_only
        # The checkout whose criterion bench the hot path runs (--repo; this one by default).
        self.repo = Path(a.repo) if a.repo else REPO
        self.work = Path(tempfile.mkdtemp(prefix="mlflow-bench-"))
        base = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
        base["MLFLOW_DISABLE_TELEMETRY"] = "true"
        base["PYTHONUNBUFFERED"] = "1"
        base["PYTHONWARNINGS"] = "ignore"
        self.base = base
        self.counter = 0

    def fresh_dir(self, label):
        self.counter += 1
        d = self.work / f"{self.counter:03d}-{label}"
        d.mkdir()
        return d


class Server:
    """An `mlflow server` on a free loopback port with its own SQLite backend, started by
    scripts/mlflow_server.py (the one way tests, benches and the fleet start servers) and
    ready once every worker is up, so that no measurement pays for a worker's start. Unlike
    the tests' servers it keeps MLflow's job runner (default settings, as BENCHMARKS.md
    describes the server measured), and is used only once its consumers have started."""

    def __init__(self, env, workers, tls=None):
        self.env, self.workers = env, workers
        self.dir = env.fresh_dir(f"server-w{workers or 'default'}")
        # tls: a Certs (server certificate and key for 127.0.0.1, and their CA); the server
        # then speaks https only.
        self.tls = tls
        args = ["--uvicorn-opts", f"--ssl-keyfile {tls.key} --ssl-certfile {tls.cert}"] if tls else []
        self.log_path = self.dir / "server.log"
        # workers None: MLflow's default, 4 uvicorn workers.
        self.server = mlflow_server.Server(
            f"sqlite:///{self.dir / 'mlflow.db'}", python=env.python, workers=workers,
            log_path=self.log_path, default_artifact_root=self.dir / "artifacts", args=args,
            env=env.base, cwd=self.dir, wait_workers=workers or 4, job_execution=True)
        try:
            self.server.start()
        except mlflow_server.ServerError as e:
            raise SystemExit(str(e))
        self._wait_idle()
        self.port = self.server.port
        self.scheme = "https" if tls else "http"
        self.url = self.server.uri

    def _wait_idle(self):
        # The server starts its job runner's consumers some seconds after it answers;
        # measuring while they import would charge their CPU to whoever runs first.
        deadline = time.time() + 60
        while time.time() < deadline:
            if self._helpers() > 0:
                time.sleep(3)
                return
            time.sleep(1)

    def _helpers(self):
        n = 0
        for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
            try:
                stat = (cmdline.parent / "stat").read_text().rsplit(")", 1)[1].split()
                if int(stat[2]) == self.server.pgid and b"huey_consumer" in cmdline.read_bytes():
                    n += 1
            except (OSError, IndexError, ValueError):
                continue
        return n

    def mark(self):
        return self.log_path.stat().st_size

    def requests_since(self, mark):
        """Access-log lines written since `mark`: {(method, endpoint, status): count}."""
        time.sleep(0.3)
        with open(self.log_path, "rb") as f:
            f.seek(mark)
            text = f.read().decode(errors="replace")
        counts = {}
        for m in ACCESS.finditer(text):
            key = (m.group(1), m.group(2), m.group(3))
            counts[key] = counts.get(key, 0) + 1
        return counts

    def stop(self):
        self.server.stop()


def warm(env, srv):
    """Every worker imports its handlers on its first requests; get that out of the way."""
    for _ in range(2):
        run_proc(env, [env.post_bin, "floor", srv.url], env.work)


def run_proc(env, cmd, cwd, extra=None, timeout=1800):
    """Runs `cmd` under /usr/bin/time; returns (wall seconds, peak RSS KiB, stdout)."""
    e = dict(env.base)
    e.update(extra or {})
    rss_file = Path(cwd) / ".rss"
    wrapped = ["/usr/bin/time", "-f", "%M", "-o", str(rss_file)] + cmd
    start = time.perf_counter()
    p = subprocess.run(wrapped, cwd=cwd, env=e, capture_output=True, text=True, timeout=timeout)
    wall = time.perf_counter() - start
    if p.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({p.returncode}):\n{p.stdout[-2000:]}\n{p.stderr[-3000:]}")
    try:
        rss = int(rss_file.read_text().split()[-1])
    except (OSError, ValueError, IndexError):
        rss = 0
    return wall, rss, p.stdout


def last_json(stdout):
    for line in reversed(stdout.strip().splitlines()):
        if line.startswith("{"):
            return json.loads(line)
    raise SystemExit(f"no JSON in output:\n{stdout[-1000:]}")


class Table:
    def __init__(self):
        self.rows = []
        self.data = {}

    def section(self, title):
        self.rows.append(("##", title))

    def add(self, name, value, unit, target="", ok=None, note=""):
        self.rows.append((name, value, unit, target, ok, note))
        self.data[name] = value
        log(f"  {name}: {fmt(value)} {unit} {target} {note}")

    def print(self, out=sys.stdout):
        print("", file=out)
        print(f"| {'figure':<58} | {'value':>12} | {'unit':<10} | {'target':<16} | {'':<4} |", file=out)
        print(f"|{'-' * 60}|{'-' * 14}|{'-' * 12}|{'-' * 18}|{'-' * 6}|", file=out)
        for r in self.rows:
            if r[0] == "##":
                print(f"| **{r[1]}**{' ' * max(0, 54 - len(r[1]))} | {'':>12} | {'':<10} | {'':<16} | {'':<4} |", file=out)
                continue
            name, value, unit, target, ok, note = r
            mark = "" if ok is None else ("ok" if ok else "MISS")
            label = name if not note else f"{name} ({note})"
            print(f"| {label:<58} | {fmt(value):>12} | {unit:<10} | {target:<16} | {mark:<4} |", file=out)


def fmt(v):
    if isinstance(v, float):
        if v == 0:
            return "0"
        if abs(v) >= 1000:
            return f"{v:,.0f}"
        if abs(v) >= 10:
            return f"{v:.1f}"
        if abs(v) >= 0.1:
            return f"{v:.2f}"
        return f"{v:.3g}"
    return str(v)


def median(xs):
    return statistics.median(xs) if xs else float("nan")


# --- 1. the seed sweep -----------------------------------------------------------------------

def sweep_server(env, table, workers, reps, py_reps, rust_variants):
    label = f"server --workers {workers}" if workers else "server default (4 workers)"
    table.section(f"Seed sweep vs {label}")
    log(f"[sweep] {label}")
    srv = Server(env, workers)
    try:
        # The first sweep creates the experiment; measure only runs that find it, like each other.
        warm(env, srv)
        clients = [("floor, raw HTTP fresh connections", [env.post_bin, "floor", srv.url], {}),
                   ("floor, raw HTTP keep-alive", [env.post_bin, "floor", srv.url, "keepalive"], {})]
        for name, extra in rust_variants:
            clients.append((name, [env.example_bin, "--seed-only"], {"MLFLOW_TRACKING_URI": srv.url, **extra}))
        clients.append(("examples/sweep.rs (+ 5 searches)", [env.example_bin], {"MLFLOW_TRACKING_URI": srv.url}))
        if not env.rust_only:
            clients += [("Python client sync", [env.python, str(HERE / "sweep.py")], {"MLFLOW_TRACKING_URI": srv.url}),
                        ("Python client async", [env.python, str(HERE / "sweep.py")],
                         {"MLFLOW_TRACKING_URI": srv.url, "MLFLOW_ENABLE_ASYNC_LOGGING": "true"})]
        res = {name: {"wall": [], "rss": [], "req": [], "creates": []} for name, _, _ in clients}
        for rep in range(reps):
            for name, cmd, extra in clients:
                if name.startswith("Python") and rep >= py_reps:
                    continue
                d = env.fresh_dir("sweep")
                mark = srv.mark()
                if name.startswith("floor"):
                    _, rss, out = run_proc(env, cmd, d, extra)
                    wall = last_json(out)["total_s"]
                else:
                    wall, rss, _ = run_proc(env, cmd, d, extra)
                counts = srv.requests_since(mark)
                r = res[name]
                r["wall"].append(wall)
                r["rss"].append(rss)
                r["req"].append(sum(counts.values()))
                r["creates"].append(counts.get(("POST", "runs/create", "200"), 0))
                detail = ", ".join(f"{m} {ep} {st}: {n}" for (m, ep, st), n in sorted(counts.items()))
                log(f"    rep {rep + 1} {name}: {wall:.2f} s, {sum(counts.values())} requests ({detail}), {rss} KB")
    finally:
        srv.stop()
    floor = min(median(res[n]["wall"]) for n in res if n.startswith("floor"))
    for name in res:
        r = res[name]
        w = median(r["wall"])
        reqs = f"{median(r['req']):.0f} req, {median(r['creates']):.0f} creates"
        if name.startswith("floor"):
            table.add(f"{name}", w, "s", note=reqs)
        elif name.startswith("examples/"):
            table.add(f"{name}: wall", w, "s", note=reqs)
        elif name.startswith("Rust"):
            table.add(f"{name}: wall", w, "s", note=reqs)
            table.add(f"{name}: / floor", w / floor, "x", "<= 1.25", w / floor <= 1.25)
            table.add(f"{name}: peak RSS", r["rss"][-1] / 1024, "MB", "< 30", r["rss"][-1] / 1024 < 30)
        else:
            table.add(f"{name}: wall", w, "s", note=reqs)
            table.add(f"{name}: / floor", w / floor, "x")
    rust = [median(res[n]["wall"]) for n in res if n.startswith("Rust")]
    if rust and not env.rust_only:
        py_sync = median(res["Python client sync"]["wall"])
        table.add("Python sync / Rust (best variant)", py_sync / min(rust), "x")


def sweep_embedded(env, table, reps, py_reps):
    table.section("Seed sweep, embedded defaults (fresh temp dir, no URI)")
    log("[sweep] embedded")
    clients = [("Rust seed sweep -> ./mlflow.db", [env.example_bin, "--seed-only"], {}),
               ("Python client sync -> sqlite:///mlflow.db", [env.python, str(HERE / "sweep.py")], {}),
               ("Python client async -> sqlite:///mlflow.db", [env.python, str(HERE / "sweep.py")],
                {"MLFLOW_ENABLE_ASYNC_LOGGING": "true"})]
    res = {name: ([], []) for name, _, _ in clients}
    for rep in range(reps):
        for name, cmd, extra in clients:
            if name.startswith("Python") and (rep >= py_reps or env.rust_only):
                continue
            d = env.fresh_dir("embedded")
            wall, rss, _ = run_proc(env, cmd, d, extra)
            res[name][0].append(wall)
            res[name][1].append(rss)
            log(f"    rep {rep + 1} {name}: {wall:.2f} s, {rss} KB")
    rust = median(res[clients[0][0]][0])
    for name, (walls, rss) in res.items():
        if walls:
            table.add(f"{name}: wall", median(walls), "s", note=f"peak RSS {rss[-1] / 1024:.1f} MB")
    if not env.rust_only:
        py = median(res[clients[1][0]][0])
        table.add("Rust / Python sync (embedded)", rust / py, "x", "<= 0.05", rust / py <= 0.05)
    table.add("Rust seed sweep -> ./mlflow.db: peak RSS", res[clients[0][0]][1][-1] / 1024, "MB", "< 30",
              res[clients[0][0]][1][-1] / 1024 < 30)


# --- 2. the hot path -------------------------------------------------------------------------

def criterion_median_ns(target_dir, group, bench):
    p = Path(target_dir) / "criterion" / group / bench / "new" / "estimates.json"
    try:
        return json.loads(p.read_text())["median"]["point_estimate"]
    except (OSError, KeyError, ValueError):
        return float("nan")


def hot_path(env, table, quick, target_dir):
    table.section("Hot path: log_metric per call (caller's thread)")
    log("[hot path]")
    srv = Server(env, None)
    try:
        warm(env, srv)
        e = dict(env.base)
        e["MLFLOW_BENCH_REST_URI"] = srv.url
        e["MLFLOW_BENCH_QUICK"] = "1" if quick else "0"
        e["CARGO_TARGET_DIR"] = target_dir
        shutil.rmtree(Path(target_dir) / "criterion" / "log_metric", ignore_errors=True)
        p = subprocess.run(["cargo", "bench", "--bench", "log_metric", "--", "--noplot"], cwd=env.repo, env=e,
                           capture_output=True, text=True, timeout=1800)
        if p.returncode != 0:
            raise SystemExit(f"cargo bench failed:\n{p.stdout[-2000:]}\n{p.stderr[-3000:]}")
        n = 500 if quick else 3000
        py = {}
        for mode, extra in [] if env.rust_only else [("async", {"MLFLOW_ENABLE_ASYNC_LOGGING": "true"}), ("sync", {})]:
            count = n if mode == "async" else max(100, n // 10)
            _, _, out = run_proc(env, [env.python, str(HERE / "py_load.py"), "percall", str(count)],
                                 env.fresh_dir("py-percall"), {"MLFLOW_TRACKING_URI": srv.url, **extra})
            py[mode] = last_json(out)["median_ns"]
    finally:
        srv.stop()
    rust_rest = float("nan")
    for dest in ["sqlite", "rest"]:
        for threads, calls in [("1-thread", 1), ("8-threads-x100", 800)]:
            ns = criterion_median_ns(target_dir, f"log_metric_{dest}", threads) / calls
            if dest == "rest" and calls == 1:
                rust_rest = ns
            label = "1 thread" if calls == 1 else "8 threads (wall / calls)"
            table.add(f"Rust log_metric -> {dest}, {label}: median", ns, "ns", "< 1000", ns < 1000)
    if env.rust_only:
        return
    table.add("Python log_metric async -> server: median", py["async"], "ns")
    table.add("Python log_metric sync -> server: median", py["sync"], "ns")
    ratio = py["async"] / rust_rest
    table.add("Python async / Rust (REST, 1 thread)", ratio, "x", ">= 300", ratio >= 300)


# --- 3. throughput, 4. scaling ---------------------------------------------------------------

def rust_load(env, mode, n, uri=None):
    d = env.fresh_dir(f"rust-{mode}-{n}")
    extra = {"MLFLOW_TRACKING_URI": uri} if uri else {}
    wall, rss, out = run_proc(env, [env.load_bin, mode, str(n)], d, extra)
    r = last_json(out)
    r["wall"], r["rss_kb"] = wall, rss
    log(f"    rust {mode} {n} -> {uri or 'sqlite'}: {r['total_s']:.2f} s, {r['per_s']:,.0f}/s, {rss} KB")
    return r


def py_points(env, n, uri=None):
    d = env.fresh_dir(f"py-points-{n}")
    extra = {"MLFLOW_TRACKING_URI": uri} if uri else {}
    wall, rss, out = run_proc(env, [env.python, str(HERE / "py_load.py"), "points", str(n)], d, extra)
    r = last_json(out)
    r["wall"], r["rss_kb"] = wall, rss
    log(f"    python points {n} -> {uri or 'sqlite'}: {r['total_s']:.2f} s, {r['per_s']:,.0f}/s, {rss} KB")
    return r


def throughput(env, table, quick):
    table.section("Throughput: metric points into one run")
    log("[throughput]")
    n_rest = 20_000 if quick else 100_000
    n_sqlite = 100_000 if quick else 1_000_000
    n_py_sqlite = 20_000 if quick else 100_000
    requests = 20 if quick else 100
    srv = Server(env, None)
    try:
        ceil = {}
        for c, mode in [(1, "fresh"), ("1k", "keepalive"), (4, "fresh"), ("4k", "keepalive")]:
            _, _, out = run_proc(env, [env.post_bin, "ceiling", srv.url, str(requests), str(c).rstrip("k"), mode],
                                 env.work)
            ceil[c] = last_json(out)
            log(f"    ceiling c={c}: {ceil[c]['per_s']:,.0f}/s, {ceil[c]['ms_per_request']:.1f} ms/request")
        rust = rust_load(env, "points", n_rest, srv.url)
        py = None if env.rust_only else py_points(env, n_rest, srv.url)
    finally:
        srv.stop()
    best = max(c["per_s"] for c in ceil.values())
    table.add("server ceiling, log-batch x1000, sequential", ceil[1]["per_s"], "points/s",
              note=f"{ceil[1]['ms_per_request']:.1f} ms/request")
    table.add("server ceiling, log-batch x1000, sequential, keep-alive", ceil["1k"]["per_s"], "points/s",
              note=f"{ceil['1k']['ms_per_request']:.1f} ms/request")
    table.add("server ceiling, log-batch x1000, 4 at once", ceil[4]["per_s"], "points/s",
              note=f"{ceil[4]['ms_per_request']:.1f} ms/request")
    table.add("server ceiling, log-batch x1000, 4 at once, keep-alive", ceil["4k"]["per_s"], "points/s",
              note=f"{ceil['4k']['ms_per_request']:.1f} ms/request")
    table.add(f"Rust {n_rest:,} points -> server", rust["per_s"], "points/s", note=f"{rust['total_s']:.2f} s")
    table.add("Rust REST / server ceiling (best of the four)", rust["per_s"] / best, "x", ">= 0.80",
              rust["per_s"] / best >= 0.8)
    seq = max(ceil[1]["per_s"], ceil["1k"]["per_s"])
    table.add("Rust REST / sequential ceiling (best of the two)", rust["per_s"] / seq, "x")
    table.add(f"Rust {n_rest:,} points -> server: peak RSS", rust["rss_kb"] / 1024, "MB")
    if py:
        table.add(f"Python log_batch(1000) {n_rest:,} points -> server", py["per_s"], "points/s",
                  note=f"peak RSS {py['rss_kb'] / 1024:.0f} MB")
    rs = rust_load(env, "points", n_sqlite)
    table.add(f"Rust {n_sqlite:,} points -> SQLite", rs["per_s"], "points/s", ">= 300,000", rs["per_s"] >= 300_000,
              note=f"{rs['total_s']:.2f} s")
    table.add(f"Rust {n_sqlite:,} points -> SQLite: peak RSS", rs["rss_kb"] / 1024, "MB")
    if env.rust_only:
        return
    pys = py_points(env, n_py_sqlite)
    table.add(f"Python log_batch(1000) {n_py_sqlite:,} points -> SQLite", pys["per_s"], "points/s",
              note=f"peak RSS {pys['rss_kb'] / 1024:.0f} MB")
    table.add("Rust SQLite / Python SQLite", rs["per_s"] / pys["per_s"], "x", ">= 20", rs["per_s"] / pys["per_s"] >= 20)


def scaling(env, table, quick):
    table.section("Scaling: cost per point / per run")
    log("[scaling]")
    point_sizes = [10_000, 100_000] if quick else [10_000, 100_000, 1_000_000]
    run_sizes_sqlite = [10, 100, 1000]
    run_sizes_rest = [10, 100] if quick else [10, 100, 1000]
    rest_points = [10_000] if quick else [10_000, 100_000]

    def flat(name, costs):
        spread = max(costs) / min(costs)
        table.add(f"{name}: largest / smallest cost", spread, "x", "flat (<= 1.5)", spread <= 1.5)

    def costs(mode, sizes, what, unit, uri=None):
        scale = 1e6 if unit == "us/point" else 1e3
        out = []
        for n in sizes:
            r = rust_load(env, mode, n, uri)
            cost = scale * r["total_s"] / n
            out.append(cost)
            table.add(f"Rust {n:,} {what}", cost, unit, note=f"RSS {r['rss_kb'] / 1024:.0f} MB")
        return out

    flat("SQLite points", costs("points", point_sizes, "points -> SQLite", "us/point"))
    flat("SQLite runs", costs("runs", run_sizes_sqlite, "child runs -> SQLite", "ms/run"))
    srv = Server(env, None)
    try:
        warm(env, srv)
        rest = costs("points", rest_points, "points -> server", "us/point", srv.url)
        if len(rest) > 1:
            flat("server points", rest)
        flat("server runs", costs("runs", run_sizes_rest, "child runs -> server", "ms/run", srv.url))
    finally:
        srv.stop()


def fleet_load(env, label, uri, workers, children, steps):
    """The Rust coordinator and the Python one, one after the other, into fresh experiments."""
    figures = {}
    for client, cmd in [("rust", [env.fleet_bin]), ("python", [env.python, str(HERE / "py_fleet.py")])]:
        d = env.fresh_dir(f"fleet-{client}-{label}")
        extra = {"MLFLOW_TRACKING_URI": uri, "BENCH_EXPERIMENT": f"fleet-{client}-{label}-{env.counter}"}
        wall, rss, out = run_proc(env, cmd + [str(workers), str(children), str(steps)], d, extra)
        r = last_json(out)
        log(f"    {client} -> {label}: {r['total_s']:.2f} s, {r['runs_per_s']:.1f} runs/s, "
            f"{r['points_per_s']:,.0f} points/s")
        figures[client] = r
    return figures


def optimizer(env, quick, optimizer_bin):
    """Optimizer studies (issue 22): bench/programs/optimizer.py, its own table (in-memory
    storage, mlflow.db, a server, Python Optuna + MlflowStorage on a server)."""
    if not optimizer_bin:
        raise SystemExit("--only optimizer needs --optimizer-bin")
    cmd = [env.python, str(HERE / "programs" / "optimizer.py"), "--rust-bin", optimizer_bin,
           "--trials", "50" if quick else "200", "--sleep-ms", "0,50",
           "--python-timeout", "30" if quick else "120"]
    log("optimizer: " + " ".join(cmd[1:]))
    out = subprocess.run(cmd, capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"optimizer bench failed:\n{out.stderr[-3000:]}")
    return out.stdout


def models(env, quick, models_bin):
    """Logged models and the registry at scale (issue 21): bench/programs/models.py, its own
    tables (search_logged_models over N models, registering versions; Rust and Python on
    mlflow.db and on a server)."""
    if not models_bin:
        raise SystemExit("--only models needs --models-bin")
    cmd = [env.python, str(HERE / "programs" / "models.py"), "--rust-bin", models_bin,
           "--models", "2000" if quick else "10000", "--versions", "200" if quick else "1000"]
    log("models: " + " ".join(cmd[1:]))
    out = subprocess.run(cmd, capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"models bench failed:\n{out.stderr[-3000:]}")
    return out.stdout


def fleet(env, table, quick):
    """Worker processes under one parent: one SQLite-backed server, then the PostgreSQL fleet
    (scripts/fleet.py: PostgreSQL, two `mlflow server`s, nginx in front)."""
    from fleet import Fleet  # the launcher lives beside the test script (scripts/ is on sys.path)

    workers, children, steps = (8, 5, 50) if quick else (8, 25, 100)
    table.section(f"Fleet: {workers} worker processes x {children} children x {steps} steps, one parent")
    log("[fleet]")
    results = {}
    srv = Server(env, None)
    try:
        warm(env, srv)
        results["one server (SQLite, 4 workers)"] = fleet_load(env, "sqlite-server", srv.url, workers, children, steps)
    finally:
        srv.stop()
    fl = Fleet(dir=str(env.fresh_dir("pg-fleet")), servers=2, workers=2, python=env.python, access_log=False)
    fl.start()
    try:
        results["fleet (PostgreSQL, 2 servers x 2 workers, nginx)"] = fleet_load(
            env, "pg-fleet", fl.uri, workers, children, steps)
    finally:
        fl.stop()
    for where, r in results.items():
        rust, py = r["rust"], r["python"]
        table.add(f"Rust -> {where}", rust["runs_per_s"], "runs/s",
                  note=f"{rust['points_per_s']:,.0f} points/s, {rust['total_s']:.1f} s")
        table.add(f"Python -> {where}", py["runs_per_s"], "runs/s",
                  note=f"{py['points_per_s']:,.0f} points/s, {py['total_s']:.1f} s")
        table.add(f"Rust / Python -> {where}", py["total_s"] / rust["total_s"], "x")


def sysmetrics(env, table, quick):
    """The system metrics sampler: one run living a fixed time, sampled every 50 ms (200 times
    Python's default pace) with metrics on, and not at all with them off, into a fresh mlflow.db.
    CPU per sample is the sampling thread's own time on the CPU (reading the sources, averaging,
    queueing the log) divided by the samples, and the whole process's CPU time on minus off
    divided by the samples (adding the sender's SQLite writes)."""
    table.section("System metrics sampler (one run, a sample every 50 ms)")
    log("[sysmetrics]")
    seconds = 5 if quick else 20
    out = {}
    for mode in ["off", "on"]:
        d = env.fresh_dir(f"sysmetrics-{mode}")
        e = dict(env.base, MLFLOW_TRACKING_URI=f"sqlite:///{d / 'mlflow.db'}",
                 MLFLOW_SYSTEM_METRICS_SAMPLING_INTERVAL="0.05")
        r = subprocess.run([env.sysmetrics_bin, mode, str(seconds)], env=e, cwd=d, capture_output=True,
                           text=True, timeout=seconds + 120)
        if r.returncode != 0:
            raise RuntimeError(f"bench_sysmetrics {mode} failed: {r.stderr}")
        out[mode] = last_json(r.stdout)
        log(f"    {mode}: {out[mode]}")
    on, off = out["on"], out["off"]
    n = max(on["samples"], 1)
    table.add(f"samples logged in {seconds} s", on["samples"], "samples")
    table.add("sampling thread CPU per sample", on["sampler_cpu_ns"] / n / 1e3, "us/sample")
    table.add("process CPU per sample (on - off, with SQLite writes)",
              (on["process_cpu_ms"] - off["process_cpu_ms"]) / n * 1e3, "us/sample")
    table.add("sampling thread CPU at Python's default pace (10 s)",
              on["sampler_cpu_ns"] / n / 1e9 / 10 * 100, "% of a core")
    table.add("peak RSS, system metrics on", on["peak_rss_kb"] / 1024, "MB")
    table.add("peak RSS, system metrics off", off["peak_rss_kb"] / 1024, "MB")
    table.add("peak RSS, on - off", (on["peak_rss_kb"] - off["peak_rss_kb"]) / 1024, "MB")


# --- latency: a remote server, through test-support's delay proxy -----------------------------

class Certs:
    """A throwaway CA and a server certificate for 127.0.0.1, made with the openssl command."""

    SCRIPT = r"""
set -e
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
  -keyout ca.key -out ca.pem -subj /CN=throwaway-bench-ca \
  -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign
openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
  -keyout server.key -out server.csr -subj /CN=127.0.0.1
printf 'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' > server.ext
openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
  -out server.pem -extfile server.ext
"""

    def __init__(self, d):
        p = subprocess.run(["sh", "-c", self.SCRIPT], cwd=d, capture_output=True, text=True)
        if p.returncode != 0:
            raise SystemExit(f"cannot make certificates with openssl:\n{p.stderr[-2000:]}")
        self.ca, self.cert, self.key = d / "ca.pem", d / "server.pem", d / "server.key"


class DelayProxy:
    """test-support's `delay-proxy` in front of `upstream` (host:port), `rtt_ms` away: each
    direction delayed by half the round trip, a new connection paying one round trip."""

    def __init__(self, proxy_bin, upstream, rtt_ms):
        self.proc = subprocess.Popen([proxy_bin, "--upstream", upstream, "--rtt-ms", str(rtt_ms)],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        if not line.startswith("{"):
            self.proc.kill()
            raise SystemExit(f"delay-proxy did not start: {line!r}")
        self.addr = json.loads(line)["listen"]

    def stop(self):
        """Stops the proxy; returns the connections it accepted."""
        self.proc.stdin.close()
        out = self.proc.stdout.read()
        self.proc.wait(timeout=30)
        return last_json(out)["connections"]


def through(env, srv, proxy_bin, rtt_ms, cmd, extra, label):
    """Runs `cmd` against `srv` directly (rtt 0) or through a fresh delay proxy: wall time,
    the last JSON line of its output (if any), requests in the access log, connections."""
    proxy = DelayProxy(proxy_bin, f"127.0.0.1:{srv.port}", rtt_ms) if rtt_ms else None
    uri = f"{srv.scheme}://{proxy.addr}" if proxy else srv.url
    e = {"MLFLOW_TRACKING_URI": uri, **extra}
    if srv.tls:
        e["MLFLOW_TRACKING_SERVER_CERT_PATH"] = str(srv.tls.ca)
    mark = srv.mark()
    try:
        wall, _, out = run_proc(env, cmd, env.fresh_dir(label), e)
    finally:
        conns = proxy.stop() if proxy else None
    reqs = sum(srv.requests_since(mark).values())
    js = None
    if out.strip().splitlines() and out.strip().splitlines()[-1].startswith("{"):
        js = last_json(out)
    return {"wall": wall, "json": js, "req": reqs, "conns": conns}


def latency(env, table, quick, reps, py_reps, proxy_bin):
    """The seed sweep and 100k points into one run against a default server (4 workers) on
    loopback and through the delay proxy at 10 and 50 ms RTT, with the runtime's connection
    default and both MLFLOW_RS_HTTP_KEEPALIVE settings, next to the Python client; then the
    seed sweep over https at 0 and 50 ms RTT."""
    if not proxy_bin:
        raise SystemExit("--only latency needs --proxy-bin (built by scripts/bench.sh)")
    rtts = [0, 10, 50]
    n = 20_000 if quick else 100_000
    ka = "MLFLOW_RS_HTTP_KEEPALIVE"
    seed = [("Rust seed sweep, default", [env.example_bin, "--seed-only"], {}),
            ("Rust seed sweep, keep-alive", [env.example_bin, "--seed-only"], {ka: "true"}),
            ("Rust seed sweep, fresh connections", [env.example_bin, "--seed-only"], {ka: "false"}),
            ("Python seed sweep (sync)", [env.python, str(HERE / "sweep.py")], {})]
    if env.rust_only:
        seed = [c for c in seed if not c[0].startswith("Python")]
    points = [(f"Rust {n:,} points, default", [env.load_bin, "points", str(n)], {}),
              (f"Rust {n:,} points, keep-alive", [env.load_bin, "points", str(n)], {ka: "true"}),
              (f"Python log_batch(1000) {n:,} points", [env.python, str(HERE / "py_load.py"), "points", str(n)], {})]
    if env.rust_only:
        points = [c for c in points if not c[0].startswith("Python")]
    steps = 1000
    paced = [(f"Rust {steps:,} steps of 2 ms, default", [env.load_bin, "paced", str(steps)], {})]

    def run_all(srv, clients, rtt_list, label):
        res = {(name, rtt): [] for name, _, _ in clients for rtt in rtt_list}
        # The first run of each client creates its experiment; measure only runs that find it.
        for name, cmd, extra in clients:
            warm_cmd = cmd[:-1] + ["1000"] if cmd[-2:-1] == ["points"] else cmd
            through(env, srv, proxy_bin, 0, warm_cmd, extra, "warm")
        for rep in range(reps):
            for rtt in rtt_list:
                for name, cmd, extra in clients:
                    if name.startswith("Python") and rep >= py_reps:
                        continue
                    r = through(env, srv, proxy_bin, rtt, cmd, extra, label)
                    res[(name, rtt)].append(r)
                    js = r["json"]
                    rate = f", {js['per_s']:,.0f} points/s" if js and "per_s" in js else ""
                    log(f"    rep {rep + 1} {srv.scheme} {rtt} ms {name}: {r['wall']:.2f} s{rate}, "
                        f"{r['req']} requests, {r['conns'] if r['conns'] is not None else '-'} connections")
        return res

    def summary(rs, key):
        return median([key(r) for r in rs])

    def note(rs):
        conns = rs[-1]["conns"]
        return f"{rs[-1]['req']} req" + (f", {conns} conns" if conns is not None else "")

    load_start = os.getloadavg()[0]
    srv = Server(env, None)
    try:
        warm(env, srv)
        res_seed = run_all(srv, seed, rtts, "lat-seed")
        res_points = run_all(srv, points, rtts, "lat-points")
        res_paced = run_all(srv, paced, rtts, "lat-paced")
    finally:
        srv.stop()

    def add_walls(label, rows, distances, results):
        """One table row per client and distance: its wall time and ratio to its own 0 ms."""
        walls = {k: summary(v, lambda r: r["wall"]) for k, v in results.items()}
        for name, _, _ in rows:
            for rtt in distances:
                w = walls[(name, rtt)]
                ratio = "" if rtt == 0 else f"{w / walls[(name, 0)]:.2f}x own 0 ms"
                table.add(f"{label}{name} @ {rtt} ms RTT", w, "s",
                          note=", ".join(x for x in [ratio, note(results[(name, rtt)])] if x))
        return walls

    table.section("Latency: seed sweep, server default (4 workers), through the delay proxy")
    walls = add_walls("", seed, rtts, res_seed)
    base = walls[("Rust seed sweep, default", 0)]
    for name in ["Rust seed sweep, default", "Rust seed sweep, keep-alive", "Rust seed sweep, fresh connections"]:
        r = walls[(name, 50)] / base
        goal = name.endswith("default")
        table.add(f"{'GOAL ' if goal else ''}{name} @ 50 ms / default @ 0 ms", r, "x", "<= 1.5", r <= 1.5)
    if not env.rust_only:
        py = walls[("Python seed sweep (sync)", 50)]
        table.add("Python sync / Rust default @ 50 ms", py / walls[("Rust seed sweep, default", 50)], "x")
        table.add("Python sync / Rust keep-alive @ 50 ms", py / walls[("Rust seed sweep, keep-alive", 50)], "x")

    table.section(f"Latency: {n:,} points into one run, through the delay proxy")
    rates = {k: summary(v, lambda r: r["json"]["per_s"]) for k, v in res_points.items()}
    for name, _, _ in points:
        for rtt in rtts:
            p = rates[(name, rtt)]
            ratio = "" if rtt == 0 else f"{p / rates[(name, 0)]:.2f}x own 0 ms"
            secs = summary(res_points[(name, rtt)], lambda r: r["json"]["total_s"])
            table.add(f"{name} @ {rtt} ms RTT", p, "points/s",
                      note=", ".join(x for x in [f"{secs:.2f} s", ratio, note(res_points[(name, rtt)])] if x))
    pbase = rates[(f"Rust {n:,} points, default", 0)]
    for name in [f"Rust {n:,} points, default", f"Rust {n:,} points, keep-alive"]:
        r = rates[(name, 50)] / pbase
        goal = name.endswith("default")
        table.add(f"{'GOAL ' if goal else ''}{name} @ 50 ms / default @ 0 ms", r, "x", ">= 0.80", r >= 0.8)

    table.section("Latency: flush() after a training loop's last call, through the delay proxy")
    for name, _, _ in paced:
        for rtt in rtts:
            f = summary(res_paced[(name, rtt)], lambda r: r["json"]["flush_s"])
            rounds = "" if rtt == 0 else f"{f * 1000 / rtt:.1f} round trips"
            table.add(f"{name}: flush after the last call @ {rtt} ms RTT", f * 1000, "ms",
                      note=", ".join(x for x in [rounds, note(res_paced[(name, rtt)])] if x))

    certs = Certs(env.fresh_dir("certs"))
    tls_seed = [("Rust seed sweep, default (keep-alive over https)", [env.example_bin, "--seed-only"], {}),
                ("Rust seed sweep, fresh connections", [env.example_bin, "--seed-only"], {ka: "false"}),
                ("Python seed sweep (sync)", [env.python, str(HERE / "sweep.py")], {})]
    if env.rust_only:
        tls_seed = [c for c in tls_seed if not c[0].startswith("Python")]
    tls_rtts = [0, 50]
    srv = Server(env, None, tls=certs)
    try:
        res_tls = run_all(srv, tls_seed, tls_rtts, "lat-tls")
    finally:
        srv.stop()
    table.section("Latency: seed sweep over https (TLS, 4 workers), through the delay proxy")
    add_walls("https ", tls_seed, tls_rtts, res_tls)
    table.add("load average (1 min) at the start / end of the latency section", load_start, "",
              note=f"end {os.getloadavg()[0]:.2f}")


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--python", required=True)
    p.add_argument("--example-bin", required=True)
    p.add_argument("--load-bin", required=True)
    p.add_argument("--post-bin", required=True)
    p.add_argument("--target-dir", required=True)
    p.add_argument("--sysmetrics-bin")
    p.add_argument("--fleet-bin")
    p.add_argument("--optimizer-bin", help="bench_optimizer (for --only optimizer)")
    p.add_argument("--models-bin", help="bench_models (for --only models)")
    p.add_argument("--proxy-bin", help="test-support's delay-proxy (for --only latency)")
    p.add_argument("--quick", action="store_true", help="small sizes, one repetition")
    p.add_argument("--reps", type=int, help="sweep repetitions of the Rust client and the floor (median); "
                   "default 1 quick, 3 full")
    p.add_argument("--py-reps", type=int, default=1, help="sweep repetitions of the Python client (default 1)")
    p.add_argument("--only", default="sweep,embedded,hotpath,throughput,scaling",
                   help="comma-separated sections: sweep,embedded,hotpath,throughput,scaling,sysmetrics,fleet,latency")
    p.add_argument("--rust-env", action="append", default=[], metavar="NAME=VALUE",
                   help="also run the Rust sweep with this environment (e.g. a connection knob)")
    p.add_argument("--keep", action="store_true", help="keep the temp dir (server logs, databases)")
    p.add_argument("--rust-only", action="store_true", help="leave out the Python client (comparing builds)")
    p.add_argument("--repo", help="the checkout whose criterion bench the hot path runs (default: this one)")
    a = p.parse_args()
    env = Env(a)
    reps = a.reps or (1 if a.quick else 3)
    only = set(a.only.split(","))
    # Over plain http on loopback the runtime's default (auto) opens a fresh connection per
    # request; MLFLOW_RS_HTTP_KEEPALIVE=true keeps connections alive instead.
    variants = [("Rust seed sweep", {}), ("Rust seed sweep, keep-alive", {"MLFLOW_RS_HTTP_KEEPALIVE": "true"})]
    for kv in a.rust_env:
        k, _, v = kv.partition("=")
        variants.append((f"Rust seed sweep {k}={v}", {k: v}))
    table = Table()
    extra_tables = []
    load = os.getloadavg()
    started = time.time()
    try:
        if "sweep" in only:
            sweep_server(env, table, None, reps, a.py_reps, variants)
            sweep_server(env, table, 1, reps, a.py_reps, variants)
        if "embedded" in only:
            sweep_embedded(env, table, reps, a.py_reps)
        if "hotpath" in only:
            hot_path(env, table, a.quick, a.target_dir)
        if "throughput" in only:
            throughput(env, table, a.quick)
        if "scaling" in only:
            scaling(env, table, a.quick)
        if "sysmetrics" in only:
            sysmetrics(env, table, a.quick)
        if "fleet" in only:
            fleet(env, table, a.quick)
        if "latency" in only:
            latency(env, table, a.quick, reps, a.py_reps, a.proxy_bin)
        if "optimizer" in only:
            extra_tables.append(optimizer(env, a.quick, a.optimizer_bin))
        if "models" in only:
            extra_tables.append(models(env, a.quick, a.models_bin))
    finally:
        if a.keep:
            log(f"kept {env.work}")
        else:
            shutil.rmtree(env.work, ignore_errors=True)
    end_load = os.getloadavg()
    print(f"\nmlflow-tracking benchmarks ({'quick' if a.quick else 'full'}), {time.strftime('%Y-%m-%d %H:%M %Z')}, "
          f"{os.cpu_count()} CPUs, {time.time() - started:.0f} s; load average at start "
          f"{load[0]:.2f}/{load[1]:.2f}/{load[2]:.2f}, at end {end_load[0]:.2f}/{end_load[1]:.2f}/{end_load[2]:.2f}")
    table.print()
    for extra in extra_tables:
        print()
        print(extra)
    out = os.environ.get("BENCH_JSON")
    if out:
        Path(out).write_text(json.dumps(table.data, indent=1))


if __name__ == "__main__":
    main()
