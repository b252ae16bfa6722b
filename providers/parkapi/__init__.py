"""ParkAPI v1 city lot lists (GeoJSON), as published by offenesdresden/ParkAPI."""
