"""Transit API: vehicles."""
