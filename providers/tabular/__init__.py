"""CSV parking data (WKT or lat/lon columns), read through a declarative field mapping."""
