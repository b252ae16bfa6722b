"""Interleaved A/B of the GTFS import between checkouts (tuning the import on a noisy machine).

Each round imports the feed once per checkout, each in a fresh process running that checkout's
code: the real sync into a fresh database, timed like ``bench/gtfs_import.py`` (from the payload
in memory to the commit), after a warm-up import of Caltrain's small feed. Rounds alternate the
checkouts, so a burst of load on the machine hits all of them; the medians are what to compare
(differences under about 20 ms are noise on a shared 2-core machine). Compare the current work
against a commit with a worktree beside this one (``../shared`` must sit beside every checkout):

    git worktree add ../base HEAD~1 && ln -s "$PWD/.venv" ../base/.venv
    .venv/bin/python bench/import_ab.py . ../base [--feed nyc] [--db sqlite] [--rounds 8]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
from pathlib import Path

FEEDS = {"hart": "gtfs/hart-tampa/hart.zip", "nyc": "gtfs/nyc-subway-2018/nyc_subway.zip"}

# Run in the checkout's own directory: its code, migrations and modules, imported before the
# clock starts (as gtfs_import.py does).
CHILD = r"""
import resource, secrets, sys, tempfile, time
from pathlib import Path
sys.path.insert(0, ".")
from app import create_app
from app.db import db
from app.migrate import upgrade
from providers.fetch import Payload
from providers.sync import import_payload
import sqlalchemy as sa

feed, kind, admin_url = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
warm_up = feed.parent.parent / "caltrain" / "ct.zip"
tmp = tempfile.mkdtemp()
if kind == "pg":
    admin = sa.create_engine(admin_url.replace("postgresql://", "postgresql+psycopg://"),
                             isolation_level="AUTOCOMMIT")
    name = "mobihub_ab_" + secrets.token_hex(3)
    with admin.connect() as c:
        c.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = admin_url.rsplit("/", 1)[0] + "/" + name
else:
    url = f"sqlite:///{tmp}/ab.sqlite3"
app = create_app({"DATABASE_URL": url, "INSTANCE_PATH": tmp, "LOG_LEVEL": "WARNING",
                  "REDIS_URL": ""})
upgrade(db.state(app).engine)


def cpu():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


with app.app_context():
    # A small feed first: what a process pays once (lazy imports: numpy, Arrow, and pandas when
    # installed, which pyarrow.array() imports to check its argument) is not the import's time.
    import_payload(db.session(), provider="warm-up", payload=Payload(warm_up.read_bytes(),
                   str(warm_up)), format_name="gtfs", config={})
    payload = Payload(feed.read_bytes(), str(feed))
    start, used = time.perf_counter(), cpu()
    outcome = import_payload(db.session(), provider="ab", payload=payload, format_name="gtfs",
                             config={})
    print(time.perf_counter() - start, cpu() - used)
    assert outcome.ok, outcome.message
db.state(app).engine.dispose()
if kind == "pg":
    with admin.connect() as c:
        c.exec_driver_sql(f'DROP DATABASE "{name}"')
"""


def run_once(checkout: Path, feed: Path, kind: str, admin_url: str) -> tuple[float, float]:
    """(wall s, CPU s) of one import by ``checkout``'s code, in a fresh process."""
    done = subprocess.run([sys.executable, "-c", CHILD, str(feed), kind, admin_url],
                          cwd=checkout, capture_output=True, text=True, env=os.environ.copy())
    if done.returncode:
        raise SystemExit(f"{checkout}: the import failed\n{done.stderr[-3000:]}")
    wall, cpu = done.stdout.split()[-2:]
    return float(wall), float(cpu)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("checkouts", nargs="+", type=Path)
    parser.add_argument("--feed", choices=sorted(FEEDS), default="nyc")
    parser.add_argument("--db", choices=("sqlite", "pg"), default="sqlite")
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()
    checkouts = [path.resolve() for path in args.checkouts]
    feed = checkouts[0].parent / "shared" / "data" / FEEDS[args.feed]
    results: dict[Path, list[tuple[float, float]]] = {path: [] for path in checkouts}
    for _ in range(args.rounds):
        for path in checkouts:
            results[path].append(run_once(path, feed, args.db, args.pg))
    print(f"{args.feed} on {args.db}, {args.rounds} interleaved rounds")
    print(f"{'checkout':40s} {'wall median':>12s} {'wall min':>9s} {'CPU median':>11s}")
    for path, runs in results.items():
        walls, cpus = [wall for wall, _ in runs], [cpu for _, cpu in runs]
        print(f"{str(path)[-40:]:40s} {statistics.median(walls):12.3f} {min(walls):9.3f} "
              f"{statistics.median(cpus):11.3f}")


if __name__ == "__main__":
    main()
