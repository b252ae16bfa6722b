"""Price quotes for a stay at a facility or in a zone."""
