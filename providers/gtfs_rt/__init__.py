"""GTFS-Realtime: TripUpdates, VehiclePositions and Alerts from protobuf."""
