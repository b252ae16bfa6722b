"""Parking: the canonical model (facilities, availability, zones, tariffs) and its services."""
