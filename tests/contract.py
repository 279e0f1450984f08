"""The sample config of DESIGN.md's acceptance contract, word for word: acceptance
tests that we do not see run the real program with it."""

CONTRACT_CONFIG = """
[storage]
url = "sqlite+aiosqlite:///./casebot.db"     # or postgresql+asyncpg://...

[http]
host = "127.0.0.1"
port = 8080
api_token = "..."                            # Bearer token for /api

[telegram]
token = "123456:ABC..."
base_url = "https://api.telegram.org/bot"    # a local Bot API server may be given
mode = "polling"                             # or "webhook"
webhook_url = "https://bot.example.com/telegram/webhook"   # webhook mode: given to setWebhook
secret_token = "..."                         # webhook mode: checked on every request

[scheduler]
tick = "30s"                                 # sweeper interval

[staff]
engineers = ["telegram:1001"]
leads = ["telegram:2001"]
triage_chat = "telegram:-100500"             # internal chat for case cards

[[accounts]]
name = "Acme"
tier = "premium"
chats = ["telegram:-100100"]
intake = "tag"                               # or "auto"

[sla.premium]
P1 = { first_response = "5m", resolution = "4h" }
P3 = { first_response = "1h", resolution = "2d" }
"""

# what a case in the API and in `export` has at least
CASE_FIELDS = {
    "id",
    "ref",
    "account",
    "chat",
    "title",
    "status",
    "priority",
    "assignee",
    "created_at",
    "first_response_at",
    "resolved_at",
    "messages",
    "events",
}
MESSAGE_FIELDS = {"platform_message_id", "sender", "role", "text", "at", "internal"}
EVENT_FIELDS = {"type", "at", "actor", "data"}
