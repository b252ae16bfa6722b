"""Bielefeld's fee column through its mapping: "Nein" is free, "Ja" states no price."""

from datetime import UTC, datetime, timedelta

from providers.parking.tariff import quote
from providers.tabular.adapter import CsvAdapter
from tests.factories.parking import mapping


def test_bielefeld_fee_answers(shared_data):
    result = CsvAdapter().parse((shared_data / "parking/csv/bielefeld.csv").read_bytes(),
                                {"source": "bielefeld.csv", "mapping": mapping("bielefeld")})
    lots = result.records["facilities"]
    free = [f for f in lots if f.attributes.get("tariff_text") == "kostenlos"]
    assert len(free) == 489
    start = datetime(2026, 3, 3, 9, 0, tzinfo=UTC)
    assert quote(free[0].tariff, start, start + timedelta(hours=5))["amount"] == 0
    unclear = [f for f in lots if f.tariff is None and f.attributes.get("tariff_text")]
    assert {f.attributes["tariff_text"] for f in unclear} >= {"Ja", "Ausweis", "3 Stunden frei"}
    assert result.report.by_code("warning")["tariff_not_understood"] == len(unclear) == 55
