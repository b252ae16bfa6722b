"""Benchmark: p50/p99 of departures at the busiest NYC subway stop and of stops-near queries.

Imports NYC subway 2018 into a scratch PostgreSQL database (and SQLite with ``--sqlite``), then
times the query services the API views call, next to a trivial endpoint (``GET /healthz``
through the Flask test client) measured in the same run as the baseline.

    .venv/bin/python bench/transit_queries.py [--runs 300] [--sqlite]
"""

from __future__ import annotations

import argparse
import random
import secrets
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app import create_app  # noqa: E402
from app.db import db  # noqa: E402
from app.migrate import upgrade  # noqa: E402
from providers.fetch import Payload  # noqa: E402
from providers.sync import import_payload  # noqa: E402
from providers.transit import queries  # noqa: E402
from providers.transit.models import TransitPatternStop  # noqa: E402

NYC = ROOT.parent / "shared" / "data" / "gtfs" / "nyc-subway-2018" / "nyc_subway.zip"
NY = ZoneInfo("America/New_York")


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    p50 = statistics.median(ordered)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return p50 * 1000, p99 * 1000


def timed(fn, runs: int) -> list[float]:
    fn()  # warm caches and connections
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return samples


def bench(url: str, label: str, runs: int, instance: str) -> list[tuple[str, float, float]]:
    app = create_app({"DATABASE_URL": url, "INSTANCE_PATH": instance, "LOG_LEVEL": "WARNING",
                      "REDIS_URL": ""})
    upgrade(db.state(app).engine)
    rows = []
    with app.app_context():
        session = db.session()
        outcome = import_payload(session, provider="nyc", format_name="gtfs", config={},
                                 payload=Payload(NYC.read_bytes(), str(NYC)))
        assert outcome.ok, outcome.message
        version = outcome.feed_version_id
        # Departures per stop: 4 bytes each in its pattern stops' departure arrays.
        departures_at = sa.func.sum(sa.func.length(TransitPatternStop.departure_secs)) / 4
        busiest = session.execute(
            sa.select(TransitPatternStop.stop_id, departures_at)
            .where(TransitPatternStop.feed_version_id == version)
            .group_by(TransitPatternStop.stop_id)
            .order_by(departures_at.desc(), TransitPatternStop.stop_id).limit(1)
        ).first()
        stop = f"nyc:{busiest[0]}"
        live = app.extensions["mobihub.live"].client
        rng = random.Random(7)

        def departures() -> None:
            at = datetime(2018, 9, rng.randint(3, 28), rng.randint(5, 23), rng.randint(0, 59),
                          tzinfo=NY)
            result = queries.departures(session, live, stop, at=at, window_minutes=60,
                                        limit=20)
            assert result["items"]

        def near() -> None:
            lat, lon = 40.70 + rng.random() * 0.12, -74.01 + rng.random() * 0.1
            queries.list_stops(session, lat=lat, lon=lon, radius=800, limit=20)

        client = app.test_client()

        def trivial() -> None:
            client.get("/healthz")

        for name, fn in (("trivial GET /healthz", trivial),
                         (f"departures at {stop} ({int(busiest[1]):,} stop times)", departures),
                         ("stops near (800 m)", near)):
            p50, p99 = percentiles(timed(fn, runs))
            rows.append((f"{label}: {name}", p50, p99))
    db.state(app).engine.dispose()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=300)
    parser.add_argument("--sqlite", action="store_true", help="also bench SQLite")
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()
    admin = sa.create_engine(args.pg.replace("postgresql://", "postgresql+psycopg://"),
                             isolation_level="AUTOCOMMIT")
    dbname = f"mobihub_bench_{secrets.token_hex(3)}"
    with admin.connect() as c:
        c.exec_driver_sql(f'CREATE DATABASE "{dbname}"')
    rows = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            rows += bench(args.pg.rsplit("/", 1)[0] + f"/{dbname}", "PostgreSQL", args.runs,
                          f"{tmp}/pg")
            if args.sqlite:
                rows += bench(f"sqlite:///{tmp}/q.sqlite3", "SQLite", args.runs, f"{tmp}/lite")
    finally:
        with admin.connect() as c:
            c.exec_driver_sql(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
    print(f"{'query':<70} {'p50 ms':>8} {'p99 ms':>8}")
    for name, p50, p99 in rows:
        print(f"{name:<70} {p50:>8.2f} {p99:>8.2f}")


if __name__ == "__main__":
    main()
