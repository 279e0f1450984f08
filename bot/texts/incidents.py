"""Texts of incident mode: the notices customers get, the board banner, the line in an
acknowledgement, the triage chat's answers, status pages, digests and reviews."""

from __future__ import annotations

TEXTS: dict[str, dict[str, str]] = {
    # ---- what customers read (their account's locale)
    "incident_notice_start": {
        "en": "⚠️ Service incident: {title}\n"
        "We are working on it and will post updates here. No need to open a case for it.",
        "zh": "⚠️ 服务故障：{title}\n我们正在处理，进展会在本群更新，无需为此单独提交工单。",
    },
    "incident_notice_update": {
        "en": "⚠️ Update on the incident «{title}»: {text}",
        "zh": "⚠️ 故障「{title}」进展：{text}",
    },
    "incident_notice_resolve": {
        "en": "✅ Resolved: {title}\n{text}",
        "zh": "✅ 已恢复：{title}\n{text}",
    },
    "incident_notice_resolve_plain": {
        "en": "✅ Resolved: {title}\nThe service is back to normal. Thank you for your patience.",
        "zh": "✅ 已恢复：{title}\n服务已恢复正常，感谢您的耐心等待。",
    },
    "incident_banner": {
        "en": "⚠️ Ongoing incident: {title} (updates are posted in this chat)",
        "zh": "⚠️ 正在处理的故障：{title}（进展会在本群更新）",
    },
    "incident_ack_note": {
        "en": "This may be related to the ongoing incident «{title}»; we will keep you posted.",
        "zh": "这可能与正在处理的故障「{title}」有关，我们会及时同步进展。",
    },
    # ---- the triage chat (staff.locale)
    "incident_start_triage": {
        "en": "{ref} started: {title}. Telling {groups} groups in {accounts} accounts.",
        "zh": "{ref} 已开始：{title}。正在通知 {accounts} 个客户的 {groups} 个群。",
    },
    "incident_update_triage": {
        "en": "{ref} update queued for {groups} groups in {accounts} accounts.",
        "zh": "{ref} 进展已排队发送到 {accounts} 个客户的 {groups} 个群。",
    },
    "incident_resolve_triage": {
        "en": "{ref} resolved: {title}. Telling {groups} groups in {accounts} accounts.",
        "zh": "{ref} 已解决：{title}。正在通知 {accounts} 个客户的 {groups} 个群。",
    },
    "incident_usage": {
        "en": "Usage: /incident start [all | tier=<tier> | accounts=<A,B>] <title>\n"
        "/incident update [INC-N] <text>\n/incident resolve [INC-N] [text]",
        "zh": "用法：/incident start [all | tier=<级别> | accounts=<A,B>] <标题>\n"
        "/incident update [INC-N] <内容>\n/incident resolve [INC-N] [内容]",
    },
    "incident_refused": {"en": "Not done: {reason}.", "zh": "未执行：{reason}。"},
    "incident_triage_only": {
        "en": "/incident works in the triage chat only.",
        "zh": "/incident 只能在内部分诊群中使用。",
    },
    # ---- customer status pages
    "page_incident_open": {
        "en": "Ongoing incident since {at}: {title}",
        "zh": "自 {at} 起正在处理的故障：{title}",
    },
    "page_incident_resolved": {
        "en": "Resolved incident ({at}): {title}",
        "zh": "已恢复的故障（{at}）：{title}",
    },
    "page_incident_latest": {"en": "Latest update: {text}", "zh": "最新进展：{text}"},
    # ---- digests and reviews (staff.locale)
    "digest_incidents_title": {"en": "Incidents:", "zh": "故障："},
    "digest_incident_line": {
        "en": "  INC-{id} {title}: {state}, {accounts} accounts, {cases} linked cases",
        "zh": "  INC-{id} {title}：{state}，{accounts} 个客户，{cases} 个关联工单",
    },
    "incident_state_open": {"en": "open", "zh": "处理中"},
    "incident_state_resolved": {"en": "resolved", "zh": "已解决"},
    "review_incidents_title": {"en": "Incidents that affected them:", "zh": "影响该客户的故障："},
    "review_incident_line": {
        "en": "  INC-{id} {title} ({start} – {end}), {cases} of their cases linked",
        "zh": "  INC-{id} {title}（{start} – {end}），关联其工单 {cases} 个",
    },
    # ---- the war room (staff.locale)
    "desk_ev_incident_linked": {
        "en": "Linked to the open incident INC-{id} «{title}»",
        "zh": "已关联正在处理的故障 INC-{id}「{title}」",
    },
    "desk_incidents": {"en": "Incidents", "zh": "故障"},
    "desk_incident_start": {"en": "Start an incident", "zh": "开始故障通报"},
    "desk_incident_none": {"en": "No incidents yet.", "zh": "暂无故障。"},
    "desk_incident_told": {
        "en": "{sent} of {total} groups told",
        "zh": "已通知 {sent}/{total} 个群",
    },
    "desk_incident_col": {"en": "Incident", "zh": "故障"},
    "desk_incident_col_state": {"en": "State", "zh": "状态"},
    "desk_incident_col_accounts": {"en": "Accounts", "zh": "受影响客户"},
    "desk_incident_col_started": {"en": "Started", "zh": "开始时间"},
    "desk_incident_col_resolved": {"en": "Resolved", "zh": "解决时间"},
    "desk_incident_col_when": {"en": "When", "zh": "时间"},
    "desk_incident_col_step": {"en": "Step", "zh": "步骤"},
    "desk_incident_col_by": {"en": "By", "zh": "操作人"},
    "desk_incident_col_delivered": {"en": "Delivered", "zh": "送达"},
    "desk_incident_col_group": {"en": "Group", "zh": "群"},
    "desk_incident_col_linked": {"en": "Linked", "zh": "已关联"},
    "desk_incident_linked_yes": {"en": "yes", "zh": "是"},
    "desk_incident_title_field": {"en": "Title", "zh": "标题"},
    "desk_incident_tier_field": {"en": "Tier", "zh": "等级"},
    "desk_incident_tier_any": {
        "en": "(all, or the accounts ticked)",
        "zh": "（全部客户，或下方勾选的客户）",
    },
    "desk_incident_accounts_field": {
        "en": "Accounts (none ticked: every account)",
        "zh": "客户（不勾选即为全部客户）",
    },
    "desk_incident_meta": {
        "en": "Started {started} · accounts: {accounts}",
        "zh": "开始于 {started} · 受影响客户：{accounts}",
    },
    "desk_incident_meta_resolved": {
        "en": "Started {started} · resolved {resolved} · accounts: {accounts}",
        "zh": "开始于 {started} · 解决于 {resolved} · 受影响客户：{accounts}",
    },
    "desk_incident_text_field": {"en": "Text", "zh": "内容"},
    "desk_incident_post_update": {
        "en": "Post update to every group",
        "zh": "向所有群发布进展",
    },
    "desk_incident_resolve_all": {
        "en": "Resolve (tell every group)",
        "zh": "标记已解决（通知所有群）",
    },
    "desk_incident_updates": {"en": "Updates", "zh": "进展"},
    "desk_incident_who_told": {"en": "Who was told what and when", "zh": "谁在何时收到了什么"},
    "desk_incident_open_cases": {
        "en": "Open cases of the affected accounts",
        "zh": "受影响客户的未结工单",
    },
    "desk_incident_no_open_cases": {"en": "No open cases.", "zh": "没有未结工单。"},
    "desk_incident_dead": {"en": "{n} dead", "zh": "{n} 个失败"},
    "desk_incident_pending": {"en": "{n} pending", "zh": "{n} 个待发送"},
    "desk_incident_step_start": {"en": "start", "zh": "开始"},
    "desk_incident_step_update": {"en": "update", "zh": "进展"},
    "desk_incident_step_resolve": {"en": "resolve", "zh": "解决"},
    "desk_incident_told_sent": {"en": "sent", "zh": "已发送"},
    "desk_incident_told_pending": {"en": "pending", "zh": "待发送"},
    "desk_incident_told_dead": {"en": "dead", "zh": "失败"},
    "desk_incident_told_skipped": {"en": "skipped", "zh": "已跳过"},
    "desk_incident_told_unknown": {"en": "unknown", "zh": "未知"},
    "desk_incident_started": {
        "en": "{ref} started: {groups} groups.",
        "zh": "{ref} 已开始：{groups} 个群。",
    },
    "desk_incident_queued": {
        "en": "Queued for {groups} groups.",
        "zh": "已排队发往 {groups} 个群。",
    },
    "desk_incident_unknown_step": {"en": "unknown step", "zh": "未知步骤"},
    "desk_err_no_incident": {"en": "No such incident", "zh": "没有这个故障"},
}
