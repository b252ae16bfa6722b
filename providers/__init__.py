"""Provider feeds: one adapter per upstream format behind one interface, and their sync."""
