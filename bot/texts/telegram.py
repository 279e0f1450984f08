"""Texts of the adapters (Telegram, bridges) and of group setup: DM fallbacks, missing rights."""

from __future__ import annotations

TEXTS: dict[str, dict[str, str]] = {
    "dm_fallback": {
        "en": "✉️ For {person} (they have not started a private chat with me yet): {text}",
        "zh": "✉️ 致 {person}（对方尚未与我开始私聊）：{text}",
    },
    "dm_unreachable_login": {
        "en": (
            "🔑 {person}: I cannot message you directly on {platform} yet, and a sign-in "
            "link is never posted in a group. Write any message to me in a direct chat on "
            "{platform}, then send /login there."
        ),
        "zh": (
            "🔑 {person}：我还不能在 {platform} 上私信你，登录链接也绝不会发在群里。"
            "请先在 {platform} 上与我私聊发送任意一条消息，然后在私聊中发送 /login。"
        ),
    },
    "setup_need_admin": {
        "en": "make me an admin (so I see every message and reactions)",
        "zh": "将我设为管理员（以便看到所有消息和表情回应）",
    },
    "setup_need_pin": {
        "en": "the right to pin messages (for the status board)",
        "zh": "置顶消息的权限（用于状态看板）",
    },
    "setup_need_topics": {
        "en": "the right to manage topics (each case gets its own topic)",
        "zh": "管理话题的权限（每个工单一个话题）",
    },
}
