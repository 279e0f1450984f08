"""The Matrix bridge: one bot user's rooms on a homeserver, as one `[[bridges]]` in casebot.

Run it with `python -m bridges.matrix --config bridge.toml` (or `casebot-matrix`).
"""
