"""Parking API product: facilities, live availability, zones, tariffs and price quotes."""

from apis import ApiProduct


def _blueprints() -> list:
    return []


PRODUCT = ApiProduct(
    slug="parking",
    title="MobiHub Parking API",
    version="v1",
    description=(
        "Parking from every onboarded operator and city in one model: facilities near a point, "
        "live availability, zones, tariffs and price quotes."
    ),
    blueprints=_blueprints,
)
