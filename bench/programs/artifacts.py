"""Artifact transfers of a large file, the Rust client and the Python client side by side, on
the same setup (issue 23): direct S3 (a server handing out s3:// URIs), proxied without
multipart, and proxied with multipart (MLFLOW_ENABLE_PROXY_MULTIPART_UPLOAD). For each: the
upload and download time and the client process's peak RSS; for the Rust client also how
long metrics logged from another thread waited to be stored while the file moved.

Needs: the pinned MLflow's venv with boto3 (run with its python), moto's venv
(--moto-python, see scripts/pins.env MOTO_VERSION), and the Rust example built:

    cargo build --release --features s3 --example bench_artifacts
    ~/.cache/mlflow-tracking-tests/venv-mlflow-3.17.2/bin/python bench/programs/artifacts.py \
        --moto-python ~/.cache/mlflow-tracking-tests/venv-moto-5.2.1/bin/python \
        --rust-bin target/release/examples/bench_artifacts --size-mb 1024

The file is made in a temporary folder and removed at the end (so are the downloads and
moto's copy: moto keeps objects in memory, so the machine needs about three times the
file's size of free memory for the proxied runs). Prints a Markdown table.
"""

import argparse
import json
import os
import resource
import shutil
import socket
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
import json, os, resource, sys, tempfile, time
import mlflow
from mlflow import MlflowClient
path, dest = sys.argv[1], sys.argv[2]
mlflow.set_experiment("bench-artifacts-py")
with mlflow.start_run() as run:
    t = time.perf_counter()
    mlflow.log_artifact(path)
    up = time.perf_counter() - t
t = time.perf_counter()
MlflowClient().download_artifacts(run.info.run_id, os.path.basename(path), dest)
down = time.perf_counter() - t
print(json.dumps({"upload_s": up, "download_s": down,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_moto(python, work):
    port = free_port()
    proc = subprocess.Popen([python, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                            stdout=open(work / "moto.log", "w"), stderr=subprocess.STDOUT)
    endpoint = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if time.time() > deadline:
                raise SystemExit("moto did not start")
            time.sleep(0.2)
    subprocess.run([python, "-c", (
        "import boto3; boto3.client('s3', endpoint_url=%r, region_name='us-east-1', "
        "aws_access_key_id='k', aws_secret_access_key='s').create_bucket(Bucket='bench')"
    ) % endpoint], check=True)
    return proc, endpoint


def run_client(cmd, env):
    started = time.perf_counter()
    out = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"{cmd[0]} failed:\n{out.stdout}\n{out.stderr}")
    last = [l for l in out.stdout.splitlines() if l.strip()][-1]
    result = json.loads(last)
    result["wall_s"] = time.perf_counter() - started
    return result


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--moto-python", required=True)
    ap.add_argument("--rust-bin", required=True)
    ap.add_argument("--size-mb", type=int, default=1024)
    ap.add_argument("--paths", default="direct,proxied,multipart")
    ap.add_argument("--clients", default="rust,python",
                    help="rust, python or both (a 2 GB run of the Rust client alone needs less memory)")
    a = ap.parse_args()

    work = Path(tempfile.mkdtemp(prefix="mlflow-bench-artifacts-"))
    moto, endpoint = start_moto(a.moto_python, work)
    rows = []
    try:
        big = work / "checkpoint.bin"
        with open(big, "wb") as f:
            block = os.urandom(1 << 20)
            for _ in range(a.size_mb):
                f.write(block)
        s3_env = {"AWS_ACCESS_KEY_ID": "k", "AWS_SECRET_ACCESS_KEY": "s",
                  "AWS_DEFAULT_REGION": "us-east-1", "MLFLOW_S3_ENDPOINT_URL": endpoint}
        for path in a.paths.split(","):
            d = work / path
            d.mkdir()
            kwargs = {"default_artifact_root": f"s3://bench/{path}", "args": ["--no-serve-artifacts"]} \
                if path == "direct" else {"artifacts_destination": f"s3://bench/{path}"}
            server = mlflow_server.Server(f"sqlite:///{d}/m.db", log_path=d / "server.log",
                                          extra_env=s3_env, **kwargs)
            server.start()
            try:
                env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
                env.update(s3_env)
                env["MLFLOW_TRACKING_URI"] = server.uri
                env["MLFLOW_DISABLE_TELEMETRY"] = "true"
                if path == "multipart":
                    env["MLFLOW_ENABLE_PROXY_MULTIPART_UPLOAD"] = "true"
                    # In parts whatever --size-mb says (the default minimum is 500 MiB).
                    env["MLFLOW_MULTIPART_UPLOAD_MINIMUM_FILE_SIZE"] = str(5 << 20)
                clients = (("rust", [a.rust_bin, str(big), str(d / "rust-dl")]),
                           ("python", [sys.executable, "-c", PY_CLIENT, str(big),
                                       str(d / "py-dl")]))
                for client, cmd in (c for c in clients if c[0] in a.clients.split(",")):
                    r = run_client(cmd, env)
                    r.update(path=path, client=client)
                    rows.append(r)
                    print(json.dumps(r), file=sys.stderr, flush=True)
                    shutil.rmtree(d / f"{'rust' if client == 'rust' else 'py'}-dl", ignore_errors=True)
            finally:
                server.stop()
    finally:
        moto.terminate()
        moto.wait()
        shutil.rmtree(work, ignore_errors=True)

    print(f"\n{a.size_mb} MiB file, moto on loopback\n")
    print("| path | client | upload s | download s | peak RSS MB | metric wait p50 / p99 / max ms "
          "(idle p50 / p99) |")
    print("| --- | --- | --- | --- | --- | --- |")
    for r in rows:
        w = r.get("metric_wait_ms")
        i = r.get("idle_wait_ms")
        waits = (f"{w['p50']:.0f} / {w['p99']:.0f} / {w['max']:.0f} (n={w['n']}; idle "
                 f"{i['p50']:.0f} / {i['p99']:.0f})") if w else "-"
        print(f"| {r['path']} | {r['client']} | {r['upload_s']:.1f} | {r['download_s']:.1f} | "
              f"{r['peak_rss_mb']:.0f} | {waits} |")


if __name__ == "__main__":
    main()
