"""Product pages: coverage from the providers' active feeds, plans, quickstart."""

from __future__ import annotations

from pathlib import Path

from flask.testing import FlaskClient

from tests.factories.parking import import_file

GTFS_SAMPLE = Path("gtfs") / "google-sample" / "sample-feed.zip"


def test_a_product_page_lists_the_providers_serving_it_with_their_record_counts(
        client: FlaskClient, session, redis, shared_data: Path) -> None:
    outcome = import_file(session, redis, shared_data / GTFS_SAMPLE,
                          provider="Desert Valley Transit", format_name="gtfs")
    assert outcome.ok

    transit = client.get("/developer/products/transit").get_data(as_text=True)
    parking = client.get("/developer/products/parking").get_data(as_text=True)

    assert "<td>Desert Valley Transit</td>" in transit
    assert "9 stops" in transit
    assert "Desert Valley Transit" not in parking
    assert "No provider publishes data for this product yet." in parking


def test_a_product_page_shows_the_plans_and_a_quickstart_for_newcomers(
        client: FlaskClient) -> None:
    page = client.get("/developer/products/transit").get_data(as_text=True)

    assert "Free" in page
    assert "Partner" in page
    assert 'curl -H "X-API-Key: &lt;your API key&gt;"' in page
    assert "Sign up</a> to get a key" in page
