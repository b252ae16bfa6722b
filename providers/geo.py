"""Distances for "near a point" searches, shared by the parking and transit queries.

A search is a bounding-box prefilter on indexed ``lat``/``lon`` columns (``box_around``), then
the exact geodesic distance on the WGS84 ellipsoid for every candidate at once: Karney's
algorithm through pyproj's vectorised ``Geod.inv``, the same results as
``geopy.distance.geodesic`` at about a microsecond per point instead of a hundred or more.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from pyproj import Geod

GEOD = Geod(ellps="WGS84")
# Metres in a degree of latitude, rounded up from the equator's 110,574 m; with the 1% margin
# of box_around, a box never cuts off a point inside the circle.
METRES_PER_DEG_LAT = 111_320.0


def box_around(lat: float, lon: float, radius: float) -> tuple[float, float, float, float]:
    """(min_lat, min_lon, max_lat, max_lon) of a box a little larger than the circle of
    ``radius`` metres around the point: its longitude span is taken at the circle's latitude
    nearest a pole, where a metre is the most degrees of longitude."""
    dlat = radius * 1.01 / METRES_PER_DEG_LAT + 1e-6
    cos_lat = max(math.cos(math.radians(min(abs(lat) + dlat, 89.9))), 1e-6)
    dlon = min(radius * 1.01 / (METRES_PER_DEG_LAT * cos_lat) + 1e-6, 180.0)
    return lat - dlat, lon - dlon, lat + dlat, lon + dlon


def geodesic_distances(lat: float, lon: float, lats: Sequence[float], lons: Sequence[float]
                       ) -> list[float]:
    """Geodesic distances in metres on WGS84 from one point to many."""
    if not lats:
        return []
    n = len(lats)
    _, _, distances = GEOD.inv([lon] * n, [lat] * n, list(lons), list(lats))
    return [float(d) for d in distances]
