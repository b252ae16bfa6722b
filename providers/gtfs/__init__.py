"""GTFS static schedules: a streaming, validating reader of a zip feed."""
