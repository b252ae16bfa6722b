"""Feed versions through the real sync: concurrent imports and what is kept of rejections."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import sqlalchemy as sa

from app.db import Database
from app.migrate import upgrade
from providers.models import Feed, FeedVersion, Provider
from providers.sync import KEEP_REJECTED
from tests.conftest import fresh_database
from tests.providers.transit.factories import BASE_FEED, gtfs_zip, import_gtfs_bytes


def _feed_with_extra_stop(n: int) -> bytes:
    return gtfs_zip({"stops.txt": BASE_FEED["stops.txt"] + f"X{n},Extra {n},40.7,-73.9,0,\n"})


def _import_at_once(engine: sa.Engine, payloads: list[bytes], provider: str) -> list[str]:
    """Import every payload for ``provider`` from its own thread and session, all together."""
    start = threading.Barrier(len(payloads))

    def run(content: bytes) -> str:
        with sa.orm.Session(engine) as session:
            start.wait()
            return import_gtfs_bytes(session, content, provider=provider).status

    with ThreadPoolExecutor(len(payloads)) as pool:
        return list(pool.map(run, payloads))


def test_rejected_versions_beyond_the_last_few_are_pruned(session):
    good = import_gtfs_bytes(session, gtfs_zip())
    rejected = [import_gtfs_bytes(session, gtfs_zip({"stops.txt": f"broken {n}"}))
                for n in range(KEEP_REJECTED + 3)]
    assert {r.status for r in rejected} == {"rejected"}
    kept = session.scalars(sa.select(FeedVersion.id).where(FeedVersion.status == "rejected")
                           .order_by(FeedVersion.id)).all()
    assert kept == [r.feed_version_id for r in rejected[-KEEP_REJECTED:]]
    feed = session.scalar(sa.select(Feed).where(Feed.format == "gtfs"))
    assert feed.active_version_id == good.feed_version_id


def test_concurrent_imports_of_one_feed_leave_exactly_one_active_version(make_app, tmp_path):
    with fresh_database(tmp_path, "concurrent_versions") as url:
        engine = Database.state(make_app(DATABASE_URL=url, REDIS_URL="")).engine
        upgrade(engine)
        with sa.orm.Session(engine) as session:
            assert import_gtfs_bytes(session, gtfs_zip(), provider="busy").ok
        for round_ in range(3):
            statuses = _import_at_once(
                engine, [_feed_with_extra_stop(10 * round_ + n) for n in range(3)], "busy")
            assert statuses == ["imported"] * 3
        with sa.orm.Session(engine) as session:
            feed = session.scalars(sa.select(Feed)).one()
            active = session.scalars(sa.select(FeedVersion.id).where(
                FeedVersion.status == "active")).all()
            assert active == [feed.active_version_id]
        engine.dispose()


def test_concurrent_first_imports_of_a_new_provider_share_one_provider_and_feed(
        make_app, tmp_path):
    with fresh_database(tmp_path, "concurrent_provider") as url:
        engine = Database.state(make_app(DATABASE_URL=url, REDIS_URL="")).engine
        upgrade(engine)
        for round_ in range(3):
            statuses = _import_at_once(engine, [gtfs_zip({"stops.txt": None})] * 4,
                                       f"new provider {round_}")
            assert statuses == ["rejected"] * 4
        with sa.orm.Session(engine) as session:
            assert session.scalar(sa.select(sa.func.count()).select_from(Provider)) == 3
            assert session.scalar(sa.select(sa.func.count()).select_from(Feed)) == 3
        engine.dispose()
