"""``mobihub feeds …``: list and report, on versions that exist, were rejected or never did."""

from __future__ import annotations

import json
from datetime import datetime

import pytest

from tests.providers.transit.factories import gtfs_zip, import_gtfs_bytes


@pytest.mark.parametrize("version", ["9999", "0", "-1", "99999999999999999999999"])
def test_report_of_a_version_that_does_not_exist_is_a_readable_refusal(mobihub, version):
    result = mobihub("feeds", "report", "--", version)
    assert result.exit_code == 1
    assert f"no feed version {version}" in result.output
    assert "Traceback" not in result.output


def test_report_of_a_rejected_version_shows_its_fatal_problem_with_iso_times(mobihub,
                                                                               session):
    rejected = import_gtfs_bytes(session, gtfs_zip({"stops.txt": None}))
    text = mobihub("feeds", "report", str(rejected.feed_version_id))
    assert text.exit_code == 0, text.output
    assert "rejected" in text.output
    assert "missing_required_file" in text.output
    assert "stops.txt" in text.output
    body = json.loads(mobihub("feeds", "report", str(rejected.feed_version_id), "--json")
                      .output)
    assert body["status"] == "rejected"
    assert body["report"]["fatal"][0]["code"] == "missing_required_file"
    assert "T" in body["fetched_at"]
    assert datetime.fromisoformat(body["fetched_at"]).tzinfo is not None
    assert body["imported_at"] is None
