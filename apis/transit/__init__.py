"""Transit API product: stops, departures, routes, trips, vehicles and alerts from GTFS feeds."""

from apis import ApiProduct


def _blueprints() -> list:
    return []


PRODUCT = ApiProduct(
    slug="transit",
    title="MobiHub Transit API",
    version="v1",
    description=(
        "Public transport from every onboarded agency in one model: stops, scheduled and "
        "real-time departures, routes, trips, vehicle positions and service alerts."
    ),
    blueprints=_blueprints,
)
