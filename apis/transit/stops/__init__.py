"""Transit API: stops."""
