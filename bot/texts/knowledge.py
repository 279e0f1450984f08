"""Texts of routing, saved answers (snippets) and similar past cases."""

from __future__ import annotations

TEXTS: dict[str, dict[str, str]] = {
    # -- routing (triage chat, staff.locale)
    "routed": {
        "en": "Case {ref} is assigned to {name} by {reason}.",
        "zh": "工单 {ref} 已按{reason}分配给 {name}。",
    },
    "routed_nobody": {
        "en": "Case {ref} ({title}): nobody on duty to route it to; it waits here.",
        "zh": "工单 {ref}（{title}）：没有值班人员可分配，请在此认领。",
    },
    "route_reason_owner": {"en": "account owner", "zh": "客户负责人"},
    "route_reason_backup": {
        "en": "account backup (the owner is off duty)",
        "zh": "客户备份负责人（负责人不在班）",
    },
    "route_reason_round_robin": {"en": "round robin", "zh": "轮流分配"},
    "route_reason_least_loaded": {"en": "least load", "zh": "最少负载"},
    "route_reason_passed_on": {
        "en": "passing on (nobody took it in time)",
        "zh": "顺延（超时无人认领）",
    },
    "route_reason_take": {"en": "taking it", "zh": "认领"},
    "route_reason_assign": {"en": "assignment", "zh": "指派"},
    # -- saved answers (staff only)
    "usage_save": {
        "en": "Reply to a good answer with /save name (letters, digits, - and _).",
        "zh": "请回复一条好的答复并输入 /save 名称（字母、数字、- 和 _）。",
    },
    "snippet_saved": {
        "en": "Saved answer “{name}” ({locale}). Post it with /snip {name}.",
        "zh": "已保存答复“{name}”（{locale}）。用 /snip {name} 发送。",
    },
    "snippet_updated": {
        "en": "Saved answer “{name}” ({locale}) now has the new text.",
        "zh": "已更新答复“{name}”（{locale}）的内容。",
    },
    "snippet_unknown": {
        "en": "No saved answer “{name}”. Saved: {names}",
        "zh": "没有名为“{name}”的答复。已保存：{names}",
    },
    # -- similar past cases on the triage card
    "card_similar": {"en": "Similar resolved cases:", "zh": "相似的已解决工单："},
    "card_similar_item": {
        "en": "• {ref} {title}: {resolution}",
        "zh": "• {ref} {title}：{resolution}",
    },
    "card_similar_none": {"en": "(no answer kept)", "zh": "（无答复记录）"},
    # -- the dashboard and the timeline (staff.locale)
    "desk_ev_routed": {
        "en": "casebot assigned the case to {to} by {reason}",
        "zh": "casebot 按{reason}将工单指派给 {to}",
    },
    "desk_snippets": {"en": "Saved answers", "zh": "保存的答复"},
    "desk_snippets_none": {
        "en": "No saved answers yet. Reply /save name to a good answer in chat, or react 📖.",
        "zh": "还没有保存的答复。在聊天中回复 /save 名称，或添加 📖 表情。",
    },
    "desk_snippet_name": {"en": "Name", "zh": "名称"},
    "desk_snippet_locale": {"en": "Language", "zh": "语言"},
    "desk_snippet_text": {"en": "Text", "zh": "内容"},
    "desk_snippet_uses": {"en": "Uses", "zh": "使用次数"},
    "desk_snippet_save": {"en": "Save", "zh": "保存"},
    "desk_snippet_new": {"en": "New or changed answer", "zh": "新建或修改答复"},
    "desk_snippet_help": {
        "en": "Variables: {{customer}}, {{case}}, {{owner}}.",
        "zh": "变量：{{customer}}、{{case}}、{{owner}}。",
    },
    "desk_snippet_bad": {
        "en": "A name is letters, digits, - and _; a language is en or zh; a text is needed.",
        "zh": "名称只能含字母、数字、- 和 _；语言为 en 或 zh；内容不能为空。",
    },
    "desk_similar": {"en": "Similar resolved cases", "zh": "相似的已解决工单"},
    "desk_similar_none": {"en": "Nothing like it resolved yet.", "zh": "还没有相似的已解决工单。"},
}
