"""SLA texts of the catalogue: nudges, escalations, pages, customer nudges, digests, reviews."""

from __future__ import annotations

TEXTS: dict[str, dict[str, str]] = {
    # -- what is due
    "sla_clock_first_response": {"en": "first response", "zh": "首次响应"},
    "sla_clock_next_response": {"en": "reply to the customer", "zh": "回复客户"},
    "sla_clock_resolution": {"en": "resolution", "zh": "解决"},
    # -- the nudge ladder (staff only: DMs and the triage chat)
    "nudge_warning": {
        "en": "⏰ {ref} ({customer}, {priority}): {what} due {due}. {title}\n{link}",
        "zh": "⏰ {ref}（{customer}，{priority}）：{what}将于 {due} 到期。{title}\n{link}",
    },
    "nudge_breach": {
        "en": (
            "🚨 {ref} ({customer}, {priority}): {what} was due {due} and is overdue. "
            "Assignee: {assignee}. {title}\n{link}"
        ),
        "zh": (
            "🚨 {ref}（{customer}，{priority}）：{what}已于 {due} 到期，现已超时。"
            "负责人：{assignee}。{title}\n{link}"
        ),
    },
    "nudge_escalation": {
        "en": (
            "🔺 Escalation {ref} ({customer}, {priority}): {what} was due {due} and is "
            "still overdue. Assignee: {assignee}. {title}\n{link}"
        ),
        "zh": (
            "🔺 升级 {ref}（{customer}，{priority}）：{what}已于 {due} 到期，至今仍未完成。"
            "负责人：{assignee}。{title}\n{link}"
        ),
    },
    "nudge_page": {
        "en": (
            "📟 On-call page: {priority} {ref} ({customer}) came in outside business hours. "
            "{what} due {due}. {title}\n{link}"
        ),
        "zh": (
            "📟 值班呼叫：{priority} {ref}（{customer}）在工作时间外提交。"
            "{what}截止 {due}。{title}\n{link}"
        ),
    },
    "nudge_followup_due": {
        "en": (
            "📌 Follow-up {id} on {ref} ({customer}) is due {due}: {text}\n"
            "Close it with /done {id}. {link}"
        ),
        "zh": (
            "📌 {ref}（{customer}）的跟进事项 {id} 于 {due} 到期：{text}\n"
            "完成后发送 /done {id}。{link}"
        ),
    },
    "nudge_followup_overdue": {
        "en": (
            "⚠️ Follow-up {id} on {ref} ({customer}) for {owner} was due {due} and is "
            "still open: {text}\n{link}"
        ),
        "zh": (
            "⚠️ {ref}（{customer}）的跟进事项 {id}（负责人 {owner}）已于 {due} 到期，"
            "仍未完成：{text}\n{link}"
        ),
    },
    # -- the customer's own chat (polite, localised)
    "customer_nudge": {
        "en": (
            "Hello! We are still waiting for your reply on case {ref} ({title}). "
            "Is there anything more we can do? Just reply here."
        ),
        "zh": (
            "您好！工单 {ref}（{title}）仍在等待您的回复。"
            "还有什么需要我们帮忙的吗？直接在此回复即可。"
        ),
    },
    "customer_auto_resolved": {
        "en": (
            "We have not heard back on case {ref} ({title}), so we are marking it resolved. "
            "Reply here within a few days and it opens again."
        ),
        "zh": (
            "工单 {ref}（{title}）一直没有收到您的回复，我们先将其标记为已解决。"
            "几天内在此回复即可重新打开。"
        ),
    },
    # -- daily digest for the leads
    "digest_title": {
        "en": "📋 Daily digest {date}: {open} open cases",
        "zh": "📋 每日摘要 {date}：{open} 个进行中的工单",
    },
    "digest_priorities": {"en": "By priority: {counts}", "zh": "按优先级：{counts}"},
    "digest_counts": {
        "en": "At risk: {at_risk} · Breached: {breached} · Unassigned: {unassigned}",
        "zh": "临近超时：{at_risk} · 已超时：{breached} · 未分配：{unassigned}",
    },
    "digest_waiting_title": {"en": "Waiting longest:", "zh": "等待最久："},
    "digest_waiting_line": {
        "en": "  {ref} {customer} · {priority} · waiting {waited} · {title}",
        "zh": "  {ref} {customer} · {priority} · 已等待 {waited} · {title}",
    },
    "digest_queues_title": {"en": "Queues:", "zh": "各人队列："},
    "digest_queue_line": {
        "en": "  {name}: {count} open, {breached} breached",
        "zh": "  {name}：{count} 个进行中，{breached} 个超时",
    },
    "digest_none": {"en": "  none", "zh": "  无"},
    # -- weekly account review for the account's owner
    "review_title": {
        "en": "📈 Weekly review for {account}, {since} to {until}",
        "zh": "📈 {account} 周报，{since} 至 {until}",
    },
    "review_counts": {
        "en": "Opened: {opened} · Resolved: {resolved} · Still open: {open}",
        "zh": "新建：{opened} · 已解决：{resolved} · 进行中：{open}",
    },
    "review_response": {
        "en": "First response: median {median}, 90th percentile {p90}",
        "zh": "首次响应：中位数 {median}，90 分位 {p90}",
    },
    "review_sla": {
        "en": "SLA compliance: {compliance} ({met} met, {breached} breached) · CSAT: {csat}",
        "zh": "SLA 达成率：{compliance}（达成 {met}，超时 {breached}）· 满意度：{csat}",
    },
    "review_top_title": {"en": "Top open items:", "zh": "主要未结事项："},
    "review_top_line": {
        "en": "  {ref} · {priority} · {status} · {title}",
        "zh": "  {ref} · {priority} · {status} · {title}",
    },
    "review_people_title": {"en": "Who answered:", "zh": "答复人员："},
    "review_person_line": {
        "en": "  {name}: {replies} replies on {cases} cases, {first} first responses",
        "zh": "  {name}：在 {cases} 个工单中答复 {replies} 次，首次响应 {first} 次",
    },
}
