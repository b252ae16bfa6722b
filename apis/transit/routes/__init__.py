"""Transit API: routes."""
