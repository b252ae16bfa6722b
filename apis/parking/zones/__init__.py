"""Parking zones: areas and street segments with their rules and tariffs."""
