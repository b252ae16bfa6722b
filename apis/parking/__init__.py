"""Parking API product: facilities, live availability, zones, tariffs and price quotes."""

from apis import ApiProduct


def _blueprints() -> list:
    from apis.parking.facilities.views import blp as facilities
    from apis.parking.quote.views import blp as quote
    from apis.parking.zones.views import blp as zones

    return [facilities, zones, quote]


PRODUCT = ApiProduct(
    slug="parking",
    title="MobiHub Parking API",
    version="v1",
    description=(
        "Parking from every onboarded operator and city in one model: facilities near a point, "
        "live availability, zones, tariffs and price quotes."
    ),
    blueprints=_blueprints,
    scopes=("parking:read",),
)
