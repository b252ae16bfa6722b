"""``mobihub serve`` runs the hub under gunicorn on the embedded default."""

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

MOBIHUB = str(Path(sys.executable).with_name("mobihub"))


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _get(url: str) -> tuple[int, str, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - loopback only
            return response.status, response.headers["Content-Type"], response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers["Content-Type"], error.read()


@pytest.mark.slow
def test_serve_answers_health_docs_and_problem_json(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("MOBIHUB_")}
    env["MOBIHUB_INSTANCE_PATH"] = str(tmp_path)
    subprocess.run([MOBIHUB, "db", "upgrade"], env=env, check=True, capture_output=True)
    port = _free_port()
    server = subprocess.Popen([MOBIHUB, "serve", "--port", str(port)], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                status, _, _ = _get(f"{base}/healthz")
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise
                time.sleep(0.2)
        assert status == 200
        status, content_type, body = _get(f"{base}/readyz")
        assert status == 200
        assert b'"backend":"sqlite"' in body
        assert b'"kind":"embedded"' in body
        status, content_type, _ = _get(f"{base}/docs")
        assert (status, content_type) == (200, "text/html; charset=utf-8")
        status, content_type, _ = _get(f"{base}/definitely/not/here")
        assert (status, content_type) == (404, "application/problem+json")
    finally:
        server.terminate()
        server.wait(timeout=20)
