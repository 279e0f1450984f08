"""Texts of the customer status page: customers read it, so it speaks the chat's
account locale like the bot does in their chat."""

from __future__ import annotations

TEXTS: dict[str, dict[str, str]] = {
    "page_title": {"en": "Support status", "zh": "支持进度"},
    "page_open": {"en": "Open requests", "zh": "处理中的请求"},
    "page_nothing_open": {"en": "Nothing open.", "zh": "没有未结请求。"},
    "page_recent": {"en": "Recently resolved", "zh": "最近已解决"},
    "page_none_recent": {"en": "None in the last 30 days.", "zh": "最近 30 天内没有。"},
    "page_updated": {"en": "updated {at}", "zh": "更新于 {at}"},
    "page_footer": {
        "en": "Shown at {at}. Ask in your support chat for details.",
        "zh": "生成于 {at}。如需详情，请在支持群中询问。",
    },
}
