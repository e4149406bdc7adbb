"""Raw HTTP posters with no client library (stdlib http.client), for the server's own limits.

    poster.py floor URL [--fresh]
        Posts exactly the requests the seed sweep needs (experiment lookup; per parent:
        create with its tags, per child: create with its tags, one log-batch, update; update
        the parent), one at a time. --fresh opens a new connection per request instead of
        keeping one alive.
    poster.py ceiling URL --requests R --concurrency C [--points 1000]
        Posts R prebuilt log-batch bodies of 1000 metric points into one run, from C threads
        (C connections, kept alive), as fast as the server answers.

Prints one JSON line.
"""

import argparse
import http.client
import json
import socket
import sys
import threading
import time
import urllib.parse

API = "/api/2.0/mlflow/"


class OneSendConnection(http.client.HTTPConnection):
    """Sends the request line, headers and body in one write, as client libraries do; the
    stdlib's two writes would meet the server's delayed ACK on a kept-alive connection and
    measure that instead of the server."""

    def _send_output(self, message_body=None, encode_chunked=False):
        self._buffer.extend((b"", b""))
        msg = b"\r\n".join(self._buffer)
        del self._buffer[:]
        self.send(msg + (message_body or b""))


class Conn:
    def __init__(self, url, fresh):
        u = urllib.parse.urlparse(url)
        self.host, self.port, self.fresh = u.hostname, u.port, fresh
        self.c = None
        self.count = 0

    def _connect(self):
        c = OneSendConnection(self.host, self.port, timeout=120)
        c.connect()
        c.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return c

    def call(self, method, path, body=None):
        if self.c is None or self.fresh:
            if self.c is not None:
                self.c.close()
            self.c = self._connect()
        data = body if isinstance(body, (bytes, type(None))) else json.dumps(body).encode()
        headers = {"Content-Type": "application/json"}
        if not self.fresh:
            headers["Connection"] = "keep-alive"
        self.c.request(method, API + path, body=data, headers=headers)
        r = self.c.getresponse()
        payload = r.read()
        self.count += 1
        if r.status != 200 and not (r.status == 404 and "get-by-name" in path):
            sys.exit(f"{method} {path}: HTTP {r.status}: {payload[:300]!r}")
        return json.loads(payload or b"{}"), r.status


def now_ms():
    return int(time.time() * 1000)


def tags(d):
    return [{"key": k, "value": v} for k, v in d.items()]


def floor(url, fresh):
    c = Conn(url, fresh)
    start = time.perf_counter()
    name = "Nested Child Association"
    got, status = c.call("GET", "experiments/get-by-name?experiment_name=" + urllib.parse.quote(name))
    if status == 404:
        exp_id = c.call("POST", "experiments/create", {"name": name})[0]["experiment_id"]
    else:
        exp_id = got["experiment"]["experiment_id"]
    system = {"mlflow.user": "bench", "mlflow.source.name": "poster", "mlflow.source.type": "LOCAL"}
    for x in range(5):
        pname = f"parent_run_test_default_{x}"
        parent = c.call("POST", "runs/create", {
            "experiment_id": exp_id, "run_name": pname, "start_time": now_ms(), "user_id": "bench",
            "tags": tags({**system, "mlflow.runName": pname, "test_identifier": "default"}),
        })[0]["run"]["info"]["run_id"]
        for i in range(5):
            cname = f"run_{i}_test_{x}"
            child = c.call("POST", "runs/create", {
                "experiment_id": exp_id, "run_name": cname, "start_time": now_ms(), "user_id": "bench",
                "tags": tags({**system, "mlflow.parentRunId": parent, "mlflow.runName": cname,
                              "test_identifier": "default"}),
            })[0]["run"]["info"]["run_id"]
            ts = now_ms()
            c.call("POST", "runs/log-batch", {
                "run_id": child,
                "params": [{"key": "param1", "value": "x"}, {"key": "param2", "value": "u"}],
                "metrics": [{"key": "metric1", "value": 0.5, "timestamp": ts, "step": 0},
                            {"key": "metric2", "value": 4.2, "timestamp": ts, "step": 0}],
            })
            c.call("POST", "runs/update", {"run_id": child, "status": "FINISHED", "end_time": now_ms()})
        c.call("POST", "runs/update", {"run_id": parent, "status": "FINISHED", "end_time": now_ms()})
    total = time.perf_counter() - start
    print(json.dumps({"mode": "floor", "fresh": fresh, "requests": c.count, "total_s": total}))


def ceiling(url, requests, concurrency, points):
    # The server drops idle kept-alive connections after a few seconds: a new one per setup call.
    setup = Conn(url, True)
    got, status = setup.call("GET", "experiments/get-by-name?experiment_name=bench-ceiling")
    if status == 404:
        exp_id = setup.call("POST", "experiments/create", {"name": "bench-ceiling"})[0]["experiment_id"]
    else:
        exp_id = got["experiment"]["experiment_id"]
    run_id = setup.call("POST", "runs/create", {"experiment_id": exp_id, "start_time": now_ms(),
                                                "run_name": f"ceiling-c{concurrency}"})[0]["run"]["info"]["run_id"]
    ts = now_ms()
    bodies = [json.dumps({"run_id": run_id, "metrics": [
        {"key": "loss", "value": 0.001 * s, "timestamp": ts, "step": s}
        for s in range(r * points, (r + 1) * points)]}).encode() for r in range(requests)]
    lock = threading.Lock()
    queue = list(reversed(bodies))

    def worker():
        c = Conn(url, False)
        while True:
            with lock:
                if not queue:
                    return
                body = queue.pop()
            c.call("POST", "runs/log-batch", body)

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    total = time.perf_counter() - start
    setup.call("POST", "runs/update", {"run_id": run_id, "status": "FINISHED", "end_time": now_ms()})
    n = requests * points
    print(json.dumps({"mode": "ceiling", "concurrency": concurrency, "n": n, "total_s": total,
                      "per_s": n / total, "ms_per_request": 1000 * total / requests}))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=["floor", "ceiling"])
    p.add_argument("url")
    p.add_argument("--fresh", action="store_true")
    p.add_argument("--requests", type=int, default=100)
    p.add_argument("--concurrency", type=int, default=1)
    p.add_argument("--points", type=int, default=1000)
    a = p.parse_args()
    if a.mode == "floor":
        floor(a.url, a.fresh)
    else:
        ceiling(a.url, a.requests, a.concurrency, a.points)


main()
