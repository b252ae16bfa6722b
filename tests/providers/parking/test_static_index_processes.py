"""A worker's in-memory parking index follows a version another process activates.

The worker here is an in-process hub on a committed database of its own (the per-test
rollback cannot reach another process); the other process is ``mobihub feeds import``.
"""

import json
import os
import subprocess

import pytest
import yaml

from app.db import Database, db
from app.migrate import upgrade
from tests.conftest import PROJECT_ROOT, fresh_database
from tests.factories.parking import LOT_MAPPING, lot

pytestmark = pytest.mark.slow
MOBIHUB = os.path.join(PROJECT_ROOT, ".venv", "bin", "mobihub")


@pytest.fixture
def worker(tmp_path, redis_url):
    """A hub (gateway off) on a fresh committed database, and a runner of ``mobihub``."""
    from app import create_app

    (tmp_path / "db").mkdir()
    with fresh_database(tmp_path / "db", "index") as url:
        application = create_app({"TESTING": True, "DATABASE_URL": url, "REDIS_URL": redis_url,
                                  "GATEWAY_ENABLED": False, "LOG_LEVEL": "WARNING",
                                  "INSTANCE_PATH": str(tmp_path / "worker")})
        upgrade(Database.state(application).engine)
        env = {**os.environ, "MOBIHUB_DATABASE_URL": url, "MOBIHUB_REDIS_URL": redis_url,
               "MOBIHUB_LOG_LEVEL": "WARNING", "MOBIHUB_INSTANCE_PATH": str(tmp_path / "cli")}

        def mobihub(*args):
            done = subprocess.run([MOBIHUB, *args], env=env, cwd=PROJECT_ROOT,
                                  capture_output=True, text=True, timeout=120, check=False)
            assert done.returncode == 0, done.stdout + done.stderr

        yield application, mobihub
        with application.app_context():
            db.session.remove()
        Database.state(application).engine.dispose()


def test_near_answers_from_the_version_another_process_activated(worker, tmp_path):
    application, mobihub = worker
    (tmp_path / "mapping.yaml").write_text(yaml.safe_dump(LOT_MAPPING))

    def publish(*lots):
        path = tmp_path / "lots.geojson"
        path.write_text(json.dumps({"type": "FeatureCollection", "features": list(lots)}))
        mobihub("feeds", "import", str(path), "--provider", "othercity", "--format", "geojson",
                "--mapping", str(tmp_path / "mapping.yaml"))

    client = application.test_client()

    def near(lat, lon):
        response = client.get(f"/parking/v1/facilities?lat={lat}&lon={lon}&radius=500")
        assert response.status_code == 200, response.get_data(as_text=True)
        return [item["id"] for item in response.get_json()["items"]]

    publish(lot("a", 50.0, 7.0), lot("b", 50.001, 7.0))
    assert near(50.0, 7.0) == ["othercity:a", "othercity:b"]  # builds the worker's index

    publish(lot("a", 50.0, 7.0), lot("b", 51.0, 8.0), lot("c", 50.0005, 7.0))
    assert near(50.0, 7.0) == ["othercity:a", "othercity:c"]
    assert near(51.0, 8.0) == ["othercity:b"]
