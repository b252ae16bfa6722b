"""Generic GeoJSON (and plain JSON lists) of parking, read through a declarative field mapping."""
