"""DATEX II v2 parking publications (static tables, status, and the older MDM facility model)."""
