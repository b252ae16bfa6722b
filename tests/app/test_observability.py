"""Structured logs and request ids."""

import json
import logging

from app.observability import JsonFormatter


def test_incoming_request_id_is_echoed(client):
    response = client.get("/healthz", headers={"X-Request-ID": "abc12345-req"})
    assert response.headers["X-Request-ID"] == "abc12345-req"


def test_malformed_request_id_is_replaced(client):
    response = client.get("/healthz", headers={"X-Request-ID": "bad id with spaces"})
    assert response.headers["X-Request-ID"] != "bad id with spaces"
    assert len(response.headers["X-Request-ID"]) == 32


def test_json_log_line_carries_request_id_and_redacts_secrets(app):
    record = logging.makeLogRecord({
        "name": "mobihub.test", "levelno": logging.INFO, "levelname": "INFO",
        "msg": "key used", "api_key": "mob_live_secret", "path": "/x",
    })
    with app.test_request_context("/x"):
        from flask import g

        g.request_id = "req-12345678"
        line = json.loads(JsonFormatter().format(record))
    assert line["request_id"] == "req-12345678"
    assert line["api_key"] == "[redacted]"
    assert line["path"] == "/x"
    assert line["level"] == "info"


def test_access_log_has_one_json_line_per_request(client, capfd, app):
    app.logger  # noqa: B018 - the app configured the mobihub loggers at creation
    logging.getLogger("mobihub").setLevel(logging.INFO)
    try:
        client.get("/healthz?api_key=oops", headers={"X-Request-ID": "trace-0000001"})
    finally:
        logging.getLogger("mobihub").setLevel(logging.WARNING)
    lines = [json.loads(x) for x in capfd.readouterr().err.splitlines() if x.startswith("{")]
    access = [x for x in lines if x["logger"] == "mobihub.access"]
    assert access[-1]["request_id"] == "trace-0000001"
    assert access[-1]["status"] == 200
    assert access[-1]["path"] == "/healthz"
    assert "oops" not in json.dumps(access)
