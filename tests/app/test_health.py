"""Liveness and readiness."""

from app.db import db


def test_healthz_answers_ok(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


def test_readyz_reports_database_backend_and_real_redis(client, app):
    response = client.get("/readyz")
    body = response.get_json()
    assert response.status_code == 200
    assert body["status"] == "ready"
    assert body["database"] == {"ok": True, "backend": db.engine.dialect.name}
    assert body["redis"] == {"ok": True, "kind": "redis"}


def test_readyz_is_503_with_detail_when_redis_is_unreachable(make_app):
    # Port 1 on loopback: nothing listens there, so the connection is refused at once.
    broken = make_app(REDIS_URL="redis://127.0.0.1:1/0")
    response = broken.test_client().get("/readyz")
    assert response.status_code == 503
    body = response.get_json()
    assert body["status"] == "unavailable"
    assert body["redis"]["ok"] is False
    assert body["redis"]["error"] == "ConnectionError"


def test_embedded_store_is_used_when_no_redis_url_is_set(make_app):
    embedded = make_app(REDIS_URL="")
    body = embedded.test_client().get("/readyz").get_json()
    assert body["redis"] == {"ok": True, "kind": "embedded"}
    client = embedded.extensions["mobihub.live"].client
    # The embedded store runs the Lua scripts the gateway relies on.
    assert client.eval("return redis.call('INCRBY', KEYS[1], ARGV[1])", 1, "k", 5) == 5
