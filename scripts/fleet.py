#!/usr/bin/env python3
"""A fleet of real MLflow tracking servers behind a load balancer, for tests and benches.

Starts, in a folder it is given (or a temporary one):

  * a private PostgreSQL cluster (Debian's `postgresql`: initdb + postgres) listening only
    on 127.0.0.1 on a free port (fsync off: test data), with one database, migrated ONCE
    with `mlflow db upgrade` (servers starting together on an empty database would race to
    migrate it);
  * N `mlflow server` processes (default 2) over that database, sharing one
    `--artifacts-destination` folder (proxied artifacts), started and stopped by
    scripts/mlflow_server.py (the tests' and benches' one way to run a server: its flags,
    readiness rule and timeouts; each server in its own process group);
  * nginx (Debian's `nginx-light` or `nginx`) on a free loopback port, balancing over them.

then prints ONE JSON line on stdout:

  {"uri": "http://127.0.0.1:PORT", "servers": [...], "postgres": "postgresql+psycopg://...",
   "artifacts": "/path", "dir": "/path"}

and stays in the foreground until stdin closes (or, with --ignore-stdin, only) until it gets
SIGTERM/SIGINT, then stops nginx, the servers and PostgreSQL and removes the database (and
the folder, when it made it). The folder keeps server-N.log, db-upgrade.log, nginx.conf,
nginx-error.log and nginx-access.log (one line per request, with `upstream=ADDR`: the
server that answered).

Run it with the test venv's python (it runs `<python> -m mlflow`, and the servers need
`psycopg` in that venv). Stdlib only. From Python (bench/run.py):

    sys.path.insert(0, "scripts"); from fleet import Fleet
    with Fleet(servers=2, python=venv_python) as fleet:
        fleet.uri, fleet.server_uris

`--check` only reports what is missing (exit 3) without starting anything.

The psycopg version is PSYCOPG_VERSION of scripts/pins.env.

Environment: MLFLOW_TEST_PG_BIN (folder holding initdb/postgres/pg_ctl; default the newest
/usr/lib/postgresql/*/bin), MLFLOW_TEST_NGINX (the nginx binary; default from PATH or
/usr/sbin/nginx).
"""

import argparse
import glob
import json
import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
import time

# The servers are started by the one server launcher of the tests and benches (beside this
# file): its flags, environment, readiness rule and timeouts.
from mlflow_server import (
    STOP_TIMEOUT,
    Server,
    ServerError,
    free_port,
    healthy,
    pin,
    server_env,
    set_pdeathsig,
    start_all,
    tail as _tail,
)

PSYCOPG_PIN = f"psycopg[binary]=={pin('PSYCOPG_VERSION')}"
PG_USER = "postgres"  # the OS user postgres runs as when we are root
DB_USER = "mlflow"
DB_NAME = "mlflow"


class FleetError(Exception):
    """Something the fleet needs is missing or did not start; the message says what."""


def find_pg_bin():
    """The folder holding initdb, postgres and pg_ctl, or None."""
    need = ("initdb", "postgres", "pg_ctl")

    def ok(d):
        return d and all(os.access(os.path.join(d, n), os.X_OK) for n in need)

    env = os.environ.get("MLFLOW_TEST_PG_BIN")
    if env:
        return env if ok(env) else None

    def version(d):
        try:
            return float(d.split("/")[-2])
        except ValueError:
            return 0.0

    for d in sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=version, reverse=True):
        if ok(d):
            return d
    initdb = shutil.which("initdb")
    if initdb:
        d = os.path.dirname(os.path.realpath(initdb))
        if ok(d):
            return d
    return None


def find_nginx():
    env = os.environ.get("MLFLOW_TEST_NGINX")
    if env:
        return env if os.access(env, os.X_OK) else None
    for c in (shutil.which("nginx"), "/usr/sbin/nginx"):
        if c and os.access(c, os.X_OK):
            return c
    return None


def missing(python=None):
    """What the fleet needs and this machine lacks: a list of messages, each with its fix."""
    python = python or sys.executable
    out = []
    if not find_pg_bin():
        where = os.environ.get("MLFLOW_TEST_PG_BIN") or "/usr/lib/postgresql/*/bin or PATH"
        out.append(
            f"PostgreSQL server binaries (initdb, postgres, pg_ctl) not found in {where}: "
            "apt-get install -y --no-install-recommends postgresql "
            "(./scripts/test.sh does it when run as root), or set MLFLOW_TEST_PG_BIN"
        )
    elif os.geteuid() == 0:
        try:
            pwd.getpwnam(PG_USER)
        except KeyError:
            out.append(
                f"running as root, but there is no '{PG_USER}' user to run postgres as "
                "(postgres refuses to run as root): reinstall Debian's postgresql package, "
                f"or useradd --system {PG_USER}"
            )
    if not find_nginx():
        out.append(
            "nginx not found (PATH, /usr/sbin/nginx, MLFLOW_TEST_NGINX): "
            "apt-get install -y --no-install-recommends nginx-light "
            "(./scripts/test.sh does it when run as root)"
        )
    check = subprocess.run(
        [python, "-c", "import psycopg"], capture_output=True, text=True
    )
    if check.returncode != 0:
        out.append(
            f"{python} cannot import psycopg (the servers' PostgreSQL driver): run the "
            "launcher with the MLflow test venv's python (or pass it as --python), into "
            "which ./scripts/test.sh installs psycopg, or "
            f"{python} -m pip install '{PSYCOPG_PIN}'"
        )
    return out


class Fleet:
    """The fleet; `start()` returns the info dict that the launcher prints, `stop()` tears
    everything down (idempotent). Also a context manager."""

    def __init__(self, dir=None, servers=2, workers=1, python=None, access_log=True, log=None):
        self.python = python or sys.executable
        self.n_servers = servers
        self.workers = workers
        self.access_log = access_log
        self.log = log or sys.stderr
        self._given_dir = dir
        self.dir = None
        self.pg_dir = None
        self.pg_bin = None
        self.nginx_bin = None
        self.servers = []  # mlflow_server.Server, started order
        self.pg_proc = None
        self.nginx_proc = None
        self.info = None
        self._made_dir = False

    # -- helpers -------------------------------------------------------------------
    def _say(self, msg):
        print(f"fleet: {msg}", file=self.log, flush=True)

    def _as_pg(self):
        """Popen/run kwargs that run a postgres binary as the right user."""
        kw = {"cwd": self.pg_dir}
        if os.geteuid() == 0:
            pw = pwd.getpwnam(PG_USER)
            kw.update(user=pw.pw_uid, group=pw.pw_gid, extra_groups=[])
            env = dict(os.environ, HOME=pw.pw_dir, USER=PG_USER, LOGNAME=PG_USER)
            kw["env"] = env
        return kw

    def _run(self, args, what, **kw):
        r = subprocess.run(args, capture_output=True, text=True, **kw)
        if r.returncode != 0:
            raise FleetError(f"{what} failed ({r.returncode}): {' '.join(map(str, args))}\n{r.stdout}{r.stderr}")
        return r

    def _spawn(self, name, args, log_path, **kw):
        logf = open(log_path, "ab")
        try:
            p = subprocess.Popen(
                args,
                stdin=subprocess.DEVNULL,
                stdout=logf,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=set_pdeathsig,
                **kw,
            )
        finally:
            logf.close()
        return p

    # -- start ---------------------------------------------------------------------
    def start(self):
        problems = missing(self.python)
        if problems:
            raise FleetError("the fleet cannot start:\n  - " + "\n  - ".join(problems))
        self.pg_bin = find_pg_bin()
        self.nginx_bin = find_nginx()
        t0 = time.monotonic()
        try:
            self._make_dirs()
            pg_uri = self._start_postgres()
            self._say(f"postgres up at {pg_uri} ({time.monotonic() - t0:.1f}s)")
            self._migrate(pg_uri)
            self._say(f"database migrated ({time.monotonic() - t0:.1f}s)")
            server_uris = self._start_servers(pg_uri)
            self._say(f"{len(server_uris)} servers healthy ({time.monotonic() - t0:.1f}s)")
            uri = self._start_nginx(server_uris)
            self._say(f"nginx healthy at {uri} ({time.monotonic() - t0:.1f}s)")
        except BaseException:
            self.stop()
            raise
        self.info = {
            "uri": uri,
            "servers": server_uris,
            "postgres": pg_uri,
            "artifacts": self.artifacts,
            "dir": self.dir,
        }
        return self.info

    @property
    def uri(self):
        return self.info["uri"]

    @property
    def server_uris(self):
        return self.info["servers"]

    def _make_dirs(self):
        if self._given_dir:
            self.dir = os.path.abspath(self._given_dir)
            os.makedirs(self.dir, exist_ok=True)
        else:
            self.dir = tempfile.mkdtemp(prefix="mlflow-fleet-")
            self._made_dir = True
        self.artifacts = os.path.join(self.dir, "artifacts")
        os.makedirs(self.artifacts, exist_ok=True)
        if os.geteuid() == 0:
            # postgres runs as the postgres user, who may not reach self.dir (/root/...).
            self.pg_dir = tempfile.mkdtemp(prefix="mlflow-fleet-pg-")
            pw = pwd.getpwnam(PG_USER)
            os.chown(self.pg_dir, pw.pw_uid, pw.pw_gid)
        else:
            self.pg_dir = tempfile.mkdtemp(prefix="pg-", dir=self.dir)
        os.chmod(self.pg_dir, 0o700)

    def _start_postgres(self):
        data = os.path.join(self.pg_dir, "data")
        self._run(
            [os.path.join(self.pg_bin, "initdb"), "-D", data, "-U", DB_USER, "-A", "trust",
             "-E", "UTF8", "--no-locale", "--no-sync"],
            "initdb",
            **self._as_pg(),
        )
        port = free_port()
        # A unix socket path is limited to 107 bytes; without room, TCP only.
        sockets = self.pg_dir if len(self.pg_dir) < 80 else ""
        log_path = os.path.join(self.pg_dir, "postgres.log")
        self.pg_log = log_path
        self.pg_proc = self._spawn(
            "postgres",
            [os.path.join(self.pg_bin, "postgres"), "-D", data, "-p", str(port),
             "-c", "listen_addresses=127.0.0.1",
             "-c", f"unix_socket_directories={sockets}",
             "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
             "-c", "max_connections=400", "-c", "shared_buffers=128MB"],
            log_path,
            **self._as_pg(),
        )
        deadline = time.monotonic() + 60
        isready = [os.path.join(self.pg_bin, "pg_isready"), "-q", "-h", "127.0.0.1",
                   "-p", str(port), "-U", DB_USER]
        while subprocess.run(isready).returncode != 0:
            if self.pg_proc.poll() is not None:
                raise FleetError(f"postgres exited with {self.pg_proc.returncode}:\n{_tail(log_path)}")
            if time.monotonic() > deadline:
                raise FleetError(f"postgres not ready after 60s:\n{_tail(log_path)}")
            time.sleep(0.2)
        self._run(
            [os.path.join(self.pg_bin, "createdb"), "-h", "127.0.0.1", "-p", str(port),
             "-U", DB_USER, DB_NAME],
            "createdb",
        )
        return f"postgresql+psycopg://{DB_USER}@127.0.0.1:{port}/{DB_NAME}"

    def _migrate(self, pg_uri):
        log_path = os.path.join(self.dir, "db-upgrade.log")
        r = subprocess.run(
            [self.python, "-m", "mlflow", "db", "upgrade", pg_uri],
            stdin=subprocess.DEVNULL, capture_output=True, text=True, env=server_env(),
        )
        with open(log_path, "w") as f:
            f.write(r.stdout + r.stderr)
        if r.returncode != 0:
            raise FleetError(f"mlflow db upgrade {pg_uri} failed:\n{r.stdout}{r.stderr}")

    def _start_servers(self, pg_uri):
        self.servers = [
            Server(pg_uri, python=self.python, workers=self.workers,
                   log_path=os.path.join(self.dir, f"server-{i}.log"),
                   artifacts_destination=self.artifacts, args=["--serve-artifacts"])
            for i in range(self.n_servers)
        ]
        try:
            start_all(self.servers)
        except ServerError as e:
            raise FleetError(str(e)) from None
        return [s.uri for s in self.servers]

    def _nginx_conf(self, port, server_uris):
        d = self.dir
        tmp = os.path.join(d, "nginx-tmp")
        for sub in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
            os.makedirs(os.path.join(tmp, sub), exist_ok=True)
        upstreams = "\n".join(
            f"        server {u.removeprefix('http://')} max_fails=0;" for u in server_uris)
        access = (f"access_log {d}/nginx-access.log fleet;" if self.access_log
                  else "access_log off;")
        # The master runs as root when we are root; its workers must reach self.dir too.
        user = "user root;\n" if os.geteuid() == 0 else ""
        return f"""# Generated by scripts/fleet.py
{user}daemon off;
master_process on;
worker_processes 2;
pid {d}/nginx.pid;
error_log {d}/nginx-error.log warn;
events {{ worker_connections 4096; }}
http {{
    # Which server answered each request: upstream=127.0.0.1:PORT.
    log_format fleet '$remote_addr [$time_local] "$request" $status $body_bytes_sent '
                     'upstream=$upstream_addr rt=$request_time';
    {access}
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    client_max_body_size 0;
    upstream mlflow {{
{upstreams}
        keepalive 64;
    }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://mlflow;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $http_host;
            proxy_request_buffering off;
            proxy_buffering off;
            proxy_read_timeout 600s;
            proxy_send_timeout 600s;
        }}
    }}
}}
"""

    def _start_nginx(self, server_uris):
        for _ in range(3):  # a port picked free can be taken before nginx binds it
            port = free_port()
            conf = os.path.join(self.dir, "nginx.conf")
            with open(conf, "w") as f:
                f.write(self._nginx_conf(port, server_uris))
            log_path = os.path.join(self.dir, "nginx.log")
            self.nginx_proc = self._spawn(
                "nginx",
                [self.nginx_bin, "-p", self.dir, "-c", conf,
                 "-e", os.path.join(self.dir, "nginx-error.log")],
                log_path,
            )
            uri = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                if healthy(uri):
                    return uri
                if self.nginx_proc.poll() is not None:
                    break
                time.sleep(0.1)
            err = _tail(log_path) + _tail(os.path.join(self.dir, "nginx-error.log"))
            self._stop_proc(self.nginx_proc, signal.SIGTERM)
            self.nginx_proc = None
            if "Address already in use" not in err:
                raise FleetError(f"nginx did not answer /health at {uri}:\n{err}")
        raise FleetError("nginx found no free port in 3 tries")

    # -- stop ----------------------------------------------------------------------
    @staticmethod
    def _stop_proc(p, sig=signal.SIGTERM, group=True):
        if p is None or p.poll() is not None:
            return
        def send(s):
            try:
                if group:
                    os.killpg(p.pid, s)
                else:
                    p.send_signal(s)
            except ProcessLookupError:
                pass
        send(sig)
        try:
            p.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            send(signal.SIGKILL)
            p.wait()

    def stop(self):
        """Stops nginx, the servers and postgres, and removes the database and temp data."""
        if self.nginx_proc is not None:
            self._stop_proc(self.nginx_proc, signal.SIGTERM)
            self.nginx_proc = None
        for server in reversed(self.servers):
            server.terminate()
        for server in reversed(self.servers):
            server.stop()
        self.servers = []
        if self.pg_proc is not None:
            if self.pg_proc.poll() is None:
                subprocess.run(
                    [os.path.join(self.pg_bin, "pg_ctl"), "stop", "-m", "fast", "-w", "-D",
                     os.path.join(self.pg_dir, "data")],
                    capture_output=True, **self._as_pg(),
                )
            self._stop_proc(self.pg_proc, signal.SIGTERM, group=False)
            self.pg_proc = None
        if self.pg_dir:
            shutil.rmtree(self.pg_dir, ignore_errors=True)
            self.pg_dir = None
        if self._made_dir and self.dir:
            shutil.rmtree(self.dir, ignore_errors=True)
            self._made_dir = False

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()


class _Stop(Exception):
    pass


def _on_signal(signum, frame):
    raise _Stop(signum)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dir", help="folder for logs, config and artifacts (default: a temp dir, removed at the end)")
    ap.add_argument("--servers", type=int, default=2, help="mlflow server processes (default 2)")
    ap.add_argument("--workers", type=int, default=1, help="--workers of each server (default 1)")
    ap.add_argument("--python", default=sys.executable, help="python with mlflow and psycopg (default: this one)")
    ap.add_argument("--no-access-log", action="store_true", help="nginx access log off (benches)")
    ap.add_argument("--ignore-stdin", action="store_true", help="stay up until SIGTERM/SIGINT only")
    ap.add_argument("--check", action="store_true", help="only report what is missing (exit 3 if anything)")
    args = ap.parse_args(argv)

    if args.check:
        problems = missing(args.python)
        for p in problems:
            print(f"missing: {p}", file=sys.stderr)
        return 3 if problems else 0

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGHUP, _on_signal)
    fleet = Fleet(dir=args.dir, servers=args.servers, workers=args.workers,
                  python=args.python, access_log=not args.no_access_log)
    try:
        info = fleet.start()
    except FleetError as e:
        print(f"fleet: error: {e}", file=sys.stderr, flush=True)
        return 2
    except _Stop:
        return 1  # start() has stopped what it started
    try:
        print(json.dumps(info), flush=True)
        if args.ignore_stdin:
            while True:
                signal.pause()
        else:
            # Until stdin closes (the parent is gone or done with us).
            while os.read(sys.stdin.fileno(), 65536):
                pass
    except _Stop:
        pass
    finally:
        # No second signal may interrupt the teardown.
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        fleet._say("stopping")
        fleet.stop()
        fleet._say("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
