"""Tests of the Telegram adapter against the fake Bot API server."""
