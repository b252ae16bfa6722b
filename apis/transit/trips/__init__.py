"""Transit API: trips."""
