"""Engineering trackers (GitHub, GitLab, Jira, Linear): their config, signed webhooks
and REST clients. Imports `cases`, `adapters`, aiohttp and pydantic; never `bot`."""
