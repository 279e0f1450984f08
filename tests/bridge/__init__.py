"""tests/bridge package."""
