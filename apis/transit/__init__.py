"""Transit API product: stops, departures, routes, trips, vehicles and alerts from GTFS feeds."""

from apis import ApiProduct


def _blueprints() -> list:
    from apis.transit.alerts.views import blp as alerts
    from apis.transit.routes.views import blp as routes
    from apis.transit.stops.views import blp as stops
    from apis.transit.trips.views import blp as trips
    from apis.transit.vehicles.views import blp as vehicles

    return [stops, routes, trips, vehicles, alerts]


PRODUCT = ApiProduct(
    slug="transit",
    title="MobiHub Transit API",
    version="v1",
    description=(
        "Public transport from every onboarded agency in one model: stops, scheduled and "
        "real-time departures, routes, trips, vehicle positions and service alerts."
    ),
    blueprints=_blueprints,
    scopes=("transit:read",),
)
