"""Gateway benchmark: the hub under gunicorn (2 workers) driven by wrk, in one run.

    .venv/bin/python bench/gateway.py [--duration 10] [--connections 32]

(a) the endpoint with the gateway off; (b) the same plus one pipelined Redis call and no auth
(the physical floor of "count every call": one HINCRBY, cheaper on the server than the
admission script, written on a pooled connection exactly as the gateway writes its script, so
(b) and (c) differ only by the gateway's own work; (p) is the same call through a redis-py
pipeline, as (b) was measured before); (c) the gateway with an API key; (d) with a JWT
access token; (e) nginx (Debian) with auth_request and limit_req in front of (a). Prints req/s
and p99 for each and the ratios c/b, d/b (target >= 0.85) and c/e (target > 1).
All five servers run side by side with the same settings (gunicorn gthread, 2 workers x 4
threads) and are driven in round robin (``--rounds``), reporting medians, because on a shared
machine the load drifts during a run and a fixed order would bias one set-up. Each set-up's
CPU per request (its own processes from /proc, plus the Redis server's, which other users of
that server also move) is printed too, with the ratios it implies: a second view of the same
run, which names where a gap is (web workers or Redis); it too moves with other load.
Needs wrk and nginx (``apt-get install -y wrk nginx``), PostgreSQL is not needed (a scratch
SQLite file), Redis at MOBIHUB_BENCH_REDIS_URL (default redis://127.0.0.1:6379, a free DB index
is claimed like the test harness does). Loopback only.
"""

from __future__ import annotations

import argparse
import http.client
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.redis_claim import RedisClaimError, claimed_redis_db  # noqa: E402

ENDPOINT = "/parking/v1/bench/hello"


def create_bench_app() -> Any:
    """The hub plus a JSON hello endpoint under a metered product prefix."""
    from flask import Blueprint, jsonify, request

    from app import create_app

    application = create_app()
    blueprint = Blueprint("bench", __name__)

    @blueprint.get(ENDPOINT)
    def hello() -> Any:
        return jsonify(hello="world")

    @blueprint.get("/bench/auth")
    def auth() -> Any:
        # nginx auth_request target: the key checked by the same resolver, no metering.
        from app.gateway.hook import authenticate

        authenticate()
        return "", 204

    if os.environ.get("BENCH_FLOOR") == "1":
        # The floor: one Redis command per call, sent the way the gateway sends its admission
        # script (packed once, written on a pooled connection, one reply read), so (b) differs
        # from (c) only by the gateway's own work. BENCH_FLOOR=pipeline sends it through a
        # redis-py pipeline instead (more client work per call than the gateway's path).
        client = application.extensions["mobihub.live"].client
        pool = client.connection_pool
        command = b"".join(
            b"$%d\r\n%s\r\n" % (len(part), part)
            for part in (b"HINCRBY", b"mh:bench:floor", b"calls", b"1"))
        command = (b"*4\r\n" + command,)

        @application.before_request
        def one_redis_call() -> None:
            if request.path == ENDPOINT:
                connection = pool.get_connection()
                try:
                    connection.send_packed_command(command)
                    connection.read_response()
                finally:
                    pool.release(connection)

    if os.environ.get("BENCH_FLOOR") == "pipeline":
        client = application.extensions["mobihub.live"].client

        @application.before_request
        def one_pipelined_call() -> None:
            if request.path == ENDPOINT:
                pipe = client.pipeline(transaction=False)
                pipe.hincrby("mh:bench:floor", "calls", 1)
                pipe.execute()

    application.register_blueprint(blueprint)
    return application


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def prepare(env: dict[str, str]) -> tuple[str, str]:
    """Migrate the scratch database; create an app on an unlimited plan, a key and a JWT."""
    os.environ.update(env)
    from app import create_app
    from app.accounts import services as accounts
    from app.accounts.models import Plan
    from app.db import get_db
    from app.migrate import upgrade
    from app.oauth.services import create_client

    application = create_app()
    with application.app_context():
        upgrade(get_db().engine)
        session = get_db().session()
        session.add(Plan(slug="bench", name="bench", requests_per_second=10**6,
                         burst=10**6, monthly_quota=None, price_per_1000_calls_minor=0))
        organisation = accounts.create_organisation(session, "Bench", "bench@example.org")
        app = accounts.create_app(session, accounts.OPERATOR, organisation.id, "bench")
        accounts.subscribe(session, accounts.OPERATOR, app.id, "parking", "bench")
        key = accounts.issue_api_key(session, accounts.OPERATOR, app.id,
                                     scopes=["parking:read"]).raw
        client = create_client(session, accounts.OPERATOR, app.id)
        session.commit()
        response = application.test_client().post(
            "/oauth/token", data={"grant_type": "client_credentials", "scope": "parking:read"},
            auth=(client.client.client_id, client.secret))
        token = response.get_json()["access_token"]
    return key, token


def start_hub(port: int, env: dict[str, str]) -> subprocess.Popen:
    code = (f"import sys; sys.path.insert(0, {str(ROOT)!r}); "
            "from bench.gateway import create_bench_app; "
            "from app.server import run_gunicorn; run_gunicorn(create_bench_app, "
            f"host='127.0.0.1', port={port}, workers=2, threads=4)")
    process = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, env=env,
                               stderr=subprocess.DEVNULL)
    wait_for(port)
    return process


def wait_for(port: int) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
        try:
            connection.request("GET", "/healthz")
            if connection.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.2)
        finally:
            connection.close()
    raise SystemExit(f"server on {port} did not start")


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    process.wait(30)


def check(port: int, headers: dict[str, str]) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    connection.request("GET", ENDPOINT, headers=headers)
    response = connection.getresponse()
    response.read()
    connection.close()
    if response.status != 200:
        raise SystemExit(f"warm-up call answered {response.status}")


def children(pid: int) -> list[int]:
    """The live child processes of ``pid`` (gunicorn's workers, nginx's workers)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time of processes (from /proc), in seconds."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def redis_cpu_seconds(client: Any) -> float:
    info = client.info("cpu")
    return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])


def wrk(port: int, headers: dict[str, str], duration: int, connections: int
        ) -> tuple[float, float, int]:
    """``(req/s, p99 ms, requests)`` of one wrk run."""
    args = ["wrk", "-t2", f"-c{connections}", f"-d{duration}s", "--latency"]
    for name, value in headers.items():
        args += ["-H", f"{name}: {value}"]
    output = subprocess.run([*args, f"http://127.0.0.1:{port}{ENDPOINT}"], capture_output=True,
                            text=True, check=True).stdout
    if "Non-2xx" in output:
        raise SystemExit("wrk saw non-2xx answers:\n" + output)
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    value, unit = re.search(r"99%\s+([\d.]+)(us|ms|s)", output).groups()
    p99_ms = float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]
    return rps, p99_ms, int(re.search(r"(\d+) requests in", output).group(1))


NGINX_CONF = """
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  client_body_temp_path {dir}/body; proxy_temp_path {dir}/proxy;
  fastcgi_temp_path {dir}/fcgi; uwsgi_temp_path {dir}/uwsgi; scgi_temp_path {dir}/scgi;
  limit_req_zone $http_x_api_key zone=perkey:10m rate=1000000r/s;
  upstream hub {{ server 127.0.0.1:{upstream}; keepalive 64; }}
  server {{
    listen 127.0.0.1:{port};
    location = /_auth {{
      internal;
      proxy_pass http://hub/bench/auth;
      proxy_http_version 1.1; proxy_set_header Connection "";
      proxy_pass_request_body off; proxy_set_header Content-Length "";
    }}
    location / {{
      auth_request /_auth;
      limit_req zone=perkey burst=1000000 nodelay;
      proxy_pass http://hub;
      proxy_http_version 1.1; proxy_set_header Connection "";
    }}
  }}
}}
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=3,
                        help="round-robin passes over (a)..(e); medians are reported")
    options = parser.parse_args()
    for tool in ("wrk", "nginx"):
        if shutil.which(tool) is None and not Path(f"/usr/sbin/{tool}").exists():
            raise SystemExit(f"{tool} is missing: apt-get install -y wrk nginx")
    claim = ExitStack()
    try:
        redis_url = claim.enter_context(claimed_redis_db(
            os.environ.get("MOBIHUB_BENCH_REDIS_URL", "redis://127.0.0.1:6379"), 3600))
    except RedisClaimError as exc:
        raise SystemExit(str(exc)) from None
    scratch = Path(tempfile.mkdtemp(prefix="mobihub-bench-"))
    env = {**os.environ, "MOBIHUB_INSTANCE_PATH": str(scratch),
           "MOBIHUB_DATABASE_URL": f"sqlite:///{scratch / 'bench.sqlite3'}",
           "MOBIHUB_REDIS_URL": redis_url, "MOBIHUB_LOG_LEVEL": "WARNING",
           "MOBIHUB_USAGE_FLUSH_IN_WORKER": "off"}
    rounds: dict[str, list[tuple[float, float, int]]] = {}
    # CPU per request of the set-up's own processes (web workers; for (e) nginx too) and of the
    # Redis server: shows whether a gap is in the workers or in Redis.
    cpu: dict[str, list[tuple[float, float]]] = {}
    processes: list[subprocess.Popen] = []
    nginx: subprocess.Popen | None = None
    print(f"load average at start: {os.getloadavg()}", flush=True)
    try:
        key, jwt = prepare(env)
        setups = [
            ("a", "gateway off", {"MOBIHUB_GATEWAY_ENABLED": "false"}, {}),
            ("b", "off + 1 pipelined Redis call (floor)",
             {"MOBIHUB_GATEWAY_ENABLED": "false", "BENCH_FLOOR": "1"}, {}),
            ("p", "off + redis-py pipeline HINCRBY (b before)",
             {"MOBIHUB_GATEWAY_ENABLED": "false", "BENCH_FLOOR": "pipeline"}, {}),
            ("c", "gateway, API key", {}, {"X-API-Key": key}),
            ("d", "gateway, JWT", {}, {"Authorization": f"Bearer {jwt}"}),
        ]
        targets: dict[str, tuple[str, int, dict[str, str]]] = {}
        for label, title, extra, headers in setups:
            port = free_port()
            processes.append(start_hub(port, {**env, **extra}))
            targets[label] = (title, port, headers)
        # (e): nginx in front of the (a) server (the same settings, idle while others run).
        nginx_dir = scratch / "nginx"
        nginx_dir.mkdir()
        port = free_port()
        (nginx_dir / "nginx.conf").write_text(NGINX_CONF.format(dir=nginx_dir, port=port,
                                                                upstream=targets["a"][1]))
        nginx = subprocess.Popen(["nginx", "-c", str(nginx_dir / "nginx.conf"), "-g",
                                  "daemon off;"])
        time.sleep(0.5)
        targets["e"] = ("nginx auth_request + limit_req -> (a)", port, {"X-API-Key": key})
        for _title, port, headers in targets.values():
            check(port, headers)
            wrk(port, headers, 2, options.connections)  # warm-up
        # Round robin, so drifting machine load hits every set-up alike; the median is reported.
        import redis

        server = redis.Redis.from_url(redis_url)
        workers = {label: children(process.pid) for label, process in zip(targets, processes,
                                                                            strict=False)}
        workers["e"] = [nginx.pid, *children(nginx.pid), *workers["a"]]
        for number in range(1, options.rounds + 1):
            line = []
            for label, (_title, port, headers) in targets.items():
                before, redis_before = cpu_seconds(workers[label]), redis_cpu_seconds(server)
                result = wrk(port, headers, options.duration, options.connections)
                requests = max(1, result[2])
                cpu.setdefault(label, []).append(
                    ((cpu_seconds(workers[label]) - before) / requests * 1e6,
                     (redis_cpu_seconds(server) - redis_before) / requests * 1e6))
                rounds.setdefault(label, []).append(result)
                line.append(f"{label} {result[0]:6.0f}")
            print(f"round {number}: " + "  ".join(line) + " req/s", flush=True)
        for label, (title, _port, _headers) in targets.items():
            rps = statistics.median(r[0] for r in rounds[label])
            p99 = statistics.median(r[1] for r in rounds[label])
            own = statistics.median(r[0] for r in cpu[label])
            shared = statistics.median(r[1] for r in cpu[label])
            print(f"({label}) {title:40s} {rps:9.0f} req/s  p99 {p99:7.2f} ms  "
                  f"cpu {own:6.0f} + redis {shared:4.0f} us/req  (medians)")
        rate = {k: statistics.median(r[0] for r in v) for k, v in rounds.items()}
        print(f"c/b = {rate['c'] / rate['b']:.2f}  d/b = {rate['d'] / rate['b']:.2f}  "
              f"(target >= 0.85)   c/e = {rate['c'] / rate['e']:.2f}  (target > 1)")
        # The same ratios from CPU per request (capacity: the inverse of the CPU a call needs).
        # Redis is shared with other users of the server, so its share is approximate.
        need = {k: statistics.median(a + r for a, r in v) for k, v in cpu.items()}
        print(f"by CPU per request: c/b = {need['b'] / need['c']:.2f}  "
              f"d/b = {need['b'] / need['d']:.2f}  c/e = {need['e'] / need['c']:.2f}")
        print(f"load average at end: {os.getloadavg()}")
    finally:
        if nginx is not None:
            nginx.terminate()
            nginx.wait(10)
        for process in processes:
            stop(process)
        claim.close()  # flushes and releases the claimed DB index
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
