#!/usr/bin/env python3
"""The one way the tests, the benches and the fleet start an `mlflow server`.

Every server gets: `<python> -m mlflow server --host 127.0.0.1 --port PORT
--backend-store-uri URI`, `--default-artifact-root DIR` or `--artifacts-destination DIR`,
`--workers N` (1 unless told otherwise; None leaves MLflow's default), the caller's extra
arguments; in its environment MLFLOW_SERVER_ENABLE_JOB_EXECUTION=false (no job runner
processes; the benches alone keep MLflow's default, job_execution=True, as their figures
were measured on a server with default settings), MLFLOW_DISABLE_TELEMETRY=true,
PYTHONUNBUFFERED=1, and none of the variables
that point a process at a run or store (SCRUBBED_ENV); stdout and stderr appended to its
log file; its own session and process group (setsid), and SIGTERM if the process that
started it dies (PR_SET_PDEATHSIG).

Ready: `GET /health` answers `OK` (a server speaking TLS, `--ssl-certfile` among its
arguments: its port accepts connections, as it may demand client certificates); with
`wait_workers=N`, only once its log also shows N "Application startup complete" lines (every
uvicorn worker up; the benches use it). Not ready within HEALTH_TIMEOUT: an error with its
log. A server on a port picked here that exits before it is ready because the port was
taken in the meantime is started again on another port, PORT_ATTEMPTS times in all.

Stopped: SIGTERM to its process group, SIGKILL to the group after STOP_TIMEOUT, and SIGKILL
to the group once more in any case: under MLflow 2.x the server is gunicorn, which can
outlive `mlflow server` itself.

Used three ways:

  * imported (scripts/fleet.py, bench/run.py; stdlib only):
        sys.path.insert(0, "scripts"); import mlflow_server
        server = mlflow_server.Server("sqlite:///x.db", log_path="x.log").start()
        server.uri; server.stop()
    `start_all([...])` starts several at once (the fleet);
  * as a launcher (scripts/test.sh, and test-support's ServerSpec for every Rust test):
        python scripts/mlflow_server.py --backend-store-uri URI --log PATH \\
            [--default-artifact-root DIR | --artifacts-destination DIR] [--workers N]
            [--port P] [--env NAME=VALUE]... [--ignore-stdin] [-- MLFLOW-SERVER-ARGS...]
    run with the venv's python (or --python). It prints ONE JSON line once the server is
    ready, {"uri": ..., "port": ..., "pgid": ..., "log": ...}, and stays in the foreground
    until its stdin closes (or, with --ignore-stdin, only) until SIGTERM/SIGINT/SIGHUP, then
    stops the server. When the server does not come up it prints the reason on stderr and
    exits 2 (the server's log is the caller's to show);
  * `pins()` / `pin(NAME)`: the versions of scripts/pins.env.

Why here, in Python, and not test-support's Rust run as a binary: the fleet and the benches
are stdlib Python already and start servers in-process; the test script starts its servers
before anything is compiled, so that they boot while clippy builds; and a Rust binary would
need a build before the first server. test-support runs this file as a launcher (one more
Python process per server, next to MLflow's seconds of start-up), so the flags, the
readiness rule and the timeouts are written here only.
"""

import argparse
import ctypes
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
PINS_FILE = HERE / "pins.env"

# How long a server may take to be ready: about 10 s alone, but servers start while the
# tests build or run on both cores, and have been seen to need over 60 s.
HEALTH_TIMEOUT = 180.0
# How long a stopping server gets after SIGTERM before SIGKILL.
STOP_TIMEOUT = 10.0
# Starts of a server on a port picked here (another process may take the port first).
PORT_ATTEMPTS = 3
# The environment every server gets, over the caller's.
SERVER_ENV = {
    # No job runner (huey consumer processes): nothing the tests use, CPU at start-up.
    "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false",
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "PYTHONUNBUFFERED": "1",
}
# Variables that would point a process at a run, experiment or store of the caller's.
SCRUBBED_ENV = (
    "MLFLOW_TRACKING_URI",
    "MLFLOW_RUN_ID",
    "MLFLOW_EXPERIMENT_NAME",
    "MLFLOW_EXPERIMENT_ID",
    "MLFLOW_RS_PARENT_RUN_ID",
    "MLFLOW_RS_WORKER_ID",
)
# How uvicorn (MLflow 3) and gunicorn (MLflow 2) say that the port is taken.
PORT_IN_USE = re.compile(rb"(?i)address already in use|connection in use")
# What each uvicorn worker logs once it serves (for wait_workers).
STARTUP_LINE = b"Application startup complete"


# -- pins ------------------------------------------------------------------------------

def pins(path=PINS_FILE):
    """scripts/pins.env as a dict {NAME: VALUE}; raises ValueError on a malformed line."""
    out = {}
    for n, line in enumerate(Path(path).read_text().splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        m = re.fullmatch(r"([A-Z][A-Z0-9_]*)=([A-Za-z0-9._+-]+)", line)
        if not m:
            raise ValueError(f"{path}:{n}: not a NAME=VALUE line: {line!r}")
        out[m[1]] = m[2]
    return out


def pin(name):
    """One version of scripts/pins.env; KeyError naming the file when it is not there."""
    p = pins()
    if name not in p:
        raise KeyError(f"{name} is not set in {PINS_FILE}")
    return p[name]


# -- helpers ---------------------------------------------------------------------------

def free_port():
    """A free loopback port (another process may take it before it is bound)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def healthy(uri, timeout=2.0):
    """`GET uri/health` answers 200 `OK` (never through a proxy)."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(uri + "/health", timeout=timeout) as r:
            return r.status == 200 and r.read().strip() == b"OK"
    except Exception:
        return False


def accepts(port, timeout=2.0):
    """The loopback port accepts TCP connections."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout):
            return True
    except OSError:
        return False


def set_pdeathsig():
    """In a child before exec: SIGTERM when the process that started it dies."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except Exception:
        pass


def server_env(base=None, extra=None, job_execution=False):
    """The environment of an `mlflow` process: `base` (default: this process's) without
    SCRUBBED_ENV, with SERVER_ENV, then `extra`. `job_execution=True` leaves the job runner
    to MLflow's default (on): the benches measure a server with default settings."""
    env = dict(os.environ if base is None else base)
    for k in SCRUBBED_ENV:
        env.pop(k, None)
    env.update(SERVER_ENV)
    if job_execution:
        del env["MLFLOW_SERVER_ENABLE_JOB_EXECUTION"]
    env.update(extra or {})
    return env


def tail(path, lines=40):
    try:
        with open(path, errors="replace") as f:
            return "".join(f.readlines()[-lines:])
    except OSError:
        return ""


def _killpg(pgid, sig):
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


class ServerError(Exception):
    """A server did not come up; `reason` says why, `str()` adds the end of its log."""

    def __init__(self, reason, log_path):
        self.reason = reason
        self.log_path = log_path
        super().__init__(f"{reason}; the end of its log ({log_path}):\n{tail(log_path)}")


# -- the server ------------------------------------------------------------------------

class Server:
    """One `mlflow server` (see the module's doc). `start()` starts it and waits until it
    is ready; `stop()` stops its whole process group (idempotent)."""

    def __init__(self, backend_store_uri, *, log_path, python=None, workers=1, port=None,
                 default_artifact_root=None, artifacts_destination=None, args=(), env=None,
                 extra_env=None, cwd=None, wait_workers=None, job_execution=False):
        if default_artifact_root is not None and artifacts_destination is not None:
            raise ValueError("default_artifact_root or artifacts_destination, not both")
        self.backend_store_uri = str(backend_store_uri)
        self.log_path = str(log_path)
        self.python = str(python or sys.executable)
        self.workers = workers
        self.fixed_port = port
        self.port = port
        self.default_artifact_root = default_artifact_root
        self.artifacts_destination = artifacts_destination
        self.args = [str(a) for a in args]
        self.env = server_env(env, extra_env, job_execution)
        self.cwd = cwd
        self.wait_workers = wait_workers
        self.tls = any("--ssl-certfile" in a for a in self.args)
        self.proc = None
        self.attempts = 0
        self._log_mark = 0

    @property
    def uri(self):
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"

    @property
    def pgid(self):
        """The server's process group (its leader is `mlflow server`)."""
        return self.proc.pid if self.proc else None

    def command(self):
        cmd = [self.python, "-m", "mlflow", "server", "--host", "127.0.0.1",
               "--port", str(self.port), "--backend-store-uri", self.backend_store_uri]
        if self.artifacts_destination is not None:
            cmd += ["--artifacts-destination", str(self.artifacts_destination)]
        elif self.default_artifact_root is not None:
            cmd += ["--default-artifact-root", str(self.default_artifact_root)]
        if self.workers is not None:
            cmd += ["--workers", str(self.workers)]
        return cmd + self.args

    def spawn(self):
        """Starts the process (on a fresh free port unless one was given); no waiting."""
        if self.fixed_port is None:
            self.port = free_port()
        self.attempts += 1
        os.makedirs(os.path.dirname(os.path.abspath(self.log_path)), exist_ok=True)
        with open(self.log_path, "ab") as log:
            self._log_mark = log.tell()
            self.proc = subprocess.Popen(
                self.command(), stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                env=self.env, cwd=self.cwd, start_new_session=True, preexec_fn=set_pdeathsig)
        return self

    def ready(self):
        """The readiness rule (see the module's doc); False while it starts."""
        if self.wait_workers:
            try:
                with open(self.log_path, "rb") as f:
                    f.seek(self._log_mark)
                    if f.read().count(STARTUP_LINE) < self.wait_workers:
                        return False
            except OSError:
                return False
        return accepts(self.port) if self.tls else healthy(self.uri)

    def port_taken(self):
        """The last start's log says the port was in use (uvicorn's or gunicorn's words)."""
        try:
            with open(self.log_path, "rb") as f:
                f.seek(self._log_mark)
                return PORT_IN_USE.search(f.read()) is not None
        except OSError:
            return False

    def start(self, timeout=HEALTH_TIMEOUT):
        start_all([self], timeout)
        return self

    def terminate(self):
        """SIGTERM to the process group, no waiting (stop() finishes the job)."""
        if self.proc is not None and self.proc.poll() is None:
            _killpg(self.proc.pid, signal.SIGTERM)

    def stop(self):
        """SIGTERM to the group, SIGKILL after STOP_TIMEOUT, SIGKILL to what of the group
        outlives the leader; waits for the leader."""
        p, self.proc = self.proc, None
        if p is None:
            return
        if p.poll() is None:
            _killpg(p.pid, signal.SIGTERM)
            try:
                p.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                pass
        # The group id stays reserved while any member is left, even once the leader is
        # reaped; signalling an empty group only fails with ESRCH.
        _killpg(p.pid, signal.SIGKILL)
        p.wait()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def start_all(servers, timeout=HEALTH_TIMEOUT):
    """Starts the servers at once and waits until every one is ready; on any failure (or
    KeyboardInterrupt, or an exception from a signal handler) stops them all and raises
    (ServerError when one did not come up)."""
    deadline = time.monotonic() + timeout
    try:
        for s in servers:
            s.spawn()
        pending = list(servers)
        while pending:
            for s in list(pending):
                code = s.proc.poll()
                if code is not None:
                    s.stop()
                    if s.fixed_port is None and s.attempts < PORT_ATTEMPTS and s.port_taken():
                        s.spawn()
                        continue
                    raise ServerError(
                        f"mlflow server {s.uri} exited with {code} before it was ready", s.log_path)
                if s.ready():
                    pending.remove(s)
            if pending:
                if time.monotonic() > deadline:
                    s = pending[0]
                    raise ServerError(
                        f"mlflow server {s.uri} not ready after {timeout:.0f}s", s.log_path)
                time.sleep(0.3)
    except BaseException:
        for s in servers:
            s.terminate()
        for s in servers:
            s.stop()
        raise


# -- the launcher ----------------------------------------------------------------------

class _Stop(Exception):
    pass


def _on_signal(signum, frame):
    raise _Stop(signum)


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    server_args = []
    if "--" in argv:
        i = argv.index("--")
        argv, server_args = argv[:i], argv[i + 1:]
    ap = argparse.ArgumentParser(
        description="Starts one mlflow server, prints a JSON line once it is ready, stops it "
                    "when stdin closes (or on SIGTERM). Arguments after -- go to mlflow server.")
    ap.add_argument("--backend-store-uri", required=True)
    where = ap.add_mutually_exclusive_group()
    where.add_argument("--default-artifact-root")
    where.add_argument("--artifacts-destination")
    ap.add_argument("--log", required=True, help="file the server's stdout and stderr are appended to")
    ap.add_argument("--workers", default="1", help="--workers of the server (default 1; 'default': MLflow's)")
    ap.add_argument("--port", type=int, help="default: a free one (retried if taken)")
    ap.add_argument("--python", default=sys.executable, help="python with mlflow (default: this one)")
    ap.add_argument("--env", action="append", default=[], metavar="NAME=VALUE",
                    help="extra environment for the server")
    ap.add_argument("--wait-workers", type=int, help="also wait for N workers' start-up lines")
    ap.add_argument("--ignore-stdin", action="store_true", help="stay up until SIGTERM/SIGINT only")
    a = ap.parse_args(argv)
    extra_env = {}
    for kv in a.env:
        k, sep, v = kv.partition("=")
        if not sep or not k:
            ap.error(f"--env {kv!r}: not NAME=VALUE")
        extra_env[k] = v

    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, _on_signal)
    server = Server(a.backend_store_uri, log_path=a.log, python=a.python,
                    workers=None if a.workers == "default" else int(a.workers), port=a.port,
                    default_artifact_root=a.default_artifact_root,
                    artifacts_destination=a.artifacts_destination, args=server_args,
                    extra_env=extra_env, wait_workers=a.wait_workers)
    try:
        server.start()
    except ServerError as e:
        print(f"mlflow_server: error: {e.reason} (log: {e.log_path})", file=sys.stderr, flush=True)
        return 2
    except _Stop:
        return 1  # start_all has stopped it
    try:
        print(json.dumps({"uri": server.uri, "port": server.port, "pgid": server.pgid,
                          "log": os.path.abspath(server.log_path)}), flush=True)
        if a.ignore_stdin:
            while True:
                signal.pause()
        else:
            # Until stdin closes: the caller is done, or gone.
            while os.read(sys.stdin.fileno(), 65536):
                pass
    except _Stop:
        pass
    finally:
        # No second signal may interrupt the teardown.
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(sig, signal.SIG_IGN)
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
