"""Transit API: alerts."""
