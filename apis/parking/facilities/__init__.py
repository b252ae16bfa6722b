"""Parking facilities: search, detail and availability history."""
