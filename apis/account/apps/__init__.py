"""Your organisation's apps and their API keys."""
