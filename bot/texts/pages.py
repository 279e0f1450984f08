"""Texts of the web pages. The customer status page speaks the chat's account locale
like the bot does in their chat; the staff dashboard's texts (`desk_`) speak
`staff.locale`."""

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
    # the status page names who runs the desk and whose chat it is
    "page_vendor_title": {"en": "{vendor} support status", "zh": "{vendor} 支持进度"},
    "page_account": {"en": "{account} · {chat}", "zh": "{account} · {chat}"},
    "page_times_in": {"en": "Times in {zone}.", "zh": "时间按 {zone} 显示。"},
    # ---- the staff dashboard (staff.locale) ----
    "desk_weekdays": {
        "en": "Mon Tue Wed Thu Fri Sat Sun",
        "zh": "周一 周二 周三 周四 周五 周六 周日",
    },
    "desk_time_near": {"en": "{hm} {day}", "zh": "{day} {hm}"},
    "desk_time_far": {"en": "{date} {hm}", "zh": "{date} {hm}"},
    "desk_span_min": {"en": "{n} min", "zh": "{n} 分钟"},
    "desk_span_h": {"en": "{n} h {m} min", "zh": "{n} 小时 {m} 分钟"},
    "desk_span_d": {"en": "{n} d {h} h", "zh": "{n} 天 {h} 小时"},
    "desk_breached_ago": {"en": "breached {span} ago", "zh": "已超时 {span}"},
    "desk_times_in": {"en": "times in {zone}", "zh": "时间按 {zone}"},
    "desk_menu": {"en": "Menu", "zh": "菜单"},
    "desk_no_followups": {"en": "No follow-ups.", "zh": "没有跟进。"},
    "desk_adapter_down": {
        "en": "{names} not taking messages: /healthz reports it down. Messages from its "
        "chats are not reaching casebot until it is back.",
        "zh": "{names} 当前未收取消息：/healthz 报告其已停止。"
        "恢复之前，这些群的消息不会到达 casebot。",
    },
    "desk_week_previous": {"en": "← Previous week", "zh": "← 上一周"},
    "desk_week_next": {"en": "Next week →", "zh": "下一周 →"},
    "desk_week_pick": {"en": "Week of", "zh": "所在周"},
    "desk_week_show": {"en": "Show", "zh": "显示"},
    "desk_week_current": {"en": "This week", "zh": "本周"},
    "desk_bad_week": {
        "en": "week must be a date such as 2026-03-02",
        "zh": "week 必须是日期，例如 2026-03-02",
    },
    # the case timeline: one sentence per audit event type
    "desk_someone": {"en": "casebot", "zh": "casebot"},
    "desk_clock_first_response": {"en": "First response", "zh": "首次响应"},
    "desk_clock_next_response": {"en": "Next response", "zh": "后续响应"},
    "desk_clock_resolution": {"en": "Resolution", "zh": "解决"},
    "desk_state_new": {"en": "new", "zh": "新建"},
    "desk_state_open": {"en": "open", "zh": "处理中"},
    "desk_state_waiting_on_customer": {"en": "waiting on customer", "zh": "等待客户"},
    "desk_state_on_hold": {"en": "on hold", "zh": "已暂停"},
    "desk_state_resolved": {"en": "resolved", "zh": "已解决"},
    "desk_state_closed": {"en": "closed", "zh": "已关闭"},
    "desk_ev_opened": {
        "en": "{who} opened the case: “{title}”",
        "zh": "{who} 创建了工单：“{title}”",
    },
    "desk_ev_message_deleted": {
        "en": "{who} deleted message {message} (its text is kept here)",
        "zh": "{who} 删除了消息 {message}（此处保留其文字）",
    },
    "desk_ev_message_edited": {
        "en": "{who} edited message {message}",
        "zh": "{who} 编辑了消息 {message}",
    },
    "desk_ev_due_set": {"en": "{clock} due {at}", "zh": "{clock}截止时间：{at}"},
    "desk_ev_due_moved": {"en": "{clock} due moved to {at}", "zh": "{clock}截止时间改为 {at}"},
    "desk_ev_due_stopped": {"en": "{clock} clock stopped", "zh": "{clock}计时已停止"},
    # between two clauses of one timeline sentence
    "desk_clause_separator": {"en": "; ", "zh": "；"},
    "desk_ev_due_unchanged": {"en": "SLA clocks recomputed", "zh": "SLA 计时已重新计算"},
    "desk_ev_resolved": {"en": "{who} resolved the case", "zh": "{who} 解决了工单"},
    "desk_ev_resolved_note": {
        "en": "{who} resolved the case: {note}",
        "zh": "{who} 解决了工单：{note}",
    },
    "desk_ev_auto_resolved": {
        "en": "casebot resolved the case: the customer did not reply",
        "zh": "客户未回复，casebot 已解决工单",
    },
    "desk_ev_closed": {"en": "{who} closed the case", "zh": "{who} 关闭了工单"},
    "desk_ev_closed_merged": {
        "en": "The case was closed by the merge",
        "zh": "工单因合并而关闭",
    },
    "desk_ev_reopened": {"en": "{who} reopened the case", "zh": "{who} 重新打开了工单"},
    "desk_ev_status": {
        "en": "{who} set the status to {to} (was {was})",
        "zh": "{who} 将状态改为{to}（原为{was}）",
    },
    "desk_ev_status_customer": {
        "en": "The customer replied: now {to}",
        "zh": "客户已回复：现为{to}",
    },
    "desk_ev_status_staff": {
        "en": "{who} answered: now {to}",
        "zh": "{who} 已回复：现为{to}",
    },
    "desk_ev_sla_paused": {
        "en": "{clock} clock paused while {state}",
        "zh": "{clock}计时暂停（{state}）",
    },
    "desk_ev_sla_resumed": {"en": "{clock} clock resumed", "zh": "{clock}计时恢复"},
    "desk_ev_sla_met": {
        "en": "{clock} target met (due {at})",
        "zh": "{clock}目标已达成（截止 {at}）",
    },
    "desk_ev_sla_breached": {
        "en": "{clock} target breached (was due {at})",
        "zh": "{clock}目标已超时（原定 {at}）",
    },
    "desk_ev_sla_warning": {
        "en": "{clock} due {at}: warning sent",
        "zh": "{clock}将于 {at} 到期：已发出提醒",
    },
    "desk_ev_sla_escalated": {
        "en": "{clock} breach escalated (step {level}) to {to}",
        "zh": "{clock}超时已升级（第 {level} 级）至 {to}",
    },
    "desk_ev_sla_paged": {"en": "Paged {to}: out of hours", "zh": "非工作时间，已呼叫 {to}"},
    "desk_the_triage_chat": {"en": "the triage chat", "zh": "分诊群"},
    "desk_ev_note": {"en": "{who} added an internal note", "zh": "{who} 添加了内部备注"},
    "desk_ev_staff_reply": {
        "en": "{who} replied to the customer from the dashboard",
        "zh": "{who} 在控制台回复了客户",
    },
    "desk_ev_csat": {"en": "The customer rated the help {score}/5", "zh": "客户评分 {score}/5"},
    "desk_ev_assigned": {"en": "{who} assigned the case to {to}", "zh": "{who} 将工单指派给 {to}"},
    "desk_ev_reassigned": {
        "en": "{who} reassigned the case from {was} to {to}",
        "zh": "{who} 将工单从 {was} 改派给 {to}",
    },
    "desk_ev_unassigned": {"en": "{who} unassigned the case", "zh": "{who} 取消了指派"},
    "desk_ev_priority_changed": {
        "en": "{who} changed the priority from {was} to {to}",
        "zh": "{who} 将优先级从 {was} 改为 {to}",
    },
    "desk_ev_followup_created": {
        "en": "{who} set follow-up {followup} for {owner}, due {at}: {text}",
        "zh": "{who} 为 {owner} 设置跟进 {followup}，截止 {at}：{text}",
    },
    "desk_ev_followup_done": {
        "en": "{who} marked follow-up {followup} done",
        "zh": "{who} 将跟进 {followup} 标记为完成",
    },
    "desk_ev_followup_nudged": {
        "en": "Follow-up {followup} is due: reminded {to}",
        "zh": "跟进 {followup} 已到期：已提醒 {to}",
    },
    "desk_ev_followup_escalated": {
        "en": "Follow-up {followup} is overdue: told {to}",
        "zh": "跟进 {followup} 已逾期：已通知 {to}",
    },
    "desk_ev_customer_nudged": {
        "en": "Reminded the customer to reply (reminder {count})",
        "zh": "已提醒客户回复（第 {count} 次）",
    },
    "desk_ev_moved_in": {
        "en": "{who} moved message {message} here from {source}",
        "zh": "{who} 将消息 {message} 从 {source} 移到这里",
    },
    "desk_ev_moved_out": {
        "en": "{who} moved message {message} to {target}",
        "zh": "{who} 将消息 {message} 移到 {target}",
    },
    "desk_ev_split_out": {
        "en": "{who} split message {message} off into {target} ({count})",
        "zh": "{who} 将消息 {message} 拆分到 {target}（{count}）",
    },
    "desk_ev_split_in": {
        "en": "{who} split this case off {source}: message {message} ({count})",
        "zh": "{who} 从 {source} 拆分出本工单：消息 {message}（{count}）",
    },
    "desk_messages_one": {"en": "1 message", "zh": "共 1 条消息"},
    "desk_messages": {"en": "{n} messages", "zh": "共 {n} 条消息"},
    "desk_the_chat": {"en": "the chat", "zh": "群聊"},
    "desk_ev_merged_into": {
        "en": "{who} merged this case into {target}",
        "zh": "{who} 将本工单合并到 {target}",
    },
    "desk_ev_merged_from": {
        "en": "{who} merged {source} into this case",
        "zh": "{who} 将 {source} 合并到本工单",
    },
    # what an adapter noted while delivering one of the case's messages (`Receipt.notes`)
    "desk_ev_split": {
        "en": "casebot sent a long message in parts",
        "zh": "casebot 将一条长消息分段发送",
    },
    "desk_ev_pinned": {"en": "casebot pinned its message", "zh": "casebot 置顶了消息"},
    "desk_ev_pin_failed": {
        "en": "casebot could not pin its message: it lacks the right to pin",
        "zh": "casebot 无法置顶消息：缺少置顶权限",
    },
    "desk_ev_dm_fallback": {
        "en": "A direct message could not be delivered: it went to the triage chat instead",
        "zh": "私信无法送达：已改发到分诊群",
    },
    "desk_ev_answer_expired": {
        "en": "A button press was answered too late to show",
        "zh": "按钮回应已过期，未能显示",
    },
    "desk_ev_pin_unavailable": {
        "en": "Not pinned: this platform has no pins, so the board is posted and edited",
        "zh": "未置顶：该平台不支持置顶，看板改为发布并编辑",
    },
    "desk_ev_answered_in_callback": {
        "en": "Answered in the button press's own reply (the platform shows it to the presser)",
        "zh": "已在按钮回调中直接答复（平台只向点击者显示）",
    },
    "desk_ev_trimmed": {
        "en": "Longer than the platform takes: it went out trimmed (kept whole here)",
        "zh": "消息超出平台长度限制：发出时已截断（此处保留全文）",
    },
    "desk_ev_topics_unavailable": {
        "en": "No forum topic: the chat has no topics or casebot lacks the right",
        "zh": "无法使用话题：该群未开启话题或 casebot 缺少权限",
    },
    "desk_ev_no_topic": {
        "en": "The case has no forum topic to close or reopen",
        "zh": "该工单没有可关闭或重新打开的话题",
    },
    "desk_ev_other": {"en": "{who}: {what}", "zh": "{who}：{what}"},
}
